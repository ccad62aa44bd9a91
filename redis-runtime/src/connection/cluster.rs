//! The connection to a Redis Cluster: redis-rs's async cluster connection,
//! which keeps one multiplexed connection per node, routes each command by
//! its key's hash slot and refreshes the slot map when it changes.
//!
//! redis-rs would also re-send a command whose connection dropped under it,
//! whatever the command: an `incr` could be applied twice. So its own
//! retries are off, and this module re-sends only what the cluster refused
//! without running it:
//!
//! - `MOVED` (the slot lives elsewhere now): sent to the node named;
//! - `ASK` (the slot is migrating and the key has moved): a single command,
//!   or a transaction on one key, is sent to the node named after `ASKING`;
//!   a pipeline of reads is sent again command by command, each following
//!   its own redirection; any other pipeline waits for the migration to end
//!   and is sent again by slot;
//! - `TRYAGAIN`, `CLUSTERDOWN`, `MASTERDOWN`, `LOADING`, `READONLY` (a
//!   failover or migration under way), a node with no connection yet, a
//!   refused connection: sent again by slot after a short wait.
//!
//! All within the response timeout from the first send; a redirection still
//! unfinished then is reported as what it is (the slot's node unreachable,
//! or the slot still migrating), never as a raw `MOVED`. A connection that
//! drops after the command was sent is the caller's to judge (the store
//! re-sends only idempotent operations).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use redis::aio::ConnectionLike;
use redis::cluster::{ClusterClient, ClusterClientBuilder};
use redis::cluster_async::ClusterConnection as Nodes;
use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
use redis::{
    Cmd, ErrorKind, Pipeline, RedisError, RedisFuture, RedisResult, ServerErrorKind, Value,
};
use tokio::time::Instant;

use super::{Connection, FIRST_WAIT, Generation, Lease, MAX_WAIT, timed_out};
use crate::config::Config;
use crate::observe::{self, ConnectionEvent};

mod direct;
mod topology;
pub(crate) mod tracking;

use direct::Direct;

use topology::{Topology, read_map, read_map_agreed};

/// The most redirections one command follows.
const MAX_REDIRECTS: usize = 16;

/// One attempt at the first connection to the cluster.
type Attempt = Shared<BoxFuture<'static, Result<Nodes, RedisError>>>;

/// A cheap-to-clone handle on the cluster connection.
#[derive(Clone)]
pub(crate) struct ClusterLink {
    inner: Arc<Inner>,
}

struct Inner {
    client: ClusterClient,
    connect_timeout: Duration,
    response_timeout: Duration,
    state: Mutex<State>,
    topology: Arc<Topology>,
    direct: Option<Arc<Direct>>,
    /// Whether a connection was ever made (for the connection metrics).
    connected_once: AtomicBool,
}

/// Once made, the cluster connection repairs itself (it reconnects to nodes
/// and, when none answers, to the seeds); only the first connection is
/// attempted here.
enum State {
    Up(Nodes),
    Connecting(Attempt),
    Down,
}

impl ClusterLink {
    pub(super) fn new(config: &Config) -> Result<ClusterLink, RedisError> {
        // redis-rs connects to every node it knows at once and waits for
        // each, so one node that accepts connections but never answers (a
        // stopped process) holds up the whole attempt for a node's
        // connection timeout: half the connect timeout leaves the other
        // half for reading the slot map.
        let builder = ClusterClientBuilder::new(config.nodes().iter().cloned())
            .connection_timeout(config.connect_timeout() / 2)
            .response_timeout(config.response_timeout())
            .retries(0);
        #[cfg(feature = "tls")]
        let builder = match config.tls() {
            Some(tls) => builder.certs(tls.certificates()),
            None => builder,
        };
        let client = builder.build()?;
        Ok(ClusterLink {
            inner: Arc::new(Inner {
                client,
                connect_timeout: config.connect_timeout(),
                response_timeout: config.response_timeout(),
                state: Mutex::new(State::Down),
                topology: Arc::new(Topology::default()),
                direct: Direct::new(config).map(Arc::new),
                connected_once: AtomicBool::new(false),
            }),
        })
    }

    /// The cluster connection, or the outcome of one attempt to make it
    /// (bounded by the connect timeout).
    pub(super) async fn get(&self) -> Result<Lease, RedisError> {
        let attempt = {
            let mut state = self.inner.lock();
            match &*state {
                State::Up(nodes) if !self.inner.topology.take_stale() => {
                    return Ok(self.lease(nodes.clone()));
                }
                State::Connecting(attempt) => attempt.clone(),
                State::Up(_) | State::Down => {
                    let attempt = Inner::start(&self.inner);
                    *state = State::Connecting(attempt.clone());
                    attempt
                }
            }
        };
        attempt.await.map(|nodes| self.lease(nodes))
    }

