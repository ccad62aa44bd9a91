use redis_runtime::RedisModel;

#[derive(RedisModel)]
#[redis(key = "status:{id}")]
enum Status {
    Active,
    Banned,
}

fn main() {}
