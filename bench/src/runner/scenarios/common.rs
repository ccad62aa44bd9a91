//! What every scenario shares: progress lines, resetting and filling the
//! server, timed loops, checks that every variant returned the right data, and
//! the paired rounds of the framework, the baseline and a peer.

use std::ops::Range;

use redis::aio::MultiplexedConnection;

use crate::BenchError;
use crate::handwritten::{self, BenchModel};
use crate::models::{OmUser, UserMacros};
use crate::peers::{self, OmConnection};
use crate::runner::{Bench, Paired, Sample, Timer, Variant, paired};

pub(super) fn progress(b: &Bench, what: &str) {
    eprintln!(
        "  {:>5.0} s [{}] {what}",
        b.started.elapsed().as_secs_f64(),
        b.flavor
    );
}

pub(super) async fn flush(admin: &mut MultiplexedConnection) -> Result<(), BenchError> {
    redis::cmd("FLUSHALL")
        .arg("SYNC")
        .query_async::<()>(admin)
        .await?;
    Ok(())
}

pub(super) async fn dbsize(admin: &mut MultiplexedConnection) -> Result<u64, BenchError> {
    Ok(redis::cmd("DBSIZE").query_async(admin).await?)
}

pub(super) async fn populate<M: BenchModel>(
    admin: &mut MultiplexedConnection,
    range: Range<u64>,
) -> Result<(), BenchError> {
    let models: Vec<M> = range.map(M::sample).collect();
    for chunk in models.chunks(500) {
        handwritten::save_many(admin, chunk).await?;
    }
    Ok(())
}

pub(super) async fn populate_om(
    om: &mut OmConnection,
    range: Range<u64>,
) -> Result<(), BenchError> {
    for n in range {
        peers::om_save(om, &mut OmUser::sample(n)).await?;
    }
    Ok(())
}

pub(super) async fn populate_macros(
    admin: &mut MultiplexedConnection,
    range: Range<u64>,
) -> Result<(), BenchError> {
    let users: Vec<UserMacros> = range.map(UserMacros::sample).collect();
    for chunk in users.chunks(500) {
        peers::macros_save_many(admin, chunk).await?;
    }
    Ok(())
}

/// Flushes, then stores fixtures `range` (by hand) and, under its own keys, the peer's.
pub(super) async fn store_fixtures<M: BenchModel>(
    admin: &mut MultiplexedConnection,
    om: &mut OmConnection,
    peer: Option<Variant>,
    range: Range<u64>,
) -> Result<(), BenchError> {
    flush(admin).await?;
    populate::<M>(admin, range.clone()).await?;
    match peer {
        Some(Variant::RedisOm) => populate_om(om, range).await,
        Some(Variant::RedisMacros) => populate_macros(admin, range).await,
        _ => Ok(()),
    }
}

fn mismatch(
    what: &str,
    n: u64,
    got: &dyn std::fmt::Debug,
    want: &dyn std::fmt::Debug,
) -> BenchError {
    format!("WRONG DATA from {what} for entity {n}: loaded {got:?}, saved {want:?}").into()
}

/// Checks that what was loaded for each of `ns` is `sample(n)`, and that
/// something was loaded.
pub(super) fn check_loaded<T: PartialEq + std::fmt::Debug>(
    what: &str,
    ns: impl Iterator<Item = u64>,
    got: impl IntoIterator<Item = Option<T>>,
    sample: fn(u64) -> T,
) -> Result<(), BenchError> {
    let mut count = 0;
    for (n, got) in ns.zip(got) {
        count += 1;
        let want = sample(n);
        if got.as_ref() != Some(&want) {
            return Err(mismatch(what, n, &got, &want));
        }
    }
    if count == 0 {
        return Err(format!("{what}: nothing loaded").into());
    }
    Ok(())
}

