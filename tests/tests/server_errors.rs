//! Errors the server answers with are classified by their code wherever they
//! come back: as the reply to a command or a script, inside a pipeline's
//! replies, or as the queueing error that aborted a `MULTI`/`EXEC`. The
//! server's state is changed with raw commands, as an operator would.

mod common;

use std::time::{Duration, Instant};

use common::*;
use redis_runtime::{Error, Outcome, ServerState, Store};

fn state_of(err: &Error) -> Option<ServerState> {
    match err {
        Error::Unavailable { state, .. } => Some(*state),
        _ => None,
    }
}

fn session(token: &str) -> Session {
    Session {
        token: token.into(),
        user: 1,
        scopes: vec!["read".into()],
    }
}

fn event(seq: u64) -> Event {
    Event {
        stream: "s".into(),
        seq,
        kind: "k".into(),
        payload: vec![1, 2, 3],
    }
}

/// A store connected as the tests' `app` user, but under a namespace its ACL
/// rule does not grant.
async fn outside_the_acl(redis: &TestRedis) -> Store {
    let config = redis
        .config_builder_as("app", APP_PASSWORD)
        .namespace("other")
        .build()
        .unwrap();
    Store::connect(&config).await.unwrap()
}

on_both! {
async fn permission_errors_are_permission_denied_inside_transactions_and_pipelines() {
    let (server, _store) = start("app").await;
    let outside = outside_the_acl(&server).await;
    let (a, b) = (User::sample("t", 1), User::sample("t", 2));
    let f = User::fields();
    let results = [
        ("save, hash (MULTI/EXEC)", outside.save(&a).await.map(drop)),
        (
            "save_many, hash (MULTI/EXEC)",
            outside.save_many(&[a.clone(), b.clone()]).await.map(drop),
        ),
        (
            "save_many, json (MULTI/EXEC)",
            outside.save_many(&[session("x")]).await.map(drop),
        ),
        ("save, json", outside.save(&session("x")).await.map(drop)),
        ("save, msgpack", outside.save(&event(1)).await.map(drop)),
        (
            "get_many, hash (pipeline)",
            outside
                .get_many::<User>(&[a.key_id(), b.key_id()])
                .await
                .map(drop),
        ),
        (
            "get_many, json (MGET)",
            outside.get_many::<Session>(&["x".into()]).await.map(drop),
        ),
        (
            "set_field (script)",
            outside
                .set_field(&a.key_id(), f.email, &"e".into())
                .await
                .map(drop),
        ),
        (
            "delete_many",
            outside.delete_many::<User>(&[a.key_id()]).await.map(drop),
        ),
    ];
    for (op, result) in results {
        let err = result.unwrap_err();
        assert!(matches!(err, Error::PermissionDenied { .. }), "{op}: {err}");
        assert_eq!(err.outcome(), Outcome::NotApplied, "{op}");
    }
}
}

on_both! {
async fn out_of_memory_is_unavailable_and_applies_nothing() {
    let (server, store) = start("app").await;
    let user = User::sample("t", 1);
    store.save(&user).await.unwrap();
    let mut admin = server.raw_connection().await.unwrap();
    let _: () = raw!(
        &mut admin,
        "CONFIG",
        "SET",
        "maxmemory-policy",
        "noeviction"
    );
    let _: () = raw!(&mut admin, "CONFIG", "SET", "maxmemory", "1");

    let mut changed = user.clone();
    changed.email = "changed@example.com".into();
    let f = User::fields();
    let results = [
        (
            "save, hash (MULTI/EXEC)",
            store.save(&changed).await.map(drop),
        ),
        (
            "save_many, hash (MULTI/EXEC)",
            store
                .save_many(std::slice::from_ref(&changed))
                .await
                .map(drop),
        ),
        ("save, json", store.save(&session("x")).await.map(drop)),
        (
            "save_many, json (MULTI/EXEC)",
            store.save_many(&[session("y")]).await.map(drop),
        ),
        (
            "incr (script)",
            store.incr(&user.key_id(), f.logins, 1).await.map(drop),
        ),
        (
            "set_field (script)",
            store
                .set_field(&user.key_id(), f.email, &"e".into())
                .await
                .map(drop),
        ),
    ];
    for (op, result) in results {
        let err = result.unwrap_err();
        assert_eq!(
            state_of(&err),
            Some(ServerState::OutOfMemory),
            "{op}: {err}"
        );
        assert_eq!(err.outcome(), Outcome::NotApplied, "{op}");
    }
    // Reads are still served, and nothing was applied.
    assert_eq!(store.get::<User>(&user.key_id()).await.unwrap(), Some(user));
    assert!(!store.exists::<Session>(&"x".into()).await.unwrap());
}
}

