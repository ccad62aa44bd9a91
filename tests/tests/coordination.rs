//! Models with a version field, unique constraints and indexes
//! (`#[redis(version)]`, `#[redis(unique)]`, `#[redis(index)]`,
//! `#[redis(index(range))]`) against a real redis-server and a real Redis
//! Cluster, as the restricted ACL user the keyspace's rule creates: every
//! write keeps the entity and its constraint keys together, queries never
//! return what no longer exists, and concurrent writers lose nothing.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::*;
use redis_runtime::collection::Order;
use redis_runtime::{Error, Page};

fn org() -> TenantId {
    TenantId("acme".into())
}

fn ids(members: &[Member]) -> Vec<u64> {
    members.iter().map(|m| m.id).collect()
}

/// The constraint keys of org `acme` under namespace `app:`.
const ROLE_INDEX: &str = "app:org:{acme}:Member.index.role";
const EMAIL_UNIQUE: &str = "app:org:{acme}:Member.unique.email";
const JOINED_INDEX: &str = "app:org:{acme}:Member.range.joined";

on_both! {
async fn writes_keep_indexes_and_uniques() {
    let (server, store) = start("app:").await;
    let mut raw = server.raw_connection().await.unwrap();
    for id in 1..=5 {
        let mut m = Member::sample("acme", id);
        if id % 2 == 0 {
            m.role = "admin".into();
        }
        store.save(&m).await.unwrap();
    }
    // The version starts at 1.
    let one = store.get::<Member>(&Member::sample("acme", 1).key_id()).await.unwrap().unwrap();
    assert_eq!(one.version, 1);

    assert_eq!(ids(&Member::find_by_role(&store, &org(), &"admin".into()).await.unwrap()), vec![2, 4]);
    assert_eq!(ids(&Member::find_by_role(&store, &org(), &"member".into()).await.unwrap()), vec![1, 3, 5]);
    assert_eq!(Member::count_by_role(&store, &org(), &"member".into()).await.unwrap(), 3);
    assert!(Member::find_by_role(&store, &org(), &"nobody".into()).await.unwrap().is_empty());
    // Another org's scope is another set of keys.
    assert!(Member::find_by_role(&store, &TenantId("other".into()), &"member".into()).await.unwrap().is_empty());

    // Unique lookup.
    let three = Member::find_by_email(&store, &org(), &"m3@acme.example".to_owned()).await.unwrap().unwrap();
    assert_eq!(three.id, 3);
    assert!(Member::find_by_email(&store, &org(), &"nobody@x".to_owned()).await.unwrap().is_none());

    // Range: joined = 10 * id.
    let mid = Member::find_by_joined(&store, &org(), 20..=40, Page::ALL).await.unwrap();
    assert_eq!(ids(&mid), vec![2, 3, 4]);
    let top2 = Member::find_by_joined(&store, &org(), .., Page::first(2).order(Order::Descending)).await.unwrap();
    assert_eq!(ids(&top2), vec![5, 4]);
    let skip = Member::find_by_joined(&store, &org(), 11.., Page::first(2).offset(1)).await.unwrap();
    assert_eq!(ids(&skip), vec![3, 4]);
    assert_eq!(Member::count_by_joined(&store, &org(), ..30).await.unwrap(), 2);
    let page = Member::find_by_role_page(&store, &org(), &"member".into(), Page::first(2).order(Order::Descending)).await.unwrap();
    assert_eq!(page.len(), 2);

    // A partial write moves the entity between index values, and bumps the version.
    let f = Member::fields();
    let id1 = Member::sample("acme", 1).key_id();
    assert!(store.set_field(&id1, f.role, &"admin".to_owned()).await.unwrap());
    assert_eq!(ids(&Member::find_by_role(&store, &org(), &"admin".into()).await.unwrap()), vec![1, 2, 4]);
    assert_eq!(ids(&Member::find_by_role(&store, &org(), &"member".into()).await.unwrap()), vec![3, 5]);
    assert_eq!(store.get::<Member>(&id1).await.unwrap().unwrap().version, 2);
    // An increment of a range-indexed field reorders it.
    assert_eq!(store.incr(&id1, f.joined, 100).await.unwrap(), Some(110));
    let last = Member::find_by_joined(&store, &org(), .., Page::first(1).order(Order::Descending)).await.unwrap();
    assert_eq!(ids(&last), vec![1]);
    // An optional indexed field: absent is not indexed; set, then cleared.
    assert!(Member::find_by_team(&store, &org(), &"red".into()).await.unwrap().is_empty());
    store.update(&id1, |u| u.set(f.team, &"red".to_owned())).await.unwrap().unwrap();
    assert_eq!(ids(&Member::find_by_team(&store, &org(), &"red".into()).await.unwrap()), vec![1]);
    assert!(store.clear_field(&id1, f.team).await.unwrap());
    assert!(Member::find_by_team(&store, &org(), &"red".into()).await.unwrap().is_empty());

    // Changing a unique value frees the old one and claims the new one.
    assert!(store.set_field(&id1, f.email, &"new@acme.example".to_owned()).await.unwrap());
    assert!(Member::find_by_email(&store, &org(), &"m1@acme.example".to_owned()).await.unwrap().is_none());
    assert_eq!(Member::find_by_email(&store, &org(), &"new@acme.example".to_owned()).await.unwrap().unwrap().id, 1);
    // Taking another's unique value is refused, and nothing changes.
    let err = store.set_field(&id1, f.email, &"m3@acme.example".to_owned()).await.unwrap_err();
    assert!(matches!(err, Error::UniqueViolation { field: "email", .. }), "{err:?}");
    assert_eq!(store.get::<Member>(&id1).await.unwrap().unwrap().email, "new@acme.example");
    let mut clash = Member::sample("acme", 9);
    clash.email = "m3@acme.example".into();
    let err = store.insert(&clash).await.unwrap_err();
    assert!(matches!(err, Error::UniqueViolation { field: "email", .. }), "{err:?}");
    assert!(!store.exists::<Member>(&clash.key_id()).await.unwrap());
    assert!(err.to_string().contains("unique field `email`"));
    assert!(!err.to_string().contains("m3@"), "the message never shows the value");

    // Delete and take remove every constraint entry in the same step.
    for id in 1..=5 {
        let id = Member::sample("acme", id).key_id();
        if id.id.is_multiple_of(2) {
            assert!(store.take::<Member>(&id).await.unwrap().is_some());
        } else {
            assert!(store.delete::<Member>(&id).await.unwrap());
        }
    }
    for key in [ROLE_INDEX, JOINED_INDEX] {
        let n: u64 = raw!(&mut raw, "ZCARD", key);
        assert_eq!(n, 0, "{key} is empty");
    }
    let n: u64 = raw!(&mut raw, "HLEN", EMAIL_UNIQUE);
    assert_eq!(n, 0);
}
}

