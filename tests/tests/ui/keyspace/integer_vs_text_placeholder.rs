use redis_runtime::{RedisModel, keyspace};

#[derive(RedisModel)]
#[redis(key = "order:{id}")]
struct Order {
    id: u64,
}

#[derive(RedisModel)]
#[redis(key = "order:{reference}")]
struct OrderByReference {
    reference: String,
}

keyspace! { APP = [Order, OrderByReference]; }

fn main() {}
