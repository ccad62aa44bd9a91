//! Lists: [`List`], the handle on one list of a `#[derive(RedisList)]`
//! family, and the reliable queue of lists declared `queue`.

use std::time::Duration;

use redis::FromRedisValue;

use super::{Handle, RedisList, RedisQueue, decode, decode_all, encode, ttl_arg};
use crate::error::Result;
use crate::script;
use crate::store::{Retry, Store, key_cmd};

/// The list of one id of a [`RedisList`] family; from [`Store::list`].
///
/// Items are serde JSON. The front is index 0 (Redis's left, `LPUSH`), the
/// back is index -1 (`RPUSH`).
///
/// **Cap.** With `cap = N`, every push keeps the newest N items in the same
/// transaction or script (`LTRIM`): the items just pushed are the newest, so
/// [`List::push_back`] drops the excess from the front and
/// [`List::push_front`] from the back. Other writes ([`List::set`]...) never
/// trim, and nothing trims a list written by another client.
///
/// **TTL.** The push that creates the list arms the declared TTL (one
/// script: the push, the trim, then `PEXPIRE ... NX`, so a push the server
/// refuses arms nothing); later pushes keep it.
///
/// Writes that report what changed (pushes, pops, `remove`, the queue's
/// moves) are never sent twice: when the connection drops under one, the
/// error's outcome is [`Outcome::Unknown`](crate::Outcome::Unknown). Reads
/// are sent once more.
///
/// **Blocking pops** ([`List::pop_front_blocking`], and the queue's
/// [`List::take_blocking`]) wait on a connection of their own, opened for
/// the call and closed after it: a blocked command would otherwise hold up
/// every other call sharing the store's connection. The wait does not count
/// against the response timeout; such a call returns within the connect
/// timeout plus its wait plus the response timeout.
pub struct List<'a, L: RedisList> {
    handle: Handle<'a, L>,
}

impl Store {
    /// The list of `id` in family `L`.
    pub fn list<'a, L: RedisList>(&'a self, id: &'a L::Id) -> List<'a, L> {
        List {
            handle: Handle::new(self, id),
        }
    }
}

/// Which end of a list a push or pop works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Front,
    Back,
}

impl End {
    fn push(self) -> &'static str {
        match self {
            End::Front => "LPUSH",
            End::Back => "RPUSH",
        }
    }

    fn pop(self) -> &'static str {
        match self {
            End::Front => "LPOP",
            End::Back => "RPOP",
        }
    }

    fn blocking_pop(self) -> &'static str {
        match self {
            End::Front => "BLPOP",
            End::Back => "BRPOP",
        }
    }
}

/// The longest wait a blocking command is sent with: 2^62 ms, about 146
/// million years. Redis keeps a blocked client's deadline as a signed 64-bit
/// count of milliseconds since the epoch (now plus the timeout), and refuses
/// a timeout that would overflow it ("timeout is out of range", or, before
/// Redis 7.2, "timeout is negative"); 2^62 ms is far below that bound for any
/// clock this side of year 146,000,000, and exact as a double.
const MAX_BLOCK_MS: u64 = 1 << 62;

/// A blocking command's timeout argument, in seconds with millisecond
/// precision, at least 1 ms (0 would block forever) and at most
/// [`MAX_BLOCK_MS`]; and the wait it stands for.
fn block_arg(wait: Duration) -> (Duration, String) {
    let ms = u64::try_from(wait.as_millis())
        .unwrap_or(u64::MAX)
        .clamp(1, MAX_BLOCK_MS);
    (
        Duration::from_millis(ms),
        format!("{}.{:03}", ms / 1000, ms % 1000),
    )
}

