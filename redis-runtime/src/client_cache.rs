//! Client-side caching of entities and collections: server-assisted,
//! through RESP3 `CLIENT TRACKING`, opt-in per declaration
//! (`#[redis(client_cache)]` on a model, set, map, sorted set, list or
//! counter) and per store
//! ([`ConfigBuilder::client_cache`](crate::ConfigBuilder::client_cache),
//! `REDIS_CLIENT_CACHE=on`).
//!
//! # How it works
//!
//! With caching on, the [`Store`](crate::Store) opens a second connection to
//! the server, in RESP3, and turns on `CLIENT TRACKING ON OPTIN` on it. The
//! cached reads of a declaration (below) look in the process's cache first;
//! a miss is sent on that connection as `CLIENT CACHING YES`, the read, and
//! `PTTL` of the key, in one round trip, so the server remembers that this
//! client holds the key and sends an invalidation message on the same
//! connection as soon as anyone changes, deletes, expires or evicts it (or
//! flushes the database). Everything else (writes, and every declaration
//! without the attribute) goes on the store's usual connection, byte for
//! byte as without caching.
//!
//! # What is cached
//!
//! Each read below is one entry of its key, kept under the read (its verb
//! and arguments after the key); tracking is per key, so any change to the
//! key drops every entry of it.
//!
//! - Models: [`get`](crate::Store::get), [`get_shared`](crate::Store::get_shared),
//!   [`get_many`](crate::Store::get_many), [`get_field`](crate::Store::get_field),
//!   [`get_fields`](crate::Store::get_fields) (its `MULTI EXISTS HMGET EXEC`,
//!   tracked whole), [`exists`](crate::Store::exists). The entry of a whole
//!   entity holds it decoded, in an `Arc`: `get_shared` hands out the `Arc`
//!   (no decoding, no copy); `get` and `get_many` of a model that is `Clone`
//!   clone it, of any other model decode the reply kept for them.
//! - Sets: `contains`, `contains_many`, `members`, `len`, `is_empty`.
//! - Maps: `get`, `get_many`, `all`, `contains`, `len`, `is_empty`.
//! - Sorted sets: `score`, `scores`, `rank`, `rank_rev`, `range`, `top`,
//!   `range_by_score`, `range_by_lex`, `len`, `is_empty`, `count`.
//! - Lists: `range`, `len`, `is_empty`, `get`.
//! - Counters: `get`.
//!
//! # What is not cached
//!
//! Writes; and the reads that write, or whose reply is not a function of
//! one key's state: `take` and `insert_or_get` (they delete or insert: they
//! must reach the server, and the entry of their key is dropped when they
//! return, as for any write), `get_and_refresh` (it re-arms the TTL), pops
//! and blocking pops, a set's `random` (a kept reply would stop being
//! random), set algebra (`union`, `intersection`, `difference`: their reply
//! depends on keys other than the one an entry is filed under), scans,
//! `ttl`, `get_fields_many`, the generated `find_by_*` lookups, streams,
//! channels, locks and rate limits.
//!
//! # What it guarantees
//!
//! - **Own writes.** After a write through this store returns (or fails),
//!   no read of this store returns what the key held before it: every write
//!   through a caching store drops the keys it names from the cache when its
//!   reply arrives, before it returns (writes of undeclared families too, as
//!   they may name a cached key, and blocking pops on their own connection).
//!   (Writes through [`raw_access`](crate::Store::raw_access) too; a
//!   command the runtime's command table lists as a read, such as the `PTTL`
//!   of `ttl`, drops nothing.)
//! - **Reads in flight.** A miss reserves its entry before it is sent; an
//!   invalidation of the key that arrives before the reply is stored cancels
//!   the reservation, so a reply that raced with a write is returned but not
//!   kept. (redis-rs's own `cache-aio` stores such a reply after the
//!   invalidation was handled, and serves it until its TTL.)
//! - **Other clients' writes** are seen once their invalidation message has
//!   reached this process: the server sends it before it replies to the
//!   writer, so the window is the time it takes one message to cross the
//!   network and be read (`BENCHMARKS.md` measures it). [`Store::sync_client_cache`](crate::Store::sync_client_cache)
//!   closes it when the application knows of a write by other means: after
//!   it returns, every invalidation the server sent before it has been applied.
//! - **Expiry.** An entry never outlives the key's TTL as read with it (the
//!   server also sends an invalidation when it expires the key), nor the
//!   declaration's local bound (`ttl`, default 5 minutes).
//! - **Faults.** When the tracking connection is lost, the whole cache is
//!   dropped at once and nothing is served from it until a new connection has
//!   tracking on again; a `FLUSHDB`/`FLUSHALL` drops it too.
//! - **Memory** is bounded per declaration: at most `max_entries` keys
//!   (default 10 000) and `max_bytes` of keys and values (default 64 MiB,
//!   counted as the bytes of the key and of the reply plus 64 per entry and
//!   32 per reply element; a decoded entity counts as the reply it was
//!   decoded from). Beyond either, keys are evicted in CLOCK order (an
//!   approximation of least recently used: a key read since the hand last
//!   passed gets a second chance). The budget is split exactly over up to
//!   16 shards (one per 64 KiB of `max_bytes`, no more than `max_entries`),
//!   the shards' shares adding up to the budget; a reply larger than its
//!   shard's share of `max_bytes` is returned but not kept. On the server,
//!   tracking costs an entry per key in its tracking table
//!   (`tracking-table-max-keys`).
//!
//! # On a Redis Cluster
//!
//! Tracking is per node: a node reports changes only of the keys read from
//! it. So the store keeps one tracking connection per primary (made when it
//! connects, and for any node a read is redirected to later), and sends
//! each miss to the primary that serves its key's slot; `get_many` sends
//! one round trip per slot, all at once. What changes:
//!
//! - **Moved slots.** A miss answered `MOVED` goes to the node named, and
//!   the whole cache is dropped (cause `topology`): an entry read from the
//!   node that served the slot before would hear of no later write. A miss
//!   answered `ASK` (the key has moved to a node importing the slot) is
//!   read there after `ASKING`, untracked, and not kept.
//! - **Keys that do not exist are not kept.** A key that exists leaves its
//!   node's memory when its slot migrates (`MIGRATE` deletes it there, and
//!   the node reports that), so its entry goes before the key can change on
//!   the slot's new node. A key that does not exist leaves nothing to
//!   report: its absence (`None`, `false`, an empty collection) is read
//!   from the server each time.
//! - **Failover.** Every tracking connection that is lost drops the whole
//!   cache, so a primary that stops (and the replica that replaces it)
//!   serves nothing it held. A graceful failover (`CLUSTER FAILOVER`) keeps
//!   the old primary's connection: as a replica it reports the new
//!   primary's writes once it has replicated them, so the window of
//!   another client's write also includes the replication lag; the next
//!   miss of its slots meets `MOVED` and drops the cache.
//! - [`Store::sync_client_cache`](crate::Store::sync_client_cache) makes a
//!   round trip on every tracking connection.
//! - A `FLUSHALL` on one primary drops the whole cache.
//!
//! # What it does not do
//!
//! `SWAPDB`: Redis sends no invalidation for a swapped database, so entries read before another
//! client's `SWAPDB` are served until the declaration's `ttl`. Do not swap
//! the database of a caching store. A half-open tracking connection (a
//! network partition that closes nothing) is noticed only when a miss on
//! it times out. A cache hit is not an operation in
//! `redis_runtime_operation_duration_seconds`; it counts in
//! `redis_runtime_client_cache_hits_total`.

