//! The exact-counter gate for the collection kinds (sets, sorted sets,
//! counters, maps, lists and the reliable queue) and the conditional writes
//! of string-encoded entities: each operation sends what hand-written redis-rs code with
//! the same guarantee sends (the same commands, one round trip, the same
//! bytes both ways, byte for byte). The hand-written side is what a careful
//! service writes: one Lua script that runs a write and then its
//! `PEXPIRE ... NX` where the key has a TTL, so the TTL is armed once, never
//! lost, and never armed by a write the server refuses.
//!
//! The families are the benchmark's (`redis_bench::models`), and for the
//! operations the runner's collections scenario times, the hand-written side
//! is the benchmark's own (`redis_bench::handwritten::collections`): what is
//! timed there is what is proven equal here.

use redis::aio::MultiplexedConnection;
use redis_bench::BenchError;
use redis_bench::counters::{Env, PerOp, first_difference, measure};
use redis_bench::handwritten::collections as hw;
use redis_bench::models::{Board, Limit, Marks, Members};
use redis_bench::proxy::Proxy;
use redis_runtime::collection::{Bound, Order};
use redis_runtime::testing::RedisServer;
use redis_runtime::{RedisList, RedisModel};
use serde::{Deserialize, Serialize};

const REPS: u64 = 4;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Line {
    text: String,
}

#[derive(RedisList)]
#[redis(key = "room:{room}:history", item = Line, cap = 100, ttl = "1h")]
struct History {
    room: u64,
}

#[derive(RedisList)]
#[redis(key = "jobs:{queue}", hash_tag = "queue", item = Line, queue)]
struct Jobs {
    queue: u64,
}

#[derive(Debug, Clone, PartialEq, RedisModel, Serialize, Deserialize)]
#[redis(key = "token:{id}", encoding = "json", ttl = "1h")]
struct Token {
    id: u64,
    user: u64,
}

fn line_json() -> String {
    serde_json::to_string(&Line { text: "hi".into() }).unwrap()
}

fn token_json(i: u64) -> String {
    serde_json::to_string(&Token { id: i, user: 7 }).unwrap()
}

/// Flushes, runs `setup`, then measures `op` on one side.
async fn side(
    admin: &mut MultiplexedConnection,
    proxy: &Proxy,
    setup: &[redis::Cmd],
    op: impl AsyncFnMut(u64) -> Result<(), BenchError>,
) -> (PerOp, Vec<u8>) {
    redis::cmd("FLUSHALL")
        .arg("SYNC")
        .query_async::<()>(admin)
        .await
        .unwrap();
    for cmd in setup {
        cmd.query_async::<()>(admin).await.unwrap();
    }
    measure(admin, proxy, REPS, op).await.unwrap()
}

fn assert_same(label: &str, (f, fb): (PerOp, Vec<u8>), (h, hb): (PerOp, Vec<u8>)) {
    println!("{label}: {f:?}");
    assert_eq!(f, h, "{label}: counters differ from hand-written redis-rs");
    assert!(
        fb == hb,
        "{label}: different request bytes: {}",
        first_difference(&fb, &hb).unwrap_or_default()
    );
    // One round trip per operation; the ack's measurement includes the read
    // of the in-flight list that gives it its delivery.
    let trips = if label == "queue ack" { 2.0 } else { 1.0 };
    assert_eq!(f.round_trips, trips, "{label}: round trips: {f:?}");
    assert!(
        f.commands >= 1.0 && f.bytes_out > 0.0,
        "{label}: nothing measured"
    );
}

/// Runs one comparison: `$fw` with `store`, `$hw` with `raw`, both from the
/// same `setup`.
macro_rules! gate {
    ($env:ident, $label:expr, $setup:expr, |$store:ident, $i:ident| $fw:block, |$raw:ident, $j:ident| $hw:block) => {{
        let setup: Vec<redis::Cmd> = $setup;
        let $store = $env.store.clone();
        let fw = side(
            &mut $env.admin,
            &$env.fw_proxy,
            &setup,
            async |$i: u64| -> Result<(), BenchError> {
                $fw;
                Ok(())
            },
        )
        .await;
        let mut $raw = $env.raw.clone();
        let hw = side(
            &mut $env.admin,
            &$env.hw_proxy,
            &setup,
            async |$j: u64| -> Result<(), BenchError> {
                $hw;
                Ok(())
            },
        )
        .await;
        assert_same($label, fw, hw);
    }};
}

