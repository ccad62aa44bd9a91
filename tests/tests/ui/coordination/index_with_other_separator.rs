use redis_runtime::RedisModel;

#[derive(RedisModel)]
#[redis(key = "org/{org}/user/{id}", separator = "/", hash_tag = "org")]
struct User {
    org: String,
    id: u64,
    #[redis(index)]
    role: String,
}

fn main() {}
