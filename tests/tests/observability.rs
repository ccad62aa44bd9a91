//! What docs/METRICS.md promises: every operation of every kind recorded
//! once, under the documented names, types and labels, with no key, id or
//! value in any label; the error paths (a stopped server, a wrong-type key,
//! a corrupt value, an invalid TTL), retries, connection events and slow
//! operations counted; and `Store::health` on a live, a stopped and a
//! replica server, and on a cluster.
//!
//! Each test records with its own `metrics_util` debugging recorder,
//! installed for the test's thread (the tests run on a current-thread
//! runtime, so the store's own tasks record into it too).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::time::{Duration, Instant};

use common::every::*;
use common::proxy::Proxy;
use common::*;
use metrics_util::MetricKind;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use redis_runtime::testing::RedisServer;
use redis_runtime::{Error, Role, Store};

// ---------------------------------------------------------------------------
// recording

/// One metric as recorded: its labels, and its count (counters), or its
/// samples (histograms).
#[derive(Debug, Clone)]
struct Recorded {
    kind: MetricKind,
    name: String,
    labels: BTreeMap<String, String>,
    count: u64,
    samples: Vec<f64>,
}

/// Runs `fut` with a recorder of its own; returns its output and what was
/// recorded.
async fn recording<F: Future>(fut: F) -> (F::Output, Vec<Recorded>) {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let output = {
        let _guard = metrics::set_default_local_recorder(&recorder);
        fut.await
    };
    let recorded = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _unit, _description, value)| {
            let (kind, key) = key.into_parts();
            let (name, labels) = key.into_parts();
            let (count, samples) = match value {
                DebugValue::Counter(n) => (n, Vec::new()),
                DebugValue::Histogram(values) => (
                    values.len() as u64,
                    values.into_iter().map(|v| v.into_inner()).collect(),
                ),
                DebugValue::Gauge(v) => (v.into_inner() as u64, Vec::new()),
            };
            Recorded {
                kind,
                name: name.as_str().to_owned(),
                labels: labels
                    .into_iter()
                    .map(|l| (l.key().to_owned(), l.value().to_owned()))
                    .collect(),
                count,
                samples,
            }
        })
        .collect();
    (output, recorded)
}

/// The total count of metric `name` over the entries whose labels include
/// every pair of `with`.
fn count(recorded: &[Recorded], name: &str, with: &[(&str, &str)]) -> u64 {
    recorded
        .iter()
        .filter(|r| r.name == name)
        .filter(|r| {
            with.iter()
                .all(|(k, v)| r.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|r| r.count)
        .sum()
}

/// The documented table of docs/METRICS.md: name -> (type, label keys).
fn documented() -> BTreeMap<String, (String, BTreeSet<String>)> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/METRICS.md"))
        .expect("docs/METRICS.md");
    let mut table = BTreeMap::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // | `name` | type | unit | labels | what |
        if cells.len() < 6 || !cells[1].starts_with("`redis_runtime_") {
            continue;
        }
        let name = cells[1].trim_matches('`').to_owned();
        let labels = cells[4]
            .split(',')
            .map(|l| l.trim().trim_matches('`').to_owned())
            .collect();
        table.insert(name, (cells[2].to_owned(), labels));
    }
    assert!(table.len() >= 10, "the table was not parsed: {table:?}");
    table
}

/// Every recorded metric is in the table, with its type and exactly its
/// label keys; and no label value contains any of `secrets`.
fn assert_documented(recorded: &[Recorded], secrets: &[&str]) {
    let table = documented();
    for r in recorded {
        let Some((kind, labels)) = table.get(&r.name) else {
            panic!(
                "`{}` is recorded but not documented in docs/METRICS.md",
                r.name
            );
        };
        let expected_kind = match r.kind {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
        };
        assert_eq!(kind, expected_kind, "the type of `{}`", r.name);
        let keys: BTreeSet<String> = r.labels.keys().cloned().collect();
        assert_eq!(&keys, labels, "the labels of `{}`", r.name);
        for (key, value) in &r.labels {
            for secret in secrets {
                assert!(
                    !value.contains(secret),
                    "label `{key}` of `{}` leaks `{secret}`: {value:?}",
                    r.name
                );
            }
        }
    }
}

