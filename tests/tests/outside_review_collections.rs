//! An outside review of the collection kinds (sets, sorted sets, lists and
//! reliable queues, maps, counters and their rate limit) and of the
//! conditional writes, tested adversarially from README.md, RELIABILITY.md
//! and the public API's rustdoc alone.
//!
//! Each test collects every broken promise it meets (`Checks`) and fails at
//! the end listing all of them, so one run reports everything. Lines starting
//! with `REVIEW` are observations. Tests that show a defect are `#[ignore]`d
//! with the defect in one line; run them with `--include-ignored`.
//!
//! Every test starts its own private `redis-server` (or cluster) and seeds
//! corrupt data and wrong types with raw redis-rs commands, as another client
//! of the same server would.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use redis::aio::MultiplexedConnection;
use redis_runtime::collection::{Bound, Order, ZAdd};
use redis_runtime::testing::{RedisCluster, RedisServer};
use redis_runtime::{
    Error, Expiry, InsertOrGet, Outcome, RedisCounter, RedisList, RedisMap, RedisModel, RedisSet,
    RedisSortedSet, Store,
};
use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------------------
// declarations

/// A set of strings with a TTL.
#[derive(RedisSet)]
#[redis(key = "rv:set:{id}", member = String, ttl = "1h")]
struct Names {
    id: String,
}

/// A set of integers without a TTL.
#[derive(RedisSet)]
#[redis(key = "rv:nums:{id}", member = u64)]
struct Nums {
    id: String,
}

/// Sets of one org share a slot.
#[derive(RedisSet)]
#[redis(key = "rv:org:{org}:team:{team}", hash_tag = "org", member = String, ttl = "1h")]
struct Team {
    org: String,
    team: String,
}

/// Sets without a hash tag: two ids are usually in two slots.
#[derive(RedisSet)]
#[redis(key = "rv:loose:{a}:{b}", member = String)]
struct Loose {
    a: String,
    b: String,
}

/// A leaderboard with integer scores and a TTL.
#[derive(RedisSortedSet)]
#[redis(key = "rv:board:{id}", member = String, score = u64, ttl = "1h")]
struct Board {
    id: String,
}

/// Float scores, no TTL.
#[derive(RedisSortedSet)]
#[redis(key = "rv:load:{id}", member = String, score = f64)]
struct Load {
    id: String,
}

/// A rate-limit counter with a long window.
#[derive(RedisCounter)]
#[redis(key = "rv:hits:{id}", ttl = "1h")]
struct Hits {
    id: String,
}

/// A rate-limit counter with a short window.
#[derive(RedisCounter)]
#[redis(key = "rv:win:{id}", ttl = "700ms")]
struct ShortWindow {
    id: String,
}

/// A counter without a TTL.
#[derive(RedisCounter)]
#[redis(key = "rv:plain:{id}")]
struct Plain {
    id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
struct Msg {
    n: u64,
    text: String,
}

fn msg(n: u64) -> Msg {
    Msg {
        n,
        text: format!("m{n}"),
    }
}

/// A capped list with a TTL.
#[derive(RedisList)]
#[redis(key = "rv:hist:{id}", item = Msg, cap = 5, ttl = "1h")]
struct Hist {
    id: String,
}

/// An uncapped list with a TTL.
#[derive(RedisList)]
#[redis(key = "rv:log:{id}", item = Msg, ttl = "1h")]
struct Log {
    id: String,
}

/// A sorted set of float scores with a TTL.
#[derive(RedisSortedSet)]
#[redis(key = "rv:temps:{id}", member = String, score = f64, ttl = "1h")]
struct Temps {
    id: String,
}

/// A reliable queue.
#[derive(RedisList)]
#[redis(key = "rv:q:{q}", hash_tag = "q", item = Msg, queue)]
struct Q {
    q: String,
}

/// A map of integer values with a TTL.
#[derive(RedisMap)]
#[redis(key = "rv:marks:{id}", field = String, value = i64, ttl = "1h")]
struct Marks {
    id: String,
}

/// A map with integer field names.
#[derive(RedisMap)]
#[redis(key = "rv:labels:{id}", field = u64, value = String)]
struct Labels {
    id: String,
}

/// A hash entity for the conditional writes.
#[derive(Debug, Clone, PartialEq, RedisModel)]
#[redis(key = "rv:acct:{id}", ttl = "1h")]
struct Acct {
    id: u64,
    email: String,
    name: Option<String>,
    small: u8,
    logins: i64,
}

fn acct(id: u64, email: &str) -> Acct {
    Acct {
        id,
        email: email.into(),
        name: Some("n".into()),
        small: 0,
        logins: 0,
    }
}

/// A JSON entity for the conditional writes.
#[derive(Debug, Clone, PartialEq, RedisModel, Serialize, Deserialize)]
#[redis(key = "rv:tok:{token}", encoding = "json", ttl = "10m")]
struct Tok {
    token: String,
    user: u64,
}

// ---------------------------------------------------------------------------
// helpers

/// Soft assertions: every failure is recorded, the test fails at the end.
struct Checks {
    name: &'static str,
    failures: Vec<String>,
}

impl Checks {
    fn new(name: &'static str) -> Checks {
        Checks {
            name,
            failures: Vec::new(),
        }
    }

    fn check(&mut self, ok: bool, what: impl Into<String>) {
        let what = what.into();
        if ok {
            println!("REVIEW {} PASS {}", self.name, what);
        } else {
            println!("REVIEW {} FAIL {}", self.name, what);
            self.failures.push(what);
        }
    }

    fn note(&self, what: impl AsRef<str>) {
        println!("REVIEW {} NOTE {}", self.name, what.as_ref());
    }

    fn finish(self) {
        if !self.failures.is_empty() {
            panic!(
                "{}: {} broken promise(s):\n - {}",
                self.name,
                self.failures.len(),
                self.failures.join("\n - ")
            );
        }
    }
}

const CONNECT: Duration = Duration::from_millis(1000);
const RESPONSE: Duration = Duration::from_millis(1000);
/// connect + response, plus slack for a loaded 2-core machine.
const BOUND: Duration = Duration::from_millis(2000 + 1000);

/// One raw command on an admin connection; the reply as the caller asks.
macro_rules! raw {
    ($con:expr, $name:literal $(, $arg:expr)* $(,)?) => {{
        #[allow(unused_mut)]
        let mut cmd = redis::cmd($name);
        $(cmd.arg($arg);)*
        cmd.query_async($con).await
    }};
}

async fn start() -> (RedisServer, Store, MultiplexedConnection) {
    let server = RedisServer::start().expect("redis-server starts");
    let store = connect(&server).await;
    let con = server.raw_connection().await.expect("raw connection");
    (server, store, con)
}

async fn connect(server: &RedisServer) -> Store {
    let config = server
        .config_builder()
        .connect_timeout(CONNECT)
        .response_timeout(RESPONSE)
        .build()
        .expect("config");
    Store::connect(&config).await.expect("store connects")
}

fn s(v: &str) -> String {
    v.to_owned()
}

/// A short name of an error's variant.
fn kind(e: &Error) -> &'static str {
    e.class()
}

fn kind_of<T>(r: &Result<T, Error>) -> &'static str {
    match r {
        Ok(_) => "ok",
        Err(e) => kind(e),
    }
}

fn show<T: std::fmt::Debug>(r: &Result<T, Error>) -> String {
    match r {
        Ok(v) => {
            let text = format!("Ok({v:?})");
            if text.len() > 200 {
                format!("{}...", &text[..200])
            } else {
                text
            }
        }
        Err(e) => format!("Err({}: {e})", kind(e)),
    }
}

/// Runs `fut` on its own task: a panic or a hang is reported, not fatal.
async fn guarded<T: Send + 'static>(
    fut: impl Future<Output = T> + Send + 'static,
) -> Result<T, String> {
    match tokio::time::timeout(Duration::from_secs(20), tokio::spawn(fut)).await {
        Err(_) => Err("hung for 20 s".into()),
        Ok(Err(e)) if e.is_panic() => {
            let payload = e.into_panic();
            let text = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Err(format!("panicked: {text}"))
        }
        Ok(Err(e)) => Err(format!("join error: {e}")),
        Ok(Ok(v)) => Ok(v),
    }
}

async fn pttl(con: &mut MultiplexedConnection, key: &impl redis::ToRedisArgs) -> i64 {
    raw!(con, "PTTL", key).expect("PTTL")
}

async fn key_type(con: &mut MultiplexedConnection, key: &impl redis::ToRedisArgs) -> String {
    raw!(con, "TYPE", key).expect("TYPE")
}

