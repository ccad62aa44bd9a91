//! Consumer groups: [`Group`], on one stream of a `#[derive(RedisStream)]`
//! family.

use std::fmt;
use std::time::Duration;

use redis::Value;

use super::{
    EntryId, RawEntry, RedisStream, Runner, block_ms, decode_event, items, parse_entry, parse_id,
    parse_read, reply_error,
};
use crate::error::{DecodeErrorKind, Error, Result};
use crate::script;
use crate::store::{Retry, Store, key_cmd};

/// The approximate cap of a dead-letter stream: the newest 10 000 entries
/// are kept.
pub(crate) const DEAD_LETTER_CAP: u64 = 10_000;

/// Where a new group starts reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAt {
    /// From the first entry: the group sees everything already appended.
    Beginning,
    /// After the last entry: the group sees only what is appended from now
    /// (`$`).
    End,
    /// After the entry `id`.
    After(EntryId),
}

/// An entry delivered to a consumer of a group: its id, its event (or why
/// it does not decode), and how many times it has been delivered, this time
/// included.
pub struct Delivered<S: RedisStream> {
    /// The entry's id.
    pub id: EntryId,
    /// The event.
    pub event: Result<S::Event>,
    /// Deliveries so far, this one included (1 for a first read).
    pub deliveries: u64,
}

impl<S: RedisStream> fmt::Debug for Delivered<S>
where
    S::Event: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Delivered")
            .field("id", &self.id)
            .field("event", &self.event)
            .field("deliveries", &self.deliveries)
            .finish()
    }
}

/// What [`Group::reclaim`] took over.
pub struct Reclaimed<S: RedisStream> {
    /// Entries now pending for the claiming consumer, to process.
    pub entries: Vec<Delivered<S>>,
    /// Entries that were deleted (trimmed, `XDEL`) while pending: removed
    /// from the group's pending list, with nothing to process.
    pub deleted: Vec<EntryId>,
    /// Entries over the delivery limit, moved to the dead-letter stream.
    pub dead_lettered: Vec<EntryId>,
    /// Where the next reclaim scan starts (`ZERO` when this one reached the
    /// end of the pending list).
    pub next: EntryId,
}

/// The consumer group `name` of one stream; from [`EventStream::group`](super::EventStream::group).
pub struct Group<'a, S: RedisStream> {
    store: &'a Store,
    id: &'a S::Id,
    name: String,
}

/// The keys a group works on: its stream's and the dead-letter stream's.
#[derive(Clone, Default)]
pub(crate) struct GroupKeys {
    pub(crate) stream: Vec<u8>,
    pub(crate) dead: Vec<u8>,
    pub(crate) group: String,
}

impl<'a, S: RedisStream> Group<'a, S> {
    pub(crate) fn new(store: &'a Store, id: &'a S::Id, name: &str) -> Self {
        Group {
            store,
            id,
            name: name.to_owned(),
        }
    }

