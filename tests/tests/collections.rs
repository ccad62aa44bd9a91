//! Sets, sorted sets and counters against a real redis-server and a real
//! Redis Cluster: every operation, the TTL policy, typed errors for bad
//! stored data, and the rate limit under concurrency. Stores connect as the
//! ACL user the keyspace's rule creates, so every operation also proves the
//! rule grants what it sends.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::*;
use futures_util::StreamExt;
use redis_runtime::collection::{Bound, Order, ZAdd};
use redis_runtime::{Error, Expiry};

fn ttl_ms(expiry: Expiry) -> u128 {
    match expiry {
        Expiry::In(d) => d.as_millis(),
        other => panic!("expected a TTL, got {other:?}"),
    }
}

fn team(org: &str, team: &str) -> TeamMembers {
    TeamMembers {
        org: TenantId(org.into()),
        team: team.into(),
    }
}

on_both! {
async fn set_operations() {
    let (server, store) = start("app:").await;
    let mut raw = server.raw_connection().await.unwrap();
    let red = team("acme", "red");
    let set = store.set::<TeamMembers>(&red);

    // An absent set reads as empty.
    assert_eq!(set.len().await.unwrap(), 0);
    assert!(set.members().await.unwrap().is_empty());
    assert!(!set.contains(&1).await.unwrap());
    assert_eq!(set.random().await.unwrap(), None);
    assert_eq!(set.pop().await.unwrap(), None);
    assert_eq!(store.ttl::<TeamMembers>(&red).await.unwrap(), Expiry::Missing);

    assert!(set.add(&1).await.unwrap());
    assert!(!set.add(&1).await.unwrap(), "a second add reports it was there");
    assert_eq!(set.add_many(&[1, 2, 3]).await.unwrap(), 2);
    assert_eq!(set.add_many(&[]).await.unwrap(), 0);
    assert_eq!(set.len().await.unwrap(), 3);
    assert_eq!(set.contains_many(&[3, 4, 1]).await.unwrap(), vec![true, false, true]);
    let members: BTreeSet<u64> = set.members().await.unwrap().into_iter().collect();
    assert_eq!(members, BTreeSet::from([1, 2, 3]));
    assert!(members.contains(&set.random().await.unwrap().unwrap()));

    // Members are stored as plain text, readable by any client.
    let key = store.key::<TeamMembers>(&red).unwrap();
    assert_eq!(key.to_string(), "app:org:{acme}:team:red:members");
    let is_member: bool = raw!(&mut raw, "SISMEMBER", &key, "2");
    assert!(is_member);

    assert!(set.remove(&2).await.unwrap());
    assert!(!set.remove(&2).await.unwrap());
    assert_eq!(set.remove_many(&[1, 9]).await.unwrap(), 1);
    let popped = set.pop().await.unwrap();
    assert_eq!(popped, Some(3));
    // The last member gone, the key is gone: reads are empty again, not errors.
    assert!(!store.exists::<TeamMembers>(&red).await.unwrap());
    assert!(set.members().await.unwrap().is_empty());

    // Scan: every member of a large set exactly once (no rehashing here).
    let many: Vec<u64> = (0..1200).collect();
    assert_eq!(set.add_many(&many).await.unwrap(), 1200);
    let scanned: Vec<u64> = set.scan().map(Result::unwrap).collect().await;
    let unique: BTreeSet<u64> = scanned.iter().copied().collect();
    assert_eq!(unique.len(), 1200);
    assert_eq!(unique, many.iter().copied().collect());
    assert!(store.delete::<TeamMembers>(&red).await.unwrap());
}
}

