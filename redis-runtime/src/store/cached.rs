//! The reads of client-cached models (see [`crate::client_cache`]): the
//! cache first, then the tracking connection, which reserves, reads and
//! fills in one round trip.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use redis::{Cmd, FromRedisValue, Pipeline, Value};

use super::{Store, Target};
use crate::client_cache::{ClientCache, Held, ModelCache, Op, Ticket, TrackingHooks, value_bytes};
use crate::config::Config;
use crate::connection::{Lease, Link, TrackedSend, TrackingLinks};
use crate::error::{Error, Result};
use crate::key::KeyWriter;
use crate::model::{Codec, Encoding, Family, RedisModel};

/// A store's client cache and its tracking connections.
pub(super) struct CachedReads {
    pub(super) cache: Arc<ClientCache>,
    pub(super) links: TrackingLinks,
}

impl CachedReads {
    /// The client cache `config` asks for, if any, for a store on `link`.
    pub(super) fn new(config: &Config, link: &Link) -> Result<Option<Arc<CachedReads>>> {
        if !config.client_cache() {
            return Ok(None);
        }
        let cache = ClientCache::new(
            config.client_cache_ignores_invalidations(),
            link.is_cluster(),
        );
        let links = link
            .tracking(config, Arc::new(TrackingHooks::new(&cache)))
            .map_err(|e| {
                Error::Config(format!(
                    "cannot use {config}: {}",
                    super::ErrorKindStr::kind_str(&e)
                ))
            })?;
        Ok(Some(Arc::new(CachedReads { cache, links })))
    }

    /// Makes the tracking connections (on a cluster, one to each primary).
    pub(super) async fn connect(&self) -> redis::RedisResult<()> {
        match &self.links {
            TrackingLinks::Server(link) => link.get().await.map(drop),
            TrackingLinks::Cluster(cluster) => cluster.connect_all().await,
        }
    }
}

/// What a cache hit does instead of waiting for the network: it spends a
/// unit of the task's cooperative budget, and yields once the budget is
/// spent (every 128 units), as a read of a socket would. Without it a task
/// that reads hits in a loop would never yield, and on its worker thread
/// starve the tasks queued behind it (the connections' drivers among them).
pub(super) async fn cooperate() {
    tokio::task::coop::consume_budget().await;
}

thread_local! {
    /// Where [`Store::shared_hit`] renders keys.
    static KEY_BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The pipeline of one miss: `CLIENT CACHING YES` (its reply ignored), the
/// read, and `PTTL` of its key. After a cluster's `ASK`, `ASKING` before the
/// read and before `PTTL` instead (not tracked: nothing is kept).
fn push_miss(pipe: &mut Pipeline, how: TrackedSend, key: &[u8], read: impl FnOnce(&mut Pipeline)) {
    push_prefix(pipe, how);
    read(pipe);
    push_pttl(pipe, how, key);
}

/// What goes before a miss's read: `CLIENT CACHING YES`, or `ASKING`.
fn push_prefix(pipe: &mut Pipeline, how: TrackedSend) {
    match how {
        TrackedSend::Tracked => pipe.cmd("CLIENT").arg("CACHING").arg("YES").ignore(),
        TrackedSend::Asking => pipe.cmd("ASKING").ignore(),
    };
}

/// `PTTL` of `key` (after `ASKING` when asking).
fn push_pttl(pipe: &mut Pipeline, how: TrackedSend, key: &[u8]) {
    if how == TrackedSend::Asking {
        pipe.cmd("ASKING").ignore();
    }
    pipe.cmd("PTTL").arg(key);
}

/// A model's cache, when both the model and the store cache.
pub(crate) struct Cached<'a> {
    reads: &'a CachedReads,
    model: Arc<ModelCache>,
}

