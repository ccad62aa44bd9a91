use redis_runtime::RedisRateLimit;

#[derive(RedisRateLimit)]
#[redis(key = "limit:login:{user}", limit = 5, per = "1m", algorithm = "gcra", ttl = "1h")]
struct LoginLimit {
    user: u64,
}

fn main() {}
