//! One module per subcommand: its arguments (clap) and what it does with them.
//!
//! `manifest`, `acl` and `doctor` work from a key manifest, which only the
//! application can produce (a Rust program is what knows its models): by
//! `Keyspace::manifest` in code, written to a file, or by a built binary that
//! prints it when run with `--manifest json` (the quickstart does).

pub mod acl;
pub mod audit;
pub mod doctor;
pub mod infer;
pub mod manifest;

use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Args;
use redis_runtime::keyspace::Manifest;

/// Where the manifest comes from: a JSON file, or a built binary of the
/// application that prints it when run with `--manifest json`.
#[derive(Debug, Clone, Args)]
#[group(required = true, multiple = false)]
pub struct ManifestSource {
    /// A manifest JSON file.
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    /// A built binary that prints its manifest with `--manifest json`.
    #[arg(long, value_name = "BINARY")]
    pub exec: Option<PathBuf>,
}

impl ManifestSource {
    /// Reads the manifest.
    pub fn load(&self) -> Result<Manifest, String> {
        match (&self.manifest, &self.exec) {
            (Some(path), None) => read_file(path),
            (None, Some(binary)) => run_binary(binary),
            _ => Err("give exactly one of --manifest FILE or --exec BINARY".to_owned()),
        }
    }
}

fn read_file(path: &Path) -> Result<Manifest, String> {
    let json = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Manifest::from_json(&json).map_err(|e| format!("{}: {e}", path.display()))
}

fn run_binary(binary: &Path) -> Result<Manifest, String> {
    let output = Command::new(binary)
        .arg("--manifest")
        .arg("json")
        .output()
        .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
    if !output.status.success() {
        return Err(format!(
            "{} --manifest json failed ({}): {}",
            binary.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let json = String::from_utf8(output.stdout)
        .map_err(|_| format!("{} printed a manifest that is not UTF-8", binary.display()))?;
    Manifest::from_json(&json).map_err(|e| format!("{}: {e}", binary.display()))
}

/// The configuration a command connects with: the environment, as a service
/// reads it (`REDIS_URL` or `REDIS_CLUSTER_NODES`, the timeouts, the TLS
/// files), with `url` (a `--url` option) in place of both, and `namespace`
/// (a manifest's) in place of `REDIS_NAMESPACE` when given.
pub(crate) fn config_from_env(
    url: Option<&String>,
    namespace: Option<&str>,
) -> Result<redis_runtime::Config, String> {
    redis_runtime::Config::from_lookup(|name| match name {
        "REDIS_NAMESPACE" if namespace.is_some() => namespace.map(str::to_owned),
        "REDIS_URL" if url.is_some() => url.cloned(),
        "REDIS_CLUSTER_NODES" if url.is_some() => None,
        _ => std::env::var(name).ok(),
    })
    .map_err(|e| e.to_string())
}
