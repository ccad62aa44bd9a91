//! Collections: the Redis data types beyond entities, declared like models.
//!
//! A declaration is a struct whose fields are its key template's
//! placeholders (the *partition*: which set, which leaderboard, which
//! counter); the element types are named in the attribute. The derive checks
//! the template at compile time exactly as for models (escaping, hash tags,
//! `keyspace!` collisions, the manifest, the ACL rule, doctor), and the
//! [`Store`] hands out a typed handle per key:
//!
//! ```no_run
//! use redis_runtime::{RedisCounter, RedisSet, RedisSortedSet, Store};
//!
//! /// The members of a room: one Redis set per room.
//! #[derive(RedisSet)]
//! #[redis(key = "room:{room}:members", member = u64, ttl = "1d")]
//! struct RoomMembers { room: String }
//!
//! /// Clicks per link: one sorted set per tenant.
//! #[derive(RedisSortedSet)]
//! #[redis(key = "tenant:{tenant}:top-links", member = String, score = u64)]
//! struct TopLinks { tenant: String }
//!
//! /// Logins per user and minute: a fixed-window rate limit.
//! #[derive(RedisCounter)]
//! #[redis(key = "limit:login:{user}", ttl = "1m")]
//! struct LoginAttempts { user: u64 }
//!
//! # async fn run(store: Store) -> redis_runtime::Result<()> {
//! let room = "lobby".to_owned();
//! store.set::<RoomMembers>(&room).add(&7).await?;
//! let present: bool = store.set::<RoomMembers>(&room).contains(&7).await?;
//!
//! let tenant = "acme".to_owned();
//! store.sorted_set::<TopLinks>(&tenant).incr(&"abc".to_owned(), 1).await?;
//! let top: Vec<(String, u64)> = store.sorted_set::<TopLinks>(&tenant).top(10).await?;
//!
//! if store.counter::<LoginAttempts>(&7).hit(5).await?.allowed() {
//!     // at most 5 attempts per window
//! }
//! # Ok(()) }
//! ```
//!
//! Why this shape (a struct of key parts, element types in the attribute)
//! rather than one struct per element: a key's elements are many and its
//! parts are few, and handles read the way Redis works, one key at a time.
//!
//! **Elements.** Set and sorted-set members and map fields are written as
//! key parts ([`KeyPart`]: strings, integers, `bool`, `char`,
//! UUIDs and `#[derive(KeyPart)]` newtypes), unescaped, so other clients
//! read them as plain text; with the container attribute `json` they are
//! serde JSON instead (struct fields in declaration order, so equal values
//! are equal members). List items are serde JSON. Map values are hash values
//! ([`HashValue`]), or JSON with `json`. Scores are
//! [`Score`] types. A stored element that does not decode is an
//! [`Error::Decode`] naming the declaration, its
//! template and the element (`member`, `score`, `item`, `field`, `value`),
//! never the stored bytes.
//!
//! **Absent and empty.** Redis deletes a collection whose last element is
//! removed, and a key that does not exist reads as an empty collection (a
//! counter as 0): reads of an absent key are well defined, never errors.
//!
//! **TTL policy**, for every kind with a declared `ttl`:
//!
//! | write | what it does to the TTL |
//! |---|---|
//! | the write that creates the key (`add`, `incr`, `push`, `set`, `hit`...) | arms the declared TTL (`PEXPIRE ... NX`, in one script after the write, so a write the server refuses arms nothing) |
//! | any later write | keeps the TTL: a rate-limit window is never extended by its hits |
//! | a store form of set algebra (`store_union`...) | the destination is replaced, and gets the declared TTL |
//! | `Store::expire`, `persist`, `refresh_ttl` | change it explicitly |
//!
//! A key that expired and is written again is a new key: it gets the TTL
//! again. Without a declared `ttl`, keys never expire unless told to.
//!
//! **Several keys.** Operations over two keys of a family (`move_member`,
//! set algebra) need both keys in one hash slot, so on a Redis Cluster they
//! run as one command: give the template a `hash_tag` and use ids that share
//! the tagged part. Keys in two slots are refused with
//! [`Error::CrossSlot`] before anything is sent, on
//! one server too.

use std::marker::PhantomData;

use crate::error::{DecodeError, DecodeErrorKind, Error, Result};
use crate::key::KeyPart;
use crate::model::{Family, HashValue};
use crate::script::{self, LuaScript};
use crate::store::{Retry, Store};

