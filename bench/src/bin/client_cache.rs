//! Client-side caching (`#[redis(client_cache)]`, issue 15) against
//! hand-written redis-rs, side by side in one process, in rounds of shuffled
//! order (the median of the per-round throughput ratios, with its 10th–90th
//! percentile):
//!
//! - the cached typed `get` of the M8 user (hash, JSON, MessagePack), and
//!   `get_shared` (the decoded value the cache shares, an `Arc`), against
//!   hand-written uncached redis-rs (`HGETALL`/`GET` on a `ConnectionManager`,
//!   decoded by hand) and against hand-written redis-rs with `cache-aio`
//!   configured by hand (a RESP3 `MultiplexedConnection` with
//!   `CacheConfig::new()`, the same commands and decoding), with 1 task and
//!   with 64 tasks over 1000 fixtures, all cached (after the warm-up);
//! - a read-mostly mix (95 % `get`, 5 % `save`, 64 tasks) while a second
//!   client writes the same keys, cached against uncached hand-written, and
//!   the staleness window: how long after the second client's write returned
//!   a cached read still returned the old value;
//! - stale reads: a second connection overwrites a key while 8 tasks keep
//!   reading it; after each write, a round trip on the caching connection
//!   (so every invalidation sent before has arrived), then one read, which
//!   must see the write. Counted for the framework and for cache-aio.
//!
//! `cargo run --release -p redis-bench --bin client_cache [-- ROUNDS]`

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, MultiplexedConnection};
use redis::caching::CacheConfig;
use redis::{AsyncConnectionConfig, ProtocolVersion, Value};
use redis_bench::handwritten::{self, BenchModel};
use redis_bench::models::{
    CachedUser, CachedUserJson, CachedUserMsgpack, User, UserJson, UserMsgpack,
};
use redis_bench::server;
use redis_bench::stats::{Shuffler, Spread};
use redis_runtime::{Config, RedisModel, Store};

const FIXTURES: u64 = 1000;
/// Keys only the second writer of the mix writes (after the fixtures).
const WATCHED: u64 = 100;
const TASKS: u64 = 64;
/// Operations per run of a cached variant, and of an uncached one.
const CACHED_OPS: u64 = 200_000;
const UNCACHED_OPS: u64 = 10_000;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Variant {
    /// The framework, cached.
    Framework,
    /// Hand-written redis-rs, uncached.
    Uncached,
    /// Hand-written redis-rs with `cache-aio`.
    CacheAio,
    /// The framework, cached, `get_shared` (the decoded value, shared).
    Shared,
}

/// The connections of one run.
#[derive(Clone)]
struct Conns {
    store: Store,
    raw: ConnectionManager,
    aio: MultiplexedConnection,
}

/// A RESP3 connection with redis-rs's client-side cache, as its docs configure it.
async fn cache_aio(url: &str) -> MultiplexedConnection {
    let client = redis::Client::open(format!("{url}/?protocol=resp3")).unwrap();
    assert_eq!(
        client.get_connection_info().redis_settings().protocol(),
        ProtocolVersion::RESP3
    );
    let config = AsyncConnectionConfig::new().set_cache_config(CacheConfig::new());
    client
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .unwrap()
}

/// One read of fixture `n` by `variant`; the model read, checked.
async fn read<F, H>(conns: &mut Conns, variant: Variant, n: u64) -> u64
where
    F: RedisModel<Id = u64>,
    H: BenchModel,
{
    match variant {
        Variant::Framework => {
            let got = conns.store.get::<F>(&n).await.unwrap();
            assert!(got.is_some());
            n
        }
        Variant::Shared => {
            let got = conns.store.get_shared::<F>(&n).await.unwrap();
            assert!(got.is_some());
            n
        }
        Variant::Uncached => handwritten::get::<H>(&mut conns.raw, n)
            .await
            .unwrap()
            .unwrap()
            .number(),
        Variant::CacheAio => {
            let verb = if H::HASH { "HGETALL" } else { "GET" };
            let value: Value = redis::cmd(verb)
                .arg(H::hw_key(n))
                .query_async(&mut conns.aio)
                .await
                .unwrap();
            H::hw_decode(value).unwrap().unwrap().number()
        }
    }
}

