//! The hand-written redis-rs baseline for event streams
//! ([`Orders`](crate::models::Orders)): what a careful service writes for
//! the same work with the same guarantee. An append is one `XADD` trimmed
//! like the declaration (`MAXLEN ~ 10000`), the event as JSON in one field;
//! a batch of appends is one `MULTI` (all or none); a consumer reads a batch
//! with `XREADGROUP` and acknowledges it with one `XACK` after handling it.
//! Keys, argument order and number formatting follow the framework's, so
//! both send byte-identical requests (`tests/stream_counters.rs`).

use redis::aio::ConnectionLike;

use crate::BenchError;
use crate::models::Order;

/// An entry as redis-rs reads it: its id and its fields.
type RawEntry = (String, Vec<(String, Vec<u8>)>);

/// The stream key of `shop`.
pub fn orders_key(shop: u64) -> String {
    format!("bench:shop:{{{shop}}}:orders")
}

fn xadd(shop: u64, order: &Order) -> Result<redis::Cmd, BenchError> {
    let mut cmd = redis::cmd("XADD");
    cmd.arg(orders_key(shop))
        .arg("MAXLEN")
        .arg("~")
        .arg(10_000)
        .arg("*")
        .arg("event")
        .arg(serde_json::to_vec(order).map_err(|e| BenchError::from(e.to_string()))?);
    Ok(cmd)
}

/// Appends one order; returns its id.
pub async fn append<C: ConnectionLike>(
    con: &mut C,
    shop: u64,
    order: &Order,
) -> Result<String, BenchError> {
    Ok(xadd(shop, order)?.query_async(con).await?)
}

/// Appends orders in one transaction; returns their ids.
pub async fn append_many<C: ConnectionLike>(
    con: &mut C,
    shop: u64,
    orders: &[Order],
) -> Result<Vec<String>, BenchError> {
    let mut pipe = redis::pipe();
    pipe.atomic();
    for order in orders {
        pipe.add_command(xadd(shop, order)?);
    }
    Ok(pipe.query_async(con).await?)
}

/// Up to `count` orders after `after` (exclusive).
pub async fn after<C: ConnectionLike>(
    con: &mut C,
    shop: u64,
    after: &str,
    count: usize,
) -> Result<Vec<(String, Order)>, BenchError> {
    let reply: Vec<RawEntry> = redis::cmd("XRANGE")
        .arg(orders_key(shop))
        .arg(format!("({after}"))
        .arg("+")
        .arg("COUNT")
        .arg(count)
        .query_async(con)
        .await?;
    decode(reply)
}

fn decode(reply: Vec<RawEntry>) -> Result<Vec<(String, Order)>, BenchError> {
    reply
        .into_iter()
        .map(|(id, fields)| {
            let raw = fields
                .into_iter()
                .find(|(f, _)| f == "event")
                .map(|(_, v)| v)
                .ok_or_else(|| BenchError::from("an entry without its event".to_owned()))?;
            let order =
                serde_json::from_slice(&raw).map_err(|e| BenchError::from(e.to_string()))?;
            Ok((id, order))
        })
        .collect()
}

/// Reads up to `count` new orders for `consumer` of `group`, handles them
/// with `handle`, then acknowledges them in one `XACK`; returns how many.
pub async fn consume<C: ConnectionLike>(
    con: &mut C,
    shop: u64,
    group: &str,
    consumer: &str,
    count: usize,
    mut handle: impl FnMut(&Order),
) -> Result<usize, BenchError> {
    let key = orders_key(shop);
    let reply: Option<Vec<(String, Vec<RawEntry>)>> = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg(group)
        .arg(consumer)
        .arg("COUNT")
        .arg(count)
        .arg("STREAMS")
        .arg(&key)
        .arg(">")
        .query_async(con)
        .await?;
    let entries = match reply.and_then(|mut r| r.pop()) {
        Some((_, entries)) => decode(entries)?,
        None => return Ok(0),
    };
    if entries.is_empty() {
        return Ok(0);
    }
    for (_, order) in &entries {
        handle(order);
    }
    let mut ack = redis::cmd("XACK");
    ack.arg(&key).arg(group);
    for (id, _) in &entries {
        ack.arg(id);
    }
    let _: u64 = ack.query_async(con).await?;
    Ok(entries.len())
}
