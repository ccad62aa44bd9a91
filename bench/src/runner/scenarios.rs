//! The scenarios of performance.md §6.2: S1 codec, S2 sequential, S3 batches,
//! S4 concurrency, S7 memory, and the exact counters.

use std::future::Future;
use std::hint::black_box;
use std::ops::Range;
use std::sync::Arc;

use redis::Value;
use redis::aio::{ConnectionManager, MultiplexedConnection};
use redis_runtime::{RedisModel, Store};

use super::report::{Section, Table, rate, ratio_cell};
use super::{Bench, Conns, Paired, Sample, Timer, Variant, paired};
use crate::BenchError;
use crate::codec::{fw_decode, fw_save_bytes, hw_decode, hw_save_bytes, stored_reply};
use crate::counters::{self, Comparison, Env, HASH_OPS, Op, PerOp, STRING_OPS};
use crate::handwritten::{self, BenchModel, PartialModel};
use crate::models::{Account, OmUser, USER_TTL_MS, User, UserJson, UserMacros, UserMsgpack};
use crate::peers::{self, OmConnection};
use crate::proxy::Proxy;
use crate::rb::{self, RbShape};

const SEQUENTIAL_TARGET: f64 = 0.95;
const BATCH_TARGET: f64 = 0.95;
const CONCURRENCY_TARGET: f64 = 0.90;
const CODEC_TARGET: f64 = 1.05;
const BATCH_SIZES: [usize; 3] = [16, 100, 1000];
/// The batches the counters report beyond the gate's ([`HASH_OPS`], [`STRING_OPS`]).
const BIG_BATCHES: [Op; 4] = [
    Op::SaveMany(100),
    Op::GetMany(100),
    Op::SaveMany(1000),
    Op::GetMany(1000),
];
const TASKS: [usize; 5] = [1, 4, 16, 64, 256];

// ---------------------------------------------------------------------------
// Shared helpers.

fn progress(b: &Bench, what: &str) {
    eprintln!(
        "  {:>5.0} s [{}] {what}",
        b.started.elapsed().as_secs_f64(),
        b.flavor
    );
}

async fn flush(admin: &mut MultiplexedConnection) -> Result<(), BenchError> {
    redis::cmd("FLUSHALL")
        .arg("SYNC")
        .query_async::<()>(admin)
        .await?;
    Ok(())
}

async fn dbsize(admin: &mut MultiplexedConnection) -> Result<u64, BenchError> {
    Ok(redis::cmd("DBSIZE").query_async(admin).await?)
}

async fn populate<M: BenchModel>(
    admin: &mut MultiplexedConnection,
    range: Range<u64>,
) -> Result<(), BenchError> {
    let models: Vec<M> = range.map(M::sample).collect();
    for chunk in models.chunks(500) {
        handwritten::save_many(admin, chunk).await?;
    }
    Ok(())
}

async fn populate_om(om: &mut OmConnection, range: Range<u64>) -> Result<(), BenchError> {
    for n in range {
        peers::om_save(om, &mut OmUser::sample(n)).await?;
    }
    Ok(())
}

