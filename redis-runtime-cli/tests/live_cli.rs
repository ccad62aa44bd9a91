//! `manifest`, `acl` and `doctor` from the command line, against a real server.

use std::path::Path;
use std::process::{Command, Output};

use redis_runtime::testing::RedisServer;

const BIN: &str = env!("CARGO_BIN_EXE_redis-runtime");

fn quickstart_manifest() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../docs/keyspace/quickstart.json")
        .display()
        .to_string()
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("REDIS_URL")
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[test]
fn manifest_and_acl_from_a_manifest_file() {
    let manifest = quickstart_manifest();
    let out = run(&["manifest", "--manifest", &manifest]);
    assert!(out.status.success());
    assert!(
        stdout(&out)
            .contains("| User | `quickstart:tenant:{tenant}:user:{id}` | hash | hash | 30d |")
    );
    let out = run(&["manifest", "--manifest", &manifest, "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["families"].as_array().unwrap().len(), 3);

    let out = run(&["acl", "--manifest", &manifest, "--user", "shop"]);
    let line = stdout(&out);
    assert!(
        line.starts_with(
            "ACL SETUSER shop on resetkeys resetchannels -@all ~quickstart:tenant:{?*}:user:?* "
        ),
        "{line}"
    );
    assert!(
        line.contains(" +hgetall ") && !line.contains("+@"),
        "{line}"
    );

    let out = run(&["manifest"]);
    assert_eq!(out.status.code(), Some(2), "a manifest source is required");
    let out = run(&["manifest", "--manifest", "/nonexistent.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"));
}

#[test]
fn doctor_reports_a_seeded_server_and_exits_1_on_findings() {
    let server = RedisServer::builder().tcp().start().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut con = server.raw_connection().await.unwrap();
        for (cmd, args) in [
            (
                "HSET",
                vec![
                    "quickstart:tenant:{acme}:user:1",
                    "tenant",
                    "acme",
                    "id",
                    "1",
                ],
            ),
            ("SET", vec!["quickstart:session:abc", "{}", "PX", "60000"]),
            ("SET", vec!["quickstart:stray", "x"]),
        ] {
            let mut c = redis::cmd(cmd);
            for a in args {
                c.arg(a);
            }
            let _: () = c.query_async(&mut con).await.unwrap();
        }
    });
    let url = server.url();
    let manifest = quickstart_manifest();
    let out = run(&[
        "doctor",
        "--manifest",
        &manifest,
        "--url",
        &url,
        "--format",
        "json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report["sample"]["keys_scanned"], 3);
    assert_eq!(report["sample"]["unknown_keys"], 1);
    let user = &report["sample"]["families"][0];
    assert_eq!(
        (
            user["model"].as_str(),
            user["keys"].as_u64(),
            user["ttl_leaks"].as_u64()
        ),
        (Some("User"), Some(1), Some(1))
    );
    let out = run(&[
        "doctor",
        "--manifest",
        &manifest,
        "--url",
        &url,
        "--max-keys",
        "1",
    ]);
    assert!(
        stdout(&out).contains("(stopped: max 1 keys)"),
        "{}",
        stdout(&out)
    );

    let out = run(&[
        "doctor",
        "--manifest",
        &manifest,
        "--url",
        "redis://127.0.0.1:1",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

/// `acl --apply` on a cluster sets the user on every node, replicas too:
/// ACL users are per node, and a rule on some nodes only fails wherever a
/// key's slot lives on another.
#[test]
fn acl_apply_sets_the_user_on_every_node_of_a_cluster() {
    use redis_runtime::testing::RedisCluster;
    let cluster = RedisCluster::builder().replicas(1).start().unwrap();
    let manifest = quickstart_manifest();
    let out = Command::new(BIN)
        .args(["acl", "--manifest", &manifest, "--user", "shop"])
        .args(["--apply", "--password-env", "SHOP_PASSWORD"])
        .env_remove("REDIS_URL")
        .env("REDIS_CLUSTER_NODES", cluster.urls().join(","))
        .env("SHOP_PASSWORD", "s3cret")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(
        stdout(&out).contains("set on 6 node(s)"),
        "{}",
        stdout(&out)
    );
    for node in cluster.nodes() {
        let client = redis::Client::open(node.url()).unwrap();
        let mut con = client.get_connection().unwrap();
        let user: redis::Value = redis::cmd("ACL")
            .arg("GETUSER")
            .arg("shop")
            .query(&mut con)
            .unwrap();
        assert_ne!(user, redis::Value::Nil, "missing on {}", node.url());
    }
    // As the user, through the cluster: its keys work, others are refused.
    let urls: Vec<String> = cluster
        .urls()
        .iter()
        .map(|u| u.replacen("redis://", "redis://shop:s3cret@", 1))
        .collect();
    let mut con = redis::cluster::ClusterClient::new(urls)
        .unwrap()
        .get_connection()
        .unwrap();
    for tenant in ["a", "b", "c", "d", "e"] {
        let key = format!("quickstart:tenant:{{{tenant}}}:user:1");
        let _: () = redis::cmd("HSET")
            .arg(&key)
            .arg("f")
            .arg("v")
            .query(&mut con)
            .unwrap();
    }
    let refused = redis::cmd("SET")
        .arg("other")
        .arg("x")
        .query::<()>(&mut con)
        .unwrap_err();
    assert_eq!(refused.code(), Some("NOPERM"), "{refused}");
}
