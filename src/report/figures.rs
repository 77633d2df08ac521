//! The figures of a report, each with the statement of how it was computed.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::DurationStats;
use crate::lifecycle::SlaTarget;
use crate::model::{IncidentId, Service, Source};
use crate::severity::Severity;
use crate::text::Title;

/// Incidents left out of a figure, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Exclusion {
    /// How many.
    pub count: usize,
    /// Why, in words.
    pub reason: String,
}

/// How many incidents were opened in the window, broken down.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Volume {
    /// Incidents opened in the window.
    pub total: usize,
    /// By severity as it stood at the window's end (every severity present, zero or not).
    pub by_severity: BTreeMap<Severity, usize>,
    /// By affected service (services without incidents are absent).
    pub by_service: BTreeMap<Service, usize>,
    /// By where the incident came from (every source present, zero or not).
    pub by_source: BTreeMap<Source, usize>,
    /// Of those, how many were neither resolved nor closed at the window's end.
    pub still_open: usize,
    /// How these counts were made.
    pub basis: String,
}

/// Time from opening to the first acknowledgement (MTTA).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TimeToAcknowledge {
    /// Measured on the wall clock.
    pub wall_clock: DurationStats,
    /// Counting only the opening hours of the policy's calendar.
    pub business_hours: DurationStats,
    /// Incidents opened in the window that were left out, and why.
    pub excluded: Vec<Exclusion>,
    /// How it was computed.
    pub basis: String,
}

/// Time from opening to resolution: time to handle (MTTR). The headline figures leave out
/// incidents resolved as false alarms or duplicates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TimeToResolve {
    /// Measured on the wall clock (vendor waits included), false alarms and duplicates left
    /// out.
    pub wall_clock: DurationStats,
    /// Counting only the opening hours of the policy's calendar, false alarms and
    /// duplicates left out.
    pub business_hours: DurationStats,
    /// On the wall clock, every resolved incident, false alarms and duplicates included.
    pub including_false_alarms_and_duplicates: DurationStats,
    /// How many incidents opened in the window were resolved as false alarms.
    pub false_alarms: usize,
    /// How many were resolved as duplicates of another incident (merged).
    pub duplicates: usize,
    /// How many were reopened and resolved again (their last resolution counts).
    pub reopened: usize,
    /// Incidents opened in the window that were left out, and why.
    pub excluded: Vec<Exclusion>,
    /// How it was computed.
    pub basis: String,
}

/// How one SLA target held for the incidents opened in the window, judged at its end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SlaCompliance {
    /// Which target.
    pub target: SlaTarget,
    /// Incidents opened in the window whose policy sets this target, less those excluded.
    pub incidents: usize,
    /// The clock stopped before the limit.
    pub met: usize,
    /// The limit was reached (whether or not the clock has stopped since).
    pub breached: usize,
    /// Still running with time to spare at the window's end.
    pub on_track: usize,
    /// Still running, past the at-risk threshold, at the window's end.
    pub at_risk: usize,
    /// Paused (waiting on a vendor) short of the limit at the window's end.
    pub paused: usize,
    /// Incidents opened in the window whose policy sets no such target.
    pub without_target: usize,
    /// Incidents opened in the window left out, as from the time figure the target belongs
    /// to (false alarms, duplicates), and why.
    pub excluded: Vec<Exclusion>,
    /// `met / (met + breached)` in percent; `None` if no incident's target was decided.
    pub percent_met: Option<f64>,
    /// How it was computed.
    pub basis: String,
}

/// One SLA target an incident breached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Breach {
    /// The incident.
    pub incident: IncidentId,
    /// Its title.
    pub title: Title,
    /// When it was opened.
    pub opened_at: DateTime<Utc>,
    /// Its severity at the window's end.
    pub severity: Severity,
    /// Its service.
    pub service: Service,
    /// The target breached.
    pub target: SlaTarget,
    /// The limit the policy sets.
    #[serde(with = "crate::duration_text")]
    pub limit: Duration,
    /// Time counted on the target's clock by the window's end (or until the clock stopped),
    /// to the second.
    #[serde(with = "crate::duration_text")]
    pub elapsed: Duration,
}

/// Every SLA target breached by incidents opened in the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Breaches {
    /// The breaches, oldest incident first.
    pub items: Vec<Breach>,
    /// How they were found.
    pub basis: String,
}

/// How many incidents opened in the window were recurrences of earlier ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Recurrences {
    /// Incidents opened in the window.
    pub opened: usize,
    /// Of those, recurrences.
    pub recurrences: usize,
    /// `recurrences / opened` in percent; `None` if nothing was opened.
    pub percent: Option<f64>,
    /// How it was computed.
    pub basis: String,
}

/// A review follow-up past its due date and not done, at the window's end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OverdueFollowUp {
    /// The incident reviewed.
    pub incident: IncidentId,
    /// Its title.
    pub incident_title: Title,
    /// The follow-up's number within the incident.
    pub number: u32,
    /// What was to be done.
    pub title: Title,
    /// Who was to do it (an actor id).
    pub owner: String,
    /// By when.
    pub due: DateTime<Utc>,
}

/// Review follow-ups overdue at the window's end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OverdueFollowUps {
    /// Follow-ups (of reviews recorded before the window's end) due before the window's end.
    pub due: usize,
    /// Those of them not completed by the window's end, earliest due first.
    pub items: Vec<OverdueFollowUp>,
    /// How they were found.
    pub basis: String,
}

/// Customers' satisfaction, from feedback recorded in the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Satisfaction {
    /// Feedback recorded in the window.
    pub responses: usize,
    /// The mean score (1–5); `None` without responses.
    pub average: Option<f64>,
    /// Responses scoring 4 or 5.
    pub satisfied: usize,
    /// `satisfied / responses` in percent; `None` without responses.
    pub percent_satisfied: Option<f64>,
    /// How it was computed.
    pub basis: String,
}
