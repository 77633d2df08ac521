//! Correlation: a signal about a service joins the incident already running on it, by the
//! exact rule of `Correlation` (active, same service, opened or heard from within the window,
//! inclusive, the other side under the default), with its documented tie-break.

use std::sync::Arc;

use chrono::Duration;
use incidents::intake::{Correlate, Correlation, Ingested, Intake, MaintenanceWindow, Reporter};
use incidents::{Alert, Clock, Filter, ManualClock, MemoryStore, Policy, Severity, Source, Status};

use super::{
    SHOP, by_hand, close, dana, desk, monitor, monitor_from, opened, policy, report, report_on,
    resolve, shared,
};
use crate::support::{owner, t0};

#[test]
fn a_customer_report_joins_the_incident_a_monitor_opened() {
    let clock = ManualClock::new(t0());
    let desk = desk(Policy::small_business(), &clock);
    let id = opened(
        desk.ingest(&monitor("checkout-5xx", t0()).with_severity(Severity::Low))
            .unwrap(),
    );
    clock.advance(Duration::minutes(5));
    let report = report("checkout", clock.now()).with_severity(Severity::Critical);
    assert_eq!(desk.ingest(&report).unwrap(), Ingested::Joined { id });

    assert_eq!(desk.counts().total, 1);
    let incident = desk.get(id).unwrap();
    assert_eq!(
        incident.severity(),
        Severity::Low,
        "a joining signal does not change the severity"
    );
    assert_eq!(incident.source(), Source::Alert);
    assert_eq!(incident.sources(), [Source::Alert, Source::CustomerReport]);
    assert_eq!(incident.reporters(), [&dana()]);
    let last = incident.signals().last().unwrap();
    assert_eq!(last.signal, report.signal());
    assert_eq!(last.received_at, clock.now());
    assert_eq!(incident.last_heard_at(), clock.now());
    assert_eq!(incident.signal_count(), 2);
}

#[test]
fn a_monitor_alert_joins_the_incident_a_report_opened() {
    let clock = ManualClock::new(t0());
    let desk = desk(Policy::small_business(), &clock);
    let id = opened(desk.ingest(&report("checkout", t0())).unwrap());
    assert_eq!(desk.get(id).unwrap().severity(), Severity::Medium);
    clock.advance(Duration::minutes(5));
    let alert = monitor("checkout-5xx", clock.now()).with_severity(Severity::Critical);
    assert_eq!(desk.ingest(&alert).unwrap(), Ingested::Joined { id });
    let incident = desk.get(id).unwrap();
    assert_eq!(incident.severity(), Severity::Medium, "severity unchanged");
    assert_eq!(incident.source(), Source::CustomerReport);
    assert_eq!(incident.sources(), [Source::CustomerReport, Source::Alert]);
    assert_eq!(desk.counts().total, 1);
}

#[test]
fn a_staff_report_and_a_proactive_check_join_like_a_customer_report_and_an_alert() {
    let clock = ManualClock::new(t0());
    let desk = desk(Policy::small_business(), &clock);
    let staff = Alert::report(
        Source::StaffReport,
        Reporter::new("Tom").unwrap(),
        "till",
        "POS",
        "Till frozen",
        t0(),
    )
    .unwrap();
    let id = opened(desk.ingest(&staff).unwrap());
    let check = monitor_from("nightly", "till-selftest", "POS", t0()).from_proactive_check();
    assert_eq!(desk.ingest(&check).unwrap(), Ingested::Joined { id });
    assert_eq!(
        desk.get(id).unwrap().sources(),
        [Source::StaffReport, Source::ProactiveCheck]
    );
}

#[test]
fn a_monitor_alert_joins_an_incident_opened_by_hand_from_a_customer_call() {
    let clock = ManualClock::new(t0());
    let desk = desk(Policy::small_business(), &clock);
    let id = desk.open(&owner(), by_hand(Severity::High)).unwrap().id;
    clock.advance(Duration::minutes(10));
    assert_eq!(
        desk.ingest(&monitor("checkout-5xx", clock.now())).unwrap(),
        Ingested::Joined { id }
    );
}

