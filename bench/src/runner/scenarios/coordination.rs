//! The collections scenario's rows for models with indexes: a save with 0,
//! 1 and 3 indexes (`Staff0`, `Staff1`, `Staff3`) and a find by an index,
//! against `handwritten::coordination` (the gate
//! `tests/coordination_counters.rs` proves both send the same bytes).

use super::common::{check, flush, rounds_of, timed};
use crate::BenchError;
use crate::handwritten::coordination as hw;
use crate::models::{Staff0, Staff1, Staff3};
use crate::runner::{Bench, Conns, Paired, Variant};

/// Orgs the fixtures spread over (`n % 10`), and roles (`n % 4`).
const ORGS: u64 = 10;

/// Saves of `0..n`, every one new (flushed before each run); checks the
/// index of org 0 afterwards on both sides.
pub(super) async fn save(b: &mut Bench, indexes: u8) -> Result<Paired, BenchError> {
    let n = b.sizes.sequential;
    let Conns {
        mut admin,
        store,
        mut raw,
        ..
    } = b.conns.clone();
    rounds_of(b, None, async |v, _| {
        flush(&mut admin).await?;
        let (per_sec, _) = match (v, indexes) {
            (Variant::Framework, 0) => {
                timed(n, 0..n, async |i| {
                    Ok(store.save(&Staff0::sample(i)).await?)
                })
                .await?
            }
            (Variant::Framework, 1) => {
                timed(n, 0..n, async |i| {
                    Ok(store.save(&Staff1::sample(i)).await?)
                })
                .await?
            }
            (Variant::Framework, _) => {
                timed(n, 0..n, async |i| {
                    Ok(store.save(&Staff3::sample(i)).await?)
                })
                .await?
            }
            (_, 0) => {
                timed(n, 0..n, async |i| {
                    hw::save_staff0(&mut raw, &Staff0::sample(i)).await
                })
                .await?
            }
            (_, 1) => {
                timed(n, 0..n, async |i| {
                    hw::save_staff1(&mut raw, &Staff1::sample(i)).await
                })
                .await?
            }
            (_, _) => {
                timed(n, 0..n, async |i| {
                    hw::save_staff3(&mut raw, &Staff3::sample(i)).await
                })
                .await?
            }
        };
        let size: u64 = redis::cmd("DBSIZE").query_async(&mut admin).await?;
        // Entities, plus per org one key per index.
        let expected = n + ORGS.min(n) * u64::from(indexes);
        check(size == expected, "every entity and index key stored")?;
        Ok(per_sec)
    })
    .await
}

/// Finds by role in org `i % 10`, role `i % 4` of `n` stored staff.
pub(super) async fn find(b: &mut Bench) -> Result<Paired, BenchError> {
    let n = b.sizes.sequential;
    let Conns {
        mut admin,
        store,
        mut raw,
        ..
    } = b.conns.clone();
    flush(&mut admin).await?;
    for i in 0..n {
        store.save(&Staff1::sample(i)).await?;
    }
    let expected = |i: u64| {
        (0..n)
            .filter(|k| k % ORGS == i % ORGS && k % 4 == i % 4)
            .count()
    };
    rounds_of(b, None, async |v, _| {
        let (per_sec, got) = if v == Variant::Framework {
            timed(n, 0..n, async |i| {
                let role = format!("role{}", i % 4);
                Ok(Staff1::find_by_role(&store, &(i % ORGS), &role)
                    .await?
                    .len())
            })
            .await?
        } else {
            timed(n, 0..n, async |i| {
                let role = format!("role{}", i % 4);
                Ok(hw::find_staff1_by_role(&mut raw, i % ORGS, &role)
                    .await?
                    .len())
            })
            .await?
        };
        for (i, got) in (0..n).zip(got) {
            check(got == expected(i), "a find returns every match")?;
        }
        Ok(per_sec)
    })
    .await
}