use std::any::{Any, TypeId};
use std::collections::VecDeque;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, Weak};
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use hashbrown::HashTable;
use redis::aio::{AsyncPushSender, MultiplexedConnection, SendError};
use redis::{AsyncConnectionConfig, PushInfo, PushKind, RedisResult, Value};

use crate::model::Family;
use crate::observe;

/// How a model is cached: `#[redis(client_cache(ttl = "...", max_entries = N, max_bytes = N))]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct ClientCachePolicy {
    /// The longest an entry is served without being read again from the
    /// server, whatever the key's TTL (default 5 minutes).
    pub ttl: Duration,
    /// The most keys of this model kept (default 10 000).
    pub max_entries: usize,
    /// The most bytes of keys and replies kept (default 64 MiB).
    pub max_bytes: usize,
}

impl ClientCachePolicy {
    /// The default local TTL bound.
    pub const DEFAULT_TTL: Duration = Duration::from_secs(300);
    /// The default number of keys.
    pub const DEFAULT_MAX_ENTRIES: usize = 10_000;
    /// The default byte budget.
    pub const DEFAULT_MAX_BYTES: usize = 64 << 20;

    /// A policy; what the derive generates.
    pub const fn new(ttl: Duration, max_entries: usize, max_bytes: usize) -> Self {
        ClientCachePolicy {
            ttl,
            max_entries,
            max_bytes,
        }
    }
}

