//! Models with a version field, unique constraints or indexes
//! ([`Coordination`]): their writes, each one script over the entity and its
//! constraint keys, and their queries.
//!
//! The constraint keys of an entity share its hash tag: the entity key up to
//! the tag's closing brace, then `:` and the constraint's literal
//! (`org:{acme}:user:7` has `org:{acme}:User.index.role`). A rendered key
//! part never contains `}` and a namespace never does, so the first `}` of
//! an entity key closes its tag.

use std::ops::{Bound, RangeBounds};
use std::time::Duration;

use redis::Value;

use super::{Retry, Store, Target, decode_reply, key_error};
use crate::collection::Order;
use crate::error::{DecodeError, DecodeErrorKind, Error, Result};
use crate::key::{KeyPart, KeyWriter};
use crate::model::{Constraint, ConstraintKind, Coordination, Family, RedisModel};
use crate::script;
use crate::value::HashValue;

/// How many times [`Store::modify`] reads, changes and writes before it
/// gives up with the last [`Error::VersionConflict`].
pub const MODIFY_ATTEMPTS: u32 = 64;

/// Which part of a query's matches to read: skip `offset`, read at most
/// `limit` (`None`: all), in `order` (of the index: values for a range
/// index, entity keys for an equality index).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Page {
    /// Matches skipped first.
    pub offset: usize,
    /// At most this many; `None` for all.
    pub limit: Option<usize>,
    /// Ascending or descending.
    pub order: Order,
}

impl Page {
    /// Every match, ascending.
    pub const ALL: Page = Page {
        offset: 0,
        limit: None,
        order: Order::Ascending,
    };

    /// The first `limit` matches, ascending.
    pub const fn first(limit: usize) -> Page {
        Page {
            offset: 0,
            limit: Some(limit),
            order: Order::Ascending,
        }
    }

    /// The same page, after skipping `offset` matches.
    pub const fn offset(self, offset: usize) -> Page {
        Page { offset, ..self }
    }

    /// The same page in `order`.
    pub const fn order(self, order: Order) -> Page {
        Page { order, ..self }
    }
}

/// What a streamed query asks of an index.
#[doc(hidden)]
#[derive(Debug)]
pub enum IndexQuery<'a, V> {
    /// Entities whose field equals the value.
    Equal(&'a V),
    /// Entities whose field lies between the bounds.
    Range(Bound<&'a V>, Bound<&'a V>),
}

/// What a coordinated write does to the entity.
pub(crate) enum Op<'a> {
    /// A full save: the field/value pairs, and the TTL in milliseconds.
    Put {
        pairs: &'a [Vec<u8>],
        ttl: Option<u64>,
    },
    /// Changes as [`crate::Update`] encodes them (`s`, `c`, `i`).
    Patch(&'a [Vec<u8>]),
    /// Deletion.
    Del,
}

/// When a coordinated write applies.
#[derive(Clone, Copy, Default)]
pub(crate) struct Cond {
    /// Only if the entity does not exist.
    pub(crate) absent: bool,
    /// Only if it exists.
    pub(crate) present: bool,
    /// Only if its stored version is this one (0: also when it does not exist).
    pub(crate) version: Option<u64>,
    /// A deletion replies what it deleted.
    pub(crate) get: bool,
}

/// What a coordinated write did.
#[derive(Debug)]
pub(crate) enum Written {
    /// Applied: the stored version after it (models with a version field;
    /// `None` after a deletion), and the new value of each increment.
    Applied {
        version: Option<u64>,
        incremented: Vec<i64>,
        /// What a deletion with `get` deleted (its `HGETALL`).
        deleted: Value,
    },
    /// Not applied: the entity exists (condition `absent`); what is stored.
    Exists(Value),
    /// Not applied: the entity does not exist (condition `present`, a patch,
    /// a deletion).
    Missing,
}

/// The coordination of `M`, if it has any.
pub(crate) fn of<M: Family>() -> Option<&'static Coordination> {
    M::META.coordination
}

/// The constraint keys of the entity at `key`, in constraint order.
fn constraint_keys(key: &[u8], coordination: &Coordination) -> Option<Vec<Vec<u8>>> {
    let prefix = constraint_keys_prefix(key)?;
    Some(
        coordination
            .constraints
            .iter()
            .map(|c| {
                let mut k = Vec::with_capacity(prefix.len() + 1 + 32);
                k.extend_from_slice(prefix);
                k.push(b':');
                k.extend_from_slice(literal(c).as_bytes());
                k
            })
            .collect(),
    )
}

/// The literal that ends a constraint family's template.
fn literal(c: &Constraint) -> &'static str {
    match c.family.key.segments.last() {
        Some(crate::key::Segment::Literal(lit)) => lit,
        _ => "",
    }
}

fn kind_letter(kind: ConstraintKind) -> &'static str {
    match kind {
        ConstraintKind::Unique => "u",
        ConstraintKind::Index => "e",
        ConstraintKind::RangeIndex => "r",
    }
}

/// Lower-case hex, as the scripts write index members.
fn hex(bytes: &[u8]) -> Vec<u8> {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = Vec::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)]);
        out.push(DIGITS[usize::from(b & 15)]);
    }
    out
}

