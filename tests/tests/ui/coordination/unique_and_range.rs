use redis_runtime::RedisModel;

#[derive(RedisModel)]
#[redis(key = "org:{org}:user:{id}", hash_tag = "org")]
struct User {
    org: String,
    id: u64,
    #[redis(unique, index(range))]
    badge: u64,
}

fn main() {}
