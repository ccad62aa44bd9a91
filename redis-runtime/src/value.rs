//! Field values of hash-encoded models.
//!
//! Each field of a hash model is one hash field holding one value written by
//! [`HashValue`]: strings as their bytes, integers and floats in decimal, `bool`
//! as `1`/`0`. A field marked `#[redis(json)]` holds JSON instead (through
//! [`Json`]). `Option<T>` is an absent hash field when `None`.

use redis::RedisWrite;

use crate::error::DecodeErrorKind;

/// A value stored in one hash field.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be stored in a Redis hash field",
    label = "this field's type has no hash encoding",
    note = "hash fields hold strings, integers, floats, `bool`, `Vec<u8>`, or `Option` of those",
    note = "store a nested value as JSON with `#[redis(json)]`, or implement `redis_runtime::model::HashValue`"
)]
pub trait HashValue: Sized {
    /// Writes the value as one argument. Called only when [`HashValue::is_present`] is true.
    fn write_hash_value<W: RedisWrite + ?Sized>(&self, out: &mut W);
    /// Decodes a stored value.
    fn from_hash_value(raw: Vec<u8>) -> Result<Self, DecodeErrorKind>;
    /// The value of a field that is absent from the hash, if absence is allowed.
    fn from_missing() -> Option<Self> {
        None
    }
    /// Whether the value is stored at all (`false` for `None`).
    fn is_present(&self) -> bool {
        true
    }
}

impl HashValue for String {
    fn write_hash_value<W: RedisWrite + ?Sized>(&self, out: &mut W) {
        out.write_arg(self.as_bytes());
    }
    fn from_hash_value(raw: Vec<u8>) -> Result<Self, DecodeErrorKind> {
        String::from_utf8(raw).map_err(|_| DecodeErrorKind::InvalidUtf8)
    }
}

impl HashValue for Vec<u8> {
    fn write_hash_value<W: RedisWrite + ?Sized>(&self, out: &mut W) {
        out.write_arg(self);
    }
    fn from_hash_value(raw: Vec<u8>) -> Result<Self, DecodeErrorKind> {
        Ok(raw)
    }
}

impl HashValue for bool {
    fn write_hash_value<W: RedisWrite + ?Sized>(&self, out: &mut W) {
        out.write_arg(if *self { b"1" } else { b"0" });
    }
    fn from_hash_value(raw: Vec<u8>) -> Result<Self, DecodeErrorKind> {
        match raw.as_slice() {
            b"1" | b"true" => Ok(true),
            b"0" | b"false" => Ok(false),
            _ => Err(DecodeErrorKind::InvalidValue {
                expected: "a boolean (`1` or `0`)",
            }),
        }
    }
}

impl HashValue for char {
    fn write_hash_value<W: RedisWrite + ?Sized>(&self, out: &mut W) {
        out.write_arg(self.encode_utf8(&mut [0; 4]).as_bytes());
    }
    fn from_hash_value(raw: Vec<u8>) -> Result<Self, DecodeErrorKind> {
        let s = String::from_hash_value(raw)?;
        let mut chars = s.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => Ok(c),
            _ => Err(DecodeErrorKind::InvalidValue {
                expected: "a single character",
            }),
        }
    }
}

macro_rules! integer_hash_value {
    ($($ty:ty => $expected:literal),* $(,)?) => {$(
        impl HashValue for $ty {
            #[inline]
            fn write_hash_value<W: RedisWrite + ?Sized>(&self, out: &mut W) {
                out.write_arg(itoa::Buffer::new().format(*self).as_bytes());
            }
            fn from_hash_value(raw: Vec<u8>) -> Result<Self, DecodeErrorKind> {
                std::str::from_utf8(&raw)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .ok_or(DecodeErrorKind::InvalidValue { expected: $expected })
            }
        }
        impl Integer for $ty {
            const MIN: i128 = <$ty>::MIN as i128;
            const MAX: i128 = <$ty>::MAX as i128;
        }
    )*};
}

integer_hash_value! {
    u8 => "an integer (u8)", u16 => "an integer (u16)", u32 => "an integer (u32)",
    u64 => "an integer (u64)", usize => "an integer (usize)",
    i8 => "an integer (i8)", i16 => "an integer (i16)", i32 => "an integer (i32)",
    i64 => "an integer (i64)", isize => "an integer (isize)",
}

