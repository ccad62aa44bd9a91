//! The hand-written redis-rs baseline: what a careful service author writes
//! without the framework, doing the same work with the same guarantee.
//!
//! - Hash save: one atomic pipeline `MULTI; DEL k; HSET k f v ...; PEXPIRE k ms; EXEC`
//!   (no stale fields, never a moment without the entity or its TTL).
//! - String save: `SET k v PX ms`.
//! - Reads: `HGETALL` / `GET`, decoded field by field straight from the reply
//!   (no intermediate `HashMap`); every required field must be present.
//! - Partial writes: the same Lua script as the framework, through `redis::Script`
//!   (`EVALSHA`, loaded on `NOSCRIPT`), so a missing entity is never half-created.
//! - Batches: one pipeline (atomic for saves), `MGET`, and one `DEL k1 .. kn`.
//!
//! Field order and number formatting follow the framework's, so both send
//! byte-identical commands (the counters gate checks it).

use std::sync::LazyLock;

use redis::aio::{ConnectionLike, ConnectionManager};
use redis::cluster_async::ClusterConnection;
use redis::{Pipeline, Value};
use redis_runtime::RedisModel;

use crate::BenchError;
use crate::models::{
    ACCOUNT_TTL_MS, Account, AccountId, Member, MemberId, TENANT, USER_TTL_MS, User, UserCodec,
    UserJson, UserMsgpack,
};

pub mod cluster;
pub mod collections;
pub mod coordination;
pub mod streams;

/// The framework's partial-write script, copied verbatim: a hand-written
/// service keeps its own copy of the Lua it runs.
pub const SET_FIELD_LUA: &str = r"if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if #ARGV == 1 then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
return 1";

/// The framework's increment script, copied verbatim.
pub const INCR_FIELD_LUA: &str = r"if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local old = redis.call('HGET', KEYS[1], ARGV[1])
local v = redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])
if (ARGV[3] ~= '' and v < tonumber(ARGV[3])) or (ARGV[4] ~= '' and v > tonumber(ARGV[4])) then
  if old then redis.call('HSET', KEYS[1], ARGV[1], old) else redis.call('HDEL', KEYS[1], ARGV[1]) end
  return redis.error_reply('ERR increment would take the field outside the range of its Rust type')
end
return redis.call('HGET', KEYS[1], ARGV[1])";

/// [`SET_FIELD_LUA`] as a redis-rs script.
pub static SET_FIELD: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(SET_FIELD_LUA));
/// [`INCR_FIELD_LUA`] as a redis-rs script.
pub static INCR_FIELD: LazyLock<redis::Script> =
    LazyLock::new(|| redis::Script::new(INCR_FIELD_LUA));

/// A fixture the benchmark drives through the framework and by hand.
pub trait BenchModel: RedisModel + Clone + PartialEq + std::fmt::Debug {
    /// The fixture's name in reports.
    const LABEL: &'static str;
    /// Whether it is stored as a hash (else as one string).
    const HASH: bool;
    /// The fixture number `n`.
    fn sample(n: u64) -> Self;
    /// The framework id of fixture `n`.
    fn id_of(n: u64) -> Self::Id;
    /// The key of fixture `n`, formatted by hand.
    fn hw_key(n: u64) -> String;
    /// The fixture number of a model.
    fn number(&self) -> u64;
    /// Appends a full save (hash: `DEL; HSET; PEXPIRE`; string: `SET .. PX`).
    fn hw_push_save(&self, pipe: &mut Pipeline, key: &str) -> Result<(), BenchError>;
    /// Decodes a `HGETALL`/`GET` reply; `None` for a missing entity.
    fn hw_decode(value: Value) -> Result<Option<Self>, BenchError>;
}

/// A hash fixture with a string field to overwrite and an integer field to increment.
pub trait PartialModel: BenchModel + redis_runtime::model::HashFields {
    /// The stored name of the string field `set_field` writes.
    const STRING_FIELD: &'static str;
    /// The stored name of the integer field `incr` increments.
    const INT_FIELD: &'static str;
    /// The integer field's bounds as the framework sends them (`''` when they are i64's).
    const INT_BOUNDS: (&'static str, &'static str);
    /// The integer field's value in fixture `n`.
    fn int_value(n: u64) -> i64;
    /// Sets the string field through the framework (whose value type is `String`).
    #[allow(clippy::ptr_arg)]
    fn fw_set_field(
        store: &redis_runtime::Store,
        id: &Self::Id,
        value: &String,
    ) -> impl Future<Output = redis_runtime::Result<bool>>;
    /// Increments the integer field through the framework.
    fn fw_incr(
        store: &redis_runtime::Store,
        id: &Self::Id,
        by: i64,
    ) -> impl Future<Output = redis_runtime::Result<Option<i64>>>;
}

