//! Leases against a real redis-server and a real Redis Cluster, as the ACL
//! user the keyspace's rule creates: mutual exclusion under contention,
//! fencing tokens that only grow, expiry, owner-only extend and release,
//! `guarded` cancelling its work when the lease is stolen, and the typed
//! timeout.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::*;
use redis_runtime::key::hash_slot;
use redis_runtime::{Error, Expiry};

on_both! {
/// 16 tasks contend for one lease, each taking it 4 times: no two holders'
/// intervals overlap, and fencing tokens strictly increase in the order the
/// lease was held.
(flavor = "multi_thread", worker_threads = 4) async fn contending_holders_never_overlap_and_fences_increase() {
    let (_server, store) = start("app:").await;
    let room = "lobby".to_owned();
    let mut tasks = Vec::new();
    for task in 0..16u64 {
        let store = store.clone();
        let room = room.clone();
        tasks.push(tokio::spawn(async move {
            let mut held = Vec::new();
            for round in 0..4u64 {
                let lease = store
                    .lease::<RoomLock>(&room)
                    .acquire(Duration::from_secs(30))
                    .await
                    .unwrap();
                let start = Instant::now();
                // Work a little while holding it.
                tokio::time::sleep(Duration::from_millis((task + round) % 3 + 1)).await;
                let end = Instant::now();
                held.push((start, end, lease.fence()));
                assert!(lease.release().await.unwrap(), "our own lease is ours to release");
            }
            held
        }));
    }
    let mut intervals = Vec::new();
    for task in tasks {
        intervals.extend(task.await.unwrap());
    }
    assert_eq!(intervals.len(), 64);
    intervals.sort_by_key(|(start, _, _)| *start);
    for pair in intervals.windows(2) {
        let ((_, end, fence), (start, _, next_fence)) = (pair[0], pair[1]);
        assert!(end < start, "two holders overlapped");
        assert!(fence < next_fence, "fence {next_fence} after {fence}");
    }
    // 64 acquires: tokens 1..=64, each once.
    let mut fences: Vec<u64> = intervals.iter().map(|(_, _, f)| *f).collect();
    fences.dedup();
    assert_eq!(fences, (1..=64).collect::<Vec<_>>());
    assert_eq!(store.lease::<RoomLock>(&room).current_fence().await.unwrap(), 64);
    assert!(!store.exists::<RoomLock>(&room).await.unwrap(), "the last holder released it");
}
}

on_both! {
/// A holder that stops extending loses the lease after its TTL; the next
/// holder gets a larger fence; the old holder's extend and release are
/// refused and leave the new holder's lease as it is.
async fn an_expired_holder_is_refused_and_the_next_gets_a_larger_fence() {
    let (server, store) = start("app:").await;
    let mut admin = server.raw_connection().await.unwrap();
    let lock = store.lease::<JobLock>(&7);

    let first = lock.try_acquire().await.unwrap().expect("free");
    assert_eq!(first.fence(), 1);
    assert_eq!(first.token().len(), 32);
    assert!(first.token().bytes().all(|b| b.is_ascii_hexdigit()));
    assert!(lock.try_acquire().await.unwrap().is_none(), "held");
    // The lease key holds the owner token, with the declared TTL.
    let key = store.key::<JobLock>(&7).unwrap();
    let stored: String = raw!(&mut admin, "GET", &key);
    assert_eq!(stored, first.token());
    match store.ttl::<JobLock>(&7).await.unwrap() {
        Expiry::In(ttl) => assert!(ttl <= Duration::from_secs(1) && ttl > Duration::from_millis(500)),
        other => panic!("a lease without a TTL: {other:?}"),
    }
    // An extend by the holder re-arms it.
    first.extend().await.unwrap();

    // It stops extending: another acquires after the TTL, with a larger fence.
    let waited = Instant::now();
    let second = lock.acquire(Duration::from_secs(5)).await.unwrap();
    assert!(waited.elapsed() >= Duration::from_millis(700), "{:?}", waited.elapsed());
    assert_eq!(second.fence(), 2);
    assert_ne!(second.token(), first.token());

    // The first holder is refused; nothing of the second's lease changes.
    let before: i64 = raw!(&mut admin, "PTTL", &key);
    match first.extend().await {
        Err(Error::LeaseLost { operation, model, key_template }) => {
            assert_eq!((operation, model, key_template), ("extend", "JobLock", "job:{job}:lock"));
        }
        other => panic!("expected LeaseLost, got {other:?}"),
    }
    assert!(!first.release().await.unwrap(), "not ours any more");
    let stored: String = raw!(&mut admin, "GET", &key);
    assert_eq!(stored, second.token(), "the second holder's lease is intact");
    let after: i64 = raw!(&mut admin, "PTTL", &key);
    assert!(after > 0 && after <= before, "the refused extend re-armed it: {before} -> {after}");
    second.extend().await.unwrap();

    // The fence never goes back: not after a release, not after expiry,
    // not after the lease key is deleted.
    assert!(second.release().await.unwrap());
    let _: () = raw!(&mut admin, "DEL", &key);
    let third = lock.try_acquire().await.unwrap().unwrap();
    assert_eq!(third.fence(), 3);
    assert_eq!(lock.current_fence().await.unwrap(), 3);
    // The fence counter has no TTL.
    let fence_id = JobLockFence { job: 7 };
    assert_eq!(store.ttl::<JobLockFence>(&fence_id).await.unwrap(), Expiry::Never);
}
}

