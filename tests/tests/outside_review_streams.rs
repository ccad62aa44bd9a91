//! An outside review of event streams, consumer groups, the consumer runner
//! and typed pub/sub, tested adversarially from README.md ("Event streams
//! and pub/sub") and the rustdoc of `redis_runtime::stream` and
//! `redis_runtime::channel` alone, written before reading the
//! implementation or its own tests.
//!
//! Each test collects every broken promise it meets (`Checks`) and fails at
//! the end listing all of them. Tests that show a defect are `#[ignore]`d
//! with the defect in one line (`// DEFECT:` above them); run them with
//! `--include-ignored`.
//!
//! Result of the review: no defect found; every promise tested held on one
//! server and on a 3-primary cluster. Test-side pitfalls met on the way: a
//! pattern subscription may receive a message published just before it
//! (cluster bus), and messages from different nodes arrive in any order.
//!
//! The stores connect as the restricted `app` user of the shared harness
//! (`common::start`), so every test also checks the ACL rule. Raw admin
//! commands only seed faults (undecodable entries and messages, killed
//! connections) and inspect what was stored.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{Mailbox, RoomEvent, RoomEvents, RoomTyping, TestRedis, Typing, on_both, raw, start};
use futures_util::StreamExt;
use redis_runtime::Error;
use redis_runtime::channel::Received;
use redis_runtime::stream::{EntryId, StartAt};

// ---------------------------------------------------------------------------
// helpers

/// Collects broken promises and fails once, listing all of them.
#[derive(Default)]
struct Checks(Vec<String>);

impl Checks {
    fn check(&mut self, ok: bool, what: impl Into<String>) {
        if !ok {
            let what = what.into();
            eprintln!("BROKEN: {what}");
            self.0.push(what);
        }
    }

    fn finish(self) {
        assert!(
            self.0.is_empty(),
            "{} broken promise(s):\n{}",
            self.0.len(),
            self.0.join("\n")
        );
    }
}

fn said(user: u64, text: &str) -> RoomEvent {
    RoomEvent::Said {
        user,
        text: text.to_owned(),
    }
}

fn ns(name: &str) -> String {
    format!("{name}:")
}

/// The key (or channel name) of `id` in family `F` under namespace `ns`.
fn key_of<F: redis_runtime::model::Family>(ns: &str, id: &F::Id) -> Vec<u8> {
    redis_runtime::key::render_key::<F>(ns, id).unwrap()
}

/// Every key on every primary.
async fn all_keys(redis: &TestRedis) -> Vec<Vec<u8>> {
    let mut keys = std::collections::BTreeSet::new();
    for mut node in redis.node_connections().await {
        let role: Vec<redis::Value> = raw!(&mut node, "ROLE");
        let is_primary =
            matches!(role.first(), Some(redis::Value::BulkString(b)) if b == b"master");
        if !is_primary {
            continue;
        }
        let found: Vec<Vec<u8>> = raw!(&mut node, "KEYS", "*");
        keys.extend(found);
    }
    keys.into_iter().collect()
}

async fn keys_containing(redis: &TestRedis, part: &str) -> Vec<Vec<u8>> {
    all_keys(redis)
        .await
        .into_iter()
        .filter(|k| String::from_utf8_lossy(k).contains(part))
        .collect()
}

async fn slot(redis: &TestRedis, key: &[u8]) -> Option<u64> {
    if !redis.is_cluster() {
        return None;
    }
    let mut con = redis.raw_connection().await.unwrap();
    Some(raw!(&mut con, "CLUSTER", "KEYSLOT", key))
}