fn cmd(args: &[&str]) -> redis::Cmd {
    let mut cmd = redis::cmd(args[0]);
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    cmd
}

/// `SADD`-style setup of keys `prefix0..=prefix{REPS}`.
fn seeded(verb: &str, key: impl Fn(u64) -> String, rest: &[&str]) -> Vec<redis::Cmd> {
    (0..=REPS)
        .map(|i| {
            let mut c = redis::cmd(verb);
            c.arg(key(i));
            for arg in rest {
                c.arg(*arg);
            }
            c
        })
        .collect()
}

#[tokio::test(flavor = "current_thread")]
async fn collection_counters_equal_hand_written() {
    let server = RedisServer::builder().tcp().start().expect("redis-server");
    let mut env = Env::start(server.port().expect("tcp")).await.unwrap();
    let members = hw::members_key;
    let board = hw::board_key;
    let marks = hw::marks_key;

    // Sets: the creating add arms the TTL in the same script.
    gate!(
        env,
        "set add",
        vec![],
        |store, i| {
            assert!(store.set::<Members>(&i).add(&7).await?);
        },
        |raw, i| {
            assert!(hw::set_add(&mut raw, i, 7).await?);
        }
    );
    gate!(
        env,
        "set contains",
        seeded("SADD", members, &["7", "8"]),
        |store, i| {
            assert!(store.set::<Members>(&i).contains(&7).await?);
        },
        |raw, i| {
            assert!(hw::set_contains(&mut raw, i, 7).await?);
        }
    );
    gate!(
        env,
        "set members",
        seeded("SADD", members, &["7", "8"]),
        |store, i| {
            assert_eq!(store.set::<Members>(&i).members().await?.len(), 2);
        },
        |raw, i| {
            let all: Vec<u64> = cmd(&["SMEMBERS", &members(i)])
                .query_async(&mut raw)
                .await?;
            assert_eq!(all.len(), 2);
        }
    );
    gate!(
        env,
        "set remove",
        seeded("SADD", members, &["7"]),
        |store, i| {
            assert!(store.set::<Members>(&i).remove(&7).await?);
        },
        |raw, i| {
            let n: u64 = cmd(&["SREM", &members(i), "7"])
                .query_async(&mut raw)
                .await?;
            assert_eq!(n, 1);
        }
    );

    // Sorted sets.
    gate!(
        env,
        "sorted set add",
        vec![],
        |store, i| {
            assert!(
                store
                    .sorted_set::<Board>(&i)
                    .add(&"ada".to_owned(), 1.5)
                    .await?
            );
        },
        |raw, i| {
            let n: u64 = cmd(&["ZADD", &board(i), "1.5", "ada"])
                .query_async(&mut raw)
                .await?;
            assert_eq!(n, 1);
        }
    );
    gate!(
        env,
        "sorted set incr",
        seeded("ZADD", board, &["1.5", "ada"]),
        |store, i| {
            assert_eq!(
                store
                    .sorted_set::<Board>(&i)
                    .incr(&"ada".to_owned(), 2.0)
                    .await?,
                3.5
            );
        },
        |raw, i| {
            assert_eq!(hw::zincrby(&mut raw, i, "ada", 2.0).await?, 3.5);
        }
    );
    gate!(
        env,
        "sorted set top(10)",
        seeded("ZADD", board, &["1", "a", "2", "b", "3", "c"]),
        |store, i| {
            assert_eq!(store.sorted_set::<Board>(&i).top(10).await?.len(), 3);
        },
        |raw, i| {
            assert_eq!(hw::top(&mut raw, i, 10).await?.len(), 3);
        }
    );
    gate!(
        env,
        "sorted set range_by_score",
        seeded("ZADD", board, &["1", "a", "2", "b", "3", "c"]),
        |store, i| {
            let got = store
                .sorted_set::<Board>(&i)
                .range_by_score(
                    Bound::Inclusive(2.0),
                    Bound::Unbounded,
                    Order::Ascending,
                    Some((0, 10)),
                )
                .await?;
            assert_eq!(got.len(), 2);
        },
        |raw, i| {
            let got: Vec<(String, f64)> = cmd(&[
                "ZRANGE",
                &board(i),
                "2",
                "+inf",
                "BYSCORE",
                "LIMIT",
                "0",
                "10",
                "WITHSCORES",
            ])
            .query_async(&mut raw)
            .await?;
            assert_eq!(got.len(), 2);
        }
    );
    gate!(
        env,
        "sorted set score",
        seeded("ZADD", board, &["1.5", "ada"]),
        |store, i| {
            assert_eq!(
                store
                    .sorted_set::<Board>(&i)
                    .score(&"ada".to_owned())
                    .await?,
                Some(1.5)
            );
        },
        |raw, i| {
            let score: Option<f64> = cmd(&["ZSCORE", &board(i), "ada"])
                .query_async(&mut raw)
                .await?;
            assert_eq!(score, Some(1.5));
        }
    );

    // Counters: the window is armed by the creating increment, never extended.
    gate!(
        env,
        "counter incr",
        vec![],
        |store, i| {
            assert_eq!(store.counter::<Limit>(&i).incr(1).await?, 1);
        },
        |raw, i| {
            let n: i64 = hw::INCR_CREATING
                .key(hw::limit_key(i))
                .arg(60_000u64)
                .arg(1i64)
                .invoke_async(&mut raw)
                .await?;
            assert_eq!(n, 1);
        }
    );
    gate!(
        env,
        "counter hit",
        vec![],
        |store, i| {
            assert!(store.counter::<Limit>(&i).hit(5).await?.allowed());
        },
        |raw, i| {
            let (n, pttl) = hw::hit(&mut raw, i).await?;
            assert!(n <= 5 && pttl > 0);
        }
    );
    gate!(
        env,
        "counter get",
        seeded("SET", hw::limit_key, &["3"]),
        |store, i| {
            assert_eq!(store.counter::<Limit>(&i).get().await?, 3);
        },
        |raw, i| {
            let n: Option<i64> = cmd(&["GET", &hw::limit_key(i)])
                .query_async(&mut raw)
                .await?;
            assert_eq!(n, Some(3));
        }
    );

    // Lists: a capped push with a TTL is one script.
    let history = |i: u64| format!("room:{i}:history");
    gate!(
        env,
        "list push_back (capped)",
        vec![],
        |store, i| {
            assert_eq!(
                store
                    .list::<History>(&i)
                    .push_back(&Line { text: "hi".into() })
                    .await?,
                1
            );
        },
        |raw, i| {
            let len: u64 = hw::LIST_PUSH
                .key(history(i))
                .arg(3_600_000u64)
                .arg("RPUSH")
                .arg(-100i64)
                .arg(-1i64)
                .arg(line_json())
                .invoke_async(&mut raw)
                .await?;
            assert_eq!(len, 1);
        }
    );
    gate!(
        env,
        "list range",
        seeded("RPUSH", history, &[&line_json(), &line_json()]),
        |store, i| {
            assert_eq!(store.list::<History>(&i).range(0, -1).await?.len(), 2);
        },
        |raw, i| {
            let items: Vec<String> = cmd(&["LRANGE", &history(i), "0", "-1"])
                .query_async(&mut raw)
                .await?;
            let items: Vec<Line> = items
                .iter()
                .map(|j| serde_json::from_str(j).unwrap())
                .collect();
            assert_eq!(items.len(), 2);
        }
    );
    // The queue: a take is one LMOVE into the consumer's in-flight list.
    let jobs = |i: u64| format!("jobs:{{{i}}}");
    gate!(
        env,
        "queue take",
        seeded("RPUSH", jobs, &[&line_json()]),
        |store, i| {
            let taken = store.list::<Jobs>(&i).take("w1").await?;
            assert!(taken.is_some());
        },
        |raw, i| {
            let taken: Option<String> = cmd(&[
                "LMOVE",
                &jobs(i),
                &format!("jobs:{{{i}}}:inflight:w1"),
                "LEFT",
                "RIGHT",
            ])
            .query_async(&mut raw)
            .await?;
            assert!(taken.is_some());
        }
    );
    gate!(
        env,
        "queue ack",
        seeded(
            "RPUSH",
            |i| format!("jobs:{{{i}}}:inflight:w1"),
            &[&line_json()]
        ),
        |store, i| {
            let queue = store.list::<Jobs>(&i);
            // The delivery is rebuilt from the in-flight list (not measured: the
            // warm-up and every repetition read it first, on both sides).
            let held = queue.in_flight("w1").await?;
            assert!(queue.ack(&held[0]).await?);
        },
        |raw, i| {
            let flight = format!("jobs:{{{i}}}:inflight:w1");
            let held: Vec<Vec<u8>> = cmd(&["LRANGE", &flight, "0", "-1"])
                .query_async(&mut raw)
                .await?;
            let mut lrem = redis::cmd("LREM");
            lrem.arg(&flight).arg(1).arg(&held[0]);
            let removed: u64 = lrem.query_async(&mut raw).await?;
            assert_eq!(removed, 1);
        }
    );

    // Conditional writes of a JSON entity: one command each.
    let token = |i: u64| format!("token:{i}");
    gate!(
        env,
        "json insert",
        vec![],
        |store, i| {
            assert!(store.insert(&Token { id: i, user: 7 }).await?);
        },
        |raw, i| {
            let set: Option<String> =
                cmd(&["SET", &token(i), &token_json(i), "NX", "PX", "3600000"])
                    .query_async(&mut raw)
                    .await?;
            assert!(set.is_some());
        }
    );
    let tokens: Vec<redis::Cmd> = (0..=REPS)
        .map(|i| cmd(&["SET", &token(i), &token_json(i)]))
        .collect();
    gate!(
        env,
        "json take",
        tokens.clone(),
        |store, i| {
            assert!(store.take::<Token>(&i).await?.is_some());
        },
        |raw, i| {
            let taken: Option<String> = cmd(&["GETDEL", &token(i)]).query_async(&mut raw).await?;
            let taken: Token = serde_json::from_str(&taken.unwrap()).unwrap();
            assert_eq!(taken.id, i);
        }
    );
    gate!(
        env,
        "json get_and_refresh",
        tokens,
        |store, i| {
            assert!(store.get_and_refresh::<Token>(&i).await?.is_some());
        },
        |raw, i| {
            let got: Option<String> = cmd(&["GETEX", &token(i), "PX", "3600000"])
                .query_async(&mut raw)
                .await?;
            assert!(got.is_some());
        }
    );

    // Maps.
    gate!(
        env,
        "map set",
        vec![],
        |store, i| {
            assert!(store.map::<Marks>(&i).set(&7, &42).await?);
        },
        |raw, i| {
            assert!(hw::map_set(&mut raw, i, 7, 42).await?);
        }
    );
    gate!(
        env,
        "map get",
        seeded("HSET", marks, &["7", "42"]),
        |store, i| {
            assert_eq!(store.map::<Marks>(&i).get(&7).await?, Some(42));
        },
        |raw, i| {
            assert_eq!(hw::map_get(&mut raw, i, 7).await?, Some(42));
        }
    );
    gate!(
        env,
        "map incr",
        seeded("HSET", marks, &["7", "42"]),
        |store, i| {
            assert_eq!(store.map::<Marks>(&i).incr(&7, 1).await?, 43);
        },
        |raw, i| {
            let v: i64 = cmd(&["HINCRBY", &marks(i), "7", "1"])
                .query_async(&mut raw)
                .await?;
            assert_eq!(v, 43);
        }
    );
}

