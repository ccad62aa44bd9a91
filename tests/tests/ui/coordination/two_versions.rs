use redis_runtime::RedisModel;

#[derive(RedisModel)]
#[redis(key = "user:{id}")]
struct User {
    id: u64,
    #[redis(version)]
    version: u64,
    #[redis(version)]
    revision: u64,
}

fn main() {}
