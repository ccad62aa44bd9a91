//! Typed streams, consumer groups, the consumer runner and pub/sub, against
//! a real redis-server and a real Redis Cluster, as the ACL user the
//! keyspace's rule creates.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use futures_util::StreamExt;
use redis_runtime::channel::Received;
use redis_runtime::stream::{EntryId, StartAt};
use redis_runtime::{Error, Store};

fn said(user: u64, text: &str) -> RoomEvent {
    RoomEvent::Said {
        user,
        text: text.to_owned(),
    }
}

/// The stream's key as the store renders it (for the admin's raw commands).
fn key_of(store: &Store, room: &str) -> String {
    store
        .key::<RoomEvents>(&room.to_owned())
        .unwrap()
        .to_string()
}

on_both! {
/// Appends (one and a batch) read back in order, as the enum variants they
/// were; a foreign entry that does not decode is an `Err` entry and the rest
/// of the read is intact.
async fn appends_read_back_in_order_and_a_bad_entry_spoils_nothing() {
    let (server, store) = start("app:").await;
    let room = "lobby".to_owned();
    let events = store.stream::<RoomEvents>(&room);
    let first = events.append(&said(1, "hi")).await.unwrap();
    let batch = events
        .append_many(&[said(2, "yo"), RoomEvent::Left { user: 1 }])
        .await
        .unwrap();
    assert_eq!(batch.len(), 2);
    assert!(first < batch[0] && batch[0] < batch[1]);
    // Another writer's entry that is not an event of ours.
    let mut admin = server.raw_connection().await.unwrap();
    let _: String = raw!(&mut admin, "XADD", key_of(&store, "lobby"), "*", "event", "{not json");
    events.append(&said(3, "after")).await.unwrap();

    let all = events.after(EntryId::ZERO, 100).await.unwrap();
    assert_eq!(all.len(), 5);
    assert_eq!(all[0].id, first);
    assert_eq!(all[0].event.as_ref().unwrap(), &said(1, "hi"));
    assert_eq!(all[2].event.as_ref().unwrap(), &RoomEvent::Left { user: 1 });
    assert!(matches!(all[3].event, Err(Error::Decode(_))), "{:?}", all[3].event);
    assert_eq!(all[4].event.as_ref().unwrap(), &said(3, "after"));
    // `after` is exclusive; `latest` is the newest, oldest first.
    let rest = events.after(batch[0], 100).await.unwrap();
    assert_eq!(rest.first().map(|e| e.id), Some(batch[1]));
    let latest = events.latest(2).await.unwrap();
    assert_eq!(latest.len(), 2);
    assert!(latest[0].id < latest[1].id);
    assert_eq!(latest[1].event.as_ref().unwrap(), &said(3, "after"));
    assert_eq!(events.len().await.unwrap(), 5);
    assert_eq!(events.delete(&[all[3].id]).await.unwrap(), 1);
    assert_eq!(events.len().await.unwrap(), 4);
}
}

on_both! {
/// A mailbox with a TTL: every append re-arms it, and `maxlen = "50"`
/// (exact) keeps the newest 50.
async fn mailboxes_expire_when_idle_and_are_trimmed_exactly() {
    let (_server, store) = start("app:").await;
    let mailbox = store.stream::<Mailbox>(&7);
    for i in 0..60 {
        mailbox.append(&said(i, "m")).await.unwrap();
    }
    assert_eq!(mailbox.len().await.unwrap(), 50);
    let oldest = mailbox.after(EntryId::ZERO, 1).await.unwrap();
    assert_eq!(oldest[0].event.as_ref().unwrap(), &said(10, "m"));
    let ttl = store.ttl::<Mailbox>(&7).await.unwrap();
    assert!(
        matches!(ttl, redis_runtime::Expiry::In(d) if d > Duration::from_secs(3500)),
        "{ttl:?}"
    );
}
}

