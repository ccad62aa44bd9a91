//! Models: the [`RedisModel`] trait `#[derive(RedisModel)]` implements, the
//! static description of a model ([`ModelMeta`]), the typed field handles of
//! hash models ([`Field`], from `Model::fields()`), and the traits a custom
//! hash field type implements ([`HashValue`], [`Integer`]).
//!
//! The codecs and the key-writing methods are the derive's contract with the
//! runtime; they are public for the generated code, and hidden.

pub use crate::value::{HashValue, Integer, Json};

use std::marker::PhantomData;
use std::time::Duration;

use redis::{RedisWrite, Value};

use crate::error::{DecodeError, DecodeErrorKind, Error};
use crate::key::{InvalidKeyPart, KeyParts, KeyTemplate, KeyWriter};

/// How a model is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Encoding {
    /// One Redis hash per entity, one hash field per struct field.
    Hash,
    /// One Redis string per entity holding the struct as JSON (serde).
    Json,
    /// One Redis string per entity holding the struct as MessagePack with field names (serde).
    Msgpack,
    /// One Redis string per entity encoded by a custom
    /// [`ValueCodec`](crate::codec::ValueCodec) (`#[redis(codec = path)]`),
    /// with the codec's [`NAME`](crate::codec::ValueCodec::NAME).
    Codec(&'static str),
    /// One Redis string per entity holding its one value field byte for byte
    /// (`#[redis(codec = raw)]`).
    Raw,
}

impl Encoding {
    /// The encoding's name as written in `#[redis(encoding = "...")]`;
    /// `codec` for every custom codec (a bounded label for metrics: the
    /// codec's own name is [`Encoding::describe`]'s), `raw` for the raw form.
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Hash => "hash",
            Encoding::Json => "json",
            Encoding::Msgpack => "msgpack",
            Encoding::Codec(_) => "codec",
            Encoding::Raw => "raw",
        }
    }

    /// The encoding as the key manifest records it: [`Encoding::as_str`],
    /// except `codec:<NAME>` for a custom codec.
    pub fn describe(self) -> std::borrow::Cow<'static, str> {
        match self {
            Encoding::Codec(name) => format!("codec:{name}").into(),
            other => other.as_str().into(),
        }
    }

    /// The Redis type of a key holding this encoding (`hash` or `string`).
    pub fn redis_type(self) -> &'static str {
        match self {
            Encoding::Hash => "hash",
            Encoding::Json | Encoding::Msgpack | Encoding::Codec(_) | Encoding::Raw => "string",
        }
    }
}

/// How one field is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FieldStorage {
    /// Its own hash field, encoded by [`HashValue`].
    Value,
    /// Its own hash field holding JSON (`#[redis(json)]`).
    Json,
    /// A placeholder field: part of the key, and (in hash models) its own hash
    /// field in key-part form.
    KeyPart,
    /// Not stored (`#[redis(skip)]`).
    Skipped,
}

/// The static description of one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldMeta {
    /// The Rust field name.
    pub name: &'static str,
    /// The stored hash field name (after `rename`).
    pub stored_as: &'static str,
    /// The Rust type as written.
    pub rust_type: &'static str,
    /// How it is stored.
    pub storage: FieldStorage,
    /// Whether an absent hash field decodes (to `None` or `Default`).
    pub optional: bool,
}

