//! A stored value nested deeper than the decoding limit is a decode error, never
//! a stack overflow, in debug builds too, for every codec: JSON models,
//! MessagePack models and `#[redis(json)]` hash fields.
//!
//! Every read runs on a thread with a 2 MiB stack (the default of
//! `std::thread::spawn` and of tokio's worker threads) and its own
//! current-thread runtime, so that the whole `Store::get` path, not only the
//! decoder, is on the small stack. The deep values are written with raw
//! commands, as another program would. A "depth" here is the number of nested
//! containers (arrays, objects or maps, including a serde enum's one-entry
//! wrapper) on the deepest path of the stored document, the model's own object
//! counting as one; for a `#[redis(json)]` field the document is the field's
//! value.
//!
//! `probe` (ignored) measures: `NESTING_PROBE="<shape> <depth> <stack KiB>"
//! cargo test -p tests --test nesting -- --ignored --exact probe` reads one
//! value of that shape and depth on a thread with that stack, and aborts the
//! process when the stack overflows.

use redis_runtime::testing::RedisServer;
use redis_runtime::{Config, DecodeError, DecodeErrorKind, Error, RedisModel, Store};
use serde::{Deserialize, Serialize};

/// The documented limit (the README and `redis_runtime::model`'s codec docs): the deepest
/// nesting that decodes.
const LIMIT: usize = 64;
/// A value about as deep as 10 KB of nesting gets.
const DEEP: usize = 5000;
/// The stack of `std::thread::spawn`'s threads and of tokio's workers.
const SMALL_STACK: usize = 2 * 1024 * 1024;

// ---------------------------------------------------------------------------
// Models: each stores one nested value of a recursive shape.
// ---------------------------------------------------------------------------

/// A recursive enum through a `Box`: `{"Node":{"Node":{"Leaf":0}}}`.
#[derive(Debug, Serialize, Deserialize)]
enum Tree {
    Leaf(u8),
    Node(Box<Tree>),
}

/// A recursive enum through a `Vec`: `{"Node":[{"Node":[{"Leaf":0}]}]}`.
#[derive(Debug, Serialize, Deserialize)]
enum Forest {
    Leaf(u8),
    Node(Vec<Forest>),
}

/// An untagged recursive enum, buffered by serde before it picks a variant:
/// `[[[0]]]`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
enum Untagged {
    Leaf(u8),
    Node(Vec<Untagged>),
}

/// A struct with many fields, recursing through a `Vec`: serde's generated
/// code keeps every field in one stack frame per level.
/// `{"kids":[{"kids":[{}]}]}`.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Wide {
    a: Option<String>,
    b: Option<String>,
    c: Option<String>,
    d: Option<String>,
    e: Option<String>,
    f: Option<String>,
    g: Option<String>,
    h: Option<String>,
    i: Option<String>,
    j: Option<String>,
    k: Option<String>,
    l: Option<String>,
    m: Option<String>,
    n: Option<String>,
    o: Option<String>,
    p: Option<String>,
    #[serde(default)]
    kids: Vec<Wide>,
}

macro_rules! doc_model {
    ($name:ident, $key:literal, $encoding:literal, $doc:ty) => {
        #[derive(Debug, RedisModel, Serialize, Deserialize)]
        #[redis(key = $key, encoding = $encoding)]
        struct $name {
            id: u64,
            doc: $doc,
        }
    };
}

doc_model!(JsonValue, "json:value:{id}", "json", serde_json::Value);
doc_model!(JsonTree, "json:tree:{id}", "json", Tree);
doc_model!(JsonForest, "json:forest:{id}", "json", Forest);
doc_model!(JsonUntagged, "json:untagged:{id}", "json", Untagged);
doc_model!(JsonWide, "json:wide:{id}", "json", Wide);
doc_model!(MpValue, "mp:value:{id}", "msgpack", serde_json::Value);
doc_model!(MpTree, "mp:tree:{id}", "msgpack", Tree);
doc_model!(MpForest, "mp:forest:{id}", "msgpack", Forest);
doc_model!(MpUntagged, "mp:untagged:{id}", "msgpack", Untagged);
doc_model!(MpWide, "mp:wide:{id}", "msgpack", Wide);

