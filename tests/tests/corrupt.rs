//! Stored data that does not decode gives a typed error naming the model, key
//! template and field, and never a panic. The bad data is written with raw
//! commands, as another program (or an older version) would.

mod common;

use common::*;
use redis_runtime::{DecodeError, DecodeErrorKind, Error, Store};

async fn raw_hset(raw: &mut Admin, key: &redis_runtime::key::RenderedKey, pairs: &[(&str, &[u8])]) {
    let mut cmd = redis::cmd("HSET");
    cmd.arg(key);
    for (field, value) in pairs {
        cmd.arg(*field).arg(*value);
    }
    let _: () = cmd.query_async(raw).await.unwrap();
}

async fn user_with(
    store: &Store,
    raw: &mut Admin,
    id: u64,
    field: &str,
    value: &[u8],
) -> Result<Option<User>, Error> {
    let user = User::sample("t", id);
    store.save(&user).await.unwrap();
    let key = store.key::<User>(&user.key_id()).unwrap();
    raw_hset(raw, &key, &[(field, value)]).await;
    store.get::<User>(&user.key_id()).await
}

fn decode_error(result: Result<Option<impl std::fmt::Debug>, Error>) -> DecodeError {
    match result {
        Err(Error::Decode(e)) => e,
        other => panic!("expected a decode error, got {other:?}"),
    }
}

on_both! {
async fn bad_hash_values_name_the_model_template_and_field() {
    let (server, store) = start("").await;
    let mut raw = server.raw_connection().await.unwrap();

    let e = decode_error(user_with(&store, &mut raw, 1, "logins", b"twelve").await);
    assert_eq!(
        (e.model, e.key_template, e.field),
        ("User", "tenant:{tenant}:user:{id}", Some("logins"))
    );
    assert_eq!(
        e.kind,
        DecodeErrorKind::InvalidValue {
            expected: "an integer (i64)"
        }
    );
    let msg = e.to_string();
    assert!(
        msg.contains("User")
            && msg.contains("`logins`")
            && msg.contains("tenant:{tenant}:user:{id}"),
        "{msg}"
    );
    assert!(
        !msg.contains("twelve"),
        "stored values are not echoed: {msg}"
    );

    let e = decode_error(user_with(&store, &mut raw, 2, "email", b"\xff\xfe").await);
    assert_eq!(
        (e.field, e.kind),
        (Some("email"), DecodeErrorKind::InvalidUtf8)
    );

    let e = decode_error(user_with(&store, &mut raw, 3, "prefs", br#"{"theme":"da"#).await);
    assert_eq!(e.field, Some("prefs"));
    assert!(matches!(e.kind, DecodeErrorKind::Json(_)), "{:?}", e.kind);

    let e = decode_error(user_with(&store, &mut raw, 4, "logins", b"99999999999999999999").await);
    assert_eq!(e.field, Some("logins"));

    let e = decode_error(user_with(&store, &mut raw, 5, "tenant", b"").await);
    assert!(
        matches!(
            e.kind,
            DecodeErrorKind::KeyPart {
                field: "tenant",
                ..
            }
        ),
        "{:?}",
        e.kind
    );

    // The typed partial read reports the same way.
    let err = store
        .get_field(&User::sample("t", 1).key_id(), User::fields().logins)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Decode(DecodeError {
                field: Some("logins"),
                ..
            })
        ),
        "{err}"
    );
}
}

