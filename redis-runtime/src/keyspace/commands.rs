//! The one table of the commands the runtime sends, per key kind.
//!
//! Everything that needs to know what the runtime sends reads it from here:
//! the ACL rule grants exactly these commands ([`runtime_commands`]), doctor
//! dry-runs each family's rows against the connected user ([`commands_for_kind`]),
//! and the manifest lists them per family. `tests/tests/commands.rs` runs every
//! `Store` operation of every encoding and checks against the server's
//! `INFO commandstats` that nothing outside this table was sent. A new key
//! kind adds a [`KeyKind`] with its rows here, not code in three places.

/// Whether a command reads or writes the key it is sent to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Access {
    /// Reads only.
    Read,
    /// May write.
    Write,
}

/// One command the runtime sends to a key of some kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyCommand {
    /// The command, lower case, as the ACL spells it.
    pub name: &'static str,
    /// Arguments between the command and the key, as a dry run sends them (a
    /// script's body or sha, and its key count).
    pub before_key: &'static [&'static str],
    /// Sample arguments after the key, for a dry run.
    pub after_key: &'static [&'static str],
    /// Whether it reads or writes.
    pub access: Access,
    /// The `Store` operations that send it.
    pub operations: &'static [&'static str],
}

/// The commands the runtime sends to keys of one Redis type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyKind {
    /// The Redis type the kind's keys hold (`TYPE key`), as the manifest names it.
    pub redis_type: &'static str,
    /// The families this row serves, by the manifest's `encoding` (an
    /// entity's encoding, or a collection kind: [`crate::model::Kind::as_str`]).
    pub kinds: &'static [&'static str],
    /// Every command sent to such a key.
    pub commands: &'static [KeyCommand],
    /// The commands its Lua scripts call on such a key (the server checks
    /// them against the ACL too, as the user's).
    pub script_calls: &'static [KeyCommand],
}

/// A sha no script has: a dry run checks permissions, not the script.
const NO_SCRIPT_SHA: &str = "0000000000000000000000000000000000000000";

const fn row(
    name: &'static str,
    access: Access,
    after_key: &'static [&'static str],
    operations: &'static [&'static str],
) -> KeyCommand {
    KeyCommand {
        name,
        before_key: &[],
        after_key,
        access,
        operations,
    }
}

const fn read(
    name: &'static str,
    after_key: &'static [&'static str],
    operations: &'static [&'static str],
) -> KeyCommand {
    row(name, Access::Read, after_key, operations)
}

const fn write(
    name: &'static str,
    after_key: &'static [&'static str],
    operations: &'static [&'static str],
) -> KeyCommand {
    row(name, Access::Write, after_key, operations)
}

/// The operations that run a script (on hash models; on a model with a
/// version field, unique constraints or indexes, every write, and its
/// queries and repair).
const SCRIPT_OPERATIONS: &[&str] = &[
    "set_field",
    "clear_field",
    "incr",
    "insert",
    "insert_or_get",
    "replace",
    "take",
    "get_and_refresh",
    "update",
    "incr_or_insert",
    "save",
    "save_many",
    "delete",
    "delete_many",
    "modify",
    "find",
    "repair",
];

/// The writes of a model with constraints: each runs the one script that
/// keeps the entity, its version and its constraint keys together.
const COORDINATED_WRITES: &[&str] = &[
    "save",
    "save_many",
    "insert",
    "insert_or_get",
    "replace",
    "take",
    "delete",
    "delete_many",
    "set_field",
    "clear_field",
    "incr",
    "update",
    "incr_or_insert",
    "modify",
];

/// The operations that read an index or a unique hash, or repair them.
const CONSTRAINT_READS: &[&str] = &["find", "repair"];

/// The operations that run a script on a constraint key: every coordinated
/// write, and the second step of the queries and of repair.
const CONSTRAINT_SCRIPT_OPERATIONS: &[&str] = &[
    "save",
    "save_many",
    "insert",
    "insert_or_get",
    "replace",
    "take",
    "delete",
    "delete_many",
    "set_field",
    "clear_field",
    "incr",
    "update",
    "incr_or_insert",
    "modify",
    "find",
    "repair",
];

