//! Raw families (`#[derive(RedisRaw)]`): the key families a migrating service
//! still reaches by hand. Declared, listed in a keyspace, shown in the
//! manifest and the ACL rule, and the rule applied to a real server's user:
//! the declared commands pass on the family's keys, everything else is
//! refused (`NOPERM`).

use redis_runtime::keyspace::Manifest;
use redis_runtime::testing::RedisServer;
use redis_runtime::{Error, RedisModel, RedisRaw, Store, keyspace, redis};

#[derive(RedisRaw)]
#[redis(
    key = "legacy:queue:{name}",
    redis_type = "list",
    commands = "LPUSH brpop llen"
)]
struct LegacyQueue {
    name: String,
}

#[derive(RedisRaw)]
#[redis(
    key = "legacy:seen:{day}",
    redis_type = "set",
    commands = "sadd sismember expire",
    ttl = "2d"
)]
struct LegacySeen {
    day: u32,
}

#[derive(Debug, Clone, PartialEq, RedisModel)]
#[redis(key = "user:{id}")]
struct User {
    id: u64,
    name: String,
}

keyspace! {
    /// The migrating service: one typed model, two families reached by hand.
    APP = [User, LegacyQueue, LegacySeen];
}

#[test]
fn the_manifest_lists_raw_families_with_their_type_and_commands() {
    let manifest = APP.manifest("app");
    assert_eq!(manifest.version, 4);
    let queue = &manifest.families[1];
    assert_eq!(queue.model, "LegacyQueue");
    assert!(queue.is_raw());
    assert_eq!(queue.encoding, "raw_family");
    assert_eq!(queue.redis_type, "list");
    assert_eq!(queue.commands, ["lpush", "brpop", "llen"]);
    assert_eq!(queue.pattern, "app:legacy:queue:?*");
    assert_eq!(queue.ttl_ms, None);
    let seen = &manifest.families[2];
    assert_eq!(seen.redis_type, "set");
    assert_eq!(seen.ttl_ms, Some(2 * 86_400_000));
    assert!(!manifest.families[0].is_raw());

    // The JSON reads back as it was written.
    let json = manifest.to_json();
    assert!(json.contains("\"encoding\": \"raw_family\""), "{json}");
    assert_eq!(Manifest::from_json(&json).unwrap(), manifest);

    let markdown = manifest.to_markdown();
    assert!(
        markdown.contains("| LegacyQueue | `app:legacy:queue:{name}` | list | raw_family | none |"),
        "{markdown}"
    );
    assert!(
        markdown.contains("Raw family (kind `raw_family`, Redis type `list`); commands the application's own code sends to it, the only ones its ACL selector grants: `lpush`, `brpop`, `llen`."),
        "{markdown}"
    );
}

#[test]
fn the_acl_rule_grants_raw_commands_only_on_their_family() {
    let manifest = APP.manifest("app");
    let rule = manifest.acl_rule();
    // The raw families' patterns are not the root's: the runtime's commands
    // do not reach their keys.
    assert_eq!(rule.key_patterns, [manifest.families[0].pattern.clone()]);
    let seen = &manifest.families[2].pattern;
    let selectors: Vec<String> = rule.selectors.iter().map(|s| s.as_arg()).collect();
    assert_eq!(
        selectors,
        [
            "(~app:legacy:queue:?* +lpush +brpop +llen)".to_owned(),
            format!("(~{seen} +sadd +sismember +expire)"),
        ]
    );
    let args = rule.setuser_args();
    assert!(args.contains(&"clearselectors".to_owned()), "{args:?}");
    assert!(
        rule.setuser_command("app")
            .ends_with(&format!("\"(~{seen} +sadd +sismember +expire)\"")),
        "{}",
        rule.setuser_command("app")
    );
    assert!(rule.grants("brpop") && rule.grants("LPUSH") && rule.grants("sismember"));
    assert!(!rule.grants("flushall") && !rule.grants("keys"));
    // Without raw families the rule has no selector, so it stays valid on 6.2.
    keyspace! { TYPED = [User]; }
    let typed = TYPED.manifest("app").acl_rule();
    assert!(typed.selectors.is_empty());
    assert!(!typed.setuser_args().contains(&"clearselectors".to_owned()));
}

