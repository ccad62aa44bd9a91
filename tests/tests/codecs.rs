//! Custom value codecs (`#[redis(codec = path)]`) and the raw form
//! (`#[redis(codec = raw)]`) on a real server: data written by hand in a
//! legacy format with raw commands reads back through the model, what the
//! model writes is that format byte for byte, and stored data the codec
//! refuses is a typed decode error.

mod common;

use std::time::Duration;

use common::*;
use redis_runtime::codec::ValueCodec;
use redis_runtime::model::{Encoding, Kind};
use redis_runtime::{
    DecodeErrorKind, Error, Expiry, Family, InsertOrGet, RedisModel, Store, keyspace,
};

/// bincode 1.x's default (fixint, little-endian) layout of `Legacy`, written
/// by hand: `u64` id, `u64` length and the name's bytes, `i64` score. The
/// format an older service stored, with no serde in between.
struct Bincode1;

impl ValueCodec<Legacy> for Bincode1 {
    const NAME: &'static str = "bincode1";
    type Error = String;

    fn encode(value: &Legacy) -> Result<Vec<u8>, String> {
        if value.name.len() > 64 {
            return Err(format!(
                "name of {} bytes, the format allows 64",
                value.name.len()
            ));
        }
        let mut out = Vec::with_capacity(24 + value.name.len());
        out.extend_from_slice(&value.id.to_le_bytes());
        out.extend_from_slice(&(value.name.len() as u64).to_le_bytes());
        out.extend_from_slice(value.name.as_bytes());
        out.extend_from_slice(&value.score.to_le_bytes());
        Ok(out)
    }

    fn decode(bytes: &[u8]) -> Result<Legacy, String> {
        fn take<'a>(bytes: &mut &'a [u8], n: usize) -> Result<&'a [u8], String> {
            if bytes.len() < n {
                return Err(format!("truncated: {} bytes left, {n} needed", bytes.len()));
            }
            let (head, tail) = bytes.split_at(n);
            *bytes = tail;
            Ok(head)
        }
        let mut rest = bytes;
        let u64_at = |rest: &mut &[u8]| -> Result<u64, String> {
            Ok(u64::from_le_bytes(take(rest, 8)?.try_into().unwrap()))
        };
        let id = u64_at(&mut rest)?;
        let len = u64_at(&mut rest)? as usize;
        let name = String::from_utf8(take(&mut rest, len)?.to_vec()).map_err(|e| e.to_string())?;
        let score = u64_at(&mut rest)? as i64;
        if !rest.is_empty() {
            return Err(format!("{} trailing bytes", rest.len()));
        }
        Ok(Legacy { id, name, score })
    }
}

fn legacy_bytes(id: u64, name: &str, score: i64) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&id.to_le_bytes());
    out.extend_from_slice(&(name.len() as u64).to_le_bytes());
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(&score.to_le_bytes());
    out
}

#[derive(Debug, Clone, PartialEq, RedisModel)]
#[redis(key = "legacy:user:{id}", codec = Bincode1, ttl = "1h")]
struct Legacy {
    id: u64,
    name: String,
    score: i64,
}

/// A legacy `SET legacy:blob:{id} <bytes>` family: any bytes.
#[derive(Debug, Clone, PartialEq, RedisModel)]
#[redis(key = "legacy:blob:{id}", codec = raw)]
struct Blob {
    id: u64,
    bytes: Vec<u8>,
}

/// A plain-text value per (tenant, name), UTF-8 checked on read.
#[derive(Debug, Clone, PartialEq, RedisModel)]
#[redis(key = "legacy:{tenant}:note:{name}", hash_tag = "tenant", codec = raw)]
struct Note {
    tenant: String,
    name: String,
    text: String,
}

keyspace! {
    /// The codec models: their own keyspace, so the shared one stays as it is.
    CODEC_MODELS = [Legacy, Blob, Note];
}

/// A server or cluster and a store connected as a user created from the ACL
/// rule of [`CODEC_MODELS`] (as `common::start` does for the shared models):
/// the rule grants what codec and raw families need.
async fn start(namespace: &str) -> (TestRedis, Store) {
    let redis = TestRedis::start();
    let store = connect_as_app_of(&redis, namespace, &CODEC_MODELS).await;
    (redis, store)
}

async fn raw_set(raw: &mut Admin, key: &redis_runtime::key::RenderedKey, value: &[u8]) {
    let _: () = redis::cmd("SET")
        .arg(key)
        .arg(value)
        .query_async(raw)
        .await
        .unwrap();
}

async fn raw_get(raw: &mut Admin, key: &redis_runtime::key::RenderedKey) -> Option<Vec<u8>> {
    redis::cmd("GET").arg(key).query_async(raw).await.unwrap()
}

