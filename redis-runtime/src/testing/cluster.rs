//! A private Redis Cluster: [`RedisServer`] nodes in cluster mode, joined by
//! `redis-cli --cluster create`.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{
    HarnessError, POLL_INTERVAL, RedisServer, RedisServerBuilder, TestCertificates, is_executable,
};
use crate::{Config, ConfigBuilder, Store};

/// The environment variable naming the `redis-cli` binary that creates clusters.
pub const REDIS_CLI_BIN: &str = "REDIS_CLI_BIN";

/// How long [`RedisClusterBuilder::start`] waits for a healthy cluster by default.
const DEFAULT_CLUSTER_READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Options for a [`RedisCluster`]; created by [`RedisCluster::builder`].
#[derive(Debug, Clone)]
pub struct RedisClusterBuilder {
    primaries: usize,
    replicas: usize,
    node_timeout: Duration,
    node: RedisServerBuilder,
    ready_timeout: Duration,
    tls: Option<TestCertificates>,
}

impl Default for RedisClusterBuilder {
    fn default() -> Self {
        RedisClusterBuilder {
            primaries: 3,
            replicas: 0,
            node_timeout: Duration::from_millis(2000),
            node: RedisServerBuilder::default(),
            ready_timeout: DEFAULT_CLUSTER_READY_TIMEOUT,
            tls: None,
        }
    }
}

impl RedisClusterBuilder {
    /// How many primaries share the slots (default 3, the least Redis
    /// Cluster accepts).
    pub fn primaries(mut self, primaries: usize) -> Self {
        self.primaries = primaries;
        self
    }

    /// How many replicas each primary gets (default 0); failover needs one.
    pub fn replicas(mut self, replicas: usize) -> Self {
        self.replicas = replicas;
        self
    }

    /// `cluster-node-timeout`: how long a node may be unreachable before it
    /// is failed over (default 2 s, short for tests; Redis's default is 15 s).
    pub fn node_timeout(mut self, timeout: Duration) -> Self {
        self.node_timeout = timeout;
        self
    }

    /// Turns the append-only file on for every node.
    pub fn appendonly(mut self, enabled: bool) -> Self {
        self.node = self.node.appendonly(enabled);
        self
    }

    /// Appends a raw command-line argument to every node.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.node = self.node.arg(arg);
        self
    }

    /// Clients reach the nodes over TLS only ([`RedisCluster::urls`] are
    /// `rediss://`), and the nodes talk to each other (cluster bus and
    /// replication) over TLS too. Each node keeps a plain port for the
    /// harness's own health checks.
    pub fn tls(mut self, certificates: &TestCertificates) -> Self {
        self.node = self
            .node
            .tls(certificates)
            .arg("--tls-cluster")
            .arg("yes")
            .arg("--tls-replication")
            .arg("yes");
        self.tls = Some(certificates.clone());
        self
    }

    /// How long to wait for the cluster to become healthy (default 30 s).
    pub fn ready_timeout(mut self, timeout: Duration) -> Self {
        self.ready_timeout = timeout;
        self
    }

    /// Spawns the nodes, joins them into a cluster and waits until every
    /// node reports `cluster_state:ok` with all 16384 slots served and every
    /// replica has synced with its primary.
    pub fn start(self) -> Result<RedisCluster, HarnessError> {
        let cli = find_cli()?;
        let count = self.primaries * (1 + self.replicas);
        let node = self
            .node
            .clone()
            .tcp()
            .cluster_enabled(true)
            .arg("--cluster-node-timeout")
            .arg(self.node_timeout.as_millis().to_string());
        let mut nodes = Vec::with_capacity(count);
        for _ in 0..count {
            nodes.push(node.clone().start()?);
        }
        let mut cluster = RedisCluster {
            reaper: spawn_reaper(&nodes),
            nodes,
            tls: self.tls.clone(),
        };
        let mut create = Command::new(&cli);
        if let Some(certificates) = &self.tls {
            // The client certificate too, for nodes that require one
            // (`--tls-auth-clients yes`).
            create
                .arg("--tls")
                .arg("--cacert")
                .arg(certificates.ca_file())
                .arg("--cert")
                .arg(certificates.client_cert_file())
                .arg("--key")
                .arg(certificates.client_key_file());
        }
        create.arg("--cluster").arg("create");
        for seed in cluster.addresses() {
            create.arg(seed);
        }
        create
            .arg("--cluster-replicas")
            .arg(self.replicas.to_string())
            .arg("--cluster-yes")
            .stdin(Stdio::null());
        let output = create.output().map_err(HarnessError::Spawn)?;
        if !output.status.success() {
            return Err(HarnessError::ClusterNotReady {
                reason: format!(
                    "`redis-cli --cluster create` failed: {}{}",
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                ),
            });
        }
        cluster.wait_ready(self.ready_timeout)?;
        Ok(cluster)
    }
}

