use redis_runtime::{RedisModel, Store};

#[derive(RedisModel)]
#[redis(key = "user:{id}")]
struct User {
    id: u64,
    email: String,
    logins: i64,
}

async fn bump(store: &Store) -> redis_runtime::Result<()> {
    store.incr(&7, User::fields().email, 1).await?;
    Ok(())
}

fn main() {
    let _ = bump;
}
