//! Key layouts of existing services: templates separated by `/` or `.`, and
//! literal text around a placeholder inside a segment (`room={room}`,
//! `{id}.json`). Legacy keys written by hand are read through the models and
//! the models write exactly the legacy keys; parts escape the separator and
//! parse back; scans, the manifest, the ACL rule and the keyspace's collision
//! check understand the layouts. (Writing legacy keys by hand is the point, so
//! this file is on the audit's allowlist.)

mod common;

use common::*;
use futures_util::TryStreamExt;
use redis_runtime::key::{KeyTemplate, PartShape, Segment};
use redis_runtime::keyspace::{Manifest, collide};
use redis_runtime::{RedisModel, RedisSet, keyspace, redis};
use serde::{Deserialize, Serialize};

/// `game/{id}/state`, a JSON document under `/`-separated segments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, RedisModel)]
#[redis(key = "game/{id}/state", separator = "/", encoding = "json")]
struct GameState {
    id: String,
    turn: u32,
}

/// `k3k-signaling:room={room}:polls:config`: a literal inside a segment.
#[derive(Debug, Clone, PartialEq, RedisModel)]
#[redis(key = "k3k-signaling:room={room}:polls:config")]
struct PollsConfig {
    room: String,
    duration: u64,
}

/// `msgbus.{cmd}.reply`, `.`-separated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, RedisModel)]
#[redis(key = "msgbus.{cmd}.reply", separator = ".", encoding = "json")]
struct Reply {
    cmd: String,
    body: String,
}

/// `blob:{id}.json`: literal text after an integer placeholder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, RedisModel)]
#[redis(key = "blob:{id}.json", encoding = "json")]
struct Blob {
    id: u64,
    data: String,
}

/// `t={tenant}/doc/{doc}`: a hash tag with literal text before it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, RedisModel)]
#[redis(
    key = "t={tenant}/doc/{doc}",
    separator = "/",
    hash_tag = "tenant",
    encoding = "json"
)]
struct Doc {
    tenant: String,
    doc: u64,
    title: String,
}

/// A set under a `/` layout.
#[derive(RedisSet)]
#[redis(key = "game/{id}/players", separator = "/", member = String)]
struct Players {
    id: String,
}

keyspace! {
    LEGACY = [GameState, PollsConfig, Reply, Blob, Doc, Players];
}

async fn start_legacy() -> (TestRedis, redis_runtime::Store, Admin) {
    let redis = TestRedis::start();
    let store = connect_as_app_of(&redis, "app", &LEGACY).await;
    let admin = redis.raw_connection().await.unwrap();
    (redis, store, admin)
}

async fn raw_get(admin: &mut Admin, key: &str) -> Option<String> {
    redis::cmd("GET").arg(key).query_async(admin).await.unwrap()
}

