//! Sorted sets: [`SortedSet`], the handle on one sorted set of a
//! `#[derive(RedisSortedSet)]` family.

use redis::Value;

use super::{Handle, RedisSortedSet, Score, decode, encode, parse_score, score_arg, ttl_arg};
use crate::error::{DecodeError, DecodeErrorKind, Error, Result};
use crate::script;
use crate::store::{Retry, Store, found_value, key_cmd};

/// The sorted set of one id of a [`RedisSortedSet`] family; from
/// [`Store::sorted_set`].
///
/// Writes are never sent twice: when the connection drops under one, the
/// error's outcome is [`Outcome::Unknown`](crate::Outcome::Unknown). Reads
/// are sent once more.
pub struct SortedSet<'a, Z: RedisSortedSet> {
    handle: Handle<'a, Z>,
}

impl Store {
    /// The sorted set of `id` in family `Z`.
    pub fn sorted_set<'a, Z: RedisSortedSet>(&'a self, id: &'a Z::Id) -> SortedSet<'a, Z> {
        SortedSet {
            handle: Handle::new(self, id),
        }
    }
}

/// Which end a range starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    /// Lowest score first.
    #[default]
    Ascending,
    /// Highest score first.
    Descending,
}

/// One end of a score or lexicographic range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound<T> {
    /// Including this value.
    Inclusive(T),
    /// Excluding this value.
    Exclusive(T),
    /// No bound at this end.
    Unbounded,
}

/// The conditions of [`SortedSet::add_with`] (`ZADD`'s `NX`, `XX`, `GT`,
/// `LT`). `NX` cannot be combined with the others; such a combination is
/// refused by the server and nothing changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ZAdd {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

impl ZAdd {
    /// No condition: add or update.
    pub fn new() -> Self {
        ZAdd::default()
    }
    /// Only add new members; never update a score (`NX`).
    pub fn only_new(mut self) -> Self {
        self.nx = true;
        self
    }
    /// Only update existing members; never add (`XX`).
    pub fn only_existing(mut self) -> Self {
        self.xx = true;
        self
    }
    /// Update a score only if the new one is greater (`GT`); new members
    /// are still added unless [`ZAdd::only_existing`].
    pub fn if_greater(mut self) -> Self {
        self.gt = true;
        self
    }
    /// Update a score only if the new one is less (`LT`).
    pub fn if_less(mut self) -> Self {
        self.lt = true;
        self
    }
}

/// `(offset, count)`: skip `offset` entries of the range, return at most
/// `count`. The server takes both as signed 64-bit integers: a larger one
/// is sent as `i64::MAX`, which no sorted set reaches (so an offset that
/// large returns nothing, and a count that large returns every entry).
pub type Limit = (u64, u64);

/// `LIMIT offset count`, each clamped to `i64::MAX` (see [`Limit`]).
fn limit_args(cmd: &mut redis::Cmd, (offset, count): Limit) {
    let clamp = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    cmd.arg("LIMIT").arg(clamp(offset)).arg(clamp(count));
}

