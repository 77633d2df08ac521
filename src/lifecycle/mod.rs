//! The incident lifecycle: statuses, commands, events, and the one transition table.
//!
//! [`transition`] is the single source of truth: one exhaustive `match` over (status, command
//! kind), with no wildcard arm, so adding a status or a command does not compile until every
//! pair has been decided. [`decide`] and [`Incident::apply`](crate::Incident::apply) both read it,
//! and [`table`] exposes it as data for documentation and tests.
//!
//! # Rules that the table encodes
//!
//! - **Forward, with shortcuts.** `Open → Acknowledged → Investigating → Identified →
//!   Monitoring → Resolved → Closed`. Investigating, identifying or mitigating an open incident
//!   is allowed and acknowledges it implicitly (the responder is clearly on it).
//! - **Back to work.** A responder may go back to investigating from `Identified` or
//!   `Monitoring` (the fix did not hold), and identify a (new) root cause from `Monitoring`.
//! - **Resolve from any active status.** `Resolved → reopen → Open`, which needs a new
//!   acknowledgement. `Closed` is terminal and accepts nothing.
//! - **Merge from any active status.** Merging an incident into another one about the same
//!   problem resolves it as a duplicate of that one; the other records that it absorbed it
//!   (while not closed). A resolved incident is reopened before it can be merged.
//! - **Attach** records an alert or report on an incident by hand, like the desk's own
//!   signals: while not closed.
//! - **Records that do not move the status** — assign owner, change severity, add note, post
//!   customer update, set the public impact or the public title — are accepted in every
//!   status but `Closed`. A root cause may be recorded
//!   after resolving (it is often found then) without reopening.
//! - **Waiting on a vendor** pauses the resolve clock; it is possible while the incident is
//!   active. Resolving ends the wait.
//! - **Records the desk makes itself**: signals (alerts, reports) while not closed; timer firings (escalation steps, SLA warnings and
//!   breaches, customer updates falling due) only while the incident is active;
//!   notification requests also once resolved; delivery records of earlier notifications in
//!   every status, even `Closed`.
//! - **Data breaches** ([`regulatory`](crate::regulatory)): declaring one, moving the
//!   became-aware instant and filing notices are accepted in every status but `Closed` — a
//!   breach is often found after the fix — and the notice clocks' warnings fire while
//!   resolved too ([`CommandKind::WarnNotice`]). Closing waits until every declared notice is
//!   filed ([`Refusal::NoticesOpen`]).
//! - **People and learning.** Responders and tasks while not closed; the post-incident review
//!   once resolved (before closing); completing a review's follow-ups and recording customer
//!   feedback in every status, even `Closed` — with delivery records, follow-up reminders
//!   and the notifications those ask for, the only things a closed incident still accepts.
//!
//! # Repeated commands
//!
//! Commands that only assert a status are **idempotent**: acknowledging an incident that is
//! already acknowledged (or further along), or starting to investigate while investigating, is
//! accepted and records nothing ([`Edge::Ignore`]). Retries, double clicks and two people
//! pressing the same button are harmless. The same holds for data that is already recorded:
//! assigning the current owner, setting the current severity, setting the public impact or
//! public title already set, or identifying the root cause already identified records nothing.
//!
//! Commands that carry a record of their own are never silently dropped: resolving a resolved
//! incident or closing a closed one is **rejected**, because the second resolution or summary
//! might differ from the first and dropping it would lose what the caller said.

mod command;
mod decide;
mod event;
mod impact;

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::Refusal;

pub use command::{Command, NewIncident, Resolution};
pub use decide::decide;
pub(crate) use event::DeliveryId;
pub use event::{
    Audience, Change, Event, Notification, Recurrence, Signal, SignalState, SlaTarget, Timer,
};
pub use impact::Impact;

/// Where an incident is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Reported, nobody has taken it yet. Escalation runs while an incident is open.
    Open,
    /// Someone has taken it.
    Acknowledged,
    /// The team is looking for the cause.
    Investigating,
    /// The root cause is known.
    Identified,
    /// A fix or mitigation is in place; the team is watching that it holds.
    Monitoring,
    /// Service is restored. May be reopened, or closed after review.
    Resolved,
    /// Done: summarised, lessons recorded. Terminal.
    Closed,
}

