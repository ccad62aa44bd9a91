//! The one error type of the runtime.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::key::KeyPartError;
use crate::model::Family;

/// A `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Whether a failed operation may have taken effect on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Nothing was applied: the command was never sent, or the server refused it.
    NotApplied,
    /// The command may or may not have been applied: the connection dropped or the
    /// response timed out after it was sent. Retrying a non-idempotent operation
    /// (an increment) could apply it twice.
    Unknown,
}

impl Outcome {
    /// A short, stable name: `not_applied` or `unknown` (the `applied` label
    /// of the error metrics).
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::NotApplied => "not_applied",
            Outcome::Unknown => "unknown",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Outcome::NotApplied => "it was not applied",
            Outcome::Unknown => "it may or may not have been applied",
        })
    }
}

/// What a timed-out operation was waiting for ([`Error::Timeout`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Waiting {
    /// A connection to the server (the connect timeout); nothing was sent.
    Connection,
    /// The server's reply (the response timeout).
    Reply,
}

impl fmt::Display for Waiting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Waiting::Connection => "connecting to",
            Waiting::Reply => "waiting for a reply from",
        })
    }
}

/// Why the server could not serve a command ([`Error::Unavailable`]), from the
/// error code it answered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerState {
    /// `LOADING`: the server is loading its data set into memory.
    Loading,
    /// `BUSY`: a script or function is running past its time limit.
    Busy,
    /// `READONLY`: the server is a read-only replica (after a failover, say).
    ReadOnly,
    /// `MASTERDOWN`: a replica lost its primary and does not serve stale data.
    MasterDown,
    /// `OOM`: `maxmemory` is reached and the eviction policy frees nothing.
    OutOfMemory,
    /// `NOREPLICAS`: fewer replicas are connected than `min-replicas-to-write`.
    NoReplicas,
    /// `MISCONF`: writes are refused because the last RDB snapshot failed.
    PersistenceFailing,
    /// `TRYAGAIN`: a multi-key command met a slot being migrated (cluster).
    TryAgain,
    /// `CLUSTERDOWN`: the cluster cannot serve this slot.
    ClusterDown,
}

impl ServerState {
    /// The state a Redis error code names, if it names one.
    fn from_code(code: &str) -> Option<ServerState> {
        Some(match code {
            "LOADING" => ServerState::Loading,
            "BUSY" => ServerState::Busy,
            "READONLY" => ServerState::ReadOnly,
            "MASTERDOWN" => ServerState::MasterDown,
            "OOM" => ServerState::OutOfMemory,
            "NOREPLICAS" => ServerState::NoReplicas,
            "MISCONF" => ServerState::PersistenceFailing,
            "TRYAGAIN" => ServerState::TryAgain,
            "CLUSTERDOWN" => ServerState::ClusterDown,
            _ => return None,
        })
    }
}

impl fmt::Display for ServerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ServerState::Loading => "the server is loading its data",
            ServerState::Busy => "the server is busy running a script",
            ServerState::ReadOnly => "the server is a read-only replica",
            ServerState::MasterDown => "the replica has lost its primary",
            ServerState::OutOfMemory => "the server is out of memory",
            ServerState::NoReplicas => "not enough replicas are connected",
            ServerState::PersistenceFailing => "the server refuses writes: persistence is failing",
            ServerState::TryAgain => "the slot is being migrated",
            ServerState::ClusterDown => "the cluster is down",
        })
    }
}

