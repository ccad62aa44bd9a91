use redis_runtime::RedisModel;

#[derive(RedisModel)]
#[redis(key = "org:{org}:user:{id}", hash_tag = "org")]
struct User {
    org: String,
    id: u64,
    #[redis(index(range))]
    name: String,
}

fn main() {}