on_both! {
/// The fence key is in the lease key's slot, with a hash tag or without
/// one (the acquire script names both keys, which a cluster refuses across
/// slots); and each key holds the Redis type the manifest says.
async fn fence_keys_share_the_lease_slot_and_types_match_the_manifest() {
    let (server, store) = start("app:").await;
    let mut admin = server.raw_connection().await.unwrap();
    for job in [0u64, 1, 7, 99, 12_345, u64::MAX] {
        let lease = store.key::<JobLock>(&job).unwrap();
        let fence = store.key::<JobLockFence>(&JobLockFence { job }).unwrap();
        assert_eq!(hash_slot(lease.as_bytes()), hash_slot(fence.as_bytes()), "{lease} {fence}");
        assert!(fence.to_string().starts_with(&format!("{lease}:fence:{{")), "{fence}");
        // A parse of the fence key gives the lock's id back.
        let held = store.lease::<JobLock>(&job).try_acquire().await.unwrap().unwrap();
        assert!(held.release().await.unwrap());
    }
    let room = "kitchen".to_owned();
    let lease = store.key::<RoomLock>(&room).unwrap();
    let fence = store.key::<RoomLockFence>(&RoomLockFence { room: room.clone() }).unwrap();
    assert_eq!(fence.to_string(), "app:room:{kitchen}:lock:fence");
    assert_eq!(hash_slot(lease.as_bytes()), hash_slot(fence.as_bytes()));
    let _held = store.lease::<RoomLock>(&room).try_acquire().await.unwrap().unwrap();

    let manifest = TEST_MODELS.manifest("app:");
    for key in [lease, fence, store.key::<JobLock>(&7).unwrap()] {
        let family = manifest.family_of(key.as_bytes()).expect("a declared family");
        let redis_type: String = raw!(&mut admin, "TYPE", &key);
        if redis_type != "none" {
            assert_eq!(redis_type, family.redis_type, "{}", family.model);
        }
    }
    let fence = manifest.families.iter().find(|f| f.model == "JobLockFence").unwrap();
    assert_eq!(
        (fence.redis_type.as_str(), fence.encoding.as_str(), fence.ttl_ms),
        ("string", "lease_fence", None)
    );
    assert_eq!(fence.template, "job:{job}:lock:fence:{slot_tag}");
    assert_eq!(fence.hash_tag.as_deref(), Some("slot_tag"));
    let lock = manifest.families.iter().find(|f| f.model == "RoomLock").unwrap();
    assert_eq!(
        (lock.redis_type.as_str(), lock.encoding.as_str(), lock.ttl_ms),
        ("string", "lease", Some(2000))
    );
}
}