/// Everything that can go wrong in `redis-runtime`.
///
/// Messages name the model and its key template, never the key's values (ids
/// may carry personal data), and never a password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is invalid.
    #[error("invalid Redis configuration: {0}")]
    Config(String),

    /// The server could not be reached (the connection was refused, or could not
    /// be established), or the connection broke.
    #[error("Redis connection to {address} failed during `{operation}` ({outcome}): {source}")]
    Connection {
        /// The operation, e.g. `save`.
        operation: &'static str,
        /// The address tried: `host:port` or a socket path, never credentials.
        address: Arc<str>,
        /// Whether the operation may have been applied.
        outcome: Outcome,
        /// The underlying error.
        #[source]
        source: redis::RedisError,
    },

    /// The server did not answer in time.
    #[error("Redis `{operation}` timed out after {after:?} {waiting} {address} ({outcome})")]
    Timeout {
        /// The operation, e.g. `save`.
        operation: &'static str,
        /// The address tried: `host:port` or a socket path, never credentials.
        address: Arc<str>,
        /// What was being waited for.
        waiting: Waiting,
        /// The limit that was hit.
        after: Duration,
        /// Whether the operation may have been applied: [`Outcome::NotApplied`]
        /// while connecting, [`Outcome::Unknown`] once a command was sent.
        outcome: Outcome,
    },

    /// The server refused the command because of its state, not the command:
    /// it is loading its data, busy with a script, a read-only replica, out of
    /// memory, or its cluster or primary is down. Nothing was applied; the same
    /// call may succeed later.
    #[error("Redis could not serve `{operation}` ({state}): {message}")]
    Unavailable {
        /// The operation, e.g. `save`.
        operation: &'static str,
        /// Why the server refused.
        state: ServerState,
        /// The server's message.
        message: String,
        /// Whether it may have been applied: [`Outcome::NotApplied`], except
        /// for an error inside a raw pipeline of several commands, whose other
        /// commands may have run ([`Outcome::Unknown`]).
        outcome: Outcome,
    },

    /// Stored data does not decode into the model.
    #[error(transparent)]
    Decode(#[from] DecodeError),

    /// A model could not be encoded for storage.
    #[error("cannot encode {model} (key `{key_template}`){}: {message}", field_suffix(*.field))]
    Encode {
        /// The model.
        model: &'static str,
        /// Its key template.
        key_template: &'static str,
        /// The field, for hash fields stored as JSON.
        field: Option<&'static str>,
        /// What the encoder said.
        message: String,
    },

    /// A TTL passed to an operation is zero or too large; nothing was sent.
    #[error("invalid TTL {ttl:?} for {model} during `{operation}`: {reason}")]
    InvalidTtl {
        /// The operation, e.g. `save`.
        operation: &'static str,
        /// The model.
        model: &'static str,
        /// The TTL that was refused.
        ttl: Duration,
        /// Why it was refused.
        reason: &'static str,
    },

    /// The key holds a different Redis type than the model's encoding uses.
    #[error("key of {model} (`{key_template}`) holds the wrong Redis type for its encoding")]
    WrongType {
        /// The model.
        model: &'static str,
        /// Its key template.
        key_template: &'static str,
        /// Whether it may have been applied: [`Outcome::NotApplied`], except
        /// for an error inside a raw pipeline of several commands, whose other
        /// commands may have run ([`Outcome::Unknown`]).
        outcome: Outcome,
    },

    /// An id value cannot become part of a key; nothing was sent.
    #[error("invalid key part `{field}` for {model} (key `{key_template}`): {reason}")]
    InvalidKeyPart {
        /// The model.
        model: &'static str,
        /// Its key template.
        key_template: &'static str,
        /// The placeholder.
        field: &'static str,
        /// What is wrong with the value.
        reason: KeyPartError,
    },

    /// An operation over several keys of a family (a move between two sets,
    /// set algebra) named keys in different hash slots. Refused before
    /// anything is sent, on one server too, so that code that works there
    /// also works on a Redis Cluster.
    #[error(
        "`{operation}` on {model} (key `{key_template}`) names keys in different hash slots; \
         give the template a `hash_tag` and use ids that share the tagged part"
    )]
    CrossSlot {
        /// The operation, e.g. `move_member`.
        operation: &'static str,
        /// The declaration.
        model: &'static str,
        /// Its key template.
        key_template: &'static str,
    },

    /// [`Lock::acquire`](crate::lease::Lock::acquire) waited its whole
    /// timeout and another holder still had the lease. Nothing is held.
    #[error(
        "lease {model} (key `{key_template}`) is held by another holder; gave up after {waited:?}"
    )]
    LeaseTimeout {
        /// The lock declaration.
        model: &'static str,
        /// Its key template.
        key_template: &'static str,
        /// How long it waited.
        waited: Duration,
    },

    /// This holder no longer holds the lease: it expired (and may be held
    /// by another holder now), was released, or (for
    /// [`Lease::guarded`](crate::lease::Lease::guarded)) could not be
    /// renewed before its TTL ran out, so it must be presumed lost. Nothing
    /// of another holder's lease was touched.
    #[error(
        "lease {model} (key `{key_template}`) was lost during `{operation}`: this holder no longer holds it"
    )]
    LeaseLost {
        /// The operation, e.g. `extend`.
        operation: &'static str,
        /// The lock declaration.
        model: &'static str,
        /// Its key template.
        key_template: &'static str,
    },

    /// A rate-limit request cost more than the limiter can ever allow at
    /// once (its `limit`, or its `burst` for GCRA); nothing was sent.
    #[error(
        "a request costing {cost} can never pass rate limit {model} (key `{key_template}`), which allows at most {max} at once"
    )]
    InvalidCost {
        /// The rate-limit declaration.
        model: &'static str,
        /// Its key template.
        key_template: &'static str,
        /// The cost asked for.
        cost: u64,
        /// The most one request may cost.
        max: u64,
    },

    /// A write of a model with a version field (`#[redis(version)]`) was
    /// refused because the stored version is not the one the write expected:
    /// another writer got there first, or the entity was deleted. Nothing was
    /// written; read the entity again and retry ([`crate::Store::modify`]
    /// does).
    #[error(
        "`{operation}` on {model} (key `{key_template}`) expected version {expected}, \
         but the stored entity {}",
        match found { Some(v) => format!("is at version {v}"), None => "no longer exists".to_owned() }
    )]
    VersionConflict {
        /// The operation, e.g. `save`.
        operation: &'static str,
        /// The model.
        model: &'static str,
        /// Its key template.
        key_template: &'static str,
        /// The version the write expected.
        expected: u64,
        /// The stored version; `None` when the entity does not exist.
        found: Option<u64>,
    },

    /// A write would give a `#[redis(unique)]` field a value another live
    /// entity of the same hash tag holds. Nothing was written. The message
    /// names the field, never the value.
    #[error(
        "`{operation}` on {model} (key `{key_template}`): another entity already holds \
         this value of unique field `{field}`"
    )]
    UniqueViolation {
        /// The operation, e.g. `insert`.
        operation: &'static str,
        /// The model.
        model: &'static str,
        /// Its key template.
        key_template: &'static str,
        /// The unique field (its Rust name).
        field: &'static str,
    },

    /// The connected user is not allowed to run a command or touch a key (`NOPERM`).
    #[error("permission denied by the server's ACL during `{operation}`: {message}")]
    PermissionDenied {
        /// The operation, e.g. `save`.
        operation: &'static str,
        /// The server's message.
        message: String,
        /// Whether it may have been applied: [`Outcome::NotApplied`], except
        /// for an error inside a raw pipeline of several commands, whose other
        /// commands may have run ([`Outcome::Unknown`]).
        outcome: Outcome,
    },

    /// The server answered with an error.
    #[error("Redis server error during `{operation}`: {source}")]
    Server {
        /// The operation, e.g. `save`.
        operation: &'static str,
        /// The underlying error, with the server's code and message.
        #[source]
        source: redis::RedisError,
        /// Whether it may have been applied: [`Outcome::NotApplied`], except
        /// for an error inside a raw pipeline of several commands, whose other
        /// commands may have run ([`Outcome::Unknown`]).
        outcome: Outcome,
    },
}

