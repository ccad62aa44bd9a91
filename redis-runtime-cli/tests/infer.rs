//! `infer` against a real server seeded with keyspaces shaped like real
//! services': hashes, JSON sessions with a TTL, counters, sets, a sorted
//! set, MessagePack, a legacy `/`-separated family, plain strings, bytes, and keys
//! that lost their TTL. The Rust it suggests is checked in
//! (`fixtures/inferred.rs`, rewritten with `INFER_FIXTURE=write`), compiled
//! here, and reads the seeded data back.

use redis_runtime::testing::RedisServer;
use redis_runtime::{Config, Store};
use redis_runtime_cli::infer::{InferOptions, InferReport, infer};

#[allow(dead_code, unreachable_pub, missing_docs)]
mod inferred {
    include!("fixtures/inferred.rs");
}

async fn seed(server: &RedisServer) {
    let mut con = server.raw_connection().await.unwrap();
    let mut pipe = redis::pipe();
    for id in 1..=40u64 {
        pipe.cmd("HSET")
            .arg(format!("shop:user:{id}"))
            .arg("user")
            .arg(id)
            .arg("name")
            .arg(format!("user {id}"))
            .arg("visits")
            .arg(id * 3);
        if id % 2 == 0 {
            pipe.cmd("HSET")
                .arg(format!("shop:user:{id}"))
                .arg("email")
                .arg(format!("u{id}@example.com"));
        }
        let token = format!("tok{}x{}", id * 7919 % 1000, id);
        let session = serde_json::json!({ "session": token, "user": id, "created": 1_700_000_000 + id as i64, "agent": if id % 3 == 0 { serde_json::Value::Null } else { "curl".into() } });
        pipe.cmd("SET")
            .arg(format!("shop:session:{token}"))
            .arg(session.to_string())
            .arg("PX")
            .arg(1_800_000);
        pipe.cmd("SET")
            .arg(format!("shop:views:{id}"))
            .arg(id * 10)
            .arg("PX")
            .arg(3_600_000);
        pipe.cmd("SADD")
            .arg(format!("shop:cart:{id}"))
            .arg(id)
            .arg(id + 100);
        pipe.cmd("ZADD")
            .arg("shop:rank:daily")
            .arg(id as f64 / 2.0)
            .arg(format!("p{id}"));
        pipe.cmd("SET")
            .arg(format!("game/{id}/state"))
            .arg(serde_json::json!({ "game": id, "turn": id }).to_string());
        // One family whose keys hold two types: it cannot be declared.
        if id % 2 == 0 {
            pipe.cmd("SET").arg(format!("mixed:{id}")).arg("x");
        } else {
            pipe.cmd("HSET")
                .arg(format!("mixed:{id}"))
                .arg("f")
                .arg("x");
        }
        pipe.cmd("SET")
            .arg(format!("k3k:room=r{id}:config"))
            .arg(serde_json::json!({ "room": format!("r{id}"), "duration": id * 60 }).to_string());
        pipe.cmd("SET")
            .arg(format!("legacy:blob:{id}"))
            .arg(format!("plain text {id}"));
        pipe.cmd("SET")
            .arg(format!("legacy:bin:{id}"))
            .arg(vec![0xff, id as u8, 0x00, 0xc3]);
    }
    let _: () = pipe.query_async(&mut con).await.unwrap();
}

fn family<'a>(
    report: &'a InferReport,
    template: &str,
) -> &'a redis_runtime_cli::infer::InferredFamily {
    report
        .families
        .iter()
        .find(|f| f.template == template)
        .unwrap_or_else(|| {
            panic!(
                "no family `{template}` in {:#?}",
                report
                    .families
                    .iter()
                    .map(|f| &f.template)
                    .collect::<Vec<_>>()
            )
        })
}

