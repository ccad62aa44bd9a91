//! A link shortener on typed Redis: every key it keeps is declared once, and
//! it sends no raw command (the audit in CI proves it).
//!
//! ```text
//! cargo run -p examples --example shortener
//! cargo run -p examples --example shortener -- --manifest json|markdown
//! ```
//!
//! - `Link`: the short code's target, created once with `insert` (two users
//!   asking for one code: the first wins, atomically).
//! - `UserLinks`: a set per user of the codes they made.
//! - `DailyClicks`: a sorted set per day of clicks per code; `top(10)` is the
//!   leaderboard.
//! - `Referrers`: a map per code from referring site to clicks.
//! - `ShortenLimit`: a fixed-window rate limit per client address, 5 links
//!   a minute.
//! - `ClickQueue`: a reliable queue of clicks to count; a worker takes each
//!   into its in-flight list (`ClickQueueInFlight`) in the same step and acks
//!   it once counted, so a worker that dies loses no click.
//!
//! It uses `REDIS_URL` when set, and otherwise starts a private
//! `redis-server` through the testing harness. Keys live under the namespace
//! `shortener:`.

use redis_runtime::testing::RedisServer;
use redis_runtime::{
    Config, KeyPart, RedisCounter, RedisList, RedisMap, RedisModel, RedisSet, RedisSortedSet,
    Store, keyspace,
};
use serde::{Deserialize, Serialize};

/// A short code, e.g. `rust-1`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, KeyPart, Serialize, Deserialize)]
pub struct Code(String);

/// A short link: where its code leads.
#[derive(Debug, Clone, PartialEq, RedisModel, Serialize, Deserialize)]
#[redis(key = "link:{code}", encoding = "json")]
pub struct Link {
    code: Code,
    target: String,
    owner: u64,
}

/// The codes a user made.
#[derive(RedisSet)]
#[redis(key = "user:{user}:links", member = Code)]
pub struct UserLinks {
    user: u64,
}

/// Clicks per code on one day, kept a week.
#[derive(RedisSortedSet)]
#[redis(key = "clicks:{day}", member = Code, score = u64, ttl = "7d")]
pub struct DailyClicks {
    day: u32,
}

/// Where the clicks on one code come from.
#[derive(RedisMap)]
#[redis(key = "link:{code}:referrers", field = String, value = i64)]
pub struct Referrers {
    code: Code,
}

/// Links made per client address and minute.
#[derive(RedisCounter)]
#[redis(key = "limit:shorten:{client}", ttl = "1m")]
pub struct ShortenLimit {
    client: String,
}

/// One click to count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Click {
    code: Code,
    referrer: String,
}

/// Clicks waiting to be counted: a reliable queue.
#[derive(RedisList)]
#[redis(key = "queue:{name}", hash_tag = "name", item = Click, queue)]
pub struct ClickQueue {
    name: String,
}

keyspace! {
    /// Every key family the shortener keeps.
    pub SHORTENER = [
        Link, UserLinks, DailyClicks, Referrers, ShortenLimit, ClickQueue, ClickQueueInFlight,
    ];
}

const NAMESPACE: &str = "shortener";
/// Links one client may make per window.
const LINKS_PER_MINUTE: u64 = 5;
const DAY: u32 = 20_261_201;

/// Why a link was not made.
#[derive(Debug)]
enum Refused {
    TooFast { retry_after_ms: u128 },
    CodeTaken { by: u64 },
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::TooFast { retry_after_ms } => {
                write!(f, "too many links; try again in {retry_after_ms} ms")
            }
            Refused::CodeTaken { by } => write!(f, "the code is taken (by user {by})"),
        }
    }
}

/// Makes a short link for `owner`, unless the client is over its limit or
/// the code is taken.
async fn shorten(
    store: &Store,
    client: &str,
    owner: u64,
    code: &str,
    target: &str,
) -> redis_runtime::Result<Result<Link, Refused>> {
    let hit = store
        .counter::<ShortenLimit>(&client.to_owned())
        .hit(LINKS_PER_MINUTE)
        .await?;
    if !hit.allowed() {
        let retry_after_ms = hit.retry_after().map_or(0, |d| d.as_millis());
        return Ok(Err(Refused::TooFast { retry_after_ms }));
    }
    let link = Link {
        code: Code(code.into()),
        target: target.into(),
        owner,
    };
    match store.insert_or_get(&link).await? {
        redis_runtime::InsertOrGet::Inserted => {}
        redis_runtime::InsertOrGet::Existing(winner) => {
            return Ok(Err(Refused::CodeTaken { by: winner.owner }));
        }
    }
    store.set::<UserLinks>(&owner).add(&link.code).await?;
    Ok(Ok(link))
}

/// The queue clicks wait in.
fn clicks() -> String {
    "clicks".to_owned()
}

/// Follows a short link: returns its target and queues the click.
async fn follow(
    store: &Store,
    code: &Code,
    referrer: &str,
) -> redis_runtime::Result<Option<String>> {
    let Some(link) = store.get::<Link>(code).await? else {
        return Ok(None);
    };
    let click = Click {
        code: code.clone(),
        referrer: referrer.to_owned(),
    };
    store.list::<ClickQueue>(&clicks()).enqueue(&click).await?;
    Ok(Some(link.target))
}

