//! Conditional writes: operations that look at an entity and change it in
//! the same atomic step, each one command or one script on the entity's one
//! key (so one round trip, and single-slot on a Redis Cluster).
//!
//! | operation | string models (json, msgpack) | hash models |
//! |---|---|---|
//! | [`Store::insert`] | `SET NX [PX]` | script: `EXISTS`, `HSET`, `PEXPIRE` |
//! | [`Store::insert_or_get`] | `SET NX GET [PX]` | script: `HGETALL`, `HSET`, `PEXPIRE` |
//! | [`Store::replace`] | `SET XX [PX]` | script: `EXISTS`, `DEL`, `HSET`, `PEXPIRE` |
//! | [`Store::take`] | `GETDEL` | script: `HGETALL`, `DEL` |
//! | [`Store::get_and_refresh`] | `GETEX PX` / `GETEX PERSIST` | script: `HGETALL`, `PEXPIRE` / `PERSIST` |
//! | [`Store::update`] | - | script: `EXISTS`, `HGET`, `HSET`, `HDEL`, `HINCRBY` |
//! | [`Store::get_fields`], [`Store::get_fields_many`] | - | `MULTI EXISTS HMGET EXEC` |
//! | [`Store::incr_or_insert`] | - | script: `EXISTS`, `HSET`, `HGET`, `HINCRBY`, `PEXPIRE` |

use std::marker::PhantomData;

use futures_util::future::BoxFuture;
use redis::{Cmd, FromRedisValue, Pipeline, Value};

use super::coordination::{self, Cond, Op, Written};
use super::{
    Retry, Store, Target, batch, decode_reply, empty_hash_error, incr_bounds, key_cmd, ttl_millis,
};
use crate::error::{DecodeError, DecodeErrorKind, Error, Result};
use crate::model::{Codec, Encoding, Field, FieldValue, HashFields, Optional, RedisModel};
use crate::script::{self, LuaScript};
use crate::value::Integer;

/// What [`Store::insert_or_get`] found: which value won.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum InsertOrGet<M> {
    /// Nothing was stored under the key: the model passed in was stored
    /// (with the model's TTL) and is the value that won.
    Inserted,
    /// An entity was already stored under the key and won: this is it, as
    /// stored. Nothing was written.
    Existing(M),
}

impl<M> InsertOrGet<M> {
    /// Whether the model passed in was stored.
    pub fn is_inserted(&self) -> bool {
        matches!(self, InsertOrGet::Inserted)
    }

    /// The entity that was already stored, if one was.
    pub fn existing(self) -> Option<M> {
        match self {
            InsertOrGet::Inserted => None,
            InsertOrGet::Existing(model) => Some(model),
        }
    }
}

/// The field changes of one [`Store::update`], applied in the order they
/// were added, all or nothing. Built in the closure `update` takes:
/// `|u| u.set(f.email, &email).clear(f.name).incr(f.logins, 1)`.
///
/// Values are encoded as [`Store::set_field`] encodes them; [`Update::clear`]
/// takes only optional fields, as [`Store::clear_field`] does.
#[must_use]
pub struct Update<M> {
    /// The script's arguments: `s field value`, `c field`, `i field by min max`.
    args: Vec<Vec<u8>>,
    /// `(operation, field)` of each change, for `Debug`.
    changes: Vec<(&'static str, &'static str)>,
    /// The incremented fields, in order.
    increments: Vec<&'static str>,
    /// The first value that failed to encode.
    error: Option<Error>,
    /// Apply only at this stored version (`#[redis(version)]` models).
    expected_version: Option<u64>,
    _model: PhantomData<fn() -> M>,
}

impl<M> std::fmt::Debug for Update<M> {
    // Field names only: values may carry personal data.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Update")
            .field("changes", &self.changes)
            .finish_non_exhaustive()
    }
}

impl<M: HashFields> Default for Update<M> {
    fn default() -> Self {
        Update::new()
    }
}

impl<M: HashFields> Update<M> {
    /// No changes yet.
    pub fn new() -> Self {
        Update {
            args: Vec::new(),
            changes: Vec::new(),
            increments: Vec::new(),
            error: None,
            expected_version: None,
            _model: PhantomData,
        }
    }

    /// Applies the changes only if the entity's `#[redis(version)]` field
    /// still holds `version` (the version it was read at): a compare-and-set
    /// of just these fields. Otherwise nothing is written and the update
    /// fails with [`Error::VersionConflict`]. The version is incremented
    /// either way an update applies. On a model without a version field the
    /// update is refused ([`Error::Config`]).
    pub fn if_version(mut self, version: u64) -> Self {
        self.expected_version = Some(version);
        self
    }

