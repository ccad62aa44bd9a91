use redis_runtime::RedisModel;

#[derive(RedisModel)]
#[redis(key = "config:global")]
struct Config;

fn main() {}
