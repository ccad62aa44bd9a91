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

// Atomic increment of an integer field of an existing entity. ARGV[3]/ARGV[4]
// are the Rust type's bounds ('' when they are i64's own, which HINCRBY
// enforces); a result outside them is undone and reported, so the stored value
// always decodes as the field's type. The new value is returned as the stored
// string: Lua numbers are doubles and would round values beyond 2^53.
lua_script!(
    INCR_FIELD,
    r"if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local old = redis.call('HGET', KEYS[1], ARGV[1])
local v = redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])
if (ARGV[3] ~= '' and v < tonumber(ARGV[3])) or (ARGV[4] ~= '' and v > tonumber(ARGV[4])) then
  if old then redis.call('HSET', KEYS[1], ARGV[1], old) else redis.call('HDEL', KEYS[1], ARGV[1]) end
  return redis.error_reply('ERR increment would take the field outside the range of its Rust type')
end
return redis.call('HGET', KEYS[1], ARGV[1])"
);

// A reliable queue's requeue: takes one copy of the delivered item (its exact
// bytes, ARGV[1]) out of the consumer's in-flight list (KEYS[1]) and, only if
// it was there, pushes it to the back of the queue (KEYS[2]), arming the
// queue's declared TTL (ARGV[2], milliseconds, '' for none) if the push
// created the key. Returns 1 when the item moved, 0 when it was not in flight
// (already acknowledged or recovered): never a second copy.
lua_script!(
    QUEUE_REQUEUE,
    r"local n = redis.call('LREM', KEYS[1], 1, ARGV[1])
if n == 0 then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[1])
if ARGV[2] ~= '' then redis.call('PEXPIRE', KEYS[2], ARGV[2], 'NX') end
return 1"
);

// A reliable queue's recover: moves every item of a consumer's in-flight list
// (KEYS[1]) back to the front of the queue (KEYS[2]), newest taken first, so
// the oldest taken ends up first in line and the queue's order is kept. One
// script, so nobody sees the list half recovered; returns how many moved.
// ARGV[1] as for QUEUE_REQUEUE's ARGV[2].
lua_script!(
    QUEUE_RECOVER,
    r"local n = 0
while redis.call('LMOVE', KEYS[1], KEYS[2], 'RIGHT', 'LEFT') do n = n + 1 end
if n > 0 and ARGV[1] ~= '' then redis.call('PEXPIRE', KEYS[2], ARGV[1], 'NX') end
return n"
);