const INDEX_ROWS: [KeyCommand; 3] = [
    read("zrange", &["0", "-1"], CONSTRAINT_READS),
    collection_scripts(CONSTRAINT_SCRIPT_OPERATIONS)[0],
    collection_scripts(CONSTRAINT_SCRIPT_OPERATIONS)[1],
];

/// The indexes of models (`#[redis(index)]`, `#[redis(index(range))]`):
/// one sorted set per hash-tag value, written only by the model's scripts.
pub const INDEX: KeyKind = KeyKind {
    redis_type: "zset",
    kinds: &["index", "range_index"],
    commands: &INDEX_ROWS,
    script_calls: &[
        write("zadd", &["0", "m"], CONSTRAINT_SCRIPT_OPERATIONS),
        write("zrem", &["m"], CONSTRAINT_SCRIPT_OPERATIONS),
        read("zscore", &["m"], CONSTRAINT_READS),
    ],
};

const UNIQUE_ROWS: [KeyCommand; 4] = [
    read("hget", &["f"], &["find"]),
    read("hscan", &["0"], &["repair"]),
    collection_scripts(CONSTRAINT_SCRIPT_OPERATIONS)[0],
    collection_scripts(CONSTRAINT_SCRIPT_OPERATIONS)[1],
];

/// The unique constraints of models (`#[redis(unique)]`): one hash per
/// hash-tag value, from each value to its holder's key.
pub const UNIQUE: KeyKind = KeyKind {
    redis_type: "hash",
    kinds: &["unique"],
    commands: &UNIQUE_ROWS,
    script_calls: &[
        read("hget", &["f"], CONSTRAINT_SCRIPT_OPERATIONS),
        write("hset", &["f", "v"], COORDINATED_WRITES),
        write("hdel", &["f"], CONSTRAINT_SCRIPT_OPERATIONS),
    ],
};

/// The script runner: `EVALSHA`, and `EVAL` when the server lacks the script.
const fn script(name: &'static str, before_key: &'static [&'static str]) -> KeyCommand {
    KeyCommand {
        before_key,
        ..write(name, &[], SCRIPT_OPERATIONS)
    }
}

/// The script runner's two rows for a collection kind's `operations`.
const fn collection_scripts(operations: &'static [&'static str]) -> [KeyCommand; 2] {
    [
        KeyCommand {
            before_key: &[NO_SCRIPT_SHA, "1"],
            ..write("evalsha", &[], operations)
        },
        KeyCommand {
            before_key: &["return 1", "1"],
            ..write("eval", &[], operations)
        },
    ]
}

/// Entities stored as a hash (`encoding = "hash"`).
pub const HASH: KeyKind = KeyKind {
    redis_type: "hash",
    kinds: &["hash"],
    commands: &[
        read("hgetall", &[], &["get", "get_many"]),
        read("hget", &["f"], &["get_field"]),
        read("hmget", &["f"], &["get_fields", "get_fields_many"]),
        read("exists", &[], &["exists", "get_fields", "get_fields_many"]),
        read("pttl", &[], &["ttl"]),
        write("del", &[], &["save", "save_many", "delete", "delete_many"]),
        write("hset", &["f", "v"], &["save", "save_many"]),
        write(
            "pexpire",
            &["1000"],
            &["save", "save_many", "expire", "refresh_ttl"],
        ),
        write("persist", &[], &["persist", "refresh_ttl"]),
        script("evalsha", &[NO_SCRIPT_SHA, "1"]),
        script("eval", &["return 1", "1"]),
    ],
    script_calls: &[
        read(
            "exists",
            &[],
            &[
                "set_field",
                "clear_field",
                "incr",
                "insert",
                "replace",
                "update",
                "incr_or_insert",
            ],
        ),
        read("hget", &["f"], &["incr", "update", "incr_or_insert"]),
        read(
            "hgetall",
            &[],
            &["insert_or_get", "take", "get_and_refresh"],
        ),
        write(
            "hset",
            &["f", "v"],
            &[
                "set_field",
                "incr",
                "insert",
                "insert_or_get",
                "replace",
                "update",
                "incr_or_insert",
            ],
        ),
        write(
            "hdel",
            &["f"],
            &["clear_field", "incr", "update", "incr_or_insert"],
        ),
        write(
            "hincrby",
            &["f", "1"],
            &["incr", "update", "incr_or_insert"],
        ),
        write("del", &[], &["replace", "take", "incr_or_insert"]),
        write(
            "pexpire",
            &["1000"],
            &[
                "insert",
                "insert_or_get",
                "replace",
                "get_and_refresh",
                "incr_or_insert",
            ],
        ),
        write("persist", &[], &["get_and_refresh"]),
    ],
};

