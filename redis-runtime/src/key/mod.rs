//! Key templates, key parts and the one key renderer.
//!
//! A key template is a list of segments separated by its separator (`:`
//! unless the declaration says `separator = "/"` or `separator = "."`); each
//! segment is a literal or one placeholder naming a field of the model (its
//! id), optionally with literal text around it inside the segment
//! (`room={room}`, `{id}.json`). Values substituted for placeholders go through
//! [`KeyPart`] and are percent-escaped for the reserved bytes `:` `{` `}` `*`
//! `?` `[` `]` `\` `%`, ASCII whitespace and control bytes, and the template's
//! separator (`%3A`, `%7B`, `%2F`, ...; upper-case hex, nothing else escaped).
//! That escaping is what makes keys unambiguous:
//!
//! - a rendered part never contains `:` or the template's separator, so a key
//!   splits back into exactly the template's segments, a segment's literal
//!   text around its placeholder strips off exactly once, and distinct ids
//!   render distinct keys;
//! - a rendered part never contains a glob character, so a `SCAN MATCH` pattern
//!   built from a template (and any literal parts of an id) cannot be widened by
//!   what an id contains;
//! - a rendered part never contains `{` or `}`, so the hash tag of a key is
//!   exactly the tagged placeholder's value and every key of one entity family
//!   lands in the same cluster slot.
//!
//! Empty parts and parts longer than [`MAX_KEY_PART_LEN`] bytes (after escaping)
//! are rejected before anything is sent.

use std::fmt;

pub(crate) mod shape;

pub use shape::PartShape;

/// The longest a single rendered key part may be, in bytes after escaping.
pub const MAX_KEY_PART_LEN: usize = 1024;

/// One segment of a [`KeyTemplate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment {
    /// A literal segment, e.g. `user` in `user:{id}`.
    Literal(&'static str),
    /// A placeholder segment, e.g. `{id}` or `room={room}`, rendered from a
    /// [`KeyPart`] between the segment's literal prefix and suffix.
    Placeholder {
        /// The field the placeholder names.
        field: &'static str,
        /// Whether this placeholder is the model's hash tag (rendered as `{…}`).
        hash_tag: bool,
        /// What the field's type can render ([`KeyPart::SHAPE`]).
        shape: PartShape,
        /// Literal text before the placeholder in its segment (`room=` in
        /// `room={room}`); usually empty.
        prefix: &'static str,
        /// Literal text after the placeholder in its segment (`.json` in
        /// `{id}.json`); usually empty.
        suffix: &'static str,
    },
}

/// `a == b`, in a `const` context.
pub(crate) const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// A key template checked at compile time by `#[derive(RedisModel)]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyTemplate {
    /// The template as written in the attribute, e.g. `"user:{id}"`.
    pub source: &'static str,
    /// The byte between segments: `b':'`, or `b'/'` or `b'.'` as declared
    /// with `separator = ...`.
    pub separator: u8,
    /// Its segments, in order.
    pub segments: &'static [Segment],
}

/// The separators a template may declare.
pub const SEPARATORS: [u8; 3] = [b':', b'/', b'.'];

impl KeyTemplate {
    /// The names of the placeholders, in template order.
    pub fn placeholders(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.segments.iter().filter_map(|s| match s {
            Segment::Placeholder { field, .. } => Some(*field),
            Segment::Literal(_) => None,
        })
    }

