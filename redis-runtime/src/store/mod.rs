//! [`Store`]: the shared handle every typed operation goes through.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use redis::{Cmd, FromRedisValue, Pipeline, Value};

use crate::client_cache::{Held, Op};
use crate::config::Config;
use crate::connection::Link;
use crate::error::{DecodeError, DecodeErrorKind, Error, Result};
use crate::key::{InvalidKeyPart, KeyWriter, RenderedKey};
use crate::model::{Codec, Encoding, Family, Field, FieldValue, HashFields, Optional, RedisModel};
use crate::script;

mod batch;
mod cached;
mod conditional;
pub(crate) mod coordination;
mod health;
mod scan;
mod send;

use crate::value::Integer;
pub use conditional::{FieldSet, InsertOrGet, Update, Updated};
pub use coordination::{IndexQuery, MODIFY_ATTEMPTS, Page};
pub use health::{Health, NodeHealth, Role};
pub(crate) use send::{Retry, Target};

/// The remaining time to live of an entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Expiry {
    /// The entity does not exist.
    Missing,
    /// The entity exists and never expires.
    Never,
    /// The entity expires after this long.
    In(Duration),
}

/// A handle to Redis for typed operations. Cheap to clone; clones share one
/// multiplexed connection, which is re-established in the background when it
/// drops (after the server restarts, say).
///
/// Every operation takes ids or models, never keys. TTL policy:
///
/// - [`Store::save`] replaces the whole entity and applies the model's TTL
///   (`ttl = "..."`), or no expiry when the model declares none;
///   [`Store::save_with_ttl`] overrides it for one call.
/// - Partial writes ([`Store::set_field`], [`Store::clear_field`],
///   [`Store::incr`]) preserve whatever TTL the entity has.
/// - Changing the TTL is always an explicit call: [`Store::expire`],
///   [`Store::persist`], [`Store::refresh_ttl`].
/// - Conditional writes: [`Store::insert`] and [`Store::insert_or_get`] apply
///   the model's TTL in the step that creates the entity (and write nothing
///   when it exists); [`Store::replace`] applies it as `save` does;
///   [`Store::update`] keeps the TTL; [`Store::incr_or_insert`] applies it
///   only when it creates the entity, never to an existing one;
///   [`Store::get_and_refresh`] re-arms it (removes it for a model without
///   one). [`Store::take`] deletes the entity.
///
/// **Time bound.** Every operation returns within the connect timeout plus the
/// response timeout (plus the scheduling latency of the runtime), also while
/// the server is down: a call waits for at most one connection attempt, and a
/// refused connection fails at once with [`Error::Connection`] (outcome
/// [`Outcome::NotApplied`](crate::Outcome::NotApplied)). The store recovers by itself when the server is
/// back.
///
/// **Retries.** Reads, saves and single field writes are sent once more when
/// the connection drops under them (within the same time bound); increments,
/// deletes and TTL changes never are, and their error says whether the
/// operation may have been applied; nor are the conditional writes whose
/// reply depends on what was there before (`insert`, `insert_or_get`,
/// `take`) or that add (`incr_or_insert`, an `update` with an increment).
/// Nothing is sent again after a response timeout.
#[derive(Clone)]
pub struct Store {
    link: Link,
    namespace: Arc<str>,
    address: Arc<str>,
    connect_timeout: Duration,
    response_timeout: Duration,
    /// Operations slower than this are logged at WARN.
    slow_threshold: Option<Duration>,
    /// The client cache and its tracking connection, when on.
    cache: Option<Arc<cached::CachedReads>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("address", &self.address)
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

/// The longest TTL accepted, in milliseconds: half of `i64::MAX`, which leaves
/// the server room to add the current time (the derive accepts the same).
const MAX_TTL_MILLIS: u64 = i64::MAX as u64 / 2;

impl Store {
    /// Connects with `config`, within its connect timeout. A server that
    /// refuses the connection fails at once with [`Error::Connection`], naming
    /// the address tried.
    pub async fn connect(config: &Config) -> Result<Store> {
        let link = Link::new(config)
            .map_err(|e| Error::Config(format!("cannot use {config}: {}", e.kind_str())))?;
        let cache = cached::CachedReads::new(config, &link)?;
        let store = Store {
            link,
            namespace: config.namespace().into(),
            address: config.address().into(),
            connect_timeout: config.connect_timeout(),
            response_timeout: config.response_timeout(),
            slow_threshold: config.slow_threshold(),
            cache,
        };
        // The link bounds each attempt by the connect timeout itself.
        if let Err(err) = store.link.get().await {
            return Err(Error::connecting(
                &store.context(Target::RAW, "connect"),
                store.connect_timeout,
                err,
            ));
        }
        if let Some(cache) = &store.cache
            && let Err(err) = cache.connect().await
        {
            return Err(Error::connecting(
                &store.context(Target::RAW, "connect"),
                store.connect_timeout,
                err,
            ));
        }
        Ok(store)
    }

