use redis_runtime::RedisModel;

struct Connection;

#[derive(RedisModel)]
#[redis(key = "user:{id}")]
struct User {
    id: u64,
    #[redis(skip)]
    conn: Connection,
}

fn main() {}
