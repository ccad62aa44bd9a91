//! S4: 1 to 256 tasks sharing one handle, on a current_thread runtime (and on
//! a multi_thread(2) one when the runner asks).

use std::future::Future;
use std::ops::Range;
use std::sync::Arc;

use super::common::{
    check, check_loaded, dbsize, flush, progress, rounds_of, sample_of, store_fixtures,
    verify_model, verify_saved,
};
use super::throughput::{RbRun, get_shape, peer_cells, save_shape};
use crate::BenchError;
use crate::handwritten::{self, BenchModel};
use crate::models::{OmUser, User, UserJson, UserMacros};
use crate::peers;
use crate::runner::report::{Section, Table, rate, ratio_cell};
use crate::runner::{Bench, Conns, Paired, Sample, Timer, Variant};

const CONCURRENCY_TARGET: f64 = 0.90;
const TASKS: [usize; 5] = [1, 4, 16, 64, 256];

/// Spawns `k` tasks, task `t` doing `per` operations on entities `t*per..`; the
/// wall time and every task's results.
pub(super) async fn tasks<T, F, Fut>(
    k: usize,
    per: u64,
    make: F,
) -> Result<(Sample, Vec<T>), BenchError>
where
    T: Send + 'static,
    F: Fn(Range<u64>) -> Fut,
    Fut: Future<Output = Result<Vec<T>, BenchError>> + Send + 'static,
{
    let t = Timer::start();
    let handles: Vec<_> = (0..k as u64)
        .map(|task| tokio::spawn(make(task * per..(task + 1) * per)))
        .collect();
    let mut results = Vec::with_capacity(k);
    for h in handles {
        results.push(h.await.map_err(|e| e.to_string())??);
    }
    let sample = t.done(per * k as u64);
    Ok((sample, results.into_iter().flatten().collect()))
}

/// `op` on every entity of `range` in order (one task's work); the results.
pub(super) async fn each<T>(
    range: Range<u64>,
    mut op: impl AsyncFnMut(u64) -> Result<T, BenchError>,
) -> Result<Vec<T>, BenchError> {
    let mut out = Vec::with_capacity(range.clone().count());
    for i in range {
        out.push(op(i).await?);
    }
    Ok(out)
}

/// [`tasks`] of loads of entities `0..k*per`, then each loaded value checked against `sample`.
async fn concurrent_loads<T, F, Fut>(
    what: &str,
    k: usize,
    per: u64,
    sample: fn(u64) -> T,
    make: F,
) -> Result<Sample, BenchError>
where
    T: PartialEq + std::fmt::Debug + Send + 'static,
    F: Fn(Range<u64>) -> Fut,
    Fut: Future<Output = Result<Vec<Option<T>>, BenchError>> + Send + 'static,
{
    let (timing, out) = tasks(k, per, make).await?;
    check_loaded(what, 0..per * k as u64, out, sample)?;
    Ok(timing)
}

async fn concurrent_get<M: BenchModel>(
    b: &mut Bench,
    k: usize,
    peer: Option<Variant>,
) -> Result<Paired, BenchError> {
    let per = b.sizes.concurrent / k as u64;
    let total = per * k as u64;
    let ids: Arc<Vec<M::Id>> = Arc::new((0..total).map(M::id_of).collect());
    let Conns {
        mut admin,
        store,
        raw,
        mut om,
    } = b.conns.clone();
    store_fixtures::<M>(&mut admin, &mut om, peer, 0..total).await?;
    rounds_of(b, peer, async |v, _| match v {
        Variant::Framework => {
            concurrent_loads("framework get", k, per, M::sample, |range| {
                let (store, ids) = (store.clone(), Arc::clone(&ids));
                each(range, async move |i| {
                    Ok(store.get::<M>(&ids[i as usize]).await?)
                })
            })
            .await
        }
        Variant::Handwritten => {
            concurrent_loads("hand-written get", k, per, M::sample, |range| {
                let mut con = raw.clone();
                each(range, async move |i| {
                    handwritten::get::<M>(&mut con, i).await
                })
            })
            .await
        }
        Variant::RedisOm => {
            concurrent_loads("redis-om", k, per, OmUser::sample, |range| {
                let mut con = om.clone();
                each(range, async move |i| {
                    Ok(Some(peers::om_get(&mut con, i).await?))
                })
            })
            .await
        }
        Variant::RedisMacros => {
            concurrent_loads("redis-macros", k, per, UserMacros::sample, |range| {
                let mut con = raw.clone();
                each(range, async move |i| peers::macros_get(&mut con, i).await)
            })
            .await
        }
    })
    .await
}

