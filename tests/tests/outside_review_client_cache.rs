//! An outside review of client-side caching (`#[redis(client_cache)]`,
//! `Config::builder().client_cache(true)`), tested adversarially from
//! README.md ("Client-side caching"), the `client_cache` module's docs, the
//! rustdoc of `Store::get_shared`, `Store::sync_client_cache`,
//! `Store::client_cache_stats`, `ClientCachePolicy`, `ModelCacheStats` and
//! docs/METRICS.md alone.
//!
//! Most checks compare a read of the caching store with the same read of a
//! store whose cache is off (the server's truth), right after a write. Each
//! test collects every broken promise it meets (`Checks`) and fails at the
//! end listing them all (with how often each one broke), so one run reports
//! everything. Lines starting with `REVIEW` are observations.
//!
//! Every test starts its own private `redis-server` (unix socket, no
//! persistence); "another client" is a plain redis-rs connection to it.
//! `REVIEW_BROKEN_CACHE=1` runs them against a cache that ignores
//! invalidations (the runtime's testing switch): nearly every test fails
//! then, which shows that they catch stale reads.
//!
//! Findings (tests that fail, none ignored):
//! - `max_entries_budget`, `budgets_under_concurrent_reads_and_writes`:
//!   `max_entries = 1` holds up to 16 keys and `max_entries = 20` up to 32
//!   ("at most `max_entries` keys"; apparently the 16 shards round up).
//! - `edge_reads_absent_empty_wrong_type_corrupt`: `get`/`get_shared` of a
//!   JSON or MessagePack model whose key holds another type return
//!   `Err(WrongType)` once, then `Ok(None)` from the cache.
//! - `stats_count_hits_misses_invalidations`: `ttl` and `get_fields_many`,
//!   reads that are never cached, drop the key's entries and count them as
//!   invalidations ("Entries dropped because the key changed").
//! - `swapdb_and_move_by_another_client`: after `SWAPDB` by another client
//!   and `sync_client_cache`, the cache serves the swapped-out values (the
//!   server sends no invalidation for `SWAPDB`).

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use redis_runtime::client_cache::ModelCacheStats;
use redis_runtime::collection::{Bound, Order, ZAdd};
use redis_runtime::testing::RedisServer;
use redis_runtime::{
    InsertOrGet, RedisCounter, RedisList, RedisMap, RedisModel, RedisSet, RedisSortedSet, Store,
};
use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------------------
// declarations

/// A cached hash model.
#[derive(Debug, Clone, PartialEq, RedisModel)]
#[redis(key = "cc:plan:{id}", client_cache)]
struct Plan {
    id: u64,
    name: String,
    price: i64,
    note: Option<String>,
}

/// The same keys, declared without the attribute: its writes touch `Plan`'s keys.
#[derive(Debug, Clone, PartialEq, RedisModel)]
#[redis(key = "cc:plan:{id}")]
struct PlanUncached {
    id: u64,
    name: String,
    price: i64,
    note: Option<String>,
}

/// A cached JSON model.
#[derive(Debug, Clone, PartialEq, RedisModel, Serialize, Deserialize)]
#[redis(key = "cc:doc:{id}", encoding = "json", client_cache)]
struct Doc {
    id: u64,
    body: String,
}

/// A cached MessagePack model.
#[derive(Debug, Clone, PartialEq, RedisModel, Serialize, Deserialize)]
#[redis(key = "cc:pack:{id}", encoding = "msgpack", client_cache)]
struct Pack {
    id: u64,
    n: i64,
    tags: Vec<String>,
}

/// A cached model that is not `Clone`, with string ids.
#[derive(Debug, PartialEq, RedisModel)]
#[redis(key = "cc:nc:{id}", client_cache)]
struct NotClone {
    id: String,
    v: String,
}

/// A short local bound.
#[derive(Debug, Clone, PartialEq, RedisModel)]
#[redis(key = "cc:short:{id}", client_cache(ttl = "200ms"))]
struct ShortLived {
    id: u64,
    v: i64,
}

/// A model whose keys live 300 ms.
#[derive(Debug, Clone, PartialEq, RedisModel)]
#[redis(key = "cc:expiring:{id}", ttl = "300ms", client_cache)]
struct Expiring {
    id: u64,
    v: i64,
}

#[derive(Debug, Clone, PartialEq, RedisModel)]
#[redis(key = "cc:one:{id}", client_cache(max_entries = 1))]
struct OneEntry {
    id: u64,
    v: i64,
}

#[derive(Debug, Clone, PartialEq, RedisModel)]
#[redis(key = "cc:twenty:{id}", client_cache(max_entries = 20))]
struct Twenty {
    id: u64,
    v: i64,
}

#[derive(Debug, Clone, PartialEq, RedisModel)]
#[redis(key = "cc:tiny:{id}", client_cache(max_bytes = 1))]
struct TinyBytes {
    id: u64,
    v: i64,
}

#[derive(Debug, Clone, PartialEq, RedisModel, Serialize, Deserialize)]
#[redis(key = "cc:kb:{id}", encoding = "json", client_cache(max_bytes = 4096))]
struct Kb {
    id: u64,
    body: String,
}

/// No attribute: never cached.
#[derive(Debug, Clone, PartialEq, RedisModel)]
#[redis(key = "cc:plain:{id}")]
struct PlainModel {
    id: u64,
    v: i64,
}

/// For exact stats.
#[derive(Debug, Clone, PartialEq, RedisModel)]
#[redis(key = "cc:stat:{id}", client_cache)]
struct StatPlan {
    id: u64,
    v: i64,
}

/// For the metrics test.
#[derive(Debug, Clone, PartialEq, RedisModel)]
#[redis(key = "cc:metric:{id}", client_cache)]
struct MetricPlan {
    id: u64,
    v: i64,
}

/// A cached model with a version, a unique field and an index: its writes
/// are scripts over several keys.
#[derive(Debug, Clone, PartialEq, RedisModel)]
#[redis(key = "cc:org:{org}:member:{id}", hash_tag = "org", client_cache)]
struct CMember {
    org: String,
    id: u64,
    #[redis(unique)]
    email: String,
    #[redis(index)]
    role: String,
    #[redis(version)]
    version: u64,
    score: i64,
}

#[derive(RedisSet)]
#[redis(key = "cc:set:{id}", member = String, client_cache)]
struct CSet {
    id: String,
}

/// Sets of one org share a slot (moves, set algebra).
#[derive(Clone, RedisSet)]
#[redis(key = "cc:org:{org}:team:{team}", hash_tag = "org", member = String, client_cache)]
struct CTeam {
    org: String,
    team: String,
}

#[derive(RedisSet)]
#[redis(key = "cc:pset:{id}", member = String)]
struct PlainSet {
    id: String,
}

#[derive(RedisSet)]
#[redis(key = "cc:sset:{id}", member = String, client_cache(ttl = "200ms"))]
struct CShortSet {
    id: String,
}

#[derive(RedisMap)]
#[redis(key = "cc:map:{id}", field = String, value = i64, client_cache)]
struct CMap {
    id: String,
}

#[derive(RedisSortedSet)]
#[redis(key = "cc:z:{id}", member = String, score = u64, client_cache)]
struct CZ {
    id: String,
}

#[derive(RedisList)]
#[redis(key = "cc:list:{id}", item = u64, client_cache)]
struct CList {
    id: String,
}

#[derive(RedisList)]
#[redis(key = "cc:cap:{id}", item = u64, cap = 3, client_cache)]
struct CCap {
    id: String,
}

#[derive(RedisList)]
#[redis(key = "cc:q:{q}", hash_tag = "q", item = u64, queue, client_cache)]
struct CQueue {
    q: String,
}

#[derive(RedisCounter)]
#[redis(key = "cc:ctr:{id}", client_cache)]
struct CCtr {
    id: String,
}

/// A rate-limit counter with a long window.
#[derive(RedisCounter)]
#[redis(key = "cc:hits:{id}", ttl = "1h", client_cache)]
struct CHits {
    id: String,
}

#[derive(RedisCounter)]
#[redis(key = "cc:win:{id}", ttl = "300ms", client_cache)]
struct CWin {
    id: String,
}

// ---------------------------------------------------------------------------
// helpers

/// Soft assertions grouped by label: every failure is recorded (with how
/// often its label failed), the test fails at the end.
struct Checks {
    name: &'static str,
    failures: BTreeMap<String, (usize, String)>,
    passes: usize,
}

impl Checks {
    fn new(name: &'static str) -> Checks {
        Checks {
            name,
            failures: BTreeMap::new(),
            passes: 0,
        }
    }

    fn check(&mut self, label: impl Into<String>, ok: bool, detail: impl Into<String>) {
        if ok {
            self.passes += 1;
            return;
        }
        let label = label.into();
        let detail = detail.into();
        let entry = self.failures.entry(label.clone()).or_insert_with(|| {
            println!("REVIEW {} FAIL {label}: {detail}", self.name);
            (0, detail)
        });
        entry.0 += 1;
    }

    fn note(&self, what: impl AsRef<str>) {
        println!("REVIEW {} NOTE {}", self.name, what.as_ref());
    }

    fn finish(self) {
        println!("REVIEW {} {} checks passed", self.name, self.passes);
        if !self.failures.is_empty() {
            let lines: Vec<String> = self
                .failures
                .iter()
                .map(|(label, (n, detail))| format!("{label} [{n}x]: {detail}"))
                .collect();
            panic!(
                "{}: {} broken promise(s):\n - {}",
                self.name,
                lines.len(),
                lines.join("\n - ")
            );
        }
    }
}

const CONNECT: Duration = Duration::from_millis(1000);
const RESPONSE: Duration = Duration::from_millis(1000);

struct Env {
    server: RedisServer,
    /// Client cache on.
    cached: Store,
    /// Client cache off: the server's truth, and "another store".
    truth: Store,
    /// Another client.
    admin: MultiplexedConnection,
}

fn start_server(args: &[&str]) -> RedisServer {
    let mut builder = RedisServer::builder();
    for arg in args {
        builder = builder.arg(*arg);
    }
    builder.start().expect("redis-server starts")
}

/// `REVIEW_BROKEN_CACHE=1` makes every caching store ignore invalidations
/// (the runtime's testing switch), to show that these tests catch stale reads.
async fn store_of(server: &RedisServer, namespace: &str, cache: bool) -> Store {
    let mut builder = server
        .config_builder()
        .namespace(namespace)
        .client_cache(cache)
        .connect_timeout(CONNECT)
        .response_timeout(RESPONSE);
    if cache && std::env::var_os("REVIEW_BROKEN_CACHE").is_some() {
        builder = builder.client_cache_ignoring_invalidations();
    }
    let config = builder.build().expect("config");
    Store::connect(&config).await.expect("store connects")
}

async fn env_with(args: &[&str]) -> Env {
    let server = start_server(args);
    let cached = store_of(&server, "rv", true).await;
    let truth = store_of(&server, "rv", false).await;
    let admin = server.raw_connection().await.expect("raw connection");
    Env {
        server,
        cached,
        truth,
        admin,
    }
}

async fn env() -> Env {
    env_with(&[]).await
}

/// One command of another client; panics with its name when refused.
macro_rules! admin {
    ($con:expr, $name:literal $(, $arg:expr)* $(,)?) => {{
        #[allow(unused_mut)]
        let mut cmd = redis::cmd($name);
        $(cmd.arg($arg);)*
        cmd.query_async($con)
            .await
            .unwrap_or_else(|e| panic!("admin {}: {e}", $name))
    }};
}

fn show<T: Debug>(r: redis_runtime::Result<T>) -> String {
    match r {
        Ok(v) => format!("Ok({v:?})"),
        Err(e) => format!("Err({})", e.class()),
    }
}

