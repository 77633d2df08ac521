//! `Desk::attach`: a signal recorded by hand, on behalf of a person, whose key then leads to
//! the incident it was attached to — also across a restart, and within the reopen window.
//!
//! Correlation is off in these tests, so that where a delivery lands is decided by its key
//! alone.

use std::sync::Arc;

use chrono::Duration;
use incidents::intake::{Correlation, Ingested};
use incidents::{
    Change, Clock, CommandKind, Desk, Error, FileStore, ManualClock, MemoryStore, Policy, Severity,
    Status,
};

use super::{
    by_hand, close, copy, desk, desk_on, histories, monitor, opened, policy, report, resolve,
    shared, viewer,
};
use crate::support::{nth_id, owner, responder, support, t0};

fn off() -> Policy {
    policy(Correlation::off())
}

#[test]
fn attach_records_the_signal_as_the_person_and_later_deliveries_follow() {
    let clock = ManualClock::new(t0());
    let desk = desk(off(), &clock);
    let id = desk.open(&owner(), by_hand(Severity::High)).unwrap().id;
    clock.advance(Duration::minutes(1));
    let alert = monitor("checkout-5xx", t0());
    let receipt = desk.attach(id, &responder(), &alert).unwrap();
    assert_eq!(receipt.id, id);
    assert_eq!(receipt.events.len(), 1);
    let event = &receipt.events[0];
    assert_eq!(event.actor, responder(), "the person attached it");
    assert_eq!(event.at, clock.now());
    assert_eq!(
        event.change,
        Change::SignalReceived {
            signal: alert.signal()
        }
    );
    assert_eq!(desk.history(id).unwrap().last(), Some(event));
    assert_eq!(receipt.version, desk.get(id).unwrap().version());

    clock.advance(Duration::minutes(5));
    assert_eq!(
        desk.ingest(&monitor("checkout-5xx", clock.now())).unwrap(),
        Ingested::Recorded { id }
    );
    assert_eq!(desk.ingest(&alert).unwrap(), Ingested::Duplicate { id });
    assert_eq!(desk.counts().total, 1);
    assert_eq!(desk.get(id).unwrap().signal_count(), 2);
}

#[test]
fn support_staff_may_attach_a_customers_report() {
    let clock = ManualClock::new(t0());
    let desk = desk(off(), &clock);
    let id = opened(desk.ingest(&monitor("checkout-5xx", t0())).unwrap());
    let receipt = desk
        .attach(id, &support(), &report("checkout", t0()))
        .unwrap();
    assert_eq!(receipt.events[0].actor, support());
    assert_eq!(
        desk.ingest(&report("checkout", t0() + Duration::minutes(1)))
            .unwrap(),
        Ingested::Recorded { id }
    );
}

#[test]
fn attach_moves_a_key_away_from_the_incident_it_opened() {
    let clock = ManualClock::new(t0());
    let desk = desk(off(), &clock);
    let own = opened(desk.ingest(&report("checkout", t0())).unwrap());
    let main = opened(desk.ingest(&monitor("checkout-5xx", t0())).unwrap());
    clock.advance(Duration::minutes(1));
    desk.attach(main, &owner(), &report("checkout", clock.now()))
        .unwrap();
    clock.advance(Duration::minutes(1));
    assert_eq!(
        desk.ingest(&report("checkout", clock.now())).unwrap(),
        Ingested::Recorded { id: main }
    );
    assert_eq!(desk.get(own).unwrap().signals().len(), 1);
}

#[test]
fn attaching_the_same_delivery_twice_records_nothing() {
    let clock = ManualClock::new(t0());
    let desk = desk(off(), &clock);
    let id = desk.open(&owner(), by_hand(Severity::High)).unwrap().id;
    let alert = monitor("checkout-5xx", t0());
    let first = desk.attach(id, &owner(), &alert).unwrap();
    clock.advance(Duration::minutes(1));
    let before = desk.history(id).unwrap();
    let again = desk.attach(id, &responder(), &alert).unwrap();
    assert!(again.events.is_empty(), "{:?}", again.events);
    assert_eq!(again.version, first.version);
    assert_eq!(desk.history(id).unwrap(), before);
}