async fn concurrent_save<M: BenchModel>(b: &mut Bench, k: usize) -> Result<Paired, BenchError> {
    let per = b.sizes.concurrent / k as u64;
    let total = per * k as u64;
    let models: Arc<Vec<M>> = Arc::new((0..total).map(M::sample).collect());
    let Conns {
        mut admin,
        store,
        raw,
        mut om,
    } = b.conns.clone();
    rounds_of(b, None, async |v, _| {
        flush(&mut admin).await?;
        let (sample, _) = if v == Variant::Framework {
            tasks(k, per, |range| {
                let (store, models) = (store.clone(), Arc::clone(&models));
                each(range, async move |i| {
                    Ok(store.save(&models[i as usize]).await?)
                })
            })
            .await?
        } else {
            tasks(k, per, |range| {
                let (mut con, models) = (raw.clone(), Arc::clone(&models));
                each(range, async move |i| {
                    handwritten::save(&mut con, &models[i as usize]).await
                })
            })
            .await?
        };
        verify_saved(
            &mut admin,
            &mut om,
            v,
            sample_of(total),
            verify_model::<M>,
            M::hw_key,
        )
        .await?;
        check(
            dbsize(&mut admin).await? == total,
            "every save stored its entity",
        )?;
        Ok(sample)
    })
    .await
}

/// S4: 1 to 256 tasks on one shared handle.
pub(in crate::runner) async fn concurrency(b: &mut Bench) -> Result<(), BenchError> {
    let mut table = Table::new(
        "",
        &[
            "model",
            "operation",
            "tasks",
            "framework / hand-written",
            "client CPU per op, fw / hw",
            "peer / hand-written",
            "framework / peer",
            "hand-written / rb `-c 1 -P k`",
            "hand-written / rb `-c k -P 1`",
            "framework",
            "hand-written",
            "scaling fw(k)/fw(1) vs hw(k)/hw(1)",
        ],
    );
    let multi = b.flavor != "current_thread";
    let scenario = if multi { "S4 multi_thread(2)" } else { "S4" };
    let cases: Vec<(&str, Option<Variant>)> = if multi {
        vec![("M8 hash get", None), ("M8 hash save", None)]
    } else {
        vec![
            ("M8 hash get", Some(Variant::RedisOm)),
            ("M8 hash save", None),
            ("M8 json get", Some(Variant::RedisMacros)),
        ]
    };
    for (case, peer) in cases {
        let mut base: Option<(f64, f64)> = None;
        for k in TASKS {
            progress(b, &format!("{scenario} {case} k={k}"));
            let total = (b.sizes.concurrent / k as u64) * k as u64;
            let (p, shapes) = match case {
                "M8 hash get" => (
                    concurrent_get::<User>(b, k, peer).await?,
                    [
                        get_shape::<User>(1, k as u32),
                        get_shape::<User>(k as u32, 1),
                    ],
                ),
                "M8 json get" => (
                    concurrent_get::<UserJson>(b, k, peer).await?,
                    [
                        get_shape::<UserJson>(1, k as u32),
                        get_shape::<UserJson>(k as u32, 1),
                    ],
                ),
                _ => {
                    let mut wide = save_shape::<User>(1);
                    wide.clients = k as u32;
                    (
                        concurrent_save::<User>(b, k).await?,
                        [save_shape::<User>(k as u32), wide],
                    )
                }
            };
            // For reads the data concurrent_get stored is still there.
            let mut rb_cells = Vec::new();
            for shape in shapes {
                let mut run = RbRun::new(shape, total, 1.0);
                run.run(b)?;
                rb_cells.push(match run.rate() {
                    Some(r) => format!("{:.3} ({})", p.median(Variant::Handwritten) / r, rate(r)),
                    None => "not run".into(),
                });
            }
            let full = format!("{case} k={k}");
            b.record(
                scenario,
                &full,
                Variant::Framework,
                &p,
                Some(CONCURRENCY_TARGET),
            );
            let (fw, hw) = (p.median(Variant::Framework), p.median(Variant::Handwritten));
            let (fw1, hw1) = *base.get_or_insert((fw, hw));
            let (peer_cell, ahead_cell) = peer_cells(b, scenario, &full, &p, peer);
            table.row(vec![
                case.split(' ').take(2).collect::<Vec<_>>().join(" "),
                case.split(' ').nth(2).unwrap_or("").to_owned(),
                k.to_string(),
                ratio_cell(&p.ratio(Variant::Framework), Some(CONCURRENCY_TARGET)),
                p.cpu_cell(),
                peer_cell,
                ahead_cell,
                rb_cells[0].clone(),
                rb_cells[1].clone(),
                rate(fw),
                rate(hw),
                format!("{:.2} vs {:.2}", fw / fw1, hw / hw1),
            ]);
        }
    }
    table.notes = vec![
        "k tasks (`tokio::spawn`) share one handle: the framework's `Store` clones, the \
         baseline's `ConnectionManager` clones (redis-rs pipelines concurrent requests on its \
         one connection). Target: framework / hand-written ≥ 0.90 at every k. The closest \
         redis-benchmark shape to k requests in flight on one connection is `-c 1 -P k`; \
         `-c k -P 1` is k connections."
            .into(),
    ];
    let title = if multi {
        "S4 — concurrency on a multi_thread(2) runtime (both workers share the harness's core when pinned)"
    } else {
        "S4 — concurrency: 1 to 256 tasks on one shared handle (current_thread)"
    };
    b.report.sections.push(Section {
        title: title.into(),
        intro: vec![format!(
            "{} operations per variant per round, split over k tasks. Every loaded value is \
             compared with what was saved; saves are read back (sample) and counted.",
            b.sizes.concurrent
        )],
        tables: vec![table],
    });
    Ok(())
}
