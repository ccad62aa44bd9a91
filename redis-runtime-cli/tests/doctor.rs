//! `doctor` against a real server seeded with unknown keys, TTL leaks and wrong types.

// The integration tests' models and server helpers: doctor checks the same
// keyspace the runtime's own tests use.
#[path = "../../tests/tests/common/mod.rs"]
mod common;

use std::time::Duration;

use common::*;
use redis_runtime::testing::RedisServer;
use redis_runtime::{Config, Store};
use redis_runtime_cli::doctor::{
    AccessMethod, AccessVerdict, DoctorOptions, SampleCheck, StopReason, diagnose,
};

async fn seed(server: &TestRedis, store: &Store) {
    let mut raw = server.raw_connection().await.unwrap();
    let users: Vec<User> = (0..600).map(|i| User::sample("acme", i)).collect();
    store.save_many(&users).await.unwrap();
    for user in &users[..5] {
        // TTL leaks: entities of a TTL-declaring model that lost their TTL.
        store.persist::<User>(&user.key_id()).await.unwrap();
    }
    let events: Vec<Event> = (0..50)
        .map(|seq| Event {
            stream: "s".into(),
            seq,
            kind: "k".into(),
            payload: vec![1; 64],
        })
        .collect();
    store.save_many(&events).await.unwrap();
    for key in ["app:legacy:1", "app:tenant:acme:user:1", "app:session:a:b"] {
        let _: () = raw!(&mut raw, "SET", key, "x");
    }
    // A key of a family holding the wrong type.
    let _: () = raw!(&mut raw, "HSET", "app:session:abc", "f", "v");
    // Outside the namespace: not doctor's business.
    let _: () = raw!(&mut raw, "SET", "other:thing", "x");
}

fn admin_config(server: &TestRedis) -> Config {
    server.config_builder().namespace("app").build().unwrap()
}

