use redis_runtime::RedisModel;

#[derive(RedisModel)]
#[redis(key = 5)]
struct User {
    id: u64,
}

fn main() {}
