use redis_runtime::RedisRateLimit;

#[derive(RedisRateLimit)]
#[redis(key = "limit:login:{user}", limit = 5, algorithm = "sliding")]
struct LoginLimit {
    user: u64,
}

fn main() {}
