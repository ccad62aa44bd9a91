//! Outside review of key templates for existing layouts (`separator = "/"` or
//! `"."`, literal text around a placeholder inside a segment), written from the
//! documentation alone. Rendered keys are checked against an escaper written
//! from the documented rules, scans and counts against seeded foreign keys
//! that the scan glob matches but no id renders, hash slots against an
//! independent CRC16, and the collision rule through `keyspace::collide`.
//! (Seeding foreign keys by hand is the point: this file is on the audit's
//! allowlist.)

mod common;

use std::collections::{BTreeSet, HashSet};

use common::*;
use futures_util::{StreamExt, TryStreamExt};
use redis_runtime::keyspace::{Manifest, collide};
use redis_runtime::{Family, RedisModel, keyspace, redis};
use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------------------
// The keyspace under review: families that the docs say coexist.

/// A string id followed by literal text (`{name}.json`), `:` separator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, RedisModel)]
#[redis(key = "rv:doc:{name}.json", encoding = "json")]
struct JsonDoc {
    name: String,
    v: u32,
}

/// Same prefix, another suffix: no key ends in both `.json` and `.txt`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, RedisModel)]
#[redis(key = "rv:doc:{name}.txt", encoding = "json")]
struct TxtDoc {
    name: String,
    v: u32,
}

/// An integer in the same position, no affix: it never renders `.`.
#[derive(Debug, Clone, PartialEq, RedisModel)]
#[redis(key = "rv:doc:{n}")]
struct DocNum {
    n: u64,
    v: u32,
}

/// Literal text that looks like the tail of an escape (`%25`) after the part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, RedisModel)]
#[redis(key = "rv:esc:{id}25", encoding = "json")]
struct EscSuffix {
    id: String,
    v: u32,
}

/// An integer with text on both sides, `/` separator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, RedisModel)]
#[redis(key = "rv/n/v{id}.bin", separator = "/", encoding = "json")]
struct Bin {
    id: u64,
    v: u32,
}

/// Two parts, `.` separator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, RedisModel)]
#[redis(key = "rv.{a}.x.{b}", separator = ".", encoding = "json")]
struct Dotted {
    a: String,
    b: String,
    v: u32,
}

/// Two parts, `/` separator, the second with a suffix containing `=`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, RedisModel)]
#[redis(key = "rv/{a}/{b}=v", separator = "/", encoding = "json")]
struct Slashed {
    a: String,
    b: String,
    v: u32,
}

/// A hash tag inside an affixed segment, after another affixed part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, RedisModel)]
#[redis(key = "rv:u={user}:org={org}.v1", hash_tag = "org", encoding = "json")]
struct Seat {
    user: String,
    org: String,
    v: u32,
}

/// A hash tag inside an affixed segment of a `/` template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, RedisModel)]
#[redis(
    key = "rv/t/{tenant}.d/{doc}",
    separator = "/",
    hash_tag = "tenant",
    encoding = "json"
)]
struct TDoc {
    tenant: String,
    doc: u64,
    v: u32,
}

keyspace! {
    REVIEW = [JsonDoc, TxtDoc, DocNum, EscSuffix, Bin, Dotted, Slashed, Seat, TDoc];
}

// ---------------------------------------------------------------------------
// Oracles written from the documentation.

/// The documented escaping: `: { } * ? [ ] \ %`, ASCII whitespace and control
/// bytes (0x00–0x20, 0x7F), and the separator when it is `/` or `.`, as `%XX`
/// upper-case; everything else (non-ASCII included) unchanged.
fn esc(value: &str, sep: u8) -> String {
    let mut bytes = Vec::new();
    for &b in value.as_bytes() {
        let reserved = matches!(
            b,
            b':' | b'{' | b'}' | b'*' | b'?' | b'[' | b']' | b'\\' | b'%'
        ) || b <= 0x20
            || b == 0x7F
            || ((sep == b'/' || sep == b'.') && b == sep);
        if reserved {
            bytes.extend_from_slice(format!("%{b:02X}").as_bytes());
        } else {
            bytes.push(b);
        }
    }
    String::from_utf8(bytes).unwrap()
}

/// CRC16/XMODEM, the Redis Cluster key hash, and the slot of a key.
fn slot(key: &[u8]) -> u16 {
    fn crc16(data: &[u8]) -> u16 {
        let mut crc: u16 = 0;
        for &b in data {
            crc ^= (b as u16) << 8;
            for _ in 0..8 {
                crc = if crc & 0x8000 != 0 {
                    (crc << 1) ^ 0x1021
                } else {
                    crc << 1
                };
            }
        }
        crc
    }
    let hashed = match key.iter().position(|&b| b == b'{') {
        Some(open) => match key[open + 1..].iter().position(|&b| b == b'}') {
            Some(len) if len > 0 => &key[open + 1..open + 1 + len],
            _ => key,
        },
        None => key,
    };
    crc16(hashed) % 16384
}

