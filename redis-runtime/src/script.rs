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

// Conditional writes (store/conditional.rs). Each touches its one key, in
// KEYS[1]; a model's TTL travels as milliseconds, or '' for none. A script
// that reads first (HGETALL, HGET) fails on a key of another Redis type
// (WRONGTYPE) before it writes anything.

// `insert` of a hash model: create only if the key is absent, with the model
// TTL in the same step. ARGV[1]: the TTL; ARGV[2..]: field/value pairs.
lua_script!(
    INSERT_HASH,
    r"if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
if ARGV[1] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return 1"
);

// `insert_or_get` of a hash model: the existing entity (HGETALL's pairs), or
// nil after creating it as `INSERT_HASH` does. Same arguments.
lua_script!(
    INSERT_OR_GET_HASH,
    r"local current = redis.call('HGETALL', KEYS[1])
if #current > 0 then return current end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
if ARGV[1] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return false"
);

// `replace` of a hash model: a full save (DEL, HSET, PEXPIRE, so fields that
// are now absent disappear and the model TTL applies) only if the entity
// exists. Same arguments as `INSERT_HASH`.
lua_script!(
    REPLACE_HASH,
    r"if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
if ARGV[1] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return 1"
);

// `take` of a hash model: read and delete (GETDEL for hashes).
lua_script!(
    TAKE_HASH,
    r"local current = redis.call('HGETALL', KEYS[1])
if #current > 0 then redis.call('DEL', KEYS[1]) end
return current"
);

// `get_and_refresh` of a hash model: read, and re-apply the model TTL
// (ARGV[1]; '' removes any TTL) when the entity exists (GETEX for hashes).
lua_script!(
    GET_AND_REFRESH_HASH,
    r"local current = redis.call('HGETALL', KEYS[1])
if #current > 0 then
  if ARGV[1] == '' then redis.call('PERSIST', KEYS[1]) else redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
end
return current"
);