/// The same read on the caching store (first) and on the truth store: equal.
macro_rules! same {
    ($c:expr, $env:expr, $label:expr, |$s:ident| $read:expr) => {{
        let got = {
            let $s: &Store = &$env.cached;
            show($read.await)
        };
        let want = {
            let $s: &Store = &$env.truth;
            show($read.await)
        };
        $c.check(
            $label,
            got == want,
            format!("the caching store read {got}, the server holds {want}"),
        );
    }};
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

fn stats_of(store: &Store, model: &str) -> Option<ModelCacheStats> {
    store
        .client_cache_stats()
        .into_iter()
        .find(|s| s.model == model)
}

async fn sync(c: &mut Checks, store: &Store) {
    let r = store.sync_client_cache().await;
    c.check(
        "sync_client_cache succeeds",
        r.is_ok(),
        format!("{:?}", r.err()),
    );
}

/// Retries `sync_client_cache` until it succeeds (after a fault).
async fn sync_until_ok(store: &Store, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if store.sync_client_cache().await.is_ok() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Polls `cond` until it holds or `within` passes.
async fn eventually<F, Fut>(within: Duration, mut cond: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    loop {
        if cond().await {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// `INFO commandstats` calls of one command (`hgetall`, `client|caching`).
async fn calls(con: &mut MultiplexedConnection, command: &str) -> u64 {
    let text: String = admin!(con, "INFO", "commandstats");
    text.lines()
        .find_map(|line| {
            let rest = line.strip_prefix("cmdstat_")?;
            let (name, stats) = rest.split_once(':')?;
            if name != command {
                return None;
            }
            stats
                .split(',')
                .find_map(|kv| kv.strip_prefix("calls="))?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

fn plan(id: u64, name: &str, price: i64, note: Option<&str>) -> Plan {
    Plan {
        id,
        name: name.into(),
        price,
        note: note.map(Into::into),
    }
}

fn o(v: &str) -> String {
    v.to_owned()
}

// ---------------------------------------------------------------------------
// read sets: every cached read of a family, compared with the server

async fn plan_reads(c: &mut Checks, env: &Env, ctx: &str, id: u64, rot: usize) {
    let f = Plan::fields();
    let absent = 9_999_u64;
    for k in 0..7 {
        match (k + rot) % 7 {
            0 => same!(c, env, format!("{ctx}: get"), |s| s.get::<Plan>(&id)),
            1 => same!(c, env, format!("{ctx}: get_shared"), |s| s
                .get_shared::<Plan>(&id)),
            2 => same!(c, env, format!("{ctx}: get_field(price)"), |s| s
                .get_field(&id, f.price)),
            3 => same!(c, env, format!("{ctx}: get_field(note)"), |s| s
                .get_field(&id, f.note)),
            4 => same!(c, env, format!("{ctx}: get_fields"), |s| s
                .get_fields(&id, (f.name, f.price, f.note))),
            5 => same!(c, env, format!("{ctx}: exists"), |s| s.exists::<Plan>(&id)),
            _ => same!(c, env, format!("{ctx}: get_many"), |s| s
                .get_many::<Plan>(&[id, absent, id])),
        }
    }
}

async fn doc_reads(c: &mut Checks, env: &Env, ctx: &str, id: u64) {
    same!(c, env, format!("{ctx}: doc get"), |s| s.get::<Doc>(&id));
    same!(c, env, format!("{ctx}: doc get_shared"), |s| s
        .get_shared::<Doc>(&id));
    same!(c, env, format!("{ctx}: doc exists"), |s| s
        .exists::<Doc>(&id));
    same!(c, env, format!("{ctx}: doc get_many"), |s| s
        .get_many::<Doc>(&[id, 9_999]));
}

async fn pack_reads(c: &mut Checks, env: &Env, ctx: &str, id: u64) {
    same!(c, env, format!("{ctx}: pack get"), |s| s.get::<Pack>(&id));
    same!(c, env, format!("{ctx}: pack get_shared"), |s| s
        .get_shared::<Pack>(&id));
    same!(c, env, format!("{ctx}: pack exists"), |s| s
        .exists::<Pack>(&id));
    same!(c, env, format!("{ctx}: pack get_many"), |s| s
        .get_many::<Pack>(&[9_999, id]));
}

async fn set_reads(c: &mut Checks, env: &Env, ctx: &str, id: &String) {
    let ms = vec![o("a"), o("b"), o("c"), o("zz")];
    same!(c, env, format!("{ctx}: set contains"), |s| s
        .set::<CSet>(id)
        .contains(&ms[0]));
    same!(c, env, format!("{ctx}: set contains_many"), |s| s
        .set::<CSet>(id)
        .contains_many(&ms));
    same!(c, env, format!("{ctx}: set members"), |s| async {
        s.set::<CSet>(id).members().await.map(sorted)
    });
    same!(c, env, format!("{ctx}: set len"), |s| s
        .set::<CSet>(id)
        .len());
    same!(c, env, format!("{ctx}: set is_empty"), |s| s
        .set::<CSet>(id)
        .is_empty());
}

async fn team_reads(c: &mut Checks, env: &Env, ctx: &str, id: &CTeam) {
    same!(c, env, format!("{ctx}: team members"), |s| async {
        s.set::<CTeam>(id).members().await.map(sorted)
    });
    same!(c, env, format!("{ctx}: team len"), |s| s
        .set::<CTeam>(id)
        .len());
    same!(c, env, format!("{ctx}: team contains"), |s| s
        .set::<CTeam>(id)
        .contains(&o("m1")));
}

async fn map_reads(c: &mut Checks, env: &Env, ctx: &str, id: &String) {
    let ks = vec![o("a"), o("b"), o("nope")];
    same!(c, env, format!("{ctx}: map get"), |s| s
        .map::<CMap>(id)
        .get(&ks[0]));
    same!(c, env, format!("{ctx}: map get_many"), |s| s
        .map::<CMap>(id)
        .get_many(&ks));
    same!(c, env, format!("{ctx}: map all"), |s| async {
        s.map::<CMap>(id).all().await.map(sorted)
    });
    same!(c, env, format!("{ctx}: map contains"), |s| s
        .map::<CMap>(id)
        .contains(&ks[1]));
    same!(c, env, format!("{ctx}: map len"), |s| s
        .map::<CMap>(id)
        .len());
    same!(c, env, format!("{ctx}: map is_empty"), |s| s
        .map::<CMap>(id)
        .is_empty());
}

async fn zset_reads(c: &mut Checks, env: &Env, ctx: &str, id: &String) {
    let ms = vec![o("a"), o("b"), o("nope")];
    same!(c, env, format!("{ctx}: zset score"), |s| s
        .sorted_set::<CZ>(id)
        .score(&ms[0]));
    same!(c, env, format!("{ctx}: zset scores"), |s| s
        .sorted_set::<CZ>(id)
        .scores(&ms));
    same!(c, env, format!("{ctx}: zset rank"), |s| s
        .sorted_set::<CZ>(id)
        .rank(&ms[1]));
    same!(c, env, format!("{ctx}: zset rank_rev"), |s| s
        .sorted_set::<CZ>(id)
        .rank_rev(&ms[1]));
    same!(c, env, format!("{ctx}: zset range"), |s| s
        .sorted_set::<CZ>(id)
        .range(0, -1, Order::Ascending));
    same!(c, env, format!("{ctx}: zset top"), |s| s
        .sorted_set::<CZ>(id)
        .top(2));
    same!(c, env, format!("{ctx}: zset range_by_score"), |s| s
        .sorted_set::<CZ>(id)
        .range_by_score(
            Bound::Inclusive(2),
            Bound::Unbounded,
            Order::Descending,
            None
        ));
    same!(c, env, format!("{ctx}: zset range_by_lex"), |s| s
        .sorted_set::<CZ>(id)
        .range_by_lex(
            Bound::Unbounded,
            Bound::Unbounded,
            Order::Ascending,
            None
        ));
    same!(c, env, format!("{ctx}: zset len"), |s| s
        .sorted_set::<CZ>(id)
        .len());
    same!(c, env, format!("{ctx}: zset is_empty"), |s| s
        .sorted_set::<CZ>(id)
        .is_empty());
    same!(c, env, format!("{ctx}: zset count"), |s| s
        .sorted_set::<CZ>(id)
        .count(Bound::Inclusive(1), Bound::Exclusive(10)));
}

async fn list_reads(c: &mut Checks, env: &Env, ctx: &str, id: &String) {
    same!(c, env, format!("{ctx}: list range"), |s| s
        .list::<CList>(id)
        .range(0, -1));
    same!(c, env, format!("{ctx}: list range tail"), |s| s
        .list::<CList>(id)
        .range(-2, -1));
    same!(c, env, format!("{ctx}: list len"), |s| s
        .list::<CList>(id)
        .len());
    same!(c, env, format!("{ctx}: list is_empty"), |s| s
        .list::<CList>(id)
        .is_empty());
    same!(c, env, format!("{ctx}: list get(0)"), |s| s
        .list::<CList>(id)
        .get(0));
    same!(c, env, format!("{ctx}: list get(-1)"), |s| s
        .list::<CList>(id)
        .get(-1));
}

async fn cap_reads(c: &mut Checks, env: &Env, ctx: &str, id: &String) {
    same!(c, env, format!("{ctx}: capped range"), |s| s
        .list::<CCap>(id)
        .range(0, -1));
    same!(c, env, format!("{ctx}: capped len"), |s| s
        .list::<CCap>(id)
        .len());
}

async fn queue_reads(c: &mut Checks, env: &Env, ctx: &str, id: &String) {
    same!(c, env, format!("{ctx}: queue range"), |s| s
        .list::<CQueue>(id)
        .range(0, -1));
    same!(c, env, format!("{ctx}: queue len"), |s| s
        .list::<CQueue>(id)
        .len());
}

async fn counter_reads(c: &mut Checks, env: &Env, ctx: &str, id: &String) {
    same!(c, env, format!("{ctx}: counter get"), |s| s
        .counter::<CCtr>(id)
        .get());
    same!(c, env, format!("{ctx}: counter exists"), |s| s
        .exists::<CCtr>(id));
    same!(c, env, format!("{ctx}: rate-limit counter get"), |s| s
        .counter::<CHits>(id)
        .get());
}

/// Every family's reads (twice: the second is served from the cache).
async fn all_reads(c: &mut Checks, env: &Env, ctx: &str) {
    for round in 0..2 {
        plan_reads(c, env, ctx, 1, round).await;
        plan_reads(c, env, ctx, 2, round + 3).await;
        doc_reads(c, env, ctx, 1).await;
        pack_reads(c, env, ctx, 1).await;
        set_reads(c, env, ctx, &o("s")).await;
        map_reads(c, env, ctx, &o("m")).await;
        zset_reads(c, env, ctx, &o("z")).await;
        list_reads(c, env, ctx, &o("l")).await;
        counter_reads(c, env, ctx, &o("c")).await;
    }
}

// ---------------------------------------------------------------------------
// own writes

/// Every typed write of a hash model (and writes of an uncached declaration
/// of the same keys): the next read of the caching store is the server's.
/// "After a write through this store returns (or fails), no read of this
/// store returns what the key held before it".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_writes_hash_model_every_write_kind() {
    let mut c = Checks::new("own_writes_hash_model_every_write_kind");
    let env = env().await;
    let st = &env.cached;
    let f = Plan::fields();
    let u = PlanUncached::fields();
    for rep in 0..6_usize {
        let id = 1_u64;
        macro_rules! step {
            ($name:literal, $body:expr) => {{
                plan_reads(&mut c, &env, concat!("before ", $name), id, rep).await;
                plan_reads(&mut c, &env, concat!("before ", $name), id, rep + 1).await;
                let r = $body;
                c.check(
                    concat!($name, " succeeds"),
                    r.is_ok(),
                    format!("{:?}", r.err()),
                );
                plan_reads(&mut c, &env, concat!("after ", $name), id, rep).await;
            }};
        }
        let p = |price: i64| plan(id, &format!("n{rep}"), price, Some("note"));
        step!("save", st.save(&p(1)).await);
        step!("set_field", st.set_field(&id, f.price, &2).await);
        step!("clear_field", st.clear_field(&id, f.note).await);
        step!(
            "set_field(note)",
            st.set_field(&id, f.note, &o("again")).await
        );
        step!("incr", st.incr(&id, f.price, 5).await);
        step!(
            "update",
            st.update(&id, |x| x
                .set(f.name, &o("upd"))
                .incr(f.price, 3)
                .clear(f.note))
                .await
        );
        step!("replace", st.replace(&p(20)).await);
        step!(
            "save_with_ttl",
            st.save_with_ttl(&p(21), Some(Duration::from_secs(3600)))
                .await
        );
        step!("persist", st.persist::<Plan>(&id).await);
        step!("refresh_ttl", st.refresh_ttl::<Plan>(&id).await);
        step!(
            "expire(1h)",
            st.expire::<Plan>(&id, Duration::from_secs(3600)).await
        );
        step!("get_and_refresh", st.get_and_refresh::<Plan>(&id).await);
        step!("take", st.take::<Plan>(&id).await);
        step!("insert", st.insert(&p(30)).await);
        step!(
            "insert_or_get(existing)",
            st.insert_or_get(&p(31))
                .await
                .map(|r| matches!(r, InsertOrGet::Inserted))
        );
        step!("delete", st.delete::<Plan>(&id).await);
        step!(
            "insert_or_get(absent)",
            st.insert_or_get(&p(32))
                .await
                .map(|r| matches!(r, InsertOrGet::Inserted))
        );
        step!(
            "incr_or_insert(existing)",
            st.incr_or_insert(&id, f.price, 1, || p(0)).await
        );
        step!("delete_many", st.delete_many::<Plan>(&[id, 2]).await);
        step!(
            "incr_or_insert(absent)",
            st.incr_or_insert(&id, f.price, 7, || p(100)).await
        );
        step!(
            "save_many",
            st.save_many(&[p(40), plan(2, "two", 2, None)]).await
        );
        // Writes through a declaration without the attribute, same keys.
        step!(
            "uncached declaration save",
            st.save(&PlanUncached {
                id,
                name: "unc".into(),
                price: 50,
                note: None
            })
            .await
        );
        step!(
            "uncached declaration set_field",
            st.set_field(&id, u.price, &51).await
        );
        step!("uncached declaration incr", st.incr(&id, u.price, 1).await);
        step!(
            "uncached declaration delete",
            st.delete::<PlanUncached>(&id).await
        );
        step!(
            "uncached declaration insert",
            st.insert(&PlanUncached {
                id,
                name: "unc2".into(),
                price: 60,
                note: Some("n".into())
            })
            .await
        );
        step!(
            "uncached declaration take",
            st.take::<PlanUncached>(&id).await
        );
        step!("save again", st.save(&p(70)).await);
        // A write that fails (set_field of an absent entity writes nothing
        // and says so); then a short TTL through the store.
        step!("set_field(absent)", st.set_field(&3, f.price, &1).await);
        plan_reads(&mut c, &env, "prime before expire(60ms)", id, rep).await;
        let r = st.expire::<Plan>(&id, Duration::from_millis(60)).await;
        c.check("expire(60ms) succeeds", r.is_ok(), format!("{r:?}"));
        let gone = eventually(Duration::from_secs(3), || async {
            matches!(st.get::<Plan>(&id).await, Ok(None))
                && matches!(st.exists::<Plan>(&id).await, Ok(false))
                && matches!(st.get_field(&id, f.price).await, Ok(None))
        })
        .await;
        c.check(
            "an entity expired through store.expire reads as gone",
            gone,
            "cached reads still return the entity 3 s after a 60 ms expire",
        );
    }
    c.finish();
}

/// JSON and MessagePack models (string values) and a model that is not
/// `Clone` (ids needing escapes): every write kind, then the next read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_writes_json_msgpack_and_non_clone_models() {
    let mut c = Checks::new("own_writes_json_msgpack_and_non_clone_models");
    let env = env().await;
    let st = &env.cached;
    for rep in 0..8_u64 {
        let d = |b: &str| Doc {
            id: 1,
            body: format!("{b}{rep}"),
        };
        let p = |n: i64| Pack {
            id: 1,
            n,
            tags: vec![format!("t{rep}")],
        };
        macro_rules! step {
            ($name:literal, $body:expr) => {{
                for _ in 0..2 {
                    doc_reads(&mut c, &env, concat!("before ", $name), 1).await;
                    pack_reads(&mut c, &env, concat!("before ", $name), 1).await;
                }
                let r = $body;
                c.check(
                    concat!($name, " succeeds"),
                    r.is_ok(),
                    format!("{:?}", r.err()),
                );
                doc_reads(&mut c, &env, concat!("after ", $name), 1).await;
                pack_reads(&mut c, &env, concat!("after ", $name), 1).await;
            }};
        }
        step!("save", st.save(&d("a")).await.and(st.save(&p(1)).await));
        step!(
            "save again",
            st.save(&d("b")).await.and(st.save(&p(2)).await)
        );
        step!(
            "replace",
            st.replace(&d("c")).await.and(st.replace(&p(3)).await)
        );
        step!(
            "save_with_ttl",
            st.save_with_ttl(&d("e"), Some(Duration::from_secs(100)))
                .await
                .and(st.save_with_ttl(&p(4), None).await)
        );
        step!(
            "get_and_refresh",
            st.get_and_refresh::<Doc>(&1)
                .await
                .and(st.get_and_refresh::<Pack>(&1).await)
        );
        step!(
            "take",
            st.take::<Doc>(&1).await.and(st.take::<Pack>(&1).await)
        );
        step!(
            "insert",
            st.insert(&d("f")).await.and(st.insert(&p(5)).await)
        );
        step!(
            "insert_or_get(existing)",
            st.insert_or_get(&d("g"))
                .await
                .map(|r| r.is_inserted())
                .and(st.insert_or_get(&p(6)).await.map(|r| r.is_inserted()))
        );
        step!(
            "delete",
            st.delete::<Doc>(&1).await.and(st.delete::<Pack>(&1).await)
        );
        step!(
            "insert_or_get(absent)",
            st.insert_or_get(&d("h"))
                .await
                .map(|r| r.is_inserted())
                .and(st.insert_or_get(&p(7)).await.map(|r| r.is_inserted()))
        );
        step!(
            "save_many",
            st.save_many(&[
                d("i"),
                Doc {
                    id: 2,
                    body: "x".into()
                }
            ])
            .await
            .and(st.save_many(&[p(8)]).await)
        );
        step!(
            "persist",
            st.persist::<Doc>(&1)
                .await
                .and(st.persist::<Pack>(&1).await)
        );
    }
    // A model that is not Clone, with ids that need escaping.
    let ids = ["a:b", "x y", "%41", "ü", "{t}", "*", "a\\b", "q?"];
    let nf = NotClone::fields();
    for (n, id) in ids.iter().enumerate() {
        let id = o(id);
        macro_rules! nc_reads {
            ($ctx:expr) => {{
                for _ in 0..2 {
                    same!(c, env, format!("{} not-Clone get", $ctx), |s| s
                        .get::<NotClone>(&id));
                    same!(c, env, format!("{} not-Clone get_shared", $ctx), |s| {
                        s.get_shared::<NotClone>(&id)
                    });
                    same!(c, env, format!("{} not-Clone get_many", $ctx), |s| s
                        .get_many::<NotClone>(
                        &[id.clone(), o("absent")]
                    ));
                    same!(c, env, format!("{} not-Clone get_field", $ctx), |s| s
                        .get_field(&id, nf.v));
                }
            }};
        }
        nc_reads!("before save");
        let r = st
            .save(&NotClone {
                id: id.clone(),
                v: format!("v{n}"),
            })
            .await;
        c.check("not-Clone save succeeds", r.is_ok(), format!("{r:?}"));
        nc_reads!("after save");
        let r = st.set_field(&id, nf.v, &format!("w{n}")).await;
        c.check("not-Clone set_field succeeds", r.is_ok(), format!("{r:?}"));
        nc_reads!("after set_field");
        let r = st.delete::<NotClone>(&id).await;
        c.check("not-Clone delete succeeds", r.is_ok(), format!("{r:?}"));
        nc_reads!("after delete");
    }
    c.finish();
}

/// Writes through `raw_access` of every shape: keys in the first, second,
/// odd, option and script-KEYS positions, pipelines and transactions.
/// "(Writes through raw_access too.)"
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_writes_through_raw_access() {
    // Its state is large in a debug build: kept on the heap, not on the
    // test thread's stack.
    Box::pin(own_writes_through_raw_access_body()).await
}

async fn own_writes_through_raw_access_body() {
    let mut c = Checks::new("own_writes_through_raw_access");
    let mut env = env().await;
    let raw = env.cached.raw_access();
    let pk = env.cached.key::<Plan>(&1).unwrap();
    let dk = env.cached.key::<Doc>(&1).unwrap();
    let dk2 = env.cached.key::<Doc>(&2).unwrap();
    let sk = env.cached.key::<CSet>(&o("s")).unwrap();
    let lk = env.cached.key::<CList>(&o("l")).unwrap();
    let tmp = raw
        .compose_key()
        .literal("tmp")
        .part(&o("x"))
        .finish()
        .unwrap();
    let tmp_list = raw
        .compose_key()
        .literal("tmpl")
        .part(&o("x"))
        .finish()
        .unwrap();
    let tmp_set = raw
        .compose_key()
        .literal("tmps")
        .part(&o("x"))
        .finish()
        .unwrap();
    let json = |body: &str| {
        serde_json::to_string(&Doc {
            id: 1,
            body: body.into(),
        })
        .unwrap()
    };
    let json2 = |body: &str| {
        serde_json::to_string(&Doc {
            id: 2,
            body: body.into(),
        })
        .unwrap()
    };
    let sha: String = admin!(
        &mut env.admin,
        "SCRIPT",
        "LOAD",
        "return redis.call('HSET', KEYS[1], 'price', ARGV[1])"
    );
    for rep in 0..10_i64 {
        // Seed through another client, then let the cache settle.
        let _: () = admin!(&mut env.admin, "DEL", &pk, &dk, &dk2, &sk, &lk);
        let _: () = admin!(
            &mut env.admin,
            "HSET",
            &pk,
            "id",
            1,
            "name",
            "p",
            "price",
            1,
            "note",
            "n"
        );
        let _: () = admin!(&mut env.admin, "SET", &dk, json("seed"));
        let _: () = admin!(&mut env.admin, "SADD", &sk, "a");
        let _: () = admin!(&mut env.admin, "RPUSH", &lk, 1);
        sync(&mut c, &env.cached).await;
        macro_rules! case {
            ($name:literal, $write:expr) => {{
                for round in 0..2 {
                    plan_reads(&mut c, &env, concat!("before raw ", $name), 1, round).await;
                    doc_reads(&mut c, &env, concat!("before raw ", $name), 1).await;
                    doc_reads(&mut c, &env, concat!("before raw ", $name), 2).await;
                    set_reads(&mut c, &env, concat!("before raw ", $name), &o("s")).await;
                    list_reads(&mut c, &env, concat!("before raw ", $name), &o("l")).await;
                }
                let r: redis_runtime::Result<redis::Value> = $write;
                match &r {
                    Ok(_) => {}
                    Err(e) => c.note(format!("raw {} refused: {e}", $name)),
                }
                plan_reads(&mut c, &env, concat!("after raw ", $name), 1, rep as usize).await;
                doc_reads(&mut c, &env, concat!("after raw ", $name), 1).await;
                doc_reads(&mut c, &env, concat!("after raw ", $name), 2).await;
                set_reads(&mut c, &env, concat!("after raw ", $name), &o("s")).await;
                list_reads(&mut c, &env, concat!("after raw ", $name), &o("l")).await;
            }};
        }
        case!(
            "HSET",
            raw.query(redis::cmd("HSET").arg(&pk).arg("price").arg(10 + rep))
                .await
        );
        case!(
            "hset (lower case)",
            raw.query(
                redis::cmd("hset")
                    .arg(&pk)
                    .arg("name")
                    .arg(format!("q{rep}"))
            )
            .await
        );
        case!(
            "HINCRBY",
            raw.query(redis::cmd("HINCRBY").arg(&pk).arg("price").arg(1))
                .await
        );
        case!(
            "HDEL",
            raw.query(redis::cmd("HDEL").arg(&pk).arg("note")).await
        );
        case!(
            "SET",
            raw.query(redis::cmd("SET").arg(&dk).arg(json(&format!("set{rep}"))))
                .await
        );
        case!(
            "MSET (second key at an odd position)",
            raw.query(
                redis::cmd("MSET")
                    .arg(&tmp)
                    .arg("x")
                    .arg(&dk)
                    .arg(json("mset"))
                    .arg(&dk2)
                    .arg(json2("mset2"))
            )
            .await
        );
        case!(
            "APPEND (corrupts the JSON)",
            raw.query(redis::cmd("APPEND").arg(&dk).arg("garbage"))
                .await
        );
        case!(
            "SET again",
            raw.query(redis::cmd("SET").arg(&dk).arg(json("again")))
                .await
        );
        let _: () = admin!(&mut env.admin, "SET", &tmp, json("renamed"));
        case!(
            "RENAME onto a cached key (second argument)",
            raw.query(redis::cmd("RENAME").arg(&tmp).arg(&dk)).await
        );
        let _: () = admin!(&mut env.admin, "SET", &tmp, json("copied"));
        case!(
            "COPY .. REPLACE onto a cached key",
            raw.query(redis::cmd("COPY").arg(&tmp).arg(&dk).arg("REPLACE"))
                .await
        );
        case!(
            "EXPIRE 0 (deletes)",
            raw.query(redis::cmd("EXPIRE").arg(&dk).arg(0)).await
        );
        case!(
            "SET once more",
            raw.query(redis::cmd("SET").arg(&dk).arg(json("more")))
                .await
        );
        case!("GETDEL", raw.query(redis::cmd("GETDEL").arg(&dk)).await);
        case!(
            "SET after GETDEL",
            raw.query(redis::cmd("SET").arg(&dk).arg(json("after")))
                .await
        );
        case!(
            "UNLINK",
            raw.query(redis::cmd("UNLINK").arg(&dk).arg(&dk2)).await
        );
        case!(
            "EVAL with the key in KEYS",
            raw.query(
                redis::cmd("EVAL")
                    .arg("return redis.call('HSET', KEYS[1], 'price', ARGV[1])")
                    .arg(1)
                    .arg(&pk)
                    .arg(100 + rep)
            )
            .await
        );
        case!(
            "EVALSHA with the key in KEYS",
            raw.query(
                redis::cmd("EVALSHA")
                    .arg(&sha)
                    .arg(1)
                    .arg(&pk)
                    .arg(200 + rep)
            )
            .await
        );
        case!(
            "atomic pipeline (MULTI/EXEC)",
            raw.query_pipeline(
                redis::pipe()
                    .atomic()
                    .cmd("HSET")
                    .arg(&pk)
                    .arg("price")
                    .arg(300 + rep)
                    .cmd("SET")
                    .arg(&dk)
                    .arg(json("tx"))
            )
            .await
        );
        case!(
            "pipeline of two writes",
            raw.query_pipeline(
                redis::pipe()
                    .cmd("SADD")
                    .arg(&sk)
                    .arg(format!("p{rep}"))
                    .cmd("RPUSH")
                    .arg(&lk)
                    .arg(400 + rep)
            )
            .await
        );
        let _: () = admin!(&mut env.admin, "DEL", &tmp_list);
        let _: () = admin!(&mut env.admin, "RPUSH", &tmp_list, 9, 8, 7);
        case!(
            "SORT .. STORE (destination in the options)",
            raw.query(redis::cmd("SORT").arg(&tmp_list).arg("STORE").arg(&lk))
                .await
        );
        case!(
            "LMOVE into a cached list (second key)",
            raw.query(
                redis::cmd("LMOVE")
                    .arg(&tmp_list)
                    .arg(&lk)
                    .arg("LEFT")
                    .arg("RIGHT")
            )
            .await
        );
        let _: () = admin!(&mut env.admin, "SADD", &tmp_set, "moved");
        case!(
            "SMOVE into a cached set (second key)",
            raw.query(redis::cmd("SMOVE").arg(&tmp_set).arg(&sk).arg("moved"))
                .await
        );
        case!(
            "EVAL writing a key passed in ARGV (no KEYS)",
            raw.query(
                redis::cmd("EVAL")
                    .arg("return redis.call('HSET', ARGV[1], 'price', ARGV[2])")
                    .arg(0)
                    .arg(&pk)
                    .arg(500 + rep)
            )
            .await
        );
        case!(
            "DEL of the hash",
            raw.query(redis::cmd("DEL").arg(&pk)).await
        );
    }
    c.finish();
}

/// Every write of a cached set (and moves and set algebra into a cached
/// destination, pops, deletes and TTL changes): the next read is the
/// server's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_writes_sets() {
    let mut c = Checks::new("own_writes_sets");
    let env = env().await;
    let st = &env.cached;
    let id = o("s");
    let a = CTeam {
        org: o("o"),
        team: o("a"),
    };
    let b = CTeam {
        org: o("o"),
        team: o("b"),
    };
    let d = CTeam {
        org: o("o"),
        team: o("dest"),
    };
    async fn reads(c: &mut Checks, env: &Env, ctx: String, id: &String, teams: [&CTeam; 3]) {
        set_reads(c, env, &ctx, id).await;
        team_reads(c, env, &format!("{ctx} (a)"), teams[0]).await;
        team_reads(c, env, &format!("{ctx} (b)"), teams[1]).await;
        team_reads(c, env, &format!("{ctx} (dest)"), teams[2]).await;
    }
    macro_rules! step {
        ($name:expr, $write:expr) => {{
            for _ in 0..2 {
                reads(&mut c, &env, format!("before {}", $name), &id, [&a, &b, &d]).await;
            }
            let r = $write;
            c.check(
                format!("{} succeeds", $name),
                r.is_ok(),
                format!("{:?}", r.err()),
            );
            reads(&mut c, &env, format!("after {}", $name), &id, [&a, &b, &d]).await;
        }};
    }
    for rep in 0..5 {
        let set = st.set::<CSet>(&id);
        step!("add", set.add(&o("a")).await);
        step!(
            "add_many",
            set.add_many(&[o("b"), o("c"), o(&format!("r{rep}"))]).await
        );
        step!("remove", set.remove(&o("b")).await);
        step!("remove_many", set.remove_many(&[o("c"), o("zz")]).await);
        step!("pop", set.pop().await);
        step!("add again", set.add_many(&[o("a"), o("b"), o("zz")]).await);
        step!(
            "expire(1h)",
            st.expire::<CSet>(&id, Duration::from_secs(3600)).await
        );
        step!("persist", st.persist::<CSet>(&id).await);
        step!("delete", st.delete::<CSet>(&id).await);
        let ta = st.set::<CTeam>(&a);
        step!("team add", ta.add_many(&[o("m1"), o("m2")]).await);
        step!(
            "team b add",
            st.set::<CTeam>(&b).add_many(&[o("m2"), o("m3")]).await
        );
        step!(
            "move_member (both keys cached)",
            ta.move_member(&b, &o("m1")).await
        );
        step!(
            "move_member back",
            st.set::<CTeam>(&b).move_member(&a, &o("m1")).await
        );
        step!(
            "store_union into a cached set",
            ta.store_union(&d, &[&b]).await
        );
        step!(
            "store_intersection into a cached set",
            ta.store_intersection(&d, &[&b]).await
        );
        step!(
            "store_difference into a cached set",
            ta.store_difference(&d, &[&b]).await
        );
        step!("union (a read, nothing changes)", ta.union(&[&b]).await);
        step!("random (a read)", ta.random().await);
        step!("team delete", st.delete::<CTeam>(&a).await);
        step!(
            "team b delete_many",
            st.delete_many::<CTeam>(&[b.clone(), d.clone()]).await
        );
    }
    c.finish();
}

/// Every write of a cached map, then the next read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_writes_maps() {
    let mut c = Checks::new("own_writes_maps");
    let env = env().await;
    let st = &env.cached;
    let id = o("m");
    macro_rules! step {
        ($name:expr, $write:expr) => {{
            for _ in 0..2 {
                map_reads(&mut c, &env, &format!("before {}", $name), &id).await;
            }
            let r = $write;
            c.check(
                format!("{} succeeds", $name),
                r.is_ok(),
                format!("{:?}", r.err()),
            );
            map_reads(&mut c, &env, &format!("after {}", $name), &id).await;
        }};
    }
    for rep in 0..6_i64 {
        let map = st.map::<CMap>(&id);
        step!("set", map.set(&o("a"), &rep).await);
        step!("set (overwrite)", map.set(&o("a"), &(rep + 100)).await);
        step!(
            "set_many",
            map.set_many(&[(&o("b"), &1), (&o("c"), &2)]).await
        );
        step!("incr", map.incr(&o("b"), 5).await);
        step!("incr (new field)", map.incr(&o("nope"), 1).await);
        step!("remove", map.remove(&o("a")).await);
        step!("remove_many", map.remove_many(&[o("b"), o("nope")]).await);
        step!(
            "expire(1h)",
            st.expire::<CMap>(&id, Duration::from_secs(3600)).await
        );
        step!("delete", st.delete::<CMap>(&id).await);
    }
    c.finish();
}

/// Every write of a cached sorted set, then the next read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_writes_sorted_sets() {
    let mut c = Checks::new("own_writes_sorted_sets");
    let env = env().await;
    let st = &env.cached;
    let id = o("z");
    macro_rules! step {
        ($name:expr, $write:expr) => {{
            for _ in 0..2 {
                zset_reads(&mut c, &env, &format!("before {}", $name), &id).await;
            }
            let r = $write;
            c.check(
                format!("{} succeeds", $name),
                r.is_ok(),
                format!("{:?}", r.err()),
            );
            zset_reads(&mut c, &env, &format!("after {}", $name), &id).await;
        }};
    }
    for rep in 0..5_u64 {
        let z = st.sorted_set::<CZ>(&id);
        step!("add", z.add(&o("a"), 3 + rep).await);
        step!(
            "add_many",
            z.add_many(&[(&o("b"), 1), (&o("c"), 7), (&o("d"), 2)])
                .await
        );
        step!(
            "add_with(GT)",
            z.add_with(&o("b"), 9, ZAdd::new().if_greater()).await
        );
        step!(
            "add_with(NX, existing)",
            z.add_with(&o("a"), 1, ZAdd::new().only_new()).await
        );
        step!("incr", z.incr(&o("a"), 4).await);
        step!("remove", z.remove(&o("c")).await);
        step!("remove_by_rank", z.remove_by_rank(0, 0).await);
        step!("add back", z.add_many(&[(&o("e"), 5), (&o("f"), 6)]).await);
        step!(
            "remove_by_score",
            z.remove_by_score(Bound::Inclusive(5), Bound::Inclusive(5))
                .await
        );
        step!("pop_min", z.pop_min().await);
        step!("pop_max", z.pop_max().await);
        step!("add more", z.add_many(&[(&o("a"), 2), (&o("b"), 3)]).await);
        step!("refresh_ttl", st.refresh_ttl::<CZ>(&id).await);
        step!("delete", st.delete::<CZ>(&id).await);
    }
    c.finish();
}

/// Every write of a cached list, a capped list and a queue (pushes, pops on
/// the shared and on their own connection, set, remove, trim, takes, acks,
/// requeues, recovers), then the next read.
/// "writes, including pops on their own connection, drop the keys they name
/// when their reply arrives".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_writes_lists_and_queue() {
    let mut c = Checks::new("own_writes_lists_and_queue");
    let env = env().await;
    let st = &env.cached;
    let id = o("l");
    let q = o("q");
    macro_rules! step {
        ($name:expr, $write:expr) => {{
            for _ in 0..2 {
                list_reads(&mut c, &env, &format!("before {}", $name), &id).await;
                cap_reads(&mut c, &env, &format!("before {}", $name), &id).await;
                queue_reads(&mut c, &env, &format!("before {}", $name), &q).await;
            }
            let r = $write;
            c.check(
                format!("{} succeeds", $name),
                r.is_ok(),
                format!("{:?}", r.err()),
            );
            list_reads(&mut c, &env, &format!("after {}", $name), &id).await;
            cap_reads(&mut c, &env, &format!("after {}", $name), &id).await;
            queue_reads(&mut c, &env, &format!("after {}", $name), &q).await;
        }};
    }
    let short = Duration::from_millis(200);
    for rep in 0..4_u64 {
        let l = st.list::<CList>(&id);
        let cap = st.list::<CCap>(&id);
        let queue = st.list::<CQueue>(&q);
        step!("push_back", l.push_back(&rep).await);
        step!("push_front", l.push_front(&(rep + 10)).await);
        step!("push_back_many", l.push_back_many(&[1, 2, 3]).await);
        step!("push_front_many", l.push_front_many(&[4, 5]).await);
        step!("pop_front", l.pop_front().await);
        step!("pop_back", l.pop_back().await);
        step!("pop_front_many", l.pop_front_many(2).await);
        step!("pop_back_many", l.pop_back_many(1).await);
        step!("set", l.set(0, &99).await);
        step!("remove", l.remove(&99, 0).await);
        step!("push for trim", l.push_back_many(&[6, 7, 8, 9]).await);
        step!("trim", l.trim(1, 2).await);
        step!(
            "pop_front_blocking (item there)",
            l.pop_front_blocking(short).await
        );
        step!(
            "pop_back_blocking (item there)",
            l.pop_back_blocking(short).await
        );
        step!(
            "pop_front_blocking (empty, times out)",
            l.pop_front_blocking(short).await
        );
        step!(
            "capped push_back x4",
            async {
                for n in 0..4_u64 {
                    cap.push_back(&(n + rep)).await?;
                }
                Ok::<(), redis_runtime::Error>(())
            }
            .await
        );
        step!(
            "capped push_front_many",
            cap.push_front_many(&[50, 51]).await
        );
        step!("enqueue", queue.enqueue_many(&[1, 2, 3]).await);
        let taken = queue.take("w1").await;
        c.check(
            "take succeeds",
            taken.is_ok(),
            format!("{:?}", taken.as_ref().err()),
        );
        queue_reads(&mut c, &env, "after take", &q).await;
        if let Ok(Some(delivery)) = taken {
            step!("requeue", queue.requeue(&delivery).await);
        }
        step!("take again", queue.take("w1").await);
        step!("recover", queue.recover("w1").await);
        let taken = queue.take_blocking("w2", short).await;
        c.check(
            "take_blocking succeeds",
            taken.is_ok(),
            format!("{:?}", taken.as_ref().err()),
        );
        queue_reads(&mut c, &env, "after take_blocking", &q).await;
        if let Ok(Some(delivery)) = taken {
            step!("ack", queue.ack(&delivery).await);
        }
        // A blocked pop that an item arrives for while it waits.
        let waiting = {
            let store = st.clone();
            let id = id.clone();
            tokio::spawn(async move {
                store
                    .list::<CList>(&id)
                    .pop_front_blocking(Duration::from_secs(3))
                    .await
            })
        };
        let _ = l.trim(1, 0).await; // empties the list
        list_reads(&mut c, &env, "empty before a blocked pop", &id).await;
        list_reads(&mut c, &env, "empty before a blocked pop", &id).await;
        let _: () = {
            let mut admin = env.admin.clone();
            let key = st.key::<CList>(&id).unwrap();
            admin!(&mut admin, "RPUSH", &key, 77, 78)
        };
        let popped = waiting.await.expect("task");
        c.check(
            "blocked pop gets an item",
            matches!(popped, Ok(Some(_))),
            format!("{popped:?}"),
        );
        list_reads(&mut c, &env, "after a blocked pop returned", &id).await;
        step!(
            "delete",
            st.delete_many::<CList>(std::slice::from_ref(&id)).await
        );
        step!("capped delete", st.delete::<CCap>(&id).await);
        step!("queue delete", st.delete::<CQueue>(&q).await);
    }
    c.finish();
}

/// Every write of a cached counter, then the next read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_writes_counters() {
    let mut c = Checks::new("own_writes_counters");
    let env = env().await;
    let st = &env.cached;
    let id = o("c");
    macro_rules! step {
        ($name:expr, $write:expr) => {{
            for _ in 0..2 {
                counter_reads(&mut c, &env, &format!("before {}", $name), &id).await;
            }
            let r = $write;
            c.check(
                format!("{} succeeds", $name),
                r.is_ok(),
                format!("{:?}", r.err()),
            );
            counter_reads(&mut c, &env, &format!("after {}", $name), &id).await;
        }};
    }
    for rep in 0..10_i64 {
        let ctr = st.counter::<CCtr>(&id);
        step!("incr", ctr.incr(1 + rep).await);
        step!("decr", ctr.decr(1).await);
        step!("set", ctr.set(rep * 10).await);
        step!("hit", st.counter::<CHits>(&id).hit(1000).await);
        step!(
            "expire(1h)",
            st.expire::<CCtr>(&id, Duration::from_secs(3600)).await
        );
        step!("delete", st.delete::<CCtr>(&id).await);
        step!("delete rate-limit counter", st.delete::<CHits>(&id).await);
        step!("hit (creates)", st.counter::<CHits>(&id).hit(1000).await);
        step!("delete again", st.delete::<CCtr>(&id).await);
    }
    c.finish();
}

// ---------------------------------------------------------------------------
// other clients' writes

/// Another client writes, deletes, expires every family (from absent to
/// present too, and with ids that need escaping); after
/// `sync_client_cache` the caching store reads the server's state, and
/// without it the state converges. "another client's write is seen once
/// its invalidation message has arrived ... `sync_client_cache` waits for
/// it".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_clients_writes_seen_after_sync() {
    let mut c = Checks::new("other_clients_writes_seen_after_sync");
    let mut env = env().await;
    let k = |store: &Store| {
        (
            store.key::<Plan>(&1).unwrap(),
            store.key::<Plan>(&2).unwrap(),
            store.key::<Doc>(&1).unwrap(),
            store.key::<Pack>(&1).unwrap(),
            store.key::<CSet>(&o("s")).unwrap(),
            store.key::<CMap>(&o("m")).unwrap(),
            store.key::<CZ>(&o("z")).unwrap(),
            store.key::<CList>(&o("l")).unwrap(),
            store.key::<CCtr>(&o("c")).unwrap(),
        )
    };
    let (p1, p2, dk, pk, sk, mk, zk, lk, ck) = k(&env.cached);
    let json = |body: &str| {
        serde_json::to_string(&Doc {
            id: 1,
            body: body.into(),
        })
        .unwrap()
    };
    for rep in 0..6_i64 {
        // From absent (cached as absent) to present.
        all_reads(&mut c, &env, "absent").await;
        let _: () = admin!(
            &mut env.admin,
            "HSET",
            &p1,
            "id",
            1,
            "name",
            "x",
            "price",
            rep
        );
        let _: () = admin!(
            &mut env.admin,
            "HSET",
            &p2,
            "id",
            2,
            "name",
            "y",
            "price",
            rep,
            "note",
            "n"
        );
        let _: () = admin!(&mut env.admin, "SET", &dk, json("d"));
        let _: () = admin!(&mut env.admin, "SADD", &sk, "a", "b");
        let _: () = admin!(&mut env.admin, "HSET", &mk, "a", 1, "b", 2);
        let _: () = admin!(&mut env.admin, "ZADD", &zk, 1, "a", 2, "b");
        let _: () = admin!(&mut env.admin, "RPUSH", &lk, 1, 2);
        let _: () = admin!(&mut env.admin, "SET", &ck, 5);
        sync(&mut c, &env.cached).await;
        all_reads(&mut c, &env, "after another client created every key").await;
        // Another store writes a MessagePack model.
        let r = env
            .truth
            .save(&Pack {
                id: 1,
                n: rep,
                tags: vec![],
            })
            .await;
        c.check("other store save", r.is_ok(), format!("{r:?}"));
        sync(&mut c, &env.cached).await;
        all_reads(&mut c, &env, "after another store's save").await;
        // Changes.
        let _: () = admin!(&mut env.admin, "HSET", &p1, "price", 100 + rep);
        let _: () = admin!(&mut env.admin, "HDEL", &p2, "note");
        let _: () = admin!(&mut env.admin, "SET", &dk, json("changed"));
        let _: () = admin!(&mut env.admin, "SREM", &sk, "a");
        let _: () = admin!(&mut env.admin, "HINCRBY", &mk, "a", 10);
        let _: () = admin!(&mut env.admin, "ZINCRBY", &zk, 5, "a");
        let _: () = admin!(&mut env.admin, "LPOP", &lk);
        let _: () = admin!(&mut env.admin, "INCRBY", &ck, 3);
        let _: () = admin!(&mut env.admin, "DEL", &pk);
        sync(&mut c, &env.cached).await;
        all_reads(&mut c, &env, "after another client changed every key").await;
        // A change seen without sync_client_cache: converges.
        all_reads(&mut c, &env, "prime").await;
        let _: () = admin!(&mut env.admin, "HSET", &p1, "price", 1000 + rep);
        let cached = env.cached.clone();
        let seen =
            eventually(Duration::from_secs(2), || {
                let cached = cached.clone();
                async move {
                    matches!(cached.get::<Plan>(&1).await, Ok(Some(p)) if p.price == 1000 + rep)
                }
            })
            .await;
        c.check(
            "another client's write is seen without sync_client_cache (within 2 s)",
            seen,
            "still stale after 2 s",
        );
        // Expiry set by another client, then the key expires on the server.
        all_reads(&mut c, &env, "prime").await;
        let _: () = admin!(&mut env.admin, "PEXPIRE", &p1, 30);
        let _: () = admin!(&mut env.admin, "PEXPIRE", &sk, 30);
        let _: () = admin!(&mut env.admin, "PEXPIRE", &ck, 30);
        let cached = env.cached.clone();
        let gone = eventually(Duration::from_secs(3), || {
            let cached = cached.clone();
            async move {
                matches!(cached.get::<Plan>(&1).await, Ok(None))
                    && matches!(cached.set::<CSet>(&o("s")).members().await, Ok(m) if m.is_empty())
                    && matches!(cached.counter::<CCtr>(&o("c")).get().await, Ok(0))
            }
        })
        .await;
        c.check(
            "keys expired by another client's PEXPIRE read as gone",
            gone,
            "still cached 3 s later",
        );
        // Deletes.
        all_reads(&mut c, &env, "prime").await;
        let _: () = admin!(
            &mut env.admin,
            "DEL",
            &p1,
            &p2,
            &dk,
            &pk,
            &sk,
            &mk,
            &zk,
            &lk,
            &ck
        );
        sync(&mut c, &env.cached).await;
        all_reads(&mut c, &env, "after another client deleted every key").await;
        // Renames and moves onto cached keys.
        let _: () = admin!(&mut env.admin, "SET", "tmp-doc", json("renamed"));
        let _: () = admin!(&mut env.admin, "RENAME", "tmp-doc", &dk);
        let _: () = admin!(&mut env.admin, "RPUSH", "tmp-list", 5, 6);
        let _: () = admin!(&mut env.admin, "LMOVE", "tmp-list", &lk, "LEFT", "RIGHT");
        sync(&mut c, &env.cached).await;
        all_reads(&mut c, &env, "after RENAME and LMOVE by another client").await;
        let _: () = admin!(&mut env.admin, "DEL", &dk, &lk, "tmp-list");
        sync(&mut c, &env.cached).await;
    }
    // Ids that need escaping, written by another store.
    let long = "k".repeat(1024);
    for (n, id) in [
        "a:b",
        "x y",
        "%41",
        "ü",
        "{t}",
        "*",
        "a\\b",
        "q?",
        "[x]",
        long.as_str(),
    ]
    .iter()
    .enumerate()
    {
        let id = o(id);
        for round in 0..3 {
            for _ in 0..2 {
                same!(
                    c,
                    env,
                    format!("escaped id {id:?} get (round {round})"),
                    |s| s.get::<NotClone>(&id)
                );
                same!(
                    c,
                    env,
                    format!("escaped id {id:?} get_shared (round {round})"),
                    |s| s.get_shared::<NotClone>(&id)
                );
            }
            let r = match round {
                0 => {
                    env.truth
                        .save(&NotClone {
                            id: id.clone(),
                            v: format!("v{n}"),
                        })
                        .await
                }
                1 => env
                    .truth
                    .set_field(&id, NotClone::fields().v, &o("w"))
                    .await
                    .map(|_| ()),
                _ => env.truth.delete::<NotClone>(&id).await.map(|_| ()),
            };
            c.check("other store write", r.is_ok(), format!("{r:?}"));
            sync(&mut c, &env.cached).await;
        }
    }
    c.finish();
}

