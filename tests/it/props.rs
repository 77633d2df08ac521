//! Property tests of the lifecycle through the Desk and a MemoryStore.
//!
//! From a freshly opened incident, random sequences of commands by random actors, with the
//! clock moving randomly between them (sometimes backwards). After every step:
//!
//! 1. **Edges.** An accepted command moved the incident along an edge of the transition table
//!    (`Move` → that status; `Stay` → same status; `Ignore` → nothing recorded). A refused
//!    command was refused by the table (or by the self-duplicate / missing-target rules) and
//!    left the incident *and* the stored history exactly as they were.
//! 2. **Invariants** ([`check_invariants`]):
//!    - `resolved_at` and a resolution are set iff the status is Resolved or Closed;
//!    - `closed_at` and a closure are set iff the status is Closed;
//!    - `acknowledged_at` is set whenever the status is Acknowledged, Investigating,
//!      Identified or Monitoring;
//!    - `created_at <= acknowledged_at`, `created_at <= resolved_at <= closed_at <=
//!      updated_at`, and the stored events' times never decrease (even when the clock does);
//!    - the version equals the number of stored events;
//!    - notes, customer updates, mitigations and the reopen count equal the number of their
//!      events, and the severity is the last one recorded;
//!    - the resolve clock runs exactly while the incident is active and not waiting on a
//!      vendor, its spans never overlap, and a vendor wait is only open while active;
//!    - once Closed, nothing changes it.
//! 3. **Replay.** Replaying the stored events reproduces the live incident exactly, and a new
//!    desk over the same store sees the same incident.
//! 4. **Serde.** Every event and the incident survive a JSON round trip unchanged.

use chrono::Duration;
use incidents::Clock;
use incidents::error::Refusal;
use incidents::lifecycle::{Edge, transition};
use incidents::people::Permissions;
use incidents::{
    Change, Command, Desk, Error, Event, Incident, IncidentId, ManualClock, MemoryStore,
    Resolution, Status, Store,
};
use proptest::prelude::*;

use crate::support::{arb_actor, arb_command, arb_step, new_incident, owner, t0};

const SELF_MARK: IncidentId = IncidentId::from_bytes([0xAA; 16]);
const OTHER_MARK: IncidentId = IncidentId::from_bytes([0xBB; 16]);
const MISSING: IncidentId = IncidentId::from_bytes([0xCC; 16]);

/// Replaces the placeholder duplicate targets by real ids.
fn remap(command: Command, me: IncidentId, other: IncidentId) -> Command {
    match command {
        Command::Resolve {
            resolution: Resolution::Duplicate { of },
        } => {
            let of = if of == SELF_MARK {
                me
            } else if of == OTHER_MARK {
                other
            } else {
                of
            };
            Command::resolve(Resolution::Duplicate { of })
        }
        other => other,
    }
}

