use redis_runtime::RedisRateLimit;

// A fixed window allows `limit` at once; only GCRA spreads requests out.
#[derive(RedisRateLimit)]
#[redis(key = "limit:login:{user}", limit = 5, per = "1m", algorithm = "fixed", burst = 2)]
struct LoginLimit {
    user: u64,
}

fn main() {}
