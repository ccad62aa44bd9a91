//! Typed Redis access: declare a model once with `#[derive(RedisModel)]`, and
//! never write a key string or a raw command again.
//!
//! ```no_run
//! use redis_runtime::{Config, RedisModel, Store};
//!
//! #[derive(Debug, RedisModel)]
//! #[redis(key = "user:{id}", ttl = "30d")]
//! struct User {
//!     id: u64,
//!     email: String,
//!     name: Option<String>,
//!     logins: i64,
//! }
//!
//! # async fn run() -> redis_runtime::Result<()> {
//! let store = Store::connect(&Config::from_env()?).await?;
//! store.save(&User { id: 7, email: "ada@example.com".into(), name: None, logins: 0 }).await?;
//! let user: Option<User> = store.get::<User>(&7).await?;
//! store.incr(&7, User::fields().logins, 1).await?;
//! # Ok(()) }
//! ```
//!
//! - [`RedisModel`](derive@RedisModel) (the derive) checks the key template at
//!   compile time and documents every attribute.
//! - [`RedisSet`](derive@RedisSet), [`RedisSortedSet`](derive@RedisSortedSet),
//!   [`RedisList`](derive@RedisList), [`RedisMap`](derive@RedisMap) and
//!   [`RedisCounter`](derive@RedisCounter) declare the other Redis data types
//!   the same way; [`collection`] documents their handles, element encodings
//!   and TTL policy.
//! - [`RedisLock`](derive@RedisLock) declares leases (owner and fencing
//!   tokens, [`lease`]) and [`RedisRateLimit`](derive@RedisRateLimit) rate
//!   limiters (fixed, sliding or GCRA, [`rate_limit`]).
//! - [`Store`] holds the connection and runs every typed operation.
//! - [`Config`] is the one place Redis is configured.
//! - [`client_cache`] caches the reads of models declared
//!   `#[redis(client_cache)]` in the process, kept fresh by the server.
//! - [`Error`] is the one error type.
//! - [`KeyPart`] turns id values into escaped key parts ([`key`] has what
//!   implementing it by hand needs, and the rendered [`key::RenderedKey`]).
//! - [`keyspace!`] declares an application's models, checks at compile time
//!   that no two can render the same key, and exports the key manifest and ACL
//!   rule ([`keyspace`](mod@keyspace)).
//! - [`codec`] stores a model in an application's own format
//!   (`#[redis(codec = ...)]`: bincode, protobuf, a legacy string) or a plain
//!   string or bytes value as is (`codec = raw`).
//! - [`model`] names the pieces of a model's typed API: field handles, the
//!   traits a custom field type implements, the description the derive
//!   generates.
//! - [`raw`] is the escape hatch for commands the typed API lacks
//!   ([`Store::raw_access`]), and [`redis`] the redis-rs it is built with.
//! - With the `testing` feature, `testing::RedisServer` spawns a private
//!   `redis-server` for tests and examples.

pub mod channel;
pub mod client_cache;
pub mod codec;
pub mod collection;
mod config;
mod connection;
mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod key;
pub mod keyspace;
pub mod lease;
pub mod model;
mod nesting;
pub mod observe;
pub mod rate_limit;
pub mod raw;
mod script;
mod store;
pub mod stream;
#[cfg(feature = "testing")]
pub mod testing;
mod value;

pub use channel::RedisChannel;
pub use collection::{RedisCounter, RedisList, RedisMap, RedisQueue, RedisSet, RedisSortedSet};
pub use config::{
    Config, ConfigBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_RESPONSE_TIMEOUT,
    DEFAULT_SLOW_THRESHOLD, DEFAULT_URL,
};
pub use error::{DecodeError, DecodeErrorKind, Error, Outcome, Result, ServerState, Waiting};
pub use key::{KeyPart, KeyPartError};
pub use keyspace::Keyspace;
pub use lease::RedisLock;
pub use model::{Family, RedisModel};
pub use rate_limit::RedisRateLimit;
pub use raw::RedisRaw;
pub use store::{
    Expiry, FieldSet, Health, InsertOrGet, MODIFY_ATTEMPTS, NodeHealth, Page, Role, Store, Update,
    Updated,
};
pub use stream::RedisStream;

/// The redis-rs this crate is built with, for [`raw`] and for
/// `FromRedisValue`/`ToRedisArgs` impls: depend on it through here and the
/// versions always match.
pub use redis;

#[cfg(feature = "derive")]
pub use redis_derive::{
    KeyPart, RedisCounter, RedisList, RedisMap, RedisModel, RedisSet, RedisSortedSet,
};
#[cfg(feature = "derive")]
pub use redis_derive::{RedisChannel, RedisLock, RedisRateLimit, RedisRaw, RedisStream};

