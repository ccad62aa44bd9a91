//! Typed event streams: `#[derive(RedisStream)]`, consumer groups and the
//! consumer [`Runner`].
//!
//! A stream declaration is a struct whose fields are its key template's
//! placeholders (which stream: one per room, per user, per shop), with the
//! event type named in the attribute (`event = T`, any serde type, an enum
//! of event variants included). Each entry holds one field, `event`, the
//! event as JSON.
//!
//! ```no_run
//! use redis_runtime::{RedisStream, Store};
//! use redis_runtime::stream::{EntryId, StartAt};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Debug, Serialize, Deserialize)]
//! #[serde(tag = "type", rename_all = "snake_case")]
//! enum RoomEvent { Said { user: u64, text: String }, Left { user: u64 } }
//!
//! /// One stream per room, trimmed to about 10 000 entries.
//! #[derive(RedisStream)]
//! #[redis(key = "room:{room}:events", hash_tag = "room", event = RoomEvent, maxlen = "~10000")]
//! struct RoomEvents { room: String }
//!
//! # async fn run(store: Store) -> redis_runtime::Result<()> {
//! let room = "lobby".to_owned();
//! let events = store.stream::<RoomEvents>(&room);
//! let id = events.append(&RoomEvent::Said { user: 7, text: "hi".into() }).await?;
//! for entry in events.after(EntryId::ZERO, 100).await? {
//!     println!("{}: {:?}", entry.id, entry.event?);
//! }
//! // A consumer group: each entry goes to one of its consumers, and stays
//! // pending until acknowledged.
//! let group = events.group("audit");
//! group.create(StartAt::Beginning).await?;
//! let runner = group
//!     .runner("worker-1")
//!     .max_deliveries(5)
//!     .spawn(|message| async move {
//!         println!("{} {:?}", message.id, message.event);
//!         Ok::<(), std::io::Error>(())
//!     });
//! // ... at shutdown: finishes the handlers in flight, acknowledges them.
//! let stats = runner.stop().await?;
//! # let _ = (id, stats); Ok(()) }
//! ```
//!
//! **Entries keep their stream and id.** A read of several streams
//! ([`Store::read_streams`]) returns each entry with its stream's id, never
//! merged by entry id alone (two streams can hold the same id). An entry
//! whose event does not decode is an entry with an `Err` event: it never
//! fails the rest of its batch.
//!
//! **Trimming.** `maxlen = "N"` (exact) or `maxlen = "~N"` (approximate,
//! cheaper: whole internal nodes are dropped, so a few more than N may stay)
//! trims each append (`XADD MAXLEN`); `minid = "~7d"` drops entries older
//! than the age instead (`XADD MINID`, with the id computed from this
//! process's clock). Without either a stream grows until deleted.
//!
//! **TTL.** With `ttl = "..."`, every append re-arms the TTL in the same
//! transaction (`MULTI XADD PEXPIRE EXEC`): a stream no one appends to for
//! that long is deleted (per-session mailboxes).
//!
//! **Consumer groups** ([`Group`]): created idempotently, read new entries
//! (`XREADGROUP >`), acknowledge in batches, reclaim entries left idle by a
//! consumer that died (`XAUTOCLAIM`), and dead-letter an entry: copy it to
//! the declaration's dead-letter stream (`{Stream}DeadLetter`, generated, in
//! the stream's hash slot) and acknowledge it, in one script. An entry
//! deleted by trimming while pending is reported as deleted
//! ([`Reclaimed::deleted`]), never as a decode error.
//!
//! **Delivery.** Streams with groups are *at least once*: an entry is
//! acknowledged only after its handler returned `Ok`, so a consumer that
//! dies between the two leaves it pending, and it is delivered again. Make
//! handlers idempotent, or use [`Group::mark_processed`], which records
//! processed entry ids (in the declaration's `{Stream}Processed` family,
//! with a TTL) and says whether an id was seen before.
//!
//! **Cluster.** A stream is one key. A declaration's dead-letter and
//! processed keys are in its stream's slot: the template with `:dead` or
//! `:processed` appended when it has a `hash_tag`, or with `:dead:{N}`,
//! `N` a number hashing to the stream key's slot, when it has none. A read of
//! several streams sends one `XREAD` per hash slot.

use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;
use std::time::Duration;

use redis::Value;

