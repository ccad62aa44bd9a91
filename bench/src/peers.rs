//! The peer crates a Rust user might pick instead, doing the work they can do.
//!
//! - `redis-om` 0.1 (`HashModel`): `save` is a plain `HSET` (stale fields stay,
//!   no TTL, not atomic with anything), `get` is `HGETALL` decoded through a
//!   `HashMap`, `delete` is `DEL`. It is built on redis-rs 0.22, so it runs on
//!   its own 0.22 `ConnectionManager` to the same server. Its `JsonModel` needs
//!   the RedisJSON module (`JSON.SET`/`JSON.GET`), which this server lacks.
//! - `redis-macros` 1.0 (`FromRedisValue`/`ToRedisArgs` through serde JSON):
//!   values only, so keys, TTLs and batching are hand-written around it; it
//!   stores the same bytes as the framework's JSON model.

use redis::aio::ConnectionLike;
use redis::{AsyncCommands, SetExpiry, SetOptions};
use redis_om::HashModel;

use crate::BenchError;
use crate::models::{OmUser, USER_TTL_MS, UserMacros};

/// redis-rs 0.22, the version `redis-om` is built on.
pub use redis_om_redis as redis022;

/// A redis-rs 0.22 connection manager for `redis-om`.
pub type OmConnection = redis022::aio::ConnectionManager;

/// Connects `redis-om`'s redis-rs 0.22 connection manager.
pub async fn om_connect(url: &str) -> Result<OmConnection, BenchError> {
    let client = redis022::Client::open(url)?;
    Ok(redis022::aio::ConnectionManager::new(client).await?)
}

/// The key `redis-om` stores fixture `n` under.
pub fn om_key(n: u64) -> String {
    format!("OmUser:{n}")
}

/// `redis-om` save (`HSET`).
pub async fn om_save(con: &mut OmConnection, user: &mut OmUser) -> Result<(), BenchError> {
    Ok(user.save(con).await?)
}

/// `redis-om` JSON model save (`JSON.SET`, which needs the RedisJSON module).
pub async fn om_json_save(con: &mut OmConnection, n: u64) -> Result<(), BenchError> {
    use redis_om::JsonModel;
    let (name, email) = (format!("User {n}"), format!("user{n}@example.com"));
    let mut user = crate::models::OmUserJson {
        id: n.to_string(),
        name,
        email,
        age: 20,
        score: 0.5,
        active: true,
        created: 1_700_000_000_000,
        tags: vec!["rust".into()],
    };
    Ok(user.save(con).await?)
}

/// `redis-om` get (`HGETALL`).
pub async fn om_get(con: &mut OmConnection, n: u64) -> Result<OmUser, BenchError> {
    Ok(OmUser::get(n.to_string(), con).await?)
}

/// `redis-om` delete (`DEL`).
pub async fn om_delete(con: &mut OmConnection, n: u64) -> Result<(), BenchError> {
    Ok(OmUser::delete(n.to_string(), con).await?)
}

/// The key the `redis-macros` variant stores fixture `n` under (the framework's JSON key shape).
pub fn macros_key(n: u64) -> String {
    format!("bench:userx:{n}")
}

fn with_ttl() -> SetOptions {
    SetOptions::default().with_expiration(SetExpiry::PX(USER_TTL_MS))
}

/// `redis-macros` save: `SET k <json> PX ms`.
pub async fn macros_save(
    con: &mut (impl ConnectionLike + Send + Sync),
    user: &UserMacros,
) -> Result<(), BenchError> {
    let key = macros_key(user.id);
    con.set_options::<_, _, ()>(&key, user, with_ttl()).await?;
    Ok(())
}

/// `redis-macros` get: `GET`, decoded by its `FromRedisValue`.
pub async fn macros_get(
    con: &mut (impl ConnectionLike + Send + Sync),
    n: u64,
) -> Result<Option<UserMacros>, BenchError> {
    Ok(con.get(macros_key(n)).await?)
}

/// Delete for the `redis-macros` variant: `DEL`.
pub async fn macros_delete(
    con: &mut (impl ConnectionLike + Send + Sync),
    n: u64,
) -> Result<bool, BenchError> {
    Ok(con.del(macros_key(n)).await?)
}

/// `redis-macros` batch save: one `MULTI .. EXEC` of `SET .. PX`.
pub async fn macros_save_many(
    con: &mut (impl ConnectionLike + Send + Sync),
    users: &[UserMacros],
) -> Result<(), BenchError> {
    let mut pipe = redis::pipe();
    pipe.atomic();
    for user in users {
        pipe.set_options(macros_key(user.id), user, with_ttl())
            .ignore();
    }
    pipe.query_async::<()>(con).await?;
    Ok(())
}

/// `redis-macros` batch get: one `MGET`.
pub async fn macros_get_many(
    con: &mut (impl ConnectionLike + Send + Sync),
    ns: &[u64],
) -> Result<Vec<Option<UserMacros>>, BenchError> {
    let keys: Vec<String> = ns.iter().map(|&n| macros_key(n)).collect();
    Ok(redis::cmd("MGET").arg(&keys).query_async(con).await?)
}

/// Batch delete for the `redis-macros` variant: one `DEL`.
pub async fn macros_delete_many(
    con: &mut (impl ConnectionLike + Send + Sync),
    ns: &[u64],
) -> Result<u64, BenchError> {
    let keys: Vec<String> = ns.iter().map(|&n| macros_key(n)).collect();
    Ok(redis::cmd("DEL").arg(&keys).query_async(con).await?)
}