/// Items used by the code `#[derive(RedisModel)]` generates. Not public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::channel::RedisChannel;
    pub use crate::client_cache::{ClientCachePolicy, CloneProbe, ViaClone, ViaNothing};
    pub use crate::codec::{CustomCodec, RawCodec, RawModel, ValueCodec};
    pub use crate::collection::{
        ElementCodec, JsonElement, KeyPartElement, RedisCounter, RedisList, RedisMap, RedisQueue,
        RedisSet, RedisSortedSet, ValueElement,
    };
    pub use crate::error::{DecodeError, DecodeErrorKind, Error};
    pub use crate::key::{
        InvalidKeyPart, KeyPart, KeyPartError, KeyPartWriter, KeyParts, KeyTemplate, KeyWriter,
        PartShape, Segment,
    };
    pub use crate::keyspace::ModelRegistration;
    pub use crate::lease::{RedisLock, write_fence_tag, write_slot_tag};
    pub use crate::model::{
        Codec, Constraint, ConstraintKind, Coordination, Encoding, Family, Field, FieldMeta,
        FieldStorage, HashCodec, HashFields, JsonCodec, Kind, ModelMeta, MsgpackCodec, Optional,
        RedisModel, Required,
    };
    pub use crate::rate_limit::{Algorithm as RateAlgorithm, RedisRateLimit};
    pub use crate::raw::RedisRaw;
    pub use crate::script::{COORDINATED_WRITE_LUA, INDEX_CHECK_LUA};
    pub use crate::store::{IndexQuery, Page, Store};
    pub use crate::stream::{RedisStream, Trim};
    pub use crate::value::{HashValue, Json};
    pub use core::option::Option::{self, None, Some};
    pub use core::result::Result::{self, Err, Ok};
    pub use core::time::Duration;
    pub use futures_util::Stream;
    pub use inventory;
    pub use redis::{FromRedisValue, ParsingError, RedisWrite, Value};
    pub use std::string::String;
    pub use std::vec::Vec;

    /// Decodes a model from a redis-rs reply (the generated `FromRedisValue`).
    pub fn from_redis_value<M: RedisModel>(value: Value) -> Result<M, ParsingError> {
        <M::Codec as Codec<M>>::decode(value).map_err(|e| ParsingError::from(e.to_string()))
    }

    /// The error for a field missing from a stored hash.
    pub fn missing<M: RedisModel>(field: &'static str) -> DecodeError {
        field_error::<M>(field, DecodeErrorKind::MissingField)
    }

    /// An error for one field of a stored hash.
    pub fn field_error<M: RedisModel>(field: &'static str, kind: DecodeErrorKind) -> DecodeError {
        DecodeError::of::<M>(Some(field), kind)
    }

    /// An error for a hash field the model does not declare (`deny_unknown_fields`).
    pub fn unknown_field<M: RedisModel>(name: &[u8]) -> DecodeError {
        let mut shown: String = String::from_utf8_lossy(name).chars().take(64).collect();
        shown.retain(|c| !c.is_control());
        DecodeError::of::<M>(None, DecodeErrorKind::UnknownField(shown))
    }

    /// The error for a `#[redis(json)]` field that fails to serialize.
    pub fn json_field_error<M: RedisModel>(field: &'static str, err: serde_json::Error) -> Error {
        Error::encode::<M>(Some(field), err.to_string())
    }

    /// Decodes one hash value through [`HashValue`].
    #[inline]
    pub fn decode_value<M: RedisModel, T: HashValue>(
        field: &'static str,
        raw: Vec<u8>,
    ) -> Result<T, DecodeError> {
        T::from_hash_value(raw).map_err(|kind| field_error::<M>(field, kind))
    }

    /// Decodes one JSON hash value.
    #[inline]
    pub fn decode_json<M: RedisModel, T: serde::de::DeserializeOwned>(
        field: &'static str,
        raw: Vec<u8>,
    ) -> Result<T, DecodeError> {
        Json::<T>::decode(raw).map_err(|kind| field_error::<M>(field, kind))
    }

    /// Writes one hash field whose value goes through [`HashValue`].
    #[inline]
    pub fn write_value<W: RedisWrite + ?Sized, T: HashValue>(out: &mut W, name: &str, value: &T) {
        if value.is_present() {
            out.write_arg(name.as_bytes());
            value.write_hash_value(out);
        }
    }

    /// Writes one JSON hash field.
    #[inline]
    pub fn write_json<M: RedisModel, W: RedisWrite + ?Sized, T: serde::Serialize>(
        out: &mut W,
        field: &'static str,
        name: &str,
        value: &T,
    ) -> Result<(), Error> {
        out.write_arg(name.as_bytes());
        Json::write(value, out).map_err(|e| json_field_error::<M>(field, e))
    }

    /// Writes a placeholder field into the hash, in its key-part form (unescaped).
    #[inline]
    pub fn write_key_field<W: RedisWrite + ?Sized, T: KeyPart>(out: &mut W, name: &str, value: &T) {
        out.write_arg(name.as_bytes());
        crate::key::with_raw_key_part(value, |raw| out.write_arg(raw));
    }

    /// Decodes a placeholder field stored in the hash.
    #[inline]
    pub fn decode_key_field<M: RedisModel, T: KeyPart>(
        field: &'static str,
        raw: Vec<u8>,
    ) -> Result<T, DecodeError> {
        let kind = |reason| DecodeErrorKind::KeyPart { field, reason };
        // The renderer never produces an empty part, so a stored one is corrupt.
        if raw.is_empty() {
            return Err(field_error::<M>(field, kind(KeyPartError::Empty)));
        }
        T::from_key_part(raw).map_err(|reason| field_error::<M>(field, kind(reason)))
    }

    /// The codec of the stub impl emitted next to derive errors; never runs.
    #[derive(Debug)]
    pub enum FallbackCodec {}

    impl<M: RedisModel> Codec<M> for FallbackCodec {
        const ENCODING: Encoding = Encoding::Hash;
        fn write_value<W: RedisWrite + ?Sized>(_: &M, _: &mut W) -> Result<(), Error> {
            unreachable!("a model whose derive failed is never compiled")
        }
        fn decode(_: Value) -> Result<M, DecodeError> {
            unreachable!("a model whose derive failed is never compiled")
        }
    }

    /// The description of the stub impl emitted next to derive errors.
    pub const FALLBACK_META: ModelMeta = ModelMeta {
        name: "?",
        module_path: "?",
        key: KeyTemplate {
            source: "?",
            separator: b':',
            segments: &[],
        },
        kind: Kind::Entity(Encoding::Hash),
        ttl: None,
        fields: &[],
        coordination: None,
    };

    /// Asserts at compile time that a placeholder field's type is a key part,
    /// and gives its shape (one function, so a bad type is reported once).
    pub const fn assert_key_part<T: KeyPart>() -> PartShape {
        T::SHAPE
    }
    /// Asserts at compile time that a hash field's type has a hash encoding.
    pub const fn assert_hash_value<T: HashValue>() {}

    /// Implemented by the collection derives so that the fields of a
    /// declaration that is never built (its id is its one field's type)
    /// count as read.
    pub trait ReadsFields {
        /// Reads every field.
        fn reads_fields(&self);
    }

    /// A set or sorted set member written as a key part.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be a member as a key part",
        label = "members are key parts unless the declaration says `json`",
        note = "key parts are strings, integers, `bool`, `char`, `uuid::Uuid` (feature `uuid`), or `#[derive(KeyPart)]` newtypes",
        note = "for a serde type, add `json` to the attribute: `#[redis(key = \"...\", member = T, json)]`"
    )]
    pub trait Member {}
    #[diagnostic::do_not_recommend]
    impl<T: KeyPart> Member for T {}
    /// Asserts at compile time that a member type is a key part.
    pub const fn assert_member<T: Member>() {}

    /// An element written as serde JSON.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be stored as JSON",
        label = "elements declared `json` (and list items) are serde JSON",
        note = "derive `serde::Serialize` and `serde::Deserialize` for `{Self}`"
    )]
    pub trait JsonElementType {}
    #[diagnostic::do_not_recommend]
    impl<T: serde::Serialize + serde::de::DeserializeOwned> JsonElementType for T {}
    /// Asserts at compile time that an element type is serde.
    pub const fn assert_json_element<T: JsonElementType>() {}

    /// The value of a `#[redis(skip)]` field, or of a `#[redis(default)]` field
    /// missing from the stored hash.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` has no default value, which a `#[redis(skip)]` or `#[redis(default)]` field needs",
        label = "this field's type does not implement `Default`",
        note = "implement or derive `Default` for `{Self}`, or remove `#[redis(skip)]` / `#[redis(default)]`"
    )]
    pub trait FieldDefault: Sized {
        /// The default value.
        fn field_default() -> Self;
    }

    #[diagnostic::do_not_recommend]
    impl<T: Default> FieldDefault for T {
        #[inline]
        fn field_default() -> T {
            T::default()
        }
    }
}

/// The README's examples, compiled as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
