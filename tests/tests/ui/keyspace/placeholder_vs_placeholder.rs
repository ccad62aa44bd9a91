use redis_runtime::{RedisModel, keyspace};

#[derive(RedisModel)]
#[redis(key = "user:{id}")]
struct User {
    id: String,
}

#[derive(RedisModel)]
#[redis(key = "user:{name}")]
struct ByName {
    name: String,
}

keyspace! { APP = [User, ByName]; }

fn main() {}
