//! doctor on a Redis Cluster: every node's configuration and ACL (users are
//! per node, so a rule applied to some nodes only shows here), and the
//! sample over every primary (each holds its share of the keys; replicas
//! hold copies).

use std::collections::BTreeMap;
use std::time::Instant;

use redis_runtime::Config;
use redis_runtime::keyspace::Manifest;
use redis_runtime::redis::{
    self, ConnectionAddr, ConnectionInfo, Value, aio::MultiplexedConnection,
};

use super::{
    AccessReport, AccessVerdict, DoctorError, DoctorOptions, DoctorReport, NodeReport,
    SampleReport, ServerReport, access_report, connect, failed, sample, server_report, warnings,
};

/// A node serving slots, as `CLUSTER SLOTS` lists it.
pub(crate) struct ClusterNode {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) primary: bool,
}

/// Every node of the cluster `con` is a node of: from `CLUSTER NODES`
/// (every node that is not failed, or with `with_failed` every node, for
/// `acl --apply`: a failed node is still a member and comes back with the
/// users it had), or, where the user may not run it, from `CLUSTER SLOTS`
/// (which omits replicas that have not replicated anything yet). Primaries
/// first. `None` when `con` is no cluster node.
pub(crate) async fn discover(
    con: &mut MultiplexedConnection,
    reached: &str,
    with_failed: bool,
) -> Option<Vec<ClusterNode>> {
    if let Ok(text) = redis::cmd("CLUSTER")
        .arg("NODES")
        .query_async::<String>(con)
        .await
    {
        return Some(parse_nodes(&text, reached, with_failed));
    }
    let slots: Value = redis::cmd("CLUSTER")
        .arg("SLOTS")
        .query_async(con)
        .await
        .ok()?;
    Some(parse_slots(&slots, reached))
}

fn parse_nodes(text: &str, reached: &str, with_failed: bool) -> Vec<ClusterNode> {
    let mut nodes: Vec<ClusterNode> = text
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            let address = fields.get(1)?.split('@').next()?;
            let (host, port) = address.rsplit_once(':')?;
            let flags = fields.get(2)?;
            let skipped: &[&str] = if with_failed {
                &["noaddr", "handshake"]
            } else {
                &["fail", "noaddr", "handshake"]
            };
            if skipped
                .iter()
                .any(|f| flags.split(',').any(|flag| flag == *f))
            {
                return None;
            }
            Some(ClusterNode {
                host: own_host(host, reached),
                port: port.parse().ok()?,
                primary: flags.contains("master"),
            })
        })
        .collect();
    nodes.sort_by_key(|n| (!n.primary, n.host.clone(), n.port));
    nodes
}

/// A node that does not know its own address lists it empty: it is the one
/// reached.
fn own_host(host: &str, reached: &str) -> String {
    if host.is_empty() {
        reached
            .rsplit_once(':')
            .map_or(String::new(), |(h, _)| h.to_owned())
    } else {
        host.to_owned()
    }
}

/// Every node `CLUSTER SLOTS` names (the first of each slot range is its
/// primary), each once. `CLUSTER SLOTS` rather than `CLUSTER NODES`: the
/// application's ACL rule allows it (the runtime reads the slot map with it).
fn parse_slots(reply: &Value, reached: &str) -> Vec<ClusterNode> {
    let mut nodes: Vec<ClusterNode> = Vec::new();
    let Value::Array(ranges) = reply else {
        return nodes;
    };
    for range in ranges {
        let Value::Array(range) = range else { continue };
        for (i, node) in range.iter().skip(2).enumerate() {
            let Value::Array(node) = node else { continue };
            let host = match node.first() {
                Some(Value::BulkString(host)) => String::from_utf8_lossy(host).into_owned(),
                Some(Value::SimpleString(host)) => host.clone(),
                _ => continue,
            };
            let host = own_host(&host, reached);
            let Some(Value::Int(port)) = node.get(1) else {
                continue;
            };
            let Ok(port) = u16::try_from(*port) else {
                continue;
            };
            if !nodes.iter().any(|n| n.host == host && n.port == port) {
                nodes.push(ClusterNode {
                    host,
                    port,
                    primary: i == 0,
                });
            }
        }
    }
    nodes.sort_by_key(|n| (!n.primary, n.host.clone(), n.port));
    nodes
}

/// `seed` with its address replaced by the node's, keeping TLS and credentials.
pub(crate) fn node_info(seed: &ConnectionInfo, node: &ClusterNode) -> ConnectionInfo {
    let addr = match seed.addr() {
        ConnectionAddr::TcpTls {
            insecure,
            tls_params,
            ..
        } => ConnectionAddr::TcpTls {
            host: node.host.clone(),
            port: node.port,
            insecure: *insecure,
            tls_params: tls_params.clone(),
        },
        _ => ConnectionAddr::Tcp(node.host.clone(), node.port),
    };
    seed.clone().set_addr(addr)
}