/// Entities stored as one string (`encoding = "json"` or `"msgpack"`, a
/// custom `codec = ...` or `codec = raw`).
pub const STRING: KeyKind = KeyKind {
    redis_type: "string",
    kinds: &["json", "msgpack", "codec", "raw"],
    commands: &[
        read("get", &[], &["get"]),
        read("mget", &[], &["get_many"]),
        read("exists", &[], &["exists"]),
        read("pttl", &[], &["ttl"]),
        write(
            "set",
            &["v", "PX", "1000"],
            &["save", "save_many", "insert", "insert_or_get", "replace"],
        ),
        write("del", &[], &["delete", "delete_many"]),
        write("getdel", &[], &["take"]),
        write("getex", &["PX", "1000"], &["get_and_refresh"]),
        write("pexpire", &["1000"], &["expire", "refresh_ttl"]),
        write("persist", &[], &["persist", "refresh_ttl"]),
    ],
    script_calls: &[],
};

/// The commands every collection kind sends to its keys besides its own:
/// the TTL operations of its handle and `delete`.
macro_rules! collection_ttl_rows {
    () => {
        [
            write("del", &[], &["delete"]),
            read("exists", &[], &["exists"]),
            read("pttl", &[], &["ttl"]),
            write("pexpire", &["1000"], &["expire", "refresh_ttl"]),
            write("persist", &[], &["persist", "refresh_ttl"]),
        ]
    };
}

/// Concatenates a kind's own rows with [`collection_ttl_rows`].
const fn with_ttl_rows<const N: usize, const M: usize>(
    own: [KeyCommand; N],
    ttl: [KeyCommand; 5],
) -> [KeyCommand; M] {
    assert!(M == N + 5);
    let mut all = [ttl[0]; M];
    let mut i = 0;
    while i < N {
        all[i] = own[i];
        i += 1;
    }
    while i < M {
        all[i] = ttl[i - N];
        i += 1;
    }
    all
}

/// A set's operations that may create a key: with a declared TTL, one
/// script runs the write and then arms the TTL (`PEXPIRE NX`).
const SET_CREATING: &[&str] = &["add", "add_many", "store_*"];

const SET_ROWS: [KeyCommand; 23] = with_ttl_rows(
    [
        // Without a declared TTL; with one, the script sends it.
        write("sadd", &["m"], &["add", "add_many"]),
        collection_scripts(SET_CREATING)[0],
        collection_scripts(SET_CREATING)[1],
        write("srem", &["m"], &["remove", "remove_many"]),
        read("sismember", &["m"], &["contains"]),
        read("smismember", &["m"], &["contains_many"]),
        read("smembers", &[], &["members"]),
        read("sscan", &["0"], &["scan"]),
        read("scard", &[], &["len"]),
        read("srandmember", &[], &["random"]),
        write("spop", &[], &["pop"]),
        write("smove", &["k", "m"], &["move_member"]),
        read("sunion", &[], &["union"]),
        read("sinter", &[], &["intersection"]),
        read("sdiff", &[], &["difference"]),
        write("sunionstore", &["k"], &["store_union"]),
        write("sinterstore", &["k"], &["store_intersection"]),
        write("sdiffstore", &["k"], &["store_difference"]),
    ],
    collection_ttl_rows!(),
);

/// Sets (`#[derive(RedisSet)]`).
pub const SET: KeyKind = KeyKind {
    redis_type: "set",
    kinds: &["set"],
    commands: &SET_ROWS,
    script_calls: &[
        write("sadd", &["m"], &["add", "add_many"]),
        write("sunionstore", &["k"], &["store_union"]),
        write("sinterstore", &["k"], &["store_intersection"]),
        write("sdiffstore", &["k"], &["store_difference"]),
        // Arms the declared TTL after the write that may create the key.
        write("pexpire", &["1000", "NX"], SET_CREATING),
    ],
};

