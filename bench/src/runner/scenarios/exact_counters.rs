//! The exact counters per operation (commands, round trips, wire bytes,
//! identical requests) and allocations per operation, framework against the
//! hand-written baseline, plus the peer crates for comparison.

use std::ops::Range;

use redis::aio::{ConnectionManager, MultiplexedConnection};
use redis_runtime::{RedisModel, Store};

use super::common::{flush, populate_macros, populate_om, progress};
use crate::BenchError;
use crate::counters::{self, Comparison, Env, HASH_OPS, Op, PerOp, STRING_OPS};
use crate::handwritten::{self, BenchModel, PartialModel};
use crate::models::{Account, OmUser, User, UserJson, UserMacros, UserMsgpack};
use crate::peers;
use crate::proxy::Proxy;
use crate::runner::report::{Section, Table};
use crate::runner::{Bench, Conns};

/// The batches the counters report beyond the gate's ([`HASH_OPS`], [`STRING_OPS`]).
const BIG_BATCHES: [Op; 4] = [
    Op::SaveMany(100),
    Op::GetMany(100),
    Op::SaveMany(1000),
    Op::GetMany(1000),
];

/// Inputs prepared outside the measured loop.
struct Inputs<M: RedisModel> {
    models: Vec<M>,
    ids: Vec<M::Id>,
    values: Vec<String>,
}

impl<M: BenchModel> Inputs<M> {
    fn new(op: Op, reps: u64) -> Inputs<M> {
        let total = (reps + 1) * op.entities() as u64;
        Inputs {
            models: (0..total).map(M::sample).collect(),
            ids: (0..total).map(M::id_of).collect(),
            values: (0..total).map(counters::field_value).collect(),
        }
    }

    fn range(op: Op, i: u64) -> Range<usize> {
        let n = op.entities();
        i as usize * n..(i as usize + 1) * n
    }
}

async fn fw_op<M: BenchModel>(
    store: &Store,
    op: Op,
    i: u64,
    inp: &Inputs<M>,
) -> Result<(), BenchError> {
    let r = Inputs::<M>::range(op, i);
    match op {
        Op::Save => store.save(&inp.models[r.start]).await?,
        Op::Get => drop(store.get::<M>(&inp.ids[r.start]).await?),
        Op::Delete => drop(store.delete::<M>(&inp.ids[r.start]).await?),
        Op::SaveMany(_) => store.save_many(&inp.models[r]).await?,
        Op::GetMany(_) => drop(store.get_many::<M>(&inp.ids[r]).await?),
        Op::DeleteMany(_) => drop(store.delete_many::<M>(&inp.ids[r]).await?),
        Op::SetField | Op::Incr => return Err("partial".into()),
    }
    Ok(())
}

async fn hw_op<M: BenchModel>(
    raw: &mut ConnectionManager,
    op: Op,
    i: u64,
    inp: &Inputs<M>,
    ns: &[u64],
) -> Result<(), BenchError> {
    let r = Inputs::<M>::range(op, i);
    match op {
        Op::Save => handwritten::save(raw, &inp.models[r.start]).await?,
        Op::Get => drop(handwritten::get::<M>(raw, r.start as u64).await?),
        Op::Delete => drop(handwritten::delete::<M>(raw, r.start as u64).await?),
        Op::SaveMany(_) => handwritten::save_many(raw, &inp.models[r]).await?,
        Op::GetMany(_) => drop(handwritten::get_many::<M>(raw, &ns[r]).await?),
        Op::DeleteMany(_) => drop(handwritten::delete_many::<M>(raw, &ns[r]).await?),
        Op::SetField | Op::Incr => return Err("partial".into()),
    }
    Ok(())
}

