//! What doctor found, and how it is shown: tables for people, versioned JSON
//! for tools.

use std::fmt::{self, Write as _};

use redis_runtime::Health;
use serde::{Deserialize, Serialize};

/// What doctor found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DoctorReport {
    /// The schema version of the JSON form.
    pub version: u32,
    /// Whether the store can serve operations: the same report a running
    /// service gets from `Store::health` (so the CLI and the service agree
    /// on what "healthy" means). `None` when doctor's store could not
    /// connect.
    #[serde(default)]
    pub health: Option<Health>,
    /// The server (on a cluster: the node doctor reached first).
    pub server: ServerReport,
    /// Every node of a cluster, each with its own configuration (empty for
    /// one server). Access and the sample cover every node: ACL users are
    /// per node, and every primary holds its share of the keys.
    #[serde(default)]
    pub nodes: Vec<NodeReport>,
    /// Warnings about configuration that can silently lose declared data.
    pub warnings: Vec<String>,
    /// Whether the connected user may touch each family.
    pub access: Vec<AccessReport>,
    /// The keyspace sample.
    pub sample: SampleReport,
}

/// The server's identity and configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerReport {
    /// `redis_version`.
    pub redis_version: String,
    /// `redis_mode`: standalone, cluster or sentinel.
    pub mode: String,
    /// `role`: master or slave.
    pub role: String,
    /// Whether AOF persistence is on.
    pub aof_enabled: Option<bool>,
    /// The RDB `save` schedule (`CONFIG GET save`); `None` when not permitted.
    pub rdb_save: Option<String>,
    /// `maxmemory` in bytes (0: no limit).
    pub maxmemory: Option<u64>,
    /// `maxmemory_policy`.
    pub maxmemory_policy: Option<String>,
    /// The connected user (`ACL WHOAMI`), when the user may ask.
    pub user: Option<String>,
    /// Client-side caching on the server (`INFO`): clients with `CLIENT
    /// TRACKING` on (a store with its client cache on has one) and keys in
    /// its tracking table; `None` when `INFO` is not permitted.
    #[serde(default)]
    pub tracking: Option<TrackingReport>,
}

/// What `INFO` says about client-side caching (`CLIENT TRACKING`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackingReport {
    /// `tracking_clients`: connections with tracking on.
    pub clients: u64,
    /// `tracking_total_keys`: keys some client is told about when they change.
    pub keys: u64,
}

/// One node of a cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeReport {
    /// `host:port`.
    pub address: String,
    /// Its identity and configuration (`role` says primary or replica).
    pub server: ServerReport,
}

/// Access of the connected user to one family.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessReport {
    /// The model.
    pub model: String,
    /// The family's key pattern.
    pub pattern: String,
    /// What the user may do.
    pub verdict: AccessVerdict,
    /// How it was established.
    pub method: AccessMethod,
    /// The runtime's commands on this family's keys (a raw family's: the ones it
    /// declares) that the ACL refuses
    /// (established with `ACL DRYRUN`; empty otherwise).
    #[serde(default)]
    pub denied_commands: Vec<String>,
}

/// The bounded sample of the keyspace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleReport {
    /// The `SCAN MATCH` pattern (the namespace), or `*`.
    pub pattern: String,
    /// Keys examined.
    pub keys_scanned: u64,
    /// Whether the whole keyspace was scanned (the cursor came back to 0).
    pub complete: bool,
    /// Why sampling stopped early, if it did.
    pub stopped_by: Option<StopReason>,
    /// Milliseconds spent.
    pub elapsed_ms: u64,
    /// Per declared family.
    pub families: Vec<FamilySample>,
    /// Keys (in the namespace) matching no declared template.
    pub unknown_keys: u64,
    /// Up to [`DoctorOptions::unknown_examples`](super::DoctorOptions::unknown_examples) of them.
    pub unknown_examples: Vec<String>,
    /// Per-key checks the server refused (e.g. by the ACL of an application
    /// user): their counts are not known.
    #[serde(default)]
    pub refused: Vec<SampleCheck>,
}

/// What the connected user may do with a family's keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AccessVerdict {
    /// Every command the runtime sends to the family is allowed.
    Allowed,
    /// Reads are allowed, some writes are not.
    ReadOnly,
    /// Reads are refused.
    Denied,
    /// Reads are allowed; writes could not be checked (the user may not run
    /// `ACL DRYRUN`). Not counted as clean.
    WritesUnchecked,
    /// It could not be established.
    Unknown,
}

impl AccessVerdict {
    /// Whether the report cannot vouch that the application can work with
    /// the family as declared: something is refused, or was not checked.
    pub fn is_finding(self) -> bool {
        !matches!(self, AccessVerdict::Allowed)
    }
}

impl fmt::Display for AccessVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AccessVerdict::Allowed => "allowed",
            AccessVerdict::ReadOnly => "read-only",
            AccessVerdict::Denied => "denied",
            AccessVerdict::WritesUnchecked => "reads ok, writes not checked",
            AccessVerdict::Unknown => "unknown",
        })
    }
}