/// Removes the stored value that serde quotes in its messages (`invalid type:
/// string "ada@example.com", expected u64` becomes `invalid type: string,
/// expected u64`): stored values may carry personal data, and decode errors
/// end up in logs. Field names and the expected type are kept.
pub(crate) fn scrub_serde_message(mut message: String) -> String {
    // (marker, whether the kind of the unexpected value is kept)
    for (marker, keep_kind) in [
        ("invalid type: ", true),
        ("invalid value: ", true),
        ("unknown variant", false),
    ] {
        let Some(start) = message.find(marker).map(|i| i + marker.len()) else {
            continue;
        };
        // The last one: the quoted value may itself contain ", expected".
        let Some(end) = message[start..].rfind(", expected").map(|i| start + i) else {
            continue;
        };
        let unexpected = &message[start..end];
        // `string "..."`, `integer `5``, `floating point `1.5``, `map`, ...
        let kind = match unexpected.find(['"', '`']) {
            Some(quote) if keep_kind => unexpected[..quote].trim_end().to_owned(),
            None if keep_kind => unexpected.to_owned(),
            _ => String::new(),
        };
        message.replace_range(start..end, &kind);
    }
    message
}

fn field_suffix(field: Option<&'static str>) -> String {
    field.map(|f| format!(" field `{f}`")).unwrap_or_default()
}

