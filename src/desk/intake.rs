//! Signals into the desk: [`Desk::ingest`], [`Desk::attach`] and [`Desk::open_once`], and
//! the indexes behind them: which incident each alert key leads to, and which incidents are
//! running on each service.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use super::{CONFLICT_RETRIES, Desk, Receipt, Slot, lock};
use crate::clock::Clock;
use crate::error::{Conflict, Error, Result};
use crate::incident::{Incident, SignalRecord};
use crate::intake::{Alert, Correlate, Ingested, incident_id_for};
use crate::lifecycle::{
    Change, Command, DeliveryId, Event, NewIncident, Recurrence, Signal, SignalState, Status,
    decide,
};
use crate::model::{Actor, IncidentId, Service, Source};
use crate::store::{Store, Version};
use crate::text::Text;

/// How a key reached an incident, in the order that breaks a tie at one instant: an attach
/// by a person wins over a signal intake recorded, which wins over an opening.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Way {
    Opened,
    Signal,
    Attached,
}

/// Where a key reached an incident: when, how, when the incident opened, and which. The key
/// leads to the incident with the greatest; a delivery is said to be on the incident with the
/// greatest among those that have it.
type Reach = (DateTime<Utc>, Way, DateTime<Utc>, IncidentId);

/// What the desk knows about one alert key.
#[derive(Debug, Default)]
struct KeyState {
    /// Each incident the key reached, with the latest [`Reach`] there.
    reached: Vec<Reach>,
    /// Each delivery recorded with this key, and where (the greatest [`Reach`] among the
    /// incidents that have it).
    deliveries: HashMap<DeliveryId, Reach>,
}

/// What the desk knows about keys: each alert key's incidents and deliveries, and idempotency
/// keys to the incident opened with each.
///
/// Everything here is a function of the incidents' histories — the same whether built event
/// by event on a live desk or all at once on a restarted one, in any order — so a restart never
/// changes where a delivery goes.
#[derive(Debug, Default)]
pub(super) struct Keys {
    by_alert: HashMap<String, KeyState>,
    /// Per monitor group, each incident a signal of the group reached, with the latest
    /// [`Reach`] there.
    by_group: HashMap<String, Vec<Reach>>,
    by_idempotency: HashMap<String, IncidentId>,
}

impl Keys {
    /// Notes that `key` reached an incident, and with which delivery (none for an opening).
    fn reach(&mut self, key: &str, reach: Reach, delivery: Option<DeliveryId>) {
        // One lookup for a known key; the key is copied only the first time it is seen.
        let state = match self.by_alert.get_mut(key) {
            Some(state) => state,
            None => self.by_alert.entry(key.to_string()).or_default(),
        };
        match state.reached.iter_mut().find(|r| r.3 == reach.3) {
            Some(existing) => *existing = (*existing).max(reach),
            None => state.reached.push(reach),
        }
        if let Some(delivery) = delivery {
            let at = state.deliveries.entry(delivery).or_insert(reach);
            *at = (*at).max(reach);
        }
    }

    /// Indexes a signal recorded on `incident`.
    fn signal(&mut self, incident: &Incident, record: &SignalRecord) {
        let way = if record.by.role() == crate::model::Role::System {
            Way::Signal
        } else {
            Way::Attached
        };
        let reach = (
            record.received_at,
            way,
            incident.created_at(),
            incident.id(),
        );
        self.reach(&record.signal.key, reach, Some(record.signal.delivery()));
        if let Some(group) = &record.signal.group {
            let reached = match self.by_group.get_mut(group.as_str()) {
                Some(reached) => reached,
                None => self.by_group.entry(group.clone()).or_default(),
            };
            match reached.iter_mut().find(|r| r.3 == reach.3) {
                Some(existing) => *existing = (*existing).max(reach),
                None => reached.push(reach),
            }
        }
    }