#[test]
fn the_correlation_window_is_inclusive_from_the_opening() {
    for (after, joins) in [
        (Duration::hours(1), true),
        (Duration::hours(1) + Duration::seconds(1), false),
    ] {
        let clock = ManualClock::new(t0());
        let desk = desk(Policy::small_business(), &clock);
        let id = opened(desk.ingest(&monitor("checkout-5xx", t0())).unwrap());
        clock.advance(after);
        let outcome = desk.ingest(&report("checkout", clock.now())).unwrap();
        if joins {
            assert_eq!(outcome, Ingested::Joined { id }, "after {after}");
        } else {
            let new = opened(outcome);
            assert_ne!(new, id);
            assert_eq!(desk.get(id).unwrap().signal_count(), 1, "after {after}");
        }
    }
}

#[test]
fn the_correlation_window_is_inclusive_from_the_last_signal() {
    for (after, joins) in [
        (Duration::hours(1), true),
        (Duration::hours(1) + Duration::seconds(1), false),
    ] {
        let clock = ManualClock::new(t0());
        let desk = desk(Policy::small_business(), &clock);
        let id = opened(desk.ingest(&monitor("checkout-5xx", t0())).unwrap());
        // The monitor fires again 50 minutes later: the incident was last heard from then.
        clock.advance(Duration::minutes(50));
        let heard = clock.now();
        assert_eq!(
            desk.ingest(&monitor("checkout-5xx", heard)).unwrap(),
            Ingested::Recorded { id }
        );
        assert_eq!(desk.get(id).unwrap().last_heard_at(), heard);
        clock.set(heard + after);
        let outcome = desk.ingest(&report("checkout", clock.now())).unwrap();
        assert_eq!(
            outcome == (Ingested::Joined { id }),
            joins,
            "after {after}: {outcome:?}"
        );
        if !joins {
            assert!(matches!(outcome, Ingested::Opened { .. }), "{outcome:?}");
        }
    }
}

#[test]
fn a_custom_correlation_window_is_inclusive_too() {
    let window = Duration::minutes(10);
    for (after, joins) in [(window, true), (window + Duration::seconds(1), false)] {
        let clock = ManualClock::new(t0());
        let desk = desk(
            policy(Correlation {
                window,
                ..Correlation::default()
            }),
            &clock,
        );
        let id = opened(desk.ingest(&report("checkout", t0())).unwrap());
        clock.advance(after);
        let outcome = desk.ingest(&monitor("checkout-5xx", clock.now())).unwrap();
        assert_eq!(outcome == (Ingested::Joined { id }), joins, "{outcome:?}");
    }
}

#[test]
fn two_monitors_or_two_report_topics_do_not_join_each_other_by_default() {
    let clock = ManualClock::new(t0());
    let desk = desk(Policy::small_business(), &clock);
    let a = opened(desk.ingest(&monitor("checkout-5xx", t0())).unwrap());
    let b = opened(
        desk.ingest(&monitor_from("shopmon", "latency", SHOP, t0()))
            .unwrap(),
    );
    assert_ne!(a, b);

    // Two reports on different topics, on a service no monitor spoke about.
    let x = opened(desk.ingest(&report_on("POS", "till", t0())).unwrap());
    let staff = Alert::report(
        Source::StaffReport,
        Reporter::new("Tom").unwrap(),
        "card-reader",
        "POS",
        "Card reader beeps",
        t0(),
    )
    .unwrap();
    let y = opened(desk.ingest(&staff).unwrap());
    assert_ne!(x, y);
    assert_eq!(desk.counts().total, 4);
}

