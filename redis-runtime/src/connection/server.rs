//! The connection to one server: one multiplexed
//! connection shared by every clone, re-established in the background when it
//! drops, with each attempt bounded by the connect timeout.
//!
//! The link runs the connection's driver task itself, so it learns at once
//! when the server closes the connection (a restart, a `CLIENT KILL`), even
//! while no call is using it: it reconnects in the background then, and keeps
//! trying with a bounded backoff while the server is away, so the first call
//! after the server is back finds a live connection. (For `rediss://` the
//! driver is redis-rs's own, and a dropped connection is noticed by the next
//! call that uses it.)
//!
//! redis-rs's `ConnectionManager` does the same job but runs its whole retry
//! schedule (with backoff) inside the call that finds the connection gone, so
//! during an outage every call took seconds whatever the configured timeouts,
//! and a call cannot tell a connection that was never made (nothing sent) from
//! one that broke under its command. Here each call waits for at most one
//! connection attempt, and knows which of the two happened.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, ConnectionAddr, RedisError, RedisResult};

use super::{Connection, Generation, Lease};
use crate::observe::{self, ConnectionEvent, Topology};

/// The first wait before a background attempt is repeated; it doubles up to
/// [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
/// The longest wait between background attempts while the server is away.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// One connection attempt, awaited by every caller that needs the connection
/// while it runs.
type Attempt = Shared<BoxFuture<'static, Result<MultiplexedConnection, RedisError>>>;

/// A cheap-to-clone handle on the connection.
#[derive(Clone)]
pub(crate) struct ServerLink {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    config: AsyncConnectionConfig,
    connect_timeout: Duration,
    state: Mutex<State>,
    /// Whether a probe of a connection that timed out is under way.
    probing: AtomicBool,
    /// Whether a connection was ever made, and since when the last one is
    /// lost (for the connection metrics).
    connected_once: AtomicBool,
    lost_at: Mutex<Option<Instant>>,
    /// For the client cache's tracking connection: what each new connection
    /// is set up with, and who hears of its loss.
    tracking: Option<Arc<dyn Tracking>>,
}

/// What a link for the client cache's tracking connection does beyond
/// connecting (see [`crate::client_cache`]).
pub(crate) trait Tracking: Send + Sync + 'static {
    /// The configuration of the connection of `generation` (its push sender).
    fn config(&self, base: &AsyncConnectionConfig, generation: u64) -> AsyncConnectionConfig;
    /// Sets up the connection of `generation` before any call may use it.
    fn setup(
        &self,
        connection: MultiplexedConnection,
        generation: u64,
    ) -> BoxFuture<'static, RedisResult<()>>;
    /// The connection of `generation` is lost (called for any generation,
    /// possibly more than once).
    fn lost(&self, generation: u64);
    /// On a cluster: a node answered `MOVED` to a read, so slots have moved
    /// since entries were read (see [`super::cluster::tracking`]).
    fn slots_moved(&self);
}

/// Each connection gets a new generation, so that a failure reported by a
/// caller that still held an old connection does not tear down a new one.
enum State {
    Up(MultiplexedConnection, u64),
    Connecting(Attempt, u64),
    Down(u64),
}

impl ServerLink {
    /// A link that connects on first use; `config` carries the response
    /// timeout, and each connection attempt is bounded by `connect_timeout`.
    pub(crate) fn new(
        client: Client,
        config: AsyncConnectionConfig,
        connect_timeout: Duration,
    ) -> ServerLink {
        ServerLink {
            inner: Arc::new(Inner {
                client,
                config,
                connect_timeout,
                state: Mutex::new(State::Down(0)),
                probing: AtomicBool::new(false),
                connected_once: AtomicBool::new(false),
                lost_at: Mutex::new(None),
                tracking: None,
            }),
        }
    }

    /// A link for the client cache's tracking connection: each connection is
    /// set up by `tracking` before it is used, and `tracking` hears of its loss.
    /// Its generations count up from `first_generation` (on a cluster, each
    /// node's link gets a range of its own, so a generation names one
    /// connection among all of them).
    pub(crate) fn tracking(
        client: Client,
        config: AsyncConnectionConfig,
        connect_timeout: Duration,
        tracking: Arc<dyn Tracking>,
        first_generation: u64,
    ) -> ServerLink {
        let link = ServerLink::new(client, config, connect_timeout);
        let mut inner = Arc::try_unwrap(link.inner).unwrap_or_else(|_| unreachable!());
        inner.tracking = Some(tracking);
        inner.state = Mutex::new(State::Down(first_generation));
        ServerLink {
            inner: Arc::new(inner),
        }
    }

