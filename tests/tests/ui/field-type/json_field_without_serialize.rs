use redis_runtime::RedisModel;
use serde::Deserialize;

#[derive(Deserialize)]
struct Prefs {
    theme: String,
}

#[derive(RedisModel)]
#[redis(key = "user:{id}")]
struct User {
    id: u64,
    #[redis(json)]
    prefs: Prefs,
}

fn main() {}