    /// The key prefix applied to every key (empty, or ending in `:`).
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The rendered key of an entity, for interop with raw redis-rs calls and
    /// for display. Typed operations never need it.
    pub fn key<M: Family>(&self, id: &M::Id) -> Result<RenderedKey> {
        self.render_key::<M>(id).map(RenderedKey)
    }

    pub(crate) fn render_key<M: Family>(&self, id: &M::Id) -> Result<Vec<u8>> {
        let mut buf = Vec::with_capacity(self.namespace.len() + M::META.key.source.len() + 16);
        M::write_id_key(
            id,
            &mut KeyWriter::new(&mut buf, &self.namespace, &M::META.key),
        )
        .map_err(key_error::<M>)?;
        Ok(buf)
    }

    fn render_own_key<M: RedisModel>(&self, model: &M) -> Result<Vec<u8>> {
        let mut buf = Vec::with_capacity(self.namespace.len() + M::META.key.source.len() + 16);
        model
            .write_key(&mut KeyWriter::new(&mut buf, &self.namespace, &M::META.key))
            .map_err(key_error::<M>)?;
        Ok(buf)
    }

    /// Saves the whole entity, replacing what was stored, and applies the model's TTL.
    ///
    /// Hash models: `MULTI; DEL; HSET; [PEXPIRE]; EXEC` in one round trip, so
    /// fields that are now `None` disappear and readers never see the entity
    /// missing. String models: one `SET [PX]`.
    pub async fn save<M: RedisModel>(&self, model: &M) -> Result<()> {
        self.save_with_ttl(model, M::META.ttl).await
    }

    /// Like [`Store::save`], with `ttl` instead of the model's (`None`: never
    /// expires). A zero TTL, or one beyond what the server accepts, is refused
    /// before anything is sent ([`Error::InvalidTtl`]).
    pub async fn save_with_ttl<M: RedisModel>(
        &self,
        model: &M,
        ttl: Option<Duration>,
    ) -> Result<()> {
        if coordination::of::<M>().is_some() {
            return self
                .put_coordinated("save", model, ttl, model.stored_version())
                .await
                .map(drop);
        }
        let ttl = ttl.map(|ttl| ttl_millis::<M>("save", ttl)).transpose()?;
        let key = self.render_own_key(model)?;
        let mut pipe = redis::pipe();
        push_save::<M>(&mut pipe, &key, model, ttl)?;
        if <M::Codec as Codec<M>>::ENCODING == Encoding::Hash {
            pipe.atomic();
        }
        self.query::<M, (), _, _>("save", Retry::Once, |mut con| {
            let pipe = &pipe;
            async move { pipe.query_async(&mut con).await }
        })
        .await
    }

