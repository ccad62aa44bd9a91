//! Client-side caching on a real Redis Cluster: another client's writes,
//! deletes, expiries and flushes on every primary; the store's own writes;
//! slots migrated away and back under cached reads; and a primary that
//! fails over.
//!
//! Set `REDIS_RUNTIME_TEST_IGNORE_INVALIDATIONS=1` to run the readers with a
//! cache that ignores every invalidation: these tests then fail, which shows
//! that they can.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use common::*;
use redis_runtime::key::hash_slot;
use redis_runtime::testing::RedisCluster;
use redis_runtime::{RedisModel, RedisSet, Store, keyspace};
use serde::{Deserialize, Serialize};

/// A cached hash model.
#[derive(Debug, Clone, PartialEq, RedisModel)]
#[redis(key = "kuser:{id}", client_cache)]
struct KUser {
    id: u64,
    name: String,
    visits: i64,
}

/// A cached JSON model.
#[derive(Debug, Clone, PartialEq, RedisModel, Serialize, Deserialize)]
#[redis(key = "kdoc:{id}", encoding = "json", client_cache)]
struct KDoc {
    id: u64,
    body: String,
}

/// A cached set.
#[derive(RedisSet)]
#[redis(key = "kset:{id}", member = String, client_cache)]
struct KSet {
    id: u64,
}

keyspace! {
    /// The families of these tests.
    CLUSTER_CACHE = [KUser, KDoc, KSet];
}

fn ignoring_invalidations() -> bool {
    std::env::var("REDIS_RUNTIME_TEST_IGNORE_INVALIDATIONS").is_ok_and(|v| v == "1")
}

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// The least-privilege `app` user on every node (from the keyspace's ACL
/// rule), and two stores as it: the reader with the client cache on, the
/// writer without.
async fn stores(redis: &TestRedis, namespace: &str) -> (Store, Store) {
    let writer = connect_as_app_of(redis, namespace, &CLUSTER_CACHE).await;
    let builder = redis
        .config_builder_as("app", APP_PASSWORD)
        .namespace(namespace);
    let builder = match ignoring_invalidations() {
        true => builder.client_cache_ignoring_invalidations(),
        false => builder.client_cache(true),
    };
    let reader = Store::connect(&builder.build().unwrap()).await.unwrap();
    (reader, writer)
}

/// Reads `id` every cached way and checks each against what the uncached
/// `truth` store reads now.
async fn check_fresh(reader: &Store, truth: &Store, id: u64, context: &str) {
    let expected = truth.get::<KUser>(&id).await.unwrap();
    assert_eq!(
        reader.get::<KUser>(&id).await.unwrap(),
        expected,
        "get: {context}"
    );
    let shared = reader.get_shared::<KUser>(&id).await.unwrap();
    assert_eq!(
        shared.as_deref(),
        expected.as_ref(),
        "get_shared: {context}"
    );
    let f = KUser::fields();
    assert_eq!(
        reader.get_field(&id, f.name).await.unwrap(),
        expected.as_ref().map(|u| u.name.clone()),
        "get_field: {context}"
    );
    assert_eq!(
        reader.exists::<KUser>(&id).await.unwrap(),
        expected.is_some(),
        "exists: {context}"
    );
    assert_eq!(
        reader.get_fields(&id, (f.name, f.visits)).await.unwrap(),
        truth.get_fields(&id, (f.name, f.visits)).await.unwrap(),
        "get_fields: {context}"
    );
    // Ids on other slots, so the misses go to several primaries at once.
    let ids: Vec<u64> = (0..KEYS).collect();
    assert_eq!(
        reader.get_many::<KUser>(&ids).await.unwrap(),
        truth.get_many::<KUser>(&ids).await.unwrap(),
        "get_many: {context}"
    );
    assert_eq!(
        reader.get_many::<KDoc>(&ids).await.unwrap(),
        truth.get_many::<KDoc>(&ids).await.unwrap(),
        "json get_many: {context}"
    );
    assert_eq!(
        reader.get::<KDoc>(&id).await.unwrap(),
        truth.get::<KDoc>(&id).await.unwrap(),
        "json get: {context}"
    );
    let mut members = reader.set::<KSet>(&id).members().await.unwrap();
    let mut truth_members = truth.set::<KSet>(&id).members().await.unwrap();
    members.sort();
    truth_members.sort();
    assert_eq!(members, truth_members, "set members: {context}");
}

const KEYS: u64 = 12;