impl<L: RedisList> List<'_, L> {
    fn item(item: &L::Item) -> Result<Vec<u8>> {
        encode::<L, L::Item, L::ItemCodec>("item", item)
    }

    fn decode_item(raw: Vec<u8>) -> Result<L::Item> {
        decode::<L, L::Item, L::ItemCodec>("item", raw)
    }

    fn items_of(raw: Vec<Vec<u8>>) -> Result<Vec<L::Item>> {
        decode_all::<L, L::Item, L::ItemCodec>("item", raw)
    }

    /// Pushes `items` (already encoded) at `end` in one round trip, trimming
    /// to the cap and arming the TTL in the same transaction or script;
    /// returns the length after the push.
    async fn push(&self, operation: &'static str, end: End, items: Vec<Vec<u8>>) -> Result<u64> {
        let key = self.handle.key()?;
        // The items just pushed are the newest: keep `cap` from their end.
        let trim = L::CAP.map(|cap| {
            let cap = i64::try_from(cap).unwrap_or(i64::MAX);
            match end {
                End::Front => (0, cap - 1),
                End::Back => (-cap, -1),
            }
        });
        let len: u64 = if let Some(ttl) = Handle::<L>::ttl_ms() {
            // One script: a push the server refuses (a key of another
            // type) stops it before the trim and the `PEXPIRE NX`.
            let (start, stop) = trim.map_or((String::new(), String::new()), |(start, stop)| {
                (start.to_string(), stop.to_string())
            });
            self.handle
                .script(
                    operation,
                    Retry::Never,
                    &script::LIST_PUSH,
                    &[&key],
                    |cmd| {
                        cmd.arg(ttl)
                            .arg(end.push())
                            .arg(&start)
                            .arg(&stop)
                            .arg(&items);
                    },
                )
                .await?
        } else {
            let mut push = key_cmd(end.push(), &key);
            push.arg(&items);
            let Some((start, stop)) = trim else {
                return self.handle.send(operation, Retry::Never, &push).await;
            };
            let mut pipe = redis::pipe();
            pipe.atomic()
                .add_command(push)
                .cmd("LTRIM")
                .arg(&key)
                .arg(start)
                .arg(stop)
                .ignore();
            let (len,): (u64,) = self.handle.send(operation, Retry::Never, &pipe).await?;
            len
        };
        Ok(L::CAP.map_or(len, |cap| len.min(cap)))
    }

    fn encode_all(items: &[L::Item]) -> Result<Vec<Vec<u8>>> {
        items.iter().map(Self::item).collect()
    }

    /// Pushes `item` at the front (`LPUSH`); returns the length after the
    /// push (and the trim to the cap). The push that creates the list arms
    /// the declared TTL.
    pub async fn push_front(&self, item: &L::Item) -> Result<u64> {
        self.push("push_front", End::Front, vec![Self::item(item)?])
            .await
    }

    /// Pushes every item at the front in one command, each in turn, so the
    /// last one ends up first (as `LPUSH` does); returns the length after
    /// the push. An empty slice sends nothing and returns the length.
    pub async fn push_front_many(&self, items: &[L::Item]) -> Result<u64> {
        if items.is_empty() {
            return self.len().await;
        }
        self.push("push_front", End::Front, Self::encode_all(items)?)
            .await
    }

    /// Pushes `item` at the back (`RPUSH`); returns the length after the
    /// push (and the trim to the cap).
    pub async fn push_back(&self, item: &L::Item) -> Result<u64> {
        self.push("push_back", End::Back, vec![Self::item(item)?])
            .await
    }

    /// Pushes every item at the back in one command, in order; returns the
    /// length after the push. An empty slice sends nothing and returns the
    /// length.
    pub async fn push_back_many(&self, items: &[L::Item]) -> Result<u64> {
        if items.is_empty() {
            return self.len().await;
        }
        self.push("push_back", End::Back, Self::encode_all(items)?)
            .await
    }

    async fn pop_one(&self, operation: &'static str, end: End) -> Result<Option<L::Item>> {
        let cmd = key_cmd(end.pop(), &self.handle.key()?);
        let raw: Option<Vec<u8>> = self
            .handle
            .send_found(operation, Retry::Never, Option::is_some, &cmd)
            .await?;
        raw.map(Self::decode_item).transpose()
    }

    async fn pop_many(
        &self,
        operation: &'static str,
        end: End,
        count: u64,
    ) -> Result<Vec<L::Item>> {
        if count == 0 {
            return Ok(Vec::new());
        }
        let mut cmd = key_cmd(end.pop(), &self.handle.key()?);
        // The server takes a positive signed count; no list holds more.
        cmd.arg(i64::try_from(count).unwrap_or(i64::MAX));
        let raw: Option<Vec<Vec<u8>>> = self.handle.send(operation, Retry::Never, &cmd).await?;
        Self::items_of(raw.unwrap_or_default())
    }

    /// Removes and returns the front item (`LPOP`); `None` when empty.
    pub async fn pop_front(&self) -> Result<Option<L::Item>> {
        self.pop_one("pop_front", End::Front).await
    }

    /// Removes and returns the back item (`RPOP`); `None` when empty.
    pub async fn pop_back(&self) -> Result<Option<L::Item>> {
        self.pop_one("pop_back", End::Back).await
    }

    /// Removes and returns up to `count` items from the front, front first
    /// (`LPOP key count`; a `count` beyond `i64::MAX`, the most the server
    /// takes, is sent as `i64::MAX`: every item). If one of them does not
    /// decode, the error is returned and all of them have been removed.
    pub async fn pop_front_many(&self, count: u64) -> Result<Vec<L::Item>> {
        self.pop_many("pop_front", End::Front, count).await
    }

    /// Removes and returns up to `count` items from the back, back first
    /// (`RPOP key count`); as [`List::pop_front_many`].
    pub async fn pop_back_many(&self, count: u64) -> Result<Vec<L::Item>> {
        self.pop_many("pop_back", End::Back, count).await
    }

    async fn pop_blocking(
        &self,
        operation: &'static str,
        end: End,
        wait: Duration,
    ) -> Result<Option<L::Item>> {
        let key = self.handle.key()?;
        let (wait, arg) = block_arg(wait);
        let mut cmd = key_cmd(end.blocking_pop(), &key);
        cmd.arg(arg);
        let reply: Option<(Vec<u8>, Vec<u8>)> = self
            .handle
            .store
            .blocking::<L, _>(operation, &key, wait, &cmd, Option::is_some)
            .await?;
        reply.map(|(_key, raw)| Self::decode_item(raw)).transpose()
    }

    /// Removes and returns the front item, waiting up to `wait` for one
    /// (`BLPOP`, at least 1 ms; a wait longer than the server accepts, such
    /// as `Duration::MAX`, becomes the longest it accepts in practice, 2^62 ms,
    /// about 146 million years); `None` when none came. Waits on a
    /// connection of its own (see [`List`]). An item the server popped for a
    /// call that is dropped before the reply arrives is lost: for work that
    /// must not be lost, use a reliable queue.
    pub async fn pop_front_blocking(&self, wait: Duration) -> Result<Option<L::Item>> {
        self.pop_blocking("pop_front_blocking", End::Front, wait)
            .await
    }

    /// Removes and returns the back item, waiting up to `wait` (`BRPOP`);
    /// as [`List::pop_front_blocking`].
    pub async fn pop_back_blocking(&self, wait: Duration) -> Result<Option<L::Item>> {
        self.pop_blocking("pop_back_blocking", End::Back, wait)
            .await
    }

    /// The items from index `start` to `stop` inclusive, front first
    /// (`LRANGE`; negative indexes count from the back: `0, -1` is every
    /// item); empty when the list does not exist.
    pub async fn range(&self, start: i64, stop: i64) -> Result<Vec<L::Item>> {
        let mut cmd = key_cmd("LRANGE", &self.handle.key()?);
        cmd.arg(start).arg(stop);
        let raw: Vec<Vec<u8>> = self.handle.read("range", &cmd).await?;
        Self::items_of(raw)
    }

    /// The number of items (`LLEN`); 0 when the list does not exist.
    pub async fn len(&self) -> Result<u64> {
        let cmd = key_cmd("LLEN", &self.handle.key()?);
        self.handle.read("len", &cmd).await
    }

    /// Whether the list is empty (or does not exist).
    pub async fn is_empty(&self) -> Result<bool> {
        Ok(self.len().await? == 0)
    }

    /// The item at `index` (negative from the back, `LINDEX`); `None` when
    /// out of range.
    pub async fn get(&self, index: i64) -> Result<Option<L::Item>> {
        let mut cmd = key_cmd("LINDEX", &self.handle.key()?);
        cmd.arg(index);
        let raw: Option<Vec<u8>> = self.handle.read_found("get", Option::is_some, &cmd).await?;
        raw.map(Self::decode_item).transpose()
    }

    /// Replaces the item at `index` (`LSET`). An index out of range, or a
    /// list that does not exist, is refused by the server
    /// ([`Error::Server`](crate::Error::Server)) and changes nothing. Keeps
    /// the TTL; never trims.
    pub async fn set(&self, index: i64, item: &L::Item) -> Result<()> {
        let mut cmd = key_cmd("LSET", &self.handle.key()?);
        cmd.arg(index).arg(Self::item(item)?);
        self.handle.send("set", Retry::Once, &cmd).await
    }

    /// Removes copies of `item` (compared by its exact encoded bytes,
    /// `LREM`): the first `count` from the front when `count > 0`, the last
    /// `-count` from the back when negative, every copy when 0. Returns how
    /// many were removed.
    pub async fn remove(&self, item: &L::Item, count: i64) -> Result<u64> {
        let mut cmd = key_cmd("LREM", &self.handle.key()?);
        cmd.arg(count).arg(Self::item(item)?);
        self.handle.send("remove", Retry::Never, &cmd).await
    }

    /// Keeps only the items from index `start` to `stop` inclusive
    /// (`LTRIM`; negative from the back); an empty range deletes the list.
    pub async fn trim(&self, start: i64, stop: i64) -> Result<()> {
        let mut cmd = key_cmd("LTRIM", &self.handle.key()?);
        cmd.arg(start).arg(stop);
        self.handle.send("trim", Retry::Once, &cmd).await
    }
}

