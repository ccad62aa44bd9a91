//! The benchmark fixtures (`BENCHMARKS.md`, Method: fixtures): the 8-field
//! user (M8, about 100 bytes) as a hash, as JSON and as MessagePack, and a
//! 32-field account (M32, about 1.2 KB) as a hash with nested `#[redis(json)]`
//! fields; plus the same user declared for the peer crates, and one family of
//! each collection kind (set, sorted set, counter, map).

use std::collections::BTreeMap;

use redis_runtime::{RedisCounter, RedisMap, RedisModel, RedisSet, RedisSortedSet};
use serde::{Deserialize, Serialize};

/// The TTL of [`User`], [`UserJson`], [`UserMsgpack`] and [`UserCodec`] (`ttl = "1h"`), in milliseconds.
pub const USER_TTL_MS: u64 = 3_600_000;
/// The TTL of [`Account`] (`ttl = "1d"`), in milliseconds.
pub const ACCOUNT_TTL_MS: u64 = 86_400_000;
/// The tenant every [`Account`] fixture belongs to.
pub const TENANT: &str = "acme";

/// Declares one variant of the M8 user: the same eight fields (`id` of type
/// `u64` or `String`, with optional attributes on `tags`) and its `sample`.
macro_rules! m8_user {
    (
        $(#[$($attr:tt)*])*
        pub struct $name:ident { id: $id:ident, $(#[$($tags_attr:tt)*])* tags }
    ) => {
        $(#[$($attr)*])*
        pub struct $name {
            pub id: $id,
            pub name: String,
            pub email: String,
            pub age: u32,
            pub score: f64,
            pub active: bool,
            pub created: i64,
            $(#[$($tags_attr)*])*
            pub tags: Vec<String>,
        }

        impl $name {
            /// The fixture with id `n`.
            pub fn sample(n: u64) -> $name {
                $name {
                    id: FixtureId::from_number(n),
                    name: format!("User {n}"),
                    email: format!("user{n}@example.com"),
                    age: 20 + (n % 50) as u32,
                    score: n as f64 * 0.25 + 0.5,
                    active: !n.is_multiple_of(3),
                    created: 1_700_000_000_000 + n as i64,
                    tags: vec!["rust".to_owned(), "redis".to_owned()],
                }
            }
        }
    };
}

/// An M8 id made from a fixture number (the peer `redis-om` wants `String` ids).
trait FixtureId {
    fn from_number(n: u64) -> Self;
}

impl FixtureId for u64 {
    fn from_number(n: u64) -> u64 {
        n
    }
}

impl FixtureId for String {
    fn from_number(n: u64) -> String {
        n.to_string()
    }
}

m8_user! {
    /// M8: the 8-field user (`BENCHMARKS.md`, Method: fixtures), one hash per user.
    #[derive(Debug, Clone, PartialEq, RedisModel)]
    #[redis(key = "bench:user:{id}", ttl = "1h")]
    pub struct User { id: u64, #[redis(json)] tags }
}

m8_user! {
    /// M8 stored as one JSON string.
    #[derive(Debug, Clone, PartialEq, RedisModel, Serialize, Deserialize)]
    #[redis(key = "bench:userj:{id}", encoding = "json", ttl = "1h")]
    pub struct UserJson { id: u64, tags }
}

m8_user! {
    /// M8 stored as one MessagePack string (with field names).
    #[derive(Debug, Clone, PartialEq, RedisModel, Serialize, Deserialize)]
    #[redis(key = "bench:userm:{id}", encoding = "msgpack", ttl = "1h")]
    pub struct UserMsgpack { id: u64, tags }
}

/// A custom value codec (`#[redis(codec = ...)]`): MessagePack as arrays,
/// without field names (`rmp_serde::to_vec`), the compact layout a team's
/// existing data might be in and neither built-in encoding writes.
pub struct CompactMsgpack;

impl<T> redis_runtime::codec::ValueCodec<T> for CompactMsgpack
where
    T: Serialize + serde::de::DeserializeOwned,
{
    const NAME: &'static str = "msgpack-compact";
    type Error = String;

    fn encode(value: &T) -> Result<Vec<u8>, String> {
        rmp_serde::to_vec(value).map_err(|e| e.to_string())
    }

    fn decode(bytes: &[u8]) -> Result<T, String> {
        rmp_serde::from_slice(bytes).map_err(|e| e.to_string())
    }
}

m8_user! {
    /// M8 stored as one string by a custom codec ([`CompactMsgpack`]).
    #[derive(Debug, Clone, PartialEq, RedisModel, Serialize, Deserialize)]
    #[redis(key = "bench:userc:{id}", codec = CompactMsgpack, ttl = "1h")]
    pub struct UserCodec { id: u64, tags }
}

m8_user! {
    /// M8 as a hash, declared `client_cache`: the keys of [`User`], read
    /// through the client cache (`bin/client_cache.rs`).
    #[derive(Debug, Clone, PartialEq, RedisModel)]
    #[redis(key = "bench:user:{id}", ttl = "1h", client_cache)]
    pub struct CachedUser { id: u64, #[redis(json)] tags }
}

m8_user! {
    /// M8 as JSON, declared `client_cache`: the keys of [`UserJson`].
    #[derive(Debug, Clone, PartialEq, RedisModel, Serialize, Deserialize)]
    #[redis(key = "bench:userj:{id}", encoding = "json", ttl = "1h", client_cache)]
    pub struct CachedUserJson { id: u64, tags }
}

m8_user! {
    /// M8 as MessagePack, declared `client_cache`: the keys of [`UserMsgpack`].
    #[derive(Debug, Clone, PartialEq, RedisModel, Serialize, Deserialize)]
    #[redis(key = "bench:userm:{id}", encoding = "msgpack", ttl = "1h", client_cache)]
    pub struct CachedUserMsgpack { id: u64, tags }
}

/// How many tenants the [`Member`] fixtures are spread over.
pub const TENANTS: u64 = 20;

/// M8T: the M8 user in a tenant, one hash per member, the tenant as the key's
/// hash tag (`bench:member:{t3}:42`): every member of a tenant lives in one
/// hash slot, and a batch over many tenants spans many slots (and, on a Redis
/// Cluster, every node). Fixture `n` is in tenant `t{n % 20}`, so 100
/// consecutive fixtures cover all 20 tenants, 5 members each.
#[derive(Debug, Clone, PartialEq, RedisModel)]
#[redis(key = "bench:member:{tenant}:{id}", hash_tag = "tenant", ttl = "1h")]
pub struct Member {
    pub tenant: String,
    pub id: u64,
    pub name: String,
    pub email: String,
    pub age: u32,
    pub score: f64,
    pub active: bool,
    pub created: i64,
    #[redis(json)]
    pub tags: Vec<String>,
}

impl Member {
    /// The tenant of fixture `n`.
    pub fn tenant_of(n: u64) -> String {
        format!("t{}", n % TENANTS)
    }

    /// The fixture with id `n`: [`User::sample`]'s values in tenant [`Member::tenant_of`].
    pub fn sample(n: u64) -> Member {
        let u = User::sample(n);
        Member {
            tenant: Member::tenant_of(n),
            id: u.id,
            name: u.name,
            email: u.email,
            age: u.age,
            score: u.score,
            active: u.active,
            created: u.created,
            tags: u.tags,
        }
    }
}

/// A postal address, stored as JSON inside [`Account`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Address {
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub region: String,
    pub postal_code: String,
    pub country: String,
}

/// Preferences, stored as JSON inside [`Account`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Preferences {
    pub theme: String,
    pub languages: Vec<String>,
    pub notifications: BTreeMap<String, bool>,
    pub page_size: u32,
}

/// M32: a 32-field account of about 1.2 KB, with two placeholders, a hash tag
/// and nested values as JSON hash fields.
#[derive(Debug, Clone, PartialEq, RedisModel)]
#[redis(key = "bench:account:{tenant}:{id}", hash_tag = "tenant", ttl = "1d")]
pub struct Account {
    pub tenant: String,
    pub id: u64,
    pub handle: String,
    pub display_name: String,
    pub email: String,
    pub phone: Option<String>,
    pub locale: String,
    pub timezone: String,
    pub plan: String,
    pub status: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_login_at: i64,
    pub login_count: u64,
    pub failed_logins: u32,
    pub balance_cents: i64,
    pub credit_limit_cents: i64,
    pub score: f64,
    pub rating: f32,
    pub verified: bool,
    pub mfa_enabled: bool,
    pub marketing_opt_in: bool,
    pub admin: bool,
    pub referrer: Option<String>,
    pub avatar_url: String,
    pub bio: String,
    pub last_ip: String,
    pub user_agent: String,
    pub signature: String,
    #[redis(json)]
    pub address: Address,
    #[redis(json)]
    pub preferences: Preferences,
    #[redis(json)]
    pub roles: Vec<String>,
}

m8_user! {
    /// The user as a `redis-macros` value: the same fields, serde JSON through
    /// `FromRedisValue`/`ToRedisArgs`, so it stores the same bytes as [`UserJson`].
    #[derive(
        Debug,
        Clone,
        PartialEq,
        Serialize,
        Deserialize,
        redis_macros::FromRedisValue,
        redis_macros::ToRedisArgs,
    )]
    pub struct UserMacros { id: u64, tags }
}

m8_user! {
    /// The user as a `redis-om` hash model (key `OmUser:{id}`; its primary key
    /// must be a `String`, and a `Vec` is stored as fields `tags.0`, `tags.1`, ...).
    #[derive(Debug, Clone, PartialEq, redis_om::HashModel)]
    pub struct OmUser { id: String, tags }
}

impl Account {
    /// The fixture with id `n`.
    pub fn sample(n: u64) -> Account {
        let mut notifications = BTreeMap::new();
        notifications.insert("email".to_owned(), true);
        notifications.insert("sms".to_owned(), n.is_multiple_of(2));
        notifications.insert("push".to_owned(), false);
        Account {
            tenant: TENANT.to_owned(),
            id: n,
            handle: format!("account_{n}"),
            display_name: format!("Account Holder Number {n}"),
            email: format!("account{n}@billing.example.com"),
            phone: (!n.is_multiple_of(4)).then(|| format!("+1-555-{:07}", n % 10_000_000)),
            locale: "en-GB".to_owned(),
            timezone: "Europe/London".to_owned(),
            plan: "business-annual".to_owned(),
            status: "active".to_owned(),
            created_at: 1_600_000_000_000 + n as i64,
            updated_at: 1_700_000_000_000 + n as i64,
            last_login_at: 1_710_000_000_000 + n as i64,
            login_count: n * 7,
            failed_logins: (n % 5) as u32,
            balance_cents: n as i64 * 1999 - 50_000,
            credit_limit_cents: 1_000_000,
            score: n as f64 / 3.0,
            rating: 4.5,
            verified: true,
            mfa_enabled: n % 2 == 1,
            marketing_opt_in: false,
            admin: n.is_multiple_of(100),
            referrer: n.is_multiple_of(3).then(|| "partner-network".to_owned()),
            avatar_url: format!("https://cdn.example.com/avatars/{n}/large.png"),
            bio: "Keeps the lights on for a small logistics company: invoices, \
                  shipments, the odd late-night incident. Likes typed data, \
                  boring deployments and dashboards that say nothing is wrong. \
                  Has strong opinions about retry policies, idempotency keys and \
                  the number of fields a customer record really needs."
                .to_owned(),
            last_ip: format!("10.{}.{}.{}", n % 256, (n / 256) % 256, (n / 65_536) % 256),
            user_agent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
                         Chrome/126.0 Safari/537.36"
                .to_owned(),
            signature: format!("-- \nAccount {n}\nSent from the billing portal"),
            address: Address {
                line1: format!("{} High Street", n % 500 + 1),
                line2: n.is_multiple_of(2).then(|| "Unit 4".to_owned()),
                city: "Manchester".to_owned(),
                region: "Greater Manchester".to_owned(),
                postal_code: "M1 1AE".to_owned(),
                country: "GB".to_owned(),
            },
            preferences: Preferences {
                theme: "dark".to_owned(),
                languages: vec!["en".to_owned(), "fr".to_owned(), "de".to_owned()],
                notifications,
                page_size: 50,
            },
            roles: vec!["billing".to_owned(), "support".to_owned()],
        }
    }
}

m8_user! {
    /// The user as a `redis-om` JSON model: stored with `JSON.SET`, which needs
    /// the RedisJSON module.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, redis_om::JsonModel)]
    pub struct OmUserJson { id: String, tags }
}

/// The TTL of [`Members`] (`ttl = "1h"`), in milliseconds.
pub const MEMBERS_TTL_MS: u64 = 3_600_000;
/// The window of [`Limit`] (`ttl = "1m"`), in milliseconds.
pub const LIMIT_TTL_MS: u64 = 60_000;

/// A set with a TTL: the user ids in a room. The add that creates the set
/// arms the TTL, so an add is one script: `SADD`, then `PEXPIRE NX`.
#[derive(RedisSet)]
#[redis(key = "bench:room:{room}:members", member = u64, ttl = "1h")]
pub struct Members {
    pub room: u64,
}

/// A sorted set without a TTL: a leaderboard per game.
#[derive(RedisSortedSet)]
#[redis(key = "bench:board:{game}", member = String, score = f64)]
pub struct Board {
    pub game: u64,
}

/// A counter with a TTL: a fixed-window rate limit per user
/// (`hit` is one script: `INCRBY`, `PEXPIRE NX`, `GET`, `PTTL`).
#[derive(RedisCounter)]
#[redis(key = "bench:limit:{user}", ttl = "1m")]
pub struct Limit {
    pub user: u64,
}

/// A map without a TTL: a hash whose field names are data.
#[derive(RedisMap)]
#[redis(key = "bench:marks:{room}", field = u64, value = i64)]
pub struct Marks {
    pub room: u64,
}

/// The TTL of the [`Staff0`], [`Staff1`] and [`Staff3`] families.
pub const STAFF_TTL_MS: u64 = 3_600_000;

/// Staff without indexes: a plain hash model, the 0-index save.
#[derive(Debug, Clone, PartialEq, RedisModel)]
#[redis(key = "bench:org:{org}:staff0:{id}", hash_tag = "org", ttl = "1h")]
pub struct Staff0 {
    pub org: u64,
    pub id: u64,
    pub email: String,
    pub role: String,
    pub joined: i64,
    pub name: String,
}

/// Staff with one index (`role`).
#[derive(Debug, Clone, PartialEq, RedisModel)]
#[redis(key = "bench:org:{org}:staff1:{id}", hash_tag = "org", ttl = "1h")]
pub struct Staff1 {
    pub org: u64,
    pub id: u64,
    pub email: String,
    #[redis(index)]
    pub role: String,
    pub joined: i64,
    pub name: String,
}

/// Staff with three: a unique `email`, an index on `role`, a range index on
/// `joined`.
#[derive(Debug, Clone, PartialEq, RedisModel)]
#[redis(key = "bench:org:{org}:staff3:{id}", hash_tag = "org", ttl = "1h")]
pub struct Staff3 {
    pub org: u64,
    pub id: u64,
    #[redis(unique)]
    pub email: String,
    #[redis(index)]
    pub role: String,
    #[redis(index(range))]
    pub joined: i64,
    pub name: String,
}

/// The staff fixture `n`: org `n % 10`, one of 4 roles.
macro_rules! staff_sample {
    ($name:ident) => {
        impl $name {
            /// The fixture with id `n`, in org `n % 10`.
            pub fn sample(n: u64) -> $name {
                $name {
                    org: n % 10,
                    id: n,
                    email: format!("staff{n}@example.com"),
                    role: format!("role{}", n % 4),
                    joined: 1_700_000_000 + n as i64,
                    name: format!("Staff {n}"),
                }
            }
        }
    };
}
staff_sample!(Staff0);
staff_sample!(Staff1);
staff_sample!(Staff3);

/// An order event, about 60 bytes of JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub id: u64,
    pub sku: String,
    pub qty: u32,
    pub cents: u64,
}

impl Order {
    /// The `n`th fixture order.
    pub fn sample(n: u64) -> Order {
        Order {
            id: n,
            sku: format!("sku-{:05}", n % 1000),
            qty: (n % 7) as u32 + 1,
            cents: 1999 + n,
        }
    }
}

/// The orders of a shop: a stream trimmed to about 10 000 entries.
#[derive(redis_runtime::RedisStream)]
#[redis(key = "bench:shop:{shop}:orders", hash_tag = "shop", event = Order, maxlen = "~10000")]
pub struct Orders {
    pub shop: u64,
}
