//! Maps: [`Map`], the handle on one hash of a `#[derive(RedisMap)]` family,
//! whose field names are data (a read marker per user, a state per worker).

use futures_util::Stream;

use super::{Handle, RedisMap, decode, encode};
use crate::error::{DecodeError, DecodeErrorKind, Error, Result};
use crate::script;
use crate::store::{Retry, Store, key_cmd};

/// The map of one id of a [`RedisMap`] family; from [`Store::map`].
///
/// Writes that report what changed (`set`, `remove`, `incr`) are never sent
/// twice: when the connection drops under one, the error's outcome is
/// [`Outcome::Unknown`](crate::Outcome::Unknown). Reads are sent once more.
pub struct Map<'a, M: RedisMap> {
    handle: Handle<'a, M>,
}

impl Store {
    /// The map of `id` in family `M`.
    pub fn map<'a, M: RedisMap>(&'a self, id: &'a M::Id) -> Map<'a, M> {
        Map {
            handle: Handle::new(self, id),
        }
    }
}

impl<M: RedisMap> Map<'_, M> {
    fn field(field: &M::Field) -> Result<Vec<u8>> {
        encode::<M, M::Field, M::FieldCodec>("field", field)
    }

    fn value(value: &M::Value) -> Result<Vec<u8>> {
        encode::<M, M::Value, M::ValueCodec>("value", value)
    }

    fn pairs(raw: Vec<(Vec<u8>, Vec<u8>)>) -> Result<Vec<(M::Field, M::Value)>> {
        raw.into_iter()
            .map(|(f, v)| {
                Ok((
                    decode::<M, M::Field, M::FieldCodec>("field", f)?,
                    decode::<M, M::Value, M::ValueCodec>("value", v)?,
                ))
            })
            .collect()
    }

    /// Sets `field` to `value`; `true` when the field is new. The write that
    /// creates the map arms the declared TTL (`HSET`, then `PEXPIRE NX`, in
    /// one script: a write the server refuses arms nothing); later writes
    /// keep it.
    pub async fn set(&self, field: &M::Field, value: &M::Value) -> Result<bool> {
        let key = self.handle.key()?;
        let pair = [Self::field(field)?, Self::value(value)?];
        let added: u64 = self
            .handle
            .write_creating("set", Retry::Never, &[&key], "HSET", &[], &pair)
            .await?;
        Ok(added == 1)
    }

    /// Sets every `(field, value)` in one command (one script with a
    /// declared TTL, as [`Map::set`]); returns how many fields are new. An
    /// empty slice sends nothing.
    pub async fn set_many(&self, entries: &[(&M::Field, &M::Value)]) -> Result<u64> {
        if entries.is_empty() {
            return Ok(0);
        }
        let key = self.handle.key()?;
        let mut pairs = Vec::with_capacity(entries.len() * 2);
        for (field, value) in entries {
            pairs.push(Self::field(field)?);
            pairs.push(Self::value(value)?);
        }
        self.handle
            .write_creating("set_many", Retry::Never, &[&key], "HSET", &[], &pairs)
            .await
    }

    /// The value of `field`; `None` when the field or the map is absent.
    pub async fn get(&self, field: &M::Field) -> Result<Option<M::Value>> {
        let mut cmd = key_cmd("HGET", &self.handle.key()?);
        cmd.arg(Self::field(field)?);
        let raw: Option<Vec<u8>> = self.handle.read_found("get", Option::is_some, &cmd).await?;
        raw.map(|r| decode::<M, M::Value, M::ValueCodec>("value", r))
            .transpose()
    }

    /// The value of each of `fields`, in order (`HMGET`).
    pub async fn get_many(&self, fields: &[M::Field]) -> Result<Vec<Option<M::Value>>> {
        if fields.is_empty() {
            return Ok(Vec::new());
        }
        let mut cmd = key_cmd("HMGET", &self.handle.key()?);
        for field in fields {
            cmd.arg(Self::field(field)?);
        }
        let raw: Vec<Option<Vec<u8>>> = self.handle.read("get_many", &cmd).await?;
        raw.into_iter()
            .map(|r| {
                r.map(|r| decode::<M, M::Value, M::ValueCodec>("value", r))
                    .transpose()
            })
            .collect()
    }

    /// Every field and value (`HGETALL`), in no particular order; empty when
    /// the map does not exist. For a large map, [`Map::scan`].
    pub async fn all(&self) -> Result<Vec<(M::Field, M::Value)>> {
        let cmd = key_cmd("HGETALL", &self.handle.key()?);
        let raw: Vec<(Vec<u8>, Vec<u8>)> = self.handle.read("all", &cmd).await?;
        Self::pairs(raw)
    }

    /// Whether `field` is set (`HEXISTS`).
    pub async fn contains(&self, field: &M::Field) -> Result<bool> {
        let mut cmd = key_cmd("HEXISTS", &self.handle.key()?);
        cmd.arg(Self::field(field)?);
        self.handle.read("contains", &cmd).await
    }

    /// Removes `field`; `true` when it was set.
    pub async fn remove(&self, field: &M::Field) -> Result<bool> {
        Ok(self.remove_many(std::slice::from_ref(field)).await? == 1)
    }

    /// Removes every one of `fields` in one command; returns how many were set.
    pub async fn remove_many(&self, fields: &[M::Field]) -> Result<u64> {
        if fields.is_empty() {
            return Ok(0);
        }
        let mut cmd = key_cmd("HDEL", &self.handle.key()?);
        for field in fields {
            cmd.arg(Self::field(field)?);
        }
        self.handle.send("remove", Retry::Never, &cmd).await
    }

    /// The number of fields (`HLEN`); 0 when the map does not exist.
    pub async fn len(&self) -> Result<u64> {
        let cmd = key_cmd("HLEN", &self.handle.key()?);
        self.handle.read("len", &cmd).await
    }

    /// Whether the map is empty (or does not exist).
    pub async fn is_empty(&self) -> Result<bool> {
        Ok(self.len().await? == 0)
    }

    /// Streams every field and value with `HSCAN`, a page at a time. Like
    /// `HSCAN` itself, a field present for the whole scan is yielded at
    /// least once; an entry that does not decode is an error item, and the
    /// scan goes on.
    pub fn scan(&self) -> impl Stream<Item = Result<(M::Field, M::Value)>> + Send + 'static
    where
        M::Id: 'static,
        M::Field: 'static,
        M::Value: 'static,
    {
        self.handle.scan("HSCAN", |page| {
            let field = page.next()?;
            Some(match page.next() {
                Some(value) => Self::pairs(vec![(field, value)]).map(|mut v| v.remove(0)),
                None => Err(Error::Decode(DecodeError::of::<M>(
                    None,
                    DecodeErrorKind::UnexpectedReply("a field without its value"),
                ))),
            })
        })
    }
}

impl<M: RedisMap<Value = i64>> Map<'_, M> {
    /// Adds `by` to the integer value of `field` (an absent field starts at
    /// 0) and returns the new value (`HINCRBY`); arms the TTL as
    /// [`Map::set`] does (one script with a declared TTL, which reads the
    /// new value back with `HGET`). For maps whose values are `i64`: the
    /// whole range `HINCRBY` works in, so no result can be one the value
    /// type cannot hold. A stored value that is not an integer, or a result
    /// beyond `i64`, is a server error and changes nothing (nor the TTL).
    pub async fn incr(&self, field: &M::Field, by: i64) -> Result<i64> {
        let key = self.handle.key()?;
        let field = Self::field(field)?;
        let Some(ttl) = Handle::<M>::ttl_ms() else {
            let mut cmd = key_cmd("HINCRBY", &key);
            cmd.arg(&field).arg(by);
            return self.handle.send("incr", Retry::Never, &cmd).await;
        };
        self.handle
            .script(
                "incr",
                Retry::Never,
                &script::INCR_CREATING,
                &[&key],
                |cmd| {
                    cmd.arg(ttl).arg(by).arg(&field);
                },
            )
            .await
    }
}