/// The hash slot of a key (CRC16/XMODEM of its hash tag or whole key).
fn slot(key: &[u8]) -> u16 {
    let mut part = key;
    if let Some(open) = key.iter().position(|&b| b == b'{')
        && let Some(len) = key[open + 1..].iter().position(|&b| b == b'}')
        && len > 0
    {
        part = &key[open + 1..open + 1 + len];
    }
    let mut crc: u16 = 0;
    for &b in part {
        crc ^= (b as u16) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc % 16384
}

const HOUR_MS: i64 = 3_600_000;

// ---------------------------------------------------------------------------
// sets

#[tokio::test]
async fn set_edge_cases() {
    let mut c = Checks::new("set_edge_cases");
    let (_server, store, mut con) = start().await;
    let id = s("edge");
    let set = store.set::<Names>(&id);

    // Absent reads as empty, never an error.
    c.check(
        matches!(set.members().await, Ok(v) if v.is_empty()),
        "members of an absent set are empty",
    );
    c.check(
        matches!(set.len().await, Ok(0)),
        "len of an absent set is 0",
    );
    c.check(
        matches!(set.is_empty().await, Ok(true)),
        "absent set is_empty",
    );
    c.check(
        matches!(set.random().await, Ok(None)),
        "random of absent is None",
    );
    c.check(matches!(set.pop().await, Ok(None)), "pop of absent is None");
    c.check(
        matches!(set.contains(&s("x")).await, Ok(false)),
        "contains on absent is false",
    );
    let r = set.contains_many(&[]).await;
    c.check(
        matches!(&r, Ok(v) if v.is_empty()),
        format!("contains_many(&[]) is an empty Vec: {}", show(&r)),
    );
    let r = set.remove_many(&[]).await;
    c.check(
        matches!(r, Ok(0)),
        format!("remove_many(&[]) is 0: {}", show(&r)),
    );
    let r = set.add_many(&[]).await;
    c.check(
        matches!(r, Ok(0)),
        format!("add_many(&[]) is 0: {}", show(&r)),
    );
    c.check(
        matches!(store.exists::<Names>(&id).await, Ok(false)),
        "add_many(&[]) creates no key",
    );
    let scanned: Vec<_> = set.scan().collect().await;
    c.check(scanned.is_empty(), "scan of absent set yields nothing");

    // Odd members: unescaped, round-trip exactly, readable by raw clients.
    let odd = vec![
        s("ünïcødé 🎉"),
        s("a:b*c?[d]{e}"),
        s("with space"),
        s("cr\r\nlf"),
        s("nul\0byte"),
        s("%41"),
        s("\\"),
        "x".repeat(100_000),
    ];
    let r = set.add_many(&odd).await;
    c.check(
        matches!(r, Ok(n) if n == odd.len() as u64),
        format!("add_many of {} odd members: {}", odd.len(), show(&r)),
    );
    let got: BTreeSet<String> = set
        .members()
        .await
        .unwrap_or_default()
        .into_iter()
        .collect();
    let want: BTreeSet<String> = odd.iter().cloned().collect();
    c.check(got == want, "odd members round-trip through members()");
    let key = store.key::<Names>(&id).unwrap();
    let raw_members: BTreeSet<Vec<u8>> = raw!(&mut con, "SMEMBERS", &key).unwrap_or_default();
    let want_raw: BTreeSet<Vec<u8>> = odd.iter().map(|m| m.as_bytes().to_vec()).collect();
    c.check(
        raw_members == want_raw,
        "members are stored unescaped (raw SMEMBERS shows the exact bytes)",
    );
    let flags = set.contains_many(&odd).await;
    c.check(
        matches!(&flags, Ok(v) if v.len() == odd.len() && v.iter().all(|b| *b)),
        "contains_many finds every odd member",
    );
    let scanned: BTreeSet<String> = set
        .scan()
        .filter_map(|r| async move { r.ok() })
        .collect()
        .await;
    c.check(scanned == want, "scan yields every odd member");

    // Duplicates in one call count once.
    let r = set.add_many(&[s("dup"), s("dup")]).await;
    c.check(
        matches!(r, Ok(1)),
        format!("add_many with a duplicate counts 1: {}", show(&r)),
    );
    c.check(
        matches!(set.add(&s("dup")).await, Ok(false)),
        "re-adding a member is false",
    );
    let r = set.remove_many(&[s("dup"), s("dup"), s("never")]).await;
    c.check(
        matches!(r, Ok(1)),
        format!("remove_many with duplicate/missing counts 1: {}", show(&r)),
    );

    // The empty member and a member beyond the key-part limit: a typed
    // answer either way, and when accepted it round-trips.
    let empty = set.add(&s("")).await;
    c.note(format!("add(\"\") -> {}", show(&empty)));
    c.check(
        matches!(kind_of(&empty), "ok" | "invalid_key_part" | "encode"),
        format!("add(\"\") is Ok or a typed refusal: {}", show(&empty)),
    );
    if empty.is_ok() {
        c.check(
            matches!(set.contains(&s("")).await, Ok(true)),
            "an accepted empty member is contained",
        );
    }

    // Set algebra with no others is the set itself.
    let union = set.union(&[]).await.unwrap_or_default().len();
    let len = set.len().await.unwrap_or(0) as usize;
    c.check(
        union == len,
        format!("union(&[]) == members ({union} vs {len})"),
    );

    // pop empties the set and the key goes away.
    let other = s("popme");
    let small = store.set::<Names>(&other);
    let _ = small.add_many(&[s("a"), s("b")]).await;
    let mut popped = BTreeSet::new();
    while let Ok(Some(m)) = small.pop().await {
        popped.insert(m);
        if popped.len() > 5 {
            break;
        }
    }
    c.check(
        popped == [s("a"), s("b")].into_iter().collect(),
        "pop returns each member once",
    );
    c.check(
        matches!(store.exists::<Names>(&other).await, Ok(false)),
        "a set emptied by pop no longer exists",
    );
    c.finish();
}

#[tokio::test]
async fn set_corrupt_members_and_wrong_type() {
    let mut c = Checks::new("set_corrupt_members_and_wrong_type");
    let (_server, store, mut con) = start().await;
    let id = s("c");
    let nums = store.set::<Nums>(&id);
    let _ = nums.add_many(&(1..=50).collect::<Vec<u64>>()).await;
    let key = store.key::<Nums>(&id).unwrap();
    let bad = ["abc", "-1", "18446744073709551616", "1.5", ""];
    for b in bad {
        let _: i64 = raw!(&mut con, "SADD", &key, b).unwrap();
    }
    let r = nums.members().await;
    c.check(
        kind_of(&r) == "decode",
        format!(
            "members() with corrupt members is Error::Decode: {}",
            show(&r)
        ),
    );
    if let Err(e) = &r {
        let text = format!("{e} {e:?}");
        c.check(
            !text.contains("18446744073709551616") && !text.contains("abc"),
            format!("the decode error does not quote the stored bytes: {text}"),
        );
    }
    let items: Vec<Result<u64, Error>> = tokio::time::timeout(Duration::from_secs(10), async {
        nums.scan().collect::<Vec<_>>().await
    })
    .await
    .unwrap_or_default();
    let oks: BTreeSet<u64> = items
        .iter()
        .filter_map(|r| r.as_ref().ok().copied())
        .collect();
    let errs = items
        .iter()
        .filter(|r| matches!(r, Err(Error::Decode(_))))
        .count();
    c.check(
        oks == (1..=50).collect::<BTreeSet<u64>>(),
        format!(
            "scan goes on past corrupt members: {} good of 50",
            oks.len()
        ),
    );
    c.check(
        errs == bad.len(),
        format!(
            "scan yields one Decode error per corrupt member: {errs} of {}",
            bad.len()
        ),
    );
    c.check(
        matches!(nums.contains(&7).await, Ok(true)),
        "contains still works beside corrupt members",
    );

    // A key of another Redis type: typed WrongType, nothing applied, no TTL
    // armed on the foreign key by the TTL-arming transaction.
    let wid = s("wrong");
    let names = store.set::<Names>(&wid);
    let wkey = store.key::<Names>(&wid).unwrap();
    let _: () = raw!(&mut con, "SET", &wkey, "a string").unwrap();
    let r = names.add(&s("m")).await;
    c.check(
        kind_of(&r) == "wrong_type",
        format!("add on a string key is WrongType: {}", show(&r)),
    );
    if let Err(e) = &r {
        c.check(
            e.outcome() == Outcome::NotApplied,
            format!("its outcome is NotApplied: {:?}", e.outcome()),
        );
    }
    let r = names.add_many(&[s("m"), s("n")]).await;
    c.check(
        kind_of(&r) == "wrong_type",
        format!("add_many on a string key is WrongType: {}", show(&r)),
    );
    let v: String = raw!(&mut con, "GET", &wkey).unwrap();
    c.check(v == "a string", "the foreign value is untouched");
    for (what, r) in [
        ("members", kind_of(&names.members().await)),
        ("len", kind_of(&names.len().await)),
        ("contains", kind_of(&names.contains(&s("m")).await)),
        ("pop", kind_of(&names.pop().await)),
        ("remove", kind_of(&names.remove(&s("m")).await)),
    ] {
        c.check(
            r == "wrong_type",
            format!("{what} on a string key is WrongType: {r}"),
        );
    }
    let items: Vec<_> = tokio::time::timeout(BOUND, names.scan().collect::<Vec<_>>())
        .await
        .unwrap_or_default();
    c.check(
        items.len() == 1 && matches!(items[0], Err(Error::WrongType { .. })),
        format!(
            "scan of a string key yields one WrongType and ends: {:?}",
            items.iter().map(kind_of).collect::<Vec<_>>()
        ),
    );
    c.finish();
}

// ---------------------------------------------------------------------------
// sorted sets

#[tokio::test]
async fn sorted_set_integer_scores_are_never_rounded() {
    let mut c = Checks::new("sorted_set_integer_scores_are_never_rounded");
    let (_server, store, mut con) = start().await;
    let id = s("ints");
    let board = store.sorted_set::<Board>(&id);
    let max = 1u64 << 53;
    let r = board.add(&s("top"), max).await;
    c.check(
        matches!(r, Ok(true)),
        format!("2^53 is accepted: {}", show(&r)),
    );
    c.check(
        matches!(board.score(&s("top")).await, Ok(Some(v)) if v == max),
        "2^53 reads back exactly",
    );
    let r = board.add(&s("over"), max + 1).await;
    c.check(
        kind_of(&r) == "encode",
        format!("2^53+1 is refused with Encode: {}", show(&r)),
    );
    c.check(
        matches!(board.score(&s("over")).await, Ok(None)),
        "the refused member was not written",
    );
    let r = board.add(&s("maxu"), u64::MAX).await;
    c.check(
        kind_of(&r) == "encode",
        format!("u64::MAX is refused: {}", show(&r)),
    );
    let r = board
        .add_many(&[(&s("ok1"), 1), (&s("bad"), max + 2)])
        .await;
    c.check(
        kind_of(&r) == "encode",
        format!(
            "add_many with one score beyond 2^53 is refused: {}",
            show(&r)
        ),
    );
    c.check(
        matches!(board.score(&s("ok1")).await, Ok(None)),
        "add_many refused as a whole (nothing written)",
    );

    // Stored scores the type cannot hold: decode errors, never rounded.
    let key = store.key::<Board>(&id).unwrap();
    for (member, score) in [
        ("neg", "-5"),
        ("frac", "1.5"),
        ("huge", "1e300"),
        ("inf", "+inf"),
        ("big", "9007199254740994"),
    ] {
        let _: i64 = raw!(&mut con, "ZADD", &key, score, member).unwrap();
        let r = board.score(&s(member)).await;
        c.check(
            kind_of(&r) == "decode",
            format!("stored score {score} reads as Decode: {}", show(&r)),
        );
    }
    let r = board.range(0, -1, Order::Ascending).await;
    c.check(
        kind_of(&r) == "decode",
        format!("range over undecodable scores is Decode: {}", show(&r)),
    );
    c.finish();
}

#[tokio::test]
async fn sorted_set_incr_past_exact_range() {
    let mut c = Checks::new("sorted_set_incr_past_exact_range");
    let (_server, store, _con) = start().await;
    let id = s("incr");
    let board = store.sorted_set::<Board>(&id);
    let max = 1u64 << 53;
    let _ = board.add(&s("a"), max).await;
    let r = board.incr(&s("a"), 1).await;
    c.note(format!("incr(2^53, 1) -> {}", show(&r)));
    c.check(
        !matches!(r, Ok(v) if v == max),
        format!(
            "incr whose true result (2^53+1) the type cannot hold is not a silently rounded Ok: {}",
            show(&r)
        ),
    );
    let r = board.incr(&s("b"), max + 1).await;
    c.check(
        kind_of(&r) == "encode",
        format!("incr by more than 2^53 is refused: {}", show(&r)),
    );
    c.finish();
}

#[tokio::test]
async fn sorted_set_float_scores_and_ranges() {
    let mut c = Checks::new("sorted_set_float_scores_and_ranges");
    let (_server, store, mut con) = start().await;
    let id = s("f");
    let load = store.sorted_set::<Load>(&id);
    let r = load.add(&s("nan"), f64::NAN).await;
    c.check(
        r.is_err() && kind_of(&r) != "other",
        format!("a NaN score is a typed refusal: {}", show(&r)),
    );
    c.check(
        matches!(load.len().await, Ok(0)),
        "the NaN member was not written",
    );
    for (m, v) in [
        ("inf", f64::INFINITY),
        ("-inf", f64::NEG_INFINITY),
        ("tenth", 0.1),
        ("third", 1.0 / 3.0),
        ("tiny", 5e-324),
        ("max", f64::MAX),
        ("min", f64::MIN),
        ("zero", 0.0),
    ] {
        let r = load.add(&s(m), v).await;
        c.check(r.is_ok(), format!("add {m}={v:e}: {}", show(&r)));
        let back = load.score(&s(m)).await;
        c.check(
            matches!(back, Ok(Some(x)) if x == v || (x.is_nan() && v.is_nan())),
            format!("{m}={v:e} reads back exactly: {}", show(&back)),
        );
    }
    let r = load.incr(&s("inf"), f64::NEG_INFINITY).await;
    c.check(
        matches!(kind_of(&r), "server" | "encode"),
        format!("inf + -inf (NaN) is a typed error: {}", show(&r)),
    );
    c.check(
        matches!(load.score(&s("inf")).await, Ok(Some(x)) if x == f64::INFINITY),
        "and changes nothing",
    );
    let r = load
        .range_by_score(
            Bound::Inclusive(f64::NAN),
            Bound::Unbounded,
            Order::Ascending,
            None,
        )
        .await;
    c.check(
        r.is_err() && kind_of(&r) != "other",
        format!("a NaN bound is a typed refusal: {}", show(&r)),
    );
    let all = load
        .range(0, -1, Order::Ascending)
        .await
        .unwrap_or_default();
    c.check(
        all.first().map(|(m, _)| m.as_str()) == Some("-inf")
            && all.last().map(|(m, _)| m.as_str()) == Some("inf"),
        "range orders -inf first and inf last",
    );

    // Ranges with small numbers.
    let nid = s("r");
    let z = store.sorted_set::<Board>(&nid);
    let entries: Vec<(String, u64)> = (1..=10).map(|i| (format!("m{i:02}"), i)).collect();
    let refs: Vec<(&String, u64)> = entries.iter().map(|(m, v)| (m, *v)).collect();
    let _ = z.add_many(&refs).await;
    let top0 = z.top(0).await;
    c.check(
        matches!(&top0, Ok(v) if v.is_empty()),
        format!("top(0) is empty: {}", show(&top0)),
    );
    let top2 = z.top(2).await.unwrap_or_default();
    c.check(
        top2 == vec![(s("m10"), 10), (s("m09"), 9)],
        format!("top(2) is the highest two, highest first: {top2:?}"),
    );
    let store2 = store.clone();
    let nid2 = nid.clone();
    let r = guarded(async move { store2.sorted_set::<Board>(&nid2).top(u64::MAX).await }).await;
    c.check(
        matches!(&r, Ok(Ok(v)) if v.len() == 10),
        format!(
            "top(u64::MAX) is everything, no panic: {:?}",
            r.as_ref().map(show)
        ),
    );
    let r = z.range(5, 2, Order::Ascending).await;
    c.check(matches!(&r, Ok(v) if v.is_empty()), "range(5, 2) is empty");
    let r = z.range(-2, -1, Order::Descending).await.unwrap_or_default();
    c.check(
        r.len() == 2,
        format!("range(-2, -1, Descending) has two entries: {r:?}"),
    );
    let r = z.range(i64::MIN, i64::MAX, Order::Ascending).await;
    c.check(
        matches!(&r, Ok(v) if v.len() == 10),
        format!("range(i64::MIN, i64::MAX) is everything: {}", show(&r)),
    );
    let r = z
        .range_by_score(
            Bound::Inclusive(5),
            Bound::Unbounded,
            Order::Descending,
            None,
        )
        .await
        .unwrap_or_default();
    let scores: Vec<u64> = r.iter().map(|(_, v)| *v).collect();
    c.check(
        scores == vec![10, 9, 8, 7, 6, 5],
        format!("range_by_score(>=5, Descending) is 10..=5: {scores:?}"),
    );
    let r = z
        .range_by_score(
            Bound::Exclusive(2),
            Bound::Exclusive(6),
            Order::Ascending,
            Some((1, 2)),
        )
        .await
        .unwrap_or_default();
    let scores: Vec<u64> = r.iter().map(|(_, v)| *v).collect();
    c.check(
        scores == vec![4, 5],
        format!("range_by_score((2, 6), limit (1, 2)) is [4, 5]: {scores:?}"),
    );
    let r = z
        .range_by_score(
            Bound::Unbounded,
            Bound::Unbounded,
            Order::Ascending,
            Some((0, 0)),
        )
        .await;
    c.check(
        matches!(&r, Ok(v) if v.is_empty()),
        format!("limit (0, 0) returns nothing: {}", show(&r)),
    );
    let r = z.count(Bound::Exclusive(1), Bound::Exclusive(3)).await;
    c.check(
        matches!(r, Ok(1)),
        format!("count((1, 3)) is 1: {}", show(&r)),
    );
    c.check(
        matches!(z.rank(&s("m01")).await, Ok(Some(0))),
        "rank of the lowest is 0",
    );
    c.check(
        matches!(z.rank_rev(&s("m01")).await, Ok(Some(9))),
        "rank_rev of the lowest is 9",
    );
    c.check(
        matches!(z.rank(&s("nope")).await, Ok(None)),
        "rank of missing is None",
    );
    let r = z.scores(&[]).await;
    c.check(
        matches!(&r, Ok(v) if v.is_empty()),
        format!("scores(&[]) is empty: {}", show(&r)),
    );
    let r = z.scores(&[s("m03"), s("nope")]).await;
    c.check(
        matches!(&r, Ok(v) if v == &vec![Some(3), None]),
        format!("scores in order, None for missing: {}", show(&r)),
    );
    let r = z.remove_by_rank(-2, -1).await;
    c.check(
        matches!(r, Ok(2)),
        format!("remove_by_rank(-2, -1) removes 2: {}", show(&r)),
    );
    let r = z
        .remove_by_score(Bound::Unbounded, Bound::Inclusive(2))
        .await;
    c.check(
        matches!(r, Ok(2)),
        format!("remove_by_score(..=2) removes 2: {}", show(&r)),
    );
    let r = z.pop_min().await;
    c.check(
        matches!(&r, Ok(Some((m, 3))) if m == "m03"),
        format!("pop_min is the lowest: {}", show(&r)),
    );
    let r = z.pop_max().await;
    c.check(
        matches!(&r, Ok(Some((m, 8))) if m == "m08"),
        format!("pop_max is the highest: {}", show(&r)),
    );
    let empty = s("empty");
    let e = store.sorted_set::<Board>(&empty);
    c.check(
        matches!(e.pop_min().await, Ok(None)),
        "pop_min of absent is None",
    );
    c.check(
        matches!(e.pop_max().await, Ok(None)),
        "pop_max of absent is None",
    );
    c.check(
        matches!(e.top(3).await, Ok(v) if v.is_empty()),
        "top of absent is empty",
    );
    let r = e.add_many(&[]).await;
    c.check(
        matches!(r, Ok(0)),
        format!("add_many(&[]) is 0: {}", show(&r)),
    );
    c.check(
        matches!(store.exists::<Board>(&empty).await, Ok(false)),
        "add_many(&[]) creates nothing",
    );

    // ZADD conditions.
    let cid = s("cond");
    let z = store.sorted_set::<Board>(&cid);
    let _ = z.add(&s("a"), 5).await;
    let r = z
        .add_with(&s("a"), 9, ZAdd::new().only_new().if_greater())
        .await;
    c.check(
        matches!(kind_of(&r), "server"),
        format!("NX with GT is refused by the server: {}", show(&r)),
    );
    c.check(
        matches!(z.score(&s("a")).await, Ok(Some(5))),
        "the refused NX+GT changed nothing",
    );
    let r = z.add_with(&s("a"), 3, ZAdd::new().if_greater()).await;
    c.check(
        matches!(r, Ok(false)),
        format!("GT with a lower score is false: {}", show(&r)),
    );
    let r = z.add_with(&s("a"), 7, ZAdd::new().if_greater()).await;
    c.check(
        matches!(r, Ok(true)),
        format!("GT with a higher score is true: {}", show(&r)),
    );
    let r = z.add_with(&s("new"), 1, ZAdd::new().only_existing()).await;
    c.check(
        matches!(r, Ok(false)),
        format!("XX on a new member is false: {}", show(&r)),
    );
    c.check(
        matches!(z.score(&s("new")).await, Ok(None)),
        "XX did not add the member",
    );
    let r = z.add_with(&s("a"), 7, ZAdd::new()).await;
    c.check(
        matches!(r, Ok(false)),
        format!("same score is no change: {}", show(&r)),
    );

    // Lexicographic ranges with members that look like range syntax.
    let lid = s("lex");
    let lex = store.sorted_set::<Load>(&lid);
    let members = ["a", "b", "c", "(y", "[x", "-", "+"];
    for m in members {
        let _ = lex.add(&s(m), 0.0).await;
    }
    let (lo, hi) = (s("("), s("-"));
    let r = lex
        .range_by_lex(
            Bound::Inclusive(&lo),
            Bound::Inclusive(&hi),
            Order::Ascending,
            None,
        )
        .await;
    c.check(
        matches!(&r, Ok(v) if v == &vec![s("(y"), s("+"), s("-")]),
        format!("range_by_lex([\"(\", \"-\"]) in byte order: {}", show(&r)),
    );
    let b = s("b");
    let r = lex
        .range_by_lex(
            Bound::Exclusive(&b),
            Bound::Unbounded,
            Order::Descending,
            None,
        )
        .await;
    c.check(
        matches!(&r, Ok(v) if v == &vec![s("c")]),
        format!("range_by_lex((b, +), Descending) is [c]: {}", show(&r)),
    );
    let r = lex
        .range_by_lex(
            Bound::Unbounded,
            Bound::Unbounded,
            Order::Descending,
            Some((1, 2)),
        )
        .await;
    c.check(
        matches!(&r, Ok(v) if v == &vec![s("b"), s("a")]),
        format!(
            "range_by_lex(all, Descending, (1, 2)) is [b, a]: {}",
            show(&r)
        ),
    );
    let _ = &mut con;
    c.finish();
}

// ---------------------------------------------------------------------------
// counters and the rate limit

#[tokio::test]
async fn counter_edges() {
    let mut c = Checks::new("counter_edges");
    let (_server, store, mut con) = start().await;
    let id = s("c");
    let hits = store.counter::<Hits>(&id);
    let key = store.key::<Hits>(&id).unwrap();
    c.check(matches!(hits.get().await, Ok(0)), "absent counter reads 0");
    c.check(
        matches!(hits.incr(5).await, Ok(5)),
        "incr(5) from absent is 5",
    );
    let t = pttl(&mut con, &key).await;
    c.check(
        t > HOUR_MS - 60_000 && t <= HOUR_MS,
        format!("the creating incr armed the 1h TTL (PTTL {t})"),
    );
    let _: i64 = raw!(&mut con, "PEXPIRE", &key, 100_000).unwrap();
    let _ = hits.incr(1).await;
    let _ = hits.decr(1).await;
    let _ = hits.hit(100).await;
    let t = pttl(&mut con, &key).await;
    c.check(
        t > 0 && t <= 100_000,
        format!("later writes never extend the TTL (PTTL {t})"),
    );

    // Overflow: a server error, nothing changes.
    let _ = hits.set(i64::MAX).await;
    let r = hits.incr(1).await;
    c.check(
        kind_of(&r) == "server",
        format!("incr past i64::MAX is Error::Server: {}", show(&r)),
    );
    c.check(
        matches!(hits.get().await, Ok(i64::MAX)),
        "the overflowing incr changed nothing",
    );
    let _ = hits.set(i64::MIN).await;
    let r = hits.decr(1).await;
    c.check(
        kind_of(&r) == "server",
        format!("decr below i64::MIN is Error::Server: {}", show(&r)),
    );
    let r = hits.incr(i64::MIN).await;
    c.check(
        kind_of(&r) == "server",
        format!(
            "incr(i64::MIN) from i64::MIN is Error::Server: {}",
            show(&r)
        ),
    );
    c.check(
        matches!(hits.get().await, Ok(i64::MIN)),
        "value still i64::MIN",
    );

    // decr(i64::MIN): the negation overflows in Rust.
    let store2 = store.clone();
    let r = guarded(async move {
        let id = s("negate");
        store2.counter::<Plain>(&id).decr(i64::MIN).await
    })
    .await;
    c.check(
        matches!(&r, Ok(Err(_))),
        format!(
            "decr(i64::MIN) on 0 (result 2^63, beyond i64) is a typed error, no panic: {:?}",
            r.as_ref().map(show)
        ),
    );
    let plain = s("negate");
    c.check(
        matches!(store.counter::<Plain>(&plain).get().await, Ok(0)),
        "and changes nothing",
    );

    // set applies the declared TTL; a counter without one never expires.
    let sid = s("set");
    let _ = store.counter::<Hits>(&sid).set(7).await;
    c.check(
        matches!(store.ttl::<Hits>(&sid).await, Ok(Expiry::In(d)) if d > Duration::from_secs(3500)),
        "set arms the declared TTL",
    );
    let pid = s("p");
    let _ = store.counter::<Plain>(&pid).incr(1).await;
    c.check(
        matches!(store.ttl::<Plain>(&pid).await, Ok(Expiry::Never)),
        "a counter without a ttl never expires",
    );

    // A value that is not an integer: typed errors, nothing changes.
    let bid = s("bad");
    let bkey = store.key::<Hits>(&bid).unwrap();
    let bad = store.counter::<Hits>(&bid);
    let _: () = raw!(&mut con, "SET", &bkey, "abc").unwrap();
    let r = bad.get().await;
    c.check(
        r.is_err() && kind_of(&r) != "other",
        format!("get of a non-integer value is a typed error: {}", show(&r)),
    );
    let r = bad.incr(1).await;
    c.check(
        kind_of(&r) == "server",
        format!("incr of a non-integer value is Error::Server: {}", show(&r)),
    );
    let r = bad.hit(5).await;
    c.check(
        r.is_err(),
        format!("hit on a non-integer value is an error: {}", show(&r)),
    );
    let v: String = raw!(&mut con, "GET", &bkey).unwrap();
    c.check(v == "abc", "the non-integer value is untouched");
    let _: () = raw!(&mut con, "SET", &bkey, "1.5").unwrap();
    let r = bad.get().await;
    c.check(
        r.is_err() && kind_of(&r) != "other",
        format!("get of \"1.5\" is a typed error: {}", show(&r)),
    );

    // A key of another type.
    let wid = s("wrong");
    let wkey = store.key::<Hits>(&wid).unwrap();
    let _: i64 = raw!(&mut con, "HSET", &wkey, "f", "v").unwrap();
    let w = store.counter::<Hits>(&wid);
    for (what, r) in [
        ("get", kind_of(&w.get().await)),
        ("incr", kind_of(&w.incr(1).await)),
        ("hit", kind_of(&w.hit(1).await)),
    ] {
        c.check(
            r == "wrong_type",
            format!("{what} on a hash key is WrongType: {r}"),
        );
    }
    let r = w.set(3).await;
    c.note(format!("set on a hash key -> {}", show(&r)));
    c.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hit_is_exact_under_concurrency() {
    let mut c = Checks::new("hit_is_exact_under_concurrency");
    let (_server, store, mut con) = start().await;
    for round in 0..3 {
        let id = format!("burst{round}");
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let store = store.clone();
            let id = id.clone();
            tasks.push(tokio::spawn(async move {
                store.counter::<Hits>(&id).hit(5).await
            }));
        }
        let mut allowed = 0;
        let mut counts = BTreeSet::new();
        let mut errors = 0;
        let mut consistent = true;
        for t in tasks {
            match t.await.unwrap() {
                Ok(rl) => {
                    if rl.allowed() {
                        allowed += 1;
                        consistent &= rl.retry_after().is_none() && rl.count <= 5;
                    } else {
                        consistent &= rl
                            .retry_after()
                            .is_some_and(|d| d <= Duration::from_secs(3600))
                            && rl.remaining() == 0
                            && rl.count > 5;
                    }
                    consistent &= rl.limit == 5
                        && rl.resets_in.is_some()
                        && rl.remaining() == 5u64.saturating_sub(rl.count);
                    counts.insert(rl.count);
                }
                Err(_) => errors += 1,
            }
        }
        c.check(
            allowed == 5 && errors == 0,
            format!("round {round}: exactly 5 of 20 concurrent hits allowed ({allowed}, {errors} errors)"),
        );
        c.check(
            counts == (1..=20).collect::<BTreeSet<u64>>(),
            format!("round {round}: hit counts are 1..=20, each once"),
        );
        c.check(
            consistent,
            format!("round {round}: allowed/remaining/retry_after agree with count"),
        );
        let key = store.key::<Hits>(&id).unwrap();
        let t = pttl(&mut con, &key).await;
        c.check(
            t > HOUR_MS - 60_000 && t <= HOUR_MS,
            format!("round {round}: the window is the declared 1h (PTTL {t})"),
        );
    }
    let z = s("zero");
    let r = store.counter::<Hits>(&z).hit(0).await;
    c.check(
        matches!(&r, Ok(rl) if !rl.allowed() && rl.remaining() == 0 && rl.retry_after().is_some()),
        format!(
            "hit(0) is never allowed: {}",
            show(&r.map(|rl| (rl.count, rl.allowed())))
        ),
    );
    let m = s("max");
    let r = store.counter::<Hits>(&m).hit(u64::MAX).await;
    c.check(
        matches!(&r, Ok(rl) if rl.allowed() && rl.remaining() == u64::MAX - 1),
        format!(
            "hit(u64::MAX) is allowed: {}",
            show(&r.map(|rl| rl.remaining()))
        ),
    );
    c.finish();
}

#[tokio::test]
async fn hit_window_rolls_over_and_never_loses_its_ttl() {
    let mut c = Checks::new("hit_window_rolls_over_and_never_loses_its_ttl");
    let (_server, store, mut con) = start().await;
    let id = s("w");
    let counter = store.counter::<ShortWindow>(&id);
    let key = store.key::<ShortWindow>(&id).unwrap();
    let a = counter.hit(2).await;
    let t1 = pttl(&mut con, &key).await;
    let b = counter.hit(2).await;
    let d = counter.hit(2).await;
    let t2 = pttl(&mut con, &key).await;
    c.check(
        matches!(&a, Ok(r) if r.allowed() && r.count == 1)
            && matches!(&b, Ok(r) if r.allowed() && r.count == 2)
            && matches!(&d, Ok(r) if !r.allowed() && r.count == 3),
        "hits 1 and 2 pass, hit 3 is denied",
    );
    c.check(
        t1 > 0 && t1 <= 700 && t2 <= t1,
        format!("window armed once at 700 ms and not extended ({t1} then {t2})"),
    );
    if let Ok(r) = &d {
        c.check(
            r.retry_after()
                .is_some_and(|w| w <= Duration::from_millis(700)),
            format!("retry_after within the window: {:?}", r.retry_after()),
        );
    }
    // Wait (bounded) for the window to end, then a new one starts.
    let deadline = Instant::now() + Duration::from_secs(5);
    while matches!(store.exists::<ShortWindow>(&id).await, Ok(true)) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let r = counter.hit(2).await;
    c.check(
        matches!(&r, Ok(rl) if rl.allowed() && rl.count == 1),
        format!(
            "after the window a hit starts a new one: {}",
            show(&r.map(|rl| rl.count))
        ),
    );
    // Hammer across several window boundaries: the key never lives without
    // a TTL (the INCR/EXPIRE race), and every reply has its window.
    let until = Instant::now() + Duration::from_millis(2500);
    let mut hits = 0u64;
    let mut no_ttl = 0u64;
    let mut no_resets = 0u64;
    let mut errors = 0u64;
    while Instant::now() < until {
        match counter.hit(1000).await {
            Ok(rl) => {
                hits += 1;
                if rl.resets_in.is_none() {
                    no_resets += 1;
                }
            }
            Err(_) => errors += 1,
        }
        if pttl(&mut con, &key).await == -1 {
            no_ttl += 1;
        }
    }
    c.check(
        no_ttl == 0 && no_resets == 0 && errors == 0,
        format!("{hits} hits over 3+ windows: {no_ttl} times without TTL, {no_resets} replies without resets_in, {errors} errors"),
    );
    // A persisted counter: the next hit arms a window again.
    let _ = counter.hit(5).await;
    let _ = store.persist::<ShortWindow>(&id).await;
    let r = counter.hit(5).await;
    let t = pttl(&mut con, &key).await;
    c.note(format!(
        "hit after persist -> resets_in {:?}, PTTL {t}",
        r.as_ref().ok().map(|r| r.resets_in)
    ));
    c.check(
        t > 0,
        format!("a hit on a counter without TTL arms a window (PTTL {t})"),
    );
    c.finish();
}

// ---------------------------------------------------------------------------
// maps

#[tokio::test]
async fn map_edges_corruption_and_wrong_type() {
    let mut c = Checks::new("map_edges_corruption_and_wrong_type");
    let (_server, store, mut con) = start().await;
    let id = s("m");
    let map = store.map::<Marks>(&id);
    let key = store.key::<Marks>(&id).unwrap();
    c.check(
        matches!(map.all().await, Ok(v) if v.is_empty()),
        "all() of absent is empty",
    );
    c.check(
        matches!(map.get(&s("x")).await, Ok(None)),
        "get on absent is None",
    );
    c.check(matches!(map.len().await, Ok(0)), "len of absent is 0");
    let r = map.get_many(&[]).await;
    c.check(
        matches!(&r, Ok(v) if v.is_empty()),
        format!("get_many(&[]) is empty: {}", show(&r)),
    );
    let r = map.set_many(&[]).await;
    c.check(
        matches!(r, Ok(0)),
        format!("set_many(&[]) is 0: {}", show(&r)),
    );
    let r = map.remove_many(&[]).await;
    c.check(
        matches!(r, Ok(0)),
        format!("remove_many(&[]) is 0: {}", show(&r)),
    );
    c.check(
        matches!(store.exists::<Marks>(&id).await, Ok(false)),
        "the empty calls created nothing",
    );

    let fields = [
        s("ü"),
        s("a:b"),
        s("*"),
        s("{tag}"),
        s("%2A"),
        "f".repeat(5000),
    ];
    for (i, f) in fields.iter().enumerate() {
        let r = map.set(f, &(i as i64 - 3)).await;
        c.check(
            matches!(r, Ok(true)),
            format!("set odd field #{i}: {}", show(&r)),
        );
    }
    let t = pttl(&mut con, &key).await;
    c.check(
        t > HOUR_MS - 60_000,
        format!("the creating set armed the TTL (PTTL {t})"),
    );
    let all: BTreeMap<String, i64> = map.all().await.unwrap_or_default().into_iter().collect();
    c.check(
        all.len() == fields.len()
            && fields
                .iter()
                .enumerate()
                .all(|(i, f)| all.get(f) == Some(&(i as i64 - 3))),
        "odd fields round-trip through all()",
    );
    let raw_fields: BTreeSet<Vec<u8>> = raw!(&mut con, "HKEYS", &key).unwrap_or_default();
    c.check(
        raw_fields == fields.iter().map(|f| f.as_bytes().to_vec()).collect(),
        "field names are stored unescaped",
    );

    let r = map.set(&s("x"), &i64::MAX).await;
    c.check(r.is_ok(), "set i64::MAX");
    let r = map.incr(&s("x"), 1).await;
    c.check(
        kind_of(&r) == "server",
        format!("incr past i64::MAX is Error::Server: {}", show(&r)),
    );
    c.check(
        matches!(map.get(&s("x")).await, Ok(Some(i64::MAX))),
        "and changes nothing",
    );
    let r = map.incr(&s("fresh"), -7).await;
    c.check(
        matches!(r, Ok(-7)),
        format!("incr of an absent field starts at 0: {}", show(&r)),
    );

    // Corrupt values written by another client.
    let _: i64 = raw!(&mut con, "HSET", &key, "bad", "abc").unwrap();
    let r = map.get(&s("bad")).await;
    c.check(
        kind_of(&r) == "decode",
        format!("get of a corrupt value is Decode: {}", show(&r)),
    );
    if let Err(e) = &r {
        c.check(
            !format!("{e} {e:?}").contains("abc"),
            "the error does not quote the value",
        );
    }
    let r = map.all().await;
    c.check(
        kind_of(&r) == "decode",
        format!("all() with a corrupt value is Decode: {}", show(&r)),
    );
    let r = map.get_many(&[s("x"), s("bad")]).await;
    c.check(
        kind_of(&r) == "decode",
        format!("get_many with a corrupt value is Decode: {}", show(&r)),
    );
    let items: Vec<_> =
        tokio::time::timeout(Duration::from_secs(10), map.scan().collect::<Vec<_>>())
            .await
            .unwrap_or_default();
    let oks = items.iter().filter(|r| r.is_ok()).count();
    let decode = items
        .iter()
        .filter(|r| matches!(r, Err(Error::Decode(_))))
        .count();
    let expected_ok = fields.len() + 2;
    c.check(
        oks == expected_ok && decode == 1,
        format!(
            "scan yields {oks} entries (want {expected_ok}) and {decode} decode error (want 1)"
        ),
    );
    let r = map.incr(&s("bad"), 1).await;
    c.check(
        kind_of(&r) == "server",
        format!("incr of a non-integer is Error::Server: {}", show(&r)),
    );

    // Integer field names that do not decode.
    let lid = s("l");
    let labels = store.map::<Labels>(&lid);
    let _ = labels.set(&1, &s("one")).await;
    let _ = labels.set(&u64::MAX, &s("")).await;
    c.check(
        matches!(labels.get(&u64::MAX).await, Ok(Some(v)) if v.is_empty()),
        "an empty string value round-trips",
    );
    let lkey = store.key::<Labels>(&lid).unwrap();
    let _: i64 = raw!(&mut con, "HSET", &lkey, "not-a-number", "x").unwrap();
    let r = labels.all().await;
    c.check(
        kind_of(&r) == "decode",
        format!("all() with an undecodable field is Decode: {}", show(&r)),
    );
    let items: Vec<_> = labels.scan().collect().await;
    c.check(
        items.iter().filter(|r| r.is_ok()).count() == 2
            && items.iter().filter(|r| r.is_err()).count() == 1,
        "scan skips past the undecodable field as one error item",
    );

    // Wrong type.
    let wid = s("w");
    let wkey = store.key::<Marks>(&wid).unwrap();
    let _: i64 = raw!(&mut con, "SADD", &wkey, "m").unwrap();
    let w = store.map::<Marks>(&wid);
    for (what, r) in [
        ("set", kind_of(&w.set(&s("f"), &1).await)),
        ("incr", kind_of(&w.incr(&s("f"), 1).await)),
        ("get", kind_of(&w.get(&s("f")).await)),
        ("all", kind_of(&w.all().await)),
        ("len", kind_of(&w.len().await)),
    ] {
        c.check(
            r == "wrong_type",
            format!("{what} on a set key is WrongType: {r}"),
        );
    }
    c.finish();
}

// ---------------------------------------------------------------------------
// lists

#[tokio::test]
async fn list_caps_indices_and_corruption() {
    let mut c = Checks::new("list_caps_indices_and_corruption");
    let (_server, store, mut con) = start().await;
    let id = s("h");
    let list = store.list::<Hist>(&id);
    let key = store.key::<Hist>(&id).unwrap();
    let r = list.push_back_many(&[]).await;
    c.check(
        matches!(r, Ok(0)),
        format!("push_back_many(&[]) on absent is 0: {}", show(&r)),
    );
    c.check(
        matches!(store.exists::<Hist>(&id).await, Ok(false)),
        "and creates nothing",
    );
    let items: Vec<Msg> = (0..12).map(msg).collect();
    let r = list.push_back_many(&items).await;
    c.check(
        matches!(r, Ok(5)),
        format!("push_back_many of 12 with cap 5 returns 5: {}", show(&r)),
    );
    let got: Vec<u64> = list
        .range(0, -1)
        .await
        .unwrap_or_default()
        .iter()
        .map(|m| m.n)
        .collect();
    c.check(
        got == vec![7, 8, 9, 10, 11],
        format!("keeps the newest 5 at the back: {got:?}"),
    );
    let t = pttl(&mut con, &key).await;
    c.check(
        t > HOUR_MS - 60_000,
        format!("the creating push armed the TTL (PTTL {t})"),
    );
    let _: i64 = raw!(&mut con, "PEXPIRE", &key, 50_000).unwrap();
    let _ = list.push_front(&msg(100)).await;
    let t = pttl(&mut con, &key).await;
    c.check(
        t > 0 && t <= 50_000,
        format!("later pushes keep the TTL (PTTL {t})"),
    );
    let got: Vec<u64> = list
        .range(0, -1)
        .await
        .unwrap_or_default()
        .iter()
        .map(|m| m.n)
        .collect();
    c.check(
        got == vec![100, 7, 8, 9, 10],
        format!("push_front drops from the back: {got:?}"),
    );
    let r = list.push_back_many(&[]).await;
    c.check(
        matches!(r, Ok(5)),
        format!("push_back_many(&[]) returns the length: {}", show(&r)),
    );

    let fid = s("front");
    let front = store.list::<Hist>(&fid);
    let r = front.push_front_many(&items[..8]).await;
    c.check(
        matches!(r, Ok(5)),
        format!("push_front_many of 8 returns 5: {}", show(&r)),
    );
    let got: Vec<u64> = front
        .range(0, -1)
        .await
        .unwrap_or_default()
        .iter()
        .map(|m| m.n)
        .collect();
    c.check(
        got == vec![7, 6, 5, 4, 3],
        format!("push_front_many keeps the last pushed first: {got:?}"),
    );

    // Indices.
    c.check(
        matches!(list.range(3, 1).await, Ok(v) if v.is_empty()),
        "range(3, 1) is empty",
    );
    c.check(
        matches!(list.range(i64::MIN, i64::MAX).await, Ok(v) if v.len() == 5),
        "range(i64::MIN, i64::MAX) is everything",
    );
    c.check(
        matches!(list.get(i64::MIN).await, Ok(None)),
        "get(i64::MIN) is None",
    );
    c.check(
        matches!(list.get(i64::MAX).await, Ok(None)),
        "get(i64::MAX) is None",
    );
    c.check(
        matches!(list.get(-1).await, Ok(Some(m)) if m.n == 10),
        "get(-1) is the back",
    );
    let r = list.set(99, &msg(1)).await;
    c.check(
        kind_of(&r) == "server",
        format!("set out of range is Error::Server: {}", show(&r)),
    );
    let aid = s("absent");
    let r = store.list::<Hist>(&aid).set(0, &msg(1)).await;
    c.check(
        kind_of(&r) == "server",
        format!("set on an absent list is Error::Server: {}", show(&r)),
    );
    c.check(
        matches!(store.exists::<Hist>(&aid).await, Ok(false)),
        "and creates nothing",
    );
    let r = list.pop_front_many(0).await;
    c.check(
        matches!(&r, Ok(v) if v.is_empty()),
        format!("pop_front_many(0) is empty: {}", show(&r)),
    );
    c.check(
        matches!(list.len().await, Ok(5)),
        "pop_front_many(0) removed nothing",
    );
    let store2 = store.clone();
    let id2 = id.clone();
    let r = guarded(async move { store2.list::<Hist>(&id2).pop_back_many(1000).await }).await;
    let got: Option<Vec<u64>> = match &r {
        Ok(Ok(v)) => Some(v.iter().map(|m| m.n).collect()),
        _ => None,
    };
    c.check(
        got == Some(vec![10, 9, 8, 7, 100]),
        format!(
            "pop_back_many(1000) is everything, back first: {got:?} {:?}",
            r.as_ref().map(show)
        ),
    );

    // remove by exact bytes, from either end.
    let rid = s("rm");
    let rm = store.list::<Hist>(&rid);
    let _ = rm.push_back_many(&[msg(1), msg(2), msg(1), msg(1)]).await;
    let r = rm.remove(&msg(1), -1).await;
    c.check(matches!(r, Ok(1)), "remove(x, -1) removes one");
    let got: Vec<u64> = rm
        .range(0, -1)
        .await
        .unwrap_or_default()
        .iter()
        .map(|m| m.n)
        .collect();
    c.check(got == vec![1, 2, 1], format!("from the back: {got:?}"));
    let r = rm.remove(&msg(1), 0).await;
    c.check(matches!(r, Ok(2)), "remove(x, 0) removes every copy");
    let r = rm.remove(&msg(1), i64::MIN).await;
    c.check(
        matches!(r, Ok(0)),
        format!("remove(x, i64::MIN) is fine: {}", show(&r)),
    );
    let r = rm.trim(3, 1).await;
    c.check(r.is_ok(), "trim with an empty range");
    c.check(
        matches!(store.exists::<Hist>(&rid).await, Ok(false)),
        "an empty trim deletes the list",
    );

    // A large item round-trips.
    let bid = s("big");
    let big = Msg {
        n: 1,
        text: "ü\"\\\0".repeat(200_000),
    };
    let _ = store.list::<Hist>(&bid).push_back(&big).await;
    c.check(
        matches!(store.list::<Hist>(&bid).get(0).await, Ok(Some(m)) if m == big),
        "a 1 MB item with quotes, backslashes and NULs round-trips",
    );

    // Corrupt items.
    let cid = s("corrupt");
    let ckey = store.key::<Hist>(&cid).unwrap();
    let corrupt = store.list::<Hist>(&cid);
    let _ = corrupt.push_back(&msg(1)).await;
    let _: i64 = raw!(&mut con, "RPUSH", &ckey, "not json").unwrap();
    let _: i64 = raw!(&mut con, "RPUSH", &ckey, "{\"n\":-1,\"text\":\"x\"}").unwrap();
    c.check(
        kind_of(&corrupt.range(0, -1).await) == "decode",
        "range over corrupt items is Decode",
    );
    c.check(
        kind_of(&corrupt.get(1).await) == "decode",
        "get of a corrupt item is Decode",
    );
    c.check(
        kind_of(&corrupt.pop_back().await) == "decode",
        "pop_back of a corrupt item is Decode",
    );
    c.check(
        matches!(corrupt.len().await, Ok(2)),
        "the corrupt item was removed by the pop",
    );

    // Wrong type.
    let wid = s("w");
    let wkey = store.key::<Hist>(&wid).unwrap();
    let _: () = raw!(&mut con, "SET", &wkey, "x").unwrap();
    let w = store.list::<Hist>(&wid);
    for (what, r) in [
        ("push_back", kind_of(&w.push_back(&msg(1)).await)),
        (
            "push_front_many",
            kind_of(&w.push_front_many(&[msg(1)]).await),
        ),
        ("range", kind_of(&w.range(0, -1).await)),
        ("len", kind_of(&w.len().await)),
        ("pop_front", kind_of(&w.pop_front().await)),
    ] {
        c.check(
            r == "wrong_type",
            format!("{what} on a string key is WrongType: {r}"),
        );
    }
    c.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_waits() {
    let mut c = Checks::new("blocking_waits");
    let server = RedisServer::start().unwrap();
    let config = server
        .config_builder()
        .connect_timeout(Duration::from_millis(500))
        .response_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let store = Store::connect(&config).await.unwrap();
    let id = s("b");
    let list = store.list::<Hist>(&id);

    let t0 = Instant::now();
    let r = list.pop_front_blocking(Duration::from_millis(1500)).await;
    let took = t0.elapsed();
    c.check(
        matches!(r, Ok(None))
            && took >= Duration::from_millis(1400)
            && took < Duration::from_millis(1500 + 1000 + 1000),
        format!(
            "a 1.5 s wait beyond the 0.5 s response timeout is not a timeout: {} after {took:?}",
            show(&r)
        ),
    );
    for wait in [Duration::ZERO, Duration::from_nanos(1)] {
        let store2 = store.clone();
        let id2 = id.clone();
        let t0 = Instant::now();
        let r =
            guarded(async move { store2.list::<Hist>(&id2).pop_back_blocking(wait).await }).await;
        c.check(
            matches!(&r, Ok(Ok(None))) && t0.elapsed() < Duration::from_secs(3),
            format!("pop_back_blocking({wait:?}) returns None promptly (never blocks forever): {:?} after {:?}", r.as_ref().map(show), t0.elapsed()),
        );
    }
    let _ = list.push_back(&msg(1)).await;
    let store2 = store.clone();
    let id2 = id.clone();
    let r = guarded(async move {
        store2
            .list::<Hist>(&id2)
            .pop_front_blocking(Duration::MAX)
            .await
    })
    .await;
    c.check(
        matches!(&r, Ok(Ok(Some(_))) | Ok(Err(_))),
        format!("pop_front_blocking(Duration::MAX) with an item: the item or a typed error, no panic or hang: {:?}", r.as_ref().map(show)),
    );

    // An item pushed during the wait is received; other calls go on.
    let _ = list.trim(1, 0).await;
    let store2 = store.clone();
    let id2 = id.clone();
    let waiter = tokio::spawn(async move {
        let t0 = Instant::now();
        let r = store2
            .list::<Hist>(&id2)
            .pop_front_blocking(Duration::from_secs(3))
            .await;
        (r, t0.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let t0 = Instant::now();
    let other = s("other");
    let r = store.counter::<Plain>(&other).incr(1).await;
    c.check(
        r.is_ok() && t0.elapsed() < Duration::from_millis(300),
        format!(
            "other calls are not held up by a blocked pop ({:?})",
            t0.elapsed()
        ),
    );
    let _ = list.push_back(&msg(42)).await;
    let (r, took) = waiter.await.unwrap();
    c.check(
        matches!(&r, Ok(Some(m)) if m.n == 42) && took < Duration::from_secs(2),
        format!(
            "the waiting pop receives the pushed item: {} after {took:?}",
            show(&r)
        ),
    );

    // Queue: a zero wait on an empty queue returns promptly.
    let q = s("q");
    let store2 = store.clone();
    let t0 = Instant::now();
    let r = guarded(async move {
        store2
            .list::<Q>(&q)
            .take_blocking("w", Duration::ZERO)
            .await
            .map(|d| d.map(|d| d.into_item()))
    })
    .await;
    c.check(
        matches!(&r, Ok(Ok(None))) && t0.elapsed() < Duration::from_secs(3),
        format!(
            "take_blocking(ZERO) on an empty queue returns None promptly: {:?}",
            r.as_ref().map(show)
        ),
    );
    c.finish();
}

// ---------------------------------------------------------------------------
// reliable queues

fn ns(ds: &[redis_runtime::collection::Delivery<Msg>]) -> Vec<u64> {
    ds.iter().map(|d| d.item().n).collect()
}

#[tokio::test]
async fn queue_semantics() {
    let mut c = Checks::new("queue_semantics");
    let (_server, store, mut con) = start().await;
    let qid = s("main");
    let q = store.list::<Q>(&qid);
    c.check(
        matches!(q.take("c1").await, Ok(None)),
        "take from an empty queue is None",
    );
    let r = q.enqueue_many(&[]).await;
    c.check(
        matches!(r, Ok(0)),
        format!("enqueue_many(&[]) is 0: {}", show(&r)),
    );
    c.check(
        matches!(q.in_flight("nobody").await, Ok(v) if v.is_empty()),
        "in_flight of an unknown consumer is empty",
    );
    c.check(
        matches!(q.recover("nobody").await, Ok(0)),
        "recover of an unknown consumer is 0",
    );
    let r = q.enqueue_many(&(1..=5).map(msg).collect::<Vec<_>>()).await;
    c.check(
        matches!(r, Ok(5)),
        format!("enqueue_many returns the length: {}", show(&r)),
    );

    let d1 = q.take("c1").await.ok().flatten();
    let d2 = q.take("c1").await.ok().flatten();
    let d3 = q.take("c2").await.ok().flatten();
    c.check(
        d1.as_ref().map(|d| d.item().n) == Some(1)
            && d2.as_ref().map(|d| d.item().n) == Some(2)
            && d3.as_ref().map(|d| d.item().n) == Some(3),
        "FIFO: takes return 1, 2, 3",
    );
    c.check(
        d1.as_ref().map(|d| d.consumer()) == Some("c1"),
        "delivery names its consumer",
    );
    let f = q.in_flight("c1").await.unwrap_or_default();
    c.check(
        ns(&f) == vec![1, 2],
        format!("in_flight(c1) oldest first: {:?}", ns(&f)),
    );
    let r = q.recover("c1").await;
    c.check(
        matches!(r, Ok(2)),
        format!("recover(c1) moves 2: {}", show(&r)),
    );
    c.check(
        matches!(q.in_flight("c1").await, Ok(v) if v.is_empty()),
        "c1 holds nothing after recover",
    );
    if let Some(d1) = &d1 {
        c.check(
            matches!(q.ack(d1).await, Ok(false)),
            "ack of a recovered delivery is false",
        );
        c.check(
            matches!(q.requeue(d1).await, Ok(false)),
            "requeue of a recovered delivery is false",
        );
    }
    let mut order = Vec::new();
    while let Ok(Some(d)) = q.take("c3").await {
        order.push(d.item().n);
        let _ = q.ack(&d).await;
        if order.len() > 10 {
            break;
        }
    }
    c.check(
        order == vec![1, 2, 4, 5],
        format!("recovered items come first, in the order taken: {order:?}"),
    );

    // ack twice, requeue after ack, requeue in flight.
    if let Some(d3) = d3 {
        c.check(matches!(q.ack(&d3).await, Ok(true)), "first ack is true");
        c.check(matches!(q.ack(&d3).await, Ok(false)), "second ack is false");
        c.check(
            matches!(q.requeue(&d3).await, Ok(false)),
            "requeue after ack is false",
        );
        c.check(matches!(q.len().await, Ok(0)), "and pushes nothing");
    }
    let _ = q.enqueue_many(&[msg(10), msg(11)]).await;
    if let Ok(Some(d)) = q.take("c4").await {
        c.check(
            matches!(q.requeue(&d).await, Ok(true)),
            "requeue of an in-flight delivery is true",
        );
        c.check(
            matches!(q.requeue(&d).await, Ok(false)),
            "a second requeue is false (never a second copy)",
        );
        let items: Vec<u64> = q
            .range(0, -1)
            .await
            .unwrap_or_default()
            .iter()
            .map(|m| m.n)
            .collect();
        c.check(
            items == vec![11, 10],
            format!("requeue puts it at the back: {items:?}"),
        );
    }
    let _ = q.trim(1, 0).await;

    // Duplicate items: each ack removes exactly one copy.
    let _ = q.enqueue_many(&[msg(7), msg(7)]).await;
    let a = q.take("dup").await.ok().flatten();
    let b = q.take("dup").await.ok().flatten();
    if let (Some(a), Some(b)) = (a, b) {
        c.check(
            matches!(q.ack(&a).await, Ok(true)),
            "ack of the first of two equal items",
        );
        c.check(
            matches!(q.in_flight("dup").await, Ok(v) if v.len() == 1),
            "removes exactly one copy",
        );
        let again = q.ack(&a).await;
        c.note(format!(
            "acking the SAME delivery again while an equal item is in flight -> {} (docs: `false` when acknowledged already)",
            show(&again)
        ));
        let last = q.ack(&b).await;
        c.note(format!(
            "then acking the other equal delivery -> {}",
            show(&last)
        ));
        c.check(
            matches!(q.in_flight("dup").await, Ok(v) if v.is_empty()),
            "both copies gone after the acks",
        );
    } else {
        c.check(false, "two equal items could be taken");
    }

    // Consumer names are key parts: odd ones stay apart.
    let names = ["w", "w*", "w:1", "ü", "w?", "[w]"];
    let _ = q
        .enqueue_many(&(0..names.len() as u64).map(msg).collect::<Vec<_>>())
        .await;
    for n in names {
        let r = q.take(n).await;
        c.check(matches!(r, Ok(Some(_))), format!("take by consumer {n:?}"));
    }
    for n in names {
        let r = q.in_flight(n).await;
        c.check(
            matches!(&r, Ok(v) if v.len() == 1),
            format!("in_flight({n:?}) holds exactly its one item"),
        );
    }
    let r = q.recover("w*").await;
    c.check(
        matches!(r, Ok(1)),
        format!("recover(\"w*\") moves only its own item: {}", show(&r)),
    );
    for n in names {
        let _ = q.recover(n).await;
    }
    let _ = q.trim(1, 0).await;
    let r = q.take("").await;
    c.check(
        kind_of(&r.map(|d| d.map(|d| d.into_item()))) == "invalid_key_part",
        "an empty consumer name is InvalidKeyPart",
    );
    let r = q.recover("").await;
    c.check(
        kind_of(&r) == "invalid_key_part",
        format!("recover(\"\") is InvalidKeyPart: {}", show(&r)),
    );

    // A corrupt item: Decode, and it stays in flight (recover puts it back).
    let key = store.key::<Q>(&qid).unwrap();
    let _: i64 = raw!(&mut con, "RPUSH", &key, "garbage").unwrap();
    let r = q.take("cx").await;
    c.check(
        matches!(r, Err(Error::Decode(_))),
        "taking a corrupt item is Error::Decode",
    );
    c.check(
        matches!(q.len().await, Ok(0)),
        "the corrupt item left the queue",
    );
    let r = q.in_flight("cx").await;
    c.note(format!(
        "in_flight of a consumer holding a corrupt item -> {}",
        show(&r.map(|v| v.len()))
    ));
    let r = q.recover("cx").await;
    c.check(
        matches!(r, Ok(1)),
        format!("and it is in flight: recover moves it back: {}", show(&r)),
    );
    c.check(matches!(q.len().await, Ok(1)), "nothing lost");

    // Wrong type.
    let wid = s("wrong");
    let wkey = store.key::<Q>(&wid).unwrap();
    let _: () = raw!(&mut con, "SET", &wkey, "x").unwrap();
    let w = store.list::<Q>(&wid);
    c.check(
        kind_of(&w.enqueue(&msg(1)).await) == "wrong_type",
        "enqueue on a string key is WrongType",
    );
    let r = w.take("c").await.map(|d| d.map(|d| d.into_item()));
    c.check(
        kind_of(&r) == "wrong_type",
        format!("take on a string key is WrongType: {}", show(&r)),
    );
    let r = w
        .take_blocking("c", Duration::from_millis(100))
        .await
        .map(|d| d.map(|d| d.into_item()));
    c.check(
        kind_of(&r) == "wrong_type",
        format!("take_blocking on a string key is WrongType: {}", show(&r)),
    );
    c.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn queue_concurrent_nothing_lost_nothing_duplicated() {
    let mut c = Checks::new("queue_concurrent_nothing_lost_nothing_duplicated");
    let (_server, store, _con) = start().await;
    let qid = s("busy");
    const PRODUCERS: u64 = 4;
    const PER: u64 = 250;
    const TOTAL: u64 = PRODUCERS * PER;
    let acked: Arc<Mutex<Vec<u64>>> = Arc::new(Mutex::new(Vec::new()));
    let errors: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    let deadline = Instant::now() + Duration::from_secs(90);

    let mut tasks = Vec::new();
    for p in 0..PRODUCERS {
        let store = store.clone();
        let qid = qid.clone();
        let errors = errors.clone();
        tasks.push(tokio::spawn(async move {
            let q = store.list::<Q>(&qid);
            let base = p * PER;
            let mut i = 0;
            while i < PER {
                let r = if i % 3 == 0 && i + 5 <= PER {
                    let batch: Vec<Msg> = (0..5).map(|k| msg(base + i + k)).collect();
                    i += 5;
                    q.enqueue_many(&batch).await
                } else {
                    i += 1;
                    q.enqueue(&msg(base + i - 1)).await
                };
                if let Err(e) = r {
                    errors.lock().unwrap().push(format!("enqueue: {e}"));
                }
            }
        }));
    }
    // A consumer that dies holding items, and a recoverer working while
    // others take.
    let dead_took = Arc::new(Mutex::new(0u64));
    {
        let store = store.clone();
        let qid = qid.clone();
        let dead_took = dead_took.clone();
        tasks.push(tokio::spawn(async move {
            let q = store.list::<Q>(&qid);
            let mut n = 0;
            while n < 60 && Instant::now() < deadline {
                if let Ok(Some(_d)) = q.take("dead").await {
                    n += 1;
                } else {
                    tokio::task::yield_now().await;
                }
            }
            *dead_took.lock().unwrap() = n;
        }));
    }
    let recovered = Arc::new(Mutex::new(0u64));
    {
        let store = store.clone();
        let qid = qid.clone();
        let recovered = recovered.clone();
        let errors = errors.clone();
        tasks.push(tokio::spawn(async move {
            let q = store.list::<Q>(&qid);
            for _ in 0..40 {
                match q.recover("dead").await {
                    Ok(n) => *recovered.lock().unwrap() += n,
                    Err(e) => errors.lock().unwrap().push(format!("recover: {e}")),
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }));
    }
    let mut consumers = Vec::new();
    for w in 0..4u64 {
        let store = store.clone();
        let qid = qid.clone();
        let acked = acked.clone();
        let errors = errors.clone();
        consumers.push(tokio::spawn(async move {
            let q = store.list::<Q>(&qid);
            let name = format!("worker-{w}");
            let mut k = 0u64;
            while Instant::now() < deadline {
                if acked.lock().unwrap().len() as u64 >= TOTAL {
                    break;
                }
                k += 1;
                let r = if (k + w).is_multiple_of(2) {
                    q.take(&name).await
                } else {
                    q.take_blocking(&name, Duration::from_millis(100)).await
                };
                match r {
                    Ok(Some(d)) => {
                        let n = d.item().n;
                        match q.ack(&d).await {
                            Ok(true) => acked.lock().unwrap().push(n),
                            Ok(false) => errors.lock().unwrap().push(format!("ack of {n} false")),
                            Err(e) => errors.lock().unwrap().push(format!("ack: {e}")),
                        }
                    }
                    Ok(None) => tokio::task::yield_now().await,
                    Err(e) => errors.lock().unwrap().push(format!("take: {e}")),
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    // The dead consumer is done; recover what it still holds.
    let q = store.list::<Q>(&qid);
    if let Ok(n) = q.recover("dead").await {
        *recovered.lock().unwrap() += n;
    }
    for t in consumers {
        let _ = t.await;
    }
    let acked = acked.lock().unwrap().clone();
    let unique: BTreeSet<u64> = acked.iter().copied().collect();
    let errors = errors.lock().unwrap().clone();
    c.note(format!(
        "dead took {}, recovered {}, acked {}, errors {:?}",
        dead_took.lock().unwrap(),
        recovered.lock().unwrap(),
        acked.len(),
        errors.iter().take(5).collect::<Vec<_>>()
    ));
    c.check(
        errors.is_empty(),
        format!("no errors ({} errors)", errors.len()),
    );
    c.check(
        unique == (0..TOTAL).collect::<BTreeSet<u64>>(),
        format!(
            "every one of {TOTAL} items was delivered and acked ({} distinct)",
            unique.len()
        ),
    );
    c.check(
        acked.len() as u64 == TOTAL,
        format!(
            "no item was acked twice ({} acks for {} distinct)",
            acked.len(),
            unique.len()
        ),
    );
    c.check(
        *recovered.lock().unwrap() == *dead_took.lock().unwrap(),
        "every item the dead consumer took was recovered exactly once",
    );
    c.check(matches!(q.len().await, Ok(0)), "the queue is empty");
    let mut left = 0;
    for name in ["dead", "worker-0", "worker-1", "worker-2", "worker-3"] {
        left += q.in_flight(name).await.map(|v| v.len()).unwrap_or(999);
    }
    c.check(left == 0, format!("nothing left in flight ({left})"));
    c.finish();
}

#[tokio::test]
async fn queue_survives_a_hung_and_a_stopped_server() {
    let mut c = Checks::new("queue_survives_a_hung_and_a_stopped_server");
    let (mut server, store, mut con) = start().await;
    let qid = s("hq");
    let q = store.list::<Q>(&qid);
    let _ = q.enqueue(&msg(1)).await;
    server.pause().unwrap();
    let t0 = Instant::now();
    let r = q.take("w").await.map(|d| d.map(|d| d.into_item()));
    let took = t0.elapsed();
    server.resume().unwrap();
    c.check(
        kind_of(&r) == "timeout" && took < BOUND,
        format!(
            "take on a hung server is a Timeout within the bound: {} after {took:?}",
            show(&r)
        ),
    );
    if let Err(e) = &r {
        c.check(e.outcome() == Outcome::Unknown, "its outcome is Unknown");
    }
    // Conservation: the item is in the queue or in flight, once.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut total = None;
    while Instant::now() < deadline {
        let queued = q.len().await;
        let flying = q.in_flight("w").await.map(|v| v.len() as u64);
        if let (Ok(a), Ok(b)) = (queued, flying) {
            total = Some(a + b);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    c.check(
        total == Some(1),
        format!("the item is in the queue or in flight, exactly once: {total:?}"),
    );

    // Stopped server: fast typed errors, then the same store works again.
    server.stop();
    let mut worst = Duration::ZERO;
    let mut kinds = BTreeSet::new();
    let sid = s("x");
    for _ in 0..3 {
        let t0 = Instant::now();
        kinds.insert(kind_of(&q.enqueue(&msg(2)).await));
        kinds.insert(kind_of(
            &q.take("w").await.map(|d| d.map(|d| d.into_item())),
        ));
        kinds.insert(kind_of(
            &q.take_blocking("w", Duration::from_millis(200))
                .await
                .map(|d| d.map(|d| d.into_item())),
        ));
        kinds.insert(kind_of(&q.recover("w").await));
        kinds.insert(kind_of(&store.set::<Names>(&sid).add(&s("m")).await));
        kinds.insert(kind_of(
            &store.sorted_set::<Board>(&sid).incr(&s("m"), 1).await,
        ));
        kinds.insert(kind_of(&store.counter::<Hits>(&sid).hit(3).await));
        kinds.insert(kind_of(&store.map::<Marks>(&sid).incr(&s("m"), 1).await));
        kinds.insert(kind_of(
            &store
                .list::<Hist>(&sid)
                .pop_front_blocking(Duration::from_millis(100))
                .await,
        ));
        kinds.insert(kind_of(&store.insert(&acct(1, "a")).await));
        let first = Box::pin(store.set::<Names>(&sid).scan()).next().await;
        kinds.insert(match &first {
            Some(r) => kind_of(r),
            None => "scan ended without an error",
        });
        worst = worst.max(t0.elapsed() / 11);
    }
    c.check(
        kinds.iter().all(|k| *k == "connection"),
        format!("every kind fails with Error::Connection while the server is down: {kinds:?}"),
    );
    c.check(
        worst < BOUND,
        format!("each within the bound (average per call {worst:?})"),
    );
    server.restart().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut back = false;
    while Instant::now() < deadline {
        if q.enqueue(&msg(3)).await.is_ok() {
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    c.check(back, "the same store works again after the restart");
    let _ = &mut con;
    c.finish();
}

// ---------------------------------------------------------------------------
// TTLs

#[tokio::test]
async fn ttl_arming_on_every_creating_write() {
    let mut c = Checks::new("ttl_arming_on_every_creating_write");
    let (_server, store, mut con) = start().await;
    let fresh = |t: i64| t > HOUR_MS - 60_000 && t <= HOUR_MS;

    macro_rules! creating {
        ($what:literal, $family:ty, $idv:expr, $id:ident => $call:expr) => {{
            let owned: <$family as redis_runtime::Family>::Id = $idv;
            let r = {
                let $id = &owned;
                $call.await
            };
            let key = store.key::<$family>(&owned).unwrap();
            let t = pttl(&mut con, &key).await;
            c.check(
                r.is_ok() && fresh(t),
                format!(
                    "{} on a fresh key arms the declared TTL (PTTL {t}, {})",
                    $what,
                    show(&r)
                ),
            );
            // A later write of the same kind keeps a shortened TTL.
            let _: i64 = raw!(&mut con, "PEXPIRE", &key, 30_000).unwrap();
            let _ = {
                let $id = &owned;
                $call.await
            };
            let t = pttl(&mut con, &key).await;
            c.check(
                t > 0 && t <= 30_000,
                format!("a later {} keeps the TTL (PTTL {t})", $what),
            );
        }};
    }
    creating!("set add", Names, s("a"), id => store.set::<Names>(id).add(&s("m")));
    creating!("set add_many", Names, s("b"), id => store.set::<Names>(id).add_many(&[s("m"), s("n")]));
    creating!("sorted add", Board, s("a"), id => store.sorted_set::<Board>(id).add(&s("m"), 1));
    let (m1, m2) = (s("m"), s("n"));
    creating!("sorted add_many", Board, s("b"), id => store.sorted_set::<Board>(id).add_many(&[(&m1, 1), (&m2, 2)]));
    creating!("sorted add_with", Board, s("c"), id => store.sorted_set::<Board>(id).add_with(&s("m"), 1, ZAdd::new().if_greater()));
    creating!("sorted incr", Board, s("d"), id => store.sorted_set::<Board>(id).incr(&s("m"), 1));
    creating!("map set", Marks, s("a"), id => store.map::<Marks>(id).set(&s("f"), &1));
    let (f1, v1) = (s("f"), 1i64);
    creating!("map set_many", Marks, s("b"), id => store.map::<Marks>(id).set_many(&[(&f1, &v1)]));
    creating!("map incr", Marks, s("c"), id => store.map::<Marks>(id).incr(&s("f"), 1));
    creating!("list push_back", Hist, s("a"), id => store.list::<Hist>(id).push_back(&msg(1)));
    creating!("list push_front_many", Hist, s("b"), id => store.list::<Hist>(id).push_front_many(&[msg(1), msg(2)]));
    creating!("counter incr", Hits, s("a"), id => store.counter::<Hits>(id).incr(1));
    creating!("counter decr", Hits, s("b"), id => store.counter::<Hits>(id).decr(1));
    creating!("counter hit", Hits, s("c"), id => store.counter::<Hits>(id).hit(10));

    // store_union: the destination is replaced and gets the declared TTL.
    let org = s("o");
    let (a, b, d) = (
        Team {
            org: org.clone(),
            team: s("a"),
        },
        Team {
            org: org.clone(),
            team: s("b"),
        },
        Team {
            org: org.clone(),
            team: s("dest"),
        },
    );
    let _ = store.set::<Team>(&a).add(&s("x")).await;
    let _ = store.set::<Team>(&b).add(&s("y")).await;
    let dkey = store.key::<Team>(&d).unwrap();
    let _: i64 = raw!(&mut con, "SADD", &dkey, "stale").unwrap();
    let r = store.set::<Team>(&a).store_union(&d, &[&b]).await;
    c.check(
        matches!(r, Ok(2)),
        format!("store_union returns the size: {}", show(&r)),
    );
    let members: BTreeSet<String> = store
        .set::<Team>(&d)
        .members()
        .await
        .unwrap_or_default()
        .into_iter()
        .collect();
    c.check(
        members == [s("x"), s("y")].into_iter().collect(),
        format!("the destination is replaced: {members:?}"),
    );
    let t = pttl(&mut con, &dkey).await;
    c.check(
        fresh(t),
        format!("the destination gets the declared TTL (PTTL {t})"),
    );
    let r = store.set::<Team>(&a).store_intersection(&d, &[&b]).await;
    c.check(
        matches!(r, Ok(0)),
        format!("an empty intersection stores 0: {}", show(&r)),
    );
    c.check(
        matches!(store.exists::<Team>(&d).await, Ok(false)),
        "and the destination is gone",
    );

    // move_member to a set it creates: no TTL (documented).
    let e = Team {
        org: org.clone(),
        team: s("moved"),
    };
    let r = store.set::<Team>(&a).move_member(&e, &s("x")).await;
    c.check(matches!(r, Ok(true)), format!("move_member: {}", show(&r)));
    c.check(
        matches!(store.ttl::<Team>(&e).await, Ok(Expiry::Never)),
        "a destination the move creates has no TTL",
    );
    let r = store.set::<Team>(&a).move_member(&e, &s("nope")).await;
    c.check(matches!(r, Ok(false)), "moving a missing member is false");

    // Explicit TTL calls on every kind.
    let k = s("k");
    let _ = store.set::<Names>(&k).add(&s("m")).await;
    let r = store.expire::<Names>(&k, Duration::ZERO).await;
    c.check(
        kind_of(&r) == "invalid_ttl",
        format!("expire(0) is InvalidTtl: {}", show(&r)),
    );
    let r = store.expire::<Names>(&k, Duration::MAX).await;
    c.check(
        kind_of(&r) == "invalid_ttl",
        format!("expire(Duration::MAX) is InvalidTtl: {}", show(&r)),
    );
    let r = store.expire::<Names>(&k, Duration::from_nanos(1)).await;
    c.note(format!("expire(1 ns) -> {}", show(&r)));
    c.check(
        matches!(kind_of(&r), "ok" | "invalid_ttl"),
        format!(
            "expire(1 ns) is Ok or InvalidTtl, never a server error: {}",
            show(&r)
        ),
    );
    let _ = store.set::<Names>(&k).add(&s("m")).await;
    let _ = store.persist::<Names>(&k).await;
    c.check(
        matches!(store.ttl::<Names>(&k).await, Ok(Expiry::Never)),
        "persist removes the TTL",
    );
    c.check(
        matches!(store.refresh_ttl::<Names>(&k).await, Ok(true)),
        "refresh_ttl re-arms",
    );
    c.check(
        matches!(store.ttl::<Names>(&k).await, Ok(Expiry::In(d)) if d > Duration::from_secs(3500)),
        "to the declared TTL",
    );
    let gone = s("gone");
    c.check(
        matches!(store.ttl::<Names>(&gone).await, Ok(Expiry::Missing)),
        "ttl of absent is Missing",
    );
    c.check(
        matches!(
            store.expire::<Names>(&gone, Duration::from_secs(5)).await,
            Ok(false)
        ),
        "expire of absent is false",
    );

    // A key that expired and is written again gets the TTL again.
    let x = s("exp");
    let _ = store.set::<Names>(&x).add(&s("m")).await;
    let _ = store.expire::<Names>(&x, Duration::from_millis(30)).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while matches!(store.exists::<Names>(&x).await, Ok(true)) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let _ = store.set::<Names>(&x).add(&s("m2")).await;
    let key = store.key::<Names>(&x).unwrap();
    let t = pttl(&mut con, &key).await;
    c.check(
        fresh(t),
        format!("an expired key written again gets the TTL again (PTTL {t})"),
    );
    c.finish();
}

// ---------------------------------------------------------------------------
// cross-slot

/// Two ids of `Loose` in different slots, and two in the same slot.
fn loose_pairs() -> ((Loose, Loose), (Loose, Loose)) {
    let slot_of = |a: &str, b: &str| slot(format!("rv:loose:{a}:{b}").as_bytes());
    let base = slot_of("x", "0");
    let mut diff = None;
    let mut same = None;
    for i in 1..100_000u64 {
        let b = i.to_string();
        let sl = slot_of("x", &b);
        if sl != base && diff.is_none() {
            diff = Some(b.clone());
        }
        if sl == base && same.is_none() {
            same = Some(b);
        }
        if diff.is_some() && same.is_some() {
            break;
        }
    }
    let l = |b: &str| Loose { a: s("x"), b: s(b) };
    (
        (l("0"), l(&diff.unwrap())),
        (l("0"), l(&same.expect("a same-slot id within 100000"))),
    )
}

async fn cross_slot_checks(c: &mut Checks, store: &Store, topology: &str) {
    let ((a, b), (a2, same)) = loose_pairs();
    let ka = store.key::<Loose>(&a).unwrap();
    let kb = store.key::<Loose>(&b).unwrap();
    c.check(
        slot(ka.as_bytes()) != slot(kb.as_bytes()),
        format!("{topology}: test ids are in two slots"),
    );
    let sa = store.set::<Loose>(&a);
    let _ = sa.add(&s("m")).await;
    let _ = store.set::<Loose>(&b).add(&s("n")).await;
    let r = sa.move_member(&b, &s("m")).await;
    c.check(
        kind_of(&r) == "cross_slot",
        format!(
            "{topology}: move_member across slots is CrossSlot: {}",
            show(&r)
        ),
    );
    if let Err(e) = &r {
        c.check(
            e.outcome() == Outcome::NotApplied,
            format!("{topology}: CrossSlot is NotApplied"),
        );
    }
    c.check(
        matches!(sa.contains(&s("m")).await, Ok(true)),
        format!("{topology}: the member stayed"),
    );
    for (what, r) in [
        ("union", kind_of(&sa.union(&[&b]).await)),
        ("intersection", kind_of(&sa.intersection(&[&b]).await)),
        ("difference", kind_of(&sa.difference(&[&b]).await)),
        (
            "store_union into other slot",
            kind_of(&sa.store_union(&b, &[]).await),
        ),
        (
            "store_difference with other slot",
            kind_of(&sa.store_difference(&a, &[&b]).await),
        ),
    ] {
        c.check(
            r == "cross_slot",
            format!("{topology}: {what} is CrossSlot: {r}"),
        );
    }
    c.check(
        matches!(store.set::<Loose>(&b).members().await, Ok(v) if v == vec![s("n")]),
        format!("{topology}: the other set is untouched"),
    );
    // Same slot without a hash tag: allowed.
    let _ = a2;
    let r = sa.move_member(&same, &s("m")).await;
    c.check(
        matches!(r, Ok(true)),
        format!(
            "{topology}: ids that happen to share a slot are not refused: {}",
            show(&r)
        ),
    );
    // Tagged: same org fine, other org refused; odd tag values share a slot.
    let org = s("a{b}c:*");
    let t1 = Team {
        org: org.clone(),
        team: s("1"),
    };
    let t2 = Team {
        org: org.clone(),
        team: s("ü 2"),
    };
    let t3 = Team {
        org: s("other"),
        team: s("1"),
    };
    let _ = store.set::<Team>(&t1).add_many(&[s("p"), s("q")]).await;
    let r = store.set::<Team>(&t1).move_member(&t2, &s("p")).await;
    c.check(
        matches!(r, Ok(true)),
        format!("{topology}: move within an odd org: {}", show(&r)),
    );
    let r = store.set::<Team>(&t1).store_union(&t2, &[&t2]).await;
    c.check(
        matches!(r, Ok(2)),
        format!("{topology}: store_union within an org: {}", show(&r)),
    );
    let r = store.set::<Team>(&t1).move_member(&t3, &s("q")).await;
    c.check(
        kind_of(&r) == "cross_slot",
        format!("{topology}: move to another org is CrossSlot: {}", show(&r)),
    );
    let r = store.set::<Team>(&t1).intersection(&[&t2, &t3]).await;
    c.check(
        kind_of(&r) == "cross_slot",
        format!(
            "{topology}: algebra with another org is CrossSlot: {}",
            show(&r)
        ),
    );
}

#[tokio::test]
async fn cross_slot_on_one_server() {
    let mut c = Checks::new("cross_slot_on_one_server");
    let (_server, store, _con) = start().await;
    cross_slot_checks(&mut c, &store, "server").await;
    c.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collections_on_a_cluster() {
    let mut c = Checks::new("collections_on_a_cluster");
    let cluster = RedisCluster::start().expect("cluster");
    let config = cluster
        .config_builder()
        .connect_timeout(Duration::from_secs(2))
        .response_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let store = Store::connect(&config).await.unwrap();
    let mut admin = cluster.raw_connection().await.unwrap();
    let ((a, b), _) = loose_pairs();
    let ka = store.key::<Loose>(&a).unwrap();
    let kb = store.key::<Loose>(&b).unwrap();
    let sa: u16 = raw!(&mut admin, "CLUSTER", "KEYSLOT", &ka).unwrap();
    let sb: u16 = raw!(&mut admin, "CLUSTER", "KEYSLOT", &kb).unwrap();
    c.check(
        sa == slot(ka.as_bytes()) && sb == slot(kb.as_bytes()),
        "the test's slot function agrees with the cluster",
    );
    cross_slot_checks(&mut c, &store, "cluster").await;

    // Queue on a cluster: take, ack, requeue, recover.
    let qid = s("cq");
    let q = store.list::<Q>(&qid);
    let _ = q.enqueue_many(&(1..=4).map(msg).collect::<Vec<_>>()).await;
    let d1 = q.take("w1").await;
    let d2 = q.take_blocking("w1", Duration::from_millis(200)).await;
    c.check(
        matches!((&d1, &d2), (Ok(Some(x)), Ok(Some(y))) if x.item().n == 1 && y.item().n == 2),
        "take and take_blocking work on a cluster",
    );
    if let Ok(Some(d1)) = &d1 {
        c.check(
            matches!(q.ack(d1).await, Ok(true)),
            "ack works on a cluster",
        );
    }
    if let Ok(Some(d2)) = &d2 {
        c.check(
            matches!(q.requeue(d2).await, Ok(true)),
            "requeue works on a cluster",
        );
    }
    let _ = q.take("w2").await;
    let r = q.recover("w2").await;
    c.check(
        matches!(r, Ok(1)),
        format!("recover works on a cluster: {}", show(&r)),
    );
    let items: Vec<u64> = q
        .range(0, -1)
        .await
        .unwrap_or_default()
        .iter()
        .map(|m| m.n)
        .collect();
    c.check(
        items == vec![3, 4, 2],
        format!("queue order on a cluster: {items:?}"),
    );

    // Rate limit exactness on a cluster.
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let id = s("cluster-burst");
            store.counter::<Hits>(&id).hit(5).await.map(|r| r.allowed())
        }));
    }
    let mut allowed = 0;
    for t in tasks {
        if matches!(t.await.unwrap(), Ok(true)) {
            allowed += 1;
        }
    }
    c.check(
        allowed == 5,
        format!("exactly 5 of 20 hits allowed on a cluster ({allowed})"),
    );

    // Scans of a big set on a cluster.
    let big = s("big");
    let members: Vec<u64> = (0..3000).collect();
    let _ = store.set::<Nums>(&big).add_many(&members).await;
    let seen: BTreeSet<u64> = store
        .set::<Nums>(&big)
        .scan()
        .filter_map(|r| async move { r.ok() })
        .collect()
        .await;
    c.check(
        seen.len() == 3000,
        format!(
            "scan of 3000 members on a cluster sees all ({})",
            seen.len()
        ),
    );
    c.finish();
}

// ---------------------------------------------------------------------------
// conditional writes

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conditional_writes_race_and_refuse() {
    let mut c = Checks::new("conditional_writes_race_and_refuse");
    let (_server, store, mut con) = start().await;

    // Concurrent inserts: exactly one true.
    for (round, hash) in [(0u64, true), (1, false)] {
        let mut tasks = Vec::new();
        for i in 0..20u64 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                if hash {
                    store.insert(&acct(100 + round, &format!("e{i}"))).await
                } else {
                    store
                        .insert(&Tok {
                            token: s("t"),
                            user: i,
                        })
                        .await
                }
            }));
        }
        let mut wins = 0;
        let mut errs = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(true) => wins += 1,
                Ok(false) => {}
                Err(_) => errs += 1,
            }
        }
        c.check(
            wins == 1 && errs == 0,
            format!(
                "{}: exactly one of 20 concurrent inserts wins ({wins}, {errs} errors)",
                if hash { "hash" } else { "json" }
            ),
        );
    }
    let t = pttl(&mut con, &store.key::<Acct>(&100).unwrap()).await;
    c.check(
        t > HOUR_MS - 60_000,
        format!("the winning insert armed the TTL (PTTL {t})"),
    );

    // insert_or_get: all agree on one winner.
    let mut tasks = Vec::new();
    for i in 0..20u64 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .insert_or_get(&acct(200, &format!("e{i}")))
                .await
                .map(|r| (i, r))
        }));
    }
    let mut inserted = Vec::new();
    let mut existing = BTreeSet::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok((i, InsertOrGet::Inserted)) => inserted.push(format!("e{i}")),
            Ok((_, InsertOrGet::Existing(a))) => {
                existing.insert(a.email);
            }
            Err(e) => {
                existing.insert(format!("error {e}"));
            }
        }
    }
    let stored = store
        .get::<Acct>(&200)
        .await
        .ok()
        .flatten()
        .map(|a| a.email);
    c.check(
        inserted.len() == 1 && existing.len() == 1 && existing.iter().next() == inserted.first() && stored.as_ref() == inserted.first(),
        format!("insert_or_get: one Inserted, every Existing is the winner: {inserted:?} {existing:?} stored {stored:?}"),
    );

    // Wrong types.
    let key = store.key::<Acct>(&1).unwrap();
    let _: () = raw!(&mut con, "SET", &key, "x").unwrap();
    let r = store.insert(&acct(1, "a")).await;
    c.check(
        matches!(r, Ok(false)),
        format!("hash insert over a string key is false: {}", show(&r)),
    );
    let r = store
        .insert_or_get(&acct(1, "a"))
        .await
        .map(|r| r.is_inserted());
    c.check(
        kind_of(&r) == "wrong_type",
        format!("insert_or_get over a string key is WrongType: {}", show(&r)),
    );
    let r = store.take::<Acct>(&1).await;
    c.check(
        kind_of(&r) == "wrong_type",
        format!("take of a string key is WrongType: {}", show(&r)),
    );
    let v: Option<String> = raw!(&mut con, "GET", &key).unwrap();
    c.check(v.as_deref() == Some("x"), "and the key is left alone");
    let _: i64 = raw!(&mut con, "PEXPIRE", &key, 5000).unwrap();
    let r = store.get_and_refresh::<Acct>(&1).await;
    c.check(
        kind_of(&r) == "wrong_type",
        format!("get_and_refresh of a string key is WrongType: {}", show(&r)),
    );
    let t = pttl(&mut con, &key).await;
    c.check(t > 0 && t <= 5000, format!("its TTL untouched (PTTL {t})"));
    let r = store
        .update::<Acct, _>(&1, |u| u.incr(Acct::fields().logins, 1))
        .await;
    c.check(
        kind_of(&r.map(|u| u.is_some())) == "wrong_type",
        "update of a string key is WrongType",
    );
    let r = store
        .incr_or_insert(&1, Acct::fields().logins, 1, || acct(1, "a"))
        .await;
    c.check(
        kind_of(&r) == "wrong_type",
        format!(
            "incr_or_insert over a string key is WrongType: {}",
            show(&r)
        ),
    );
    let r = store
        .get_fields(&1, (Acct::fields().email, Acct::fields().logins))
        .await;
    c.check(
        kind_of(&r) == "wrong_type",
        format!("get_fields of a string key is WrongType: {}", show(&r)),
    );
    let tkey = store.key::<Tok>(&s("h")).unwrap();
    let _: i64 = raw!(&mut con, "HSET", &tkey, "f", "v").unwrap();
    let r = store
        .insert(&Tok {
            token: s("h"),
            user: 1,
        })
        .await;
    c.check(
        matches!(r, Ok(false)),
        format!("json insert over a hash key is false: {}", show(&r)),
    );
    let r = store
        .insert_or_get(&Tok {
            token: s("h"),
            user: 1,
        })
        .await
        .map(|r| r.is_inserted());
    c.check(
        kind_of(&r) == "wrong_type",
        format!(
            "json insert_or_get over a hash key is WrongType: {}",
            show(&r)
        ),
    );
    let ty = key_type(&mut con, &tkey).await;
    c.check(ty == "hash", "the hash is left alone");

    // Corrupt stored entities.
    let ckey = store.key::<Tok>(&s("c")).unwrap();
    let _: () = raw!(&mut con, "SET", &ckey, "{not json", "PX", 5000).unwrap();
    let r = store
        .insert_or_get(&Tok {
            token: s("c"),
            user: 1,
        })
        .await
        .map(|r| r.is_inserted());
    c.check(
        kind_of(&r) == "decode",
        format!("insert_or_get over a corrupt value is Decode: {}", show(&r)),
    );
    let v: Option<String> = raw!(&mut con, "GET", &ckey).unwrap();
    c.check(v.as_deref() == Some("{not json"), "and nothing was written");
    let r = store.get_and_refresh::<Tok>(&s("c")).await;
    c.check(
        kind_of(&r) == "decode",
        format!("get_and_refresh of a corrupt value is Decode: {}", show(&r)),
    );
    let t = pttl(&mut con, &ckey).await;
    c.check(
        t > 500_000,
        format!("its TTL re-armed (documented) (PTTL {t})"),
    );
    let r = store.take::<Tok>(&s("c")).await;
    c.check(
        kind_of(&r) == "decode",
        format!("take of a corrupt value is Decode: {}", show(&r)),
    );
    c.check(
        matches!(store.exists::<Tok>(&s("c")).await, Ok(false)),
        "and it was deleted (documented)",
    );

    // replace / take / get_and_refresh.
    c.check(
        matches!(
            store
                .replace(&Tok {
                    token: s("r"),
                    user: 1
                })
                .await,
            Ok(false)
        ),
        "replace of absent is false",
    );
    c.check(
        matches!(store.exists::<Tok>(&s("r")).await, Ok(false)),
        "and writes nothing",
    );
    let _ = store
        .save(&Tok {
            token: s("r"),
            user: 1,
        })
        .await;
    let rkey = store.key::<Tok>(&s("r")).unwrap();
    let _: i64 = raw!(&mut con, "PEXPIRE", &rkey, 5000).unwrap();
    c.check(
        matches!(
            store
                .replace(&Tok {
                    token: s("r"),
                    user: 2
                })
                .await,
            Ok(true)
        ),
        "replace of existing is true",
    );
    let t = pttl(&mut con, &rkey).await;
    c.check(
        t > 500_000,
        format!("replace applies the model TTL (PTTL {t})"),
    );
    let _: i64 = raw!(&mut con, "PEXPIRE", &rkey, 5000).unwrap();
    let r = store.get_and_refresh::<Tok>(&s("r")).await;
    c.check(
        matches!(&r, Ok(Some(t)) if t.user == 2),
        "get_and_refresh reads",
    );
    let t = pttl(&mut con, &rkey).await;
    c.check(t > 500_000, format!("and re-arms (PTTL {t})"));
    c.check(
        matches!(store.take::<Tok>(&s("none")).await, Ok(None)),
        "take of absent is None",
    );
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let store = store.clone();
        tasks.push(tokio::spawn(
            async move { store.take::<Tok>(&s("r")).await },
        ));
    }
    let mut got = 0;
    for t in tasks {
        if matches!(t.await.unwrap(), Ok(Some(_))) {
            got += 1;
        }
    }
    c.check(
        got == 1,
        format!("of 10 concurrent takes, one gets it ({got})"),
    );

    // update: all or nothing, keeps the TTL.
    let f = Acct::fields();
    c.check(
        matches!(
            store
                .update::<Acct, _>(&300, |u| u.set(f.email, &s("x")))
                .await,
            Ok(None)
        ),
        "update of absent is None",
    );
    c.check(
        matches!(store.exists::<Acct>(&300).await, Ok(false)),
        "and creates nothing",
    );
    let mut a = acct(301, "before");
    a.small = 250;
    let _ = store.save(&a).await;
    let akey = store.key::<Acct>(&301).unwrap();
    let _: i64 = raw!(&mut con, "PEXPIRE", &akey, 50_000).unwrap();
    let r = store
        .update::<Acct, _>(&301, |u| {
            u.set(f.email, &s("after")).incr(f.small, 10).clear(f.name)
        })
        .await;
    c.check(
        r.is_err(),
        format!(
            "an increment past u8 refuses the whole update: {}",
            show(&r.map(|u| u.is_some()))
        ),
    );
    let now = store.get::<Acct>(&301).await.ok().flatten();
    c.check(
        now.as_ref()
            .is_some_and(|n| n.email == "before" && n.small == 250 && n.name.is_some()),
        format!("nothing changed: {now:?}"),
    );
    let r = store
        .update::<Acct, _>(&301, |u| u.incr(f.small, -251))
        .await;
    c.check(r.is_err(), "an increment below 0 on u8 is refused");
    let r = store
        .update::<Acct, _>(&301, |u| {
            u.incr(f.logins, 2).incr(f.logins, 3).set(f.email, &s("e"))
        })
        .await;
    c.check(
        matches!(&r, Ok(Some(u)) if u.incremented(f.logins) == Some(5) && u.incremented(f.small).is_none()),
        "incremented() reports the last value, None for untouched fields",
    );
    let t = pttl(&mut con, &akey).await;
    c.check(
        t > 0 && t <= 50_000,
        format!("update keeps the TTL (PTTL {t})"),
    );
    let _: i64 = raw!(&mut con, "HSET", &akey, "logins", "abc").unwrap();
    let r = store
        .update::<Acct, _>(&301, |u| u.set(f.email, &s("z")).incr(f.logins, 1))
        .await;
    c.check(
        r.is_err(),
        "an increment of a non-integer stored field refuses the update",
    );
    let email: Option<String> = raw!(&mut con, "HGET", &akey, "email").unwrap();
    c.check(
        email.as_deref() == Some("e"),
        format!("and nothing changed ({email:?})"),
    );
    let r = store.update::<Acct, _>(&301, |u| u).await;
    c.note(format!(
        "an empty update of an existing entity -> {}",
        show(&r.map(|u| u.is_some()))
    ));

    // incr_or_insert.
    let r = store
        .incr_or_insert(&400, f.logins, 1, || acct(401, "wrong id"))
        .await;
    c.check(
        kind_of(&r) == "encode",
        format!("a default with another id is Encode: {}", show(&r)),
    );
    c.check(
        matches!(store.exists::<Acct>(&400).await, Ok(false))
            && matches!(store.exists::<Acct>(&401).await, Ok(false)),
        "and nothing is written under either id",
    );
    let r = store
        .incr_or_insert(&402, f.small, 300, || acct(402, "x"))
        .await;
    c.check(
        r.is_err(),
        format!(
            "a fresh entity whose increment leaves u8 is refused: {}",
            show(&r)
        ),
    );
    c.check(
        matches!(store.exists::<Acct>(&402).await, Ok(false)),
        "and the just-created entity is removed again",
    );
    let r = store
        .incr_or_insert(&403, f.small, -1, || acct(403, "x"))
        .await;
    c.check(r.is_err(), "a negative result on u8 is refused");
    c.check(
        matches!(store.exists::<Acct>(&403).await, Ok(false)),
        "and nothing remains",
    );
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .incr_or_insert(&404, Acct::fields().logins, 1, || acct(404, "x"))
                .await
        }));
    }
    let mut results = BTreeSet::new();
    for t in tasks {
        if let Ok(v) = t.await.unwrap() {
            results.insert(v);
        }
    }
    c.check(
        results == (1..=20).collect::<BTreeSet<i64>>(),
        format!(
            "20 concurrent incr_or_insert return 1..=20 ({} distinct)",
            results.len()
        ),
    );
    let ikey = store.key::<Acct>(&404).unwrap();
    let _: i64 = raw!(&mut con, "PEXPIRE", &ikey, 50_000).unwrap();
    let _ = store
        .incr_or_insert(&404, f.logins, 1, || acct(404, "x"))
        .await;
    let t = pttl(&mut con, &ikey).await;
    c.check(
        t > 0 && t <= 50_000,
        format!("incr_or_insert never extends an existing TTL (PTTL {t})"),
    );
    c.check(
        matches!(store.get_fields(&999, (f.email, f.name)).await, Ok(None)),
        "get_fields of absent is None",
    );
    c.finish();
}

