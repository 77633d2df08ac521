//! Signals in: deduplication, reopen and recurrence windows at their exact boundaries,
//! maintenance, auto-resolve after a quiet period, idempotent opens, reports from people.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use incidents::intake::{Ingested, Intake, MaintenanceWindow, RecurrenceRule};
use incidents::{
    Alert, Clock, Command, Desk, IncidentId, ManualClock, MemoryStore, Policy, Resolution,
    Severity, Source, Status,
};
use proptest::prelude::*;

use crate::support::{owner, t0};

fn alert(fingerprint: &str, starts_at: DateTime<Utc>) -> Alert {
    Alert::firing(
        "uptime",
        fingerprint,
        "online shop",
        "Checkout returns 500",
        starts_at,
    )
    .unwrap()
}

fn policy_with(intake: Intake) -> Policy {
    Policy::small_business().with_intake(intake).unwrap()
}

fn desk(policy: Policy, clock: &ManualClock) -> Desk<MemoryStore, &ManualClock> {
    Desk::builder(MemoryStore::new(), clock)
        .policy(policy)
        .build()
        .unwrap()
}

#[test]
fn the_same_alert_twice_records_once_and_new_occurrences_count() {
    let clock = ManualClock::new(t0());
    let desk = desk(Policy::small_business(), &clock);
    let first = desk.ingest(&alert("checkout", t0())).unwrap();
    let Ingested::Opened { id } = first else {
        panic!("{first:?}")
    };
    assert_eq!(
        desk.ingest(&alert("checkout", t0())).unwrap(),
        Ingested::Duplicate { id }
    );
    clock.advance(Duration::minutes(3));
    let again = alert("checkout", t0() + Duration::minutes(2));
    assert_eq!(desk.ingest(&again).unwrap(), Ingested::Recorded { id });
    let incident = desk.get(id).unwrap();
    assert_eq!(incident.signal_count(), 2);
    assert_eq!(
        incident.signals_seen(),
        Some((t0(), t0() + Duration::minutes(3)))
    );
    assert_eq!(incident.source(), Source::Alert);
    assert_eq!(
        incident.severity(),
        Severity::Medium,
        "no hint: the policy's default"
    );
    assert_eq!(incident.alert_key(), Some("uptime/checkout"));
    assert_eq!(desk.counts().total, 1);
}

/// Resolves the only incident of `desk` at the clock's time and returns its id.
fn resolve_only(desk: &Desk<MemoryStore, &ManualClock>, id: IncidentId) {
    desk.act(id, &owner(), Command::resolve(Resolution::Fixed))
        .unwrap();
}

#[test]
fn the_reopen_window_is_inclusive_at_its_end() {
    for (after, reopened) in [
        (Duration::hours(1), true),
        (Duration::hours(1) + Duration::seconds(1), false),
    ] {
        let clock = ManualClock::new(t0());
        let desk = desk(Policy::small_business(), &clock);
        let Ingested::Opened { id } = desk.ingest(&alert("checkout", t0())).unwrap() else {
            panic!()
        };
        resolve_only(&desk, id);
        clock.advance(after);
        let outcome = desk.ingest(&alert("checkout", clock.now())).unwrap();
        if reopened {
            assert_eq!(outcome, Ingested::Reopened { id });
            assert_eq!(desk.get(id).unwrap().status(), Status::Open);
            assert_eq!(desk.get(id).unwrap().reopen_count(), 1);
        } else {
            let Ingested::Recurred {
                id: new,
                recurrence,
            } = outcome
            else {
                panic!("{outcome:?}")
            };
            assert_ne!(new, id);
            assert_eq!((recurrence.previous, recurrence.count), (id, 1));
            assert_eq!(desk.get(new).unwrap().recurrence(), Some(recurrence));
            assert_eq!(desk.get(id).unwrap().status(), Status::Resolved);
        }
    }
}

