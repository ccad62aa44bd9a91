//! Lists and the reliable queue against a real redis-server and a real Redis
//! Cluster: every operation, the cap, the TTL policy, typed errors for bad
//! stored items, blocking pops on connections of their own, and a queue
//! worked by concurrent (and crashing) consumers that loses and duplicates
//! nothing. Stores connect as the ACL user the keyspace's rule creates, so
//! every operation also proves the rule grants what it sends.

mod common;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use redis_runtime::{Error, Expiry, Store};

fn ttl_ms(expiry: Expiry) -> u128 {
    match expiry {
        Expiry::In(d) => d.as_millis(),
        other => panic!("expected a TTL, got {other:?}"),
    }
}

fn line(from: u64, text: &str) -> Line {
    Line {
        from,
        text: text.into(),
    }
}

fn job(id: u64) -> Job {
    Job {
        id,
        payload: format!("job {id}"),
    }
}

/// A store as the keyspace's ACL user, with a short response timeout: a
/// blocking call that waits longer than it must still not time out.
async fn store_with_response_timeout(server: &TestRedis, timeout: Duration) -> Store {
    // Creates the ACL user.
    let _ = connect_as_app(server, "").await;
    let config = server
        .config_builder_as("app", APP_PASSWORD)
        .response_timeout(timeout)
        .build()
        .unwrap();
    Store::connect(&config).await.unwrap()
}