use crate::collection::{ElementCodec, JsonElement};
use crate::error::{DecodeError, DecodeErrorKind, Error, Result};
use crate::model::Family;
use crate::store::{Retry, Store, key_cmd};

mod group;
mod runner;

pub use group::{Delivered, Group, Reclaimed, StartAt};
pub use runner::{Message, RunStats, Runner, RunnerHandle};

/// A stream per key: `#[derive(RedisStream)]` with `event = T`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a Redis stream declaration",
    note = "derive `RedisStream` for `{Self}` with `#[redis(key = \"...\", event = T)]`"
)]
pub trait RedisStream: Family {
    /// The events' type (serde JSON in the entry's `event` field).
    type Event: serde::Serialize + serde::de::DeserializeOwned + Send + Sync;
    /// The family of the declaration's dead-letter streams
    /// (`{Stream}DeadLetter`, generated).
    type DeadLetter: Family<Id = Self::DeadLetter>;
    /// The family of the declaration's processed-id sets
    /// (`{Stream}Processed`, generated).
    type Processed: Family<Id = Self::Processed>;
    /// How appends trim the stream.
    const TRIM: Option<Trim>;
    /// The dead-letter stream of the stream of `id`.
    fn dead_letter(id: &Self::Id) -> Self::DeadLetter;
    /// The processed-id set of the stream of `id`.
    fn processed(id: &Self::Id) -> Self::Processed;
}

/// How appends trim a stream (`maxlen` or `minid` in the declaration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trim {
    /// Keep at most `len` entries (`XADD MAXLEN`).
    MaxLen {
        /// The most entries kept.
        len: u64,
        /// `~`: trim whole internal nodes only, so a few more may stay.
        approximate: bool,
    },
    /// Drop entries older than `age` (`XADD MINID`).
    MinAge {
        /// The oldest an entry may be.
        age: Duration,
        /// `~`: trim whole internal nodes only.
        approximate: bool,
    },
}

/// The id of a stream entry: milliseconds and a sequence number, written
/// `ms-seq`. Ordered as the stream orders entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct EntryId {
    ms: u64,
    seq: u64,
}

impl EntryId {
    /// `0-0`, before every entry: [`EventStream::after`] it reads from the
    /// start.
    pub const ZERO: EntryId = EntryId { ms: 0, seq: 0 };

    /// The id `ms-seq`.
    pub const fn new(ms: u64, seq: u64) -> EntryId {
        EntryId { ms, seq }
    }

    /// The milliseconds part (the server's clock when it was appended).
    pub const fn ms(&self) -> u64 {
        self.ms
    }

    /// The sequence part.
    pub const fn seq(&self) -> u64 {
        self.seq
    }

    pub(crate) fn parse(raw: &[u8]) -> Option<EntryId> {
        let text = std::str::from_utf8(raw).ok()?;
        text.parse().ok()
    }

    /// The id as an exclusive range start (`(ms-seq`).
    pub(crate) fn exclusive(self) -> String {
        format!("({self}")
    }
}

impl fmt::Display for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// An entry id that is not `ms-seq` with two unsigned integers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a stream entry id is `<milliseconds>-<sequence>`, two unsigned integers")]
pub struct InvalidEntryId;

impl FromStr for EntryId {
    type Err = InvalidEntryId;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        let (ms, seq) = s.split_once('-').ok_or(InvalidEntryId)?;
        let number = |part: &str| {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(InvalidEntryId);
            }
            part.parse::<u64>().map_err(|_| InvalidEntryId)
        };
        Ok(EntryId {
            ms: number(ms)?,
            seq: number(seq)?,
        })
    }
}

impl serde::Serialize for EntryId {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for EntryId {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// One entry of a stream: its id, and its event, or why the event did not
/// decode (an [`Error::Decode`] naming the declaration; the rest of the
/// read is unaffected).
pub struct Entry<S: RedisStream> {
    /// The entry's id.
    pub id: EntryId,
    /// The event.
    pub event: Result<S::Event>,
}

impl<S: RedisStream> fmt::Debug for Entry<S>
where
    S::Event: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("id", &self.id)
            .field("event", &self.event)
            .finish()
    }
}

/// The field every entry keeps its event in.
pub(crate) const EVENT_FIELD: &[u8] = b"event";

/// An entry as the server sent it: `fields` is `None` for an entry deleted
/// while pending (`XREADGROUP` of pending history).
pub(crate) struct RawEntry {
    pub(crate) id: EntryId,
    pub(crate) fields: Option<Vec<(Vec<u8>, Vec<u8>)>>,
}