    /// Sets a field. A value that encodes as absent (a field type that
    /// aliases `Option`, holding `None`) removes the field, as
    /// [`Store::set_field`] does.
    pub fn set<V: FieldValue, K>(mut self, field: Field<M, V, K>, value: &V::Value) -> Self {
        let mut encoded: Vec<Vec<u8>> = Vec::with_capacity(1);
        if let Err(message) = V::write_field(value, &mut encoded) {
            self.error
                .get_or_insert_with(|| Error::encode::<M>(Some(field.name()), message));
            return self;
        }
        match encoded.pop() {
            Some(value) => {
                self.changes.push(("set", field.name()));
                self.args
                    .extend([b"s".to_vec(), field.name().into(), value]);
            }
            None => self.push_clear(field.name()),
        }
        self
    }

    /// Removes an optional field (it then reads as `None` or its default).
    pub fn clear<V: FieldValue>(mut self, field: Field<M, V, Optional>) -> Self {
        self.push_clear(field.name());
        self
    }

    /// Adds `by` to an integer field. The whole update is refused (nothing
    /// written) when the result would leave the field's Rust type, or the
    /// stored value is not an integer.
    pub fn incr<V: FieldValue + Integer, K>(mut self, field: Field<M, V, K>, by: i64) -> Self {
        let (min, max) = incr_bounds(V::MIN, V::MAX);
        self.changes.push(("incr", field.name()));
        self.increments.push(field.name());
        self.args.extend([
            b"i".to_vec(),
            field.name().into(),
            by.to_string().into_bytes(),
            min.into_bytes(),
            max.into_bytes(),
        ]);
        self
    }

    /// Whether no change was added.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.error.is_none()
    }

    fn push_clear(&mut self, field: &'static str) {
        self.changes.push(("clear", field));
        self.args.extend([b"c".to_vec(), field.into()]);
    }
}

/// What an applied [`Store::update`] reports: the new value of each field it
/// incremented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Updated<M> {
    increments: Vec<(&'static str, i64)>,
    _model: PhantomData<fn() -> M>,
}

impl<M> Updated<M> {
    /// The value `field` holds after the update, when the update incremented
    /// it (after its last increment, when it incremented it several times);
    /// `None` when the update did not increment it.
    pub fn incremented<V: Integer, K>(&self, field: Field<M, V, K>) -> Option<i64> {
        self.increments
            .iter()
            .rev()
            .find(|(name, _)| *name == field.name())
            .map(|(_, value)| *value)
    }
}

mod sealed {
    /// Only the tuples `FieldSet` is implemented for.
    #[allow(unreachable_pub)]
    pub trait Sealed<M> {}
}

/// A tuple of one to eight [`Field`] handles of one hash model, read together
/// by [`Store::get_fields`] and [`Store::get_fields_many`].
///
/// [`FieldSet::Values`] is a tuple of the same length holding one `Option`
/// per field, as [`Store::get_field`] returns it: `None` when the field is
/// absent (a `None` optional field, or a `#[redis(default)]` field that is
/// not stored). For `(f.name, f.logins)` of a model with `name:
/// Option<String>` and `logins: i64`, it is `(Option<String>, Option<i64>)`.
pub trait FieldSet<M>: sealed::Sealed<M> {
    /// One `Option` of each field's value, in the tuple's order.
    type Values;
    /// The stored names of the fields, in order.
    #[doc(hidden)]
    fn names(&self) -> Vec<&'static str>;
    /// Decodes the `HMGET` reply, one entry per field.
    #[doc(hidden)]
    fn decode(&self, raw: Vec<Option<Vec<u8>>>) -> Result<Self::Values, DecodeError>;
}

macro_rules! field_set {
    ($($V:ident $K:ident $i:tt),+) => {
        impl<M: RedisModel, $($V: FieldValue, $K),+> sealed::Sealed<M> for ($(Field<M, $V, $K>,)+) {}

        impl<M: RedisModel, $($V: FieldValue, $K),+> FieldSet<M> for ($(Field<M, $V, $K>,)+) {
            type Values = ($(Option<$V::Value>,)+);

            fn names(&self) -> Vec<&'static str> {
                vec![$(self.$i.name()),+]
            }

            fn decode(&self, raw: Vec<Option<Vec<u8>>>) -> Result<Self::Values, DecodeError> {
                let mut raw = raw.into_iter();
                Ok(($(
                    match raw.next().flatten() {
                        None => None,
                        Some(bytes) => Some($V::read_field(bytes).map_err(|kind| {
                            DecodeError::of::<M>(Some(self.$i.name()), kind)
                        })?),
                    },
                )+))
            }
        }
    };
}