/// A sorted set's operations that may create a key and run a script: with
/// a declared TTL all of them (the write, then `PEXPIRE NX`), and `incr` of
/// an integer score always (it checks the result fits before writing).
const SORTED_SET_SCRIPTS: &[&str] = &["add", "add_many", "add_with", "incr"];

const SORTED_SET_ROWS: [KeyCommand; 21] = with_ttl_rows(
    [
        // Without a declared TTL; with one, the script sends them.
        write("zadd", &["1", "m"], &["add", "add_many", "add_with"]),
        // `incr` of a float score; an integer score's runs a script.
        write("zincrby", &["1", "m"], &["incr"]),
        read("zscore", &["m"], &["score"]),
        read("zrank", &["m"], &["rank"]),
        read("zrevrank", &["m"], &["rank_rev"]),
        read(
            "zrange",
            &["0", "-1"],
            &["range", "top", "range_by_score", "range_by_lex"],
        ),
        write("zrem", &["m"], &["remove"]),
        write("zremrangebyrank", &["0", "0"], &["remove_by_rank"]),
        write("zremrangebyscore", &["0", "1"], &["remove_by_score"]),
        read("zcard", &[], &["len"]),
        read("zcount", &["0", "1"], &["count"]),
        write("zpopmin", &[], &["pop_min"]),
        write("zpopmax", &[], &["pop_max"]),
        read("zmscore", &["m"], &["scores"]),
        collection_scripts(SORTED_SET_SCRIPTS)[0],
        collection_scripts(SORTED_SET_SCRIPTS)[1],
    ],
    collection_ttl_rows!(),
);

/// Sorted sets (`#[derive(RedisSortedSet)]`).
pub const SORTED_SET: KeyKind = KeyKind {
    redis_type: "zset",
    kinds: &["sorted_set"],
    commands: &SORTED_SET_ROWS,
    script_calls: &[
        read("zscore", &["m"], &["incr"]),
        write("zincrby", &["1", "m"], &["incr"]),
        write("zadd", &["1", "m"], &["add", "add_many", "add_with"]),
        write("pexpire", &["1000", "NX"], SORTED_SET_SCRIPTS),
    ],
};

/// A counter's increments: with a declared TTL (always for `hit`), one
/// script runs the increment, then arms the TTL (`PEXPIRE NX`) and reads
/// the new value back.
const COUNTER_SCRIPTS: &[&str] = &["incr", "decr", "hit"];

const COUNTER_ROWS: [KeyCommand; 10] = with_ttl_rows(
    [
        read("get", &[], &["get"]),
        // Without a declared TTL; with one, the script sends it.
        write("incrby", &["1"], &["incr", "decr"]),
        write("set", &["1"], &["set"]),
        collection_scripts(COUNTER_SCRIPTS)[0],
        collection_scripts(COUNTER_SCRIPTS)[1],
    ],
    collection_ttl_rows!(),
);

/// Counters (`#[derive(RedisCounter)]`).
pub const COUNTER: KeyKind = KeyKind {
    redis_type: "string",
    kinds: &["counter"],
    commands: &COUNTER_ROWS,
    script_calls: &[
        write("incrby", &["1"], COUNTER_SCRIPTS),
        write("pexpire", &["1000", "NX"], COUNTER_SCRIPTS),
        read("get", &[], COUNTER_SCRIPTS),
        read("pttl", &[], &["hit"]),
    ],
};

/// A map's writes that may create a key: with a declared TTL, one script
/// runs the write, then arms the TTL (`PEXPIRE NX`).
const MAP_CREATING: &[&str] = &["set", "set_many", "incr"];

const MAP_ROWS: [KeyCommand; 16] = with_ttl_rows(
    [
        // Without a declared TTL; with one, the script sends it.
        write("hset", &["f", "v"], &["set", "set_many"]),
        read("hget", &["f"], &["get"]),
        read("hmget", &["f"], &["get_many"]),
        read("hgetall", &[], &["all"]),
        read("hexists", &["f"], &["contains"]),
        write("hdel", &["f"], &["remove", "remove_many"]),
        read("hlen", &[], &["len"]),
        read("hscan", &["0"], &["scan"]),
        write("hincrby", &["f", "1"], &["incr"]),
        collection_scripts(MAP_CREATING)[0],
        collection_scripts(MAP_CREATING)[1],
    ],
    collection_ttl_rows!(),
);