#[test]
fn a_second_monitor_joins_once_people_reported_on_the_incident() {
    // "Two monitors' alerts … do not join each other by themselves": once a customer's report
    // joined the first monitor's incident, it has heard from people, and a second monitor's
    // alert joins it.
    let clock = ManualClock::new(t0());
    let desk = desk(Policy::small_business(), &clock);
    let id = opened(desk.ingest(&monitor("checkout-5xx", t0())).unwrap());
    assert_eq!(
        desk.ingest(&report("checkout", t0())).unwrap(),
        Ingested::Joined { id }
    );
    assert_eq!(
        desk.ingest(&monitor_from("shopmon", "latency", SHOP, t0()))
            .unwrap(),
        Ingested::Joined { id }
    );
}

#[test]
fn any_source_joins_two_monitors_and_two_report_topics() {
    let clock = ManualClock::new(t0());
    let desk = desk(
        policy(Correlation {
            between: Correlate::AnySource,
            ..Correlation::default()
        }),
        &clock,
    );
    let shop = opened(desk.ingest(&monitor("checkout-5xx", t0())).unwrap());
    assert_eq!(
        desk.ingest(&monitor_from("shopmon", "latency", SHOP, t0()))
            .unwrap(),
        Ingested::Joined { id: shop }
    );
    let pos = opened(desk.ingest(&report_on("POS", "till", t0())).unwrap());
    assert_eq!(
        desk.ingest(&report_on("POS", "card-reader", t0())).unwrap(),
        Ingested::Joined { id: pos }
    );
    assert_eq!(desk.counts().total, 2);
}

#[test]
fn correlation_off_never_joins() {
    let clock = ManualClock::new(t0());
    let desk = desk(policy(Correlation::off()), &clock);
    let a = opened(desk.ingest(&monitor("checkout-5xx", t0())).unwrap());
    let b = opened(desk.ingest(&report("checkout", t0())).unwrap());
    let c = opened(
        desk.ingest(&monitor_from("shopmon", "latency", SHOP, t0()))
            .unwrap(),
    );
    assert_eq!(std::collections::BTreeSet::from([a, b, c]).len(), 3);
    assert_eq!(desk.counts().total, 3);
    for id in [a, b, c] {
        assert_eq!(desk.get(id).unwrap().signals().len(), 1);
    }
}

#[test]
fn a_resolved_or_closed_incident_is_not_joined() {
    let clock = ManualClock::new(t0());
    let desk = desk(Policy::small_business(), &clock);
    let resolved = opened(desk.ingest(&monitor("checkout-5xx", t0())).unwrap());
    resolve(&desk, resolved);
    clock.advance(Duration::minutes(1));
    let new = opened(desk.ingest(&report("checkout", clock.now())).unwrap());
    assert_ne!(new, resolved);
    assert_eq!(desk.get(resolved).unwrap().signals().len(), 1);

    let closed = opened(
        desk.ingest(&monitor_from("pos", "till", "POS", t0()))
            .unwrap(),
    );
    close(&desk, closed);
    let other = opened(desk.ingest(&report_on("POS", "till", clock.now())).unwrap());
    assert_ne!(other, closed);
    assert_eq!(desk.get(closed).unwrap().status(), Status::Closed);
}

#[test]
fn an_incident_about_another_service_is_not_joined() {
    let clock = ManualClock::new(t0());
    let desk = desk(Policy::small_business(), &clock);
    let shop = opened(desk.ingest(&monitor("checkout-5xx", t0())).unwrap());
    let pos = opened(desk.ingest(&report_on("POS", "till", t0())).unwrap());
    assert_ne!(shop, pos);
    // Names compare exactly.
    let other = opened(
        desk.ingest(&report_on("Online shop", "checkout", t0()))
            .unwrap(),
    );
    assert_ne!(other, shop);
    assert_eq!(desk.get(shop).unwrap().signals().len(), 1);
}