impl Error {
    /// Whether the failed operation may nevertheless have been applied.
    pub fn outcome(&self) -> Outcome {
        match self {
            Error::Connection { outcome, .. }
            | Error::Timeout { outcome, .. }
            | Error::WrongType { outcome, .. }
            | Error::PermissionDenied { outcome, .. }
            | Error::Unavailable { outcome, .. }
            | Error::Server { outcome, .. } => *outcome,
            _ => Outcome::NotApplied,
        }
    }

    /// This error, for an operation an earlier attempt of which may have
    /// been applied: an outcome of [`Outcome::NotApplied`] becomes
    /// [`Outcome::Unknown`].
    pub(crate) fn may_have_been_applied(mut self) -> Error {
        match &mut self {
            Error::Connection { outcome, .. }
            | Error::Timeout { outcome, .. }
            | Error::WrongType { outcome, .. }
            | Error::PermissionDenied { outcome, .. }
            | Error::Unavailable { outcome, .. }
            | Error::Server { outcome, .. }
                if *outcome == Outcome::NotApplied =>
            {
                *outcome = Outcome::Unknown;
            }
            _ => {}
        }
        self
    }

    /// A short, stable name of the variant, in snake case (`connection`,
    /// `timeout`, `unavailable`, `decode`, `encode`, `invalid_ttl`,
    /// `wrong_type`, `invalid_key_part`, `cross_slot`, `lease_timeout`,
    /// `lease_lost`, `invalid_cost`, `version_conflict`, `unique_violation`,
    /// `permission_denied`, `server`, `config`): the `outcome` and `error` labels of the
    /// metrics, and a low-cardinality value for an application's own.
    pub fn class(&self) -> &'static str {
        match self {
            Error::Config(_) => "config",
            Error::Connection { .. } => "connection",
            Error::Timeout { .. } => "timeout",
            Error::Unavailable { .. } => "unavailable",
            Error::Decode(_) => "decode",
            Error::Encode { .. } => "encode",
            Error::InvalidTtl { .. } => "invalid_ttl",
            Error::WrongType { .. } => "wrong_type",
            Error::InvalidKeyPart { .. } => "invalid_key_part",
            Error::CrossSlot { .. } => "cross_slot",
            Error::LeaseTimeout { .. } => "lease_timeout",
            Error::LeaseLost { .. } => "lease_lost",
            Error::InvalidCost { .. } => "invalid_cost",
            Error::VersionConflict { .. } => "version_conflict",
            Error::UniqueViolation { .. } => "unique_violation",
            Error::PermissionDenied { .. } => "permission_denied",
            Error::Server { .. } => "server",
        }
    }

    /// Whether this error came from a lost or unreachable connection or a timeout.
    pub fn is_connection(&self) -> bool {
        matches!(self, Error::Connection { .. } | Error::Timeout { .. })
    }

    /// The error for a model, or one of its fields, that fails to encode.
    pub(crate) fn encode<M: Family>(field: Option<&'static str>, message: String) -> Error {
        crate::observe::refused(M::META.name, M::META.kind.as_str(), "encode");
        Error::Encode {
            model: M::META.name,
            key_template: M::META.key.source,
            field,
            message,
        }
    }

    /// Classifies a redis-rs error. This is the one place errors are told
    /// apart, for replies to single commands, scripts, pipelines and
    /// transactions alike.
    ///
    /// A server error is classified by its code (`NOPERM`, `WRONGTYPE`, `OOM`,
    /// `READONLY`, ...) wherever it came back: as the reply, inside a
    /// pipeline's replies, or as the queueing error that made `EXEC` abort the
    /// transaction (`EXECABORT` itself only says "previous errors", so the
    /// error it reports is the one before it). A refused command and an
    /// aborted transaction applied nothing. (Every write the runtime sends is
    /// one command, one script, or one `MULTI`/`EXEC` whose commands cannot
    /// fail once queued, so an error never leaves a typed write
    /// half-applied. A raw pipeline of several commands can be: its other
    /// commands may have run, unless `EXEC` aborted it, and the outcome says
    /// so.)
    pub(crate) fn from_redis(ctx: &ErrorContext<'_>, err: redis::RedisError) -> Error {
        if let Some(errors) = err.clone().into_server_errors() {
            let aborted = err.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::ExecAbort);
            let outcome = if ctx.several_commands && !aborted {
                Outcome::Unknown
            } else {
                Outcome::NotApplied
            };
            // The error that caused an abort, not the abort itself.
            let cause = errors
                .iter()
                .map(|(_, e)| e)
                .find(|e| e.code() != "EXECABORT")
                .or_else(|| errors.first().map(|(_, e)| e));
            if let Some(cause) = cause {
                let code = cause_code(cause);
                let message = || cause.details().unwrap_or(code).to_owned();
                if code == "WRONGTYPE" {
                    return Error::WrongType {
                        model: ctx.model,
                        key_template: ctx.key_template,
                        outcome,
                    };
                }
                if code == "NOPERM" {
                    return Error::PermissionDenied {
                        operation: ctx.operation,
                        message: message(),
                        outcome,
                    };
                }
                if let Some(state) = ServerState::from_code(code) {
                    return Error::Unavailable {
                        operation: ctx.operation,
                        state,
                        message: message(),
                        outcome,
                    };
                }
                return Error::Server {
                    operation: ctx.operation,
                    source: err,
                    outcome,
                };
            }
        }
        let address = ctx.address.clone();
        let operation = ctx.operation;
        if err.is_timeout() {
            Error::Timeout {
                operation,
                address,
                waiting: Waiting::Reply,
                after: ctx.response_timeout,
                outcome: Outcome::Unknown,
            }
        } else if err.is_connection_refusal() {
            Error::Connection {
                operation,
                address,
                outcome: Outcome::NotApplied,
                source: err,
            }
        } else if let Some(state) = matches!(err.kind(), redis::ErrorKind::Server(_))
            .then(|| err.code().and_then(ServerState::from_code))
            .flatten()
        {
            // A refusal the cluster connection gave up waiting out (a slot
            // still migrating when the time ran out): nothing was applied.
            Error::Unavailable {
                operation,
                state,
                message: err.to_string(),
                outcome: Outcome::NotApplied,
            }
        } else if err.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::CrossSlot) {
            // Refused by the cluster client before sending: the keys of one
            // command or pipeline are in several hash slots.
            Error::Server {
                operation,
                source: err,
                outcome: Outcome::NotApplied,
            }
        } else if err.kind() == redis::ErrorKind::ClusterConnectionNotFound {
            // No connection to the node that serves the slot: nothing sent.
            Error::Connection {
                operation,
                address,
                outcome: Outcome::NotApplied,
                source: err,
            }
        } else if matches!(err.kind(), redis::ErrorKind::Extension) {
            Error::Server {
                operation,
                source: err,
                outcome: Outcome::NotApplied,
            }
        } else {
            // A dropped connection, an I/O error, or a reply the client could not read.
            Error::Connection {
                operation,
                address,
                outcome: Outcome::Unknown,
                source: err,
            }
        }
    }

    /// The error for a connection that could not be established: nothing was sent.
    pub(crate) fn connecting(
        ctx: &ErrorContext<'_>,
        connect_timeout: Duration,
        err: redis::RedisError,
    ) -> Error {
        if err.is_timeout() {
            Error::Timeout {
                operation: ctx.operation,
                address: ctx.address.clone(),
                waiting: Waiting::Connection,
                after: connect_timeout,
                outcome: Outcome::NotApplied,
            }
        } else {
            Error::Connection {
                operation: ctx.operation,
                address: ctx.address.clone(),
                outcome: Outcome::NotApplied,
                source: err,
            }
        }
    }
}

