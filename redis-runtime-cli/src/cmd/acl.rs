//! `redis-runtime acl`: the ACL rule derived from a manifest, printed or
//! applied to a server or to every node of a cluster; with `--sources`, the
//! commands the service's raw code sends that the rule does not grant.

use std::path::PathBuf;

use clap::Args;
use redis_runtime::Config;
use redis_runtime::keyspace::{AclRule, Manifest};
use redis_runtime::redis;
use serde::Serialize;

use crate::audit::{self, Sent};
use crate::output::Format;

use super::ManifestSource;
use crate::doctor::cluster::{discover, node_info};
use crate::doctor::{connect, connect_any, failed};
use crate::output::{Exit, print};

/// Print the `ACL SETUSER` rule that allows exactly the manifest's keys and
/// the commands the runtime sends (append `>password` to create the user),
/// or apply it with `--apply`. Exits 1, with a warning, when a pattern would
/// also grant other applications' keys (a template starting with a
/// placeholder, no namespace).
///
/// With `--sources`, the raw-access audit's parser reads the service's code
/// and every command its raw sites send (`redis::cmd("LPUSH")`, `.lpush(..)`
/// on a connection, ...) that the rule does not grant is a warning naming
/// the site's file and line; so is a site whose command cannot be told
/// ("unknown command"). Declare such commands in a raw family
/// (`#[derive(RedisRaw)]`). The exit code stays 0 unless `--deny-uncovered`.
#[derive(Debug, Clone, Args)]
pub struct AclArgs {
    #[command(flatten)]
    source: ManifestSource,
    /// The ACL user name.
    #[arg(long, default_value = "app")]
    user: String,
    /// Create (or reset) the user on the server instead of printing the
    /// rule; on a Redis Cluster on every node, primaries and replicas alike
    /// (ACL users are per node). The server is `--url`, else `REDIS_URL` or
    /// the cluster of `REDIS_CLUSTER_NODES`, connected to as an admin.
    #[arg(long, requires = "password_env")]
    apply: bool,
    /// With `--apply`: the environment variable holding the user's password.
    #[arg(long, value_name = "VAR")]
    password_env: Option<String>,
    /// With `--apply`: the server, or one node of a cluster.
    #[arg(long)]
    url: Option<String>,
    /// Source files or directories of the service: warn about every
    /// command its raw Redis code sends that the rule does not grant, and
    /// about raw sites whose command cannot be told.
    #[arg(long, value_name = "PATH", num_args = 1..)]
    sources: Vec<PathBuf>,
    /// With `--sources`: exit 1 when some raw site's command is not granted
    /// or cannot be told.
    #[arg(long, requires = "sources")]
    deny_uncovered: bool,
    /// `text` (the `ACL SETUSER` line; warnings on standard error) or `json`
    /// (the rule, its broad patterns and the uncovered sites; the warnings
    /// still go to standard error too).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// A raw site whose command the rule does not grant, or cannot be told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Uncovered {
    /// The file, as the scanned path joined with the path below it.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// The audit's kind of site (`raw_command`, `command_trait_call`, ...).
    pub site: String,
    /// The command, lower case; `None` when the audit cannot tell it.
    pub command: Option<String>,
    /// The source line, trimmed.
    pub snippet: String,
}

impl Uncovered {
    /// The warning for people.
    pub fn warning(&self) -> String {
        match &self.command {
            Some(command) => format!(
                "warning: {}:{}: raw code sends `{}`, which the ACL rule does not grant; declare it in the `commands` of a raw family (`#[derive(RedisRaw)]`) for the keys it touches",
                self.file,
                self.line,
                command.to_ascii_uppercase()
            ),
            None => format!(
                "warning: {}:{}: unknown command: the {} sends a command the audit cannot tell, so whether the ACL rule grants it is unknown",
                self.file,
                self.line,
                self.site.replace('_', " ")
            ),
        }
    }
}

/// The raw sites under `sources` whose commands `rule` does not grant, or
/// whose commands cannot be told, in file and line order. Every file is read
/// (no allowlist: the question is what the code sends, not whether it may);
/// the framework's own packages are skipped.
pub fn uncovered(rule: &AclRule, sources: &[PathBuf]) -> Result<Vec<Uncovered>, String> {
    let report = audit::audit(
        sources,
        &audit::Options {
            allow: Vec::new(),
            exempt_framework: true,
        },
    )
    .map_err(|e| e.to_string())?;
    let mut found = Vec::new();
    for violation in report.violations {
        let site = |command: Option<String>| Uncovered {
            file: violation.file.clone(),
            line: violation.line,
            column: violation.column,
            site: violation.kind.as_str().to_owned(),
            command,
            snippet: violation.snippet.clone(),
        };
        match &violation.sent {
            Sent::Nothing => {}
            Sent::Unknown => found.push(site(None)),
            Sent::Commands(commands) => {
                for command in commands {
                    if !rule.grants(command) {
                        found.push(site(Some(command.clone())));
                    }
                }
            }
        }
    }
    Ok(found)
}