/// A small deterministic PRNG (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Random interleavings of own writes, writes of another client and of
/// another store, and cached reads; after every foreign write the store
/// syncs. Every read must be the server's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_interleavings_of_own_and_other_writes() {
    let mut c = Checks::new("random_interleavings_of_own_and_other_writes");
    let mut env = env().await;
    let f = Plan::fields();
    for seed in [0x9E37_79B9_7F4A_7C15_u64, 42, 0xDEAD_BEEF] {
        let mut rng = Rng(seed);
        c.note(format!("seed {seed:#x}"));
        for step in 0..400 {
            let id = 1 + rng.below(3);
            let key = env.cached.key::<Plan>(&id).unwrap();
            let sid = o(["s1", "s2"][rng.below(2) as usize]);
            let skey = env.cached.key::<CSet>(&sid).unwrap();
            let cid = o("c");
            let ckey = env.cached.key::<CCtr>(&cid).unwrap();
            let v = rng.below(1000) as i64;
            let member = format!("m{}", rng.below(4));
            let op = rng.below(17);
            let mut foreign = false;
            let label = match op {
                0 => {
                    let _ = env.cached.save(&plan(id, "own", v, None)).await;
                    "own save"
                }
                1 => {
                    let _ = env.cached.delete::<Plan>(&id).await;
                    "own delete"
                }
                2 => {
                    let _ = env.cached.set_field(&id, f.price, &v).await;
                    "own set_field"
                }
                3 => {
                    let _ = env.cached.incr(&id, f.price, 1).await;
                    "own incr"
                }
                4 => {
                    let _ = env
                        .cached
                        .update(&id, |u| u.set(f.note, &o("u")).incr(f.price, 2))
                        .await;
                    "own update"
                }
                5 => {
                    let _ = env.cached.take::<Plan>(&id).await;
                    "own take"
                }
                6 => {
                    let _: () = admin!(
                        &mut env.admin,
                        "HSET",
                        &key,
                        "id",
                        id,
                        "name",
                        "adm",
                        "price",
                        v
                    );
                    foreign = true;
                    "admin HSET"
                }
                7 => {
                    let _: () = admin!(&mut env.admin, "DEL", &key);
                    foreign = true;
                    "admin DEL"
                }
                8 => {
                    let _ = env.truth.save(&plan(id, "other", v, Some("o"))).await;
                    foreign = true;
                    "other store save"
                }
                9 => {
                    let _ = env.cached.set::<CSet>(&sid).add(&member).await;
                    "own SADD"
                }
                10 => {
                    let _ = env.cached.set::<CSet>(&sid).remove(&member).await;
                    "own SREM"
                }
                11 => {
                    let _: () = admin!(&mut env.admin, "SADD", &skey, &member);
                    foreign = true;
                    "admin SADD"
                }
                12 => {
                    let _: () = admin!(&mut env.admin, "SREM", &skey, &member);
                    foreign = true;
                    "admin SREM"
                }
                13 => {
                    let _ = env.cached.counter::<CCtr>(&cid).incr(1).await;
                    "own INCR"
                }
                14 => {
                    let _: () = admin!(&mut env.admin, "INCRBY", &ckey, 2);
                    foreign = true;
                    "admin INCRBY"
                }
                15 => {
                    let _: () = admin!(&mut env.admin, "DEL", &ckey, &skey);
                    foreign = true;
                    "admin DEL counter+set"
                }
                _ => {
                    let _ = env.cached.set::<CSet>(&sid).pop().await;
                    "own SPOP"
                }
            };
            if foreign {
                sync(&mut c, &env.cached).await;
            }
            let ctx = format!("after {label}");
            for _ in 0..2 {
                match rng.below(6) {
                    0 => plan_reads(&mut c, &env, &ctx, id, step).await,
                    1 => plan_reads(&mut c, &env, &ctx, 1 + rng.below(3), step).await,
                    2 => set_reads(&mut c, &env, &ctx, &sid).await,
                    3 => counter_reads(&mut c, &env, &ctx, &cid).await,
                    4 => same!(c, env, format!("{ctx}: get_many of all"), |s| s
                        .get_many::<Plan>(&[3, 1, 2, 1])),
                    _ => same!(c, env, format!("{ctx}: exists"), |s| s.exists::<Plan>(&id)),
                }
            }
        }
    }
    let st = stats_of(&env.cached, "Plan");
    c.note(format!("Plan stats: {st:?}"));
    c.check(
        "the cache served hits at all",
        st.as_ref().is_some_and(|s| s.hits > 0),
        format!("{st:?}"),
    );
    c.finish();
}

