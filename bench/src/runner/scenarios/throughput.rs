//! What the throughput scenarios (S2, S3, S4) share: the redis-benchmark
//! companion runs with the same command shapes, and the cells of a throughput
//! row (ratios, client CPU, the peer's verdict, redis-benchmark's rate).

use redis::Value;

use crate::BenchError;
use crate::codec::stored_reply;
use crate::handwritten::BenchModel;
use crate::models::USER_TTL_MS;
use crate::rb::{self, RbShape};
use crate::runner::report::{Table, rate, ratio_cell};
use crate::runner::{Bench, Paired, Variant};

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

pub(super) fn save_shape<M: BenchModel>(pipeline: u32) -> RbShape {
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

pub(super) fn get_shape<M: BenchModel>(clients: u32, pipeline: u32) -> RbShape {
    let verb = if M::HASH { "HGETALL" } else { "GET" };
    RbShape::new(clients, pipeline, vec![verb.into(), M::hw_key(0)])
}
/// The throughput of a redis-benchmark shape, run before and after the paired rounds.
pub(super) struct RbRun {
    shape: RbShape,
    requests: u64,
    /// Entities per request (for single commands over several keys).
    per_request: f64,
    rates: Vec<f64>,
}

impl RbRun {
    pub(super) fn new(shape: RbShape, requests: u64, per_request: f64) -> RbRun {
        RbRun {
            shape,
            requests,
            per_request,
            rates: Vec::new(),
        }
    }

    pub(super) fn run(&mut self, b: &Bench) -> Result<(), BenchError> {
        if b.rb {
            let r = rb::run(b.port, &self.shape, self.requests.max(200))?;
            self.rates.push(r * self.per_request);
        }
        Ok(())
    }

    pub(super) fn shape(&self) -> &RbShape {
        &self.shape
    }

    pub(super) fn rate(&self) -> Option<f64> {
        (!self.rates.is_empty()).then(|| self.rates.iter().sum::<f64>() / self.rates.len() as f64)
    }
}

/// What a throughput row shows: model label, operation, peer, redis-benchmark run, target.
pub(super) type RowOf<'a> = (&'a str, &'a str, Option<Variant>, Option<&'a RbRun>, f64);

/// One row of a throughput table.
pub(super) fn throughput_row(
    b: &mut Bench,
    table: &mut Table,
    scenario: &str,
    row: RowOf<'_>,
    p: &Paired,
) {
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
pub(super) fn peer_cells(
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

pub(super) const THROUGHPUT_HEADERS: [&str; 10] = [
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
