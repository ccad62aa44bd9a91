use redis_runtime::RedisRateLimit;

#[derive(RedisRateLimit)]
#[redis(key = "limit:login:{user}", limit = 0, per = "1m", algorithm = "fixed")]
struct LoginLimit {
    user: u64,
}

fn main() {}
