use redis_runtime::RedisModel;

#[derive(RedisModel)]
#[redis(key = "session:{token}", expire = "30m")]
struct Session {
    token: String,
    user: u64,
}

fn main() {}
