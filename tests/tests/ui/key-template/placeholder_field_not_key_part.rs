use redis_runtime::RedisModel;

#[derive(RedisModel)]
#[redis(key = "blob:{digest}")]
struct Blob {
    digest: Vec<u8>,
    body: String,
}

fn main() {}
