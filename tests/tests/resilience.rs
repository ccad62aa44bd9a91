//! Server restarts, hung servers, unreachable servers, and what errors and logs reveal.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use redis_runtime::testing::RedisServer;
use redis_runtime::{Config, Error, Outcome, Store};

fn signal(pid: u32, sig: &str) {
    let status = std::process::Command::new("kill")
        .arg(sig)
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_store_works_again_after_a_restart_mid_workload() {
    let mut server = RedisServer::start().unwrap();
    let store = server.store().await.unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let errors = Arc::new(Mutex::new(Vec::new()));
    let workers: Vec<_> = (0..4u64)
        .map(|w| {
            let (store, stop, errors) = (store.clone(), stop.clone(), errors.clone());
            tokio::spawn(async move {
                let mut ops = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) && ops < 200_000 {
                    let user = User::sample("w", w * 1_000_000 + ops % 50);
                    let result = match ops % 3 {
                        0 => store.save(&user).await.map(|_| ()),
                        1 => store.get::<User>(&user.key_id()).await.map(|_| ()),
                        _ => store
                            .incr(&user.key_id(), User::fields().logins, 1)
                            .await
                            .map(|_| ()),
                    };
                    if let Err(err) = result {
                        errors.lock().unwrap().push(err);
                    }
                    ops += 1;
                }
                ops
            })
        })
        .collect();

    // Let the workload run, then kill the server under it and start it again.
    while store.count::<User>().await.unwrap() < 20 {
        tokio::task::yield_now().await;
    }
    server.restart().unwrap();
    let restarted = Instant::now();

    // Within a bounded number of attempts the same handle serves again.
    let probe = User::sample("probe", 1);
    let mut attempts = 0;
    loop {
        attempts += 1;
        match store.save(&probe).await {
            Ok(()) => break,
            Err(err) => {
                assert!(
                    err.is_connection(),
                    "only connection errors while reconnecting: {err}"
                );
                assert!(
                    attempts < 50,
                    "no recovery after {attempts} attempts: {err}"
                );
            }
        }
    }
    let recovery = restarted.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut total = 0;
    for w in workers {
        total += w.await.unwrap();
    }
    assert_eq!(
        store.get::<User>(&probe.key_id()).await.unwrap(),
        Some(probe)
    );
    for err in errors.lock().unwrap().iter() {
        assert!(
            err.is_connection(),
            "unexpected error kind during the restart: {err}"
        );
        assert_ne!(err.to_string(), "", "errors explain themselves");
    }
    println!(
        "{total} ops, {} errors during the restart, recovered in {recovery:?} after {attempts} attempts",
        errors.lock().unwrap().len()
    );
}

#[tokio::test]
async fn an_increment_is_never_retried_and_says_its_outcome() {
    let mut server = RedisServer::start().unwrap();
    let store = server.store().await.unwrap();
    let counter = Counter {
        name: "c".into(),
        small: 0,
        signed: 0,
        big: 0,
    };
    store.save(&counter).await.unwrap();
    server.stop();
    let err = store
        .incr(&"c".to_owned(), Counter::fields().big, 1)
        .await
        .unwrap_err();
    assert!(err.is_connection(), "{err}");
    assert!(matches!(
        err.outcome(),
        Outcome::Unknown | Outcome::NotApplied
    ));
    assert!(err.to_string().contains("incr"), "{err}");
    server.restart().unwrap();
    // The server came back empty (`--save ""`): nothing was applied twice behind our back.
    let mut result = store.incr(&"c".to_owned(), Counter::fields().big, 1).await;
    for _ in 0..50 {
        match &result {
            Err(e) if e.is_connection() => {
                result = store.incr(&"c".to_owned(), Counter::fields().big, 1).await
            }
            _ => break,
        }
    }
    assert_eq!(
        result.unwrap(),
        None,
        "the counter is gone with the restarted server"
    );
}

#[tokio::test]
async fn a_hung_server_times_out_with_an_unknown_outcome() {
    let server = RedisServer::start().unwrap();
    let config = server
        .config_builder()
        .response_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let store = Store::connect(&config).await.unwrap();
    let counter = Counter {
        name: "c".into(),
        small: 0,
        signed: 0,
        big: 0,
    };
    store.save(&counter).await.unwrap();

    signal(server.pid(), "-STOP");
    let started = Instant::now();
    let err = store
        .incr(&"c".to_owned(), Counter::fields().big, 1)
        .await
        .unwrap_err();
    let waited = started.elapsed();
    signal(server.pid(), "-CONT");

    assert!(
        matches!(
            err,
            Error::Timeout {
                outcome: Outcome::Unknown,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
    // After the pause, replies still match their requests.
    for i in 0..200u64 {
        let user = User::sample("m", i);
        store.save(&user).await.unwrap();
        assert_eq!(store.get::<User>(&user.key_id()).await.unwrap(), Some(user));
    }
}

#[tokio::test]
async fn a_timed_out_write_is_not_sent_again() {
    let server = RedisServer::start().unwrap();
    let config = server
        .config_builder()
        .response_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let store = Store::connect(&config).await.unwrap();
    let mut admin = server.raw_connection().await.unwrap();
    let counter = Counter {
        name: "c".into(),
        small: 0,
        signed: 0,
        big: 0,
    };
    store.save(&counter).await.unwrap();
    let dels_before = command_calls(&mut admin).await.get("del").copied();

    signal(server.pid(), "-STOP");
    let err = store.delete::<Counter>(&"c".to_owned()).await.unwrap_err();
    signal(server.pid(), "-CONT");
    assert!(
        matches!(
            err,
            Error::Timeout {
                outcome: Outcome::Unknown,
                ..
            }
        ),
        "{err}"
    );
    // Later requests on the same connection run after the timed-out one, so
    // once this answers, every DEL that was sent has run.
    assert!(!store.exists::<Counter>(&"c".to_owned()).await.unwrap());
    let dels = command_calls(&mut admin).await["del"] - dels_before.unwrap_or(0);
    assert_eq!(dels, 1, "the DEL was sent {dels} times");
}

#[tokio::test]
async fn an_unreachable_server_fails_within_the_connect_timeout() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let config = Config::builder()
        .url(format!("redis://app:S3NTINEL-PW@127.0.0.1:{port}"))
        .connect_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let started = Instant::now();
    let err = Store::connect(&config).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(err.is_connection(), "{err}");
    assert_eq!(err.outcome(), Outcome::NotApplied);
    for text in [
        err.to_string(),
        format!("{err:?}"),
        config.to_string(),
        format!("{config:?}"),
    ] {
        assert!(!text.contains("S3NTINEL-PW"), "{text}");
    }
}
