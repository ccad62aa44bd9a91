//! How one operation reaches the server: its span and closing event, the
//! connection it waits for, the one retry an idempotent operation gets, the
//! time bound, and the classification of what went wrong.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::connection::Connection;
use redis::FromRedisValue;
use tracing::Instrument;

use super::Store;
use crate::connection::{ExclusiveFailure, Lease};
use crate::error::{Error, ErrorContext, Result};
use crate::model::Family;
use crate::observe;

/// Whether an operation may be sent again after the connection dropped under it.
///
/// `Once` is for reads, and for writes whose effect and reply are the same
/// whether or not the first attempt reached the server (`save`, `set_field`).
/// Writes that report what was there before (`delete`'s "it existed",
/// `expire`'s "it exists") and `incr` are `Never`: a second attempt would
/// report the first one's work as absent, or apply it twice. A response
/// timeout is never retried by anyone: the server may still be working on it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retry {
    Once,
    Never,
}

/// What an operation is about, for its span and its errors.
#[derive(Clone, Copy)]
pub(crate) struct Target {
    pub(crate) model: &'static str,
    pub(crate) key_template: &'static str,
    /// Its kind (`hash`, `set`...), for the metrics.
    pub(crate) kind: &'static str,
    /// A raw pipeline of several commands, which the server runs one by one.
    pub(crate) several_commands: bool,
    /// Whether this send is the whole operation, recorded when it ends; the
    /// per-slot parts of an operation over several slots are not (the
    /// operation records itself once, see [`Store::observed`]).
    pub(crate) whole: bool,
    /// Whether the keys its commands name may be in the client cache, so
    /// they are dropped from it when the reply arrives.
    pub(crate) client_cached: bool,
}

impl Target {
    pub(crate) fn of<M: Family>() -> Target {
        Target {
            model: M::META.name,
            key_template: M::META.key.source,
            kind: M::META.kind.as_str(),
            several_commands: false,
            whole: true,
            client_cached: M::CLIENT_CACHE.is_some(),
        }
    }

    /// One part of an operation over several hash slots.
    pub(crate) fn part(self) -> Target {
        Target {
            whole: false,
            ..self
        }
    }

    /// Commands sent through [`Store::raw_access`].
    pub(crate) const RAW: Target = Target {
        model: "raw access",
        key_template: "-",
        kind: "raw",
        several_commands: false,
        whole: true,
        client_cached: true,
    };
}

/// Why an attempt failed: before anything was sent, or after; or a second
/// attempt failed after the first one's connection dropped under it.
pub(super) enum Failure {
    Connect(redis::RedisError),
    Command(redis::RedisError),
    /// The second attempt's error. The first attempt may have been applied
    /// whatever this one says (a refusal of the second says nothing about
    /// the first).
    Retried(redis::RedisError),
}