#[test]
fn nothing_joins_during_a_maintenance_window() {
    let clock = ManualClock::new(t0());
    let window = MaintenanceWindow {
        service: SHOP.parse().unwrap(),
        from: t0() + Duration::minutes(10),
        until: t0() + Duration::minutes(30),
        reason: "payment provider migration".into(),
    };
    let desk = desk(
        Policy::small_business()
            .with_intake(Intake {
                maintenance: vec![window.clone()],
                ..Intake::default()
            })
            .unwrap(),
        &clock,
    );
    let id = opened(desk.ingest(&monitor("checkout-5xx", t0())).unwrap());
    clock.advance(Duration::minutes(15));
    assert_eq!(
        desk.ingest(&report("checkout", clock.now())).unwrap(),
        Ingested::Suppressed {
            window,
            recorded_on: None
        }
    );
    assert_eq!(desk.get(id).unwrap().signals().len(), 1);
    assert_eq!(desk.counts().total, 1);
    // The window ends (exclusive): the next report joins.
    clock.set(t0() + Duration::minutes(30));
    assert_eq!(
        desk.ingest(&report("checkout", clock.now())).unwrap(),
        Ingested::Joined { id }
    );
}

#[test]
fn a_resolved_signal_never_joins() {
    let clock = ManualClock::new(t0());
    let desk = desk(Policy::small_business(), &clock);
    let id = opened(desk.ingest(&report("checkout", t0())).unwrap());
    assert_eq!(
        desk.ingest(&monitor("checkout-5xx", t0()).resolved())
            .unwrap(),
        Ingested::Ignored
    );
    assert_eq!(desk.get(id).unwrap().signals().len(), 1);
}

#[test]
fn later_deliveries_of_a_joined_key_are_recorded_on_the_same_incident_even_after_a_restart() {
    let store = Arc::new(MemoryStore::new());
    let clock = ManualClock::new(t0());
    let desk = shared(&store, Policy::small_business(), &clock);
    let id = opened(desk.ingest(&monitor("checkout-5xx", t0())).unwrap());
    clock.advance(Duration::minutes(5));
    let first = report("checkout", clock.now());
    assert_eq!(desk.ingest(&first).unwrap(), Ingested::Joined { id });
    assert_eq!(desk.ingest(&first).unwrap(), Ingested::Duplicate { id });
    clock.advance(Duration::minutes(5));
    assert_eq!(
        desk.ingest(&report("checkout", clock.now())).unwrap(),
        Ingested::Recorded { id }
    );
    // Past the correlation window, the key still leads to the incident it joined.
    clock.advance(Duration::hours(3));
    assert_eq!(
        desk.ingest(&report("checkout", clock.now())).unwrap(),
        Ingested::Recorded { id }
    );
    let restarted = shared(&store, Policy::small_business(), &clock);
    clock.advance(Duration::minutes(1));
    assert_eq!(
        restarted.ingest(&report("checkout", clock.now())).unwrap(),
        Ingested::Recorded { id }
    );
    assert_eq!(
        restarted.ingest(&first).unwrap(),
        Ingested::Duplicate { id }
    );
    assert_eq!(store.incident_count(), 1);
}

#[test]
fn a_joined_key_reopens_its_incident_within_the_reopen_window() {
    let clock = ManualClock::new(t0());
    let desk = desk(Policy::small_business(), &clock);
    let id = opened(desk.ingest(&monitor("checkout-5xx", t0())).unwrap());
    desk.ingest(&report("checkout", t0())).unwrap();
    clock.advance(Duration::minutes(10));
    resolve(&desk, id);
    clock.advance(Duration::hours(1));
    assert_eq!(
        desk.ingest(&report("checkout", clock.now())).unwrap(),
        Ingested::Reopened { id }
    );
}

#[test]
fn several_qualifying_incidents_join_the_one_heard_from_most_recently() {
    let clock = ManualClock::new(t0());
    let desk = desk(Policy::small_business(), &clock);
    let a = opened(desk.ingest(&monitor("a", t0())).unwrap());
    clock.advance(Duration::minutes(1));
    let b = opened(desk.ingest(&monitor("b", clock.now())).unwrap());
    clock.advance(Duration::minutes(1));
    assert_eq!(
        desk.ingest(&report("one", clock.now())).unwrap(),
        Ingested::Joined { id: b },
        "b was opened (heard from) last"
    );
    clock.advance(Duration::minutes(1));
    assert_eq!(
        desk.ingest(&monitor("a", clock.now())).unwrap(),
        Ingested::Recorded { id: a }
    );
    clock.advance(Duration::minutes(1));
    assert_eq!(
        desk.ingest(&report("two", clock.now())).unwrap(),
        Ingested::Joined { id: a },
        "a's monitor fired again since"
    );
}

