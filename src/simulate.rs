//! Dry runs: who a policy notifies when, for a hypothetical incident, before trusting it.

use std::sync::Mutex;

use chrono::{DateTime, Utc};

use crate::clock::{Clock, ManualClock};
use crate::desk::Desk;
use crate::error::Result;
use crate::lifecycle::{NewIncident, Notification};
use crate::model::Actor;
use crate::notify::{DeliveryError, Notifier};
use crate::policy::Policy;
use crate::store::MemoryStore;

/// One notification a dry run sent, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Simulated {
    /// When it went out.
    pub at: DateTime<Utc>,
    /// What, to whom.
    pub notification: Notification,
}

#[derive(Default)]
struct Collect {
    clock_at: Mutex<Option<DateTime<Utc>>>,
    sent: Mutex<Vec<Simulated>>,
}

impl Notifier for Collect {
    fn deliver(&self, notification: &Notification) -> Result<(), DeliveryError> {
        let at = self
            .clock_at
            .lock()
            .map_err(|_| DeliveryError::new("poisoned"))?
            .unwrap_or(DateTime::UNIX_EPOCH);
        self.sent
            .lock()
            .map_err(|_| DeliveryError::new("poisoned"))?
            .push(Simulated {
                at,
                notification: notification.clone(),
            });
        Ok(())
    }
}

/// Runs `policy` on a hypothetical incident opened at `from` that nobody touches, on a
/// simulated clock, and returns every notification it would send up to `until`: escalation
/// pages, SLA warnings and breaches, customer-update reminders.
///
/// Nothing is stored and no real notifier is called.
///
/// ```
/// use chrono::{Duration, TimeZone, Utc};
/// use incidents::{NewIncident, Policy, Severity, Source, policy::simulate};
///
/// let from = Utc.with_ymd_and_hms(2026, 11, 27, 18, 55, 0).unwrap();
/// let new = NewIncident::new("Till frozen", Severity::Critical, "POS", Source::StaffReport)?;
/// let sent = simulate(&Policy::small_business(), new, from, from + Duration::hours(1))?;
/// assert_eq!(sent[0].at, from); // the owner is paged at once
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// Only if the policy's own timers cannot be recorded, which would be a bug.
pub fn simulate(
    policy: &Policy,
    incident: NewIncident,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<Simulated>> {
    let clock = ManualClock::new(from);
    let desk = Desk::builder(MemoryStore::new(), &clock)
        .policy(policy.clone())
        .build()?;
    desk.open(&Actor::system(), incident)?;
    let notifier = Collect::default();
    loop {
        let now = clock.now();
        *notifier
            .clock_at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(now);
        desk.tick(now)?;
        desk.dispatch(&notifier)?;
        match desk.next_deadline() {
            Some(next) if next <= until && next > now => clock.set(next),
            _ => break,
        }
    }
    Ok(notifier
        .sent
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner))
}
