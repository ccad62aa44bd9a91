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

use redis::aio::ConnectionLike;
use redis::{Pipeline, Value};
use redis_runtime::RedisModel;

use crate::BenchError;
use crate::models::{
    ACCOUNT_TTL_MS, Account, AccountId, TENANT, USER_TTL_MS, User, UserJson, UserMsgpack,
};

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
pub trait PartialModel: BenchModel + redis_runtime::HashFields {
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
// M8 as a hash.

impl BenchModel for User {
    const LABEL: &'static str = "M8 hash";
    const HASH: bool = true;

    fn sample(n: u64) -> Self {
        User::sample(n)
    }
    fn id_of(n: u64) -> u64 {
        n
    }
    fn hw_key(n: u64) -> String {
        format!("bench:user:{n}")
    }
    fn number(&self) -> u64 {
        self.id
    }

    fn hw_push_save(&self, pipe: &mut Pipeline, key: &str) -> Result<(), BenchError> {
        pipe.del(key).ignore();
        pipe.cmd("HSET")
            .arg(key)
            .arg("id")
            .arg(self.id)
            .arg("name")
            .arg(&self.name)
            .arg("email")
            .arg(&self.email)
            .arg("age")
            .arg(self.age)
            .arg("score")
            .arg(self.score)
            .arg("active")
            .arg(self.active)
            .arg("created")
            .arg(self.created)
            .arg("tags")
            .arg(serde_json::to_vec(&self.tags)?)
            .ignore();
        pipe.pexpire(key, USER_TTL_MS as i64).ignore();
        Ok(())
    }

    fn hw_decode(value: Value) -> Result<Option<Self>, BenchError> {
        let Some(pairs) = hash_pairs(value)? else {
            return Ok(None);
        };
        let (mut id, mut name, mut email, mut age, mut score) = (None, None, None, None, None);
        let (mut active, mut created, mut tags) = (None, None, None);
        for (field, raw) in pairs {
            match field.as_slice() {
                b"id" => id = Some(parse("id", &raw)?),
                b"name" => name = Some(text("name", raw)?),
                b"email" => email = Some(text("email", raw)?),
                b"age" => age = Some(parse("age", &raw)?),
                b"score" => score = Some(parse("score", &raw)?),
                b"active" => active = Some(flag("active", &raw)?),
                b"created" => created = Some(parse("created", &raw)?),
                b"tags" => tags = Some(json("tags", &raw)?),
                _ => {}
            }
        }
        let m = |f| missing("User", f);
        Ok(Some(User {
            id: id.ok_or_else(|| m("id"))?,
            name: name.ok_or_else(|| m("name"))?,
            email: email.ok_or_else(|| m("email"))?,
            age: age.ok_or_else(|| m("age"))?,
            score: score.ok_or_else(|| m("score"))?,
            active: active.ok_or_else(|| m("active"))?,
            created: created.ok_or_else(|| m("created"))?,
            tags: tags.ok_or_else(|| m("tags"))?,
        }))
    }
}

impl PartialModel for User {
    const STRING_FIELD: &'static str = "email";
    const INT_FIELD: &'static str = "age";
    const INT_BOUNDS: (&'static str, &'static str) = ("0", "4294967295");

    fn int_value(n: u64) -> i64 {
        i64::from(User::sample(n).age)
    }
    async fn fw_set_field(
        store: &redis_runtime::Store,
        id: &u64,
        value: &String,
    ) -> redis_runtime::Result<bool> {
        store.set_field(id, User::fields().email, value).await
    }
    async fn fw_incr(
        store: &redis_runtime::Store,
        id: &u64,
        by: i64,
    ) -> redis_runtime::Result<Option<i64>> {
        store.incr(id, User::fields().age, by).await
    }
}

// ---------------------------------------------------------------------------
// M8 as JSON and MessagePack strings.

impl BenchModel for UserJson {
    const LABEL: &'static str = "M8 json";
    const HASH: bool = false;

    fn sample(n: u64) -> Self {
        UserJson::sample(n)
    }
    fn id_of(n: u64) -> u64 {
        n
    }
    fn hw_key(n: u64) -> String {
        format!("bench:userj:{n}")
    }
    fn number(&self) -> u64 {
        self.id
    }
    fn hw_push_save(&self, pipe: &mut Pipeline, key: &str) -> Result<(), BenchError> {
        pipe.cmd("SET")
            .arg(key)
            .arg(serde_json::to_vec(self)?)
            .arg("PX")
            .arg(USER_TTL_MS)
            .ignore();
        Ok(())
    }
    fn hw_decode(value: Value) -> Result<Option<Self>, BenchError> {
        string_reply(value)?
            .map(|bytes| serde_json::from_slice(&bytes).map_err(Into::into))
            .transpose()
    }
}

impl BenchModel for UserMsgpack {
    const LABEL: &'static str = "M8 msgpack";
    const HASH: bool = false;

