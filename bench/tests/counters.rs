//! The exact-counter gate (`BENCHMARKS.md`, Method: exact counters and the
//! gate): for every typed operation, the framework sends what the hand-written
//! redis-rs baseline sends for the same work — the same commands, the same
//! round trips, the same bytes on the wire (byte for byte). Fast and
//! deterministic: no throughput here.

use redis_bench::counters::{
    ClusterEnv, Comparison, Env, HASH_OPS, Op, STRING_OPS, compare, compare_cluster,
    compare_partial,
};
use redis_bench::models::{Account, Member, User, UserCodec, UserJson, UserMsgpack};
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
    assert_identical(label, c);
    assert_eq!(
        f.round_trips, 1.0,
        "{label}: one round trip per operation: {f:?}"
    );
}

/// [`assert_same`] for a batch sent concurrently to `nodes` cluster nodes:
/// every counter equal but the round trips, which are about one per node on
/// both sides (a node's share of a large batch may arrive in two bursts, as
/// redis-rs's connection task for that node writes it), and every node
/// receiving the same requests.
fn assert_same_over_nodes(label: &str, c: &Comparison, nodes: f64) {
    let (f, h) = (&c.framework, &c.handwritten);
    println!(
        "{label}: {f:?} identical requests: {}",
        c.identical_requests
    );
    assert!(
        c.counters_equal_but_round_trips(),
        "{label}: the framework's counters differ from hand-written redis-rs\n  framework:    {f:?}\n  hand-written: {h:?}"
    );
    // The per-slot requests are concurrent: the order they reach a node in
    // is redis-rs's, not the caller's.
    assert!(
        c.identical_requests || c.same_requests_reordered,
        "{label}: the framework sends different requests than hand-written redis-rs: {}",
        c.first_difference.as_deref().unwrap_or("?")
    );
    assert!(
        f.commands >= 1.0 && f.bytes_out > 0.0,
        "{label}: nothing measured: {f:?}"
    );
    for side in [f, h] {
        assert!(
            side.round_trips >= 1.0 && side.round_trips <= 2.0 * nodes,
            "{label}: about one round trip per node: {side:?}"
        );
    }
}

fn assert_identical(label: &str, c: &Comparison) {
    let f = &c.framework;
    assert!(
        c.identical_requests,
        "{label}: the framework sends different bytes than hand-written redis-rs: {}",
        c.first_difference.as_deref().unwrap_or("?")
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

/// A custom codec (`#[redis(codec = CompactMsgpack)]`) adds nothing on the
/// wire: `get`/`save` and the batches send what hand-written `GET`/`SET ..
/// PX`/`MGET` of the same encoded bytes send.
#[tokio::test(flavor = "current_thread")]
async fn codec_model_counters_equal_hand_written() {
    let (_server, mut env) = env().await;
    for op in STRING_OPS {
        let c = compare::<UserCodec>(&mut env, op, REPS).await.unwrap();
        assert_same(&format!("M8 codec {}", op.name()), &c);
    }
    let c = compare::<UserCodec>(&mut env, Op::Save, REPS)
        .await
        .unwrap();
    assert_eq!(c.framework.breakdown, "set 1");
    let c = compare::<UserCodec>(&mut env, Op::Get, REPS).await.unwrap();
    assert_eq!(c.framework.breakdown, "get 1");
}

/// On a Redis Cluster (3 primaries): the single-key operations, and batches
/// split by hash slot — M8 `get_many(16)` (16 keys without a hash tag: 16
/// slots) and M8T batches of 100 over 20 tenants (20 slots) — send what the
/// hand-written redis-rs cluster client sends, summed over the nodes.
#[tokio::test(flavor = "current_thread")]
async fn cluster_counters_equal_hand_written() {
    let mut env = ClusterEnv::start()
        .await
        .expect("start a cluster behind counting proxies");
    let nodes = env.proxies.len() as f64;
    for op in [Op::Save, Op::Get, Op::Delete, Op::SetField, Op::Incr] {
        let c = compare_cluster::<User>(&mut env, op, REPS).await.unwrap();
        assert_same(&format!("cluster M8 hash {}", op.name()), &c);
    }
    let c = compare_cluster::<User>(&mut env, Op::GetMany(16), REPS)
        .await
        .unwrap();
    assert_same_over_nodes("cluster M8 hash get_many(16)", &c, nodes);
    assert_eq!(c.framework.breakdown, "hgetall 16");
    for op in [Op::SaveMany(100), Op::GetMany(100), Op::DeleteMany(100)] {
        let c = compare_cluster::<Member>(&mut env, op, REPS).await.unwrap();
        assert_same_over_nodes(&format!("cluster M8T hash {}", op.name()), &c, nodes);
        if op == Op::SaveMany(100) {
            // One transaction per tenant (hash slot): 20 MULTI .. EXEC.
            assert_eq!(
                c.framework.breakdown,
                "del 100, exec 20, hset 100, multi 20, pexpire 100"
            );
        }
    }
}