/// Polls `cond` every 10 ms until it is true or `timeout` passes.
async fn eventually<F, Fut>(timeout: Duration, mut cond: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if cond().await {
            return true;
        }
        if start.elapsed() > timeout {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// How many subscribers `channel` has, over every node.
async fn numsub(redis: &TestRedis, channel: &[u8]) -> u64 {
    let mut total = 0;
    for mut node in redis.node_connections().await {
        let reply: Vec<redis::Value> = raw!(&mut node, "PUBSUB", "NUMSUB", channel);
        if let Some(redis::Value::Int(n)) = reply.get(1) {
            total += *n as u64;
        }
    }
    total
}

/// Stops a runner, at most 15 s; `None` when the stop hangs.
async fn stop_within(
    runner: redis_runtime::stream::RunnerHandle,
) -> Option<redis_runtime::Result<redis_runtime::stream::RunStats>> {
    tokio::time::timeout(Duration::from_secs(15), runner.stop())
        .await
        .ok()
}

fn text_of(event: &RoomEvent) -> String {
    match event {
        RoomEvent::Said { text, .. } => text.clone(),
        RoomEvent::Left { user } => format!("left {user}"),
    }
}

/// Rooms whose ids try to escape the key template.
const HOSTILE: &[&str] = &[
    "a",
    "a:b",
    "a}b",
    "{a}",
    "{a",
    "a*",
    "a?",
    "[a]",
    "a b",
    "a:events",
    "a\\",
    "ü🚀",
    "a\nb",
    "x}:events:{y",
];

// ---------------------------------------------------------------------------
// reads

on_both! {
    /// Same ids in two streams (in different slots on a cluster) are two
    /// entries, each with its stream; a bad entry never fails its batch.
    async fn read_streams_keep_stream_and_id_and_survive_bad_entries() {
        let (redis, store) = start("rs1").await;
        let mut c = Checks::default();
        let mut admin = redis.raw_connection().await.unwrap();
        let rooms: Vec<String> = (0..6).map(|i| format!("room-{i}")).collect();
        for (i, room) in rooms.iter().enumerate() {
            let key = key_of::<RoomEvents>(&ns("rs1"), room);
            let json = serde_json::to_string(&said(i as u64, room)).unwrap();
            // The same explicit ids in every stream.
            let _: String = raw!(&mut admin, "XADD", &key, "7-1", "event", &json);
            let _: String = raw!(&mut admin, "XADD", &key, "7-2", "event", "{not json");
            let _: String = raw!(&mut admin, "XADD", &key, "7-3", "other", "1");
            let _: String = raw!(&mut admin, "XADD", &key, "7-4", "event", &json);
        }
        let from: Vec<(&String, EntryId)> = rooms.iter().rev().map(|r| (r, EntryId::ZERO)).collect();
        let got = store.read_streams::<RoomEvents>(&from, 100, None).await;
        match got {
            Err(e) => c.check(false, format!("read_streams failed on a bad entry: {e:?}")),
            Ok(got) => {
                c.check(got.len() == 24, format!("4 entries x 6 streams, got {}", got.len()));
                let expected: Vec<(String, EntryId)> = rooms
                    .iter()
                    .rev()
                    .flat_map(|r| (1..=4).map(move |s| (r.clone(), EntryId::new(7, s))))
                    .collect();
                let seen: Vec<(String, EntryId)> = got.iter().map(|(r, e)| (r.clone(), e.id)).collect();
                c.check(seen == expected, format!("order of `from`, oldest first: {seen:?}"));
                for (room, entry) in &got {
                    match entry.id.seq() {
                        1 | 4 => c.check(
                            matches!(&entry.event, Ok(e) if text_of(e) == *room),
                            format!("{room} {}: own event, got {:?}", entry.id, entry.event),
                        ),
                        _ => c.check(
                            matches!(&entry.event, Err(Error::Decode(_))),
                            format!("{room} {}: a Decode error, got {:?}", entry.id, entry.event),
                        ),
                    }
                }
            }
        }
        // One stream's reads.
        let log = store.stream::<RoomEvents>(&rooms[0]);
        for (what, read) in [
            ("after", log.after(EntryId::ZERO, 10).await),
            ("range", log.range(EntryId::new(7, 1), EntryId::new(7, 4), 10).await),
            ("latest", log.latest(10).await),
            ("wait_after", log.wait_after(EntryId::ZERO, 10, Duration::from_millis(5)).await),
        ] {
            match read {
                Ok(v) => c.check(
                    v.len() == 4 && v.iter().filter(|e| e.event.is_err()).count() == 2,
                    format!("{what}: 4 entries, 2 bad, got {v:?}"),
                ),
                Err(e) => c.check(false, format!("{what} failed on a bad entry: {e:?}")),
            }
        }
        c.check(log.len().await.unwrap() == 4, "len 4");
        let after = log.after(EntryId::new(7, 2), 10).await.unwrap();
        c.check(
            after.iter().map(|e| e.id).collect::<Vec<_>>() == vec![EntryId::new(7, 3), EntryId::new(7, 4)],
            "after is exclusive",
        );
        let latest = log.latest(2).await.unwrap();
        c.check(
            latest.iter().map(|e| e.id).collect::<Vec<_>>() == vec![EntryId::new(7, 3), EntryId::new(7, 4)],
            format!("latest(2): the newest two, oldest first: {latest:?}"),
        );
        c.finish();
    }
}

on_both! {
    /// Ids that try to escape the template never reach another stream; a
    /// read of all of them keeps each entry with its own stream.
    async fn hostile_stream_ids_never_forge_other_streams() {
        let (redis, store) = start("rs2").await;
        let mut c = Checks::default();
        let rooms: Vec<String> = HOSTILE.iter().map(|s| s.to_string()).collect();
        for (i, room) in rooms.iter().enumerate() {
            store.stream::<RoomEvents>(room).append(&said(i as u64, room)).await.unwrap();
        }
        for room in &rooms {
            let got = store.stream::<RoomEvents>(room).after(EntryId::ZERO, 100).await.unwrap();
            let texts: Vec<String> = got.iter().map(|e| text_of(e.event.as_ref().unwrap())).collect();
            c.check(texts == vec![room.clone()], format!("stream {room:?} holds only its own event, got {texts:?}"));
        }
        let keys = keys_containing(&redis, "rs2:").await;
        c.check(keys.len() == rooms.len(), format!("{} distinct keys, got {}", rooms.len(), keys.len()));
        let from: Vec<(&String, EntryId)> = rooms.iter().map(|r| (r, EntryId::ZERO)).collect();
        let got = store.read_streams::<RoomEvents>(&from, 10, None).await.unwrap();
        for (room, entry) in &got {
            c.check(
                text_of(entry.event.as_ref().unwrap()) == *room,
                format!("read_streams pairs {room:?} with {:?}", entry.event),
            );
        }
        c.check(got.len() == rooms.len(), format!("one entry per stream, got {}", got.len()));
        // An empty id is a typed error, not a panic.
        let empty = String::new();
        let r = store.stream::<RoomEvents>(&empty).append(&said(0, "")).await;
        eprintln!("REVIEW empty room id: {r:?}");
        c.finish();
    }
}

on_both! {
    /// Many streams in many slots, count per stream, order of `from`.
    async fn read_streams_across_many_slots() {
        let (_redis, store) = start("rs3").await;
        let mut c = Checks::default();
        let rooms: Vec<String> = (0..40).map(|i| format!("r{i}")).collect();
        let mut ids: BTreeMap<String, Vec<EntryId>> = BTreeMap::new();
        for room in &rooms {
            let got = store
                .stream::<RoomEvents>(room)
                .append_many(&[said(1, room), said(2, room), said(3, room)])
                .await
                .unwrap();
            ids.insert(room.clone(), got);
        }
        let from: Vec<(&String, EntryId)> = rooms.iter().rev().map(|r| (r, EntryId::ZERO)).collect();
        let got = store.read_streams::<RoomEvents>(&from, 2, None).await.unwrap();
        let expected: Vec<(String, EntryId)> = rooms
            .iter()
            .rev()
            .flat_map(|r| ids[r][..2].iter().map(move |id| (r.clone(), *id)))
            .collect();
        let seen: Vec<(String, EntryId)> = got.iter().map(|(r, e)| (r.clone(), e.id)).collect();
        c.check(seen == expected, format!("2 per stream in order of from: got {} entries", seen.len()));
        // From each stream's second id: exactly the third.
        let from: Vec<(&String, EntryId)> = rooms.iter().map(|r| (r, ids[r][1])).collect();
        let got = store.read_streams::<RoomEvents>(&from, 10, None).await.unwrap();
        let seen: Vec<(String, EntryId)> = got.iter().map(|(r, e)| (r.clone(), e.id)).collect();
        let expected: Vec<(String, EntryId)> = rooms.iter().map(|r| (r.clone(), ids[r][2])).collect();
        c.check(seen == expected, "after each stream's second: its third");
        // A wait across slots wakes for an append to any of them.
        let last: Vec<(&String, EntryId)> = rooms.iter().map(|r| (r, ids[r][2])).collect();
        let started = Instant::now();
        let (got, _) = tokio::join!(
            store.read_streams::<RoomEvents>(&last, 10, Some(Duration::from_secs(5))),
            async {
                tokio::time::sleep(Duration::from_millis(200)).await;
                store.stream::<RoomEvents>(&rooms[17]).append(&said(9, "late")).await.unwrap()
            }
        );
        let got = got.unwrap();
        c.check(started.elapsed() < Duration::from_secs(4), format!("woken by the append, took {:?}", started.elapsed()));
        c.check(
            got.len() == 1 && got[0].0 == rooms[17],
            format!("the appended entry with its stream: {:?}", got.iter().map(|(r, e)| (r, e.id)).collect::<Vec<_>>()),
        );
        c.finish();
    }
}

on_both! {
    /// Blocking reads hold connections of their own: many at once do not
    /// serialize, and other operations on the store go on meanwhile.
    async fn blocking_reads_do_not_stall_the_store() {
        let (_redis, store) = start("rs4").await;
        let mut c = Checks::default();
        let room = "quiet".to_owned();
        let last = store.stream::<RoomEvents>(&room).append(&said(0, "x")).await.unwrap();
        let started = Instant::now();
        let waits = (0..12).map(|i| {
            let store = store.clone();
            let room = format!("idle{i}");
            tokio::spawn(async move {
                store.stream::<RoomEvents>(&room).wait_after(EntryId::ZERO, 1, Duration::from_millis(800)).await
            })
        });
        let group_room = "grp".to_owned();
        store.stream::<RoomEvents>(&group_room).group("g").create(StartAt::End).await.unwrap();
        let group_wait = {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .stream::<RoomEvents>(&group_room)
                    .group("g")
                    .read("c", 1, Some(Duration::from_millis(800)))
                    .await
            })
        };
        let handles: Vec<_> = waits.collect();
        tokio::time::sleep(Duration::from_millis(50)).await;
        // Meanwhile: ordinary commands answer promptly.
        let t = Instant::now();
        for i in 0..20 {
            store.stream::<RoomEvents>(&room).append(&said(i, "busy")).await.unwrap();
        }
        c.check(t.elapsed() < Duration::from_millis(600), format!("20 appends during blocking reads took {:?}", t.elapsed()));
        let got = store.stream::<RoomEvents>(&room).wait_after(last, 100, Duration::from_secs(2)).await.unwrap();
        c.check(got.len() == 20, format!("wait_after returns at once when entries exist: {}", got.len()));
        for h in handles {
            let r = h.await.unwrap();
            c.check(matches!(&r, Ok(v) if v.is_empty()), format!("idle wait_after: empty, got {r:?}"));
        }
        let r = group_wait.await.unwrap();
        c.check(matches!(&r, Ok(v) if v.is_empty()), format!("idle group read: empty, got {r:?}"));
        c.check(
            started.elapsed() < Duration::from_secs(3),
            format!("13 blocking reads of 0.8 s run at once, took {:?}", started.elapsed()),
        );
        c.finish();
    }
}

