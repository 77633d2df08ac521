//! The fold of an incident's breach events: what was declared, awareness, filings, warnings.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::calendar::Calendar;
use crate::lifecycle::{Change, Event, Timer};
use crate::model::Actor;
use crate::regulatory::{Phase, Regime};
use crate::text::Text;

/// A change of the became-aware instant: who moved it, when, from what, to what, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AwarenessChange {
    /// When it was recorded.
    pub at: DateTime<Utc>,
    /// Who recorded it.
    pub by: Actor,
    /// The instant before.
    pub from: DateTime<Utc>,
    /// The instant after.
    pub to: DateTime<Utc>,
    /// Why.
    pub reason: Text,
}

/// A notice filed for one phase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Filing {
    /// The regime's id.
    pub regime: String,
    /// The phase's id.
    pub phase: String,
    /// When it was recorded as filed.
    pub at: DateTime<Utc>,
    /// Who recorded it.
    pub by: Actor,
    /// The recipient's reference (case number, receipt).
    pub reference: Text,
    /// What was sent.
    pub summary: Text,
    /// The reasons for a late filing, if given.
    pub late_reason: Option<Text>,
}

/// The breach declared on an incident. Built by folding its events; read it with
/// [`Incident::breach`](crate::Incident::breach).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Breach {
    declared_at: DateTime<Utc>,
    declared_by: Actor,
    became_aware: DateTime<Utc>,
    regimes: Vec<Regime>,
    awareness: Vec<AwarenessChange>,
    filings: Vec<Filing>,
    /// Warning keys fired, with when they were recorded.
    warnings: Vec<(DateTime<Utc>, Timer)>,
}

/// One phase's clock as it stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PhaseClock<'a> {
    /// The regime.
    pub regime: &'a Regime,
    /// The phase.
    pub phase: &'a Phase,
    /// When it falls due (`None`: too far out to represent).
    pub due: Option<DateTime<Utc>>,
    /// When its at-risk warning falls due.
    pub at_risk: Option<DateTime<Utc>>,
    /// Its filing, if filed.
    pub filed: Option<&'a Filing>,
    /// Whether its at-risk warning was recorded.
    pub warned: bool,
    /// Whether its overdue warning was recorded.
    pub overdue: bool,
}

impl PhaseClock<'_> {
    /// Whether it was filed after its deadline.
    pub fn filed_late(&self) -> bool {
        matches!((self.filed, self.due), (Some(f), Some(due)) if f.at > due)
    }
}

impl Breach {
    /// When the breach was declared.
    pub fn declared_at(&self) -> DateTime<Utc> {
        self.declared_at
    }
    /// Who declared it.
    pub fn declared_by(&self) -> &Actor {
        &self.declared_by
    }
    /// When the business became aware of it, as it stands now: the clocks count from here.
    pub fn became_aware(&self) -> DateTime<Utc> {
        self.became_aware
    }
    /// The regimes declared, with the phases they had when declared.
    pub fn regimes(&self) -> &[Regime] {
        &self.regimes
    }
    /// Every change of the became-aware instant, oldest first.
    pub fn awareness_changes(&self) -> &[AwarenessChange] {
        &self.awareness
    }
    /// Every filing, oldest first.
    pub fn filings(&self) -> &[Filing] {
        &self.filings
    }
    /// Every warning recorded (at-risk and overdue timers), with when, oldest first.
    pub fn warnings(&self) -> &[(DateTime<Utc>, Timer)] {
        &self.warnings
    }

    /// The filing of `regime`'s phase `phase`, if filed.
    pub fn filing(&self, regime: &str, phase: &str) -> Option<&Filing> {
        self.filings
            .iter()
            .find(|f| f.regime == regime && f.phase == phase)
    }

    /// The regime `regime`'s phase `phase`, if declared.
    pub fn phase(&self, regime: &str, phase: &str) -> Option<(&Regime, &Phase)> {
        let r = self.regimes.iter().find(|r| r.id == regime)?;
        Some((r, r.phase(phase)?))
    }

    /// Every declared phase's clock, in declaration order; deadlines counted on `calendar`
    /// (the policy's).
    pub fn clocks<'a>(&'a self, calendar: &Calendar) -> Vec<PhaseClock<'a>> {
        let mut out = Vec::new();
        for regime in &self.regimes {
            for phase in &regime.phases {
                let due = phase.deadline.due(self.became_aware, calendar);
                let fired = |overdue: bool| {
                    self.warnings.iter().any(|(_, t)| match t {
                        Timer::NoticeAtRisk {
                            regime: r,
                            phase: p,
                            ..
                        } => !overdue && *r == regime.id && *p == phase.id,
                        Timer::NoticeOverdue {
                            regime: r,
                            phase: p,
                            ..
                        } => overdue && *r == regime.id && *p == phase.id,
                        _ => false,
                    })
                };
                out.push(PhaseClock {
                    regime,
                    phase,
                    due,
                    at_risk: due.map(|d| Phase::at_risk(self.became_aware, d)),
                    filed: self.filing(&regime.id, &phase.id),
                    warned: fired(false),
                    overdue: fired(true),
                });
            }
        }
        out
    }

    /// Whether every declared phase is filed.
    pub fn all_filed(&self) -> bool {
        self.regimes
            .iter()
            .all(|r| r.phases.iter().all(|p| self.filing(&r.id, &p.id).is_some()))
    }
}

