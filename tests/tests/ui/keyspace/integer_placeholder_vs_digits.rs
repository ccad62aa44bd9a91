use redis_runtime::{RedisModel, keyspace};

#[derive(RedisModel)]
#[redis(key = "user:{id}")]
struct User {
    id: u64,
}

#[derive(RedisModel)]
#[redis(key = "user:0")]
struct RootUser {
    level: u8,
}

keyspace! { APP = [User, RootUser]; }

fn main() {}