/// Redis `SCAN MATCH` glob for `?`, `*` and literal bytes.
fn glob_match(pattern: &[u8], key: &[u8]) -> bool {
    match pattern.split_first() {
        None => key.is_empty(),
        Some((b'*', rest)) => (0..=key.len()).any(|i| glob_match(rest, &key[i..])),
        Some((b'?', rest)) => !key.is_empty() && glob_match(rest, &key[1..]),
        Some((p, rest)) => key.first() == Some(p) && glob_match(rest, &key[1..]),
    }
}

/// Ids a hand-written service may well have used, and ids built to confuse a
/// parser: separators, escapes, the templates' own affixes, braces, unicode.
fn tricky() -> Vec<String> {
    [
        "a",
        "/",
        ".",
        ":",
        "%",
        "{",
        "}",
        "=",
        "a.json",
        ".json",
        "json",
        "x.json.json",
        "x.txt.json",
        "%25",
        "%2F",
        "%3A",
        "%2E",
        "a%",
        "25",
        "2525",
        "%2",
        "a%2525",
        "é",
        "日本.語",
        "🦀/🦀",
        "a b",
        "tab\t",
        "\u{7f}",
        "\0",
        "*",
        "?",
        "[x]",
        "\\",
        "room=",
        "=v",
        "v=v",
        "v",
        "v1",
        "2F",
        "a/b.c:d%e{f}g=h",
        "..",
        "//",
        "-",
        "#|~@+,_",
        "{acme}",
        "}{",
        "org={x}",
        ".v1",
        "x.d",
        ".bin",
    ]
    .into_iter()
    .map(String::from)
    .collect()
}

async fn start_review() -> (TestRedis, redis_runtime::Store, Admin) {
    let redis = TestRedis::start();
    let store = connect_as_app_of(&redis, "app", &REVIEW).await;
    let admin = redis.raw_connection().await.unwrap();
    (redis, store, admin)
}

async fn exists(admin: &mut Admin, key: &[u8]) -> bool {
    redis::cmd("EXISTS")
        .arg(key)
        .query_async(admin)
        .await
        .unwrap()
}

async fn seed(admin: &mut Admin, key: &[u8]) {
    let _: () = redis::cmd("SET")
        .arg(key)
        .arg("{}")
        .query_async(admin)
        .await
        .unwrap();
}

async fn scan_set<M: RedisModel>(store: &redis_runtime::Store) -> Vec<M::Id>
where
    M::Id: Send + 'static,
{
    store.scan_ids::<M>().try_collect().await.unwrap()
}

// ---------------------------------------------------------------------------
// Rendering, parsing back, injectivity.

on_both! {
/// Every tricky id renders exactly the documented key (checked with an
/// independent escaper, byte for byte, on the server), reads back its own
/// value, and scans back as itself; the suffix `.json` strips off once.
async fn suffixed_string_ids_render_documented_keys_and_parse_back() {
    let (_redis, store, mut admin) = start_review().await;
    let ids = tricky();
    for (i, id) in ids.iter().enumerate() {
        store.save(&JsonDoc { name: id.clone(), v: i as u32 }).await.unwrap();
        store.save(&EscSuffix { id: id.clone(), v: i as u32 }).await.unwrap();
        let want = format!("app:rv:doc:{}.json", esc(id, b':'));
        assert_eq!(store.key::<JsonDoc>(id).unwrap().to_string(), want, "id {id:?}");
        assert!(exists(&mut admin, want.as_bytes()).await, "{want:?} not written");
        let want = format!("app:rv:esc:{}25", esc(id, b':'));
        assert_eq!(store.key::<EscSuffix>(id).unwrap().to_string(), want, "id {id:?}");
        assert!(exists(&mut admin, want.as_bytes()).await, "{want:?} not written");
    }
    for (i, id) in ids.iter().enumerate() {
        let doc = store.get::<JsonDoc>(id).await.unwrap();
        assert_eq!(doc.map(|d| (d.name, d.v)), Some((id.clone(), i as u32)));
        let doc = store.get::<EscSuffix>(id).await.unwrap();
        assert_eq!(doc.map(|d| (d.id, d.v)), Some((id.clone(), i as u32)));
    }
    let want: BTreeSet<String> = ids.iter().cloned().collect();
    let got: BTreeSet<String> = scan_set::<JsonDoc>(&store).await.into_iter().collect();
    assert_eq!(got, want);
    let got: BTreeSet<String> = scan_set::<EscSuffix>(&store).await.into_iter().collect();
    assert_eq!(got, want);
    assert_eq!(store.count::<JsonDoc>().await.unwrap() as usize, ids.len());
    // Nothing of the neighbours was touched.
    assert!(scan_set::<TxtDoc>(&store).await.is_empty());
    assert!(scan_set::<DocNum>(&store).await.is_empty());
}
}

