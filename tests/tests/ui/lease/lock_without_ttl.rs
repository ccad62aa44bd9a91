use redis_runtime::RedisLock;

// A lease without a TTL would block everyone forever once its holder dies.
#[derive(RedisLock)]
#[redis(key = "room:{room}:lock", hash_tag = "room")]
struct RoomLock {
    room: String,
}

fn main() {}
