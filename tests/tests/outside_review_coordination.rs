//! An outside review of versions, unique fields and indexes, tested
//! adversarially from README.md ("Versions, unique fields and indexes") and
//! redis-derive/README.md (the `version`, `unique`, `index` and
//! `index(range)` rows and rules) and the public rustdoc alone, written
//! before reading the implementation or its own tests.
//!
//! Each test collects every broken promise it meets (`Checks`) and fails at
//! the end listing all of them. Lines starting with `REVIEW` are
//! observations. Tests that show a defect are `#[ignore]`d with the defect in
//! one line; run them with `--include-ignored`.
//!
//! The stores connect as a restricted ACL user created from this file's own
//! keyspace (`REVIEW_MODELS`), except the namespace test, which needs two
//! namespaces and uses admin stores.
//!
//! Defects found (each an `#[ignore]`d test below):
//! - `save_many` of a coordinated model is not all or nothing: a batch in
//!   which one entity's unique value is taken (inside or outside the batch)
//!   fails with `UniqueViolation` after storing the other entities.
//! - `index(range)` on `i64`/`u64` is wrong beyond 2^53 (the score is a
//!   double): neighbours are returned, matches are missed, `i64::MAX` sorts
//!   before `i64::MAX - 1`; the candidate check does not re-check the range.
//! - A version narrower than `u64` (`u8`) is incremented past its maximum
//!   and the entity no longer decodes.
//! - `repair` ignores its budget (budget 0 removes stale members).
//! - The version restarts at 1 after a delete and an insert, so a stale copy
//!   read before the delete overwrites the new entity (ABA).
//! - `incr_or_insert` creating an entity stores version 2 (insert stores 1).
//! - (minor) a NaN range value is refused as `Error::Decode`, not an encode
//!   error.
//!
//! Compile-time cases the reviewer thinks should be rejected (notes only):
//! `#[redis(version)]` on an integer narrower than `u64` (or at least
//! documented overflow behaviour); `#[redis(index(range))]` on `i64`, `u64`,
//! `i128`, `u128` without a 2^53 caveat (sorted-set declarations already
//! limit integer scores to 2^53); `#[redis(version)]` on an `Option<_>`
//! field; `unique` together with `index(range)` on one field (the rules only
//! forbid `unique` with `index`); `unique`/`index` on a custom `HashValue`
//! type, whose encoding the derive cannot know to be canonical (the reason
//! floats are refused).

mod common;

use std::ops::{Bound, RangeBounds};
use std::sync::Arc;
use std::time::Duration;

use common::{TestRedis, on_both, raw};
use redis_runtime::collection::Order;
use redis_runtime::{Error, Page, RedisModel, Store, keyspace};

// ---------------------------------------------------------------------------
// models

/// Every coordination attribute at once.
#[derive(Debug, Clone, PartialEq, RedisModel)]
#[redis(key = "rvc:{org}:acct:{id}", hash_tag = "org", ttl = "1h")]
struct Acct {
    org: String,
    id: u64,
    #[redis(unique)]
    email: String,
    #[redis(unique)]
    handle: Option<String>,
    #[redis(index)]
    role: String,
    #[redis(index)]
    team: Option<String>,
    #[redis(index(range))]
    score: i64,
    #[redis(index(range))]
    big: u64,
    #[redis(index(range))]
    weight: f64,
    #[redis(version)]
    version: u64,
    n: i64,
}

impl Acct {
    fn new(org: &str, id: u64) -> Acct {
        Acct {
            org: org.into(),
            id,
            email: format!("a{id}@x"),
            handle: None,
            role: "member".into(),
            team: None,
            score: id as i64,
            big: id,
            weight: id as f64,
            version: 0,
            n: 0,
        }
    }

    fn key(&self) -> AcctId {
        AcctId {
            org: self.org.clone(),
            id: self.id,
        }
    }
}

fn aid(org: &str, id: u64) -> AcctId {
    AcctId {
        org: org.into(),
        id,
    }
}

/// A narrow version field.
#[derive(Debug, Clone, PartialEq, RedisModel)]
#[redis(key = "rvt:{org}:tiny:{id}", hash_tag = "org")]
struct Tiny {
    org: String,
    id: u64,
    #[redis(version)]
    v: u8,
    #[redis(unique)]
    code: i64,
    x: i64,
}

/// Uniques and indexes without a version field.
#[derive(Debug, Clone, PartialEq, RedisModel)]
#[redis(key = "rvp:{org}:plain:{id}", hash_tag = "org")]
struct Plain {
    org: String,
    id: u64,
    #[redis(unique)]
    code: String,
    #[redis(index)]
    kind: String,
    n: i64,
}

keyspace! {
    /// The models of this review.
    pub REVIEW_MODELS = [Acct, Tiny, Plain];
}

// ---------------------------------------------------------------------------
// helpers

const PASSWORD: &str = "review-secret";

/// A private server or cluster and a store connected as a user created from
/// `REVIEW_MODELS`' ACL rule.
async fn start(namespace: &str) -> (TestRedis, Store) {
    let redis = TestRedis::start();
    let config = redis.config_builder().namespace(namespace).build().unwrap();
    let rule = REVIEW_MODELS.manifest(config.namespace()).acl_rule();
    for mut node in redis.node_connections().await {
        let mut setuser = redis::cmd("ACL");
        setuser
            .arg("SETUSER")
            .arg("rv")
            .arg("reset")
            .arg("on")
            .arg(format!(">{PASSWORD}"));
        for arg in rule.setuser_args() {
            setuser.arg(arg);
        }
        let _: () = setuser.query_async(&mut node).await.unwrap();
    }
    let config = redis
        .config_builder_as("rv", PASSWORD)
        .namespace(namespace)
        .build()
        .unwrap();
    let store = Store::connect(&config).await.unwrap();
    (redis, store)
}

/// Stops active expiry on every node, so expired keys stay in memory until
/// something touches them.
async fn freeze_expiry(redis: &TestRedis) {
    for mut node in redis.node_connections().await {
        let _: () = raw!(&mut node, "DEBUG", "SET-ACTIVE-EXPIRE", 0);
    }
}

/// Every key on every primary (a cluster's replicas answer too; duplicates
/// removed).
async fn all_keys(redis: &TestRedis) -> Vec<String> {
    let mut keys = std::collections::BTreeSet::new();
    for mut node in redis.node_connections().await {
        let role: Vec<redis::Value> = raw!(&mut node, "ROLE");
        let is_primary =
            matches!(role.first(), Some(redis::Value::BulkString(b)) if b == b"master");
        if !is_primary {
            continue;
        }
        let found: Vec<String> = raw!(&mut node, "KEYS", "*");
        keys.extend(found);
    }
    keys.into_iter().collect()
}

/// Collects broken promises and fails once, listing all of them.
#[derive(Default)]
struct Checks(Vec<String>);

impl Checks {
    fn check(&mut self, ok: bool, what: impl Into<String>) {
        if !ok {
            let what = what.into();
            eprintln!("BROKEN: {what}");
            self.0.push(what);
        }
    }

    fn finish(self) {
        assert!(
            self.0.is_empty(),
            "{} broken promise(s):\n{}",
            self.0.len(),
            self.0.join("\n")
        );
    }
}

fn ids(found: &[Acct]) -> Vec<u64> {
    found.iter().map(|a| a.id).collect()
}

async fn version_of(store: &Store, id: &AcctId) -> Option<u64> {
    store.get::<Acct>(id).await.unwrap().map(|a| a.version)
}

// ---------------------------------------------------------------------------
// versions

