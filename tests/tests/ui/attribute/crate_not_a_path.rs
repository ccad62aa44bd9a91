use redis_runtime::RedisModel;

#[derive(RedisModel)]
#[redis(key = "user:{id}", crate = "my redis")]
struct User {
    id: u64,
    email: String,
}

fn main() {}
