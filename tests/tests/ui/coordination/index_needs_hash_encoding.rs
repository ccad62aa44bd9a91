use redis_runtime::RedisModel;

#[derive(RedisModel, serde::Serialize, serde::Deserialize)]
#[redis(key = "org:{org}:user:{id}", hash_tag = "org", encoding = "json")]
struct User {
    org: String,
    id: u64,
    #[redis(unique)]
    email: String,
}

fn main() {}
