//! The raw-access audit: every place in a Rust source tree that talks to
//! Redis without going through `redis-runtime`.
//!
//! Files are parsed with `syn` (never scanned as text), and every path is
//! resolved against the `use` items, `extern crate` items and declarations
//! around it, across the files of each crate: `use redis as r;`, `use
//! deadpool_redis::redis;`, `extern crate redis as foo;`, `use
//! crate::prelude::*` re-exporting `redis::Commands`, and fully-qualified
//! `::redis::cmd` all resolve to the redis crate, while a local `mod redis`,
//! a local `fn cmd` or a local `struct Pipeline` do not.
//!
//! # Violation kinds and counting rules
//!
//! | kind | counted once per |
//! | --- | --- |
//! | `raw_command` | use of `redis::cmd`, `Cmd::new`/`default`, `Cmd::<command>` or `pack_command` |
//! | `raw_pipeline` | use of `redis::pipe`, `Pipeline::new`/`with_capacity`/`default`, `redis::transaction`, `cluster_pipe` |
//! | `raw_script` | use of `Script::new` |
//! | `command_trait_import` | trait imported from a redis root (`Commands`, `AsyncCommands`, `TypedCommands`, `AsyncTypedCommands`, `JsonCommands`, `JsonAsyncCommands`, `PubSubCommands`, `HotkeysCommands`, `ConnectionLike`), or glob import of a redis root or `redis::aio` |
//! | `command_trait_call` | call of a command-trait method, by method syntax or by path |
//! | `raw_connection_call` | call of `req_packed_command(s)`, `req_command`, `send_packed_command(s)`; or of `query`, `query_async`, `exec`, `exec_async`, `invoke`, `invoke_async`, `iter_async` with one argument, not on a raw construct, in a file that names redis |
//! | `hand_built_key` | string literal, `format!` or `concat!` with `:` in its literal text, passed (directly or through a `let`) to a raw construct or in a key position of a command-trait call |
//! | `escape_hatch` | call of the framework's sanctioned escape hatch: `.raw_access()` with no arguments, on any receiver, or the path `Store::raw_access` (`redis_runtime::Store::raw_access`, an alias of `Store`), called or not |
//! | `unparsable_file` | file that does not parse, or is not UTF-8 |
//!
//! A raw construct is counted once, where it is built. Everything chained
//! onto it (`.arg(..)`, `.key(..)`, pipeline command methods, `.ignore()`,
//! `.query_async(..)`, `.invoke_async(..)`), and everything later called on
//! a variable or closure parameter bound to it, is part of that one
//! violation: `redis::cmd("GET").arg(k).query_async(&mut c)` is one
//! `raw_command`. A hand-built key inside it is counted in addition, since
//! the key is what the framework replaces.
//!
//! A command-trait method call (`con.get(k)`) counts only when the method
//! name and argument count match a method of a redis command trait, the
//! trait is in scope (imported, glob-imported, or a bound such as `C:
//! Commands` or `impl AsyncCommands` on the enclosing function or impl) or
//! the receiver is known to be a redis connection, and the receiver is not
//! known to be something else. A turbofish must fit the trait method's type
//! parameters, so `store.get::<User>(&id)` is never `Commands::get`.
//!
//! What is known about a receiver comes from declarations, not inference:
//! a variable's or parameter's declared type or initializer (`HashMap::new()`,
//! `Store::connect(..)`, a struct literal, `vec![]`, a call of a free function
//! of the crate, by its declared return type), a field's declared type
//! (`self.cache`, `state.store`, for structs declared anywhere in the crate),
//! newtype extractors (`State(state): State<AppState>`), and what is taken out
//! of a value that neither is nor holds Redis (`for x in &list`, `if let
//! Some(x) = list.first()`, `match`, the parameters of a closure passed to its
//! methods: `list.iter().map(|x| ..)`). Redis are redis-rs
//! connections and clients, the wrapper crates' types, generics bounded by a
//! redis trait, and types of the scanned crate that implement a redis trait
//! or alias a redis type. Not Redis are other crates' types (`std`, the
//! framework's `Store`, ...), the scanned crate's own types (unless they
//! implement `Deref`, which may lead to a connection), literals and indexing.
//! The result of a method call is unknown when the method plausibly hands
//! out a connection (its name contains `conn`, `redis`, `pool`, `client` or
//! `manager`, or it is a pool checkout such as `get()`) and not Redis
//! otherwise (`req.headers().get(..)`).
//!
//! `query`/`exec`/`invoke` calls count as `raw_connection_call` when their
//! receiver was not built in the same function (a parameter of type `&Cmd`,
//! a `static` script, a helper's return value) and their one argument could
//! be a connection (not a shared reference, not a literal), in a file that
//! names redis at all; keys built by hand for such a chain (`SCRIPT
//! .key(format!(..))`) are `hand_built_key`s too.
//!
//! The redis crate is found under every name it has: `redis`, `use` and
//! `extern crate` aliases, re-exports, wrapper crates' `::redis`, type aliases
//! (`type C = redis::Cmd; C::new()`), qualified-self paths (`<C as
//! redis::AsyncCommands>::get`), and dependency renames in the package's
//! `Cargo.toml` (`myredis = { package = "redis" }`, in any dependency table).
//! `macro_rules!` bodies are walked as tokens: a path in them that resolves to
//! a raw constructor or a command-trait method, and a
//! `.req_packed_command(..)`-style call, is reported where it is written, in
//! the macro (`name!`).
//!
//! # The escape hatch
//!
//! `Store::raw_access()` hands out a `RawAccess` that sends commands the
//! framework does not cover yet over the store's own connection, with keys
//! rendered by the framework (`raw.key::<User>(&id)`). It is sanctioned, not
//! free: the commands it sends are none of the typed operations, so the
//! manifest does not list them, and neither the ACL rule `acl` derives from
//! the manifest nor `doctor`'s access check accounts for them. Every use is
//! an `escape_hatch`
//! violation, which a service ratchets down with its baseline as the
//! framework grows the operations it needs.
//!
//! The escape hatch is counted once, where it is obtained: the
//! `.raw_access()` call (or the `Store::raw_access` path). What is done with
//! the `RawAccess` afterwards (`raw.key::<T>(..)`, `raw.query(..)`, passing
//! it to a helper) is part of that one violation, as `.arg(..)` and
//! `.query_async(..)` are part of a raw command. A raw construct sent
//! through it is still counted where it is built:
//! `raw.query(redis::cmd("SCARD").arg(&key))` after `let raw =
//! store.raw_access();` is one `escape_hatch` and one `raw_command`, and a
//! key built by hand for that command is a `hand_built_key` in addition
//! (keys from `raw.key::<T>(..)` and `raw.compose_key()` are not). The same
//! holds for `redis_runtime::redis`, the framework's re-export of redis-rs:
//! it is the redis crate.
//!
//! Limits: the method call is matched by name and arity alone, so a method
//! of the scanned crate's own that is called `raw_access` and takes no
//! arguments counts too (rename it, or allowlist it); one with arguments
//! (`x.raw_access(id)`), a free function `raw_access(..)`, a field named
//! `raw_access` and `Store::raw_access` of a `struct Store` the scanned crate
//! declares itself do not count. `Store` imported under another name
//! (`use redis_runtime::Store as Db`) is followed, a type alias of it (`type
//! Db = Store; Db::raw_access(..)`) is not; inside macros with their own
//! grammar the usual limit applies (`tracing::debug!(k = ?store.raw_access()
//! ..)` is not parsed). The framework's own packages are exempt by default,
//! so the escape hatch's definition and its doc examples are never reported.
//!
//! Known limits: no type inference through methods' return types; a key built
//! in a helper (`con.get(user_key(id))`) is not traced into the helper; macros
//! with their own grammar are audited only where their parts parse as
//! expressions, and `macro_rules!` bodies only for paths and connection
//! methods (not command-trait calls or keys); `Default::default()` is not
//! known to build a `Cmd` or `Pipeline`; `#[cfg]` is ignored (every branch is
//! audited); `#[path]` and `include!` are not followed.