    /// Saves every entity in one round trip, in one `MULTI`/`EXEC`, so the
    /// batch is applied all or nothing.
    ///
    /// On a Redis Cluster a transaction cannot span hash slots: the batch is
    /// split by slot into one transaction each (all or nothing per slot, so
    /// per family for models with a hash tag), sent concurrently; when one
    /// fails while others were applied, the error's outcome is
    /// [`Outcome::Unknown`](crate::Outcome::Unknown).
    ///
    /// A model with a version field, unique fields or indexes
    /// ([`crate::model::Coordination`]) is saved entity by entity, each by
    /// its own script (all or nothing for that entity and its constraint
    /// keys), concurrently: every entity is tried, and the first error is
    /// returned; the batch as a whole is not all or nothing.
    pub async fn save_many<M: RedisModel>(&self, models: &[M]) -> Result<()> {
        if models.is_empty() {
            return Ok(());
        }
        if coordination::of::<M>().is_some() {
            // One script per entity (each touches its own constraint keys),
            // sent concurrently; every one runs, the first error is returned.
            let saves = models.iter().map(|model| {
                self.put_coordinated("save_many", model, M::META.ttl, model.stored_version())
            });
            let all =
                async { batch::settle(futures_util::future::join_all(saves).await).map(drop) };
            return all.await;
        }
        let model_ttl = M::META
            .ttl
            .map(|ttl| ttl_millis::<M>("save_many", ttl))
            .transpose()?;
        let keys = models
            .iter()
            .map(|model| self.render_own_key(model))
            .collect::<Result<Vec<_>>>()?;
        let mut pipes = Vec::new();
        for group in self.slot_groups(&keys) {
            let mut pipe = redis::pipe();
            for i in group {
                push_save::<M>(&mut pipe, &keys[i], &models[i], model_ttl)?;
            }
            pipe.atomic();
            pipes.push(pipe);
        }
        let sends = pipes.iter().map(|pipe| {
            self.query_part::<M, (), _, _>("save_many", Retry::Once, move |mut con| async move {
                pipe.query_async(&mut con).await
            })
        });
        // Every transaction runs to its end, also when another fails.
        let all = async { batch::settle(futures_util::future::join_all(sends).await).map(drop) };
        self.observed(Target::of::<M>(), "save_many", models.len(), all)
            .await
    }

    /// Loads an entity; `None` when it does not exist.
    pub async fn get<M: RedisModel>(&self, id: &M::Id) -> Result<Option<M>> {
        if let Some(clone) = M::cache_clone()
            && let Some(hit) = self.shared_hit::<M>(id)
        {
            cached::cooperate().await;
            return Ok(hit.map(|m| clone(&m)));
        }
        let key = self.render_key::<M>(id)?;
        if let Some(cached) = self.cached::<M>() {
            if let Some(clone) = M::cache_clone() {
                // The decoded value the cache shares, cloned.
                let shared = self.cached_shared::<M>(&cached, "get", id, &key).await?;
                return Ok(shared.map(|m| clone(&m)));
            }
            let value = self
                .cached_op::<M>(&cached, "get", &key, Op::Whole, read_cmd::<M>)
                .await?;
            return decode_reply::<M>(id, value);
        }
        let cmd = read_cmd::<M>(&key);
        let value: Value = self
            .query_found::<M, _, _, _>("get", Retry::Once, found_value, |mut con| {
                let cmd = &cmd;
                async move { cmd.query_async(&mut con).await }
            })
            .await?;
        decode_reply::<M>(id, value)
    }

    /// Loads an entity as a value shared with the client cache; `None` when
    /// it does not exist.
    ///
    /// For a model declared `#[redis(client_cache)]` on a store whose client
    /// cache is on, the cache keeps the decoded entity and a hit hands out
    /// another `Arc` of it: no decoding, no copy. Otherwise it is
    /// [`Store::get`] in an `Arc`.
    pub async fn get_shared<M: RedisModel>(&self, id: &M::Id) -> Result<Option<Arc<M>>> {
        if let Some(hit) = self.shared_hit::<M>(id) {
            cached::cooperate().await;
            return Ok(hit);
        }
        let key = self.render_key::<M>(id)?;
        if let Some(cached) = self.cached::<M>() {
            return self.cached_shared::<M>(&cached, "get", id, &key).await;
        }
        Ok(self.get::<M>(id).await?.map(Arc::new))
    }