// Leases and rate limits: the hand-written side runs the same scripts
// (text for text, so the same SHA1) with redis-rs's `Script`, with the
// keys and arguments a careful service would send.

#[derive(redis_runtime::RedisLock)]
#[redis(key = "bench:lock:{job}", hash_tag = "job", ttl = "30s")]
struct BenchLock {
    job: u64,
}

#[derive(redis_runtime::RedisRateLimit)]
#[redis(key = "bench:gcra:{user}", limit = 100, per = "1m", algorithm = "gcra")]
struct GcraLimit {
    user: u64,
}

#[derive(redis_runtime::RedisRateLimit)]
#[redis(
    key = "bench:sliding:{user}",
    limit = 100,
    per = "1m",
    algorithm = "sliding"
)]
struct SlidingLimit {
    user: u64,
}

#[derive(redis_runtime::RedisRateLimit)]
#[redis(
    key = "bench:fixed:{user}",
    limit = 100,
    per = "1m",
    algorithm = "fixed"
)]
struct FixedLimit {
    user: u64,
}

static ACQUIRE: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(
        r"if redis.call('EXISTS', KEYS[1]) == 1 then return {0, redis.call('PTTL', KEYS[1])} end
redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {1, redis.call('GET', KEYS[2])}",
    )
});

static RELEASE: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(
        r"if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0",
    )
});

