//! What `tracing` output carries: the model and key template of each operation,
//! never a password or a key's values. Alone in its test binary because a
//! scoped subscriber only sees callsites that no concurrent test registered first.

mod common;

use common::capture::Captured;
use common::*;
use redis_runtime::testing::RedisServer;
use redis_runtime::{Config, Store};

#[tokio::test]
async fn spans_carry_model_and_template_but_no_secrets_or_key_values() {
    let server = RedisServer::builder()
        .arg("--requirepass")
        .arg("S3NTINEL-PW")
        .start()
        .unwrap();
    let captured = Captured::default();
    // A plain `fmt` subscriber, as the README sets one up: no span events.
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer({
            let captured = captured.clone();
            move || captured.clone()
        })
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let socket = server.socket_path().unwrap().display().to_string();
    let wrong = Config::builder()
        .url(format!("redis+unix://{socket}?pass=WRONG-S3NTINEL"))
        .build()
        .unwrap();
    let err = Store::connect(&wrong).await.unwrap_err();
    assert!(!err.to_string().contains("WRONG-S3NTINEL"), "{err}");

    let config = Config::builder()
        .url(format!("redis+unix://{socket}?pass=S3NTINEL-PW"))
        .build()
        .unwrap();
    let store = Store::connect(&config).await.unwrap();
    let mut user = User::sample("pii@example.com", 7);
    user.email = "pii@example.com".into();
    store.save(&user).await.unwrap();
    store.get::<User>(&user.key_id()).await.unwrap();
    let _ = store
        .get::<User>(&User::sample("", 1).key_id())
        .await
        .unwrap_err();

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("model=\"User\""), "{log}");
    assert!(
        log.contains("key_template=\"tenant:{tenant}:user:{id}\""),
        "{log}"
    );
    // Every operation shows as one line with its outcome and duration.
    for (operation, outcome) in [("save", ": ok"), ("get", ": ok")] {
        assert!(
            log.lines()
                .any(|line| line.contains(&format!("operation=\"{operation}\""))
                    && line.contains(outcome)
                    && line.contains("elapsed=")),
            "no `{operation}` line with `{outcome}` and its duration:\n{log}"
        );
    }
    for secret in ["S3NTINEL-PW", "WRONG-S3NTINEL", "pii@example.com"] {
        assert!(
            !log.contains(secret),
            "`{secret}` leaked into the log:\n{log}"
        );
    }
    for text in [format!("{config:?}"), config.to_string()] {
        assert!(!text.contains("S3NTINEL-PW"), "{text}");
    }
}
