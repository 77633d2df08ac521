//! `decide`: the pure function from (state, command, actor, now) to new events.

use chrono::{DateTime, Utc};

use crate::error::{Refusal, Rejected};
use crate::incident::Incident;
use crate::lifecycle::{Change, Command, Edge, Event, Resolution, transition};
use crate::model::{Actor, IncidentId};
use crate::text::Text;

/// Decides what a command does to an incident: the events to record, or why it is refused.
///
/// `state` is the incident as it stands (`None` if it does not exist yet, which only
/// [`Command::Open`] accepts). Pure: no I/O, no clock; the same inputs always give the same
/// answer. An empty vector means the command was accepted but its effect already holds (see
/// [repeated commands](crate::lifecycle#repeated-commands)).
///
/// **Timeline rule:** events are stamped `max(now, incident.updated_at())`, so an incident's
/// timeline never goes backwards even if the clock does (an NTP step, a till whose clock was
/// set by hand). Every event of an incident is dated no earlier than the one before it.
///
/// # Errors
/// [`Rejected`] when the [transition table](crate::lifecycle::transition) refuses the command in the
/// current status, or when a resolution names the incident itself as its duplicate.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use incidents::{Actor, Command, Incident, IncidentId, NewIncident, Role, Severity, Source};
/// use incidents::lifecycle::decide;
///
/// let now = Utc.with_ymd_and_hms(2026, 11, 27, 9, 0, 0).unwrap();
/// let dana = Actor::new("dana", "Dana", Role::Owner)?;
/// let id = IncidentId::new_v7(now);
/// let open = Command::Open {
///     id,
///     incident: NewIncident::new("Till offline", Severity::High, "POS", Source::StaffReport)?,
/// };
/// let events = decide(None, &open, &dana, now)?;
/// let incident = Incident::replay(id, &events)?;
/// let ack = decide(Some(&incident), &Command::Acknowledge, &dana, now)?;
/// assert_eq!(ack.len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn decide(
    state: Option<&Incident>,
    command: &Command,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Vec<Event>, Rejected> {
    let kind = command.kind();
    let rejected = |reason: Refusal| Rejected {
        incident: match (state, command) {
            (Some(incident), _) => Some(incident.id()),
            (None, Command::Open { id, .. }) => Some(*id),
            (None, _) => None,
        },
        status: state.map(Incident::status),
        command: kind,
        reason,
    };
    let edge = transition(state.map(Incident::status), kind);
    match edge {
        Edge::Reject(reason) => return Err(rejected(reason)),
        Edge::Ignore => return Ok(Vec::new()),
        Edge::Move(_) | Edge::Stay => {}
    }
    // The table accepted the command. Build its event; a few commands whose data is already
    // recorded record nothing.
    let change = match state {
        None => opening(command),
        Some(incident) => change(incident, command, edge, now),
    }
    .map_err(rejected)?;
    let at = state.map_or(now, |incident| now.max(incident.updated_at()));
    Ok(change
        .map(|change| Event {
            at,
            actor: actor.clone(),
            change,
        })
        .into_iter()
        .collect())
}

/// What a command the table accepts records: `None` when what it asks for already holds.
type Decision = Result<Option<Change>, Refusal>;

/// Records `change`.
#[allow(
    clippy::unnecessary_wraps,
    reason = "returns the `Decision` every arm of the table returns"
)]
fn record(change: Change) -> Decision {
    Ok(Some(change))
}

/// Records the change `change` builds, unless what it would record `holds` already.
#[allow(
    clippy::unnecessary_wraps,
    reason = "returns the `Decision` every arm of the table returns"
)]
fn unless(holds: bool, change: impl FnOnce() -> Change) -> Decision {
    Ok((!holds).then(change))
}

/// The command on an incident that does not exist yet: only opening it.
fn opening(command: &Command) -> Decision {
    match command {
        Command::Open { id, incident } => record(Change::Opened {
            id: *id,
            title: incident.title().clone(),
            description: incident.description().cloned(),
            severity: incident.severity(),
            service: incident.service().clone(),
            source: incident.source(),
            alert_key: incident.alert_key.clone(),
            idempotency_key: incident.idempotency_key.clone(),
            recurrence: incident.recurrence,
        }),
        // The table rejects every other command on a missing incident.
        _ => Err(Refusal::DoesNotExist),
    }
}

