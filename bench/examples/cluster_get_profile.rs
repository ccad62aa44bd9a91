//! One case of the cluster scenario outside the runner, to profile it: gets
//! of the M8 hash from 32 tasks sharing one handle, on a private 3-primary
//! cluster (nodes pinned to CPU 0, this process to CPU 1), by the framework or
//! by the hand-written redis-rs cluster client (`BENCHMARKS.md`, Cluster
//! results: why the framework is behind there).
//!
//! ```text
//! cargo build --release -p redis-bench --example cluster_get_profile
//! P=target/release/examples/cluster_get_profile
//! $P framework 5        # 5 s of rounds: gets per second and client CPU per get
//! $P hand-written 5
//! # Instructions per get: (run of 3 rounds − run of 1 round) / 24,000 gets.
//! for side in framework hand-written; do for r in 1 3; do
//!   ROUNDS=$r valgrind --tool=callgrind --callgrind-out-file=cg-$side-$r.out $P $side 600
//! done; done
//! ```
//!
//! The sides `hand-written+timeout` and `hand-written+timeout+box` add to the
//! baseline's get what the runtime's cluster path adds around each request:
//! one more `tokio::time::timeout_at`, and that plus two boxed futures.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use redis_bench::BenchError;
use redis_bench::handwritten::{self, cluster as hw_cluster};
use redis_bench::models::User;
use redis_bench::runner::Timer;
use redis_runtime::testing::RedisCluster;
use redis_runtime::{Config, Store};

const TASKS: u64 = 32;
/// Gets per round, split over the tasks.
const PER_ROUND: u64 = 12_000;

fn pin(pid: u32, cpu: &str) {
    // Best effort, as in the runner: without taskset nothing is pinned.
    let _ = std::process::Command::new("taskset")
        .args(["-a", "-p", "-c", cpu, &pid.to_string()])
        .output();
}

type Boxed<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

async fn one_get(
    side: &str,
    store: &Store,
    raw: &mut redis::cluster_async::ClusterConnection,
    n: u64,
) -> Result<Option<User>, BenchError> {
    let deadline = || tokio::time::Instant::now() + Duration::from_secs(3);
    Ok(match side {
        "framework" => store.get::<User>(&n).await?,
        "hand-written" => handwritten::get::<User>(raw, n).await?,
        "hand-written+timeout" => {
            tokio::time::timeout_at(deadline(), handwritten::get::<User>(raw, n)).await??
        }
        _ => {
            let inner: Boxed<'_, _> = Box::pin(tokio::time::timeout_at(
                deadline(),
                handwritten::get::<User>(raw, n),
            ));
            let outer: Boxed<'_, _> = Box::pin(inner);
            outer.await??
        }
    })
}

fn main() -> Result<(), BenchError> {
    let args: Vec<String> = std::env::args().collect();
    let side = args.get(1).cloned().unwrap_or_else(|| "framework".into());
    let secs: u64 = args.get(2).map_or(Ok(5), |s| s.parse())?;
    let rounds: u64 = std::env::var("ROUNDS").map_or(Ok(u64::MAX), |r| r.parse())?;
    let cluster = RedisCluster::builder()
        .arg("--io-threads")
        .arg("1")
        .arg("--loglevel")
        .arg("warning")
        .start()?;
    for node in cluster.nodes() {
        pin(node.pid(), "0");
    }
    pin(std::process::id(), "1");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let urls = cluster.urls();
        let store = Store::connect(&Config::builder().cluster_nodes(urls.clone()).build()?).await?;
        let raw = hw_cluster::connect(&urls).await?;
        let admin = cluster.raw_connection().await?;
        let models: Vec<User> = (0..PER_ROUND).map(User::sample).collect();
        for chunk in models.chunks(500) {
            hw_cluster::save_many(&admin, chunk).await?;
        }
        let per = PER_ROUND / TASKS;
        let side: Arc<str> = side.into();
        let until = Instant::now() + Duration::from_secs(secs);
        let (mut done, mut round) = (0, 0);
        let timer = Timer::start();
        while Instant::now() < until && round < rounds {
            round += 1;
            let handles: Vec<_> = (0..TASKS)
                .map(|task| {
                    let (store, mut raw, side) = (store.clone(), raw.clone(), side.clone());
                    tokio::spawn(async move {
                        for n in task * per..(task + 1) * per {
                            let got = one_get(&side, &store, &mut raw, n).await?;
                            if got != Some(User::sample(n)) {
                                return Err(BenchError::from(format!("wrong data for {n}")));
                            }
                        }
                        Ok(())
                    })
                })
                .collect();
            for handle in handles {
                handle.await.map_err(|e| e.to_string())??;
            }
            done += per * TASKS;
        }
        let sample = timer.done(done);
        println!(
            "{side}: {done} gets, {:.1} k/s, client CPU {:.0} ns per get",
            sample.per_sec / 1e3,
            sample.cpu_per_op.unwrap_or(f64::NAN)
        );
        Ok::<(), BenchError>(())
    })
}
