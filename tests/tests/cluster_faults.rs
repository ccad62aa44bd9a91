//! Faults only a Redis Cluster has, with writers running through them: a
//! slot migrating between primaries, a graceful and a forced failover, and
//! the whole cluster going down and coming back. Each test prints one
//! `RELIABILITY` line with its figures (RELIABILITY.md collects them).
//!
//! The gates, for every test: no panic, no hang (every wait has a deadline),
//! no mismatched reply (every entity read back is the one its id was written
//! with), no phantom (a write reported as not applied is not there), no
//! acknowledged write lost where the setup promises it, and no blind re-send
//! of an increment (the final count lies between the acknowledged increments
//! and those plus the ones whose outcome is unknown).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::*;
use redis_runtime::key::hash_slot;
use redis_runtime::testing::RedisCluster;
use redis_runtime::{Error, Outcome, Store};

/// The operations one writer task saw.
#[derive(Default)]
struct Tally {
    /// Saves acknowledged, by id.
    acked: BTreeSet<u64>,
    /// Saves that failed, and may have been applied.
    unknown: BTreeSet<u64>,
    /// Saves that failed and were not applied.
    not_applied: BTreeSet<u64>,
    /// Increments acknowledged, and those whose outcome is unknown.
    incr_acked: u64,
    incr_unknown: u64,
    errors: BTreeMap<String, u64>,
    /// The first few errors, for the report.
    samples: Vec<String>,
    /// When the last error happened, and the first success after it.
    last_error: Option<Instant>,
    first_success_after_error: Option<Instant>,
}

impl Tally {
    fn error(&mut self, err: &Error) {
        let kind = match err {
            Error::Connection { .. } => "connection",
            Error::Timeout { .. } => "timeout",
            Error::Unavailable { .. } => "unavailable",
            Error::Server { .. } => "server",
            _ => "other",
        };
        *self.errors.entry(kind.to_owned()).or_insert(0) += 1;
        if self.samples.len() < 2 {
            self.samples.push(err.to_string());
        }
        self.last_error = Some(Instant::now());
        self.first_success_after_error = None;
    }

    fn success(&mut self) {
        if self.last_error.is_some() && self.first_success_after_error.is_none() {
            self.first_success_after_error = Some(Instant::now());
        }
    }

    fn merge(&mut self, other: Tally) {
        self.acked.extend(other.acked);
        self.unknown.extend(other.unknown);
        self.not_applied.extend(other.not_applied);
        self.incr_acked += other.incr_acked;
        self.incr_unknown += other.incr_unknown;
        self.samples.extend(other.samples);
        for (k, v) in other.errors {
            *self.errors.entry(k).or_insert(0) += v;
        }
        self.last_error = self.last_error.max(other.last_error);
        self.first_success_after_error = self
            .first_success_after_error
            .max(other.first_success_after_error);
    }
}

const TENANT: &str = "hot";

fn user(id: u64) -> User {
    let mut user = User::sample(TENANT, id);
    user.email = format!("v{id}-{}", id.wrapping_mul(2_654_435_761) % 1_000_003);
    user
}

/// The counter every writer increments (in the same family).
const COUNTER_ID: u64 = u64::MAX;

/// Writers saving new entities of one family and incrementing one counter
/// of it, until `stop`.
fn spawn_writers(store: &Store, stop: &Arc<AtomicBool>) -> Vec<tokio::task::JoinHandle<Tally>> {
    (0..4u64)
        .map(|w| {
            let (store, stop) = (store.clone(), stop.clone());
            tokio::spawn(async move {
                let mut tally = Tally::default();
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let id = w * 1_000_000 + i;
                    i += 1;
                    match store.save(&user(id)).await {
                        Ok(()) => {
                            tally.acked.insert(id);
                            tally.success();
                        }
                        Err(err) => {
                            match err.outcome() {
                                Outcome::NotApplied => tally.not_applied.insert(id),
                                _ => tally.unknown.insert(id),
                            };
                            tally.error(&err);
                        }
                    }
                    let counter = UserId {
                        tenant: TenantId(TENANT.into()),
                        id: COUNTER_ID,
                    };
                    match store.incr(&counter, User::fields().logins, 1).await {
                        Ok(Some(_)) => {
                            tally.incr_acked += 1;
                            tally.success();
                        }
                        Ok(None) => panic!("the counter entity vanished"),
                        Err(err) => {
                            if err.outcome() != Outcome::NotApplied {
                                tally.incr_unknown += 1;
                            }
                            tally.error(&err);
                        }
                    }
                }
                tally
            })
        })
        .collect()
}