mod counter;
mod list;
mod map;
mod set;
mod sorted_set;

pub use counter::{Counter, RateLimit};
pub use list::{Delivery, List};
pub use map::Map;
pub use set::Set;
pub use sorted_set::{Bound, Limit, Order, SortedSet, ZAdd};

/// A set per key: `#[derive(RedisSet)]` with `member = T`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a Redis set declaration",
    note = "derive `RedisSet` for `{Self}` with `#[redis(key = \"...\", member = T)]`"
)]
pub trait RedisSet: Family {
    /// The members' type.
    type Member: Send + Sync;
    /// How members are written and read.
    #[doc(hidden)]
    type MemberCodec: ElementCodec<Self::Member>;
}

/// A sorted set per key: `#[derive(RedisSortedSet)]` with `member = T` and
/// `score = S`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a Redis sorted set declaration",
    note = "derive `RedisSortedSet` for `{Self}` with `#[redis(key = \"...\", member = T, score = f64)]`"
)]
pub trait RedisSortedSet: Family {
    /// The members' type.
    type Member: Send + Sync;
    /// How members are written and read.
    #[doc(hidden)]
    type MemberCodec: ElementCodec<Self::Member>;
    /// The scores' type.
    type Score: Score;
}

/// A list per key: `#[derive(RedisList)]` with `item = T` (serde JSON),
/// optionally `cap = N` (pushes keep the newest N) and `queue` (a reliable
/// queue, [`RedisQueue`]).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a Redis list declaration",
    note = "derive `RedisList` for `{Self}` with `#[redis(key = \"...\", item = T)]`"
)]
pub trait RedisList: Family {
    /// The items' type.
    type Item: Send + Sync;
    /// How items are written and read.
    #[doc(hidden)]
    type ItemCodec: ElementCodec<Self::Item>;
    /// The most items a push keeps, if the declaration caps the list.
    const CAP: Option<u64>;
}

/// A list declared `queue`: items are taken by moving them atomically to the
/// taker's in-flight list (a family of its own, `{Queue}InFlight`, in the
/// same hash slot), so a worker that dies holding an item loses nothing.
pub trait RedisQueue: RedisList {
    /// The in-flight lists' family.
    type InFlight: Family<Id = Self::InFlight>;
    /// The in-flight list of `consumer` for the queue of `id`.
    fn in_flight(id: &Self::Id, consumer: String) -> Self::InFlight;
}

/// A hash of typed fields and values per key: `#[derive(RedisMap)]` with
/// `field = K` (a key part) and `value = V` (a hash value, or serde with
/// `json`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a Redis map declaration",
    note = "derive `RedisMap` for `{Self}` with `#[redis(key = \"...\", field = K, value = V)]`"
)]
pub trait RedisMap: Family {
    /// The field names' type.
    type Field: Send + Sync;
    /// How field names are written and read.
    #[doc(hidden)]
    type FieldCodec: ElementCodec<Self::Field>;
    /// The values' type.
    type Value: Send + Sync;
    /// How values are written and read.
    #[doc(hidden)]
    type ValueCodec: ElementCodec<Self::Value>;
}

/// An integer counter per key: `#[derive(RedisCounter)]`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a Redis counter declaration",
    note = "derive `RedisCounter` for `{Self}` with `#[redis(key = \"...\")]`"
)]
pub trait RedisCounter: Family {}

/// How one element (a member, an item, a map field or value) is written
/// into a command and read from a reply. The derives pick the codec; it is
/// not meant to be implemented.
#[doc(hidden)]
pub trait ElementCodec<T>: 'static {
    /// Writes the value's bytes.
    fn write(value: &T, out: &mut Vec<u8>) -> std::result::Result<(), String>;
    /// Reads a stored element.
    fn read(raw: Vec<u8>) -> std::result::Result<T, DecodeErrorKind>;
}

/// Elements written as key parts, unescaped.
#[doc(hidden)]
#[derive(Debug)]
pub enum KeyPartElement {}

/// Elements written as serde JSON.
#[doc(hidden)]
#[derive(Debug)]
pub enum JsonElement {}

/// Elements written as hash values.
#[doc(hidden)]
#[derive(Debug)]
pub enum ValueElement {}