/// A flat model: the nested value is in a field it does not declare, which
/// serde skips (`IgnoredAny`).
#[derive(Debug, RedisModel, Serialize, Deserialize)]
#[redis(key = "json:plain:{id}", encoding = "json")]
struct JsonPlain {
    id: u64,
    name: String,
}

/// As [`JsonPlain`], in MessagePack.
#[derive(Debug, RedisModel, Serialize, Deserialize)]
#[redis(key = "mp:plain:{id}", encoding = "msgpack")]
struct MpPlain {
    id: u64,
    name: String,
}

/// A hash model with a `#[redis(json)]` field holding any JSON.
#[derive(Debug, RedisModel)]
#[redis(key = "hash:value:{id}")]
struct FieldValue {
    id: u64,
    #[redis(json)]
    doc: serde_json::Value,
}

/// A hash model with a `#[redis(json)]` field holding a recursive enum.
#[derive(Debug, RedisModel)]
#[redis(key = "hash:tree:{id}")]
struct FieldTree {
    id: u64,
    #[redis(json)]
    doc: Tree,
}

// ---------------------------------------------------------------------------
// Documents.
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq)]
enum Codec {
    Json,
    Msgpack,
}

/// One level of nesting: a one-element array or a one-entry map.
#[derive(Debug, Clone, Copy)]
enum Open {
    Array,
    Entry(&'static str),
}

/// The innermost value.
#[derive(Debug, Clone, Copy)]
enum Leaf {
    Zero,
    EmptyArray,
    EmptyMap,
}

fn msgpack_str(out: &mut Vec<u8>, s: &str) {
    assert!(s.len() < 32);
    out.push(0xa0 | s.len() as u8);
    out.extend_from_slice(s.as_bytes());
}

/// `opens` nested around `leaf`.
fn nested(codec: Codec, opens: &[Open], leaf: Leaf) -> Vec<u8> {
    let mut out = Vec::new();
    for open in opens {
        match (codec, open) {
            (Codec::Json, Open::Array) => out.push(b'['),
            (Codec::Json, Open::Entry(key)) => {
                out.extend_from_slice(format!("{{\"{key}\":").as_bytes())
            }
            (Codec::Msgpack, Open::Array) => out.push(0x91),
            (Codec::Msgpack, Open::Entry(key)) => {
                out.push(0x81);
                msgpack_str(&mut out, key);
            }
        }
    }
    match (codec, leaf) {
        (Codec::Json, Leaf::Zero) => out.push(b'0'),
        (Codec::Json, Leaf::EmptyArray) => out.extend_from_slice(b"[]"),
        (Codec::Json, Leaf::EmptyMap) => out.extend_from_slice(b"{}"),
        (Codec::Msgpack, Leaf::Zero) => out.push(0x00),
        (Codec::Msgpack, Leaf::EmptyArray) => out.push(0x90),
        (Codec::Msgpack, Leaf::EmptyMap) => out.push(0x80),
    }
    if codec == Codec::Json {
        for open in opens.iter().rev() {
            out.push(match open {
                Open::Array => b']',
                Open::Entry(_) => b'}',
            });
        }
    }
    out
}

/// A model's object: `fields` in order, the values already encoded.
fn object(codec: Codec, fields: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    match codec {
        Codec::Json => {
            out.push(b'{');
            for (i, (name, value)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(format!("\"{name}\":").as_bytes());
                out.extend_from_slice(value);
            }
            out.push(b'}');
        }
        Codec::Msgpack => {
            out.push(0x80 | fields.len() as u8);
            for (name, value) in fields {
                msgpack_str(&mut out, name);
                out.extend_from_slice(value);
            }
        }
    }
    out
}

/// What nests: the containers of a value `depth` deep.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Nesting {
    /// `[[[0]]]`
    Arrays,
    /// `{"a":{"a":0}}`
    Maps,
    /// [`Tree`]
    Tree,
    /// [`Forest`]
    Forest,
    /// [`Wide`]
    Wide,
}