/// A worker: counts every queued click (per day and per referrer) and acks
/// it; returns how many it counted.
async fn count_clicks(store: &Store, worker: &str) -> redis_runtime::Result<u64> {
    let name = clicks();
    let queue = store.list::<ClickQueue>(&name);
    // First, what a previous run of this worker took and did not ack.
    queue.recover(worker).await?;
    let mut counted = 0;
    while let Some(delivery) = queue.take(worker).await? {
        let click = delivery.item();
        store
            .sorted_set::<DailyClicks>(&DAY)
            .incr(&click.code, 1)
            .await?;
        store
            .map::<Referrers>(&click.code)
            .incr(&click.referrer, 1)
            .await?;
        queue.ack(&delivery).await?;
        counted += 1;
    }
    Ok(counted)
}

fn connect_config() -> Result<(Config, Option<RedisServer>), Box<dyn std::error::Error>> {
    if std::env::var_os("REDIS_URL").is_some() {
        let config = Config::builder()
            .url(std::env::var("REDIS_URL")?)
            .namespace(NAMESPACE)
            .build()?;
        return Ok((config, None));
    }
    let server = RedisServer::start()?;
    let config = server.config_builder().namespace(NAMESPACE).build()?;
    Ok((config, Some(server)))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, format] = args.as_slice()
        && flag == "--manifest"
    {
        let manifest = SHORTENER.manifest(&format!("{NAMESPACE}:"));
        match format.as_str() {
            "json" => print!("{}", manifest.to_json()),
            _ => print!("{}", manifest.to_markdown()),
        }
        return Ok(());
    }
    let (config, _server) = connect_config()?;
    let store = Store::connect(&config).await?;
    println!("connected: {config}");

    // Two users race for one code: exactly one gets it.
    let ada = shorten(&store, "10.0.0.1", 1, "rust", "https://rust-lang.org").await?;
    let bob = shorten(&store, "10.0.0.2", 2, "rust", "https://example.com").await?;
    let show = |made: &Result<Link, Refused>| match made {
        Ok(link) => format!("made {:?} -> {}", link.code, link.target),
        Err(refused) => format!("refused: {refused}"),
    };
    println!("ada: {}\nbob: {}", show(&ada), show(&bob));

    // One client making links quickly is stopped after five in a minute.
    for i in 0..7 {
        let made = shorten(
            &store,
            "10.0.0.3",
            3,
            &format!("c{i}"),
            "https://example.org",
        )
        .await?;
        println!("link {i}: {}", show(&made));
    }
    println!(
        "user 3 has {} link(s)",
        store.set::<UserLinks>(&3).len().await?
    );

    // Clicks, the day's leaderboard, and where they came from.
    for (code, referrer, times) in [
        ("rust", "news.example", 5),
        ("c1", "mail", 2),
        ("rust", "chat", 1),
    ] {
        for _ in 0..times {
            follow(&store, &Code(code.into()), referrer).await?;
        }
    }
    println!(
        "counted {} click(s)",
        count_clicks(&store, "worker-1").await?
    );
    let top = store.sorted_set::<DailyClicks>(&DAY).top(10).await?;
    println!("top links today: {top:?}");
    let mut referrers = store.map::<Referrers>(&Code("rust".into())).all().await?;
    referrers.sort();
    println!("referrers of rust: {referrers:?}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{NAMESPACE, SHORTENER};

    #[test]
    fn every_family_is_in_the_keyspace() {
        let unlisted: Vec<&str> = SHORTENER.unlisted().iter().map(|m| m.name).collect();
        assert!(
            unlisted.is_empty(),
            "families missing from SHORTENER: {unlisted:?}"
        );
    }

    /// The manifest checked in under `docs/keyspace/` says what the code
    /// declares, each family with its real Redis type.
    #[test]
    fn the_checked_in_manifest_matches_the_declarations() {
        let manifest = SHORTENER.manifest(&format!("{NAMESPACE}:"));
        let types: Vec<(&str, &str)> = manifest
            .families
            .iter()
            .map(|f| (f.model.as_str(), f.redis_type.as_str()))
            .collect();
        assert_eq!(
            types,
            [
                ("Link", "string"),
                ("UserLinks", "set"),
                ("DailyClicks", "zset"),
                ("Referrers", "hash"),
                ("ShortenLimit", "string"),
                ("ClickQueue", "list"),
                ("ClickQueueInFlight", "list"),
            ]
        );
        for (path, checked_in, generated, format) in [
            (
                "docs/keyspace/shortener.json",
                include_str!("../docs/keyspace/shortener.json"),
                manifest.to_json(),
                "json",
            ),
            (
                "docs/keyspace/shortener.md",
                include_str!("../docs/keyspace/shortener.md"),
                manifest.to_markdown(),
                "markdown",
            ),
        ] {
            assert!(
                checked_in == generated,
                "{path} is stale; regenerate it with\n  cargo run -p examples --example shortener -- --manifest {format} > {path}\n--- generated:\n{generated}"
            );
        }
    }
}