on_both! {
/// Two parts per key under `.` and `/` separators, every pair of tricky ids:
/// distinct pairs are distinct keys (one key per pair on the server), each
/// reads back its own value, and the scan returns exactly the pairs.
async fn two_part_ids_under_other_separators_are_injective() {
    let (_redis, store, mut admin) = start_review().await;
    let ids: Vec<String> = tricky().into_iter().step_by(3).collect();
    let mut pairs = Vec::new();
    for a in &ids {
        for b in &ids {
            pairs.push((a.clone(), b.clone()));
        }
    }
    for (i, (a, b)) in pairs.iter().enumerate() {
        store.save(&Dotted { a: a.clone(), b: b.clone(), v: i as u32 }).await.unwrap();
        store.save(&Slashed { a: a.clone(), b: b.clone(), v: i as u32 }).await.unwrap();
        let want = format!("app:rv.{}.x.{}", esc(a, b'.'), esc(b, b'.'));
        assert!(exists(&mut admin, want.as_bytes()).await, "{want:?} not written");
        let want = format!("app:rv/{}/{}=v", esc(a, b'/'), esc(b, b'/'));
        assert!(exists(&mut admin, want.as_bytes()).await, "{want:?} not written");
    }
    let dbsize: usize = redis::cmd("DBSIZE").query_async(&mut admin).await.unwrap_or(0);
    if !matches!(admin, Admin::Cluster(_)) {
        assert_eq!(dbsize, 2 * pairs.len(), "one key per pair and layout");
    }
    for (i, (a, b)) in pairs.iter().enumerate() {
        let id = DottedId { a: a.clone(), b: b.clone() };
        assert_eq!(store.get::<Dotted>(&id).await.unwrap().map(|d| d.v), Some(i as u32));
        let id = SlashedId { a: a.clone(), b: b.clone() };
        assert_eq!(store.get::<Slashed>(&id).await.unwrap().map(|d| d.v), Some(i as u32));
    }
    let want: BTreeSet<(String, String)> = pairs.iter().cloned().collect();
    let got: BTreeSet<(String, String)> =
        scan_set::<Dotted>(&store).await.into_iter().map(|id| (id.a, id.b)).collect();
    assert_eq!(got, want);
    let got: BTreeSet<(String, String)> =
        scan_set::<Slashed>(&store).await.into_iter().map(|id| (id.a, id.b)).collect();
    assert_eq!(got, want);
}
}

on_both! {
/// Integers with text on both sides: the extremes render in decimal.
async fn affixed_integers_render_plain_decimal() {
    let (_redis, store, mut admin) = start_review().await;
    let ids = [0u64, 1, 7, 10, 100, u64::MAX];
    for id in ids {
        store.save(&Bin { id, v: 1 }).await.unwrap();
        let want = format!("app:rv/n/v{id}.bin");
        assert!(exists(&mut admin, want.as_bytes()).await, "{want} not written");
    }
    let got: BTreeSet<u64> = scan_set::<Bin>(&store).await.into_iter().collect();
    assert_eq!(got, ids.into_iter().collect());
}
}

// ---------------------------------------------------------------------------
// Scans and counts: exactly the keys the template renders.

