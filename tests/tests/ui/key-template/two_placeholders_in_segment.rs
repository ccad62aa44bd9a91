use redis_runtime::RedisModel;

// `/` separates this key's segments, but the declaration did not say so.
#[derive(RedisModel)]
#[redis(key = "game/{id}/{player}")]
struct Player {
    id: u64,
    player: u64,
}

fn main() {}
