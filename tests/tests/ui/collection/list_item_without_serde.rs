use redis_runtime::RedisList;

struct Line;

// List items are serde JSON.
#[derive(RedisList)]
#[redis(key = "room:{room}:history", item = Line)]
struct History {
    room: String,
}

fn main() {}
