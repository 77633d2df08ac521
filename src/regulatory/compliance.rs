//! Per-regime compliance over a window: of the notices that fell due in it, how many were
//! filed on time, filed late, or are still overdue.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::calendar::Calendar;
use crate::incident::Incident;

/// One regime's notices that fell due in a window, by outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RegimeCompliance {
    /// The regime's id.
    pub regime: String,
    /// Notices due in the window.
    pub due: u32,
    /// Filed by their deadline.
    pub on_time: u32,
    /// Filed after their deadline (by the window's end).
    pub late: u32,
    /// Not filed by the window's end.
    pub unfiled: u32,
}

impl RegimeCompliance {
    /// The share of notices filed on time, from 0 to 1; `None` when none fell due.
    pub fn on_time_rate(&self) -> Option<f64> {
        (self.due > 0).then(|| f64::from(self.on_time) / f64::from(self.due))
    }
}

/// Per-regime compliance of `incidents` for the notices falling due in `[from, until)`,
/// deadlines counted on `calendar` (the policy's), outcomes as of `until`; regimes in the
/// order first met. Pure: the incidents as they stand (rebuild them as of `until` for a past
/// window, as [`Desk::report`](crate::Desk::report) does).
pub fn compliance<'a>(
    incidents: impl IntoIterator<Item = &'a Incident>,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    calendar: &Calendar,
) -> Vec<RegimeCompliance> {
    let mut out: Vec<RegimeCompliance> = Vec::new();
    for incident in incidents {
        let Some(breach) = incident.breach() else {
            continue;
        };
        for clock in breach.clocks(calendar) {
            let Some(due) = clock.due.filter(|d| *d >= from && *d < until) else {
                continue;
            };
            if !out.iter().any(|c| c.regime == clock.regime.id) {
                out.push(RegimeCompliance {
                    regime: clock.regime.id.clone(),
                    ..RegimeCompliance::default()
                });
            }
            let Some(entry) = out.iter_mut().find(|c| c.regime == clock.regime.id) else {
                continue;
            };
            entry.due += 1;
            match clock.filed.map(|f| f.at).filter(|at| *at < until) {
                Some(at) if at <= due => entry.on_time += 1,
                Some(_) => entry.late += 1,
                None => entry.unfiled += 1,
            }
        }
    }
    out
}