    /// The connection: the current one, or the outcome of the attempt under
    /// way, or of a new attempt when the last one failed. An error here means
    /// nothing was sent.
    ///
    /// An attempt this call did not start (a background one) that was refused
    /// may have begun just before the server came back: then the call makes
    /// one attempt of its own. A refusal is immediate, so this stays within
    /// the connect timeout.
    pub(crate) async fn get(&self) -> Result<Lease, RedisError> {
        let mut joined_another = true;
        loop {
            let (attempt, generation, started_here) = {
                let mut state = self.inner.lock();
                match &*state {
                    State::Up(connection, generation) => {
                        return Ok(Lease {
                            connection: Connection::Server(connection.clone()),
                            generation: Generation(*generation),
                        });
                    }
                    State::Connecting(attempt, generation) => (attempt.clone(), *generation, false),
                    State::Down(generation) => {
                        let generation = generation + 1;
                        let attempt = Inner::start(&self.inner, generation, FIRST_BACKOFF);
                        *state = State::Connecting(attempt.clone(), generation);
                        (attempt, generation, true)
                    }
                }
            };
            match attempt.await {
                Ok(connection) => {
                    return Ok(Lease {
                        connection: Connection::Server(connection),
                        generation: Generation(generation),
                    });
                }
                Err(err) if !started_here && joined_another && err.is_connection_refusal() => {
                    joined_another = false;
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// Tells the link that a command on the connection of `generation` failed
    /// with `err`. When the connection is gone, a new one is attempted at once, in the background.
    ///
    /// A response timeout does not say the connection is gone (the server
    /// may be busy with a slow command), nor that it is alive (a half-open
    /// socket, a server that hangs): the connection is probed with a `PING`
    /// under the same timeout, and replaced when that times out too. Without
    /// this, a connection whose peer vanished without closing it would fail
    /// every call until the kernel gives up on it, minutes later.
    pub(crate) fn report(&self, generation: Generation, err: &RedisError) {
        if err.is_unrecoverable_error() || err.is_connection_dropped() {
            Inner::lost(&self.inner, generation.0);
        } else if err.is_timeout() {
            Inner::probe(&self.inner, generation.0);
        }
    }
}

impl ServerLink {
    /// A new connection that nothing else uses, within the connect timeout,
    /// for one blocking command (see [`super::Link::send_exclusive`]). Its
    /// driver ends when the connection is dropped.
    /// A new pub/sub connection (RESP2 subscriber mode), within the
    /// connect timeout.
    pub(crate) async fn open_pubsub(&self) -> Result<redis::aio::PubSub, RedisError> {
        match tokio::time::timeout(
            self.inner.connect_timeout,
            self.inner.client.get_async_pubsub(),
        )
        .await
        {
            Ok(pubsub) => pubsub,
            Err(_) => Err(super::timed_out("connecting for a subscription")),
        }
    }

    pub(crate) async fn open_exclusive(&self) -> Result<MultiplexedConnection, RedisError> {
        let inner = &self.inner;
        let (connection, driver) =
            open(&inner.client, &inner.config, inner.connect_timeout).await?;
        if let Some(driver) = driver {
            tokio::spawn(driver);
        }
        Ok(connection)
    }
}

impl Inner {
    /// Records the end of one connection attempt: made (for the first time,
    /// or again, closing an outage) or failed.
    fn connection_event(&self, made: bool) {
        let event = match made {
            false => ConnectionEvent::ConnectFailed,
            true if self.connected_once.swap(true, Ordering::Relaxed) => {
                ConnectionEvent::Reconnected
            }
            true => ConnectionEvent::Connected,
        };
        observe::connection(self.topology(), event);
        if made && let Some(since) = self.set_lost_at(None) {
            observe::disconnected(self.topology(), since.elapsed());
        }
    }

    /// What this connection's events are counted under: the client cache's
    /// tracking connection apart from the store's own, so that neither
    /// doubles the other's counts.
    fn topology(&self) -> Topology {
        if self.tracking.is_some() {
            Topology::ClientCache
        } else {
            Topology::Server
        }
    }

    /// Replaces when the connection was lost; returns the previous value.
    fn set_lost_at(&self, at: Option<Instant>) -> Option<Instant> {
        let mut lost_at = self.lost_at.lock().unwrap_or_else(|p| p.into_inner());
        match at {
            // An outage already under way keeps its start.
            Some(_) if lost_at.is_some() => *lost_at,
            _ => std::mem::replace(&mut *lost_at, at),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is replaced whole under the lock, so it is never torn.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The connection of `generation` is gone: if it is still the current
    /// one, reconnect in the background.
    fn lost(inner: &Arc<Inner>, generation: u64) {
        if let Some(tracking) = &inner.tracking {
            tracking.lost(generation);
        }
        let mut state = inner.lock();
        if matches!(&*state, State::Up(_, g) if *g == generation) {
            tracing::debug!("connection lost; reconnecting in the background");
            observe::connection(inner.topology(), ConnectionEvent::Lost);
            inner.set_lost_at(Some(Instant::now()));
            let next = generation + 1;
            *state = State::Connecting(Inner::start(inner, next, FIRST_BACKOFF), next);
        }
    }

    /// Probes the connection of `generation` with a `PING` (bounded by the
    /// response timeout), one probe at a time; replaces it if that fails.
    fn probe(inner: &Arc<Inner>, generation: u64) {
        let connection = match &*inner.lock() {
            State::Up(connection, g) if *g == generation => connection.clone(),
            _ => return,
        };
        if inner.probing.swap(true, Ordering::AcqRel) {
            return;
        }
        let weak = Arc::downgrade(inner);
        tokio::spawn(async move {
            let mut connection = connection;
            let alive = redis::cmd("PING")
                .query_async::<()>(&mut connection)
                .await
                .is_ok();
            if let Some(inner) = weak.upgrade() {
                inner.probing.store(false, Ordering::Release);
                if !alive {
                    tracing::debug!("the connection does not answer; replacing it");
                    Inner::lost(&inner, generation);
                }
            }
        });
    }

    /// Starts one connection attempt (bounded by the connect timeout) on the
    /// runtime, so that it completes even when every caller waiting for it
    /// gives up; its outcome becomes the state. An attempt that fails is
    /// repeated in the background after `backoff`, doubling up to
    /// [`MAX_BACKOFF`], for as long as the link lives and no call has started
    /// an attempt since.
    fn start(inner: &Arc<Inner>, generation: u64, backoff: Duration) -> Attempt {
        let weak: Weak<Inner> = Arc::downgrade(inner);
        let client = inner.client.clone();
        let tracking = inner.tracking.clone();
        let config = match &tracking {
            Some(tracking) => tracking.config(&inner.config, generation),
            None => inner.config.clone(),
        };
        let connect_timeout = inner.connect_timeout;
        let attempt = async move {
            let result = match open(&client, &config, connect_timeout).await {
                Ok((connection, driver)) => {
                    if let Some(driver) = driver {
                        let watcher = weak.clone();
                        tokio::spawn(async move {
                            driver.await;
                            if let Some(inner) = watcher.upgrade() {
                                Inner::lost(&inner, generation);
                            }
                        });
                    }
                    Ok(connection)
                }
                Err(err) => Err(err),
            };
            // A tracking connection is used only once its tracking is on.
            let result = match (result, &tracking) {
                (Ok(connection), Some(tracking)) => {
                    let setup = tracking.setup(connection.clone(), generation);
                    match tokio::time::timeout(connect_timeout, setup).await {
                        Ok(Ok(())) => Ok(connection),
                        Ok(Err(err)) => Err(err),
                        Err(_) => Err(super::timed_out("setting up client tracking")),
                    }
                }
                (result, _) => result,
            };
            if let Some(inner) = weak.upgrade() {
                inner.connection_event(result.is_ok());
                let mut state = inner.lock();
                if matches!(&*state, State::Connecting(_, g) if *g == generation) {
                    *state = match &result {
                        Ok(connection) => State::Up(connection.clone(), generation),
                        Err(_) => State::Down(generation),
                    };
                    if result.is_err() {
                        Inner::retry_later(&weak, generation, backoff);
                    }
                }
            }
            result
        }
        .boxed()
        .shared();
        tokio::spawn(attempt.clone());
        attempt
    }

    /// After `backoff`, starts another background attempt if the link is
    /// still down since the attempt of `generation` failed.
    fn retry_later(weak: &Weak<Inner>, generation: u64, backoff: Duration) {
        let weak = weak.clone();
        tokio::spawn(async move {
            tokio::time::sleep(backoff).await;
            let Some(inner) = weak.upgrade() else { return };
            let mut state = inner.lock();
            if matches!(&*state, State::Down(g) if *g == generation) {
                let next = generation + 1;
                let backoff = (backoff * 2).min(MAX_BACKOFF);
                *state = State::Connecting(Inner::start(&inner, next, backoff), next);
            }
        });
    }
}

/// The connection's driver task, when the link runs it.
type Driver = BoxFuture<'static, ()>;

/// Opens one connection within `connect_timeout`. For TCP and Unix sockets
/// the stream is opened here and the driver returned, so the link can watch
/// it; for TLS redis-rs opens and drives the connection itself.
async fn open(
    client: &Client,
    config: &AsyncConnectionConfig,
    connect_timeout: Duration,
) -> RedisResult<(MultiplexedConnection, Option<Driver>)> {
    let info = client.get_connection_info();
    let settings = info.redis_settings();
    let connect = async {
        match info.addr() {
            ConnectionAddr::Tcp(host, port) => {
                let stream = tokio::net::TcpStream::connect((host.as_str(), *port)).await?;
                stream.set_nodelay(info.tcp_settings().nodelay())?;
                let (connection, driver) =
                    MultiplexedConnection::new_with_config(settings, stream, config.clone())
                        .await?;
                Ok((connection, Some(driver.boxed())))
            }
            #[cfg(unix)]
            ConnectionAddr::Unix(path) => {
                let stream = tokio::net::UnixStream::connect(path).await?;
                let (connection, driver) =
                    MultiplexedConnection::new_with_config(settings, stream, config.clone())
                        .await?;
                Ok((connection, Some(driver.boxed())))
            }
            _ => client
                .get_multiplexed_async_connection_with_config(config)
                .await
                .map(|connection| (connection, None)),
        }
    };
    match tokio::time::timeout(connect_timeout, connect).await {
        Ok(result) => result,
        Err(_) => Err(std::io::Error::from(std::io::ErrorKind::TimedOut).into()),
    }
}