    /// The placeholder that is the hash tag, if any.
    pub fn hash_tag(&self) -> Option<&'static str> {
        self.segments.iter().find_map(|s| match s {
            Segment::Placeholder {
                field,
                hash_tag: true,
                ..
            } => Some(*field),
            _ => None,
        })
    }

    /// The `SCAN MATCH` pattern for every key of this template under `namespace`.
    ///
    /// Literals and the namespace are glob-escaped; each placeholder becomes `?*`
    /// (a part is never empty). Escaped parts cannot contain `:`, but a glob `*`
    /// can match one, so the pattern alone also matches keys of templates that
    /// extend this one with more segments, and an untagged placeholder's `?*`
    /// also matches a tagged `{…}` part; [`KeyTemplate::split`] is the exact
    /// test, and the store's scans apply it to every key the server returns.
    pub fn scan_pattern(&self, namespace: &str) -> String {
        scan_pattern_of(
            namespace,
            self.separator,
            self.segments.iter().map(SegmentView::from),
        )
    }

    /// Splits a key rendered from this template under `namespace` into its
    /// decoded placeholder values, in template order.
    ///
    /// Returns `None` when the key is not one this template renders: wrong
    /// namespace, literal or segment count, a missing or misplaced hash tag, an
    /// empty or over-long part, an escape that the renderer would not produce,
    /// or a part its field's type never renders (`admin` where the id is an
    /// integer: that key belongs to `user:admin`, which the keyspace check lets
    /// coexist with `user:{id}`).
    pub fn split(&self, namespace: &str, key: &[u8]) -> Option<Vec<Vec<u8>>> {
        split_key(
            self.segments.iter().map(SegmentView::from),
            self.separator,
            namespace,
            key,
        )
    }
}

impl<'a> From<&'a Segment> for SegmentView<'a> {
    fn from(segment: &'a Segment) -> Self {
        match segment {
            Segment::Literal(lit) => SegmentView::Literal(lit),
            Segment::Placeholder {
                hash_tag,
                shape,
                prefix,
                suffix,
                ..
            } => SegmentView::Placeholder {
                hash_tag: *hash_tag,
                shape: *shape,
                prefix,
                suffix,
            },
        }
    }
}

/// A template segment as the key splitter sees it, whether the template is a
/// compiled [`KeyTemplate`] or one read from a manifest.
#[derive(Debug, Clone, Copy)]
pub(crate) enum SegmentView<'a> {
    Literal(&'a str),
    Placeholder {
        hash_tag: bool,
        shape: PartShape,
        prefix: &'a str,
        suffix: &'a str,
    },
}

/// The `SCAN MATCH` pattern (also the ACL key pattern) of a template given
/// by its segments: the namespace and literals glob-escaped, `?*` per
/// placeholder, `{?*}` for the hash tag.
pub(crate) fn scan_pattern_of<'a>(
    namespace: &str,
    separator: u8,
    segments: impl Iterator<Item = SegmentView<'a>>,
) -> String {
    let mut out = String::with_capacity(namespace.len() + 32);
    glob_escape_into(namespace, &mut out);
    for (i, seg) in segments.enumerate() {
        if i > 0 {
            out.push(char::from(separator));
        }
        match seg {
            SegmentView::Literal(lit) => glob_escape_into(lit, &mut out),
            SegmentView::Placeholder {
                hash_tag,
                prefix,
                suffix,
                ..
            } => {
                glob_escape_into(prefix, &mut out);
                out.push_str(if hash_tag { "{?*}" } else { "?*" });
                glob_escape_into(suffix, &mut out);
            }
        }
    }
    out
}

/// The one key parser: splits `key` under `namespace` by the template's
/// segments into decoded placeholder parts, or `None` when the renderer could
/// not have produced it.
pub(crate) fn split_key<'a>(
    segments: impl ExactSizeIterator<Item = SegmentView<'a>>,
    separator: u8,
    namespace: &str,
    key: &[u8],
) -> Option<Vec<Vec<u8>>> {
    let rest = key.strip_prefix(namespace.as_bytes())?;
    let mut parts = Vec::with_capacity(segments.len());
    let mut pieces = rest.split(|b| *b == separator);
    for seg in segments {
        let piece = pieces.next()?;
        match seg {
            SegmentView::Literal(lit) => {
                if piece != lit.as_bytes() {
                    return None;
                }
            }
            SegmentView::Placeholder {
                hash_tag,
                shape,
                prefix,
                suffix,
            } => {
                let piece = piece
                    .strip_prefix(prefix.as_bytes())?
                    .strip_suffix(suffix.as_bytes())?;
                let raw = if hash_tag {
                    piece.strip_prefix(b"{")?.strip_suffix(b"}")?
                } else {
                    piece
                };
                if raw.is_empty() || raw.len() > MAX_KEY_PART_LEN {
                    return None;
                }
                let part = unescape(raw, separator)?;
                if !shape.admits(&part) {
                    return None;
                }
                parts.push(part);
            }
        }
    }
    if pieces.next().is_some() {
        return None;
    }
    Some(parts)
}

