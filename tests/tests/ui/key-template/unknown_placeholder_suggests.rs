use redis_runtime::RedisModel;

#[derive(RedisModel)]
#[redis(key = "user:{idd}")]
struct User {
    id: u64,
    email: String,
}

fn main() {}
