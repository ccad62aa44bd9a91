//! The kinds of violation, each documented where it is defined: what it
//! finds, why it matters, its known limits, and an example (annotated as
//! the fixtures in `tests/fixtures/audit/` are, `// expect: kind`).

use std::fmt;

use serde::{Deserialize, Serialize};

/// The kind of a violation. Its `snake_case` name is stable: it is what
/// JSON output, baselines and summaries use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// `raw_command`: a raw command is built.
    ///
    /// ### What it finds
    ///
    /// Every use of a raw command constructor of redis-rs: `redis::cmd`,
    /// `Cmd::new`, `Cmd::default`, `Cmd::<command>` (`Cmd::get(key)`) and
    /// `redis::pack_command`, called or not (`.map(redis::cmd)` counts).
    ///
    /// ### Why it matters
    ///
    /// A raw command is what a typed operation replaces: its key is built by
    /// hand, so nothing escapes the ids in it or adds the namespace; the TTL
    /// policy does not apply; and the manifest, the ACL rule derived from it
    /// and `doctor` do not know the command exists.
    ///
    /// ### Known limits
    ///
    /// `Default::default()` is not known to build a `Cmd`. A command built in
    /// a helper, or bound to a variable and sent in a later statement, is
    /// counted where it is built; where it is sent is a
    /// [`RawConnectionCall`](Kind::RawConnectionCall).
    ///
    /// ### Example
    ///
    /// ```text
    /// redis::cmd("GET") // expect: raw_command
    ///     .arg(format!("cache:{id}")) // expect: hand_built_key
    ///     .query_async(&mut self.con)
    ///     .await
    /// ```
    RawCommand,
    /// `raw_pipeline`: a raw pipeline or transaction is built.
    ///
    /// ### What it finds
    ///
    /// Every use of `redis::pipe`, `Pipeline::new`, `Pipeline::with_capacity`,
    /// `Pipeline::default`, `redis::transaction`, `cluster::cluster_pipe` and
    /// `ClusterPipeline::new`/`with_capacity`/`default`. In
    /// `redis::transaction(con, keys, |con, pipe| ..)` the closure's last
    /// parameter is that transaction's pipeline (what is called on it is
    /// part of this one violation), the others the connection, and the
    /// watched keys are checked for [hand-built keys](Kind::HandBuiltKey).
    ///
    /// ### Why it matters
    ///
    /// As for a [raw command](Kind::RawCommand), for every command in the
    /// pipeline; and the framework already sends what needs to be atomic
    /// (a full save) as one `MULTI`/`EXEC`.
    ///
    /// ### Known limits
    ///
    /// `Default::default()` is not known to build a `Pipeline`.
    ///
    /// ### Example
    ///
    /// ```text
    /// let mut pipe = redis::pipe(); // expect: raw_pipeline
    /// pipe.atomic();
    /// for id in ids {
    ///     pipe.expire(format!("cache:{id}"), 60).ignore(); // expect: hand_built_key
    /// }
    /// pipe.query_async(&mut self.con).await // expect: raw_connection_call
    /// ```
    RawPipeline,
    /// `raw_script`: a raw Lua script is built.
    ///
    /// ### What it finds
    ///
    /// Every use of `Script::new`.
    ///
    /// ### Why it matters
    ///
    /// A script reads and writes keys the manifest does not list, with
    /// key names passed by hand, and runs outside every typed operation.
    ///
    /// ### Known limits
    ///
    /// A script built in a `static`, a helper or another statement is
    /// counted there; invoking it is a
    /// [`RawConnectionCall`](Kind::RawConnectionCall).
    ///
    /// ### Example
    ///
    /// ```text
    /// let script = redis::Script::new("return redis.call('GET', KEYS[1])"); // expect: raw_script
    /// script.key(format!("job:{id}")).invoke_async(&mut con).await // expect: hand_built_key, raw_connection_call
    /// ```
    RawScript,
    /// `command_trait_import`: a redis command trait is brought into scope.
    ///
    /// ### What it finds
    ///
    /// A `use` of a redis command trait (`Commands`, `AsyncCommands`,
    /// `TypedCommands`, `AsyncTypedCommands`, `JsonCommands`,
    /// `JsonAsyncCommands`, `PubSubCommands`, `HotkeysCommands`,
    /// `AsyncHotkeysCommands`, `ConnectionLike`), under any name, `as _`
    /// included, and a glob import of a redis module that exports them (the
    /// crate root, `redis::aio`, `redis::commands`, `redis::json`).
    ///
    /// ### Why it matters
    ///
    /// The import is what turns `con.get(key)` into a raw command; reporting
    /// it makes a file that starts talking to Redis show in the baseline
    /// even before its first call. It is a signal, not an access site: it
    /// is not counted in "violations".
    ///
    /// ### Known limits
    ///
    /// Traits named in a bound (`C: redis::AsyncCommands`) are not imports
    /// and are not counted (the calls they allow are).
    ///
    /// ### Example
    ///
    /// ```text
    /// use redis::AsyncCommands; // expect: command_trait_import
    /// use redis::aio::MultiplexedConnection;
    /// ```
    CommandTraitImport,
    /// `command_trait_call`: a redis command-trait method is called.
    ///
    /// ### What it finds
    ///
    /// A method call (`con.get(k)`) that counts only when the method name
    /// and argument count match a method of a redis command trait, the
    /// trait is in scope (imported, glob-imported, or a bound such as `C:
    /// Commands` or `impl AsyncCommands` on the enclosing function or impl)
    /// or the receiver is known to be a redis connection, and the receiver
    /// is not known to be something else (see the receiver rules in
    /// [`audit`](super)). A turbofish must fit the trait method's type
    /// parameters, so `store.get::<User>(&id)` is never `Commands::get`.
    /// Also a command-trait method named by path, called or not:
    /// `redis::AsyncCommands::get(&mut con, k)`, `<C as
    /// redis::AsyncCommands>::get`; and the inherent command methods of
    /// `redis::PubSub` and `redis::aio::PubSub` (`subscribe`, `psubscribe`,
    /// `ssubscribe` and their `un` twins), on a value declared as one or
    /// handed out by `as_pubsub()`, `into_pubsub()` or `get_async_pubsub()`.
    ///
    /// Not counted: a method of a trait of the scanned crate, in scope at
    /// the call, implemented for a redis type the receiver may be (`impl
    /// OrderRepo for Rc<redis::Client>`; `repo.get(id)` is
    /// `OrderRepo::get`, and the raw access is inside that impl); what is
    /// taken out of a decoded reply (`users.iter().any(|h| h.get("role"))`,
    /// a `StreamReadReply`'s `keys` and their `ids`, `StreamId::get`).
    ///
    /// ### Why it matters
    ///
    /// Each call is a raw command with its key written at the call site:
    /// the typed operation for the model it touches is what should be
    /// called instead.
    ///
    /// ### Known limits
    ///
    /// The receiver is judged from declarations, not inferred: on a receiver
    /// nothing is known about, in a scope where a command trait is, a method
    /// with a command's name and arity counts.
    ///
    /// ### Example
    ///
    /// ```text
    /// use redis::AsyncCommands; // expect: command_trait_import
    ///
    /// async fn load(con: &mut MultiplexedConnection, seen: &HashMap<String, String>, id: &str) {
    ///     let _ = seen.get(id); // a HashMap: not counted
    ///     let _: Option<String> = con.get(format!("cache:{id}")).await.unwrap(); // expect: command_trait_call, hand_built_key
    /// }
    /// ```
    CommandTraitCall,
    /// `raw_connection_call`: raw bytes, or a command built elsewhere, are
    /// sent over a connection.
    ///
    /// ### What it finds
    ///
    /// A call of `req_packed_command`, `req_packed_commands`, `req_command`,
    /// `send_packed_command` or `send_packed_commands` (by method, or by path
    /// as a `ConnectionLike` method; also in `macro_rules!` bodies); and a
    /// call of `query`, `query_async`, `exec`, `exec_async`, `invoke`,
    /// `invoke_async` or `iter_async` that sends a construct not built in
    /// the same expression: one bound to a variable in another statement
    /// (`let mut pipe = redis::pipe(); ...; pipe.query_async(..)`), a field
    /// declared as a `Cmd`, `Pipeline` or `Script`, a parameter of type
    /// `&Cmd`, a `static` script, a helper's return value. For receivers of
    /// undeclared type, its one argument must be able to be a connection
    /// (not a shared reference, not a literal) and the file must name redis
    /// at all. Keys built by hand for such a chain (`SCRIPT.key(format!(..))`)
    /// are [hand-built keys](Kind::HandBuiltKey) too. The closure of
    /// `redis::transaction` sends its pipeline inside the transaction that
    /// was counted: its `.query(con)` is not counted again.
    ///
    /// ### Why it matters
    ///
    /// The construct was counted where it was built, but this is where it
    /// reaches Redis: a helper returning a `Cmd`, or a command kept in a
    /// field and sent by a worker loop, must not hide the places that send
    /// it, and packed commands skip even the `Cmd` builder.
    ///
    /// ### Known limits
    ///
    /// Whether a receiver was built elsewhere is judged from declarations
    /// (a parameter's type, a crate function's declared return type), not
    /// inferred; a `query`-like call on a receiver of undeclared type counts
    /// only in a file that names redis.
    ///
    /// ### Example
    ///
    /// ```text
    /// fn send(cmd: &redis::Cmd, con: &mut redis::Connection) -> redis::RedisResult<()> {
    ///     cmd.query(con) // expect: raw_connection_call
    /// }
    /// ```
    RawConnectionCall,
    /// `hand_built_key`: a key string built by hand for a raw call.
    ///
    /// ### What it finds
    ///
    /// A string literal, `format!` or `concat!` with `:` in its literal
    /// text (for `format!`, outside its `{..}` placeholders), passed, directly or through a
    /// `let`, to a raw construct (`.arg(..)`, `.key(..)`, a pipeline's
    /// command methods, `Cmd::<command>(..)`, a transaction's watched keys)
    /// or in a key position of a command-trait call. It is counted in
    /// addition to the construct or call, where the key is built. When the
    /// command is known (`cmd("SET")`, a trait method), only its key
    /// positions are checked: `SET`'s value is not a key.
    ///
    /// ### Why it matters
    ///
    /// The key is what the framework replaces: a hand-built key is not
    /// escaped (an id can forge another key or widen a `SCAN` with `*`), not
    /// namespaced, and not in the manifest. It is a signal next to the
    /// access site it is passed to, not counted in "violations" itself.
    ///
    /// ### Known limits
    ///
    /// A key built in a helper (`con.get(user_key(id))`) is not traced into
    /// the helper; a key without a `:` in its literal text is not
    /// recognised.
    ///
    /// ### Example
    ///
    /// ```text
    /// let key = format!("session:{token}"); // expect: hand_built_key
    /// con.del(&key).await // expect: command_trait_call
    /// ```
    HandBuiltKey,
    /// `escape_hatch`: the framework's escape hatch, `Store::raw_access()`,
    /// is used.
    ///
    /// ### What it finds
    ///
    /// A call of `.raw_access()` with no arguments, on any receiver, and the
    /// path `Store::raw_access` (`redis_runtime::Store::raw_access`, an alias
    /// of `Store`), called or not, also in macro arguments and `macro_rules!`
    /// bodies. It is counted once, where the `RawAccess` is obtained: what
    /// is done with it afterwards (`raw.key::<T>(..)`, `raw.query(..)`,
    /// passing it to a helper) is part of that one violation, as `.arg(..)`
    /// and `.query_async(..)` are part of a raw command. A raw construct sent
    /// through it is still counted where it is built:
    /// `raw.query(redis::cmd("SCARD").arg(&key))` after `let raw =
    /// store.raw_access();` is one `escape_hatch` and one
    /// [`raw_command`](Kind::RawCommand), and a key built by hand for that
    /// command is a [`hand_built_key`](Kind::HandBuiltKey) in addition (keys
    /// from `raw.key::<T>(..)` and `raw.compose_key()` are not). The
    /// same holds for `redis_runtime::redis`, the framework's re-export of
    /// redis-rs: it is the redis crate.
    ///
    /// ### Why it matters
    ///
    /// The escape hatch sends commands the framework does not cover yet
    /// over the store's own connection, with keys rendered by the framework.
    /// It is sanctioned, not free: the commands it sends are none of the
    /// typed operations, so the manifest does not list them, and neither
    /// the ACL rule `acl` derives from the manifest nor `doctor`'s access
    /// check accounts for them. A service ratchets its uses down with its
    /// baseline as the framework grows the operations it needs.
    ///
    /// ### Known limits
    ///
    /// The method call is matched by name and arity alone, so a method of
    /// the scanned crate's own that is called `raw_access` and takes no
    /// arguments counts too (rename it, or allowlist it); one with arguments
    /// (`x.raw_access(id)`), a free function `raw_access(..)`, a field named
    /// `raw_access` and `Store::raw_access` of a `struct Store` the scanned
    /// crate declares itself do not count. `Store` imported under another
    /// name (`use redis_runtime::Store as Db`) is followed, a type alias of
    /// it (`type Db = Store; Db::raw_access(..)`) is not; inside macros with
    /// their own grammar the usual limit applies (`tracing::debug!(k =
    /// ?store.raw_access() ..)` is not parsed). The framework's own packages
    /// are exempt by default, so the escape hatch's definition and its doc
    /// examples are never reported.
    ///
    /// ### Example
    ///
    /// ```text
    /// let raw = store.raw_access(); // expect: escape_hatch
    /// let key = raw.compose_key().literal("room").part(&room).finish()?;
    /// raw.query(redis::cmd("SCARD").arg(&key)).await // expect: raw_command
    /// ```
    EscapeHatch,
    /// `unparsable_file`: a file that cannot be audited.
    ///
    /// ### What it finds
    ///
    /// A `.rs` file that `syn` does not parse, or that is not UTF-8,
    /// reported at the first error (or the first bad byte). The audit goes
    /// on with the other files.
    ///
    /// ### Why it matters
    ///
    /// A file that cannot be read cannot be shown to be clean: counting it
    /// keeps `violations: 0` a statement about every file.
    ///
    /// ### Known limits
    ///
    /// Syntax newer than the `syn` the audit is built with is reported
    /// even where `rustc` accepts it; allowlist the file meanwhile.
    ///
    /// ### Example
    ///
    /// ```text
    /// pub fn load(id: &str) -> Option<String> {
    ///     let key = format!("user:{id}"; // expect: unparsable_file
    /// ```
    UnparsableFile,
}

