//! The incident: the fold of its events.
//!
//! [`Incident`] keeps its header (what it is about, when it was last changed, its version)
//! and hands every event to its parts, each of which owns its fields, checks what it owns and
//! folds its own changes: `stage` (the lifecycle position and its openings), `clocks`
//! (resolve and escalation clocks, vendor waits, fired timers), `signals` (what it heard,
//! its alert key, merges), `people` (owner, responders, tasks, reviews, follow-ups,
//! feedback), `record` (root cause, mitigations, notes, customer updates) and `outbox`.
//! Which parts see which change is one exhaustive table, `route::parts`.

mod clocks;
mod outbox;
mod people;
mod record;
mod route;
mod signals;
pub(crate) mod snapshot;
mod stage;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::error::HistoryError;
use crate::lifecycle::{
    Change, Edge, Event, Impact, Recurrence, Resolution, Signal, SignalState, Status, transition,
};
use crate::model::{Actor, IncidentId, Role, Service, Source};
use crate::people::{Feedback, FollowUp, Handover, Task};
use crate::severity::Severity;
use crate::store::Version;
use crate::text::{Text, Title};

pub use clocks::{FiredTimers, VendorWait};
pub use outbox::{Delivery, OutboxEntry};
pub use people::ReviewRecord;
pub use record::Entry;
pub use signals::SignalRecord;
pub use stage::{Closure, ResolutionRecord, Stage};

/// Appends `item` to one of an incident's lists, growing it 1, 2, 4, 8, ... instead of `Vec`'s
/// first step of 4: most lists of a closed incident hold one or two entries (a mitigation, a
/// note), and a projection of a million incidents kept three empty slots in each of them.
/// Amortised O(1) all the same.
pub(crate) fn push_small<T>(list: &mut Vec<T>, item: T) {
    if list.len() == list.capacity() {
        list.reserve_exact(list.len().max(1));
    }
    list.push(item);
}

use clocks::{Clocks, Opening};
use outbox::Outbox;
use people::People;
use record::Record;
use route::{Parts, parts};
use signals::{Quiet, Signals};
use stage::Progress;

/// The outcome of [`Incident::validate`]: an event known to apply, and the stage it enters
/// (`None` if the status stays).
#[derive(Debug)]
pub(crate) struct Validated {
    stage: Option<Stage>,
}

/// An incident as it stands after its events: the fold of its history.
///
/// Built only by replaying events ([`Incident::replay`], [`Incident::apply`]), so every
/// incident value corresponds to a history the lifecycle allows. Read it through the
/// [`Desk`](crate::Desk).
///
/// Invariants (checked by the property tests):
/// - `resolved_at()` is set iff the status is `Resolved` or `Closed`; `closed_at()` iff `Closed`;
/// - `acknowledged_at()` is set whenever the status is `Acknowledged`, `Investigating`,
///   `Identified` or `Monitoring` (it keeps the *first* acknowledgement, for time-to-acknowledge);
/// - `created_at() <= acknowledged_at(), resolved_at(), closed_at() <= updated_at()`;
/// - `version()` is the number of events applied.
///
/// It serializes (for a host's JSON API or export) but does not deserialize: a value read back
/// from JSON could hold a state no history leads to. Keep events and replay them instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Incident {
    id: IncidentId,
    title: Title,
    description: Option<Text>,
    severity: Severity,
    service: Service,
    source: Source,
    opened_by: Actor,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    idempotency_key: Option<String>,
    last_human_action_at: Option<DateTime<Utc>>,
    impact_override: Option<Impact>,
    public_title: Option<Title>,
    version: Version,
    #[serde(flatten)]
    progress: Progress,
    #[serde(flatten)]
    clocks: Clocks,
    #[serde(flatten)]
    signals: Signals,
    #[serde(flatten)]
    people: People,
    #[serde(flatten)]
    record: Record,
    #[serde(flatten)]
    outbox: Outbox,
    #[serde(skip_serializing_if = "crate::regulatory::state::BreachPart::is_none")]
    breach: crate::regulatory::state::BreachPart,
}