fn text(value: &Value) -> Option<&[u8]> {
    match value {
        Value::BulkString(b) => Some(b),
        Value::SimpleString(s) => Some(s.as_bytes()),
        _ => None,
    }
}

fn unexpected<M: Family>(what: &'static str) -> Error {
    Error::Decode(DecodeError::of::<M>(
        None,
        DecodeErrorKind::UnexpectedReply(what),
    ))
}

fn parse_u64<M: Family>(bytes: &[u8]) -> Result<u64> {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| unexpected::<M>("a version that is not an unsigned integer"))
}

/// The stored value of a field as an index compares it: its hash encoding.
/// `None` for a value stored as absent.
#[doc(hidden)]
pub(crate) fn index_value<T: HashValue>(value: &T) -> Option<Vec<u8>> {
    if !value.is_present() {
        return None;
    }
    let mut out: Vec<Vec<u8>> = Vec::with_capacity(1);
    value.write_hash_value(&mut out);
    out.pop()
}

/// What a range-indexed value or bound must be.
const RANGE_VALUE: &str = "a range-indexed value or bound must be a number a score holds \
     exactly: not NaN, and an integer within ±2^53";

/// One end of a range query as `ZRANGE BYSCORE` writes it; `Err` for a
/// bound a score cannot hold exactly (NaN, an integer beyond ±2^53).
fn score_bound<T: HashValue>(bound: Bound<&T>, infinity: &str) -> Result<String, ()> {
    let render = |v: &T| -> Result<String, ()> {
        let bytes = index_value(v).ok_or(())?;
        let text = String::from_utf8(bytes).map_err(|_| ())?;
        match text.parse::<i128>() {
            Ok(n) if n.unsigned_abs() > 1 << 53 => Err(()),
            Ok(_) => Ok(text),
            Err(_) => match text.parse::<f64>() {
                Ok(f) if !f.is_nan() => Ok(text),
                _ => Err(()),
            },
        }
    };
    Ok(match bound {
        Bound::Unbounded => infinity.to_owned(),
        Bound::Included(v) => render(v)?,
        Bound::Excluded(v) => format!("({}", render(v)?),
    })
}

impl Store {
    /// Runs a write of a coordinated model: one script over the entity and
    /// its constraint keys (and the keys of unique-value holders it asks to
    /// check, a second run at most per holder).
    pub(crate) async fn coordinated_write<M: Family>(
        &self,
        operation: &'static str,
        retry: Retry,
        key: &[u8],
        op: Op<'_>,
        cond: Cond,
    ) -> Result<Written> {
        let coordination = of::<M>().ok_or_else(|| unexpected::<M>("a coordinated model"))?;
        let work =
            self.coordinated_write_parts::<M>(operation, retry, key, &op, cond, coordination);
        self.observed(Target::of::<M>(), operation, 1, work).await
    }

