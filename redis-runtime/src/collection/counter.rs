//! Counters: [`Counter`], the handle on one counter of a
//! `#[derive(RedisCounter)]` family, and the fixed-window rate limit.

use std::time::Duration;

use super::{Handle, RedisCounter};
use crate::error::{DecodeError, DecodeErrorKind, Error, Result};
use crate::script;
use crate::store::{Retry, Store, key_cmd};

/// The counter of one id of a [`RedisCounter`] family (a Redis string
/// holding an integer); from [`Store::counter`].
///
/// Increments are never sent twice: when the connection drops under one,
/// the error's outcome is [`Outcome::Unknown`](crate::Outcome::Unknown).
pub struct Counter<'a, C: RedisCounter> {
    handle: Handle<'a, C>,
}

impl Store {
    /// The counter of `id` in family `C`.
    pub fn counter<'a, C: RedisCounter>(&'a self, id: &'a C::Id) -> Counter<'a, C> {
        Counter {
            handle: Handle::new(self, id),
        }
    }
}

/// The outcome of one [`Counter::hit`]: whether the hit is within the
/// window's limit, and what is left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Hits counted in the current window, this one included (denied hits
    /// count too). It is the counter's value after the hit: the counter
    /// shares its key with [`Counter::set`], [`Counter::incr`] and
    /// [`Counter::decr`], so what they wrote in the window counts as hits
    /// (a `set(0)` resets the count, an `incr(10)` uses up 10 hits; a
    /// value below 0 reads as 0).
    pub count: u64,
    /// The limit the hit was checked against.
    pub limit: u64,
    /// When the window ends; `None` if the server reported no TTL.
    pub resets_in: Option<Duration>,
}

impl RateLimit {
    /// Whether this hit is within the limit.
    pub fn allowed(&self) -> bool {
        self.count <= self.limit
    }

    /// How many more hits the window allows.
    pub fn remaining(&self) -> u64 {
        self.limit.saturating_sub(self.count)
    }

    /// How long a denied caller should wait; `None` when allowed.
    pub fn retry_after(&self) -> Option<Duration> {
        if self.allowed() { None } else { self.resets_in }
    }
}

impl<C: RedisCounter> Counter<'_, C> {
    /// The current value; 0 when the counter does not exist.
    pub async fn get(&self) -> Result<i64> {
        let cmd = key_cmd("GET", &self.handle.key()?);
        let raw: Option<Vec<u8>> = self.handle.read("get", &cmd).await?;
        let Some(raw) = raw else {
            return Ok(0);
        };
        std::str::from_utf8(&raw)
            .ok()
            .and_then(|s| s.parse::<i64>().ok())
            .ok_or_else(|| {
                Error::Decode(DecodeError::of::<C>(
                    Some("value"),
                    DecodeErrorKind::InvalidValue {
                        expected: "an integer (i64)",
                    },
                ))
            })
    }

    /// Adds `by` and returns the new value. On a counter used as a rate
    /// limit this changes the window's count ([`RateLimit::count`]). The
    /// increment that creates the counter arms the declared TTL in the same
    /// script (`INCRBY`, then `PEXPIRE NX`, and `GET` for the new value);
    /// later increments never extend it. A value that is not an integer, or
    /// a result beyond `i64`, is a server error and changes nothing (nor the
    /// TTL).
    pub async fn incr(&self, by: i64) -> Result<i64> {
        self.add("incr", by).await
    }

    /// Subtracts `by` and returns the new value (as [`Counter::incr`],
    /// also for a rate limit's count).
    pub async fn decr(&self, by: i64) -> Result<i64> {
        let by = by.checked_neg().ok_or_else(|| {
            Error::encode::<C>(Some("value"), "cannot subtract i64::MIN".to_owned())
        })?;
        self.add("decr", by).await
    }

    async fn add(&self, operation: &'static str, by: i64) -> Result<i64> {
        let key = self.handle.key()?;
        let Some(ttl) = Handle::<C>::ttl_ms() else {
            let mut incr = key_cmd("INCRBY", &key);
            incr.arg(by);
            return self.handle.send(operation, Retry::Never, &incr).await;
        };
        self.handle
            .script(
                operation,
                Retry::Never,
                &script::INCR_CREATING,
                &[&key],
                |cmd| {
                    cmd.arg(ttl).arg(by);
                },
            )
            .await
    }

    /// Sets the value, applying the declared TTL as the write that creates
    /// the counter (`SET ... PX`; without a declared TTL, the counter no
    /// longer expires). On a counter used as a rate limit this sets the
    /// window's count ([`RateLimit::count`]) and starts a new window of the
    /// declared TTL.
    pub async fn set(&self, value: i64) -> Result<()> {
        let mut cmd = key_cmd("SET", &self.handle.key()?);
        cmd.arg(value);
        if let Some(ttl) = C::META.ttl {
            cmd.arg("PX")
                .arg(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1));
        }
        self.handle.send("set", Retry::Once, &cmd).await
    }

    /// Counts one hit against a fixed window of the declared TTL and `limit`
    /// hits: the first hit of a window creates the counter and starts the
    /// window (its TTL), later hits never extend it, and when it expires the
    /// next hit starts a new one. One round trip (`INCRBY`, `PEXPIRE NX`,
    /// `GET` and `PTTL` in one script, so a hit the server refuses arms no
    /// TTL), exact under concurrency: of N concurrent hits on a fresh
    /// window, exactly `limit` are allowed.
    ///
    /// The window's count is the counter's value: [`Counter::set`],
    /// [`Counter::incr`] and [`Counter::decr`] on the same id change it (see
    /// [`RateLimit::count`]).
    ///
    /// The counter must declare a `ttl` (the window); calling this on one
    /// that does not is a compile error.
    pub async fn hit(&self, limit: u64) -> Result<RateLimit> {
        const {
            assert!(
                C::META.ttl.is_some(),
                "Counter::hit needs a counter with a declared `ttl`: the rate limit's window"
            )
        };
        let key = self.handle.key()?;
        let ttl = Handle::<C>::ttl_ms().unwrap_or(1);
        let (count, pttl): (i64, i64) = self
            .handle
            .script("hit", Retry::Never, &script::COUNTER_HIT, &[&key], |cmd| {
                cmd.arg(ttl);
            })
            .await?;
        Ok(RateLimit {
            count: u64::try_from(count).unwrap_or(0),
            limit,
            resets_in: u64::try_from(pttl).ok().map(Duration::from_millis),
        })
    }
}
