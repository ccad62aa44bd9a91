//! What the store tells the outside about its work: metrics through the
//! [`metrics`](https://docs.rs/metrics) facade (feature `metrics`, on by
//! default; the application installs the recorder and picks the exporter),
//! and a WARN log line for each slow operation.
//!
//! Every metric is listed, with its type, unit and labels, in
//! `docs/METRICS.md`; a test runs every operation under a recording recorder
//! and compares what it emits with that table. Labels are low-cardinality
//! only: the operation, the declaration's name and kind, an outcome or error
//! class. Never a key, an id or a value.
//!
//! Without a recorder installed, the facade still builds each labelled key
//! (one allocation for the label list, and a hash) before handing it to its
//! no-op recorder: tens of nanoseconds against a round trip's tens of
//! microseconds.

use std::time::Duration;

use crate::error::Error;
use crate::store::Target;

/// Latency of one operation, including its retry, in seconds.
pub const OPERATION_DURATION: &str = "redis_runtime_operation_duration_seconds";
/// Failed operations by error class and whether they may have been applied.
pub const OPERATION_ERRORS: &str = "redis_runtime_operation_errors_total";
/// Operations sent a second time after their connection dropped.
pub const OPERATION_RETRIES: &str = "redis_runtime_operation_retries_total";
/// Operations slower than the configured threshold.
pub const SLOW_OPERATIONS: &str = "redis_runtime_slow_operations_total";
/// Operations refused before anything was sent (an invalid key part or TTL,
/// a value that does not encode, keys in different hash slots).
pub const REFUSED: &str = "redis_runtime_refused_total";
/// Stored values that did not decode.
pub const DECODE_FAILURES: &str = "redis_runtime_decode_failures_total";
/// Items in one batch operation (`save_many`, `get_many`...).
pub const BATCH_SIZE: &str = "redis_runtime_batch_size";
/// Connections made, remade, failed and lost.
pub const CONNECTION_EVENTS: &str = "redis_runtime_connection_events_total";
/// How long each outage lasted, from the connection's loss to the next one.
pub const DISCONNECTED: &str = "redis_runtime_disconnected_seconds";
/// Stream entries handled by consumer runners, by outcome.
pub const STREAM_DELIVERIES: &str = "redis_runtime_stream_deliveries_total";
/// Entries pending in a consumer group, as a runner last read it.
pub const STREAM_PENDING: &str = "redis_runtime_stream_pending";
/// Entries of a stream a consumer group has not been given yet.
pub const STREAM_LAG: &str = "redis_runtime_stream_lag";
/// Pub/sub subscriptions that lost their connection and subscribed again.
pub const SUBSCRIPTION_GAPS: &str = "redis_runtime_subscription_gaps_total";
/// Queue items moved back to the queue (`requeue`, `recover`).
pub const QUEUE_RETURNED: &str = "redis_runtime_queue_returned_total";
/// Reads of a client-cached model served from the cache.
pub const CLIENT_CACHE_HITS: &str = "redis_runtime_client_cache_hits_total";
/// Reads of a client-cached model sent to the server.
pub const CLIENT_CACHE_MISSES: &str = "redis_runtime_client_cache_misses_total";
/// Client cache entries dropped because their key changed.
pub const CLIENT_CACHE_INVALIDATIONS: &str = "redis_runtime_client_cache_invalidations_total";
/// Client cache entries dropped to stay within the model's budget.
pub const CLIENT_CACHE_EVICTIONS: &str = "redis_runtime_client_cache_evictions_total";