/// What a key family's keys hold: entities of a model, or one of the
/// collection kinds ([`crate::collection`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// Entities of a `#[derive(RedisModel)]` struct, in this encoding.
    Entity(Encoding),
    /// A set per key (`#[derive(RedisSet)]`).
    Set,
    /// A sorted set per key (`#[derive(RedisSortedSet)]`).
    SortedSet,
    /// A list per key (`#[derive(RedisList)]`).
    List,
    /// A hash of typed fields and values per key (`#[derive(RedisMap)]`).
    Map,
    /// A lease per key (`#[derive(RedisLock)]`): its holder's token, with a TTL.
    Lease,
    /// The fencing-token counter of a lease family (`{Lock}Fence`, generated).
    LeaseFence,
    /// A rate limiter per key (`#[derive(RedisRateLimit)]`), with its algorithm.
    RateLimit(crate::rate_limit::Algorithm),
    /// An integer counter per key (`#[derive(RedisCounter)]`).
    Counter,
    /// A secondary index of a model's field (`#[redis(index)]`): one sorted
    /// set per hash-tag value of `hex(value):key` members, maintained by the
    /// model's writes ([`Coordination`]).
    Index,
    /// A range index of a model's numeric field (`#[redis(index(range))]`):
    /// one sorted set per hash-tag value of entity keys scored by the value.
    RangeIndex,
    /// A unique constraint of a model's field (`#[redis(unique)]`): one hash
    /// per hash-tag value from each claimed value to the entity's key.
    Unique,
    /// An event stream per key (`#[derive(RedisStream)]`).
    Stream,
    /// The dead-letter stream of a stream family (`{Stream}DeadLetter`,
    /// generated).
    StreamDeadLetter,
    /// The processed-id sets of a stream family's consumer groups
    /// (`{Stream}Processed`, generated): a sorted set of ids by time.
    StreamProcessed,
    /// A pub/sub channel per name (`#[derive(RedisChannel)]`): no key.
    Channel,
    /// A family the application still reaches by hand, through
    /// [`Store::raw_access`](crate::Store::raw_access), declared with
    /// `#[derive(RedisRaw)]` so that the manifest, the ACL rule and doctor
    /// cover it: the Redis type its keys hold (`string`, `hash`, `list`,
    /// `set`, `zset` or `stream`, as `TYPE` names it) and the commands the
    /// hand-written code sends to them (lower case, `parent|sub` for a
    /// subcommand, as the ACL spells them). It has no typed operations.
    Raw {
        /// The Redis type of its keys, as `TYPE` names it.
        redis_type: &'static str,
        /// The commands the hand-written code sends to its keys.
        commands: &'static [&'static str],
    },
}

impl Kind {
    /// The Redis type of the family's keys, as `TYPE` names it.
    pub fn redis_type(self) -> &'static str {
        match self {
            Kind::Entity(encoding) => encoding.redis_type(),
            Kind::Set => "set",
            Kind::SortedSet => "zset",
            Kind::List => "list",
            Kind::Map => "hash",
            Kind::Lease | Kind::LeaseFence => "string",
            Kind::RateLimit(algorithm) => algorithm.redis_type(),
            Kind::Counter => "string",
            Kind::Index | Kind::RangeIndex => "zset",
            Kind::Unique => "hash",
            Kind::Stream | Kind::StreamDeadLetter => "stream",
            Kind::StreamProcessed => "zset",
            Kind::Channel => "channel",
            Kind::Raw { redis_type, .. } => redis_type,
        }
    }

    /// The kind's name: an entity's encoding (`hash`, `json`, `msgpack`,
    /// `codec`, `raw`),
    /// or `set`, `sorted_set`, `list`, `map`, `counter`, `lease`,
    /// `lease_fence`, `rate_limit_fixed`, `rate_limit_sliding`,
    /// `rate_limit_gcra`, `index`, `range_index`, `unique`, `stream`,
    /// `stream_dead_letter`, `stream_processed`, `channel`, `raw`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Entity(encoding) => encoding.as_str(),
            Kind::Set => "set",
            Kind::SortedSet => "sorted_set",
            Kind::List => "list",
            Kind::Map => "map",
            Kind::Lease => "lease",
            Kind::LeaseFence => "lease_fence",
            Kind::RateLimit(algorithm) => algorithm.kind_name(),
            Kind::Counter => "counter",
            Kind::Index => "index",
            Kind::RangeIndex => "range_index",
            Kind::Unique => "unique",
            Kind::Stream => "stream",
            Kind::StreamDeadLetter => "stream_dead_letter",
            Kind::StreamProcessed => "stream_processed",
            Kind::Channel => "channel",
            Kind::Raw { .. } => "raw_family",
        }
    }

    /// Whether the family names pub/sub channels rather than keys.
    pub fn is_channel(self) -> bool {
        self == Kind::Channel
    }

    /// The commands a raw family (`#[derive(RedisRaw)]`) declares; `None`
    /// for every other kind, whose commands are the runtime's own
    /// ([`commands_for_kind`](crate::keyspace::commands::commands_for_kind)).
    pub fn raw_commands(self) -> Option<&'static [&'static str]> {
        match self {
            Kind::Raw { commands, .. } => Some(commands),
            _ => None,
        }
    }

    /// The encoding of an entity family; `None` for a collection.
    pub fn encoding(self) -> Option<Encoding> {
        match self {
            Kind::Entity(encoding) => Some(encoding),
            _ => None,
        }
    }
}

