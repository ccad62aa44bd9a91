use redis_runtime::RedisModel;

#[derive(RedisModel)]
#[redis(key = "user:{id}")]
struct User {
    id: u64,
    #[redis(skip, json)]
    cache: Vec<String>,
}

fn main() {}
