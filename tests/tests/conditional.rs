//! Conditional writes (`insert`, `insert_or_get`, `replace`, `take`,
//! `get_and_refresh`, `update`, `get_fields`, `incr_or_insert`): every
//! operation on every encoding it applies to, the TTL policy, bad stored
//! data, and races on a real server, each on one server and on a cluster.
//! Raw commands only seed bad data and inspect what was stored.

mod common;

use std::fmt::Debug;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use redis_runtime::{Error, Expiry, InsertOrGet, RedisModel, Store};

fn ttl_ms(expiry: Expiry) -> u128 {
    match expiry {
        Expiry::In(d) => d.as_millis(),
        other => panic!("expected a TTL, got {other:?}"),
    }
}

/// The entity has the TTL its model declares, freshly applied (within a minute).
async fn assert_model_ttl<M: RedisModel>(store: &Store, id: &M::Id) {
    let expiry = store.ttl::<M>(id).await.unwrap();
    match M::META.ttl {
        None => assert_eq!(expiry, Expiry::Never, "{}", M::META.name),
        Some(ttl) => {
            let full = ttl.as_millis();
            let ms = ttl_ms(expiry);
            assert!(ms <= full && ms > full - 60_000, "{}: {ms}", M::META.name);
        }
    }
}

/// The entity's TTL is the short one a test set, not re-applied.
async fn assert_short_ttl<M: RedisModel>(store: &Store, id: &M::Id) {
    let ms = ttl_ms(store.ttl::<M>(id).await.unwrap());
    assert!(ms <= 100_000 && ms > 50_000, "{}: {ms}", M::META.name);
}

const SHORT: Duration = Duration::from_secs(100);

fn session(user: u64) -> Session {
    Session {
        token: "s1".into(),
        user,
        scopes: vec![format!("scope{user}")],
    }
}

fn event(kind: &str) -> Event {
    Event {
        stream: "orders".into(),
        seq: 1,
        kind: kind.into(),
        payload: kind.as_bytes().to_vec(),
    }
}

fn user(email: &str) -> User {
    User {
        email: email.into(),
        ..User::sample("acme", 1)
    }
}

fn counter(name: &str, small: u8) -> Counter {
    Counter {
        name: name.into(),
        small,
        signed: -5,
        big: 100,
    }
}

// ---------------------------------------------------------------- insert

/// `a` and `b` share an id and differ in content.
async fn insert_case<M: RedisModel + Clone + PartialEq + Debug>(store: &Store, a: M, b: M) {
    let id = a.id();
    assert!(store.insert(&a).await.unwrap(), "{}", M::META.name);
    assert_eq!(store.get::<M>(&id).await.unwrap(), Some(a.clone()));
    assert_model_ttl::<M>(store, &id).await;
    // Present: nothing written, content and TTL as they were.
    store.expire::<M>(&id, SHORT).await.unwrap();
    assert!(!store.insert(&b).await.unwrap(), "{}", M::META.name);
    assert_eq!(store.get::<M>(&id).await.unwrap(), Some(a));
    assert_short_ttl::<M>(store, &id).await;
}

on_both! {
async fn insert_creates_only_when_absent_and_applies_the_model_ttl() {
    let (_server, store) = start("app").await;
    insert_case(&store, user("a@x"), user("b@x")).await;
    insert_case(&store, session(1), session(2)).await;
    insert_case(&store, event("a"), event("b")).await;
}
}

// ---------------------------------------------------------------- insert_or_get

async fn insert_or_get_case<M: RedisModel + Clone + PartialEq + Debug>(store: &Store, a: M, b: M) {
    let id = a.id();
    assert_eq!(
        store.insert_or_get(&a).await.unwrap(),
        InsertOrGet::Inserted
    );
    assert_eq!(store.get::<M>(&id).await.unwrap(), Some(a.clone()));
    assert_model_ttl::<M>(store, &id).await;
    store.expire::<M>(&id, SHORT).await.unwrap();
    let found = store.insert_or_get(&b).await.unwrap();
    assert!(!found.is_inserted());
    assert_eq!(found.existing(), Some(a.clone()));
    assert_eq!(store.get::<M>(&id).await.unwrap(), Some(a));
    assert_short_ttl::<M>(store, &id).await;
}

