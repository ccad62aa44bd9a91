//! Faults injected into real, private redis-servers while one `Store` is busy:
//! restarts with and without persistence, connections killed under load, a
//! hung server, a half-open socket, and futures dropped mid-flight.
//! `resilience.rs` proves the single behaviours (one increment is not
//! retried, one timed-out delete is not re-sent, an outage fails fast); these
//! tests load the store with concurrent work, inject the fault repeatedly and
//! count what happened to every operation.
//!
//! Every test asserts the hard gates:
//!
//! - no panic, and no hang: every wait has a deadline derived from the
//!   configured timeouts, and each test runs under an overall deadline;
//! - no mismatched reply: every read returns a value that was written to its
//!   own id (the last acknowledged one, or a later one whose write failed with
//!   an unknown outcome or was cancelled);
//! - no lost acknowledged write where the persistence mode promises it, and no
//!   write reported as not applied that was applied;
//! - no blind retry of a non-idempotent operation: a counter never exceeds the
//!   increments acknowledged plus those whose outcome is unknown, and a
//!   `persist` or `delete` of an entity known to exist (with a TTL) never
//!   answers "it was not there", which only a second send would make it say.
//!
//! Each test prints one line of figures; RELIABILITY.md's table is made from
//! them (`cargo test -p tests --test faults -- --nocapture 2>&1 | grep -o 'RELIABILITY .*'`):
//!
//! ```text
//! RELIABILITY <fault> attempted=.. acknowledged=.. lost=.. mismatched=.. recover_ms=.. errors=<kind>_<outcome>:n,.. <more>=..
//! ```
//!
//! `attempted` counts every operation, reads included, and `acknowledged` those
//! that returned `Ok`; `lost` counts acknowledged writes not found afterwards
//! (without persistence, every write made before a restart, by design).
//! `recover_ms` is the longest time from the end of a fault (the server is
//! back, resumed, forwarding again, or the connection was killed) to the first
//! acknowledged operation on the same `Store` that started after it.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::proxy::Proxy;
use common::*;
use redis_runtime::testing::RedisServer;
use redis_runtime::{
    Config, DEFAULT_CONNECT_TIMEOUT, DEFAULT_RESPONSE_TIMEOUT, Error, Outcome, Store, Waiting,
};
use tokio::sync::watch;

/// The connect timeout of the stores these tests configure themselves: short,
/// so that a hung connection is noticed quickly. Every deadline derives from it
/// and from [`RESPONSE_TIMEOUT`].
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
/// The response timeout of those stores.
const RESPONSE_TIMEOUT: Duration = Duration::from_millis(750);
/// Scheduling latency allowed on top of the timeouts: a debug build on two
/// cores, with the other tests of this file running alongside.
const SLACK: Duration = Duration::from_millis(500);
/// The longest one operation may take: the bound `Store` documents.
const OP_BOUND: Duration = CONNECT_TIMEOUT
    .saturating_add(RESPONSE_TIMEOUT)
    .saturating_add(SLACK);
/// The same bound for the stores `common::start` connects (default timeouts).
const DEFAULT_OP_BOUND: Duration = DEFAULT_CONNECT_TIMEOUT
    .saturating_add(DEFAULT_RESPONSE_TIMEOUT)
    .saturating_add(SLACK);
/// Each test fails rather than hangs past this, whatever it is waiting for.
const TEST_DEADLINE: Duration = Duration::from_secs(40);
/// How old an acknowledged write must be to survive a SIGKILL under
/// `appendfsync everysec`: Redis fsyncs once a second, and postpones the
/// write itself for up to two seconds while a previous fsync is still running.
const EVERYSEC_WINDOW: Duration = Duration::from_secs(2);

const TENANT: &str = "faults";
const NAMESPACE: &str = "faults";
const COUNTER: &str = "c";

// ---------------------------------------------------------------------------
// 1. Restarts
// ---------------------------------------------------------------------------

/// How the server goes down and what it keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Restart {
    /// `--save "" --appendonly no`, SIGKILL: the data set is gone.
    NoPersistence,
    /// `--appendonly yes --appendfsync everysec`, SIGTERM: Redis flushes and
    /// fsyncs the AOF on the way out, so every acknowledged write survives.
    AofGraceful,
    /// `--appendonly yes --appendfsync everysec`, SIGKILL: only writes older
    /// than [`EVERYSEC_WINDOW`] are promised.
    AofKill,
}

/// Persistence off: every write made before the restart is gone (by design,
/// and not asserted); the same store serves again within the bound, and every
/// write acknowledged after the restart is there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_without_persistence() {
    within(
        TEST_DEADLINE,
        "the test",
        restart_under_writes(Restart::NoPersistence),
    )
    .await;
}

/// AOF with `appendfsync everysec`, graceful restart (SIGTERM): every
/// acknowledged write and every acknowledged increment survives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_with_aof() {
    within(
        TEST_DEADLINE,
        "the test",
        restart_under_writes(Restart::AofGraceful),
    )
    .await;
}

/// AOF with `appendfsync everysec`, the process killed (SIGKILL): every write
/// acknowledged more than [`EVERYSEC_WINDOW`] before the kill survives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_with_aof_sigkill() {
    within(
        TEST_DEADLINE,
        "the test",
        restart_under_writes(Restart::AofKill),
    )
    .await;
}

/// What became of one write of a distinct entity.
struct Write {
    id: u64,
    result: Result<Instant, Outcome>,
}

/// What one writer of [`restart_under_writes`] did.
#[derive(Default)]
struct WriterLog {
    writes: Vec<Write>,
    tally: Tally,
    increments: Increments,
    /// Acknowledged increments, with when they were acknowledged.
    increments_acked_at: Vec<Instant>,
}

