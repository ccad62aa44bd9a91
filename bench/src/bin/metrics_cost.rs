//! What the metrics cost: the framework's typed `get` and `save` with a real
//! recorder installed (metrics-exporter-prometheus's, recording every
//! operation's histogram) against the same calls with none, side by side in
//! one process, in rounds of shuffled order; sequential (each call awaited)
//! and 64 concurrent tasks on one store. Reports the median of the per-round
//! throughput ratios (with recorder / without) and its 10th–90th percentile.
//!
//! `cargo run --release -p redis-bench --bin metrics_cost [-- ROUNDS OPS]`
//!
//! A global recorder cannot be removed once installed, so the one installed
//! here is a switch: off, it hands out the facade's no-op handles, which is
//! what an application without a recorder gets.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};
use redis_bench::handwritten::BenchModel;
use redis_bench::models::User;
use redis_bench::server;
use redis_bench::stats::{Shuffler, Spread};
use redis_runtime::Store;

/// The Prometheus recorder, or nothing.
struct Switch {
    on: AtomicBool,
    inner: PrometheusRecorder,
}

impl Recorder for Switch {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.inner.describe_counter(key, unit, description);
    }
    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.inner.describe_gauge(key, unit, description);
    }
    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.inner.describe_histogram(key, unit, description);
    }
    fn register_counter(&self, key: &Key, metadata: &Metadata<'_>) -> Counter {
        match self.on.load(Ordering::Relaxed) {
            true => self.inner.register_counter(key, metadata),
            false => Counter::noop(),
        }
    }
    fn register_gauge(&self, key: &Key, metadata: &Metadata<'_>) -> Gauge {
        match self.on.load(Ordering::Relaxed) {
            true => self.inner.register_gauge(key, metadata),
            false => Gauge::noop(),
        }
    }
    fn register_histogram(&self, key: &Key, metadata: &Metadata<'_>) -> Histogram {
        match self.on.load(Ordering::Relaxed) {
            true => self.inner.register_histogram(key, metadata),
            false => Histogram::noop(),
        }
    }
}

const FIXTURES: u64 = 1000;
const TASKS: u64 = 64;

#[derive(Clone, Copy, Debug)]
enum Case {
    SequentialGet,
    SequentialSave,
    ConcurrentGet,
}

impl Case {
    fn label(self) -> &'static str {
        match self {
            Case::SequentialGet => "sequential get (hash User)",
            Case::SequentialSave => "sequential save (hash User)",
            Case::ConcurrentGet => "64 tasks, get (hash User)",
        }
    }
}

/// The CPU time this thread has used, in nanoseconds (Linux's
/// `/proc/thread-self/schedstat`); every task runs on this thread.
fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Operations per second of `ops` calls of `case`, and the client's CPU
/// nanoseconds per operation.
async fn run(store: &Store, case: Case, ops: u64) -> (f64, f64) {
    let started = Instant::now();
    let cpu = cpu_ns();
    match case {
        Case::SequentialGet => {
            for i in 0..ops {
                let got = store.get::<User>(&User::id_of(i % FIXTURES)).await.unwrap();
                assert!(got.is_some());
            }
        }
        Case::SequentialSave => {
            for i in 0..ops {
                store.save(&User::sample(i % FIXTURES)).await.unwrap();
            }
        }
        Case::ConcurrentGet => {
            let per = ops / TASKS;
            let tasks: Vec<_> = (0..TASKS)
                .map(|t| {
                    let store = store.clone();
                    tokio::spawn(async move {
                        for i in 0..per {
                            let n = (t * per + i) % FIXTURES;
                            assert!(store.get::<User>(&User::id_of(n)).await.unwrap().is_some());
                        }
                    })
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
        }
    }
    let rate = ops as f64 / started.elapsed().as_secs_f64();
    (rate, (cpu_ns() - cpu) as f64 / ops as f64)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(40);
    let ops: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(5_000);
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle: PrometheusHandle = recorder.handle();
    let switch = Arc::new(Switch {
        on: AtomicBool::new(false),
        inner: recorder,
    });
    metrics::set_global_recorder(SwitchRef(switch.clone())).expect("no recorder yet");
    redis_runtime::observe::describe_metrics();

    let (redis, core, _why) = server::start_server(true).expect("a private redis-server");
    let url = redis.url();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = server::store(&url).await.unwrap();
        for n in 0..FIXTURES {
            store.save(&User::sample(n)).await.unwrap();
        }
        let mut shuffler = Shuffler::new(0x5eed);
        println!(
            "| case | throughput with recorder / without (median, p10–p90 of {rounds} rounds) | with | without | client CPU per op with / without |"
        );
        println!("|---|---|---|---|---|");
        for case in [Case::SequentialGet, Case::SequentialSave, Case::ConcurrentGet] {
            // Warm-up, both ways.
            for on in [false, true] {
                switch.on.store(on, Ordering::Relaxed);
                run(&store, case, ops / 4).await;
            }
            let mut ratios = Vec::with_capacity(rounds);
            let (mut rate_sum, mut cpu_sum) = ([0.0; 2], [0.0; 2]);
            for _ in 0..rounds {
                let mut order = [false, true];
                shuffler.shuffle(&mut order);
                let mut rates = [0.0; 2];
                for on in order {
                    switch.on.store(on, Ordering::Relaxed);
                    let (rate, cpu) = run(&store, case, ops).await;
                    rates[on as usize] = rate;
                    rate_sum[on as usize] += rate;
                    cpu_sum[on as usize] += cpu;
                }
                ratios.push(rates[1] / rates[0]);
            }
            let spread = Spread::of(&ratios);
            let n = rounds as f64;
            println!(
                "| {} | {} | {:.0} op/s | {:.0} op/s | {:.2} / {:.2} µs |",
                case.label(),
                spread.show(),
                rate_sum[1] / n,
                rate_sum[0] / n,
                cpu_sum[1] / n / 1e3,
                cpu_sum[0] / n / 1e3
            );
        }
    });
    switch.on.store(false, Ordering::Relaxed);
    let rendered = handle.render();
    let samples = rendered
        .lines()
        .find(|l| {
            l.starts_with("redis_runtime_operation_duration_seconds_count")
                && l.contains("operation=\"get\"")
        })
        .unwrap_or("(no get samples recorded: the recorder was not used)");
    println!(
        "\nserver core: {}; recorded by Prometheus: {samples}",
        core.as_deref().unwrap_or("not pinned")
    );
}

/// The switch as the global recorder (the facade takes it by value).
struct SwitchRef(Arc<Switch>);

impl Recorder for SwitchRef {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.0.describe_counter(key, unit, description);
    }
    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.0.describe_gauge(key, unit, description);
    }
    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.0.describe_histogram(key, unit, description);
    }
    fn register_counter(&self, key: &Key, metadata: &Metadata<'_>) -> Counter {
        self.0.register_counter(key, metadata)
    }
    fn register_gauge(&self, key: &Key, metadata: &Metadata<'_>) -> Gauge {
        self.0.register_gauge(key, metadata)
    }
    fn register_histogram(&self, key: &Key, metadata: &Metadata<'_>) -> Histogram {
        self.0.register_histogram(key, metadata)
    }
}
