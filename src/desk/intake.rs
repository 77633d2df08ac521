//! Signals into the desk: [`Desk::ingest`], [`Desk::attach`] and [`Desk::open_once`], and
//! the indexes behind them: which incident each alert key leads to, and which incidents are
//! running on each service.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use super::{Desk, Receipt, Slot, lock};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::incident::{Incident, SignalRecord};
use crate::intake::{Alert, Correlate, Ingested, incident_id_for};
use crate::lifecycle::{
    Change, Command, Delivery, Event, NewIncident, Recurrence, Signal, SignalState, Status, decide,
};
use crate::model::{Actor, IncidentId, Service, Source};
use crate::store::{Store, Version};
use crate::text::Text;

/// How many merges a key's route follows (an incident merged into one that was merged into
/// another, …) before it stops.
const MAX_MERGE_HOPS: usize = 16;

/// Where a key reached an incident: when, how (0 opened under it, 1 a signal intake
/// recorded, 2 a signal a person attached), when the incident opened, and which. The key
/// leads to the incident with the greatest.
type Reach = (DateTime<Utc>, u8, DateTime<Utc>, IncidentId);

/// What the desk knows about one alert key.
#[derive(Debug, Default)]
struct KeyState {
    /// Each incident the key reached, with the latest [`Reach`] there.
    reached: Vec<Reach>,
    /// Each delivery recorded with this key, and the incident that has it.
    deliveries: HashMap<Delivery, IncidentId>,
}

/// What the desk knows about keys: each alert key's incidents and deliveries, and idempotency
/// keys to the incident opened with each.
///
/// Everything here is a function of the incidents' histories — the same whether built event
/// by event on a live desk or all at once on a restarted one — so a restart never changes
/// where a delivery goes.
#[derive(Debug, Default)]
pub(super) struct Keys {
    by_alert: HashMap<String, KeyState>,
    by_idempotency: HashMap<String, IncidentId>,
}

impl Keys {
    fn reach(&mut self, key: &str, reach: Reach) -> &mut KeyState {
        if !self.by_alert.contains_key(key) {
            self.by_alert.insert(key.to_string(), KeyState::default());
        }
        // Inserted just above if missing.
        let state = self
            .by_alert
            .get_mut(key)
            .unwrap_or_else(|| unreachable!("key state inserted above"));
        match state.reached.iter_mut().find(|r| r.3 == reach.3) {
            Some(existing) => *existing = (*existing).max(reach),
            None => state.reached.push(reach),
        }
        state
    }

    /// Indexes a signal just recorded on `incident`.
    fn signal(&mut self, incident: &Incident, record: &SignalRecord) {
        let how = if record.by.role() == crate::model::Role::System {
            1
        } else {
            2
        };
        let reach = (
            record.received_at,
            how,
            incident.created_at(),
            incident.id(),
        );
        self.reach(&record.signal.key, reach)
            .deliveries
            .insert(record.signal.delivery(), incident.id());
    }

    /// Indexes everything about an incident: its keys and deliveries, its idempotency key.
    pub(super) fn add(&mut self, incident: &Incident) {
        if let Some(key) = incident.alert_key() {
            self.reach(
                key,
                (
                    incident.created_at(),
                    0,
                    incident.created_at(),
                    incident.id(),
                ),
            );
        }
        for record in incident.signals() {
            self.signal(incident, record);
        }
        if let Some(key) = incident.idempotency_key() {
            self.by_idempotency
                .entry(key.to_string())
                .or_insert(incident.id());
        }
    }

    /// The incident `key` leads to (before following merges), and how many incidents it
    /// reached.
    fn route(&self, key: &str) -> (Option<IncidentId>, usize) {
        match self.by_alert.get(key) {
            Some(state) => (state.reached.iter().max().map(|r| r.3), state.reached.len()),
            None => (None, 0),
        }
    }

    /// The incident that has this delivery of `key`, if any.
    fn delivered(&self, key: &str, delivery: &Delivery) -> Option<IncidentId> {
        self.by_alert.get(key)?.deliveries.get(delivery).copied()
    }
}