async fn restart_under_writes(mode: Restart) {
    const WRITERS: u64 = 4;
    const BEFORE: u64 = 300;
    const AFTER: u64 = 300;
    let fault = match mode {
        Restart::NoPersistence => "restart_no_persistence",
        Restart::AofGraceful => "restart_aof_graceful",
        Restart::AofKill => "restart_aof_sigkill",
    };
    // The SIGKILL variant listens on TCP (the server's death resets the
    // connection), the others on a unix socket (it ends with an EOF).
    let mut builder = RedisServer::builder();
    if mode == Restart::AofKill {
        builder = builder.tcp();
    }
    if mode != Restart::NoPersistence {
        builder = builder
            .appendonly(true)
            .arg("--appendfsync")
            .arg("everysec");
    }
    let mut server = builder.start().unwrap();
    let config = short_timeouts(&server);
    let store = Store::connect(&config).await.unwrap();
    store.save(&counter()).await.unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let (progress, mut progress_rx) = watch::channel(0u64);
    let progress = Arc::new(progress);
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (store, stop, progress) = (store.clone(), stop.clone(), progress.clone());
            tokio::spawn(async move {
                let mut log = WriterLog::default();
                let mut rng = Rng::new(w);
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let id = w * 10_000_000 + n;
                    n += 1;
                    let result = store.save(&user(id, 0)).await;
                    let failed = log.tally.op(fault, &result).is_none();
                    log.writes.push(Write {
                        id,
                        result: result.map(|()| Instant::now()).map_err(|e| e.outcome()),
                    });
                    if !failed {
                        progress.send_modify(|n| *n += 1);
                    }
                    if n.is_multiple_of(4) {
                        let result = store
                            .incr(&COUNTER.to_owned(), Counter::fields().big, 1)
                            .await;
                        log.tally.op(fault, &result);
                        if matches!(result, Ok(Some(_))) {
                            log.increments_acked_at.push(Instant::now());
                        }
                        log.increments.record(&result);
                    }
                    if n % 4 == 2 {
                        // Read back an earlier write of this writer: it may be
                        // gone after the restart, but never another value.
                        let earlier = &log.writes[rng.below(log.writes.len() as u64) as usize];
                        let id = earlier.id;
                        let result = store.get::<User>(&user_id(id)).await;
                        if let Some(Some(got)) = log.tally.op(fault, &result)
                            && *got != user(id, 0)
                        {
                            log.tally.mismatch(format!("user {id} read as {got:?}"));
                        }
                    }
                    if failed {
                        // Let the other writers and the restart run.
                        tokio::task::yield_now().await;
                    }
                }
                log
            })
        })
        .collect();

    // The workload runs: enough acknowledged writes, and under SIGKILL writes
    // older than the window everysec promises (the workload's duration, not a
    // wait for a race).
    let started = Instant::now();
    within(
        OP_BOUND * 4,
        "writes before the restart",
        progress_rx.wait_for(|n| *n >= BEFORE),
    )
    .await
    .unwrap();
    if mode == Restart::AofKill {
        tokio::time::sleep_until((started + EVERYSEC_WINDOW + Duration::from_millis(500)).into())
            .await;
    }

    let killed_at = Instant::now();
    tokio::task::block_in_place(|| {
        if mode == Restart::AofGraceful {
            server.shutdown().expect("graceful shutdown");
        }
        server.restart().expect("restart");
    });
    let back_at = Instant::now();
    let recover = recovered(&store, back_at, OP_BOUND).await;
    let acked_then = *progress_rx.borrow();
    within(
        OP_BOUND * 4,
        "writes after the restart",
        progress_rx.wait_for(|n| *n >= acked_then + AFTER),
    )
    .await
    .unwrap();
    stop.store(true, Ordering::Relaxed);
    let mut log = WriterLog::default();
    for writer in writers {
        let one = within(OP_BOUND, "a writer to stop", writer).await.unwrap();
        log.writes.extend(one.writes);
        log.tally.merge(one.tally);
        log.increments.merge(&one.increments);
        log.increments_acked_at.extend(one.increments_acked_at);
    }

    // Every write, against what the server has now. Promised: what the
    // persistence mode keeps, and everything acknowledged after the restart.
    let promised = |at: Instant| match mode {
        Restart::NoPersistence => at >= back_at,
        Restart::AofGraceful => true,
        Restart::AofKill => at < killed_at - EVERYSEC_WINDOW || at >= back_at,
    };
    let mut writes_promised = 0u64;
    let mut lost_promised = 0u64;
    let mut lost_total = 0u64;
    let mut applied_unacknowledged = 0u64;
    let mut not_applied_but_present = 0u64;
    let mut acknowledged_writes = 0u64;
    for chunk in log.writes.chunks(500) {
        let ids: Vec<UserId> = chunk.iter().map(|w| user_id(w.id)).collect();
        let found = within(OP_BOUND, "the check", store.get_many::<User>(&ids))
            .await
            .unwrap();
        for (write, found) in chunk.iter().zip(found) {
            if let Some(got) = &found
                && *got != user(write.id, 0)
            {
                log.tally
                    .mismatch(format!("user {} stored as {got:?}", write.id));
            }
            match (write.result, found.is_some()) {
                (Ok(at), present) => {
                    acknowledged_writes += 1;
                    let is_promised = promised(at);
                    writes_promised += u64::from(is_promised);
                    if !present {
                        lost_total += 1;
                        lost_promised += u64::from(is_promised);
                    }
                }
                (Err(Outcome::NotApplied), true) => not_applied_but_present += 1,
                (Err(_), true) => applied_unacknowledged += 1,
                (Err(_), false) => {}
            }
        }
    }

    // The counter, and the increments it must keep: all acknowledged ones
    // after a graceful shutdown, those older than the window after a kill.
    let value = stored_counter(&store).await;
    let inc = &log.increments;
    let increments_promised = log
        .increments_acked_at
        .iter()
        .filter(|at| promised(**at))
        .count() as u64;

    let mut more = vec![
        ("writes_acknowledged", acknowledged_writes.to_string()),
        ("writes_promised", writes_promised.to_string()),
        ("lost_promised", lost_promised.to_string()),
        ("applied_unacknowledged", applied_unacknowledged.to_string()),
        (
            "not_applied_but_present",
            not_applied_but_present.to_string(),
        ),
        ("down_ms", (back_at - killed_at).as_millis().to_string()),
    ];
    more.extend(inc.figures(value.unwrap_or(0)));
    report(fault, &log.tally, lost_total, Some(recover), &more);

    log.tally.assert_clean(fault);
    assert_eq!(
        not_applied_but_present, 0,
        "{fault}: writes reported as not applied were applied"
    );
    assert_eq!(
        lost_promised, 0,
        "{fault}: acknowledged writes the persistence mode promises were lost ({lost_total} in all)"
    );
    inc.assert_at_most_once(value.unwrap_or(0), increments_promised);
}

// ---------------------------------------------------------------------------
// 2. Connections killed under load
// ---------------------------------------------------------------------------

/// `CLIENT KILL TYPE normal` from an admin connection, over and over, while
/// tasks save, read, write fields, increment, persist and delete through one
/// store (connected as the ACL user the keyspace generates). Reads always
/// return their own id's value; increments, persists and deletes are never
/// sent twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_killed_under_load() {
    within(TEST_DEADLINE, "the test", connections_killed()).await;
}