#[test]
fn the_recurrence_window_is_inclusive_at_its_end() {
    for (after, linked) in [
        (Duration::days(30), true),
        (Duration::days(30) + Duration::seconds(1), false),
    ] {
        let clock = ManualClock::new(t0());
        let desk = desk(Policy::small_business(), &clock);
        let Ingested::Opened { id } = desk.ingest(&alert("checkout", t0())).unwrap() else {
            panic!()
        };
        resolve_only(&desk, id);
        desk.act(id, &owner(), Command::close("s", "l").unwrap())
            .unwrap();
        clock.advance(after);
        let outcome = desk.ingest(&alert("checkout", clock.now())).unwrap();
        match (outcome, linked) {
            (Ingested::Recurred { recurrence, .. }, true) => assert_eq!(recurrence.previous, id),
            (Ingested::Opened { id: new }, false) => {
                assert_ne!(new, id);
                assert_eq!(desk.get(new).unwrap().recurrence(), None);
            }
            (other, _) => panic!("after {after}: {other:?}"),
        }
    }
}

#[test]
fn a_closed_incident_is_never_reopened_by_an_alert() {
    let clock = ManualClock::new(t0());
    let desk = desk(Policy::small_business(), &clock);
    let Ingested::Opened { id } = desk.ingest(&alert("checkout", t0())).unwrap() else {
        panic!()
    };
    resolve_only(&desk, id);
    desk.act(id, &owner(), Command::close("s", "l").unwrap())
        .unwrap();
    clock.advance(Duration::minutes(5));
    let outcome = desk.ingest(&alert("checkout", clock.now())).unwrap();
    assert!(matches!(outcome, Ingested::Recurred { .. }), "{outcome:?}");
    assert_eq!(desk.get(id).unwrap().status(), Status::Closed);
}

#[test]
fn the_recurrence_rule_raises_severity_from_the_nth_recurrence() {
    let clock = ManualClock::new(t0());
    let rule = RecurrenceRule {
        from: 2,
        raise_to: Severity::High,
        require_review: false,
    };
    let desk = desk(
        policy_with(Intake {
            recurrence_rule: Some(rule),
            ..Intake::default()
        }),
        &clock,
    );
    let mut severities = Vec::new();
    for _ in 0..4 {
        let outcome = desk
            .ingest(&alert("checkout", clock.now()).with_severity(Severity::Low))
            .unwrap();
        let id = outcome.incident().unwrap();
        severities.push(desk.get(id).unwrap().severity());
        resolve_only(&desk, id);
        clock.advance(Duration::days(1));
    }
    assert_eq!(
        severities,
        [Severity::Low, Severity::Low, Severity::High, Severity::High]
    );
}

#[test]
fn maintenance_windows_record_but_open_nothing() {
    let clock = ManualClock::new(t0());
    let window = MaintenanceWindow {
        service: "online shop".parse().unwrap(),
        from: t0(),
        until: t0() + Duration::hours(2),
        reason: "payment provider migration".into(),
    };
    let desk = desk(
        policy_with(Intake {
            maintenance: vec![window.clone()],
            ..Intake::default()
        }),
        &clock,
    );
    let outcome = desk.ingest(&alert("checkout", t0())).unwrap();
    assert_eq!(
        outcome,
        Ingested::Suppressed {
            window: window.clone(),
            recorded_on: None
        }
    );
    assert_eq!(desk.counts().total, 0);
    // Another service is not in maintenance.
    let pos = Alert::firing("uptime", "till", "POS", "Till offline", t0()).unwrap();
    assert!(matches!(
        desk.ingest(&pos).unwrap(),
        Ingested::Opened { .. }
    ));
    clock.advance(Duration::hours(2)); // the window ends (exclusive)
    assert!(matches!(
        desk.ingest(&alert("checkout", clock.now())).unwrap(),
        Ingested::Opened { .. }
    ));
}

