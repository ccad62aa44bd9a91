use redis_runtime::RedisChannel;

#[derive(serde::Serialize, serde::Deserialize)]
struct Typing { user: u64 }

// The message type goes in `message = T`, not in a field.
#[derive(RedisChannel)]
#[redis(channel = "room:{room}:typing")]
struct RoomTyping {
    room: String,
    typing: Typing,
}

fn main() {}