async fn connections_killed() {
    const FAULT: &str = "client_kill";
    const WORKERS: u64 = 6;
    const USERS_PER_WORKER: u64 = 12;
    const KILLS: u64 = 60;
    /// Acknowledged operations between two kills.
    const LOAD_BETWEEN_KILLS: u64 = 40;
    let (server, store) = start(NAMESPACE).await;
    let mut admin = server.raw_connection().await.unwrap();
    store.save(&counter()).await.unwrap();

    // Operations acknowledged, by the kill epoch they started in.
    let epoch = Arc::new(AtomicU64::new(0));
    let (served, mut served_rx) = watch::channel(Served::default());
    let served = Arc::new(served);
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let (store, stop, epoch, served) =
                (store.clone(), stop.clone(), epoch.clone(), served.clone());
            tokio::spawn(async move {
                let mut worker = Worker::new(w, USERS_PER_WORKER);
                while !stop.load(Ordering::Relaxed) {
                    let started_in = epoch.load(Ordering::Relaxed);
                    if worker.step(&store).await {
                        served.send_if_modified(|s| s.acknowledged(started_in));
                    } else {
                        tokio::task::yield_now().await;
                    }
                }
                worker
            })
        })
        .collect();

    let mut recover = Duration::ZERO;
    let mut killed_connections = 0u64;
    for kill in 1..=KILLS {
        let killed: u64 = raw!(&mut admin, "CLIENT", "KILL", "TYPE", "normal");
        killed_connections += killed;
        epoch.store(kill, Ordering::Relaxed);
        let at = Instant::now();
        // Recovered: an operation that started after the kill was acknowledged.
        within(
            DEFAULT_OP_BOUND,
            "recovery after a kill",
            served_rx.wait_for(|s| s.epoch >= kill),
        )
        .await
        .unwrap();
        recover = recover.max(at.elapsed());
        within(
            DEFAULT_OP_BOUND,
            "load between kills",
            served_rx.wait_for(|s| s.epoch > kill || s.acks >= LOAD_BETWEEN_KILLS),
        )
        .await
        .unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    let mut all = Worker::new(u64::MAX, 0);
    for worker in workers {
        let mut worker = within(DEFAULT_OP_BOUND, "a worker to stop", worker)
            .await
            .unwrap();
        // The final check, with no more faults: every id reads as its ledger allows.
        worker.check_all(&store).await;
        all.merge(worker);
    }
    let value = stored_counter(&store).await.unwrap_or(0);
    let mut more = vec![
        ("kills", KILLS.to_string()),
        ("killed_connections", killed_connections.to_string()),
        ("blind_retries", all.blind_retries.to_string()),
    ];
    more.extend(all.increments.figures(value));
    report(FAULT, &all.tally, all.lost, Some(recover), &more);

    all.tally.assert_clean(FAULT);
    assert_eq!(all.lost, 0, "acknowledged writes lost");
    assert_eq!(
        all.blind_retries, 0,
        "a persist or delete of an entity known to exist answered `not there`: it was sent twice"
    );
    all.increments
        .assert_at_most_once(value, all.increments.acked);
    assert!(
        killed_connections >= KILLS,
        "every kill found the store's connection"
    );
}

/// The newest kill epoch an acknowledged operation started in, and how many
/// operations of that epoch were acknowledged.
#[derive(Default)]
struct Served {
    epoch: u64,
    acks: u64,
}

impl Served {
    fn acknowledged(&mut self, started_in: u64) -> bool {
        if started_in > self.epoch {
            (self.epoch, self.acks) = (started_in, 1);
        } else if started_in == self.epoch {
            self.acks += 1;
        } else {
            return false;
        }
        true
    }
}

/// One task of the kill test: owns some users (each with a ledger of its
/// versions) and one session, and runs a random mix of operations on them.
struct Worker {
    rng: Rng,
    ids: Vec<u64>,
    ledger: HashMap<u64, Expect>,
    next_version: u64,
    session: String,
    tally: Tally,
    increments: Increments,
    lost: u64,
    blind_retries: u64,
}

impl Worker {
    fn new(w: u64, users: u64) -> Worker {
        let ids: Vec<u64> = (0..users).map(|i| w.wrapping_mul(1000) + i).collect();
        Worker {
            rng: Rng::new(w),
            ledger: ids.iter().map(|id| (*id, Expect::default())).collect(),
            ids,
            next_version: 1,
            session: format!("s{w}"),
            tally: Tally::default(),
            increments: Increments::default(),
            lost: 0,
            blind_retries: 0,
        }
    }

    fn merge(&mut self, other: Worker) {
        self.tally.merge(other.tally);
        self.increments.merge(&other.increments);
        self.lost += other.lost;
        self.blind_retries += other.blind_retries;
    }

    /// One operation; whether it was acknowledged.
    async fn step(&mut self, store: &Store) -> bool {
        const FAULT: &str = "client_kill";
        let id = self.ids[self.rng.below(self.ids.len() as u64) as usize];
        let version = self.next_version;
        match self.rng.below(10) {
            0..=2 => {
                self.next_version += 1;
                let result = store.save(&user(id, version)).await;
                self.tally.op(FAULT, &result);
                self.expect(id).wrote(version, failure(&result));
                result.is_ok()
            }
            3 | 4 => {
                let result = store.get::<User>(&user_id(id)).await;
                if let Some(got) = self.tally.op(FAULT, &result) {
                    self.check(id, got.as_ref());
                }
                result.is_ok()
            }
            5 if self.expect(id).acked.is_some() => {
                // The entity exists: a field write must find it.
                self.next_version += 1;
                let email = user(id, version).email;
                let result = store
                    .set_field(&user_id(id), User::fields().email, &email)
                    .await;
                match self.tally.op(FAULT, &result) {
                    Some(true) => self.expect(id).wrote(version, None),
                    Some(false) => self.lost += 1,
                    None => self.expect(id).wrote(version, failure(&result)),
                }
                result.is_ok()
            }
            6 => {
                let ids: Vec<u64> = (0..3)
                    .map(|_| self.ids[self.rng.below(self.ids.len() as u64) as usize])
                    .collect();
                let keys: Vec<UserId> = ids.iter().map(|id| user_id(*id)).collect();
                let result = store.get_many::<User>(&keys).await;
                if let Some(found) = self.tally.op(FAULT, &result) {
                    for (id, got) in ids.iter().zip(found) {
                        self.check(*id, got.as_ref());
                    }
                }
                result.is_ok()
            }
            7 => {
                let result = store
                    .incr(&COUNTER.to_owned(), Counter::fields().big, 1)
                    .await;
                self.tally.op(FAULT, &result);
                self.increments.record(&result);
                result.is_ok()
            }
            8 => {
                // A session with a TTL, acknowledged: `persist` must answer
                // "it had a TTL" and `delete` "it existed", unless a second
                // send answered after the first had done the work.
                let session = session(&self.session, version);
                self.next_version += 1;
                let saved = store.save(&session).await;
                if self.tally.op(FAULT, &saved).is_none() {
                    return false;
                }
                let persisted = store.persist::<Session>(&self.session).await;
                if self.tally.op(FAULT, &persisted) == Some(&false) {
                    self.blind_retries += 1;
                }
                let deleted = store.delete::<Session>(&self.session).await;
                if self.tally.op(FAULT, &deleted) == Some(&false) {
                    self.blind_retries += 1;
                }
                deleted.is_ok()
            }
            _ => {
                let result = store.exists::<User>(&user_id(id)).await;
                if let Some(exists) = self.tally.op(FAULT, &result) {
                    let expect = &self.ledger[&id];
                    if !*exists && expect.acked.is_some() {
                        self.lost += 1;
                    }
                    if *exists && expect.acked.is_none() && expect.maybe.is_empty() {
                        self.tally
                            .mismatch(format!("user {id} exists but was never written"));
                    }
                }
                result.is_ok()
            }
        }
    }