#[test]
fn maintenance_does_not_reopen_but_records_on_the_incident() {
    let clock = ManualClock::new(t0());
    let window = MaintenanceWindow {
        service: "online shop".parse().unwrap(),
        from: t0() + Duration::minutes(10),
        until: t0() + Duration::hours(1),
        reason: String::new(),
    };
    let desk = desk(
        policy_with(Intake {
            maintenance: vec![window.clone()],
            ..Intake::default()
        }),
        &clock,
    );
    let Ingested::Opened { id } = desk.ingest(&alert("checkout", t0())).unwrap() else {
        panic!()
    };
    resolve_only(&desk, id);
    clock.advance(Duration::minutes(15));
    let outcome = desk.ingest(&alert("checkout", clock.now())).unwrap();
    assert_eq!(
        outcome,
        Ingested::Suppressed {
            window,
            recorded_on: Some(id)
        }
    );
    assert_eq!(desk.get(id).unwrap().status(), Status::Resolved);
    assert_eq!(desk.get(id).unwrap().signal_count(), 2);
}

#[test]
fn a_resolved_alert_without_an_incident_is_ignored() {
    let clock = ManualClock::new(t0());
    let desk = desk(Policy::small_business(), &clock);
    assert_eq!(
        desk.ingest(&alert("checkout", t0()).resolved()).unwrap(),
        Ingested::Ignored
    );
    assert_eq!(desk.counts().total, 0);
}

#[test]
fn quiet_alerts_auto_resolve_on_the_tick_after_the_quiet_period() {
    let clock = ManualClock::new(t0());
    let desk = desk(Policy::small_business(), &clock);
    let Ingested::Opened { id } = desk.ingest(&alert("checkout", t0())).unwrap() else {
        panic!()
    };
    clock.advance(Duration::minutes(4));
    assert_eq!(
        desk.ingest(&alert("checkout", t0()).resolved()).unwrap(),
        Ingested::Recorded { id }
    );
    let quiet_until = t0() + Duration::minutes(4) + Duration::minutes(15);
    desk.tick(quiet_until - Duration::seconds(1)).unwrap();
    assert_eq!(desk.get(id).unwrap().status(), Status::Open);
    assert!(desk.next_deadline().unwrap() <= quiet_until);
    clock.set(quiet_until);
    desk.tick(quiet_until).unwrap();
    let incident = desk.get(id).unwrap();
    assert_eq!(incident.status(), Status::Resolved);
    assert_eq!(incident.resolution(), Some(Resolution::AutoResolved));
    assert_eq!(incident.resolved_at(), Some(quiet_until));
}

#[test]
fn a_new_signal_restarts_the_quiet_period() {
    let clock = ManualClock::new(t0());
    let desk = desk(Policy::small_business(), &clock);
    let Ingested::Opened { id } = desk.ingest(&alert("checkout", t0())).unwrap() else {
        panic!()
    };
    desk.ingest(&alert("checkout", t0()).resolved()).unwrap();
    clock.advance(Duration::minutes(10));
    desk.ingest(&alert("checkout", clock.now())).unwrap(); // it flaps
    clock.advance(Duration::minutes(10));
    desk.tick(clock.now()).unwrap();
    assert_eq!(
        desk.get(id).unwrap().status(),
        Status::Open,
        "the new occurrence still fires"
    );
    desk.ingest(&alert("checkout", t0() + Duration::minutes(10)).resolved())
        .unwrap();
    clock.advance(Duration::minutes(15));
    desk.tick(clock.now()).unwrap();
    assert_eq!(desk.get(id).unwrap().status(), Status::Resolved);
}

#[test]
fn an_incident_a_person_acted_on_is_not_auto_resolved_unless_the_policy_says_so() {
    for anyway in [false, true] {
        let clock = ManualClock::new(t0());
        let desk = desk(
            policy_with(Intake {
                auto_resolve_after_human: anyway,
                ..Intake::default()
            }),
            &clock,
        );
        let Ingested::Opened { id } = desk.ingest(&alert("checkout", t0())).unwrap() else {
            panic!()
        };
        desk.ingest(&alert("checkout", t0()).resolved()).unwrap();
        clock.advance(Duration::minutes(1));
        desk.act(
            id,
            &owner(),
            Command::note("looking into the logs anyway").unwrap(),
        )
        .unwrap();
        clock.advance(Duration::hours(1));
        desk.tick(clock.now()).unwrap();
        let expected = if anyway {
            Status::Resolved
        } else {
            Status::Open
        };
        assert_eq!(
            desk.get(id).unwrap().status(),
            expected,
            "auto_resolve_after_human = {anyway}"
        );
    }
}

