use redis_runtime::RedisModel;

#[derive(RedisModel)]
#[redis(key = "user:{id}")]
struct User {
    #[redis(json)]
    id: u64,
    email: String,
}

fn main() {}