/// Operations per second of `ops` reads by `variant` on `tasks` tasks.
async fn run_reads<F, H>(conns: &Conns, variant: Variant, tasks: u64, ops: u64) -> f64
where
    F: RedisModel<Id = u64>,
    H: BenchModel,
{
    let started = Instant::now();
    let per = ops / tasks;
    let handles: Vec<_> = (0..tasks)
        .map(|t| {
            let mut conns = conns.clone();
            tokio::spawn(async move {
                let mut sum = 0;
                for i in 0..per {
                    let n = (t * 7919 + i) % FIXTURES;
                    sum += read::<F, H>(&mut conns, variant, n).await;
                }
                sum
            })
        })
        .collect();
    for h in handles {
        std::hint::black_box(h.await.unwrap());
    }
    (per * tasks) as f64 / started.elapsed().as_secs_f64()
}

fn ops_of(variant: Variant) -> u64 {
    match variant {
        Variant::Uncached => UNCACHED_OPS,
        _ => CACHED_OPS,
    }
}

/// The get rows of one encoding: cached / uncached and cached / cache-aio.
async fn get_rows<F, H>(conns: &Conns, label: &str, rounds: usize, shuffler: &mut Shuffler)
where
    F: RedisModel<Id = u64>,
    H: BenchModel,
{
    for tasks in [1, TASKS] {
        let variants = [
            Variant::Framework,
            Variant::Uncached,
            Variant::CacheAio,
            Variant::Shared,
        ];
        for v in variants {
            run_reads::<F, H>(conns, v, tasks, ops_of(v) / 4).await;
        }
        let mut rates = vec![Vec::new(); variants.len()];
        for _ in 0..rounds {
            let mut order = [0, 1, 2, 3];
            shuffler.shuffle(&mut order);
            for i in order {
                let v = variants[i];
                rates[i].push(run_reads::<F, H>(conns, v, tasks, ops_of(v)).await);
            }
        }
        let ratio = |a: usize, b: usize| {
            Spread::of(
                &rates[a]
                    .iter()
                    .zip(&rates[b])
                    .map(|(x, y)| x / y)
                    .collect::<Vec<_>>(),
            )
        };
        let median = |i: usize| Spread::of(&rates[i]).median;
        println!(
            "| {label}, {tasks} task{} | {} | {} | {} | {} | {:.0} | {:.0} | {:.0} | {:.0} |",
            if tasks == 1 { "" } else { "s" },
            ratio(0, 1).show(),
            ratio(0, 2).show(),
            ratio(3, 1).show(),
            ratio(3, 2).show(),
            median(0),
            median(3),
            median(1),
            median(2),
        );
    }
}