impl<T: KeyPart> ElementCodec<T> for KeyPartElement {
    fn write(value: &T, out: &mut Vec<u8>) -> std::result::Result<(), String> {
        crate::key::write_raw_part(value, out);
        Ok(())
    }
    fn read(raw: Vec<u8>) -> std::result::Result<T, DecodeErrorKind> {
        T::from_key_part(raw).map_err(|e| match e {
            crate::KeyPartError::Unparsable { expected } => {
                DecodeErrorKind::InvalidValue { expected }
            }
            _ => DecodeErrorKind::InvalidValue {
                expected: "a key part",
            },
        })
    }
}

impl<T> ElementCodec<T> for JsonElement
where
    T: serde::Serialize + serde::de::DeserializeOwned,
{
    fn write(value: &T, out: &mut Vec<u8>) -> std::result::Result<(), String> {
        serde_json::to_writer(out, value).map_err(|e| e.to_string())
    }
    fn read(raw: Vec<u8>) -> std::result::Result<T, DecodeErrorKind> {
        crate::value::json_from_bytes(&raw)
    }
}

impl<T: HashValue> ElementCodec<T> for ValueElement {
    fn write(value: &T, out: &mut Vec<u8>) -> std::result::Result<(), String> {
        if !value.is_present() {
            return Err("an absent value (`None`) cannot be stored as an element".to_owned());
        }
        value.write_hash_value(&mut Append(out));
        Ok(())
    }
    fn read(raw: Vec<u8>) -> std::result::Result<T, DecodeErrorKind> {
        T::from_hash_value(raw)
    }
}

/// Writes a hash value's one argument straight into an element's bytes.
struct Append<'a>(&'a mut Vec<u8>);

impl redis::RedisWrite for Append<'_> {
    fn write_arg(&mut self, arg: &[u8]) {
        self.0.extend_from_slice(arg);
    }

    fn writer_for_next_arg(&mut self) -> impl std::io::Write + '_ {
        &mut *self.0
    }
}

/// A sorted set's score type: a number Redis keeps as a double.
///
/// Integers are exact up to 2^53; a larger one is refused when written
/// ([`Error::Encode`]) and when read ([`Error::Decode`]), never rounded, and
/// an increment whose result would leave the type (or ±2^53) is refused
/// before anything is written ([`SortedSet::incr`]).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a sorted set score",
    label = "scores are numbers",
    note = "scores are `f64`, `f32`, or integers up to 2^53 (`i64`, `u64`, `i32`, `u32`, ...)"
)]
pub trait Score: Copy + Send + Sync + PartialOrd + std::fmt::Debug + 'static {
    /// The score as Redis keeps it, or why it cannot be one.
    fn to_score(self) -> std::result::Result<f64, &'static str>;
    /// A stored score.
    fn from_score(score: f64) -> std::result::Result<Self, DecodeErrorKind>;
    /// For an integer type, the scores it holds exactly: its own bounds,
    /// narrowed to ±2^53. `None` for a float type. [`SortedSet::incr`]
    /// refuses a result outside them before writing anything.
    #[doc(hidden)]
    fn integer_bounds() -> Option<(i64, i64)> {
        None
    }
}

/// The largest integer a double holds exactly.
const EXACT: f64 = 9_007_199_254_740_992.0;

impl Score for f64 {
    fn to_score(self) -> std::result::Result<f64, &'static str> {
        if self.is_nan() {
            Err("NaN is not a score")
        } else {
            Ok(self)
        }
    }
    fn from_score(score: f64) -> std::result::Result<Self, DecodeErrorKind> {
        Ok(score)
    }
}

impl Score for f32 {
    fn to_score(self) -> std::result::Result<f64, &'static str> {
        f64::from(self).to_score()
    }
    fn from_score(score: f64) -> std::result::Result<Self, DecodeErrorKind> {
        // Scores written as `f32` read back exactly; others round.
        Ok(score as f32)
    }
}