async fn populate_macros(
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
async fn store_fixtures<M: BenchModel>(
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
fn check_loaded<T: PartialEq + std::fmt::Debug>(
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
async fn timed<I, T>(
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
async fn timed_loads<I, R, T>(
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

fn check(ok: bool, what: &str) -> Result<(), BenchError> {
    if ok {
        Ok(())
    } else {
        Err(format!("WRONG RESULT: {what}").into())
    }
}

/// Reads a sample of what a variant saved back by hand, and checks its TTL.
async fn verify_saved(
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

async fn verify_model<M: BenchModel>(
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
async fn verify_variant<M: BenchModel>(
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
async fn rounds_of(
    b: &mut Bench,
    peer: Option<Variant>,
    run: impl AsyncFnMut(Variant, usize) -> Result<Sample, BenchError>,
) -> Result<Paired, BenchError> {
    paired(b.sizes.rounds, &mut b.shuffler, &variants(peer), run).await
}

fn sample_of(n: u64) -> Vec<u64> {
    let step = (n / 40).max(1) as usize;
    (0..n).step_by(step).collect()
}

fn variants(peer: Option<Variant>) -> Vec<Variant> {
    let mut v = vec![Variant::Framework, Variant::Handwritten];
    v.extend(peer);
    v
}

/// The stored hash fields (or the string value) of fixture `n`, for redis-benchmark.
fn payload_args<M: BenchModel>(n: u64) -> Vec<String> {
    match stored_reply(&M::sample(n)) {
        Value::Array(items) => items
            .into_iter()
            .map(|v| match v {
                Value::BulkString(b) => String::from_utf8_lossy(&b).into_owned(),
                _ => String::new(),
            })
            .collect(),
        Value::BulkString(b) => match String::from_utf8(b) {
            Ok(s) => vec![s],
            // Binary payloads (MessagePack) cannot travel through argv: same length instead.
            Err(e) => vec!["x".repeat(e.into_bytes().len())],
        },
        _ => Vec::new(),
    }
}

fn save_shape<M: BenchModel>(pipeline: u32) -> RbShape {
    let mut command: Vec<String> = if M::HASH {
        vec!["HSET".into(), "bench:rb:__rand_int__".into()]
    } else {
        vec!["SET".into(), "bench:rb:__rand_int__".into()]
    };
    command.extend(payload_args::<M>(1));
    if !M::HASH {
        command.extend(["PX".into(), USER_TTL_MS.to_string()]);
    }
    RbShape::new(1, pipeline, command)
}

fn get_shape<M: BenchModel>(clients: u32, pipeline: u32) -> RbShape {
    let verb = if M::HASH { "HGETALL" } else { "GET" };
    RbShape::new(clients, pipeline, vec![verb.into(), M::hw_key(0)])
}

fn script_shape(sha: &str, key: String, args: &[&str]) -> RbShape {
    let mut command = vec!["EVALSHA".to_owned(), sha.to_owned(), "1".to_owned(), key];
    command.extend(args.iter().map(|a| (*a).to_owned()));
    RbShape::new(1, 1, command)
}

/// The throughput of a redis-benchmark shape, run before and after the paired rounds.
struct RbRun {
    shape: RbShape,
    requests: u64,
    /// Entities per request (for single commands over several keys).
    per_request: f64,
    rates: Vec<f64>,
}

impl RbRun {
    fn new(shape: RbShape, requests: u64, per_request: f64) -> RbRun {
        RbRun {
            shape,
            requests,
            per_request,
            rates: Vec::new(),
        }
    }

    fn run(&mut self, b: &Bench) -> Result<(), BenchError> {
        if b.rb {
            let r = rb::run(b.port, &self.shape, self.requests.max(200))?;
            self.rates.push(r * self.per_request);
        }
        Ok(())
    }

    fn rate(&self) -> Option<f64> {
        (!self.rates.is_empty()).then(|| self.rates.iter().sum::<f64>() / self.rates.len() as f64)
    }
}

/// What a throughput row shows: model label, operation, peer, redis-benchmark run, target.
type RowOf<'a> = (&'a str, &'a str, Option<Variant>, Option<&'a RbRun>, f64);

/// One row of a throughput table.
fn throughput_row(b: &mut Bench, table: &mut Table, scenario: &str, row: RowOf<'_>, p: &Paired) {
    let (label, op, peer, rb, target) = row;
    let case = format!("{label} {op}");
    b.record(scenario, &case, Variant::Framework, p, Some(target));
    let peer_cells = peer_cells(b, scenario, &case, p, peer);
    let (rb_cell, rb_shape) = match rb {
        Some(run) => match run.rate() {
            Some(r) => (
                format!("{:.3} ({})", p.median(Variant::Handwritten) / r, rate(r)),
                format!("`{}`", run.shape.describe()),
            ),
            None => ("not run".into(), format!("`{}`", run.shape.describe())),
        },
        None => ("—".into(), "—".into()),
    };
    table.row(vec![
        label.to_owned(),
        op.to_owned(),
        ratio_cell(&p.ratio(Variant::Framework), Some(target)),
        p.cpu_cell(),
        peer_cells.0,
        peer_cells.1,
        rb_cell,
        rate(p.median(Variant::Framework)),
        rate(p.median(Variant::Handwritten)),
        rb_shape,
    ]);
}

/// Records the peer's result and returns its two cells (peer / hand-written,
/// framework / peer); dashes without a peer.
fn peer_cells(
    b: &mut Bench,
    scenario: &str,
    case: &str,
    p: &Paired,
    peer: Option<Variant>,
) -> (String, String) {
    match peer {
        Some(v) => {
            b.record(scenario, case, v, p, None);
            let ahead = p.ratio_of(Variant::Framework, v);
            versus_peer(b, scenario, case, v, &ahead);
            (peer_cell(p, v), peer_verdict(&ahead))
        }
        None => ("—".into(), "—".into()),
    }
}

/// Records a miss when the framework is clearly behind a peer (even the p90 of
/// framework / peer is below 1); a spread that includes 1 is a tie.
fn versus_peer(
    b: &mut Bench,
    scenario: &str,
    case: &str,
    v: Variant,
    ahead: &crate::stats::Spread,
) {
    if ahead.p90 < 1.0 {
        b.report.missed.push(format!(
            "{scenario} {case}: framework / {} = {} (target: ahead; clearly behind)",
            v.name(),
            ahead.show()
        ));
    } else if ahead.p10 <= 1.0 {
        b.report.ties.push(format!(
            "{scenario} {case}: framework / {} = {}",
            v.name(),
            ahead.show()
        ));
    }
}

/// `1.08 (1.03–1.12) ahead`, `0.99 (0.95–1.04) level`, `**0.92 (0.90–0.95) behind** ⚠`.
fn peer_verdict(ahead: &crate::stats::Spread) -> String {
    if ahead.p90 < 1.0 {
        format!("**{} behind** ⚠", ahead.show())
    } else if ahead.p10 > 1.0 {
        format!("{} ahead", ahead.show())
    } else {
        format!("{} level", ahead.show())
    }
}

/// `redis-om 1.02 (0.99–1.05), CPU 1.31`: the peer's throughput and client CPU over the baseline's.
fn peer_cell(p: &Paired, v: Variant) -> String {
    match p.cpu_ratio(v) {
        Some(cpu) => format!("{} {}, CPU {:.2}", v.name(), p.ratio(v).show(), cpu.median),
        None => format!("{} {}", v.name(), p.ratio(v).show()),
    }
}

const THROUGHPUT_HEADERS: [&str; 10] = [
    "model",
    "operation",
    "framework / hand-written",
    "client CPU per op, fw / hw",
    "peer / hand-written",
    "framework / peer",
    "hand-written / redis-benchmark",
    "framework",
    "hand-written",
    "redis-benchmark shape",
];

// ---------------------------------------------------------------------------
// S1: codec.

fn criterion_median(group: &str, function: &str) -> Option<f64> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../target").into());
    let path = target
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
pub(super) async fn codec(b: &mut Bench) -> Result<(), BenchError> {
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

// ---------------------------------------------------------------------------
// S2: sequential operations.

async fn seq_save<M: BenchModel>(
    b: &mut Bench,
    peer: Option<Variant>,
) -> Result<Paired, BenchError> {
    let n = b.sizes.sequential;
    let models: Vec<M> = (0..n).map(M::sample).collect();
    let mut om_users: Vec<OmUser> = (0..n).map(OmUser::sample).collect();
    let macros_users: Vec<UserMacros> = (0..n).map(UserMacros::sample).collect();
    let Conns {
        mut admin,
        store,
        mut raw,
        mut om,
    } = b.conns.clone();
    rounds_of(b, peer, async |v, _| {
        flush(&mut admin).await?;
        let (per_sec, _) = match v {
            Variant::Framework => timed(n, &models, async |m| Ok(store.save(m).await?)).await?,
            Variant::Handwritten => {
                timed(n, &models, async |m| handwritten::save(&mut raw, m).await).await?
            }
            Variant::RedisOm => {
                timed(n, om_users.iter_mut(), async |u| {
                    peers::om_save(&mut om, u).await
                })
                .await?
            }
            Variant::RedisMacros => {
                timed(n, &macros_users, async |u| {
                    peers::macros_save(&mut raw, u).await
                })
                .await?
            }
        };
        let key = |i| {
            if v == Variant::RedisMacros {
                peers::macros_key(i)
            } else {
                M::hw_key(i)
            }
        };
        verify_saved(
            &mut admin,
            &mut om,
            v,
            sample_of(n),
            async |admin, i| verify_variant::<M>(admin, v, i).await,
            key,
        )
        .await?;
        Ok(per_sec)
    })
    .await
}

async fn seq_get<M: BenchModel>(
    b: &mut Bench,
    peer: Option<Variant>,
) -> Result<Paired, BenchError> {
    let n = b.sizes.sequential;
    let ids: Vec<M::Id> = (0..n).map(M::id_of).collect();
    let Conns {
        mut admin,
        store,
        mut raw,
        mut om,
    } = b.conns.clone();
    store_fixtures::<M>(&mut admin, &mut om, peer, 0..n).await?;
    rounds_of(b, peer, async |v, _| match v {
        Variant::Framework => {
            timed_loads("framework get", n, M::sample, &ids, async |id| {
                Ok([store.get::<M>(id).await?])
            })
            .await
        }
        Variant::Handwritten => {
            timed_loads("hand-written get", n, M::sample, 0..n, async |i| {
                Ok([handwritten::get::<M>(&mut raw, i).await?])
            })
            .await
        }
        Variant::RedisOm => {
            timed_loads("redis-om", n, OmUser::sample, 0..n, async |i| {
                Ok([Some(peers::om_get(&mut om, i).await?)])
            })
            .await
        }
        Variant::RedisMacros => {
            timed_loads("redis-macros", n, UserMacros::sample, 0..n, async |i| {
                Ok([peers::macros_get(&mut raw, i).await?])
            })
            .await
        }
    })
    .await
}

async fn seq_delete<M: BenchModel>(
    b: &mut Bench,
    peer: Option<Variant>,
) -> Result<Paired, BenchError> {
    let n = b.sizes.sequential;
    let ids: Vec<M::Id> = (0..n).map(M::id_of).collect();
    let Conns {
        mut admin,
        store,
        mut raw,
        mut om,
    } = b.conns.clone();
    rounds_of(b, peer, async |v, _| {
        flush(&mut admin).await?;
        match v {
            Variant::RedisOm => populate_om(&mut om, 0..n).await?,
            Variant::RedisMacros => populate_macros(&mut admin, 0..n).await?,
            _ => populate::<M>(&mut admin, 0..n).await?,
        }
        let (per_sec, existed) = match v {
            Variant::Framework => {
                timed(n, &ids, async |id| Ok(store.delete::<M>(id).await?)).await?
            }
            Variant::Handwritten => {
                timed(n, 0..n, async |i| {
                    handwritten::delete::<M>(&mut raw, i).await
                })
                .await?
            }
            Variant::RedisOm => {
                timed(n, 0..n, async |i| {
                    peers::om_delete(&mut om, i).await.map(|()| true)
                })
                .await?
            }
            Variant::RedisMacros => {
                timed(n, 0..n, async |i| peers::macros_delete(&mut raw, i).await).await?
            }
        };
        check(existed.iter().all(|&e| e), "every delete found its entity")?;
        check(dbsize(&mut admin).await? == 0, "every entity was deleted")?;
        Ok(per_sec)
    })
    .await
}

/// S2 `set_field` (a string field, a new value per variant and round) or
/// `incr` (the integer field, by one).
async fn seq_partial_op<M: PartialModel>(b: &mut Bench, op: Op) -> Result<Paired, BenchError> {
    let n = b.sizes.sequential;
    let ids: Vec<M::Id> = (0..n).map(M::id_of).collect();
    let Conns {
        mut admin,
        store,
        mut raw,
        ..
    } = b.conns.clone();
    flush(&mut admin).await?;
    populate::<M>(&mut admin, 0..n).await?;
    let mut expected: Vec<i64> = (0..n).map(M::int_value).collect();
    rounds_of(b, None, async |v, round| {
        if op == Op::Incr {
            let (per_sec, got) = if v == Variant::Framework {
                timed(n, &ids, async |id| Ok(M::fw_incr(&store, id, 1).await?)).await?
            } else {
                timed(n, 0..n, async |i| {
                    handwritten::incr::<M>(&mut raw, i, 1).await
                })
                .await?
            };
            // Counters must move by exactly one per increment, whoever increments.
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

async fn seq_model<M: BenchModel>(
    b: &mut Bench,
    table: &mut Table,
    peer: Option<Variant>,
) -> Result<(), BenchError> {
    let n = b.sizes.sequential;
    for op in [Op::Save, Op::Get, Op::Delete] {
        progress(b, &format!("S2 {} {}", M::LABEL, op.name()));
        let shape = match op {
            Op::Save => save_shape::<M>(1),
            Op::Get => get_shape::<M>(1, 1),
            _ => RbShape::new(1, 1, vec!["DEL".into(), "bench:rb:__rand_int__".into()]),
        };
        let mut rb = RbRun::new(shape, n, 1.0);
        // seq_get stores the data; redis-benchmark reads one of the stored
        // keys, so it runs twice after the rounds instead of around them.
        if op != Op::Get {
            rb.run(b)?;
        }
        let p = match op {
            Op::Save => seq_save::<M>(b, peer).await?,
            Op::Get => seq_get::<M>(b, peer).await?,
            _ => seq_delete::<M>(b, peer).await?,
        };
        rb.run(b)?;
        if op == Op::Get {
            rb.run(b)?;
        }
        let name = op.name();
        let row = (M::LABEL, name.as_str(), peer, Some(&rb), SEQUENTIAL_TARGET);
        throughput_row(b, table, "S2", row, &p);
    }
    Ok(())
}

async fn seq_partial<M: PartialModel>(b: &mut Bench, table: &mut Table) -> Result<(), BenchError> {
    let n = b.sizes.sequential;
    let mut admin = b.conns.admin.clone();
    let (min, max) = M::INT_BOUNDS;
    for op in [Op::SetField, Op::Incr] {
        progress(b, &format!("S2 {} {}", M::LABEL, op.name()));
        let (p, script, lua, args) = if op == Op::SetField {
            (
                seq_partial_op::<M>(b, op).await?,
                &handwritten::SET_FIELD,
                handwritten::SET_FIELD_LUA,
                vec![M::STRING_FIELD, "rb@example.com"],
            )
        } else {
            (
                seq_partial_op::<M>(b, op).await?,
                &handwritten::INCR_FIELD,
                handwritten::INCR_FIELD_LUA,
                vec![M::INT_FIELD, "1", min, max],
            )
        };
        redis::cmd("SCRIPT")
            .arg("LOAD")
            .arg(lua)
            .query_async::<String>(&mut admin)
            .await?;
        let shape = script_shape(script.get_hash(), M::hw_key(0), &args);
        let mut rb = RbRun::new(shape, n, 1.0);
        rb.run(b)?;
        rb.run(b)?;
        let name = op.name();
        let row = (M::LABEL, name.as_str(), None, Some(&rb), SEQUENTIAL_TARGET);
        throughput_row(b, table, "S2", row, &p);
    }
    Ok(())
}

/// What each peer crate can do here, with a probe of redis-om's JSON model.
async fn peer_table(b: &mut Bench) -> Table {
    let mut om = b.conns.om.clone();
    let json = match peers::om_json_save(&mut om, 1).await {
        Ok(()) => "works on this server".to_owned(),
        Err(e) => format!(
            "cannot do this work here: `save` fails with `{}` (it needs the RedisJSON module)",
            e.to_string()
                .split(", with args")
                .next()
                .unwrap_or_default()
                .replace('|', "/")
        ),
    };
    let mut table = Table::new(
        "Peer crates (both build with this toolchain):",
        &["crate", "built on", "does", "measured as"],
    );
    table.row(vec![
        "redis-om 0.1.0 `HashModel`".into(),
        "redis-rs 0.22.4 (its own `ConnectionManager`)".into(),
        "save = `HSET` (no `DEL`, no TTL: stale fields stay), get = `HGETALL` via a `HashMap`, \
         delete = `DEL`; no partial update, no batch API"
            .into(),
        "M8 hash save / get / delete (S2), get (S4)".into(),
    ]);
    table.row(vec![
        "redis-om 0.1.0 `JsonModel`".into(),
        "redis-rs 0.22.4, feature `json`".into(),
        "`JSON.SET` / `JSON.GET`".into(),
        json,
    ]);
    table.row(vec![
        "redis-macros 1.0.1".into(),
        "redis-rs 1.8.1 (the baseline's `ConnectionManager`)".into(),
        "serde JSON values (`FromRedisValue`/`ToRedisArgs`); keys, `SET .. PX`, `MGET`, \
         pipelines written by hand around it — the same commands and bytes as the framework's \
         JSON model"
            .into(),
        "M8 json save / get / delete (S2), batches (S3), get (S4)".into(),
    ]);
    table
}

/// S2: sequential operations, each awaited before the next.
pub(super) async fn sequential(b: &mut Bench) -> Result<(), BenchError> {
    let peers_table = peer_table(b).await;
    let mut table = Table::new("", &THROUGHPUT_HEADERS);
    seq_model::<User>(b, &mut table, Some(Variant::RedisOm)).await?;
    seq_partial::<User>(b, &mut table).await?;
    seq_model::<Account>(b, &mut table, None).await?;
    seq_partial::<Account>(b, &mut table).await?;
    seq_model::<UserJson>(b, &mut table, Some(Variant::RedisMacros)).await?;
    seq_model::<UserMsgpack>(b, &mut table, None).await?;
    table.notes = vec![
        "Ratios: median of per-round throughput ratios, (p10–p90) over the rounds. \
         Target: framework / hand-written ≥ 0.95 (⚠ marks a miss); framework / peer: ahead \
         (p10 > 1), level (the spread includes 1) or behind (p90 < 1). CPU: the harness's CPU \
         time per operation (all threads), the same pairing."
            .into(),
        "redis-om's save is a plain `HSET`: stale fields stay, no TTL, and its key, primary key \
         (`String`) and `Vec` layout (`tags.0`, `tags.1`) differ — it does less work than the \
         framework's atomic replace. Its get decodes through a `HashMap`. It has no partial update. \
         redis-macros only encodes values: keys, TTL (`SET .. PX`) and batching are hand-written \
         around it, so it does the same work as the framework's JSON model."
            .into(),
        "redis-benchmark shapes: a hash save is 5 commands (`MULTI DEL HSET PEXPIRE EXEC`) that \
         redis-benchmark cannot send as one request; its shape is the `HSET` alone, so \
         hand-written / redis-benchmark is below 1 by the cost of the other 4 commands. Reads use \
         one stored key; MessagePack payloads are replaced by as many ASCII bytes (argv cannot \
         carry them)."
            .into(),
    ];
    b.report.sections.push(Section {
        title: "S2 — sequential operations (one awaited operation at a time)".into(),
        intro: vec![format!(
            "{} operations per variant per round on one `ConnectionManager` per variant, \
             tokio current_thread. Every loaded value is compared with what was saved; saves \
             are read back (sample) with their TTL; deletes must find every entity and leave \
             none; increments must return exactly the next value.",
            b.sizes.sequential
        )],
        tables: vec![table, peers_table],
    });
    Ok(())
}

// ---------------------------------------------------------------------------
// S3: batches.

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
pub(super) async fn batch(b: &mut Bench) -> Result<(), BenchError> {
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

// ---------------------------------------------------------------------------
// S4: concurrency.

/// Spawns `k` tasks, task `t` doing `per` operations on entities `t*per..`; the
/// wall time and every task's results.
async fn tasks<T, F, Fut>(k: usize, per: u64, make: F) -> Result<(Sample, Vec<T>), BenchError>
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
async fn each<T>(
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
pub(super) async fn concurrency(b: &mut Bench) -> Result<(), BenchError> {
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

// ---------------------------------------------------------------------------
// S7: memory.

async fn memory_usage(
    admin: &mut MultiplexedConnection,
    key: &str,
) -> Result<(u64, String), BenchError> {
    let bytes: u64 = redis::cmd("MEMORY")
        .arg("USAGE")
        .arg(key)
        .arg("SAMPLES")
        .arg(0)
        .query_async(admin)
        .await?;
    let encoding: String = redis::cmd("OBJECT")
        .arg("ENCODING")
        .arg(key)
        .query_async(admin)
        .await?;
    Ok((bytes, encoding))
}

async fn raw_content(
    admin: &mut MultiplexedConnection,
    key: &str,
) -> Result<Vec<Vec<u8>>, BenchError> {
    let kind: String = redis::cmd("TYPE").arg(key).query_async(admin).await?;
    if kind == "hash" {
        let mut pairs: Vec<(Vec<u8>, Vec<u8>)> =
            redis::cmd("HGETALL").arg(key).query_async(admin).await?;
        pairs.sort();
        Ok(pairs.into_iter().flat_map(|(k, v)| [k, v]).collect())
    } else {
        Ok(vec![redis::cmd("GET").arg(key).query_async(admin).await?])
    }
}

async fn memory_model<M: BenchModel>(b: &mut Bench, table: &mut Table) -> Result<u64, BenchError> {
    let Conns {
        mut admin,
        store,
        mut raw,
        ..
    } = b.conns.clone();
    let n = 7;
    let key = M::hw_key(n);
    flush(&mut admin).await?;
    store.save(&M::sample(n)).await?;
    let (fw, fw_enc) = memory_usage(&mut admin, &key).await?;
    let fw_content = raw_content(&mut admin, &key).await?;
    flush(&mut admin).await?;
    handwritten::save(&mut raw, &M::sample(n)).await?;
    let (hw, hw_enc) = memory_usage(&mut admin, &key).await?;
    let hw_content = raw_content(&mut admin, &key).await?;
    check(
        fw_content == hw_content,
        "framework and hand-written store the same layout",
    )?;
    if fw != hw {
        b.report.missed.push(format!(
            "S7 {}: MEMORY USAGE framework {fw} B ≠ hand-written {hw} B",
            M::LABEL
        ));
    }
    let value_bytes: usize = fw_content.iter().map(Vec::len).sum();
    table.row(vec![
        M::LABEL.to_owned(),
        format!("`{key}`"),
        fw_enc,
        format!("{fw}"),
        format!("{hw} ({hw_enc})"),
        format!("{:.2}", fw as f64 / hw as f64),
        format!("{value_bytes}"),
        "identical".into(),
    ]);
    Ok(fw)
}

/// S7: bytes per stored model.
pub(super) async fn memory(b: &mut Bench) -> Result<(), BenchError> {
    progress(b, "S7 memory");
    let mut table = Table::new(
        "",
        &[
            "model",
            "key",
            "encoding",
            "framework B",
            "hand-written B",
            "fw / hw",
            "field+value bytes",
            "stored content",
        ],
    );
    let hash = memory_model::<User>(b, &mut table).await?;
    memory_model::<Account>(b, &mut table).await?;
    let json = memory_model::<UserJson>(b, &mut table).await?;
    let msgpack = memory_model::<UserMsgpack>(b, &mut table).await?;

    // Peers, under their own keys.
    let Conns {
        mut admin,
        mut raw,
        mut om,
        ..
    } = b.conns.clone();
    flush(&mut admin).await?;
    peers::om_save(&mut om, &mut OmUser::sample(7)).await?;
    let (om_bytes, om_enc) = memory_usage(&mut admin, &peers::om_key(7)).await?;
    peers::macros_save(&mut raw, &UserMacros::sample(7)).await?;
    let (mac_bytes, mac_enc) = memory_usage(&mut admin, &peers::macros_key(7)).await?;
    table.row(vec![
        "M8 redis-om".into(),
        format!("`{}`", peers::om_key(7)),
        om_enc,
        "—".into(),
        "—".into(),
        format!("{:.2} of M8 hash", om_bytes as f64 / hash as f64),
        format!("{om_bytes} B total"),
        "`tags.0`, `tags.1` fields, no TTL".into(),
    ]);
    table.row(vec![
        "M8 redis-macros".into(),
        format!("`{}`", peers::macros_key(7)),
        mac_enc,
        "—".into(),
        "—".into(),
        format!("{:.2} of M8 json", mac_bytes as f64 / json as f64),
        format!("{mac_bytes} B total"),
        "same JSON bytes as M8 json".into(),
    ]);
    table.notes = vec![format!(
        "`MEMORY USAGE key SAMPLES 0` after one save of the same fixture. Hash / blob for M8: \
         hash {hash} B, JSON {json} B ({:.2}×), MessagePack {msgpack} B ({:.2}×).",
        hash as f64 / json as f64,
        hash as f64 / msgpack as f64
    )];
    b.report.sections.push(Section {
        title: "S7 — stored bytes per model".into(),
        intro: vec![
            "The framework and the baseline must store the same layout (checked: the stored \
             fields and values are compared byte for byte)."
                .into(),
        ],
        tables: vec![table],
    });
    Ok(())
}

// ---------------------------------------------------------------------------
// Exact counters and allocations.

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
async fn allocations(
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

fn counter_row(label: &str, op: Op, c: &Comparison, allocs: (f64, f64)) -> Vec<String> {
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
pub(super) async fn counters(b: &mut Bench) -> Result<(), BenchError> {
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
