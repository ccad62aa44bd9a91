use redis_runtime::RedisRaw;

// A typo of a command is suggested a fix; a command of another type is refused.
#[derive(RedisRaw)]
#[redis(key = "legacy:queue:{name}", redis_type = "list", commands = "lpush brpopp llen")]
struct LegacyQueue {
    name: String,
}

#[derive(RedisRaw)]
#[redis(key = "legacy:jobs:{name}", redis_type = "list", commands = "lpush hset")]
struct LegacyJobs {
    name: String,
}

fn main() {}