on_both! {
async fn stale_versions_are_refused() {
    let (_server, store) = start("app:").await;
    let m = Member::sample("acme", 1);
    store.save(&m).await.unwrap();
    let first = store.get::<Member>(&m.key_id()).await.unwrap().unwrap();
    assert_eq!(first.version, 1);
    let second = store
        .modify(&m.key_id(), |m: &mut Member| m.score += 1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((second.version, second.score), (2, 1));

    // A save from the first read is stale.
    let err = store.save(&first).await.unwrap_err();
    match err {
        Error::VersionConflict { expected: 1, found: Some(2), .. } => {}
        other => panic!("expected a version conflict, got {other:?}"),
    }
    let err = store.replace(&first).await.unwrap_err();
    assert!(matches!(err, Error::VersionConflict { .. }), "{err:?}");
    assert_eq!(store.get::<Member>(&m.key_id()).await.unwrap().unwrap().score, 1);

    // Deleted: a stale save never brings it back.
    assert!(store.delete::<Member>(&m.key_id()).await.unwrap());
    let err = store.save(&second).await.unwrap_err();
    assert!(matches!(err, Error::VersionConflict { found: None, .. }), "{err:?}");
    assert!(!store.exists::<Member>(&m.key_id()).await.unwrap());
    assert!(store.modify(&m.key_id(), |m: &mut Member| m.score += 1).await.unwrap().is_none());
    // A new entity (version 0) is created at version 1.
    assert!(store.insert(&m).await.unwrap());
    assert_eq!(store.get::<Member>(&m.key_id()).await.unwrap().unwrap().version, 1);
    // A partial write at a version: compare-and-set of just its fields.
    let f = Member::fields();
    let err = store
        .update(&m.key_id(), |u| u.set(f.role, &"admin".to_owned()).if_version(7))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::VersionConflict { expected: 7, found: Some(1), .. }), "{err:?}");
    store
        .update(&m.key_id(), |u| u.set(f.role, &"admin".to_owned()).if_version(1))
        .await
        .unwrap()
        .unwrap();
    let now = store.get::<Member>(&m.key_id()).await.unwrap().unwrap();
    assert_eq!((now.role.as_str(), now.version), ("admin", 2));
    // On a model without a version field, `if_version` is refused.
    let u = User::sample("acme", 1);
    store.save(&u).await.unwrap();
    let uf = User::fields();
    let err = store
        .update(&u.key_id(), |x| x.incr(uf.logins, 1).if_version(1))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
    // Partial writes cannot write the version.
    assert!(store.set_field(&m.key_id(), f.version, &99).await.is_err());
    assert_eq!(store.get::<Member>(&m.key_id()).await.unwrap().unwrap().version, 2);
}
}

