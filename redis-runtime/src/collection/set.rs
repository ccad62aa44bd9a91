//! Sets: [`Set`], the handle on one set of a `#[derive(RedisSet)]` family.

use futures_util::Stream;

use super::{Handle, RedisSet, decode, decode_all, encode};
use crate::error::Result;
use crate::store::{Retry, Store, key_cmd};

/// The set of one id of a [`RedisSet`] family; from [`Store::set`].
///
/// Writes that report what changed (`add`, `remove`, `pop`, `move_member`)
/// are never sent twice: when the connection drops under one, the error's
/// outcome is [`Outcome::Unknown`](crate::Outcome::Unknown). Reads are sent
/// once more.
pub struct Set<'a, S: RedisSet> {
    handle: Handle<'a, S>,
}

impl Store {
    /// The set of `id` in family `S`.
    pub fn set<'a, S: RedisSet>(&'a self, id: &'a S::Id) -> Set<'a, S> {
        Set {
            handle: Handle::new(self, id),
        }
    }
}

impl<S: RedisSet> Set<'_, S> {
    fn member(member: &S::Member) -> Result<Vec<u8>> {
        encode::<S, S::Member, S::MemberCodec>("member", member)
    }

    fn members_of(raw: Vec<Vec<u8>>) -> Result<Vec<S::Member>> {
        decode_all::<S, S::Member, S::MemberCodec>("member", raw)
    }

    /// Adds `member`; `true` when it was not there. The first add to an
    /// absent set arms the declared TTL (`SADD`, then `PEXPIRE NX`, in one
    /// script: an add the server refuses arms nothing); later adds keep it.
    pub async fn add(&self, member: &S::Member) -> Result<bool> {
        Ok(self.add_many(std::slice::from_ref(member)).await? == 1)
    }

    /// Adds every member in one command (one script with a declared TTL,
    /// as [`Set::add`]); returns how many were not there. An empty slice
    /// sends nothing.
    pub async fn add_many(&self, members: &[S::Member]) -> Result<u64> {
        if members.is_empty() {
            return Ok(0);
        }
        let key = self.handle.key()?;
        let members = members
            .iter()
            .map(Self::member)
            .collect::<Result<Vec<_>>>()?;
        self.handle
            .write_creating("add", Retry::Never, &[&key], "SADD", &[], &members)
            .await
    }

    /// Removes `member`; `true` when it was there.
    pub async fn remove(&self, member: &S::Member) -> Result<bool> {
        Ok(self.remove_many(std::slice::from_ref(member)).await? == 1)
    }

    /// Removes every member in one command; returns how many were there.
    pub async fn remove_many(&self, members: &[S::Member]) -> Result<u64> {
        if members.is_empty() {
            return Ok(0);
        }
        let mut cmd = key_cmd("SREM", &self.handle.key()?);
        for member in members {
            cmd.arg(Self::member(member)?);
        }
        self.handle.send("remove", Retry::Never, &cmd).await
    }

    /// Whether `member` is in the set (`SISMEMBER`).
    pub async fn contains(&self, member: &S::Member) -> Result<bool> {
        let mut cmd = key_cmd("SISMEMBER", &self.handle.key()?);
        cmd.arg(Self::member(member)?);
        self.handle.read("contains", &cmd).await
    }

    /// Whether each of `members` is in the set, in order (`SMISMEMBER`).
    pub async fn contains_many(&self, members: &[S::Member]) -> Result<Vec<bool>> {
        if members.is_empty() {
            return Ok(Vec::new());
        }
        let mut cmd = key_cmd("SMISMEMBER", &self.handle.key()?);
        for member in members {
            cmd.arg(Self::member(member)?);
        }
        self.handle.read("contains_many", &cmd).await
    }

    /// Every member (`SMEMBERS`), in no particular order; empty when the set
    /// does not exist. For a large set, [`Set::scan`].
    pub async fn members(&self) -> Result<Vec<S::Member>> {
        let cmd = key_cmd("SMEMBERS", &self.handle.key()?);
        let raw: Vec<Vec<u8>> = self.handle.read("members", &cmd).await?;
        Self::members_of(raw)
    }

    /// The number of members (`SCARD`); 0 when the set does not exist.
    pub async fn len(&self) -> Result<u64> {
        let cmd = key_cmd("SCARD", &self.handle.key()?);
        self.handle.read("len", &cmd).await
    }

    /// Whether the set is empty (or does not exist).
    pub async fn is_empty(&self) -> Result<bool> {
        Ok(self.len().await? == 0)
    }

    /// A random member, left in the set (`SRANDMEMBER`); `None` when empty.
    pub async fn random(&self) -> Result<Option<S::Member>> {
        let cmd = key_cmd("SRANDMEMBER", &self.handle.key()?);
        let raw: Option<Vec<u8>> = self
            .handle
            .send_found("random", Retry::Once, Option::is_some, &cmd)
            .await?;
        raw.map(|r| decode::<S, S::Member, S::MemberCodec>("member", r))
            .transpose()
    }

    /// Removes and returns a random member (`SPOP`); `None` when empty.
    pub async fn pop(&self) -> Result<Option<S::Member>> {
        let cmd = key_cmd("SPOP", &self.handle.key()?);
        let raw: Option<Vec<u8>> = self
            .handle
            .send_found("pop", Retry::Never, Option::is_some, &cmd)
            .await?;
        raw.map(|r| decode::<S, S::Member, S::MemberCodec>("member", r))
            .transpose()
    }

    /// Moves `member` from this set to the set of `to` in one step
    /// (`SMOVE`); `true` when it was here. Both keys must share a hash slot
    /// (see [the module docs](crate::collection)). The destination keeps
    /// its TTL; a destination the move creates has none (set one with
    /// [`Store::expire`]).
    pub async fn move_member(&self, to: &S::Id, member: &S::Member) -> Result<bool> {
        let key = self.handle.key()?;
        let dest = self.handle.store.render_key::<S>(to)?;
        self.handle.same_slot("move_member", &[&key, &dest])?;
        let mut cmd = key_cmd("SMOVE", &key);
        cmd.arg(&dest).arg(Self::member(member)?);
        self.handle.send("move_member", Retry::Never, &cmd).await
    }

    async fn algebra(
        &self,
        verb: &str,
        operation: &'static str,
        others: &[&S::Id],
    ) -> Result<Vec<S::Member>> {
        let keys = self.keys(operation, None, others)?;
        let mut cmd = redis::cmd(verb);
        for key in &keys {
            cmd.arg(key);
        }
        let raw: Vec<Vec<u8>> = self.handle.send(operation, Retry::Once, &cmd).await?;
        Self::members_of(raw)
    }

    /// This set's key, then `others`' (after `dest`'s when given), checked
    /// to share a slot.
    fn keys(
        &self,
        operation: &'static str,
        dest: Option<&S::Id>,
        others: &[&S::Id],
    ) -> Result<Vec<Vec<u8>>> {
        let store = self.handle.store;
        let mut keys = Vec::with_capacity(others.len() + 2);
        if let Some(dest) = dest {
            keys.push(store.render_key::<S>(dest)?);
        }
        keys.push(self.handle.key()?);
        for other in others {
            keys.push(store.render_key::<S>(other)?);
        }
        let refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
        self.handle.same_slot(operation, &refs)?;
        Ok(keys)
    }

    /// The members of this set or any of `others` (`SUNION`).
    pub async fn union(&self, others: &[&S::Id]) -> Result<Vec<S::Member>> {
        self.algebra("SUNION", "union", others).await
    }

    /// The members of this set that are in every one of `others` (`SINTER`).
    pub async fn intersection(&self, others: &[&S::Id]) -> Result<Vec<S::Member>> {
        self.algebra("SINTER", "intersection", others).await
    }

    /// The members of this set that are in none of `others` (`SDIFF`).
    pub async fn difference(&self, others: &[&S::Id]) -> Result<Vec<S::Member>> {
        self.algebra("SDIFF", "difference", others).await
    }

    async fn store_algebra(
        &self,
        verb: &'static str,
        operation: &'static str,
        dest: &S::Id,
        others: &[&S::Id],
    ) -> Result<u64> {
        let keys = self.keys(operation, Some(dest), others)?;
        let keys: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
        // The destination, replaced, has no TTL: `PEXPIRE NX` arms the
        // declared one, and never when the server refuses the command.
        self.handle
            .write_creating(operation, Retry::Once, &keys, verb, &[], &[])
            .await
    }

    /// Replaces the set of `dest` with the union of this set and `others`
    /// (`SUNIONSTORE`), applying the declared TTL to it in the same script
    /// (never when the server refuses the command: a key of another type);
    /// returns its size.
    pub async fn store_union(&self, dest: &S::Id, others: &[&S::Id]) -> Result<u64> {
        self.store_algebra("SUNIONSTORE", "store_union", dest, others)
            .await
    }

    /// Replaces the set of `dest` with the intersection of this set and
    /// `others` (`SINTERSTORE`); as [`Set::store_union`].
    pub async fn store_intersection(&self, dest: &S::Id, others: &[&S::Id]) -> Result<u64> {
        self.store_algebra("SINTERSTORE", "store_intersection", dest, others)
            .await
    }

    /// Replaces the set of `dest` with this set minus `others`
    /// (`SDIFFSTORE`); as [`Set::store_union`].
    pub async fn store_difference(&self, dest: &S::Id, others: &[&S::Id]) -> Result<u64> {
        self.store_algebra("SDIFFSTORE", "store_difference", dest, others)
            .await
    }

    /// Streams every member with `SSCAN`, a page at a time. Like `SSCAN`
    /// itself, a member present for the whole scan is yielded at least once;
    /// a member that does not decode is an error item, and the scan goes on.
    pub fn scan(&self) -> impl Stream<Item = Result<S::Member>> + Send + 'static
    where
        S::Id: 'static,
        S::Member: 'static,
    {
        self.handle.scan("SSCAN", |page| {
            page.next()
                .map(|raw| decode::<S, S::Member, S::MemberCodec>("member", raw))
        })
    }
}
