//! The desk's public status page snapshot (feature `status`).

use chrono::Duration;

use crate::clock::Clock;
use crate::error::Result;
use crate::lifecycle::Event;
use crate::status::{PageSettings, Snapshot};
use crate::store::Store;

use super::{Desk, lock};

impl<S: Store, C: Clock> Desk<S, C> {
    /// What the public status page shows now (the desk's clock): [`Snapshot::build`] over
    /// the incidents that can matter to it.
    ///
    /// Those are picked from the desk's in-memory incidents, without scanning the store: on
    /// a configured component's service, not resolved as a duplicate, and active or resolved
    /// within the last `max(bar_days, history_days)` days. Only their histories are loaded
    /// from the store, so the cost grows with the recent incidents, not with all of them.
    /// Incidents another desk opened on a shared store count once this desk has caught up
    /// ([`catch_up`](Desk::catch_up)).
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use incidents::status::{Component, ComponentStatus, PageSettings};
    /// use incidents::{Actor, Desk, ManualClock, MemoryStore, NewIncident, Role, Severity, Source};
    ///
    /// let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 27, 9, 0, 0).unwrap());
    /// let desk = Desk::new(MemoryStore::new(), clock)?;
    /// let dana = Actor::new("dana", "Dana", Role::Owner)?;
    /// desk.open(&dana, NewIncident::new("PSP down", Severity::Critical, "payments", Source::Alert)?)?;
    /// let settings = PageSettings::new("shop", "Shop", "https://status.shop.example/", "en", chrono_tz::UTC)
    ///     .component(Component::new("payments".parse()?, "Card payments"));
    /// let snapshot = desk.status_snapshot(&settings)?;
    /// assert_eq!(snapshot.components[0].status, ComponentStatus::MajorOutage);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// Store errors while loading the histories.
    pub fn status_snapshot(&self, settings: &PageSettings) -> Result<Snapshot> {
        let at = self.clock.now();
        let days = settings.bar_days.max(settings.history_days);
        let since = at - Duration::days(i64::from(days));
        let mut ids: Vec<_> = self
            .cells()
            .iter()
            .filter_map(|cell| {
                let slot = lock(cell);
                let incident = &slot.incident;
                let shown = settings
                    .components
                    .iter()
                    .any(|c| c.service == *incident.service());
                let recent = incident.resolved_at().is_none_or(|r| r > since);
                (shown && recent && incident.duplicate_of().is_none())
                    .then(|| (incident.created_at(), incident.id()))
            })
            .collect();
        ids.sort_unstable();
        let histories: Vec<Vec<Event>> = ids
            .into_iter()
            .map(|(_, id)| self.store.load(id))
            .collect::<std::result::Result<_, _>>()?;
        Ok(Snapshot::build(
            settings,
            at,
            histories.iter().map(Vec::as_slice),
        ))
    }
}
