use redis_runtime::RedisModel;

#[derive(RedisModel)]
#[redis(key = "session:{token}", ttl = "30m1h")]
struct Session {
    token: String,
    user: u64,
}

fn main() {}
