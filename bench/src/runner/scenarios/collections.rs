//! Collections: sequential operations on the collection kinds (a set with a
//! TTL, a sorted set, a rate-limit counter, a map), each awaited before the
//! next as in S2, the framework's handles against the hand-written redis-rs of
//! `handwritten::collections` (the collection gate proves both send the same
//! bytes). Every reply is checked on both sides.

use redis::aio::MultiplexedConnection;

use super::common::{check, flush, progress, rounds_of, sample_of, timed};
use super::throughput::RbRun;
use crate::BenchError;
use crate::handwritten::collections as hw;
use crate::models::{Board, LIMIT_TTL_MS, Limit, MEMBERS_TTL_MS, Marks, Members};
use crate::rb::RbShape;
use crate::runner::report::{Section, Table, rate, ratio_cell};
use crate::runner::{Bench, Conns, Paired, Variant};

/// The sequential target (S2's).
const TARGET: f64 = 0.95;
/// Sets and maps: operation `i` goes to room `i % ROOMS`.
const ROOMS: u64 = 100;
/// Sorted sets: boards (games).
const BOARDS: u64 = 10;
/// Sorted set `incr`: players, player `p` on board `p % BOARDS`.
const PLAYERS: u64 = 300;
/// Sorted set `top`: members per board.
const BOARD_SIZE: u64 = 100;
/// `top(TOP)`.
const TOP: u64 = 10;
/// Counter `hit`: users, operation `i` hits user `i % USERS`.
const USERS: u64 = 100;
/// Counter `hit`: the limit (with 3,000 operations, 30 hits per user and
/// window: 20 allowed, 10 denied).
const LIMIT: u64 = 20;
/// Sorted set `incr`: the increment (not an integer, so the score's
/// formatting is exercised).
const BY: f64 = 0.5;

/// Sends `cmds` in pipelines of 500 (setup, outside the clock).
async fn fill(admin: &mut MultiplexedConnection, cmds: Vec<redis::Cmd>) -> Result<(), BenchError> {
    for chunk in cmds.chunks(500) {
        let mut pipe = redis::pipe();
        for c in chunk {
            pipe.add_command(c.clone()).ignore();
        }
        pipe.query_async::<()>(admin).await?;
    }
    Ok(())
}

/// Whether member `i` of room `i % ROOMS` is stored for `contains`, and
/// field `i` for map `get`.
fn set_holds(i: u64) -> bool {
    !i.is_multiple_of(3)
}

fn map_holds(i: u64) -> bool {
    !i.is_multiple_of(4)
}

fn map_value(i: u64) -> i64 {
    i as i64 * 3 - 1000
}

fn player(p: u64) -> String {
    format!("player{p}")
}

/// The stored score of member `k` of board `g` for `top`: distinct per board.
fn board_score(g: u64, k: u64) -> f64 {
    k as f64 + g as f64 * 0.25
}

/// What `top(TOP)` of board `g` returns.
fn expected_top(g: u64) -> Vec<(String, f64)> {
    (BOARD_SIZE - TOP..BOARD_SIZE)
        .rev()
        .map(|k| (player(k), board_score(g, k)))
        .collect()
}

/// Set `add`: a new member each time, to 100 sets created by the run's first
/// adds (one script, `SADD` then `PEXPIRE NX`, either way).
async fn set_add(b: &mut Bench) -> Result<Paired, BenchError> {
    let n = b.sizes.sequential;
    let Conns {
        mut admin,
        store,
        mut raw,
        ..
    } = b.conns.clone();
    rounds_of(b, None, async |v, _| {
        flush(&mut admin).await?;
        let (per_sec, added) = if v == Variant::Framework {
            timed(n, 0..n, async |i| {
                Ok(store.set::<Members>(&(i % ROOMS)).add(&i).await?)
            })
            .await?
        } else {
            timed(n, 0..n, async |i| hw::set_add(&mut raw, i % ROOMS, i).await).await?
        };
        check(added.iter().all(|&a| a), "every add was new")?;
        for room in 0..ROOMS.min(n) {
            let key = hw::members_key(room);
            let (len, ttl): (u64, i64) = redis::pipe()
                .cmd("SCARD")
                .arg(&key)
                .cmd("PTTL")
                .arg(&key)
                .query_async(&mut admin)
                .await?;
            check(
                len == (0..n).filter(|i| i % ROOMS == room).count() as u64,
                "every added member is in its set",
            )?;
            check(ttl > 0 && ttl <= MEMBERS_TTL_MS as i64, "a set has its TTL")?;
        }
        Ok(per_sec)
    })
    .await
}