/// What an error is about: the operation, the model and the server.
pub(crate) struct ErrorContext<'a> {
    /// The operation, e.g. `save`.
    pub(crate) operation: &'static str,
    /// The model's name.
    pub(crate) model: &'static str,
    /// The model's key template.
    pub(crate) key_template: &'static str,
    /// The server's address, without credentials.
    pub(crate) address: &'a Arc<str>,
    /// The configured response timeout.
    pub(crate) response_timeout: Duration,
    /// Whether several commands were sent that the server runs one by one
    /// (a raw pipeline): an error in one does not undo the others.
    pub(crate) several_commands: bool,
}

/// A server error's code. Redis answers some refusals inside a generic `ERR`
/// (a script's `redis.call` that hit `NOPERM` or `OOM`, for instance) with the
/// original code as the first word of the message; that code wins.
fn cause_code(error: &redis::ServerError) -> &str {
    let code = error.code();
    if code != "ERR" && code != "EXECABORT" {
        return code;
    }
    let details = error.details().unwrap_or("");
    details
        .split(|c: char| !c.is_ascii_uppercase())
        .find(|word| {
            word.len() >= 3
                && (matches!(*word, "WRONGTYPE" | "NOPERM")
                    || ServerState::from_code(word).is_some())
        })
        .unwrap_or(code)
}

