//! What redis-rs exposes: its command-trait methods (with arity and key
//! positions), its command traits, and the names its crate root exports.
//!
//! The method tables are taken from redis-rs 1.8's `implement_commands!` and
//! `implement_json_commands!` invocations (`src/commands/mod.rs`,
//! `src/commands/json.rs`) plus the scan iterators of `implement_iterators!`.

/// One method of a redis-rs command trait.
#[derive(Debug)]
pub(crate) struct CommandMethod {
    /// The method name (`get`, `hset`, ...).
    pub(crate) name: &'static str,
    /// Number of arguments after `self`.
    pub(crate) args: usize,
    /// Number of type parameters besides the return type `RV`.
    pub(crate) generics: usize,
    /// Which arguments are keys (or channels / key patterns).
    pub(crate) key_args: &'static [usize],
}

const fn m(
    name: &'static str,
    args: usize,
    generics: usize,
    key_args: &'static [usize],
) -> CommandMethod {
    CommandMethod {
        name,
        args,
        generics,
        key_args,
    }
}

/// Methods of `Commands`, `AsyncCommands`, `TypedCommands` and
/// `AsyncTypedCommands` (the same list in all four), and of `Pipeline` and
/// `Cmd` as associated constructors.
pub(crate) const COMMANDS: &[CommandMethod] = &[
    m("get", 1, 1, &[0]),
    m("mget", 1, 1, &[0]),
    m("keys", 1, 1, &[0]),
    m("set", 2, 2, &[0]),
    m("set_options", 3, 2, &[0]),
    m("mset", 1, 2, &[0]),
    m("set_ex", 3, 2, &[0]),
    m("pset_ex", 3, 2, &[0]),
    m("set_nx", 2, 2, &[0]),
    m("mset_nx", 1, 2, &[0]),
    m("mset_ex", 2, 2, &[0]),
    m("getset", 2, 2, &[0]),
    m("getrange", 3, 1, &[0]),
    m("setrange", 3, 2, &[0]),
    m("del", 1, 1, &[0]),
    m("del_ex", 2, 1, &[0]),
    m("digest", 1, 1, &[0]),
    m("exists", 1, 1, &[0]),
    m("key_type", 1, 1, &[0]),
    m("expire", 2, 1, &[0]),
    m("expire_at", 2, 1, &[0]),
    m("pexpire", 2, 1, &[0]),
    m("pexpire_at", 2, 1, &[0]),
    m("expire_time", 1, 1, &[0]),
    m("pexpire_time", 1, 1, &[0]),
    m("persist", 1, 1, &[0]),
    m("ttl", 1, 1, &[0]),
    m("pttl", 1, 1, &[0]),
    m("get_ex", 2, 1, &[0]),
    m("get_del", 1, 1, &[0]),
    m("copy", 3, 3, &[0, 1]),
    m("rename", 2, 2, &[0, 1]),
    m("rename_nx", 2, 2, &[0, 1]),
    m("unlink", 1, 1, &[0]),
    m("append", 2, 2, &[0]),
    m("incr", 2, 2, &[0]),
    m("decr", 2, 2, &[0]),
    m("increx", 3, 2, &[0]),
    m("setbit", 3, 1, &[0]),
    m("getbit", 2, 1, &[0]),
    m("bitcount", 1, 1, &[0]),
    m("bitcount_range", 3, 1, &[0]),
    m("bit_and", 2, 2, &[0, 1]),
    m("bit_or", 2, 2, &[0, 1]),
    m("bit_xor", 2, 2, &[0, 1]),
    m("bit_not", 2, 2, &[0, 1]),
    m("bit_diff", 2, 2, &[0, 1]),
    m("bit_diff1", 2, 2, &[0, 1]),
    m("bit_and_or", 2, 2, &[0, 1]),
    m("bit_one", 2, 2, &[0, 1]),
    m("strlen", 1, 1, &[0]),
    m("hget", 2, 2, &[0]),
    m("hmget", 2, 2, &[0]),
    m("hget_ex", 3, 2, &[0]),
    m("hdel", 2, 2, &[0]),
    m("hget_del", 2, 2, &[0]),
    m("hset", 3, 3, &[0]),
    m("hset_ex", 3, 3, &[0]),
    m("hset_nx", 3, 3, &[0]),
    m("hset_multiple", 2, 3, &[0]),
    m("hincr", 3, 3, &[0]),
    m("hexists", 2, 2, &[0]),
    m("httl", 2, 2, &[0]),
    m("hpttl", 2, 2, &[0]),
    m("hexpire", 4, 2, &[0]),
    m("hexpire_at", 4, 2, &[0]),
    m("hexpire_time", 2, 2, &[0]),
    m("hpersist", 2, 2, &[0]),
    m("hpexpire", 4, 2, &[0]),
    m("hpexpire_at", 4, 2, &[0]),
    m("hpexpire_time", 2, 2, &[0]),
    m("hkeys", 1, 1, &[0]),
    m("hvals", 1, 1, &[0]),
    m("hgetall", 1, 1, &[0]),
    m("hlen", 1, 1, &[0]),
    m("blmove", 5, 2, &[0, 1]),
    m("blmpop", 5, 1, &[2]),
    m("blpop", 2, 1, &[0]),
    m("brpop", 2, 1, &[0]),
    m("brpoplpush", 3, 2, &[0, 1]),
    m("lindex", 2, 1, &[0]),
    m("linsert_before", 3, 3, &[0]),
    m("linsert_after", 3, 3, &[0]),
    m("llen", 1, 1, &[0]),
    m("lmove", 4, 2, &[0, 1]),
    m("lmpop", 4, 1, &[1]),
    m("lpop", 2, 1, &[0]),
    m("lpos", 3, 2, &[0]),
    m("lpush", 2, 2, &[0]),
    m("lpush_exists", 2, 2, &[0]),
    m("lrange", 3, 1, &[0]),
    m("lrem", 3, 2, &[0]),
    m("ltrim", 3, 1, &[0]),
    m("lset", 3, 2, &[0]),
    m("ping", 0, 0, &[]),
    m("ping_message", 1, 1, &[]),
    m("rpop", 2, 1, &[0]),
    m("rpoplpush", 2, 2, &[0, 1]),
    m("rpush", 2, 2, &[0]),
    m("rpush_exists", 2, 2, &[0]),
    m("sadd", 2, 2, &[0]),
    m("scard", 1, 1, &[0]),
    m("sdiff", 1, 1, &[0]),
    m("sdiffstore", 2, 2, &[0, 1]),
    m("sinter", 1, 1, &[0]),
    m("sinterstore", 2, 2, &[0, 1]),
    m("sismember", 2, 2, &[0]),
    m("smismember", 2, 2, &[0]),
    m("smembers", 1, 1, &[0]),
    m("smove", 3, 3, &[0, 1]),
    m("spop", 1, 1, &[0]),
    m("srandmember", 1, 1, &[0]),
    m("srandmember_multiple", 2, 1, &[0]),
    m("srem", 2, 2, &[0]),
    m("sunion", 1, 1, &[0]),
    m("sunionstore", 2, 2, &[0, 1]),
    m("zadd", 3, 3, &[0]),
    m("zadd_multiple", 2, 3, &[0]),
    m("zadd_options", 4, 3, &[0]),
    m("zadd_multiple_options", 3, 3, &[0]),
    m("zcard", 1, 1, &[0]),
    m("zcount", 3, 3, &[0]),
    m("zincr", 3, 3, &[0]),
    m("zinterstore", 2, 2, &[0, 1]),
    m("zinterstore_min", 2, 2, &[0, 1]),
    m("zinterstore_max", 2, 2, &[0, 1]),
    m("zinterstore_weights", 2, 3, &[0, 1]),
    m("zinterstore_min_weights", 2, 3, &[0, 1]),
    m("zinterstore_max_weights", 2, 3, &[0, 1]),
    m("zlexcount", 3, 3, &[0]),
    m("bzpopmax", 2, 1, &[0]),
    m("zpopmax", 2, 1, &[0]),
    m("bzpopmin", 2, 1, &[0]),
    m("zpopmin", 2, 1, &[0]),
    m("bzmpop_max", 3, 1, &[1]),
    m("zmpop_max", 2, 1, &[0]),
    m("bzmpop_min", 3, 1, &[1]),
    m("zmpop_min", 2, 1, &[0]),
    m("zrandmember", 2, 1, &[0]),
    m("zrandmember_withscores", 2, 1, &[0]),
    m("zrange", 3, 1, &[0]),
    m("zrange_withscores", 3, 1, &[0]),
    m("zrangebylex", 3, 3, &[0]),
    m("zrangebylex_limit", 5, 3, &[0]),
    m("zrevrangebylex", 3, 3, &[0]),
    m("zrevrangebylex_limit", 5, 3, &[0]),
    m("zrangebyscore", 3, 3, &[0]),
    m("zrangebyscore_withscores", 3, 3, &[0]),
    m("zrangebyscore_limit", 5, 3, &[0]),
    m("zrangebyscore_limit_withscores", 5, 3, &[0]),
    m("zrank", 2, 2, &[0]),
    m("zrem", 2, 2, &[0]),
    m("zrembylex", 3, 3, &[0]),
    m("zremrangebyrank", 3, 1, &[0]),
    m("zrembyscore", 3, 3, &[0]),
    m("zrevrange", 3, 1, &[0]),
    m("zrevrange_withscores", 3, 1, &[0]),
    m("zrevrangebyscore", 3, 3, &[0]),
    m("zrevrangebyscore_withscores", 3, 3, &[0]),
    m("zrevrangebyscore_limit", 5, 3, &[0]),
    m("zrevrangebyscore_limit_withscores", 5, 3, &[0]),
    m("zrevrank", 2, 2, &[0]),
    m("zscore", 2, 2, &[0]),
    m("zscore_multiple", 2, 2, &[0]),
    m("zunionstore", 2, 2, &[0, 1]),
    m("zunionstore_min", 2, 2, &[0, 1]),
    m("zunionstore_max", 2, 2, &[0, 1]),
    m("zunionstore_weights", 2, 3, &[0, 1]),
    m("zunionstore_min_weights", 2, 3, &[0, 1]),
    m("zunionstore_max_weights", 2, 3, &[0, 1]),
    m("vadd", 3, 2, &[0]),
    m("vadd_options", 4, 2, &[0]),
    m("vcard", 1, 1, &[0]),
    m("vdim", 1, 1, &[0]),
    m("vemb", 2, 2, &[0]),
    m("vemb_options", 3, 2, &[0]),
    m("vrem", 2, 2, &[0]),
    m("vsetattr", 3, 3, &[0]),
    m("vdelattr", 2, 2, &[0]),
    m("vgetattr", 2, 2, &[0]),
    m("vinfo", 1, 1, &[0]),
    m("vlinks", 2, 2, &[0]),
    m("vlinks_with_scores", 2, 2, &[0]),
    m("vrandmember", 1, 1, &[0]),
    m("vrandmember_multiple", 2, 1, &[0]),
    m("vsim", 2, 1, &[0]),
    m("vsim_options", 3, 1, &[0]),
    m("pfadd", 2, 2, &[0]),
    m("pfcount", 1, 1, &[0]),
    m("pfmerge", 2, 2, &[0, 1]),
    m("publish", 2, 2, &[0]),
    m("spublish", 2, 2, &[0]),
    m("object_encoding", 1, 1, &[0]),
    m("object_idletime", 1, 1, &[0]),
    m("object_freq", 1, 1, &[0]),
    m("object_refcount", 1, 1, &[0]),
    m("client_getname", 0, 0, &[]),
    m("client_id", 0, 0, &[]),
    m("client_setname", 1, 1, &[]),
    m("acl_load", 0, 0, &[]),
    m("acl_save", 0, 0, &[]),
    m("acl_list", 0, 0, &[]),
    m("acl_users", 0, 0, &[]),
    m("acl_getuser", 1, 1, &[]),
    m("acl_setuser", 1, 1, &[]),
    m("acl_setuser_rules", 2, 1, &[]),
    m("acl_deluser", 1, 1, &[]),
    m("acl_dryrun", 3, 3, &[]),
    m("acl_cat", 0, 0, &[]),
    m("acl_cat_categoryname", 1, 1, &[]),
    m("acl_genpass", 0, 0, &[]),
    m("acl_genpass_bits", 1, 0, &[]),
    m("acl_whoami", 0, 0, &[]),
    m("acl_log", 1, 0, &[]),
    m("acl_log_reset", 0, 0, &[]),
    m("acl_help", 0, 0, &[]),
    m("geo_add", 2, 2, &[0]),
    m("geo_dist", 4, 3, &[0]),
    m("geo_hash", 2, 2, &[0]),
    m("geo_pos", 2, 2, &[0]),
    m("geo_radius", 6, 1, &[0]),
    m("geo_radius_by_member", 5, 2, &[0]),
    m("xack", 3, 3, &[0]),
    m("xnack", 4, 3, &[0]),
    m("xadd", 3, 4, &[0]),
    m("xadd_map", 3, 3, &[0]),
    m("xadd_options", 4, 3, &[0]),
    m("xadd_maxlen", 4, 4, &[0]),
    m("xadd_maxlen_map", 4, 3, &[0]),
    m("xautoclaim_options", 6, 5, &[0]),
    m("xclaim", 5, 5, &[0]),
    m("xclaim_options", 6, 5, &[0]),
    m("xdel", 2, 2, &[0]),
    m("xdel_ex", 3, 2, &[0]),
    m("xack_del", 4, 3, &[0]),
    m("xgroup_create", 3, 3, &[0]),
    m("xgroup_createconsumer", 3, 3, &[0]),
    m("xgroup_create_mkstream", 3, 3, &[0]),
    m("xgroup_setid", 3, 3, &[0]),
    m("xgroup_destroy", 2, 2, &[0]),
    m("xgroup_delconsumer", 3, 3, &[0]),
    m("xinfo_consumers", 2, 2, &[0]),
    m("xinfo_groups", 1, 1, &[0]),
    m("xinfo_stream", 1, 1, &[0]),
    m("xinfo_stream_with_idempotency", 1, 1, &[0]),
    m("xlen", 1, 1, &[0]),
    m("xpending", 2, 2, &[0]),
    m("xpending_count", 5, 5, &[0]),
    m("xpending_consumer_count", 6, 6, &[0]),
    m("xrange", 3, 3, &[0]),
    m("xrange_all", 1, 1, &[0]),
    m("xrange_count", 4, 4, &[0]),
    m("xread", 2, 2, &[0]),
    m("xread_options", 3, 2, &[0]),
    m("xrevrange", 3, 3, &[0]),
    m("xrevrange_all", 1, 1, &[0]),
    m("xrevrange_count", 4, 4, &[0]),
    m("xtrim", 2, 1, &[0]),
    m("xtrim_options", 2, 1, &[0]),
    m("xcfgset", 2, 1, &[0]),
    m("ft_create", 3, 1, &[]),
    m("load_script", 1, 0, &[]),
    m("invoke_script", 1, 0, &[]),
    m("flushall", 0, 0, &[]),
    m("flushall_options", 1, 0, &[]),
    m("flushdb", 0, 0, &[]),
    m("flushdb_options", 1, 0, &[]),
    m("bf_add", 2, 2, &[0]),
    m("bf_card", 1, 1, &[0]),
    m("bf_exists", 2, 2, &[0]),
    m("bf_info", 1, 1, &[0]),
    m("bf_info_type", 2, 1, &[0]),
    m("bf_insert", 2, 2, &[0]),
    m("bf_insert_options", 3, 2, &[0]),
    m("bf_loadchunk", 2, 1, &[0]),
    m("bf_madd", 2, 2, &[0]),
    m("bf_mexists", 2, 2, &[0]),
    m("bf_reserve", 3, 1, &[0]),
    m("bf_reserve_options", 4, 3, &[0]),
    m("bf_scandump", 2, 1, &[0]),
    m("scan", 0, 0, &[]),
    m("scan_options", 1, 0, &[]),
    m("scan_match", 1, 1, &[0]),
    m("hscan", 1, 1, &[0]),
    m("hscan_match", 2, 2, &[0]),
    m("sscan", 1, 1, &[0]),
    m("sscan_match", 2, 2, &[0]),
    m("zscan", 1, 1, &[0]),
    m("zscan_match", 2, 2, &[0]),
];