/// The command on an existing incident: one arm per command, those with rules of their own
/// in the functions below (the lifecycle's, the records', then the people's).
fn change(incident: &Incident, command: &Command, edge: Edge, now: DateTime<Utc>) -> Decision {
    let text = |text: &Text| text.clone();
    match command {
        Command::Open { .. } => Err(Refusal::AlreadyExists),
        Command::Acknowledge => record(Change::Acknowledged),
        Command::StartInvestigating => record(Change::InvestigationStarted),
        Command::Identify { root_cause } => identify(incident, root_cause, edge),
        Command::Mitigate { action } => record(Change::Mitigated {
            action: text(action),
        }),
        Command::Resolve { resolution } => resolve(incident, *resolution),
        Command::Reopen { reason } => record(Change::Reopened {
            reason: text(reason),
        }),
        Command::Close { summary, lessons } => {
            if incident.breach().is_some_and(|b| !b.all_filed()) {
                return Err(Refusal::NoticesOpen);
            }
            record(Change::Closed {
                summary: text(summary),
                lessons: text(lessons),
            })
        }
        Command::Merge { into } => merge(incident, *into),
        Command::AssignOwner { owner } => assign_owner(incident, owner),
        Command::ChangeSeverity { to, reason } => change_severity(incident, *to, reason),
        Command::AddNote { text: note } => record(Change::NoteAdded { text: text(note) }),
        Command::PostCustomerUpdate { message } => record(Change::CustomerUpdatePosted {
            message: text(message),
        }),
        Command::WaitForVendor { vendor, reference } => wait(incident, vendor, reference.as_ref()),
        Command::VendorResponded { note } => vendor_responded(incident, note.as_ref()),
        Command::Attach { signal } => attach(incident, signal),
        Command::AddResponder { responder } => add_responder(incident, responder),
        Command::RemoveResponder { responder } => remove_responder(incident, responder),
        Command::AddTask { title, assignee } => record(Change::TaskAdded {
            task: u32::try_from(incident.tasks().len())
                .unwrap_or(u32::MAX)
                .saturating_add(1),
            title: title.clone(),
            assignee: assignee.clone(),
            playbook: None,
        }),
        Command::AssignTask { task, assignee } => assign_task(incident, *task, assignee),
        Command::CompleteTask { task } => complete_task(incident, *task),
        Command::RecordReview { review } => record(Change::ReviewRecorded {
            review: review.clone(),
        }),
        Command::CompleteFollowUp { follow_up } => complete_follow_up(incident, *follow_up),
        Command::RecordFeedback { score, comment } => record(Change::FeedbackRecorded {
            score: *score,
            comment: comment.clone(),
        }),
        Command::SetImpact { impact } => unless(incident.impact_override() == *impact, || {
            Change::ImpactSet { impact: *impact }
        }),
        Command::DeclareBreach {
            regimes,
            became_aware,
        } => declare_breach(incident, regimes, *became_aware, now),
        Command::SetBecameAware { at, reason } => set_became_aware(incident, *at, reason, now),
        Command::FileNotice {
            regime,
            phase,
            reference,
            summary,
            late_reason,
        } => {
            let breach = incident.breach().ok_or(Refusal::NoBreach)?;
            if breach.phase(regime, phase).is_none() {
                return Err(Refusal::NoSuchNotice);
            }
            if breach.filing(regime, phase).is_some() {
                return Err(Refusal::NoticeAlreadyFiled);
            }
            record(Change::NoticeFiled {
                regime: regime.clone(),
                phase: phase.clone(),
                reference: reference.clone(),
                summary: summary.clone(),
                late_reason: late_reason.clone(),
            })
        }
        Command::SetPublicTitle { title } => {
            unless(incident.public_title() == title.as_ref(), || {
                Change::PublicTitleSet {
                    title: title.clone(),
                }
            })
        }
    }
}

// The breach.