impl RawEntry {
    pub(crate) fn take_field(&mut self, name: &[u8]) -> Option<Vec<u8>> {
        let fields = self.fields.as_mut()?;
        let at = fields.iter().position(|(f, _)| f == name)?;
        Some(fields.swap_remove(at).1)
    }
}

const UNEXPECTED: DecodeErrorKind = DecodeErrorKind::UnexpectedReply("expected stream entries");

fn bytes(value: Value) -> std::result::Result<Vec<u8>, DecodeErrorKind> {
    match value {
        Value::BulkString(b) => Ok(b),
        Value::SimpleString(s) => Ok(s.into_bytes()),
        Value::Int(n) => Ok(n.to_string().into_bytes()),
        _ => Err(UNEXPECTED),
    }
}

pub(crate) fn items(value: Value) -> std::result::Result<Vec<Value>, DecodeErrorKind> {
    match value {
        Value::Array(items) | Value::Set(items) => Ok(items),
        Value::Nil => Ok(Vec::new()),
        _ => Err(UNEXPECTED),
    }
}

pub(crate) fn parse_id(value: Value) -> std::result::Result<EntryId, DecodeErrorKind> {
    EntryId::parse(&bytes(value)?).ok_or(DecodeErrorKind::UnexpectedReply(
        "expected a stream entry id",
    ))
}

/// One `[id, [field, value, ...]]` (or `[id, nil]`).
pub(crate) fn parse_entry(value: Value) -> std::result::Result<RawEntry, DecodeErrorKind> {
    let mut pair = items(value)?.into_iter();
    let id = parse_id(pair.next().ok_or(UNEXPECTED)?)?;
    let fields = match pair.next() {
        None | Some(Value::Nil) => None,
        Some(Value::Map(map)) => Some(
            map.into_iter()
                .map(|(k, v)| Ok((bytes(k)?, bytes(v)?)))
                .collect::<std::result::Result<Vec<_>, DecodeErrorKind>>()?,
        ),
        Some(list) => {
            let flat = items(list)?;
            let mut fields = Vec::with_capacity(flat.len() / 2);
            let mut it = flat.into_iter();
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                fields.push((bytes(k)?, bytes(v)?));
            }
            Some(fields)
        }
    };
    Ok(RawEntry { id, fields })
}

/// A list of entries (`XRANGE`'s reply).
pub(crate) fn parse_entries(value: Value) -> std::result::Result<Vec<RawEntry>, DecodeErrorKind> {
    items(value)?.into_iter().map(parse_entry).collect()
}

/// One stream's key and entries in a read's reply.
pub(crate) type StreamEntries = (Vec<u8>, Vec<RawEntry>);

/// `XREAD`/`XREADGROUP`'s reply: per stream key, its entries (an array of
/// `[key, entries]` pairs in RESP2, a map in RESP3; nil when none came).
pub(crate) fn parse_read(value: Value) -> std::result::Result<Vec<StreamEntries>, DecodeErrorKind> {
    let pairs: Vec<(Value, Value)> = match value {
        Value::Nil => return Ok(Vec::new()),
        Value::Map(map) => map,
        other => items(other)?
            .into_iter()
            .map(|pair| {
                let mut it = items(pair)?.into_iter();
                match (it.next(), it.next()) {
                    (Some(k), Some(v)) => Ok((k, v)),
                    _ => Err(UNEXPECTED),
                }
            })
            .collect::<std::result::Result<_, _>>()?,
    };
    pairs
        .into_iter()
        .map(|(k, v)| Ok((bytes(k)?, parse_entries(v)?)))
        .collect()
}

/// Decodes an entry's event (the `event` field, JSON).
pub(crate) fn decode_event<S: RedisStream>(raw: &mut RawEntry) -> Result<S::Event> {
    let kind = match raw.take_field(EVENT_FIELD) {
        Some(bytes) => match <JsonElement as ElementCodec<S::Event>>::read(bytes) {
            Ok(event) => return Ok(event),
            Err(kind) => kind,
        },
        None => DecodeErrorKind::MissingField,
    };
    Err(Error::Decode(DecodeError::of::<S>(Some("event"), kind)))
}

pub(crate) fn entries_of<S: RedisStream>(raw: Vec<RawEntry>) -> Vec<Entry<S>> {
    raw.into_iter()
        .map(|mut raw| Entry {
            id: raw.id,
            event: decode_event::<S>(&mut raw),
        })
        .collect()
}