    async fn coordinated_write_parts<M: Family>(
        &self,
        operation: &'static str,
        retry: Retry,
        key: &[u8],
        op: &Op<'_>,
        cond: Cond,
        coordination: &'static Coordination,
    ) -> Result<Written> {
        let constraint_keys = constraint_keys(key, coordination)
            .ok_or_else(|| unexpected::<M>("a key with a hash tag"))?;
        let mut args: Vec<Vec<u8>> = Vec::with_capacity(8 + 2 * coordination.constraints.len());
        args.push(coordination.constraints.len().to_string().into_bytes());
        for c in coordination.constraints {
            args.push(kind_letter(c.kind).into());
            args.push(c.stored_as.into());
        }
        args.push(coordination.version.unwrap_or("").into());
        let (op_name, ttl, rest): (&str, Option<u64>, &[Vec<u8>]) = match op {
            Op::Put { pairs, ttl } => ("put", *ttl, pairs),
            Op::Patch(changes) => ("patch", None, changes),
            Op::Del => ("del", None, &[]),
        };
        args.push(op_name.into());
        let mut flags = String::new();
        if cond.absent {
            flags.push('n');
        }
        if cond.present {
            flags.push('x');
        }
        if cond.version.is_some() {
            flags.push('v');
        }
        if cond.get {
            flags.push('g');
        }
        args.push(flags.into_bytes());
        args.push(
            cond.version
                .map(|v| v.to_string())
                .unwrap_or_default()
                .into_bytes(),
        );
        args.push(ttl.map(|t| t.to_string()).unwrap_or_default().into_bytes());
        let mut holders: Vec<Vec<u8>> = Vec::new();
        loop {
            let mut keys: Vec<&[u8]> =
                Vec::with_capacity(1 + constraint_keys.len() + holders.len());
            keys.push(key);
            keys.extend(constraint_keys.iter().map(Vec::as_slice));
            keys.extend(holders.iter().map(Vec::as_slice));
            let (keys, args) = (&keys, &args);
            let reply: Value = self
                .query_part::<M, Value, _, _>(operation, retry, |mut con| async move {
                    script::COORDINATED_WRITE
                        .run(&mut con, keys, |cmd| {
                            for arg in args {
                                cmd.arg(arg);
                            }
                            for arg in rest {
                                cmd.arg(arg);
                            }
                        })
                        .await
                })
                .await?;
            let Value::Array(items) = reply else {
                return Err(unexpected::<M>("an array from a coordinated write"));
            };
            let status = items.first().and_then(text).unwrap_or_default();
            let second = items.get(1).and_then(text);
            match status {
                b"ok" => {
                    let version = match second {
                        Some(v) if !v.is_empty() => Some(parse_u64::<M>(v)?),
                        _ => None,
                    };
                    if cond.get {
                        let mut items = items;
                        let deleted = if items.len() > 2 {
                            items.swap_remove(2)
                        } else {
                            Value::Nil
                        };
                        return Ok(Written::Applied {
                            version,
                            incremented: Vec::new(),
                            deleted,
                        });
                    }
                    let incremented = items[2..]
                        .iter()
                        .map(|v| {
                            text(v)
                                .and_then(|b| std::str::from_utf8(b).ok())
                                .and_then(|s| s.parse().ok())
                                .ok_or_else(|| unexpected::<M>("an incremented integer"))
                        })
                        .collect::<Result<Vec<i64>>>()?;
                    return Ok(Written::Applied {
                        version,
                        incremented,
                        deleted: Value::Nil,
                    });
                }
                b"exists" => {
                    let mut items = items;
                    let stored = if items.len() > 1 {
                        items.swap_remove(1)
                    } else {
                        Value::Nil
                    };
                    return Ok(Written::Exists(stored));
                }
                b"missing" => return Ok(Written::Missing),
                b"conflict" => {
                    let found = match second {
                        Some(v) if !v.is_empty() => Some(parse_u64::<M>(v)?),
                        _ => None,
                    };
                    return Err(Error::VersionConflict {
                        operation,
                        model: M::META.name,
                        key_template: M::META.key.source,
                        expected: cond.version.unwrap_or(0),
                        found,
                    });
                }
                b"unique" => {
                    let stored = second.unwrap_or_default();
                    let field = coordination
                        .constraints
                        .iter()
                        .find(|c| c.stored_as.as_bytes() == stored)
                        .map_or("?", |c| c.field);
                    return Err(Error::UniqueViolation {
                        operation,
                        model: M::META.name,
                        key_template: M::META.key.source,
                        field,
                    });
                }
                b"range" => {
                    let stored = second.unwrap_or_default();
                    let field = coordination
                        .constraints
                        .iter()
                        .find(|c| c.stored_as.as_bytes() == stored)
                        .map(|c| c.field);
                    return Err(Error::encode::<M>(field, RANGE_VALUE.to_owned()));
                }
                b"check" => {
                    let holder = second.unwrap_or_default().to_vec();
                    // Only an entity key of this model under the same tag
                    // is declared: it is in the same hash slot.
                    let same_family = self.entity_in_scope::<M>(&holder, key).is_some();
                    if !same_family || holders.contains(&holder) || holders.len() >= 8 {
                        return Err(unexpected::<M>(
                            "a unique constraint naming an entity key of the same hash tag",
                        ));
                    }
                    holders.push(holder);
                }
                _ => return Err(unexpected::<M>("a coordinated write's status")),
            }
        }
    }

