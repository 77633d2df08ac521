//! SLA status: for each target, how much time has passed, when it is due, and whether it is
//! on track, at risk, missed, met or paused — computed purely from the incident, the policy
//! and `now`.
//!
//! # Rules
//!
//! - **Acknowledge** runs from opening until the first acknowledgement (explicit, or by
//!   starting work). An incident resolved before anyone acknowledged it stops this clock at
//!   its first resolution. Reopening does not restart it.
//! - **Resolve** runs from opening until resolving; it **pauses** while the team waits on a
//!   vendor and **continues** (it does not restart) after a reopening.
//! - **Customer updates**, while the incident is active: due one cadence after the later of
//!   the last customer update and the (re)opening.
//! - A target is **breached** once its elapsed time reaches the limit ("close critical
//!   incidents in under one hour": at exactly one hour it is missed), **at risk** once the
//!   policy's share of it has passed, **met** if its clock stopped before the limit.
//! - Time counts on the targets' clock: around the clock, or the calendar's opening hours.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::calendar::Calendar;
use crate::incident::Incident;
use crate::lifecycle::SlaTarget;
use crate::policy::{Hours, Policy, Targets};

/// Where a target stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SlaState {
    /// Running, with time to spare.
    OnTrack,
    /// Running, past the at-risk threshold.
    AtRisk,
    /// The limit was reached.
    Breached,
    /// The clock stopped before the limit.
    Met,
    /// The clock is paused (waiting on a vendor) and the limit was not reached.
    Paused,
}

/// One target's status at some instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SlaStatus {
    /// Which target.
    pub target: SlaTarget,
    /// The limit the policy sets.
    pub limit: Duration,
    /// When it is (or was) due, if its clock is running; `None` when stopped or paused.
    pub due: Option<DateTime<Utc>>,
    /// Time counted so far, on the target's clock.
    pub elapsed: Duration,
    /// `limit - elapsed` (negative once breached).
    pub remaining: Duration,
    /// Where it stands.
    pub state: SlaState,
}

/// Measures time on a target's clock: wall time, or a calendar's opening hours.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Meter<'a> {
    Wall,
    Business(&'a Calendar),
}

impl<'a> Meter<'a> {
    pub(crate) fn for_targets(targets: &Targets, policy: &'a Policy) -> Meter<'a> {
        match targets.hours {
            Hours::AroundTheClock => Meter::Wall,
            Hours::Business => Meter::Business(policy.calendar()),
        }
    }

    pub(crate) fn elapsed(self, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
        match self {
            _ if to <= from => Duration::zero(),
            Meter::Wall => to - from,
            Meter::Business(c) => c.business_time(from, to),
        }
    }

    /// The instant `amount` of counted time after `from`; `None` if the calendar never gets
    /// there (it stops opening).
    /// `None` also when the instant is beyond what a date can hold (never due).
    pub(crate) fn add(self, from: DateTime<Utc>, amount: Duration) -> Option<DateTime<Utc>> {
        match self {
            Meter::Wall => from.checked_add_signed(amount.max(Duration::zero())),
            Meter::Business(c) => c.add_business_time(from, amount),
        }
    }
}

/// The share of `limit` at which a target turns at risk.
pub(crate) fn at_risk_after(limit: Duration, percent: u8) -> Duration {
    let ms = i128::from(limit.num_milliseconds()) * i128::from(percent) / 100;
    Duration::milliseconds(i64::try_from(ms).unwrap_or(i64::MAX))
}

/// A running or stopped clock: what has been counted, and (if running) since when.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    /// Counted before the currently running span (all of it if stopped).
    pub before: Duration,
    /// The start of the running span, if running.
    pub running_since: Option<DateTime<Utc>>,
    /// Whether the clock is paused rather than stopped for good.
    pub paused: bool,
}

impl Clock {
    pub(crate) fn elapsed(&self, meter: Meter<'_>, now: DateTime<Utc>) -> Duration {
        self.elapsed_by(now, |from, to| meter.elapsed(from, to))
    }

    /// [`elapsed`](Self::elapsed) with time counted by `elapsed` (as
    /// [`acknowledge_clock_by`]).
    pub(crate) fn elapsed_by(
        &self,
        now: DateTime<Utc>,
        elapsed: impl Fn(DateTime<Utc>, DateTime<Utc>) -> Duration,
    ) -> Duration {
        self.before
            + self
                .running_since
                .map_or(Duration::zero(), |since| elapsed(since, now))
    }

    /// When the clock reaches `amount`, if it is running.
    pub(crate) fn reaches(&self, meter: Meter<'_>, amount: Duration) -> Option<DateTime<Utc>> {
        let since = self.running_since?;
        meter.add(since, amount - self.before)
    }
}

/// The acknowledge clock of `incident`.
pub(crate) fn acknowledge_clock(incident: &Incident, meter: Meter<'_>) -> Clock {
    acknowledge_clock_by(incident, |from, to| meter.elapsed(from, to))
}

/// The acknowledge clock of `incident`, with time counted by `elapsed` (which gives zero when
/// `to <= from`, as [`Meter::elapsed`] does).
pub(crate) fn acknowledge_clock_by(
    incident: &Incident,
    elapsed: impl Fn(DateTime<Utc>, DateTime<Utc>) -> Duration,
) -> Clock {
    match incident.acknowledged_at().or(incident.first_resolved_at()) {
        Some(stop) => Clock {
            before: elapsed(incident.created_at(), stop),
            running_since: None,
            paused: false,
        },
        None => Clock {
            before: Duration::zero(),
            running_since: Some(incident.created_at()),
            paused: false,
        },
    }
}

