//! Targets `decode_hash`, `decode_json`, `decode_msgpack` and `decode_field`:
//! every decoder of stored data, fed arbitrary replies and documents.
//!
//! Every decoder must return `Ok` or a typed error, never panic (the replay
//! runs in debug builds, cargo-fuzz builds with overflow checks), and never
//! decode a value nested deeper than 64 levels. Beyond that: what decodes
//! re-encodes and decodes to the same value; the nesting bound changes
//! nothing but the depth (differential against the unbounded serde_json and
//! rmp_serde); decode errors never echo a stored value.

use std::fmt::Debug;

use arbitrary::{Result, Unstructured};
use redis_runtime::model::{Codec, FieldValue, HashFields, HashValue, Json};
use redis_runtime::redis::{FromRedisValue, Value};
use redis_runtime::{DecodeError, DecodeErrorKind, Error, RedisModel};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::input;
use crate::key_part::TenantId;
use crate::models::*;

/// The deepest nesting that decodes (the README's documented limit).
pub const LIMIT: usize = 64;
/// A stored string value that no decode error may repeat.
pub const MARKER: &str = "SECRET";
/// What a too-deep document's error says.
const TOO_DEEP: &str = "nesting limit of 64 levels exceeded";

fn decode<M: RedisModel>(value: Value) -> std::result::Result<M, DecodeError> {
    <M::Codec as Codec<M>>::decode(value)
}

/// Checks what every decode error must be: it names the model and its key
/// template, and (when the input's values hold [`MARKER`]) never repeats it.
fn check_error<M: RedisModel>(e: &DecodeError, check_marker: bool) {
    assert_eq!(
        (e.model, e.key_template),
        (M::META.name, M::META.key.source)
    );
    if let Some(field) = e.field {
        assert!(
            M::META
                .fields
                .iter()
                .any(|f| f.name == field || f.stored_as == field)
        );
    }
    let shown = Error::Decode(e.clone()).to_string();
    if check_marker {
        assert!(
            !shown.contains(MARKER),
            "a decode error repeats a stored value: {shown}"
        );
    }
}

fn is_too_deep(e: &DecodeError) -> bool {
    matches!(&e.kind, DecodeErrorKind::Json(m) | DecodeErrorKind::Msgpack(m) if m.contains(TOO_DEEP))
}

/// Whether two `Debug` renderings are equal but for floats a few units in
/// the last place apart: serde_json's default float parser is not exact, so
/// a float read from JSON, written and read again can move by one ulp (the
/// `json_float` target checks exactly that, and fails; see fuzz/README.md).
/// Every other difference counts.
fn same_but_json_floats(a: &str, b: &str) -> bool {
    fn tokens(s: &str) -> Vec<&str> {
        s.split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+' | '_')))
            .collect()
    }
    fn near(x: &str, y: &str) -> bool {
        let ulps64 = |x: f64, y: f64| x.to_bits().abs_diff(y.to_bits()) <= 2;
        let ulps32 = |x: f32, y: f32| x.to_bits().abs_diff(y.to_bits()) <= 2;
        matches!((x.parse(), y.parse()), (Ok(x), Ok(y)) if ulps64(x, y))
            || matches!((x.parse(), y.parse()), (Ok(x), Ok(y)) if ulps32(x, y))
    }
    let (a, b) = (tokens(a), tokens(b));
    a.len() == b.len() && a.iter().zip(&b).all(|(x, y)| x == y || near(x, y))
}

// ---------------------------------------------------------------------------
// Hash models
// ---------------------------------------------------------------------------

/// The stored field names of a hash model, and some it does not have.
fn field_name<M: RedisModel>(u: &mut Unstructured<'_>) -> Result<Vec<u8>> {
    let fields = M::META.fields;
    Ok(match u.int_in_range(0..=fields.len())? {
        i if i < fields.len() => fields[i].stored_as.as_bytes().to_vec(),
        _ => input::bytes(u, 6)?,
    })
}