field_set!(V0 K0 0);
field_set!(V0 K0 0, V1 K1 1);
field_set!(V0 K0 0, V1 K1 1, V2 K2 2);
field_set!(V0 K0 0, V1 K1 1, V2 K2 2, V3 K3 3);
field_set!(V0 K0 0, V1 K1 1, V2 K2 2, V3 K3 3, V4 K4 4);
field_set!(V0 K0 0, V1 K1 1, V2 K2 2, V3 K3 3, V4 K4 4, V5 K5 5);
field_set!(V0 K0 0, V1 K1 1, V2 K2 2, V3 K3 3, V4 K4 4, V5 K5 5, V6 K6 6);
field_set!(V0 K0 0, V1 K1 1, V2 K2 2, V3 K3 3, V4 K4 4, V5 K5 5, V6 K6 6, V7 K7 7);

fn encoding<M: RedisModel>() -> Encoding {
    <M::Codec as Codec<M>>::ENCODING
}

/// The model's TTL in milliseconds, as a script argument (`''`: none).
fn model_ttl_arg<M: RedisModel>(operation: &'static str) -> Result<String> {
    Ok(model_ttl::<M>(operation)?
        .map(|ms| ms.to_string())
        .unwrap_or_default())
}

fn model_ttl<M: RedisModel>(operation: &'static str) -> Result<Option<u64>> {
    M::META
        .ttl
        .map(|ttl| ttl_millis::<M>(operation, ttl))
        .transpose()
}

/// A hash model's `field value` pairs, refused when there are none (Redis
/// cannot store an empty hash).
pub(super) fn hash_pairs<M: RedisModel>(model: &M) -> Result<Vec<Vec<u8>>> {
    let mut pairs: Vec<Vec<u8>> = Vec::new();
    M::Codec::write_value(model, &mut pairs)?;
    if pairs.is_empty() {
        return Err(empty_hash_error::<M>());
    }
    Ok(pairs)
}

/// `SET key value <condition> [GET] [PX ttl]` for a string model.
fn conditional_set<M: RedisModel>(
    key: &[u8],
    model: &M,
    condition: &str,
    get: bool,
    ttl_ms: Option<u64>,
) -> Result<Cmd> {
    let mut cmd = key_cmd("SET", key);
    M::Codec::write_value(model, &mut cmd)?;
    cmd.arg(condition);
    if get {
        cmd.arg("GET");
    }
    if let Some(ms) = ttl_ms {
        cmd.arg("PX").arg(ms);
    }
    Ok(cmd)
}

impl Store {
    /// Stores the entity only if nothing is stored under its key, with the
    /// model's TTL applied in the same step. Returns `true` when it was
    /// stored, `false` (nothing written) when its key already exists (also
    /// when the key holds another Redis type).
    ///
    /// String models: `SET NX [PX]`. Hash models: one script, `EXISTS`, then
    /// `HSET` and `PEXPIRE`. Concurrent inserts of one entity: exactly one
    /// returns `true`. Not sent again after a dropped connection (a second
    /// attempt would report the first one's insert as "already existed"):
    /// the error's [`Error::outcome`] says whether it may have been applied.
    pub async fn insert<M: RedisModel>(&self, model: &M) -> Result<bool> {
        const OP: &str = "insert";
        if coordination::of::<M>().is_some() {
            let cond = Cond {
                absent: true,
                ..Cond::default()
            };
            let written = self.put_with(OP, Retry::Never, model, cond).await?;
            return Ok(matches!(written, Written::Applied { .. }));
        }
        let key = self.render_own_key(model)?;
        match encoding::<M>() {
            Encoding::Hash => {
                let ttl = model_ttl_arg::<M>(OP)?;
                let pairs = hash_pairs(model)?;
                let inserted: i64 = self
                    .run_script::<M, _, _>(OP, Retry::Never, &script::INSERT_HASH, &key, |cmd| {
                        cmd.arg(&ttl);
                        for arg in &pairs {
                            cmd.arg(arg);
                        }
                    })
                    .await?;
                Ok(inserted == 1)
            }
            _ => {
                let cmd = conditional_set(&key, model, "NX", false, model_ttl::<M>(OP)?)?;
                let reply: Value = self.send_cmd::<M, _>(OP, Retry::Never, &cmd).await?;
                Ok(reply != Value::Nil)
            }
        }
    }