    fn expect(&mut self, id: u64) -> &mut Expect {
        self.ledger.get_mut(&id).expect("an owned id")
    }

    fn check(&mut self, id: u64, got: Option<&User>) {
        match self.ledger[&id].check(got, |v| user(id, v)) {
            Verdict::Ok => {}
            Verdict::Lost => self.lost += 1,
            Verdict::Mismatched => self.tally.mismatch(format!(
                "user {id} read as {got:?}, ledger {:?}",
                self.ledger[&id]
            )),
        }
    }

    /// Reads every owned id once more (no fault is running now).
    async fn check_all(&mut self, store: &Store) {
        let keys: Vec<UserId> = self.ids.iter().map(|id| user_id(*id)).collect();
        let found = within(
            DEFAULT_OP_BOUND,
            "the final check",
            store.get_many::<User>(&keys),
        )
        .await
        .unwrap();
        for (id, got) in self.ids.clone().into_iter().zip(found) {
            self.check(id, got.as_ref());
        }
    }
}

// ---------------------------------------------------------------------------
// 3. A hung server and a half-open socket
// ---------------------------------------------------------------------------

/// The server is frozen (SIGSTOP) with its sockets open: every kind of
/// operation, many at once, fails with a reply timeout within the bound, and
/// so does a new connection; after SIGCONT the same store serves at once, the
/// queued commands run (each once) and every read is its own id's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hung_server() {
    within(TEST_DEADLINE, "the test", async {
        let server = RedisServer::start().unwrap();
        let config = short_timeouts(&server);
        let frozen = Frozen::seed("hung_server", &config).await;
        server.pause().unwrap();
        let frozen = frozen.while_frozen(&config).await;
        server.resume().unwrap();
        frozen.after().await;
    })
    .await;
}

/// A proxy between the store and the server stops forwarding in both
/// directions without closing anything (the store's socket stays open and
/// accepts bytes): the same bounds as a hung server, and the same recovery
/// when it forwards again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_open_socket() {
    within(TEST_DEADLINE, "the test", async {
        let server = RedisServer::builder().tcp().start().unwrap();
        let proxy = Proxy::start(server.port().unwrap()).await;
        let config = short_timeouts_at(&proxy.url());
        let frozen = Frozen::seed("half_open", &config).await;
        proxy.stall();
        let frozen = frozen.while_frozen(&config).await;
        proxy.resume();
        frozen.after().await;
    })
    .await;
}

/// The store's connection goes silent for good (a half-open connection that
/// never comes back: a NAT or firewall dropped its state, the peer host
/// vanished) while the server stays reachable on new connections. Every
/// operation still fails within the bound, but the store should give up on
/// the silent connection and serve again through a new one.
///
/// Ignored: the store keeps the silent connection (a response timeout does not
/// count against it) and never serves again until the kernel errors the
/// socket. See RELIABILITY.md, "Known gaps".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn black_holed_connection() {
    /// How long the store may take to give up on the silent connection: a
    /// few timed-out operations.
    const GRACE: Duration = OP_BOUND.saturating_mul(4);
    within(TEST_DEADLINE, "the test", async {
        let server = RedisServer::builder().tcp().start().unwrap();
        let proxy = Proxy::start(server.port().unwrap()).await;
        let config = short_timeouts_at(&proxy.url());
        let store = Store::connect(&config).await.unwrap();
        store.save(&user(1, 0)).await.unwrap();
        proxy.black_hole();
        let since = Instant::now();
        let mut tally = Tally::default();
        let mut served = None;
        while since.elapsed() < GRACE {
            let (took, result) = timed(store.get::<User>(&user_id(1))).await;
            assert!(took <= OP_BOUND, "took {took:?}: {result:?}");
            match tally.op("black_hole", &result) {
                Some(got) => {
                    assert_eq!(got.as_ref(), Some(&user(1, 0)));
                    served = Some(since.elapsed());
                    break;
                }
                None => assert!(matches!(result, Err(Error::Timeout { .. })), "{result:?}"),
            }
        }
        report("black_hole", &tally, 0, served, &[]);
        tally.assert_clean("black_hole");
        assert!(
            served.is_some(),
            "the store did not serve again within {GRACE:?} of its connection going silent \
             ({} operations timed out)",
            tally.attempted
        );
    })
    .await;
}

