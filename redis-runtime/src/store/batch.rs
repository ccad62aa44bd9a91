//! Operations over many keys. On one server a batch is one command or
//! pipeline; on a Redis Cluster, where a command or transaction cannot span
//! hash slots, it is split into one per slot, sent concurrently (so about one
//! round trip per node, each node's connection carrying its share), and the
//! replies are put back in the caller's order.

use std::collections::HashMap;

use redis::{Cmd, Pipeline, RedisResult, Value};

use super::Store;
use crate::connection::Connection;
use crate::error::Result;
use crate::key::hash_slot;
use crate::model::{Codec, Encoding, RedisModel};

impl Store {
    /// The indices of `keys` grouped by hash slot, groups in the order of
    /// their first key; on one server, a single group of every index.
    pub(super) fn slot_groups(&self, keys: &[Vec<u8>]) -> Vec<Vec<usize>> {
        if !self.link.is_cluster() {
            return vec![(0..keys.len()).collect()];
        }
        let mut groups: Vec<Vec<usize>> = Vec::new();
        let mut by_slot: HashMap<u16, usize> = HashMap::new();
        for (i, key) in keys.iter().enumerate() {
            let group = *by_slot.entry(hash_slot(key)).or_insert_with(|| {
                groups.push(Vec::new());
                groups.len() - 1
            });
            groups[group].push(i);
        }
        groups
    }
}

/// The reads of one group of keys: pipelined `HGETALL`s for hash models, one
/// `MGET` for string-encoded ones.
pub(super) enum Read {
    Hashes(Pipeline),
    Strings(Cmd),
}

impl Read {
    pub(super) fn new<'k, M: RedisModel>(keys: impl Iterator<Item = &'k [u8]>) -> Read {
        match <M::Codec as Codec<M>>::ENCODING {
            Encoding::Hash => {
                let mut pipe = redis::pipe();
                for key in keys {
                    pipe.cmd("HGETALL").arg(key);
                }
                Read::Hashes(pipe)
            }
            _ => {
                let mut cmd = redis::cmd("MGET");
                for key in keys {
                    cmd.arg(key);
                }
                Read::Strings(cmd)
            }
        }
    }

    /// One reply per key, in the order of the keys.
    pub(super) async fn send(&self, con: &mut Connection) -> RedisResult<Vec<Value>> {
        match self {
            Read::Hashes(pipe) => pipe.query_async(con).await,
            Read::Strings(cmd) => cmd.query_async(con).await,
        }
    }
}

/// Puts the replies of the groups back in the order of the `len` keys.
pub(super) fn reassemble(
    len: usize,
    groups: &[Vec<usize>],
    replies: Vec<Vec<Value>>,
) -> Vec<Value> {
    if groups.len() == 1 {
        // One server: the replies are already in order.
        return replies.into_iter().next().unwrap_or_default();
    }
    let mut values = vec![Value::Nil; len];
    for (group, replies) in groups.iter().zip(replies) {
        for (&i, value) in group.iter().zip(replies) {
            values[i] = value;
        }
    }
    values
}

/// The outcome of a batch sent as several commands or transactions (one
/// per hash slot): every result, or the first error. When some parts were
/// applied (or may have been) and another failed, the error's outcome is
/// [`Outcome::Unknown`](crate::Outcome::Unknown) whatever that part's was:
/// the batch as a whole was not "not applied".
pub(super) fn settle<T>(results: Vec<Result<T>>) -> Result<Vec<T>> {
    let parts = results.len();
    let mut values = Vec::with_capacity(parts);
    let mut first_error = None;
    let mut others_may_have_applied = false;
    for result in results {
        match result {
            Ok(value) => {
                others_may_have_applied = true;
                values.push(value);
            }
            Err(err) if first_error.is_none() => first_error = Some(err),
            Err(err) => {
                others_may_have_applied |= err.outcome() != crate::Outcome::NotApplied;
            }
        }
    }
    match first_error {
        None => Ok(values),
        Some(err) if parts > 1 && others_may_have_applied => Err(err.may_have_been_applied()),
        Some(err) => Err(err),
    }
}
