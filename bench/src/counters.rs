//! Exact counters per operation, framework against the hand-written baseline:
//! commands (server `INFO commandstats`), requests, round trips and wire bytes
//! (a counting [`Proxy`] in front of each client), and whether both sent
//! byte-identical requests.
//!
//! Both sides start from the same stored state, use the same ids and values,
//! and get one warm-up operation first (it absorbs the one-time `NOSCRIPT`
//! fallback of the scripts).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use redis::Value;
use redis::aio::{ConnectionManager, MultiplexedConnection};
use redis::cluster_async::ClusterConnection;
use redis_runtime::testing::RedisCluster;
use redis_runtime::{Config, Store};

use crate::BenchError;
use crate::handwritten::{self, Batches, BenchModel, PartialModel};
use crate::proxy::{FrameCounter, Proxy, ProxyStats};
use crate::server;

/// One operation shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Op {
    /// `save`.
    Save,
    /// `get`.
    Get,
    /// `delete`.
    Delete,
    /// `set_field` of a string field.
    SetField,
    /// `incr` of an integer field.
    Incr,
    /// `save_many` of this many entities.
    SaveMany(usize),
    /// `get_many` of this many entities.
    GetMany(usize),
    /// `delete_many` of this many entities.
    DeleteMany(usize),
}

impl Op {
    /// Entities one operation touches.
    pub fn entities(self) -> usize {
        match self {
            Op::SaveMany(n) | Op::GetMany(n) | Op::DeleteMany(n) => n,
            _ => 1,
        }
    }

    /// Whether the entities must exist before the operation.
    pub fn needs_data(self) -> bool {
        !matches!(self, Op::Save | Op::SaveMany(_))
    }

    /// The operation's name in reports.
    pub fn name(self) -> String {
        match self {
            Op::Save => "save".into(),
            Op::Get => "get".into(),
            Op::Delete => "delete".into(),
            Op::SetField => "set_field".into(),
            Op::Incr => "incr".into(),
            Op::SaveMany(n) => format!("save_many({n})"),
            Op::GetMany(n) => format!("get_many({n})"),
            Op::DeleteMany(n) => format!("delete_many({n})"),
        }
    }
}

/// The operations of a hash model with partial writes: each single-entity
/// operation, then batches of 16 (the gate's list for M8; the report adds
/// larger batches).
pub const HASH_OPS: [Op; 8] = [
    Op::Save,
    Op::Get,
    Op::Delete,
    Op::SetField,
    Op::Incr,
    Op::SaveMany(16),
    Op::GetMany(16),
    Op::DeleteMany(16),
];

/// [`HASH_OPS`] without the partial writes, for a model stored as one string.
pub const STRING_OPS: [Op; 6] = [
    Op::Save,
    Op::Get,
    Op::Delete,
    Op::SaveMany(16),
    Op::GetMany(16),
    Op::DeleteMany(16),
];

/// Counters of one side, per operation.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PerOp {
    /// Commands the server executed (`INFO commandstats`, including `MULTI`/`EXEC`
    /// and commands called by scripts).
    pub commands: f64,
    /// Which commands, e.g. `del 1, exec 1, hset 1, multi 1, pexpire 1`.
    pub breakdown: String,
    /// RESP requests the client sent.
    pub requests: f64,
    /// Client bursts that had to wait for the server.
    pub round_trips: f64,
    /// Bytes client → server.
    pub bytes_out: f64,
    /// Bytes server → client.
    pub bytes_in: f64,
}

/// The framework against the baseline for one operation.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Comparison {
    /// The framework's counters.
    pub framework: PerOp,
    /// The hand-written baseline's counters.
    pub handwritten: PerOp,
    /// Whether both sent exactly the same request bytes.
    pub identical_requests: bool,
    /// Whether, where the bytes differ, every server (each cluster node)
    /// received the same requests in another order: the concurrent
    /// per-slot requests of a cluster batch reach a node in the order
    /// redis-rs's tasks forward them, which no caller decides.
    pub same_requests_reordered: bool,
    /// Where the requests first differ, when they do.
    pub first_difference: Option<String>,
}