/// Methods of `JsonCommands` and `JsonAsyncCommands`.
pub(crate) const JSON_COMMANDS: &[CommandMethod] = &[
    m("json_arr_append", 3, 3, &[0]),
    m("json_arr_index", 3, 3, &[0]),
    m("json_arr_index_ss", 5, 3, &[0]),
    m("json_arr_insert", 4, 3, &[0]),
    m("json_arr_len", 2, 2, &[0]),
    m("json_arr_pop", 3, 2, &[0]),
    m("json_arr_trim", 4, 2, &[0]),
    m("json_clear", 2, 2, &[0]),
    m("json_del", 2, 2, &[0]),
    m("json_get", 2, 2, &[0]),
    m("json_mget", 2, 2, &[0]),
    m("json_num_incr_by", 3, 2, &[0]),
    m("json_obj_keys", 2, 2, &[0]),
    m("json_obj_len", 2, 2, &[0]),
    m("json_set", 3, 3, &[0]),
    m("json_set_options", 4, 3, &[0]),
    m("json_mset", 1, 3, &[]),
    m("json_str_append", 3, 3, &[0]),
    m("json_str_len", 2, 2, &[0]),
    m("json_toggle", 2, 2, &[0]),
    m("json_type", 2, 2, &[0]),
];

/// Methods of `PubSubCommands`.
pub(crate) const PUBSUB_COMMANDS: &[CommandMethod] =
    &[m("subscribe", 2, 3, &[0]), m("psubscribe", 2, 3, &[0])];

