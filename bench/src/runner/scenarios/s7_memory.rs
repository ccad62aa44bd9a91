//! S7: the bytes each model occupies on the server, and the stored layout
//! compared byte for byte between the framework and the baseline.

use redis::aio::MultiplexedConnection;

use super::common::{check, flush, progress};
use crate::BenchError;
use crate::handwritten::{self, BenchModel};
use crate::models::{Account, OmUser, User, UserJson, UserMacros, UserMsgpack};
use crate::peers;
use crate::runner::report::{Section, Table};
use crate::runner::{Bench, Conns};

async fn memory_usage(
    admin: &mut MultiplexedConnection,
    key: &str,
) -> Result<(u64, String), BenchError> {
    let bytes: u64 = redis::cmd("MEMORY")
        .arg("USAGE")
        .arg(key)
        .arg("SAMPLES")
        .arg(0)
        .query_async(admin)
        .await?;
    let encoding: String = redis::cmd("OBJECT")
        .arg("ENCODING")
        .arg(key)
        .query_async(admin)
        .await?;
    Ok((bytes, encoding))
}

async fn raw_content(
    admin: &mut MultiplexedConnection,
    key: &str,
) -> Result<Vec<Vec<u8>>, BenchError> {
    let kind: String = redis::cmd("TYPE").arg(key).query_async(admin).await?;
    if kind == "hash" {
        let mut pairs: Vec<(Vec<u8>, Vec<u8>)> =
            redis::cmd("HGETALL").arg(key).query_async(admin).await?;
        pairs.sort();
        Ok(pairs.into_iter().flat_map(|(k, v)| [k, v]).collect())
    } else {
        Ok(vec![redis::cmd("GET").arg(key).query_async(admin).await?])
    }
}

async fn memory_model<M: BenchModel>(b: &mut Bench, table: &mut Table) -> Result<u64, BenchError> {
    let Conns {
        mut admin,
        store,
        mut raw,
        ..
    } = b.conns.clone();
    let n = 7;
    let key = M::hw_key(n);
    flush(&mut admin).await?;
    store.save(&M::sample(n)).await?;
    let (fw, fw_enc) = memory_usage(&mut admin, &key).await?;
    let fw_content = raw_content(&mut admin, &key).await?;
    flush(&mut admin).await?;
    handwritten::save(&mut raw, &M::sample(n)).await?;
    let (hw, hw_enc) = memory_usage(&mut admin, &key).await?;
    let hw_content = raw_content(&mut admin, &key).await?;
    check(
        fw_content == hw_content,
        "framework and hand-written store the same layout",
    )?;
    if fw != hw {
        b.report.missed.push(format!(
            "S7 {}: MEMORY USAGE framework {fw} B ≠ hand-written {hw} B",
            M::LABEL
        ));
    }
    let value_bytes: usize = fw_content.iter().map(Vec::len).sum();
    table.row(vec![
        M::LABEL.to_owned(),
        format!("`{key}`"),
        fw_enc,
        format!("{fw}"),
        format!("{hw} ({hw_enc})"),
        format!("{:.2}", fw as f64 / hw as f64),
        format!("{value_bytes}"),
        "identical".into(),
    ]);
    Ok(fw)
}

/// S7: bytes per stored model.
pub(in crate::runner) async fn memory(b: &mut Bench) -> Result<(), BenchError> {
    progress(b, "S7 memory");
    let mut table = Table::new(
        "",
        &[
            "model",
            "key",
            "encoding",
            "framework B",
            "hand-written B",
            "fw / hw",
            "field+value bytes",
            "stored content",
        ],
    );
    let hash = memory_model::<User>(b, &mut table).await?;
    memory_model::<Account>(b, &mut table).await?;
    let json = memory_model::<UserJson>(b, &mut table).await?;
    let msgpack = memory_model::<UserMsgpack>(b, &mut table).await?;

    // Peers, under their own keys.
    let Conns {
        mut admin,
        mut raw,
        mut om,
        ..
    } = b.conns.clone();
    flush(&mut admin).await?;
    peers::om_save(&mut om, &mut OmUser::sample(7)).await?;
    let (om_bytes, om_enc) = memory_usage(&mut admin, &peers::om_key(7)).await?;
    peers::macros_save(&mut raw, &UserMacros::sample(7)).await?;
    let (mac_bytes, mac_enc) = memory_usage(&mut admin, &peers::macros_key(7)).await?;
    table.row(vec![
        "M8 redis-om".into(),
        format!("`{}`", peers::om_key(7)),
        om_enc,
        "—".into(),
        "—".into(),
        format!("{:.2} of M8 hash", om_bytes as f64 / hash as f64),
        format!("{om_bytes} B total"),
        "`tags.0`, `tags.1` fields, no TTL".into(),
    ]);
    table.row(vec![
        "M8 redis-macros".into(),
        format!("`{}`", peers::macros_key(7)),
        mac_enc,
        "—".into(),
        "—".into(),
        format!("{:.2} of M8 json", mac_bytes as f64 / json as f64),
        format!("{mac_bytes} B total"),
        "same JSON bytes as M8 json".into(),
    ]);
    table.notes = vec![format!(
        "`MEMORY USAGE key SAMPLES 0` after one save of the same fixture. Hash / blob for M8: \
         hash {hash} B, JSON {json} B ({:.2}×), MessagePack {msgpack} B ({:.2}×).",
        hash as f64 / json as f64,
        hash as f64 / msgpack as f64
    )];
    b.report.sections.push(Section {
        title: "S7 — stored bytes per model".into(),
        intro: vec![
            "The framework and the baseline must store the same layout (checked: the stored \
             fields and values are compared byte for byte)."
                .into(),
        ],
        tables: vec![table],
    });
    Ok(())
}
