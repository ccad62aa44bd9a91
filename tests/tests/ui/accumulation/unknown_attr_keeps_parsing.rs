use redis_runtime::RedisModel;

// The unknown attribute comes first; `key` after it is still read, so the
// model is not also reported as missing its key.
#[derive(RedisModel)]
#[redis(expire = "30m", key = "session:{token}")]
struct Session {
    token: String,
    user: u64,
}

fn main() {}
