use redis_runtime::RedisLock;

#[derive(RedisLock)]
#[redis(key = "room:{room}:lock", tll = "30s")]
struct RoomLock {
    room: String,
}

fn main() {}
