//! Cluster: the framework's `Store` on a private Redis Cluster of 3 primaries
//! against the hand-written redis-rs async cluster client doing the same work
//! (`BENCHMARKS.md`, Method: cluster): sequential single-key operations,
//! batches split by hash slot, 32 concurrent tasks, and the exact counters
//! summed over the nodes.

use std::ops::Range;
use std::sync::Arc;

use redis::cluster_async::ClusterConnection;
use redis_runtime::testing::RedisCluster;
use redis_runtime::{Config, Store};

use super::common::{check, check_loaded, progress, sample_of, timed, timed_loads};
use super::exact_counters::{allocations, counter_row};
use super::s4_concurrency::{each, tasks};
use crate::BenchError;
use crate::counters::{self, ClusterEnv, Comparison, Op};
use crate::handwritten::{self, BenchModel, PartialModel, cluster as hw_cluster};
use crate::models::{Member, TENANTS, User};
use crate::runner::report::{Section, Table, rate, ratio_cell};
use crate::runner::{Bench, Paired, Sample, Variant, paired};

const SEQUENTIAL_TARGET: f64 = 0.95;
const BATCH_TARGET: f64 = 0.95;
const CONCURRENCY_TARGET: f64 = 0.90;
/// Entities per batch.
const BATCH: usize = 100;
/// Tasks sharing one handle in the concurrency cases.
const TASKS: usize = 32;

/// The connections of the cluster cases, each to every node.
#[derive(Clone)]
struct Conns {
    /// Setup and checks: a redis-rs cluster connection with its defaults.
    admin: ClusterConnection,
    /// The framework.
    store: Store,
    /// The hand-written baseline ([`hw_cluster::connect`]).
    raw: ClusterConnection,
}

impl Conns {
    async fn connect(cluster: &RedisCluster) -> Result<Conns, BenchError> {
        let urls = cluster.urls();
        Ok(Conns {
            admin: cluster.raw_connection().await?,
            store: Store::connect(&Config::builder().cluster_nodes(urls.clone()).build()?).await?,
            raw: hw_cluster::connect(&urls).await?,
        })
    }
}

async fn flush(admin: &mut ClusterConnection) -> Result<(), BenchError> {
    // Routed to every primary.
    redis::cmd("FLUSHALL")
        .arg("SYNC")
        .query_async::<()>(admin)
        .await?;
    Ok(())
}

async fn dbsize(admin: &mut ClusterConnection) -> Result<u64, BenchError> {
    // Summed over the primaries.
    Ok(redis::cmd("DBSIZE").query_async(admin).await?)
}

async fn populate<M: BenchModel>(
    admin: &ClusterConnection,
    range: Range<u64>,
) -> Result<(), BenchError> {
    let models: Vec<M> = range.map(M::sample).collect();
    for chunk in models.chunks(500) {
        hw_cluster::save_many(admin, chunk).await?;
    }
    Ok(())
}

/// Reads a sample of the saved entities back by hand, with their TTL.
async fn verify_saved<M: BenchModel>(
    admin: &mut ClusterConnection,
    ns: Vec<u64>,
) -> Result<(), BenchError> {
    for n in ns {
        let got = handwritten::get::<M>(admin, n).await?;
        check_loaded("a save", std::iter::once(n), [got], M::sample)?;
        let ttl: i64 = redis::cmd("PTTL")
            .arg(M::hw_key(n))
            .query_async(admin)
            .await?;
        check(ttl > 0, "a saved entity has its TTL")?;
    }
    Ok(())
}

/// [`paired`] rounds of the framework and the baseline.
async fn rounds(
    b: &mut Bench,
    run: impl AsyncFnMut(Variant, usize) -> Result<Sample, BenchError>,
) -> Result<Paired, BenchError> {
    paired(
        b.sizes.rounds,
        &mut b.shuffler,
        &[Variant::Framework, Variant::Handwritten],
        run,
    )
    .await
}

// ---------------------------------------------------------------------------
// Sequential single-key operations.

