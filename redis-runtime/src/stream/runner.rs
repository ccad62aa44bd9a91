//! The consumer runner: [`Runner`].

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::stream::FuturesUnordered;
use futures_util::{FutureExt, StreamExt};
use tokio::time::Instant;

use super::group::{self, Delivered, GroupKeys};
use super::{EntryId, RedisStream, decode_event};
use crate::error::Result;
use crate::store::Store;

/// An entry handed to a runner's handler: decoded (an entry that does not
/// decode is dead-lettered by the runner, never handed over).
pub struct Message<S: RedisStream> {
    /// The entry's id.
    pub id: EntryId,
    /// The event.
    pub event: S::Event,
    /// Deliveries so far, this one included (1 the first time).
    pub deliveries: u64,
}

impl<S: RedisStream> fmt::Debug for Message<S>
where
    S::Event: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("id", &self.id)
            .field("event", &self.event)
            .field("deliveries", &self.deliveries)
            .finish()
    }
}

/// What a run did, returned when it stops.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunStats {
    /// Entries whose handler returned `Ok`, acknowledged.
    pub processed: u64,
    /// Handler calls that returned `Err` (or panicked).
    pub failed: u64,
    /// Entries moved to the dead-letter stream: over the delivery limit, or
    /// not decodable.
    pub dead_lettered: u64,
    /// Entries taken over from other consumers (idle longer than
    /// `min_idle`).
    pub reclaimed: u64,
    /// Pending entries found deleted (trimmed) before they were processed.
    pub deleted: u64,
}

/// Runs a handler over the entries of one consumer group, for one
/// consumer: from [`Group::runner`](super::Group::runner).
///
/// What it guarantees:
/// - **At least once.** An entry is acknowledged only after its handler
///   returned `Ok` (acknowledgements are batched into one `XACK` per turn of
///   the loop). An entry whose handler failed stays pending and is delivered
///   again after `retry_after`; a runner that dies leaves its entries
///   pending, and they are taken over by another consumer of the group once
///   idle for `min_idle`, or by this consumer when it starts again.
/// - **A delivery limit.** An entry whose handler failed on its
///   `max_deliveries`-th delivery (or that would be delivered more often
///   than that after its consumers died) goes to the declaration's
///   dead-letter stream and is acknowledged, in one script. An entry that
///   does not decode is dead-lettered at once, on its own: its batch goes on.
/// - **Bounded concurrency.** At most `concurrency` handlers run at once
///   (on the runner's task); a read asks for no more than there is room for.
/// - **Graceful stop.** When `shutdown` completes, it stops reading, lets the
///   handlers in flight finish (and acknowledges them), and returns. Entries
///   waiting for a retry are left pending for the group.
///
/// `min_idle` must be longer than any handler takes: an entry pending longer
/// than that is taken over even from a live consumer.
pub struct Runner<S: RedisStream> {
    store: Store,
    keys: Result<GroupKeys>,
    consumer: String,
    concurrency: usize,
    batch: usize,
    max_deliveries: u64,
    min_idle: Duration,
    retry_after: Duration,
    block: Duration,
    _family: PhantomData<fn() -> S>,
}

impl<S: RedisStream> fmt::Debug for Runner<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runner")
            .field("stream", &S::META.name)
            .field("consumer", &self.consumer)
            .field("concurrency", &self.concurrency)
            .field("batch", &self.batch)
            .field("max_deliveries", &self.max_deliveries)
            .field("min_idle", &self.min_idle)
            .field("retry_after", &self.retry_after)
            .finish_non_exhaustive()
    }
}

/// The first pause after a transient error; it doubles up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(50);
/// The longest pause after transient errors.
const MAX_PAUSE: Duration = Duration::from_secs(2);

/// Errors a runner waits out: the connection, a timeout, a server that is
/// loading, failing over or refusing for now.
fn transient(err: &crate::Error) -> bool {
    matches!(
        err,
        crate::Error::Connection { .. }
            | crate::Error::Timeout { .. }
            | crate::Error::Unavailable { .. }
    )
}