// ---------------------------------------------------------------------------
// trimming and ttl

on_both! {
    /// `maxlen = "50"` is exact, `maxlen = "~1000"` keeps at least 1000.
    async fn trimming_exact_and_approximate() {
        let (_redis, store) = start("rs5").await;
        let mut c = Checks::default();
        let mailbox = store.stream::<Mailbox>(&7);
        let mut last = EntryId::ZERO;
        for i in 0..60 {
            last = mailbox.append(&said(i, &i.to_string())).await.unwrap();
        }
        c.check(mailbox.len().await.unwrap() == 50, format!("exact 50 after 60 appends, got {}", mailbox.len().await.unwrap()));
        let events: Vec<RoomEvent> = (100..130).map(|i| said(i, &i.to_string())).collect();
        let ids = mailbox.append_many(&events).await.unwrap();
        c.check(ids.len() == 30 && ids.windows(2).all(|w| w[0] < w[1]) && ids[0] > last, "append_many: 30 ascending ids");
        c.check(mailbox.len().await.unwrap() == 50, format!("exact 50 after append_many, got {}", mailbox.len().await.unwrap()));
        let newest = mailbox.latest(1).await.unwrap();
        c.check(newest.len() == 1 && newest[0].id == ids[29], "the newest entry stays");
        let oldest = mailbox.after(EntryId::ZERO, 1).await.unwrap();
        c.check(
            matches!(oldest.first().map(|e| e.event.as_ref()), Some(Ok(e)) if text_of(e) == "40"),
            format!("the oldest kept is the 41st: {:?}", oldest.first().map(|e| &e.event)),
        );

        let room = "big".to_owned();
        let log = store.stream::<RoomEvents>(&room);
        for chunk in 0..15 {
            let events: Vec<RoomEvent> = (0..100).map(|i| said(chunk * 100 + i, "x")).collect();
            log.append_many(&events).await.unwrap();
        }
        let len = log.len().await.unwrap();
        c.check((1000..1500).contains(&len), format!("~1000: at least 1000, trimmed below 1500, got {len}"));
        c.check(mailbox.append_many(&[]).await.unwrap().is_empty(), "empty append_many");
        c.finish();
    }
}

on_both! {
    /// Every append (and append_many) re-arms the mailbox's TTL.
    async fn ttl_rearmed_by_every_append() {
        let (redis, store) = start("rs6").await;
        let mut c = Checks::default();
        let mut admin = redis.raw_connection().await.unwrap();
        let key = key_of::<Mailbox>(&ns("rs6"), &9);
        let mailbox = store.stream::<Mailbox>(&9);
        mailbox.append(&said(1, "a")).await.unwrap();
        let ttl: i64 = raw!(&mut admin, "PTTL", &key);
        c.check(ttl > 3_500_000 && ttl <= 3_600_000, format!("1h after the first append, got {ttl}"));
        let _: i64 = raw!(&mut admin, "PEXPIRE", &key, 5000);
        mailbox.append(&said(2, "b")).await.unwrap();
        let ttl: i64 = raw!(&mut admin, "PTTL", &key);
        c.check(ttl > 3_500_000, format!("append re-arms, got {ttl}"));
        let _: i64 = raw!(&mut admin, "PEXPIRE", &key, 5000);
        mailbox.append_many(&[said(3, "c"), said(4, "d")]).await.unwrap();
        let ttl: i64 = raw!(&mut admin, "PTTL", &key);
        c.check(ttl > 3_500_000, format!("append_many re-arms, got {ttl}"));
        // A stream without ttl has none.
        let room = "r".to_owned();
        store.stream::<RoomEvents>(&room).append(&said(1, "a")).await.unwrap();
        let ttl: i64 = raw!(&mut admin, "PTTL", key_of::<RoomEvents>(&ns("rs6"), &room));
        c.check(ttl == -1, format!("no ttl declared: none, got {ttl}"));
        c.finish();
    }
}

// ---------------------------------------------------------------------------
// groups

on_both! {
    /// create is idempotent (MKSTREAM), StartAt is honoured, ack counts,
    /// pending and lag.
    async fn group_create_read_ack_pending_lag() {
        let (_redis, store) = start("rs7").await;
        let mut c = Checks::default();
        let room = "g".to_owned();
        let log = store.stream::<RoomEvents>(&room);
        let g = log.group("billing");
        c.check(g.lag().await.unwrap().is_none(), "lag of a missing group: None");
        c.check(g.create(StartAt::Beginning).await.unwrap(), "first create: true");
        c.check(!g.create(StartAt::Beginning).await.unwrap(), "second create: false");
        c.check(!g.create(StartAt::End).await.unwrap(), "create with another start: false");
        c.check(log.len().await.unwrap() == 0, "MKSTREAM: an empty stream");
        let ids = log.append_many(&[said(1, "a"), said(2, "b"), said(3, "c")]).await.unwrap();
        c.check(g.lag().await.unwrap() == Some(3), format!("lag 3, got {:?}", g.lag().await));
        let got = g.read("c1", 2, None).await.unwrap();
        c.check(got.iter().map(|d| d.id).collect::<Vec<_>>() == ids[..2], "read: the first two");
        c.check(got.iter().all(|d| d.deliveries == 1), "deliveries 1 on a first read");
        let got2 = g.read("c2", 10, None).await.unwrap();
        c.check(got2.iter().map(|d| d.id).collect::<Vec<_>>() == ids[2..], "another consumer: the third only");
        c.check(g.read("c1", 10, None).await.unwrap().is_empty(), "nothing new");
        c.check(g.pending().await.unwrap() == 3, "3 pending");
        c.check(g.lag().await.unwrap() == Some(0), "lag 0");
        c.check(g.ack(&[ids[0], ids[2], EntryId::new(1, 1)]).await.unwrap() == 2, "ack: 2 were pending");
        c.check(g.ack(&[ids[0]]).await.unwrap() == 0, "ack again: 0");
        c.check(g.ack(&[]).await.unwrap() == 0, "empty ack");
        c.check(g.pending().await.unwrap() == 1, "1 pending");
        let late = log.group("late");
        c.check(late.create(StartAt::End).await.unwrap(), "create at End");
        let after = log.group("after");
        c.check(after.create(StartAt::After(ids[0])).await.unwrap(), "create After");
        let new = log.append(&said(4, "d")).await.unwrap();
        let got = late.read("c", 10, None).await.unwrap();
        c.check(got.iter().map(|d| d.id).collect::<Vec<_>>() == vec![new], "End: only new entries");
        let got = after.read("c", 10, None).await.unwrap();
        c.check(got.iter().map(|d| d.id).collect::<Vec<_>>() == vec![ids[1], ids[2], new], "After(id): after it");
        c.check(late.destroy().await.unwrap(), "destroy: true");
        c.check(!late.destroy().await.unwrap(), "destroy again: false");
        let missing = late.read("c", 10, None).await;
        c.check(missing.is_err(), format!("read of a destroyed group: an error, got {missing:?}"));
        c.finish();
    }
}