#[tokio::test]
async fn classifies_a_full_sample_and_warns_about_eviction_and_persistence() {
    let (server, store) = start("app").await;
    seed(&server, &store).await;
    let mut raw = server.raw_connection().await.unwrap();
    let _: () = raw!(&mut raw, "CONFIG", "SET", "maxmemory-policy", "allkeys-lru");
    let _: () = raw!(&mut raw, "CONFIG", "RESETSTAT");

    let manifest = TEST_MODELS.manifest("app:");
    let report = diagnose(&admin_config(&server), &manifest, &DoctorOptions::default())
        .await
        .unwrap();

    assert!(
        report
            .server
            .redis_version
            .starts_with(|c: char| c.is_ascii_digit())
    );
    assert_eq!(
        (report.server.mode.as_str(), report.server.role.as_str()),
        ("standalone", "master")
    );
    // The service's own health report, the same one `Store::health` serves.
    let health = report.health.as_ref().expect("doctor's store connected");
    assert!(health.up && !health.cluster, "{health}");
    assert_eq!(health.nodes.len(), 1);
    assert_eq!(health.nodes[0].role, Some(redis_runtime::Role::Primary));
    assert_eq!(
        health.nodes[0].version.as_deref(),
        Some(report.server.redis_version.as_str())
    );
    assert!(
        report.to_table().contains("health      server up"),
        "{}",
        report.to_table()
    );
    assert!(report.to_json().contains("\"health\""));
    assert_eq!(report.version, 8);
    assert_eq!(report.server.aof_enabled, Some(false));
    assert_eq!(report.server.rdb_save.as_deref(), Some(""));
    assert_eq!(
        report.server.maxmemory_policy.as_deref(),
        Some("allkeys-lru")
    );
    assert_eq!(report.server.user.as_deref(), Some("default"));
    let warnings = report.warnings.join("\n");
    assert!(
        warnings.contains("allkeys-lru")
            && warnings.contains("`Event`")
            && !warnings.contains("`User`"),
        "{warnings}"
    );
    // The test server persists nothing: a restart loses every family, and
    // the warning names the ones without a TTL, which hurt most.
    let persistence = report
        .warnings
        .iter()
        .find(|w| w.starts_with("persistence is off"))
        .unwrap_or_else(|| panic!("no persistence warning: {warnings}"));
    assert!(
        persistence.contains("a restart or crash loses every key of every family")
            && persistence
                .contains("families have no TTL and are presumably meant to last: `Event`")
            && persistence.contains("`Profile`"),
        "{persistence}"
    );
    for with_ttl in ["`User`", "`Session`", "`Counter`"] {
        assert!(!persistence.contains(with_ttl), "{persistence}");
    }

    let sample = &report.sample;
    assert!(sample.complete);
    assert_eq!(sample.pattern, "app:*");
    assert_eq!(sample.keys_scanned, 600 + 50 + 3 + 1);
    assert_eq!(sample.unknown_keys, 3);
    let mut unknown = sample.unknown_examples.clone();
    unknown.sort();
    assert_eq!(
        unknown,
        ["app:legacy:1", "app:session:a:b", "app:tenant:acme:user:1"]
    );
    let family = |model: &str| sample.families.iter().find(|f| f.model == model).unwrap();
    assert_eq!(
        (
            family("User").keys,
            family("User").ttl_leaks,
            family("User").wrong_type
        ),
        (600, 5, 0)
    );
    assert_eq!(
        (family("Event").keys, family("Event").ttl_leaks),
        (50, 0),
        "Event declares no TTL"
    );
    assert_eq!(
        (family("Session").keys, family("Session").wrong_type),
        (1, 1)
    );
    assert!(
        family("User").memory_bytes > 600 * 50,
        "{}",
        family("User").memory_bytes
    );
    assert!(family("Event").memory_bytes > 50 * 64);
    assert!(report.has_findings());
    assert!(
        report
            .access
            .iter()
            .all(|a| a.verdict == AccessVerdict::Allowed
                && matches!(a.method, AccessMethod::DryRun { .. })),
        "{:?}",
        report.access
    );

    // Never KEYS; a handful of SCANs.
    let calls = command_calls(&mut raw).await;
    assert!(!calls.contains_key("keys"), "{calls:?}");
    assert!(calls["scan"] >= 1 && calls["scan"] <= 20, "{calls:?}");

    let table = report.to_table();
    assert!(
        table.contains("allkeys-lru") && table.contains("? app:legacy:1"),
        "{table}"
    );
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(json["version"], 8);
    assert_eq!(json["sample"]["refused"], serde_json::json!([]));
    assert_eq!(json["sample"]["unknown_keys"], 3);
}

#[tokio::test]
async fn stops_at_its_key_bound() {
    let (server, store) = start("app").await;
    seed(&server, &store).await;
    let options = DoctorOptions::default().max_keys(100).scan_count(50);
    let report = diagnose(
        &admin_config(&server),
        &TEST_MODELS.manifest("app:"),
        &options,
    )
    .await
    .unwrap();
    assert_eq!(report.sample.keys_scanned, 100);
    assert!(!report.sample.complete);
    assert_eq!(report.sample.stopped_by, Some(StopReason::MaxKeys(100)));
    let options = DoctorOptions::default()
        .max_time(Duration::ZERO)
        .scan_count(10);
    let report = diagnose(
        &admin_config(&server),
        &TEST_MODELS.manifest("app:"),
        &options,
    )
    .await
    .unwrap();
    assert!(
        report.sample.keys_scanned <= 20,
        "{}",
        report.sample.keys_scanned
    );
    assert!(matches!(
        report.sample.stopped_by,
        Some(StopReason::MaxTimeMs(_))
    ));
}