on_both! {
/// Many streams read at once keep their entries apart: two mailboxes (in
/// different hash slots on a cluster) with entries of the same
/// millisecond are never merged by id; a blocking read wakes for an append.
async fn reading_many_streams_keeps_each_entry_with_its_stream() {
    let (_server, store) = start("app:").await;
    let users: Vec<u64> = (1..=6).collect();
    for &user in &users {
        store
            .stream::<Mailbox>(&user)
            .append_many(&[said(user, "a"), said(user, "b")])
            .await
            .unwrap();
    }
    let from: Vec<(&u64, EntryId)> = users.iter().map(|u| (u, EntryId::ZERO)).collect();
    let read = store.read_streams::<Mailbox>(&from, 10, None).await.unwrap();
    assert_eq!(read.len(), 12);
    let mut per_user: BTreeMap<u64, Vec<RoomEvent>> = BTreeMap::new();
    for (user, entry) in read {
        per_user.entry(user).or_default().push(entry.event.unwrap());
    }
    for &user in &users {
        assert_eq!(per_user[&user], vec![said(user, "a"), said(user, "b")]);
    }

    // Nothing new: a wait returns when one of them gets an entry.
    let latest: Vec<(u64, EntryId)> = {
        let mut v = Vec::new();
        for &user in &users {
            let last = store.stream::<Mailbox>(&user).latest(1).await.unwrap();
            v.push((user, last[0].id));
        }
        v
    };
    let waiter = {
        let store = store.clone();
        let latest = latest.clone();
        tokio::spawn(async move {
            let from: Vec<(&u64, EntryId)> = latest.iter().map(|(u, id)| (u, *id)).collect();
            store
                .read_streams::<Mailbox>(&from, 10, Some(Duration::from_secs(20)))
                .await
                .unwrap()
        })
    };
    // The waiter blocks until then (it may start after the append: then its
    // first read finds it).
    store.stream::<Mailbox>(&4).append(&said(4, "late")).await.unwrap();
    let woke = waiter.await.unwrap();
    assert_eq!(woke.len(), 1);
    assert_eq!(woke[0].0, 4);
    assert_eq!(woke[0].1.event.as_ref().unwrap(), &said(4, "late"));
}
}

on_both! {
/// Groups: creation is idempotent, a read hands entries out once, acks
/// remove them from the pending list, and lag counts the unread.
async fn groups_hand_out_each_entry_once_and_ack_in_batches() {
    let (_server, store) = start("app:").await;
    let room = "g".to_owned();
    let events = store.stream::<RoomEvents>(&room);
    let group = events.group("audit");
    assert!(group.create(StartAt::Beginning).await.unwrap());
    assert!(!group.create(StartAt::Beginning).await.unwrap());
    let ids = events
        .append_many(&(0..10).map(|i| said(i, "x")).collect::<Vec<_>>())
        .await
        .unwrap();
    assert_eq!(group.lag().await.unwrap(), Some(10));
    let a = group.read("a", 4, None).await.unwrap();
    let b = group.read("b", 100, None).await.unwrap();
    assert_eq!(a.len(), 4);
    assert_eq!(b.len(), 6);
    let seen: Vec<EntryId> = a.iter().chain(&b).map(|d| d.id).collect();
    assert_eq!(seen, ids);
    assert!(a.iter().all(|d| d.deliveries == 1));
    assert_eq!(group.pending().await.unwrap(), 10);
    assert_eq!(group.ack(&seen[..7]).await.unwrap(), 7);
    assert_eq!(group.pending().await.unwrap(), 3);
    assert_eq!(group.lag().await.unwrap(), Some(0));
    // Nothing new: an empty read, and a wait that ends empty.
    assert!(group.read("a", 10, None).await.unwrap().is_empty());
    assert!(group
        .read("a", 10, Some(Duration::from_millis(50)))
        .await
        .unwrap()
        .is_empty());
}
}

on_both! {
/// The runner processes everything exactly once when nothing fails, acks
/// all of it, and a graceful stop returns what it did.
(flavor = "multi_thread", worker_threads = 2) async fn a_runner_processes_and_acknowledges_everything() {
    let (_server, store) = start("app:").await;
    let room = "run".to_owned();
    let events = store.stream::<RoomEvents>(&room);
    events.group("count").create(StartAt::Beginning).await.unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let handle = {
        let seen = seen.clone();
        events
            .group("count")
            .runner("c1")
            .concurrency(8)
            .batch(16)
            .spawn(move |m| {
                let seen = seen.clone();
                async move {
                    seen.lock().unwrap().push(m.id);
                    Ok::<(), String>(())
                }
            })
    };
    let mut ids = Vec::new();
    for chunk in 0..10 {
        let batch: Vec<RoomEvent> = (0..20).map(|i| said(chunk * 20 + i, "x")).collect();
        ids.extend(events.append_many(&batch).await.unwrap());
    }
    // Wait until all are processed and acknowledged.
    let group = events.group("count");
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            if seen.lock().unwrap().len() >= 200 && group.pending().await.unwrap() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the runner processed everything");
    let stats = handle.stop().await.unwrap();
    assert_eq!(stats.processed, 200);
    assert_eq!(stats.failed, 0);
    let mut got = seen.lock().unwrap().clone();
    got.sort();
    assert_eq!(got, ids, "each entry exactly once");
}
}

