//! Scanning a model's keys: `scan_ids` and `count`.

use futures_util::Stream;

use redis::{Cmd, FromRedisValue, RedisResult};

use super::{Retry, Store, Target};
use crate::connection::{Connection, Node};
use crate::error::{DecodeError, DecodeErrorKind, Error, Result};
use crate::model::RedisModel;

impl Store {
    /// Streams the id of every stored entity of `M` with `SCAN`, a page at a
    /// time; on a Redis Cluster, every primary in turn.
    ///
    /// The `MATCH` pattern is built from the template with the namespace and
    /// literals glob-escaped, and every key the server returns is checked against
    /// the template before it is parsed, so keys of other models are never
    /// yielded. The template's shape includes each part's: a part that cannot
    /// be its field's type as rendered (`notanumber`, `-1`, `007` or `1.0` for
    /// a `u64`: not the digits a `u64` renders as) makes the key another
    /// family's, and it is skipped (`redis-runtime doctor` counts such keys
    /// as unknown). A key of the right shape whose parts still do not parse
    /// (`99999999999999999999`, beyond a `u64`) yields a
    /// [`DecodeErrorKind::KeyPart`] error. Like `SCAN`
    /// itself, an entity present for the whole scan is yielded at least once
    /// (on a cluster: unless its slot migrates to another primary during the
    /// scan).
    pub fn scan_ids<M: RedisModel>(&self) -> impl Stream<Item = Result<M::Id>> + Send + 'static
    where
        M::Id: 'static,
    {
        let store = self.clone();
        let pattern = M::META.key.scan_pattern(&self.namespace);
        struct State<I> {
            /// The nodes still to scan (the one being scanned last); `None`
            /// until the first page, a single `None` entry on one server.
            nodes: Option<Vec<Option<Node>>>,
            cursor: u64,
            page: std::vec::IntoIter<Vec<u8>>,
            _id: std::marker::PhantomData<fn() -> I>,
        }
        let state = State::<M::Id> {
            nodes: None,
            cursor: 0,
            page: Vec::new().into_iter(),
            _id: std::marker::PhantomData,
        };
        futures_util::stream::unfold(state, move |mut state| {
            let store = store.clone();
            let pattern = pattern.clone();
            async move {
                loop {
                    for key in state.page.by_ref() {
                        if let Some(id) = crate::key::parse_key::<M>(&store.namespace, &key) {
                            let id = id.map_err(|e| {
                                Error::Decode(DecodeError::of::<M>(
                                    None,
                                    DecodeErrorKind::KeyPart {
                                        field: e.field,
                                        reason: e.reason,
                                    },
                                ))
                            });
                            return Some((id, state));
                        }
                    }
                    let nodes = match &mut state.nodes {
                        Some(nodes) => nodes,
                        None => match store.scan_nodes::<M>().await {
                            Ok(nodes) => state.nodes.insert(nodes),
                            Err(err) => {
                                state.nodes = Some(Vec::new());
                                return Some((Err(err), state));
                            }
                        },
                    };
                    let node = nodes.last()?.clone();
                    let mut cmd = redis::cmd("SCAN");
                    cmd.arg(state.cursor)
                        .arg("MATCH")
                        .arg(&pattern)
                        .arg("COUNT")
                        .arg(500);
                    let page: Result<(u64, Vec<Vec<u8>>)> = store
                        .query::<M, _, _, _>("scan", Retry::Once, |con| {
                            let (cmd, node) = (&cmd, &node);
                            async move { on_node(con, node.as_ref(), cmd).await }
                        })
                        .await;
                    match page {
                        Ok((cursor, keys)) => {
                            state.cursor = cursor;
                            state.page = keys.into_iter();
                            if cursor == 0 {
                                // This node is done; the next page is the next node's.
                                if let Some(nodes) = &mut state.nodes {
                                    nodes.pop();
                                }
                            }
                        }
                        Err(err) => {
                            // End the stream after reporting the error.
                            state.nodes = Some(Vec::new());
                            state.page = Vec::new().into_iter();
                            return Some((Err(err), state));
                        }
                    }
                }
            }
        })
    }

    /// The nodes a scan covers: the server, or every primary of a cluster
    /// (replicas hold copies of the same keys).
    async fn scan_nodes<M: RedisModel>(&self) -> Result<Vec<Option<Node>>> {
        if !self.link.is_cluster() {
            return Ok(vec![None]);
        }
        self.run(Target::of::<M>(), "scan", Retry::Once, |con| async move {
            match con {
                Connection::Cluster(mut con) => {
                    let primaries = con.primaries().await?;
                    Ok(primaries.into_iter().map(Some).collect())
                }
                Connection::Server(_) | Connection::Invalidating(..) => Ok(vec![None]),
            }
        })
        .await
    }

    /// Counts the stored entities of `M` by scanning (see [`Store::scan_ids`]);
    /// keys whose parts do not parse as the id are not counted. Exact when the
    /// keyspace is not being resized during the scan; `SCAN` may return a key
    /// twice while the server rehashes, and such a key is counted twice.
    pub async fn count<M: RedisModel>(&self) -> Result<u64>
    where
        M::Id: 'static,
    {
        use futures_util::StreamExt;
        let ids = self.scan_ids::<M>();
        futures_util::pin_mut!(ids);
        let mut count = 0;
        while let Some(id) = ids.next().await {
            match id {
                Ok(_) => count += 1,
                Err(Error::Decode(_)) => {}
                Err(err) => return Err(err),
            }
        }
        Ok(count)
    }
}

/// Sends `cmd` to `node`, or by the connection's own routing when `None`.
async fn on_node<T: FromRedisValue>(
    con: Connection,
    node: Option<&Node>,
    cmd: &Cmd,
) -> RedisResult<T> {
    match (con, node) {
        (Connection::Cluster(mut con), Some(node)) => {
            T::from_redis_value(con.on_node(node, cmd).await?).map_err(Into::into)
        }
        (mut con, _) => cmd.query_async(&mut con).await,
    }
}
