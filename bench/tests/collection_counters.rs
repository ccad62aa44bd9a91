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