/// Set `contains`: two members in three are there.
async fn set_contains(b: &mut Bench) -> Result<Paired, BenchError> {
    let n = b.sizes.sequential;
    let Conns {
        mut admin,
        store,
        mut raw,
        ..
    } = b.conns.clone();
    flush(&mut admin).await?;
    let adds = (0..n)
        .filter(|&i| set_holds(i))
        .map(|i| {
            let mut c = redis::cmd("SADD");
            c.arg(hw::members_key(i % ROOMS)).arg(i);
            c
        })
        .collect();
    fill(&mut admin, adds).await?;
    rounds_of(b, None, async |v, _| {
        let (per_sec, here) = if v == Variant::Framework {
            timed(n, 0..n, async |i| {
                Ok(store.set::<Members>(&(i % ROOMS)).contains(&i).await?)
            })
            .await?
        } else {
            timed(n, 0..n, async |i| {
                hw::set_contains(&mut raw, i % ROOMS, i).await
            })
            .await?
        };
        check(here.len() as u64 == n, "every contains answered")?;
        for (i, here) in (0..n).zip(here) {
            check(here == set_holds(i), "contains answers what is stored")?;
        }
        Ok(per_sec)
    })
    .await
}

/// Sorted set `incr` (`ZINCRBY`): 300 players over 10 boards, each
/// incremented 10 times per run; the scores carry over from run to run, so
/// every reply must be the previous score plus the increment.
async fn zincr(b: &mut Bench) -> Result<Paired, BenchError> {
    let n = b.sizes.sequential;
    let Conns {
        mut admin,
        store,
        mut raw,
        ..
    } = b.conns.clone();
    flush(&mut admin).await?;
    let names: Vec<String> = (0..PLAYERS).map(player).collect();
    let mut scores = vec![0.0f64; PLAYERS as usize];
    rounds_of(b, None, async |v, _| {
        let (per_sec, got) = if v == Variant::Framework {
            timed(n, 0..n, async |i| {
                let p = i % PLAYERS;
                let game = p % BOARDS;
                let board = store.sorted_set::<Board>(&game);
                Ok(board.incr(&names[p as usize], BY).await?)
            })
            .await?
        } else {
            timed(n, 0..n, async |i| {
                let p = i % PLAYERS;
                hw::zincrby(&mut raw, p % BOARDS, &names[p as usize], BY).await
            })
            .await?
        };
        check(got.len() as u64 == n, "every incr answered")?;
        for (i, got) in (0..n).zip(got) {
            let want = &mut scores[(i % PLAYERS) as usize];
            *want += BY;
            check(got == *want, "incr returns the new score")?;
        }
        Ok(per_sec)
    })
    .await
}

/// Sorted set `top(10)` of boards of 100 members.
async fn top(b: &mut Bench) -> Result<Paired, BenchError> {
    let n = b.sizes.sequential;
    let Conns {
        mut admin,
        store,
        mut raw,
        ..
    } = b.conns.clone();
    flush(&mut admin).await?;
    let adds = (0..BOARDS)
        .map(|g| {
            let mut c = redis::cmd("ZADD");
            c.arg(hw::board_key(g));
            for k in 0..BOARD_SIZE {
                c.arg(board_score(g, k).to_string()).arg(player(k));
            }
            c
        })
        .collect();
    fill(&mut admin, adds).await?;
    let expected: Vec<Vec<(String, f64)>> = (0..BOARDS).map(expected_top).collect();
    rounds_of(b, None, async |v, _| {
        let (per_sec, got) = if v == Variant::Framework {
            timed(n, 0..n, async |i| {
                Ok(store.sorted_set::<Board>(&(i % BOARDS)).top(TOP).await?)
            })
            .await?
        } else {
            timed(n, 0..n, async |i| hw::top(&mut raw, i % BOARDS, TOP).await).await?
        };
        check(got.len() as u64 == n, "every top answered")?;
        for (i, got) in (0..n).zip(got) {
            check(
                got == expected[(i % BOARDS) as usize],
                "top returns the highest scores, highest first",
            )?;
        }
        Ok(per_sec)
    })
    .await
}

