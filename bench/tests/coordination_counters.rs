//! The exact-counter gate for models with indexes and unique fields: a save
//! with 0, 1 and 3 indexes and a find by an index send what hand-written
//! redis-rs code with the same atomicity sends (`handwritten::coordination`:
//! one script per save that moves the index members and unique claims with
//! the entity; for a find, the index read and one script that checks every
//! candidate): the same commands, the same round trips, the same bytes both
//! ways, byte for byte.

use redis::aio::MultiplexedConnection;
use redis_bench::BenchError;
use redis_bench::counters::{Env, PerOp, first_difference, measure};
use redis_bench::handwritten::coordination as hw;
use redis_bench::models::{Staff0, Staff1, Staff3};
use redis_runtime::testing::RedisServer;

const REPS: u64 = 4;

/// Flushes, saves `seed` staff through the store, then measures `op`.
async fn side(
    admin: &mut MultiplexedConnection,
    store: &redis_runtime::Store,
    proxy: &redis_bench::proxy::Proxy,
    seed: u64,
    op: impl AsyncFnMut(u64) -> Result<(), BenchError>,
) -> (PerOp, Vec<u8>) {
    redis::cmd("FLUSHALL")
        .arg("SYNC")
        .query_async::<()>(admin)
        .await
        .unwrap();
    for n in 0..seed {
        store.save(&Staff1::sample(n)).await.unwrap();
    }
    measure(admin, proxy, REPS, op).await.unwrap()
}

fn assert_same(label: &str, (f, fb): (PerOp, Vec<u8>), (h, hb): (PerOp, Vec<u8>), trips: f64) {
    println!("{label}: {f:?}");
    assert_eq!(f, h, "{label}: counters differ from hand-written redis-rs");
    assert!(
        fb == hb,
        "{label}: different request bytes: {}",
        first_difference(&fb, &hb).unwrap_or_default()
    );
    assert_eq!(f.round_trips, trips, "{label}: round trips: {f:?}");
}

#[tokio::test(flavor = "current_thread")]
async fn coordinated_counters_equal_hand_written() {
    let server = RedisServer::builder().tcp().start().expect("redis-server");
    let mut env = Env::start(server.port().expect("tcp")).await.unwrap();
    let store = env.store.clone();
    let plain = env.store.clone();

    // 0 indexes: a plain hash model's save (MULTI DEL HSET PEXPIRE EXEC).
    let fw = side(&mut env.admin, &store, &env.fw_proxy, 0, async |i| {
        plain.save(&Staff0::sample(i)).await?;
        Ok(())
    })
    .await;
    let mut raw = env.raw.clone();
    let hw = side(&mut env.admin, &store, &env.hw_proxy, 0, async |i| {
        hw::save_staff0(&mut raw, &Staff0::sample(i)).await
    })
    .await;
    assert_same("save, 0 indexes", fw, hw, 1.0);

    // 1 index.
    let fw = side(&mut env.admin, &store, &env.fw_proxy, 0, async |i| {
        store.save(&Staff1::sample(i)).await?;
        Ok(())
    })
    .await;
    let mut raw = env.raw.clone();
    let hw = side(&mut env.admin, &store, &env.hw_proxy, 0, async |i| {
        hw::save_staff1(&mut raw, &Staff1::sample(i)).await
    })
    .await;
    assert_same("save, 1 index", fw, hw, 1.0);

    // 3: unique, index, range index.
    let fw = side(&mut env.admin, &store, &env.fw_proxy, 0, async |i| {
        store.save(&Staff3::sample(i)).await?;
        Ok(())
    })
    .await;
    let mut raw = env.raw.clone();
    let hw = side(&mut env.admin, &store, &env.hw_proxy, 0, async |i| {
        hw::save_staff3(&mut raw, &Staff3::sample(i)).await
    })
    .await;
    assert_same("save, 3 indexes", fw, hw, 1.0);

    // A find by an index: 40 staff, org i % 10, role i % 4: org 0 has
    // ids 0, 10, 20, 30, roles 0, 2, 0, 2.
    let fw = side(&mut env.admin, &store, &env.fw_proxy, 40, async |_| {
        let found = Staff1::find_by_role(&store, &0, &"role2".to_owned()).await?;
        assert_eq!(found.len(), 2);
        Ok(())
    })
    .await;
    let mut raw = env.raw.clone();
    let hw = side(&mut env.admin, &store, &env.hw_proxy, 40, async |_| {
        let found = hw::find_staff1_by_role(&mut raw, 0, "role2").await?;
        assert_eq!(found.len(), 2);
        Ok(())
    })
    .await;
    assert_same("find by index", fw, hw, 2.0);
}