/// How often a runner records its group's pending count and lag.
const BACKLOG_EVERY: Duration = Duration::from_secs(5);

/// How a handler call ended.
struct Done {
    id: EntryId,
    deliveries: u64,
    failure: Option<String>,
}

type Reading<S> = BoxFuture<'static, Result<Vec<Delivered<S>>>>;

impl<S: RedisStream> Runner<S> {
    pub(crate) fn new(store: Store, keys: Result<GroupKeys>, consumer: String) -> Self {
        Runner {
            store,
            keys,
            consumer,
            concurrency: 16,
            batch: 64,
            max_deliveries: 5,
            min_idle: Duration::from_secs(60),
            retry_after: Duration::from_secs(1),
            block: Duration::from_secs(2),
            _family: PhantomData,
        }
    }

    /// The most handlers running at once (default 16, at least 1).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// The most entries one read asks for (default 64, at least 1).
    pub fn batch(mut self, n: usize) -> Self {
        self.batch = n.max(1);
        self
    }

    /// How many deliveries an entry gets before it is dead-lettered
    /// (default 5; 0: no limit, a failing entry is retried for ever).
    pub fn max_deliveries(mut self, n: u64) -> Self {
        self.max_deliveries = n;
        self
    }

    /// How long an entry of another consumer must have been pending before
    /// this one takes it over (default 60 s). Longer than any handler takes.
    pub fn min_idle(mut self, idle: Duration) -> Self {
        self.min_idle = idle;
        self
    }

    /// How long after a failed handler call the entry is delivered again
    /// (default 1 s).
    pub fn retry_after(mut self, pause: Duration) -> Self {
        self.retry_after = pause;
        self
    }

    /// How long one read waits for new entries when there are none
    /// (default 2 s; the wait ends early when something else is due).
    pub fn block(mut self, wait: Duration) -> Self {
        self.block = wait.max(Duration::from_millis(1));
        self
    }