async fn fw_partial<M: PartialModel>(
    store: &Store,
    op: Op,
    i: u64,
    inp: &Inputs<M>,
) -> Result<(), BenchError> {
    let at = i as usize;
    match op {
        Op::SetField => drop(M::fw_set_field(store, &inp.ids[at], &inp.values[at]).await?),
        Op::Incr => drop(M::fw_incr(store, &inp.ids[at], 1).await?),
        _ => fw_op(store, op, i, inp).await?,
    }
    Ok(())
}

async fn hw_partial<M: PartialModel>(
    raw: &mut ConnectionManager,
    op: Op,
    i: u64,
    inp: &Inputs<M>,
    ns: &[u64],
) -> Result<(), BenchError> {
    match op {
        Op::SetField => drop(handwritten::set_field::<M>(raw, i, &inp.values[i as usize]).await?),
        Op::Incr => drop(handwritten::incr::<M>(raw, i, 1).await?),
        _ => hw_op(raw, op, i, inp, ns).await?,
    }
    Ok(())
}

/// Allocations per operation of `f(1..=reps)` after `f(0)`.
pub(super) async fn allocations(
    count: fn() -> u64,
    reps: u64,
    mut f: impl AsyncFnMut(u64) -> Result<(), BenchError>,
) -> Result<f64, BenchError> {
    f(0).await?;
    let before = count();
    for i in 1..=reps {
        f(i).await?;
    }
    Ok((count() - before) as f64 / reps as f64)
}

/// Allocations per operation of `op`, framework (`fw`) and hand-written (`hw`).
async fn alloc_pair<M: BenchModel>(
    b: &mut Bench,
    op: Op,
    fw: impl AsyncFn(&Store, Op, u64, &Inputs<M>) -> Result<(), BenchError>,
    hw: impl AsyncFn(&mut ConnectionManager, Op, u64, &Inputs<M>, &[u64]) -> Result<(), BenchError>,
) -> Result<(f64, f64), BenchError> {
    let reps = if op.entities() >= 100 {
        10
    } else {
        b.sizes.alloc_reps
    };
    let inp = Inputs::<M>::new(op, reps);
    let ns: Vec<u64> = (0..inp.models.len() as u64).collect();
    let Conns {
        mut admin,
        store,
        mut raw,
        ..
    } = b.conns.clone();
    let count = b.allocations;
    counters::prepare::<M>(&mut admin, op, reps).await?;
    let fw = allocations(count, reps, async |i| fw(&store, op, i, &inp).await).await?;
    counters::prepare::<M>(&mut admin, op, reps).await?;
    let hw = allocations(count, reps, async |i| hw(&mut raw, op, i, &inp, &ns).await).await?;
    Ok((fw, hw))
}

fn pair(f: f64, h: f64, digits: usize) -> String {
    if f == h {
        format!("{f:.digits$} = {h:.digits$}")
    } else {
        format!("**{f:.digits$} ≠ {h:.digits$}**")
    }
}

pub(super) fn counter_row(label: &str, op: Op, c: &Comparison, allocs: (f64, f64)) -> Vec<String> {
    let (f, h) = (&c.framework, &c.handwritten);
    vec![
        label.to_owned(),
        op.name(),
        pair(f.commands, h.commands, 0),
        if f.breakdown == h.breakdown {
            f.breakdown.clone()
        } else {
            format!("**{} ≠ {}**", f.breakdown, h.breakdown)
        },
        pair(f.round_trips, h.round_trips, 2),
        pair(f.bytes_out, h.bytes_out, 1),
        pair(f.bytes_in, h.bytes_in, 1),
        if c.identical_requests {
            "yes".into()
        } else if c.same_requests_reordered {
            "the same requests per node, in another order".into()
        } else {
            format!("**no**: {}", c.first_difference.clone().unwrap_or_default())
        },
        format!("{:.1} / {:.1}", allocs.0, allocs.1),
    ]
}