    fn sample(n: u64) -> Self {
        UserMsgpack::sample(n)
    }
    fn id_of(n: u64) -> u64 {
        n
    }
    fn hw_key(n: u64) -> String {
        format!("bench:userm:{n}")
    }
    fn number(&self) -> u64 {
        self.id
    }
    fn hw_push_save(&self, pipe: &mut Pipeline, key: &str) -> Result<(), BenchError> {
        pipe.cmd("SET")
            .arg(key)
            .arg(rmp_serde::to_vec_named(self)?)
            .arg("PX")
            .arg(USER_TTL_MS)
            .ignore();
        Ok(())
    }
    fn hw_decode(value: Value) -> Result<Option<Self>, BenchError> {
        string_reply(value)?
            .map(|bytes| rmp_serde::from_slice(&bytes).map_err(Into::into))
            .transpose()
    }
}

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

    fn hw_push_save(&self, pipe: &mut Pipeline, key: &str) -> Result<(), BenchError> {
        pipe.del(key).ignore();
        let hset = pipe.cmd("HSET");
        hset.arg(key)
            .arg("tenant")
            .arg(&self.tenant)
            .arg("id")
            .arg(self.id)
            .arg("handle")
            .arg(&self.handle)
            .arg("display_name")
            .arg(&self.display_name)
            .arg("email")
            .arg(&self.email);
        if let Some(phone) = &self.phone {
            hset.arg("phone").arg(phone);
        }
        hset.arg("locale")
            .arg(&self.locale)
            .arg("timezone")
            .arg(&self.timezone)
            .arg("plan")
            .arg(&self.plan)
            .arg("status")
            .arg(&self.status)
            .arg("created_at")
            .arg(self.created_at)
            .arg("updated_at")
            .arg(self.updated_at)
            .arg("last_login_at")
            .arg(self.last_login_at)
            .arg("login_count")
            .arg(self.login_count)
            .arg("failed_logins")
            .arg(self.failed_logins)
            .arg("balance_cents")
            .arg(self.balance_cents)
            .arg("credit_limit_cents")
            .arg(self.credit_limit_cents)
            .arg("score")
            .arg(self.score)
            .arg("rating")
            .arg(self.rating)
            .arg("verified")
            .arg(self.verified)
            .arg("mfa_enabled")
            .arg(self.mfa_enabled)
            .arg("marketing_opt_in")
            .arg(self.marketing_opt_in)
            .arg("admin")
            .arg(self.admin);
        if let Some(referrer) = &self.referrer {
            hset.arg("referrer").arg(referrer);
        }
        hset.arg("avatar_url")
            .arg(&self.avatar_url)
            .arg("bio")
            .arg(&self.bio)
            .arg("last_ip")
            .arg(&self.last_ip)
            .arg("user_agent")
            .arg(&self.user_agent)
            .arg("signature")
            .arg(&self.signature)
            .arg("address")
            .arg(serde_json::to_vec(&self.address)?)
            .arg("preferences")
            .arg(serde_json::to_vec(&self.preferences)?)
            .arg("roles")
            .arg(serde_json::to_vec(&self.roles)?)
            .ignore();
        pipe.pexpire(key, ACCOUNT_TTL_MS as i64).ignore();
        Ok(())
    }

