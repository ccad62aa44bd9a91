//! The one error type of the runtime.

use std::fmt;
use std::time::Duration;

use crate::key::KeyPartError;
use crate::model::RedisModel;

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

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Outcome::NotApplied => "it was not applied",
            Outcome::Unknown => "it may or may not have been applied",
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

    /// The server could not be reached, or the connection broke.
    #[error("Redis connection failed during `{operation}` ({outcome}): {source}")]
    Connection {
        /// The operation, e.g. `save`.
        operation: &'static str,
        /// Whether the operation may have been applied.
        outcome: Outcome,
        /// The underlying error.
        #[source]
        source: redis::RedisError,
    },

    /// The server did not answer in time.
    #[error("Redis `{operation}` timed out after {after:?} ({outcome})")]
    Timeout {
        /// The operation, e.g. `save`.
        operation: &'static str,
        /// The configured limit that was hit.
        after: Duration,
        /// Whether the operation may have been applied (usually [`Outcome::Unknown`]).
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

    /// The connected user is not allowed to run a command or touch a key (`NOPERM`).
    #[error("permission denied by the server's ACL during `{operation}`: {message}")]
    PermissionDenied {
        /// The operation, e.g. `save`.
        operation: &'static str,
        /// The server's message.
        message: String,
    },

    /// The server answered with an error.
    #[error("Redis server error during `{operation}`: {source}")]
    Server {
        /// The operation, e.g. `save`.
        operation: &'static str,
        /// The underlying error, with the server's code and message.
        #[source]
        source: redis::RedisError,
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
            Error::Connection { outcome, .. } | Error::Timeout { outcome, .. } => *outcome,
            _ => Outcome::NotApplied,
        }
    }

    /// Whether this error came from a lost or unreachable connection or a timeout.
    pub fn is_connection(&self) -> bool {
        matches!(self, Error::Connection { .. } | Error::Timeout { .. })
    }

    /// The error for a model, or one of its fields, that fails to encode.
    pub(crate) fn encode<M: RedisModel>(field: Option<&'static str>, message: String) -> Error {
        Error::Encode {
            model: M::META.name,
            key_template: M::META.key.source,
            field,
            message,
        }
    }

    pub(crate) fn from_redis(
        operation: &'static str,
        model: &'static str,
        key_template: &'static str,
        response_timeout: Duration,
        err: redis::RedisError,
    ) -> Error {
        use redis::{ErrorKind, ServerErrorKind};
        let wrong_type = err
            .clone()
            .into_server_errors()
            .is_some_and(|errors| errors.iter().any(|(_, e)| e.code() == "WRONGTYPE"));
        if wrong_type {
            return Error::WrongType {
                model,
                key_template,
            };
        }
        match err.kind() {
            ErrorKind::Server(ServerErrorKind::NoPerm) => Error::PermissionDenied {
                operation,
                message: err.detail().unwrap_or("NOPERM").to_owned(),
            },
            ErrorKind::Server(ServerErrorKind::ExecAbort)
                if err.detail().is_some_and(|d| d.contains("WRONGTYPE")) =>
            {
                Error::WrongType {
                    model,
                    key_template,
                }
            }
            _ if err.is_timeout() => Error::Timeout {
                operation,
                after: response_timeout,
                outcome: Outcome::Unknown,
            },
            _ if err.is_connection_refusal() => Error::Connection {
                operation,
                outcome: Outcome::NotApplied,
                source: err,
            },
            _ if err.is_connection_dropped() || err.is_io_error() => Error::Connection {
                operation,
                outcome: Outcome::Unknown,
                source: err,
            },
            ErrorKind::Server(_) | ErrorKind::Extension => Error::Server {
                operation,
                source: err,
            },
            _ => Error::Connection {
                operation,
                outcome: Outcome::Unknown,
                source: err,
            },
        }
    }
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
    pub(crate) fn of<M: RedisModel>(field: Option<&'static str>, kind: DecodeErrorKind) -> Self {
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
    /// The reply has a shape the encoding never produces.
    #[error("unexpected reply: {0}")]
    UnexpectedReply(&'static str),
    /// A key returned by a scan does not parse into the model's id.
    #[error("key part `{field}` does not parse: {reason}")]
    KeyPart {
        /// The placeholder.
        field: &'static str,
        /// Why.
        reason: KeyPartError,
    },
}

#[cfg(test)]
mod tests {
    use super::scrub_serde_message;

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
