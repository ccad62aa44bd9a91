use redis_runtime::RedisModel;

#[derive(RedisModel)]
#[redis(key = "user:{id}")]
struct User {
    id: u64,
    #[redis(rename = "n")]
    name: String,
    #[redis(rename = "n")]
    nickname: String,
}

fn main() {}
