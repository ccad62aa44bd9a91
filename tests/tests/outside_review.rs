//! An outside review: the promises README.md and RELIABILITY.md make about
//! Redis Cluster, TLS, the cluster/TLS harness, `Config` validation and the
//! CLI's `doctor`/`acl --apply` on a cluster, tested adversarially from the
//! documents alone.
//!
//! Each test collects every broken promise it meets (`Checks`) and fails at
//! the end listing all of them, so one run reports everything. Lines starting
//! with `REVIEW` are observations.
//!
//! The CLI tests need the binary: `cargo build -p redis-runtime-cli` first.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::*;
use redis::aio::MultiplexedConnection;
use redis_runtime::testing::{RedisCluster, RedisServer, TestCertificates};
use redis_runtime::{Config, ConfigBuilder, Error, Outcome, Store};

// ---------------------------------------------------------------------------
// helpers

/// Soft assertions: every failure is recorded, the test fails at the end.
struct Checks {
    name: &'static str,
    failures: Vec<String>,
}

impl Checks {
    fn new(name: &'static str) -> Checks {
        Checks {
            name,
            failures: Vec::new(),
        }
    }

    fn check(&mut self, ok: bool, what: impl Into<String>) {
        let what = what.into();
        if ok {
            println!("REVIEW {} PASS {}", self.name, what);
        } else {
            println!("REVIEW {} FAIL {}", self.name, what);
            self.failures.push(what);
        }
    }

    fn note(&self, what: impl AsRef<str>) {
        println!("REVIEW {} NOTE {}", self.name, what.as_ref());
    }

    fn finish(self) {
        if !self.failures.is_empty() {
            panic!(
                "{}: {} broken promise(s):\n - {}",
                self.name,
                self.failures.len(),
                self.failures.join("\n - ")
            );
        }
    }
}

const CONNECT: Duration = Duration::from_millis(1000);
const RESPONSE: Duration = Duration::from_millis(1000);
/// The documented bound (connect + response) plus scheduling slack for a
/// loaded 2-core machine.
const BOUND: Duration = Duration::from_millis(2000 + 700);

fn uid(tenant: &str, id: u64) -> UserId {
    UserId {
        tenant: TenantId(tenant.into()),
        id,
    }
}

fn session(token: &str, user: u64) -> Session {
    Session {
        token: token.into(),
        user,
        scopes: vec![format!("s{user}")],
    }
}

async fn node_conn(node: &RedisServer) -> MultiplexedConnection {
    node.raw_connection().await.unwrap()
}

async fn keyslot(admin: &mut redis::cluster_async::ClusterConnection, key: &[u8]) -> u16 {
    raw!(admin, "CLUSTER", "KEYSLOT", key)
}

fn with_creds(url: &str, user: &str, password: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    format!("{scheme}://{user}:{password}@{rest}")
}

/// Creates `user` with `rule` (ACL SETUSER words) on every node.
async fn setuser_everywhere(cluster: &RedisCluster, user: &str, password: &str, rule: &[String]) {
    for node in cluster.nodes() {
        let mut con = node_conn(node).await;
        let mut cmd = redis::cmd("ACL");
        cmd.arg("SETUSER")
            .arg(user)
            .arg("reset")
            .arg("on")
            .arg(format!(">{password}"));
        for word in rule {
            cmd.arg(word);
        }
        let () = cmd.query_async(&mut con).await.unwrap();
    }
}

/// A port on 127.0.0.1 nothing listens on (connections are refused).
fn dead_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// `(id, port, is_primary, slot ranges)` of every node, from `CLUSTER NODES`.
async fn cluster_nodes(
    con: &mut MultiplexedConnection,
) -> Vec<(String, u16, bool, Vec<(u16, u16)>)> {
    let text: String = raw!(con, "CLUSTER", "NODES");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            let port: u16 = words[1]
                .split('@')
                .next()
                .unwrap()
                .rsplit(':')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            let primary = words[2].contains("master");
            let ranges = words
                .iter()
                .skip(8)
                .filter(|w| !w.starts_with('['))
                .map(|w| match w.split_once('-') {
                    Some((a, b)) => (a.parse().unwrap(), b.parse().unwrap()),
                    None => (w.parse().unwrap(), w.parse().unwrap()),
                })
                .collect();
            (words[0].to_owned(), port, primary, ranges)
        })
        .collect()
}

fn index_of_port(cluster: &RedisCluster, port: u16) -> usize {
    cluster
        .nodes()
        .iter()
        .position(|n| n.port() == Some(port))
        .unwrap_or_else(|| panic!("no node on port {port}"))
}

/// The index and id of the node serving `slot`.
async fn owner_of(cluster: &RedisCluster, slot: u16) -> (usize, String) {
    let mut con = node_conn(&cluster.nodes()[0]).await;
    for (id, port, primary, ranges) in cluster_nodes(&mut con).await {
        if primary && ranges.iter().any(|&(a, b)| a <= slot && slot <= b) {
            return (index_of_port(cluster, port), id);
        }
    }
    panic!("nobody serves slot {slot}")
}

fn describe(err: &Error) -> String {
    let variant = match err {
        Error::Config(_) => "Config",
        Error::Connection { .. } => "Connection",
        Error::Timeout { .. } => "Timeout",
        Error::Unavailable { .. } => "Unavailable",
        Error::Decode(_) => "Decode",
        Error::Encode { .. } => "Encode",
        Error::InvalidTtl { .. } => "InvalidTtl",
        Error::WrongType { .. } => "WrongType",
        Error::InvalidKeyPart { .. } => "InvalidKeyPart",
        Error::PermissionDenied { .. } => "PermissionDenied",
        Error::Server { .. } => "Server",
        _ => "other",
    };
    format!("{variant}/{:?}: {err}", err.outcome())
}

// ---------------------------------------------------------------------------
// Config: cluster seeds

/// README "Redis Cluster": TCP URLs, one scheme, one set of credentials,
/// database 0; "Configuration": validate everything at once, report every
/// problem, never a password.
#[test]
fn config_cluster_seeds_are_validated_all_at_once_without_leaking() {
    let mut c = Checks::new("config_cluster");
    let build = |b: ConfigBuilder| b.build();
    let secrets = ["AAAsecret", "BBBsecret", "QQQsecret", "UUUsecret"];
    let leak_free = |text: &str| secrets.iter().all(|s| !text.contains(s));

    let r = build(Config::builder().cluster_nodes(Vec::<String>::new()));
    c.check(
        matches!(r, Err(Error::Config(_))),
        format!("empty seed list refused: {r:?}"),
    );

    let r = build(Config::builder().cluster_nodes(["redis+unix:///tmp/x.sock"]));
    c.check(
        matches!(r, Err(Error::Config(_))),
        format!("unix-socket seed refused: {r:?}"),
    );

    let r = build(
        Config::builder().cluster_nodes(["redis://127.0.0.1:7000", "rediss://127.0.0.1:7001"]),
    );
    c.check(
        matches!(r, Err(Error::Config(_))),
        format!("mixed schemes refused: {r:?}"),
    );

    let r = build(Config::builder().cluster_nodes([
        "redis://app:AAAsecret@127.0.0.1:7000",
        "redis://app:BBBsecret@127.0.0.1:7001",
    ]));
    let text = r
        .as_ref()
        .err()
        .map(|e| format!("{e} / {e:?}"))
        .unwrap_or_default();
    c.check(
        matches!(r, Err(Error::Config(_))),
        format!("two sets of credentials refused: {text}"),
    );
    c.check(
        leak_free(&text),
        format!("credential mismatch error leaks no password: {text}"),
    );

    let r = build(Config::builder().cluster_nodes([
        "redis://app:AAAsecret@127.0.0.1:7000",
        "redis://127.0.0.1:7001",
    ]));
    let text = r
        .as_ref()
        .err()
        .map(|e| format!("{e} / {e:?}"))
        .unwrap_or_default();
    c.check(
        matches!(r, Err(Error::Config(_))),
        format!("credentials on one seed only refused: {r:?}"),
    );
    c.check(leak_free(&text), format!("no password in: {text}"));

    let r = build(Config::builder().cluster_nodes([
        "redis://other:AAAsecret@127.0.0.1:7000",
        "redis://app:AAAsecret@127.0.0.1:7001",
    ]));
    let text = r
        .as_ref()
        .err()
        .map(|e| format!("{e} / {e:?}"))
        .unwrap_or_default();
    c.check(
        matches!(r, Err(Error::Config(_))),
        format!("different users refused: {text}"),
    );
    c.check(leak_free(&text), format!("no password in: {text}"));

    let r = build(Config::builder().cluster_nodes(["redis://127.0.0.1:7000/1"]));
    c.check(
        matches!(r, Err(Error::Config(_))),
        format!("database 1 refused on a cluster: {r:?}"),
    );
    let r = build(Config::builder().cluster_nodes(["redis://127.0.0.1:7000/0"]));
    c.check(r.is_ok(), format!("database 0 accepted: {r:?}"));

    let r = build(
        Config::builder()
            .url("redis://127.0.0.1:6379")
            .cluster_nodes(["redis://127.0.0.1:7000"]),
    );
    c.check(
        matches!(r, Err(Error::Config(_))),
        format!("url + cluster_nodes refused: {r:?}"),
    );
    let r = build(
        Config::builder()
            .cluster_nodes(["redis://127.0.0.1:7000"])
            .url("redis://127.0.0.1:6379"),
    );
    c.check(
        matches!(r, Err(Error::Config(_))),
        format!("cluster_nodes + url refused: {r:?}"),
    );

    let r = build(Config::builder().cluster_nodes(["redis://127.0.0.1:7000?password=QQQsecret"]));
    let text = r
        .as_ref()
        .err()
        .map(|e| format!("{e} / {e:?}"))
        .unwrap_or_default();
    c.check(
        matches!(r, Err(Error::Config(_))),
        format!("password in a seed's query refused: {text}"),
    );
    c.check(leak_free(&text), format!("no query password in: {text}"));

    for bad in [
        "not a url",
        "redis://",
        "redis://127.0.0.1:99999",
        "http://127.0.0.1:7000",
        "redis://[::1",
    ] {
        let r = std::panic::catch_unwind(|| Config::builder().cluster_nodes([bad]).build());
        c.check(
            matches!(r, Ok(Err(Error::Config(_)))),
            format!(
                "malformed seed {bad:?} is a Config error (no panic): {:?}",
                r.as_ref().map(|r| r.as_ref().err().map(|e| e.to_string()))
            ),
        );
    }

    // Every problem at once.
    let r = build(
        Config::builder()
            .cluster_nodes([
                "redis://app:AAAsecret@127.0.0.1:7000/2",
                "rediss://app:BBBsecret@127.0.0.1:7001",
                "redis+unix:///tmp/review.sock",
            ])
            .namespace("bad ns{")
            .tls_ca_file("/nonexistent/review-ca-XYZ.pem")
            .tls_client_cert_files(
                "/nonexistent/review-cert.pem",
                "/nonexistent/review-key.pem",
            ),
    );
    let text = r.as_ref().err().map(|e| e.to_string()).unwrap_or_default();
    c.note(format!("all-at-once message: {text}"));
    c.check(
        leak_free(&text) && !format!("{r:?}").contains("secret"),
        "all-at-once error leaks no password",
    );
    let lower = text.to_lowercase();
    for (what, found) in [
        (
            "database",
            lower.contains("database") || lower.contains("/2") || lower.contains(" db"),
        ),
        (
            "scheme",
            lower.contains("scheme") || lower.contains("rediss"),
        ),
        ("unix", lower.contains("unix")),
        ("namespace", lower.contains("namespace")),
        ("CA file", text.contains("review-ca-XYZ.pem")),
        ("cert file", text.contains("review-cert.pem")),
        ("key file", text.contains("review-key.pem")),
    ] {
        c.check(
            found,
            format!("all-at-once error mentions the {what} problem"),
        );
    }

    // Unencoded @ / ? # & in a seed's password: hidden wherever they blur the URL.
    for pw in [
        "p@ssSECRETx",
        "p/ssSECRETx",
        "p?ssSECRETx",
        "p#ssSECRETx",
        "p&ssSECRETx",
        "a@b/c?d#SECRETx",
    ] {
        let seeds = [
            format!("redis://app:{pw}@127.0.0.1:7000"),
            format!("redis://app:{pw}@127.0.0.1:7001"),
        ];
        let r = Config::builder().cluster_nodes(seeds.clone()).build();
        let shown = match &r {
            Ok(config) => format!(
                "{config} {config:?} {} {}",
                config.redacted_url(),
                config.address()
            ),
            Err(e) => format!("{e} {e:?}"),
        };
        c.check(
            !shown.contains("SECRET"),
            format!("seed password {pw:?} hidden: {shown}"),
        );
        // And when the two seeds disagree.
        let r = Config::builder()
            .cluster_nodes([
                seeds[0].clone(),
                "redis://app:other@127.0.0.1:7001".to_owned(),
            ])
            .build();
        let shown = match &r {
            Ok(config) => format!("{config} {config:?}"),
            Err(e) => format!("{e} {e:?}"),
        };
        c.check(
            !shown.contains("SECRET") && !shown.contains("other@"),
            format!("mismatched seeds with password {pw:?} hidden: {shown}"),
        );
    }

    // A valid cluster configuration hides its credentials everywhere.
    let config = Config::builder()
        .cluster_nodes([
            "redis://app:UUUsecret@127.0.0.1:7000",
            "redis://app:UUUsecret@127.0.0.1:7001",
        ])
        .build()
        .unwrap();
    c.check(config.is_cluster(), "is_cluster");
    c.check(config.nodes().len() == 2, "nodes() lists both seeds");
    c.check(
        config.address() == "127.0.0.1:7000,127.0.0.1:7001",
        format!("address(): {}", config.address()),
    );
    for shown in [
        config.to_string(),
        format!("{config:?}"),
        config.redacted_url(),
        config.address(),
    ] {
        c.check(
            leak_free(&shown),
            format!("cluster config shows no password: {shown}"),
        );
    }
    c.finish();
}