async fn seq_save<M: BenchModel>(b: &mut Bench, conns: &Conns) -> Result<Paired, BenchError> {
    let n = b.sizes.sequential;
    let models: Vec<M> = (0..n).map(M::sample).collect();
    let Conns {
        mut admin,
        store,
        mut raw,
    } = conns.clone();
    rounds(b, async |v, _| {
        flush(&mut admin).await?;
        let (per_sec, _) = if v == Variant::Framework {
            timed(n, &models, async |m| Ok(store.save(m).await?)).await?
        } else {
            timed(n, &models, async |m| handwritten::save(&mut raw, m).await).await?
        };
        verify_saved::<M>(&mut admin, sample_of(n)).await?;
        check(
            dbsize(&mut admin).await? == n,
            "every save stored its entity",
        )?;
        Ok(per_sec)
    })
    .await
}

async fn seq_get<M: BenchModel>(b: &mut Bench, conns: &Conns) -> Result<Paired, BenchError> {
    let n = b.sizes.sequential;
    let ids: Vec<M::Id> = (0..n).map(M::id_of).collect();
    let Conns {
        mut admin,
        store,
        mut raw,
    } = conns.clone();
    flush(&mut admin).await?;
    populate::<M>(&admin, 0..n).await?;
    rounds(b, async |v, _| {
        if v == Variant::Framework {
            timed_loads("framework get", n, M::sample, &ids, async |id| {
                Ok([store.get::<M>(id).await?])
            })
            .await
        } else {
            timed_loads("hand-written get", n, M::sample, 0..n, async |i| {
                Ok([handwritten::get::<M>(&mut raw, i).await?])
            })
            .await
        }
    })
    .await
}

async fn seq_delete<M: BenchModel>(b: &mut Bench, conns: &Conns) -> Result<Paired, BenchError> {
    let n = b.sizes.sequential;
    let ids: Vec<M::Id> = (0..n).map(M::id_of).collect();
    let Conns {
        mut admin,
        store,
        mut raw,
    } = conns.clone();
    rounds(b, async |v, _| {
        flush(&mut admin).await?;
        populate::<M>(&admin, 0..n).await?;
        let (per_sec, existed) = if v == Variant::Framework {
            timed(n, &ids, async |id| Ok(store.delete::<M>(id).await?)).await?
        } else {
            timed(n, 0..n, async |i| {
                handwritten::delete::<M>(&mut raw, i).await
            })
            .await?
        };
        check(existed.iter().all(|&e| e), "every delete found its entity")?;
        check(dbsize(&mut admin).await? == 0, "every entity was deleted")?;
        Ok(per_sec)
    })
    .await
}

/// `set_field` (a new value per variant and round) or `incr` (by one).
async fn seq_partial<M: PartialModel>(
    b: &mut Bench,
    conns: &Conns,
    op: Op,
) -> Result<Paired, BenchError> {
    let n = b.sizes.sequential;
    let ids: Vec<M::Id> = (0..n).map(M::id_of).collect();
    let Conns {
        mut admin,
        store,
        mut raw,
    } = conns.clone();
    flush(&mut admin).await?;
    populate::<M>(&admin, 0..n).await?;
    let mut expected: Vec<i64> = (0..n).map(M::int_value).collect();
    rounds(b, async |v, round| {
        if op == Op::Incr {
            let (per_sec, got) = if v == Variant::Framework {
                timed(n, &ids, async |id| Ok(M::fw_incr(&store, id, 1).await?)).await?
            } else {
                timed(n, 0..n, async |i| {
                    handwritten::incr::<M>(&mut raw, i, 1).await
                })
                .await?
            };
            for (want, got) in expected.iter_mut().zip(got) {
                *want += 1;
                check(got == Some(*want), "incr returns the next value")?;
            }
            return Ok(per_sec);
        }
        let values: Vec<String> = (0..n)
            .map(|i| format!("{}-{round}-{i}@example.com", v.name()))
            .collect();
        let (per_sec, applied) = if v == Variant::Framework {
            timed(n, ids.iter().zip(&values), async |(id, value)| {
                Ok(M::fw_set_field(&store, id, value).await?)
            })
            .await?
        } else {
            timed(n, (0..n).zip(&values), async |(i, value)| {
                handwritten::set_field::<M>(&mut raw, i, value).await
            })
            .await?
        };
        check(
            applied.iter().all(|&a| a),
            "every set_field found its entity",
        )?;
        for i in sample_of(n) {
            let stored: String = redis::cmd("HGET")
                .arg(M::hw_key(i))
                .arg(M::STRING_FIELD)
                .query_async(&mut admin)
                .await?;
            check(stored == values[i as usize], "set_field stored the value")?;
        }
        Ok(per_sec)
    })
    .await
}