on_both! {
    /// reclaim: entries deleted or trimmed while pending are `deleted`,
    /// never decode errors; the delivery limit dead-letters.
    async fn reclaim_deleted_and_delivery_limit() {
        let (redis, store) = start("rs8").await;
        let mut c = Checks::default();
        let mailbox = store.stream::<Mailbox>(&3);
        let g = mailbox.group("g");
        g.create(StartAt::Beginning).await.unwrap();
        let first = mailbox.append(&said(0, "first")).await.unwrap();
        let second = mailbox.append(&said(0, "second")).await.unwrap();
        let third = mailbox.append(&said(0, "third")).await.unwrap();
        let got = g.read("dead", 3, None).await.unwrap();
        c.check(got.len() == 3, "3 read");
        // Delete one, trim another away (maxlen 50 exact).
        c.check(mailbox.delete(&[second]).await.unwrap() == 1, "delete: 1");
        for i in 0..50 {
            mailbox.append(&said(i, "filler")).await.unwrap();
        }
        let r = g.reclaim("alive", Duration::ZERO, 10, 0, EntryId::ZERO).await;
        match r {
            Err(e) => c.check(false, format!("reclaim failed: {e:?}")),
            Ok(r) => {
                let mut deleted = r.deleted.clone();
                deleted.sort();
                c.check(deleted == vec![first, second, third], format!("deleted: all three, got {deleted:?}"));
                c.check(r.entries.is_empty(), format!("nothing to process: {:?}", r.entries.iter().map(|d| d.id).collect::<Vec<_>>()));
                c.check(r.next == EntryId::ZERO, "reached the end");
            }
        }
        c.check(g.pending().await.unwrap() == 0, "deleted entries leave the pending list");

        // The fillers are new to the group: read and ack them first.
        let fillers = g.read("x", 100, None).await.unwrap();
        g.ack(&fillers.iter().map(|d| d.id).collect::<Vec<_>>()).await.unwrap();
        // Delivery limit 2: a read (1), a reclaim (2), a reclaim that would be 3.
        let id = mailbox.append(&said(5, "limited")).await.unwrap();
        let got = g.read("a", 10, None).await.unwrap();
        c.check(got.iter().map(|d| d.id).collect::<Vec<_>>() == vec![id], "read the limited one");
        let r = g.reclaim("b", Duration::ZERO, 10, 2, EntryId::ZERO).await.unwrap();
        c.check(
            r.entries.len() == 1 && r.entries[0].id == id && r.entries[0].deliveries == 2 && r.dead_lettered.is_empty(),
            format!("second delivery by reclaim: {:?} dl {:?}", r.entries, r.dead_lettered),
        );
        let r = g.reclaim("c", Duration::ZERO, 10, 2, EntryId::ZERO).await.unwrap();
        c.check(r.entries.is_empty() && r.dead_lettered == vec![id], format!("third would exceed 2: dead-lettered, got {:?} {:?}", r.entries, r.dead_lettered));
        c.check(g.pending().await.unwrap() == 0, "dead-lettered is acked");
        let dls = mailbox.dead_letters(EntryId::ZERO, 10).await.unwrap();
        c.check(dls.len() == 1, format!("one dead letter, got {}", dls.len()));
        if let Some(dl) = dls.first() {
            c.check(dl.original == id && dl.group == "g", format!("dead letter: {dl:?}"));
            c.check(dl.deliveries == 2, format!("delivered twice, got {}", dl.deliveries));
            c.check(matches!(&dl.event, Ok(e) if text_of(e) == "limited"), "dead letter keeps the event");
        }
        // The dead-letter stream is in the stream's slot (no hash tag here).
        let stream_key = key_of::<Mailbox>(&ns("rs8"), &3);
        let dead = keys_containing(&redis, ":dead").await;
        c.check(dead.len() == 1, format!("one dead-letter key: {:?}", dead.iter().map(|k| String::from_utf8_lossy(k).into_owned()).collect::<Vec<_>>()));
        if let Some(dead) = dead.first() {
            c.check(slot(&redis, dead).await == slot(&redis, &stream_key).await, "dead-letter key in the stream's slot");
        }
        c.finish();
    }
}

on_both! {
    /// dead_letter: true when copied, false when deleted (then acked), an
    /// entry not pending is left alone.
    async fn dead_letter_by_hand() {
        let (_redis, store) = start("rs9").await;
        let mut c = Checks::default();
        let room = "dl".to_owned();
        let log = store.stream::<RoomEvents>(&room);
        let g = log.group("g");
        g.create(StartAt::Beginning).await.unwrap();
        let ids = log.append_many(&[said(1, "a"), said(2, "b"), said(3, "c")]).await.unwrap();
        g.read("w", 2, None).await.unwrap();
        c.check(!g.dead_letter(ids[2], "w", "not pending").await.unwrap(), "not pending: false");
        c.check(log.dead_letters(EntryId::ZERO, 10).await.unwrap().is_empty(), "not pending: nothing copied");
        c.check(g.dead_letter(ids[0], "w", "boom: \"x\"\n").await.unwrap(), "pending: true");
        log.delete(&[ids[1]]).await.unwrap();
        c.check(!g.dead_letter(ids[1], "w", "gone").await.unwrap(), "deleted while pending: false");
        c.check(g.pending().await.unwrap() == 0, "both acked");
        let dls = log.dead_letters(EntryId::ZERO, 10).await.unwrap();
        c.check(dls.len() == 1, format!("one dead letter: {dls:?}"));
        if let Some(dl) = dls.first() {
            c.check(
                dl.original == ids[0] && dl.group == "g" && dl.consumer == "w" && dl.reason == "boom: \"x\"\n"
                    && matches!(&dl.event, Ok(e) if text_of(e) == "a"),
                format!("dead letter: {dl:?}"),
            );
        }
        let dls = log.dead_letters(dls[0].id, 10).await.unwrap();
        c.check(dls.is_empty(), "dead_letters after the last: none");
        c.finish();
    }
}

on_both! {
    /// mark_processed: true, then false; a TTL of `keep`; in the stream's slot.
    async fn mark_processed_idempotent_with_ttl() {
        let (redis, store) = start("rs10").await;
        let mut c = Checks::default();
        let mailbox = store.stream::<Mailbox>(&11);
        let g = mailbox.group("g");
        let id = mailbox.append(&said(1, "a")).await.unwrap();
        let keep = Duration::from_secs(30);
        c.check(g.mark_processed(id, keep).await.unwrap(), "first mark: true");
        c.check(!g.mark_processed(id, keep).await.unwrap(), "second mark: false");
        c.check(g.mark_processed(EntryId::new(id.ms(), id.seq() + 1), keep).await.unwrap(), "another id: true");
        let other = mailbox.group("other");
        c.check(other.mark_processed(id, keep).await.unwrap(), "another group's records are its own: true");
        let keys = keys_containing(&redis, "processed").await;
        c.check(!keys.is_empty(), "a processed key");
        let mut admin = redis.raw_connection().await.unwrap();
        let stream_key = key_of::<Mailbox>(&ns("rs10"), &11);
        for key in &keys {
            let ttl: i64 = raw!(&mut admin, "PTTL", key);
            c.check(ttl > 0 && ttl <= 30_000, format!("processed key TTL within keep, got {ttl}"));
            c.check(slot(&redis, key).await == slot(&redis, &stream_key).await, "processed key in the stream's slot");
        }
        // Expired after keep: marked again as new.
        let short = Duration::from_millis(100);
        let id2 = EntryId::new(id.ms(), id.seq() + 7);
        c.check(g.mark_processed(id2, short).await.unwrap(), "short keep: true");
        let again = eventually(Duration::from_secs(5), || async {
            tokio::time::sleep(Duration::from_millis(150)).await;
            g.mark_processed(id2, short).await.unwrap()
        })
        .await;
        c.check(again, "an id older than keep is forgotten");
        c.finish();
    }
}

