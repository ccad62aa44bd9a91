use redis_runtime::RedisModel;

#[derive(RedisModel)]
#[redis(key = "tenant:{tenant}:user:{id}", hash_tag = "tennant")]
struct User {
    tenant: String,
    id: u64,
}

fn main() {}