impl Nesting {
    /// A value of exactly `depth` (at least 1) nested containers.
    fn value(self, codec: Codec, depth: usize) -> Vec<u8> {
        assert!(depth >= 1);
        let (opens, leaf) = match self {
            Nesting::Arrays => (vec![Open::Array; depth], Leaf::Zero),
            Nesting::Maps => (vec![Open::Entry("a"); depth], Leaf::Zero),
            Nesting::Tree => {
                let mut opens = vec![Open::Entry("Node"); depth - 1];
                opens.push(Open::Entry("Leaf"));
                (opens, Leaf::Zero)
            }
            // {"Node":[ ... {"Leaf":0} ]} or {"Node":[ ... {"Node":[]} ]}
            Nesting::Forest => {
                let mut opens = Vec::with_capacity(depth);
                for _ in 0..(depth - 1) / 2 {
                    opens.extend([Open::Entry("Node"), Open::Array]);
                }
                if depth % 2 == 1 {
                    opens.push(Open::Entry("Leaf"));
                    (opens, Leaf::Zero)
                } else {
                    opens.push(Open::Entry("Node"));
                    (opens, Leaf::EmptyArray)
                }
            }
            // {"kids":[ ... {} ]} or {"kids":[ ... {"kids":[]} ]}
            Nesting::Wide => {
                let mut opens = Vec::with_capacity(depth);
                for _ in 0..(depth - 1) / 2 {
                    opens.extend([Open::Entry("kids"), Open::Array]);
                }
                if depth % 2 == 1 {
                    (opens, Leaf::EmptyMap)
                } else {
                    opens.push(Open::Entry("kids"));
                    (opens, Leaf::EmptyArray)
                }
            }
        };
        nested(codec, &opens, leaf)
    }
}

// ---------------------------------------------------------------------------
// Shapes: a model and the way its stored document nests.
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq)]
enum Shape {
    JsonValueArrays,
    JsonValueMaps,
    JsonTree,
    JsonForest,
    JsonUntagged,
    JsonWide,
    JsonIgnored,
    MpValueArrays,
    MpValueMaps,
    MpTree,
    MpForest,
    MpUntagged,
    MpWide,
    MpIgnored,
    FieldValueArrays,
    FieldValueMaps,
    FieldTree,
}

const JSON_SHAPES: [Shape; 7] = [
    Shape::JsonValueArrays,
    Shape::JsonValueMaps,
    Shape::JsonTree,
    Shape::JsonForest,
    Shape::JsonUntagged,
    Shape::JsonWide,
    Shape::JsonIgnored,
];

const MSGPACK_SHAPES: [Shape; 7] = [
    Shape::MpValueArrays,
    Shape::MpValueMaps,
    Shape::MpTree,
    Shape::MpForest,
    Shape::MpUntagged,
    Shape::MpWide,
    Shape::MpIgnored,
];

const FIELD_SHAPES: [Shape; 3] = [
    Shape::FieldValueArrays,
    Shape::FieldValueMaps,
    Shape::FieldTree,
];

impl Shape {
    fn codec(self) -> Codec {
        use Shape::*;
        match self {
            MpValueArrays | MpValueMaps | MpTree | MpForest | MpUntagged | MpWide | MpIgnored => {
                Codec::Msgpack
            }
            _ => Codec::Json,
        }
    }

    fn nesting(self) -> Nesting {
        use Shape::*;
        match self {
            JsonValueArrays | JsonUntagged | JsonIgnored | MpValueArrays | MpUntagged
            | MpIgnored | FieldValueArrays => Nesting::Arrays,
            JsonValueMaps | MpValueMaps | FieldValueMaps => Nesting::Maps,
            JsonTree | MpTree | FieldTree => Nesting::Tree,
            JsonForest | MpForest => Nesting::Forest,
            JsonWide | MpWide => Nesting::Wide,
        }
    }

    fn is_field(self) -> bool {
        FIELD_SHAPES.contains(&self)
    }