impl Store {
    /// Runs one command or pipeline for model `M`.
    pub(crate) async fn query<M: Family, T: FromRedisValue, F, Fut>(
        &self,
        operation: &'static str,
        retry: Retry,
        send: F,
    ) -> Result<T>
    where
        F: Fn(Connection) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        self.run(Target::of::<M>(), operation, retry, send).await
    }

    /// [`Store::query`] for one part of an operation over several hash
    /// slots, which [`Store::observed`] records as a whole.
    pub(crate) async fn query_part<M: Family, T: FromRedisValue, F, Fut>(
        &self,
        operation: &'static str,
        retry: Retry,
        send: F,
    ) -> Result<T>
    where
        F: Fn(Connection) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        self.run(Target::of::<M>().part(), operation, retry, send)
            .await
    }

    /// [`Store::query`] for a read whose reply may say "nothing there"
    /// (`found` is false): its `outcome` label is then `not_found`.
    pub(crate) async fn query_found<M: Family, T: FromRedisValue, F, Fut>(
        &self,
        operation: &'static str,
        retry: Retry,
        found: fn(&T) -> bool,
        send: F,
    ) -> Result<T>
    where
        F: Fn(Connection) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        self.run_found(Target::of::<M>(), operation, retry, found, send)
            .await
    }

    /// The parts of an operation over several hash slots (`get_many` on a
    /// cluster...), each sent with a [`Target::part`], recorded once as a
    /// whole: its latency, outcome and `size` (its number of items).
    pub(crate) async fn observed<T>(
        &self,
        target: Target,
        operation: &'static str,
        size: usize,
        parts: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        let started = Instant::now();
        let result = parts.await;
        observe::batch_size(&target, operation, size);
        observe::finish(
            &target,
            operation,
            observe::outcome(&result, |_| true),
            result.as_ref().err(),
            started.elapsed(),
            Duration::ZERO,
            self.slow_threshold,
        );
        result
    }

    /// The error for a connection to the server for family `M` that could
    /// not be made (a subscription's).
    pub(crate) fn connect_error<M: Family>(
        &self,
        operation: &'static str,
        err: redis::RedisError,
    ) -> Error {
        Error::connecting(
            &self.context(Target::of::<M>(), operation),
            self.connect_timeout,
            err,
        )
    }

    /// The store's connection.
    pub(crate) fn link(&self) -> &crate::connection::Link {
        &self.link
    }

    /// The error for a reply of `operation` that did not have the shape expected.
    pub(crate) fn reply_error(
        &self,
        target: Target,
        operation: &'static str,
        err: redis::RedisError,
    ) -> Error {
        Error::from_redis(&self.context(target, operation), err)
    }

    pub(super) fn context(&self, target: Target, operation: &'static str) -> ErrorContext<'_> {
        ErrorContext {
            operation,
            model: target.model,
            key_template: target.key_template,
            address: &self.address,
            response_timeout: self.response_timeout,
            several_commands: target.several_commands,
        }
    }

    /// Runs one command or pipeline in a span naming the model and key
    /// template, within the connect timeout plus the response timeout.
    pub(crate) async fn run<T, F, Fut>(
        &self,
        target: Target,
        operation: &'static str,
        retry: Retry,
        send: F,
    ) -> Result<T>
    where
        F: Fn(Connection) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        self.run_found(target, operation, retry, |_| true, send)
            .await
    }

    /// [`Store::run`], labelling a reply for which `found` is false as
    /// `not_found` in the metrics.
    pub(crate) async fn run_found<T, F, Fut>(
        &self,
        target: Target,
        operation: &'static str,
        retry: Retry,
        found: fn(&T) -> bool,
        send: F,
    ) -> Result<T>
    where
        F: Fn(Connection) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let span = operation_span(target, operation);
        let started = Instant::now();
        let attempt = self.attempt(target, operation, retry, &send, started);
        self.conclude(target, operation, found, span, started, attempt)
            .await
    }

    /// Runs a read on the client cache's tracking connection (see
    /// [`Store::run_found`]); `send` gets the whole lease.
    pub(crate) async fn run_tracked<T, F, Fut>(
        &self,
        link: &crate::connection::Link,
        target: Target,
        operation: &'static str,
        found: fn(&T) -> bool,
        send: F,
    ) -> Result<T>
    where
        F: Fn(Lease) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let span = operation_span(target, operation);
        let started = Instant::now();
        let attempt = self.attempt_on(link, target, operation, Retry::Once, &send, started);
        self.conclude(target, operation, found, span, started, attempt)
            .await
    }

    /// Awaits an operation's `attempt` in its `span`, classifies its error
    /// and records it.
    async fn conclude<T>(
        &self,
        target: Target,
        operation: &'static str,
        found: fn(&T) -> bool,
        span: tracing::Span,
        started: Instant,
        attempt: impl Future<Output = Result<T, Failure>>,
    ) -> Result<T> {
        let traced = !span.is_disabled();
        async {
            let result = match attempt.await {
                Ok(value) => Ok(value),
                Err(Failure::Connect(err)) => Err(Error::connecting(
                    &self.context(target, operation),
                    self.connect_timeout,
                    err,
                )),
                Err(Failure::Command(err)) => {
                    Err(Error::from_redis(&self.context(target, operation), err))
                }
                Err(Failure::Retried(err)) => {
                    Err(Error::from_redis(&self.context(target, operation), err)
                        .may_have_been_applied())
                }
            };
            // One event per operation, so that a plain `fmt` subscriber shows
            // each one with its outcome and duration (spans alone print nothing).
            let elapsed = started.elapsed();
            if traced {
                match &result {
                    Ok(_) => tracing::debug!(?elapsed, "ok"),
                    Err(err) => tracing::debug!(?elapsed, error = %err, "failed"),
                }
            }
            if target.whole {
                observe::finish(
                    &target,
                    operation,
                    observe::outcome(&result, found),
                    result.as_ref().err(),
                    elapsed,
                    Duration::ZERO,
                    self.slow_threshold,
                );
            }
            result
        }
        .instrument(span)
        .await
    }

    /// Runs one blocking command on `key` for family `M` that the server
    /// may hold for up to `wait` (`BLPOP`, `BLMOVE`...), on a connection of
    /// its own (see [`Link::send_exclusive`](crate::connection::Link::send_exclusive)),
    /// never sent twice.
    ///
    /// The reply is awaited for `wait` plus the response timeout, so a
    /// command that blocks for its whole `wait` is not a response timeout;
    /// the call returns within the connect timeout plus that.
    pub(crate) async fn blocking<M: Family, T: FromRedisValue>(
        &self,
        operation: &'static str,
        key: &[u8],
        wait: Duration,
        cmd: &redis::Cmd,
        found: fn(&T) -> bool,
    ) -> Result<T> {
        let target = Target::of::<M>();
        let span = tracing::debug_span!(
            "redis",
            operation,
            model = target.model,
            key_template = target.key_template
        );
        let started = Instant::now();
        let reply_within = wait.saturating_add(self.response_timeout);
        async {
            let sent = self.link.send_exclusive(key, cmd, reply_within).await;
            // A blocking pop writes: its keys leave the client cache before it returns.
            if let Some(cached) = &self.cache {
                cached.cache.invalidate_cmd(cmd);
            }
            let result = match sent {
                Ok(value) => Ok(value),
                Err(ExclusiveFailure::Connect(err)) => Err(Error::connecting(
                    &self.context(target, operation),
                    self.connect_timeout,
                    err,
                )),
                Err(ExclusiveFailure::Command(err)) => {
                    let ctx = ErrorContext {
                        response_timeout: reply_within,
                        ..self.context(target, operation)
                    };
                    Err(Error::from_redis(&ctx, err))
                }
            };
            let elapsed = started.elapsed();
            match &result {
                Ok(_) => tracing::debug!(?elapsed, "ok"),
                Err(err) => tracing::debug!(?elapsed, error = %err, "failed"),
            }
            observe::finish(
                &target,
                operation,
                observe::outcome(&result, found),
                result.as_ref().err(),
                elapsed,
                wait,
                self.slow_threshold,
            );
            result
        }
        .instrument(span)
        .await
    }

    /// Sends once, and once more when the connection dropped under an
    /// operation that may be repeated, all within the connect timeout plus
    /// the response timeout from `started`.
    ///
    /// The first attempt needs no timer of its own: waiting for the
    /// connection is bounded by the connect timeout (one attempt at a time,
    /// each bounded) and the reply by the response timeout. Only the second
    /// attempt runs under the rest of the budget; when that runs out, or no
    /// connection can be had, the first error is reported (it says the
    /// operation may have been applied).
    async fn attempt<T, F, Fut>(
        &self,
        target: Target,
        operation: &'static str,
        retry: Retry,
        send: &F,
        started: Instant,
    ) -> Result<T, Failure>
    where
        F: Fn(Connection) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        // Every write through a caching store drops the cached keys it
        // names, whatever its own declaration: a write of an uncached family
        // may name a cached key too (a `move` into a cached list, a set
        // operation stored into a cached set). Nothing is done (and the
        // connection is unwrapped) until some cached declaration was read.
        let cache = match &self.cache {
            Some(cached) if target.client_cached || cached.cache.has_models() => {
                Some(&cached.cache)
            }
            _ => None,
        };
        let send = |lease: Lease| {
            let connection = match (lease.connection, cache) {
                (Connection::Server(con), Some(cache)) => {
                    Connection::Invalidating(con, cache.clone())
                }
                (Connection::Cluster(mut con), Some(cache)) => {
                    con.invalidate = Some(cache.clone());
                    Connection::Cluster(con)
                }
                (connection, _) => connection,
            };
            send(connection)
        };
        self.attempt_on(&self.link, target, operation, retry, &send, started)
            .await
    }

    /// [`Store::attempt`] on `link`, handing `send` the whole lease.
    pub(super) async fn attempt_on<T, F, Fut>(
        &self,
        link: &crate::connection::Link,
        target: Target,
        operation: &'static str,
        retry: Retry,
        send: &F,
        started: Instant,
    ) -> Result<T, Failure>
    where
        F: Fn(Lease) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let lease = link.get().await.map_err(Failure::Connect)?;
        let generation = lease.generation;
        let err = match send(lease).await {
            Ok(value) => return Ok(value),
            Err(err) => err,
        };
        link.report(generation, &err);
        let dropped = !err.is_timeout() && (err.is_connection_dropped() || err.is_io_error());
        if retry == Retry::Never || !dropped {
            return Err(Failure::Command(err));
        }
        tracing::debug!("connection lost; sending the idempotent operation once more");
        observe::retried(&target, operation);
        let budget = self.connect_timeout + self.response_timeout;
        let rest = budget.saturating_sub(started.elapsed());
        let again = tokio::time::timeout(rest, async {
            let lease = link.get().await.ok()?;
            let generation = lease.generation;
            Some(send(lease).await.inspect_err(|err| {
                link.report(generation, err);
            }))
        });
        match again.await {
            Ok(Some(result)) => result.map_err(Failure::Retried),
            Ok(None) | Err(_) => Err(Failure::Command(err)),
        }
    }
}

/// The tracing span of one operation: its name, model and key template.
fn operation_span(target: Target, operation: &'static str) -> tracing::Span {
    tracing::debug_span!(
        "redis",
        operation,
        model = target.model,
        key_template = target.key_template
    )
}