/// Keys that one of the review globs matches but no id of that family
/// renders: non-canonical escapes, raw reserved bytes, empty parts, extra
/// segments, non-canonical integers, invalid UTF-8.
fn foreign_keys() -> Vec<Vec<u8>> {
    let mut keys: Vec<Vec<u8>> = [
        // `rv:doc:{name}.json`, `rv:doc:{name}.txt`, `rv:doc:{n}`
        "app:rv:doc:a%3a.json",  // lower-case hex
        "app:rv:doc:a%2E.json",  // `.` is not escaped in a `:` template
        "app:rv:doc:a%2F.txt",   // nor `/`
        "app:rv:doc:a%.json",    // truncated escape
        "app:rv:doc:a%4.json",   // truncated escape
        "app:rv:doc:%41.json",   // escape of a byte never escaped
        "app:rv:doc:%C3%A9.txt", // escape of non-ASCII
        "app:rv:doc:a b.json",   // raw space
        "app:rv:doc:a{b}.json",  // raw braces
        "app:rv:doc:a*.txt",     // raw glob character
        "app:rv:doc:a\\.json",   // raw backslash
        "app:rv:doc:a:b.json",   // extra segment
        "app:rv:doc:%7f.txt",    // lower-case hex
        "app:rv:doc:007",        // not a canonical u64
        "app:rv:doc:+7",
        "app:rv:doc:-0",
        "app:rv:doc:18446744073709551616", // u64 overflow
        "app:rv:doc:7:x",
        // `rv:esc:{id}25`
        "app:rv:esc:%25",     // the part would be `%`, which is not an escape
        "app:rv:esc:a%225",   // strips to `a%2`, a truncated escape
        "app:rv:esc:a%25%25", // strips to `a%25%`, a trailing bare `%`
        // `rv/n/v{id}.bin`
        "app:rv/n/v.bin.bin",
        "app:rv/n/v01.bin",
        "app:rv/n/v-1.bin",
        "app:rv/n/v1/2.bin",
        "app:rv/n/vv1.bin",
        // `rv.{a}.x.{b}`
        "app:rv.a.x.b.c",
        "app:rv.a.y.x.b",
        "app:rv.a%2e.x.b",
        "app:rv.a/b%2F.x.b", // `/` is not escaped in a `.` template
        // `rv/{a}/{b}=v`
        "app:rv/a/b/=v",
        "app:rv/a/b/c=v",
        "app:rv/a%2e/b=v",
        "app:rv//b/c=v",
        // `rv:u={user}:org={org}.v1`
        "app:rv:u=:org={a}:org={b}.v1",
        "app:rv:u=x:org={}}.v1",
        "app:rv:u=x:org={a}b}.v1",
        "app:rv:u=x:org={a{b}.v1",
        "app:rv:u=x{y}:org={a}.v1",
        // `rv/t/{tenant}.d/{doc}`
        "app:rv/t/{a}.d/01",
        "app:rv/t/{a/b}.d/1",
        "app:rv/t/{a}.d/{b}.d/1",
        "app:rv/t/{a}.d/1/2",
    ]
    .into_iter()
    .map(|k| k.as_bytes().to_vec())
    .collect();
    keys.push(b"app:rv:doc:\xff.json".to_vec()); // not UTF-8
    keys.push(b"app:rv.\xfe.x.b".to_vec());
    keys
}

on_both! {
/// Foreign keys that match the families' globs are neither listed by
/// `scan_ids` nor counted by `count`, for any of the layouts, while every
/// family's own keys are listed.
async fn scans_and_counts_return_exactly_the_rendered_keys() {
    let (_redis, store, mut admin) = start_review().await;
    // Every foreign key is matched by at least one family's glob: otherwise
    // it tests nothing.
    let patterns: Vec<String> = [
        JsonDoc::META.key.scan_pattern("app:"),
        TxtDoc::META.key.scan_pattern("app:"),
        DocNum::META.key.scan_pattern("app:"),
        EscSuffix::META.key.scan_pattern("app:"),
        Bin::META.key.scan_pattern("app:"),
        Dotted::META.key.scan_pattern("app:"),
        Slashed::META.key.scan_pattern("app:"),
        Seat::META.key.scan_pattern("app:"),
        TDoc::META.key.scan_pattern("app:"),
    ]
    .into();
    for key in foreign_keys().into_iter().filter(|k| !type_bound(k)) {
        assert!(
            patterns.iter().any(|p| glob_match(p.as_bytes(), &key)),
            "{:?} matches no pattern of {patterns:?}",
            String::from_utf8_lossy(&key)
        );
        seed(&mut admin, &key).await;
    }
    store.save(&JsonDoc { name: "a:b".into(), v: 1 }).await.unwrap();
    store.save(&JsonDoc { name: "a.json".into(), v: 1 }).await.unwrap();
    store.save(&TxtDoc { name: "a/b".into(), v: 1 }).await.unwrap();
    store.save(&DocNum { n: 7, v: 1 }).await.unwrap();
    store.save(&EscSuffix { id: "%".into(), v: 1 }).await.unwrap();
    store.save(&Bin { id: 1, v: 1 }).await.unwrap();
    store.save(&Dotted { a: "a.b".into(), b: "c".into(), v: 1 }).await.unwrap();
    store.save(&Slashed { a: "a".into(), b: "b=v".into(), v: 1 }).await.unwrap();
    store.save(&Seat { user: "x".into(), org: "a}b".into(), v: 1 }).await.unwrap();
    store.save(&TDoc { tenant: "a/b".into(), doc: 1, v: 1 }).await.unwrap();

    let mut failures = Vec::new();
    macro_rules! check {
        ($model:ty, $want:expr, $show:expr) => {{
            let got: Vec<_> = scan_set::<$model>(&store).await;
            let got: Vec<String> = got.into_iter().map($show).collect();
            let want: Vec<String> = $want.into_iter().map(String::from).collect();
            if got.iter().collect::<BTreeSet<_>>() != want.iter().collect::<BTreeSet<_>>() {
                failures.push(format!("{} scan_ids: {got:?}, want {want:?}", stringify!($model)));
            }
            let n = store.count::<$model>().await.unwrap() as usize;
            if n != want.len() {
                failures.push(format!("{} count: {n}, want {}", stringify!($model), want.len()));
            }
        }};
    }
    check!(JsonDoc, ["a:b", "a.json"], |id: String| id);
    check!(TxtDoc, ["a/b"], |id: String| id);
    check!(DocNum, ["7"], |id: u64| id.to_string());
    check!(EscSuffix, ["%"], |id: String| id);
    check!(Bin, ["1"], |id: u64| id.to_string());
    check!(Dotted, ["a.b|c"], |id: DottedId| format!("{}|{}", id.a, id.b));
    check!(Slashed, ["a|b=v"], |id: SlashedId| format!("{}|{}", id.a, id.b));
    check!(Seat, ["x|a}b"], |id: SeatId| format!("{}|{}", id.user, id.org));
    check!(TDoc, ["a/b|1"], |id: TDocId| format!("{}|{}", id.tenant, id.doc));
    assert!(failures.is_empty(), "{failures:#?}");
}
}

