use redis_runtime::RedisRaw;

// A raw family says what its code sends, and holds no typed elements.
#[derive(RedisRaw)]
#[redis(key = "legacy:queue:{name}", redis_type = "list", item = String)]
struct LegacyQueue {
    name: String,
}

fn main() {}