    /// Stores the entity if nothing is stored under its key (with the model's
    /// TTL, as [`Store::insert`]), else returns what is stored: the value that
    /// won, either way. Concurrent calls for one entity all agree on one
    /// winner.
    ///
    /// String models: `SET NX GET [PX]`. Hash models: one script, `HGETALL`,
    /// then `HSET` and `PEXPIRE` when it was empty. A key holding another
    /// Redis type is [`Error::WrongType`]; a stored entity that does not
    /// decode is [`Error::Decode`]; in both cases nothing was written. Not
    /// sent again after a dropped connection (a second attempt would report
    /// the first one's insert as an existing entity).
    pub async fn insert_or_get<M: RedisModel>(&self, model: &M) -> Result<InsertOrGet<M>> {
        const OP: &str = "insert_or_get";
        if coordination::of::<M>().is_some() {
            let cond = Cond {
                absent: true,
                ..Cond::default()
            };
            return Ok(match self.put_with(OP, Retry::Never, model, cond).await? {
                Written::Exists(stored) => match decode_reply::<M>(&model.id(), stored)? {
                    Some(existing) => InsertOrGet::Existing(existing),
                    None => InsertOrGet::Inserted,
                },
                _ => InsertOrGet::Inserted,
            });
        }
        let key = self.render_own_key(model)?;
        let reply: Value = match encoding::<M>() {
            Encoding::Hash => {
                let ttl = model_ttl_arg::<M>(OP)?;
                let pairs = hash_pairs(model)?;
                self.run_script::<M, _, _>(
                    OP,
                    Retry::Never,
                    &script::INSERT_OR_GET_HASH,
                    &key,
                    |cmd| {
                        cmd.arg(&ttl);
                        for arg in &pairs {
                            cmd.arg(arg);
                        }
                    },
                )
                .await?
            }
            _ => {
                let cmd = conditional_set(&key, model, "NX", true, model_ttl::<M>(OP)?)?;
                self.send_cmd::<M, _>(OP, Retry::Never, &cmd).await?
            }
        };
        Ok(match decode_reply::<M>(&model.id(), reply)? {
            None => InsertOrGet::Inserted,
            Some(existing) => InsertOrGet::Existing(existing),
        })
    }

    /// Saves the whole entity only if it exists, as [`Store::save`] would:
    /// the stored value is replaced (fields now `None` disappear) and the
    /// model's TTL is applied (or removed, for a model without one). Returns
    /// `false` (nothing written) when it does not exist.
    ///
    /// String models: `SET XX [PX]`. Hash models: one script, `EXISTS`, then
    /// `DEL`, `HSET` and `PEXPIRE`. Like `save`, it replaces a key of another
    /// Redis type. Sent once more when the connection drops under it (its
    /// effect and reply do not depend on whether the first attempt ran).
    pub async fn replace<M: RedisModel>(&self, model: &M) -> Result<bool> {
        const OP: &str = "replace";
        if coordination::of::<M>().is_some() {
            let cond = Cond {
                present: true,
                version: model.stored_version(),
                ..Cond::default()
            };
            let written = self.put_with(OP, Retry::Once, model, cond).await?;
            return Ok(matches!(written, Written::Applied { .. }));
        }
        let key = self.render_own_key(model)?;
        match encoding::<M>() {
            Encoding::Hash => {
                let ttl = model_ttl_arg::<M>(OP)?;
                let pairs = hash_pairs(model)?;
                let replaced: i64 = self
                    .run_script::<M, _, _>(OP, Retry::Once, &script::REPLACE_HASH, &key, |cmd| {
                        cmd.arg(&ttl);
                        for arg in &pairs {
                            cmd.arg(arg);
                        }
                    })
                    .await?;
                Ok(replaced == 1)
            }
            _ => {
                let cmd = conditional_set(&key, model, "XX", false, model_ttl::<M>(OP)?)?;
                let reply: Value = self.send_cmd::<M, _>(OP, Retry::Once, &cmd).await?;
                Ok(reply != Value::Nil)
            }
        }
    }

    /// Reads and deletes the entity in one step: of concurrent takes, one
    /// gets it. `None` when it does not exist.
    ///
    /// String models: `GETDEL`. Hash models: one script, `HGETALL` then
    /// `DEL`. A key of another Redis type is [`Error::WrongType`] and is
    /// left alone. A stored value that does not decode is [`Error::Decode`]
    /// after it was deleted (the server cannot tell that it is corrupt).
    /// Never sent again after a dropped connection (a second attempt would
    /// find nothing): the error's [`Error::outcome`] says whether it may have
    /// been applied.
    pub async fn take<M: RedisModel>(&self, id: &M::Id) -> Result<Option<M>> {
        const OP: &str = "take";
        let key = self.render_key::<M>(id)?;
        if coordination::of::<M>().is_some() {
            let cond = Cond {
                get: true,
                ..Cond::default()
            };
            return match self
                .coordinated_write::<M>(OP, Retry::Never, &key, Op::Del, cond)
                .await?
            {
                Written::Applied { deleted, .. } => decode_reply::<M>(id, deleted),
                Written::Exists(_) | Written::Missing => Ok(None),
            };
        }
        let reply: Value = match encoding::<M>() {
            Encoding::Hash => {
                self.run_script::<M, _, _>(OP, Retry::Never, &script::TAKE_HASH, &key, |_| {})
                    .await?
            }
            _ => {
                self.send_cmd::<M, _>(OP, Retry::Never, &key_cmd("GETDEL", &key))
                    .await?
            }
        };
        decode_reply::<M>(id, reply)
    }