/// A value a hash field might hold: numbers, booleans, JSON, bytes.
fn field_value(u: &mut Unstructured<'_>, marker: bool) -> Result<Vec<u8>> {
    let mut v: Vec<u8> = match u.int_in_range(0u8..=9)? {
        0 => u.arbitrary::<i64>()?.to_string().into(),
        1 => u.arbitrary::<u128>()?.to_string().into(),
        2 => u
            .choose(&[
                "1", "0", "true", "false", "nan", "inf", "-inf", "1e999", "-0", "+5", "07",
            ])?
            .as_bytes()
            .to_vec(),
        3 => u.arbitrary::<f64>()?.to_string().into(),
        4 => uuid::Uuid::from_u128(u.arbitrary()?)
            .hyphenated()
            .to_string()
            .into(),
        5 | 6 => serde_json::to_vec(&json_doc(u, 12, marker)?).expect("JSON"),
        7 => u.arbitrary::<char>()?.to_string().into(),
        _ => input::bytes(u, 10)?,
    };
    if marker && u.ratio(1u8, 4)? {
        v.extend_from_slice(MARKER.as_bytes());
    }
    Ok(v)
}

/// An `HGETALL` reply: RESP2 pairs or a RESP3 map, mostly names the model
/// has, sometimes a non-string element.
fn hash_reply<M: RedisModel>(u: &mut Unstructured<'_>, marker: bool) -> Result<Value> {
    let mut pairs = Vec::new();
    for _ in 0..u.int_in_range(0..=16)? {
        let name = if u.ratio(1u8, 20)? {
            input::value(u, 1)?
        } else {
            Value::BulkString(field_name::<M>(u)?)
        };
        let value = if u.ratio(1u8, 20)? {
            input::value(u, 1)?
        } else {
            Value::BulkString(field_value(u, marker)?)
        };
        pairs.push((name, value));
    }
    Ok(if u.arbitrary()? {
        let mut items: Vec<Value> = pairs.into_iter().flat_map(|(n, v)| [n, v]).collect();
        if u.ratio(1u8, 20)? {
            items.pop();
        }
        Value::Array(items)
    } else {
        Value::Map(pairs)
    })
}

/// How a hash field's well-formed values look.
#[derive(Clone, Copy)]
enum Stored {
    Text,
    Integer { min: i128, max: i128 },
    Bool,
    Float,
    Char,
    Bytes,
    Uuid,
    Prefs,
    AnyJson,
}

/// The stored fields of [`User`] and [`Strict`], as their saves write them.
const USER_FIELDS: &[(&str, Stored)] = &[
    ("tenant", Stored::Text),
    (
        "id",
        Stored::Integer {
            min: 0,
            max: u64::MAX as i128,
        },
    ),
    ("email", Stored::Text),
    ("name", Stored::Text),
    ("prefs", Stored::Prefs),
    (
        "logins",
        Stored::Integer {
            min: i64::MIN as i128,
            max: i64::MAX as i128,
        },
    ),
    (
        "visits",
        Stored::Integer {
            min: 0,
            max: u32::MAX as i128,
        },
    ),
    ("on", Stored::Bool),
    ("ratio", Stored::Float),
    ("initial", Stored::Char),
    ("blob", Stored::Bytes),
    (
        "small",
        Stored::Integer {
            min: i8::MIN as i128,
            max: i8::MAX as i128,
        },
    ),
];
const STRICT_FIELDS: &[(&str, Stored)] = &[
    ("id", Stored::Uuid),
    (
        "n",
        Stored::Integer {
            min: 0,
            max: u16::MAX as i128,
        },
    ),
    ("doc", Stored::AnyJson),
    ("f", Stored::Float),
];