#[tokio::test]
async fn reports_families_the_user_may_not_touch() {
    let server = RedisServer::start().unwrap();
    let mut manifest = TEST_MODELS.manifest("app:");
    // The application's user was created from an older manifest that lacks Counter.
    let mut older = manifest.clone();
    older.families.retain(|f| f.model != "Counter");
    let mut raw = server.raw_connection().await.unwrap();
    let mut setuser = redis::cmd("ACL");
    setuser.arg("SETUSER").arg("app").arg("on").arg(">pw");
    for arg in older.acl_rule().setuser_args() {
        setuser.arg(arg);
    }
    let _: () = setuser.query_async(&mut raw).await.unwrap();
    let config = server
        .config_builder()
        .url(format!("{}?user=app&pass=pw", server.url()))
        .namespace("app")
        .build()
        .unwrap();
    let report = diagnose(&config, &manifest, &DoctorOptions::default())
        .await
        .unwrap();
    for access in &report.access {
        // Reads are checked; writes are not, which is not counted as clean.
        let expected = if access.model == "Counter" {
            AccessVerdict::Denied
        } else if access.model == "RoomTyping" {
            // A channel: nothing to probe without publishing.
            AccessVerdict::Unknown
        } else {
            AccessVerdict::WritesUnchecked
        };
        assert_eq!(access.verdict, expected, "{access:?}");
        assert_eq!(
            access.method,
            AccessMethod::ExistsProbe,
            "the app user may not run ACL DRYRUN"
        );
    }
    // The restricted user cannot read INFO or CONFIG: doctor says so instead of failing.
    assert_eq!(report.server.rdb_save, None);
    assert!(report.to_table().contains("unknown"));
    manifest.families.clear();
    assert!(
        diagnose(&config, &manifest, &DoctorOptions::default())
            .await
            .unwrap()
            .access
            .is_empty()
    );
}

#[tokio::test]
async fn as_the_application_user_refused_checks_are_reported_not_hidden() {
    let (server, store) = start("app").await;
    seed(&server, &store).await;
    // The application's own user: its rule grants PTTL but neither TYPE nor
    // MEMORY, which doctor asks about in the same pipeline.
    let config = server
        .config_builder_as("app", APP_PASSWORD)
        .namespace("app")
        .build()
        .unwrap();
    let report = diagnose(
        &config,
        &TEST_MODELS.manifest("app:"),
        &DoctorOptions::default(),
    )
    .await
    .unwrap();
    let sample = &report.sample;
    assert_eq!((sample.keys_scanned, sample.unknown_keys), (654, 3));
    assert_eq!(
        sample.refused,
        [SampleCheck::Type, SampleCheck::MemoryUsage]
    );
    let user = sample.families.iter().find(|f| f.model == "User").unwrap();
    assert_eq!((user.keys, user.ttl_leaks), (600, 5));
    assert!(report.has_findings());
    assert!(
        report
            .to_table()
            .contains("not checked: the server refused TYPE, MEMORY USAGE"),
        "{}",
        report.to_table()
    );
}

#[tokio::test]
async fn every_command_the_runtime_sends_is_dry_run() {
    let server = RedisServer::start().unwrap();
    let manifest = TEST_MODELS.manifest("app:");
    // A user that may check itself, whose rule misses DEL and EVALSHA.
    let mut args: Vec<String> = manifest
        .acl_rule()
        .setuser_args()
        .into_iter()
        .filter(|a| a != "+del" && a != "+evalsha")
        .collect();
    args.extend(["+acl|dryrun".to_owned(), "+acl|whoami".to_owned()]);
    let mut admin = server.raw_connection().await.unwrap();
    let _: () = raw!(&mut admin, "ACL", "SETUSER", "ops", "on", ">pw", &args);
    let config = server
        .config_builder()
        .url(format!("{}?user=ops&pass=pw", server.url()))
        .namespace("app")
        .build()
        .unwrap();
    let report = diagnose(&config, &manifest, &DoctorOptions::default())
        .await
        .unwrap();
    let access = |model: &str| report.access.iter().find(|a| a.model == model).unwrap();
    let user = access("User");
    assert_eq!(user.verdict, AccessVerdict::ReadOnly, "{user:?}");
    assert_eq!(user.denied_commands, ["DEL", "EVALSHA"]);
    assert!(
        matches!(user.method, AccessMethod::DryRun { commands: 13 }),
        "{user:?}"
    );
    let session = access("Session");
    assert_eq!(
        (session.verdict, &session.denied_commands[..]),
        (AccessVerdict::ReadOnly, &["DEL".to_owned()][..])
    );
    assert!(report.has_findings());
    assert!(
        report.to_table().contains("denied: DEL, EVALSHA"),
        "{}",
        report.to_table()
    );
}