/// Writes one hand-written save into a pipeline of `MULTI .. EXEC` (hash) or
/// a plain pipeline (string), and runs it.
pub async fn save<M: BenchModel>(
    con: &mut impl ConnectionLike,
    model: &M,
) -> Result<(), BenchError> {
    let key = M::hw_key(model.number());
    let mut pipe = redis::pipe();
    if M::HASH {
        pipe.atomic();
    }
    model.hw_push_save(&mut pipe, &key)?;
    pipe.query_async::<()>(con).await?;
    Ok(())
}

/// Loads fixture `n` by hand.
pub async fn get<M: BenchModel>(
    con: &mut impl ConnectionLike,
    n: u64,
) -> Result<Option<M>, BenchError> {
    let key = M::hw_key(n);
    let verb = if M::HASH { "HGETALL" } else { "GET" };
    let value: Value = redis::cmd(verb).arg(&key).query_async(con).await?;
    M::hw_decode(value)
}

/// Deletes fixture `n` by hand; `true` when it existed.
pub async fn delete<M: BenchModel>(
    con: &mut impl ConnectionLike,
    n: u64,
) -> Result<bool, BenchError> {
    let key = M::hw_key(n);
    Ok(redis::cmd("DEL").arg(&key).query_async(con).await?)
}

/// Sets the string field of fixture `n` with the script; `false` when it does not exist.
pub async fn set_field<M: PartialModel>(
    con: &mut impl ConnectionLike,
    n: u64,
    value: &str,
) -> Result<bool, BenchError> {
    let key = M::hw_key(n);
    let applied: i64 = SET_FIELD
        .key(&key)
        .arg(M::STRING_FIELD)
        .arg(value)
        .invoke_async(con)
        .await?;
    Ok(applied == 1)
}

/// Increments the integer field of fixture `n` with the script.
pub async fn incr<M: PartialModel>(
    con: &mut impl ConnectionLike,
    n: u64,
    by: i64,
) -> Result<Option<i64>, BenchError> {
    let key = M::hw_key(n);
    let (min, max) = M::INT_BOUNDS;
    Ok(INCR_FIELD
        .key(&key)
        .arg(M::INT_FIELD)
        .arg(by)
        .arg(min)
        .arg(max)
        .invoke_async(con)
        .await?)
}

/// Saves every model in one `MULTI .. EXEC` pipeline.
pub async fn save_many<M: BenchModel>(
    con: &mut impl ConnectionLike,
    models: &[M],
) -> Result<(), BenchError> {
    let mut pipe = redis::pipe();
    pipe.atomic();
    for model in models {
        let key = M::hw_key(model.number());
        model.hw_push_save(&mut pipe, &key)?;
    }
    pipe.query_async::<()>(con).await?;
    Ok(())
}

/// Loads several fixtures in one round trip: a pipeline of `HGETALL`, or one `MGET`.
pub async fn get_many<M: BenchModel>(
    con: &mut impl ConnectionLike,
    ns: &[u64],
) -> Result<Vec<Option<M>>, BenchError> {
    let values: Vec<Value> = if M::HASH {
        let mut pipe = redis::pipe();
        for &n in ns {
            pipe.cmd("HGETALL").arg(M::hw_key(n));
        }
        pipe.query_async(con).await?
    } else {
        let mut cmd = redis::cmd("MGET");
        for &n in ns {
            cmd.arg(M::hw_key(n));
        }
        cmd.query_async(con).await?
    };
    values.into_iter().map(M::hw_decode).collect()
}

/// Deletes several fixtures with one `DEL`; how many existed.
pub async fn delete_many<M: BenchModel>(
    con: &mut impl ConnectionLike,
    ns: &[u64],
) -> Result<u64, BenchError> {
    let mut cmd = redis::cmd("DEL");
    for &n in ns {
        cmd.arg(M::hw_key(n));
    }
    Ok(cmd.query_async(con).await?)
}