/// Maps (`#[derive(RedisMap)]`).
pub const MAP: KeyKind = KeyKind {
    redis_type: "hash",
    kinds: &["map"],
    commands: &MAP_ROWS,
    script_calls: &[
        write("hset", &["f", "v"], &["set", "set_many"]),
        write("hincrby", &["f", "1"], &["incr"]),
        // `incr` reads the new value back.
        read("hget", &["f"], &["incr"]),
        write("pexpire", &["1000", "NX"], MAP_CREATING),
    ],
};

/// The operations of a list that run a script: a queue's, and the pushes
/// of a list with a declared TTL (the push, the trim, then `PEXPIRE NX`).
const LIST_SCRIPT_OPERATIONS: &[&str] = &[
    "requeue",
    "recover",
    "push_front",
    "push_front_many",
    "push_back",
    "push_back_many",
    "enqueue",
    "enqueue_many",
];

const LIST_ROWS: [KeyCommand; 21] = with_ttl_rows(
    [
        // Pushes without a declared TTL; with one, the script sends them.
        write("lpush", &["i"], &["push_front", "push_front_many"]),
        write(
            "rpush",
            &["i"],
            &["push_back", "push_back_many", "enqueue", "enqueue_many"],
        ),
        // A capped list keeps its newest items in the push's transaction
        // (without a declared TTL).
        write(
            "ltrim",
            &["0", "-1"],
            &[
                "push_front",
                "push_front_many",
                "push_back",
                "push_back_many",
                "trim",
            ],
        ),
        write("lpop", &[], &["pop_front", "pop_front_many"]),
        write("rpop", &[], &["pop_back", "pop_back_many"]),
        // Blocking pops and takes, each on a connection of its own.
        write("blpop", &["1"], &["pop_front_blocking"]),
        write("brpop", &["1"], &["pop_back_blocking"]),
        read("lrange", &["0", "-1"], &["range", "in_flight"]),
        read("llen", &[], &["len", "push_front_many", "push_back_many"]),
        read("lindex", &["0"], &["get"]),
        write("lset", &["0", "i"], &["set"]),
        write("lrem", &["1", "i"], &["remove", "ack"]),
        // The queue's take: from the queue to the consumer's in-flight list,
        // a key of the same slot.
        write("lmove", &["k", "LEFT", "RIGHT"], &["take"]),
        write("blmove", &["k", "LEFT", "RIGHT", "1"], &["take_blocking"]),
        collection_scripts(LIST_SCRIPT_OPERATIONS)[0],
        collection_scripts(LIST_SCRIPT_OPERATIONS)[1],
    ],
    collection_ttl_rows!(),
);

/// Lists (`#[derive(RedisList)]`), reliable queues and their in-flight lists.
pub const LIST: KeyKind = KeyKind {
    redis_type: "list",
    kinds: &["list"],
    commands: &LIST_ROWS,
    script_calls: &[
        write("lrem", &["1", "i"], &["requeue"]),
        write(
            "rpush",
            &["i"],
            &[
                "requeue",
                "push_back",
                "push_back_many",
                "enqueue",
                "enqueue_many",
            ],
        ),
        write("lpush", &["i"], &["push_front", "push_front_many"]),
        // A capped list keeps its newest items.
        write(
            "ltrim",
            &["0", "-1"],
            &[
                "push_front",
                "push_front_many",
                "push_back",
                "push_back_many",
            ],
        ),
        write("pexpire", &["1000", "NX"], LIST_SCRIPT_OPERATIONS),
        write("lmove", &["k", "RIGHT", "LEFT"], &["recover"]),
    ],
};

/// A lease's operations that run a script (`try_acquire` and `acquire`
/// also name the fence key, in the same slot).
const LEASE_SCRIPTS: &[&str] = &["try_acquire", "acquire", "extend", "release"];

const LEASE_ROWS: [KeyCommand; 7] = with_ttl_rows(
    [
        collection_scripts(LEASE_SCRIPTS)[0],
        collection_scripts(LEASE_SCRIPTS)[1],
    ],
    collection_ttl_rows!(),
);