// ---------------------------------------------------------------------------
// defects and further probes

/// A creating write refused by the server (the key holds another Redis
/// type, or a value that is not an integer) reports `NotApplied` /
/// "changes nothing", yet the `PEXPIRE ... NX` of its transaction still ran:
/// a key that had no TTL now expires.
#[tokio::test]
async fn refused_creating_writes_arm_no_ttl() {
    let mut c = Checks::new("refused_creating_writes_arm_no_ttl");
    let (_server, store, mut con) = start().await;
    let id = s("foreign");

    macro_rules! refused {
        ($what:literal, $family:ty, $seed:expr, $call:expr) => {{
            let key = store.key::<$family>(&id).unwrap();
            let _: () = raw!(&mut con, "DEL", &key).unwrap();
            let seed: Vec<&str> = $seed;
            let mut cmd = redis::cmd(seed[0]);
            cmd.arg(&key);
            for a in &seed[1..] {
                cmd.arg(*a);
            }
            let _: redis::Value = cmd.query_async(&mut con).await.unwrap();
            let r = $call.await;
            let t = pttl(&mut con, &key).await;
            let outcome = r.as_ref().err().map(|e| e.outcome());
            c.check(
                r.is_err() && t == -1,
                format!(
                    "{}: refused ({}, outcome {outcome:?}) and the key keeps no TTL (PTTL {t})",
                    $what,
                    show(&r)
                ),
            );
        }};
    }
    refused!(
        "set add on a string",
        Names,
        vec!["SET", "x"],
        store.set::<Names>(&id).add(&s("m"))
    );
    refused!(
        "set add_many on a string",
        Names,
        vec!["SET", "x"],
        store.set::<Names>(&id).add_many(&[s("m")])
    );
    refused!(
        "sorted add on a string",
        Board,
        vec!["SET", "x"],
        store.sorted_set::<Board>(&id).add(&s("m"), 1)
    );
    refused!(
        "sorted incr on a string",
        Board,
        vec!["SET", "x"],
        store.sorted_set::<Board>(&id).incr(&s("m"), 1)
    );
    refused!(
        "map set on a set",
        Marks,
        vec!["SADD", "m"],
        store.map::<Marks>(&id).set(&s("f"), &1)
    );
    refused!(
        "map incr of a non-integer",
        Marks,
        vec!["HSET", "f", "abc"],
        store.map::<Marks>(&id).incr(&s("f"), 1)
    );
    refused!(
        "list push_back on a string",
        Hist,
        vec!["SET", "x"],
        store.list::<Hist>(&id).push_back(&msg(1))
    );
    refused!(
        "counter incr of a non-integer",
        Hits,
        vec!["SET", "abc"],
        store.counter::<Hits>(&id).incr(1)
    );
    refused!(
        "counter incr past i64::MAX",
        Hits,
        vec!["SET", "9223372036854775807"],
        store.counter::<Hits>(&id).incr(1)
    );
    refused!(
        "counter hit on a hash",
        Hits,
        vec!["HSET", "f", "v"],
        store.counter::<Hits>(&id).hit(5)
    );
    refused!(
        "counter hit of a non-integer",
        Hits,
        vec!["SET", "abc"],
        store.counter::<Hits>(&id).hit(5)
    );
    refused!(
        "counter decr past i64::MIN",
        Hits,
        vec!["SET", "-9223372036854775808"],
        store.counter::<Hits>(&id).decr(1)
    );
    refused!(
        "sorted add_many on a string",
        Board,
        vec!["SET", "x"],
        store
            .sorted_set::<Board>(&id)
            .add_many(&[(&s("a"), 1), (&s("b"), 2)])
    );
    refused!(
        "sorted add_with on a string",
        Board,
        vec!["SET", "x"],
        store
            .sorted_set::<Board>(&id)
            .add_with(&s("m"), 1, ZAdd::new())
    );
    refused!(
        "float sorted incr on a string",
        Temps,
        vec!["SET", "x"],
        store.sorted_set::<Temps>(&id).incr(&s("m"), 1.5)
    );
    refused!(
        "map set_many on a string",
        Marks,
        vec!["SET", "x"],
        store
            .map::<Marks>(&id)
            .set_many(&[(&s("f"), &1), (&s("g"), &2)])
    );
    refused!(
        "map incr on a string",
        Marks,
        vec!["SET", "x"],
        store.map::<Marks>(&id).incr(&s("f"), 1)
    );
    refused!(
        "capped list push_front_many on a string",
        Hist,
        vec!["SET", "x"],
        store.list::<Hist>(&id).push_front_many(&[msg(1), msg(2)])
    );
    refused!(
        "list push_back on a set",
        Log,
        vec!["SADD", "x"],
        store.list::<Log>(&id).push_back(&msg(1))
    );
    refused!(
        "list push_front_many on a string",
        Log,
        vec!["SET", "x"],
        store.list::<Log>(&id).push_front_many(&[msg(1)])
    );
    // A store form of set algebra whose source is of another type: the
    // destination, an existing set without a TTL, gets none.
    let team = |t: &str| Team {
        org: s("o"),
        team: s(t),
    };
    let (source_id, dest_id) = (team("foreign"), team("dest"));
    let dest = store.key::<Team>(&dest_id).unwrap();
    let source = store.key::<Team>(&source_id).unwrap();
    let _: () = raw!(&mut con, "DEL", &dest, &source).unwrap();
    let _: i64 = raw!(&mut con, "SADD", &dest, "kept").unwrap();
    let _: () = raw!(&mut con, "SET", &source, "x").unwrap();
    let r = store
        .set::<Team>(&source_id)
        .store_union(&dest_id, &[])
        .await;
    let t = pttl(&mut con, &dest).await;
    c.check(
        kind_of(&r) == "wrong_type" && t == -1,
        format!(
            "store_union from a string: refused ({}) and the destination keeps no TTL (PTTL {t})",
            show(&r)
        ),
    );
    c.finish();
}