/// The 95/5 mix on 64 tasks while a second client writes: operations per
/// second, and the staleness windows the second client observed.
async fn mix(url: &str, cached: bool) -> (f64, Vec<Duration>) {
    let store = Store::connect(
        &Config::builder()
            .url(url)
            .client_cache(cached)
            .build()
            .unwrap(),
    )
    .await
    .unwrap();
    let writer = server::store(url).await.unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let ops = Arc::new(AtomicU64::new(0));
    // The second client: writes a fixture, then reads it through the mixed
    // store (no sync) until it sees the write; the time that took is how long
    // the old value was still served.
    let observer = {
        let (store, stop) = (store.clone(), stop.clone());
        tokio::spawn(async move {
            let mut windows = Vec::new();
            let mut seq = 0u64;
            while !stop.load(Ordering::Relaxed) {
                seq += 1;
                // Keys the mix reads but never writes, so only this writer changes them.
                let n = FIXTURES + seq % WATCHED;
                let mut user = CachedUser::sample(n);
                user.age = seq as u32;
                // Make sure the mixed store holds the old value.
                store.get::<CachedUser>(&n).await.unwrap();
                writer.save(&user).await.unwrap();
                let returned = Instant::now();
                let mut last_stale = None;
                loop {
                    let started = Instant::now();
                    let seen = store.get::<CachedUser>(&n).await.unwrap().unwrap();
                    if seen.age == seq as u32 {
                        break;
                    }
                    last_stale = Some(started);
                    assert!(
                        returned.elapsed() < Duration::from_secs(10),
                        "the write was never seen"
                    );
                    tokio::task::yield_now().await;
                }
                // How long after the write returned the old value was still
                // served: when the last read that returned it began.
                windows.push(last_stale.map_or(Duration::ZERO, |t| t - returned));
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            windows
        })
    };
    let started = Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|t| {
            let (store, stop, ops) = (store.clone(), stop.clone(), ops.clone());
            tokio::spawn(async move {
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let n = (t * 7919 + i * 31) % (FIXTURES + WATCHED);
                    if i % 20 == 19 {
                        let n = n % FIXTURES;
                        store.save(&CachedUser::sample(n)).await.unwrap();
                    } else {
                        std::hint::black_box(store.get::<CachedUser>(&n).await.unwrap());
                        // A hit does not wait: let the other tasks (and the
                        // timer) run, as a service's request handling would.
                        if i.is_multiple_of(64) {
                            tokio::task::yield_now().await;
                        }
                    }
                    i += 1;
                    ops.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    let elapsed = started.elapsed();
    for t in tasks {
        t.await.unwrap();
    }
    let windows = observer.await.unwrap();
    (
        ops.load(Ordering::Relaxed) as f64 / elapsed.as_secs_f64(),
        windows,
    )
}

/// The hand-written uncached 95/5 mix (`HGETALL`; `MULTI DEL HSET PEXPIRE EXEC`).
async fn mix_handwritten(url: &str) -> f64 {
    let raw = server::baseline(url).await.unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let ops = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|t| {
            let (mut raw, stop, ops) = (raw.clone(), stop.clone(), ops.clone());
            tokio::spawn(async move {
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let n = (t * 7919 + i * 31) % (FIXTURES + WATCHED);
                    if i % 20 == 19 {
                        let n = n % FIXTURES;
                        handwritten::save(&mut raw, &User::sample(n)).await.unwrap();
                    } else {
                        std::hint::black_box(handwritten::get::<User>(&mut raw, n).await.unwrap());
                    }
                    i += 1;
                    ops.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    let elapsed = started.elapsed();
    for t in tasks {
        t.await.unwrap();
    }
    ops.load(Ordering::Relaxed) as f64 / elapsed.as_secs_f64()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// A second connection overwrites one key as fast as it can (`HSET age N`,
/// N = 1, 2, ...) while 8 tasks keep reading it through the cache; a checker
/// repeatedly takes the last N whose write has returned, makes a round trip
/// on the caching connection (so every invalidation sent before it has
/// arrived and been handled), then reads: a value below N is stale. Returns
/// (stale reads, reads).
async fn stale_reads(url: &str, framework: bool, checks: u64) -> (u64, u64) {
    let store = Store::connect(
        &Config::builder()
            .url(url)
            .client_cache(true)
            .build()
            .unwrap(),
    )
    .await
    .unwrap();
    let aio = cache_aio(url).await;
    let key = User::hw_key(0);
    let stop = Arc::new(AtomicBool::new(false));
    let returned = Arc::new(AtomicU64::new(0));
    let writer = {
        let (stop, returned, key) = (stop.clone(), returned.clone(), key.clone());
        let mut con = server::admin(url).await.unwrap();
        tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let _: () = redis::cmd("HSET")
                    .arg(&key)
                    .arg("age")
                    .arg(n)
                    .query_async(&mut con)
                    .await
                    .unwrap();
                returned.store(n, Ordering::Release);
            }
        })
    };
    let readers: Vec<_> = (0..8)
        .map(|_| {
            let (store, mut aio, stop, key) =
                (store.clone(), aio.clone(), stop.clone(), key.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    if framework {
                        let _ = store.get::<CachedUser>(&0).await.unwrap();
                    } else {
                        let _: Value = redis::cmd("HGETALL")
                            .arg(&key)
                            .query_async(&mut aio)
                            .await
                            .unwrap();
                    }
                    // A hit does not wait: let the writer and the checker run.
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    let mut stale = 0;
    let mut aio_sync = aio.clone();
    for _ in 0..checks {
        let floor = returned.load(Ordering::Acquire);
        let age = if framework {
            store.sync_client_cache().await.unwrap();
            store.get::<CachedUser>(&0).await.unwrap().unwrap().age as u64
        } else {
            // PING is not cacheable: a round trip on the caching connection.
            let _: () = redis::cmd("PING").query_async(&mut aio_sync).await.unwrap();
            let value: Value = redis::cmd("HGETALL")
                .arg(&key)
                .query_async(&mut aio_sync)
                .await
                .unwrap();
            User::hw_decode(value).unwrap().unwrap().age as u64
        };
        stale += u64::from(age < floor);
        tokio::task::yield_now().await;
    }
    stop.store(true, Ordering::Relaxed);
    writer.await.unwrap();
    for r in readers {
        r.await.unwrap();
    }
    (stale, checks)
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(9);
    let (redis, _core, _why) = server::start_server(true).expect("a private redis-server");
    let url = redis.url();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let conns = Conns {
            store: Store::connect(&Config::builder().url(&url).client_cache(true).build().unwrap())
                .await
                .unwrap(),
            raw: server::baseline(&url).await.unwrap(),
            aio: cache_aio(&url).await,
        };
        let mut admin = server::admin(&url).await.unwrap();
        server::reset(&mut admin).await.unwrap();
        let writer = server::store(&url).await.unwrap();
        for n in 0..FIXTURES + WATCHED {
            writer.save(&User::sample(n)).await.unwrap();
            writer.save(&UserJson::sample(n)).await.unwrap();
            writer.save(&UserMsgpack::sample(n)).await.unwrap();
        }
        let mut shuffler = Shuffler::new(0x5eed);
        println!(
            "| cached typed read (M8, {FIXTURES} keys, {rounds} rounds) | `get` / hand-written uncached | `get` / hand-written cache-aio | `get_shared` / hand-written uncached | `get_shared` / hand-written cache-aio | `get` op/s | `get_shared` op/s | uncached op/s | cache-aio op/s |"
        );
        println!("|---|---|---|---|---|---|---|---|---|");
        get_rows::<CachedUser, User>(&conns, "hash", rounds, &mut shuffler).await;
        get_rows::<CachedUserJson, UserJson>(&conns, "JSON", rounds, &mut shuffler).await;
        get_rows::<CachedUserMsgpack, UserMsgpack>(&conns, "MessagePack", rounds, &mut shuffler)
            .await;

        println!();
        println!(
            "| 95/5 get/save mix, 64 tasks, second writer (2 s) | op/s | old value still served after the second writer's write returned: p50 / p99 / max (writes) |"
        );
        println!("|---|---|---|");
        let hw = mix_handwritten(&url).await;
        println!("| hand-written uncached | {hw:.0} | — |");
        for cached in [false, true] {
            let (rate, mut windows) = mix(&url, cached).await;
            windows.sort();
            println!(
                "| framework, {} | {rate:.0} ({:.1}× hand-written) | {:?} / {:?} / {:?} ({}) |",
                if cached { "cached" } else { "uncached" },
                rate / hw,
                percentile(&windows, 0.5),
                percentile(&windows, 0.99),
                windows.last().copied().unwrap_or_default(),
                windows.len(),
            );
        }

        println!();
        println!(
            "| stale reads: a read after a round trip on the caching connection, below the last write that returned (8 readers, 1 writer) | stale / reads |"
        );
        println!("|---|---|");
        for framework in [true, false] {
            let (stale, checks) = stale_reads(&url, framework, 5000).await;
            println!(
                "| {} | {stale} / {checks} |",
                if framework {
                    "framework (`client_cache`)"
                } else {
                    "hand-written redis-rs cache-aio"
                }
            );
        }
    });
}