/// Registers the description and unit of every metric with the installed
/// recorder, so that an exporter can print them (`# HELP` lines). Call it
/// once after installing the recorder; metrics are recorded whether or not
/// it was called. Does nothing without the `metrics` feature.
pub fn describe_metrics() {
    #[cfg(feature = "metrics")]
    {
        use metrics::{Unit, describe_counter, describe_histogram};
        describe_histogram!(
            OPERATION_DURATION,
            Unit::Seconds,
            "Latency of one typed operation, including its retry"
        );
        describe_counter!(
            OPERATION_ERRORS,
            Unit::Count,
            "Failed operations by error class and whether they may have been applied"
        );
        describe_counter!(
            OPERATION_RETRIES,
            Unit::Count,
            "Operations sent a second time after their connection dropped"
        );
        describe_counter!(
            SLOW_OPERATIONS,
            Unit::Count,
            "Operations slower than the configured threshold"
        );
        describe_counter!(
            REFUSED,
            Unit::Count,
            "Operations refused before anything was sent, by error class"
        );
        describe_counter!(
            DECODE_FAILURES,
            Unit::Count,
            "Stored values that did not decode into their declaration"
        );
        describe_histogram!(BATCH_SIZE, Unit::Count, "Items in one batch operation");
        describe_counter!(
            CONNECTION_EVENTS,
            Unit::Count,
            "Connections made, remade, failed and lost"
        );
        describe_histogram!(
            DISCONNECTED,
            Unit::Seconds,
            "How long each outage lasted, from the loss of the connection to the next one"
        );
        describe_counter!(
            STREAM_DELIVERIES,
            Unit::Count,
            "Stream entries handled by consumer runners, by outcome"
        );
        metrics::describe_gauge!(
            STREAM_PENDING,
            Unit::Count,
            "Entries pending in a consumer group (delivered, not acknowledged)"
        );
        metrics::describe_gauge!(
            STREAM_LAG,
            Unit::Count,
            "Entries of a stream its consumer group has not been given yet"
        );
        describe_counter!(
            SUBSCRIPTION_GAPS,
            Unit::Count,
            "Subscriptions that lost their connection and subscribed again"
        );
        describe_counter!(
            QUEUE_RETURNED,
            Unit::Count,
            "Queue items moved from in-flight back to the queue"
        );
        describe_counter!(
            CLIENT_CACHE_HITS,
            Unit::Count,
            "Reads of a client-cached model served from the cache"
        );
        describe_counter!(
            CLIENT_CACHE_MISSES,
            Unit::Count,
            "Reads of a client-cached model sent to the server"
        );
        describe_counter!(
            CLIENT_CACHE_INVALIDATIONS,
            Unit::Count,
            "Client cache entries dropped because their key changed, by cause"
        );
        describe_counter!(
            CLIENT_CACHE_EVICTIONS,
            Unit::Count,
            "Client cache entries dropped to stay within the model's budget"
        );
    }
}

/// How an operation ended, for its `outcome` label: `ok`, `not_found` (a
/// read that found nothing), or the error's [`Error::class`].
pub(crate) fn outcome<T>(
    result: &Result<T, Error>,
    found: impl FnOnce(&T) -> bool,
) -> &'static str {
    match result {
        Ok(value) if found(value) => "ok",
        Ok(_) => "not_found",
        Err(err) => err.class(),
    }
}

/// Records one finished operation: its latency, its error, and the WARN
/// line when it took longer than `slow` (beyond `waited`, the time a
/// blocking command was asked to wait).
pub(crate) fn finish(
    target: &Target,
    operation: &'static str,
    outcome: &'static str,
    error: Option<&Error>,
    elapsed: Duration,
    waited: Duration,
    slow: Option<Duration>,
) {
    #[cfg(feature = "metrics")]
    {
        metrics::histogram!(
            OPERATION_DURATION,
            "operation" => operation,
            "kind" => target.kind,
            "model" => target.model,
            "outcome" => outcome,
        )
        .record(elapsed.as_secs_f64());
        if let Some(err) = error {
            metrics::counter!(
                OPERATION_ERRORS,
                "operation" => operation,
                "kind" => target.kind,
                "model" => target.model,
                "error" => err.class(),
                "applied" => err.outcome().as_str(),
            )
            .increment(1);
        }
    }
    #[cfg(not(feature = "metrics"))]
    let _ = error;
    if let Some(threshold) = slow
        && elapsed.saturating_sub(waited) > threshold
    {
        #[cfg(feature = "metrics")]
        metrics::counter!(
            SLOW_OPERATIONS,
            "operation" => operation,
            "kind" => target.kind,
            "model" => target.model,
        )
        .increment(1);
        tracing::warn!(
            target: "redis_runtime::slow",
            model = target.model,
            key_template = target.key_template,
            operation,
            elapsed_ms = elapsed.as_secs_f64() * 1e3,
            threshold_ms = threshold.as_secs_f64() * 1e3,
            outcome,
            "slow Redis operation"
        );
    }
}