/// Readers hammer cached reads (misses racing with invalidations) while a
/// writer (another client, or the store itself) raises a value; a read
/// that starts after a write returned (and, for another client's write,
/// after `sync_client_cache` returned) never sees an older value.
async fn never_go_back(own: bool) -> Checks {
    let mut c = Checks::new(if own {
        "reads_racing_own_writes_never_go_back"
    } else {
        "reads_racing_other_writes_never_go_back_after_sync"
    });
    let mut env = env().await;
    let f = Plan::fields();
    env.cached.save(&plan(1, "p", 0, None)).await.unwrap();
    env.cached.counter::<CCtr>(&o("c")).set(0).await.unwrap();
    let pk = env.cached.key::<Plan>(&1).unwrap();
    let ck = env.cached.key::<CCtr>(&o("c")).unwrap();
    let floor = Arc::new(AtomicI64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let violations = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut readers = Vec::new();
    for r in 0..3_u64 {
        let (store, floor, stop, violations) = (
            env.cached.clone(),
            floor.clone(),
            stop.clone(),
            violations.clone(),
        );
        readers.push(tokio::spawn(async move {
            let mut n = 0_u64;
            let mut reads = 0_u64;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                let want = floor.load(Ordering::SeqCst);
                let (what, got) = match (n + r) % 5 {
                    0 => (
                        "get",
                        store.get::<Plan>(&1).await.map(|p| p.map(|p| p.price)),
                    ),
                    1 => (
                        "get_shared",
                        store
                            .get_shared::<Plan>(&1)
                            .await
                            .map(|p| p.map(|p| p.price)),
                    ),
                    2 => ("get_field", store.get_field(&1, f.price).await),
                    3 => (
                        "get_fields",
                        store
                            .get_fields(&1, (f.price,))
                            .await
                            .map(|o| o.and_then(|(p,)| p)),
                    ),
                    _ => (
                        "counter get",
                        store.counter::<CCtr>(&o("c")).get().await.map(Some),
                    ),
                };
                reads += 1;
                match got {
                    Ok(Some(v)) if v >= want => {}
                    other => violations.lock().unwrap().push(format!(
                        "{what} started after value {want} was written read {other:?}"
                    )),
                }
            }
            reads
        }));
    }
    let plan_u = PlanUncached::fields();
    let raw = env.cached.raw_access();
    for v in 1..=300_i64 {
        if own {
            let r = match v % 4 {
                0 => env.cached.set_field(&1, f.price, &v).await.map(|_| ()),
                1 => env.cached.set_field(&1, plan_u.price, &v).await.map(|_| ()),
                2 => {
                    raw.query::<()>(redis::cmd("HSET").arg(&pk).arg("price").arg(v))
                        .await
                }
                _ => env
                    .cached
                    .update(&1, |u| u.set(f.price, &v))
                    .await
                    .map(|_| ()),
            };
            c.check("own write succeeds", r.is_ok(), format!("{r:?}"));
            let r = env.cached.counter::<CCtr>(&o("c")).set(v).await;
            c.check("own counter set succeeds", r.is_ok(), format!("{r:?}"));
        } else {
            let _: () = admin!(&mut env.admin, "HSET", &pk, "price", v);
            let _: () = admin!(&mut env.admin, "SET", &ck, v);
            sync(&mut c, &env.cached).await;
        }
        floor.store(v, Ordering::SeqCst);
        tokio::task::yield_now().await;
    }
    stop.store(true, Ordering::SeqCst);
    let mut reads = 0;
    for r in readers {
        reads += r.await.expect("reader");
    }
    let violations = violations.lock().unwrap().clone();
    c.note(format!("{reads} reads, {} went back", violations.len()));
    c.check(
        "no read started after a write (and sync) returns an older value",
        violations.is_empty(),
        format!(
            "{} of {reads} reads went back; first: {:?}",
            violations.len(),
            violations.first()
        ),
    );
    let st = stats_of(&env.cached, "Plan");
    c.note(format!("Plan stats: {st:?}"));
    let _ = &mut env;
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reads_racing_other_writes_never_go_back_after_sync() {
    never_go_back(false).await.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reads_racing_own_writes_never_go_back() {
    never_go_back(true).await.finish();
}

// ---------------------------------------------------------------------------
// expiry and the local bound

/// With the server's active expiry off, an expired key sends no
/// invalidation until someone touches it: the cache alone must stop serving
/// it at the TTL it read. "An entry never outlives the key's TTL as read
/// with it".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entry_never_outlives_key_ttl_without_server_invalidation() {
    let mut c = Checks::new("entry_never_outlives_key_ttl_without_server_invalidation");
    let mut env = env_with(&["--enable-debug-command", "yes"]).await;
    let _: () = admin!(&mut env.admin, "DEBUG", "SET-ACTIVE-EXPIRE", 0);
    let st = env.cached.clone();
    let ttl = Duration::from_millis(400);
    let margin = Duration::from_millis(150);
    let t0 = Instant::now();
    // One key per read kind: the first read of an expired key makes the
    // server expire it and send an invalidation that drops the others.
    for id in 1..=6_u64 {
        st.save_with_ttl(
            &Doc {
                id,
                body: format!("d{id}"),
            },
            Some(ttl),
        )
        .await
        .unwrap();
    }
    for id in 1..=3_u64 {
        st.save_with_ttl(&plan(id, "p", 1, Some("n")), Some(ttl))
            .await
            .unwrap();
    }
    st.save(&Expiring { id: 1, v: 1 }).await.unwrap(); // the declaration's 300 ms
    for (n, name) in ["s", "m", "z", "l"].iter().enumerate() {
        let id = o(name);
        match n {
            0 => {
                st.set::<CSet>(&id).add(&o("a")).await.unwrap();
                st.expire::<CSet>(&id, ttl).await.unwrap();
            }
            1 => {
                st.map::<CMap>(&id).set(&o("a"), &1).await.unwrap();
                st.expire::<CMap>(&id, ttl).await.unwrap();
            }
            2 => {
                st.sorted_set::<CZ>(&id).add(&o("a"), 1).await.unwrap();
                st.expire::<CZ>(&id, ttl).await.unwrap();
            }
            _ => {
                st.list::<CList>(&id).push_back(&1).await.unwrap();
                st.expire::<CList>(&id, ttl).await.unwrap();
            }
        }
    }
    st.counter::<CWin>(&o("w")).incr(3).await.unwrap(); // the declaration's 300 ms window
    // Another client sets a TTL on a key the cache holds.
    st.save(&Doc {
        id: 7,
        body: "seven".into(),
    })
    .await
    .unwrap();
    let _ = st.get::<Doc>(&7).await;
    let dk7 = st.key::<Doc>(&7).unwrap();
    let _: () = admin!(&mut env.admin, "PEXPIRE", &dk7, ttl.as_millis() as u64);
    sync(&mut c, &st).await;
    // Cache everything (twice: the second read is a hit).
    for _ in 0..2 {
        let _ = st.get::<Doc>(&1).await;
        let _ = st.get_shared::<Doc>(&2).await;
        let _ = st.exists::<Doc>(&3).await;
        let _ = st.get_many::<Doc>(&[4]).await;
        let _ = st.get::<Doc>(&7).await;
        let _ = st.get_field(&1, Plan::fields().price).await;
        let _ = st.get_fields(&2, (Plan::fields().name,)).await;
        let _ = st.exists::<Plan>(&3).await;
        let _ = st.get::<Expiring>(&1).await;
        let _ = st.set::<CSet>(&o("s")).members().await;
        let _ = st.map::<CMap>(&o("m")).all().await;
        let _ = st.sorted_set::<CZ>(&o("z")).top(5).await;
        let _ = st.list::<CList>(&o("l")).range(0, -1).await;
        let _ = st.counter::<CWin>(&o("w")).get().await;
    }
    let before = stats_of(&st, "Doc");
    c.note(format!("Doc stats before the TTL passes: {before:?}"));
    let dbsize: u64 = admin!(&mut env.admin, "DBSIZE");
    tokio::time::sleep_until((t0 + ttl + margin).into()).await;
    let dbsize_after: u64 = admin!(&mut env.admin, "DBSIZE");
    c.note(format!(
        "DBSIZE {dbsize} before and {dbsize_after} after the TTL (active expiry off keeps them)"
    ));
    macro_rules! gone {
        ($label:literal, $read:expr, $want:pat) => {{
            let r = $read;
            c.check(
                $label,
                matches!(r, $want),
                format!("{} after the key's TTL: {r:?}", $label),
            );
        }};
    }
    gone!("model get", st.get::<Doc>(&1).await, Ok(None));
    gone!("model get_shared", st.get_shared::<Doc>(&2).await, Ok(None));
    gone!("model exists", st.exists::<Doc>(&3).await, Ok(false));
    gone!(
        "model get_many",
        st.get_many::<Doc>(&[4]).await.map(|v| v[0].is_none()),
        Ok(true)
    );
    gone!(
        "model get (TTL set by another client)",
        st.get::<Doc>(&7).await,
        Ok(None)
    );
    gone!(
        "hash get_field",
        st.get_field(&1, Plan::fields().price).await,
        Ok(None)
    );
    gone!(
        "hash get_fields",
        st.get_fields(&2, (Plan::fields().name,)).await,
        Ok(None)
    );
    gone!("hash exists", st.exists::<Plan>(&3).await, Ok(false));
    gone!(
        "declared ttl model get",
        st.get::<Expiring>(&1).await,
        Ok(None)
    );
    gone!(
        "set members",
        st.set::<CSet>(&o("s"))
            .members()
            .await
            .map(|m| m.is_empty()),
        Ok(true)
    );
    gone!(
        "map all",
        st.map::<CMap>(&o("m")).all().await.map(|m| m.is_empty()),
        Ok(true)
    );
    gone!(
        "sorted set top",
        st.sorted_set::<CZ>(&o("z"))
            .top(5)
            .await
            .map(|m| m.is_empty()),
        Ok(true)
    );
    gone!(
        "list range",
        st.list::<CList>(&o("l"))
            .range(0, -1)
            .await
            .map(|m| m.is_empty()),
        Ok(true)
    );
    gone!(
        "rate-limit window counter get",
        st.counter::<CWin>(&o("w")).get().await,
        Ok(0)
    );
    c.finish();
}

/// A declaration's `ttl` bounds how long an entry is served without being
/// read again from the server, also while it is read all the time.
/// "nor the declaration's local bound (`ttl`, default 5 minutes)";
/// "The longest an entry is served without being read again from the
/// server, whatever the key's TTL".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declaration_ttl_bounds_entries() {
    let mut c = Checks::new("declaration_ttl_bounds_entries");
    let mut env = env().await;
    let st = env.cached.clone();
    let bound = Duration::from_millis(200);
    st.save(&ShortLived { id: 1, v: 1 }).await.unwrap();
    st.set::<CShortSet>(&o("s")).add(&o("a")).await.unwrap();
    let policy = {
        let _ = st.get::<ShortLived>(&1).await;
        stats_of(&st, "ShortLived").map(|s| s.policy)
    };
    c.check(
        "the policy reflects client_cache(ttl = \"200ms\")",
        policy.as_ref().is_some_and(|p| p.ttl == bound),
        format!("{policy:?}"),
    );
    for round in 0..3 {
        // A fresh entry: a miss, then hits.
        let _: () = admin!(
            &mut env.admin,
            "HSET",
            st.key::<ShortLived>(&1).unwrap(),
            "v",
            round
        );
        sync(&mut c, &st).await;
        let hgetall0 = calls(&mut env.admin, "hgetall").await;
        let _ = st.get::<ShortLived>(&1).await;
        let read_at = Instant::now();
        let _ = st.get::<ShortLived>(&1).await;
        let s1 = stats_of(&st, "ShortLived").unwrap();
        let hgetall1 = calls(&mut env.admin, "hgetall").await;
        c.note(format!(
            "round {round}: after miss+read: hits {} misses {}, HGETALL +{}",
            s1.hits,
            s1.misses,
            hgetall1 - hgetall0
        ));
        tokio::time::sleep_until((read_at + bound + Duration::from_millis(60)).into()).await;
        let _ = st.get::<ShortLived>(&1).await;
        let s2 = stats_of(&st, "ShortLived").unwrap();
        let hgetall2 = calls(&mut env.admin, "hgetall").await;
        c.check(
            "a read past the local bound is a miss",
            s2.misses == s1.misses + 1,
            format!(
                "misses {} -> {} (hits {} -> {})",
                s1.misses, s2.misses, s1.hits, s2.hits
            ),
        );
        c.check(
            "a read past the local bound reaches the server",
            hgetall2 == hgetall1 + 1,
            format!("HGETALL calls {hgetall1} -> {hgetall2}"),
        );
    }
    // Read continuously for 900 ms: the entry is re-read from the server at
    // least every 200 ms however often it is hit.
    let smembers0 = calls(&mut env.admin, "smembers").await;
    let m0 = {
        let _ = st.set::<CShortSet>(&o("s")).members().await;
        stats_of(&st, "CShortSet").map(|s| s.misses).unwrap_or(0)
    };
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(900) {
        let r = st.set::<CShortSet>(&o("s")).members().await;
        c.check("set members ok", r.is_ok(), format!("{r:?}"));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let m1 = stats_of(&st, "CShortSet").map(|s| s.misses).unwrap_or(0);
    let smembers1 = calls(&mut env.admin, "smembers").await;
    c.check(
        "a set read all the time is still re-read at least every 200 ms",
        m1 - m0 >= 4,
        format!(
            "{} misses in 900 ms of reads (SMEMBERS on the server: {})",
            m1 - m0,
            smembers1 - smembers0
        ),
    );
    c.finish();
}

// ---------------------------------------------------------------------------
// memory budget

/// `max_entries`: "at most `max_entries` keys"; reads stay right.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_entries_budget() {
    let mut c = Checks::new("max_entries_budget");
    let env = env().await;
    for id in 0..60_u64 {
        env.truth
            .save(&OneEntry { id, v: id as i64 })
            .await
            .unwrap();
    }
    for id in 0..240_u64 {
        env.truth.save(&Twenty { id, v: id as i64 }).await.unwrap();
    }
    for pass in 0..2 {
        for id in 0..60_u64 {
            let r = env.cached.get::<OneEntry>(&id).await;
            c.check(
                "OneEntry read right",
                matches!(&r, Ok(Some(m)) if m.v == id as i64),
                format!("{r:?}"),
            );
            let r = env.cached.get_field(&id, OneEntry::fields().v).await;
            c.check(
                "OneEntry field read right",
                matches!(&r, Ok(Some(v)) if *v == id as i64),
                format!("{r:?}"),
            );
            let st = stats_of(&env.cached, "OneEntry").unwrap();
            c.check(
                "max_entries = 1 holds at most 1 key",
                st.entries <= 1,
                format!("pass {pass}, after reading {} keys: {st:?}", id + 1),
            );
        }
        for id in 0..240_u64 {
            let r = env.cached.get::<Twenty>(&((id * 7) % 240)).await;
            c.check(
                "Twenty read right",
                matches!(&r, Ok(Some(m)) if m.v == ((id * 7) % 240) as i64),
                format!("{r:?}"),
            );
            let st = stats_of(&env.cached, "Twenty").unwrap();
            c.check(
                "max_entries = 20 holds at most 20 keys",
                st.entries <= 20,
                format!("pass {pass}, after reading {} keys: {st:?}", id + 1),
            );
        }
    }
    let one = stats_of(&env.cached, "OneEntry").unwrap();
    let twenty = stats_of(&env.cached, "Twenty").unwrap();
    c.note(format!("OneEntry {one:?}"));
    c.note(format!("Twenty {twenty:?}"));
    c.check(
        "the policy reflects max_entries = 1",
        one.policy.max_entries == 1,
        format!("{:?}", one.policy),
    );
    c.check(
        "keys dropped to stay within max_entries are counted as evictions",
        twenty.evictions > 0 || twenty.entries == 0,
        format!("{twenty:?}"),
    );
    c.finish();
}