/// A key of a family's shape whose part its type cannot parse (not UTF-8
/// under a `String`, beyond `u64::MAX`) is, as `scan_ids` documents, an
/// error item (`DecodeErrorKind::KeyPart`) of the stream, which goes on and
/// still yields every id the family rendered.
#[tokio::test]
async fn scans_report_foreign_keys_the_type_cannot_parse_and_go_on() {
    let (_redis, store, mut admin) = start_review().await;
    seed(&mut admin, b"app:rv:doc:\xff.json").await;
    seed(&mut admin, b"app:rv.\xfe.x.b").await;
    seed(&mut admin, b"app:rv:doc:18446744073709551616").await; // over u64::MAX
    store.save(&DocNum { n: 7, v: 1 }).await.unwrap();
    store
        .save(&JsonDoc {
            name: "a".into(),
            v: 1,
        })
        .await
        .unwrap();
    store
        .save(&Dotted {
            a: "a".into(),
            b: "b".into(),
            v: 1,
        })
        .await
        .unwrap();
    fn split<T>(items: Vec<redis_runtime::Result<T>>) -> (Vec<T>, usize) {
        let mut ok = Vec::new();
        let mut errors = 0;
        for item in items {
            match item {
                Ok(id) => ok.push(id),
                Err(redis_runtime::Error::Decode(e)) => {
                    assert!(
                        matches!(e.kind, redis_runtime::DecodeErrorKind::KeyPart { .. }),
                        "{e:?}"
                    );
                    errors += 1;
                }
                Err(e) => panic!("{e:?}"),
            }
        }
        (ok, errors)
    }
    let docs = split(store.scan_ids::<JsonDoc>().collect::<Vec<_>>().await);
    assert_eq!(docs, (vec!["a".to_owned()], 1));
    let dotted = split(store.scan_ids::<Dotted>().collect::<Vec<_>>().await);
    assert_eq!(
        dotted,
        (
            vec![DottedId {
                a: "a".into(),
                b: "b".into()
            }],
            1
        )
    );
    let nums = split(store.scan_ids::<DocNum>().collect::<Vec<_>>().await);
    assert_eq!(nums, (vec![7], 1));
}

// ---------------------------------------------------------------------------
// Empty and oversized parts.

on_both! {
/// An empty part is refused before anything is sent, even when the literal
/// text around it would make the segment non-empty (`org=`, `.json`).
async fn empty_parts_inside_affixed_segments_are_refused() {
    let (_redis, store, mut admin) = start_review().await;
    let is_invalid = |e: &redis_runtime::Error| matches!(e, redis_runtime::Error::InvalidKeyPart { .. });
    let err = store.save(&JsonDoc { name: String::new(), v: 1 }).await.unwrap_err();
    assert!(is_invalid(&err), "{err:?}");
    let err = store.save(&EscSuffix { id: String::new(), v: 1 }).await.unwrap_err();
    assert!(is_invalid(&err), "{err:?}");
    let err = store.save(&Seat { user: "u".into(), org: String::new(), v: 1 }).await.unwrap_err();
    assert!(is_invalid(&err), "{err:?}");
    let err = store.save(&Seat { user: String::new(), org: "o".into(), v: 1 }).await.unwrap_err();
    assert!(is_invalid(&err), "{err:?}");
    let err = store
        .save(&Slashed { a: "a".into(), b: String::new(), v: 1 })
        .await
        .unwrap_err();
    assert!(is_invalid(&err), "{err:?}");
    let err = store.get::<JsonDoc>(&String::new()).await.unwrap_err();
    assert!(is_invalid(&err), "{err:?}");
    for key in ["app:rv:doc:.json", "app:rv:esc:25", "app:rv:u=u:org={}.v1", "app:rv:u=:org={o}.v1", "app:rv/a/=v"] {
        assert!(!exists(&mut admin, key.as_bytes()).await, "{key} was written");
    }
}
}