on_both! {
async fn insert_or_get_returns_the_value_that_won() {
    let (_server, store) = start("app").await;
    insert_or_get_case(&store, user("a@x"), user("b@x")).await;
    insert_or_get_case(&store, session(1), session(2)).await;
    insert_or_get_case(&store, event("a"), event("b")).await;
}
}

// ---------------------------------------------------------------- replace

async fn replace_case<M: RedisModel + Clone + PartialEq + Debug>(store: &Store, a: M, b: M) {
    let id = a.id();
    assert!(!store.replace(&a).await.unwrap(), "{}", M::META.name);
    assert!(
        !store.exists::<M>(&id).await.unwrap(),
        "nothing was created"
    );
    store.save(&a).await.unwrap();
    store.expire::<M>(&id, SHORT).await.unwrap();
    assert!(store.replace(&b).await.unwrap());
    assert_eq!(store.get::<M>(&id).await.unwrap(), Some(b));
    // The model TTL is applied again (a model without one loses the short TTL).
    assert_model_ttl::<M>(store, &id).await;
}

on_both! {
async fn replace_writes_only_existing_entities_and_applies_the_model_ttl() {
    let (server, store) = start("app").await;
    let mut raw = server.raw_connection().await.unwrap();
    let mut without_name = user("b@x");
    without_name.name = None;
    replace_case(&store, user("a@x"), without_name).await;
    replace_case(&store, session(1), session(2)).await;
    replace_case(&store, event("a"), event("b")).await;

    // As with save, a field that is now `None` and one an older schema left
    // disappear.
    let key = store.key::<User>(&user("x").key_id()).unwrap();
    let _: () = raw!(&mut raw, "HSET", &key, "legacy", "x", "name", "n");
    assert!(store.replace(&user("c@x")).await.unwrap());
    let fields: Vec<String> = raw!(&mut raw, "HKEYS", &key);
    assert!(!fields.contains(&"legacy".to_owned()), "{fields:?}");
    let mut no_name = user("d@x");
    no_name.name = None;
    assert!(store.replace(&no_name).await.unwrap());
    let has_name: bool = raw!(&mut raw, "HEXISTS", &key, "name");
    assert!(!has_name);
}
}

// ---------------------------------------------------------------- take

async fn take_case<M: RedisModel + Clone + PartialEq + Debug>(store: &Store, a: M) {
    let id = a.id();
    assert_eq!(store.take::<M>(&id).await.unwrap(), None);
    store.save(&a).await.unwrap();
    assert_eq!(store.take::<M>(&id).await.unwrap(), Some(a));
    assert!(!store.exists::<M>(&id).await.unwrap());
    assert_eq!(store.take::<M>(&id).await.unwrap(), None);
}

on_both! {
async fn take_reads_and_deletes() {
    let (_server, store) = start("app").await;
    take_case(&store, user("a@x")).await;
    take_case(&store, session(1)).await;
    take_case(&store, event("a")).await;
}
}

on_both! {
(flavor = "multi_thread", worker_threads = 2) async fn concurrent_takes_hand_the_entity_to_one() {
    let (server, store) = start("app").await;
    let stores = stores(&server, &store).await;
    for round in 0..5 {
        let a = user(&format!("{round}@x"));
        let b = session(round);
        store.save(&a).await.unwrap();
        store.save(&b).await.unwrap();
        let (ua, ub) = race(&stores, 20, |store, _| {
            let (ida, idb) = (a.key_id(), b.token.clone());
            async move {
                (
                    store.take::<User>(&ida).await.unwrap(),
                    store.take::<Session>(&idb).await.unwrap(),
                )
            }
        })
        .await
        .into_iter()
        .fold((vec![], vec![]), |(mut ua, mut ub), (x, y)| {
            ua.extend(x);
            ub.extend(y);
            (ua, ub)
        });
        assert_eq!(ua, vec![a.clone()]);
        assert_eq!(ub, vec![b.clone()]);
    }
}
}