/// Sides an incident can have heard from, as bits.
const MONITORS: u8 = 1;
const PEOPLE: u8 = 2;

fn side(source: Source) -> u8 {
    if source.is_from_people() {
        PEOPLE
    } else {
        MONITORS
    }
}

/// The sides an incident is listed under in [`Active`]: those it heard from while active,
/// none once resolved.
pub(super) fn sides(incident: &Incident) -> u8 {
    if !incident.is_active() {
        return 0;
    }
    incident.sources().iter().fold(0, |m, s| m | side(*s))
}

/// Active incidents by service and by side, so correlation looks only at incidents that
/// could take a signal, never at all of them.
#[derive(Debug, Default)]
pub(super) struct Active {
    by_service: HashMap<Service, [HashSet<IncidentId>; 2]>,
}

impl Active {
    /// Moves `id` from the sides `old` to the sides `new`.
    pub(super) fn update(&mut self, service: &Service, id: IncidentId, old: u8, new: u8) {
        if new != 0 && !self.by_service.contains_key(service) {
            self.by_service.insert(service.clone(), Default::default());
        }
        let Some(sets) = self.by_service.get_mut(service) else {
            return;
        };
        for (bit, set) in [MONITORS, PEOPLE].into_iter().zip(sets.iter_mut()) {
            match (old & bit != 0, new & bit != 0) {
                (false, true) => {
                    set.insert(id);
                }
                (true, false) => {
                    set.remove(&id);
                }
                (true, true) | (false, false) => {}
            }
        }
        if sets.iter().all(HashSet::is_empty) {
            self.by_service.remove(service);
        }
    }

