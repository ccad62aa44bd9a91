//! The report: Markdown tables for `BENCHMARKS.md` and a JSON file.

use std::path::Path;

use serde::Serialize;

use crate::stats::Spread;

/// One table.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Table {
    /// Shown above the table.
    pub caption: String,
    /// Column headers.
    pub headers: Vec<String>,
    /// Rows of cells.
    pub rows: Vec<Vec<String>>,
    /// Shown below the table.
    pub notes: Vec<String>,
}

impl Table {
    /// A table with these headers.
    pub fn new(caption: impl Into<String>, headers: &[&str]) -> Table {
        Table {
            caption: caption.into(),
            headers: headers.iter().map(|h| (*h).to_owned()).collect(),
            ..Table::default()
        }
    }

    /// Appends a row.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    fn markdown(&self, out: &mut String) {
        if !self.caption.is_empty() {
            out.push_str(&format!("{}\n\n", self.caption));
        }
        out.push_str(&format!("| {} |\n", self.headers.join(" | ")));
        out.push_str(&format!(
            "|{}\n",
            self.headers.iter().map(|_| "---|").collect::<String>()
        ));
        for row in &self.rows {
            out.push_str(&format!("| {} |\n", row.join(" | ")));
        }
        out.push('\n');
        for note in &self.notes {
            out.push_str(&format!("{note}\n"));
        }
        if !self.notes.is_empty() {
            out.push('\n');
        }
    }
}

/// One scenario's part of the report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Section {
    /// Heading.
    pub title: String,
    /// Paragraphs before the tables.
    pub intro: Vec<String>,
    /// The tables.
    pub tables: Vec<Table>,
}

/// One measured ratio, for the JSON file.
#[derive(Debug, Clone, Serialize)]
pub struct Measurement {
    /// Scenario id (S1, S2, ...).
    pub scenario: String,
    /// What was measured, e.g. `M8 hash save`.
    pub case: String,
    /// The variant.
    pub variant: String,
    /// Its throughput over the hand-written baseline's, per round.
    pub ratio: Spread,
    /// Its client CPU per operation over the baseline's, per round.
    pub cpu_ratio: Option<Spread>,
    /// Its median throughput (operations or entities per second; for codecs, per second of CPU).
    pub median_per_sec: f64,
    /// The target it is held to, if any (a minimum ratio).
    pub target: Option<f64>,
}

/// Everything one run produced.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// What the run covers, before "machine and run" in its first heading
    /// (e.g. `Cluster`); none for the single-server scenarios.
    pub label: Option<String>,
    /// Facts about the machine and the run.
    pub machine: Vec<(String, String)>,
    /// The sections, in order.
    pub sections: Vec<Section>,
    /// Every ratio, machine-readable.
    pub measurements: Vec<Measurement>,
    /// Targets missed (one line each).
    pub missed: Vec<String>,
    /// Framework / peer ratios whose spread includes 1 (neither ahead nor behind).
    pub ties: Vec<String>,
}

impl Report {
    /// The report as Markdown (the generated part of `BENCHMARKS.md`).
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        match &self.label {
            Some(label) => out.push_str(&format!("### {label}: machine and run\n\n")),
            None => out.push_str("### Machine and run\n\n"),
        }
        out.push_str("| | |\n|---|---|\n");
        for (k, v) in &self.machine {
            out.push_str(&format!("| {k} | {v} |\n"));
        }
        out.push('\n');
        if self.missed.is_empty() {
            out.push_str("**Targets:** every target met in this run.\n\n");
        } else {
            out.push_str(
                "**Targets missed in this run** (framework / hand-written: the median below \
                 the target; framework / peer: clearly behind, i.e. even the p90 below 1):\n\n",
            );
            for m in &self.missed {
                out.push_str(&format!("- {m}\n"));
            }
            out.push('\n');
        }
        if !self.ties.is_empty() {
            out.push_str(
                "**Level with a peer** (the p10–p90 spread of framework / peer includes 1):\n\n",
            );
            for t in &self.ties {
                out.push_str(&format!("- {t}\n"));
            }
            out.push('\n');
        }
        for section in &self.sections {
            out.push_str(&format!("### {}\n\n", section.title));
            for p in &section.intro {
                out.push_str(&format!("{p}\n\n"));
            }
            for table in &section.tables {
                table.markdown(&mut out);
            }
        }
        out
    }

    /// Writes `report{suffix}.md` and `results{suffix}.json` into `dir`.
    pub fn write_files(&self, dir: &Path, suffix: &str) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join(format!("report{suffix}.md")), self.markdown())?;
        let json = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(dir.join(format!("results{suffix}.json")), json)
    }
}

/// The markers between which `--write-md` replaces the single-server
/// scenarios' part of a file.
pub const BEGIN: &str = "<!-- BEGIN GENERATED: cargo run --release -p redis-bench -->";
/// See [`BEGIN`].
pub const END: &str = "<!-- END GENERATED -->";
/// The markers of the cluster scenario's part, which a run of the other
/// scenarios leaves alone (and the other way round).
pub const CLUSTER_BEGIN: &str =
    "<!-- BEGIN GENERATED: cargo run --release -p redis-bench -- --scenario cluster -->";
