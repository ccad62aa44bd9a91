//! Every operation of every kind, once: the command-table test counts what
//! they send, the metrics test what they record.

use std::time::Duration;

use super::*;
use futures_util::StreamExt;

pub async fn every_operation(store: &redis_runtime::Store) {
    let user = User::sample("acme", 1);
    let id = user.key_id();
    let f = User::fields();
    store.save(&user).await.unwrap();
    store
        .save_with_ttl(&user, Some(Duration::from_secs(60)))
        .await
        .unwrap();
    store.save_many(&[User::sample("acme", 2)]).await.unwrap();
    store.get::<User>(&id).await.unwrap();
    store
        .get_many::<User>(std::slice::from_ref(&id))
        .await
        .unwrap();
    store.exists::<User>(&id).await.unwrap();
    store.get_field(&id, f.email).await.unwrap();
    store.set_field(&id, f.email, &"e".into()).await.unwrap();
    store.clear_field(&id, f.name).await.unwrap();
    store.incr(&id, f.logins, 1).await.unwrap();
    store
        .expire::<User>(&id, Duration::from_secs(60))
        .await
        .unwrap();
    store.persist::<User>(&id).await.unwrap();
    store.refresh_ttl::<User>(&id).await.unwrap();
    store.ttl::<User>(&id).await.unwrap();
    // Conditional writes.
    store.insert(&User::sample("acme", 3)).await.unwrap();
    let _ = store.insert_or_get(&User::sample("acme", 4)).await.unwrap();
    store.replace(&user).await.unwrap();
    store.get_and_refresh::<User>(&id).await.unwrap();
    store
        .update(&id, |u| {
            u.set(f.email, &"u".into()).clear(f.name).incr(f.logins, 1)
        })
        .await
        .unwrap();
    store.get_fields(&id, (f.email, f.logins)).await.unwrap();
    store
        .get_fields_many(std::slice::from_ref(&id), (f.email,))
        .await
        .unwrap();
    store
        .incr_or_insert(&id, f.logins, 1, || user.clone())
        .await
        .unwrap();
    store
        .take::<User>(&User::sample("acme", 3).key_id())
        .await
        .unwrap();
    store.count::<User>().await.unwrap();
    let ids: Vec<_> = store.scan_ids::<User>().collect().await;
    assert!(!ids.is_empty());
    store.delete::<User>(&id).await.unwrap();
    store.delete_many::<User>(&[id]).await.unwrap();

    let session = Session {
        token: "t".into(),
        user: 1,
        scopes: vec![],
    };
    let event = Event {
        stream: "s".into(),
        seq: 1,
        kind: "k".into(),
        payload: vec![1],
    };
    let event_id = EventId {
        stream: "s".into(),
        seq: 1,
    };
    store.save(&session).await.unwrap();
    store.save(&event).await.unwrap();
    store
        .save_many(std::slice::from_ref(&session))
        .await
        .unwrap();
    store.save_many(std::slice::from_ref(&event)).await.unwrap();
    store.get::<Session>(&"t".into()).await.unwrap();
    store
        .get_many::<Event>(std::slice::from_ref(&event_id))
        .await
        .unwrap();
    store.exists::<Session>(&"t".into()).await.unwrap();
    store
        .expire::<Event>(&event_id.clone(), Duration::from_secs(5))
        .await
        .unwrap();
    store.persist::<Event>(&event_id.clone()).await.unwrap();
    store.refresh_ttl::<Session>(&"t".into()).await.unwrap();
    store.ttl::<Session>(&"t".into()).await.unwrap();
    store.insert(&event).await.unwrap();
    let _ = store.insert_or_get(&session).await.unwrap();
    store.replace(&session).await.unwrap();
    store.get_and_refresh::<Session>(&"t".into()).await.unwrap();
    store.get_and_refresh::<Event>(&event_id).await.unwrap();
    store.take::<Event>(&event_id).await.unwrap();
    store.save(&event).await.unwrap();
    store.count::<Event>().await.unwrap();
    store.delete::<Session>(&"t".into()).await.unwrap();
    store
        .delete_many::<Event>(std::slice::from_ref(&event_id))
        .await
        .unwrap();
    // Health's commands are in the table too.
    let health = store.health().await;
    assert!(health.up, "{health}");
}

