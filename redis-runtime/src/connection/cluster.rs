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
//! - `ASK` (the slot is migrating and the key has moved): a single command is
//!   sent to the node named, after `ASKING`; a pipeline waits for the
//!   migration to finish and is sent again by slot;
//! - `TRYAGAIN`, `CLUSTERDOWN`, `MASTERDOWN`, `LOADING`, `READONLY` (a
//!   failover or migration under way), a node with no connection yet, a
//!   refused connection: sent again by slot after a short wait.
//!
//! All within the response timeout from the first send. A connection that
//! drops after the command was sent is the caller's to judge (the store
//! re-sends only idempotent operations).

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
    refresh: Arc<Refresh>,
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
                refresh: Arc::new(Refresh::default()),
            }),
        })
    }

    /// The cluster connection, or the outcome of one attempt to make it
    /// (bounded by the connect timeout).
    pub(super) async fn get(&self) -> Result<Lease, RedisError> {
        let attempt = {
            let mut state = self.inner.lock();
            match &*state {
                State::Up(nodes) => return Ok(self.lease(nodes.clone())),
                State::Connecting(attempt) => attempt.clone(),
                State::Down => {
                    let attempt = Inner::start(&self.inner);
                    *state = State::Connecting(attempt.clone());
                    attempt
                }
            }
        };
        attempt.await.map(|nodes| self.lease(nodes))
    }

    fn lease(&self, nodes: Nodes) -> Lease {
        Lease {
            connection: Connection::Cluster(ClusterConnection {
                nodes,
                budget: self.inner.response_timeout,
                refresh: self.inner.refresh.clone(),
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
    fn start(inner: &Arc<Inner>) -> Attempt {
        let weak = Arc::downgrade(inner);
        let client = inner.client.clone();
        let connect_timeout = inner.connect_timeout;
        let attempt = async move {
            let result =
                match tokio::time::timeout(connect_timeout, client.get_async_connection()).await {
                    Ok(result) => result,
                    Err(_) => Err(timed_out("connecting to the cluster")),
                };
            if let Some(inner) = weak.upgrade() {
                *inner.lock() = match &result {
                    Ok(nodes) => State::Up(nodes.clone()),
                    Err(_) => State::Down,
                };
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
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Node {
    pub(crate) host: String,
    pub(crate) port: u16,
}

impl std::fmt::Display for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// The cluster connection one call uses: redis-rs's, with the redirections
/// this module follows itself.
#[derive(Clone)]
pub(crate) struct ClusterConnection {
    nodes: Nodes,
    /// How long one command may take, redirections included.
    budget: Duration,
    refresh: Arc<Refresh>,
}

/// The least time between the end of one slot-map refresh this module
/// asked for and the start of the next.
const REFRESH_GAP: Duration = Duration::from_millis(500);

/// Asks redis-rs to read the slot map again when a node stops answering.
///
/// redis-rs refreshes its map when a node answers `MOVED`, but a primary that
/// hangs (stopped, or cut off by a partition) answers nothing: each command
/// to it times out, and without a refresh every later command of its slots
/// would go to it too, also after a replica has taken over. redis-rs offers
/// no call for a refresh; a command routed to an address that is no node
/// fails at once without being sent, and makes it rebuild the map.
///
/// A refresh holds up every command until it ends, and with a hung node it
/// takes up to the connect timeout; so one runs at a time, and the next one
/// waits [`REFRESH_GAP`] after it, for commands queued meanwhile to go out.
#[derive(Default)]
struct Refresh {
    state: Mutex<RefreshState>,
}

#[derive(Default)]
struct RefreshState {
    running: bool,
    ended: Option<Instant>,
}

impl Refresh {
    fn after_failure(self: &Arc<Self>, nodes: &Nodes, err: &RedisError) {
        if !(err.is_timeout() || err.is_io_error() || err.is_connection_dropped()) {
            return;
        }
        {
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            if state.running || state.ended.is_some_and(|at| at.elapsed() < REFRESH_GAP) {
                return;
            }
            state.running = true;
        }
        tracing::debug!(error = %err, "a cluster node failed; refreshing the slot map");
        let mut nodes = nodes.clone();
        let this = self.clone();
        tokio::spawn(async move {
            let nowhere = SingleNodeRoutingInfo::ByAddress {
                host: "redis-runtime.invalid".to_owned(),
                port: 0,
            };
            let _ = nodes
                .route_command(redis::cmd("PING"), RoutingInfo::SingleNode(nowhere))
                .await;
            // Queued behind the refresh: done when the refresh is.
            let _ = nodes
                .route_command(
                    redis::cmd("PING"),
                    RoutingInfo::SingleNode(SingleNodeRoutingInfo::Random),
                )
                .await;
            let mut state = this.state.lock().unwrap_or_else(|p| p.into_inner());
            state.running = false;
            state.ended = Some(Instant::now());
        });
    }
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
    if err.kind() == ErrorKind::Server(ServerErrorKind::ExecAbort)
        && let Some(errors) = err.clone().into_server_errors()
        && let Some((_, cause)) = errors.iter().find(|(_, e)| e.code() != "EXECABORT")
    {
        return step_for(&RedisError::from(cause.clone()));
    }
    step_for(err)
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

/// Follows redirections and waits out transient refusals for one command or
/// pipeline, within `budget`: `send(None)` sends by slot, `send(Some((node,
/// asking)))` to a node, after `ASKING` when `asking` (only ever for a
/// single command: for a pipeline, `ASK` means waiting).
async fn redirected<'a, T>(
    budget: Duration,
    single_command: bool,
    send: impl Fn(Option<(Node, bool)>) -> BoxFuture<'a, RedisResult<T>>,
) -> RedisResult<T> {
    let deadline = Instant::now() + budget;
    let mut target: Option<(Node, bool)> = None;
    let mut wait = FIRST_WAIT;
    let mut redirects = 0;
    loop {
        let attempt = send(target.take());
        let err = match tokio::time::timeout_at(deadline, attempt).await {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(err)) => err,
            Err(_) => return Err(timed_out("the cluster did not answer in time")),
        };
        redirects += 1;
        if redirects > MAX_REDIRECTS {
            return Err(err);
        }
        target = match step(&err) {
            Step::Fail => return Err(err),
            Step::Moved(node) => Some((node, false)),
            Step::Ask(node) if single_command => Some((node, true)),
            Step::Ask(_) | Step::Wait => {
                if Instant::now() + wait >= deadline {
                    return Err(err);
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

impl ClusterConnection {
    /// The primaries, from `CLUSTER SLOTS` (the first node of every slot
    /// range), each once.
    pub(crate) async fn primaries(&mut self) -> RedisResult<Vec<Node>> {
        let reply = redis::cmd("CLUSTER")
            .arg("SLOTS")
            .query_async::<Value>(self)
            .await?;
        let invalid = || RedisError::from((ErrorKind::Parse, "unexpected CLUSTER SLOTS reply"));
        let Value::Array(ranges) = reply else {
            return Err(invalid());
        };
        let mut primaries = Vec::new();
        for range in ranges {
            let Value::Array(range) = range else {
                return Err(invalid());
            };
            let Some(Value::Array(primary)) = range.get(2) else {
                return Err(invalid());
            };
            let host = match primary.first() {
                Some(Value::BulkString(host)) => String::from_utf8_lossy(host).into_owned(),
                Some(Value::SimpleString(host)) => host.clone(),
                _ => return Err(invalid()),
            };
            let port = match primary.get(1) {
                Some(Value::Int(port)) => u16::try_from(*port).map_err(|_| invalid())?,
                _ => return Err(invalid()),
            };
            primaries.push(Node { host, port });
        }
        primaries.sort();
        primaries.dedup();
        Ok(primaries)
    }

    /// Sends `cmd` to `node` (for commands about a node rather than a key,
    /// such as `SCAN`), within the response timeout.
    pub(crate) async fn on_node(&mut self, node: &Node, cmd: &Cmd) -> RedisResult<Value> {
        let routing = RoutingInfo::SingleNode(by_address(node));
        match tokio::time::timeout(self.budget, self.nodes.route_command(cmd.clone(), routing))
            .await
        {
            Ok(reply) => reply,
            Err(_) => Err(timed_out("the cluster node did not answer in time")),
        }
    }
}

impl ConnectionLike for ClusterConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        let (nodes, refresh) = (&self.nodes, &self.refresh);
        redirected(self.budget, true, move |target| {
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
        .map(move |result| result.inspect_err(|err| refresh.after_failure(nodes, err)))
        .boxed()
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        let (nodes, refresh) = (&self.nodes, &self.refresh);
        redirected(self.budget, false, move |target| {
            let mut nodes = nodes.clone();
            async move {
                match target {
                    None | Some((_, true)) => {
                        nodes.req_packed_commands(pipeline, offset, count).await
                    }
                    Some((node, false)) => {
                        let route = by_address(&node);
                        nodes
                            .route_pipeline(pipeline.clone(), offset, count, route)
                            .await
                    }
                }
            }
            .boxed()
        })
        .map(move |result| result.inspect_err(|err| refresh.after_failure(nodes, err)))
        .boxed()
    }

    fn get_db(&self) -> i64 {
        0
    }
}