impl fmt::Display for KeyTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.source)
    }
}

#[doc(hidden)]
/// Whether `byte` is escaped inside a key part.
#[inline]
pub const fn is_reserved(byte: u8) -> bool {
    matches!(
        byte,
        b':' | b'{' | b'}' | b'*' | b'?' | b'[' | b']' | b'\\' | b'%' | 0x00..=0x20 | 0x7f
    )
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

#[doc(hidden)]
/// Appends `raw` to `out`, percent-escaping reserved bytes.
pub fn escape_into(raw: &[u8], out: &mut Vec<u8>) {
    escape_for(raw, b':', out);
}

/// Appends `raw` to `out`, percent-escaping reserved bytes and `separator`.
pub(crate) fn escape_for(raw: &[u8], separator: u8, out: &mut Vec<u8>) {
    let mut start = 0;
    for (i, &b) in raw.iter().enumerate() {
        if is_reserved(b) || b == separator {
            out.extend_from_slice(&raw[start..i]);
            out.extend_from_slice(&[b'%', HEX[(b >> 4) as usize], HEX[(b & 0xf) as usize]]);
            start = i + 1;
        }
    }
    out.extend_from_slice(&raw[start..]);
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Reverses [`escape_for`]; rejects anything the escaper would not produce.
fn unescape(raw: &[u8], separator: u8) -> Option<Vec<u8>> {
    let reserved = |b: u8| is_reserved(b) || b == separator;
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if b == b'%' {
            let hi = hex_value(*raw.get(i + 1)?)?;
            let lo = hex_value(*raw.get(i + 2)?)?;
            let decoded = (hi << 4) | lo;
            if !reserved(decoded) {
                return None;
            }
            out.push(decoded);
            i += 3;
        } else if reserved(b) {
            return None;
        } else {
            out.push(b);
            i += 1;
        }
    }
    Some(out)
}

/// Appends `s` to `out` with the glob characters `* ? [ ] \` backslash-escaped,
/// so that a `SCAN MATCH` pattern matches `s` literally.
pub fn glob_escape_into(s: &str, out: &mut String) {
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
}

#[doc(hidden)]
/// Whether `s` is a valid literal segment of a composed key
/// ([`RawAccess::compose_key`](crate::raw::RawAccess::compose_key)) or of a
/// namespace: non-empty ASCII letters, digits, `_`, `-` or `.`. (Declared
/// templates may also hold `/ = @ + , ~ | #` in literal text, checked by the
/// derive.)
pub fn is_valid_literal(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// Why a value could not become part of a key.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyPartError {
    /// The rendered part is empty.
    Empty,
    /// The rendered part is longer than [`MAX_KEY_PART_LEN`].
    TooLong {
        /// Its length in bytes after escaping.
        len: usize,
    },
    /// A stored key's part does not parse as the placeholder's type.
    Unparsable {
        /// What was expected, e.g. `"an unsigned integer"`.
        expected: &'static str,
    },
}

impl fmt::Display for KeyPartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("key part is empty"),
            Self::TooLong { len } => write!(
                f,
                "key part is {len} bytes after escaping, more than the {MAX_KEY_PART_LEN} allowed"
            ),
            Self::Unparsable { expected } => write!(f, "key part is not {expected}"),
        }
    }
}

/// The sink a [`KeyPart`] writes its raw (unescaped) bytes into.
pub struct KeyPartWriter<'a> {
    out: &'a mut Vec<u8>,
    escape: bool,
    separator: u8,
}

impl KeyPartWriter<'_> {
    /// Writes raw bytes; reserved bytes are escaped on the way in.
    #[inline]
    pub fn write_bytes(&mut self, raw: &[u8]) {
        if self.escape {
            escape_for(raw, self.separator, self.out);
        } else {
            self.out.extend_from_slice(raw);
        }
    }

    /// Writes a string; reserved bytes are escaped on the way in.
    #[inline]
    pub fn write_str(&mut self, raw: &str) {
        self.write_bytes(raw.as_bytes());
    }
}