/// Once per incident, aware no later than now. A command value may be deserialised, so the
/// regimes are checked again here.
fn declare_breach(
    incident: &Incident,
    regimes: &[crate::regulatory::Regime],
    became_aware: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Decision {
    if incident.breach().is_some() {
        return Err(Refusal::BreachAlreadyDeclared);
    }
    if became_aware > now {
        return Err(Refusal::AwareInFuture);
    }
    if crate::regulatory::validate_all(regimes).is_err() {
        return Err(Refusal::InvalidRegime);
    }
    record(Change::BreachDeclared {
        regimes: regimes.to_vec(),
        became_aware,
    })
}

/// Moving awareness needs a breach and may not go into the future; the same instant records
/// nothing.
fn set_became_aware(
    incident: &Incident,
    at: DateTime<Utc>,
    reason: &Text,
    now: DateTime<Utc>,
) -> Decision {
    let breach = incident.breach().ok_or(Refusal::NoBreach)?;
    if at > now {
        return Err(Refusal::AwareInFuture);
    }
    let from = breach.became_aware();
    unless(from == at, || Change::BecameAwareSet {
        from,
        to: at,
        reason: reason.clone(),
    })
}

// The lifecycle.

/// Identifying the root cause already identified, where that stays, records nothing.
fn identify(incident: &Incident, root_cause: &Text, edge: Edge) -> Decision {
    let same = edge == Edge::Stay && incident.root_cause() == Some(root_cause);
    unless(same, || Change::RootCauseIdentified {
        root_cause: root_cause.clone(),
    })
}

/// An incident cannot be resolved as a duplicate of itself.
fn resolve(incident: &Incident, resolution: Resolution) -> Decision {
    if resolution == (Resolution::Duplicate { of: incident.id() }) {
        return Err(Refusal::DuplicateOfItself);
    }
    record(Change::Resolved { resolution })
}

/// An incident cannot be merged into itself.
fn merge(incident: &Incident, into: IncidentId) -> Decision {
    if into == incident.id() {
        return Err(Refusal::MergeIntoItself);
    }
    record(Change::MergedInto { into })
}

// The records.

fn assign_owner(incident: &Incident, owner: &Actor) -> Decision {
    unless(incident.owner() == Some(owner), || Change::OwnerAssigned {
        owner: owner.clone(),
    })
}

fn change_severity(incident: &Incident, to: crate::Severity, reason: &Text) -> Decision {
    let from = incident.severity();
    unless(to == from, || Change::SeverityChanged {
        from,
        to,
        reason: reason.clone(),
    })
}

/// Waiting on the vendor (and reference) already waited on records nothing.
fn wait(incident: &Incident, vendor: &Text, reference: Option<&Text>) -> Decision {
    let same = incident
        .waiting_on()
        .is_some_and(|w| w.vendor == *vendor && w.reference.as_ref() == reference);
    unless(same, || Change::VendorWaitStarted {
        vendor: vendor.clone(),
        reference: reference.cloned(),
    })
}

/// A response while no vendor is waited on records nothing.
fn vendor_responded(incident: &Incident, note: Option<&Text>) -> Decision {
    unless(incident.waiting_on().is_none(), || {
        Change::VendorWaitEnded {
            note: note.cloned(),
        }
    })
}

/// A delivery already recorded on the incident is not recorded again.
fn attach(incident: &Incident, signal: &crate::lifecycle::Signal) -> Decision {
    unless(incident.has_signal(signal), || Change::SignalReceived {
        signal: signal.clone(),
    })
}

// The people.

fn add_responder(incident: &Incident, responder: &Actor) -> Decision {
    let present = incident
        .responders()
        .iter()
        .any(|r| r.id() == responder.id());
    unless(present, || Change::ResponderAdded {
        responder: responder.clone(),
    })
}

fn remove_responder(incident: &Incident, responder: &str) -> Decision {
    let present = incident.responders().iter().any(|r| r.id() == responder);
    unless(!present, || Change::ResponderRemoved {
        responder: responder.to_owned(),
    })
}

fn assign_task(incident: &Incident, task: u32, assignee: &str) -> Decision {
    let current = incident.task(task).ok_or(Refusal::NoSuchTask)?;
    unless(current.assignee.as_deref() == Some(assignee), || {
        Change::TaskAssigned {
            task,
            assignee: assignee.to_owned(),
        }
    })
}

fn complete_task(incident: &Incident, task: u32) -> Decision {
    let current = incident.task(task).ok_or(Refusal::NoSuchTask)?;
    unless(current.done.is_some(), || Change::TaskCompleted { task })
}

fn complete_follow_up(incident: &Incident, follow_up: u32) -> Decision {
    let current = incident
        .follow_up(follow_up)
        .ok_or(Refusal::NoSuchFollowUp)?;
    unless(current.done.is_some(), || Change::FollowUpCompleted {
        follow_up,
    })
}