/// The resolve clock of `incident`.
pub(crate) fn resolve_clock(incident: &Incident, meter: Meter<'_>) -> Clock {
    resolve_clock_by(incident, |from, to| meter.elapsed(from, to))
}

/// The resolve clock of `incident`, with time counted by `elapsed` (as
/// [`acknowledge_clock_by`]).
pub(crate) fn resolve_clock_by(
    incident: &Incident,
    elapsed: impl Fn(DateTime<Utc>, DateTime<Utc>) -> Duration,
) -> Clock {
    let mut before = Duration::zero();
    let mut running_since = None;
    for (from, until) in incident.resolve_clock() {
        match until {
            Some(until) => before += elapsed(*from, *until),
            None => running_since = Some(*from),
        }
    }
    Clock {
        before,
        running_since,
        paused: running_since.is_none() && incident.is_active(),
    }
}

/// When the resolve clock of `incident` reached `amount`, if it did in a span that has
/// ended (for a clock paused since: the marks it passed before the pause).
pub(crate) fn resolve_reached(
    incident: &Incident,
    meter: Meter<'_>,
    amount: Duration,
) -> Option<DateTime<Utc>> {
    let mut counted = Duration::zero();
    for (from, until) in incident.resolve_clock() {
        let until = (*until)?;
        let span = meter.elapsed(*from, until);
        if counted + span >= amount {
            return meter.add(*from, amount - counted);
        }
        counted += span;
    }
    None
}

/// When customers are next due an update, counting from `since`.
pub(crate) fn update_clock_start(incident: &Incident) -> DateTime<Utc> {
    incident
        .customer_updates()
        .last()
        .map_or(incident.cycle_started_at(), |u| {
            u.at.max(incident.cycle_started_at())
        })
}

/// Where a target with `limit` stands when `clock` has counted `elapsed`.
pub(crate) fn state_of(limit: Duration, percent: u8, clock: &Clock, elapsed: Duration) -> SlaState {
    if elapsed >= limit {
        SlaState::Breached
    } else if clock.running_since.is_none() {
        if clock.paused {
            SlaState::Paused
        } else {
            SlaState::Met
        }
    } else if elapsed >= at_risk_after(limit, percent) {
        SlaState::AtRisk
    } else {
        SlaState::OnTrack
    }
}

fn status_of(
    target: SlaTarget,
    limit: Duration,
    percent: u8,
    clock: Clock,
    meter: Meter<'_>,
    now: DateTime<Utc>,
) -> SlaStatus {
    let elapsed = clock.elapsed(meter, now);
    let state = state_of(limit, percent, &clock, elapsed);
    SlaStatus {
        target,
        limit,
        due: clock.reaches(meter, limit),
        elapsed,
        remaining: limit - elapsed,
        state,
    }
}

/// The status of every target the policy sets for `incident`, at `now`.
///
/// The customer-update target is only reported while the incident is active.
///
/// ```
/// use chrono::{Duration, TimeZone, Utc};
/// use incidents::{Actor, Desk, ManualClock, MemoryStore, NewIncident, Policy, Role, Severity, Source, lifecycle::SlaTarget, sla::{SlaState, sla_status}};
///
/// let start = Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap();
/// let clock = ManualClock::new(start);
/// let desk = Desk::new(MemoryStore::new(), &clock)?;
/// let owner = Actor::new("dana", "Dana", Role::Owner)?;
/// let id = desk.open(&owner, NewIncident::new("Payments down", Severity::Critical, "payments", Source::Alert)?)?.id;
///
/// let status = sla_status(&desk.get(id)?, &Policy::small_business(), start + Duration::minutes(50));
/// let resolve = status.iter().find(|s| s.target == SlaTarget::Resolve).unwrap();
/// assert_eq!(resolve.state, SlaState::AtRisk); // 50 of 60 minutes gone
/// assert_eq!(resolve.remaining, Duration::minutes(10));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn sla_status(incident: &Incident, policy: &Policy, now: DateTime<Utc>) -> Vec<SlaStatus> {
    let targets = policy.targets(incident.severity(), Some(incident.service()));
    let meter = Meter::for_targets(targets, policy);
    let percent = targets.at_risk_percent;
    let mut out = Vec::new();
    if let Some(limit) = targets.acknowledge {
        let clock = acknowledge_clock(incident, meter);
        out.push(status_of(
            SlaTarget::Acknowledge,
            limit,
            percent,
            clock,
            meter,
            now,
        ));
    }
    if let Some(limit) = targets.resolve {
        let clock = resolve_clock(incident, meter);
        out.push(status_of(
            SlaTarget::Resolve,
            limit,
            percent,
            clock,
            meter,
            now,
        ));
    }
    if let (Some(limit), true) = (targets.customer_updates, incident.is_active()) {
        let clock = Clock {
            before: Duration::zero(),
            running_since: Some(update_clock_start(incident)),
            paused: false,
        };
        out.push(status_of(
            SlaTarget::CustomerUpdate,
            limit,
            percent,
            clock,
            meter,
            now,
        ));
    }
    out
}
