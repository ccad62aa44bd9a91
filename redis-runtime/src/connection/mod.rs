//! The [`Store`](crate::Store)'s connection: to one server ([`server`]) or to
//! a Redis Cluster ([`cluster`]), behind one handle, so that every operation
//! is written once and runs on both.

use std::time::Duration;

use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::{AsyncConnectionConfig, Cmd, Pipeline, RedisError, RedisFuture, Value};

use crate::config::Config;

mod cluster;
mod server;

use cluster::ClusterLink;
pub(crate) use cluster::tracking::{ClusterTracking, Send as TrackedSend};
pub(crate) use cluster::{ClusterConnection, Node};
use server::ServerLink;
pub(crate) use server::Tracking;

use crate::client_cache::ClientCache;

/// A cheap-to-clone handle on the store's connection.
#[derive(Clone)]
pub(crate) enum Link {
    Server(ServerLink),
    Cluster(ClusterLink),
}

/// A connection handed to one call, with its generation for [`Link::report`].
pub(crate) struct Lease {
    pub(crate) connection: Connection,
    pub(crate) generation: Generation,
}

/// Which connection a [`Lease`] was: what [`Link::report`] needs once the
/// connection itself has been handed to the command.
#[derive(Clone, Copy)]
pub(crate) struct Generation(u64);

impl Generation {
    /// Its number (the client cache's tracking connections are told apart by it).
    pub(crate) fn number(self) -> u64 {
        self.0
    }
}

/// The connection one command or pipeline is sent on.
#[derive(Clone)]
pub(crate) enum Connection {
    Server(MultiplexedConnection),
    Cluster(ClusterConnection),
    /// The server connection, for an operation on a client-cached model:
    /// once a reply arrives, every key its commands name is dropped from
    /// the cache, so the operation returns only after that.
    Invalidating(MultiplexedConnection, std::sync::Arc<ClientCache>),
}

/// A client for one server at `info`, with `config`'s TLS, and the
/// connection settings its connections use (the configured timeouts).
fn server_client(
    config: &Config,
    info: redis::ConnectionInfo,
) -> Result<(redis::Client, AsyncConnectionConfig), RedisError> {
    let client = match config.tls() {
        #[cfg(feature = "tls")]
        Some(tls) => redis::Client::build_with_tls(info, tls.certificates())?,
        _ => redis::Client::open(info)?,
    };
    let connection_config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(config.connect_timeout()))
        .set_response_timeout(Some(config.response_timeout()));
    Ok((client, connection_config))
}

impl Link {
    /// A link for `config` that connects on first use.
    pub(crate) fn new(config: &Config) -> Result<Link, RedisError> {
        if config.is_cluster() {
            return ClusterLink::new(config).map(Link::Cluster);
        }
        let (client, connection_config) = server_client(config, config.connection_info().clone())?;
        Ok(Link::Server(ServerLink::new(
            client,
            connection_config,
            config.connect_timeout(),
        )))
    }

    /// The connection, within the connect timeout; an error means nothing
    /// was sent.
    pub(crate) async fn get(&self) -> Result<Lease, RedisError> {
        match self {
            Link::Server(link) => link.get().await,
            Link::Cluster(link) => link.get().await,
        }
    }

    /// Tells the link that a command on the connection of `generation`
    /// failed with `err`, so that a dropped connection is replaced. (A
    /// cluster connection replaces its node connections itself.)
    pub(crate) fn report(&self, generation: Generation, err: &RedisError) {
        if let Link::Server(link) = self {
            link.report(generation, err);
        }
    }

    /// Whether this is a Redis Cluster.
    pub(crate) fn is_cluster(&self) -> bool {
        matches!(self, Link::Cluster(_))
    }

    /// The client cache's tracking connections for a store on this link: in
    /// RESP3, set up and watched by `tracking`; to the server of `config`,
    /// or on a cluster one per node read from.
    pub(crate) fn tracking(
        &self,
        config: &Config,
        tracking: std::sync::Arc<dyn Tracking>,
    ) -> Result<TrackingLinks, RedisError> {
        if let Link::Cluster(cluster) = self {
            return Ok(TrackingLinks::Cluster(ClusterTracking::new(
                cluster.clone(),
                tracking,
                config.response_timeout(),
            )));
        }
        let mut info = config.connection_info().clone();
        let settings = info
            .redis_settings()
            .clone()
            .set_protocol(redis::ProtocolVersion::RESP3);
        info = info.set_redis_settings(settings);
        let (client, connection_config) = server_client(config, info)?;
        Ok(TrackingLinks::Server(Link::Server(ServerLink::tracking(
            client,
            connection_config,
            config.connect_timeout(),
            tracking,
            0,
        ))))
    }
}

