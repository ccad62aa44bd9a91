//! Server-side helpers of the tests: creating the ACL user and reading the
//! server's counters. They talk to Redis directly on purpose (the raw-access
//! audit allows this file by path, see `.redis-audit-allow`).

use redis::aio::ConnectionLike;
use redis_runtime::Store;

use super::{TEST_MODELS, TestRedis};

/// The password of the restricted `app` user the tests' stores connect as.
pub const APP_PASSWORD: &str = "app-secret";

/// Starts a private server or cluster (the test's topology, see
/// `on_both!`) and connects a store with a namespace, as a user created from
/// the ACL rule the keyspace generates: so every integration test also
/// proves that the rule allows everything the runtime does.
pub async fn start(namespace: &str) -> (TestRedis, Store) {
    let redis = TestRedis::start();
    let store = connect_as_app(&redis, namespace).await;
    (redis, store)
}

/// Creates (or resets) the `app` user for `namespace` on every node and
/// connects a store as it.
pub async fn connect_as_app(redis: &TestRedis, namespace: &str) -> Store {
    connect_as_app_of(redis, namespace, &TEST_MODELS).await
}

/// Creates (or resets) the `app` user with the ACL rule of `keyspace` under
/// `namespace` on every node and connects a store as it.
pub async fn connect_as_app_of(
    redis: &TestRedis,
    namespace: &str,
    keyspace: &redis_runtime::Keyspace,
) -> Store {
    let config = redis.config_builder().namespace(namespace).build().unwrap();
    let rule = keyspace.manifest(config.namespace()).acl_rule();
    for mut node in redis.node_connections().await {
        let mut setuser = redis::cmd("ACL");
        setuser
            .arg("SETUSER")
            .arg("app")
            .arg("reset")
            .arg("on")
            .arg(format!(">{APP_PASSWORD}"));
        for arg in rule.setuser_args() {
            setuser.arg(arg);
        }
        let _: () = setuser.query_async(&mut node).await.unwrap();
    }
    let config = redis
        .config_builder_as("app", APP_PASSWORD)
        .namespace(namespace)
        .build()
        .unwrap();
    Store::connect(&config).await.unwrap()
}

/// The text of `INFO <section>` of every node: one on a server; every
/// primary's, as a cluster connection routes `INFO`.
async fn info(con: &mut impl ConnectionLike, section: &str) -> Vec<String> {
    let reply: redis::Value = redis::cmd("INFO")
        .arg(section)
        .query_async(con)
        .await
        .unwrap();
    match reply {
        redis::Value::Map(nodes) => nodes
            .into_iter()
            .map(|(_, text)| redis::from_redis_value(text).unwrap())
            .collect(),
        text => vec![redis::from_redis_value(text).unwrap()],
    }
}

/// `INFO commandstats` as (command, calls) pairs, summed over the nodes.
pub async fn command_calls(
    con: &mut impl ConnectionLike,
) -> std::collections::BTreeMap<String, u64> {
    let mut calls = std::collections::BTreeMap::new();
    for text in info(con, "commandstats").await {
        for line in text.lines() {
            let parsed = (|| {
                let rest = line.strip_prefix("cmdstat_")?;
                let (name, stats) = rest.split_once(':')?;
                let count = stats.split(',').find_map(|kv| kv.strip_prefix("calls="))?;
                Some((name.to_owned(), count.parse::<u64>().ok()?))
            })();
            if let Some((name, count)) = parsed {
                *calls.entry(name).or_insert(0) += count;
            }
        }
    }
    calls
}

/// A field of `INFO stats`, summed over the nodes.
pub async fn stat(con: &mut impl ConnectionLike, field: &str) -> u64 {
    info(con, "stats")
        .await
        .iter()
        .map(|text| {
            text.lines()
                .find_map(|l| {
                    l.strip_prefix(&format!("{field}:"))?
                        .trim()
                        .parse::<u64>()
                        .ok()
                })
                .unwrap()
        })
        .sum()
}

/// One raw command on an admin connection, its reply decoded as the caller
/// asks: `let _: () = raw!(&mut con, "HSET", &key, "f", "v");`. For seeding
/// data the framework would refuse to write and for looking at what it
/// stored. Panics with the command's name when the server refuses it.
macro_rules! raw {
    ($con:expr, $name:literal $(, $arg:expr)* $(,)?) => {{
        #[allow(unused_mut)]
        let mut cmd = redis::cmd($name);
        $(cmd.arg($arg);)*
        cmd.query_async($con)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", $name))
    }};
}
pub(crate) use raw;
