use redis_runtime::RedisModel;

#[derive(RedisModel)]
#[redis(key = "session:{token}", ttl = "30 days")]
struct Session {
    token: String,
    user: u64,
}

fn main() {}