on_both! {
async fn moves_and_set_algebra_stay_in_one_family_and_slot() {
    let (_server, store) = start("app:").await;
    let (red, blue, green) = (team("acme", "red"), team("acme", "blue"), team("acme", "green"));
    store.set::<TeamMembers>(&red).add_many(&[1, 2, 3]).await.unwrap();
    store.set::<TeamMembers>(&blue).add_many(&[3, 4]).await.unwrap();

    let sorted = |v: Vec<u64>| v.into_iter().collect::<BTreeSet<_>>();
    let set = store.set::<TeamMembers>(&red);
    assert_eq!(sorted(set.union(&[&blue]).await.unwrap()), BTreeSet::from([1, 2, 3, 4]));
    assert_eq!(sorted(set.intersection(&[&blue]).await.unwrap()), BTreeSet::from([3]));
    assert_eq!(sorted(set.difference(&[&blue]).await.unwrap()), BTreeSet::from([1, 2]));
    // With an absent set: union with nothing, intersection empty.
    assert_eq!(set.intersection(&[&green]).await.unwrap(), Vec::<u64>::new());

    assert!(set.move_member(&blue, &1).await.unwrap());
    assert!(!set.move_member(&blue, &1).await.unwrap(), "no longer here");
    assert!(store.set::<TeamMembers>(&blue).contains(&1).await.unwrap());

    // A store form replaces the destination and gives it the declared TTL.
    assert_eq!(set.store_union(&green, &[&blue]).await.unwrap(), 4);
    let ttl = ttl_ms(store.ttl::<TeamMembers>(&green).await.unwrap());
    assert!(ttl > 3_500_000 && ttl <= 3_600_000, "{ttl}");
    assert_eq!(set.store_intersection(&green, &[&blue]).await.unwrap(), 1);
    assert_eq!(set.store_difference(&green, &[&blue]).await.unwrap(), 1);
    assert_eq!(store.set::<TeamMembers>(&green).members().await.unwrap(), vec![2]);

    // Another org's set is another slot: refused before anything is sent,
    // on one server as on the cluster.
    let other = team("globex", "red");
    store.set::<TeamMembers>(&other).add(&7).await.unwrap();
    for result in [
        set.union(&[&other]).await.map(|_| ()),
        set.move_member(&other, &2).await.map(|_| ()),
        set.store_union(&green, &[&other]).await.map(|_| ()),
    ] {
        match result {
            Err(Error::CrossSlot { model, key_template, .. }) => {
                assert_eq!(model, "TeamMembers");
                assert_eq!(key_template, "org:{org}:team:{team}:members");
            }
            other => panic!("expected CrossSlot, got {other:?}"),
        }
    }
    assert!(set.contains(&2).await.unwrap(), "the refused move changed nothing");
}
}

on_both! {
async fn collection_ttl_is_armed_by_the_creating_write_and_never_extended() {
    let (_server, store) = start("").await;
    let red = team("acme", "red");
    let set = store.set::<TeamMembers>(&red);
    set.add(&1).await.unwrap();
    let first = ttl_ms(store.ttl::<TeamMembers>(&red).await.unwrap());
    assert!(first > 3_500_000 && first <= 3_600_000, "{first}");
    // Shorten it; later adds must not re-arm the declared hour.
    assert!(store.expire::<TeamMembers>(&red, Duration::from_secs(100)).await.unwrap());
    set.add(&2).await.unwrap();
    set.add_many(&[3, 4]).await.unwrap();
    let later = ttl_ms(store.ttl::<TeamMembers>(&red).await.unwrap());
    assert!(later <= 100_000, "an add extended the TTL to {later} ms");
    // Explicit TTL calls work on collections too.
    assert!(store.persist::<TeamMembers>(&red).await.unwrap());
    assert_eq!(store.ttl::<TeamMembers>(&red).await.unwrap(), Expiry::Never);
    assert!(store.refresh_ttl::<TeamMembers>(&red).await.unwrap());
    assert!(ttl_ms(store.ttl::<TeamMembers>(&red).await.unwrap()) > 3_500_000);

    // Without a declared TTL, nothing expires.
    store.set::<PrefSets>(&1).add(&Prefs::default()).await.unwrap();
    assert_eq!(store.ttl::<PrefSets>(&1).await.unwrap(), Expiry::Never);

    // The same for a sorted set and a counter.
    let game = "chess".to_owned();
    store.sorted_set::<Board>(&game).add(&"ada".into(), 1).await.unwrap();
    assert!(store.expire::<Board>(&game, Duration::from_secs(50)).await.unwrap());
    store.sorted_set::<Board>(&game).incr(&"ada".into(), 5).await.unwrap();
    store.sorted_set::<Board>(&game).add(&"bob".into(), 2).await.unwrap();
    assert!(ttl_ms(store.ttl::<Board>(&game).await.unwrap()) <= 50_000);
    store.counter::<Hits>(&9).incr(1).await.unwrap();
    assert!(store.expire::<Hits>(&9, Duration::from_secs(30)).await.unwrap());
    store.counter::<Hits>(&9).incr(1).await.unwrap();
    store.counter::<Hits>(&9).hit(10).await.unwrap();
    assert!(ttl_ms(store.ttl::<Hits>(&9).await.unwrap()) <= 30_000);
}
}