mod allow;
mod analyze;
mod baseline;
pub mod cli;
mod commands;
mod layout;
mod output;
mod resolve;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use allow::{Allowlist, DEFAULT_ALLOW_FILE, EXEMPT_PACKAGES, read_allow_file};
pub use baseline::{Baseline, Comparison, Delta};
pub use output::{JsonReport, SCHEMA_VERSION, render_json, render_text};

/// The kind of a violation. Its `snake_case` name is stable: it is what
/// JSON output, baselines and summaries use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A raw command: `redis::cmd`, `Cmd::new`, `Cmd::<command>`.
    RawCommand,
    /// A raw pipeline or transaction: `redis::pipe`, `Pipeline::new`.
    RawPipeline,
    /// A raw Lua script: `Script::new`.
    RawScript,
    /// A redis command trait imported (`use redis::AsyncCommands;`), or a
    /// glob import of a redis root.
    CommandTraitImport,
    /// A call of a redis command-trait method (`con.get(key)`).
    CommandTraitCall,
    /// A raw call on a connection (`req_packed_command`, or `query_async`
    /// of a command built elsewhere).
    RawConnectionCall,
    /// A key string built by hand and passed to a raw call.
    HandBuiltKey,
    /// A use of the framework's escape hatch, `Store::raw_access()`:
    /// sanctioned, but outside the typed operations, the manifest and the
    /// derived ACL rule, so counted to be ratcheted down.
    EscapeHatch,
    /// A file that does not parse, so cannot be shown to be clean.
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

