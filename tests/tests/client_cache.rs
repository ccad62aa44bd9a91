//! Client-side caching (`#[redis(client_cache)]`, RESP3 tracking) on a real
//! server: another client's writes, expiries, deletes and flushes, the
//! store's own writes, a server restart, the budget and the metrics. (The
//! same on a Redis Cluster: `client_cache_cluster.rs`.)
//!
//! Set `REDIS_RUNTIME_TEST_IGNORE_INVALIDATIONS=1` to run the stores with a
//! cache that ignores every invalidation: the interleaving tests then fail,
//! which shows that they can.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use redis_runtime::collection::{Bound, Order};
use redis_runtime::testing::RedisServer;
use redis_runtime::{
    Config, RedisCounter, RedisList, RedisMap, RedisModel, RedisSet, RedisSortedSet, Store,
    keyspace,
};
use serde::{Deserialize, Serialize};

/// A cached hash model.
#[derive(Debug, Clone, PartialEq, RedisModel)]
#[redis(key = "cuser:{id}", client_cache, ttl = "1h")]
struct CUser {
    id: u64,
    name: String,
    visits: i64,
}

/// A cached JSON model with its own bounds.
#[derive(Debug, Clone, PartialEq, RedisModel, Serialize, Deserialize)]
#[redis(
    key = "cdoc:{id}",
    encoding = "json",
    client_cache(ttl = "10m", max_entries = 1000)
)]
struct CDoc {
    id: u64,
    body: String,
}

/// A cached MessagePack model with a small budget.
#[derive(Debug, Clone, PartialEq, RedisModel, Serialize, Deserialize)]
#[redis(
    key = "cblob:{id}",
    encoding = "msgpack",
    client_cache(max_entries = 32)
)]
struct CBlob {
    id: u64,
    bytes: Vec<u8>,
}

/// An uncached model beside them.
#[derive(Debug, Clone, PartialEq, RedisModel)]
#[redis(key = "plain:{id}")]
struct Plain {
    id: u64,
    n: i64,
}

/// A cached set.
#[derive(RedisSet)]
#[redis(key = "cset:{id}", member = String, client_cache)]
struct CSet {
    id: u64,
}

/// A cached map.
#[derive(RedisMap)]
#[redis(key = "cmap:{id}", field = String, value = i64, client_cache(ttl = "1m"))]
struct CMap {
    id: u64,
}

/// A cached sorted set.
#[derive(RedisSortedSet)]
#[redis(key = "czset:{id}", member = String, score = f64, client_cache)]
struct CZSet {
    id: u64,
}

/// A cached list.
#[derive(RedisList)]
#[redis(key = "clist:{id}", item = String, client_cache(max_entries = 100))]
struct CList {
    id: u64,
}

/// A cached counter.
#[derive(RedisCounter)]
#[redis(key = "ccount:{id}", client_cache)]
struct CCount {
    id: u64,
}

keyspace! {
    /// The models of these tests.
    CACHE_MODELS = [CUser, CDoc, CBlob, Plain, CSet, CMap, CZSet, CList, CCount];
}

const APP_PASSWORD: &str = "cache-secret";

fn ignoring_invalidations() -> bool {
    std::env::var("REDIS_RUNTIME_TEST_IGNORE_INVALIDATIONS").is_ok_and(|v| v == "1")
}

/// A small deterministic generator (xorshift), seeded per test.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Creates the least-privilege `app` user for the namespace (from the
/// keyspace's ACL rule) and connects two stores as it: the reader with the
/// client cache on, the writer without.
async fn stores(server: &RedisServer, namespace: &str) -> (Store, Store) {
    let rule = CACHE_MODELS.manifest(&format!("{namespace}:")).acl_rule();
    let mut admin = server.raw_connection().await.unwrap();
    let mut setuser = redis::cmd("ACL");
    setuser
        .arg("SETUSER")
        .arg("app")
        .arg("reset")
        .arg("on")
        .arg(format!(">{APP_PASSWORD}"));
    for arg in rule.setuser_args() {
        setuser.arg(arg);
    }
    let _: () = setuser.query_async(&mut admin).await.unwrap();
    let url = format!("{}?user=app&pass={APP_PASSWORD}", server.url());
    let builder = Config::builder().url(url).namespace(namespace);
    let cached = match ignoring_invalidations() {
        true => builder.clone().client_cache_ignoring_invalidations(),
        false => builder.clone().client_cache(true),
    };
    let reader = Store::connect(&cached.build().unwrap()).await.unwrap();
    let writer = Store::connect(&builder.build().unwrap()).await.unwrap();
    (reader, writer)
}