impl<Z: RedisSortedSet> SortedSet<'_, Z> {
    fn member(member: &Z::Member) -> Result<Vec<u8>> {
        encode::<Z, Z::Member, Z::MemberCodec>("member", member)
    }

    fn unexpected(what: &'static str) -> Error {
        Error::Decode(DecodeError::of::<Z>(
            None,
            DecodeErrorKind::UnexpectedReply(what),
        ))
    }

    fn score_of(value: &Value) -> Result<Z::Score> {
        parse_score::<Z::Score>(value)
            .map_err(|kind| Error::Decode(DecodeError::of::<Z>(Some("score"), kind)))
    }

    /// `(member, score)` pairs of a `WITHSCORES` reply: a flat array in
    /// RESP2, an array of pairs in RESP3.
    fn pairs(value: Value) -> Result<Vec<(Z::Member, Z::Score)>> {
        let Value::Array(items) = value else {
            return match value {
                Value::Nil => Ok(Vec::new()),
                _ => Err(Self::unexpected("expected an array of members and scores")),
            };
        };
        let mut out = Vec::with_capacity(items.len() / 2);
        let mut iter = items.into_iter();
        while let Some(item) = iter.next() {
            let (member, score) = match item {
                Value::Array(pair) => {
                    let mut pair = pair.into_iter();
                    match (pair.next(), pair.next()) {
                        (Some(m), Some(s)) => (m, s),
                        _ => return Err(Self::unexpected("expected a member and its score")),
                    }
                }
                member => match iter.next() {
                    Some(score) => (member, score),
                    None => return Err(Self::unexpected("a member without its score")),
                },
            };
            let Value::BulkString(raw) = member else {
                return Err(Self::unexpected("expected a member"));
            };
            let member = decode::<Z, Z::Member, Z::MemberCodec>("member", raw)?;
            out.push((member, Self::score_of(&score)?));
        }
        Ok(out)
    }

    /// Adds `member` with `score`, or updates its score; `true` when it was
    /// not there. The add that creates the sorted set arms the declared TTL
    /// (`ZADD`, then `PEXPIRE NX`, in one script: an add the server refuses
    /// arms nothing); later writes keep it.
    pub async fn add(&self, member: &Z::Member, score: Z::Score) -> Result<bool> {
        Ok(self.add_many(&[(member, score)]).await? == 1)
    }

    /// Adds or updates every `(member, score)` in one command; returns how
    /// many were not there. An empty slice sends nothing.
    pub async fn add_many(&self, entries: &[(&Z::Member, Z::Score)]) -> Result<u64> {
        if entries.is_empty() {
            return Ok(0);
        }
        let key = self.handle.key()?;
        let mut pairs = Vec::with_capacity(entries.len() * 2);
        for (member, score) in entries {
            pairs.push(score_arg::<Z, _>(*score)?.into_bytes());
            pairs.push(Self::member(member)?);
        }
        self.handle
            .write_creating("add", Retry::Never, &[&key], "ZADD", &[], &pairs)
            .await
    }

    /// Adds or updates `member` under the conditions of `when`; `true` when
    /// the member was added or its score changed (`ZADD ... CH`).
    pub async fn add_with(&self, member: &Z::Member, score: Z::Score, when: ZAdd) -> Result<bool> {
        let key = self.handle.key()?;
        let mut options = Vec::with_capacity(5);
        for (set, flag) in [
            (when.nx, "NX"),
            (when.xx, "XX"),
            (when.gt, "GT"),
            (when.lt, "LT"),
        ] {
            if set {
                options.push(flag);
            }
        }
        options.push("CH");
        let pair = [
            score_arg::<Z, _>(score)?.into_bytes(),
            Self::member(member)?,
        ];
        let changed: u64 = self
            .handle
            .write_creating("add_with", Retry::Never, &[&key], "ZADD", &options, &pair)
            .await?;
        Ok(changed == 1)
    }

    /// Adds `by` to `member`'s score (a new member starts at 0) and returns
    /// the new score; arms the TTL as [`SortedSet::add`] does.
    ///
    /// For a float score type this is `ZINCRBY` (in one script with
    /// `PEXPIRE NX` when a TTL is declared, as [`SortedSet::add`]). For an integer score type it is
    /// one script that checks before it writes, since Redis keeps scores as
    /// doubles and would round a result beyond 2^53: a result outside the
    /// type (or beyond ±2^53) is refused with an
    /// [`Error::Server`] and nothing changes, and a stored score the type
    /// cannot read is an [`Error::Decode`] and nothing changes. An increment
    /// the type cannot hold (beyond 2^53) is an [`Error::Encode`], sent
    /// nowhere.
    pub async fn incr(&self, member: &Z::Member, by: Z::Score) -> Result<Z::Score> {
        let key = self.handle.key()?;
        let by = score_arg::<Z, _>(by)?;
        let member = Self::member(member)?;
        let Some((min, max)) = Z::Score::integer_bounds() else {
            let reply: Value = self
                .handle
                .write_creating("incr", Retry::Never, &[&key], "ZINCRBY", &[&by], &[member])
                .await?;
            return Self::score_of(&reply);
        };
        let ttl = ttl_arg::<Z>();
        let reply: Value = self
            .handle
            .store
            .query::<Z, _, _, _>("incr", Retry::Never, |mut con| {
                let (key, by, member, ttl) = (&key, &by, &member, &ttl);
                async move {
                    script::ZINCR_INTEGER
                        .run(&mut con, &[key], |cmd| {
                            cmd.arg(by).arg(member).arg(min).arg(max).arg(ttl);
                        })
                        .await
                }
            })
            .await?;
        match reply {
            // The stored score, which the type cannot read: nothing written.
            Value::Array(mut stored) => Err(Self::score_of(&stored.pop().unwrap_or(Value::Nil))
                .err()
                .unwrap_or_else(|| Self::unexpected("a stored score the type cannot read"))),
            score => Self::score_of(&score),
        }
    }

    /// `member`'s score; `None` when it is not there.
    pub async fn score(&self, member: &Z::Member) -> Result<Option<Z::Score>> {
        let mut cmd = key_cmd("ZSCORE", &self.handle.key()?);
        cmd.arg(Self::member(member)?);
        let reply: Value = self.handle.read_found("score", found_value, &cmd).await?;
        match reply {
            Value::Nil => Ok(None),
            score => Self::score_of(&score).map(Some),
        }
    }

    /// The score of each of `members`, in order (`ZMSCORE`).
    pub async fn scores(&self, members: &[Z::Member]) -> Result<Vec<Option<Z::Score>>> {
        if members.is_empty() {
            return Ok(Vec::new());
        }
        let mut cmd = key_cmd("ZMSCORE", &self.handle.key()?);
        for member in members {
            cmd.arg(Self::member(member)?);
        }
        let reply: Vec<Value> = self.handle.read("scores", &cmd).await?;
        reply
            .iter()
            .map(|v| match v {
                Value::Nil => Ok(None),
                score => Self::score_of(score).map(Some),
            })
            .collect()
    }

    /// `member`'s 0-based rank, lowest score first; `None` when it is not there.
    pub async fn rank(&self, member: &Z::Member) -> Result<Option<u64>> {
        self.rank_by("ZRANK", "rank", member).await
    }

    /// `member`'s 0-based rank, highest score first.
    pub async fn rank_rev(&self, member: &Z::Member) -> Result<Option<u64>> {
        self.rank_by("ZREVRANK", "rank_rev", member).await
    }

    async fn rank_by(
        &self,
        verb: &str,
        operation: &'static str,
        member: &Z::Member,
    ) -> Result<Option<u64>> {
        let mut cmd = key_cmd(verb, &self.handle.key()?);
        cmd.arg(Self::member(member)?);
        self.handle
            .read_found(operation, Option::is_some, &cmd)
            .await
    }

    /// Members with scores by rank, `start` to `stop` inclusive (negative
    /// counts from the end: `0, -1` is everything), in `order`.
    pub async fn range(
        &self,
        start: i64,
        stop: i64,
        order: Order,
    ) -> Result<Vec<(Z::Member, Z::Score)>> {
        let mut cmd = key_cmd("ZRANGE", &self.handle.key()?);
        cmd.arg(start).arg(stop);
        if order == Order::Descending {
            cmd.arg("REV");
        }
        cmd.arg("WITHSCORES");
        let reply: Value = self.handle.read("range", &cmd).await?;
        Self::pairs(reply)
    }

    /// The `n` members with the highest scores, highest first.
    pub async fn top(&self, n: u64) -> Result<Vec<(Z::Member, Z::Score)>> {
        if n == 0 {
            return Ok(Vec::new());
        }
        let stop = i64::try_from(n - 1).unwrap_or(i64::MAX);
        let mut cmd = key_cmd("ZRANGE", &self.handle.key()?);
        cmd.arg(0).arg(stop).arg("REV").arg("WITHSCORES");
        let reply: Value = self.handle.read("top", &cmd).await?;
        Self::pairs(reply)
    }

    fn score_bound(bound: Bound<Z::Score>, unbounded: &str) -> Result<String> {
        Ok(match bound {
            Bound::Inclusive(s) => score_arg::<Z, _>(s)?,
            Bound::Exclusive(s) => format!("({}", score_arg::<Z, _>(s)?),
            Bound::Unbounded => unbounded.to_owned(),
        })
    }

    fn lex_bound(bound: Bound<&Z::Member>, unbounded: &str) -> Result<Vec<u8>> {
        Ok(match bound {
            Bound::Inclusive(m) => [b"[".as_slice(), &Self::member(m)?].concat(),
            Bound::Exclusive(m) => [b"(".as_slice(), &Self::member(m)?].concat(),
            Bound::Unbounded => unbounded.as_bytes().to_vec(),
        })
    }

    /// Members with scores whose score is within `min..max`, in `order`,
    /// optionally paged by `limit` (`ZRANGE ... BYSCORE`).
    pub async fn range_by_score(
        &self,
        min: Bound<Z::Score>,
        max: Bound<Z::Score>,
        order: Order,
        limit: Option<Limit>,
    ) -> Result<Vec<(Z::Member, Z::Score)>> {
        let (min, max) = (
            Self::score_bound(min, "-inf")?,
            Self::score_bound(max, "+inf")?,
        );
        let mut cmd = key_cmd("ZRANGE", &self.handle.key()?);
        // With REV, ZRANGE takes the range from its high end.
        match order {
            Order::Ascending => cmd.arg(&min).arg(&max).arg("BYSCORE"),
            Order::Descending => cmd.arg(&max).arg(&min).arg("BYSCORE").arg("REV"),
        };
        if let Some(limit) = limit {
            limit_args(&mut cmd, limit);
        }
        cmd.arg("WITHSCORES");
        let reply: Value = self.handle.read("range_by_score", &cmd).await?;
        Self::pairs(reply)
    }

    /// Members between `min` and `max` in byte order, for a sorted set
    /// whose members all have one score (`ZRANGE ... BYLEX`).
    pub async fn range_by_lex(
        &self,
        min: Bound<&Z::Member>,
        max: Bound<&Z::Member>,
        order: Order,
        limit: Option<Limit>,
    ) -> Result<Vec<Z::Member>> {
        let (min, max) = (Self::lex_bound(min, "-")?, Self::lex_bound(max, "+")?);
        let mut cmd = key_cmd("ZRANGE", &self.handle.key()?);
        match order {
            Order::Ascending => cmd.arg(&min).arg(&max).arg("BYLEX"),
            Order::Descending => cmd.arg(&max).arg(&min).arg("BYLEX").arg("REV"),
        };
        if let Some(limit) = limit {
            limit_args(&mut cmd, limit);
        }
        let raw: Vec<Vec<u8>> = self.handle.read("range_by_lex", &cmd).await?;
        super::decode_all::<Z, Z::Member, Z::MemberCodec>("member", raw)
    }

    /// Removes `member`; `true` when it was there.
    pub async fn remove(&self, member: &Z::Member) -> Result<bool> {
        let mut cmd = key_cmd("ZREM", &self.handle.key()?);
        cmd.arg(Self::member(member)?);
        let removed: u64 = self.handle.send("remove", Retry::Never, &cmd).await?;
        Ok(removed == 1)
    }

    /// Removes the members ranked `start` to `stop` (lowest score first,
    /// negative from the end); returns how many.
    pub async fn remove_by_rank(&self, start: i64, stop: i64) -> Result<u64> {
        let mut cmd = key_cmd("ZREMRANGEBYRANK", &self.handle.key()?);
        cmd.arg(start).arg(stop);
        self.handle.send("remove_by_rank", Retry::Never, &cmd).await
    }

    /// Removes the members scored within `min..max`; returns how many.
    pub async fn remove_by_score(&self, min: Bound<Z::Score>, max: Bound<Z::Score>) -> Result<u64> {
        let mut cmd = key_cmd("ZREMRANGEBYSCORE", &self.handle.key()?);
        cmd.arg(Self::score_bound(min, "-inf")?)
            .arg(Self::score_bound(max, "+inf")?);
        self.handle
            .send("remove_by_score", Retry::Never, &cmd)
            .await
    }

    /// The number of members; 0 when the sorted set does not exist.
    pub async fn len(&self) -> Result<u64> {
        let cmd = key_cmd("ZCARD", &self.handle.key()?);
        self.handle.read("len", &cmd).await
    }

    /// Whether the sorted set is empty (or does not exist).
    pub async fn is_empty(&self) -> Result<bool> {
        Ok(self.len().await? == 0)
    }

    /// The number of members scored within `min..max` (`ZCOUNT`).
    pub async fn count(&self, min: Bound<Z::Score>, max: Bound<Z::Score>) -> Result<u64> {
        let mut cmd = key_cmd("ZCOUNT", &self.handle.key()?);
        cmd.arg(Self::score_bound(min, "-inf")?)
            .arg(Self::score_bound(max, "+inf")?);
        self.handle.read("count", &cmd).await
    }

    /// Removes and returns the member with the lowest score; `None` when empty.
    pub async fn pop_min(&self) -> Result<Option<(Z::Member, Z::Score)>> {
        self.pop("ZPOPMIN", "pop_min").await
    }

    /// Removes and returns the member with the highest score.
    pub async fn pop_max(&self) -> Result<Option<(Z::Member, Z::Score)>> {
        self.pop("ZPOPMAX", "pop_max").await
    }

    async fn pop(
        &self,
        verb: &str,
        operation: &'static str,
    ) -> Result<Option<(Z::Member, Z::Score)>> {
        let cmd = key_cmd(verb, &self.handle.key()?);
        let reply: Value = self
            .handle
            .send_found(operation, Retry::Never, found_value, &cmd)
            .await?;
        Ok(Self::pairs(reply)?.into_iter().next())
    }
}
