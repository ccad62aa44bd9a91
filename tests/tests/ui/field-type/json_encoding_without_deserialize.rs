use redis_runtime::RedisModel;
use serde::Serialize;

#[derive(RedisModel, Serialize)]
#[redis(key = "session:{token}", encoding = "json")]
struct Session {
    token: String,
    user: u64,
}

fn main() {}
