use redis_runtime::RedisModel;

#[derive(RedisModel)]
#[redis(key = "org:{org}:{id}", hash_tag = "org")]
struct User {
    org: String,
    id: String,
    #[redis(index)]
    role: String,
}

fn main() {}