// ---------------------------------------------------------------------------
// Batches split by hash slot.

fn batch_entities(b: &Bench, op: Op) -> u64 {
    match op {
        Op::DeleteMany(_) => b.sizes.batch_entities * 4,
        _ => b.sizes.batch_entities,
    }
}

async fn batch_op<M: BenchModel>(
    b: &mut Bench,
    conns: &Conns,
    op: Op,
) -> Result<Paired, BenchError> {
    let e = batch_entities(b, op);
    let size = op.entities();
    let models: Vec<M> = (0..e).map(M::sample).collect();
    let ids: Vec<M::Id> = (0..e).map(M::id_of).collect();
    let ns: Vec<u64> = (0..e).collect();
    let Conns {
        mut admin,
        store,
        raw,
    } = conns.clone();
    if let Op::GetMany(_) = op {
        flush(&mut admin).await?;
        populate::<M>(&admin, 0..e).await?;
    }
    rounds(b, async |v, _| {
        let fw = v == Variant::Framework;
        let per_sec = match op {
            Op::SaveMany(_) => {
                flush(&mut admin).await?;
                let (per_sec, _) = if fw {
                    timed(e, models.chunks(size), async |chunk| {
                        Ok(store.save_many(chunk).await?)
                    })
                    .await?
                } else {
                    timed(e, models.chunks(size), async |chunk| {
                        hw_cluster::save_many(&raw, chunk).await
                    })
                    .await?
                };
                verify_saved::<M>(&mut admin, sample_of(e)).await?;
                check(
                    dbsize(&mut admin).await? == e,
                    "save_many stored every entity",
                )?;
                per_sec
            }
            Op::GetMany(_) if fw => {
                timed_loads(
                    "framework get_many",
                    e,
                    M::sample,
                    ids.chunks(size),
                    async |c| Ok(store.get_many::<M>(c).await?),
                )
                .await?
            }
            Op::GetMany(_) => {
                timed_loads(
                    "hand-written get_many",
                    e,
                    M::sample,
                    ns.chunks(size),
                    async |c| hw_cluster::get_many::<M>(&raw, c).await,
                )
                .await?
            }
            _ => {
                flush(&mut admin).await?;
                populate::<M>(&admin, 0..e).await?;
                let (per_sec, deleted) = if fw {
                    timed(e, ids.chunks(size), async |chunk| {
                        Ok(store.delete_many::<M>(chunk).await?)
                    })
                    .await?
                } else {
                    timed(e, ns.chunks(size), async |chunk| {
                        hw_cluster::delete_many::<M>(&raw, chunk).await
                    })
                    .await?
                };
                check(
                    deleted.iter().all(|&d| d == size as u64),
                    "delete_many found every entity",
                )?;
                check(dbsize(&mut admin).await? == 0, "delete_many left nothing")?;
                per_sec
            }
        };
        Ok(per_sec)
    })
    .await
}

/// How many hash slots the first batch of `size` fixtures of `M` spans.
fn slots_of<M: BenchModel>(size: usize) -> usize {
    let keys: Vec<String> = (0..size as u64).map(M::hw_key).collect();
    hw_cluster::slot_groups(&keys).len()
}

// ---------------------------------------------------------------------------
// Concurrency: TASKS tasks on one shared handle.