/// A type that can be substituted for a key template placeholder.
///
/// Implemented for strings, integers, `bool`, `char` and (with the `uuid`
/// feature) `uuid::Uuid`. For an id newtype, `#[derive(KeyPart)]` delegates to
/// the wrapped value; by hand it looks like this:
///
/// ```
/// use redis_runtime::key::KeyPartWriter;
/// use redis_runtime::{KeyPart, KeyPartError};
///
/// #[derive(Debug, Clone, PartialEq, Eq, Hash)]
/// pub struct TenantId(String);
///
/// impl KeyPart for TenantId {
///     fn write_key_part(&self, out: &mut KeyPartWriter<'_>) {
///         self.0.write_key_part(out)
///     }
///     fn from_key_part(raw: Vec<u8>) -> Result<Self, KeyPartError> {
///         String::from_key_part(raw).map(TenantId)
///     }
/// }
/// ```
///
/// `write_key_part` and `from_key_part` must be inverses, and `write_key_part`
/// must be injective (two distinct values never write the same bytes): that is
/// what makes a key parse back into its id.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be part of a Redis key",
    label = "used as part of a Redis key here",
    note = "key parts are strings, integers, `bool`, `char`, `uuid::Uuid` (feature `uuid`), or types implementing `redis_runtime::KeyPart`",
    note = "for an id newtype, `#[derive(KeyPart)]` delegates to the wrapped value"
)]
pub trait KeyPart: Clone + fmt::Debug + Eq + std::hash::Hash + Send + Sync + 'static {
    /// What rendered values can look like; [`PartShape::Text`] unless the type
    /// renders something narrower. A newtype delegating to `u64` can say
    /// `const SHAPE: PartShape = u64::SHAPE;`.
    const SHAPE: PartShape = PartShape::Text;
    /// Writes the value's raw bytes; escaping is applied by the writer.
    fn write_key_part(&self, out: &mut KeyPartWriter<'_>);
    /// Parses the raw (already unescaped) bytes of a stored key's part.
    fn from_key_part(raw: Vec<u8>) -> Result<Self, KeyPartError>;
}

impl KeyPart for String {
    fn write_key_part(&self, out: &mut KeyPartWriter<'_>) {
        out.write_str(self);
    }
    fn from_key_part(raw: Vec<u8>) -> Result<Self, KeyPartError> {
        String::from_utf8(raw).map_err(|_| KeyPartError::Unparsable {
            expected: "valid UTF-8",
        })
    }
}

impl KeyPart for Box<str> {
    fn write_key_part(&self, out: &mut KeyPartWriter<'_>) {
        out.write_str(self);
    }
    fn from_key_part(raw: Vec<u8>) -> Result<Self, KeyPartError> {
        String::from_key_part(raw).map(String::into_boxed_str)
    }
}

impl KeyPart for std::sync::Arc<str> {
    fn write_key_part(&self, out: &mut KeyPartWriter<'_>) {
        out.write_str(self);
    }
    fn from_key_part(raw: Vec<u8>) -> Result<Self, KeyPartError> {
        String::from_key_part(raw).map(Into::into)
    }
}

impl KeyPart for char {
    fn write_key_part(&self, out: &mut KeyPartWriter<'_>) {
        out.write_str(self.encode_utf8(&mut [0; 4]));
    }
    fn from_key_part(raw: Vec<u8>) -> Result<Self, KeyPartError> {
        let s = String::from_key_part(raw)?;
        let mut chars = s.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => Ok(c),
            _ => Err(KeyPartError::Unparsable {
                expected: "a single character",
            }),
        }
    }
}

impl KeyPart for bool {
    const SHAPE: PartShape = PartShape::Bool;
    fn write_key_part(&self, out: &mut KeyPartWriter<'_>) {
        out.write_str(if *self { "true" } else { "false" });
    }
    fn from_key_part(raw: Vec<u8>) -> Result<Self, KeyPartError> {
        match raw.as_slice() {
            b"true" => Ok(true),
            b"false" => Ok(false),
            _ => Err(KeyPartError::Unparsable {
                expected: "`true` or `false`",
            }),
        }
    }
}

