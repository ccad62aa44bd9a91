//! Server-side helpers of the tests: creating the ACL user and reading the
//! server's counters. They talk to Redis directly on purpose (the raw-access
//! audit allows this file by path, see `.redis-audit-allow`).

use redis_runtime::Store;
use redis_runtime::testing::RedisServer;

use super::TEST_MODELS;

/// The password of the restricted `app` user the tests' stores connect as.
pub const APP_PASSWORD: &str = "app-secret";

/// Starts a private server and connects a store with a namespace, as a user
/// created from the ACL rule the keyspace generates: so every integration test
/// also proves that the rule allows everything the runtime does.
pub async fn start(namespace: &str) -> (RedisServer, Store) {
    let server = RedisServer::start().unwrap();
    let store = connect_as_app(&server, namespace).await;
    (server, store)
}

/// Creates (or resets) the `app` user for `namespace` and connects a store as it.
pub async fn connect_as_app(server: &RedisServer, namespace: &str) -> Store {
    let config = server
        .config_builder()
        .namespace(namespace)
        .build()
        .unwrap();
    let rule = TEST_MODELS.manifest(config.namespace()).acl_rule();
    let mut admin = server.raw_connection().await.unwrap();
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
    let _: () = setuser.query_async(&mut admin).await.unwrap();
    let config = server
        .config_builder()
        .url(format!("{}?user=app&pass={APP_PASSWORD}", server.url()))
        .namespace(namespace)
        .build()
        .unwrap();
    Store::connect(&config).await.unwrap()
}

/// `INFO commandstats` as (command, calls) pairs.
pub async fn command_calls(
    con: &mut redis::aio::MultiplexedConnection,
) -> std::collections::BTreeMap<String, u64> {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(con)
        .await
        .unwrap();
    info.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("cmdstat_")?;
            let (name, stats) = rest.split_once(':')?;
            let calls = stats.split(',').find_map(|kv| kv.strip_prefix("calls="))?;
            Some((name.to_owned(), calls.parse().ok()?))
        })
        .collect()
}

/// A field of `INFO stats`.
pub async fn stat(con: &mut redis::aio::MultiplexedConnection, field: &str) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("stats")
        .query_async(con)
        .await
        .unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:"))?.trim().parse().ok())
        .unwrap()
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