/// One place that talks to Redis without going through the framework.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    /// The file, as the scanned path joined with the path below it.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// What it is.
    pub kind: Kind,
    /// The enclosing function: `module::Type::method`, the fn name, or
    /// `<top-level>`.
    pub function: String,
    /// The enclosing module, `crate::a::b`.
    pub module: String,
    /// What was found.
    pub message: String,
    /// The source line, trimmed.
    pub snippet: String,
}

/// How to run the audit.
#[derive(Clone, Debug)]
pub struct Options {
    /// Allowlist patterns: path globs relative to a scanned directory (or
    /// as reported), or module paths such as `crate::redis_internal`.
    pub allow: Vec<String>,
    /// Exempt the framework's own packages ([`EXEMPT_PACKAGES`]).
    pub exempt_framework: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            allow: Vec::new(),
            exempt_framework: true,
        }
    }
}

/// The outcome of an audit.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Violations outside the allowlist, ordered by file, line and column.
    pub violations: Vec<Violation>,
    /// How many violations the allowlist (or the framework exemption)
    /// suppressed.
    pub allowed: usize,
    /// How many files were scanned.
    pub files: usize,
}

impl Report {
    /// The number of violations of each kind (every kind present, zero or
    /// not).
    pub fn summary(&self) -> BTreeMap<Kind, usize> {
        let mut summary: BTreeMap<Kind, usize> = Kind::ALL.iter().map(|k| (*k, 0)).collect();
        for v in &self.violations {
            *summary.entry(v.kind).or_default() += 1;
        }
        summary
    }

    /// The total number of violations: the "violations" count.
    pub fn total(&self) -> usize {
        self.violations.len()
    }
}

/// An error that stops the audit (exit code 2).
#[derive(Debug)]
pub enum AuditError {
    /// A path could not be read.
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// An allowlist pattern is not a valid glob or module path.
    BadPattern {
        /// The pattern.
        pattern: String,
        /// Why.
        message: String,
    },
    /// A baseline file is not a baseline.
    BadBaseline {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
}

impl fmt::Display for AuditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuditError::Io { path, source } => {
                write!(f, "cannot read {}: {source}", path.display())
            }
            AuditError::BadPattern { pattern, message } => {
                write!(f, "bad allowlist pattern `{pattern}`: {message}")
            }
            AuditError::BadBaseline { path, message } => {
                write!(f, "bad baseline {}: {message}", path.display())
            }
        }
    }
}

