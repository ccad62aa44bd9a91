use redis_runtime::RedisModel;

#[derive(RedisModel)]
#[redis(key = "user:{1st}")]
struct User {
    id: u64,
}

fn main() {}
