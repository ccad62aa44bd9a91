//! The HTTP and WebSocket service: one instance of it. Instances share
//! nothing but Redis.
//!
//! - `GET /`: the page ([`PAGE`]).
//! - `POST /api/login {"name": …}`: creates the user at their first login,
//!   opens a session, answers `{"token": …, "user": …}`.
//! - `GET /ws?token=…`: the WebSocket ([`crate::protocol`]).
//! - `GET /healthz`: `Store::health` as JSON; 503 when Redis is down.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::{SinkExt, StreamExt};
use redis_runtime::Store;
use redis_runtime::collection::Bound;
use redis_runtime::stream::EntryId;
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;

use crate::hub::{Hub, RoomEntry, RoomSubscription};
use crate::model::{
    Presence, RoomEvent, RoomLog, RoomMembers, RoomName, RoomTalkers, RoomTyping, SendLimit,
    Session, Typing, User, UserConnections, UserName, UserRooms,
};
use crate::protocol::{ClientFrame, ServerFrame};

/// The page a person chats in: plain HTML and JavaScript, no build step.
pub(crate) const PAGE: &str = include_str!("index.html");

/// How many past messages a `join` without `after` sends.
const HISTORY: usize = 50;
/// How many of the room's top talkers a `joined` lists.
const TALKERS: u64 = 5;
/// How many entries one history read takes.
const HISTORY_BATCH: usize = 500;
/// The longest message, in characters.
const MAX_TEXT: usize = 2000;
/// How often a connection saves its user's presence.
const HEARTBEAT: Duration = Duration::from_secs(10);
/// How long a connection counts as live after its last heartbeat: the
/// `Presence` model's TTL.
const PRESENCE_TTL_MS: u64 = 30_000;
/// Frames queued for a client before its connection waits for it.
const OUTBOX: usize = 1024;
/// How long a closing connection may take to send what it has queued.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// One instance of the service.
struct Chat {
    store: Store,
    instance: String,
    hub: Arc<Hub>,
    /// Becomes `true` when the instance shuts down: every connection closes.
    stop: watch::Receiver<bool>,
    /// Held by every open connection; `serve` waits for all to drop.
    open: mpsc::Sender<()>,
}

/// Serves the chat on `listener` until `shutdown` completes, then closes
/// every WebSocket and returns. `instance` names this instance in `welcome`
/// frames and presence.
pub(crate) async fn serve(
    store: Store,
    listener: TcpListener,
    instance: String,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_tx, stop) = watch::channel(false);
    let (open, mut all_closed) = mpsc::channel::<()>(1);
    let hub = Hub::new(store.clone(), instance.clone());
    let tail = tokio::spawn(Arc::clone(&hub).tail(stop.clone()));
    let typing = tokio::spawn(Arc::clone(&hub).relay_typing(stop.clone()));
    let chat = Arc::new(Chat {
        store,
        instance,
        hub,
        stop,
        open,
    });
    let app = Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route("/api/login", post(login))
        .route("/ws", get(websocket))
        .route("/healthz", get(health))
        .with_state(Arc::clone(&chat));
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        })
        .await;
    // WebSockets live on after the HTTP server stops: wait for them to close.
    drop(chat);
    let _ = all_closed.recv().await;
    let _ = tail.await;
    let _ = typing.await;
    served
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// An error answered as `{"error": …}` with a status.
fn refuse(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(serde_json::json!({ "error": message.into() }))).into_response()
}

fn unavailable(error: redis_runtime::Error) -> Response {
    eprintln!("chat: Redis failed a request: {error}");
    refuse(StatusCode::SERVICE_UNAVAILABLE, "Redis is unavailable")
}

#[derive(Deserialize)]
struct Login {
    name: String,
}

async fn login(State(chat): State<Arc<Chat>>, Json(login): Json<Login>) -> Response {
    let Ok(name) = UserName::try_from(login.name) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            crate::model::InvalidName.to_string(),
        );
    };
    let user = User {
        name: name.clone(),
        created_ms: now_ms(),
        logins: 0,
    };
    let opened = async {
        // The first login creates the user; later ones count.
        chat.store.insert(&user).await?;
        chat.store.incr(&name, User::fields().logins, 1).await?;
        chat.store.refresh_ttl::<User>(&name).await?;
        let session = Session {
            token: uuid::Uuid::new_v4().simple().to_string(),
            user: name.clone(),
        };
        chat.store.save(&session).await?;
        Ok::<_, redis_runtime::Error>(session.token)
    };
    match opened.await {
        Ok(token) => Json(serde_json::json!({ "token": token, "user": name })).into_response(),
        Err(error) => unavailable(error),
    }
}

