use redis_runtime::RedisStream;

#[derive(serde::Serialize, serde::Deserialize)]
struct Said { text: String }

// Trimmed by length or by age, not both.
#[derive(RedisStream)]
#[redis(key = "room:{room}:events", event = Said, maxlen = "~1000", minid = "7d")]
struct RoomEvents {
    room: String,
}

fn main() {}
