use redis_runtime::RedisMap;

// A map needs a field type and a value type.
#[derive(RedisMap)]
#[redis(key = "room:{room}:read", field = u64)]
struct ReadMarks {
    room: String,
}

fn main() {}
