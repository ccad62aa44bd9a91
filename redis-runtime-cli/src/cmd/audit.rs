//! `redis-runtime audit`: its arguments and what it does with them.

use std::path::PathBuf;

use clap::Args;

use crate::audit::{
    AuditError, Baseline, DEFAULT_ALLOW_FILE, Options, audit, read_allow_file, render_json,
    render_text,
};
use crate::output::{Exit, Format, print};

const AFTER_HELP: &str = "\
\"violations\" counts access sites, each place that builds or sends raw Redis
traffic once: raw_command, raw_pipeline, raw_script (where the construct is
built), command_trait_call, raw_connection_call (a construct sent in another
statement, a packed send), escape_hatch, and unparsable_file (a file that
cannot be audited). redis::cmd(\"GET\").arg(k).query_async(&mut c) is one
raw_command; let mut p = redis::pipe(); ... p.query_async(&mut c) is a
raw_pipeline and a raw_connection_call.
Signals, reported but not counted in violations: command_trait_import and
hand_built_key (a literal or format!/concat! containing ':' passed to a raw
call). Baselines count every kind.
escape_hatch is every use of the framework's sanctioned escape hatch,
store.raw_access() (any .raw_access() call without arguments) or the path
Store::raw_access, counted once where it is obtained; a raw command sent
through it is still a raw_command. Ratchet it down with --baseline.

Allowlist patterns (--allow, --config): a pattern containing '::' is a module
path (crate::redis_internal, my_crate::store::*, crate::**::tests) matched
against the enclosing module/type/function; anything else is a path glob
relative to the scanned directory or as reported (tests/corrupt.rs, **/seed_*.rs,
a directory). Without --config, ./.redis-audit-allow is read if it exists (one
pattern a line, '#' comments). The framework's own packages (redis-runtime,
redis-derive) are exempt unless --no-default-allow is given.

Exit codes:
  0  no violations and no signals; with --baseline: no (file, kind) count grew;
     with only --write-baseline: the baseline was written
  1  violations or signals found; with --baseline: some (file, kind) count
     grew or appeared
  2  the tool could not run: bad arguments, unreadable path, bad pattern or baseline";

/// Report every place that talks to Redis without going through redis-runtime.
#[derive(Clone, Debug, Args)]
#[command(after_help = AFTER_HELP)]
pub struct AuditArgs {
    /// Files or directories to scan (target/ and hidden directories are skipped).
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,

    /// Allow a path glob or a module path (repeatable).
    #[arg(long = "allow", value_name = "PATTERN")]
    pub allow: Vec<String>,

    /// Read allowlist patterns from FILE (default: ./.redis-audit-allow if present).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Also audit the framework's own packages (redis-runtime, redis-derive).
    #[arg(long)]
    pub no_default_allow: bool,

    /// Fail only if some (file, kind) count grew against this baseline.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// Write the current per-file, per-kind counts to FILE as a baseline.
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,

    /// `text`: one line per finding, a summary per kind, `violations: N`
    /// (access sites) and `signals: N`; `json`: a versioned document.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Runs the audit as the command line asked, prints the result, and says how
/// to exit: [`Exit::Findings`] for violations (or, with `--baseline`, a count
/// that grew).
pub fn run(args: &AuditArgs) -> Exit {
    match try_run(args) {
        Ok(exit) => exit,
        Err(err) => Exit::error("audit", err),
    }
}

fn try_run(args: &AuditArgs) -> Result<Exit, AuditError> {
    let mut allow = args.allow.clone();
    match &args.config {
        Some(path) => allow.extend(read_allow_file(path)?),
        None => {
            let default = PathBuf::from(DEFAULT_ALLOW_FILE);
            if default.is_file() {
                allow.extend(read_allow_file(&default)?);
            }
        }
    }
    let options = Options {
        allow,
        exempt_framework: !args.no_default_allow,
    };
    let report = audit(&args.paths, &options)?;
    let current = Baseline::from_report(&report);
    let comparison = match &args.baseline {
        Some(path) => Some(Baseline::read(path)?.compare(&current)),
        None => None,
    };
    if let Some(path) = &args.write_baseline {
        current.write(path)?;
    }
    let text = match args.format {
        Format::Text => render_text(&report, comparison.as_ref()),
        Format::Json => render_json(&report, comparison.as_ref()),
    };
    print(&text);
    if let Some(path) = &args.write_baseline
        && args.format == Format::Text
    {
        eprintln!(
            "wrote baseline {} ({} findings, signals included)",
            path.display(),
            current.total
        );
    }
    Ok(match (&comparison, &args.write_baseline) {
        (Some(c), _) if c.passed() => Exit::Clean,
        (Some(_), _) => Exit::Findings,
        (None, Some(_)) => Exit::Clean,
        (None, None) if report.violations.is_empty() => Exit::Clean,
        (None, None) => Exit::Findings,
    })
}
