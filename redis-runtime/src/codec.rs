//! Custom value codecs: a model stored as one Redis string in a format of the
//! application's choosing (`#[redis(codec = path::To::Codec)]`), and the
//! built-in raw form (`#[redis(codec = raw)]`) for a plain string or bytes
//! value stored byte for byte.
//!
//! A codec is a type implementing [`ValueCodec<M>`] for the model `M`: it
//! turns the whole model (key fields included, as `encoding = "json"` does)
//! into the bytes of the stored string, and back. Every operation of a string
//! model works with it (`get`, `save`, `insert`, `get_many`, `delete`, TTLs,
//! batches, conditional writes): the stored value is one `SET` argument and
//! the `GET` reply is what [`ValueCodec::decode`] reads.
//!
//! ```
//! use redis_runtime::RedisModel;
//! use redis_runtime::codec::ValueCodec;
//!
//! /// `id` and `name` as `id:name`, the format an older service writes.
//! struct Colon;
//!
//! impl ValueCodec<Tag> for Colon {
//!     const NAME: &'static str = "colon";
//!     type Error = String;
//!
//!     fn encode(tag: &Tag) -> Result<Vec<u8>, String> {
//!         Ok(format!("{}:{}", tag.id, tag.name).into_bytes())
//!     }
//!
//!     fn decode(bytes: &[u8]) -> Result<Tag, String> {
//!         let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
//!         let (id, name) = text.split_once(':').ok_or("no `:`")?;
//!         Ok(Tag { id: id.parse().map_err(|_| "bad id")?, name: name.to_owned() })
//!     }
//! }
//!
//! #[derive(Debug, RedisModel)]
//! #[redis(key = "tag:{id}", codec = Colon)]
//! struct Tag {
//!     id: u64,
//!     name: String,
//! }
//!
//! /// A legacy `SET blob:{id} <bytes>` family, read and written as is.
//! #[derive(Debug, RedisModel)]
//! #[redis(key = "blob:{id}", codec = raw)]
//! struct Blob {
//!     id: u64,
//!     bytes: Vec<u8>,
//! }
//! ```
//!
//! An encode error is an [`Error::Encode`] and a decode
//! error an [`Error::Decode`] of kind
//! [`DecodeErrorKind::Codec`], both naming the model and its key template;
//! nothing panics. The key manifest records the encoding as `codec:<NAME>`
//! (or `raw`).

use redis::{RedisWrite, Value};

use crate::error::{DecodeError, DecodeErrorKind, Error};
use crate::model::{Codec, Encoding, Family, RedisModel};

/// Encodes a model as the bytes of one Redis string, and decodes it back:
/// what `#[redis(codec = Self)]` stores model `T` with.
///
/// The functions take no `self`: the codec is a type, usually a unit struct,
/// and may implement the trait for many models at once (a blanket impl over
/// `T: serde::Serialize + serde::de::DeserializeOwned` for a serde format).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a value codec for `{T}`",
    label = "`codec = ...` names a type implementing `ValueCodec<{T}>`",
    note = "implement `redis_runtime::codec::ValueCodec<{T}>` for `{Self}`, or use `codec = raw` for a model with one `String` or `Vec<u8>` value field"
)]
pub trait ValueCodec<T>: 'static {
    /// A short stable name of the format (`"bincode"`, `"protobuf"`): the
    /// key manifest records the family's encoding as `codec:<NAME>`, and
    /// decode errors name it.
    const NAME: &'static str;
    /// What goes wrong encoding or decoding; its message becomes the typed
    /// error's.
    type Error: std::fmt::Display;

    /// The stored bytes of `value`.
    fn encode(value: &T) -> Result<Vec<u8>, Self::Error>;
    /// The value the stored `bytes` hold.
    fn decode(bytes: &[u8]) -> Result<T, Self::Error>;
}

