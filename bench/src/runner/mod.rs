//! The benchmark runner behind `cargo run --release -p redis-bench`.
//!
//! For each scenario it runs the variants interleaved in shuffled order over
//! repeated rounds on the same connection type and runtime, and reports the
//! median of the per-round ratios against hand-written redis-rs with their
//! p10–p90 spread (`BENCHMARKS.md`, Method: paired rounds).

pub mod report;
mod scenarios;

use std::path::PathBuf;
use std::time::Instant;

use clap::builder::PossibleValuesParser;
use clap::{ArgAction, Parser};
use redis::aio::{ConnectionManager, MultiplexedConnection};
use redis_runtime::Store;

use crate::BenchError;
use crate::peers::{self, OmConnection};
use crate::server;
use crate::stats::{Shuffler, Spread};
use report::Report;

/// The scenarios, in the order they run.
pub const SCENARIOS: &[&str] = &[
    "codec",
    "sequential",
    "batch",
    "concurrency",
    "memory",
    "counters",
    "collections",
    "cluster",
];

/// The scenarios that report in a block of their own (their own machine
/// table, report files and part of `BENCHMARKS.md`), not in the main one.
const OWN_BLOCK: &[&str] = &["collections", "cluster"];

/// Command-line options.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "redis-bench",
    about = "Ratio benchmarks of redis-runtime against hand-written redis-rs, peer crates and \
             redis-benchmark; method and results in BENCHMARKS.md",
    override_usage = "cargo run --release -p redis-bench -- [OPTIONS]"
)]
pub struct Options {
    /// 5 rounds and fewer operations: a few minutes in all.
    #[arg(long)]
    pub quick: bool,
    /// Run only these scenarios (repeatable, or comma-separated; all when absent).
    #[arg(
        long = "scenario",
        value_name = "NAME",
        value_delimiter = ',',
        value_parser = PossibleValuesParser::new(SCENARIOS)
    )]
    pub scenarios: Vec<String>,
    /// Paired rounds per case (default 15, or 5 with --quick).
    #[arg(long, value_name = "R")]
    pub rounds: Option<usize>,
    /// Pin the server to core 0 and the harness to core 1 (off with `--no-pin`).
    #[arg(
        long = "no-pin",
        action = ArgAction::SetFalse,
        help = "Do not pin the server to core 0 and the harness to core 1"
    )]
    pub pin: bool,
    /// Run the redis-benchmark companion (off with `--no-redis-benchmark`).
    #[arg(
        long = "no-redis-benchmark",
        action = ArgAction::SetFalse,
        help = "Skip the redis-benchmark companion runs"
    )]
    pub redis_benchmark: bool,
    /// Also run the concurrency scenario on a multi_thread(2) runtime (off with
    /// `--no-multi-thread`).
    #[arg(
        long = "no-multi-thread",
        action = ArgAction::SetFalse,
        help = "Skip the concurrency scenario on a multi_thread(2) runtime"
    )]
    pub multi_thread: bool,
    /// Where report.md and results.json go ($CARGO_TARGET_DIR or the workspace's
    /// target, then redis-bench).
    #[arg(long, value_name = "DIR", default_value_os_t = target_dir().join("redis-bench"))]
    pub out: PathBuf,
    /// Replace the generated part of FILE (e.g. BENCHMARKS.md) with the report.
    #[arg(long, value_name = "FILE")]
    pub write_md: Option<PathBuf>,
}

/// The workspace's target directory: `$CARGO_TARGET_DIR`, else `<workspace>/target`.
pub(crate) fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target")))
}

impl Options {
    fn wants(&self, scenario: &str) -> bool {
        self.scenarios.is_empty() || self.scenarios.iter().any(|s| s == scenario)
    }
}

/// Operation counts for one run.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Sizes {
    /// Paired rounds per case (after one discarded warm-up round).
    pub rounds: usize,
    /// Operations per variant per round, sequential scenarios.
    pub sequential: u64,
    /// Entities per variant per round, batch scenarios.
    pub batch_entities: u64,
    /// Operations per variant per round, concurrency scenarios.
    pub concurrent: u64,
    /// Encodes or decodes per variant per round, codec scenario.
    pub codec: u64,
    /// Operations per side for the exact counters.
    pub counter_reps: u64,
    /// Operations per side for allocation counts.
    pub alloc_reps: u64,
}