static FIXED: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(
        r"local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if not used then return redis.error_reply('ERR the rate limit count is not an integer') end
local limit, cost = tonumber(ARGV[1]), tonumber(ARGV[3])
if used + cost > limit then
  redis.call('PEXPIRE', KEYS[1], ARGV[2], 'NX')
  return {0, math.max(limit - used, 0), math.max(redis.call('PTTL', KEYS[1]), 1) * 1000}
end
if cost > 0 then
  redis.call('INCRBY', KEYS[1], cost)
  redis.call('PEXPIRE', KEYS[1], ARGV[2], 'NX')
end
return {1, limit - used - cost, 0}",
    )
});

static SLIDING: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(
        r"local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local limit, window, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local newest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if newest[2] and tonumber(newest[2]) > now then now = tonumber(newest[2]) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now - window))
local used = redis.call('ZCARD', KEYS[1])
if used + cost > limit then
  local leaving = redis.call('ZRANGE', KEYS[1], used + cost - limit - 1, used + cost - limit - 1, 'WITHSCORES')
  return {0, math.max(limit - used, 0), math.max(tonumber(leaving[2]) + window - now, 1)}
end
if cost > 0 then
  local at = string.format('%.0f', now)
  for i = 1, cost do redis.call('ZADD', KEYS[1], at, at .. '-' .. (used + i)) end
  redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000))