pub fn check_invariants(incident: &Incident, history: &[Event]) {
    let status = incident.status();
    let settled = matches!(status, Status::Resolved | Status::Closed);
    assert_eq!(incident.resolved_at().is_some(), settled);
    assert_eq!(incident.resolution().is_some(), settled);
    assert_eq!(incident.closed_at().is_some(), status == Status::Closed);
    assert_eq!(incident.closure().is_some(), status == Status::Closed);
    if matches!(
        status,
        Status::Acknowledged | Status::Investigating | Status::Identified | Status::Monitoring
    ) {
        assert!(
            incident.acknowledged_at().is_some(),
            "{status:?} without ack"
        );
    }
    let created = incident.created_at();
    for t in [
        incident.acknowledged_at(),
        incident.resolved_at(),
        incident.closed_at(),
    ]
    .into_iter()
    .flatten()
    {
        assert!(created <= t && t <= incident.updated_at());
    }
    if let (Some(r), Some(c)) = (incident.resolved_at(), incident.closed_at()) {
        assert!(r <= c);
    }
    assert!(
        history.windows(2).all(|w| w[0].at <= w[1].at),
        "time ran backwards"
    );
    assert_eq!(incident.version().get(), history.len() as u64);
    assert_eq!(history.last().map(|e| e.at), Some(incident.updated_at()));

    // The resolve clock runs exactly while the incident is active and not waiting on a
    // vendor; a vendor wait is only ever open while active.
    let running = incident
        .resolve_clock()
        .last()
        .is_some_and(|(_, until)| until.is_none());
    assert_eq!(
        running,
        incident.is_active() && incident.waiting_on().is_none()
    );
    assert!(incident.waiting_on().is_none() || incident.is_active());
    assert_eq!(
        incident
            .resolve_clock()
            .iter()
            .filter(|(_, until)| until.is_none())
            .count(),
        usize::from(running)
    );
    assert!(
        incident
            .resolve_clock()
            .windows(2)
            .all(|w| w[0].1.is_some_and(|end| end <= w[1].0))
    );

    let count = |f: fn(&Change) -> bool| history.iter().filter(|e| f(&e.change)).count();
    assert_eq!(
        incident.notes().len(),
        count(|c| matches!(c, Change::NoteAdded { .. }))
    );
    assert_eq!(
        incident.customer_updates().len(),
        count(|c| matches!(c, Change::CustomerUpdatePosted { .. }))
    );
    assert_eq!(
        incident.mitigations().len(),
        count(|c| matches!(c, Change::Mitigated { .. }))
    );
    assert_eq!(
        incident.reopen_count() as usize,
        count(|c| matches!(c, Change::Reopened { .. }))
    );
    let last_severity = history
        .iter()
        .rev()
        .find_map(|e| match &e.change {
            Change::SeverityChanged { to, .. } => Some(*to),
            Change::Opened { severity, .. } => Some(*severity),
            _ => None,
        })
        .expect("opened event");
    assert_eq!(incident.severity(), last_severity);
}