fn well_formed(u: &mut Unstructured<'_>, stored: Stored, marker: bool) -> Result<Vec<u8>> {
    let text = |u: &mut Unstructured<'_>| -> Result<String> {
        Ok(if marker && u.ratio(1u8, 3)? {
            MARKER.to_owned()
        } else {
            input::text(u, 6)?
        })
    };
    Ok(match stored {
        Stored::Text => text(u)?.into_bytes(),
        Stored::Integer { min, max } => u.int_in_range(min..=max)?.to_string().into_bytes(),
        Stored::Bool => u.choose(&["1", "0"])?.as_bytes().to_vec(),
        Stored::Float => u.arbitrary::<f64>()?.to_string().into_bytes(),
        Stored::Char => u.arbitrary::<char>()?.to_string().into_bytes(),
        Stored::Bytes => input::bytes(u, 8)?,
        Stored::Uuid => uuid::Uuid::from_u128(u.arbitrary()?)
            .hyphenated()
            .to_string()
            .into_bytes(),
        Stored::Prefs => {
            let tree = match u.int_in_range(0..=LIMIT + 4)? {
                0 => None,
                levels => Some(Tree::of_depth(levels)),
            };
            let langs = (0..u.int_in_range(0..=3)?)
                .map(|_| text(u))
                .collect::<Result<_>>()?;
            serde_json::to_vec(&Prefs {
                theme: text(u)?,
                langs,
                tree,
            })
            .expect("JSON")
        }
        Stored::AnyJson => {
            let depth = u.int_in_range(0..=LIMIT + 4)?;
            serde_json::to_vec(&json_doc(u, depth, marker)?).expect("JSON")
        }
    })
}

/// A hash as a save writes it, then damaged a little: a field left out,
/// repeated or corrupted, an unknown one added, the order changed.
fn saved_hash(u: &mut Unstructured<'_>, fields: &[(&str, Stored)], marker: bool) -> Result<Value> {
    let mut pairs = Vec::new();
    for &(name, stored) in fields {
        let copies = match u.int_in_range(0u8..=15)? {
            0 => 0,
            1 => 2,
            _ => 1,
        };
        for _ in 0..copies {
            let value = if u.ratio(1u8, 10)? {
                field_value(u, marker)?
            } else {
                well_formed(u, stored, marker)?
            };
            pairs.push((Value::BulkString(name.into()), Value::BulkString(value)));
        }
    }
    if u.ratio(1u8, 10)? {
        let name = input::bytes(u, 4)?;
        pairs.push((
            Value::BulkString(name),
            Value::BulkString(field_value(u, marker)?),
        ));
    }
    if u.ratio(1u8, 4)? {
        pairs.reverse();
    }
    Ok(if u.arbitrary()? {
        Value::Array(pairs.into_iter().flat_map(|(n, v)| [n, v]).collect())
    } else {
        Value::Map(pairs)
    })
}

/// Decodes a hash reply; what decodes re-encodes to a reply that decodes to
/// the same model, carries its own id, and has its JSON within the limit.
fn check_hash<M: HashFields + FromRedisValue + Debug>(
    value: Value,
    marker: bool,
    depth: impl Fn(&M) -> usize,
) {
    let shown = format!("{value:?}");
    match decode::<M>(value.clone()) {
        Ok(model) => {
            assert!(depth(&model) <= LIMIT, "{model:?} from {shown}");
            assert_eq!(model.id_mismatch(&model.id()), None);
            let mut args: Vec<Vec<u8>> = Vec::new();
            model
                .write_fields(&mut args)
                .expect("a decoded model encodes");
            let reply = Value::Array(args.into_iter().map(Value::BulkString).collect());
            let again = decode::<M>(reply).expect("a re-encoded model decodes");
            let (again, model_shown) = (format!("{again:?}"), format!("{model:?}"));
            assert!(
                same_but_json_floats(&again, &model_shown),
                "{again}\n{model_shown}\nfrom {shown}"
            );
            // The derived `FromRedisValue` agrees.
            assert!(M::from_redis_value(value).is_ok());
        }
        Err(e) => {
            check_error::<M>(&e, marker);
            assert!(M::from_redis_value(value).is_err());
        }
    }
}