macro_rules! integer_score {
    ($($t:ty),*) => {$(
        impl Score for $t {
            fn to_score(self) -> std::result::Result<f64, &'static str> {
                // Checked as an integer: 2^53 + 1 would round to 2^53 as a double.
                #[allow(clippy::cast_lossless)]
                if (self as i128).unsigned_abs() > 1 << 53 {
                    return Err("the integer is beyond 2^53, which a score cannot hold exactly");
                }
                #[allow(clippy::cast_precision_loss, clippy::cast_lossless)]
                Ok(self as f64)
            }
            fn from_score(score: f64) -> std::result::Result<Self, DecodeErrorKind> {
                let invalid = DecodeErrorKind::InvalidValue {
                    expected: concat!("a score that is an integer (", stringify!($t), ")"),
                };
                if score.fract() != 0.0 || score.abs() > EXACT {
                    return Err(invalid);
                }
                #[allow(clippy::cast_possible_truncation)]
                let n = score as i128;
                <$t>::try_from(n).map_err(|_| invalid)
            }
            fn integer_bounds() -> Option<(i64, i64)> {
                const LIMIT: i128 = 1 << 53;
                #[allow(clippy::cast_lossless, clippy::cast_possible_truncation)]
                let bounds = (
                    (<$t>::MIN as i128).max(-LIMIT) as i64,
                    (<$t>::MAX as i128).min(LIMIT) as i64,
                );
                Some(bounds)
            }
        }
    )*};
}

integer_score!(i8, i16, i32, i64, u8, u16, u32, u64, isize, usize);

/// Parses a score as Redis replies with it (a bulk string like `1.5`,
/// `inf`, `-inf`, or a RESP3 double).
pub(crate) fn parse_score<S: Score>(
    value: &redis::Value,
) -> std::result::Result<S, DecodeErrorKind> {
    let invalid = DecodeErrorKind::UnexpectedReply("expected a score");
    let score = match value {
        redis::Value::Double(d) => *d,
        redis::Value::Int(n) => *n as f64,
        redis::Value::BulkString(bytes) => std::str::from_utf8(bytes)
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
            .ok_or(invalid)?,
        redis::Value::SimpleString(s) => s.parse::<f64>().map_err(|_| invalid)?,
        _ => return Err(invalid),
    };
    S::from_score(score)
}

/// A score as a command argument.
pub(crate) fn score_arg<F: Family, S: Score>(score: S) -> Result<String> {
    let value = score
        .to_score()
        .map_err(|m| Error::encode::<F>(Some("score"), m.to_owned()))?;
    Ok(if value == f64::INFINITY {
        "+inf".to_owned()
    } else if value == f64::NEG_INFINITY {
        "-inf".to_owned()
    } else {
        // `Display` of f64 round-trips exactly.
        value.to_string()
    })
}

/// The declared TTL as a script argument: milliseconds, or empty for none.
pub(crate) fn ttl_arg<F: Family>() -> String {
    F::META.ttl.map_or_else(String::new, |ttl| {
        u64::try_from(ttl.as_millis())
            .unwrap_or(u64::MAX)
            .max(1)
            .to_string()
    })
}

/// The declared TTL in milliseconds, if the family declares one.
pub(crate) fn declared_ttl_ms<F: Family>() -> Option<u64> {
    F::META
        .ttl
        .map(|ttl| u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1))
}

/// The key a read command names (its second argument), and what its reply
/// is kept under in the client cache: its verb and every argument after
/// the key, each prefixed by its length.
fn read_signature(cmd: &redis::Cmd) -> (Vec<u8>, crate::client_cache::Op) {
    let mut key = Vec::new();
    let mut signature = Vec::new();
    for (i, arg) in cmd.args_iter().enumerate() {
        let redis::Arg::Simple(bytes) = arg else {
            continue;
        };
        if i == 1 {
            key = bytes.to_vec();
        } else {
            signature.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
            signature.extend_from_slice(bytes);
        }
    }
    (key, crate::client_cache::Op::Read(signature.into()))
}

/// The key of `id`, and what every handle shares.
pub(crate) struct Handle<'a, F: Family> {
    pub(crate) store: &'a Store,
    pub(crate) id: &'a F::Id,
    _family: PhantomData<fn() -> F>,
}

impl<'a, F: Family> Handle<'a, F> {
    pub(crate) fn new(store: &'a Store, id: &'a F::Id) -> Self {
        Handle {
            store,
            id,
            _family: PhantomData,
        }
    }

    pub(crate) fn key(&self) -> Result<Vec<u8>> {
        self.store.render_key::<F>(self.id)
    }

    /// Sends `cmd` (one command, or a transaction) and decodes the reply.
    pub(crate) async fn send<T: redis::FromRedisValue>(
        &self,
        operation: &'static str,
        retry: Retry,
        cmd: &impl SendOnce,
    ) -> Result<T> {
        self.store
            .query::<F, T, _, _>(operation, retry, |mut con| async move {
                cmd.send(&mut con).await
            })
            .await
    }

