use redis_runtime::RedisModel;

#[derive(RedisModel)]
#[redis(key = "user&x:{id}")]
struct User {
    id: u64,
}

fn main() {}