/// One operation was sent a second time after its connection dropped.
pub(crate) fn retried(target: &Target, operation: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!(
        OPERATION_RETRIES,
        "operation" => operation,
        "kind" => target.kind,
        "model" => target.model,
    )
    .increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = (target, operation);
}

/// One batch operation of `size` items.
pub(crate) fn batch_size(target: &Target, operation: &'static str, size: usize) {
    #[cfg(feature = "metrics")]
    metrics::histogram!(
        BATCH_SIZE,
        "operation" => operation,
        "kind" => target.kind,
        "model" => target.model,
    )
    .record(size as f64);
    #[cfg(not(feature = "metrics"))]
    let _ = (target, operation, size);
}

/// A stored value of `model` did not decode, for `reason`
/// ([`DecodeErrorKind::class`](crate::DecodeErrorKind::class)).
pub(crate) fn decode_failure(model: &'static str, kind: &'static str, reason: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!(
        DECODE_FAILURES,
        "model" => model,
        "kind" => kind,
        "reason" => reason,
    )
    .increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = (model, kind, reason);
}

/// An operation on `model` was refused before anything was sent, with the
/// error of class `error`.
pub(crate) fn refused(model: &'static str, kind: &'static str, error: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!(REFUSED, "model" => model, "kind" => kind, "error" => error).increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = (model, kind, error);
}

/// Which connection an event is about.
#[derive(Clone, Copy)]
pub(crate) enum Topology {
    Server,
    Cluster,
    /// The client cache's tracking connection (to a server).
    ClientCache,
}

impl Topology {
    fn as_str(self) -> &'static str {
        match self {
            Topology::Server => "server",
            Topology::Cluster => "cluster",
            Topology::ClientCache => "client_cache",
        }
    }
}

/// What happened to a connection.
#[derive(Clone, Copy)]
pub(crate) enum ConnectionEvent {
    /// The first connection was made.
    Connected,
    /// A connection was made again after one was lost.
    Reconnected,
    /// An attempt to connect failed.
    ConnectFailed,
    /// A live connection was lost (closed by the server, or not answering).
    Lost,
}

impl ConnectionEvent {
    fn as_str(self) -> &'static str {
        match self {
            ConnectionEvent::Connected => "connected",
            ConnectionEvent::Reconnected => "reconnected",
            ConnectionEvent::ConnectFailed => "connect_failed",
            ConnectionEvent::Lost => "lost",
        }
    }
}

/// One connection event.
pub(crate) fn connection(topology: Topology, event: ConnectionEvent) {
    #[cfg(feature = "metrics")]
    metrics::counter!(
        CONNECTION_EVENTS,
        "topology" => topology.as_str(),
        "event" => event.as_str(),
    )
    .increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = (topology.as_str(), event.as_str());
}

/// The connection was down for `outage`, from its loss to the next one.
pub(crate) fn disconnected(topology: Topology, outage: Duration) {
    #[cfg(feature = "metrics")]
    metrics::histogram!(DISCONNECTED, "topology" => topology.as_str()).record(outage.as_secs_f64());
    #[cfg(not(feature = "metrics"))]
    let _ = (topology.as_str(), outage);
}