// ---------------------------------------------------------------------------
// the runner

on_both! {
    /// A failing handler is called exactly max_deliveries times, then the
    /// entry is dead-lettered and acked.
    async fn runner_dead_letters_after_exactly_max_deliveries() {
        let (_redis, store) = start("rs11").await;
        let mut c = Checks::default();
        let room = "fail".to_owned();
        let log = store.stream::<RoomEvents>(&room);
        let g = log.group("g");
        g.create(StartAt::Beginning).await.unwrap();
        let id = log.append(&said(1, "doomed")).await.unwrap();
        let calls = Arc::new(AtomicU64::new(0));
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (calls2, seen2) = (calls.clone(), seen.clone());
        let runner = g
            .runner("w")
            .max_deliveries(3)
            .retry_after(Duration::from_millis(20))
            .block(Duration::from_millis(50))
            .spawn(move |m| {
                calls2.fetch_add(1, Ordering::SeqCst);
                seen2.lock().unwrap().push(m.deliveries);
                async move { Err::<(), String>("always".into()) }
            });
        let done = eventually(Duration::from_secs(10), || async {
            log.dead_letters(EntryId::ZERO, 10).await.unwrap().len() == 1
        })
        .await;
        c.check(done, "dead-lettered within 10 s");
        // Give a wrong extra delivery a chance to show.
        let _ = eventually(Duration::from_millis(300), || async { false }).await;
        let Some(stats) = stop_within(runner).await else {
            c.check(false, "stop() did not return within 15 s");
            return c.finish();
        };
        let stats = stats.unwrap();
        c.check(calls.load(Ordering::SeqCst) == 3, format!("handler called 3 times, got {}", calls.load(Ordering::SeqCst)));
        let seen = seen.lock().unwrap().clone();
        c.check(seen == vec![1, 2, 3], format!("deliveries 1,2,3: {seen:?}"));
        c.check(stats.failed == 3 && stats.dead_lettered == 1 && stats.processed == 0, format!("stats {stats:?}"));
        c.check(g.pending().await.unwrap() == 0, "acked");
        let dls = log.dead_letters(EntryId::ZERO, 10).await.unwrap();
        if let Some(dl) = dls.first() {
            c.check(dl.original == id && dl.deliveries == 3 && dl.consumer == "w", format!("dead letter {dl:?}"));
            c.check(dl.reason.contains("always"), format!("reason: the handler's last error, got {:?}", dl.reason));
        }
        c.finish();
    }
}

on_both! {
    /// Undecodable entries are dead-lettered at once, alone; the good ones
    /// of their batch are handled.
    async fn runner_dead_letters_undecodable_alone() {
        let (redis, store) = start("rs12").await;
        let mut c = Checks::default();
        let mut admin = redis.raw_connection().await.unwrap();
        let room = "mixed".to_owned();
        let key = key_of::<RoomEvents>(&ns("rs12"), &room);
        let log = store.stream::<RoomEvents>(&room);
        let g = log.group("g");
        g.create(StartAt::Beginning).await.unwrap();
        log.append(&said(1, "good1")).await.unwrap();
        let bad1: String = raw!(&mut admin, "XADD", &key, "*", "event", "{nope");
        log.append(&said(2, "good2")).await.unwrap();
        let bad2: String = raw!(&mut admin, "XADD", &key, "*", "other", "x");
        let bad3: String = raw!(&mut admin, "XADD", &key, "*", "event", "{\"type\":\"unknown\"}");
        log.append(&said(3, "good3")).await.unwrap();
        let handled = Arc::new(std::sync::Mutex::new(Vec::new()));
        let h2 = handled.clone();
        let runner = g.runner("w").block(Duration::from_millis(50)).spawn(move |m| {
            h2.lock().unwrap().push(text_of(&m.event));
            async { Ok::<(), String>(()) }
        });
        let done = eventually(Duration::from_secs(10), || async {
            g.pending().await.unwrap() == 0 && handled.lock().unwrap().len() >= 3
        })
        .await;
        c.check(done, "all settled within 10 s");
        let Some(stats) = stop_within(runner).await else {
            c.check(false, "stop() did not return within 15 s");
            return c.finish();
        };
        let stats = stats.unwrap();
        let handled = handled.lock().unwrap().clone();
        c.check(handled == vec!["good1", "good2", "good3"], format!("handled {handled:?}"));
        c.check(stats.processed == 3 && stats.dead_lettered == 3 && stats.failed == 0, format!("stats {stats:?}"));
        let dls = log.dead_letters(EntryId::ZERO, 10).await.unwrap();
        let originals: Vec<String> = dls.iter().map(|d| d.original.to_string()).collect();
        c.check(originals == vec![bad1, bad2, bad3], format!("dead letters: {originals:?}"));
        for dl in &dls {
            c.check(dl.event.is_err() && !dl.reason.is_empty() && dl.deliveries == 1, format!("decode dead letter {dl:?}"));
        }
        c.finish();
    }
}

on_both! {
    /// Never more than `concurrency` handlers at once.
    async fn runner_bounds_concurrency() {
        let (_redis, store) = start("rs13").await;
        let mut c = Checks::default();
        let room = "busy".to_owned();
        let log = store.stream::<RoomEvents>(&room);
        let g = log.group("g");
        g.create(StartAt::Beginning).await.unwrap();
        let events: Vec<RoomEvent> = (0..30).map(|i| said(i, "x")).collect();
        log.append_many(&events).await.unwrap();
        let running = Arc::new(AtomicUsize::new(0));
        let max = Arc::new(AtomicUsize::new(0));
        let done = Arc::new(AtomicUsize::new(0));
        let (r2, m2, d2) = (running.clone(), max.clone(), done.clone());
        let runner = g.runner("w").concurrency(3).batch(10).block(Duration::from_millis(50)).spawn(move |_m| {
            let (r, m, d) = (r2.clone(), m2.clone(), d2.clone());
            async move {
                let now = r.fetch_add(1, Ordering::SeqCst) + 1;
                m.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(30)).await;
                r.fetch_sub(1, Ordering::SeqCst);
                d.fetch_add(1, Ordering::SeqCst);
                Ok::<(), String>(())
            }
        });
        // Append more while it runs.
        log.append_many(&events).await.unwrap();
        let all = eventually(Duration::from_secs(15), || async { done.load(Ordering::SeqCst) == 60 }).await;
        c.check(all, format!("60 handled, got {}", done.load(Ordering::SeqCst)));
        let Some(stats) = stop_within(runner).await else {
            c.check(false, "stop() did not return within 15 s");
            return c.finish();
        };
        let stats = stats.unwrap();
        let max = max.load(Ordering::SeqCst);
        eprintln!("REVIEW max concurrent handlers: {max}");
        c.check(max <= 3, format!("at most 3 at once, saw {max}"));
        c.check(stats.processed == 60, format!("stats {stats:?}"));
        c.check(g.pending().await.unwrap() == 0, "all acked");
        c.finish();
    }
}

