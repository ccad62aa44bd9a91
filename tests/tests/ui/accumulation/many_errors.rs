use redis_runtime::RedisModel;

// Three unrelated mistakes, all reported by one compile.
#[derive(RedisModel)]
#[redis(key = "user:{idd}", ttl = "30x")]
struct User {
    id: u64,
    #[redis(jsn)]
    prefs: String,
}

fn main() {}