    /// A new connection that nothing else uses, to `node`, or to the primary
    /// serving `key`'s slot as the slot map last seen has it, for one
    /// blocking command (see [`super::Link::send_exclusive`]).
    pub(super) async fn open_exclusive(
        &self,
        node: Option<&Node>,
        key: &[u8],
    ) -> Result<redis::aio::MultiplexedConnection, RedisError> {
        // Connected, so the slot map has been read.
        self.get().await?;
        let not_found =
            |what: &'static str| RedisError::from((ErrorKind::ClusterConnectionNotFound, what));
        let node = match node {
            Some(node) => node.clone(),
            None => self
                .inner
                .topology
                .node_for(crate::key::hash_slot(key))
                .ok_or_else(|| not_found("no node serves the key's slot"))?,
        };
        let direct = self
            .inner
            .direct
            .as_deref()
            .ok_or_else(|| not_found("no seed node to connect like"))?;
        direct.open_exclusive(&node).await
    }

    /// A new pub/sub connection to a node of the cluster: the primary of
    /// `slot` as last seen, or the first seed. Classic (not sharded) pub/sub
    /// messages reach every node, so any node serves a subscription.
    pub(super) async fn open_pubsub(&self, slot: u16) -> Result<redis::aio::PubSub, RedisError> {
        let not_found =
            |what: &'static str| RedisError::from((ErrorKind::ClusterConnectionNotFound, what));
        let direct = self
            .inner
            .direct
            .as_deref()
            .ok_or_else(|| not_found("no seed node to connect like"))?;
        if self.get().await.is_ok()
            && let Some(node) = self.inner.topology.node_for(slot)
            && let Ok(pubsub) = direct.open_pubsub(&node).await
        {
            return Ok(pubsub);
        }
        direct.open_pubsub(&direct.seed()).await
    }

    /// The primary serving `slot` in the slot map last seen (none before
    /// the first connection).
    pub(crate) fn node_for(&self, slot: u16) -> Option<Node> {
        self.inner.topology.node_for(slot)
    }

    /// The primaries of the slot map last seen.
    pub(crate) fn known_primaries(&self) -> Vec<Node> {
        self.inner.topology.primaries()
    }

    /// How to open connections of the store's own to single nodes.
    fn direct(&self) -> Option<&Direct> {
        self.inner.direct.as_deref()
    }

    /// The connect timeout.
    fn connect_timeout(&self) -> Duration {
        self.inner.connect_timeout
    }

    /// The node a `MOVED` reply names.
    pub(super) fn moved_to(err: &RedisError) -> Option<Node> {
        if err.kind() != ErrorKind::Server(ServerErrorKind::Moved) {
            return None;
        }
        let (address, _slot) = err.redirect_node()?;
        let (host, port) = address.rsplit_once(':')?;
        Some(Node {
            host: host.to_owned(),
            port: port.parse().ok()?,
        })
    }

    fn lease(&self, nodes: Nodes) -> Lease {
        Lease {
            connection: Connection::Cluster(ClusterConnection {
                nodes,
                budget: self.inner.response_timeout,
                topology: self.inner.topology.clone(),
                direct: self.inner.direct.clone(),
                invalidate: None,
            }),
            generation: Generation(0),
        }
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is replaced whole under the lock, so it is never torn.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Starts one attempt on the runtime, so that it completes even when
    /// every caller waiting for it gives up; its outcome becomes the state.
    /// The slot map is read once connected, to tell later whether it changed.
    fn start(inner: &Arc<Inner>) -> Attempt {
        let weak = Arc::downgrade(inner);
        let client = inner.client.clone();
        let connect_timeout = inner.connect_timeout;
        let topology = inner.topology.clone();
        let attempt = async move {
            let connect = async {
                let nodes = client.get_async_connection().await?;
                let map = read_map(&nodes, None, &[], connect_timeout).await?;
                topology.seen(map);
                Ok(nodes)
            };
            let result = match tokio::time::timeout(connect_timeout, connect).await {
                Ok(result) => result,
                Err(_) => Err(timed_out("connecting to the cluster")),
            };
            if let Some(inner) = weak.upgrade() {
                *inner.lock() = match &result {
                    Ok(nodes) => State::Up(nodes.clone()),
                    Err(_) => State::Down,
                };
                observe::connection(
                    observe::Topology::Cluster,
                    match &result {
                        Ok(_) if inner.connected_once.swap(true, Ordering::Relaxed) => {
                            ConnectionEvent::Reconnected
                        }
                        Ok(_) => ConnectionEvent::Connected,
                        Err(_) => ConnectionEvent::ConnectFailed,
                    },
                );
            }
            result
        }
        .boxed()
        .shared();
        tokio::spawn(attempt.clone());
        attempt
    }
}

/// A node of the cluster, by the address it announces.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Node {
    pub(crate) host: String,
    pub(crate) port: u16,
}

