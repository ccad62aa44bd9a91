use redis_runtime::{RedisModel, keyspace};

#[derive(RedisModel)]
#[redis(key = "user:{name}")]
struct User {
    name: String,
}

#[derive(RedisModel)]
#[redis(key = "user:admin")]
struct Admin {
    level: u8,
}

keyspace! { APP = [User, Admin]; }

fn main() {}
