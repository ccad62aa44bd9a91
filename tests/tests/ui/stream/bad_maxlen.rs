use redis_runtime::RedisStream;

#[derive(serde::Serialize, serde::Deserialize)]
struct Said { text: String }

// `maxlen` is a count, not a duration.
#[derive(RedisStream)]
#[redis(key = "room:{room}:events", event = Said, maxlen = "1d")]
struct RoomEvents {
    room: String,
}

fn main() {}
