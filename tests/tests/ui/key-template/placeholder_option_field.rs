use redis_runtime::RedisModel;

#[derive(RedisModel)]
#[redis(key = "user:{id}")]
struct User {
    id: Option<u64>,
    email: String,
}

fn main() {}
