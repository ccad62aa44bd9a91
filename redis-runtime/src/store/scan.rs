//! Scanning a model's keys: `scan_ids` and `count`.

use futures_util::Stream;

use super::{Retry, Store};
use crate::error::{DecodeError, DecodeErrorKind, Error, Result};
use crate::model::RedisModel;

impl Store {
    /// Streams the id of every stored entity of `M` with `SCAN`, a page at a time.
    ///
    /// The `MATCH` pattern is built from the template with the namespace and
    /// literals glob-escaped, and every key the server returns is checked against
    /// the template before it is parsed, so keys of other models are never
    /// yielded. A key that has the template's shape but whose parts do not parse
    /// as the id's types yields a [`DecodeErrorKind::KeyPart`] error. Like `SCAN`
    /// itself, an entity present for the whole scan is yielded at least once.
    pub fn scan_ids<M: RedisModel>(&self) -> impl Stream<Item = Result<M::Id>> + Send + 'static
    where
        M::Id: 'static,
    {
        let store = self.clone();
        let pattern = M::META.key.scan_pattern(&self.namespace);
        struct State<I> {
            cursor: u64,
            started: bool,
            page: std::vec::IntoIter<Vec<u8>>,
            _id: std::marker::PhantomData<fn() -> I>,
        }
        let state = State::<M::Id> {
            cursor: 0,
            started: false,
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
                    if state.started && state.cursor == 0 {
                        return None;
                    }
                    state.started = true;
                    let mut cmd = redis::cmd("SCAN");
                    cmd.arg(state.cursor)
                        .arg("MATCH")
                        .arg(&pattern)
                        .arg("COUNT")
                        .arg(500);
                    let page: Result<(u64, Vec<Vec<u8>>)> = store
                        .query::<M, _, _, _>("scan", Retry::Once, |mut con| {
                            let cmd = &cmd;
                            async move { cmd.query_async(&mut con).await }
                        })
                        .await;
                    match page {
                        Ok((cursor, keys)) => {
                            state.cursor = cursor;
                            state.page = keys.into_iter();
                        }
                        Err(err) => {
                            // End the stream after reporting the error.
                            state.cursor = 0;
                            state.page = Vec::new().into_iter();
                            return Some((Err(err), state));
                        }
                    }
                }
            }
        })
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