/// Leases (`#[derive(RedisLock)]`): a string holding the holder's token.
pub const LEASE: KeyKind = KeyKind {
    redis_type: "string",
    kinds: &["lease"],
    commands: &LEASE_ROWS,
    script_calls: &[
        read("exists", &[], &["try_acquire", "acquire"]),
        read("pttl", &[], &["try_acquire", "acquire"]),
        write("set", &["v", "PX", "1000"], &["try_acquire", "acquire"]),
        read("get", &[], &["extend", "release"]),
        write("pexpire", &["1000"], &["extend"]),
        write("del", &[], &["release"]),
    ],
};

const LEASE_FENCE_ROWS: [KeyCommand; 8] = with_ttl_rows(
    [
        read("get", &[], &["current_fence"]),
        collection_scripts(&["try_acquire", "acquire"])[0],
        collection_scripts(&["try_acquire", "acquire"])[1],
    ],
    collection_ttl_rows!(),
);

/// The fencing-token counters of leases (`{Lock}Fence`): a string holding
/// an integer, incremented by each acquire's script.
pub const LEASE_FENCE: KeyKind = KeyKind {
    redis_type: "string",
    kinds: &["lease_fence"],
    commands: &LEASE_FENCE_ROWS,
    script_calls: &[
        write("incr", &[], &["try_acquire", "acquire"]),
        read("get", &[], &["try_acquire", "acquire"]),
    ],
};

/// The rows of a rate limiter's key: its one script (`allow`) and the TTL
/// calls every kind has.
const RATE_LIMIT_ROWS: [KeyCommand; 7] = with_ttl_rows(
    [
        collection_scripts(&["allow"])[0],
        collection_scripts(&["allow"])[1],
    ],
    collection_ttl_rows!(),
);

/// Fixed-window rate limits (`algorithm = "fixed"`): a string counter.
pub const RATE_LIMIT_FIXED: KeyKind = KeyKind {
    redis_type: "string",
    kinds: &["rate_limit_fixed"],
    commands: &RATE_LIMIT_ROWS,
    script_calls: &[
        read("get", &[], &["allow"]),
        write("incrby", &["1"], &["allow"]),
        write("pexpire", &["1000", "NX"], &["allow"]),
        read("pttl", &[], &["allow"]),
    ],
};

/// Sliding-window rate limits (`algorithm = "sliding"`): a sorted set of
/// request times. The script also calls `TIME` ([`KEYLESS`]).
pub const RATE_LIMIT_SLIDING: KeyKind = KeyKind {
    redis_type: "zset",
    kinds: &["rate_limit_sliding"],
    commands: &RATE_LIMIT_ROWS,
    script_calls: &[
        read("zrange", &["-1", "-1", "WITHSCORES"], &["allow"]),
        write("zremrangebyscore", &["-inf", "1"], &["allow"]),
        read("zcard", &[], &["allow"]),
        write("zadd", &["1", "m"], &["allow"]),
        write("pexpire", &["1000"], &["allow"]),
    ],
};

/// GCRA rate limits (`algorithm = "gcra"`): a string holding one time. The
/// script also calls `TIME` ([`KEYLESS`]).
pub const RATE_LIMIT_GCRA: KeyKind = KeyKind {
    redis_type: "string",
    kinds: &["rate_limit_gcra"],
    commands: &RATE_LIMIT_ROWS,
    script_calls: &[
        read("get", &[], &["allow"]),
        write("set", &["1", "PX", "1000"], &["allow"]),
    ],
};

/// The operations of a stream that run a script.
const STREAM_SCRIPTS: &[&str] = &["dead_letter", "reclaim", "run"];

