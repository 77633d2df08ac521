//! The incident: the fold of its events.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::HistoryError;
use crate::lifecycle::{
    Change, Edge, Event, Notification, Recurrence, Resolution, Signal, SignalState, SlaTarget,
    Status, Timer, transition,
};
use crate::model::{Actor, IncidentId, Role, Service, Source};
use crate::people::{Feedback, FollowUp, Handover, Review, Task};
use crate::severity::Severity;
use crate::store::Version;
use crate::text::{Text, Title};

/// The outcome of [`Incident::validate`]: an event known to apply, and how.
#[derive(Debug)]
pub(crate) struct Validated {
    to: Status,
    stage: Option<Stage>,
}

/// A dated, attributed piece of text: a note, a mitigation, a customer update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// When it was recorded.
    pub at: DateTime<Utc>,
    /// Who recorded it.
    pub by: Actor,
    /// What it says.
    pub text: Text,
}

/// How and when an incident was resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolutionRecord {
    /// When service was restored.
    pub at: DateTime<Utc>,
    /// Who resolved it.
    pub by: Actor,
    /// How.
    pub resolution: Resolution,
}

/// How and when an incident was closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closure {
    /// When it was closed.
    pub at: DateTime<Utc>,
    /// Who closed it.
    pub by: Actor,
    /// What happened and how it was handled.
    pub summary: Text,
    /// What to do so it does not happen again.
    pub lessons: Text,
}

/// A time the incident waited on a vendor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VendorWait {
    /// Who was waited on.
    pub vendor: Text,
    /// Their ticket or case number.
    pub reference: Option<Text>,
    /// When the wait started.
    pub since: DateTime<Utc>,
    /// When it ended; `None` while still waiting.
    pub until: Option<DateTime<Utc>>,
}

/// Where a requested notification stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Delivery {
    /// Not delivered yet; the next attempt is due at `next_attempt`.
    Pending {
        /// When to try (again).
        next_attempt: DateTime<Utc>,
    },
    /// Delivered.
    Delivered {
        /// When.
        at: DateTime<Utc>,
    },
    /// The outbox gave up after its last attempt failed.
    GaveUp {
        /// When.
        at: DateTime<Utc>,
    },
}

/// A notification in the incident's outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// What to send.
    pub notification: Notification,
    /// When it was requested.
    pub requested_at: DateTime<Utc>,
    /// Failed attempts so far.
    pub attempts: u32,
    /// Where it stands.
    pub delivery: Delivery,
}

/// Which timers have fired, so none fires twice.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FiredTimers {
    /// The last escalation step fired: (cycle, round, step).
    pub escalation: Option<(u32, u32, u32)>,
    /// SLA targets whose at-risk warning fired.
    pub at_risk: Vec<SlaTarget>,
    /// SLA targets whose breach fired.
    pub breached: Vec<SlaTarget>,
    /// The last customer-update reminder fired: (updates posted then, reminder number).
    pub update_reminder: Option<(u32, u32, u32)>,
}

/// The lifecycle position together with the data that only exists there: a resolution exists
/// exactly when the incident is resolved or closed, a closure exactly when it is closed. This
/// makes "resolved without a resolution" unrepresentable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Stage {
    /// See [`Status::Open`].
    Open,
    /// See [`Status::Acknowledged`].
    Acknowledged,
    /// See [`Status::Investigating`].
    Investigating,
    /// See [`Status::Identified`].
    Identified,
    /// See [`Status::Monitoring`].
    Monitoring,
    /// See [`Status::Resolved`].
    Resolved {
        /// The resolution.
        resolved: ResolutionRecord,
    },
    /// See [`Status::Closed`].
    Closed {
        /// The resolution it was closed with.
        resolved: ResolutionRecord,
        /// The closure.
        closure: Closure,
    },
}