/// Counter `hit(20)`: 100 users, 30 hits each per run from a fresh window.
async fn hit(b: &mut Bench) -> Result<Paired, BenchError> {
    let n = b.sizes.sequential;
    let Conns {
        mut admin,
        store,
        mut raw,
        ..
    } = b.conns.clone();
    rounds_of(b, None, async |v, _| {
        flush(&mut admin).await?;
        // (count, allowed, window left in ms) per hit.
        let (per_sec, got) = if v == Variant::Framework {
            timed(n, 0..n, async |i| {
                let hit = store.counter::<Limit>(&(i % USERS)).hit(LIMIT).await?;
                let left = hit.resets_in.map_or(-1, |d| d.as_millis() as i64);
                Ok((hit.count as i64, hit.allowed(), left))
            })
            .await?
        } else {
            timed(n, 0..n, async |i| {
                let (count, pttl) = hw::hit(&mut raw, i % USERS).await?;
                Ok((count, count <= LIMIT as i64, pttl))
            })
            .await?
        };
        check(got.len() as u64 == n, "every hit answered")?;
        for (i, (count, allowed, left)) in (0..n).zip(got) {
            let want = (i / USERS + 1) as i64;
            check(count == want, "a hit returns the window's count")?;
            check(
                allowed == (want <= LIMIT as i64),
                "a hit within the limit is allowed",
            )?;
            check(
                left > 0 && left <= LIMIT_TTL_MS as i64,
                "a hit returns the window's time left",
            )?;
        }
        Ok(per_sec)
    })
    .await
}

/// Map `set`: a new field each time, in 100 maps.
async fn map_set(b: &mut Bench) -> Result<Paired, BenchError> {
    let n = b.sizes.sequential;
    let Conns {
        mut admin,
        store,
        mut raw,
        ..
    } = b.conns.clone();
    rounds_of(b, None, async |v, _| {
        flush(&mut admin).await?;
        let (per_sec, added) = if v == Variant::Framework {
            timed(n, 0..n, async |i| {
                Ok(store
                    .map::<Marks>(&(i % ROOMS))
                    .set(&i, &map_value(i))
                    .await?)
            })
            .await?
        } else {
            timed(n, 0..n, async |i| {
                hw::map_set(&mut raw, i % ROOMS, i, map_value(i)).await
            })
            .await?
        };
        check(added.iter().all(|&a| a), "every map set wrote a new field")?;
        for i in sample_of(n) {
            let stored: Option<i64> = redis::cmd("HGET")
                .arg(hw::marks_key(i % ROOMS))
                .arg(i)
                .query_async(&mut admin)
                .await?;
            check(stored == Some(map_value(i)), "map set stored the value")?;
        }
        Ok(per_sec)
    })
    .await
}

/// Map `get`: three fields in four are there.
async fn map_get(b: &mut Bench) -> Result<Paired, BenchError> {
    let n = b.sizes.sequential;
    let Conns {
        mut admin,
        store,
        mut raw,
        ..
    } = b.conns.clone();
    flush(&mut admin).await?;
    let sets = (0..n)
        .filter(|&i| map_holds(i))
        .map(|i| {
            let mut c = redis::cmd("HSET");
            c.arg(hw::marks_key(i % ROOMS)).arg(i).arg(map_value(i));
            c
        })
        .collect();
    fill(&mut admin, sets).await?;
    rounds_of(b, None, async |v, _| {
        let (per_sec, got) = if v == Variant::Framework {
            timed(n, 0..n, async |i| {
                Ok(store.map::<Marks>(&(i % ROOMS)).get(&i).await?)
            })
            .await?
        } else {
            timed(n, 0..n, async |i| hw::map_get(&mut raw, i % ROOMS, i).await).await?
        };
        check(got.len() as u64 == n, "every map get answered")?;
        for (i, got) in (0..n).zip(got) {
            let want = map_holds(i).then(|| map_value(i));
            check(got == want, "map get returns what is stored")?;
        }
        Ok(per_sec)
    })
    .await
}

/// One operation of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    SetAdd,
    SetContains,
    ZIncr,
    Top,
    Hit,
    MapSet,
    MapGet,
    Save0,
    Save1,
    Save3,
    Find,
    Append,
    ReadAck,
    Runner,
}

impl Op {
    const ALL: [Op; 14] = [
        Op::SetAdd,
        Op::SetContains,
        Op::ZIncr,
        Op::Top,
        Op::Hit,
        Op::MapSet,
        Op::MapGet,
        Op::Save0,
        Op::Save1,
        Op::Save3,
        Op::Find,
        Op::Append,
        Op::ReadAck,
        Op::Runner,
    ];