    /// The stored bytes: the model's document, or the `#[redis(json)]` field's value.
    fn document(self, id: u64, depth: usize) -> Vec<u8> {
        let codec = self.codec();
        if self.is_field() {
            return self.nesting().value(codec, depth);
        }
        // The model's own object is the first level; its `id` is the key's.
        let value = self.nesting().value(codec, depth - 1);
        let small = u8::try_from(id).ok().filter(|id| *id < 0x80);
        let small = small.expect("seeded ids are positive fixints");
        let (id, x) = match codec {
            Codec::Json => (id.to_string().into_bytes(), &b"\"x\""[..]),
            Codec::Msgpack => (vec![small], &[0xa1, b'x'][..]),
        };
        if matches!(self, Shape::JsonIgnored | Shape::MpIgnored) {
            object(codec, &[("id", &id), ("name", x), ("extra", &value)])
        } else {
            object(codec, &[("id", &id), ("doc", &value)])
        }
    }

    /// Writes the document of `depth` for entity `id` with raw commands.
    async fn seed(self, server: &RedisServer, id: u64, depth: usize) {
        let store = server.store().await.unwrap();
        let mut raw = server.raw_connection().await.unwrap();
        let document = self.document(id, depth);
        if self.is_field() {
            let key = if self == Shape::FieldTree {
                store.key::<FieldTree>(&id).unwrap()
            } else {
                store.key::<FieldValue>(&id).unwrap()
            };
            // The key part first, as a save writes it; then the deep field.
            let _: () = redis::cmd("HSET")
                .arg(&key)
                .arg("id")
                .arg(id)
                .arg("doc")
                .arg(&document)
                .query_async(&mut raw)
                .await
                .unwrap();
        } else {
            let key = match self {
                Shape::JsonValueArrays | Shape::JsonValueMaps => store.key::<JsonValue>(&id),
                Shape::JsonTree => store.key::<JsonTree>(&id),
                Shape::JsonForest => store.key::<JsonForest>(&id),
                Shape::JsonUntagged => store.key::<JsonUntagged>(&id),
                Shape::JsonWide => store.key::<JsonWide>(&id),
                Shape::JsonIgnored => store.key::<JsonPlain>(&id),
                Shape::MpValueArrays | Shape::MpValueMaps => store.key::<MpValue>(&id),
                Shape::MpTree => store.key::<MpTree>(&id),
                Shape::MpForest => store.key::<MpForest>(&id),
                Shape::MpUntagged => store.key::<MpUntagged>(&id),
                Shape::MpWide => store.key::<MpWide>(&id),
                Shape::MpIgnored => store.key::<MpPlain>(&id),
                _ => unreachable!(),
            }
            .unwrap();
            let _: () = redis::cmd("SET")
                .arg(&key)
                .arg(&document)
                .query_async(&mut raw)
                .await
                .unwrap();
        }
    }

    /// Reads entity `id` as this shape's model: `Ok` when it decodes.
    async fn get(self, store: &Store, id: u64) -> Result<(), Error> {
        async fn one<M: RedisModel<Id = u64>>(store: &Store, id: u64) -> Result<(), Error> {
            match store.get::<M>(&id).await? {
                Some(_) => Ok(()),
                None => panic!("{} {id} is missing", M::META.name),
            }
        }
        match self {
            Shape::JsonValueArrays | Shape::JsonValueMaps => one::<JsonValue>(store, id).await,
            Shape::JsonTree => one::<JsonTree>(store, id).await,
            Shape::JsonForest => one::<JsonForest>(store, id).await,
            Shape::JsonUntagged => one::<JsonUntagged>(store, id).await,
            Shape::JsonWide => one::<JsonWide>(store, id).await,
            Shape::JsonIgnored => one::<JsonPlain>(store, id).await,
            Shape::MpValueArrays | Shape::MpValueMaps => one::<MpValue>(store, id).await,
            Shape::MpTree => one::<MpTree>(store, id).await,
            Shape::MpForest => one::<MpForest>(store, id).await,
            Shape::MpUntagged => one::<MpUntagged>(store, id).await,
            Shape::MpWide => one::<MpWide>(store, id).await,
            Shape::MpIgnored => one::<MpPlain>(store, id).await,
            Shape::FieldValueArrays | Shape::FieldValueMaps => one::<FieldValue>(store, id).await,
            Shape::FieldTree => one::<FieldTree>(store, id).await,
        }
    }