impl std::error::Error for AuditError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AuditError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Audit every `.rs` file under `paths` (files or directories; `target/`
/// and hidden directories are skipped).
///
/// The files are parsed on a thread of the audit's own (with a large stack,
/// for deeply nested code), so the span information `proc-macro2` keeps per
/// thread is dropped with it and never mixes with the caller's.
pub fn audit(paths: &[PathBuf], options: &Options) -> Result<Report, AuditError> {
    std::thread::scope(|scope| {
        let worker = std::thread::Builder::new()
            .name("redis-audit".to_owned())
            .stack_size(64 << 20)
            .spawn_scoped(scope, || audit_here(paths, options))
            .map_err(|source| AuditError::Io {
                path: PathBuf::from("<audit thread>"),
                source,
            })?;
        worker
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

fn audit_here(paths: &[PathBuf], options: &Options) -> Result<Report, AuditError> {
    let allowlist = Allowlist::new(&options.allow, options.exempt_framework)?;
    let files = layout::discover(paths)?;

    // Pass 1: parse everything, build the module table, resolve imports.
    let mut parsed = Vec::new();
    let mut sources = Vec::new();
    let mut unparsable = Vec::new();
    for file in &files {
        let bytes = std::fs::read(&file.path).map_err(|source| AuditError::Io {
            path: file.path.clone(),
            source,
        })?;
        let source = match String::from_utf8(bytes) {
            Ok(source) => source,
            Err(err) => {
                // Not Rust source as rustc reads it: one such file is a
                // finding, not a reason to stop auditing the others.
                let bytes = err.as_bytes();
                let valid = err.utf8_error().valid_up_to();
                let before = String::from_utf8_lossy(&bytes[..valid]);
                let line = before.matches('\n').count() + 1;
                let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
                unparsable.push((
                    file.clone(),
                    line,
                    column,
                    format!("not valid UTF-8 (first bad byte at line {line}, column {column})"),
                ));
                continue;
            }
        };
        match syn::parse_file(&source) {
            Ok(ast) => {
                parsed.push((file.clone(), ast));
                sources.push(source);
            }
            Err(err) => {
                let start = err.span().start();
                unparsable.push((file.clone(), start.line, start.column + 1, err.to_string()));
            }
        }
    }
    let table = resolve::ModuleTable::build(&parsed);
    let items = analyze::CrateItems::build(&parsed);

    // Pass 2: audit each file.
    let mut report = Report {
        files: files.len(),
        ..Report::default()
    };
    for ((file, ast), source) in parsed.iter().zip(&sources) {
        let lines: Vec<&str> = source.lines().collect();
        for finding in analyze::analyze(&table, &items, file, ast) {
            if allowlist.allows(file, &finding.item_path) {
                report.allowed += 1;
                continue;
            }
            let snippet = lines
                .get(finding.line.saturating_sub(1))
                .map(|l| snippet(l))
                .unwrap_or_default();
            report.violations.push(Violation {
                file: file.display.clone(),
                line: finding.line,
                column: finding.column,
                kind: finding.kind,
                function: finding.function,
                module: finding.module,
                message: finding.message,
                snippet,
            });
        }
    }
    for (file, line, column, message) in unparsable {
        if allowlist.allows(&file, "crate") {
            report.allowed += 1;
            continue;
        }
        report.violations.push(Violation {
            file: file.display.clone(),
            line: line.max(1),
            column,
            kind: Kind::UnparsableFile,
            function: "<top-level>".to_owned(),
            module: "crate".to_owned(),
            message: format!("does not parse, so it cannot be audited: {message}"),
            snippet: String::new(),
        });
    }
    report.violations.sort_by(|a, b| {
        (&a.file, a.line, a.column, a.kind).cmp(&(&b.file, b.line, b.column, b.kind))
    });
    Ok(report)
}

fn snippet(line: &str) -> String {
    let line = line.trim();
    if line.chars().count() <= 100 {
        line.to_owned()
    } else {
        let cut: String = line.chars().take(99).collect();
        format!("{cut}…")
    }
}
