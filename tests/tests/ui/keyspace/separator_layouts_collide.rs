use redis_runtime::{RedisModel, keyspace};

// `game/{id}/state` with `/` separators, and one `:` segment `game/{rest}`
// whose part may hold a `/` as is: `game/x/state` is a key of both.
#[derive(RedisModel)]
#[redis(key = "game/{id}/state", separator = "/")]
struct GameState {
    id: String,
    turn: u64,
}

#[derive(RedisModel)]
#[redis(key = "game/{rest}")]
struct GameAny {
    rest: String,
    turn: u64,
}

keyspace! { APP = [GameState, GameAny]; }

fn main() {}