    /// Loads the entity and re-applies the model's TTL in the same step (or
    /// removes its TTL, for a model without one): a sliding expiry, such as
    /// a session's. `None` (nothing changed) when it does not exist.
    ///
    /// String models: `GETEX PX` (`GETEX PERSIST` without a model TTL). Hash
    /// models: one script, `HGETALL` then `PEXPIRE` (or `PERSIST`). A key of
    /// another Redis type is [`Error::WrongType`], its TTL untouched; a stored
    /// entity that does not decode is [`Error::Decode`], its TTL re-armed
    /// (the server cannot tell that it is corrupt). Sent
    /// once more when the connection drops under it (a second attempt reads
    /// the same entity and re-arms the TTL from a moment later).
    pub async fn get_and_refresh<M: RedisModel>(&self, id: &M::Id) -> Result<Option<M>> {
        const OP: &str = "get_and_refresh";
        let key = self.render_key::<M>(id)?;
        let reply: Value = match encoding::<M>() {
            Encoding::Hash => {
                let ttl = model_ttl_arg::<M>(OP)?;
                self.run_script::<M, _, _>(
                    OP,
                    Retry::Once,
                    &script::GET_AND_REFRESH_HASH,
                    &key,
                    |cmd| {
                        cmd.arg(&ttl);
                    },
                )
                .await?
            }
            _ => {
                let mut cmd = key_cmd("GETEX", &key);
                match model_ttl::<M>(OP)? {
                    Some(ms) => cmd.arg("PX").arg(ms),
                    None => cmd.arg("PERSIST"),
                };
                self.send_cmd::<M, _>(OP, Retry::Once, &cmd).await?
            }
        };
        decode_reply::<M>(id, reply)
    }

    /// Applies several field changes to an existing hash entity in one atomic
    /// step, keeping its TTL:
    ///
    /// ```no_run
    /// # use redis_runtime::{RedisModel, Store};
    /// # #[derive(RedisModel)]
    /// # #[redis(key = "user:{id}")]
    /// # struct User { id: u64, email: String, name: Option<String>, logins: i64 }
    /// # async fn run(store: &Store) -> redis_runtime::Result<()> {
    /// let f = User::fields();
    /// let email = "ada@example.com".to_owned();
    /// let updated = store
    ///     .update(&7, |u| u.set(f.email, &email).clear(f.name).incr(f.logins, 1))
    ///     .await?;
    /// match updated {
    ///     Some(updated) => println!("logins: {:?}", updated.incremented(f.logins)),
    ///     None => println!("no such user; nothing written"),
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// Returns `None` (nothing written) when the entity does not exist, else
    /// [`Updated`], which holds the new value of each incremented field. The
    /// changes apply in order, all or nothing: when an increment would leave
    /// its field's Rust type (the same rule as [`Store::incr`]) or meets a
    /// stored value that is not an integer, the whole update is refused with
    /// an error and nothing changes. A key of another Redis type is
    /// [`Error::WrongType`]. A value that fails to encode is refused before
    /// anything is sent.
    ///
    /// One script (`EXISTS`, then `HGET`, `HSET`, `HDEL`, `HINCRBY` per
    /// change). Sent once more when the connection drops under an update of
    /// sets and clears only; an update with an increment never is (its
    /// error's [`Error::outcome`] says whether it may have been applied).
    pub async fn update<M, F>(&self, id: &M::Id, changes: F) -> Result<Option<Updated<M>>>
    where
        M: HashFields,
        F: FnOnce(Update<M>) -> Update<M>,
    {
        const OP: &str = "update";
        let update = changes(Update::new());
        if let Some(err) = update.error {
            return Err(err);
        }
        let key = self.render_key::<M>(id)?;
        let retry = if update.increments.is_empty() {
            Retry::Once
        } else {
            Retry::Never
        };
        let versioned = coordination::of::<M>().is_some_and(|c| c.version.is_some());
        if update.expected_version.is_some() && !versioned {
            return Err(Error::Config(format!(
                "`update(..).if_version(..)` needs a `#[redis(version)]` field, and {} has none",
                M::META.name
            )));
        }
        if coordination::of::<M>().is_some() {
            let cond = Cond {
                version: update.expected_version,
                ..Cond::default()
            };
            let Some(values) = self
                .patch_coordinated_if::<M>(OP, retry, &key, &update.args, cond)
                .await?
            else {
                return Ok(None);
            };
            return Ok(Some(Updated {
                increments: update.increments.into_iter().zip(values).collect(),
                _model: PhantomData,
            }));
        }
        let args = &update.args;
        let values: Option<Vec<i64>> = self
            .run_script::<M, _, _>(OP, retry, &script::UPDATE_FIELDS, &key, |cmd| {
                for arg in args {
                    cmd.arg(arg);
                }
            })
            .await?;
        let Some(values) = values else {
            return Ok(None);
        };
        if values.len() != update.increments.len() {
            return Err(Error::Decode(DecodeError::of::<M>(
                None,
                DecodeErrorKind::UnexpectedReply("one value per increment"),
            )));
        }
        Ok(Some(Updated {
            increments: update.increments.into_iter().zip(values).collect(),
            _model: PhantomData,
        }))
    }