impl Sizes {
    fn new(opts: &Options) -> Sizes {
        let mut sizes = if opts.quick {
            Sizes {
                rounds: 5,
                sequential: 1_000,
                batch_entities: 4_000,
                concurrent: 4_000,
                codec: 5_000,
                counter_reps: 10,
                alloc_reps: 100,
            }
        } else {
            Sizes {
                rounds: 15,
                sequential: 3_000,
                batch_entities: 12_000,
                concurrent: 12_000,
                codec: 50_000,
                counter_reps: 20,
                alloc_reps: 200,
            }
        };
        if let Some(r) = opts.rounds {
            sizes.rounds = r.max(1);
        }
        sizes
    }
}

/// One variant of a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Variant {
    /// `redis-runtime`.
    Framework,
    /// Hand-written redis-rs (the baseline).
    Handwritten,
    /// `redis-om`.
    RedisOm,
    /// `redis-macros`.
    RedisMacros,
}

impl Variant {
    /// The variant's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Framework => "framework",
            Variant::Handwritten => "hand-written",
            Variant::RedisOm => "redis-om",
            Variant::RedisMacros => "redis-macros",
        }
    }
}

/// CPU time consumed so far by every thread of this process, in nanoseconds
/// (`/proc/self/task/*/schedstat`); `None` where that is not available.
pub fn cpu_ns() -> Option<u64> {
    let mut total = 0;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let stat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
        total += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(total)
}

/// Wall and CPU time of one measured run.
#[derive(Debug)]
pub struct Timer {
    wall: Instant,
    cpu: Option<u64>,
}

/// The outcome of one measured run.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// Operations (or entities) per second of wall time.
    pub per_sec: f64,
    /// Client CPU (every thread of the harness) per operation, in nanoseconds.
    pub cpu_per_op: Option<f64>,
}

impl Timer {
    /// Starts timing.
    pub fn start() -> Timer {
        Timer {
            cpu: cpu_ns(),
            wall: Instant::now(),
        }
    }

    /// Stops: `ops` operations were done.
    pub fn done(&self, ops: u64) -> Sample {
        let secs = self.wall.elapsed().as_secs_f64();
        let cpu = match (self.cpu, cpu_ns()) {
            (Some(a), Some(b)) => Some((b - a) as f64 / ops as f64),
            _ => None,
        };
        Sample {
            per_sec: ops as f64 / secs,
            cpu_per_op: cpu,
        }
    }
}

/// The throughput (and client CPU) of every variant in every round.
#[derive(Debug, Clone)]
pub struct Paired {
    variants: Vec<Variant>,
    per_sec: Vec<Vec<f64>>,
    cpu: Vec<Vec<Option<f64>>>,
}

impl Paired {
    fn index(&self, v: Variant) -> usize {
        self.variants
            .iter()
            .position(|&x| x == v)
            .expect("variant was measured")
    }

    /// `a / b` per round.
    pub fn ratio_of(&self, a: Variant, b: Variant) -> Spread {
        let (a, b) = (&self.per_sec[self.index(a)], &self.per_sec[self.index(b)]);
        Spread::of(&a.iter().zip(b).map(|(x, y)| x / y).collect::<Vec<_>>())
    }

    /// The variant's throughput over the hand-written baseline's, per round.
    pub fn ratio(&self, v: Variant) -> Spread {
        self.ratio_of(v, Variant::Handwritten)
    }

    /// The variant's median throughput.
    pub fn median(&self, v: Variant) -> f64 {
        Spread::of(&self.per_sec[self.index(v)]).median
    }