// ---------------------------------------------------------------- get_and_refresh

async fn get_and_refresh_case<M: RedisModel + Clone + PartialEq + Debug>(store: &Store, a: M) {
    let id = a.id();
    assert_eq!(store.get_and_refresh::<M>(&id).await.unwrap(), None);
    assert!(
        !store.exists::<M>(&id).await.unwrap(),
        "nothing was created"
    );
    store.save(&a).await.unwrap();
    store.expire::<M>(&id, SHORT).await.unwrap();
    assert_short_ttl::<M>(store, &id).await;
    assert_eq!(store.get_and_refresh::<M>(&id).await.unwrap(), Some(a));
    // Re-armed: the model TTL, or none for a model without one.
    assert_model_ttl::<M>(store, &id).await;
}

on_both! {
async fn get_and_refresh_rearms_the_model_ttl() {
    let (_server, store) = start("app").await;
    get_and_refresh_case(&store, user("a@x")).await;
    get_and_refresh_case(&store, session(1)).await;
    get_and_refresh_case(&store, event("a")).await;
    get_and_refresh_case(&store, counter("c", 1)).await;
}
}

// ---------------------------------------------------------------- update

on_both! {
async fn update_applies_every_change_and_keeps_the_ttl() {
    let (server, store) = start("app").await;
    let mut raw = server.raw_connection().await.unwrap();
    let f = User::fields();
    let a = user("a@x");
    let id = a.key_id();

    // Missing: nothing written, not even a half-entity.
    let email = "new@x".to_owned();
    let updated = store
        .update(&id, |u| u.set(f.email, &email).incr(f.logins, 1))
        .await
        .unwrap();
    assert_eq!(updated, None);
    assert!(!store.exists::<User>(&id).await.unwrap());

    store.save(&a).await.unwrap();
    store.expire::<User>(&id, SHORT).await.unwrap();
    let prefs = Prefs {
        theme: "light".into(),
        langs: vec![],
    };
    let updated = store
        .update(&id, |u| {
            u.set(f.email, &email)
                .clear(f.name)
                .set(f.prefs, &prefs)
                .incr(f.logins, 2)
                .incr(f.logins, 3)
        })
        .await
        .unwrap()
        .expect("the entity exists");
    assert_eq!(updated.incremented(f.logins), Some(5));
    let read = store.get::<User>(&id).await.unwrap().unwrap();
    assert_eq!(
        read,
        User {
            email: email.clone(),
            name: None,
            prefs: prefs.clone(),
            logins: 5,
            ..a.clone()
        }
    );
    assert_short_ttl::<User>(&store, &id).await;

    // Sets only; the return says nothing was incremented.
    let updated = store
        .update(&id, |u| u.set(f.name, &"Ada".to_owned()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(updated.incremented(f.logins), None);
    assert_eq!(store.get_field(&id, f.name).await.unwrap(), Some("Ada".into()));
    // An empty update only says whether the entity exists.
    assert!(store.update::<User, _>(&id, |u| u).await.unwrap().is_some());
    assert_short_ttl::<User>(&store, &id).await;

    // A counter: several integer fields, each within its Rust type.
    let c = Counter::fields();
    let name = "c".to_owned();
    store.save(&counter("c", 250)).await.unwrap();
    let key = store.key::<Counter>(&name).unwrap();
    let updated = store
        .update(&name, |u| u.incr(c.small, 5).incr(c.signed, -10).incr(c.big, 1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            updated.incremented(c.small),
            updated.incremented(c.signed),
            updated.incremented(c.big)
        ),
        (Some(255), Some(-15), Some(101))
    );
    let before: Vec<(String, String)> = raw!(&mut raw, "HGETALL", &key);

    // Refused: an increment beyond u8, after changes that must be undone.
    let err = store
        .update(&name, |u| u.set(c.big, &7).incr(c.signed, 1).incr(c.small, 1))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Server { .. }), "{err}");
    assert!(err.to_string().contains("outside the range"), "{err}");
    assert_eq!(err.outcome(), redis_runtime::Outcome::NotApplied);
    let after: Vec<(String, String)> = raw!(&mut raw, "HGETALL", &key);
    assert_eq!(before, after, "a refused update wrote nothing");
    // Below the bound too, and i64 overflow.
    assert!(store.update(&name, |u| u.incr(c.signed, -40_000)).await.is_err());
    assert!(store.update(&name, |u| u.set(c.small, &1).incr(c.big, i64::MAX)).await.is_err());
    let after: Vec<(String, String)> = raw!(&mut raw, "HGETALL", &key);
    assert_eq!(before, after, "a refused update wrote nothing");
    let ttl = ttl_ms(store.ttl::<Counter>(&name).await.unwrap());
    assert!(ttl > 3_500_000, "the TTL is kept: {ttl}");
}
}