on_both! {
/// `acquire` waits while the lease is held and gives up with the typed
/// error at its timeout; a zero timeout makes one attempt.
async fn acquire_times_out_with_the_typed_error() {
    let (_server, store) = start("app:").await;
    let room = "busy".to_owned();
    let held = store.lease::<RoomLock>(&room).try_acquire().await.unwrap().unwrap();
    let started = Instant::now();
    match store.lease::<RoomLock>(&room).acquire(Duration::from_millis(300)).await {
        Err(Error::LeaseTimeout { model, key_template, waited }) => {
            assert_eq!((model, key_template), ("RoomLock", "room:{room}:lock"));
            assert!(waited >= Duration::from_millis(300), "{waited:?}");
        }
        other => panic!("expected LeaseTimeout, got {other:?}"),
    }
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(300) && elapsed < Duration::from_millis(900), "{elapsed:?}");
    let err = store.lease::<RoomLock>(&room).acquire(Duration::ZERO).await.unwrap_err();
    assert_eq!(err.class(), "lease_timeout");
    // The holder was not disturbed, and a release lets the next one in at once.
    held.extend().await.unwrap();
    assert!(held.release().await.unwrap());
    let next = store.lease::<RoomLock>(&room).acquire(Duration::ZERO).await.unwrap();
    assert_eq!(next.fence(), 2);
}
}

/// Sets its flag when dropped: whether `guarded` dropped the work.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

on_both! {
/// `guarded` keeps a lease past its TTL while the work runs, and cancels
/// the work, with `LeaseLost`, as soon as a renewal finds it stolen.
async fn guarded_keeps_the_lease_and_cancels_work_when_it_is_stolen() {
    let (server, store) = start("app:").await;
    let mut admin = server.raw_connection().await.unwrap();

    // Kept: the work outlasts the 1 s TTL twice over.
    let lease = store.lease::<JobLock>(&1).try_acquire().await.unwrap().unwrap();
    let out = lease
        .guarded(async {
            tokio::time::sleep(Duration::from_millis(2500)).await;
            "done"
        })
        .await
        .unwrap();
    assert_eq!(out, "done");
    assert!(lease.valid_until() > tokio::time::Instant::now());
    assert!(lease.release().await.unwrap(), "still held after 2.5 s of a 1 s TTL");

    // Stolen: an admin deletes the lease and another holder takes it.
    let room = "stolen".to_owned();
    let lease = store.lease::<RoomLock>(&room).try_acquire().await.unwrap().unwrap();
    let dropped = Arc::new(AtomicBool::new(false));
    let finished = Arc::new(AtomicBool::new(false));
    let key = store.key::<RoomLock>(&room).unwrap();
    let thief = {
        let store = store.clone();
        let room = room.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let _: () = raw!(&mut admin, "DEL", &key);
            store.lease::<RoomLock>(&room).try_acquire().await.unwrap().unwrap()
        }
    };
    let work = {
        let flag = DropFlag(dropped.clone());
        let finished = finished.clone();
        async move {
            let _flag = flag;
            tokio::time::sleep(Duration::from_secs(10)).await;
            finished.store(true, Ordering::SeqCst);
        }
    };
    let started = Instant::now();
    let (result, new_holder) = tokio::join!(lease.guarded(work), thief);
    match result {
        Err(Error::LeaseLost { operation, model, .. }) => {
            assert_eq!((operation, model), ("guarded", "RoomLock"));
        }
        other => panic!("expected LeaseLost, got {other:?}"),
    }
    // Noticed at the first renewal, a third of the 2 s TTL in.
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_millis(1500), "{elapsed:?}");
    assert!(dropped.load(Ordering::SeqCst), "the work was dropped");
    assert!(!finished.load(Ordering::SeqCst), "the work never finished");
    // The thief's lease is intact; the old holder cannot release it.
    assert!(!lease.release().await.unwrap());
    assert!(new_holder.fence() > 1);
    new_holder.extend().await.unwrap();
    assert!(new_holder.release().await.unwrap());
}
}