impl Default for ClientCachePolicy {
    fn default() -> Self {
        ClientCachePolicy::new(
            Self::DEFAULT_TTL,
            Self::DEFAULT_MAX_ENTRIES,
            Self::DEFAULT_MAX_BYTES,
        )
    }
}

/// Which reply of a key an entry holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Op {
    /// `HGETALL` or `GET`, the reply as read.
    Whole,
    /// `HGETALL` or `GET`, decoded: what `get_shared` (and `get` and
    /// `get_many` of a model that is `Clone`) hand out.
    Shared,
    /// `HGET` of one field.
    Field(&'static str),
    /// `EXISTS`.
    Exists,
    /// `MULTI EXISTS HMGET EXEC` of these fields (`get_fields`).
    Fields(Arc<[&'static str]>),
    /// A read of a collection: its verb and arguments after the key.
    Read(Arc<[u8]>),
}

/// What an entry holds for one [`Op`]: the server's reply, or the value
/// decoded from it (shared by every hit: a hit then clones an `Arc`, and
/// decodes nothing).
#[derive(Clone)]
pub(crate) enum Held {
    /// The reply as read.
    Raw(Value),
    /// The decoded reply; its type is the one the read decodes to.
    Decoded(Arc<dyn Any + Send + Sync>),
}

/// What one model's cache has done, since the store connected.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct ModelCacheStats {
    /// The model's name.
    pub model: String,
    /// Its policy.
    pub policy: ClientCachePolicy,
    /// Reads served from the cache.
    pub hits: u64,
    /// Reads sent to the server (for `get_many`, one per id not served
    /// from the cache).
    pub misses: u64,
    /// Keys dropped (each with every entry it held) because the key changed
    /// or may have: an invalidation message, a write through this store, a
    /// flush, a lost tracking connection, or on a cluster moved slots.
    pub invalidations: u64,
    /// Entries dropped to stay within the budget.
    pub evictions: u64,
    /// Keys held now.
    pub entries: u64,
    /// Bytes held now, as counted against `max_bytes`.
    pub bytes: u64,
}

/// The client cache of one store: its tracking connection's state and one
/// cache per model.
pub(crate) struct ClientCache {
    /// The generations of the tracking connections whose tracking is on
    /// (one per node read from on a cluster): a miss is kept only when read
    /// on one of them.
    live: Mutex<Vec<u64>>,
    /// Whether any is: nothing is served while none is.
    serving: AtomicBool,
    /// Whether a reply read while its key did not exist is kept. Not on a
    /// cluster: an entry of a key that exists leaves the cache when the key
    /// leaves its node (a migration deletes it there, which the node
    /// reports), but the node of a key that does not exist would not report
    /// its slot moving away, nor the key then written on its new node.
    keep_absent: bool,
    /// One cache per model read so far (a few: looked up by a scan, which
    /// costs less than hashing the `TypeId`).
    models: RwLock<Vec<(TypeId, Arc<ModelCache>)>>,
    /// Entry generations, so a reservation is told from a later entry of the
    /// same key.
    next_entry: AtomicU64,
    /// Testing only: ignore invalidations (to show that the tests fail then).
    ignore_invalidations: bool,
}

/// A reservation made by a miss, filled when its reply arrives.
#[derive(Clone, Copy)]
pub(crate) struct Ticket {
    entry: u64,
}

impl ClientCache {
    pub(crate) fn new(ignore_invalidations: bool, cluster: bool) -> Arc<ClientCache> {
        Arc::new(ClientCache {
            live: Mutex::new(Vec::new()),
            serving: AtomicBool::new(false),
            keep_absent: !cluster,
            models: RwLock::new(Vec::new()),
            next_entry: AtomicU64::new(1),
            ignore_invalidations,
        })
    }

    /// The cache of model `M`, made on first use.
    pub(crate) fn model<M: Family>(&self, policy: ClientCachePolicy) -> Arc<ModelCache> {
        let id = TypeId::of::<M>();
        if let Some((_, cache)) = read(&self.models).iter().find(|(t, _)| *t == id) {
            return cache.clone();
        }
        let mut models = self.models.write().unwrap_or_else(|p| p.into_inner());
        if let Some((_, cache)) = models.iter().find(|(t, _)| *t == id) {
            return cache.clone();
        }
        let cache = Arc::new(ModelCache::new(M::META.name, policy, self.keep_absent));
        models.push((id, cache.clone()));
        cache
    }

    /// `f` of the cache of `M`, under the lock (no `Arc` is cloned); `None`
    /// when `M` has none yet.
    pub(crate) fn with_model<M: Family, R>(&self, f: impl FnOnce(&ModelCache) -> R) -> Option<R> {
        let id = TypeId::of::<M>();
        let models = read(&self.models);
        let (_, cache) = models.iter().find(|(t, _)| *t == id)?;
        Some(f(cache))
    }

    /// Whether a cached declaration has been read (so writes must drop keys).
    pub(crate) fn has_models(&self) -> bool {
        !read(&self.models).is_empty()
    }

    /// Whether entries may be served: tracking is on.
    pub(crate) fn is_live(&self) -> bool {
        self.serving.load(Ordering::Acquire)
    }

    fn live(&self) -> MutexGuard<'_, Vec<u64>> {
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the tracking connection of `generation` is a live one.
    pub(crate) fn is_live_generation(&self, generation: u64) -> bool {
        self.live().contains(&generation)
    }

    /// Reserves an entry for a miss sent on the connection of `generation`;
    /// `None` when that connection is not the live one (nothing is kept).
    pub(crate) fn begin(&self, model: &ModelCache, key: &[u8], generation: u64) -> Option<Ticket> {
        if !self.is_live_generation(generation) {
            return None;
        }
        let fresh = self.next_entry.fetch_add(1, Ordering::Relaxed);
        Some(model.reserve(key, fresh))
    }

    /// Drops every key `cmd` names (a command sent through the store, once
    /// its reply has arrived) unless it only reads: a write returns only
    /// after this.
    pub(crate) fn invalidate_cmd(&self, cmd: &redis::Cmd) {
        let mut args = cmd.args_iter().filter_map(crate::connection::simple_arg);
        match args.next() {
            Some(name) if !crate::keyspace::commands::is_read_only(name) => {
                self.invalidate_args(args)
            }
            _ => {}
        }
    }

    /// Drops every key named in `args` (the arguments of a write of a cached
    /// model, sent through the store): a write returns only after this.
    pub(crate) fn invalidate_args<'a>(&self, args: impl Iterator<Item = &'a [u8]>) {
        if self.ignore_invalidations {
            return;
        }
        let models = read(&self.models);
        if models.is_empty() {
            return;
        }
        for arg in args {
            for (_, model) in models.iter() {
                model.invalidate(arg, "own_write");
            }
        }
    }

    /// Drops everything (a flush, or the tracking connection changed).
    fn clear(&self, cause: &'static str) {
        for (_, model) in read(&self.models).iter() {
            model.clear(cause);
        }
    }

    /// The tracking connection of `generation` has tracking on: start
    /// afresh (it replaces any earlier connection of its link, whose
    /// generations share its range; and on a cluster the cache cannot tell
    /// which node an entry was read from, so it drops them all).
    fn connected(&self, generation: u64) {
        let mut live = self.live();
        live.retain(|g| g / GENERATIONS_PER_LINK != generation / GENERATIONS_PER_LINK);
        self.clear("reconnect");
        live.push(generation);
        self.serving.store(true, Ordering::Release);
    }

    /// The tracking connection of `generation` is gone: drop everything (an
    /// entry may have been read on it, and nothing reports its key's
    /// changes now); nothing is served until a connection is live again.
    pub(crate) fn lost(&self, generation: u64) {
        let mut live = self.live();
        let Some(at) = live.iter().position(|g| *g == generation) else {
            return;
        };
        live.swap_remove(at);
        self.serving.store(!live.is_empty(), Ordering::Release);
        self.clear("reconnect");
    }

    /// On a cluster, slots have moved since entries were read: drop them all.
    fn slots_moved(&self) {
        self.clear("topology");
    }

    /// A message the server pushed on the tracking connection.
    fn pushed(&self, generation: u64, info: &PushInfo) {
        match info.kind {
            PushKind::Invalidate if !self.ignore_invalidations => match info.data.first() {
                Some(Value::Array(keys)) => {
                    let models = read(&self.models);
                    for key in keys {
                        if let Value::BulkString(key) = key {
                            for (_, model) in models.iter() {
                                model.invalidate(key, "tracking");
                            }
                        }
                    }
                }
                // A flush: the server names no keys.
                _ => self.clear("flush"),
            },
            PushKind::Disconnection => self.lost(generation),
            _ => {}
        }
    }

    /// Per model, what its cache has done.
    pub(crate) fn stats(&self) -> Vec<ModelCacheStats> {
        let mut all: Vec<ModelCacheStats> =
            read(&self.models).iter().map(|(_, m)| m.stats()).collect();
        all.sort_by(|a, b| a.model.cmp(&b.model));
        all
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}

/// The generations of one tracking link (a cluster has one per node).
const GENERATIONS_PER_LINK: u64 = 1 << 32;

/// The link's hooks for the tracking connection (see
/// [`crate::connection::Tracking`]).
pub(crate) struct TrackingHooks {
    cache: Weak<ClientCache>,
}

impl TrackingHooks {
    pub(crate) fn new(cache: &Arc<ClientCache>) -> TrackingHooks {
        TrackingHooks {
            cache: Arc::downgrade(cache),
        }
    }
}

/// Applies the pushes of one tracking connection, in the connection's
/// driver, in the order they arrive among the replies.
struct PushSink {
    cache: Weak<ClientCache>,
    generation: u64,
}

impl AsyncPushSender for PushSink {
    fn send(&self, info: PushInfo) -> Result<(), SendError> {
        if let Some(cache) = self.cache.upgrade() {
            cache.pushed(self.generation, &info);
        }
        Ok(())
    }
}

impl crate::connection::Tracking for TrackingHooks {
    fn config(&self, base: &AsyncConnectionConfig, generation: u64) -> AsyncConnectionConfig {
        base.clone().set_push_sender(PushSink {
            cache: self.cache.clone(),
            generation,
        })
    }

    fn setup(
        &self,
        mut connection: MultiplexedConnection,
        generation: u64,
    ) -> BoxFuture<'static, RedisResult<()>> {
        let cache = self.cache.clone();
        async move {
            redis::cmd("CLIENT")
                .arg("TRACKING")
                .arg("ON")
                .arg("OPTIN")
                .query_async::<()>(&mut connection)
                .await?;
            if let Some(cache) = cache.upgrade() {
                cache.connected(generation);
            }
            Ok(())
        }
        .boxed()
    }

    fn lost(&self, generation: u64) {
        if let Some(cache) = self.cache.upgrade() {
            cache.lost(generation);
        }
    }

    fn slots_moved(&self) {
        if let Some(cache) = self.cache.upgrade() {
            cache.slots_moved();
        }
    }
}