// ---------------------------------------------------------------- get_fields

on_both! {
async fn get_fields_reads_a_typed_subset() {
    let (_server, store) = start("app").await;
    let f = User::fields();
    let a = user("a@x");
    let id = a.key_id();
    assert_eq!(store.get_fields(&id, (f.name, f.logins)).await.unwrap(), None);
    store.save(&a).await.unwrap();
    let read: Option<(Option<String>, Option<i64>)> =
        store.get_fields(&id, (f.name, f.logins)).await.unwrap();
    assert_eq!(read, Some((a.name.clone(), Some(0))));
    let (email,) = store.get_fields(&id, (f.email,)).await.unwrap().unwrap();
    assert_eq!(email.as_deref(), Some("a@x"));
    store.clear_field(&id, f.name).await.unwrap();
    let all = store
        .get_fields(&id, (f.email, f.name, f.prefs, f.logins))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        all,
        (
            Some("a@x".to_owned()),
            None,
            Some(a.prefs.clone()),
            Some(0)
        )
    );

    // Many entities, across tenants (so across slots on a cluster), in order.
    let users: Vec<User> = (0..30)
        .map(|i| User::sample(&format!("t{}", i % 7), i))
        .collect();
    store.save_many(&users[..10]).await.unwrap();
    for u in &users[10..] {
        store.save(u).await.unwrap();
    }
    let mut ids: Vec<UserId> = users.iter().map(User::key_id).collect();
    ids.insert(
        5,
        UserId {
            tenant: TenantId("t1".into()),
            id: 999,
        },
    );
    let read = store.get_fields_many(&ids, (f.email, f.logins)).await.unwrap();
    assert_eq!(read.len(), 31);
    assert_eq!(read[5], None);
    for (i, u) in users.iter().enumerate() {
        let at = if i < 5 { i } else { i + 1 };
        assert_eq!(read[at], Some((Some(u.email.clone()), Some(u.logins))), "{i}");
    }
    assert!(store.get_fields_many(&[], (f.email,)).await.unwrap().is_empty());

    // A `#[redis(default)]` field that is not stored reads as absent, as get_field has it.
    let p = Profile::fields();
    let profile = Profile {
        id: uuid::Uuid::new_v4(),
        name: "Grace".into(),
        visits: 0,
        level: 1,
        score: 0.5,
        active: true,
        tags: None,
        cached: vec![],
    };
    store.save(&profile).await.unwrap();
    store.clear_field(&profile.id, p.visits).await.unwrap();
    assert_eq!(
        store.get_fields(&profile.id, (p.name, p.visits, p.tags)).await.unwrap(),
        Some((Some("Grace".into()), None, None))
    );
}
}

// ---------------------------------------------------------------- incr_or_insert