pub(crate) fn reply_error<S: RedisStream>(kind: DecodeErrorKind) -> Error {
    Error::Decode(DecodeError::of::<S>(None, kind))
}

/// Encodes one event as its entry's `event` field.
pub(crate) fn encode_event<S: RedisStream>(event: &S::Event) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    <JsonElement as ElementCodec<S::Event>>::write(event, &mut out)
        .map_err(|m| Error::encode::<S>(Some("event"), m))?;
    Ok(out)
}

/// The longest wait a blocking stream read is sent with, as for lists.
pub(crate) fn block_ms(wait: Duration) -> (Duration, u64) {
    let ms = u64::try_from(wait.as_millis())
        .unwrap_or(u64::MAX)
        .clamp(1, 1 << 62);
    (Duration::from_millis(ms), ms)
}

/// The stream of one id of a [`RedisStream`] family; from [`Store::stream`].
///
/// Appends are never sent twice (a second `XADD` would append a second
/// entry): when the connection drops under one, the error's outcome is
/// [`Outcome::Unknown`](crate::Outcome::Unknown). Reads are sent once more.
pub struct EventStream<'a, S: RedisStream> {
    pub(crate) store: &'a Store,
    pub(crate) id: &'a S::Id,
    _family: PhantomData<fn() -> S>,
}

impl Store {
    /// The stream of `id` in family `S`.
    pub fn stream<'a, S: RedisStream>(&'a self, id: &'a S::Id) -> EventStream<'a, S> {
        EventStream {
            store: self,
            id,
            _family: PhantomData,
        }
    }

    /// Reads entries after the given ids from several streams of `S` (per
    /// user mailboxes, per room logs), at most `count` per stream, waiting up
    /// to `wait` for one when there are none (`XREAD [BLOCK]`; `None` does
    /// not wait). Each entry comes with its stream's id, in the order of
    /// `from`, oldest first within a stream.
    ///
    /// Streams in different hash slots are read with one `XREAD` per slot; a
    /// wait waits on all of them at once (each on a connection of its own)
    /// and returns what the first to answer with entries brought, plus what
    /// the others had at that moment.
    pub async fn read_streams<S: RedisStream>(
        &self,
        from: &[(&S::Id, EntryId)],
        count: usize,
        wait: Option<Duration>,
    ) -> Result<Vec<(S::Id, Entry<S>)>> {
        if from.is_empty() {
            return Ok(Vec::new());
        }
        let mut keys = Vec::with_capacity(from.len());
        for (id, after) in from {
            keys.push((self.render_key::<S>(id)?, *after));
        }
        // One XREAD per slot.
        let mut slots: Vec<(u16, Vec<usize>)> = Vec::new();
        for (i, (key, _)) in keys.iter().enumerate() {
            let slot = crate::key::hash_slot(key);
            match slots.iter_mut().find(|(s, _)| *s == slot) {
                Some((_, members)) => members.push(i),
                None => slots.push((slot, vec![i])),
            }
        }
        let read_cmd = |members: &[usize], block: Option<u64>| {
            let mut cmd = redis::cmd("XREAD");
            cmd.arg("COUNT").arg(count.max(1));
            if let Some(ms) = block {
                cmd.arg("BLOCK").arg(ms);
            }
            cmd.arg("STREAMS");
            for &i in members {
                cmd.arg(&keys[i].0);
            }
            for &i in members {
                cmd.arg(keys[i].1.to_string());
            }
            cmd
        };
        let mut replies: Vec<Value> = Vec::new();
        let immediate = futures_util::future::join_all(slots.iter().map(|(_, members)| {
            let cmd = read_cmd(members, None);
            async move {
                self.query::<S, Value, _, _>("read_streams", Retry::Once, |mut con| {
                    let cmd = &cmd;
                    async move { cmd.query_async(&mut con).await }
                })
                .await
            }
        }))
        .await;
        for reply in immediate {
            let reply = reply?;
            if !matches!(reply, Value::Nil) {
                replies.push(reply);
            }
        }
        if replies.is_empty()
            && let Some(wait) = wait
        {
            let (wait, ms) = block_ms(wait);
            let waits = slots.iter().map(|(_, members)| {
                let cmd = read_cmd(members, Some(ms));
                let key = keys[members[0]].0.clone();
                Box::pin(async move {
                    self.blocking::<S, Value>("read_streams", &key, wait, &cmd, |v| {
                        !matches!(v, Value::Nil)
                    })
                    .await
                })
            });
            let (first, _, _) = futures_util::future::select_all(waits).await;
            let first = first?;
            if !matches!(first, Value::Nil) {
                replies.push(first);
            }
        }
        let mut out = Vec::new();
        let mut by_key: Vec<StreamEntries> = Vec::new();
        for reply in replies {
            by_key.extend(parse_read(reply).map_err(reply_error::<S>)?);
        }
        // In the order of `from`.
        for (key, _) in &keys {
            let Some(at) = by_key.iter().position(|(k, _)| k == key) else {
                continue;
            };
            let (key, raw) = by_key.swap_remove(at);
            for entry in entries_of::<S>(raw) {
                // Parsed per entry: ids need not be `Clone`.
                let id = match crate::key::parse_key::<S>(self.namespace(), &key) {
                    Some(Ok(id)) => id,
                    _ => {
                        return Err(reply_error::<S>(DecodeErrorKind::UnexpectedReply(
                            "a stream key that does not parse",
                        )));
                    }
                };
                out.push((id, entry));
            }
        }
        Ok(out)
    }
}

