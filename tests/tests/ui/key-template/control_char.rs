use redis_runtime::RedisModel;

#[derive(RedisModel)]
#[redis(key = "user\u{1}:{id}")]
struct User {
    id: u64,
}

fn main() {}