async fn stop_writers(stop: &AtomicBool, writers: Vec<tokio::task::JoinHandle<Tally>>) -> Tally {
    stop.store(true, Ordering::Relaxed);
    let mut tally = Tally::default();
    for writer in writers {
        tally.merge(writer.await.unwrap());
    }
    tally
}

/// Checks every gate against what the store reads back; returns (lost,
/// mismatched).
async fn verify(store: &Store, tally: &Tally, expect_no_loss: bool, name: &str) -> (u64, u64) {
    let mut lost = 0;
    let mut mismatched = 0;
    let ids: Vec<u64> = tally.acked.iter().chain(&tally.unknown).copied().collect();
    for chunk in ids.chunks(500) {
        let keys: Vec<UserId> = chunk.iter().map(|&id| user(id).key_id()).collect();
        for (&id, got) in chunk
            .iter()
            .zip(store.get_many::<User>(&keys).await.unwrap())
        {
            match got {
                Some(got) if got != user(id) => mismatched += 1,
                None if tally.acked.contains(&id) => lost += 1,
                _ => {}
            }
        }
    }
    // No phantom: nothing reported as not applied is there.
    let keys: Vec<UserId> = tally
        .not_applied
        .iter()
        .map(|&id| user(id).key_id())
        .collect();
    for chunk in keys.chunks(500) {
        let phantoms = store.get_many::<User>(chunk).await.unwrap();
        assert!(
            phantoms.iter().all(Option::is_none),
            "{name}: a write reported as not applied is present"
        );
    }
    assert_eq!(mismatched, 0, "{name}: mismatched replies");
    if expect_no_loss {
        assert_eq!(lost, 0, "{name}: acknowledged writes lost");
        // No blind re-send of an increment.
        let counter = store
            .get::<User>(&UserId {
                tenant: TenantId(TENANT.into()),
                id: COUNTER_ID,
            })
            .await
            .unwrap()
            .unwrap()
            .logins as u64;
        assert!(
            (tally.incr_acked..=tally.incr_acked + tally.incr_unknown).contains(&counter),
            "{name}: counter {counter}, acknowledged {}, unknown {}",
            tally.incr_acked,
            tally.incr_unknown
        );
    }
    (lost, mismatched)
}

fn report(name: &str, tally: &Tally, lost: u64, mismatched: u64, recover: Option<Duration>) {
    let attempted = tally.acked.len() + tally.unknown.len() + tally.not_applied.len();
    println!(
        "RELIABILITY {name} attempted={attempted} acknowledged={} not_applied={} unknown={} lost={lost} mismatched={mismatched} incr_acknowledged={} incr_unknown={} recover_ms={} errors={:?}",
        tally.acked.len(),
        tally.not_applied.len(),
        tally.unknown.len(),
        tally.incr_acked,
        tally.incr_unknown,
        recover.map_or("-".to_owned(), |d| d.as_millis().to_string()),
        tally.errors,
    );
    for sample in tally.samples.iter().take(3) {
        println!("  error sample: {sample}");
    }
}

fn first_port(redis: &TestRedis) -> u16 {
    match redis {
        TestRedis::Cluster(cluster) => cluster.nodes()[0].port().unwrap(),
        TestRedis::Server(_) => unreachable!(),
    }
}

fn cluster_of(redis: &mut TestRedis) -> &mut RedisCluster {
    match redis {
        TestRedis::Cluster(cluster) => cluster,
        TestRedis::Server(_) => unreachable!(),
    }
}

fn index_of_port(redis: &mut TestRedis, port: u16) -> usize {
    cluster_of(redis)
        .nodes()
        .iter()
        .position(|n| n.port() == Some(port))
        .unwrap()
}

async fn family_slot(store: &Store) -> u16 {
    hash_slot(store.key::<User>(&user(0).key_id()).unwrap().as_bytes())
}

