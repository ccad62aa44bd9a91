use redis_runtime::RedisModel;

// No placeholder and only `Option` fields: saving `Settings { motd: None }`
// would need an empty hash, which Redis cannot keep.
#[derive(RedisModel)]
#[redis(key = "settings")]
struct Settings {
    motd: Option<String>,
    #[redis(skip)]
    cache: Vec<u8>,
}

// Near misses that compile: a field that is always stored, or a placeholder.
#[derive(RedisModel)]
#[redis(key = "flags")]
struct Flags {
    beta: Option<bool>,
    updated_at: u64,
}

#[derive(RedisModel)]
#[redis(key = "profile:{id}")]
struct Profile {
    id: u64,
    bio: Option<String>,
}

fn main() {}
