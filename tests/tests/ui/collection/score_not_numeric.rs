use redis_runtime::RedisSortedSet;

// Scores are numbers.
#[derive(RedisSortedSet)]
#[redis(key = "board:{game}", member = String, score = String)]
struct Board {
    game: String,
}

fn main() {}