/// Every operation of every collection kind, the TTL calls included.
pub async fn every_collection_operation(store: &redis_runtime::Store) {
    use redis_runtime::collection::{Bound, Order, ZAdd};
    let (red, blue) = (
        TeamMembers {
            org: TenantId("o".into()),
            team: "red".into(),
        },
        TeamMembers {
            org: TenantId("o".into()),
            team: "blue".into(),
        },
    );
    let set = store.set::<TeamMembers>(&red);
    set.add(&1).await.unwrap();
    set.add_many(&[2, 3]).await.unwrap();
    set.remove(&3).await.unwrap();
    set.remove_many(&[9]).await.unwrap();
    set.contains(&1).await.unwrap();
    set.contains_many(&[1, 2]).await.unwrap();
    set.members().await.unwrap();
    let _: Vec<_> = set.scan().collect().await;
    set.len().await.unwrap();
    set.random().await.unwrap();
    set.move_member(&blue, &2).await.unwrap();
    set.union(&[&blue]).await.unwrap();
    set.intersection(&[&blue]).await.unwrap();
    set.difference(&[&blue]).await.unwrap();
    set.store_union(&blue, &[&red]).await.unwrap();
    set.store_intersection(&blue, &[&red]).await.unwrap();
    set.store_difference(&blue, &[&red]).await.unwrap();
    set.pop().await.unwrap();

    let game = "g".to_owned();
    let board = store.sorted_set::<Board>(&game);
    let m = |x: &str| x.to_owned();
    board.add(&m("a"), 1).await.unwrap();
    board.add_many(&[(&m("b"), 2), (&m("c"), 3)]).await.unwrap();
    board
        .add_with(&m("a"), 5, ZAdd::new().if_greater())
        .await
        .unwrap();
    board.incr(&m("a"), 1).await.unwrap();
    board.score(&m("a")).await.unwrap();
    board.scores(&[m("a")]).await.unwrap();
    board.rank(&m("a")).await.unwrap();
    board.rank_rev(&m("a")).await.unwrap();
    board.range(0, -1, Order::Ascending).await.unwrap();
    board.top(2).await.unwrap();
    board
        .range_by_score(
            Bound::Unbounded,
            Bound::Inclusive(3),
            Order::Descending,
            Some((0, 2)),
        )
        .await
        .unwrap();
    board
        .range_by_lex(Bound::Unbounded, Bound::Unbounded, Order::Ascending, None)
        .await
        .unwrap();
    board
        .count(Bound::Unbounded, Bound::Unbounded)
        .await
        .unwrap();
    board.len().await.unwrap();
    board.remove(&m("c")).await.unwrap();
    board.remove_by_rank(0, 0).await.unwrap();
    board
        .remove_by_score(Bound::Inclusive(100), Bound::Unbounded)
        .await
        .unwrap();
    board.pop_min().await.unwrap();
    board.pop_max().await.unwrap();

    let hits = store.counter::<Hits>(&1);
    hits.get().await.unwrap();
    hits.incr(2).await.unwrap();
    hits.decr(1).await.unwrap();
    hits.hit(10).await.unwrap();
    hits.set(0).await.unwrap();

    let room = "r".to_owned();
    let marks = store.map::<ReadMarks>(&room);
    marks.set(&1, &1).await.unwrap();
    marks.set_many(&[(&2, &2)]).await.unwrap();
    marks.get(&1).await.unwrap();
    marks.get_many(&[1, 2]).await.unwrap();
    marks.all().await.unwrap();
    marks.contains(&1).await.unwrap();
    marks.incr(&1, 1).await.unwrap();
    marks.len().await.unwrap();
    let _: Vec<_> = marks.scan().collect().await;
    marks.remove(&1).await.unwrap();
    marks.remove_many(&[2]).await.unwrap();

    // The TTL calls every kind shares.
    store.exists::<Hits>(&1).await.unwrap();
    store.ttl::<Hits>(&1).await.unwrap();
    store
        .expire::<Hits>(&1, Duration::from_secs(60))
        .await
        .unwrap();
    store.persist::<Hits>(&1).await.unwrap();
    store.refresh_ttl::<Hits>(&1).await.unwrap();
    store.delete::<Hits>(&1).await.unwrap();
}