/// A connection the baseline runs batches on, each the way a careful author
/// writes it for that deployment: one pipeline, `MGET` or `DEL` on one
/// server ([`save_many`], [`get_many`], [`delete_many`]), one per hash slot
/// on a Redis Cluster ([`cluster`]).
pub trait Batches: ConnectionLike {
    /// Saves every model (atomically per transaction).
    fn save_many<M: BenchModel>(
        &mut self,
        models: &[M],
    ) -> impl Future<Output = Result<(), BenchError>>;
    /// Loads fixtures `ns`, in order.
    fn get_many<M: BenchModel>(
        &mut self,
        ns: &[u64],
    ) -> impl Future<Output = Result<Vec<Option<M>>, BenchError>>;
    /// Deletes fixtures `ns`; how many existed.
    fn delete_many<M: BenchModel>(
        &mut self,
        ns: &[u64],
    ) -> impl Future<Output = Result<u64, BenchError>>;
}

impl Batches for ConnectionManager {
    async fn save_many<M: BenchModel>(&mut self, models: &[M]) -> Result<(), BenchError> {
        save_many(self, models).await
    }
    async fn get_many<M: BenchModel>(&mut self, ns: &[u64]) -> Result<Vec<Option<M>>, BenchError> {
        get_many(self, ns).await
    }
    async fn delete_many<M: BenchModel>(&mut self, ns: &[u64]) -> Result<u64, BenchError> {
        delete_many::<M>(self, ns).await
    }
}

impl Batches for ClusterConnection {
    async fn save_many<M: BenchModel>(&mut self, models: &[M]) -> Result<(), BenchError> {
        cluster::save_many(self, models).await
    }
    async fn get_many<M: BenchModel>(&mut self, ns: &[u64]) -> Result<Vec<Option<M>>, BenchError> {
        cluster::get_many(self, ns).await
    }
    async fn delete_many<M: BenchModel>(&mut self, ns: &[u64]) -> Result<u64, BenchError> {
        cluster::delete_many::<M>(self, ns).await
    }
}

// ---------------------------------------------------------------------------
// Field decoding helpers.

fn missing(model: &str, field: &str) -> BenchError {
    format!("{model}: field `{field}` missing from the stored hash").into()
}

fn parse<T: std::str::FromStr>(field: &str, raw: &[u8]) -> Result<T, BenchError> {
    std::str::from_utf8(raw)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("field `{field}`: not a number").into())
}

fn text(field: &str, raw: Vec<u8>) -> Result<String, BenchError> {
    String::from_utf8(raw).map_err(|_| format!("field `{field}`: not UTF-8").into())
}

fn flag(field: &str, raw: &[u8]) -> Result<bool, BenchError> {
    match raw {
        b"1" => Ok(true),
        b"0" => Ok(false),
        _ => Err(format!("field `{field}`: not a boolean").into()),
    }
}

fn json<T: serde::de::DeserializeOwned>(field: &str, raw: &[u8]) -> Result<T, BenchError> {
    serde_json::from_slice(raw).map_err(|e| format!("field `{field}`: {e}").into())
}