/// The most shards of a model's cache (each with its share of the budget).
const MAX_SHARDS: usize = 16;
/// The least of `max_bytes` a shard is given: a smaller byte budget gets
/// fewer shards, so that one shard can still hold a sizeable reply.
const SHARD_MIN_BYTES: usize = 64 << 10;

/// How many shards a model of `policy` gets: up to [`MAX_SHARDS`], no more
/// than `max_entries` and than `max_bytes` has [`SHARD_MIN_BYTES`], at least one.
fn shard_count(policy: &ClientCachePolicy) -> usize {
    MAX_SHARDS
        .min(policy.max_entries)
        .min(policy.max_bytes / SHARD_MIN_BYTES)
        .max(1)
}
/// What an entry costs beyond its key and reply bytes.
const ENTRY_OVERHEAD: usize = 64;

/// One model's cache.
pub(crate) struct ModelCache {
    name: &'static str,
    policy: ClientCachePolicy,
    /// Whether a reply read while its key did not exist is kept (see
    /// [`ClientCache`]'s field).
    keep_absent: bool,
    hasher: std::collections::hash_map::RandomState,
    shards: Box<[Mutex<Shard>]>,
    hits: AtomicU64,
    hit_counter: observe::HitCounter,
    misses: AtomicU64,
    invalidations: AtomicU64,
    evictions: AtomicU64,
}