/// Every operation of lists and the reliable queue, the TTL calls included.
pub async fn every_list_operation(store: &redis_runtime::Store) {
    let line = |n: u64| Line {
        from: n,
        text: "t".into(),
    };
    let room = "r".to_owned();
    let list = store.list::<History>(&room);
    list.push_front(&line(1)).await.unwrap();
    list.push_front_many(&[line(2), line(3)]).await.unwrap();
    list.push_back(&line(4)).await.unwrap();
    list.push_back_many(&[line(5), line(6)]).await.unwrap();
    list.push_back_many(&[]).await.unwrap();
    list.range(0, -1).await.unwrap();
    list.len().await.unwrap();
    list.get(0).await.unwrap();
    list.set(0, &line(7)).await.unwrap();
    list.remove(&line(7), 1).await.unwrap();
    list.pop_front().await.unwrap();
    list.pop_back().await.unwrap();
    list.pop_front_many(1).await.unwrap();
    list.pop_back_many(1).await.unwrap();
    list.pop_front_blocking(Duration::from_millis(10))
        .await
        .unwrap();
    list.pop_back_blocking(Duration::from_millis(10))
        .await
        .unwrap();
    list.trim(0, 0).await.unwrap();

    let queue = "q".to_owned();
    let jobs = store.list::<Jobs>(&queue);
    let job = |id: u64| Job {
        id,
        payload: "p".into(),
    };
    jobs.enqueue(&job(1)).await.unwrap();
    jobs.enqueue_many(&[job(2), job(3), job(4)]).await.unwrap();
    let taken = jobs.take("w").await.unwrap().unwrap();
    let blocked = jobs
        .take_blocking("w", Duration::from_millis(10))
        .await
        .unwrap()
        .unwrap();
    jobs.in_flight("w").await.unwrap();
    jobs.ack(&taken).await.unwrap();
    jobs.requeue(&blocked).await.unwrap();
    let _held = jobs.take("dead").await.unwrap().unwrap();
    jobs.recover("dead").await.unwrap();

    // The TTL calls every kind shares.
    store.exists::<History>(&room).await.unwrap();
    store.ttl::<History>(&room).await.unwrap();
    store
        .expire::<History>(&room, Duration::from_secs(60))
        .await
        .unwrap();
    store.persist::<History>(&room).await.unwrap();
    store.refresh_ttl::<History>(&room).await.unwrap();
    store.delete::<History>(&room).await.unwrap();
}

/// Every operation of leases and rate limits (every algorithm), the TTL
/// calls included.
pub async fn every_lease_and_rate_limit_operation(store: &redis_runtime::Store) {
    let room = "r".to_owned();
    let lock = store.lease::<RoomLock>(&room);
    let lease = lock.try_acquire().await.unwrap().unwrap();
    lease.extend().await.unwrap();
    assert!(lease.guarded(async { 1 }).await.is_ok());
    lock.current_fence().await.unwrap();
    assert!(lease.release().await.unwrap());
    let lease = lock.acquire(Duration::from_secs(5)).await.unwrap();
    lease.release().await.unwrap();
    let job = store
        .lease::<JobLock>(&1)
        .acquire(Duration::ZERO)
        .await
        .unwrap();
    job.release().await.unwrap();

    let client = "c".to_owned();
    store
        .rate_limit::<FixedLimit>(&client)
        .allow(1)
        .await
        .unwrap();
    store
        .rate_limit::<SlidingLimit>(&client)
        .allow(1)
        .await
        .unwrap();
    store
        .rate_limit::<GcraLimit>(&client)
        .allow(1)
        .await
        .unwrap();
    store
        .rate_limit::<BurstLimit>(&client)
        .allow(1)
        .await
        .unwrap();

    // The TTL calls every kind shares.
    store.exists::<RoomLock>(&room).await.unwrap();
    store.ttl::<RoomLock>(&room).await.unwrap();
    store.exists::<GcraLimit>(&client).await.unwrap();
    store.ttl::<SlidingLimit>(&client).await.unwrap();
    store
        .expire::<FixedLimit>(&client, Duration::from_secs(60))
        .await
        .unwrap();
    store.persist::<FixedLimit>(&client).await.unwrap();
    store.refresh_ttl::<FixedLimit>(&client).await.unwrap();
    store.delete::<FixedLimit>(&client).await.unwrap();
    let fence = RoomLockFence { room };
    store.exists::<RoomLockFence>(&fence).await.unwrap();
    store.delete::<RoomLockFence>(&fence).await.unwrap();
}