on_both! {
/// A poison entry (its handler always fails) is delivered exactly
/// `max_deliveries` times and then lands in the dead-letter stream with
/// the handler's error; an entry that does not decode is dead-lettered on
/// its own at once; the rest of their batch is processed.
(flavor = "multi_thread", worker_threads = 2) async fn poison_and_undecodable_entries_are_dead_lettered_alone() {
    let (server, store) = start("app:").await;
    let room = "poison".to_owned();
    let events = store.stream::<RoomEvents>(&room);
    let group = events.group("work");
    group.create(StartAt::Beginning).await.unwrap();
    let poison = events.append(&said(666, "boom")).await.unwrap();
    let mut admin = server.raw_connection().await.unwrap();
    let garbage: String =
        raw!(&mut admin, "XADD", key_of(&store, "poison"), "*", "event", "[1,2");
    let good = events
        .append_many(&(0..5).map(|i| said(i, "ok")).collect::<Vec<_>>())
        .await
        .unwrap();

    let calls = Arc::new(Mutex::new(BTreeMap::<EntryId, u64>::new()));
    let handle = {
        let calls = calls.clone();
        group
            .runner("w1")
            .max_deliveries(3)
            .retry_after(Duration::from_millis(20))
            .spawn(move |m| {
                let calls = calls.clone();
                async move {
                    *calls.lock().unwrap().entry(m.id).or_default() += 1;
                    match m.event {
                        RoomEvent::Said { user: 666, .. } => {
                            Err(format!("cannot bill delivery {}", m.deliveries))
                        }
                        _ => Ok(()),
                    }
                }
            })
    };
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            if events.dead_letters(EntryId::ZERO, 10).await.unwrap().len() == 2
                && group.pending().await.unwrap() == 0
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("both dead-lettered");
    let stats = handle.stop().await.unwrap();
    let calls = calls.lock().unwrap().clone();
    assert_eq!(calls[&poison], 3, "exactly the delivery limit");
    for id in &good {
        assert_eq!(calls[id], 1);
    }
    assert!(!calls.contains_key(&garbage.parse().unwrap()));
    assert_eq!(stats.processed, 5);
    assert_eq!(stats.failed, 3);
    assert_eq!(stats.dead_lettered, 2);
    let dead = events.dead_letters(EntryId::ZERO, 10).await.unwrap();
    let by_original: BTreeMap<EntryId, _> = dead.iter().map(|d| (d.original, d)).collect();
    let p = by_original[&poison];
    assert_eq!(p.group, "work");
    assert_eq!(p.deliveries, 3);
    assert_eq!(p.reason, "cannot bill delivery 3");
    assert_eq!(p.event.as_ref().unwrap(), &said(666, "boom"));
    let g = by_original[&garbage.parse::<EntryId>().unwrap()];
    assert!(g.reason.contains("does not decode"), "{}", g.reason);
    assert!(g.event.is_err());
}
}

