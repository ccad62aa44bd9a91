use redis_runtime::RedisModel;

// A bad local TTL and a zero budget are both reported, at their values.
#[derive(RedisModel)]
#[redis(key = "user:{id}", client_cache(ttl = "soon", max_entries = 0))]
struct User {
    id: u64,
    name: String,
}

fn main() {}