end
return {1, limit - used - cost, 0}",
    )
});

static GCRA: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| {
    redis::Script::new(
        r"local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1]) / tonumber(ARGV[2])
local burst, cost = tonumber(ARGV[3]), tonumber(ARGV[4])
local stored = redis.call('GET', KEYS[1])
local tat = now
if stored then
  tat = tonumber(stored)
  if not tat then return redis.error_reply('ERR the rate limit state is not a time') end
  if tat < now then tat = now end
end
local function room(at) return math.max(math.floor((now + burst * interval - at) / interval + 1e-9), 0) end
local new_tat = tat + cost * interval
local allow_at = new_tat - burst * interval
if now < allow_at then
  return {0, room(tat), math.max(math.ceil(allow_at - now), 1)}
end
if cost > 0 then
  redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.max(math.ceil((new_tat - now) / 1000), 1))
end
return {1, room(new_tat), 0}",
    )
});

/// The request bytes with every owner token (32 hexadecimal digits in a
/// bulk string of 32) blanked: a lease's token is random, on both sides.
fn without_tokens(bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let marker = b"$32\r\n";
    let mut i = 0;
    while i + marker.len() + 32 <= out.len() {
        if &out[i..i + marker.len()] == marker {
            let token = i + marker.len()..i + marker.len() + 32;
            if out[token.clone()].iter().all(u8::is_ascii_hexdigit) {
                out[token].fill(b'x');
            }
        }
        i += 1;
    }
    out
}