/// The static description of a key family: everything its derive declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelMeta {
    /// The struct's name.
    pub name: &'static str,
    /// The module that declares it (`module_path!()`).
    pub module_path: &'static str,
    /// The key template.
    pub key: KeyTemplate,
    /// What the keys hold.
    pub kind: Kind,
    /// The TTL a full save (entities) or a write that creates the key
    /// (collections) applies, if any.
    pub ttl: Option<Duration>,
    /// The fields, in declaration order (for a collection: its key's
    /// placeholder fields).
    pub fields: &'static [FieldMeta],
    /// A model's version field, unique constraints and indexes, with the
    /// key families that hold them; `None` for a model without any, and for
    /// every other kind.
    pub coordination: Option<&'static Coordination>,
}

impl ModelMeta {
    /// This family and the families that exist because of it (a model's
    /// index and unique-constraint keys), in that order.
    pub fn families(&'static self) -> impl Iterator<Item = &'static ModelMeta> {
        std::iter::once(self).chain(
            self.coordination
                .into_iter()
                .flat_map(|c| c.constraints.iter().map(|constraint| &constraint.family)),
        )
    }
}

/// What a model keeps consistent beyond its own key: a version field for
/// compare-and-set writes, unique constraints and secondary indexes.
///
/// Declared with field attributes (`#[redis(version)]`, `#[redis(unique)]`,
/// `#[redis(index)]`, `#[redis(index(range))]`) on a hash model with a hash
/// tag. Every write of such a model is one script that updates the entity,
/// its version and every constraint key together; the constraint keys share
/// the entity's hash tag, so each script touches one hash slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coordination {
    /// The stored name of the version field, if the model has one.
    pub version: Option<&'static str>,
    /// The unique constraints and indexes, in field declaration order.
    pub constraints: &'static [Constraint],
}

/// One unique constraint or index of a model's field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Constraint {
    /// The Rust name of the constrained field.
    pub field: &'static str,
    /// Its stored hash field name.
    pub stored_as: &'static str,
    /// What is kept for it.
    pub kind: ConstraintKind,
    /// The key family holding it: one key per hash-tag value, its template
    /// the entity template up to the hash tag, then one literal naming the
    /// model, the kind and the field (`org:{org}:User.index.role`).
    pub family: ModelMeta,
}

/// What a [`Constraint`] keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConstraintKind {
    /// At most one entity per value within the hash tag (`#[redis(unique)]`):
    /// a hash from each value to the key of the entity holding it.
    Unique,
    /// Every entity per value within the hash tag (`#[redis(index)]`): a
    /// sorted set of `hex(value):key` members, queried by lexical range.
    Index,
    /// Every entity ordered by a numeric value (`#[redis(index(range))]`): a
    /// sorted set of entity keys scored by the value.
    RangeIndex,
}

impl ConstraintKind {
    /// `unique`, `index` or `range`.
    pub fn as_str(self) -> &'static str {
        match self {
            ConstraintKind::Unique => "unique",
            ConstraintKind::Index => "index",
            ConstraintKind::RangeIndex => "range",
        }
    }
}

