use redis_runtime::RedisModel;

#[derive(RedisModel)]
struct User {
    id: u64,
    email: String,
}

fn main() {}
