//! The service end to end: real WebSocket clients against two instances
//! that share a private Redis, on one server and on a Redis Cluster.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use redis_runtime::stream::EntryId;
use tokio::sync::{Semaphore, watch};

use super::client::{Client, get, login, post_login, room_name, text, ws_url};
use super::{Deployment, Redis, within};
use crate::model::{RoomEvent, UserName};
use crate::protocol::{ClientFrame, ServerFrame};

fn user(name: &str) -> UserName {
    UserName::try_from(name.to_owned()).unwrap()
}

/// Rooms whose streams land in different hash slots (and, on the cluster,
/// on different nodes): each instance tails them all at once.
const ROOMS: [&str; 4] = ["lobby", "rust", "redis", "random"];

/// A message sent through one instance reaches a client of the other, in
/// every room, and the replies come back; each with the id its sender was
/// told.
async fn delivery_across_instances(cluster: bool) {
    let deployment = Deployment::start(cluster).await;
    let (status, health) = get(&deployment.url(1), "/healthz").await;
    assert_eq!(status, 200, "{health}");
    assert!(health.contains(r#""up":true"#), "{health}");

    let mut ada = Client::login(&deployment.url(0), "ada").await;
    let mut bob = Client::login(&deployment.url(1), "bob").await;
    assert_eq!((ada.instance.as_str(), bob.instance.as_str()), ("a", "b"));
    for room in ROOMS {
        let history = ada.join(room, None).await.history;
        assert_eq!(history.len(), 1, "{room}: {history:?}");
        assert_eq!(history[0].1, RoomEvent::Joined { user: user("ada") });
    }
    for room in ROOMS {
        let joined = bob.join(room, None).await;
        assert_eq!(joined.online, ["ada", "bob"], "{room}: who is online");
        let events: Vec<&RoomEvent> = joined.history.iter().map(|(_, e)| e).collect();
        assert_eq!(
            events,
            [
                &RoomEvent::Joined { user: user("ada") },
                &RoomEvent::Joined { user: user("bob") }
            ]
        );
    }

    // Ada says something in each room through instance a.
    let mut sent = BTreeMap::new();
    for room in ROOMS {
        let id = ada.say(room, &format!("hello {room}")).await.unwrap();
        sent.insert(room, id);
    }
    // Bob, on instance b, gets exactly those, each in its room with its id.
    let mut got = BTreeMap::new();
    while got.len() < ROOMS.len() {
        let (room, id, event) = bob.next_event().await;
        let expected = RoomEvent::Message {
            from: user("ada"),
            text: format!("hello {room}"),
            client_id: Some(format!("c-hello {room}")),
        };
        assert_eq!(event, expected);
        assert!(got.insert(room.to_string(), id).is_none(), "{room} twice");
    }
    let got: BTreeMap<&str, EntryId> = got.iter().map(|(r, id)| (r.as_str(), *id)).collect();
    assert_eq!(got, sent);

    // And back: ada sees, in each room, bob join, her own message, his reply.
    for room in ROOMS {
        bob.say(room, &format!("hi {room}")).await.unwrap();
    }
    let mut seen: BTreeMap<String, Vec<RoomEvent>> = BTreeMap::new();
    for _ in 0..3 * ROOMS.len() {
        let (room, _, event) = ada.next_event().await;
        seen.entry(room.to_string()).or_default().push(event);
    }
    for room in ROOMS {
        assert_eq!(
            seen[room],
            [
                RoomEvent::Joined { user: user("bob") },
                RoomEvent::Message {
                    from: user("ada"),
                    text: format!("hello {room}"),
                    client_id: Some(format!("c-hello {room}")),
                },
                RoomEvent::Message {
                    from: user("bob"),
                    text: format!("hi {room}"),
                    client_id: Some(format!("c-hi {room}")),
                }
            ],
            "{room}"
        );
    }
    ada.close().await;
    bob.close().await;
    for instance in deployment.instances {
        instance.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_across_instances_on_a_server() {
    delivery_across_instances(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_across_instances_on_a_cluster() {
    delivery_across_instances(true).await;
}

const SENDERS: usize = 4;
/// Each sender's messages: its rate limit's burst, so none is refused.
const PER_SENDER: usize = 20;
const TOTAL: usize = SENDERS * PER_SENDER;

/// What a reader saw: every event's id, and the messages' ids and texts.
#[derive(Default)]
struct Seen {
    ids: Vec<EntryId>,
    messages: Vec<(EntryId, String)>,
}

impl Seen {
    /// Records an event; fails at once on one that repeats or goes back.
    fn record(&mut self, id: EntryId, event: &RoomEvent) {
        if let Some(last) = self.last() {
            assert!(id > last, "{id} after {last}: shown twice, or out of order");
        }
        self.ids.push(id);
        if let Some(text) = text(event) {
            self.messages.push((id, text.to_owned()));
        }
    }

    fn last(&self) -> Option<EntryId> {
        self.ids.last().copied()
    }
}

/// A reader drops its connection three times while four users send
/// through the other instance, and reconnects (to either instance) with the
/// last id it saw. It ends with every message, in the order of the stream,
/// none twice: exactly what the senders were told was appended.
///
/// The reader hands the senders their messages in rounds (permits), so
/// that each time exactly 10 are appended while it is away and 10 more
/// while it reconnects, racing its history read against the live tail.
async fn resume_after_reconnect(cluster: bool) {
    let deployment = Arc::new(Deployment::start(cluster).await);
    let eve_token = login(&deployment.url(1), "eve").await;
    let mut eve = Client::connect(&deployment.url(1), &eve_token).await;
    let mut seen = Seen::default();
    for (id, event) in eve.join("lobby", None).await.history {
        seen.record(id, &event);
    }

    // What the senders were told was appended, and how many so far.
    let appended = Arc::new(Mutex::new(Vec::<(EntryId, String)>::new()));
    let (count_tx, count) = watch::channel(0usize);
    let count_tx = Arc::new(count_tx);
    let permits = Arc::new(Semaphore::new(0));
    let mut senders = Vec::new();
    for n in 0..SENDERS {
        let deployment = Arc::clone(&deployment);
        let appended = Arc::clone(&appended);
        let count_tx = Arc::clone(&count_tx);
        let permits = Arc::clone(&permits);
        senders.push(tokio::spawn(async move {
            let mut sender = Client::login(&deployment.url(0), &format!("s{n}")).await;
            sender.join("lobby", None).await;
            for i in 0..PER_SENDER {
                permits.acquire().await.unwrap().forget();
                let text = format!("s{n}-{i}");
                let id = sender.say("lobby", &text).await.expect("within the burst");
                appended.lock().unwrap().push((id, text));
                count_tx.send_modify(|c| *c += 1);
            }
            sender.close().await;
        }));
    }

    permits.add_permits(10);
    while seen.messages.len() < 10 {
        let (_, id, event) = eve.next_event().await;
        seen.record(id, &event);
    }
    for round in 0..3 {
        // Gone: cleanly the first time, by dropping the socket after.
        if round == 0 {
            eve.close().await;
        } else {
            drop(eve);
        }
        permits.add_permits(10);
        let missed = seen.messages.len() + 10;
        within("the senders", count.clone().wait_for(|c| *c >= missed))
            .await
            .unwrap();
        // These are appended while eve joins again.
        permits.add_permits(if round == 2 { 20 } else { 10 });
        eve = Client::connect(&deployment.url(round % 2), &eve_token).await;
        for (id, event) in eve.join("lobby", seen.last()).await.history {
            seen.record(id, &event);
        }
        let until = if round == 2 { TOTAL } else { missed + 10 };
        while seen.messages.len() < until {
            let (room, id, event) = eve.next_event().await;
            assert_eq!(room, room_name("lobby"));
            seen.record(id, &event);
        }
    }
    for sender in senders {
        within("a sender", sender).await.unwrap();
    }
    let mut expected = appended.lock().unwrap().clone();
    expected.sort();
    assert_eq!(
        seen.messages, expected,
        "what eve got is not what was appended"
    );
    // Nothing more is on its way: the next event is eve's own.
    let end = eve.say("lobby", "the end").await.unwrap();
    let (_, id, event) = eve.next_event().await;
    assert_eq!((id, text(&event)), (end, Some("the end")));
    eve.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_after_reconnect_on_a_server() {
    resume_after_reconnect(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_after_reconnect_on_a_cluster() {
    resume_after_reconnect(true).await;
}

/// The rate limit is per user, whichever instance they send through: of
/// messages sent back to back through both, no more pass than the burst
/// plus what the rate refilled meanwhile, and the refused ones say when to
/// retry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_limit_holds_across_instances() {
    let deployment = Deployment::start(false).await;
    let token = login(&deployment.url(0), "fast").await;
    let mut clients = [
        Client::connect(&deployment.url(0), &token).await,
        Client::connect(&deployment.url(1), &token).await,
    ];
    for client in &mut clients {
        client.join("lobby", None).await;
    }
    let started = Instant::now();
    let (mut allowed, mut refused) = (0u64, 0u64);
    for i in 0..40 {
        match clients[i % 2].say("lobby", &format!("m{i}")).await {
            Ok(_) => allowed += 1,
            Err(ServerFrame::Error {
                code,
                retry_after_ms,
                ..
            }) => {
                assert_eq!(code, "rate_limited");
                assert!(retry_after_ms.is_some_and(|ms| ms > 0 && ms <= 100));
                refused += 1;
            }
            Err(other) => panic!("{other:?}"),
        }
    }
    // GCRA, 10 a second (one per 100 ms), bursts of 20.
    let refilled = u64::try_from(started.elapsed().as_millis()).unwrap() / 100 + 1;
    assert!(allowed >= 20, "{allowed} allowed");
    assert!(
        allowed <= 20 + refilled,
        "{allowed} allowed in {:?}",
        started.elapsed()
    );
    assert_eq!(allowed + refused, 40);
    assert!(refused > 0);
}

/// What the service refuses: a bad name, an unknown session, a frame it
/// cannot read, a message to a room not joined, an empty message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_requests() {
    let deployment = Deployment::start(false).await;
    let base = deployment.url(0);
    let (status, body) = post_login(&base, "no spaces").await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = post_login(&base, "a:b").await;
    assert_eq!(status, 400, "{body}");

    let unknown = tokio_tungstenite::connect_async(ws_url(&base, "not-a-session")).await;
    match unknown {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 401);
        }
        other => panic!("an unknown session opened a WebSocket: {other:?}"),
    }

    let mut ada = Client::login(&base, "ada").await;
    ada.send(&ClientFrame::Typing {
        room: room_name("lobby"),
    })
    .await;
    let refused = ada.say("lobby", "not joined yet").await.unwrap_err();
    assert!(
        matches!(&refused, ServerFrame::Error { code, .. } if code == "not_joined"),
        "{refused:?}"
    );
    ada.join("lobby", None).await;
    let refused = ada.say("lobby", "   ").await.unwrap_err();
    assert!(
        matches!(&refused, ServerFrame::Error { code, .. } if code == "too_long"),
        "{refused:?}"
    );
    let long = "x".repeat(2001);
    assert!(ada.say("lobby", &long).await.is_err());
    assert!(ada.say("lobby", &"x".repeat(2000)).await.is_ok());
}

/// Typing indicators cross instances over pub/sub, and reach the others in
/// the room, not the typist.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_reaches_the_other_instance() {
    let deployment = Deployment::start(false).await;
    let mut ada = Client::login(&deployment.url(0), "ada").await;
    let mut bob = Client::login(&deployment.url(1), "bob").await;
    ada.join("lobby", None).await;
    bob.join("lobby", None).await;
    // Pub/sub is at most once, and an instance's subscription may not be in
    // place yet: ada types until bob hears it.
    let heard = within("bob to see ada typing", async {
        loop {
            ada.send(&ClientFrame::Typing {
                room: room_name("lobby"),
            })
            .await;
            let next = tokio::time::timeout(std::time::Duration::from_millis(200), bob.next());
            if let Ok(frame) = next.await {
                break frame;
            }
        }
    })
    .await;
    assert_eq!(
        heard,
        ServerFrame::Typing {
            room: room_name("lobby"),
            user: user("ada"),
        }
    );
    // Ada never hears herself: what reaches her up to her next message's
    // ack and event holds no typing indicator.
    ada.send(&ClientFrame::Send {
        room: room_name("lobby"),
        text: "done typing".into(),
        client_id: None,
    })
    .await;
    let (mut acked, mut echoed) = (false, false);
    while !(acked && echoed) {
        match ada.next().await {
            ServerFrame::Sent { .. } => acked = true,
            ServerFrame::Event { .. } => echoed = true,
            other => panic!("ada got {other:?}"),
        }
    }
}

/// Redis goes away and comes back (a graceful restart with the append-only
/// file on): the instances' tails recover by themselves, a message sent
/// after the restart reaches a client of the other instance that stayed
/// connected, once, and the history from before is still there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tails_recover_after_redis_restarts() {
    let mut deployment = Deployment::on(Redis::server(true)).await;
    let mut ada = Client::login(&deployment.url(0), "ada").await;
    let mut bob = Client::login(&deployment.url(1), "bob").await;
    ada.join("lobby", None).await;
    bob.join("lobby", None).await;
    let before = bob.say("lobby", "before").await.unwrap();
    let (_, joined, _) = ada.next_event().await; // bob joined
    let (_, got, _) = ada.next_event().await;
    assert!(joined < got);
    assert_eq!(got, before);

    let server = deployment.redis.server_mut();
    server.shutdown().expect("a graceful shutdown");
    server.restart().expect("the server starts again");

    // The first sends may meet the connection the restart broke.
    let mut refused = 0;
    let after = loop {
        match bob.say("lobby", "after").await {
            Ok(id) => break id,
            Err(ServerFrame::Error { code, .. }) if code == "unavailable" && refused < 20 => {
                refused += 1;
            }
            Err(other) => panic!("{other:?}"),
        }
    };
    let (_, got, event) = ada.next_event().await;
    assert_eq!((got, text(&event)), (after, Some("after")));

    // And a client that comes later reads both from the restarted server.
    let mut eve = Client::login(&deployment.url(1), "eve").await;
    let history: Vec<Option<String>> = eve
        .join("lobby", Some(joined))
        .await
        .history
        .iter()
        .map(|(_, event)| text(event).map(str::to_owned))
        .collect();
    assert_eq!(
        history,
        [Some("before".to_owned()), Some("after".to_owned()), None]
    );
}

/// Both instances consume the rooms' `tally` group: every message is
/// counted once, by one of them, and the counts reach the clients.
async fn messages_are_counted_once_by_the_instances_together(cluster: bool) {
    let deployment = Deployment::start(cluster).await;
    let mut senders = Vec::new();
    for (name, instance, messages) in [("ada", 0, 10), ("bob", 1, 7), ("cy", 0, 4)] {
        let mut client = Client::login(&deployment.url(instance), name).await;
        client.join("lobby", None).await;
        senders.push((client, name, messages));
    }
    for (client, name, messages) in &mut senders {
        for i in 0..*messages {
            client.say("lobby", &format!("{name} {i}")).await.unwrap();
        }
    }
    // Counting runs behind the chat: wait until the group has been given
    // every entry (lag 0) and has acknowledged each (nothing pending).
    let store = deployment.redis.store().await;
    let lobby = room_name("lobby");
    let group = store
        .stream::<crate::model::RoomLog>(&lobby)
        .group(crate::tally::GROUP);
    within("the tally to catch up", async {
        while group.lag().await.unwrap() != Some(0) || group.pending().await.unwrap() != 0 {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
    let counts = store
        .sorted_set::<crate::model::RoomTalkers>(&lobby)
        .top(10)
        .await
        .unwrap();
    let expected = [(user("ada"), 10), (user("bob"), 7), (user("cy"), 4)];
    assert_eq!(counts, expected);
    let mut eve = Client::login(&deployment.url(1), "eve").await;
    let talkers = eve.join("lobby", None).await.talkers;
    assert_eq!(
        talkers,
        [
            ("ada".to_owned(), 10),
            ("bob".to_owned(), 7),
            ("cy".to_owned(), 4)
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_are_counted_once_on_a_server() {
    messages_are_counted_once_by_the_instances_together(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_are_counted_once_on_a_cluster() {
    messages_are_counted_once_by_the_instances_together(true).await;
}

/// A user is online while any connection of theirs is open, on either
/// instance, and offline once the last one closes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_follows_the_last_connection() {
    let deployment = Deployment::start(false).await;
    let store = deployment.redis.store().await;
    let ada = user("ada");
    let token = login(&deployment.url(0), "ada").await;
    let mut on_a = Client::connect(&deployment.url(0), &token).await;
    on_a.join("lobby", None).await;
    let on_b = Client::connect(&deployment.url(1), &token).await;
    let mut bob = Client::login(&deployment.url(1), "bob").await;
    assert_eq!(bob.join("lobby", None).await.online, ["ada", "bob"]);

    // How many of ada's connections the service counts as open.
    let open = async || {
        store
            .sorted_set::<crate::model::UserConnections>(&ada)
            .len()
            .await
            .unwrap()
    };
    assert_eq!(open().await, 2);
    on_a.close().await;
    within("instance a to close ada's connection", async {
        while open().await != 1 {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await;
    assert_eq!(bob.join("lobby", None).await.online, ["ada", "bob"]);

    on_b.close().await;
    within("ada to go offline", async {
        while store.exists::<crate::model::Presence>(&ada).await.unwrap() {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await;
    assert_eq!(open().await, 0);
    assert_eq!(bob.join("lobby", None).await.online, ["bob"]);
}