    /// Loads several entities in one round trip, in the order of `ids`.
    ///
    /// Hash models: pipelined `HGETALL`s. String-encoded models: one `MGET`
    /// (on a Redis Cluster, one pipeline or `MGET` per hash slot, sent
    /// concurrently, so about one round trip per node),
    /// which the server answers with nil for a key holding another Redis type,
    /// so such a key reads as `None` here where [`Store::get`] reports
    /// [`Error::WrongType`] (`redis-runtime doctor` lists such keys).
    pub async fn get_many<M: RedisModel>(&self, ids: &[M::Id]) -> Result<Vec<Option<M>>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys = ids
            .iter()
            .map(|id| self.render_key::<M>(id))
            .collect::<Result<Vec<_>>>()?;
        if let Some(cached) = self.cached::<M>() {
            if let Some(clone) = M::cache_clone() {
                let shared = self
                    .cached_get_many::<M, Option<Arc<M>>>(
                        &cached,
                        &keys,
                        Op::Shared,
                        |model, key| model.get_decoded::<Option<Arc<M>>>(key, Op::Shared),
                        |i, value| {
                            let decoded = decode_reply::<M>(&ids[i], value)?.map(Arc::new);
                            let kept = Held::Decoded(Arc::new(decoded.clone()));
                            Ok((decoded, kept))
                        },
                    )
                    .await?;
                return Ok(shared.into_iter().map(|m| m.map(|m| clone(&m))).collect());
            }
            let values = self
                .cached_get_many::<M, Value>(
                    &cached,
                    &keys,
                    Op::Whole,
                    |model, key| model.get_raw(key, Op::Whole),
                    |_, value| Ok((value.clone(), Held::Raw(value))),
                )
                .await?;
            return ids
                .iter()
                .zip(values)
                .map(|(id, value)| decode_reply::<M>(id, value))
                .collect();
        }
        let groups = self.slot_groups(&keys);
        let reads: Vec<batch::Read> = groups
            .iter()
            .map(|group| batch::Read::new::<M>(group.iter().map(|&i| keys[i].as_slice())))
            .collect();
        let sends = reads.iter().map(|read| {
            self.query_part::<M, Vec<Value>, _, _>(
                "get_many",
                Retry::Once,
                move |mut con| async move { read.send(&mut con).await },
            )
        });
        let all = futures_util::future::try_join_all(sends);
        let replies = self
            .observed(Target::of::<M>(), "get_many", ids.len(), all)
            .await?;
        let values = batch::reassemble(ids.len(), &groups, replies);
        ids.iter()
            .zip(values)
            .map(|(id, value)| decode_reply::<M>(id, value))
            .collect()
    }

    /// Whether the entity exists.
    pub async fn exists<M: Family>(&self, id: &M::Id) -> Result<bool> {
        if let Some(cached) = self.cached::<M>() {
            let key = self.render_key::<M>(id)?;
            let value = self
                .cached_op::<M>(&cached, "exists", &key, Op::Exists, |key| {
                    key_cmd("EXISTS", key)
                })
                .await?;
            return bool::from_redis_value(value).map_err(|e| {
                Error::from_redis(&self.context(Target::of::<M>(), "exists"), e.into())
            });
        }
        let cmd = key_cmd("EXISTS", &self.render_key::<M>(id)?);
        self.query::<M, _, _, _>("exists", Retry::Once, |mut con| {
            let cmd = &cmd;
            async move { cmd.query_async(&mut con).await }
        })
        .await
    }

    /// Deletes the entity; `true` when it existed.
    ///
    /// Not sent again after a dropped connection (the second answer would say
    /// "did not exist" about what the first one deleted): the error's
    /// [`Error::outcome`] says whether it may have been applied.
    pub async fn delete<M: Family>(&self, id: &M::Id) -> Result<bool> {
        if coordination::of::<M>().is_some() {
            let key = self.render_key::<M>(id)?;
            let cond = coordination::Cond::default();
            let written = self
                .coordinated_write::<M>("delete", Retry::Never, &key, coordination::Op::Del, cond)
                .await?;
            return Ok(matches!(written, coordination::Written::Applied { .. }));
        }
        let cmd = key_cmd("DEL", &self.render_key::<M>(id)?);
        self.query::<M, _, _, _>("delete", Retry::Never, |mut con| {
            let cmd = &cmd;
            async move { cmd.query_async(&mut con).await }
        })
        .await
    }