pub(super) async fn diagnose(
    config: &Config,
    mut first: MultiplexedConnection,
    first_address: &str,
    first_server: ServerReport,
    manifest: &Manifest,
    options: &DoctorOptions,
) -> Result<DoctorReport, DoctorError> {
    let Some(cluster_nodes) = discover(&mut first, first_address, false).await else {
        return Err(failed("CLUSTER SLOTS", first_address)(
            redis::RedisError::from((
                redis::ErrorKind::Client,
                "the node does not list the cluster's nodes",
            )),
        ));
    };
    let started = Instant::now();
    let mut found = Findings::default();
    let mut nodes = Vec::new();
    let mut sampled_every_primary = true;
    for node in cluster_nodes {
        let address = format!("{}:{}", node.host, node.port);
        let reached = async {
            let mut con = connect(config, &node_info(config.connection_info(), &node)).await?;
            let server = server_report(&mut con)
                .await
                .map_err(failed("PING", &address))?;
            Ok::<_, DoctorError>((con, server))
        };
        let (mut con, server) = match reached.await {
            Ok(reached) => reached,
            Err(err) => {
                found.warn(format!("a node did not answer: {err}"), &address);
                sampled_every_primary &= !node.primary;
                continue;
            }
        };
        for warning in warnings(&server, manifest) {
            // A cluster's replicas are replicas by design; the store writes
            // to primaries only.
            if !node.primary && server.role == "slave" && warning.contains("replica") {
                continue;
            }
            found.warn(warning, &address);
        }
        let access = access_report(&mut con, manifest, server.user.as_deref()).await;
        found.access.push((address.clone(), access));
        if node.primary {
            let remaining = DoctorOptions {
                max_keys: options.max_keys.saturating_sub(found.keys_scanned()),
                max_time: options.max_time.saturating_sub(started.elapsed()),
                ..options.clone()
            };
            let node_sample = sample(&mut con, manifest, &remaining)
                .await
                .map_err(failed("SCAN", &address))?;
            found.samples.push(node_sample);
        }
        nodes.push(NodeReport { address, server });
    }
    let access = found.merged_access();
    let sample = found.merged_sample(options, sampled_every_primary);
    Ok(DoctorReport {
        version: DoctorReport::VERSION,
        health: None,
        server: first_server,
        nodes,
        warnings: found.warnings(),
        access,
        sample,
    })
}

/// What the nodes reported, to merge into one report.
#[derive(Default)]
struct Findings {
    /// Each warning once, with the nodes it applies to.
    warnings: BTreeMap<String, Vec<String>>,
    access: Vec<(String, Vec<AccessReport>)>,
    samples: Vec<SampleReport>,
}

impl Findings {
    fn warn(&mut self, warning: String, address: &str) {
        self.warnings
            .entry(warning)
            .or_default()
            .push(address.to_owned());
    }

    fn keys_scanned(&self) -> usize {
        self.samples
            .iter()
            .map(|s| usize::try_from(s.keys_scanned).unwrap_or(usize::MAX))
            .sum()
    }

    fn warnings(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .warnings
            .iter()
            .map(|(warning, nodes)| format!("{warning} (on {})", nodes.join(", ")))
            .collect();
        // Access that differs between nodes: the rule was not applied everywhere.
        if let Some((_, first)) = self.access.first() {
            for (i, family) in first.iter().enumerate() {
                let verdicts: BTreeMap<String, Vec<&str>> =
                    self.access
                        .iter()
                        .fold(BTreeMap::new(), |mut by, (address, reports)| {
                            if let Some(report) = reports.get(i) {
                                by.entry(report.verdict.to_string())
                                    .or_default()
                                    .push(address.as_str());
                            }
                            by
                        });
                if verdicts.len() > 1 {
                    let detail: Vec<String> = verdicts
                        .iter()
                        .map(|(verdict, nodes)| format!("{verdict} on {}", nodes.join(", ")))
                        .collect();
                    out.push(format!(
                        "access to `{}` differs between nodes ({}): ACL users are per node; apply the rule to every node",
                        family.model,
                        detail.join("; ")
                    ));
                }
            }
        }
        out
    }

    /// Per family, the worst verdict of any node, with every command any
    /// node refused.
    fn merged_access(&self) -> Vec<AccessReport> {
        let Some((_, first)) = self.access.first() else {
            return Vec::new();
        };
        let rank = |v: AccessVerdict| match v {
            AccessVerdict::Allowed => 0,
            AccessVerdict::WritesUnchecked => 1,
            AccessVerdict::ReadOnly => 2,
            AccessVerdict::Unknown => 3,
            _ => 4,
        };
        let mut merged = first.clone();
        for (_, reports) in &self.access[1..] {
            for (into, report) in merged.iter_mut().zip(reports) {
                if rank(report.verdict) > rank(into.verdict) {
                    into.verdict = report.verdict;
                    into.method = report.method;
                }
                for command in &report.denied_commands {
                    if !into.denied_commands.contains(command) {
                        into.denied_commands.push(command.clone());
                    }
                }
            }
        }
        merged
    }

    /// The primaries' samples as one.
    fn merged_sample(&self, options: &DoctorOptions, every_primary: bool) -> SampleReport {
        let mut samples = self.samples.iter();
        let Some(first) = samples.next() else {
            return SampleReport::empty(String::new());
        };
        let mut merged = first.clone();
        merged.complete &= every_primary;
        for sample in samples {
            merged.keys_scanned += sample.keys_scanned;
            merged.complete &= sample.complete;
            merged.stopped_by = merged.stopped_by.or(sample.stopped_by);
            merged.elapsed_ms += sample.elapsed_ms;
            merged.unknown_keys += sample.unknown_keys;
            for example in &sample.unknown_examples {
                if merged.unknown_examples.len() < options.unknown_examples {
                    merged.unknown_examples.push(example.clone());
                }
            }
            for check in &sample.refused {
                if !merged.refused.contains(check) {
                    merged.refused.push(*check);
                }
            }
            for (into, family) in merged.families.iter_mut().zip(&sample.families) {
                into.keys += family.keys;
                into.ttl_leaks += family.ttl_leaks;
                into.wrong_type += family.wrong_type;
                into.memory_bytes += family.memory_bytes;
                into.stale_members += family.stale_members;
                into.stream_entries += family.stream_entries;
                into.stream_pending += family.stream_pending;
                into.dead_letters += family.dead_letters;
            }
        }
        merged
    }
}
