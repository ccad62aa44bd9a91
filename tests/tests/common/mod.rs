//! Models and helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub, unused_imports, unused_macros)]

use redis_runtime::{
    KeyPart, RedisCounter, RedisList, RedisMap, RedisModel, RedisSet, RedisSortedSet, keyspace,
};
use redis_runtime::{RedisChannel, RedisLock, RedisRateLimit, RedisStream};
use serde::{Deserialize, Serialize};

/// A tenant id newtype used as a key part.
#[derive(Debug, Clone, PartialEq, Eq, Hash, KeyPart)]
pub struct TenantId(pub String);

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Prefs {
    pub theme: String,
    pub langs: Vec<String>,
}

/// The example model: two placeholders, a hash tag, a TTL, a JSON field.
#[derive(Debug, Clone, PartialEq, RedisModel)]
#[redis(key = "tenant:{tenant}:user:{id}", hash_tag = "tenant", ttl = "30d")]
pub struct User {
    pub tenant: TenantId,
    pub id: u64,
    pub email: String,
    pub name: Option<String>,
    #[redis(json)]
    pub prefs: Prefs,
    pub logins: i64,
}

impl User {
    pub fn sample(tenant: &str, id: u64) -> User {
        User {
            tenant: TenantId(tenant.into()),
            id,
            email: format!("user{id}@example.com"),
            name: Some(format!("User {id}")),
            prefs: Prefs {
                theme: "dark".into(),
                langs: vec!["en".into(), "fr".into()],
            },
            logins: 0,
        }
    }

    pub fn key_id(&self) -> UserId {
        UserId {
            tenant: self.tenant.clone(),
            id: self.id,
        }
    }
}

/// A JSON-encoded model with a TTL.
#[derive(Debug, Clone, PartialEq, RedisModel, Serialize, Deserialize)]
#[redis(key = "session:{token}", encoding = "json", ttl = "30m")]
pub struct Session {
    pub token: String,
    pub user: u64,
    pub scopes: Vec<String>,
}

/// A MessagePack-encoded model without a TTL.
#[derive(Debug, Clone, PartialEq, RedisModel, Serialize, Deserialize)]
#[redis(key = "event:{stream}:{seq}", encoding = "msgpack")]
pub struct Event {
    pub stream: String,
    pub seq: u64,
    pub kind: String,
    pub payload: Vec<u8>,
}

/// A hash model exercising field attributes, without a TTL.
#[derive(Debug, Clone, PartialEq, RedisModel)]
#[redis(key = "profile:{id}", deny_unknown_fields)]
pub struct Profile {
    pub id: uuid::Uuid,
    #[redis(rename = "display_name")]
    pub name: String,
    #[redis(default)]
    pub visits: u32,
    pub level: u8,
    pub score: f64,
    pub active: bool,
    #[redis(json)]
    pub tags: Option<Vec<String>>,
    #[redis(skip)]
    pub cached: Vec<String>,
}

/// A counter with narrow integer fields.
#[derive(Debug, Clone, PartialEq, RedisModel)]
#[redis(key = "counter:{name}", ttl = "1h")]
pub struct Counter {
    pub name: String,
    pub small: u8,
    pub signed: i16,
    pub big: i64,
}

/// The members of a team: a set per team, tagged by org so that the teams
/// of one org share a slot (moves and set algebra between them).
#[derive(RedisSet)]
#[redis(key = "org:{org}:team:{team}:members", hash_tag = "org", member = u64, ttl = "1h")]
pub struct TeamMembers {
    pub org: TenantId,
    pub team: String,
}

/// A set of serde members, without a TTL.
#[derive(RedisSet)]
#[redis(key = "tags:{item}", member = Prefs, json)]
pub struct PrefSets {
    pub item: u64,
}

/// A leaderboard: a sorted set of key-part members with integer scores.
#[derive(RedisSortedSet)]
#[redis(key = "board:{game}", member = String, score = u64, ttl = "1h")]
pub struct Board {
    pub game: String,
}

/// A sorted set with float scores and newtype members.
#[derive(RedisSortedSet)]
#[redis(key = "load:{pool}", member = TenantId, score = f64)]
pub struct Load {
    pub pool: String,
}

/// A fixed-window rate limit: a counter with a TTL.
#[derive(RedisCounter)]
#[redis(key = "limit:{user}", ttl = "1h")]
pub struct Hits {
    pub user: u64,
}

/// A counter without a TTL, with two placeholders.
#[derive(RedisCounter)]
#[redis(key = "views:{page}:{day}")]
pub struct Views {
    pub page: String,
    pub day: u32,
}

/// A line of a room's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    pub from: u64,
    pub text: String,
}

/// A capped history: a list per room keeping the newest 100 lines.
#[derive(RedisList)]
#[redis(key = "room:{room}:history", item = Line, cap = 100, ttl = "1h")]
pub struct History {
    pub room: String,
}

/// A job of the reliable queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub id: u64,
    pub payload: String,
}