    /// Kind (with the family), operation, and what goes to the server.
    fn cells(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Op::SetAdd => (
                "set (`Members`, TTL 1 h)",
                "add",
                "script: `SADD PEXPIRE NX`",
            ),
            Op::SetContains => ("set (`Members`, TTL 1 h)", "contains", "`SISMEMBER`"),
            Op::ZIncr => ("sorted set (`Board`)", "incr", "`ZINCRBY`"),
            Op::Top => (
                "sorted set (`Board`)",
                "top(10)",
                "`ZRANGE 0 9 REV WITHSCORES`",
            ),
            Op::Hit => (
                "counter (`Limit`, TTL 1 min)",
                "hit(20)",
                "script: `INCRBY PEXPIRE NX GET PTTL`",
            ),
            Op::MapSet => ("map (`Marks`)", "set", "`HSET`"),
            Op::MapGet => ("map (`Marks`)", "get", "`HGET`"),
            Op::Save0 => (
                "entity, 0 indexes (`Staff0`, TTL 1 h)",
                "save",
                "`MULTI DEL HSET PEXPIRE EXEC`",
            ),
            Op::Save1 => (
                "entity, 1 index (`Staff1`)",
                "save",
                "script: `EXISTS HSET PEXPIRE ZADD`",
            ),
            Op::Save3 => (
                "entity, unique + index + range (`Staff3`)",
                "save",
                "script: `EXISTS HGET HSET HSET PEXPIRE ZADD ZADD`",
            ),
            Op::Find => (
                "entity, 1 index (`Staff1`)",
                "find_by_role",
                "`ZRANGE BYLEX`, then script: `HGET HGETALL` per match",
            ),
            Op::Append => (
                "stream (`Orders`, `MAXLEN ~ 10000`)",
                "append",
                "`XADD MAXLEN ~`",
            ),
            Op::ReadAck => (
                "stream (`Orders`), one consumer",
                "read 10 + ack (per batch)",
                "`XREADGROUP COUNT 10`, `XACK` of the 10",
            ),
            Op::Runner => (
                "stream (`Orders`), one consumer",
                "runner (per entry)",
                "`XREADGROUP COUNT 64`, `XACK` per batch",
            ),
        }
    }

    /// redis-benchmark's shape for the same command; `None` for a
    /// script (set add, counter hit), which redis-benchmark is not given.
    fn rb_shape(self) -> Option<RbShape> {
        let command: Vec<String> = match self {
            Op::SetAdd
            | Op::Hit
            | Op::Save0
            | Op::Save1
            | Op::Save3
            | Op::Find
            | Op::Append
            | Op::ReadAck
            | Op::Runner => {
                return None;
            }
            Op::SetContains => vec!["SISMEMBER".into(), hw::members_key(1), "1".into()],
            Op::ZIncr => vec![
                "ZINCRBY".into(),
                hw::board_key(0),
                BY.to_string(),
                player(0),
            ],
            Op::Top => vec![
                "ZRANGE".into(),
                hw::board_key(0),
                "0".into(),
                (TOP - 1).to_string(),
                "REV".into(),
                "WITHSCORES".into(),
            ],
            Op::MapSet => vec![
                "HSET".into(),
                hw::marks_key(7),
                "__rand_int__".into(),
                "42".into(),
            ],
            Op::MapGet => vec!["HGET".into(), hw::marks_key(1), "1".into()],
        };
        Some(RbShape::new(1, 1, command))
    }

    async fn measure(self, b: &mut Bench) -> Result<Paired, BenchError> {
        match self {
            Op::SetAdd => set_add(b).await,
            Op::SetContains => set_contains(b).await,
            Op::ZIncr => zincr(b).await,
            Op::Top => top(b).await,
            Op::Hit => hit(b).await,
            Op::MapSet => map_set(b).await,
            Op::MapGet => map_get(b).await,
            Op::Save0 => super::coordination::save(b, 0).await,
            Op::Save1 => super::coordination::save(b, 1).await,
            Op::Save3 => super::coordination::save(b, 3).await,
            Op::Find => super::coordination::find(b).await,
            Op::Append => super::streams::append(b).await,
            Op::ReadAck => super::streams::read_ack(b).await,
            Op::Runner => super::streams::runner(b).await,
        }
    }
}

const HEADERS: [&str; 9] = [
    "kind",
    "operation",
    "what goes to the server",
    "framework / hand-written",
    "client CPU per op, fw / hw",
    "hand-written / redis-benchmark",
    "framework",
    "hand-written",
    "redis-benchmark shape",
];

