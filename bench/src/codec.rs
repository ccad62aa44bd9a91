//! S1: the client-side CPU of one save and one load, without I/O.
//!
//! - Encode: render the key, encode the value and pack the wire bytes of a
//!   full save (hash: `MULTI; DEL; HSET; PEXPIRE; EXEC`; string: `SET .. PX`).
//!   The framework side mirrors `Store::save` step by step with the runtime's
//!   public pieces (`RedisModel::write_key`, `Codec::write_value`); the
//!   hand-written side is [`BenchModel::hw_push_save`] (hash: `Cmd::arg` per
//!   field; strings: `serde_json::to_vec` / `rmp_serde::to_vec_named`).
//! - Decode: the framework's `Codec::decode` (what `Store::get` calls) against
//!   [`BenchModel::hw_decode`] / `serde_json::from_slice` / `rmp_serde::from_slice`,
//!   on the reply value a read returns.

use std::time::Duration;

use redis::Value;
use redis_runtime::RedisModel;
use redis_runtime::key::KeyWriter;
use redis_runtime::model::{Codec, Encoding};

use crate::handwritten::BenchModel;

/// The packed bytes of a framework save of `model` (as `Store::save` builds them).
pub fn fw_save_bytes<M: RedisModel>(model: &M) -> Vec<u8> {
    let mut key = Vec::with_capacity(M::META.key.source.len() + 16);
    model
        .write_key(&mut KeyWriter::new(&mut key, "", &M::META.key))
        .expect("fixture keys are valid");
    let mut pipe = redis::pipe();
    let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1);
    if <M::Codec as Codec<M>>::ENCODING == Encoding::Hash {
        pipe.cmd("DEL").arg(&key).ignore();
        let mut hset = redis::cmd("HSET");
        hset.arg(&key);
        <M::Codec as Codec<M>>::write_value(model, &mut hset).expect("fixtures encode");
        pipe.add_command(hset).ignore();
        if let Some(ttl) = M::META.ttl {
            pipe.cmd("PEXPIRE").arg(&key).arg(millis(ttl)).ignore();
        }
        pipe.atomic();
    } else {
        let mut set = redis::cmd("SET");
        set.arg(&key);
        <M::Codec as Codec<M>>::write_value(model, &mut set).expect("fixtures encode");
        if let Some(ttl) = M::META.ttl {
            set.arg("PX").arg(millis(ttl));
        }
        pipe.add_command(set).ignore();
    }
    pipe.get_packed_pipeline()
}

/// The packed bytes of a hand-written save of `model`.
pub fn hw_save_bytes<M: BenchModel>(model: &M) -> Vec<u8> {
    let key = M::hw_key(model.number());
    let mut pipe = redis::pipe();
    if M::HASH {
        pipe.atomic();
    }
    model
        .hw_push_save(&mut pipe, &key)
        .expect("fixtures encode");
    pipe.get_packed_pipeline()
}

/// The reply a read of the stored `model` returns (RESP2 `HGETALL` or `GET`).
pub fn stored_reply<M: RedisModel>(model: &M) -> Value {
    let mut args: Vec<Vec<u8>> = Vec::new();
    <M::Codec as Codec<M>>::write_value(model, &mut args).expect("fixtures encode");
    if <M::Codec as Codec<M>>::ENCODING == Encoding::Hash {
        Value::Array(args.into_iter().map(Value::BulkString).collect())
    } else {
        Value::BulkString(args.into_iter().next().unwrap_or_default())
    }
}

/// The framework's decode (what `Store::get` runs on a reply).
pub fn fw_decode<M: RedisModel>(value: Value) -> M {
    <M::Codec as Codec<M>>::decode(value).expect("fixtures decode")
}

/// The hand-written decode.
pub fn hw_decode<M: BenchModel>(value: Value) -> M {
    M::hw_decode(value)
        .expect("fixtures decode")
        .expect("fixture present")
}
