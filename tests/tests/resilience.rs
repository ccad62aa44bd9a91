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

/// During an outage every operation fails within the connect timeout plus the
/// response timeout (the bound `Store` documents), as a connection error that
/// names the address and says nothing was applied; it is not a timeout. The
/// same store works again as soon as the server is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn during_an_outage_every_operation_fails_within_the_configured_timeouts() {
    // Generous for a loaded CI machine: the bound is a behaviour, not a speed.
    const SLACK: Duration = Duration::from_millis(400);
    let mut server = RedisServer::builder().tcp().start().unwrap();
    let address = format!("127.0.0.1:{}", server.port().unwrap());
    for (connect_ms, response_ms) in [(200, 200), (1000, 1000), (3000, 300)] {
        let config = server
            .config_builder()
            .connect_timeout(Duration::from_millis(connect_ms))
            .response_timeout(Duration::from_millis(response_ms))
            .build()
            .unwrap();
        let bound = config.connect_timeout() + config.response_timeout() + SLACK;
        let store = Store::connect(&config).await.unwrap();
        let user = User::sample("outage", 1);
        store.save(&user).await.unwrap();
        server.stop();

        let id = user.key_id();
        let fields = User::fields();
        for round in 0..3 {
            let ops: Vec<(&str, Result<(), Error>)> = vec![
                ("get", timed(bound, store.get::<User>(&id)).await),
                ("save", timed(bound, store.save(&user)).await),
                ("exists", timed(bound, store.exists::<User>(&id)).await),
                ("delete", timed(bound, store.delete::<User>(&id)).await),
                (
                    "incr",
                    timed(bound, store.incr(&id, fields.logins, 1)).await,
                ),
                (
                    "set_field",
                    timed(bound, store.set_field(&id, fields.email, &"x".into())).await,
                ),
                (
                    "get_many",
                    timed(bound, store.get_many::<User>(std::slice::from_ref(&id))).await,
                ),
                (
                    "save_many",
                    timed(bound, store.save_many(std::slice::from_ref(&user))).await,
                ),
                ("count", timed(bound, store.count::<User>()).await),
            ];
            for (i, (op, result)) in ops.into_iter().enumerate() {
                let err = result.unwrap_err();
                let context =
                    format!("{connect_ms}/{response_ms} ms, round {round}, `{op}`: {err}");
                assert!(matches!(err, Error::Connection { .. }), "{context}");
                assert!(err.to_string().contains(&address), "{context}");
                // Only the first operation was sent on the connection that
                // broke; every later one found no connection and sent nothing.
                if round > 0 || i > 0 {
                    assert_eq!(err.outcome(), Outcome::NotApplied, "{context}");
                }
            }
        }

        server.restart().unwrap();
        // The first operation after the server is back succeeds.
        assert_eq!(store.get::<User>(&id).await.unwrap(), None);
        store.save(&user).await.unwrap();
        assert_eq!(store.get::<User>(&id).await.unwrap(), Some(user));
    }
}

/// Runs `op`, asserting it returned within `bound`; keeps only its error.
async fn timed<T>(
    bound: Duration,
    op: impl Future<Output = Result<T, Error>>,
) -> Result<(), Error> {
    let started = Instant::now();
    let result = op.await;
    let took = started.elapsed();
    assert!(took <= bound, "took {took:?}, more than {bound:?}");
    result.map(|_| ())
}

/// A server that restarts while the store is idle: the store notices the
/// closed connection and reconnects in the background, so the first call
/// afterwards, even one that is never sent twice (an increment, a delete, a
/// TTL change), finds a live connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_never_sent_twice_work_as_soon_as_the_server_is_back() {
    for tcp in [false, true] {
        let builder = RedisServer::builder();
        let mut server = if tcp { builder.tcp() } else { builder }.start().unwrap();
        let store = server.store().await.unwrap();
        let user = User::sample("back", 1);
        store.save(&user).await.unwrap();
        let id = user.key_id();

        server.restart().unwrap();
        let at = if tcp { "tcp" } else { "unix socket" };
        assert_eq!(
            store.incr(&id, User::fields().logins, 1).await.unwrap(),
            None,
            "{at}"
        );
        assert!(!store.delete::<User>(&id).await.unwrap(), "{at}");
        assert!(
            !store
                .expire::<User>(&id, Duration::from_secs(5))
                .await
                .unwrap(),
            "{at}"
        );
        assert!(!store.persist::<User>(&id).await.unwrap(), "{at}");
    }
}
