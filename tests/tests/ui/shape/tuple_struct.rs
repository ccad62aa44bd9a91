use redis_runtime::RedisModel;

#[derive(RedisModel)]
#[redis(key = "user:{0}")]
struct User(u64, String);

fn main() {}
