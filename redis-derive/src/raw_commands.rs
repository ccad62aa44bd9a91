//! The Redis commands a raw family (`#[derive(RedisRaw)]`) may declare: the
//! commands of Redis 7 that take keys, by the Redis type they operate on, in
//! the ACL's spelling (lower case, `parent|sub` for a subcommand).

/// The Redis types a raw family's keys may hold, as `TYPE` names them.
pub(crate) const REDIS_TYPES: &[&str] = &["string", "hash", "list", "set", "zset", "stream"];

/// Commands that operate on a key of any type.
const GENERIC: &[&str] = &[
    "del",
    "unlink",
    "exists",
    "type",
    "expire",
    "pexpire",
    "expireat",
    "pexpireat",
    "expiretime",
    "pexpiretime",
    "ttl",
    "pttl",
    "persist",
    "touch",
    "dump",
    "restore",
    "rename",
    "renamenx",
    "copy",
    "object|encoding",
    "object|freq",
    "object|idletime",
    "object|refcount",
    "memory|usage",
];

const STRING: &[&str] = &[
    "get",
    "set",
    "setnx",
    "setex",
    "psetex",
    "getset",
    "getdel",
    "getex",
    "mget",
    "mset",
    "msetnx",
    "append",
    "strlen",
    "getrange",
    "setrange",
    "substr",
    "incr",
    "incrby",
    "incrbyfloat",
    "decr",
    "decrby",
    "setbit",
    "getbit",
    "bitcount",
    "bitpos",
    "bitop",
    "bitfield",
    "bitfield_ro",
    "lcs",
];

const HASH: &[&str] = &[
    "hget",
    "hset",
    "hsetnx",
    "hmset",
    "hmget",
    "hgetall",
    "hdel",
    "hexists",
    "hincrby",
    "hincrbyfloat",
    "hkeys",
    "hvals",
    "hlen",
    "hstrlen",
    "hscan",
    "hrandfield",
];

const LIST: &[&str] = &[
    "lpush",
    "rpush",
    "lpushx",
    "rpushx",
    "lpop",
    "rpop",
    "blpop",
    "brpop",
    "lrange",
    "lindex",
    "lset",
    "linsert",
    "llen",
    "lrem",
    "ltrim",
    "lpos",
    "lmove",
    "blmove",
    "rpoplpush",
    "brpoplpush",
    "lmpop",
    "blmpop",
    "sort",
    "sort_ro",
];

const SET: &[&str] = &[
    "sadd",
    "srem",
    "smembers",
    "sismember",
    "smismember",
    "scard",
    "spop",
    "srandmember",
    "smove",
    "sinter",
    "sintercard",
    "sinterstore",
    "sunion",
    "sunionstore",
    "sdiff",
    "sdiffstore",
    "sscan",
    "sort",
    "sort_ro",
];

const ZSET: &[&str] = &[
    "zadd",
    "zrem",
    "zscore",
    "zmscore",
    "zincrby",
    "zcard",
    "zcount",
    "zlexcount",
    "zrange",
    "zrangestore",
    "zrangebyscore",
    "zrevrangebyscore",
    "zrangebylex",
    "zrevrangebylex",
    "zrevrange",
    "zrank",
    "zrevrank",
    "zremrangebyrank",
    "zremrangebyscore",
    "zremrangebylex",
    "zpopmin",
    "zpopmax",
    "bzpopmin",
    "bzpopmax",
    "zmpop",
    "bzmpop",
    "zrandmember",
    "zscan",
    "zunion",
    "zunionstore",
    "zinter",
    "zinterstore",
    "zintercard",
    "zdiff",
    "zdiffstore",
    "sort",
    "sort_ro",
];

const STREAM: &[&str] = &[
    "xadd",
    "xrange",
    "xrevrange",
    "xlen",
    "xread",
    "xreadgroup",
    "xdel",
    "xtrim",
    "xack",
    "xpending",
    "xclaim",
    "xautoclaim",
    "xsetid",
    "xgroup|create",
    "xgroup|destroy",
    "xgroup|createconsumer",
    "xgroup|delconsumer",
    "xgroup|setid",
    "xinfo|stream",
    "xinfo|groups",
    "xinfo|consumers",
];

/// The commands of keys of one Redis type (generic commands not included).
fn of_type(redis_type: &str) -> &'static [&'static str] {
    match redis_type {
        "string" => STRING,
        "hash" => HASH,
        "list" => LIST,
        "set" => SET,
        "zset" => ZSET,
        "stream" => STREAM,
        _ => &[],
    }
}

/// Every command known, each once.
pub(crate) fn all() -> Vec<String> {
    let mut all: Vec<String> = GENERIC
        .iter()
        .chain(REDIS_TYPES.iter().flat_map(|t| of_type(t).iter()))
        .map(|c| (*c).to_owned())
        .collect();
    all.sort();
    all.dedup();
    all
}

/// Whether `command` operates on keys of `redis_type`.
pub(crate) fn applies(command: &str, redis_type: &str) -> bool {
    GENERIC.contains(&command) || of_type(redis_type).contains(&command)
}

/// The Redis types whose keys `command` operates on (empty for a generic
/// command or an unknown one).
pub(crate) fn types_of(command: &str) -> Vec<&'static str> {
    REDIS_TYPES
        .iter()
        .copied()
        .filter(|t| of_type(t).contains(&command))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_by_type() {
        assert!(applies("lpush", "list"));
        assert!(applies("expire", "zset"));
        assert!(!applies("hset", "list"));
        assert_eq!(types_of("hset"), ["hash"]);
        assert_eq!(types_of("sort"), ["list", "set", "zset"]);
        assert!(all().contains(&"xgroup|create".to_owned()));
        assert!(!all().contains(&"keys".to_owned()));
    }
}
