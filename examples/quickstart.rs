//! The quickstart: three models, every kind of operation, and the keys they made.
//!
//! ```text
//! cargo run -p examples --example quickstart              # run it
//! cargo run -p examples --example quickstart -- --clean   # delete the keys it made
//! cargo run -p examples --example quickstart -- --manifest json|markdown
//! ```
//!
//! It uses `REDIS_URL` when set. Otherwise it uses the server on
//! 127.0.0.1:6379 if one answers, and else starts a private `redis-server`
//! through the testing harness, so it runs out of the box. Its keys live under
//! the namespace `quickstart:` (or `REDIS_NAMESPACE`). It leaves three keys
//! behind, each with a TTL (30 days, 30 minutes, 1 hour); `--clean` deletes
//! them, by their ids, with the typed `delete_many`.

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use futures_util::StreamExt;
use redis_runtime::testing::RedisServer;
use redis_runtime::{Config, Expiry, Family, KeyPart, RedisModel, Store, keyspace};
use serde::{Deserialize, Serialize};

/// Tenants are strings, but a tenant id is not any string: a newtype keeps them apart.
#[derive(Debug, Clone, PartialEq, Eq, Hash, KeyPart)]
struct TenantId(String);

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
struct Prefs {
    theme: String,
    newsletter: bool,
}

/// A user: one Redis hash per user, all of a tenant's keys in one cluster slot.
#[derive(Debug, Clone, PartialEq, RedisModel)]
#[redis(key = "tenant:{tenant}:user:{id}", hash_tag = "tenant", ttl = "30d")]
struct User {
    tenant: TenantId,
    id: u64,
    email: String,
    name: Option<String>,
    #[redis(json)]
    prefs: Prefs,
    logins: i64,
}

/// A login session: one JSON string per session, gone after 30 minutes.
#[derive(Debug, Clone, PartialEq, RedisModel, Serialize, Deserialize)]
#[redis(key = "session:{token}", encoding = "json", ttl = "30m")]
struct Session {
    token: String,
    user: u64,
    scopes: Vec<String>,
}

/// A page-view counter per page and day: a small hash. A service would keep
/// it for days; the quickstart keeps it for an hour, so that it leaves nothing
/// lasting on a shared server.
#[derive(Debug, Clone, PartialEq, RedisModel)]
#[redis(key = "views:{page}:{day}", ttl = "1h")]
struct PageViews {
    page: String,
    day: u32,
    views: u64,
}

keyspace! {
    /// Everything the quickstart keeps in Redis: checked at compile time so no
    /// two models can render the same key, and exported as its key manifest
    /// (`--manifest json|markdown`; checked in under `docs/keyspace/`).
    pub QUICKSTART = [User, Session, PageViews];
}

/// The namespace the quickstart's keys live under unless `REDIS_NAMESPACE` says otherwise.
pub const NAMESPACE: &str = "quickstart";

/// The ids of everything the quickstart writes: the run and `--clean` share them.
const TENANT: &str = "acme";
const USERS: [u64; 2] = [1, 2];
const SESSION_TOKEN: &str = "tok:7f3a*";
const PAGE: &str = "/pricing";
const DAY: u32 = 20261125;

fn user_id(id: u64) -> UserId {
    UserId {
        tenant: TenantId(TENANT.into()),
        id,
    }
}

fn page_views_id(day: u32) -> PageViewsId {
    PageViewsId {
        page: PAGE.into(),
        day,
    }
}

/// `--clean`: delete every key the quickstart creates, by its ids (never by
/// scanning: under another `REDIS_NAMESPACE` a scan would find an
/// application's own entities too).
async fn clean(store: &Store) -> redis_runtime::Result<()> {
    let users: Vec<UserId> = USERS.into_iter().map(user_id).collect();
    let removed = store.delete_many::<User>(&users).await?
        + store
            .delete_many::<Session>(&[SESSION_TOKEN.to_owned()])
            .await?
        + store
            .delete_many::<PageViews>(&[page_views_id(DAY)])
            .await?;
    println!(
        "removed {removed} key(s) the quickstart created under the namespace `{}`",
        store.namespace()
    );
    Ok(())
}

