//! The escape hatch: commands the typed API does not cover yet, sent over the
//! [`Store`]'s own connection with keys from the one key renderer.

use redis::{Cmd, FromRedisValue, Pipeline};

use crate::error::{Error, Result};
use crate::key::RenderedKey;
use crate::key::{KeyPart, KeyPartError, is_valid_literal, write_part};
use crate::model::Family;
use crate::store::{Retry, Store, Target};

/// Raw commands over a [`Store`]'s connection, for what the typed API does
/// not cover yet. Get it with [`Store::raw_access`].
///
/// It is an escape hatch, not a second API: every call of `raw_access` is
/// counted by `redis-runtime audit` (kind `escape_hatch`), so a service can
/// hold the number of such places at a baseline and ratchet it down as typed
/// operations arrive. What it still gives over a second client:
///
/// - the same connection, configuration, timeouts and error types as the
///   typed operations (nothing to configure twice, no second URL to keep);
/// - keys rendered by the same renderer: [`RawAccess::key`] for the key of a
///   declared family (a model, a collection, or a raw family declared with
///   [`RedisRaw`](derive@crate::RedisRaw) for exactly this code), [`RawAccess::compose_key`] for a key the models do not
///   declare, with the namespace applied and parts escaped exactly as typed
///   keys are (so they cannot forge a typed key or widen a `SCAN`).
///
/// Commands are sent once and never retried: the runtime cannot know whether
/// they are safe to repeat. Errors are classified like those of typed
/// operations (`NOPERM` is [`Error::PermissionDenied`], and so on).
///
/// ```no_run
/// # use redis_runtime::{Store, redis};
/// # async fn members(store: &Store, room: u64) -> redis_runtime::Result<Vec<String>> {
/// let raw = store.raw_access();
/// let key = raw.compose_key().literal("room").part(&room).literal("members").finish()?;
/// raw.query(redis::cmd("SMEMBERS").arg(&key)).await
/// # }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct RawAccess<'a> {
    store: &'a Store,
}

impl Store {
    /// The escape hatch for commands the typed API does not cover yet: see
    /// [`RawAccess`]. Every call is counted by `redis-runtime audit`.
    pub fn raw_access(&self) -> RawAccess<'_> {
        RawAccess { store: self }
    }
}

impl RawAccess<'_> {
    /// The key of `id` in a declared family (a model, a collection, or a raw
    /// family declared with [`RedisRaw`](derive@crate::RedisRaw)), as typed
    /// operations render it: namespace applied, parts escaped.
    ///
    /// ```no_run
    /// # use redis_runtime::{RedisRaw, Store, redis};
    /// #[derive(RedisRaw)]
    /// #[redis(key = "legacy:queue:{name}", redis_type = "list", commands = "lpush llen")]
    /// struct LegacyQueue { name: String }
    ///
    /// # async fn push(store: &Store) -> redis_runtime::Result<u64> {
    /// let raw = store.raw_access();
    /// let key = raw.key::<LegacyQueue>(&"mail".to_owned())?;
    /// raw.query(redis::cmd("LPUSH").arg(&key).arg("job-1")).await
    /// # }
    /// ```
    pub fn key<M: Family>(&self, id: &M::Id) -> Result<RenderedKey> {
        self.store.key::<M>(id)
    }

    /// Starts a key the models do not declare, under the store's namespace.
    pub fn compose_key(&self) -> KeyBuilder {
        KeyBuilder {
            key: self.store.namespace().as_bytes().to_vec(),
            segments: 0,
            error: None,
        }
    }

    /// Sends one command and converts its reply.
    pub async fn query<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T> {
        self.store
            .run(
                Target::RAW,
                "raw query",
                Retry::Never,
                |mut con| async move { cmd.query_async(&mut con).await },
            )
            .await
    }

    /// Sends a pipeline (or, with `atomic()`, a transaction) in one round trip
    /// and converts its replies.
    ///
    /// When the server refuses one command of a pipeline of several, the error
    /// names that one, and its [`Error::outcome`] is
    /// [`Outcome::Unknown`](crate::Outcome::Unknown): the server ran the
    /// others, one by one. Only an `atomic()` pipeline that the server aborts
    /// at `EXEC` applied nothing.
    pub async fn query_pipeline<T: FromRedisValue>(&self, pipe: &Pipeline) -> Result<T> {
        let target = Target {
            several_commands: pipe.len() > 1,
            ..Target::RAW
        };
        self.store
            .run(target, "raw pipeline", Retry::Never, |mut con| async move {
                pipe.query_async(&mut con).await
            })
            .await
    }
}

