use redis_runtime::{RedisModel, keyspace};

#[derive(RedisModel)]
#[redis(key = "user:{id}")]
struct User {
    id: u64,
}

keyspace! { APP = [User, User]; }

fn main() {}
