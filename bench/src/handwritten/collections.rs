//! The hand-written redis-rs baseline for the collection kinds
//! ([`Members`](crate::models::Members), [`Board`](crate::models::Board),
//! [`Limit`](crate::models::Limit), [`Marks`](crate::models::Marks)): what a
//! careful service writes for the same work with the same guarantee. A write
//! that may create a key with a TTL is `MULTI`/`EXEC` around the write and its
//! `PEXPIRE ... NX`, so the TTL is armed once, by the creating write, and never
//! lost or extended.
//!
//! Keys, argument order and number formatting follow the framework's, so both
//! send byte-identical requests: the collection gate
//! (`tests/collection_counters.rs`) runs these functions as its hand-written
//! side, and the runner's collections scenario measures them.

use redis::aio::ConnectionLike;

use crate::BenchError;
use crate::models::{LIMIT_TTL_MS, MEMBERS_TTL_MS};

/// The key of [`Members`](crate::models::Members) `room`.
pub fn members_key(room: u64) -> String {
    format!("bench:room:{room}:members")
}

/// The key of [`Board`](crate::models::Board) `game`.
pub fn board_key(game: u64) -> String {
    format!("bench:board:{game}")
}

/// The key of [`Limit`](crate::models::Limit) `user`.
pub fn limit_key(user: u64) -> String {
    format!("bench:limit:{user}")
}

/// The key of [`Marks`](crate::models::Marks) `room`.
pub fn marks_key(room: u64) -> String {
    format!("bench:marks:{room}")
}

/// Adds `member` to the set of `room`, arming the set's TTL if this add
/// creates it: `MULTI; SADD; PEXPIRE ms NX; EXEC`. `true` when it was new.
pub async fn set_add(
    con: &mut impl ConnectionLike,
    room: u64,
    member: u64,
) -> Result<bool, BenchError> {
    let key = members_key(room);
    let (added,): (u64,) = redis::pipe()
        .atomic()
        .cmd("SADD")
        .arg(&key)
        .arg(member)
        .cmd("PEXPIRE")
        .arg(&key)
        .arg(MEMBERS_TTL_MS)
        .arg("NX")
        .ignore()
        .query_async(con)
        .await?;
    Ok(added == 1)
}

/// Whether `member` is in the set of `room`: `SISMEMBER`.
pub async fn set_contains(
    con: &mut impl ConnectionLike,
    room: u64,
    member: u64,
) -> Result<bool, BenchError> {
    Ok(redis::cmd("SISMEMBER")
        .arg(members_key(room))
        .arg(member)
        .query_async(con)
        .await?)
}

/// Adds `by` to `member`'s score on the board of `game` and returns the new
/// score: `ZINCRBY` (the score written as `Display` writes an `f64`, which
/// round-trips exactly, as the framework does).
pub async fn zincrby(
    con: &mut impl ConnectionLike,
    game: u64,
    member: &str,
    by: f64,
) -> Result<f64, BenchError> {
    Ok(redis::cmd("ZINCRBY")
        .arg(board_key(game))
        .arg(by.to_string())
        .arg(member)
        .query_async(con)
        .await?)
}

/// The `n` highest scores of the board of `game`, highest first:
/// `ZRANGE key 0 n-1 REV WITHSCORES`. `n` must be at least 1.
pub async fn top(
    con: &mut impl ConnectionLike,
    game: u64,
    n: u64,
) -> Result<Vec<(String, f64)>, BenchError> {
    Ok(redis::cmd("ZRANGE")
        .arg(board_key(game))
        .arg(0)
        .arg(n - 1)
        .arg("REV")
        .arg("WITHSCORES")
        .query_async(con)
        .await?)
}

/// One hit of `user`'s fixed-window rate limit: `MULTI; INCRBY k 1;
/// PEXPIRE k ms NX; PTTL k; EXEC` (the first hit of a window starts it, later
/// hits never extend it). Returns the window's count, this hit included, and
/// its remaining time in milliseconds; the hit is allowed when the count is at
/// most the limit.
pub async fn hit(con: &mut impl ConnectionLike, user: u64) -> Result<(i64, i64), BenchError> {
    let key = limit_key(user);
    let (count, pttl): (i64, i64) = redis::pipe()
        .atomic()
        .cmd("INCRBY")
        .arg(&key)
        .arg(1i64)
        .cmd("PEXPIRE")
        .arg(&key)
        .arg(LIMIT_TTL_MS)
        .arg("NX")
        .ignore()
        .cmd("PTTL")
        .arg(&key)
        .query_async(con)
        .await?;
    Ok((count, pttl))
}

/// Sets `field` of the map of `room` to `value`: `HSET`. `true` when the
/// field is new.
pub async fn map_set(
    con: &mut impl ConnectionLike,
    room: u64,
    field: u64,
    value: i64,
) -> Result<bool, BenchError> {
    let added: u64 = redis::cmd("HSET")
        .arg(marks_key(room))
        .arg(field)
        .arg(value)
        .query_async(con)
        .await?;
    Ok(added == 1)
}

/// The value of `field` in the map of `room`; `None` when absent: `HGET`.
pub async fn map_get(
    con: &mut impl ConnectionLike,
    room: u64,
    field: u64,
) -> Result<Option<i64>, BenchError> {
    Ok(redis::cmd("HGET")
        .arg(marks_key(room))
        .arg(field)
        .query_async(con)
        .await?)
}