/// Reads `id` every cached way and checks each against what the uncached
/// `truth` store reads now.
async fn check_fresh(reader: &Store, truth: &Store, id: u64, context: &str) {
    let expected = truth.get::<CUser>(&id).await.unwrap();
    assert_eq!(
        reader.get::<CUser>(&id).await.unwrap(),
        expected,
        "get: {context}"
    );
    let name = reader.get_field(&id, CUser::fields().name).await.unwrap();
    assert_eq!(
        name,
        expected.as_ref().map(|u| u.name.clone()),
        "get_field: {context}"
    );
    let exists = reader.exists::<CUser>(&id).await.unwrap();
    assert_eq!(exists, expected.is_some(), "exists: {context}");
    let shared = reader.get_shared::<CUser>(&id).await.unwrap();
    assert_eq!(
        shared.as_deref(),
        expected.as_ref(),
        "get_shared: {context}"
    );
    let f = CUser::fields();
    assert_eq!(
        reader.get_fields(&id, (f.name, f.visits)).await.unwrap(),
        truth.get_fields(&id, (f.name, f.visits)).await.unwrap(),
        "get_fields: {context}"
    );
    let ids = [id, (id + 1) % KEYS];
    let many = reader.get_many::<CUser>(&ids).await.unwrap();
    assert_eq!(
        many,
        truth.get_many::<CUser>(&ids).await.unwrap(),
        "get_many: {context}"
    );
    let doc = truth.get::<CDoc>(&id).await.unwrap();
    assert_eq!(
        reader.get::<CDoc>(&id).await.unwrap(),
        doc,
        "json get: {context}"
    );
}

const KEYS: u64 = 6;

