//! The models and serde types the decoder targets decode into: every field
//! kind a hash model has, and serde shapes that nest (recursive enums,
//! untagged and internally tagged enums, flattening).

use std::collections::BTreeMap;
use std::time::Duration;

use redis_runtime::RedisModel;
use serde::{Deserialize, Serialize};

use crate::key_part::TenantId;

/// A recursive enum through a `Box` (rmp_serde's own limit does not count it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum Tree {
    /// The innermost level.
    Leaf(u8),
    /// One more level.
    Node(Box<Tree>),
}

impl Tree {
    /// `depth` levels: `depth - 1` nodes around a leaf (at least the leaf).
    pub(crate) fn of_depth(depth: usize) -> Tree {
        (1..depth).fold(Tree::Leaf(7), |t, _| Tree::Node(Box::new(t)))
    }
}

/// Every kind of externally tagged variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum Kind {
    /// No content.
    Unit,
    /// One value.
    Newtype(u32),
    /// A tuple.
    Tuple(u8, String),
    /// A struct.
    Struct {
        /// A flag.
        a: bool,
        /// Maybe a number.
        b: Option<f64>,
    },
}

/// An untagged recursive enum (buffered by serde before a variant is picked).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub(crate) enum Untagged {
    /// A number.
    Num(u64),
    /// A string.
    Text(String),
    /// A list of more.
    List(Vec<Untagged>),
}

/// An internally tagged enum.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub(crate) enum Tagged {
    /// One variant.
    A {
        /// Its field.
        x: i32,
    },
    /// Another.
    B {
        /// Its field.
        y: String,
    },
}

/// Flattened into [`JsonEvery`] and [`MpEvery`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Inner {
    /// A character.
    pub(crate) c: char,
    /// A duration (a struct of two numbers).
    pub(crate) d: Duration,
}

/// A nested value, as a `#[redis(json)]` field holds one.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub(crate) struct Prefs {
    /// A string.
    pub(crate) theme: String,
    /// A list.
    pub(crate) langs: Vec<String>,
    /// A recursive value, absent by default.
    #[serde(default)]
    pub(crate) tree: Option<Tree>,
}

/// A hash model with every kind of field.
#[derive(Debug, Clone, PartialEq, RedisModel)]
#[redis(key = "tenant:{tenant}:user:{id}", hash_tag = "tenant")]
pub(crate) struct User {
    /// The hash tag.
    pub(crate) tenant: TenantId,
    /// The id.
    pub(crate) id: u64,
    /// A string.
    pub(crate) email: String,
    /// An optional string.
    pub(crate) name: Option<String>,
    /// JSON.
    #[redis(json)]
    pub(crate) prefs: Prefs,
    /// An integer.
    pub(crate) logins: i64,
    /// An integer that may be absent.
    #[redis(default)]
    pub(crate) visits: u32,
    /// A boolean stored as `on`.
    #[redis(rename = "on")]
    pub(crate) active: bool,
    /// A float.
    pub(crate) ratio: f64,
    /// A character.
    pub(crate) initial: char,
    /// Bytes.
    pub(crate) blob: Vec<u8>,
    /// Not stored.
    #[redis(skip)]
    pub(crate) cache: Option<u8>,
    /// A small optional integer.
    pub(crate) small: Option<i8>,
}

/// A hash model that refuses fields it does not declare.
#[derive(Debug, Clone, PartialEq, RedisModel)]
#[redis(key = "strict:{id}", deny_unknown_fields)]
pub(crate) struct Strict {
    /// The id.
    pub(crate) id: uuid::Uuid,
    /// An optional integer.
    pub(crate) n: Option<u16>,
    /// Any JSON.
    #[redis(json)]
    pub(crate) doc: serde_json::Value,
    /// A float.
    pub(crate) f: f32,
}

macro_rules! doc_models {
    ($(($json:ident, $mp:ident, $jkey:literal, $mkey:literal, { $($body:tt)* }))*) => {$(
        /// A JSON model.
        #[derive(Debug, Clone, PartialEq, RedisModel, Serialize, Deserialize)]
        #[redis(key = $jkey, encoding = "json")]
        pub(crate) struct $json { $($body)* }

        /// The same model in MessagePack.
        #[derive(Debug, Clone, PartialEq, RedisModel, Serialize, Deserialize)]
        #[redis(key = $mkey, encoding = "msgpack")]
        pub(crate) struct $mp { $($body)* }
    )*};
}

