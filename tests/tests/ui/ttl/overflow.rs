use redis_runtime::RedisModel;

#[derive(RedisModel)]
#[redis(key = "session:{token}", ttl = "1000000000000d")]
struct Session {
    token: String,
    user: u64,
}

fn main() {}