on_both! {
    /// stop lets the handler in flight finish and acks it; entries waiting
    /// for a retry stay pending.
    async fn runner_graceful_stop_acks_in_flight() {
        let (_redis, store) = start("rs14").await;
        let mut c = Checks::default();
        let room = "stop".to_owned();
        let log = store.stream::<RoomEvents>(&room);
        let g = log.group("g");
        g.create(StartAt::Beginning).await.unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        let finished = Arc::new(AtomicBool::new(false));
        let f2 = finished.clone();
        let runner = g
            .runner("w")
            .retry_after(Duration::from_secs(3600))
            .block(Duration::from_millis(50))
            .spawn(move |m| {
                let tx = tx.clone();
                let f = f2.clone();
                async move {
                    let text = text_of(&m.event);
                    let _ = tx.send(text.clone());
                    if text == "fail" {
                        return Err("no".to_owned());
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    f.store(true, Ordering::SeqCst);
                    Ok(())
                }
            });
        log.append(&said(1, "fail")).await.unwrap();
        c.check(rx.recv().await.as_deref() == Some("fail"), "the failing one ran");
        log.append(&said(2, "slow")).await.unwrap();
        c.check(rx.recv().await.as_deref() == Some("slow"), "the slow one started");
        let Some(stats) = stop_within(runner).await else {
            c.check(false, "stop() did not return within 15 s");
            return c.finish();
        };
        let stats = stats.unwrap();
        c.check(finished.load(Ordering::SeqCst), "the handler in flight finished before stop returned");
        c.check(stats.processed == 1 && stats.failed == 1, format!("stats {stats:?}"));
        c.check(g.pending().await.unwrap() == 1, format!("only the retry stays pending, got {}", g.pending().await.unwrap()));
        // Nothing read after stop.
        log.append(&said(3, "after")).await.unwrap();
        c.check(g.lag().await.unwrap() == Some(1), "nothing read after stop");
        c.finish();
    }
}

on_both! {
    /// A panicking handler counts as a failure and is retried; the runner
    /// goes on.
    async fn runner_survives_handler_panic() {
        let (_redis, store) = start("rs15").await;
        let mut c = Checks::default();
        let room = "panic".to_owned();
        let log = store.stream::<RoomEvents>(&room);
        let g = log.group("g");
        g.create(StartAt::Beginning).await.unwrap();
        let ok = Arc::new(AtomicU64::new(0));
        let ok2 = ok.clone();
        let runner = g
            .runner("w")
            .retry_after(Duration::from_millis(20))
            .block(Duration::from_millis(50))
            .spawn(move |m| {
                let ok = ok2.clone();
                async move {
                    if m.deliveries == 1 {
                        panic!("handler panic on purpose");
                    }
                    ok.fetch_add(1, Ordering::SeqCst);
                    Ok::<(), String>(())
                }
            });
        log.append(&said(1, "p")).await.unwrap();
        log.append(&said(2, "q")).await.unwrap();
        let done = eventually(Duration::from_secs(10), || async {
            ok.load(Ordering::SeqCst) == 2 && g.pending().await.unwrap() == 0
        })
        .await;
        c.check(done, "both handled after their panics");
        let stats = stop_within(runner).await;
        c.check(matches!(&stats, Some(Ok(s)) if s.failed == 2 && s.processed == 2), format!("stats {stats:?}"));
        c.finish();
    }
}

on_both! {
    /// A crash (abort) leaves in-flight entries pending; the same consumer
    /// gets them again when it starts again, another consumer after
    /// min_idle.
    async fn runner_at_least_once_after_crash() {
        let (_redis, store) = start("rs16").await;
        let mut c = Checks::default();
        let room = "crash".to_owned();
        let log = store.stream::<RoomEvents>(&room);
        let g = log.group("g");
        g.create(StartAt::Beginning).await.unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
        let runner = g.runner("w").block(Duration::from_millis(50)).spawn(move |_m| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(());
                std::future::pending::<()>().await;
                Ok::<(), String>(())
            }
        });
        let id = log.append(&said(1, "x")).await.unwrap();
        c.check(rx.recv().await.is_some(), "started");
        runner.abort();
        c.check(g.pending().await.unwrap() == 1, "still pending after the crash");
        // The same consumer again.
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(EntryId, u64)>();
        let runner = g.runner("w").block(Duration::from_millis(50)).spawn(move |m| {
            let _ = tx.send((m.id, m.deliveries));
            async { Ok::<(), String>(()) }
        });
        let got = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await;
        c.check(matches!(got, Ok(Some((i, d))) if i == id && d >= 2), format!("redelivered to the restarted consumer: {got:?}"));
        let Some(stats) = stop_within(runner).await else {
            c.check(false, "stop() did not return within 15 s");
            return c.finish();
        };
        let stats = stats.unwrap();
        c.check(stats.processed == 1, format!("stats {stats:?}"));
        c.check(g.pending().await.unwrap() == 0, "acked");

        // Another consumer's leftovers, after min_idle.
        let ids = log.append_many(&[said(2, "a"), said(3, "b")]).await.unwrap();
        let taken = g.read("dead", 10, None).await.unwrap();
        c.check(taken.len() == 2, "the dead consumer took two");
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(EntryId, u64)>();
        let runner = g
            .runner("alive")
            .min_idle(Duration::from_millis(200))
            .block(Duration::from_millis(50))
            .spawn(move |m| {
                let _ = tx.send((m.id, m.deliveries));
                async { Ok::<(), String>(()) }
            });
        let mut got = Vec::new();
        while got.len() < 2 {
            match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
                Ok(Some(x)) => got.push(x),
                _ => break,
            }
        }
        got.sort();
        c.check(got == vec![(ids[0], 2), (ids[1], 2)], format!("taken over, second delivery: {got:?}"));
        let Some(stats) = stop_within(runner).await else {
            c.check(false, "stop() did not return within 15 s");
            return c.finish();
        };
        let stats = stats.unwrap();
        c.check(stats.reclaimed == 2 && stats.processed == 2, format!("stats {stats:?}"));
        c.finish();
    }
}

on_both! {
    /// Errors of the group's commands end the run with an error (a missing
    /// group), never a panic; parse errors are typed.
    async fn errors_are_typed() {
        let (_redis, store) = start("rs17").await;
        let mut c = Checks::default();
        let room = "none".to_owned();
        let log = store.stream::<RoomEvents>(&room);
        let g = log.group("missing");
        let r = g.read("c", 1, None).await;
        c.check(r.is_err(), format!("read of a missing group: {r:?}"));
        let r = g.reclaim("c", Duration::ZERO, 1, 0, EntryId::ZERO).await;
        c.check(r.is_err(), format!("reclaim of a missing group: an error, got ok={}", r.is_ok()));
        c.check(g.pending().await.is_err() || g.pending().await.unwrap() == 0, "pending of a missing group");
        let handle = g.runner("c").block(Duration::from_millis(50)).spawn(|_m| async { Ok::<(), String>(()) });
        let r = tokio::time::timeout(Duration::from_secs(10), handle.join()).await;
        c.check(matches!(r, Ok(Err(_))), format!("runner on a missing group ends with an error: {r:?}"));
        for bad in ["", "1", "1-", "-1", "a-b", "1-2-3", "18446744073709551616-0", " 1-2", "1-2 "] {
            c.check(bad.parse::<EntryId>().is_err(), format!("{bad:?} is not an id"));
        }
        c.check("18446744073709551615-0".parse::<EntryId>() == Ok(EntryId::new(u64::MAX, 0)), "u64::MAX ms parses");
        c.check(EntryId::new(1, 2).to_string() == "1-2", "display");
        c.check(EntryId::new(1, 9) < EntryId::new(2, 0) && EntryId::new(1, 2) < EntryId::new(1, 10), "ordered numerically");
        // A zero count and a zero wait do not fail or hang.
        let r = tokio::time::timeout(Duration::from_secs(3), log.wait_after(EntryId::ZERO, 10, Duration::ZERO)).await;
        c.check(matches!(r, Ok(Ok(ref v)) if v.is_empty()), format!("wait_after with zero wait: {r:?}"));
        c.finish();
    }
}