/// A token of the framework's shape: 32 hexadecimal digits.
fn token(i: u64) -> String {
    format!(
        "{:032x}",
        u128::from(i).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835)
    )
}

#[tokio::test(flavor = "current_thread")]
async fn lease_and_rate_limit_counters_equal_hand_written() {
    let server = RedisServer::builder().tcp().start().expect("redis-server");
    let mut env = Env::start(server.port().expect("tcp")).await.unwrap();

    // A lease taken and released: two scripts, two round trips, the same
    // bytes but for the random owner tokens.
    let (f, fb) = side(
        &mut env.admin,
        &env.fw_proxy,
        &[],
        async |i: u64| -> Result<(), BenchError> {
            let lease = env
                .store
                .lease::<BenchLock>(&i)
                .try_acquire()
                .await?
                .unwrap();
            assert_eq!(lease.fence(), 1);
            assert!(lease.release().await?);
            Ok(())
        },
    )
    .await;
    let mut raw = env.raw.clone();
    let (h, hb) = side(
        &mut env.admin,
        &env.hw_proxy,
        &[],
        async |i: u64| -> Result<(), BenchError> {
            let (key, fence) = (
                format!("bench:lock:{{{i}}}"),
                format!("bench:lock:{{{i}}}:fence"),
            );
            let (taken, fence): (i64, u64) = ACQUIRE
                .key(&key)
                .key(&fence)
                .arg(token(i))
                .arg(30_000u64)
                .invoke_async(&mut raw)
                .await?;
            assert_eq!((taken, fence), (1, 1));
            let released: i64 = RELEASE
                .key(&key)
                .arg(token(i))
                .invoke_async(&mut raw)
                .await?;
            assert_eq!(released, 1);
            Ok(())
        },
    )
    .await;
    println!("lease try_acquire + release: {f:?}");
    assert_eq!(f, h, "lease: counters differ from hand-written redis-rs");
    let (fb, hb) = (without_tokens(&fb), without_tokens(&hb));
    assert!(
        fb == hb,
        "lease: different request bytes: {}",
        first_difference(&fb, &hb).unwrap_or_default()
    );
    assert_eq!(f.round_trips, 2.0, "{f:?}");

    // Rate limits: one script each.
    gate!(
        env,
        "rate limit allow (fixed)",
        vec![],
        |store, i| {
            assert!(store.rate_limit::<FixedLimit>(&i).allow(1).await?.allowed);
        },
        |raw, i| {
            let (allowed, remaining, _): (i64, i64, i64) = FIXED
                .key(format!("bench:fixed:{i}"))
                .arg(100u64)
                .arg(60_000u64)
                .arg(1u64)
                .invoke_async(&mut raw)
                .await?;
            assert_eq!((allowed, remaining), (1, 99));
        }
    );
    gate!(
        env,
        "rate limit allow (sliding)",
        vec![],
        |store, i| {
            assert!(store.rate_limit::<SlidingLimit>(&i).allow(1).await?.allowed);
        },
        |raw, i| {
            let (allowed, remaining, _): (i64, i64, i64) = SLIDING
                .key(format!("bench:sliding:{i}"))
                .arg(100u64)
                .arg(60_000_000u64)
                .arg(1u64)
                .invoke_async(&mut raw)
                .await?;
            assert_eq!((allowed, remaining), (1, 99));
        }
    );
    gate!(
        env,
        "rate limit allow (gcra)",
        vec![],
        |store, i| {
            assert!(store.rate_limit::<GcraLimit>(&i).allow(1).await?.allowed);
        },
        |raw, i| {
            let (allowed, remaining, _): (i64, i64, i64) = GCRA
                .key(format!("bench:gcra:{i}"))
                .arg(60_000_000u64)
                .arg(100u64)
                .arg(100u64)
                .arg(1u64)
                .invoke_async(&mut raw)
                .await?;
            assert_eq!((allowed, remaining), (1, 99));
        }
    );
}
