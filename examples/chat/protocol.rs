//! The WebSocket protocol: JSON text frames, one object each, tagged by
//! `type`.
//!
//! A client opens `/ws?token=…` with the token `POST /api/login` gave it;
//! the server greets it with `welcome` (its rooms). Then:
//!
//! | client sends | server answers |
//! |---|---|
//! | `join {room, after?}` | `joined {room, members, online, talkers}`, then every `event` of the room after `after` (without it, the last 50), then `live {room}`, then each new `event` as it happens |
//! | `send {room, text, client_id?}` | `sent {room, id, client_id}`, or `error {code: "rate_limited", retry_after_ms}` |
//! | `typing {room}` | the room's other clients get `typing {room, user}` |
//! | `leave {room}` | `left {room}` |
//!
//! An `event` carries its entry id. A client that reconnects joins with the
//! last id it saw as `after` and gets every event it missed, in order, and
//! none it already had: ids only grow, per room.

use redis_runtime::stream::EntryId;
use serde::{Deserialize, Serialize};

use crate::model::{RoomEvent, RoomName, UserName};

/// What a client sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum ClientFrame {
    /// Join a room (or follow it again after a reconnect).
    Join {
        room: RoomName,
        /// The last entry id this client saw in the room.
        #[serde(default)]
        after: Option<EntryId>,
    },
    /// Leave a room.
    Leave { room: RoomName },
    /// Say something in a joined room.
    Send {
        room: RoomName,
        text: String,
        /// The client's own id for the message, echoed in `sent` and in the
        /// event.
        #[serde(default)]
        client_id: Option<String>,
    },
    /// The user is typing in a joined room.
    Typing { room: RoomName },
}

/// What the server sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum ServerFrame {
    /// The connection is open as `user`, on instance `instance`.
    Welcome {
        user: UserName,
        instance: String,
        /// The rooms the user is in.
        rooms: Vec<RoomName>,
    },
    /// The answer to `join`: who is in the room, who of them is online,
    /// and who said most there (messages counted so far, most first).
    Joined {
        room: RoomName,
        members: Vec<UserName>,
        online: Vec<UserName>,
        talkers: Vec<(UserName, u64)>,
    },
    /// Something that happened in a room, with its entry id (its
    /// milliseconds are the server's clock when it was appended).
    Event {
        room: RoomName,
        id: EntryId,
        event: RoomEvent,
    },
    /// The history a `join` asked for has been sent; events from here on
    /// are live.
    Live { room: RoomName },
    /// A `send` was appended as entry `id`.
    Sent {
        room: RoomName,
        id: EntryId,
        client_id: Option<String>,
    },
    /// Someone else in the room is typing.
    Typing { room: RoomName, user: UserName },
    /// The answer to `leave`.
    Left { room: RoomName },
    /// A frame was refused.
    Error {
        /// `bad_frame`, `not_joined`, `rate_limited`, `too_long`, `unavailable`.
        code: String,
        message: String,
        #[serde(default)]
        retry_after_ms: Option<u64>,
        #[serde(default)]
        client_id: Option<String>,
    },
}

impl ServerFrame {
    pub(crate) fn error(code: &str, message: impl Into<String>) -> ServerFrame {
        ServerFrame::Error {
            code: code.to_owned(),
            message: message.into(),
            retry_after_ms: None,
            client_id: None,
        }
    }
}