    /// Runs `handler` until `shutdown` completes (see [`Runner`]); returns
    /// what it did. Transient errors (a lost connection, a timeout, a server
    /// loading or failing over) pause it, 50 ms doubling to 2 s, and it goes
    /// on, losing nothing. Other errors of the group's commands end the run
    /// (a missing group included: create it first with
    /// [`Group::create`](super::Group::create)); the entries it held stay
    /// pending.
    pub async fn run<H, F, E>(
        mut self,
        handler: H,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<RunStats>
    where
        H: Fn(Message<S>) -> F + Send + Sync + 'static,
        F: Future<Output = std::result::Result<(), E>> + Send + 'static,
        E: fmt::Display + Send + 'static,
    {
        let keys = std::mem::replace(&mut self.keys, Ok(GroupKeys::default()))?;
        let mut turn = Turn {
            runner: &self,
            keys,
            handler: Arc::new(handler),
            in_flight: FuturesUnordered::new(),
            acks: Vec::new(),
            retries: HashMap::new(),
            stats: RunStats::default(),
        };
        turn.recover_own().await?;
        let tick = (self.min_idle / 2).clamp(Duration::from_millis(50), Duration::from_secs(10));
        let mut next_reclaim = Instant::now();
        let mut reclaim_from = EntryId::ZERO;
        let mut next_backlog = Instant::now() + BACKLOG_EVERY;
        let mut reading: Option<Reading<S>> = None;
        let mut shutting_down = false;
        let mut shutdown = std::pin::pin!(shutdown);
        let mut pause = FIRST_PAUSE;
        // A transient failure (the connection lost, a timeout, the server
        // loading or failing over) pauses the loop, doubling from 50 ms to
        // 2 s, and it goes on: nothing it held is lost (unacknowledged
        // entries stay pending, acknowledgements are sent again). Any other
        // error ends the run.
        macro_rules! attempt {
            ($e:expr) => {
                match $e {
                    Ok(value) => value,
                    Err(err) if transient(&err) => {
                        tracing::warn!(
                            stream = S::META.name,
                            consumer = %self.consumer,
                            error = %err,
                            ?pause,
                            "the consumer runner pauses after a transient error"
                        );
                        reading = None;
                        tokio::select! {
                            () = tokio::time::sleep(pause) => {}
                            () = &mut shutdown, if !shutting_down => shutting_down = true,
                        }
                        pause = (pause * 2).min(MAX_PAUSE);
                        continue;
                    }
                    Err(err) => return Err(err),
                }
            };
        }
        loop {
            attempt!(turn.flush_acks().await);
            if shutting_down {
                if turn.in_flight.is_empty() {
                    break;
                }
            } else {
                attempt!(turn.retry_due().await);
                if Instant::now() >= next_reclaim {
                    let reclaimed = attempt!(turn.reclaim(reclaim_from).await);
                    reclaim_from = reclaimed;
                    next_reclaim = if reclaim_from == EntryId::ZERO {
                        Instant::now() + tick
                    } else {
                        Instant::now()
                    };
                }
                if Instant::now() >= next_backlog {
                    attempt!(turn.record_backlog().await);
                    next_backlog = Instant::now() + BACKLOG_EVERY;
                }
                if reading.is_none() && turn.in_flight.len() < self.concurrency {
                    let room = (self.concurrency - turn.in_flight.len()).min(self.batch);
                    reading = Some(self.read(&turn.keys, room));
                }
            }
            let next_retry = turn.retries.values().map(|r| r.0).min();
            let wake = next_retry
                .map_or(next_reclaim, |r| r.min(next_reclaim))
                .min(next_backlog);
            tokio::select! {
                biased;
                () = &mut shutdown, if !shutting_down => {
                    shutting_down = true;
                    // A blocked read is dropped (its connection closes);
                    // anything it was handed stays pending for the group.
                    reading = None;
                }
                Some(done) = turn.in_flight.next(), if !turn.in_flight.is_empty() => {
                    attempt!(turn.finish(done).await);
                    // Every handler that is done by now: their acks go in
                    // one XACK.
                    while let Some(Some(done)) = turn.in_flight.next().now_or_never() {
                        attempt!(turn.finish(done).await);
                    }
                }
                read = async { reading.as_mut().expect("guarded").await }, if reading.is_some() => {
                    reading = None;
                    for delivered in attempt!(read) {
                        attempt!(turn.start(delivered).await);
                    }
                    pause = FIRST_PAUSE;
                }
                () = tokio::time::sleep_until(wake), if !shutting_down => {}
            }
        }
        turn.flush_acks().await?;
        Ok(turn.stats)
    }

    /// Runs `handler` on a task of its own (see [`Runner::run`]); stop it
    /// with [`RunnerHandle::stop`].
    pub fn spawn<H, F, E>(self, handler: H) -> RunnerHandle
    where
        H: Fn(Message<S>) -> F + Send + Sync + 'static,
        F: Future<Output = std::result::Result<(), E>> + Send + 'static,
        E: fmt::Display + Send + 'static,
    {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(self.run(handler, async move {
            let _ = stopped.await;
        }));
        RunnerHandle {
            stop: Some(stop),
            task,
        }
    }

    fn read(&self, keys: &GroupKeys, count: usize) -> Reading<S> {
        let store = self.store.clone();
        let keys = keys.clone();
        let consumer = self.consumer.clone();
        let block = self.block;
        Box::pin(
            async move { group::read_new::<S>(&store, &keys, &consumer, count, Some(block)).await },
        )
    }
}

/// A runner on a task of its own, from [`Runner::spawn`].
#[derive(Debug)]
pub struct RunnerHandle {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<RunStats>>,
}

impl RunnerHandle {
    /// Stops the runner gracefully (see [`Runner`]) and returns what it did.
    pub async fn stop(mut self) -> Result<RunStats> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.join().await
    }

    /// Waits for the runner to end on its own (an error of the group's
    /// commands).
    pub async fn join(self) -> Result<RunStats> {
        match self.task.await {
            Ok(result) => result,
            Err(err) => std::panic::resume_unwind(err.into_panic()),
        }
    }