impl Stage {
    /// The status of this stage.
    pub const fn status(&self) -> Status {
        match self {
            Stage::Open => Status::Open,
            Stage::Acknowledged => Status::Acknowledged,
            Stage::Investigating => Status::Investigating,
            Stage::Identified => Status::Identified,
            Stage::Monitoring => Status::Monitoring,
            Stage::Resolved { .. } => Status::Resolved,
            Stage::Closed { .. } => Status::Closed,
        }
    }
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    id: IncidentId,
    title: Title,
    description: Option<Text>,
    severity: Severity,
    service: Service,
    source: Source,
    opened_by: Actor,
    owner: Option<Actor>,
    stage: Stage,
    created_at: DateTime<Utc>,
    acknowledged_at: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
    root_cause: Option<Text>,
    mitigations: Vec<Entry>,
    notes: Vec<Entry>,
    customer_updates: Vec<Entry>,
    reopen_count: u32,
    first_resolved_at: Option<DateTime<Utc>>,
    cycle_started_at: DateTime<Utc>,
    /// When the resolve clock ran: closed spans, and at most one open one (the last).
    resolve_clock: Vec<(DateTime<Utc>, Option<DateTime<Utc>>)>,
    /// When the escalation chain of the current opening ran: it stops while every monitor
    /// signal has resolved, and runs again when one fires.
    #[serde(default)]
    escalation_clock: Vec<(DateTime<Utc>, Option<DateTime<Utc>>)>,
    vendor_waits: Vec<VendorWait>,
    fired: FiredTimers,
    outbox: Vec<OutboxEntry>,
    alert_key: Option<String>,
    idempotency_key: Option<String>,
    recurrence: Option<Recurrence>,
    signals: Vec<SignalRecord>,
    /// The sources it heard from: how it was opened, then each signal's origin (distinct, in
    /// the order first seen).
    #[serde(default)]
    sources: Vec<Source>,
    /// Incidents merged into this one, oldest first.
    #[serde(default)]
    merged: Vec<IncidentId>,
    /// Firing occurrences recorded, and how many of them have not reported resolved.
    fired_signals: u32,
    unresolved_signals: u32,
    last_human_action_at: Option<DateTime<Utc>>,
    responders: Vec<Actor>,
    handovers: Vec<Handover>,
    tasks: Vec<Task>,
    reviews: Vec<ReviewRecord>,
    follow_ups: Vec<FollowUp>,
    feedback: Vec<Feedback>,
    /// Time spent unresolved in openings that ended (the current one is added on demand).
    unresolved_before: chrono::Duration,
    version: Version,
}

/// A post-incident review as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewRecord {
    /// When it was recorded.
    pub at: DateTime<Utc>,
    /// Who recorded it.
    pub by: Actor,
    /// The review.
    pub review: Review,
}