/// `max_bytes`: bytes held never exceed it, tiny budgets do not panic, a
/// value larger than the budget is read right, and a dropped cache holds 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_bytes_budget() {
    let mut c = Checks::new("max_bytes_budget");
    let mut env = env().await;
    for id in 0..30_u64 {
        env.truth
            .save(&TinyBytes { id, v: id as i64 })
            .await
            .unwrap();
        env.truth
            .save(&Kb {
                id,
                body: "x".repeat(40 + id as usize * 5),
            })
            .await
            .unwrap();
    }
    env.truth
        .save(&Kb {
            id: 99,
            body: "y".repeat(10_000),
        })
        .await
        .unwrap();
    // One small entry: its size as documented (key + reply + 64 + 32/element).
    let _ = env.cached.get::<Kb>(&0).await;
    let one = stats_of(&env.cached, "Kb").unwrap();
    let key_len = env.cached.key::<Kb>(&0).unwrap().as_bytes().len() as u64;
    let reply_len = serde_json::to_string(&Kb {
        id: 0,
        body: "x".repeat(40),
    })
    .unwrap()
    .len() as u64;
    c.note(format!(
        "one Kb entry: {one:?}; key {key_len} B, reply {reply_len} B"
    ));
    if one.entries == 1 {
        c.check(
            "an entry counts at least its key, its reply and 64",
            one.bytes >= key_len + reply_len + 64,
            format!("bytes {} < {key_len} + {reply_len} + 64", one.bytes),
        );
    }
    for pass in 0..2 {
        for id in (0..30_u64).chain([99]) {
            let r = env.cached.get::<TinyBytes>(&(id % 30)).await;
            c.check(
                "TinyBytes read right",
                matches!(&r, Ok(Some(m)) if m.v == (id % 30) as i64),
                format!("{r:?}"),
            );
            let r = env.cached.exists::<TinyBytes>(&(id % 30)).await;
            c.check(
                "TinyBytes exists right",
                matches!(r, Ok(true)),
                format!("{r:?}"),
            );
            let r = env.cached.get_shared::<Kb>(&id).await;
            c.check(
                "Kb read right",
                matches!(&r, Ok(Some(m)) if m.id == id),
                format!("{:?}", r.map(|m| m.map(|m| m.body.len()))),
            );
            let tiny = stats_of(&env.cached, "TinyBytes").unwrap();
            c.check(
                "max_bytes = 1 holds at most 1 byte",
                tiny.bytes <= 1,
                format!("pass {pass}: {tiny:?}"),
            );
            let kb = stats_of(&env.cached, "Kb").unwrap();
            c.check(
                "max_bytes = 4096 holds at most 4096 bytes",
                kb.bytes <= 4096,
                format!("pass {pass}: {kb:?}"),
            );
        }
    }
    c.note(format!(
        "TinyBytes {:?}",
        stats_of(&env.cached, "TinyBytes")
    ));
    c.note(format!("Kb {:?}", stats_of(&env.cached, "Kb")));
    let _: () = admin!(&mut env.admin, "FLUSHDB");
    sync(&mut c, &env.cached).await;
    for model in ["Kb", "TinyBytes"] {
        let st = stats_of(&env.cached, model).unwrap();
        c.check(
            "after a flush a model holds 0 keys and 0 bytes",
            st.entries == 0 && st.bytes == 0,
            format!("{st:?}"),
        );
    }
    c.finish();
}

// ---------------------------------------------------------------------------
// faults, flushes, evictions

/// `CLIENT KILL TYPE normal` drops the store's connections, its tracking
/// connection among them; another client then writes while no tracking is
/// on. "When the tracking connection is lost, the whole cache is dropped at
/// once and nothing is served from it until a new connection has tracking
/// on again"; reads resume and cache again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracking_connection_killed() {
    let mut c = Checks::new("tracking_connection_killed");
    let mut env = env().await;
    let st = env.cached.clone();
    let pk = st.key::<Plan>(&1).unwrap();
    let sk = st.key::<CSet>(&o("s")).unwrap();
    for round in 0..8_i64 {
        st.save(&plan(1, "p", round, None)).await.unwrap();
        st.set::<CSet>(&o("s"))
            .add(&format!("r{round}"))
            .await
            .unwrap();
        for _ in 0..2 {
            let _ = st.get::<Plan>(&1).await;
            let _ = st.get_field(&1, Plan::fields().price).await;
            let _ = st.set::<CSet>(&o("s")).members().await;
        }
        let killed: u64 = admin!(&mut env.admin, "CLIENT", "KILL", "TYPE", "normal");
        // Written while the store has no tracking connection: no
        // invalidation will ever be sent for it.
        let _: () = admin!(&mut env.admin, "HSET", &pk, "price", 1000 + round);
        let _: () = admin!(&mut env.admin, "SADD", &sk, format!("k{round}"));
        let immediate = st.get::<Plan>(&1).await;
        if !matches!(&immediate, Ok(Some(p)) if p.price == 1000 + round) {
            c.note(format!("round {round} (killed {killed}): the read right after the kill returned {immediate:?}"));
        }
        if round % 2 == 0 {
            // Without sync: the loss must be noticed and the cache dropped.
            let fresh = eventually(Duration::from_secs(3), || {
                let st = st.clone();
                async move {
                    matches!(st.get::<Plan>(&1).await, Ok(Some(p)) if p.price == 1000 + round)
                        && matches!(st.get_field(&1, Plan::fields().price).await, Ok(Some(p)) if p == 1000 + round)
                        && matches!(st.set::<CSet>(&o("s")).members().await, Ok(m) if m.contains(&format!("k{round}")))
                }
            })
            .await;
            c.check(
                "after a kill, reads are fresh again within 3 s",
                fresh,
                format!("round {round}"),
            );
        } else {
            let synced = sync_until_ok(&st, Duration::from_secs(3)).await;
            c.check(
                "sync_client_cache succeeds again after a kill",
                synced,
                format!("round {round}"),
            );
            let r = st.get::<Plan>(&1).await;
            c.check(
                "after a kill and a successful sync, get reads the write made while tracking was off",
                matches!(&r, Ok(Some(p)) if p.price == 1000 + round),
                format!("round {round}: {r:?}"),
            );
            let r = st.get_field(&1, Plan::fields().price).await;
            c.check(
                "after a kill and a successful sync, get_field reads the write made while tracking was off",
                matches!(&r, Ok(Some(p)) if *p == 1000 + round),
                format!("round {round}: {r:?}"),
            );
            let r = st.set::<CSet>(&o("s")).members().await;
            c.check(
                "after a kill and a successful sync, members reads the write made while tracking was off",
                matches!(&r, Ok(m) if m.contains(&format!("k{round}"))),
                format!("round {round}: {r:?}"),
            );
        }
        // Caching resumes, and invalidations work on the new connection.
        let h0 = stats_of(&st, "Plan").map(|s| s.hits).unwrap_or(0);
        let _ = st.get::<Plan>(&1).await;
        let _ = st.get::<Plan>(&1).await;
        let h1 = stats_of(&st, "Plan").map(|s| s.hits).unwrap_or(0);
        c.check(
            "reads are cached again after a kill",
            h1 > h0,
            format!("hits {h0} -> {h1}"),
        );
        let _: () = admin!(&mut env.admin, "HSET", &pk, "price", 2000 + round);
        sync(&mut c, &st).await;
        let r = st.get::<Plan>(&1).await;
        c.check(
            "the new tracking connection delivers invalidations",
            matches!(&r, Ok(Some(p)) if p.price == 2000 + round),
            format!("round {round}: {r:?}"),
        );
    }
    c.finish();
}

/// The server stops (reads fail, none served from the cache) and restarts
/// empty; another client writes; reads see the new server's data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_stop_and_restart() {
    let mut c = Checks::new("server_stop_and_restart");
    let mut env = env().await;
    let st = env.cached.clone();
    for round in 0..3_i64 {
        st.save(&plan(1, "p", round, None)).await.unwrap();
        st.save(&plan(2, "two", round, None)).await.unwrap();
        st.counter::<CCtr>(&o("c")).set(round + 5).await.unwrap();
        for _ in 0..2 {
            let _ = st.get::<Plan>(&1).await;
            let _ = st.get::<Plan>(&2).await;
            let _ = st.exists::<Plan>(&2).await;
            let _ = st.counter::<CCtr>(&o("c")).get().await;
        }
        env.server.stop();
        // Once a read has failed, no later read is served from the cache.
        let failed = eventually(Duration::from_secs(3), || {
            let st = st.clone();
            async move { st.get::<Plan>(&1).await.is_err() }
        })
        .await;
        c.check(
            "reads fail while the server is down",
            failed,
            "still Ok 3 s after the stop",
        );
        for n in 0..10 {
            let t = Instant::now();
            let r = st.get::<Plan>(&2).await;
            let e = st.exists::<Plan>(&2).await;
            let g = st.counter::<CCtr>(&o("c")).get().await;
            c.check(
                "nothing is served from the cache while the server is down",
                r.is_err() && e.is_err() && g.is_err(),
                format!("round {round} read {n}: get {r:?}, exists {e:?}, counter {g:?}"),
            );
            c.check(
                "a read while the server is down returns within connect + response timeout",
                t.elapsed() < CONNECT + RESPONSE + Duration::from_millis(1000),
                format!("{:?}", t.elapsed()),
            );
        }
        env.server.restart().expect("restart");
        env.admin = env.server.raw_connection().await.expect("raw connection");
        let pk = st.key::<Plan>(&1).unwrap();
        let _: () = admin!(
            &mut env.admin,
            "HSET",
            &pk,
            "id",
            1,
            "name",
            "new",
            "price",
            100 + round
        );
        let synced = sync_until_ok(&st, Duration::from_secs(5)).await;
        c.check("sync_client_cache succeeds after the restart", synced, "");
        let r = st.get::<Plan>(&1).await;
        c.check(
            "after the restart get reads the new server's value",
            matches!(&r, Ok(Some(p)) if p.price == 100 + round && p.name == "new"),
            format!("{r:?}"),
        );
        let r = st.get::<Plan>(&2).await;
        c.check(
            "after the restart a key the new server lacks reads as None",
            matches!(r, Ok(None)),
            format!("{r:?}"),
        );
        let r = st.exists::<Plan>(&2).await;
        c.check(
            "after the restart exists is false",
            matches!(r, Ok(false)),
            format!("{r:?}"),
        );
        let r = st.counter::<CCtr>(&o("c")).get().await;
        c.check(
            "after the restart the counter reads 0",
            matches!(r, Ok(0)),
            format!("{r:?}"),
        );
    }
    c.finish();
}

/// `FLUSHDB`, `FLUSHALL`, `FLUSHDB ASYNC` by another client, and `FLUSHDB`
/// through the store's own `raw_access` (no sync: an own write): "a lost
/// connection or a flush drops the whole cache".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flushes_drop_the_whole_cache() {
    let mut c = Checks::new("flushes_drop_the_whole_cache");
    let mut env = env().await;
    async fn seed(env: &Env, n: i64) {
        let st = &env.truth;
        st.save(&plan(1, "p", n, None)).await.unwrap();
        st.save(&plan(2, "q", n, Some("x"))).await.unwrap();
        st.save(&Doc {
            id: 1,
            body: format!("b{n}"),
        })
        .await
        .unwrap();
        st.save(&Pack {
            id: 1,
            n,
            tags: vec![],
        })
        .await
        .unwrap();
        st.set::<CSet>(&o("s"))
            .add_many(&[o("a"), o("b")])
            .await
            .unwrap();
        st.map::<CMap>(&o("m")).set(&o("a"), &n).await.unwrap();
        st.sorted_set::<CZ>(&o("z")).add(&o("a"), 1).await.unwrap();
        st.list::<CList>(&o("l")).push_back(&1).await.unwrap();
        st.counter::<CCtr>(&o("c")).set(n).await.unwrap();
    }
    let models = ["Plan", "Doc", "Pack", "CSet", "CMap", "CZ", "CList", "CCtr"];
    for (n, how) in ["FLUSHDB", "FLUSHALL", "FLUSHDB ASYNC", "own raw FLUSHDB"]
        .iter()
        .enumerate()
    {
        seed(&env, n as i64).await;
        sync(&mut c, &env.cached).await;
        all_reads(&mut c, &env, &format!("before {how}")).await;
        match *how {
            "FLUSHDB" => {
                let _: () = admin!(&mut env.admin, "FLUSHDB");
            }
            "FLUSHALL" => {
                let _: () = admin!(&mut env.admin, "FLUSHALL");
            }
            "FLUSHDB ASYNC" => {
                let _: () = admin!(&mut env.admin, "FLUSHDB", "ASYNC");
            }
            "own raw FLUSHDB" => {
                let r = env
                    .cached
                    .raw_access()
                    .query::<()>(&redis::cmd("FLUSHDB"))
                    .await;
                c.check("raw FLUSHDB succeeds", r.is_ok(), format!("{r:?}"));
            }
            _ => {
                let _: () = admin!(&mut env.admin, "SWAPDB", 0, 1);
            }
        }
        if *how != "own raw FLUSHDB" {
            sync(&mut c, &env.cached).await;
        }
        for model in models {
            if let Some(st) = stats_of(&env.cached, model) {
                c.check(
                    format!("after {how} the cache holds nothing"),
                    st.entries == 0,
                    format!("{st:?}"),
                );
            }
        }
        all_reads(&mut c, &env, &format!("after {how}")).await;
    }
    c.finish();
}

