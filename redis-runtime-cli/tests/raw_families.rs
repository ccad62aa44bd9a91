//! Raw families (`#[derive(RedisRaw)]`) in the tools: `acl --sources` warns
//! about the commands the service's raw code sends that the rule does not
//! grant, and is silent once a raw family declares them; doctor samples a raw
//! family's keys (wrong type, TTL leaks) and dry-runs its declared commands.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use redis_runtime::testing::RedisServer;
use redis_runtime::{Config, RedisModel, RedisRaw, keyspace, redis};
use redis_runtime_cli::doctor::{AccessMethod, AccessVerdict, DoctorOptions, diagnose};

const BIN: &str = env!("CARGO_BIN_EXE_redis-runtime");

#[derive(RedisModel)]
#[redis(key = "job:{id}")]
struct Job {
    id: u64,
    body: String,
}

/// What `fixtures/acl_sources/service` sends by hand to the mail queue.
#[derive(RedisRaw)]
#[redis(
    key = "legacy:queue:{name}",
    redis_type = "list",
    commands = "lpushx linsert rpoplpush expire"
)]
struct LegacyQueue {
    name: String,
}

#[derive(RedisRaw)]
#[redis(
    key = "legacy:seen:{day}",
    redis_type = "set",
    commands = "sadd",
    ttl = "1d"
)]
struct LegacySeen {
    day: u32,
}

keyspace! { BEFORE = [Job]; }
keyspace! { DECLARED = [Job, LegacyQueue, LegacySeen]; }

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/acl_sources")
        .join(name)
        .display()
        .to_string()
}

fn manifest_file(dir: &tempfile::TempDir, keyspace: &redis_runtime::Keyspace) -> PathBuf {
    let path = dir.path().join("manifest.json");
    std::fs::write(&path, keyspace.manifest("app").to_json()).unwrap();
    path
}

fn acl(manifest: &Path, extra: &[&str]) -> Output {
    Command::new(BIN)
        .arg("acl")
        .arg("--manifest")
        .arg(manifest)
        .args(extra)
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

#[test]
fn acl_sources_names_each_uncovered_command_until_a_raw_family_declares_it() {
    let dir = tempfile::tempdir().unwrap();
    let before = manifest_file(&dir, &BEFORE);
    let service = fixture("service");

    let out = acl(&before, &["--sources", &service]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let warnings = stderr(&out);
    let lib = "service/src/lib.rs";
    for (line, command) in [
        (10, "LPUSHX"),
        (14, "LINSERT"),
        (18, "RPOPLPUSH"),
        (22, "EXPIRE"),
    ] {
        assert!(
            warnings.contains(&format!("{lib}:{line}: raw code sends `{command}`")),
            "{command} at line {line}:\n{warnings}"
        );
    }
    // LLEN (line 26) is a command the runtime's rule grants.
    assert!(!warnings.contains("LLEN"), "{warnings}");
    assert_eq!(warnings.lines().count(), 4, "{warnings}");
    // The rule itself is still printed on standard output.
    assert!(
        String::from_utf8(out.stdout.clone())
            .unwrap()
            .starts_with("ACL SETUSER app on")
    );

    // --deny-uncovered turns the warnings into exit 1.
    let out = acl(&before, &["--sources", &service, "--deny-uncovered"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));

    // The JSON form lists the same sites.
    let out = acl(&before, &["--sources", &service, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let uncovered = json["uncovered"].as_array().unwrap();
    let found: Vec<(u64, &str)> = uncovered
        .iter()
        .map(|u| (u["line"].as_u64().unwrap(), u["command"].as_str().unwrap()))
        .collect();
    assert_eq!(
        found,
        [
            (10, "lpushx"),
            (14, "linsert"),
            (18, "rpoplpush"),
            (22, "expire")
        ]
    );
    assert!(
        uncovered[0]["file"].as_str().unwrap().ends_with(lib),
        "{uncovered:?}"
    );

    // Declared in a raw family: silent, and --deny-uncovered passes.
    let declared = manifest_file(&dir, &DECLARED);
    let out = acl(&declared, &["--sources", &service, "--deny-uncovered"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    let rule = String::from_utf8(out.stdout).unwrap();
    assert!(
        rule.contains("\"(~app:legacy:queue:?* +lpushx +linsert +rpoplpush +expire)\""),
        "{rule}"
    );
}

#[test]
fn acl_sources_reports_a_command_it_cannot_tell_as_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let declared = manifest_file(&dir, &DECLARED);
    let out = acl(&declared, &["--sources", &fixture("dynamic")]);
    assert_eq!(out.status.code(), Some(0));
    let warnings = stderr(&out);
    assert!(
        warnings.contains("dynamic/src/lib.rs:6: unknown command"),
        "{warnings}"
    );
    let out = acl(
        &declared,
        &[
            "--sources",
            &fixture("dynamic"),
            "--deny-uncovered",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["uncovered"][0]["command"], serde_json::Value::Null);
    assert_eq!(json["uncovered"][0]["line"], 6);
}

#[tokio::test]
async fn doctor_samples_raw_families_and_dry_runs_their_commands() {
    let server = RedisServer::start().unwrap();
    let mut admin = server.raw_connection().await.unwrap();
    let seed: [(&str, &str); 4] = [
        ("LPUSH", "app:legacy:queue:mail"),
        // A raw family's key holding the wrong type.
        ("SET", "app:legacy:queue:sms"),
        // A key of a TTL-declaring raw family without a TTL.
        ("SADD", "app:legacy:seen:1"),
        ("SADD", "app:legacy:seen:2"),
    ];
    for (command, key) in seed {
        let _: () = redis::cmd(command)
            .arg(key)
            .arg("x")
            .query_async(&mut admin)
            .await
            .unwrap();
    }
    let _: () = redis::cmd("EXPIRE")
        .arg("app:legacy:seen:2")
        .arg(600)
        .query_async(&mut admin)
        .await
        .unwrap();
    // A user that may run everything but LINSERT, as doctor connects.
    let _: () = redis::cmd("ACL")
        .arg(&[
            "SETUSER", "ops", "on", ">pw", "~*", "&*", "+@all", "-linsert",
        ])
        .query_async(&mut admin)
        .await
        .unwrap();
    let config = Config::builder()
        .url(format!("{}?user=ops&pass=pw", server.url()))
        .namespace("app")
        .build()
        .unwrap();

    let manifest = DECLARED.manifest("app");
    let report = diagnose(&config, &manifest, &DoctorOptions::default())
        .await
        .unwrap();
    let family = |model: &str| {
        report
            .sample
            .families
            .iter()
            .find(|f| f.model == model)
            .unwrap()
    };
    assert_eq!(family("LegacyQueue").keys, 2);
    assert_eq!(family("LegacyQueue").wrong_type, 1);
    assert_eq!(family("LegacyQueue").ttl_leaks, 0, "no TTL declared");
    assert_eq!(family("LegacySeen").keys, 2);
    assert_eq!(family("LegacySeen").ttl_leaks, 1);
    assert_eq!(family("LegacySeen").wrong_type, 0);
    assert_eq!(report.sample.unknown_keys, 0);

    let access = |model: &str| report.access.iter().find(|a| a.model == model).unwrap();
    let queue = access("LegacyQueue");
    assert_eq!(queue.method, AccessMethod::DryRun { commands: 4 });
    assert_eq!(queue.verdict, AccessVerdict::Denied);
    assert_eq!(queue.denied_commands, ["LINSERT"]);
    assert_eq!(access("LegacySeen").verdict, AccessVerdict::Allowed);
}