#[test]
fn a_lease_debug_shows_neither_key_nor_token() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let server = redis_runtime::testing::RedisServer::start().unwrap();
        let store = server.store().await.unwrap();
        let room = "secret-room".to_owned();
        let lease = store
            .lease::<RoomLock>(&room)
            .try_acquire()
            .await
            .unwrap()
            .unwrap();
        let shown = format!("{lease:?}");
        assert!(
            shown.contains("RoomLock") && shown.contains("fence: 1"),
            "{shown}"
        );
        assert!(
            !shown.contains("secret-room") && !shown.contains(lease.token()),
            "{shown}"
        );
    });
}

/// The connection stalls while `guarded` runs: its renewals cannot be
/// confirmed, so the work is dropped with `LeaseLost` at the latest when the
/// holder's view of the lease ends (`valid_until`), and before any other
/// holder can acquire it (the server's TTL started later).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guarded_drops_the_work_when_renewals_cannot_be_confirmed() {
    use common::proxy::Proxy;
    let server = redis_runtime::testing::RedisServer::builder()
        .tcp()
        .start()
        .unwrap();
    let proxy = Proxy::start(server.port().unwrap()).await;
    let stalled = redis_runtime::Store::connect(
        &redis_runtime::Config::builder()
            .url(proxy.url())
            .build()
            .unwrap(),
    )
    .await
    .unwrap();
    let direct = server.store().await.unwrap();

    let lease = stalled
        .lease::<JobLock>(&3)
        .try_acquire()
        .await
        .unwrap()
        .unwrap();
    let valid_until = lease.valid_until();
    let dropped_at = Arc::new(std::sync::Mutex::new(None));
    let work = {
        struct Stamp(Arc<std::sync::Mutex<Option<Instant>>>);
        impl Drop for Stamp {
            fn drop(&mut self) {
                *self.0.lock().unwrap() = Some(Instant::now());
            }
        }
        let stamp = Stamp(dropped_at.clone());
        async move {
            let _stamp = stamp;
            tokio::time::sleep(Duration::from_secs(10)).await;
        }
    };
    let other = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        proxy.stall();
        // Another holder, on a healthy connection, waits for the lease.
        let next = direct
            .lease::<JobLock>(&3)
            .acquire(Duration::from_secs(5))
            .await
            .unwrap();
        (Instant::now(), next.fence())
    };
    let (result, (other_acquired_at, other_fence)) = tokio::join!(lease.guarded(work), other);
    match result {
        Err(Error::LeaseLost { operation, .. }) => assert_eq!(operation, "guarded"),
        other => panic!("expected LeaseLost, got {other:?}"),
    }
    let dropped_at = dropped_at.lock().unwrap().expect("the work was dropped");
    let late = dropped_at.saturating_duration_since(valid_until.into_std());
    assert!(
        late < Duration::from_millis(100),
        "dropped {late:?} after valid_until"
    );
    assert!(
        dropped_at <= other_acquired_at,
        "the work outlived the lease"
    );
    assert_eq!(other_fence, 2);
    proxy.resume();
}

on_both! {
/// Every lease keeps a TTL: `persist` of a lease key is refused before
/// anything is sent, and the holder's lease keeps its TTL.
async fn persist_of_a_lease_is_refused() {
    let (_server, store) = start("app:").await;
    let lock = store.lease::<JobLock>(&9);
    let lease = lock.try_acquire().await.unwrap().expect("free");
    match store.persist::<JobLock>(&9).await {
        Err(Error::InvalidTtl { operation: "persist", model: "JobLock", .. }) => {}
        other => panic!("expected InvalidTtl, got {other:?}"),
    }
    match store.ttl::<JobLock>(&9).await.unwrap() {
        Expiry::In(ttl) => assert!(ttl > Duration::ZERO),
        other => panic!("the lease lost its TTL: {other:?}"),
    }
    // Its fence counter, which never expires, is not a lease.
    let fence = JobLockFence { job: 9 };
    assert!(!store.persist::<JobLockFence>(&fence).await.unwrap(), "had no TTL");
    assert!(lease.release().await.unwrap());
}
}