on_both! {
async fn incr_or_insert_creates_with_the_ttl_and_never_touches_it_after() {
    let (server, store) = start("app").await;
    let mut raw = server.raw_connection().await.unwrap();
    let c = Counter::fields();
    let name = "c".to_owned();

    // Absent: created from the default, with the field at default + by, and the TTL.
    let n = store
        .incr_or_insert(&name, c.small, 2, || counter("c", 3))
        .await
        .unwrap();
    assert_eq!(n, 5);
    assert_eq!(store.get::<Counter>(&name).await.unwrap(), Some(counter("c", 5)));
    assert_model_ttl::<Counter>(&store, &name).await;

    // Present: incremented, TTL untouched, the default ignored.
    store.expire::<Counter>(&name, SHORT).await.unwrap();
    let n = store
        .incr_or_insert(&name, c.small, 1, || counter("c", 200))
        .await
        .unwrap();
    assert_eq!(n, 6);
    assert_eq!(store.get_field(&name, c.big).await.unwrap(), Some(100));
    assert_short_ttl::<Counter>(&store, &name).await;
    let n = store
        .incr_or_insert(&name, c.signed, -1, || counter("c", 0))
        .await
        .unwrap();
    assert_eq!(n, -6);
    assert_short_ttl::<Counter>(&store, &name).await;

    // Out of the field's range: nothing changes.
    let key = store.key::<Counter>(&name).unwrap();
    let before: Vec<(String, String)> = raw!(&mut raw, "HGETALL", &key);
    let err = store
        .incr_or_insert(&name, c.small, 250, || counter("c", 0))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("outside the range"), "{err}");
    assert!(
        store
            .incr_or_insert(&name, c.big, i64::MAX, || counter("c", 0))
            .await
            .is_err()
    );
    let after: Vec<(String, String)> = raw!(&mut raw, "HGETALL", &key);
    assert_eq!(before, after);
    assert_short_ttl::<Counter>(&store, &name).await;

    // Out of range on creation: nothing is left behind.
    let fresh = "fresh".to_owned();
    assert!(
        store
            .incr_or_insert(&fresh, c.small, 10, || counter("fresh", 250))
            .await
            .is_err()
    );
    let mut overflowing = counter("fresh", 0);
    overflowing.big = i64::MAX;
    assert!(
        store
            .incr_or_insert(&fresh, c.big, 1, || overflowing.clone())
            .await
            .is_err()
    );
    assert!(!store.exists::<Counter>(&fresh).await.unwrap());

    // A default with another id is refused before anything is sent.
    let err = store
        .incr_or_insert(&fresh, c.small, 1, || counter("other", 0))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Encode { model: "Counter", .. }), "{err}");
    assert!(!store.exists::<Counter>(&fresh).await.unwrap());
    assert!(!store.exists::<Counter>(&"other".to_owned()).await.unwrap());

    // A model without a TTL is created without one.
    let p = Profile::fields();
    let profile = Profile {
        id: uuid::Uuid::new_v4(),
        name: "P".into(),
        visits: 0,
        level: 0,
        score: 0.0,
        active: false,
        tags: None,
        cached: vec![],
    };
    let n = store
        .incr_or_insert(&profile.id, p.visits, 1, || profile.clone())
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(store.ttl::<Profile>(&profile.id).await.unwrap(), Expiry::Never);
}
}

// ---------------------------------------------------------------- bad stored data