/// Background readers: keep reads of every key in flight on the cached
/// store, so that replies race with invalidations.
fn hammer(reader: &Store, stop: &Arc<AtomicBool>, seed: u64) -> tokio::task::JoinHandle<u64> {
    let (reader, stop) = (reader.clone(), stop.clone());
    tokio::spawn(async move {
        let mut rng = Rng(seed);
        let mut reads = 0;
        while !stop.load(Ordering::Relaxed) {
            let id = rng.below(KEYS);
            let f = CUser::fields();
            let _ = match rng.below(6) {
                0 => reader.get::<CUser>(&id).await.map(drop),
                1 => reader.get_field(&id, f.name).await.map(drop),
                2 => reader.exists::<CUser>(&id).await.map(drop),
                3 => reader.get_shared::<CUser>(&id).await.map(drop),
                4 => reader.get_fields(&id, (f.name, f.visits)).await.map(drop),
                _ => reader.get::<CDoc>(&id).await.map(drop),
            };
            reads += 1;
            tokio::task::yield_now().await;
        }
        reads
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_after_another_clients_write_see_it() {
    let server = RedisServer::start().unwrap();
    let (reader, writer) = stores(&server, "cc").await;
    let mut admin = server.raw_connection().await.unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let hammers: Vec<_> = (0..3).map(|n| hammer(&reader, &stop, 77 + n)).collect();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..1500u64 {
        let id = rng.below(KEYS);
        // Make sure the key is cached (or its absence is) before it changes.
        let _ = reader.get::<CUser>(&id).await.unwrap();
        let _ = reader.get_field(&id, CUser::fields().name).await.unwrap();
        let _ = reader.exists::<CUser>(&id).await.unwrap();
        let _ = reader.get::<CDoc>(&id).await.unwrap();
        let action = rng.below(20);
        let what = match action {
            0..=4 => {
                let user = CUser {
                    id,
                    name: format!("r{round}"),
                    visits: round as i64,
                };
                writer.save(&user).await.unwrap();
                writer
                    .save(&CDoc {
                        id,
                        body: format!("b{round}"),
                    })
                    .await
                    .unwrap();
                "save"
            }
            5..=7 => {
                writer
                    .set_field(&id, CUser::fields().name, &format!("f{round}"))
                    .await
                    .unwrap();
                "set_field"
            }
            8..=9 => {
                writer.incr(&id, CUser::fields().visits, 1).await.unwrap();
                "incr"
            }
            10..=12 => {
                writer.delete::<CUser>(&id).await.unwrap();
                writer.delete::<CDoc>(&id).await.unwrap();
                "delete"
            }
            13..=15 => {
                // Expires on the server: wait until the server says it is
                // gone (an uncached read of the truth), not for a time.
                if writer
                    .expire::<CUser>(&id, Duration::from_millis(1))
                    .await
                    .unwrap()
                {
                    while writer.exists::<CUser>(&id).await.unwrap() {
                        tokio::task::yield_now().await;
                    }
                }
                "expire"
            }
            16 => {
                let _: () = redis::cmd("FLUSHDB").query_async(&mut admin).await.unwrap();
                "flushdb"
            }
            17 => {
                let _: () = redis::cmd("FLUSHALL")
                    .query_async(&mut admin)
                    .await
                    .unwrap();
                "flushall"
            }
            _ => {
                writer
                    .save(&CUser {
                        id,
                        name: format!("s{round}"),
                        visits: 0,
                    })
                    .await
                    .unwrap();
                "save again"
            }
        };
        // The writer's reply is back; the invalidation was sent before it.
        reader.sync_client_cache().await.unwrap();
        check_fresh(
            &reader,
            &writer,
            id,
            &format!("round {round}, after {what} of {id}"),
        )
        .await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut reads = 0;
    for h in hammers {
        reads += h.await.unwrap();
    }
    let stats = reader.client_cache_stats();
    let user = stats.iter().find(|s| s.model == "CUser").unwrap();
    assert!(
        user.hits > 0 && user.misses > 0 && user.invalidations > 0,
        "{stats:?}"
    );
    assert!(reads > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_writes_are_seen_as_soon_as_they_return() {
    let server = RedisServer::start().unwrap();
    let (cached, truth) = stores(&server, "own").await;
    let stop = Arc::new(AtomicBool::new(false));
    let hammers: Vec<_> = (0..3).map(|n| hammer(&cached, &stop, 5 + n)).collect();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for round in 0..1500u64 {
        let id = rng.below(KEYS);
        let _ = cached.get::<CUser>(&id).await.unwrap();
        let _ = cached.get_field(&id, CUser::fields().name).await.unwrap();
        let _ = cached.exists::<CUser>(&id).await.unwrap();
        let _ = cached.get::<CDoc>(&id).await.unwrap();
        let what = match rng.below(10) {
            0..=2 => {
                let user = CUser {
                    id,
                    name: format!("o{round}"),
                    visits: 1,
                };
                cached.save(&user).await.unwrap();
                cached
                    .save(&CDoc {
                        id,
                        body: format!("d{round}"),
                    })
                    .await
                    .unwrap();
                "save"
            }
            3 => {
                cached
                    .set_field(&id, CUser::fields().name, &format!("g{round}"))
                    .await
                    .unwrap();
                "set_field"
            }
            4 => {
                cached.incr(&id, CUser::fields().visits, 2).await.unwrap();
                "incr"
            }
            5 => {
                cached.delete::<CUser>(&id).await.unwrap();
                cached.delete::<CDoc>(&id).await.unwrap();
                "delete"
            }
            6 => {
                cached.take::<CUser>(&id).await.unwrap();
                "take"
            }
            7 => {
                let user = CUser {
                    id,
                    name: format!("i{round}"),
                    visits: 0,
                };
                cached.insert(&user).await.unwrap();
                "insert"
            }
            8 => {
                let ids: Vec<u64> = (0..KEYS).collect();
                cached.delete_many::<CUser>(&ids).await.unwrap();
                "delete_many"
            }
            _ => {
                let users: Vec<CUser> = (0..KEYS)
                    .map(|id| CUser {
                        id,
                        name: format!("m{round}"),
                        visits: 3,
                    })
                    .collect();
                cached.save_many(&users).await.unwrap();
                "save_many"
            }
        };
        // No sync: the store's own write is enough.
        check_fresh(
            &cached,
            &truth,
            id,
            &format!("round {round}, after own {what} of {id}"),
        )
        .await;
    }
    stop.store(true, Ordering::Relaxed);
    for h in hammers {
        h.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_server_is_never_answered_from_the_old_cache() {
    let mut server = RedisServer::start().unwrap();
    let base = server.config_builder().namespace("rs");
    let cached = match ignoring_invalidations() {
        true => base.clone().client_cache_ignoring_invalidations(),
        false => base.clone().client_cache(true),
    };
    let reader = Store::connect(&cached.build().unwrap()).await.unwrap();
    let writer = Store::connect(&base.build().unwrap()).await.unwrap();
    for round in 0..3u64 {
        for id in 0..KEYS {
            writer
                .save(&CUser {
                    id,
                    name: format!("before {round}"),
                    visits: 0,
                })
                .await
                .unwrap();
            // Cached now, and served from the cache the second time.
            let first = reader.get::<CUser>(&id).await.unwrap();
            assert_eq!(reader.get::<CUser>(&id).await.unwrap(), first);
        }
        let stop = Arc::new(AtomicBool::new(false));
        // Readers that keep reading (and caching) through the restart.
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let (reader, stop) = (reader.clone(), stop.clone());
                tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        for id in 0..KEYS {
                            let _ = reader.get::<CUser>(&id).await;
                        }
                        tokio::task::yield_now().await;
                    }
                })
            })
            .collect();
        server.restart().unwrap();
        // The restarted server is empty (no persistence); a new value is
        // written by the other store once it is back.
        let marker = format!("after {round}");
        for id in 0..KEYS {
            loop {
                match writer
                    .save(&CUser {
                        id,
                        name: marker.clone(),
                        visits: 1,
                    })
                    .await
                {
                    Ok(()) => break,
                    Err(_) => tokio::task::yield_now().await,
                }
            }
        }
        reader.sync_client_cache().await.unwrap();
        for id in 0..KEYS {
            let user = reader.get::<CUser>(&id).await.unwrap().unwrap();
            assert_eq!(
                user.name, marker,
                "read after the restart and the new write"
            );
        }
        stop.store(true, Ordering::Relaxed);
        for r in readers {
            r.await.unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_during_a_restart_never_go_back_to_the_old_value() {
    let mut server = RedisServer::start().unwrap();
    let base = server.config_builder().namespace("rb");
    let reader = Store::connect(&base.clone().client_cache(true).build().unwrap())
        .await
        .unwrap();
    let writer = Store::connect(&base.build().unwrap()).await.unwrap();
    writer
        .save(&CUser {
            id: 1,
            name: "old".into(),
            visits: 0,
        })
        .await
        .unwrap();
    assert_eq!(reader.get::<CUser>(&1).await.unwrap().unwrap().name, "old");
    assert_eq!(reader.get::<CUser>(&1).await.unwrap().unwrap().name, "old");
    server.restart().unwrap();
    // The server is back and empty: from the first successful read on,
    // nothing may be "old".
    let mut successes = 0;
    while successes < 200 {
        match reader.get::<CUser>(&1).await {
            Ok(user) => {
                assert_eq!(user, None, "the old value was served after the restart");
                successes += 1;
            }
            Err(_) => tokio::task::yield_now().await,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_budget_bounds_each_model() {
    let server = RedisServer::start().unwrap();
    let store = Store::connect(
        &server
            .config_builder()
            .namespace("budget")
            .client_cache(true)
            .build()
            .unwrap(),
    )
    .await
    .unwrap();
    for id in 0..500u64 {
        store
            .save(&CBlob {
                id,
                bytes: vec![7; 100],
            })
            .await
            .unwrap();
        assert_eq!(
            store.get::<CBlob>(&id).await.unwrap().unwrap().bytes.len(),
            100
        );
    }
    let stats = store.client_cache_stats();
    let blob = stats.iter().find(|s| s.model == "CBlob").unwrap();
    assert!(blob.entries <= 32, "{blob:?}");
    assert!(blob.evictions >= 500 - 32, "{blob:?}");
    // Still correct after evictions.
    for id in 0..500u64 {
        assert_eq!(store.get::<CBlob>(&id).await.unwrap().unwrap().id, id);
    }
    // The health report (and so doctor) carries the stats.
    let health = store.health().await;
    assert!(health.client_cache.iter().any(|s| s.model == "CBlob"));
    assert!(health.to_string().contains("client cache CBlob"));
}

/// The documented metric names and label keys of docs/METRICS.md.
fn documented() -> BTreeMap<String, BTreeSet<String>> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/METRICS.md"))
        .unwrap();
    let mut table = BTreeMap::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 6 || !cells[1].starts_with("`redis_runtime_") {
            continue;
        }
        let labels = cells[4]
            .split(',')
            .map(|l| l.trim().trim_matches('`').to_owned())
            .collect();
        table.insert(cells[1].trim_matches('`').to_owned(), labels);
    }
    table
}

#[tokio::test(flavor = "current_thread")]
async fn hits_misses_and_invalidations_are_recorded_per_model_as_documented() {
    let server = RedisServer::start().unwrap();
    let base = server.config_builder().namespace("metrics");
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    {
        let _guard = metrics::set_default_local_recorder(&recorder);
        let cached = Store::connect(&base.clone().client_cache(true).build().unwrap())
            .await
            .unwrap();
        let other = Store::connect(&base.build().unwrap()).await.unwrap();
        cached
            .save(&CUser {
                id: 1,
                name: "a".into(),
                visits: 0,
            })
            .await
            .unwrap();
        cached.get::<CUser>(&1).await.unwrap(); // miss
        cached.get::<CUser>(&1).await.unwrap(); // hit
        other
            .save(&CUser {
                id: 1,
                name: "b".into(),
                visits: 0,
            })
            .await
            .unwrap();
        cached.sync_client_cache().await.unwrap(); // the invalidation is applied
        assert_eq!(cached.get::<CUser>(&1).await.unwrap().unwrap().name, "b"); // miss
        cached
            .save(&CUser {
                id: 1,
                name: "c".into(),
                visits: 0,
            })
            .await
            .unwrap(); // own write
        cached.get::<CDoc>(&9).await.unwrap(); // miss of another model
        cached.get::<Plain>(&9).await.unwrap(); // uncached: no cache metric
    }
    let table = documented();
    let mut counts: BTreeMap<(String, String, String), u64> = BTreeMap::new();
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let (_, key) = key.into_parts();
        let (name, labels) = key.into_parts();
        let labels: BTreeMap<String, String> = labels
            .into_iter()
            .map(|l| (l.key().to_owned(), l.value().to_owned()))
            .collect();
        let documented = table
            .get(name.as_str())
            .unwrap_or_else(|| panic!("`{}` is not documented in docs/METRICS.md", name.as_str()));
        let keys: BTreeSet<String> = labels.keys().cloned().collect();
        assert_eq!(&keys, documented, "the labels of `{}`", name.as_str());
        if let DebugValue::Counter(n) = value
            && name.as_str().starts_with("redis_runtime_client_cache")
        {
            let model = labels.get("model").cloned().unwrap_or_default();
            let cause = labels.get("cause").cloned().unwrap_or_default();
            *counts
                .entry((name.as_str().to_owned(), model, cause))
                .or_default() += n;
        }
    }
    let get = |name: &str, model: &str, cause: &str| {
        counts
            .get(&(
                format!("redis_runtime_client_cache_{name}"),
                model.into(),
                cause.into(),
            ))
            .copied()
            .unwrap_or(0)
    };
    assert_eq!(get("hits_total", "CUser", ""), 1, "{counts:?}");
    assert_eq!(get("misses_total", "CUser", ""), 2, "{counts:?}");
    assert_eq!(get("misses_total", "CDoc", ""), 1, "{counts:?}");
    // The other store's write arrives as a tracking message; the own write
    // drops the entry when its reply arrives, or its tracking message did.
    let tracking = get("invalidations_total", "CUser", "tracking");
    let own = get("invalidations_total", "CUser", "own_write");
    assert!(tracking >= 1 && tracking + own >= 2, "{counts:?}");
    assert!(
        !counts.keys().any(|(_, model, _)| model == "Plain"),
        "{counts:?}"
    );
}

// ---------------------------------------------------------------------------
// collections

/// Every cached read of the collections of `id`, as the store returns them
/// (sets and maps sorted, as their order is not defined).
#[derive(Debug, PartialEq)]
struct CollectionReads {
    members: Vec<String>,
    contains: Vec<bool>,
    set_len: u64,
    map_get: Option<i64>,
    map_all: Vec<(String, i64)>,
    map_len: u64,
    map_contains: bool,
    score: Option<f64>,
    range: Vec<(String, f64)>,
    range_by_score: Vec<(String, f64)>,
    rank: Option<u64>,
    zset_len: u64,
    list: Vec<String>,
    list_len: u64,
    list_get: Option<String>,
    counter: i64,
}

async fn collection_reads(store: &Store, id: u64) -> CollectionReads {
    let set = store.set::<CSet>(&id);
    let mut members = set.members().await.unwrap();
    members.sort();
    let names = ["a".to_owned(), "b".to_owned(), "c".to_owned()];
    let map = store.map::<CMap>(&id);
    let mut map_all = map.all().await.unwrap();
    map_all.sort();
    let zset = store.sorted_set::<CZSet>(&id);
    let list = store.list::<CList>(&id);
    CollectionReads {
        members,
        contains: set.contains_many(&names).await.unwrap(),
        set_len: set.len().await.unwrap(),
        map_get: map.get(&names[0]).await.unwrap(),
        map_all,
        map_len: map.len().await.unwrap(),
        map_contains: map.contains(&names[1]).await.unwrap(),
        score: zset.score(&names[0]).await.unwrap(),
        range: zset.range(0, -1, Order::Ascending).await.unwrap(),
        range_by_score: zset
            .range_by_score(
                Bound::Inclusive(1.0),
                Bound::Unbounded,
                Order::Descending,
                None,
            )
            .await
            .unwrap(),
        rank: zset.rank(&names[2]).await.unwrap(),
        zset_len: zset.len().await.unwrap(),
        list: list.range(0, -1).await.unwrap(),
        list_len: list.len().await.unwrap(),
        list_get: list.get(0).await.unwrap(),
        counter: store.counter::<CCount>(&id).get().await.unwrap(),
    }
}

/// One random write to the collections of `id` on a plain connection (raw
/// commands on the store's keys), as another client would.
async fn mutate_raw(
    con: &mut redis::aio::MultiplexedConnection,
    keys: &Store,
    id: u64,
    rng: &mut Rng,
    round: u64,
) -> &'static str {
    let key = |k: redis_runtime::key::RenderedKey| k.as_bytes().to_vec();
    let set = key(keys.key::<CSet>(&id).unwrap());
    let map = key(keys.key::<CMap>(&id).unwrap());
    let zset = key(keys.key::<CZSet>(&id).unwrap());
    let list = key(keys.key::<CList>(&id).unwrap());
    let counter = key(keys.key::<CCount>(&id).unwrap());
    let name = ["a", "b", "c"][rng.below(3) as usize];
    let mut cmd = redis::cmd("PING");
    let what = match rng.below(16) {
        0 => {
            cmd = redis::cmd("SADD");
            cmd.arg(&set).arg(name);
            "SADD"
        }
        1 => {
            cmd = redis::cmd("SREM");
            cmd.arg(&set).arg(name);
            "SREM"
        }
        2 => {
            cmd = redis::cmd("HSET");
            cmd.arg(&map).arg(name).arg(round);
            "HSET"
        }
        3 => {
            cmd = redis::cmd("HDEL");
            cmd.arg(&map).arg(name);
            "HDEL"
        }
        4 => {
            cmd = redis::cmd("ZADD");
            cmd.arg(&zset).arg(round % 5).arg(name);
            "ZADD"
        }
        5 => {
            cmd = redis::cmd("ZINCRBY");
            cmd.arg(&zset).arg(1).arg(name);
            "ZINCRBY"
        }
        6 => {
            cmd = redis::cmd("ZREM");
            cmd.arg(&zset).arg(name);
            "ZREM"
        }
        7 => {
            cmd = redis::cmd("RPUSH");
            cmd.arg(&list).arg(format!("\"{name}{round}\""));
            "RPUSH"
        }
        8 => {
            cmd = redis::cmd("LPOP");
            cmd.arg(&list);
            "LPOP"
        }
        9 => {
            // Fails (ERR no such key / index out of range) on an empty list:
            // then nothing changed.
            cmd = redis::cmd("LSET");
            cmd.arg(&list).arg(0).arg(format!("\"set{round}\""));
            "LSET"
        }
        10 => {
            cmd = redis::cmd("INCRBY");
            cmd.arg(&counter).arg(3);
            "INCRBY"
        }
        11 => {
            cmd = redis::cmd("SET");
            cmd.arg(&counter).arg(round);
            "SET"
        }
        12 => {
            cmd = redis::cmd("DEL");
            cmd.arg(&set).arg(&map).arg(&zset).arg(&list).arg(&counter);
            "DEL"
        }
        13 => {
            cmd = redis::cmd("RENAME");
            // Moves the map onto the set's key's neighbour id: both change.
            let other = key(keys.key::<CMap>(&((id + 1) % KEYS)).unwrap());
            cmd.arg(&map).arg(other);
            "RENAME"
        }
        14 => {
            cmd = redis::cmd("FLUSHDB");
            "FLUSHDB"
        }
        _ => {
            // Expire every key now: the server deletes (and invalidates) them.
            let mut pipe = redis::pipe();
            for k in [&set, &map, &zset, &list, &counter] {
                pipe.cmd("PEXPIRE").arg(k).arg(1).ignore();
            }
            let _: redis::RedisResult<()> = pipe.query_async(con).await;
            // Wait until the server says they are gone, not for a time.
            loop {
                let n: u64 = redis::cmd("EXISTS")
                    .arg(&set)
                    .arg(&map)
                    .arg(&zset)
                    .arg(&list)
                    .arg(&counter)
                    .query_async(con)
                    .await
                    .unwrap();
                if n == 0 {
                    break;
                }
                tokio::task::yield_now().await;
            }
            "PEXPIRE"
        }
    };
    let _: redis::RedisResult<redis::Value> = cmd.query_async(con).await;
    what
}

/// Background readers of the collections, so that replies race with
/// invalidations.
fn hammer_collections(
    reader: &Store,
    stop: &Arc<AtomicBool>,
    seed: u64,
) -> tokio::task::JoinHandle<u64> {
    let (reader, stop) = (reader.clone(), stop.clone());
    tokio::spawn(async move {
        let mut rng = Rng(seed);
        let mut reads = 0;
        while !stop.load(Ordering::Relaxed) {
            let id = rng.below(KEYS);
            let _ = match rng.below(5) {
                0 => reader.set::<CSet>(&id).members().await.map(drop),
                1 => reader.map::<CMap>(&id).all().await.map(drop),
                2 => reader
                    .sorted_set::<CZSet>(&id)
                    .range(0, -1, Order::Ascending)
                    .await
                    .map(drop),
                3 => reader.list::<CList>(&id).range(0, -1).await.map(drop),
                _ => reader.counter::<CCount>(&id).get().await.map(drop),
            };
            reads += 1;
            tokio::task::yield_now().await;
        }
        reads
    })
}

/// A plain connection changes the collections (raw commands, in random
/// order, with readers racing) while the caching store reads them: after
/// each write (and a round trip on the cache's connection), every cached
/// read equals what an uncached store reads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collection_reads_after_another_clients_write_see_it() {
    let server = RedisServer::start().unwrap();
    let (reader, truth) = stores(&server, "ccol").await;
    let mut raw = server.raw_connection().await.unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let hammers: Vec<_> = (0..3)
        .map(|n| hammer_collections(&reader, &stop, 31 + n))
        .collect();
    let mut rng = Rng(0x1234_5678_9abc_def1);
    for round in 0..600u64 {
        let id = rng.below(KEYS);
        // Cache every read of the key (or its absence) before it changes.
        let _ = collection_reads(&reader, id).await;
        let what = mutate_raw(&mut raw, &truth, id, &mut rng, round).await;
        reader.sync_client_cache().await.unwrap();
        assert_eq!(
            collection_reads(&reader, id).await,
            collection_reads(&truth, id).await,
            "round {round}, after {what} of {id}"
        );
    }
    stop.store(true, Ordering::Relaxed);
    for h in hammers {
        assert!(h.await.unwrap() > 0);
    }
    let stats = reader.client_cache_stats();
    for name in ["CSet", "CMap", "CZSet", "CList", "CCount"] {
        let s = stats.iter().find(|s| s.model == name).unwrap();
        assert!(
            s.hits > 0 && s.misses > 0 && s.invalidations > 0,
            "{stats:?}"
        );
    }
}

/// The caching store's own collection writes are seen by its next read,
/// without waiting for the server's invalidation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_collection_writes_are_seen_as_soon_as_they_return() {
    let server = RedisServer::start().unwrap();
    let (cached, truth) = stores(&server, "owncol").await;
    let stop = Arc::new(AtomicBool::new(false));
    let hammers: Vec<_> = (0..3)
        .map(|n| hammer_collections(&cached, &stop, 91 + n))
        .collect();
    let mut rng = Rng(0x0bad_cafe_f00d_d00d);
    for round in 0..600u64 {
        let id = rng.below(KEYS);
        let _ = collection_reads(&cached, id).await;
        let name = ["a", "b", "c"][rng.below(3) as usize].to_owned();
        let what = match rng.below(12) {
            0 => {
                cached.set::<CSet>(&id).add(&name).await.unwrap();
                "add"
            }
            1 => {
                cached.set::<CSet>(&id).remove(&name).await.unwrap();
                "remove"
            }
            2 => {
                cached
                    .map::<CMap>(&id)
                    .set(&name, &(round as i64))
                    .await
                    .unwrap();
                "map set"
            }
            3 => {
                cached.map::<CMap>(&id).incr(&name, 2).await.unwrap();
                "map incr"
            }
            4 => {
                cached.map::<CMap>(&id).remove(&name).await.unwrap();
                "map remove"
            }
            5 => {
                cached
                    .sorted_set::<CZSet>(&id)
                    .add(&name, (round % 7) as f64)
                    .await
                    .unwrap();
                "zadd"
            }
            6 => {
                cached
                    .sorted_set::<CZSet>(&id)
                    .incr(&name, 1.5)
                    .await
                    .unwrap();
                "zincr"
            }
            7 => {
                cached
                    .list::<CList>(&id)
                    .push_back(&format!("{name}{round}"))
                    .await
                    .unwrap();
                "push_back"
            }
            8 => {
                cached.list::<CList>(&id).pop_front().await.unwrap();
                "pop_front"
            }
            9 => {
                cached.counter::<CCount>(&id).incr(5).await.unwrap();
                "counter incr"
            }
            10 => {
                cached
                    .counter::<CCount>(&id)
                    .set(round as i64)
                    .await
                    .unwrap();
                "counter set"
            }
            _ => {
                // A blocking pop, on a connection of its own.
                cached
                    .list::<CList>(&id)
                    .pop_front_blocking(Duration::from_millis(1))
                    .await
                    .unwrap();
                "pop_front_blocking"
            }
        };
        // No sync: the write has returned, so it must be seen.
        assert_eq!(
            collection_reads(&cached, id).await,
            collection_reads(&truth, id).await,
            "round {round}, after {what} of {id}"
        );
    }
    stop.store(true, Ordering::Relaxed);
    for h in hammers {
        assert!(h.await.unwrap() > 0);
    }
}

#[test]
fn a_loop_of_hits_lets_the_tasks_behind_it_run() {
    // On a runtime of one thread, a task that only reads hits would never
    // yield if a hit did not spend the task's cooperative budget: the task
    // it spawned would never run, and the loop would never end.
    let server = RedisServer::start().unwrap();
    let config = server
        .config_builder()
        .namespace("coop")
        .client_cache(true)
        .build()
        .unwrap();
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let hits = runtime.block_on(async {
            let store = Store::connect(&config).await.unwrap();
            let user = CUser {
                id: 1,
                name: "n".into(),
                visits: 0,
            };
            store.save(&user).await.unwrap();
            // Every read of the loop cached first (a miss yields).
            store.get::<CUser>(&1).await.unwrap();
            store.get_shared::<CUser>(&1).await.unwrap();
            store.get_field(&1, CUser::fields().name).await.unwrap();
            store.get_many::<CUser>(&[1]).await.unwrap();
            let misses = store.client_cache_stats()[0].misses;
            let stop = Arc::new(AtomicBool::new(false));
            let other = tokio::spawn({
                let stop = stop.clone();
                async move { stop.store(true, Ordering::Relaxed) }
            });
            let mut hits = 0u64;
            while !stop.load(Ordering::Relaxed) {
                assert_eq!(store.get::<CUser>(&1).await.unwrap().as_ref(), Some(&user));
                let _ = store.get_shared::<CUser>(&1).await.unwrap();
                let _ = store.get_field(&1, CUser::fields().name).await.unwrap();
                let _ = store.get_many::<CUser>(&[1]).await.unwrap();
                hits += 4;
            }
            other.await.unwrap();
            assert_eq!(store.client_cache_stats()[0].misses, misses, "only hits");
            hits
        });
        let _ = done.send(hits);
    });
    let hits = finished
        .recv_timeout(Duration::from_secs(60))
        .expect("the loop of cache hits never let the task it spawned run");
    assert!(hits > 0);
}
