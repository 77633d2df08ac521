//! Errors: one top-level [`Error`] and the small per-concern types that convert into it.

use std::path::PathBuf;

use crate::lifecycle::{CommandKind, Status};
use crate::model::IncidentId;
use crate::store::Version;

/// Everything that can go wrong in this crate.
///
/// Each variant's documentation says how a caller is expected to handle it. Messages are
/// lowercase, carry the context needed to act on them (which incident, which status, which file
/// and byte offset), and never end with a period.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A value supplied by the caller broke a rule (an empty title, an unknown severity, …).
    ///
    /// Nothing was changed. Show the message to the person who typed the value; it names the
    /// field and the rule.
    #[error(transparent)]
    Invalid(#[from] Invalid),

    /// The command is not allowed in the incident's current status (for example, reopening an
    /// incident that is not resolved).
    ///
    /// Nothing was changed. The message says which status forbade which command and why.
    #[error(transparent)]
    Rejected(#[from] Rejected),

    /// Someone else changed the incident between reading it and writing to it, and retrying did
    /// not settle it.
    ///
    /// Nothing was changed. Read the incident again and decide whether the command still makes
    /// sense.
    #[error(transparent)]
    Conflict(#[from] Conflict),

    /// No incident with this id exists.
    #[error("incident {id} not found")]
    NotFound {
        /// The id that was asked for.
        id: IncidentId,
    },

    /// A stored history cannot be replayed: it contains an event that the lifecycle does not
    /// allow at that point.
    ///
    /// This means the store was written by something other than this crate, or was tampered
    /// with. Nothing is guessed: the incident is not loaded.
    #[error(transparent)]
    History(#[from] HistoryError),

    /// An operating-system I/O call failed.
    ///
    /// For an append, the events were **not** recorded. `source.kind()` says what to do:
    /// [`StorageFull`](std::io::ErrorKind::StorageFull) — free space;
    /// [`PermissionDenied`](std::io::ErrorKind::PermissionDenied) — fix the directory's owner
    /// or mode; anything else — check the disk. A store may refuse further writes until
    /// reopened ([`Error::Poisoned`]), see its documentation.
    #[error("i/o error during {op} on {}: {source}", path.display())]
    Io {
        /// What the store was doing ("append", "fdatasync", "open", …).
        op: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The error reported by the operating system.
        #[source]
        source: std::io::Error,
    },

    /// Stored data failed a check (checksum, framing, format) before the end of a log.
    ///
    /// Nothing past the damage is returned. Inspect the file, restore from a backup, or move the
    /// damaged part aside with the store's repair call.
    #[error("corrupt data in {} at byte offset {offset}: {reason}", path.display())]
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// Byte offset of the first damaged record.
        offset: u64,
        /// What check failed.
        reason: String,
    },

    /// A webhook payload is malformed, oversized or inconsistent; nothing of it was taken.
    #[cfg(feature = "webhooks")]
    #[error(transparent)]
    Payload(#[from] crate::webhooks::PayloadError),

    /// The subscriber store refused or failed (feature `subscribers`): a bad contact or
    /// link, an unknown or expired token, or its journal's I/O. Hosts that handle incidents
    /// and subscribers in one function can use `?` on both.
    #[cfg(feature = "subscribers")]
    #[error(transparent)]
    Subscribers(#[from] crate::subscribers::SubscriberError),

    /// The actor's role may not do this (see [`Permissions`](crate::people::Permissions)).
    ///
    /// Nothing was changed. Ask someone whose role may.
    #[error("forbidden: {actor} may not {action} incidents")]
    Forbidden {
        /// Who tried (display form: name and role).
        actor: String,
        /// What they tried.
        action: CommandKind,
    },

    /// A database backend (SQLite, PostgreSQL) refused or failed an operation, and retrying
    /// the same call will not help: a permission or configuration mistake, a schema newer
    /// than this version understands, a row the store cannot read, a statement the server
    /// refused.
    ///
    /// For an append, nothing was recorded (each append is one transaction). Log it and fix
    /// the cause; `source` is the backend's own error (a `postgres::Error` or
    /// `rusqlite::Error`, or a description for checks this crate makes), so a host can
    /// downcast it and read its code.
    #[error("{backend} error during {op}: {source}")]
    Backend {
        /// Which backend.
        backend: &'static str,
        /// What the store was doing.
        op: &'static str,
        /// What the database (or the check) said.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// The database cannot do it now, for a reason that passes: the connection was refused
    /// or lost, the server is shutting down or starting, it ran out of resources (too many
    /// connections, disk full), a statement ran past its timeout, a serialization failure or
    /// deadlock, or (SQLite) the file stayed locked by another process.
    ///
    /// Retry later, with a backoff: the store drops a broken connection and makes a new one
    /// on its next call. An append that failed this way recorded nothing — unless the
    /// connection dropped after the database committed and before it answered; then the
    /// append is recorded, and retrying it gets a [`Error::Conflict`] that shows it.
    /// `source` is the backend's error (downcast it to read its SQLSTATE or result code).
    #[error("{backend} is unavailable during {op}: {source}")]
    Unavailable {
        /// Which backend.
        backend: &'static str,
        /// What the store was doing.
        op: &'static str,
        /// What went wrong.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// A policy breaks a rule (an empty escalation chain, a zero target, steps out of order).
    #[error("invalid policy: {0}")]
    Policy(#[from] crate::policy::PolicyError),

    /// A check-in under a name the policy declares no [`Heartbeat`](crate::policy::Heartbeat) for.
    ///
    /// Nothing was recorded or noted. A device checking in under an undeclared name is a
    /// configuration mistake: declare it with
    /// [`Policy::with_heartbeat`](crate::Policy::with_heartbeat), or fix the name the device
    /// sends ([`Policy::heartbeats`](crate::Policy::heartbeats) lists the declared ones).
    #[error("no heartbeat named {name:?} is declared in the policy")]
    UnknownHeartbeat {
        /// The name checked in with.
        name: String,
    },

    /// Another store instance (in this or another process) holds the directory's lock.
    ///
    /// Close the other instance first; only one writer may own a store.
    #[error("store directory {} is locked by another instance", dir.display())]
    Locked {
        /// The locked directory.
        dir: PathBuf,
    },

    /// The store was opened read-only ([`FileStore::open_read_only`](crate::store::FileStore::open_read_only)),
    /// so it refuses every write. Nothing was recorded.
    #[error("store {} is open read-only; open it with FileStore::open to write", dir.display())]
    ReadOnly {
        /// The store's directory.
        dir: PathBuf,
    },

    /// The directory holds a backup that never finished (it was interrupted, or a copy of it
    /// was cut short): opening it would show only part of the data as if it were all of it.
    ///
    /// Take the backup again; the partial copy can be deleted.
    #[error("{} is an incomplete backup: {reason}", dir.display())]
    IncompleteBackup {
        /// The directory that was opened (or checked).
        dir: PathBuf,
        /// What is missing.
        reason: String,
    },

    /// The store refuses writes because an earlier write or flush failed (or a thread
    /// panicked while writing) and durability of what followed could not be promised.
    ///
    /// Nothing of this call was recorded. Reopen the store: recovery re-reads the log and
    /// states exactly what is durable. Reads keep working until then.
    #[error(
        "store refuses writes after an earlier failure ({}); reopen it",
        DisplayCause(cause)
    )]
    Poisoned {
        /// The failure that poisoned the store: the failed write or flush (an [`Error::Io`]
        /// whose `source` keeps the operating system's error kind and code), or `None` if a
        /// thread panicked while writing a commit.
        #[source]
        cause: Option<std::sync::Arc<Error>>,
    },
}

/// A caller-supplied value broke a validation rule.
///
/// `field` names the input ("title", "service", "severity", …) and `rule` says what is allowed.
/// When one character broke the rule (a control character, a bidirectional override, an
/// unbalanced isolate; see the [text rules](crate::Text#text-rules)), `code_point` is that
/// character and the rule names it as `U+202E (right-to-left override)`, so a host can point
/// at it or say it in its own words.
///
/// ```
/// use incidents::Title;
///
/// let err = Title::new("Refund \u{202E}gnp.exe").unwrap_err();
/// assert_eq!(err.field, "title");
/// assert_eq!(err.code_point, Some('\u{202E}'));
/// assert!(err.to_string().contains("U+202E (right-to-left override)"), "{err}");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {field}: {rule}")]
#[non_exhaustive]
pub struct Invalid {
    /// The name of the input field.
    pub field: &'static str,
    /// The rule that was broken, phrased for a person ("must not be empty").
    pub rule: String,
    /// The character that broke the rule, when one did.
    pub code_point: Option<char>,
}

impl Invalid {
    /// Builds an error for `field` breaking `rule`.
    pub fn new(field: &'static str, rule: impl Into<String>) -> Self {
        Invalid {
            field,
            rule: rule.into(),
            code_point: None,
        }
    }

    /// The same error, naming the character `c` that broke the rule.
    #[must_use]
    pub fn with_code_point(mut self, c: char) -> Self {
        self.code_point = Some(c);
        self
    }
}

/// A command that the lifecycle does not allow in the incident's current status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "cannot {command} incident {}{}: {reason}",
    DisplayId(incident),
    DisplayStatus(status)
)]
#[non_exhaustive]
pub struct Rejected {
    /// The incident the command was aimed at (`None` if it does not exist).
    pub incident: Option<IncidentId>,
    /// Its status when the command arrived (`None` if it does not exist).
    pub status: Option<Status>,
    /// Which command was refused.
    pub command: CommandKind,
    /// Why. Match on it; its [`Display`](std::fmt::Display) is words a person can act on.
    pub reason: Refusal,
}

/// Why a command was [`Rejected`]: one variant per rule that refuses commands.
///
/// Its [`Display`](std::fmt::Display) is the reason in words (lowercase, no period), as the
/// [`Rejected`] message shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Refusal {
    /// The incident does not exist yet, and only opening it is possible.
    DoesNotExist,
    /// The incident already exists: it cannot be opened again.
    AlreadyExists,
    /// The incident is closed: closed incidents are final.
    Closed,
    /// The incident is resolved; the command needs an active incident (reopen it first).
    Resolved,
    /// Resolving an incident that is already resolved: reopen it to resolve it differently.
    AlreadyResolved,
    /// Merging an incident that is already resolved: reopen it to merge it.
    MergeResolved,
    /// Reopening an incident that is not resolved.
    NotResolved,
    /// Closing an incident that is not resolved yet.
    CloseUnresolved,
    /// Recording the post-incident review before the incident is resolved.
    ReviewBeforeResolving,
    /// A timer firing on a resolved incident, which has no running timers.
    NoRunningTimers,
    /// Resolving an incident as a duplicate of itself.
    DuplicateOfItself,
    /// Merging an incident into itself.
    MergeIntoItself,
    /// Resolving as a duplicate of an incident that is itself a duplicate of another one.
    OriginalIsDuplicate,
    /// Merging into an incident that is itself a duplicate of another one.
    TargetIsDuplicate,
    /// Naming a task number the incident does not have.
    NoSuchTask,
    /// Naming a follow-up number the incident's reviews do not have.
    NoSuchFollowUp,
    /// Closing without a post-incident review when the policy requires one.
    ReviewRequired,
    /// A became-aware instant later than now. Use the instant the business learned of the
    /// breach, which has passed.
    AwareInFuture,
    /// Declaring a breach on an incident that already has one.
    BreachAlreadyDeclared,
    /// A breach command on an incident with no breach declared. Declare it first.
    NoBreach,
    /// Filing a notice for a regime or phase not declared on the incident.
    NoSuchNotice,
    /// Filing a notice already filed.
    NoticeAlreadyFiled,
    /// Filing after the deadline without the reasons the phase requires. Give `late_reason`.
    LateWithoutReason,
    /// Closing while a declared notice is not filed. File it (late, with reasons) first.
    NoticesOpen,
    /// Declaring a breach with a regime that fails [`Regime::validate`](crate::regulatory::Regime::validate).
    InvalidRegime,
}

impl Refusal {
    /// The reason in words: lowercase, no period.
    pub const fn as_str(self) -> &'static str {
        match self {
            Refusal::DoesNotExist => "the incident does not exist",
            Refusal::AlreadyExists => "the incident already exists",
            Refusal::Closed => "closed incidents are final and accept no commands",
            Refusal::Resolved => "the incident is resolved; reopen it first",
            Refusal::AlreadyResolved => {
                "the incident is already resolved; reopen it to resolve it differently"
            }
            Refusal::MergeResolved => {
                "the incident is already resolved; reopen it to merge it into another"
            }
            Refusal::NotResolved => "only a resolved incident can be reopened",
            Refusal::CloseUnresolved => "resolve the incident before closing it",
            Refusal::ReviewBeforeResolving => "the review comes after resolving",
            Refusal::NoRunningTimers => "a resolved incident has no running timers",
            Refusal::DuplicateOfItself => "an incident cannot be a duplicate of itself",
            Refusal::MergeIntoItself => "an incident cannot be merged into itself",
            Refusal::OriginalIsDuplicate => {
                "it is itself a duplicate of another incident; name that one"
            }
            Refusal::TargetIsDuplicate => {
                "it is itself a duplicate of another incident; merge into that one"
            }
            Refusal::NoSuchTask => "the incident has no task with that number",
            Refusal::NoSuchFollowUp => "the incident's reviews have no follow-up with that number",
            Refusal::AwareInFuture => "the became-aware instant may not lie in the future",
            Refusal::BreachAlreadyDeclared => "a breach is already declared on the incident",
            Refusal::NoBreach => "no breach is declared on the incident",
            Refusal::NoSuchNotice => "no such regime and phase are declared on the incident",
            Refusal::NoticeAlreadyFiled => "that notice is already filed",
            Refusal::LateWithoutReason => {
                "the notice is late and its regime requires the reasons for the delay"
            }
            Refusal::InvalidRegime => "a declared regime is not valid (see Regime::validate)",
            Refusal::NoticesOpen => "a regulatory notice is not filed yet; file it before closing",
            Refusal::ReviewRequired => "the policy requires a post-incident review before closing",
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

struct DisplayCause<'a>(&'a Option<std::sync::Arc<Error>>);

impl std::fmt::Display for DisplayCause<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(cause) => write!(f, "{cause}"),
            None => f.write_str("a thread panicked while writing a commit"),
        }
    }
}

struct DisplayId<'a>(&'a Option<IncidentId>);

impl std::fmt::Display for DisplayId<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(id) => write!(f, "{id}"),
            None => f.write_str("(unknown)"),
        }
    }
}

struct DisplayStatus<'a>(&'a Option<Status>);

impl std::fmt::Display for DisplayStatus<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(status) => write!(f, " (it is {status})"),
            None => Ok(()),
        }
    }
}

/// An append was made against a stale version of an incident's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("version conflict on incident {incident}: expected version {expected}, found {actual}")]
#[non_exhaustive]
pub struct Conflict {
    /// The incident whose history moved on.
    pub incident: IncidentId,
    /// The version the writer believed was current.
    pub expected: Version,
    /// The version actually stored.
    pub actual: Version,
}

/// A stored history that cannot be replayed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("impossible history for incident {incident} at version {at}: {reason}")]
#[non_exhaustive]
pub struct HistoryError {
    /// The incident whose history is broken.
    pub incident: IncidentId,
    /// The position (number of events already applied) at which replay failed.
    pub at: Version,
    /// What was wrong.
    pub reason: String,
}

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
