use redis_runtime::RedisModel;

#[derive(RedisModel)]
#[redis(key = "bits:{id}")]
union Bits {
    id: u64,
    float: f64,
}

fn main() {}