impl Kind {
    /// Every kind, in report order.
    pub const ALL: [Kind; 9] = [
        Kind::RawCommand,
        Kind::RawPipeline,
        Kind::RawScript,
        Kind::CommandTraitImport,
        Kind::CommandTraitCall,
        Kind::RawConnectionCall,
        Kind::HandBuiltKey,
        Kind::EscapeHatch,
        Kind::UnparsableFile,
    ];

    /// Whether this kind is an access site, counted in the "violations"
    /// total: a place that builds or sends raw Redis traffic (or opens the
    /// escape hatch), or a file that could not be audited. The other two,
    /// [`CommandTraitImport`](Kind::CommandTraitImport) and
    /// [`HandBuiltKey`](Kind::HandBuiltKey), are signals reported next to
    /// the sites, never counted as sites themselves.
    pub fn is_access_site(self) -> bool {
        !matches!(self, Kind::CommandTraitImport | Kind::HandBuiltKey)
    }

    /// The stable `snake_case` name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::RawCommand => "raw_command",
            Kind::RawPipeline => "raw_pipeline",
            Kind::RawScript => "raw_script",
            Kind::CommandTraitImport => "command_trait_import",
            Kind::CommandTraitCall => "command_trait_call",
            Kind::RawConnectionCall => "raw_connection_call",
            Kind::HandBuiltKey => "hand_built_key",
            Kind::EscapeHatch => "escape_hatch",
            Kind::UnparsableFile => "unparsable_file",
        }
    }

    /// The kind with this name.
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
