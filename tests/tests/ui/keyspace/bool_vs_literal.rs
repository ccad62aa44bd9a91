use redis_runtime::{RedisModel, keyspace};

#[derive(RedisModel)]
#[redis(key = "flag:{on}")]
struct Flag {
    on: bool,
}

#[derive(RedisModel)]
#[redis(key = "flag:true")]
struct Enabled {
    since: u64,
}

keyspace! { APP = [Flag, Enabled]; }

fn main() {}