on_both! {
async fn a_codec_model_reads_and_writes_the_legacy_bytes() {
    let (server, store) = start("").await;
    let mut raw = server.raw_connection().await.unwrap();

    // Written by the old service, read through the model.
    let key = store.key::<Legacy>(&7).unwrap();
    raw_set(&mut raw, &key, &legacy_bytes(7, "ada", -3)).await;
    let read = store.get::<Legacy>(&7).await.unwrap();
    assert_eq!(read, Some(Legacy { id: 7, name: "ada".into(), score: -3 }));

    // Written by the model, the old service's bytes exactly, with the TTL.
    let grace = Legacy { id: 8, name: "grace".into(), score: 41 };
    store.save(&grace).await.unwrap();
    let key8 = store.key::<Legacy>(&8).unwrap();
    assert_eq!(raw_get(&mut raw, &key8).await, Some(legacy_bytes(8, "grace", 41)));
    match store.ttl::<Legacy>(&8).await.unwrap() {
        Expiry::In(ttl) => assert!(ttl > Duration::from_secs(3500) && ttl <= Duration::from_secs(3600), "{ttl:?}"),
        other => panic!("expected the model's TTL, got {other:?}"),
    }

    // Batches.
    let many = store.get_many::<Legacy>(&[7, 8, 9]).await.unwrap();
    assert_eq!(many, vec![read.clone(), Some(grace.clone()), None]);
    let batch = [
        Legacy { id: 10, name: "a".into(), score: 1 },
        Legacy { id: 11, name: "b".into(), score: 2 },
    ];
    store.save_many(&batch).await.unwrap();
    let key11 = store.key::<Legacy>(&11).unwrap();
    assert_eq!(raw_get(&mut raw, &key11).await, Some(legacy_bytes(11, "b", 2)));

    // Conditional writes of string models.
    assert!(!store.insert(&grace).await.unwrap(), "exists: nothing written");
    let other = Legacy { name: "other".into(), ..grace.clone() };
    match store.insert_or_get(&other).await.unwrap() {
        InsertOrGet::Existing(stored) => assert_eq!(stored, grace, "decoded by the codec"),
        InsertOrGet::Inserted => panic!("grace exists"),
    }
    let new = Legacy { id: 12, name: "new".into(), score: 0 };
    assert!(store.insert(&new).await.unwrap());
    assert!(store.replace(&Legacy { score: 5, ..new.clone() }).await.unwrap());
    let key12 = store.key::<Legacy>(&12).unwrap();
    assert_eq!(raw_get(&mut raw, &key12).await, Some(legacy_bytes(12, "new", 5)));
    assert_eq!(
        store.take::<Legacy>(&12).await.unwrap(),
        Some(Legacy { score: 5, ..new })
    );
    assert_eq!(raw_get(&mut raw, &key12).await, None);
    assert_eq!(store.get_and_refresh::<Legacy>(&7).await.unwrap(), read);
    assert!(matches!(store.ttl::<Legacy>(&7).await.unwrap(), Expiry::In(_)), "refreshed with the model's TTL");

    assert!(store.delete::<Legacy>(&8).await.unwrap());
    assert_eq!(store.get::<Legacy>(&8).await.unwrap(), None);
}
}

on_both! {
async fn bytes_the_codec_refuses_are_a_typed_decode_error() {
    let (server, store) = start("").await;
    let mut raw = server.raw_connection().await.unwrap();

    let key = store.key::<Legacy>(&1).unwrap();
    let mut corrupt = legacy_bytes(1, "ada", 3);
    corrupt.truncate(20);
    raw_set(&mut raw, &key, &corrupt).await;
    let e = match store.get::<Legacy>(&1).await {
        Err(Error::Decode(e)) => e,
        other => panic!("expected a decode error, got {other:?}"),
    };
    assert_eq!((e.model, e.key_template, e.field), ("Legacy", "legacy:user:{id}", None));
    assert_eq!(
        e.kind,
        DecodeErrorKind::Codec {
            codec: "bincode1",
            message: "truncated: 1 bytes left, 8 needed".into()
        }
    );
    assert_eq!(e.kind.class(), "codec");
    let msg = e.to_string();
    assert!(msg.contains("Legacy") && msg.contains("legacy:user:{id}") && msg.contains("bincode1"), "{msg}");

    // Stored under another entity's key: refused, as for JSON models.
    raw_set(&mut raw, &key, &legacy_bytes(2, "ada", 3)).await;
    match store.get::<Legacy>(&1).await {
        Err(Error::Decode(e)) => assert_eq!((e.field, e.kind), (Some("id"), DecodeErrorKind::IdMismatch)),
        other => panic!("expected an id mismatch, got {other:?}"),
    }

    // An encode error is the typed encode error, and nothing is written.
    let long = Legacy { id: 3, name: "x".repeat(65), score: 0 };
    match store.save(&long).await {
        Err(Error::Encode { model, key_template, message, .. }) => {
            assert_eq!((model, key_template), ("Legacy", "legacy:user:{id}"));
            assert!(message.contains("bincode1") && message.contains("65 bytes"), "{message}");
        }
        other => panic!("expected an encode error, got {other:?}"),
    }
    assert!(!store.exists::<Legacy>(&3).await.unwrap());
}
}

