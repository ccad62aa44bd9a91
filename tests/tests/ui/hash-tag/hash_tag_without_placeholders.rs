use redis_runtime::RedisModel;

#[derive(RedisModel)]
#[redis(key = "config:global", hash_tag = "id")]
struct GlobalConfig {
    motd: String,
}

fn main() {}