impl<'a, S: RedisStream> EventStream<'a, S> {
    pub(crate) fn key(&self) -> Result<Vec<u8>> {
        self.store.render_key::<S>(self.id)
    }

    async fn send<T: redis::FromRedisValue>(
        &self,
        operation: &'static str,
        retry: Retry,
        cmd: &(impl crate::collection::SendOnce + ?Sized),
    ) -> Result<T> {
        self.store
            .query::<S, T, _, _>(operation, retry, |mut con| async move {
                cmd.send(&mut con).await
            })
            .await
    }

    fn xadd(key: &[u8], payload: &[u8]) -> redis::Cmd {
        let mut cmd = key_cmd("XADD", key);
        match S::TRIM {
            Some(Trim::MaxLen { len, approximate }) => {
                cmd.arg("MAXLEN");
                if approximate {
                    cmd.arg("~");
                }
                cmd.arg(len);
            }
            Some(Trim::MinAge { age, approximate }) => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default();
                let min = now.saturating_sub(age).as_millis();
                cmd.arg("MINID");
                if approximate {
                    cmd.arg("~");
                }
                cmd.arg(u64::try_from(min).unwrap_or(u64::MAX));
            }
            None => {}
        }
        cmd.arg("*").arg(EVENT_FIELD).arg(payload);
        cmd
    }

    /// Appends `event` (`XADD`, trimming as declared); returns its id. With
    /// a declared TTL the append and `PEXPIRE` are one transaction.
    pub async fn append(&self, event: &S::Event) -> Result<EntryId> {
        let ids = self.append_many(std::slice::from_ref(event)).await?;
        ids.into_iter().next().ok_or_else(|| {
            reply_error::<S>(DecodeErrorKind::UnexpectedReply("expected an entry id"))
        })
    }

    /// Appends every event, in order, in one round trip (one `XADD`, or a
    /// `MULTI` of one per event and the TTL's `PEXPIRE`: all or none are
    /// appended); returns their ids. An empty slice sends nothing.
    pub async fn append_many(&self, events: &[S::Event]) -> Result<Vec<EntryId>> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let key = self.key()?;
        let payloads = events
            .iter()
            .map(encode_event::<S>)
            .collect::<Result<Vec<_>>>()?;
        let ttl = crate::collection::declared_ttl_ms::<S>();
        let operation = if events.len() == 1 {
            "append"
        } else {
            "append_many"
        };
        if payloads.len() == 1 && ttl.is_none() {
            let id: Vec<u8> = self
                .send(operation, Retry::Never, &Self::xadd(&key, &payloads[0]))
                .await?;
            return EntryId::parse(&id).map(|id| vec![id]).ok_or_else(|| {
                reply_error::<S>(DecodeErrorKind::UnexpectedReply("expected an entry id"))
            });
        }
        let mut pipe = redis::pipe();
        pipe.atomic();
        for payload in &payloads {
            pipe.add_command(Self::xadd(&key, payload));
        }
        if let Some(ms) = ttl {
            pipe.add_command(key_cmd("PEXPIRE", &key).arg(ms).to_owned())
                .ignore();
        }
        let ids: Vec<Vec<u8>> = self.send(operation, Retry::Never, &pipe).await?;
        ids.iter()
            .map(|id| {
                EntryId::parse(id).ok_or_else(|| {
                    reply_error::<S>(DecodeErrorKind::UnexpectedReply("expected an entry id"))
                })
            })
            .collect()
    }

    async fn range_cmd(&self, operation: &'static str, cmd: redis::Cmd) -> Result<Vec<Entry<S>>> {
        let reply: Value = self.send(operation, Retry::Once, &cmd).await?;
        let raw = parse_entries(reply).map_err(reply_error::<S>)?;
        Ok(entries_of::<S>(raw))
    }

    /// Up to `count` entries with ids after `id`, oldest first (`XRANGE
    /// key (id + COUNT count`); [`EntryId::ZERO`] reads from the start.
    pub async fn after(&self, id: EntryId, count: usize) -> Result<Vec<Entry<S>>> {
        let mut cmd = key_cmd("XRANGE", &self.key()?);
        cmd.arg(id.exclusive())
            .arg("+")
            .arg("COUNT")
            .arg(count.max(1));
        self.range_cmd("after", cmd).await
    }

    /// The entries from `from` to `to`, both inclusive, oldest first, at
    /// most `count` (`XRANGE`).
    pub async fn range(&self, from: EntryId, to: EntryId, count: usize) -> Result<Vec<Entry<S>>> {
        let mut cmd = key_cmd("XRANGE", &self.key()?);
        cmd.arg(from.to_string())
            .arg(to.to_string())
            .arg("COUNT")
            .arg(count.max(1));
        self.range_cmd("range", cmd).await
    }

    /// The newest `count` entries, oldest first (`XREVRANGE key + - COUNT`).
    pub async fn latest(&self, count: usize) -> Result<Vec<Entry<S>>> {
        let mut cmd = key_cmd("XREVRANGE", &self.key()?);
        cmd.arg("+").arg("-").arg("COUNT").arg(count.max(1));
        let mut entries = self.range_cmd("latest", cmd).await?;
        entries.reverse();
        Ok(entries)
    }

    /// Up to `count` entries after `id`, waiting up to `wait` (at least 1
    /// ms) for one when there are none (`XREAD BLOCK`, on a connection of
    /// its own, like a list's blocking pop); empty when none came.
    pub async fn wait_after(
        &self,
        id: EntryId,
        count: usize,
        wait: Duration,
    ) -> Result<Vec<Entry<S>>> {
        let key = self.key()?;
        let (wait, ms) = block_ms(wait);
        let mut cmd = redis::cmd("XREAD");
        cmd.arg("COUNT")
            .arg(count.max(1))
            .arg("BLOCK")
            .arg(ms)
            .arg("STREAMS")
            .arg(&key)
            .arg(id.to_string());
        let reply: Value = self
            .store
            .blocking::<S, Value>("wait_after", &key, wait, &cmd, |v| !matches!(v, Value::Nil))
            .await?;
        let mut raw = parse_read(reply).map_err(reply_error::<S>)?;
        Ok(match raw.pop() {
            Some((_, entries)) => entries_of::<S>(entries),
            None => Vec::new(),
        })
    }

    /// The number of entries (`XLEN`); 0 when the stream does not exist.
    pub async fn len(&self) -> Result<u64> {
        let cmd = key_cmd("XLEN", &self.key()?);
        self.send("len", Retry::Once, &cmd).await
    }

    /// Whether the stream has no entries (or does not exist).
    pub async fn is_empty(&self) -> Result<bool> {
        Ok(self.len().await? == 0)
    }

    /// Deletes the entries `ids` (`XDEL`); returns how many were there. An
    /// entry deleted while pending in a group is reported as deleted when
    /// reclaimed.
    pub async fn delete(&self, ids: &[EntryId]) -> Result<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let mut cmd = key_cmd("XDEL", &self.key()?);
        for id in ids {
            cmd.arg(id.to_string());
        }
        self.send("delete", Retry::Never, &cmd).await
    }

    /// The consumer group `name` of this stream.
    pub fn group(&self, name: &str) -> Group<'a, S> {
        Group::new(self.store, self.id, name)
    }

    /// The dead-letter entries of this stream's groups, oldest first, after
    /// `id` (see [`Group::dead_letter`]).
    pub async fn dead_letters(&self, after: EntryId, count: usize) -> Result<Vec<DeadLetter<S>>> {
        let key = self
            .store
            .render_key::<S::DeadLetter>(&S::dead_letter(self.id))?;
        let mut cmd = key_cmd("XRANGE", &key);
        cmd.arg(after.exclusive())
            .arg("+")
            .arg("COUNT")
            .arg(count.max(1));
        let reply: Value = self
            .store
            .query::<S::DeadLetter, Value, _, _>("dead_letters", Retry::Once, |mut con| {
                let cmd = &cmd;
                async move { cmd.query_async(&mut con).await }
            })
            .await?;
        let raw = parse_entries(reply).map_err(reply_error::<S>)?;
        Ok(raw
            .into_iter()
            .map(|mut raw| {
                let text = |raw: &mut RawEntry, f: &[u8]| {
                    raw.take_field(f)
                        .map(|b| String::from_utf8_lossy(&b).into_owned())
                        .unwrap_or_default()
                };
                let original = raw
                    .take_field(b"id")
                    .and_then(|b| EntryId::parse(&b))
                    .unwrap_or_default();
                let group = text(&mut raw, b"group");
                let consumer = text(&mut raw, b"consumer");
                let reason = text(&mut raw, b"reason");
                let deliveries = text(&mut raw, b"deliveries").parse().unwrap_or(0);
                DeadLetter {
                    id: raw.id,
                    original,
                    group,
                    consumer,
                    deliveries,
                    reason,
                    event: decode_event::<S>(&mut raw),
                }
            })
            .collect())
    }
}

