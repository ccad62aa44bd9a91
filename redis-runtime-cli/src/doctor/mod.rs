//! `doctor`: compares a live server with a key [`Manifest`].
//!
//! It reports the server's version and mode, persistence and eviction policy
//! (warning where eviction or a restart would silently drop declared data),
//! whether the connected user may touch every declared key family, and a
//! bounded `SCAN` sample of the keyspace classified by family: keys that match
//! no declared template ("unknown keys"), keys of TTL-declaring models that have
//! no TTL ("TTL leaks"), keys holding the wrong Redis type, and memory per
//! family (`MEMORY USAGE` of the sampled keys). It is bounded in keys and time
//! and never sends `KEYS`.

pub(crate) mod cluster;
mod report;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use redis_runtime::Config;
use redis_runtime::keyspace::commands::{self, Access};
use redis_runtime::keyspace::{KeyFamily, Manifest};
use redis_runtime::redis::{self, AsyncConnectionConfig, Value, aio::MultiplexedConnection};

pub use report::{
    AccessMethod, AccessReport, AccessVerdict, DoctorReport, FamilySample, NodeReport, SampleCheck,
    SampleReport, ServerReport, StopReason, TrackingReport,
};

/// Bounds of a doctor run.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DoctorOptions {
    /// Stop sampling after this many keys.
    pub max_keys: usize,
    /// Stop sampling after this long.
    pub max_time: Duration,
    /// The `COUNT` hint of each `SCAN`.
    pub scan_count: usize,
    /// At most this many unknown keys are listed (all are counted).
    pub unknown_examples: usize,
}

impl Default for DoctorOptions {
    fn default() -> Self {
        DoctorOptions {
            max_keys: 10_000,
            max_time: Duration::from_secs(5),
            scan_count: 500,
            unknown_examples: 20,
        }
    }
}

impl DoctorOptions {
    /// Sets [`DoctorOptions::max_keys`].
    pub fn max_keys(mut self, max_keys: usize) -> Self {
        self.max_keys = max_keys;
        self
    }

    /// Sets [`DoctorOptions::max_time`].
    pub fn max_time(mut self, max_time: Duration) -> Self {
        self.max_time = max_time;
        self
    }

    /// Sets [`DoctorOptions::scan_count`].
    pub fn scan_count(mut self, scan_count: usize) -> Self {
        self.scan_count = scan_count.max(1);
        self
    }
}

/// Why doctor could not run. (What it found is the [`DoctorReport`].)
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DoctorError {
    /// No connection could be made.
    #[error("cannot connect to {address}: {source}")]
    Connect {
        /// The address tried, without credentials.
        address: String,
        /// What redis-rs said.
        #[source]
        source: redis::RedisError,
    },
    /// A command doctor cannot do without failed.
    #[error("`{command}` failed on {address}: {source}")]
    Command {
        /// The command.
        command: &'static str,
        /// The server's address, without credentials.
        address: String,
        /// What the server or redis-rs said.
        #[source]
        source: redis::RedisError,
    },
}

/// Runs doctor against the server `config` points at; on a Redis Cluster
/// (seed nodes, or the URL of one node), against every node.
pub async fn diagnose(
    config: &Config,
    manifest: &Manifest,
    options: &DoctorOptions,
) -> Result<DoctorReport, DoctorError> {
    let (mut con, address) = connect_any(config).await?;
    let health = match redis_runtime::Store::connect(config).await {
        Ok(store) => Some(store.health().await),
        Err(_) => None,
    };
    let server = server_report(&mut con)
        .await
        .map_err(failed("PING", &address))?;
    // (An application user may not read `INFO`: a configured cluster is one too.)
    if server.mode == "cluster" || config.is_cluster() {
        return cluster::diagnose(config, con, &address, server, manifest, options)
            .await
            .map(|report| DoctorReport { health, ..report });
    }
    let warnings = warnings(&server, manifest);
    let access = access_report(&mut con, manifest, server.user.as_deref()).await;
    let sample = sample(&mut con, manifest, options)
        .await
        .map_err(failed("SCAN", &address))?;
    Ok(DoctorReport {
        version: DoctorReport::VERSION,
        health,
        server,
        nodes: Vec::new(),
        warnings,
        access,
        sample,
    })
}