on_both! {
async fn bad_stored_data_is_a_typed_error_and_left_as_it_was() {
    let (server, store) = start("app").await;
    let mut raw = server.raw_connection().await.unwrap();
    let f = User::fields();
    let c = Counter::fields();

    // A string where a hash model lives.
    let a = user("a@x");
    let id = a.key_id();
    let ukey = store.key::<User>(&id).unwrap();
    let _: () = raw!(&mut raw, "SET", &ukey, "not a hash");
    assert!(!store.insert(&a).await.unwrap(), "the key exists");
    for err in [
        store.insert_or_get(&a).await.unwrap_err(),
        store.take::<User>(&id).await.unwrap_err(),
        store.get_and_refresh::<User>(&id).await.unwrap_err(),
        store.update(&id, |u| u.set(f.email, &"e".into())).await.unwrap_err(),
        store.update(&id, |u| u.incr(f.logins, 1)).await.unwrap_err(),
        store.get_fields(&id, (f.email,)).await.unwrap_err(),
        store.get_fields_many(std::slice::from_ref(&id), (f.email,)).await.unwrap_err(),
        store
            .incr_or_insert(&id, f.logins, 1, || a.clone())
            .await
            .unwrap_err(),
    ] {
        assert!(
            matches!(err, Error::WrongType { model: "User", .. }),
            "{err}"
        );
        assert_eq!(err.outcome(), redis_runtime::Outcome::NotApplied);
    }
    let kept: String = raw!(&mut raw, "GET", &ukey);
    assert_eq!(kept, "not a hash");
    let ttl: i64 = raw!(&mut raw, "PTTL", &ukey);
    assert_eq!(ttl, -1, "no TTL was applied to the foreign key");

    // A hash where a string model lives.
    let s = session(1);
    let skey = store.key::<Session>(&s.token).unwrap();
    let _: () = raw!(&mut raw, "HSET", &skey, "f", "v");
    assert!(!store.insert(&s).await.unwrap(), "the key exists");
    for err in [
        store.insert_or_get(&s).await.unwrap_err(),
        store.take::<Session>(&s.token).await.unwrap_err(),
        store.get_and_refresh::<Session>(&s.token).await.unwrap_err(),
    ] {
        assert!(
            matches!(err, Error::WrongType { model: "Session", .. }),
            "{err}"
        );
    }
    let kept: Vec<(String, String)> = raw!(&mut raw, "HGETALL", &skey);
    assert_eq!(kept, vec![("f".to_owned(), "v".to_owned())]);

    // A string model's value that does not decode.
    let _: () = raw!(&mut raw, "DEL", &skey);
    let _: () = raw!(&mut raw, "SET", &skey, "{not json");
    let err = store.insert_or_get(&s).await.unwrap_err();
    assert!(matches!(err, Error::Decode(_)), "{err}");
    let err = store.get_and_refresh::<Session>(&s.token).await.unwrap_err();
    assert!(matches!(err, Error::Decode(_)), "{err}");
    let kept: String = raw!(&mut raw, "GET", &skey);
    assert_eq!(kept, "{not json");
    // take removes it (it was taken) and says it did not decode.
    let err = store.take::<Session>(&s.token).await.unwrap_err();
    assert!(matches!(err, Error::Decode(_)), "{err}");

    // A hash field that is not an integer.
    let name = "bad".to_owned();
    store.save(&counter("bad", 1)).await.unwrap();
    let ckey = store.key::<Counter>(&name).unwrap();
    let _: () = raw!(&mut raw, "HSET", &ckey, "signed", "abc");
    let before: Vec<(String, String)> = raw!(&mut raw, "HGETALL", &ckey);
    let err = store
        .update(&name, |u| u.set(c.big, &7).incr(c.signed, 1))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Server { .. }), "{err}");
    let err = store
        .incr_or_insert(&name, c.signed, 1, || counter("bad", 0))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Server { .. }), "{err}");
    let err = store.get_fields(&name, (c.big, c.signed)).await.unwrap_err();
    assert!(
        matches!(&err, Error::Decode(e) if e.field == Some("signed")),
        "{err}"
    );
    let err = store.get_fields_many(std::slice::from_ref(&name), (c.signed,)).await.unwrap_err();
    assert!(matches!(err, Error::Decode(_)), "{err}");
    let err = store.get_and_refresh::<Counter>(&name).await.unwrap_err();
    assert!(matches!(err, Error::Decode(_)), "{err}");
    let err = store.insert_or_get(&counter("bad", 2)).await.unwrap_err();
    assert!(matches!(err, Error::Decode(_)), "{err}");
    let after: Vec<(String, String)> = raw!(&mut raw, "HGETALL", &ckey);
    assert_eq!(before, after);
}
}

// ---------------------------------------------------------------- races