macro_rules! integer_key_part {
    ($($ty:ty => $expected:literal),* $(,)?) => {$(
        impl KeyPart for $ty {
            const SHAPE: PartShape = PartShape::Integer { signed: <$ty>::MIN != 0 };
            #[inline]
            fn write_key_part(&self, out: &mut KeyPartWriter<'_>) {
                // Digits and `-` are never reserved: no escaping pass needed.
                out.out.extend_from_slice(itoa::Buffer::new().format(*self).as_bytes());
            }
            fn from_key_part(raw: Vec<u8>) -> Result<Self, KeyPartError> {
                let err = KeyPartError::Unparsable { expected: $expected };
                let text = std::str::from_utf8(&raw).map_err(|_| err.clone())?;
                let value: $ty = text.parse().map_err(|_| err.clone())?;
                // Only the canonical form parses back (no `+1`, `01` or `-0`),
                // so a stored key maps to exactly one id.
                if itoa::Buffer::new().format(value) != text {
                    return Err(err);
                }
                Ok(value)
            }
        }
    )*};
}

integer_key_part! {
    u8 => "an unsigned integer", u16 => "an unsigned integer", u32 => "an unsigned integer",
    u64 => "an unsigned integer", u128 => "an unsigned integer", usize => "an unsigned integer",
    i8 => "an integer", i16 => "an integer", i32 => "an integer",
    i64 => "an integer", i128 => "an integer", isize => "an integer",
}

#[cfg(feature = "uuid")]
impl KeyPart for uuid::Uuid {
    const SHAPE: PartShape = PartShape::Uuid;
    fn write_key_part(&self, out: &mut KeyPartWriter<'_>) {
        out.write_str(
            self.hyphenated()
                .encode_lower(&mut uuid::Uuid::encode_buffer()),
        );
    }
    fn from_key_part(raw: Vec<u8>) -> Result<Self, KeyPartError> {
        let err = KeyPartError::Unparsable {
            expected: "a hyphenated lower-case UUID",
        };
        let text = std::str::from_utf8(&raw).map_err(|_| err.clone())?;
        let value = uuid::Uuid::try_parse(text).map_err(|_| err.clone())?;
        if value
            .hyphenated()
            .encode_lower(&mut uuid::Uuid::encode_buffer())
            != text
        {
            return Err(err);
        }
        Ok(value)
    }
}

/// Hands the raw (unescaped) bytes a key part writes to `f`, for storing an id
/// field in a hash. A per-thread scratch buffer saves an allocation per field.
pub(crate) fn with_raw_key_part<P: KeyPart, R>(value: &P, f: impl FnOnce(&[u8]) -> R) -> R {
    thread_local! {
        static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let fill = |out: &mut Vec<u8>| {
        out.clear();
        value.write_key_part(&mut KeyPartWriter {
            out,
            escape: false,
            separator: b':',
        });
    };
    SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
        Ok(mut out) => {
            fill(&mut out);
            f(&out)
        }
        // Re-entered (a key part that renders another key part): a fresh buffer.
        Err(_) => {
            let mut out = Vec::new();
            fill(&mut out);
            f(&out)
        }
    })
}

/// Appends a value's raw (unescaped) key-part bytes to `out`: a collection
/// member or map field written as a key part.
pub(crate) fn write_raw_part<P: KeyPart>(value: &P, out: &mut Vec<u8>) {
    value.write_key_part(&mut KeyPartWriter {
        out,
        escape: false,
        separator: b':',
    });
}

/// Appends one escaped key part to `out`, refusing an empty or over-long one.
pub(crate) fn write_part<P: KeyPart>(value: &P, out: &mut Vec<u8>) -> Result<(), KeyPartError> {
    let start = out.len();
    value.write_key_part(&mut KeyPartWriter {
        out,
        escape: true,
        separator: b':',
    });
    match out.len() - start {
        0 => Err(KeyPartError::Empty),
        len if len > MAX_KEY_PART_LEN => Err(KeyPartError::TooLong { len }),
        _ => Ok(()),
    }
}

#[doc(hidden)]
/// Renders keys: the namespace, literals and escaped parts of one template.
///
/// Generated code calls [`KeyWriter::part`] once per placeholder, in template
/// order; literals in between are written automatically.
pub struct KeyWriter<'a> {
    out: &'a mut Vec<u8>,
    template: &'static KeyTemplate,
    next: usize,
}

