//! The exact-counter gate for event streams: an append, a batch of appends,
//! a range read and a consumer's read-and-acknowledge of a batch send what
//! hand-written redis-rs code with the same guarantee sends
//! (`handwritten::streams`): the same commands, the same round trips, the
//! same bytes both ways, byte for byte.

use redis::aio::MultiplexedConnection;
use redis_bench::counters::{Env, PerOp, first_difference, measure};
use redis_bench::handwritten::streams as hw;
use redis_bench::models::{Order, Orders};
use redis_runtime::stream::{EntryId, StartAt};
use redis_runtime::testing::RedisServer;

const REPS: u64 = 4;
const SHOP: u64 = 1;

/// Flushes, appends `seed` orders and creates group `g`, then measures `op`.
async fn side(
    admin: &mut MultiplexedConnection,
    store: &redis_runtime::Store,
    proxy: &redis_bench::proxy::Proxy,
    seed: u64,
    op: impl AsyncFnMut(u64) -> Result<(), redis_bench::BenchError>,
) -> (PerOp, Vec<u8>) {
    redis::cmd("FLUSHALL")
        .arg("SYNC")
        .query_async::<()>(admin)
        .await
        .unwrap();
    // Seeded with fixed ids, so that both sides read and acknowledge the
    // same ids, byte for byte.
    for n in 0..seed {
        let _: String = redis::cmd("XADD")
            .arg(hw::orders_key(SHOP))
            .arg(format!("{}-0", n + 1))
            .arg("event")
            .arg(serde_json::to_vec(&Order::sample(n)).unwrap())
            .query_async(admin)
            .await
            .unwrap();
    }
    let orders = store.stream::<Orders>(&SHOP);
    orders.group("g").create(StartAt::Beginning).await.unwrap();
    measure(admin, proxy, REPS, op).await.unwrap()
}

/// As the other gates, except the reply bytes: they carry entry ids the
/// server makes from its clock (`<ms>-<seq>`), whose sequence part has one
/// digit or two depending on how many entries landed in one millisecond, so
/// they may differ by up to one byte per id in the reply (`ids`).
fn assert_same(
    label: &str,
    (f, fb): (PerOp, Vec<u8>),
    (h, hb): (PerOp, Vec<u8>),
    trips: f64,
    ids: f64,
) {
    println!("{label}: {f:?}");
    assert!(
        (f.bytes_in - h.bytes_in).abs() <= ids,
        "{label}: reply bytes differ by more than the ids can: {f:?} {h:?}"
    );
    let f = PerOp {
        bytes_in: h.bytes_in,
        ..f
    };
    assert_eq!(f, h, "{label}: counters differ from hand-written redis-rs");
    assert!(
        fb == hb,
        "{label}: different request bytes: {}",
        first_difference(&fb, &hb).unwrap_or_default()
    );
    assert_eq!(f.round_trips, trips, "{label}: round trips: {f:?}");
}

#[tokio::test(flavor = "current_thread")]
async fn stream_counters_equal_hand_written() {
    let server = RedisServer::builder().tcp().start().expect("redis-server");
    let mut env = Env::start(server.port().expect("tcp")).await.unwrap();
    let store = env.store.clone();

    // One append.
    let fw = side(&mut env.admin, &store, &env.fw_proxy, 0, async |i| {
        store
            .stream::<Orders>(&SHOP)
            .append(&Order::sample(i))
            .await?;
        Ok(())
    })
    .await;
    let mut raw = env.raw.clone();
    let hw = side(&mut env.admin, &store, &env.hw_proxy, 0, async |i| {
        hw::append(&mut raw, SHOP, &Order::sample(i)).await?;
        Ok(())
    })
    .await;
    assert_same("append", fw, hw, 1.0, 1.0);

    // A batch of 10 appends, all or none.
    let batch = |i: u64| (i * 10..i * 10 + 10).map(Order::sample).collect::<Vec<_>>();
    let fw = side(&mut env.admin, &store, &env.fw_proxy, 0, async |i| {
        let ids = store.stream::<Orders>(&SHOP).append_many(&batch(i)).await?;
        assert_eq!(ids.len(), 10);
        Ok(())
    })
    .await;
    let mut raw = env.raw.clone();
    let hw = side(&mut env.admin, &store, &env.hw_proxy, 0, async |i| {
        let ids = hw::append_many(&mut raw, SHOP, &batch(i)).await?;
        assert_eq!(ids.len(), 10);
        Ok(())
    })
    .await;
    assert_same("append_many 10", fw, hw, 1.0, 10.0);

    // A range read of 100 from the start.
    let fw = side(&mut env.admin, &store, &env.fw_proxy, 200, async |_| {
        let read = store
            .stream::<Orders>(&SHOP)
            .after(EntryId::ZERO, 100)
            .await?;
        assert_eq!(read.len(), 100);
        assert!(read.iter().all(|e| e.event.is_ok()));
        Ok(())
    })
    .await;
    let mut raw = env.raw.clone();
    let hw = side(&mut env.admin, &store, &env.hw_proxy, 200, async |_| {
        let read = hw::after(&mut raw, SHOP, "0-0", 100).await?;
        assert_eq!(read.len(), 100);
        Ok(())
    })
    .await;
    assert_same("after 100", fw, hw, 1.0, 100.0);

    // A consumer's batch of 10: read, handle, acknowledge.
    let fw = side(&mut env.admin, &store, &env.fw_proxy, 100, async |_| {
        let group = store.stream::<Orders>(&SHOP).group("g");
        let batch = group.read("c", 10, None).await?;
        assert_eq!(batch.len(), 10);
        let ids: Vec<EntryId> = batch.iter().map(|d| d.id).collect();
        group.ack(&ids).await?;
        Ok(())
    })
    .await;
    let mut raw = env.raw.clone();
    let hw = side(&mut env.admin, &store, &env.hw_proxy, 100, async |_| {
        let n = hw::consume(&mut raw, SHOP, "g", "c", 10, |_| {}).await?;
        assert_eq!(n, 10);
        Ok(())
    })
    .await;
    assert_same("read and ack 10", fw, hw, 2.0, 10.0);
}