/// A save reaches the server and is applied, then the connection drops
/// before the reply: the store sends it once more (a save may be repeated),
/// and the server refuses the second attempt, here because it is out of
/// memory (after a restart it could be `LOADING`, after a failover
/// `READONLY`). The error must not say "not applied": the first attempt was.
///
/// Ignored: the store reports the second attempt's refusal as it is,
/// `Outcome::NotApplied`. See RELIABILITY.md, "Known gaps".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_retry_of_an_applied_write() {
    const FAULT: &str = "refused_retry";
    within(TEST_DEADLINE, "the test", async {
        let server = RedisServer::builder().tcp().start().unwrap();
        let mut admin = server.raw_connection().await.unwrap();
        let mut proxy = Proxy::start(server.port().unwrap()).await;
        let store = Store::connect(&short_timeouts_at(&proxy.url()))
            .await
            .unwrap();
        store.save(&user(1, 0)).await.unwrap();

        proxy.hold_replies();
        let writer = {
            let store = store.clone();
            tokio::spawn(async move { store.save(&user(1, 1)).await })
        };
        // The reply reached the proxy: the server applied the save.
        proxy.wait_held().await;
        let _: () = raw!(&mut admin, "CONFIG", "SET", "maxmemory", "1");
        proxy.close_open();
        let dropped_at = Instant::now();
        let result = within(OP_BOUND, "the save", writer).await.unwrap();
        let _: () = raw!(&mut admin, "CONFIG", "SET", "maxmemory", "0");
        let read = within(OP_BOUND, "a read", store.get::<User>(&user_id(1))).await;
        let recover = dropped_at.elapsed();
        let mut tally = Tally::default();
        tally.op(FAULT, &result);
        tally.op(FAULT, &read);
        let stored = read.unwrap();
        let applied = stored == Some(user(1, 1));
        let outcome = match &result {
            Ok(()) => "acknowledged".to_owned(),
            Err(err) => error_class(err),
        };
        report(
            FAULT,
            &tally,
            0,
            Some(recover),
            &[("applied", applied.to_string()), ("reported", outcome)],
        );
        assert!(applied, "the first attempt was applied: {stored:?}");
        let err = result.expect_err("the second attempt was refused");
        assert_eq!(
            err.outcome(),
            Outcome::Unknown,
            "the first attempt was applied, yet the error says: {err}"
        );
    })
    .await;
}

/// One operation of [`Frozen::while_frozen`], its value dropped.
type Op<'a> = std::pin::Pin<Box<dyn Future<Output = Result<(), Error>> + Send + 'a>>;

/// Users written before a freeze and during it, and the counter.
struct Frozen {
    fault: &'static str,
    store: Store,
    ledger: HashMap<u64, Expect>,
    tally: Tally,
    increments: Increments,
    /// How long a new connection took to fail while frozen.
    connect_failed_after: Duration,
}

impl Frozen {
    const USERS: u64 = 40;
    const ROUNDS: u64 = 3;

    async fn seed(fault: &'static str, config: &Config) -> Frozen {
        let store = Store::connect(config).await.unwrap();
        store.save(&counter()).await.unwrap();
        let mut ledger = HashMap::new();
        for id in 0..Self::USERS {
            store.save(&user(id, 0)).await.unwrap();
            let mut expect = Expect::default();
            expect.wrote(0, None);
            ledger.insert(id, expect);
        }
        store.save(&session("s", 0)).await.unwrap();
        // One increment before the freeze also caches its script on the
        // server, so the increments queued while frozen run when it answers.
        let mut increments = Increments::default();
        let first = store
            .incr(&COUNTER.to_owned(), Counter::fields().big, 1)
            .await;
        assert_eq!(first.as_ref().ok(), Some(&Some(1)), "{first:?}");
        increments.record(&first);
        Frozen {
            fault,
            store,
            ledger,
            tally: Tally::default(),
            increments,
            connect_failed_after: Duration::ZERO,
        }
    }

    /// Every kind of operation, many at once, `ROUNDS` times: each fails with
    /// a reply timeout within the bound. A new connection fails with a
    /// connect timeout.
    async fn while_frozen(mut self, config: &Config) -> Frozen {
        for round in 0..Self::ROUNDS {
            let store = &self.store;
            let id = |i: u64| user_id((round * 7 + i) % Self::USERS);
            let version = round + 1;
            let written: Vec<u64> = (0..4).map(|i| (round * 7 + 10 + i) % Self::USERS).collect();
            let fields = User::fields();
            let mut ops: Vec<(&str, Op<'_>)> = vec![
                (
                    "get",
                    Box::pin(async move { store.get::<User>(&id(0)).await.map(drop) }),
                ),
                (
                    "get_many",
                    Box::pin(
                        async move { store.get_many::<User>(&[id(1), id(2)]).await.map(drop) },
                    ),
                ),
                (
                    "exists",
                    Box::pin(async move { store.exists::<User>(&id(3)).await.map(drop) }),
                ),
                (
                    "ttl",
                    Box::pin(async move { store.ttl::<User>(&id(4)).await.map(drop) }),
                ),
                (
                    "count",
                    Box::pin(async move { store.count::<User>().await.map(drop) }),
                ),
                (
                    "delete",
                    Box::pin(
                        async move { store.delete::<Session>(&"s".to_owned()).await.map(drop) },
                    ),
                ),
                (
                    "expire",
                    Box::pin(async move {
                        store
                            .expire::<User>(&id(5), Duration::from_secs(3600))
                            .await
                            .map(drop)
                    }),
                ),
            ];
            for (i, written) in written.iter().enumerate() {
                let written = *written;
                if i % 2 == 0 {
                    ops.push((
                        "save",
                        Box::pin(async move { store.save(&user(written, version)).await }),
                    ));
                } else {
                    let email = user(written, version).email;
                    ops.push((
                        "set_field",
                        Box::pin(async move {
                            store
                                .set_field(&user_id(written), fields.email, &email)
                                .await
                                .map(drop)
                        }),
                    ));
                }
            }
            for _ in 0..4 {
                ops.push((
                    "incr",
                    Box::pin(async move {
                        store
                            .incr(&COUNTER.to_owned(), Counter::fields().big, 1)
                            .await
                            .map(drop)
                    }),
                ));
            }
            let names: Vec<&str> = ops.iter().map(|(name, _)| *name).collect();
            let results =
                futures_util::future::join_all(ops.into_iter().map(|(_, op)| timed(op))).await;
            for (name, (took, result)) in names.iter().zip(results) {
                let context = format!("round {round}, `{name}`: took {took:?}, {result:?}");
                self.tally.op(self.fault, &result);
                assert!(took <= OP_BOUND, "{context}");
                // Sent on the silent connection: the reply timed out, and the
                // write may run later. Once the store has given that
                // connection up (a probe timed out too), a new one cannot be
                // made: nothing was sent.
                assert!(
                    matches!(
                        result,
                        Err(Error::Timeout {
                            waiting: Waiting::Reply,
                            outcome: Outcome::Unknown,
                            ..
                        }) | Err(Error::Timeout {
                            waiting: Waiting::Connection,
                            outcome: Outcome::NotApplied,
                            ..
                        })
                    ),
                    "{context}"
                );
                if *name == "incr"
                    && matches!(&result, Err(err) if err.outcome() == Outcome::Unknown)
                {
                    self.increments.unknown += 1;
                }
            }
            // The writes of the round may run once the server answers again.
            for written in &written {
                self.ledger
                    .get_mut(written)
                    .unwrap()
                    .wrote(version, Some(Outcome::Unknown));
            }
        }
        // A new connection to a frozen server fails within the connect timeout.
        let (took, connected) = timed(Store::connect(config)).await;
        self.tally.op(self.fault, &connected);
        assert!(
            matches!(
                connected,
                Err(Error::Timeout {
                    waiting: Waiting::Connection,
                    outcome: Outcome::NotApplied,
                    ..
                })
            ),
            "{connected:?}"
        );
        assert!(
            took <= CONNECT_TIMEOUT + SLACK,
            "a connection took {took:?}"
        );
        self.connect_failed_after = took;
        self
    }

