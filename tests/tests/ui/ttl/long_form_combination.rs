use redis_runtime::RedisModel;

#[derive(RedisModel)]
#[redis(key = "session:{token}", ttl = "1 hour 30 minutes")]
struct Session {
    token: String,
    user: u64,
}

fn main() {}