// ---------------------------------------------------------------------------
// pub/sub

async fn next_item(
    sub: &mut redis_runtime::channel::Subscription<RoomTyping>,
) -> Option<redis_runtime::Result<Received<RoomTyping>>> {
    tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .ok()
        .flatten()
}

on_both! {
    /// A message that does not decode is an Err item and the subscription
    /// goes on; messages reach only their channel, hostile ids included.
    async fn pubsub_decode_errors_and_hostile_ids() {
        let (redis, store) = start("rs18").await;
        let mut c = Checks::default();
        let mut admin = redis.raw_connection().await.unwrap();
        let room = "lobby".to_owned();
        let mut sub = store.subscribe::<RoomTyping>(&[&room]).await.unwrap();
        let name = key_of::<RoomTyping>(&ns("rs18"), &room);
        c.check(numsub(&redis, &name).await >= 1, format!("subscribed to {:?}", String::from_utf8_lossy(&name)));
        let _: i64 = raw!(&mut admin, "PUBLISH", &name, "{not json");
        store.channel::<RoomTyping>(&room).publish(&Typing { user: 5 }).await.unwrap();
        let first = next_item(&mut sub).await;
        c.check(matches!(first, Some(Err(Error::Decode(_)))), format!("a decode error item: {first:?}"));
        let second = next_item(&mut sub).await;
        c.check(
            matches!(&second, Some(Ok(Received::Message { id, message })) if *id == room && message.user == 5),
            format!("then the message: {second:?}"),
        );
        drop(sub);

        let rooms: Vec<String> = HOSTILE.iter().map(|s| s.to_string()).collect();
        let mut all = store.subscribe_all::<RoomTyping>().await.unwrap();
        let mut subs = Vec::new();
        for room in &rooms {
            subs.push(store.subscribe::<RoomTyping>(&[room]).await.unwrap());
        }
        // Another application's channel matching the pattern.
        let _: i64 = raw!(&mut admin, "PUBLISH", format!("rs18:room:x:y:z:typing"), "{\"user\":1}");
        let _: i64 = raw!(&mut admin, "PUBLISH", format!("rs18:room::typing"), "{\"user\":1}");
        for (i, room) in rooms.iter().enumerate() {
            store.channel::<RoomTyping>(room).publish(&Typing { user: i as u64 }).await.unwrap();
        }
        for (i, (room, sub)) in rooms.iter().zip(subs.iter_mut()).enumerate() {
            let got = next_item(sub).await;
            c.check(
                matches!(&got, Some(Ok(Received::Message { id, message })) if id == room && message.user == i as u64),
                format!("subscriber of {room:?} gets its own first: {got:?}"),
            );
        }
        // Across a cluster's nodes the order is not kept, and a message
        // published before the subscription may still arrive: collect the
        // expected ones, in any order.
        let mut got_all = Vec::new();
        while got_all.len() < rooms.len() {
            match next_item(&mut all).await {
                Some(Ok(Received::Message { id, message })) if id == "lobby" => {
                    eprintln!("REVIEW subscribe_all got an earlier message: {message:?}");
                }
                Some(Ok(Received::Message { id, message })) => got_all.push((id, message.user)),
                Some(other) => {
                    let rendered = match &other {
                        Ok(Received::Message { id, .. }) => format!("{id:?}"),
                        _ => String::new(),
                    };
                    eprintln!("REVIEW subscribe_all extra item: {other:?} {rendered}");
                    if let Err(e) = other {
                        c.check(false, format!("subscribe_all: foreign channels are skipped, got error {e:?}"));
                    }
                }
                None => break,
            }
        }
        got_all.sort();
        let mut expected: Vec<(String, u64)> = rooms.iter().cloned().zip(0..).collect();
        expected.sort();
        c.check(got_all == expected, format!("subscribe_all ids parsed back: {got_all:?}"));
        // No subscriber got another channel's message.
        for sub in subs.iter_mut() {
            let extra = tokio::time::timeout(Duration::from_millis(200), sub.next()).await;
            c.check(extra.is_err(), format!("no foreign message: {extra:?}"));
        }
        c.finish();
    }
}