    /// Indexes everything about an incident: its keys and deliveries, its idempotency key.
    /// Adding an incident again (after a reload) only adds what is new.
    pub(super) fn add(&mut self, incident: &Incident) {
        if let Some(key) = incident.alert_key() {
            let reach = (
                incident.created_at(),
                Way::Opened,
                incident.created_at(),
                incident.id(),
            );
            self.reach(key, reach, None);
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

    /// The incident a signal of `group` reached last, if any.
    fn group_route(&self, group: &str) -> Option<IncidentId> {
        self.by_group.get(group)?.iter().max().map(|r| r.3)
    }

    /// The incident that has this delivery of `key`, if any.
    fn delivered(&self, key: &str, delivery: &DeliveryId) -> Option<IncidentId> {
        Some(self.by_alert.get(key)?.deliveries.get(delivery)?.3)
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
    ///
    /// A service's sets stay when they empty: the next incident on it reuses them, rather
    /// than each opening and resolution allocating and freeing a map entry and two sets.
    /// They are as many as the services that had an active incident.
    pub(super) fn update(&mut self, service: &Service, id: IncidentId, old: u8, new: u8) {
        let sets = match self.by_service.get_mut(service) {
            Some(sets) => sets,
            None if new != 0 => self.by_service.entry(service.clone()).or_default(),
            None => return,
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
    /// As [`Desk::open`]; [`Error::Invalid`] with field `idempotency key` if the key is longer
    /// than [`TEXT_MAX_CHARS`](crate::limits::TEXT_MAX_CHARS) or breaks the
    /// [one-line rules](crate::Title#text-rules) (a key is one line, trimmed).
    pub fn open_once(
        &self,
        actor: &Actor,
        mut incident: NewIncident,
        idempotency_key: &str,
    ) -> Result<Receipt> {
        let key = crate::text::check_line(
            "idempotency key",
            idempotency_key,
            crate::text::TEXT_MAX_CHARS,
        )?;
        let _guard = self.intake_locks.keys(&[&format!("idempotency/{key}")]);
        let existing = self.keys().by_idempotency.get(key).copied();
        if let Some(id) = existing {
            let version = self.get(id)?.version();
            return Ok(Receipt {
                id,
                version,
                events: Vec::new(),
            });
        }
        incident.idempotency_key = Some(key.to_string());
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
    ///   [`Correlation`](crate::intake::Correlation) (by default: a report from people joins an
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
        let signal = alert.signal();
        // Deliveries of one key (or one monitor group) are decided in turn; others together.
        let _guard = self.intake_locks.for_signal(&signal);
        // A decision is taken on incidents locked one at a time; if one of them changed
        // before it was locked for recording (merged, resolved by a command), decide again.
        let mut changed = None;
        for _ in 0..CONFLICT_RETRIES {
            match self.try_ingest(alert, &signal)? {
                Step::Done(ingested) => return Ok(ingested),
                Step::Again(id) => changed = Some(id),
            }
        }
        let incident = changed.unwrap_or_else(|| incident_id_for(&signal.key, 0, signal.starts_at));
        let version = self.get(incident).map_or(Version::ZERO, |i| i.version());
        Err(Conflict {
            incident,
            expected: version,
            actual: version,
        }
        .into())
    }

    /// One decision on `alert`, under the intake lock.
    fn try_ingest(&self, alert: &Alert, signal: &Signal) -> Result<Step> {
        let now = self.clock.now();
        let key = &signal.key;
        let intake = self.config.policy.intake();
        let maintenance = intake.maintenance_at(alert.service(), now).cloned();
        let ((last, known), seen) = {
            let keys = self.keys();
            let (route, known) = keys.route(key);
            // A key new to the desk follows its group to the incident the group reached.
            let route = route.or_else(|| keys.group_route(signal.group.as_deref()?));
            ((route, known), keys.delivered(key, &signal.delivery()))
        };
        if let Some(id) = seen {
            return Ok(Step::Done(Ingested::Duplicate { id }));
        }

        let (tracked, resolved_at) = match self.on_route(last, signal, maintenance.as_ref(), now)? {
            Routed::Decided(step) => return Ok(step),
            Routed::Past {
                tracked,
                resolved_at,
            } => (tracked, resolved_at),
        };
        if signal.state == SignalState::Resolved {
            return Ok(Step::Done(Ingested::Ignored));
        }
        if let Some(window) = maintenance {
            log::info!("incidents: {key} fired during {window}; no incident opened");
            return Ok(Step::Done(Ingested::Suppressed {
                window,
                recorded_on: None,
            }));
        }
        // Openings on this service that correlation could join each other with are taken in
        // turn, so two reports of one problem arriving together still make one incident.
        let _opening =
            self.intake_locks
                .opening(alert.service(), alert.origin(), intake.correlation.between);
        if let Some((id, cell)) = self.correlate(alert, now)? {
            let mut slot = lock(&cell);
            if !slot.incident.is_active() {
                return Ok(Step::Again(id)); // resolved since it was chosen
            }
            return Ok(
                match self.record_signal(id, &mut slot, signal, false, false, now)? {
                    Recorded::Yes => Step::Done(Ingested::Joined { id }),
                    Recorded::Duplicate => Step::Done(Ingested::Duplicate { id }),
                    Recorded::Changed => Step::Again(id),
                },
            );
        }
        // Resolved or closed, past the reopen window: a recurrence, or a fresh start.
        let recurrence = tracked.and_then(|previous| {
            resolved_at
                .filter(|at| now - *at <= intake.recurrence_window)
                .map(|_| Recurrence {
                    previous,
                    count: u32::try_from(known).unwrap_or(u32::MAX),
                })
        });
        self.open_from_alert(
            alert,
            signal,
            u32::try_from(known).unwrap_or(u32::MAX),
            recurrence,
        )
    }

    /// The delivery `signal` on the incident its key leads to (`last`, followed through
    /// merges), if any: recorded there while it is active, or resolved and the delivery
    /// resolves it again or falls in a maintenance window; reopening it within the reopen
    /// window. Otherwise the incident it tracked, past, and when that was resolved.
    fn on_route(
        &self,
        last: Option<IncidentId>,
        signal: &Signal,
        maintenance: Option<&crate::intake::MaintenanceWindow>,
        now: DateTime<Utc>,
    ) -> Result<Routed> {
        let followed = match last {
            Some(last) => self.follow_merges(last)?,
            None => None,
        };
        let Some((target, cell)) = followed else {
            return Ok(Routed::Past {
                tracked: None,
                resolved_at: None,
            });
        };
        let intake = self.config.policy.intake();
        let mut slot = lock(&cell);
        if slot.incident.duplicate_of().is_some() {
            return Ok(Routed::Decided(Step::Again(target))); // merged since the route was followed
        }
        let incident = &slot.incident;
        let resolved_at = incident.resolution_record().map(|r| r.at);
        let reopen = signal.state == SignalState::Firing
            && maintenance.is_none()
            && incident.status() == Status::Resolved
            && resolved_at.is_some_and(|at| now - at <= intake.reopen_window);
        let record_only = incident.is_active()
            || (incident.status() == Status::Resolved
                && (signal.state == SignalState::Resolved || maintenance.is_some()));
        if !(reopen || record_only) {
            return Ok(Routed::Past {
                tracked: Some(target),
                resolved_at,
            });
        }
        let also_resolved = signal.state == SignalState::Resolved || maintenance.is_some();
        match self.record_signal(target, &mut slot, signal, reopen, also_resolved, now)? {
            Recorded::Yes => {}
            Recorded::Duplicate => {
                return Ok(Routed::Decided(Step::Done(Ingested::Duplicate {
                    id: target,
                })));
            }
            Recorded::Changed => return Ok(Routed::Decided(Step::Again(target))),
        }
        Ok(Routed::Decided(Step::Done(match (maintenance, reopen) {
            (Some(window), _) => Ingested::Suppressed {
                window: window.clone(),
                recorded_on: Some(target),
            },
            (None, true) => Ingested::Reopened { id: target },
            (None, false) => Ingested::Recorded { id: target },
        })))
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
        self.attach_signal(id, actor, alert.signal())
    }

    /// [`attach`](Self::attach) for a signal ([`Command::Attach`] through [`Desk::act`]).
    pub(super) fn attach_signal(
        &self,
        id: IncidentId,
        actor: &Actor,
        signal: Signal,
    ) -> Result<Receipt> {
        let command = Command::Attach { signal };
        self.authorize(actor, &command)?;
        // Routing changes are taken in turn with intake's decisions on the same key.
        let _guard = match &command {
            Command::Attach { signal } => self.intake_locks.for_signal(signal),
            _ => self.intake_locks.keys(&[]),
        };
        let cell = self.cell(id)?.ok_or(Error::NotFound { id })?;
        let mut slot = lock(&cell);
        self.record(id, &mut slot, |incident| {
            Ok(decide(Some(incident), &command, actor, self.clock.now())?)
        })
    }

    /// The incident the key's last incident `last` leads to, following merges (and
    /// resolutions as a duplicate), with its cell; `None` if `last` is unknown. The desk
    /// refuses merges and duplicate resolutions that would close a circle; should stored
    /// histories hold one anyway, the walk stops where it would go round.
    fn follow_merges(&self, last: IncidentId) -> Result<Option<(IncidentId, Arc<Mutex<Slot>>)>> {
        let mut seen: Vec<IncidentId> = Vec::new();
        let mut at = None;
        let mut next = Some(last);
        while let Some(id) = next.take() {
            let Some(cell) = self.cell(id)? else {
                break;
            };
            let into = lock(&cell).incident.duplicate_of();
            seen.push(id);
            at = Some((id, cell));
            match into {
                Some(into) if seen.contains(&into) => {
                    log::warn!("incidents: {id} and {into} are duplicates of each other");
                }
                other => next = other,
            }
        }
        Ok(at)
    }

    /// The active incident `alert` joins under the policy's correlation rule, if any (see
    /// [`Correlation`](crate::intake::Correlation) for the rule).
    fn correlate(
        &self,
        alert: &Alert,
        now: DateTime<Utc>,
    ) -> Result<Option<(IncidentId, Arc<Mutex<Slot>>)>> {
        // Heard from last, then opened first, then the smallest id.
        type Rank = (
            DateTime<Utc>,
            std::cmp::Reverse<(DateTime<Utc>, IncidentId)>,
        );
        let rule = self.config.policy.intake().correlation;
        let wanted = match rule.between {
            Correlate::Off => return Ok(None),
            Correlate::AnySource => MONITORS | PEOPLE,
            Correlate::PeopleAndMonitors => (MONITORS | PEOPLE) & !side(alert.origin()),
        };
        let candidates = self
            .active
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .candidates(alert.service(), wanted);
        let mut best: Option<(Rank, IncidentId, Arc<Mutex<Slot>>)> = None;
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
                (heard, std::cmp::Reverse((incident.created_at(), id)))
            };
            if best.as_ref().is_none_or(|(b, _, _)| rank > *b) {
                best = Some((rank, id, cell));
            }
        }
        Ok(best.map(|(_, id, cell)| (id, cell)))
    }

    /// Records `signal` on the incident in `slot`, reopening it first if `reopen`; a
    /// resolved incident takes it only if `reopen` or `also_resolved` (a resolved signal, a
    /// delivery in maintenance). Says whether it was recorded, found there already (another
    /// desk recorded it first), or not recorded because the incident no longer takes it.
    fn record_signal(
        &self,
        id: IncidentId,
        slot: &mut Slot,
        signal: &Signal,
        reopen: bool,
        also_resolved: bool,
        now: DateTime<Utc>,
    ) -> Result<Recorded> {
        let system = &self.system;
        let changed = std::cell::Cell::new(false);
        let receipt = self.record(id, slot, |incident| {
            let mut events = Vec::new();
            changed.set(false);
            // The desk checked its index for a duplicate; after a conflict the incident is
            // reloaded with what other desks recorded, so check again here.
            if incident.has_signal(signal) {
                return Ok(events);
            }
            // The decision to record here was taken on the incident as this desk held it;
            // the reload after a conflict may show another desk resolved or closed it since.
            // Then the delivery is decided again (a recurrence, a reopening, or nothing).
            let takes = incident.is_active()
                || (incident.status() == Status::Resolved && (reopen || also_resolved));
            if !takes {
                changed.set(true);
                return Ok(events);
            }
            let mut at = now.max(incident.updated_at());
            if reopen && incident.status() == Status::Resolved {
                let reason = Text::new("reason", format!("{} fired again", signal.key))?;
                for event in decide(Some(incident), &Command::Reopen { reason }, system, now)? {
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
        })?;
        Ok(if changed.get() {
            Recorded::Changed
        } else if receipt.events.is_empty() {
            Recorded::Duplicate
        } else {
            Recorded::Yes
        })
    }

    /// Opens the `n`-th incident (from 0) for the alert's key.
    fn open_from_alert(
        &self,
        alert: &Alert,
        signal: &Signal,
        n: u32,
        recurrence: Option<Recurrence>,
    ) -> Result<Step> {
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
        let system = &self.system;
        let command = Command::Open { id, incident: new };
        self.authorize(system, &command)?;
        let mut events = decide(None, &command, system, now)?;
        self.add_playbook_tasks(&mut events);
        let mut incident = Incident::replay(id, &events)?;
        let received = Event {
            at: now,
            actor: system.clone(),
            change: Change::SignalReceived {
                signal: signal.clone(),
            },
        };
        incident.apply(&received)?;
        events.push(received);
        let _opening = self.opens.begin(id);
        match self.store.append(id, Version::ZERO, &events) {
            Ok(_) => self.count_recorded(events.len()),
            // Another desk opened the same deterministic id first: record on theirs.
            Err(Error::Conflict(_)) => {
                let cell = self.cell(id)?.ok_or(Error::NotFound { id })?;
                let mut slot = lock(&cell);
                self.keys().add(&slot.incident);
                return Ok(
                    match self.record_signal(id, &mut slot, signal, false, false, now)? {
                        Recorded::Yes => Step::Done(Ingested::Recorded { id }),
                        Recorded::Duplicate => Step::Done(Ingested::Duplicate { id }),
                        Recorded::Changed => Step::Again(id),
                    },
                );
            }
            Err(other) => return Err(other),
        }
        self.insert(incident);
        self.listeners.notify();
        Ok(Step::Done(match recurrence {
            Some(recurrence) => Ingested::Recurred { id, recurrence },
            None => Ingested::Opened { id },
        }))
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
        let mut keys = self.keys();
        for record in &records[records.len().saturating_sub(new)..] {
            keys.signal(incident, record);
        }
    }

    /// The key indexes. They are changed by whole single inserts, so a poisoned lock still
    /// guards consistent indexes.
    pub(super) fn keys(&self) -> std::sync::MutexGuard<'_, Keys> {
        self.keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// How many stripes the per-key intake locks have.
const KEY_STRIPES: usize = 64;

/// The desk's intake locks: striped per alert key (and monitor group), so that deliveries of
/// one key are decided in turn while other keys proceed — and share the file store's group
/// commit — and, per service, a lock for openings that correlation could join.
#[derive(Debug)]
pub(super) struct IntakeLocks {
    stripes: Box<[Mutex<()>]>,
    openings: Mutex<HashMap<Service, [u32; 2]>>,
    opened: std::sync::Condvar,
}

impl Default for IntakeLocks {
    fn default() -> Self {
        IntakeLocks {
            stripes: (0..KEY_STRIPES).map(|_| Mutex::new(())).collect(),
            openings: Mutex::default(),
            opened: std::sync::Condvar::new(),
        }
    }
}

/// Holds stripes of [`IntakeLocks`] until dropped.
pub(super) struct KeyGuard<'a> {
    _held: Vec<std::sync::MutexGuard<'a, ()>>,
}

/// Holds a place among the openings on a service until dropped.
pub(super) struct OpeningGuard<'a> {
    locks: &'a IntakeLocks,
    held: Option<(Service, usize)>,
}

impl Drop for OpeningGuard<'_> {
    fn drop(&mut self) {
        let Some((service, side)) = self.held.take() else {
            return;
        };
        let mut openings = self.locks.openings();
        if let Some(counts) = openings.get_mut(&service) {
            counts[side] = counts[side].saturating_sub(1);
            if counts == &[0, 0] {
                openings.remove(&service);
            }
        }
        drop(openings);
        self.locks.opened.notify_all();
    }
}

impl IntakeLocks {
    #[allow(
        clippy::cast_possible_truncation,
        reason = "the remainder is below `KEY_STRIPES`, a `usize`"
    )]
    fn stripe(name: &str) -> usize {
        let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
        (hash % KEY_STRIPES as u64) as usize
    }

    /// Locks the stripes of `names`, in stripe order (so two callers never wait on each
    /// other in a circle).
    pub(super) fn keys(&self, names: &[&str]) -> KeyGuard<'_> {
        let mut stripes: Vec<usize> = names.iter().map(|n| Self::stripe(n)).collect();
        stripes.sort_unstable();
        stripes.dedup();
        KeyGuard {
            _held: stripes.into_iter().map(|i| self.lock_stripe(i)).collect(),
        }
    }