/// The `(name, value)` pairs of a stored hash.
type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// The pairs of a `HGETALL` reply; `None` for a missing hash.
fn hash_pairs(value: Value) -> Result<Option<Pairs>, BenchError> {
    let bad = || BenchError::from("unexpected HGETALL reply");
    match value {
        Value::Array(items) => {
            if items.is_empty() {
                return Ok(None);
            }
            if items.len() % 2 != 0 {
                return Err(bad());
            }
            let mut pairs = Vec::with_capacity(items.len() / 2);
            let mut iter = items.into_iter();
            while let (Some(name), Some(value)) = (iter.next(), iter.next()) {
                match (name, value) {
                    (Value::BulkString(n), Value::BulkString(v)) => pairs.push((n, v)),
                    _ => return Err(bad()),
                }
            }
            Ok(Some(pairs))
        }
        Value::Map(entries) => {
            if entries.is_empty() {
                return Ok(None);
            }
            entries
                .into_iter()
                .map(|pair| match pair {
                    (Value::BulkString(n), Value::BulkString(v)) => Ok((n, v)),
                    _ => Err(bad()),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some)
        }
        Value::Nil => Ok(None),
        _ => Err(bad()),
    }
}

fn string_reply(value: Value) -> Result<Option<Vec<u8>>, BenchError> {
    match value {
        Value::Nil => Ok(None),
        Value::BulkString(bytes) => Ok(Some(bytes)),
        _ => Err("unexpected GET reply".into()),
    }
}

// ---------------------------------------------------------------------------
// The per-model code, written from each model's field list.

/// The hand-written hash save and decode of a model, from its fields in the
/// framework's order. A field's kind says how it is written and read back:
/// `num` (`Display`, parsed back), `text` (a `String`), `flag` (`1`/`0`),
/// `json` (serde JSON), `opt` (an `Option<String>`, no field when `None`).
/// Expands to the two [`BenchModel`] methods, inside the model's impl.
macro_rules! hash_codec {
    ($model:ident, ttl: $ttl:expr, { $($field:ident: $kind:ident),* $(,)? }) => {
        fn hw_push_save(&self, pipe: &mut Pipeline, key: &str) -> Result<(), BenchError> {
            pipe.del(key).ignore();
            let hset = pipe.cmd("HSET");
            hset.arg(key);
            $(hash_codec!(@push $kind, hset, stringify!($field), &self.$field);)*
            hset.ignore();
            pipe.pexpire(key, $ttl as i64).ignore();
            Ok(())
        }

        fn hw_decode(value: Value) -> Result<Option<Self>, BenchError> {
            let Some(pairs) = hash_pairs(value)? else {
                return Ok(None);
            };
            $(let mut $field = None;)*
            for (name, raw) in pairs {
                $(if name.as_slice() == stringify!($field).as_bytes() {
                    $field = Some(hash_codec!(@decode $kind, stringify!($field), raw));
                } else)* {
                }
            }
            let m = |f| missing(stringify!($model), f);
            Ok(Some($model {
                $($field: hash_codec!(@take $kind, $field, m(stringify!($field))),)*
            }))
        }
    };
    (@push json, $hset:ident, $name:expr, $value:expr) => {
        $hset.arg($name).arg(serde_json::to_vec($value)?);
    };
    (@push opt, $hset:ident, $name:expr, $value:expr) => {
        if let Some(value) = $value {
            $hset.arg($name).arg(value);
        }
    };
    (@push $plain:ident, $hset:ident, $name:expr, $value:expr) => {
        $hset.arg($name).arg($value);
    };
    (@decode num, $name:expr, $raw:ident) => { parse($name, &$raw)? };
    (@decode text, $name:expr, $raw:ident) => { text($name, $raw)? };
    (@decode opt, $name:expr, $raw:ident) => { text($name, $raw)? };
    (@decode flag, $name:expr, $raw:ident) => { flag($name, &$raw)? };
    (@decode json, $name:expr, $raw:ident) => { json($name, &$raw)? };
    (@take opt, $field:ident, $missing:expr) => { $field };
    (@take $required:ident, $field:ident, $missing:expr) => {
        $field.ok_or_else(|| $missing)?
    };
}

/// The [`BenchModel`] methods every M8 variant shares (a `u64` id, its own `sample`).
macro_rules! m8_numbering {
    ($model:ident) => {
        fn sample(n: u64) -> Self {
            $model::sample(n)
        }
        fn id_of(n: u64) -> u64 {
            n
        }
        fn number(&self) -> u64 {
            self.id
        }
    };
}

/// An M8 variant stored as one string: `SET k v PX ms` with the serde
/// format's `encode`, `GET` decoded with its `decode`.
macro_rules! m8_string_model {
    ($model:ident, $label:literal, key: |$n:ident| $key:expr, $encode:path, $decode:path) => {
        impl BenchModel for $model {
            const LABEL: &'static str = $label;
            const HASH: bool = false;

            m8_numbering!($model);

            fn hw_key($n: u64) -> String {
                $key
            }
            fn hw_push_save(&self, pipe: &mut Pipeline, key: &str) -> Result<(), BenchError> {
                pipe.cmd("SET")
                    .arg(key)
                    .arg($encode(self)?)
                    .arg("PX")
                    .arg(USER_TTL_MS)
                    .ignore();
                Ok(())
            }
            fn hw_decode(value: Value) -> Result<Option<Self>, BenchError> {
                string_reply(value)?
                    .map(|bytes| $decode(&bytes).map_err(Into::into))
                    .transpose()
            }
        }
    };
}

/// The [`PartialModel`] of a hash model: the string field `set_field`
/// writes, the integer field `incr` increments, and that field's bounds as
/// the framework sends them.
macro_rules! partial_model {
    ($model:ident, string: $string:ident, int: $int:ident, bounds: $bounds:expr) => {
        impl PartialModel for $model {
            const STRING_FIELD: &'static str = stringify!($string);
            const INT_FIELD: &'static str = stringify!($int);
            const INT_BOUNDS: (&'static str, &'static str) = $bounds;

            fn int_value(n: u64) -> i64 {
                $model::sample(n).$int as i64
            }
            async fn fw_set_field(
                store: &redis_runtime::Store,
                id: &Self::Id,
                value: &String,
            ) -> redis_runtime::Result<bool> {
                store.set_field(id, $model::fields().$string, value).await
            }
            async fn fw_incr(
                store: &redis_runtime::Store,
                id: &Self::Id,
                by: i64,
            ) -> redis_runtime::Result<Option<i64>> {
                store.incr(id, $model::fields().$int, by).await
            }
        }
    };
}

// ---------------------------------------------------------------------------
// M8 as a hash.

impl BenchModel for User {
    const LABEL: &'static str = "M8 hash";
    const HASH: bool = true;

    m8_numbering!(User);

    fn hw_key(n: u64) -> String {
        format!("bench:user:{n}")
    }

    hash_codec!(User, ttl: USER_TTL_MS, {
        id: num,
        name: text,
        email: text,
        age: num,
        score: num,
        active: flag,
        created: num,
        tags: json,
    });
}

partial_model!(User, string: email, int: age, bounds: ("0", "4294967295"));

// ---------------------------------------------------------------------------
// M8T: M8 in one of 20 tenants, the tenant as the hash tag.

impl BenchModel for Member {
    const LABEL: &'static str = "M8T hash";
    const HASH: bool = true;

    fn sample(n: u64) -> Self {
        Member::sample(n)
    }
    fn id_of(n: u64) -> MemberId {
        MemberId {
            tenant: Member::tenant_of(n),
            id: n,
        }
    }
    fn hw_key(n: u64) -> String {
        format!("bench:member:{{{}}}:{n}", Member::tenant_of(n))
    }
    fn number(&self) -> u64 {
        self.id
    }

    hash_codec!(Member, ttl: USER_TTL_MS, {
        tenant: text,
        id: num,
        name: text,
        email: text,
        age: num,
        score: num,
        active: flag,
        created: num,
        tags: json,
    });
}

partial_model!(Member, string: email, int: age, bounds: ("0", "4294967295"));

// ---------------------------------------------------------------------------
// M8 as JSON and MessagePack strings.

m8_string_model!(
    UserJson,
    "M8 json",
    key: |n| format!("bench:userj:{n}"),
    serde_json::to_vec,
    serde_json::from_slice
);

m8_string_model!(
    UserMsgpack,
    "M8 msgpack",
    key: |n| format!("bench:userm:{n}"),
    rmp_serde::to_vec_named,
    rmp_serde::from_slice
);

// The custom codec's bytes (`CompactMsgpack`), encoded by hand.
m8_string_model!(
    UserCodec,
    "M8 codec",
    key: |n| format!("bench:userc:{n}"),
    rmp_serde::to_vec,
    rmp_serde::from_slice
);

// ---------------------------------------------------------------------------
// M32 as a hash.

impl BenchModel for Account {
    const LABEL: &'static str = "M32 hash";
    const HASH: bool = true;

    fn sample(n: u64) -> Self {
        Account::sample(n)
    }
    fn id_of(n: u64) -> AccountId {
        AccountId {
            tenant: TENANT.to_owned(),
            id: n,
        }
    }
    fn hw_key(n: u64) -> String {
        format!("bench:account:{{{TENANT}}}:{n}")
    }
    fn number(&self) -> u64 {
        self.id
    }

    hash_codec!(Account, ttl: ACCOUNT_TTL_MS, {
        tenant: text,
        id: num,
        handle: text,
        display_name: text,
        email: text,
        phone: opt,
        locale: text,
        timezone: text,
        plan: text,
        status: text,
        created_at: num,
        updated_at: num,
        last_login_at: num,
        login_count: num,
        failed_logins: num,
        balance_cents: num,
        credit_limit_cents: num,
        score: num,
        rating: num,
        verified: flag,
        mfa_enabled: flag,
        marketing_opt_in: flag,
        admin: flag,
        referrer: opt,
        avatar_url: text,
        bio: text,
        last_ip: text,
        user_agent: text,
        signature: text,
        address: json,
        preferences: json,
        roles: json,
    });
}

// u64's maximum is beyond i64's, so the framework sends '' for it.
partial_model!(Account, string: status, int: login_count, bounds: ("0", ""));