/// Stored data that does not decode into its model.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("cannot decode {model} (key `{key_template}`){}: {kind}", field_suffix(*.field))]
pub struct DecodeError {
    /// The model.
    pub model: &'static str,
    /// Its key template.
    pub key_template: &'static str,
    /// The field that failed, when one did.
    pub field: Option<&'static str>,
    /// What is wrong.
    pub kind: DecodeErrorKind,
}

impl DecodeError {
    /// The error for model `M`, naming the field when one failed.
    pub(crate) fn of<M: Family>(field: Option<&'static str>, kind: DecodeErrorKind) -> Self {
        crate::observe::decode_failure(M::META.name, M::META.kind.as_str(), kind.class());
        DecodeError {
            model: M::META.name,
            key_template: M::META.key.source,
            field,
            kind,
        }
    }
}

/// What is wrong with stored data.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// A required field is absent.
    #[error(
        "required field is missing (mark it `#[redis(default)]` or make it an `Option` if old records lack it)"
    )]
    MissingField,
    /// A field the model does not declare, with `deny_unknown_fields`.
    #[error("unknown field `{0}`")]
    UnknownField(String),
    /// The value is not valid UTF-8.
    #[error("value is not valid UTF-8")]
    InvalidUtf8,
    /// The value does not parse as the field's type.
    #[error("value is not {expected}")]
    InvalidValue {
        /// What was expected, e.g. `"an integer (i64)"`.
        expected: &'static str,
    },
    /// A JSON value or document does not decode.
    #[error("invalid JSON: {0}")]
    Json(String),
    /// A MessagePack document does not decode.
    #[error("invalid MessagePack: {0}")]
    Msgpack(String),
    /// A custom codec (`#[redis(codec = ...)]`) refused the stored bytes.
    #[error("codec `{codec}` cannot decode the value: {message}")]
    Codec {
        /// The codec's [`NAME`](crate::codec::ValueCodec::NAME).
        codec: &'static str,
        /// Its error's message.
        message: String,
    },
    /// The reply has a shape the encoding never produces.
    #[error("unexpected reply: {0}")]
    UnexpectedReply(&'static str),
    /// An id field's stored value is not the one its key says: the entity is
    /// stored under another entity's key (written by hand, or copied). It is
    /// refused rather than returned, because saving it would write another key.
    #[error("the stored value differs from the key's (the entity is stored under another's key)")]
    IdMismatch,
    /// A key returned by a scan does not parse into the model's id.
    #[error("key part `{field}` does not parse: {reason}")]
    KeyPart {
        /// The placeholder.
        field: &'static str,
        /// Why.
        reason: KeyPartError,
    },
}

