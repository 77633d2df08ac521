//! Events: the facts an incident's history is made of.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::lifecycle::{CommandKind, Resolution};
use crate::model::{Actor, IncidentId, Service, Source};
use crate::severity::Severity;
use crate::text::{Text, Title};

/// One recorded fact about an incident: what changed, who did it, and when.
///
/// Events are immutable once appended. An [`Incident`](crate::Incident) is the fold of its
/// events; the timeline, the audit log and every report come from them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// When it happened. Never earlier than the previous event of the same incident.
    pub at: DateTime<Utc>,
    /// Who did it.
    pub actor: Actor,
    /// What changed.
    pub change: Change,
}

/// What an [`Event`] changed. One variant per accepted command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Change {
    /// The incident was opened. Always the first event of a history, and only there.
    Opened {
        /// Its id.
        id: IncidentId,
        /// Its title.
        title: Title,
        /// An optional longer description.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<Text>,
        /// The initial severity.
        severity: Severity,
        /// The affected service.
        service: Service,
        /// Where it came from.
        source: Source,
    },
    /// Someone took it.
    Acknowledged,
    /// A (new) owner leads it.
    OwnerAssigned {
        /// The new owner.
        owner: Actor,
    },
    /// The team started (or went back to) looking for the cause.
    InvestigationStarted,
    /// The root cause was identified (or revised).
    RootCauseIdentified {
        /// What caused it.
        root_cause: Text,
    },
    /// A mitigation was put in place.
    Mitigated {
        /// What was done.
        action: Text,
    },
    /// Service was restored.
    Resolved {
        /// How.
        resolution: Resolution,
    },
    /// The problem came back.
    Reopened {
        /// Why.
        reason: Text,
    },
    /// The incident was closed.
    Closed {
        /// What happened and how it was handled.
        summary: Text,
        /// What to do so it does not happen again.
        lessons: Text,
    },
    /// The severity was changed.
    SeverityChanged {
        /// The severity before.
        from: Severity,
        /// The severity after.
        to: Severity,
        /// Why.
        reason: Text,
    },
    /// An internal note was added.
    NoteAdded {
        /// The note.
        text: Text,
    },
    /// An update for customers was posted.
    CustomerUpdatePosted {
        /// The message.
        message: Text,
    },
}

impl Change {
    /// The command kind that records this change; its row in the transition table decides in
    /// which statuses the change may appear.
    pub const fn command_kind(&self) -> CommandKind {
        match self {
            Change::Opened { .. } => CommandKind::Open,
            Change::Acknowledged => CommandKind::Acknowledge,
            Change::OwnerAssigned { .. } => CommandKind::AssignOwner,
            Change::InvestigationStarted => CommandKind::StartInvestigating,
            Change::RootCauseIdentified { .. } => CommandKind::Identify,
            Change::Mitigated { .. } => CommandKind::Mitigate,
            Change::Resolved { .. } => CommandKind::Resolve,
            Change::Reopened { .. } => CommandKind::Reopen,
            Change::Closed { .. } => CommandKind::Close,
            Change::SeverityChanged { .. } => CommandKind::ChangeSeverity,
            Change::NoteAdded { .. } => CommandKind::AddNote,
            Change::CustomerUpdatePosted { .. } => CommandKind::PostCustomerUpdate,
        }
    }

    /// A short human description, as a timeline would show it ("acknowledged",
    /// "resolved (fixed)", "severity high → critical: …").
    pub fn describe(&self) -> String {
        match self {
            Change::Opened {
                title,
                severity,
                service,
                source,
                ..
            } => format!("opened \"{title}\" ({severity}, {service}, from {source})"),
            Change::Acknowledged => "acknowledged".into(),
            Change::OwnerAssigned { owner } => format!("owner is now {owner}"),
            Change::InvestigationStarted => "started investigating".into(),
            Change::RootCauseIdentified { root_cause } => format!("root cause: {root_cause}"),
            Change::Mitigated { action } => format!("mitigated: {action}"),
            Change::Resolved { resolution } => format!("resolved ({resolution})"),
            Change::Reopened { reason } => format!("reopened: {reason}"),
            Change::Closed { summary, lessons } => {
                format!("closed: {summary} — lessons: {lessons}")
            }
            Change::SeverityChanged { from, to, reason } => {
                format!("severity {from} → {to}: {reason}")
            }
            Change::NoteAdded { text } => format!("note: {text}"),
            Change::CustomerUpdatePosted { message } => format!("customer update: {message}"),
        }
    }
}
