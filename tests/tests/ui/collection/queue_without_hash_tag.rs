use redis_runtime::RedisList;

// A reliable queue's in-flight lists must share the queue's slot.
#[derive(RedisList)]
#[redis(key = "jobs:{queue}", item = String, queue)]
struct Jobs {
    queue: String,
}

fn main() {}
