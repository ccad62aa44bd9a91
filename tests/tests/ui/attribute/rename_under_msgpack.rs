use redis_runtime::RedisModel;
use serde::{Deserialize, Serialize};

#[derive(RedisModel, Serialize, Deserialize)]
#[redis(key = "user:{id}", encoding = "msgpack")]
struct User {
    id: u64,
    #[redis(rename = "e")]
    email: String,
}

fn main() {}