on_both! {
async fn legacy_keys_are_read_and_written_byte_for_byte() {
    let (_redis, store, mut admin) = start_legacy().await;

    // Written by hand, in the legacy layout: read through the models.
    let _: () = redis::cmd("SET")
        .arg("app:game/g-1/state")
        .arg(r#"{"id":"g-1","turn":3}"#)
        .query_async(&mut admin)
        .await
        .unwrap();
    let game = store.get::<GameState>(&"g-1".to_owned()).await.unwrap();
    assert_eq!(game, Some(GameState { id: "g-1".into(), turn: 3 }));
    let _: () = redis::cmd("HSET")
        .arg("app:k3k-signaling:room=r1:polls:config")
        .arg("room")
        .arg("r1")
        .arg("duration")
        .arg("90")
        .query_async(&mut admin)
        .await
        .unwrap();
    let polls = store.get::<PollsConfig>(&"r1".to_owned()).await.unwrap();
    assert_eq!(polls, Some(PollsConfig { room: "r1".into(), duration: 90 }));

    // Written through the models: exactly the legacy keys.
    store
        .save(&Reply { cmd: "ping".into(), body: "pong".into() })
        .await
        .unwrap();
    let raw = raw_get(&mut admin, "app:msgbus.ping.reply").await;
    assert_eq!(raw.as_deref(), Some(r#"{"cmd":"ping","body":"pong"}"#));
    store.save(&Blob { id: 7, data: "x".into() }).await.unwrap();
    assert!(raw_get(&mut admin, "app:blob:7.json").await.is_some());
    store
        .save(&Doc { tenant: "acme".into(), doc: 5, title: "t".into() })
        .await
        .unwrap();
    assert!(raw_get(&mut admin, "app:t={acme}/doc/5").await.is_some());
    let key = store.key::<Doc>(&DocId { tenant: "acme".into(), doc: 5 }).unwrap();
    assert_eq!(key.to_string(), "app:t={acme}/doc/5");
    assert_eq!(
        redis_runtime::key::hash_slot(key.as_bytes()),
        redis_runtime::key::hash_slot(b"acme"),
        "the tag is the tenant alone"
    );
    let game = "g-1".to_owned();
    let players = store.set::<Players>(&game);
    players.add(&"ada".to_owned()).await.unwrap();
    let members: Vec<String> = redis::cmd("SMEMBERS")
        .arg("app:game/g-1/players")
        .query_async(&mut admin)
        .await
        .unwrap();
    assert_eq!(members, ["ada"]);
}
}

on_both! {
async fn parts_escape_the_separator_and_parse_back() {
    let (_redis, store, mut admin) = start_legacy().await;
    let id = "a/b.c:d".to_owned();
    store.save(&GameState { id: id.clone(), turn: 1 }).await.unwrap();
    assert_eq!(
        store.key::<GameState>(&id).unwrap().to_string(),
        "app:game/a%2Fb.c%3Ad/state",
        "`/` separates this template, so a part escapes it; `.` it keeps"
    );
    assert!(raw_get(&mut admin, "app:game/a%2Fb.c%3Ad/state").await.is_some());
    store
        .save(&Reply { cmd: "a.b/c".into(), body: String::new() })
        .await
        .unwrap();
    assert!(raw_get(&mut admin, "app:msgbus.a%2Eb/c.reply").await.is_some());
    store
        .save(&PollsConfig { room: "x=y:z".into(), duration: 1 })
        .await
        .unwrap();
    let exists: bool = redis::cmd("EXISTS")
        .arg("app:k3k-signaling:room=x=y%3Az:polls:config")
        .query_async(&mut admin)
        .await
        .unwrap();
    assert!(exists);

    let ids: Vec<String> = store.scan_ids::<GameState>().try_collect().await.unwrap();
    assert_eq!(ids, std::slice::from_ref(&id));
    let cmds: Vec<String> = store.scan_ids::<Reply>().try_collect().await.unwrap();
    assert_eq!(cmds, ["a.b/c"]);
    let rooms: Vec<String> = store.scan_ids::<PollsConfig>().try_collect().await.unwrap();
    assert_eq!(rooms, ["x=y:z"]);
    assert_eq!(
        store.get::<GameState>(&id).await.unwrap().map(|g| g.turn),
        Some(1)
    );
}
}

on_both! {
async fn scans_skip_keys_of_other_layouts() {
    let (_redis, store, mut admin) = start_legacy().await;
    store.save(&GameState { id: "g".into(), turn: 1 }).await.unwrap();
    // Keys the glob `app:game/?*/state` matches but the template does not
    // render: a raw `/` inside the part, an escape the renderer would not
    // write, and a longer template's key.
    for key in [
        "app:game/a/b/state",
        "app:game/a%2Eb/state",
        "app:game/x/state/extra",
        "app:msgbus.a.b.reply",
    ] {
        let _: () = redis::cmd("SET")
            .arg(key)
            .arg("{}")
            .query_async(&mut admin)
            .await
            .unwrap();
    }
    let ids: Vec<String> = store.scan_ids::<GameState>().try_collect().await.unwrap();
    assert_eq!(ids, ["g"]);
    let cmds: Vec<String> = store.scan_ids::<Reply>().try_collect().await.unwrap();
    assert!(cmds.is_empty(), "{cmds:?}");
}
}

#[tokio::test]
async fn the_acl_rule_grants_the_layouts_and_nothing_around_them() {
    let (_redis, store, mut admin) = start_legacy().await;
    store
        .save(&Blob {
            id: 1,
            data: "x".into(),
        })
        .await
        .unwrap();
    // The app user may not reach a neighbour of its layouts.
    let _: () = redis::cmd("SET")
        .arg("app:blob:1.xml")
        .arg("x")
        .query_async(&mut admin)
        .await
        .unwrap();
    let raw = store.raw_access();
    let err = raw
        .query::<Option<String>>(redis::cmd("GET").arg("app:blob:1.xml"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, redis_runtime::Error::PermissionDenied { .. }),
        "{err:?}"
    );
    let ok: Option<String> = raw
        .query(redis::cmd("GET").arg("app:blob:1.json"))
        .await
        .unwrap();
    assert!(ok.is_some());
}

#[test]
fn the_manifest_records_separators_and_affixes() {
    let manifest = LEGACY.manifest("app");
    let json = manifest.to_json();
    assert!(json.contains(r#""separator": "/""#), "{json}");
    assert!(json.contains(r#""prefix": "room=""#), "{json}");
    assert!(json.contains(r#""suffix": ".json""#), "{json}");
    let read = Manifest::from_json(&json).unwrap();
    assert_eq!(read, manifest);
    let family = |key: &str| read.family_of(key.as_bytes()).map(|f| f.model.as_str());
    assert_eq!(family("app:game/a%2Fb/state"), Some("GameState"));
    assert_eq!(family("app:game/a/b/state"), None);
    assert_eq!(family("app:game/g/players"), Some("Players"));
    assert_eq!(
        family("app:k3k-signaling:room=r:polls:config"),
        Some("PollsConfig")
    );
    assert_eq!(family("app:k3k-signaling:r:polls:config"), None);
    assert_eq!(family("app:blob:7.json"), Some("Blob"));
    assert_eq!(family("app:blob:07.json"), None, "not a canonical integer");
    assert_eq!(family("app:msgbus.x.reply"), Some("Reply"));
    let patterns = read.acl_rule().key_patterns;
    for expected in [
        "app:game/?*/state",
        "app:k3k-signaling:room=?*:polls:config",
        "app:msgbus.?*.reply",
        "app:blob:?*.json",
        "app:t={?*}/doc/?*",
    ] {
        assert!(
            patterns.iter().any(|p| p == expected),
            "{expected} in {patterns:?}"
        );
    }
    let games = read
        .families
        .iter()
        .find(|f| f.model == "GameState")
        .unwrap();
    assert_eq!(games.sample_key("app:", "p"), "app:game/p/state");

    // A manifest whose separator is not one of the three is refused.
    let bad = json.replacen(r#""separator": "/""#, r#""separator": "-""#, 1);
    assert!(Manifest::from_json(&bad).is_err());
}

const fn text(field: &'static str, prefix: &'static str, suffix: &'static str) -> Segment {
    Segment::Placeholder {
        field,
        hash_tag: false,
        shape: PartShape::Text,
        prefix,
        suffix,
    }
}

const fn int(field: &'static str, prefix: &'static str, suffix: &'static str) -> Segment {
    Segment::Placeholder {
        field,
        hash_tag: false,
        shape: PartShape::Integer { signed: false },
        prefix,
        suffix,
    }
}

const fn template(
    source: &'static str,
    separator: u8,
    segments: &'static [Segment],
) -> KeyTemplate {
    KeyTemplate {
        source,
        separator,
        segments,
    }
}

#[test]
fn collisions_understand_separators_and_affixes() {
    use Segment::Literal as L;
    const GAME_STATE: KeyTemplate = template(
        "game/{id}/state",
        b'/',
        &[L("game"), text("id", "", ""), L("state")],
    );
    // One `:` segment `game/{rest}`: its part may hold a raw `/`.
    const GAME_ANY: KeyTemplate = template("game/{rest}", b':', &[text("rest", "game/", "")]);
    const GAME_COLON: KeyTemplate = template("game:{id}", b':', &[L("game"), text("id", "", "")]);
    const ROOM: KeyTemplate = template("room={room}", b':', &[text("room", "room=", "")]);
    const ANY: KeyTemplate = template("{name}", b':', &[text("name", "", "")]);
    const ROOM_COLON: KeyTemplate =
        template("room:{room}", b':', &[L("room"), text("room", "", "")]);
    const BLOB_INT: KeyTemplate = template("{id}.json", b':', &[int("id", "", ".json")]);
    const INT: KeyTemplate = template("{n}", b':', &[int("n", "", "")]);
    const BUS: KeyTemplate = template("msgbus.{cmd}", b':', &[text("cmd", "msgbus.", "")]);
    const BUS_DOTS: KeyTemplate = template(
        "msgbus.{a}.{b}",
        b'.',
        &[L("msgbus"), text("a", "", ""), text("b", "", "")],
    );
    const BUS_INT: KeyTemplate = template(
        "msgbus.{a}.{b}",
        b'.',
        &[L("msgbus"), int("a", "", ""), int("b", "", "")],
    );
    const V1: KeyTemplate = template("v1-{id}", b':', &[text("id", "v1-", "")]);
    const V: KeyTemplate = template("v{id}", b':', &[text("id", "v", "")]);
    const X_SUFFIX: KeyTemplate = template("{id}x", b':', &[text("id", "", "x")]);
    const Y_SUFFIX: KeyTemplate = template("{id}y", b':', &[text("id", "", "y")]);

    let cases: [(&KeyTemplate, &KeyTemplate, bool); 13] = [
        (&GAME_STATE, &GAME_ANY, true),
        (&GAME_STATE, &GAME_COLON, false),
        (&ROOM, &ANY, true),
        (&ROOM, &ROOM_COLON, false),
        (&BLOB_INT, &ANY, true),
        (&BLOB_INT, &INT, false),
        (&BUS, &BUS_DOTS, true),
        (&BUS_INT, &ROOM, false),
        (&V1, &V, true),
        (&X_SUFFIX, &Y_SUFFIX, false),
        (&X_SUFFIX, &ANY, true),
        (&GAME_STATE, &GAME_STATE, true),
        (&V1, &GAME_STATE, false),
    ];
    for (a, b, expected) in cases {
        assert_eq!(collide(a, b), expected, "{} and {}", a.source, b.source);
        assert_eq!(collide(b, a), expected, "{} and {}", b.source, a.source);
    }
}

/// `SCAN MATCH` semantics for the patterns the templates give (`?`, `*` and
/// backslash escapes; the templates' patterns use nothing else).
fn glob(pattern: &[u8], key: &[u8]) -> bool {
    match pattern.split_first() {
        None => key.is_empty(),
        Some((b'*', rest)) => (0..=key.len()).any(|i| glob(rest, &key[i..])),
        Some((b'?', rest)) => !key.is_empty() && glob(rest, &key[1..]),
        Some((b'\\', rest)) => match (rest.split_first(), key.split_first()) {
            (Some((p, rest)), Some((k, key))) => p == k && glob(rest, key),
            _ => false,
        },
        Some((p, rest)) => key.first() == Some(p) && glob(rest, &key[1..]),
    }
}

fn round_trip<M: RedisModel<Id = String>>(ids: &[String]) {
    let pattern = M::META.key.scan_pattern("app:");
    let mut keys = std::collections::HashSet::new();
    for id in ids {
        let Ok(key) = redis_runtime::key::render_key::<M>("app:", id) else {
            continue;
        };
        assert!(glob(pattern.as_bytes(), &key), "{pattern} misses {key:?}");
        let parsed = redis_runtime::key::parse_key::<M>("app:", &key)
            .expect("the key has the template's shape")
            .expect("the part parses");
        assert_eq!(&parsed, id, "{:?}", String::from_utf8_lossy(&key));
        keys.insert((key, id.clone()));
    }
    // Injective: as many keys as distinct ids.
    let distinct_keys: std::collections::HashSet<_> = keys.iter().map(|(k, _)| k).collect();
    let distinct_ids: std::collections::HashSet<_> = keys.iter().map(|(_, i)| i).collect();
    assert_eq!(distinct_keys.len(), distinct_ids.len());
}

proptest::proptest! {
    #[test]
    fn every_layout_renders_injective_keys_that_parse_back(
        ids in proptest::collection::vec("[a-z0-9:/.=%{}* ]{0,6}", 1..40)
    ) {
        round_trip::<GameState>(&ids);
        round_trip::<Reply>(&ids);
        round_trip::<PollsConfig>(&ids);
    }
}