    /// Deletes several entities with one `DEL`; returns how many existed. (On
    /// a Redis Cluster, one `DEL` per hash slot, sent concurrently.)
    pub async fn delete_many<M: Family>(&self, ids: &[M::Id]) -> Result<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        if coordination::of::<M>().is_some() {
            let deletes = ids.iter().map(|id| self.delete::<M>(id));
            let all = batch::settle(futures_util::future::join_all(deletes).await)?;
            return Ok(all.into_iter().filter(|deleted| *deleted).count() as u64);
        }
        let keys = ids
            .iter()
            .map(|id| self.render_key::<M>(id))
            .collect::<Result<Vec<_>>>()?;
        let deletes: Vec<Cmd> = self
            .slot_groups(&keys)
            .into_iter()
            .map(|group| {
                let mut cmd = redis::cmd("DEL");
                for i in group {
                    cmd.arg(&keys[i]);
                }
                cmd
            })
            .collect();
        let sends = deletes.iter().map(|cmd| {
            self.query_part::<M, u64, _, _>(
                "delete_many",
                Retry::Never,
                move |mut con| async move { cmd.query_async(&mut con).await },
            )
        });
        let all = async { batch::settle(futures_util::future::join_all(sends).await) };
        let deleted = self
            .observed(Target::of::<M>(), "delete_many", ids.len(), all)
            .await?;
        Ok(deleted.into_iter().sum())
    }

    /// Reads one field of a hash model with `HGET`; `None` when the entity or the field is absent.
    pub async fn get_field<M, V, K>(
        &self,
        id: &M::Id,
        field: Field<M, V, K>,
    ) -> Result<Option<V::Value>>
    where
        M: HashFields,
        V: FieldValue,
    {
        let key = self.render_key::<M>(id)?;
        if let Some(cached) = self.cached::<M>() {
            let name = field.name();
            let value = self
                .cached_op::<M>(&cached, "get_field", &key, Op::Field(name), |key| {
                    let mut cmd = key_cmd("HGET", key);
                    cmd.arg(name);
                    cmd
                })
                .await?;
            let raw = Option::<Vec<u8>>::from_redis_value(value).map_err(|e| {
                Error::from_redis(&self.context(Target::of::<M>(), "get_field"), e.into())
            })?;
            return raw
                .map(|raw| {
                    V::read_field(raw).map_err(|kind| {
                        Error::Decode(DecodeError::of::<M>(Some(field.name()), kind))
                    })
                })
                .transpose();
        }
        let mut cmd = key_cmd("HGET", &key);
        cmd.arg(field.name());
        let value: Option<Vec<u8>> = self
            .query_found::<M, _, _, _>("get_field", Retry::Once, Option::is_some, |mut con| {
                let cmd = &cmd;
                async move { cmd.query_async(&mut con).await }
            })
            .await?;
        value
            .map(|raw| {
                V::read_field(raw)
                    .map_err(|kind| Error::Decode(DecodeError::of::<M>(Some(field.name()), kind)))
            })
            .transpose()
    }

    /// Writes one field of an existing entity, keeping its TTL. Returns `false`
    /// (and writes nothing) when the entity does not exist. The value of an
    /// `Option<T>` field is a `T`; to remove such a field, use
    /// [`Store::clear_field`]. A value that encodes as absent (a field type
    /// that aliases `Option`, holding `None`) removes the field too, as a save
    /// would.
    pub async fn set_field<M, V, K>(
        &self,
        id: &M::Id,
        field: Field<M, V, K>,
        value: &V::Value,
    ) -> Result<bool>
    where
        M: HashFields,
        V: FieldValue,
    {
        let key = self.render_key::<M>(id)?;
        let mut encoded: Vec<Vec<u8>> = Vec::with_capacity(1);
        V::write_field(value, &mut encoded)
            .map_err(|message| Error::encode::<M>(Some(field.name()), message))?;
        // An absent value (a `None`, however its type is spelled) removes the field.
        let value_arg = encoded.pop();
        self.run_set_field::<M>("set_field", &key, field.name(), value_arg.as_deref())
            .await
    }

    /// Removes an optional field of an existing entity (it then reads as `None`
    /// or its default), keeping the TTL. Returns `false` when the entity does not exist.
    pub async fn clear_field<M, V>(&self, id: &M::Id, field: Field<M, V, Optional>) -> Result<bool>
    where
        M: HashFields,
        V: FieldValue,
    {
        let key = self.render_key::<M>(id)?;
        self.run_set_field::<M>("clear_field", &key, field.name(), None)
            .await
    }

    async fn run_set_field<M: RedisModel>(
        &self,
        operation: &'static str,
        key: &[u8],
        field: &str,
        value: Option<&[u8]>,
    ) -> Result<bool> {
        if coordination::of::<M>().is_some() {
            let mut changes: Vec<Vec<u8>> = Vec::with_capacity(3);
            match value {
                Some(value) => changes.extend([b"s".to_vec(), field.into(), value.to_vec()]),
                None => changes.extend([b"c".to_vec(), field.into()]),
            }
            let patched = self
                .patch_coordinated::<M>(operation, Retry::Once, key, &changes)
                .await?;
            return Ok(patched.is_some());
        }
        let applied: i64 = self
            .query::<M, _, _, _>(operation, Retry::Once, |mut con| async move {
                let reply = script::SET_FIELD
                    .run(&mut con, &[key], |cmd| {
                        cmd.arg(field);
                        if let Some(value) = value {
                            cmd.arg(value);
                        }
                    })
                    .await?;
                i64::from_redis_value(reply).map_err(Into::into)
            })
            .await?;
        Ok(applied == 1)
    }

    /// Atomically adds `by` to an integer field of an existing entity and returns
    /// the new value; `None` (nothing written) when the entity does not exist.
    /// The TTL is kept. A result outside the field's Rust type is refused and
    /// nothing changes. Never retried: on a dropped connection the error's
    /// [`Error::outcome`] is [`crate::Outcome::Unknown`].
    pub fn incr<'a, M, V, K>(
        &'a self,
        id: &'a M::Id,
        field: Field<M, V, K>,
        by: i64,
    ) -> BoxFuture<'a, Result<Option<i64>>>
    where
        M: HashFields,
        V: FieldValue + Integer,
    {
        // Not an `async fn`: its future would carry the bound `V: Integer`, and
        // a field that is not an integer would be reported three times (at the
        // field, at the call and at the `.await`). This future names only `M`,
        // so a wrong field is one error.
        Box::pin(self.incr_field::<M>(id, field.name(), by, V::MIN, V::MAX))
    }

    async fn incr_field<M: HashFields>(
        &self,
        id: &M::Id,
        field: &'static str,
        by: i64,
        min: i128,
        max: i128,
    ) -> Result<Option<i64>> {
        let key = self.render_key::<M>(id)?;
        let (min, max) = incr_bounds(min, max);
        if coordination::of::<M>().is_some() {
            let changes = [
                b"i".to_vec(),
                field.into(),
                by.to_string().into_bytes(),
                min.into_bytes(),
                max.into_bytes(),
            ];
            let patched = self
                .patch_coordinated::<M>("incr", Retry::Never, &key, &changes)
                .await?;
            return Ok(patched.and_then(|values| values.first().copied()));
        }
        self.query::<M, _, _, _>("incr", Retry::Never, |mut con| {
            let (key, min, max) = (&key, &min, &max);
            async move {
                let reply = script::INCR_FIELD
                    .run(&mut con, &[key], |cmd| {
                        cmd.arg(field).arg(by).arg(min).arg(max);
                    })
                    .await?;
                Option::<i64>::from_redis_value(reply).map_err(Into::into)
            }
        })
        .await
    }

    /// Sets the entity's TTL; `false` when it does not exist. A zero TTL, or
    /// one beyond what the server accepts, is refused before anything is sent
    /// ([`Error::InvalidTtl`]); to remove the TTL, [`Store::persist`].
    pub async fn expire<M: Family>(&self, id: &M::Id, ttl: Duration) -> Result<bool> {
        let ms = ttl_millis::<M>("expire", ttl)?;
        let mut cmd = key_cmd("PEXPIRE", &self.render_key::<M>(id)?);
        cmd.arg(ms);
        self.query::<M, _, _, _>("expire", Retry::Never, |mut con| {
            let cmd = &cmd;
            async move { cmd.query_async(&mut con).await }
        })
        .await
    }

    /// Removes the entity's TTL; `false` when it does not exist or had none.
    ///
    /// Refused for a lease ([`RedisLock`](trait@crate::RedisLock)), before anything is sent
    /// ([`Error::InvalidTtl`]): every lease keeps a TTL, so a holder that
    /// crashes cannot block it forever; its holder extends it with
    /// [`crate::lease::Lease::extend`].
    pub async fn persist<M: Family>(&self, id: &M::Id) -> Result<bool> {
        if M::META.kind == crate::model::Kind::Lease {
            crate::observe::refused(M::META.name, M::META.kind.as_str(), "invalid_ttl");
            return Err(Error::InvalidTtl {
                operation: "persist",
                model: M::META.name,
                ttl: Duration::MAX,
                reason: "a lease keeps a TTL, so a holder that crashes cannot block it forever; \
                         its holder extends it with `Lease::extend`",
            });
        }
        let cmd = key_cmd("PERSIST", &self.render_key::<M>(id)?);
        self.query::<M, _, _, _>("persist", Retry::Never, |mut con| {
            let cmd = &cmd;
            async move { cmd.query_async(&mut con).await }
        })
        .await
    }

    /// Re-applies the model's TTL (or removes any TTL when the model declares none).
    /// Returns `false` when the entity does not exist (or, without a model TTL, had none).
    pub async fn refresh_ttl<M: Family>(&self, id: &M::Id) -> Result<bool> {
        match M::META.ttl {
            Some(ttl) => self.expire::<M>(id, ttl).await,
            None => self.persist::<M>(id).await,
        }
    }

    /// The entity's remaining time to live.
    pub async fn ttl<M: Family>(&self, id: &M::Id) -> Result<Expiry> {
        let cmd = key_cmd("PTTL", &self.render_key::<M>(id)?);
        let ms: i64 = self
            .query_found::<M, _, _, _>(
                "ttl",
                Retry::Once,
                |ms| *ms != -2,
                |mut con| {
                    let cmd = &cmd;
                    async move { cmd.query_async(&mut con).await }
                },
            )
            .await?;
        Ok(match ms {
            -2 => Expiry::Missing,
            -1 => Expiry::Never,
            ms => Expiry::In(Duration::from_millis(ms.max(0).unsigned_abs())),
        })
    }
}