    /// The variant's client CPU per operation over the baseline's, per round.
    pub fn cpu_ratio(&self, v: Variant) -> Option<Spread> {
        let (a, b) = (
            &self.cpu[self.index(v)],
            &self.cpu[self.index(Variant::Handwritten)],
        );
        let ratios: Option<Vec<f64>> = a.iter().zip(b).map(|(x, y)| Some((*x)? / (*y)?)).collect();
        ratios.filter(|r| !r.is_empty()).map(|r| Spread::of(&r))
    }

    /// The variant's median client CPU per operation, in nanoseconds.
    pub fn cpu_median(&self, v: Variant) -> Option<f64> {
        let cpu: Option<Vec<f64>> = self.cpu[self.index(v)].iter().copied().collect();
        cpu.filter(|c| !c.is_empty()).map(|c| Spread::of(&c).median)
    }

    /// `fw / hw (fw µs / hw µs)` of client CPU per operation.
    pub fn cpu_cell(&self) -> String {
        match (
            self.cpu_ratio(Variant::Framework),
            self.cpu_median(Variant::Framework),
            self.cpu_median(Variant::Handwritten),
        ) {
            (Some(r), Some(f), Some(h)) => format!(
                "{:.3} ({} / {})",
                r.median,
                report::micros(f),
                report::micros(h)
            ),
            _ => "—".into(),
        }
    }
}

/// Runs one discarded warm-up round, then `rounds` rounds with the variants in
/// shuffled order; `run(variant, round)` measures one run.
pub async fn paired(
    rounds: usize,
    shuffler: &mut Shuffler,
    variants: &[Variant],
    mut run: impl AsyncFnMut(Variant, usize) -> Result<Sample, BenchError>,
) -> Result<Paired, BenchError> {
    for &v in variants {
        run(v, 0).await?;
    }
    let mut per_sec = vec![Vec::with_capacity(rounds); variants.len()];
    let mut cpu = vec![Vec::with_capacity(rounds); variants.len()];
    let mut order: Vec<usize> = (0..variants.len()).collect();
    for round in 1..=rounds {
        shuffler.shuffle(&mut order);
        for &i in &order {
            let sample = run(variants[i], round).await?;
            per_sec[i].push(sample.per_sec);
            cpu[i].push(sample.cpu_per_op);
        }
    }
    Ok(Paired {
        variants: variants.to_vec(),
        per_sec,
        cpu,
    })
}

/// The connections every scenario uses: one of each type, all direct to the server.
#[derive(Clone)]
pub struct Conns {
    /// Setup, checks and `INFO`.
    pub admin: MultiplexedConnection,
    /// The framework.
    pub store: Store,
    /// The hand-written baseline (and `redis-macros`, which works on redis-rs connections).
    pub raw: ConnectionManager,
    /// `redis-om`'s redis-rs 0.22 connection manager.
    pub om: OmConnection,
}

impl Conns {
    /// Connects everything to `url`.
    pub async fn connect(url: &str) -> Result<Conns, BenchError> {
        Ok(Conns {
            admin: server::admin(url).await?,
            store: server::store(url).await?,
            raw: server::baseline(url).await?,
            om: peers::om_connect(url).await?,
        })
    }
}

/// Everything a scenario needs.
pub struct Bench {
    /// Options.
    pub opts: Options,
    /// Operation counts.
    pub sizes: Sizes,
    /// The server's port.
    pub port: u16,
    /// The connections (of the runtime currently running).
    pub conns: Conns,
    /// The report being built.
    pub report: Report,
    /// Shuffles variant order.
    pub shuffler: Shuffler,
    /// Whether the redis-benchmark companion runs.
    pub rb: bool,
    /// Counts allocations of the whole process (from the binary's global allocator).
    pub allocations: fn() -> u64,
    /// The runtime flavor, for labels.
    pub flavor: &'static str,
    /// When the run started.
    pub started: Instant,
}