// `update`: several field changes of an existing entity, all or nothing, the
// TTL kept. ARGV is a list of changes, in order:
//   's' field value       set the field
//   'c' field             remove the field
//   'i' field by min max  increment, bounds as in INCR_FIELD
// Every change records the field's previous value first; when an increment
// fails (a stored value that is not an integer, i64 overflow) or leaves its
// bounds, the changes made so far are undone in reverse order and the error
// returned. Returns nil when the entity does not exist (nothing written),
// else the new value of each increment, in order, as the stored strings.
lua_script!(
    UPDATE_FIELDS,
    concat!(
        r"if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local undo = {}
local function rollback()
  for j = #undo, 1, -1 do
    local field, old = undo[j][1], undo[j][2]
    if old then redis.call('HSET', KEYS[1], field, old) else redis.call('HDEL', KEYS[1], field) end
  end
end
local incremented = {}
local i = 1
while i <= #ARGV do
  local op, field = ARGV[i], ARGV[i + 1]
  undo[#undo + 1] = {field, redis.call('HGET', KEYS[1], field)}
  if op == 's' then
    redis.call('HSET', KEYS[1], field, ARGV[i + 2])
    i = i + 3
  elseif op == 'c' then
    redis.call('HDEL', KEYS[1], field)
    i = i + 2
  elseif op == 'i' then
    local v = redis.pcall('HINCRBY', KEYS[1], field, ARGV[i + 2])
    if type(v) == 'table' then
      rollback()
      return v
    end
    local min, max = ARGV[i + 3], ARGV[i + 4]
    if ",
        out_of_range!("min", "max"),
        r" then
      rollback()
      return ",
        out_of_range_error!(),
        r"
    end
    incremented[#incremented + 1] = redis.call('HGET', KEYS[1], field)
    i = i + 5
  else
    rollback()
    return redis.error_reply('ERR unknown change in an update')
  end
end
return incremented"
    )
);

// `incr_or_insert`: increment an integer field; when the entity does not
// exist, first create it from the default entity's fields and apply the model
// TTL, in the same step. An existing entity's TTL is never touched.
// ARGV[1] field, ARGV[2] by, ARGV[3]/ARGV[4] bounds as in INCR_FIELD,
// ARGV[5] the TTL, ARGV[6..] the default entity's field/value pairs. A result
// outside the bounds, or an increment the server refuses (i64 overflow, a
// stored value that is not an integer), undoes everything: a created entity
// is deleted again.
lua_script!(
    INCR_OR_INSERT,
    concat!(
        r"local created = redis.call('EXISTS', KEYS[1]) == 0
local old = false
if created then
  redis.call('HSET', KEYS[1], unpack(ARGV, 6))
else
  old = redis.call('HGET', KEYS[1], ARGV[1])
end
local v = redis.pcall('HINCRBY', KEYS[1], ARGV[1], ARGV[2])
if type(v) == 'table' then
  if created then redis.call('DEL', KEYS[1]) end
  return v
end
if ",
        out_of_range!("ARGV[3]", "ARGV[4]"),
        r" then
  if created then
    redis.call('DEL', KEYS[1])
  elseif old then
    redis.call('HSET', KEYS[1], ARGV[1], old)
  else
    redis.call('HDEL', KEYS[1], ARGV[1])
  end
  return ",
        out_of_range_error!(),
        r"
end
if created and ARGV[5] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[5]) end
return redis.call('HGET', KEYS[1], ARGV[1])"
    )
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

// A sorted set's increment for an integer score type (`SortedSet::incr`).
// Scores are doubles: a result beyond ±2^53 would be stored rounded, and one
// outside the Rust type would not read back, so such a result is refused and
// nothing is written. ARGV[1] the increment (an integer within ±2^53), ARGV[2]
// the member, ARGV[3]/ARGV[4] the type's bounds narrowed to ±2^53, ARGV[5] the
// declared TTL (milliseconds, '' for none), armed as `PEXPIRE NX` after the
// increment as the other creating writes do. The check is exact in doubles:
// the bounds and the increment are integers within ±2^53, so `max - by` (by >=
// 0) and `min - by` (by < 0) are exact, and a current score within the bounds
// that passes it gives a sum within them, which ZINCRBY computes exactly. A
// stored score that is not an integer within the bounds is returned as is, in
// a one-element array, and nothing is written. ZSCORE fails on a key of
// another type (WRONGTYPE) before anything is written.
lua_script!(
    ZINCR_INTEGER,
    r"local old = redis.call('ZSCORE', KEYS[1], ARGV[2])
local cur = 0
if old then cur = tonumber(old) end
local by, min, max = tonumber(ARGV[1]), tonumber(ARGV[3]), tonumber(ARGV[4])
if cur == nil or cur ~= math.floor(cur) or cur < min or cur > max then return {old} end
if (by >= 0 and cur > max - by) or (by < 0 and cur < min - by) then
  return redis.error_reply('ERR increment would take the score outside the range of its Rust type')
end
local v = redis.call('ZINCRBY', KEYS[1], ARGV[1], ARGV[2])
if ARGV[5] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[5], 'NX') end
return v"
);

// The writes of a collection that may create its key, when the family
// declares a TTL (`collection::Handle::write_creating`): the write, then
// `PEXPIRE NX` on its key. In a `MULTI` a refused write (a key of another
// Redis type, WRONGTYPE) would not stop the `PEXPIRE`, which would arm a TTL
// on a key that had none; here `redis.call` raises on the refusal and nothing
// after it runs.
//
// KEYS: the keys the command names, in order; the first gets the TTL (the key
// written, or a store's destination). ARGV[1] the TTL (milliseconds); ARGV[2]
// the command; ARGV[3] how many options follow; then the options (sent after
// the keys), then the elements. Lua's `unpack` takes about 8000 values, so the
// elements go in chunks of at most 4000 (an even number: score/member and
// field/value pairs stay whole), each chunk after the keys and options, and
// the chunks' replies are summed (SADD, ZADD and HSET count what they added;
// a member written twice counts once, as in one command). A single chunk's
// reply is returned as is (ZINCRBY's score, ZADD CH's count). A chunk after
// the first cannot be refused once the first ran: the key's type is checked
// by the first, the elements are well formed, and a script that has written
// is not stopped for memory.
lua_script!(
    CREATING_WRITE,
    r"local first = 4 + tonumber(ARGV[3])
local reply = nil
local i = first
repeat
  local last = math.min(i + 3999, #ARGV)
  local args = {}
  for j = 1, #KEYS do args[#args + 1] = KEYS[j] end
  for j = 4, first - 1 do args[#args + 1] = ARGV[j] end
  for j = i, last do args[#args + 1] = ARGV[j] end
  local r = redis.call(ARGV[2], unpack(args))
  if reply == nil then reply = r else reply = reply + r end
  i = last + 1
until i > #ARGV
redis.call('PEXPIRE', KEYS[1], ARGV[1], 'NX')
return reply"
);

// An increment that may create its key, when the family declares a TTL
// (`Counter::incr`/`decr`, `Map::incr`): `INCRBY` (ARGV[2] the increment) or,
// with a field in ARGV[3], `HINCRBY`; then `PEXPIRE NX` (ARGV[1], the TTL in
// milliseconds), which a refused increment (not an integer, i64 overflow,
// WRONGTYPE) never reaches, as in CREATING_WRITE. The new value is read back
// as the stored string: Lua numbers are doubles and would round it beyond 2^53.
lua_script!(
    INCR_CREATING,
    r"if ARGV[3] then
  redis.call('HINCRBY', KEYS[1], ARGV[3], ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[1], 'NX')
  return redis.call('HGET', KEYS[1], ARGV[3])
end
redis.call('INCRBY', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[1], 'NX')
return redis.call('GET', KEYS[1])"
);

// A rate limit's hit (`Counter::hit`): `INCRBY 1`, `PEXPIRE NX` (ARGV[1], the
// window in milliseconds; never reached when the increment is refused), and
// the window's count and remaining time: `{count, PTTL}`, the count as the
// stored string (exact beyond 2^53, see INCR_CREATING).
lua_script!(
    COUNTER_HIT,
    r"redis.call('INCRBY', KEYS[1], 1)
redis.call('PEXPIRE', KEYS[1], ARGV[1], 'NX')
return {redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1])}"
);

// A list's push when the family declares a TTL (`List::push_*`, `enqueue`):
// ARGV[1] the TTL (milliseconds), ARGV[2] `LPUSH` or `RPUSH`, ARGV[3]/ARGV[4]
// the `LTRIM` range that keeps a capped list's newest items ('' and '' when
// uncapped), ARGV[5..] the items, pushed in order in chunks of at most 4000
// (Lua's `unpack` limit; pushing in turn is what one command does too). Then
// the trim and `PEXPIRE NX`, which a refused push (WRONGTYPE) never reaches.
// Returns the length after the push, before the trim.
lua_script!(
    LIST_PUSH,
    r"local len = 0
for i = 5, #ARGV, 4000 do
  len = redis.call(ARGV[2], KEYS[1], unpack(ARGV, i, math.min(i + 3999, #ARGV)))
end
if ARGV[3] ~= '' then redis.call('LTRIM', KEYS[1], ARGV[3], ARGV[4]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1], 'NX')
return len"
);

// Writes of a model with a version field, unique constraints or indexes
// (store/coordination.rs): the entity, its version and every constraint key
// change together, in one script, or nothing changes.
//
// KEYS[1] the entity (a hash); KEYS[2..1+n] its constraint keys, in the
// order of the schema in ARGV; KEYS[2+n..] entity keys of holders of unique
// values the caller was told to check (reply 'check' below), so that every
// key the script touches is declared.
// ARGV: n; per constraint its kind ('u' unique, 'e' index, 'r' range index)
// and stored field name; the version field ('' for none); the operation
// ('put' a full save, 'patch' changes as UPDATE_FIELDS takes them, 'del');
// the conditions (letters: 'n' only if absent, 'x' only if present, 'v' only
// if the stored version is the expected one; 'g': a deletion replies what it
// deleted, as HGETALL); the expected version; the TTL
// of a put (milliseconds, '' for none); then the put's field/value pairs or
// the patch's changes.
// Replies: {'ok', version, incremented...} (a 'g' deletion: {'ok', '',
// HGETALL}), {'exists', HGETALL}, {'missing'},
// {'conflict', version} (version '' when the entity does not exist),
// {'unique', field}, {'check', holder} (a unique value is claimed by another
// entity's key not yet declared: declare it and run again), {'range', field}
// (a range-indexed value that is not a number a score holds exactly: NaN, or
// an integer beyond 2^53). A new entity's version is the server's TIME in
// microseconds; every later write adds one.
// Every reply but 'ok' leaves everything as it was. Index members are
// hex(value) .. ':' .. entity key (hex keeps any value byte-safe and makes
// one value's members one lexical range); range members are the entity key,
// scored by the value; a unique hash maps each value to its holder's key.
/// The text of the coordinated write script, for the benchmarks' hand-written side.
pub const COORDINATED_WRITE_LUA: &str = concat!(
    r"local key = KEYS[1]
local n = tonumber(ARGV[1])
local cons = {}
local a = 2
for i = 1, n do
  cons[i] = {kind = ARGV[a], field = ARGV[a + 1], key = KEYS[1 + i]}
  a = a + 2
end
local declared = {}
for i = 2 + n, #KEYS do declared[KEYS[i]] = true end
local vfield, op, cond, expected, ttl = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4]
a = a + 5
local function has(flag) return string.find(cond, flag, 1, true) ~= nil end
local exists = redis.call('EXISTS', key) == 1
if has('n') and exists then return {'exists', redis.call('HGETALL', key)} end
if (has('x') or op == 'patch') and not exists then return {'missing'} end
local version = '0'
if vfield ~= '' and exists then version = redis.call('HGET', key, vfield) or '0' end
if has('v') then
  if not exists then
    if expected ~= '0' or op == 'del' then return {'conflict', ''} end
  elseif version ~= expected then
    return {'conflict', version}
  end
end
if op == 'del' and not exists then return {'missing'} end
local old, new = {}, {}
for i, c in ipairs(cons) do
  old[i] = false
  if exists then old[i] = redis.call('HGET', key, c.field) end
end
local function hex(s)
  return (string.gsub(s, '.', function(ch) return string.format('%02x', string.byte(ch)) end))
end
-- Whether the new values may be written: unique values free (or held by
-- an entity that no longer holds them), range values numbers.
local function refused()
  for i, c in ipairs(cons) do
    local v = new[i]
    if v and c.kind == 'u' then
      local holder = redis.call('HGET', c.key, v)
      if holder and holder ~= key then
        if not declared[holder] then return {'check', holder} end
        if redis.call('EXISTS', holder) == 1 and redis.call('HGET', holder, c.field) == v then
          return {'unique', c.field}
        end
      end
    elseif v and c.kind == 'r' then
      -- A number a score holds exactly: an integer within 2^53, or a float.
      local num = tonumber(v)
      if num == nil or num ~= num then return {'range', c.field} end
      local digits = string.match(v, '^-?(%d+)$')
      if digits and (#digits > 16 or (#digits == 16 and digits > '9007199254740992')) then
        return {'range', c.field}
      end
    end
  end
  return nil
end
local incremented = {}
if op == 'put' then
  local given = {}
  for j = a, #ARGV, 2 do given[ARGV[j]] = ARGV[j + 1] end
  for i, c in ipairs(cons) do new[i] = given[c.field] or false end
  local no = refused()
  if no then return no end
  if exists then redis.call('DEL', key) end
  redis.call('HSET', key, unpack(ARGV, a))
  if vfield ~= '' and exists then
    redis.call('HSET', key, vfield, version)
    redis.call('HINCRBY', key, vfield, 1)
  elseif vfield ~= '' then
    -- A new entity starts at the server's clock in microseconds: above
    -- every version an earlier entity of this key reached (each write takes
    -- the server more than a microsecond), so a copy read before a delete
    -- never matches the entity created after it.
    local t = redis.call('TIME')
    redis.call('HSET', key, vfield, t[1] .. string.format('%06d', tonumber(t[2])))
  end
  if ttl ~= '' then redis.call('PEXPIRE', key, ttl) end
elseif op == 'patch' then
  local undo = {}
  local function rollback()
    for j = #undo, 1, -1 do
      local field, prev = undo[j][1], undo[j][2]
      if prev then redis.call('HSET', key, field, prev) else redis.call('HDEL', key, field) end
    end
  end
  local i = a
  while i <= #ARGV do
    local change, field = ARGV[i], ARGV[i + 1]
    if field == vfield then
      rollback()
      return redis.error_reply('ERR the version field is written by the store only')
    end
    undo[#undo + 1] = {field, redis.call('HGET', key, field)}
    if change == 's' then
      redis.call('HSET', key, field, ARGV[i + 2])
      i = i + 3
    elseif change == 'c' then
      redis.call('HDEL', key, field)
      i = i + 2
    elseif change == 'i' then
      local v = redis.pcall('HINCRBY', key, field, ARGV[i + 2])
      if type(v) == 'table' then
        rollback()
        return v
      end
      local min, max = ARGV[i + 3], ARGV[i + 4]
      if ",
    out_of_range!("min", "max"),
    r" then
        rollback()
        return ",
    out_of_range_error!(),
    r"
      end
      incremented[#incremented + 1] = redis.call('HGET', key, field)
      i = i + 5
    else
      rollback()
      return redis.error_reply('ERR unknown change in an update')
    end
  end
  for j, c in ipairs(cons) do new[j] = redis.call('HGET', key, c.field) end
  local no = refused()
  if no then
    rollback()
    return no
  end
  if vfield ~= '' then
    if not redis.call('HGET', key, vfield) then redis.call('HSET', key, vfield, version) end
    redis.call('HINCRBY', key, vfield, 1)
  end
else
  for i = 1, n do new[i] = false end
  if has('g') then incremented = {redis.call('HGETALL', key)} end
  redis.call('DEL', key)
end
for i, c in ipairs(cons) do
  local o, v = old[i], new[i]
  if c.kind == 'u' then
    if o and o ~= v and redis.call('HGET', c.key, o) == key then redis.call('HDEL', c.key, o) end
    if v then redis.call('HSET', c.key, v, key) end
  elseif o ~= v then
    if c.kind == 'e' then
      if o then redis.call('ZREM', c.key, hex(o) .. ':' .. key) end
      if v then redis.call('ZADD', c.key, 0, hex(v) .. ':' .. key) end
    elseif v then
      redis.call('ZADD', c.key, v, key)
    else
      redis.call('ZREM', c.key, key)
    end
  end
end
local reply = {'ok', ''}
if vfield ~= '' and op ~= 'del' then reply[2] = redis.call('HGET', key, vfield) end
for _, v in ipairs(incremented) do reply[#reply + 1] = v end
return reply"
);

lua_script!(COORDINATED_WRITE, COORDINATED_WRITE_LUA);

// A query's second step (store/coordination.rs): the index members a first
// step read, checked against their entities now, in one script. KEYS[1] the
// index; KEYS[2..] the candidates' entity keys, in the order of ARGV[4..]
// (their members). ARGV[1] 'e' (ARGV[2] the stored value the entity must
// hold, ARGV[3] the field) or 'r' (ARGV[2] 'min max' as ZRANGE BYSCORE
// bounds, ARGV[3] the field). A member whose entity no longer exists, or no
// longer holds a value of the index (an entity that expired and was saved
// again without it) is removed; an entity whose value moved out of the
// query since the first step is left out. Replies, per candidate in order,
// its HGETALL, or 0 when it is left out.
/// The text of the index check script, for the benchmarks' hand-written side.
pub const INDEX_CHECK_LUA: &str = r"local field = ARGV[3]
local lo, hi
if ARGV[1] == 'r' then
  local sp = string.find(ARGV[2], ' ', 1, true)
  lo, hi = string.sub(ARGV[2], 1, sp - 1), string.sub(ARGV[2], sp + 1)
end
local function above(x, b)
  if b == '-inf' then return true end
  if string.sub(b, 1, 1) == '(' then return x > tonumber(string.sub(b, 2)) end
  return x >= tonumber(b)
end
local function below(x, b)
  if b == '+inf' then return true end
  if string.sub(b, 1, 1) == '(' then return x < tonumber(string.sub(b, 2)) end
  return x <= tonumber(b)
end
local out = {}
for i = 2, #KEYS do
  local member = ARGV[i + 2]
  local v = redis.call('HGET', KEYS[i], field)
  local keep = false
  if not v then
    redis.call('ZREM', KEYS[1], member)
  elseif ARGV[1] == 'e' then
    if v == ARGV[2] then keep = true else redis.call('ZREM', KEYS[1], member) end
  else
    local x = tonumber(v)
    if x == nil then
      redis.call('ZREM', KEYS[1], member)
    else
      if tonumber(redis.call('ZSCORE', KEYS[1], member)) ~= x then redis.call('ZADD', KEYS[1], v, member) end
      keep = above(x, lo) and below(x, hi)
    end
  end
  if keep then out[#out + 1] = redis.call('HGETALL', KEYS[i]) else out[#out + 1] = 0 end
end
return out";

lua_script!(INDEX_CHECK, INDEX_CHECK_LUA);

// A unique lookup's second step: KEYS[1] the unique hash, KEYS[2] the holder
// its first step read for value ARGV[2] of field ARGV[1]. Replies the
// holder's HGETALL; {} when the claim is stale (its holder gone or holding
// another value: the claim is removed); 0 when the claim changed since the
// first step (read again).
lua_script!(
    UNIQUE_CHECK,
    r"if redis.call('HGET', KEYS[1], ARGV[2]) ~= KEYS[2] then return 0 end
if redis.call('HGET', KEYS[2], ARGV[1]) == ARGV[2] then return redis.call('HGETALL', KEYS[2]) end
redis.call('HDEL', KEYS[1], ARGV[2])
return {}"
);

// Repair of a unique hash: KEYS[1] the hash, KEYS[2..] the holders of the
// values ARGV[2..] (in order) of field ARGV[1]; removes each claim whose
// holder no longer holds the value. Replies how many were removed.
lua_script!(
    UNIQUE_REPAIR,
    r"local removed = 0
for i = 2, #KEYS do
  local v = ARGV[i]
  if redis.call('HGET', KEYS[1], v) == KEYS[i] and redis.call('HGET', KEYS[i], ARGV[1]) ~= v then
    redis.call('HDEL', KEYS[1], v)
    removed = removed + 1
  end
end
return removed"
);

// Dead-lettering one pending entry of a stream: KEYS[1] the stream, KEYS[2]
// its dead-letter stream (same slot). ARGV[1] the group, ARGV[2] the entry
// id, ARGV[3] the consumer, ARGV[4] the reason, ARGV[5] the dead-letter
// stream's approximate cap. The copy is appended before the entry is
// acknowledged, so a refused append (OOM) changes nothing. Replies 1 when
// copied and acknowledged, 0 when the entry was deleted (trimmed) while
// pending (acknowledged, nothing to copy), -1 when it is not pending in the
// group (another consumer acknowledged or dead-lettered it).
lua_script!(
    STREAM_DEAD_LETTER,
    r"local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
if #p == 0 then return -1 end
local e = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])
if #e == 0 or not e[1][2] then
  redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
  return 0
end
local args = {'XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', 'id', ARGV[2], 'group', ARGV[1], 'consumer', ARGV[3], 'deliveries', p[1][4], 'reason', ARGV[4]}
local fields = e[1][2]
for i = 1, #fields, 2 do
  if fields[i] == 'event' then
    args[#args + 1] = 'event'
    args[#args + 1] = fields[i + 1]
  end
end
redis.call(unpack(args))
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
return 1"
);

// Reclaiming a stream's idle entries: KEYS[1] the stream, KEYS[2] its
// dead-letter stream. ARGV[1] the group, ARGV[2] the claiming consumer,
// ARGV[3] the least idle time in ms, ARGV[4] the XAUTOCLAIM cursor, ARGV[5]
// the count, ARGV[6] the delivery limit (0: none), ARGV[7] the dead-letter
// cap, ARGV[8] the reason written for entries over the limit. Claims with
// XAUTOCLAIM (which counts a delivery), reads each claimed entry's delivery
// count, and dead-letters (copy, then acknowledge) those delivered more than
// the limit. Replies {next cursor, {{id, fields, deliveries}...}, {deleted
// ids...}, {dead-lettered ids...}}.
lua_script!(
    STREAM_RECLAIM,
    r"local r = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], 'COUNT', ARGV[5])
local limit = tonumber(ARGV[6])
local claimed, deleted, dead = {}, r[3] or {}, {}
for _, e in ipairs(r[2]) do
  if not e[2] then
    redis.call('XACK', KEYS[1], ARGV[1], e[1])
    deleted[#deleted + 1] = e[1]
  else
    local n = 1
    local p = redis.call('XPENDING', KEYS[1], ARGV[1], e[1], e[1], 1)
    if #p > 0 then n = p[1][4] end
    if limit > 0 and n > limit then
      local args = {'XADD', KEYS[2], 'MAXLEN', '~', ARGV[7], '*', 'id', e[1], 'group', ARGV[1], 'consumer', ARGV[2], 'deliveries', n - 1, 'reason', ARGV[8]}
      for i = 1, #e[2], 2 do
        if e[2][i] == 'event' then
          args[#args + 1] = 'event'
          args[#args + 1] = e[2][i + 1]
        end
      end
      redis.call(unpack(args))
      redis.call('XACK', KEYS[1], ARGV[1], e[1])
      dead[#dead + 1] = e[1]
    else
      claimed[#claimed + 1] = {e[1], e[2], n}
    end
  end
end
return {r[1], claimed, deleted, dead}"
);

// Marking a stream entry processed: KEYS[1] the processed-id set (a sorted
// set scored by the server's time in ms). ARGV[1] the member (`group`, a
// space, the entry id), ARGV[2] how long ids are kept, in ms. Drops ids
// older than that, adds this one unless present, re-arms the key's TTL.
// Replies 1 when the id was not there (process it), 0 when it was.
lua_script!(
    STREAM_MARK_PROCESSED,
    r"local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local keep = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - keep))
local added = redis.call('ZADD', KEYS[1], 'NX', now, ARGV[1])
redis.call('PEXPIRE', KEYS[1], keep)
return added"
);
