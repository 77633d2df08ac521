//! One problem, one incident: [`Desk::merge`].

use super::{CONFLICT_RETRIES, Desk, Receipt, Slot, lock};
use crate::clock::Clock;
use crate::error::{Conflict, Error, Refusal, Rejected, Result};
use crate::incident::Incident;
use crate::lifecycle::{Change, Command, CommandKind, Edge, Event, decide, transition};
use crate::model::{Actor, IncidentId};
use crate::store::{Append, Store};

/// What [`Desk::merge`] recorded: on the duplicate and on the incident it went into.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Merged {
    /// The duplicate, now resolved as a duplicate of the other.
    pub duplicate: Receipt,
    /// The incident that carries on, which recorded the merge.
    pub into: Receipt,
}

impl<S: Store, C: Clock> Desk<S, C> {
    /// Merges incident `duplicate` into incident `into`, which tracks the same problem — the
    /// customer's report and the monitor's alert that opened two incidents for one outage.
    ///
    /// In one atomic append, on behalf of `actor`:
    ///
    /// - `duplicate` is resolved as [a duplicate](crate::Resolution::Duplicate) of `into`:
    ///   its escalations and SLA timers stop, it closes without a review of its own, and
    ///   reports leave it out of the headline times;
    /// - `into` records that it absorbed `duplicate` ([`Incident::merged`]);
    /// - from then on every alert key of `duplicate` leads to `into`: a re-fire records on
    ///   `into` (or reopens it within the reopen window) and never reopens the duplicate.
    ///
    /// Both timelines show the merge. Notifications already queued for the duplicate (a page
    /// that is being retried) are still delivered; nothing new is queued for it. `into` may be resolved already: a later re-fire of the
    /// duplicate's keys then reopens `into` within the reopen window, or opens a recurrence
    /// of it, as for its own keys.
    ///
    /// # Errors
    /// - [`Error::Forbidden`] if `actor` may not merge;
    /// - [`Error::NotFound`] if either incident does not exist;
    /// - [`Error::Rejected`] if `duplicate` is not active (reopen a resolved one first), is
    ///   `into` itself, or `into` is closed or is itself a duplicate of another incident
    ///   (merge into that one instead);
    /// - [`Error::Conflict`] if other desks kept changing either incident; store errors.
    ///
    /// Nothing is recorded on error.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use incidents::{Actor, Desk, ManualClock, MemoryStore, NewIncident, Role, Severity, Source, Status};
    ///
    /// let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 27, 18, 55, 0).unwrap());
    /// let desk = Desk::new(MemoryStore::new(), &clock)?;
    /// let shimon = Actor::new("shimon", "Shimon", Role::Owner)?;
    /// let report = desk.open(&shimon, NewIncident::new("Checkout crashes", Severity::Critical, "online shop", Source::CustomerReport)?)?.id;
    /// let alert = desk.open(&shimon, NewIncident::new("Shop is down", Severity::Critical, "online shop", Source::Alert)?)?.id;
    ///
    /// desk.merge(alert, report, &shimon)?;
    /// assert_eq!(desk.get(alert)?.duplicate_of(), Some(report));
    /// assert_eq!(desk.get(alert)?.status(), Status::Resolved);
    /// assert_eq!(desk.get(report)?.merged(), [alert]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn merge(&self, duplicate: IncidentId, into: IncidentId, actor: &Actor) -> Result<Merged> {
        let command = Command::Merge { into };
        self.authorize(actor, &command)?;
        let dup_cell = self
            .cell(duplicate)?
            .ok_or(Error::NotFound { id: duplicate })?;
        if duplicate == into {
            // `decide` refuses a merge into itself; do not lock the same cell twice.
            let slot = lock(&dup_cell);
            decide(Some(&slot.incident), &command, actor, self.clock.now())?;
            return Err(rejected(&slot.incident, Refusal::MergeIntoItself));
        }
        let into_cell = self.cell(into)?.ok_or(Error::NotFound { id: into })?;
        // Lock in id order, so two merges in opposite directions cannot deadlock.
        let (mut dup_slot, mut into_slot) = if duplicate < into {
            let d = lock(&dup_cell);
            (d, lock(&into_cell))
        } else {
            let i = lock(&into_cell);
            (lock(&dup_cell), i)
        };
        let mut last_conflict = None;
        for _ in 0..CONFLICT_RETRIES {
            match self.try_merge(&command, actor, &mut dup_slot, &mut into_slot) {
                Err(Error::Conflict(conflict)) => {
                    last_conflict = Some(conflict);
                    *dup_slot.incident = self.reload(duplicate)?;
                    *into_slot.incident = self.reload(into)?;
                    self.keys().add(&dup_slot.incident);
                    self.keys().add(&into_slot.incident);
                    self.rearm(&mut dup_slot);
                    self.rearm(&mut into_slot);
                }
                other => return other,
            }
        }
        Err(last_conflict
            .unwrap_or(Conflict {
                incident: duplicate,
                expected: dup_slot.incident.version(),
                actual: dup_slot.incident.version(),
            })
            .into())
    }

    /// Decides, checks and appends one merge attempt against the slots as they stand.
    fn try_merge(
        &self,
        command: &Command,
        actor: &Actor,
        dup: &mut Slot,
        into: &mut Slot,
    ) -> Result<Merged> {
        let now = self.clock.now();
        let target = &into.incident;
        if let Edge::Reject(reason) = transition(Some(target.status()), CommandKind::Absorb) {
            return Err(rejected(target, reason));
        }
        if target.duplicate_of().is_some() {
            return Err(rejected(target, Refusal::TargetIsDuplicate));
        }
        let dup_events = decide(Some(&dup.incident), command, actor, now)?;
        let into_events = vec![Event {
            at: now.max(target.updated_at()),
            actor: actor.clone(),
            change: Change::DuplicateMerged {
                duplicate: dup.incident.id(),
                title: dup.incident.title().clone(),
            },
        }];
        let dup_after = applied(&dup.incident, &dup_events)?;
        let into_after = applied(target, &into_events)?;
        let versions = self.store.append_batch(&[
            Append {
                id: dup.incident.id(),
                expected: dup.incident.version(),
                events: &dup_events,
            },
            Append {
                id: target.id(),
                expected: target.version(),
                events: &into_events,
            },
        ])?;
        self.count_recorded(dup_events.len() + into_events.len());
        let (dup_version, into_version) = match versions.as_slice() {
            [d, i] => (*d, *i),
            _ => (dup_after.version(), into_after.version()),
        };
        *dup.incident = dup_after;
        *into.incident = into_after;
        self.rearm(dup);
        self.rearm(into);
        self.listeners.notify();
        Ok(Merged {
            duplicate: Receipt {
                id: dup.incident.id(),
                version: dup_version,
                events: dup_events,
            },
            into: Receipt {
                id: into.incident.id(),
                version: into_version,
                events: into_events,
            },
        })
    }
}

/// A merge refused because of `incident`'s state.
fn rejected(incident: &Incident, reason: Refusal) -> Error {
    Rejected {
        incident: Some(incident.id()),
        status: Some(incident.status()),
        command: CommandKind::Merge,
        reason,
    }
    .into()
}

/// `incident` with `events` applied, checked before anything reaches the store.
fn applied(incident: &Incident, events: &[Event]) -> Result<Incident> {
    let mut copy = incident.clone();
    for event in events {
        copy.apply(event)?;
    }
    Ok(copy)
}