    /// Reads several fields of one hash entity at once, typed by the tuple of
    /// field handles passed ([`FieldSet`]):
    ///
    /// ```no_run
    /// # use redis_runtime::{RedisModel, Store};
    /// # #[derive(RedisModel)]
    /// # #[redis(key = "user:{id}")]
    /// # struct User { id: u64, email: String, name: Option<String>, logins: i64 }
    /// # async fn run(store: &Store) -> redis_runtime::Result<()> {
    /// let f = User::fields();
    /// let read: Option<(Option<String>, Option<i64>)> =
    ///     store.get_fields(&7, (f.name, f.logins)).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// `None` when the entity does not exist; else one `Option` per field,
    /// `None` when that field is absent. The fields are read together with
    /// the existence check (`MULTI EXISTS HMGET EXEC`, one round trip), so
    /// they come from one version of the entity. A value that does not decode
    /// is [`Error::Decode`] naming the field.
    pub async fn get_fields<M, S>(&self, id: &M::Id, fields: S) -> Result<Option<S::Values>>
    where
        M: HashFields,
        S: FieldSet<M>,
    {
        let key = self.render_key::<M>(id)?;
        let names = fields.names();
        if let Some(cached) = self.cached::<M>() {
            // The same transaction, tracked whole (`CLIENT CACHING YES` holds
            // through `MULTI`), its reply kept under the fields read.
            let value = self
                .cached_op_pipe::<M>(
                    &cached,
                    "get_fields",
                    &key,
                    crate::client_cache::Op::Fields(names.clone().into()),
                    |pipe, key| {
                        // `QUEUED`, `QUEUED`: the replies are `EXEC`'s.
                        pipe.cmd("MULTI").ignore();
                        pipe.cmd("EXISTS").arg(key).ignore();
                        let hmget = pipe.cmd("HMGET").arg(key);
                        for name in &names {
                            hmget.arg(*name);
                        }
                        hmget.ignore();
                        pipe.cmd("EXEC");
                    },
                )
                .await?;
            let (exists, values): (bool, Vec<Option<Vec<u8>>>) =
                FromRedisValue::from_redis_value(value).map_err(|e| {
                    Error::from_redis(&self.context(Target::of::<M>(), "get_fields"), e.into())
                })?;
            return decode_fields::<M, S>(&fields, names.len(), exists, values);
        }
        let mut pipe = redis::pipe();
        push_get_fields(&mut pipe, &key, &names);
        pipe.atomic();
        let (exists, values): (bool, Vec<Option<Vec<u8>>>) = self
            .query::<M, _, _, _>("get_fields", Retry::Once, |mut con| {
                let pipe = &pipe;
                async move { pipe.query_async(&mut con).await }
            })
            .await?;
        decode_fields::<M, S>(&fields, names.len(), exists, values)
    }