#[test]
fn a_re_fire_reopens_the_attached_incident_within_the_reopen_window_only() {
    for (after, expected) in [
        (Duration::hours(1), "reopened"),
        (Duration::hours(1) + Duration::seconds(1), "recurrence"),
        (Duration::days(30), "recurrence"),
        (Duration::days(30) + Duration::seconds(1), "new"),
    ] {
        let clock = ManualClock::new(t0());
        let desk = desk(off(), &clock);
        let id = desk.open(&owner(), by_hand(Severity::High)).unwrap().id;
        desk.attach(id, &owner(), &monitor("checkout-5xx", t0()))
            .unwrap();
        clock.advance(Duration::minutes(1));
        resolve(&desk, id);
        clock.advance(after);
        let outcome = desk.ingest(&monitor("checkout-5xx", clock.now())).unwrap();
        match (expected, outcome) {
            ("reopened", Ingested::Reopened { id: reopened }) => {
                assert_eq!(reopened, id);
                assert_eq!(desk.get(id).unwrap().status(), Status::Open);
                assert_eq!(desk.get(id).unwrap().reopen_count(), 1);
            }
            (
                "recurrence",
                Ingested::Recurred {
                    id: new,
                    recurrence,
                },
            ) => {
                assert_ne!(new, id);
                assert_eq!((recurrence.previous, recurrence.count), (id, 1));
                assert_eq!(desk.get(id).unwrap().status(), Status::Resolved);
            }
            ("new", Ingested::Opened { id: new }) => {
                assert_ne!(new, id);
                assert_eq!(desk.get(new).unwrap().recurrence(), None);
                assert_eq!(desk.get(id).unwrap().status(), Status::Resolved);
            }
            (expected, outcome) => panic!("after {after}: expected {expected}, got {outcome:?}"),
        }
    }
}