fn check_user(value: Value, marker: bool) {
    check_hash::<User>(value.clone(), marker, |u| u.prefs.depth());
    if let Ok(user) = decode::<User>(value) {
        let other = UserId {
            tenant: TenantId(format!("{}x", user.tenant.0)),
            id: user.id,
        };
        assert_eq!(user.id_mismatch(&other), Some("tenant"));
    }
}

/// Checks the hash codec (`HGETALL` replies into hash models) on one input:
/// an arbitrary reply tree, a hash-shaped reply with the model's field
/// names, or a hash as a save writes it, a little damaged.
pub fn decode_hash(data: &[u8]) {
    let _ = run_hash(&mut Unstructured::new(data));
}

fn run_hash(u: &mut Unstructured<'_>) -> Result<()> {
    match u.int_in_range(0u8..=5)? {
        0 => {
            let value = input::value(u, 3)?;
            check_user(value.clone(), false);
            check_hash::<Strict>(value.clone(), false, |s| s.doc.depth());
            // String models refuse aggregate replies with a typed error.
            let _ = check_doc::<JsonValue>(value.clone(), false, true);
            let _ = check_doc::<MpTree>(value, false, true);
        }
        1 | 2 => {
            let marker = u.arbitrary()?;
            check_user(hash_reply::<User>(u, marker)?, marker);
        }
        3 => {
            let marker = u.arbitrary()?;
            check_hash::<Strict>(hash_reply::<Strict>(u, marker)?, marker, |s| s.doc.depth());
        }
        4 => {
            let marker = u.arbitrary()?;
            check_user(saved_hash(u, USER_FIELDS, marker)?, marker);
        }
        _ => {
            let marker = u.arbitrary()?;
            let reply = saved_hash(u, STRICT_FIELDS, marker)?;
            check_hash::<Strict>(reply, marker, |s| s.doc.depth());
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// JSON and MessagePack models
// ---------------------------------------------------------------------------

/// A JSON value exactly `depth` levels deep (arrays and objects), its leaves
/// sometimes [`MARKER`], built without recursion.
fn json_doc(u: &mut Unstructured<'_>, depth: usize, marker: bool) -> Result<serde_json::Value> {
    use serde_json::{Value as J, json};
    let leaf = |u: &mut Unstructured<'_>| -> Result<J> {
        Ok(match u.int_in_range(0u8..=5)? {
            0 => J::Null,
            1 => J::Bool(u.arbitrary()?),
            2 => json!(u.arbitrary::<i64>()?),
            3 => serde_json::Number::from_f64(u.arbitrary()?).map_or(J::Null, J::Number),
            4 if marker => J::String(MARKER.into()),
            _ => J::String(input::text(u, 4)?),
        })
    };
    let mut doc = leaf(u)?;
    for _ in 0..depth {
        let sibling = leaf(u)?;
        doc = match u.int_in_range(0u8..=2)? {
            0 => J::Array(vec![doc]),
            1 => J::Array(vec![sibling, doc]),
            _ => {
                let key = if marker && u.ratio(1u8, 4)? {
                    MARKER.to_owned()
                } else {
                    input::text(u, 3)?
                };
                let mut map = serde_json::Map::new();
                map.insert(format!("{key}0"), sibling);
                map.insert(key, doc);
                J::Object(map)
            }
        };
    }
    Ok(doc)
}

/// Which serde format a target feeds.
#[derive(Clone, Copy)]
enum Format {
    Json,
    Msgpack,
}

impl Format {
    fn to_vec<T: Serialize>(self, value: &T) -> Vec<u8> {
        match self {
            Format::Json => serde_json::to_vec(value).expect("JSON"),
            Format::Msgpack => rmp_serde::to_vec_named(value).expect("MessagePack"),
        }
    }
}

/// Decodes a string reply into a JSON or MessagePack model: `Ok` within the
/// limit, or a typed error naming the model; a `GET` reply that is not a
/// string is refused.
fn check_doc<M>(
    value: Value,
    marker: bool,
    not_a_string: bool,
) -> std::result::Result<M, DecodeError>
where
    M: RedisModel + Depth + Debug,
{
    let string = matches!(value, Value::BulkString(_) | Value::SimpleString(_));
    let result = decode::<M>(value);
    match &result {
        Ok(model) => assert!(model.depth() <= LIMIT, "{model:?}"),
        Err(e) => check_error::<M>(e, marker),
    }
    if not_a_string && !string {
        assert!(
            matches!(&result, Err(e) if e.kind == DecodeErrorKind::UnexpectedReply("expected a string")),
            "{result:?}"
        );
    }
    result
}

/// The bound changes nothing but the depth: compared with the unbounded
/// decoder (`reference`) on the same bytes. `exact` says the model's decoded
/// depth is the depth the decoder walked (no undeclared or buffered parts),
/// so a refusal for depth means a deeper value.
fn differential<M>(
    bounded: &std::result::Result<M, DecodeError>,
    reference: std::result::Result<M, String>,
    exact: bool,
) where
    M: Debug + Depth,
{
    if matches!(bounded, Err(e) if e.kind == DecodeErrorKind::InvalidUtf8) {
        return;
    }
    match (bounded, &reference) {
        (Ok(a), Ok(b)) => assert_eq!(format!("{a:?}"), format!("{b:?}")),
        (Ok(a), Err(e)) => panic!("bounded decodes {a:?}, unbounded fails: {e}"),
        (Err(e), Ok(b)) => {
            assert!(
                is_too_deep(e),
                "bounded fails ({e}), unbounded decodes {b:?}"
            );
            if exact {
                assert!(
                    b.depth() > LIMIT,
                    "{b:?} is {} deep, refused: {e}",
                    b.depth()
                );
            }
        }
        (Err(_), Err(_)) => {}
    }
}

fn check_bytes<M>(format: Format, bytes: &[u8], marker: bool, exact: bool)
where
    M: RedisModel + Depth + Debug + DeserializeOwned,
{
    let result = check_doc::<M>(Value::BulkString(bytes.to_vec()), marker, false);
    if let Ok(text) = std::str::from_utf8(bytes) {
        // A simple-string reply decodes as the same bulk string would.
        let simple = decode::<M>(Value::SimpleString(text.to_owned()));
        assert_eq!(format!("{simple:?}"), format!("{result:?}"));
    }
    // The unbounded decoder recurses as deep as the input: for MessagePack it
    // runs only where the bounded one did not stop for depth (then it walks
    // the same path); serde_json's own limit (128) keeps it on the stack.
    let deep = matches!(&result, Err(e) if is_too_deep(e));
    match format {
        Format::Json => {
            let reference = serde_json::from_slice::<M>(bytes).map_err(|e| e.to_string());
            differential(&result, reference, exact);
        }
        Format::Msgpack if !deep => {
            let reference = rmp_serde::from_slice::<M>(bytes).map_err(|e| e.to_string());
            differential(&result, reference, exact);
        }
        Format::Msgpack => {}
    }
}

/// A `#[redis(json)]` field's decoder on the same bytes.
fn check_json_field<T: DeserializeOwned + Serialize + Depth + Debug>(bytes: &[u8], marker: bool) {
    match Json::<T>::decode(bytes.to_vec()) {
        Ok(value) => {
            assert!(value.depth() <= LIMIT, "{value:?}");
            let mut args: Vec<Vec<u8>> = Vec::new();
            Json::write(&value, &mut args).expect("a decoded value encodes");
            let again = Json::<T>::decode(args.pop().expect("one argument")).expect("re-decodes");
            let (again, shown) = (format!("{again:?}"), format!("{value:?}"));
            assert!(same_but_json_floats(&again, &shown), "{again}\n{shown}");
        }
        Err(kind) => {
            assert!(
                matches!(
                    kind,
                    DecodeErrorKind::Json(_) | DecodeErrorKind::InvalidUtf8
                ),
                "{kind:?}"
            );
            if marker {
                assert!(!kind.to_string().contains(MARKER), "{kind}");
            }
        }
    }
}

fn check_all(format: Format, bytes: &[u8], marker: bool) {
    match format {
        Format::Json => {
            check_bytes::<JsonValue>(format, bytes, marker, true);
            check_bytes::<JsonTree>(format, bytes, marker, true);
            check_bytes::<JsonEvery>(format, bytes, marker, false);
            check_json_field::<serde_json::Value>(bytes, marker);
            check_json_field::<Tree>(bytes, marker);
            check_json_field::<Prefs>(bytes, marker);
        }
        Format::Msgpack => {
            check_bytes::<MpValue>(format, bytes, marker, false);
            check_bytes::<MpTree>(format, bytes, marker, false);
            check_bytes::<MpEvery>(format, bytes, marker, false);
        }
    }
}

/// A document of a known depth, to check the limit exactly in a model (whose
/// own object is one level, so `depth` more levels fit when `depth < 64`);
/// the same bytes then go through every decoder of the format.
fn structured(u: &mut Unstructured<'_>, format: Format) -> Result<()> {
    let depth = u.int_in_range(0..=LIMIT + 8)?;
    let marker = u.arbitrary()?;
    let id = u.arbitrary()?;
    let (bytes, fits) = if u.arbitrary()? {
        let doc = json_doc(u, depth, marker)?;
        let bytes = format.to_vec(&serde_json::json!({ "id": id, "doc": doc }));
        (bytes, depth < LIMIT)
    } else {
        let levels = depth.max(1);
        let bytes = format.to_vec(&JsonTree {
            id,
            doc: Tree::of_depth(levels),
        });
        (bytes, levels < LIMIT)
    };
    let value = Value::BulkString(bytes.clone());
    let results = match format {
        Format::Json => [
            check_doc::<JsonValue>(value.clone(), marker, false).map(drop),
            check_doc::<JsonTree>(value, marker, false).map(drop),
        ],
        Format::Msgpack => [
            check_doc::<MpValue>(value.clone(), marker, false).map(drop),
            check_doc::<MpTree>(value, marker, false).map(drop),
        ],
    };
    // A model with the document's shape decodes it when it fits, and one is
    // refused for depth when it does not.
    let refused_for_depth = results
        .iter()
        .any(|r| matches!(r, Err(e) if is_too_deep(e)));
    let decoded = results.iter().any(std::result::Result::is_ok);
    assert_eq!(decoded, fits, "depth {depth}: {results:?}");
    assert_eq!(refused_for_depth, !fits, "depth {depth}: {results:?}");
    check_all(format, &bytes, marker);
    Ok(())
}

/// A well-formed [`JsonEvery`] (every serde shape), as a save would write it.
fn every(u: &mut Unstructured<'_>) -> Result<JsonEvery> {
    let text = |u: &mut Unstructured<'_>| input::text(u, 4);
    let mut kinds = Vec::new();
    for _ in 0..u.int_in_range(0..=4)? {
        kinds.push(match u.int_in_range(0u8..=3)? {
            0 => Kind::Unit,
            1 => Kind::Newtype(u.arbitrary()?),
            2 => Kind::Tuple(u.arbitrary()?, text(u)?),
            _ => Kind::Struct {
                a: u.arbitrary()?,
                b: u.arbitrary::<Option<f64>>()?.filter(|f| f.is_finite()),
            },
        });
    }
    let mut untagged = match u.int_in_range(0u8..=1)? {
        0 => Untagged::Num(u.arbitrary()?),
        _ => Untagged::Text(text(u)?),
    };
    for _ in 0..u.int_in_range(0..=LIMIT + 2)? {
        untagged = Untagged::List(vec![untagged]);
    }
    let tree = match u.int_in_range(0..=LIMIT + 2)? {
        0 => None,
        levels => Some(Tree::of_depth(levels)),
    };
    let mut map = std::collections::BTreeMap::new();
    for _ in 0..u.int_in_range(0..=2)? {
        map.insert(
            text(u)?,
            vec![u.arbitrary::<f32>()?]
                .into_iter()
                .filter(|f| f.is_finite())
                .collect(),
        );
    }
    Ok(JsonEvery {
        id: text(u)?,
        kinds,
        untagged,
        tagged: if u.arbitrary()? {
            Tagged::A { x: u.arbitrary()? }
        } else {
            Tagged::B { y: text(u)? }
        },
        big: u.arbitrary()?,
        huge: u.arbitrary()?,
        bytes: input::bytes(u, 4)?,
        maybe: u.arbitrary()?,
        map,
        tuple: u.arbitrary()?,
        prefs: Prefs {
            theme: text(u)?,
            langs: vec![text(u)?],
            tree,
        },
        inner: Inner {
            c: u.arbitrary()?,
            d: std::time::Duration::new(u.arbitrary()?, u.int_in_range(0..=999_999_999)?),
        },
    })
}

fn run_doc(u: &mut Unstructured<'_>, format: Format) -> Result<()> {
    match u.int_in_range(0u8..=4)? {
        4 => {
            // A well-formed document (the field names of `JsonEvery` and
            // `MpEvery` are the same), sometimes with a few bytes changed.
            let doc = format.to_vec(&every(u)?);
            let doc = if u.arbitrary()? {
                input::mutate(u, &doc)?
            } else {
                doc
            };
            check_all(format, &doc, false);
        }
        0 | 1 => {
            let bytes = u.bytes(u.len())?;
            check_all(format, bytes, false);
        }
        2 => structured(u, format)?,
        _ => {
            let value = input::value(u, 3)?;
            match format {
                Format::Json => {
                    let _ = check_doc::<JsonEvery>(value, false, true);
                }
                Format::Msgpack => {
                    let _ = check_doc::<MpEvery>(value, false, true);
                }
            }
        }
    }
    Ok(())
}

/// Checks the JSON decoders (JSON models, `#[redis(json)]` fields) on one
/// input: raw bytes as the stored document, or a document of a chosen depth.
pub fn decode_json(data: &[u8]) {
    let _ = run_doc(&mut Unstructured::new(data), Format::Json);
}

/// Checks the MessagePack decoder (MessagePack models) on one input: raw
/// bytes as the stored document, or a document of a chosen depth.
pub fn decode_msgpack(data: &[u8]) {
    let _ = run_doc(&mut Unstructured::new(data), Format::Msgpack);
}

// ---------------------------------------------------------------------------
// Field values and integer replies
// ---------------------------------------------------------------------------

/// `T`'s hash-value decoder on `raw`: what decodes re-encodes to bytes that
/// decode to the same value.
fn round_trip<T: HashValue + Debug>(raw: &[u8]) {
    if let Ok(value) = T::from_hash_value(raw.to_vec()) {
        assert!(value.is_present());
        let mut args: Vec<Vec<u8>> = Vec::new();
        value.write_hash_value(&mut args);
        let written = args.pop().expect("one argument");
        let again = T::from_hash_value(written.clone()).expect("a written value decodes");
        assert_eq!(
            format!("{again:?}"),
            format!("{value:?}"),
            "{raw:?} wrote {written:?}"
        );
    }
}

/// Integers decode exactly when Rust's own parser accepts the text.
fn integer<T: HashValue + Debug + PartialEq + std::str::FromStr>(raw: &[u8]) {
    round_trip::<T>(raw);
    let ours = T::from_hash_value(raw.to_vec()).ok();
    let std = std::str::from_utf8(raw)
        .ok()
        .and_then(|s| s.parse::<T>().ok());
    assert_eq!(ours, std, "{raw:?}");
}

/// Checks every field-value decoder on one input: hash values of every
/// type, typed field handles, and the integer and string replies the store
/// decodes (`HGET`, `incr`, `set_field`, `PTTL`, `SCAN` pages).
pub fn decode_field(data: &[u8]) {
    let _ = run_field(&mut Unstructured::new(data));
}

fn run_field(u: &mut Unstructured<'_>) -> Result<()> {
    if u.arbitrary()? {
        let raw = if u.arbitrary()? {
            field_value(u, false)?
        } else {
            u.bytes(u.len())?.to_vec()
        };
        round_trip::<String>(&raw);
        round_trip::<Vec<u8>>(&raw);
        round_trip::<bool>(&raw);
        round_trip::<char>(&raw);
        round_trip::<f32>(&raw);
        round_trip::<f64>(&raw);
        round_trip::<Option<String>>(&raw);
        round_trip::<Option<f64>>(&raw);
        integer::<u8>(&raw);
        integer::<u16>(&raw);
        integer::<u32>(&raw);
        integer::<u64>(&raw);
        integer::<usize>(&raw);
        integer::<i8>(&raw);
        integer::<i16>(&raw);
        integer::<i32>(&raw);
        integer::<i64>(&raw);
        integer::<isize>(&raw);
        round_trip::<Option<i64>>(&raw);
        let _ = <i64 as FieldValue>::read_field(raw.clone());
        let _ = <Json<Prefs> as FieldValue>::read_field(raw.clone());
        check_json_field::<serde_json::Value>(&raw, false);
        check_json_field::<Tree>(&raw, false);
    } else {
        let value = input::value(u, 3)?;
        // `HGET` (get_field), set_field's and incr's script replies, `PTTL`, `SCAN`.
        let _ = Option::<Vec<u8>>::from_redis_value(value.clone());
        let _ = i64::from_redis_value(value.clone());
        let _ = Option::<i64>::from_redis_value(value.clone());
        let _ = bool::from_redis_value(value.clone());
        let _ = <(u64, Vec<Vec<u8>>)>::from_redis_value(value);
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Floats through JSON
// ---------------------------------------------------------------------------

/// Checks that a finite float saved in a JSON model, a `#[redis(json)]` field
/// or a MessagePack model reads back as the same float, through the codecs a
/// save and a get use. The input's first 8 bytes are the `f64`'s bits, the
/// next 4 an `f32`'s.
pub fn json_float(data: &[u8]) {
    let _ = run_float(&mut Unstructured::new(data));
}

fn write<M: RedisModel>(model: &M) -> Value {
    let mut args: Vec<Vec<u8>> = Vec::new();
    <M::Codec as Codec<M>>::write_value(model, &mut args).expect("a float model encodes");
    Value::BulkString(args.pop().expect("one argument"))
}

fn run_float(u: &mut Unstructured<'_>) -> Result<()> {
    let x = f64::from_bits(u.arbitrary()?);
    let y = f32::from_bits(u.arbitrary()?);
    if !x.is_finite() || !y.is_finite() {
        // JSON has no infinities or NaN (serde_json writes `null`).
        return Ok(());
    }
    let model = JsonFloat {
        id: 1,
        x,
        y,
        xs: vec![x, -x],
    };
    let back = decode::<JsonFloat>(write(&model)).expect("a saved float model reads back");
    assert_eq!(
        (back.x.to_bits(), back.y.to_bits(), back.xs[0].to_bits()),
        (x.to_bits(), y.to_bits(), x.to_bits()),
        "JSON model: saved x = {x:?}, y = {y:?}; read back x = {:?}, y = {:?}",
        back.x,
        back.y
    );
    let mut args: Vec<Vec<u8>> = Vec::new();
    Json::write(&x, &mut args).expect("a float encodes");
    let field = Json::<f64>::decode(args.pop().expect("one argument")).expect("decodes");
    assert_eq!(
        field.to_bits(),
        x.to_bits(),
        "#[redis(json)] field: saved {x:?}, read back {field:?}"
    );
    let model = MpFloat {
        id: 1,
        x,
        y,
        xs: vec![x, -x],
    };
    let back = decode::<MpFloat>(write(&model)).expect("a saved float model reads back");
    assert_eq!(
        (back.x.to_bits(), back.y.to_bits()),
        (x.to_bits(), y.to_bits()),
        "MessagePack"
    );
    Ok(())
}
