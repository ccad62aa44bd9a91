//! The hand-written redis-rs baseline for the collection kinds
//! ([`Members`](crate::models::Members), [`Board`](crate::models::Board),
//! [`Limit`](crate::models::Limit), [`Marks`](crate::models::Marks)): what a
//! careful service writes for the same work with the same guarantee. A write
//! that may create a key with a TTL is one Lua script that runs the write and
//! then its `PEXPIRE ... NX`, so the TTL is armed once, by the creating write,
//! never lost or extended, and never armed by a write the server refuses (a
//! key of another type: in a `MULTI` the `PEXPIRE` would still run). The
//! scripts are the framework's, text for text (the same SHA1), sent with
//! redis-rs's [`redis::Script`] (`EVALSHA`, loading the script when the
//! server lacks it).
//!
//! Keys, argument order and number formatting follow the framework's, so both
//! send byte-identical requests: the collection gate
//! (`tests/collection_counters.rs`) runs these functions as its hand-written
//! side, and the runner's collections scenario measures them.

use std::sync::LazyLock;

use redis::aio::ConnectionLike;

use crate::BenchError;
use crate::models::{LIMIT_TTL_MS, MEMBERS_TTL_MS};

/// A write that may create its key, then `PEXPIRE NX` (the runtime's
/// `CREATING_WRITE`). KEYS: the command's keys, the first armed; ARGV: the
/// TTL, the command, how many options follow, the options, the elements
/// (chunked under Lua's `unpack` limit, the counts summed).
static CREATING_WRITE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"local first = 4 + tonumber(ARGV[3])
local reply = nil
local i = first
repeat
  local last = math.min(i + 3999, #ARGV)
  local args = {}
  for j = 1, #KEYS do args[#args + 1] = KEYS[j] end
  for j = 4, first - 1 do args[#args + 1] = ARGV[j] end
  for j = i, last do args[#args + 1] = ARGV[j] end
  local r = redis.call(ARGV[2], unpack(args))
  if reply == nil then reply = r else reply = reply + r end
  i = last + 1
until i > #ARGV
redis.call('PEXPIRE', KEYS[1], ARGV[1], 'NX')
return reply",
    )
});

/// An increment that may create its key, then `PEXPIRE NX`, the new value
/// read back as a string (the runtime's `INCR_CREATING`).
pub static INCR_CREATING: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"if ARGV[3] then
  redis.call('HINCRBY', KEYS[1], ARGV[3], ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[1], 'NX')
  return redis.call('HGET', KEYS[1], ARGV[3])
end
redis.call('INCRBY', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[1], 'NX')
return redis.call('GET', KEYS[1])",
    )
});

/// A rate limit's hit: `INCRBY 1`, `PEXPIRE NX`, `{count, PTTL}` (the
/// runtime's `COUNTER_HIT`).
static COUNTER_HIT: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"redis.call('INCRBY', KEYS[1], 1)
redis.call('PEXPIRE', KEYS[1], ARGV[1], 'NX')
return {redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1])}",
    )
});

/// A list push, its cap's `LTRIM` and `PEXPIRE NX` (the runtime's
/// `LIST_PUSH`). ARGV: the TTL, `LPUSH`/`RPUSH`, the trim's range ('' ''
/// when uncapped), the items.
pub static LIST_PUSH: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"local len = 0
for i = 5, #ARGV, 4000 do
  len = redis.call(ARGV[2], KEYS[1], unpack(ARGV, i, math.min(i + 3999, #ARGV)))
end
if ARGV[3] ~= '' then redis.call('LTRIM', KEYS[1], ARGV[3], ARGV[4]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1], 'NX')
return len",
    )
});

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
/// creates it: one script, `SADD` then `PEXPIRE ms NX`. `true` when it was
/// new.
pub async fn set_add(
    con: &mut impl ConnectionLike,
    room: u64,
    member: u64,
) -> Result<bool, BenchError> {
    let added: u64 = CREATING_WRITE
        .key(members_key(room))
        .arg(MEMBERS_TTL_MS)
        .arg("SADD")
        .arg(0)
        .arg(member)
        .invoke_async(con)
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

/// One hit of `user`'s fixed-window rate limit: one script, `INCRBY k 1`,
/// `PEXPIRE k ms NX`, `GET k`, `PTTL k` (the first hit of a window starts it,
/// later hits never extend it). Returns the window's count, this hit included, and
/// its remaining time in milliseconds; the hit is allowed when the count is at
/// most the limit.
pub async fn hit(con: &mut impl ConnectionLike, user: u64) -> Result<(i64, i64), BenchError> {
    let (count, pttl): (i64, i64) = COUNTER_HIT
        .key(limit_key(user))
        .arg(LIMIT_TTL_MS)
        .invoke_async(con)
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