/// Connects to the first of `config`'s nodes that answers.
pub(crate) async fn connect_any(
    config: &Config,
) -> Result<(MultiplexedConnection, String), DoctorError> {
    let mut last = None;
    for info in config.nodes() {
        match connect(config, info).await {
            Ok(con) => return Ok((con, info.addr().to_string())),
            Err(err) => last = Some(err),
        }
    }
    Err(last.unwrap_or_else(|| DoctorError::Connect {
        address: config.address(),
        source: redis::RedisError::from((redis::ErrorKind::InvalidClientConfig, "no address")),
    }))
}

/// One connection to one node, within the configured timeouts.
pub(crate) async fn connect(
    config: &Config,
    info: &redis::ConnectionInfo,
) -> Result<MultiplexedConnection, DoctorError> {
    let connect = |source| DoctorError::Connect {
        address: info.addr().to_string(),
        source,
    };
    let client = match config.tls_certificates() {
        Some(certificates) => redis::Client::build_with_tls(info.clone(), certificates),
        None => redis::Client::open(info.clone()),
    }
    .map_err(connect)?;
    client
        .get_multiplexed_async_connection_with_config(
            &AsyncConnectionConfig::new()
                .set_connection_timeout(Some(config.connect_timeout()))
                .set_response_timeout(Some(config.response_timeout())),
        )
        .await
        .map_err(connect)
}

/// The error for a `command` that failed on the node at `address`.
pub(crate) fn failed(
    command: &'static str,
    address: &str,
) -> impl FnOnce(redis::RedisError) -> DoctorError {
    let address = address.to_owned();
    move |source| DoctorError::Command {
        command,
        address,
        source,
    }
}

async fn info(con: &mut MultiplexedConnection, section: &str) -> Option<BTreeMap<String, String>> {
    let text: String = redis::cmd("INFO")
        .arg(section)
        .query_async(con)
        .await
        .ok()?;
    Some(
        text.lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.to_owned(), v.trim().to_owned()))
            .collect(),
    )
}

pub(crate) async fn server_report(
    con: &mut MultiplexedConnection,
) -> redis::RedisResult<ServerReport> {
    // The one check that must work: if even PING fails, there is nothing to report.
    let _: String = redis::cmd("PING").query_async(con).await?;
    let server = info(con, "server").await.unwrap_or_default();
    let replication = info(con, "replication").await.unwrap_or_default();
    let persistence = info(con, "persistence").await;
    let memory = info(con, "memory").await;
    let clients = info(con, "clients").await;
    let stats = info(con, "stats").await;
    let rdb_save: Option<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("save")
        .query_async::<Vec<String>>(con)
        .await
        .ok()
        .and_then(|pair| pair.get(1).cloned());
    let user: Option<String> = redis::cmd("ACL").arg("WHOAMI").query_async(con).await.ok();
    Ok(ServerReport {
        redis_version: server
            .get("redis_version")
            .cloned()
            .unwrap_or_else(|| "unknown".into()),
        mode: server
            .get("redis_mode")
            .cloned()
            .unwrap_or_else(|| "unknown".into()),
        role: replication
            .get("role")
            .cloned()
            .unwrap_or_else(|| "unknown".into()),
        aof_enabled: persistence
            .as_ref()
            .and_then(|p| p.get("aof_enabled"))
            .map(|v| v == "1"),
        rdb_save,
        maxmemory: memory
            .as_ref()
            .and_then(|m| m.get("maxmemory"))
            .and_then(|v| v.parse().ok()),
        maxmemory_policy: memory
            .as_ref()
            .and_then(|m| m.get("maxmemory_policy"))
            .cloned(),
        user,
        tracking: match (clients, stats) {
            (Some(clients), Some(stats)) => Some(TrackingReport {
                clients: number(&clients, "tracking_clients"),
                keys: number(&stats, "tracking_total_keys"),
            }),
            _ => None,
        },
    })
}