const DURATION: &str = "redis_runtime_operation_duration_seconds";
const ERRORS: &str = "redis_runtime_operation_errors_total";

// ---------------------------------------------------------------------------
// every operation

on_both! {
/// Every operation of every kind is recorded, once each, under documented
/// names and labels; in a run with no faults every outcome is `ok` or
/// `not_found` and nothing counts as an error.
async fn every_operation_is_recorded_as_documented() {
    let (_redis, store) = start("app").await;
    let ((), recorded) = recording(async {
        every_operation(&store).await;
        every_collection_operation(&store).await;
        every_list_operation(&store).await;
        every_lease_and_rate_limit_operation(&store).await;
        every_coordinated_operation(&store).await;
        every_stream_operation(&store).await;
    })
    .await;
    assert_documented(&recorded, &[]);
    let operations: BTreeSet<(String, String)> = recorded
        .iter()
        .filter(|r| r.name == DURATION)
        .map(|r| (r.labels["model"].clone(), r.labels["operation"].clone()))
        .collect();
    // A sample of what must be there, from every kind.
    for (model, operation) in [
        ("User", "save"),
        ("User", "get_many"),
        ("User", "insert_or_get"),
        ("Session", "get"),
        ("TeamMembers", "add"),
        ("Board", "top"),
        ("Jobs", "take"),
        ("Jobs", "ack"),
        ("Hits", "hit"),
        ("ReadMarks", "get"),
        ("History", "push_back"),
        ("RoomLock", "try_acquire"),
        ("RoomLock", "acquire"),
        ("RoomLock", "extend"),
        ("RoomLock", "release"),
        ("RoomLock", "current_fence"),
        ("SlidingLimit", "allow"),
        ("GcraLimit", "allow"),
        ("Member", "modify"),
        ("Member", "find"),
        ("Member", "repair"),
    ] {
        assert!(
            operations.contains(&(model.to_owned(), operation.to_owned())),
            "no sample of {model}::{operation}; recorded: {operations:?}"
        );
    }
    for r in recorded.iter().filter(|r| r.name == DURATION) {
        assert!(
            ["ok", "not_found"].contains(&r.labels["outcome"].as_str()),
            "a fault-free run recorded {:?}",
            r.labels
        );
        assert!(r.samples.iter().all(|s| *s >= 0.0 && *s < 10.0), "{r:?}");
    }
    assert_eq!(count(&recorded, ERRORS, &[]), 0, "errors in a fault-free run");
    // Every `kind` recorded is one docs/METRICS.md lists.
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/METRICS.md"))
        .unwrap();
    let kinds = doc.lines().find(|l| l.starts_with("| `kind` |")).expect("the kind row");
    for r in recorded.iter().filter(|r| r.name == DURATION) {
        let kind = &r.labels["kind"];
        assert!(kinds.contains(&format!("`{kind}`")), "kind `{kind}` is not in docs/METRICS.md");
    }
    // Health sends only what the ACL rule allows the `app` user.
    let health = store.health().await;
    assert!(health.up && !health.degraded(), "{health}");
    assert!(health.nodes.iter().all(|n| n.role.is_some() && n.version.is_some()), "{health}");
}
}

