//! S2: sequential operations, each awaited before the next.

use super::common::{
    check, dbsize, flush, populate, populate_macros, populate_om, progress, rounds_of, sample_of,
    store_fixtures, timed, timed_loads, verify_saved, verify_variant,
};
use super::throughput::{RbRun, THROUGHPUT_HEADERS, get_shape, save_shape, throughput_row};
use crate::BenchError;
use crate::counters::Op;
use crate::handwritten::{self, BenchModel, PartialModel};
use crate::models::{Account, OmUser, User, UserJson, UserMacros, UserMsgpack};
use crate::peers;
use crate::rb::RbShape;
use crate::runner::report::{Section, Table};
use crate::runner::{Bench, Conns, Paired, Variant};

const SEQUENTIAL_TARGET: f64 = 0.95;

fn script_shape(sha: &str, key: String, args: &[&str]) -> RbShape {
    let mut command = vec!["EVALSHA".to_owned(), sha.to_owned(), "1".to_owned(), key];
    command.extend(args.iter().map(|a| (*a).to_owned()));
    RbShape::new(1, 1, command)
}

async fn seq_save<M: BenchModel>(
    b: &mut Bench,
    peer: Option<Variant>,
) -> Result<Paired, BenchError> {
    let n = b.sizes.sequential;
    let models: Vec<M> = (0..n).map(M::sample).collect();
    let mut om_users: Vec<OmUser> = (0..n).map(OmUser::sample).collect();
    let macros_users: Vec<UserMacros> = (0..n).map(UserMacros::sample).collect();
    let Conns {
        mut admin,
        store,
        mut raw,
        mut om,
    } = b.conns.clone();
    rounds_of(b, peer, async |v, _| {
        flush(&mut admin).await?;
        let (per_sec, _) = match v {
            Variant::Framework => timed(n, &models, async |m| Ok(store.save(m).await?)).await?,
            Variant::Handwritten => {
                timed(n, &models, async |m| handwritten::save(&mut raw, m).await).await?
            }
            Variant::RedisOm => {
                timed(n, om_users.iter_mut(), async |u| {
                    peers::om_save(&mut om, u).await
                })
                .await?
            }
            Variant::RedisMacros => {
                timed(n, &macros_users, async |u| {
                    peers::macros_save(&mut raw, u).await
                })
                .await?
            }
        };
        let key = |i| {
            if v == Variant::RedisMacros {
                peers::macros_key(i)
            } else {
                M::hw_key(i)
            }
        };
        verify_saved(
            &mut admin,
            &mut om,
            v,
            sample_of(n),
            async |admin, i| verify_variant::<M>(admin, v, i).await,
            key,
        )
        .await?;
        Ok(per_sec)
    })
    .await
}

async fn seq_get<M: BenchModel>(
    b: &mut Bench,
    peer: Option<Variant>,
) -> Result<Paired, BenchError> {
    let n = b.sizes.sequential;
    let ids: Vec<M::Id> = (0..n).map(M::id_of).collect();
    let Conns {
        mut admin,
        store,
        mut raw,
        mut om,
    } = b.conns.clone();
    store_fixtures::<M>(&mut admin, &mut om, peer, 0..n).await?;
    rounds_of(b, peer, async |v, _| match v {
        Variant::Framework => {
            timed_loads("framework get", n, M::sample, &ids, async |id| {
                Ok([store.get::<M>(id).await?])
            })
            .await
        }
        Variant::Handwritten => {
            timed_loads("hand-written get", n, M::sample, 0..n, async |i| {
                Ok([handwritten::get::<M>(&mut raw, i).await?])
            })
            .await
        }
        Variant::RedisOm => {
            timed_loads("redis-om", n, OmUser::sample, 0..n, async |i| {
                Ok([Some(peers::om_get(&mut om, i).await?)])
            })
            .await
        }
        Variant::RedisMacros => {
            timed_loads("redis-macros", n, UserMacros::sample, 0..n, async |i| {
                Ok([peers::macros_get(&mut raw, i).await?])
            })
            .await
        }
    })
    .await
}

async fn seq_delete<M: BenchModel>(
    b: &mut Bench,
    peer: Option<Variant>,
) -> Result<Paired, BenchError> {
    let n = b.sizes.sequential;
    let ids: Vec<M::Id> = (0..n).map(M::id_of).collect();
    let Conns {
        mut admin,
        store,
        mut raw,
        mut om,
    } = b.conns.clone();
    rounds_of(b, peer, async |v, _| {
        flush(&mut admin).await?;
        match v {
            Variant::RedisOm => populate_om(&mut om, 0..n).await?,
            Variant::RedisMacros => populate_macros(&mut admin, 0..n).await?,
            _ => populate::<M>(&mut admin, 0..n).await?,
        }
        let (per_sec, existed) = match v {
            Variant::Framework => {
                timed(n, &ids, async |id| Ok(store.delete::<M>(id).await?)).await?
            }
            Variant::Handwritten => {
                timed(n, 0..n, async |i| {
                    handwritten::delete::<M>(&mut raw, i).await
                })
                .await?
            }
            Variant::RedisOm => {
                timed(n, 0..n, async |i| {
                    peers::om_delete(&mut om, i).await.map(|()| true)
                })
                .await?
            }
            Variant::RedisMacros => {
                timed(n, 0..n, async |i| peers::macros_delete(&mut raw, i).await).await?
            }
        };
        check(existed.iter().all(|&e| e), "every delete found its entity")?;
        check(dbsize(&mut admin).await? == 0, "every entity was deleted")?;
        Ok(per_sec)
    })
    .await
}