/// The cluster connection one call uses: redis-rs's, with the redirections
/// this module follows itself.
#[derive(Clone)]
pub(crate) struct ClusterConnection {
    nodes: Nodes,
    /// How long one command may take, redirections included.
    budget: Duration,
    topology: Arc<Topology>,
    /// Node connections of the store's own, for [`ClusterConnection::on_node`].
    direct: Option<Arc<Direct>>,
    /// The client cache, for an operation of a store that caches: once a
    /// reply arrives, every key its commands name is dropped from the
    /// cache, so the operation returns only after that.
    pub(crate) invalidate: Option<Arc<crate::client_cache::ClientCache>>,
}

/// What to do after an error.
enum Step {
    /// Report it.
    Fail,
    /// Send to this node.
    Moved(Node),
    /// Send to this node after `ASKING`.
    Ask(Node),
    /// Wait, then send by slot again.
    Wait,
}

fn step(err: &RedisError) -> Step {
    // A transaction the cluster refused a command of comes back as
    // `EXECABORT`; what to do is what that command's refusal says (nothing
    // of the transaction ran).
    if let Some(cause) = abort_cause(err) {
        return step_for(&cause);
    }
    step_for(err)
}

/// The refusal that aborted a transaction (`EXECABORT`), if `err` is one.
fn abort_cause(err: &RedisError) -> Option<RedisError> {
    if err.kind() != ErrorKind::Server(ServerErrorKind::ExecAbort) {
        return None;
    }
    let errors = err.clone().into_server_errors()?;
    let (_, cause) = errors.iter().find(|(_, e)| e.code() != "EXECABORT")?;
    Some(RedisError::from(cause.clone()))
}

fn step_for(err: &RedisError) -> Step {
    let node = || {
        let (address, _slot) = err.redirect_node()?;
        let (host, port) = address.rsplit_once(':')?;
        Some(Node {
            host: host.to_owned(),
            port: port.parse().ok()?,
        })
    };
    match err.kind() {
        ErrorKind::Server(ServerErrorKind::Moved) => node().map_or(Step::Wait, Step::Moved),
        ErrorKind::Server(ServerErrorKind::Ask) => node().map_or(Step::Wait, Step::Ask),
        ErrorKind::Server(
            ServerErrorKind::TryAgain
            | ServerErrorKind::ClusterDown
            | ServerErrorKind::MasterDown
            | ServerErrorKind::BusyLoading
            | ServerErrorKind::ReadOnly,
        )
        | ErrorKind::ClusterConnectionNotFound => Step::Wait,
        _ if err.is_connection_refusal() => Step::Wait,
        _ => Step::Fail,
    }
}

/// How a command or pipeline can follow an `ASK`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum OnAsk {
    /// Sent to the node named after `ASKING` (a single command, or a
    /// transaction on one key: `ASKING` holds for a whole `MULTI`).
    Asking,
    /// Given back to the caller, which sends the commands one by one.
    GiveBack,
    /// Waited out: sent again by slot until the migration ends.
    Wait,
}

/// What a redirection unfinished when the budget ran out says: the slot's
/// node unreachable (`MOVED` to a node without a connection), or the slot
/// still migrating (`ASK`, `TRYAGAIN`). Never applied.
fn unfinished(err: RedisError) -> RedisError {
    let cause = abort_cause(&err).unwrap_or_else(|| err.clone());
    let detail = cause.detail().unwrap_or_default().to_owned();
    match cause.kind() {
        ErrorKind::Server(ServerErrorKind::Moved) => RedisError::from((
            ErrorKind::ClusterConnectionNotFound,
            "the node serving the key's slot could not be reached in time",
            detail,
        )),
        ErrorKind::Server(ServerErrorKind::Ask) => RedisError::from((
            ErrorKind::Server(ServerErrorKind::TryAgain),
            "the key's slot was still migrating",
            detail,
        )),
        _ => err,
    }
}

