//! Rate limiters: `#[derive(RedisRateLimit)]` declares a limit of `limit`
//! requests `per` window, checked by one of three algorithms, one key per
//! limiter (per user, per client...), each check one script and one round
//! trip.
//!
//! ```no_run
//! use redis_runtime::{RedisRateLimit, Store};
//!
//! /// At most 5 login attempts per user and minute, bursts of 5.
//! #[derive(RedisRateLimit)]
//! #[redis(key = "limit:login:{user}", limit = 5, per = "1m", algorithm = "gcra")]
//! pub struct LoginLimit { user: u64 }
//!
//! # async fn run(store: Store) -> redis_runtime::Result<()> {
//! let decision = store.rate_limit::<LoginLimit>(&7).allow(1).await?;
//! if !decision.allowed {
//!     let wait = decision.retry_after; // Some(how long until 1 more is allowed)
//! #   let _ = wait;
//! }
//! # Ok(()) }
//! ```
//!
//! **Algorithms** (`algorithm = "..."`, required):
//!
//! | algorithm | key | what it allows |
//! |---|---|---|
//! | `fixed` | a string counter, TTL `per` | `limit` per window; a window starts with the first request after the last one ended and lasts `per` (the counter kind's `hit` window: `INCRBY`, `PEXPIRE NX`, `PTTL`). Cheapest; up to twice `limit` can pass around a window's end. |
//! | `sliding` | a sorted set of request times, TTL `per` | at most `limit` in *any* period of length `per`: a sliding-window log, exact, holding one entry per allowed request (memory grows with `limit`; prefer `gcra` for limits of thousands). |
//! | `gcra` | a string holding one time, TTL at most `per * burst / limit` | a steady `limit` per `per`, one request every `per / limit`, and up to `burst` at once after a quiet spell (`burst = N`, default `limit`): the generic cell rate algorithm, a token bucket in one number. |
//!
//! Why a log for `sliding`, not the two-window counter approximation: the
//! approximation assumes the previous window's requests were spread evenly,
//! so it can allow more than `limit` in some period of length `per`, or
//! deny below it; the log is exact (of N concurrent requests on a fresh
//! limiter exactly `limit` pass, and `retry_after` is when the oldest
//! request counted leaves the window), and `gcra` is the constant-memory
//! choice.
//!
//! **Server time.** `sliding` and `gcra` read the time with Redis's `TIME`
//! inside the script, so every client of the limiter agrees however their
//! clocks differ. (A script that writes after `TIME` needs effects
//! replication, the only mode of Redis 7.) `fixed` needs no clock: its
//! window is the key's TTL.
//!
//! **Decisions.** [`RateLimiter::allow`]`(n)` checks a request that costs
//! `n` (1 for most) and, when it is allowed, counts it; a denied request
//! counts nothing (unlike [`Counter::hit`](crate::collection::Counter::hit),
//! whose denied hits count), so a client that keeps retrying is allowed as
//! soon as capacity is back. The [`Decision`] says whether it was allowed,
//! how many more unit requests would pass now, and, when denied, how long
//! until this request would pass. `allow(0)` counts nothing and reports the
//! remaining capacity. A cost above what the limiter ever allows at once
//! (`limit`, or `burst` for `gcra`) is refused with [`Error::InvalidCost`]
//! before anything is sent.
//!
//! **Keys** always have a TTL, armed or re-armed by each request that
//! counts, so an idle limiter's key vanishes once it no longer limits
//! anything. Metrics: each check is one `allow` operation of `kind`
//! `rate_limit_fixed`, `rate_limit_sliding` or `rate_limit_gcra`.

use std::sync::LazyLock;
use std::time::Duration;

use crate::collection::Handle;
use crate::error::{Error, Result};
use crate::model::Family;
use crate::script::LuaScript;
use crate::store::{Retry, Store};

/// How a rate limiter counts (`algorithm = "..."`); see the
/// [module documentation](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// A fixed window of `per`, started by its first request.
    Fixed,
    /// A sliding-window log: at most `limit` in any period of `per`.
    Sliding,
    /// The generic cell rate algorithm, with a `burst`.
    Gcra,
}

