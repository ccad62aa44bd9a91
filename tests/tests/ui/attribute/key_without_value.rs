use redis_runtime::RedisModel;

#[derive(RedisModel)]
#[redis(key)]
struct User {
    id: u64,
}

fn main() {}