    /// The fault is over: the same store serves within the bound; every read
    /// is its own id's; the counter holds each increment at most once.
    async fn after(mut self) {
        let fault = self.fault;
        let resumed_at = Instant::now();
        let recover = recovered(&self.store, resumed_at, OP_BOUND).await;
        let mut lost = 0;
        for id in 0..Self::USERS {
            let result = within(OP_BOUND, "a read", self.store.get::<User>(&user_id(id))).await;
            let got = self.tally.op(fault, &result).cloned().flatten();
            match self.ledger[&id].check(got.as_ref(), |v| user(id, v)) {
                Verdict::Ok => {}
                Verdict::Lost => lost += 1,
                Verdict::Mismatched => self.tally.mismatch(format!("user {id} read as {got:?}")),
            }
        }
        let value = stored_counter(&self.store).await.unwrap_or(0);
        let mut more = vec![(
            "connect_fail_ms",
            self.connect_failed_after.as_millis().to_string(),
        )];
        more.extend(self.increments.figures(value));
        report(fault, &self.tally, lost, Some(recover), &more);
        self.tally.assert_clean(fault);
        assert_eq!(lost, 0, "{fault}: acknowledged writes lost");
        self.increments
            .assert_at_most_once(value, self.increments.acked);
    }
}

// ---------------------------------------------------------------------------
// 4. Cancellation
// ---------------------------------------------------------------------------

/// Thousands of operations dropped mid-flight (under `tokio::time::timeout`
/// with tiny deadlines, or `select!` against a few yields), interleaved with
/// operations that complete, on one store: every completed read returns its
/// own id's value, the multiplexed connection never desynchronises, and the
/// counter holds each increment at most once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn futures_dropped_mid_flight() {
    within(TEST_DEADLINE, "the test", cancellation()).await;
}

/// What became of one operation of the cancellation test.
enum Run<T> {
    Done(T),
    Cancelled,
}

/// Drops `op` mid-flight, or lets it complete, as `how` says: 0 and 1, a
/// `tokio::time::timeout` of zero or a few hundred microseconds; 2, a
/// `select!` against `polls` yields; 3, no cancellation.
async fn maybe_cancel<T>(how: u64, polls: u64, op: impl Future<Output = T>) -> Run<T> {
    match how {
        0 | 1 => {
            let deadline = Duration::from_micros(if how == 0 { 0 } else { 50 + polls * 150 });
            match tokio::time::timeout(deadline, op).await {
                Ok(value) => Run::Done(value),
                Err(_) => Run::Cancelled,
            }
        }
        2 => {
            tokio::select! {
                biased;
                value = op => Run::Done(value),
                () = yields(polls) => Run::Cancelled,
            }
        }
        _ => Run::Done(op.await),
    }
}

async fn yields(n: u64) {
    for _ in 0..n {
        tokio::task::yield_now().await;
    }
}

async fn cancellation() {
    const FAULT: &str = "cancellation";
    const WORKERS: u64 = 4;
    const ITERATIONS: u64 = 1500;
    let (_server, store) = start(NAMESPACE).await;
    store.save(&counter()).await.unwrap();

    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut canceller = Canceller::seed(&store, w).await;
                for version in 1..=ITERATIONS {
                    canceller.step(&store, version).await;
                }
                // Every id once more, with nothing cancelled now.
                canceller.check_all(&store).await;
                canceller
            })
        })
        .collect();
    let mut all = Canceller::new(u64::MAX);
    for worker in workers {
        let one = within(TEST_DEADLINE, "a worker", worker).await.unwrap();
        all.tally.merge(one.tally);
        all.increments.merge(&one.increments);
        all.cancelled += one.cancelled;
    }
    let value = stored_counter(&store).await.unwrap_or(0);
    all.tally.attempted += all.cancelled;
    let mut more = vec![("cancelled", all.cancelled.to_string())];
    more.extend(all.increments.figures(value));
    report(FAULT, &all.tally, 0, Some(Duration::ZERO), &more);
    all.tally.assert_clean(FAULT);
    all.increments
        .assert_at_most_once(value, all.increments.acked);
}

/// One task of the cancellation test: owns some users and sessions, each
/// with a ledger of its versions.
struct Canceller {
    rng: Rng,
    ids: Vec<u64>,
    users: HashMap<u64, Expect>,
    sessions: HashMap<u64, Expect>,
    tally: Tally,
    increments: Increments,
    cancelled: u64,
}

impl Canceller {
    const IDS: u64 = 50;
    const FAULT: &str = "cancellation";

    fn new(w: u64) -> Canceller {
        let ids: Vec<u64> = (0..Self::IDS).map(|i| w.wrapping_mul(1000) + i).collect();
        Canceller {
            rng: Rng::new(w),
            users: ids.iter().map(|id| (*id, Expect::default())).collect(),
            sessions: ids.iter().map(|id| (*id, Expect::default())).collect(),
            ids,
            tally: Tally::default(),
            increments: Increments::default(),
            cancelled: 0,
        }
    }

    async fn seed(store: &Store, w: u64) -> Canceller {
        let mut canceller = Canceller::new(w);
        for id in &canceller.ids {
            store.save(&user(*id, 0)).await.unwrap();
            store.save(&session(&token(*id), 0)).await.unwrap();
            canceller.users.get_mut(id).unwrap().wrote(0, None);
            canceller.sessions.get_mut(id).unwrap().wrote(0, None);
        }
        canceller
    }

    fn pick(&mut self) -> u64 {
        self.ids[self.rng.below(self.ids.len() as u64) as usize]
    }

