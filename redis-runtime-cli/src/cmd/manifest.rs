//! `redis-runtime manifest`: prints an application's key manifest.

use clap::Args;

use super::ManifestSource;
use crate::output::{Exit, Format, print};

/// Print an application's key manifest (Markdown or JSON).
#[derive(Debug, Clone, Args)]
pub struct ManifestArgs {
    #[command(flatten)]
    source: ManifestSource,
    /// `text` (Markdown) or `json`.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// Prints the manifest.
pub fn run(args: &ManifestArgs) -> Exit {
    match args.source.load() {
        Ok(manifest) => {
            print(&match args.format {
                Format::Json => manifest.to_json(),
                Format::Text => manifest.to_markdown(),
            });
            Exit::Clean
        }
        Err(err) => Exit::error("manifest", err),
    }
}