    /// Reads entity `id` on a new thread with a `stack`-byte stack and its own
    /// current-thread runtime.
    fn get_on_stack(self, config: &Config, id: u64, stack: usize) -> Result<(), Error> {
        let config = config.clone();
        std::thread::Builder::new()
            .name(format!("{self:?}"))
            .stack_size(stack)
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async {
                    let store = Store::connect(&config).await.unwrap();
                    self.get(&store, id).await
                })
            })
            .unwrap()
            .join()
            .unwrap()
    }
}

// ---------------------------------------------------------------------------
// Tests.
// ---------------------------------------------------------------------------

/// Seeds every shape at `DEEP`, `LIMIT + 1` and `LIMIT` levels and reads each
/// on a 2 MiB stack: the first two are decode errors of the codec's kind naming
/// the limit, the last decodes.
fn check(shapes: &[Shape]) {
    let server = RedisServer::start().unwrap();
    let config = server.config().unwrap();
    let seeding = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for &shape in shapes {
        for (id, depth) in [(1, DEEP), (2, LIMIT + 1), (3, LIMIT)] {
            seeding.block_on(shape.seed(&server, id, depth));
            let result = shape.get_on_stack(&config, id, SMALL_STACK);
            // serde_json skips an undeclared field's value without recursing.
            if depth <= LIMIT || shape == Shape::JsonIgnored {
                assert!(result.is_ok(), "{shape:?} at depth {depth}: {result:?}");
                continue;
            }
            let e = match result {
                Err(Error::Decode(e)) => e,
                other => {
                    panic!("{shape:?} at depth {depth}: expected a decode error, got {other:?}")
                }
            };
            let DecodeError {
                field, ref kind, ..
            } = e;
            let message = match (shape.codec(), kind) {
                (Codec::Json, DecodeErrorKind::Json(m))
                | (Codec::Msgpack, DecodeErrorKind::Msgpack(m)) => m,
                _ => panic!("{shape:?} at depth {depth}: wrong kind {kind:?}"),
            };
            assert!(
                message.contains(&format!("nesting limit of {LIMIT}")),
                "{shape:?} at depth {depth}: {message}"
            );
            assert_eq!(field, shape.is_field().then_some("doc"), "{shape:?}");
        }
    }
}

#[test]
fn json_models_deeper_than_the_limit_are_decode_errors() {
    check(&JSON_SHAPES);
}

#[test]
fn msgpack_models_deeper_than_the_limit_are_decode_errors() {
    check(&MSGPACK_SHAPES);
}

#[test]
fn json_hash_fields_deeper_than_the_limit_are_decode_errors() {
    check(&FIELD_SHAPES);
}

/// Measures; see the module docs.
#[test]
#[ignore = "a measurement: aborts the process when the stack overflows"]
fn probe() {
    let spec =
        std::env::var("NESTING_PROBE").expect("NESTING_PROBE=\"<shape> <depth> <stack KiB>\"");
    let mut words = spec.split_whitespace();
    let name = words.next().unwrap();
    let depth: usize = words.next().unwrap().parse().unwrap();
    let stack_kib: usize = words.next().unwrap().parse().unwrap();
    let shape = [JSON_SHAPES.as_slice(), &MSGPACK_SHAPES, &FIELD_SHAPES]
        .concat()
        .into_iter()
        .find(|s| format!("{s:?}") == name)
        .unwrap_or_else(|| panic!("no shape {name}"));
    let server = RedisServer::start().unwrap();
    let config = server.config().unwrap();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(shape.seed(&server, 1, depth));
    let result = shape.get_on_stack(&config, 1, stack_kib * 1024);
    println!("PROBE {name} {depth} {stack_kib}: {result:?}");
}