struct Shard {
    map: KeyMap,
    /// Keys in CLOCK order, with their hash and the entry they were pushed for.
    clock: VecDeque<(Box<[u8]>, u64, u64)>,
    bytes: usize,
}

struct Entry {
    /// Which reservation made it.
    id: u64,
    /// Served until then (the key's TTL, or the model's bound).
    expires: Instant,
    /// Read since the CLOCK hand last passed.
    referenced: bool,
    /// Per op, what is held and its size against `max_bytes`.
    values: Vec<(Op, Held, usize)>,
    bytes: usize,
}

impl ModelCache {
    fn new(name: &'static str, policy: ClientCachePolicy, keep_absent: bool) -> ModelCache {
        ModelCache {
            name,
            policy,
            keep_absent,
            hasher: Default::default(),
            shards: (0..shard_count(&policy))
                .map(|_| {
                    Mutex::new(Shard {
                        map: KeyMap(HashTable::new()),
                        clock: VecDeque::new(),
                        bytes: 0,
                    })
                })
                .collect(),
            hits: AtomicU64::new(0),
            hit_counter: observe::HitCounter::new(name),
            misses: AtomicU64::new(0),
            invalidations: AtomicU64::new(0),
            evictions: AtomicU64::new(0),
        }
    }

    /// The shard of `key`, and the key's hash (hashed once: it picks the
    /// shard and finds the entry in it).
    fn shard(&self, key: &[u8]) -> (MutexGuard<'_, Shard>, u64, usize) {
        let hash = self.hasher.hash_one(key);
        let index = (hash >> 32) as usize % self.shards.len();
        let shard = self.shards[index].lock().unwrap_or_else(|p| p.into_inner());
        (shard, hash, index)
    }