/// An entry of a dead-letter stream: the original entry's event, where it
/// came from, and why it was given up on.
pub struct DeadLetter<S: RedisStream> {
    /// The dead-letter entry's own id.
    pub id: EntryId,
    /// The original entry's id in its stream.
    pub original: EntryId,
    /// The group that gave up on it.
    pub group: String,
    /// The consumer that gave up on it.
    pub consumer: String,
    /// How many times it had been delivered.
    pub deliveries: u64,
    /// Why: the handler's last error, or the decode error.
    pub reason: String,
    /// The original event (or why it does not decode).
    pub event: Result<S::Event>,
}

impl<S: RedisStream> fmt::Debug for DeadLetter<S>
where
    S::Event: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeadLetter")
            .field("id", &self.id)
            .field("original", &self.original)
            .field("group", &self.group)
            .field("consumer", &self.consumer)
            .field("deliveries", &self.deliveries)
            .field("reason", &self.reason)
            .field("event", &self.event)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_ids_parse_and_print() {
        let id: EntryId = "1700000000000-3".parse().unwrap();
        assert_eq!(id, EntryId::new(1_700_000_000_000, 3));
        assert_eq!(id.to_string(), "1700000000000-3");
        for bad in [
            "",
            "1",
            "1-",
            "-1",
            "1-2-3",
            "a-1",
            "1-+2",
            "18446744073709551616-0",
        ] {
            assert!(bad.parse::<EntryId>().is_err(), "{bad}");
        }
        assert!(EntryId::new(1, 9) < EntryId::new(2, 0));
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"1700000000000-3\"");
        assert_eq!(serde_json::from_str::<EntryId>(&json).unwrap(), id);
    }

    #[test]
    fn replies_of_both_protocols_parse() {
        let entry = |id: &str, v: &str| {
            Value::Array(vec![
                Value::BulkString(id.into()),
                Value::Array(vec![
                    Value::BulkString(b"event".to_vec()),
                    Value::BulkString(v.into()),
                ]),
            ])
        };
        let resp2 = Value::Array(vec![Value::Array(vec![
            Value::BulkString(b"k".to_vec()),
            Value::Array(vec![entry("1-0", "1"), entry("1-1", "2")]),
        ])]);
        let read = parse_read(resp2).unwrap();
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].1.len(), 2);
        let resp3 = Value::Map(vec![(
            Value::BulkString(b"k".to_vec()),
            Value::Array(vec![entry("1-0", "1")]),
        )]);
        assert_eq!(parse_read(resp3).unwrap()[0].1[0].id, EntryId::new(1, 0));
        let deleted = Value::Array(vec![Value::BulkString(b"5-0".to_vec()), Value::Nil]);
        assert!(parse_entry(deleted).unwrap().fields.is_none());
        assert!(parse_read(Value::Nil).unwrap().is_empty());
        assert!(parse_read(Value::Int(1)).is_err());
    }
}