/// A reliable queue: items are taken into a per-consumer in-flight list
/// (`JobsInFlight`) in the same slot.
#[derive(RedisList)]
#[redis(key = "jobs:{queue}", hash_tag = "queue", item = Job, queue)]
pub struct Jobs {
    pub queue: String,
}

/// Read markers: a map per room from user id to the last message read.
#[derive(RedisMap)]
#[redis(key = "room:{room}:read", field = u64, value = i64, ttl = "1d")]
pub struct ReadMarks {
    pub room: String,
}

/// A map with serde values and newtype fields.
#[derive(RedisMap)]
#[redis(key = "prefs:{org}", field = TenantId, value = Prefs, json)]
pub struct OrgPrefs {
    pub org: String,
}

/// A lease per room, tagged by room: its fence key shares the tag.
#[derive(RedisLock)]
#[redis(key = "room:{room}:lock", hash_tag = "room", ttl = "2s")]
pub struct RoomLock {
    pub room: String,
}

/// A lease without a hash tag: its fence key carries a tag that hashes to
/// the lease key's slot.
#[derive(RedisLock)]
#[redis(key = "job:{job}:lock", ttl = "1s")]
pub struct JobLock {
    pub job: u64,
}

/// A fixed-window rate limit: 5 per 2 s.
#[derive(RedisRateLimit)]
#[redis(key = "rl:fixed:{client}", limit = 5, per = "2s", algorithm = "fixed")]
pub struct FixedLimit {
    pub client: String,
}

/// A sliding-window rate limit: at most 5 in any 2 s.
#[derive(RedisRateLimit)]
#[redis(
    key = "rl:sliding:{client}",
    limit = 5,
    per = "2s",
    algorithm = "sliding"
)]
pub struct SlidingLimit {
    pub client: String,
}

/// A GCRA rate limit: 5 per 2 s (one per 400 ms), bursts of 5.
#[derive(RedisRateLimit)]
#[redis(key = "rl:gcra:{client}", limit = 5, per = "2s", algorithm = "gcra")]
pub struct GcraLimit {
    pub client: String,
}

/// A GCRA rate limit with a burst below its limit: 10 per second (one per
/// 100 ms), at most 3 at once.
#[derive(RedisRateLimit)]
#[redis(
    key = "rl:burst:{client}",
    limit = 10,
    per = "1s",
    algorithm = "gcra",
    burst = 3
)]
pub struct BurstLimit {
    pub client: String,
}

/// A model with a version field, a unique field, an index and a range
/// index: every write keeps them together (`coordination.rs`).
#[derive(Debug, Clone, PartialEq, RedisModel)]
#[redis(key = "org:{org}:member:{id}", hash_tag = "org", ttl = "30d")]
pub struct Member {
    pub org: TenantId,
    pub id: u64,
    #[redis(unique)]
    pub email: String,
    #[redis(index)]
    pub role: String,
    #[redis(index(range))]
    pub joined: i64,
    #[redis(version)]
    pub version: u64,
    #[redis(index)]
    pub team: Option<String>,
    pub score: i64,
}

impl Member {
    pub fn sample(org: &str, id: u64) -> Member {
        Member {
            org: TenantId(org.into()),
            id,
            email: format!("m{id}@{org}.example"),
            role: "member".into(),
            joined: id as i64 * 10,
            version: 0,
            team: None,
            score: 0,
        }
    }

    pub fn key_id(&self) -> MemberId {
        MemberId {
            org: self.org.clone(),
            id: self.id,
        }
    }
}

/// The events of a room: an enum of variants, as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RoomEvent {
    Said { user: u64, text: String },
    Left { user: u64 },
}

/// One event stream per room, trimmed to about 1000 entries.
#[derive(RedisStream)]
#[redis(key = "room:{room}:events", hash_tag = "room", event = RoomEvent, maxlen = "~1000")]
pub struct RoomEvents {
    pub room: String,
}

/// A per-user mailbox stream that expires when idle; no hash tag, so its
/// dead-letter and processed keys carry a slot tag.
#[derive(RedisStream)]
#[redis(key = "mailbox:{user}", event = RoomEvent, maxlen = "50", ttl = "1h")]
pub struct Mailbox {
    pub user: u64,
}

/// Typing indicators per room, over pub/sub.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Typing {
    pub user: u64,
}

#[derive(RedisChannel)]
#[redis(channel = "room:{room}:typing", message = Typing)]
pub struct RoomTyping {
    pub room: String,
}

keyspace! {
    /// Every model of the integration tests.
    pub TEST_MODELS = [
        User, Session, Event, Profile, Counter, TeamMembers, PrefSets, Board, Load, Hits, Views,
        History, Jobs, JobsInFlight, ReadMarks, OrgPrefs, Member,
        RoomLock, RoomLockFence, JobLock, JobLockFence,
        FixedLimit, SlidingLimit, GcraLimit, BurstLimit,
        RoomEvents, RoomEventsDeadLetter, RoomEventsProcessed,
        Mailbox, MailboxDeadLetter, MailboxProcessed, RoomTyping,
    ];
}

pub mod capture;
pub mod every;
pub mod proxy;
mod server;
mod topology;
pub use server::*;
pub use topology::*;