const STREAM_ROWS: [KeyCommand; 21] = with_ttl_rows(
    [
        write("xadd", &["*", "event", "v"], &["append", "append_many"]),
        read("xrange", &["-", "+"], &["after", "range"]),
        read("xrevrange", &["+", "-"], &["latest"]),
        KeyCommand {
            before_key: &["STREAMS"],
            ..read("xread", &["0"], &["wait_after", "read_streams"])
        },
        read("xlen", &[], &["len"]),
        write("xdel", &["0-1"], &["delete"]),
        write("xgroup|create", &["g", "$", "MKSTREAM"], &["create_group"]),
        write("xgroup|destroy", &["g"], &["destroy_group"]),
        KeyCommand {
            before_key: &["GROUP", "g", "c", "STREAMS"],
            ..write("xreadgroup", &[">"], &["read", "run"])
        },
        write("xack", &["g", "0-1"], &["ack", "run"]),
        write("xclaim", &["g", "c", "0", "0-1"], &["run"]),
        read("xpending", &["g"], &["pending", "run"]),
        read("xinfo|groups", &[], &["lag", "run"]),
        // With a declared TTL, appends re-arm it in their transaction.
        write("pexpire", &["1000"], &["append", "append_many"]),
        collection_scripts(STREAM_SCRIPTS)[0],
        collection_scripts(STREAM_SCRIPTS)[1],
    ],
    collection_ttl_rows!(),
);

/// Event streams (`#[derive(RedisStream)]`) and their consumer groups.
pub const STREAM: KeyKind = KeyKind {
    redis_type: "stream",
    kinds: &["stream"],
    commands: &STREAM_ROWS,
    script_calls: &[
        read("xpending", &["g", "-", "+", "1"], STREAM_SCRIPTS),
        read("xrange", &["-", "+"], &["dead_letter"]),
        write("xack", &["g", "0-1"], STREAM_SCRIPTS),
        write("xautoclaim", &["g", "c", "0", "0"], &["reclaim", "run"]),
    ],
};

const STREAM_DEAD_LETTER_ROWS: [KeyCommand; 6] = with_ttl_rows(
    [read("xrange", &["-", "+"], &["dead_letters"])],
    collection_ttl_rows!(),
);

/// The dead-letter streams of stream families (`{Stream}DeadLetter`).
pub const STREAM_DEAD_LETTER: KeyKind = KeyKind {
    redis_type: "stream",
    kinds: &["stream_dead_letter"],
    commands: &STREAM_DEAD_LETTER_ROWS,
    script_calls: &[write("xadd", &["*", "event", "v"], STREAM_SCRIPTS)],
};

const STREAM_PROCESSED_ROWS: [KeyCommand; 7] = with_ttl_rows(
    [
        collection_scripts(&["mark_processed"])[0],
        collection_scripts(&["mark_processed"])[1],
    ],
    collection_ttl_rows!(),
);

/// The processed-id sets of stream families' consumer groups
/// (`{Stream}Processed`): a sorted set of ids by time. The script also
/// calls `TIME` ([`KEYLESS`]).
pub const STREAM_PROCESSED: KeyKind = KeyKind {
    redis_type: "zset",
    kinds: &["stream_processed"],
    commands: &STREAM_PROCESSED_ROWS,
    script_calls: &[
        write("zremrangebyscore", &["-inf", "1"], &["mark_processed"]),
        write("zadd", &["NX", "1", "m"], &["mark_processed"]),
        write("pexpire", &["1000"], &["mark_processed"]),
    ],
};

/// Pub/sub channels (`#[derive(RedisChannel)]`): the "key" is a channel
/// name, which the ACL checks against the rule's channel patterns (`&`).
pub const CHANNEL: KeyKind = KeyKind {
    redis_type: "channel",
    kinds: &["channel"],
    commands: &[
        write("publish", &["m"], &["publish"]),
        read("subscribe", &[], &["subscribe"]),
        read("psubscribe", &[], &["subscribe_all"]),
    ],
    script_calls: &[],
};

/// Every key kind.
pub const KEY_KINDS: &[KeyKind] = &[
    HASH,
    STRING,
    SET,
    SORTED_SET,
    COUNTER,
    MAP,
    LIST,
    LEASE,
    LEASE_FENCE,
    RATE_LIMIT_FIXED,
    RATE_LIMIT_SLIDING,
    RATE_LIMIT_GCRA,
    INDEX,
    UNIQUE,
    STREAM,
    STREAM_DEAD_LETTER,
    STREAM_PROCESSED,
    CHANNEL,
];