on_both! {
async fn narrow_numbers_floats_and_bools_are_checked() {
    let (server, store) = start("").await;
    let mut raw = server.raw_connection().await.unwrap();
    let id = uuid::Uuid::new_v4();
    let key = store.key::<Profile>(&id).unwrap();
    let id_text = id.to_string();
    let good: [(&str, &[u8]); 6] = [
        ("id", id_text.as_bytes()),
        ("display_name", b"x"),
        ("level", b"1"),
        ("score", b"1.5"),
        ("active", b"0"),
        ("visits", b"2"),
    ];
    raw_hset(&mut raw, &key, &good).await;
    assert!(store.get::<Profile>(&id).await.unwrap().is_some());

    for (field, value, expected) in [
        ("level", &b"300"[..], "an integer (u8)"),
        ("level", b"-1", "an integer (u8)"),
        ("visits", b"1.0", "an integer (u32)"),
        ("score", b"1e", "a number (f64)"),
        ("active", b"yes", "a boolean (`1` or `0`)"),
    ] {
        raw_hset(&mut raw, &key, &good).await;
        raw_hset(&mut raw, &key, &[(field, value)]).await;
        let e = decode_error(store.get::<Profile>(&id).await);
        assert_eq!(e.field, Some(field));
        assert_eq!(e.kind, DecodeErrorKind::InvalidValue { expected });
    }
    // `1e400` parses as infinity and NaN as NaN: both are valid f64 values.
    raw_hset(&mut raw, &key, &good).await;
    raw_hset(&mut raw, &key, &[("score", b"1e400")]).await;
    assert_eq!(
        store.get::<Profile>(&id).await.unwrap().unwrap().score,
        f64::INFINITY
    );
}
}

on_both! {
async fn missing_and_unknown_fields() {
    let (server, store) = start("").await;
    let mut raw = server.raw_connection().await.unwrap();

    // A required field that is absent.
    let user = User::sample("t", 1);
    store.save(&user).await.unwrap();
    let key = store.key::<User>(&user.key_id()).unwrap();
    let _: () = raw!(&mut raw, "HDEL", &key, "email");
    let e = decode_error(store.get::<User>(&user.key_id()).await);
    assert_eq!(
        (e.field, &e.kind),
        (Some("email"), &DecodeErrorKind::MissingField)
    );
    assert!(
        e.to_string().contains("#[redis(default)]"),
        "the message says how to fix it"
    );

    // Unknown extra fields are ignored by default (records written by a newer schema)...
    let user = User::sample("t", 2);
    store.save(&user).await.unwrap();
    let key = store.key::<User>(&user.key_id()).unwrap();
    raw_hset(&mut raw, &key, &[("added_later", b"1")]).await;
    assert_eq!(store.get::<User>(&user.key_id()).await.unwrap(), Some(user));

    // ...and an error for models that declare `deny_unknown_fields`.
    let id = uuid::Uuid::new_v4();
    let profile = Profile {
        id,
        name: "n".into(),
        visits: 0,
        level: 0,
        score: 0.0,
        active: false,
        tags: None,
        cached: vec![],
    };
    store.save(&profile).await.unwrap();
    let key = store.key::<Profile>(&id).unwrap();
    raw_hset(&mut raw, &key, &[("surprise\r\n", b"1")]).await;
    let e = decode_error(store.get::<Profile>(&id).await);
    assert_eq!(e.kind, DecodeErrorKind::UnknownField("surprise".into()));
}
}