/// Inherent methods of `redis::PubSub` and `redis::aio::PubSub` (and their
/// sink halves) that send a command: each takes the channel or pattern.
pub(crate) const PUBSUB_METHODS: &[&str] = &[
    "subscribe",
    "psubscribe",
    "ssubscribe",
    "unsubscribe",
    "punsubscribe",
    "sunsubscribe",
];

/// Methods that hand out a pub/sub connection (`conn.as_pubsub()`,
/// `client.get_async_pubsub().await?`, `conn.into_pubsub()`).
pub(crate) const PUBSUB_OPENERS: &[&str] = &["as_pubsub", "into_pubsub", "get_async_pubsub"];

/// A set of command-trait families, as bit flags.
pub(crate) type Families = u8;

/// `Commands` and `AsyncCommands`.
pub(crate) const F_COMMANDS: Families = 1;
/// `TypedCommands` and `AsyncTypedCommands` (same methods, fixed return types).
pub(crate) const F_TYPED: Families = 1 << 1;
/// `JsonCommands` and `JsonAsyncCommands`.
pub(crate) const F_JSON: Families = 1 << 2;
/// `PubSubCommands`.
pub(crate) const F_PUBSUB: Families = 1 << 3;
/// `ConnectionLike` (sync, at the root) and `aio::ConnectionLike`.
pub(crate) const F_CONNECTION_LIKE: Families = 1 << 4;
/// `HotkeysCommands` and `AsyncHotkeysCommands`.
pub(crate) const F_HOTKEYS: Families = 1 << 5;
/// Everything a glob import of the redis crate root brings into scope.
pub(crate) const F_ALL: Families =
    F_COMMANDS | F_TYPED | F_JSON | F_PUBSUB | F_CONNECTION_LIKE | F_HOTKEYS;