impl Status {
    /// All statuses, in lifecycle order.
    pub const ALL: [Status; 7] = [
        Status::Open,
        Status::Acknowledged,
        Status::Investigating,
        Status::Identified,
        Status::Monitoring,
        Status::Resolved,
        Status::Closed,
    ];

    /// The statuses in which someone still has work to do (not resolved, not closed).
    pub const ACTIVE: [Status; 5] = [
        Status::Open,
        Status::Acknowledged,
        Status::Investigating,
        Status::Identified,
        Status::Monitoring,
    ];

    /// Whether the incident is still being worked on (neither resolved nor closed).
    pub const fn is_active(self) -> bool {
        !matches!(self, Status::Resolved | Status::Closed)
    }

    /// The name as used in docs, diagrams and serde: `Open`, `Acknowledged`, …
    pub const fn name(self) -> &'static str {
        match self {
            Status::Open => "Open",
            Status::Acknowledged => "Acknowledged",
            Status::Investigating => "Investigating",
            Status::Identified => "Identified",
            Status::Monitoring => "Monitoring",
            Status::Resolved => "Resolved",
            Status::Closed => "Closed",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name().to_ascii_lowercase())
    }
}

/// The kind of a [`Command`], without its data. Used by the transition table and in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CommandKind {
    /// Open a new incident.
    Open,
    /// Take the incident: "I'm on it".
    Acknowledge,
    /// Make someone the incident's owner.
    AssignOwner,
    /// Start looking for the cause.
    StartInvestigating,
    /// Record the root cause.
    Identify,
    /// Record a mitigation and watch it.
    Mitigate,
    /// Declare service restored, with a resolution.
    Resolve,
    /// The problem is back: reopen a resolved incident, with a reason.
    Reopen,
    /// Close a resolved incident with a summary and lessons learned.
    Close,
    /// Raise or lower the severity, with a reason.
    ChangeSeverity,
    /// Add an internal note.
    AddNote,
    /// Post an update for customers.
    PostCustomerUpdate,
    /// Start waiting on a vendor (the payment provider, the POS vendor): pauses the resolve
    /// clock.
    WaitForVendor,
    /// The vendor responded: the resolve clock runs again.
    VendorResponded,
    /// Add someone to the people working the incident.
    AddResponder,
    /// Take someone off the incident.
    RemoveResponder,
    /// Add a task.
    AddTask,
    /// Give a task to someone.
    AssignTask,
    /// Mark a task done.
    CompleteTask,
    /// Record the post-incident review (with its follow-up actions).
    RecordReview,
    /// Mark a review's follow-up action done, even after closing.
    CompleteFollowUp,
    /// Record a customer's satisfaction score, even after closing.
    RecordFeedback,
    /// Record an alert or a report on this incident by hand
    /// ([`Desk::attach`](crate::Desk::attach)); later deliveries with its key come here too.
    Attach,
    /// Merge this incident into another one that tracks the same problem
    /// ([`Desk::merge`](crate::Desk::merge)): it is resolved as a duplicate, its timers stop,
    /// and its alert keys lead to the other incident from then on.
    Merge,
    /// Override the impact the public status page shows for the incident, or clear the
    /// override so it follows the severity.
    SetImpact,
    /// Set or withdraw the title the public status page shows.
    SetPublicTitle,
    /// Declare the incident a personal-data breach under some regimes
    /// ([`regulatory`](crate::regulatory)); accepted until closed, since a breach is often
    /// found after resolving.
    DeclareBreach,
    /// Move the instant the business became aware of the breach, with a reason.
    SetBecameAware,
    /// Record a regulatory notice as filed.
    FileNotice,
    /// Recorded by [`Desk::merge`](crate::Desk::merge) on the incident another one was merged
    /// into. Not a command a host sends.
    Absorb,
    /// Recorded by the desk's timer engine: a reminder that a follow-up is overdue. Not a
    /// command a host sends.
    Remind,
    /// Recorded by [`Desk::ingest`](crate::Desk::ingest): an alert or report arrived. Not a
    /// command a host sends.
    Signal,
    /// Recorded by the desk's timer engine: an escalation step, an SLA warning or breach, a
    /// customer update falling due. Not a command a host sends.
    Fire,
    /// Recorded by the desk: a notification requested for the outbox. Not a command a host
    /// sends.
    Notify,
    /// Recorded by [`Desk::dispatch`](crate::Desk::dispatch): a notification delivered, or a
    /// failed attempt. Not a command a host sends.
    Deliver,
    /// Recorded by the desk's timer engine: a regulatory notice at risk or overdue. Fires
    /// on resolved incidents too (the law's clock does not stop at the fix). Not a command
    /// a host sends.
    WarnNotice,
}