on_both! {
async fn whole_value_encodings_and_wrong_types() {
    let (server, store) = start("").await;
    let mut raw = server.raw_connection().await.unwrap();

    let key = store.key::<Session>(&"s".to_owned()).unwrap();
    let _: () = raw!(&mut raw, "SET", &key, r#"{"token":"s","user":1,"sco"#);
    let e = decode_error(store.get::<Session>(&"s".to_owned()).await);
    assert_eq!((e.model, e.field), ("Session", None));
    assert!(matches!(e.kind, DecodeErrorKind::Json(_)));

    let _: () = raw!(
        &mut raw,
        "SET",
        &key,
        r#"{"token":"s","user":"ada@example.com","scopes":[]}"#
    );
    // serde quotes the stored value in its message; it never reaches ours.
    let e = decode_error(store.get::<Session>(&"s".to_owned()).await);
    let DecodeErrorKind::Json(message) = &e.kind else {
        panic!("{e}")
    };
    assert!(
        message.starts_with("invalid type: string, expected u64"),
        "{e}"
    );
    assert!(!e.to_string().contains("ada@"), "{e}");

    let event_id = EventId {
        stream: "s".to_owned(),
        seq: 1,
    };
    let key = store.key::<Event>(&event_id).unwrap();
    let _: () = raw!(&mut raw, "SET", &key, &b"\xc1\x00garbage"[..]);
    assert!(matches!(
        decode_error(store.get::<Event>(&event_id).await).kind,
        DecodeErrorKind::Msgpack(_)
    ));

    // Deeply nested JSON hits serde_json's recursion limit: an error, not a stack overflow.
    let deep = "[".repeat(10_000);
    let _: () = raw!(
        &mut raw,
        "SET",
        store.key::<Session>(&"d".to_owned()).unwrap(),
        &deep
    );
    assert!(matches!(
        decode_error(store.get::<Session>(&"d".to_owned()).await).kind,
        DecodeErrorKind::Json(_)
    ));

    // A key holding another Redis type.
    let user = User::sample("t", 1);
    let key = store.key::<User>(&user.key_id()).unwrap();
    let _: () = raw!(&mut raw, "RPUSH", &key, "a");
    for err in [
        store.get::<User>(&user.key_id()).await.unwrap_err(),
        store
            .get_field(&user.key_id(), User::fields().email)
            .await
            .unwrap_err(),
        store.get_many::<User>(&[user.key_id()]).await.unwrap_err(),
    ] {
        assert!(
            matches!(err, Error::WrongType { model: "User", .. }),
            "{err}"
        );
    }
    let key = store.key::<Session>(&"h".to_owned()).unwrap();
    let _: () = raw!(&mut raw, "HSET", &key, "f", "v");
    let err = store.get::<Session>(&"h".to_owned()).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::WrongType {
                model: "Session",
                ..
            }
        ),
        "{err}"
    );
    // A full save replaces a wrong-typed key: MULTI/DEL/HSET is all or nothing.
    store.save(&user).await.unwrap();
    assert_eq!(store.get::<User>(&user.key_id()).await.unwrap(), Some(user));
}
}

on_both! {
async fn generated_from_redis_value_interoperates_with_redis_rs() {
    let (server, store) = start("").await;
    let mut raw = server.raw_connection().await.unwrap();
    let user = User::sample("t", 1);
    store.save(&user).await.unwrap();
    let key = store.key::<User>(&user.key_id()).unwrap();
    let read: User = raw!(&mut raw, "HGETALL", &key);
    assert_eq!(read, user);
    let _: () = raw!(&mut raw, "HSET", &key, "logins", "x");
    let err = redis::cmd("HGETALL")
        .arg(&key)
        .query_async::<User>(&mut raw)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("logins"), "{err}");
}
}

on_both! {
/// An entity whose stored id fields are not the ones its key says (copied,
/// or written by hand under another key) is refused: returned, it would be
/// saved back under the other key.
async fn an_entity_stored_under_another_entitys_key_is_refused() {
    let (server, store) = start("").await;
    let mut raw = server.raw_connection().await.unwrap();

    // A hash whose `id` field says 99 under the key of user 1.
    let e = decode_error(user_with(&store, &mut raw, 1, "id", b"99").await);
    assert_eq!(
        (e.model, e.field, e.kind),
        ("User", Some("id"), DecodeErrorKind::IdMismatch)
    );
    // The other placeholder of the same template.
    let e = decode_error(user_with(&store, &mut raw, 2, "tenant", b"other").await);
    assert_eq!(
        (e.field, e.kind),
        (Some("tenant"), DecodeErrorKind::IdMismatch)
    );

    // A JSON document copied to another entity's key.
    let copy = store.key::<Session>(&"copy".to_owned()).unwrap();
    let _: () = raw!(
        &mut raw,
        "SET",
        &copy,
        r#"{"token":"orig","user":1,"scopes":[]}"#
    );
    let e = decode_error(store.get::<Session>(&"copy".to_owned()).await);
    assert_eq!(
        (e.model, e.field, e.kind),
        ("Session", Some("token"), DecodeErrorKind::IdMismatch)
    );
    let err = store
        .get_many::<Session>(&["copy".to_owned()])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Decode(e) if e.kind == DecodeErrorKind::IdMismatch),
        "{err}"
    );
    // The error does not show the stored value.
    assert!(!err.to_string().contains("orig"), "{err}");
}
}