/// How an [`AccessVerdict`] was established.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AccessMethod {
    /// `ACL DRYRUN` of every command of the family's row in the runtime's
    /// command table.
    DryRun {
        /// How many commands were dry-run.
        commands: usize,
    },
    /// An `EXISTS` of a key no entity has, where the user may not run
    /// `ACL DRYRUN`: it checks reads only.
    ExistsProbe,
}

impl fmt::Display for AccessMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AccessMethod::DryRun { commands } => {
                write!(f, "ACL DRYRUN of the runtime's {commands} commands")
            }
            AccessMethod::ExistsProbe => {
                f.write_str("EXISTS probe: reads checked; writes need ACL DRYRUN")
            }
        }
    }
}

/// A per-key check of the sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SampleCheck {
    /// `TYPE`: wrong types.
    #[serde(rename = "TYPE")]
    Type,
    /// `PTTL`: TTL leaks.
    #[serde(rename = "PTTL")]
    Pttl,
    /// `MEMORY USAGE`: memory per family.
    #[serde(rename = "MEMORY USAGE")]
    MemoryUsage,
}

impl SampleCheck {
    /// The command, as the server names it.
    pub fn command(self) -> &'static str {
        match self {
            SampleCheck::Type => "TYPE",
            SampleCheck::Pttl => "PTTL",
            SampleCheck::MemoryUsage => "MEMORY USAGE",
        }
    }

    /// Whether a clean report would vouch for what this check did not see
    /// (memory is information, not a finding).
    pub fn refusal_is_finding(self) -> bool {
        matches!(self, SampleCheck::Type | SampleCheck::Pttl)
    }
}

impl fmt::Display for SampleCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.command())
    }
}

/// Why sampling stopped before the whole keyspace was scanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// [`DoctorOptions::max_keys`](super::DoctorOptions::max_keys) keys were examined.
    MaxKeys(usize),
    /// [`DoctorOptions::max_time`](super::DoctorOptions::max_time) passed, in milliseconds.
    MaxTimeMs(u64),
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StopReason::MaxKeys(n) => write!(f, "max {n} keys"),
            StopReason::MaxTimeMs(ms) => write!(f, "max {ms} ms"),
        }
    }
}

/// What the sample found for one family.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FamilySample {
    /// The model.
    pub model: String,
    /// Keys of this family in the sample.
    pub keys: u64,
    /// Keys without a TTL although the model declares one.
    pub ttl_leaks: u64,
    /// Keys holding another Redis type than the encoding uses.
    pub wrong_type: u64,
    /// Sum of `MEMORY USAGE` over the sampled keys.
    pub memory_bytes: u64,
    /// Index and unique-constraint families: members (of the first 100 of
    /// each sampled key) whose entity no longer exists. Queries skip and
    /// remove them; `Store::repair` cleans the rest.
    #[serde(default)]
    pub stale_members: u64,
    /// Stream families: entries in the sampled streams (`XLEN`).
    #[serde(default)]
    pub stream_entries: u64,
    /// Stream families: entries delivered to a consumer group and not yet
    /// acknowledged, over every group of the sampled streams.
    #[serde(default)]
    pub stream_pending: u64,
    /// Dead-letter stream families: entries consumer groups gave up on.
    #[serde(default)]
    pub dead_letters: u64,
}

impl SampleReport {
    /// A sample of `pattern` that has not looked at a key yet.
    pub(crate) fn empty(pattern: String) -> SampleReport {
        SampleReport {
            pattern,
            keys_scanned: 0,
            complete: false,
            stopped_by: None,
            elapsed_ms: 0,
            families: Vec::new(),
            unknown_keys: 0,
            unknown_examples: Vec::new(),
            refused: Vec::new(),
        }
    }
}

impl DoctorReport {
    /// The schema version of the JSON form.
    ///
    /// Version 2 added [`SampleReport::refused`]; version 3 made verdicts,
    /// methods, refused checks and stop reasons typed values; version 4
    /// added [`DoctorReport::nodes`] for clusters; version 5 added
    /// [`DoctorReport::health`]; version 6 added
    /// [`FamilySample::stale_members`]; version 7 added
    /// [`FamilySample::stream_entries`], [`FamilySample::stream_pending`]
    /// and [`FamilySample::dead_letters`]; version 8 added
    /// [`ServerReport::tracking`] (and the client cache's per-model counts
    /// in [`DoctorReport::health`]).
    pub const VERSION: u32 = 8;