impl Bench {
    /// The server's URL.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Records a ratio and, when it misses `target`, a line in the missed list.
    pub fn record(
        &mut self,
        scenario: &str,
        case: &str,
        variant: Variant,
        paired: &Paired,
        target: Option<f64>,
    ) {
        let ratio = paired.ratio(variant);
        if let Some(t) = target
            && ratio.median < t
        {
            self.report.missed.push(format!(
                "{scenario} {case}: {} / hand-written = {} (target ≥ {t})",
                variant.name(),
                ratio.show()
            ));
        }
        self.report.measurements.push(report::Measurement {
            scenario: scenario.to_owned(),
            case: case.to_owned(),
            variant: variant.name().to_owned(),
            ratio,
            cpu_ratio: paired.cpu_ratio(variant),
            median_per_sec: paired.median(variant),
            target,
        });
    }
}

fn command_output(cmd: &str, args: &[&str]) -> Option<String> {
    let out = std::process::Command::new(cmd).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("model name")?.split_once(':'))
                .map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_else(|| "?".into())
}

fn memory() -> String {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            let kb: u64 = s
                .lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))?
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .ok()?;
            Some(format!("{:.1} GiB", kb as f64 / 1024.0 / 1024.0))
        })
        .unwrap_or_else(|| "?".into())
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// Runs the benchmark; `allocations` reads the binary's counting allocator.
pub fn main(allocations: fn() -> u64) -> std::process::ExitCode {
    let opts = Options::parse();
    match run(opts, allocations) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("redis-bench failed: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The workspace commit, with a hash of any uncommitted change to the runtime
/// or the derive (what this binary was built from, give or take a concurrent edit).
fn source_state() -> Option<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let head = command_output("git", &["-C", dir, "rev-parse", "--short", "HEAD"])?;
    let diff = command_output(
        "git",
        &[
            "-C",
            dir,
            "diff",
            "HEAD",
            "--",
            "redis-runtime",
            "redis-derive",
        ],
    )?;
    if diff.is_empty() {
        Some(head)
    } else {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in diff.bytes() {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3);
        }
        Some(format!(
            "{head} + uncommitted runtime changes {:08x}",
            hash as u32
        ))
    }
}