/// The client cache's tracking connections (see [`crate::client_cache`]).
pub(crate) enum TrackingLinks {
    /// The one connection to the server.
    Server(Link),
    /// One connection per node of the cluster read from.
    Cluster(ClusterTracking),
}

impl Link {
    /// A new pub/sub connection; on a cluster to the node serving `slot`
    /// (any node would do for classic pub/sub).
    pub(crate) async fn open_pubsub(&self, slot: u16) -> Result<redis::aio::PubSub, RedisError> {
        match self {
            Link::Server(link) => link.open_pubsub().await,
            Link::Cluster(link) => link.open_pubsub(slot).await,
        }
    }
}

/// Why a command sent by [`Link::send_exclusive`] failed: before it was
/// sent (no connection), or after.
pub(crate) enum ExclusiveFailure {
    Connect(RedisError),
    Command(RedisError),
}

/// The most `MOVED` redirections a blocking command follows.
const MAX_MOVES: usize = 3;

impl Link {
    /// Sends one blocking command on `key` (`BLPOP`, `BLMOVE`...) on a new
    /// connection of its own, closed afterwards, waiting `reply_within` for
    /// the reply.
    ///
    /// A blocked client holds up everything queued behind it on its
    /// connection, so a blocking command on the shared multiplexed
    /// connection would stall every other call of the store for as long as
    /// it blocks (a push meant to wake it included). Dropping the future
    /// closes the connection, which ends the block on the server.
    ///
    /// On a cluster the connection goes to the primary of the key's slot; a
    /// `MOVED` (nothing ran) is followed on a new connection to the node
    /// named, up to [`MAX_MOVES`] times. Never sent twice otherwise.
    pub(crate) async fn send_exclusive<T: redis::FromRedisValue>(
        &self,
        key: &[u8],
        cmd: &Cmd,
        reply_within: Duration,
    ) -> Result<T, ExclusiveFailure> {
        let mut node: Option<Node> = None;
        let mut moves = 0;
        loop {
            let connection = match self {
                Link::Server(link) => link.open_exclusive().await,
                Link::Cluster(link) => link.open_exclusive(node.as_ref(), key).await,
            };
            let mut connection = connection.map_err(ExclusiveFailure::Connect)?;
            connection.set_response_timeout(reply_within);
            match cmd.query_async::<T>(&mut connection).await {
                Err(err) if moves < MAX_MOVES && self.is_cluster() => {
                    match ClusterLink::moved_to(&err) {
                        Some(to) => {
                            moves += 1;
                            node = Some(to);
                        }
                        None => return Err(ExclusiveFailure::Command(err)),
                    }
                }
                other => return other.map_err(ExclusiveFailure::Command),
            }
        }
    }
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Connection::Server(con) => con.req_packed_command(cmd),
            Connection::Cluster(con) => con.req_packed_command(cmd),
            Connection::Invalidating(con, cache) => Box::pin(async move {
                let reply = con.req_packed_command(cmd).await;
                cache.invalidate_cmd(cmd);
                reply
            }),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Connection::Server(con) => con.req_packed_commands(cmd, offset, count),
            Connection::Cluster(con) => con.req_packed_commands(cmd, offset, count),
            Connection::Invalidating(con, cache) => Box::pin(async move {
                let replies = con.req_packed_commands(cmd, offset, count).await;
                for cmd in cmd.cmd_iter() {
                    cache.invalidate_cmd(cmd);
                }
                replies
            }),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Connection::Server(con) | Connection::Invalidating(con, _) => con.get_db(),
            Connection::Cluster(_) => 0,
        }
    }
}

/// A command's argument, when it is bytes (every argument the store sends).
pub(crate) fn simple_arg(arg: redis::Arg<&[u8]>) -> Option<&[u8]> {
    match arg {
        redis::Arg::Simple(bytes) => Some(bytes),
        _ => None,
    }
}

/// An I/O error saying that `what` did not finish in time (what redis-rs's
/// own timeouts report too, so one classifier reads both).
fn timed_out(what: &'static str) -> RedisError {
    std::io::Error::new(std::io::ErrorKind::TimedOut, what).into()
}

/// The shortest wait before an operation the cluster refused for now
/// (`TRYAGAIN`, `CLUSTERDOWN`, a node being replaced) is sent again; it
/// doubles up to [`MAX_WAIT`].
const FIRST_WAIT: Duration = Duration::from_millis(10);
/// The longest such wait.
const MAX_WAIT: Duration = Duration::from_millis(200);
