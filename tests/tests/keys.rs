//! Property tests of the key layer: rendering, splitting, `SCAN MATCH` patterns,
//! namespaces and cluster slots, over adversarial ids.
//!
//! The library is checked against independent oracles written here from the
//! documented spec, not against itself:
//!
//! - `spec_escape` / `spec_render`: the escaping rule (`: { } * ? [ ] \ %`, bytes
//!   0x00-0x20 and 0x7f become `%XX`, upper-case hex, nothing else changes) and
//!   the 1024-byte limit, applied to a template's segments;
//! - `spec_split`: a key is accepted iff decoding its parts leniently and
//!   rendering them again gives the key back (the canonical form), and each
//!   part is a value of its field's shape (`spec_shape_admits`);
//! - `glob_match`: a port of Redis's `stringmatchlen` (util.c), itself checked
//!   against a real server's `SCAN MATCH`;
//! - `CLUSTER KEYSLOT` of a real cluster-mode server for `hash_slot`.

mod common;

use std::collections::{HashMap, HashSet};

use common::{command_calls, raw};
use futures_util::StreamExt;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::{Config as PropConfig, TestCaseError, TestRunner};
use redis_runtime::key::{
    self, InvalidKeyPart, KeyTemplate, KeyWriter, PartShape, Segment, hash_slot,
};
use redis_runtime::testing::RedisServer;
use redis_runtime::{Error, Family, KeyPartError, RedisModel, Store};

// ---------------------------------------------------------------------------
// Models. Every pair of templates is disjoint by design: different literals or
// a different number of segments, or (TenantUser / PlainTenantUser) the same
// shape where only one has the hash-tag braces, which an escaped part can
// never contain.
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, RedisModel)]
#[redis(key = "user:{id}")]
struct User {
    id: String,
    name: String,
}

#[derive(Debug, Clone, PartialEq, RedisModel)]
#[redis(key = "user:{id}:profile")]
struct Profile {
    id: String,
    bio: String,
}

#[derive(Debug, Clone, PartialEq, RedisModel)]
#[redis(key = "tenant:{tenant}:user:{id}", hash_tag = "tenant")]
struct TenantUser {
    tenant: String,
    id: String,
    email: String,
}

/// Same segments as `TenantUser`, without the hash tag.
#[derive(Debug, Clone, PartialEq, RedisModel)]
#[redis(key = "tenant:{tenant}:user:{id}")]
struct PlainTenantUser {
    tenant: String,
    id: String,
}

#[derive(Debug, Clone, PartialEq, RedisModel)]
#[redis(key = "tenant:{tenant}:order:{id}", hash_tag = "tenant")]
struct Order {
    tenant: String,
    id: u64,
    total: i64,
}

/// Two adjacent placeholders; fields deliberately declared in the opposite
/// order to the template, so a derive that wrote parts in field order would fail.
#[derive(Debug, Clone, PartialEq, RedisModel)]
#[redis(key = "doc:{a}:{b}")]
struct Doc {
    b: String,
    a: String,
    body: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    User,
    Profile,
    TenantUser,
    PlainTenantUser,
    Order,
    Doc,
}

const KINDS: [Kind; 6] = [
    Kind::User,
    Kind::Profile,
    Kind::TenantUser,
    Kind::PlainTenantUser,
    Kind::Order,
    Kind::Doc,
];

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum AnyId {
    User(String),
    Profile(String),
    TenantUser(TenantUserId),
    PlainTenantUser(PlainTenantUserId),
    Order(OrderId),
    Doc(DocId),
}

/// Renders through the public renderer, exactly as the store does.
fn render<M: RedisModel>(ns: &str, id: &M::Id) -> Result<Vec<u8>, InvalidKeyPart> {
    let mut buf = Vec::new();
    M::write_id_key(id, &mut KeyWriter::new(&mut buf, ns, &M::META.key))?;
    Ok(buf)
}

/// The library's parser: `split` + the derive's `parse_id`.
fn parse<M: RedisModel>(
    ns: &str,
    key: &[u8],
    wrap: fn(M::Id) -> AnyId,
) -> Option<Result<AnyId, InvalidKeyPart>> {
    key::parse_key::<M>(ns, key).map(|r| r.map(wrap))
}

impl Kind {
    fn template(self) -> &'static KeyTemplate {
        match self {
            Kind::User => &User::META.key,
            Kind::Profile => &Profile::META.key,
            Kind::TenantUser => &TenantUser::META.key,
            Kind::PlainTenantUser => &PlainTenantUser::META.key,
            Kind::Order => &Order::META.key,
            Kind::Doc => &Doc::META.key,
        }
    }

    fn segments(self) -> usize {
        self.template().segments.len()
    }

    fn parse(self, ns: &str, key: &[u8]) -> Option<Result<AnyId, InvalidKeyPart>> {
        match self {
            Kind::User => parse::<User>(ns, key, AnyId::User),
            Kind::Profile => parse::<Profile>(ns, key, AnyId::Profile),
            Kind::TenantUser => parse::<TenantUser>(ns, key, AnyId::TenantUser),
            Kind::PlainTenantUser => parse::<PlainTenantUser>(ns, key, AnyId::PlainTenantUser),
            Kind::Order => parse::<Order>(ns, key, AnyId::Order),
            Kind::Doc => parse::<Doc>(ns, key, AnyId::Doc),
        }
    }

    /// The oracle's decoding of split parts into an id (`None`: not UTF-8, or
    /// not a canonical `u64`).
    fn spec_decode(self, parts: Vec<Vec<u8>>) -> Option<AnyId> {
        let mut it = parts.into_iter();
        let mut s = || String::from_utf8(it.next().expect("part")).ok();
        Some(match self {
            Kind::User => AnyId::User(s()?),
            Kind::Profile => AnyId::Profile(s()?),
            Kind::TenantUser => AnyId::TenantUser(TenantUserId {
                tenant: s()?,
                id: s()?,
            }),
            Kind::PlainTenantUser => AnyId::PlainTenantUser(PlainTenantUserId {
                tenant: s()?,
                id: s()?,
            }),
            Kind::Order => {
                let tenant = s()?;
                let digits = s()?;
                let canonical = !digits.is_empty()
                    && digits.bytes().all(|b| b.is_ascii_digit())
                    && (digits == "0" || !digits.starts_with('0'));
                if !canonical {
                    return None;
                }
                AnyId::Order(OrderId {
                    tenant,
                    id: digits.parse().ok()?,
                })
            }
            Kind::Doc => AnyId::Doc(DocId { a: s()?, b: s()? }),
        })
    }

    /// Every id `scan_ids` yields, and the errors it yields.
    async fn scan(self, store: &Store) -> (Vec<AnyId>, Vec<Error>) {
        match self {
            Kind::User => scan::<User>(store, AnyId::User).await,
            Kind::Profile => scan::<Profile>(store, AnyId::Profile).await,
            Kind::TenantUser => scan::<TenantUser>(store, AnyId::TenantUser).await,
            Kind::PlainTenantUser => scan::<PlainTenantUser>(store, AnyId::PlainTenantUser).await,
            Kind::Order => scan::<Order>(store, AnyId::Order).await,
            Kind::Doc => scan::<Doc>(store, AnyId::Doc).await,
        }
    }

    async fn count(self, store: &Store) -> u64 {
        let count = match self {
            Kind::User => store.count::<User>().await,
            Kind::Profile => store.count::<Profile>().await,
            Kind::TenantUser => store.count::<TenantUser>().await,
            Kind::PlainTenantUser => store.count::<PlainTenantUser>().await,
            Kind::Order => store.count::<Order>().await,
            Kind::Doc => store.count::<Doc>().await,
        };
        count.expect("count")
    }
}

