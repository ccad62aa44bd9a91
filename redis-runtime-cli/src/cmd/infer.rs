//! `redis-runtime infer`: suggests declarations for an existing keyspace
//! (see [`crate::infer`]).

use std::time::Duration;

use clap::{Args, ValueEnum};

use crate::infer::{InferOptions, infer};
use crate::output::{Exit, print};

/// How `infer` prints its suggestions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum InferFormat {
    /// A summary table, then the Rust declarations.
    #[default]
    Text,
    /// The Rust declarations only, as one source file.
    Rust,
    /// Everything, as JSON with a versioned schema.
    Json,
}

/// Sample a live server and suggest Rust declarations for the keys it holds:
/// key templates, Redis types, TTLs and value encodings, and what could not be
/// decided. Reads only. Exits 1 when something could not be decided.
#[derive(Debug, Clone, Args)]
pub struct InferArgs {
    /// The server, or one node of a cluster (default: `REDIS_URL`, or the
    /// cluster of `REDIS_CLUSTER_NODES`, else redis://127.0.0.1:6379). On a
    /// cluster every primary is sampled.
    #[arg(long)]
    url: Option<String>,
    /// Only keys matching this glob (`SCAN MATCH`).
    #[arg(long, default_value = "*")]
    pattern: String,
    /// Stop sampling after this many keys.
    #[arg(long, default_value_t = 10_000)]
    max_keys: usize,
    /// Stop sampling after this many milliseconds.
    #[arg(long, default_value_t = 5_000)]
    max_time_ms: u64,
    /// Values read per family to infer encodings and fields.
    #[arg(long, default_value_t = 20)]
    values_per_family: usize,
    /// `text`, `rust` or `json`.
    #[arg(long, value_enum, default_value_t = InferFormat::Text)]
    format: InferFormat,
}

/// Runs `infer` and prints its suggestions.
pub fn run(args: &InferArgs) -> Exit {
    match try_run(args) {
        Ok(exit) => exit,
        Err(err) => Exit::error("infer", err),
    }
}

fn try_run(args: &InferArgs) -> Result<Exit, String> {
    let config = super::config_from_env(args.url.as_ref(), None)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a runtime: {e}"))?;
    let options = InferOptions {
        max_keys: args.max_keys,
        max_time: Duration::from_millis(args.max_time_ms),
        pattern: args.pattern.clone(),
        values_per_family: args.values_per_family.max(1),
    };
    let report = runtime
        .block_on(infer(&config, &options))
        .map_err(|e| e.to_string())?;
    print(&match args.format {
        InferFormat::Json => report.to_json(),
        InferFormat::Rust => report.to_rust(),
        InferFormat::Text => report.to_table(),
    });
    Ok(Exit::findings_if(report.has_undecided()))
}
