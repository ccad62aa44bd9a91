use redis_runtime::RedisModel;

#[derive(RedisModel)]
#[redis(key = "game-{id}-state", separator = "-")]
struct Game {
    id: u64,
}

fn main() {}
