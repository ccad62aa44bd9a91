//! Every typed operation, every encoding and the TTL policy, against a real redis-server.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::*;
use futures_util::StreamExt;
use redis_runtime::{Error, Expiry, RedisModel};

fn ttl_ms(expiry: Expiry) -> u128 {
    match expiry {
        Expiry::In(d) => d.as_millis(),
        other => panic!("expected a TTL, got {other:?}"),
    }
}

on_both! {
async fn hash_model_round_trips_every_operation() {
    let (server, store) = start("app:test").await;
    let mut raw = server.raw_connection().await.unwrap();
    let user = User::sample("acme", 1);
    let id = user.key_id();

    assert_eq!(store.get::<User>(&id).await.unwrap(), None);
    assert!(!store.exists::<User>(&id).await.unwrap());
    store.save(&user).await.unwrap();
    assert!(store.exists::<User>(&id).await.unwrap());
    assert_eq!(store.get::<User>(&id).await.unwrap(), Some(user.clone()));
    assert_eq!(user.id(), id);

    // The key is namespaced, hash-tagged and stored as a hash with one field per struct field.
    let key = store.key::<User>(&id).unwrap();
    assert_eq!(key.to_string(), "app:test:tenant:{acme}:user:1");
    let fields: Vec<(String, String)> = raw!(&mut raw, "HGETALL", &key);
    let names: BTreeSet<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        BTreeSet::from(["tenant", "id", "email", "name", "prefs", "logins"])
    );
    let prefs = fields.iter().find(|(k, _)| k == "prefs").unwrap();
    assert_eq!(prefs.1, r#"{"theme":"dark","langs":["en","fr"]}"#);

    assert!(store.delete::<User>(&id).await.unwrap());
    assert!(!store.delete::<User>(&id).await.unwrap());
    assert_eq!(store.get::<User>(&id).await.unwrap(), None);
}
}

on_both! {
async fn saving_none_removes_the_stale_field() {
    let (server, store) = start("").await;
    let mut raw = server.raw_connection().await.unwrap();
    let mut user = User::sample("acme", 2);
    store.save(&user).await.unwrap();
    // An extra field left by an older schema disappears on a full save too.
    let key = store.key::<User>(&user.key_id()).unwrap();
    let _: () = raw!(&mut raw, "HSET", &key, "legacy", "x");
    user.name = None;
    store.save(&user).await.unwrap();
    let has_name: bool = raw!(&mut raw, "HEXISTS", &key, "name");
    let has_legacy: bool = raw!(&mut raw, "HEXISTS", &key, "legacy");
    assert!(!has_name && !has_legacy);
    assert_eq!(store.get::<User>(&user.key_id()).await.unwrap(), Some(user));
}
}

on_both! {
(flavor = "multi_thread", worker_threads = 2) async fn readers_never_see_a_saved_entity_missing() {
    let (_server, store) = start("").await;
    let user = User::sample("acme", 3);
    store.save(&user).await.unwrap();
    let writer = {
        let store = store.clone();
        let mut user = user.clone();
        tokio::spawn(async move {
            for i in 0..400 {
                user.logins = i;
                user.name = (i % 2 == 0).then(|| format!("n{i}"));
                store.save(&user).await.unwrap();
            }
        })
    };
    let mut reads = 0;
    let mut missing = 0;
    let mut versions = BTreeSet::new();
    while !writer.is_finished() && reads < 20_000 {
        match store.get::<User>(&user.key_id()).await.unwrap() {
            Some(read) => {
                assert_eq!(read.email, user.email);
                versions.insert(read.logins);
            }
            None => missing += 1,
        }
        reads += 1;
    }
    writer.await.unwrap();
    // The reads ran while the saves did: they saw several versions.
    assert!(
        versions.len() > 2,
        "reads did not overlap the saves: {reads} reads saw {versions:?}"
    );
    assert_eq!(
        missing, 0,
        "the entity was missing in {missing} of {reads} reads"
    );
}
}