    /// The budget of shard `index`: the policy's split evenly, the
    /// remainders to the first shards, so that the shards' budgets add up
    /// to the policy's exactly.
    fn shard_budget(&self, index: usize) -> (usize, usize) {
        let n = self.shards.len();
        let share = |total: usize| total / n + usize::from(index < total % n);
        (share(self.policy.max_entries), share(self.policy.max_bytes))
    }

    /// What `take` makes of the reply `op` of `key`, if held and not
    /// expired (`None` from `take`: not a hit).
    pub(crate) fn get_with<T>(
        &self,
        key: &[u8],
        op: Op,
        take: impl FnOnce(&Held) -> Option<T>,
    ) -> Option<T> {
        let (mut shard, hash, _) = self.shard(key);
        let entry = shard.map.get_mut(hash, key)?;
        if Instant::now() >= entry.expires {
            if !entry.values.is_empty() {
                shard.remove(hash, key);
            }
            return None;
        }
        let value = take(&entry.values.iter().find(|(o, _, _)| o == &op)?.1)?;
        entry.referenced = true;
        Some(value)
    }

    /// The raw reply `op` of `key`, if held and not expired.
    pub(crate) fn get_raw(&self, key: &[u8], op: Op) -> Option<Value> {
        self.get_with(key, op, |held| match held {
            Held::Raw(value) => Some(value.clone()),
            Held::Decoded(_) => None,
        })
    }