/// The writes that may create a key keep their replies now that, with a
/// declared TTL, they run as a script: counts, scores, lengths, values
/// beyond 2^53 exact, and more elements than Lua's `unpack` takes at once
/// (about 8000) in one call.
#[tokio::test]
async fn creating_writes_with_a_ttl_keep_their_replies() {
    let mut c = Checks::new("creating_writes_with_a_ttl_keep_their_replies");
    let (_server, store, mut con) = start().await;
    let id = s("big");
    const N: u64 = 10_001;

    // Sets: 10,001 members, then as many again of which half are new.
    let set = store.set::<Names>(&id);
    let members: Vec<String> = (0..N).map(|i| format!("m{i}")).collect();
    let r = set.add_many(&members).await;
    let key = store.key::<Names>(&id).unwrap();
    let t = pttl(&mut con, &key).await;
    c.check(
        matches!(r, Ok(N)) && t > 0,
        format!("set add_many of {N} new: {} (PTTL {t})", show(&r)),
    );
    let _: i64 = raw!(&mut con, "PEXPIRE", &key, 50_000).unwrap();
    let more: Vec<String> = (N / 2..N + N / 2).map(|i| format!("m{i}")).collect();
    let r = set.add_many(&more).await;
    let t = pttl(&mut con, &key).await;
    c.check(
        matches!(r, Ok(n) if n == N / 2) && t > 0 && t <= 50_000,
        format!(
            "set add_many of {N}, {} new: {} and the TTL kept (PTTL {t})",
            N / 2,
            show(&r)
        ),
    );
    let r = set.add(&s("m0")).await;
    c.check(
        matches!(r, Ok(false)),
        format!("set add of a member there: {}", show(&r)),
    );
    let r = set.add(&s("new")).await;
    c.check(
        matches!(r, Ok(true)),
        format!("set add of a new member: {}", show(&r)),
    );
    let r = set.len().await;
    c.check(
        matches!(r, Ok(n) if n == N + N / 2 + 1),
        format!("set len: {}", show(&r)),
    );

    // Sorted sets: pairs stay whole across chunks.
    let board = store.sorted_set::<Board>(&id);
    let names: Vec<String> = (0..N).map(|i| format!("p{i}")).collect();
    let entries: Vec<(&String, u64)> = names.iter().zip(0..).collect();
    let r = board.add_many(&entries).await;
    c.check(
        matches!(r, Ok(N)),
        format!("sorted add_many of {N}: {}", show(&r)),
    );
    let r = board.score(&names[N as usize - 1]).await;
    c.check(
        matches!(r, Ok(Some(n)) if n == N - 1),
        format!("the last pair kept its score: {}", show(&r)),
    );
    let r = board.add_with(&names[0], 7, ZAdd::new().if_greater()).await;
    c.check(
        matches!(r, Ok(true)),
        format!("add_with GT raising a score: {}", show(&r)),
    );
    let r = board.add_with(&names[0], 3, ZAdd::new().if_greater()).await;
    c.check(
        matches!(r, Ok(false)),
        format!("add_with GT lowering a score: {}", show(&r)),
    );
    let temps = store.sorted_set::<Temps>(&id);
    let r = temps.incr(&s("t"), 1.25).await;
    let r2 = temps.incr(&s("t"), 0.5).await;
    let tkey = store.key::<Temps>(&id).unwrap();
    let t = pttl(&mut con, &tkey).await;
    c.check(
        matches!(r, Ok(x) if x == 1.25) && matches!(r2, Ok(x) if x == 1.75) && t > 0,
        format!("float incr: {} then {} (PTTL {t})", show(&r), show(&r2)),
    );

    // Maps.
    let map = store.map::<Marks>(&id);
    let fields: Vec<String> = (0..N).map(|i| format!("f{i}")).collect();
    let values: Vec<i64> = (0..N as i64).collect();
    let pairs: Vec<(&String, &i64)> = fields.iter().zip(values.iter()).collect();
    let r = map.set_many(&pairs).await;
    c.check(
        matches!(r, Ok(N)),
        format!("map set_many of {N}: {}", show(&r)),
    );
    let r = map.get(&fields[N as usize - 1]).await;
    c.check(
        matches!(r, Ok(Some(v)) if v == N as i64 - 1),
        format!("the last field has its value: {}", show(&r)),
    );
    let r = map.set(&fields[0], &5).await;
    c.check(
        matches!(r, Ok(false)),
        format!("map set of a field there: {}", show(&r)),
    );
    let big = (1i64 << 60) + 1;
    let _ = map.set(&s("big"), &big).await;
    let r = map.incr(&s("big"), 2).await;
    c.check(
        matches!(r, Ok(v) if v == big + 2),
        format!("map incr beyond 2^53 is exact: {}", show(&r)),
    );

    // Counters: values beyond 2^53 exact, through incr, decr and hit.
    let counter = store.counter::<Hits>(&id);
    let r = counter.incr(3).await;
    c.check(
        matches!(r, Ok(3)),
        format!("counter incr creates: {}", show(&r)),
    );
    let _ = counter.set(big).await;
    let r = counter.incr(2).await;
    let r2 = counter.decr(1).await;
    c.check(
        matches!(r, Ok(v) if v == big + 2) && matches!(r2, Ok(v) if v == big + 1),
        format!(
            "counter incr/decr beyond 2^53 are exact: {} {}",
            show(&r),
            show(&r2)
        ),
    );
    let r = counter.hit(5).await;
    c.check(
        matches!(&r, Ok(l) if l.count == (big + 2) as u64 && !l.allowed() && l.resets_in.is_some()),
        format!("hit beyond 2^53 is exact: {}", show(&r)),
    );

    // Lists: order kept across chunks; a capped list keeps its newest.
    let log = store.list::<Log>(&id);
    let items: Vec<Msg> = (0..N).map(msg).collect();
    let r = log.push_back_many(&items).await;
    c.check(
        matches!(r, Ok(N)),
        format!("push_back_many of {N}: {}", show(&r)),
    );
    let r = log.push_front_many(&items).await;
    c.check(
        matches!(r, Ok(n) if n == 2 * N),
        format!("push_front_many of {N}: {}", show(&r)),
    );
    let r = log.range(0, -1).await;
    let expected: Vec<Msg> = items.iter().rev().chain(items.iter()).cloned().collect();
    c.check(
        matches!(&r, Ok(all) if *all == expected),
        "the list holds the front pushes reversed, then the back pushes in order",
    );
    let lkey = store.key::<Log>(&id).unwrap();
    let t = pttl(&mut con, &lkey).await;
    c.check(t > 0, format!("the list has its TTL (PTTL {t})"));
    let hist = store.list::<Hist>(&id);
    let r = hist.push_back_many(&items).await;
    c.check(
        matches!(r, Ok(5)),
        format!("capped push_back_many: {}", show(&r)),
    );
    let r = hist.range(0, -1).await;
    c.check(
        matches!(&r, Ok(all) if *all == items[N as usize - 5..]),
        format!("the capped list keeps the newest 5: {}", show(&r)),
    );
    let r = hist.push_front(&msg(99)).await;
    let r2 = hist.range(0, 0).await;
    c.check(
        matches!(r, Ok(5)) && matches!(&r2, Ok(v) if v == &[msg(99)]),
        format!("capped push_front: {} {}", show(&r), show(&r2)),
    );
    c.finish();
}

