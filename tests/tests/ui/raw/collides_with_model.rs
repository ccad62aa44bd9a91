use redis_runtime::{RedisModel, RedisRaw, keyspace};

#[derive(RedisModel)]
#[redis(key = "legacy:queue:{id}")]
struct Job {
    id: u64,
    body: String,
}

// The collision check covers raw families like any other.
#[derive(RedisRaw)]
#[redis(key = "legacy:queue:{name}", redis_type = "list", commands = "lpush")]
struct LegacyQueue {
    name: String,
}

keyspace! { APP = [Job, LegacyQueue]; }

fn main() {}
