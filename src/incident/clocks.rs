//! The incident's clocks and timers: the resolve clock and its pauses for vendors, the
//! escalation clock, and which timers have fired.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::lifecycle::{Change, Event, SlaTarget, Timer};
use crate::text::Text;

/// A time the incident waited on a vendor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct VendorWait {
    /// Who was waited on.
    pub vendor: Text,
    /// Their ticket or case number.
    pub reference: Option<Text>,
    /// When the wait started.
    pub since: DateTime<Utc>,
    /// When it ended; `None` while still waiting.
    pub until: Option<DateTime<Utc>>,
}

/// Which timers have fired, so none fires twice.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FiredTimers {
    /// The last escalation step fired: (cycle, round, step).
    pub escalation: Option<(u32, u32, u32)>,
    /// SLA targets whose at-risk warning fired.
    pub at_risk: Vec<SlaTarget>,
    /// SLA targets whose breach fired.
    pub breached: Vec<SlaTarget>,
    /// The last customer-update reminder fired: (updates posted then, reminder number).
    pub update_reminder: Option<(u32, u32, u32)>,
}

/// A span a clock ran: from, and until (`None` while it runs).
pub(super) type Span = (DateTime<Utc>, Option<DateTime<Utc>>);

/// What the timer checks need to know of the rest of the incident.
pub(super) struct Opening {
    /// Which opening it is in (the reopen count).
    pub(super) cycle: u32,
    /// When that opening began.
    pub(super) started_at: DateTime<Utc>,
    /// How many customer updates were posted.
    pub(super) customer_updates: usize,
}

/// The incident's part that owns its clocks, vendor waits and fired timers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Clocks {
    /// When the resolve clock ran: closed spans, and at most one open one (the last).
    pub(super) resolve_clock: Vec<Span>,
    /// When the escalation chain of the current opening ran: it stops while every monitor
    /// signal has resolved, and runs again when one fires.
    #[serde(default)]
    pub(super) escalation_clock: Vec<Span>,
    pub(super) vendor_waits: Vec<VendorWait>,
    pub(super) fired: FiredTimers,
}

impl Clocks {
    /// The clocks of an incident opened at `at`: both running.
    pub(super) fn opened(at: DateTime<Utc>) -> Clocks {
        Clocks {
            resolve_clock: vec![(at, None)],
            escalation_clock: vec![(at, None)],
            vendor_waits: Vec::new(),
            fired: FiredTimers::default(),
        }
    }

    /// The vendor being waited on right now, if any.
    pub(super) fn waiting_on(&self) -> Option<&VendorWait> {
        self.vendor_waits.last().filter(|w| w.until.is_none())
    }

    /// Why `event` cannot happen here, if it cannot: a wait ends that is not running, or a
    /// timer fires out of order or twice.
    pub(super) fn check(&self, event: &Event, opening: &Opening) -> Option<String> {
        match &event.change {
            Change::VendorWaitEnded { .. } if self.waiting_on().is_none() => {
                Some("a vendor wait ends but none is running".into())
            }
            Change::TimerFired { timer } => self.check_timer(timer, opening),
            _ => None,
        }
    }

