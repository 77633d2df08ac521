//! What can go wrong in the tool, and the exit code each failure leaves.

use std::path::PathBuf;

/// Everything went as asked.
pub const OK: u8 = 0;
/// An I/O or store error.
pub const ERROR: u8 = 1;
/// A usage mistake: clap's own, an option that does not fit the store, or a repair without
/// confirmation and without a terminal to ask on.
pub const USAGE: u8 = 2;
/// Verification found damage, or the store is corrupt (or an unfinished backup).
pub const DAMAGED: u8 = 3;
/// Another process holds the store's lock.
pub const LOCKED: u8 = 4;
/// The user answered no.
pub const DECLINED: u8 = 5;

/// The text `--help` shows after the options.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  ok
  1  error (I/O, store error, incident not found, bad input)
  2  usage: bad arguments, an option the store does not support, or `repair` without --yes
     and without a terminal to ask on
  3  verification found damage, or the store is corrupt (or an unfinished backup)
  4  the store is locked by another process
  5  declined by the user

Errors go to stderr as one line `incidents: error: ...`; with --json, stdout also gets
{\"error\": ..., \"kind\": ..., \"exit_code\": ...} (except when stdout carries `export` data).";

/// Why a command failed.
#[derive(Debug)]
pub enum Failure {
    /// The library said no.
    Store(incidents::Error),
    /// A mistake in how the tool was called, found after clap's own checks.
    Usage(String),
    /// A file the tool itself reads or writes (not the store).
    Io {
        /// What the tool was doing.
        what: &'static str,
        /// The file, when there is one (none for stdin and stdout).
        path: Option<PathBuf>,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A value read from a file or typed by the user that the tool cannot use (a policy file,
    /// an incident id, a time zone).
    Input(String),
    /// The user answered no to a confirmation.
    Declined,
}

impl Failure {
    /// Whether the failure is stdout's reader going away (`incidents export | head`): not an
    /// error of the tool's, so it ends quietly with [`OK`].
    pub fn is_broken_pipe(&self) -> bool {
        matches!(
            self,
            Failure::Io { source, .. } | Failure::Store(incidents::Error::Io { source, .. })
                if source.kind() == std::io::ErrorKind::BrokenPipe
        )
    }

    /// The exit code this failure ends the process with.
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Store(e) => store_exit_code(e),
            Failure::Usage(_) => USAGE,
            Failure::Io { .. } | Failure::Input(_) => ERROR,
            Failure::Declined => DECLINED,
        }
    }

    /// A short machine-readable name for the failure, for the `--json` error object.
    pub fn kind(&self) -> &'static str {
        match self {
            Failure::Store(e) => store_kind(e),
            Failure::Usage(_) => "usage",
            Failure::Io { .. } => "io",
            Failure::Input(_) => "input",
            Failure::Declined => "declined",
        }
    }

    /// The message, on one line.
    pub fn message(&self) -> String {
        let text = match self {
            Failure::Store(e) => e.to_string(),
            Failure::Usage(text) | Failure::Input(text) => text.clone(),
            Failure::Io { what, path, source } => match path {
                Some(path) => format!("{what} {}: {source}", path.display()),
                None => format!("{what}: {source}"),
            },
            Failure::Declined => "declined: nothing was changed".to_string(),
        };
        text.replace(['\n', '\r'], " ")
    }
}

impl From<incidents::Error> for Failure {
    fn from(e: incidents::Error) -> Self {
        Failure::Store(e)
    }
}

/// The exit code for a library error.
fn store_exit_code(e: &incidents::Error) -> u8 {
    use incidents::Error;
    match e {
        Error::Corrupt { .. } | Error::IncompleteBackup { .. } | Error::History(_) => DAMAGED,
        Error::Locked { .. } => LOCKED,
        // Everything else (I/O, not found, invalid input, a database's refusal, variants
        // added later) is a plain error.
        _ => ERROR,
    }
}

/// The `kind` for a library error.
fn store_kind(e: &incidents::Error) -> &'static str {
    use incidents::Error;
    match e {
        Error::Corrupt { .. } => "corrupt",
        Error::IncompleteBackup { .. } => "incomplete_backup",
        Error::History(_) => "history",
        Error::Locked { .. } => "locked",
        Error::ReadOnly { .. } => "read_only",
        Error::NotFound { .. } => "not_found",
        Error::Invalid(_) => "invalid",
        Error::Io { .. } => "io",
        Error::Backend { .. } => "backend",
        Error::Unavailable { .. } => "unavailable",
        Error::Policy(_) => "policy",
        _ => "store",
    }
}