    /// [`Handle::send`] for a read whose reply may say "nothing there"
    /// (`found` is false), labelled `not_found` in the metrics.
    pub(crate) async fn send_found<T: redis::FromRedisValue>(
        &self,
        operation: &'static str,
        retry: Retry,
        found: fn(&T) -> bool,
        cmd: &impl SendOnce,
    ) -> Result<T> {
        self.store
            .query_found::<F, T, _, _>(operation, retry, found, |mut con| async move {
                cmd.send(&mut con).await
            })
            .await
    }

    /// Sends the read `cmd` (one command on this handle's key) and decodes
    /// the reply; through the client cache when the family is declared
    /// `client_cache` and the store caches (the reply is kept under the
    /// command's verb and arguments, and dropped with every other reply of
    /// the key when it changes).
    pub(crate) async fn read<T: redis::FromRedisValue>(
        &self,
        operation: &'static str,
        cmd: &redis::Cmd,
    ) -> Result<T> {
        self.read_found(operation, |_| true, cmd).await
    }

    /// [`Handle::read`] for a read whose reply may say "nothing there".
    pub(crate) async fn read_found<T: redis::FromRedisValue>(
        &self,
        operation: &'static str,
        found: fn(&T) -> bool,
        cmd: &redis::Cmd,
    ) -> Result<T> {
        if let Some(cached) = self.store.cached::<F>() {
            let (key, op) = read_signature(cmd);
            let value = self
                .store
                .cached_op::<F>(&cached, operation, &key, op, |_| cmd.clone())
                .await?;
            return T::from_redis_value(value).map_err(|e| {
                self.store
                    .reply_error(crate::store::Target::of::<F>(), operation, e.into())
            });
        }
        self.send_found(operation, Retry::Once, found, cmd).await
    }

    /// The declared TTL in milliseconds, if the family declares one.
    pub(crate) fn ttl_ms() -> Option<u64> {
        declared_ttl_ms::<F>()
    }

    /// Runs one of the runtime's scripts on `keys` (the first is this
    /// handle's family's, for routing and the metrics) and decodes its reply.
    pub(crate) async fn script<T: redis::FromRedisValue>(
        &self,
        operation: &'static str,
        retry: Retry,
        script: &'static LuaScript,
        keys: &[&[u8]],
        args: impl Fn(&mut redis::Cmd) + Sync,
    ) -> Result<T> {
        self.store
            .query::<F, T, _, _>(operation, retry, |mut con| {
                let args = &args;
                async move {
                    let reply = script.run(&mut con, keys, args).await?;
                    T::from_redis_value(reply).map_err(Into::into)
                }
            })
            .await
    }

    /// Sends a write that may create `keys[0]`: `verb`, the keys, `options`,
    /// then `elements`. Without a declared TTL it is that one command; with
    /// one, it is [`script::CREATING_WRITE`], which runs the write and only
    /// then arms the TTL (`PEXPIRE NX`, so a later write never extends it):
    /// a write the server refuses (a key of another Redis type) arms
    /// nothing. The reply is the command's (summed over the script's chunks
    /// of elements, for the counting commands that send many).
    pub(crate) async fn write_creating<T: redis::FromRedisValue>(
        &self,
        operation: &'static str,
        retry: Retry,
        keys: &[&[u8]],
        verb: &'static str,
        options: &[&str],
        elements: &[Vec<u8>],
    ) -> Result<T> {
        let Some(ttl) = Self::ttl_ms() else {
            let mut cmd = redis::cmd(verb);
            cmd.arg(keys).arg(options).arg(elements);
            return self.send(operation, retry, &cmd).await;
        };
        self.script(operation, retry, &script::CREATING_WRITE, keys, |cmd| {
            cmd.arg(ttl)
                .arg(verb)
                .arg(options.len())
                .arg(options)
                .arg(elements);
        })
        .await
    }