/// See [`CLUSTER_BEGIN`].
pub const CLUSTER_END: &str = "<!-- END GENERATED CLUSTER -->";
/// The markers of the collections scenario's part, also left alone by runs
/// without it.
pub const COLLECTIONS_BEGIN: &str =
    "<!-- BEGIN GENERATED: cargo run --release -p redis-bench -- --scenario collections -->";
/// See [`COLLECTIONS_BEGIN`].
pub const COLLECTIONS_END: &str = "<!-- END GENERATED COLLECTIONS -->";

/// Replaces the part of `path` between `begin` and `end` with `generated`;
/// appends the block when the file has no such markers, and writes a new file
/// when there is none.
pub fn write_into(path: &Path, (begin, end): (&str, &str), generated: &str) -> std::io::Result<()> {
    std::fs::write(
        path,
        replace_block(std::fs::read_to_string(path).ok(), (begin, end), generated),
    )
}

fn replace_block(old: Option<String>, (begin, end): (&str, &str), generated: &str) -> String {
    let block = format!("{begin}\n\n{generated}\n{end}");
    match old {
        Some(old) => match (old.find(begin), old.find(end)) {
            (Some(b), Some(e)) if b < e => {
                format!("{}{block}{}", &old[..b], &old[e + end.len()..])
            }
            _ => format!("{old}\n{block}\n"),
        },
        None => format!("{block}\n"),
    }
}

/// A ratio cell: `0.982 (0.961–1.004)`, with a warning sign below `target`.
pub fn ratio_cell(spread: &Spread, target: Option<f64>) -> String {
    let shown = spread.show();
    match target {
        Some(t) if spread.median < t => format!("**{shown}** ⚠"),
        _ => shown,
    }
}

/// A rate with thousands: `18.2 k/s`.
pub fn rate(per_sec: f64) -> String {
    if per_sec >= 1e6 {
        format!("{:.2} M/s", per_sec / 1e6)
    } else {
        format!("{:.1} k/s", per_sec / 1e3)
    }
}

/// Nanoseconds as `12.3 µs` or `850 ns`.
pub fn micros(ns: f64) -> String {
    if ns >= 1000.0 {
        format!("{:.1} µs", ns / 1000.0)
    } else {
        format!("{ns:.0} ns")
    }
}

#[cfg(test)]
mod tests {
    use super::{
        BEGIN, CLUSTER_BEGIN, CLUSTER_END, COLLECTIONS_BEGIN, COLLECTIONS_END, END, replace_block,
    };

    #[test]
    fn no_marker_is_found_inside_another() {
        let markers = [
            BEGIN,
            END,
            CLUSTER_BEGIN,
            CLUSTER_END,
            COLLECTIONS_BEGIN,
            COLLECTIONS_END,
        ];
        for a in markers {
            for b in markers {
                assert!(a == b || !b.contains(a), "{a} is inside {b}");
            }
        }
    }

    #[test]
    fn the_collections_block_is_replaced_alone() {
        let doc = format!(
            "{BEGIN}\nmain\n{END}\n{COLLECTIONS_BEGIN}\nold\n{COLLECTIONS_END}\n{CLUSTER_BEGIN}\nc\n{CLUSTER_END}\n"
        );
        let out = replace_block(Some(doc), (COLLECTIONS_BEGIN, COLLECTIONS_END), "new");
        assert_eq!(
            out,
            format!(
                "{BEGIN}\nmain\n{END}\n{COLLECTIONS_BEGIN}\n\nnew\n{COLLECTIONS_END}\n{CLUSTER_BEGIN}\nc\n{CLUSTER_END}\n"
            )
        );
    }

    #[test]
    fn each_block_is_replaced_alone() {
        let doc = format!(
            "intro\n{BEGIN}\nold\n{END}\nmiddle\n{CLUSTER_BEGIN}\nold\n{CLUSTER_END}\nend\n"
        );
        let main = replace_block(Some(doc.clone()), (BEGIN, END), "new main");
        assert_eq!(
            main,
            format!(
                "intro\n{BEGIN}\n\nnew main\n{END}\nmiddle\n{CLUSTER_BEGIN}\nold\n{CLUSTER_END}\nend\n"
            )
        );
        let cluster = replace_block(Some(doc), (CLUSTER_BEGIN, CLUSTER_END), "new cluster");
        assert_eq!(
            cluster,
            format!(
                "intro\n{BEGIN}\nold\n{END}\nmiddle\n{CLUSTER_BEGIN}\n\nnew cluster\n{CLUSTER_END}\nend\n"
            )
        );
        let appended = replace_block(Some("text\n".into()), (CLUSTER_BEGIN, CLUSTER_END), "c");
        assert_eq!(
            appended,
            format!("text\n\n{CLUSTER_BEGIN}\n\nc\n{CLUSTER_END}\n")
        );
        assert_eq!(
            replace_block(None, (BEGIN, END), "m"),
            format!("{BEGIN}\n\nm\n{END}\n")
        );
    }
}
