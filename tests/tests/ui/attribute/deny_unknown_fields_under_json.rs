use redis_runtime::RedisModel;
use serde::{Deserialize, Serialize};

#[derive(RedisModel, Serialize, Deserialize)]
#[redis(key = "session:{token}", encoding = "json", deny_unknown_fields)]
struct Session {
    token: String,
    user: u64,
}

fn main() {}