    /// One operation, perhaps dropped mid-flight.
    async fn step(&mut self, store: &Store, version: u64) {
        let id = self.pick();
        let (how, polls) = (self.rng.below(4), self.rng.below(6));
        match self.rng.below(6) {
            0 => {
                let run = maybe_cancel(how, polls, store.save(&user(id, version))).await;
                let failed = self.write(&run);
                self.users.get_mut(&id).unwrap().wrote(version, failed);
            }
            1 => {
                let saved = session(&token(id), version);
                let run = maybe_cancel(how, polls, store.save(&saved)).await;
                let failed = self.write(&run);
                self.sessions.get_mut(&id).unwrap().wrote(version, failed);
            }
            2 => {
                let run = maybe_cancel(how, polls, store.get::<User>(&user_id(id))).await;
                if let Some(got) = self.read(&run) {
                    self.check_user(id, got.as_ref(), "get");
                }
            }
            3 => {
                let run = maybe_cancel(how, polls, store.get::<Session>(&token(id))).await;
                if let Some(got) = self.read(&run) {
                    self.check_session(id, got.as_ref(), "get");
                }
            }
            4 => {
                let name = COUNTER.to_owned();
                let incr = store.incr(&name, Counter::fields().big, 1);
                match maybe_cancel(how, polls, incr).await {
                    Run::Done(result) => {
                        self.tally.op(Self::FAULT, &result);
                        self.increments.record(&result);
                    }
                    Run::Cancelled => {
                        self.cancelled += 1;
                        self.increments.unknown += 1;
                    }
                }
            }
            _ => {
                let picked: Vec<u64> = (0..3).map(|_| self.pick()).collect();
                let keys: Vec<UserId> = picked.iter().map(|id| user_id(*id)).collect();
                let run = maybe_cancel(how, polls, store.get_many::<User>(&keys)).await;
                if let Some(found) = self.read(&run) {
                    for (id, got) in picked.iter().zip(found) {
                        self.check_user(*id, got.as_ref(), "get_many");
                    }
                }
            }
        }
    }

    /// How a write ended: `None` acknowledged; a cancelled write may or may
    /// not have been applied.
    fn write(&mut self, run: &Run<Result<(), Error>>) -> Option<Outcome> {
        match run {
            Run::Done(result) => {
                self.tally.op(Self::FAULT, result);
                failure(result)
            }
            Run::Cancelled => {
                self.cancelled += 1;
                Some(Outcome::Unknown)
            }
        }
    }

    /// The value of a read that completed and succeeded.
    fn read<'r, T>(&mut self, run: &'r Run<Result<T, Error>>) -> Option<&'r T> {
        match run {
            Run::Done(result) => self.tally.op(Self::FAULT, result),
            Run::Cancelled => {
                self.cancelled += 1;
                None
            }
        }
    }

    fn check_user(&mut self, id: u64, got: Option<&User>, during: &str) {
        if self.users[&id].check(got, |v| user(id, v)) != Verdict::Ok {
            self.tally
                .mismatch(format!("user {id} read as {got:?} by {during}"));
        }
    }

    fn check_session(&mut self, id: u64, got: Option<&Session>, during: &str) {
        if self.sessions[&id].check(got, |v| session(&token(id), v)) != Verdict::Ok {
            self.tally
                .mismatch(format!("session {id} read as {got:?} by {during}"));
        }
    }

    async fn check_all(&mut self, store: &Store) {
        for id in self.ids.clone() {
            let result = store.get::<User>(&user_id(id)).await;
            let got = self.tally.op(Self::FAULT, &result).cloned().flatten();
            self.check_user(id, got.as_ref(), "the final check");
            let result = store.get::<Session>(&token(id)).await;
            let got = self.tally.op(Self::FAULT, &result).cloned().flatten();
            self.check_session(id, got.as_ref(), "the final check");
        }
    }
}

// ---------------------------------------------------------------------------
// Shared pieces
// ---------------------------------------------------------------------------

fn user_id(id: u64) -> UserId {
    UserId {
        tenant: TenantId(TENANT.into()),
        id,
    }
}

/// Version `version` of user `id`: its email says which.
fn user(id: u64, version: u64) -> User {
    let mut user = User::sample(TENANT, id);
    user.email = format!("{id}.v{version}@example.com");
    user
}

fn token(id: u64) -> String {
    format!("t{id}")
}

/// Version `version` of the session `token`.
fn session(token: &str, version: u64) -> Session {
    Session {
        token: token.to_owned(),
        user: version,
        scopes: vec![format!("v{version}")],
    }
}

fn counter() -> Counter {
    Counter {
        name: COUNTER.into(),
        small: 0,
        signed: 0,
        big: 0,
    }
}

async fn stored_counter(store: &Store) -> Option<i64> {
    within(
        OP_BOUND,
        "reading the counter",
        store.get::<Counter>(&COUNTER.to_owned()),
    )
    .await
    .unwrap()
    .map(|c| c.big)
}

fn short_timeouts(server: &RedisServer) -> Config {
    short_timeouts_at(&server.url())
}

fn short_timeouts_at(url: &str) -> Config {
    Config::builder()
        .url(url)
        .namespace(NAMESPACE)
        .connect_timeout(CONNECT_TIMEOUT)
        .response_timeout(RESPONSE_TIMEOUT)
        .build()
        .unwrap()
}

/// Runs `fut`, failing the test if it takes longer than `limit`.
async fn within<T>(limit: Duration, what: &str, fut: impl Future<Output = T>) -> T {
    match tokio::time::timeout(limit, fut).await {
        Ok(value) => value,
        Err(_) => panic!("{what} did not finish within {limit:?}"),
    }
}

/// Runs `fut` under [`OP_BOUND`] (so a hang fails the test), with how long it took.
async fn timed<T>(fut: impl Future<Output = T>) -> (Duration, T) {
    let started = Instant::now();
    let value = within(OP_BOUND * 2, "an operation", fut).await;
    (started.elapsed(), value)
}

/// Probes the store until an operation succeeds; only connection-level
/// errors (and a server still loading) are allowed meanwhile. Returns how
/// long after `since` it served again, failing the test past `bound`.
async fn recovered(store: &Store, since: Instant, bound: Duration) -> Duration {
    let probe = user_id(u64::MAX);
    loop {
        match within(bound, "a probe", store.exists::<User>(&probe)).await {
            Ok(_) => return since.elapsed(),
            Err(err) => {
                assert!(
                    err.is_connection() || matches!(err, Error::Unavailable { .. }),
                    "while recovering: {err}"
                );
                assert!(
                    since.elapsed() <= bound,
                    "the store did not serve again within {bound:?}: {err}"
                );
                tokio::task::yield_now().await;
            }
        }
    }
}