impl CommandKind {
    /// All command kinds.
    pub const ALL: [CommandKind; 36] = [
        CommandKind::Open,
        CommandKind::Acknowledge,
        CommandKind::AssignOwner,
        CommandKind::StartInvestigating,
        CommandKind::Identify,
        CommandKind::Mitigate,
        CommandKind::Resolve,
        CommandKind::Reopen,
        CommandKind::Close,
        CommandKind::ChangeSeverity,
        CommandKind::AddNote,
        CommandKind::PostCustomerUpdate,
        CommandKind::WaitForVendor,
        CommandKind::VendorResponded,
        CommandKind::AddResponder,
        CommandKind::RemoveResponder,
        CommandKind::AddTask,
        CommandKind::AssignTask,
        CommandKind::CompleteTask,
        CommandKind::RecordReview,
        CommandKind::CompleteFollowUp,
        CommandKind::RecordFeedback,
        CommandKind::Attach,
        CommandKind::Merge,
        CommandKind::SetImpact,
        CommandKind::SetPublicTitle,
        CommandKind::DeclareBreach,
        CommandKind::SetBecameAware,
        CommandKind::FileNotice,
        CommandKind::Absorb,
        CommandKind::Remind,
        CommandKind::Signal,
        CommandKind::Fire,
        CommandKind::Notify,
        CommandKind::Deliver,
        CommandKind::WarnNotice,
    ];

    /// Whether hosts send this kind as a [`Command`] (`false` for the records the desk makes
    /// itself: [`Fire`](Self::Fire), [`Notify`](Self::Notify), [`Deliver`](Self::Deliver)).
    pub const fn is_command(self) -> bool {
        !matches!(
            self,
            CommandKind::Signal
                | CommandKind::Absorb
                | CommandKind::Fire
                | CommandKind::Notify
                | CommandKind::Deliver
                | CommandKind::Remind
                | CommandKind::WarnNotice
        )
    }

    /// The command as words: `start investigating`, `post customer update`, …
    pub const fn as_str(self) -> &'static str {
        match self {
            CommandKind::Open => "open",
            CommandKind::Acknowledge => "acknowledge",
            CommandKind::AssignOwner => "assign owner",
            CommandKind::StartInvestigating => "start investigating",
            CommandKind::Identify => "identify",
            CommandKind::Mitigate => "mitigate",
            CommandKind::Resolve => "resolve",
            CommandKind::Reopen => "reopen",
            CommandKind::Close => "close",
            CommandKind::ChangeSeverity => "change severity",
            CommandKind::AddNote => "add note",
            CommandKind::PostCustomerUpdate => "post customer update",
            CommandKind::WaitForVendor => "wait for vendor",
            CommandKind::VendorResponded => "record vendor response",
            CommandKind::AddResponder => "add a responder to",
            CommandKind::RemoveResponder => "remove a responder from",
            CommandKind::AddTask => "add a task to",
            CommandKind::AssignTask => "assign a task of",
            CommandKind::CompleteTask => "complete a task of",
            CommandKind::RecordReview => "record a review of",
            CommandKind::CompleteFollowUp => "complete a follow-up of",
            CommandKind::RecordFeedback => "record feedback on",
            CommandKind::Attach => "attach a signal to",
            CommandKind::Merge => "merge",
            CommandKind::SetImpact => "set the public impact of",
            CommandKind::SetPublicTitle => "set the public title of",
            CommandKind::Absorb => "merge a duplicate into",
            CommandKind::Remind => "record a reminder on",
            CommandKind::Signal => "record a signal on",
            CommandKind::Fire => "fire a timer on",
            CommandKind::Notify => "request a notification on",
            CommandKind::Deliver => "record a delivery on",
            CommandKind::DeclareBreach => "declare a breach on",
            CommandKind::SetBecameAware => "set when the business became aware of the breach on",
            CommandKind::FileNotice => "file a regulatory notice on",
            CommandKind::WarnNotice => "warn of a regulatory notice on",
        }
    }
}

