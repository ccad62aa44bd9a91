//! The client cache's tracking connections on a Redis Cluster: one RESP3
//! connection with `CLIENT TRACKING ON OPTIN` per primary a cached read has
//! gone to, each a [`ServerLink`] of its own (re-established when it drops,
//! set up and watched by the cache's [`Tracking`] hooks).
//!
//! Tracking is per node: a node sends invalidations only for the keys read
//! from it, and only while its keys change on it. So a miss goes to the
//! primary that serves its key's slot, as the store's slot map has it, and
//! the redirections are followed here, on these connections:
//!
//! - `MOVED`: the slot has moved. The read is sent to the node named, and the
//!   cache is told ([`Tracking::slots_moved`]), since an entry read from a
//!   node that no longer serves its slot would hear of no later write; the
//!   slot map is read again in the background.
//! - `ASK`: the key has moved to a node importing the slot. The read is sent
//!   there after `ASKING` (which does not combine with `CLIENT CACHING YES`:
//!   each applies to the next command only), so it is not tracked, and the
//!   caller keeps nothing of it.
//! - `TRYAGAIN`, `CLUSTERDOWN` and the other refusals the store's own
//!   connection waits out: sent again by slot after a short wait.
//!
//! All within the response timeout from the first send, like the store's
//! other commands.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use redis::{RedisError, RedisResult};
use tokio::time::Instant;

use super::super::server::{ServerLink, Tracking};
use super::super::{Connection, FIRST_WAIT, Lease, MAX_WAIT, timed_out};
use super::{ClusterLink, MAX_REDIRECTS, Node, Step, step};

/// How a miss is sent on the connection of the node chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Send {
    /// Tracked: `CLIENT CACHING YES` before the read.
    Tracked,
    /// After `ASK`: `ASKING` before each command, not tracked; nothing of
    /// the reply may be kept.
    Asking,
}

/// Each node's link numbers its connections from its own multiple of this.
const GENERATIONS_PER_NODE: u64 = 1 << 32;

/// The tracking links of a cluster store, one per node read from.
pub(crate) struct ClusterTracking {
    cluster: ClusterLink,
    hooks: Arc<dyn Tracking>,
    links: Mutex<HashMap<Node, ServerLink>>,
    /// The next node's generation range.
    next_node: AtomicU64,
    /// Whether the slot map is being read again.
    refreshing: Arc<AtomicBool>,
    response_timeout: Duration,
}

