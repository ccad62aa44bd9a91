use redis_runtime::RedisCounter;

// A counter holds one integer; and a typo is suggested a fix.
#[derive(RedisCounter)]
#[redis(key = "views:{page}", member = u64, tll = "1d")]
struct Views {
    page: String,
}

fn main() {}