/// `Config::from_env` reading `REDIS_CLUSTER_NODES`, TLS variables and every
/// problem at once.
#[test]
fn config_from_environment_cluster_and_tls_variables() {
    let mut c = Checks::new("config_env");
    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let vars: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name: &str| vars.get(name).cloned()
    }

    let r = Config::from_lookup(lookup(&[(
        "REDIS_CLUSTER_NODES",
        "redis://app:UUUsecret@127.0.0.1:7000,redis://app:UUUsecret@127.0.0.1:7001",
    )]));
    c.check(
        r.as_ref()
            .is_ok_and(|c| c.is_cluster() && c.nodes().len() == 2),
        format!("REDIS_CLUSTER_NODES selects a cluster of 2 seeds: {r:?}"),
    );

    let r = Config::from_lookup(lookup(&[
        ("REDIS_URL", "redis://127.0.0.1:6379"),
        ("REDIS_CLUSTER_NODES", "redis://127.0.0.1:7000"),
    ]));
    c.check(
        matches!(r, Err(Error::Config(_))),
        format!("REDIS_URL and REDIS_CLUSTER_NODES both set is refused (as url + cluster_nodes is): {r:?}"),
    );

    let r = Config::from_lookup(lookup(&[("REDIS_CLUSTER_NODES", "")]));
    c.check(
        !r.as_ref().is_ok_and(|c| !c.is_cluster()),
        format!("an empty REDIS_CLUSTER_NODES does not silently fall back to one server: {r:?}"),
    );
    let r = Config::from_lookup(lookup(&[("REDIS_CLUSTER_NODES", " , ")]));
    c.check(
        matches!(r, Err(Error::Config(_))),
        format!("REDIS_CLUSTER_NODES=' , ' refused: {r:?}"),
    );

    let r = Config::from_lookup(lookup(&[(
        "REDIS_CLUSTER_NODES",
        "redis://127.0.0.1:7000, redis://127.0.0.1:7001",
    )]));
    c.note(format!(
        "space after comma in REDIS_CLUSTER_NODES: {:?}",
        r.as_ref().map(|c| c.address())
    ));

    let r = Config::from_lookup(lookup(&[
        ("REDIS_URL", "rediss://127.0.0.1:6379"),
        ("REDIS_TLS_CERT_FILE", "/nonexistent/c.pem"),
    ]));
    c.check(
        matches!(r, Err(Error::Config(_))),
        format!("REDIS_TLS_CERT_FILE without REDIS_TLS_KEY_FILE refused: {r:?}"),
    );
    let r = Config::from_lookup(lookup(&[
        ("REDIS_URL", "rediss://127.0.0.1:6379"),
        ("REDIS_TLS_KEY_FILE", "/nonexistent/k.pem"),
    ]));
    c.check(
        matches!(r, Err(Error::Config(_))),
        format!("REDIS_TLS_KEY_FILE without REDIS_TLS_CERT_FILE refused: {r:?}"),
    );

    // Everything wrong at once, through the environment.
    let r = Config::from_lookup(lookup(&[
        (
            "REDIS_CLUSTER_NODES",
            "redis://app:AAAsecret@127.0.0.1:7000,rediss://app:AAAsecret@127.0.0.1:7001",
        ),
        ("REDIS_NAMESPACE", "bad ns"),
        ("REDIS_CONNECT_TIMEOUT_MS", "soon"),
        ("REDIS_RESPONSE_TIMEOUT_MS", "-5"),
        ("REDIS_TLS_CA_FILE", "/nonexistent/env-ca-XYZ.pem"),
    ]));
    let text = r.as_ref().err().map(|e| e.to_string()).unwrap_or_default();
    c.note(format!("env all-at-once: {text}"));
    c.check(!text.contains("AAAsecret"), "env error leaks no password");
    for (what, found) in [
        ("scheme", text.contains("scheme") || text.contains("rediss")),
        (
            "namespace",
            text.contains("NAMESPACE") || text.contains("namespace"),
        ),
        ("connect timeout", text.contains("REDIS_CONNECT_TIMEOUT_MS")),
        (
            "response timeout",
            text.contains("REDIS_RESPONSE_TIMEOUT_MS"),
        ),
        ("CA file", text.contains("env-ca-XYZ.pem")),
    ] {
        c.check(found, format!("env all-at-once error mentions {what}"));
    }
    c.finish();
}

// ---------------------------------------------------------------------------
// TLS files: read at build time; their contents never shown

