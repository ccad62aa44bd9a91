//! Everything the chat service keeps in Redis, each declared once.

use std::fmt;

use redis_runtime::{
    KeyPart, RedisChannel, RedisModel, RedisRateLimit, RedisSet, RedisSortedSet, RedisStream,
    keyspace,
};
use serde::{Deserialize, Serialize};

/// A user's name, which is also their id: 1 to 32 ASCII letters, digits,
/// `-` or `_`. Checked where it enters the service (login), so that every
/// name in a key, an event or a frame is one a person could type.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, KeyPart, Serialize, Deserialize)]
#[serde(try_from = "String")]
pub(crate) struct UserName(String);

/// A room's name: the same rules as a user's.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, KeyPart, Serialize, Deserialize)]
#[serde(try_from = "String")]
pub(crate) struct RoomName(String);

/// A name that is empty, too long, or has a character outside `A-Z a-z 0-9 - _`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InvalidName;

impl fmt::Display for InvalidName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a name is 1 to 32 letters, digits, `-` or `_`")
    }
}

fn check_name(name: &str) -> Result<(), InvalidName> {
    let ok = (1..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok { Ok(()) } else { Err(InvalidName) }
}

macro_rules! name_type {
    ($name:ident) => {
        impl TryFrom<String> for $name {
            type Error = InvalidName;
            fn try_from(name: String) -> Result<Self, InvalidName> {
                check_name(&name)?;
                Ok($name(name))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}
name_type!(UserName);
name_type!(RoomName);

/// A user: created at their first login, kept 30 days after the last.
#[derive(Debug, Clone, PartialEq, RedisModel)]
#[redis(key = "user:{name}", ttl = "30d")]
pub(crate) struct User {
    pub(crate) name: UserName,
    /// When they first logged in (Unix milliseconds).
    pub(crate) created_ms: u64,
    pub(crate) logins: i64,
}

/// A login session: the bearer token a client opens its WebSocket with.
/// Every use slides its TTL (`get_and_refresh`).
#[derive(Debug, Clone, PartialEq, RedisModel, Serialize, Deserialize)]
#[redis(key = "session:{token}", encoding = "json", ttl = "1d")]
pub(crate) struct Session {
    pub(crate) token: String,
    pub(crate) user: UserName,
}

/// Who is in a room: joining adds, leaving removes.
#[derive(RedisSet)]
#[redis(key = "room:{room}:members", hash_tag = "room", member = UserName)]
pub(crate) struct RoomMembers {
    pub(crate) room: RoomName,
}

/// The rooms a user is in, so that every client of theirs shows the same.
#[derive(RedisSet)]
#[redis(key = "user:{user}:rooms", member = RoomName)]
pub(crate) struct UserRooms {
    pub(crate) user: UserName,
}

/// A user is online while this exists: every connection of theirs saves it
/// on a heartbeat, the last one to close deletes it, and it expires 30 s
/// after the last heartbeat (a crashed instance leaves no one online for
/// long).
#[derive(Debug, Clone, PartialEq, RedisModel)]
#[redis(key = "presence:{user}", ttl = "30s")]
pub(crate) struct Presence {
    pub(crate) user: UserName,
    /// The instance that saved it last.
    pub(crate) instance: String,
}

/// A user's open connections, on every instance: a random id per
/// connection, scored with when it lapses (its last heartbeat plus 30 s).
/// The connection that closes last, wherever it is, takes the user's
/// `Presence` with it. Each heartbeat re-arms the TTL.
#[derive(RedisSortedSet)]
#[redis(key = "presence:{user}:connections", member = String, score = u64, ttl = "1d")]
pub(crate) struct UserConnections {
    pub(crate) user: UserName,
}

/// Messages per user: 10 a second on average, bursts of 20 (GCRA, on the
/// server's clock, so every instance agrees).
#[derive(RedisRateLimit)]
#[redis(
    key = "limit:send:{user}",
    limit = 10,
    per = "1s",
    algorithm = "gcra",
    burst = 20
)]
pub(crate) struct SendLimit {
    pub(crate) user: UserName,
}

/// What happens in a room, in the order it happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum RoomEvent {
    /// Someone said something. `client_id` is the sender's own id for the
    /// message, so their client can match its echo.
    Message {
        from: UserName,
        text: String,
        client_id: Option<String>,
    },
    /// Someone joined the room.
    Joined { user: UserName },
    /// Someone left the room.
    Left { user: UserName },
}

/// A room's history: every instance appends to it and tails it, and a
/// client that reconnects resumes from the last id it saw. Trimmed to about
/// 10 000 entries.
#[derive(RedisStream)]
#[redis(
    key = "room:{room}:log",
    hash_tag = "room",
    event = RoomEvent,
    maxlen = "~10000"
)]
pub(crate) struct RoomLog {
    pub(crate) room: RoomName,
}

/// Messages per user in a room, counted by the `tally` consumer group of
/// the room's log ([`crate::tally`]).
#[derive(RedisSortedSet)]
#[redis(key = "room:{room}:talkers", hash_tag = "room", member = UserName, score = u64)]
pub(crate) struct RoomTalkers {
    pub(crate) room: RoomName,
}

/// Someone is typing: shown for a few seconds, never stored, and losing one
/// costs nothing (pub/sub is at most once).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Typing {
    pub(crate) user: UserName,
}

/// The typing indicators of a room.
#[derive(RedisChannel)]
#[redis(channel = "room:{room}:typing", message = Typing)]
pub(crate) struct RoomTyping {
    pub(crate) room: RoomName,
}

keyspace! {
    /// Every key and channel the chat service uses.
    pub(crate) CHAT = [
        User, Session, RoomMembers, UserRooms, Presence, UserConnections, SendLimit,
        RoomLog, RoomLogDeadLetter, RoomLogProcessed, RoomTalkers, RoomTyping,
    ];
}

/// The namespace the chat's keys live under.
pub(crate) const NAMESPACE: &str = "chat";