on_both! {
    /// `save`/`replace` compare, every write increments, a stale write never
    /// brings a deleted entity back.
    async fn version_of_every_write() {
        let (_redis, store) = start("rv1").await;
        let mut c = Checks::default();
        let f = Acct::fields();
        let a = Acct::new("o", 1);
        let id = a.key();

        c.check(store.insert(&a).await.unwrap(), "insert of a new entity returns true");
        let v1 = version_of(&store, &id).await.unwrap();
        c.check(v1 == 1, format!("insert: version 1 (README: `version 1`), got {v1}"));

        // save with the version read: stored becomes one more.
        let mut read = store.get::<Acct>(&id).await.unwrap().unwrap();
        read.n = 5;
        store.save(&read).await.unwrap();
        c.check(version_of(&store, &id).await == Some(2), "save at the read version: version + 1");

        // stale save (version 1 again)
        match store.save(&read).await {
            Err(Error::VersionConflict { expected: 1, found: Some(2), .. }) => {}
            other => c.check(false, format!("stale save: VersionConflict expected 1 found 2, got {other:?}")),
        }
        // save of a version from the future
        let mut future = read.clone();
        future.version = 99;
        c.check(
            matches!(store.save(&future).await, Err(Error::VersionConflict { .. })),
            "save carrying a version above the stored one is a conflict",
        );
        // version 0 on an existing entity
        let mut zero = read.clone();
        zero.version = 0;
        c.check(
            matches!(store.save(&zero).await, Err(Error::VersionConflict { .. })),
            "save carrying version 0 over an existing entity is a conflict",
        );
        c.check(version_of(&store, &id).await == Some(2), "refused saves change nothing");

        // replace
        let mut cur = store.get::<Acct>(&id).await.unwrap().unwrap();
        cur.role = "admin".into();
        c.check(store.replace(&cur).await.unwrap(), "replace at the right version applies");
        c.check(version_of(&store, &id).await == Some(3), "replace: version + 1");
        c.check(
            matches!(store.replace(&cur).await, Err(Error::VersionConflict { .. })),
            "stale replace is a conflict",
        );

        // partial writes bump it
        store.set_field(&id, f.n, &7).await.unwrap();
        c.check(version_of(&store, &id).await == Some(4), "set_field bumps the version");
        store.incr(&id, f.n, 1).await.unwrap();
        c.check(version_of(&store, &id).await == Some(5), "incr bumps the version");
        store.set_field(&id, f.team, &"t".to_owned()).await.unwrap();
        store.clear_field(&id, f.team).await.unwrap();
        c.check(version_of(&store, &id).await == Some(7), "set_field + clear_field: + 2");
        store.update(&id, |u| u.incr(f.n, 1).set(f.role, &"x".to_owned())).await.unwrap();
        c.check(version_of(&store, &id).await == Some(8), "update (two changes): + 1");
        let stale = store.update(&id, |u| u.incr(f.n, 1).if_version(7)).await;
        c.check(
            matches!(stale, Err(Error::VersionConflict { expected: 7, found: Some(8), .. })),
            format!("update.if_version(stale): conflict, got {stale:?}"),
        );
        let ok = store.update(&id, |u| u.incr(f.n, 1).if_version(8)).await.unwrap();
        c.check(ok.is_some(), "update.if_version(current) applies");
        c.check(version_of(&store, &id).await == Some(9), "update.if_version: + 1");
        let n = store.get::<Acct>(&id).await.unwrap().unwrap().n;
        c.check(n == 10, format!("n after 7, +1, +1, (refused), +1: 10, got {n}"));

        // "Partial writes bump the version and never write it."
        let forced = store.set_field(&id, f.version, &1000).await;
        let after = version_of(&store, &id).await.unwrap();
        c.check(after != 1000, format!("set_field on the version field must not write it (got {forced:?}, stored {after})"));
        eprintln!("REVIEW set_field(version, 1000) -> {forced:?}, stored version {after}");
        let forced = store.incr(&id, f.version, 500).await;
        let after2 = version_of(&store, &id).await.unwrap();
        c.check(after2 < 500, format!("incr on the version field must not write it (got {forced:?}, stored {after2})"));
        eprintln!("REVIEW incr(version, 500) -> {forced:?}, stored version {after2}");

        // delete, then the stale copy never brings it back
        let last = store.get::<Acct>(&id).await.unwrap().unwrap();
        c.check(store.delete::<Acct>(&id).await.unwrap(), "delete of an existing entity");
        match store.save(&last).await {
            Err(Error::VersionConflict { found: None, .. }) => {}
            other => c.check(false, format!("save after delete: VersionConflict found None, got {other:?}")),
        }
        c.check(
            matches!(store.replace(&last).await, Ok(false) | Err(Error::VersionConflict { .. })),
            "replace after delete writes nothing",
        );
        c.check(store.get::<Acct>(&id).await.unwrap().is_none(), "the stale write did not bring it back");
        let patched = store.set_field(&id, f.n, &1).await;
        eprintln!("REVIEW set_field on a deleted entity -> {patched:?}");
        c.check(store.get::<Acct>(&id).await.unwrap().is_none(), "set_field does not bring it back");
        c.check(store.incr(&id, f.n, 1).await.is_err() || store.get::<Acct>(&id).await.unwrap().is_none(),
            "incr does not bring a deleted entity back");

        // A new entity saved with version 0 is created at 1.
        let fresh = Acct::new("o", 2);
        store.save(&fresh).await.unwrap();
        c.check(version_of(&store, &fresh.key()).await == Some(1), "save of a new entity at version 0: 1");
        // save of a new entity carrying a non-zero version
        let mut ghost = Acct::new("o", 3);
        ghost.version = 4;
        let r = store.save(&ghost).await;
        c.check(
            matches!(r, Err(Error::VersionConflict { found: None, .. })),
            format!("save of an absent entity carrying version 4 is a conflict (stale write), got {r:?}"),
        );
        c.check(store.get::<Acct>(&ghost.key()).await.unwrap().is_none(), "... and writes nothing");

        // take
        let taken = store.take::<Acct>(&fresh.key()).await.unwrap();
        c.check(taken.as_ref().map(|t| t.version) == Some(1), "take returns the stored version");

        // incr_or_insert: created, then bumped
        let id4 = aid("o", 4);
        let n = store.incr_or_insert(&id4, f.n, 3, || Acct::new("o", 4)).await.unwrap();
        c.check(n == 3, "incr_or_insert on absent: default + by");
        let v = version_of(&store, &id4).await.unwrap();
        eprintln!("REVIEW incr_or_insert creating: version {v}");
        store.incr_or_insert(&id4, f.n, 3, || Acct::new("o", 4)).await.unwrap();
        c.check(version_of(&store, &id4).await == Some(v + 1), "incr_or_insert on existing: + 1");
        // the created entity is indexed and claims its email
        c.check(
            Acct::find_by_email(&store, &"o".to_owned(), &"a4@x".to_owned()).await.unwrap().map(|a| a.id) == Some(4),
            "incr_or_insert's created entity claims its unique value",
        );
        c.check(
            Acct::count_by_score(&store, &"o".to_owned(), 4..=4).await.unwrap() == 1,
            "incr_or_insert's created entity is in the range index",
        );

        // delete and re-insert: does the version restart?
        store.delete::<Acct>(&id4).await.unwrap();
        let mut again = Acct::new("o", 4);
        store.insert(&again).await.unwrap();
        let v = version_of(&store, &id4).await.unwrap();
        eprintln!("REVIEW version after delete + insert: {v} (a stale copy at version 1 from before the delete would then overwrite the new entity)");
        again.version = v;
        again.n = 42;
        store.save(&again).await.unwrap();
        c.finish();
    }
}

/// A version field at its type's maximum: "every write increments it". It
/// can not, so the write must be refused, never leave a hash that does not
/// decode.
#[tokio::test]
#[ignore = "defect: a u8 version field is incremented past 255; the entity no longer decodes (Error::Decode on get)"]
async fn narrow_version_at_its_maximum() {
    let (_redis, store) = start("rv2").await;
    let mut c = Checks::default();
    let f = Tiny::fields();
    let t = Tiny {
        org: "o".into(),
        id: 1,
        v: 0,
        code: -7,
        x: 0,
    };
    let id = TinyId {
        org: "o".into(),
        id: 1,
    };
    store.insert(&t).await.unwrap();
    let mut last: redis_runtime::Result<Option<i64>> = Ok(None);
    for _ in 0..300 {
        last = store.incr(&id, f.x, 1).await;
        if last.is_err() {
            break;
        }
    }
    eprintln!("REVIEW incr past v = u8::MAX: {last:?}");
    let read = store.get::<Tiny>(&id).await;
    c.check(
        read.is_ok(),
        format!("after 300 writes a u8 version must still decode: {read:?}"),
    );
    c.check(
        last.is_err(),
        "the 256th write must be refused (it cannot increment a u8 version)",
    );
    if let Ok(Some(t)) = &read {
        c.check(t.v == 255, format!("the version stops at 255, got {}", t.v));
        let mut t2 = t.clone();
        t2.x = 1;
        let r = store.save(&t2).await;
        c.check(r.is_err(), format!("save at v 255 is refused: {r:?}"));
        let again = store.get::<Tiny>(&id).await;
        c.check(again.is_ok(), format!("and still decodes: {again:?}"));
    }
    c.finish();
}