/// Another client moves a cached key to another database (`MOVE`): the
/// keys of db 0 changed, so "the server sends an invalidation ... when
/// anyone changes, deletes ... the key" and "another client's write is seen
/// once ... `sync_client_cache` waits for it". (`SWAPDB` is the documented
/// exception: Redis sends no invalidation for it, and the docs say not to
/// swap a caching store's database. This review found it.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn move_by_another_client() {
    let mut c = Checks::new("move_by_another_client");
    let mut env = env().await;
    for how in ["MOVE"] {
        env.truth.save(&plan(1, "p", 1, None)).await.unwrap();
        env.truth.set::<CSet>(&o("s")).add(&o("a")).await.unwrap();
        env.truth.counter::<CCtr>(&o("c")).set(5).await.unwrap();
        sync(&mut c, &env.cached).await;
        for round in ["before", "before (cached)"] {
            same!(c, env, format!("{round} {how}: get"), |s| s.get::<Plan>(&1));
            same!(c, env, format!("{round} {how}: members"), |s| s
                .set::<CSet>(&o("s"))
                .members());
            same!(c, env, format!("{round} {how}: counter get"), |s| s
                .counter::<CCtr>(&o("c"))
                .get());
        }
        if how == "MOVE" {
            for key in [
                env.cached.key::<Plan>(&1).unwrap(),
                env.cached.key::<CSet>(&o("s")).unwrap(),
                env.cached.key::<CCtr>(&o("c")).unwrap(),
            ] {
                let _: () = admin!(&mut env.admin, "MOVE", &key, 1);
            }
        } else {
            let _: () = admin!(&mut env.admin, "SWAPDB", 0, 1);
        }
        sync(&mut c, &env.cached).await;
        same!(c, env, format!("after {how}: get"), |s| s.get::<Plan>(&1));
        same!(c, env, format!("after {how}: members"), |s| s
            .set::<CSet>(&o("s"))
            .members());
        same!(c, env, format!("after {how}: counter get"), |s| s
            .counter::<CCtr>(&o("c"))
            .get());
        let _: () = admin!(&mut env.admin, "FLUSHALL");
        sync(&mut c, &env.cached).await;
    }
    c.finish();
}

/// A store configured for database 3: the cache's own connection must read
/// the same database as the store's, and writes of another client to the
/// same key names in database 0 must not be served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_on_another_database() {
    let mut c = Checks::new("a_store_on_another_database");
    let server = start_server(&[]);
    let url = format!("{}?db=3", server.url());
    let connect = |cache: bool| {
        let url = url.clone();
        async move {
            let config = redis_runtime::Config::builder()
                .url(url)
                .namespace("rv")
                .client_cache(cache)
                .build()
                .expect("config");
            Store::connect(&config).await.expect("store connects")
        }
    };
    let cached = connect(true).await;
    let truth = connect(false).await;
    let mut db0 = server.raw_connection().await.unwrap();
    let key = cached.key::<Plan>(&1).unwrap();
    let _: () = admin!(&mut db0, "HSET", &key, "id", 1, "name", "db0", "price", 0);
    for round in 0..5_i64 {
        cached.save(&plan(1, "db3", round, None)).await.unwrap();
        for n in 0..3 {
            let got = show(cached.get::<Plan>(&1).await);
            let want = show(truth.get::<Plan>(&1).await);
            c.check(
                "a caching store on db 3 reads db 3",
                got == want,
                format!("round {round} read {n}: cached {got}, db 3 holds {want}"),
            );
        }
        let _: () = admin!(&mut db0, "HSET", &key, "price", 1000 + round);
        cached.sync_client_cache().await.unwrap();
        let got = show(cached.get::<Plan>(&1).await);
        let want = show(truth.get::<Plan>(&1).await);
        c.check(
            "a write to db 0 does not show in db 3",
            got == want,
            format!("round {round}: cached {got}, db 3 holds {want}"),
        );
        let price: i64 = admin!(&mut db0, "HGET", &key, "price");
        c.check(
            "the store writes db 3, not db 0",
            price == 1000 + round,
            format!("db 0 price {price}"),
        );
    }
    c.finish();
}

/// The server evicts keys (`maxmemory`) and evicts entries of its own
/// tracking table (`tracking-table-max-keys` 5, so it invalidates keys the
/// cache holds early): every read stays the server's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_evictions_and_a_small_tracking_table() {
    let mut c = Checks::new("server_evictions_and_a_small_tracking_table");
    let mut env = env_with(&["--tracking-table-max-keys", "5"]).await;
    for id in 0..40_u64 {
        env.truth
            .save(&plan(id, "p", id as i64, None))
            .await
            .unwrap();
    }
    for round in 0..3_i64 {
        for id in 0..40_u64 {
            same!(c, env, format!("tracking table: round {round} get"), |s| {
                s.get::<Plan>(&id)
            });
            same!(
                c,
                env,
                format!("tracking table: round {round} get again"),
                |s| s.get::<Plan>(&id)
            );
        }
        for id in 0..40_u64 {
            let key = env.cached.key::<Plan>(&id).unwrap();
            let _: () = admin!(
                &mut env.admin,
                "HSET",
                &key,
                "price",
                1000 * (round + 1) + id as i64
            );
        }
        sync(&mut c, &env.cached).await;
        for id in 0..40_u64 {
            same!(
                c,
                env,
                format!("tracking table: after other writes (round {round})"),
                |s| s.get::<Plan>(&id)
            );
        }
    }
    // maxmemory evictions.
    for id in 0..40_u64 {
        let _ = env.cached.get::<Plan>(&id).await;
        let _ = env.cached.get::<Plan>(&id).await;
    }
    let info: String = admin!(&mut env.admin, "INFO", "memory");
    let used: u64 = info
        .lines()
        .find_map(|l| l.strip_prefix("used_memory:")?.trim().parse().ok())
        .unwrap();
    let _: () = admin!(
        &mut env.admin,
        "CONFIG",
        "SET",
        "maxmemory-policy",
        "allkeys-random"
    );
    let _: () = admin!(
        &mut env.admin,
        "CONFIG",
        "SET",
        "maxmemory",
        used + 1_500_000
    );
    let pad = "z".repeat(20_000);
    for n in 0..400 {
        let r: redis::RedisResult<()> = redis::cmd("SET")
            .arg(format!("pad:{n}"))
            .arg(&pad)
            .query_async(&mut env.admin)
            .await;
        if r.is_err() {
            break;
        }
    }
    let evicted: String = admin!(&mut env.admin, "INFO", "stats");
    let evicted = evicted
        .lines()
        .find_map(|l| l.strip_prefix("evicted_keys:").map(|v| v.trim().to_owned()))
        .unwrap_or_default();
    let _: () = admin!(&mut env.admin, "CONFIG", "SET", "maxmemory", 0);
    sync(&mut c, &env.cached).await;
    let mut gone = 0;
    for id in 0..40_u64 {
        let key = env.cached.key::<Plan>(&id).unwrap();
        let exists: u64 = admin!(&mut env.admin, "EXISTS", &key);
        if exists == 0 {
            gone += 1;
        }
        same!(c, env, "after server evictions", |s| s.get::<Plan>(&id));
    }
    c.note(format!(
        "server evicted_keys {evicted}; {gone} of 40 cached plans evicted"
    ));
    c.finish();
}

// ---------------------------------------------------------------------------
// namespaces, edge reads, stats, metrics, untouched declarations

/// Two caching stores with different namespaces on one server (and two
/// with the same one) never see each other's entries; a write in one
/// namespace drops nothing it should not and serves nothing of the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespaces_are_separate() {
    let mut c = Checks::new("namespaces_are_separate");
    let server = start_server(&[]);
    let a = store_of(&server, "rva", true).await;
    let b = store_of(&server, "rvb", true).await;
    let a2 = store_of(&server, "rva", true).await;
    let a_truth = store_of(&server, "rva", false).await;
    let b_truth = store_of(&server, "rvb", false).await;
    c.check(
        "namespaced keys differ",
        a.key::<Plan>(&1).unwrap().as_bytes() != b.key::<Plan>(&1).unwrap().as_bytes(),
        "",
    );
    for round in 0..20_i64 {
        a.save(&plan(1, "a", round, None)).await.unwrap();
        b.save(&plan(1, "b", -round, Some("b"))).await.unwrap();
        a.set::<CSet>(&o("s"))
            .add(&format!("a{round}"))
            .await
            .unwrap();
        b.set::<CSet>(&o("s"))
            .add(&format!("b{round}"))
            .await
            .unwrap();
        for _ in 0..2 {
            for (name, st, truth) in [
                ("a", &a, &a_truth),
                ("b", &b, &b_truth),
                ("a (second store)", &a2, &a_truth),
            ] {
                let got = show(st.get::<Plan>(&1).await);
                let want = show(truth.get::<Plan>(&1).await);
                c.check(
                    format!("store {name} get"),
                    got == want,
                    format!("read {got}, its namespace holds {want}"),
                );
                let got = show(st.set::<CSet>(&o("s")).members().await.map(sorted));
                let want = show(truth.set::<CSet>(&o("s")).members().await.map(sorted));
                c.check(
                    format!("store {name} members"),
                    got == want,
                    format!("read {got}, its namespace holds {want}"),
                );
            }
        }
        // A write in b: a keeps serving its own value.
        b.set_field(&1, Plan::fields().price, &(1000 + round))
            .await
            .unwrap();
        let r = a.get::<Plan>(&1).await;
        c.check(
            "a write in namespace b leaves a's value",
            matches!(&r, Ok(Some(p)) if p.price == round && p.name == "a"),
            format!("{r:?}"),
        );
        let r = b.get::<Plan>(&1).await;
        c.check(
            "namespace b reads its own write",
            matches!(&r, Ok(Some(p)) if p.price == 1000 + round),
            format!("{r:?}"),
        );
        // A write by a second store of namespace a: a sees it after sync.
        a2.set_field(&1, Plan::fields().price, &(2000 + round))
            .await
            .unwrap();
        let r = a2.get::<Plan>(&1).await;
        c.check(
            "the writing store reads its own write",
            matches!(&r, Ok(Some(p)) if p.price == 2000 + round),
            format!("{r:?}"),
        );
        a.sync_client_cache().await.unwrap();
        let r = a.get::<Plan>(&1).await;
        c.check(
            "another store's write in the same namespace is seen after sync",
            matches!(&r, Ok(Some(p)) if p.price == 2000 + round),
            format!("{r:?}"),
        );
        if round % 2 == 0 {
            b.delete::<Plan>(&1).await.unwrap();
            let r = a.get::<Plan>(&1).await;
            c.check(
                "a delete in namespace b leaves a's entity",
                matches!(&r, Ok(Some(_))),
                format!("{r:?}"),
            );
        }
    }
    c.finish();
}

/// Absent entities, empty collections, `get_many` of mixed ids (with
/// duplicates), and keys of the wrong type or with corrupt values: typed
/// errors (never panics), the same as an uncached store, and nothing wrong
/// kept once the key is fixed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edge_reads_absent_empty_wrong_type_corrupt() {
    let mut c = Checks::new("edge_reads_absent_empty_wrong_type_corrupt");
    let mut env = env().await;
    // Absent and empty.
    for _ in 0..2 {
        all_reads(&mut c, &env, "nothing stored").await;
        same!(c, env, "get_many of no ids", |s| s.get_many::<Plan>(&[]));
        same!(c, env, "set contains_many of no members", |s| s
            .set::<CSet>(&o("s"))
            .contains_many(&[]));
        same!(c, env, "map get_many of no fields", |s| s
            .map::<CMap>(&o("m"))
            .get_many(&[]));
        same!(c, env, "zset scores of no members", |s| s
            .sorted_set::<CZ>(&o("z"))
            .scores(&[]));
        same!(c, env, "zset top(0)", |s| s
            .sorted_set::<CZ>(&o("z"))
            .top(0));
        same!(c, env, "list range(5, 2)", |s| s
            .list::<CList>(&o("l"))
            .range(5, 2));
    }
    // get_many of mixed present, absent and duplicate ids, cold and warm.
    for id in (0..50_u64).filter(|i| i % 3 != 0) {
        env.truth
            .save(&plan(id, "m", id as i64, None))
            .await
            .unwrap();
    }
    let ids: Vec<u64> = (0..50).chain([7, 7, 3, 49, 1000]).collect();
    for round in 0..3 {
        same!(
            c,
            env,
            format!("get_many of mixed ids (round {round})"),
            |s| s.get_many::<Plan>(&ids)
        );
        same!(
            c,
            env,
            format!("get_many reversed (round {round})"),
            |s| async {
                let mut r: Vec<u64> = ids.clone();
                r.reverse();
                s.get_many::<Plan>(&r).await
            }
        );
        let key = env.cached.key::<Plan>(&(round * 3 + 1)).unwrap();
        let _: () = admin!(&mut env.admin, "DEL", &key);
        let key = env.cached.key::<Plan>(&(round * 3)).unwrap();
        let _: () = admin!(
            &mut env.admin,
            "HSET",
            &key,
            "id",
            round * 3,
            "name",
            "new",
            "price",
            5
        );
        sync(&mut c, &env.cached).await;
    }
    // Wrong types and corrupt values, seeded by another client.
    let pk = env.cached.key::<Plan>(&1).unwrap();
    let dk = env.cached.key::<Doc>(&1).unwrap();
    let pak = env.cached.key::<Pack>(&1).unwrap();
    let sk = env.cached.key::<CSet>(&o("s")).unwrap();
    let mk = env.cached.key::<CMap>(&o("m")).unwrap();
    let zk = env.cached.key::<CZ>(&o("z")).unwrap();
    let lk = env.cached.key::<CList>(&o("l")).unwrap();
    let ck = env.cached.key::<CCtr>(&o("c")).unwrap();
    // Cold keys (never read before) of the wrong type for string models.
    for id in [11_u64, 12] {
        let dkey = env.cached.key::<Doc>(&id).unwrap();
        let pkey = env.cached.key::<Pack>(&id).unwrap();
        let _: () = admin!(&mut env.admin, "RPUSH", &dkey, "x");
        let _: () = admin!(&mut env.admin, "HSET", &pkey, "f", "x");
        for n in 0..2 {
            same!(
                c,
                env,
                format!("cold list key read by a JSON model's get (read {n})"),
                |s| s.get::<Doc>(&id)
            );
            same!(
                c,
                env,
                format!("cold hash key read by a MessagePack model's get_shared (read {n})"),
                |s| s.get_shared::<Pack>(&id)
            );
            same!(
                c,
                env,
                format!("cold list key read by a JSON model's get_many (read {n})"),
                |s| s.get_many::<Doc>(&[id])
            );
            same!(
                c,
                env,
                format!("cold list key read by a JSON model's exists (read {n})"),
                |s| s.exists::<Doc>(&id)
            );
        }
    }
    type Seed = fn(&mut redis::Pipeline, [&redis_runtime::key::RenderedKey; 8]);
    let cases: Vec<(&str, Seed)> = vec![
        (
            "a string where hashes, sets, maps, sorted sets, lists are expected",
            |p, [pk, _d, _pa, sk, mk, zk, lk, _c]| {
                for k in [pk, sk, mk, zk, lk] {
                    p.cmd("SET").arg(k).arg("a string");
                }
            },
        ),
        (
            "a list where strings and the counter are expected",
            |p, [_p, dk, pak, _s, _m, _z, _l, ck]| {
                for k in [dk, pak, ck] {
                    p.cmd("RPUSH").arg(k).arg("x");
                }
            },
        ),
        ("corrupt values", |p, [pk, dk, pak, sk, mk, zk, lk, ck]| {
            p.cmd("HSET")
                .arg(pk)
                .arg("id")
                .arg(1)
                .arg("name")
                .arg("n")
                .arg("price")
                .arg("not a number");
            p.cmd("SET").arg(dk).arg("{not json");
            p.cmd("SET").arg(pak).arg(b"\xc1\xff\x00".as_slice());
            p.cmd("SADD").arg(sk).arg("");
            p.cmd("HSET").arg(mk).arg("a").arg("not a number");
            p.cmd("ZADD").arg(zk).arg(1.5).arg("a");
            p.cmd("RPUSH").arg(lk).arg("{not json");
            p.cmd("SET").arg(ck).arg("abc");
        }),
        (
            "a hash whose id field differs from its key",
            |p, [pk, dk, ..]| {
                p.cmd("HSET")
                    .arg(pk)
                    .arg("id")
                    .arg(2)
                    .arg("name")
                    .arg("n")
                    .arg("price")
                    .arg(1);
                p.cmd("SET").arg(dk).arg(r#"{"id":2,"body":"elsewhere"}"#);
            },
        ),
    ];
    for (name, seed) in cases {
        let mut pipe = redis::pipe();
        pipe.cmd("DEL")
            .arg(&pk)
            .arg(&dk)
            .arg(&pak)
            .arg(&sk)
            .arg(&mk)
            .arg(&zk)
            .arg(&lk)
            .arg(&ck);
        seed(&mut pipe, [&pk, &dk, &pak, &sk, &mk, &zk, &lk, &ck]);
        let _: () = pipe.query_async(&mut env.admin).await.unwrap();
        sync(&mut c, &env.cached).await;
        // Reads twice: an error is not turned into a cached success.
        all_reads(&mut c, &env, name).await;
        for (label, r) in [
            ("get", env.cached.get::<Plan>(&1).await.map(|_| ())),
            ("doc get", env.cached.get::<Doc>(&1).await.map(|_| ())),
            (
                "set members",
                env.cached.set::<CSet>(&o("s")).members().await.map(|_| ()),
            ),
            (
                "counter get",
                env.cached.counter::<CCtr>(&o("c")).get().await.map(|_| ()),
            ),
        ] {
            if let Err(e) = r {
                c.note(format!("{name}: {label} -> {} ({e})", e.class()));
            }
        }
        // Fixed by another client: fresh after sync.
        let mut pipe = redis::pipe();
        pipe.cmd("DEL")
            .arg(&pk)
            .arg(&dk)
            .arg(&pak)
            .arg(&sk)
            .arg(&mk)
            .arg(&zk)
            .arg(&lk)
            .arg(&ck);
        let _: () = pipe.query_async(&mut env.admin).await.unwrap();
        env.truth.save(&plan(1, "fixed", 1, None)).await.unwrap();
        env.truth
            .save(&Doc {
                id: 1,
                body: "fixed".into(),
            })
            .await
            .unwrap();
        env.truth.set::<CSet>(&o("s")).add(&o("a")).await.unwrap();
        env.truth.counter::<CCtr>(&o("c")).set(3).await.unwrap();
        sync(&mut c, &env.cached).await;
        all_reads(&mut c, &env, &format!("{name}, fixed by another client")).await;
        // Broken again, then deleted, then fixed by an own write (no sync).
        let mut pipe = redis::pipe();
        pipe.cmd("DEL")
            .arg(&pk)
            .arg(&dk)
            .arg(&pak)
            .arg(&sk)
            .arg(&mk)
            .arg(&zk)
            .arg(&lk)
            .arg(&ck);
        seed(&mut pipe, [&pk, &dk, &pak, &sk, &mk, &zk, &lk, &ck]);
        let _: () = pipe.query_async(&mut env.admin).await.unwrap();
        sync(&mut c, &env.cached).await;
        all_reads(&mut c, &env, &format!("{name}, again")).await;
        let mut pipe = redis::pipe();
        pipe.cmd("DEL")
            .arg(&pk)
            .arg(&dk)
            .arg(&pak)
            .arg(&sk)
            .arg(&mk)
            .arg(&zk)
            .arg(&lk)
            .arg(&ck);
        let _: () = pipe.query_async(&mut env.admin).await.unwrap();
        sync(&mut c, &env.cached).await;
        all_reads(&mut c, &env, &format!("{name}, deleted")).await;
        env.cached.save(&plan(1, "own", 2, None)).await.unwrap();
        env.cached
            .save(&Doc {
                id: 1,
                body: "own".into(),
            })
            .await
            .unwrap();
        all_reads(&mut c, &env, &format!("{name}, fixed by an own write")).await;
    }
    c.finish();
}

