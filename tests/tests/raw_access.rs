//! The escape hatch: raw commands over the store's own connection, with keys
//! from the one renderer. (The audit counts every use; this file is on its
//! allowlist because checking the hatch is its job.)

mod common;

use common::*;
use redis_runtime::{Error, KeyPartError, Outcome, redis};

on_both! {
async fn raw_commands_share_the_connection_the_namespace_and_the_escaping() {
    let (server, store) = start("app").await;
    let raw = store.raw_access();

    // A key of a declared model, exactly as typed operations render it.
    let user = User::sample("a:b*{c}", 7);
    store.save(&user).await.unwrap();
    let key = raw.key::<User>(&user.key_id()).unwrap();
    assert_eq!(key, store.key::<User>(&user.key_id()).unwrap());
    let email: String = raw
        .query(redis::cmd("HGET").arg(&key).arg("email"))
        .await
        .unwrap();
    assert_eq!(email, user.email);

    // A composed key: namespace, checked literals, escaped and tagged parts.
    let tenant = TenantId("a:b*{c}".into());
    let composed = raw
        .compose_key()
        .literal("tenant")
        .tagged_part(&tenant)
        .literal("user")
        .part(&7u64)
        .finish()
        .unwrap();
    assert_eq!(composed, key, "the same renderer as the model's template");
    let room = raw
        .compose_key()
        .literal("room")
        .part(&"r 1:*".to_owned())
        .literal("members")
        .finish()
        .unwrap();
    assert_eq!(room.to_string(), "app:room:r%201%3A%2A:members");

    // Pipelines and transactions in one round trip.
    let mut pipe = redis::pipe();
    pipe.atomic()
        .hset(&key, "name", "Ada")
        .ignore()
        .hget(&key, "name");
    let (name,): (String,) = raw.query_pipeline(&pipe).await.unwrap();
    assert_eq!(name, "Ada");
    drop(server);
}
}

on_both! {
async fn composed_keys_refuse_what_templates_refuse() {
    let (_server, store) = start("app").await;
    let raw = store.raw_access();
    for (builder, reason) in [
        (raw.compose_key().literal("a b"), "literal"),
        (raw.compose_key().literal("a:b"), "literal"),
        (
            raw.compose_key().literal("room").part(&String::new()),
            "empty",
        ),
        (raw.compose_key().part(&"x".repeat(2000)), "too long"),
        (raw.compose_key(), "empty"),
    ] {
        match builder.finish() {
            Err(Error::InvalidKeyPart { reason: got, .. }) => match reason {
                "empty" => assert_eq!(got, KeyPartError::Empty),
                "too long" => assert!(matches!(got, KeyPartError::TooLong { .. })),
                _ => assert!(matches!(got, KeyPartError::Unparsable { .. })),
            },
            other => panic!("{reason}: {other:?}"),
        }
    }
}
}

on_both! {
async fn raw_errors_are_typed_like_the_typed_operations() {
    let (_server, store) = start("app").await;
    let raw = store.raw_access();
    // The ACL rule grants only the declared families and commands.
    let outside = raw.compose_key().literal("elsewhere").finish().unwrap();
    let err = raw
        .query::<()>(redis::cmd("SET").arg(&outside).arg(1))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::PermissionDenied { .. }), "{err}");
    let err = raw.query::<()>(&redis::cmd("FLUSHALL")).await.unwrap_err();
    assert!(matches!(err, Error::PermissionDenied { .. }), "{err}");
}
}

on_both! {
/// A server that refuses one command of a raw pipeline still ran the others:
/// the error says the outcome is unknown. A transaction the server aborts at
/// `EXEC` applied nothing, and says so.
async fn a_refused_command_in_a_raw_pipeline_does_not_claim_nothing_was_applied() {
    let (_server, store) = start("app").await;
    let raw = store.raw_access();
    // One hash tag, so that on a cluster the pipeline stays in one slot.
    let allowed = raw
        .compose_key()
        .literal("session")
        .tagged_part(&"x".to_owned())
        .finish()
        .unwrap();
    let outside = raw
        .compose_key()
        .literal("elsewhere")
        .tagged_part(&"x".to_owned())
        .finish()
        .unwrap();

    let mut pipe = redis::pipe();
    pipe.cmd("SET").arg(&allowed).arg("1").ignore();
    pipe.cmd("SET").arg(&outside).arg("1").ignore();
    let err = raw.query_pipeline::<()>(&pipe).await.unwrap_err();
    assert!(matches!(err, Error::PermissionDenied { .. }), "{err}");
    assert_eq!(err.outcome(), Outcome::Unknown, "{err}");
    let applied: u64 = raw.query(redis::cmd("EXISTS").arg(&allowed)).await.unwrap();
    assert_eq!(applied, 1, "the allowed SET ran");

    let _: u64 = raw.query(redis::cmd("DEL").arg(&allowed)).await.unwrap();
    pipe.atomic();
    let err = raw.query_pipeline::<()>(&pipe).await.unwrap_err();
    assert!(matches!(err, Error::PermissionDenied { .. }), "{err}");
    assert_eq!(err.outcome(), Outcome::NotApplied, "{err}");
    let applied: u64 = raw.query(redis::cmd("EXISTS").arg(&allowed)).await.unwrap();
    assert_eq!(applied, 0, "the aborted transaction applied nothing");
}
}
