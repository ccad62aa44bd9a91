use redis_runtime::RedisModel;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Prefs {
    theme: String,
}

#[derive(RedisModel, Serialize, Deserialize)]
#[redis(key = "user:{id}", encoding = "json")]
struct User {
    id: u64,
    #[redis(json)]
    prefs: Prefs,
}

fn main() {}