on_both! {
(flavor = "multi_thread", worker_threads = 4)
async fn concurrent_versioned_increments_lose_nothing() {
    const WRITERS: u64 = 8;
    const EACH: u64 = 250;
    let (_server, store) = start("app:").await;
    let m = Member::sample("acme", 1);
    store.save(&m).await.unwrap();
    let tasks: Vec<_> = (0..WRITERS)
        .map(|_| {
            let store = store.clone();
            let id = m.key_id();
            tokio::spawn(async move {
                for _ in 0..EACH {
                    store
                        .modify(&id, |m: &mut Member| m.score += 1)
                        .await
                        .unwrap()
                        .unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let after = store.get::<Member>(&m.key_id()).await.unwrap().unwrap();
    assert_eq!(after.score as u64, WRITERS * EACH, "no update lost");
    assert_eq!(after.version, WRITERS * EACH + 1);

    // The control: the same read-modify-write of a model without a version
    // field (plain `User`, same shape of work) loses updates, so this test
    // can tell the difference.
    let user = User::sample("acme", 1);
    store.save(&user).await.unwrap();
    let tasks: Vec<_> = (0..WRITERS)
        .map(|_| {
            let store = store.clone();
            let id = user.key_id();
            tokio::spawn(async move {
                for _ in 0..EACH {
                    let mut u = store.get::<User>(&id).await.unwrap().unwrap();
                    u.logins += 1;
                    store.save(&u).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let after = store.get::<User>(&user.key_id()).await.unwrap().unwrap();
    assert!(
        (after.logins as u64) < WRITERS * EACH,
        "without a version check, concurrent read-modify-writes lose updates ({} of {})",
        after.logins,
        WRITERS * EACH
    );
}
}

on_both! {
(flavor = "multi_thread", worker_threads = 4)
async fn one_of_sixteen_creates_with_one_email_wins() {
    let (_server, store) = start("app:").await;
    let tasks: Vec<_> = (1..=16)
        .map(|id| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut m = Member::sample("acme", id);
                m.email = "same@acme.example".into();
                store.insert(&m).await
            })
        })
        .collect();
    let mut won = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(true) => won += 1,
            Err(Error::UniqueViolation { field: "email", .. }) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(won, 1);
    let holder = Member::find_by_email(&store, &org(), &"same@acme.example".to_owned())
        .await
        .unwrap()
        .unwrap();
    assert!(store.exists::<Member>(&holder.key_id()).await.unwrap());
    let all = Member::find_by_role(&store, &org(), &"member".into()).await.unwrap();
    assert_eq!(ids(&all), vec![holder.id], "the losers left no index entry");
}
}

on_both! {
(flavor = "multi_thread", worker_threads = 4)
async fn readers_never_see_a_torn_entity() {
    let (_server, store) = start("app:").await;
    let m = Member::sample("acme", 1);
    store.save(&m).await.unwrap();
    let f = Member::fields();
    let writer = {
        let store = store.clone();
        let id = m.key_id();
        tokio::spawn(async move {
            for i in 0..300 {
                let role = if i % 2 == 0 { "a" } else { "b" };
                store
                    .update(&id, |u| u.set(f.role, &role.to_owned()).set(f.joined, &(i as i64)))
                    .await
                    .unwrap()
                    .unwrap();
            }
        })
    };
    let mut seen = 0;
    while !writer.is_finished() {
        for role in ["a", "b"] {
            for found in Member::find_by_role(&store, &org(), &role.to_owned()).await.unwrap() {
                assert_eq!(found.role, role, "an index answer holds the queried value");
                seen += 1;
            }
        }
        for found in Member::find_by_joined(&store, &org(), 100..200, Page::ALL).await.unwrap() {
            assert!((100..200).contains(&found.joined));
        }
    }
    writer.await.unwrap();
    assert!(seen > 0);
    // At rest the entity is in exactly one place of each index.
    let a = Member::count_by_role(&store, &org(), &"a".into()).await.unwrap();
    let b = Member::count_by_role(&store, &org(), &"b".into()).await.unwrap();
    assert_eq!(a + b, 1);
}
}

/// Freezes active expiry on every node, so a key past its TTL stays in
/// memory until something reads it: the queries, not the server's
/// background cycle, must be what keeps expired entities out.
async fn freeze_active_expiry(redis: &TestRedis) {
    for mut node in redis.node_connections().await {
        let _: () = redis::cmd("DEBUG")
            .arg("SET-ACTIVE-EXPIRE")
            .arg(0)
            .query_async(&mut node)
            .await
            .unwrap();
    }
}

/// Waits until the entity's TTL has passed (its reads see it gone).
async fn until_expired(store: &redis_runtime::Store, id: &MemberId) {
    while store.exists::<Member>(id).await.unwrap() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

on_both! {
async fn expired_entities_are_never_returned() {
    let (server, store) = start("app:").await;
    freeze_active_expiry(&server).await;
    let mut raw = server.raw_connection().await.unwrap();
    for id in 1..=4 {
        store.save(&Member::sample("acme", id)).await.unwrap();
    }
    // 2 and 3 expire; their index members and unique claims stay behind.
    for id in [2, 3] {
        let id = Member::sample("acme", id).key_id();
        assert!(store.expire::<Member>(&id, Duration::from_millis(1)).await.unwrap());
        until_expired(&store, &id).await;
    }
    let n: u64 = raw!(&mut raw, "ZCARD", ROLE_INDEX);
    assert_eq!(n, 4, "expiry leaves the members");

    // Queries skip and drop them.
    assert_eq!(ids(&Member::find_by_role(&store, &org(), &"member".into()).await.unwrap()), vec![1, 4]);
    let n: u64 = raw!(&mut raw, "ZCARD", ROLE_INDEX);
    assert_eq!(n, 2, "the query removed the stale members");
    assert_eq!(ids(&Member::find_by_joined(&store, &org(), .., Page::ALL).await.unwrap()), vec![1, 4]);
    assert!(Member::find_by_email(&store, &org(), &"m2@acme.example".to_owned()).await.unwrap().is_none());
    // An expired holder's unique value is free for a new entity.
    let mut taker = Member::sample("acme", 7);
    taker.email = "m3@acme.example".into();
    assert!(store.insert(&taker).await.unwrap());
    assert_eq!(Member::find_by_email(&store, &org(), &"m3@acme.example".to_owned()).await.unwrap().unwrap().id, 7);

    // Repair cleans what no query met.
    let id4 = Member::sample("acme", 4).key_id();
    assert!(store.expire::<Member>(&id4, Duration::from_millis(1)).await.unwrap());
    until_expired(&store, &id4).await;
    let removed = store.repair::<Member, _>(&org(), 1000).await.unwrap();
    // 4's role and range members and its unique claim (2's claim went with
    // the lookup that met it, 3's with the insert that took it over).
    assert_eq!(removed, 3);
    let n: u64 = raw!(&mut raw, "ZCARD", JOINED_INDEX);
    assert_eq!(n, 2, "1 and 7 remain");
    let n: u64 = raw!(&mut raw, "HLEN", EMAIL_UNIQUE);
    assert_eq!(n, 2, "1 and 7 remain");
    assert_eq!(store.repair::<Member, _>(&org(), 1000).await.unwrap(), 0, "nothing left to repair");
}
}

on_both! {
async fn a_write_refused_for_memory_changes_nothing() {
    let (server, store) = start("app:").await;
    let mut raw = server.raw_connection().await.unwrap();
    let m = Member::sample("acme", 1);
    store.save(&m).await.unwrap();
    let before: Vec<(String, String)> = {
        let key = store.key::<Member>(&m.key_id()).unwrap().to_string();
        let mut pairs: Vec<(String, String)> = raw!(&mut raw, "HGETALL", &key);
        pairs.sort();
        pairs
    };
    for mut node in server.node_connections().await {
        let _: () = redis::cmd("CONFIG").arg("SET").arg("maxmemory").arg(1).query_async(&mut node).await.unwrap();
    }
    let f = Member::fields();
    let err = store
        .update(&m.key_id(), |u| u.set(f.role, &"admin".to_owned()).set(f.email, &"x@y".to_owned()))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("out of memory"), "{err}");
    let mut other = Member::sample("acme", 2);
    other.role = "admin".into();
    assert!(store.save(&other).await.is_err());
    for mut node in server.node_connections().await {
        let _: () = redis::cmd("CONFIG").arg("SET").arg("maxmemory").arg("512mb").query_async(&mut node).await.unwrap();
    }
    let key = store.key::<Member>(&m.key_id()).unwrap().to_string();
    let mut after: Vec<(String, String)> = raw!(&mut raw, "HGETALL", &key);
    after.sort();
    assert_eq!(after, before, "the entity is unchanged");
    assert!(!store.exists::<Member>(&other.key_id()).await.unwrap());
    assert!(Member::find_by_role(&store, &org(), &"admin".into()).await.unwrap().is_empty());
    assert_eq!(ids(&Member::find_by_role(&store, &org(), &"member".into()).await.unwrap()), vec![1]);
    let claims: BTreeSet<String> = raw!(&mut raw, "HKEYS", EMAIL_UNIQUE);
    assert_eq!(claims, BTreeSet::from(["m1@acme.example".to_owned()]));
}
}

on_both! {
async fn streams_read_every_match_once_in_pages() {
    use futures_util::StreamExt;
    let (_server, store) = start("app:").await;
    // 250 members, joined in ties of three (0, 0, 0, 1, 1, 1, ...), roles
    // alternating: more than two pages of 100 of each query.
    let all: Vec<Member> = (0..250)
        .map(|id| {
            let mut m = Member::sample("acme", id);
            m.joined = (id / 3) as i64;
            m.role = if id.is_multiple_of(2) { "even".into() } else { "odd".into() };
            m
        })
        .collect();
    store.save_many(&all).await.unwrap();

    let even: Vec<u64> = Member::stream_by_role(&store, &org(), &"even".into())
        .map(|m| m.unwrap().id)
        .collect()
        .await;
    let mut sorted = even.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted, (0..250).filter(|id| id % 2 == 0).collect::<Vec<u64>>());
    assert_eq!(even.len(), 125, "each once");

    let joined: Vec<Member> = Member::stream_by_joined(&store, &org(), 10..=70)
        .map(Result::unwrap)
        .collect()
        .await;
    let mut ids: Vec<u64> = joined.iter().map(|m| m.id).collect();
    assert!(joined.windows(2).all(|w| w[0].joined <= w[1].joined), "in order");
    ids.sort_unstable();
    assert_eq!(ids, (30..213).collect::<Vec<u64>>(), "every match once, ties included");
    let everything = Member::stream_by_joined(&store, &org(), ..).count().await;
    assert_eq!(everything, 250);
    // Nothing stored under a value: an empty stream.
    assert_eq!(Member::stream_by_role(&store, &org(), &"none".into()).count().await, 0);
}
}