    /// Streams a key's elements with a cursor command (`SSCAN`, `HSCAN`), a
    /// page at a time; `next` takes one element off a page (one reply entry,
    /// or a field and its value). An element that does not decode is an
    /// error item and the scan goes on; a failed page ends it.
    pub(crate) fn scan<T: Send + 'static>(
        &self,
        verb: &'static str,
        next: fn(&mut std::vec::IntoIter<Vec<u8>>) -> Option<Result<T>>,
    ) -> impl futures_util::Stream<Item = Result<T>> + Send + 'static {
        let store = self.store.clone();
        let (key, error) = match self.key() {
            Ok(key) => (key, None),
            Err(err) => (Vec::new(), Some(err)),
        };
        struct State {
            key: Vec<u8>,
            error: Option<Error>,
            cursor: Option<u64>,
            page: std::vec::IntoIter<Vec<u8>>,
        }
        let state = State {
            key,
            error,
            cursor: Some(0),
            page: Vec::new().into_iter(),
        };
        futures_util::stream::unfold(state, move |mut state| {
            let store = store.clone();
            async move {
                if let Some(err) = state.error.take() {
                    state.cursor = None;
                    return Some((Err(err), state));
                }
                loop {
                    if let Some(item) = next(&mut state.page) {
                        return Some((item, state));
                    }
                    let cursor = state.cursor?;
                    let mut cmd = crate::store::key_cmd(verb, &state.key);
                    cmd.arg(cursor).arg("COUNT").arg(500);
                    let page: Result<(u64, Vec<Vec<u8>>)> = store
                        .query::<F, _, _, _>("scan", Retry::Once, |mut con| {
                            let cmd = &cmd;
                            async move { cmd.query_async(&mut con).await }
                        })
                        .await;
                    match page {
                        Ok((next_cursor, raw)) => {
                            state.cursor = (next_cursor != 0).then_some(next_cursor);
                            state.page = raw.into_iter();
                        }
                        Err(err) => {
                            state.cursor = None;
                            return Some((Err(err), state));
                        }
                    }
                }
            }
        })
    }

    /// Refuses keys in different slots (see the module docs).
    pub(crate) fn same_slot(&self, operation: &'static str, keys: &[&[u8]]) -> Result<()> {
        same_slot::<F>(operation, keys)
    }
}

/// Refuses keys of family `F` in different slots ([`Error::CrossSlot`],
/// counted as refused), before anything is sent.
pub(crate) fn same_slot<F: Family>(operation: &'static str, keys: &[&[u8]]) -> Result<()> {
    let mut slots = keys.iter().map(|k| crate::key::hash_slot(k));
    let first = slots.next();
    if slots.all(|s| Some(s) == first) {
        Ok(())
    } else {
        crate::observe::refused(F::META.name, F::META.kind.as_str(), "cross_slot");
        Err(Error::CrossSlot {
            operation,
            model: F::META.name,
            key_template: F::META.key.source,
        })
    }
}

/// A command or a pipeline, sent as one.
pub(crate) trait SendOnce: Sync {
    fn send<T: redis::FromRedisValue>(
        &self,
        con: &mut crate::connection::Connection,
    ) -> impl Future<Output = redis::RedisResult<T>> + Send;
}

impl SendOnce for redis::Cmd {
    fn send<T: redis::FromRedisValue>(
        &self,
        con: &mut crate::connection::Connection,
    ) -> impl Future<Output = redis::RedisResult<T>> + Send {
        self.query_async(con)
    }
}

impl SendOnce for redis::Pipeline {
    fn send<T: redis::FromRedisValue>(
        &self,
        con: &mut crate::connection::Connection,
    ) -> impl Future<Output = redis::RedisResult<T>> + Send {
        self.query_async(con)
    }
}

/// Encodes one element of `F` with codec `C`, naming `what` in errors.
pub(crate) fn encode<F: Family, T, C: ElementCodec<T>>(
    what: &'static str,
    value: &T,
) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    C::write(value, &mut out).map_err(|m| Error::encode::<F>(Some(what), m))?;
    Ok(out)
}

/// Decodes one stored element of `F` with codec `C`.
pub(crate) fn decode<F: Family, T, C: ElementCodec<T>>(
    what: &'static str,
    raw: Vec<u8>,
) -> Result<T> {
    C::read(raw).map_err(|kind| Error::Decode(DecodeError::of::<F>(Some(what), kind)))
}

/// Decodes every stored element of a reply.
pub(crate) fn decode_all<F: Family, T, C: ElementCodec<T>>(
    what: &'static str,
    raw: Vec<Vec<u8>>,
) -> Result<Vec<T>> {
    raw.into_iter()
        .map(|r| decode::<F, T, C>(what, r))
        .collect()
}
