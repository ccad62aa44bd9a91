use redis_runtime::RedisLock;

// `limit` is a rate limit's, not a lease's.
#[derive(RedisLock)]
#[redis(key = "room:{room}:lock", ttl = "30s", limit = 1)]
struct RoomLock {
    room: String,
}

fn main() {}
