use redis_runtime::RedisModel;

#[derive(RedisModel)]
#[redis(key = "user:{id}", encoding = "xml")]
struct User {
    id: u64,
}

fn main() {}
