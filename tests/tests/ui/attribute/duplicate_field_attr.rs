use redis_runtime::RedisModel;

#[derive(RedisModel)]
#[redis(key = "user:{id}")]
struct User {
    id: u64,
    #[redis(rename = "mail", rename = "e")]
    email: String,
}

fn main() {}
