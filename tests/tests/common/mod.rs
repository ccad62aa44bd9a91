//! Models and helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub)]

use redis_runtime::testing::RedisServer;
use redis_runtime::{KeyPart, RedisModel, Store, keyspace};
use serde::{Deserialize, Serialize};

/// A tenant id newtype used as a key part.
#[derive(Debug, Clone, PartialEq, Eq, Hash, KeyPart)]
pub struct TenantId(pub String);

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Prefs {
    pub theme: String,
    pub langs: Vec<String>,
}

/// The example model: two placeholders, a hash tag, a TTL, a JSON field.
#[derive(Debug, Clone, PartialEq, RedisModel)]
#[redis(key = "tenant:{tenant}:user:{id}", hash_tag = "tenant", ttl = "30d")]
pub struct User {
    pub tenant: TenantId,
    pub id: u64,
    pub email: String,
    pub name: Option<String>,
    #[redis(json)]
    pub prefs: Prefs,
    pub logins: i64,
}

impl User {
    pub fn sample(tenant: &str, id: u64) -> User {
        User {
            tenant: TenantId(tenant.into()),
            id,
            email: format!("user{id}@example.com"),
            name: Some(format!("User {id}")),
            prefs: Prefs {
                theme: "dark".into(),
                langs: vec!["en".into(), "fr".into()],
            },
            logins: 0,
        }
    }

    pub fn key_id(&self) -> UserId {
        UserId {
            tenant: self.tenant.clone(),
            id: self.id,
        }
    }
}

/// A JSON-encoded model with a TTL.
#[derive(Debug, Clone, PartialEq, RedisModel, Serialize, Deserialize)]
#[redis(key = "session:{token}", encoding = "json", ttl = "30m")]
pub struct Session {
    pub token: String,
    pub user: u64,
    pub scopes: Vec<String>,
}

/// A MessagePack-encoded model without a TTL.
#[derive(Debug, Clone, PartialEq, RedisModel, Serialize, Deserialize)]
#[redis(key = "event:{stream}:{seq}", encoding = "msgpack")]
pub struct Event {
    pub stream: String,
    pub seq: u64,
    pub kind: String,
    pub payload: Vec<u8>,
}

/// A hash model exercising field attributes, without a TTL.
#[derive(Debug, Clone, PartialEq, RedisModel)]
#[redis(key = "profile:{id}", deny_unknown_fields)]
pub struct Profile {
    pub id: uuid::Uuid,
    #[redis(rename = "display_name")]
    pub name: String,
    #[redis(default)]
    pub visits: u32,
    pub level: u8,
    pub score: f64,
    pub active: bool,
    #[redis(json)]
    pub tags: Option<Vec<String>>,
    #[redis(skip)]
    pub cached: Vec<String>,
}

/// A counter with narrow integer fields.
#[derive(Debug, Clone, PartialEq, RedisModel)]
#[redis(key = "counter:{name}", ttl = "1h")]
pub struct Counter {
    pub name: String,
    pub small: u8,
    pub signed: i16,
    pub big: i64,
}

keyspace! {
    /// Every model of the integration tests.
    pub TEST_MODELS = [User, Session, Event, Profile, Counter];
}

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