impl<'a> KeyWriter<'a> {
    /// Starts a key of `template` under `namespace` in `out`.
    pub fn new(out: &'a mut Vec<u8>, namespace: &str, template: &'static KeyTemplate) -> Self {
        out.extend_from_slice(namespace.as_bytes());
        let mut writer = KeyWriter {
            out,
            template,
            next: 0,
        };
        writer.literals();
        writer
    }

    fn literals(&mut self) {
        while let Some(Segment::Literal(lit)) = self.template.segments.get(self.next) {
            if self.next > 0 {
                self.out.push(self.template.separator);
            }
            self.out.extend_from_slice(lit.as_bytes());
            self.next += 1;
        }
    }

    /// The key written so far (namespace, literals and parts).
    pub(crate) fn written(&self) -> &[u8] {
        self.out
    }

    /// Writes the next placeholder's value.
    pub fn part<P: KeyPart>(&mut self, value: &P) -> Result<(), InvalidKeyPart> {
        let Some(Segment::Placeholder {
            field,
            hash_tag,
            prefix,
            suffix,
            ..
        }) = self.template.segments.get(self.next).copied()
        else {
            // Generated code writes exactly one part per placeholder.
            return Err(InvalidKeyPart {
                field: "?",
                reason: KeyPartError::Unparsable {
                    expected: "a placeholder at this position",
                },
            });
        };
        let separator = self.template.separator;
        if self.next > 0 {
            self.out.push(separator);
        }
        self.out.extend_from_slice(prefix.as_bytes());
        if hash_tag {
            self.out.push(b'{');
        }
        let start = self.out.len();
        value.write_key_part(&mut KeyPartWriter {
            out: self.out,
            escape: true,
            separator,
        });
        let len = self.out.len() - start;
        if len == 0 {
            return Err(InvalidKeyPart {
                field,
                reason: KeyPartError::Empty,
            });
        }
        if len > MAX_KEY_PART_LEN {
            return Err(InvalidKeyPart {
                field,
                reason: KeyPartError::TooLong { len },
            });
        }
        if hash_tag {
            self.out.push(b'}');
        }
        self.out.extend_from_slice(suffix.as_bytes());
        self.next += 1;
        self.literals();
        Ok(())
    }
}

#[doc(hidden)]
/// A placeholder value that cannot be rendered, or a stored part that cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidKeyPart {
    /// The placeholder's field.
    pub field: &'static str,
    /// What is wrong with it.
    pub reason: KeyPartError,
}

#[doc(hidden)]
/// Reads the decoded placeholder values of a split key, in template order.
pub struct KeyParts<'t> {
    template: &'static KeyTemplate,
    parts: std::vec::IntoIter<Vec<u8>>,
    index: usize,
    _key: std::marker::PhantomData<&'t ()>,
}

impl KeyParts<'_> {
    pub(crate) fn new(template: &'static KeyTemplate, parts: Vec<Vec<u8>>) -> Self {
        KeyParts {
            template,
            parts: parts.into_iter(),
            index: 0,
            _key: std::marker::PhantomData,
        }
    }

    /// Parses the next placeholder's value.
    pub fn part<P: KeyPart>(&mut self) -> Result<P, InvalidKeyPart> {
        let field = self.template.placeholders().nth(self.index).unwrap_or("?");
        self.index += 1;
        let raw = self.parts.next().ok_or(InvalidKeyPart {
            field,
            reason: KeyPartError::Empty,
        })?;
        P::from_key_part(raw).map_err(|reason| InvalidKeyPart { field, reason })
    }
}

#[doc(hidden)]
/// Renders the key of `id` for model `M` under `namespace` (empty, or ending in
/// `:`). This is the renderer every operation uses; it is public for tools and tests.
pub fn render_key<M: crate::model::Family>(
    namespace: &str,
    id: &M::Id,
) -> Result<Vec<u8>, InvalidKeyPart> {
    let mut out = Vec::with_capacity(namespace.len() + M::META.key.source.len() + 16);
    M::write_id_key(id, &mut KeyWriter::new(&mut out, namespace, &M::META.key))?;
    Ok(out)
}