on_both! {
async fn raw_bytes_round_trip_byte_for_byte() {
    let (server, store) = start("").await;
    let mut raw = server.raw_connection().await.unwrap();

    // Every byte value, invalid UTF-8 included, and the empty value.
    let every: Vec<u8> = (0..=255u8).rev().chain(0..=255).collect();
    let key = store.key::<Blob>(&1).unwrap();
    raw_set(&mut raw, &key, &every).await;
    assert_eq!(
        store.get::<Blob>(&1).await.unwrap(),
        Some(Blob { id: 1, bytes: every.clone() })
    );

    let written = Blob { id: 2, bytes: b"\xff\x00\xfe legacy \xc3\x28".to_vec() };
    store.save(&written).await.unwrap();
    let key2 = store.key::<Blob>(&2).unwrap();
    assert_eq!(raw_get(&mut raw, &key2).await, Some(written.bytes.clone()));

    store.save(&Blob { id: 3, bytes: Vec::new() }).await.unwrap();
    assert_eq!(
        store.get_many::<Blob>(&[1, 2, 3, 4]).await.unwrap(),
        vec![
            Some(Blob { id: 1, bytes: every }),
            Some(written),
            Some(Blob { id: 3, bytes: Vec::new() }),
            None
        ]
    );
    assert!(store.insert(&Blob { id: 5, bytes: b"x".to_vec() }).await.unwrap());
    match store.insert_or_get(&Blob { id: 5, bytes: b"y".to_vec() }).await.unwrap() {
        InsertOrGet::Existing(stored) => assert_eq!(stored, Blob { id: 5, bytes: b"x".to_vec() }),
        InsertOrGet::Inserted => panic!("blob 5 exists"),
    }
    assert_eq!(
        store.take::<Blob>(&5).await.unwrap(),
        Some(Blob { id: 5, bytes: b"x".to_vec() })
    );
}
}

on_both! {
async fn a_raw_string_is_utf8_checked_and_its_key_fields_come_from_the_key() {
    let (server, store) = start("").await;
    let mut raw = server.raw_connection().await.unwrap();

    let id = NoteId { tenant: "acme".into(), name: "motd".into() };
    let key = store.key::<Note>(&id).unwrap();
    raw_set(&mut raw, &key, "héllo".as_bytes()).await;
    assert_eq!(
        store.get::<Note>(&id).await.unwrap(),
        Some(Note { tenant: "acme".into(), name: "motd".into(), text: "héllo".into() })
    );

    let note = Note { tenant: "acme".into(), name: "b".into(), text: "plain".into() };
    store.save(&note).await.unwrap();
    let key_b = store.key::<Note>(&note.id()).unwrap();
    assert_eq!(raw_get(&mut raw, &key_b).await, Some(b"plain".to_vec()));

    raw_set(&mut raw, &key, b"caf\xe9").await;
    match store.get::<Note>(&id).await {
        Err(Error::Decode(e)) => {
            assert_eq!(
                (e.model, e.key_template, e.field, e.kind),
                ("Note", "legacy:{tenant}:note:{name}", Some("text"), DecodeErrorKind::InvalidUtf8)
            );
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
}
}

#[test]
fn the_manifest_records_the_codec() {
    let manifest = CODEC_MODELS.manifest("app:");
    let encodings: Vec<(&str, &str, &str)> = manifest
        .families
        .iter()
        .map(|f| (f.model.as_str(), f.redis_type.as_str(), f.encoding.as_str()))
        .collect();
    assert_eq!(
        encodings,
        [
            ("Legacy", "string", "codec:bincode1"),
            ("Blob", "string", "raw"),
            ("Note", "string", "raw"),
        ]
    );
    for family in &manifest.families {
        for command in ["get", "set", "mget", "del", "getdel"] {
            assert!(
                family.commands.iter().any(|c| c == command),
                "{}: {:?}",
                family.model,
                family.commands
            );
        }
    }
}

#[test]
fn the_description_names_the_codec() {
    assert_eq!(Legacy::META.kind, Kind::Entity(Encoding::Codec("bincode1")));
    assert_eq!(Legacy::META.kind.redis_type(), "string");
    assert_eq!(Legacy::META.kind.as_str(), "codec");
    assert_eq!(Encoding::Codec("bincode1").describe(), "codec:bincode1");
    assert_eq!(Blob::META.kind, Kind::Entity(Encoding::Raw));
    assert_eq!(Blob::META.kind.as_str(), "raw");
    assert_eq!(Note::META.kind.redis_type(), "string");
}