impl fmt::Display for CommandKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a command does in a given status: one cell of the transition table.
///
/// Deliberately exhaustive: these four outcomes are what a transition table is, and code that
/// reads the table should handle each of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Edge {
    /// Accepted; records an event and moves the incident to this (different) status.
    Move(Status),
    /// Accepted; records an event and the status stays as it is.
    Stay,
    /// Accepted; what it asks for already holds, so nothing is recorded.
    Ignore,
    /// Refused, for the reason given. Nothing is recorded.
    Reject(Refusal),
}

const CLOSED: Refusal = Refusal::Closed;
const RESOLVED: Refusal = Refusal::Resolved;
const EXISTS: Refusal = Refusal::AlreadyExists;
const MISSING: Refusal = Refusal::DoesNotExist;

/// The transition table: what `command` does to an incident in status `from` (`None`: the
/// incident does not exist yet).
///
/// This is the one exhaustive `match` of the lifecycle; see the [module docs](self) for the
/// rules it encodes.
///
/// ```
/// use incidents::{CommandKind, Status};
/// use incidents::lifecycle::{Edge, transition};
///
/// assert_eq!(
///     transition(Some(Status::Open), CommandKind::Acknowledge),
///     Edge::Move(Status::Acknowledged)
/// );
/// assert_eq!(transition(Some(Status::Investigating), CommandKind::Acknowledge), Edge::Ignore);
/// assert!(matches!(transition(Some(Status::Closed), CommandKind::AddNote), Edge::Reject(_)));
/// ```
#[allow(
    clippy::too_many_lines,
    clippy::match_same_arms,
    reason = "the transition table: one row per status and command, read as a table"
)]
pub const fn transition(from: Option<Status>, command: CommandKind) -> Edge {
    use CommandKind as C;
    use Edge::{Ignore, Move, Reject, Stay};
    use Status::{Acknowledged, Closed, Identified, Investigating, Monitoring, Open, Resolved};

    let Some(from) = from else {
        return match command {
            C::Open => Move(Open),
            C::Acknowledge
            | C::AssignOwner
            | C::StartInvestigating
            | C::Identify
            | C::Mitigate
            | C::Resolve
            | C::Reopen
            | C::Close
            | C::ChangeSeverity
            | C::AddNote
            | C::PostCustomerUpdate
            | C::WaitForVendor
            | C::VendorResponded
            | C::AddResponder
            | C::RemoveResponder
            | C::AddTask
            | C::AssignTask
            | C::CompleteTask
            | C::RecordReview
            | C::CompleteFollowUp
            | C::RecordFeedback
            | C::Attach
            | C::Merge
            | C::SetImpact
            | C::SetPublicTitle
            | C::Absorb
            | C::Remind
            | C::Signal
            | C::Fire
            | C::Notify
            | C::Deliver
            | C::DeclareBreach
            | C::SetBecameAware
            | C::FileNotice
            | C::WarnNotice => Reject(MISSING),
        };
    };

    match (command, from) {
        (C::Open, Open | Acknowledged | Investigating | Identified | Monitoring | Resolved) => {
            Reject(EXISTS)
        }

        (C::Acknowledge, Open) => Move(Acknowledged),
        (C::Acknowledge, Acknowledged | Investigating | Identified | Monitoring) => Ignore,
        (C::Acknowledge, Resolved) => Reject(RESOLVED),

        (C::StartInvestigating, Open | Acknowledged | Identified | Monitoring) => {
            Move(Investigating)
        }
        (C::StartInvestigating, Investigating) => Ignore,
        (C::StartInvestigating, Resolved) => Reject(RESOLVED),

        (C::Identify, Open | Acknowledged | Investigating | Monitoring) => Move(Identified),
        (C::Identify, Identified | Resolved) => Stay,

        (C::Mitigate, Open | Acknowledged | Investigating | Identified) => Move(Monitoring),
        (C::Mitigate, Monitoring) => Stay,
        (C::Mitigate, Resolved) => Reject(RESOLVED),

        (C::Resolve, Open | Acknowledged | Investigating | Identified | Monitoring) => {
            Move(Resolved)
        }
        (C::Resolve, Resolved) => Reject(Refusal::AlreadyResolved),

        (C::Merge, Open | Acknowledged | Investigating | Identified | Monitoring) => Move(Resolved),
        (C::Merge, Resolved) => Reject(Refusal::MergeResolved),

        (C::Reopen, Open | Acknowledged | Investigating | Identified | Monitoring) => {
            Reject(Refusal::NotResolved)
        }
        (C::Reopen, Resolved) => Move(Open),

        (C::Close, Open | Acknowledged | Investigating | Identified | Monitoring) => {
            Reject(Refusal::CloseUnresolved)
        }
        (C::Close, Resolved) => Move(Closed),

        (
            C::AssignOwner
            | C::ChangeSeverity
            | C::AddNote
            | C::PostCustomerUpdate
            | C::Notify
            | C::Signal
            | C::Attach
            | C::Absorb
            | C::AddResponder
            | C::RemoveResponder
            | C::AddTask
            | C::AssignTask
            | C::CompleteTask
            | C::SetImpact
            | C::SetPublicTitle,
            Open | Acknowledged | Investigating | Identified | Monitoring | Resolved,
        ) => Stay,

        // A breach is often found after the fix: its records and clocks go on while resolved.
        (
            C::DeclareBreach | C::SetBecameAware | C::FileNotice | C::WarnNotice,
            Open | Acknowledged | Investigating | Identified | Monitoring | Resolved,
        ) => Stay,

        (C::RecordReview, Open | Acknowledged | Investigating | Identified | Monitoring) => {
            Reject(Refusal::ReviewBeforeResolving)
        }
        (C::RecordReview, Resolved) => Stay,

        (
            C::WaitForVendor | C::VendorResponded | C::Fire,
            Open | Acknowledged | Investigating | Identified | Monitoring,
        ) => Stay,
        (C::WaitForVendor | C::VendorResponded, Resolved) => Reject(RESOLVED),
        (C::Fire, Resolved) => Reject(Refusal::NoRunningTimers),

        // Delivery records of notifications requested earlier are kept even after closing:
        // the customers' "it is fixed" message may go out after the owner closed the incident.
        // So are records about what came after: completed follow-ups, their reminders, and
        // customers' feedback.
        (
            C::Deliver | C::CompleteFollowUp | C::RecordFeedback | C::Remind,
            Open | Acknowledged | Investigating | Identified | Monitoring | Resolved | Closed,
        ) => Stay,
        // A reminder after closing asks for its notification.
        (C::Notify, Closed) => Stay,

        (
            C::Open
            | C::Acknowledge
            | C::AssignOwner
            | C::StartInvestigating
            | C::Identify
            | C::Mitigate
            | C::Resolve
            | C::Reopen
            | C::Close
            | C::ChangeSeverity
            | C::AddNote
            | C::PostCustomerUpdate
            | C::WaitForVendor
            | C::VendorResponded
            | C::Signal
            | C::Attach
            | C::Merge
            | C::SetImpact
            | C::SetPublicTitle
            | C::Absorb
            | C::Fire
            | C::AddResponder
            | C::RemoveResponder
            | C::AddTask
            | C::AssignTask
            | C::CompleteTask
            | C::RecordReview
            | C::DeclareBreach
            | C::SetBecameAware
            | C::FileNotice
            | C::WarnNotice,
            Closed,
        ) => Reject(CLOSED),
    }
}

/// One row of the transition table as data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Transition {
    /// The status before (`None`: the incident does not exist yet).
    pub from: Option<Status>,
    /// The command.
    pub command: CommandKind,
    /// What happens.
    pub edge: Edge,
}

/// The whole transition table, every (status, command) pair including "does not exist yet",
/// in a stable order. Read by the docs and the tests instead of repeating the table.
pub fn table() -> impl Iterator<Item = Transition> {
    std::iter::once(None)
        .chain(Status::ALL.into_iter().map(Some))
        .flat_map(|from| {
            CommandKind::ALL.into_iter().map(move |command| Transition {
                from,
                command,
                edge: transition(from, command),
            })
        })
}

/// The lifecycle as a Mermaid `stateDiagram-v2`: every status-changing edge of [`table`],
/// labelled with its command. README.md embeds this text; a test keeps them equal.
pub fn mermaid() -> String {
    let mut out = String::from("stateDiagram-v2\n");
    for t in table() {
        if let Edge::Move(to) = t.edge {
            let from = t.from.map_or("[*]", Status::name);
            out.push_str(&format!("    {from} --> {} : {}\n", to.name(), t.command));
        }
    }
    out.push_str("    Closed --> [*]\n");
    out
}
