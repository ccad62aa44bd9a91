//! The benchmark's own `redis-server` (TCP on loopback, pinned to core 0 when
//! `taskset` exists), CPU pinning of the harness, and server-side counters.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis_runtime::testing::{RedisCluster, RedisServer};
use redis_runtime::{Config, Store};

use crate::BenchError;

/// Where the server and the harness run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Pinning {
    /// The server's CPU list, if it was pinned.
    pub server: Option<String>,
    /// The harness's CPU list, if it was pinned.
    pub harness: Option<String>,
    /// Why pinning did not happen, if it did not.
    pub note: Option<String>,
}

fn taskset_available() -> bool {
    Command::new("taskset")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// CPUs online on the machine (not only those this process may use, which
/// pinning narrows).
pub fn online_cpus() -> usize {
    std::fs::read_to_string("/proc/cpuinfo")
        .map(|s| s.lines().filter(|l| l.starts_with("processor")).count())
        .ok()
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Pins every thread of `pid` to `cpus` with `taskset -a -p -c`.
fn taskset(pid: u32, cpus: &str) -> Result<(), String> {
    let out = Command::new("taskset")
        .args(["-a", "-p", "-c", cpus, &pid.to_string()])
        .output()
        .map_err(|e| format!("taskset: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
    }
}

/// Pins the harness (this process, before it starts any thread) to core 1.
pub fn pin_harness() -> Result<String, String> {
    if online_cpus() < 2 {
        return Err(format!("{} CPU available", online_cpus()));
    }
    if !taskset_available() {
        return Err("taskset not found".into());
    }
    taskset(std::process::id(), "1").map(|()| "1".to_owned())
}

/// Starts a private TCP server with the settings of `BENCHMARKS.md`, Method:
/// the server, and pins it to core 0 when possible.
pub fn start_server(
    pin: bool,
) -> Result<(RedisServer, Option<String>, Option<String>), BenchError> {
    let server = RedisServer::builder()
        .tcp()
        .arg("--io-threads")
        .arg("1")
        .arg("--loglevel")
        .arg("warning")
        .start()?;
    if !pin {
        return Ok((server, None, Some("pinning disabled".into())));
    }
    if online_cpus() < 2 {
        return Ok((
            server,
            None,
            Some(format!("{} CPU available", online_cpus())),
        ));
    }
    if !taskset_available() {
        return Ok((server, None, Some("taskset not found".into())));
    }
    match taskset(server.pid(), "0") {
        Ok(()) => Ok((server, Some("0".into()), None)),
        Err(e) => Ok((server, None, Some(e))),
    }
}

/// Starts a private Redis Cluster of 3 primaries (no replicas) with the
/// single server's settings (`--io-threads 1`, no persistence), and pins every
/// node to core 0 when possible (they inherit the harness's core otherwise).
pub fn start_cluster(
    pin: bool,
) -> Result<(RedisCluster, Option<String>, Option<String>), BenchError> {
    let cluster = RedisCluster::builder()
        .arg("--io-threads")
        .arg("1")
        .arg("--loglevel")
        .arg("warning")
        .start()?;
    if !pin {
        return Ok((cluster, None, Some("pinning disabled".into())));
    }
    if online_cpus() < 2 {
        return Ok((
            cluster,
            None,
            Some(format!("{} CPU available", online_cpus())),
        ));
    }
    if !taskset_available() {
        return Ok((cluster, None, Some("taskset not found".into())));
    }
    for node in cluster.nodes() {
        if let Err(e) = taskset(node.pid(), "0") {
            return Ok((cluster, None, Some(e)));
        }
    }
    Ok((cluster, Some("0".into()), None))
}

/// The framework's connection settings, also used for every baseline connection.
pub fn config_for(url: &str) -> Result<Config, BenchError> {
    Ok(Config::builder().url(url).build()?)
}

/// A framework store on `url`.
pub async fn store(url: &str) -> Result<Store, BenchError> {
    Ok(Store::connect(&config_for(url)?).await?)
}

/// The baseline's connection: a redis-rs `ConnectionManager` with the
/// framework's connect and response timeouts.
pub async fn baseline(url: &str) -> Result<ConnectionManager, BenchError> {
    let config = config_for(url)?;
    let client = redis::Client::open(url)?;
    let manager_config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(config.connect_timeout()))
        .set_response_timeout(Some(config.response_timeout()))
        .set_number_of_retries(3)
        .set_max_delay(Duration::from_millis(500));
    Ok(ConnectionManager::new_with_config(client, manager_config).await?)
}

/// A plain connection for setup, checks and `INFO`.
pub async fn admin(url: &str) -> Result<MultiplexedConnection, BenchError> {
    Ok(redis::Client::open(url)?
        .get_multiplexed_async_connection()
        .await?)
}

/// `FLUSHALL` and `CONFIG RESETSTAT`.
pub async fn reset(admin: &mut MultiplexedConnection) -> Result<(), BenchError> {
    redis::cmd("FLUSHALL")
        .arg("SYNC")
        .query_async::<()>(admin)
        .await?;
    redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query_async::<()>(admin)
        .await?;
    Ok(())
}

/// Calls per command (`INFO commandstats`), without the harness's own commands.
pub async fn command_calls(
    admin: &mut MultiplexedConnection,
) -> Result<BTreeMap<String, u64>, BenchError> {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(admin)
        .await?;
    let mut calls = BTreeMap::new();
    for line in info.lines() {
        let Some(rest) = line.strip_prefix("cmdstat_") else {
            continue;
        };
        let Some((name, stats)) = rest.split_once(':') else {
            continue;
        };
        // The harness's own: INFO snapshots and CONFIG RESETSTAT.
        if matches!(name, "info" | "config") {
            continue;
        }
        let n = stats
            .split(',')
            .find_map(|kv| kv.strip_prefix("calls="))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        calls.insert(name.to_owned(), n);
    }
    Ok(calls)
}

/// The commands called between two [`command_calls`] snapshots.
pub fn calls_delta(
    before: &BTreeMap<String, u64>,
    after: &BTreeMap<String, u64>,
) -> BTreeMap<String, u64> {
    after
        .iter()
        .filter_map(|(name, &n)| {
            let d = n - before.get(name).copied().unwrap_or(0);
            (d > 0).then(|| (name.clone(), d))
        })
        .collect()
}

/// One field of `INFO stats`.
pub async fn info_stat(admin: &mut MultiplexedConnection, field: &str) -> Result<u64, BenchError> {
    let info: String = redis::cmd("INFO").arg("stats").query_async(admin).await?;
    info.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| format!("INFO stats has no {field}").into())
}

/// The server's version string.
pub async fn server_version(admin: &mut MultiplexedConnection) -> Result<String, BenchError> {
    let info: String = redis::cmd("INFO").arg("server").query_async(admin).await?;
    Ok(info
        .lines()
        .find_map(|l| l.strip_prefix("redis_version:"))
        .unwrap_or("?")
        .trim()
        .to_owned())
}