    fn lock_stripe(&self, i: usize) -> std::sync::MutexGuard<'_, ()> {
        // Only `()` lives under these locks.
        self.stripes[i]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Locks the stripes of a signal's key and of its group.
    pub(super) fn for_signal(&self, signal: &Signal) -> KeyGuard<'_> {
        match signal.group.as_deref() {
            Some(group) => self.keys(&[&signal.key, &format!("group/{group}")]),
            None => self.keys(&[&signal.key]),
        }
    }

    fn openings(&self) -> std::sync::MutexGuard<'_, HashMap<Service, [u32; 2]>> {
        // Only counters live under this lock.
        self.openings
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Waits until a signal from `origin` may decide to open an incident on `service`: no
    /// opening that correlation could have it join (or that could join it) is under way.
    /// Under [`Correlate::PeopleAndMonitors`] monitors' openings proceed together, as do
    /// people's; under [`Correlate::AnySource`] openings on a service go one at a time; with
    /// correlation off nothing waits.
    pub(super) fn opening(
        &self,
        service: &Service,
        origin: Source,
        rule: Correlate,
    ) -> OpeningGuard<'_> {
        let side = usize::from(origin.is_from_people());
        let blocks = |counts: &[u32; 2]| match rule {
            Correlate::Off => false,
            Correlate::AnySource => counts[0] + counts[1] > 0,
            Correlate::PeopleAndMonitors => counts[1 - side] > 0,
        };
        if rule == Correlate::Off {
            return OpeningGuard {
                locks: self,
                held: None,
            };
        }
        let mut openings = self.openings();
        while openings.get(service).is_some_and(blocks) {
            openings = self
                .opened
                .wait(openings)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        openings.entry(service.clone()).or_default()[side] += 1;
        OpeningGuard {
            locks: self,
            held: Some((service.clone(), side)),
        }
    }
}

/// What the incident a delivery's key leads to made of it.
enum Routed {
    /// The delivery was decided there.
    Decided(Step),
    /// Not there: the incident the key tracked (resolved or closed, past the reopen window),
    /// if any, and when it was resolved, for a recurrence.
    Past {
        tracked: Option<IncidentId>,
        resolved_at: Option<DateTime<Utc>>,
    },
}

/// The outcome of one ingest decision.
/// What [`Desk::record_signal`] did.
enum Recorded {
    Yes,
    /// The incident has the delivery already.
    Duplicate,
    /// The incident no longer takes it (resolved or closed meanwhile): decide again.
    Changed,
}

enum Step {
    Done(Ingested),
    /// An incident the decision rested on changed before it was locked: decide again.
    Again(IncidentId),
}
