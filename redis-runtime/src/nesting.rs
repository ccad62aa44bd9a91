//! The nesting limit of decoding, the same for every codec: a stored document
//! decodes only if it nests at most `MAX_DEPTH` (64) containers deep.
//!
//! Deserializing recurses once per level of nesting, so without a bound a
//! small, deeply nested value (10 KB of `[[[[...`) overflows the stack. In a
//! debug build, reading through `Store::get` on a 2 MiB thread stack, before
//! this bound: MessagePack overflowed at 559 levels of maps and 590 of arrays
//! (rmp_serde's own limit is 1024), at 176 levels of a recursive 17-field
//! struct, and an enum nested through `Box` had no bound at all (rmp_serde
//! does not count enum wrappers) and overflowed at 3291; serde_json's own
//! limit (127 levels) held, but the 17-field struct at 127 levels already
//! needed about 950 KiB. At 64 levels the worst shape measured in
//! `tests/tests/nesting.rs` (that struct, in MessagePack) needs 860 KiB of the
//! 2 MiB, the others at most 581 KiB (JSON) and 334 KiB (MessagePack); a type
//! with much more per level (dozens of fields) needs proportionally more.
//!
//! [`deserialize`] applies it to any serde deserializer (serde_json's
//! and rmp_serde's): it counts every way serde recurses into data, in the same
//! pass, without allocating or copying (in release, 0-3% of decode time in an
//! interleaved micro-benchmark; S1's allocation counts are unchanged).

use std::cell::Cell;
use std::fmt;

use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor,
};

/// The deepest nesting that decodes: arrays, maps (objects) and the
/// one-entry maps (objects) of serde enum variants with content on one
/// path, the outermost counting as one.
pub(crate) const MAX_DEPTH: usize = 64;

/// The error message of a document nested deeper than [`MAX_DEPTH`].
pub(crate) fn exceeded() -> String {
    format!("nesting limit of {MAX_DEPTH} levels exceeded")
}

/// Deserializes a `T` from `de`, refusing values nested deeper than
/// [`MAX_DEPTH`] with an error saying so.
pub(crate) fn deserialize<'de, T, D>(de: D) -> Result<T, D::Error>
where
    T: de::Deserialize<'de>,
    D: Deserializer<'de>,
{
    let left = Cell::new(MAX_DEPTH);
    T::deserialize(Bounded {
        inner: de,
        left: &left,
    })
}

/// A deserializer, visitor, access or seed whose nested values count
/// against `left`, the levels still allowed. Everything else is forwarded
/// unchanged.
struct Bounded<'a, X> {
    inner: X,
    left: &'a Cell<usize>,
}

impl<'a, X> Bounded<'a, X> {
    #[inline]
    fn wrap<Y>(&self, inner: Y) -> Bounded<'a, Y> {
        Bounded {
            inner,
            left: self.left,
        }
    }
}

/// Runs `f` (which decodes one container) one level deeper.
#[inline]
fn nested<R, E: de::Error>(left: &Cell<usize>, f: impl FnOnce() -> Result<R, E>) -> Result<R, E> {
    let n = left.get();
    if n == 0 {
        return Err(too_deep());
    }
    left.set(n - 1);
    let result = f();
    left.set(n);
    result
}

#[cold]
#[inline(never)]
fn too_deep<E: de::Error>() -> E {
    E::custom(exceeded())
}