/// On a cluster doctor checks every node and samples every primary: the
/// same keyspace seeded on one server and on a cluster gives the same
/// sample, and an ACL rule applied to some nodes only is reported.
#[tokio::test]
async fn on_a_cluster_every_node_is_checked_and_every_primary_sampled() {
    let manifest = TEST_MODELS.manifest("app:");
    let mut reports = Vec::new();
    for topology in [Topology::Server, Topology::Cluster] {
        let report = TOPOLOGY
            .scope(topology, async {
                let (redis, store) = start("app").await;
                seed(&redis, &store).await;
                let report = diagnose(&admin_config(&redis), &manifest, &DoctorOptions::default())
                    .await
                    .unwrap();
                (redis, report)
            })
            .await;
        reports.push(report);
    }
    let (_server, single) = &reports[0];
    let (cluster, clustered) = &reports[1];
    assert!(single.nodes.is_empty());
    assert_eq!(clustered.server.mode, "cluster");
    assert_eq!(clustered.nodes.len(), 3);
    assert!(clustered.sample.complete);
    // Memory differs (a cluster node keeps keys per slot); the counts do not.
    let counts = |report: &redis_runtime_cli::doctor::DoctorReport| {
        report
            .sample
            .families
            .iter()
            .map(|f| (f.model.clone(), f.keys, f.ttl_leaks, f.wrong_type))
            .collect::<Vec<_>>()
    };
    assert_eq!(counts(clustered), counts(single));
    assert_eq!(clustered.sample.keys_scanned, single.sample.keys_scanned);
    assert_eq!(clustered.sample.unknown_keys, single.sample.unknown_keys);
    assert!(
        clustered.sample.keys_scanned > 600,
        "{:?}",
        clustered.sample
    );

    // The application's user, with its keys taken away on one node: the
    // rule was not applied everywhere.
    let mut nodes = cluster.node_connections().await;
    let _: () = raw!(
        &mut nodes[2],
        "ACL",
        "SETUSER",
        "app",
        "resetkeys",
        "~other:*"
    );
    let config = cluster
        .config_builder_as("app", APP_PASSWORD)
        .namespace("app")
        .build()
        .unwrap();
    let report = diagnose(&config, &manifest, &DoctorOptions::default())
        .await
        .unwrap();
    let warnings = report.warnings.join("\n");
    assert!(
        warnings.contains("access to `User` differs between nodes"),
        "{warnings} {:?} {:?}",
        report.access,
        report.nodes
    );
    let user = report.access.iter().find(|a| a.model == "User").unwrap();
    assert_eq!(
        user.verdict,
        AccessVerdict::Denied,
        "the worst node decides"
    );
}