/// Every operation of a model with a version field, unique constraints and
/// indexes (each write runs the coordinated script), its queries and repair.
pub async fn every_coordinated_operation(store: &redis_runtime::Store) {
    use redis_runtime::Page;
    let org = TenantId("acme".into());
    let m = Member::sample("acme", 1);
    let id = m.key_id();
    let f = Member::fields();
    store.save(&m).await.unwrap();
    store
        .save_many(&[Member::sample("acme", 2), Member::sample("acme", 3)])
        .await
        .unwrap();
    store.insert(&Member::sample("acme", 4)).await.unwrap();
    assert!(
        !store
            .insert_or_get(&Member::sample("acme", 4))
            .await
            .unwrap()
            .is_inserted()
    );
    let current = store.get::<Member>(&id).await.unwrap().unwrap();
    store.replace(&current).await.unwrap();
    store.set_field(&id, f.role, &"admin".into()).await.unwrap();
    store.set_field(&id, f.team, &"red".into()).await.unwrap();
    store.clear_field(&id, f.team).await.unwrap();
    store.incr(&id, f.score, 1).await.unwrap();
    store
        .update(&id, |u| u.set(f.joined, &5).incr(f.score, 1))
        .await
        .unwrap();
    store
        .incr_or_insert(&Member::sample("acme", 5).key_id(), f.score, 1, || {
            Member::sample("acme", 5)
        })
        .await
        .unwrap();
    store
        .modify(&id, |m: &mut Member| m.score += 1)
        .await
        .unwrap();
    Member::find_by_role(store, &org, &"admin".into())
        .await
        .unwrap();
    Member::find_by_role_page(store, &org, &"member".into(), Page::first(2))
        .await
        .unwrap();
    Member::count_by_role(store, &org, &"member".into())
        .await
        .unwrap();
    Member::find_by_joined(store, &org, 0..100, Page::ALL)
        .await
        .unwrap();
    Member::count_by_joined(store, &org, ..).await.unwrap();
    Member::find_by_email(store, &org, &"m2@acme.example".to_owned())
        .await
        .unwrap();
    store
        .take::<Member>(&Member::sample("acme", 2).key_id())
        .await
        .unwrap();
    store
        .delete::<Member>(&Member::sample("acme", 3).key_id())
        .await
        .unwrap();
    store
        .delete_many::<Member>(&[Member::sample("acme", 4).key_id()])
        .await
        .unwrap();
    store.repair::<Member, _>(&org, 100).await.unwrap();
    store
        .delete_many::<Member>(&[id, Member::sample("acme", 5).key_id()])
        .await
        .unwrap();
}

