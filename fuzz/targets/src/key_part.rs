//! Target `key_part`: the key-part codec (escaping, the renderer, the key
//! parser) against an independent statement of the escaping rule.

use std::fmt::Debug;

use arbitrary::{Result, Unstructured};
use redis_runtime::key::{
    InvalidKeyPart, KeyPartWriter, KeyTemplate, PartShape, Segment, escape_into, hash_slot,
    parse_key, render_key,
};
use redis_runtime::{KeyPart, KeyPartError, RedisModel};

use crate::glob::glob_match;
use crate::input;

/// A tenant id newtype, its `KeyPart` derived.
#[derive(Debug, Clone, PartialEq, Eq, Hash, KeyPart)]
pub(crate) struct TenantId(pub(crate) String);

/// Raw bytes, not necessarily UTF-8, as a key part: a `KeyPart` written by
/// hand, as the trait's documentation shows.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct RawBytes(pub(crate) Vec<u8>);

impl KeyPart for RawBytes {
    fn write_key_part(&self, out: &mut KeyPartWriter<'_>) {
        out.write_bytes(&self.0);
    }
    fn from_key_part(raw: Vec<u8>) -> std::result::Result<Self, KeyPartError> {
        Ok(RawBytes(raw))
    }
}

/// One string placeholder.
#[derive(Debug, RedisModel)]
#[redis(key = "text:{id}")]
pub(crate) struct Text {
    id: String,
    v: u8,
}

/// Two placeholders, the first the hash tag.
#[derive(Debug, RedisModel)]
#[redis(key = "tenant:{tenant}:user:{id}", hash_tag = "tenant")]
pub(crate) struct Tagged {
    tenant: TenantId,
    id: u64,
    v: u8,
}

/// Raw bytes as the hash tag.
#[derive(Debug, RedisModel)]
#[redis(key = "raw:{id}", hash_tag = "id")]
pub(crate) struct Raw {
    id: RawBytes,
    v: u8,
}

/// Every kind of key part, adjacent and around a literal.
#[derive(Debug, RedisModel)]
#[redis(key = "mixed:{a}:{b}:{c}:x:{d}:{e}:{f}:{g}:{h}")]
pub(crate) struct Mixed {
    a: i64,
    b: bool,
    c: char,
    d: uuid::Uuid,
    e: RawBytes,
    f: i8,
    g: u128,
    h: Box<str>,
    v: u8,
}

/// A single text placeholder: its split is the part codec's decoder alone.
const PART: KeyTemplate = KeyTemplate {
    source: "{p}",
    separator: b':',
    segments: &[Segment::Placeholder {
        field: "p",
        hash_tag: false,
        shape: PartShape::Text,
        prefix: "",
        suffix: "",
    }],
};

/// The escaping rule as the README states it: `: { } * ? [ ] \ %`,
/// whitespace (ASCII, 0x00-0x20) and control bytes (0x7f) become `%XX` in
/// upper-case hex; nothing else changes.
pub fn spec_escape(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    for &b in raw {
        if b":{}*?[]\\%".contains(&b) || b <= 0x20 || b == 0x7f {
            out.extend_from_slice(format!("%{b:02X}").as_bytes());
        } else {
            out.push(b);
        }
    }
    out
}