/// Follows redirections and waits out transient refusals for one command or
/// pipeline, until `deadline`: `send(None)` sends by slot, `send(Some((node,
/// asking)))` to a node, after `ASKING` when `asking`. `first` is the error
/// of the first attempt, which the caller made itself (by slot, bounded by
/// redis-rs's response timeout: the common case costs no timer and no box).
async fn redirected<'a, T>(
    deadline: Instant,
    on_ask: OnAsk,
    first: RedisError,
    send: impl Fn(Option<(Node, bool)>) -> BoxFuture<'a, RedisResult<T>>,
) -> RedisResult<T> {
    let mut target: Option<(Node, bool)> = None;
    let mut wait = FIRST_WAIT;
    let mut redirects = 0;
    let mut first = Some(first);
    loop {
        let err = match first.take() {
            Some(err) => err,
            None => match tokio::time::timeout_at(deadline, send(target.take())).await {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(err)) => err,
                Err(_) => return Err(timed_out("the cluster did not answer in time")),
            },
        };
        redirects += 1;
        if redirects > MAX_REDIRECTS {
            return Err(unfinished(err));
        }
        target = match step(&err) {
            Step::Fail => return Err(err),
            Step::Moved(node) => Some((node, false)),
            Step::Ask(node) if on_ask == OnAsk::Asking => Some((node, true)),
            Step::Ask(_) if on_ask == OnAsk::GiveBack => return Err(err),
            Step::Ask(_) | Step::Wait => {
                if Instant::now() + wait >= deadline {
                    return Err(unfinished(err));
                }
                tracing::debug!(error = %err, ?wait, "the cluster refused for now; sending again");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(MAX_WAIT);
                None
            }
        };
    }
}

fn by_address(node: &Node) -> SingleNodeRoutingInfo {
    SingleNodeRoutingInfo::ByAddress {
        host: node.host.clone(),
        port: node.port,
    }
}

/// A command's arguments, its name first.
fn args(cmd: &Cmd) -> Vec<&[u8]> {
    cmd.args_iter()
        .filter_map(|arg| match arg {
            redis::Arg::Simple(bytes) => Some(bytes),
            _ => None,
        })
        .collect()
}

/// Commands that read one or more keys and write nothing: safe to send
/// again one by one.
const READS: &[&[u8]] = &[
    b"GET", b"MGET", b"HGET", b"HGETALL", b"HMGET", b"EXISTS", b"PTTL", b"TTL", b"TYPE",
];

/// Commands with exactly one key, their first argument (with `DEL`, when it
/// has one argument).
const ONE_KEY: &[&[u8]] = &[
    b"DEL", b"SET", b"GET", b"HSET", b"HDEL", b"HGET", b"HGETALL", b"HINCRBY", b"PEXPIRE",
    b"EXPIRE", b"PERSIST", b"PTTL", b"EXISTS",
];

fn is_read(cmd: &Cmd) -> bool {
    args(cmd)
        .first()
        .is_some_and(|name| READS.iter().any(|r| name.eq_ignore_ascii_case(r)))
}

/// The one key every command of a transaction touches, if there is one.
fn one_key(pipeline: &Pipeline) -> Option<Vec<u8>> {
    let mut key: Option<&[u8]> = None;
    for cmd in pipeline.cmd_iter() {
        let args = args(cmd);
        let name = args.first()?;
        if !ONE_KEY.iter().any(|c| name.eq_ignore_ascii_case(c)) {
            return None;
        }
        if name.eq_ignore_ascii_case(b"DEL") && args.len() != 2 {
            return None;
        }
        let this = *args.get(1)?;
        if key.is_some_and(|k| k != this) {
            return None;
        }
        key = Some(this);
    }
    key.map(<[u8]>::to_vec)
}

impl ClusterConnection {
    /// The primaries (the first node of every slot range), each once, from
    /// `CLUSTER SLOTS` as most primaries answer it now.
    pub(crate) async fn primaries(&mut self) -> RedisResult<Vec<Node>> {
        let known = self.topology.primaries();
        let map = read_map_agreed(&self.nodes, self.direct.as_deref(), &known, self.budget).await?;
        self.topology.agreed(&self.nodes, &map);
        let mut primaries: Vec<Node> = map.into_iter().map(|(_, _, node)| node).collect();
        primaries.sort();
        primaries.dedup();
        Ok(primaries)
    }