    fn check_timer(&self, timer: &Timer, opening: &Opening) -> Option<String> {
        match timer {
            Timer::Escalation {
                cycle, round, step, ..
            } => {
                let after_last = match self.fired.escalation {
                    Some(last) if last.0 == *cycle => (*round, *step) > (last.1, last.2),
                    _ => true,
                };
                (*cycle != opening.cycle || !after_last).then(|| {
                    format!("escalation step {cycle}/{round}/{step} is out of order or repeated")
                })
            }
            Timer::SlaAtRisk { target, .. } => self
                .fired
                .at_risk
                .contains(target)
                .then(|| format!("{target} at-risk fired twice")),
            Timer::SlaBreached { target, .. } => self
                .fired
                .breached
                .contains(target)
                .then(|| format!("{target} breach fired twice")),
            Timer::CustomerUpdateDue {
                cycle,
                after_updates,
                reminder,
                ..
            } => {
                let fresh = self
                    .fired
                    .update_reminder
                    .is_none_or(|last| (*cycle, *after_updates, *reminder) > last);
                (*cycle != opening.cycle
                    || *after_updates as usize != opening.customer_updates
                    || !fresh)
                    .then(|| "customer update reminder out of order or repeated".into())
            }
            // One auto-resolve per opening: the quiet period counts signals of this opening.
            Timer::QuietPeriodOver { last_signal } => (*last_signal < opening.started_at)
                .then(|| "quiet period over signals of an earlier opening".into()),
            // Follow-ups belong to the people part, notice warnings to the breach.
            Timer::FollowUpOverdue { .. }
            | Timer::NoticeAtRisk { .. }
            | Timer::NoticeOverdue { .. } => None,
        }
    }

    /// Folds `event`.
    pub(super) fn apply(&mut self, event: &Event) {
        match &event.change {
            Change::Resolved { .. } | Change::MergedInto { .. } => {
                self.end_vendor_wait(event.at);
                self.stop_resolve_clock(event.at);
            }
            Change::Reopened { .. } => {
                super::push_small(&mut self.resolve_clock, (event.at, None));
                self.escalation_clock = vec![(event.at, None)];
            }
            Change::VendorWaitStarted { vendor, reference } => {
                self.end_vendor_wait(event.at);
                self.stop_resolve_clock(event.at);
                super::push_small(
                    &mut self.vendor_waits,
                    VendorWait {
                        vendor: vendor.clone(),
                        reference: reference.clone(),
                        since: event.at,
                        until: None,
                    },
                );
            }
            Change::VendorWaitEnded { .. } => {
                self.end_vendor_wait(event.at);
                super::push_small(&mut self.resolve_clock, (event.at, None));
            }
            Change::TimerFired { timer } => self.fired(timer),
            _ => {}
        }
    }

    fn fired(&mut self, timer: &Timer) {
        match timer {
            Timer::Escalation {
                cycle, round, step, ..
            } => self.fired.escalation = Some((*cycle, *round, *step)),
            Timer::SlaAtRisk { target, .. } => super::push_small(&mut self.fired.at_risk, *target),
            Timer::SlaBreached { target, .. } => {
                #[cfg(feature = "testing")]
                if crate::testing::injected(crate::testing::Bug::ForgetFiredBreach) {
                    return;
                }
                super::push_small(&mut self.fired.breached, *target);
            }
            Timer::CustomerUpdateDue {
                cycle,
                after_updates,
                reminder,
                ..
            } => self.fired.update_reminder = Some((*cycle, *after_updates, *reminder)),
            Timer::QuietPeriodOver { .. }
            | Timer::FollowUpOverdue { .. }
            | Timer::NoticeAtRisk { .. }
            | Timer::NoticeOverdue { .. } => {}
        }
    }

    /// The monitors went quiet (every occurrence resolved) at `at`: escalation rests.
    pub(super) fn rest_escalation(&mut self, at: DateTime<Utc>) {
        if let Some(run) = self.escalation_clock.last_mut().filter(|r| r.1.is_none()) {
            run.1 = Some(at);
        }
    }

    /// A monitor fired again at `at`: escalation runs again.
    pub(super) fn resume_escalation(&mut self, at: DateTime<Utc>) {
        super::push_small(&mut self.escalation_clock, (at, None));
    }

    fn end_vendor_wait(&mut self, at: DateTime<Utc>) {
        if let Some(wait) = self.vendor_waits.last_mut().filter(|w| w.until.is_none()) {
            wait.until = Some(at);
        }
    }

    fn stop_resolve_clock(&mut self, at: DateTime<Utc>) {
        if let Some(run) = self.resolve_clock.last_mut().filter(|r| r.1.is_none()) {
            run.1 = Some(at);
        }
    }
}