impl DecodeErrorKind {
    /// A short, stable name of the variant, in snake case (the `reason`
    /// label of `redis_runtime_decode_failures_total`).
    pub fn class(&self) -> &'static str {
        match self {
            DecodeErrorKind::MissingField => "missing_field",
            DecodeErrorKind::UnknownField(_) => "unknown_field",
            DecodeErrorKind::InvalidUtf8 => "invalid_utf8",
            DecodeErrorKind::InvalidValue { .. } => "invalid_value",
            DecodeErrorKind::Json(_) => "json",
            DecodeErrorKind::Msgpack(_) => "msgpack",
            DecodeErrorKind::Codec { .. } => "codec",
            DecodeErrorKind::UnexpectedReply(_) => "unexpected_reply",
            DecodeErrorKind::IdMismatch => "id_mismatch",
            DecodeErrorKind::KeyPart { .. } => "key_part",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(reply: &[u8]) -> Error {
        let err = redis::parse_redis_value(reply)
            .and_then(redis::Value::extract_error)
            .unwrap_err();
        let address: Arc<str> = "127.0.0.1:6379".into();
        let ctx = ErrorContext {
            operation: "op",
            model: "M",
            key_template: "m:{id}",
            address: &address,
            response_timeout: Duration::from_secs(1),
            several_commands: false,
        };
        Error::from_redis(&ctx, err)
    }

    /// Every class the runtime distinguishes, from the server's own wording;
    /// the transaction and pipeline paths are covered against a real server
    /// in `tests/tests/server_errors.rs`.
    #[test]
    fn server_errors_are_classified_by_their_code() {
        for (reply, state) in [
            (
                &b"-LOADING Redis is loading the dataset in memory\r\n"[..],
                ServerState::Loading,
            ),
            (
                b"-BUSY Redis is busy running a script.\r\n",
                ServerState::Busy,
            ),
            (
                b"-READONLY You can't write against a read only replica.\r\n",
                ServerState::ReadOnly,
            ),
            (
                b"-MASTERDOWN Link with MASTER is down\r\n",
                ServerState::MasterDown,
            ),
            (
                b"-OOM command not allowed when used memory > 'maxmemory'.\r\n",
                ServerState::OutOfMemory,
            ),
            (
                b"-NOREPLICAS Not enough good replicas to write.\r\n",
                ServerState::NoReplicas,
            ),
            (
                b"-MISCONF Redis is configured to save RDB snapshots\r\n",
                ServerState::PersistenceFailing,
            ),
            (
                b"-TRYAGAIN Multiple keys request during rehashing of slot\r\n",
                ServerState::TryAgain,
            ),
            (
                b"-CLUSTERDOWN The cluster is down\r\n",
                ServerState::ClusterDown,
            ),
            // A script's `redis.call` refused inside a generic error.
            (
                b"-ERR Error running script: @user_script:1: -OOM command not allowed\r\n",
                ServerState::OutOfMemory,
            ),
        ] {
            match classify(reply) {
                Error::Unavailable { state: got, .. } => assert_eq!(got, state),
                other => panic!("{}: {other:?}", String::from_utf8_lossy(reply)),
            }
        }
        assert!(matches!(
            classify(b"-NOPERM this user has no permissions\r\n"),
            Error::PermissionDenied { .. }
        ));
        assert!(matches!(
            classify(b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
            Error::WrongType { .. }
        ));
        let other = classify(b"-ERR value is out of range, NOTACODE\r\n");
        assert!(matches!(other, Error::Server { .. }), "{other:?}");
        assert_eq!(other.outcome(), Outcome::NotApplied);
    }

    #[test]
    fn serde_messages_lose_the_stored_value_and_keep_the_rest() {
        for (raw, want) in [
            (
                r#"invalid type: string "ada@example.com", expected u64 at line 1 column 20"#,
                "invalid type: string, expected u64 at line 1 column 20",
            ),
            (
                r#"invalid type: string "a, expected b", expected u64"#,
                "invalid type: string, expected u64",
            ),
            (
                "invalid value: integer `-5`, expected u8",
                "invalid value: integer, expected u8",
            ),
            (
                "invalid type: map, expected a string",
                "invalid type: map, expected a string",
            ),
            (
                "unknown variant `secret`, expected `a` or `b`",
                "unknown variant, expected `a` or `b`",
            ),
            (
                "missing field `email` at line 1 column 2",
                "missing field `email` at line 1 column 2",
            ),
            ("EOF while parsing a value", "EOF while parsing a value"),
        ] {
            assert_eq!(scrub_serde_message(raw.to_owned()), want, "{raw}");
        }
    }
}