fn run(opts: Options, allocations: fn() -> u64) -> Result<(), BenchError> {
    let started = Instant::now();
    let source_before = source_state();
    let load_before = load();
    // Pin before any thread exists, so every later thread inherits core 1.
    let harness_pin = if opts.pin {
        server::pin_harness()
    } else {
        Err("pinning disabled".into())
    };
    let (redis, server_pin, server_note) = server::start_server(opts.pin)?;
    let port = redis.port().ok_or("the server has no TCP port")?;
    let sizes = Sizes::new(&opts);
    let rb = opts.redis_benchmark && crate::rb::available();

    let ct = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let url = format!("redis://127.0.0.1:{port}");
    let conns = ct.block_on(Conns::connect(&url))?;
    let mut bench = Bench {
        opts: opts.clone(),
        sizes,
        port,
        conns,
        report: Report::default(),
        shuffler: Shuffler::new(0x5eed_0fbe_7c00),
        rb,
        allocations,
        flavor: "current_thread",
        started,
    };
    let version = ct.block_on(server::server_version(&mut bench.conns.admin))?;
    eprintln!(
        "redis-bench: redis-server {version} on port {port}; harness pinned: {harness_pin:?}; server pinned: {server_pin:?}"
    );

    if opts.wants("codec") {
        ct.block_on(scenarios::codec(&mut bench))?;
    }
    if opts.wants("sequential") {
        ct.block_on(scenarios::sequential(&mut bench))?;
    }
    if opts.wants("batch") {
        ct.block_on(scenarios::batch(&mut bench))?;
    }
    if opts.wants("concurrency") {
        ct.block_on(scenarios::concurrency(&mut bench))?;
        if opts.multi_thread {
            let mt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?;
            let ct_conns = bench.conns.clone();
            bench.conns = mt.block_on(Conns::connect(&url))?;
            bench.flavor = "multi_thread(2)";
            mt.block_on(scenarios::concurrency(&mut bench))?;
            bench.conns = ct_conns;
            bench.flavor = "current_thread";
            drop(mt);
        }
    }
    if opts.wants("memory") {
        ct.block_on(scenarios::memory(&mut bench))?;
    }
    if opts.wants("counters") {
        ct.block_on(scenarios::counters(&mut bench))?;
    }
    let main_ended = started.elapsed();

    let server_text =
        format!("{version} (TCP loopback, `--save ''`, `--appendonly no`, `--io-threads 1`)");
    let rb_text = if rb {
        command_output("redis-benchmark", &["--version"]).unwrap_or_else(|| "?".into())
    } else {
        "not run".into()
    };

    // The collections scenario runs on the same server, into a report of its
    // own, with its own machine table and its own block in BENCHMARKS.md.
    let mut collections_report = None;
    if opts.wants("collections") {
        let collections_started = Instant::now();
        let collections_load = load();
        let main_report = std::mem::take(&mut bench.report);
        let result = ct.block_on(scenarios::collections(&mut bench));
        let mut report = std::mem::replace(&mut bench.report, main_report);
        result?;
        report.label = Some("Collections".into());
        report.machine = machine_rows(
            &opts,
            &Run {
                scenarios: vec!["collections".into()],
                server: server_text.clone(),
                redis_benchmark: Some(rb_text.clone()),
                server_cpu: pin_text(&server_pin, server_note.clone(), ""),
                harness_cpu: pin_text(&harness_pin.clone().ok(), harness_pin.clone().err(), ""),
                runtime: "tokio current_thread; one connection per variant (the framework's \
                          Store, redis-rs's ConnectionManager for the baseline), same timeouts"
                    .into(),
                rounds: format!(
                    "{} paired rounds per case after 1 warm-up round; sequential {} ops per \
                     variant per round",
                    sizes.rounds, sizes.sequential
                ),
                source_before: source_before.clone(),
                load_before: collections_load,
                duration: collections_started.elapsed().as_secs_f64(),
            },
        );
        collections_report = Some(report);
    }

    // The cluster scenario goes into a report of its own, with its own
    // machine table and its own block in BENCHMARKS.md.
    let mut cluster_report = None;
    if opts.wants("cluster") {
        let cluster_started = Instant::now();
        let cluster_load = load();
        let (cluster, pin, note) = server::start_cluster(opts.pin)?;
        eprintln!(
            "redis-bench: a cluster of {} primaries on ports {:?}; nodes pinned: {pin:?} {note:?}",
            cluster.nodes().len(),
            cluster
                .nodes()
                .iter()
                .filter_map(|n| n.port())
                .collect::<Vec<_>>()
        );
        let main_report = std::mem::take(&mut bench.report);
        let result = ct.block_on(scenarios::cluster(&mut bench, &cluster));
        let mut report = std::mem::replace(&mut bench.report, main_report);
        result?;
        drop(cluster);
        report.label = Some("Cluster".into());
        report.machine = machine_rows(
            &opts,
            &Run {
                scenarios: vec!["cluster".into()],
                server: format!(
                    "{version}: a private cluster of 3 primaries, no replicas \
                     (`redis_runtime::testing::RedisCluster`; TCP loopback, `--save ''`, \
                     `--appendonly no`, `--io-threads 1`)"
                ),
                redis_benchmark: None,
                server_cpu: pin_text(&pin, note, "every node "),
                harness_cpu: pin_text(&harness_pin.clone().ok(), harness_pin.clone().err(), ""),
                runtime: "tokio current_thread; the framework's Store and redis-rs's \
                          cluster_async::ClusterConnection (one multiplexed connection per node \
                          each), same connect and response timeouts"
                    .into(),
                rounds: format!(
                    "{} paired rounds per case after 1 warm-up round; sequential {} ops, batch \
                     {} entities, concurrency {} ops per variant per round",
                    sizes.rounds, sizes.sequential, sizes.batch_entities, sizes.concurrent
                ),
                source_before: source_before.clone(),
                load_before: cluster_load,
                duration: cluster_started.elapsed().as_secs_f64(),
            },
        );
        cluster_report = Some(report);
    }

    let main_wanted = SCENARIOS
        .iter()
        .any(|s| !OWN_BLOCK.contains(s) && opts.wants(s));
    let main_markdown = main_wanted.then(|| {
        bench.report.machine = machine_rows(
            &opts,
            &Run {
                scenarios: opts
                    .scenarios
                    .iter()
                    .filter(|s| !OWN_BLOCK.contains(&s.as_str()))
                    .cloned()
                    .collect(),
                server: server_text.clone(),
                redis_benchmark: Some(rb_text.clone()),
                server_cpu: pin_text(&server_pin, server_note.clone(), ""),
                harness_cpu: pin_text(&harness_pin.clone().ok(), harness_pin.clone().err(), ""),
                runtime: "tokio current_thread (and multi_thread(2) where labelled); one \
                          connection per variant (the framework's Store, redis-rs's \
                          ConnectionManager for the baseline), same timeouts"
                    .into(),
                rounds: format!(
                    "{} paired rounds per case after 1 warm-up round; sequential {} ops, batch \
                     {} entities, concurrency {} ops per variant per round",
                    sizes.rounds, sizes.sequential, sizes.batch_entities, sizes.concurrent
                ),
                source_before: source_before.clone(),
                load_before: load_before.clone(),
                duration: main_ended.as_secs_f64(),
            },
        );
        bench.report.markdown()
    });
    if let Some(markdown) = &main_markdown {
        println!("{markdown}");
        bench.report.write_files(&opts.out, "")?;
        eprintln!(
            "redis-bench: wrote {} and {}",
            opts.out.join("report.md").display(),
            opts.out.join("results.json").display()
        );
    }
    if let Some(report) = &collections_report {
        println!("{}", report.markdown());
        report.write_files(&opts.out, "-collections")?;
        eprintln!(
            "redis-bench: wrote {} and {}",
            opts.out.join("report-collections.md").display(),
            opts.out.join("results-collections.json").display()
        );
    }
    if let Some(report) = &cluster_report {
        println!("{}", report.markdown());
        report.write_files(&opts.out, "-cluster")?;
        eprintln!(
            "redis-bench: wrote {} and {}",
            opts.out.join("report-cluster.md").display(),
            opts.out.join("results-cluster.json").display()
        );
    }
    if let Some(path) = &opts.write_md {
        if let Some(markdown) = &main_markdown {
            report::write_into(path, (report::BEGIN, report::END), markdown)?;
        }
        if let Some(report) = &collections_report {
            report::write_into(
                path,
                (report::COLLECTIONS_BEGIN, report::COLLECTIONS_END),
                &report.markdown(),
            )?;
        }
        if let Some(report) = &cluster_report {
            report::write_into(
                path,
                (report::CLUSTER_BEGIN, report::CLUSTER_END),
                &report.markdown(),
            )?;
        }
        eprintln!("redis-bench: updated {}", path.display());
    }
    drop(redis);
    Ok(())
}