/// A store with short timeouts (so that writers notice faults quickly) and
/// writers running on it. It connects as the default user: ACL users are not
/// persisted, and some of these tests restart every node.
async fn start_workload(
    redis: &TestRedis,
) -> (Store, Arc<AtomicBool>, Vec<tokio::task::JoinHandle<Tally>>) {
    let config = redis
        .config_builder()
        .namespace("app")
        .connect_timeout(Duration::from_millis(1000))
        .response_timeout(Duration::from_millis(1000))
        .build()
        .unwrap();
    let store = Store::connect(&config).await.unwrap();
    let mut counter = user(COUNTER_ID);
    counter.logins = 0;
    store.save(&counter).await.unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writers = spawn_writers(&store, &stop);
    // Let the writers get going before the fault.
    while store.count::<User>().await.unwrap() < 200 {
        tokio::task::yield_now().await;
    }
    (store, stop, writers)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slot_migrating_under_writers_loses_nothing_and_invents_nothing() {
    let mut redis = TestRedis::Cluster(RedisCluster::start().unwrap());
    let (store, stop, writers) = start_workload(&redis).await;
    let slot = family_slot(&store).await;
    let nodes = cluster_nodes(first_port(&redis)).await;
    let source = nodes
        .iter()
        .find(|n| n.slots.iter().any(|(a, b)| (*a..=*b).contains(&slot)))
        .unwrap()
        .clone();
    let target = nodes
        .iter()
        .find(|n| n.primary && n.id != source.id)
        .unwrap()
        .clone();
    let mut source_con = redis
        .node_connections()
        .await
        .remove(index_of_port(&mut redis, source.port));
    let mut target_con = redis
        .node_connections()
        .await
        .remove(index_of_port(&mut redis, target.port));

    // The standard procedure (what `redis-cli --cluster reshard` does), a few
    // keys at a time so that writers meet ASK and TRYAGAIN along the way.
    let started = Instant::now();
    let _: () = raw!(
        &mut target_con,
        "CLUSTER",
        "SETSLOT",
        slot,
        "IMPORTING",
        &source.id
    );
    let _: () = raw!(
        &mut source_con,
        "CLUSTER",
        "SETSLOT",
        slot,
        "MIGRATING",
        &target.id
    );
    let mut moved = 0;
    loop {
        let keys: Vec<Vec<u8>> = raw!(&mut source_con, "CLUSTER", "GETKEYSINSLOT", slot, 10);
        if keys.is_empty() {
            break;
        }
        let mut migrate = redis::cmd("MIGRATE");
        migrate
            .arg("127.0.0.1")
            .arg(target.port)
            .arg("")
            .arg(0)
            .arg(5000)
            .arg("KEYS")
            .arg(&keys);
        let _: redis::Value = migrate.query_async(&mut source_con).await.unwrap();
        moved += keys.len();
        tokio::task::yield_now().await;
    }
    for mut node in redis.node_connections().await {
        let _: () = raw!(&mut node, "CLUSTER", "SETSLOT", slot, "NODE", &target.id);
    }
    let migration = started.elapsed();
    // Writers keep going on the new owner for a moment.
    let settled = store.count::<User>().await.unwrap();
    while store.count::<User>().await.unwrap() < settled + 100 {
        tokio::task::yield_now().await;
    }
    let tally = stop_writers(&stop, writers).await;
    let left: u64 = raw!(&mut source_con, "CLUSTER", "COUNTKEYSINSLOT", slot);
    assert_eq!(left, 0, "no key of the slot stayed behind on the source");
    let (lost, mismatched) = verify(&store, &tally, true, "slot migration").await;
    println!("slot {slot}: {moved} keys migrated in {migration:?}");
    report(
        "cluster_slot_migration",
        &tally,
        lost,
        mismatched,
        Some(migration),
    );
}

/// Waits until `port`'s node reports itself a primary.
async fn wait_until_primary(port: u16, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let nodes = cluster_nodes(port).await;
        if nodes.iter().any(|n| n.port == port && n.primary) {
            return started.elapsed();
        }
        assert!(started.elapsed() < within, "no promotion within {within:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn failover(forced: bool) {
    let name = if forced {
        "cluster_failover_sigstop"
    } else {
        "cluster_failover_graceful"
    };
    let cluster = RedisCluster::builder()
        .replicas(1)
        .node_timeout(Duration::from_millis(1000))
        .start()
        .unwrap();
    let mut redis = TestRedis::Cluster(cluster);
    let (store, stop, writers) = start_workload(&redis).await;
    let slot = family_slot(&store).await;
    let nodes = cluster_nodes(first_port(&redis)).await;
    let primary = nodes
        .iter()
        .find(|n| n.primary && n.slots.iter().any(|(a, b)| (*a..=*b).contains(&slot)))
        .unwrap()
        .clone();
    let replica = nodes
        .iter()
        .find(|n| !n.primary && n.primary_id == primary.id)
        .unwrap()
        .clone();
    let primary_index = index_of_port(&mut redis, primary.port);
    let replica_index = index_of_port(&mut redis, replica.port);

    let started = Instant::now();
    if forced {
        cluster_of(&mut redis).nodes()[primary_index]
            .pause()
            .unwrap();
    } else {
        let mut con = redis.node_connections().await.remove(replica_index);
        let _: () = raw!(&mut con, "CLUSTER", "FAILOVER");
    }
    let promoted = wait_until_primary(replica.port, Duration::from_secs(20)).await;
    // Operations on the family resume: a save that succeeds after the promotion.
    let probe = user(9_000_000);
    let resumed = loop {
        if store.save(&probe).await.is_ok() {
            break started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{name}: no recovery"
        );
    };
    let tally = stop_writers(&stop, writers).await;
    if forced {
        cluster_of(&mut redis).nodes()[primary_index]
            .resume()
            .unwrap();
    }
    // A graceful failover waits for the replica to catch up: nothing may be
    // lost. A forced one loses what the primary acknowledged but had not yet
    // replicated (Redis replication is asynchronous): measured, not promised.
    let (lost, mismatched) = verify(&store, &tally, !forced, name).await;
    println!("{name}: promoted after {promoted:?}, a save succeeded after {resumed:?}");
    report(name, &tally, lost, mismatched, Some(resumed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_failover_loses_no_acknowledged_write() {
    failover(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_primary_is_failed_over_and_operations_resume() {
    failover(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_cluster_down_and_up_again_needs_no_new_client() {
    // `appendfsync always`: every acknowledged write is on disk, so a crash
    // of every node at once loses none of them.
    let cluster = RedisCluster::builder()
        .appendonly(true)
        .arg("--appendfsync")
        .arg("always")
        .start()
        .unwrap();
    let mut redis = TestRedis::Cluster(cluster);
    let (store, stop, writers) = start_workload(&redis).await;
    let cluster = cluster_of(&mut redis);
    let count = cluster.nodes().len();
    for i in 0..count {
        cluster.node_mut(i).stop();
    }
    let down = Instant::now();
    // While every node is down, operations fail fast with typed errors.
    let err = store.get::<User>(&user(0).key_id()).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Connection { .. } | Error::Timeout { .. } | Error::Unavailable { .. }
        ),
        "{err}"
    );
    for i in 0..count {
        cluster.node_mut(i).restart().unwrap();
    }
    cluster.wait_ready(Duration::from_secs(30)).unwrap();
    let probe = user(9_000_000);
    let resumed = loop {
        if store.save(&probe).await.is_ok() {
            break down.elapsed();
        }
        assert!(down.elapsed() < Duration::from_secs(60), "no recovery");
    };
    let tally = stop_writers(&stop, writers).await;
    let (lost, mismatched) = verify(&store, &tally, true, "whole cluster restart").await;
    report(
        "cluster_whole_restart_aof_always",
        &tally,
        lost,
        mismatched,
        Some(resumed),
    );
}

/// Futures dropped mid-flight (a `select!` against a few yields around
/// thousands of operations over many families, so over every primary) never
/// desynchronise the cluster connection: afterwards every entity reads back
/// as its own id's, and every completed read returned its own id's entity.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn futures_dropped_mid_flight_never_mix_up_replies() {
    let redis = TestRedis::Cluster(RedisCluster::start().unwrap());
    let store = redis.store().await;
    let users: Vec<User> = (0..200)
        .map(|i| User::sample(&format!("t{}", i % 37), i))
        .collect();
    store.save_many(&users).await.unwrap();
    let (mut completed, mut dropped, mut mismatched) = (0u64, 0u64, 0u64);
    for round in 0..3000u64 {
        let user = &users[(round * 7 % 200) as usize];
        // Two rounds in three are dropped after 0 to 7 yields of the runtime
        // (mid-send, mid-reply, or not at all: the timer's millisecond ticks
        // are too coarse for this); the third runs to its end.
        let yields = if round % 3 == 2 { u64::MAX } else { round % 8 };
        let op = async {
            if round % 3 == 0 {
                store.save(user).await.map(|()| None)
            } else {
                store.get::<User>(&user.key_id()).await
            }
        };
        let give_up = async {
            if yields == u64::MAX {
                std::future::pending::<()>().await;
            }
            for _ in 0..yields {
                tokio::task::yield_now().await;
            }
        };
        let outcome = tokio::select! {
            biased;
            () = give_up => None,
            result = op => Some(result),
        };
        match outcome {
            Some(Ok(Some(read))) if &read != user => mismatched += 1,
            Some(Ok(_)) => completed += 1,
            Some(Err(err)) => panic!("round {round}: {err}"),
            None => dropped += 1,
        }
    }
    let ids: Vec<UserId> = users.iter().map(User::key_id).collect();
    let read = store.get_many::<User>(&ids).await.unwrap();
    for (user, read) in users.iter().zip(read) {
        if read.as_ref() != Some(user) {
            mismatched += 1;
        }
    }
    println!(
        "RELIABILITY cluster_futures_dropped attempted=3000 acknowledged={completed} dropped={dropped} lost=0 mismatched={mismatched}"
    );
    assert!(
        dropped > 300,
        "the test drops futures mid-flight ({dropped})"
    );
    assert!(completed >= 1000, "and lets others complete ({completed})");
    assert_eq!(mismatched, 0);
}