/// An item taken from a reliable queue by one consumer, and held in its
/// in-flight list until acknowledged ([`List::ack`]) or put back
/// ([`List::requeue`], [`List::recover`]).
///
/// It carries the item's exact stored bytes, so an acknowledgement removes
/// exactly one copy of exactly this item, also when equal items are queued
/// twice.
#[must_use = "an item taken from a queue stays in flight until it is acknowledged or requeued"]
#[derive(Clone, PartialEq)]
pub struct Delivery<T> {
    item: T,
    raw: Vec<u8>,
    consumer: String,
}

impl<T: std::fmt::Debug> std::fmt::Debug for Delivery<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The item as decoded, never the stored bytes.
        f.debug_struct("Delivery")
            .field("item", &self.item)
            .field("consumer", &self.consumer)
            .finish_non_exhaustive()
    }
}

impl<T> Delivery<T> {
    /// The item.
    pub fn item(&self) -> &T {
        &self.item
    }

    /// The item, taken out of the delivery (keep the delivery to
    /// acknowledge it: clone the item instead).
    pub fn into_item(self) -> T {
        self.item
    }

    /// The consumer holding it.
    pub fn consumer(&self) -> &str {
        &self.consumer
    }
}

/// The reliable queue, on lists declared `queue`.
///
/// **Order.** FIFO: [`List::enqueue`] pushes at the back, [`List::take`]
/// takes from the front. [`List::requeue`] puts an item at the back (it
/// waits its turn again), [`List::recover`] puts a consumer's items back at
/// the front in the order they were taken (they are next).
///
/// **Delivery.** A take moves the item atomically (`LMOVE`) from the queue
/// to the consumer's in-flight list (family `{Queue}InFlight`, same hash
/// slot), and the acknowledgement removes it from there: an item is always
/// in the queue or in some consumer's in-flight list, whatever crashes. A
/// consumer that dies holding items loses nothing: [`List::recover`] of its
/// name puts them back. Recovering a consumer that is in fact still working
/// means its items are processed twice: delivery is at least once.
///
/// Consumer names are key parts (any non-empty string); give each worker
/// its own, stable across restarts if it should resume its own items.
impl<L: RedisQueue> List<'_, L> {
    fn in_flight_key(&self, consumer: &str) -> Result<Vec<u8>> {
        let flight = L::in_flight(self.handle.id, consumer.to_owned());
        self.handle.store.render_key::<L::InFlight>(&flight)
    }

    /// The queue's key and `consumer`'s in-flight key, checked to share a slot.
    fn keys(&self, operation: &'static str, consumer: &str) -> Result<(Vec<u8>, Vec<u8>)> {
        let queue = self.handle.key()?;
        let flight = self.in_flight_key(consumer)?;
        self.handle.same_slot(operation, &[&queue, &flight])?;
        Ok((queue, flight))
    }

    fn delivery(raw: Vec<u8>, consumer: &str) -> Result<Delivery<L::Item>> {
        Ok(Delivery {
            item: Self::decode_item(raw.clone())?,
            raw,
            consumer: consumer.to_owned(),
        })
    }

    /// Adds `item` at the back of the queue; returns the queue's length.
    pub async fn enqueue(&self, item: &L::Item) -> Result<u64> {
        self.push_back(item).await
    }

    /// Adds every item at the back, in order, in one command; returns the
    /// queue's length.
    pub async fn enqueue_many(&self, items: &[L::Item]) -> Result<u64> {
        self.push_back_many(items).await
    }

    /// Takes the front item for `consumer`, moving it to the consumer's
    /// in-flight list in one command (`LMOVE queue in-flight LEFT RIGHT`);
    /// `None` when the queue is empty. An item that does not decode is an
    /// [`Error::Decode`](crate::Error::Decode) and stays in the in-flight
    /// list (nothing is lost; [`List::recover`] puts it back).
    pub async fn take(&self, consumer: &str) -> Result<Option<Delivery<L::Item>>> {
        let (queue, flight) = self.keys("take", consumer)?;
        let mut cmd = key_cmd("LMOVE", &queue);
        cmd.arg(&flight).arg("LEFT").arg("RIGHT");
        let raw: Option<Vec<u8>> = self
            .handle
            .send_found("take", Retry::Never, Option::is_some, &cmd)
            .await?;
        raw.map(|raw| Self::delivery(raw, consumer)).transpose()
    }

    /// As [`List::take`], waiting up to `wait` (at least 1 ms, at most
    /// 2^62 ms as for [`List::pop_front_blocking`]) for an item
    /// (`BLMOVE`) on a connection of its own (see [`List`]); `None` when
    /// none came. A call dropped while it waits loses nothing: an item the
    /// server moved is in the consumer's in-flight list.
    pub async fn take_blocking(
        &self,
        consumer: &str,
        wait: Duration,
    ) -> Result<Option<Delivery<L::Item>>> {
        let (queue, flight) = self.keys("take_blocking", consumer)?;
        let (wait, arg) = block_arg(wait);
        let mut cmd = key_cmd("BLMOVE", &queue);
        cmd.arg(&flight).arg("LEFT").arg("RIGHT").arg(arg);
        let raw: Option<Vec<u8>> = self
            .handle
            .store
            .blocking::<L, _>("take_blocking", &queue, wait, &cmd, Option::is_some)
            .await?;
        raw.map(|raw| Self::delivery(raw, consumer)).transpose()
    }

    /// Acknowledges a delivery: removes one copy of its exact bytes from
    /// its consumer's in-flight list (`LREM in-flight 1 item`). `false` when
    /// it was no longer there (acknowledged already, or recovered).
    ///
    /// The in-flight list is matched by bytes, not by delivery: when one
    /// consumer holds two equal items (the same bytes, taken twice),
    /// acknowledging one delivery twice removes both copies, the second
    /// time the other delivery's, which then acknowledges as `false` and is
    /// no longer recovered if the consumer dies. Acknowledge each delivery
    /// once ([`List::requeue`] matches the same way).
    pub async fn ack(&self, delivery: &Delivery<L::Item>) -> Result<bool> {
        let mut cmd = key_cmd("LREM", &self.in_flight_key(&delivery.consumer)?);
        cmd.arg(1).arg(&delivery.raw);
        let removed: u64 = self.handle.send("ack", Retry::Never, &cmd).await?;
        Ok(removed == 1)
    }

    /// Puts a delivery back at the back of the queue, in one script: one
    /// copy of its bytes leaves the consumer's in-flight list and, only if
    /// it was there, is pushed to the queue. `false` when it was no longer
    /// in flight (nothing is pushed: never a second copy).
    pub async fn requeue(&self, delivery: &Delivery<L::Item>) -> Result<bool> {
        let (queue, flight) = self.keys("requeue", &delivery.consumer)?;
        let ttl = ttl_arg::<L>();
        let moved: i64 = self
            .handle
            .store
            .query::<L, _, _, _>("requeue", Retry::Never, |mut con| {
                let (queue, flight, raw, ttl) = (&queue, &flight, &delivery.raw, &ttl);
                async move {
                    let reply = script::QUEUE_REQUEUE
                        .run(&mut con, &[flight, queue], |cmd| {
                            cmd.arg(raw).arg(ttl);
                        })
                        .await?;
                    i64::from_redis_value(reply).map_err(Into::into)
                }
            })
            .await?;
        if moved == 1 {
            crate::observe::queue_returned(L::META.name, "requeue", 1);
        }
        Ok(moved == 1)
    }

    /// What `consumer` holds: its in-flight list, oldest taken first
    /// (`LRANGE`), as deliveries it (or whoever takes over its name) can
    /// acknowledge or requeue.
    ///
    /// **A poison item.** One item in the list that does not decode (written
    /// by another client, or by an older item type) makes the whole call an
    /// [`Error::Decode`](crate::Error::Decode): none of the consumer's
    /// deliveries can be listed while it is there. There is no operation
    /// that removes one undecodable item by itself; what the API allows
    /// today is [`Store::delete`] of the consumer's in-flight list (the
    /// `{Queue}InFlight` family, with the queue's id and this consumer's
    /// name), which drops everything in it. So first acknowledge or requeue
    /// the deliveries the consumer still holds, then delete the list. A
    /// consumer that no longer holds its deliveries (it restarted) can
    /// [`List::recover`] its name first: every item goes back to the queue,
    /// and the [`List::take`] that meets the poison item fails with `Decode`
    /// having moved it to the back of the in-flight list; requeue or
    /// acknowledge the deliveries taken since, then delete the list.
    pub async fn in_flight(&self, consumer: &str) -> Result<Vec<Delivery<L::Item>>> {
        let cmd = key_cmd("LRANGE", &self.in_flight_key(consumer)?);
        let mut cmd = cmd;
        cmd.arg(0).arg(-1);
        let raw: Vec<Vec<u8>> = self.handle.send("in_flight", Retry::Once, &cmd).await?;
        raw.into_iter()
            .map(|raw| Self::delivery(raw, consumer))
            .collect()
    }

    /// Moves every item `consumer` holds back to the front of the queue, in
    /// the order they were taken, and returns how many. One script (a loop
    /// of `LMOVE`), so it is atomic: nobody sees the in-flight list half
    /// recovered, and an item is in exactly one of the two lists at every
    /// moment. For a consumer known to be dead: a live one's items would be
    /// processed twice.
    pub async fn recover(&self, consumer: &str) -> Result<u64> {
        let (queue, flight) = self.keys("recover", consumer)?;
        let ttl = ttl_arg::<L>();
        self.handle
            .store
            .query::<L, _, _, _>("recover", Retry::Never, |mut con| {
                let (queue, flight, ttl) = (&queue, &flight, &ttl);
                async move {
                    let reply = script::QUEUE_RECOVER
                        .run(&mut con, &[flight, queue], |cmd| {
                            cmd.arg(ttl);
                        })
                        .await?;
                    u64::from_redis_value(reply).map_err(Into::into)
                }
            })
            .await
            .inspect(|&count| crate::observe::queue_returned(L::META.name, "recover", count))
    }
}