impl Store {
    /// The cache of `M`, when `M` is declared `client_cache` and the store
    /// caches.
    pub(crate) fn cached<M: Family>(&self) -> Option<Cached<'_>> {
        let policy = M::CLIENT_CACHE?;
        let reads = self.cache.as_deref()?;
        Some(Cached {
            model: reads.cache.model::<M>(policy),
            reads,
        })
    }

    /// After this returns, every invalidation the server sent before it has
    /// been applied to the client cache: a read that follows sees every
    /// write another client finished before this call began. (A round trip
    /// on the tracking connection; replies and invalidations arrive in
    /// order.) Without a client cache, returns at once.
    pub async fn sync_client_cache(&self) -> Result<()> {
        let Some(reads) = &self.cache else {
            return Ok(());
        };
        match &reads.links {
            TrackingLinks::Server(link) => {
                self.run_tracked(
                    link,
                    Target::RAW,
                    "sync_client_cache",
                    |_| true,
                    |lease: Lease| async move {
                        let mut con = lease.connection;
                        redis::cmd("PING").query_async::<()>(&mut con).await
                    },
                )
                .await
            }
            TrackingLinks::Cluster(cluster) => {
                self.run_tracked(
                    &self.link,
                    Target::RAW,
                    "sync_client_cache",
                    |_| true,
                    |_| cluster.sync(),
                )
                .await
            }
        }
    }

    /// Sends one miss of `key` on the tracking connection that serves it:
    /// the server's, or on a cluster that of the primary serving the key's
    /// slot (following redirections). `send` sends on the lease it is
    /// handed, in the way it is told.
    async fn send_miss<T, F, Fut>(
        &self,
        reads: &CachedReads,
        target: Target,
        operation: &'static str,
        key: &[u8],
        found: fn(&T) -> bool,
        send: F,
    ) -> Result<T>
    where
        F: Fn(Lease, TrackedSend) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        match &reads.links {
            // Boxed: a miss's future is large (it holds the read's, the
            // connection's and the metrics'), and every cached read holds
            // one; on the heap it costs one allocation per round trip
            // rather than the stack of every caller (debug builds overflow).
            TrackingLinks::Server(link) => {
                Box::pin(self.run_tracked(link, target, operation, found, |lease| {
                    send(lease, TrackedSend::Tracked)
                }))
                .await
            }
            TrackingLinks::Cluster(cluster) => {
                Box::pin(self.run_tracked(&self.link, target, operation, found, |_| {
                    cluster.send(key, &send)
                }))
                .await
            }
        }
    }

    /// What the client cache has done, per model read so far; empty when
    /// the cache is off.
    pub fn client_cache_stats(&self) -> Vec<crate::client_cache::ModelCacheStats> {
        self.cache
            .as_ref()
            .map(|reads| reads.cache.stats())
            .unwrap_or_default()
    }

    /// A miss of `key` on the tracking link: reserves its entry (an
    /// invalidation until the reply is kept cancels the reservation), then
    /// sends `CLIENT CACHING YES`, what `read` appends and `PTTL` in one
    /// round trip. The reply, the key's TTL, the reservation and when the
    /// read was sent.
    async fn tracked_miss<M: Family>(
        &self,
        cached: &Cached<'_>,
        operation: &'static str,
        key: &[u8],
        read: impl Fn(&mut Pipeline, &[u8]),
    ) -> Result<(Value, i64, Option<Ticket>, Instant)> {
        let cache = &cached.reads.cache;
        let model = &cached.model;
        self.send_miss(
            cached.reads,
            Target::of::<M>(),
            operation,
            key,
            |(value, ..): &(Value, i64, Option<Ticket>, Instant)| super::found_value(value),
            |lease: Lease, how| {
                let ticket = match how {
                    TrackedSend::Tracked => cache.begin(model, key, lease.generation.number()),
                    TrackedSend::Asking => None,
                };
                let mut pipe = redis::pipe();
                push_miss(&mut pipe, how, key, |pipe| read(pipe, key));
                async move {
                    let mut con = lease.connection;
                    let sent = Instant::now();
                    let (value, pttl): (Value, i64) = pipe.query_async(&mut con).await?;
                    Ok((value, pttl, ticket, sent))
                }
            },
        )
        .await
    }

    /// One read of `key` through the cache, the reply `op` of the key:
    /// `read` builds its command.
    pub(crate) async fn cached_op<M: Family>(
        &self,
        cached: &Cached<'_>,
        operation: &'static str,
        key: &[u8],
        op: Op,
        read: impl Fn(&[u8]) -> Cmd,
    ) -> Result<Value> {
        self.cached_op_pipe::<M>(cached, operation, key, op, |pipe, key| {
            pipe.add_command(read(key));
        })
        .await
    }

    /// [`Store::cached_op`] whose read is what `read` appends to the
    /// pipeline: commands whose replies are ignored, and exactly one whose
    /// reply is not (a `MULTI ... EXEC` is tracked whole).
    pub(crate) async fn cached_op_pipe<M: Family>(
        &self,
        cached: &Cached<'_>,
        operation: &'static str,
        key: &[u8],
        op: Op,
        read: impl Fn(&mut Pipeline, &[u8]),
    ) -> Result<Value> {
        let cache = &cached.reads.cache;
        if cache.is_live()
            && let Some(value) = cached.model.get_raw(key, op.clone())
        {
            cached.model.hit();
            cooperate().await;
            return Ok(value);
        }
        cached.model.miss(1);
        let model = &cached.model;
        let (value, pttl, ticket, sent) =
            self.tracked_miss::<M>(cached, operation, key, read).await?;
        // Not kept when an invalidation cancelled the reservation since.
        if let Some(ticket) = ticket {
            model.fill(key, ticket, op, &value, pttl, sent);
        }
        Ok(value)
    }

    /// One read of `key` through the cache whose reply is kept decoded:
    /// `read` builds its command, `decode` turns its reply into the value
    /// kept (a `T` that is cheap to clone, such as an `Arc`). A reply that
    /// does not decode is returned as the error and not kept. A hit clones
    /// the value and decodes nothing.
    pub(super) async fn cached_decoded<M: Family, T: Clone + Send + Sync + 'static>(
        &self,
        cached: &Cached<'_>,
        operation: &'static str,
        key: &[u8],
        op: Op,
        read: impl Fn(&[u8]) -> Cmd,
        decode: impl FnOnce(Value) -> Result<T>,
    ) -> Result<T> {
        let cache = &cached.reads.cache;
        if cache.is_live()
            && let Some(value) = cached.model.get_decoded::<T>(key, op.clone())
        {
            cached.model.hit();
            cooperate().await;
            return Ok(value);
        }
        cached.model.miss(1);
        let model = &cached.model;
        let (value, pttl, ticket, sent) = self
            .tracked_miss::<M>(cached, operation, key, |pipe, key| {
                pipe.add_command(read(key));
            })
            .await?;
        let size = value_bytes(&value);
        let decoded = decode(value)?;
        // The reservation was made before the read was sent; an
        // invalidation since has cancelled it, and then nothing is kept.
        if let Some(ticket) = ticket {
            let held = Held::Decoded(Arc::new(decoded.clone()));
            model.fill_held(key, ticket, op, held, size, pttl, sent);
        }
        Ok(decoded)
    }

    /// The shared value of `id` when the cache holds it (`Some(None)`: held
    /// as absent); `None` otherwise. The hit path of `get_shared` (and of
    /// `get` of a `Clone` model): the key is rendered into a buffer of the
    /// thread, and nothing is allocated.
    pub(super) fn shared_hit<M: RedisModel>(&self, id: &M::Id) -> Option<Option<Arc<M>>> {
        M::CLIENT_CACHE?;
        let reads = self.cache.as_deref()?;
        if !reads.cache.is_live() {
            return None;
        }
        KEY_BUFFER.with_borrow_mut(|buf| {
            buf.clear();
            // A key that does not render is reported by the full path.
            M::write_id_key(id, &mut KeyWriter::new(buf, &self.namespace, &M::META.key)).ok()?;
            reads.cache.with_model::<M, _>(|model| {
                let hit = model.get_decoded::<Option<Arc<M>>>(buf, Op::Shared)?;
                model.hit();
                Some(hit)
            })?
        })
    }

    /// `get` of `id` (at `key`) through the cache, held decoded and shared.
    pub(super) async fn cached_shared<M: RedisModel>(
        &self,
        cached: &Cached<'_>,
        operation: &'static str,
        id: &M::Id,
        key: &[u8],
    ) -> Result<Option<Arc<M>>> {
        self.cached_decoded::<M, Option<Arc<M>>>(
            cached,
            operation,
            key,
            Op::Shared,
            super::read_cmd::<M>,
            |value| Ok(super::decode_reply::<M>(id, value)?.map(Arc::new)),
        )
        .await
    }

    /// `get_many` through the cache: the misses in one round trip. Each
    /// key's reply is held as `op`: `hold` makes what is returned and what is
    /// kept of the `i`th key's reply, `held` what a hit returns.
    pub(super) async fn cached_get_many<M: RedisModel, T>(
        &self,
        cached: &Cached<'_>,
        keys: &[Vec<u8>],
        op: Op,
        held: impl Fn(&ModelCache, &[u8]) -> Option<T>,
        hold: impl Fn(usize, Value) -> Result<(T, Held)>,
    ) -> Result<Vec<T>> {
        let cache = &cached.reads.cache;
        let mut values: Vec<Option<T>> = Vec::with_capacity(keys.len());
        let live = cache.is_live();
        let mut hits = 0;
        for key in keys {
            let value = live.then(|| held(&cached.model, key)).flatten();
            hits += usize::from(value.is_some());
            values.push(value);
        }
        for _ in 0..hits {
            cached.model.hit();
        }
        let missing: Vec<usize> = (0..keys.len()).filter(|&i| values[i].is_none()).collect();
        if missing.is_empty() {
            cooperate().await;
            return Ok(values.into_iter().flatten().collect());
        }
        cached.model.miss(missing.len());
        let model = &cached.model;
        let hash = <M::Codec as Codec<M>>::ENCODING == Encoding::Hash;
        // On a cluster, one round trip per hash slot (to the slot's
        // primary), all at once, as uncached `get_many` splits its reads.
        let groups: Vec<Vec<usize>> = match &cached.reads.links {
            TrackingLinks::Server(_) => vec![missing],
            TrackingLinks::Cluster(_) => {
                let mut by_slot: std::collections::BTreeMap<u16, Vec<usize>> = Default::default();
                for i in missing {
                    by_slot
                        .entry(crate::key::hash_slot(&keys[i]))
                        .or_default()
                        .push(i);
                }
                by_slot.into_values().collect()
            }
        };
        let sends = groups.iter().map(|group| {
            self.send_miss(
                cached.reads,
                Target::of::<M>(),
                "get_many",
                &keys[group[0]],
                |_| true,
                move |lease: Lease, how| {
                    let tickets: Vec<Option<Ticket>> = match how {
                        TrackedSend::Tracked => {
                            let generation = lease.generation.number();
                            group
                                .iter()
                                .map(|&i| cache.begin(model, &keys[i], generation))
                                .collect()
                        }
                        TrackedSend::Asking => vec![None; group.len()],
                    };
                    let mut pipe = redis::pipe();
                    if hash {
                        for &i in group {
                            push_miss(&mut pipe, how, &keys[i], |pipe| {
                                pipe.add_command(super::key_cmd("HGETALL", &keys[i]));
                            });
                        }
                    } else {
                        // One `MGET` (nil for a key of another type, as uncached), then the `PTTL`s.
                        let mut mget = redis::cmd("MGET");
                        for &i in group {
                            mget.arg(&keys[i]);
                        }
                        push_prefix(&mut pipe, how);
                        pipe.add_command(mget);
                        for &i in group {
                            push_pttl(&mut pipe, how, &keys[i]);
                        }
                    }
                    async move {
                        let mut con = lease.connection;
                        let sent = Instant::now();
                        let replies: Vec<Value> = pipe.query_async(&mut con).await?;
                        let (read, pttls) = split_replies(hash, replies, group.len())?;
                        Ok((read, pttls, tickets, sent))
                    }
                },
            )
        });
        let replies = futures_util::future::try_join_all(sends).await?;
        for (group, (replies, pttls, tickets, sent)) in groups.iter().zip(replies) {
            for (n, (reply, &i)) in replies.into_iter().zip(group).enumerate() {
                let size = value_bytes(&reply);
                // `MGET` reads nil for a key of another type, which `get`
                // (whose entry this is too) reports as the wrong type: not kept.
                let other_type = !hash && reply == Value::Nil && pttls[n] != -2;
                let (value, kept) = hold(i, reply)?;
                // Not kept when an invalidation cancelled the reservation.
                if let Some(ticket) = tickets[n]
                    && !other_type
                {
                    model.fill_held(&keys[i], ticket, op.clone(), kept, size, pttls[n], sent);
                }
                values[i] = Some(value);
            }
        }
        Ok(values.into_iter().flatten().collect())
    }
}

/// The replies of a `get_many`'s misses: one per key, and its `PTTL`.
fn split_replies(
    hash: bool,
    replies: Vec<Value>,
    n: usize,
) -> redis::RedisResult<(Vec<Value>, Vec<i64>)> {
    let shape = || {
        redis::RedisError::from(redis::ParsingError::from(
            "unexpected reply to a cached get_many",
        ))
    };
    let mut read = Vec::with_capacity(n);
    let mut pttls = Vec::with_capacity(n);
    if hash {
        let mut it = replies.into_iter();
        for _ in 0..n {
            let value = it.next().ok_or_else(shape)?;
            let pttl = i64::from_redis_value(it.next().ok_or_else(shape)?)?;
            read.push(value);
            pttls.push(pttl);
        }
    } else {
        let mut it = replies.into_iter();
        let values: Vec<Value> = Vec::from_redis_value(it.next().ok_or_else(shape)?)?;
        if values.len() != n {
            return Err(shape());
        }
        read = values;
        for pttl in it {
            pttls.push(i64::from_redis_value(pttl)?);
        }
        if pttls.len() != n {
            return Err(shape());
        }
    }
    Ok((read, pttls))
}