    /// Ends the runner now, as a crash would: handlers in flight are
    /// dropped and nothing more is acknowledged; their entries stay pending
    /// for the group.
    pub fn abort(self) {
        self.task.abort();
    }
}

/// The state of one run.
struct Turn<'r, S: RedisStream, H> {
    runner: &'r Runner<S>,
    keys: GroupKeys,
    handler: Arc<H>,
    in_flight: FuturesUnordered<Pin<Box<dyn Future<Output = Done> + Send>>>,
    acks: Vec<EntryId>,
    /// Entries whose handler failed, due for another delivery: when, and
    /// their deliveries so far.
    retries: HashMap<EntryId, (Instant, u64)>,
    stats: RunStats,
}

impl<S, H, F, E> Turn<'_, S, H>
where
    S: RedisStream,
    H: Fn(Message<S>) -> F + Send + Sync + 'static,
    F: Future<Output = std::result::Result<(), E>> + Send + 'static,
    E: fmt::Display + Send + 'static,
{
    fn model() -> &'static str {
        S::META.name
    }

    /// Starts the handler on a delivered entry, or dead-letters it when it
    /// does not decode.
    async fn start(&mut self, delivered: Delivered<S>) -> Result<()> {
        let Delivered {
            id,
            event,
            deliveries,
        } = delivered;
        let event = match event {
            Ok(event) => event,
            Err(err) => {
                let reason = format!("the event does not decode: {err}");
                self.dead_letter(id, &reason).await?;
                return Ok(());
            }
        };
        let handler = Arc::clone(&self.handler);
        let message = Message {
            id,
            event,
            deliveries,
        };
        self.in_flight.push(Box::pin(async move {
            let outcome = AssertUnwindSafe(async move { handler(message).await })
                .catch_unwind()
                .await;
            let failure = match outcome {
                Ok(Ok(())) => None,
                Ok(Err(err)) => Some(err.to_string()),
                Err(_) => Some("the handler panicked".to_owned()),
            };
            Done {
                id,
                deliveries,
                failure,
            }
        }));
        Ok(())
    }

    async fn finish(&mut self, done: Done) -> Result<()> {
        let Some(reason) = done.failure else {
            self.acks.push(done.id);
            return Ok(());
        };
        self.stats.failed += 1;
        crate::observe::stream_delivery(Self::model(), "failed", 1);
        let limit = self.runner.max_deliveries;
        if limit > 0 && done.deliveries >= limit {
            self.dead_letter(done.id, &reason).await
        } else {
            let due = Instant::now() + self.runner.retry_after;
            self.retries.insert(done.id, (due, done.deliveries));
            Ok(())
        }
    }

    async fn dead_letter(&mut self, id: EntryId, reason: &str) -> Result<()> {
        let store = &self.runner.store;
        match group::dead_letter::<S>(store, &self.keys, id, &self.runner.consumer, reason).await? {
            1 => {
                self.stats.dead_lettered += 1;
                crate::observe::stream_delivery(Self::model(), "dead_lettered", 1);
            }
            0 => {
                self.stats.deleted += 1;
                crate::observe::stream_delivery(Self::model(), "deleted", 1);
            }
            _ => {}
        }
        Ok(())
    }

    async fn flush_acks(&mut self) -> Result<()> {
        if self.acks.is_empty() {
            return Ok(());
        }
        let acks = std::mem::take(&mut self.acks);
        if let Err(err) = group::ack::<S>(&self.runner.store, &self.keys, &acks).await {
            // Sent again on the next turn (acknowledging twice is harmless).
            self.acks = acks;
            return Err(err);
        }
        let n = acks.len() as u64;
        self.stats.processed += n;
        crate::observe::stream_delivery(Self::model(), "processed", n);
        Ok(())
    }

    /// Entries left pending for this consumer by an earlier run: delivered
    /// again now, or dead-lettered when over the limit.
    async fn recover_own(&mut self) -> Result<()> {
        let mut after = EntryId::ZERO;
        loop {
            let pending = group::pending_of::<S>(
                &self.runner.store,
                &self.keys,
                &self.runner.consumer,
                after,
                self.runner.batch,
            )
            .await?;
            let Some(&(last, _)) = pending.last() else {
                return Ok(());
            };
            let limit = self.runner.max_deliveries;
            for (id, deliveries) in pending {
                if limit > 0 && deliveries >= limit {
                    self.dead_letter(id, group::OVER_LIMIT).await?;
                } else {
                    self.retries.insert(id, (Instant::now(), deliveries));
                }
            }
            after = last;
        }
    }

    /// Delivers again the failed entries that are due (`XCLAIM` to this
    /// consumer, which counts the delivery).
    async fn retry_due(&mut self) -> Result<()> {
        let now = Instant::now();
        let room = self.runner.concurrency.saturating_sub(self.in_flight.len());
        let mut due: Vec<(EntryId, u64)> = self
            .retries
            .iter()
            .filter(|(_, (at, _))| *at <= now)
            .map(|(id, (_, n))| (*id, *n))
            .collect();
        if due.is_empty() || room == 0 {
            return Ok(());
        }
        due.sort_unstable();
        due.truncate(room.min(self.runner.batch));
        for (id, _) in &due {
            self.retries.remove(id);
        }
        let ids: Vec<EntryId> = due.iter().map(|(id, _)| *id).collect();
        let claimed =
            group::claim_own::<S>(&self.runner.store, &self.keys, &self.runner.consumer, &ids)
                .await?;
        let gone = ids.len() - claimed.len().min(ids.len());
        if gone > 0 {
            self.stats.deleted += gone as u64;
            crate::observe::stream_delivery(Self::model(), "deleted", gone as u64);
        }
        for mut raw in claimed {
            let deliveries = due
                .iter()
                .find(|(id, _)| *id == raw.id)
                .map_or(1, |(_, n)| n + 1);
            let event = decode_event::<S>(&mut raw);
            self.start(Delivered {
                id: raw.id,
                event,
                deliveries,
            })
            .await?;
        }
        Ok(())
    }

    /// Records the group's pending count and lag in the metrics.
    async fn record_backlog(&mut self) -> Result<()> {
        let store = &self.runner.store;
        let pending = group::pending::<S>(store, &self.keys).await?;
        let lag = group::lag::<S>(store, &self.keys).await?;
        crate::observe::stream_backlog(Self::model(), pending, lag);
        Ok(())
    }

    /// Takes over entries other consumers left idle; returns where the next
    /// scan starts.
    async fn reclaim(&mut self, from: EntryId) -> Result<EntryId> {
        let room = self
            .runner
            .concurrency
            .saturating_sub(self.in_flight.len())
            .min(self.runner.batch);
        if room == 0 {
            return Ok(from);
        }
        let reclaimed = group::reclaim::<S>(
            &self.runner.store,
            &self.keys,
            &self.runner.consumer,
            self.runner.min_idle,
            room,
            self.runner.max_deliveries,
            from,
        )
        .await?;
        let model = Self::model();
        if !reclaimed.deleted.is_empty() {
            self.stats.deleted += reclaimed.deleted.len() as u64;
            crate::observe::stream_delivery(model, "deleted", reclaimed.deleted.len() as u64);
        }
        if !reclaimed.dead_lettered.is_empty() {
            let n = reclaimed.dead_lettered.len() as u64;
            self.stats.dead_lettered += n;
            crate::observe::stream_delivery(model, "dead_lettered", n);
        }
        // Entries of this consumer's own (a retry not yet due) are claimed
        // too once idle; the retry is then this delivery.
        for delivered in reclaimed.entries {
            if self.retries.remove(&delivered.id).is_none() {
                self.stats.reclaimed += 1;
                crate::observe::stream_delivery(model, "reclaimed", 1);
            }
            self.start(delivered).await?;
        }
        Ok(reclaimed.next)
    }
}
