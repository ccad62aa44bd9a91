//! Rate limiters against a real redis-server and a real Redis Cluster, as
//! the ACL user the keyspace's rule creates: each algorithm allows exactly
//! its limit under concurrency, a denied caller that waits the
//! server-reported `retry_after` is allowed, keys always carry a TTL, and
//! bad costs are typed errors.

mod common;

use std::time::Duration;

use common::*;
use redis_runtime::rate_limit::{Decision, RateLimiter};
use redis_runtime::{Error, Expiry, RedisRateLimit, Store};

/// `n` concurrent single requests on a fresh limiter of family `R`.
async fn concurrent<R>(store: &Store, client: &str, n: usize) -> Vec<Decision>
where
    R: RedisRateLimit<Id = String>,
{
    let mut tasks = Vec::new();
    for _ in 0..n {
        let store = store.clone();
        let client = client.to_owned();
        tasks.push(tokio::spawn(async move {
            store.rate_limit::<R>(&client).allow(1).await.unwrap()
        }));
    }
    let mut decisions = Vec::new();
    for task in tasks {
        decisions.push(task.await.unwrap());
    }
    decisions
}

fn allowed(decisions: &[Decision]) -> usize {
    decisions.iter().filter(|d| d.allowed).count()
}

on_both! {
/// Of 20 concurrent requests on a fresh limiter of 5, exactly 5 pass, for
/// every algorithm; the denied ones say how long to wait.
(flavor = "multi_thread", worker_threads = 4) async fn concurrent_requests_allow_exactly_the_limit() {
    let (_server, store) = start("app:").await;
    let fixed = concurrent::<FixedLimit>(&store, "c", 20).await;
    let sliding = concurrent::<SlidingLimit>(&store, "c", 20).await;
    let gcra = concurrent::<GcraLimit>(&store, "c", 20).await;
    let burst = concurrent::<BurstLimit>(&store, "c", 20).await;
    assert_eq!(allowed(&fixed), 5, "fixed: {fixed:?}");
    assert_eq!(allowed(&sliding), 5, "sliding: {sliding:?}");
    assert_eq!(allowed(&gcra), 5, "gcra: {gcra:?}");
    assert_eq!(allowed(&burst), 3, "gcra with burst 3: {burst:?}");
    for d in fixed.iter().chain(&sliding).chain(&gcra).chain(&burst) {
        if d.allowed {
            assert_eq!(d.retry_after, None);
        } else {
            let wait = d.retry_after.expect("a denied decision says when to retry");
            assert!(wait > Duration::ZERO && wait <= Duration::from_secs(2), "{d:?}");
            assert_eq!(d.remaining, 0, "{d:?}");
        }
    }
    // Each allowed request saw the ones before it.
    let mut remaining: Vec<u64> = gcra.iter().filter(|d| d.allowed).map(|d| d.remaining).collect();
    remaining.sort_unstable();
    assert_eq!(remaining, [0, 1, 2, 3, 4]);
}
}

/// Exhausts a limiter, then waits exactly the `retry_after` the server
/// reports and checks the request passes; the wait is checked to lie
/// between `expected` less the time the requests took (and 1 ms), and
/// `expected`.
async fn denied_then_allowed_after_retry_after<R>(
    limiter: &RateLimiter<'_, R>,
    limit: u64,
    expected: Duration,
) where
    R: RedisRateLimit,
{
    let started = std::time::Instant::now();
    for i in 0..limit {
        let d = limiter.allow(1).await.unwrap();
        assert!(d.allowed, "request {i}: {d:?}");
        assert_eq!(d.remaining, limit - i - 1, "{d:?}");
        assert_eq!(d.limit, R::LIMIT);
    }
    let denied = limiter.allow(1).await.unwrap();
    let took = started.elapsed();
    assert!(!denied.allowed, "{denied:?}");
    let wait = denied.retry_after.unwrap();
    assert!(
        // A fixed window's wait is its PTTL, whole milliseconds of a
        // millisecond clock: up to 1 ms short.
        wait <= expected && wait + took + Duration::from_millis(1) >= expected,
        "retry_after {wait:?}, expected {expected:?} less at most {took:?}"
    );
    tokio::time::sleep(wait).await;
    let again = limiter.allow(1).await.unwrap();
    assert!(
        again.allowed,
        "denied again after waiting {wait:?}: {again:?}"
    );
}

on_both! {
/// A denied caller that waits the server-reported `retry_after` is allowed,
/// and not much sooner: the wait is what the algorithm says.
async fn waiting_retry_after_is_enough_and_sane() {
    let (_server, store) = start("app:").await;
    let client = "w".to_owned();

    // Fixed: the rest of the 2 s window.
    let fixed = store.rate_limit::<FixedLimit>(&client);
    denied_then_allowed_after_retry_after(&fixed, 5, Duration::from_secs(2)).await;

    // Sliding: until the oldest request leaves the 2 s window.
    let sliding = store.rate_limit::<SlidingLimit>(&client);
    denied_then_allowed_after_retry_after(&sliding, 5, Duration::from_secs(2)).await;

    // GCRA: one emission interval (400 ms) after the burst.
    let gcra = store.rate_limit::<GcraLimit>(&client);
    denied_then_allowed_after_retry_after(&gcra, 5, Duration::from_millis(400)).await;

    // GCRA with a burst of 3 at 10 per second: 100 ms apart after the burst.
    let burst = store.rate_limit::<BurstLimit>(&client);
    denied_then_allowed_after_retry_after(&burst, 3, Duration::from_millis(100)).await;
}
}