impl Algorithm {
    /// The name as written in the attribute: `fixed`, `sliding` or `gcra`.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Fixed => "fixed",
            Algorithm::Sliding => "sliding",
            Algorithm::Gcra => "gcra",
        }
    }

    /// The Redis type of its keys.
    pub fn redis_type(self) -> &'static str {
        match self {
            Algorithm::Fixed | Algorithm::Gcra => "string",
            Algorithm::Sliding => "zset",
        }
    }

    /// The key kind's name ([`Kind::as_str`](crate::model::Kind::as_str)).
    pub fn kind_name(self) -> &'static str {
        match self {
            Algorithm::Fixed => "rate_limit_fixed",
            Algorithm::Sliding => "rate_limit_sliding",
            Algorithm::Gcra => "rate_limit_gcra",
        }
    }
}

/// A rate limiter per key: `#[derive(RedisRateLimit)]` with `limit`, `per`
/// and `algorithm` (and `burst` for `gcra`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a Redis rate limit declaration",
    note = "derive `RedisRateLimit` for `{Self}` with `#[redis(key = \"...\", limit = 5, per = \"1m\", algorithm = \"gcra\")]`"
)]
pub trait RedisRateLimit: Family {
    /// Requests allowed per [`RedisRateLimit::PER`] (at least 1).
    const LIMIT: u64;
    /// The window, or for GCRA the period over which `LIMIT` requests are
    /// spread.
    const PER: Duration;
    /// How requests are counted.
    const ALGORITHM: Algorithm;
    /// For GCRA, the most requests allowed at once after a quiet spell
    /// (`LIMIT` unless declared); equal to `LIMIT` for the other algorithms.
    const BURST: u64;
}

/// The outcome of one [`RateLimiter::allow`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Decision {
    /// Whether the request is allowed (and was counted).
    pub allowed: bool,
    /// How many more requests of cost 1 would be allowed right now, after
    /// this one.
    pub remaining: u64,
    /// When denied, how long until this request would be allowed (if no
    /// other request is counted meanwhile), as the server measured it;
    /// `None` when allowed.
    pub retry_after: Option<Duration>,
    /// The declared limit.
    pub limit: u64,
}

/// The limiter of one id of a [`RedisRateLimit`] family; from
/// [`Store::rate_limit`].
pub struct RateLimiter<'a, R: RedisRateLimit> {
    handle: Handle<'a, R>,
}

impl Store {
    /// The rate limiter of `id` in family `R`.
    pub fn rate_limit<'a, R: RedisRateLimit>(&'a self, id: &'a R::Id) -> RateLimiter<'a, R> {
        RateLimiter {
            handle: Handle::new(self, id),
        }
    }
}

macro_rules! limit_script {
    ($name:ident, $source:expr) => {
        static $name: LuaScript = LuaScript::new(
            $source,
            LazyLock::new(|| redis::Script::new($source).get_hash().to_owned()),
        );
    };
}

// Every script answers {allowed (1 or 0), remaining, retry after in
// microseconds (0 when allowed)}; a cost of 0 writes nothing.

// Fixed window: KEYS[1] the window's count (a string); ARGV[1] the limit,
// ARGV[2] the window in milliseconds, ARGV[3] the cost. As the counter's
// hit: the request that creates the count arms the window (`PEXPIRE NX`,
// also re-arming a count that lost its TTL), later ones never extend it;
// a denied request counts nothing.
limit_script!(
    FIXED,
    r"local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if not used then return redis.error_reply('ERR the rate limit count is not an integer') end
local limit, cost = tonumber(ARGV[1]), tonumber(ARGV[3])
if used + cost > limit then
  redis.call('PEXPIRE', KEYS[1], ARGV[2], 'NX')
  return {0, math.max(limit - used, 0), math.max(redis.call('PTTL', KEYS[1]), 1) * 1000}
end
if cost > 0 then
  redis.call('INCRBY', KEYS[1], cost)
  redis.call('PEXPIRE', KEYS[1], ARGV[2], 'NX')
end
return {1, limit - used - cost, 0}"
);

// Sliding-window log: KEYS[1] a sorted set of the allowed requests' server
// times (microseconds, as scores); ARGV[1] the limit, ARGV[2] the window in
// microseconds, ARGV[3] the cost. Entries at or before now - window have left
// it. Time never runs backwards for one key (a stepped-back clock counts
// from the newest entry), so members `time-n`, n the count after the add,
// are unique. The key expires a window after its newest entry.
limit_script!(
    SLIDING,
    r"local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local limit, window, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local newest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if newest[2] and tonumber(newest[2]) > now then now = tonumber(newest[2]) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now - window))
local used = redis.call('ZCARD', KEYS[1])
if used + cost > limit then
  local leaving = redis.call('ZRANGE', KEYS[1], used + cost - limit - 1, used + cost - limit - 1, 'WITHSCORES')
  return {0, math.max(limit - used, 0), math.max(tonumber(leaving[2]) + window - now, 1)}
end
if cost > 0 then
  local at = string.format('%.0f', now)
  for i = 1, cost do redis.call('ZADD', KEYS[1], at, at .. '-' .. (used + i)) end
  redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000))
