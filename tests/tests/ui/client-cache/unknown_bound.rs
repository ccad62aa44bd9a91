use redis_runtime::RedisModel;

#[derive(RedisModel)]
#[redis(key = "user:{id}", client_cache(max_size = 10))]
struct User {
    id: u64,
    name: String,
}

fn main() {}