/// Prints the figures of one fault as one machine-readable line.
fn report(
    fault: &str,
    tally: &Tally,
    lost: u64,
    recover: Option<Duration>,
    more: &[(&str, String)],
) {
    let errors: Vec<String> = tally
        .errors
        .iter()
        .map(|(class, n)| format!("{class}:{n}"))
        .collect();
    let errors = if errors.is_empty() {
        "none".to_owned()
    } else {
        errors.join(",")
    };
    let more: String = more.iter().map(|(k, v)| format!(" {k}={v}")).collect();
    let recover = recover.map_or("never".to_owned(), |d| d.as_millis().to_string());
    println!(
        "RELIABILITY {fault} attempted={} acknowledged={} lost={lost} mismatched={} recover_ms={} errors={errors}{more}",
        tally.attempted, tally.acknowledged, tally.mismatched, recover,
    );
}

/// Operations attempted and acknowledged, errors by kind and outcome, and
/// replies that did not match.
#[derive(Default)]
struct Tally {
    attempted: u64,
    acknowledged: u64,
    /// `<kind>_<outcome>` -> count.
    errors: BTreeMap<String, u64>,
    /// Errors no fault of these tests should cause (a decode error, say).
    unexpected: Vec<String>,
    mismatched: u64,
    mismatches: Vec<String>,
}

impl Tally {
    /// Counts one operation; its value when it succeeded.
    fn op<'r, T>(&mut self, fault: &str, result: &'r Result<T, Error>) -> Option<&'r T> {
        self.attempted += 1;
        match result {
            Ok(value) => {
                self.acknowledged += 1;
                Some(value)
            }
            Err(err) => {
                let class = error_class(err);
                if class.starts_with("other") && self.unexpected.len() < 10 {
                    self.unexpected.push(format!("{fault}: {err}"));
                }
                *self.errors.entry(class).or_default() += 1;
                None
            }
        }
    }

    fn mismatch(&mut self, what: String) {
        self.mismatched += 1;
        if self.mismatches.len() < 10 {
            self.mismatches.push(what);
        }
    }

    fn merge(&mut self, other: Tally) {
        self.attempted += other.attempted;
        self.acknowledged += other.acknowledged;
        for (class, n) in other.errors {
            *self.errors.entry(class).or_default() += n;
        }
        self.unexpected.extend(other.unexpected);
        self.mismatched += other.mismatched;
        self.mismatches.extend(other.mismatches);
    }

    /// No mismatched reply and no error a fault of these tests cannot explain.
    fn assert_clean(&self, fault: &str) {
        assert_eq!(
            self.mismatched, 0,
            "{fault}: mismatched replies: {:?}",
            self.mismatches
        );
        assert!(
            self.unexpected.is_empty(),
            "{fault}: unexpected errors: {:?}",
            self.unexpected
        );
    }
}

/// `connection_unknown`, `timeout_not_applied`, ...; `other_...` for an error
/// no fault here explains.
fn error_class(err: &Error) -> String {
    let kind = match err {
        Error::Connection { .. } => "connection",
        Error::Timeout {
            waiting: Waiting::Connection,
            ..
        } => "connect_timeout",
        Error::Timeout { .. } => "timeout",
        Error::Unavailable { .. } => "unavailable",
        _ => "other",
    };
    let outcome = match err.outcome() {
        Outcome::NotApplied => "not_applied",
        _ => "unknown",
    };
    format!("{kind}_{outcome}")
}

/// What the increments of the shared counter returned.
#[derive(Debug, Default)]
struct Increments {
    /// `Ok(Some(_))`: applied once.
    acked: u64,
    /// `Ok(None)`: the counter did not exist; nothing written.
    missing: u64,
    /// Failed with an unknown outcome, or cancelled: applied at most once.
    unknown: u64,
    /// Failed, not applied.
    not_applied: u64,
}

impl Increments {
    fn record(&mut self, result: &Result<Option<i64>, Error>) {
        match result {
            Ok(Some(_)) => self.acked += 1,
            Ok(None) => self.missing += 1,
            Err(err) if err.outcome() == Outcome::NotApplied => self.not_applied += 1,
            Err(_) => self.unknown += 1,
        }
    }

    fn merge(&mut self, other: &Increments) {
        self.acked += other.acked;
        self.missing += other.missing;
        self.unknown += other.unknown;
        self.not_applied += other.not_applied;
    }

    /// The counter holds at least the `kept` increments the server promises
    /// to keep, and at most every increment that may have run, once each: an
    /// increment sent twice would push it past that.
    fn assert_at_most_once(&self, value: i64, kept: u64) {
        let value = u64::try_from(value).expect("a non-negative counter");
        assert!(
            value <= self.acked + self.unknown,
            "the counter is {value}, more than {} acknowledged + {} unknown increments: \
             an increment was applied twice ({self:?})",
            self.acked,
            self.unknown
        );
        assert!(
            value >= kept,
            "the counter is {value}, below the {kept} acknowledged increments it must keep ({self:?})"
        );
    }

    fn figures(&self, value: i64) -> Vec<(&'static str, String)> {
        vec![
            ("incr_acked", self.acked.to_string()),
            ("incr_unknown", self.unknown.to_string()),
            ("incr_not_applied", self.not_applied.to_string()),
            ("incr_missing", self.missing.to_string()),
            ("counter", value.to_string()),
        ]
    }
}

/// What one id may read as: the last acknowledged version (or nothing, if no
/// write was acknowledged), or any later version whose write's outcome is
/// unknown.
#[derive(Debug, Default, Clone)]
struct Expect {
    acked: Option<u64>,
    maybe: Vec<u64>,
}

#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Ok,
    /// Nothing, where an acknowledged version must be.
    Lost,
    /// A value no write to this id made.
    Mismatched,
}

impl Expect {
    /// Records a write of `version` that failed with `failed` (`None`: acknowledged).
    fn wrote(&mut self, version: u64, failed: Option<Outcome>) {
        match failed {
            None => {
                self.acked = Some(version);
                self.maybe.clear();
            }
            Some(Outcome::NotApplied) => {}
            Some(_) => self.maybe.push(version),
        }
    }

    /// Judges a read, given how version `v` of this id looks (`make(v)`).
    fn check<M: PartialEq>(&self, got: Option<&M>, make: impl Fn(u64) -> M) -> Verdict {
        match got {
            None if self.acked.is_some() => Verdict::Lost,
            None => Verdict::Ok,
            Some(got) => {
                let mut written = self.acked.iter().chain(&self.maybe);
                if written.any(|v| make(*v) == *got) {
                    Verdict::Ok
                } else {
                    Verdict::Mismatched
                }
            }
        }
    }
}

/// How a write failed, if it did.
fn failure<T>(result: &Result<T, Error>) -> Option<Outcome> {
    result.as_ref().err().map(Error::outcome)
}

/// A small deterministic generator (xorshift), so a failing run can be repeated.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}
