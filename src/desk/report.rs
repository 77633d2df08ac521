//! Reports from the desk: incidents rebuilt as they stood at the window's end.

use crate::clock::Clock;
use crate::error::Result;
use crate::incident::Incident;
use crate::report::{Report, Window, report, report_as_of};
use crate::store::Store;

use super::{Desk, lock};

impl<S: Store, C: Clock> Desk<S, C> {
    /// The [`Report`] of `window` under the desk's policy (see [`report`](crate::report) for
    /// every figure and its population).
    ///
    /// Figures are as of the window's end: every incident opened in the window and changed
    /// at or after its end is rebuilt from its history in the store, replaying only the
    /// events dated before the end, so an incident resolved after the end counts as open and
    /// one reopened after the end counts as resolved. Incidents opened before the window
    /// contribute only dated records (feedback, follow-ups), which are filtered by date;
    /// incidents opened after it contribute nothing.
    ///
    /// A window that has not ended yet by the desk's clock ("this month so far") is reported
    /// as of now: SLA targets are judged now rather than projected to the window's end,
    /// follow-ups count as overdue only once their due time has passed, and
    /// [`Report::as_of`](crate::report::Report::as_of) and a caveat say so.
    ///
    /// ```
    /// use chrono::{Duration, TimeZone, Utc};
    /// use incidents::{Actor, Command, Desk, ManualClock, MemoryStore, NewIncident, Resolution, Role, Severity, Source, report::Window};
    ///
    /// let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 30, 22, 0, 0).unwrap());
    /// let desk = Desk::new(MemoryStore::new(), &clock)?;
    /// let shimon = Actor::new("shimon", "Shimon", Role::Owner)?;
    /// let id = desk.open(&shimon, NewIncident::new("Till offline", Severity::Medium, "POS", Source::StaffReport)?)?.id;
    /// clock.advance(Duration::hours(3)); // into December
    /// desk.act(id, &shimon, Command::resolve(Resolution::Fixed))?;
    ///
    /// let november = desk.report(Window::month(2026, 11, chrono_tz::UTC)?)?;
    /// assert_eq!(november.opened.still_open, 1); // it was still open when November ended
    /// assert_eq!(november.time_to_resolve.wall_clock.count, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// Store errors while loading a history, or [`Error::History`](crate::Error::History) if
    /// one cannot be replayed.
    pub fn report(&self, window: Window) -> Result<Report> {
        let now = self.clock.now();
        if now < window.until() {
            // The window is still in progress: every incident as it stands now is as of now.
            let incidents: Vec<Incident> = self
                .cells()
                .iter()
                .map(|cell| Incident::clone(&lock(cell).incident))
                .collect();
            return Ok(report_as_of(&incidents, self.policy(), window, now));
        }
        let until = window.until();
        let mut incidents: Vec<Incident> = Vec::new();
        let mut stale = Vec::new();
        for cell in &self.cells() {
            let slot = lock(cell);
            let incident = &slot.incident;
            // Anything opened at or after the end can contribute nothing.
            if incident.created_at() >= until {
                continue;
            }
            if window.contains(incident.created_at()) && incident.updated_at() >= until {
                stale.push(incident.id());
            } else {
                incidents.push(Incident::clone(incident));
            }
        }
        for id in stale {
            let events = self.history(id)?;
            let as_of = Incident::replay(id, events.iter().take_while(|e| e.at < until))?;
            incidents.push(as_of);
        }
        Ok(report(&incidents, self.policy(), window))
    }
}