/// Counts, offsets and waits at the top of their Rust types are sent as is
/// and refused by the server, while `top(u64::MAX)` works.
#[tokio::test]
async fn huge_counts_and_waits_are_honoured() {
    let mut c = Checks::new("huge_counts_and_waits_are_honoured");
    let (_server, store, _con) = start().await;
    let id = s("h");
    let list = store.list::<Hist>(&id);
    let _ = list.push_back_many(&[msg(1), msg(2)]).await;
    let r = list.pop_back_many(u64::MAX).await;
    c.check(
        matches!(&r, Ok(v) if v.len() == 2),
        format!(
            "pop_back_many(u64::MAX) removes and returns up to u64::MAX items: {}",
            show(&r)
        ),
    );
    let _ = list.push_back(&msg(3)).await;
    let r = list.pop_front_blocking(Duration::MAX).await;
    c.check(
        matches!(&r, Ok(Some(m)) if m.n == 3),
        format!(
            "pop_front_blocking(Duration::MAX) with an item returns it: {}",
            show(&r)
        ),
    );
    // An item is queued: on an empty list this call would wait 2^40 s.
    let _ = list.push_back(&msg(4)).await;
    let r = list.pop_front_blocking(Duration::from_secs(1 << 40)).await;
    c.note(format!(
        "pop_front_blocking(2^40 s) with items queued -> {}",
        show(&r)
    ));
    c.check(
        matches!(&r, Ok(Some(m)) if m.n == 4),
        format!(
            "pop_front_blocking(2^40 s) with an item returns it: {}",
            show(&r)
        ),
    );
    let z = store.sorted_set::<Board>(&id);
    let _ = z.add(&s("a"), 1).await;
    let r = z
        .range_by_score(
            Bound::Unbounded,
            Bound::Unbounded,
            Order::Ascending,
            Some((0, u64::MAX)),
        )
        .await;
    c.check(
        matches!(&r, Ok(v) if v.len() == 1),
        format!(
            "range_by_score limit (0, u64::MAX) returns everything: {}",
            show(&r)
        ),
    );
    let r = z
        .range_by_score(
            Bound::Unbounded,
            Bound::Unbounded,
            Order::Ascending,
            Some((u64::MAX, 1)),
        )
        .await;
    c.check(
        matches!(&r, Ok(v) if v.is_empty()),
        format!(
            "range_by_score offset u64::MAX returns nothing: {}",
            show(&r)
        ),
    );
    let r = z
        .range_by_lex(
            Bound::Unbounded,
            Bound::Unbounded,
            Order::Ascending,
            Some((0, u64::MAX)),
        )
        .await;
    c.check(
        matches!(&r, Ok(v) if v.len() == 1),
        format!(
            "range_by_lex limit (0, u64::MAX) returns everything: {}",
            show(&r)
        ),
    );
    c.finish();
}