    /// [`Store::get_fields`] for several entities in one round trip, in the
    /// order of `ids`: one `MULTI`/`EXEC` of `EXISTS` and `HMGET` per entity
    /// (on a Redis Cluster, one transaction per hash slot, sent concurrently,
    /// as [`Store::get_many`] splits its reads).
    pub async fn get_fields_many<M, S>(
        &self,
        ids: &[M::Id],
        fields: S,
    ) -> Result<Vec<Option<S::Values>>>
    where
        M: HashFields,
        S: FieldSet<M>,
    {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys = ids
            .iter()
            .map(|id| self.render_key::<M>(id))
            .collect::<Result<Vec<_>>>()?;
        let names = fields.names();
        let groups = self.slot_groups(&keys);
        let pipes: Vec<Pipeline> = groups
            .iter()
            .map(|group| {
                let mut pipe = redis::pipe();
                for &i in group {
                    push_get_fields(&mut pipe, &keys[i], &names);
                }
                pipe.atomic();
                pipe
            })
            .collect();
        let sends = pipes.iter().map(|pipe| {
            self.query_part::<M, Vec<Value>, _, _>(
                "get_fields_many",
                Retry::Once,
                move |mut con| async move {
                    let replies: Vec<Value> = pipe.query_async(&mut con).await?;
                    // Two replies per entity: one value each, nil when absent.
                    let mut per_entity = Vec::with_capacity(replies.len() / 2);
                    let mut replies = replies.into_iter();
                    while let (Some(exists), Some(values)) = (replies.next(), replies.next()) {
                        let exists = bool::from_redis_value(exists)?;
                        per_entity.push(if exists { values } else { Value::Nil });
                    }
                    Ok(per_entity)
                },
            )
        });
        let all = futures_util::future::try_join_all(sends);
        let replies = self
            .observed(Target::of::<M>(), "get_fields_many", ids.len(), all)
            .await?;
        let values = batch::reassemble(ids.len(), &groups, replies);
        values
            .into_iter()
            .map(|value| {
                if value == Value::Nil {
                    return Ok(None);
                }
                let values = Vec::<Option<Vec<u8>>>::from_redis_value(value).map_err(|_| {
                    Error::Decode(DecodeError::of::<M>(
                        None,
                        DecodeErrorKind::UnexpectedReply("expected the fields' values"),
                    ))
                })?;
                decode_fields::<M, S>(&fields, names.len(), true, values)
            })
            .collect()
    }