doc_models! {
    (JsonValue, MpValue, "json:value:{id}", "mp:value:{id}", {
        /// The id.
        pub(crate) id: u64,
        /// Any JSON.
        pub(crate) doc: serde_json::Value,
    })
    (JsonFloat, MpFloat, "json:float:{id}", "mp:float:{id}", {
        /// The id.
        pub(crate) id: u64,
        /// A double.
        pub(crate) x: f64,
        /// A single.
        pub(crate) y: f32,
        /// Doubles in a list.
        pub(crate) xs: Vec<f64>,
    })
    (JsonTree, MpTree, "json:tree:{id}", "mp:tree:{id}", {
        /// The id.
        pub(crate) id: u64,
        /// A recursive enum.
        pub(crate) doc: Tree,
    })
    (JsonEvery, MpEvery, "json:every:{id}", "mp:every:{id}", {
        /// The id.
        pub(crate) id: String,
        /// Externally tagged variants.
        pub(crate) kinds: Vec<Kind>,
        /// An untagged enum.
        pub(crate) untagged: Untagged,
        /// An internally tagged enum.
        pub(crate) tagged: Tagged,
        /// Wide integers.
        pub(crate) big: i128,
        /// Wide integers.
        pub(crate) huge: u128,
        /// Bytes.
        pub(crate) bytes: Vec<u8>,
        /// Nested options.
        pub(crate) maybe: Option<Option<u8>>,
        /// A map of lists.
        pub(crate) map: BTreeMap<String, Vec<f32>>,
        /// A tuple.
        pub(crate) tuple: (u16, i64, bool),
        /// A nested struct.
        pub(crate) prefs: Prefs,
        /// Flattened fields.
        #[serde(flatten)]
        pub(crate) inner: Inner,
    })
}

/// The nesting of decoded values, counted as the decoders count it: arrays,
/// maps (objects) and the one-entry map of an enum variant with content, the
/// outermost counting as one. Where the stored form is not certain it counts
/// low, so "decoded, hence at most 64" is a sound check.
pub(crate) trait Depth {
    /// The nesting of `self`.
    fn depth(&self) -> usize;
}

impl Depth for serde_json::Value {
    fn depth(&self) -> usize {
        match self {
            serde_json::Value::Array(items) => {
                1 + items.iter().map(Depth::depth).max().unwrap_or(0)
            }
            serde_json::Value::Object(map) => 1 + map.values().map(Depth::depth).max().unwrap_or(0),
            _ => 0,
        }
    }
}

impl Depth for Tree {
    fn depth(&self) -> usize {
        let (mut depth, mut tree) = (1, self);
        while let Tree::Node(inner) = tree {
            depth += 1;
            tree = inner;
        }
        depth
    }
}

impl Depth for Kind {
    fn depth(&self) -> usize {
        match self {
            Kind::Unit => 0,
            Kind::Newtype(_) => 1,
            Kind::Tuple(..) | Kind::Struct { .. } => 2,
        }
    }
}

impl Depth for Untagged {
    fn depth(&self) -> usize {
        match self {
            Untagged::List(items) => 1 + items.iter().map(Depth::depth).max().unwrap_or(0),
            _ => 0,
        }
    }
}

impl Depth for Prefs {
    fn depth(&self) -> usize {
        1 + self.tree.as_ref().map_or(1, Depth::depth).max(1)
    }
}

impl<T: Depth> Depth for Option<T> {
    fn depth(&self) -> usize {
        self.as_ref().map_or(0, Depth::depth)
    }
}

macro_rules! depth_of_models {
    ($($model:ident => |$m:ident| $fields:expr;)*) => {$(
        impl Depth for $model {
            fn depth(&self) -> usize {
                let $m = self;
                1 + $fields.into_iter().max().unwrap_or(0)
            }
        }
    )*};
}

depth_of_models! {
    JsonValue => |m| [m.doc.depth()];
    MpValue => |m| [m.doc.depth()];
    JsonTree => |m| [m.doc.depth()];
    MpTree => |m| [m.doc.depth()];
    JsonEvery => |m| [
        1 + m.kinds.iter().map(Depth::depth).max().unwrap_or(0),
        m.untagged.depth(),
        1,
        if m.map.is_empty() { 1 } else { 2 },
        1,
        m.prefs.depth(),
    ];
    MpEvery => |m| [
        1 + m.kinds.iter().map(Depth::depth).max().unwrap_or(0),
        m.untagged.depth(),
        1,
        if m.map.is_empty() { 1 } else { 2 },
        1,
        m.prefs.depth(),
    ];
}