on_both! {
    /// Dropping a subscription unsubscribes; a lost connection yields a Gap
    /// and the subscription goes on.
    async fn pubsub_drop_and_gap() {
        let (redis, store) = start("rs19").await;
        let mut c = Checks::default();
        let room = "r".to_owned();
        let name = key_of::<RoomTyping>(&ns("rs19"), &room);
        let sub = store.subscribe::<RoomTyping>(&[&room]).await.unwrap();
        c.check(numsub(&redis, &name).await == 1, "one subscriber");
        drop(sub);
        let gone = eventually(Duration::from_secs(5), || async { numsub(&redis, &name).await == 0 }).await;
        c.check(gone, "dropping unsubscribes");

        let mut sub = store.subscribe::<RoomTyping>(&[&room]).await.unwrap();
        store.channel::<RoomTyping>(&room).publish(&Typing { user: 1 }).await.unwrap();
        let first = next_item(&mut sub).await;
        c.check(matches!(first, Some(Ok(Received::Message { .. }))), "first message");
        let killed = Instant::now();
        for mut node in redis.node_connections().await {
            let _: i64 = raw!(&mut node, "CLIENT", "KILL", "TYPE", "pubsub");
        }
        // Publish until something comes: the first item must be a Gap.
        let mut items = Vec::new();
        let publisher = async {
            for i in 2..500u64 {
                let _ = store.channel::<RoomTyping>(&room).publish(&Typing { user: i }).await;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        let reader = async {
            while items.len() < 2 {
                match tokio::time::timeout(Duration::from_secs(10), sub.next()).await {
                    Ok(Some(item)) => items.push(item),
                    _ => break,
                }
            }
        };
        tokio::select! {
            _ = publisher => {}
            _ = reader => {}
        }
        let desc = format!("{items:?}, {:?} since the kill", killed.elapsed());
        c.check(
            matches!(items.first(), Some(Ok(Received::Gap { lost_for })) if *lost_for <= killed.elapsed()),
            format!("a Gap first: {desc}"),
        );
        c.check(matches!(items.get(1), Some(Ok(Received::Message { .. }))), format!("then messages again: {desc}"));
        c.finish();
    }
}

on_both! {
    /// The delivery limit also holds for entries taken over from dead
    /// consumers and for a consumer's own leftovers when it starts again:
    /// over the limit, they are dead-lettered without a handler call. A
    /// panic on the last delivery dead-letters; concurrency(0) means 1.
    async fn runner_delivery_limit_on_takeover_and_restart() {
        let (_redis, store) = start("rs20").await;
        let mut c = Checks::default();
        let room = "lim".to_owned();
        let log = store.stream::<RoomEvents>(&room);
        let g = log.group("g");
        g.create(StartAt::Beginning).await.unwrap();
        let calls = Arc::new(AtomicU64::new(0));

        // Another consumer's entry, delivered twice already.
        let id1 = log.append(&said(1, "taken")).await.unwrap();
        g.read("dead", 10, None).await.unwrap();
        let r = g.reclaim("dead2", Duration::ZERO, 10, 0, EntryId::ZERO).await.unwrap();
        c.check(r.entries.len() == 1 && r.entries[0].deliveries == 2, "delivered twice");
        let calls2 = calls.clone();
        let runner = g
            .runner("alive")
            .max_deliveries(2)
            .min_idle(Duration::from_millis(100))
            .block(Duration::from_millis(50))
            .concurrency(0)
            .spawn(move |_m| {
                calls2.fetch_add(1, Ordering::SeqCst);
                async { Ok::<(), String>(()) }
            });
        let dl = eventually(Duration::from_secs(10), || async {
            log.dead_letters(EntryId::ZERO, 10).await.unwrap().iter().any(|d| d.original == id1)
        })
        .await;
        c.check(dl, "taken-over entry over the limit: dead-lettered");
        // concurrency(0) still runs handlers.
        let id0 = log.append(&said(0, "fresh")).await.unwrap();
        let fresh = eventually(Duration::from_secs(10), || async { calls.load(Ordering::SeqCst) >= 1 }).await;
        c.check(fresh, format!("concurrency(0) is at least 1: a fresh entry {id0} is handled"));
        let Some(stats) = stop_within(runner).await else {
            c.check(false, "stop() did not return within 15 s");
            return c.finish();
        };
        let stats = stats.unwrap();
        c.check(calls.load(Ordering::SeqCst) == 1, format!("no handler call for the over-limit entry: {} calls", calls.load(Ordering::SeqCst)));
        c.check(stats.dead_lettered == 1 && stats.processed == 1, format!("stats {stats:?}"));

        // This consumer's own leftovers, delivered twice, when it starts again.
        let id2 = log.append(&said(2, "own")).await.unwrap();
        g.read("w", 10, None).await.unwrap();
        g.reclaim("w", Duration::ZERO, 10, 0, EntryId::ZERO).await.unwrap();
        let calls = Arc::new(AtomicU64::new(0));
        let calls2 = calls.clone();
        let runner = g
            .runner("w")
            .max_deliveries(2)
            .block(Duration::from_millis(50))
            .spawn(move |_m| {
                calls2.fetch_add(1, Ordering::SeqCst);
                async { Ok::<(), String>(()) }
            });
        let dl = eventually(Duration::from_secs(10), || async {
            log.dead_letters(EntryId::ZERO, 10).await.unwrap().iter().any(|d| d.original == id2)
                || g.pending().await.unwrap() == 0
        })
        .await;
        let stats = stop_within(runner).await;
        let dead = log.dead_letters(EntryId::ZERO, 10).await.unwrap().iter().any(|d| d.original == id2);
        c.check(dl && dead, format!("own leftover over the limit: dead-lettered, stats {stats:?}"));
        c.check(calls.load(Ordering::SeqCst) == 0, format!("not handed to the handler: {} calls", calls.load(Ordering::SeqCst)));

        // A panic on the only allowed delivery dead-letters.
        let id3 = log.append(&said(3, "panics")).await.unwrap();
        let runner = g
            .runner("p")
            .max_deliveries(1)
            .block(Duration::from_millis(50))
            .spawn(move |_m| async move {
                if true {
                    panic!("on purpose");
                }
                Ok::<(), String>(())
            });
        let dl = eventually(Duration::from_secs(10), || async {
            log.dead_letters(EntryId::ZERO, 10).await.unwrap().iter().any(|d| d.original == id3)
        })
        .await;
        c.check(dl, "a panic on the last delivery dead-letters");
        let stats = stop_within(runner).await;
        c.check(matches!(&stats, Some(Ok(s)) if s.failed == 1 && s.dead_lettered == 1), format!("stats {stats:?}"));
        c.check(g.pending().await.unwrap() == 0, "nothing left pending");
        c.finish();
    }
}

on_both! {
    /// A read asks for no more than there is room for: the group never has
    /// more entries pending for the runner than `concurrency`. `lag` is None
    /// after a deletion in the unread part.
    async fn runner_reads_no_more_than_room_and_lag_after_delete() {
        let (_redis, store) = start("rs21").await;
        let mut c = Checks::default();
        let room = "room".to_owned();
        let log = store.stream::<RoomEvents>(&room);
        let g = log.group("g");
        g.create(StartAt::Beginning).await.unwrap();
        let ids = log.append_many(&[said(1, "a"), said(2, "b"), said(3, "c")]).await.unwrap();
        log.delete(&[ids[1]]).await.unwrap();
        let lag = g.lag().await.unwrap();
        eprintln!("REVIEW lag after a deletion in the unread part: {lag:?}");
        c.check(lag.is_none() || lag == Some(2), format!("lag None (or exact), got {lag:?}"));
        g.ack(&g.read("x", 10, None).await.unwrap().iter().map(|d| d.id).collect::<Vec<_>>()).await.unwrap();

        let events: Vec<RoomEvent> = (0..40).map(|i| said(i, "x")).collect();
        log.append_many(&events).await.unwrap();
        let done = Arc::new(AtomicUsize::new(0));
        let d2 = done.clone();
        let runner = g.runner("w").concurrency(2).batch(64).block(Duration::from_millis(50)).spawn(move |_m| {
            let d = d2.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                d.fetch_add(1, Ordering::SeqCst);
                Ok::<(), String>(())
            }
        });
        let mut max_pending = 0;
        let start = Instant::now();
        while done.load(Ordering::SeqCst) < 40 && start.elapsed() < Duration::from_secs(15) {
            max_pending = max_pending.max(g.pending().await.unwrap());
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let _ = stop_within(runner).await;
        eprintln!("REVIEW max pending with concurrency 2: {max_pending}");
        c.check(done.load(Ordering::SeqCst) == 40, "all handled");
        c.check(max_pending <= 4, format!("reads bounded by room (concurrency 2, acks batched): max pending {max_pending}"));
        c.finish();
    }
}

on_both! {
    /// subscribe_all also comes back after a lost connection, with a Gap; a
    /// runner whose group is destroyed under it ends with an error.
    async fn pattern_resubscribe_and_runner_group_destroyed() {
        let (redis, store) = start("rs22").await;
        let mut c = Checks::default();
        let mut all = store.subscribe_all::<RoomTyping>().await.unwrap();
        let room = "z".to_owned();
        for mut node in redis.node_connections().await {
            let _: i64 = raw!(&mut node, "CLIENT", "KILL", "TYPE", "pubsub");
        }
        let mut items = Vec::new();
        let publisher = async {
            for i in 0..500u64 {
                let _ = store.channel::<RoomTyping>(&room).publish(&Typing { user: i }).await;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        let reader = async {
            while items.len() < 2 {
                match tokio::time::timeout(Duration::from_secs(10), all.next()).await {
                    Ok(Some(item)) => items.push(item),
                    _ => break,
                }
            }
        };
        tokio::select! {
            _ = publisher => {}
            _ = reader => {}
        }
        let desc = format!("{items:?}");
        c.check(matches!(items.first(), Some(Ok(Received::Gap { .. }))), format!("a Gap first: {desc}"));
        c.check(
            matches!(items.get(1), Some(Ok(Received::Message { id, .. })) if *id == room),
            format!("then messages with their id: {desc}"),
        );

        let log = store.stream::<RoomEvents>(&room);
        let g = log.group("g");
        g.create(StartAt::Beginning).await.unwrap();
        let handle = g.runner("w").block(Duration::from_millis(50)).spawn(|_m| async { Ok::<(), String>(()) });
        log.append(&said(1, "a")).await.unwrap();
        let handled = eventually(Duration::from_secs(10), || async { g.pending().await.unwrap() == 0 && g.lag().await.unwrap() == Some(0) }).await;
        c.check(handled, "handled");
        c.check(g.destroy().await.unwrap(), "destroyed");
        log.append(&said(2, "b")).await.unwrap();
        let r = tokio::time::timeout(Duration::from_secs(10), handle.join()).await;
        c.check(matches!(r, Ok(Err(_))), format!("the run ends with an error: {r:?}"));
        c.finish();
    }
}
