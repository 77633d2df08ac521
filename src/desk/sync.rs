//! Keeping several desks on one database in step: [`Desk::catch_up`].

use std::sync::atomic::Ordering;

use super::{Desk, lock};
use crate::clock::Clock;
use crate::error::Result;
use crate::incident::Incident;
use crate::model::IncidentId;
use crate::store::Store;

/// How many events [`Desk::catch_up`] reads per request.
const PAGE: usize = 1000;

/// What [`Desk::catch_up`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CatchUp {
    /// Events other desks appended, now applied here.
    pub applied: usize,
    /// Incidents this desk had not seen before.
    pub new_incidents: usize,
    /// Incidents reloaded whole from the store (this desk was further behind on them).
    pub reloaded: usize,
    /// The store position read up to.
    pub position: u64,
}

impl<S: Store, C: Clock> Desk<S, C> {
    /// Reads what other desks sharing the store appended since the last call and applies it
    /// to this desk's projection, timers and indexes. Call it from the host's loop (every few
    /// seconds, or when the database signals a change); a desk alone on its store never needs
    /// it. Commands stay correct without it — a stale desk gets a conflict, reloads and
    /// decides again — but lists, counts and deadlines are only as fresh as the last catch-up.
    ///
    /// Stores without a global order ([`Store::feed`] returns `None`) have nothing to catch
    /// up with; the call then does nothing.
    ///
    /// A new desk starts from the beginning of the store's feed, so its first catch-up reads
    /// every stored event once (and skips those it already has). Progress is saved page by
    /// page (1000 events).
    ///
    /// # Errors
    /// Store errors; what was applied before the error stays applied, and the next call
    /// continues from the last complete page.
    pub fn catch_up(&self) -> Result<CatchUp> {
        let mut report = CatchUp {
            position: self.feed_position.load(Ordering::Acquire),
            ..CatchUp::default()
        };
        let _one_at_a_time = self
            .catch_up_lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        loop {
            let after = self.feed_position.load(Ordering::Acquire);
            let Some(page) = self.store.feed(after, PAGE)? else {
                return Ok(report);
            };
            let Some(last) = page.last().map(|item| item.position) else {
                return Ok(report);
            };
            for item in page {
                let known = self
                    .incidents
                    .read(&item.incident)
                    .get(&item.incident)
                    .cloned();
                match known {
                    None => {
                        self.adopt(item.incident)?;
                        report.new_incidents += 1;
                    }
                    Some(cell) => {
                        let mut slot = lock(&cell);
                        let have = slot.incident.version();
                        if item.version <= have {
                            continue; // this desk appended it, or already caught up
                        }
                        let applied = item.version == have.next()
                            && slot.incident.check_event(&item.event).is_ok();
                        if applied {
                            slot.incident.apply(&item.event)?;
                            self.route_signals(&slot.incident, std::slice::from_ref(&item.event));
                            report.applied += 1;
                        } else {
                            *slot.incident = self.reload(item.incident)?;
                            self.keys().add(&slot.incident);
                            report.reloaded += 1;
                        }
                        self.rearm(&mut slot);
                    }
                }
            }
            self.feed_position.store(last, Ordering::Release);
            report.position = last;
            if report.applied + report.new_incidents + report.reloaded > 0 {
                self.listeners.notify();
            }
        }
    }

    /// Loads an incident another desk opened into the projection.
    fn adopt(&self, id: IncidentId) -> Result<()> {
        let events = self.store.load(id)?;
        if events.is_empty() {
            return Ok(());
        }
        let incident = Incident::replay(id, &events)?;
        self.keys().add(&incident);
        let mut map = self.incidents.write(&id);
        if let std::collections::hash_map::Entry::Vacant(entry) = map.entry(id) {
            entry.insert(self.new_cell(Box::new(incident)));
        }
        Ok(())
    }
}