fn serde_round_trip(incident: &Incident, history: &[Event]) {
    for event in history {
        let json = serde_json::to_string(event).unwrap();
        let back: Event = serde_json::from_str(&json).unwrap();
        assert_eq!(&back, event, "{json}");
    }
    // An incident is not `Deserialize` (only replay builds one): its JSON is the JSON of the
    // incident its history replays to.
    let replayed = Incident::replay(incident.id(), history).unwrap();
    assert_eq!(
        serde_json::to_value(incident).unwrap(),
        serde_json::to_value(&replayed).unwrap()
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(192))]

    #[test]
    fn random_command_sequences_respect_the_table(
        steps in prop::collection::vec(
            (arb_actor(), arb_command(vec![SELF_MARK, OTHER_MARK, MISSING]), arb_step()),
            1..50,
        )
    ) {
        let clock = ManualClock::new(t0());
        let store = MemoryStore::new();
        let desk = Desk::new(&store, &clock).unwrap();
        let other = desk.open(&owner(), new_incident()).unwrap().id;
        let id = desk.open(&owner(), new_incident()).unwrap().id;

        for (actor, command, step) in steps {
            clock.advance(Duration::seconds(step));
            let command = remap(command, id, other);
            let before = desk.get(id).unwrap();
            let stored_before = store.load(id).unwrap();
            let edge = transition(Some(before.status()), command.kind());

            match desk.act(id, &actor, command.clone()) {
                                Ok(receipt) => {
                    prop_assert!(
                        Permissions::small_business().allows(actor.role(), &command),
                        "{} may not {}", actor, command.kind()
                    );
                    let after = desk.get(id).unwrap();
                    let stored = store.load(id).unwrap();
                    prop_assert_eq!(receipt.version, after.version());
                    // The command's own event, then only the notifications it queues (a
                    // customer update goes out to customers).
                    let own = receipt
                        .events
                        .iter()
                        .filter(|e| !matches!(e.change, Change::NotificationRequested { .. }))
                        .count();
                    prop_assert!(own <= 1);
                    if let Some(first) = receipt.events.first() {
                        prop_assert_eq!(first.change.command_kind(), command.kind());
                        prop_assert_eq!(&first.actor, &actor);
                    }
                    let queued = receipt.events.len() - own;
                    let is_update = matches!(command, Command::PostCustomerUpdate { .. });
                    prop_assert_eq!(queued, usize::from(is_update && own == 1));
                    match edge {
                        Edge::Move(to) => {
                            prop_assert_eq!(after.status(), to);
                            prop_assert_eq!(own, 1);
                        }
                        Edge::Stay => {
                            prop_assert_eq!(after.status(), before.status());
                        }
                        Edge::Ignore => prop_assert!(receipt.events.is_empty()),
                        Edge::Reject(reason) => {
                            prop_assert!(false, "accepted although the table rejects: {}", reason);
                        }
                    }
                    if receipt.events.is_empty() {
                        prop_assert_eq!(&after, &before);
                        prop_assert_eq!(&stored, &stored_before);
                    } else {
                        prop_assert_eq!(&stored[..stored_before.len()], &stored_before[..]);
                        prop_assert_eq!(&stored[stored_before.len()..], &receipt.events[..]);
                        for e in &receipt.events {
                            prop_assert_eq!(e.at, clock.now().max(before.updated_at()));
                        }
                    }
                    prop_assert!(before.status() != Status::Closed, "closed incident accepted a command");
                }
                Err(err) => {
                                        let permitted = Permissions::small_business().allows(actor.role(), &command);
                    match (&err, edge) {
                        (Error::Forbidden { action, .. }, _) => {
                            prop_assert!(!permitted, "{} was allowed to {}", actor, action);
                            prop_assert_eq!(*action, command.kind());
                        }
                        (Error::Rejected(r), Edge::Reject(reason)) => prop_assert_eq!(r.reason, reason),
                        (Error::Rejected(r), Edge::Move(Status::Closed)) => prop_assert!(
                            r.reason == Refusal::ReviewRequired && before.reviews().is_empty(),
                            "unexpected rejection {}", r
                        ),
                        (Error::Rejected(r), _) => prop_assert!(
                            matches!(command, Command::Resolve { resolution: Resolution::Duplicate { of } } if of == id),
                            "unexpected rejection {}", r
                        ),
                        (Error::NotFound { id: missing }, _) => prop_assert_eq!(*missing, MISSING),
                        (other, _) => prop_assert!(false, "unexpected error {}", other),
                    }
                    prop_assert_eq!(&desk.get(id).unwrap(), &before);
                    prop_assert_eq!(&store.load(id).unwrap(), &stored_before);
                }
            }

            let after = desk.get(id).unwrap();
            let stored = store.load(id).unwrap();
            check_invariants(&after, &stored);
            prop_assert_eq!(&Incident::replay(id, &stored).unwrap(), &after);
            serde_round_trip(&after, &stored);
        }

        // A new desk over the same store rebuilds exactly the same incidents.
        let again = Desk::new(&store, &clock).unwrap();
        prop_assert_eq!(again.get(id).unwrap(), desk.get(id).unwrap());
        prop_assert_eq!(again.get(other).unwrap(), desk.get(other).unwrap());
    }

    #[test]
    fn severity_filter_and_counts_agree_with_the_incidents(
        severities in prop::collection::vec(crate::support::arb_severity(), 0..20),
        resolve_mask in any::<u32>(),
        min in crate::support::arb_severity(),
    ) {
        let clock = ManualClock::new(t0());
        let desk = Desk::new(MemoryStore::new(), &clock).unwrap();
        for (i, severity) in severities.iter().enumerate() {
            let new = incidents::NewIncident::new("t", *severity, "shop", incidents::Source::Alert).unwrap();
            let id = desk.open(&owner(), new).unwrap().id;
            if resolve_mask & (1 << i) != 0 {
                desk.act(id, &owner(), Command::resolve(Resolution::Fixed)).unwrap();
            }
        }
        let counts = desk.counts();
        prop_assert_eq!(counts.total, severities.len());
        let active = desk.list(&incidents::Filter::active());
        prop_assert_eq!(counts.active, active.len());
        let urgent = desk.list(&incidents::Filter::active().min_severity(min));
        prop_assert!(urgent.iter().all(|i| i.severity() >= min && i.is_active()));
        let expected: usize = counts
            .active_by_severity
            .iter()
            .filter(|(s, _)| **s >= min)
            .map(|(_, n)| n)
            .sum();
        prop_assert_eq!(urgent.len(), expected);
    }
}
