use redis_runtime::{RedisModel, keyspace};

#[derive(RedisModel)]
#[redis(key = "offset:{value}")]
struct Offset {
    value: i64,
}

#[derive(RedisModel)]
#[redis(key = "offset:-1")]
struct Unset {
    reason: String,
}

keyspace! { APP = [Offset, Unset]; }

fn main() {}
