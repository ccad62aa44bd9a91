//! The [`Store`](crate::Store)'s connection to one server: one multiplexed
//! connection shared by every clone, re-established in the background when it
//! drops, with each attempt bounded by the connect timeout.
//!
//! redis-rs's `ConnectionManager` does the same job but runs its whole retry
//! schedule (with backoff) inside the call that finds the connection gone, so
//! during an outage every call took seconds whatever the configured timeouts,
//! and a call cannot tell a connection that was never made (nothing sent) from
//! one that broke under its command. Here each call waits for at most one
//! connection attempt, and knows which of the two happened.

use std::sync::{Arc, Mutex, MutexGuard, Weak};

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, RedisError};

/// One connection attempt, awaited by every caller that needs the connection
/// while it runs.
type Attempt = Shared<BoxFuture<'static, Result<MultiplexedConnection, RedisError>>>;

/// A cheap-to-clone handle on the connection.
#[derive(Clone)]
pub(crate) struct Link {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    config: AsyncConnectionConfig,
    state: Mutex<State>,
}

/// Each connection gets a new generation, so that a failure reported by a
/// caller that still held an old connection does not tear down a new one.
enum State {
    Up(MultiplexedConnection, u64),
    Connecting(Attempt, u64),
    Down(u64),
}

/// A connection handed to one call, with its generation for [`Link::report`].
pub(crate) struct Lease {
    pub(crate) connection: MultiplexedConnection,
    generation: u64,
}

impl Link {
    /// A link that connects on first use; `config` carries the connect and
    /// response timeouts.
    pub(crate) fn new(client: Client, config: AsyncConnectionConfig) -> Link {
        Link {
            inner: Arc::new(Inner {
                client,
                config,
                state: Mutex::new(State::Down(0)),
            }),
        }
    }

    /// The connection: the current one, or the outcome of the attempt under
    /// way, or of a new attempt when the last one failed. An error here means
    /// nothing was sent.
    pub(crate) async fn get(&self) -> Result<Lease, RedisError> {
        let (attempt, generation) = {
            let mut state = self.inner.lock();
            match &*state {
                State::Up(connection, generation) => {
                    return Ok(Lease {
                        connection: connection.clone(),
                        generation: *generation,
                    });
                }
                State::Connecting(attempt, generation) => (attempt.clone(), *generation),
                State::Down(generation) => {
                    let generation = generation + 1;
                    let attempt = Inner::start(&self.inner, generation);
                    *state = State::Connecting(attempt.clone(), generation);
                    (attempt, generation)
                }
            }
        };
        attempt.await.map(|connection| Lease {
            connection,
            generation,
        })
    }

    /// Tells the link that a command on `lease` failed with `err`. When the
    /// connection is gone, a new one is attempted at once, in the background.
    pub(crate) fn report(&self, lease: &Lease, err: &RedisError) {
        if !(err.is_unrecoverable_error() || err.is_connection_dropped()) {
            return;
        }
        let mut state = self.inner.lock();
        if matches!(&*state, State::Up(_, generation) if *generation == lease.generation) {
            let generation = lease.generation + 1;
            tracing::debug!("connection lost; reconnecting in the background");
            *state = State::Connecting(Inner::start(&self.inner, generation), generation);
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

    /// Starts one connection attempt (bounded by the connect timeout in
    /// `config`) on the runtime, so that it completes even when every caller
    /// waiting for it gives up; its outcome becomes the state.
    fn start(inner: &Arc<Inner>, generation: u64) -> Attempt {
        let weak: Weak<Inner> = Arc::downgrade(inner);
        let client = inner.client.clone();
        let config = inner.config.clone();
        let attempt = async move {
            let result = client
                .get_multiplexed_async_connection_with_config(&config)
                .await;
            if let Some(inner) = weak.upgrade() {
                let mut state = inner.lock();
                if matches!(&*state, State::Connecting(_, g) if *g == generation) {
                    *state = match &result {
                        Ok(connection) => State::Up(connection.clone(), generation),
                        Err(_) => State::Down(generation),
                    };
                }
            }
            result
        }
        .boxed()
        .shared();
        tokio::spawn(attempt.clone());
        attempt
    }
}