on_both! {
async fn full_save_applies_the_model_ttl_and_partial_writes_keep_it() {
    let (_server, store) = start("").await;
    let user = User::sample("acme", 4);
    let id = user.key_id();
    store.save(&user).await.unwrap();
    let thirty_days = 30 * 86_400_000;
    let ttl = ttl_ms(store.ttl::<User>(&id).await.unwrap());
    assert!(ttl > thirty_days - 60_000 && ttl <= thirty_days, "{ttl}");

    // A shorter explicit TTL survives partial writes and increments.
    assert!(
        store
            .expire::<User>(&id, Duration::from_secs(100))
            .await
            .unwrap()
    );
    let fields = User::fields();
    assert!(
        store
            .set_field(&id, fields.email, &"new@example.com".to_owned())
            .await
            .unwrap()
    );
    assert_eq!(store.incr(&id, fields.logins, 5).await.unwrap(), Some(5));
    assert!(store.clear_field(&id, fields.name).await.unwrap());
    let ttl = ttl_ms(store.ttl::<User>(&id).await.unwrap());
    assert!(ttl <= 100_000 && ttl > 90_000, "{ttl}");

    // Clearing and refreshing are explicit.
    assert!(store.persist::<User>(&id).await.unwrap());
    assert_eq!(store.ttl::<User>(&id).await.unwrap(), Expiry::Never);
    assert!(store.refresh_ttl::<User>(&id).await.unwrap());
    assert!(ttl_ms(store.ttl::<User>(&id).await.unwrap()) > thirty_days - 60_000);

    // A full save re-applies the model TTL, replacing an explicit one.
    store
        .expire::<User>(&id, Duration::from_secs(10))
        .await
        .unwrap();
    store.save(&user).await.unwrap();
    assert!(ttl_ms(store.ttl::<User>(&id).await.unwrap()) > thirty_days - 60_000);

    // A per-call override.
    store
        .save_with_ttl(&user, Some(Duration::from_secs(50)))
        .await
        .unwrap();
    assert!(ttl_ms(store.ttl::<User>(&id).await.unwrap()) <= 50_000);
    store.save_with_ttl(&user, None).await.unwrap();
    assert_eq!(store.ttl::<User>(&id).await.unwrap(), Expiry::Never);

    assert!(store.delete::<User>(&id).await.unwrap());
    assert_eq!(store.ttl::<User>(&id).await.unwrap(), Expiry::Missing);
    assert!(
        !store
            .expire::<User>(&id, Duration::from_secs(5))
            .await
            .unwrap()
    );
    assert!(!store.refresh_ttl::<User>(&id).await.unwrap());
}
}

