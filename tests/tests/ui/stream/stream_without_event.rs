use redis_runtime::RedisStream;

// A stream's entries are events of one declared type.
#[derive(RedisStream)]
#[redis(key = "room:{room}:events", maxlen = "~1000")]
struct RoomEvents {
    room: String,
}

fn main() {}
