//! Signals into the desk: [`Desk::ingest`] and [`Desk::open_once`].

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::{Desk, Receipt, Slot, lock};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::incident::Incident;
use crate::intake::{Alert, Ingested, incident_id_for};
use crate::lifecycle::{
    Change, Command, Event, NewIncident, Recurrence, Signal, SignalState, decide,
};
use crate::model::{Actor, IncidentId};
use crate::store::{Store, Version};
use crate::text::Text;

/// What the desk knows about keys: alert keys and idempotency keys, each to the incidents
/// opened under it, oldest first.
#[derive(Debug, Default)]
pub(super) struct Keys {
    by_alert: HashMap<String, Vec<IncidentId>>,
    by_idempotency: HashMap<String, IncidentId>,
}

impl Keys {
    pub(super) fn add(&mut self, incident: &Incident) {
        if let Some(key) = incident.alert_key() {
            let ids = self.by_alert.entry(key.to_string()).or_default();
            if !ids.contains(&incident.id()) {
                ids.push(incident.id());
            }
        }
        if let Some(key) = incident.idempotency_key() {
            self.by_idempotency
                .entry(key.to_string())
                .or_insert(incident.id());
        }
    }
}

impl<S: Store, C: Clock> Desk<S, C> {
    /// Opens an incident unless one was already opened with the same `idempotency_key` (a
    /// webhook or form submission retried); then returns that one, recording nothing.
    ///
    /// # Errors
    /// As [`Desk::open`]; [`Error::Invalid`] if the key is blank, too long or has control
    /// characters.
    pub fn open_once(
        &self,
        actor: &Actor,
        mut incident: NewIncident,
        idempotency_key: &str,
    ) -> Result<Receipt> {
        let key = Text::new("idempotency key", idempotency_key)?;
        let _guard = self.intake_lock.lock().unwrap_or_else(|e| e.into_inner());
        let existing = self.keys_read().by_idempotency.get(key.as_str()).copied();
        if let Some(id) = existing {
            let version = self.get(id)?.version();
            return Ok(Receipt {
                id,
                version,
                events: Vec::new(),
            });
        }
        incident.idempotency_key = Some(key.as_str().to_string());
        let receipt = self.open(actor, incident)?;
        Ok(receipt)
    }

    /// Takes in an alert from a monitor, or a report from a person, and decides what it
    /// means:
    ///
    /// - the same delivery again (same key, start and state) → nothing ([`Ingested::Duplicate`]);
    /// - an active incident tracks its key → the signal is recorded on it;
    /// - the incident tracking its key was resolved within the reopen window → reopened;
    /// - resolved (or closed) within the recurrence window → a new incident, linked as a
    ///   recurrence of the last one (and raised in severity by the policy's recurrence rule);
    /// - otherwise → a new incident, at the alert's severity or the policy's default.
    ///
    /// During a maintenance window of its service, an alert opens and reopens nothing. A
    /// "resolved" alert only ever records on an existing incident. Windows are measured from
    /// the last resolution to the desk's clock, inclusive at their ends.
    ///
    /// Two threads ingesting the same new alert at once open one incident. Incidents opened
    /// from alerts get deterministic ids (from the key, the occurrence and how many incidents
    /// the key had), so two desks sharing a store that ingest the same delivery open one as
    /// well — provided both are caught up ([`Desk::catch_up`]) on the key's earlier incidents;
    /// a desk that is behind may decide differently (open where the other reopens).
    ///
    /// # Errors
    /// Store errors; nothing is recorded.
    pub fn ingest(&self, alert: &Alert) -> Result<Ingested> {
        let now = self.clock.now();
        let key = alert.key();
        let signal = Signal {
            key: key.clone(),
            starts_at: alert.starts_at(),
            state: alert.state(),
            summary: alert.summary().to_string(),
        };
        let intake = self.config.policy.intake();
        let maintenance = intake.maintenance_at(alert.service(), now).cloned();
        let _guard = self.intake_lock.lock().unwrap_or_else(|e| e.into_inner());
        let known = self
            .keys_read()
            .by_alert
            .get(&key)
            .cloned()
            .unwrap_or_default();

        if let Some(last) = known.last().copied()
            && let Some(cell) = self.cell(last)?
        {
            let mut slot = lock(&cell);
            let incident = &slot.incident;
            let duplicate = incident.signals().iter().any(|r| {
                r.signal.key == signal.key
                    && r.signal.starts_at == signal.starts_at
                    && r.signal.state == signal.state
            });
            if duplicate {
                return Ok(Ingested::Duplicate { id: last });
            }
            let resolved_at = incident.resolution_record().map(|r| r.at);
            let reopen = signal.state == SignalState::Firing
                && maintenance.is_none()
                && incident.status() == crate::lifecycle::Status::Resolved
                && resolved_at.is_some_and(|at| now - at <= intake.reopen_window);
            let record_only = incident.is_active()
                || (incident.status() == crate::lifecycle::Status::Resolved
                    && (signal.state == SignalState::Resolved || maintenance.is_some()));
            if reopen || record_only {
                self.record_signal(last, &mut slot, &signal, reopen, now)?;
                return Ok(match (&maintenance, reopen) {
                    (Some(window), _) => Ingested::Suppressed {
                        window: window.clone(),
                        recorded_on: Some(last),
                    },
                    (None, true) => Ingested::Reopened { id: last },
                    (None, false) => Ingested::Recorded { id: last },
                });
            }
            if signal.state == SignalState::Resolved {
                return Ok(Ingested::Ignored);
            }
            if let Some(window) = maintenance {
                log::info!("incidents: {key} fired during {window}; no incident opened");
                return Ok(Ingested::Suppressed {
                    window,
                    recorded_on: None,
                });
            }
            // Resolved or closed, past the reopen window: a recurrence, or a fresh start.
            let recurrence = resolved_at
                .filter(|at| now - *at <= intake.recurrence_window)
                .map(|_| Recurrence {
                    previous: last,
                    count: known.len() as u32,
                });
            drop(slot);
            return self.open_from_alert(alert, signal, known.len() as u32, recurrence);
        }

        if signal.state == SignalState::Resolved {
            return Ok(Ingested::Ignored);
        }
        if let Some(window) = maintenance {
            log::info!("incidents: {key} fired during {window}; no incident opened");
            return Ok(Ingested::Suppressed {
                window,
                recorded_on: None,
            });
        }
        self.open_from_alert(alert, signal, known.len() as u32, None)
    }