on_both! {
/// Every key a limiter writes has a TTL, bounded by its window; costs are
/// counted whole; `allow(0)` counts nothing; a cost above the limit is a
/// typed error before anything is sent.
async fn keys_expire_and_costs_are_checked() {
    let (server, store) = start("app:").await;
    let mut admin = server.raw_connection().await.unwrap();
    let client = "t".to_owned();
    let d = store.rate_limit::<FixedLimit>(&client).allow(3).await.unwrap();
    assert!(d.allowed && d.remaining == 2, "{d:?}");
    let d = store.rate_limit::<FixedLimit>(&client).allow(3).await.unwrap();
    assert!(!d.allowed && d.remaining == 2, "a cost of 3 does not fit in 2: {d:?}");
    let d = store.rate_limit::<FixedLimit>(&client).allow(0).await.unwrap();
    assert!(d.allowed && d.remaining == 2, "allow(0) only looks: {d:?}");
    store.rate_limit::<SlidingLimit>(&client).allow(2).await.unwrap();
    store.rate_limit::<GcraLimit>(&client).allow(2).await.unwrap();
    let d = store.rate_limit::<GcraLimit>(&client).allow(0).await.unwrap();
    assert!(d.allowed && d.remaining == 3, "{d:?}");

    let manifest = TEST_MODELS.manifest("app:");
    for (ttl, key, max) in [
        (store.ttl::<FixedLimit>(&client).await.unwrap(), store.key::<FixedLimit>(&client).unwrap(), 2000),
        (store.ttl::<SlidingLimit>(&client).await.unwrap(), store.key::<SlidingLimit>(&client).unwrap(), 2000),
        // Two of a burst of 5 at 400 ms each: 800 ms.
        (store.ttl::<GcraLimit>(&client).await.unwrap(), store.key::<GcraLimit>(&client).unwrap(), 800),
    ] {
        match ttl {
            Expiry::In(ttl) => assert!(ttl > Duration::ZERO && ttl <= Duration::from_millis(max), "{key}: {ttl:?}"),
            other => panic!("{key} has no TTL: {other:?}"),
        }
        // The key's Redis type is the manifest's.
        let family = manifest.family_of(key.as_bytes()).unwrap();
        let redis_type: String = raw!(&mut admin, "TYPE", &key);
        assert_eq!(redis_type, family.redis_type, "{}", family.model);
        assert_eq!(family.ttl_ms, Some(2000), "{}", family.model);
    }
    let sliding = manifest.families.iter().find(|f| f.model == "SlidingLimit").unwrap();
    assert_eq!((sliding.redis_type.as_str(), sliding.encoding.as_str()), ("zset", "rate_limit_sliding"));
    let burst = manifest.families.iter().find(|f| f.model == "BurstLimit").unwrap();
    // Its key lives at most 3 requests of 100 ms.
    assert_eq!((burst.encoding.as_str(), burst.ttl_ms), ("rate_limit_gcra", Some(300)));

    // Idle keys vanish.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    for key in [
        store.key::<FixedLimit>(&client).unwrap(),
        store.key::<SlidingLimit>(&client).unwrap(),
        store.key::<GcraLimit>(&client).unwrap(),
    ] {
        let exists: bool = raw!(&mut admin, "EXISTS", &key);
        assert!(!exists, "{key} outlived its window");
    }

    // Costs the limiter can never allow.
    for err in [
        store.rate_limit::<FixedLimit>(&client).allow(6).await.unwrap_err(),
        store.rate_limit::<BurstLimit>(&client).allow(4).await.unwrap_err(),
    ] {
        match &err {
            Error::InvalidCost { cost, max, .. } => assert!(cost > max, "{err}"),
            other => panic!("expected InvalidCost, got {other:?}"),
        }
        assert_eq!(err.class(), "invalid_cost");
    }
}
}

on_both! {
/// A sliding window counts every request in the last `per`, not per
/// calendar window: requests spread over a window boundary still count.
async fn a_sliding_window_never_allows_more_than_the_limit_in_any_period() {
    let (_server, store) = start("app:").await;
    let client = "s".to_owned();
    let sliding = store.rate_limit::<SlidingLimit>(&client);
    let mut times = Vec::new();
    let start = std::time::Instant::now();
    // Keep asking for 3 s, every 50 ms; record when requests passed.
    while start.elapsed() < Duration::from_secs(3) {
        if sliding.allow(1).await.unwrap().allowed {
            times.push(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // In any 2 s period (client-measured, with a margin for the round trip)
    // at most 5 passed.
    for (i, t) in times.iter().enumerate() {
        let within = times[i..].iter().filter(|u| **u < *t + Duration::from_millis(1900)).count();
        assert!(within <= 5, "{within} within 2 s of {t:?}: {times:?}");
    }
    assert!(times.len() >= 6, "the window slid: {times:?}");
}
}