/// S2 `set_field` (a string field, a new value per variant and round) or
/// `incr` (the integer field, by one).
async fn seq_partial_op<M: PartialModel>(b: &mut Bench, op: Op) -> Result<Paired, BenchError> {
    let n = b.sizes.sequential;
    let ids: Vec<M::Id> = (0..n).map(M::id_of).collect();
    let Conns {
        mut admin,
        store,
        mut raw,
        ..
    } = b.conns.clone();
    flush(&mut admin).await?;
    populate::<M>(&mut admin, 0..n).await?;
    let mut expected: Vec<i64> = (0..n).map(M::int_value).collect();
    rounds_of(b, None, async |v, round| {
        if op == Op::Incr {
            let (per_sec, got) = if v == Variant::Framework {
                timed(n, &ids, async |id| Ok(M::fw_incr(&store, id, 1).await?)).await?
            } else {
                timed(n, 0..n, async |i| {
                    handwritten::incr::<M>(&mut raw, i, 1).await
                })
                .await?
            };
            // Counters must move by exactly one per increment, whoever increments.
            for (want, got) in expected.iter_mut().zip(got) {
                *want += 1;
                check(got == Some(*want), "incr returns the next value")?;
            }
            return Ok(per_sec);
        }
        let values: Vec<String> = (0..n)
            .map(|i| format!("{}-{round}-{i}@example.com", v.name()))
            .collect();
        let (per_sec, applied) = if v == Variant::Framework {
            timed(n, ids.iter().zip(&values), async |(id, value)| {
                Ok(M::fw_set_field(&store, id, value).await?)
            })
            .await?
        } else {
            timed(n, (0..n).zip(&values), async |(i, value)| {
                handwritten::set_field::<M>(&mut raw, i, value).await
            })
            .await?
        };
        check(
            applied.iter().all(|&a| a),
            "every set_field found its entity",
        )?;
        for i in sample_of(n) {
            let stored: String = redis::cmd("HGET")
                .arg(M::hw_key(i))
                .arg(M::STRING_FIELD)
                .query_async(&mut admin)
                .await?;
            check(stored == values[i as usize], "set_field stored the value")?;
        }
        Ok(per_sec)
    })
    .await
}

async fn seq_model<M: BenchModel>(
    b: &mut Bench,
    table: &mut Table,
    peer: Option<Variant>,
) -> Result<(), BenchError> {
    let n = b.sizes.sequential;
    for op in [Op::Save, Op::Get, Op::Delete] {
        progress(b, &format!("S2 {} {}", M::LABEL, op.name()));
        let shape = match op {
            Op::Save => save_shape::<M>(1),
            Op::Get => get_shape::<M>(1, 1),
            _ => RbShape::new(1, 1, vec!["DEL".into(), "bench:rb:__rand_int__".into()]),
        };
        let mut rb = RbRun::new(shape, n, 1.0);
        // seq_get stores the data; redis-benchmark reads one of the stored
        // keys, so it runs twice after the rounds instead of around them.
        if op != Op::Get {
            rb.run(b)?;
        }
        let p = match op {
            Op::Save => seq_save::<M>(b, peer).await?,
            Op::Get => seq_get::<M>(b, peer).await?,
            _ => seq_delete::<M>(b, peer).await?,
        };
        rb.run(b)?;
        if op == Op::Get {
            rb.run(b)?;
        }
        let name = op.name();
        let row = (M::LABEL, name.as_str(), peer, Some(&rb), SEQUENTIAL_TARGET);
        throughput_row(b, table, "S2", row, &p);
    }
    Ok(())
}

async fn seq_partial<M: PartialModel>(b: &mut Bench, table: &mut Table) -> Result<(), BenchError> {
    let n = b.sizes.sequential;
    let mut admin = b.conns.admin.clone();
    let (min, max) = M::INT_BOUNDS;
    for op in [Op::SetField, Op::Incr] {
        progress(b, &format!("S2 {} {}", M::LABEL, op.name()));
        let (p, script, lua, args) = if op == Op::SetField {
            (
                seq_partial_op::<M>(b, op).await?,
                &handwritten::SET_FIELD,
                handwritten::SET_FIELD_LUA,
                vec![M::STRING_FIELD, "rb@example.com"],
            )
        } else {
            (
                seq_partial_op::<M>(b, op).await?,
                &handwritten::INCR_FIELD,
                handwritten::INCR_FIELD_LUA,
                vec![M::INT_FIELD, "1", min, max],
            )
        };
        redis::cmd("SCRIPT")
            .arg("LOAD")
            .arg(lua)
            .query_async::<String>(&mut admin)
            .await?;
        let shape = script_shape(script.get_hash(), M::hw_key(0), &args);
        let mut rb = RbRun::new(shape, n, 1.0);
        rb.run(b)?;
        rb.run(b)?;
        let name = op.name();
        let row = (M::LABEL, name.as_str(), None, Some(&rb), SEQUENTIAL_TARGET);
        throughput_row(b, table, "S2", row, &p);
    }
    Ok(())
}