/// `count` items of queue `model` went back from in-flight to the queue,
/// by `how` (`requeue` or `recover`).
pub(crate) fn queue_returned(model: &'static str, how: &'static str, count: u64) {
    #[cfg(feature = "metrics")]
    metrics::counter!(QUEUE_RETURNED, "model" => model, "operation" => how).increment(count);
    #[cfg(not(feature = "metrics"))]
    let _ = (model, how, count);
}

/// `count` entries of stream `model` ended a runner's handling with
/// `outcome` (`processed`, `failed`, `dead_lettered`, `reclaimed`, `deleted`).
pub(crate) fn stream_delivery(model: &'static str, outcome: &'static str, count: u64) {
    #[cfg(feature = "metrics")]
    metrics::counter!(STREAM_DELIVERIES, "model" => model, "outcome" => outcome).increment(count);
    #[cfg(not(feature = "metrics"))]
    let _ = (model, outcome, count);
}

/// A runner of stream `model` read its group's pending count and lag.
pub(crate) fn stream_backlog(model: &'static str, pending: u64, lag: Option<u64>) {
    #[cfg(feature = "metrics")]
    {
        metrics::gauge!(STREAM_PENDING, "model" => model).set(pending as f64);
        if let Some(lag) = lag {
            metrics::gauge!(STREAM_LAG, "model" => model).set(lag as f64);
        }
    }
    #[cfg(not(feature = "metrics"))]
    let _ = (model, pending, lag);
}

/// A subscription to channel `model` lost its connection and subscribed again.
pub(crate) fn subscription_gap(model: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!(SUBSCRIPTION_GAPS, "model" => model).increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = model;
}

/// The key of one model's hit counter, built once per model: a hit is
/// cheap enough that building the labelled key on every one would cost as
/// much as the hit itself.
pub(crate) struct HitCounter {
    #[cfg(feature = "metrics")]
    key: metrics::Key,
}

impl HitCounter {
    pub(crate) fn new(model: &'static str) -> HitCounter {
        #[cfg(not(feature = "metrics"))]
        let _ = model;
        HitCounter {
            #[cfg(feature = "metrics")]
            key: metrics::Key::from_parts(
                CLIENT_CACHE_HITS,
                vec![metrics::Label::new("model", model)],
            ),
        }
    }

    /// A read of the model was served from the cache
    /// (`redis_runtime_client_cache_hits_total`).
    #[inline]
    pub(crate) fn hit(&self) {
        #[cfg(feature = "metrics")]
        {
            static METADATA: metrics::Metadata<'static> =
                metrics::Metadata::new(module_path!(), metrics::Level::INFO, Some(module_path!()));
            metrics::with_recorder(|recorder| recorder.register_counter(&self.key, &METADATA))
                .increment(1);
        }
    }
}

/// `count` reads of client-cached `model` were sent to the server.
pub(crate) fn client_cache_miss(model: &'static str, count: usize) {
    #[cfg(feature = "metrics")]
    metrics::counter!(CLIENT_CACHE_MISSES, "model" => model).increment(count as u64);
    #[cfg(not(feature = "metrics"))]
    let _ = (model, count);
}

/// `count` client cache entries of `model` were dropped, because of `cause`
/// (`tracking`, `own_write`, `flush`, `reconnect` or `topology`).
pub(crate) fn client_cache_invalidated(model: &'static str, cause: &'static str, count: usize) {
    #[cfg(feature = "metrics")]
    metrics::counter!(CLIENT_CACHE_INVALIDATIONS, "model" => model, "cause" => cause)
        .increment(count as u64);
    #[cfg(not(feature = "metrics"))]
    let _ = (model, cause, count);
}

/// `count` client cache entries of `model` were evicted for its budget.
pub(crate) fn client_cache_evicted(model: &'static str, count: usize) {
    #[cfg(feature = "metrics")]
    metrics::counter!(CLIENT_CACHE_EVICTIONS, "model" => model).increment(count as u64);
    #[cfg(not(feature = "metrics"))]
    let _ = (model, count);
}