/// A family of keys rendered from one key template: the keys of a model's
/// entities, or of a collection declaration. Implemented by the derives.
///
/// The methods are the derives' contract with the runtime.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a Redis key family",
    note = "derive `RedisModel`, `RedisSet`, `RedisSortedSet`, `RedisList`, `RedisMap`, `RedisCounter` or (for a family reached by hand) `RedisRaw` for `{Self}`"
)]
pub trait Family: Sized + Send + Sync + 'static {
    /// What tells the family's keys apart: the type of its one placeholder
    /// field, `()` without placeholders, or (several placeholders) a
    /// generated `{Model}Id` struct for models and the declaration itself
    /// for collections.
    type Id: Send + Sync;
    /// The static description.
    const META: &'static ModelMeta;
    /// How reads are cached in the process when the store's client cache is
    /// on (`#[redis(client_cache)]` on a model, see
    /// [`client_cache`](crate::client_cache)); `None` for every other declaration.
    const CLIENT_CACHE: Option<crate::client_cache::ClientCachePolicy> = None;

    /// `Clone::clone` when the type is `Clone` and declared `client_cache`:
    /// an owned cached read then clones the decoded value the cache shares
    /// instead of decoding the reply again. `None` otherwise.
    #[doc(hidden)]
    fn cache_clone() -> Option<fn(&Self) -> Self> {
        None
    }

    /// Writes the key parts of an id.
    #[doc(hidden)]
    fn write_id_key(id: &Self::Id, key: &mut KeyWriter<'_>) -> Result<(), InvalidKeyPart>;
    /// Parses an id from the parts of a stored key.
    #[doc(hidden)]
    fn parse_id(parts: &mut KeyParts<'_>) -> Result<Self::Id, InvalidKeyPart>;
}

/// A struct stored in Redis under a typed key. Implemented by `#[derive(RedisModel)]`.
///
/// The methods are the derive's contract with the runtime and are not meant to
/// be called directly; use [`crate::Store`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a Redis model",
    note = "add `#[derive(RedisModel)]` with `#[redis(key = \"...\")]` to `{Self}`"
)]
pub trait RedisModel: Family {
    /// How the model's value is encoded.
    #[doc(hidden)]
    type Codec: Codec<Self>;

    /// Writes the key parts of this entity.
    #[doc(hidden)]
    fn write_key(&self, key: &mut KeyWriter<'_>) -> Result<(), InvalidKeyPart>;
    /// This entity's id (the model's [`Family::Id`]: the type of its one
    /// placeholder field, or a generated `{Model}Id` struct when the key
    /// template has several placeholders).
    fn id(&self) -> Self::Id;
    /// The first id field whose stored value differs from `id`, the id the
    /// entity was read under (its key).
    #[doc(hidden)]
    fn id_mismatch(&self, id: &Self::Id) -> Option<&'static str> {
        let _ = id;
        None
    }
    /// The value of the `#[redis(version)]` field; `None` without one.
    #[doc(hidden)]
    fn stored_version(&self) -> Option<u64> {
        None
    }
    /// Sets the `#[redis(version)]` field (a no-op without one).
    #[doc(hidden)]
    fn set_stored_version(&mut self, version: u64) {
        let _ = version;
    }
}

/// A model's value encoding. `HashCodec`, `JsonCodec` and `MsgpackCodec` implement it.
#[doc(hidden)]
pub trait Codec<M>: 'static {
    /// The encoding.
    const ENCODING: Encoding;
    /// Writes the stored value: `field value ...` pairs for hashes, one argument for strings.
    fn write_value<W: RedisWrite + ?Sized>(model: &M, out: &mut W) -> Result<(), Error>;
    /// Decodes a stored value: the `HGETALL` reply for hashes, the `GET` reply for strings.
    /// `Value::Nil` (or an empty hash) is never passed.
    fn decode(value: Value) -> Result<M, DecodeError>;
    /// Decodes the stored value of the entity of `id`: what the store calls.
    /// [`Codec::decode`] unless the value lacks the key fields (`codec = raw`).
    fn decode_keyed(id: &<M as Family>::Id, value: Value) -> Result<M, DecodeError>
    where
        M: Family,
    {
        let _ = id;
        Self::decode(value)
    }
}

/// The field-level encoding of a hash model. Implemented by `#[derive(RedisModel)]`.
pub trait HashFields: RedisModel {
    /// Writes `field value` pairs for every present field.
    fn write_fields<W: RedisWrite + ?Sized>(&self, out: &mut W) -> Result<(), Error>;
    /// Decodes from `(field, value)` pairs of an `HGETALL` reply.
    fn decode_fields(
        pairs: &mut dyn Iterator<Item = (Vec<u8>, Vec<u8>)>,
    ) -> Result<Self, DecodeError>;
}

/// The hash encoding.
#[doc(hidden)]
#[derive(Debug)]
pub struct HashCodec;

/// The JSON string encoding.
///
/// **Nesting limit.** A stored document nested more than 64 levels deep
/// (arrays, objects and the one-entry objects of serde enum variants on one
/// path, the model's own object counting as one) does not decode: reading it
/// is an [`Error::Decode`] of kind [`DecodeErrorKind::Json`] whose message says
/// the nesting limit of 64 levels was exceeded, never a stack overflow, in
/// debug builds too. The value of a field the model does not declare is
/// skipped without recursing, so it may be deeper. The same limit holds for
/// [`MsgpackCodec`] and for `#[redis(json)]` hash fields ([`Json`]).
#[doc(hidden)]
#[derive(Debug)]
pub struct JsonCodec;