impl ClusterTracking {
    pub(crate) fn new(
        cluster: ClusterLink,
        hooks: Arc<dyn Tracking>,
        response_timeout: Duration,
    ) -> ClusterTracking {
        ClusterTracking {
            cluster,
            hooks,
            links: Mutex::new(HashMap::new()),
            next_node: AtomicU64::new(1),
            refreshing: Arc::new(AtomicBool::new(false)),
            response_timeout,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Node, ServerLink>> {
        // Links are inserted whole: never torn.
        self.links.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The tracking link to `node`, made on first use (it connects when
    /// first asked for a connection).
    fn link(&self, node: &Node) -> RedisResult<ServerLink> {
        if let Some(link) = self.lock().get(node) {
            return Ok(link.clone());
        }
        let direct = self.cluster.direct().ok_or_else(|| {
            RedisError::from((
                redis::ErrorKind::ClusterConnectionNotFound,
                "no seed node to connect like",
            ))
        })?;
        let (client, config) = direct.tracking_client(node)?;
        let mut links = self.lock();
        let link = links.entry(node.clone()).or_insert_with(|| {
            let first = self.next_node.fetch_add(1, Ordering::Relaxed) * GENERATIONS_PER_NODE;
            ServerLink::tracking(
                client,
                config,
                self.cluster.connect_timeout(),
                self.hooks.clone(),
                first,
            )
        });
        Ok(link.clone())
    }

    /// Connects the tracking link of every primary of the slot map, so that
    /// their setup is done before the first read (a link set up later drops
    /// the whole cache, as any new tracking connection does).
    pub(crate) async fn connect_all(&self) -> RedisResult<()> {
        self.cluster.get().await?;
        let primaries = self.cluster.known_primaries();
        let links = primaries
            .iter()
            .map(|node| self.link(node))
            .collect::<RedisResult<Vec<_>>>()?;
        futures_util::future::try_join_all(links.iter().map(|link| link.get())).await?;
        Ok(())
    }

    /// A round trip on every tracking connection made so far: once it
    /// returns, every invalidation any node sent before has been applied.
    pub(crate) async fn sync(&self) -> RedisResult<()> {
        let links: Vec<ServerLink> = self.lock().values().cloned().collect();
        futures_util::future::try_join_all(links.iter().map(|link| async move {
            let lease = link.get().await?;
            let Connection::Server(mut con) = lease.connection else {
                return Ok(());
            };
            let pinged = redis::cmd("PING").query_async::<()>(&mut con).await;
            if let Err(err) = &pinged {
                link.report(lease.generation, err);
            }
            pinged
        }))
        .await?;
        Ok(())
    }

    /// Sends one miss of `key` with `send`, on the tracking connection of
    /// the primary serving its slot, following redirections (see the
    /// module's docs) within the response timeout. `send` gets the lease of
    /// the connection chosen and how to send on it.
    pub(crate) async fn send<T, F, Fut>(&self, key: &[u8], send: F) -> RedisResult<T>
    where
        F: Fn(Lease, Send) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        let slot = crate::key::hash_slot(key);
        let deadline = Instant::now() + self.response_timeout;
        let mut target: Option<(Node, Send)> = None;
        let mut wait = FIRST_WAIT;
        let mut redirects = 0;
        loop {
            let (node, how) = match target.take() {
                Some(target) => target,
                None => (self.node_for(slot).await?, Send::Tracked),
            };
            let link = self.link(&node)?;
            // A node that refuses connections is handled as a refusal of
            // the read: it may have been replaced (nothing was sent).
            let (err, generation) = match tokio::time::timeout_at(deadline, link.get()).await {
                Ok(Ok(lease)) => {
                    let generation = lease.generation;
                    match tokio::time::timeout_at(deadline, send(lease, how)).await {
                        Ok(Ok(value)) => return Ok(value),
                        Ok(Err(err)) => (err, Some(generation)),
                        Err(_) => return Err(timed_out("the cluster node did not answer in time")),
                    }
                }
                Ok(Err(err)) => (err, None),
                Err(_) => return Err(timed_out("connecting to the cluster node")),
            };
            redirects += 1;
            if redirects > MAX_REDIRECTS {
                return Err(super::unfinished(err));
            }
            match step(&first_cause(&err)) {
                Step::Fail => {
                    if let Some(generation) = generation {
                        link.report(generation, &err);
                    }
                    return Err(err);
                }
                Step::Moved(to) => {
                    self.hooks.slots_moved();
                    self.refresh_map();
                    target = Some((to, Send::Tracked));
                }
                Step::Ask(to) => target = Some((to, Send::Asking)),
                Step::Wait => {
                    // A node that refuses or does not answer may have been
                    // replaced by its replica: the map may have changed.
                    if err.is_connection_refusal()
                        || err.is_io_error()
                        || err.is_timeout()
                        || err.kind() == redis::ErrorKind::ClusterConnectionNotFound
                    {
                        self.refresh_map();
                    }
                    if Instant::now() + wait >= deadline {
                        return Err(super::unfinished(err));
                    }
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(MAX_WAIT);
                }
            }
        }
    }

    /// The primary serving `slot`, as the store's slot map has it.
    async fn node_for(&self, slot: u16) -> RedisResult<Node> {
        if let Some(node) = self.cluster.node_for(slot) {
            return Ok(node);
        }
        // Not connected yet, so no map: connecting reads it.
        self.cluster.get().await?;
        self.cluster.node_for(slot).ok_or_else(|| {
            RedisError::from((
                redis::ErrorKind::ClusterConnectionNotFound,
                "no node serves the key's slot",
            ))
        })
    }

    /// Reads the slot map again, in the background (after a `MOVED`, or a
    /// node that does not answer), one read at a time.
    fn refresh_map(&self) {
        if self.refreshing.swap(true, Ordering::AcqRel) {
            return;
        }
        let cluster = self.cluster.clone();
        let refreshing = self.refreshing.clone();
        tokio::spawn(async move {
            if let Ok(Lease {
                connection: Connection::Cluster(mut con),
                ..
            }) = cluster.get().await
            {
                let _ = con.primaries().await;
            }
            refreshing.store(false, Ordering::Release);
        });
    }
}

/// The error that decides what to do after a miss failed: the first of a
/// pipeline's (a redirection refuses every command of the pipeline alike),
/// or of an aborted transaction the refusal that aborted it.
fn first_cause(err: &RedisError) -> RedisError {
    err.clone()
        .into_server_errors()
        .and_then(|errors| {
            errors
                .iter()
                .find(|(_, e)| e.code() != "EXECABORT")
                .map(|(_, e)| RedisError::from(e.clone()))
        })
        .unwrap_or_else(|| err.clone())
}