fn peer_row(label: &str, op: &str, c: &PerOp, allocs: f64) -> Vec<String> {
    vec![
        label.to_owned(),
        op.to_owned(),
        format!("{:.0}", c.commands),
        c.breakdown.clone(),
        format!("{:.2}", c.round_trips),
        format!("{:.1}", c.bytes_out),
        format!("{:.1}", c.bytes_in),
        "—".into(),
        format!("{allocs:.1}"),
    ]
}

/// The counter rows of `ops` on `M`: `compare` measures the counters, `fw`
/// and `hw` run one operation for the allocation counts.
async fn counter_cases<M: BenchModel>(
    b: &mut Bench,
    env: &mut Env,
    table: &mut Table,
    ops: &[Op],
    compare: impl AsyncFn(&mut Env, Op, u64) -> Result<Comparison, BenchError>,
    fw: impl AsyncFn(&Store, Op, u64, &Inputs<M>) -> Result<(), BenchError>,
    hw: impl AsyncFn(&mut ConnectionManager, Op, u64, &Inputs<M>, &[u64]) -> Result<(), BenchError>,
) -> Result<(), BenchError> {
    for &op in ops {
        let reps = if op.entities() >= 100 {
            3
        } else {
            b.sizes.counter_reps
        };
        let c = compare(env, op, reps).await?;
        let allocs = alloc_pair::<M>(b, op, &fw, &hw).await?;
        if !c.counters_equal() || !c.identical_requests {
            b.report.missed.push(format!(
                "counters {} {}: framework differs from hand-written ({:?} vs {:?})",
                M::LABEL,
                op.name(),
                c.framework,
                c.handwritten
            ));
        }
        table.row(counter_row(M::LABEL, op, &c, allocs));
    }
    Ok(())
}

/// The counter rows of a model with partial writes.
async fn partial_counter_cases<M: PartialModel>(
    b: &mut Bench,
    env: &mut Env,
    table: &mut Table,
    ops: &[Op],
) -> Result<(), BenchError> {
    let (fw, hw) = (fw_partial::<M>, hw_partial::<M>);
    counter_cases::<M>(b, env, table, ops, counters::compare_partial::<M>, fw, hw).await
}

/// The counter rows of a model without partial writes.
async fn plain_counter_cases<M: BenchModel>(
    b: &mut Bench,
    env: &mut Env,
    table: &mut Table,
    ops: &[Op],
) -> Result<(), BenchError> {
    counter_cases::<M>(
        b,
        env,
        table,
        ops,
        counters::compare::<M>,
        fw_op::<M>,
        hw_op::<M>,
    )
    .await
}

/// A peer's save, get and delete rows: counters through `proxy`, then
/// allocations. `run` does one operation on `con`; `reset` restores, between
/// the two, the state the operation needs (e.g. the entities a delete removes).
#[allow(clippy::too_many_arguments)]
async fn peer_rows<C>(
    b: &Bench,
    admin: &mut MultiplexedConnection,
    table: &mut Table,
    label: &str,
    proxy: &Proxy,
    con: &mut C,
    mut run: impl AsyncFnMut(&mut C, Op, u64) -> Result<(), BenchError>,
    mut reset: impl AsyncFnMut(
        &mut C,
        &mut MultiplexedConnection,
        Op,
        Range<u64>,
    ) -> Result<(), BenchError>,
) -> Result<(), BenchError> {
    let reps = b.sizes.counter_reps;
    flush(admin).await?;
    for op in [Op::Save, Op::Get, Op::Delete] {
        let (c, _) = counters::measure(admin, proxy, reps, async |i| run(con, op, i).await).await?;
        reset(con, admin, op, 0..reps + 1).await?;
        let a = allocations(b.allocations, reps, async |i| run(con, op, i).await).await?;
        table.row(peer_row(label, &op.name(), &c, a));
    }
    Ok(())
}