/// The bounds of an increment's result as the scripts take them: the Rust
/// type's, or `''` where it is i64's own bound (which `HINCRBY` enforces).
fn incr_bounds(min: i128, max: i128) -> (String, String) {
    let bound = |b: i128| {
        if b <= i128::from(i64::MIN) || b >= i128::from(i64::MAX) {
            String::new()
        } else {
            b.to_string()
        }
    };
    (bound(min), bound(max))
}

/// Whether a reply holds something: not nil, not an empty hash.
pub(crate) fn found_value(value: &Value) -> bool {
    match value {
        Value::Nil => false,
        Value::Map(pairs) => !pairs.is_empty(),
        Value::Array(items) => !items.is_empty(),
        _ => true,
    }
}

pub(crate) fn key_error<M: Family>(e: InvalidKeyPart) -> Error {
    crate::observe::refused(M::META.name, M::META.kind.as_str(), "invalid_key_part");
    Error::InvalidKeyPart {
        model: M::META.name,
        key_template: M::META.key.source,
        field: e.field,
        reason: e.reason,
    }
}

pub(crate) fn key_cmd(verb: &str, key: &[u8]) -> Cmd {
    let mut cmd = redis::cmd(verb);
    cmd.arg(key);
    cmd
}

/// A TTL in milliseconds (a sub-millisecond one rounds up to 1), or the typed
/// error for zero and for TTLs the server would refuse.
pub(crate) fn ttl_millis<M: Family>(operation: &'static str, ttl: Duration) -> Result<u64> {
    let invalid = |reason| {
        crate::observe::refused(M::META.name, M::META.kind.as_str(), "invalid_ttl");
        Error::InvalidTtl {
            operation,
            model: M::META.name,
            ttl,
            reason,
        }
    };
    if ttl.is_zero() {
        return Err(invalid(
            "a TTL must be positive; to remove the TTL use `persist`, to remove the entity `delete`",
        ));
    }
    match u64::try_from(ttl.as_millis()) {
        Ok(ms) if ms <= MAX_TTL_MILLIS => Ok(ms.max(1)),
        _ => Err(invalid(
            "longer than the server accepts (about 146 million years)",
        )),
    }
}