/// Hits, misses, invalidations, entries and bytes as documented:
/// "Reads served from the cache", "Reads sent to the server" ("one per key
/// of a `get_many`"), get_shared and get sharing the entry of a whole
/// entity, "Keys held now".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_count_hits_misses_invalidations() {
    let mut c = Checks::new("stats_count_hits_misses_invalidations");
    let mut env = env().await;
    let st = env.cached.clone();
    let f = StatPlan::fields();
    env.truth.save(&StatPlan { id: 1, v: 1 }).await.unwrap();
    c.check(
        "no stats before the model is read",
        stats_of(&st, "StatPlan").is_none(),
        format!("{:?}", stats_of(&st, "StatPlan")),
    );
    let expect = |c: &mut Checks, step: &str, hits: u64, misses: u64, entries: u64| {
        let s = stats_of(&st, "StatPlan");
        let ok = s
            .as_ref()
            .is_some_and(|s| s.hits == hits && s.misses == misses && s.entries == entries);
        c.check(
            format!("stats after {step}"),
            ok,
            format!("want hits {hits} misses {misses} entries {entries}, got {s:?}"),
        );
    };
    let _ = st.get::<StatPlan>(&1).await;
    expect(&mut c, "get (miss)", 0, 1, 1);
    let _ = st.get::<StatPlan>(&1).await;
    expect(&mut c, "get again (hit)", 1, 1, 1);
    let _ = st.get_shared::<StatPlan>(&1).await;
    expect(
        &mut c,
        "get_shared after get (the same decoded entry: hit)",
        2,
        1,
        1,
    );
    let _ = st.get_many::<StatPlan>(&[1]).await;
    expect(&mut c, "get_many([1]) (hit)", 3, 1, 1);
    let _ = st.get_field(&1, f.v).await;
    expect(&mut c, "get_field (its own entry: miss)", 3, 2, 1);
    let _ = st.get_field(&1, f.v).await;
    expect(&mut c, "get_field again (hit)", 4, 2, 1);
    let _ = st.exists::<StatPlan>(&1).await;
    let _ = st.exists::<StatPlan>(&1).await;
    expect(&mut c, "exists twice (miss, hit)", 5, 3, 1);
    let _ = st.get_many::<StatPlan>(&[1, 2, 3]).await;
    expect(&mut c, "get_many([1, 2, 3]) (1 hit, 2 misses)", 6, 5, 3);
    let _ = st.get_many::<StatPlan>(&[2, 3]).await;
    expect(&mut c, "get_many([2, 3]) of absent ids (2 hits)", 8, 5, 3);
    // Uncached reads are not counted, and drop nothing (the key did not change).
    let _ = st.ttl::<StatPlan>(&1).await;
    expect(
        &mut c,
        "ttl (never cached: not counted, drops nothing)",
        8,
        5,
        3,
    );
    let after_ttl = stats_of(&st, "StatPlan").unwrap();
    let _ = st.get_fields_many(&[1_u64, 2], (f.v,)).await;
    let s = stats_of(&st, "StatPlan").unwrap();
    c.check(
        "get_fields_many (never cached: not counted, drops nothing)",
        s.hits == after_ttl.hits
            && s.misses == after_ttl.misses
            && s.entries == after_ttl.entries
            && s.invalidations == after_ttl.invalidations,
        format!("before {after_ttl:?}, after {s:?}"),
    );
    let _ = st.get_and_refresh::<StatPlan>(&3).await;
    let s = stats_of(&st, "StatPlan").unwrap();
    c.check(
        "get_and_refresh is neither a hit nor a miss",
        s.hits == 8 && s.misses == 5,
        format!("{s:?}"),
    );
    c.note(format!(
        "after the uncached reads: {:?}",
        stats_of(&st, "StatPlan")
    ));
    // Cache key 1 again (whole entity, a field, exists) for the own write.
    let _ = st.get::<StatPlan>(&1).await;
    let _ = st.get_field(&1, f.v).await;
    let _ = st.exists::<StatPlan>(&1).await;
    let s = stats_of(&st, "StatPlan").unwrap();
    let (hits, misses) = (s.hits, s.misses);
    c.note(format!("key 1 cached again: {s:?}"));
    // An own write drops the key's entries.
    let inv0 = stats_of(&st, "StatPlan")
        .map(|s| s.invalidations)
        .unwrap_or(0);
    st.set_field(&1, f.v, &2).await.unwrap();
    let s = stats_of(&st, "StatPlan").unwrap();
    c.note(format!(
        "after an own write dropping a key with 3 entries: invalidations {} -> {}",
        inv0, s.invalidations
    ));
    c.check(
        "an own write counts an invalidation",
        s.invalidations > inv0,
        format!("{s:?}"),
    );
    let _ = st.get::<StatPlan>(&1).await;
    let s2 = stats_of(&st, "StatPlan").unwrap();
    c.check(
        "get after the own write is a miss",
        s2.hits == hits && s2.misses == misses + 1 && s2.entries == s.entries + 1,
        format!("before {s:?}, after {s2:?}"),
    );
    // Another client's write.
    let s1 = stats_of(&st, "StatPlan").unwrap();
    let key = st.key::<StatPlan>(&1).unwrap();
    let _: () = admin!(&mut env.admin, "HSET", &key, "v", 9);
    sync(&mut c, &st).await;
    let s = stats_of(&st, "StatPlan").unwrap();
    c.check(
        "another client's write counts an invalidation",
        s.invalidations > s1.invalidations,
        format!("before {s1:?}, after {s:?}"),
    );
    c.check(
        "another client's write drops the key",
        s.entries + 1 == s1.entries,
        format!("before {s1:?}, after {s:?}"),
    );
    // A flush empties the model's cache.
    let _: () = admin!(&mut env.admin, "FLUSHALL");
    sync(&mut c, &st).await;
    let s = stats_of(&st, "StatPlan").unwrap();
    c.check(
        "a flush leaves no entries and no bytes",
        s.entries == 0 && s.bytes == 0,
        format!("{s:?}"),
    );
    // Duplicate ids in a get_many: "one per key of a get_many".
    let before = stats_of(&st, "StatPlan").unwrap();
    let _ = st.get_many::<StatPlan>(&[40, 40, 40]).await;
    let after = stats_of(&st, "StatPlan").unwrap();
    c.note(format!(
        "get_many([40, 40, 40]) of a cold id: misses +{}, hits +{}",
        after.misses - before.misses,
        after.hits - before.hits
    ));
    // Collections are listed under their declaration's name.
    let _ = st.set::<CSet>(&o("s")).members().await;
    let _ = st.counter::<CCtr>(&o("c")).get().await;
    c.check(
        "collections appear in client_cache_stats under their declaration's name",
        stats_of(&st, "CSet").is_some() && stats_of(&st, "CCtr").is_some(),
        format!(
            "{:?}",
            st.client_cache_stats()
                .iter()
                .map(|s| s.model.clone())
                .collect::<Vec<_>>()
        ),
    );
    // health() lists the model.
    let health = st.health().await;
    let text = format!("{health}");
    c.check(
        "health() mentions the cached model",
        text.contains("StatPlan"),
        text.clone(),
    );
    c.note(format!("health: {text}"));
    c.finish();
}

/// The metrics of docs/METRICS.md agree with `client_cache_stats()`, with
/// the documented causes, and the cache's connection reports its events
/// under `topology = client_cache`.
#[tokio::test]
async fn metrics_match_stats_and_causes() {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};
    let mut c = Checks::new("metrics_match_stats_and_causes");
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let stats = {
        let _guard = metrics::set_default_local_recorder(&recorder);
        let mut env = env().await;
        let st = env.cached.clone();
        let key = st.key::<MetricPlan>(&1).unwrap();
        st.save(&MetricPlan { id: 1, v: 1 }).await.unwrap();
        let _ = st.get::<MetricPlan>(&1).await; // miss
        let _ = st.get::<MetricPlan>(&1).await; // hit
        st.set_field(&1, MetricPlan::fields().v, &2).await.unwrap(); // own_write
        let _ = st.get::<MetricPlan>(&1).await;
        let _: () = admin!(&mut env.admin, "HSET", &key, "v", 3); // tracking
        sync(&mut c, &st).await;
        let _ = st.get::<MetricPlan>(&1).await;
        let _: () = admin!(&mut env.admin, "FLUSHDB"); // flush
        sync(&mut c, &st).await;
        st.save(&MetricPlan { id: 1, v: 4 }).await.unwrap();
        let _ = st.get::<MetricPlan>(&1).await;
        let _: u64 = admin!(&mut env.admin, "CLIENT", "KILL", "TYPE", "normal"); // reconnect
        let synced = sync_until_ok(&st, Duration::from_secs(3)).await;
        c.check("sync after the kill", synced, "");
        let _ = st.get::<MetricPlan>(&1).await;
        let _ = st.get::<MetricPlan>(&1).await;
        stats_of(&st, "MetricPlan").unwrap()
    };
    let snapshot = snapshotter.snapshot().into_vec();
    let mut sums: BTreeMap<String, u64> = BTreeMap::new();
    let mut labels_seen = Vec::new();
    for (key, _unit, _desc, value) in snapshot {
        let (_kind, key) = key.into_parts();
        let (name, labels) = key.into_parts();
        let name = name.as_str().to_owned();
        let labels: BTreeMap<String, String> = labels
            .into_iter()
            .map(|l| (l.key().to_owned(), l.value().to_owned()))
            .collect();
        let count = match value {
            DebugValue::Counter(n) => n,
            _ => continue,
        };
        if name.starts_with("redis_runtime_client_cache") {
            labels_seen.push(format!("{name}{labels:?}={count}"));
            if labels.get("model").map(String::as_str) != Some("MetricPlan") {
                continue;
            }
            *sums.entry(name.clone()).or_default() += count;
            if let Some(cause) = labels.get("cause") {
                *sums.entry(format!("{name}/{cause}")).or_default() += count;
            }
        }
        if name == "redis_runtime_connection_events_total" {
            let key = format!(
                "events/{}/{}",
                labels.get("topology").cloned().unwrap_or_default(),
                labels.get("event").cloned().unwrap_or_default()
            );
            *sums.entry(key).or_default() += count;
        }
    }
    c.note(format!("stats {stats:?}"));
    c.note(format!("metrics {sums:?}"));
    c.note(format!("client cache series {labels_seen:?}"));
    let get = |k: &str| sums.get(k).copied().unwrap_or(0);
    c.check(
        "hits metric = stats hits",
        get("redis_runtime_client_cache_hits_total") == stats.hits,
        format!(
            "{} vs {}",
            get("redis_runtime_client_cache_hits_total"),
            stats.hits
        ),
    );
    c.check(
        "misses metric = stats misses",
        get("redis_runtime_client_cache_misses_total") == stats.misses,
        format!(
            "{} vs {}",
            get("redis_runtime_client_cache_misses_total"),
            stats.misses
        ),
    );
    c.check(
        "evictions metric = stats evictions",
        get("redis_runtime_client_cache_evictions_total") == stats.evictions,
        format!(
            "{} vs {}",
            get("redis_runtime_client_cache_evictions_total"),
            stats.evictions
        ),
    );
    c.check(
        "invalidations metric = stats invalidations",
        get("redis_runtime_client_cache_invalidations_total") == stats.invalidations,
        format!(
            "{} vs {}",
            get("redis_runtime_client_cache_invalidations_total"),
            stats.invalidations
        ),
    );
    for cause in ["own_write", "tracking", "flush", "reconnect"] {
        c.check(
            format!("an invalidation with cause {cause} is counted"),
            get(&format!(
                "redis_runtime_client_cache_invalidations_total/{cause}"
            )) > 0,
            format!("{sums:?}"),
        );
    }
    c.check(
        "the cache's connection counts its loss under topology client_cache",
        sums.iter()
            .any(|(k, v)| k.starts_with("events/client_cache/") && *v > 0),
        format!("{sums:?}"),
    );
    c.finish();
}

/// Declarations without the attribute, with the store's cache on, read the
/// server every time (same commands); a cached declaration on a store with
/// the cache off does too, with no tracking connection and no stats.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uncached_declarations_and_cache_off_store_untouched() {
    let mut c = Checks::new("uncached_declarations_and_cache_off_store_untouched");
    let mut env = env().await;
    env.cached.save(&PlainModel { id: 1, v: 1 }).await.unwrap();
    env.cached
        .set::<PlainSet>(&o("p"))
        .add(&o("a"))
        .await
        .unwrap();
    env.cached.save(&plan(1, "p", 1, None)).await.unwrap();
    let hgetall0 = calls(&mut env.admin, "hgetall").await;
    let smembers0 = calls(&mut env.admin, "smembers").await;
    let caching0 = calls(&mut env.admin, "client|caching").await;
    for _ in 0..5 {
        let _ = env.cached.get::<PlainModel>(&1).await;
        let _ = env.cached.set::<PlainSet>(&o("p")).members().await;
    }
    let hgetall1 = calls(&mut env.admin, "hgetall").await;
    let smembers1 = calls(&mut env.admin, "smembers").await;
    let caching1 = calls(&mut env.admin, "client|caching").await;
    c.check(
        "an uncached model's reads all reach the server",
        hgetall1 - hgetall0 == 5,
        format!("HGETALL +{}", hgetall1 - hgetall0),
    );
    c.check(
        "an uncached set's reads all reach the server",
        smembers1 - smembers0 == 5,
        format!("SMEMBERS +{}", smembers1 - smembers0),
    );
    c.check(
        "uncached reads send no CLIENT CACHING",
        caching1 == caching0,
        format!("CLIENT CACHING +{}", caching1 - caching0),
    );
    c.check(
        "no stats for an uncached model",
        stats_of(&env.cached, "PlainModel").is_none()
            && stats_of(&env.cached, "PlainSet").is_none(),
        format!("{:?}", env.cached.client_cache_stats()),
    );
    // Another client's write is visible at once, no sync needed.
    let key = env.cached.key::<PlainModel>(&1).unwrap();
    for v in 2..50_i64 {
        let _: () = admin!(&mut env.admin, "HSET", &key, "v", v);
        let r = env.cached.get::<PlainModel>(&1).await;
        c.check(
            "an uncached model reads another client's write at once",
            matches!(&r, Ok(Some(m)) if m.v == v),
            format!("{r:?}"),
        );
    }
    // One tracking client for the caching store, none for the others.
    let list: String = admin!(&mut env.admin, "CLIENT", "LIST");
    let tracking = list
        .lines()
        .filter(|l| {
            l.split(' ')
                .any(|kv| kv.strip_prefix("flags=").is_some_and(|f| f.contains('t')))
        })
        .count();
    c.check(
        "exactly one tracking connection (the caching store's)",
        tracking == 1,
        list.clone(),
    );
    // A cache-off store: a cached declaration is read from the server.
    let hgetall2 = calls(&mut env.admin, "hgetall").await;
    for _ in 0..5 {
        let _ = env.truth.get::<Plan>(&1).await;
    }
    let hgetall3 = calls(&mut env.admin, "hgetall").await;
    c.check(
        "with the cache off, every read reaches the server",
        hgetall3 - hgetall2 == 5,
        format!("HGETALL +{}", hgetall3 - hgetall2),
    );
    c.check(
        "with the cache off, client_cache_stats is empty",
        env.truth.client_cache_stats().is_empty(),
        format!("{:?}", env.truth.client_cache_stats()),
    );
    let t = Instant::now();
    let r = env.truth.sync_client_cache().await;
    c.check(
        "with the cache off, sync_client_cache returns Ok at once",
        r.is_ok() && t.elapsed() < Duration::from_millis(50),
        format!("{r:?} in {:?}", t.elapsed()),
    );
    let r = env.truth.get_shared::<Plan>(&1).await;
    let g = env.truth.get::<Plan>(&1).await;
    c.check(
        "with the cache off, get_shared is get in an Arc",
        show(r) == show(g),
        "",
    );
    c.finish();
}

/// A cached model with a version, a unique field and an index (every write
/// a script over several keys): every write kind, a refused stale save, and
/// a lookup by index, then the next read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_writes_versioned_indexed_model() {
    let mut c = Checks::new("own_writes_versioned_indexed_model");
    let env = env().await;
    let st = &env.cached;
    let f = CMember::fields();
    let id = CMemberId {
        org: o("acme"),
        id: 1,
    };
    async fn reads(c: &mut Checks, env: &Env, ctx: &str, id: &CMemberId) {
        let f = CMember::fields();
        for _ in 0..2 {
            same!(c, env, format!("{ctx}: get"), |s| s.get::<CMember>(id));
            same!(c, env, format!("{ctx}: get_shared"), |s| s
                .get_shared::<CMember>(id));
            same!(c, env, format!("{ctx}: get_field(score)"), |s| s
                .get_field(id, f.score));
            same!(c, env, format!("{ctx}: get_fields"), |s| s
                .get_fields(id, (f.email, f.role, f.version)));
            same!(c, env, format!("{ctx}: exists"), |s| s
                .exists::<CMember>(id));
            same!(c, env, format!("{ctx}: get_many"), |s| s
                .get_many::<CMember>(std::slice::from_ref(id)));
            let (org, admin) = (o("acme"), o("admin"));
            same!(c, env, format!("{ctx}: find_by_role"), |s| {
                CMember::find_by_role(s, &org, &admin)
            });
        }
    }
    macro_rules! step {
        ($name:expr, $write:expr) => {{
            reads(&mut c, &env, &format!("before {}", $name), &id).await;
            let r = $write;
            c.note(format!(
                "{}: {:?}",
                $name,
                r.as_ref().map(|_| ()).map_err(|e| e.class())
            ));
            reads(&mut c, &env, &format!("after {}", $name), &id).await;
        }};
    }
    for rep in 0..4_i64 {
        let m = CMember {
            org: o("acme"),
            id: 1,
            email: format!("a{rep}@x"),
            role: o("member"),
            version: 0,
            score: rep,
        };
        step!("insert", st.insert(&m).await);
        let current = env.truth.get::<CMember>(&id).await.unwrap().unwrap();
        let mut changed = current.clone();
        changed.score = 100 + rep;
        changed.role = o("admin");
        step!("save (current version)", st.save(&changed).await);
        step!("save (stale version, refused)", st.save(&current).await);
        step!(
            "modify",
            st.modify(&id, |m: &mut CMember| m.score += 1).await
        );
        step!("set_field", st.set_field(&id, f.score, &7).await);
        step!("incr", st.incr(&id, f.score, 3).await);
        step!(
            "update",
            st.update(&id, |u| u.set(f.role, &o("member")).incr(f.score, 1))
                .await
        );
        let current = env.truth.get::<CMember>(&id).await.unwrap().unwrap();
        let mut changed = current.clone();
        changed.email = format!("b{rep}@x");
        step!("replace", st.replace(&changed).await);
        step!("take", st.take::<CMember>(&id).await);
        step!("insert again", st.insert(&m).await);
        step!("delete", st.delete::<CMember>(&id).await);
    }
    c.finish();
}