#[derive(Deserialize)]
struct Connect {
    token: String,
}

async fn websocket(
    State(chat): State<Arc<Chat>>,
    Query(connect): Query<Connect>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let session = match chat.store.get_and_refresh::<Session>(&connect.token).await {
        Ok(Some(session)) => session,
        Ok(None) => return refuse(StatusCode::UNAUTHORIZED, "unknown or expired session"),
        Err(error) => return unavailable(error),
    };
    upgrade.on_upgrade(move |socket| connection(chat, session.user, socket))
}

async fn health(State(chat): State<Arc<Chat>>) -> Response {
    let health = chat.store.health().await;
    let status = if health.up {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(health)).into_response()
}

/// One WebSocket, from `welcome` to close.
async fn connection(chat: Arc<Chat>, user: UserName, socket: WebSocket) {
    let _open = chat.open.clone();
    let (mut sink, mut incoming) = socket.split();
    let (outbox, mut outgoing) = mpsc::channel::<ServerFrame>(OUTBOX);
    let writer = tokio::spawn(async move {
        while let Some(frame) = outgoing.recv().await {
            let text = serde_json::to_string(&frame).expect("frames serialize");
            if sink.send(WsMessage::Text(text.into())).await.is_err() {
                return;
            }
        }
        let _ = sink.send(WsMessage::Close(None)).await;
    });
    let mut session = Connection {
        chat: Arc::clone(&chat),
        user: user.clone(),
        id: uuid::Uuid::new_v4().simple().to_string(),
        outbox,
        followers: HashMap::new(),
    };
    if let Err(error) = session.open().await {
        session
            .say(ServerFrame::error("unavailable", error.to_string()))
            .await;
    }
    let mut stop = chat.stop.clone();
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    loop {
        tokio::select! {
            frame = incoming.next() => match frame {
                Some(Ok(WsMessage::Text(text))) => session.handle(&text).await,
                Some(Ok(WsMessage::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => {} // pings are answered by axum; binary frames mean nothing here
            },
            _ = heartbeat.tick() => session.heartbeat().await,
            _ = stop.changed() => break,
        }
        if session.outbox.is_closed() {
            break; // the writer gave up: the client is gone
        }
    }
    session.close().await;
    // The writer ends when every sender of the outbox is gone: this
    // connection's and its followers' (aborted by `close`).
    drop(session);
    // A client that stopped reading could hold the writer for ever.
    let mut writer = writer;
    if tokio::time::timeout(CLOSE_GRACE, &mut writer)
        .await
        .is_err()
    {
        writer.abort();
    }
}

/// The state of one connection.
struct Connection {
    chat: Arc<Chat>,
    user: UserName,
    /// This connection's member of the user's `UserConnections`.
    id: String,
    outbox: mpsc::Sender<ServerFrame>,
    /// The task sending each joined room's events to this client.
    followers: HashMap<RoomName, JoinHandle<()>>,
}

impl Connection {
    /// Queues a frame for the client (waiting while `OUTBOX` frames are
    /// queued: a slow client slows its own connection only).
    async fn say(&self, frame: ServerFrame) {
        // Not past a shutdown, though: a client that stopped reading would
        // hold the instance open.
        let mut stop = self.chat.stop.clone();
        if *stop.borrow_and_update() {
            return;
        }
        tokio::select! {
            _ = self.outbox.send(frame) => {}
            _ = stop.changed() => {}
        }
    }

    async fn open(&mut self) -> redis_runtime::Result<()> {
        self.heartbeat().await;
        let mut rooms = self
            .chat
            .store
            .set::<UserRooms>(&self.user)
            .members()
            .await?;
        rooms.sort();
        self.say(ServerFrame::Welcome {
            user: self.user.clone(),
            instance: self.chat.instance.clone(),
            rooms,
        })
        .await;
        Ok(())
    }

    /// Marks the user online (again) and this connection live for the
    /// presence TTL; drops the user's connections that lapsed (their
    /// instance died without closing them).
    async fn heartbeat(&self) {
        let store = &self.chat.store;
        let presence = Presence {
            user: self.user.clone(),
            instance: self.chat.instance.clone(),
        };
        let connections = store.sorted_set::<UserConnections>(&self.user);
        let now = now_ms();
        let beat = async {
            connections.add(&self.id, now + PRESENCE_TTL_MS).await?;
            connections
                .remove_by_score(Bound::Unbounded, Bound::Exclusive(now))
                .await?;
            store.refresh_ttl::<UserConnections>(&self.user).await?;
            store.save(&presence).await
        };
        if let Err(error) = beat.await {
            eprintln!("chat: saving the presence of {} failed: {error}", self.user);
        }
    }

    async fn handle(&mut self, text: &str) {
        let frame: ClientFrame = match serde_json::from_str(text) {
            Ok(frame) => frame,
            Err(error) => {
                self.say(ServerFrame::error("bad_frame", error.to_string()))
                    .await;
                return;
            }
        };
        let done = match frame {
            ClientFrame::Join { room, after } => self.join(room, after).await,
            ClientFrame::Leave { room } => self.leave(room).await,
            ClientFrame::Send {
                room,
                text,
                client_id,
            } => self.send(room, text, client_id).await,
            ClientFrame::Typing { room } => self.typing(room).await,
        };
        if let Err(error) = done {
            eprintln!("chat: a frame of {} failed: {error}", self.user);
            self.say(ServerFrame::error("unavailable", "Redis is unavailable"))
                .await;
        }
    }

    async fn join(&mut self, room: RoomName, after: Option<EntryId>) -> redis_runtime::Result<()> {
        let store = &self.chat.store;
        let members = store.set::<RoomMembers>(&room);
        if members.add(&self.user).await? {
            store.set::<UserRooms>(&self.user).add(&room).await?;
            store
                .stream::<RoomLog>(&room)
                .append(&RoomEvent::Joined {
                    user: self.user.clone(),
                })
                .await?;
        }
        let mut everyone = members.members().await?;
        everyone.sort();
        let present = store.get_many::<Presence>(&everyone).await?;
        let talkers = store.sorted_set::<RoomTalkers>(&room).top(TALKERS).await?;
        let online = everyone
            .iter()
            .zip(&present)
            .filter(|(_, presence)| presence.is_some())
            .map(|(user, _)| user.clone())
            .collect();
        // Subscribe before reading the history: what is appended between the
        // two comes through both, and the follower drops the second copy.
        let subscription = self.chat.hub.subscribe(&room).await?;
        let start = match after {
            Some(after) => after,
            None => {
                let last = store.stream::<RoomLog>(&room).latest(HISTORY).await?;
                last.first().map_or(EntryId::ZERO, |first| before(first.id))
            }
        };
        self.say(ServerFrame::Joined {
            room: room.clone(),
            members: everyone,
            online,
            talkers,
        })
        .await;
        let follower = Follower {
            store: store.clone(),
            room: room.clone(),
            me: self.user.clone(),
            outbox: self.outbox.clone(),
            last: start,
        };
        let typing = self.chat.hub.typing();
        if let Some(previous) = self
            .followers
            .insert(room, tokio::spawn(follower.run(subscription, typing)))
        {
            previous.abort();
        }
        Ok(())
    }

    async fn leave(&mut self, room: RoomName) -> redis_runtime::Result<()> {
        if let Some(follower) = self.followers.remove(&room) {
            follower.abort();
        }
        let store = &self.chat.store;
        if store.set::<RoomMembers>(&room).remove(&self.user).await? {
            store.set::<UserRooms>(&self.user).remove(&room).await?;
            store
                .stream::<RoomLog>(&room)
                .append(&RoomEvent::Left {
                    user: self.user.clone(),
                })
                .await?;
        }
        self.say(ServerFrame::Left { room }).await;
        Ok(())
    }

    async fn send(
        &mut self,
        room: RoomName,
        text: String,
        client_id: Option<String>,
    ) -> redis_runtime::Result<()> {
        let refuse =
            |code: &str, message: String, retry_after_ms: Option<u64>| ServerFrame::Error {
                code: code.to_owned(),
                message,
                retry_after_ms,
                client_id: client_id.clone(),
            };
        if !self.followers.contains_key(&room) {
            self.say(refuse("not_joined", format!("join {room} first"), None))
                .await;
            return Ok(());
        }
        let text = text.trim().to_owned();
        if text.is_empty() || text.chars().count() > MAX_TEXT {
            self.say(refuse(
                "too_long",
                format!("a message is 1 to {MAX_TEXT} characters"),
                None,
            ))
            .await;
            return Ok(());
        }
        let decision = self
            .chat
            .store
            .rate_limit::<SendLimit>(&self.user)
            .allow(1)
            .await?;
        if !decision.allowed {
            let wait = decision.retry_after.unwrap_or_default();
            self.say(refuse(
                "rate_limited",
                "too many messages; wait a moment".to_owned(),
                Some(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1)),
            ))
            .await;
            return Ok(());
        }
        let event = RoomEvent::Message {
            from: self.user.clone(),
            text,
            client_id: client_id.clone(),
        };
        let id = self
            .chat
            .store
            .stream::<RoomLog>(&room)
            .append(&event)
            .await?;
        self.say(ServerFrame::Sent {
            room,
            id,
            client_id,
        })
        .await;
        Ok(())
    }

    async fn typing(&mut self, room: RoomName) -> redis_runtime::Result<()> {
        if self.followers.contains_key(&room) {
            let typing = Typing {
                user: self.user.clone(),
            };
            self.chat
                .store
                .channel::<RoomTyping>(&room)
                .publish(&typing)
                .await?;
        }
        Ok(())
    }

    async fn close(&mut self) {
        for (_, follower) in self.followers.drain() {
            follower.abort();
        }
        // The user stays online while another connection of theirs, on any
        // instance, is live.
        let store = &self.chat.store;
        let connections = store.sorted_set::<UserConnections>(&self.user);
        let cleared = async {
            connections.remove(&self.id).await?;
            let live = connections
                .count(Bound::Exclusive(now_ms()), Bound::Unbounded)
                .await?;
            if live == 0 {
                store.delete::<Presence>(&self.user).await?;
            }
            Ok::<_, redis_runtime::Error>(())
        };
        if let Err(error) = cleared.await {
            eprintln!(
                "chat: clearing the presence of {} failed: {error}",
                self.user
            );
        }
    }
}

/// The id just before `id`: `after(before(id))` starts at `id`.
fn before(id: EntryId) -> EntryId {
    if id.seq() > 0 {
        EntryId::new(id.ms(), id.seq() - 1)
    } else if id.ms() > 0 {
        EntryId::new(id.ms() - 1, u64::MAX)
    } else {
        EntryId::ZERO
    }
}

/// Sends one room's events to one client: first what it missed (from the
/// stream), then the hub's live entries, never one at or below the last it
/// sent.
struct Follower {
    store: Store,
    room: RoomName,
    me: UserName,
    outbox: mpsc::Sender<ServerFrame>,
    last: EntryId,
}

impl Follower {
    async fn run(
        mut self,
        mut subscription: RoomSubscription,
        mut typing: broadcast::Receiver<(RoomName, UserName)>,
    ) {
        if self.catch_up().await.is_err() {
            return;
        }
        if self
            .outbox
            .send(ServerFrame::Live {
                room: self.room.clone(),
            })
            .await
            .is_err()
        {
            return;
        }
        loop {
            let sent = tokio::select! {
                entry = subscription.entries.recv() => match entry {
                    Ok(entry) => self.forward(&entry).await,
                    // Fell behind the hub: the stream has what was dropped.
                    Err(broadcast::error::RecvError::Lagged(_)) => self.catch_up().await,
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                typed = typing.recv() => match typed {
                    Ok((room, user)) if room == self.room && user != self.me => self
                        .outbox
                        .send(ServerFrame::Typing { room, user })
                        .await
                        .map_err(|_| Gone),
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => Ok(()),
                    Err(broadcast::error::RecvError::Closed) => return,
                },
            };
            if sent.is_err() {
                return;
            }
        }
    }

    /// Sends every entry of the stream after `last`.
    async fn catch_up(&mut self) -> Result<(), Gone> {
        loop {
            let entries = loop {
                match self
                    .store
                    .stream::<RoomLog>(&self.room)
                    .after(self.last, HISTORY_BATCH)
                    .await
                {
                    Ok(entries) => break entries,
                    Err(error) => {
                        eprintln!("chat: reading room {} failed, retrying: {error}", self.room);
                        tokio::time::sleep(Duration::from_millis(250)).await;
                    }
                }
            };
            if entries.is_empty() {
                return Ok(());
            }
            for entry in entries {
                match entry.event {
                    Ok(event) => {
                        self.forward(&RoomEntry {
                            id: entry.id,
                            event,
                        })
                        .await?
                    }
                    Err(error) => {
                        eprintln!(
                            "chat: entry {} of room {} skipped: {error}",
                            entry.id, self.room
                        );
                        self.last = entry.id;
                    }
                }
            }
        }
    }

    async fn forward(&mut self, entry: &RoomEntry) -> Result<(), Gone> {
        if entry.id <= self.last {
            return Ok(()); // already sent
        }
        self.last = entry.id;
        self.outbox
            .send(ServerFrame::Event {
                room: self.room.clone(),
                id: entry.id,
                event: entry.event.clone(),
            })
            .await
            .map_err(|_| Gone)
    }
}

/// The client's connection closed.
struct Gone;

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use redis_runtime::stream::EntryId;
    use tokio::sync::{mpsc, watch};

    use super::{Follower, before};
    use crate::hub::Hub;
    use crate::model::{RoomEvent, RoomLog, RoomName, UserName};
    use crate::protocol::ServerFrame;
    use crate::tests::{Redis, within};

    #[test]
    fn before_is_the_largest_id_below() {
        assert_eq!(before(EntryId::new(5, 3)), EntryId::new(5, 2));
        assert_eq!(before(EntryId::new(5, 0)), EntryId::new(4, u64::MAX));
        assert_eq!(before(EntryId::ZERO), EntryId::ZERO);
    }

    /// An entry appended after a follower subscribed but before it read the
    /// history reaches it twice, from the stream and from the hub: the
    /// client sees it once, then the next one.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_entry_both_read_and_heard_is_sent_once() {
        let redis = Redis::start(false);
        let store = redis.store().await;
        let hub = Hub::new(store.clone(), "test".to_owned());
        let (stop, stopped) = watch::channel(false);
        let tail = tokio::spawn(Arc::clone(&hub).tail(stopped));
        let room = RoomName::try_from("lobby".to_owned()).unwrap();
        let ada = UserName::try_from("ada".to_owned()).unwrap();
        let said = |text: &str| RoomEvent::Message {
            from: ada.clone(),
            text: text.to_owned(),
            client_id: None,
        };
        let subscription = hub.subscribe(&room).await.unwrap();
        let mut witness = hub.subscribe(&room).await.unwrap();
        let stream = store.stream::<RoomLog>(&room);
        let first = stream.append(&said("one")).await.unwrap();
        // The hub has handed it out: it waits in the subscription too.
        let heard = within("the hub", witness.entries.recv()).await.unwrap();
        assert_eq!(heard.id, first);

        let (outbox, mut frames) = mpsc::channel(16);
        let follower = Follower {
            store: store.clone(),
            room: room.clone(),
            me: ada.clone(),
            outbox,
            last: EntryId::ZERO,
        };
        let task = tokio::spawn(follower.run(subscription, hub.typing()));
        let mut next = async || within("a frame", frames.recv()).await.unwrap();
        assert_eq!(
            next().await,
            ServerFrame::Event {
                room: room.clone(),
                id: first,
                event: said("one"),
            }
        );
        assert_eq!(next().await, ServerFrame::Live { room: room.clone() });
        let second = stream.append(&said("two")).await.unwrap();
        assert_eq!(
            next().await,
            ServerFrame::Event {
                room: room.clone(),
                id: second,
                event: said("two"),
            }
        );
        task.abort();
        stop.send(true).unwrap();
        within("the tail to stop", tail).await.unwrap();
    }
}