on_both! {
async fn serde_members_and_bad_stored_members() {
    let (server, store) = start("").await;
    let mut raw = server.raw_connection().await.unwrap();
    let prefs = Prefs {
        theme: "dark".into(),
        langs: vec!["en".into()],
    };
    let set = store.set::<PrefSets>(&5);
    assert!(set.add(&prefs).await.unwrap());
    assert!(!set.add(&prefs.clone()).await.unwrap(), "an equal value is the same member");
    assert_eq!(set.members().await.unwrap(), vec![prefs.clone()]);

    // A member that does not decode is a typed error naming the element,
    // never the stored bytes, never a panic.
    let key = store.key::<PrefSets>(&5).unwrap();
    let _: () = raw!(&mut raw, "SADD", &key, "secret-not-json");
    match set.members().await {
        Err(Error::Decode(e)) => {
            assert_eq!((e.model, e.field), ("PrefSets", Some("member")));
            assert!(!e.to_string().contains("secret"), "{e}");
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
    let scanned: Vec<_> = set.scan().collect().await;
    assert_eq!(scanned.len(), 2);
    assert_eq!(scanned.iter().filter(|r| r.is_err()).count(), 1, "the scan goes on");

    let red = team("acme", "red");
    let key = store.key::<TeamMembers>(&red).unwrap();
    let _: () = raw!(&mut raw, "SADD", &key, "-1");
    assert!(matches!(
        store.set::<TeamMembers>(&red).members().await,
        Err(Error::Decode(e)) if e.field == Some("member")
    ));
    // A key holding another type is a typed error.
    let key = store.key::<PrefSets>(&6).unwrap();
    let _: () = raw!(&mut raw, "SET", &key, "x");
    assert!(matches!(
        store.set::<PrefSets>(&6).len().await,
        Err(Error::WrongType { .. })
    ));
}
}

on_both! {
async fn sorted_set_operations() {
    let (server, store) = start("app:").await;
    let mut raw = server.raw_connection().await.unwrap();
    let game = "go".to_owned();
    let board = store.sorted_set::<Board>(&game);
    let s = |x: &str| x.to_owned();

    // Absent: empty, not an error.
    assert_eq!(board.len().await.unwrap(), 0);
    assert_eq!(board.top(3).await.unwrap(), vec![]);
    assert_eq!(board.score(&s("ada")).await.unwrap(), None);
    assert_eq!(board.rank(&s("ada")).await.unwrap(), None);
    assert_eq!(board.pop_min().await.unwrap(), None);

    assert!(board.add(&s("ada"), 10).await.unwrap());
    assert!(!board.add(&s("ada"), 12).await.unwrap(), "an update is not an add");
    assert_eq!(board.add_many(&[(&s("bob"), 5), (&s("cy"), 20), (&s("ada"), 12)]).await.unwrap(), 2);
    assert_eq!(board.score(&s("ada")).await.unwrap(), Some(12));
    assert_eq!(board.scores(&[s("cy"), s("zed")]).await.unwrap(), vec![Some(20), None]);
    assert_eq!(board.incr(&s("bob"), 10).await.unwrap(), 15);
    assert_eq!(board.incr(&s("dee"), 1).await.unwrap(), 1, "a new member starts at 0");

    // Conditions.
    assert!(!board.add_with(&s("ada"), 99, ZAdd::new().only_new()).await.unwrap());
    assert_eq!(board.score(&s("ada")).await.unwrap(), Some(12));
    assert!(!board.add_with(&s("eve"), 3, ZAdd::new().only_existing()).await.unwrap());
    assert_eq!(board.score(&s("eve")).await.unwrap(), None);
    assert!(!board.add_with(&s("ada"), 11, ZAdd::new().if_greater()).await.unwrap());
    assert!(board.add_with(&s("ada"), 13, ZAdd::new().if_greater()).await.unwrap());
    assert!(board.add_with(&s("ada"), 12, ZAdd::new().if_less()).await.unwrap());
    assert!(matches!(
        board.add_with(&s("ada"), 1, ZAdd::new().only_new().if_greater()).await,
        Err(Error::Server { .. })
    ));

    // dee 1, ada 12, bob 15, cy 20
    assert_eq!(board.rank(&s("ada")).await.unwrap(), Some(1));
    assert_eq!(board.rank_rev(&s("ada")).await.unwrap(), Some(2));
    assert_eq!(
        board.top(2).await.unwrap(),
        vec![(s("cy"), 20), (s("bob"), 15)]
    );
    assert_eq!(
        board.range(0, 1, Order::Ascending).await.unwrap(),
        vec![(s("dee"), 1), (s("ada"), 12)]
    );
    assert_eq!(board.range(0, -1, Order::Descending).await.unwrap().len(), 4);
    assert_eq!(
        board
            .range_by_score(Bound::Exclusive(1), Bound::Inclusive(15), Order::Ascending, None)
            .await
            .unwrap(),
        vec![(s("ada"), 12), (s("bob"), 15)]
    );
    assert_eq!(
        board
            .range_by_score(Bound::Unbounded, Bound::Unbounded, Order::Descending, Some((1, 2)))
            .await
            .unwrap(),
        vec![(s("bob"), 15), (s("ada"), 12)]
    );
    assert_eq!(board.count(Bound::Inclusive(12), Bound::Unbounded).await.unwrap(), 3);

    assert_eq!(board.pop_max().await.unwrap(), Some((s("cy"), 20)));
    assert_eq!(board.pop_min().await.unwrap(), Some((s("dee"), 1)));
    assert!(board.remove(&s("ada")).await.unwrap());
    assert!(!board.remove(&s("ada")).await.unwrap());
    board.add_many(&[(&s("a"), 1), (&s("b"), 2), (&s("c"), 3)]).await.unwrap();
    assert_eq!(board.remove_by_rank(0, 0).await.unwrap(), 1);
    assert_eq!(board.remove_by_score(Bound::Inclusive(2), Bound::Inclusive(3)).await.unwrap(), 2);
    assert_eq!(board.range(0, -1, Order::Ascending).await.unwrap(), vec![(s("bob"), 15)]);

    // Lexicographic ranges over one score.
    let lex = "lex".to_owned();
    let words = store.sorted_set::<Board>(&lex);
    for w in ["apple", "banana", "cherry", "date"] {
        words.add(&s(w), 0).await.unwrap();
    }
    assert_eq!(
        words
            .range_by_lex(Bound::Inclusive(&s("b")), Bound::Exclusive(&s("d")), Order::Ascending, None)
            .await
            .unwrap(),
        vec![s("banana"), s("cherry")]
    );
    assert_eq!(
        words
            .range_by_lex(Bound::Unbounded, Bound::Unbounded, Order::Descending, Some((0, 1)))
            .await
            .unwrap(),
        vec![s("date")]
    );

    // Integer scores are exact: beyond 2^53 is refused when written...
    assert!(matches!(
        board.add(&s("big"), (1 << 53) + 1).await,
        Err(Error::Encode { field: Some("score"), .. })
    ));
    // ...and a stored fraction does not read as an integer score.
    let key = store.key::<Board>(&game).unwrap();
    let _: () = raw!(&mut raw, "ZADD", &key, "1.5", "half");
    assert!(matches!(
        board.score(&s("half")).await,
        Err(Error::Decode(e)) if e.field == Some("score")
    ));

    // Float scores and newtype members.
    let pool = "p".to_owned();
    let load = store.sorted_set::<Load>(&pool);
    load.add(&TenantId("a".into()), 0.25).await.unwrap();
    load.add(&TenantId("b".into()), f64::INFINITY).await.unwrap();
    assert_eq!(load.incr(&TenantId("a".into()), 0.5).await.unwrap(), 0.75);
    assert_eq!(
        load.pop_max().await.unwrap(),
        Some((TenantId("b".into()), f64::INFINITY))
    );
    assert!(matches!(
        load.add(&TenantId("n".into()), f64::NAN).await,
        Err(Error::Encode { .. })
    ));
}
}

on_both! {
async fn counter_operations() {
    let (server, store) = start("").await;
    let mut raw = server.raw_connection().await.unwrap();
    let views = Views {
        page: "home".into(),
        day: 20261201,
    };
    let counter = store.counter::<Views>(&views);
    assert_eq!(counter.get().await.unwrap(), 0, "absent reads as 0");
    assert_eq!(counter.incr(5).await.unwrap(), 5);
    assert_eq!(counter.decr(2).await.unwrap(), 3);
    assert_eq!(counter.get().await.unwrap(), 3);
    assert_eq!(store.ttl::<Views>(&views).await.unwrap(), Expiry::Never);
    counter.set(-7).await.unwrap();
    assert_eq!(counter.get().await.unwrap(), -7);
    assert!(matches!(counter.decr(i64::MIN).await, Err(Error::Encode { .. })));

    // Set applies the declared TTL; a non-integer stored value is typed.
    store.counter::<Hits>(&1).set(3).await.unwrap();
    assert!(ttl_ms(store.ttl::<Hits>(&1).await.unwrap()) > 3_500_000);
    let key = store.key::<Hits>(&2).unwrap();
    let _: () = raw!(&mut raw, "SET", &key, "abc");
    assert!(matches!(
        store.counter::<Hits>(&2).get().await,
        Err(Error::Decode(e)) if e.field == Some("value")
    ));
    assert!(matches!(
        store.counter::<Hits>(&2).incr(1).await,
        Err(Error::Server { .. })
    ));
    let stored: String = raw!(&mut raw, "GET", &key);
    assert_eq!(stored, "abc", "a refused increment changes nothing");

    // The rate limit: allowed up to the limit, then denied with a retry time.
    for i in 1..=3 {
        let hit = store.counter::<Hits>(&3).hit(3).await.unwrap();
        assert!(hit.allowed(), "hit {i}");
        assert_eq!((hit.count, hit.remaining()), (i, 3 - i));
        assert_eq!(hit.retry_after(), None);
    }
    let denied = store.counter::<Hits>(&3).hit(3).await.unwrap();
    assert!(!denied.allowed());
    let retry = denied.retry_after().unwrap();
    assert!(retry > Duration::from_secs(3500) && retry <= Duration::from_secs(3600));
}
}

on_both! {
(flavor = "multi_thread", worker_threads = 4) async fn rate_limit_and_counter_are_exact_under_concurrency() {
    let (_server, store) = start("").await;
    // 20 concurrent first hits on a fresh window with a limit of 5: exactly 5 pass.
    let hits = (0..20).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.counter::<Hits>(&42).hit(5).await.unwrap() })
    });
    let outcomes: Vec<_> = futures_util::future::join_all(hits).await;
    let allowed = outcomes.iter().filter(|o| o.as_ref().unwrap().allowed()).count();
    assert_eq!(allowed, 5);
    assert_eq!(store.counter::<Hits>(&42).get().await.unwrap(), 20);

    // 16 tasks x 500 increments on one window: the exact count, and the TTL
    // armed once (never re-armed: it only ever goes down).
    let first = store.counter::<Hits>(&43).incr(1).await.unwrap();
    assert_eq!(first, 1);
    let armed = ttl_ms(store.ttl::<Hits>(&43).await.unwrap());
    let tasks = (0..16).map(|_| {
        let store = store.clone();
        tokio::spawn(async move {
            for _ in 0..500 {
                store.counter::<Hits>(&43).incr(1).await.unwrap();
            }
        })
    });
    for task in futures_util::future::join_all(tasks).await {
        task.unwrap();
    }
    assert_eq!(store.counter::<Hits>(&43).get().await.unwrap(), 8001);
    let after = ttl_ms(store.ttl::<Hits>(&43).await.unwrap());
    assert!(after <= armed, "the TTL was re-armed: {armed} ms, then {after} ms");
}
}