on_both! {
async fn invalid_ttls_are_refused_before_anything_is_sent() {
    let (_server, store) = start("").await;
    let user = User::sample("acme", 9);
    let id = user.key_id();
    store.save(&user).await.unwrap();
    let before = store.ttl::<User>(&id).await.unwrap();
    let mut changed = user.clone();
    changed.email = "changed@example.com".into();
    for ttl in [
        Duration::ZERO,
        Duration::from_secs(u64::MAX),
        Duration::from_millis(i64::MAX as u64 - 1000),
    ] {
        let err = store.save_with_ttl(&changed, Some(ttl)).await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidTtl {
                    operation: "save",
                    model: "User",
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(err.outcome(), redis_runtime::Outcome::NotApplied);
        let err = store.expire::<User>(&id, ttl).await.unwrap_err();
        assert!(matches!(err, Error::InvalidTtl { .. }), "{err}");
    }
    // The entity and its TTL are as they were.
    assert_eq!(store.get::<User>(&id).await.unwrap(), Some(user));
    let after = store.ttl::<User>(&id).await.unwrap();
    assert!(ttl_ms(after) <= ttl_ms(before), "{before:?} {after:?}");
    // The longest accepted TTL, and a sub-millisecond one, are applied.
    store
        .save_with_ttl(&changed, Some(Duration::from_millis(i64::MAX as u64 / 2)))
        .await
        .unwrap();
    assert!(
        store
            .expire::<User>(&id, Duration::from_micros(1))
            .await
            .unwrap()
    );
}
}

/// An `Option` under another name: whether a field may be absent is the
/// type's business (`HashValue`), not its spelling.
type Maybe<T> = Option<T>;

#[derive(Debug, Clone, PartialEq, RedisModel)]
#[redis(key = "aliased:{id}")]
struct Aliased {
    id: u64,
    nick: Maybe<String>,
    other: String,
}

#[derive(Debug, Clone, PartialEq, RedisModel)]
#[redis(key = "settings")]
struct Settings {
    motd: Maybe<String>,
}

on_both! {
async fn optional_fields_round_trip_whatever_their_type_is_called() {
    let server = TestRedis::start();
    let store = server.store().await;
    let mut model = Aliased {
        id: 1,
        nick: None,
        other: "x".into(),
    };
    store.save(&model).await.unwrap();
    assert_eq!(store.get::<Aliased>(&1).await.unwrap(), Some(model.clone()));

    let nick = Aliased::fields().nick;
    assert!(store.set_field(&1, nick, &Some("n".into())).await.unwrap());
    model.nick = Some("n".into());
    assert_eq!(store.get::<Aliased>(&1).await.unwrap(), Some(model.clone()));
    // Writing `None` removes the field rather than storing an empty string.
    assert!(store.set_field(&1, nick, &None).await.unwrap());
    model.nick = None;
    assert_eq!(store.get::<Aliased>(&1).await.unwrap(), Some(model));
    assert_eq!(store.get_field(&1, nick).await.unwrap(), None);

    // With no placeholder and every field absent there is nothing to store:
    // a typed error, and what was stored stays.
    let motd = Settings {
        motd: Some("hello".into()),
    };
    store.save(&motd).await.unwrap();
    let err = store.save(&Settings { motd: None }).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Encode {
                model: "Settings",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("empty hash"), "{err}");
    assert_eq!(store.get::<Settings>(&()).await.unwrap(), Some(motd));
}
}

on_both! {
async fn models_without_ttl_never_expire_and_refresh_means_persist() {
    let (_server, store) = start("").await;
    let event = Event {
        stream: "orders".into(),
        seq: 1,
        kind: "created".into(),
        payload: vec![0, 1, 2, 255],
    };
    let id = event.id();
    store.save(&event).await.unwrap();
    assert_eq!(store.ttl::<Event>(&id).await.unwrap(), Expiry::Never);
    store
        .expire::<Event>(&id, Duration::from_secs(30))
        .await
        .unwrap();
    assert!(store.refresh_ttl::<Event>(&id).await.unwrap());
    assert_eq!(store.ttl::<Event>(&id).await.unwrap(), Expiry::Never);
}
}

on_both! {
async fn partial_reads_and_writes_are_typed() {
    let (_server, store) = start("").await;
    let user = User::sample("acme", 5);
    let id = user.key_id();
    let f = User::fields();
    // Nothing is created for a missing entity.
    assert!(
        !store
            .set_field(&id, f.email, &"x".to_owned())
            .await
            .unwrap()
    );
    assert_eq!(store.incr(&id, f.logins, 1).await.unwrap(), None);
    assert!(!store.clear_field(&id, f.name).await.unwrap());
    assert!(!store.exists::<User>(&id).await.unwrap());
    assert_eq!(store.get_field(&id, f.email).await.unwrap(), None);

    store.save(&user).await.unwrap();
    assert_eq!(
        store.get_field(&id, f.email).await.unwrap(),
        Some(user.email.clone())
    );
    assert_eq!(store.get_field(&id, f.name).await.unwrap(), user.name);
    assert_eq!(
        store.get_field(&id, f.prefs).await.unwrap(),
        Some(user.prefs.clone())
    );
    let prefs = Prefs {
        theme: "light".into(),
        langs: vec![],
    };
    assert!(store.set_field(&id, f.prefs, &prefs).await.unwrap());
    assert!(
        store
            .set_field(&id, f.name, &"Ada".to_owned())
            .await
            .unwrap()
    );
    assert!(store.clear_field(&id, f.name).await.unwrap());
    assert_eq!(store.get_field(&id, f.name).await.unwrap(), None);
    assert_eq!(store.incr(&id, f.logins, 41).await.unwrap(), Some(41));
    assert_eq!(store.incr(&id, f.logins, -1).await.unwrap(), Some(40));

    let read = store.get::<User>(&id).await.unwrap().unwrap();
    assert_eq!(read.prefs, prefs);
    assert_eq!(read.name, None);
    assert_eq!(read.logins, 40);
}
}

on_both! {
async fn increments_respect_the_rust_type_and_are_atomic() {
    let (_server, store) = start("").await;
    let counter = Counter {
        name: "c".into(),
        small: 250,
        signed: -32_000,
        big: 0,
    };
    store.save(&counter).await.unwrap();
    let f = Counter::fields();
    let id = "c".to_owned();
    assert_eq!(store.incr(&id, f.small, 5).await.unwrap(), Some(255));
    let err = store.incr(&id, f.small, 1).await.unwrap_err();
    assert!(matches!(err, Error::Server { .. }), "{err}");
    assert!(err.to_string().contains("outside the range"), "{err}");
    assert_eq!(store.get_field(&id, f.small).await.unwrap(), Some(255));
    assert!(store.incr(&id, f.signed, -1000).await.is_err());
    assert_eq!(store.get_field(&id, f.signed).await.unwrap(), Some(-32_000));
    let err = store.incr(&id, f.big, i64::MAX).await;
    assert_eq!(err.unwrap(), i64::MAX.into());
    assert!(
        store.incr(&id, f.big, 1).await.is_err(),
        "i64 overflow is refused"
    );

    // 8 tasks x 100 increments on one shared handle lose nothing.
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            let id = id.clone();
            tokio::spawn(async move {
                for _ in 0..100 {
                    store.incr(&id, Counter::fields().signed, 1).await.unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(store.get_field(&id, f.signed).await.unwrap(), Some(-31_200));
}
}

on_both! {
async fn json_and_msgpack_models_round_trip() {
    let (server, store) = start("").await;
    let mut raw = server.raw_connection().await.unwrap();
    let session = Session {
        token: "t:1*".into(),
        user: 9,
        scopes: vec!["read".into()],
    };
    store.save(&session).await.unwrap();
    assert_eq!(
        store.get::<Session>(&session.token).await.unwrap(),
        Some(session.clone())
    );
    let key = store.key::<Session>(&session.token).unwrap();
    assert_eq!(key.to_string(), "session:t%3A1%2A");
    let stored: String = raw!(&mut raw, "GET", &key);
    assert_eq!(stored, r#"{"token":"t:1*","user":9,"scopes":["read"]}"#);
    assert!(ttl_ms(store.ttl::<Session>(&session.token).await.unwrap()) <= 1_800_000);

    let event = Event {
        stream: "s".into(),
        seq: 7,
        kind: "k".into(),
        payload: b"\x00\xff".to_vec(),
    };
    store.save(&event).await.unwrap();
    assert_eq!(
        store.get::<Event>(&event.id()).await.unwrap(),
        Some(event.clone())
    );
    let kind: String = raw!(&mut raw, "TYPE", store.key::<Event>(&event.id()).unwrap());
    assert_eq!(kind, "string");
    assert!(store.delete::<Event>(&event.id()).await.unwrap());
}
}

on_both! {
async fn hash_field_attributes_apply() {
    let (server, store) = start("").await;
    let mut raw = server.raw_connection().await.unwrap();
    let profile = Profile {
        id: uuid::Uuid::new_v4(),
        name: "Grace".into(),
        visits: 3,
        level: 7,
        score: 0.1 + 0.2,
        active: true,
        tags: Some(vec!["a".into()]),
        cached: vec!["not stored".into()],
    };
    store.save(&profile).await.unwrap();
    let key = store.key::<Profile>(&profile.id).unwrap();
    let fields: Vec<(String, String)> = raw!(&mut raw, "HGETALL", &key);
    let map: std::collections::BTreeMap<_, _> = fields.into_iter().collect();
    assert_eq!(map["display_name"], "Grace");
    assert_eq!(map["active"], "1");
    assert_eq!(map["score"], "0.30000000000000004");
    assert_eq!(map["tags"], r#"["a"]"#);
    assert!(!map.contains_key("cached") && !map.contains_key("name"));

    let read = store.get::<Profile>(&profile.id).await.unwrap().unwrap();
    assert_eq!(
        read.cached,
        Vec::<String>::new(),
        "skipped fields read as Default"
    );
    assert_eq!(
        Profile {
            cached: vec![],
            ..profile.clone()
        },
        read
    );

    // `default`: a record without the field reads as Default; `Option` json: absent is None.
    let _: () = raw!(&mut raw, "HDEL", &key, "visits", "tags");
    let read = store.get::<Profile>(&profile.id).await.unwrap().unwrap();
    assert_eq!((read.visits, read.tags), (0, None));
    assert!(
        store
            .clear_field(&profile.id, Profile::fields().visits)
            .await
            .unwrap()
    );
}
}

on_both! {
async fn batches_take_one_round_trip_each() {
    let (server, store) = start("batch").await;
    let mut raw = server.raw_connection().await.unwrap();
    let users: Vec<User> = (0..100).map(|i| User::sample("acme", 1000 + i)).collect();
    let ids: Vec<UserId> = users.iter().map(User::key_id).collect();

    let reads_before = stat(&mut raw, "total_reads_processed").await;
    store.save_many(&users).await.unwrap();
    let reads = stat(&mut raw, "total_reads_processed").await - reads_before;
    // One read for the batch (one family: one slot, one node), one for the
    // second INFO on every node; large batches may span a few reads.
    let info_reads = server.nodes_answering_info();
    assert!(reads <= 3 + info_reads, "save_many took {reads} reads");

    let mut wanted = ids.clone();
    wanted.insert(
        50,
        UserId {
            tenant: TenantId("acme".into()),
            id: 9,
        },
    );
    let got = store.get_many::<User>(&wanted).await.unwrap();
    assert_eq!(got.len(), 101);
    assert_eq!(got[50], None);
    assert_eq!(got[0].as_ref(), Some(&users[0]));
    assert_eq!(got[100].as_ref(), Some(&users[99]));

    let sessions: Vec<Session> = (0..20)
        .map(|i| Session {
            token: format!("s{i}"),
            user: i,
            scopes: vec![],
        })
        .collect();
    store.save_many(&sessions).await.unwrap();
    let tokens: Vec<String> = sessions
        .iter()
        .map(|s| s.token.clone())
        .chain(["none".into()])
        .collect();
    let got = store.get_many::<Session>(&tokens).await.unwrap();
    assert_eq!(got.iter().flatten().count(), 20);
    assert!(ttl_ms(store.ttl::<Session>(&tokens[3]).await.unwrap()) > 0);

    assert_eq!(store.delete_many::<User>(&ids[..10]).await.unwrap(), 10);
    assert_eq!(store.delete_many::<User>(&ids[..10]).await.unwrap(), 0);
    assert_eq!(store.count::<User>().await.unwrap(), 90);
    assert!(store.get_many::<User>(&[]).await.unwrap().is_empty());
    store.save_many::<User>(&[]).await.unwrap();
    assert_eq!(store.delete_many::<User>(&[]).await.unwrap(), 0);
}
}

on_both! {
async fn save_get_and_batch_get_send_exactly_the_hand_written_commands() {
    let (server, store) = start("").await;
    let mut raw = server.raw_connection().await.unwrap();
    let users: Vec<User> = (0..16).map(|i| User::sample("t", i)).collect();
    let ids: Vec<UserId> = users.iter().map(User::key_id).collect();

    let delta = |before: &std::collections::BTreeMap<String, u64>,
                 after: &std::collections::BTreeMap<String, u64>| {
        after
            .iter()
            .filter_map(|(k, v)| {
                let d = v - before.get(k).copied().unwrap_or(0);
                (d > 0 && k != "info").then(|| (k.clone(), d))
            })
            .collect::<Vec<_>>()
    };

    let before = command_calls(&mut raw).await;
    store.save(&users[0]).await.unwrap();
    let after = command_calls(&mut raw).await;
    assert_eq!(
        delta(&before, &after),
        [
            ("del", 1),
            ("exec", 1),
            ("hset", 1),
            ("multi", 1),
            ("pexpire", 1)
        ]
        .map(|(k, v)| (k.to_owned(), v))
    );

    let before = command_calls(&mut raw).await;
    store.get::<User>(&ids[0]).await.unwrap().unwrap();
    let after = command_calls(&mut raw).await;
    assert_eq!(delta(&before, &after), vec![("hgetall".to_owned(), 1)]);

    store.save_many(&users).await.unwrap();
    let before = command_calls(&mut raw).await;
    store.get_many::<User>(&ids).await.unwrap();
    let after = command_calls(&mut raw).await;
    assert_eq!(delta(&before, &after), vec![("hgetall".to_owned(), 16)]);

    let session = Session {
        token: "a".into(),
        user: 1,
        scopes: vec![],
    };
    let before = command_calls(&mut raw).await;
    store.save(&session).await.unwrap();
    store.get::<Session>(&session.token).await.unwrap();
    store
        .get_many::<Session>(&["a".to_owned(), "b".to_owned()])
        .await
        .unwrap();
    let after = command_calls(&mut raw).await;
    // On a cluster, "a" and "b" (no hash tag) live in two slots: one MGET each.
    let mgets = if server.is_cluster() { 2 } else { 1 };
    assert_eq!(
        delta(&before, &after),
        [("get", 1), ("mget", mgets), ("set", 1)].map(|(k, v)| (k.to_owned(), v))
    );
}
}

on_both! {
async fn scans_stream_only_this_models_keys() {
    let (server, store) = start("ns").await;
    let mut raw = server.raw_connection().await.unwrap();
    let users: Vec<User> = (0..1200)
        .map(|i| User::sample(if i % 2 == 0 { "a" } else { "b:*" }, i))
        .collect();
    store.save_many(&users).await.unwrap();
    // Neighbours: another model, keys outside the namespace, and look-alikes.
    store
        .save(&Counter {
            name: "x".into(),
            small: 0,
            signed: 0,
            big: 0,
        })
        .await
        .unwrap();
    for key in [
        "tenant:{a}:user:1",
        "ns:tenant:{a}:user:1:extra",
        "ns:tenant:a:user:1",
        // Not an integer: a key of some `tenant:{t}:user:x1` family, skipped.
        "ns:tenant:{a}:user:x1",
        // An integer, but beyond u64: this family's key, and corrupt.
        "ns:tenant:{a}:user:99999999999999999999",
    ] {
        let _: () = raw!(&mut raw, "SET", key, "v");
    }
    let mut seen = BTreeSet::new();
    let mut bad = 0;
    let ids = store.scan_ids::<User>();
    futures_util::pin_mut!(ids);
    while let Some(id) = ids.next().await {
        match id {
            Ok(id) => assert!(seen.insert((id.tenant.0, id.id))),
            Err(Error::Decode(e)) => {
                assert_eq!(e.model, "User");
                bad += 1;
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(bad, 1, "`user:999…` is an integer id out of u64's range");
    let expected: BTreeSet<_> = users.iter().map(|u| (u.tenant.0.clone(), u.id)).collect();
    assert_eq!(seen, expected);
    assert_eq!(store.count::<User>().await.unwrap(), 1200);
    assert_eq!(store.count::<Counter>().await.unwrap(), 1);
    assert_eq!(store.count::<Session>().await.unwrap(), 0);
}
}

on_both! {
async fn invalid_key_parts_are_rejected_before_anything_is_sent() {
    let (server, store) = start("").await;
    let mut raw = server.raw_connection().await.unwrap();
    let before = stat(&mut raw, "total_commands_processed").await;
    let empty = store.get::<Session>(&String::new()).await.unwrap_err();
    assert!(
        matches!(
            &empty,
            Error::InvalidKeyPart {
                field: "token",
                model: "Session",
                ..
            }
        ),
        "{empty}"
    );
    let long = "x".repeat(2000);
    let err = store
        .save(&Session {
            token: long.clone(),
            user: 1,
            scopes: vec![],
        })
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("more than the 1024 allowed"),
        "{err}"
    );
    assert!(
        !err.to_string().contains(&long[..50]),
        "the value is not echoed"
    );
    // 342 `:` escape to 1026 bytes.
    let escaped_long = ":".repeat(342);
    assert!(store.exists::<Session>(&escaped_long).await.is_err());
    let users = vec![User::sample("ok", 1), User::sample("", 2)];
    assert!(matches!(
        store.save_many(&users).await.unwrap_err(),
        Error::InvalidKeyPart {
            field: "tenant",
            ..
        }
    ));
    let after = stat(&mut raw, "total_commands_processed").await;
    assert_eq!(
        after - before,
        server.nodes_answering_info(),
        "only the second INFO reached the server"
    );
    assert!(
        !store.exists::<User>(&users[0].key_id()).await.unwrap(),
        "the batch was not half-applied"
    );
}
}

on_both! {
async fn namespaces_isolate_stores_on_one_server() {
    let server = TestRedis::start();
    let a = redis_runtime::Store::connect(&server.config_builder().namespace("a").build().unwrap())
        .await
        .unwrap();
    let b = redis_runtime::Store::connect(&server.config_builder().namespace("b").build().unwrap())
        .await
        .unwrap();
    let session = Session {
        token: "same".into(),
        user: 1,
        scopes: vec![],
    };
    a.save(&session).await.unwrap();
    assert_eq!(b.get::<Session>(&session.token).await.unwrap(), None);
    assert_eq!(a.count::<Session>().await.unwrap(), 1);
    assert_eq!(b.count::<Session>().await.unwrap(), 0);
    assert_eq!(
        a.key::<Session>(&session.token).unwrap().to_string(),
        "a:session:same"
    );
}
}
