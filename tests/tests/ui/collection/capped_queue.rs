use redis_runtime::RedisList;

// Trimming a queue would drop jobs no one took.
#[derive(RedisList)]
#[redis(key = "jobs:{queue}", hash_tag = "queue", item = String, queue, cap = 100)]
struct Jobs {
    queue: String,
}

fn main() {}
