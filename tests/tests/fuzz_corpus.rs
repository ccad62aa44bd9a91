//! Replays every checked-in fuzz input through its target's function, so a
//! regression the fuzzers once found (or a corpus input that stops passing)
//! fails `cargo test`. The targets are `fuzz_targets::TARGETS`; their inputs
//! are `fuzz/corpus/<target>/*` (minimised corpora, all passing) and
//! `fuzz/crashes/<target>/*` (inputs of bugs not fixed yet, replayed by the
//! ignored test below). No libFuzzer here: the functions are plain Rust. See
//! `fuzz/README.md` for running the fuzzers themselves.

use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// The files in `dir`, sorted; none when it does not exist.
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Runs every input of every target under `root`, and lists the failures
/// (target, file, panic message) instead of stopping at the first.
fn replay(root: &str) -> (usize, Vec<String>) {
    let mut ran = 0;
    let mut failures = Vec::new();
    for (name, target) in fuzz_targets::TARGETS {
        for path in inputs(&fuzz_dir().join(root).join(name)) {
            let data = std::fs::read(&path).expect("readable input");
            ran += 1;
            if let Err(panic) = std::panic::catch_unwind(|| target(&data)) {
                let message = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("(non-string panic)");
                failures.push(format!("{name} {}: {message}", path.display()));
            }
        }
    }
    (ran, failures)
}

#[test]
fn every_corpus_input_passes_its_target() {
    for (name, _) in fuzz_targets::TARGETS {
        assert!(
            !inputs(&fuzz_dir().join("corpus").join(name)).is_empty(),
            "no corpus for target {name} in fuzz/corpus/{name}/"
        );
    }
    let (ran, failures) = replay("corpus");
    assert!(
        failures.is_empty(),
        "{} of {ran} corpus inputs fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The inputs of bugs the fuzzers found that are not fixed yet: each fails
/// until its bug is fixed, when its file moves to `fuzz/corpus/<target>/`.
#[test]
#[ignore = "inputs of known, unfixed bugs (fuzz/crashes/): see fuzz/README.md"]
fn known_crashes_pass_once_fixed() {
    let (ran, failures) = replay("crashes");
    assert!(
        failures.is_empty(),
        "{} of {ran} known crashing inputs still fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