fn pin_text(pin: &Option<String>, note: Option<String>, what: &str) -> String {
    match pin {
        Some(cpus) => format!("{what}pinned to CPU {cpus}"),
        None => format!("not pinned ({})", note.unwrap_or_else(|| "?".into())),
    }
}

/// What one report's machine table says about its run.
struct Run {
    scenarios: Vec<String>,
    server: String,
    redis_benchmark: Option<String>,
    server_cpu: String,
    harness_cpu: String,
    runtime: String,
    rounds: String,
    source_before: Option<String>,
    load_before: String,
    duration: f64,
}

/// The first table of a report: the command, the machine, the sources, the run.
fn machine_rows(opts: &Options, run: &Run) -> Vec<(String, String)> {
    let mut rows = vec![
        (
            "command".to_owned(),
            format!(
                "`cargo run --release -p redis-bench --{}{}{}{}`",
                if opts.quick { " --quick" } else { "" },
                run.scenarios
                    .iter()
                    .map(|s| format!(" --scenario {s}"))
                    .collect::<String>(),
                opts.rounds
                    .map(|r| format!(" --rounds {r}"))
                    .unwrap_or_default(),
                if opts.pin { "" } else { " --no-pin" },
            ),
        ),
        (
            "CPU".to_owned(),
            format!("{} × {}", server::online_cpus(), cpu_model()),
        ),
        ("memory".to_owned(), memory()),
        (
            "workspace commit".to_owned(),
            match (&run.source_before, source_state()) {
                (Some(before), Some(after)) if *before == after => {
                    format!("`{before}` (the runtime and derive sources this run was built from)")
                }
                (Some(before), after) => format!(
                    "`{before}` at the start, `{}` at the end: **the sources changed during the run**",
                    after.unwrap_or_else(|| "?".into())
                ),
                (None, _) => "?".into(),
            },
        ),
        (
            "kernel".to_owned(),
            command_output("uname", &["-sr"]).unwrap_or_else(|| "?".into()),
        ),
        ("redis-server".to_owned(), run.server.clone()),
    ];
    if let Some(rb) = &run.redis_benchmark {
        rows.push(("redis-benchmark".to_owned(), rb.clone()));
    }
    rows.extend([
        (
            "rustc".to_owned(),
            command_output("rustc", &["--version"]).unwrap_or_else(|| "?".into()),
        ),
        (
            "build".to_owned(),
            if cfg!(debug_assertions) {
                "debug (numbers not meaningful: use --release)".into()
            } else {
                "release".into()
            },
        ),
        ("redis-server CPU".to_owned(), run.server_cpu.clone()),
        ("harness CPU".to_owned(), run.harness_cpu.clone()),
        ("runtime".to_owned(), run.runtime.clone()),
        ("rounds".to_owned(), run.rounds.clone()),
        (
            "load average".to_owned(),
            format!("{} before, {} after", run.load_before, load()),
        ),
        ("duration".to_owned(), format!("{:.0} s", run.duration)),
    ]);
    rows
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::{Options, target_dir};

    #[test]
    fn the_command_line_is_well_formed() {
        Options::command().debug_assert();
    }

    #[test]
    fn defaults_run_everything_pinned_with_every_companion() {
        let opts = Options::try_parse_from(["redis-bench"]).unwrap();
        assert!(!opts.quick);
        assert!(opts.scenarios.is_empty());
        assert_eq!(opts.rounds, None);
        assert!(opts.pin && opts.redis_benchmark && opts.multi_thread);
        assert_eq!(opts.out, target_dir().join("redis-bench"));
        assert_eq!(opts.write_md, None);
    }

    #[test]
    fn every_flag_sets_its_option() {
        let opts = Options::try_parse_from([
            "redis-bench",
            "--quick",
            "--scenario",
            "codec,batch",
            "--scenario",
            "memory",
            "--rounds",
            "3",
            "--no-pin",
            "--no-redis-benchmark",
            "--no-multi-thread",
            "--out",
            "out",
            "--write-md",
            "B.md",
        ])
        .unwrap();
        assert!(opts.quick);
        assert_eq!(opts.scenarios, ["codec", "batch", "memory"]);
        assert_eq!(opts.rounds, Some(3));
        assert!(!opts.pin && !opts.redis_benchmark && !opts.multi_thread);
        assert_eq!(opts.out, std::path::Path::new("out"));
        assert_eq!(opts.write_md.as_deref(), Some(std::path::Path::new("B.md")));
        assert!(opts.wants("batch") && !opts.wants("sequential"));
    }

    #[test]
    fn the_cluster_scenario_runs_alone() {
        let opts = Options::try_parse_from(["redis-bench", "--scenario", "cluster"]).unwrap();
        assert!(opts.wants("cluster") && !opts.wants("counters"));
    }

    #[test]
    fn the_collections_scenario_runs_alone() {
        let opts = Options::try_parse_from(["redis-bench", "--scenario", "collections"]).unwrap();
        assert!(opts.wants("collections") && !opts.wants("sequential") && !opts.wants("cluster"));
        let all = Options::try_parse_from(["redis-bench"]).unwrap();
        assert!(all.wants("collections"));
    }

    #[test]
    fn unknown_scenarios_and_arguments_are_refused() {
        for args in [
            &["redis-bench", "--scenario", "codec,nope"][..],
            &["redis-bench", "--rounds", "many"],
            &["redis-bench", "--bogus"],
        ] {
            assert!(Options::try_parse_from(args).is_err(), "{args:?}");
        }
    }
}