#[test]
fn attaching_to_a_closed_incident_is_rejected_and_records_nothing() {
    let clock = ManualClock::new(t0());
    let desk = desk(off(), &clock);
    let own = opened(desk.ingest(&monitor("checkout-5xx", t0())).unwrap());
    let closed = desk.open(&owner(), by_hand(Severity::High)).unwrap().id;
    close(&desk, closed);
    let before = histories(desk.store(), &[own, closed]);
    let err = desk
        .attach(
            closed,
            &owner(),
            &monitor("checkout-5xx", t0() + Duration::minutes(1)),
        )
        .unwrap_err();
    match err {
        Error::Rejected(rejected) => {
            assert_eq!(rejected.command, CommandKind::Attach);
            assert_eq!(rejected.status, Some(Status::Closed));
            assert_eq!(rejected.incident, Some(closed));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(histories(desk.store(), &[own, closed]), before);
    // The key still leads where it did.
    assert_eq!(
        desk.ingest(&monitor("checkout-5xx", t0() + Duration::minutes(2)))
            .unwrap(),
        Ingested::Recorded { id: own }
    );
}

#[test]
fn attaching_to_a_resolved_incident_records_without_reopening() {
    let clock = ManualClock::new(t0());
    let desk = desk(off(), &clock);
    let id = desk.open(&owner(), by_hand(Severity::High)).unwrap().id;
    resolve(&desk, id);
    desk.attach(id, &owner(), &monitor("checkout-5xx", t0()))
        .unwrap();
    let incident = desk.get(id).unwrap();
    assert_eq!(incident.status(), Status::Resolved);
    assert_eq!(incident.signals().len(), 1);
}

#[test]
fn a_viewer_may_not_attach_and_an_unknown_incident_is_not_found() {
    let clock = ManualClock::new(t0());
    let desk = desk(off(), &clock);
    let own = opened(desk.ingest(&monitor("checkout-5xx", t0())).unwrap());
    let other = desk.open(&owner(), by_hand(Severity::High)).unwrap().id;
    let before = histories(desk.store(), &[own, other]);
    let alert = monitor("checkout-5xx", t0() + Duration::minutes(1));
    match desk.attach(other, &viewer(), &alert).unwrap_err() {
        Error::Forbidden { action, .. } => assert_eq!(action, CommandKind::Attach),
        e => panic!("{e:?}"),
    }
    let unknown = nth_id(999);
    assert!(matches!(
        desk.attach(unknown, &owner(), &alert).unwrap_err(),
        Error::NotFound { id } if id == unknown
    ));
    assert_eq!(histories(desk.store(), &[own, other]), before);
    assert_eq!(desk.ingest(&alert).unwrap(), Ingested::Recorded { id: own });
}

#[test]
fn attach_routing_survives_a_restart_of_a_file_store() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(t0());
    let (own, main) = {
        let desk = desk_on(FileStore::open(dir.path()).unwrap(), off(), &clock);
        let own = opened(desk.ingest(&monitor("checkout-5xx", t0())).unwrap());
        let main = desk.open(&owner(), by_hand(Severity::High)).unwrap().id;
        clock.advance(Duration::minutes(1));
        desk.attach(main, &responder(), &monitor("checkout-5xx", clock.now()))
            .unwrap();
        (own, main)
    };
    let desk = desk_on(FileStore::open(dir.path()).unwrap(), off(), &clock);
    clock.advance(Duration::minutes(1));
    assert_eq!(
        desk.ingest(&monitor("checkout-5xx", clock.now())).unwrap(),
        Ingested::Recorded { id: main }
    );
    resolve(&desk, main);
    drop(desk);

    let desk = desk_on(FileStore::open(dir.path()).unwrap(), off(), &clock);
    clock.advance(Duration::hours(1));
    assert_eq!(
        desk.ingest(&monitor("checkout-5xx", clock.now())).unwrap(),
        Ingested::Reopened { id: main }
    );
    assert_eq!(desk.get(own).unwrap().status(), Status::Open);
    assert_eq!(desk.get(own).unwrap().signals().len(), 1);
}

#[test]
fn attach_routing_survives_a_restart_when_everything_happens_at_one_instant() {
    // The key opened `own`; at the same instant it is attached to `main`, which was opened
    // first. The live desk routes it to `main`; so must a restarted one.
    let store = Arc::new(MemoryStore::new());
    let clock = ManualClock::new(t0());
    let desk = shared(&store, off(), &clock);
    let main = desk.open(&owner(), by_hand(Severity::High)).unwrap().id;
    clock.advance(Duration::minutes(1));
    let own = opened(desk.ingest(&monitor("checkout-5xx", clock.now())).unwrap());
    desk.attach(
        main,
        &owner(),
        &monitor("checkout-5xx", clock.now() + Duration::seconds(1)),
    )
    .unwrap();
    let probe = monitor("checkout-5xx", clock.now() + Duration::seconds(2));
    let restarted = shared(&copy(&store), off(), &clock);
    assert_eq!(
        desk.ingest(&probe).unwrap(),
        Ingested::Recorded { id: main }
    );
    assert_eq!(
        restarted.ingest(&probe).unwrap(),
        Ingested::Recorded { id: main },
        "own = {own}"
    );
}

#[test]
fn re_attaching_a_delivery_already_on_an_incident_changes_nothing_live_or_after_a_restart() {
    // The key opened `own` with occurrence d0; d1 was attached to `main`; then someone
    // attaches d0 to `own` again. "Attaching a delivery that is already on the incident
    // records nothing and changes nothing (where the key leads included)."
    let store = Arc::new(MemoryStore::new());
    let clock = ManualClock::new(t0());
    let desk = shared(&store, off(), &clock);
    let d0 = monitor("checkout-5xx", t0());
    let own = opened(desk.ingest(&d0).unwrap());
    let main = desk.open(&owner(), by_hand(Severity::High)).unwrap().id;
    clock.advance(Duration::minutes(1));
    desk.attach(main, &owner(), &monitor("checkout-5xx", clock.now()))
        .unwrap();
    clock.advance(Duration::minutes(1));
    assert!(desk.attach(own, &owner(), &d0).unwrap().events.is_empty());

    clock.advance(Duration::minutes(1));
    let probe = monitor("checkout-5xx", clock.now());
    let restarted = shared(&copy(&store), off(), &clock);
    assert_eq!(
        desk.ingest(&probe).unwrap(),
        Ingested::Recorded { id: main }
    );
    assert_eq!(
        restarted.ingest(&probe).unwrap(),
        Ingested::Recorded { id: main },
        "the restarted desk agrees with the live one (own = {own})"
    );
}

#[test]
fn a_desk_over_a_copied_store_sees_the_same_incidents() {
    let store = Arc::new(MemoryStore::new());
    let clock = ManualClock::new(t0());
    let desk: Desk<_, _> = shared(&store, off(), &clock);
    desk.ingest(&monitor("checkout-5xx", t0())).unwrap();
    let copied = copy(&store);
    assert_eq!(copied.incident_count(), 1);
    let again = shared(&copied, off(), &clock);
    assert_eq!(
        again.list(&incidents::Filter::all()),
        desk.list(&incidents::Filter::all())
    );
}

#[test]
fn a_late_redelivery_of_an_earlier_occurrence_is_a_duplicate_after_its_key_moved() {
    // d0 opened `own`; a later occurrence d1 was attached to `main`, which was then resolved.
    // A webhook retry of d0 is "the same delivery again": nothing is recorded anywhere, and
    // `main` is not reopened by it.
    let clock = ManualClock::new(t0());
    let desk = desk(off(), &clock);
    let d0 = monitor("checkout-5xx", t0());
    let own = opened(desk.ingest(&d0).unwrap());
    let main = desk.open(&owner(), by_hand(Severity::High)).unwrap().id;
    clock.advance(Duration::minutes(1));
    desk.attach(main, &owner(), &monitor("checkout-5xx", clock.now()))
        .unwrap();
    resolve(&desk, main);
    clock.advance(Duration::minutes(1));
    let before = histories(desk.store(), &[own, main]);
    let outcome = desk.ingest(&d0).unwrap();
    assert_eq!(outcome, Ingested::Duplicate { id: own });
    assert_eq!(histories(desk.store(), &[own, main]), before);
    assert_eq!(desk.get(main).unwrap().status(), Status::Resolved);
}