/// A `take_blocking` dropped while it waits loses nothing: an item the
/// server moved is in the consumer's in-flight list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_take_blocking_loses_nothing() {
    let mut c = Checks::new("dropped_take_blocking_loses_nothing");
    let (_server, store, _con) = start().await;
    let qid = s("drop");
    let q = store.list::<Q>(&qid);
    let mut lost = 0;
    let mut dup = 0;
    for round in 0..20u64 {
        let fut = q.take_blocking("w", Duration::from_secs(2));
        // Drop it mid-wait, then enqueue.
        let _ = tokio::time::timeout(Duration::from_millis(20 + round * 3), fut).await;
        let _ = q.enqueue(&msg(round)).await;
        // The item is in the queue or in flight, exactly once (bounded poll:
        // a blocked server-side BLMOVE may still move it).
        let deadline = Instant::now() + Duration::from_secs(4);
        let mut total = 0;
        while Instant::now() < deadline {
            let queued = q.len().await.unwrap_or(0);
            let flying = q.in_flight("w").await.map(|v| v.len() as u64).unwrap_or(0);
            total = queued + flying;
            if total == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if total == 0 {
            lost += 1;
        }
        if total > 1 {
            dup += 1;
        }
        let _ = q.recover("w").await;
        let _ = q.trim(1, 0).await;
    }
    c.check(
        lost == 0 && dup == 0,
        format!("20 dropped take_blocking calls: {lost} items lost, {dup} duplicated"),
    );
    c.finish();
}