/// Tiny budgets under concurrent readers, while another client rewrites
/// values and syncs: every read is right, the budget holds, no panic.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn budgets_under_concurrent_reads_and_writes() {
    let mut c = Checks::new("budgets_under_concurrent_reads_and_writes");
    let mut env = env().await;
    for id in 0..64_u64 {
        env.truth
            .save(&OneEntry { id, v: id as i64 })
            .await
            .unwrap();
        env.truth.save(&Twenty { id, v: id as i64 }).await.unwrap();
        env.truth
            .save(&TinyBytes { id, v: id as i64 })
            .await
            .unwrap();
    }
    let floor = Arc::new(AtomicI64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let bad = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut tasks = Vec::new();
    for t in 0..4_u64 {
        let (st, floor, stop, bad) = (env.cached.clone(), floor.clone(), stop.clone(), bad.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng(0x1234_5678 + t);
            let mut n = 0_u64;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                let id = rng.below(64);
                let round = floor.load(Ordering::SeqCst);
                let want_min = id as i64 + 1000 * round;
                let (what, got) = match rng.below(4) {
                    0 => (
                        "OneEntry get",
                        st.get::<OneEntry>(&id).await.map(|m| m.map(|m| m.v)),
                    ),
                    1 => (
                        "Twenty get_shared",
                        st.get_shared::<Twenty>(&id).await.map(|m| m.map(|m| m.v)),
                    ),
                    2 => (
                        "Twenty get_field",
                        st.get_field(&id, Twenty::fields().v).await,
                    ),
                    _ => (
                        "TinyBytes get",
                        st.get::<TinyBytes>(&id).await.map(|m| m.map(|m| m.v)),
                    ),
                };
                match got {
                    Ok(Some(v)) if v >= want_min && (v - id as i64) % 1000 == 0 => {}
                    other => bad
                        .lock()
                        .unwrap()
                        .push(format!("{what} of {id} in round {round}: {other:?}")),
                }
            }
            n
        }));
    }
    for round in 1..=20_i64 {
        let mut pipe = redis::pipe();
        for id in 0..64_u64 {
            let v = id as i64 + 1000 * round;
            pipe.cmd("HSET")
                .arg(env.cached.key::<OneEntry>(&id).unwrap())
                .arg("v")
                .arg(v);
            pipe.cmd("HSET")
                .arg(env.cached.key::<Twenty>(&id).unwrap())
                .arg("v")
                .arg(v);
            pipe.cmd("HSET")
                .arg(env.cached.key::<TinyBytes>(&id).unwrap())
                .arg("v")
                .arg(v);
        }
        let _: () = pipe.query_async(&mut env.admin).await.unwrap();
        sync(&mut c, &env.cached).await;
        floor.store(round, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(20)).await;
        for (model, max) in [("OneEntry", 1), ("Twenty", 20)] {
            if let Some(s) = stats_of(&env.cached, model) {
                c.check(
                    format!("{model} stays within max_entries under load"),
                    s.entries <= max,
                    format!("{s:?}"),
                );
            }
        }
        if let Some(s) = stats_of(&env.cached, "TinyBytes") {
            c.check(
                "TinyBytes stays within max_bytes under load",
                s.bytes <= 1,
                format!("{s:?}"),
            );
        }
    }
    stop.store(true, Ordering::SeqCst);
    let mut reads = 0;
    for t in tasks {
        reads += t.await.expect("reader task");
    }
    let bad = bad.lock().unwrap().clone();
    c.note(format!("{reads} reads"));
    c.check(
        "every read under eviction and invalidation is the current value",
        bad.is_empty(),
        format!("{} of {reads} wrong; first: {:?}", bad.len(), bad.first()),
    );
    c.finish();
}

/// What `get` hands out is the caller's own copy: changing it changes
/// nothing the cache serves next.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_hands_out_a_copy() {
    let mut c = Checks::new("get_hands_out_a_copy");
    let env = env().await;
    env.cached.save(&plan(1, "p", 1, Some("n"))).await.unwrap();
    let _ = env.cached.get::<Plan>(&1).await;
    for n in 0..5 {
        let mut got = env.cached.get::<Plan>(&1).await.unwrap().unwrap();
        got.price = 999;
        got.name.push_str("-changed");
        got.note = None;
        let again = env.cached.get::<Plan>(&1).await.unwrap().unwrap();
        let shared = env.cached.get_shared::<Plan>(&1).await.unwrap().unwrap();
        c.check(
            "a changed copy does not change the cache",
            again == plan(1, "p", 1, Some("n")),
            format!("read {n}: {again:?}"),
        );
        c.check(
            "get_shared returns the same data as get",
            *shared == again,
            format!("{shared:?} vs {again:?}"),
        );
    }
    let a = env.cached.get_shared::<Plan>(&1).await.unwrap().unwrap();
    let b = env.cached.get_shared::<Plan>(&1).await.unwrap().unwrap();
    c.note(format!(
        "two get_shared hits share one allocation: {}",
        Arc::ptr_eq(&a, &b)
    ));
    c.finish();
}

/// A write that fails by a response timeout (the server is paused with
/// SIGSTOP; the write is applied when it resumes): "After a write through
/// this store returns (or fails), no read of this store returns what the
/// key held before it".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_that_times_out_drops_the_key() {
    let mut c = Checks::new("a_write_that_times_out_drops_the_key");
    let env = env().await;
    let st = env.cached.clone();
    let f = Plan::fields();
    for round in 0..2_i64 {
        st.save(&plan(1, "p", round, None)).await.unwrap();
        st.set::<CSet>(&o("s")).add(&o("a")).await.unwrap();
        for _ in 0..2 {
            let _ = st.get::<Plan>(&1).await;
            let _ = st.get_field(&1, f.price).await;
            let _ = st.set::<CSet>(&o("s")).members().await;
        }
        env.server.pause().expect("pause");
        let w = if round == 0 {
            st.set_field(&1, f.price, &(100 + round)).await.map(|_| ())
        } else {
            st.save(&plan(1, "p", 100 + round, None)).await
        };
        let s = st.set::<CSet>(&o("s")).add(&o("b")).await;
        c.note(format!(
            "round {round}: the writes while paused returned {:?} and {:?}",
            w.as_ref().map_err(|e| e.class()),
            s.as_ref().map_err(|e| e.class())
        ));
        let get = st.get::<Plan>(&1).await;
        let field = st.get_field(&1, f.price).await;
        let members = st.set::<CSet>(&o("s")).members().await;
        env.server.resume().expect("resume");
        if w.is_err() {
            c.check(
                "after a failed write, get does not return the old value",
                !matches!(&get, Ok(Some(p)) if p.price == round),
                format!("round {round}: {get:?}"),
            );
            c.check(
                "after a failed write, get_field does not return the old value",
                !matches!(&field, Ok(Some(p)) if *p == round),
                format!("round {round}: {field:?}"),
            );
        }
        if s.is_err() {
            c.check(
                "after a failed set add, members does not return the old members",
                !matches!(&members, Ok(m) if m == &vec![o("a")]),
                format!("round {round}: {members:?}"),
            );
        }
        let synced = sync_until_ok(&st, Duration::from_secs(5)).await;
        c.check("sync succeeds after the resume", synced, "");
        let got = show(st.get::<Plan>(&1).await);
        let want = show(env.truth.get::<Plan>(&1).await);
        c.check(
            "after the resume the store reads the server",
            got == want,
            format!("{got} vs {want}"),
        );
        let got = show(st.set::<CSet>(&o("s")).members().await.map(sorted));
        let want = show(env.truth.set::<CSet>(&o("s")).members().await.map(sorted));
        c.check(
            "after the resume the store reads the server's set",
            got == want,
            format!("{got} vs {want}"),
        );
    }
    c.finish();
}

/// Only the tracking connection is killed, and new connections are refused
/// for a while (`maxclients`), so tracking stays off; meanwhile the store
/// reads (over its still-open connection, or fails) and another client
/// writes. "nothing is served from it until a new connection has tracking
/// on again": a read made while tracking is off must not be kept and
/// served after a later write nobody invalidates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_while_tracking_is_off_are_not_kept() {
    let mut c = Checks::new("reads_while_tracking_is_off_are_not_kept");
    let mut env = env().await;
    let st = env.cached.clone();
    let pk = st.key::<Plan>(&1).unwrap();
    let sk = st.key::<CSet>(&o("s")).unwrap();
    for round in 0..3_i64 {
        let base = round * 100;
        st.save(&plan(1, "p", base, None)).await.unwrap();
        st.set::<CSet>(&o("s"))
            .add(&format!("a{round}"))
            .await
            .unwrap();
        for _ in 0..2 {
            let _ = st.get::<Plan>(&1).await;
            let _ = st.set::<CSet>(&o("s")).members().await;
        }
        let list: String = admin!(&mut env.admin, "CLIENT", "LIST");
        let tracking: Vec<String> = list
            .lines()
            .filter(|l| {
                l.split(' ')
                    .any(|kv| kv.strip_prefix("flags=").is_some_and(|f| f.contains('t')))
            })
            .filter_map(|l| {
                l.split(' ')
                    .find_map(|kv| kv.strip_prefix("id="))
                    .map(str::to_owned)
            })
            .collect();
        c.check("one tracking connection", tracking.len() == 1, list.clone());
        let connected = list.lines().count() as u64;
        let _: () = admin!(&mut env.admin, "CONFIG", "SET", "maxclients", connected - 1);
        for id in &tracking {
            let _: u64 = admin!(&mut env.admin, "CLIENT", "KILL", "ID", id);
        }
        // Tracking is off now and cannot come back. Read, let another client
        // write, read again.
        let mut seen = Vec::new();
        for step in 0..6_i64 {
            let v = base + 1 + step;
            let r1 = st.get::<Plan>(&1).await;
            let m1 = st.set::<CSet>(&o("s")).members().await;
            let _: () = admin!(&mut env.admin, "HSET", &pk, "price", v);
            let _: () = admin!(&mut env.admin, "SADD", &sk, format!("b{v}"));
            let r2 = st.get::<Plan>(&1).await;
            let m2 = st.set::<CSet>(&o("s")).members().await;
            c.check(
                "a read while tracking is off never returns a value older than a finished write",
                !matches!(&r2, Ok(Some(p)) if p.price < v) && !matches!(&r2, Ok(None)),
                format!("round {round} step {step}: wrote price {v}, read {r2:?} (the read before the write: {r1:?})"),
            );
            c.check(
                "a set read while tracking is off never misses a finished write",
                !matches!(&m2, Ok(m) if !m.contains(&format!("b{v}"))),
                format!("round {round} step {step}: added b{v}, read {m2:?} (before: {m1:?})"),
            );
            seen.push(format!(
                "{:?}",
                r2.as_ref()
                    .map(|p| p.as_ref().map(|p| p.price))
                    .map_err(|e| e.class())
            ));
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        c.note(format!(
            "round {round}: reads while tracking was off: {seen:?}"
        ));
        let _: () = admin!(&mut env.admin, "CONFIG", "SET", "maxclients", 10_000);
        let synced = sync_until_ok(&st, Duration::from_secs(5)).await;
        c.check(
            "sync succeeds once connections are accepted again",
            synced,
            "",
        );
        let _: () = admin!(&mut env.admin, "HSET", &pk, "price", base + 50);
        sync(&mut c, &st).await;
        let r = st.get::<Plan>(&1).await;
        c.check(
            "once tracking is back, another client's write is seen after sync",
            matches!(&r, Ok(Some(p)) if p.price == base + 50),
            format!("round {round}: {r:?}"),
        );
        let _: () = admin!(&mut env.admin, "SADD", &sk, format!("c{round}"));
        sync(&mut c, &st).await;
        let m = st.set::<CSet>(&o("s")).members().await;
        c.check(
            "once tracking is back, another client's set write is seen after sync",
            matches!(&m, Ok(m) if m.contains(&format!("c{round}"))),
            format!("round {round}: {m:?}"),
        );
    }
    c.finish();
}

/// The TTL bounds with a 5 ms margin: a key certainly expired on the
/// server for 5 ms (active expiry off, so only the cache's own deadline can
/// stop it) is not served, and an entry older than the declaration's bound
/// by 5 ms is re-read. "An entry never outlives the key's TTL as read with
/// it ..., nor the declaration's local bound".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_bounds_are_tight() {
    let mut c = Checks::new("expiry_bounds_are_tight");
    let mut env = env_with(&["--enable-debug-command", "yes"]).await;
    let _: () = admin!(&mut env.admin, "DEBUG", "SET-ACTIVE-EXPIRE", 0);
    let st = env.cached.clone();
    let ttl = Duration::from_millis(300);
    let margin = Duration::from_millis(5);
    let mut saved = Vec::new();
    for id in 0..30_u64 {
        st.save_with_ttl(
            &Doc {
                id,
                body: "x".into(),
            },
            Some(ttl),
        )
        .await
        .unwrap();
        let returned = Instant::now();
        let _ = st.get::<Doc>(&id).await;
        let _ = st.get::<Doc>(&id).await;
        saved.push((id, returned));
    }
    let mut late = Vec::new();
    for (id, returned) in saved {
        tokio::time::sleep_until((returned + ttl + margin).into()).await;
        let at = returned.elapsed();
        let r = st.get::<Doc>(&id).await;
        if !matches!(r, Ok(None)) {
            late.push(format!(
                "id {id} read {at:?} after its save returned: {r:?}"
            ));
        }
    }
    c.check(
        "no key is served 5 ms after its TTL ended",
        late.is_empty(),
        format!("{} of 30 served; first: {:?}", late.len(), late.first()),
    );
    // The declaration's bound (200 ms).
    let bound = Duration::from_millis(200);
    st.save(&ShortLived { id: 1, v: 1 }).await.unwrap();
    let mut kept = Vec::new();
    for n in 0..15 {
        let key = st.key::<ShortLived>(&1).unwrap();
        let _: () = admin!(&mut env.admin, "HSET", &key, "v", n);
        sync(&mut c, &st).await;
        let _ = st.get::<ShortLived>(&1).await; // miss
        let read = Instant::now();
        let before = stats_of(&st, "ShortLived").unwrap();
        tokio::time::sleep_until((read + bound + margin).into()).await;
        let _ = st.get::<ShortLived>(&1).await;
        let after = stats_of(&st, "ShortLived").unwrap();
        if after.misses != before.misses + 1 {
            kept.push(format!(
                "round {n}: read {:?} after the miss was a hit",
                read.elapsed()
            ));
        }
    }
    c.check(
        "no entry is served 5 ms past the declaration's ttl",
        kept.is_empty(),
        format!("{} of 15 served; first: {:?}", kept.len(), kept.first()),
    );
    c.finish();
}

/// Readers hammer cached reads while another client raises a value and
/// the store's connections are killed again and again; after every
/// successful `sync_client_cache`, no read that starts later returns an
/// older value (errors while reconnecting are allowed).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reads_under_repeated_kills_never_go_back() {
    let mut c = Checks::new("reads_under_repeated_kills_never_go_back");
    let mut env = env().await;
    let f = Plan::fields();
    env.cached.save(&plan(1, "p", 0, None)).await.unwrap();
    let pk = env.cached.key::<Plan>(&1).unwrap();
    let floor = Arc::new(AtomicI64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let violations = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut readers = Vec::new();
    for r in 0..3_u64 {
        let (store, floor, stop, violations) = (
            env.cached.clone(),
            floor.clone(),
            stop.clone(),
            violations.clone(),
        );
        readers.push(tokio::spawn(async move {
            let (mut ok, mut err) = (0_u64, 0_u64);
            let mut n = 0_u64;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                let want = floor.load(Ordering::SeqCst);
                let got = match (n + r) % 3 {
                    0 => store.get::<Plan>(&1).await.map(|p| p.map(|p| p.price)),
                    1 => store.get_field(&1, f.price).await,
                    _ => store
                        .get_shared::<Plan>(&1)
                        .await
                        .map(|p| p.map(|p| p.price)),
                };
                match got {
                    Ok(Some(v)) if v >= want => ok += 1,
                    Err(_) => err += 1,
                    other => violations.lock().unwrap().push(format!(
                        "a read started after {want} was synced read {other:?}"
                    )),
                }
                tokio::task::yield_now().await;
            }
            (ok, err)
        }));
    }
    let mut failed_syncs = 0;
    for v in 1..=150_i64 {
        let _: () = admin!(&mut env.admin, "HSET", &pk, "price", v);
        if v % 15 == 0 {
            let _: u64 = admin!(&mut env.admin, "CLIENT", "KILL", "TYPE", "normal");
        }
        if sync_until_ok(&env.cached, Duration::from_secs(5)).await {
            floor.store(v, Ordering::SeqCst);
        } else {
            failed_syncs += 1;
        }
    }
    stop.store(true, Ordering::SeqCst);
    let (mut ok, mut err) = (0, 0);
    for r in readers {
        let (o1, e1) = r.await.expect("reader");
        ok += o1;
        err += e1;
    }
    c.check(
        "sync recovers after every kill",
        failed_syncs == 0,
        format!("{failed_syncs} syncs never succeeded"),
    );
    let violations = violations.lock().unwrap().clone();
    c.note(format!(
        "{ok} good reads, {err} errors, {} went back",
        violations.len()
    ));
    c.check(
        "no read started after a successful sync returns an older value, across kills",
        violations.is_empty(),
        format!(
            "{} went back; first: {:?}",
            violations.len(),
            violations.first()
        ),
    );
    c.finish();
}
