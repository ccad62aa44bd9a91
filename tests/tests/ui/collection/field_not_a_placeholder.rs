use redis_runtime::RedisSet;

// The struct is the key: an element field belongs in `member = T`.
#[derive(RedisSet)]
#[redis(key = "room:{room}:members", member = u64)]
struct RoomMember {
    room: String,
    user: u64,
}

fn main() {}
