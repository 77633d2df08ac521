//! Reports over a time window: how many incidents, how fast they were acknowledged and
//! resolved, how the SLA targets held, how often problems came back, which follow-ups are
//! overdue and how satisfied customers were — each figure with a plain statement of how it
//! was computed.
//!
//! [`report`] is pure: it takes incidents as they stood at the window's end, a policy and a
//! window. [`Desk::report`](crate::Desk::report) rebuilds incidents changed since the window's
//! end from their history and calls it. [`Report::compare`] sets two reports side by side
//! (this month against last).

mod compare;
mod compute;
mod figures;
mod render;
mod stats;
mod window;

#[cfg(test)]
mod props;

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::incident::Incident;
use crate::policy::Policy;

pub use compare::{Compared, Comparison, FigureUnit};
pub use figures::{
    Breach, Breaches, Exclusion, OverdueFollowUp, OverdueFollowUps, Recurrences, Satisfaction,
    SlaCompliance, TimeToAcknowledge, TimeToResolve, Volume,
};
pub use stats::DurationStats;
pub use window::Window;

/// A report over a [`Window`]: every figure with the statement of how it was computed.
///
/// Serializable (serde), printable as a plain-text table (`Display`) and exportable as CSV
/// ([`to_csv`](Report::to_csv)). Build it with [`report`] or
/// [`Desk::report`](crate::Desk::report).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Report {
    /// The window reported on.
    pub window: Window,
    /// The instant the figures are as of: the window's end, or, for a window still in
    /// progress when [`Desk::report`](crate::Desk::report) made the report, the time it was
    /// made.
    pub as_of: DateTime<Utc>,
    /// Incidents opened in the window.
    pub opened: Volume,
    /// Time to acknowledge (MTTA).
    pub time_to_acknowledge: TimeToAcknowledge,
    /// Time to resolve (MTTR, time to handle).
    pub time_to_resolve: TimeToResolve,
    /// Compliance per SLA target: acknowledge, then resolve.
    pub sla: Vec<SlaCompliance>,
    /// Every target breached.
    pub breaches: Breaches,
    /// Recurrences among the incidents opened.
    pub recurrence: Recurrences,
    /// Review follow-ups overdue at the window's end.
    pub overdue_follow_ups: OverdueFollowUps,
    /// Customer satisfaction in the window.
    pub satisfaction: Satisfaction,
    /// Anything that limits what the figures mean (empty when nothing does).
    pub caveats: Vec<String>,
}

impl Report {
    /// Sets this report's headline figures against `last`'s (this month against last).
    pub fn compare(&self, last: &Report) -> Comparison {
        compare::compare(self, last)
    }

    /// The report as CSV (RFC 4180, CRLF line ends): a header `figure,value,unit,basis`
    /// and one row per figure. Durations are in seconds, shares in percent; a figure
    /// without a value (a mean of nothing) has an empty value. Text fields that a
    /// spreadsheet would read as a formula (starting with `=`, `+`, `-` or `@`) get a leading
    /// apostrophe.
    pub fn to_csv(&self) -> String {
        render::report_csv(self)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        render::report_table(self, f)
    }
}

/// Builds the report of `window` from `incidents`, under `policy`.
///
/// **Population.** Most figures are about the incidents *opened* in the window
/// (`from <= created_at < until`). Overdue follow-ups and satisfaction look at every incident
/// given, since a review or a customer's verdict may come long after the incident opened.
///
/// **As of the window's end.** Each incident must be given as it stood at the window's end:
/// one resolved after the end counts as unresolved, one reopened after the end as resolved.
/// This function cannot rebuild the past from an incident's current state;
/// [`Desk::report`](crate::Desk::report) does that by replaying the history of every incident
/// changed since the end. Incidents opened in the window but changed at or after its end are
/// counted in a caveat. Dated records outside the window (feedback, follow-ups completed
/// later) are left out by their dates, so for incidents opened before the window the
/// current state is fine.
///
/// SLA targets are judged with [`sla_status`](crate::sla::sla_status) at the window's end, under `policy` (the
/// policy now, not necessarily the one in force then).
///
/// ```
/// use chrono::{Duration, TimeZone, Utc};
/// use incidents::{Actor, Command, Desk, ManualClock, MemoryStore, NewIncident, Policy, Resolution, Role, Severity, Source};
/// use incidents::report::{Window, report};
///
/// let start = Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap();
/// let clock = ManualClock::new(start);
/// let desk = Desk::new(MemoryStore::new(), &clock)?;
/// let shimon = Actor::new("shimon", "Shimon", Role::Owner)?;
/// let id = desk.open(&shimon, NewIncident::new("Till offline", Severity::Medium, "POS", Source::StaffReport)?)?.id;
/// clock.advance(Duration::minutes(5));
/// desk.act(id, &shimon, Command::Acknowledge)?;
/// clock.advance(Duration::minutes(40));
/// desk.act(id, &shimon, Command::resolve(Resolution::Fixed))?;
///
/// let november = Window::month(2026, 11, chrono_tz::UTC)?;
/// let report = report(&desk.list(&incidents::Filter::all()), &Policy::small_business(), november);
/// assert_eq!(report.opened.total, 1);
/// assert_eq!(report.time_to_acknowledge.wall_clock.mean, Some(Duration::minutes(5)));
/// assert_eq!(report.time_to_resolve.wall_clock.mean, Some(Duration::minutes(45)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn report<'a>(
    incidents: impl IntoIterator<Item = &'a Incident>,
    policy: &Policy,
    window: Window,
) -> Report {
    gather(incidents, policy, window, None)
}

/// [`report`] for a window that may still be in progress at `now`: if `now` is before the
/// window's end, every figure is as of `now` (records dated up to and including `now` count,
/// SLA targets are judged at `now`) and a caveat says so. The incidents must be as they stand
/// at `now`.
pub(crate) fn report_as_of<'a>(
    incidents: impl IntoIterator<Item = &'a Incident>,
    policy: &Policy,
    window: Window,
    now: DateTime<Utc>,
) -> Report {
    gather(incidents, policy, window, Some(now))
}

fn gather<'a>(
    incidents: impl IntoIterator<Item = &'a Incident>,
    policy: &Policy,
    window: Window,
    now: Option<DateTime<Utc>>,
) -> Report {
    let incidents = incidents.into_iter();
    let mut acc = compute::Accumulator::new(policy, window, now);
    acc.reserve(incidents.size_hint().0);
    for incident in incidents {
        acc.add(incident);
    }
    acc.finish()
}
