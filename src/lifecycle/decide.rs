//! `decide`: the pure function from (state, command, actor, now) to new events.

use chrono::{DateTime, Utc};

use crate::error::{Refusal, Rejected};
use crate::incident::Incident;
use crate::lifecycle::{Change, Command, Edge, Event, Resolution, transition};
use crate::model::Actor;

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
/// [`Rejected`] when the [transition table](crate::transition) refuses the command in the
/// current status, or when a resolution names the incident itself as its duplicate.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use incidents::{decide, Actor, Command, IncidentId, Incident, NewIncident, Role, Severity, Source};
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
    let incident_id = match (state, command) {
        (Some(incident), _) => Some(incident.id()),
        (None, Command::Open { id, .. }) => Some(*id),
        (None, _) => None,
    };
    let reject = |reason: Refusal| Rejected {
        incident: incident_id,
        status: state.map(Incident::status),
        command: kind,
        reason,
    };
    let edge = transition(state.map(Incident::status), kind);
    match edge {
        Edge::Reject(reason) => return Err(reject(reason)),
        Edge::Ignore => return Ok(Vec::new()),
        Edge::Move(_) | Edge::Stay => {}
    }
    let at = state.map_or(now, |incident| now.max(incident.updated_at()));
    let event = |change: Change| {
        Ok(vec![Event {
            at,
            actor: actor.clone(),
            change,
        }])
    };

    // The table accepted the command. Build its event; a few commands whose data is already
    // recorded record nothing.
    let Some(incident) = state else {
        return match command {
            Command::Open { id, incident } => event(Change::Opened {
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
            _ => Err(reject(Refusal::DoesNotExist)),
        };
    };
    match command {
        Command::Open { .. } => Err(reject(Refusal::AlreadyExists)),
        Command::Acknowledge => event(Change::Acknowledged),
        Command::AssignOwner { owner } => {
            if incident.owner() == Some(owner) {
                Ok(Vec::new())
            } else {
                event(Change::OwnerAssigned {
                    owner: owner.clone(),
                })
            }
        }
        Command::StartInvestigating => event(Change::InvestigationStarted),
        Command::Identify { root_cause } => {
            if edge == Edge::Stay && incident.root_cause() == Some(root_cause) {
                Ok(Vec::new())
            } else {
                event(Change::RootCauseIdentified {
                    root_cause: root_cause.clone(),
                })
            }
        }
        Command::Mitigate { action } => event(Change::Mitigated {
            action: action.clone(),
        }),
        Command::Resolve { resolution } => {
            if *resolution == (Resolution::Duplicate { of: incident.id() }) {
                return Err(reject(Refusal::DuplicateOfItself));
            }
            event(Change::Resolved {
                resolution: *resolution,
            })
        }
        Command::Reopen { reason } => event(Change::Reopened {
            reason: reason.clone(),
        }),
        Command::Close { summary, lessons } => event(Change::Closed {
            summary: summary.clone(),
            lessons: lessons.clone(),
        }),
        Command::ChangeSeverity { to, reason } => {
            if *to == incident.severity() {
                Ok(Vec::new())
            } else {
                event(Change::SeverityChanged {
                    from: incident.severity(),
                    to: *to,
                    reason: reason.clone(),
                })
            }
        }
        Command::AddNote { text } => event(Change::NoteAdded { text: text.clone() }),
        Command::PostCustomerUpdate { message } => event(Change::CustomerUpdatePosted {
            message: message.clone(),
        }),
        Command::WaitForVendor { vendor, reference } => {
            let same = incident
                .waiting_on()
                .is_some_and(|w| w.vendor == *vendor && w.reference == *reference);
            if same {
                Ok(Vec::new())
            } else {
                event(Change::VendorWaitStarted {
                    vendor: vendor.clone(),
                    reference: reference.clone(),
                })
            }
        }
        Command::VendorResponded { note } => {
            if incident.waiting_on().is_none() {
                Ok(Vec::new())
            } else {
                event(Change::VendorWaitEnded { note: note.clone() })
            }
        }
        Command::AddResponder { responder } => {
            if incident
                .responders()
                .iter()
                .any(|r| r.id() == responder.id())
            {
                Ok(Vec::new())
            } else {
                event(Change::ResponderAdded {
                    responder: responder.clone(),
                })
            }
        }
        Command::RemoveResponder { responder } => {
            if incident.responders().iter().any(|r| r.id() == responder) {
                event(Change::ResponderRemoved {
                    responder: responder.clone(),
                })
            } else {
                Ok(Vec::new())
            }
        }
        Command::AddTask { title, assignee } => event(Change::TaskAdded {
            task: incident.tasks().len() as u32 + 1,
            title: title.clone(),
            assignee: assignee.clone(),
            playbook: None,
        }),
        Command::AssignTask { task, assignee } => match incident.task(*task) {
            None => Err(reject(Refusal::NoSuchTask)),
            Some(t) if t.assignee.as_ref() == Some(assignee) => Ok(Vec::new()),
            Some(_) => event(Change::TaskAssigned {
                task: *task,
                assignee: assignee.clone(),
            }),
        },
        Command::CompleteTask { task } => match incident.task(*task) {
            None => Err(reject(Refusal::NoSuchTask)),
            Some(t) if t.done.is_some() => Ok(Vec::new()),
            Some(_) => event(Change::TaskCompleted { task: *task }),
        },
        Command::RecordReview { review } => event(Change::ReviewRecorded {
            review: review.clone(),
        }),
        Command::CompleteFollowUp { follow_up } => match incident.follow_up(*follow_up) {
            None => Err(reject(Refusal::NoSuchFollowUp)),
            Some(f) if f.done.is_some() => Ok(Vec::new()),
            Some(_) => event(Change::FollowUpCompleted {
                follow_up: *follow_up,
            }),
        },
        Command::RecordFeedback { score, comment } => event(Change::FeedbackRecorded {
            score: *score,
            comment: comment.clone(),
        }),
        Command::Attach { signal } => {
            if incident.has_signal(signal) {
                Ok(Vec::new())
            } else {
                event(Change::SignalReceived {
                    signal: signal.clone(),
                })
            }
        }
        Command::Merge { into } => {
            if *into == incident.id() {
                return Err(reject(Refusal::MergeIntoItself));
            }
            event(Change::MergedInto { into: *into })
        }
    }
}
