use redis_runtime::{RedisModel, Store};

// The template is wrong; the generated `UserId` and `User::fields()` still
// exist, so code written against them reports nothing more.
#[derive(RedisModel)]
#[redis(key = "tenant:{tenant}:user:{idd}", ttl = "30d")]
struct User {
    tenant: String,
    id: u64,
    email: String,
}

async fn use_it(store: &Store) -> redis_runtime::Result<()> {
    let id = UserId {
        tenant: "acme".into(),
        id: 7,
    };
    let _email: Option<String> = store.get_field(&id, User::fields().email).await?;
    Ok(())
}

fn main() {
    let _ = use_it;
}
