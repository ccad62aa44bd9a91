//! S3: batches of 16, 100 and 1000 entities, one round trip per batch.

use super::common::{
    check, dbsize, flush, populate, populate_macros, progress, rounds_of, sample_of, timed,
    timed_loads, verify_variant,
};
use super::throughput::{RbRun, THROUGHPUT_HEADERS, get_shape, save_shape, throughput_row};
use crate::BenchError;
use crate::counters::Op;
use crate::handwritten::{self, BenchModel};
use crate::models::{User, UserJson, UserMacros};
use crate::peers;
use crate::rb::RbShape;
use crate::runner::report::{Section, Table};
use crate::runner::{Bench, Conns, Paired, Variant};

const BATCH_TARGET: f64 = 0.95;
const BATCH_SIZES: [usize; 3] = [16, 100, 1000];

/// Entities per variant per round: `delete_many` is so cheap (millions of
/// entities per second) that it gets four times as many, so that a run lasts
/// long enough to time.
fn batch_entities(b: &Bench, op: Op) -> u64 {
    match op {
        Op::DeleteMany(_) => b.sizes.batch_entities * 4,
        _ => b.sizes.batch_entities,
    }
}

async fn batch_op<M: BenchModel>(
    b: &mut Bench,
    op: Op,
    peer: Option<Variant>,
) -> Result<Paired, BenchError> {
    let e = batch_entities(b, op);
    let size = op.entities();
    let models: Vec<M> = (0..e).map(M::sample).collect();
    let macros_users: Vec<UserMacros> = (0..e).map(UserMacros::sample).collect();
    let ids: Vec<M::Id> = (0..e).map(M::id_of).collect();
    let ns: Vec<u64> = (0..e).collect();
    let Conns {
        mut admin,
        store,
        mut raw,
        ..
    } = b.conns.clone();
    if let Op::GetMany(_) = op {
        flush(&mut admin).await?;
        populate::<M>(&mut admin, 0..e).await?;
        if peer == Some(Variant::RedisMacros) {
            populate_macros(&mut admin, 0..e).await?;
        }
    }
    rounds_of(b, peer, async |v, _| {
        match op {
            Op::SaveMany(_) => flush(&mut admin).await?,
            Op::DeleteMany(_) => {
                flush(&mut admin).await?;
                if v == Variant::RedisMacros {
                    populate_macros(&mut admin, 0..e).await?;
                } else {
                    populate::<M>(&mut admin, 0..e).await?;
                }
            }
            _ => {}
        }
        let per_sec = match (op, v) {
            (Op::SaveMany(_), Variant::Framework) => {
                timed(e, models.chunks(size), async |chunk| {
                    Ok(store.save_many(chunk).await?)
                })
                .await?
                .0
            }
            (Op::SaveMany(_), Variant::Handwritten) => {
                timed(e, models.chunks(size), async |chunk| {
                    handwritten::save_many(&mut raw, chunk).await
                })
                .await?
                .0
            }
            (Op::SaveMany(_), _) => {
                timed(e, macros_users.chunks(size), async |chunk| {
                    peers::macros_save_many(&mut raw, chunk).await
                })
                .await?
                .0
            }
            (Op::GetMany(_), Variant::Framework) => {
                timed_loads(
                    "framework get_many",
                    e,
                    M::sample,
                    ids.chunks(size),
                    async |c| Ok(store.get_many::<M>(c).await?),
                )
                .await?
            }
            (Op::GetMany(_), Variant::Handwritten) => {
                timed_loads(
                    "hand-written get_many",
                    e,
                    M::sample,
                    ns.chunks(size),
                    async |c| handwritten::get_many::<M>(&mut raw, c).await,
                )
                .await?
            }
            (Op::GetMany(_), _) => {
                timed_loads(
                    "redis-macros",
                    e,
                    UserMacros::sample,
                    ns.chunks(size),
                    async |c| peers::macros_get_many(&mut raw, c).await,
                )
                .await?
            }
            (Op::DeleteMany(_), v) => {
                let (sample, deleted) = match v {
                    Variant::Framework => {
                        timed(e, ids.chunks(size), async |chunk| {
                            Ok(store.delete_many::<M>(chunk).await?)
                        })
                        .await?
                    }
                    Variant::Handwritten => {
                        timed(e, ns.chunks(size), async |chunk| {
                            handwritten::delete_many::<M>(&mut raw, chunk).await
                        })
                        .await?
                    }
                    _ => {
                        timed(e, ns.chunks(size), async |chunk| {
                            peers::macros_delete_many(&mut raw, chunk).await
                        })
                        .await?
                    }
                };
                check(
                    deleted.iter().all(|&d| d == size as u64),
                    "delete_many found every entity",
                )?;
                check(dbsize(&mut admin).await? == 0, "delete_many left nothing")?;
                sample
            }
            _ => return Err("not a batch operation".into()),
        };
        if let Op::SaveMany(_) = op {
            for n in sample_of(e) {
                verify_variant::<M>(&mut admin, v, n).await?;
            }
            check(
                dbsize(&mut admin).await? == e,
                "save_many stored every entity",
            )?;
        }
        Ok(per_sec)
    })
    .await
}