/// A signal as recorded on an incident, with when it arrived and who recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignalRecord {
    /// What arrived.
    pub signal: Signal,
    /// When the desk received it.
    pub received_at: DateTime<Utc>,
    /// Who recorded it here: the system for what intake took in, a person for a signal they
    /// [attached](crate::Desk::attach).
    #[serde(default = "Actor::system")]
    pub by: Actor,
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
            owner: None,
            stage: Stage::Open,
            created_at: event.at,
            acknowledged_at: None,
            updated_at: event.at,
            root_cause: None,
            mitigations: Vec::new(),
            notes: Vec::new(),
            customer_updates: Vec::new(),
            reopen_count: 0,
            first_resolved_at: None,
            cycle_started_at: event.at,
            resolve_clock: vec![(event.at, None)],
            escalation_clock: vec![(event.at, None)],
            vendor_waits: Vec::new(),
            fired: FiredTimers::default(),
            outbox: Vec::new(),
            alert_key: alert_key.clone(),
            idempotency_key: idempotency_key.clone(),
            recurrence: *recurrence,
            signals: Vec::new(),
            sources: vec![*source],
            merged: Vec::new(),
            fired_signals: 0,
            unresolved_signals: 0,
            last_human_action_at: (event.actor.role() != Role::System).then_some(event.at),
            responders: Vec::new(),
            handovers: Vec::new(),
            tasks: Vec::new(),
            reviews: Vec::new(),
            follow_ups: Vec::new(),
            feedback: Vec::new(),
            unresolved_before: chrono::Duration::zero(),
            version: Version::new(1),
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
        let (to, stage) = self.validate_inner(event)?;
        self.commit(event, to, stage);
        Ok(())
    }

    /// Checks `event` as [`apply`](Self::apply) would, without changing anything.
    ///
    /// # Errors
    /// The [`HistoryError`] `apply` would return.
    pub fn check_event(&self, event: &Event) -> Result<(), HistoryError> {
        self.validate_inner(event).map(|_| ())
    }

    /// Every check of `apply`; returns what [`commit`](Self::commit) needs to apply it.
    pub(crate) fn validate(&self, event: &Event) -> Result<Validated, HistoryError> {
        self.validate_inner(event)
            .map(|(to, stage)| Validated { to, stage })
    }

    /// Applies an event checked by [`validate`](Self::validate) on this same, unchanged
    /// incident. Nothing here fails.
    pub(crate) fn commit_validated(&mut self, event: &Event, checked: Validated) {
        self.commit(event, checked.to, checked.stage);
    }

    fn validate_inner(&self, event: &Event) -> Result<(Status, Option<Stage>), HistoryError> {
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
        if event.at < self.updated_at {
            return Err(self.broken(format!(
                "the event at {} is dated before the previous event at {}",
                event.at, self.updated_at
            )));
        }
        if let Change::SeverityChanged { from: before, .. } = &event.change
            && *before != self.severity
        {
            return Err(self.broken(format!(
                "severity change from {before}, but the severity is {}",
                self.severity
            )));
        }
        self.check(event)?;
        let stage = if to == from {
            None
        } else {
            Some(self.enter(to, event)?)
        };
        Ok((to, stage))
    }

    /// Applies a validated event. Nothing here fails.
    fn commit(&mut self, event: &Event, to: Status, stage: Option<Stage>) {
        match &event.change {
            Change::Opened { .. }
            | Change::Acknowledged
            | Change::InvestigationStarted
            | Change::Closed { .. } => {}
            Change::Resolved { .. } | Change::MergedInto { .. } => {
                self.first_resolved_at.get_or_insert(event.at);
                self.unresolved_before += event.at - self.cycle_started_at;
                self.end_vendor_wait(event.at);
                self.stop_resolve_clock(event.at);
            }
            Change::OwnerAssigned { owner } => {
                self.handovers.push(Handover {
                    at: event.at,
                    from: self.owner.clone(),
                    to: owner.clone(),
                    by: event.actor.clone(),
                });
                self.owner = Some(owner.clone());
            }
            Change::ResponderAdded { responder } => self.responders.push(responder.clone()),
            Change::ResponderRemoved { responder } => {
                self.responders.retain(|r| r.id() != responder);
            }
            Change::TaskAdded {
                task,
                title,
                assignee,
                playbook,
            } => self.tasks.push(Task {
                number: *task,
                title: title.clone(),
                assignee: assignee.clone(),
                playbook: playbook.clone(),
                done: None,
            }),
            Change::TaskAssigned { task, assignee } => {
                if let Some(t) = self.tasks.iter_mut().find(|t| t.number == *task) {
                    t.assignee = Some(assignee.clone());
                }
            }
            Change::TaskCompleted { task } => {
                if let Some(t) = self.tasks.iter_mut().find(|t| t.number == *task) {
                    t.done = Some((event.at, event.actor.clone()));
                }
            }
            Change::ReviewRecorded { review } => {
                for plan in &review.follow_ups {
                    self.follow_ups.push(FollowUp {
                        number: self.follow_ups.len() as u32 + 1,
                        plan: plan.clone(),
                        done: None,
                        reminded: false,
                    });
                }
                self.reviews.push(ReviewRecord {
                    at: event.at,
                    by: event.actor.clone(),
                    review: review.clone(),
                });
            }
            Change::FollowUpCompleted { follow_up } => {
                if let Some(f) = self.follow_ups.iter_mut().find(|f| f.number == *follow_up) {
                    f.done = Some((event.at, event.actor.clone()));
                }
            }
            Change::FeedbackRecorded { score, comment } => self.feedback.push(Feedback {
                at: event.at,
                by: event.actor.clone(),
                score: *score,
                comment: comment.clone(),
            }),
            Change::RootCauseIdentified { root_cause } => {
                self.root_cause = Some(root_cause.clone());
            }
            Change::Mitigated { action } => self.mitigations.push(Entry {
                at: event.at,
                by: event.actor.clone(),
                text: action.clone(),
            }),
            Change::Reopened { .. } => {
                self.reopen_count += 1;
                self.cycle_started_at = event.at;
                self.resolve_clock.push((event.at, None));
                self.escalation_clock = vec![(event.at, None)];
            }
            Change::SeverityChanged { to, .. } => self.severity = *to,
            Change::NoteAdded { text } => self.notes.push(Entry {
                at: event.at,
                by: event.actor.clone(),
                text: text.clone(),
            }),
            Change::CustomerUpdatePosted { message } => self.customer_updates.push(Entry {
                at: event.at,
                by: event.actor.clone(),
                text: message.clone(),
            }),
            Change::VendorWaitStarted { vendor, reference } => {
                self.end_vendor_wait(event.at);
                self.stop_resolve_clock(event.at);
                self.vendor_waits.push(VendorWait {
                    vendor: vendor.clone(),
                    reference: reference.clone(),
                    since: event.at,
                    until: None,
                });
            }
            Change::VendorWaitEnded { .. } => {
                self.end_vendor_wait(event.at);
                self.resolve_clock.push((event.at, None));
            }
            Change::TimerFired { timer } => match timer {
                Timer::Escalation {
                    cycle, round, step, ..
                } => self.fired.escalation = Some((*cycle, *round, *step)),
                Timer::SlaAtRisk { target, .. } => self.fired.at_risk.push(*target),
                Timer::SlaBreached { target, .. } => self.fired.breached.push(*target),
                Timer::CustomerUpdateDue {
                    cycle,
                    after_updates,
                    reminder,
                    ..
                } => self.fired.update_reminder = Some((*cycle, *after_updates, *reminder)),
                Timer::QuietPeriodOver { .. } => {}
                Timer::FollowUpOverdue { follow_up, .. } => {
                    if let Some(f) = self.follow_ups.iter_mut().find(|f| f.number == *follow_up) {
                        f.reminded = true;
                    }
                }
            },
            Change::DuplicateMerged { duplicate, .. } => self.merged.push(*duplicate),
            Change::SignalReceived { signal } => {
                if !self.sources.contains(&signal.origin) {
                    self.sources.push(signal.origin);
                }
                // Keep count of monitors' occurrences that fired and have not resolved, so the
                // quiet period check is O(1) however long an alert flaps. Reports from people
                // never resolve, so they neither count nor hold an incident open.
                let counted = !signal.origin.is_from_people();
                let was_quiet = self.signals_all_resolved();
                let other = match signal.state {
                    SignalState::Firing => SignalState::Resolved,
                    SignalState::Resolved => SignalState::Firing,
                };
                let seen_other = self.signals.iter().any(|r| {
                    r.signal.state == other
                        && r.signal.starts_at == signal.starts_at
                        && r.signal.key == signal.key
                });
                match (counted, signal.state, seen_other) {
                    (true, SignalState::Firing, false) => self.unresolved_signals += 1,
                    (true, SignalState::Resolved, true) => {
                        self.unresolved_signals = self.unresolved_signals.saturating_sub(1);
                    }
                    (false, _, _)
                    | (true, SignalState::Firing, true)
                    | (true, SignalState::Resolved, false) => {}
                }
                if counted && signal.state == SignalState::Firing {
                    self.fired_signals += 1;
                }
                // The monitors say it is over: escalation rests until one fires again.
                match (was_quiet, self.signals_all_resolved()) {
                    (false, true) => {
                        if let Some(run) =
                            self.escalation_clock.last_mut().filter(|r| r.1.is_none())
                        {
                            run.1 = Some(event.at);
                        }
                    }
                    (true, false) => self.escalation_clock.push((event.at, None)),
                    (true, true) | (false, false) => {}
                }
                self.signals.push(SignalRecord {
                    signal: signal.clone(),
                    received_at: event.at,
                    by: event.actor.clone(),
                });
            }
            Change::NotificationRequested { notification } => self.outbox.push(OutboxEntry {
                notification: notification.clone(),
                requested_at: event.at,
                attempts: 0,
                delivery: Delivery::Pending {
                    next_attempt: event.at,
                },
            }),
            Change::NotificationDelivered { key } => {
                if let Some(entry) = self.outbox.iter_mut().find(|e| e.notification.key == *key) {
                    entry.delivery = Delivery::Delivered { at: event.at };
                }
            }
            Change::NotificationFailed {
                key,
                attempt,
                retry_at,
                ..
            } => {
                if let Some(entry) = self.outbox.iter_mut().find(|e| e.notification.key == *key) {
                    entry.attempts = *attempt;
                    entry.delivery = match retry_at {
                        Some(next_attempt) => Delivery::Pending {
                            next_attempt: *next_attempt,
                        },
                        None => Delivery::GaveUp { at: event.at },
                    };
                }
            }
        }
        if let Some(stage) = stage {
            self.stage = stage;
            if self.acknowledged_at.is_none()
                && matches!(
                    to,
                    Status::Acknowledged
                        | Status::Investigating
                        | Status::Identified
                        | Status::Monitoring
                )
            {
                self.acknowledged_at = Some(event.at);
            }
        }
        if event.actor.role() != Role::System {
            self.last_human_action_at = Some(event.at);
        }
        self.updated_at = event.at;
        self.version = self.version.next();
    }

    /// Data-level checks of an event the table allows: it must not repeat a timer, name an
    /// unknown notification, or end a wait that is not running.
    fn check(&self, event: &Event) -> Result<(), HistoryError> {
        let problem: Option<String> = match &event.change {
            Change::VendorWaitEnded { .. } if self.waiting_on().is_none() => {
                Some("a vendor wait ends but none is running".into())
            }
            Change::TimerFired { timer } => match timer {
                Timer::Escalation {
                    cycle, round, step, ..
                } => {
                    let after_last = match self.fired.escalation {
                        Some(last) if last.0 == *cycle => (*round, *step) > (last.1, last.2),
                        _ => true,
                    };
                    (*cycle != self.reopen_count || !after_last).then(|| {
                        format!(
                            "escalation step {cycle}/{round}/{step} is out of order or repeated"
                        )
                    })
                }
                Timer::SlaAtRisk { target, .. } => self
                    .fired
                    .at_risk
                    .contains(target)
                    .then(|| format!("{target} at-risk fired twice")),
                Timer::SlaBreached { target, .. } => self
                    .fired
                    .breached
                    .contains(target)
                    .then(|| format!("{target} breach fired twice")),
                Timer::CustomerUpdateDue {
                    cycle,
                    after_updates,
                    reminder,
                    ..
                } => {
                    let fresh = self
                        .fired
                        .update_reminder
                        .is_none_or(|last| (*cycle, *after_updates, *reminder) > last);
                    (*cycle != self.reopen_count
                        || *after_updates as usize != self.customer_updates.len()
                        || !fresh)
                        .then(|| "customer update reminder out of order or repeated".into())
                }
                // One auto-resolve per opening: the quiet period counts signals of this opening.
                Timer::QuietPeriodOver { last_signal } => (*last_signal < self.cycle_started_at)
                    .then(|| "quiet period over signals of an earlier opening".into()),
                Timer::FollowUpOverdue { follow_up, .. } => match self.follow_up(*follow_up) {
                    None => Some(format!("reminder for unknown follow-up {follow_up}")),
                    Some(f) if f.reminded => Some(format!("follow-up {follow_up} reminded twice")),
                    Some(_) => None,
                },
            },
            Change::TaskAdded { task, .. } if *task as usize != self.tasks.len() + 1 => {
                Some(format!("task {task} added out of order"))
            }
            Change::TaskAssigned { task, .. } | Change::TaskCompleted { task }
                if self.task(*task).is_none() =>
            {
                Some(format!("no task {task}"))
            }
            Change::FollowUpCompleted { follow_up } if self.follow_up(*follow_up).is_none() => {
                Some(format!("no follow-up {follow_up}"))
            }
            Change::SignalReceived { signal } => self
                .has_signal(signal)
                .then(|| format!("signal {} {} recorded twice", signal.key, signal.state)),
            Change::MergedInto { into } if *into == self.id => {
                Some("an incident cannot be merged into itself".into())
            }
            Change::DuplicateMerged { duplicate, .. } if *duplicate == self.id => {
                Some("an incident cannot absorb itself".into())
            }
            Change::NotificationRequested { notification } => self
                .outbox
                .iter()
                .any(|e| e.notification.key == notification.key)
                .then(|| format!("notification {} requested twice", notification.key)),
            Change::NotificationDelivered { key } | Change::NotificationFailed { key, .. } => {
                match self.outbox.iter().find(|e| e.notification.key == *key) {
                    None => Some(format!("delivery record for unknown notification {key}")),
                    Some(entry) if !matches!(entry.delivery, Delivery::Pending { .. }) => {
                        Some(format!("delivery record for settled notification {key}"))
                    }
                    Some(_) => None,
                }
            }
            _ => None,
        };
        match problem {
            Some(reason) => Err(self.broken(reason)),
            None => Ok(()),
        }
    }

    fn end_vendor_wait(&mut self, at: DateTime<Utc>) {
        if let Some(wait) = self.vendor_waits.last_mut().filter(|w| w.until.is_none()) {
            wait.until = Some(at);
        }
    }

    fn stop_resolve_clock(&mut self, at: DateTime<Utc>) {
        if let Some(run) = self.resolve_clock.last_mut().filter(|r| r.1.is_none()) {
            run.1 = Some(at);
        }
    }

    /// The stage entered when moving to `to` because of `event`.
    fn enter(&self, to: Status, event: &Event) -> Result<Stage, HistoryError> {
        Ok(match to {
            Status::Open => Stage::Open,
            Status::Acknowledged => Stage::Acknowledged,
            Status::Investigating => Stage::Investigating,
            Status::Identified => Stage::Identified,
            Status::Monitoring => Stage::Monitoring,
            Status::Resolved => match &event.change {
                Change::Resolved { resolution } => Stage::Resolved {
                    resolved: ResolutionRecord {
                        at: event.at,
                        by: event.actor.clone(),
                        resolution: *resolution,
                    },
                },
                Change::MergedInto { into } => Stage::Resolved {
                    resolved: ResolutionRecord {
                        at: event.at,
                        by: event.actor.clone(),
                        resolution: Resolution::Duplicate { of: *into },
                    },
                },
                other => {
                    return Err(self.broken(format!(
                        "`{}` cannot resolve an incident",
                        other.command_kind()
                    )));
                }
            },
            Status::Closed => match (&event.change, &self.stage) {
                (Change::Closed { summary, lessons }, Stage::Resolved { resolved }) => {
                    Stage::Closed {
                        resolved: resolved.clone(),
                        closure: Closure {
                            at: event.at,
                            by: event.actor.clone(),
                            summary: summary.clone(),
                            lessons: lessons.clone(),
                        },
                    }
                }
                (other, _) => {
                    return Err(self.broken(format!(
                        "`{}` cannot close an incident that is {}",
                        other.command_kind(),
                        self.status()
                    )));
                }
            },
        })
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
        self.owner.as_ref()
    }
    /// The lifecycle status.
    pub fn status(&self) -> Status {
        self.stage.status()
    }
    /// The status with its stage-specific data (resolution, closure).
    pub fn stage(&self) -> &Stage {
        &self.stage
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
        self.acknowledged_at
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
        match &self.stage {
            Stage::Resolved { resolved } | Stage::Closed { resolved, .. } => Some(resolved),
            Stage::Open
            | Stage::Acknowledged
            | Stage::Investigating
            | Stage::Identified
            | Stage::Monitoring => None,
        }
    }
    /// The closure (summary and lessons learned); `None` unless closed.
    pub fn closure(&self) -> Option<&Closure> {
        match &self.stage {
            Stage::Closed { closure, .. } => Some(closure),
            Stage::Open
            | Stage::Acknowledged
            | Stage::Investigating
            | Stage::Identified
            | Stage::Monitoring
            | Stage::Resolved { .. } => None,
        }
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
        self.root_cause.as_ref()
    }
    /// Mitigations put in place, oldest first.
    pub fn mitigations(&self) -> &[Entry] {
        &self.mitigations
    }
    /// Internal notes, oldest first.
    pub fn notes(&self) -> &[Entry] {
        &self.notes
    }
    /// Updates posted for customers, oldest first.
    pub fn customer_updates(&self) -> &[Entry] {
        &self.customer_updates
    }
    /// How many times it was reopened.
    pub fn reopen_count(&self) -> u32 {
        self.reopen_count
    }
    /// The number of events in its history.
    pub fn version(&self) -> Version {
        self.version
    }
    /// When it was first resolved (kept across reopenings).
    pub fn first_resolved_at(&self) -> Option<DateTime<Utc>> {
        self.first_resolved_at
    }
    /// When the current opening began: the opening itself, or the last reopening. Escalation
    /// chains run from here.
    pub fn cycle_started_at(&self) -> DateTime<Utc> {
        self.cycle_started_at
    }
    /// When the resolve clock ran: spans `(from, until)`, the last one open (`None`) while it
    /// runs. It runs from opening until resolving, pauses while waiting on a vendor, and
    /// continues after reopening.
    pub fn resolve_clock(&self) -> &[(DateTime<Utc>, Option<DateTime<Utc>>)] {
        &self.resolve_clock
    }
    /// When the current opening's escalation chain ran: spans `(from, until)`, the last open
    /// (`None`) while it runs. It starts with the opening, rests while every monitor signal
    /// on the incident has resolved, and runs again when one fires.
    pub fn escalation_clock(&self) -> &[(DateTime<Utc>, Option<DateTime<Utc>>)] {
        &self.escalation_clock
    }
    /// Every wait on a vendor, oldest first.
    pub fn vendor_waits(&self) -> &[VendorWait] {
        &self.vendor_waits
    }
    /// The vendor being waited on right now, if any.
    pub fn waiting_on(&self) -> Option<&VendorWait> {
        self.vendor_waits.last().filter(|w| w.until.is_none())
    }
    /// Which timers have fired.
    pub fn fired_timers(&self) -> &FiredTimers {
        &self.fired
    }
    /// The alert key (`source/fingerprint`) this incident tracks, if an alert or report
    /// opened it.
    pub fn alert_key(&self) -> Option<&str> {
        self.alert_key.as_deref()
    }
    /// The idempotency key it was opened with, if any.
    pub fn idempotency_key(&self) -> Option<&str> {
        self.idempotency_key.as_deref()
    }
    /// The earlier incident this one is a recurrence of.
    pub fn recurrence(&self) -> Option<Recurrence> {
        self.recurrence
    }
    /// Every signal recorded on it, in arrival order.
    pub fn signals(&self) -> &[SignalRecord] {
        &self.signals
    }
    /// Whether this delivery (the same key, occurrence start and state) is recorded on it.
    pub fn has_signal(&self, signal: &Signal) -> bool {
        self.signals
            .iter()
            .rev()
            .any(|r| r.signal.same_delivery(signal))
    }
    /// The sources it heard from: how it was opened, then the origin of each signal recorded
    /// on it (distinct, in the order first seen).
    pub fn sources(&self) -> &[Source] {
        &self.sources
    }
    /// Everyone who reported it (from reports recorded on it), in the order they reported,
    /// each once.
    pub fn reporters(&self) -> Vec<&crate::model::Reporter> {
        let mut out: Vec<&crate::model::Reporter> = Vec::new();
        for reporter in self
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
        &self.merged
    }
    /// How many distinct alert occurrences fired on it.
    pub fn signal_count(&self) -> usize {
        let mut seen: Vec<(&str, DateTime<Utc>)> = self
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
            self.signals.first()?.received_at,
            self.signals.last()?.received_at,
        ))
    }
    /// When it was last heard from: its latest signal's arrival, or its opening if later
    /// (or if it has no signals).
    pub fn last_heard_at(&self) -> DateTime<Utc> {
        self.signals
            .last()
            .map_or(self.created_at, |r| r.received_at.max(self.created_at))
    }
    /// Whether monitors (alerts, proactive checks) fired on it and every occurrence that fired
    /// has reported resolved. Reports from people do not count: they never resolve.
    pub fn signals_all_resolved(&self) -> bool {
        self.fired_signals > 0 && self.unresolved_signals == 0
    }
    /// When a person (any actor but the system) last recorded something on it.
    pub fn last_human_action_at(&self) -> Option<DateTime<Utc>> {
        self.last_human_action_at
    }
    /// The people working the incident besides the owner.
    pub fn responders(&self) -> &[Actor] {
        &self.responders
    }
    /// Every change of owner, oldest first (the first assignment included).
    pub fn handovers(&self) -> &[Handover] {
        &self.handovers
    }
    /// The incident's tasks, in the order added.
    pub fn tasks(&self) -> &[Task] {
        &self.tasks
    }
    /// Task number `number`.
    pub fn task(&self, number: u32) -> Option<&Task> {
        self.tasks.iter().find(|t| t.number == number)
    }
    /// The post-incident reviews recorded, oldest first.
    pub fn reviews(&self) -> &[ReviewRecord] {
        &self.reviews
    }
    /// The latest review, if any.
    pub fn review(&self) -> Option<&ReviewRecord> {
        self.reviews.last()
    }
    /// Every follow-up action of its reviews, numbered from 1.
    pub fn follow_ups(&self) -> &[FollowUp] {
        &self.follow_ups
    }
    /// Follow-up number `number`.
    pub fn follow_up(&self, number: u32) -> Option<&FollowUp> {
        self.follow_ups.iter().find(|f| f.number == number)
    }
    /// Customers' feedback, oldest first.
    pub fn feedback(&self) -> &[Feedback] {
        &self.feedback
    }
    /// How long customers were affected: the time the incident spent unresolved, over all
    /// its openings, up to `now` if it is still active. Vendor waits count: customers wait
    /// too.
    pub fn customer_impact(&self, now: DateTime<Utc>) -> chrono::Duration {
        let current = if self.is_active() {
            (now - self.cycle_started_at).max(chrono::Duration::zero())
        } else {
            chrono::Duration::zero()
        };
        self.unresolved_before + current
    }
    /// The notifications requested for this incident and where each stands.
    pub fn outbox(&self) -> &[OutboxEntry] {
        &self.outbox
    }
}
