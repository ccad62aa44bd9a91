//! The slot map, as the store sees it: which primary serves which slots.
//!
//! redis-rs refreshes its own map when a node answers `MOVED`, but a primary
//! that hangs (stopped, or cut off by a partition) answers nothing: each
//! command to it times out, and without a refresh every later command of its
//! slots would keep going to it, also after a replica has taken over.
//! redis-rs offers no call for a refresh, and its refresh holds up every
//! command, to every node, until it ends (up to a connect timeout with a
//! hung node). So the store asks for one only when the map has changed: after
//! a command fails without an answer, it reads `CLUSTER SLOTS` from whichever
//! primary answers first and compares it with the map it last saw; only a
//! different map (a failover has happened) makes redis-rs refresh, by a
//! command routed to an address that is no node, which fails at once
//! without being sent. When no primary answers the check at all, the
//! connection is replaced on the next call.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::select_ok;
use redis::cluster_async::ClusterConnection as Nodes;
use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
use redis::{ErrorKind, RedisError, RedisResult, Value};
use tokio::time::Instant;

use super::Node;
use super::direct::{Direct, to_node};

/// The least time between two checks.
const CHECK_GAP: Duration = Duration::from_millis(100);

/// Slot ranges and the primary serving each, sorted.
pub(crate) type SlotMap = Vec<(u16, u16, Node)>;

/// The map last seen, and whether a check is under way.
#[derive(Default)]
pub(crate) struct Topology {
    state: Mutex<State>,
    /// No primary answered a check: the connection is replaced by a new one
    /// on the next call (see [`Topology::take_stale`]).
    stale: AtomicBool,
}

#[derive(Default)]
struct State {
    map: SlotMap,
    checking: bool,
    last_check: Option<Instant>,
}

impl Topology {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records the map read on connecting.
    pub(crate) fn seen(&self, map: SlotMap) {
        self.lock().map = map;
        self.stale.store(false, Ordering::Release);
    }

    /// Whether the connection should be replaced: a check after a failure
    /// found no primary answering through it. That is a cluster that is
    /// down (a new connection fails fast, and works once it is back), or a
    /// redis-rs connection that no longer recovers by itself (seen after a
    /// primary restarted under load: every command to every node timed
    /// out), which a new connection does not inherit.
    pub(crate) fn take_stale(&self) -> bool {
        self.stale.swap(false, Ordering::AcqRel)
    }

    /// The primary serving `slot` in the map last seen.
    pub(crate) fn node_for(&self, slot: u16) -> Option<Node> {
        self.lock()
            .map
            .iter()
            .find(|(start, end, _)| (*start..=*end).contains(&slot))
            .map(|(_, _, node)| node.clone())
    }

    /// The primaries of the map last seen, each once.
    pub(crate) fn primaries(&self) -> Vec<Node> {
        let mut primaries: Vec<Node> = self.lock().map.iter().map(|(_, _, n)| n.clone()).collect();
        primaries.sort();
        primaries.dedup();
        primaries
    }

    /// Records the map most primaries agree on, read for a scan; a map that
    /// differs from the one last seen (a failover without a failed command)
    /// makes redis-rs refresh its own, in the background.
    pub(crate) fn agreed(&self, nodes: &Nodes, map: &SlotMap) {
        {
            let mut state = self.lock();
            if state.map == *map {
                return;
            }
            state.map = map.clone();
        }
        let nodes = nodes.clone();
        tokio::spawn(async move { refresh(&nodes).await });
    }

    /// After a command failed without an answer (a timeout, a dropped
    /// connection): checks, in the background, whether the map changed, and
    /// makes redis-rs refresh its own if it did.
    pub(crate) fn after_failure(
        self: &Arc<Self>,
        nodes: &Nodes,
        direct: Option<Arc<Direct>>,
        err: &RedisError,
        budget: Duration,
    ) {
        if !(err.is_timeout() || err.is_io_error() || err.is_connection_dropped()) {
            return;
        }
        {
            let mut state = self.lock();
            if state.checking || state.last_check.is_some_and(|at| at.elapsed() < CHECK_GAP) {
                return;
            }
            state.checking = true;
        }
        let this = self.clone();
        let nodes = nodes.clone();
        tokio::spawn(async move {
            let primaries = this.primaries();
            let read = read_map(&nodes, direct.as_deref(), &primaries, budget).await;
            let changed = {
                let mut state = this.lock();
                state.checking = false;
                state.last_check = Some(Instant::now());
                match read {
                    Ok(map) if map != state.map => {
                        state.map = map;
                        true
                    }
                    Ok(_) => false,
                    Err(_) => {
                        tracing::debug!("no primary answers; the next call reconnects");
                        this.stale.store(true, Ordering::Release);
                        false
                    }
                }
            };
            if changed {
                tracing::debug!("the slot map changed; refreshing redis-rs's");
                refresh(&nodes).await;
            }
        });
    }
}