/// The MessagePack string encoding.
///
/// **Nesting limit.** A stored document nested more than 64 levels deep
/// (arrays, maps and the one-entry maps of serde enum variants on one path,
/// the model's own map counting as one, the value of a field the model does
/// not declare included) does not decode: reading it is an [`Error::Decode`]
/// of kind [`DecodeErrorKind::Msgpack`] whose message says the nesting limit
/// of 64 levels was exceeded, never a stack overflow, in debug builds too.
#[doc(hidden)]
#[derive(Debug)]
pub struct MsgpackCodec;

impl<M: HashFields> Codec<M> for HashCodec {
    const ENCODING: Encoding = Encoding::Hash;

    fn write_value<W: RedisWrite + ?Sized>(model: &M, out: &mut W) -> Result<(), Error> {
        model.write_fields(out)
    }

    fn decode(value: Value) -> Result<M, DecodeError> {
        let unexpected = |what| DecodeError::of::<M>(None, DecodeErrorKind::UnexpectedReply(what));
        match value {
            // RESP2: a flat array of alternating names and values.
            Value::Array(items) => {
                if items.len() % 2 != 0 {
                    return Err(unexpected("odd number of elements in a hash reply"));
                }
                let mut bad = None;
                let mut iter = items.into_iter();
                let decoded = M::decode_fields(&mut std::iter::from_fn(|| {
                    let name = iter.next()?;
                    let value = iter.next()?;
                    match (name, value) {
                        (Value::BulkString(n), Value::BulkString(v)) => Some((n, v)),
                        _ => {
                            bad = Some(());
                            None
                        }
                    }
                }));
                if bad.is_some() {
                    return Err(unexpected("non-string element in a hash reply"));
                }
                decoded
            }
            // RESP3: a map.
            Value::Map(entries) => {
                let mut bad = None;
                let mut iter = entries.into_iter();
                let decoded = M::decode_fields(&mut std::iter::from_fn(|| match iter.next()? {
                    (Value::BulkString(n), Value::BulkString(v)) => Some((n, v)),
                    _ => {
                        bad = Some(());
                        None
                    }
                }));
                if bad.is_some() {
                    return Err(unexpected("non-string element in a hash reply"));
                }
                decoded
            }
            _ => Err(unexpected("expected a hash")),
        }
    }
}

pub(crate) fn string_reply<M: RedisModel>(value: Value) -> Result<Vec<u8>, DecodeError> {
    match value {
        Value::BulkString(bytes) => Ok(bytes),
        Value::SimpleString(s) => Ok(s.into_bytes()),
        _ => Err(DecodeError::of::<M>(
            None,
            DecodeErrorKind::UnexpectedReply("expected a string"),
        )),
    }
}

/// A serde data format a string-encoded model is stored in: the one
/// difference between [`JsonCodec`] and [`MsgpackCodec`].
#[doc(hidden)]
pub trait SerdeFormat: 'static {
    /// The encoding.
    const ENCODING: Encoding;
    /// Serializes a whole model.
    fn to_vec<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, String>;
    /// Deserializes a whole model, within the nesting limit.
    fn from_bytes<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, DecodeErrorKind>;
}

impl SerdeFormat for JsonCodec {
    const ENCODING: Encoding = Encoding::Json;

    fn to_vec<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, String> {
        serde_json::to_vec(value).map_err(|e| e.to_string())
    }

    fn from_bytes<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, DecodeErrorKind> {
        crate::value::json_from_bytes(bytes)
    }
}

impl SerdeFormat for MsgpackCodec {
    const ENCODING: Encoding = Encoding::Msgpack;

    fn to_vec<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, String> {
        rmp_serde::to_vec_named(value).map_err(|e| e.to_string())
    }