/// Background readers keeping reads of every key in flight on the cached
/// store, so that replies race with invalidations and redirections. Counts
/// reads and errors.
fn hammer(
    reader: &Store,
    stop: &Arc<AtomicBool>,
    errors: &Arc<AtomicU64>,
    ids: Vec<u64>,
    seed: u64,
) -> tokio::task::JoinHandle<u64> {
    let (reader, stop, errors) = (reader.clone(), stop.clone(), errors.clone());
    tokio::spawn(async move {
        let mut rng = Rng(seed);
        let mut reads = 0;
        while !stop.load(Ordering::Relaxed) {
            let id = ids[rng.below(ids.len() as u64) as usize];
            let f = KUser::fields();
            let read = match rng.below(5) {
                0 => reader.get::<KUser>(&id).await.map(drop),
                1 => reader.get_field(&id, f.name).await.map(drop),
                2 => reader.exists::<KUser>(&id).await.map(drop),
                3 => reader.get_many::<KUser>(&ids).await.map(drop),
                _ => reader.set::<KSet>(&id).members().await.map(drop),
            };
            if let Err(err) = read {
                eprintln!("hammer: {err}");
                errors.fetch_add(1, Ordering::Relaxed);
            }
            reads += 1;
            tokio::task::yield_now().await;
        }
        reads
    })
}

