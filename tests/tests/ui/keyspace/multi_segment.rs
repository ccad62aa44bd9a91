use redis_runtime::{RedisModel, keyspace};

#[derive(RedisModel)]
#[redis(key = "doc:{owner}:rev:{rev}")]
struct Revision {
    owner: String,
    rev: String,
}

#[derive(RedisModel)]
#[redis(key = "doc:{owner}:rev:latest")]
struct Latest {
    owner: String,
}

keyspace! { APP = [Revision, Latest]; }

fn main() {}
