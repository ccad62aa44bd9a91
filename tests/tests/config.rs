//! `Config` keeps passwords out of everything it shows, wherever in the URL
//! they are and whatever they contain, and reports every problem at once.

use proptest::prelude::*;
use redis_runtime::Config;

/// The URL shapes a credential can take, `{}` standing for it (raw, or
/// percent-encoded as it should be).
const POSITIONS: &[&str] = &[
    "redis://app:{}@cache.internal:6379/0",
    "redis://:{}@cache.internal:6379",
    "rediss://app:{}@cache.internal:6380/1",
    "redis://{}@cache.internal:6379",
    "redis://cache.internal:6379/0?password={}",
    "redis://cache.internal:6379/0?db=2&password={}&protocol=resp3",
    "redis+unix:///var/run/redis.sock?pass={}",
    "redis+unix:///var/run/redis.sock?db=1&user=app&pass={}",
    "unix:///var/run/redis.sock?pass={}&db=3",
    "redis://app:{}@cache.internal:6379/0?password={}",
];

fn password() -> impl Strategy<Value = String> {
    let special = prop::sample::select(vec![
        '@', ':', '/', '?', '#', '%', '&', '=', ' ', 'é', 'ß', '密', '🔑',
    ]);
    let plain = prop::sample::select(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
            .chars()
            .collect::<Vec<_>>(),
    );
    prop::collection::vec(prop_oneof![special, plain], 4..24)
        .prop_map(|chars| chars.into_iter().collect())
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Every substring of at least four characters of `secret`.
fn substrings(secret: &str) -> Vec<String> {
    let chars: Vec<char> = secret.chars().collect();
    let mut out = Vec::new();
    for start in 0..chars.len() {
        for end in start + 4..=chars.len() {
            out.push(chars[start..end].iter().collect());
        }
    }
    out
}

/// The fixed text of the messages that show a configuration.
const FIXED_TEXT: &[&str] = &[
    "is not a valid Redis URL (expected redis://host:port, rediss://host:port or redis+unix:///path)",
    // The words of the `Debug` and `Display` forms around the URL: a
    // password `uild` is found in `ConfigBuilder`, not leaked.
    "ConfigBuilder { url: Some(\"***\"), cluster_nodes: None, namespace: \"\", .. }",
    "Config { url: \"\", cluster_nodes: \"\", tls: None, namespace: \"\", connect_timeout: 5s, response_timeout: 5s }",
    "cluster (namespace `app`)",
    // The invalid namespace's message (`bad ns`): a password ` of ` is
    // found in its words, not leaked.
    "namespace `bad ns` must be `:`-separated non-empty segments of ASCII letters, digits, `_`, `-` or `.`",
    "invalid Redis configuration: ",
    "Config(\"",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn no_part_of_a_password_survives_anywhere_it_is_shown(
        pw in password(),
        position in prop::sample::select(POSITIONS),
        encoded in any::<bool>(),
        namespace in prop::sample::select(vec!["", "app", "bad ns"]),
    ) {
        // A password that contains text of the URL around it cannot be
        // told apart from that text; such cases say nothing.
        prop_assume!(substrings(&pw).iter().all(|s| !position.contains(s.as_str())));
        // Nor can one that contains the fixed words of a message (`:///` of
        // `redis+unix:///path` in the invalid-URL error).
        prop_assume!(substrings(&pw).iter().all(|s| !FIXED_TEXT.iter().any(|t| t.contains(s.as_str()))));
        // `redis://a:b@host` is user `a` with password `b`: a bare token with
        // an unencoded `:` is a user name and a password, by the URL's rules.
        prop_assume!(encoded || !(position.starts_with("redis://{}") && pw.contains(':')));
        let written = if encoded { percent_encode(&pw) } else { pw.clone() };
        let url = position.replace("{}", &written);
        let builder = Config::builder().url(&url).namespace(namespace);
        let mut shown = vec![format!("{builder:?}")];
        match builder.build() {
            Ok(config) => {
                shown.push(config.to_string());
                shown.push(format!("{config:?}"));
                shown.push(config.redacted_url());
            }
            Err(err) => {
                shown.push(err.to_string());
                shown.push(format!("{err:?}"));
            }
        }
        for text in &shown {
            for secret in [&pw, &written] {
                for part in substrings(secret) {
                    prop_assert!(!text.contains(&part), "`{}` shows `{}` of {:?} in {}", url, part, secret, text);
                }
            }
        }
    }
}

#[test]
fn the_reported_leaks_are_closed() {
    for (url, secret) in [
        ("redis+unix:///path.sock?pass=PW@SECRET", "SECRET"),
        ("redis://host:6379/0?password=PW@SECRET", "SECRET"),
    ] {
        let builder = Config::builder().url(url);
        let mut shown = vec![format!("{builder:?}")];
        match builder.build() {
            Ok(config) => {
                shown.extend([
                    config.to_string(),
                    format!("{config:?}"),
                    config.redacted_url(),
                ]);
            }
            // A TCP URL's query password would be ignored: refused, and redacted.
            Err(err) => shown.extend([err.to_string(), format!("{err:?}")]),
        }
        for text in shown {
            assert!(!text.contains(secret), "{text}");
            assert!(text.contains("***"), "{text}");
        }
    }
}

/// redis-rs reads a TCP URL's password from the user-info only; one in the
/// query would be dropped and the connection made without it.
#[test]
fn a_password_a_tcp_url_would_ignore_is_refused() {
    for url in [
        "redis://127.0.0.1:6379/0?password=hunter2",
        "rediss://cache:6380/0?db=1&pass=hunter2",
    ] {
        let err = Config::builder().url(url).build().unwrap_err().to_string();
        assert!(err.contains("user-info"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }
    assert!(
        Config::builder()
            .url("redis+unix:///tmp/r.sock?pass=hunter2")
            .build()
            .is_ok()
    );
}

#[test]
fn every_environment_problem_is_reported_at_once() {
    let env = |name: &str| {
        Some(match name {
            "REDIS_URL" => "notaurl://u:hunter22@host".to_owned(),
            "REDIS_NAMESPACE" => "bad ns".to_owned(),
            "REDIS_CONNECT_TIMEOUT_MS" => "soon".to_owned(),
            "REDIS_RESPONSE_TIMEOUT_MS" => "later".to_owned(),
            _ => return None,
        })
    };
    let err = Config::from_lookup(env).unwrap_err().to_string();
    for part in [
        "REDIS_CONNECT_TIMEOUT_MS",
        "REDIS_RESPONSE_TIMEOUT_MS",
        "namespace `bad ns`",
        "not a valid Redis URL",
    ] {
        assert!(err.contains(part), "{part:?} missing from {err}");
    }
    assert!(!err.contains("hunter22"), "{err}");
}

#[test]
fn cluster_seeds_are_validated_like_a_url_and_all_problems_reported_at_once() {
    let err = Config::builder()
        .cluster_nodes([
            "redis+unix:///var/run/redis.sock",
            "redis://a:pw1@10.0.0.1:6379/2",
            "rediss://a:pw2@10.0.0.2:6379",
            "not a url",
        ])
        .build()
        .unwrap_err()
        .to_string();
    for expected in [
        "must be a redis:// or rediss:// URL",
        "selects database 2",
        "mix redis:// and rediss://",
        "different user names or passwords",
        "`not a url` must be a redis:// or rediss:// URL",
    ] {
        assert!(err.contains(expected), "missing `{expected}` in: {err}");
    }
    assert!(!err.contains("pw1") && !err.contains("pw2"), "{err}");

    let err = Config::builder()
        .url("redis://127.0.0.1:6379")
        .cluster_nodes(["redis://127.0.0.1:7000"])
        .build()
        .unwrap_err()
        .to_string();
    assert!(err.contains("not both"), "{err}");
    let err = Config::builder()
        .cluster_nodes(Vec::<String>::new())
        .build()
        .unwrap_err()
        .to_string();
    assert!(err.contains("at least one seed"), "{err}");
    let err = Config::from_lookup(|name| match name {
        "REDIS_URL" => Some("redis://127.0.0.1:6379".into()),
        "REDIS_CLUSTER_NODES" => Some("redis://127.0.0.1:7000".into()),
        _ => None,
    })
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("REDIS_URL") && err.contains("REDIS_CLUSTER_NODES"),
        "{err}"
    );
}

#[test]
fn a_cluster_configuration_shows_every_seed_without_its_password() {
    let config = Config::from_lookup(|name| match name {
        "REDIS_CLUSTER_NODES" => {
            Some(" redis://app:hunter2@10.0.0.1:6379 , redis://app:hunter2@10.0.0.2:6379".into())
        }
        "REDIS_NAMESPACE" => Some("shop".into()),
        _ => None,
    })
    .unwrap();
    assert!(config.is_cluster());
    assert_eq!(config.nodes().len(), 2);
    assert_eq!(config.address(), "10.0.0.1:6379,10.0.0.2:6379");
    assert_eq!(
        config.to_string(),
        "cluster redis://app:***@10.0.0.1:6379,redis://app:***@10.0.0.2:6379 (namespace `shop:`)"
    );
    assert!(!format!("{config:?}").contains("hunter2"));
}
