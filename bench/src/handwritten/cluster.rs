//! The hand-written baseline on a Redis Cluster: redis-rs 1.8's async cluster
//! client (`cluster_async::ClusterConnection`: one multiplexed connection per
//! node, each command routed by its key's hash slot), with redis-rs's own
//! retry and redirection defaults and the framework's connect and response
//! timeouts.
//!
//! Single-key operations are the functions of [`super`] unchanged: the
//! `MULTI .. EXEC` of a save, `HGETALL`, `DEL` and the scripts' `EVALSHA`
//! each touch one key, and redis-rs routes them to its slot.
//!
//! A command or transaction cannot span hash slots (`CROSSSLOT`), so batches
//! are what a careful author writes by hand: the keys grouped by hash slot
//! with redis-rs's own [`Slot::for_key`], one pipeline (atomic for saves),
//! `MGET` or `DEL` per slot, the groups in the order of their first key, sent
//! concurrently on clones of the connection (each node's connection carries
//! its share in about one round trip), and the replies put back in the
//! caller's order. The same commands and bytes as the framework's batches.

use std::collections::HashMap;

use futures_util::future::{join_all, try_join_all};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::Slot;
use redis::{Cmd, Pipeline, Value};
use redis_runtime::Config;

use super::BenchModel;
use crate::BenchError;

/// The baseline's connection to the cluster seeded by `urls`: redis-rs's
/// defaults (its retries and redirections included) with the framework's
/// connect and response timeouts.
pub async fn connect(urls: &[String]) -> Result<ClusterConnection, BenchError> {
    let config = Config::builder().cluster_nodes(urls.to_vec()).build()?;
    Ok(ClusterClientBuilder::new(urls.to_vec())
        .connection_timeout(config.connect_timeout())
        .response_timeout(config.response_timeout())
        .build()?
        .get_async_connection()
        .await?)
}

/// The indices of `keys` grouped by hash slot, the groups in the order of
/// their first key.
pub fn slot_groups(keys: &[String]) -> Vec<Vec<usize>> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut by_slot: HashMap<Slot, usize> = HashMap::new();
    for (i, key) in keys.iter().enumerate() {
        let group = *by_slot.entry(Slot::for_key(key)).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[group].push(i);
    }
    groups
}

/// Saves every model: one `MULTI .. EXEC` per hash slot (`DEL HSET PEXPIRE`
/// or `SET .. PX` per entity), the slots' transactions sent concurrently.
pub async fn save_many<M: BenchModel>(
    con: &ClusterConnection,
    models: &[M],
) -> Result<(), BenchError> {
    let keys: Vec<String> = models.iter().map(|m| M::hw_key(m.number())).collect();
    let mut pipes = Vec::new();
    for group in slot_groups(&keys) {
        let mut pipe = redis::pipe();
        pipe.atomic();
        for i in group {
            models[i].hw_push_save(&mut pipe, &keys[i])?;
        }
        pipes.push(pipe);
    }
    let sends = pipes.iter().map(|pipe| {
        let mut con = con.clone();
        async move { pipe.query_async::<()>(&mut con).await }
    });
    // Every transaction runs to its end, also when another fails.
    for result in join_all(sends).await {
        result?;
    }
    Ok(())
}

/// The reads of one slot: pipelined `HGETALL`s, or one `MGET`.
enum Read {
    Hashes(Pipeline),
    Strings(Cmd),
}

/// Loads fixtures `ns` in order: one pipeline of `HGETALL` (hash) or one
/// `MGET` per hash slot, sent concurrently, the replies reassembled.
pub async fn get_many<M: BenchModel>(
    con: &ClusterConnection,
    ns: &[u64],
) -> Result<Vec<Option<M>>, BenchError> {
    let keys: Vec<String> = ns.iter().map(|&n| M::hw_key(n)).collect();
    let groups = slot_groups(&keys);
    let reads: Vec<Read> = groups
        .iter()
        .map(|group| {
            if M::HASH {
                let mut pipe = redis::pipe();
                for &i in group {
                    pipe.cmd("HGETALL").arg(&keys[i]);
                }
                Read::Hashes(pipe)
            } else {
                let mut cmd = redis::cmd("MGET");
                for &i in group {
                    cmd.arg(&keys[i]);
                }
                Read::Strings(cmd)
            }
        })
        .collect();
    let sends = reads.iter().map(|read| {
        let mut con = con.clone();
        async move {
            match read {
                Read::Hashes(pipe) => pipe.query_async::<Vec<Value>>(&mut con).await,
                Read::Strings(cmd) => cmd.query_async::<Vec<Value>>(&mut con).await,
            }
        }
    });
    let replies = try_join_all(sends).await?;
    let mut values = vec![Value::Nil; ns.len()];
    for (group, replies) in groups.iter().zip(replies) {
        for (&i, value) in group.iter().zip(replies) {
            values[i] = value;
        }
    }
    values.into_iter().map(M::hw_decode).collect()
}

/// Deletes fixtures `ns`: one `DEL` per hash slot, sent concurrently; how
/// many existed.
pub async fn delete_many<M: BenchModel>(
    con: &ClusterConnection,
    ns: &[u64],
) -> Result<u64, BenchError> {
    let keys: Vec<String> = ns.iter().map(|&n| M::hw_key(n)).collect();
    let deletes: Vec<Cmd> = slot_groups(&keys)
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
        let mut con = con.clone();
        async move { cmd.query_async::<u64>(&mut con).await }
    });
    let mut deleted = 0;
    for result in join_all(sends).await {
        deleted += result?;
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::slot_groups;

    #[test]
    fn groups_follow_hash_tags_and_first_appearance() {
        let keys: Vec<String> = ["a:{x}:1", "b", "a:{x}:2", "c:{y}", "b"]
            .iter()
            .map(|k| (*k).to_owned())
            .collect();
        let groups = slot_groups(&keys);
        assert_eq!(groups[0], [0, 2]);
        assert_eq!(groups[1], [1, 4]);
        assert_eq!(groups[2], [3]);
        for key in &keys {
            assert_eq!(
                redis::cluster_routing::Slot::for_key(key),
                redis::cluster_routing::Slot::new(redis_runtime::key::hash_slot(key.as_bytes()))
                    .unwrap(),
                "redis-rs and the runtime agree on the slot of {key}"
            );
        }
    }
}
