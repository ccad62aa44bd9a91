use redis_runtime::RedisSortedSet;

// A sorted set needs exactly one score type.
#[derive(RedisSortedSet)]
#[redis(key = "board:{game}", member = String)]
struct Board {
    game: String,
}

fn main() {}