    /// The decoded reply `op` of `key` (a `T`), if held and not expired.
    pub(crate) fn get_decoded<T: Clone + 'static>(&self, key: &[u8], op: Op) -> Option<T> {
        self.get_with(key, op, |held| match held {
            Held::Decoded(value) => value.downcast_ref::<T>().cloned(),
            Held::Raw(_) => None,
        })
    }

    /// Counts a hit (the store calls it so that the metric and the count agree).
    pub(crate) fn hit(&self) {
        self.hits.fetch_add(1, Ordering::Relaxed);
        self.hit_counter.hit();
    }

    /// Counts a miss.
    pub(crate) fn miss(&self, n: usize) {
        self.misses.fetch_add(n as u64, Ordering::Relaxed);
        observe::client_cache_miss(self.name, n);
    }

    /// Reserves the entry of `key` (a live one is kept and filled further).
    fn reserve(&self, key: &[u8], fresh: u64) -> Ticket {
        let (mut shard, hash, index) = self.shard(key);
        let now = Instant::now();
        if let Some(entry) = shard.map.get(hash, key)
            && now < entry.expires
        {
            return Ticket { entry: entry.id };
        }
        shard.remove(hash, key);
        let bytes = key.len() + ENTRY_OVERHEAD;
        shard.map.insert(
            hash,
            key.into(),
            Entry {
                id: fresh,
                expires: now + self.policy.ttl,
                referenced: false,
                values: Vec::new(),
                bytes,
            },
        );
        shard.bytes += bytes;
        shard.clock.push_back((key.into(), hash, fresh));
        let evicted = shard.evict(self.shard_budget(index));
        drop(shard);
        self.evicted(evicted);
        Ticket { entry: fresh }
    }

    /// Keeps the reply `op` of `key` read under `ticket`, if nothing
    /// invalidated the key since; `pttl` is the key's `PTTL` read with it,
    /// `sent` when the read was sent.
    pub(crate) fn fill(
        &self,
        key: &[u8],
        ticket: Ticket,
        op: Op,
        value: &Value,
        pttl: i64,
        sent: Instant,
    ) {
        let size = value_bytes(value);
        self.fill_held(key, ticket, op, Held::Raw(value.clone()), size, pttl, sent);
    }

    /// [`ModelCache::fill`] with what to hold and what it counts against
    /// `max_bytes` (the bytes of the reply it was decoded from).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn fill_held(
        &self,
        key: &[u8],
        ticket: Ticket,
        op: Op,
        held: Held,
        size: usize,
        pttl: i64,
        sent: Instant,
    ) {
        let (mut shard, hash, index) = self.shard(key);
        let Some(entry) = shard.map.get_mut(hash, key) else {
            return;
        };
        if entry.id != ticket.entry {
            return;
        }
        // `PTTL` says -2 for a key that does not exist.
        if pttl == -2 && !self.keep_absent {
            if entry.values.is_empty() {
                shard.remove(hash, key);
            }
            return;
        }
        if pttl >= 0 {
            let server = sent + Duration::from_millis(pttl.unsigned_abs());
            entry.expires = entry.expires.min(server);
        }
        let mut delta = size as isize;
        match entry.values.iter_mut().find(|(o, _, _)| o == &op) {
            Some(slot) => {
                delta -= slot.2 as isize;
                slot.1 = held;
                slot.2 = size;
            }
            None => entry.values.push((op, held, size)),
        }
        entry.bytes = entry.bytes.saturating_add_signed(delta);
        shard.bytes = shard.bytes.saturating_add_signed(delta);
        let evicted = shard.evict(self.shard_budget(index));
        drop(shard);
        self.evicted(evicted);
    }

    fn evicted(&self, n: usize) {
        if n > 0 {
            self.evictions.fetch_add(n as u64, Ordering::Relaxed);
            observe::client_cache_evicted(self.name, n);
        }
    }

    fn invalidate(&self, key: &[u8], cause: &'static str) {
        let (mut shard, hash, _) = self.shard(key);
        let had = shard.remove(hash, key);
        drop(shard);
        if had {
            self.invalidations.fetch_add(1, Ordering::Relaxed);
            observe::client_cache_invalidated(self.name, cause, 1);
        }
    }

    fn clear(&self, cause: &'static str) {
        let mut n = 0;
        for shard in self.shards.iter() {
            let mut shard = shard.lock().unwrap_or_else(|p| p.into_inner());
            n += shard.map.len();
            shard.map.0.clear();
            shard.clock.clear();
            shard.bytes = 0;
        }
        if n > 0 {
            self.invalidations.fetch_add(n as u64, Ordering::Relaxed);
            observe::client_cache_invalidated(self.name, cause, n);
        }
    }

    fn stats(&self) -> ModelCacheStats {
        let (mut entries, mut bytes) = (0, 0);
        for shard in self.shards.iter() {
            let shard = shard.lock().unwrap_or_else(|p| p.into_inner());
            entries += shard.map.len() as u64;
            bytes += shard.bytes as u64;
        }
        ModelCacheStats {
            model: self.name.to_owned(),
            policy: self.policy,
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            invalidations: self.invalidations.load(Ordering::Relaxed),
            evictions: self.evictions.load(Ordering::Relaxed),
            entries,
            bytes,
        }
    }
}

impl Shard {
    /// Removes the entry of `key`; whether there was one.
    fn remove(&mut self, hash: u64, key: &[u8]) -> bool {
        match self.map.remove(hash, key) {
            Some(entry) => {
                self.bytes -= entry.bytes;
                self.compact();
                true
            }
            None => false,
        }
    }