/// A number field of an `INFO` section (0 when absent).
fn number(section: &BTreeMap<String, String>, field: &str) -> u64 {
    section.get(field).and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// Configuration that can silently drop what the manifest declares.
pub(crate) fn warnings(server: &ServerReport, manifest: &Manifest) -> Vec<String> {
    let mut warnings = Vec::new();
    let durable: Vec<&str> = manifest
        .families
        .iter()
        .filter(|f| f.ttl_ms.is_none())
        .map(|f| f.model.as_str())
        .collect();
    let expiring: Vec<&str> = manifest
        .families
        .iter()
        .filter(|f| f.ttl_ms.is_some())
        .map(|f| f.model.as_str())
        .collect();
    let list = |models: &[&str]| {
        models
            .iter()
            .map(|m| format!("`{m}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let limited = server.maxmemory.is_some_and(|m| m > 0);
    match server.maxmemory_policy.as_deref() {
        Some(policy) if policy.starts_with("allkeys-") && !durable.is_empty() => warnings.push(format!(
            "maxmemory-policy is {policy}{}: under memory pressure Redis evicts any key, including entities of {} that declare no TTL and are expected to stay",
            if limited { "" } else { " (maxmemory is unlimited now, so it applies once a limit is set)" },
            list(&durable)
        )),
        Some(policy) if policy.starts_with("volatile-") && !expiring.is_empty() && limited => warnings.push(format!(
            "maxmemory-policy is {policy}: under memory pressure Redis evicts keys of {} before their TTL ends",
            list(&expiring)
        )),
        _ => {}
    }
    // A restart of a server that persists nothing loses every key, with a
    // TTL or not; the families without one are the ones that hurt most.
    if server.aof_enabled == Some(false)
        && server.rdb_save.as_deref() == Some("")
        && !manifest.families.is_empty()
    {
        let mut warning = "persistence is off (no RDB save schedule, AOF off): a restart or crash \
             loses every key of every family, those with a TTL before it ends"
            .to_owned();
        match durable.len() {
            0 => {}
            1 => warning.push_str(&format!(
                "; 1 family has no TTL and is presumably meant to last: {}",
                list(&durable)
            )),
            n => warning.push_str(&format!(
                "; {n} families have no TTL and are presumably meant to last: {}",
                list(&durable)
            )),
        }
        warnings.push(warning);
    }
    if server.role == "slave" {
        warnings.push("connected to a replica: writes will fail".to_owned());
    }
    warnings
}

/// A key inside a family's pattern that no entity will have.
fn probe_key(namespace: &str, family: &KeyFamily) -> String {
    family.sample_key(namespace, "doctor-probe")
}

/// Whether the user may touch each family: `ACL DRYRUN` of every command of
/// the family's row in the runtime's command table where the user may run
/// it, else a harmless `EXISTS` probe (reads only).
pub(crate) async fn access_report(
    con: &mut MultiplexedConnection,
    manifest: &Manifest,
    user: Option<&str>,
) -> Vec<AccessReport> {
    let mut reports = Vec::new();
    for family in &manifest.families {
        let key = probe_key(&manifest.namespace, family);
        let mut established = false;
        if let Some(user) = user
            && family.is_raw()
        {
            if let Some(report) = raw_access(con, user, family, &key).await {
                established = true;
                reports.push(report);
            }
        } else if let Some(user) = user {
            // Every command the runtime sends to this family's keys or calls
            // on them from a script: its command table.
            let probes = commands::commands_for_kind(&family.encoding);
            let mut denied = Vec::new();
            let mut reads_denied = false;
            let mut answered = true;
            for probe in &probes {
                // `ACL DRYRUN user CMD [args before the key] key [args after]`.
                let mut dry = redis::cmd("ACL");
                dry.arg("DRYRUN")
                    .arg(user)
                    // A subcommand is written `xgroup|create`.
                    .arg(probe.name.split('|').collect::<Vec<_>>())
                    .arg(probe.before_key)
                    .arg(&key);
                // A second key of the same family (a move's destination,
                // set algebra's other sets) is written `k` in the table: the
                // probe key stands for it.
                for arg in probe.after_key {
                    if *arg == "k" {
                        dry.arg(&key);
                    } else {
                        dry.arg(*arg);
                    }
                }
                match dry.query_async::<Value>(con).await {
                    Ok(Value::Okay) => {}
                    Ok(Value::SimpleString(s)) if s == "OK" => {}
                    Ok(_) => {
                        denied.push(probe.name.to_ascii_uppercase());
                        reads_denied |= probe.access == Access::Read;
                    }
                    Err(_) => {
                        answered = false;
                        break;
                    }
                }
            }
            if answered {
                established = true;
                reports.push(AccessReport {
                    model: family.model.clone(),
                    pattern: family.pattern.clone(),
                    verdict: match (denied.is_empty(), reads_denied) {
                        (true, _) => AccessVerdict::Allowed,
                        (false, false) => AccessVerdict::ReadOnly,
                        (false, true) => AccessVerdict::Denied,
                    },
                    method: AccessMethod::DryRun {
                        commands: probes.len(),
                    },
                    denied_commands: denied,
                });
            }
        }
        if !established && family.redis_type == "channel" {
            // A channel has no key to probe, and the only probe of it
            // (a PUBLISH) would reach its subscribers.
            reports.push(AccessReport {
                model: family.model.clone(),
                pattern: family.pattern.clone(),
                verdict: AccessVerdict::Unknown,
                method: AccessMethod::ExistsProbe,
                denied_commands: Vec::new(),
            });
        } else if !established {
            let probe = redis::cmd("EXISTS").arg(&key).query_async::<i64>(con).await;
            let verdict = match probe {
                Ok(_) => AccessVerdict::WritesUnchecked,
                Err(e) if e.code() == Some("NOPERM") => AccessVerdict::Denied,
                Err(_) => AccessVerdict::Unknown,
            };
            reports.push(AccessReport {
                model: family.model.clone(),
                pattern: family.pattern.clone(),
                verdict,
                method: AccessMethod::ExistsProbe,
                denied_commands: Vec::new(),
            });
        }
    }
    reports
}

/// Whether `user` may send a raw family's declared commands to its keys:
/// `ACL DRYRUN` of each, with the probe key as its first argument and as
/// few filler arguments (`0`) as the command's arity takes (the family
/// declares names, not arguments). A command whose key is not its first
/// argument is probed as if it were. `None` when the server cannot dry-run.
async fn raw_access(
    con: &mut MultiplexedConnection,
    user: &str,
    family: &KeyFamily,
    key: &str,
) -> Option<AccessReport> {
    let mut denied = Vec::new();
    for command in &family.commands {
        let mut allowed = None;
        for fillers in 0..4 {
            let mut dry = redis::cmd("ACL");
            dry.arg("DRYRUN")
                .arg(user)
                .arg(command.split('|').collect::<Vec<_>>())
                .arg(key);
            for _ in 0..fillers {
                dry.arg("0");
            }
            match dry.query_async::<Value>(con).await {
                Ok(Value::Okay) => allowed = Some(true),
                Ok(Value::SimpleString(s)) if s == "OK" => allowed = Some(true),
                Ok(_) => allowed = Some(false),
                Err(e) if e.to_string().contains("wrong number of arguments") => continue,
                Err(_) => return None,
            }
            break;
        }
        if allowed != Some(true) {
            denied.push(command.to_ascii_uppercase());
        }
    }
    Some(AccessReport {
        model: family.model.clone(),
        pattern: family.pattern.clone(),
        verdict: if denied.is_empty() {
            AccessVerdict::Allowed
        } else {
            AccessVerdict::Denied
        },
        method: AccessMethod::DryRun {
            commands: family.commands.len(),
        },
        denied_commands: denied,
    })
}

pub(crate) async fn sample(
    con: &mut MultiplexedConnection,
    manifest: &Manifest,
    options: &DoctorOptions,
) -> redis::RedisResult<SampleReport> {
    let started = Instant::now();
    let pattern = if manifest.namespace.is_empty() {
        "*".to_owned()
    } else {
        let mut p = String::new();
        redis_runtime::key::glob_escape_into(&manifest.namespace, &mut p);
        p.push('*');
        p
    };
    let mut families: Vec<FamilySample> = manifest
        .families
        .iter()
        .map(|f| FamilySample {
            model: f.model.clone(),
            keys: 0,
            ttl_leaks: 0,
            wrong_type: 0,
            memory_bytes: 0,
            stale_members: 0,
            stream_entries: 0,
            stream_pending: 0,
            dead_letters: 0,
        })
        .collect();
    let mut report = SampleReport::empty(pattern.clone());
    let mut cursor: u64 = 0;
    loop {
        let (next, keys): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(options.scan_count)
            .query_async(con)
            .await?;
        let room = options
            .max_keys
            .saturating_sub(report.keys_scanned as usize);
        let truncated = keys.len() > room;
        let keys = &keys[..keys.len().min(room)];
        // Classify, then ask TYPE, PTTL and MEMORY USAGE of the page's family keys in one round trip.
        let mut classified = Vec::new();
        for key in keys {
            report.keys_scanned += 1;
            match manifest
                .families
                .iter()
                .position(|f| f.matches(&manifest.namespace, key))
            {
                Some(i) => classified.push((i, key)),
                None => {
                    report.unknown_keys += 1;
                    if report.unknown_examples.len() < options.unknown_examples {
                        let mut shown: String =
                            String::from_utf8_lossy(key).chars().take(120).collect();
                        shown = shown.escape_debug().to_string();
                        report.unknown_examples.push(shown);
                    }
                }
            }
        }
        if !classified.is_empty() {
            const CHECKS: [SampleCheck; 3] = [
                SampleCheck::Type,
                SampleCheck::Pttl,
                SampleCheck::MemoryUsage,
            ];
            let mut pipe = redis::pipe();
            for (_, key) in &classified {
                pipe.cmd("TYPE").arg(*key);
                pipe.cmd("PTTL").arg(*key);
                // The default sampling of nested values: `SAMPLES 0` would
                // walk every element of a large hash on the server's thread.
                pipe.cmd("MEMORY").arg("USAGE").arg(*key);
            }
            // Each reply on its own: an application user's ACL may refuse
            // TYPE or MEMORY, which must not hide what PTTL found.
            let replies: Vec<redis::RedisResult<Value>> =
                pipe.ignore_errors().query_async(con).await?;
            for (n, reply) in replies.iter().enumerate() {
                let check = CHECKS[n % 3];
                if reply.is_err() && !report.refused.contains(&check) {
                    report.refused.push(check);
                }
            }
            for (n, (i, _)) in classified.iter().enumerate() {
                let family = &manifest.families[*i];
                let stats = &mut families[*i];
                stats.keys += 1;
                let reply = |k: usize| replies.get(n * 3 + k).and_then(|r| r.as_ref().ok());
                record_type(reply(0), family, stats);
                if family.ttl_ms.is_some() && matches!(reply(1), Some(Value::Int(-1))) {
                    stats.ttl_leaks += 1;
                }
                if let Some(Value::Int(bytes)) = reply(2) {
                    stats.memory_bytes += u64::try_from(*bytes).unwrap_or(0);
                }
            }
        }
        for (i, key) in &classified {
            let family = &manifest.families[*i];
            families[*i].stale_members += stale_members(con, family, key).await?;
            stream_stats(con, family, key, &mut families[*i]).await;
        }
        cursor = next;
        if cursor == 0 && !truncated {
            report.complete = true;
            break;
        }
        if truncated || report.keys_scanned as usize >= options.max_keys {
            report.stopped_by = Some(StopReason::MaxKeys(options.max_keys));
            break;
        }
        if started.elapsed() >= options.max_time {
            report.stopped_by = Some(StopReason::MaxTimeMs(
                u64::try_from(options.max_time.as_millis()).unwrap_or(u64::MAX),
            ));
            break;
        }
    }
    report.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    report.families = families;
    Ok(report)
}

/// A stream's entries and pending count, or a dead-letter stream's entries;
/// nothing for other families, or when the user may not ask (`XINFO` is
/// not in every rule).
async fn stream_stats(
    con: &mut MultiplexedConnection,
    family: &KeyFamily,
    key: &[u8],
    stats: &mut FamilySample,
) {
    let len = || redis::cmd("XLEN").arg(key).to_owned();
    match family.encoding.as_str() {
        "stream" => {
            if let Ok(n) = len().query_async::<u64>(con).await {
                stats.stream_entries += n;
            }
            let groups: redis::RedisResult<Vec<std::collections::HashMap<String, Value>>> =
                redis::cmd("XINFO")
                    .arg("GROUPS")
                    .arg(key)
                    .query_async(con)
                    .await;
            for group in groups.unwrap_or_default() {
                if let Some(Value::Int(n)) = group.get("pending") {
                    stats.stream_pending += u64::try_from(*n).unwrap_or(0);
                }
            }
        }
        "stream_dead_letter" => {
            if let Ok(n) = len().query_async::<u64>(con).await {
                stats.dead_letters += n;
            }
        }
        _ => {}
    }
}

/// Of the first 100 members of an index or unique-constraint key, how many
/// name an entity that no longer exists (0 for any other family). Two round
/// trips: the members, then `EXISTS` of each entity.
async fn stale_members(
    con: &mut MultiplexedConnection,
    family: &KeyFamily,
    key: &[u8],
) -> redis::RedisResult<u64> {
    const FIRST: usize = 100;
    let entities: Vec<Vec<u8>> = match family.encoding.as_str() {
        "index" | "range_index" => {
            let members: Vec<Vec<u8>> = redis::cmd("ZRANGE")
                .arg(key)
                .arg(0)
                .arg(FIRST - 1)
                .query_async(con)
                .await?;
            if family.encoding == "range_index" {
                members
            } else {
                // `hex(value):key`: hex has no `:`.
                members
                    .into_iter()
                    .filter_map(|m| {
                        let colon = m.iter().position(|b| *b == b':')?;
                        Some(m[colon + 1..].to_vec())
                    })
                    .collect()
            }
        }
        "unique" => {
            let (_, pairs): (u64, Vec<Vec<u8>>) = redis::cmd("HSCAN")
                .arg(key)
                .arg(0)
                .arg("COUNT")
                .arg(FIRST)
                .query_async(con)
                .await?;
            pairs.into_iter().skip(1).step_by(2).collect()
        }
        _ => return Ok(0),
    };
    if entities.is_empty() {
        return Ok(0);
    }
    let mut pipe = redis::pipe();
    for entity in &entities {
        pipe.cmd("EXISTS").arg(entity);
    }
    let exists: Vec<u64> = pipe.query_async(con).await?;
    Ok(exists.iter().filter(|n| **n == 0).count() as u64)
}

/// Counts a key whose `TYPE` is not the family's (`none`: it expired meanwhile).
fn record_type(reply: Option<&Value>, family: &KeyFamily, stats: &mut FamilySample) {
    if let Some(Value::SimpleString(kind)) = reply
        && kind != &family.redis_type
        && kind != "none"
    {
        stats.wrong_type += 1;
    }
}