#[test]
fn tls_files_are_checked_at_build_and_never_shown() {
    let mut c = Checks::new("tls_files");
    let certs = TestCertificates::generate().unwrap();
    let dir = certs.dir().to_owned();
    let url = "rediss://127.0.0.1:6390";

    // A valid configuration: the client key's PEM body is nowhere to be seen.
    let key_pem = std::fs::read_to_string(certs.client_key_file()).unwrap();
    let key_line = key_pem
        .lines()
        .find(|l| !l.starts_with("-----") && l.len() > 40)
        .unwrap()
        .to_owned();
    let config = Config::builder()
        .url(url)
        .tls_ca_file(certs.ca_file())
        .tls_client_cert_files(certs.client_cert_file(), certs.client_key_file())
        .build()
        .unwrap();
    let shown = format!("{config} {config:?}");
    c.check(
        !shown.contains(&key_line),
        "Config Debug/Display do not show the client key",
    );
    c.check(
        !shown.contains("PRIVATE KEY"),
        "Config Debug/Display do not show any PEM private key",
    );

    // A key file that is not a key: refused, its contents never quoted.
    let fake_key = dir.join("fake-key.pem");
    std::fs::write(
        &fake_key,
        "-----BEGIN PRIVATE KEY-----\nKEYMATERIALSECRETKEYMATERIALSECRET\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let r = Config::builder()
        .url(url)
        .tls_ca_file(certs.ca_file())
        .tls_client_cert_files(certs.client_cert_file(), &fake_key)
        .build();
    let text = format!(
        "{r:?} {}",
        r.as_ref().err().map(|e| e.to_string()).unwrap_or_default()
    );
    c.check(
        !text.contains("KEYMATERIALSECRET"),
        format!(
            "a bad key file's contents never shown (build): {}",
            text.chars().take(300).collect::<String>()
        ),
    );
    c.note(format!(
        "garbage client key at build: {}",
        if r.is_ok() { "accepted" } else { "refused" }
    ));

    // A CA file that is not PEM at all.
    let fake_ca = dir.join("fake-ca.pem");
    std::fs::write(&fake_ca, "CAFILESECRETCONTENTS not a certificate\n").unwrap();
    let r = Config::builder().url(url).tls_ca_file(&fake_ca).build();
    let text = format!(
        "{r:?} {}",
        r.as_ref().err().map(|e| e.to_string()).unwrap_or_default()
    );
    c.check(
        !text.contains("CAFILESECRETCONTENTS"),
        "a bad CA file's contents never shown",
    );
    c.check(
        matches!(r, Err(Error::Config(_))),
        format!("a CA file without a certificate is a configuration error: {r:?}"),
    );

    // The cert and key swapped.
    let r = Config::builder()
        .url(url)
        .tls_ca_file(certs.ca_file())
        .tls_client_cert_files(certs.client_key_file(), certs.client_cert_file())
        .build();
    let text = format!(
        "{r:?} {}",
        r.as_ref().err().map(|e| e.to_string()).unwrap_or_default()
    );
    c.check(
        !text.contains(&key_line),
        "swapped cert/key: the key is never shown",
    );
    c.note(format!(
        "swapped cert/key at build: {}",
        if r.is_ok() {
            "accepted (checked at connect in tls_server)"
        } else {
            "refused"
        }
    ));

    // A directory instead of a file.
    let r = Config::builder().url(url).tls_ca_file(&dir).build();
    c.check(
        matches!(r, Err(Error::Config(_))),
        format!("a directory as CA file is a configuration error: {r:?}"),
    );

    // TLS files with a plain redis:// URL: meaningless, would connect in clear.
    let r = Config::builder()
        .url("redis://127.0.0.1:6390")
        .tls_ca_file(certs.ca_file())
        .build();
    c.note(format!(
        "tls_ca_file with a redis:// URL: {:?}",
        r.as_ref().map(|_| "accepted").map_err(|e| e.to_string())
    ));
    c.finish();
}

// ---------------------------------------------------------------------------
// TLS against one server

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_on_one_server_failures_are_typed_and_bounded() {
    let mut c = Checks::new("tls_server");
    let certs = TestCertificates::generate().unwrap();
    let other = TestCertificates::generate().unwrap();
    let server = RedisServer::builder()
        .tls(&certs)
        .arg("--tls-auth-clients")
        .arg("yes")
        .start()
        .unwrap();
    let mut admin = node_conn(&server).await;
    let () = raw!(
        &mut admin,
        "ACL",
        "SETUSER",
        "app",
        "on",
        ">PWsecretTLS",
        "+@all",
        "~*"
    );
    let tls_url = server.tls_url().unwrap();
    let port = server.tls_port().unwrap();
    let cred_url = with_creds(&tls_url, "app", "PWsecretTLS");
    let timed = |b: ConfigBuilder| b.connect_timeout(CONNECT).response_timeout(RESPONSE);

    async fn attempt(config: Config) -> (Duration, Result<(), Error>) {
        let start = Instant::now();
        let r = async {
            let store = Store::connect(&config).await?;
            store.save(&session("t", 1)).await?;
            store.get::<Session>(&"t".to_owned()).await.map(|_| ())
        }
        .await;
        (start.elapsed(), r)
    }

    // 1. No CA: the system roots do not trust the test CA.
    let (took, r) = attempt(timed(Config::builder().url(&cred_url)).build().unwrap()).await;
    let text = r.as_ref().err().map(describe).unwrap_or_default();
    c.check(
        r.is_err() && took <= BOUND,
        format!("rediss:// without the CA fails within the bound ({took:?}): {text}"),
    );
    c.check(
        matches!(
            r,
            Err(Error::Connection {
                outcome: Outcome::NotApplied,
                ..
            })
        ),
        format!("... as Connection/NotApplied: {text}"),
    );
    c.check(!text.contains("PWsecretTLS"), "... without the password");

    // 2. Another CA.
    let (took, r) = attempt(
        timed(
            Config::builder()
                .url(&cred_url)
                .tls_ca_file(other.ca_file()),
        )
        .build()
        .unwrap(),
    )
    .await;
    let text = r.as_ref().err().map(describe).unwrap_or_default();
    c.check(
        matches!(r, Err(Error::Connection { .. })) && took <= BOUND,
        format!("a foreign CA fails typed within the bound ({took:?}): {text}"),
    );

    // 3. The right CA, no client certificate, server requires one.
    let (took, r) = attempt(
        timed(
            Config::builder()
                .url(&cred_url)
                .tls_ca_file(certs.ca_file()),
        )
        .build()
        .unwrap(),
    )
    .await;
    let text = r.as_ref().err().map(describe).unwrap_or_default();
    c.check(
        r.is_err() && took <= BOUND,
        format!(
            "no client certificate where one is required fails within the bound ({took:?}): {text}"
        ),
    );
    c.check(
        r.as_ref().err().is_some_and(|e| e.is_connection()),
        format!("... with a connection error: {text}"),
    );

    // 4. A client certificate from another CA.
    let (took, r) = attempt(
        timed(
            Config::builder()
                .url(&cred_url)
                .tls_ca_file(certs.ca_file())
                .tls_client_cert_files(other.client_cert_file(), other.client_key_file()),
        )
        .build()
        .unwrap(),
    )
    .await;
    let text = r.as_ref().err().map(describe).unwrap_or_default();
    c.check(
        r.is_err() && took <= BOUND,
        format!("a client certificate of a foreign CA fails within the bound ({took:?}): {text}"),
    );

    // 5. Everything right, by IP and by `localhost`.
    for url in [cred_url.clone(), cred_url.replace("127.0.0.1", "localhost")] {
        let (took, r) = attempt(
            timed(
                Config::builder()
                    .url(&url)
                    .tls_ca_file(certs.ca_file())
                    .tls_client_cert_files(certs.client_cert_file(), certs.client_key_file()),
            )
            .build()
            .unwrap(),
        )
        .await;
        c.check(
            r.is_ok(),
            format!(
                "CA + client certificate works ({took:?}) for {}: {:?}",
                url.replace("PWsecretTLS", "***"),
                r.err().map(|e| describe(&e))
            ),
        );
    }

    // 5b. A client key that is not a key, and cert/key swapped: accepted at
    // build (see tls_files), so they must fail typed and bounded at connect,
    // without showing the files' contents.
    let fake_key = certs.dir().join("fake-key-2.pem");
    std::fs::write(&fake_key, "-----BEGIN PRIVATE KEY-----\nKEYMATERIALSECRETKEYMATERIALSECRET\n-----END PRIVATE KEY-----\n").unwrap();
    let key_pem = std::fs::read_to_string(certs.client_key_file()).unwrap();
    let key_line = key_pem
        .lines()
        .find(|l| !l.starts_with("-----") && l.len() > 40)
        .unwrap()
        .to_owned();
    for (what, cert, key) in [
        ("garbage key", certs.client_cert_file(), fake_key.clone()),
        (
            "swapped cert/key",
            certs.client_key_file(),
            certs.client_cert_file(),
        ),
        (
            "key of another certificate",
            certs.client_cert_file(),
            other.client_key_file(),
        ),
    ] {
        let built = timed(
            Config::builder()
                .url(&cred_url)
                .tls_ca_file(certs.ca_file())
                .tls_client_cert_files(&cert, &key),
        )
        .build();
        match built {
            Err(e) => c.check(
                !e.to_string().contains("KEYMATERIAL") && !e.to_string().contains(&key_line),
                format!("{what}: refused at build without showing the key: {e}"),
            ),
            Ok(config) => {
                let start = Instant::now();
                let r = tokio::spawn(attempt(config)).await;
                let took = start.elapsed();
                match r {
                    Err(_) => c.check(false, format!("{what}: connecting panicked")),
                    Ok((_, r)) => {
                        let text = r
                            .as_ref()
                            .err()
                            .map(|e| format!("{e} {e:?}"))
                            .unwrap_or_default();
                        c.check(r.is_err() && took <= BOUND, format!("{what}: accepted at build, fails at connect within the bound ({took:?}): {:?}", r.as_ref().err().map(describe)));
                        c.check(
                            !text.contains("KEYMATERIAL") && !text.contains(&key_line),
                            format!("{what}: the error shows no key material"),
                        );
                    }
                }
            }
        }
    }

    // 6. A plain client on the TLS port.
    let (took, r) = attempt(
        timed(Config::builder().url(format!("redis://127.0.0.1:{port}")))
            .build()
            .unwrap(),
    )
    .await;
    let text = r.as_ref().err().map(describe).unwrap_or_default();
    c.check(
        r.is_err() && took <= BOUND,
        format!("redis:// on the TLS port fails within the bound ({took:?}): {text}"),
    );

    // 7. A TLS client on a plain TCP port.
    let plain = RedisServer::builder().tcp().start().unwrap();
    let (took, r) = attempt(
        timed(
            Config::builder()
                .url(format!("rediss://127.0.0.1:{}", plain.port().unwrap()))
                .tls_ca_file(certs.ca_file()),
        )
        .build()
        .unwrap(),
    )
    .await;
    let text = r.as_ref().err().map(describe).unwrap_or_default();
    c.check(
        r.is_err() && took <= BOUND,
        format!("rediss:// on a plain port fails within the bound ({took:?}): {text}"),
    );
    c.finish();
}

// ---------------------------------------------------------------------------
// TLS on a cluster that requires client certificates

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_cluster_with_client_certificates() {
    let mut c = Checks::new("tls_cluster");
    let certs = TestCertificates::generate().unwrap();
    let started = Instant::now();
    let r = RedisCluster::builder()
        .tls(&certs)
        .arg("--tls-auth-clients")
        .arg("yes")
        .start();
    c.check(r.is_ok(), format!("the harness forms a TLS cluster with .arg(\"--tls-auth-clients\").arg(\"yes\") (as RedisServerBuilder::tls documents for one server): {:?}", r.as_ref().err().map(|e| e.to_string())));
    drop(r);
    // Fall back: form it, then require client certificates on every node.
    let cluster = RedisCluster::builder().tls(&certs).start().unwrap();
    for node in cluster.nodes() {
        let mut con = node_conn(node).await;
        let () = raw!(&mut con, "CONFIG", "SET", "tls-auth-clients", "yes");
    }
    c.note(format!(
        "TLS cluster (mTLS) formed in {:?}",
        started.elapsed()
    ));
    c.check(
        cluster.urls().iter().all(|u| u.starts_with("rediss://")),
        format!("urls are rediss://: {:?}", cluster.urls()),
    );

    let timed = |b: ConfigBuilder| {
        b.namespace("tlsc")
            .connect_timeout(CONNECT)
            .response_timeout(RESPONSE)
    };
    let users: Vec<User> = (0..60).map(|i| User::sample(&format!("t{i}"), i)).collect();
    let ids: Vec<UserId> = users.iter().map(User::key_id).collect();

    // The harness's config (CA only): the nodes want a client certificate.
    let start = Instant::now();
    let r = async {
        let store = Store::connect(&timed(cluster.config_builder()).build()?).await?;
        store.save_many(&users).await
    }
    .await;
    let took = start.elapsed();
    c.check(
        r.is_err() && took <= BOUND,
        format!(
            "no client certificate: fails within the bound ({took:?}): {:?}",
            r.as_ref().err().map(describe)
        ),
    );

    // CA + client certificate, seeded with one node only.
    for seeds in [cluster.urls(), vec![cluster.urls()[1].clone()]] {
        let config = timed(Config::builder().cluster_nodes(seeds.clone()))
            .tls_ca_file(certs.ca_file())
            .tls_client_cert_files(certs.client_cert_file(), certs.client_key_file())
            .build()
            .unwrap();
        let r = async {
            let store = Store::connect(&config).await?;
            store.save_many(&users).await?;
            let got = store.get_many::<User>(&ids).await?;
            let n = store.count::<User>().await?;
            store.delete_many::<User>(&ids).await?;
            Ok::<_, Error>((got, n))
        }
        .await;
        match r {
            Ok((got, n)) => {
                c.check(
                    got.into_iter().flatten().collect::<Vec<_>>() == users,
                    format!(
                        "mTLS cluster, {} seed(s): get_many returns the batch",
                        seeds.len()
                    ),
                );
                c.check(
                    n == 60,
                    format!("mTLS cluster, {} seed(s): count = {n}", seeds.len()),
                );
            }
            Err(e) => c.check(
                false,
                format!(
                    "mTLS cluster, {} seed(s): store works: {}",
                    seeds.len(),
                    describe(&e)
                ),
            ),
        }
    }

    // The CLI over TLS, configured by the environment like a Store.
    let dir = std::path::PathBuf::from(format!("/tmp/outside-review-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ns = Config::builder()
        .namespace("tlsc")
        .build()
        .unwrap()
        .namespace()
        .to_owned();
    let manifest = dir.join("manifest.json");
    std::fs::write(&manifest, TEST_MODELS.manifest(&ns).to_json()).unwrap();
    let manifest = manifest.to_str().unwrap().to_owned();
    let nodes_env = cluster.urls().join(",");
    let (ca, cert, key) = (
        certs.ca_file().to_str().unwrap().to_owned(),
        certs.client_cert_file().to_str().unwrap().to_owned(),
        certs.client_key_file().to_str().unwrap().to_owned(),
    );
    let env = [
        ("REDIS_CLUSTER_NODES", nodes_env.as_str()),
        ("REDIS_TLS_CA_FILE", ca.as_str()),
        ("REDIS_TLS_CERT_FILE", cert.as_str()),
        ("REDIS_TLS_KEY_FILE", key.as_str()),
        ("APP_PW", "PWtls"),
    ];
    let run = run_cli(
        &[
            "acl",
            "--manifest",
            &manifest,
            "--user",
            "app",
            "--apply",
            "--password-env",
            "APP_PW",
        ],
        &env,
    );
    c.check(
        run.code == 0,
        format!(
            "acl --apply over TLS with a client certificate (env): exit {} {}",
            run.code,
            run.stderr.trim()
        ),
    );
    let run = run_cli(
        &["doctor", "--manifest", &manifest, "--format", "json"],
        &env,
    );
    c.check(
        run.code != 2 && serde_json::from_str::<serde_json::Value>(&run.stdout).is_ok(),
        format!(
            "doctor over TLS with a client certificate (env) does its job: exit {} {}",
            run.code,
            run.stderr.trim()
        ),
    );
    let run = run_cli(
        &["doctor", "--manifest", &manifest, "--format", "json"],
        &env[..2],
    );
    c.check(
        run.code == 2,
        format!(
            "doctor over TLS without the client certificate cannot do its job: exit {} {}",
            run.code,
            run.stderr.trim()
        ),
    );

    // No CA at all, and plain redis:// on the TLS ports.
    let configs = [
        (
            "no CA",
            timed(Config::builder().cluster_nodes(cluster.urls()))
                .tls_client_cert_files(certs.client_cert_file(), certs.client_key_file())
                .build()
                .unwrap(),
        ),
        (
            "redis:// on TLS ports",
            timed(
                Config::builder().cluster_nodes(
                    cluster
                        .urls()
                        .iter()
                        .map(|u| u.replace("rediss://", "redis://")),
                ),
            )
            .build()
            .unwrap(),
        ),
    ];
    for (what, config) in configs {
        let start = Instant::now();
        let r = async {
            let store = Store::connect(&config).await?;
            store.save(&users[0]).await
        }
        .await;
        let took = start.elapsed();
        c.check(
            r.is_err() && took <= BOUND,
            format!(
                "{what}: fails within the bound ({took:?}): {:?}",
                r.as_ref().err().map(describe)
            ),
        );
    }
    c.finish();
}

// ---------------------------------------------------------------------------
// Batches over many families keep the caller's order

on_both! {
    (flavor = "multi_thread", worker_threads = 2)
    async fn batches_keep_caller_order_with_duplicates_and_missing_ids() {
        let mut c = Checks::new("batches");
        let (redis, store) = start("rv").await;
        let users: Vec<User> = (0..120u64).map(|i| User::sample(&format!("tenant-{}", i % 40), i)).collect();
        store.save_many(&users).await.unwrap();
        let by_id: BTreeMap<(String, u64), User> = users.iter().map(|u| ((u.tenant.0.clone(), u.id), u.clone())).collect();

        // Ask in a scrambled order, with duplicates and missing ids interleaved.
        let mut ask: Vec<UserId> = Vec::new();
        for k in 0..400u64 {
            let i = (k * 7919) % 160; // ids >= 120 do not exist
            ask.push(uid(&format!("tenant-{}", i % 40), i));
            if k % 5 == 0 {
                ask.push(uid(&format!("tenant-{}", i % 40), i)); // duplicate, adjacent
            }
            if k % 11 == 0 {
                ask.push(uid("nobody", k)); // missing family
            }
        }
        let got = store.get_many::<User>(&ask).await.unwrap();
        let expected: Vec<Option<User>> = ask.iter().map(|id| by_id.get(&(id.tenant.0.clone(), id.id)).cloned()).collect();
        c.check(got.len() == ask.len(), format!("get_many returns one entry per id asked ({} of {})", got.len(), ask.len()));
        c.check(got == expected, "get_many (hash) keeps the caller's order with duplicates and missing ids");

        // String models (JSON: MGET per slot) and a key of another type.
        let sessions: Vec<Session> = (0..90).map(|i| session(&format!("tok{i}"), i)).collect();
        store.save_many(&sessions).await.unwrap();
        let mut tokens: Vec<String> = (0..90).rev().map(|i| format!("tok{i}")).collect();
        tokens.insert(3, "tok5".into());
        tokens.insert(10, "missing".into());
        tokens.push("tok0".into());
        tokens.push("tok0".into());
        let got = store.get_many::<Session>(&tokens).await.unwrap();
        let expected: Vec<Option<Session>> = tokens
            .iter()
            .map(|t| sessions.iter().find(|s| &s.token == t).cloned())
            .collect();
        c.check(got == expected, "get_many (json) keeps the caller's order with duplicates and missing ids");

        // Empty batches.
        c.check(store.get_many::<User>(&[]).await.is_ok_and(|v| v.is_empty()), "get_many of nothing is empty");
        c.check(store.save_many::<User>(&[]).await.is_ok(), "save_many of nothing is Ok");
        c.check(store.delete_many::<User>(&[]).await.is_ok_and(|n| n == 0), "delete_many of nothing is 0");

        // save_many with one id twice: the later entity wins, as a MULTI in order would.
        let mut first = User::sample("dup", 1);
        first.email = "first@example.com".into();
        let mut second = User::sample("dup", 1);
        second.email = "second@example.com".into();
        let mut batch = vec![first, User::sample("x1", 2), second.clone()];
        for i in 0..30 {
            batch.push(User::sample(&format!("pad{i}"), i));
        }
        store.save_many(&batch).await.unwrap();
        let got = store.get::<User>(&uid("dup", 1)).await.unwrap();
        c.check(got.as_ref() == Some(&second), format!("save_many with a duplicate id keeps the later entity: {:?}", got.map(|u| u.email)));

        // delete_many with duplicates and missing ids counts what existed.
        let del = vec![uid("tenant-0", 0), uid("tenant-0", 0), uid("tenant-1", 1), uid("nobody", 1), uid("tenant-2", 2), uid("tenant-2", 2)];
        let n = store.delete_many::<User>(&del).await.unwrap();
        c.check(n == 3, format!("delete_many with duplicates counts each existing entity once: {n} (expected 3)"));
        let left = store.get_many::<User>(&del).await.unwrap();
        c.check(left.iter().all(Option::is_none), "delete_many deleted them");
        let n = store.count::<User>().await.unwrap();
        c.check(n == 120 - 3 + 32, format!("count after the deletes: {n} (149)"));
        drop(redis);
        c.finish();
    }
}

// ---------------------------------------------------------------------------
// scan_ids: keys of the template's shape whose parts do not parse

on_both! {
    async fn scan_reports_keys_whose_parts_do_not_parse() {
        use futures_util::StreamExt;
        let mut c = Checks::new("scan_keypart");
        let (redis, store) = start("rv").await;
        store.save(&User::sample("t", 1)).await.unwrap();
        let base = store.key::<User>(&uid("t", 1)).unwrap().to_string();
        let mut admin = redis.raw_connection().await.unwrap();
        let mut outcomes = Vec::new();
        for part in ["notanumber", "007", "99999999999999999999", "-1", "1.0"] {
            let key = base.replace(":user:1", &format!(":user:{part}"));
            let () = raw!(&mut admin, "HSET", &key, "email", "x");
            let items: Vec<_> = store.scan_ids::<User>().collect().await;
            let errors: Vec<String> = items.iter().filter_map(|r| r.as_ref().err()).map(describe).collect();
            let n = store.count::<User>().await.unwrap();
            outcomes.push(format!("{part}: {} error(s) {:?}, count {n}", errors.len(), errors.first()));
            // As `Store::scan_ids` documents: a part that cannot be a u64 as
            // rendered makes the key another family's (skipped); one of the
            // right shape that does not parse is a KeyPart error.
            let expected = usize::from(part == "99999999999999999999");
            c.check(errors.len() == expected, format!("a key `...:user:{part}` yields {expected} KeyPart error(s) from scan_ids: {errors:?}"));
            c.check(n == 1, format!("... and is not counted ({n})"));
            let _: i64 = raw!(&mut admin, "DEL", &key);
        }
        c.note(format!("{outcomes:?}"));
        drop(redis);
        c.finish();
    }
}

// ---------------------------------------------------------------------------
// save_many: all or nothing per slot

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn save_many_is_all_or_nothing_per_slot_and_the_outcome_says_so() {
    let mut c = Checks::new("save_many_slots");
    let cluster = RedisCluster::start().unwrap();
    let admin_store = Store::connect(&cluster.config_builder().namespace("rv").build().unwrap())
        .await
        .unwrap();
    // Tenants a, b, c; the user may write a:1, b:1 and c:1, not b:2.
    let users = vec![
        User::sample("a", 1),
        User::sample("b", 1),
        User::sample("b", 2),
        User::sample("c", 1),
    ];
    let ids: Vec<UserId> = users.iter().map(User::key_id).collect();
    let mut rule = vec!["+@all".to_owned()];
    for id in [&ids[0], &ids[1], &ids[3]] {
        rule.push(format!("~{}", admin_store.key::<User>(id).unwrap()));
    }
    setuser_everywhere(&cluster, "part", "PWpart", &rule).await;
    let config = Config::builder()
        .cluster_nodes(
            cluster
                .urls()
                .iter()
                .map(|u| with_creds(u, "part", "PWpart")),
        )
        .namespace("rv")
        .build()
        .unwrap();
    let store = Store::connect(&config).await.unwrap();
    let r = store.save_many(&users).await;
    let stored = admin_store.get_many::<User>(&ids).await.unwrap();
    let present: Vec<bool> = stored.iter().map(Option::is_some).collect();
    c.note(format!(
        "result {:?}; present a1,b1,b2,c1 = {present:?}",
        r.as_ref().err().map(describe)
    ));
    c.check(
        matches!(r, Err(Error::PermissionDenied { .. })),
        "the refused slot's NOPERM surfaces as PermissionDenied",
    );
    c.check(
        !present[1] && !present[2],
        "the refused slot applied nothing (b:1 absent, b:2 absent)",
    );
    let others_applied = present[0] || present[3];
    if let Err(e) = &r {
        c.check(
            !(others_applied && e.outcome() == Outcome::NotApplied),
            format!(
                "an error whose other slots were applied does not say NotApplied (\"NotApplied means nothing was sent, or the server refused it\"): outcome {:?}, applied a1={} c1={}",
                e.outcome(),
                present[0],
                present[3]
            ),
        );
    }

    // Same on one server: the whole batch is one transaction.
    let server = RedisServer::start().unwrap();
    let admin = Store::connect(&server.config_builder().namespace("rv").build().unwrap())
        .await
        .unwrap();
    let mut con = node_conn(&server).await;
    let mut cmd = redis::cmd("ACL");
    cmd.arg("SETUSER").arg("part").arg("on").arg(">PWpart");
    for word in &rule {
        cmd.arg(word);
    }
    let () = cmd.query_async(&mut con).await.unwrap();
    let store = Store::connect(
        &Config::builder()
            .url(format!("{}?user=part&pass=PWpart", server.url()))
            .namespace("rv")
            .build()
            .unwrap(),
    )
    .await
    .unwrap();
    let r = store.save_many(&users).await;
    let stored = admin.get_many::<User>(&ids).await.unwrap();
    c.check(
        stored.iter().all(Option::is_none)
            && matches!(
                r,
                Err(Error::PermissionDenied {
                    outcome: Outcome::NotApplied,
                    ..
                })
            ),
        format!(
            "one server: the batch is all or nothing: {:?}",
            r.err().map(|e| describe(&e))
        ),
    );
    c.finish();
}

// ---------------------------------------------------------------------------
// Increments never applied twice: connections killed on every node

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn increments_are_never_doubled_when_cluster_connections_are_killed() {
    let mut c = Checks::new("incr_client_kill");
    let cluster = RedisCluster::start().unwrap();
    let store = Store::connect(
        &cluster
            .config_builder()
            .namespace("rv")
            .connect_timeout(CONNECT)
            .response_timeout(RESPONSE)
            .build()
            .unwrap(),
    )
    .await
    .unwrap();
    let tenants: Vec<String> = (0..6).map(|i| format!("k{i}")).collect();
    for t in &tenants {
        store.save(&User::sample(t, 0)).await.unwrap();
    }
    let stop = Arc::new(AtomicBool::new(false));
    let max_latency_ms = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for t in tenants.clone() {
        let store = store.clone();
        let stop = stop.clone();
        let max = max_latency_ms.clone();
        tasks.push(tokio::spawn(async move {
            let id = uid(&t, 0);
            let (mut acked, mut unknown, mut not_applied, mut missing, mut saves_acked) =
                (0u64, 0u64, 0u64, 0u64, Vec::new());
            let mut errors = BTreeMap::<String, u64>::new();
            let mut n = 1u64;
            while !stop.load(Ordering::Relaxed) {
                let start = Instant::now();
                match store.incr(&id, User::fields().logins, 1).await {
                    Ok(Some(_)) => acked += 1,
                    Ok(None) => missing += 1,
                    Err(e) => {
                        *errors
                            .entry(describe(&e).split(':').next().unwrap().to_owned())
                            .or_default() += 1;
                        match e.outcome() {
                            Outcome::Unknown => unknown += 1,
                            _ => not_applied += 1,
                        }
                    }
                }
                max.fetch_max(start.elapsed().as_millis() as u64, Ordering::Relaxed);
                let user = User::sample(&t, n);
                let start = Instant::now();
                if store.save(&user).await.is_ok() {
                    saves_acked.push(n);
                }
                max.fetch_max(start.elapsed().as_millis() as u64, Ordering::Relaxed);
                n += 1;
            }
            (t, acked, unknown, not_applied, missing, saves_acked, errors)
        }));
    }
    let mut kills = 0u64;
    let mut killers = Vec::new();
    for node in cluster.nodes() {
        killers.push(node_conn(node).await);
    }
    let until = Instant::now() + Duration::from_secs(4);
    while Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(60)).await;
        for con in &mut killers {
            let killed: i64 = redis::cmd("CLIENT")
                .arg("KILL")
                .arg("TYPE")
                .arg("normal")
                .query_async(con)
                .await
                .unwrap_or(0);
            kills += killed as u64;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let mut all_errors = BTreeMap::<String, u64>::new();
    for task in tasks {
        let (t, acked, unknown, not_applied, missing, saves, errors) = task.await.unwrap();
        for (k, v) in errors {
            *all_errors.entry(k).or_default() += v;
        }
        let id = uid(&t, 0);
        let counter = store
            .get::<User>(&id)
            .await
            .unwrap()
            .map(|u| u.logins as u64);
        c.note(format!("{t}: acked={acked} unknown={unknown} not_applied={not_applied} missing={missing} counter={counter:?}"));
        c.check(
            missing == 0,
            format!("{t}: incr never answered \"missing\" for an existing entity"),
        );
        c.check(
            counter.is_some_and(|n| acked <= n && n <= acked + unknown),
            format!(
                "{t}: counter {counter:?} within [acked {acked}, acked+unknown {}]",
                acked + unknown
            ),
        );
        let got = store
            .get_many::<User>(&saves.iter().map(|&n| uid(&t, n)).collect::<Vec<_>>())
            .await
            .unwrap();
        c.check(
            got.iter().all(Option::is_some),
            format!(
                "{t}: every acknowledged save is stored ({} saves)",
                saves.len()
            ),
        );
    }
    c.note(format!("{kills} connections killed; errors {all_errors:?}"));
    let max = Duration::from_millis(max_latency_ms.load(Ordering::Relaxed));
    c.check(
        max <= BOUND,
        format!("every call returned within the bound (max {max:?})"),
    );
    c.check(kills > 0, "connections were killed");
    c.finish();
}

// ---------------------------------------------------------------------------
// Increments and batches while a slot migrates back and forth

async fn migrate_slot(
    cluster: &RedisCluster,
    slot: u16,
    src: (usize, &str),
    dst: (usize, &str),
) -> usize {
    let mut s = node_conn(&cluster.nodes()[src.0]).await;
    let mut d = node_conn(&cluster.nodes()[dst.0]).await;
    let dst_port = cluster.nodes()[dst.0].port().unwrap();
    let () = raw!(&mut d, "CLUSTER", "SETSLOT", slot, "IMPORTING", src.1);
    let () = raw!(&mut s, "CLUSTER", "SETSLOT", slot, "MIGRATING", dst.1);
    let mut moved = 0;
    loop {
        let keys: Vec<Vec<u8>> = raw!(&mut s, "CLUSTER", "GETKEYSINSLOT", slot, 5);
        if keys.is_empty() {
            break;
        }
        moved += keys.len();
        let mut cmd = redis::cmd("MIGRATE");
        cmd.arg("127.0.0.1")
            .arg(dst_port)
            .arg("")
            .arg(0)
            .arg(5000)
            .arg("KEYS");
        for k in &keys {
            cmd.arg(k);
        }
        let _: redis::Value = cmd.query_async(&mut s).await.unwrap();
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    let () = raw!(&mut d, "CLUSTER", "SETSLOT", slot, "NODE", dst.1);
    let () = raw!(&mut s, "CLUSTER", "SETSLOT", slot, "NODE", dst.1);
    for (i, node) in cluster.nodes().iter().enumerate() {
        if i != src.0 && i != dst.0 {
            let mut o = node_conn(node).await;
            let () = raw!(&mut o, "CLUSTER", "SETSLOT", slot, "NODE", dst.1);
        }
    }
    moved
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slot_migrating_back_and_forth_never_doubles_an_increment() {
    let mut c = Checks::new("migration");
    let cluster = RedisCluster::start().unwrap();
    let store = Store::connect(
        &cluster
            .config_builder()
            .namespace("rv")
            .connect_timeout(CONNECT)
            .response_timeout(RESPONSE)
            .build()
            .unwrap(),
    )
    .await
    .unwrap();
    let family = "migrating";
    store.save(&User::sample(family, 0)).await.unwrap();
    for i in 0..40 {
        store.save(&User::sample("still", i)).await.unwrap();
    }
    let mut admin = cluster.raw_connection().await.unwrap();
    let slot = keyslot(
        &mut admin,
        store.key::<User>(&uid(family, 0)).unwrap().as_bytes(),
    )
    .await;
    let (a_index, a_id) = owner_of(&cluster, slot).await;
    let b_index = (a_index + 1) % 3;
    let b_id = {
        let mut con = node_conn(&cluster.nodes()[0]).await;
        let port = cluster.nodes()[b_index].port().unwrap();
        cluster_nodes(&mut con)
            .await
            .into_iter()
            .find(|n| n.1 == port)
            .unwrap()
            .0
    };

    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for w in 0..3u64 {
        let store = store.clone();
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let counter = uid(family, 0);
            let (mut acked, mut unknown, mut mismatched, mut max) =
                (0u64, 0u64, 0u64, Duration::ZERO);
            let mut saved = Vec::new();
            let mut errors = Vec::new();
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let start = Instant::now();
                match store.incr(&counter, User::fields().logins, 1).await {
                    Ok(Some(_)) => acked += 1,
                    Ok(None) => errors.push("incr: missing".to_owned()),
                    Err(e) => {
                        if e.outcome() == Outcome::Unknown {
                            unknown += 1;
                        }
                        errors.push(format!("incr: {}", describe(&e)));
                    }
                }
                let id = 1000 * (w + 1) + n;
                let user = User::sample(family, id);
                let t = Instant::now();
                match store
                    .save_many(&[user, User::sample("still", 100 + id)])
                    .await
                {
                    Ok(()) => saved.push(id),
                    Err(e) => errors.push(format!(
                        "save_many: after {:?}: {}",
                        t.elapsed(),
                        describe(&e)
                    )),
                }
                let single = User::sample(family, 500_000 + id);
                let t = Instant::now();
                match store.save(&single).await {
                    Ok(()) => saved.push(500_000 + id),
                    Err(e) => {
                        errors.push(format!("save: after {:?}: {}", t.elapsed(), describe(&e)))
                    }
                }
                let ask = vec![
                    uid(family, id),
                    uid("still", n % 40),
                    uid(family, 0),
                    uid("nobody", 1),
                ];
                match store.get_many::<User>(&ask).await {
                    Ok(got) => {
                        for (want, got) in ask.iter().zip(&got) {
                            if let Some(u) = got
                                && (u.tenant != want.tenant || u.id != want.id)
                            {
                                mismatched += 1;
                            }
                        }
                        if got.len() != 4 || got[3].is_some() {
                            mismatched += 1;
                        }
                    }
                    Err(e) => errors.push(format!("get_many: {}", describe(&e))),
                }
                max = max.max(start.elapsed());
            }
            (acked, unknown, mismatched, max, saved, errors)
        }));
    }
    let mut moved = 0;
    let (mut src, mut dst) = ((a_index, a_id.clone()), (b_index, b_id.clone()));
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let t = Instant::now();
        let n = migrate_slot(&cluster, slot, (src.0, &src.1), (dst.0, &dst.1)).await;
        c.note(format!("migrated {n} keys in {:?}", t.elapsed()));
        moved += n;
        std::mem::swap(&mut src, &mut dst);
    }
    tokio::time::sleep(Duration::from_millis(150)).await;
    stop.store(true, Ordering::Relaxed);
    let (mut acked, mut unknown, mut mismatched, mut max) = (0, 0, 0, Duration::ZERO);
    let mut saved = Vec::new();
    let mut errors = Vec::new();
    for task in tasks {
        let (a, u, m, x, s, e) = task.await.unwrap();
        acked += a;
        unknown += u;
        mismatched += m;
        max = max.max(x);
        saved.extend(s);
        errors.extend(e);
    }
    let counter = store
        .get::<User>(&uid(family, 0))
        .await
        .unwrap()
        .unwrap()
        .logins as u64;
    c.note(format!("4 migrations, {moved} keys moved; acked={acked} unknown={unknown} counter={counter} errors={} first={:?}", errors.len(), errors.first()));
    c.check(
        acked <= counter && counter <= acked + unknown,
        format!("counter {counter} within [acked {acked}, +unknown {unknown}]"),
    );
    c.check(
        mismatched == 0,
        format!("no mismatched/misordered get_many reply ({mismatched})"),
    );
    for e in &errors {
        c.note(format!("error during migration: {e}"));
    }
    c.check(
        errors.is_empty(),
        format!(
            "slot moves (ASK/MOVED) are followed without failing an operation ({} errors: {:?})",
            errors.len(),
            errors
                .iter()
                .map(|e| e.split(':').next().unwrap_or(""))
                .collect::<BTreeSet<_>>()
        ),
    );
    // In batches: one get_many of every saved id (thousands, one slot) is
    // one pipeline, more than the 1 s response timeout allows in a debug build.
    let ids: Vec<UserId> = saved.iter().map(|&id| uid(family, id)).collect();
    let mut got = Vec::new();
    for chunk in ids.chunks(500) {
        got.extend(store.get_many::<User>(chunk).await.unwrap());
    }
    c.check(
        got.iter().all(Option::is_some),
        format!(
            "every acknowledged save_many survived ({} saves)",
            saved.len()
        ),
    );
    c.check(
        max <= Duration::from_millis(3 * BOUND.as_millis() as u64),
        format!("iterations bounded (max {max:?} for 3 calls)"),
    );
    c.finish();
}