async fn scan<M: RedisModel>(store: &Store, wrap: fn(M::Id) -> AnyId) -> (Vec<AnyId>, Vec<Error>) {
    let mut stream = Box::pin(store.scan_ids::<M>());
    let (mut ids, mut errors) = (Vec::new(), Vec::new());
    while let Some(item) = stream.next().await {
        match item {
            Ok(id) => ids.push(wrap(id)),
            Err(err) => errors.push(err),
        }
    }
    (ids, errors)
}

impl AnyId {
    fn kind(&self) -> Kind {
        match self {
            AnyId::User(_) => Kind::User,
            AnyId::Profile(_) => Kind::Profile,
            AnyId::TenantUser(_) => Kind::TenantUser,
            AnyId::PlainTenantUser(_) => Kind::PlainTenantUser,
            AnyId::Order(_) => Kind::Order,
            AnyId::Doc(_) => Kind::Doc,
        }
    }

    /// The raw (unescaped) bytes of each placeholder, in template order.
    fn raw_parts(&self) -> Vec<Vec<u8>> {
        let b = |s: &String| s.as_bytes().to_vec();
        match self {
            AnyId::User(id) | AnyId::Profile(id) => vec![b(id)],
            AnyId::TenantUser(id) => vec![b(&id.tenant), b(&id.id)],
            AnyId::PlainTenantUser(id) => vec![b(&id.tenant), b(&id.id)],
            AnyId::Order(id) => vec![b(&id.tenant), id.id.to_string().into_bytes()],
            AnyId::Doc(id) => vec![b(&id.a), b(&id.b)],
        }
    }

    fn render(&self, ns: &str) -> Result<Vec<u8>, InvalidKeyPart> {
        match self {
            AnyId::User(id) => render::<User>(ns, id),
            AnyId::Profile(id) => render::<Profile>(ns, id),
            AnyId::TenantUser(id) => render::<TenantUser>(ns, id),
            AnyId::PlainTenantUser(id) => render::<PlainTenantUser>(ns, id),
            AnyId::Order(id) => render::<Order>(ns, id),
            AnyId::Doc(id) => render::<Doc>(ns, id),
        }
    }

    /// The same id with every string part replaced by `f` of it.
    fn map_strings(&self, f: impl Fn(&str) -> String) -> AnyId {
        match self {
            AnyId::User(id) => AnyId::User(f(id)),
            AnyId::Profile(id) => AnyId::Profile(f(id)),
            AnyId::TenantUser(id) => AnyId::TenantUser(TenantUserId {
                tenant: f(&id.tenant),
                id: f(&id.id),
            }),
            AnyId::PlainTenantUser(id) => AnyId::PlainTenantUser(PlainTenantUserId {
                tenant: f(&id.tenant),
                id: f(&id.id),
            }),
            AnyId::Order(id) => AnyId::Order(OrderId {
                tenant: f(&id.tenant),
                id: id.id,
            }),
            AnyId::Doc(id) => AnyId::Doc(DocId {
                a: f(&id.a),
                b: f(&id.b),
            }),
        }
    }

    fn spec_key(&self, ns: &str) -> Result<Vec<u8>, InvalidKeyPart> {
        spec_render(self.kind().template(), ns, &self.raw_parts())
    }

    /// `Store::key` of this id.
    fn store_key(&self, store: &Store) -> redis_runtime::Result<Vec<u8>> {
        let key = match self {
            AnyId::User(id) => store.key::<User>(id),
            AnyId::Profile(id) => store.key::<Profile>(id),
            AnyId::TenantUser(id) => store.key::<TenantUser>(id),
            AnyId::PlainTenantUser(id) => store.key::<PlainTenantUser>(id),
            AnyId::Order(id) => store.key::<Order>(id),
            AnyId::Doc(id) => store.key::<Doc>(id),
        };
        key.map(|k| k.as_bytes().to_vec())
    }

