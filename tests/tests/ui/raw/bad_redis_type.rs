use redis_runtime::RedisRaw;

// `TYPE` calls a sorted set `zset`; and a near miss is suggested a fix.
#[derive(RedisRaw)]
#[redis(key = "legacy:rank:{board}", redis_type = "sorted_set", commands = "zadd")]
struct LegacyRank {
    board: String,
}

#[derive(RedisRaw)]
#[redis(key = "legacy:queue:{name}", redis_type = "lists", commands = "lpush")]
struct LegacyQueue {
    name: String,
}

fn main() {}
