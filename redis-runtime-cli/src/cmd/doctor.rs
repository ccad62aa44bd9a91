//! `redis-runtime doctor`: compares a live server with a manifest (see
//! [`crate::doctor`]).

use std::time::Duration;

use clap::Args;

use super::ManifestSource;
use crate::doctor::{DoctorOptions, diagnose};
use crate::output::{Exit, Format, print};

/// Compare a live server with the manifest: configuration, access, and a
/// bounded sample of the keyspace. Exits 1 when it finds something.
#[derive(Debug, Clone, Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    source: ManifestSource,
    /// The server, or one node of a cluster (default: `REDIS_URL`, or the
    /// cluster of `REDIS_CLUSTER_NODES`, else redis://127.0.0.1:6379). On a
    /// cluster every node is checked and every primary sampled.
    #[arg(long)]
    url: Option<String>,
    /// Stop sampling after this many keys.
    #[arg(long, default_value_t = 10_000)]
    max_keys: usize,
    /// Stop sampling after this many milliseconds.
    #[arg(long, default_value_t = 5_000)]
    max_time_ms: u64,
    /// `text` (tables) or `json`.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// Runs doctor and prints its report; [`Exit::Findings`] when it found
/// something. The namespace is the manifest's.
pub fn run(args: &DoctorArgs) -> Exit {
    match try_run(args) {
        Ok(exit) => exit,
        Err(err) => Exit::error("doctor", err),
    }
}

fn try_run(args: &DoctorArgs) -> Result<Exit, String> {
    let manifest = args.source.load()?;
    let config = super::config_from_env(args.url.as_ref(), Some(&manifest.namespace))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a runtime: {e}"))?;
    let options = DoctorOptions::default()
        .max_keys(args.max_keys)
        .max_time(Duration::from_millis(args.max_time_ms));
    let report = runtime
        .block_on(diagnose(&config, &manifest, &options))
        .map_err(|e| e.to_string())?;
    print(&match args.format {
        Format::Json => report.to_json(),
        Format::Text => report.to_table(),
    });
    Ok(Exit::findings_if(report.has_findings()))
}