macro_rules! float_hash_value {
    ($($ty:ty => $expected:literal),*) => {$(
        impl HashValue for $ty {
            fn write_hash_value<W: RedisWrite + ?Sized>(&self, out: &mut W) {
                if self.is_finite() {
                    out.write_arg(ryu::Buffer::new().format_finite(*self).as_bytes());
                } else if self.is_nan() {
                    out.write_arg(b"nan");
                } else if *self > 0.0 {
                    out.write_arg(b"inf");
                } else {
                    out.write_arg(b"-inf");
                }
            }
            fn from_hash_value(raw: Vec<u8>) -> Result<Self, DecodeErrorKind> {
                std::str::from_utf8(&raw)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .ok_or(DecodeErrorKind::InvalidValue { expected: $expected })
            }
        }
    )*};
}

float_hash_value!(f32 => "a number (f32)", f64 => "a number (f64)");

impl<T: HashValue> HashValue for Option<T> {
    fn write_hash_value<W: RedisWrite + ?Sized>(&self, out: &mut W) {
        if let Some(value) = self {
            value.write_hash_value(out);
        }
    }
    fn from_hash_value(raw: Vec<u8>) -> Result<Self, DecodeErrorKind> {
        T::from_hash_value(raw).map(Some)
    }
    fn from_missing() -> Option<Self> {
        Some(None)
    }
    fn is_present(&self) -> bool {
        self.is_some()
    }
}

/// Integer types whose hash fields can be incremented atomically.
#[diagnostic::on_unimplemented(
    message = "`incr` needs an integer field, but this field is a `{Self}`",
    label = "not an integer field",
    note = "`incr` adds to fields of type `i8`, `i16`, `i32`, `i64`, `isize`, `u8`, `u16`, `u32`, `u64` or `usize`",
    note = "for a counter that may be absent, use an integer field with `#[redis(default)]` (absent reads as 0), not an `Option`"
)]
pub trait Integer: HashValue {
    /// The smallest value of the type.
    const MIN: i128;
    /// The largest value of the type.
    const MAX: i128;
}

/// A value stored as JSON in one hash field (`#[redis(json)]`).
///
/// The derive wraps `#[redis(json)]` fields in this; it is public so that typed
/// field accessors can name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    /// Writes `value` as JSON into one argument.
    pub fn write<W: RedisWrite + ?Sized>(value: &T, out: &mut W) -> Result<(), serde_json::Error>
    where
        T: serde::Serialize,
    {
        // Into a `Vec` first, then one argument: serde_json's `Vec` writer is
        // its fast path, and a failing `Serialize` leaves no half argument.
        let bytes = serde_json::to_vec(value)?;
        out.write_arg(&bytes);
        Ok(())
    }

    /// Decodes a stored JSON value. A value nested more than 64 levels deep
    /// (arrays, objects and the one-entry objects of serde enum variants on
    /// one path, the outermost counting as one) is a [`DecodeErrorKind::Json`]
    /// whose message says the nesting limit of 64 levels was exceeded, never a
    /// stack overflow, in debug builds too (as for `JsonCodec`).
    pub fn decode(raw: Vec<u8>) -> Result<T, DecodeErrorKind>
    where
        T: serde::de::DeserializeOwned,
    {
        json_from_bytes(&raw)
    }
}

/// Parses a stored JSON document. UTF-8 is checked once up front and the text
/// parsed with `from_str`, which then skips serde_json's per-string checks
/// (`from_slice` is about a fifth slower on a typical model).
///
/// Nesting is bounded by `model::nesting` (64 levels), inside serde_json's own
/// recursion limit (127 levels, at which a recursive 17-field struct needs
/// about 950 KiB of stack in a debug build). The rest is `serde_json::from_str`.
pub(crate) fn json_from_bytes<T: serde::de::DeserializeOwned>(
    raw: &[u8],
) -> Result<T, DecodeErrorKind> {
    let text = std::str::from_utf8(raw).map_err(|_| DecodeErrorKind::InvalidUtf8)?;
    let mut de = serde_json::Deserializer::from_str(text);
    crate::nesting::deserialize(&mut de)
        .and_then(|value| de.end().map(|()| value))
        .map_err(|e| DecodeErrorKind::Json(crate::error::scrub_serde_message(e.to_string())))
}