#[tokio::test]
async fn suggests_declarations_that_compile_and_read_the_data_back() {
    let server = RedisServer::start().unwrap();
    seed(&server).await;
    let config = Config::builder().url(server.url()).build().unwrap();
    let report = infer(&config, &InferOptions::default()).await.unwrap();
    assert!(report.complete);
    assert_eq!(report.keys_scanned, 40 * 9 + 1);

    let users = family(&report, "shop:user:{user}");
    assert_eq!((users.keys, users.encoding.as_str()), (40, "hash"));
    assert_eq!(users.without_ttl, 20);
    assert!(
        users
            .fields
            .contains(&("email".into(), "Option<String>".into())),
        "{:?}",
        users.fields
    );
    assert!(users.fields.contains(&("visits".into(), "u64".into())));
    let sessions = family(&report, "shop:session:{session}");
    assert_eq!(sessions.encoding, "json");
    assert!(
        sessions
            .fields
            .contains(&("agent".into(), "Option<String>".into())),
        "{:?}",
        sessions.fields
    );
    let (lo, hi) = sessions.ttl_range_ms.unwrap();
    assert!(lo > 1_700_000 && hi <= 1_800_000, "{lo} {hi}");
    assert_eq!(family(&report, "shop:views:{views}").encoding, "counter");
    assert_eq!(
        family(&report, "shop:cart:{cart}").element_type.as_deref(),
        Some("u64")
    );
    assert_eq!(family(&report, "shop:rank:daily").encoding, "sorted_set");
    // Legacy layouts: another separator, literal text inside a segment.
    let game = family(&report, "game/{game}/state");
    assert_eq!(game.separator, "/");
    assert!(game.undecided.is_empty(), "{:?}", game.undecided);
    let rooms = family(&report, "k3k:room={room}:config");
    assert!(rooms.undecided.is_empty(), "{:?}", rooms.undecided);
    // Plain strings and bytes are declared `codec = raw`, stored as is.
    let blobs = family(&report, "legacy:blob:{blob}");
    assert_eq!(blobs.encoding, "plain");
    assert!(blobs.undecided.is_empty(), "{:?}", blobs.undecided);
    let declared = blobs.declaration.as_deref().unwrap_or_default();
    assert!(
        declared.contains("codec = raw") && declared.contains("pub value: String"),
        "{declared}"
    );
    let bins = family(&report, "legacy:bin:{bin}");
    assert_eq!(bins.encoding, "bytes");
    let declared = bins.declaration.as_deref().unwrap_or_default();
    assert!(
        declared.contains("codec = raw") && declared.contains("pub value: Vec<u8>"),
        "{declared}"
    );
    let mixed = family(&report, "mixed:{mixed}");
    assert!(mixed.declaration.is_none());
    assert!(
        mixed
            .undecided
            .iter()
            .any(|u| u.contains("different types")),
        "{:?}",
        mixed.undecided
    );
    assert!(report.has_undecided());

    // The suggestions are checked in, compiled into this test, and read the
    // seeded data back.
    let rust = report.to_rust();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/inferred.rs");
    if std::env::var("INFER_FIXTURE").as_deref() == Ok("write") {
        std::fs::write(path, &rust).unwrap();
    }
    let checked_in = std::fs::read_to_string(path).unwrap();
    assert_eq!(
        checked_in, rust,
        "the suggestions changed: INFER_FIXTURE=write rewrites {path}"
    );

    let store = Store::connect(&config).await.unwrap();
    let user: inferred::ShopUser = store.get(&7).await.unwrap().unwrap();
    assert_eq!((user.user, user.visits, user.email), (7, 21, None));
    let user: inferred::ShopUser = store.get(&8).await.unwrap().unwrap();
    assert_eq!(user.email.as_deref(), Some("u8@example.com"));
    let token = format!("tok{}x{}", 3 * 7919 % 1000, 3);
    let session: inferred::ShopSession = store.get(&token).await.unwrap().unwrap();
    assert_eq!((session.user, session.agent), (3, None));
    assert_eq!(
        store
            .counter::<inferred::ShopViews>(&4)
            .get()
            .await
            .unwrap(),
        40
    );
    assert!(
        store
            .set::<inferred::ShopCart>(&5)
            .contains(&105)
            .await
            .unwrap()
    );
    let top = store
        .sorted_set::<inferred::ShopRankDaily>(&())
        .top(1)
        .await
        .unwrap();
    assert_eq!(top[0].0, "p40");
    let game: inferred::GameState = store.get(&9).await.unwrap().unwrap();
    assert_eq!(game.turn, 9);
    let room: inferred::K3kConfig = store.get(&"r4".to_owned()).await.unwrap().unwrap();
    assert_eq!(room.duration, 240);
    // The raw suggestions read the legacy values as they are.
    let blob: inferred::LegacyBlob = store.get(&9).await.unwrap().unwrap();
    assert_eq!((blob.blob, blob.value.as_str()), (9, "plain text 9"));
    let bin: inferred::LegacyBin = store.get(&9).await.unwrap().unwrap();
    assert_eq!((bin.bin, bin.value), (9, vec![0xff, 9, 0x00, 0xc3]));
}