/// The JSON form of `acl --format json`.
#[derive(Debug, Serialize)]
struct JsonAcl<'a> {
    /// The schema version.
    version: u32,
    user: &'a str,
    setuser: String,
    setuser_args: Vec<String>,
    broad_patterns: Vec<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    applied_nodes: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    uncovered: Option<Vec<Uncovered>>,
}

/// Prints or applies the rule; [`Exit::Findings`] when a pattern is too broad.
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
    let uncovered = if args.sources.is_empty() {
        None
    } else {
        match uncovered(&rule, &args.sources) {
            Ok(found) => Some(found),
            Err(err) => return Exit::error("acl", err),
        }
    };
    for site in uncovered.iter().flatten() {
        eprintln!("{}", site.warning());
    }
    let applied = if args.apply {
        match apply_from_env(args, &manifest) {
            Ok(nodes) => Some(nodes),
            Err(err) => return Exit::error("acl", err),
        }
    } else {
        None
    };
    match args.format {
        Format::Text => match &applied {
            Some(nodes) => print(&format!(
                "user `{}` set on {} node(s): {}\n",
                args.user,
                nodes.len(),
                nodes.join(", ")
            )),
            None => print(&format!("{}\n", rule.setuser_command(&args.user))),
        },
        Format::Json => {
            let json = JsonAcl {
                version: 1,
                user: &args.user,
                setuser: rule.setuser_command(&args.user),
                setuser_args: rule.setuser_args(),
                broad_patterns: broad.clone(),
                applied_nodes: applied,
                uncovered: uncovered.clone(),
            };
            let mut text = serde_json::to_string_pretty(&json).unwrap_or_default();
            text.push('\n');
            print(&text);
        }
    }
    let denied = args.deny_uncovered && uncovered.as_ref().is_some_and(|u| !u.is_empty());
    Exit::findings_if(!broad.is_empty() || denied)
}

fn apply_from_env(args: &AclArgs, manifest: &Manifest) -> Result<Vec<String>, String> {
    let var = args.password_env.as_deref().unwrap_or_default();
    let password = std::env::var(var)
        .map_err(|_| format!("--password-env names `{var}`, which is not set"))?;
    if password.is_empty() {
        return Err(format!("`{var}` is empty: the user needs a password"));
    }
    let config = super::config_from_env(args.url.as_ref(), None)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a runtime: {e}"))?;
    runtime
        .block_on(apply(&config, manifest, &args.user, &password))
        .map_err(|e| e.to_string())
}

/// Creates or resets `user` with `password` and the manifest's rule on the
/// server `config` points at, or on every node of its cluster (every node
/// `CLUSTER NODES` lists, primaries and replicas, failed ones too: a node
/// that cannot be reached fails the whole command, since it would come back
/// without the user). Returns the addresses of the nodes it was set on.
pub async fn apply(
    config: &Config,
    manifest: &Manifest,
    user: &str,
    password: &str,
) -> Result<Vec<String>, crate::doctor::DoctorError> {
    let (mut first, address) = connect_any(config).await?;
    let mut setuser = redis::cmd("ACL");
    setuser
        .arg("SETUSER")
        .arg(user)
        .arg("reset")
        .arg("on")
        .arg(format!(">{password}"))
        .arg(manifest.acl_rule().setuser_args());
    // One server is no cluster node.
    let Some(nodes) = discover(&mut first, &address, true).await else {
        let _: () = setuser
            .query_async(&mut first)
            .await
            .map_err(failed("ACL SETUSER", &address))?;
        return Ok(vec![address]);
    };
    let mut applied = Vec::new();
    for node in nodes {
        let node_address = format!("{}:{}", node.host, node.port);
        let mut con = connect(config, &node_info(config.connection_info(), &node)).await?;
        let _: () = setuser
            .query_async(&mut con)
            .await
            .map_err(failed("ACL SETUSER", &node_address))?;
        applied.push(node_address);
    }
    Ok(applied)
}