/// Collections: sequential operations on a set, a sorted set, a counter and a map.
pub(in crate::runner) async fn collections(b: &mut Bench) -> Result<(), BenchError> {
    let n = b.sizes.sequential;
    let mut table = Table::new("", &HEADERS);
    for op in Op::ALL {
        let (kind, name, sent) = op.cells();
        progress(b, &format!("collections {kind} {name}"));
        let mut rb = op.rb_shape().map(|shape| RbRun::new(shape, n, 1.0));
        // A map set writes keys of its own: redis-benchmark runs before and
        // after the rounds. The others read or change what the rounds stored:
        // twice after them.
        if op == Op::MapSet
            && let Some(rb) = &mut rb
        {
            rb.run(b)?;
        }
        let p = op.measure(b).await?;
        if let Some(rb) = &mut rb {
            rb.run(b)?;
            if op != Op::MapSet {
                rb.run(b)?;
            }
        }
        let case = format!("{kind} {name}");
        b.record("Collections", &case, Variant::Framework, &p, Some(TARGET));
        let (rb_cell, rb_shape) = match &rb {
            Some(run) => (
                run.rate().map_or_else(
                    || "not run".to_owned(),
                    |r| format!("{:.3} ({})", p.median(Variant::Handwritten) / r, rate(r)),
                ),
                format!("`{}`", run.shape().describe()),
            ),
            None => ("—".into(), "— (a script)".into()),
        };
        table.row(vec![
            kind.to_owned(),
            name.to_owned(),
            sent.to_owned(),
            ratio_cell(&p.ratio(Variant::Framework), Some(TARGET)),
            p.cpu_cell(),
            rb_cell,
            rate(p.median(Variant::Framework)),
            rate(p.median(Variant::Handwritten)),
            rb_shape,
        ]);
    }
    table.notes = vec![
        "Ratios: median of per-round throughput ratios, (p10–p90) over the rounds. Target: \
         framework / hand-written ≥ 0.95, as S2 (⚠ marks a miss). CPU: the harness's CPU time \
         per operation (all threads), the same pairing."
            .into(),
        "The hand-written side is `bench/src/handwritten/collections.rs`, which the collection \
         gate (`bench/tests/collection_counters.rs`) runs against the framework: the same \
         commands, one round trip, byte-identical requests. Set add and counter hit are a Lua \
         script (`EVALSHA`), which redis-benchmark is not given here: no companion for them."
            .into(),
        "Entity rows: `Staff0`, `Staff1` and `Staff3` (org `i % 10`, role `i % 4`), saved \
         new each run (flushed before it) and checked after the clock by the number of keys \
         (entities plus one per org and index); a find reads the 75 staff of one org and role \
         of 3,000 stored and checks their number. The hand-written side is \
         `bench/src/handwritten/coordination.rs`, which `bench/tests/coordination_counters.rs` \
         proves byte-identical (one round trip per save, two per find)."
            .into(),
        "Stream rows: `Orders` (one stream, about 60-byte JSON events). Append: orders \
         `0..n`, flushed before each run. Read + ack: a new group per run reads the seeded \
         orders 10 at a time and acknowledges each batch (`bench/tests/stream_counters.rs` \
         proves the requests byte-identical to `bench/src/handwritten/streams.rs`). Runner: \
         a new group per run; the framework's `Runner` (concurrency 64, batch 64, acks \
         batched per turn) against a hand-written loop of `XREADGROUP COUNT 64` + one \
         `XACK` per batch, each through every seeded order; the runner's figure is per \
         entry and includes its start (a pending check and a reclaim script) and stop."
            .into(),
    ];
    b.report.sections.push(Section {
        title: "Collections — sequential operations on a set, a sorted set, a counter and a map"
            .into(),
        intro: vec![format!(
            "{n} operations per variant per round, each awaited before the next, on one \
             `ConnectionManager` per variant (the framework's `Store`, the baseline's redis-rs), \
             tokio current_thread. Set add: member `i` into set `i % {ROOMS}`, every add new, the \
             server flushed before each run (so each run's first add to a set creates it and arms \
             the TTL; every add sends `PEXPIRE .. NX` all the same). Set contains: member `i` of \
             set `i % {ROOMS}`, two in three stored. Sorted set incr: by {BY}, {PLAYERS} members \
             over {BOARDS} sorted sets, the scores carried from run to run. top({TOP}): of \
             {BOARDS} sorted sets of {BOARD_SIZE} members. Counter hit: limit {LIMIT}, {USERS} \
             counters from fresh windows, so {} hits per counter and run ({} allowed). Map set: \
             field `i` of map `i % {ROOMS}`, every field new, flushed before each run. Map get: \
             field `i` of map `i % {ROOMS}`, three in four stored. Checked on both sides, after \
             the clock: every add and map set new and stored (sets counted, with their TTL), \
             every contains and map get exactly what is stored, every incr the previous score \
             plus {BY}, every top the 10 highest in order, every hit the window's count, allowed \
             exactly up to the limit, with the window's time left.",
            n / USERS,
            (n / USERS).min(LIMIT)
        )],
        tables: vec![table],
    });
    Ok(())
}