#[test]
fn two_threads_ingesting_the_same_new_alert_open_one_incident() {
    for _ in 0..20 {
        let clock = ManualClock::new(t0());
        let desk = desk(Policy::small_business(), &clock);
        let barrier = std::sync::Barrier::new(2);
        let outcomes: Vec<Ingested> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..2)
                .map(|_| {
                    let (desk, barrier) = (&desk, &barrier);
                    s.spawn(move || {
                        barrier.wait();
                        desk.ingest(&alert("checkout", t0())).unwrap()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(desk.counts().total, 1, "{outcomes:?}");
        assert_eq!(
            outcomes
                .iter()
                .filter(|o| matches!(o, Ingested::Opened { .. }))
                .count(),
            1
        );
    }
}

#[test]
fn two_desks_on_one_store_open_one_incident_for_the_same_alert() {
    let store = Arc::new(MemoryStore::new());
    let clock = ManualClock::new(t0());
    let a = Desk::new(Arc::clone(&store), &clock).unwrap();
    let b = Desk::new(Arc::clone(&store), &clock).unwrap();
    let first = a.ingest(&alert("checkout", t0())).unwrap();
    let second = b.ingest(&alert("checkout", t0())).unwrap();
    assert!(matches!(first, Ingested::Opened { .. }));
    assert_eq!(second.incident(), first.incident(), "{second:?}");
    assert_eq!(store.incident_count(), 1);
}

#[test]
fn open_once_with_an_idempotency_key_opens_once_even_after_a_restart() {
    let store = Arc::new(MemoryStore::new());
    let clock = ManualClock::new(t0());
    let desk = Desk::new(Arc::clone(&store), &clock).unwrap();
    let first = desk
        .open_once(&owner(), crate::support::new_incident(), "form-7731")
        .unwrap();
    let again = desk
        .open_once(&owner(), crate::support::new_incident(), "form-7731")
        .unwrap();
    assert_eq!(again.id, first.id);
    assert!(again.events.is_empty());
    let restarted = Desk::new(Arc::clone(&store), &clock).unwrap();
    let third = restarted
        .open_once(&owner(), crate::support::new_incident(), "form-7731")
        .unwrap();
    assert_eq!(third.id, first.id);
    assert_eq!(store.incident_count(), 1);
    assert!(
        desk.open_once(&owner(), crate::support::new_incident(), "  ")
            .is_err()
    );
}

#[test]
fn reports_from_people_open_or_attach_like_alerts_with_their_source() {
    let clock = ManualClock::new(t0());
    let desk = desk(Policy::small_business(), &clock);
    let report = |at| {
        Alert::report(
            Source::CustomerReport,
            incidents::intake::Reporter::new("Dana").unwrap(),
            "checkout-blank-page",
            "online shop",
            "Order page goes blank after Pay",
            at,
        )
        .unwrap()
    };
    let Ingested::Opened { id } = desk.ingest(&report(t0())).unwrap() else {
        panic!()
    };
    assert_eq!(desk.get(id).unwrap().source(), Source::CustomerReport);
    clock.advance(Duration::minutes(2));
    assert_eq!(
        desk.ingest(&report(clock.now())).unwrap(),
        Ingested::Recorded { id }
    );
    let staff = Alert::report(
        Source::StaffReport,
        incidents::intake::Reporter::new("Tom").unwrap(),
        "till",
        "POS",
        "Till frozen",
        t0(),
    )
    .unwrap();
    let Ingested::Opened { id: till } = desk.ingest(&staff).unwrap() else {
        panic!()
    };
    assert_eq!(desk.get(till).unwrap().source(), Source::StaffReport);
    assert!(
        Alert::report(
            Source::Alert,
            incidents::intake::Reporter::new("x").unwrap(),
            "x",
            "POS",
            "x",
            t0()
        )
        .is_err()
    );
}

#[test]
fn bad_alerts_name_the_field() {
    let err = Alert::firing("", "x", "POS", "t", t0()).unwrap_err();
    assert_eq!(err.field, "alert source");
    let err = Alert::firing("m", &"f".repeat(201), "POS", "t", t0()).unwrap_err();
    assert_eq!(err.field, "fingerprint");
    let err = Alert::firing("m", "f", "POS", "", t0()).unwrap_err();
    assert_eq!(err.field, "title");
    let err = alert("f", t0()).with_label("k", "line\nbreak").unwrap_err();
    assert_eq!(err.field, "label");
}

/// What incidents came out, in a form independent of ids and arrival order:
/// key → (distinct firing occurrences, whether it is a recurrence).
fn summary(desk: &Desk<MemoryStore, &ManualClock>) -> BTreeMap<String, (usize, bool)> {
    desk.list(&incidents::Filter::all())
        .iter()
        .map(|i| {
            (
                i.alert_key().unwrap().to_string(),
                (i.signal_count(), i.recurrence().is_some()),
            )
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any permutation or duplication of the same set of alerts yields the same incidents.
    #[test]
    fn permutations_and_duplicates_yield_the_same_incidents(
        alerts in prop::collection::btree_set((0u8..4, 0i64..5), 1..12),
        order in any::<prop::sample::Index>(),
        duplicates in prop::collection::vec(any::<prop::sample::Index>(), 0..10),
    ) {
        let alerts: Vec<(u8, i64)> = alerts.into_iter().collect();
        let make = |(f, m): (u8, i64)| alert(&format!("f{f}"), t0() + Duration::minutes(m));

        let clock = ManualClock::new(t0() + Duration::minutes(10));
        let reference = desk(Policy::small_business(), &clock);
        for a in &alerts {
            reference.ingest(&make(*a)).unwrap();
        }

        let mut shuffled = alerts.clone();
        let rotate = order.index(shuffled.len());
        shuffled.rotate_left(rotate);
        shuffled.reverse();
        for d in &duplicates {
            let pick = shuffled[d.index(shuffled.len())];
            let at = d.index(shuffled.len() + 1);
            shuffled.insert(at, pick);
        }
        let other = desk(Policy::small_business(), &clock);
        for a in &shuffled {
            other.ingest(&make(*a)).unwrap();
        }
        prop_assert_eq!(summary(&reference), summary(&other));
        let keys: std::collections::BTreeSet<u8> = alerts.iter().map(|(f, _)| *f).collect();
        prop_assert_eq!(summary(&other).len(), keys.len());
    }
}

#[test]
fn reopening_by_hand_after_an_auto_resolve_neither_auto_resolves_again_nor_stalls_ticks() {
    let clock = ManualClock::new(t0());
    let intake = Intake {
        auto_resolve_after_human: true,
        ..Intake::default()
    };
    let desk = desk(policy_with(intake), &clock);
    let Ingested::Opened { id } = desk.ingest(&alert("checkout", t0())).unwrap() else {
        panic!()
    };
    desk.ingest(&alert("checkout", t0()).resolved()).unwrap();
    let other = desk
        .open(&owner(), crate::support::new_incident())
        .unwrap()
        .id;
    clock.advance(Duration::minutes(15));
    desk.tick(clock.now()).unwrap();
    assert_eq!(
        desk.get(id).unwrap().resolution(),
        Some(Resolution::AutoResolved)
    );
    desk.act(
        id,
        &owner(),
        Command::reopen("customers still complain").unwrap(),
    )
    .unwrap();
    // Time passes; ticks keep working for every incident, and the reopened one stays open.
    for _ in 0..5 {
        clock.advance(Duration::minutes(10));
        let report = desk.tick(clock.now()).unwrap();
        assert!(report.failed.is_empty(), "{:?}", report.failed);
    }
    assert_eq!(desk.get(id).unwrap().status(), Status::Open);
    assert!(
        !desk.get(other).unwrap().fired_timers().at_risk.is_empty(),
        "the other incident's timers fired"
    );
    // A new alert that comes and goes auto-resolves it again.
    desk.ingest(&alert("checkout", clock.now())).unwrap();
    desk.ingest(&alert("checkout", clock.now()).resolved())
        .unwrap();
    clock.advance(Duration::minutes(15));
    desk.tick(clock.now()).unwrap();
    assert_eq!(desk.get(id).unwrap().status(), Status::Resolved);
}
