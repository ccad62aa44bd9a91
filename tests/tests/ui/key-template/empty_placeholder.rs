use redis_runtime::RedisModel;

#[derive(RedisModel)]
#[redis(key = "user:{}")]
struct User {
    id: u64,
}

fn main() {}