on_both! {
/// A consumer that dies holding entries (aborted mid-handler) leaves them
/// pending; another consumer's runner takes them over once idle and
/// processes every one; none is lost.
(flavor = "multi_thread", worker_threads = 2) async fn a_dead_consumers_entries_are_reclaimed_by_another() {
    let (_server, store) = start("app:").await;
    let room = "crash".to_owned();
    let events = store.stream::<RoomEvents>(&room);
    let group = events.group("work");
    group.create(StartAt::Beginning).await.unwrap();
    let ids = events
        .append_many(&(0..20).map(|i| said(i, "x")).collect::<Vec<_>>())
        .await
        .unwrap();
    let started = Arc::new(AtomicU64::new(0));
    let doomed = {
        let started = started.clone();
        group.runner("doomed").concurrency(8).spawn(move |_m| {
            let started = started.clone();
            async move {
                started.fetch_add(1, Ordering::SeqCst);
                // Hangs until the consumer dies.
                std::future::pending::<()>().await;
                Ok::<(), String>(())
            }
        })
    };
    tokio::time::timeout(Duration::from_secs(10), async {
        while started.load(Ordering::SeqCst) < 8 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap();
    doomed.abort();
    assert_eq!(group.pending().await.unwrap(), 8, "the dead consumer held 8");

    let done = Arc::new(Mutex::new(BTreeSet::new()));
    let rescuer = {
        let done = done.clone();
        group
            .runner("rescuer")
            .min_idle(Duration::from_millis(200))
            .spawn(move |m| {
                let done = done.clone();
                async move {
                    done.lock().unwrap().insert(m.id);
                    Ok::<(), String>(())
                }
            })
    };
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            if done.lock().unwrap().len() == 20 && group.pending().await.unwrap() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("every entry processed");
    let stats = rescuer.stop().await.unwrap();
    assert_eq!(stats.reclaimed, 8);
    assert_eq!(*done.lock().unwrap(), ids.into_iter().collect::<BTreeSet<_>>());
}
}

on_both! {
/// An entry trimmed away while pending is reported as deleted by a
/// reclaim, never as a decode error; `mark_processed` says once that an id
/// is new.
async fn entries_trimmed_while_pending_are_reported_deleted() {
    let (_server, store) = start("app:").await;
    let room = "trim".to_owned();
    let events = store.stream::<RoomEvents>(&room);
    let group = events.group("work");
    group.create(StartAt::Beginning).await.unwrap();
    let ids = events
        .append_many(&[said(1, "a"), said(2, "b"), said(3, "c")])
        .await
        .unwrap();
    let read = group.read("a", 10, None).await.unwrap();
    assert_eq!(read.len(), 3);
    assert_eq!(events.delete(&ids[..2]).await.unwrap(), 2);
    let reclaimed = group
        .reclaim("b", Duration::ZERO, 10, 5, EntryId::ZERO)
        .await
        .unwrap();
    assert_eq!(reclaimed.deleted, ids[..2].to_vec());
    assert_eq!(reclaimed.entries.len(), 1);
    assert_eq!(reclaimed.entries[0].id, ids[2]);
    assert_eq!(reclaimed.entries[0].deliveries, 2);
    assert!(reclaimed.entries[0].event.is_ok());
    assert_eq!(group.pending().await.unwrap(), 1);

    let keep = Duration::from_secs(60);
    assert!(group.mark_processed(ids[2], keep).await.unwrap());
    assert!(!group.mark_processed(ids[2], keep).await.unwrap());
    assert!(events.group("other").mark_processed(ids[2], keep).await.unwrap());
    // No hash tag: the mailbox's processed set is in its slot all the same.
    let mailbox = store.stream::<Mailbox>(&9);
    let id = mailbox.append(&said(9, "m")).await.unwrap();
    assert!(mailbox.group("g").mark_processed(id, keep).await.unwrap());
}
}

on_both! {
/// Pub/sub: four subscribers each receive every message, in order; a
/// message that does not decode is an error item and the subscription goes
/// on; `subscribe_all` reports each message's channel id.
(flavor = "multi_thread", worker_threads = 2) async fn pubsub_fans_out_to_every_subscriber() {
    let (server, store) = start("app:").await;
    let room = "lobby".to_owned();
    let mut subs = Vec::new();
    for _ in 0..4 {
        subs.push(store.subscribe::<RoomTyping>(&[&room]).await.unwrap());
    }
    let mut all = store.subscribe_all::<RoomTyping>().await.unwrap();
    for user in 0..100 {
        store
            .channel::<RoomTyping>(&room)
            .publish(&Typing { user })
            .await
            .unwrap();
    }
    let other = "kitchen".to_owned();
    store.channel::<RoomTyping>(&other).publish(&Typing { user: 1000 }).await.unwrap();
    let mut admin = server.raw_connection().await.unwrap();
    let name = store.key::<RoomTyping>(&room).unwrap().to_string();
    let _: i64 = raw!(&mut admin, "PUBLISH", &name, "not json");
    store.channel::<RoomTyping>(&room).publish(&Typing { user: 100 }).await.unwrap();
    for sub in &mut subs {
        for user in 0..=100 {
            let item = tokio::time::timeout(Duration::from_secs(10), sub.next())
                .await
                .unwrap()
                .unwrap();
            match item {
                Ok(Received::Message { id, message }) => {
                    assert_eq!(id, room);
                    assert_eq!(message, Typing { user });
                }
                other => panic!("{user}: {other:?}"),
            }
            if user == 99 {
                let bad = sub.next().await.unwrap();
                assert!(matches!(bad, Err(Error::Decode(_))), "{bad:?}");
            }
        }
    }
    let mut rooms = BTreeSet::new();
    for _ in 0..101 {
        if let Ok(Received::Message { id, .. }) = all.next().await.unwrap() {
            rooms.insert(id);
        }
    }
    assert!(rooms.contains("kitchen") && rooms.contains("lobby"), "{rooms:?}");
}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
/// A subscriber whose connection is killed subscribes again by itself and
/// reports the gap; messages published afterwards arrive.
async fn a_dropped_subscription_resubscribes_and_reports_its_gap() {
    let (server, store) = start("app:").await;
    let room = "gap".to_owned();
    let mut sub = store.subscribe::<RoomTyping>(&[&room]).await.unwrap();
    let typing = store.channel::<RoomTyping>(&room);
    assert_eq!(typing.publish(&Typing { user: 1 }).await.unwrap(), 1);
    assert!(matches!(
        sub.next().await,
        Some(Ok(Received::Message { .. }))
    ));
    let mut admin = server.raw_connection().await.unwrap();
    let killed: i64 = raw!(&mut admin, "CLIENT", "KILL", "TYPE", "pubsub");
    assert_eq!(killed, 1);
    let gap = tokio::time::timeout(Duration::from_secs(10), sub.next())
        .await
        .expect("a gap is reported")
        .unwrap();
    assert!(matches!(gap, Ok(Received::Gap { .. })), "{gap:?}");
    // Subscribed again: the next publish reaches it.
    assert_eq!(typing.publish(&Typing { user: 2 }).await.unwrap(), 1);
    match sub.next().await {
        Some(Ok(Received::Message { message, .. })) => assert_eq!(message, Typing { user: 2 }),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
/// With AOF on, a restart keeps the stream, its group and the group's
/// pending list: the entries a consumer held before the restart are still
/// its own afterwards, the unread ones still unread, and a runner started
/// after the restart processes every one (its own pending first); a second
/// restart under the running runner pauses it, and it goes on.
async fn a_restart_with_aof_keeps_the_group_and_its_pending_entries() {
    let mut server = redis_runtime::testing::RedisServer::builder()
        .appendonly(true)
        .arg("--appendfsync")
        .arg("always")
        .start()
        .unwrap();
    let config = server.config_builder().namespace("app").build().unwrap();
    let store = Store::connect(&config).await.unwrap();
    let room = "aof".to_owned();
    let events = store.stream::<RoomEvents>(&room);
    let group = events.group("work");
    group.create(StartAt::Beginning).await.unwrap();
    let ids = events
        .append_many(&(0..10).map(|i| said(i, "x")).collect::<Vec<_>>())
        .await
        .unwrap();
    let held = group.read("c1", 4, None).await.unwrap();
    assert_eq!(held.len(), 4);

    tokio::task::block_in_place(|| {
        server.shutdown().expect("graceful shutdown");
        server.restart().expect("restart");
    });

    // The store reconnects by itself.
    let pending = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Ok(n) = group.pending().await {
                break n;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap();
    assert_eq!(pending, 4, "the pending list survived");
    // After an AOF reload the server may no longer know the lag (`None`,
    // as `lag` documents); the runner below shows the unread are unread.
    let lag = group.lag().await.unwrap();
    assert!(matches!(lag, Some(6) | None), "{lag:?}");
    let done = Arc::new(Mutex::new(Vec::new()));
    let runner = {
        let done = done.clone();
        group.runner("c1").spawn(move |m| {
            let done = done.clone();
            async move {
                done.lock().unwrap().push(m.id);
                Ok::<(), String>(())
            }
        })
    };
    tokio::time::timeout(Duration::from_secs(20), async {
        while done.lock().unwrap().len() < 10 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("all ten processed");

    // The runner outlives a restart of the server: it waits the outage out
    // and goes on with what is appended afterwards.
    tokio::task::block_in_place(|| {
        server.shutdown().expect("graceful shutdown");
        server.restart().expect("restart");
    });
    let later = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Ok(ids) = events
                .append_many(&(10..15).map(|i| said(i, "y")).collect::<Vec<_>>())
                .await
            {
                break ids;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap();
    tokio::time::timeout(Duration::from_secs(20), async {
        while done.lock().unwrap().len() < 15 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the runner went on after the restart");
    let stats = runner.stop().await.unwrap();
    assert_eq!(stats.processed, 15);
    let mut got = done.lock().unwrap().clone();
    got.sort();
    let mut all = ids;
    all.extend(later);
    assert_eq!(got, all);
    assert_eq!(group.pending().await.unwrap(), 0);
}