impl Comparison {
    /// Whether every exact counter is equal.
    pub fn counters_equal(&self) -> bool {
        self.counters_equal_but_round_trips()
            && self.framework.round_trips == self.handwritten.round_trips
    }

    /// Whether every exact counter but the round trips is equal: for a batch
    /// sent concurrently to several cluster nodes, how many bursts a node's
    /// share arrives in depends on when redis-rs's connection task for that
    /// node writes, which neither side's code decides.
    pub fn counters_equal_but_round_trips(&self) -> bool {
        let (f, h) = (&self.framework, &self.handwritten);
        f.commands == h.commands
            && f.breakdown == h.breakdown
            && f.requests == h.requests
            && f.bytes_out == h.bytes_out
            && f.bytes_in == h.bytes_in
    }
}

/// A server with one proxied framework store and one proxied baseline connection.
pub struct Env {
    /// A direct connection for setup and `INFO`.
    pub admin: MultiplexedConnection,
    /// In front of the framework's store.
    pub fw_proxy: Proxy,
    /// In front of the baseline's connection.
    pub hw_proxy: Proxy,
    /// The framework, through [`Env::fw_proxy`].
    pub store: Store,
    /// The baseline, through [`Env::hw_proxy`].
    pub raw: ConnectionManager,
}

impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Env")
            .field("fw_proxy", &self.fw_proxy)
            .field("hw_proxy", &self.hw_proxy)
            .finish_non_exhaustive()
    }
}

impl Env {
    /// Connects both sides, each through its own proxy, to the server on `port`.
    pub async fn start(port: u16) -> Result<Env, BenchError> {
        let direct = format!("redis://127.0.0.1:{port}");
        let fw_proxy = Proxy::start(port)?;
        let hw_proxy = Proxy::start(port)?;
        Ok(Env {
            admin: server::admin(&direct).await?,
            store: server::store(&fw_proxy.url()).await?,
            raw: server::baseline(&hw_proxy.url()).await?,
            fw_proxy,
            hw_proxy,
        })
    }
}

/// Runs `op(1..=reps)` after `op(0)` as warm-up, and returns the counters per
/// operation and the request bytes sent during the measured part.
pub async fn measure(
    admin: &mut MultiplexedConnection,
    proxy: &Proxy,
    reps: u64,
    op: impl AsyncFnMut(u64) -> Result<(), BenchError>,
) -> Result<(PerOp, Vec<u8>), BenchError> {
    let (counters, mut requests) = measure_on(
        std::slice::from_mut(admin),
        std::slice::from_ref(proxy),
        reps,
        op,
    )
    .await?;
    Ok((counters, requests.pop().unwrap_or_default()))
}

/// [`measure`] over several servers (the nodes of a cluster): the commands
/// summed over `nodes` (direct connections), the wire counters over
/// `proxies`, and the request bytes each proxy saw.
pub async fn measure_on(
    nodes: &mut [MultiplexedConnection],
    proxies: &[Proxy],
    reps: u64,
    mut op: impl AsyncFnMut(u64) -> Result<(), BenchError>,
) -> Result<(PerOp, Vec<Vec<u8>>), BenchError> {
    op(0).await?;
    let calls_before = calls_on(nodes).await?;
    let before = total_stats(proxies);
    for proxy in proxies {
        proxy.start_recording();
    }
    for i in 1..=reps {
        op(i).await?;
    }
    let requests: Vec<Vec<u8>> = proxies.iter().map(Proxy::take_recording).collect();
    let after = total_stats(proxies);
    let calls_after = calls_on(nodes).await?;
    Ok((
        per_op(
            &server::calls_delta(&calls_before, &calls_after),
            after - before,
            reps,
        ),
        requests,
    ))
}

/// `INFO commandstats` calls summed over `nodes`.
async fn calls_on(
    nodes: &mut [MultiplexedConnection],
) -> Result<BTreeMap<String, u64>, BenchError> {
    let mut total = BTreeMap::new();
    for node in nodes {
        for (name, n) in server::command_calls(node).await? {
            *total.entry(name).or_insert(0) += n;
        }
    }
    Ok(total)
}

