use redis_runtime::{Family, RedisModel, Store};

// The template is wrong; code using the model reports nothing more.
#[derive(RedisModel)]
#[redis(key = "user:{id}:")]
struct User {
    id: u64,
    logins: i64,
}

async fn use_it(store: &Store) -> redis_runtime::Result<()> {
    let _user: Option<User> = store.get::<User>(&1).await?;
    store.save(&User { id: 1, logins: 0 }).await?;
    store.incr(&1, User::fields().logins, 1).await?;
    let _template = <User as Family>::META.key.source;
    Ok(())
}

fn main() {
    let _ = use_it;
}
