use redis_runtime::RedisModel;

#[derive(RedisModel)]
#[redis(key = "org:{org}:item:{id}", hash_tag = "org")]
struct Item {
    org: String,
    id: u64,
    #[redis(unique)]
    price: f64,
    #[redis(index)]
    weight: Option<f32>,
}

fn main() {}