    /// Saves a model with this id.
    async fn save(&self, store: &Store) -> redis_runtime::Result<()> {
        match self.clone() {
            AnyId::User(id) => {
                store
                    .save(&User {
                        id,
                        name: "n".into(),
                    })
                    .await
            }
            AnyId::Profile(id) => {
                store
                    .save(&Profile {
                        id,
                        bio: "b".into(),
                    })
                    .await
            }
            AnyId::TenantUser(TenantUserId { tenant, id }) => {
                store
                    .save(&TenantUser {
                        tenant,
                        id,
                        email: "e".into(),
                    })
                    .await
            }
            AnyId::PlainTenantUser(PlainTenantUserId { tenant, id }) => {
                store.save(&PlainTenantUser { tenant, id }).await
            }
            AnyId::Order(OrderId { tenant, id }) => {
                store
                    .save(&Order {
                        tenant,
                        id,
                        total: 1,
                    })
                    .await
            }
            AnyId::Doc(DocId { a, b }) => {
                store
                    .save(&Doc {
                        a,
                        b,
                        body: "d".into(),
                    })
                    .await
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Oracles, written from the documented spec.
// ---------------------------------------------------------------------------

const SPEC_MAX_PART: usize = 1024;

fn spec_reserved(b: u8) -> bool {
    b":{}*?[]\\%".contains(&b) || b <= 0x20 || b == 0x7f
}

fn spec_escape(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    for &b in raw {
        if spec_reserved(b) {
            out.extend_from_slice(format!("%{b:02X}").as_bytes());
        } else {
            out.push(b);
        }
    }
    out
}

/// `%XY` with any two hex digits (either case) becomes the byte; anything else stays.
fn lenient_unescape(s: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%'
            && let (Some(hi), Some(lo)) = (
                s.get(i + 1).copied().and_then(hex),
                s.get(i + 2).copied().and_then(hex),
            )
        {
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    out
}

/// The key `parts` (raw, template order) must render to, or the first part's error.
fn spec_render(t: &KeyTemplate, ns: &str, parts: &[Vec<u8>]) -> Result<Vec<u8>, InvalidKeyPart> {
    let mut out = ns.as_bytes().to_vec();
    let mut parts = parts.iter();
    for (i, seg) in t.segments.iter().enumerate() {
        if i > 0 {
            out.push(b':');
        }
        match *seg {
            Segment::Literal(lit) => out.extend_from_slice(lit.as_bytes()),
            Segment::Placeholder {
                field, hash_tag, ..
            } => {
                let escaped = spec_escape(parts.next().expect("one part per placeholder"));
                let reason = if escaped.is_empty() {
                    Some(KeyPartError::Empty)
                } else if escaped.len() > SPEC_MAX_PART {
                    Some(KeyPartError::TooLong { len: escaped.len() })
                } else {
                    None
                };
                if let Some(reason) = reason {
                    return Err(InvalidKeyPart { field, reason });
                }
                if hash_tag {
                    out.push(b'{');
                }
                out.extend_from_slice(&escaped);
                if hash_tag {
                    out.push(b'}');
                }
            }
        }
    }
    assert!(parts.next().is_none(), "one part per placeholder");
    Ok(out)
}

/// A key belongs to a template iff it is the canonical rendering of the parts
/// it decodes to.
fn spec_split(t: &KeyTemplate, ns: &str, key: &[u8]) -> Option<Vec<Vec<u8>>> {
    let rest = key.strip_prefix(ns.as_bytes())?;
    let pieces: Vec<&[u8]> = rest.split(|&b| b == b':').collect();
    if pieces.len() != t.segments.len() {
        return None;
    }
    let mut parts = Vec::new();
    for (seg, piece) in t.segments.iter().zip(pieces) {
        if let Segment::Placeholder {
            hash_tag, shape, ..
        } = *seg
        {
            let inner = if hash_tag {
                piece.strip_prefix(b"{")?.strip_suffix(b"}")?
            } else {
                piece
            };
            let part = lenient_unescape(inner);
            if !spec_shape_admits(shape, &part) {
                return None;
            }
            parts.push(part);
        }
    }
    (spec_render(t, ns, &parts).ok()? == key).then_some(parts)
}

/// The values each shape renders, written out independently of the library:
/// a part outside its field's shape is another family's key, never this one's.
fn spec_shape_admits(shape: PartShape, part: &[u8]) -> bool {
    let canonical_digits =
        |d: &[u8]| !d.is_empty() && d.iter().all(u8::is_ascii_digit) && (d == b"0" || d[0] != b'0');
    match shape {
        PartShape::Integer { signed } => match part.strip_prefix(b"-") {
            Some(digits) => signed && canonical_digits(digits) && digits != b"0",
            None => canonical_digits(part),
        },
        PartShape::Bool => part == b"true" || part == b"false",
        PartShape::Uuid => {
            part.len() == 36
                && part.iter().enumerate().all(|(i, b)| match i {
                    8 | 13 | 18 | 23 => *b == b'-',
                    _ => b.is_ascii_digit() || (b'a'..=b'f').contains(b),
                })
        }
        _ => true,
    }
}

fn escaped_str(raw: &str) -> String {
    String::from_utf8(spec_escape(raw.as_bytes())).expect("escaping keeps UTF-8")
}

/// `SCAN MATCH` escaping as Redis's glob matcher reads it: a backslash before
/// each of `* ? [ ] \` (written here, not taken from the library).
fn spec_glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

// Redis's glob matcher, ported from `stringmatchlen` (src/util.c, Redis 7),
// case sensitive as `SCAN MATCH` uses it: the fuzz targets' port, so the one
// the glob_escape fuzzer trusts is the one `server_glob_agrees_with_the_port`
// checks against a real server.
use fuzz_targets::glob_match;

/// What `SCAN MATCH` keeps: the pattern `*` alone disables matching.
fn scan_match(pattern: &[u8], key: &[u8]) -> bool {
    pattern == b"*" || glob_match(pattern, key)
}

// ---------------------------------------------------------------------------
// Strategies.
// ---------------------------------------------------------------------------

const ATOMS: &[&str] = &[
    ":", "{", "}", "*", "?", "[", "]", "\\", "%", "%3A", "%3a", "%7B", "%7D", "%25", "%2", "%G1",
    "%41", "%%", "%20", "\r", "\n", "\r\n", "\0", "\t", " ", "\x7f", "\x1b", "é", "😀", "ß",
    "\u{a0}", "user", "admin", "tenant", "order", "profile", "doc", "{x}", "}:user:{", "::", "0",
    "1", "42", "-", "_", ".",
];

fn atom() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => select(ATOMS).prop_map(str::to_owned),
        2 => "[0-9]{1,3}",
        2 => "[a-z]{1,3}",
        1 => any::<char>().prop_map(String::from),
    ]
}

/// 980-1120 bytes after escaping (and exact boundary cases around 1024).
fn long_string() -> impl Strategy<Value = String> {
    let boundary = vec![
        "a".repeat(1024),
        "a".repeat(1025),
        "a".repeat(1021) + ":",
        "a".repeat(1022) + ":",
        ":".repeat(341) + "a",
        ":".repeat(342),
        "%".repeat(341),
        "é".repeat(512),
        "é".repeat(512) + "a",
        "😀".repeat(256),
        "😀".repeat(256) + "}",
    ];
    let pieces: &'static [&'static str] = &[":", "%", "\n", "{", "}", "*", "é", "😀"];
    prop_oneof![
        1 => select(boundary),
        3 => (980usize..1060, vec((any::<Index>(), select(pieces)), 0..20)).prop_map(
            |(n, inserts)| {
                let mut s = "a".repeat(n);
                for (ix, piece) in inserts {
                    let mut at = ix.index(s.len() + 1);
                    while !s.is_char_boundary(at) {
                        at -= 1;
                    }
                    s.insert_str(at, piece);
                }
                s
            }
        ),
    ]
}

fn adversarial() -> impl Strategy<Value = String> {
    prop_oneof![
        12 => vec(atom(), 1..8).prop_map(|v| v.concat()),
        1 => Just(String::new()),
        2 => long_string(),
    ]
}

/// Short adversarial strings, for tests that send keys to a server.
fn short_adversarial() -> impl Strategy<Value = String> {
    prop_oneof![
        12 => vec(atom(), 1..4).prop_map(|v| v.concat()),
        1 => Just(String::new()),
    ]
}

fn any_id_from<S>(s: S) -> impl Strategy<Value = AnyId>
where
    S: Strategy<Value = String> + Clone,
{
    let order_id = prop_oneof![any::<u64>(), 0u64..100];
    prop_oneof![
        s.clone().prop_map(AnyId::User),
        s.clone().prop_map(AnyId::Profile),
        (s.clone(), s.clone())
            .prop_map(|(tenant, id)| AnyId::TenantUser(TenantUserId { tenant, id })),
        (s.clone(), s.clone())
            .prop_map(|(tenant, id)| AnyId::PlainTenantUser(PlainTenantUserId { tenant, id })),
        (s.clone(), order_id).prop_map(|(tenant, id)| AnyId::Order(OrderId { tenant, id })),
        (s.clone(), s).prop_map(|(a, b)| AnyId::Doc(DocId { a, b })),
    ]
}

fn any_id() -> impl Strategy<Value = AnyId> {
    any_id_from(adversarial().boxed())
}

/// Valid namespaces (what `Config` produces: empty, or segments ending in `:`).
const NAMESPACES: &[&str] = &[
    "",
    "app:",
    "app:test:",
    "app:tes:",
    "app:test:user:",
    "user:",
    "tenant:",
    "doc:",
    "a.b-c_D:",
];

const AFFIXES: &[&str] = &["", "x", "*", ":", "}", "{", "%", "?", "%3A", "}:user:{"];

/// How a second tenant is derived from the first.
#[derive(Debug, Clone)]
enum Other {
    Same,
    Any(String),
    Affixed,
    EscapedText,
    DecodedText,
}

fn namespace() -> impl Strategy<Value = &'static str> {
    select(NAMESPACES)
}

/// Two different namespaces.
fn two_namespaces() -> impl Strategy<Value = (&'static str, &'static str)> {
    let n = NAMESPACES.len();
    (0..n, 1..n).prop_map(move |(i, d)| (NAMESPACES[i], NAMESPACES[(i + d) % n]))
}

fn prop_config(cases: u32) -> PropConfig {
    PropConfig {
        cases,
        // Regression files would land next to this file; keep the tree clean.
        failure_persistence: None,
        ..PropConfig::default()
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn show(key: &[u8]) -> String {
    String::from_utf8_lossy(key).escape_debug().to_string()
}

/// Same literals at the same positions, placeholders at the same positions
/// (hash tag or not).
fn same_shape(a: Kind, b: Kind) -> bool {
    let (sa, sb) = (a.template().segments, b.template().segments);
    sa.len() == sb.len()
        && sa.iter().zip(sb).all(|(x, y)| match (x, y) {
            (Segment::Literal(x), Segment::Literal(y)) => x == y,
            (Segment::Placeholder { .. }, Segment::Placeholder { .. }) => true,
            _ => false,
        })
}

// ---------------------------------------------------------------------------
// Deterministic checks of the fixtures and the oracles.
// ---------------------------------------------------------------------------

#[test]
fn templates_and_reserved_bytes_are_as_documented() {
    use Segment::{Literal as L, Placeholder as P};
    let p = |field, hash_tag| P {
        field,
        hash_tag,
        shape: PartShape::Text,
        prefix: "",
        suffix: "",
    };
    let int = |field| P {
        field,
        hash_tag: false,
        shape: PartShape::Integer { signed: false },
        prefix: "",
        suffix: "",
    };
    let expected: [(Kind, Vec<Segment>); 6] = [
        (Kind::User, vec![L("user"), p("id", false)]),
        (Kind::Profile, vec![L("user"), p("id", false), L("profile")]),
        (
            Kind::TenantUser,
            vec![L("tenant"), p("tenant", true), L("user"), p("id", false)],
        ),
        (
            Kind::PlainTenantUser,
            vec![L("tenant"), p("tenant", false), L("user"), p("id", false)],
        ),
        (
            Kind::Order,
            vec![L("tenant"), p("tenant", true), L("order"), int("id")],
        ),
        (Kind::Doc, vec![L("doc"), p("a", false), p("b", false)]),
    ];
    for (kind, segments) in expected {
        assert_eq!(kind.template().segments, segments.as_slice(), "{kind:?}");
    }
    assert_eq!(key::MAX_KEY_PART_LEN, SPEC_MAX_PART);
    for b in 0..=255u8 {
        assert_eq!(key::is_reserved(b), spec_reserved(b), "byte {b:#04x}");
    }
    // The oracle itself on a known vector (from key.rs's unit test).
    assert_eq!(spec_escape(b"a:b%c{d}*\r\n"), b"a%3Ab%25c%7Bd%7D%2A%0D%0A");
}

#[test]
fn glob_port_follows_redis_semantics_on_known_cases() {
    let cases: &[(&str, &str, bool)] = &[
        ("*", "anything", true),
        ("*", "", false), // stringmatchlen; SCAN special-cases a lone `*`
        ("user:?*", "user:1", true),
        ("user:?*", "user:", false),
        ("user:?*", "user:1:profile", true),
        ("h?llo", "hello", true),
        ("h?llo", "hllo", false),
        ("h[ae]llo", "hallo", true),
        ("h[ae]llo", "hillo", false),
        ("h[^e]llo", "hallo", true),
        ("h[^e]llo", "hello", false),
        ("h[a-b]llo", "hbllo", true),
        ("h[b-a]llo", "hallo", true),
        ("h\\*llo", "h*llo", true),
        ("h\\*llo", "hello", false),
        ("[\\]]", "]", true),
        ("a*b*c", "aXbYc", true),
        ("a*b*c", "aXbY", false),
        ("tenant:{?*}:user:?*", "tenant:{t}:user:1", true),
        ("tenant:{?*}:user:?*", "tenant:t:user:1", false),
        ("tenant:?*:user:?*", "tenant:{t}:user:1", true),
    ];
    for &(p, s, want) in cases {
        assert_eq!(
            glob_match(p.as_bytes(), s.as_bytes()),
            want,
            "{p:?} ~ {s:?}"
        );
    }
    assert!(scan_match(b"*", b""));
}

// ---------------------------------------------------------------------------
// Pure properties.
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(prop_config(2000))]

    /// Rendering is exactly the spec: namespace, literals, `%XX`-escaped parts,
    /// braces around the hash tag; empty and over-long (after escaping) parts are
    /// errors naming the first bad field in template order, never panics.
    #[test]
    fn rendering_follows_the_escaping_spec(id in any_id(), ns in namespace()) {
        let got = id.render(ns);
        prop_assert_eq!(&got, &id.spec_key(ns), "{:?}", id);
        if let Ok(key) = got {
            prop_assert!(key.starts_with(ns.as_bytes()));
            // Equal ids render equal keys.
            prop_assert_eq!(id.clone().render(ns), Ok(key));
        }
    }

    /// A rendered key is accepted by its own template only, under its own
    /// namespace, and parses back to the same id (round trip).
    #[test]
    fn keys_split_only_under_their_own_template(id in any_id(), ns in namespace()) {
        let rendered = id.render(ns);
        prop_assume!(rendered.is_ok(), "the renderer refuses this id");
        let key = rendered.unwrap();
        for kind in KINDS {
            let split = kind.template().split(ns, &key);
            let parsed = kind.parse(ns, &key);
            if kind == id.kind() {
                prop_assert_eq!(split, Some(id.raw_parts()));
                prop_assert_eq!(parsed, Some(Ok(id.clone())));
            } else {
                prop_assert_eq!(split, None, "{} accepted {}", kind.template(), show(&key));
                prop_assert!(parsed.is_none());
            }
        }
    }

    /// `split` accepts exactly the canonical renderings: random edits of a
    /// rendered key (inserted or replaced separators, braces, `%`, hex digits of
    /// either case, bytes ≥ 0x80, deletions) are accepted by a template iff the
    /// oracle says the result is canonical for it, and then parse to the
    /// oracle's id (or fail to parse where the oracle cannot decode either).
    #[test]
    fn split_agrees_with_the_canonical_form_oracle(
        id in any_id(),
        ns in namespace(),
        edits in vec((any::<Index>(), 0u8..3, select(b":%{}Aa3F0f7\xff \\*?-".to_vec())), 0..4),
        other_ns in namespace(),
    ) {
        let rendered = id.render(ns);
        prop_assume!(rendered.is_ok(), "the renderer refuses this id");
        let mut key = rendered.unwrap();
        for (ix, op, byte) in edits {
            let at = ix.index(key.len() + 1);
            match op {
                0 => key.insert(at, byte),
                1 if at < key.len() => { key.remove(at); }
                _ if at < key.len() => key[at] = byte,
                _ => key.push(byte),
            }
        }
        for ns in [ns, other_ns] {
            for kind in KINDS {
                let t = kind.template();
                let oracle = spec_split(t, ns, &key);
                prop_assert_eq!(t.split(ns, &key), oracle.clone(), "{} / {}", t, show(&key));
                let want = oracle.map(|parts| kind.spec_decode(parts));
                let got = kind.parse(ns, &key).map(Result::ok);
                prop_assert_eq!(got, want, "{} / {}", t, show(&key));
            }
        }
    }
}

proptest! {
    #![proptest_config(prop_config(1000))]

    /// Injective: among many ids (all models, one namespace) two render the same
    /// key only if they are the same id of the same model.
    #[test]
    fn distinct_ids_render_distinct_keys(ids in vec(any_id(), 1..24), ns in namespace()) {
        // Each id also with its strings replaced by their escaped text and by
        // their `%XX`-decoded text: the ids a broken escaper would confuse.
        let escaped_text = |s: &str| String::from_utf8(spec_escape(s.as_bytes())).unwrap();
        let decoded_text = |s: &str| {
            String::from_utf8(lenient_unescape(s.as_bytes())).unwrap_or_else(|_| s.to_owned())
        };
        let ids = ids
            .iter()
            .flat_map(|id| [id.clone(), id.map_strings(escaped_text), id.map_strings(decoded_text)]);
        let mut seen: HashMap<Vec<u8>, AnyId> = HashMap::new();
        for id in ids {
            let Ok(key) = id.render(ns) else { continue };
            if let Some(prev) = seen.insert(key.clone(), id.clone()) {
                prop_assert_eq!(prev, id, "same key {}", show(&key));
            }
        }
    }

    /// Adjacent placeholders cannot trade a separator: `(p:q, r)` and `(p, q:r)`
    /// render different keys, for both two-placeholder shapes.
    #[test]
    fn adjacent_parts_cannot_trade_a_separator(
        p in adversarial(), q in short_adversarial(), r in adversarial(), ns in namespace(),
    ) {
        let left = (format!("{p}:{q}"), r.clone());
        let right = (p, format!("{q}:{r}"));
        let pairs = [
            (AnyId::Doc(DocId { a: left.0.clone(), b: left.1.clone() }),
             AnyId::Doc(DocId { a: right.0.clone(), b: right.1.clone() })),
            (AnyId::TenantUser(TenantUserId { tenant: left.0.clone(), id: left.1.clone() }),
             AnyId::TenantUser(TenantUserId { tenant: right.0.clone(), id: right.1.clone() })),
            (AnyId::PlainTenantUser(PlainTenantUserId { tenant: left.0, id: left.1 }),
             AnyId::PlainTenantUser(PlainTenantUserId { tenant: right.0, id: right.1 })),
        ];
        for (x, y) in pairs {
            prop_assert_ne!(&x, &y);
            if let (Ok(kx), Ok(ky)) = (x.render(ns), y.render(ns)) {
                prop_assert_ne!(kx, ky);
            }
        }
    }

    /// Namespaces: every key starts with its namespace; under any other
    /// namespace the same template never accepts it; and when neither namespace
    /// is a prefix of the other, no template accepts it. (Nested namespaces,
    /// e.g. `app:` and `app:doc:`, do share keys across templates: `app:doc:` +
    /// `user:{id}` is `app:` + `doc:{a}:{b}`. That is inherent to prefixes.)
    #[test]
    fn namespaces_are_disjoint(id in any_id(), (ns, other) in two_namespaces()) {
        prop_assert_ne!(ns, other);
        let rendered = id.render(ns);
        prop_assume!(rendered.is_ok(), "the renderer refuses this id");
        let key = rendered.unwrap();
        prop_assert!(key.starts_with(ns.as_bytes()));
        prop_assert_eq!(id.kind().template().split(other, &key), None);
        prop_assert!(id.kind().parse(other, &key).is_none());
        if !ns.starts_with(other) && !other.starts_with(ns) {
            for kind in KINDS {
                prop_assert_eq!(kind.template().split(other, &key), None);
            }
        }
    }

    /// `scan_pattern(ns)` matches every key of its template. The pattern of T
    /// matches a key of another template T' only when T' has more segments (a
    /// glob `*` spans `:`) or the same shape with the hash-tag braces (a `?*`
    /// can match `{…}`): here only `user:?*` ⊇ Profile keys and
    /// `tenant:?*:user:?*` ⊇ TenantUser keys. That over-match is why scans
    /// post-filter every returned key with `split` (checked in
    /// `keys_split_only_under_their_own_template` and on a server below).
    #[test]
    fn scan_patterns_match_their_keys_and_only_wider_templates(
        id in any_id(), ns in namespace(),
    ) {
        let rendered = id.render(ns);
        prop_assume!(rendered.is_ok(), "the renderer refuses this id");
        let key = rendered.unwrap();
        for kind in KINDS {
            let pattern = kind.template().scan_pattern(ns);
            let matched = glob_match(pattern.as_bytes(), &key);
            if kind == id.kind() {
                prop_assert!(matched, "{} !~ {}", pattern, show(&key));
            } else if matched {
                let wider = id.kind().segments() > kind.segments();
                prop_assert!(
                    wider || same_shape(kind, id.kind()),
                    "{} ~ {}", pattern, show(&key)
                );
                prop_assert!(matches!(
                    (kind, id.kind()),
                    (Kind::User, Kind::Profile) | (Kind::PlainTenantUser, Kind::TenantUser)
                ));
            }
        }
    }

    /// A tenant-scoped prefix pattern built from the escaped tenant matches the
    /// keys of that tenant only, whatever either tenant string contains: the
    /// escaped part has no glob character to widen the pattern (glob-escaping
    /// it is a no-op) and no `}`/`:` that a longer tenant could continue with.
    #[test]
    fn escaped_tenant_patterns_match_only_that_tenant(
        t1 in adversarial(),
        t2 in prop_oneof![
            Just(Other::Same),
            adversarial().prop_map(Other::Any),
            Just(Other::Affixed),
            Just(Other::EscapedText),
            Just(Other::DecodedText),
        ],
        affix in select(AFFIXES),
        prefix in any::<bool>(),
        id in short_adversarial(),
        order in any::<u64>(),
        ns in namespace(),
    ) {
        let t2 = match t2 {
            Other::Same => t1.clone(),
            Other::Any(s) => s,
            Other::Affixed if prefix => format!("{affix}{t1}"),
            Other::Affixed => format!("{t1}{affix}"),
            // The text of t1's escaped form, and t1 with `%XX` decoded: what a
            // broken escaper would confuse with t1.
            Other::EscapedText => String::from_utf8(spec_escape(t1.as_bytes())).unwrap(),
            Other::DecodedText => String::from_utf8(lenient_unescape(t1.as_bytes()))
                .unwrap_or_else(|_| t1.clone()),
        };
        let escaped = escaped_str(&t1);
        let globbed = spec_glob_escape(&escaped);
        prop_assert_eq!(&globbed, &escaped);
        let base = spec_glob_escape(ns);
        let tagged_user = format!("{base}tenant:{{{escaped}}}:user:?*");
        let plain_user = format!("{base}tenant:{escaped}:user:?*");
        let tagged_order = format!("{base}tenant:{{{escaped}}}:order:?*");
        let keys = [
            (&tagged_user, AnyId::TenantUser(TenantUserId { tenant: t2.clone(), id: id.clone() })),
            (&plain_user, AnyId::PlainTenantUser(PlainTenantUserId { tenant: t2.clone(), id })),
            (&tagged_order, AnyId::Order(OrderId { tenant: t2.clone(), id: order })),
        ];
        for (own_pattern, key_id) in &keys {
            let Ok(key) = key_id.render(ns) else { continue };
            for pattern in [&tagged_user, &plain_user, &tagged_order] {
                let want = pattern == *own_pattern && t1 == t2;
                prop_assert_eq!(
                    glob_match(pattern.as_bytes(), &key), want,
                    "{} ~ {}", pattern, show(&key)
                );
            }
        }
    }

    /// Hash tags: every TenantUser and Order key of one tenant hashes to the slot
    /// of the (escaped) tenant alone, whatever the ids and the namespace.
    #[test]
    fn hash_tagged_families_share_the_tag_slot(
        tenant in adversarial(),
        ids in vec(adversarial(), 1..6),
        orders in vec(any::<u64>(), 1..6),
        ns in namespace(),
    ) {
        let tag_slot = hash_slot(escaped_str(&tenant).as_bytes());
        let family = ids
            .into_iter()
            .map(|id| AnyId::TenantUser(TenantUserId { tenant: tenant.clone(), id }))
            .chain(orders.into_iter().map(|id| AnyId::Order(OrderId { tenant: tenant.clone(), id })));
        for id in family {
            let Ok(key) = id.render(ns) else { continue };
            prop_assert_eq!(hash_slot(&key), tag_slot, "{}", show(&key));
        }
    }
}

// ---------------------------------------------------------------------------
// Against real servers.
// ---------------------------------------------------------------------------

/// Keys around the `user:{id}` family (and the others) that must never be
/// mistaken for them; some of them are valid keys on purpose (`user:1x`,
/// `user:%3A`, a 1024-byte part), and one has a valid shape but is not UTF-8.
fn neighbour_keys() -> Vec<Vec<u8>> {
    let fixed: &[&[u8]] = &[
        b"user[ab]:x",
        b"usera:1",
        b"usera",
        b"user",
        b"user:",
        b"user::",
        b"user:1:x",
        b"user:1:",
        b":user:1",
        b"User:1",
        b"user:1x",
        b"xuser:1",
        b"user:a b",
        b"user:a*",
        b"user:a?",
        b"user:[ab]",
        b"user:{a}",
        b"user:%",
        b"user:%4",
        b"user:%41",
        b"user:%3a",
        b"user:%3A",
        b"user:%GG",
        b"user:a\\b",
        b"user:a\r\n",
        b"user:\0",
        b"user:\xff",
        b"user:1:profile",
        b"user:1:profile:x",
        b"user::profile",
        b"user:%3A:profile",
        b"user:a:b:profile",
        b"tenant:{t}:user:{1}",
        b"tenant:t:user:{1}",
        b"tenant:{t}:user:",
        b"tenant:{}:user:1",
        b"tenant:{t:user:1",
        b"tenant:t}:user:1",
        b"tenant:{t}x:user:1",
        b"tenant:{{t}}:user:1",
        b"tenant:{%7B}:user:1",
        b"tenant:{t}:user:\xc3",
        b"tenant:{t}:order:01",
        b"tenant:{t}:order:-1",
        b"tenant:{t}:order:+1",
        b"tenant:{t}:order:18446744073709551616",
        b"tenant:{t}:order:7",
        b"tenant:t:order:7",
        b"tenant:t:user:1",
        b"tenant:%7Bt%7D:user:1",
        b"doc:a:b:c",
        b"doc:a",
        b"doc::b",
        b"doc:a:b",
        b"doc:a\xff:b",
    ];
    let mut out: Vec<Vec<u8>> = Vec::new();
    for ns in ["", "app:test:", "app:tests:", "app:"] {
        for k in fixed {
            out.push([ns.as_bytes(), k].concat());
        }
    }
    out.push([b"user:".as_slice(), &[b'a'; 1024]].concat());
    out.push([b"user:".as_slice(), &[b'a'; 1025]].concat());
    out.push([b"app:test:user:".as_slice(), &[b'a'; 1025]].concat());
    out
}

/// Per case: an empty database gets models saved through two stores (no
/// namespace and `app:test:`), some of them with invalid ids, plus raw `SET`
/// neighbours (including keys derived from the saved ones). Then, for every
/// model and both stores, `scan_ids` yields exactly the ids the oracle finds
/// among all keys in the database (set equality, never a neighbour or another
/// model's key), a decode error exactly for each shape-valid but undecodable
/// key, and `count` equals the number of ids. Saves with invalid ids fail with
/// `Error::InvalidKeyPart` and send no write command at all.
#[test]
fn scan_ids_and_count_return_exactly_the_stored_ids() {
    let server = RedisServer::start().expect("start redis-server");
    let rt = runtime();
    let (store, ns_store, raw) = rt.block_on(async {
        let store = server.store().await.expect("store");
        let config = server
            .config_builder()
            .namespace("app:test")
            .build()
            .expect("config");
        let ns_store = Store::connect(&config).await.expect("namespaced store");
        let raw = server.raw_connection().await.expect("raw connection");
        (store, ns_store, raw)
    });
    assert_eq!(store.namespace(), "");
    assert_eq!(ns_store.namespace(), "app:test:");
    let stores = [(&store, ""), (&ns_store, "app:test:")];

    let ids = || vec(any_id_from(short_adversarial().boxed()), 0..16);
    let long = vec(adversarial().prop_map(AnyId::User), 0..3);
    let mut runner = TestRunner::new(prop_config(64));
    let result = runner.run(&(ids(), ids(), long), |(plain_ids, ns_ids, long_ids)| {
        rt.block_on(async {
            let mut raw = raw.clone();
            let _: () = raw!(&mut raw, "FLUSHDB");
            let before = command_calls(&mut raw).await;

            let mut written: HashSet<Vec<u8>> = HashSet::new();
            let mut valid_saves = 0u64;
            let saves = plain_ids
                .iter()
                .chain(&long_ids)
                .map(|id| (id, 0))
                .chain(ns_ids.iter().map(|id| (id, 1)));
            for (id, which) in saves {
                let (store, ns) = stores[which];
                let want = id.spec_key(ns);
                match (&want, id.store_key(store)) {
                    (Ok(want), Ok(got)) => prop_assert_eq!(want, &got),
                    (Err(want), Err(Error::InvalidKeyPart { field, reason, .. })) => {
                        prop_assert_eq!((field, &reason), (want.field, &want.reason));
                    }
                    (want, got) => {
                        return Err(TestCaseError::fail(format!(
                            "{id:?}: expected {want:?}, Store::key returned {got:?}"
                        )));
                    }
                }
                match (want, id.save(store).await) {
                    (Ok(key), Ok(())) => {
                        written.insert(key);
                        valid_saves += 1;
                    }
                    (Err(want), Err(Error::InvalidKeyPart { field, reason, .. })) => {
                        prop_assert_eq!((field, reason), (want.field, want.reason));
                    }
                    (want, got) => {
                        return Err(TestCaseError::fail(format!(
                            "{id:?}: expected {want:?}, save returned {got:?}"
                        )));
                    }
                }
            }
            // Nothing but the valid saves reached the server.
            let after = command_calls(&mut raw).await;
            for cmd in ["multi", "exec", "del", "hset"] {
                let delta =
                    after.get(cmd).copied().unwrap_or(0) - before.get(cmd).copied().unwrap_or(0);
                prop_assert_eq!(delta, valid_saves, "{} calls", cmd);
            }
            for cmd in ["set", "mset", "setex", "psetex", "pexpire", "expire"] {
                prop_assert_eq!(after.get(cmd), before.get(cmd), "{} calls", cmd);
            }

            // Raw neighbours, some derived from the saved keys.
            let mut neighbours = neighbour_keys();
            for key in written.clone() {
                neighbours.push([key.as_slice(), b":x"].concat());
                neighbours.push([b"x".as_slice(), &key].concat());
                neighbours.push([key.as_slice(), b"*"].concat());
                neighbours.push(key[..key.len() - 1].to_vec());
            }
            let mut mset = redis::cmd("MSET");
            for key in &neighbours {
                mset.arg(key).arg("v");
            }
            let _: () = mset.query_async(&mut raw).await.unwrap();
            written.extend(neighbours);
            let dbsize: usize = raw!(&mut raw, "DBSIZE");
            prop_assert_eq!(dbsize, written.len());

            for (store, ns) in stores {
                for kind in KINDS {
                    let mut want_ids = HashSet::new();
                    let mut want_errors = 0;
                    for key in &written {
                        if let Some(parts) = spec_split(kind.template(), ns, key) {
                            match kind.spec_decode(parts) {
                                Some(id) => {
                                    want_ids.insert(id);
                                }
                                None => want_errors += 1,
                            }
                        }
                    }
                    let (got_ids, errors) = kind.scan(store).await;
                    let got_set: HashSet<AnyId> = got_ids.iter().cloned().collect();
                    prop_assert_eq!(&got_set, &want_ids, "{:?} under {:?}", kind, ns);
                    prop_assert!(
                        errors.iter().all(|e| matches!(e, Error::Decode(_))),
                        "{:?}",
                        errors
                    );
                    prop_assert_eq!(errors.len(), want_errors, "{:?} under {:?}", kind, ns);
                    prop_assert_eq!(kind.count(store).await, want_ids.len() as u64);
                }
            }
            Ok(())
        })
    });
    if let Err(err) = result {
        panic!("{err}");
    }
}

/// The glob port agrees with the server: a few hundred keys (glob
/// metacharacters, braces, `%`, bytes ≥ 0x80, the empty key, rendered keys)
/// are stored, and for each pattern (random ones over the same alphabet, the
/// templates' scan patterns, quirky fixed ones) `SCAN MATCH` returns exactly
/// the keys the port matches.
#[test]
fn server_glob_agrees_with_the_port() {
    let server = RedisServer::start().expect("start redis-server");
    let rt = runtime();
    let mut raw = rt
        .block_on(server.raw_connection())
        .expect("raw connection");

    let alphabet: Vec<u8> = b"ab:{}*?[]\\^-%u".to_vec();
    let mut sampler = TestRunner::new(prop_config(1));
    let mut draw = |strategy: BoxedStrategy<Vec<u8>>| {
        strategy.new_tree(&mut sampler).expect("sample").current()
    };
    let mut keys: HashSet<Vec<u8>> = HashSet::new();
    for _ in 0..200 {
        keys.insert(draw(vec(select(alphabet.clone()), 0..7).boxed()));
    }
    let short_id = any_id_from(short_adversarial().boxed()).boxed();
    for i in 0..120 {
        let ns = NAMESPACES[i % NAMESPACES.len()];
        // The raw parts of an id are interesting keys too.
        keys.insert(draw(
            short_id
                .clone()
                .prop_map(|id| id.raw_parts().concat())
                .boxed(),
        ));
        let rendered = short_id
            .clone()
            .prop_map(move |id| id.render(ns).unwrap_or_default())
            .boxed();
        keys.insert(draw(rendered));
    }
    for k in [
        &b""[..],
        b"\x80",
        b"\xff",
        b"\x01",
        b"a\xc3\xa9",
        b"[",
        b"]",
        b"\\",
        b"^",
        b"-",
        b"user:1",
        b"user:1:profile",
        b"tenant:{t}:user:1",
    ] {
        keys.insert(k.to_vec());
    }
    let keys: Vec<Vec<u8>> = keys.into_iter().collect();

    rt.block_on(async {
        let mut mset = redis::cmd("MSET");
        for key in &keys {
            mset.arg(key).arg("v");
        }
        let _: () = mset.query_async(&mut raw).await.unwrap();
    });

    let scan_all = |pattern: Vec<u8>| {
        let mut raw = raw.clone();
        rt.block_on(async move {
            let mut cursor = 0u64;
            let mut found = HashSet::new();
            loop {
                let (next, page): (u64, Vec<Vec<u8>>) =
                    raw!(&mut raw, "SCAN", cursor, "MATCH", &pattern, "COUNT", 1000);
                found.extend(page);
                cursor = next;
                if cursor == 0 {
                    return found;
                }
            }
        })
    };
    let check = |pattern: &[u8]| -> Result<(), TestCaseError> {
        let server_set = scan_all(pattern.to_vec());
        let port_set: HashSet<Vec<u8>> = keys
            .iter()
            .filter(|k| scan_match(pattern, k))
            .cloned()
            .collect();
        prop_assert_eq!(server_set, port_set, "pattern {}", show(pattern));
        Ok(())
    };

    let mut fixed: Vec<Vec<u8>> = [
        &b""[..],
        b"*",
        b"**",
        b"?",
        b"?*",
        b"[",
        b"[^",
        b"[]",
        b"[]]",
        b"[^]]",
        b"[a-]",
        b"[-a]",
        b"[z-a]",
        b"[\\]]",
        b"[\\",
        b"\\",
        b"a\\",
        b"*\\*",
        b"*[",
        b"[*",
        b"[\x01-\xff]",
        b"[\x7f-\x80]",
        b"[^\x01-\x7f]",
        b"*a*b*",
        b"user:[^:]*",
        b"*:*",
    ]
    .iter()
    .map(|p| p.to_vec())
    .collect();
    for ns in NAMESPACES {
        for kind in KINDS {
            fixed.push(kind.template().scan_pattern(ns).into_bytes());
        }
    }
    for p in &fixed {
        if let Err(err) = check(p) {
            panic!("{err}");
        }
    }

    let mut pattern_alphabet = alphabet;
    pattern_alphabet.extend_from_slice(b"***??");
    let mut runner = TestRunner::new(prop_config(500));
    let result = runner.run(&vec(select(pattern_alphabet), 0..8), |p| check(&p));
    if let Err(err) = result {
        panic!("{err}");
    }
}

/// `hash_slot` equals `CLUSTER KEYSLOT` of a cluster-mode server for rendered
/// keys of every model (adversarial ids, several namespaces), for raw byte
/// strings with stray braces, and the server puts every key of a tenant's
/// hash-tagged family in the slot of the tag alone.
#[test]
fn hash_slot_matches_cluster_keyslot() {
    let server = RedisServer::builder()
        .tcp()
        .cluster_enabled(true)
        .start()
        .expect("start redis-server in cluster mode");
    let rt = runtime();
    let raw = rt
        .block_on(server.raw_connection())
        .expect("raw connection");

    let raw_bytes = vec(select(b"{}ab:\xff\x00".to_vec()), 0..10);
    let strategy = (
        vec((any_id(), namespace()), 60),
        vec(raw_bytes, 10),
        adversarial(),
        vec(any::<u64>(), 4),
    );
    let mut runner = TestRunner::new(prop_config(6));
    let result = runner.run(&strategy, |(ids, raws, tenant, orders)| {
        let mut keys: Vec<Vec<u8>> = ids
            .iter()
            .filter_map(|(id, ns)| id.render(ns).ok())
            .chain(raws)
            .collect();
        let family: Vec<Vec<u8>> = orders
            .iter()
            .map(|&id| {
                AnyId::Order(OrderId {
                    tenant: tenant.clone(),
                    id,
                })
            })
            .chain(orders.iter().map(|id| {
                AnyId::TenantUser(TenantUserId {
                    tenant: tenant.clone(),
                    id: id.to_string(),
                })
            }))
            .filter_map(|id| id.render("app:test:").ok())
            .collect();
        let tag = escaped_str(&tenant).into_bytes();
        keys.extend(family.iter().cloned());
        keys.push(tag.clone());

        let mut pipe = redis::pipe();
        for key in &keys {
            pipe.cmd("CLUSTER").arg("KEYSLOT").arg(key);
        }
        let slots: Vec<u16> = rt
            .block_on(pipe.query_async(&mut raw.clone()))
            .expect("CLUSTER KEYSLOT");
        prop_assert_eq!(slots.len(), keys.len());
        let server_slot: HashMap<&[u8], u16> = keys
            .iter()
            .map(Vec::as_slice)
            .zip(slots.iter().copied())
            .collect();
        for (key, slot) in keys.iter().zip(&slots) {
            prop_assert_eq!(hash_slot(key), *slot, "{}", show(key));
        }
        for key in &family {
            prop_assert_eq!(server_slot[key.as_slice()], server_slot[tag.as_slice()]);
        }
        Ok(())
    });
    if let Err(err) = result {
        panic!("{err}");
    }
}
