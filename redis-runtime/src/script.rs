//! The one script runner: every Lua script the runtime sends goes through here.
//!
//! Scripts are `'static` source, declare every key they touch in `KEYS` (so they
//! route and pass ACL key checks on Redis Cluster), and are sent as `EVALSHA`;
//! when the server does not know the script yet (`NOSCRIPT`) the same call is
//! repeated once as `EVAL`, which also caches it.

use std::sync::LazyLock;

use redis::aio::ConnectionLike;
use redis::{Cmd, RedisResult, Value};

/// A Lua script with its SHA1 computed once.
pub(crate) struct LuaScript {
    source: &'static str,
    sha: LazyLock<String>,
}

impl LuaScript {
    pub(crate) const fn new(source: &'static str, sha: LazyLock<String>) -> Self {
        LuaScript { source, sha }
    }

    /// Runs the script with `keys`, and arguments written by `args`.
    pub(crate) async fn run<C: ConnectionLike>(
        &self,
        con: &mut C,
        keys: &[&[u8]],
        args: impl Fn(&mut Cmd),
    ) -> RedisResult<Value> {
        let build = |verb: &str, body: &str| {
            let mut cmd = redis::cmd(verb);
            cmd.arg(body).arg(keys.len());
            for key in keys {
                cmd.arg(*key);
            }
            args(&mut cmd);
            cmd
        };
        match build("EVALSHA", &self.sha).query_async(con).await {
            Err(err)
                if err.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) =>
            {
                build("EVAL", self.source).query_async(con).await
            }
            other => other,
        }
    }
}

macro_rules! lua_script {
    ($name:ident, $source:expr) => {
        pub(crate) static $name: $crate::script::LuaScript = $crate::script::LuaScript::new(
            $source,
            ::std::sync::LazyLock::new(|| redis::Script::new($source).get_hash().to_owned()),
        );
    };
}

// Partial writes apply only to an entity that exists: writing one field of a
// missing entity would create a half-entity that no longer decodes. The TTL is
// untouched (HSET/HDEL keep it).
lua_script!(
    SET_FIELD,
    r"if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if #ARGV == 1 then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
return 1"
);

/// The Lua condition that the new value `v` of an increment lies outside the
/// field's Rust type: `$min`/`$max` are Lua expressions holding the bounds as
/// decimal strings, `''` when the bound is i64's own (which `HINCRBY`
/// enforces). One text for every script that increments.
macro_rules! out_of_range {
    ($min:literal, $max:literal) => {
        concat!(
            "(",
            $min,
            " ~= '' and v < tonumber(",
            $min,
            ")) or (",
            $max,
            " ~= '' and v > tonumber(",
            $max,
            "))"
        )
    };
}

/// The error every increment outside the field's Rust type answers with.
macro_rules! out_of_range_error {
    () => {
        "redis.error_reply('ERR increment would take the field outside the range of its Rust type')"
    };
}

// Atomic increment of an integer field of an existing entity. ARGV[3]/ARGV[4]
// are the Rust type's bounds ('' when they are i64's own, which HINCRBY
// enforces); a result outside them is undone and reported, so the stored value
// always decodes as the field's type. The new value is returned as the stored
// string: Lua numbers are doubles and would round values beyond 2^53.
lua_script!(
    INCR_FIELD,
    concat!(
        r"if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local old = redis.call('HGET', KEYS[1], ARGV[1])
local v = redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])
if ",
        out_of_range!("ARGV[3]", "ARGV[4]"),
        r" then
  if old then redis.call('HSET', KEYS[1], ARGV[1], old) else redis.call('HDEL', KEYS[1], ARGV[1]) end
  return ",
        out_of_range_error!(),
        r"
end
return redis.call('HGET', KEYS[1], ARGV[1])"
    )
);