/// The window's TTL is set exactly once: the server's keyspace events show
/// one `expire` for the key over 16 x 50 concurrent hits.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rate_limit_window_is_set_exactly_once() {
    let redis = TestRedis::Server(redis_runtime::testing::RedisServer::start().unwrap());
    let mut admin = redis.server().raw_connection().await.unwrap();
    let _: () = raw!(&mut admin, "CONFIG", "SET", "notify-keyspace-events", "Kg");
    let store = connect_as_app(&redis, "").await;
    let key = store.key::<Hits>(&7).unwrap().to_string();
    let client = redis::Client::open(redis.server().url()).unwrap();
    let mut pubsub = client.get_async_pubsub().await.unwrap();
    pubsub
        .subscribe(format!("__keyspace@0__:{key}"))
        .await
        .unwrap();
    let tasks = (0..16).map(|_| {
        let store = store.clone();
        tokio::spawn(async move {
            for _ in 0..50 {
                store.counter::<Hits>(&7).hit(100).await.unwrap();
            }
        })
    });
    for task in futures_util::future::join_all(tasks).await {
        task.unwrap();
    }
    // A marker event after the hits: every earlier event has arrived by then.
    let _: () = raw!(&mut admin, "PERSIST", &key);
    let mut expires = 0;
    let mut messages = pubsub.on_message();
    while let Some(message) = messages.next().await {
        let event: String = message.get_payload().unwrap();
        match event.as_str() {
            "expire" => expires += 1,
            "persist" => break,
            _ => {}
        }
    }
    assert_eq!(expires, 1, "the window's TTL was set {expires} times");
}