on_both! {
/// A known sequence records exactly its counts: one sample per call (one
/// for a `get_many` of three, split by slot on a cluster or not), its
/// outcome, its batch size; a wrong-type key, a corrupt value and an
/// invalid TTL each where the table says.
async fn a_known_sequence_records_exact_counts() {
    let (redis, store) = start("app").await;
    let mut admin = redis.raw_connection().await.unwrap();
    let users: Vec<User> = (1..=3).map(|i| User::sample(&format!("t{i}"), i)).collect();
    let ids: Vec<UserId> = users.iter().map(User::key_id).collect();
    let wrong = User::sample("wrong", 9);
    let corrupt = Session { token: "corrupt".into(), user: 1, scopes: vec![] };
    let wrong_key = store.key::<User>(&wrong.key_id()).unwrap();
    let corrupt_key = store.key::<Session>(&corrupt.token).unwrap();
    let _: () = raw!(&mut admin, "SET", wrong_key.as_bytes(), "not a hash");
    let _: () = raw!(&mut admin, "SET", corrupt_key.as_bytes(), "{not json");

    let (_, recorded) = recording(async {
        for user in &users {
            store.save(user).await.unwrap();
        }
        assert!(store.get::<User>(&ids[0]).await.unwrap().is_some());
        let missing = User::sample("t1", 99).key_id();
        assert!(store.get::<User>(&missing).await.unwrap().is_none());
        assert_eq!(store.get_many::<User>(&ids).await.unwrap().len(), 3);
        let err = store
            .incr(&wrong.key_id(), User::fields().logins, 1)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::WrongType { .. }), "{err}");
        let err = store.get::<Session>(&corrupt.token).await.unwrap_err();
        assert!(matches!(err, Error::Decode(_)), "{err}");
        let err = store.expire::<User>(&ids[0], Duration::ZERO).await.unwrap_err();
        assert!(matches!(err, Error::InvalidTtl { .. }), "{err}");
    })
    .await;
    assert_documented(&recorded, &[]);
    let user = [("model", "User"), ("kind", "hash")];
    let at = |op: &'static str, outcome: &'static str| {
        let mut with = user.to_vec();
        with.extend([("operation", op), ("outcome", outcome)]);
        count(&recorded, DURATION, &with)
    };
    assert_eq!(at("save", "ok"), 3);
    assert_eq!(at("get", "ok"), 1);
    assert_eq!(at("get", "not_found"), 1);
    assert_eq!(at("get_many", "ok"), 1, "one sample for the whole get_many");
    assert_eq!(at("incr", "wrong_type"), 1);
    assert_eq!(at("expire", "ok") + at("expire", "invalid_ttl"), 0, "nothing was sent");
    let batch: Vec<&Recorded> = recorded
        .iter()
        .filter(|r| r.name == "redis_runtime_batch_size")
        .collect();
    assert_eq!(batch.len(), 1, "{batch:?}");
    assert_eq!(batch[0].samples, vec![3.0]);
    assert_eq!(
        count(
            &recorded,
            ERRORS,
            &[("operation", "incr"), ("error", "wrong_type"), ("applied", "not_applied")]
        ),
        1
    );
    assert_eq!(count(&recorded, ERRORS, &[]), 1, "only the wrong-type incr failed at the server");
    // The corrupt session: the exchange was fine, its value was not.
    assert_eq!(
        count(&recorded, DURATION, &[("model", "Session"), ("operation", "get"), ("outcome", "ok")]),
        1
    );
    assert_eq!(
        count(
            &recorded,
            "redis_runtime_decode_failures_total",
            &[("model", "Session"), ("kind", "json"), ("reason", "json")]
        ),
        1
    );
    assert_eq!(
        count(
            &recorded,
            "redis_runtime_refused_total",
            &[("model", "User"), ("error", "invalid_ttl")]
        ),
        1
    );
}
}