/// Scans and blocking calls when the server hangs or goes away mid-way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scans_and_blocking_calls_when_the_server_goes_away() {
    let mut c = Checks::new("scans_and_blocking_calls_when_the_server_goes_away");
    let (mut server, store, _con) = start().await;
    let id = s("big");
    let nums = store.set::<Nums>(&id);
    let _ = nums.add_many(&(0..20_000).collect::<Vec<u64>>()).await;
    let mut scan = Box::pin(nums.scan());
    let mut seen = 0;
    while seen < 10 {
        match scan.next().await {
            Some(Ok(_)) => seen += 1,
            _ => break,
        }
    }
    c.check(seen == 10, "the scan started");

    // A blocking take on a hung server returns within connect + wait +
    // response timeout.
    let qid = s("q");
    server.pause().unwrap();
    let t0 = Instant::now();
    let r = store
        .list::<Q>(&qid)
        .take_blocking("w", Duration::from_millis(500))
        .await
        .map(|d| d.map(|d| d.into_item()));
    let took = t0.elapsed();
    server.resume().unwrap();
    c.check(
        r.is_err()
            && took < CONNECT + Duration::from_millis(500) + RESPONSE + Duration::from_millis(1000),
        format!(
            "take_blocking on a hung server fails within the bound: {} after {took:?}",
            show(&r)
        ),
    );

    server.stop();
    let t0 = Instant::now();
    let rest = tokio::time::timeout(Duration::from_secs(30), async {
        let mut ok = 0u64;
        let mut errs = Vec::new();
        while let Some(item) = scan.next().await {
            match item {
                Ok(_) => ok += 1,
                Err(e) => errs.push(kind(&e)),
            }
        }
        (ok, errs)
    })
    .await;
    let took = t0.elapsed();
    match rest {
        Ok((ok, errs)) => {
            c.note(format!(
                "after the stop the scan yielded {ok} more members and errors {errs:?} in {took:?}"
            ));
            c.check(
                errs.len() == 1 && errs[0] == "connection",
                format!("a scan whose server went away ends with one connection error: {errs:?}"),
            );
            c.check(
                took < BOUND * 2,
                format!("and ends within the bound ({took:?})"),
            );
        }
        Err(_) => c.check(false, "the scan hung after the server went away"),
    }
    let t0 = Instant::now();
    let r = store
        .list::<Hist>(&id)
        .pop_front_blocking(Duration::from_secs(3))
        .await;
    c.check(
        kind_of(&r) == "connection" && t0.elapsed() < BOUND,
        format!(
            "a blocking pop against a stopped server fails fast: {} after {:?}",
            show(&r),
            t0.elapsed()
        ),
    );
    c.finish();
}

