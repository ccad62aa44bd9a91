//! Connections of the store's own to single nodes, for the commands that are
//! about a node rather than a key (`SCAN` of one primary, `CLUSTER SLOTS`).
//!
//! redis-rs's cluster connection keeps a connection only to the nodes of the
//! slot map it last read, and under load it can go on without one to a
//! replica that has just been promoted, even after the cluster has settled
//! and a refresh was asked for: a scan of that primary then finds no
//! connection; and it drops its connection to a primary that has become a
//! replica, so the slot map can no longer be read from the nodes the store
//! knew as primaries. These commands name their node, so they do not need
//! redis-rs's routing: when redis-rs has no connection to the node, the
//! command goes through one of these, opened from the node's address with the
//! configuration's credentials and TLS, and kept for the next command.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::cluster_async::ClusterConnection as Nodes;
use redis::cluster_routing::RoutingInfo;
use redis::{
    AsyncConnectionConfig, Cmd, ConnectionAddr, ConnectionInfo, ErrorKind, RedisResult, Value,
};

use super::{Node, by_address};
use crate::config::Config;

/// How to open a connection to a node, and the connections opened.
pub(super) struct Direct {
    /// A seed's connection settings: the address is replaced by the node's.
    template: ConnectionInfo,
    #[cfg(feature = "tls")]
    certificates: Option<redis::TlsCertificates>,
    config: AsyncConnectionConfig,
    connect_timeout: Duration,
    open: Mutex<HashMap<Node, MultiplexedConnection>>,
}

impl Direct {
    pub(super) fn new(config: &Config) -> Option<Direct> {
        let template = config.nodes().first()?.clone();
        Some(Direct {
            template,
            #[cfg(feature = "tls")]
            certificates: config.tls().map(|tls| tls.certificates()),
            config: AsyncConnectionConfig::new()
                .set_connection_timeout(Some(config.connect_timeout()))
                .set_response_timeout(Some(config.response_timeout())),
            connect_timeout: config.connect_timeout(),
            open: Mutex::new(HashMap::new()),
        })
    }

    /// The seed node the settings were taken from.
    pub(super) fn seed(&self) -> Node {
        let (host, port) = match self.template.addr() {
            ConnectionAddr::Tcp(host, port) | ConnectionAddr::TcpTls { host, port, .. } => {
                (host.clone(), *port)
            }
            _ => (String::new(), 0),
        };
        Node { host, port }
    }

    /// The seed's settings at `node`'s address (TLS kept when the seed has it).
    fn info(&self, node: &Node) -> ConnectionInfo {
        let addr = match self.template.addr() {
            ConnectionAddr::TcpTls { insecure, .. } => ConnectionAddr::TcpTls {
                host: node.host.clone(),
                port: node.port,
                insecure: *insecure,
                tls_params: None,
            },
            _ => ConnectionAddr::Tcp(node.host.clone(), node.port),
        };
        self.template.clone().set_addr(addr)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Node, MultiplexedConnection>> {
        // Entries are inserted and removed whole: never torn.
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn connection(&self, node: &Node) -> RedisResult<MultiplexedConnection> {
        if let Some(con) = self.lock().get(node) {
            return Ok(con.clone());
        }
        let info = self.info(node);
        let client = self.client(info)?;
        let connect = client.get_multiplexed_async_connection_with_config(&self.config);
        let con = match tokio::time::timeout(self.connect_timeout, connect).await {
            Ok(con) => con?,
            Err(_) => return Err(super::timed_out("connecting to a cluster node")),
        };
        self.lock().insert(node.clone(), con.clone());
        Ok(con)
    }

    /// A client for the client cache's tracking connection to `node` (in
    /// RESP3), and the settings its connections use.
    pub(super) fn tracking_client(
        &self,
        node: &Node,
    ) -> RedisResult<(redis::Client, AsyncConnectionConfig)> {
        let info = self.info(node);
        let settings = info
            .redis_settings()
            .clone()
            .set_protocol(redis::ProtocolVersion::RESP3);
        let client = self.client(info.set_redis_settings(settings))?;
        Ok((client, self.config.clone()))
    }

    fn client(&self, info: ConnectionInfo) -> RedisResult<redis::Client> {
        #[cfg(feature = "tls")]
        if let Some(certificates) = &self.certificates {
            return redis::Client::build_with_tls(info, certificates.clone());
        }
        redis::Client::open(info)
    }

    /// A new connection to `node` that nothing else uses (not kept here),
    /// within the connect timeout.
    pub(super) async fn open_exclusive(&self, node: &Node) -> RedisResult<MultiplexedConnection> {
        let client = self.client(self.info(node))?;
        let connect = client.get_multiplexed_async_connection_with_config(&self.config);
        match tokio::time::timeout(self.connect_timeout, connect).await {
            Ok(con) => con,
            Err(_) => Err(super::timed_out("connecting to a cluster node")),
        }
    }

    /// A new pub/sub connection to `node`, within the connect timeout.
    pub(super) async fn open_pubsub(&self, node: &Node) -> RedisResult<redis::aio::PubSub> {
        let client = self.client(self.info(node))?;
        match tokio::time::timeout(self.connect_timeout, client.get_async_pubsub()).await {
            Ok(pubsub) => pubsub,
            Err(_) => Err(super::timed_out("connecting for a subscription")),
        }
    }

    /// Sends `cmd` to `node` on a connection of its own; a connection that
    /// fails is dropped, so the next command opens a new one.
    pub(super) async fn send(&self, node: &Node, cmd: &Cmd) -> RedisResult<Value> {
        let mut con = self.connection(node).await?;
        let reply = con.send_packed_command(cmd).await;
        if let Err(err) = &reply
            && (err.is_io_error() || err.is_connection_dropped() || err.is_timeout())
        {
            self.lock().remove(node);
        }
        reply
    }
}

/// Sends `cmd` to `node` through redis-rs's connection to it, or through a
/// connection of the store's own when redis-rs has none.
pub(super) async fn to_node(
    nodes: &Nodes,
    direct: Option<&Direct>,
    node: &Node,
    cmd: &Cmd,
) -> RedisResult<Value> {
    let mut nodes = nodes.clone();
    let routing = RoutingInfo::SingleNode(by_address(node));
    match nodes.route_command(cmd.clone(), routing).await {
        Err(err) if err.kind() == ErrorKind::ClusterConnectionNotFound => match direct {
            Some(direct) => direct.send(node, cmd).await,
            None => Err(err),
        },
        other => other,
    }
}
