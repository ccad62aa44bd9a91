//! The hand-written redis-rs baseline for models with indexes and unique
//! fields ([`Staff1`], [`Staff3`]):
//! the same atomicity means one Lua script per save that writes the entity
//! and moves its index members and unique claims, and a find that reads the
//! index, then checks the candidates in one script (so an expired entity is
//! never returned). The scripts are the framework's, text for text (the same
//! SHA1), sent with redis-rs's [`redis::Script`]; keys, argument order and
//! number formatting follow the framework's, so both send byte-identical
//! requests (`tests/coordination_counters.rs`).
//!
//! A service writing this by hand for one model could hard-code the field
//! names in its script; the framework's script is one text for every model
//! and takes them as arguments (for `Staff3`: `3 u email e role r joined`,
//! about 60 request bytes per save).

use std::sync::LazyLock;

use redis::aio::ConnectionLike;

use crate::BenchError;
use crate::models::{STAFF_TTL_MS, Staff1, Staff3};

static WRITE: LazyLock<redis::Script> =
    LazyLock::new(|| redis::Script::new(redis_runtime::__private::COORDINATED_WRITE_LUA));
static CHECK: LazyLock<redis::Script> =
    LazyLock::new(|| redis::Script::new(redis_runtime::__private::INDEX_CHECK_LUA));

/// The key of staff `id` of `org` in family `family` (`staff1`, `staff3`).
pub fn staff_key(family: &str, org: u64, id: u64) -> String {
    format!("bench:org:{{{org}}}:{family}:{id}")
}

/// A constraint key of `org`: `literal` is `Staff1.index.role`, ...
pub fn constraint_key(org: u64, literal: &str) -> String {
    format!("bench:org:{{{org}}}:{literal}")
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

/// Saves a `Staff1`: the entity and its `role` index member.
pub async fn save_staff1<C: ConnectionLike>(con: &mut C, s: &Staff1) -> Result<(), BenchError> {
    let mut inv = WRITE.prepare_invoke();
    inv.key(staff_key("staff1", s.org, s.id))
        .key(constraint_key(s.org, "Staff1.index.role"));
    inv.arg("1").arg("e").arg("role");
    inv.arg("").arg("put").arg("").arg("").arg(STAFF_TTL_MS);
    inv.arg("org").arg(s.org).arg("id").arg(s.id);
    inv.arg("email").arg(&s.email).arg("role").arg(&s.role);
    inv.arg("joined").arg(s.joined).arg("name").arg(&s.name);
    let reply: Vec<redis::Value> = inv.invoke_async(con).await?;
    check_ok(&reply)
}

/// Saves a `Staff3`: the entity, its unique `email` claim, its `role` index
/// member and its `joined` range member.
pub async fn save_staff3<C: ConnectionLike>(con: &mut C, s: &Staff3) -> Result<(), BenchError> {
    let mut inv = WRITE.prepare_invoke();
    inv.key(staff_key("staff3", s.org, s.id))
        .key(constraint_key(s.org, "Staff3.unique.email"))
        .key(constraint_key(s.org, "Staff3.index.role"))
        .key(constraint_key(s.org, "Staff3.range.joined"));
    inv.arg("3")
        .arg("u")
        .arg("email")
        .arg("e")
        .arg("role")
        .arg("r")
        .arg("joined");
    inv.arg("").arg("put").arg("").arg("").arg(STAFF_TTL_MS);
    inv.arg("org").arg(s.org).arg("id").arg(s.id);
    inv.arg("email").arg(&s.email).arg("role").arg(&s.role);
    inv.arg("joined").arg(s.joined).arg("name").arg(&s.name);
    let reply: Vec<redis::Value> = inv.invoke_async(con).await?;
    check_ok(&reply)
}

fn check_ok(reply: &[redis::Value]) -> Result<(), BenchError> {
    match reply.first() {
        Some(redis::Value::BulkString(s)) if s == b"ok" => Ok(()),
        other => Err(BenchError::from(format!("the save was refused: {other:?}"))),
    }
}

/// Every `Staff1` of `org` whose role is `role`: `ZRANGE ... BYLEX`, then
/// the check script; returns the entities' `HGETALL` pairs.
pub async fn find_staff1_by_role<C: ConnectionLike>(
    con: &mut C,
    org: u64,
    role: &str,
) -> Result<Vec<Vec<(String, String)>>, BenchError> {
    let index = constraint_key(org, "Staff1.index.role");
    let prefix = format!("{}:", hex(role));
    let members: Vec<String> = redis::cmd("ZRANGE")
        .arg(&index)
        .arg(format!("[{prefix}"))
        .arg(format!("({};", hex(role)))
        .arg("BYLEX")
        .query_async(con)
        .await?;
    if members.is_empty() {
        return Ok(Vec::new());
    }
    let mut inv = CHECK.prepare_invoke();
    inv.key(&index);
    for m in &members {
        inv.key(&m[prefix.len()..]);
    }
    inv.arg("e").arg(role).arg("role");
    for m in &members {
        inv.arg(m);
    }
    let replies: Vec<redis::Value> = inv.invoke_async(con).await?;
    Ok(replies
        .into_iter()
        .filter(|v| !matches!(v, redis::Value::Int(_)))
        .map(redis::from_redis_value)
        .collect::<Result<_, _>>()?)
}

/// Saves a `Staff0` (no index) as the framework saves a hash model:
/// `MULTI DEL HSET PEXPIRE EXEC`.
pub async fn save_staff0<C: ConnectionLike>(
    con: &mut C,
    s: &crate::models::Staff0,
) -> Result<(), BenchError> {
    let key = staff_key("staff0", s.org, s.id);
    let mut pipe = redis::pipe();
    pipe.atomic();
    pipe.cmd("DEL").arg(&key).ignore();
    pipe.cmd("HSET")
        .arg(&key)
        .arg("org")
        .arg(s.org)
        .arg("id")
        .arg(s.id)
        .arg("email")
        .arg(&s.email)
        .arg("role")
        .arg(&s.role)
        .arg("joined")
        .arg(s.joined)
        .arg("name")
        .arg(&s.name)
        .ignore();
    pipe.cmd("PEXPIRE").arg(&key).arg(STAFF_TTL_MS).ignore();
    pipe.query_async::<()>(con).await?;
    Ok(())
}
