//! [`Store::health`]: whether Redis is usable now, for readiness and
//! liveness probes, and for `redis-runtime doctor`, which prints the same
//! report.

use std::fmt;
use std::time::{Duration, Instant};

use redis::Value;
use redis::aio::ConnectionLike;
use serde::{Deserialize, Serialize};

use super::Store;
use crate::connection::{Connection, Node};

/// What [`Store::health`] found.
///
/// `up` says whether the store can serve operations now: the server
/// answered a `PING` (on a cluster, every primary did). A replica of a
/// cluster that does not answer leaves the store up, and
/// [`Health::degraded`] says so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Health {
    /// Whether operations can be served now.
    pub up: bool,
    /// Whether this is a Redis Cluster.
    pub cluster: bool,
    /// How long the whole check took.
    pub took: Duration,
    /// The server, or every node of the cluster (primaries first, then
    /// replicas, each group by address) as `CLUSTER NODES` lists them.
    pub nodes: Vec<NodeHealth>,
    /// Why the check could not reach the server or the cluster at all (no
    /// connection, or the node list could not be read); `None` when it
    /// could.
    pub error: Option<String>,
    /// What this store's client cache has done, per model read so far
    /// (empty when the cache is off, see [`crate::client_cache`]).
    #[serde(default)]
    pub client_cache: Vec<crate::client_cache::ModelCacheStats>,
}

/// One server or cluster node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NodeHealth {
    /// `host:port`, or the socket path; never credentials.
    pub address: String,
    /// Whether it answered the `PING`.
    pub up: bool,
    /// The `PING`'s round trip.
    pub latency: Option<Duration>,
    /// Its role, as it reports it (`HELLO`).
    pub role: Option<Role>,
    /// The server's version (`HELLO`), e.g. `7.0.15`.
    pub version: Option<String>,
    /// Why it is down (an error message without credentials or values).
    pub error: Option<String>,
}

/// A server's replication role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Role {
    /// A primary (`master`).
    Primary,
    /// A replica.
    Replica,
    /// Something else it reported (a sentinel).
    Other(String),
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Role::Primary => f.write_str("primary"),
            Role::Replica => f.write_str("replica"),
            Role::Other(other) => f.write_str(other),
        }
    }
}

impl Health {
    /// Whether some node is down while the store is up (a cluster replica
    /// that does not answer), or the store is down.
    pub fn degraded(&self) -> bool {
        !self.up || self.nodes.iter().any(|node| !node.up)
    }
}

impl fmt::Display for Health {
    /// One line per node, for logs and the CLI.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match (self.up, self.degraded()) {
            (false, _) => "down",
            (true, true) => "up (degraded)",
            (true, false) => "up",
        };
        let topology = if self.cluster { "cluster" } else { "server" };
        write!(f, "{topology} {state}, checked in {:?}", self.took)?;
        if let Some(error) = &self.error {
            write!(f, ": {error}")?;
        }
        for node in &self.nodes {
            write!(f, "\n  {}: ", node.address)?;
            match (&node.latency, &node.error) {
                (Some(latency), _) if node.up => write!(f, "up, ping {latency:?}")?,
                (_, Some(error)) => write!(f, "down: {error}")?,
                _ => f.write_str("down")?,
            }
            if let Some(role) = &node.role {
                write!(f, ", {role}")?;
            }
            if let Some(version) = &node.version {
                write!(f, ", Redis {version}")?;
            }
        }
        for model in &self.client_cache {
            write!(
                f,
                "\n  client cache {}: {} hits, {} misses, {} invalidations, {} evictions, \
                 {} entries ({} bytes) of {} ({} bytes), local TTL {:?}",
                model.model,
                model.hits,
                model.misses,
                model.invalidations,
                model.evictions,
                model.entries,
                model.bytes,
                model.policy.max_entries,
                model.policy.max_bytes,
                model.policy.ttl,
            )?;
        }
        Ok(())
    }
}