fn cluster_of(redis: &TestRedis) -> &RedisCluster {
    match redis {
        TestRedis::Cluster(cluster) => cluster,
        TestRedis::Server(_) => unreachable!(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_after_another_clients_write_see_it_on_a_cluster() {
    let redis = TestRedis::Cluster(RedisCluster::start().unwrap());
    let (reader, writer) = stores(&redis, "kc").await;
    // The ids live on every primary.
    let slots: std::collections::BTreeSet<u16> = (0..KEYS)
        .map(|id| hash_slot(writer.key::<KUser>(&id).unwrap().as_bytes()))
        .collect();
    assert!(slots.len() > 3, "{slots:?}");
    let mut nodes = redis.node_connections().await;
    let stop = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(AtomicU64::new(0));
    let hammers: Vec<_> = (0..3)
        .map(|n| hammer(&reader, &stop, &errors, (0..KEYS).collect(), 91 + n))
        .collect();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for round in 0..400u64 {
        let id = rng.below(KEYS);
        // Cached (or its absence read) before it changes.
        let _ = reader.get::<KUser>(&id).await.unwrap();
        let _ = reader.get_field(&id, KUser::fields().name).await.unwrap();
        let _ = reader.get::<KDoc>(&id).await.unwrap();
        let _ = reader.set::<KSet>(&id).members().await.unwrap();
        let what = match rng.below(12) {
            0..=3 => {
                writer
                    .save(&KUser {
                        id,
                        name: format!("r{round}"),
                        visits: round as i64,
                    })
                    .await
                    .unwrap();
                writer
                    .save(&KDoc {
                        id,
                        body: format!("b{round}"),
                    })
                    .await
                    .unwrap();
                writer
                    .set::<KSet>(&id)
                    .add(&format!("m{round}"))
                    .await
                    .unwrap();
                "save"
            }
            4..=5 => {
                writer
                    .set_field(&id, KUser::fields().name, &format!("f{round}"))
                    .await
                    .unwrap();
                "set_field"
            }
            6 => {
                writer.incr(&id, KUser::fields().visits, 1).await.unwrap();
                "incr"
            }
            7..=8 => {
                writer.delete::<KUser>(&id).await.unwrap();
                writer.delete::<KDoc>(&id).await.unwrap();
                writer.delete::<KSet>(&id).await.unwrap();
                "delete"
            }
            9..=10 => {
                if writer
                    .expire::<KUser>(&id, Duration::from_millis(1))
                    .await
                    .unwrap()
                {
                    while writer.exists::<KUser>(&id).await.unwrap() {
                        tokio::task::yield_now().await;
                    }
                }
                "expire"
            }
            _ => {
                // One primary flushes: its keys go, the others' stay.
                let node = rng.below(nodes.len() as u64) as usize;
                let _: redis::Value = redis::cmd("FLUSHALL")
                    .query_async(&mut nodes[node])
                    .await
                    .unwrap();
                "flushall on one node"
            }
        };
        reader.sync_client_cache().await.unwrap();
        check_fresh(
            &reader,
            &writer,
            id,
            &format!("round {round}, after {what} of {id}"),
        )
        .await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut reads = 0;
    for h in hammers {
        reads += h.await.unwrap();
    }
    assert!(reads > 0);
    assert_eq!(errors.load(Ordering::Relaxed), 0, "reads failed");
    let stats = reader.client_cache_stats();
    let user = stats.iter().find(|s| s.model == "KUser").unwrap();
    assert!(
        user.hits > 0 && user.misses > 0 && user.invalidations > 0,
        "{stats:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_writes_on_a_cluster_are_seen_as_soon_as_they_return() {
    let redis = TestRedis::Cluster(RedisCluster::start().unwrap());
    let (store, _) = stores(&redis, "ko").await;
    let f = KUser::fields();
    for round in 0..200u64 {
        let id = round % KEYS;
        let user = KUser {
            id,
            name: format!("n{round}"),
            visits: round as i64,
        };
        store.save(&user).await.unwrap();
        assert_eq!(store.get::<KUser>(&id).await.unwrap().as_ref(), Some(&user));
        store
            .set_field(&id, f.name, &format!("s{round}"))
            .await
            .unwrap();
        assert_eq!(
            store.get_field(&id, f.name).await.unwrap(),
            Some(format!("s{round}"))
        );
        store
            .set::<KSet>(&id)
            .add(&format!("a{round}"))
            .await
            .unwrap();
        assert!(
            store
                .set::<KSet>(&id)
                .members()
                .await
                .unwrap()
                .contains(&format!("a{round}"))
        );
        // A batch of saves over many slots drops every key it wrote.
        let many: Vec<KUser> = (0..KEYS)
            .map(|id| KUser {
                id,
                name: format!("m{round}"),
                visits: 0,
            })
            .collect();
        store.save_many(&many).await.unwrap();
        let ids: Vec<u64> = (0..KEYS).collect();
        let read = store.get_many::<KUser>(&ids).await.unwrap();
        assert!(
            read.iter()
                .all(|u| u.as_ref().is_some_and(|u| u.name == format!("m{round}"))),
            "round {round}: {read:?}"
        );
        store.delete::<KUser>(&id).await.unwrap();
        assert_eq!(store.get::<KUser>(&id).await.unwrap(), None);
    }
}

/// Moves `slot` to another primary the way `redis-cli --cluster reshard`
/// does (`IMPORTING`, `MIGRATING`, `MIGRATE` of its keys a few at a time,
/// `SETSLOT NODE` everywhere); returns the new owner's port.
async fn migrate_slot(redis: &TestRedis, slot: u16) -> u16 {
    let first = cluster_of(redis).nodes()[0].port().unwrap();
    let nodes = cluster_nodes(first).await;
    let source = nodes.iter().find(|n| n.serves(slot)).unwrap().clone();
    let target = nodes
        .iter()
        .find(|n| n.primary && n.id != source.id)
        .unwrap()
        .clone();
    let connect = |port: u16| async move {
        redis::Client::open(format!("redis://127.0.0.1:{port}"))
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap()
    };
    let mut source_con = connect(source.port).await;
    let mut target_con = connect(target.port).await;
    let setslot = |state: &str, id: &str| {
        let mut cmd = redis::cmd("CLUSTER");
        cmd.arg("SETSLOT").arg(slot).arg(state).arg(id);
        cmd
    };
    let _: () = setslot("IMPORTING", &source.id)
        .query_async(&mut target_con)
        .await
        .unwrap();
    let _: () = setslot("MIGRATING", &target.id)
        .query_async(&mut source_con)
        .await
        .unwrap();
    loop {
        let keys: Vec<Vec<u8>> = redis::cmd("CLUSTER")
            .arg("GETKEYSINSLOT")
            .arg(slot)
            .arg(2)
            .query_async(&mut source_con)
            .await
            .unwrap();
        if keys.is_empty() {
            break;
        }
        let _: redis::Value = redis::cmd("MIGRATE")
            .arg("127.0.0.1")
            .arg(target.port)
            .arg("")
            .arg(0)
            .arg(5000)
            .arg("KEYS")
            .arg(&keys)
            .query_async(&mut source_con)
            .await
            .unwrap();
        tokio::task::yield_now().await;
    }
    for node in &nodes {
        let mut con = connect(node.port).await;
        let _: () = setslot("NODE", &target.id)
            .query_async(&mut con)
            .await
            .unwrap();
    }
    target.port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slot_migrated_under_cached_reads_is_never_served_stale() {
    let redis = TestRedis::Cluster(RedisCluster::start().unwrap());
    let (reader, writer) = stores(&redis, "km").await;
    let slot_of = |id: u64| hash_slot(writer.key::<KUser>(&id).unwrap().as_bytes());
    // Two ids of one slot: one that exists, one that does not (until after
    // the slot has moved).
    let present = 1;
    let slot = slot_of(present);
    let absent = (2..).find(|&id| slot_of(id) == slot).unwrap();
    let ids = vec![present, absent];
    let others: Vec<u64> = (100..110).filter(|&id| slot_of(id) != slot).collect();
    let errors = Arc::new(AtomicU64::new(0));
    for round in 0..8u64 {
        let before = KUser {
            id: present,
            name: format!("before {round}"),
            visits: 0,
        };
        writer.save(&before).await.unwrap();
        writer.delete::<KUser>(&absent).await.unwrap();
        reader.sync_client_cache().await.unwrap();
        // Both read (and the present one served from memory once).
        assert_eq!(
            reader.get::<KUser>(&present).await.unwrap(),
            Some(before.clone())
        );
        assert_eq!(reader.get::<KUser>(&present).await.unwrap(), Some(before));
        assert_eq!(reader.get::<KUser>(&absent).await.unwrap(), None);
        assert!(!reader.exists::<KUser>(&absent).await.unwrap());
        assert_eq!(
            reader
                .get_field(&absent, KUser::fields().name)
                .await
                .unwrap(),
            None
        );

        // Reads in flight during the migration: in even rounds of the
        // slot's keys (they meet ASK and MOVED, and a MOVED drops the whole
        // cache), in odd rounds of other slots only, so that the checks
        // below are the first reads of the slot after it moved.
        let stop = Arc::new(AtomicBool::new(false));
        let hammered = if round % 2 == 0 {
            ids.clone()
        } else {
            others.clone()
        };
        let hammers: Vec<_> = (0..2)
            .map(|n| hammer(&reader, &stop, &errors, hammered.clone(), 7 + n + round))
            .collect();
        let owner = migrate_slot(&redis, slot).await;
        stop.store(true, Ordering::Relaxed);
        for h in hammers {
            h.await.unwrap();
        }

        // Written on the slot's new owner, which never saw the reader's
        // earlier reads.
        let after = KUser {
            id: present,
            name: format!("after {round}"),
            visits: 1,
        };
        writer.save(&after).await.unwrap();
        let born = KUser {
            id: absent,
            name: format!("born {round}"),
            visits: 2,
        };
        writer.save(&born).await.unwrap();
        reader.sync_client_cache().await.unwrap();
        let context = format!("round {round}, slot {slot} now on {owner}");
        // The key that did not exist first: its old node reports nothing.
        assert_eq!(
            reader.get::<KUser>(&absent).await.unwrap(),
            Some(born.clone()),
            "{context}"
        );
        assert!(reader.exists::<KUser>(&absent).await.unwrap(), "{context}");
        assert_eq!(
            reader
                .get_field(&absent, KUser::fields().name)
                .await
                .unwrap(),
            Some(born.name.clone()),
            "{context}"
        );
        assert_eq!(
            reader.get::<KUser>(&present).await.unwrap(),
            Some(after),
            "{context}"
        );
        let many = reader.get_many::<KUser>(&ids).await.unwrap();
        assert_eq!(many[1], Some(born), "{context}");
    }
    assert_eq!(errors.load(Ordering::Relaxed), 0, "reads failed");
    let stats = reader.client_cache_stats();
    let user = stats.iter().find(|s| s.model == "KUser").unwrap();
    assert!(user.hits > 0, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_over_primary_never_serves_what_it_held() {
    let cluster = RedisCluster::builder()
        .replicas(1)
        .node_timeout(Duration::from_millis(1000))
        .start()
        .unwrap();
    let redis = TestRedis::Cluster(cluster);
    let (reader, writer) = stores(&redis, "kf").await;
    let id = 3;
    let old = KUser {
        id,
        name: "old".into(),
        visits: 0,
    };
    writer.save(&old).await.unwrap();
    assert_eq!(reader.get::<KUser>(&id).await.unwrap(), Some(old.clone()));
    assert_eq!(reader.get::<KUser>(&id).await.unwrap(), Some(old));
    // Stop the key's primary; its replica takes over.
    let slot = hash_slot(writer.key::<KUser>(&id).unwrap().as_bytes());
    let first = cluster_of(&redis).nodes()[0].port().unwrap();
    let nodes = cluster_nodes(first).await;
    let primary = nodes.iter().find(|n| n.serves(slot)).unwrap().port;
    let mut redis = redis;
    let index = match &mut redis {
        TestRedis::Cluster(cluster) => {
            let index = cluster
                .nodes()
                .iter()
                .position(|n| n.port() == Some(primary))
                .unwrap();
            cluster.node_mut(index).stop();
            index
        }
        TestRedis::Server(_) => unreachable!(),
    };
    // The new value, written on the promoted replica once it is primary.
    let new = KUser {
        id,
        name: "new".into(),
        visits: 1,
    };
    let mut tries = 0u64;
    loop {
        match writer.save(&new).await {
            Ok(()) => break,
            Err(err) => {
                tries += 1;
                if tries % 50 == 1 {
                    eprintln!("writer: {err}");
                }
                tokio::task::yield_now().await
            }
        }
    }
    eprintln!("written after {tries} failures");
    // From here on every successful read is the new value.
    let mut successes = 0;
    while successes < 100 {
        match reader.get::<KUser>(&id).await {
            Ok(read) => {
                assert_eq!(read.as_ref(), Some(&new), "after the failover");
                successes += 1;
            }
            Err(err) => {
                eprintln!("reader: {err}");
                tokio::task::yield_now().await
            }
        }
    }
    let _ = index;
}