/// A private Redis Cluster on 127.0.0.1, every node a [`RedisServer`]
/// (killed when the cluster is dropped).
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let cluster = redis_runtime::testing::RedisCluster::start()?;
/// let store = cluster.store().await?;
/// # drop(store);
/// # Ok(()) }
/// ```
///
/// `redis-cli` is `$REDIS_CLI_BIN` when set, else the one next to the
/// `redis-server` binary, else the one on `PATH`. A test process that exits
/// without dropping its cluster (one kept in a `static`, say) leaves nothing
/// behind: a small reaper process kills the nodes and removes their
/// directories once the process is gone.
#[derive(Debug)]
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
    reaper: Option<Child>,
    tls: Option<TestCertificates>,
}

impl RedisCluster {
    /// Options: primaries, replicas, node timeout, node arguments.
    pub fn builder() -> RedisClusterBuilder {
        RedisClusterBuilder::default()
    }

    /// Starts a cluster of 3 primaries without replicas.
    pub fn start() -> Result<RedisCluster, HarnessError> {
        Self::builder().start()
    }

    /// Every node's URL (`redis://127.0.0.1:PORT`, or `rediss://` with
    /// [`RedisClusterBuilder::tls`]), to use as seeds.
    pub fn urls(&self) -> Vec<String> {
        match self.tls {
            Some(_) => self.nodes.iter().filter_map(RedisServer::tls_url).collect(),
            None => self.nodes.iter().map(RedisServer::url).collect(),
        }
    }

    fn addresses(&self) -> Vec<String> {
        self.nodes
            .iter()
            .filter_map(|node| match self.tls {
                Some(_) => node.tls_port(),
                None => node.port(),
            })
            .map(|port| format!("127.0.0.1:{port}"))
            .collect()
    }

    /// A [`ConfigBuilder`] with every node as a seed (and, over TLS, the
    /// test CA), to add a namespace or timeouts.
    pub fn config_builder(&self) -> ConfigBuilder {
        let builder = Config::builder().cluster_nodes(self.urls());
        match &self.tls {
            Some(certificates) => builder.tls_ca_file(certificates.ca_file()),
            None => builder,
        }
    }

    /// A [`Config`] for the cluster.
    pub fn config(&self) -> crate::Result<Config> {
        self.config_builder().build()
    }

    /// A [`Store`] connected to the cluster.
    pub async fn store(&self) -> crate::Result<Store> {
        Store::connect(&self.config()?).await
    }

    /// A raw redis-rs cluster connection (with redis-rs's own retries), for
    /// seeding or inspecting data with plain commands.
    pub async fn raw_connection(
        &self,
    ) -> redis::RedisResult<redis::cluster_async::ClusterConnection> {
        redis::cluster::ClusterClient::new(self.urls())?
            .get_async_connection()
            .await
    }

    /// The nodes, in the order they were created (with replicas, the first
    /// `primaries` were created as primaries; failovers change the roles).
    pub fn nodes(&self) -> &[RedisServer] {
        &self.nodes
    }

    /// One node, to stop, restart or signal it.
    pub fn node_mut(&mut self, index: usize) -> &mut RedisServer {
        &mut self.nodes[index]
    }

    /// Waits until every running node reports `cluster_state:ok` with all
    /// 16384 slots served, and every running replica's link to its primary
    /// is up and synced. For use after a restart or a failover.
    pub fn wait_ready(&mut self, timeout: Duration) -> Result<(), HarnessError> {
        let deadline = Instant::now() + timeout;
        loop {
            let problem = self.problem();
            match problem {
                None => return Ok(()),
                Some(reason) if Instant::now() >= deadline => {
                    return Err(HarnessError::ClusterNotReady { reason });
                }
                Some(_) => std::thread::sleep(POLL_INTERVAL * 5),
            }
        }
    }