/// Where to find Redis: `REDIS_URL`, the default address, or a private server.
fn connect_config() -> Result<(Config, Option<RedisServer>), Box<dyn std::error::Error>> {
    let namespace = std::env::var("REDIS_NAMESPACE").unwrap_or_else(|_| NAMESPACE.into());
    if std::env::var_os("REDIS_URL").is_some() {
        let config = Config::from_env()?;
        let config = Config::builder()
            .url(std::env::var("REDIS_URL")?)
            .namespace(if config.namespace().is_empty() {
                namespace
            } else {
                config.namespace().into()
            })
            .build()?;
        println!("using REDIS_URL: {config}");
        return Ok((config, None));
    }
    let default: SocketAddr = "127.0.0.1:6379".parse()?;
    if TcpStream::connect_timeout(&default, Duration::from_millis(300)).is_ok() {
        let config = Config::builder().namespace(namespace).build()?;
        println!("using the server on the default address: {config}");
        return Ok((config, None));
    }
    let server = RedisServer::start()?;
    let config = server.config_builder().namespace(namespace).build()?;
    println!("nothing answers on {default}; started a private redis-server: {config}");
    Ok((config, Some(server)))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // `--manifest json|markdown` prints the key manifest and exits;
    // `--clean` deletes the keys a run created.
    let args: Vec<String> = std::env::args().collect();
    let clean_only = match args.as_slice() {
        [_] => false,
        [_, flag] if flag == "--clean" => true,
        [_, flag, _] if flag == "--manifest" => false,
        _ => return Err("usage: quickstart [--clean | --manifest json|markdown]".into()),
    };
    if let [_, flag, format] = args.as_slice()
        && flag == "--manifest"
    {
        let manifest = QUICKSTART.manifest(&format!("{NAMESPACE}:"));
        match format.as_str() {
            "json" => print!("{}", manifest.to_json()),
            "markdown" => print!("{}", manifest.to_markdown()),
            other => {
                return Err(
                    format!("unknown manifest format `{other}`; use json or markdown").into(),
                );
            }
        }
        return Ok(());
    }

    // Keep the private server (if any) alive until the end of `main`.
    let (config, server) = connect_config()?;
    let store = Store::connect(&config).await?;
    if clean_only {
        clean(&store).await?;
        return Ok(());
    }

    // Save: one round trip each, TTL from the model.
    let acme = TenantId(TENANT.into());
    let ada = User {
        tenant: acme.clone(),
        id: USERS[0],
        email: "ada@example.com".into(),
        name: Some("Ada".into()),
        prefs: Prefs {
            theme: "dark".into(),
            newsletter: true,
        },
        logins: 0,
    };
    let grace = User {
        id: USERS[1],
        email: "grace@example.com".into(),
        name: None,
        ..ada.clone()
    };
    store.save_many(&[ada.clone(), grace.clone()]).await?;
    println!(
        "\nsaved users {} and {} of tenant {:?}",
        ada.id, grace.id, acme.0
    );

    // Get by a typed id: no key strings anywhere.
    let ada_id = user_id(ada.id);
    let loaded = store.get::<User>(&ada_id).await?.ok_or("ada is missing")?;
    assert_eq!(loaded, ada);
    println!(
        "loaded {} <{}>",
        loaded.name.as_deref().unwrap_or("?"),
        loaded.email
    );

    // Typed partial writes keep the TTL; increments are atomic.
    let fields = User::fields();
    store
        .set_field(&ada_id, fields.email, &"ada@lovelace.dev".to_owned())
        .await?;
    let logins = store.incr(&ada_id, fields.logins, 1).await?;
    println!("changed ada's email; logins is now {logins:?}");
    println!(
        "ada's TTL after the partial writes: {}",
        show(store.ttl::<User>(&ada_id).await?)
    );

    // Batch read in one round trip.
    let ids = [ada_id.clone(), user_id(grace.id), user_id(3)];
    let found = store.get_many::<User>(&ids).await?;
    println!(
        "get_many of 3 ids: {} found",
        found.iter().flatten().count()
    );

    // A JSON model with a 30-minute TTL.
    let session = Session {
        token: SESSION_TOKEN.into(),
        user: 1,
        scopes: vec!["read".into(), "write".into()],
    };
    store.save(&session).await?;
    println!(
        "saved a session; TTL {}",
        show(store.ttl::<Session>(&session.token).await?)
    );

    // A counter: a full save starts the day at zero (it replaces whatever
    // was there, and applies the model's TTL), then `incr` counts. `incr` is
    // atomic, and on an entity that does not exist it writes nothing and
    // returns `None`: it never creates half an entity, so nothing needs
    // checking first.
    let today = PageViews {
        page: PAGE.into(),
        day: DAY,
        views: 0,
    };
    let today_id = today.id();
    store.save(&today).await?;
    for _ in 0..3 {
        store.incr(&today_id, PageViews::fields().views, 1).await?;
    }
    let views = store
        .get_field(&today_id, PageViews::fields().views)
        .await?;
    println!("{PAGE} views today: {}", views.unwrap_or_default());
    let never_saved = store
        .incr(&page_views_id(DAY + 1), PageViews::fields().views, 1)
        .await?;
    println!("incr of a day never saved: {never_saved:?} (nothing written)");

    // Scan every user of this namespace; ids come back typed.
    let users = store.scan_ids::<User>();
    futures_util::pin_mut!(users);
    let mut scanned = Vec::new();
    while let Some(id) = users.next().await {
        scanned.push(id?.id);
    }
    scanned.sort_unstable();
    println!(
        "scan found user ids {scanned:?}; count = {}",
        store.count::<User>().await?
    );

    // Deleting is typed too.
    let removed = store.delete::<User>(&user_id(grace.id)).await?;
    println!("deleted grace: {removed}");

    println!(
        "\nkeys this quickstart created (namespace `{}`), each with a TTL:",
        store.namespace()
    );
    for (model, template, key, ttl) in [
        (
            "User",
            User::META.key.source,
            store.key::<User>(&ada_id)?,
            store.ttl::<User>(&ada_id).await?,
        ),
        (
            "Session",
            Session::META.key.source,
            store.key::<Session>(&session.token)?,
            store.ttl::<Session>(&session.token).await?,
        ),
        (
            "PageViews",
            PageViews::META.key.source,
            store.key::<PageViews>(&today_id)?,
            store.ttl::<PageViews>(&today_id).await?,
        ),
    ] {
        println!("  {model:<10} {template:<28} {key}  (TTL {})", show(ttl));
    }
    println!(
        "(the session token `{SESSION_TOKEN}` is escaped, so it cannot forge or glob another key)"
    );
    if server.is_some() {
        println!("they go away with the private redis-server when the quickstart exits");
    } else {
        println!("to delete them now: cargo run -p examples --example quickstart -- --clean");
    }
    Ok(())
}