/// Appends the commands of a full save of `model` at `key`.
fn push_save<M: RedisModel>(
    pipe: &mut Pipeline,
    key: &[u8],
    model: &M,
    ttl_ms: Option<u64>,
) -> Result<()> {
    match <M::Codec as Codec<M>>::ENCODING {
        Encoding::Hash => {
            let mut hset = key_cmd("HSET", key);
            M::Codec::write_value(model, &mut hset)?;
            if hset.args_iter().len() == 2 {
                // `HSET key` alone aborts the transaction, and an empty hash
                // cannot exist: refuse before anything is sent.
                return Err(empty_hash_error::<M>());
            }
            pipe.cmd("DEL").arg(key).ignore();
            pipe.add_command(hset).ignore();
            if let Some(ms) = ttl_ms {
                pipe.cmd("PEXPIRE").arg(key).arg(ms).ignore();
            }
        }
        _ => {
            let mut set = key_cmd("SET", key);
            M::Codec::write_value(model, &mut set)?;
            if let Some(ms) = ttl_ms {
                set.arg("PX").arg(ms);
            }
            pipe.add_command(set).ignore();
        }
    }
    Ok(())
}

/// The error for a hash model whose every field is absent: Redis cannot
/// store an empty hash.
fn empty_hash_error<M: RedisModel>() -> Error {
    Error::encode::<M>(
        None,
        "every field is absent and Redis cannot store an empty hash; \
         give the model a field that is always stored"
            .to_owned(),
    )
}