/// A key family the application still reaches by hand, through
/// [`Store::raw_access`]: `#[derive(RedisRaw)]`. It has no typed operations;
/// declaring it is what lets the tools cover the whole keyspace during a
/// migration to typed declarations:
///
/// - [`keyspace!`](crate::keyspace!) lists it like any family, and its
///   collision check covers it;
/// - the manifest lists it with kind `raw`, its Redis type and its commands;
/// - the ACL rule grants exactly its commands on its key pattern, in an ACL
///   selector of its own (Redis 7), and no runtime command on it;
/// - doctor samples its keys, flags those whose `TYPE` is not the declared
///   one and, with a `ttl`, those without a TTL;
/// - the hand-written code gets its keys from [`RawAccess::key`] instead of
///   building the strings itself.
///
/// Attributes (`#[redis(...)]` on the struct, whose fields are the key's
/// placeholders, as for a collection):
///
/// - `key = "..."`: the key template, checked like every other;
/// - `redis_type = "..."`: what its keys hold, as `TYPE` names it: `string`,
///   `hash`, `list`, `set`, `zset` or `stream`;
/// - `commands = "..."`: the commands the hand-written code sends to its
///   keys, space-separated, as the ACL names them (lower case,
///   `xgroup|create` for a subcommand). Each is checked at compile time: an
///   unknown name is an error with a suggestion, and so is a command that
///   does not operate on keys of `redis_type` (`hset` on a `list`);
/// - `ttl = "..."` (optional): the TTL the code gives its keys, which doctor
///   checks;
/// - `hash_tag = "..."` and `crate = "..."`, as elsewhere.
///
/// ```
/// use redis_runtime::{RedisRaw, keyspace};
///
/// #[derive(RedisRaw)]
/// #[redis(key = "legacy:queue:{name}", redis_type = "list", commands = "lpush brpop llen")]
/// struct LegacyQueue { name: String }
///
/// keyspace! { APP = [LegacyQueue]; }
///
/// let rule = APP.manifest("app").acl_rule();
/// assert_eq!(rule.selectors[0].as_arg(), "(~app:legacy:queue:?* +lpush +brpop +llen)");
/// ```
///
/// A command Redis does not have for the declared type does not compile:
///
/// ```compile_fail
/// use redis_runtime::RedisRaw;
///
/// #[derive(RedisRaw)]
/// #[redis(key = "legacy:queue:{name}", redis_type = "list", commands = "lpush hset")]
/// struct LegacyQueue { name: String }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a raw family declaration",
    note = "derive `RedisRaw` for `{Self}` with `#[redis(key = \"...\", redis_type = \"...\", commands = \"...\")]`"
)]
pub trait RedisRaw: Family {}

/// Builds a key segment by segment, as the key templates of models do:
/// literals are checked, parts are escaped, and `{…}` marks a hash tag.
/// Errors are kept until [`KeyBuilder::finish`].
#[derive(Debug)]
#[must_use = "a key builder does nothing until `finish`"]
pub struct KeyBuilder {
    key: Vec<u8>,
    segments: usize,
    error: Option<KeyPartError>,
}

impl KeyBuilder {
    fn separator(&mut self) {
        if self.segments > 0 {
            self.key.push(b':');
        }
        self.segments += 1;
    }

    fn fail(&mut self, error: KeyPartError) {
        self.error.get_or_insert(error);
    }

    /// Appends a literal segment: ASCII letters, digits, `_`, `-` or `.`, as in
    /// key templates.
    pub fn literal(mut self, literal: &str) -> Self {
        if !is_valid_literal(literal) {
            self.fail(KeyPartError::Unparsable {
                expected: "a literal of ASCII letters, digits, `_`, `-` or `.`",
            });
        }
        self.separator();
        self.key.extend_from_slice(literal.as_bytes());
        self
    }

    /// Appends a value, escaped like a placeholder's.
    pub fn part<P: KeyPart>(mut self, value: &P) -> Self {
        self.separator();
        if let Err(e) = write_part(value, &mut self.key) {
            self.fail(e);
        }
        self
    }

    /// Appends a value as the hash tag (`{…}`), so the key shares a cluster
    /// slot with the models tagged by the same value.
    pub fn tagged_part<P: KeyPart>(mut self, value: &P) -> Self {
        self.separator();
        self.key.push(b'{');
        if let Err(e) = write_part(value, &mut self.key) {
            self.fail(e);
        }
        self.key.push(b'}');
        self
    }

    /// The key, or the first problem met ([`Error::InvalidKeyPart`]).
    pub fn finish(self) -> Result<RenderedKey> {
        match self.error {
            None if self.segments > 0 => Ok(RenderedKey(self.key)),
            None => Err(invalid(KeyPartError::Empty)),
            Some(reason) => Err(invalid(reason)),
        }
    }
}

fn invalid(reason: KeyPartError) -> Error {
    crate::observe::refused(Target::RAW.model, Target::RAW.kind, "invalid_key_part");
    Error::InvalidKeyPart {
        model: Target::RAW.model,
        key_template: Target::RAW.key_template,
        field: "composed key",
        reason,
    }
}
