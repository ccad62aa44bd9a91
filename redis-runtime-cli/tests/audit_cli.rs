//! The `redis-runtime audit` command line: exit codes, JSON schema,
//! baselines, allowlists, configuration files and file discovery.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use tempfile::TempDir;

const RAW: &str = r#"
use redis::AsyncCommands;

pub async fn load(con: &mut redis::aio::MultiplexedConnection, id: u64) -> redis::RedisResult<String> {
    let v: String = redis::cmd("GET").arg(format!("user:{id}")).query_async(con).await?;
    let _: () = con.set("seen:1", 1).await?;
    Ok(v)
}
"#;

const CLEAN: &str = r#"
use std::collections::HashMap;

pub fn lookup(map: &HashMap<String, String>) -> Option<&String> {
    map.get("user:1")
}
"#;

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn tree(files: &[(&str, &str)]) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "Cargo.toml",
        "[package]\nname = \"svc\"\nversion = \"0.0.0\"\n",
    );
    for (rel, text) in files {
        write(dir.path(), rel, text);
    }
    dir
}

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_redis-runtime"))
        .arg("audit")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|err| {
        panic!("not JSON ({err}):\n{}", stdout(out));
    })
}

#[test]
fn exit_0_when_clean_and_1_when_not() {
    let clean = tree(&[("src/lib.rs", CLEAN)]);
    let out = run(clean.path(), &["."]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("violations: 0"));

    let dirty = tree(&[("src/lib.rs", RAW)]);
    let out = run(dirty.path(), &["src"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    // Access sites: raw_command + command_trait_call; signals: the import
    // and two hand-built keys, reported but not counted.
    assert!(text.contains("violations: 2 (access sites"), "{text}");
    assert!(text.contains("signals: 3 ("), "{text}");
    assert!(
        text.contains("src/lib.rs:5:21: raw_command:"),
        "file:line:column of the raw command: {text}"
    );
    assert!(text.contains("(in load)"), "{text}");
    assert!(text.contains("  raw_command            1"), "{text}");
}

#[test]
fn exit_2_for_tool_errors() {
    let dir = tree(&[("src/lib.rs", CLEAN)]);
    let missing = run(dir.path(), &["no/such/dir"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no/such/dir"));

    let bad_flag = run(dir.path(), &["--no-such-flag"]);
    assert_eq!(bad_flag.status.code(), Some(2));

    let bad_format = run(dir.path(), &["--format", "yaml"]);
    assert_eq!(bad_format.status.code(), Some(2));

    let bad_glob = run(dir.path(), &["--allow", "src/[oops"]);
    assert_eq!(bad_glob.status.code(), Some(2));

    write(dir.path(), "baseline.json", "not json");
    let bad_baseline = run(dir.path(), &["--baseline", "baseline.json"]);
    assert_eq!(bad_baseline.status.code(), Some(2));
}

#[test]
fn help_documents_exit_codes_and_kinds() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = stdout(&out);
    for needle in [
        "Exit codes:",
        "--allow",
        "--baseline",
        "--write-baseline",
        "--format",
        "raw_connection_call",
        "escape_hatch",
    ] {
        assert!(help.contains(needle), "--help lacks {needle}:\n{help}");
    }
}

#[test]
fn json_schema_version_2() {
    let dir = tree(&[("src/lib.rs", RAW)]);
    let out = run(dir.path(), &["--format", "json", "src"]);
    assert_eq!(out.status.code(), Some(1));
    let doc = json(&out);
    assert_eq!(doc["version"], 2);
    assert_eq!(doc["total"], 2, "access sites only");
    assert_eq!(doc["signals"], 3, "the import and the two keys");
    let summary = doc["summary"].as_object().unwrap();
    let kinds: Vec<&str> = summary.keys().map(String::as_str).collect();
    assert_eq!(
        kinds.len(),
        9,
        "every kind is listed, zero or not: {kinds:?}"
    );
    assert_eq!(summary["escape_hatch"], 0);
    assert_eq!(summary["raw_command"], 1);
    assert_eq!(summary["hand_built_key"], 2);
    assert_eq!(summary["command_trait_import"], 1);
    assert_eq!(summary["command_trait_call"], 1);
    assert_eq!(summary["raw_pipeline"], 0);
    let sum: u64 = summary.values().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(sum, 5);
    let first = &doc["violations"][0];
    for field in [
        "file", "line", "column", "kind", "function", "module", "message", "snippet",
    ] {
        assert!(!first[field].is_null(), "violation lacks {field}: {first}");
    }
    assert_eq!(first["file"], "src/lib.rs");
    assert_eq!(first["kind"], "command_trait_import");
    assert_eq!(first["line"], 2);
    assert_eq!(first["column"], 12);
    assert!(doc["baseline"].is_null());
}

#[test]
fn baseline_ratchet() {
    let dir = tree(&[("src/lib.rs", RAW), ("src/other.rs", CLEAN)]);
    let out = run(dir.path(), &["src", "--write-baseline", "baseline.json"]);
    assert_eq!(out.status.code(), Some(0), "writing a baseline succeeds");
    let baseline: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("baseline.json")).unwrap())
            .unwrap();
    assert_eq!(baseline["version"], 1);
    assert_eq!(baseline["total"], 5);
    assert_eq!(baseline["counts"]["src/lib.rs"]["hand_built_key"], 2);

    // Unchanged: passes although there are violations.
    let out = run(dir.path(), &["src", "--baseline", "baseline.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("no count grew"));

    // A new kind in a new file: fails, and says where.
    write(
        dir.path(),
        "src/other.rs",
        "pub fn p() -> redis::Pipeline { redis::pipe() }\n",
    );
    let out = run(dir.path(), &["src", "--baseline", "baseline.json"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("grew:   src/other.rs raw_pipeline: 0 → 1"),
        "{text}"
    );
    assert!(text.contains("FAILED"), "{text}");

    // Fewer than the baseline: passes, and says what shrank.
    write(dir.path(), "src/other.rs", CLEAN);
    write(
        dir.path(),
        "src/lib.rs",
        &RAW.replace("    let _: () = con.set(\"seen:1\", 1).await?;\n", ""),
    );
    let out = run(
        dir.path(),
        &["src", "--baseline", "baseline.json", "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(0));
    let doc = json(&out);
    let shrank = doc["baseline"]["shrank"].as_array().unwrap();
    assert_eq!(shrank.len(), 2, "{shrank:?}");
    assert!(doc["baseline"]["grew"].as_array().unwrap().is_empty());
    let out = run(dir.path(), &["src", "--baseline", "baseline.json"]);
    assert!(
        stdout(&out).contains("--write-baseline"),
        "suggests rewriting it"
    );

    // The same total but moved to another kind still fails.
    write(
        dir.path(),
        "src/lib.rs",
        &RAW.replace("con.set(\"seen:1\", 1)", "redis::pipe().query_async(con)"),
    );
    let out = run(dir.path(), &["src", "--baseline", "baseline.json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
}

/// The framework's escape hatch is counted so that a service can ratchet it
/// down: each `.raw_access()` is one `escape_hatch`, the raw command sent
/// through it one `raw_command`, and a baseline fails when uses grow.
#[test]
fn escape_hatch_is_counted_and_ratcheted() {
    const HATCH: &str = r#"
use redis_runtime::Store;

pub async fn members(store: &Store, id: &TeamId) -> redis_runtime::Result<u64> {
    let raw = store.raw_access();
    let key = raw.key::<Team>(id)?;
    raw.query(redis::cmd("SCARD").arg(&key)).await
}

pub async fn ping(store: &Store) -> redis_runtime::Result<String> {
    store.raw_access().query(redis::cmd("PING")).await
}
"#;
    let dir = tree(&[("src/lib.rs", HATCH)]);
    let out = run(dir.path(), &["--format", "json", "src"]);
    assert_eq!(out.status.code(), Some(1));
    let doc = json(&out);
    assert_eq!(doc["version"], 2, "a new kind is not a new schema");
    assert_eq!(doc["summary"]["escape_hatch"], 2);
    assert_eq!(doc["summary"]["raw_command"], 2);
    assert_eq!(doc["total"], 4);
    let out = run(dir.path(), &["src"]);
    let text = stdout(&out);
    assert!(text.contains("src/lib.rs:5:21: escape_hatch:"), "{text}");
    assert!(text.contains("  escape_hatch           2"), "{text}");

    let out = run(dir.path(), &["src", "--write-baseline", "baseline.json"]);
    assert_eq!(out.status.code(), Some(0));
    // One more use: the baseline fails.
    write(
        dir.path(),
        "src/lib.rs",
        &format!("{HATCH}\npub fn more(store: &Store) {{ let _ = store.raw_access(); }}\n"),
    );
    let out = run(dir.path(), &["src", "--baseline", "baseline.json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("grew:   src/lib.rs escape_hatch: 2 → 3"),
        "{}",
        stdout(&out)
    );
    // One fewer (the framework grew an operation for it): passes, and shrank.
    let fewer = HATCH.split("pub async fn ping").next().unwrap().to_owned();
    write(dir.path(), "src/lib.rs", &fewer);
    let out = run(dir.path(), &["src", "--baseline", "baseline.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("shrank: src/lib.rs escape_hatch: 2 → 1"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn allowlist_by_path_glob() {
    let dir = tree(&[
        ("src/lib.rs", CLEAN),
        ("tests/corrupt.rs", RAW),
        ("tests/common/mod.rs", RAW),
    ]);
    let out = run(dir.path(), &["."]);
    assert_eq!(out.status.code(), Some(1));

    let out = run(dir.path(), &[".", "--allow", "tests/corrupt.rs"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(!text.contains("tests/corrupt.rs:"), "{text}");
    assert!(text.contains("tests/common/mod.rs:"), "{text}");
    assert!(text.contains("allowed (not counted): 5"), "{text}");

    // A directory allows everything below it; globs are relative to the
    // scanned directory or match the reported path.
    let out = run(dir.path(), &[".", "--allow", "tests"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let out = run(
        dir.path(),
        &["tests", "--allow", "*.rs", "--allow", "common/**"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let out = run(dir.path(), &["tests", "--allow", "tests/**"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    // `*` does not cross directories.
    let out = run(dir.path(), &["tests", "--allow", "*.rs"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn allowlist_by_module_path() {
    let lib = r#"
pub mod redis_internal;
pub mod handlers {
    pub fn h(con: &mut redis::Connection) -> redis::RedisResult<()> {
        redis::cmd("PING").query(con)
    }
    pub mod admin {
        pub fn flush(con: &mut redis::Connection) -> redis::RedisResult<()> {
            redis::cmd("FLUSHDB").query(con)
        }
    }
}
"#;
    let internal = r#"
pub struct Raw;
impl Raw {
    pub fn ping(con: &mut redis::Connection) -> redis::RedisResult<()> {
        redis::cmd("PING").query(con)
    }
}
"#;
    let dir = tree(&[("src/lib.rs", lib), ("src/redis_internal.rs", internal)]);
    let total = |args: &[&str]| {
        let mut all = vec![".", "--format", "json"];
        all.extend_from_slice(args);
        json(&run(dir.path(), &all))["total"].as_u64().unwrap()
    };
    assert_eq!(total(&[]), 3);
    assert_eq!(total(&["--allow", "crate::redis_internal"]), 2);
    // The crate's own name works as well as `crate`.
    assert_eq!(total(&["--allow", "svc::redis_internal"]), 2);
    // Inline modules, and a module's submodules.
    assert_eq!(total(&["--allow", "crate::handlers"]), 1);
    assert_eq!(total(&["--allow", "crate::handlers::admin"]), 2);
    // Down to one function or method; `*` and `**` wildcards.
    assert_eq!(total(&["--allow", "crate::handlers::h"]), 2);
    assert_eq!(total(&["--allow", "crate::*::Raw::ping"]), 2);
    assert_eq!(total(&["--allow", "crate::**::admin"]), 2);
    // A prefix of a name is not a match.
    assert_eq!(total(&["--allow", "crate::redis"]), 3);
}

#[test]
fn allowlist_config_file() {
    let dir = tree(&[("src/lib.rs", CLEAN), ("tests/corrupt.rs", RAW)]);
    write(
        dir.path(),
        "audit-allow.txt",
        "# test harness code seeds corrupt data on purpose\ntests/corrupt.rs  # raw HSET\n\n",
    );
    let out = run(dir.path(), &[".", "--config", "audit-allow.txt"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));

    // Without --config, ./.redis-audit-allow is read.
    let out = run(dir.path(), &["."]);
    assert_eq!(out.status.code(), Some(1));
    write(dir.path(), ".redis-audit-allow", "tests/corrupt.rs\n");
    let out = run(dir.path(), &["."]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));

    let out = run(dir.path(), &[".", "--config", "missing.txt"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn framework_packages_are_exempt_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "redis-runtime/Cargo.toml",
        "[package]\nname = \"redis-runtime\"\n",
    );
    write(dir.path(), "redis-runtime/src/store.rs", RAW);
    write(dir.path(), "app/Cargo.toml", "[package]\nname = \"app\"\n");
    write(dir.path(), "app/src/main.rs", CLEAN);
    let out = run(dir.path(), &["."]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("allowed (not counted): 5"));
    let out = run(dir.path(), &[".", "--no-default-allow"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn target_and_hidden_directories_are_skipped() {
    let dir = tree(&[
        ("src/lib.rs", CLEAN),
        ("target/debug/build/out.rs", RAW),
        (".git/hooks/x.rs", RAW),
        ("src/.generated/raw.rs", RAW),
        ("README.md", "redis::cmd(\"GET\")"),
    ]);
    let out = run(dir.path(), &["."]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    // A file named explicitly is scanned wherever it is.
    let out = run(dir.path(), &["target/debug/build/out.rs"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn unparsable_files_are_reported() {
    let dir = tree(&[("src/lib.rs", CLEAN), ("src/broken.rs", "fn broken( {\n")]);
    let out = run(dir.path(), &["src", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let doc = json(&out);
    assert_eq!(doc["summary"]["unparsable_file"], 1);
    assert_eq!(doc["violations"][0]["file"], "src/broken.rs");
    let out = run(dir.path(), &["src", "--allow", "src/broken.rs"]);
    assert_eq!(out.status.code(), Some(0));
}

/// A file that is not UTF-8 is one finding, not the end of the audit: the
/// other files are still audited and the exit code is 1, not 2.
#[test]
fn files_that_are_not_utf8_are_reported_and_the_audit_goes_on() {
    let dir = tree(&[("src/lib.rs", RAW)]);
    std::fs::write(
        dir.path().join("src/latin1.rs"),
        b"// caf\xe9\npub const X: u8 = 1;\n",
    )
    .unwrap();
    let out = run(dir.path(), &["src", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let doc = json(&out);
    assert_eq!(doc["summary"]["unparsable_file"], 1);
    assert_eq!(doc["summary"]["raw_command"], 1);
    let bad = doc["violations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["kind"] == "unparsable_file")
        .unwrap();
    assert_eq!(bad["file"], "src/latin1.rs");
    assert_eq!(bad["line"], 1);
}

#[test]
fn several_paths_and_files() {
    let dir = tree(&[("a/x.rs", RAW), ("b/y.rs", CLEAN), ("c/z.rs", RAW)]);
    let out = run(dir.path(), &["a", "b", "./c/z.rs", "--format", "json"]);
    let doc = json(&out);
    assert_eq!(doc["files"], 3);
    assert_eq!(doc["total"], 4, "two access sites in each RAW file");
    assert_eq!(doc["signals"], 6);
    let files: Vec<&str> = doc["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["file"].as_str().unwrap())
        .collect();
    assert!(
        files.contains(&"a/x.rs") && files.contains(&"c/z.rs"),
        "{files:?}"
    );
}
