use redis_runtime::RedisLock;

#[derive(RedisLock)]
#[redis(key = "job:{id}:lock", ttl = "30s", client_cache)]
struct JobLock {
    id: u64,
}

fn main() {}