    fn hw_decode(value: Value) -> Result<Option<Self>, BenchError> {
        let Some(pairs) = hash_pairs(value)? else {
            return Ok(None);
        };
        let mut a = AccountParts::default();
        for (field, raw) in pairs {
            match field.as_slice() {
                b"tenant" => a.tenant = Some(text("tenant", raw)?),
                b"id" => a.id = Some(parse("id", &raw)?),
                b"handle" => a.handle = Some(text("handle", raw)?),
                b"display_name" => a.display_name = Some(text("display_name", raw)?),
                b"email" => a.email = Some(text("email", raw)?),
                b"phone" => a.phone = Some(text("phone", raw)?),
                b"locale" => a.locale = Some(text("locale", raw)?),
                b"timezone" => a.timezone = Some(text("timezone", raw)?),
                b"plan" => a.plan = Some(text("plan", raw)?),
                b"status" => a.status = Some(text("status", raw)?),
                b"created_at" => a.created_at = Some(parse("created_at", &raw)?),
                b"updated_at" => a.updated_at = Some(parse("updated_at", &raw)?),
                b"last_login_at" => a.last_login_at = Some(parse("last_login_at", &raw)?),
                b"login_count" => a.login_count = Some(parse("login_count", &raw)?),
                b"failed_logins" => a.failed_logins = Some(parse("failed_logins", &raw)?),
                b"balance_cents" => a.balance_cents = Some(parse("balance_cents", &raw)?),
                b"credit_limit_cents" => {
                    a.credit_limit_cents = Some(parse("credit_limit_cents", &raw)?)
                }
                b"score" => a.score = Some(parse("score", &raw)?),
                b"rating" => a.rating = Some(parse("rating", &raw)?),
                b"verified" => a.verified = Some(flag("verified", &raw)?),
                b"mfa_enabled" => a.mfa_enabled = Some(flag("mfa_enabled", &raw)?),
                b"marketing_opt_in" => a.marketing_opt_in = Some(flag("marketing_opt_in", &raw)?),
                b"admin" => a.admin = Some(flag("admin", &raw)?),
                b"referrer" => a.referrer = Some(text("referrer", raw)?),
                b"avatar_url" => a.avatar_url = Some(text("avatar_url", raw)?),
                b"bio" => a.bio = Some(text("bio", raw)?),
                b"last_ip" => a.last_ip = Some(text("last_ip", raw)?),
                b"user_agent" => a.user_agent = Some(text("user_agent", raw)?),
                b"signature" => a.signature = Some(text("signature", raw)?),
                b"address" => a.address = Some(json("address", &raw)?),
                b"preferences" => a.preferences = Some(json("preferences", &raw)?),
                b"roles" => a.roles = Some(json("roles", &raw)?),
                _ => {}
            }
        }
        let m = |f| missing("Account", f);
        Ok(Some(Account {
            tenant: a.tenant.ok_or_else(|| m("tenant"))?,
            id: a.id.ok_or_else(|| m("id"))?,
            handle: a.handle.ok_or_else(|| m("handle"))?,
            display_name: a.display_name.ok_or_else(|| m("display_name"))?,
            email: a.email.ok_or_else(|| m("email"))?,
            phone: a.phone,
            locale: a.locale.ok_or_else(|| m("locale"))?,
            timezone: a.timezone.ok_or_else(|| m("timezone"))?,
            plan: a.plan.ok_or_else(|| m("plan"))?,
            status: a.status.ok_or_else(|| m("status"))?,
            created_at: a.created_at.ok_or_else(|| m("created_at"))?,
            updated_at: a.updated_at.ok_or_else(|| m("updated_at"))?,
            last_login_at: a.last_login_at.ok_or_else(|| m("last_login_at"))?,
            login_count: a.login_count.ok_or_else(|| m("login_count"))?,
            failed_logins: a.failed_logins.ok_or_else(|| m("failed_logins"))?,
            balance_cents: a.balance_cents.ok_or_else(|| m("balance_cents"))?,
            credit_limit_cents: a
                .credit_limit_cents
                .ok_or_else(|| m("credit_limit_cents"))?,
            score: a.score.ok_or_else(|| m("score"))?,
            rating: a.rating.ok_or_else(|| m("rating"))?,
            verified: a.verified.ok_or_else(|| m("verified"))?,
            mfa_enabled: a.mfa_enabled.ok_or_else(|| m("mfa_enabled"))?,
            marketing_opt_in: a.marketing_opt_in.ok_or_else(|| m("marketing_opt_in"))?,
            admin: a.admin.ok_or_else(|| m("admin"))?,
            referrer: a.referrer,
            avatar_url: a.avatar_url.ok_or_else(|| m("avatar_url"))?,
            bio: a.bio.ok_or_else(|| m("bio"))?,
            last_ip: a.last_ip.ok_or_else(|| m("last_ip"))?,
            user_agent: a.user_agent.ok_or_else(|| m("user_agent"))?,
            signature: a.signature.ok_or_else(|| m("signature"))?,
            address: a.address.ok_or_else(|| m("address"))?,
            preferences: a.preferences.ok_or_else(|| m("preferences"))?,
            roles: a.roles.ok_or_else(|| m("roles"))?,
        }))
    }
}

/// The fields of an [`Account`] as they are decoded.
#[derive(Default)]
struct AccountParts {
    tenant: Option<String>,
    id: Option<u64>,
    handle: Option<String>,
    display_name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    locale: Option<String>,
    timezone: Option<String>,
    plan: Option<String>,
    status: Option<String>,
    created_at: Option<i64>,
    updated_at: Option<i64>,
    last_login_at: Option<i64>,
    login_count: Option<u64>,
    failed_logins: Option<u32>,
    balance_cents: Option<i64>,
    credit_limit_cents: Option<i64>,
    score: Option<f64>,
    rating: Option<f32>,
    verified: Option<bool>,
    mfa_enabled: Option<bool>,
    marketing_opt_in: Option<bool>,
    admin: Option<bool>,
    referrer: Option<String>,
    avatar_url: Option<String>,
    bio: Option<String>,
    last_ip: Option<String>,
    user_agent: Option<String>,
    signature: Option<String>,
    address: Option<crate::models::Address>,
    preferences: Option<crate::models::Preferences>,
    roles: Option<Vec<String>>,
}

impl PartialModel for Account {
    const STRING_FIELD: &'static str = "status";
    const INT_FIELD: &'static str = "login_count";
    // u64's maximum is beyond i64's, so the framework sends '' for it.
    const INT_BOUNDS: (&'static str, &'static str) = ("0", "");

    fn int_value(n: u64) -> i64 {
        Account::sample(n).login_count as i64
    }
    async fn fw_set_field(
        store: &redis_runtime::Store,
        id: &AccountId,
        value: &String,
    ) -> redis_runtime::Result<bool> {
        store.set_field(id, Account::fields().status, value).await
    }
    async fn fw_incr(
        store: &redis_runtime::Store,
        id: &AccountId,
        by: i64,
    ) -> redis_runtime::Result<Option<i64>> {
        store.incr(id, Account::fields().login_count, by).await
    }
}