on_both! {
async fn map_operations() {
    let (server, store) = start("app:").await;
    let mut raw = server.raw_connection().await.unwrap();
    let lobby = "lobby".to_owned();
    let marks = store.map::<ReadMarks>(&lobby);

    // Absent: empty, not an error.
    assert_eq!(marks.len().await.unwrap(), 0);
    assert_eq!(marks.get(&1).await.unwrap(), None);
    assert!(marks.all().await.unwrap().is_empty());
    assert!(!marks.contains(&1).await.unwrap());

    assert!(marks.set(&1, &10).await.unwrap());
    assert!(!marks.set(&1, &11).await.unwrap(), "an update is not a new field");
    assert_eq!(marks.set_many(&[(&2, &20), (&3, &30), (&1, &12)]).await.unwrap(), 2);
    assert_eq!(marks.get(&1).await.unwrap(), Some(12));
    assert_eq!(marks.get_many(&[3, 9, 2]).await.unwrap(), vec![Some(30), None, Some(20)]);
    let mut all = marks.all().await.unwrap();
    all.sort();
    assert_eq!(all, vec![(1, 12), (2, 20), (3, 30)]);
    assert!(marks.contains(&2).await.unwrap());
    assert_eq!(marks.incr(&2, 5).await.unwrap(), 25);
    assert_eq!(marks.incr(&4, -1).await.unwrap(), -1, "an absent field starts at 0");
    assert!(marks.remove(&4).await.unwrap());
    assert!(!marks.remove(&4).await.unwrap());
    assert_eq!(marks.remove_many(&[3, 8]).await.unwrap(), 1);
    assert_eq!(marks.len().await.unwrap(), 2);

    // Fields are plain text: another client reads them.
    let key = store.key::<ReadMarks>(&lobby).unwrap();
    let stored: Option<String> = raw!(&mut raw, "HGET", &key, "1");
    assert_eq!(stored.as_deref(), Some("12"));

    // The TTL: armed by the creating write, never extended.
    let first = ttl_ms(store.ttl::<ReadMarks>(&lobby).await.unwrap());
    assert!(first > 86_000_000, "{first}");
    assert!(store.expire::<ReadMarks>(&lobby, Duration::from_secs(60)).await.unwrap());
    marks.set(&5, &1).await.unwrap();
    marks.incr(&5, 1).await.unwrap();
    assert!(ttl_ms(store.ttl::<ReadMarks>(&lobby).await.unwrap()) <= 60_000);

    // Scan.
    let big = "big".to_owned();
    let many: Vec<(u64, i64)> = (0..700).map(|i| (i, i as i64 * 2)).collect();
    let refs: Vec<(&u64, &i64)> = many.iter().map(|(f, v)| (f, v)).collect();
    assert_eq!(store.map::<ReadMarks>(&big).set_many(&refs).await.unwrap(), 700);
    let mut scanned: Vec<(u64, i64)> =
        store.map::<ReadMarks>(&big).scan().map(Result::unwrap).collect().await;
    scanned.sort();
    scanned.dedup();
    assert_eq!(scanned, many);

    // Bad stored data: typed, naming field or value, never the bytes.
    let _: () = raw!(&mut raw, "HSET", &key, "not-a-number", "1");
    assert!(matches!(marks.all().await, Err(Error::Decode(e)) if e.field == Some("field")));
    let _: () = raw!(&mut raw, "HDEL", &key, "not-a-number");
    let _: () = raw!(&mut raw, "HSET", &key, "7", "secret");
    match marks.get(&7).await {
        Err(Error::Decode(e)) => {
            assert_eq!(e.field, Some("value"));
            assert!(!e.to_string().contains("secret"));
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
    assert!(matches!(marks.incr(&7, 1).await, Err(Error::Server { .. })));

    // Serde values and newtype fields.
    let org = "acme".to_owned();
    let prefs = store.map::<OrgPrefs>(&org);
    let value = Prefs { theme: "light".into(), langs: vec!["de".into()] };
    assert!(prefs.set(&TenantId("t:1".into()), &value).await.unwrap());
    assert_eq!(prefs.get(&TenantId("t:1".into())).await.unwrap(), Some(value));
    assert_eq!(store.ttl::<OrgPrefs>(&org).await.unwrap(), Expiry::Never);
}
}

/// A sorted set with signed integer scores, for `incr` below zero.
#[derive(redis_runtime::RedisSortedSet)]
#[redis(key = "ledger:{book}", member = String, score = i64, ttl = "1h")]
struct Ledger {
    book: String,
}

/// A sorted set whose score type is narrower than a double's exact range.
#[derive(redis_runtime::RedisSortedSet)]
#[redis(key = "grades:{class}", member = String, score = u8)]
struct Grades {
    class: String,
}

on_both! {
/// `incr` on an integer score never writes a value the type cannot read
/// back exactly: a result beyond ±2^53, or outside the type, is refused and
/// nothing changes; the exact bounds themselves are reached.
async fn sorted_set_integer_incr_refuses_what_the_type_cannot_hold() {
    let redis = TestRedis::start();
    let store = redis.store().await;
    let mut raw = redis.raw_connection().await.unwrap();
    let s = |x: &str| x.to_owned();
    let exact: i64 = 1 << 53;

    let book = s("b");
    let ledger = store.sorted_set::<Ledger>(&book);
    // The creating increment arms the TTL (in the script, as `PEXPIRE NX`).
    assert_eq!(ledger.incr(&s("up"), exact - 1).await.unwrap(), exact - 1);
    assert!(ttl_ms(store.ttl::<Ledger>(&book).await.unwrap()) > 3_500_000);
    assert_eq!(ledger.incr(&s("up"), 1).await.unwrap(), exact, "2^53 itself is exact");
    let refused = ledger.incr(&s("up"), 1).await;
    assert!(matches!(refused, Err(Error::Server { .. })), "{refused:?}");
    assert_eq!(ledger.score(&s("up")).await.unwrap(), Some(exact), "nothing written");
    // Downwards, and by the largest increment there is.
    assert_eq!(ledger.incr(&s("down"), -exact).await.unwrap(), -exact);
    assert!(matches!(ledger.incr(&s("down"), -1).await, Err(Error::Server { .. })));
    assert!(matches!(ledger.incr(&s("new"), exact + 1).await, Err(Error::Encode { .. })));
    assert_eq!(ledger.incr(&s("down"), exact).await.unwrap(), 0);
    assert!(matches!(ledger.incr(&s("down"), exact).await, Ok(v) if v == exact));
    assert!(matches!(ledger.incr(&s("down"), 1).await, Err(Error::Server { .. })));
    assert_eq!(ledger.score(&s("new")).await.unwrap(), None);

    // A stored score the type cannot read: Decode, and nothing written.
    let key = store.key::<Ledger>(&book).unwrap();
    let _: () = raw!(&mut raw, "ZADD", &key, "1.5", "half");
    let _: () = raw!(&mut raw, "ZADD", &key, "9007199254740994", "far");
    for member in ["half", "far"] {
        let r = ledger.incr(&s(member), 1).await;
        assert!(matches!(r, Err(Error::Decode(_))), "{member}: {r:?}");
    }
    let half: String = raw!(&mut raw, "ZSCORE", &key, "half");
    let far: String = raw!(&mut raw, "ZSCORE", &key, "far");
    assert_eq!((half.as_str(), far.as_str()), ("1.5", "9007199254740994"));

    // The type's own bounds, narrower than 2^53.
    let class = s("c");
    let grades = store.sorted_set::<Grades>(&class);
    assert_eq!(grades.incr(&s("ada"), 250).await.unwrap(), 250);
    assert_eq!(grades.incr(&s("ada"), 5).await.unwrap(), u8::MAX);
    assert!(matches!(grades.incr(&s("ada"), 1).await, Err(Error::Server { .. })));
    assert_eq!(grades.score(&s("ada")).await.unwrap(), Some(u8::MAX));
    assert_eq!(store.ttl::<Grades>(&class).await.unwrap(), Expiry::Never);

    // A key of another type: WrongType, before anything is written.
    let wrong = s("w");
    let wkey = store.key::<Ledger>(&wrong).unwrap();
    let _: () = raw!(&mut raw, "SET", &wkey, "x");
    let r = store.sorted_set::<Ledger>(&wrong).incr(&s("a"), 1).await;
    assert!(matches!(r, Err(Error::WrongType { .. })), "{r:?}");
    assert_eq!(store.ttl::<Ledger>(&wrong).await.unwrap(), Expiry::Never);

    // Float scores are not checked: plain ZINCRBY.
    let pool = s("p");
    let load = store.sorted_set::<Load>(&pool);
    let big = 2f64.powi(53);
    assert_eq!(load.incr(&TenantId(s("t")), big).await.unwrap(), big);
    assert_eq!(load.incr(&TenantId(s("t")), 1.0).await.unwrap(), big, "doubles round");
}
}

on_both! {
/// Counts, offsets and waits beyond what the server takes are clamped to it:
/// the queue's blocking take and `range_by_lex`'s offset, besides what the
/// review's `huge_counts_and_waits_are_honoured` covers.
async fn huge_waits_and_offsets_are_clamped() {
    let redis = TestRedis::start();
    let store = redis.store().await;
    let (queue, room) = ("acme".to_owned(), "h".to_owned());
    let q = store.list::<Jobs>(&queue);
    q.enqueue(&Job { id: 1, payload: String::new() }).await.unwrap();
    let d = q.take_blocking("w", Duration::MAX).await.unwrap().unwrap();
    assert!(q.ack(&d).await.unwrap());
    let list = store.list::<History>(&room);
    list.push_back(&Line { from: 2, text: String::new() }).await.unwrap();
    assert_eq!(list.pop_front_many(u64::MAX).await.unwrap().len(), 1);

    let pool = "p".to_owned();
    let load = store.sorted_set::<Load>(&pool);
    load.add(&TenantId("a".into()), 0.0).await.unwrap();
    let all = (Bound::Unbounded, Bound::Unbounded);
    let r = load.range_by_lex(all.0, all.1, Order::Ascending, Some((u64::MAX, 1))).await;
    assert!(matches!(&r, Ok(v) if v.is_empty()), "{r:?}");
    let r = load.range_by_lex(all.0, all.1, Order::Descending, Some((0, u64::MAX))).await;
    assert!(matches!(&r, Ok(v) if v.len() == 1), "{r:?}");
}
}