    /// Sends `cmd` to `node` (for commands about a node rather than a key,
    /// such as `SCAN`), within the response timeout. When redis-rs has no
    /// connection to the node (a replica just promoted), the command goes
    /// through a connection of the store's own to it (see [`direct`]).
    pub(crate) async fn on_node(&mut self, node: &Node, cmd: &Cmd) -> RedisResult<Value> {
        let deadline = Instant::now() + self.budget;
        let send = |_| direct::to_node(&self.nodes, self.direct.as_deref(), node, cmd).boxed();
        let first = match tokio::time::timeout_at(deadline, send(None)).await {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(err)) => err,
            Err(_) => return Err(timed_out("the cluster node did not answer in time")),
        };
        redirected(deadline, OnAsk::Wait, first, send).await
    }

    /// Drops every key `pipeline` names from the client cache, if any.
    fn invalidate_pipeline(&self, pipeline: &Pipeline) {
        if let Some(cache) = &self.invalidate {
            for cmd in pipeline.cmd_iter() {
                cache.invalidate_cmd(cmd);
            }
        }
    }

    fn failed(&self, err: &RedisError) {
        self.topology
            .after_failure(&self.nodes, self.direct.clone(), err, self.budget);
    }

    /// Sends the commands of a pipeline of reads one by one (each following
    /// its own redirection), for a slot whose keys are part migrated.
    async fn one_by_one(
        &self,
        pipeline: &Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisResult<Vec<Value>> {
        let sends = pipeline.cmd_iter().map(|cmd| {
            let mut con = self.clone();
            async move { con.req_packed_command(cmd).await }
        });
        let replies = futures_util::future::try_join_all(sends).await?;
        Ok(replies.into_iter().skip(offset).take(count).collect())
    }
}

impl ConnectionLike for ClusterConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        async move {
            let deadline = Instant::now() + self.budget;
            let first = match self.nodes.req_packed_command(cmd).await {
                Ok(value) => {
                    if let Some(cache) = &self.invalidate {
                        cache.invalidate_cmd(cmd);
                    }
                    return Ok(value);
                }
                Err(err) => err,
            };
            let this = &*self;
            let nodes = &self.nodes;
            let sent = redirected(deadline, OnAsk::Asking, first, move |target| {
                let mut nodes = nodes.clone();
                async move {
                    match target {
                        None => nodes.req_packed_command(cmd).await,
                        Some((node, false)) => {
                            let routing = RoutingInfo::SingleNode(by_address(&node));
                            nodes.route_command(cmd.clone(), routing).await
                        }
                        Some((node, true)) => {
                            let mut asking = redis::pipe();
                            asking.cmd("ASKING").add_command(cmd.clone());
                            let mut replies = nodes
                                .route_pipeline(asking, 1, 1, by_address(&node))
                                .await?;
                            replies.pop().unwrap_or(Value::Nil).extract_error()
                        }
                    }
                }
                .boxed()
            })
            .await
            .inspect_err(|err| this.failed(err));
            if let Some(cache) = &self.invalidate {
                cache.invalidate_cmd(cmd);
            }
            sent
        }
        .boxed()
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        async move {
            let deadline = Instant::now() + self.budget;
            let first = match self
                .nodes
                .req_packed_commands(pipeline, offset, count)
                .await
            {
                Ok(values) => {
                    self.invalidate_pipeline(pipeline);
                    return Ok(values);
                }
                Err(err) => err,
            };
            // Only now, off the common path: how this pipeline can follow an ASK.
            let reads = !pipeline.is_transaction() && pipeline.cmd_iter().all(is_read);
            let on_ask = if reads {
                OnAsk::GiveBack
            } else if pipeline.is_transaction() && one_key(pipeline).is_some() {
                OnAsk::Asking
            } else {
                OnAsk::Wait
            };
            let this = &*self;
            let nodes = &self.nodes;
            let sent = redirected(deadline, on_ask, first, move |target| {
                let mut nodes = nodes.clone();
                async move {
                    match target {
                        None => nodes.req_packed_commands(pipeline, offset, count).await,
                        Some((node, false)) => {
                            let route = by_address(&node);
                            nodes
                                .route_pipeline(pipeline.clone(), offset, count, route)
                                .await
                        }
                        Some((node, true)) => {
                            // `ASKING; MULTI; ...; EXEC`, sent as they are:
                            // ASKING holds until the transaction ends.
                            let mut asking = redis::pipe();
                            asking.cmd("ASKING").cmd("MULTI");
                            for cmd in pipeline.cmd_iter() {
                                asking.add_command(cmd.clone());
                            }
                            asking.cmd("EXEC");
                            let route = by_address(&node);
                            nodes.route_pipeline(asking, offset + 1, count, route).await
                        }
                    }
                }
                .boxed()
            })
            .await;
            let sent = match sent {
                Err(err) if reads && matches!(step(&err), Step::Ask(_)) => {
                    this.one_by_one(pipeline, offset, count).await
                }
                other => other,
            };
            this.invalidate_pipeline(pipeline);
            sent.inspect_err(|err| this.failed(err))
        }
        .boxed()
    }

    fn get_db(&self) -> i64 {
        0
    }
}