/// Ids built to leak (with `:`, `{`, newlines, unicode and a marker) go
/// through every operation that takes an id; no label holds any of them.
#[tokio::test]
async fn no_label_holds_a_key_id_or_value() {
    let server = RedisServer::start().unwrap();
    let store = server.store().await.unwrap();
    const MARK: &str = "LEAKMARK";
    let tenant = format!("{MARK}:{{tag}}\n\u{e9}");
    let (_, recorded) = recording(async {
        let mut user = User::sample(&tenant, 7);
        user.email = format!("{MARK}@example.com");
        user.name = Some(MARK.into());
        let id = user.key_id();
        store.save(&user).await.unwrap();
        store.get::<User>(&id).await.unwrap();
        store
            .get_many::<User>(std::slice::from_ref(&id))
            .await
            .unwrap();
        store.get_field(&id, User::fields().email).await.unwrap();
        store
            .set_field(&id, User::fields().email, &MARK.to_owned())
            .await
            .unwrap();
        store.incr(&id, User::fields().logins, 1).await.unwrap();
        let _ = store.insert_or_get(&user).await.unwrap();
        store.ttl::<User>(&id).await.unwrap();
        store.delete::<User>(&id).await.unwrap();
        let token = format!("{MARK}-token");
        store.get::<Session>(&token).await.unwrap();
        let team = TeamMembers {
            org: TenantId(tenant.clone()),
            team: format!("{MARK}-team"),
        };
        let members = store.set::<TeamMembers>(&team);
        members.add(&77).await.unwrap();
        members.contains(&77).await.unwrap();
        // A refused id: the error names the placeholder, the metric does not
        // name the value.
        let _ = store.get::<Session>(&String::new()).await;
    })
    .await;
    assert_documented(&recorded, &[MARK, "example.com", "tag", "\u{e9}"]);
    assert!(count(&recorded, DURATION, &[]) >= 12, "{recorded:?}");
}

// ---------------------------------------------------------------------------
// faults