    /// Reads an entity, lets `change` modify it, and saves it only if nobody
    /// wrote it in between (its `#[redis(version)]` field is compared and
    /// incremented by the same script); on a conflict, reads again and
    /// retries, at most [`MODIFY_ATTEMPTS`] times, with a random pause
    /// between zero and a bound that doubles from 1 ms up to 50 ms (full
    /// jitter, so contending writers spread out).
    ///
    /// Returns the entity as saved, its version field the new version;
    /// `None` when it does not exist (nothing written). `change` may run
    /// several times, each time on a fresh read; it must not have effects of
    /// its own. After the last attempt the conflict is returned
    /// ([`Error::VersionConflict`]); a [`Error::UniqueViolation`] is returned
    /// at once.
    pub async fn modify<M, F>(&self, id: &M::Id, mut change: F) -> Result<Option<M>>
    where
        M: RedisModel,
        F: FnMut(&mut M),
    {
        const OP: &str = "modify";
        let mut pause = Duration::from_millis(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let Some(mut model) = self.get::<M>(id).await? else {
                return Ok(None);
            };
            let Some(expected) = model.stored_version() else {
                return Err(Error::Config(format!(
                    "`modify` needs a `#[redis(version)]` field, and {} has none",
                    M::META.name
                )));
            };
            change(&mut model);
            match self
                .put_coordinated(OP, &model, M::META.ttl, Some(expected))
                .await
            {
                Ok(version) => {
                    if let Some(version) = version {
                        model.set_stored_version(version);
                    }
                    return Ok(Some(model));
                }
                Err(Error::VersionConflict { found: None, .. }) => return Ok(None),
                Err(err @ Error::VersionConflict { .. }) if attempt >= MODIFY_ATTEMPTS => {
                    return Err(err);
                }
                Err(Error::VersionConflict { .. }) => {
                    let jitter = fastrand::u64(0..=pause.as_micros() as u64);
                    tokio::time::sleep(Duration::from_micros(jitter)).await;
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// Changes of a coordinated model's existing entity, as [`crate::Update`]
    /// encodes them: the new value of each increment, or `None` when the
    /// entity does not exist. Bumps the version field.
    pub(crate) async fn patch_coordinated<M: Family>(
        &self,
        operation: &'static str,
        retry: Retry,
        key: &[u8],
        changes: &[Vec<u8>],
    ) -> Result<Option<Vec<i64>>> {
        self.patch_coordinated_if::<M>(operation, retry, key, changes, Cond::default())
            .await
    }

    /// [`Store::patch_coordinated`] under `cond` (a version to compare).
    pub(crate) async fn patch_coordinated_if<M: Family>(
        &self,
        operation: &'static str,
        retry: Retry,
        key: &[u8],
        changes: &[Vec<u8>],
        cond: Cond,
    ) -> Result<Option<Vec<i64>>> {
        let written = self
            .coordinated_write::<M>(operation, retry, key, Op::Patch(changes), cond)
            .await?;
        Ok(match written {
            Written::Applied { incremented, .. } => Some(incremented),
            Written::Exists(_) | Written::Missing => None,
        })
    }

    /// A full save of a coordinated model under `cond`, with the model TTL.
    pub(crate) async fn put_with<M: RedisModel>(
        &self,
        operation: &'static str,
        retry: Retry,
        model: &M,
        cond: Cond,
    ) -> Result<Written> {
        let ttl = M::META
            .ttl
            .map(|ttl| super::ttl_millis::<M>(operation, ttl))
            .transpose()?;
        let key = self.render_own_key(model)?;
        let pairs = super::conditional::hash_pairs(model)?;
        self.coordinated_write::<M>(operation, retry, &key, Op::Put { pairs: &pairs, ttl }, cond)
            .await
    }

    /// A full save of a coordinated model (`expected`: compare the version).
    /// Returns the stored version after it.
    pub(crate) async fn put_coordinated<M: RedisModel>(
        &self,
        operation: &'static str,
        model: &M,
        ttl: Option<Duration>,
        expected: Option<u64>,
    ) -> Result<Option<u64>> {
        let ttl = ttl
            .map(|ttl| super::ttl_millis::<M>(operation, ttl))
            .transpose()?;
        let key = self.render_own_key(model)?;
        let pairs = super::conditional::hash_pairs(model)?;
        let cond = Cond {
            version: expected,
            ..Cond::default()
        };
        match self
            .coordinated_write::<M>(
                operation,
                Retry::Once,
                &key,
                Op::Put { pairs: &pairs, ttl },
                cond,
            )
            .await?
        {
            Written::Applied { version, .. } => Ok(version),
            // Only with conditions this call does not set.
            Written::Exists(_) | Written::Missing => Err(unexpected::<M>("an applied save")),
        }
    }

    /// Streams the entities of `M` in `scope` whose indexed field equals
    /// `value` (an equality index) or lies in `range` (a range index), a page
    /// of `page` members at a time, resuming after the last member read (so
    /// members removed or added meanwhile never make it skip one that stays).
    /// Each page is checked as [`Store::find_indexed`] checks one.
    #[doc(hidden)]
    pub fn stream_indexed<M, S, V>(
        &self,
        constraint: usize,
        scope: &S,
        query: IndexQuery<'_, V>,
        page: usize,
    ) -> impl futures_util::Stream<Item = Result<M>> + Send + 'static + use<M, S, V>
    where
        M: RedisModel,
        S: KeyPart,
        V: HashValue,
    {
        use futures_util::StreamExt;
        struct State {
            store: Store,
            c: &'static Constraint,
            index_key: Vec<u8>,
            /// Equality: the stored value; range: `min max`.
            value: Vec<u8>,
            /// The next `ZRANGE` start (`[hex:`, then `(last member`; for a
            /// range: the last score) and stop.
            start: Vec<u8>,
            stop: Vec<u8>,
            /// Range: members already read at the score `start` names.
            skip: usize,
            done: bool,
        }
        let page = page.max(1);
        let setup = (|| -> Result<State> {
            let (c, index_key) = self.constraint_key::<M, S>(constraint, scope)?;
            let state = match query {
                IndexQuery::Equal(value) => {
                    let stored = index_value(value).unwrap_or_default();
                    let mut lo = hex(&stored);
                    lo.push(b':');
                    let mut hi = lo.clone();
                    *hi.last_mut().expect("not empty") = b';';
                    State {
                        store: self.clone(),
                        c,
                        index_key,
                        start: [b"[".as_slice(), &lo].concat(),
                        stop: [b"(".as_slice(), &hi].concat(),
                        value: stored,
                        skip: 0,
                        done: index_value(value).is_none(),
                    }
                }
                IndexQuery::Range(lo, hi) => {
                    let bad = || Error::encode::<M>(Some(c.field), RANGE_VALUE.to_owned());
                    let lo = score_bound(lo, "-inf").map_err(|()| bad())?;
                    let hi = score_bound(hi, "+inf").map_err(|()| bad())?;
                    State {
                        store: self.clone(),
                        c,
                        index_key,
                        value: format!("{lo} {hi}").into_bytes(),
                        start: lo.into_bytes(),
                        stop: hi.into_bytes(),
                        skip: 0,
                        done: false,
                    }
                }
            };
            Ok(state)
        })();
        let first = match setup {
            Ok(state) => Ok(state),
            Err(err) => Err(Some(err)),
        };
        futures_util::stream::unfold(first, move |state| async move {
            let mut state = match state {
                Ok(state) if !state.done => state,
                Ok(_) | Err(None) => return None,
                Err(Some(err)) => return Some((vec![Err(err)], Err(None))),
            };
            let range = state.c.kind == ConstraintKind::RangeIndex;
            let by = if range { "BYSCORE" } else { "BYLEX" };
            let window = Page {
                offset: state.skip,
                limit: Some(page),
                order: Order::Ascending,
            };
            let store = state.store.clone();
            let members = match store
                .index_members::<M>(
                    "find",
                    &state.index_key,
                    &state.start,
                    &state.stop,
                    by,
                    window,
                )
                .await
            {
                Ok(members) => members,
                Err(err) => return Some((vec![Err(err)], Err(None))),
            };
            if members.len() < page {
                state.done = true;
            }
            let last = members.last().cloned()?;
            let (keys, letter): (Vec<Vec<u8>>, &[u8]) = if range {
                (members.clone(), b"r")
            } else {
                // `hex(value):` before each member's entity key.
                let prefix = state.value.len() * 2 + 1;
                (
                    members
                        .iter()
                        .map(|m| m[prefix.min(m.len())..].to_vec())
                        .collect(),
                    b"e",
                )
            };
            let mut members = members;
            let mut keys = keys;
            if range && !state.done {
                // Resume after the last member's score; every member of
                // that score joins this page, so ties are never split.
                let tied: Result<(Option<f64>, Vec<Vec<u8>>)> = async {
                    let score: Option<f64> = store
                        .query_part::<M, _, _, _>("find", Retry::Once, |mut con| {
                            let mut cmd = redis::cmd("ZSCORE");
                            cmd.arg(&state.index_key).arg(&last);
                            async move { cmd.query_async(&mut con).await }
                        })
                        .await?;
                    let Some(score) = score else {
                        return Ok((None, Vec::new()));
                    };
                    let text = format!("{score}");
                    let tied = store
                        .index_members::<M>(
                            "find",
                            &state.index_key,
                            text.as_bytes(),
                            text.as_bytes(),
                            "BYSCORE",
                            Page::ALL,
                        )
                        .await?;
                    Ok((Some(score), tied))
                }
                .await;
                match tied {
                    Ok((Some(score), tied)) => {
                        for member in tied {
                            if !members.contains(&member) {
                                keys.push(member.clone());
                                members.push(member);
                            }
                        }
                        state.start = format!("({score}").into_bytes();
                        state.skip = 0;
                    }
                    // The last member went meanwhile: resume after the
                    // members read (the check drops what no longer holds).
                    Ok((None, _)) => state.skip += members.len(),
                    Err(err) => return Some((vec![Err(err)], Err(None))),
                }
            } else if !range {
                state.start = [b"(".as_slice(), &last].concat();
            }
            let found = store
                .index_check::<M>(
                    "find",
                    &state.index_key,
                    letter,
                    &state.value,
                    state.c,
                    &members,
                    &keys,
                )
                .await;
            let items: Vec<Result<M>> = match found {
                Ok(found) => found.into_iter().map(Ok).collect(),
                Err(err) => {
                    state.done = true;
                    vec![Err(err)]
                }
            };
            Some((items, Ok(state)))
        })
        .flat_map(futures_util::stream::iter)
    }

    /// The entities of `M` in the scope `scope` (the hash tag's value) whose
    /// indexed field (constraint number `constraint`) equals `value`.
    #[doc(hidden)]
    pub async fn find_indexed<M: RedisModel, S: KeyPart, V: HashValue>(
        &self,
        constraint: usize,
        scope: &S,
        value: &V,
        page: Page,
    ) -> Result<Vec<M>> {
        const OP: &str = "find";
        let (c, index_key) = self.constraint_key::<M, S>(constraint, scope)?;
        let Some(stored) = index_value(value) else {
            return Ok(Vec::new());
        };
        let mut lo = hex(&stored);
        lo.push(b':');
        let mut hi = lo.clone();
        *hi.last_mut().expect("not empty") = b';';
        let (start, stop) = match page.order {
            Order::Ascending => (
                [b"[".as_slice(), &lo].concat(),
                [b"(".as_slice(), &hi].concat(),
            ),
            Order::Descending => (
                [b"(".as_slice(), &hi].concat(),
                [b"[".as_slice(), &lo].concat(),
            ),
        };
        let prefix = lo.len();
        let work = async {
            let members = self
                .index_members::<M>(OP, &index_key, &start, &stop, "BYLEX", page)
                .await?;
            let keys: Vec<Vec<u8>> = members
                .iter()
                .map(|m| m[prefix.min(m.len())..].to_vec())
                .collect();
            self.index_check::<M>(OP, &index_key, b"e", &stored, c, &members, &keys)
                .await
        };
        self.observed(Target::of::<M>(), OP, 1, work).await
    }

    /// The entities of `M` in `scope` whose range-indexed field (constraint
    /// number `constraint`) lies in `range`, in the order of the values.
    #[doc(hidden)]
    pub async fn find_in_range<M: RedisModel, S: KeyPart, V: HashValue>(
        &self,
        constraint: usize,
        scope: &S,
        range: impl RangeBounds<V>,
        page: Page,
    ) -> Result<Vec<M>> {
        const OP: &str = "find";
        let (c, index_key) = self.constraint_key::<M, S>(constraint, scope)?;
        let bad = || Error::encode::<M>(Some(c.field), RANGE_VALUE.to_owned());
        let lo = score_bound(range.start_bound(), "-inf").map_err(|()| bad())?;
        let hi = score_bound(range.end_bound(), "+inf").map_err(|()| bad())?;
        let (start, stop) = match page.order {
            Order::Ascending => (lo.clone(), hi.clone()),
            Order::Descending => (hi.clone(), lo.clone()),
        };
        let bounds = format!("{lo} {hi}");
        let work = async {
            let members = self
                .index_members::<M>(
                    OP,
                    &index_key,
                    start.as_bytes(),
                    stop.as_bytes(),
                    "BYSCORE",
                    page,
                )
                .await?;
            self.index_check::<M>(
                OP,
                &index_key,
                b"r",
                bounds.as_bytes(),
                c,
                &members,
                &members,
            )
            .await
        };
        self.observed(Target::of::<M>(), OP, 1, work).await
    }

    /// How many entities of `M` in `scope` hold `value` in an indexed field
    /// (or, `range` given for a range index, lie in it): the query's matches,
    /// checked as [`Store::find_indexed`] checks them.
    #[doc(hidden)]
    pub async fn count_indexed<M: RedisModel, S: KeyPart, V: HashValue>(
        &self,
        constraint: usize,
        scope: &S,
        value: &V,
    ) -> Result<u64> {
        Ok(self
            .find_indexed::<M, S, V>(constraint, scope, value, Page::ALL)
            .await?
            .len() as u64)
    }

    /// [`Store::count_indexed`] for a range index.
    #[doc(hidden)]
    pub async fn count_in_range<M: RedisModel, S: KeyPart, V: HashValue>(
        &self,
        constraint: usize,
        scope: &S,
        range: impl RangeBounds<V>,
    ) -> Result<u64> {
        Ok(self
            .find_in_range::<M, S, V>(constraint, scope, range, Page::ALL)
            .await?
            .len() as u64)
    }

    /// The entity of `M` in `scope` holding `value` in a unique field.
    #[doc(hidden)]
    pub async fn find_unique<M: RedisModel, S: KeyPart, V: HashValue>(
        &self,
        constraint: usize,
        scope: &S,
        value: &V,
    ) -> Result<Option<M>> {
        const OP: &str = "find";
        let (c, unique_key) = self.constraint_key::<M, S>(constraint, scope)?;
        let Some(stored) = index_value(value) else {
            return Ok(None);
        };
        let work = async {
            for _ in 0..8 {
                let holder: Option<Vec<u8>> = self
                    .query_part::<M, _, _, _>(OP, Retry::Once, |mut con| {
                        let mut cmd = redis::cmd("HGET");
                        cmd.arg(&unique_key).arg(&stored);
                        async move { cmd.query_async(&mut con).await }
                    })
                    .await?;
                let Some(holder) = holder else {
                    return Ok(None);
                };
                let Some(id) = self.entity_in_scope::<M>(&holder, &unique_key) else {
                    return Err(unexpected::<M>(
                        "a unique constraint naming an entity key of the same hash tag",
                    ));
                };
                let (unique_key, holder, stored) = (&unique_key, &holder, &stored);
                let reply: Value = self
                    .query_part::<M, Value, _, _>(OP, Retry::Once, |mut con| async move {
                        script::UNIQUE_CHECK
                            .run(&mut con, &[unique_key, holder], |cmd| {
                                cmd.arg(c.stored_as).arg(stored);
                            })
                            .await
                    })
                    .await?;
                match reply {
                    Value::Int(0) => continue,
                    value => return decode_reply::<M>(&id, value),
                }
            }
            Err(unexpected::<M>("a unique constraint that stops changing"))
        };
        self.observed(Target::of::<M>(), OP, 1, work).await
    }

    /// Removes, in `scope`, index members and unique claims of `M` whose
    /// entity no longer holds them (it expired, or was changed by a write
    /// that bypassed the store), reading at most `budget` members or claims
    /// per constraint, in pages of 100. Returns how many it removed. Queries
    /// already skip and remove what they meet; this cleans what nobody
    /// queries.
    pub async fn repair<M: RedisModel, S: KeyPart>(&self, scope: &S, budget: usize) -> Result<u64> {
        const OP: &str = "repair";
        const PAGE: usize = 100;
        let Some(coordination) = of::<M>() else {
            return Ok(0);
        };
        let work = async {
            let mut removed = 0u64;
            for (i, c) in coordination.constraints.iter().enumerate() {
                let (_, ckey) = self.constraint_key::<M, S>(i, scope)?;
                let mut seen = 0usize;
                if budget == 0 {
                    break;
                }
                match c.kind {
                    ConstraintKind::Unique => {
                        let mut cursor = 0u64;
                        loop {
                            let ckey = &ckey;
                            let want = PAGE.min(budget - seen);
                            let (next, flat): (u64, Vec<Vec<u8>>) = self
                                .query_part::<M, _, _, _>(OP, Retry::Once, |mut con| {
                                    let mut cmd = redis::cmd("HSCAN");
                                    cmd.arg(ckey).arg(cursor).arg("COUNT").arg(want);
                                    async move { cmd.query_async(&mut con).await }
                                })
                                .await?;
                            // COUNT is a hint: a page may hold more than
                            // asked; what is beyond the budget is not read.
                            let flat = &flat[..flat.len().min(2 * want)];
                            let mut values = Vec::new();
                            let mut holders = Vec::new();
                            for pair in flat.chunks_exact(2) {
                                if self.entity_in_scope::<M>(&pair[1], ckey).is_some() {
                                    values.push(pair[0].clone());
                                    holders.push(pair[1].clone());
                                }
                            }
                            seen += flat.len() / 2;
                            if !holders.is_empty() {
                                let mut keys: Vec<&[u8]> = vec![ckey];
                                keys.extend(holders.iter().map(Vec::as_slice));
                                let (keys, values) = (&keys, &values);
                                let n: u64 = self
                                    .query_part::<M, _, _, _>(
                                        OP,
                                        Retry::Once,
                                        |mut con| async move {
                                            let reply = script::UNIQUE_REPAIR
                                                .run(&mut con, keys, |cmd| {
                                                    cmd.arg(c.stored_as);
                                                    for v in values {
                                                        cmd.arg(v);
                                                    }
                                                })
                                                .await?;
                                            redis::FromRedisValue::from_redis_value(reply)
                                                .map_err(Into::into)
                                        },
                                    )
                                    .await?;
                                removed += n;
                            }
                            cursor = next;
                            if cursor == 0 || seen >= budget {
                                break;
                            }
                        }
                    }
                    ConstraintKind::Index | ConstraintKind::RangeIndex => {
                        // Members are visited by rank; the ones removed
                        // shift the rest down, so the next page starts at
                        // the rank after the kept ones.
                        let mut rank = 0usize;
                        while seen < budget {
                            let ckey = &ckey;
                            let stop = rank + PAGE.min(budget - seen) - 1;
                            let members: Vec<Vec<u8>> = self
                                .query_part::<M, _, _, _>(OP, Retry::Once, |mut con| {
                                    let mut cmd = redis::cmd("ZRANGE");
                                    cmd.arg(ckey).arg(rank).arg(stop);
                                    async move { cmd.query_async(&mut con).await }
                                })
                                .await?;
                            if members.is_empty() {
                                break;
                            }
                            seen += members.len();
                            let before = members.len();
                            let kept = self.repair_members::<M>(OP, ckey, c, &members).await?;
                            removed += (before - kept) as u64;
                            rank += kept;
                            if before < PAGE.min(budget - (seen - before)) {
                                break;
                            }
                        }
                    }
                }
            }
            Ok(removed)
        };
        self.observed(Target::of::<M>(), OP, 1, work).await
    }

    /// Checks index `members` of constraint `c` and removes the stale ones;
    /// returns how many were kept.
    async fn repair_members<M: RedisModel>(
        &self,
        operation: &'static str,
        index_key: &[u8],
        c: &'static Constraint,
        members: &[Vec<u8>],
    ) -> Result<usize> {
        let mut kept = 0;
        // Equality members carry their value: check per value.
        // Per value: the members and their entity keys.
        type Group = (Vec<u8>, Vec<Vec<u8>>, Vec<Vec<u8>>);
        let mut groups: Vec<Group> = Vec::new();
        for member in members {
            let (value, key) = match c.kind {
                ConstraintKind::Index => {
                    let Some(colon) = member.iter().position(|b| *b == b':') else {
                        continue;
                    };
                    let Some(value) = unhex(&member[..colon]) else {
                        continue;
                    };
                    (value, member[colon + 1..].to_vec())
                }
                _ => (b"-inf +inf".to_vec(), member.clone()),
            };
            if self.entity_in_scope::<M>(&key, index_key).is_none() {
                // Not an entity of this scope: nothing a query would use.
                kept += 1;
                continue;
            }
            match groups.iter_mut().find(|g| g.0 == value) {
                Some(g) => {
                    g.1.push(member.clone());
                    g.2.push(key);
                }
                None => groups.push((value, vec![member.clone()], vec![key])),
            }
        }
        let letter: &[u8] = match c.kind {
            ConstraintKind::Index => b"e",
            _ => b"r",
        };
        for (value, members, keys) in &groups {
            let found = self
                .index_check::<M>(operation, index_key, letter, value, c, members, keys)
                .await?;
            kept += found.len();
        }
        Ok(kept)
    }

    /// The id of `key` when it is an entity key of `M` under the same hash
    /// tag as `scope_key` (so in its slot): the only keys a script here may
    /// declare besides the constraint keys.
    fn entity_in_scope<M: Family>(&self, key: &[u8], scope_key: &[u8]) -> Option<M::Id> {
        let id = crate::key::parse_key::<M>(&self.namespace, key)?.ok()?;
        let prefix = constraint_keys_prefix(key)?;
        (Some(prefix) == constraint_keys_prefix(scope_key)).then_some(id)
    }

    /// A constraint of `M` and its key in `scope`.
    fn constraint_key<M: RedisModel, S: KeyPart>(
        &self,
        constraint: usize,
        scope: &S,
    ) -> Result<(&'static Constraint, Vec<u8>)> {
        let c = of::<M>()
            .and_then(|coordination| coordination.constraints.get(constraint))
            .ok_or_else(|| unexpected::<M>("a declared constraint"))?;
        let mut buf = Vec::with_capacity(self.namespace.len() + c.family.key.source.len() + 16);
        KeyWriter::new(&mut buf, &self.namespace, &c.family.key)
            .part(scope)
            .map_err(key_error::<M>)?;
        Ok((c, buf))
    }

    /// A query's first step: the index members in `[start, stop]` (`ZRANGE
    /// key start stop BYLEX|BYSCORE [REV] [LIMIT offset count]`).
    async fn index_members<M: RedisModel>(
        &self,
        operation: &'static str,
        index_key: &[u8],
        start: &[u8],
        stop: &[u8],
        by: &'static str,
        page: Page,
    ) -> Result<Vec<Vec<u8>>> {
        let mut cmd = redis::cmd("ZRANGE");
        cmd.arg(index_key).arg(start).arg(stop).arg(by);
        if page.order == Order::Descending {
            cmd.arg("REV");
        }
        if page.offset > 0 || page.limit.is_some() {
            let count = page
                .limit
                .map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX));
            cmd.arg("LIMIT")
                .arg(i64::try_from(page.offset).unwrap_or(i64::MAX))
                .arg(count);
        }
        let cmd = &cmd;
        self.query_part::<M, _, _, _>(operation, Retry::Once, |mut con| async move {
            cmd.query_async(&mut con).await
        })
        .await
    }

    /// A query's second step ([`script::INDEX_CHECK`]): the candidates'
    /// entities, the stale members removed.
    #[allow(clippy::too_many_arguments)]
    async fn index_check<M: RedisModel>(
        &self,
        operation: &'static str,
        index_key: &[u8],
        kind: &[u8],
        value: &[u8],
        c: &'static Constraint,
        members: &[Vec<u8>],
        keys: &[Vec<u8>],
    ) -> Result<Vec<M>> {
        if members.is_empty() {
            return Ok(Vec::new());
        }
        // Only entity keys of this model and scope are declared (the same
        // hash slot); a member naming anything else is skipped.
        let mut ids = Vec::with_capacity(keys.len());
        let mut checked_keys: Vec<&[u8]> = vec![index_key];
        let mut checked_members: Vec<&[u8]> = Vec::new();
        for (member, key) in members.iter().zip(keys) {
            let Some(id) = self.entity_in_scope::<M>(key, index_key) else {
                continue;
            };
            ids.push(id);
            checked_keys.push(key);
            checked_members.push(member);
        }
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let (checked_keys, checked_members) = (&checked_keys, &checked_members);
        let replies: Vec<Value> = self
            .query_part::<M, _, _, _>(operation, Retry::Once, |mut con| async move {
                let reply = script::INDEX_CHECK
                    .run(&mut con, checked_keys, |cmd| {
                        cmd.arg(kind).arg(value).arg(c.stored_as);
                        for m in checked_members {
                            cmd.arg(*m);
                        }
                    })
                    .await?;
                redis::FromRedisValue::from_redis_value(reply).map_err(Into::into)
            })
            .await?;
        let mut found = Vec::with_capacity(replies.len());
        for (id, reply) in ids.iter().zip(replies) {
            if matches!(reply, Value::Int(_)) {
                continue;
            }
            if let Some(model) = decode_reply::<M>(id, reply)? {
                found.push(model);
            }
        }
        Ok(found)
    }
}

/// The part of a key up to its hash tag's closing brace.
fn constraint_keys_prefix(key: &[u8]) -> Option<&[u8]> {
    let close = key.iter().position(|b| *b == b'}')?;
    Some(&key[..=close])
}

fn unhex(s: &[u8]) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    s.chunks_exact(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        for bytes in [&b""[..], b"a", b"\x00\xff:}", "é".as_bytes()] {
            assert_eq!(unhex(&hex(bytes)).as_deref(), Some(bytes));
        }
        assert_eq!(hex(b"\x00\xab"), b"00ab");
        assert_eq!(unhex(b"0"), None);
        assert_eq!(unhex(b"zz"), None);
    }
}