on_both! {
async fn list_operations() {
    let (server, store) = start("app:").await;
    let mut raw = server.raw_connection().await.unwrap();
    let room = "lobby".to_owned();
    let list = store.list::<History>(&room);

    // An absent list reads as empty, never as an error.
    assert_eq!(list.len().await.unwrap(), 0);
    assert!(list.is_empty().await.unwrap());
    assert_eq!(list.range(0, -1).await.unwrap(), vec![]);
    assert_eq!(list.get(0).await.unwrap(), None);
    assert_eq!(list.pop_front().await.unwrap(), None);
    assert_eq!(list.pop_back().await.unwrap(), None);
    assert_eq!(list.pop_front_many(3).await.unwrap(), vec![]);
    assert_eq!(list.remove(&line(1, "a"), 0).await.unwrap(), 0);
    list.trim(0, 1).await.unwrap();
    assert_eq!(store.ttl::<History>(&room).await.unwrap(), Expiry::Missing);

    assert_eq!(list.push_back(&line(1, "a")).await.unwrap(), 1);
    assert_eq!(list.push_back(&line(2, "b")).await.unwrap(), 2);
    assert_eq!(list.push_front(&line(0, "z")).await.unwrap(), 3);
    assert_eq!(
        list.range(0, -1).await.unwrap(),
        vec![line(0, "z"), line(1, "a"), line(2, "b")]
    );
    // Many in one command: at the back in order; at the front each in turn.
    assert_eq!(list.push_back_many(&[line(3, "c"), line(4, "d")]).await.unwrap(), 5);
    assert_eq!(list.push_front_many(&[line(8, "y"), line(9, "x")]).await.unwrap(), 7);
    assert_eq!(list.push_back_many(&[]).await.unwrap(), 7, "an empty push reports the length");
    assert_eq!(
        list.range(0, 2).await.unwrap(),
        vec![line(9, "x"), line(8, "y"), line(0, "z")]
    );
    assert_eq!(list.range(-2, -1).await.unwrap(), vec![line(3, "c"), line(4, "d")]);
    assert_eq!(list.len().await.unwrap(), 7);
    assert_eq!(list.get(0).await.unwrap(), Some(line(9, "x")));
    assert_eq!(list.get(-1).await.unwrap(), Some(line(4, "d")));
    assert_eq!(list.get(7).await.unwrap(), None);

    // Items are stored as plain JSON, readable by any client.
    let key = store.key::<History>(&room).unwrap();
    assert_eq!(key.to_string(), "app:room:lobby:history");
    let stored: String = raw!(&mut raw, "LINDEX", &key, 0);
    assert_eq!(stored, r#"{"from":9,"text":"x"}"#);

    // Set by index; out of range is refused and changes nothing.
    list.set(1, &line(8, "Y")).await.unwrap();
    assert_eq!(list.get(1).await.unwrap(), Some(line(8, "Y")));
    assert!(matches!(list.set(99, &line(0, "no")).await, Err(Error::Server { .. })));
    assert!(matches!(
        store.list::<History>(&"absent".to_owned()).set(0, &line(0, "no")).await,
        Err(Error::Server { .. })
    ));
    assert_eq!(list.len().await.unwrap(), 7);

    // Remove by value: exact copies, from either end or all.
    list.push_back_many(&[line(1, "a"), line(5, "e"), line(1, "a")]).await.unwrap();
    // x Y z a b c d a e a
    assert_eq!(list.remove(&line(1, "a"), -1).await.unwrap(), 1, "the last copy");
    assert_eq!(list.get(-1).await.unwrap(), Some(line(5, "e")));
    assert_eq!(list.remove(&line(1, "a"), 1).await.unwrap(), 1, "the first copy");
    assert_eq!(list.get(3).await.unwrap(), Some(line(2, "b")));
    list.push_back(&line(1, "a")).await.unwrap();
    list.push_back(&line(1, "a")).await.unwrap();
    assert_eq!(list.remove(&line(1, "a"), 0).await.unwrap(), 3, "every copy");
    assert_eq!(list.remove(&line(1, "other"), 0).await.unwrap(), 0);
    // x Y z b c d e
    assert_eq!(list.pop_front().await.unwrap(), Some(line(9, "x")));
    assert_eq!(list.pop_back().await.unwrap(), Some(line(5, "e")));
    assert_eq!(
        list.pop_front_many(2).await.unwrap(),
        vec![line(8, "Y"), line(0, "z")]
    );
    assert_eq!(
        list.pop_back_many(2).await.unwrap(),
        vec![line(4, "d"), line(3, "c")],
        "back first"
    );
    assert_eq!(list.pop_back_many(0).await.unwrap(), vec![]);
    assert_eq!(list.range(0, -1).await.unwrap(), vec![line(2, "b")]);

    // Trim keeps a range; an empty range deletes the list.
    list.push_back_many(&[line(3, "c"), line(4, "d"), line(5, "e")]).await.unwrap();
    list.trim(1, 2).await.unwrap();
    assert_eq!(list.range(0, -1).await.unwrap(), vec![line(3, "c"), line(4, "d")]);
    list.trim(5, 10).await.unwrap();
    assert!(!store.exists::<History>(&room).await.unwrap());
    assert_eq!(list.pop_front_many(5).await.unwrap(), vec![]);

    // The last item popped, the key is gone.
    list.push_back(&line(1, "a")).await.unwrap();
    list.pop_back().await.unwrap();
    assert!(!store.exists::<History>(&room).await.unwrap());

    // The common calls apply to lists.
    list.push_back(&line(1, "a")).await.unwrap();
    assert!(store.delete::<History>(&room).await.unwrap());
    assert_eq!(list.len().await.unwrap(), 0);
}
}

on_both! {
async fn a_capped_list_keeps_the_newest_items_at_the_end_pushed_to() {
    let (_server, store) = start("").await;
    let room = "capped".to_owned();
    let list = store.list::<History>(&room);
    // 150 in one push: the newest 100 (the last pushed) stay.
    let lines: Vec<Line> = (0..150).map(|i| line(i, "m")).collect();
    assert_eq!(list.push_back_many(&lines).await.unwrap(), 100);
    assert_eq!(list.len().await.unwrap(), 100);
    assert_eq!(list.get(0).await.unwrap(), Some(line(50, "m")));
    assert_eq!(list.get(-1).await.unwrap(), Some(line(149, "m")));
    // Pushed at the back: the oldest drops off the front.
    assert_eq!(list.push_back(&line(150, "m")).await.unwrap(), 100);
    assert_eq!(list.get(0).await.unwrap(), Some(line(51, "m")));
    assert_eq!(list.get(-1).await.unwrap(), Some(line(150, "m")));
    // Pushed at the front: the front is the newest end, the back drops.
    assert_eq!(list.push_front(&line(999, "f")).await.unwrap(), 100);
    assert_eq!(list.get(0).await.unwrap(), Some(line(999, "f")));
    assert_eq!(list.get(-1).await.unwrap(), Some(line(149, "m")));
    let front: Vec<Line> = (1000..1200).map(|i| line(i, "f")).collect();
    assert_eq!(list.push_front_many(&front).await.unwrap(), 100);
    assert_eq!(list.get(0).await.unwrap(), Some(line(1199, "f")));
    assert_eq!(list.get(-1).await.unwrap(), Some(line(1100, "f")));
    assert_eq!(list.len().await.unwrap(), 100);

    // An uncapped list keeps everything.
    let queue = "uncapped".to_owned();
    let jobs: Vec<Job> = (0..300).map(job).collect();
    assert_eq!(store.list::<Jobs>(&queue).push_back_many(&jobs).await.unwrap(), 300);
}
}

on_both! {
async fn list_ttl_is_armed_by_the_creating_push_and_never_extended() {
    let (_server, store) = start("").await;
    let room = "ttl".to_owned();
    let list = store.list::<History>(&room);
    list.push_back(&line(1, "a")).await.unwrap();
    let first = ttl_ms(store.ttl::<History>(&room).await.unwrap());
    assert!(first > 3_500_000 && first <= 3_600_000, "{first}");
    assert!(store.expire::<History>(&room, Duration::from_secs(100)).await.unwrap());
    list.push_back(&line(2, "b")).await.unwrap();
    list.push_front(&line(3, "c")).await.unwrap();
    list.push_back_many(&[line(4, "d"), line(5, "e")]).await.unwrap();
    list.push_front_many(&[line(6, "f")]).await.unwrap();
    list.set(0, &line(7, "g")).await.unwrap();
    let later = ttl_ms(store.ttl::<History>(&room).await.unwrap());
    assert!(later <= 100_000, "a push extended the TTL to {later} ms");
    assert!(store.persist::<History>(&room).await.unwrap());
    assert_eq!(store.ttl::<History>(&room).await.unwrap(), Expiry::Never);
    assert!(store.refresh_ttl::<History>(&room).await.unwrap());
    assert!(ttl_ms(store.ttl::<History>(&room).await.unwrap()) > 3_500_000);

    // Emptied and pushed again: a new key, armed again.
    store.delete::<History>(&room).await.unwrap();
    list.push_front(&line(1, "a")).await.unwrap();
    assert!(ttl_ms(store.ttl::<History>(&room).await.unwrap()) > 3_500_000);

    // Without a declared TTL (the queue), nothing expires.
    let queue = "q".to_owned();
    store.list::<Jobs>(&queue).enqueue(&job(1)).await.unwrap();
    assert_eq!(store.ttl::<Jobs>(&queue).await.unwrap(), Expiry::Never);
}
}

on_both! {
async fn bad_stored_items_and_wrong_types_are_typed_errors() {
    let (server, store) = start("").await;
    let mut raw = server.raw_connection().await.unwrap();
    let room = "bad".to_owned();
    let list = store.list::<History>(&room);
    list.push_back(&line(1, "a")).await.unwrap();
    let key = store.key::<History>(&room).unwrap();
    let _: () = raw!(&mut raw, "LPUSH", &key, "secret-not-json");
    let _: () = raw!(&mut raw, "RPUSH", &key, r#"{"from":"not a number","text":"secret"}"#);
    let is_item_error = |result: Result<(), Error>| match result {
        Err(Error::Decode(e)) => {
            assert_eq!((e.model, e.field), ("History", Some("item")));
            assert!(!e.to_string().contains("secret"), "{e}");
        }
        other => panic!("expected a decode error, got {other:?}"),
    };
    is_item_error(list.range(0, -1).await.map(|_| ()));
    is_item_error(list.get(0).await.map(|_| ()));
    is_item_error(list.get(-1).await.map(|_| ()));
    assert_eq!(list.get(1).await.unwrap(), Some(line(1, "a")), "the good item still reads");
    is_item_error(list.pop_front().await.map(|_| ()));
    is_item_error(list.pop_back_blocking(Duration::from_millis(10)).await.map(|_| ()));
    assert_eq!(list.range(0, -1).await.unwrap(), vec![line(1, "a")]);

    // A queue item that does not decode stays in flight: nothing is lost.
    let queue = "bad".to_owned();
    let jobs = store.list::<Jobs>(&queue);
    let key = store.key::<Jobs>(&queue).unwrap();
    let _: () = raw!(&mut raw, "RPUSH", &key, "secret-not-json");
    assert!(matches!(jobs.take("w").await, Err(Error::Decode(e)) if e.field == Some("item")));
    assert!(matches!(jobs.in_flight("w").await, Err(Error::Decode(_))));
    assert_eq!(jobs.recover("w").await.unwrap(), 1);
    assert_eq!(jobs.len().await.unwrap(), 1);

    // A key holding another type is a typed error, for reads and writes.
    let other = "string".to_owned();
    let key = store.key::<History>(&other).unwrap();
    let _: () = raw!(&mut raw, "SET", &key, "x");
    let list = store.list::<History>(&other);
    assert!(matches!(list.len().await, Err(Error::WrongType { .. })));
    assert!(matches!(list.range(0, -1).await, Err(Error::WrongType { .. })));
    assert!(matches!(list.push_back(&line(1, "a")).await, Err(Error::WrongType { .. })));
    assert!(matches!(list.pop_front().await, Err(Error::WrongType { .. })));
    assert!(matches!(
        list.pop_front_blocking(Duration::from_millis(10)).await,
        Err(Error::WrongType { .. })
    ));
    let stored: String = raw!(&mut raw, "GET", &key);
    assert_eq!(stored, "x", "a refused push changes nothing");
}
}

/// Clients connected, summed over the nodes (one on a server).
async fn connected_clients(admin: &mut Admin) -> u64 {
    let reply: redis::Value = raw!(admin, "INFO", "clients");
    let texts: Vec<String> = match reply {
        redis::Value::Map(nodes) => nodes
            .into_iter()
            .map(|(_, text)| redis::from_redis_value(text).unwrap())
            .collect(),
        text => vec![redis::from_redis_value(text).unwrap()],
    };
    texts
        .iter()
        .flat_map(|t| t.lines())
        .filter_map(|l| l.strip_prefix("connected_clients:"))
        .map(|n| n.trim().parse::<u64>().unwrap())
        .sum()
}

on_both! {
(flavor = "multi_thread", worker_threads = 2) async fn blocking_pops_wait_on_their_own_connection() {
    let server = TestRedis::start();
    // Waits far beyond the response timeout are not response timeouts.
    let store = store_with_response_timeout(&server, Duration::from_millis(300)).await;
    let room = "wait".to_owned();
    let list = store.list::<History>(&room);

    let started = Instant::now();
    assert_eq!(list.pop_front_blocking(Duration::from_millis(800)).await.unwrap(), None);
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(800), "{waited:?}");
    assert!(waited < Duration::from_millis(800 + 300 + 1000), "{waited:?}");

    // An item already there is returned at once, from the end asked for.
    list.push_back_many(&[line(1, "a"), line(2, "b")]).await.unwrap();
    assert_eq!(
        list.pop_back_blocking(Duration::from_secs(5)).await.unwrap(),
        Some(line(2, "b"))
    );
    assert_eq!(
        list.pop_front_blocking(Duration::from_secs(5)).await.unwrap(),
        Some(line(1, "a"))
    );

    // An item pushed while it waits, through the same store, wakes it; and
    // the store's other calls go on meanwhile.
    let waiter = {
        let store = store.clone();
        tokio::spawn(async move {
            let room = "wait".to_owned();
            let started = Instant::now();
            let item = store
                .list::<History>(&room)
                .pop_front_blocking(Duration::from_secs(10))
                .await
                .unwrap();
            (item, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    assert_eq!(list.len().await.unwrap(), 0);
    assert!(started.elapsed() < Duration::from_millis(250), "a read waited behind the pop");
    list.push_back(&line(3, "c")).await.unwrap();
    let (item, waited) = waiter.await.unwrap();
    assert_eq!(item, Some(line(3, "c")));
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    assert!(!store.exists::<History>(&room).await.unwrap());

    // A blocking call dropped while it waits ends its wait on the server:
    // a later push is not popped for nobody.
    let dropped = {
        let store = store.clone();
        tokio::spawn(async move {
            let room = "wait".to_owned();
            store
                .list::<History>(&room)
                .pop_front_blocking(Duration::from_secs(10))
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    dropped.abort();
    let _ = dropped.await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    list.push_back(&line(4, "d")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(list.range(0, -1).await.unwrap(), vec![line(4, "d")]);

    // Each blocking call's connection is closed after it: none pile up.
    let mut admin = server.raw_connection().await.unwrap();
    let before = connected_clients(&mut admin).await;
    for _ in 0..20 {
        list.pop_back_blocking(Duration::from_millis(5)).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = connected_clients(&mut admin).await;
    assert!(after <= before, "{before} clients before, {after} after");
}
}

on_both! {
async fn queue_take_ack_requeue_recover() {
    let (_server, store) = start("").await;
    let queue = "mail".to_owned();
    let jobs = store.list::<Jobs>(&queue);

    // The queue and every in-flight list share a slot.
    let slot = redis_runtime::key::hash_slot(store.key::<Jobs>(&queue).unwrap().as_bytes());
    let flight = <Jobs as redis_runtime::RedisQueue>::in_flight(&queue, "w1".into());
    let flight_key = store.key::<JobsInFlight>(&flight).unwrap();
    assert_eq!(redis_runtime::key::hash_slot(flight_key.as_bytes()), slot);
    assert_eq!(flight_key.to_string(), "jobs:{mail}:inflight:w1");

    assert!(jobs.take("w1").await.unwrap().is_none(), "an empty queue");
    assert!(jobs.in_flight("w1").await.unwrap().is_empty());
    assert_eq!(jobs.recover("w1").await.unwrap(), 0);

    // FIFO: enqueued at the back, taken from the front.
    assert_eq!(jobs.enqueue(&job(1)).await.unwrap(), 1);
    assert_eq!(jobs.enqueue_many(&[job(2), job(3), job(4)]).await.unwrap(), 4);
    let d1 = jobs.take("w1").await.unwrap().unwrap();
    let d2 = jobs.take("w1").await.unwrap().unwrap();
    assert_eq!((d1.item(), d2.item()), (&job(1), &job(2)));
    assert_eq!(d1.consumer(), "w1");
    assert_eq!(jobs.len().await.unwrap(), 2);
    let held: Vec<Job> = jobs.in_flight("w1").await.unwrap().into_iter().map(|d| d.into_item()).collect();
    assert_eq!(held, vec![job(1), job(2)], "oldest taken first");

    // Ack removes it from flight, once.
    assert!(jobs.ack(&d1).await.unwrap());
    assert!(!jobs.ack(&d1).await.unwrap(), "already acknowledged");
    // Requeue puts it at the back of the queue, once.
    assert!(jobs.requeue(&d2).await.unwrap());
    assert!(!jobs.requeue(&d2).await.unwrap(), "no second copy");
    assert!(jobs.in_flight("w1").await.unwrap().is_empty());
    assert_eq!(
        jobs.range(0, -1).await.unwrap(),
        vec![job(3), job(4), job(2)]
    );

    // Recover: a dead consumer's items go back to the front, in the order
    // they were taken; another consumer's are untouched.
    let a = jobs.take("dead").await.unwrap().unwrap();
    let b = jobs.take("dead").await.unwrap().unwrap();
    let c = jobs.take("alive").await.unwrap().unwrap();
    assert_eq!((a.item(), b.item(), c.item()), (&job(3), &job(4), &job(2)));
    assert_eq!(jobs.recover("dead").await.unwrap(), 2);
    assert_eq!(jobs.range(0, -1).await.unwrap(), vec![job(3), job(4)]);
    assert!(!jobs.ack(&a).await.unwrap(), "recovered: no longer in flight");
    assert_eq!(jobs.in_flight("alive").await.unwrap().len(), 1);
    assert!(jobs.ack(&c).await.unwrap());

    // Two identical jobs: an ack removes exactly one copy.
    let mut rest = Vec::new();
    while let Some(d) = jobs.take("w2").await.unwrap() {
        rest.push(d);
    }
    assert_eq!(rest.len(), 2);
    for d in &rest {
        assert!(jobs.ack(d).await.unwrap());
    }
    jobs.enqueue_many(&[job(7), job(7)]).await.unwrap();
    let first = jobs.take("w2").await.unwrap().unwrap();
    let second = jobs.take("w2").await.unwrap().unwrap();
    assert_eq!(first, second);
    assert!(jobs.ack(&first).await.unwrap());
    assert_eq!(jobs.in_flight("w2").await.unwrap().len(), 1, "exactly one copy acknowledged");
    assert!(jobs.ack(&second).await.unwrap());
    assert!(!jobs.ack(&second).await.unwrap());
    // The same for requeue: one copy moves.
    jobs.enqueue_many(&[job(8), job(8)]).await.unwrap();
    let first = jobs.take("w2").await.unwrap().unwrap();
    let _second = jobs.take("w2").await.unwrap().unwrap();
    assert!(jobs.requeue(&first).await.unwrap());
    assert_eq!(jobs.in_flight("w2").await.unwrap().len(), 1);
    assert_eq!(jobs.len().await.unwrap(), 1);

    // A consumer name is a key part: an empty one is refused, nothing sent.
    assert!(matches!(jobs.take("").await, Err(Error::InvalidKeyPart { .. })));
}
}

on_both! {
(flavor = "multi_thread", worker_threads = 2) async fn take_blocking_waits_and_is_woken_by_an_enqueue() {
    let server = TestRedis::start();
    let store = store_with_response_timeout(&server, Duration::from_millis(300)).await;
    let queue = "wake".to_owned();
    let jobs = store.list::<Jobs>(&queue);
    let started = Instant::now();
    assert!(jobs.take_blocking("w", Duration::from_millis(700)).await.unwrap().is_none());
    assert!(started.elapsed() >= Duration::from_millis(700));

    let waiter = {
        let store = store.clone();
        tokio::spawn(async move {
            let queue = "wake".to_owned();
            store
                .list::<Jobs>(&queue)
                .take_blocking("w", Duration::from_secs(10))
                .await
                .unwrap()
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    jobs.enqueue(&job(5)).await.unwrap();
    let delivery = waiter.await.unwrap().unwrap();
    assert_eq!(delivery.item(), &job(5));
    assert_eq!(jobs.in_flight("w").await.unwrap(), vec![delivery.clone()]);
    assert!(jobs.ack(&delivery).await.unwrap());

    // Dropped while waiting: whatever the server did, nothing is lost.
    let dropped = {
        let store = store.clone();
        tokio::spawn(async move {
            let queue = "wake".to_owned();
            store.list::<Jobs>(&queue).take_blocking("gone", Duration::from_secs(10)).await
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    dropped.abort();
    let _ = dropped.await;
    jobs.enqueue(&job(6)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let queued = jobs.len().await.unwrap();
    let held = jobs.in_flight("gone").await.unwrap().len() as u64;
    assert_eq!(queued + held, 1);
}
}

/// Takes and acknowledges until the queue stays empty, recording every id.
async fn work(store: Store, consumer: String, blocking: bool, seen: Arc<Mutex<Vec<u64>>>) {
    let queue = "work".to_owned();
    let jobs = store.list::<Jobs>(&queue);
    loop {
        let delivery = if blocking {
            jobs.take_blocking(&consumer, Duration::from_millis(300))
                .await
        } else {
            jobs.take(&consumer).await
        };
        let Some(delivery) = delivery.unwrap() else {
            return;
        };
        seen.lock().unwrap().push(delivery.item().id);
        tokio::task::yield_now().await;
        assert!(jobs.ack(&delivery).await.unwrap());
    }
}

on_both! {
(flavor = "multi_thread", worker_threads = 4) async fn workers_process_every_item_exactly_once_even_when_one_dies() {
    let (_server, store) = start("").await;
    let queue = "work".to_owned();
    let jobs = store.list::<Jobs>(&queue);
    let all: Vec<Job> = (0..400).map(job).collect();
    assert_eq!(jobs.enqueue_many(&all).await.unwrap(), 400);

    // Workers that die in the middle of taking an item, and one that dies
    // holding an item it took: killed at all sorts of moments, they must
    // leave every item in the queue or in their in-flight lists.
    for delay in 0..12u64 {
        let store = store.clone();
        let crasher = tokio::spawn(async move {
            let queue = "work".to_owned();
            let jobs = store.list::<Jobs>(&queue);
            let _held = jobs.take("crasher").await.unwrap();
            // Working on it... and never acknowledging.
            std::future::pending::<()>().await;
        });
        tokio::time::sleep(Duration::from_micros(delay * 700)).await;
        crasher.abort();
        let _ = crasher.await;
    }

    let seen = Arc::new(Mutex::new(Vec::new()));
    let workers: Vec<_> = (0..8)
        .map(|i| {
            tokio::spawn(work(store.clone(), format!("worker-{i}"), i % 2 == 0, seen.clone()))
        })
        .collect();
    for worker in workers {
        worker.await.unwrap();
    }
    let held = jobs.in_flight("crasher").await.unwrap().len() as u64;
    assert_eq!(seen.lock().unwrap().len() as u64 + held, 400, "nothing lost while the crasher held items");
    assert!(held >= 1, "the crasher died holding at least one item");

    // Its items are recovered and processed.
    assert_eq!(jobs.recover("crasher").await.unwrap(), held);
    work(store.clone(), "late".into(), true, seen.clone()).await;

    let seen = seen.lock().unwrap().clone();
    let unique: BTreeSet<u64> = seen.iter().copied().collect();
    assert_eq!(seen.len(), 400, "no duplicates");
    assert_eq!(unique, (0..400).collect::<BTreeSet<u64>>());
    assert_eq!(jobs.len().await.unwrap(), 0);
    for i in 0..8 {
        assert!(jobs.in_flight(&format!("worker-{i}")).await.unwrap().is_empty());
    }
    assert!(jobs.in_flight("crasher").await.unwrap().is_empty());
}
}