    /// Drops the CLOCK's stale keys when they outnumber the entries.
    fn compact(&mut self) {
        if self.clock.len() > 2 * self.map.len() + 64 {
            let map = &self.map;
            self.clock
                .retain(|(key, hash, id)| map.get(*hash, key).is_some_and(|e| e.id == *id));
        }
    }

    /// Evicts in CLOCK order until within `(entries, bytes)`; how many went.
    fn evict(&mut self, (max_entries, max_bytes): (usize, usize)) -> usize {
        let mut evicted = 0;
        // Each entry is passed at most twice (once to clear its bit).
        let mut budget = 2 * self.clock.len() + 1;
        while (self.map.len() > max_entries || self.bytes > max_bytes) && budget > 0 {
            budget -= 1;
            let Some((key, hash, id)) = self.clock.pop_front() else {
                break;
            };
            let Some(entry) = self.map.get_mut(hash, &key) else {
                continue;
            };
            if entry.id != id {
                continue;
            }
            if entry.referenced {
                entry.referenced = false;
                self.clock.push_back((key, hash, id));
                continue;
            }
            if let Some(entry) = self.map.remove(hash, &key) {
                self.bytes -= entry.bytes;
                evicted += 1;
            }
        }
        evicted
    }
}

/// A shard's entries by key, found by the hash the shard was picked with.
struct KeyMap(HashTable<(Box<[u8]>, u64, Entry)>);

impl KeyMap {
    fn get(&self, hash: u64, key: &[u8]) -> Option<&Entry> {
        self.0
            .find(hash, |(k, _, _)| **k == *key)
            .map(|(_, _, e)| e)
    }

    fn get_mut(&mut self, hash: u64, key: &[u8]) -> Option<&mut Entry> {
        self.0
            .find_mut(hash, |(k, _, _)| **k == *key)
            .map(|(_, _, e)| e)
    }

    fn remove(&mut self, hash: u64, key: &[u8]) -> Option<Entry> {
        let found = self.0.find_entry(hash, |(k, _, _)| **k == *key).ok()?;
        Some(found.remove().0.2)
    }

    /// Inserts the entry of a key that has none.
    fn insert(&mut self, hash: u64, key: Box<[u8]>, entry: Entry) {
        self.0
            .insert_unique(hash, (key, hash, entry), |(_, h, _)| *h);
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

/// What a reply costs against `max_bytes`.
pub(crate) fn value_bytes(value: &Value) -> usize {
    32 + match value {
        Value::BulkString(bytes) => bytes.len(),
        Value::SimpleString(s) => s.len(),
        Value::Array(items) | Value::Set(items) => items.iter().map(value_bytes).sum(),
        Value::Map(pairs) => pairs
            .iter()
            .map(|(k, v)| value_bytes(k) + value_bytes(v))
            .sum(),
        _ => 0,
    }
}

/// Whether a type is `Clone`, asked where the type is known (the derive's
/// [`Family::cache_clone`](crate::Family::cache_clone)): `(&CloneProbe::<T>::NEW).clone_fn()`
/// is `Some(T::clone)` for a `Clone` type and `None` otherwise (method
/// resolution tries [`ViaClone`] on `CloneProbe<T>` before [`ViaNothing`]
/// on `&CloneProbe<T>`).
#[doc(hidden)]
pub struct CloneProbe<T>(std::marker::PhantomData<fn() -> T>);

impl<T> CloneProbe<T> {
    /// The probe.
    pub const NEW: CloneProbe<T> = CloneProbe(std::marker::PhantomData);
}

/// The probe's answer for a `Clone` type.
#[doc(hidden)]
pub trait ViaClone<T> {
    /// `Some(T::clone)`.
    fn clone_fn(&self) -> Option<fn(&T) -> T>;
}

impl<T: Clone> ViaClone<T> for CloneProbe<T> {
    fn clone_fn(&self) -> Option<fn(&T) -> T> {
        Some(T::clone)
    }
}

/// The probe's answer for any other type.
#[doc(hidden)]
pub trait ViaNothing<T> {
    /// `None`.
    fn clone_fn(&self) -> Option<fn(&T) -> T>;
}

impl<T> ViaNothing<T> for &CloneProbe<T> {
    fn clone_fn(&self) -> Option<fn(&T) -> T> {
        None
    }
}
