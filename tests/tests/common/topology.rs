//! Which Redis a test runs against: one server, or a Redis Cluster of three
//! primaries. `on_both!` runs a test body once on each; `start` reads the
//! topology of the test it is called from.
//!
//! Each cluster test gets a cluster of its own (about 2 s to form), so tests
//! stay as hermetic as on one server: no shared keys, no shared ACL users.

use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, Value};
use redis_runtime::testing::{RedisCluster, RedisServer};
use redis_runtime::{ConfigBuilder, Store};

tokio::task_local! {
    /// The topology of the running test (one server when unset).
    pub static TOPOLOGY: Topology;
}

/// One server or a cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topology {
    Server,
    Cluster,
}

/// The topology of the test this is called from.
pub fn topology() -> Topology {
    TOPOLOGY.try_with(|t| *t).unwrap_or(Topology::Server)
}

/// A private server or cluster.
pub enum TestRedis {
    Server(RedisServer),
    Cluster(RedisCluster),
}

impl TestRedis {
    /// Starts one of the test's topology.
    pub fn start() -> TestRedis {
        match topology() {
            Topology::Server => TestRedis::Server(RedisServer::start().unwrap()),
            Topology::Cluster => TestRedis::Cluster(RedisCluster::start().unwrap()),
        }
    }

    pub fn is_cluster(&self) -> bool {
        matches!(self, TestRedis::Cluster(_))
    }

    /// How many nodes answer an `INFO` sent on an admin connection: the
    /// server, or every primary of the cluster.
    pub fn nodes_answering_info(&self) -> u64 {
        match self {
            TestRedis::Server(_) => 1,
            TestRedis::Cluster(_) => 3,
        }
    }

    /// The single server, for tests about one server's process.
    pub fn server(&self) -> &RedisServer {
        match self {
            TestRedis::Server(server) => server,
            TestRedis::Cluster(_) => panic!("this test needs a single server"),
        }
    }

    pub fn config_builder(&self) -> ConfigBuilder {
        match self {
            TestRedis::Server(server) => server.config_builder(),
            TestRedis::Cluster(cluster) => cluster.config_builder(),
        }
    }

    /// A store as the default (admin) user.
    pub async fn store(&self) -> Store {
        Store::connect(&self.config_builder().build().unwrap())
            .await
            .unwrap()
    }

    /// An admin connection for raw commands: to the server, or to the
    /// cluster (routed by key).
    pub async fn raw_connection(&self) -> redis::RedisResult<Admin> {
        Ok(match self {
            TestRedis::Server(server) => Admin::Server(server.raw_connection().await?),
            TestRedis::Cluster(cluster) => Admin::Cluster(cluster.raw_connection().await?),
        })
    }

    /// A connection to every node (the server alone, or each node of the
    /// cluster), for settings such as ACL users that nodes do not share.
    pub async fn node_connections(&self) -> Vec<MultiplexedConnection> {
        let nodes: Vec<&RedisServer> = match self {
            TestRedis::Server(server) => vec![server],
            TestRedis::Cluster(cluster) => cluster.nodes().iter().collect(),
        };
        let mut connections = Vec::new();
        for node in nodes {
            connections.push(node.raw_connection().await.unwrap());
        }
        connections
    }

    /// The URL of the server, or of the cluster's first node, as `user`.
    pub fn first_url_as(&self, user: &str, password: &str) -> String {
        match self {
            TestRedis::Server(server) => format!("{}?user={user}&pass={password}", server.url()),
            TestRedis::Cluster(cluster) => {
                cluster.urls()[0].replacen("redis://", &format!("redis://{user}:{password}@"), 1)
            }
        }
    }

    /// The URLs a store connects to, as `user` with `password`.
    pub fn config_builder_as(&self, user: &str, password: &str) -> ConfigBuilder {
        match self {
            TestRedis::Server(server) => redis_runtime::Config::builder()
                .url(format!("{}?user={user}&pass={password}", server.url())),
            TestRedis::Cluster(cluster) => redis_runtime::Config::builder().cluster_nodes(
                cluster
                    .urls()
                    .iter()
                    .map(|url| url.replacen("redis://", &format!("redis://{user}:{password}@"), 1)),
            ),
        }
    }
}

/// A raw admin connection to either topology.
#[derive(Clone)]
pub enum Admin {
    Server(MultiplexedConnection),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Admin {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Admin::Server(con) => con.req_packed_command(cmd),
            Admin::Cluster(con) => con.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Admin::Server(con) => con.req_packed_commands(cmd, offset, count),
            Admin::Cluster(con) => con.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Admin::Server(con) => con.get_db(),
            Admin::Cluster(_) => 0,
        }
    }
}

/// Runs a test body once on one server (`<name>::server`) and once on a
/// cluster (`<name>::cluster`); an optional `(flavor = ...)` goes to
/// `#[tokio::test]`.
macro_rules! on_both {
    ($(#[$doc:meta])* $(($($flavor:tt)*))? async fn $name:ident() $body:block) => {
        $(#[$doc])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test $(($($flavor)*))?]
            async fn server() {
                crate::common::TOPOLOGY
                    .scope(crate::common::Topology::Server, async move $body)
                    .await
            }

            #[tokio::test $(($($flavor)*))?]
            async fn cluster() {
                crate::common::TOPOLOGY
                    .scope(crate::common::Topology::Cluster, async move $body)
                    .await
            }
        }
    };
}
pub(crate) use on_both;

/// A node as `CLUSTER NODES` describes it.
#[derive(Debug, Clone)]
pub struct NodeLine {
    pub id: String,
    pub port: u16,
    pub primary: bool,
    pub primary_id: String,
    pub slots: Vec<(u16, u16)>,
}

/// `CLUSTER NODES` as the node on `port` sees it.
pub async fn cluster_nodes(port: u16) -> Vec<NodeLine> {
    let url = format!("redis://127.0.0.1:{port}");
    let mut con = redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let text: String = redis::cmd("CLUSTER")
        .arg("NODES")
        .query_async(&mut con)
        .await
        .unwrap();
    text.lines()
        .map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            let address = fields[1].split('@').next().unwrap();
            let port = address.rsplit(':').next().unwrap().parse().unwrap();
            let slots = fields[8..]
                .iter()
                .filter(|s| !s.starts_with('['))
                .map(|s| match s.split_once('-') {
                    Some((a, b)) => (a.parse().unwrap(), b.parse().unwrap()),
                    None => (s.parse().unwrap(), s.parse().unwrap()),
                })
                .collect();
            NodeLine {
                id: fields[0].to_owned(),
                port,
                primary: fields[2].contains("master"),
                primary_id: fields[3].to_owned(),
                slots,
            }
        })
        .collect()
}

impl NodeLine {
    /// Whether it serves `slot`.
    pub fn serves(&self, slot: u16) -> bool {
        self.slots.iter().any(|(a, b)| (*a..=*b).contains(&slot))
    }
}
