use redis_runtime::{RedisModel, keyspace};

#[derive(RedisModel)]
#[redis(key = "tenant:{tenant}:user:{id}", hash_tag = "tenant")]
struct User {
    tenant: String,
    id: u64,
}

#[derive(RedisModel)]
#[redis(key = "tenant:{org}:user:{number}", hash_tag = "org")]
struct Member {
    org: String,
    number: i32,
}

keyspace! { APP = [User, Member]; }

fn main() {}