    /// What keeps the cluster from being healthy, if anything: a node
    /// not serving every slot, a replica not synced, or nodes that disagree
    /// on which primary serves which slots (gossip still spreading a
    /// failover).
    fn problem(&mut self) -> Option<String> {
        let mut maps: Vec<(String, SlotPrimaries)> = Vec::new();
        for node in &mut self.nodes {
            if !node.is_running() {
                continue;
            }
            let url = node.url();
            // One connection per node for the whole check.
            let connected = redis::Client::open(url.as_str())
                .and_then(|client| client.get_connection_with_timeout(Duration::from_secs(1)));
            let mut con = match connected {
                Ok(con) => con,
                Err(e) => return Some(format!("{url}: {e}")),
            };
            let mut info = |section: &[&str]| -> Result<String, String> {
                let mut cmd = redis::cmd(section[0]);
                cmd.arg(&section[1..]);
                cmd.query::<String>(&mut con)
                    .map_err(|e| format!("{url}: {e}"))
            };
            let cluster = match info(&["CLUSTER", "INFO"]) {
                Ok(text) => text,
                Err(reason) => return Some(reason),
            };
            for expected in ["cluster_state:ok", "cluster_slots_ok:16384"] {
                if !cluster.lines().any(|line| line.trim() == expected) {
                    return Some(format!("{url} does not report {expected}"));
                }
            }
            let replication = match info(&["INFO", "replication"]) {
                Ok(text) => text,
                Err(reason) => return Some(reason),
            };
            match slot_primaries(&mut con) {
                Ok(map) => maps.push((url.clone(), map)),
                Err(e) => return Some(format!("{url}: {e}")),
            }
            if replication.lines().any(|line| line.trim() == "role:slave") {
                for expected in ["master_link_status:up", "master_sync_in_progress:0"] {
                    if !replication.lines().any(|line| line.trim() == expected) {
                        return Some(format!("replica {url} does not report {expected}"));
                    }
                }
            }
        }
        if let Some((first_url, first)) = maps.first()
            && let Some((url, _)) = maps.iter().find(|(_, map)| map != first)
        {
            return Some(format!(
                "{url} and {first_url} disagree on which primary serves which slots"
            ));
        }
        None
    }
}

/// The `(first slot, last slot, primary's port)` of every slot range.
type SlotPrimaries = Vec<(i64, i64, i64)>;

/// The node's `CLUSTER SLOTS` as [`SlotPrimaries`], sorted.
fn slot_primaries(con: &mut redis::Connection) -> redis::RedisResult<SlotPrimaries> {
    let reply: Vec<redis::Value> = redis::cmd("CLUSTER").arg("SLOTS").query(con)?;
    let mut map = Vec::new();
    for range in reply {
        let redis::Value::Array(range) = range else {
            continue;
        };
        let int = |v: Option<&redis::Value>| match v {
            Some(redis::Value::Int(n)) => *n,
            _ => -1,
        };
        let port = match range.get(2) {
            Some(redis::Value::Array(primary)) => int(primary.get(1)),
            _ => -1,
        };
        map.push((int(range.first()), int(range.get(1)), port));
    }
    map.sort_unstable();
    Ok(map)
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            node.stop();
        }
        if let Some(mut reaper) = self.reaper.take() {
            let _ = reaper.kill();
            let _ = reaper.wait();
        }
    }
}

/// `$REDIS_CLI_BIN`, or `redis-cli` next to the `redis-server` binary, or on `PATH`.
fn find_cli() -> Result<PathBuf, HarnessError> {
    if let Some(bin) = std::env::var_os(REDIS_CLI_BIN).filter(|v| !v.is_empty()) {
        let path = PathBuf::from(&bin);
        return super::check_binary(&path, &format!("{REDIS_CLI_BIN}=`{}`", path.display()));
    }
    if let Ok(server) = super::find_binary()
        && let Some(dir) = server.parent()
        && is_executable(&dir.join("redis-cli"))
    {
        return Ok(dir.join("redis-cli"));
    }
    let path_var = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path_var)
        .map(|dir| dir.join("redis-cli"))
        .find(|candidate| is_executable(candidate))
        .ok_or_else(|| HarnessError::NotFound {
            searched: format!(
                "{REDIS_CLI_BIN} (unset), next to redis-server, and PATH=`{}` for redis-cli",
                path_var.to_string_lossy()
            ),
        })
}

/// A `sh` process that waits for this process to exit, then kills the nodes
/// (by the pid files they keep up to date across restarts) and removes their
/// directories. `None` when `sh` cannot be run: the cluster works without it.
fn spawn_reaper(nodes: &[RedisServer]) -> Option<Child> {
    const SCRIPT: &str = r#"parent=$1; shift
while kill -0 "$parent" 2>/dev/null; do sleep 1; done
for dir in "$@"; do
  pid=$(cat "$dir/redis.pid" 2>/dev/null) && kill -9 "$pid" 2>/dev/null
  rm -rf "$dir"
done"#;
    let mut reaper = Command::new("sh");
    reaper
        .arg("-c")
        .arg(SCRIPT)
        .arg("redis-runtime-reaper")
        .arg(std::process::id().to_string());
    for node in nodes {
        reaper.arg(node.dir());
    }
    reaper
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()
}