fn total_stats(proxies: &[Proxy]) -> ProxyStats {
    proxies
        .iter()
        .map(Proxy::stats)
        .fold(ProxyStats::default(), |a, b| ProxyStats {
            bytes_out: a.bytes_out + b.bytes_out,
            bytes_in: a.bytes_in + b.bytes_in,
            requests: a.requests + b.requests,
            replies: a.replies + b.replies,
            round_trips: a.round_trips + b.round_trips,
        })
}

fn per_op(calls: &BTreeMap<String, u64>, wire: ProxyStats, reps: u64) -> PerOp {
    let reps_f = reps as f64;
    let total: u64 = calls.values().sum();
    let breakdown = calls
        .iter()
        .map(|(name, n)| {
            if n % reps == 0 {
                format!("{name} {}", n / reps)
            } else {
                format!("{name} {:.2}", *n as f64 / reps_f)
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    PerOp {
        commands: total as f64 / reps_f,
        breakdown,
        requests: wire.requests as f64 / reps_f,
        round_trips: wire.round_trips as f64 / reps_f,
        bytes_out: wire.bytes_out as f64 / reps_f,
        bytes_in: wire.bytes_in as f64 / reps_f,
    }
}

/// Where two byte strings first differ, shown with some context.
pub fn first_difference(a: &[u8], b: &[u8]) -> Option<String> {
    if a == b {
        return None;
    }
    let at = a
        .iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    let show = |s: &[u8]| {
        let from = at.saturating_sub(40);
        let to = (at + 40).min(s.len());
        format!("{:?}", String::from_utf8_lossy(&s[from..to]))
    };
    Some(format!(
        "at byte {at} (framework {} B, hand-written {} B): framework …{}…, hand-written …{}…",
        a.len(),
        b.len(),
        show(a),
        show(b)
    ))
}

/// Flushes the data and, when `op` reads or changes existing entities, stores
/// every entity `reps` operations will touch (plus the warm-up's).
pub async fn prepare<M: BenchModel>(
    admin: &mut MultiplexedConnection,
    op: Op,
    reps: u64,
) -> Result<(), BenchError> {
    redis::cmd("FLUSHALL")
        .arg("SYNC")
        .query_async::<()>(admin)
        .await?;
    if op.needs_data() {
        let total = (reps + 1) * op.entities() as u64;
        let models: Vec<M> = (0..total).map(M::sample).collect();
        for chunk in models.chunks(500) {
            handwritten::save_many(admin, chunk).await?;
        }
    }
    Ok(())
}

fn numbers(op: Op, i: u64) -> std::ops::Range<u64> {
    let n = op.entities() as u64;
    i * n..(i + 1) * n
}

/// One framework operation on the entities of repetition `i`, checked.
pub async fn run_framework<M: BenchModel>(store: &Store, op: Op, i: u64) -> Result<(), BenchError> {
    let range = numbers(op, i);
    match op {
        Op::Save => store.save(&M::sample(i)).await?,
        Op::Get => check(store.get::<M>(&M::id_of(i)).await?, i)?,
        Op::Delete => expect(
            store.delete::<M>(&M::id_of(i)).await?,
            "delete found the entity",
        )?,
        Op::SaveMany(_) => {
            let models: Vec<M> = range.map(M::sample).collect();
            store.save_many(&models).await?;
        }
        Op::GetMany(_) => {
            let ids: Vec<M::Id> = range.clone().map(M::id_of).collect();
            for (got, n) in store.get_many::<M>(&ids).await?.into_iter().zip(range) {
                check(got, n)?;
            }
        }
        Op::DeleteMany(n) => {
            let ids: Vec<M::Id> = range.map(M::id_of).collect();
            expect(
                store.delete_many::<M>(&ids).await? == n as u64,
                "delete_many found them all",
            )?;
        }
        Op::SetField | Op::Incr => return Err("partial writes need run_framework_partial".into()),
    }
    Ok(())
}

/// One hand-written operation on the entities of repetition `i`, checked.
pub async fn run_handwritten<M: BenchModel, C: Batches>(
    con: &mut C,
    op: Op,
    i: u64,
) -> Result<(), BenchError> {
    let range = numbers(op, i);
    match op {
        Op::Save => handwritten::save(con, &M::sample(i)).await?,
        Op::Get => check(handwritten::get::<M>(con, i).await?, i)?,
        Op::Delete => expect(
            handwritten::delete::<M>(con, i).await?,
            "delete found the entity",
        )?,
        Op::SaveMany(_) => {
            let models: Vec<M> = range.map(M::sample).collect();
            con.save_many(&models).await?;
        }
        Op::GetMany(_) => {
            let ns: Vec<u64> = range.clone().collect();
            for (got, n) in con.get_many::<M>(&ns).await?.into_iter().zip(range) {
                check(got, n)?;
            }
        }
        Op::DeleteMany(n) => {
            let ns: Vec<u64> = range.collect();
            expect(
                con.delete_many::<M>(&ns).await? == n as u64,
                "delete_many found them all",
            )?;
        }
        Op::SetField | Op::Incr => return Err("partial writes need run_handwritten_partial".into()),
    }
    Ok(())
}

/// The value `set_field` writes in repetition `i`.
pub fn field_value(i: u64) -> String {
    format!("changed{i}@example.com")
}

/// One framework partial write, checked (`incr` of a fresh entity returns its value + 1).
pub async fn run_framework_partial<M: PartialModel>(
    store: &Store,
    op: Op,
    i: u64,
) -> Result<(), BenchError> {
    match op {
        Op::SetField => expect(
            M::fw_set_field(store, &M::id_of(i), &field_value(i)).await?,
            "set_field found the entity",
        ),
        Op::Incr => expect(
            M::fw_incr(store, &M::id_of(i), 1).await? == Some(M::int_value(i) + 1),
            "incr returned the incremented value",
        ),
        _ => run_framework::<M>(store, op, i).await,
    }
}

/// One hand-written partial write, checked.
pub async fn run_handwritten_partial<M: PartialModel, C: Batches>(
    con: &mut C,
    op: Op,
    i: u64,
) -> Result<(), BenchError> {
    match op {
        Op::SetField => expect(
            handwritten::set_field::<M>(con, i, &field_value(i)).await?,
            "set_field found the entity",
        ),
        Op::Incr => expect(
            handwritten::incr::<M>(con, i, 1).await? == Some(M::int_value(i) + 1),
            "incr returned the incremented value",
        ),
        _ => run_handwritten::<M, C>(con, op, i).await,
    }
}

fn check<M: BenchModel>(got: Option<M>, n: u64) -> Result<(), BenchError> {
    match got {
        Some(m) if m == M::sample(n) => Ok(()),
        Some(m) => Err(format!("{}: loaded {m:?}, saved {:?}", M::LABEL, M::sample(n)).into()),
        None => Err(format!("{}: entity {n} missing", M::LABEL).into()),
    }
}

fn expect(ok: bool, what: &str) -> Result<(), BenchError> {
    if ok {
        Ok(())
    } else {
        Err(format!("check failed: {what}").into())
    }
}

/// Measures `op` for the framework and the baseline, `reps` times each.
pub async fn compare<M: BenchModel>(
    env: &mut Env,
    op: Op,
    reps: u64,
) -> Result<Comparison, BenchError> {
    compare_with::<M>(
        env,
        op,
        reps,
        run_framework::<M>,
        run_handwritten::<M, ConnectionManager>,
    )
    .await
}

/// [`compare`] for operations that include partial writes.
pub async fn compare_partial<M: PartialModel>(
    env: &mut Env,
    op: Op,
    reps: u64,
) -> Result<Comparison, BenchError> {
    compare_with::<M>(
        env,
        op,
        reps,
        run_framework_partial::<M>,
        run_handwritten_partial::<M, ConnectionManager>,
    )
    .await
}

/// Measures `framework` and then `handwritten`, each from the same prepared state.
async fn compare_with<M: BenchModel>(
    env: &mut Env,
    op: Op,
    reps: u64,
    framework: impl AsyncFn(&Store, Op, u64) -> Result<(), BenchError>,
    handwritten: impl AsyncFn(&mut ConnectionManager, Op, u64) -> Result<(), BenchError>,
) -> Result<Comparison, BenchError> {
    prepare::<M>(&mut env.admin, op, reps).await?;
    let store = env.store.clone();
    let (fw, fw_bytes) = measure(&mut env.admin, &env.fw_proxy, reps, async |i| {
        framework(&store, op, i).await
    })
    .await?;
    prepare::<M>(&mut env.admin, op, reps).await?;
    let mut raw = env.raw.clone();
    let (hw, hw_bytes) = measure(&mut env.admin, &env.hw_proxy, reps, async |i| {
        handwritten(&mut raw, op, i).await
    })
    .await?;
    Ok(comparison(fw, hw, &fw_bytes, &hw_bytes))
}

fn comparison(framework: PerOp, handwritten: PerOp, fw: &[u8], hw: &[u8]) -> Comparison {
    comparison_per_server(framework, handwritten, &[fw.to_vec()], &[hw.to_vec()])
}

/// The comparison of the request bytes each server (cluster node) received
/// from either side.
fn comparison_per_server(
    framework: PerOp,
    handwritten: PerOp,
    fw: &[Vec<u8>],
    hw: &[Vec<u8>],
) -> Comparison {
    let first_difference = first_difference(&fw.concat(), &hw.concat());
    let same_requests_reordered = first_difference.is_some()
        && fw.len() == hw.len()
        && fw.iter().zip(hw).all(|(f, h)| {
            let (mut f, mut h) = (split_frames(f), split_frames(h));
            f.sort_unstable();
            h.sort_unstable();
            f == h
        });
    Comparison {
        framework,
        handwritten,
        identical_requests: first_difference.is_none(),
        same_requests_reordered,
        first_difference,
    }
}

/// The top-level RESP frames (one request each) of a byte stream.
pub fn split_frames(stream: &[u8]) -> Vec<&[u8]> {
    let mut frames = Vec::new();
    let mut counter = FrameCounter::default();
    let mut start = 0;
    for end in 0..stream.len() {
        if counter.feed(&stream[end..=end]) > 0 {
            frames.push(&stream[start..=end]);
            start = end + 1;
        }
    }
    if start < stream.len() {
        frames.push(&stream[start..]);
    }
    frames
}

/// A private Redis Cluster (3 primaries) whose every node announces a
/// counting [`Proxy`] in front of it as its address: every cluster client
/// (the framework's store, the baseline's cluster connection, the setup
/// connection) learns the proxies from the slot map and reaches each node
/// through its proxy. The framework and the baseline are measured one after
/// the other, so the proxies count one side at a time; commands are counted
/// on every node (`INFO commandstats` over direct connections) and summed.
pub struct ClusterEnv {
    /// Direct connections to every node, for `INFO`.
    pub nodes: Vec<MultiplexedConnection>,
    /// One proxy per node, in the order of [`RedisCluster::nodes`].
    pub proxies: Vec<Proxy>,
    /// Setup (flush, fixtures, scripts): a redis-rs cluster connection.
    pub admin: ClusterConnection,
    /// The framework.
    pub store: Store,
    /// The hand-written baseline ([`handwritten::cluster::connect`]).
    pub raw: ClusterConnection,
    /// The nodes (dropped last).
    pub cluster: RedisCluster,
}

impl std::fmt::Debug for ClusterEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterEnv")
            .field("proxies", &self.proxies)
            .finish_non_exhaustive()
    }
}

/// The ports of every node in a node's `CLUSTER SLOTS` reply.
async fn slot_map_ports(con: &mut MultiplexedConnection) -> Result<BTreeSet<i64>, BenchError> {
    let reply: Value = redis::cmd("CLUSTER").arg("SLOTS").query_async(con).await?;
    let mut ports = BTreeSet::new();
    let Value::Array(ranges) = reply else {
        return Err("unexpected CLUSTER SLOTS reply".into());
    };
    for range in ranges {
        if let Value::Array(range) = range {
            for node in range.into_iter().skip(2) {
                if let Value::Array(node) = node
                    && let Some(Value::Int(port)) = node.get(1)
                {
                    ports.insert(*port);
                }
            }
        }
    }
    Ok(ports)
}

impl ClusterEnv {
    /// Starts the cluster and its proxies, and connects every side through them.
    pub async fn start() -> Result<ClusterEnv, BenchError> {
        let cluster = RedisCluster::builder()
            .arg("--loglevel")
            .arg("warning")
            .start()?;
        let mut nodes = Vec::new();
        let mut proxies = Vec::new();
        for node in cluster.nodes() {
            let port = node.port().ok_or("a cluster node has no TCP port")?;
            let proxy = Proxy::start(port)?;
            let mut con = server::admin(&node.url()).await?;
            redis::cmd("CONFIG")
                .arg("SET")
                .arg("cluster-announce-port")
                .arg(proxy.port())
                .query_async::<()>(&mut con)
                .await?;
            nodes.push(con);
            proxies.push(proxy);
        }
        // Each node announces its own port at once, the others' as gossip
        // brings them (about a second).
        let want: BTreeSet<i64> = proxies.iter().map(|p| i64::from(p.port())).collect();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        'wait: loop {
            for con in &mut nodes {
                if slot_map_ports(con).await? != want {
                    if tokio::time::Instant::now() >= deadline {
                        return Err("the cluster nodes did not announce their proxies".into());
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue 'wait;
                }
            }
            break;
        }
        let urls: Vec<String> = proxies.iter().map(Proxy::url).collect();
        let admin = redis::cluster::ClusterClient::new(urls.clone())?
            .get_async_connection()
            .await?;
        let store = Store::connect(&Config::builder().cluster_nodes(urls.clone()).build()?).await?;
        let raw = handwritten::cluster::connect(&urls).await?;
        Ok(ClusterEnv {
            nodes,
            proxies,
            admin,
            store,
            raw,
            cluster,
        })
    }
}

/// Flushes every primary, loads both scripts on every primary (a node's
/// script cache is its own: without this, whichever side first touched a
/// node would pay its one-time `NOSCRIPT` fallback there) and, when `op`
/// reads or changes existing entities, stores every entity `reps`
/// operations will touch (plus the warm-up's).
pub async fn prepare_cluster<M: BenchModel>(
    admin: &mut ClusterConnection,
    op: Op,
    reps: u64,
) -> Result<(), BenchError> {
    redis::cmd("FLUSHALL")
        .arg("SYNC")
        .query_async::<()>(admin)
        .await?;
    for lua in [handwritten::SET_FIELD_LUA, handwritten::INCR_FIELD_LUA] {
        redis::cmd("SCRIPT")
            .arg("LOAD")
            .arg(lua)
            .query_async::<String>(admin)
            .await?;
    }
    if op.needs_data() {
        let total = (reps + 1) * op.entities() as u64;
        let models: Vec<M> = (0..total).map(M::sample).collect();
        for chunk in models.chunks(500) {
            handwritten::cluster::save_many(admin, chunk).await?;
        }
    }
    Ok(())
}

/// [`compare_partial`] on a cluster: the framework's store and the baseline's
/// cluster connection, each from the same prepared state.
pub async fn compare_cluster<M: PartialModel>(
    env: &mut ClusterEnv,
    op: Op,
    reps: u64,
) -> Result<Comparison, BenchError> {
    prepare_cluster::<M>(&mut env.admin, op, reps).await?;
    let store = env.store.clone();
    let (fw, fw_bytes) = measure_on(&mut env.nodes, &env.proxies, reps, async |i| {
        run_framework_partial::<M>(&store, op, i).await
    })
    .await?;
    prepare_cluster::<M>(&mut env.admin, op, reps).await?;
    let mut raw = env.raw.clone();
    let (hw, hw_bytes) = measure_on(&mut env.nodes, &env.proxies, reps, async |i| {
        run_handwritten_partial::<M, ClusterConnection>(&mut raw, op, i).await
    })
    .await?;
    Ok(comparison_per_server(fw, hw, &fw_bytes, &hw_bytes))
}

#[cfg(test)]
mod tests {
    use super::split_frames;

    #[test]
    fn frames_split_at_request_boundaries() {
        let stream = b"*1\r\n$5\r\nMULTI\r\n*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n*1\r\n$4\r\nEXEC\r\n";
        let frames = split_frames(stream);
        assert_eq!(
            frames,
            [
                &b"*1\r\n$5\r\nMULTI\r\n"[..],
                b"*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n",
                b"*1\r\n$4\r\nEXEC\r\n",
            ]
        );
        assert_eq!(frames.concat(), stream);
        assert!(split_frames(b"").is_empty());
    }
}
