//! `redis-runtime acl`: the ACL rule derived from a manifest, printed or
//! applied to a server or to every node of a cluster.

use clap::Args;
use redis_runtime::Config;
use redis_runtime::keyspace::Manifest;
use redis_runtime::redis;

use super::ManifestSource;
use crate::doctor::cluster::{discover, node_info};
use crate::doctor::{connect, connect_any, failed};
use crate::output::{Exit, print};

/// Print the `ACL SETUSER` rule that allows exactly the manifest's keys and
/// the commands the runtime sends (append `>password` to create the user),
/// or apply it with `--apply`. Exits 1, with a warning, when a pattern would
/// also grant other applications' keys (a template starting with a
/// placeholder, no namespace).
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
    if args.apply {
        match apply_from_env(args, &manifest) {
            Ok(nodes) => print(&format!(
                "user `{}` set on {} node(s): {}\n",
                args.user,
                nodes.len(),
                nodes.join(", ")
            )),
            Err(err) => return Exit::error("acl", err),
        }
    } else {
        print(&format!("{}\n", rule.setuser_command(&args.user)));
    }
    Exit::findings_if(!broad.is_empty())
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