/// Acks, requeues and recovers racing each other on the same items; capped
/// pushes racing; ids and consumer names that cannot be key parts.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn queue_races_caps_and_key_parts() {
    let mut c = Checks::new("queue_races_caps_and_key_parts");
    let (_server, store, _con) = start().await;
    let qid = s("race");
    let q = store.list::<Q>(&qid);

    // ack racing recover: each item is either acked (true) or back in the
    // queue, never both, never neither.
    for round in 0..5u64 {
        let n = 50u64;
        let _ = q
            .enqueue_many(&(0..n).map(|i| msg(round * 1000 + i)).collect::<Vec<_>>())
            .await;
        let mut held = Vec::new();
        while let Ok(Some(d)) = q.take("c").await {
            held.push(d);
        }
        let acker = {
            let store = store.clone();
            let qid = qid.clone();
            tokio::spawn(async move {
                let q = store.list::<Q>(&qid);
                let mut acked = BTreeSet::new();
                for d in held {
                    if matches!(q.ack(&d).await, Ok(true)) {
                        acked.insert(d.item().n);
                    }
                }
                acked
            })
        };
        let recovered = q.recover("c").await.unwrap_or(0);
        let acked = acker.await.unwrap();
        let queued: BTreeSet<u64> = q
            .range(0, -1)
            .await
            .unwrap_or_default()
            .iter()
            .map(|m| m.n)
            .collect();
        let both = acked.intersection(&queued).count();
        c.check(
            acked.len() + queued.len() == n as usize && both == 0 && recovered as usize == queued.len(),
            format!(
                "round {round}: ack racing recover: {} acked + {} queued = {n}, {both} both, recover said {recovered}",
                acked.len(),
                queued.len()
            ),
        );
        let _ = q.trim(1, 0).await;
    }

    // Two concurrent requeues of one delivery: one wins, one copy.
    for _ in 0..10 {
        let _ = q.enqueue(&msg(1)).await;
        let Ok(Some(d)) = q.take("r").await else {
            c.check(false, "take for the requeue race");
            break;
        };
        let (a, b) = tokio::join!(q.requeue(&d), q.requeue(&d));
        let wins = [a, b].iter().filter(|r| matches!(r, Ok(true))).count();
        let len = q.len().await.unwrap_or(99);
        c.check(
            wins == 1 && len == 1,
            format!("concurrent requeues: {wins} won, queue length {len}"),
        );
        let _ = q.trim(1, 0).await;
    }

    // Capped pushes racing: the cap holds.
    let hid = s("capped");
    let mut tasks = Vec::new();
    for w in 0..10u64 {
        let store = store.clone();
        let hid = hid.clone();
        tasks.push(tokio::spawn(async move {
            let list = store.list::<Hist>(&hid);
            let mut max = 0;
            for i in 0..20 {
                let r = if i % 2 == 0 {
                    list.push_back(&msg(w * 100 + i)).await
                } else {
                    list.push_front_many(&[msg(w * 100 + i), msg(w * 100 + i + 50)])
                        .await
                };
                max = max.max(r.unwrap_or(99));
            }
            max
        }));
    }
    let mut max = 0;
    for t in tasks {
        max = max.max(t.await.unwrap());
    }
    let len = store.list::<Hist>(&hid).len().await.unwrap_or(99);
    c.check(
        max <= 5 && len == 5,
        format!("200 racing capped pushes: max length reported {max}, final {len}"),
    );

    // Ids and consumer names that cannot be key parts: refused, nothing sent.
    let empty = s("");
    let long = "x".repeat(2000);
    for (what, r) in [
        (
            "set add with an empty id",
            kind_of(&store.set::<Names>(&empty).add(&s("m")).await),
        ),
        (
            "counter hit with an empty id",
            kind_of(&store.counter::<Hits>(&empty).hit(1).await),
        ),
        (
            "map set with a 2000-byte id",
            kind_of(&store.map::<Marks>(&long).set(&s("f"), &1).await),
        ),
        (
            "queue take with a 2000-byte consumer",
            kind_of(&q.take(&long).await.map(|d| d.map(|d| d.into_item()))),
        ),
        (
            "queue recover with a 2000-byte consumer",
            kind_of(&q.recover(&long).await),
        ),
    ] {
        c.check(
            r == "invalid_key_part",
            format!("{what} is InvalidKeyPart: {r}"),
        );
    }
    let load_id = s("nan");
    let r = store
        .sorted_set::<Load>(&load_id)
        .incr(&s("m"), f64::NAN)
        .await;
    c.check(
        r.is_err() && kind_of(&r) != "other",
        format!("incr by NaN is a typed refusal: {}", show(&r)),
    );
    c.check(
        matches!(store.exists::<Load>(&load_id).await, Ok(false)),
        "and nothing was written",
    );
    c.finish();
}

/// A rate limit over a counter that went negative; decode errors that must
/// not quote stored values; a multi-pop over a corrupt item.
#[tokio::test]
async fn negative_windows_and_private_decode_errors() {
    let mut c = Checks::new("negative_windows_and_private_decode_errors");
    let (_server, store, mut con) = start().await;
    let id = s("neg");
    let counter = store.counter::<Hits>(&id);
    let _ = counter.set(-10).await;
    let store2 = store.clone();
    let r = guarded(async move {
        let id = s("neg");
        store2
            .counter::<Hits>(&id)
            .hit(5)
            .await
            .map(|rl| (rl.count, rl.allowed(), rl.remaining()))
    })
    .await;
    c.note(format!(
        "hit(5) on a counter at -10 -> {:?}",
        r.as_ref().map(show)
    ));
    c.check(
        matches!(&r, Ok(Ok((_, true, _))) | Ok(Err(_))),
        format!(
            "hit(5) on a counter at -10 (9 below the limit) is allowed or a typed error, never a denial from a wrapped count: {:?}",
            r.as_ref().map(show)
        ),
    );

    // Decode errors never quote stored values.
    let lid = s("secret");
    let key = store.key::<Hist>(&lid).unwrap();
    let _: i64 = raw!(
        &mut con,
        "RPUSH",
        &key,
        "{\"n\":\"secret-123\",\"text\":\"x\"}"
    )
    .unwrap();
    let _: i64 = raw!(&mut con, "RPUSH", &key, "{\"n\":1,\"text\":7777777}").unwrap();
    let list = store.list::<Hist>(&lid);
    for i in 0..2 {
        let r = list.get(i).await;
        let text = match &r {
            Err(e) => format!("{e} {e:?}"),
            Ok(v) => format!("{v:?}"),
        };
        c.check(
            kind_of(&r) == "decode" && !text.contains("secret-123") && !text.contains("7777777"),
            format!("item {i}: Decode without the stored value: {text}"),
        );
    }
    let mkey = store.key::<Marks>(&lid).unwrap();
    let _: i64 = raw!(&mut con, "HSET", &mkey, "f", "secret-456").unwrap();
    let r = store.map::<Marks>(&lid).get(&s("f")).await;
    let text = r
        .as_ref()
        .err()
        .map(|e| format!("{e} {e:?}"))
        .unwrap_or_default();
    c.check(
        kind_of(&r) == "decode" && !text.contains("secret-456"),
        format!("map value: Decode without the stored value: {text}"),
    );

    // pop_front_many over a corrupt item: the error, and all were removed.
    let pid = s("pops");
    let pkey = store.key::<Hist>(&pid).unwrap();
    let pops = store.list::<Hist>(&pid);
    let _ = pops.push_back(&msg(1)).await;
    let _: i64 = raw!(&mut con, "RPUSH", &pkey, "corrupt").unwrap();
    let _ = pops.push_back(&msg(3)).await;
    let r = pops.pop_front_many(3).await;
    c.check(
        kind_of(&r) == "decode",
        format!("pop_front_many over a corrupt item is Decode: {}", show(&r)),
    );
    c.check(
        matches!(pops.len().await, Ok(0)),
        "and all of them were removed (documented)",
    );
    c.finish();
}