    /// The report as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        let mut json = serde_json::to_string_pretty(self).unwrap_or_default();
        json.push('\n');
        json
    }

    /// Whether anything needs attention: warnings, families the user cannot
    /// read or write, unknown keys, TTL leaks or wrong types, or a TTL or type
    /// check the server refused (a clean report vouches for what it checked).
    pub fn has_findings(&self) -> bool {
        self.health.as_ref().is_some_and(Health::degraded)
            || !self.warnings.is_empty()
            || self.access.iter().any(|a| a.verdict.is_finding())
            || self.sample.refused.iter().any(|c| c.refusal_is_finding())
            || self.sample.unknown_keys > 0
            || self.sample.families.iter().any(|f| {
                f.ttl_leaks > 0 || f.wrong_type > 0 || f.stale_members > 0 || f.dead_letters > 0
            })
    }

    /// The report as readable tables.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        let s = &self.server;
        let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "unknown".into());
        let _ = writeln!(
            out,
            "server      redis {} ({}, {})",
            s.redis_version, s.mode, s.role
        );
        let _ = writeln!(
            out,
            "persistence aof {}, rdb save {}",
            s.aof_enabled.map_or("unknown".into(), |a| if a {
                "on".to_owned()
            } else {
                "off".to_owned()
            }),
            s.rdb_save
                .as_deref()
                .map_or("unknown (CONFIG not permitted)".into(), |v| {
                    if v.is_empty() {
                        "off".to_owned()
                    } else {
                        format!("\"{v}\"")
                    }
                }),
        );
        let _ = writeln!(
            out,
            "memory      maxmemory {}, policy {}",
            s.maxmemory.map_or("unknown".into(), |m| if m == 0 {
                "none".to_owned()
            } else {
                format!("{m} bytes")
            }),
            opt(&s.maxmemory_policy)
        );
        let _ = writeln!(out, "user        {}", opt(&s.user));
        if let Some(t) = &s.tracking {
            let _ = writeln!(
                out,
                "tracking    {} client(s) with CLIENT TRACKING on (client caches), {} key(s) tracked",
                t.clients, t.keys
            );
        }
        if let Some(health) = &self.health {
            let _ = writeln!(
                out,
                "health      {}",
                health.to_string().replace('\n', "\n          ")
            );
        }
        if !self.nodes.is_empty() {
            let _ = writeln!(
                out,
                "nodes       {} (access and sample cover them all)",
                self.nodes.len()
            );
            for node in &self.nodes {
                let _ = writeln!(out, "  {:<22} {}", node.address, node.server.role);
            }
        }
        if self.warnings.is_empty() {
            let _ = writeln!(out, "\nwarnings    none");
        } else {
            let _ = writeln!(out, "\nwarnings");
            for w in &self.warnings {
                let _ = writeln!(out, "  ! {w}");
            }
        }
        let _ = writeln!(out, "\naccess");
        let width = self
            .access
            .iter()
            .map(|a| a.model.len())
            .max()
            .unwrap_or(5)
            .max(5);
        for a in &self.access {
            let _ = write!(
                out,
                "  {:width$}  {:9}  {}  ({})",
                a.model,
                a.verdict.to_string(),
                a.pattern,
                a.method
            );
            if !a.denied_commands.is_empty() {
                let _ = write!(out, "; denied: {}", a.denied_commands.join(", "));
            }
            out.push('\n');
        }
        let sample = &self.sample;
        let _ = writeln!(
            out,
            "\nsample      {} keys matching `{}` in {} ms{}",
            sample.keys_scanned,
            sample.pattern,
            sample.elapsed_ms,
            match (&sample.stopped_by, sample.complete) {
                (_, true) => " (complete)".to_owned(),
                (Some(why), false) => format!(" (stopped: {why})"),
                (None, false) => String::new(),
            }
        );
        let width = sample
            .families
            .iter()
            .map(|f| f.model.len())
            .max()
            .unwrap_or(6)
            .max(6);
        let _ = writeln!(
            out,
            "  {:width$}  {:>8}  {:>9}  {:>10}  {:>12}  {:>10}",
            "family", "keys", "ttl leaks", "wrong type", "memory", "avg/key"
        );
        for f in &sample.families {
            let avg = f.memory_bytes.checked_div(f.keys).unwrap_or(0);
            let _ = writeln!(
                out,
                "  {:width$}  {:>8}  {:>9}  {:>10}  {:>12}  {:>10}",
                f.model, f.keys, f.ttl_leaks, f.wrong_type, f.memory_bytes, avg
            );
        }
        let _ = writeln!(out, "  {:width$}  {:>8}", "unknown", sample.unknown_keys);
        for f in sample.families.iter().filter(|f| f.stale_members > 0) {
            let _ = writeln!(
                out,
                "  stale: {} holds {} members whose entity is gone (queries skip and remove them; `Store::repair` cleans the rest)",
                f.model, f.stale_members
            );
        }
        for f in sample
            .families
            .iter()
            .filter(|f| f.stream_entries > 0 || f.stream_pending > 0)
        {
            let _ = writeln!(
                out,
                "  stream: {} holds {} entries, {} pending in its consumer groups",
                f.model, f.stream_entries, f.stream_pending
            );
        }
        for f in sample.families.iter().filter(|f| f.dead_letters > 0) {
            let _ = writeln!(
                out,
                "  dead letters: {} holds {} entries consumer groups gave up on (read them with `dead_letters`)",
                f.model, f.dead_letters
            );
        }
        if !sample.refused.is_empty() {
            let _ = writeln!(
                out,
                "  not checked: the server refused {} (their columns count nothing)",
                sample
                    .refused
                    .iter()
                    .map(|c| c.command())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        for key in &sample.unknown_examples {
            let _ = writeln!(out, "    ? {key}");
        }
        out
    }
}