    fn from_bytes<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, DecodeErrorKind> {
        // rmp_serde's own depth limit counts arrays and maps but not the
        // one-entry map of an enum variant, so `enum E { A(Box<E>) }` nests
        // without bound: the depth is counted here instead, for every path.
        let mut de = rmp_serde::Deserializer::from_read_ref(bytes);
        crate::nesting::deserialize(&mut de)
            .map_err(|e| DecodeErrorKind::Msgpack(crate::error::scrub_serde_message(e.to_string())))
    }
}

impl<M, F> Codec<M> for F
where
    M: RedisModel + serde::Serialize + serde::de::DeserializeOwned,
    F: SerdeFormat,
{
    const ENCODING: Encoding = F::ENCODING;

    fn write_value<W: RedisWrite + ?Sized>(model: &M, out: &mut W) -> Result<(), Error> {
        // Serializing into a `Vec` first, then one argument, is faster than
        // streaming into the command buffer: serde_json's `Vec` writer is its
        // fast path, the buffer grows once instead of per token, and
        // `writer_for_next_arg` would cost an indirect small write per token
        // (measured in BENCHMARKS.md S1).
        let bytes = F::to_vec(model).map_err(|message| Error::encode::<M>(None, message))?;
        out.write_arg(&bytes);
        Ok(())
    }

    fn decode(value: Value) -> Result<M, DecodeError> {
        let bytes = string_reply::<M>(value)?;
        F::from_bytes(&bytes).map_err(|kind| DecodeError::of::<M>(None, kind))
    }
}

/// Marker: a field whose absence decodes to `None` or `Default`, and which can be cleared.
#[derive(Debug, Clone, Copy)]
pub enum Optional {}
/// Marker: a field that must be present.
#[derive(Debug, Clone, Copy)]
pub enum Required {}

/// A typed handle to one field of a hash model, for partial reads and writes.
///
/// `V` is the stored type: the field's type (the inner type for `Option`
/// fields), or [`Json<T>`] for `#[redis(json)]` fields; the value read and
/// written is `V::Value` ([`FieldValue`]). `K` is [`Required`] or [`Optional`].
/// Obtain them from the generated `Model::fields()`.
pub struct Field<M, V, K = Required> {
    stored_as: &'static str,
    _marker: FieldMarker<M, V, K>,
}

/// Ties a [`Field`] to its types without owning any of them.
type FieldMarker<M, V, K> = PhantomData<fn() -> (M, V, K)>;

impl<M, V, K> Field<M, V, K> {
    #[doc(hidden)]
    pub const fn new(stored_as: &'static str) -> Self {
        Field {
            stored_as,
            _marker: PhantomData,
        }
    }

    /// The stored hash field name.
    pub const fn name(&self) -> &'static str {
        self.stored_as
    }
}

impl<M, V, K> Clone for Field<M, V, K> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<M, V, K> Copy for Field<M, V, K> {}

impl<M, V, K> std::fmt::Debug for Field<M, V, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Field").field(&self.stored_as).finish()
    }
}

/// How a [`Field`]'s value is written and read: through [`HashValue`]
/// for plain fields, as JSON for [`Json`] (`#[redis(json)]`) fields.
pub trait FieldValue {
    /// The Rust value read and written.
    type Value;
    /// Writes the value as one argument, or nothing when the value is absent
    /// (a `None`): the field is then removed from the hash.
    fn write_field<W: RedisWrite + ?Sized>(value: &Self::Value, out: &mut W) -> Result<(), String>;
    /// Decodes the stored value.
    fn read_field(raw: Vec<u8>) -> Result<Self::Value, DecodeErrorKind>;
}

impl<T: HashValue> FieldValue for T {
    type Value = T;
    fn write_field<W: RedisWrite + ?Sized>(value: &T, out: &mut W) -> Result<(), String> {
        if value.is_present() {
            value.write_hash_value(out);
        }
        Ok(())
    }
    fn read_field(raw: Vec<u8>) -> Result<T, DecodeErrorKind> {
        T::from_hash_value(raw)
    }
}

impl<T> FieldValue for Json<T>
where
    T: serde::Serialize + serde::de::DeserializeOwned,
{
    type Value = T;
    fn write_field<W: RedisWrite + ?Sized>(value: &T, out: &mut W) -> Result<(), String> {
        Json::write(value, out).map_err(|e| e.to_string())
    }
    fn read_field(raw: Vec<u8>) -> Result<T, DecodeErrorKind> {
        Json::decode(raw)
    }
}
