use redis_runtime::RedisModel;

#[derive(RedisModel)]
#[redis(key = "session:{token}", tll = "30m")]
struct Session {
    token: String,
    user: u64,
}

fn main() {}