/// Every operation of streams, their consumer groups and runner, and of
/// pub/sub channels.
pub async fn every_stream_operation(store: &redis_runtime::Store) {
    use futures_util::StreamExt;
    use redis_runtime::stream::{EntryId, StartAt};
    let said = |user: u64| RoomEvent::Said {
        user,
        text: "x".into(),
    };
    let room = "s".to_owned();
    let events = store.stream::<RoomEvents>(&room);
    let group = events.group("g");
    group.create(StartAt::Beginning).await.unwrap();
    let first = events.append(&said(1)).await.unwrap();
    let ids = events.append_many(&[said(2), said(3)]).await.unwrap();
    events.after(EntryId::ZERO, 10).await.unwrap();
    events.range(first, ids[1], 10).await.unwrap();
    events.latest(2).await.unwrap();
    events
        .wait_after(EntryId::ZERO, 10, Duration::from_millis(10))
        .await
        .unwrap();
    events.len().await.unwrap();
    let mailbox = store.stream::<Mailbox>(&1);
    mailbox.append(&said(1)).await.unwrap();
    mailbox.append_many(&[said(2), said(3)]).await.unwrap();
    let last = mailbox.latest(1).await.unwrap()[0].id;
    store
        .read_streams::<Mailbox>(&[(&1, EntryId::ZERO), (&2, EntryId::ZERO)], 10, None)
        .await
        .unwrap();
    store
        .read_streams::<Mailbox>(&[(&1, last)], 10, Some(Duration::from_millis(10)))
        .await
        .unwrap();

    let read = group.read("a", 2, None).await.unwrap();
    group.ack(&[read[0].id]).await.unwrap();
    group
        .read("a", 1, Some(Duration::from_millis(10)))
        .await
        .unwrap();
    group.pending().await.unwrap();
    group.lag().await.unwrap();
    group
        .reclaim("b", Duration::ZERO, 10, 5, EntryId::ZERO)
        .await
        .unwrap();
    group
        .dead_letter(read[1].id, "b", "given up")
        .await
        .unwrap();
    // Nothing left pending before the runner starts.
    group.ack(&ids).await.unwrap();
    events.dead_letters(EntryId::ZERO, 10).await.unwrap();
    group
        .mark_processed(first, Duration::from_secs(60))
        .await
        .unwrap();
    // A runner whose handler fails each entry once: the retry is an XCLAIM.
    let failed = std::sync::Arc::new(std::sync::Mutex::new(std::collections::HashSet::new()));
    let (ok_tx, mut ok_rx) = tokio::sync::mpsc::unbounded_channel();
    let handle = group
        .runner("r")
        .retry_after(Duration::from_millis(1))
        .spawn(move |m| {
            let first_time = failed.lock().unwrap().insert(m.id);
            let ok_tx = ok_tx.clone();
            async move {
                if first_time {
                    Err("once".to_owned())
                } else {
                    let _ = ok_tx.send(m.id);
                    Ok(())
                }
            }
        });
    let fourth = events.append(&said(4)).await.unwrap();
    assert_eq!(ok_rx.recv().await, Some(fourth));
    let stats = handle.stop().await.unwrap();
    assert_eq!((stats.failed, stats.processed), (1, 1), "{stats:?}");
    assert_eq!(group.pending().await.unwrap(), 0);
    events.delete(&[first]).await.unwrap();
    group.destroy().await.unwrap();

    // Pub/sub.
    let mut one = store.subscribe::<RoomTyping>(&[&room]).await.unwrap();
    let mut all = store.subscribe_all::<RoomTyping>().await.unwrap();
    store
        .channel::<RoomTyping>(&room)
        .publish(&Typing { user: 1 })
        .await
        .unwrap();
    one.next().await.unwrap().unwrap();
    all.next().await.unwrap().unwrap();

    // The TTL calls every kind shares.
    store.exists::<RoomEvents>(&room).await.unwrap();
    store.ttl::<Mailbox>(&1).await.unwrap();
    store
        .expire::<RoomEvents>(&room, Duration::from_secs(60))
        .await
        .unwrap();
    store.persist::<RoomEvents>(&room).await.unwrap();
    store.refresh_ttl::<Mailbox>(&1).await.unwrap();
    let dead = RoomEventsDeadLetter { room: room.clone() };
    store.exists::<RoomEventsDeadLetter>(&dead).await.unwrap();
    store.delete::<RoomEventsDeadLetter>(&dead).await.unwrap();
    let processed = RoomEventsProcessed { room: room.clone() };
    store.ttl::<RoomEventsProcessed>(&processed).await.unwrap();
    store
        .delete::<RoomEventsProcessed>(&processed)
        .await
        .unwrap();
    store.delete::<RoomEvents>(&room).await.unwrap();
}
