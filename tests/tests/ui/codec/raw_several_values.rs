use redis_runtime::RedisModel;

#[derive(RedisModel)]
#[redis(key = "blob:{id}", codec = raw)]
struct Blob {
    id: u64,
    bytes: Vec<u8>,
    kind: String,
}

fn main() {}
