//! What every subcommand shares on the way out: one output format and one set
//! of exit codes.

use std::fmt::Display;
use std::io::Write as _;
use std::process::ExitCode;

/// How a subcommand prints its result (`--format`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For people: Markdown for manifests, tables for doctor, a line per
    /// violation for the audit.
    #[default]
    Text,
    /// For tools: JSON with a versioned schema.
    Json,
}

/// How the tool exits, the same for every subcommand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Exit {
    /// 0: done, nothing to report.
    Clean,
    /// 1: done, and something needs attention (violations, a count that
    /// grew against the baseline, doctor findings, an ACL pattern that
    /// grants other applications' keys).
    Findings,
    /// 2: the tool could not do its job (bad arguments, an unreadable file, a
    /// manifest that does not parse, a server that cannot be reached).
    Error,
}

impl Exit {
    /// Reports `err` for `command` on standard error; [`Exit::Error`].
    pub fn error(command: &str, err: impl Display) -> Exit {
        eprintln!("redis-runtime {command}: error: {err}");
        Exit::Error
    }

    /// [`Exit::Findings`] when `found`, else [`Exit::Clean`].
    pub fn findings_if(found: bool) -> Exit {
        if found { Exit::Findings } else { Exit::Clean }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(match exit {
            Exit::Clean => 0,
            Exit::Findings => 1,
            Exit::Error => 2,
        })
    }
}

/// Prints `text` to standard output. A closed pipe (`| head`) is not a
/// failure of the command.
pub fn print(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}