pub(crate) fn read_cmd<M: RedisModel>(key: &[u8]) -> Cmd {
    match <M::Codec as Codec<M>>::ENCODING {
        Encoding::Hash => key_cmd("HGETALL", key),
        _ => key_cmd("GET", key),
    }
}

/// Decodes the reply of a read of `id`; a missing key (nil, or an empty
/// hash) is `None`. An entity whose stored id fields are not `id` (stored
/// under another entity's key) is a decode error.
fn decode_reply<M: RedisModel>(id: &M::Id, value: Value) -> Result<Option<M>> {
    match &value {
        Value::Nil => return Ok(None),
        Value::Array(items) if items.is_empty() => return Ok(None),
        Value::Map(entries) if entries.is_empty() => return Ok(None),
        _ => {}
    }
    let model = M::Codec::decode_keyed(id, value)?;
    match model.id_mismatch(id) {
        None => Ok(Some(model)),
        Some(field) => Err(Error::Decode(DecodeError::of::<M>(
            Some(field),
            DecodeErrorKind::IdMismatch,
        ))),
    }
}

trait ErrorKindStr {
    fn kind_str(&self) -> &'static str;
}

impl ErrorKindStr for redis::RedisError {
    // The error's text may echo the URL; only its category is shown.
    fn kind_str(&self) -> &'static str {
        match self.kind() {
            redis::ErrorKind::InvalidClientConfig => "invalid client configuration",
            _ => "the client could not be created",
        }
    }
}