end
return {1, limit - used - cost, 0}"
);

// GCRA: KEYS[1] the theoretical arrival time (TAT, microseconds of server
// time); ARGV[1] the period in microseconds, ARGV[2] the limit, ARGV[3] the
// burst, ARGV[4] the cost. One request is `period / limit`; a request is
// allowed when the TAT it would leave is at most `burst` requests ahead of
// now. The key expires when the TAT is reached (then it is equivalent to an
// idle limiter).
limit_script!(
    GCRA,
    r"local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1]) / tonumber(ARGV[2])
local burst, cost = tonumber(ARGV[3]), tonumber(ARGV[4])
local stored = redis.call('GET', KEYS[1])
local tat = now
if stored then
  tat = tonumber(stored)
  if not tat then return redis.error_reply('ERR the rate limit state is not a time') end
  if tat < now then tat = now end
end
local function room(at) return math.max(math.floor((now + burst * interval - at) / interval + 1e-9), 0) end
local new_tat = tat + cost * interval
local allow_at = new_tat - burst * interval
if now < allow_at then
  return {0, room(tat), math.max(math.ceil(allow_at - now), 1)}
end
if cost > 0 then
  redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.max(math.ceil((new_tat - now) / 1000), 1))
end
return {1, room(new_tat), 0}"
);

impl<R: RedisRateLimit> RateLimiter<'_, R> {
    /// Checks a request that costs `cost` (1 for most) against the limit
    /// and counts it when allowed: one script, one round trip, timed by the
    /// server. A denied request counts nothing; `allow(0)` counts nothing
    /// and reports what remains. A cost above the most the limiter ever
    /// allows at once (`limit`, or `burst` for `gcra`) is refused with
    /// [`Error::InvalidCost`] before anything is sent.
    ///
    /// Never sent twice: when the connection drops under it, the error's
    /// outcome is [`Outcome::Unknown`](crate::Outcome::Unknown) (the request
    /// may have been counted).
    pub async fn allow(&self, cost: u64) -> Result<Decision> {
        const {
            assert!(R::LIMIT > 0, "a rate limit's `limit` must be at least 1");
            assert!(!R::PER.is_zero(), "a rate limit's `per` must be positive");
        };
        let max = match R::ALGORITHM {
            Algorithm::Gcra => R::BURST,
            _ => R::LIMIT,
        };
        if cost > max {
            crate::observe::refused(R::META.name, R::META.kind.as_str(), "invalid_cost");
            return Err(Error::InvalidCost {
                model: R::META.name,
                key_template: R::META.key.source,
                cost,
                max,
            });
        }
        let key = self.handle.key()?;
        let per_ms = u64::try_from(R::PER.as_millis()).unwrap_or(u64::MAX).max(1);
        let per_us = u64::try_from(R::PER.as_micros()).unwrap_or(u64::MAX).max(1);
        let (script, args): (&'static LuaScript, [u64; 4]) = match R::ALGORITHM {
            Algorithm::Fixed => (&FIXED, [R::LIMIT, per_ms, cost, 0]),
            Algorithm::Sliding => (&SLIDING, [R::LIMIT, per_us, cost, 0]),
            Algorithm::Gcra => (&GCRA, [per_us, R::LIMIT, R::BURST, cost]),
        };
        let count = if R::ALGORITHM == Algorithm::Gcra {
            4
        } else {
            3
        };
        let (allowed, remaining, retry_us): (i64, i64, i64) = self
            .handle
            .script("allow", Retry::Never, script, &[&key], |cmd| {
                cmd.arg(&args[..count]);
            })
            .await?;
        let allowed = allowed == 1;
        Ok(Decision {
            allowed,
            remaining: u64::try_from(remaining).unwrap_or(0),
            retry_after: (!allowed)
                .then(|| Duration::from_micros(u64::try_from(retry_us).unwrap_or(0).max(1))),
            limit: R::LIMIT,
        })
    }
}
