//! The slow-operation log line: WARN under `redis_runtime::slow` with the
//! model, template, operation and outcome, never an id. Alone in its test
//! binary because a scoped subscriber only sees callsites that no concurrent
//! test registered first (as `logging.rs`).

mod common;

use std::time::Duration;

use common::capture::Captured;
use common::*;
use redis_runtime::Store;
use redis_runtime::testing::RedisServer;

#[tokio::test]
async fn slow_operations_are_logged_at_warn_without_values() {
    let server = RedisServer::start().unwrap();
    let log = Captured::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _log = tracing::subscriber::set_default(subscriber);
    let id = User::sample("SECRETTENANT", 5).key_id();
    let slow_config = server
        .config_builder()
        .slow_threshold(Some(Duration::ZERO))
        .build()
        .unwrap();
    let quiet_config = server
        .config_builder()
        .slow_threshold(None)
        .build()
        .unwrap();
    let slow = Store::connect(&slow_config).await.unwrap();
    slow.get::<User>(&id).await.unwrap();
    let quiet = Store::connect(&quiet_config).await.unwrap();
    quiet.get::<User>(&id).await.unwrap();
    let text = log.text();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("slow Redis operation"))
        .collect();
    assert_eq!(lines.len(), 1, "one slow operation logged: {text}");
    let line = lines[0];
    for part in [
        "WARN",
        "redis_runtime::slow",
        "model=\"User\"",
        "operation=\"get\"",
        "outcome=\"not_found\"",
        "tenant:{tenant}:user:{id}",
    ] {
        assert!(line.contains(part), "`{part}` missing from: {line}");
    }
    assert!(!line.contains("SECRETTENANT"), "the id leaked: {line}");
}
