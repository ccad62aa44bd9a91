//! S1: the client CPU of one save's encode and one load's decode, no I/O.

use std::hint::black_box;

use redis::Value;

use super::common::{check, progress};
use crate::BenchError;
use crate::codec::{fw_decode, fw_save_bytes, hw_decode, hw_save_bytes, stored_reply};
use crate::handwritten::BenchModel;
use crate::models::{Account, User, UserJson, UserMsgpack};
use crate::runner::report::{Section, Table};
use crate::runner::{Bench, Sample, Timer, Variant, paired, target_dir};

const CODEC_TARGET: f64 = 1.05;

fn criterion_median(group: &str, function: &str) -> Option<f64> {
    let path = target_dir()
        .join("criterion")
        .join(group)
        .join(function)
        .join("new/estimates.json");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    json["median"]["point_estimate"].as_f64()
}

async fn codec_model<M: BenchModel>(
    b: &mut Bench,
    table: &mut Table,
    slug: &str,
) -> Result<(), BenchError> {
    progress(b, &format!("S1 codec {}", M::LABEL));
    let samples: Vec<M> = (0..64).map(M::sample).collect();
    for m in &samples {
        check(
            fw_save_bytes(m) == hw_save_bytes(m),
            "framework and hand-written encode the same bytes",
        )?;
        check(
            fw_decode::<M>(stored_reply(m)) == *m,
            "framework decode round-trips",
        )?;
        check(
            hw_decode::<M>(stored_reply(m)) == *m,
            "hand-written decode round-trips",
        )?;
    }
    let iters = b.sizes.codec;
    let rounds = b.sizes.rounds;
    let both = [Variant::Framework, Variant::Handwritten];
    let encode = paired(rounds, &mut b.shuffler, &both, async |v, _| {
        let t = Timer::start();
        for i in 0..iters {
            let m = &samples[(i % 64) as usize];
            black_box(match v {
                Variant::Framework => fw_save_bytes(black_box(m)),
                _ => hw_save_bytes(black_box(m)),
            });
        }
        Ok(t.done(iters))
    })
    .await?;
    let replies: Vec<Value> = samples.iter().map(stored_reply).collect();
    // Decoding consumes the reply: clone 64 at a time outside the clock, as a
    // read decodes a freshly parsed (cache-hot) reply. One big vector of cold
    // clones measures the allocator instead (and penalises whichever decoder
    // frees in a less friendly order).
    let decode = paired(rounds, &mut b.shuffler, &both, async |v, _| {
        let mut wall = std::time::Duration::ZERO;
        let batches = (iters / 64).max(1);
        for _ in 0..batches {
            let values = replies.clone();
            let t = std::time::Instant::now();
            for value in values {
                match v {
                    Variant::Framework => drop(black_box(fw_decode::<M>(black_box(value)))),
                    _ => drop(black_box(hw_decode::<M>(black_box(value)))),
                }
            }
            wall += t.elapsed();
        }
        Ok(Sample {
            per_sec: (batches * 64) as f64 / wall.as_secs_f64(),
            cpu_per_op: None,
        })
    })
    .await?;
    let allocs = b.allocations;
    let count = |f: &mut dyn FnMut()| {
        let before = allocs();
        for _ in 0..100 {
            f();
        }
        (allocs() - before) as f64 / 100.0
    };
    let m = &samples[1];
    let enc_allocs = (
        count(&mut || drop(black_box(fw_save_bytes(m)))),
        count(&mut || drop(black_box(hw_save_bytes(m)))),
    );
    let reply = stored_reply(m);
    let dec_allocs = (
        count(&mut || drop(black_box(fw_decode::<M>(reply.clone())))),
        count(&mut || drop(black_box(hw_decode::<M>(reply.clone())))),
    );
    let clone_allocs = count(&mut || drop(black_box(reply.clone())));
    let wire = fw_save_bytes(m).len();
    for (step, p, allocs, note) in [
        ("encode + pack save", &encode, enc_allocs, 0.0),
        ("decode reply", &decode, dec_allocs, clone_allocs),
    ] {
        // Time ratio: lower is better.
        let time = p.ratio_of(Variant::Handwritten, Variant::Framework);
        let case = format!("{} {step}", M::LABEL);
        if time.median > CODEC_TARGET {
            b.report.missed.push(format!(
                "S1 {case}: framework / hand-written time = {} (target ≤ {CODEC_TARGET})",
                time.show()
            ));
        }
        b.record("S1", &case, Variant::Framework, p, None);
        let group = format!("{slug}_{}", if note == 0.0 { "encode" } else { "decode" });
        let crit = match (
            criterion_median(&group, "framework"),
            criterion_median(&group, "handwritten"),
        ) {
            (Some(f), Some(h)) => format!("{:.3} ({:.0} / {:.0} ns)", f / h, f, h),
            _ => "run `cargo bench -p redis-bench`".into(),
        };
        let time_cell = if time.median > CODEC_TARGET {
            format!("**{}** ⚠", time.show())
        } else {
            time.show()
        };
        table.row(vec![
            M::LABEL.to_owned(),
            step.to_owned(),
            time_cell,
            format!("{:.0}", 1e9 / p.median(Variant::Framework)),
            format!("{:.0}", 1e9 / p.median(Variant::Handwritten)),
            format!("{:.1} / {:.1}", allocs.0 - note, allocs.1 - note),
            crit,
            if note == 0.0 {
                format!("{wire} B, identical")
            } else {
                "—".into()
            },
        ]);
    }
    Ok(())
}

/// S1: encode and decode CPU per model.
pub(in crate::runner) async fn codec(b: &mut Bench) -> Result<(), BenchError> {
    let mut table = Table::new(
        "",
        &[
            "model",
            "step",
            "framework / hand-written time (≤ 1.05)",
            "framework ns",
            "hand-written ns",
            "allocations fw / hw",
            "criterion fw / hw (median)",
            "wire bytes",
        ],
    );
    codec_model::<User>(b, &mut table, "m8_hash").await?;
    codec_model::<Account>(b, &mut table, "m32_hash").await?;
    codec_model::<UserJson>(b, &mut table, "m8_json").await?;
    codec_model::<UserMsgpack>(b, &mut table, "m8_msgpack").await?;
    b.report.sections.push(Section {
        title: "S1 — codec: client CPU per save and per load, no I/O".into(),
        intro: vec![
            "Encode = render the key, encode the value and pack the wire bytes of one full save \
             (hash: `MULTI DEL HSET PEXPIRE EXEC`; strings: `SET k v PX ms`); the framework side \
             mirrors `Store::save` with the runtime's public pieces (`write_key`, `Codec::write_value`), \
             the hand-written side is `Cmd::arg` per field (hash) or `serde_json::to_vec` / \
             `rmp_serde::to_vec_named` (strings). Decode = the framework's `Codec::decode` (what \
             `Store::get` runs) against a hand-written field-by-field decoder / `serde_json::from_slice` / \
             `rmp_serde::from_slice`, on the same reply value. Every sample is checked: both sides \
             pack identical bytes and decode to the saved model."
                .into(),
            "Ratios are paired rounds inside the runner (time ratio: lower is better); the criterion \
             column is filled from `cargo bench -p redis-bench` when its results exist. Allocation \
             counts exclude the reply clone a decode consumes."
                .into(),
        ],
        tables: vec![table],
    });
    Ok(())
}