async fn peer_counters(b: &mut Bench, env: &mut Env, table: &mut Table) -> Result<(), BenchError> {
    let reps = b.sizes.counter_reps;
    let om_proxy = Proxy::start(b.port)?;
    let mut om = peers::om_connect(&om_proxy.url()).await?;
    let mac_proxy = Proxy::start(b.port)?;
    let mut mac = crate::server::baseline(&mac_proxy.url()).await?;
    let admin = &mut env.admin;

    let mut users: Vec<OmUser> = (0..=reps).map(OmUser::sample).collect();
    peer_rows(
        b,
        admin,
        table,
        "M8 redis-om",
        &om_proxy,
        &mut om,
        async |om, op, i| match op {
            Op::Save => peers::om_save(om, &mut users[i as usize]).await,
            Op::Get => peers::om_get(om, i).await.map(drop),
            _ => peers::om_delete(om, i).await,
        },
        async |om, admin, op, range| match op {
            Op::Save => flush(admin).await,
            Op::Delete => populate_om(om, range).await,
            _ => Ok(()),
        },
    )
    .await?;

    let users: Vec<UserMacros> = (0..=reps).map(UserMacros::sample).collect();
    peer_rows(
        b,
        admin,
        table,
        "M8 redis-macros",
        &mac_proxy,
        &mut mac,
        async |mac, op, i| match op {
            Op::Save => peers::macros_save(mac, &users[i as usize]).await,
            Op::Get => peers::macros_get(mac, i).await.map(drop),
            _ => peers::macros_delete(mac, i).await.map(drop),
        },
        async |_, admin, op, range| match op {
            Op::Delete => populate_macros(admin, range).await,
            _ => Ok(()),
        },
    )
    .await
}

/// The exact counters per operation, framework against hand-written.
pub(in crate::runner) async fn counters(b: &mut Bench) -> Result<(), BenchError> {
    progress(b, "counters");
    let mut env = Env::start(b.port).await?;
    let mut table = Table::new(
        "",
        &[
            "model",
            "operation",
            "commands fw = hw",
            "commands per operation",
            "round trips fw = hw",
            "bytes out fw = hw",
            "bytes in fw = hw",
            "identical request bytes",
            "allocations fw / hw",
        ],
    );
    partial_counter_cases::<User>(
        b,
        &mut env,
        &mut table,
        &[&HASH_OPS[..], &BIG_BATCHES].concat(),
    )
    .await?;
    // M32: the single-entity operations and batches of 16 but for delete_many.
    partial_counter_cases::<Account>(b, &mut env, &mut table, &HASH_OPS[..7]).await?;
    let json_ops = [&STRING_OPS[..], &BIG_BATCHES[2..]].concat();
    plain_counter_cases::<UserJson>(b, &mut env, &mut table, &json_ops).await?;
    plain_counter_cases::<UserMsgpack>(b, &mut env, &mut table, &STRING_OPS[..3]).await?;
    let mut peers_table = Table::new(
        "Peer crates, for comparison (their own keys and layouts; see S2 for what differs):",
        &[
            "peer",
            "operation",
            "commands",
            "commands per operation",
            "round trips",
            "bytes out",
            "bytes in",
            "—",
            "allocations",
        ],
    );
    peer_counters(b, &mut env, &mut peers_table).await?;
    table.notes = vec![
        "Per operation (per batch for `_many`). Commands: server `INFO commandstats` deltas \
         (commands run by scripts and inside `MULTI` count; the harness's `INFO`/`CONFIG` do not). \
         Round trips, requests and bytes: a counting proxy between each client and the server \
         (a round trip = a client burst that starts with every earlier request answered). \
         Allocations: a counting global allocator around the same operations on direct \
         connections (the whole process: encode, the redis-rs connection and driver task, decode). \
         The gate `bench/tests/counters.rs` asserts commands, round trips and bytes are equal and \
         the request bytes identical."
            .into(),
    ];
    b.report.sections.push(Section {
        title: "Counters — commands, round trips, wire bytes and allocations per operation".into(),
        intro: vec![],
        tables: vec![table, peers_table],
    });
    Ok(())
}
