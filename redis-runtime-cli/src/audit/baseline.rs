//! Baselines: per-file, per-kind violation counts a team commits, so CI
//! fails when a count grows and the team can ratchet the counts down.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{AuditError, Kind, Report};

/// Violation counts by file and kind.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Baseline {
    /// The baseline format version (1).
    pub version: u32,
    /// `file → kind → count`; only non-zero counts are listed.
    pub counts: BTreeMap<String, BTreeMap<Kind, usize>>,
    /// The sum of all counts.
    pub total: usize,
}

/// A count that changed against the baseline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delta {
    /// The file.
    pub file: String,
    /// The kind.
    pub kind: Kind,
    /// The count in the baseline (0 when new).
    pub baseline: usize,
    /// The count now.
    pub current: usize,
}

/// The result of comparing a report with a baseline.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comparison {
    /// Counts that grew or appeared: these fail the audit.
    pub grew: Vec<Delta>,
    /// Counts that shrank or disappeared: rewrite the baseline to lock
    /// them in.
    pub shrank: Vec<Delta>,
    /// The baseline's total.
    pub baseline_total: usize,
    /// The current total.
    pub current_total: usize,
}

impl Comparison {
    /// Whether the audit passes against the baseline (nothing grew).
    pub fn passed(&self) -> bool {
        self.grew.is_empty()
    }
}

impl Baseline {
    /// The current format version.
    pub const VERSION: u32 = 1;

    /// The counts of a report.
    pub fn from_report(report: &Report) -> Baseline {
        let mut counts: BTreeMap<String, BTreeMap<Kind, usize>> = BTreeMap::new();
        for v in &report.violations {
            *counts
                .entry(v.file.clone())
                .or_default()
                .entry(v.kind)
                .or_default() += 1;
        }
        Baseline {
            version: Baseline::VERSION,
            counts,
            total: report.violations.len(),
        }
    }

    /// Read a baseline file.
    pub fn read(path: &Path) -> Result<Baseline, AuditError> {
        let text = std::fs::read_to_string(path).map_err(|source| AuditError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let baseline: Baseline =
            serde_json::from_str(&text).map_err(|err| AuditError::BadBaseline {
                path: path.to_path_buf(),
                message: err.to_string(),
            })?;
        if baseline.version != Baseline::VERSION {
            return Err(AuditError::BadBaseline {
                path: path.to_path_buf(),
                message: format!(
                    "version {} (this tool reads version {})",
                    baseline.version,
                    Baseline::VERSION
                ),
            });
        }
        Ok(baseline)
    }

    /// Write the baseline as pretty JSON.
    pub fn write(&self, path: &Path) -> Result<(), AuditError> {
        let mut text = serde_json::to_string_pretty(self).expect("a baseline serializes");
        text.push('\n');
        std::fs::write(path, text).map_err(|source| AuditError::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Compare the current counts with this baseline.
    pub fn compare(&self, current: &Baseline) -> Comparison {
        let mut comparison = Comparison {
            baseline_total: self.counts.values().flat_map(|k| k.values()).sum(),
            current_total: current.total,
            ..Comparison::default()
        };
        let count = |b: &Baseline, file: &str, kind: Kind| {
            b.counts
                .get(file)
                .and_then(|kinds| kinds.get(&kind))
                .copied()
                .unwrap_or(0)
        };
        let mut keys: Vec<(&String, Kind)> = Vec::new();
        for b in [self, current] {
            for (file, kinds) in &b.counts {
                keys.extend(kinds.keys().map(|k| (file, *k)));
            }
        }
        keys.sort();
        keys.dedup();
        for (file, kind) in keys {
            let delta = Delta {
                file: file.clone(),
                kind,
                baseline: count(self, file, kind),
                current: count(current, file, kind),
            };
            if delta.current > delta.baseline {
                comparison.grew.push(delta);
            } else if delta.current < delta.baseline {
                comparison.shrank.push(delta);
            }
        }
        comparison
    }
}