on_both! {
/// The 1024-byte limit applies after escaping, and escaping depends on the
/// separator: a `/` costs three bytes in a `/` template.
async fn the_part_length_limit_counts_the_separator_escape() {
    let (_redis, store, _admin) = start_review().await;
    let fits = format!("{}/", "a".repeat(1021)); // 1021 + 3 = 1024
    store.save(&Slashed { a: fits.clone(), b: "b".into(), v: 1 }).await.unwrap();
    assert_eq!(scan_set::<Slashed>(&store).await.len(), 1);
    let over = format!("{}/", "a".repeat(1022)); // 1022 + 3 = 1025
    let err = store.save(&Slashed { a: over.clone(), b: "b".into(), v: 1 }).await.unwrap_err();
    assert!(matches!(err, redis_runtime::Error::InvalidKeyPart { .. }), "{err:?}");
    // `/` is not escaped in a `:` template: the same value is 1023 bytes there.
    store.save(&JsonDoc { name: over.clone(), v: 1 }).await.unwrap();
    assert_eq!(scan_set::<JsonDoc>(&store).await, vec![over]);
}
}

// ---------------------------------------------------------------------------
// Hash tags inside affixed segments.

on_both! {
/// All keys of one tag share the tag's slot, whatever the other part holds
/// (braces included) and whatever the tag holds (braces, separators): the
/// tag is exactly the escaped tag value.
async fn hash_tags_inside_affixed_segments_pick_the_tags_slot() {
    let (redis, store, mut admin) = start_review().await;
    let ids = tricky();
    let orgs = ["acme", "a}b", "{x}", "a.v1", "o/r.g", "%7D", "é"];
    let mut nodes = redis.node_connections().await;
    for org in orgs {
        let tag_slot = slot(esc(org, b':').as_bytes());
        let mut seen = HashSet::new();
        for (i, user) in ids.iter().enumerate() {
            let seat = Seat { user: user.clone(), org: org.into(), v: i as u32 };
            store.save(&seat).await.unwrap();
            let key = store
                .key::<Seat>(&SeatId { user: user.clone(), org: org.into() })
                .unwrap();
            let want = format!("app:rv:u={}:org={{{}}}.v1", esc(user, b':'), esc(org, b':'));
            assert_eq!(key.to_string(), want);
            assert_eq!(slot(key.as_bytes()), tag_slot, "{want}");
            seen.insert(slot(key.as_bytes()));
            let doc = TDoc { tenant: org.into(), doc: i as u64, v: 1 };
            store.save(&doc).await.unwrap();
            let key = store
                .key::<TDoc>(&TDocId { tenant: org.into(), doc: i as u64 })
                .unwrap();
            let want = format!("app:rv/t/{{{}}}.d/{i}", esc(org, b'/'));
            assert_eq!(key.to_string(), want);
            assert_eq!(slot(key.as_bytes()), slot(esc(org, b'/').as_bytes()), "{want}");
            assert!(exists(&mut admin, want.as_bytes()).await);
        }
        assert_eq!(seen.len(), 1);
        if redis.is_cluster() {
            // The server agrees with the oracle.
            let key = format!("app:rv:u=x:org={{{}}}.v1", esc(org, b':'));
            let server_slot: u16 = redis::cmd("CLUSTER")
                .arg("KEYSLOT")
                .arg(&key)
                .query_async(&mut nodes[0])
                .await
                .unwrap();
            assert_eq!(server_slot, tag_slot, "{key}");
        }
    }
    // Every seat scans back, on every primary.
    assert_eq!(scan_set::<Seat>(&store).await.len(), ids.len() * orgs.len());
    assert_eq!(scan_set::<TDoc>(&store).await.len(), ids.len() * orgs.len());
}
}

// ---------------------------------------------------------------------------
// The manifest and the ACL rule.

