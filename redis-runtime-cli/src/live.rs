//! The subcommands that work from a key manifest: `manifest`, `acl` and `doctor`.
//!
//! A manifest is produced by the application itself (a Rust program is the only
//! thing that knows its models): by `Keyspace::manifest` in code, or by running
//! a built binary that prints it (the quickstart answers `--manifest json`).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use redis_runtime::Config;
use redis_runtime::doctor::{DoctorOptions, diagnose};
use redis_runtime::keyspace::Manifest;

/// How to print a manifest or report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Readable text (Markdown for manifests, tables for doctor).
    Text,
    /// JSON with a versioned schema.
    Json,
}

/// Reads a manifest from a JSON file, or from a binary run with `--manifest json`.
pub fn load_manifest(file: Option<&Path>, exec: Option<&Path>) -> Result<Manifest, String> {
    match (file, exec) {
        (Some(path), None) => {
            let json = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            Manifest::from_json(&json).map_err(|e| format!("{}: {e}", path.display()))
        }
        (None, Some(binary)) => {
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
            let json = String::from_utf8(output.stdout).map_err(|_| {
                format!("{} printed a manifest that is not UTF-8", binary.display())
            })?;
            Manifest::from_json(&json).map_err(|e| format!("{}: {e}", binary.display()))
        }
        _ => Err("give exactly one of --manifest FILE or --exec BINARY".to_owned()),
    }
}

/// `manifest`: prints the manifest.
pub fn manifest(manifest: &Manifest, format: Format) -> String {
    match format {
        Format::Json => manifest.to_json(),
        Format::Text => manifest.to_markdown(),
    }
}

/// `acl`: the `ACL SETUSER` line for `user`.
pub fn acl(manifest: &Manifest, user: &str) -> String {
    let mut line = manifest.acl_rule().setuser_command(user);
    line.push('\n');
    line
}

/// `doctor`: the report, and whether it has findings. The server is `url`, or
/// `REDIS_URL`, or the default address; the namespace is the manifest's.
pub fn doctor(
    manifest: &Manifest,
    url: Option<&str>,
    max_keys: usize,
    max_time: Duration,
    format: Format,
) -> Result<(String, bool), String> {
    let url = url
        .map(str::to_owned)
        .or_else(|| std::env::var("REDIS_URL").ok())
        .unwrap_or_else(|| redis_runtime::DEFAULT_URL.to_owned());
    let config = Config::builder()
        .url(url)
        .namespace(manifest.namespace.clone())
        .build()
        .map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a runtime: {e}"))?;
    let options = DoctorOptions::default()
        .max_keys(max_keys)
        .max_time(max_time);
    let report = runtime
        .block_on(diagnose(&config, manifest, &options))
        .map_err(|e| e.to_string())?;
    let text = match format {
        Format::Json => report.to_json(),
        Format::Text => report.to_table(),
    };
    Ok((text, report.has_findings()))
}
