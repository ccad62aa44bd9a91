//! The collections scenario's rows for event streams (`Orders`): an append,
//! a consumer's read-and-acknowledge of a batch of 10, and the consumer
//! runner's throughput, against `handwritten::streams` (the gate
//! `tests/stream_counters.rs` proves the append and the read-and-ack send
//! the same bytes).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::common::{check, flush, rounds_of, timed};
use crate::BenchError;
use crate::handwritten::streams as hw;
use crate::models::{Order, Orders};
use crate::runner::{Bench, Conns, Paired, Timer, Variant};
use redis_runtime::stream::StartAt;

/// The shop every row uses.
const SHOP: u64 = 1;
/// Entries per consumer batch.
const BATCH: usize = 10;

/// Appends of orders `0..n` to one stream (trimmed `MAXLEN ~ 10000`).
pub(super) async fn append(b: &mut Bench) -> Result<Paired, BenchError> {
    let n = b.sizes.sequential;
    let Conns {
        mut admin,
        store,
        mut raw,
        ..
    } = b.conns.clone();
    rounds_of(b, None, async |v, _| {
        flush(&mut admin).await?;
        let (per_sec, _) = if v == Variant::Framework {
            timed(n, 0..n, async |i| {
                store
                    .stream::<Orders>(&SHOP)
                    .append(&Order::sample(i))
                    .await?;
                Ok(())
            })
            .await?
        } else {
            timed(n, 0..n, async |i| {
                hw::append(&mut raw, SHOP, &Order::sample(i)).await?;
                Ok(())
            })
            .await?
        };
        let len: u64 = redis::cmd("XLEN")
            .arg(hw::orders_key(SHOP))
            .query_async(&mut admin)
            .await?;
        check(len == n.min(10_000) || len > 10_000, "every order appended")?;
        Ok(per_sec)
    })
    .await
}

/// Seeds `n` orders and a group reading from the start.
async fn seed(b: &Bench, n: u64) -> Result<(), BenchError> {
    let Conns {
        mut admin, store, ..
    } = b.conns.clone();
    flush(&mut admin).await?;
    let orders = store.stream::<Orders>(&SHOP);
    let all: Vec<Order> = (0..n).map(Order::sample).collect();
    for chunk in all.chunks(500) {
        orders.append_many(chunk).await?;
    }
    Ok(())
}

/// A consumer reads batches of 10 new orders and acknowledges each batch
/// (two round trips per batch), through `n` orders.
pub(super) async fn read_ack(b: &mut Bench) -> Result<Paired, BenchError> {
    let n = b.sizes.sequential;
    seed(b, n).await?;
    let Conns { store, mut raw, .. } = b.conns.clone();
    let batches = n.div_ceil(BATCH as u64);
    rounds_of(b, None, async |v, round| {
        let group = format!("{}-{round}", v.name());
        let orders = store.stream::<Orders>(&SHOP);
        orders.group(&group).create(StartAt::Beginning).await?;
        let (per_sec, got) = if v == Variant::Framework {
            let g = orders.group(&group);
            timed(batches, 0..batches, async |_| {
                let batch = g.read("c", BATCH, None).await?;
                let ids: Vec<_> = batch.iter().map(|d| d.id).collect();
                let mut sum = 0;
                for d in &batch {
                    sum += d.event.as_ref().map_or(0, |o| o.qty);
                }
                g.ack(&ids).await?;
                Ok((batch.len(), sum))
            })
            .await?
        } else {
            timed(batches, 0..batches, async |_| {
                let mut sum = 0;
                let len = hw::consume(&mut raw, SHOP, &group, "c", BATCH, |o| sum += o.qty).await?;
                Ok((len, sum))
            })
            .await?
        };
        let read: usize = got.iter().map(|(len, _)| len).sum();
        check(read as u64 == n, "every order read once")?;
        orders.group(&group).destroy().await?;
        Ok(per_sec)
    })
    .await
}

/// The consumer runner (`concurrency` 64, `batch` 64) through `n` orders,
/// against a hand-written loop that reads 64 at a time, handles them in
/// turn and acknowledges each batch with one `XACK`.
pub(super) async fn runner(b: &mut Bench) -> Result<Paired, BenchError> {
    let n = b.sizes.sequential;
    seed(b, n).await?;
    let Conns { store, mut raw, .. } = b.conns.clone();
    rounds_of(b, None, async |v, round| {
        let group = format!("run-{}-{round}", v.name());
        let orders = store.stream::<Orders>(&SHOP);
        orders.group(&group).create(StartAt::Beginning).await?;
        let done = Arc::new(AtomicU64::new(0));
        let timer = Timer::start();
        if v == Variant::Framework {
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
            let handled = done.clone();
            let handle = orders
                .group(&group)
                .runner("c")
                .concurrency(64)
                .batch(64)
                .spawn(move |m| {
                    let handled = handled.clone();
                    let tx = tx.clone();
                    async move {
                        std::hint::black_box(m.event.qty);
                        if handled.fetch_add(1, Ordering::Relaxed) + 1 == n {
                            let _ = tx.send(());
                        }
                        Ok::<(), String>(())
                    }
                });
            rx.recv().await;
            handle.stop().await?;
        } else {
            loop {
                let got = hw::consume(&mut raw, SHOP, &group, "c", 64, |o| {
                    std::hint::black_box(o.qty);
                })
                .await?;
                if got == 0 {
                    break;
                }
                done.fetch_add(got as u64, Ordering::Relaxed);
            }
        }
        let sample = timer.done(n);
        check(done.load(Ordering::Relaxed) == n, "every order handled")?;
        check(
            orders.group(&group).pending().await? == 0,
            "every order acknowledged",
        )?;
        orders.group(&group).destroy().await?;
        Ok(sample)
    })
    .await
}
