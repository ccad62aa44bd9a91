//! `redis-runtime acl`: the ACL rule derived from a manifest.

use clap::Args;

use super::ManifestSource;
use crate::output::{Exit, print};

/// Print the `ACL SETUSER` rule that allows exactly the manifest's keys and
/// the commands the runtime sends (append `>password` to create the user).
/// Exits 1, with a warning, when a pattern would also grant other
/// applications' keys (a template starting with a placeholder, no namespace).
#[derive(Debug, Clone, Args)]
pub struct AclArgs {
    #[command(flatten)]
    source: ManifestSource,
    /// The ACL user name.
    #[arg(long, default_value = "app")]
    user: String,
}

/// Prints the rule; [`Exit::Findings`] when a pattern is too broad.
pub fn run(args: &AclArgs) -> Exit {
    let manifest = match args.source.load() {
        Ok(manifest) => manifest,
        Err(err) => return Exit::error("acl", err),
    };
    let rule = manifest.acl_rule();
    let broad = rule.broad_patterns();
    for pattern in &broad {
        eprintln!(
            "warning: key pattern `{pattern}` begins with a placeholder and has no \
             namespace, so it also grants other applications' keys; set a namespace"
        );
    }
    print(&format!("{}\n", rule.setuser_command(&args.user)));
    Exit::findings_if(!broad.is_empty())
}