/// A model whose ids the target generates, with each id's raw part bytes.
trait Case: RedisModel<Id: PartialEq + Debug> {
    fn gen_id(u: &mut Unstructured<'_>) -> Result<Self::Id>;
    /// The raw (unescaped) bytes of each placeholder, in template order.
    fn raw_parts(id: &Self::Id) -> Vec<Vec<u8>>;
}

fn long_text(u: &mut Unstructured<'_>) -> Result<String> {
    let text = input::text(u, 8)?.into_bytes();
    Ok(String::from_utf8(input::maybe_long(u, text)?).expect("UTF-8 plus ASCII"))
}

fn raw_bytes(u: &mut Unstructured<'_>) -> Result<RawBytes> {
    let bytes = input::bytes(u, 8)?;
    Ok(RawBytes(input::maybe_long(u, bytes)?))
}

impl Case for Text {
    fn gen_id(u: &mut Unstructured<'_>) -> Result<String> {
        long_text(u)
    }
    fn raw_parts(id: &String) -> Vec<Vec<u8>> {
        vec![id.clone().into_bytes()]
    }
}

impl Case for Tagged {
    fn gen_id(u: &mut Unstructured<'_>) -> Result<TaggedId> {
        Ok(TaggedId {
            tenant: TenantId(long_text(u)?),
            id: u.arbitrary()?,
        })
    }
    fn raw_parts(id: &TaggedId) -> Vec<Vec<u8>> {
        vec![
            id.tenant.0.clone().into_bytes(),
            id.id.to_string().into_bytes(),
        ]
    }
}

impl Case for Raw {
    fn gen_id(u: &mut Unstructured<'_>) -> Result<RawBytes> {
        raw_bytes(u)
    }
    fn raw_parts(id: &RawBytes) -> Vec<Vec<u8>> {
        vec![id.0.clone()]
    }
}

impl Case for Mixed {
    fn gen_id(u: &mut Unstructured<'_>) -> Result<MixedId> {
        Ok(MixedId {
            a: u.arbitrary()?,
            b: u.arbitrary()?,
            c: u.arbitrary()?,
            d: uuid::Uuid::from_u128(u.arbitrary()?),
            e: raw_bytes(u)?,
            f: u.arbitrary()?,
            g: u.arbitrary()?,
            h: input::text(u, 4)?.into(),
        })
    }
    fn raw_parts(id: &MixedId) -> Vec<Vec<u8>> {
        vec![
            id.a.to_string().into_bytes(),
            id.b.to_string().into_bytes(),
            id.c.to_string().into_bytes(),
            id.d.hyphenated().to_string().into_bytes(),
            id.e.0.clone(),
            id.f.to_string().into_bytes(),
            id.g.to_string().into_bytes(),
            id.h.as_bytes().to_vec(),
        ]
    }
}

/// The key the spec says `raw` parts render under `namespace`, or the first
/// part that cannot be rendered.
fn spec_render(
    template: &KeyTemplate,
    namespace: &str,
    raw: &[Vec<u8>],
) -> std::result::Result<Vec<u8>, InvalidKeyPart> {
    let mut key = namespace.as_bytes().to_vec();
    let mut raw = raw.iter();
    for (i, segment) in template.segments.iter().enumerate() {
        if i > 0 {
            key.push(b':');
        }
        match *segment {
            Segment::Literal(lit) => key.extend_from_slice(lit.as_bytes()),
            Segment::Placeholder {
                field, hash_tag, ..
            } => {
                let escaped = spec_escape(raw.next().expect("one raw part per placeholder"));
                let reason = match escaped.len() {
                    0 => Some(KeyPartError::Empty),
                    len if len > 1024 => Some(KeyPartError::TooLong { len }),
                    _ => None,
                };
                if let Some(reason) = reason {
                    return Err(InvalidKeyPart { field, reason });
                }
                if hash_tag {
                    key.push(b'{');
                }
                key.extend_from_slice(&escaped);
                if hash_tag {
                    key.push(b'}');
                }
            }
        }
    }
    Ok(key)
}

fn check<M: Case>(u: &mut Unstructured<'_>, namespace: &str) -> Result<()> {
    let id = M::gen_id(u)?;
    let raw = M::raw_parts(&id);
    let template = &M::META.key;
    let rendered = render_key::<M>(namespace, &id);
    assert_eq!(
        rendered,
        spec_render(template, namespace, &raw),
        "{} {id:?} under {namespace:?}",
        template.source
    );
    let key = match rendered {
        Ok(key) => {
            let parsed = parse_key::<M>(namespace, &key);
            assert!(
                matches!(&parsed, Some(Ok(back)) if *back == id),
                "{key:?} of {id:?} parses as {parsed:?}"
            );
            assert_eq!(template.split(namespace, &key), Some(raw));
            let pattern = template.scan_pattern(namespace);
            assert!(glob_match(pattern.as_bytes(), &key), "{pattern:?} {key:?}");
            key
        }
        Err(_) => spec_render(template, namespace, &vec![b"1".to_vec(); 8]).expect("renders"),
    };

    // Any key: what parses renders back to exactly that key (one id per key),
    // and what splits is matched by the scan pattern.
    let other = input::mutate(u, &key)?;
    if let Some(Ok(id)) = parse_key::<M>(namespace, &other) {
        assert_eq!(
            render_key::<M>(namespace, &id).as_ref(),
            Ok(&other),
            "{other:?} parses as {id:?}"
        );
    }
    if template.split(namespace, &other).is_some() {
        let pattern = template.scan_pattern(namespace);
        assert!(
            glob_match(pattern.as_bytes(), &other),
            "{pattern:?} {other:?}"
        );
    }
    Ok(())
}

/// A namespace as `Config` admits them (`a:b:` or none), or any text.
fn namespace(u: &mut Unstructured<'_>) -> Result<String> {
    if u.ratio(1u8, 3)? {
        return input::text(u, 4);
    }
    let mut ns = String::new();
    for _ in 0..u.int_in_range(0..=2)? {
        let len = u.int_in_range(1..=4)?;
        for _ in 0..len {
            ns.push(*u.choose(&['a', 'z', 'A', '0', '_', '-', '.'])?);
        }
        ns.push(':');
    }
    Ok(ns)
}

/// Checks the key-part codec on one input.
///
/// Properties: escaping is the documented rule; a part decodes exactly when
/// it is the escaping of something, and then escapes back to itself; the
/// renderer writes what the rule says (or refuses the first empty or
/// over-long part, naming it); every rendered key parses back to its id
/// (strings with reserved bytes, non-UTF-8 bytes, integers, `bool`, `char`,
/// UUIDs, a hash tag) and matches its scan pattern; any key that parses
/// renders back to the same bytes; ids that share a hash tag share a slot
/// (under a namespace `Config` accepts);
/// nothing panics on arbitrary bytes.
pub fn key_part(data: &[u8]) {
    let _ = run(&mut Unstructured::new(data));
}

fn run(u: &mut Unstructured<'_>) -> Result<()> {
    // The codec alone.
    let raw = input::bytes(u, 12)?;
    let raw = input::maybe_long(u, raw)?;
    let mut escaped = Vec::new();
    escape_into(&raw, &mut escaped);
    assert_eq!(escaped, spec_escape(&raw), "escaping of {raw:?}");
    if (1..=1024).contains(&escaped.len()) {
        assert_eq!(PART.split("", &escaped), Some(vec![raw.clone()]));
    }
    let stored = input::mutate(u, &escaped)?;
    if let Some(parts) = PART.split("", &stored) {
        assert_eq!(
            spec_escape(&parts[0]),
            stored,
            "{stored:?} is not canonical"
        );
    }
    assert!(hash_slot(&stored) < 16384);

    let ns = namespace(u)?;
    match u.int_in_range(0u8..=3)? {
        0 => check::<Text>(u, &ns)?,
        1 => check::<Tagged>(u, &ns)?,
        2 => check::<Raw>(u, &ns)?,
        _ => check::<Mixed>(u, &ns)?,
    }

    // Two ids of one tenant land in one slot (unless the namespace has a `{`,
    // which `Config` refuses: `{}` in it would void the tag, `{x}` replace it).
    let tenant = TenantId(input::text(u, 6)?);
    let (a, b) = (u.arbitrary()?, u.arbitrary()?);
    let key = |id| {
        render_key::<Tagged>(
            &ns,
            &TaggedId {
                tenant: tenant.clone(),
                id,
            },
        )
    };
    if let (Ok(a), Ok(b), false) = (key(a), key(b), ns.contains('{')) {
        assert_eq!(hash_slot(&a), hash_slot(&b), "{a:?} and {b:?}");
    }
    Ok(())
}
