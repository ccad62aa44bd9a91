use redis_runtime::RedisModel;

#[derive(RedisModel)]
#[redis(key = "count:{id}", codec = raw)]
struct Count {
    id: u64,
    value: u64,
}

fn main() {}
