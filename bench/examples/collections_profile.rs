//! One operation of the collections scenario outside the runner, to count
//! the client's instructions per operation (`BENCHMARKS.md`, Collection
//! results): `OPS` sequential operations by the framework or by the
//! hand-written redis-rs of `handwritten::collections`, on a private server.
//!
//! ```text
//! cargo build --release -p redis-bench --example collections_profile
//! P=target/release/examples/collections_profile
//! # Instructions per operation: (run of 3,000 − run of 1,000) / 2,000.
//! for side in framework hand-written; do for n in 1000 3000; do
//!   OPS=$n valgrind --tool=callgrind --callgrind-out-file=cg-map-set-$side-$n.out $P $side map-set
//! done; done
//! ```
//!
//! Operations: `set-add` (`MULTI SADD PEXPIRE NX EXEC`, a new member each
//! time), `set-contains` (`SISMEMBER`), `zincr` (`ZINCRBY`), `top`
//! (`ZRANGE 0 9 REV WITHSCORES` of 100 members), `hit`
//! (`MULTI INCRBY PEXPIRE NX PTTL EXEC`), `map-set` (`HSET`, a new field each
//! time), `map-get` (`HGET`). The stored state does not depend on `OPS`, so
//! the setup cancels in the difference.

use redis_bench::BenchError;
use redis_bench::handwritten::collections as hw;
use redis_bench::models::{Board, Limit, Marks, Members};
use redis_bench::server;
use redis_runtime::testing::RedisServer;

const ROOMS: u64 = 100;
/// Fields and members stored before `map-get` and `set-contains`.
const STORED: u64 = 3_000;

fn main() -> Result<(), BenchError> {
    let args: Vec<String> = std::env::args().collect();
    let (side, op) =
        match args.as_slice() {
            [_, side, op] => (side.clone(), op.clone()),
            _ => return Err(
                "usage: collections_profile framework|hand-written map-set|map-get|set-contains"
                    .into(),
            ),
        };
    let ops: u64 = std::env::var("OPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3_000);
    let redis = RedisServer::builder().tcp().start()?;
    let url = format!("redis://127.0.0.1:{}", redis.port().ok_or("no TCP port")?);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let mut admin = server::admin(&url).await?;
        let store = server::store(&url).await?;
        let mut raw = server::baseline(&url).await?;
        let mut pipe = redis::pipe();
        for i in 0..STORED {
            pipe.cmd("HSET")
                .arg(hw::marks_key(i % ROOMS))
                .arg(i)
                .arg(i)
                .ignore();
            pipe.cmd("SADD")
                .arg(hw::members_key(i % ROOMS))
                .arg(i)
                .ignore();
        }
        for g in 0..10u64 {
            pipe.cmd("ZADD").arg(hw::board_key(g));
            for k in 0..100u64 {
                pipe.arg(k).arg(format!("player{k}"));
            }
            pipe.ignore();
        }
        pipe.query_async::<()>(&mut admin).await?;
        let player = "player7".to_owned();
        let fw = side == "framework";
        let mut hits = 0u64;
        for i in 0..ops {
            let room = i % ROOMS;
            let ok = match (op.as_str(), fw) {
                // Fields STORED.. are new.
                ("set-add", true) => store.set::<Members>(&room).add(&(STORED + i)).await?,
                ("set-add", false) => hw::set_add(&mut raw, room, STORED + i).await?,
                ("zincr", true) => {
                    store
                        .sorted_set::<Board>(&(i % 10))
                        .incr(&player, 0.5)
                        .await?
                        > 0.0
                }
                ("zincr", false) => hw::zincrby(&mut raw, i % 10, &player, 0.5).await? > 0.0,
                ("top", true) => store.sorted_set::<Board>(&(i % 10)).top(10).await?.len() == 10,
                ("top", false) => hw::top(&mut raw, i % 10, 10).await?.len() == 10,
                ("hit", true) => store
                    .counter::<Limit>(&room)
                    .hit(1_000_000)
                    .await?
                    .allowed(),
                ("hit", false) => hw::hit(&mut raw, room).await?.0 <= 1_000_000,
                ("map-set", true) => store.map::<Marks>(&room).set(&(STORED + i), &7).await?,
                ("map-set", false) => hw::map_set(&mut raw, room, STORED + i, 7).await?,
                ("map-get", true) => store.map::<Marks>(&room).get(&i).await?.is_some(),
                ("map-get", false) => hw::map_get(&mut raw, room, i).await?.is_some(),
                ("set-contains", true) => store.set::<Members>(&room).contains(&i).await?,
                ("set-contains", false) => hw::set_contains(&mut raw, room, i).await?,
                _ => return Err(format!("unknown operation {op}").into()),
            };
            hits += u64::from(ok);
        }
        if hits != ops {
            return Err(format!("{hits} of {ops} operations found or wrote their element").into());
        }
        println!("{side} {op}: {ops} operations checked");
        Ok::<(), BenchError>(())
    })
}