/// Commands sent to no key: connection set-up (redis-rs sends `AUTH` with
/// credentials, which every user may run, `HELLO` for RESP3, `SELECT` for a
/// database other than 0, and `PING`; it also tries `CLIENT SETINFO`, which
/// Redis 7.0 lacks and redis-rs lets fail, so it is not required), the
/// transactions of `save`/`save_many` and `get_fields`/`get_fields_many`
/// (`DISCARD` only after a failed queueing), and the `SCAN` of
/// `scan_ids`/`count`; on a Redis Cluster also
/// `CLUSTER SLOTS` (the slot map, read on connecting, after a slot moves,
/// and by scans to find the primaries), `ASKING` (before a command sent
/// to the node a migrating slot's key has moved to) and `CLUSTER NODES`
/// (every node, for [`Store::health`](crate::Store::health), which also
/// sends `PING` and `HELLO`). `TIME` is called by the sliding-window and
/// GCRA rate limits' scripts, which the server checks against the ACL too.
/// With the client cache on, its connection sends `CLIENT TRACKING` once
/// and `CLIENT CACHING` before each miss ([`crate::client_cache`]).
pub const KEYLESS: &[&str] = &[
    "auth",
    "client|tracking",
    "client|caching",
    "ping",
    "hello",
    "select",
    "multi",
    "exec",
    "discard",
    "scan",
    "cluster|slots",
    "cluster|nodes",
    "asking",
    "time",
];

/// Whether the command `name` (any case) only reads: every row of it in the
/// table reads. Unknown commands (what raw access may send) are not: the
/// client cache drops the keys of every command that is not read-only
/// when it returns.
pub(crate) fn is_read_only(name: &[u8]) -> bool {
    static READS: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    let reads = READS.get_or_init(|| {
        let rows = || {
            KEY_KINDS
                .iter()
                .flat_map(|kind| kind.commands.iter().chain(kind.script_calls))
        };
        let mut reads: Vec<&'static str> = rows()
            .filter(|c| c.access == Access::Read)
            .map(|c| c.name)
            .filter(|name| rows().all(|c| c.name != *name || c.access == Access::Read))
            .collect();
        reads.sort_unstable();
        reads.dedup();
        reads
    });
    reads
        .iter()
        .any(|r| r.as_bytes().eq_ignore_ascii_case(name))
}

/// The first kind whose keys hold `redis_type`, if the runtime has one
/// (several kinds can share a Redis type: prefer [`commands_for_kind`]).
pub fn for_redis_type(redis_type: &str) -> Option<&'static KeyKind> {
    KEY_KINDS.iter().find(|kind| kind.redis_type == redis_type)
}

/// Every command the runtime sends to, or calls from a script on, a family
/// of `kind` (the manifest's `encoding`: [`crate::model::Kind::as_str`], or
/// `codec:<NAME>` for a custom codec), each once, in table order; empty for a
/// kind the runtime does not know, and for `raw_family` families
/// (`#[derive(RedisRaw)]`), which the runtime never touches: their commands
/// are the ones they declare
/// ([`Kind::raw_commands`](crate::model::Kind::raw_commands)).
pub fn commands_for_kind(kind: &str) -> Vec<&'static KeyCommand> {
    let kind = if kind.starts_with("codec:") {
        "codec"
    } else {
        kind
    };
    let mut all: Vec<&'static KeyCommand> = Vec::new();
    for row in KEY_KINDS.iter().filter(|k| k.kinds.contains(&kind)) {
        for command in row.all_commands() {
            if !all.iter().any(|c| c.name == command.name) {
                all.push(command);
            }
        }
    }
    all
}

impl KeyKind {
    /// Every command that touches such a key, sent or called by a script, each
    /// once, in table order.
    pub fn all_commands(&'static self) -> Vec<&'static KeyCommand> {
        let mut all: Vec<&'static KeyCommand> = Vec::new();
        for command in self.commands.iter().chain(self.script_calls) {
            if !all.iter().any(|c| c.name == command.name) {
                all.push(command);
            }
        }
        all
    }
}

/// Every command the runtime sends, including those its scripts call: what
/// the ACL rule grants. Sorted, without repeats.
pub fn runtime_commands() -> Vec<&'static str> {
    let mut all: Vec<&'static str> = KEYLESS.to_vec();
    for kind in KEY_KINDS {
        all.extend(
            kind.commands
                .iter()
                .chain(kind.script_calls)
                .map(|c| c.name),
        );
    }
    all.sort_unstable();
    all.dedup();
    all
}
