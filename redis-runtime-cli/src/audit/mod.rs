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
//! # What it reports
//!
//! Each finding is a [`Violation`] of one [`Kind`]; each kind is documented
//! where it is defined, on its variant: what it finds, why it matters, its
//! known limits, and an example. The kinds:
//! [`raw_command`](Kind::RawCommand), [`raw_pipeline`](Kind::RawPipeline),
//! [`raw_script`](Kind::RawScript),
//! [`command_trait_import`](Kind::CommandTraitImport),
//! [`command_trait_call`](Kind::CommandTraitCall),
//! [`raw_connection_call`](Kind::RawConnectionCall),
//! [`hand_built_key`](Kind::HandBuiltKey),
//! [`escape_hatch`](Kind::EscapeHatch) and
//! [`unparsable_file`](Kind::UnparsableFile).
//!
//! # Counting rules
//!
//! The "violations" count is a count of **access sites**: places that build
//! or send raw Redis traffic. A raw construct is a site where it is built.
//! Everything chained onto it (`.arg(..)`, `.key(..)`, pipeline command
//! methods, `.ignore()`, `.query_async(..)`, `.invoke_async(..)`) is part of
//! that one site: `redis::cmd("GET").arg(k).query_async(&mut c)` is one
//! `raw_command`. A construct bound to a variable, held in a field or a
//! static, or received from a helper is sent somewhere else, and that send
//! is a site of its own (`raw_connection_call`): `let mut pipe =
//! redis::pipe(); ...; pipe.query_async(&mut c)` is a `raw_pipeline` and a
//! `raw_connection_call`. Building it up in between (`pipe.set(..)`) is
//! not. Every command-trait call, pub/sub command method and packed send
//! is a site.
//!
//! Two kinds are **signals**, reported but not counted in "violations":
//! `command_trait_import` (what makes a file able to talk to Redis, even
//! before its first call) and `hand_built_key` (a key written by hand for a
//! raw call, the thing the framework replaces; it is always next to a site).
//! Baselines count every kind, signals included, per file.
//!
//! # What is known about a receiver
//!
//! What is known about a receiver comes from declarations, not inference:
//! a variable's or parameter's declared type or initializer (`HashMap::new()`,
//! `Store::connect(..)`, a struct literal, `vec![]`, a call of a free function
//! of the crate, by its declared return type), a field's declared type
//! (`self.cache`, `state.store`, for structs declared anywhere in the crate),
//! newtype extractors (`State(state): State<AppState>`), and what is taken out
//! of a value that neither is nor holds Redis (`for x in &list`, `if let
//! Some(x) = list.first()`, `match`, the parameters of a closure passed to its
//! methods: `list.iter().map(|x| ..)`). What a command method or an executor
//! returns is a decoded reply, and the fields of a plain value are plain. A
//! tuple pattern matched against a tuple expression binds element by
//! element. Enums count with their variants' fields, so an enum of pools
//! holds Redis; a map's keys and a set's elements never hold a connection.
//! A value known only by a trait of the crate (`Box<dyn CacheDriver>`) has
//! that trait's methods, and a method of the crate's own trait implemented
//! for a redis type (`impl OrderRepo for Rc<redis::Client>`) is that
//! trait's, not a command. A glob import sees another module's private
//! imports only from inside that module, as in Rust. An integration test
//! or a binary is judged by its library's declarations too. Redis are redis-rs
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
//! # Where the redis crate is found
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
//! # Known limits
//!
//! Besides each kind's own: no type inference through methods' return
//! types; macros with their own grammar are audited only where their parts
//! parse as expressions, and `macro_rules!` bodies only for paths and
//! connection methods (not command-trait calls or keys); `#[cfg]` is ignored
//! (every branch is audited); `#[path]` and `include!` are not followed.

mod allow;
mod analyze;
mod baseline;
mod commands;
mod kind;
mod layout;
mod output;
mod resolve;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use allow::{Allowlist, DEFAULT_ALLOW_FILE, EXEMPT_PACKAGES, read_allow_file};
pub use baseline::{Baseline, Comparison, Delta};
pub use kind::Kind;
pub use output::{JsonReport, SCHEMA_VERSION, render_json, render_text};

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
    /// What the site sends, as far as the audit can tell (not part of the
    /// audit's JSON: `redis-runtime acl --sources` reads it).
    #[serde(skip)]
    pub sent: Sent,
}

/// What an access site sends, as far as the audit can tell from the code.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Sent {
    /// Nothing of its own: an import, a hand-built key, the escape hatch, or
    /// the send of traffic built elsewhere (which is told where it is built).
    #[default]
    Nothing,
    /// These commands, lower case, as the ACL names them (`parent|sub`):
    /// from `cmd("LPUSH")`'s literal, a command-trait method (`.lpush(..)`)
    /// or the command methods chained onto a raw construct.
    Commands(Vec<String>),
    /// Commands the audit cannot name: a command named by a variable, a
    /// script, a pipeline filled in other statements, packed bytes.
    Unknown,
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

    /// The "violations" count: access sites, the findings of the kinds
    /// for which [`Kind::is_access_site`] holds (each place that builds or
    /// sends raw Redis traffic once, plus escape-hatch uses and files that
    /// could not be audited). Imports and hand-built keys are
    /// [`signals`](Report::signals), not counted here.
    pub fn total(&self) -> usize {
        self.violations
            .iter()
            .filter(|v| v.kind.is_access_site())
            .count()
    }

    /// The signals reported next to the access sites and not counted in
    /// [`total`](Report::total): command-trait imports and hand-built keys.
    pub fn signals(&self) -> usize {
        self.violations.len() - self.total()
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
                sent: finding.sent,
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
            sent: Sent::Unknown,
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