fn show(expiry: Expiry) -> String {
    match expiry {
        Expiry::In(d) => format!("{}s", d.as_secs()),
        Expiry::Never => "none".into(),
        Expiry::Missing => "missing".into(),
        _ => "unknown".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::{NAMESPACE, QUICKSTART};

    /// Every model this program declares is in its keyspace, so the manifest,
    /// the ACL rule and doctor know every key it writes.
    #[test]
    fn every_model_is_in_the_keyspace() {
        let unlisted: Vec<&str> = QUICKSTART.unlisted().iter().map(|m| m.name).collect();
        assert!(
            unlisted.is_empty(),
            "models missing from QUICKSTART: {unlisted:?}"
        );
        assert_eq!(redis_runtime::keyspace::registered_models().count(), 3);
    }

    /// The manifest checked in under `docs/keyspace/` is documentation: it must
    /// say what the code declares.
    #[test]
    fn the_checked_in_manifest_matches_the_models() {
        let manifest = QUICKSTART.manifest(&format!("{NAMESPACE}:"));
        for (path, checked_in, generated, format) in [
            (
                "docs/keyspace/quickstart.json",
                include_str!("../docs/keyspace/quickstart.json"),
                manifest.to_json(),
                "json",
            ),
            (
                "docs/keyspace/quickstart.md",
                include_str!("../docs/keyspace/quickstart.md"),
                manifest.to_markdown(),
                "markdown",
            ),
        ] {
            assert!(
                checked_in == generated,
                "{path} is stale; regenerate it with\n  cargo run -p examples --example quickstart -- --manifest {format} > {path}\n--- generated:\n{generated}"
            );
        }
    }
}