#[tokio::test]
async fn a_replica_refuses_writes_as_read_only_and_reads_as_master_down() {
    // One server only: a cluster node cannot be made a replica of an
    // outsider (cluster_faults.rs covers failover instead).
    let (server, store) = start("app").await;
    let user = User::sample("t", 1);
    store.save(&user).await.unwrap();
    let mut admin = server.raw_connection().await.unwrap();
    // A primary that does not exist: the server becomes a replica whose link is down.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let _: () = raw!(&mut admin, "REPLICAOF", "127.0.0.1", port);

    let results = [
        ("save, hash (MULTI/EXEC)", store.save(&user).await.map(drop)),
        ("save, json", store.save(&session("x")).await.map(drop)),
        (
            "incr (script)",
            store
                .incr(&user.key_id(), User::fields().logins, 1)
                .await
                .map(drop),
        ),
        (
            "delete",
            store.delete::<User>(&user.key_id()).await.map(drop),
        ),
    ];
    for (op, result) in results {
        let err = result.unwrap_err();
        assert_eq!(state_of(&err), Some(ServerState::ReadOnly), "{op}: {err}");
    }
    // Stale data is served by default; once that is off, reads say why not.
    assert_eq!(
        store.get::<User>(&user.key_id()).await.unwrap(),
        Some(user.clone())
    );
    let _: () = raw!(
        &mut admin,
        "CONFIG",
        "SET",
        "replica-serve-stale-data",
        "no"
    );
    for (op, result) in [
        ("get", store.get::<User>(&user.key_id()).await.map(drop)),
        (
            "get_many (pipeline)",
            store.get_many::<User>(&[user.key_id()]).await.map(drop),
        ),
    ] {
        let err = result.unwrap_err();
        assert_eq!(state_of(&err), Some(ServerState::MasterDown), "{op}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_busy_with_a_script_is_unavailable_until_the_script_is_killed() {
    let (server, store) = start("app").await;
    let user = User::sample("t", 1);
    store.save(&user).await.unwrap();
    let mut admin = server.raw_connection().await.unwrap();
    let _: () = raw!(&mut admin, "CONFIG", "SET", "busy-reply-threshold", "10");
    let mut runner = server.raw_connection().await.unwrap();
    let script = tokio::spawn(async move {
        redis::cmd("EVAL")
            .arg("while true do end")
            .arg(0)
            .query_async::<()>(&mut runner)
            .await
    });

    // Until the script has run past the threshold, reads succeed; then BUSY.
    let started = Instant::now();
    let err = loop {
        match store.get::<User>(&user.key_id()).await {
            Err(err) => break err,
            Ok(found) => assert_eq!(found.as_ref(), Some(&user)),
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the server never reported BUSY"
        );
    };
    assert_eq!(state_of(&err), Some(ServerState::Busy), "{err}");
    let err = store.save(&user).await.unwrap_err();
    assert_eq!(state_of(&err), Some(ServerState::Busy), "{err}");

    let _: () = raw!(&mut admin, "SCRIPT", "KILL");
    assert!(script.await.unwrap().is_err());
    assert_eq!(store.get::<User>(&user.key_id()).await.unwrap(), Some(user));
}
