use redis_runtime::RedisModel;

#[derive(RedisModel)]
#[redis(key = "user[0]:{id}")]
struct User {
    id: u64,
}

fn main() {}