async fn concurrent_get<M: BenchModel>(b: &mut Bench, conns: &Conns) -> Result<Paired, BenchError> {
    let per = b.sizes.concurrent / TASKS as u64;
    let total = per * TASKS as u64;
    let ids: Arc<Vec<M::Id>> = Arc::new((0..total).map(M::id_of).collect());
    let Conns {
        mut admin,
        store,
        raw,
    } = conns.clone();
    flush(&mut admin).await?;
    populate::<M>(&admin, 0..total).await?;
    rounds(b, async |v, _| {
        let (sample, got) = if v == Variant::Framework {
            tasks(TASKS, per, |range| {
                let (store, ids) = (store.clone(), Arc::clone(&ids));
                each(range, async move |i| {
                    Ok(store.get::<M>(&ids[i as usize]).await?)
                })
            })
            .await?
        } else {
            tasks(TASKS, per, |range| {
                let mut con = raw.clone();
                each(range, async move |i| {
                    handwritten::get::<M>(&mut con, i).await
                })
            })
            .await?
        };
        check_loaded("a concurrent get", 0..total, got, M::sample)?;
        Ok(sample)
    })
    .await
}

async fn concurrent_save<M: BenchModel>(
    b: &mut Bench,
    conns: &Conns,
) -> Result<Paired, BenchError> {
    let per = b.sizes.concurrent / TASKS as u64;
    let total = per * TASKS as u64;
    let models: Arc<Vec<M>> = Arc::new((0..total).map(M::sample).collect());
    let Conns {
        mut admin,
        store,
        raw,
    } = conns.clone();
    rounds(b, async |v, _| {
        flush(&mut admin).await?;
        let (sample, _) = if v == Variant::Framework {
            tasks(TASKS, per, |range| {
                let (store, models) = (store.clone(), Arc::clone(&models));
                each(range, async move |i| {
                    Ok(store.save(&models[i as usize]).await?)
                })
            })
            .await?
        } else {
            tasks(TASKS, per, |range| {
                let (mut con, models) = (raw.clone(), Arc::clone(&models));
                each(range, async move |i| {
                    handwritten::save(&mut con, &models[i as usize]).await
                })
            })
            .await?
        };
        verify_saved::<M>(&mut admin, sample_of(total)).await?;
        check(
            dbsize(&mut admin).await? == total,
            "every save stored its entity",
        )?;
        Ok(sample)
    })
    .await
}

// ---------------------------------------------------------------------------
// Exact counters and allocations.

/// Allocations per operation of `op`, framework and hand-written, on the
/// direct cluster connections.
async fn alloc_pair<M: PartialModel>(
    b: &Bench,
    conns: &Conns,
    op: Op,
) -> Result<(f64, f64), BenchError> {
    let reps = if op.entities() >= 100 {
        10
    } else {
        b.sizes.alloc_reps
    };
    let Conns {
        mut admin,
        store,
        mut raw,
    } = conns.clone();
    counters::prepare_cluster::<M>(&mut admin, op, reps).await?;
    let fw = allocations(b.allocations, reps, async |i| {
        counters::run_framework_partial::<M>(&store, op, i).await
    })
    .await?;
    counters::prepare_cluster::<M>(&mut admin, op, reps).await?;
    let hw = allocations(b.allocations, reps, async |i| {
        counters::run_handwritten_partial::<M, ClusterConnection>(&mut raw, op, i).await
    })
    .await?;
    Ok((fw, hw))
}

