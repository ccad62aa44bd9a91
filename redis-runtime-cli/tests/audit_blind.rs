//! Scores the audit on the blind corpus: real Redis-touching files from public
//! repositories, labelled by hand before the audit first ran on them (see
//! `tests/fixtures/blind/README.md` for the corpus and the labelling rule).
//!
//! The sources are not in this repository; set `REDIS_AUDIT_BLIND_CORPUS` to
//! the directory that holds the trees. Precision and recall over access sites
//! are printed per tree and in total, and must reach the floor below;
//! imports are scored separately and hand-built keys are not scored.
//!
//! ```sh
//! REDIS_AUDIT_BLIND_CORPUS=/path/to/blind-corpus \
//!     cargo test -p redis-runtime-cli --test audit_blind -- --nocapture
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use redis_runtime_cli::audit::{Kind, Options, audit};

/// The floor both figures must reach, over the whole corpus.
const FLOOR: f64 = 0.99;

const ENV: &str = "REDIS_AUDIT_BLIND_CORPUS";

/// (file relative to the tree, line, kind) → how many.
type Sites = BTreeMap<(String, usize, Kind), usize>;

/// The labelled sets: the blind corpus, and the holdout labelled after the
/// fixes the first set steered.
const SETS: [&str; 2] = ["", "holdout"];

fn labels_dir(set: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/blind")
        .join(set)
}

/// The trees of a set that have labels, by name.
fn trees(set: &str) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(labels_dir(set))
        .unwrap()
        .filter_map(|e| {
            let path = e.unwrap().path();
            (path.extension()? == "labels")
                .then(|| path.file_stem()?.to_str().map(str::to_owned))?
        })
        .collect();
    out.sort();
    out
}

fn is_access(kind: Kind) -> bool {
    !matches!(kind, Kind::CommandTraitImport | Kind::HandBuiltKey)
}

fn labelled(set: &str, tree: &str) -> Sites {
    let text = std::fs::read_to_string(labels_dir(set).join(format!("{tree}.labels"))).unwrap();
    let mut out = Sites::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap().trim();
        if line.is_empty() {
            continue;
        }
        let (place, kind) = line
            .split_once(char::is_whitespace)
            .unwrap_or_else(|| panic!("{tree}.labels:{}: no kind", i + 1));
        let (file, number) = place
            .rsplit_once(':')
            .unwrap_or_else(|| panic!("{tree}.labels:{}: no line", i + 1));
        let kind = Kind::from_name(kind.trim())
            .unwrap_or_else(|| panic!("{tree}.labels:{}: bad kind {kind}", i + 1));
        *out.entry((file.to_owned(), number.parse().unwrap(), kind))
            .or_default() += 1;
    }
    out
}

fn found(root: &Path, tree: &str) -> Sites {
    let dir = root.join(tree);
    let report = audit(std::slice::from_ref(&dir), &Options::default()).unwrap();
    let prefix = format!("{}/", dir.display());
    let mut out = Sites::new();
    for v in report.violations {
        if v.kind == Kind::HandBuiltKey {
            continue;
        }
        let file = v.file.strip_prefix(&prefix).unwrap_or(&v.file).to_owned();
        *out.entry((file, v.line, v.kind)).or_default() += 1;
    }
    out
}

#[derive(Default, Clone, Copy)]
struct Score {
    tp: usize,
    fp: usize,
    fn_: usize,
}

impl Score {
    fn precision(self) -> f64 {
        if self.tp + self.fp == 0 {
            1.0
        } else {
            self.tp as f64 / (self.tp + self.fp) as f64
        }
    }
    fn recall(self) -> f64 {
        if self.tp + self.fn_ == 0 {
            1.0
        } else {
            self.tp as f64 / (self.tp + self.fn_) as f64
        }
    }
    fn add(&mut self, other: Score) {
        self.tp += other.tp;
        self.fp += other.fp;
        self.fn_ += other.fn_;
    }
}

/// Compare, printing every miss; `keep` selects the kinds scored.
fn compare(tree: &str, want: &Sites, got: &Sites, keep: fn(Kind) -> bool) -> Score {
    let mut score = Score::default();
    let keys: std::collections::BTreeSet<_> = want.keys().chain(got.keys()).collect();
    for key in keys {
        if !keep(key.2) {
            continue;
        }
        let w = want.get(key).copied().unwrap_or(0);
        let g = got.get(key).copied().unwrap_or(0);
        score.tp += w.min(g);
        if g > w {
            score.fp += g - w;
            println!("  FP {tree}/{}:{} {}", key.0, key.1, key.2);
        }
        if w > g {
            score.fn_ += w - g;
            println!("  FN {tree}/{}:{} {}", key.0, key.1, key.2);
        }
    }
    score
}

#[test]
fn blind_corpus_precision_and_recall() {
    let Some(root) = std::env::var_os(ENV).map(PathBuf::from) else {
        eprintln!("{ENV} is not set: the blind corpus was not scored");
        return;
    };
    let mut access = Score::default();
    let mut imports = Score::default();
    for set in SETS {
        let mut in_set = Score::default();
        for tree in trees(set) {
            assert!(
                root.join(&tree).is_dir(),
                "{} is missing from {}",
                tree,
                root.display()
            );
            let want = labelled(set, &tree);
            let got = found(&root, &tree);
            let a = compare(&tree, &want, &got, is_access);
            let i = compare(&tree, &want, &got, |k| k == Kind::CommandTraitImport);
            println!(
                "{tree:<24} access sites: TP {:>3} FP {:>2} FN {:>2}  precision {:.3} recall {:.3}",
                a.tp,
                a.fp,
                a.fn_,
                a.precision(),
                a.recall()
            );
            in_set.add(a);
            imports.add(i);
        }
        let name = if set.is_empty() { "blind" } else { set };
        println!(
            "{name} set, access sites: TP {} FP {} FN {}  precision {:.3} recall {:.3}",
            in_set.tp,
            in_set.fp,
            in_set.fn_,
            in_set.precision(),
            in_set.recall()
        );
        access.add(in_set);
    }
    println!(
        "TOTAL access sites: TP {} FP {} FN {}  precision {:.3} recall {:.3}",
        access.tp,
        access.fp,
        access.fn_,
        access.precision(),
        access.recall()
    );
    println!(
        "imports (separate signal): TP {} FP {} FN {}  precision {:.3} recall {:.3}",
        imports.tp,
        imports.fp,
        imports.fn_,
        imports.precision(),
        imports.recall()
    );
    assert!(
        access.precision() >= FLOOR && access.recall() >= FLOOR,
        "blind corpus below the floor {FLOOR}: precision {:.3}, recall {:.3}",
        access.precision(),
        access.recall()
    );
}
