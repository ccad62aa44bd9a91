//! Exact counters per operation, framework against the hand-written baseline:
//! commands (server `INFO commandstats`), requests, round trips and wire bytes
//! (a counting [`Proxy`] in front of each client), and whether both sent
//! byte-identical requests.
//!
//! Both sides start from the same stored state, use the same ids and values,
//! and get one warm-up operation first (it absorbs the one-time `NOSCRIPT`
//! fallback of the scripts).

use std::collections::BTreeMap;

use redis::aio::{ConnectionManager, MultiplexedConnection};
use redis_runtime::Store;

use crate::BenchError;
use crate::handwritten::{self, BenchModel, PartialModel};
use crate::proxy::{Proxy, ProxyStats};
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
    /// Where the requests first differ, when they do.
    pub first_difference: Option<String>,
}

impl Comparison {
    /// Whether every exact counter is equal.
    pub fn counters_equal(&self) -> bool {
        let (f, h) = (&self.framework, &self.handwritten);
        f.commands == h.commands
            && f.breakdown == h.breakdown
            && f.requests == h.requests
            && f.round_trips == h.round_trips
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
    mut op: impl AsyncFnMut(u64) -> Result<(), BenchError>,
) -> Result<(PerOp, Vec<u8>), BenchError> {
    op(0).await?;
    let calls_before = server::command_calls(admin).await?;
    let before = proxy.stats();
    proxy.start_recording();
    for i in 1..=reps {
        op(i).await?;
    }
    let requests = proxy.take_recording();
    let after = proxy.stats();
    let calls_after = server::command_calls(admin).await?;
    Ok((
        per_op(
            &server::calls_delta(&calls_before, &calls_after),
            after - before,
            reps,
        ),
        requests,
    ))
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
pub async fn run_handwritten<M: BenchModel>(
    con: &mut ConnectionManager,
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
            handwritten::save_many(con, &models).await?;
        }
        Op::GetMany(_) => {
            let ns: Vec<u64> = range.clone().collect();
            for (got, n) in handwritten::get_many::<M>(con, &ns)
                .await?
                .into_iter()
                .zip(range)
            {
                check(got, n)?;
            }
        }
        Op::DeleteMany(n) => {
            let ns: Vec<u64> = range.collect();
            expect(
                handwritten::delete_many::<M>(con, &ns).await? == n as u64,
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
pub async fn run_handwritten_partial<M: PartialModel>(
    con: &mut ConnectionManager,
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
        _ => run_handwritten::<M>(con, op, i).await,
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
    compare_with::<M>(env, op, reps, run_framework::<M>, run_handwritten::<M>).await
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
        run_handwritten_partial::<M>,
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
    let first_difference = first_difference(fw, hw);
    Comparison {
        framework,
        handwritten,
        identical_requests: first_difference.is_none(),
        first_difference,
    }
}
