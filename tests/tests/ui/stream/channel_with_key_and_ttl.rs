use redis_runtime::RedisChannel;

#[derive(serde::Serialize, serde::Deserialize)]
struct Typing { user: u64 }

// A channel names a channel, not a key, and holds nothing to expire.
#[derive(RedisChannel)]
#[redis(key = "room:{room}:typing", message = Typing, ttl = "1m")]
struct RoomTyping {
    room: String,
}

fn main() {}
