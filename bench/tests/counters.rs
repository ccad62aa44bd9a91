//! The exact-counter gate (`BENCHMARKS.md`, Method: exact counters and the
//! gate): for every typed operation, the framework sends what the hand-written
//! redis-rs baseline sends for the same work — the same commands, the same
//! round trips, the same bytes on the wire (byte for byte). Fast and
//! deterministic: no throughput here.

use redis_bench::counters::{Comparison, Env, HASH_OPS, Op, STRING_OPS, compare, compare_partial};
use redis_bench::models::{Account, User, UserJson, UserMsgpack};
use redis_runtime::testing::RedisServer;

const REPS: u64 = 4;

fn assert_same(label: &str, c: &Comparison) {
    let (f, h) = (&c.framework, &c.handwritten);
    println!(
        "{label}: {f:?} identical requests: {}",
        c.identical_requests
    );
    assert!(
        c.counters_equal(),
        "{label}: the framework's counters differ from hand-written redis-rs\n  framework:    {f:?}\n  hand-written: {h:?}"
    );
    assert!(
        c.identical_requests,
        "{label}: the framework sends different bytes than hand-written redis-rs: {}",
        c.first_difference.as_deref().unwrap_or("?")
    );
    assert_eq!(
        f.round_trips, 1.0,
        "{label}: one round trip per operation: {f:?}"
    );
    assert!(
        f.commands >= 1.0 && f.bytes_out > 0.0,
        "{label}: nothing measured: {f:?}"
    );
}

async fn env() -> (RedisServer, Env) {
    let server = RedisServer::builder()
        .tcp()
        .start()
        .expect("start redis-server");
    let env = Env::start(server.port().expect("tcp"))
        .await
        .expect("connect through the counting proxies");
    (server, env)
}

#[tokio::test(flavor = "current_thread")]
async fn hash_model_counters_equal_hand_written() {
    let (_server, mut env) = env().await;
    for op in HASH_OPS {
        let c = compare_partial::<User>(&mut env, op, REPS).await.unwrap();
        assert_same(&format!("M8 hash {}", op.name()), &c);
    }
    // The save is the atomic replace: MULTI DEL HSET PEXPIRE EXEC, one write.
    let c = compare::<User>(&mut env, Op::Save, REPS).await.unwrap();
    assert_eq!(
        c.framework.breakdown,
        "del 1, exec 1, hset 1, multi 1, pexpire 1"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn large_hash_model_counters_equal_hand_written() {
    let (_server, mut env) = env().await;
    for op in [Op::Save, Op::Get, Op::SetField, Op::Incr, Op::SaveMany(16)] {
        let c = compare_partial::<Account>(&mut env, op, REPS)
            .await
            .unwrap();
        assert_same(&format!("M32 hash {}", op.name()), &c);
    }
}

#[tokio::test(flavor = "current_thread")]
async fn string_model_counters_equal_hand_written() {
    let (_server, mut env) = env().await;
    for op in STRING_OPS {
        let c = compare::<UserJson>(&mut env, op, REPS).await.unwrap();
        assert_same(&format!("M8 json {}", op.name()), &c);
    }
    for op in [Op::Save, Op::Get] {
        let c = compare::<UserMsgpack>(&mut env, op, REPS).await.unwrap();
        assert_same(&format!("M8 msgpack {}", op.name()), &c);
    }
}
