//! `redis-runtime`, the command-line tool (package `redis-runtime-cli`): it keeps
//! the Redis keyspace honest.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use redis_runtime_cli::audit::cli::{self as audit_cli, AuditArgs};
use redis_runtime_cli::live::{self, Format};

/// Keeps the Redis keyspace honest.
#[derive(Debug, Parser)]
#[command(name = "redis-runtime", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Report every place that talks to Redis without going through redis-runtime.
    Audit(AuditArgs),
    /// Print an application's key manifest (Markdown or JSON).
    Manifest {
        #[command(flatten)]
        source: ManifestSource,
        /// `text` (Markdown) or `json`.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Print the `ACL SETUSER` rule that allows exactly the manifest's keys and
    /// the commands the runtime sends (append `>password` to create the user).
    /// Exits 1, with a warning, when a pattern would also grant other
    /// applications' keys (a template starting with a placeholder, no namespace).
    Acl {
        #[command(flatten)]
        source: ManifestSource,
        /// The ACL user name.
        #[arg(long, default_value = "app")]
        user: String,
    },
    /// Compare a live server with the manifest: configuration, access, and a
    /// bounded sample of the keyspace. Exit code 1 when it finds something.
    Doctor {
        #[command(flatten)]
        source: ManifestSource,
        /// The server (default: `REDIS_URL`, else redis://127.0.0.1:6379).
        #[arg(long)]
        url: Option<String>,
        /// Stop sampling after this many keys.
        #[arg(long, default_value_t = 10_000)]
        max_keys: usize,
        /// Stop sampling after this many milliseconds.
        #[arg(long, default_value_t = 5_000)]
        max_time_ms: u64,
        /// `text` (tables) or `json`.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
}

/// Where the manifest comes from: a JSON file, or a built binary of the
/// application that prints it when run with `--manifest json`.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
struct ManifestSource {
    /// A manifest JSON file.
    #[arg(long, value_name = "FILE")]
    manifest: Option<PathBuf>,
    /// A built binary that prints its manifest with `--manifest json`.
    #[arg(long, value_name = "BINARY")]
    exec: Option<PathBuf>,
}

fn load(source: &ManifestSource) -> Result<redis_runtime::keyspace::Manifest, ExitCode> {
    live::load_manifest(source.manifest.as_deref(), source.exec.as_deref()).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(2)
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.command {
        Command::Audit(args) => audit_cli::run(args),
        Command::Manifest { source, format } => match load(source) {
            Ok(manifest) => {
                print!("{}", live::manifest(&manifest, *format));
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
        Command::Acl { source, user } => match load(source) {
            Ok(manifest) => {
                let rule = manifest.acl_rule();
                let broad = rule.broad_patterns();
                for pattern in &broad {
                    eprintln!(
                        "warning: key pattern `{pattern}` begins with a placeholder and has no \
                         namespace, so it also grants other applications' keys; set a namespace"
                    );
                }
                print!("{}", live::acl(&manifest, user));
                if broad.is_empty() {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                }
            }
            Err(code) => code,
        },
        Command::Doctor {
            source,
            url,
            max_keys,
            max_time_ms,
            format,
        } => {
            let manifest = match load(source) {
                Ok(manifest) => manifest,
                Err(code) => return code,
            };
            let max_time = Duration::from_millis(*max_time_ms);
            match live::doctor(&manifest, url.as_deref(), *max_keys, max_time, *format) {
                Ok((report, findings)) => {
                    print!("{report}");
                    if findings {
                        ExitCode::from(1)
                    } else {
                        ExitCode::SUCCESS
                    }
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(2)
                }
            }
        }
    }
}
