//! Text and JSON renderings of a report.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::{Comparison, Kind, Report, Violation};

/// The version of the JSON schema ([`JsonReport`]).
pub const SCHEMA_VERSION: u32 = 2;

/// The JSON output, schema version 2:
///
/// ```json
/// { "version": 2,
///   "violations": [ { "file": "src/a.rs", "line": 3, "column": 5,
///                     "kind": "raw_command", "function": "Repo::load",
///                     "module": "crate", "message": "...", "snippet": "..." } ],
///   "summary": { "raw_command": 1, "raw_pipeline": 0, ... },
///   "total": 1, "signals": 0, "allowed": 0, "files": 12,
///   "baseline": null }
/// ```
///
/// `violations` lists every finding, signals included; `summary` counts
/// every kind. `total` is the "violations" count: access sites only
/// ([`Kind::is_access_site`]); `signals` counts the imports and hand-built
/// keys, which are not in `total`. (Version 1 had no `signals`, and its
/// `total` counted every finding.) `baseline` is present when `--baseline` was
/// given: `{ "grew": [..], "shrank": [..], "baseline_total": n,
/// "current_total": n }`, each delta `{ "file", "kind", "baseline", "current" }`.
///
/// `version` changes when the document's shape does. A new kind is a new
/// string value of `kind` and a new key of `summary`, not a new shape, so it
/// keeps the version (`escape_hatch` was added within version 1): read
/// `summary` as a map and accept kind names you do not know.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsonReport {
    /// [`SCHEMA_VERSION`].
    pub version: u32,
    /// Every violation outside the allowlist.
    pub violations: Vec<Violation>,
    /// Count per kind (every kind listed).
    pub summary: BTreeMap<Kind, usize>,
    /// The "violations" count: access sites.
    pub total: usize,
    /// Signals not counted in `total`: command-trait imports and
    /// hand-built keys.
    pub signals: usize,
    /// Violations suppressed by the allowlist.
    pub allowed: usize,
    /// Files scanned.
    pub files: usize,
    /// The comparison with the baseline, if one was given.
    pub baseline: Option<Comparison>,
}

/// Render a report as JSON (schema version [`SCHEMA_VERSION`]).
pub fn render_json(report: &Report, comparison: Option<&Comparison>) -> String {
    let json = JsonReport {
        version: SCHEMA_VERSION,
        violations: report.violations.clone(),
        summary: report.summary(),
        total: report.total(),
        signals: report.signals(),
        allowed: report.allowed,
        files: report.files,
        baseline: comparison.cloned(),
    };
    let mut text = serde_json::to_string_pretty(&json).expect("a report serializes");
    text.push('\n');
    text
}

/// Render a report as text: one line per violation, then the summary,
/// then the baseline comparison if any.
pub fn render_text(report: &Report, comparison: Option<&Comparison>) -> String {
    let mut out = String::new();
    for v in &report.violations {
        let _ = writeln!(
            out,
            "{}:{}:{}: {}: {} (in {})",
            v.file, v.line, v.column, v.kind, v.message, v.function
        );
        if !v.snippet.is_empty() {
            let _ = writeln!(out, "    {}", v.snippet);
        }
    }
    if !report.violations.is_empty() {
        out.push('\n');
    }
    let _ = writeln!(out, "summary ({} files scanned):", report.files);
    let summary = report.summary();
    let _ = writeln!(out, "  access sites (counted in violations):");
    for (kind, count) in summary.iter().filter(|(k, _)| k.is_access_site()) {
        let _ = writeln!(out, "    {:<22} {count}", kind.as_str());
    }
    let _ = writeln!(out, "  signals (not counted in violations):");
    for (kind, count) in summary.iter().filter(|(k, _)| !k.is_access_site()) {
        let _ = writeln!(out, "    {:<22} {count}", kind.as_str());
    }
    if report.allowed > 0 {
        let _ = writeln!(out, "allowed (not counted): {}", report.allowed);
    }
    let _ = writeln!(
        out,
        "violations: {} (access sites: each place that builds or sends raw Redis traffic, opens the escape hatch, or cannot be audited)",
        report.total()
    );
    let _ = writeln!(
        out,
        "signals: {} (command-trait imports and hand-built keys, reported next to the sites, not counted)",
        report.signals()
    );
    if let Some(c) = comparison {
        let _ = writeln!(
            out,
            "baseline: {} → {} findings (signals included)",
            c.baseline_total, c.current_total
        );
        for d in &c.grew {
            let _ = writeln!(
                out,
                "  grew:   {} {}: {} → {}",
                d.file, d.kind, d.baseline, d.current
            );
        }
        for d in &c.shrank {
            let _ = writeln!(
                out,
                "  shrank: {} {}: {} → {}",
                d.file, d.kind, d.baseline, d.current
            );
        }
        if c.passed() {
            if c.shrank.is_empty() {
                let _ = writeln!(out, "baseline: ok, no count grew");
            } else {
                let _ = writeln!(
                    out,
                    "baseline: ok, {} count(s) shrank; rewrite the baseline with --write-baseline to lock them in",
                    c.shrank.len()
                );
            }
        } else {
            let _ = writeln!(
                out,
                "baseline: FAILED, {} count(s) grew; remove the new raw Redis access (or, deliberately, rewrite the baseline)",
                c.grew.len()
            );
        }
    }
    out
}