impl Store {
    /// Checks whether Redis is usable now: a `PING` (its round trip is the
    /// latency) and a `HELLO` (role and version) to the server, or to every
    /// node of a cluster, concurrently. Returns within the connect timeout
    /// plus the response timeout, also when the server is down (then `up`
    /// is false and `error` says why); never an error itself, so that a
    /// readiness probe can serve the report as it is.
    ///
    /// Sends only commands the keyspace's ACL rule allows (`PING`, `HELLO`,
    /// `CLUSTER NODES`, or `CLUSTER SLOTS` where that is refused), and is
    /// not recorded in the operation metrics.
    ///
    /// ```no_run
    /// # async fn probe(store: &redis_runtime::Store) {
    /// let health = store.health().await;
    /// if !health.up {
    ///     eprintln!("Redis is not usable: {health}");
    /// }
    /// # }
    /// ```
    pub async fn health(&self) -> Health {
        let started = Instant::now();
        let budget = self.connect_timeout + self.response_timeout;
        let cluster = self.link.is_cluster();
        let checked = tokio::time::timeout(budget, self.check()).await;
        let (nodes, error) = match checked {
            Ok(Ok(nodes)) => (nodes, None),
            Ok(Err(error)) => (Vec::new(), Some(error)),
            Err(_) => (
                Vec::new(),
                Some(format!("no answer within {budget:?} from {}", self.address)),
            ),
        };
        let up = error.is_none()
            && !nodes.is_empty()
            && nodes
                .iter()
                .filter(|n| !cluster || n.role != Some(Role::Replica))
                .all(|n| n.up);
        Health {
            up,
            cluster,
            took: started.elapsed(),
            nodes,
            error,
            client_cache: self.client_cache_stats(),
        }
    }

    async fn check(&self) -> Result<Vec<NodeHealth>, String> {
        let lease = self
            .link
            .get()
            .await
            .map_err(|err| format!("cannot connect to {}: {err}", self.address))?;
        match lease.connection {
            Connection::Server(mut con) | Connection::Invalidating(mut con, _) => {
                let started = Instant::now();
                let ping = con.req_packed_command(&redis::cmd("PING")).await;
                let latency = started.elapsed();
                let hello = match &ping {
                    Ok(_) => con.req_packed_command(&redis::cmd("HELLO")).await,
                    Err(err) => {
                        // A connection that does not answer is replaced.
                        self.link.report(lease.generation, err);
                        Ok(Value::Nil)
                    }
                };
                let mut node = finish(ping, latency, hello);
                node.address = self.address.to_string();
                Ok(vec![node])
            }
            Connection::Cluster(mut con) => {
                let listed = match con
                    .req_packed_command(redis::cmd("CLUSTER").arg("NODES"))
                    .await
                {
                    Ok(Value::BulkString(text)) => listed_nodes(&String::from_utf8_lossy(&text)),
                    Ok(Value::VerbatimString { text, .. }) => listed_nodes(&text),
                    // A user whose ACL rule predates `CLUSTER NODES` in it.
                    _ => {
                        let slots = con
                            .req_packed_command(redis::cmd("CLUSTER").arg("SLOTS"))
                            .await
                            .map_err(|err| format!("cannot read the cluster's nodes: {err}"))?;
                        cluster_nodes(&slots)
                    }
                };
                if listed.is_empty() {
                    return Err("the cluster lists no nodes".to_owned());
                }
                let checks = listed.iter().map(|(node, primary)| {
                    let mut con = con.clone();
                    async move {
                        let mut health = probe_node(&mut con, node).await;
                        health.address = format!("{}:{}", node.host, node.port);
                        // A node that did not answer is listed with the role
                        // the slot map gives it.
                        if health.role.is_none() {
                            health.role = Some(if *primary {
                                Role::Primary
                            } else {
                                Role::Replica
                            });
                        }
                        health
                    }
                });
                Ok(futures_util::future::join_all(checks).await)
            }
        }
    }
}

/// `PING` then `HELLO` on one cluster node.
async fn probe_node(con: &mut crate::connection::ClusterConnection, node: &Node) -> NodeHealth {
    let started = Instant::now();
    let ping = con.on_node(node, &redis::cmd("PING")).await;
    let latency = started.elapsed();
    let hello = match &ping {
        Ok(_) => con.on_node(node, &redis::cmd("HELLO")).await,
        Err(_) => Ok(Value::Nil),
    };
    finish(ping, latency, hello)
}

