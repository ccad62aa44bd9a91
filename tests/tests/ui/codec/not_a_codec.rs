use redis_runtime::RedisModel;

struct Bincode;

#[derive(RedisModel)]
#[redis(key = "note:{id}", codec = Bincode)]
struct Note {
    id: u64,
    body: String,
}

fn main() {}