    /// The group's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn keys(&self, operation: &'static str) -> Result<GroupKeys> {
        let stream = self.store.render_key::<S>(self.id)?;
        let dead = self
            .store
            .render_key::<S::DeadLetter>(&S::dead_letter(self.id))?;
        crate::collection::same_slot::<S>(operation, &[&stream, &dead])?;
        Ok(GroupKeys {
            stream,
            dead,
            group: self.name.clone(),
        })
    }

    /// Creates the group (`XGROUP CREATE ... MKSTREAM`, so the stream is
    /// created when absent); `false` when it already existed, which is not
    /// an error: call it at every start.
    pub async fn create(&self, start: StartAt) -> Result<bool> {
        let key = self.store.render_key::<S>(self.id)?;
        let mut cmd = redis::cmd("XGROUP");
        cmd.arg("CREATE").arg(&key).arg(&self.name);
        match start {
            StartAt::Beginning => cmd.arg("0"),
            StartAt::End => cmd.arg("$"),
            StartAt::After(id) => cmd.arg(id.to_string()),
        };
        cmd.arg("MKSTREAM");
        let result: Result<()> = send::<S, _>(self.store, "create_group", Retry::Once, &cmd).await;
        match result {
            Ok(()) => Ok(true),
            Err(err) if server_code(&err) == Some("BUSYGROUP") => Ok(false),
            Err(err) => Err(err),
        }
    }

    /// Deletes the group and its pending list (`XGROUP DESTROY`); `false`
    /// when there was none.
    pub async fn destroy(&self) -> Result<bool> {
        let key = self.store.render_key::<S>(self.id)?;
        let mut cmd = redis::cmd("XGROUP");
        cmd.arg("DESTROY").arg(&key).arg(&self.name);
        let n: u64 = send::<S, _>(self.store, "destroy_group", Retry::Once, &cmd).await?;
        Ok(n > 0)
    }

    /// Up to `count` entries no consumer of the group has been given yet,
    /// now pending for `consumer` (`XREADGROUP ... >`), waiting up to `wait`
    /// for one when there are none (on a connection of its own); empty when
    /// none came.
    pub async fn read(
        &self,
        consumer: &str,
        count: usize,
        wait: Option<Duration>,
    ) -> Result<Vec<Delivered<S>>> {
        let keys = self.keys("read")?;
        read_new::<S>(self.store, &keys, consumer, count, wait).await
    }

    /// Acknowledges entries (`XACK`, one command for all): they leave the
    /// group's pending list. Returns how many were pending.
    pub async fn ack(&self, ids: &[EntryId]) -> Result<u64> {
        let keys = self.keys("ack")?;
        ack::<S>(self.store, &keys, ids).await
    }

    /// Takes over for `consumer` up to `count` entries pending longer than
    /// `min_idle` for any consumer of the group (one that died, or is
    /// stuck), scanning the pending list from `from` (`ZERO` for the
    /// start; [`Reclaimed::next`] continues). Each claim counts a delivery;
    /// an entry whose deliveries would exceed `max_deliveries` (0: no limit)
    /// is dead-lettered instead, and entries deleted while pending are
    /// reported as such. One script (`XAUTOCLAIM`, `XPENDING`, and the
    /// dead-lettering).
    pub async fn reclaim(
        &self,
        consumer: &str,
        min_idle: Duration,
        count: usize,
        max_deliveries: u64,
        from: EntryId,
    ) -> Result<Reclaimed<S>> {
        let keys = self.keys("reclaim")?;
        reclaim::<S>(
            self.store,
            &keys,
            consumer,
            min_idle,
            count,
            max_deliveries,
            from,
        )
        .await
    }

    /// Moves the pending entry `id` to the dead-letter stream with `reason`,
    /// and acknowledges it, in one script: `true` when it was copied,
    /// `false` when it was deleted while pending (then only acknowledged).
    /// An entry not pending in the group is left alone (`false`).
    pub async fn dead_letter(&self, id: EntryId, consumer: &str, reason: &str) -> Result<bool> {
        let keys = self.keys("dead_letter")?;
        Ok(dead_letter::<S>(self.store, &keys, id, consumer, reason).await? == 1)
    }

    /// How many entries are pending in the group (delivered, not
    /// acknowledged), over all its consumers (`XPENDING` summary).
    pub async fn pending(&self) -> Result<u64> {
        let keys = self.keys("pending")?;
        pending::<S>(self.store, &keys).await
    }

    /// How many entries of the stream the group has not been given yet
    /// (`XINFO GROUPS`' `lag`); `None` when the server cannot tell (after
    /// deletions in the unread part) or the group does not exist.
    pub async fn lag(&self) -> Result<Option<u64>> {
        let keys = self.keys("lag")?;
        lag::<S>(self.store, &keys).await
    }

    /// Records that this group processed entry `id`, for `keep` (the
    /// declaration's `{Stream}Processed` set, in the stream's slot, a sorted
    /// set of ids with their time): `true` when it had not been recorded
    /// (process it now), `false` when it had (a redelivery: skip it). One
    /// script; ids older than `keep` are dropped as it runs, and the set
    /// expires `keep` after the last mark.
    pub async fn mark_processed(&self, id: EntryId, keep: Duration) -> Result<bool> {
        let key = self
            .store
            .render_key::<S::Processed>(&S::processed(self.id))?;
        let stream = self.store.render_key::<S>(self.id)?;
        crate::collection::same_slot::<S>("mark_processed", &[&stream, &key])?;
        let keep = u64::try_from(keep.as_millis()).unwrap_or(u64::MAX).max(1);
        let member = format!("{} {id}", self.name);
        let added: u64 = self
            .store
            .query::<S::Processed, u64, _, _>("mark_processed", Retry::Never, |mut con| {
                let (key, member) = (&key, &member);
                async move {
                    let reply = script::STREAM_MARK_PROCESSED
                        .run(&mut con, &[key], |cmd| {
                            cmd.arg(member).arg(keep);
                        })
                        .await?;
                    redis::FromRedisValue::from_redis_value(reply).map_err(Into::into)
                }
            })
            .await?;
        Ok(added == 1)
    }

    /// A consumer runner for `consumer` of this group (see [`Runner`]).
    pub fn runner(&self, consumer: &str) -> Runner<S> {
        Runner::new(self.store.clone(), self.keys("run"), consumer.to_owned())
    }
}