fn denied(result: redis_runtime::Result<impl std::fmt::Debug>) -> bool {
    matches!(result, Err(Error::PermissionDenied { .. }))
}

#[tokio::test]
async fn the_applied_rule_allows_the_declared_commands_and_refuses_the_rest() {
    let server = RedisServer::start().unwrap();
    let rule = APP.manifest("app").acl_rule();
    let mut admin = server.raw_connection().await.unwrap();
    let mut setuser = redis::cmd("ACL");
    setuser
        .arg("SETUSER")
        .arg("app")
        .arg("reset")
        .arg("on")
        .arg(">pw")
        .arg(rule.setuser_args());
    let _: () = setuser.query_async(&mut admin).await.unwrap();
    let config = redis_runtime::Config::builder()
        .url(format!("{}?user=app&pass=pw", server.url()))
        .namespace("app")
        .build()
        .unwrap();
    let store = Store::connect(&config).await.unwrap();

    // The typed model still works beside the selectors.
    let user = User {
        id: 1,
        name: "ada".into(),
    };
    store.save(&user).await.unwrap();
    assert_eq!(store.get::<User>(&1).await.unwrap(), Some(user));

    let raw = store.raw_access();
    let queue = raw.key::<LegacyQueue>(&"mail".to_owned()).unwrap();
    assert_eq!(queue.as_bytes(), b"app:legacy:queue:mail");
    let pushed: u64 = raw
        .query(redis::cmd("LPUSH").arg(&queue).arg("job-1"))
        .await
        .unwrap();
    assert_eq!(pushed, 1);
    let len: u64 = raw.query(redis::cmd("LLEN").arg(&queue)).await.unwrap();
    assert_eq!(len, 1);
    let popped: Option<(String, String)> = raw
        .query(redis::cmd("BRPOP").arg(&queue).arg(1))
        .await
        .unwrap();
    assert_eq!(
        popped,
        Some(("app:legacy:queue:mail".into(), "job-1".into()))
    );
    let seen = raw.key::<LegacySeen>(&20_261_202).unwrap();
    let added: u64 = raw
        .query(redis::cmd("SADD").arg(&seen).arg("m"))
        .await
        .unwrap();
    assert_eq!(added, 1);
    let armed: bool = raw
        .query(redis::cmd("EXPIRE").arg(&seen).arg(60))
        .await
        .unwrap();
    assert!(armed);

    // A command the family does not declare, on its own key: refused, also
    // one the runtime sends to typed keys (`RPUSH`, `GET`).
    assert!(denied(
        raw.query::<u64>(redis::cmd("RPUSH").arg(&queue).arg("x"))
            .await
    ));
    assert!(denied(
        raw.query::<Option<String>>(redis::cmd("GET").arg(&queue))
            .await
    ));
    // A declared command of another raw family: refused on this one.
    assert!(denied(
        raw.query::<u64>(redis::cmd("SADD").arg(&queue).arg("x"))
            .await
    ));
    // A declared command on a key outside every family: refused.
    let other = raw
        .compose_key()
        .literal("legacy")
        .literal("other")
        .finish()
        .unwrap();
    assert!(denied(
        raw.query::<u64>(redis::cmd("LPUSH").arg(&other).arg("x"))
            .await
    ));
    // (The typed model's keys keep the root's commands, the runtime's:
    // selectors only add.)
    // Nothing was written by the refused commands.
    let _: () = redis::cmd("SELECT")
        .arg(0)
        .query_async(&mut admin)
        .await
        .unwrap();
    let exists: u64 = redis::cmd("EXISTS")
        .arg("app:legacy:other")
        .query_async(&mut admin)
        .await
        .unwrap();
    assert_eq!(exists, 0);
}

#[test]
fn raw_families_are_registered_like_every_declaration() {
    assert!(APP.unlisted().is_empty(), "{:?}", APP.unlisted());
}