// ---------------------------------------------------------------------------
// count / scan_ids exact with replicas; harness promises about replicas

async fn check_scan(
    c: &mut Checks,
    store: &Store,
    label: &str,
    expected: &BTreeSet<(String, u64)>,
) {
    use futures_util::StreamExt;
    let n = store.count::<User>().await;
    c.check(
        matches!(n, Ok(300)),
        format!(
            "{label}: count::<User>() = {:?} (300)",
            n.as_ref().map_err(describe)
        ),
    );
    let n = store.count::<Session>().await;
    c.check(
        matches!(n, Ok(50)),
        format!(
            "{label}: count::<Session>() = {:?} (50)",
            n.as_ref().map_err(describe)
        ),
    );
    let items: Vec<_> = store.scan_ids::<User>().collect().await;
    let ids: Vec<(String, u64)> = items
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|id| (id.tenant.0.clone(), id.id))
        .collect();
    let errors: Vec<String> = items
        .iter()
        .filter_map(|r| r.as_ref().err())
        .map(describe)
        .collect();
    let unique: BTreeSet<_> = ids.iter().cloned().collect();
    c.check(
        &unique == expected,
        format!(
            "{label}: scan_ids yields exactly the saved ids ({} unique)",
            unique.len()
        ),
    );
    c.check(
        ids.len() == unique.len(),
        format!(
            "{label}: scan_ids yields no duplicates ({} vs {})",
            ids.len(),
            unique.len()
        ),
    );
    c.check(
        errors.is_empty(),
        format!("{label}: no errors ({errors:?})"),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn count_and_scan_are_exact_on_a_cluster_with_replicas() {
    let mut c = Checks::new("replicas_scan");
    let mut cluster = RedisCluster::builder().replicas(1).start().unwrap();
    c.check(
        cluster.nodes().len() == 6,
        format!("3 primaries + 3 replicas = {} nodes", cluster.nodes().len()),
    );
    // Harness: every node ok, every replica synced, right after start().
    let mut replicas = Vec::new();
    for (i, node) in cluster.nodes().iter().enumerate() {
        let mut con = node_conn(node).await;
        let info: String = raw!(&mut con, "CLUSTER", "INFO");
        c.check(
            info.contains("cluster_state:ok") && info.contains("cluster_slots_ok:16384"),
            format!("node {i} healthy right after start"),
        );
        let repl: String = raw!(&mut con, "INFO", "replication");
        if repl.contains("role:slave") {
            replicas.push(i);
            c.check(
                repl.contains("master_link_status:up"),
                format!("replica {i} synced right after start"),
            );
        }
    }
    c.check(replicas.len() == 3, format!("3 replicas: {replicas:?}"));

    let store = Store::connect(&cluster.config_builder().namespace("rv").build().unwrap())
        .await
        .unwrap();
    let users: Vec<User> = (0..300u64)
        .map(|i| User::sample(&format!("t{}", i % 30), i))
        .collect();
    store.save_many(&users).await.unwrap();
    let sessions: Vec<Session> = (0..50).map(|i| session(&format!("s{i}"), i)).collect();
    store.save_many(&sessions).await.unwrap();
    // Foreign keys: same prefix but not the template's shape, an unparsable
    // id, another namespace.
    let mut admin = cluster.raw_connection().await.unwrap();
    let base = store.key::<User>(&uid("t0", 1)).unwrap().to_string();
    for key in [
        format!("{base}:extra"),
        base.replace("rv:", "other:"),
        "rv:tenant".to_owned(),
    ] {
        let () = raw!(&mut admin, "SET", key, "x");
    }
    // Every primary's replica has every write before the checks read from
    // replicas' seeds and fail over.
    for (i, node) in cluster.nodes().iter().enumerate() {
        if !replicas.contains(&i) {
            let mut con = node_conn(node).await;
            let acked: i64 = raw!(&mut con, "WAIT", 1, 5000);
            c.check(acked == 1, format!("primary {i}'s replica has its writes"));
        }
    }

    let expected: BTreeSet<(String, u64)> =
        users.iter().map(|u| (u.tenant.0.clone(), u.id)).collect();
    check_scan(&mut c, &store, "replicas", &expected).await;

    // Seeded with one replica only.
    let replica_url = format!(
        "redis://127.0.0.1:{}",
        cluster.nodes()[replicas[0]].port().unwrap()
    );
    match Store::connect(
        &Config::builder()
            .cluster_nodes([replica_url])
            .namespace("rv")
            .build()
            .unwrap(),
    )
    .await
    {
        Ok(s) => {
            let r = s.save(&User::sample("via-replica", 1)).await;
            c.check(
                r.is_ok(),
                format!(
                    "a replica as the only seed: writes reach the primaries: {:?}",
                    r.err().map(|e| describe(&e))
                ),
            );
            let _ = s.delete::<User>(&uid("via-replica", 1)).await;
            check_scan(&mut c, &s, "replica seed", &expected).await;
        }
        Err(e) => c.check(
            false,
            format!("a replica as the only seed connects: {}", describe(&e)),
        ),
    }

    // A graceful failover of every primary: counts stay exact on the same store.
    for &r in &replicas {
        let mut con = node_conn(&cluster.nodes()[r]).await;
        let () = raw!(&mut con, "CLUSTER", "FAILOVER");
    }
    // A manual failover gives up after a few seconds when its replica cannot
    // catch up in time (a loaded machine); it is asked again then, as an
    // operator would.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut asked = Instant::now();
    loop {
        let mut promoted = 0;
        let ask_again = asked.elapsed() > Duration::from_secs(6);
        for &r in &replicas {
            let mut con = node_conn(&cluster.nodes()[r]).await;
            let repl: String = raw!(&mut con, "INFO", "replication");
            if repl.contains("role:master") {
                promoted += 1;
            } else if ask_again {
                let _: redis::RedisResult<()> = redis::cmd("CLUSTER")
                    .arg("FAILOVER")
                    .query_async(&mut con)
                    .await;
            }
        }
        if ask_again {
            asked = Instant::now();
        }
        if promoted == replicas.len() || Instant::now() > deadline {
            c.check(
                promoted == replicas.len(),
                format!("{promoted} replicas promoted"),
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    check_scan(&mut c, &store, "right after failovers", &expected).await;
    let _ = cluster.wait_ready(Duration::from_secs(10));
    check_scan(&mut c, &store, "after failovers settled", &expected).await;
    c.finish();
}

// ---------------------------------------------------------------------------
// Namespaces, hash tags and the raw escape hatch on a cluster

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespaces_hash_tags_and_raw_access_on_a_cluster() {
    let mut c = Checks::new("keys_raw");
    let cluster = RedisCluster::start().unwrap();
    let a = Store::connect(&cluster.config_builder().namespace("app:a").build().unwrap())
        .await
        .unwrap();
    let b = Store::connect(&cluster.config_builder().namespace("app:b").build().unwrap())
        .await
        .unwrap();
    let mut admin = cluster.raw_connection().await.unwrap();

    // Namespaces isolate.
    let users: Vec<User> = (0..30)
        .map(|i| User::sample(&format!("n{}", i % 7), i))
        .collect();
    a.save_many(&users).await.unwrap();
    b.save_many(&users[..10]).await.unwrap();
    c.check(
        a.count::<User>().await.unwrap() == 30 && b.count::<User>().await.unwrap() == 10,
        "namespaces count only their own keys",
    );
    b.delete_many::<User>(&users.iter().map(User::key_id).collect::<Vec<_>>())
        .await
        .unwrap();
    c.check(
        a.count::<User>().await.unwrap() == 30,
        "deleting in one namespace leaves the other",
    );
    for bad in ["a{b}", "a b", "x:{t}", "{"] {
        let r = cluster.config_builder().namespace(bad).build();
        c.check(
            matches!(r, Err(Error::Config(_))),
            format!(
                "namespace {bad:?} refused: {:?}",
                r.map(|c| c.namespace().to_owned())
            ),
        );
    }

    // A family is one slot, whatever its tenant contains, and composed keys
    // with the same tagged part share it.
    for tenant in [
        "{x}",
        "}",
        "{",
        "a}b{c",
        "%7B",
        " ",
        "\u{1F600}",
        "tenant:{y}",
        "*",
    ] {
        let mut slots = BTreeSet::new();
        for id in [0u64, 1, 7, u64::MAX] {
            let key = a.key::<User>(&uid(tenant, id)).unwrap();
            slots.insert(keyslot(&mut admin, key.as_bytes()).await);
        }
        let raw = a.raw_access();
        let composed = raw
            .compose_key()
            .literal("room")
            .tagged_part(&TenantId(tenant.into()))
            .literal("members")
            .finish()
            .unwrap();
        slots.insert(keyslot(&mut admin, composed.as_bytes()).await);
        c.check(slots.len() == 1, format!("tenant {tenant:?}: the family and its tagged composed key share one slot ({slots:?})"));
        let family: Vec<User> = (0..5).map(|i| User::sample(tenant, i)).collect();
        let r = a.save_many(&family).await;
        let got = a
            .get_many::<User>(&family.iter().map(User::key_id).collect::<Vec<_>>())
            .await;
        c.check(
            r.is_ok() && got.as_ref().is_ok_and(|g| g.iter().flatten().count() == 5),
            format!("tenant {tenant:?}: save_many/get_many work"),
        );
    }
    // An id of an untagged model cannot pick a slot with braces.
    let key = a.key::<Session>(&"{same}1".to_owned()).unwrap().to_string();
    c.check(
        !key.contains('{') && !key.contains('}'),
        format!("untagged ids carry no braces into the key: {key}"),
    );

    // The escape hatch.
    let raw = a.raw_access();
    let k1 = raw
        .compose_key()
        .literal("raw")
        .tagged_part(&TenantId("one".into()))
        .finish()
        .unwrap();
    let k2 = raw
        .compose_key()
        .literal("raw")
        .tagged_part(&TenantId("two".into()))
        .finish()
        .unwrap();
    let k1b = raw
        .compose_key()
        .literal("raw2")
        .tagged_part(&TenantId("one".into()))
        .finish()
        .unwrap();
    c.check(
        keyslot(&mut admin, k1.as_bytes()).await != keyslot(&mut admin, k2.as_bytes()).await,
        "k1 and k2 are in different slots",
    );
    let exists = |admin: &mut redis::cluster_async::ClusterConnection,
                  k: &redis_runtime::key::RenderedKey| {
        let mut admin = admin.clone();
        let k = k.clone();
        async move {
            let n: i64 = raw!(&mut admin, "EXISTS", &k);
            n == 1
        }
    };
    for atomic in [false, true] {
        let mut pipe = redis::pipe();
        if atomic {
            pipe.atomic();
        }
        pipe.cmd("SET")
            .arg(&k1)
            .arg("1")
            .cmd("SET")
            .arg(&k2)
            .arg("2");
        let r: Result<redis::Value, Error> = raw.query_pipeline(&pipe).await;
        let e1 = exists(&mut admin, &k1).await;
        let e2 = exists(&mut admin, &k2).await;
        c.check(
            r.as_ref().err().is_some_and(|e| e.outcome() == Outcome::NotApplied) && !e1 && !e2,
            format!("cross-slot raw pipeline (atomic={atomic}) refused, NotApplied, nothing written: {:?} k1={e1} k2={e2}", r.as_ref().err().map(describe)),
        );
    }
    // One pipeline of a single cross-slot command.
    let mut pipe = redis::pipe();
    pipe.cmd("MSET").arg(&k1).arg("1").arg(&k2).arg("2");
    let r: Result<redis::Value, Error> = raw.query_pipeline(&pipe).await;
    let (e1, e2) = (exists(&mut admin, &k1).await, exists(&mut admin, &k2).await);
    c.check(
        r.as_ref()
            .err()
            .is_some_and(|e| e.outcome() == Outcome::NotApplied)
            && !e1
            && !e2,
        format!(
            "pipeline of one cross-slot MSET refused, NotApplied, nothing written: {:?}",
            r.as_ref().err().map(describe)
        ),
    );
    // A single cross-slot command: not promised either way by the README;
    // Redis itself would refuse it (CROSSSLOT).
    let r: Result<(), Error> = raw
        .query(redis::cmd("MSET").arg(&k1).arg("1").arg(&k2).arg("2"))
        .await;
    let (e1, e2) = (exists(&mut admin, &k1).await, exists(&mut admin, &k2).await);
    c.note(format!(
        "single raw MSET across two slots: {:?}; k1 written={e1} k2 written={e2}",
        r.as_ref().err().map(describe)
    ));
    let r: Result<i64, Error> = raw.query(redis::cmd("DEL").arg(&k1).arg(&k2)).await;
    c.note(format!(
        "single raw DEL across two slots: {:?}",
        r.as_ref().map_err(describe)
    ));
    let _: i64 = raw!(&mut admin, "DEL", &k1);
    let _: i64 = raw!(&mut admin, "DEL", &k2);
    // A cross-slot script: refused too.
    let r: Result<redis::Value, Error> = raw
        .query(
            redis::cmd("EVAL")
                .arg("redis.call('SET', KEYS[1], 1); redis.call('SET', KEYS[2], 2)")
                .arg(2)
                .arg(&k1)
                .arg(&k2),
        )
        .await;
    let (e1, e2) = (exists(&mut admin, &k1).await, exists(&mut admin, &k2).await);
    c.check(
        r.as_ref()
            .err()
            .is_some_and(|e| e.outcome() == Outcome::NotApplied)
            && !e1
            && !e2,
        format!(
            "cross-slot EVAL refused, NotApplied, nothing written: {:?}",
            r.as_ref().err().map(describe)
        ),
    );
    // Same slot: allowed, atomic or not; keyless commands do not count as a slot.
    let mut pipe = redis::pipe();
    pipe.atomic()
        .cmd("SET")
        .arg(&k1)
        .arg("1")
        .cmd("SET")
        .arg(&k1b)
        .arg("2");
    let r: Result<redis::Value, Error> = raw.query_pipeline(&pipe).await;
    c.check(
        r.is_ok() && exists(&mut admin, &k1).await && exists(&mut admin, &k1b).await,
        format!(
            "same-slot atomic pipeline works: {:?}",
            r.err().map(|e| describe(&e))
        ),
    );
    let mut pipe = redis::pipe();
    pipe.cmd("PING").cmd("GET").arg(&k1).cmd("PING");
    let r: Result<redis::Value, Error> = raw.query_pipeline(&pipe).await;
    c.check(
        r.is_ok(),
        format!(
            "a pipeline of keyless commands and one slot works: {:?}",
            r.err().map(|e| describe(&e))
        ),
    );
    let mut pipe = redis::pipe();
    pipe.cmd("GET").arg(&k2).cmd("GET").arg(&k1);
    let r: Result<(Option<String>, Option<String>), Error> = raw.query_pipeline(&pipe).await;
    c.check(
        r.as_ref()
            .err()
            .is_some_and(|e| e.outcome() == Outcome::NotApplied),
        format!(
            "a cross-slot read pipeline is refused too, NotApplied: {:?}",
            r.as_ref().map_err(describe)
        ),
    );
    c.finish();
}

// ---------------------------------------------------------------------------
// Seeds: the first dead, all dead, a silent one, a non-cluster one

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_seeds_dead_silent_and_wrong() {
    let mut c = Checks::new("seeds");
    let cluster = RedisCluster::start().unwrap();
    let timed = |b: ConfigBuilder| {
        b.namespace("rv")
            .connect_timeout(CONNECT)
            .response_timeout(RESPONSE)
    };
    let users: Vec<User> = (0..30).map(|i| User::sample(&format!("s{i}"), i)).collect();

    // The first seed refuses connections.
    let mut seeds = vec![format!("redis://127.0.0.1:{}", dead_port())];
    seeds.extend(cluster.urls());
    let start = Instant::now();
    let r = async {
        let store = Store::connect(&timed(Config::builder().cluster_nodes(seeds)).build()?).await?;
        store.save_many(&users).await?;
        store.count::<User>().await
    }
    .await;
    c.check(
        matches!(r, Ok(30)),
        format!(
            "first seed dead: the store works ({:?}): {:?}",
            start.elapsed(),
            r.as_ref().map_err(describe)
        ),
    );

    // The only live seed is last of three, after two dead ones.
    let seeds = vec![
        format!("redis://127.0.0.1:{}", dead_port()),
        format!("redis://127.0.0.1:{}", dead_port()),
        cluster.urls()[2].clone(),
    ];
    let r = async {
        let store = Store::connect(&timed(Config::builder().cluster_nodes(seeds)).build()?).await?;
        store.count::<User>().await
    }
    .await;
    c.check(
        matches!(r, Ok(30)),
        format!(
            "one reachable seed is enough: {:?}",
            r.as_ref().map_err(describe)
        ),
    );

    // Every seed refuses: fails at once, NotApplied, names addresses, no password.
    let seeds = vec![
        format!("redis://app:PWdeadSECRET@127.0.0.1:{}", dead_port()),
        format!("redis://app:PWdeadSECRET@127.0.0.1:{}", dead_port()),
    ];
    let config = Config::builder()
        .cluster_nodes(seeds)
        .connect_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let start = Instant::now();
    let r = Store::connect(&config).await;
    let took = start.elapsed();
    let text = r
        .as_ref()
        .err()
        .map(|e| format!("{e} {e:?}"))
        .unwrap_or_default();
    c.check(
        matches!(
            r,
            Err(Error::Connection {
                outcome: Outcome::NotApplied,
                ..
            })
        ),
        format!(
            "all seeds refused: Connection/NotApplied: {}",
            r.as_ref().err().map(describe).unwrap_or_default()
        ),
    );
    c.check(
        took < Duration::from_millis(1000),
        format!("all seeds refused fails at once, not after the 5 s connect timeout ({took:?})"),
    );
    c.check(
        !text.contains("PWdeadSECRET"),
        "all-seeds-refused error has no password",
    );
    c.check(text.contains("127.0.0.1:"), "... and names an address");

    // A silent seed (accepts, never answers) first.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("redis://127.0.0.1:{}", silent.local_addr().unwrap().port());
    let mut seeds = vec![silent_url.clone()];
    seeds.extend(cluster.urls());
    let start = Instant::now();
    let r = Store::connect(
        &timed(Config::builder().cluster_nodes(seeds))
            .build()
            .unwrap(),
    )
    .await;
    let took = start.elapsed();
    c.check(
        took <= BOUND,
        format!("silent first seed: connect returns within the bound ({took:?})"),
    );
    match r {
        Ok(store) => {
            let r = store.count::<User>().await;
            c.check(
                matches!(r, Ok(30)),
                format!(
                    "silent first seed: the store works: {:?}",
                    r.map_err(|e| describe(&e))
                ),
            );
        }
        Err(e) => c.check(
            false,
            format!(
                "silent first seed, live ones after it: connects: {}",
                describe(&e)
            ),
        ),
    }
    // Only a silent seed.
    let start = Instant::now();
    let r = Store::connect(
        &timed(Config::builder().cluster_nodes([silent_url]))
            .build()
            .unwrap(),
    )
    .await;
    let took = start.elapsed();
    c.check(
        r.is_err() && took <= BOUND,
        format!(
            "only a silent seed: fails within the bound ({took:?}): {:?}",
            r.as_ref().err().map(describe)
        ),
    );
    drop(silent);

    // A standalone server given as a cluster seed.
    let plain = RedisServer::builder().tcp().start().unwrap();
    let start = Instant::now();
    let r = async {
        let store =
            Store::connect(&timed(Config::builder().cluster_nodes([plain.url()])).build()?).await?;
        store.save(&users[0]).await
    }
    .await;
    let took = start.elapsed();
    c.check(
        r.is_err() && took <= BOUND,
        format!(
            "a non-cluster server as seed: typed error within the bound ({took:?}): {:?}",
            r.as_ref().err().map(describe)
        ),
    );
    c.finish();
}

// ---------------------------------------------------------------------------
// A node restarted under a live store

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_primary_is_served_again_by_the_same_store() {
    let mut c = Checks::new("node_restart");
    let mut cluster = RedisCluster::start().unwrap();
    let store = Store::connect(
        &cluster
            .config_builder()
            .namespace("rv")
            .connect_timeout(CONNECT)
            .response_timeout(RESPONSE)
            .build()
            .unwrap(),
    )
    .await
    .unwrap();
    let users: Vec<User> = (0..60).map(|i| User::sample(&format!("r{i}"), i)).collect();
    store.save_many(&users).await.unwrap();
    let mut admin = cluster.raw_connection().await.unwrap();
    // Which users live on node 0.
    let mut on_node0 = Vec::new();
    let mut elsewhere = Vec::new();
    for u in &users {
        let slot = keyslot(
            &mut admin,
            store.key::<User>(&u.key_id()).unwrap().as_bytes(),
        )
        .await;
        if owner_of(&cluster, slot).await.0 == 0 {
            on_node0.push(u.clone());
        } else {
            elsewhere.push(u.clone());
        }
    }
    c.check(
        !on_node0.is_empty() && !elsewhere.is_empty(),
        "users on node 0 and elsewhere",
    );

    cluster.node_mut(0).stop();
    let down_at = Instant::now();
    // While it is down: every call bounded, typed; incr never "applied".
    let mut worst = Duration::ZERO;
    let mut kinds = BTreeMap::<String, u64>::new();
    let mut other_ok = 0;
    while down_at.elapsed() < Duration::from_millis(1500) {
        let start = Instant::now();
        let r = store
            .incr(&on_node0[0].key_id(), User::fields().logins, 1)
            .await;
        worst = worst.max(start.elapsed());
        match r {
            Ok(v) => c.check(false, format!("incr on a killed node answered {v:?}")),
            Err(e) => {
                c.note(format!("incr while down: {}", describe(&e)));
                *kinds
                    .entry(describe(&e).split(':').next().unwrap().to_owned())
                    .or_default() += 1
            }
        }
        let start = Instant::now();
        if store.get::<User>(&elsewhere[0].key_id()).await.is_ok() {
            other_ok += 1;
        }
        worst = worst.max(start.elapsed());
    }
    c.note(format!(
        "while down: errors {kinds:?}; reads on other nodes ok: {other_ok}"
    ));
    // A batch touching the dead node must not report its entities as missing.
    let all_ids: Vec<UserId> = users.iter().map(User::key_id).collect();
    let start = Instant::now();
    let r = store.get_many::<User>(&all_ids).await;
    worst = worst.max(start.elapsed());
    c.check(
        r.is_err(),
        format!(
            "get_many across a dead primary is an error, not Nones: {:?}",
            r.as_ref()
                .map(|v| v.iter().filter(|u| u.is_none()).count())
                .map_err(describe)
        ),
    );
    let start = Instant::now();
    let r = store.count::<User>().await;
    worst = worst.max(start.elapsed());
    c.check(
        r.is_err(),
        format!(
            "count with a primary down is an error, not a partial count: {:?}",
            r.as_ref().map_err(describe)
        ),
    );
    {
        use futures_util::StreamExt;
        let start = Instant::now();
        let items: Vec<_> = store.scan_ids::<User>().collect().await;
        worst = worst.max(start.elapsed());
        c.check(
            items.iter().any(Result::is_err),
            format!(
                "scan_ids with a primary down yields an error ({} items, {} errors)",
                items.len(),
                items.iter().filter(|r| r.is_err()).count()
            ),
        );
    }
    // A new store connects while a node is down (one reachable seed is enough).
    let start = Instant::now();
    let r = Store::connect(
        &cluster
            .config_builder()
            .namespace("rv")
            .connect_timeout(CONNECT)
            .response_timeout(RESPONSE)
            .build()
            .unwrap(),
    )
    .await;
    let took = start.elapsed();
    c.check(took <= BOUND, format!("a new store's connect returns within the bound while a primary is down ({took:?}): {:?}", r.as_ref().err().map(describe)));
    if let Ok(fresh) = &r {
        let r = fresh.get::<User>(&elsewhere[0].key_id()).await;
        c.note(format!(
            "new store, primary down: read on a live node: {:?}",
            r.as_ref().map(Option::is_some).map_err(describe)
        ));
    }
    // delete_many across the dead and live nodes: if live slots were deleted, the
    // outcome must not claim nothing was applied.
    let victims: Vec<UserId> = vec![
        on_node0[1 % on_node0.len()].key_id(),
        elsewhere[1].key_id(),
        elsewhere[2].key_id(),
    ];
    let start = Instant::now();
    let r = store.delete_many::<User>(&victims).await;
    worst = worst.max(start.elapsed());
    let live_left = Store::connect(&cluster.config_builder().namespace("rv").build().unwrap())
        .await
        .ok();
    let mut live_deleted = None;
    if let Some(s) = &live_left
        && let Ok(v) = s.get_many::<User>(&victims[1..]).await
    {
        live_deleted = Some(v.iter().filter(|u| u.is_none()).count());
    }
    c.note(format!(
        "delete_many across dead+live primaries: {:?}; live victims deleted: {live_deleted:?}",
        r.as_ref().map_err(describe)
    ));
    if let Err(e) = &r {
        c.check(
            !(live_deleted.unwrap_or(0) > 0 && e.outcome() == Outcome::NotApplied),
            format!("delete_many that deleted on live primaries does not report NotApplied (outcome {:?}, deleted {live_deleted:?})", e.outcome()),
        );
    } else {
        c.check(
            false,
            format!("delete_many across a dead primary reported success: {r:?}"),
        );
    }
    c.check(
        worst <= BOUND,
        format!("every call returned within the bound while the node was down (worst {worst:?})"),
    );

    let r = cluster.node_mut(0).restart();
    c.check(r.is_ok(), format!("the harness restarts the node: {r:?}"));
    let r = cluster.wait_ready(Duration::from_secs(20));
    c.check(
        r.is_ok(),
        format!(
            "the cluster is healthy again (wait_ready): {:?}",
            r.as_ref().err().map(|e| e.to_string())
        ),
    );
    let back = Instant::now();
    // The same store serves the restarted node's slots again.
    let mut recovered = None;
    let mut last = None;
    while back.elapsed() < Duration::from_secs(10) {
        match store.save(&on_node0[0]).await {
            Ok(()) => {
                recovered = Some(back.elapsed());
                break;
            }
            Err(e) => last = Some(describe(&e)),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    c.check(recovered.is_some(), format!("the same store writes to the restarted node again: recovered after {recovered:?}; last error {last:?}"));
    let r = store.save_many(&users).await;
    c.check(
        r.is_ok(),
        format!(
            "save_many over every node after the restart: {:?}",
            r.err().map(|e| describe(&e))
        ),
    );
    let got = store
        .get_many::<User>(&users.iter().map(User::key_id).collect::<Vec<_>>())
        .await;
    c.check(
        got.is_ok_and(|g| g.into_iter().flatten().count() == 60),
        "get_many over every node after the restart",
    );
    c.check(
        store.count::<User>().await.is_ok_and(|n| n == 60),
        "count over every node after the restart",
    );
    c.finish();
}

// ---------------------------------------------------------------------------
// Harness promises

#[test]
fn the_cluster_harness_keeps_its_promises() {
    let mut c = Checks::new("harness");
    // Fewer primaries than Redis Cluster accepts: an error, not a panic or hang.
    for n in [0usize, 1, 2] {
        let start = Instant::now();
        let r = std::panic::catch_unwind(|| {
            RedisCluster::builder()
                .primaries(n)
                .ready_timeout(Duration::from_secs(10))
                .start()
        });
        let took = start.elapsed();
        c.check(
            matches!(r, Ok(Err(_))) && took < Duration::from_secs(15),
            format!(
                "primaries({n}) is a HarnessError within the timeout ({took:?}): {:?}",
                r.as_ref().map(|r| r.as_ref().err().map(|e| e.to_string()))
            ),
        );
    }

    // Two clusters started at once on two threads: no port clash.
    let handles: Vec<_> = (0..2)
        .map(|_| std::thread::spawn(RedisCluster::start))
        .collect();
    let clusters: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    c.check(
        clusters.iter().all(Result::is_ok),
        format!(
            "two clusters start concurrently: {:?}",
            clusters
                .iter()
                .map(|r| r.as_ref().err().map(|e| e.to_string()))
                .collect::<Vec<_>>()
        ),
    );
    let clusters: Vec<RedisCluster> = clusters.into_iter().filter_map(Result::ok).collect();
    let mut ports = BTreeSet::new();
    for cluster in &clusters {
        c.check(
            cluster.nodes().len() == 3 && cluster.urls().len() == 3,
            "3 nodes, 3 urls",
        );
        for url in cluster.urls() {
            c.check(
                url.starts_with("redis://127.0.0.1:"),
                format!("loopback url {url}"),
            );
            ports.insert(url);
        }
    }
    c.check(ports.len() == 6, "distinct ports across clusters");

    // Dropping a cluster kills its nodes and removes their directories.
    let mut dirs = Vec::new();
    let mut node_ports = Vec::new();
    for cluster in &clusters {
        for node in cluster.nodes() {
            dirs.push(node.dir().to_owned());
            node_ports.push(node.port().unwrap());
        }
    }
    drop(clusters);
    std::thread::sleep(Duration::from_millis(200));
    let still_listening: Vec<u16> = node_ports
        .iter()
        .copied()
        .filter(|p| std::net::TcpStream::connect(("127.0.0.1", *p)).is_ok())
        .collect();
    c.check(
        still_listening.is_empty(),
        format!("no node listens after drop: {still_listening:?}"),
    );
    let left: Vec<_> = dirs.iter().filter(|d| d.exists()).collect();
    c.check(
        left.is_empty(),
        format!("node directories removed after drop: {left:?}"),
    );

    // TestCertificates: the directory lives as long as the last clone.
    let certs = TestCertificates::generate().unwrap();
    let dir = certs.dir().to_owned();
    for f in [
        certs.ca_file(),
        certs.server_cert_file(),
        certs.server_key_file(),
        certs.client_cert_file(),
        certs.client_key_file(),
    ] {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        c.check(
            text.starts_with("-----BEGIN"),
            format!("{} is PEM", f.display()),
        );
    }
    let clone = certs.clone();
    drop(certs);
    c.check(clone.ca_file().exists(), "files stay while a clone lives");
    drop(clone);
    c.check(
        !dir.exists(),
        "the directory is removed with the last clone",
    );
    c.finish();
}

// ---------------------------------------------------------------------------
// The CLI on a cluster: acl --apply and doctor

fn cli_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("redis-runtime");
    assert!(
        bin.exists(),
        "build the CLI first: cargo build -p redis-runtime-cli ({})",
        bin.display()
    );
    bin
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    took: Duration,
}

fn run_cli(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = std::process::Command::new(cli_binary());
    cmd.args(args)
        .env_remove("REDIS_URL")
        .env_remove("REDIS_CLUSTER_NODES")
        .env_remove("REDIS_NAMESPACE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let start = Instant::now();
    let out = cmd.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        took: start.elapsed(),
    }
}

/// `ACL GETUSER` of every node, with the words of each rule sorted (Redis
/// lists command rules in its own per-process dict order).
async fn getuser_everywhere(cluster: &RedisCluster, user: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for node in cluster.nodes() {
        let mut con = node_conn(node).await;
        let v: redis::Value = raw!(&mut con, "ACL", "GETUSER", user);
        let mut flat = Vec::new();
        fn walk(v: &redis::Value, out: &mut Vec<String>) {
            match v {
                redis::Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
                redis::Value::Map(items) => items.iter().for_each(|(k, v)| {
                    walk(k, out);
                    walk(v, out)
                }),
                redis::Value::BulkString(b) => {
                    let mut words: Vec<String> = String::from_utf8_lossy(b)
                        .split(' ')
                        .map(str::to_owned)
                        .collect();
                    words.sort();
                    out.push(words.join(" "));
                }
                redis::Value::Nil => out.push("<nil>".into()),
                other => out.push(format!("{other:?}")),
            }
        }
        walk(&v, &mut flat);
        out.push(flat);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acl_apply_and_doctor_on_a_cluster() {
    let mut c = Checks::new("cli_cluster");
    let cluster = RedisCluster::builder().replicas(1).start().unwrap();
    let dir = std::path::PathBuf::from(format!("/tmp/outside-review-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let manifest = dir.join("manifest.json");
    let ns = Config::builder()
        .namespace("rv")
        .build()
        .unwrap()
        .namespace()
        .to_owned();
    std::fs::write(&manifest, TEST_MODELS.manifest(&ns).to_json()).unwrap();
    let manifest = manifest.to_str().unwrap().to_owned();
    let nodes_env = cluster.urls().join(",");
    let pw = "PWcliSECRET";

    // acl --apply: every node, replicas too; idempotent; no password shown.
    let env = [("REDIS_CLUSTER_NODES", nodes_env.as_str()), ("APP_PW", pw)];
    let first = run_cli(
        &[
            "acl",
            "--manifest",
            &manifest,
            "--user",
            "app",
            "--apply",
            "--password-env",
            "APP_PW",
        ],
        &env,
    );
    c.note(format!(
        "acl --apply: exit {} stdout {:?} stderr {:?}",
        first.code, first.stdout, first.stderr
    ));
    c.check(
        first.code == 0,
        format!("acl --apply exits 0 ({})", first.code),
    );
    c.check(
        !first.stdout.contains(pw) && !first.stderr.contains(pw),
        "acl --apply never prints the password",
    );
    let after_first = getuser_everywhere(&cluster, "app").await;
    c.check(
        after_first.iter().all(|v| v.len() > 1),
        "the user exists on all 6 nodes (replicas too)",
    );
    let second = run_cli(
        &[
            "acl",
            "--manifest",
            &manifest,
            "--user",
            "app",
            "--apply",
            "--password-env",
            "APP_PW",
        ],
        &env,
    );
    let after_second = getuser_everywhere(&cluster, "app").await;
    c.check(
        second.code == 0 && after_first == after_second,
        format!(
            "acl --apply is idempotent (exit {}, same ACL GETUSER on every node)",
            second.code
        ),
    );
    let same = after_first.windows(2).all(|w| w[0] == w[1]);
    if !same {
        for (i, v) in after_first.iter().enumerate() {
            c.note(format!("ACL GETUSER app on node {i}: {v:?}"));
        }
    }
    c.check(same, "every node holds the same user");
    // Drift on one node is reset by the next apply.
    {
        let mut con = node_conn(&cluster.nodes()[4]).await;
        let () = raw!(&mut con, "ACL", "SETUSER", "app", "~*", "+@all");
    }
    let third = run_cli(
        &[
            "acl",
            "--manifest",
            &manifest,
            "--user",
            "app",
            "--apply",
            "--password-env",
            "APP_PW",
        ],
        &env,
    );
    let after_third = getuser_everywhere(&cluster, "app").await;
    c.check(
        third.code == 0 && after_third == after_first,
        "a drifted node is reset to the rule",
    );
    // The password variable unset: exit 2, nothing changed.
    let run = run_cli(
        &[
            "acl",
            "--manifest",
            &manifest,
            "--user",
            "app",
            "--apply",
            "--password-env",
            "NO_SUCH_VAR_REVIEW",
        ],
        &[("REDIS_CLUSTER_NODES", nodes_env.as_str())],
    );
    c.check(
        run.code == 2,
        format!(
            "an unset --password-env exits 2 ({}): {}",
            run.code,
            run.stderr.trim()
        ),
    );

    // The store works as that user on every node.
    let app_nodes: Vec<String> = cluster
        .urls()
        .iter()
        .map(|u| with_creds(u, "app", pw))
        .collect();
    let store = Store::connect(
        &Config::builder()
            .cluster_nodes(app_nodes.clone())
            .namespace("rv")
            .build()
            .unwrap(),
    )
    .await
    .unwrap();
    let users: Vec<User> = (0..90)
        .map(|i| User::sample(&format!("d{}", i % 30), i))
        .collect();
    store.save_many(&users).await.unwrap();
    let sessions: Vec<Session> = (0..20).map(|i| session(&format!("d{i}"), i)).collect();
    store.save_many(&sessions).await.unwrap();
    // Unknown keys in the namespace on every primary.
    let mut admin = cluster.raw_connection().await.unwrap();
    for i in 0..30 {
        let () = raw!(&mut admin, "SET", format!("rv:stray:{{d{i}}}"), "x");
    }

    // doctor --format json, as the admin.
    let admin_env = [("REDIS_CLUSTER_NODES", nodes_env.as_str())];
    let run = run_cli(
        &["doctor", "--manifest", &manifest, "--format", "json"],
        &admin_env,
    );
    c.note(format!(
        "doctor (admin) exit {} in {:?}; stderr {:?}",
        run.code, run.took, run.stderr
    ));
    let json: Option<serde_json::Value> = serde_json::from_str(&run.stdout).ok();
    c.check(
        json.is_some(),
        format!(
            "doctor --format json prints JSON (exit {}): {}",
            run.code,
            run.stdout.chars().take(400).collect::<String>()
        ),
    );
    c.check(
        run.code == 0 || run.code == 1,
        format!("doctor (admin) did its job: exit {}", run.code),
    );
    std::fs::write(dir.join("doctor-admin.json"), &run.stdout).unwrap();
    let text = run.stdout.clone();
    let ports: Vec<String> = cluster
        .urls()
        .iter()
        .map(|u| u.rsplit(':').next().unwrap().to_owned())
        .collect();
    let mentioned = ports.iter().filter(|p| text.contains(p.as_str())).count();
    c.check(
        mentioned == 6,
        format!("doctor's JSON covers every node (mentions {mentioned} of 6 ports)"),
    );
    if let Some(json) = &json {
        let flat = json.to_string();
        c.check(flat.contains("stray"), "doctor's sample finds unknown keys");
        // 90 users + 20 sessions + 30 unknown keys: the sample should see all 140
        // (bounded at 10 000) if it really covers every primary and only primaries.
        c.note(format!(
            "doctor admin JSON: {}",
            flat.chars().take(3000).collect::<String>()
        ));
    }

    // doctor as the app user (no ACL DRYRUN): a finding, not clean; never exit 0.
    let app_env_value = app_nodes.join(",");
    let run = run_cli(
        &["doctor", "--manifest", &manifest, "--format", "json"],
        &[("REDIS_CLUSTER_NODES", app_env_value.as_str())],
    );
    c.note(format!(
        "doctor (app) exit {}; stderr {:?}; out {}",
        run.code,
        run.stderr,
        run.stdout.chars().take(1500).collect::<String>()
    ));
    c.check(
        run.code == 1,
        format!(
            "doctor as a user without ACL DRYRUN exits 1 (unchecked writes are a finding): {}",
            run.code
        ),
    );
    c.check(
        !run.stdout.contains(pw) && !run.stderr.contains(pw),
        "doctor never prints the password",
    );

    // A family the user may touch on some nodes only: a warning. The user
    // "ops" may run everything (ACL DRYRUN included) on the manifest's keys,
    // except that on node 1 it lacks the Session pattern.
    let rule = TEST_MODELS.manifest(&ns).acl_rule().setuser_args();
    let patterns: Vec<String> = rule
        .iter()
        .filter(|w| w.starts_with('~'))
        .cloned()
        .collect();
    c.note(format!("key patterns of the rule: {patterns:?}"));
    let mut full = vec!["+@all".to_owned()];
    full.extend(patterns.iter().cloned());
    setuser_everywhere(&cluster, "ops", "PWops", &full).await;
    let ops_env_value = cluster
        .urls()
        .iter()
        .map(|u| with_creds(u, "ops", "PWops"))
        .collect::<Vec<_>>()
        .join(",");
    let ops_env = [("REDIS_CLUSTER_NODES", ops_env_value.as_str())];
    let clean = run_cli(
        &["doctor", "--manifest", &manifest, "--format", "json"],
        &ops_env,
    );
    std::fs::write(dir.join("doctor-ops-full.json"), &clean.stdout).unwrap();
    {
        let mut con = node_conn(&cluster.nodes()[1]).await;
        let mut cmd = redis::cmd("ACL");
        cmd.arg("SETUSER").arg("ops").arg("resetkeys");
        for p in patterns.iter().filter(|p| !p.contains("session")) {
            cmd.arg(p);
        }
        let () = cmd.query_async(&mut con).await.unwrap();
    }
    let partial = run_cli(
        &["doctor", "--manifest", &manifest, "--format", "json"],
        &ops_env,
    );
    std::fs::write(dir.join("doctor-ops-partial.json"), &partial.stdout).unwrap();
    c.note(format!(
        "doctor as ops: full access exit {}, Session missing on node 1 exit {}; stderr {:?}",
        clean.code, partial.code, partial.stderr
    ));
    c.check(
        partial.code == 1,
        format!(
            "doctor exits 1 when a family is allowed on some nodes only ({})",
            partial.code
        ),
    );
    c.check(
        clean.stdout != partial.stdout,
        "doctor's JSON differs when a family is allowed on some nodes only",
    );
    let node1_port = cluster.nodes()[1].port().unwrap().to_string();
    c.note(format!(
        "partial JSON mentions node 1's port: {}",
        partial.stdout.contains(&node1_port)
    ));

    // A node down: doctor either reports it or exits 2, within its time bound.
    drop(store);
    let mut cluster = cluster;
    cluster.node_mut(5).stop();
    let run = run_cli(
        &["doctor", "--manifest", &manifest, "--format", "json"],
        &admin_env,
    );
    std::fs::write(dir.join("doctor-node-down.json"), &run.stdout).unwrap();
    let node5 = cluster.nodes()[5].port().unwrap().to_string();
    c.note(format!(
        "doctor with node 5 down: exit {} in {:?}; stderr {:?}",
        run.code,
        run.took,
        run.stderr.trim()
    ));
    c.check(
        run.code == 2 || run.stdout.contains(&node5) || run.stderr.contains(&node5),
        format!(
            "doctor with a node down names it or exits 2 (exit {}, mentions port {node5}: {})",
            run.code,
            run.stdout.contains(&node5)
        ),
    );
    c.check(
        run.code != 0,
        format!("doctor with a node down is not clean ({})", run.code),
    );
    c.check(
        run.took < Duration::from_secs(30),
        format!("doctor with a node down returns ({:?})", run.took),
    );
    // acl --apply with a node down: could not do its whole job.
    let run = run_cli(
        &[
            "acl",
            "--manifest",
            &manifest,
            "--user",
            "app",
            "--apply",
            "--password-env",
            "APP_PW",
        ],
        &env,
    );
    c.note(format!(
        "acl --apply with node 5 down: exit {}; stdout {:?} stderr {:?}",
        run.code, run.stdout, run.stderr
    ));
    c.check(
        run.code != 0,
        format!(
            "acl --apply with a node down does not report success ({})",
            run.code
        ),
    );
    c.note(format!("doctor outputs kept in {}", dir.display()));
    c.finish();
}

/// A healthy cluster with replicas and persistence: nothing to report.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_is_clean_on_a_healthy_persistent_cluster_with_replicas() {
    let mut c = Checks::new("doctor_clean");
    let cluster = RedisCluster::builder()
        .replicas(1)
        .appendonly(true)
        .start()
        .unwrap();
    let dir = std::path::PathBuf::from(format!("/tmp/outside-review-clean-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ns = Config::builder()
        .namespace("rv")
        .build()
        .unwrap()
        .namespace()
        .to_owned();
    let manifest = dir.join("manifest.json");
    std::fs::write(&manifest, TEST_MODELS.manifest(&ns).to_json()).unwrap();
    let store = Store::connect(&cluster.config_builder().namespace("rv").build().unwrap())
        .await
        .unwrap();
    let users: Vec<User> = (0..40).map(|i| User::sample(&format!("c{i}"), i)).collect();
    store.save_many(&users).await.unwrap();
    let nodes_env = cluster.urls().join(",");
    let run = run_cli(
        &[
            "doctor",
            "--manifest",
            manifest.to_str().unwrap(),
            "--format",
            "json",
        ],
        &[("REDIS_CLUSTER_NODES", nodes_env.as_str())],
    );
    std::fs::write(dir.join("doctor.json"), &run.stdout).unwrap();
    let warnings = serde_json::from_str::<serde_json::Value>(&run.stdout)
        .ok()
        .and_then(|j| j.get("warnings").cloned());
    c.note(format!(
        "exit {}; warnings {warnings:?}; stderr {:?}",
        run.code, run.stderr
    ));
    c.check(run.code == 0, format!("doctor exits 0 on a healthy cluster with replicas and AOF (exit {}; warnings {warnings:?})", run.code));
    let text = run_cli(
        &["doctor", "--manifest", manifest.to_str().unwrap()],
        &[("REDIS_CLUSTER_NODES", nodes_env.as_str())],
    );
    c.check(
        text.code == run.code,
        "text and json agree on the exit code",
    );
    c.finish();
}

/// Reads (get, get_many, exists, get_field) of a family whose slot is being
/// migrated: ASK must be followed (ASKING + the read at the importing node),
/// never surfaced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_follow_ask_while_a_slot_migrates() {
    let mut c = Checks::new("migration_reads");
    let cluster = RedisCluster::start().unwrap();
    let store = Store::connect(
        &cluster
            .config_builder()
            .namespace("rv")
            .connect_timeout(CONNECT)
            .response_timeout(RESPONSE)
            .build()
            .unwrap(),
    )
    .await
    .unwrap();
    let family = "reads";
    let users: Vec<User> = (0..600).map(|i| User::sample(family, i)).collect();
    store.save_many(&users).await.unwrap();
    for i in 0..20 {
        store.save(&User::sample("other", i)).await.unwrap();
    }
    let mut admin = cluster.raw_connection().await.unwrap();
    let slot = keyslot(
        &mut admin,
        store.key::<User>(&uid(family, 0)).unwrap().as_bytes(),
    )
    .await;
    let (a_index, a_id) = owner_of(&cluster, slot).await;
    let b_index = (a_index + 1) % 3;
    let b_id = {
        let mut con = node_conn(&cluster.nodes()[0]).await;
        let port = cluster.nodes()[b_index].port().unwrap();
        cluster_nodes(&mut con)
            .await
            .into_iter()
            .find(|n| n.1 == port)
            .unwrap()
            .0
    };
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for w in 0..3u64 {
        let store = store.clone();
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let mut errors = Vec::new();
            let mut wrong = 0u64;
            let mut calls = 0u64;
            let mut n = w;
            while !stop.load(Ordering::Relaxed) {
                n = (n + 37) % 600;
                calls += 4;
                let ask: Vec<UserId> = vec![
                    uid(family, n),
                    uid("other", n % 20),
                    uid(family, (n + 1) % 600),
                    uid(family, 10_000 + n),
                ];
                let t = Instant::now();
                match store.get_many::<User>(&ask).await {
                    Ok(got) => {
                        let ok = got.len() == 4
                            && got[0].as_ref().is_some_and(|u| u.id == n)
                            && got[1].as_ref().is_some_and(|u| u.id == n % 20)
                            && got[2].as_ref().is_some_and(|u| u.id == (n + 1) % 600)
                            && got[3].is_none();
                        if !ok {
                            wrong += 1;
                        }
                    }
                    Err(e) => errors.push(format!(
                        "get_many after {:?}: {}",
                        t.elapsed(),
                        describe(&e)
                    )),
                }
                let t = Instant::now();
                match store.get::<User>(&uid(family, n)).await {
                    Ok(Some(u)) if u.id == n => {}
                    Ok(other) => {
                        wrong += 1;
                        errors.push(format!("get returned {:?}", other.map(|u| u.id)));
                    }
                    Err(e) => errors.push(format!("get after {:?}: {}", t.elapsed(), describe(&e))),
                }
                let t = Instant::now();
                match store.exists::<User>(&uid(family, n)).await {
                    Ok(true) => {}
                    Ok(false) => {
                        wrong += 1;
                        errors.push("exists said false for a stored entity".into());
                    }
                    Err(e) => {
                        errors.push(format!("exists after {:?}: {}", t.elapsed(), describe(&e)))
                    }
                }
                let t = Instant::now();
                match store.get_field(&uid(family, n), User::fields().email).await {
                    Ok(Some(_)) => {}
                    Ok(None) => {
                        wrong += 1;
                        errors.push("get_field said None for a stored entity".into());
                    }
                    Err(e) => errors.push(format!(
                        "get_field after {:?}: {}",
                        t.elapsed(),
                        describe(&e)
                    )),
                }
            }
            (calls, wrong, errors)
        }));
    }
    let (mut src, mut dst) = ((a_index, a_id), (b_index, b_id));
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let t = Instant::now();
        let n = migrate_slot(&cluster, slot, (src.0, &src.1), (dst.0, &dst.1)).await;
        c.note(format!("migrated {n} keys in {:?}", t.elapsed()));
        std::mem::swap(&mut src, &mut dst);
    }
    stop.store(true, Ordering::Relaxed);
    let (mut calls, mut wrong, mut errors) = (0, 0, Vec::new());
    for t in tasks {
        let (c1, w1, e1) = t.await.unwrap();
        calls += c1;
        wrong += w1;
        errors.extend(e1);
    }
    for e in errors.iter().take(8) {
        c.note(format!("read error: {e}"));
    }
    c.check(
        wrong == 0,
        format!("no read answered wrongly during the migrations ({wrong} of {calls})"),
    );
    c.check(
        errors.is_empty(),
        format!(
            "reads follow ASK during a migration: {} of {calls} reads failed",
            errors.len()
        ),
    );
    c.finish();
}

/// RELIABILITY: "an existing store is not held up by" a node that accepts
/// connections but never answers. One primary SIGSTOPped for 1.5 s while the
/// same store reads from the other primaries and increments on the hung one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_primary_does_not_hold_up_the_other_primaries() {
    let mut c = Checks::new("hung_primary");
    let cluster = RedisCluster::start().unwrap();
    let store = Store::connect(
        &cluster
            .config_builder()
            .namespace("rv")
            .connect_timeout(CONNECT)
            .response_timeout(RESPONSE)
            .build()
            .unwrap(),
    )
    .await
    .unwrap();
    let users: Vec<User> = (0..60).map(|i| User::sample(&format!("h{i}"), i)).collect();
    store.save_many(&users).await.unwrap();
    let mut admin = cluster.raw_connection().await.unwrap();
    let mut by_node: BTreeMap<usize, Vec<User>> = BTreeMap::new();
    for u in &users {
        let slot = keyslot(
            &mut admin,
            store.key::<User>(&u.key_id()).unwrap().as_bytes(),
        )
        .await;
        by_node
            .entry(owner_of(&cluster, slot).await.0)
            .or_default()
            .push(u.clone());
    }
    let hung: Vec<User> = by_node[&1].clone();
    let live: Vec<User> = by_node
        .iter()
        .filter(|(n, _)| **n != 1)
        .flat_map(|(_, u)| u.clone())
        .collect();
    let counter = hung[0].key_id();
    let before = store.get::<User>(&counter).await.unwrap().unwrap().logins;

    cluster.nodes()[1].pause().unwrap();
    let paused = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let incr_task = {
        let store = store.clone();
        let stop = stop.clone();
        let counter = counter.clone();
        tokio::spawn(async move {
            let (mut acked, mut unknown, mut worst) = (0i64, 0i64, Duration::ZERO);
            let mut kinds = BTreeSet::new();
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                match store.incr(&counter, User::fields().logins, 1).await {
                    Ok(_) => acked += 1,
                    Err(e) => {
                        if e.outcome() == Outcome::Unknown {
                            unknown += 1;
                        }
                        kinds.insert(describe(&e).split(':').next().unwrap().to_owned());
                    }
                }
                worst = worst.max(t.elapsed());
            }
            (acked, unknown, worst, kinds)
        })
    };
    let mut live_latencies = Vec::new();
    let mut live_errors = Vec::new();
    let mut i = 0;
    while paused.elapsed() < Duration::from_millis(1500) {
        let u = &live[i % live.len()];
        i += 1;
        let t = Instant::now();
        let r = store.get::<User>(&u.key_id()).await;
        let took = t.elapsed();
        live_latencies.push(took);
        if let Err(e) = r {
            live_errors.push(format!(
                "at {:?} after {took:?}: {}",
                paused.elapsed(),
                describe(&e)
            ));
        }
    }
    cluster.nodes()[1].resume().unwrap();
    stop.store(true, Ordering::Relaxed);
    let (acked, unknown, worst_hung, kinds) = incr_task.await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ran = store.get::<User>(&counter).await.unwrap().unwrap().logins - before;
    live_latencies.sort();
    let worst_live = live_latencies.last().copied().unwrap_or_default();
    let slow = live_latencies
        .iter()
        .filter(|d| **d > Duration::from_millis(250))
        .count();
    for e in live_errors.iter().take(5) {
        c.note(format!("live read error: {e}"));
    }
    c.note(format!("{} live reads, {slow} slower than 250 ms, worst {worst_live:?}; incr on hung: acked {acked} unknown {unknown} ran {ran} worst {worst_hung:?} kinds {kinds:?}", live_latencies.len()));
    c.check(
        live_errors.is_empty(),
        format!(
            "no read on a live primary fails while another primary hangs ({} failed)",
            live_errors.len()
        ),
    );
    c.check(slow == 0, format!("no read on a live primary is held up (> 250 ms) by the hung one ({slow}, worst {worst_live:?})"));
    c.check(
        worst_hung <= BOUND,
        format!("calls to the hung primary return within the bound ({worst_hung:?})"),
    );
    c.check(
        acked <= ran && ran <= acked + unknown,
        format!("increments ran at most once: ran {ran} in [acked {acked}, +unknown {unknown}]"),
    );
    c.finish();
}

/// After a graceful failover (the README: failovers are followed; `count`
/// and `scan_ids` cover every primary), the same store keeps counting
/// exactly, and keeps reading and writing every family.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn count_keeps_working_after_a_graceful_failover() {
    let mut c = Checks::new("failover_count");
    let mut cluster = RedisCluster::builder().replicas(1).start().unwrap();
    let store = Store::connect(
        &cluster
            .config_builder()
            .namespace("rv")
            .connect_timeout(CONNECT)
            .response_timeout(RESPONSE)
            .build()
            .unwrap(),
    )
    .await
    .unwrap();
    let users: Vec<User> = (0..90u64)
        .map(|i| User::sample(&format!("f{}", i % 30), i))
        .collect();
    store.save_many(&users).await.unwrap();
    let ids: Vec<UserId> = users.iter().map(User::key_id).collect();
    c.check(
        store.count::<User>().await.is_ok_and(|n| n == 90),
        "count before the failover",
    );
    // Fail over one primary: its replica takes over gracefully.
    let mut replica = None;
    for (i, node) in cluster.nodes().iter().enumerate() {
        let mut con = node_conn(node).await;
        let repl: String = raw!(&mut con, "INFO", "replication");
        if repl.contains("role:slave") {
            replica = Some(i);
            break;
        }
    }
    let replica = replica.unwrap();
    {
        let mut con = node_conn(&cluster.nodes()[replica]).await;
        let () = raw!(&mut con, "CLUSTER", "FAILOVER");
    }
    let r = cluster.wait_ready(Duration::from_secs(10));
    c.check(r.is_ok(), "the cluster is healthy after the failover");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let start = Instant::now();
    let mut history = Vec::new();
    let mut first_ok = None;
    while start.elapsed() < Duration::from_secs(6) {
        let t = Instant::now();
        let count = store.count::<User>().await;
        let get = store.get_many::<User>(&ids).await;
        let save = store.save_many(&users).await;
        let ok = matches!(count, Ok(90))
            && get.as_ref().is_ok_and(|g| g.iter().all(Option::is_some))
            && save.is_ok();
        history.push(format!(
            "{:?} (+{:?}): count {:?} get_many {:?} save_many {:?}",
            start.elapsed(),
            t.elapsed(),
            count
                .as_ref()
                .map_err(|e| describe(e).chars().take(160).collect::<String>()),
            get.as_ref()
                .map(|g| g.iter().flatten().count())
                .map_err(|e| describe(e).chars().take(100).collect::<String>()),
            save.as_ref()
                .map_err(|e| describe(e).chars().take(100).collect::<String>()),
        ));
        if ok {
            first_ok = Some(start.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for h in history.iter().take(6) {
        c.note(h);
    }
    c.check(history.len() == 1 && first_ok.is_some(), format!("the first count/get_many/save_many after a settled graceful failover succeed ({} attempts, first ok at {first_ok:?})", history.len()));
    c.check(first_ok.is_some(), format!("the same store counts again within 6 s of a graceful failover (first ok at {first_ok:?})"));
    c.finish();
}