/// The code of a server error (`BUSYGROUP`, `NOGROUP`, `ERR`...).
pub(crate) fn server_code(err: &Error) -> Option<&str> {
    match err {
        Error::Server { source, .. } => source.code(),
        _ => None,
    }
}

pub(crate) async fn send<S: RedisStream, T: redis::FromRedisValue>(
    store: &Store,
    operation: &'static str,
    retry: Retry,
    cmd: &redis::Cmd,
) -> Result<T> {
    store
        .query::<S, T, _, _>(operation, retry, |mut con| async move {
            cmd.query_async(&mut con).await
        })
        .await
}

pub(crate) fn delivered_of<S: RedisStream>(
    raw: Vec<RawEntry>,
    deliveries: u64,
) -> Vec<Delivered<S>> {
    raw.into_iter()
        .map(|mut raw| Delivered {
            id: raw.id,
            event: decode_event::<S>(&mut raw),
            deliveries,
        })
        .collect()
}

pub(crate) fn read_cmd(
    keys: &GroupKeys,
    consumer: &str,
    count: usize,
    block: Option<u64>,
) -> redis::Cmd {
    let mut cmd = redis::cmd("XREADGROUP");
    cmd.arg("GROUP")
        .arg(&keys.group)
        .arg(consumer)
        .arg("COUNT")
        .arg(count.max(1));
    if let Some(ms) = block {
        cmd.arg("BLOCK").arg(ms);
    }
    cmd.arg("STREAMS").arg(&keys.stream).arg(">");
    cmd
}

/// `XREADGROUP >`, then a blocking one when nothing came and `wait` is set.
pub(crate) async fn read_new<S: RedisStream>(
    store: &Store,
    keys: &GroupKeys,
    consumer: &str,
    count: usize,
    wait: Option<Duration>,
) -> Result<Vec<Delivered<S>>> {
    let cmd = read_cmd(keys, consumer, count, None);
    // Never sent twice: a read that reached the server made its entries
    // pending for this consumer.
    let reply: Value = send::<S, _>(store, "read", Retry::Never, &cmd).await?;
    let mut entries = parse_read(reply).map_err(reply_error::<S>)?;
    if entries.iter().all(|(_, e)| e.is_empty())
        && let Some(wait) = wait
    {
        let (wait, ms) = block_ms(wait);
        let cmd = read_cmd(keys, consumer, count, Some(ms));
        let reply: Value = store
            .blocking::<S, Value>("read", &keys.stream, wait, &cmd, |v| {
                !matches!(v, Value::Nil)
            })
            .await?;
        entries = parse_read(reply).map_err(reply_error::<S>)?;
    }
    Ok(match entries.pop() {
        Some((_, raw)) => delivered_of::<S>(raw, 1),
        None => Vec::new(),
    })
}

