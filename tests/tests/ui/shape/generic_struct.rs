use redis_runtime::RedisModel;

#[derive(RedisModel)]
#[redis(key = "item:{id}")]
struct Item<T> {
    id: u64,
    value: T,
}

fn main() {}