impl Incident {
    /// Rebuilds an incident from its complete history.
    ///
    /// # Errors
    /// [`HistoryError`] if the history is empty, does not start with `Opened` for `id`, or
    /// contains an event the lifecycle does not allow where it stands.
    pub fn replay<'a>(
        id: IncidentId,
        events: impl IntoIterator<Item = &'a Event>,
    ) -> Result<Incident, HistoryError> {
        let mut events = events.into_iter();
        let first = events.next().ok_or_else(|| HistoryError {
            incident: id,
            at: Version::ZERO,
            reason: "the history is empty".into(),
        })?;
        let mut incident = Incident::opened(id, first)?;
        for event in events {
            incident.apply(event)?;
        }
        Ok(incident)
    }

    /// Starts an incident from its first event, which must be `Opened` with this `id`.
    ///
    /// # Errors
    /// [`HistoryError`] if the event is not `Opened` or names another id.
    pub fn opened(id: IncidentId, event: &Event) -> Result<Incident, HistoryError> {
        let broken = |reason: String| HistoryError {
            incident: id,
            at: Version::ZERO,
            reason,
        };
        let Change::Opened {
            id: opened_id,
            title,
            description,
            severity,
            service,
            source,
            alert_key,
            idempotency_key,
            recurrence,
        } = &event.change
        else {
            return Err(broken(format!(
                "the first event must be `opened`, found `{}`",
                event.change.command_kind()
            )));
        };
        if *opened_id != id {
            return Err(broken(format!(
                "the opened event names incident {opened_id}"
            )));
        }
        Ok(Incident {
            id,
            title: title.clone(),
            description: description.clone(),
            severity: *severity,
            service: service.clone(),
            source: *source,
            opened_by: event.actor.clone(),
            created_at: event.at,
            updated_at: event.at,
            idempotency_key: idempotency_key.clone(),
            last_human_action_at: (event.actor.role() != Role::System).then_some(event.at),
            impact_override: None,
            public_title: None,
            version: Version::new(1),
            progress: Progress::opened(event.at),
            clocks: Clocks::opened(event.at),
            signals: Signals::opened(*source, alert_key.clone(), *recurrence),
            people: People::default(),
            record: Record::default(),
            outbox: Outbox::default(),
            breach: crate::regulatory::state::BreachPart::default(),
        })
    }

    /// Applies one more event.
    ///
    /// The event must be allowed by the [transition table](crate::lifecycle::transition) in the current
    /// status (an `Ignore` or `Reject` cell means the event could never have been decided) and
    /// must not be dated before the previous event. On error nothing is changed.
    ///
    /// # Errors
    /// [`HistoryError`] saying which event was impossible and why.
    pub fn apply(&mut self, event: &Event) -> Result<(), HistoryError> {
        let checked = self.validate(event)?;
        self.commit(event, checked.stage);
        Ok(())
    }

    /// Checks `event` as [`apply`](Self::apply) would, without changing anything.
    ///
    /// # Errors
    /// The [`HistoryError`] `apply` would return.
    pub fn check_event(&self, event: &Event) -> Result<(), HistoryError> {
        self.validate(event).map(|_| ())
    }

    /// Every check of `apply`; returns what [`commit`](Self::commit) needs to apply it.
    pub(crate) fn validate(&self, event: &Event) -> Result<Validated, HistoryError> {
        let from = self.status();
        let kind = event.change.command_kind();
        let to = match transition(Some(from), kind) {
            Edge::Move(to) => to,
            Edge::Stay => from,
            Edge::Ignore => {
                return Err(self.broken(format!(
                    "a `{kind}` event cannot happen while {from}: that command records nothing there"
                )));
            }
            Edge::Reject(reason) => {
                return Err(self.broken(format!(
                    "a `{kind}` event cannot happen while {from}: {reason}"
                )));
            }
        };
        self.check(event)?;
        let stage = if to == from {
            None
        } else {
            Some(
                self.progress
                    .enter(to, event)
                    .map_err(|reason| self.broken(reason))?,
            )
        };
        Ok(Validated { stage })
    }

    /// Applies an event checked by [`validate`](Self::validate) on this same, unchanged
    /// incident. Nothing here fails.
    pub(crate) fn commit_validated(&mut self, event: &Event, checked: Validated) {
        self.commit(event, checked.stage);
    }

    /// Data-level checks of an event the table allows, each part checking what it owns.
    fn check(&self, event: &Event) -> Result<(), HistoryError> {
        self.check_parts(event, parts(&event.change))
    }

    /// [`check`](Self::check) with the parts `parts` routed to; the header's date check runs
    /// for every event.
    fn check_parts(&self, event: &Event, parts: Parts) -> Result<(), HistoryError> {
        let opening = Opening {
            cycle: self.progress.reopen_count,
            started_at: self.progress.cycle_started_at,
            customer_updates: self.record.customer_updates.len(),
        };
        let checks: [(Parts, &dyn Fn() -> Option<String>); 6] = [
            (Parts::BREACH, &|| self.breach.check(event)),
            (Parts::HEADER, &|| self.check_header(event)),
            (Parts::CLOCKS, &|| self.clocks.check(event, &opening)),
            (Parts::SIGNALS, &|| self.signals.check(event, self.id)),
            (Parts::PEOPLE, &|| self.people.check(event)),
            (Parts::OUTBOX, &|| self.outbox.check(event)),
        ];
        let problem = self.check_date(event).or_else(|| {
            checks
                .iter()
                .filter(|(part, _)| parts.has(*part))
                .find_map(|(_, check)| check())
        });
        match problem {
            Some(reason) => Err(self.broken(reason)),
            None => Ok(()),
        }
    }

    /// Events never go back in time.
    fn check_date(&self, event: &Event) -> Option<String> {
        (event.at < self.updated_at).then(|| {
            format!(
                "the event at {} is dated before the previous event at {}",
                event.at, self.updated_at
            )
        })
    }

    /// A severity change starts from the severity there is; the public impact and title
    /// change to something other than what is set (setting what is set records nothing).
    fn check_header(&self, event: &Event) -> Option<String> {
        match &event.change {
            Change::SeverityChanged { from, .. } if *from != self.severity => Some(format!(
                "severity change from {from}, but the severity is {}",
                self.severity
            )),
            Change::ImpactSet { impact } if *impact == self.impact_override => Some(match impact {
                Some(impact) => format!("the public impact is already {impact}"),
                None => "the public impact already follows the severity".into(),
            }),
            Change::PublicTitleSet { title } if *title == self.public_title => Some(match title {
                Some(_) => "the public title is already set to that".into(),
                None => "there is no public title to withdraw".into(),
            }),
            _ => None,
        }
    }

    /// Applies a validated event: each part the table routes it to folds what it owns.
    /// Nothing here fails.
    fn commit(&mut self, event: &Event, entered: Option<Stage>) {
        self.commit_parts(event, entered, parts(&event.change));
    }

    /// [`commit`](Self::commit) with the parts `parts` routed to; entering a stage and the
    /// header's bookkeeping happen for every event.
    fn commit_parts(&mut self, event: &Event, entered: Option<Stage>, parts: Parts) {
        if parts.has(Parts::HEADER) {
            match &event.change {
                Change::SeverityChanged { to, .. } => self.severity = *to,
                Change::ImpactSet { impact } => self.impact_override = *impact,
                Change::PublicTitleSet { title } => self.public_title.clone_from(title),
                _ => {}
            }
        }
        if parts.has(Parts::STAGE) {
            self.progress.apply(event);
        }
        if let Some(stage) = entered {
            self.progress.entered(stage, event.at);
        }
        if parts.has(Parts::CLOCKS) {
            self.clocks.apply(event);
        }
        if parts.has(Parts::SIGNALS) {
            match self.signals.apply(event) {
                // The monitors say it is over: escalation rests until one fires again.
                Some(Quiet::Began) => self.clocks.rest_escalation(event.at),
                Some(Quiet::Ended) => self.clocks.resume_escalation(event.at),
                None => {}
            }
        }
        if parts.has(Parts::PEOPLE) {
            self.people.apply(event);
        }
        if parts.has(Parts::RECORD) {
            self.record.apply(event);
        }
        if parts.has(Parts::OUTBOX) {
            self.outbox.apply(event);
        }
        if parts.has(Parts::BREACH) {
            self.breach.apply(event);
        }
        if event.actor.role() != Role::System {
            self.last_human_action_at = Some(event.at);
        }
        self.updated_at = event.at;
        self.version = self.version.next();
    }

    fn broken(&self, reason: String) -> HistoryError {
        HistoryError {
            incident: self.id,
            at: self.version,
            reason,
        }
    }

    /// The id.
    pub fn id(&self) -> IncidentId {
        self.id
    }
    /// The title.
    pub fn title(&self) -> &Title {
        &self.title
    }
    /// The description, if one was given.
    pub fn description(&self) -> Option<&Text> {
        self.description.as_ref()
    }
    /// The current severity.
    pub fn severity(&self) -> Severity {
        self.severity
    }
    /// The affected service.
    pub fn service(&self) -> &Service {
        &self.service
    }
    /// The impact a person set for the public status page ([`Command::SetImpact`]), if one
    /// is set.
    ///
    /// [`Command::SetImpact`]: crate::lifecycle::Command::SetImpact
    pub fn impact_override(&self) -> Option<Impact> {
        self.impact_override
    }
    /// How the incident affects its service's customers now: the override if a person set
    /// one, else what the current severity maps to ([`Impact::of_severity`]).
    pub fn impact(&self) -> Impact {
        self.impact_override
            .unwrap_or_else(|| Impact::of_severity(self.severity))
    }
    /// The title the public status page shows ([`Command::SetPublicTitle`]), if one is set.
    /// The incident's own [`title`](Self::title) is internal.
    ///
    /// [`Command::SetPublicTitle`]: crate::lifecycle::Command::SetPublicTitle
    pub fn public_title(&self) -> Option<&Title> {
        self.public_title.as_ref()
    }
    /// Where it came from.
    pub fn source(&self) -> Source {
        self.source
    }
    /// Who opened it.
    pub fn opened_by(&self) -> &Actor {
        &self.opened_by
    }
    /// The person leading it, once one is assigned.
    pub fn owner(&self) -> Option<&Actor> {
        self.people.owner.as_ref()
    }
    /// The lifecycle status.
    pub fn status(&self) -> Status {
        self.progress.stage.status()
    }
    /// The status with its stage-specific data (resolution, closure).
    pub fn stage(&self) -> &Stage {
        &self.progress.stage
    }
    /// Whether someone still has work to do (neither resolved nor closed).
    pub fn is_active(&self) -> bool {
        self.status().is_active()
    }
    /// When it was opened.
    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
    /// When it was first acknowledged (explicitly or by starting work on it).
    pub fn acknowledged_at(&self) -> Option<DateTime<Utc>> {
        self.progress.acknowledged_at
    }
    /// When it was resolved; `None` unless resolved or closed (cleared by reopening).
    pub fn resolved_at(&self) -> Option<DateTime<Utc>> {
        self.resolution_record().map(|r| r.at)
    }
    /// The resolution; `None` unless resolved or closed.
    pub fn resolution(&self) -> Option<Resolution> {
        self.resolution_record().map(|r| r.resolution)
    }
    /// The full resolution record; `None` unless resolved or closed.
    pub fn resolution_record(&self) -> Option<&ResolutionRecord> {
        self.progress.stage.resolved()
    }
    /// The closure (summary and lessons learned); `None` unless closed.
    pub fn closure(&self) -> Option<&Closure> {
        self.progress.stage.closure()
    }
    /// When it was closed; `None` unless closed.
    pub fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.closure().map(|c| c.at)
    }
    /// When the last event happened.
    pub fn updated_at(&self) -> DateTime<Utc> {
        self.updated_at
    }
    /// The root cause, once identified (the latest one if revised).
    pub fn root_cause(&self) -> Option<&Text> {
        self.record.root_cause.as_ref()
    }
    /// Mitigations put in place, oldest first.
    pub fn mitigations(&self) -> &[Entry] {
        &self.record.mitigations
    }
    /// Internal notes, oldest first.
    pub fn notes(&self) -> &[Entry] {
        &self.record.notes
    }
    /// Updates posted for customers, oldest first.
    pub fn customer_updates(&self) -> &[Entry] {
        &self.record.customer_updates
    }
    /// How many times it was reopened.
    pub fn reopen_count(&self) -> u32 {
        self.progress.reopen_count
    }
    /// The number of events in its history.
    pub fn version(&self) -> Version {
        self.version
    }
    /// When it was first resolved (kept across reopenings).
    pub fn first_resolved_at(&self) -> Option<DateTime<Utc>> {
        self.progress.first_resolved_at
    }
    /// When the current opening began: the opening itself, or the last reopening. Escalation
    /// chains run from here.
    pub fn cycle_started_at(&self) -> DateTime<Utc> {
        self.progress.cycle_started_at
    }
    /// When the resolve clock ran: spans `(from, until)`, the last one open (`None`) while it
    /// runs. It runs from opening until resolving, pauses while waiting on a vendor, and
    /// continues after reopening.
    pub fn resolve_clock(&self) -> &[(DateTime<Utc>, Option<DateTime<Utc>>)] {
        &self.clocks.resolve_clock
    }
    /// When the current opening's escalation chain ran: spans `(from, until)`, the last open
    /// (`None`) while it runs. It starts with the opening, rests while every monitor signal
    /// on the incident has resolved, and runs again when one fires.
    pub fn escalation_clock(&self) -> &[(DateTime<Utc>, Option<DateTime<Utc>>)] {
        &self.clocks.escalation_clock
    }
    /// Every wait on a vendor, oldest first.
    pub fn vendor_waits(&self) -> &[VendorWait] {
        &self.clocks.vendor_waits
    }
    /// The vendor being waited on right now, if any.
    pub fn waiting_on(&self) -> Option<&VendorWait> {
        self.clocks.waiting_on()
    }
    /// Which timers have fired.
    pub fn fired_timers(&self) -> &FiredTimers {
        &self.clocks.fired
    }
    /// The alert key (`source/fingerprint`) this incident tracks, if an alert or report
    /// opened it.
    pub fn alert_key(&self) -> Option<&str> {
        self.signals.alert_key.as_deref()
    }
    /// The idempotency key it was opened with, if any.
    pub fn idempotency_key(&self) -> Option<&str> {
        self.idempotency_key.as_deref()
    }
    /// The earlier incident this one is a recurrence of.
    pub fn recurrence(&self) -> Option<Recurrence> {
        self.signals.recurrence
    }
    /// Every signal recorded on it, in arrival order.
    pub fn signals(&self) -> &[SignalRecord] {
        &self.signals.signals
    }
    /// Whether this delivery (the same key, occurrence start and state) is recorded on it.
    pub fn has_signal(&self, signal: &Signal) -> bool {
        self.signals.has(signal)
    }
    /// The sources it heard from: how it was opened, then the origin of each signal recorded
    /// on it (distinct, in the order first seen).
    pub fn sources(&self) -> &[Source] {
        &self.signals.sources
    }
    /// Everyone who reported it (from reports recorded on it), in the order they reported,
    /// each once.
    pub fn reporters(&self) -> Vec<&crate::model::Reporter> {
        let mut out: Vec<&crate::model::Reporter> = Vec::new();
        for reporter in self
            .signals
            .signals
            .iter()
            .filter_map(|r| r.signal.reporter.as_ref())
        {
            if !out.contains(&reporter) {
                out.push(reporter);
            }
        }
        out
    }
    /// The incident this one was merged into (or resolved as a duplicate of), while that is
    /// its resolution.
    pub fn duplicate_of(&self) -> Option<IncidentId> {
        match self.resolution()? {
            Resolution::Duplicate { of } => Some(of),
            Resolution::Fixed
            | Resolution::Workaround
            | Resolution::FalseAlarm
            | Resolution::AutoResolved => None,
        }
    }
    /// The incidents merged into this one, oldest first.
    pub fn merged(&self) -> &[IncidentId] {
        &self.signals.merged
    }
    /// How many distinct alert occurrences fired on it.
    pub fn signal_count(&self) -> usize {
        let mut seen: Vec<(&str, DateTime<Utc>)> = self
            .signals
            .signals
            .iter()
            .filter(|r| r.signal.state == SignalState::Firing)
            .map(|r| (r.signal.key.as_str(), r.signal.starts_at))
            .collect();
        seen.sort();
        seen.dedup();
        seen.len()
    }
    /// When the first and the last signal arrived.
    pub fn signals_seen(&self) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        Some((
            self.signals.signals.first()?.received_at,
            self.signals.signals.last()?.received_at,
        ))
    }
    /// When it was last heard from: its latest signal's arrival, or its opening if later
    /// (or if it has no signals).
    pub fn last_heard_at(&self) -> DateTime<Utc> {
        self.signals
            .signals
            .last()
            .map_or(self.created_at, |r| r.received_at.max(self.created_at))
    }
    /// Whether monitors (alerts, proactive checks) fired on it and every occurrence that fired
    /// has reported resolved. Reports from people do not count: they never resolve.
    pub fn signals_all_resolved(&self) -> bool {
        self.signals.all_resolved()
    }
    /// When a person (any actor but the system) last recorded something on it.
    pub fn last_human_action_at(&self) -> Option<DateTime<Utc>> {
        self.last_human_action_at
    }
    /// The people working the incident besides the owner.
    pub fn responders(&self) -> &[Actor] {
        &self.people.responders
    }
    /// Every change of owner, oldest first (the first assignment included).
    pub fn handovers(&self) -> &[Handover] {
        &self.people.handovers
    }
    /// The incident's tasks, in the order added.
    pub fn tasks(&self) -> &[Task] {
        self.people.tasks()
    }
    /// Task number `number`.
    pub fn task(&self, number: u32) -> Option<&Task> {
        self.people.task(number)
    }
    /// The post-incident reviews recorded, oldest first.
    pub fn reviews(&self) -> &[ReviewRecord] {
        self.people.reviews()
    }
    /// The latest review, if any.
    pub fn review(&self) -> Option<&ReviewRecord> {
        self.people.reviews().last()
    }
    /// Every follow-up action of its reviews, numbered from 1.
    pub fn follow_ups(&self) -> &[FollowUp] {
        self.people.follow_ups()
    }
    /// Follow-up number `number`.
    pub fn follow_up(&self, number: u32) -> Option<&FollowUp> {
        self.people.follow_up(number)
    }
    /// Customers' feedback, oldest first.
    pub fn feedback(&self) -> &[Feedback] {
        self.people.feedback()
    }
    /// How long customers were affected: the time the incident spent unresolved, over all
    /// its openings, up to `now` if it is still active. Vendor waits count: customers wait
    /// too.
    pub fn customer_impact(&self, now: DateTime<Utc>) -> chrono::Duration {
        let current = if self.is_active() {
            (now - self.progress.cycle_started_at).max(chrono::Duration::zero())
        } else {
            chrono::Duration::zero()
        };
        self.progress.unresolved_before + current
    }
    /// The personal-data breach declared on this incident, if any: its regimes, awareness,
    /// filings and warnings ([`regulatory`](crate::regulatory)).
    pub fn breach(&self) -> Option<&crate::regulatory::Breach> {
        self.breach.0.as_deref()
    }

    /// The notifications requested for this incident and where each stands, oldest first.
    pub fn outbox(&self) -> &[OutboxEntry] {
        &self.outbox.outbox
    }
}