#[test]
fn the_manifest_round_trips_and_classifies_every_rendered_key() {
    let manifest = REVIEW.manifest("app");
    let json = manifest.to_json();
    let read = Manifest::from_json(&json).unwrap();
    assert_eq!(read, manifest);
    assert_eq!(
        read.acl_rule().key_patterns,
        manifest.acl_rule().key_patterns
    );
    let family = |key: &[u8]| read.family_of(key).map(|f| f.model.clone());
    let mut failures = Vec::new();
    let mut expect = |key: String, model: Option<&str>| {
        let got = family(key.as_bytes());
        if got.as_deref() != model {
            failures.push(format!("{key:?}: {got:?}, want {model:?}"));
        }
    };
    for id in tricky() {
        expect(
            format!("app:rv:doc:{}.json", esc(&id, b':')),
            Some("JsonDoc"),
        );
        expect(format!("app:rv:doc:{}.txt", esc(&id, b':')), Some("TxtDoc"));
        expect(
            format!("app:rv:esc:{}25", esc(&id, b':')),
            Some("EscSuffix"),
        );
        expect(
            format!("app:rv.{}.x.{}", esc(&id, b'.'), esc(&id, b'.')),
            Some("Dotted"),
        );
        expect(
            format!("app:rv/{}/{}=v", esc(&id, b'/'), esc(&id, b'/')),
            Some("Slashed"),
        );
        expect(
            format!("app:rv:u={}:org={{{}}}.v1", esc(&id, b':'), esc(&id, b':')),
            Some("Seat"),
        );
        expect(format!("app:rv/t/{{{}}}.d/3", esc(&id, b'/')), Some("TDoc"));
    }
    expect("app:rv:doc:7".into(), Some("DocNum"));
    expect("app:rv/n/v18446744073709551615.bin".into(), Some("Bin"));
    for key in foreign_keys().into_iter().filter(|k| !type_bound(k)) {
        let got = family(&key);
        if got.is_some() {
            failures.push(format!(
                "{:?}: {got:?}, want None",
                String::from_utf8_lossy(&key)
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Foreign keys that only the placeholder's type rules out: a number over
/// `u64::MAX`, bytes that are not UTF-8 under a `String` placeholder.
fn type_bound(key: &[u8]) -> bool {
    key == b"app:rv:doc:18446744073709551616" || std::str::from_utf8(key).is_err()
}

/// Keys are classified by template and placeholder shape (the characters a
/// type renders), not by the type's range or encoding: a number beyond
/// `u64::MAX` or a part that is not UTF-8 under a `String` still counts as
/// the family's (reading it reports a decode error).
#[test]
fn the_manifest_classifies_by_placeholder_shape() {
    let read = Manifest::from_json(&REVIEW.manifest("app").to_json()).unwrap();
    let wrong: Vec<String> = foreign_keys()
        .into_iter()
        .filter(|k| type_bound(k))
        .filter_map(|k| {
            let family = read.family_of(&k)?;
            Some(format!(
                "{:?}: {}",
                String::from_utf8_lossy(&k),
                family.model
            ))
        })
        .collect();
    assert_eq!(wrong.len(), 3, "{wrong:#?}");
}

#[test]
fn the_acl_patterns_cover_every_rendered_key() {
    let patterns = REVIEW.manifest("app").acl_rule().key_patterns;
    for id in tricky() {
        for key in [
            format!("app:rv:doc:{}.json", esc(&id, b':')),
            format!("app:rv:esc:{}25", esc(&id, b':')),
            format!("app:rv.{}.x.{}", esc(&id, b'.'), esc(&id, b'.')),
            format!("app:rv/{}/{}=v", esc(&id, b'/'), esc(&id, b'/')),
            format!("app:rv:u={}:org={{{}}}.v1", esc(&id, b':'), esc(&id, b':')),
            format!("app:rv/t/{{{}}}.d/3", esc(&id, b'/')),
        ] {
            assert!(
                patterns
                    .iter()
                    .any(|p| glob_match(p.as_bytes(), key.as_bytes())),
                "{key:?} not granted by {patterns:?}"
            );
        }
    }
}

#[tokio::test]
async fn the_acl_rule_refuses_an_untagged_neighbour_of_a_tagged_layout() {
    let (_redis, store, mut admin) = start_review().await;
    store
        .save(&Seat {
            user: "x".into(),
            org: "acme".into(),
            v: 1,
        })
        .await
        .unwrap();
    // Same shape without the braces, and another version suffix.
    for key in ["app:rv:u=x:org=acme.v1", "app:rv:u=x:org={acme}.v2"] {
        seed(&mut admin, key.as_bytes()).await;
        let err = store
            .raw_access()
            .query::<Option<String>>(redis::cmd("GET").arg(key))
            .await
            .unwrap_err();
        assert!(
            matches!(err, redis_runtime::Error::PermissionDenied { .. }),
            "{key}: {err:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// The collision rule.

macro_rules! model {
    ($name:ident, $key:literal, $ty:ty $(, $extra:meta)*) => {
        #[derive(Debug, RedisModel)]
        #[redis(key = $key $(, $extra)*)]
        #[allow(dead_code)]
        struct $name {
            a: $ty,
            v: u32,
        }
    };
}

model!(NZero, "cz:n:{a}0", u64);
model!(NPlain, "cz:n:{a}", u64);
model!(NOne, "cz:n:1{a}", u64);
model!(NX, "cz:n:x{a}", u64);
model!(NSigned, "cz:n:{a}", i64);
model!(NMinus, "cz:n:-{a}", u64);
model!(DJson, "cz:d:{a}.json", String);
model!(DTxt, "cz:d:{a}.txt", String);
model!(DExt, "cz:d:x.{a}", String);
model!(SPre, "cz:s:a{a}", String);
model!(SSuf, "cz:s:{a}b", String);
model!(GDot, "cz.g.{a}", String, separator = ".");
model!(GColon, "cz.g.{a}", String);
model!(KSlash, "cz/k/{a}", String, separator = "/");
model!(KDotZ, "cz/k/{a}.z", String, separator = ".");
model!(XSlash, "cz/x/{a}", String, separator = "/");
model!(XColonY, "cz/x/{a}/y", String);
model!(YDot, "cz.y.{a}", String, separator = ".");
model!(YColonY, "cz.y.{a}.y", String);
model!(RTagged, "cz:r:room={a}", String, hash_tag = "a");
model!(RPlain, "cz:r:room={a}", String);
model!(
    TSlashTagged,
    "cz/t={a}/x",
    String,
    separator = "/",
    hash_tag = "a"
);
model!(TColonTagged, "cz/t={a}/x", String, hash_tag = "a");
model!(TColonPlain, "cz/t={a}/x", String);
model!(FBool, "cz:f:{a}", bool);
model!(FNum, "cz:f:{a}", u64);
model!(UUuid, "cz:u:{a}.json", uuid::Uuid);
model!(UUpper, "cz:u:{a}.JSON", String);
model!(HV, "cz:h:v{a}", String);
model!(HLonger, "cz:h:{a}:x", String);
model!(PInt, "cz:p:{a}", u64);
model!(PHalf, "cz:p:{a}.5", u64);

#[derive(Debug, RedisModel)]
#[redis(key = "cz/a/b", separator = "/")]
#[allow(dead_code)]
struct LitSlash {
    v: u32,
}

#[derive(Debug, RedisModel)]
#[redis(key = "cz/a/b")]
#[allow(dead_code)]
struct LitColon {
    v: u32,
}

fn pair<A: Family, B: Family>(collides: bool) -> (&'static str, &'static str, bool, bool, bool) {
    let (a, b) = (&A::META.key, &B::META.key);
    (a.source, b.source, collides, collide(a, b), collide(b, a))
}

/// Pairs that can render a common key (the witness in the comment) must be
/// refused; pairs that cannot must be accepted (none of these is one of the
/// documented over-approximations: integers against integers or strings
/// with a canonical-form difference, templates over 127 bytes).
#[test]
fn collisions_across_affixes_separators_and_tags() {
    let cases = [
        pair::<NZero, NPlain>(true),              // cz:n:10
        pair::<NOne, NPlain>(true),               // cz:n:12
        pair::<NX, NPlain>(false),                // `x` is never a digit
        pair::<NSigned, NMinus>(true),            // cz:n:-5
        pair::<DJson, DTxt>(false),               // no key ends in both
        pair::<DJson, DExt>(true),                // cz:d:x.json
        pair::<SPre, SSuf>(true),                 // cz:s:ab
        pair::<LitSlash, LitColon>(true),         // cz/a/b, identical bytes
        pair::<GDot, GColon>(true),               // cz.g.x
        pair::<KSlash, KDotZ>(true),              // cz/k/x.z
        pair::<XSlash, XColonY>(false),           // the `/` part never holds `/`
        pair::<YDot, YColonY>(false),             // the `.` part never holds `.`
        pair::<RTagged, RPlain>(false),           // braces only from the tag
        pair::<TSlashTagged, TColonTagged>(true), // cz/t={x}/x
        pair::<TSlashTagged, TColonPlain>(false), // braces only from the tag
        pair::<FBool, FNum>(false),               // documented: u64 and bool
        pair::<UUuid, UUpper>(false),             // `.json` vs `.JSON`
        pair::<HV, HLonger>(false),               // a part never holds `:`
        pair::<PInt, PHalf>(false),               // a u64 never renders `.`
        pair::<DJson, NPlain>(false),             // different second segment
    ];
    let wrong: Vec<_> = cases
        .iter()
        .filter(|(_, _, want, ab, ba)| ab != want || ba != want)
        .map(|(a, b, want, ab, ba)| format!("{a} vs {b}: want {want}, got {ab}/{ba}"))
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
}