/// Makes redis-rs rebuild its slot map, and waits until it has.
pub(crate) async fn refresh(nodes: &Nodes) {
    let mut nodes = nodes.clone();
    let nowhere = SingleNodeRoutingInfo::ByAddress {
        host: "redis-runtime.invalid".to_owned(),
        port: 0,
    };
    let _ = nodes
        .route_command(redis::cmd("PING"), RoutingInfo::SingleNode(nowhere))
        .await;
    // Queued behind the refresh: done when the refresh is.
    let _ = nodes
        .route_command(
            redis::cmd("PING"),
            RoutingInfo::SingleNode(SingleNodeRoutingInfo::Random),
        )
        .await;
}

/// `CLUSTER SLOTS` from the first of `primaries` to answer (or any node,
/// when none is known), within `budget`.
pub(crate) async fn read_map(
    nodes: &Nodes,
    direct: Option<&Direct>,
    primaries: &[Node],
    budget: Duration,
) -> RedisResult<SlotMap> {
    let slots = redis::cmd("CLUSTER").arg("SLOTS").clone();
    let timed_out = || RedisError::from((ErrorKind::Io, "CLUSTER SLOTS timed out"));
    if primaries.is_empty() {
        let mut nodes = nodes.clone();
        let random = RoutingInfo::SingleNode(SingleNodeRoutingInfo::Random);
        let reply = tokio::time::timeout(budget, nodes.route_command(slots, random))
            .await
            .map_err(|_| timed_out())??;
        return parse_slots(&reply);
    }
    let asks = primaries.iter().map(|node| {
        let slots = &slots;
        async move {
            let reply = tokio::time::timeout(budget, to_node(nodes, direct, node, slots))
                .await
                .map_err(|_| timed_out())??;
            parse_slots(&reply)
        }
        .boxed()
    });
    select_ok(asks).await.map(|(map, _)| map)
}

/// `CLUSTER SLOTS` from every one of `primaries` that answers within
/// `budget`, and the map most of them give: right after a failover a node
/// may still list the old primary, and a scan must not go to it.
pub(crate) async fn read_map_agreed(
    nodes: &Nodes,
    direct: Option<&Direct>,
    primaries: &[Node],
    budget: Duration,
) -> RedisResult<SlotMap> {
    if primaries.len() < 2 {
        return read_map(nodes, direct, primaries, budget).await;
    }
    let asks = primaries
        .iter()
        .map(|node| read_map(nodes, direct, std::slice::from_ref(node), budget));
    let mut maps: Vec<(SlotMap, usize)> = Vec::new();
    let mut last_err = None;
    for reply in futures_util::future::join_all(asks).await {
        match reply {
            Ok(map) => match maps.iter_mut().find(|(m, _)| *m == map) {
                Some((_, votes)) => *votes += 1,
                None => maps.push((map, 1)),
            },
            Err(err) => last_err = Some(err),
        }
    }
    maps.sort_by_key(|(_, votes)| std::cmp::Reverse(*votes));
    match maps.into_iter().next() {
        Some((map, _)) => Ok(map),
        None => Err(last_err.unwrap_or_else(|| {
            RedisError::from((ErrorKind::Io, "no node answered CLUSTER SLOTS"))
        })),
    }
}

/// The slot ranges of a `CLUSTER SLOTS` reply with their primaries (the first
/// node of each range), sorted.
pub(crate) fn parse_slots(reply: &Value) -> RedisResult<SlotMap> {
    let invalid = || RedisError::from((ErrorKind::Parse, "unexpected CLUSTER SLOTS reply"));
    let Value::Array(ranges) = reply else {
        return Err(invalid());
    };
    let mut map = Vec::with_capacity(ranges.len());
    for range in ranges {
        let Value::Array(range) = range else {
            return Err(invalid());
        };
        let bound = |i: usize| match range.get(i) {
            Some(Value::Int(n)) => u16::try_from(*n).map_err(|_| invalid()),
            _ => Err(invalid()),
        };
        let Some(Value::Array(primary)) = range.get(2) else {
            return Err(invalid());
        };
        let host = match primary.first() {
            Some(Value::BulkString(host)) => String::from_utf8_lossy(host).into_owned(),
            Some(Value::SimpleString(host)) => host.clone(),
            _ => return Err(invalid()),
        };
        let port = match primary.get(1) {
            Some(Value::Int(port)) => u16::try_from(*port).map_err(|_| invalid())?,
            _ => return Err(invalid()),
        };
        map.push((bound(0)?, bound(1)?, Node { host, port }));
    }
    map.sort();
    Ok(map)
}
