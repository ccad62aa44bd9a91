use redis_runtime::RedisStream;

struct Said { text: String }

// Events are serde JSON.
#[derive(RedisStream)]
#[redis(key = "room:{room}:events", event = Said)]
struct RoomEvents {
    room: String,
}

fn main() {}