#[test]
fn heard_from_at_the_same_time_the_one_opened_first_is_joined() {
    let clock = ManualClock::new(t0());
    let desk = desk(Policy::small_business(), &clock);
    // b is opened first but its alert started later, so its id (a UUID v7 from the start)
    // is the larger one: "opened first" and "smallest id" disagree.
    let b = opened(
        desk.ingest(&monitor("b", t0() + Duration::minutes(5)))
            .unwrap(),
    );
    clock.advance(Duration::minutes(1));
    let a = opened(desk.ingest(&monitor("a", t0())).unwrap());
    assert!(a < b);
    clock.advance(Duration::minutes(1));
    // Both fire again at the same instant: heard from at the same time.
    for key in ["a", "b"] {
        desk.ingest(&monitor(key, clock.now())).unwrap();
    }
    assert_eq!(
        desk.get(a).unwrap().last_heard_at(),
        desk.get(b).unwrap().last_heard_at()
    );
    assert_eq!(
        desk.ingest(&report("checkout", clock.now())).unwrap(),
        Ingested::Joined { id: b }
    );
}

#[test]
fn heard_from_and_opened_at_the_same_time_the_smallest_id_is_joined() {
    for order in [["a", "b"], ["b", "a"]] {
        let clock = ManualClock::new(t0());
        let desk = desk(Policy::small_business(), &clock);
        let ids: Vec<_> = order
            .iter()
            .map(|key| opened(desk.ingest(&monitor(key, t0())).unwrap()))
            .collect();
        let smallest = *ids.iter().min().unwrap();
        assert_eq!(
            desk.ingest(&report("checkout", t0())).unwrap(),
            Ingested::Joined { id: smallest },
            "{order:?}"
        );
    }
}

#[test]
fn a_report_joins_only_the_monitor_side_under_the_default() {
    // A people-only incident and a monitor incident on the same service: a report joins the
    // monitor's, even though the people's incident was heard from more recently.
    let clock = ManualClock::new(t0());
    let desk = desk(Policy::small_business(), &clock);
    let monitor_incident = opened(desk.ingest(&monitor("checkout-5xx", t0())).unwrap());
    clock.advance(Duration::minutes(1));
    let people = desk.open(&owner(), by_hand(Severity::Medium)).unwrap().id;
    clock.advance(Duration::minutes(1));
    assert_eq!(
        desk.ingest(&report("checkout", clock.now())).unwrap(),
        Ingested::Joined {
            id: monitor_incident
        }
    );
    assert_eq!(desk.get(people).unwrap().signals().len(), 0);
    assert_eq!(desk.list(&Filter::all()).len(), 2);
}

#[test]
fn correlation_comes_before_a_recurrence() {
    // The monitor's key tracks an incident resolved two hours ago (past the reopen window,
    // within the recurrence window); a customer's report is running on the service: the
    // alert joins it rather than opening a recurrence.
    let clock = ManualClock::new(t0());
    let desk = desk(Policy::small_business(), &clock);
    let old = opened(desk.ingest(&monitor("checkout-5xx", t0())).unwrap());
    resolve(&desk, old);
    clock.advance(Duration::hours(2));
    let people = opened(desk.ingest(&report("checkout", clock.now())).unwrap());
    clock.advance(Duration::minutes(5));
    assert_eq!(
        desk.ingest(&monitor("checkout-5xx", clock.now())).unwrap(),
        Ingested::Joined { id: people }
    );
    assert_eq!(desk.get(old).unwrap().status(), Status::Resolved);
    // Its later deliveries go there too.
    clock.advance(Duration::minutes(5));
    assert_eq!(
        desk.ingest(&monitor("checkout-5xx", clock.now())).unwrap(),
        Ingested::Recorded { id: people }
    );
}
