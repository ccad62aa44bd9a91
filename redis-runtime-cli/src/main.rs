//! `redis-runtime`, the command-line tool (package `redis-runtime-cli`): it
//! keeps the Redis keyspace honest.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use redis_runtime_cli::cmd::{acl, audit, doctor, infer, manifest};

/// Keeps the Redis keyspace honest. Exit codes, for every command: 0 clean,
/// 1 findings, 2 the tool could not do its job.
#[derive(Debug, Parser)]
#[command(name = "redis-runtime", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Audit(audit::AuditArgs),
    Manifest(manifest::ManifestArgs),
    Acl(acl::AclArgs),
    Doctor(doctor::DoctorArgs),
    Infer(infer::InferArgs),
}

fn main() -> ExitCode {
    match &Cli::parse().command {
        Command::Audit(args) => audit::run(args),
        Command::Manifest(args) => manifest::run(args),
        Command::Acl(args) => acl::run(args),
        Command::Doctor(args) => doctor::run(args),
        Command::Infer(args) => infer::run(args),
    }
    .into()
}