/// doctor reaches a TLS server with the configured CA, as the store does.
#[tokio::test]
async fn over_tls_with_the_configured_ca() {
    use redis_runtime::testing::TestCertificates;
    let certificates = TestCertificates::generate().unwrap();
    let server = RedisServer::builder().tls(&certificates).start().unwrap();
    let config = Config::builder()
        .url(server.tls_url().unwrap())
        .tls_ca_file(certificates.ca_file())
        .namespace("app")
        .build()
        .unwrap();
    let store = Store::connect(&config).await.unwrap();
    store.save(&User::sample("acme", 1)).await.unwrap();
    let report = diagnose(
        &config,
        &TEST_MODELS.manifest("app:"),
        &DoctorOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(report.sample.families[0].keys, 1);
}

/// Leases, their fence counters and the rate limiters are families doctor
/// knows: their keys are classified (a fence key with a slot tag too), with
/// the Redis type each algorithm uses, a lease that lost its TTL is a leak,
/// and every command the runtime sends to them is dry-run.
#[tokio::test]
async fn leases_fences_and_rate_limits_are_classified_and_checked() {
    let (server, store) = start("app").await;
    let mut raw = server.raw_connection().await.unwrap();
    let room = "lobby".to_owned();
    let _room = store
        .lease::<RoomLock>(&room)
        .try_acquire()
        .await
        .unwrap()
        .unwrap();
    let _job = store
        .lease::<JobLock>(&7)
        .try_acquire()
        .await
        .unwrap()
        .unwrap();
    // A lease that lost its TTL (the store refuses to persist a lease; a
    // raw PERSIST does it): a leak (its fence counter has none by design).
    let lease_key = store.key::<JobLock>(&7).unwrap().to_string();
    let persisted: bool = raw!(&mut raw, "PERSIST", &lease_key);
    assert!(persisted);
    let client = "c".to_owned();
    store
        .rate_limit::<FixedLimit>(&client)
        .allow(1)
        .await
        .unwrap();
    store
        .rate_limit::<SlidingLimit>(&client)
        .allow(1)
        .await
        .unwrap();
    store
        .rate_limit::<GcraLimit>(&client)
        .allow(1)
        .await
        .unwrap();
    // A GCRA limiter's key holding a hash: the wrong type.
    let _: () = raw!(&mut raw, "HSET", "app:rl:gcra:other", "f", "v");

    let report = diagnose(
        &admin_config(&server),
        &TEST_MODELS.manifest("app:"),
        &DoctorOptions::default(),
    )
    .await
    .unwrap();
    let sample = &report.sample;
    assert_eq!(sample.unknown_keys, 0, "{:?}", sample.unknown_examples);
    let family = |model: &str| {
        let f = sample.families.iter().find(|f| f.model == model).unwrap();
        (f.keys, f.ttl_leaks, f.wrong_type)
    };
    assert_eq!(family("RoomLock"), (1, 0, 0));
    assert_eq!(family("RoomLockFence"), (1, 0, 0));
    assert_eq!(family("JobLock"), (1, 1, 0));
    assert_eq!(family("JobLockFence"), (1, 0, 0));
    assert_eq!(family("FixedLimit"), (1, 0, 0));
    assert_eq!(family("SlidingLimit"), (1, 0, 0));
    // (The hash has no TTL either.)
    assert_eq!(family("GcraLimit"), (2, 1, 1));
    for model in [
        "RoomLock",
        "RoomLockFence",
        "FixedLimit",
        "SlidingLimit",
        "GcraLimit",
    ] {
        let access = report.access.iter().find(|a| a.model == model).unwrap();
        assert_eq!(access.verdict, AccessVerdict::Allowed, "{access:?}");
        assert!(
            matches!(access.method, AccessMethod::DryRun { .. }),
            "{access:?}"
        );
    }
    // The fence counters are durable: eviction and restarts are warned about.
    let warnings = report.warnings.join("\n");
    assert!(warnings.contains("`RoomLockFence`"), "{warnings}");
}

#[tokio::test]
async fn reports_index_members_whose_entity_is_gone() {
    let (server, store) = start("app").await;
    for id in 1..=6 {
        store.save(&Member::sample("acme", id)).await.unwrap();
    }
    // Two entities vanish behind the store's back (as an expiry does): their
    // role and range members and their unique claims stay.
    let mut raw = server.raw_connection().await.unwrap();
    for id in [2, 5] {
        let key = store
            .key::<Member>(&Member::sample("acme", id).key_id())
            .unwrap();
        let _: () = raw!(&mut raw, "DEL", key.to_string());
    }
    let manifest = TEST_MODELS.manifest("app:");
    let report = diagnose(&admin_config(&server), &manifest, &DoctorOptions::default())
        .await
        .unwrap();
    let stale = |model: &str| {
        report
            .sample
            .families
            .iter()
            .find(|f| f.model == model)
            .map(|f| (f.keys, f.stale_members))
            .unwrap()
    };
    assert_eq!(stale("Member"), (4, 0));
    assert_eq!(stale("Member.index.role"), (1, 2));
    assert_eq!(stale("Member.range.joined"), (1, 2));
    assert_eq!(stale("Member.unique.email"), (1, 2));
    assert_eq!(stale("Member.index.team"), (0, 0), "no member has a team");
    assert!(report.has_findings());
    assert!(
        report
            .to_table()
            .contains("stale: Member.index.role holds 2 members whose entity is gone"),
        "{}",
        report.to_table()
    );

    // After a repair, nothing is stale.
    let org = TenantId("acme".into());
    assert_eq!(store.repair::<Member, _>(&org, 1000).await.unwrap(), 6);
    let report = diagnose(&admin_config(&server), &manifest, &DoctorOptions::default())
        .await
        .unwrap();
    assert!(report.sample.families.iter().all(|f| f.stale_members == 0));
}

#[tokio::test]
async fn reports_stream_backlogs_and_dead_letters() {
    use redis_runtime::stream::StartAt;
    let (server, store) = start("app").await;
    let room = "lobby".to_owned();
    let events = store.stream::<RoomEvents>(&room);
    let group = events.group("work");
    group.create(StartAt::Beginning).await.unwrap();
    let said = |user: u64| RoomEvent::Said {
        user,
        text: "x".into(),
    };
    events
        .append_many(&(0..7).map(said).collect::<Vec<_>>())
        .await
        .unwrap();
    let read = group.read("c", 3, None).await.unwrap();
    let manifest = TEST_MODELS.manifest("app:");
    let family = |report: &redis_runtime_cli::doctor::DoctorReport, model: &str| {
        report
            .sample
            .families
            .iter()
            .find(|f| f.model == model)
            .map(|f| (f.stream_entries, f.stream_pending, f.dead_letters))
            .unwrap()
    };
    let report = diagnose(&admin_config(&server), &manifest, &DoctorOptions::default())
        .await
        .unwrap();
    assert_eq!(family(&report, "RoomEvents"), (7, 3, 0));
    // Warnings (no persistence on the test server) and access aside, a
    // backlog is not a finding.
    let only_sample = |report: &redis_runtime_cli::doctor::DoctorReport| {
        let mut report = report.clone();
        report.warnings.clear();
        report.access.clear();
        report.health = None;
        report
    };
    assert!(
        !only_sample(&report).has_findings(),
        "{}",
        report.to_table()
    );
    assert!(
        report
            .to_table()
            .contains("stream: RoomEvents holds 7 entries, 3 pending"),
        "{}",
        report.to_table()
    );

    // One given up on: a finding.
    assert!(group.dead_letter(read[0].id, "c", "poison").await.unwrap());
    let report = diagnose(&admin_config(&server), &manifest, &DoctorOptions::default())
        .await
        .unwrap();
    assert_eq!(family(&report, "RoomEvents"), (7, 2, 0));
    assert_eq!(family(&report, "RoomEventsDeadLetter"), (0, 0, 1));
    assert!(only_sample(&report).has_findings());
    assert!(
        report
            .to_table()
            .contains("dead letters: RoomEventsDeadLetter holds 1 entries"),
        "{}",
        report.to_table()
    );
}

/// Doctor reports the server's client tracking: a store with its client
/// cache on is one tracking client, and the keys it read are tracked.
#[tokio::test]
async fn reports_client_tracking_of_caching_stores() {
    let server = RedisServer::start().unwrap();
    let config = server.config_builder().namespace("app").build().unwrap();
    let manifest = TEST_MODELS.manifest("app:");
    let before = diagnose(&config, &manifest, &DoctorOptions::default())
        .await
        .unwrap();
    let tracking = before.server.tracking.clone().expect("INFO is permitted");
    assert_eq!(tracking.clients, 0, "{tracking:?}");

    let cached = Store::connect(
        &server
            .config_builder()
            .namespace("app")
            .client_cache(true)
            .build()
            .unwrap(),
    )
    .await
    .unwrap();
    // `User` is not a cached model: only the tracking connection counts.
    cached
        .get::<User>(&UserId {
            tenant: TenantId("acme".into()),
            id: 1,
        })
        .await
        .unwrap();
    let after = diagnose(&config, &manifest, &DoctorOptions::default())
        .await
        .unwrap();
    let tracking = after.server.tracking.clone().expect("INFO is permitted");
    assert_eq!(tracking.clients, 1, "{tracking:?}");
    // An uncached model's read is not tracked (OPTIN).
    assert_eq!(tracking.keys, 0, "{tracking:?}");
    assert!(
        after.to_table().contains("tracking    1 client(s)"),
        "{}",
        after.to_table()
    );
}

/// A custom codec the CLI cannot run: values that are neither JSON nor
/// UTF-8 are the family's own format.
struct Packed;

impl redis_runtime::codec::ValueCodec<Packed1> for Packed {
    const NAME: &'static str = "packed";
    type Error = String;
    fn encode(value: &Packed1) -> Result<Vec<u8>, String> {
        Ok(value.id.to_le_bytes().to_vec())
    }
    fn decode(bytes: &[u8]) -> Result<Packed1, String> {
        let id = bytes.try_into().map_err(|_| "8 bytes".to_owned())?;
        Ok(Packed1 {
            id: u64::from_le_bytes(id),
        })
    }
}

#[derive(Debug, redis_runtime::RedisModel)]
#[redis(key = "packed:{id}", codec = Packed)]
struct Packed1 {
    id: u64,
}

#[derive(Debug, redis_runtime::RedisModel)]
#[redis(key = "blob:{id}", codec = raw)]
struct Blob1 {
    id: u64,
    bytes: Vec<u8>,
}

redis_runtime::keyspace! {
    CODEC_FAMILIES = [Packed1, Blob1];
}

/// Families of a custom codec or `codec = raw` hold strings doctor cannot
/// (and need not) decode: their binary values are not findings, they are
/// classified by type and TTL like JSON families, and their commands are
/// dry-run (the manifest's `codec:packed` names the string commands).
#[tokio::test]
async fn codec_and_raw_families_are_classified_without_decoding() {
    let server = RedisServer::start().unwrap();
    let mut raw = server.raw_connection().await.unwrap();
    for id in 0..20u64 {
        let _: () = raw!(
            &mut raw,
            "SET",
            format!("app:packed:{id}"),
            id.to_le_bytes().to_vec()
        );
        let _: () = raw!(
            &mut raw,
            "SET",
            format!("app:blob:{id}"),
            vec![0xff, 0xfe, id as u8]
        );
    }
    let manifest = CODEC_FAMILIES.manifest("app:");
    assert_eq!(manifest.families[0].encoding, "codec:packed");
    let config = server.config_builder().namespace("app").build().unwrap();
    let report = diagnose(&config, &manifest, &DoctorOptions::default())
        .await
        .unwrap();
    let sample = &report.sample;
    assert_eq!((sample.keys_scanned, sample.unknown_keys), (40, 0));
    for model in ["Packed1", "Blob1"] {
        let family = sample.families.iter().find(|f| f.model == model).unwrap();
        assert_eq!(
            (family.keys, family.wrong_type, family.ttl_leaks),
            (20, 0, 0),
            "{model}"
        );
        let access = report.access.iter().find(|a| a.model == model).unwrap();
        assert_eq!(access.verdict, AccessVerdict::Allowed, "{access:?}");
        assert!(
            matches!(access.method, AccessMethod::DryRun { commands } if commands >= 5),
            "{access:?}"
        );
    }
}
