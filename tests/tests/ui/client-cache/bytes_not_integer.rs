use redis_runtime::RedisModel;

#[derive(RedisModel)]
#[redis(key = "user:{id}", client_cache(max_bytes = "64MiB"))]
struct User {
    id: u64,
    name: String,
}

fn main() {}