/// What each peer crate can do here, with a probe of redis-om's JSON model.
async fn peer_table(b: &mut Bench) -> Table {
    let mut om = b.conns.om.clone();
    let json = match peers::om_json_save(&mut om, 1).await {
        Ok(()) => "works on this server".to_owned(),
        Err(e) => format!(
            "cannot do this work here: `save` fails with `{}` (it needs the RedisJSON module)",
            e.to_string()
                .split(", with args")
                .next()
                .unwrap_or_default()
                .replace('|', "/")
        ),
    };
    let mut table = Table::new(
        "Peer crates (both build with this toolchain):",
        &["crate", "built on", "does", "measured as"],
    );
    table.row(vec![
        "redis-om 0.1.0 `HashModel`".into(),
        "redis-rs 0.22.4 (its own `ConnectionManager`)".into(),
        "save = `HSET` (no `DEL`, no TTL: stale fields stay), get = `HGETALL` via a `HashMap`, \
         delete = `DEL`; no partial update, no batch API"
            .into(),
        "M8 hash save / get / delete (S2), get (S4)".into(),
    ]);
    table.row(vec![
        "redis-om 0.1.0 `JsonModel`".into(),
        "redis-rs 0.22.4, feature `json`".into(),
        "`JSON.SET` / `JSON.GET`".into(),
        json,
    ]);
    table.row(vec![
        "redis-macros 1.0.1".into(),
        "redis-rs 1.8.1 (the baseline's `ConnectionManager`)".into(),
        "serde JSON values (`FromRedisValue`/`ToRedisArgs`); keys, `SET .. PX`, `MGET`, \
         pipelines written by hand around it — the same commands and bytes as the framework's \
         JSON model"
            .into(),
        "M8 json save / get / delete (S2), batches (S3), get (S4)".into(),
    ]);
    table
}

/// S2: sequential operations, each awaited before the next.
pub(in crate::runner) async fn sequential(b: &mut Bench) -> Result<(), BenchError> {
    let peers_table = peer_table(b).await;
    let mut table = Table::new("", &THROUGHPUT_HEADERS);
    seq_model::<User>(b, &mut table, Some(Variant::RedisOm)).await?;
    seq_partial::<User>(b, &mut table).await?;
    seq_model::<Account>(b, &mut table, None).await?;
    seq_partial::<Account>(b, &mut table).await?;
    seq_model::<UserJson>(b, &mut table, Some(Variant::RedisMacros)).await?;
    seq_model::<UserMsgpack>(b, &mut table, None).await?;
    table.notes = vec![
        "Ratios: median of per-round throughput ratios, (p10–p90) over the rounds. \
         Target: framework / hand-written ≥ 0.95 (⚠ marks a miss); framework / peer: ahead \
         (p10 > 1), level (the spread includes 1) or behind (p90 < 1). CPU: the harness's CPU \
         time per operation (all threads), the same pairing."
            .into(),
        "redis-om's save is a plain `HSET`: stale fields stay, no TTL, and its key, primary key \
         (`String`) and `Vec` layout (`tags.0`, `tags.1`) differ — it does less work than the \
         framework's atomic replace. Its get decodes through a `HashMap`. It has no partial update. \
         redis-macros only encodes values: keys, TTL (`SET .. PX`) and batching are hand-written \
         around it, so it does the same work as the framework's JSON model."
            .into(),
        "redis-benchmark shapes: a hash save is 5 commands (`MULTI DEL HSET PEXPIRE EXEC`) that \
         redis-benchmark cannot send as one request; its shape is the `HSET` alone, so \
         hand-written / redis-benchmark is below 1 by the cost of the other 4 commands. Reads use \
         one stored key; MessagePack payloads are replaced by as many ASCII bytes (argv cannot \
         carry them)."
            .into(),
    ];
    b.report.sections.push(Section {
        title: "S2 — sequential operations (one awaited operation at a time)".into(),
        intro: vec![format!(
            "{} operations per variant per round on one `ConnectionManager` per variant, \
             tokio current_thread. Every loaded value is compared with what was saved; saves \
             are read back (sample) with their TTL; deletes must find every entity and leave \
             none; increments must return exactly the next value.",
            b.sizes.sequential
        )],
        tables: vec![table, peers_table],
    });
    Ok(())
}