#[doc(hidden)]
/// Parses a key of model `M` under `namespace` back into its id.
///
/// `None` when the key is not one `M`'s template renders (see
/// [`KeyTemplate::split`]); `Some(Err(..))` when it has the template's shape but
/// a part does not parse as the id field's type.
pub fn parse_key<M: crate::model::Family>(
    namespace: &str,
    key: &[u8],
) -> Option<Result<M::Id, InvalidKeyPart>> {
    let parts = M::META.key.split(namespace, key)?;
    Some(M::parse_id(&mut KeyParts::new(&M::META.key, parts)))
}

/// The Redis Cluster hash slot of `key` (CRC16/XMODEM of the hash tag or the whole key, mod 16384).
pub fn hash_slot(key: &[u8]) -> u16 {
    let hashed = match key.iter().position(|b| *b == b'{') {
        Some(open) => match key[open + 1..].iter().position(|b| *b == b'}') {
            Some(len) if len > 0 => &key[open + 1..open + 1 + len],
            _ => key,
        },
        None => key,
    };
    crc16_xmodem(hashed) % 16384
}

fn crc16_xmodem(data: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &byte in data {
        crc ^= u16::from(byte) << 8;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc16_matches_the_cluster_spec_vector() {
        // From the Redis Cluster specification: CRC16 of "123456789" is 0x31C3.
        assert_eq!(crc16_xmodem(b"123456789"), 0x31c3);
        assert_eq!(hash_slot(b"user:{42}"), hash_slot(b"42"));
        assert_eq!(hash_slot(b"user:{}"), crc16_xmodem(b"user:{}") % 16384);
    }

    #[test]
    fn escaping_round_trips_and_rejects_non_canonical_forms() {
        let mut out = Vec::new();
        escape_into(b"a:b%c{d}*\r\n", &mut out);
        assert_eq!(out, b"a%3Ab%25c%7Bd%7D%2A%0D%0A");
        assert_eq!(unescape(&out, b':').unwrap(), b"a:b%c{d}*\r\n");
        assert_eq!(unescape(b"%41", b':'), None, "A is not reserved");
        assert_eq!(
            unescape(b"%3a", b':'),
            None,
            "lower-case hex is not produced"
        );
        assert_eq!(unescape(b"a:b", b':'), None);
        assert_eq!(unescape(b"%3", b':'), None);
    }

    #[test]
    fn the_separator_is_escaped_only_where_it_separates() {
        let mut out = Vec::new();
        escape_for(b"a/b.c:d", b'/', &mut out);
        assert_eq!(out, b"a%2Fb.c%3Ad");
        assert_eq!(unescape(&out, b'/').unwrap(), b"a/b.c:d");
        assert_eq!(
            unescape(b"a%2Fb", b':'),
            None,
            "`:` templates write `/` as is"
        );
        assert_eq!(unescape(b"a/b", b'/'), None);
        out.clear();
        escape_for(b"v1.2", b'.', &mut out);
        assert_eq!(out, b"v1%2E2");
        assert_eq!(unescape(b"v1.2", b':').unwrap(), b"v1.2");
    }

    #[test]
    fn integers_parse_only_in_canonical_form() {
        assert_eq!(u64::from_key_part(b"42".to_vec()), Ok(42));
        assert!(u64::from_key_part(b"042".to_vec()).is_err());
        assert!(i64::from_key_part(b"+4".to_vec()).is_err());
        assert!(i64::from_key_part(b"-0".to_vec()).is_err());
        assert_eq!(i64::from_key_part(b"-7".to_vec()), Ok(-7));
    }
}

/// A key rendered by the one renderer (namespace, literals, escaped parts),
/// from [`Store::key`](crate::Store::key) or the [`raw`](crate::raw) escape
/// hatch: for interop with redis-rs (`ToRedisArgs`) and display.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RenderedKey(pub(crate) Vec<u8>);

impl RenderedKey {
    /// The key's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for RenderedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RenderedKey({:?})", String::from_utf8_lossy(&self.0))
    }
}

impl fmt::Display for RenderedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.0))
    }
}

impl redis::ToRedisArgs for RenderedKey {
    fn write_redis_args<W: ?Sized + redis::RedisWrite>(&self, out: &mut W) {
        out.write_arg(&self.0);
    }
}

impl redis::ToSingleRedisArg for RenderedKey {}
