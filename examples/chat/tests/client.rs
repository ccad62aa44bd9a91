//! A test client of the service: an HTTP login, then a real WebSocket
//! (tokio-tungstenite) speaking the protocol's frames.

use std::collections::VecDeque;

use futures_util::{SinkExt, StreamExt};
use redis_runtime::stream::EntryId;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::within;
use crate::model::{RoomEvent, RoomName};
use crate::protocol::{ClientFrame, ServerFrame};

/// `POST {base}/api/login` with `name`: the status and the JSON body.
pub(crate) async fn post_login(base: &str, name: &str) -> (u16, serde_json::Value) {
    let addr = base.strip_prefix("http://").expect("an http:// URL");
    let body = serde_json::json!({ "name": name }).to_string();
    let mut stream = TcpStream::connect(addr)
        .await
        .expect("the instance answers");
    let request = format!(
        "POST /api/login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    within("the login response", stream.read_to_string(&mut response))
        .await
        .unwrap();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("an HTTP status line");
    let (_, body) = response.split_once("\r\n\r\n").expect("a body");
    (status, serde_json::from_str(body).expect("a JSON body"))
}

/// `GET {base}{path}`: the status and the body.
pub(crate) async fn get(base: &str, path: &str) -> (u16, String) {
    let addr = base.strip_prefix("http://").expect("an http:// URL");
    let mut stream = TcpStream::connect(addr)
        .await
        .expect("the instance answers");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    within("the GET response", stream.read_to_string(&mut response))
        .await
        .unwrap();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("an HTTP status line");
    let (_, body) = response.split_once("\r\n\r\n").expect("a body");
    (status, body.to_owned())
}

/// Logs `name` in through `base`: the session token.
pub(crate) async fn login(base: &str, name: &str) -> String {
    let (status, body) = post_login(base, name).await;
    assert_eq!(status, 200, "login of {name}: {body}");
    body["token"].as_str().expect("a token").to_owned()
}

/// `ws://…/ws?token=…`
pub(crate) fn ws_url(base: &str, token: &str) -> String {
    format!("{}/ws?token={token}", base.replacen("http://", "ws://", 1))
}

/// What a `join` brought.
pub(crate) struct Joined {
    /// The members online when it joined.
    pub(crate) online: Vec<String>,
    /// The room's top talkers then.
    pub(crate) talkers: Vec<(String, u64)>,
    /// The history it was sent, oldest first.
    pub(crate) history: Vec<(EntryId, RoomEvent)>,
}

/// One WebSocket connection of a logged-in user.
pub(crate) struct Client {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub(crate) instance: String,
    /// Events that arrived while waiting for another frame (an ack, the
    /// end of a join), for [`Client::next_event`].
    events: VecDeque<(RoomName, EntryId, RoomEvent)>,
}

impl Client {
    /// Connects with `token` and reads the `welcome`.
    pub(crate) async fn connect(base: &str, token: &str) -> Client {
        let (socket, _) = within(
            "the WebSocket handshake",
            tokio_tungstenite::connect_async(ws_url(base, token)),
        )
        .await
        .expect("the WebSocket opens");
        let mut client = Client {
            socket,
            instance: String::new(),
            events: VecDeque::new(),
        };
        match client.next().await {
            ServerFrame::Welcome { instance, .. } => client.instance = instance,
            other => panic!("expected welcome, got {other:?}"),
        }
        client
    }

    /// Logs `name` in through `base` and connects.
    pub(crate) async fn login(base: &str, name: &str) -> Client {
        let token = login(base, name).await;
        Client::connect(base, &token).await
    }

    pub(crate) async fn send(&mut self, frame: &ClientFrame) {
        let text = serde_json::to_string(frame).unwrap();
        self.socket
            .send(Message::text(text))
            .await
            .expect("the frame is sent");
    }

    /// The next frame; fails the test after [`super::PATIENCE`].
    pub(crate) async fn next(&mut self) -> ServerFrame {
        loop {
            let message = within("a frame from the server", self.socket.next())
                .await
                .expect("the WebSocket is open")
                .expect("a WebSocket message");
            match message {
                Message::Text(text) => {
                    return serde_json::from_str(&text)
                        .unwrap_or_else(|e| panic!("an unknown frame {text}: {e}"));
                }
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("expected a text frame, got {other:?}"),
            }
        }
    }

    /// Joins `room` (resuming after `after`): who was online, and the
    /// events of the history up to `live`.
    pub(crate) async fn join(&mut self, room: &str, after: Option<EntryId>) -> Joined {
        let room = room_name(room);
        self.send(&ClientFrame::Join {
            room: room.clone(),
            after,
        })
        .await;
        let mut joined = Joined {
            online: Vec::new(),
            talkers: Vec::new(),
            history: Vec::new(),
        };
        loop {
            match self.next().await {
                ServerFrame::Joined {
                    room: r,
                    online,
                    talkers,
                    ..
                } if r == room => {
                    joined.online = online.iter().map(|u| u.to_string()).collect();
                    joined.talkers = talkers.iter().map(|(u, n)| (u.to_string(), *n)).collect();
                }
                ServerFrame::Event { room: r, id, event } if r == room => {
                    joined.history.push((id, event));
                }
                ServerFrame::Live { room: r } if r == room => return joined,
                // Other rooms' events and typing indicators may interleave.
                ServerFrame::Event { room, id, event } => self.events.push_back((room, id, event)),
                ServerFrame::Typing { .. } => {}
                other => panic!("unexpected frame while joining {room}: {other:?}"),
            }
        }
    }

    /// Says `text` in `room` and returns the id it was appended as, or the
    /// error frame.
    pub(crate) async fn say(&mut self, room: &str, text: &str) -> Result<EntryId, ServerFrame> {
        let room = room_name(room);
        let client_id = format!("c-{text}");
        self.send(&ClientFrame::Send {
            room: room.clone(),
            text: text.to_owned(),
            client_id: Some(client_id.clone()),
        })
        .await;
        loop {
            match self.next().await {
                ServerFrame::Sent {
                    id, client_id: c, ..
                } if c.as_deref() == Some(&client_id) => return Ok(id),
                error @ ServerFrame::Error { .. } => return Err(error),
                // Events of joined rooms keep coming meanwhile.
                ServerFrame::Event { room, id, event } => self.events.push_back((room, id, event)),
                ServerFrame::Typing { .. } => {}
                other => panic!("unexpected frame after a send: {other:?}"),
            }
        }
    }

    /// The next event, skipping typing indicators and acks.
    pub(crate) async fn next_event(&mut self) -> (RoomName, EntryId, RoomEvent) {
        if let Some(event) = self.events.pop_front() {
            return event;
        }
        loop {
            match self.next().await {
                ServerFrame::Event { room, id, event } => return (room, id, event),
                ServerFrame::Typing { .. }
                | ServerFrame::Sent { .. }
                | ServerFrame::Live { .. } => {}
                other => panic!("expected an event, got {other:?}"),
            }
        }
    }

    /// Closes the connection (a clean close, as a browser tab would).
    pub(crate) async fn close(mut self) {
        let _ = self.socket.close(None).await;
    }
}

pub(crate) fn room_name(room: &str) -> RoomName {
    RoomName::try_from(room.to_owned()).expect("a valid room name")
}

/// The text of a message event, `None` for joins and leaves.
pub(crate) fn text(event: &RoomEvent) -> Option<&str> {
    match event {
        RoomEvent::Message { text, .. } => Some(text),
        _ => None,
    }
}