    /// Records `signal` on the incident in `slot`, reopening it first if `reopen`.
    fn record_signal(
        &self,
        id: IncidentId,
        slot: &mut Slot,
        signal: &Signal,
        reopen: bool,
        now: DateTime<Utc>,
    ) -> Result<Receipt> {
        let system = Actor::system();
        self.record(id, slot, |incident| {
            let mut events = Vec::new();
            // The desk re-checked for a duplicate under the incident's lock; after a conflict
            // the incident is reloaded, so check again here.
            let already = incident.signals().iter().rev().any(|r| {
                r.signal.starts_at == signal.starts_at
                    && r.signal.state == signal.state
                    && r.signal.key == signal.key
            });
            if already {
                return Ok(events);
            }
            let mut at = now.max(incident.updated_at());
            if reopen && incident.status() == crate::lifecycle::Status::Resolved {
                let reason = Text::new("reason", format!("{} fired again", signal.key))?;
                for event in decide(Some(incident), &Command::Reopen { reason }, &system, now)? {
                    at = at.max(event.at);
                    events.push(event);
                }
            }
            {
                events.push(Event {
                    at,
                    actor: system.clone(),
                    change: Change::SignalReceived {
                        signal: signal.clone(),
                    },
                });
            }
            Ok(events)
        })
    }

    /// Opens the `n`-th incident (from 0) for the alert's key.
    fn open_from_alert(
        &self,
        alert: &Alert,
        signal: Signal,
        n: u32,
        recurrence: Option<Recurrence>,
    ) -> Result<Ingested> {
        let intake = self.config.policy.intake();
        let mut severity = alert.severity().unwrap_or(intake.default_severity);
        if let (Some(rule), Some(r)) = (intake.recurrence_rule, recurrence)
            && r.count >= rule.from
        {
            severity = severity.max(rule.raise_to);
        }
        let mut new = NewIncident::new(
            alert.summary().clone(),
            severity,
            alert.service().clone(),
            alert.origin(),
        )?;
        new.alert_key = Some(signal.key.clone());
        new.recurrence = recurrence;
        let id = incident_id_for(&signal.key, n, alert.starts_at());
        let now = self.clock.now();
        let system = Actor::system();
        let command = Command::Open { id, incident: new };
        self.authorize(&system, &command)?;
        let mut events = decide(None, &command, &system, now)?;
        self.add_playbook_tasks(&mut events);
        let mut incident = Incident::replay(id, &events)?;
        let received = Event {
            at: now,
            actor: system,
            change: Change::SignalReceived { signal },
        };
        incident.apply(&received)?;
        events.push(received);
        match self.store.append(id, Version::ZERO, &events) {
            Ok(_) => {}
            // Another desk opened the same deterministic id first: record on theirs.
            Err(Error::Conflict(_)) => {
                let cell = self.cell(id)?.ok_or(Error::NotFound { id })?;
                let mut slot = lock(&cell);
                self.keys_write().add(&slot.incident);
                let Change::SignalReceived { signal } = &events[events.len() - 1].change else {
                    return Ok(Ingested::Recorded { id });
                };
                let signal = signal.clone();
                self.record_signal(id, &mut slot, &signal, false, now)?;
                return Ok(Ingested::Recorded { id });
            }
            Err(other) => return Err(other),
        }
        self.insert(incident);
        Ok(match recurrence {
            Some(recurrence) => Ingested::Recurred { id, recurrence },
            None => Ingested::Opened { id },
        })
    }

    fn keys_read(&self) -> std::sync::MutexGuard<'_, Keys> {
        // `Keys` is changed by single inserts only.
        self.keys.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn keys_write(&self) -> std::sync::MutexGuard<'_, Keys> {
        self.keys.lock().unwrap_or_else(|e| e.into_inner())
    }
}
