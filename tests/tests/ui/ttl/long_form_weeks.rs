use redis_runtime::RedisModel;

#[derive(RedisModel)]
#[redis(key = "session:{token}", ttl = "2 weeks")]
struct Session {
    token: String,
    user: u64,
}

fn main() {}