/// The model codec of `#[redis(codec = C)]`: a [`ValueCodec`] as the
/// derive's hidden `Codec`.
#[doc(hidden)]
#[derive(Debug)]
pub struct CustomCodec<C>(std::marker::PhantomData<fn() -> C>);

impl<M, C> Codec<M> for CustomCodec<C>
where
    M: RedisModel,
    C: ValueCodec<M>,
{
    const ENCODING: Encoding = Encoding::Codec(C::NAME);

    fn write_value<W: RedisWrite + ?Sized>(model: &M, out: &mut W) -> Result<(), Error> {
        let bytes = C::encode(model)
            .map_err(|e| Error::encode::<M>(None, format!("codec `{}`: {e}", C::NAME)))?;
        out.write_arg(&bytes);
        Ok(())
    }

    fn decode(value: Value) -> Result<M, DecodeError> {
        let bytes = crate::model::string_reply::<M>(value)?;
        C::decode(&bytes).map_err(|e| {
            DecodeError::of::<M>(
                None,
                DecodeErrorKind::Codec {
                    codec: C::NAME,
                    message: e.to_string(),
                },
            )
        })
    }
}

/// The type of the one value field of a `#[redis(codec = raw)]` model: the
/// stored string's bytes, as they are.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be stored raw",
    label = "the value field of a `codec = raw` model",
    note = "a raw value is a `String` (UTF-8 checked on read) or a `Vec<u8>` (any bytes)"
)]
pub trait RawValue: Sized {
    /// The bytes stored.
    fn as_raw_bytes(&self) -> &[u8];
    /// The value of stored bytes.
    fn from_raw_bytes(bytes: Vec<u8>) -> Result<Self, DecodeErrorKind>;
}

impl RawValue for Vec<u8> {
    fn as_raw_bytes(&self) -> &[u8] {
        self
    }
    fn from_raw_bytes(bytes: Vec<u8>) -> Result<Self, DecodeErrorKind> {
        Ok(bytes)
    }
}

impl RawValue for String {
    fn as_raw_bytes(&self) -> &[u8] {
        self.as_bytes()
    }
    fn from_raw_bytes(bytes: Vec<u8>) -> Result<Self, DecodeErrorKind> {
        String::from_utf8(bytes).map_err(|_| DecodeErrorKind::InvalidUtf8)
    }
}

/// A `#[redis(codec = raw)]` model: its key fields and one raw value field.
/// Implemented by the derive.
#[doc(hidden)]
pub trait RawModel: RedisModel {
    /// The Rust name of the value field.
    const VALUE_FIELD: &'static str;
    /// The value field's type.
    type Value: RawValue;
    /// The value field.
    fn raw_value(&self) -> &Self::Value;
    /// The entity of `id` holding `value`.
    fn from_raw(id: &Self::Id, value: Self::Value) -> Self;
}

/// The model codec of `#[redis(codec = raw)]`.
#[doc(hidden)]
#[derive(Debug)]
pub struct RawCodec;

impl<M: RawModel> Codec<M> for RawCodec {
    const ENCODING: Encoding = Encoding::Raw;

    fn write_value<W: RedisWrite + ?Sized>(model: &M, out: &mut W) -> Result<(), Error> {
        out.write_arg(model.raw_value().as_raw_bytes());
        Ok(())
    }

    fn decode(_: Value) -> Result<M, DecodeError> {
        // Only the value is stored; the key fields come from the key.
        Err(DecodeError::of::<M>(
            None,
            DecodeErrorKind::UnexpectedReply("a raw model is decoded with its key"),
        ))
    }

    fn decode_keyed(id: &<M as Family>::Id, value: Value) -> Result<M, DecodeError>
    where
        M: Family,
    {
        let bytes = crate::model::string_reply::<M>(value)?;
        let raw = M::Value::from_raw_bytes(bytes)
            .map_err(|kind| DecodeError::of::<M>(Some(M::VALUE_FIELD), kind))?;
        Ok(M::from_raw(id, raw))
    }
}