/// A few stores on separate connections, so that racing calls also come in
/// over different sockets.
async fn stores(server: &TestRedis, first: &Store) -> Vec<Store> {
    let mut stores = vec![first.clone()];
    for _ in 0..3 {
        stores.push(connect_as_app(server, "app").await);
    }
    stores
}

/// Runs `n` tasks at once (released together by a barrier), task `i` on
/// store `i % stores.len()`, and returns their results in task order.
async fn race<T, F, Fut>(stores: &[Store], n: usize, task: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(Store, usize) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
{
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let barrier = barrier.clone();
            let work = task(stores[i % stores.len()].clone(), i);
            tokio::spawn(async move {
                barrier.wait().await;
                work.await
            })
        })
        .collect();
    let mut results = Vec::with_capacity(n);
    for handle in handles {
        results.push(handle.await.unwrap());
    }
    results
}

on_both! {
(flavor = "multi_thread", worker_threads = 2) async fn concurrent_first_inserts_have_exactly_one_winner() {
    let (server, store) = start("app").await;
    let stores = stores(&server, &store).await;
    for round in 0..3u64 {
        let users: Vec<User> = (0..20)
            .map(|i| User {
                email: format!("{i}@x"),
                ..User::sample("race", round)
            })
            .collect();
        let won = race(&stores, 20, |store, i| {
            let u = users[i].clone();
            async move { store.insert(&u).await.unwrap() }
        })
        .await;
        let winners: Vec<usize> = (0..20).filter(|&i| won[i]).collect();
        assert_eq!(winners.len(), 1, "round {round}: {winners:?}");
        let stored = store.get::<User>(&users[0].key_id()).await.unwrap();
        assert_eq!(stored.as_ref(), Some(&users[winners[0]]));
        assert_model_ttl::<User>(&store, &users[0].key_id()).await;

        let sessions: Vec<Session> = (0..20)
            .map(|i| Session {
                token: format!("race{round}"),
                user: i,
                scopes: vec![],
            })
            .collect();
        let won = race(&stores, 20, |store, i| {
            let s = sessions[i].clone();
            async move { store.insert(&s).await.unwrap() }
        })
        .await;
        let winners: Vec<usize> = (0..20).filter(|&i| won[i]).collect();
        assert_eq!(winners.len(), 1, "round {round}: {winners:?}");
        let stored = store.get::<Session>(&sessions[0].token).await.unwrap();
        assert_eq!(stored.as_ref(), Some(&sessions[winners[0]]));
    }
}
}

on_both! {
(flavor = "multi_thread", worker_threads = 2) async fn concurrent_insert_or_get_all_see_the_same_winner() {
    let (server, store) = start("app").await;
    let stores = stores(&server, &store).await;
    for round in 0..3u64 {
        let users: Vec<User> = (0..20)
            .map(|i| User {
                email: format!("{i}@x"),
                logins: i,
                ..User::sample("race", round)
            })
            .collect();
        let results = race(&stores, 20, |store, i| {
            let u = users[i].clone();
            async move { store.insert_or_get(&u).await.unwrap() }
        })
        .await;
        let inserted: Vec<usize> = (0..20).filter(|&i| results[i].is_inserted()).collect();
        assert_eq!(inserted.len(), 1, "round {round}: {inserted:?}");
        let winner = &users[inserted[0]];
        for result in results {
            if let InsertOrGet::Existing(seen) = result {
                assert_eq!(&seen, winner);
            }
        }
        assert_eq!(store.get::<User>(&winner.key_id()).await.unwrap().as_ref(), Some(winner));

        let events: Vec<Event> = (0..20)
            .map(|i| Event {
                stream: format!("race{round}"),
                seq: 1,
                kind: format!("k{i}"),
                payload: vec![],
            })
            .collect();
        let results = race(&stores, 20, |store, i| {
            let e = events[i].clone();
            async move { store.insert_or_get(&e).await.unwrap() }
        })
        .await;
        let inserted: Vec<usize> = (0..20).filter(|&i| results[i].is_inserted()).collect();
        assert_eq!(inserted.len(), 1, "round {round}: {inserted:?}");
        let winner = &events[inserted[0]];
        assert!(results.into_iter().filter_map(InsertOrGet::existing).all(|e| &e == winner));
    }
}
}