macro_rules! forward_deserialize {
    ($($method:ident($($arg:ident: $ty:ty),*))*) => {$(
        #[inline]
        fn $method<V: Visitor<'de>>(
            self,
            $($arg: $ty,)*
            visitor: V,
        ) -> Result<V::Value, D::Error> {
            let visitor = self.wrap(visitor);
            self.inner.$method($($arg,)* visitor)
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Bounded<'_, D> {
    type Error = D::Error;

    forward_deserialize! {
        deserialize_any()
        deserialize_bool()
        deserialize_i8() deserialize_i16() deserialize_i32() deserialize_i64()
        deserialize_i128()
        deserialize_u8() deserialize_u16() deserialize_u32() deserialize_u64()
        deserialize_u128()
        deserialize_f32() deserialize_f64()
        deserialize_char() deserialize_str() deserialize_string()
        deserialize_bytes() deserialize_byte_buf()
        deserialize_option() deserialize_unit()
        deserialize_unit_struct(name: &'static str)
        deserialize_newtype_struct(name: &'static str)
        deserialize_seq()
        deserialize_tuple(len: usize)
        deserialize_tuple_struct(name: &'static str, len: usize)
        deserialize_map()
        deserialize_struct(name: &'static str, fields: &'static [&'static str])
        deserialize_enum(name: &'static str, variants: &'static [&'static str])
        deserialize_identifier()
        deserialize_ignored_any()
    }

    #[inline]
    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

macro_rules! forward_visit {
    ($($method:ident($($ty:ty)?))*) => {$(
        #[inline]
        fn $method<E: de::Error>(self $(, v: $ty)?) -> Result<V::Value, E> {
            self.inner.$method($(forward_visit!(@arg v $ty))?)
        }
    )*};
    (@arg $v:ident $ty:ty) => { $v };
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Bounded<'_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.expecting(f)
    }

    forward_visit! {
        visit_bool(bool)
        visit_i8(i8) visit_i16(i16) visit_i32(i32) visit_i64(i64) visit_i128(i128)
        visit_u8(u8) visit_u16(u16) visit_u32(u32) visit_u64(u64) visit_u128(u128)
        visit_f32(f32) visit_f64(f64) visit_char(char)
        visit_str(&str) visit_borrowed_str(&'de str) visit_string(String)
        visit_bytes(&[u8]) visit_borrowed_bytes(&'de [u8]) visit_byte_buf(Vec<u8>)
        visit_none() visit_unit()
    }

    #[inline]
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        let d = self.wrap(d);
        self.inner.visit_some(d)
    }

    #[inline]
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        let d = self.wrap(d);
        self.inner.visit_newtype_struct(d)
    }

    #[inline]
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        let seq = self.wrap(seq);
        nested(self.left, || self.inner.visit_seq(seq))
    }

    #[inline]
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        let map = self.wrap(map);
        nested(self.left, || self.inner.visit_map(map))
    }

    /// Not a level yet: a unit variant has no content. The variant's
    /// content counts in [`VariantAccess`].
    #[inline]
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        let data = self.wrap(data);
        self.inner.visit_enum(data)
    }
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Bounded<'_, S> {
    type Value = S::Value;

    #[inline]
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        let d = self.wrap(d);
        self.inner.deserialize(d)
    }
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Bounded<'_, A> {
    type Error = A::Error;

    #[inline]
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        let seed = self.wrap(seed);
        self.inner.next_element_seed(seed)
    }

    #[inline]
    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Bounded<'_, A> {
    type Error = A::Error;

    #[inline]
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let seed = self.wrap(seed);
        self.inner.next_key_seed(seed)
    }

    #[inline]
    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, A::Error> {
        let seed = self.wrap(seed);
        self.inner.next_value_seed(seed)
    }

    #[inline]
    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

impl<'a, 'de, A: EnumAccess<'de>> EnumAccess<'de> for Bounded<'a, A> {
    type Error = A::Error;
    type Variant = Bounded<'a, A::Variant>;

    #[inline]
    fn variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<(T::Value, Self::Variant), A::Error> {
        let seed = self.wrap(seed);
        let left = self.left;
        let (value, inner) = self.inner.variant_seed(seed)?;
        Ok((value, Bounded { inner, left }))
    }
}

/// A variant with content is one level: the one-entry map (or object)
/// around it.
impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for Bounded<'_, A> {
    type Error = A::Error;

    #[inline]
    fn unit_variant(self) -> Result<(), A::Error> {
        self.inner.unit_variant()
    }

    #[inline]
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, A::Error> {
        let seed = self.wrap(seed);
        nested(self.left, || self.inner.newtype_variant_seed(seed))
    }

    #[inline]
    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        let visitor = self.wrap(visitor);
        nested(self.left, || self.inner.tuple_variant(len, visitor))
    }

    #[inline]
    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        let visitor = self.wrap(visitor);
        nested(self.left, || self.inner.struct_variant(fields, visitor))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::net::IpAddr;
    use std::time::Duration;

    use serde::{Deserialize, Serialize};

    use super::{MAX_DEPTH, exceeded};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    enum Tree {
        Leaf(u8),
        Node(Box<Tree>),
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    enum Forest {
        Leaf(u8),
        Node(Vec<Forest>),
    }

    fn msgpack<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, String> {
        let mut de = rmp_serde::Deserializer::from_read_ref(bytes);
        super::deserialize(&mut de).map_err(|e| e.to_string())
    }

    /// `depth` nested one-element arrays around `0`, as JSON and MessagePack.
    fn arrays(depth: usize) -> (String, Vec<u8>) {
        let json = format!("{}0{}", "[".repeat(depth), "]".repeat(depth));
        let mut mp = vec![0x91; depth];
        mp.push(0);
        (json, mp)
    }

    /// A [`Tree`] of `depth` levels: `depth - 1` nodes around a leaf.
    fn tree(depth: usize) -> Tree {
        (1..depth).fold(Tree::Leaf(7), |t, _| Tree::Node(Box::new(t)))
    }

    /// A [`Forest`] of `2 * nodes + 1` levels (a node is a map and an array).
    fn forest(nodes: usize) -> Forest {
        (0..nodes).fold(Forest::Leaf(7), |f, _| Forest::Node(vec![f]))
    }

    #[test]
    fn msgpack_stops_at_the_limit_on_every_path() {
        use serde_json::Value;
        let (_, ok) = arrays(MAX_DEPTH);
        let (_, deep) = arrays(MAX_DEPTH + 1);
        assert!(msgpack::<Value>(&ok).is_ok());
        assert_eq!(msgpack::<Value>(&deep).unwrap_err(), exceeded());
        // Deep enough to overflow a test thread's stack without the bound.
        let (_, deep) = arrays(100_000);
        assert_eq!(msgpack::<Value>(&deep).unwrap_err(), exceeded());
        // Skipped values count too.
        assert_eq!(
            msgpack::<serde::de::IgnoredAny>(&deep).unwrap_err(),
            exceeded()
        );

        // rmp_serde's own limit does not count enum wrappers.
        let ok = rmp_serde::to_vec(&tree(MAX_DEPTH)).unwrap();
        let deep = rmp_serde::to_vec(&tree(MAX_DEPTH + 1)).unwrap();
        assert_eq!(msgpack::<Tree>(&ok).unwrap(), tree(MAX_DEPTH));
        assert_eq!(msgpack::<Tree>(&deep).unwrap_err(), exceeded());
        // Too deep to build as a `Tree` (serializing and dropping recurse),
        // and unbounded by rmp_serde's limit.
        let mut deep = b"\x81\xa4Node".repeat(100_000);
        deep.extend_from_slice(b"\x81\xa4Leaf\x07");
        assert_eq!(msgpack::<Tree>(&deep).unwrap_err(), exceeded());

        let nodes = (MAX_DEPTH - 1) / 2;
        let ok = rmp_serde::to_vec(&forest(nodes)).unwrap();
        let deep = rmp_serde::to_vec(&forest(nodes + 1)).unwrap();
        assert_eq!(msgpack::<Forest>(&ok).unwrap(), forest(nodes));
        assert_eq!(msgpack::<Forest>(&deep).unwrap_err(), exceeded());
    }

    #[test]
    fn json_stops_at_the_limit_on_every_path() {
        use serde_json::Value;
        fn json<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, String> {
            match crate::value::json_from_bytes(s.as_bytes()) {
                Ok(value) => Ok(value),
                Err(crate::DecodeErrorKind::Json(message)) => Err(message),
                Err(other) => panic!("not a JSON error: {other:?}"),
            }
        }
        let too_deep = |column: usize| format!("{} at line 1 column {column}", exceeded());

        assert!(json::<Value>(&arrays(MAX_DEPTH).0).is_ok());
        let deep = arrays(MAX_DEPTH + 1).0;
        assert_eq!(json::<Value>(&deep).unwrap_err(), too_deep(MAX_DEPTH + 1));
        let deep = arrays(100_000).0;
        assert_eq!(json::<Value>(&deep).unwrap_err(), too_deep(MAX_DEPTH + 1));

        let tree_json = |depth| serde_json::to_string(&tree(depth)).unwrap();
        assert_eq!(json::<Tree>(&tree_json(MAX_DEPTH)), Ok(tree(MAX_DEPTH)));
        // (serde_json gives no position for errors inside an enum)
        assert_eq!(
            json::<Tree>(&tree_json(MAX_DEPTH + 1)).unwrap_err(),
            exceeded()
        );

        let forest_json = |nodes| serde_json::to_string(&forest(nodes)).unwrap();
        let nodes = (MAX_DEPTH - 1) / 2;
        assert_eq!(json::<Forest>(&forest_json(nodes)), Ok(forest(nodes)));
        assert!(json::<Forest>(&forest_json(nodes + 1)).is_err());

        // serde_json skips an undeclared value without recursing.
        #[derive(Debug, PartialEq, Deserialize)]
        struct Flat {
            a: u8,
        }
        let flat = format!(r#"{{"a":1,"deep":{}}}"#, arrays(100_000).0);
        assert_eq!(json::<Flat>(&flat), Ok(Flat { a: 1 }));

        // Trailing characters are still refused, as by `serde_json::from_str`.
        assert_eq!(
            json::<Value>("[1] x").unwrap_err(),
            "trailing characters at line 1 column 5"
        );
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Unit;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Newtype(String);

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Pair(i8, u64);

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    enum Kind {
        Unit,
        Newtype(u32),
        Tuple(u8, String),
        Struct { a: bool, b: Option<f64> },
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(untagged)]
    enum Untagged {
        Num(u64),
        Text(String),
        List(Vec<Untagged>),
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(tag = "type")]
    enum Tagged {
        A { x: i32 },
        B { y: String },
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Inner {
        c: char,
        d: Duration,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Everything {
        unit: Unit,
        newtype: Newtype,
        pair: Pair,
        kinds: Vec<Kind>,
        untagged: Vec<Untagged>,
        tagged: Vec<Tagged>,
        big: i128,
        huge: u128,
        bytes: Vec<u8>,
        ip: IpAddr,
        maybe: Option<Option<u8>>,
        nothing: Option<String>,
        map: BTreeMap<String, Vec<f32>>,
        tuple: (u16, i64, bool),
        #[serde(flatten)]
        inner: Inner,
    }

    fn everything() -> Everything {
        Everything {
            unit: Unit,
            newtype: Newtype("n".into()),
            pair: Pair(-3, u64::MAX),
            kinds: vec![
                Kind::Unit,
                Kind::Newtype(9),
                Kind::Tuple(1, "t".into()),
                Kind::Struct { a: true, b: None },
                Kind::Struct {
                    a: false,
                    b: Some(1.5),
                },
            ],
            untagged: vec![
                Untagged::Num(1),
                Untagged::Text("s".into()),
                Untagged::List(vec![Untagged::List(vec![Untagged::Num(2)])]),
            ],
            tagged: vec![Tagged::A { x: -1 }, Tagged::B { y: "y".into() }],
            big: i128::MIN,
            huge: u128::MAX,
            bytes: vec![0, 255, 7],
            ip: "2001:db8::1".parse().unwrap(),
            maybe: Some(Some(4)),
            nothing: None,
            map: BTreeMap::from([("k".into(), vec![0.5, -2.0])]),
            tuple: (65535, i64::MIN, true),
            inner: Inner {
                c: 'é',
                d: Duration::from_millis(1500),
            },
        }
    }

    /// The bound changes nothing else: every serde shape decodes as
    /// without it, in both of rmp_serde's struct layouts.
    #[test]
    fn msgpack_decodes_as_without_the_bound() {
        for bytes in [
            rmp_serde::to_vec_named(&everything()).unwrap(),
            rmp_serde::to_vec(&everything()).unwrap(),
        ] {
            let plain: Everything = rmp_serde::from_slice(&bytes).unwrap();
            assert_eq!(plain, everything());
            assert_eq!(msgpack::<Everything>(&bytes), Ok(everything()));
        }
        // Errors read the same.
        let bytes = rmp_serde::to_vec_named(&Kind::Newtype(9)).unwrap();
        assert_eq!(
            rmp_serde::from_slice::<Tagged>(&bytes)
                .unwrap_err()
                .to_string(),
            msgpack::<Tagged>(&bytes).unwrap_err()
        );
    }
}