/// A stopped server: the operation fails with a connection error, recorded
/// with its outcome, with the failed connection attempts; once the server
/// is back the store reconnects, and the outage is one sample.
#[tokio::test]
async fn a_stopped_server_is_counted_and_its_outage_measured() {
    let mut server = RedisServer::builder().tcp().start().unwrap();
    let config = server
        .config_builder()
        .connect_timeout(Duration::from_millis(300))
        .response_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let (_, recorded) = recording(async {
        let store = Store::connect(&config).await.unwrap();
        let id = User::sample("t", 1).key_id();
        store.get::<User>(&id).await.unwrap();
        server.stop();
        // The link notices the closed connection (lost), then fails to
        // reconnect; the next call fails without sending anything.
        let deadline = Instant::now() + Duration::from_secs(10);
        let err = loop {
            match store.get::<User>(&id).await {
                Err(err) => break err,
                Ok(_) => assert!(
                    Instant::now() < deadline,
                    "the stopped server still answers"
                ),
            }
        };
        assert!(matches!(err, Error::Connection { .. }), "{err}");
        server.restart().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while store.get::<User>(&id).await.is_err() {
            assert!(Instant::now() < deadline, "the store did not reconnect");
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert_documented(&recorded, &[]);
    let events = "redis_runtime_connection_events_total";
    let server_event = |event| {
        count(
            &recorded,
            events,
            &[("topology", "server"), ("event", event)],
        )
    };
    assert_eq!(server_event("connected"), 1);
    assert!(server_event("lost") >= 1, "{recorded:#?}");
    assert!(server_event("connect_failed") >= 1, "{recorded:#?}");
    assert!(server_event("reconnected") >= 1, "{recorded:#?}");
    let errors = count(
        &recorded,
        ERRORS,
        &[
            ("operation", "get"),
            ("error", "connection"),
            ("model", "User"),
        ],
    );
    assert!(errors >= 1, "{recorded:#?}");
    assert_eq!(
        count(
            &recorded,
            DURATION,
            &[("operation", "get"), ("outcome", "connection")]
        ),
        errors,
        "each failed get is one sample with its error class"
    );
    let outages: Vec<f64> = recorded
        .iter()
        .filter(|r| r.name == "redis_runtime_disconnected_seconds")
        .flat_map(|r| r.samples.clone())
        .collect();
    assert_eq!(outages.len(), 1, "{outages:?}");
    assert!(outages[0] > 0.0 && outages[0] < 20.0, "{outages:?}");
}

/// A store with the client cache on has two connections: the cache's
/// tracking connection counts its events under `topology` `client_cache`,
/// so they do not double the store's own (`server`); a stopped server is
/// lost under each.
#[tokio::test]
async fn the_client_cache_connection_is_counted_apart() {
    let mut server = RedisServer::builder().tcp().start().unwrap();
    let config = server
        .config_builder()
        .client_cache(true)
        .connect_timeout(Duration::from_millis(300))
        .response_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let (_, recorded) = recording(async {
        let store = Store::connect(&config).await.unwrap();
        let id = User::sample("t", 1).key_id();
        store.get::<User>(&id).await.unwrap();
        server.stop();
        // Each connection notices the stop when it is next used.
        let deadline = Instant::now() + Duration::from_secs(10);
        while store.sync_client_cache().await.is_ok() {
            assert!(
                Instant::now() < deadline,
                "the stopped server still answers"
            );
            tokio::task::yield_now().await;
        }
        while store.get::<User>(&id).await.is_ok() {
            assert!(
                Instant::now() < deadline,
                "the stopped server still answers"
            );
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert_documented(&recorded, &[]);
    let events = "redis_runtime_connection_events_total";
    let event = |topology, event| {
        count(
            &recorded,
            events,
            &[("topology", topology), ("event", event)],
        )
    };
    assert_eq!(event("server", "connected"), 1, "{recorded:#?}");
    assert_eq!(event("client_cache", "connected"), 1, "{recorded:#?}");
    assert!(event("server", "lost") >= 1, "{recorded:#?}");
    assert!(event("client_cache", "lost") >= 1, "{recorded:#?}");
}

/// A save whose connection drops after the server applied it is sent once
/// more: one retry, one sample.
#[tokio::test(flavor = "current_thread")]
async fn a_dropped_connection_retry_is_counted() {
    let server = RedisServer::builder().tcp().start().unwrap();
    let mut proxy = Proxy::start(server.port().unwrap()).await;
    let config = redis_runtime::Config::builder()
        .url(proxy.url())
        .connect_timeout(Duration::from_millis(500))
        .response_timeout(Duration::from_millis(750))
        .build()
        .unwrap();
    let ((), recorded) = recording(async {
        let store = Store::connect(&config).await.unwrap();
        let user = User::sample("t", 1);
        store.save(&user).await.unwrap();
        proxy.hold_replies();
        let save = store.save(&user);
        let drop_it = async {
            proxy.wait_held().await;
            proxy.close_open();
        };
        let (saved, ()) = tokio::join!(save, drop_it);
        saved.unwrap();
    })
    .await;
    assert_documented(&recorded, &[]);
    let save = [("operation", "save"), ("model", "User")];
    assert_eq!(
        count(&recorded, "redis_runtime_operation_retries_total", &save),
        1
    );
    let mut ok = save.to_vec();
    ok.push(("outcome", "ok"));
    assert_eq!(count(&recorded, DURATION, &ok), 2, "two saves, two samples");
}

/// Above the threshold an operation is counted (its WARN line is checked in
/// `slow_log.rs`, alone in its binary for its scoped subscriber); with the
/// threshold off, it is not.
#[tokio::test]
async fn slow_operations_are_counted() {
    let server = RedisServer::start().unwrap();
    let id = User::sample("t", 5).key_id();
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
    let (_, recorded) = recording(async {
        let slow = Store::connect(&slow_config).await.unwrap();
        slow.get::<User>(&id).await.unwrap();
        let quiet = Store::connect(&quiet_config).await.unwrap();
        quiet.get::<User>(&id).await.unwrap();
    })
    .await;
    assert_eq!(
        count(
            &recorded,
            "redis_runtime_slow_operations_total",
            &[("operation", "get")]
        ),
        1
    );
}

// ---------------------------------------------------------------------------
// health

#[tokio::test]
async fn health_of_a_live_server_a_replica_and_a_stopped_server() {
    let mut primary = RedisServer::builder().tcp().start().unwrap();
    let replica = RedisServer::builder().tcp().start().unwrap();
    let mut admin = replica.raw_connection().await.unwrap();
    let _: () = raw!(
        &mut admin,
        "REPLICAOF",
        "127.0.0.1",
        primary.port().unwrap()
    );

    let store = primary.store().await.unwrap();
    let health = store.health().await;
    assert!(
        health.up && !health.degraded() && !health.cluster,
        "{health}"
    );
    assert_eq!(health.nodes.len(), 1, "{health}");
    let node = &health.nodes[0];
    assert_eq!(node.role, Some(Role::Primary), "{health}");
    assert!(
        node.version.as_deref().is_some_and(|v| v.contains('.')),
        "{health}"
    );
    assert!(
        node.latency.is_some_and(|l| l < Duration::from_secs(1)),
        "{health}"
    );
    assert!(node.error.is_none(), "{health}");

    let on_replica = replica.store().await.unwrap();
    let health = on_replica.health().await;
    assert!(health.up, "{health}");
    assert_eq!(health.nodes[0].role, Some(Role::Replica), "{health}");

    // Stopped: down, within the connect timeout plus the response timeout
    // (and some scheduling), with the reason.
    let (connect, response) = (Duration::from_millis(300), Duration::from_millis(300));
    let config = primary
        .config_builder()
        .connect_timeout(connect)
        .response_timeout(response)
        .build()
        .unwrap();
    let store = Store::connect(&config).await.unwrap();
    primary.stop();
    let started = Instant::now();
    let health = store.health().await;
    let took = started.elapsed();
    assert!(!health.up && health.degraded(), "{health}");
    assert!(
        took < connect + response + Duration::from_millis(500),
        "took {took:?}"
    );
    let reason = health
        .error
        .clone()
        .or_else(|| health.nodes.first().and_then(|n| n.error.clone()));
    assert!(reason.is_some(), "no reason given: {health}");
    // And up again once the server is.
    primary.restart().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !store.health().await.up {
        assert!(Instant::now() < deadline, "health did not recover");
        tokio::task::yield_now().await;
    }
}

/// A cluster: every primary and replica listed, with its role; a stopped
/// replica degrades it without taking it down.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_of_a_cluster_lists_every_node() {
    let mut cluster = redis_runtime::testing::RedisCluster::builder()
        .primaries(3)
        .replicas(1)
        .start()
        .unwrap();
    let store = Store::connect(&cluster.config().unwrap()).await.unwrap();
    let health = store.health().await;
    assert!(
        health.up && health.cluster && !health.degraded(),
        "{health}"
    );
    assert_eq!(health.nodes.len(), 6, "{health}");
    let primaries = health
        .nodes
        .iter()
        .filter(|n| n.role == Some(Role::Primary))
        .count();
    let replicas = health
        .nodes
        .iter()
        .filter(|n| n.role == Some(Role::Replica))
        .count();
    assert_eq!((primaries, replicas), (3, 3), "{health}");
    assert!(
        health
            .nodes
            .iter()
            .all(|n| n.up && n.latency.is_some() && n.version.is_some())
    );

    // Stop one replica: degraded, still up.
    let replica = health
        .nodes
        .iter()
        .find(|n| n.role == Some(Role::Replica))
        .unwrap()
        .address
        .clone();
    let port: u16 = replica.rsplit_once(':').unwrap().1.parse().unwrap();
    let index = cluster
        .nodes()
        .iter()
        .position(|n| n.port() == Some(port))
        .unwrap();
    cluster.node_mut(index).stop();
    let health = store.health().await;
    assert!(health.up && health.degraded(), "{health}");
    let stopped = health.nodes.iter().find(|n| n.address == replica).unwrap();
    assert!(!stopped.up && stopped.error.is_some(), "{health}");
}