fn finish(
    ping: redis::RedisResult<Value>,
    latency: Duration,
    hello: redis::RedisResult<Value>,
) -> NodeHealth {
    let mut node = NodeHealth {
        address: String::new(),
        up: false,
        latency: None,
        role: None,
        version: None,
        error: None,
    };
    match ping {
        Ok(_) => {
            node.up = true;
            node.latency = Some(latency);
        }
        Err(err) => {
            node.error = Some(describe(&err));
            return node;
        }
    }
    if let Ok(hello) = hello {
        for (name, value) in pairs(&hello) {
            match name.as_str() {
                "version" => node.version = Some(value),
                "role" => {
                    node.role = Some(match value.as_str() {
                        "master" => Role::Primary,
                        "replica" | "slave" => Role::Replica,
                        _ => Role::Other(value),
                    });
                }
                _ => {}
            }
        }
    }
    node
}

/// A redis-rs error's message, which names no credentials.
fn describe(err: &redis::RedisError) -> String {
    if err.is_timeout() {
        "no answer in time".to_owned()
    } else {
        err.to_string()
    }
}

/// The string fields of a `HELLO` reply (a RESP3 map, or a RESP2 flat
/// array of names and values).
fn pairs(reply: &Value) -> Vec<(String, String)> {
    let text = |v: &Value| match v {
        Value::BulkString(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
        Value::SimpleString(s) | Value::VerbatimString { text: s, .. } => Some(s.clone()),
        Value::Int(n) => Some(n.to_string()),
        _ => None,
    };
    match reply {
        Value::Map(entries) => entries
            .iter()
            .filter_map(|(k, v)| Some((text(k)?, text(v)?)))
            .collect(),
        Value::Array(items) => items
            .chunks(2)
            .filter_map(|pair| match pair {
                [k, v] => Some((text(k)?, text(v)?)),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Every node `CLUSTER NODES` lists with an address (a failed one too: it
/// is then reported down), with whether it is a primary: primaries first,
/// then replicas, each by address.
fn listed_nodes(text: &str) -> Vec<(Node, bool)> {
    let mut nodes: Vec<(Node, bool)> = text
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            let address = fields.get(1)?.split(['@', ',']).next()?;
            let (host, port) = address.rsplit_once(':')?;
            let flags = fields.get(2)?;
            if host.is_empty() || flags.split(',').any(|f| f == "noaddr" || f == "handshake") {
                return None;
            }
            let node = Node {
                host: host.to_owned(),
                port: port.parse().ok()?,
            };
            Some((node, flags.split(',').any(|f| f == "master")))
        })
        .collect();
    nodes.sort_by(|(a, a_primary), (b, b_primary)| b_primary.cmp(a_primary).then(a.cmp(b)));
    nodes
}

/// Every node `CLUSTER SLOTS` lists (it omits failed nodes and replicas
/// that have not synchronised yet), each once, with whether it is a
/// primary: primaries first, then replicas, each by address.
fn cluster_nodes(reply: &Value) -> Vec<(Node, bool)> {
    let mut nodes: Vec<(Node, bool)> = Vec::new();
    let Value::Array(ranges) = reply else {
        return nodes;
    };
    for range in ranges {
        let Value::Array(parts) = range else { continue };
        for (i, part) in parts.iter().enumerate().skip(2) {
            let Value::Array(fields) = part else { continue };
            let host = match fields.first() {
                Some(Value::BulkString(b)) => String::from_utf8_lossy(b).into_owned(),
                Some(Value::SimpleString(s)) => s.clone(),
                _ => continue,
            };
            let Some(Value::Int(port)) = fields.get(1) else {
                continue;
            };
            let Ok(port) = u16::try_from(*port) else {
                continue;
            };
            let node = Node { host, port };
            if !nodes.iter().any(|(n, _)| *n == node) {
                nodes.push((node, i == 2));
            }
        }
    }
    nodes.sort_by(|(a, a_primary), (b, b_primary)| b_primary.cmp(a_primary).then(a.cmp(b)));
    nodes
}