async fn counter_cases<M: PartialModel>(
    b: &mut Bench,
    env: &mut ClusterEnv,
    conns: &Conns,
    table: &mut Table,
    ops: &[Op],
) -> Result<(), BenchError> {
    for &op in ops {
        progress(b, &format!("cluster counters {} {}", M::LABEL, op.name()));
        let reps = if op.entities() >= 100 {
            3
        } else {
            b.sizes.counter_reps
        };
        let c: Comparison = counters::compare_cluster::<M>(env, op, reps).await?;
        let allocs = alloc_pair::<M>(b, conns, op).await?;
        // A batch goes to several nodes at once: its round trips, and the
        // order its per-slot requests reach a node in, are shown, not held
        // to equality.
        let equal = if op.entities() > 1 {
            c.counters_equal_but_round_trips()
                && (c.identical_requests || c.same_requests_reordered)
        } else {
            c.counters_equal() && c.identical_requests
        };
        if !equal {
            b.report.missed.push(format!(
                "cluster counters {} {}: framework differs from hand-written ({:?} vs {:?})",
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

// ---------------------------------------------------------------------------
// The scenario.

/// One row of the throughput table.
fn row(
    b: &mut Bench,
    table: &mut Table,
    (label, op, shape): (&str, &str, String),
    p: &Paired,
    target: f64,
) {
    let case = format!("{label} {op}");
    b.record("cluster", &case, Variant::Framework, p, Some(target));
    table.row(vec![
        label.to_owned(),
        op.to_owned(),
        shape,
        ratio_cell(&p.ratio(Variant::Framework), Some(target)),
        p.cpu_cell(),
        rate(p.median(Variant::Framework)),
        rate(p.median(Variant::Handwritten)),
    ]);
}

/// The cluster scenario on `cluster` (started and pinned by the runner).
pub(in crate::runner) async fn cluster(
    b: &mut Bench,
    cluster: &RedisCluster,
) -> Result<(), BenchError> {
    let conns = Conns::connect(cluster).await?;
    let mut table = Table::new(
        "",
        &[
            "model",
            "operation",
            "what goes to the cluster",
            "framework / hand-written",
            "client CPU per op, fw / hw",
            "framework",
            "hand-written",
        ],
    );

    let script = |name: &str| format!("`EVALSHA` of the {name} script, on the key's slot");
    let sequential: [(Op, String); 5] = [
        (
            Op::Save,
            "`MULTI DEL HSET PEXPIRE EXEC` on the key's slot".into(),
        ),
        (Op::Get, "`HGETALL`".into()),
        (Op::Delete, "`DEL`".into()),
        (Op::SetField, script("set-field")),
        (Op::Incr, script("increment")),
    ];
    for (op, shape) in sequential {
        progress(b, &format!("cluster {} {}", User::LABEL, op.name()));
        let p = match op {
            Op::Save => seq_save::<User>(b, &conns).await?,
            Op::Get => seq_get::<User>(b, &conns).await?,
            Op::Delete => seq_delete::<User>(b, &conns).await?,
            _ => seq_partial::<User>(b, &conns, op).await?,
        };
        let name = op.name();
        row(
            b,
            &mut table,
            (User::LABEL, &name, shape),
            &p,
            SEQUENTIAL_TARGET,
        );
    }

    let tagged = slots_of::<Member>(BATCH);
    let untagged = slots_of::<User>(BATCH);
    let batches: [(Op, bool, String); 4] = [
        (
            Op::SaveMany(BATCH),
            true,
            format!(
                "{tagged} `MULTI .. EXEC` (one per slot: {TENANTS} tenants), `DEL HSET PEXPIRE` per entity, concurrent"
            ),
        ),
        (
            Op::GetMany(BATCH),
            true,
            format!("{tagged} pipelines of `HGETALL` (one per slot), concurrent"),
        ),
        (
            Op::DeleteMany(BATCH),
            true,
            format!("{tagged} `DEL` (one per slot), concurrent"),
        ),
        (
            Op::GetMany(BATCH),
            false,
            format!(
                "{untagged} pipelines of one `HGETALL` (no hash tag: {untagged} slots), concurrent"
            ),
        ),
    ];
    for (op, tenants, shape) in batches {
        let label = if tenants { Member::LABEL } else { User::LABEL };
        progress(b, &format!("cluster {label} {}", op.name()));
        let p = if tenants {
            batch_op::<Member>(b, &conns, op).await?
        } else {
            batch_op::<User>(b, &conns, op).await?
        };
        let name = op.name();
        row(b, &mut table, (label, &name, shape), &p, BATCH_TARGET);
    }

    for op in [Op::Get, Op::Save] {
        let name = format!("{} × {TASKS} tasks", op.name());
        progress(b, &format!("cluster {} {name}", User::LABEL));
        let (p, shape) = if op == Op::Get {
            (concurrent_get::<User>(b, &conns).await?, "`HGETALL`")
        } else {
            (
                concurrent_save::<User>(b, &conns).await?,
                "`MULTI DEL HSET PEXPIRE EXEC`",
            )
        };
        let shape = format!("{shape}; {TASKS} in flight over the nodes' connections");
        row(
            b,
            &mut table,
            (User::LABEL, &name, shape),
            &p,
            CONCURRENCY_TARGET,
        );
    }
    table.notes = vec![
        "Ratios: median of per-round throughput ratios, (p10–p90) over the rounds. Targets as \
         on one server: framework / hand-written ≥ 0.95 sequential and batch, ≥ 0.90 with \
         concurrent tasks (⚠ marks a miss). CPU: the harness's CPU time per operation (entity, \
         for batches), all threads, the same pairing. Throughput in operations (entities, for \
         batches) per second."
            .into(),
        format!(
            "M8T: the M8 user in one of {TENANTS} tenants, the tenant as the key's hash tag; a \
             batch of {BATCH} consecutive fixtures covers every tenant, so it spans {tagged} \
             slots on all 3 primaries. M8 keys have no hash tag: a batch of {BATCH} spans \
             {untagged} slots, one command each."
        ),
    ];

    progress(b, "cluster counters");
    let mut env = ClusterEnv::start().await?;
    let mut counters_table = Table::new(
        "Exact counters on the cluster, per operation (per batch for `_many`), summed over the \
         nodes:",
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
    counter_cases::<User>(
        b,
        &mut env,
        &conns,
        &mut counters_table,
        &[
            Op::Save,
            Op::Get,
            Op::Delete,
            Op::SetField,
            Op::Incr,
            Op::GetMany(16),
            Op::GetMany(BATCH),
        ],
    )
    .await?;
    counter_cases::<Member>(
        b,
        &mut env,
        &conns,
        &mut counters_table,
        &[
            Op::SaveMany(BATCH),
            Op::GetMany(BATCH),
            Op::DeleteMany(BATCH),
        ],
    )
    .await?;
    drop(env);
    counters_table.notes = vec![
        "Commands: `INFO commandstats` deltas summed over the 3 nodes. Round trips, requests \
         and bytes: a counting proxy in front of each node, which the node announces as its \
         address (`cluster-announce-port`), so that both clients reach every node through it; \
         the two sides are measured one after the other on a second private cluster, from the \
         same stored state, with both scripts loaded on every node first. A round trip is \
         counted per node: a batch over 3 nodes is about 3, sent concurrently. Request bytes \
         are compared node by node. Allocations: the counting allocator around the same \
         operations on the direct cluster connections. The gate `bench/tests/counters.rs` \
         asserts the same equalities on a cluster."
            .into(),
    ];

    b.report.sections.push(Section {
        title: "Cluster — the Store on a 3-primary Redis Cluster against redis-rs's cluster client"
            .into(),
        intro: vec![format!(
            "{} operations per variant per round for single-key operations ({} split over \
             {TASKS} tasks for the concurrent ones), {} entities for batches of {BATCH} ({} for \
             `delete_many`), tokio current_thread; the framework's `Store` and the baseline's \
             redis-rs `cluster_async::ClusterConnection` each keep one multiplexed connection \
             per node. Every loaded value is compared with what was saved; saves are read back \
             (sample) with their TTL and counted; deletes must find every entity; increments \
             must return exactly the next value.",
            b.sizes.sequential,
            b.sizes.concurrent,
            b.sizes.batch_entities,
            b.sizes.batch_entities * 4,
        )],
        tables: vec![table, counters_table],
    });
    Ok(())
}