on_both! {
(flavor = "multi_thread", worker_threads = 2) async fn concurrent_incr_or_insert_counts_exactly_and_sets_the_ttl_once() {
    let (server, store) = start("app").await;
    let mut admin = server.raw_connection().await.unwrap();
    let stores = stores(&server, &store).await;
    let name = "hot".to_owned();
    let pexpires_before = command_calls(&mut admin).await.get("pexpire").copied().unwrap_or(0);

    // An observer reads the TTL all along: once the counter exists it has a
    // TTL (set in the step that created it), and the TTL only goes down (a
    // second PEXPIRE would push it back up).
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let observer = {
        let (store, name, done) = (store.clone(), name.clone(), done.clone());
        tokio::spawn(async move {
            let mut last: Option<u128> = None;
            let mut readings = 0u32;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                match store.ttl::<Counter>(&name).await.unwrap() {
                    Expiry::Missing => assert!(last.is_none(), "the counter vanished"),
                    Expiry::Never => panic!("the counter existed without its TTL"),
                    Expiry::In(d) => {
                        let ms = d.as_millis();
                        if let Some(last) = last {
                            assert!(ms <= last, "the TTL went up from {last} ms to {ms} ms");
                        }
                        last = Some(ms);
                        readings += 1;
                    }
                    other => panic!("{other:?}"),
                }
            }
            readings
        })
    };
    let started = Instant::now();
    let counts = race(&stores, 16, |store, _| {
        let name = name.clone();
        async move {
            let mut seen = Vec::with_capacity(500);
            for _ in 0..500 {
                let n = store
                    .incr_or_insert(&name, Counter::fields().big, 1, || Counter {
                        name: name.clone(),
                        small: 0,
                        signed: 0,
                        big: 0,
                    })
                    .await
                    .unwrap();
                seen.push(n);
            }
            seen
        }
    })
    .await;
    let elapsed = started.elapsed();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let readings = observer.await.unwrap();
    assert!(readings > 10, "the observer overlapped the increments: {readings} readings");

    assert_eq!(store.get_field(&name, Counter::fields().big).await.unwrap(), Some(8000));
    // Every value from 1 to 8000 was handed out exactly once.
    let mut all: Vec<i64> = counts.into_iter().flatten().collect();
    all.sort_unstable();
    assert_eq!(all, (1..=8000).collect::<Vec<i64>>());
    // The TTL was applied exactly once, at creation: one PEXPIRE in all.
    let pexpires = command_calls(&mut admin).await.get("pexpire").copied().unwrap_or(0) - pexpires_before;
    assert_eq!(pexpires, 1, "PEXPIRE ran {pexpires} times");
    let ttl = ttl_ms(store.ttl::<Counter>(&name).await.unwrap());
    assert!(
        ttl <= 3_600_000 - elapsed.as_millis().min(3_600_000) / 2,
        "{ttl} ms left after {elapsed:?}"
    );
}
}

on_both! {
(flavor = "multi_thread", worker_threads = 2) async fn a_rate_limit_of_five_allows_exactly_five_of_twenty_first_hits() {
    let (server, store) = start("app").await;
    let stores = stores(&server, &store).await;
    for round in 0..5 {
        let client = format!("client{round}");
        let hits = race(&stores, 20, |store, _| {
            let client = client.clone();
            async move {
                let n = store
                    .incr_or_insert(&client, Counter::fields().small, 1, || Counter {
                        name: client.clone(),
                        small: 0,
                        signed: 0,
                        big: 0,
                    })
                    .await
                    .unwrap();
                n <= 5
            }
        })
        .await;
        let allowed = hits.iter().filter(|&&allowed| allowed).count();
        assert_eq!(allowed, 5, "round {round}");
        assert_model_ttl::<Counter>(&store, &client).await;
        assert_eq!(store.get_field(&client, Counter::fields().small).await.unwrap(), Some(20));
    }
}
}
