use redis_runtime::RedisModel;

#[derive(RedisModel)]
#[redis(key = "user:{id}")]
#[redis(key = "account:{id}")]
struct User {
    id: u64,
}

fn main() {}