    /// Atomically adds `by` to an integer field and returns the new value,
    /// creating the entity first when it does not exist: from `default()`,
    /// with the field then holding the default's value plus `by`, and with
    /// the model's TTL applied in the same step. The TTL of an entity that
    /// already exists is never changed, so with a model TTL this is a
    /// fixed-window counter (a rate limiter's building block):
    ///
    /// ```no_run
    /// # use redis_runtime::{RedisModel, Store};
    /// #[derive(RedisModel)]
    /// #[redis(key = "hits:{client}", ttl = "1m")]
    /// struct Hits { client: String, count: u32 }
    ///
    /// # async fn run(store: &Store, client: String) -> redis_runtime::Result<bool> {
    /// let n = store
    ///     .incr_or_insert(&client, Hits::fields().count, 1, || Hits { client: client.clone(), count: 0 })
    ///     .await?;
    /// let allowed = n <= 100; // at most 100 calls per window of a minute
    /// # Ok(allowed) }
    /// ```
    ///
    /// `default` is called once, before anything is sent (the entity is
    /// created in the same round trip), and must have the id `id`, else
    /// [`Error::Encode`] and nothing is sent. A result outside the field's
    /// Rust type is refused and nothing changes (a just-created entity is
    /// removed again), as for [`Store::incr`]. One script (`EXISTS`, `HSET`,
    /// `HGET`, `HINCRBY`, `PEXPIRE`). Never sent again after a dropped
    /// connection: the error's [`Error::outcome`] is then
    /// [`Outcome::Unknown`](crate::Outcome::Unknown).
    pub fn incr_or_insert<'a, M, V, K, D>(
        &'a self,
        id: &'a M::Id,
        field: Field<M, V, K>,
        by: i64,
        default: D,
    ) -> BoxFuture<'a, Result<i64>>
    where
        M: HashFields,
        V: FieldValue + Integer,
        D: FnOnce() -> M,
    {
        // Not an `async fn`, for the reason `incr` gives.
        let default = default();
        Box::pin(self.incr_or_insert_field(id, field.name(), by, V::MIN, V::MAX, default))
    }

    async fn incr_or_insert_field<M: HashFields>(
        &self,
        id: &M::Id,
        field: &'static str,
        by: i64,
        min: i128,
        max: i128,
        default: M,
    ) -> Result<i64> {
        const OP: &str = "incr_or_insert";
        let key = self.render_key::<M>(id)?;
        if self.render_own_key(&default)? != key {
            return Err(Error::encode::<M>(
                None,
                "the default entity of `incr_or_insert` has another id than the one incremented"
                    .to_owned(),
            ));
        }
        let (min_value, max_value) = (min, max);
        let (min, max) = incr_bounds(min, max);
        if coordination::of::<M>().is_some() {
            // The increment; or, the entity missing, the default entity with
            // the increment applied, inserted: one write either way, each
            // one script, so a concurrent creator's entity is incremented,
            // never replaced.
            let changes = [
                b"i".to_vec(),
                field.into(),
                by.to_string().into_bytes(),
                min.clone().into_bytes(),
                max.clone().into_bytes(),
            ];
            let mut created = hash_pairs(&default)?;
            let start = match created
                .chunks_exact(2)
                .find(|pair| pair[0] == field.as_bytes())
            {
                Some(pair) => std::str::from_utf8(&pair[1])
                    .ok()
                    .and_then(|v| v.parse::<i64>().ok())
                    .ok_or_else(|| {
                        Error::encode::<M>(
                            Some(field),
                            "the default entity's field is not an integer".to_owned(),
                        )
                    })?,
                None => 0,
            };
            let value = i128::from(start) + i128::from(by);
            // The field type's own bounds, as the script checks an increment.
            let fits = (min_value..=max_value).contains(&value) && i64::try_from(value).is_ok();
            if !fits {
                return Err(Error::encode::<M>(
                    Some(field),
                    "the increment would take the field outside the range of its Rust type"
                        .to_owned(),
                ));
            }
            match created
                .iter()
                .position(|arg| arg.as_slice() == field.as_bytes())
            {
                Some(i) if i % 2 == 0 => created[i + 1] = value.to_string().into_bytes(),
                _ => created.extend([field.as_bytes().to_vec(), value.to_string().into_bytes()]),
            }
            for _ in 0..4 {
                if let Some(values) = self
                    .patch_coordinated::<M>(OP, Retry::Never, &key, &changes)
                    .await?
                {
                    return values.first().copied().ok_or_else(|| {
                        Error::Decode(DecodeError::of::<M>(
                            Some(field),
                            DecodeErrorKind::UnexpectedReply("the incremented value"),
                        ))
                    });
                }
                let cond = Cond {
                    absent: true,
                    ..Cond::default()
                };
                let ttl = model_ttl::<M>(OP)?;
                let op = Op::Put {
                    pairs: &created,
                    ttl,
                };
                if let Written::Applied { .. } = self
                    .coordinated_write::<M>(OP, Retry::Never, &key, op, cond)
                    .await?
                {
                    return i64::try_from(value)
                        .map_err(|_| Error::encode::<M>(Some(field), "out of range".to_owned()));
                }
            }
            return Err(Error::Decode(DecodeError::of::<M>(
                Some(field),
                DecodeErrorKind::UnexpectedReply("an entity that stays until incremented"),
            )));
        }
        let ttl = model_ttl_arg::<M>(OP)?;
        let pairs = hash_pairs(&default)?;
        self.run_script::<M, _, _>(OP, Retry::Never, &script::INCR_OR_INSERT, &key, |cmd| {
            cmd.arg(field).arg(by).arg(&min).arg(&max).arg(&ttl);
            for arg in &pairs {
                cmd.arg(arg);
            }
        })
        .await
    }

    /// Runs one script on `key` for model `M`, its reply decoded as `T`.
    async fn run_script<M, T, A>(
        &self,
        operation: &'static str,
        retry: Retry,
        script: &'static LuaScript,
        key: &[u8],
        args: A,
    ) -> Result<T>
    where
        M: RedisModel,
        T: FromRedisValue,
        A: Fn(&mut Cmd) + Sync,
    {
        let args = &args;
        self.query::<M, _, _, _>(operation, retry, |mut con| async move {
            let reply = script.run(&mut con, &[key], args).await?;
            T::from_redis_value(reply).map_err(Into::into)
        })
        .await
    }

    /// Sends one command for model `M`, its reply decoded as `T`.
    async fn send_cmd<M: RedisModel, T: FromRedisValue>(
        &self,
        operation: &'static str,
        retry: Retry,
        cmd: &Cmd,
    ) -> Result<T> {
        self.query::<M, _, _, _>(operation, retry, |mut con| async move {
            cmd.query_async(&mut con).await
        })
        .await
    }
}

/// Appends `EXISTS key` and `HMGET key names...`.
fn push_get_fields(pipe: &mut Pipeline, key: &[u8], names: &[&str]) {
    pipe.cmd("EXISTS").arg(key);
    let hmget = pipe.cmd("HMGET").arg(key);
    for name in names {
        hmget.arg(*name);
    }
}

/// The typed result of one entity's `EXISTS` and `HMGET`.
fn decode_fields<M: RedisModel, S: FieldSet<M>>(
    fields: &S,
    count: usize,
    exists: bool,
    values: Vec<Option<Vec<u8>>>,
) -> Result<Option<S::Values>> {
    if !exists {
        return Ok(None);
    }
    if values.len() != count {
        return Err(Error::Decode(DecodeError::of::<M>(
            None,
            DecodeErrorKind::UnexpectedReply("one value per field"),
        )));
    }
    Ok(Some(fields.decode(values)?))
}