async fn batch_model<M: BenchModel>(
    b: &mut Bench,
    table: &mut Table,
    peer: Option<Variant>,
) -> Result<(), BenchError> {
    for size in BATCH_SIZES {
        for op in [Op::SaveMany(size), Op::GetMany(size), Op::DeleteMany(size)] {
            let e = batch_entities(b, op);
            progress(b, &format!("S3 {} {}", M::LABEL, op.name()));
            let p32 = size as u32;
            let mut rb = match op {
                Op::SaveMany(_) => RbRun::new(save_shape::<M>(p32), e, 1.0),
                Op::GetMany(_) if M::HASH => RbRun::new(get_shape::<M>(1, p32), e, 1.0),
                Op::GetMany(_) => {
                    let mut command = vec!["MGET".to_owned()];
                    command.extend((0..size as u64).map(M::hw_key));
                    RbRun::new(RbShape::new(1, 1, command), e / size as u64, size as f64)
                }
                _ => {
                    let mut command = vec!["DEL".to_owned()];
                    command.extend((0..size).map(|_| "bench:rb:__rand_int__".to_owned()));
                    RbRun::new(RbShape::new(1, 1, command), e / size as u64, size as f64)
                }
            };
            let p = batch_op::<M>(b, op, peer).await?;
            if let Op::GetMany(_) = op {
                // The data batch_op stored is still there for the reads.
                rb.run(b)?;
                rb.run(b)?;
            } else {
                rb.run(b)?;
            }
            let name = op.name();
            let row = (M::LABEL, name.as_str(), peer, Some(&rb), BATCH_TARGET);
            throughput_row(b, table, "S3", row, &p);
        }
    }
    Ok(())
}

/// S3: batches of 16, 100 and 1000.
pub(in crate::runner) async fn batch(b: &mut Bench) -> Result<(), BenchError> {
    let mut table = Table::new("", &THROUGHPUT_HEADERS);
    batch_model::<User>(b, &mut table, None).await?;
    batch_model::<UserJson>(b, &mut table, Some(Variant::RedisMacros)).await?;
    table.notes = vec![
        "Throughput in entities per second. Hash `save_many` is one `MULTI .. EXEC` with \
         `DEL HSET PEXPIRE` per entity; string `save_many` is one `MULTI .. EXEC` of `SET .. PX`; \
         `get_many` is a pipeline of `HGETALL` (hash) or one `MGET`; `delete_many` is one `DEL`. \
         The hand-written baseline sends the same commands; redis-macros runs the same shapes \
         with its serde values. redis-om has no batch API."
            .into(),
        "redis-benchmark shapes: `-P N` repeats the per-entity command (`HSET` alone for a hash \
         save, without `MULTI`/`DEL`/`PEXPIRE`/`EXEC`); `MGET`/`DEL` of N keys are one command \
         (`-P 1`), counted as N entities."
            .into(),
    ];
    b.report.sections.push(Section {
        title: "S3 — batches of 16, 100 and 1000".into(),
        intro: vec![format!(
            "{} entities per variant per round ({} for `delete_many`), in batches of N, tokio \
             current_thread; one round trip per batch. Every loaded value is compared with what was saved, saves \
             are read back (sample) and counted, deletes must find every entity.",
            b.sizes.batch_entities,
            b.sizes.batch_entities * 4
        )],
        tables: vec![table],
    });
    Ok(())
}
