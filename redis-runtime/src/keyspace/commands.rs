//! The commands the runtime sends.

/// Every command the runtime sends, including those its Lua scripts call (the
/// server checks those against the ACL too) and those redis-rs sends when it
/// connects.
pub const RUNTIME_COMMANDS: &[&str] = &[
    // Connection set-up and health. (redis-rs also sends `CLIENT SETINFO`,
    // which Redis 7.0 lacks and redis-rs lets fail; it is not required.)
    "ping", "hello", "select", // Entities.
    "multi", "exec", "discard", "del", "hset", "hdel", "hget", "hgetall", "hincrby", "get", "set",
    "mget", "exists", "pexpire", "persist", "pttl", "scan", // The script runner.
    "evalsha", "eval",
];