/// Runs `op` on each item in order, the loop timed as `ops` operations; the results.
pub(super) async fn timed<I, T>(
    ops: u64,
    items: impl IntoIterator<Item = I>,
    mut op: impl AsyncFnMut(I) -> Result<T, BenchError>,
) -> Result<(Sample, Vec<T>), BenchError> {
    let items = items.into_iter();
    let mut out = Vec::with_capacity(items.size_hint().0);
    let t = Timer::start();
    for item in items {
        out.push(op(item).await?);
    }
    Ok((t.done(ops), out))
}

/// [`timed`] loads of entities `0..ops` (one or a batch per item), then
/// checks each loaded value against `sample`.
pub(super) async fn timed_loads<I, R, T>(
    what: &str,
    ops: u64,
    sample: fn(u64) -> T,
    items: impl IntoIterator<Item = I>,
    load: impl AsyncFnMut(I) -> Result<R, BenchError>,
) -> Result<Sample, BenchError>
where
    R: IntoIterator<Item = Option<T>>,
    T: PartialEq + std::fmt::Debug,
{
    let (timing, out) = timed(ops, items, load).await?;
    check_loaded(what, 0..ops, out.into_iter().flatten(), sample)?;
    Ok(timing)
}

pub(super) fn check(ok: bool, what: &str) -> Result<(), BenchError> {
    if ok {
        Ok(())
    } else {
        Err(format!("WRONG RESULT: {what}").into())
    }
}

/// Reads a sample of what a variant saved back by hand, and checks its TTL.
pub(super) async fn verify_saved(
    admin: &mut MultiplexedConnection,
    om: &mut OmConnection,
    variant: Variant,
    ns: Vec<u64>,
    read: impl AsyncFnMut(&mut MultiplexedConnection, u64) -> Result<(), BenchError>,
    ttl_key: impl Fn(u64) -> String,
) -> Result<(), BenchError> {
    let mut read = read;
    for &n in &ns {
        match variant {
            Variant::RedisOm => {
                let got = peers::om_get(om, n).await?;
                if got != OmUser::sample(n) {
                    return Err(mismatch("redis-om save", n, &got, &OmUser::sample(n)));
                }
            }
            _ => {
                read(admin, n).await?;
                let ttl: i64 = redis::cmd("PTTL")
                    .arg(ttl_key(n))
                    .query_async(admin)
                    .await?;
                check(ttl > 0, "a saved entity has its TTL")?;
            }
        }
    }
    Ok(())
}

pub(super) async fn verify_model<M: BenchModel>(
    admin: &mut MultiplexedConnection,
    n: u64,
) -> Result<(), BenchError> {
    let got = handwritten::get::<M>(admin, n).await?;
    check_loaded("a save", std::iter::once(n), [got], M::sample)
}

async fn verify_macros_model(admin: &mut MultiplexedConnection, n: u64) -> Result<(), BenchError> {
    let got = peers::macros_get(admin, n).await?;
    check_loaded(
        "redis-macros",
        std::iter::once(n),
        [got],
        UserMacros::sample,
    )
}

/// Reads a saved entity back (by hand for the framework and the baseline).
pub(super) async fn verify_variant<M: BenchModel>(
    admin: &mut MultiplexedConnection,
    v: Variant,
    n: u64,
) -> Result<(), BenchError> {
    if v == Variant::RedisMacros {
        verify_macros_model(admin, n).await
    } else {
        verify_model::<M>(admin, n).await
    }
}

/// [`paired`] rounds of the framework, the baseline and `peer`.
pub(super) async fn rounds_of(
    b: &mut Bench,
    peer: Option<Variant>,
    run: impl AsyncFnMut(Variant, usize) -> Result<Sample, BenchError>,
) -> Result<Paired, BenchError> {
    paired(b.sizes.rounds, &mut b.shuffler, &variants(peer), run).await
}

pub(super) fn sample_of(n: u64) -> Vec<u64> {
    let step = (n / 40).max(1) as usize;
    (0..n).step_by(step).collect()
}

fn variants(peer: Option<Variant>) -> Vec<Variant> {
    let mut v = vec![Variant::Framework, Variant::Handwritten];
    v.extend(peer);
    v
}
