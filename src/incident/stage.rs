//! Where the incident is in its lifecycle, with the data that only exists there, and the
//! counts that follow its openings.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::lifecycle::{Change, Event, Resolution, Status};
use crate::model::Actor;
use crate::text::Text;

/// How and when an incident was resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ResolutionRecord {
    /// When service was restored.
    pub at: DateTime<Utc>,
    /// Who resolved it.
    pub by: Actor,
    /// How.
    pub resolution: Resolution,
}

/// How and when an incident was closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Closure {
    /// When it was closed.
    pub at: DateTime<Utc>,
    /// Who closed it.
    pub by: Actor,
    /// What happened and how it was handled.
    pub summary: Text,
    /// What to do so it does not happen again.
    pub lessons: Text,
}

/// The lifecycle position together with the data that only exists there: a resolution exists
/// exactly when the incident is resolved or closed, a closure exactly when it is closed. This
/// makes "resolved without a resolution" unrepresentable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Stage {
    /// See [`Status::Open`].
    Open,
    /// See [`Status::Acknowledged`].
    Acknowledged,
    /// See [`Status::Investigating`].
    Investigating,
    /// See [`Status::Identified`].
    Identified,
    /// See [`Status::Monitoring`].
    Monitoring,
    /// See [`Status::Resolved`].
    Resolved {
        /// The resolution.
        resolved: ResolutionRecord,
    },
    /// See [`Status::Closed`].
    Closed {
        /// The resolution it was closed with.
        resolved: ResolutionRecord,
        /// The closure.
        closure: Closure,
    },
}

impl Stage {
    /// The status of this stage.
    pub const fn status(&self) -> Status {
        match self {
            Stage::Open => Status::Open,
            Stage::Acknowledged => Status::Acknowledged,
            Stage::Investigating => Status::Investigating,
            Stage::Identified => Status::Identified,
            Stage::Monitoring => Status::Monitoring,
            Stage::Resolved { .. } => Status::Resolved,
            Stage::Closed { .. } => Status::Closed,
        }
    }

    /// The resolution record; `None` unless resolved or closed.
    pub(super) fn resolved(&self) -> Option<&ResolutionRecord> {
        match self {
            Stage::Resolved { resolved } | Stage::Closed { resolved, .. } => Some(resolved),
            Stage::Open
            | Stage::Acknowledged
            | Stage::Investigating
            | Stage::Identified
            | Stage::Monitoring => None,
        }
    }

    /// The closure; `None` unless closed.
    pub(super) fn closure(&self) -> Option<&Closure> {
        match self {
            Stage::Closed { closure, .. } => Some(closure),
            Stage::Open
            | Stage::Acknowledged
            | Stage::Investigating
            | Stage::Identified
            | Stage::Monitoring
            | Stage::Resolved { .. } => None,
        }
    }
}

/// The incident's part that owns its lifecycle position and its openings: the stage, the
/// first acknowledgement and resolution, reopenings, and the time spent unresolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Progress {
    pub(super) stage: Stage,
    pub(super) acknowledged_at: Option<DateTime<Utc>>,
    pub(super) reopen_count: u32,
    pub(super) first_resolved_at: Option<DateTime<Utc>>,
    pub(super) cycle_started_at: DateTime<Utc>,
    /// Time spent unresolved in openings that ended (the current one is added on demand).
    pub(super) unresolved_before: chrono::Duration,
}

impl Progress {
    /// An incident opened at `at`.
    pub(super) fn opened(at: DateTime<Utc>) -> Progress {
        Progress {
            stage: Stage::Open,
            acknowledged_at: None,
            reopen_count: 0,
            first_resolved_at: None,
            cycle_started_at: at,
            unresolved_before: chrono::Duration::zero(),
        }
    }

    /// The stage entered when moving to `to` because of `event`, or why it cannot be.
    pub(super) fn enter(&self, to: Status, event: &Event) -> Result<Stage, String> {
        let resolved = |resolution| ResolutionRecord {
            at: event.at,
            by: event.actor.clone(),
            resolution,
        };
        Ok(match to {
            Status::Open => Stage::Open,
            Status::Acknowledged => Stage::Acknowledged,
            Status::Investigating => Stage::Investigating,
            Status::Identified => Stage::Identified,
            Status::Monitoring => Stage::Monitoring,
            Status::Resolved => match &event.change {
                Change::Resolved { resolution } => Stage::Resolved {
                    resolved: resolved(*resolution),
                },
                Change::MergedInto { into } => Stage::Resolved {
                    resolved: resolved(Resolution::Duplicate { of: *into }),
                },
                other => {
                    return Err(format!(
                        "`{}` cannot resolve an incident",
                        other.command_kind()
                    ));
                }
            },
            Status::Closed => match (&event.change, &self.stage) {
                (Change::Closed { summary, lessons }, Stage::Resolved { resolved }) => {
                    Stage::Closed {
                        resolved: resolved.clone(),
                        closure: Closure {
                            at: event.at,
                            by: event.actor.clone(),
                            summary: summary.clone(),
                            lessons: lessons.clone(),
                        },
                    }
                }
                (other, _) => {
                    return Err(format!(
                        "`{}` cannot close an incident that is {}",
                        other.command_kind(),
                        self.stage.status()
                    ));
                }
            },
        })
    }

    /// Folds what `event` changes in the openings (moving the stage is [`entered`]).
    ///
    /// [`entered`]: Progress::entered
    pub(super) fn apply(&mut self, event: &Event) {
        match &event.change {
            Change::Resolved { .. } | Change::MergedInto { .. } => {
                self.first_resolved_at.get_or_insert(event.at);
                self.unresolved_before += event.at - self.cycle_started_at;
            }
            Change::Reopened { .. } => {
                self.reopen_count += 1;
                self.cycle_started_at = event.at;
            }
            _ => {}
        }
    }

    /// Enters `stage`, built by [`enter`](Progress::enter) for an event at `at`.
    pub(super) fn entered(&mut self, stage: Stage, at: DateTime<Utc>) {
        let working = matches!(
            stage.status(),
            Status::Acknowledged | Status::Investigating | Status::Identified | Status::Monitoring
        );
        if working && self.acknowledged_at.is_none() {
            self.acknowledged_at = Some(at);
        }
        self.stage = stage;
    }
}