on_both! {
    /// Concurrent `modify` and `incr` on different fields lose nothing, and
    /// the version counts every write.
    async fn concurrent_modify_and_partial_writes() {
        let (_redis, store) = start("rv3").await;
        let mut c = Checks::default();
        let store = Arc::new(store);
        let a = Acct::new("o", 1);
        store.insert(&a).await.unwrap();
        let id = a.key();
        let mut tasks = Vec::new();
        for t in 0..4 {
            let store = store.clone();
            let id = id.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..40 {
                    store
                        .modify(&id, |u: &mut Acct| {
                            u.n += 1;
                            u.role = format!("r{t}-{i}");
                        })
                        .await
                        .unwrap()
                        .unwrap();
                }
            }));
        }
        for _ in 0..4 {
            let store = store.clone();
            let id = id.clone();
            tasks.push(tokio::spawn(async move {
                for _ in 0..40 {
                    store.incr(&id, Acct::fields().score, 1).await.unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let got = store.get::<Acct>(&id).await.unwrap().unwrap();
        c.check(got.n == 160, format!("modify lost increments: n = {}", got.n));
        c.check(got.score == 1 + 160, format!("incr lost increments (or modify overwrote them): score = {}", got.score));
        c.check(got.version == 1 + 320, format!("version counts every write: {} != 321", got.version));
        // indexes follow the last write
        let org = "o".to_owned();
        c.check(Acct::count_by_role(&store, &org, &got.role).await.unwrap() == 1, "role index holds the final role");
        c.check(Acct::count_by_role(&store, &org, &"member".to_owned()).await.unwrap() == 0, "old role gone");
        let in_range = Acct::find_by_score(&store, &org, 161..=161, Page::ALL).await.unwrap();
        c.check(ids(&in_range) == vec![1], format!("range index follows incr: {:?}", ids(&in_range)));
        let old = Acct::count_by_score(&store, &org, ..161).await.unwrap();
        c.check(old == 0, format!("no stale range members: {old}"));
        c.finish();
    }
}

on_both! {
    /// Two tasks race to give two different entities the same unique value,
    /// and inserts race for one value: exactly one wins each time.
    async fn concurrent_claims() {
        let (_redis, store) = start("rv4").await;
        let mut c = Checks::default();
        let store = Arc::new(store);
        for round in 0..20u64 {
            let mut tasks = Vec::new();
            for k in 0..4u64 {
                let store = store.clone();
                tasks.push(tokio::spawn(async move {
                    let mut a = Acct::new("o", round * 10 + k);
                    a.email = format!("race{round}");
                    store.insert(&a).await
                }));
            }
            let mut won = 0;
            for t in tasks {
                match t.await.unwrap() {
                    Ok(true) => won += 1,
                    Err(Error::UniqueViolation { field: "email", .. }) => {}
                    other => c.check(false, format!("insert race: unexpected {other:?}")),
                }
            }
            c.check(won == 1, format!("round {round}: {won} inserts claimed one value"));
        }
        // modify two existing entities to one value concurrently
        let x = Acct::new("p", 1);
        let y = Acct::new("p", 2);
        store.insert(&x).await.unwrap();
        store.insert(&y).await.unwrap();
        let (s1, s2) = (store.clone(), store.clone());
        let (i1, i2) = (x.key(), y.key());
        let t1 = tokio::spawn(async move { s1.modify(&i1, |u: &mut Acct| u.email = "same".into()).await });
        let t2 = tokio::spawn(async move { s2.modify(&i2, |u: &mut Acct| u.email = "same".into()).await });
        let (r1, r2) = (t1.await.unwrap(), t2.await.unwrap());
        let oks = [&r1, &r2].iter().filter(|r| matches!(r, Ok(Some(_)))).count();
        c.check(oks == 1, format!("exactly one modify claims the value: {r1:?} / {r2:?}"));
        let holders = [x.key(), y.key()];
        let mut n = 0;
        for h in &holders {
            if store.get::<Acct>(h).await.unwrap().unwrap().email == "same" {
                n += 1;
            }
        }
        c.check(n == 1, format!("{n} entities hold the unique value"));
        c.finish();
    }
}

// ---------------------------------------------------------------------------
// unique values

on_both! {
    /// Odd bytes as unique values: each is its own value, found by itself.
    async fn unique_values_with_odd_bytes() {
        let (_redis, store) = start("rv5").await;
        let mut c = Checks::default();
        let org = "o".to_owned();
        let values: Vec<String> = vec![
            "".into(), ":".into(), "%3A".into(), "{".into(), "}".into(), "{o}".into(),
            "a".into(), "A".into(), "a:".into(), "ab".into(), "a\u{0}b".into(), "a\u{0}".into(),
            " ".into(), "\n".into(), "é".into(), "e\u{301}".into(), "🦀".into(),
            "x".repeat(100_000), "x".repeat(100_001), "*".into(), "?".into(), "[".into(),
            "\\".into(), "%".into(), "-".into(), "0".into(), "00".into(), "\u{7f}".into(),
            "\u{ffff}".into(),
        ];
        for (i, v) in values.iter().enumerate() {
            let mut a = Acct::new("o", i as u64);
            a.email = v.clone();
            a.handle = Some(v.clone());
            a.role = v.clone();
            let r = store.insert(&a).await;
            c.check(matches!(r, Ok(true)), format!("insert with email #{i} ({} bytes): {r:?}", v.len()));
        }
        for (i, v) in values.iter().enumerate() {
            let found = Acct::find_by_email(&store, &org, v).await;
            c.check(
                matches!(&found, Ok(Some(a)) if a.id == i as u64),
                format!("find_by_email(#{i}) -> {:?}", found.map(|f| f.map(|a| a.id))),
            );
            let found = Acct::find_by_handle(&store, &org, v).await;
            c.check(
                matches!(&found, Ok(Some(a)) if a.id == i as u64),
                format!("find_by_handle(#{i}) -> {:?}", found.map(|f| f.map(|a| a.id))),
            );
            let by_role = Acct::find_by_role(&store, &org, v).await.map(|f| ids(&f));
            c.check(
                matches!(&by_role, Ok(v) if v == &vec![i as u64]),
                format!("find_by_role(#{i}) -> {by_role:?}"),
            );
            let n = Acct::count_by_role(&store, &org, v).await;
            c.check(matches!(n, Ok(1)), format!("count_by_role(#{i}) -> {n:?}"));
            // a second claimant is refused
            let mut b = Acct::new("o", 1000 + i as u64);
            b.email = v.clone();
            let r = store.insert(&b).await;
            c.check(
                matches!(r, Err(Error::UniqueViolation { field: "email", .. })),
                format!("second claim of email #{i}: {r:?}"),
            );
        }
        // values never stored find nothing
        for v in ["b", "a\u{0}c", "x", "0\u{0}", ":a", "\u{0}"] {
            let found = Acct::find_by_email(&store, &org, &v.to_owned()).await.unwrap();
            c.check(found.is_none(), format!("find_by_email({v:?}) found {:?}", found.map(|a| a.id)));
            let n = Acct::count_by_role(&store, &org, &v.to_owned()).await.unwrap();
            c.check(n == 0, format!("count_by_role({v:?}) = {n}"));
        }
        c.finish();
    }
}

on_both! {
    /// An `Option` unique field: `None` claims nothing; Some -> None -> Some
    /// releases and reclaims; swaps through a free value work; refused
    /// writes change nothing.
    async fn unique_option_and_swaps() {
        let (_redis, store) = start("rv6").await;
        let mut c = Checks::default();
        let f = Acct::fields();
        let org = "o".to_owned();
        let mut a = Acct::new("o", 1);
        let mut b = Acct::new("o", 2);
        store.insert(&a).await.unwrap();
        store.insert(&b).await.unwrap(); // both None: no conflict
        for i in 3..10 {
            c.check(store.insert(&Acct::new("o", i)).await.is_ok(), "many None handles coexist");
        }
        a = store.get::<Acct>(&a.key()).await.unwrap().unwrap();
        a.handle = Some("h".into());
        store.save(&a).await.unwrap();
        a = store.get::<Acct>(&a.key()).await.unwrap().unwrap();
        // B cannot take it through any write
        b = store.get::<Acct>(&b.key()).await.unwrap().unwrap();
        let mut b2 = b.clone();
        b2.handle = Some("h".into());
        let before = version_of(&store, &b.key()).await;
        c.check(matches!(store.save(&b2).await, Err(Error::UniqueViolation { field: "handle", .. })), "save claiming a held handle");
        c.check(matches!(store.replace(&b2).await, Err(Error::UniqueViolation { .. })), "replace claiming a held handle");
        c.check(matches!(store.set_field(&b.key(), f.handle, &"h".to_owned()).await, Err(Error::UniqueViolation { .. })), "set_field claiming a held handle");
        let r = store.update(&b.key(), |u| u.incr(f.n, 1).set(f.handle, &"h".to_owned())).await;
        c.check(matches!(r, Err(Error::UniqueViolation { .. })), format!("update claiming a held handle: {r:?}"));
        let r = store.modify(&b.key(), |u: &mut Acct| { u.n += 1; u.handle = Some("h".into()) }).await;
        c.check(matches!(r, Err(Error::UniqueViolation { .. })), format!("modify claiming a held handle: {r:?}"));
        let now = store.get::<Acct>(&b.key()).await.unwrap().unwrap();
        c.check(now == b, format!("refused writes changed B: {now:?}"));
        c.check(version_of(&store, &b.key()).await == before, "refused writes did not bump B's version");

        // A: Some -> None releases
        store.clear_field(&a.key(), f.handle).await.unwrap();
        c.check(Acct::find_by_handle(&store, &org, &"h".to_owned()).await.unwrap().is_none(), "cleared handle finds nothing");
        c.check(store.set_field(&b.key(), f.handle, &"h".to_owned()).await.is_ok(), "B claims the released handle");
        let r = store.set_field(&a.key(), f.handle, &"h".to_owned()).await;
        c.check(matches!(r, Err(Error::UniqueViolation { .. })), format!("A cannot take it back: {r:?}"));
        c.check(Acct::find_by_handle(&store, &org, &"h".to_owned()).await.unwrap().map(|x| x.id) == Some(2), "B holds it");

        // swap emails a1@x <-> a2@x through a free value
        let mut a = store.get::<Acct>(&aid("o", 1)).await.unwrap().unwrap();
        let mut b = store.get::<Acct>(&aid("o", 2)).await.unwrap().unwrap();
        a.email = "tmp".into();
        store.save(&a).await.unwrap();
        b.email = "a1@x".into();
        store.save(&b).await.unwrap();
        let mut a = store.get::<Acct>(&aid("o", 1)).await.unwrap().unwrap();
        a.email = "a2@x".into();
        store.save(&a).await.unwrap();
        c.check(Acct::find_by_email(&store, &org, &"a1@x".to_owned()).await.unwrap().map(|x| x.id) == Some(2), "swap: a1@x -> 2");
        c.check(Acct::find_by_email(&store, &org, &"a2@x".to_owned()).await.unwrap().map(|x| x.id) == Some(1), "swap: a2@x -> 1");
        c.check(Acct::find_by_email(&store, &org, &"tmp".to_owned()).await.unwrap().is_none(), "swap: tmp released");
        // re-saving an entity with its own value is not a violation
        let a = store.get::<Acct>(&aid("o", 1)).await.unwrap().unwrap();
        c.check(store.save(&a).await.is_ok(), "re-saving one's own unique value");
        c.check(store.set_field(&aid("o", 1), f.email, &"a2@x".to_owned()).await.is_ok(), "set_field of one's own value");
        // take and delete release
        store.take::<Acct>(&aid("o", 1)).await.unwrap();
        let mut z = Acct::new("o", 50);
        z.email = "a2@x".into();
        c.check(matches!(store.insert(&z).await, Ok(true)), "take released the email");
        store.delete::<Acct>(&aid("o", 2)).await.unwrap();
        let mut z = Acct::new("o", 51);
        z.email = "a1@x".into();
        z.handle = Some("h".into());
        c.check(matches!(store.insert(&z).await, Ok(true)), "delete released email and handle");
        // insert of an existing id with someone else's email: false or violation, nothing changes
        let mut dup = Acct::new("o", 51);
        dup.email = "a2@x".into();
        let r = store.insert(&dup).await;
        c.check(matches!(r, Ok(false) | Err(Error::UniqueViolation { .. })), format!("insert over existing: {r:?}"));
        c.check(Acct::find_by_email(&store, &org, &"a2@x".to_owned()).await.unwrap().map(|x| x.id) == Some(50), "holder unchanged");
        c.check(Acct::find_by_email(&store, &org, &"a1@x".to_owned()).await.unwrap().map(|x| x.id) == Some(51), "51 keeps its email");
        // incr_or_insert whose default claims a held value
        let r = store.incr_or_insert(&aid("o", 60), f.n, 1, || { let mut d = Acct::new("o", 60); d.email = "a1@x".into(); d }).await;
        c.check(matches!(r, Err(Error::UniqueViolation { .. })), format!("incr_or_insert default claiming a held value: {r:?}"));
        c.check(store.get::<Acct>(&aid("o", 60)).await.unwrap().is_none(), "nothing created");
        c.finish();
    }
}

on_both! {
    /// A unique value is per hash-tag value: the same value in two orgs, and
    /// orgs whose names need escaping.
    async fn unique_scoped_per_tag_value() {
        let (_redis, store) = start("rv7").await;
        let mut c = Checks::default();
        let orgs = ["a", "b", "a:b", "a%3Ab", "a}b", "a{b", "}", "{", "é"];
        for (i, org) in orgs.iter().enumerate() {
            let mut a = Acct::new(org, i as u64);
            a.email = "same".into();
            a.role = "r".into();
            let r = store.insert(&a).await;
            c.check(matches!(r, Ok(true)), format!("org {org:?}: {r:?}"));
        }
        for (i, org) in orgs.iter().enumerate() {
            let org = org.to_string();
            let found = Acct::find_by_email(&store, &org, &"same".to_owned()).await.unwrap();
            c.check(found.map(|a| a.id) == Some(i as u64), format!("find_by_email in {org:?}"));
            let n = Acct::count_by_role(&store, &org, &"r".to_owned()).await.unwrap();
            c.check(n == 1, format!("count_by_role in {org:?} = {n}"));
            let r = Acct::find_by_score(&store, &org, .., Page::ALL).await.unwrap();
            c.check(ids(&r) == vec![i as u64], format!("range in {org:?}: {:?}", ids(&r)));
        }
        c.finish();
    }
}

/// `save_many` is "applied all or nothing"; a batch in which two entities
/// claim one unique value cannot be applied whole, so nothing of it may be.
#[tokio::test]
#[ignore = "defect: save_many of a coordinated model with a duplicate unique value in the batch applies part of it"]
async fn save_many_with_duplicate_unique_in_batch() {
    let (_redis, store) = start("rv8").await;
    let mut c = Checks::default();
    let org = "o".to_owned();
    let mut a = Acct::new("o", 1);
    let mut b = Acct::new("o", 2);
    a.email = "dup".into();
    b.email = "dup".into();
    let c3 = Acct::new("o", 3);
    let r = store.save_many(&[c3.clone(), a.clone(), b.clone()]).await;
    eprintln!("REVIEW save_many with a duplicate: {r:?}");
    c.check(
        matches!(r, Err(Error::UniqueViolation { .. })),
        format!("a duplicate in the batch is a UniqueViolation: {r:?}"),
    );
    let stored: Vec<bool> = vec![
        store.exists::<Acct>(&aid("o", 1)).await.unwrap(),
        store.exists::<Acct>(&aid("o", 2)).await.unwrap(),
        store.exists::<Acct>(&aid("o", 3)).await.unwrap(),
    ];
    c.check(
        stored.iter().all(|s| !s),
        format!("all or nothing: stored {stored:?} (ids 1, 2, 3)"),
    );
    let holder = Acct::find_by_email(&store, &org, &"dup".to_owned())
        .await
        .unwrap();
    c.check(
        holder.is_none(),
        format!("nobody holds the value: {:?}", holder.map(|h| h.id)),
    );
    // a batch one of whose entities claims a value held outside the batch
    store.insert(&Acct::new("p", 1)).await.unwrap();
    let mut x = Acct::new("p", 2);
    x.email = "a1@x".into();
    let r = store.save_many(&[Acct::new("p", 3), x]).await;
    c.check(
        matches!(r, Err(Error::UniqueViolation { .. })),
        format!("batch claiming a held value: {r:?}"),
    );
    let e3 = store.exists::<Acct>(&aid("p", 3)).await.unwrap();
    c.check(
        !e3,
        "all or nothing: the other entity of the refused batch is not stored",
    );
    c.finish();
}

on_both! {
    /// `save_many` keeps indexes, claims and versions like single saves.
    async fn save_many_keeps_constraints() {
        let (_redis, store) = start("rv9").await;
        let mut c = Checks::default();
        let org = "o".to_owned();
        let batch: Vec<Acct> = (0..20).map(|i| Acct::new("o", i)).collect();
        store.save_many(&batch).await.unwrap();
        c.check(Acct::count_by_role(&store, &org, &"member".to_owned()).await.unwrap() == 20, "20 indexed");
        c.check(version_of(&store, &aid("o", 5)).await == Some(1), "save_many: version 1");
        // the same batch again is stale (version 0 over 1)
        let r = store.save_many(&batch).await;
        c.check(matches!(r, Err(Error::VersionConflict { .. })), format!("stale save_many: {r:?}"));
        c.check(version_of(&store, &aid("o", 5)).await == Some(1), "stale save_many wrote nothing");
        // a batch claiming a value held outside it
        let mut x = Acct::new("o", 100);
        x.email = "a3@x".into();
        let r = store.save_many(&[Acct::new("o", 101), x]).await;
        c.check(matches!(r, Err(Error::UniqueViolation { .. })), format!("batch claiming a held value: {r:?}"));
        c.check(!store.exists::<Acct>(&aid("o", 100)).await.unwrap(), "the refused entity is not stored");
        c.finish();
    }
}

// ---------------------------------------------------------------------------
// expiry, deletion, repair

on_both! {
    /// A unique value whose holder expired is taken over; counts and finds
    /// agree after expiry; repair cleans what no query meets, within its
    /// budget; deleting everything leaves no constraint key.
    async fn expiry_claims_counts_and_repair() {
        let (redis, store) = start("rv10").await;
        let mut c = Checks::default();
        freeze_expiry(&redis).await;
        let org = "o".to_owned();
        for i in 0..10 {
            let mut a = Acct::new("o", i);
            a.role = "r".into();
            a.team = Some("t".into());
            a.handle = Some(format!("h{i}"));
            store.insert(&a).await.unwrap();
        }
        for i in 0..4 {
            store.expire::<Acct>(&aid("o", i), Duration::from_millis(20)).await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(80)).await;
        let n = Acct::count_by_role(&store, &org, &"r".to_owned()).await.unwrap();
        c.check(n == 6, format!("count_by_role after 4 of 10 expired: {n}"));
        let n = Acct::count_by_score(&store, &org, ..).await.unwrap();
        c.check(n == 6, format!("count_by_score(..) after expiry: {n}"));
        let first = Acct::find_by_score(&store, &org, .., Page::first(2)).await.unwrap();
        c.check(ids(&first) == vec![4, 5], format!("first page of 2 skips the expired: {:?}", ids(&first)));
        let off = Acct::find_by_score(&store, &org, .., Page::first(2).offset(1)).await.unwrap();
        c.check(ids(&off) == vec![5, 6], format!("offset counts live matches only: {:?}", ids(&off)));
        let page = Acct::find_by_role_page(&store, &org, &"r".to_owned(), Page::first(3)).await.unwrap();
        c.check(page.len() == 3, format!("equality page of 3 after expiry: {:?}", ids(&page)));
        let all = Acct::find_by_team(&store, &org, &"t".to_owned()).await.unwrap();
        c.check(all.len() == 6, format!("find_by_team after expiry: {:?}", ids(&all)));
        c.check(Acct::find_by_email(&store, &org, &"a1@x".to_owned()).await.unwrap().is_none(), "expired holder not found");

        // take over the claim of an expired holder, by each kind of write
        let mut b = Acct::new("o", 100);
        b.email = "a0@x".into();
        c.check(matches!(store.insert(&b).await, Ok(true)), "insert takes over an expired holder's email");
        let r = store.set_field(&aid("o", 100), Acct::fields().handle, &"h1".to_owned()).await;
        c.check(r.is_ok(), format!("set_field takes over an expired holder's handle: {r:?}"));
        let r = store.modify(&aid("o", 100), |u: &mut Acct| u.email = "a2@x".into()).await;
        c.check(matches!(r, Ok(Some(_))), format!("modify takes over an expired holder's email: {r:?}"));
        c.check(Acct::find_by_email(&store, &org, &"a0@x".to_owned()).await.unwrap().is_none(), "a0@x released by modify");

        let removed = store.repair::<Acct, _>(&org, 1_000).await.unwrap();
        eprintln!("REVIEW repair removed {removed}");
        let again = store.repair::<Acct, _>(&org, 1_000).await.unwrap();
        c.check(again == 0, format!("a second repair finds nothing: {again}"));
        // delete every live entity: no key of any kind remains
        for i in 0..10 {
            store.delete::<Acct>(&aid("o", i)).await.unwrap();
        }
        store.delete::<Acct>(&aid("o", 100)).await.unwrap();
        let left = all_keys(&redis).await;
        c.check(left.is_empty(), format!("keys left after deleting all and repairing: {left:?}"));
        c.finish();
    }
}

/// Repair's budget: "reading at most `budget` members per index".
#[tokio::test]
#[ignore = "defect: store.repair ignores its budget (budget 0 and budget 2 remove every stale member)"]
async fn repair_budget() {
    let (redis, store) = start("rv11").await;
    let mut c = Checks::default();
    freeze_expiry(&redis).await;
    let org = "o".to_owned();
    for i in 0..30 {
        store.insert(&Acct::new("o", i)).await.unwrap();
        store
            .expire::<Acct>(&aid("o", i), Duration::from_millis(10))
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let removed0 = store.repair::<Acct, _>(&org, 0).await.unwrap();
    c.check(
        removed0 == 0,
        format!("repair with budget 0 removed {removed0}"),
    );
    // Acct has 6 constraints holding a member per entity (email, role,
    // score, big, weight; handle and team are None): budget 2 reads at
    // most 2 per constraint.
    let removed = store.repair::<Acct, _>(&org, 2).await.unwrap();
    c.check(
        removed <= 2 * 7,
        format!("budget 2 over 7 constraints removed {removed}"),
    );
    c.check(removed > 0, "budget 2 removed something");
    let mut total = removed;
    for _ in 0..40 {
        let r = store.repair::<Acct, _>(&org, 2).await.unwrap();
        c.check(r <= 14, format!("budget 2 removed {r}"));
        total += r;
        if r == 0 {
            break;
        }
    }
    c.check(
        total == 30 * 5,
        format!("repair removed {total}, expected 150 (5 constraints x 30)"),
    );
    let left = all_keys(&redis).await;
    eprintln!("REVIEW keys after repairing 30 expired entities: {left:?}");
    c.check(
        left.iter().all(|k| k.contains(":acct:")),
        format!("only the expired (lazily kept) entity keys may remain: {left:?}"),
    );
    c.finish();
}

on_both! {
    /// A write that bypasses the store (another client's HSET / DEL): the
    /// queries never return what no longer matches.
    async fn bypassing_writes_never_returned() {
        let (redis, store) = start("rv12").await;
        let mut c = Checks::default();
        let org = "o".to_owned();
        for i in 0..3 {
            store.insert(&Acct::new("o", i)).await.unwrap();
        }
        let mut admin = redis.raw_connection().await.unwrap();
        let key = |i: u64| format!("rv12:rvc:{{o}}:acct:{i}");
        let _: () = raw!(&mut admin, "HSET", key(0), "role", "boss", "score", 500, "email", "changed");
        let _: () = raw!(&mut admin, "DEL", key(1));
        let found = Acct::find_by_role(&store, &org, &"member".to_owned()).await.unwrap();
        c.check(ids(&found) == vec![2], format!("role changed / deleted behind the store: {:?}", ids(&found)));
        let n = Acct::count_by_role(&store, &org, &"member".to_owned()).await.unwrap();
        c.check(n == 1, format!("count agrees: {n}"));
        let r = Acct::find_by_score(&store, &org, 0..=1, Page::ALL).await.unwrap();
        c.check(r.is_empty(), format!("range: score changed / deleted: {:?}", ids(&r)));
        let e = Acct::find_by_email(&store, &org, &"a0@x".to_owned()).await.unwrap();
        c.check(e.is_none(), format!("unique: holder changed its email behind the store: {:?}", e.map(|a| a.id)));
        let e = Acct::find_by_email(&store, &org, &"a1@x".to_owned()).await.unwrap();
        c.check(e.is_none(), "unique: holder deleted behind the store");
        // the freed values can be claimed again
        let mut x = Acct::new("o", 10);
        x.email = "a1@x".into();
        let r = store.insert(&x).await;
        eprintln!("REVIEW claim of a value whose holder was DEL'd behind the store: {r:?}");
        let mut y = Acct::new("o", 11);
        y.email = "a0@x".into();
        let r = store.insert(&y).await;
        eprintln!("REVIEW claim of a value whose holder changed it behind the store: {r:?}");
        c.finish();
    }
}

// ---------------------------------------------------------------------------
// pages and ranges

on_both! {
    /// Page edge cases on equality and range indexes.
    async fn page_edges() {
        let (_redis, store) = start("rv13").await;
        let mut c = Checks::default();
        let org = "o".to_owned();
        let r = "r".to_owned();
        let idset = [1u64, 2, 10, 11, 20, 100, 3];
        for &i in &idset {
            let mut a = Acct::new("o", i);
            a.role = "r".into();
            a.score = 50 - i as i64;
            store.insert(&a).await.unwrap();
        }
        let all = Acct::find_by_role(&store, &org, &r).await.unwrap();
        c.check(all.len() == 7, format!("find_by_role: {:?}", ids(&all)));
        let asc = Acct::find_by_role_page(&store, &org, &r, Page::ALL).await.unwrap();
        let desc = Acct::find_by_role_page(&store, &org, &r, Page::ALL.order(Order::Descending)).await.unwrap();
        let mut rev = ids(&asc);
        rev.reverse();
        c.check(ids(&desc) == rev, format!("descending is ascending reversed: {:?} vs {:?}", ids(&asc), ids(&desc)));
        eprintln!("REVIEW equality index order: {:?}", ids(&asc));
        for (page, want) in [
            (Page::first(0), 0usize),
            (Page::first(3), 3),
            (Page::first(3).offset(6), 1),
            (Page::first(3).offset(7), 0),
            (Page::first(3).offset(1_000), 0),
            (Page::ALL.offset(usize::MAX), 0),
            (Page::first(usize::MAX), 7),
            (Page::first(usize::MAX).offset(2), 5),
            (Page { offset: 0, limit: None, order: Order::Descending }, 7),
        ] {
            let got = Acct::find_by_role_page(&store, &org, &r, page).await;
            c.check(matches!(&got, Ok(v) if v.len() == want), format!("equality {page:?}: {:?}", got.map(|g| ids(&g))));
            let got = Acct::find_by_score(&store, &org, .., page).await;
            c.check(matches!(&got, Ok(v) if v.len() == want), format!("range {page:?}: {:?}", got.map(|g| ids(&g))));
        }
        // offset pages tile the whole
        let mut tiled = Vec::new();
        for k in 0..4 {
            tiled.extend(ids(&Acct::find_by_role_page(&store, &org, &r, Page::first(2).offset(2 * k)).await.unwrap()));
        }
        c.check(tiled == ids(&asc), format!("pages tile: {tiled:?} vs {:?}", ids(&asc)));
        // range order is by value
        let by_score = Acct::find_by_score(&store, &org, .., Page::ALL).await.unwrap();
        let scores: Vec<i64> = by_score.iter().map(|a| a.score).collect();
        let mut sorted = scores.clone();
        sorted.sort();
        c.check(scores == sorted, format!("range ascending by value: {scores:?}"));
        let by_score = Acct::find_by_score(&store, &org, .., Page::first(2).order(Order::Descending)).await.unwrap();
        let scores: Vec<i64> = by_score.iter().map(|a| a.score).collect();
        c.check(scores == vec![49, 48], format!("descending first 2: {scores:?}"));
        let by_score = Acct::find_by_score(&store, &org, 30..=48, Page::first(2).offset(1).order(Order::Descending)).await.unwrap();
        let scores: Vec<i64> = by_score.iter().map(|a| a.score).collect();
        c.check(scores == vec![47, 40], format!("descending in 30..=48, offset 1, 2: {scores:?}"));
        c.finish();
    }
}

/// Stores one entity per score (ids in order) and checks `find_by_score`
/// and `count_by_score` over every pair of bounds built from the scores and
/// their neighbours against `RangeBounds::contains`.
async fn check_range_bounds(store: &Store, c: &mut Checks, scores: &[i64]) {
    use Bound::{Excluded as X, Included as I, Unbounded as U};
    let org = "o".to_owned();
    for (i, &s) in scores.iter().enumerate() {
        let mut a = Acct::new("o", i as u64);
        a.score = s;
        store.insert(&a).await.unwrap();
    }
    let mut ends: Vec<Bound<i64>> = vec![U];
    for &s in scores {
        ends.push(I(s));
        ends.push(X(s));
        if let Some(n) = s.checked_add(1) {
            ends.push(I(n));
        }
    }
    for &lo in &ends {
        for &hi in &ends {
            let mut want: Vec<i64> = scores
                .iter()
                .copied()
                .filter(|s| (lo, hi).contains(s))
                .collect();
            want.sort();
            let found = Acct::find_by_score(store, &org, (lo, hi), Page::ALL)
                .await
                .unwrap();
            let got: Vec<i64> = found.iter().map(|a| a.score).collect();
            let n = Acct::count_by_score(store, &org, (lo, hi)).await.unwrap();
            c.check(
                got == want,
                format!("range ({lo:?}, {hi:?}): {got:?}, want {want:?}"),
            );
            c.check(
                n == want.len() as u64,
                format!("count ({lo:?}, {hi:?}): {n}, want {}", want.len()),
            );
        }
    }
}

on_both! {
    /// Range bounds within the integers a double holds exactly: excluded,
    /// included, unbounded, negative, empty and inverted ranges.
    async fn range_bounds() {
        let (_redis, store) = start("rv14").await;
        let mut c = Checks::default();
        let p53: i64 = 1 << 53;
        check_range_bounds(&store, &mut c, &[-p53, -5, -1, 0, 1, 5, 7, p53 - 2, p53 - 1]).await;
        c.finish();
    }
}

/// `index(range)` accepts any integer type, and its queries promise the
/// entities whose value lies in the range, ordered by it: at the ends of
/// `i64` and beyond 2^53 neighbours are returned, others are missed, and
/// `i64::MAX` sorts before `i64::MAX - 1`.
#[tokio::test]
#[ignore = "defect: index(range) on i64/u64 is wrong beyond 2^53 (neighbours returned, matches missed, order broken)"]
async fn range_bounds_beyond_2_pow_53() {
    let (_redis, store) = start("rv14b").await;
    let mut c = Checks::default();
    let p53: i64 = 1 << 53;
    check_range_bounds(
        &store,
        &mut c,
        &[
            i64::MIN,
            i64::MIN + 1,
            0,
            p53,
            p53 + 1,
            i64::MAX - 1,
            i64::MAX,
        ],
    )
    .await;
    // u64 beyond i64
    let org = "o".to_owned();
    let bigs: Vec<u64> = vec![0, u64::MAX, u64::MAX - 1, 1 << 63, (1 << 53) + 1, 1 << 53];
    for (i, &b) in bigs.iter().enumerate() {
        store
            .update(&aid("o", i as u64), |u| u.set(Acct::fields().big, &b))
            .await
            .unwrap();
    }
    for &b in &bigs {
        let found = Acct::find_by_big(&store, &org, b..=b, Page::ALL)
            .await
            .unwrap();
        let got: Vec<u64> = found.iter().map(|a| a.big).collect();
        c.check(got == vec![b], format!("big {b}..={b}: {got:?}"));
    }
    let found = Acct::find_by_big(&store, &org, (1u64 << 63).., Page::ALL)
        .await
        .unwrap();
    let got: Vec<u64> = found.iter().map(|a| a.big).collect();
    c.check(
        got == vec![1 << 63, u64::MAX - 1, u64::MAX],
        format!("big 2^63..: {got:?}"),
    );
    c.finish();
}

/// Float range index: NaN, infinities, -0.0.
#[tokio::test]
async fn float_range_index() {
    let (_redis, store) = start("rv15").await;
    let mut c = Checks::default();
    let org = "o".to_owned();
    let ws = [
        f64::NEG_INFINITY,
        -1.5,
        -0.0,
        0.0,
        0.1,
        1e300,
        f64::INFINITY,
    ];
    for (i, &w) in ws.iter().enumerate() {
        let mut a = Acct::new("o", i as u64);
        a.weight = w;
        store.insert(&a).await.unwrap();
    }
    let all = Acct::find_by_weight(&store, &org, .., Page::ALL)
        .await
        .unwrap();
    let got: Vec<f64> = all.iter().map(|a| a.weight).collect();
    c.check(
        got.len() == 7 && got.windows(2).all(|w| w[0] <= w[1]),
        format!("ordered: {got:?}"),
    );
    let zeros = Acct::count_by_weight(&store, &org, 0.0..=0.0)
        .await
        .unwrap();
    c.check(zeros == 2, format!("0.0..=0.0 holds 0.0 and -0.0: {zeros}"));
    let pos = Acct::find_by_weight(
        &store,
        &org,
        (Bound::Excluded(0.0), Bound::Unbounded),
        Page::ALL,
    )
    .await
    .unwrap();
    c.check(pos.len() == 3, format!("(0, ..): {:?}", ids(&pos)));
    let inf = Acct::find_by_weight(&store, &org, f64::INFINITY.., Page::ALL)
        .await
        .unwrap();
    c.check(ids(&inf) == vec![6], format!("inf..: {:?}", ids(&inf)));
    // NaN: either refused with nothing written, or stored and still consistent
    let mut n = Acct::new("o", 50);
    n.weight = f64::NAN;
    let r = store.insert(&n).await;
    eprintln!("REVIEW insert with a NaN range value: {r:?}");
    match r {
        Ok(_) => {
            let got = store.get::<Acct>(&aid("o", 50)).await.unwrap();
            c.check(got.is_some(), "NaN insert returned Ok but stored nothing");
        }
        Err(_) => {
            let e = store.exists::<Acct>(&aid("o", 50)).await.unwrap();
            c.check(!e, "NaN insert refused but the entity was stored");
            let claim = Acct::find_by_email(&store, &org, &"a50@x".to_owned())
                .await
                .unwrap();
            c.check(
                claim.is_none(),
                "NaN insert refused but the email is claimed",
            );
            let mut m = Acct::new("o", 51);
            m.email = "a50@x".into();
            c.check(
                matches!(store.insert(&m).await, Ok(true)),
                "the email of a refused NaN insert is free",
            );
        }
    }
    // NaN through a partial write on an existing entity
    let before = store.get::<Acct>(&aid("o", 1)).await.unwrap().unwrap();
    let r = store
        .set_field(&aid("o", 1), Acct::fields().weight, &f64::NAN)
        .await;
    eprintln!("REVIEW set_field weight = NaN: {r:?}");
    if r.is_err() {
        let after = store.get::<Acct>(&aid("o", 1)).await.unwrap().unwrap();
        c.check(after == before, "refused NaN set_field changed the entity");
    }
    c.finish();
}

// ---------------------------------------------------------------------------
// namespaces and errors

/// Two stores with different namespaces do not see each other's indexes or
/// claims (admin stores: the ACL user of `start` has one namespace).
#[tokio::test]
async fn namespaces_do_not_share_indexes() {
    let redis = TestRedis::start();
    let mut c = Checks::default();
    let connect = |ns: &str| {
        let config = redis.config_builder().namespace(ns).build().unwrap();
        async move { Store::connect(&config).await.unwrap() }
    };
    let s1 = connect("app:a").await;
    let s2 = connect("app:b").await;
    let org = "o".to_owned();
    let a = Acct::new("o", 1);
    c.check(
        matches!(s1.insert(&a).await, Ok(true)),
        "insert in namespace a",
    );
    let mut b = Acct::new("o", 2);
    b.email = a.email.clone();
    c.check(
        matches!(s2.insert(&b).await, Ok(true)),
        "same email in namespace b",
    );
    let f1 = Acct::find_by_email(&s1, &org, &a.email).await.unwrap();
    let f2 = Acct::find_by_email(&s2, &org, &a.email).await.unwrap();
    c.check(f1.map(|x| x.id) == Some(1), "a finds its own");
    c.check(f2.map(|x| x.id) == Some(2), "b finds its own");
    let n1 = Acct::count_by_role(&s1, &org, &"member".to_owned())
        .await
        .unwrap();
    c.check(n1 == 1, format!("count in a: {n1}"));
    s1.delete::<Acct>(&aid("o", 1)).await.unwrap();
    let f2 = Acct::find_by_email(&s2, &org, &a.email).await.unwrap();
    c.check(f2.is_some(), "deleting in a leaves b's claim");
    let removed = s1.repair::<Acct, _>(&org, 100).await.unwrap();
    c.check(
        removed == 0,
        format!("repair in a touches nothing of b: {removed}"),
    );
    let n2 = Acct::count_by_score(&s2, &org, ..).await.unwrap();
    c.check(n2 == 1, format!("b's range index intact: {n2}"));
    c.finish();
}

/// Error messages name fields, never values.
#[tokio::test]
async fn errors_never_show_values() {
    let (redis, store) = start("rv17").await;
    let mut c = Checks::default();
    let org = "o".to_owned();
    let secret = "SECRET-7f3a@x".to_owned();
    let mut a = Acct::new("o", 1);
    a.email = secret.clone();
    a.handle = Some("SECRET-handle".into());
    store.insert(&a).await.unwrap();
    let mut b = Acct::new("o", 2);
    b.email = secret.clone();
    let check = |c: &mut Checks, what: &str, e: &Error| {
        let text = format!("{e} {e:?}");
        c.check(
            !text.contains("SECRET"),
            format!("{what} shows a value: {text}"),
        );
    };
    let e = store.insert(&b).await.unwrap_err();
    check(&mut c, "UniqueViolation", &e);
    let mut stale = store.get::<Acct>(&a.key()).await.unwrap().unwrap();
    stale.version = 0;
    let e = store.save(&stale).await.unwrap_err();
    check(&mut c, "VersionConflict", &e);
    // a stored value that does not decode, met by a query
    let mut admin = redis.raw_connection().await.unwrap();
    let _: () = raw!(
        &mut admin,
        "HSET",
        "rv17:rvc:{o}:acct:1",
        "n",
        "SECRET-not-a-number"
    );
    let e = Acct::find_by_email(&store, &org, &secret).await;
    match e {
        Err(e) => check(&mut c, "decode in find_by_email", &e),
        Ok(v) => c.check(false, format!("an undecodable entity was returned: {v:?}")),
    }
    let e = Acct::find_by_role(&store, &org, &"member".to_owned()).await;
    match e {
        Err(e) => check(&mut c, "decode in find_by_role", &e),
        Ok(v) => c.check(false, format!("an undecodable entity was returned: {v:?}")),
    }
    let e = store.modify(&a.key(), |u: &mut Acct| u.n += 1).await;
    match e {
        Err(e) => check(&mut c, "decode in modify", &e),
        Ok(v) => c.check(false, format!("modify over an undecodable entity: {v:?}")),
    }
    c.finish();
}

// ---------------------------------------------------------------------------
// more versions

/// A copy read before a delete saves over the entity inserted after it:
/// both are at version 1, so "another writer got there first" goes unseen.
#[tokio::test]
#[ignore = "defect: the version restarts at 1 after delete + insert, so a stale copy from before the delete overwrites the new entity (ABA)"]
async fn stale_copy_after_delete_and_reinsert() {
    let (_redis, store) = start("rv20").await;
    let mut c = Checks::default();
    let org = "o".to_owned();
    let mut old = Acct::new("o", 1);
    old.email = "old@x".into();
    store.insert(&old).await.unwrap();
    let mut stale = store.get::<Acct>(&old.key()).await.unwrap().unwrap();
    // another writer deletes it and creates a new entity with the same id
    store.delete::<Acct>(&old.key()).await.unwrap();
    let mut new = Acct::new("o", 1);
    new.email = "new@x".into();
    new.role = "admin".into();
    store.insert(&new).await.unwrap();
    // the first writer saves its stale copy
    stale.n = 99;
    let r = store.save(&stale).await;
    c.check(
        matches!(r, Err(Error::VersionConflict { .. })),
        format!("a copy read before a delete + insert is stale: {r:?}"),
    );
    let now = store.get::<Acct>(&old.key()).await.unwrap().unwrap();
    c.check(
        now.email == "new@x" && now.role == "admin",
        format!("the new entity was overwritten by the stale copy: {now:?}"),
    );
    let _ = Acct::find_by_email(&store, &org, &"new@x".to_owned()).await;
    c.finish();
}

/// `incr_or_insert` that creates the entity is one write; "every write
/// increments it", and an insert stores version 1.
#[tokio::test]
#[ignore = "defect: incr_or_insert creating an entity stores version 2 (one write, two increments); insert stores 1"]
async fn incr_or_insert_creates_at_version_1() {
    let (_redis, store) = start("rv21").await;
    let f = Acct::fields();
    let id = aid("o", 1);
    store
        .incr_or_insert(&id, f.n, 1, || Acct::new("o", 1))
        .await
        .unwrap();
    let v = version_of(&store, &id).await.unwrap();
    assert_eq!(v, 1, "incr_or_insert creating: version");
}

on_both! {
    /// `save_with_ttl` and `insert_or_get` of a versioned, constrained model
    /// keep the same promises as `save` and `insert`.
    async fn save_with_ttl_and_insert_or_get() {
        let (_redis, store) = start("rv22").await;
        let mut c = Checks::default();
        let org = "o".to_owned();
        let a = Acct::new("o", 1);
        store.insert(&a).await.unwrap();
        // stale save_with_ttl
        let r = store.save_with_ttl(&a, Some(Duration::from_secs(60))).await;
        c.check(matches!(r, Err(Error::VersionConflict { .. })), format!("stale save_with_ttl: {r:?}"));
        let mut cur = store.get::<Acct>(&a.key()).await.unwrap().unwrap();
        cur.role = "admin".into();
        cur.email = "moved@x".into();
        store.save_with_ttl(&cur, None).await.unwrap();
        c.check(version_of(&store, &a.key()).await == Some(2), "save_with_ttl: + 1");
        c.check(Acct::count_by_role(&store, &org, &"admin".to_owned()).await.unwrap() == 1, "save_with_ttl indexes");
        c.check(Acct::find_by_email(&store, &org, &"a1@x".to_owned()).await.unwrap().is_none(), "save_with_ttl released the old email");
        // insert_or_get claiming a held value
        let mut b = Acct::new("o", 2);
        b.email = "moved@x".into();
        let r = store.insert_or_get(&b).await;
        c.check(matches!(r, Err(Error::UniqueViolation { .. })), format!("insert_or_get claiming a held value: {r:?}"));
        c.check(!store.exists::<Acct>(&b.key()).await.unwrap(), "nothing inserted");
        let b = Acct::new("o", 2);
        let r = store.insert_or_get(&b).await;
        c.check(matches!(r, Ok(ref x) if x.is_inserted()), format!("insert_or_get of a free value: {r:?}"));
        c.check(version_of(&store, &b.key()).await == Some(1), "insert_or_get: version 1");
        c.check(Acct::find_by_email(&store, &org, &"a2@x".to_owned()).await.unwrap().map(|x| x.id) == Some(2), "insert_or_get claims");
        // modify of an absent entity writes nothing
        let r = store.modify(&aid("o", 9), |u: &mut Acct| u.n += 1).await.unwrap();
        c.check(r.is_none(), "modify of an absent entity: None");
        c.check(!store.exists::<Acct>(&aid("o", 9)).await.unwrap(), "and nothing written");
        c.finish();
    }
}

/// Integer unique values: signs, extremes and values beyond 2^53 are all
/// distinct claims.
#[tokio::test]
async fn unique_integers() {
    let (_redis, store) = start("rv23").await;
    let mut c = Checks::default();
    let org = "o".to_owned();
    let p53: i64 = 1 << 53;
    let codes = [i64::MIN, -1, 0, 1, p53, p53 + 1, i64::MAX - 1, i64::MAX];
    for (i, &code) in codes.iter().enumerate() {
        let t = Tiny {
            org: "o".into(),
            id: i as u64,
            v: 0,
            code,
            x: 0,
        };
        let r = store.insert(&t).await;
        c.check(matches!(r, Ok(true)), format!("insert code {code}: {r:?}"));
    }
    for (i, &code) in codes.iter().enumerate() {
        let found = Tiny::find_by_code(&store, &org, &code).await.unwrap();
        c.check(
            found.map(|t| t.id) == Some(i as u64),
            format!("find_by_code({code})"),
        );
        let t = Tiny {
            org: "o".into(),
            id: 100 + i as u64,
            v: 0,
            code,
            x: 0,
        };
        let r = store.insert(&t).await;
        c.check(
            matches!(r, Err(Error::UniqueViolation { field: "code", .. })),
            format!("second claim of {code}: {r:?}"),
        );
    }
    c.finish();
}

on_both! {
    /// Concurrent first saves of one new entity at version 0: a
    /// compare-and-set, so exactly one creates it.
    async fn concurrent_first_saves() {
        let (_redis, store) = start("rv24").await;
        let mut c = Checks::default();
        let store = Arc::new(store);
        for round in 0..10u64 {
            let mut tasks = Vec::new();
            for k in 0..4i64 {
                let store = store.clone();
                tasks.push(tokio::spawn(async move {
                    let mut a = Acct::new("o", round);
                    a.n = k;
                    store.save(&a).await
                }));
            }
            let mut oks = 0;
            for t in tasks {
                match t.await.unwrap() {
                    Ok(()) => oks += 1,
                    Err(Error::VersionConflict { expected: 0, found: Some(1), .. }) => {}
                    other => c.check(false, format!("first save race: {other:?}")),
                }
            }
            c.check(oks == 1, format!("round {round}: {oks} first saves at version 0 succeeded"));
            c.check(version_of(&store, &aid("o", round)).await == Some(1), "version 1 after the race");
        }
        c.finish();
    }
}

on_both! {
    /// `modify` racing a delete never brings the entity back; clearing an
    /// indexed `Option` removes it from the index.
    async fn modify_racing_delete_and_option_index() {
        let (_redis, store) = start("rv25").await;
        let mut c = Checks::default();
        let org = "o".to_owned();
        let store = Arc::new(store);
        for round in 0..10u64 {
            let mut a = Acct::new("o", round);
            a.team = Some("t".into());
            store.insert(&a).await.unwrap();
            let s = store.clone();
            let id = a.key();
            let writer = tokio::spawn(async move {
                for _ in 0..30 {
                    match s.modify(&id, |u: &mut Acct| u.n += 1).await {
                        Ok(Some(_)) => {}
                        Ok(None) => break,
                        Err(e) => panic!("modify: {e:?}"),
                    }
                }
            });
            tokio::time::sleep(Duration::from_millis(round)).await;
            store.delete::<Acct>(&a.key()).await.unwrap();
            writer.await.unwrap();
            c.check(!store.exists::<Acct>(&a.key()).await.unwrap(), format!("round {round}: modify brought a deleted entity back"));
        }
        c.check(Acct::count_by_team(&store, &org, &"t".to_owned()).await.unwrap() == 0, "deleted entities left the team index");
        // Option index: Some -> None -> Some
        let mut a = Acct::new("o", 100);
        a.team = Some("t".into());
        store.insert(&a).await.unwrap();
        let f = Acct::fields();
        c.check(Acct::count_by_team(&store, &org, &"t".to_owned()).await.unwrap() == 1, "Some is indexed");
        store.clear_field(&a.key(), f.team).await.unwrap();
        c.check(Acct::count_by_team(&store, &org, &"t".to_owned()).await.unwrap() == 0, "None is not indexed");
        store.modify(&a.key(), |u: &mut Acct| u.team = Some("u".into())).await.unwrap();
        c.check(Acct::count_by_team(&store, &org, &"u".to_owned()).await.unwrap() == 1, "Some again is indexed");
        c.check(Acct::count_by_team(&store, &org, &"".to_owned()).await.unwrap() == 0, "no empty-string member for None");
        c.finish();
    }
}

on_both! {
    /// An entity expires holding a claim and index members, then an entity
    /// with the same id is created holding other values: the old members
    /// point at a live key that no longer matches, and must never be
    /// returned or block a claim.
    async fn expired_then_recreated_with_other_values() {
        let (redis, store) = start("rv26").await;
        let mut c = Checks::default();
        freeze_expiry(&redis).await;
        let org = "o".to_owned();
        let mut a = Acct::new("o", 1);
        a.email = "x@x".into();
        a.role = "r".into();
        a.team = Some("t".into());
        a.score = 5;
        store.insert(&a).await.unwrap();
        store.expire::<Acct>(&a.key(), Duration::from_millis(10)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(40)).await;
        let mut again = Acct::new("o", 1);
        again.email = "y@x".into();
        again.role = "s".into();
        again.team = None;
        again.score = 50;
        c.check(matches!(store.insert(&again).await, Ok(true)), "re-insert after expiry");
        let e = Acct::find_by_email(&store, &org, &"x@x".to_owned()).await.unwrap();
        c.check(e.is_none(), format!("old email finds the re-created entity: {e:?}"));
        let r = Acct::find_by_role(&store, &org, &"r".to_owned()).await.unwrap();
        c.check(r.is_empty(), format!("old role finds the re-created entity: {:?}", ids(&r)));
        let n = Acct::count_by_team(&store, &org, &"t".to_owned()).await.unwrap();
        c.check(n == 0, format!("old team counted: {n}"));
        let r = Acct::find_by_score(&store, &org, 0..10, Page::ALL).await.unwrap();
        c.check(r.is_empty(), format!("old score finds the re-created entity: {:?}", ids(&r)));
        let r = Acct::find_by_score(&store, &org, 0..100, Page::ALL).await.unwrap();
        c.check(ids(&r) == vec![1], format!("re-created entity found once by its range: {:?}", ids(&r)));
        let mut b = Acct::new("o", 2);
        b.email = "x@x".into();
        c.check(matches!(store.insert(&b).await, Ok(true)), "old email can be claimed by another");
        let e = Acct::find_by_email(&store, &org, &"x@x".to_owned()).await.unwrap();
        c.check(e.map(|x| x.id) == Some(2), "and is found at its new holder");
        c.finish();
    }
}

/// A NaN in a range-indexed field cannot be indexed, and is refused with
/// nothing written (that holds); but the error is `Error::Decode`, which
/// the README reserves for stored data that does not decode, while the
/// value was the caller's and never stored.
#[tokio::test]
#[ignore = "defect (minor): a NaN range-indexed value is refused as Error::Decode, not as an encode error"]
async fn nan_range_value_is_an_encode_error() {
    let (_redis, store) = start("rv27").await;
    let mut a = Acct::new("o", 1);
    a.weight = f64::NAN;
    let r = store.insert(&a).await;
    assert!(
        matches!(r, Err(Error::Encode { .. })),
        "insert with a NaN range value: {r:?}"
    );
}

on_both! {
    /// `repair` running while entities change never removes a member that
    /// is still true.
    async fn repair_racing_writes() {
        let (_redis, store) = start("rv28").await;
        let mut c = Checks::default();
        let org = "o".to_owned();
        let store = Arc::new(store);
        for i in 0..5 {
            store.insert(&Acct::new("o", i)).await.unwrap();
        }
        let mut tasks = Vec::new();
        for i in 0..5u64 {
            let s = store.clone();
            tasks.push(tokio::spawn(async move {
                for k in 0..60i64 {
                    s.modify(&aid("o", i), |u: &mut Acct| {
                        u.role = format!("r{}", k % 3);
                        u.score = k;
                        u.email = format!("e{i}-{}", k % 2);
                    })
                    .await
                    .unwrap();
                }
            }));
        }
        let s = store.clone();
        let org2 = org.clone();
        let repairer = tokio::spawn(async move {
            let mut removed = 0;
            for k in 0..200 {
                let r = s.repair::<Acct, _>(&org2, 1000).await.unwrap();
                if r > 0 {
                    eprintln!("REVIEW repair #{k} removed {r}");
                }
                removed += r;
            }
            removed
        });
        for t in tasks {
            t.await.unwrap();
        }
        let removed = repairer.await.unwrap();
        // Nothing was ever stale, yet repair may report removals here: it
        // counts members a racing write had already replaced (the indexes
        // stay whole, checked below and in `first_repair_racing_role_changes`).
        eprintln!("REVIEW repair racing indexed writes reported {removed} removals");
        let n = Acct::count_by_role(&store, &org, &"r2".to_owned()).await.unwrap();
        c.check(n == 5, format!("all five end in role r2: {n}"));
        let r = Acct::find_by_score(&store, &org, 59..=59, Page::ALL).await.unwrap();
        c.check(r.len() == 5, format!("all five end at score 59: {:?}", ids(&r)));
        for i in 0..5 {
            let e = Acct::find_by_email(&store, &org, &format!("e{i}-1")).await.unwrap();
            c.check(e.map(|x| x.id) == Some(i), format!("email e{i}-1"));
        }
        c.finish();
    }
}

/// What `repair` removes when nothing is stale.
#[tokio::test]
async fn repair_when_nothing_is_stale() {
    let (redis, store) = start("rv29").await;
    let mut c = Checks::default();
    let org = "o".to_owned();
    for i in 0..5 {
        let mut a = Acct::new("o", i);
        a.handle = Some(format!("h{i}"));
        a.team = Some("t".into());
        store.insert(&a).await.unwrap();
    }
    let before = all_keys(&redis).await;
    let removed = store.repair::<Acct, _>(&org, 1000).await.unwrap();
    c.check(
        removed == 0,
        format!("repair of a fresh scope removed {removed}"),
    );
    let after = all_keys(&redis).await;
    c.check(
        before == after,
        format!("keys before {before:?}, after {after:?}"),
    );
    c.check(
        Acct::count_by_role(&store, &org, &"member".to_owned())
            .await
            .unwrap()
            == 5,
        "role",
    );
    c.check(
        Acct::count_by_team(&store, &org, &"t".to_owned())
            .await
            .unwrap()
            == 5,
        "team",
    );
    c.check(
        Acct::count_by_score(&store, &org, ..).await.unwrap() == 5,
        "score",
    );
    c.check(
        Acct::count_by_big(&store, &org, ..).await.unwrap() == 5,
        "big",
    );
    c.check(
        Acct::count_by_weight(&store, &org, ..).await.unwrap() == 5,
        "weight",
    );
    for i in 0..5 {
        let e = Acct::find_by_email(&store, &org, &format!("a{i}@x"))
            .await
            .unwrap();
        c.check(e.map(|x| x.id) == Some(i), format!("email {i}"));
        let h = Acct::find_by_handle(&store, &org, &format!("h{i}"))
            .await
            .unwrap();
        c.check(h.map(|x| x.id) == Some(i), format!("handle {i}"));
    }
    c.finish();
}

on_both! {
    /// `repair` running while entities are written without changing any
    /// indexed value: nothing is stale at any moment, so nothing may be
    /// removed and every index stays whole.
    async fn repair_racing_unindexed_writes() {
        let (_redis, store) = start("rv30").await;
        let mut c = Checks::default();
        let org = "o".to_owned();
        let store = Arc::new(store);
        for i in 0..5 {
            store.insert(&Acct::new("o", i)).await.unwrap();
        }
        let mut tasks = Vec::new();
        for i in 0..5u64 {
            let s = store.clone();
            tasks.push(tokio::spawn(async move {
                for _ in 0..60 {
                    s.modify(&aid("o", i), |u: &mut Acct| u.n += 1).await.unwrap();
                }
            }));
        }
        let s = store.clone();
        let org2 = org.clone();
        let repairer = tokio::spawn(async move {
            let mut removed = 0;
            for _ in 0..200 {
                removed += s.repair::<Acct, _>(&org2, 1000).await.unwrap();
                let n = Acct::count_by_role(&s, &org2, &"member".to_owned()).await.unwrap();
                assert_eq!(n, 5, "role index lost a member mid-race");
            }
            removed
        });
        for t in tasks {
            t.await.unwrap();
        }
        let removed = repairer.await.unwrap();
        c.check(removed == 0, format!("repair removed {removed} while nothing was stale"));
        c.check(Acct::count_by_role(&store, &org, &"member".to_owned()).await.unwrap() == 5, "role");
        c.check(Acct::count_by_score(&store, &org, ..).await.unwrap() == 5, "score");
        for i in 0..5 {
            let e = Acct::find_by_email(&store, &org, &format!("a{i}@x")).await.unwrap();
            c.check(e.map(|x| x.id) == Some(i), format!("email {i}"));
        }
        c.finish();
    }
}

on_both! {
    /// One `repair` racing one change of each entity, many times over: after
    /// the race every entity must still be found by its new values, and
    /// repair's count must be what it removed (nothing was ever stale).
    async fn repair_racing_one_change() {
        let (_redis, store) = start("rv32").await;
        let mut c = Checks::default();
        let store = Arc::new(store);
        let mut reported = 0;
        for round in 0..30 {
            let org = format!("o{round}");
            for i in 0..5 {
                store.insert(&Acct::new(&org, i)).await.unwrap();
            }
            let mut tasks = Vec::new();
            for i in 0..5u64 {
                let s = store.clone();
                let org = org.clone();
                tasks.push(tokio::spawn(async move {
                    s.modify(&aid(&org, i), |u: &mut Acct| {
                        u.role = "new".into();
                        u.score = 100 + i as i64;
                        u.email = format!("new{i}");
                    })
                    .await
                    .unwrap();
                }));
            }
            let s = store.clone();
            let org2 = org.clone();
            let delay = Duration::from_micros(50 * round);
            let repairer = tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                s.repair::<Acct, _>(&org2, 1000).await.unwrap()
            });
            for t in tasks {
                t.await.unwrap();
            }
            reported += repairer.await.unwrap();
            let n = Acct::count_by_role(&store, &org, &"new".to_owned()).await.unwrap();
            c.check(n == 5, format!("round {round}: role index holds {n} of 5"));
            let n = Acct::count_by_score(&store, &org, 100..).await.unwrap();
            c.check(n == 5, format!("round {round}: range index holds {n} of 5"));
            for i in 0..5 {
                let e = Acct::find_by_email(&store, &org, &format!("new{i}")).await.unwrap();
                c.check(e.is_some(), format!("round {round}: claim new{i} lost"));
                let mut other = Acct::new(&org, 50 + i);
                other.email = format!("new{i}");
                c.check(
                    matches!(store.insert(&other).await, Err(Error::UniqueViolation { .. })),
                    format!("round {round}: new{i} could be claimed twice"),
                );
            }
        }
        eprintln!("REVIEW repair racing single changes reported {reported} removals");
        c.check(reported == 0, format!("repair reported {reported} removals though nothing was ever stale"));
        c.finish();
    }
}

on_both! {
    /// `repair` reads a claim, then its holder gives the value up and
    /// another entity claims it, then repair checks the claim: the new
    /// holder's claim must survive (at most one entity per value).
    async fn repair_racing_a_claim_handover() {
        let (_redis, store) = start("rv33").await;
        let mut c = Checks::default();
        let store = Arc::new(store);
        let org = "o".to_owned();
        // many live claims so that a repair takes a while
        let filler: Vec<Acct> = (1000..1400).map(|i| Acct::new("o", i)).collect();
        store.save_many(&filler).await.unwrap();
        let mut reported = 0;
        for round in 0..40u64 {
            let (a, b) = (aid("o", 2 * round), aid("o", 2 * round + 1));
            let v = format!("v{round}");
            let mut ea = Acct::new("o", 2 * round);
            ea.email = v.clone();
            store.insert(&ea).await.unwrap();
            store.insert(&Acct::new("o", 2 * round + 1)).await.unwrap();
            let s = store.clone();
            let o2 = org.clone();
            let repairer = tokio::spawn(async move { s.repair::<Acct, _>(&o2, 100_000).await.unwrap() });
            tokio::time::sleep(Duration::from_micros(100 * (round % 20))).await;
            store.modify(&a, |u: &mut Acct| u.email = format!("gone{round}")).await.unwrap();
            store.set_field(&b, Acct::fields().email, &v).await.unwrap();
            reported += repairer.await.unwrap();
            let holder = Acct::find_by_email(&store, &org, &v).await.unwrap();
            c.check(holder.map(|h| h.id) == Some(2 * round + 1), format!("round {round}: B's claim of {v} lost"));
            let mut third = Acct::new("o", 5000 + round);
            third.email = v.clone();
            let r = store.insert(&third).await;
            c.check(
                matches!(r, Err(Error::UniqueViolation { .. })),
                format!("round {round}: a third entity claimed {v} while B holds it: {r:?}"),
            );
        }
        eprintln!("REVIEW repair during handovers reported {reported} removals");
        c.finish();
    }
}

/// The first `repair` of a fresh store racing role changes: after the race
/// every entity must be in the index under its new role.
#[tokio::test]
async fn first_repair_racing_role_changes() {
    let mut c = Checks::default();
    let mut reported = 0;
    for round in 0..12u64 {
        let new_role = if round % 2 == 0 { "zz" } else { "aa" };
        let (_redis, store) = start(&format!("rv35r{round}")).await;
        let store = Arc::new(store);
        let org = "o".to_owned();
        for i in 0..5 {
            store.insert(&Acct::new("o", i)).await.unwrap();
        }
        let s = store.clone();
        let o2 = org.clone();
        let repairer = tokio::spawn(async move { s.repair::<Acct, _>(&o2, 1000).await.unwrap() });
        tokio::time::sleep(Duration::from_micros(200 * (round / 2))).await;
        for i in 0..5u64 {
            store
                .modify(&aid("o", i), |u: &mut Acct| u.role = new_role.into())
                .await
                .unwrap();
        }
        reported += repairer.await.unwrap();
        let n = Acct::count_by_role(&store, &org, &new_role.to_owned())
            .await
            .unwrap();
        c.check(
            n == 5,
            format!("round {round}: {n} of 5 found under role {new_role}"),
        );
    }
    eprintln!("REVIEW first repairs racing role changes reported {reported}");
    c.finish();
}

/// Without a version field: saves are unconditional, uniques still hold,
/// and `update(..).if_version` is refused with `Error::Config`.
#[tokio::test]
async fn unversioned_model() {
    let (_redis, store) = start("rv36").await;
    let mut c = Checks::default();
    let org = "o".to_owned();
    let p = |id: u64, code: &str| Plain {
        org: "o".into(),
        id,
        code: code.into(),
        kind: "k".into(),
        n: 0,
    };
    let pid = |id: u64| PlainId {
        org: "o".into(),
        id,
    };
    store.save(&p(1, "c1")).await.unwrap();
    store.save(&p(1, "c1")).await.unwrap();
    c.check(
        store.save(&p(1, "c2")).await.is_ok(),
        "unconditional re-save",
    );
    let r = store.save(&p(2, "c2")).await;
    c.check(
        matches!(r, Err(Error::UniqueViolation { field: "code", .. })),
        format!("unique without version: {r:?}"),
    );
    c.check(
        store.save(&p(2, "c1")).await.is_ok(),
        "c1 was released by the re-save",
    );
    let r = store
        .update(&pid(1), |u| u.incr(Plain::fields().n, 1).if_version(1))
        .await;
    c.check(
        matches!(r, Err(Error::Config { .. })),
        format!("if_version on an unversioned model: {r:?}"),
    );
    c.check(
        store.get::<Plain>(&pid(1)).await.unwrap().unwrap().n == 0,
        "refused if_version wrote nothing",
    );
    let n = Plain::count_by_kind(&store, &org, &"k".to_owned())
        .await
        .unwrap();
    c.check(n == 2, format!("count_by_kind: {n}"));
    let page = Plain::find_by_kind_page(&store, &org, &"k".to_owned(), Page::first(1))
        .await
        .unwrap();
    c.check(page.len() == 1, "find_by_kind_page");
    c.finish();
}

/// A `modify` closure that writes the version field itself: the version
/// compared is the one read, and the saved entity carries the new version.
#[tokio::test]
async fn modify_closure_touching_the_version() {
    let (_redis, store) = start("rv37").await;
    let mut c = Checks::default();
    store.insert(&Acct::new("o", 1)).await.unwrap();
    let r = store
        .modify(&aid("o", 1), |u: &mut Acct| {
            u.version = 1000;
            u.n += 1;
        })
        .await;
    eprintln!("REVIEW modify whose closure sets version = 1000: {r:?}");
    let stored = version_of(&store, &aid("o", 1)).await.unwrap();
    c.check(
        stored != 1000,
        format!("the closure wrote the version: {stored}"),
    );
    if let Ok(Some(saved)) = &r {
        c.check(
            saved.version == stored,
            format!("returned version {} vs stored {stored}", saved.version),
        );
    }
    c.finish();
}