pub(crate) async fn ack<S: RedisStream>(
    store: &Store,
    keys: &GroupKeys,
    ids: &[EntryId],
) -> Result<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    let mut cmd = key_cmd("XACK", &keys.stream);
    cmd.arg(&keys.group);
    for id in ids {
        cmd.arg(id.to_string());
    }
    // Acknowledging twice is harmless.
    send::<S, _>(store, "ack", Retry::Once, &cmd).await
}

pub(crate) async fn dead_letter<S: RedisStream>(
    store: &Store,
    keys: &GroupKeys,
    id: EntryId,
    consumer: &str,
    reason: &str,
) -> Result<i64> {
    let id = id.to_string();
    store
        .query::<S, i64, _, _>("dead_letter", Retry::Never, |mut con| {
            let (id, keys) = (&id, keys);
            async move {
                let reply = script::STREAM_DEAD_LETTER
                    .run(&mut con, &[&keys.stream, &keys.dead], |cmd| {
                        cmd.arg(&keys.group)
                            .arg(id)
                            .arg(consumer)
                            .arg(reason)
                            .arg(DEAD_LETTER_CAP);
                    })
                    .await?;
                redis::FromRedisValue::from_redis_value(reply).map_err(Into::into)
            }
        })
        .await
}

/// The reason written for an entry dead-lettered by a reclaim.
pub(crate) const OVER_LIMIT: &str =
    "delivery limit reached: its last consumer did not acknowledge it";

pub(crate) async fn reclaim<S: RedisStream>(
    store: &Store,
    keys: &GroupKeys,
    consumer: &str,
    min_idle: Duration,
    count: usize,
    max_deliveries: u64,
    from: EntryId,
) -> Result<Reclaimed<S>> {
    let min_idle = u64::try_from(min_idle.as_millis()).unwrap_or(u64::MAX);
    let from = from.to_string();
    let reply: Value = store
        .query::<S, Value, _, _>("reclaim", Retry::Never, |mut con| {
            let (from, keys) = (&from, keys);
            async move {
                script::STREAM_RECLAIM
                    .run(&mut con, &[&keys.stream, &keys.dead], |cmd| {
                        cmd.arg(&keys.group)
                            .arg(consumer)
                            .arg(min_idle)
                            .arg(from)
                            .arg(count.max(1))
                            .arg(max_deliveries)
                            .arg(DEAD_LETTER_CAP)
                            .arg(OVER_LIMIT);
                    })
                    .await
            }
        })
        .await?;
    parse_reclaimed::<S>(reply).map_err(reply_error::<S>)
}

fn parse_reclaimed<S: RedisStream>(
    reply: Value,
) -> std::result::Result<Reclaimed<S>, DecodeErrorKind> {
    let bad = DecodeErrorKind::UnexpectedReply("expected a reclaim reply");
    let mut parts = items(reply)?.into_iter();
    let next = parse_id(parts.next().ok_or(bad.clone())?)?;
    let mut entries = Vec::new();
    for claimed in items(parts.next().ok_or(bad.clone())?)? {
        let mut triple = items(claimed)?.into_iter();
        let (Some(id), Some(fields), Some(n)) = (triple.next(), triple.next(), triple.next())
        else {
            return Err(bad);
        };
        let mut raw = parse_entry(Value::Array(vec![id, fields]))?;
        let deliveries = match n {
            Value::Int(n) => u64::try_from(n).unwrap_or(1),
            _ => 1,
        };
        entries.push(Delivered {
            id: raw.id,
            event: decode_event::<S>(&mut raw),
            deliveries,
        });
    }
    let ids = |v: Option<Value>| -> std::result::Result<Vec<EntryId>, DecodeErrorKind> {
        items(v.unwrap_or(Value::Nil))?
            .into_iter()
            .map(parse_id)
            .collect()
    };
    let deleted = ids(parts.next())?;
    let dead_lettered = ids(parts.next())?;
    Ok(Reclaimed {
        entries,
        deleted,
        dead_lettered,
        next,
    })
}

