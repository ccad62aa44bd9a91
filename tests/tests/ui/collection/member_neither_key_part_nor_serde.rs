use redis_runtime::RedisSet;

struct Opaque;

// A member is a key part, or serde with `json`.
#[derive(RedisSet)]
#[redis(key = "room:{room}:members", member = Opaque)]
struct Members {
    room: String,
}

#[derive(RedisSet)]
#[redis(key = "room:{room}:things", member = Opaque, json)]
struct Things {
    room: String,
}

fn main() {}
