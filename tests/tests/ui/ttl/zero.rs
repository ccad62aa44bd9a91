use redis_runtime::RedisModel;

#[derive(RedisModel)]
#[redis(key = "session:{token}", ttl = "0s")]
struct Session {
    token: String,
    user: u64,
}

fn main() {}