/// Claims the entries `ids` for `consumer` now (`XCLAIM ... 0`), counting a
/// delivery: a consumer re-delivering its own failed entries.
pub(crate) async fn claim_own<S: RedisStream>(
    store: &Store,
    keys: &GroupKeys,
    consumer: &str,
    ids: &[EntryId],
) -> Result<Vec<RawEntry>> {
    let mut cmd = key_cmd("XCLAIM", &keys.stream);
    cmd.arg(&keys.group).arg(consumer).arg(0);
    for id in ids {
        cmd.arg(id.to_string());
    }
    let reply: Value = send::<S, _>(store, "reclaim", Retry::Never, &cmd).await?;
    super::parse_entries(reply).map_err(reply_error::<S>)
}

/// The entries pending for `consumer` (from a previous run of it), with
/// their delivery counts (`XPENDING ... - + count consumer`).
pub(crate) async fn pending_of<S: RedisStream>(
    store: &Store,
    keys: &GroupKeys,
    consumer: &str,
    after: EntryId,
    count: usize,
) -> Result<Vec<(EntryId, u64)>> {
    let mut cmd = key_cmd("XPENDING", &keys.stream);
    cmd.arg(&keys.group)
        .arg(after.exclusive())
        .arg("+")
        .arg(count.max(1))
        .arg(consumer);
    let reply: Vec<(Vec<u8>, Vec<u8>, u64, u64)> =
        send::<S, _>(store, "pending", Retry::Once, &cmd).await?;
    reply
        .into_iter()
        .map(|(id, _, _, n)| {
            EntryId::parse(&id).map(|id| (id, n)).ok_or_else(|| {
                reply_error::<S>(DecodeErrorKind::UnexpectedReply("expected an entry id"))
            })
        })
        .collect()
}

pub(crate) async fn pending<S: RedisStream>(store: &Store, keys: &GroupKeys) -> Result<u64> {
    let mut cmd = key_cmd("XPENDING", &keys.stream);
    cmd.arg(&keys.group);
    let reply: Value = send::<S, _>(store, "pending", Retry::Once, &cmd).await?;
    match items(reply).map_err(reply_error::<S>)?.into_iter().next() {
        Some(Value::Int(n)) => Ok(u64::try_from(n).unwrap_or(0)),
        _ => Err(reply_error::<S>(DecodeErrorKind::UnexpectedReply(
            "expected a pending summary",
        ))),
    }
}

pub(crate) async fn lag<S: RedisStream>(store: &Store, keys: &GroupKeys) -> Result<Option<u64>> {
    let mut cmd = redis::cmd("XINFO");
    cmd.arg("GROUPS").arg(&keys.stream);
    let reply: Value = match send::<S, Value>(store, "lag", Retry::Once, &cmd).await {
        Ok(reply) => reply,
        Err(err) if server_code(&err) == Some("ERR") => return Ok(None),
        Err(err) => return Err(err),
    };
    for group in items(reply).map_err(reply_error::<S>)? {
        let fields: Vec<(Value, Value)> = match group {
            Value::Map(map) => map,
            other => {
                let flat = items(other).map_err(reply_error::<S>)?;
                let mut it = flat.into_iter();
                let mut pairs = Vec::new();
                while let (Some(k), Some(v)) = (it.next(), it.next()) {
                    pairs.push((k, v));
                }
                pairs
            }
        };
        let text = |v: &Value| match v {
            Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
            Value::SimpleString(s) => Some(s.clone()),
            _ => None,
        };
        let name = fields
            .iter()
            .find(|(k, _)| text(k).as_deref() == Some("name"))
            .and_then(|(_, v)| text(v));
        if name.as_deref() != Some(keys.group.as_str()) {
            continue;
        }
        return Ok(fields
            .iter()
            .find(|(k, _)| text(k).as_deref() == Some("lag"))
            .and_then(|(_, v)| match v {
                Value::Int(n) => u64::try_from(*n).ok(),
                _ => None,
            }));
    }
    Ok(None)
}