/// The family of a redis-rs command trait, by its name.
pub(crate) fn trait_family(name: &str) -> Option<Families> {
    Some(match name {
        "Commands" | "AsyncCommands" => F_COMMANDS,
        "TypedCommands" | "AsyncTypedCommands" => F_TYPED,
        "JsonCommands" | "JsonAsyncCommands" => F_JSON,
        "PubSubCommands" => F_PUBSUB,
        "ConnectionLike" => F_CONNECTION_LIKE,
        "HotkeysCommands" | "AsyncHotkeysCommands" => F_HOTKEYS,
        _ => return None,
    })
}

/// The families a glob import of this redis module brings into scope
/// (`[]` is the crate root).
pub(crate) fn glob_families(module: &[String]) -> Families {
    match module {
        [] => F_ALL,
        [m] if m == "aio" => F_CONNECTION_LIKE,
        [m] if m == "commands" => F_COMMANDS | F_TYPED | F_JSON | F_PUBSUB | F_HOTKEYS,
        [m] if m == "json" => F_JSON,
        _ => 0,
    }
}

/// Find the command method `name` taking `args` arguments among the
/// families in `families`.
pub(crate) fn command_method(
    families: Families,
    name: &str,
    args: usize,
) -> Option<(&'static CommandMethod, Families)> {
    let tables: [(Families, &'static [CommandMethod]); 3] = [
        (F_COMMANDS | F_TYPED, COMMANDS),
        (F_JSON, JSON_COMMANDS),
        (F_PUBSUB, PUBSUB_COMMANDS),
    ];
    tables
        .into_iter()
        .filter(|(family, _)| families & family != 0)
        .find_map(|(family, table)| {
            table
                .iter()
                .find(|m| m.name == name && m.args == args)
                .map(|m| (m, family))
        })
}

/// Methods of `ConnectionLike` (and the multiplexed connection's inherent
/// twins) that send bytes or commands straight to the server. Always raw.
pub(crate) const CONNECTION_METHODS: &[&str] = &[
    "req_packed_command",
    "req_packed_commands",
    "req_command",
    "send_packed_command",
    "send_packed_commands",
];

/// Methods that send a built `Cmd`, `Pipeline` or `ScriptInvocation` over a
/// connection passed as their one argument.
pub(crate) const EXECUTORS: &[&str] = &[
    "query",
    "query_async",
    "exec",
    "exec_async",
    "invoke",
    "invoke_async",
    "iter_async",
];

/// Names the redis crate root exports that matter here; a glob import of
/// the root resolves exactly these.
pub(crate) const ROOT_NAMES: &[&str] = &[
    "cmd",
    "pipe",
    "pack_command",
    "transaction",
    "Cmd",
    "Pipeline",
    "Script",
    "ScriptInvocation",
    "Commands",
    "AsyncCommands",
    "TypedCommands",
    "AsyncTypedCommands",
    "JsonCommands",
    "JsonAsyncCommands",
    "PubSubCommands",
    "HotkeysCommands",
    "AsyncHotkeysCommands",
    "ConnectionLike",
    "Client",
    "Connection",
    "ConnectionInfo",
    "IntoConnectionInfo",
    "PubSub",
    "Msg",
    "Value",
    "RedisResult",
    "RedisError",
    "RedisFuture",
    "FromRedisValue",
    "ToRedisArgs",
    "ToSingleRedisArg",
    "aio",
    "cluster",
    "cluster_async",
    "sentinel",
    "streams",
    "geo",
    "acl",
    "json",
];

/// Names `redis::aio` exports that matter here.
pub(crate) const AIO_NAMES: &[&str] = &[
    "ConnectionLike",
    "MultiplexedConnection",
    "ConnectionManager",
    "Connection",
    "PubSub",
];

/// Crates that wrap redis-rs; their types are connections or pools of them,
/// and `<crate>::redis` is the redis crate they re-export.
pub(crate) const WRAPPER_CRATES: &[&str] = &[
    "deadpool_redis",
    "bb8_redis",
    "r2d2_redis",
    "mobc_redis",
    "redis_pool",
];

/// What a path into the redis crate constructs, if it is one of the raw
/// constructors: `(kind, what to call it)`.
pub(crate) fn raw_constructor(path: &[String]) -> Option<super::Kind> {
    use super::Kind;
    let segs: Vec<&str> = path.iter().map(String::as_str).collect();
    match segs.as_slice() {
        ["cmd"] | ["pack_command"] | ["Cmd", "new" | "default"] => Some(Kind::RawCommand),
        ["Cmd", name] if COMMANDS.iter().any(|m| m.name == *name) => Some(Kind::RawCommand),
        ["pipe"]
        | ["transaction"]
        | ["Pipeline", "new" | "with_capacity" | "default"]
        | ["cluster", "cluster_pipe"]
        | [
            "cluster",
            "ClusterPipeline",
            "new" | "with_capacity" | "default",
        ] => Some(Kind::RawPipeline),
        ["Script", "new"] => Some(Kind::RawScript),
        _ => None,
    }
}

/// Whether a redis-rs type is a connection or client (`Connection`,
/// `MultiplexedConnection`, `ConnectionManager`, `Client`, `ClusterClient`,
/// ...), as opposed to a value type (`Value`, `ConnectionInfo`, `Cmd`).
pub(crate) fn is_connection_type(name: &str) -> bool {
    (name.contains("Connection") && !name.ends_with("Info") && !name.ends_with("Addr"))
        || name.contains("Client")
        || name == "PubSub"
}

/// Redis types that are raw constructs themselves: values of these types
/// carry the violation of the place that built them.
pub(crate) fn is_raw_type(path: &[String]) -> bool {
    matches!(
        path.last().map(String::as_str),
        Some("Cmd" | "Pipeline" | "Script" | "ScriptInvocation" | "ClusterPipeline")
    )
}

/// The Redis command a redis-rs command method sends, as the ACL names it
/// (lower case, `parent|sub`), where the method's name tells: `set_ex` is
/// `setex`, `incr` is `incrby`, `xgroup_create` is `xgroup|create`. `None`
/// when it depends on the arguments (`xread_options` may be `xreadgroup`)
/// or is a script (`invoke_script`).
pub(crate) fn redis_command(method: &str) -> Option<String> {
    let fixed = match method {
        "set_options" => "set",
        "key_type" => "type",
        "incr" | "increx" => "incrby",
        "decr" => "decrby",
        "bitcount_range" => "bitcount",
        "hset_multiple" => "hset",
        "hincr" => "hincrby",
        "linsert_before" | "linsert_after" => "linsert",
        "lpush_exists" => "lpushx",
        "rpush_exists" => "rpushx",
        "ping_message" => "ping",
        "zincr" => "zincrby",
        "zrembylex" => "zremrangebylex",
        "zrembyscore" => "zremrangebyscore",
        "zscore_multiple" => "zmscore",
        "xgroup_create_mkstream" => "xgroup|create",
        "xinfo_stream_with_idempotency" => "xinfo|stream",
        "acl_setuser_rules" => "acl|setuser",
        "acl_cat_categoryname" => "acl|cat",
        "acl_genpass_bits" => "acl|genpass",
        "acl_log_reset" => "acl|log",
        "load_script" => "script|load",
        "xread_options" | "invoke_script" => return None,
        _ => "",
    };
    if !fixed.is_empty() {
        return Some(fixed.to_owned());
    }
    if method.starts_with("bit_") {
        return Some("bitop".to_owned());
    }
    for prefix in ["zinterstore", "zunionstore", "bzmpop", "zmpop"] {
        if method.starts_with(prefix) {
            return Some(prefix.to_owned());
        }
    }
    for parent in ["object", "client", "acl", "xgroup", "xinfo"] {
        if let Some(sub) = method
            .strip_prefix(parent)
            .and_then(|m| m.strip_prefix('_'))
        {
            return Some(format!("{parent}|{}", sub.replace('_', "")));
        }
    }
    for module in ["json", "bf", "ft"] {
        if let Some(rest) = method
            .strip_prefix(module)
            .and_then(|m| m.strip_prefix('_'))
        {
            return Some(format!("{module}.{}", rest.replace('_', "")));
        }
    }
    let mut base = method;
    for suffix in [
        "_with_scores",
        "_withscores",
        "_limit",
        "_options",
        "_multiple",
        "_maxlen",
        "_map",
        "_match",
        "_all",
        "_count",
        "_consumer",
    ] {
        while let Some(stripped) = base.strip_suffix(suffix) {
            base = stripped;
        }
    }
    Some(base.replace('_', ""))
}

#[cfg(test)]
mod redis_command_tests {
    use super::redis_command;

    #[test]
    fn method_names_map_to_commands() {
        for (method, command) in [
            ("lpush", "lpush"),
            ("set_ex", "setex"),
            ("incr", "incrby"),
            ("key_type", "type"),
            ("expire_at", "expireat"),
            ("zrangebyscore_limit_withscores", "zrangebyscore"),
            ("zadd_multiple", "zadd"),
            ("xgroup_create_mkstream", "xgroup|create"),
            ("xinfo_groups", "xinfo|groups"),
            ("xpending_consumer_count", "xpending"),
            ("json_arr_append", "json.arrappend"),
            ("hscan_match", "hscan"),
            ("lpush_exists", "lpushx"),
        ] {
            assert_eq!(redis_command(method).as_deref(), Some(command), "{method}");
        }
        assert_eq!(redis_command("xread_options"), None);
    }
}