/// Whether filing `regime`'s phase `phase` on `incident` at `now` would be late while the
/// phase needs reasons for a late filing.
pub(crate) fn late_without_reason(
    incident: &crate::incident::Incident,
    regime: &str,
    phase: &str,
    calendar: &Calendar,
    now: DateTime<Utc>,
) -> bool {
    let Some(breach) = incident.breach() else {
        return false;
    };
    let Some((_, p)) = breach.phase(regime, phase) else {
        return false;
    };
    let at = now.max(incident.updated_at());
    p.late_needs_reason
        && p.deadline
            .due(breach.became_aware, calendar)
            .is_some_and(|due| at > due)
}

/// The breach part of an incident: checks and folds breach events and notice warnings. Boxed:
/// most incidents never have one, and an unboxed `Breach` made every incident 150 bytes larger.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct BreachPart(pub(crate) Option<Box<Breach>>);

impl BreachPart {
    /// Whether no breach is declared (the incident's JSON then leaves `breach` out).
    pub(crate) fn is_none(&self) -> bool {
        self.0.is_none()
    }

    /// Why `event` cannot happen to this breach, if it cannot.
    pub(crate) fn check(&self, event: &Event) -> Option<String> {
        let breach = self.0.as_deref();
        match (&event.change, breach) {
            (Change::BreachDeclared { .. }, Some(_)) => Some("a breach is already declared".into()),
            (Change::BreachDeclared { regimes, .. }, None) => {
                crate::regulatory::validate_all(regimes)
                    .err()
                    .map(|e| e.to_string())
            }
            (
                Change::BecameAwareSet { .. }
                | Change::NoticeFiled { .. }
                | Change::TimerFired {
                    timer: Timer::NoticeAtRisk { .. } | Timer::NoticeOverdue { .. },
                },
                None,
            ) => Some("no breach is declared".into()),
            (Change::BecameAwareSet { from, .. }, Some(b)) => (*from != b.became_aware)
                .then(|| format!("awareness moved from {from}, but it is {}", b.became_aware)),
            (Change::NoticeFiled { regime, phase, .. }, Some(b)) => {
                if b.phase(regime, phase).is_none() {
                    Some(format!("no phase {phase} of regime {regime} is declared"))
                } else {
                    b.filing(regime, phase)
                        .map(|_| format!("{regime}/{phase} is already filed"))
                }
            }
            (
                Change::TimerFired {
                    timer:
                        timer @ (Timer::NoticeAtRisk { regime, phase, .. }
                        | Timer::NoticeOverdue { regime, phase, .. }),
                },
                Some(b),
            ) => {
                if b.phase(regime, phase).is_none() {
                    Some(format!("no phase {phase} of regime {regime} is declared"))
                } else if b.warnings.iter().any(|(_, t)| t.key() == timer.key()) {
                    Some(format!("{} fired twice", timer.key()))
                } else {
                    None
                }
            }
            _ => None,
        }
    }

    /// Folds a checked event.
    pub(crate) fn apply(&mut self, event: &Event) {
        match (&event.change, &mut self.0) {
            (
                Change::BreachDeclared {
                    regimes,
                    became_aware,
                },
                None,
            ) => {
                self.0 = Some(Box::new(Breach {
                    declared_at: event.at,
                    declared_by: event.actor.clone(),
                    became_aware: *became_aware,
                    regimes: regimes.clone(),
                    awareness: Vec::new(),
                    filings: Vec::new(),
                    warnings: Vec::new(),
                }));
            }
            (Change::BecameAwareSet { from, to, reason }, Some(b)) => {
                b.became_aware = *to;
                crate::incident::push_small(
                    &mut b.awareness,
                    AwarenessChange {
                        at: event.at,
                        by: event.actor.clone(),
                        from: *from,
                        to: *to,
                        reason: reason.clone(),
                    },
                );
            }
            (
                Change::NoticeFiled {
                    regime,
                    phase,
                    reference,
                    summary,
                    late_reason,
                },
                Some(b),
            ) => crate::incident::push_small(
                &mut b.filings,
                Filing {
                    regime: regime.clone(),
                    phase: phase.clone(),
                    at: event.at,
                    by: event.actor.clone(),
                    reference: reference.clone(),
                    summary: summary.clone(),
                    late_reason: late_reason.clone(),
                },
            ),
            (
                Change::TimerFired {
                    timer: timer @ (Timer::NoticeAtRisk { .. } | Timer::NoticeOverdue { .. }),
                },
                Some(b),
            ) => crate::incident::push_small(&mut b.warnings, (event.at, timer.clone())),
            _ => {}
        }
    }
}