    /// Active incidents on `service` that heard from any of `wanted`.
    fn candidates(&self, service: &Service, wanted: u8) -> Vec<IncidentId> {
        let Some(sets) = self.by_service.get(service) else {
            return Vec::new();
        };
        let mut out: Vec<IncidentId> = Vec::new();
        for (bit, set) in [MONITORS, PEOPLE].into_iter().zip(sets.iter()) {
            if wanted & bit != 0 {
                out.extend(set.iter().copied());
            }
        }
        out.sort_unstable();
        out.dedup();
        out
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
    /// - otherwise, if an active incident about the same service qualifies under the policy's
    ///   [`Correlation`](crate::Correlation) (by default: a report from people joins an
    ///   incident a monitor raised, and the other way round, within an hour) → the signal
    ///   joins it ([`Ingested::Joined`]);
    /// - resolved (or closed) within the recurrence window → a new incident, linked as a
    ///   recurrence of the last one (and raised in severity by the policy's recurrence rule);
    /// - otherwise → a new incident, at the alert's severity or the policy's default.
    ///
    /// A key "tracks" the incident it reached last: the one opened under it, or the one a
    /// signal with it was recorded on since (joined, or [attached](Desk::attach) by a person).
    /// Two at the same instant are ordered attach, then intake's signal, then opening, then
    /// the incident opened later — so a restarted desk routes exactly as the live one did. If
    /// that incident was merged into another ([`Desk::merge`]) or resolved as its duplicate,
    /// the key leads to the other one: a re-fire records on (or reopens) the incident that
    /// carries on, never the duplicate. The same delivery again is recognised whichever of
    /// the key's incidents has it.
    ///
    /// During a maintenance window of its service, an alert opens and reopens nothing. A
    /// "resolved" alert only ever records on an existing incident. Windows are measured from
    /// the last resolution to the desk's clock, inclusive at their ends.
    ///
    /// Two threads ingesting the same new alert at once open one incident. Incidents opened
    /// from alerts get deterministic ids (from the key, the occurrence and how many incidents
    /// the key had), so two desks sharing a store that ingest the same delivery open one as
    /// well — provided both are caught up ([`Desk::catch_up`]) on the key's earlier incidents;
    /// a desk that is behind may decide differently (open where the other reopens or joins).
    ///
    /// # Errors
    /// Store errors; nothing is recorded.
    pub fn ingest(&self, alert: &Alert) -> Result<Ingested> {
        let now = self.clock.now();
        let signal = alert.signal();
        let key = signal.key.clone();
        let intake = self.config.policy.intake();
        let maintenance = intake.maintenance_at(alert.service(), now).cloned();
        let _guard = self.intake_lock.lock().unwrap_or_else(|e| e.into_inner());
        let ((last, known), seen) = {
            let keys = self.keys_read();
            (keys.route(&key), keys.delivered(&key, &signal.delivery()))
        };
        if let Some(id) = seen {
            return Ok(Ingested::Duplicate { id });
        }

        let mut resolved_at = None;
        let mut tracked = None;
        if let Some(last) = last {
            let chain = self.merge_chain(last)?;
            if let Some((target, cell)) = chain.into_iter().last() {
                let mut slot = lock(&cell);
                let incident = &slot.incident;
                resolved_at = incident.resolution_record().map(|r| r.at);
                let reopen = signal.state == SignalState::Firing
                    && maintenance.is_none()
                    && incident.status() == Status::Resolved
                    && resolved_at.is_some_and(|at| now - at <= intake.reopen_window);
                let record_only = incident.is_active()
                    || (incident.status() == Status::Resolved
                        && (signal.state == SignalState::Resolved || maintenance.is_some()));
                if reopen || record_only {
                    self.record_signal(target, &mut slot, &signal, reopen, now)?;
                    return Ok(match (&maintenance, reopen) {
                        (Some(window), _) => Ingested::Suppressed {
                            window: window.clone(),
                            recorded_on: Some(target),
                        },
                        (None, true) => Ingested::Reopened { id: target },
                        (None, false) => Ingested::Recorded { id: target },
                    });
                }
                tracked = Some(target);
            }
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
        if let Some((id, cell)) = self.correlate(alert, now)? {
            let mut slot = lock(&cell);
            self.record_signal(id, &mut slot, &signal, false, now)?;
            return Ok(Ingested::Joined { id });
        }
        // Resolved or closed, past the reopen window: a recurrence, or a fresh start.
        let recurrence = tracked.and_then(|previous| {
            resolved_at
                .filter(|at| now - *at <= intake.recurrence_window)
                .map(|_| Recurrence {
                    previous,
                    count: known as u32,
                })
        });
        self.open_from_alert(alert, signal, known as u32, recurrence)
    }

    /// Records `alert` on incident `id` by hand, on behalf of `actor` — a customer's report
    /// that belongs to the incident a monitor opened, an alert a monitor raised under
    /// another name — and makes its key lead there: later deliveries with the same key are
    /// recorded on `id` (and reopen it within the reopen window) instead of opening an
    /// incident of their own.
    ///
    /// Attaching a delivery that is already on the incident records nothing and changes
    /// nothing (where the key leads included): routing follows what is recorded, so that a
    /// restarted desk routes exactly as this one does.
    ///
    /// # Errors
    /// [`Error::Forbidden`] if `actor` may not attach signals; [`Error::NotFound`];
    /// [`Error::Rejected`] for a closed incident; store errors. Nothing is recorded.
    pub fn attach(&self, id: IncidentId, actor: &Actor, alert: &Alert) -> Result<Receipt> {
        let command = Command::Attach {
            signal: alert.signal(),
        };
        self.authorize(actor, &command)?;
        let _guard = self.intake_lock.lock().unwrap_or_else(|e| e.into_inner());
        let cell = self.cell(id)?.ok_or(Error::NotFound { id })?;
        let mut slot = lock(&cell);
        self.record(id, &mut slot, |incident| {
            Ok(decide(Some(incident), &command, actor, self.clock.now())?)
        })
    }

    /// The incident the key's last incident leads to, following merges: `(id, cell)` for
    /// `last`, then for each incident it was merged into (at most [`MAX_MERGE_HOPS`], never
    /// the same twice). Empty if `last` is unknown.
    fn merge_chain(&self, last: IncidentId) -> Result<Vec<(IncidentId, Arc<Mutex<Slot>>)>> {
        let mut chain: Vec<(IncidentId, Arc<Mutex<Slot>>)> = Vec::new();
        let mut next = Some(last);
        while let Some(id) = next.take() {
            let Some(cell) = self.cell(id)? else {
                break;
            };
            let into = lock(&cell).incident.duplicate_of();
            chain.push((id, cell));
            if chain.len() < MAX_MERGE_HOPS {
                next = into.filter(|into| chain.iter().all(|(seen, _)| seen != into));
            }
        }
        Ok(chain)
    }

    /// The active incident `alert` joins under the policy's correlation rule, if any (see
    /// [`Correlation`](crate::Correlation) for the rule).
    fn correlate(
        &self,
        alert: &Alert,
        now: DateTime<Utc>,
    ) -> Result<Option<(IncidentId, Arc<Mutex<Slot>>)>> {
        let rule = self.config.policy.intake().correlation;
        let wanted = match rule.between {
            Correlate::Off => return Ok(None),
            Correlate::AnySource => MONITORS | PEOPLE,
            Correlate::PeopleAndMonitors => (MONITORS | PEOPLE) & !side(alert.origin()),
        };
        let candidates = self
            .active
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .candidates(alert.service(), wanted);
        type Best = (
            (
                DateTime<Utc>,
                std::cmp::Reverse<(DateTime<Utc>, IncidentId)>,
            ),
            IncidentId,
        );
        let mut best: Option<(Best, Arc<Mutex<Slot>>)> = None;
        for id in candidates {
            let Some(cell) = self.cell(id)? else {
                continue;
            };
            let rank = {
                let slot = lock(&cell);
                let incident = &slot.incident;
                let heard = incident.last_heard_at();
                let qualifies = incident.is_active()
                    && incident.service() == alert.service()
                    && rule.joins(alert.origin(), incident.sources())
                    && now - heard <= rule.window;
                if !qualifies {
                    continue;
                }
                ((heard, std::cmp::Reverse((incident.created_at(), id))), id)
            };
            if best.as_ref().is_none_or(|(b, _)| rank.0 > b.0) {
                best = Some((rank, cell));
            }
        }
        Ok(best.map(|((_, id), cell)| (id, cell)))
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
            if incident.has_signal(signal) {
                return Ok(events);
            }
            let mut at = now.max(incident.updated_at());
            if reopen && incident.status() == Status::Resolved {
                let reason = Text::new("reason", format!("{} fired again", signal.key))?;
                for event in decide(Some(incident), &Command::Reopen { reason }, &system, now)? {
                    at = at.max(event.at);
                    events.push(event);
                }
            }
            events.push(Event {
                at,
                actor: system.clone(),
                change: Change::SignalReceived {
                    signal: signal.clone(),
                },
            });
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
        if let Some(description) = alert.description() {
            new = new.with_description(description.as_str())?;
        }
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
            change: Change::SignalReceived {
                signal: signal.clone(),
            },
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
                self.record_signal(id, &mut slot, &signal, false, now)?;
                return Ok(Ingested::Recorded { id });
            }
            Err(other) => return Err(other),
        }
        self.insert(incident);
        self.listeners.notify();
        Ok(match recurrence {
            Some(recurrence) => Ingested::Recurred { id, recurrence },
            None => Ingested::Opened { id },
        })
    }

    /// Indexes the signals among `events`, just applied to `incident` (its last signals).
    pub(super) fn route_signals(&self, incident: &Incident, events: &[Event]) {
        let new = events
            .iter()
            .filter(|e| matches!(e.change, Change::SignalReceived { .. }))
            .count();
        if new == 0 {
            return;
        }
        let records = incident.signals();
        let mut keys = self.keys_write();
        for record in &records[records.len().saturating_sub(new)..] {
            keys.signal(incident, record);
        }
    }

    fn keys_read(&self) -> std::sync::MutexGuard<'_, Keys> {
        // `Keys` is changed by single inserts only.
        self.keys.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn keys_write(&self) -> std::sync::MutexGuard<'_, Keys> {
        self.keys.lock().unwrap_or_else(|e| e.into_inner())
    }
}
