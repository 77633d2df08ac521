//! Heartbeats, a dead man's switch: check-ins that never open anything while they keep coming,
//! a silence that opens exactly one incident at exactly `every + grace` and pages, check-ins
//! that resolve it again, a café's till expected only during opening hours, restarts,
//! maintenance, and a property over random check-in times. All on a `ManualClock`; nothing
//! sleeps.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc, Weekday};
use chrono_tz::Asia::Jerusalem;
use chrono_tz::Tz;
use incidents::desk::{CheckIn, Missed, RunReport};
use incidents::intake::{Ingested, Intake, MaintenanceWindow};
use incidents::lifecycle::{Audience, Notification, SignalState};
use incidents::notify::DeliveryError;
use incidents::policy::{Heartbeat, Hours, PolicyError};
use incidents::{
    Calendar, Clock, Desk, Error, ManualClock, MemoryStore, Notifier, Policy, Resolution, Service,
    Severity, Source, Status, Store,
};
use proptest::prelude::*;

use crate::support::t0;

const EVERY: Duration = Duration::minutes(5);
const GRACE: Duration = Duration::minutes(2);
const QUIET: Duration = Duration::minutes(15);

/// Till 1 at the shop: a check-in every 5 minutes, 2 minutes' grace, high severity.
fn till() -> Heartbeat {
    Heartbeat::new("till-1", "POS", EVERY)
        .unwrap()
        .with_grace(GRACE)
        .with_severity(Severity::High)
}

/// The documented defaults, with `heartbeats` declared.
fn policy(heartbeats: impl IntoIterator<Item = Heartbeat>) -> Policy {
    heartbeats
        .into_iter()
        .fold(Policy::small_business(), |p, h| {
            p.with_heartbeat(h).unwrap()
        })
}

fn desk<S: Store>(store: S, clock: &ManualClock, policy: Policy) -> Desk<S, &ManualClock> {
    Desk::builder(store, clock).policy(policy).build().unwrap()
}

/// Records every notification delivered.
#[derive(Default)]
struct Pager(Mutex<Vec<Notification>>);

impl Notifier for Pager {
    fn deliver(&self, n: &Notification) -> Result<(), DeliveryError> {
        self.0.lock().unwrap().push(n.clone());
        Ok(())
    }
}

impl Pager {
    /// Pages (notifications to people, not customers) about incident `id`.
    fn pages(&self, id: incidents::IncidentId) -> usize {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|n| n.incident == Some(id) && matches!(n.audience, Audience::Recipients(_)))
            .count()
    }
}

/// When each heartbeat was reported missing in `run`.
fn missed(run: &RunReport) -> Vec<(DateTime<Utc>, &str)> {
    run.missed
        .iter()
        .map(|(at, m)| (*at, m.heartbeat.as_str()))
        .collect()
}

/// Checks `names` in every 5 minutes from `from`, and at `to`, running `desk` in between;
/// returns what was reported missing meanwhile, and when.
fn keep_alive<S: Store>(
    desk: &Desk<S, &ManualClock>,
    pager: &Pager,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    names: &[&str],
) -> Vec<(DateTime<Utc>, String)> {
    let mut reported = Vec::new();
    let mut at = from;
    loop {
        let run = desk.run_until(at, pager).unwrap();
        reported.extend(run.missed.into_iter().map(|(when, m)| (when, m.heartbeat)));
        for name in names {
            desk.check_in(name).unwrap();
        }
        if at == to {
            return reported;
        }
        at = (at + EVERY).min(to);
    }
}

fn opened(missed: &Missed) -> incidents::IncidentId {
    match missed.ingested {
        Ingested::Opened { id } | Ingested::Reopened { id } => id,
        ref other => panic!("expected an incident to open, got {other:?}"),
    }
}

#[test]
fn regular_check_ins_never_open_anything_and_record_nothing() {
    let clock = ManualClock::new(t0());
    let store = Arc::new(MemoryStore::new());
    let desk = desk(Arc::clone(&store), &clock, policy([till()]));
    let pager = Pager::default();
    // Every 5 minutes, then a minute late, then as late as the grace allows: 6m59s.
    let mut at = t0();
    for gap in [EVERY; 30].into_iter().chain([
        EVERY + Duration::minutes(1),
        EVERY + GRACE - Duration::seconds(1),
    ]) {
        at += gap;
        let run = desk.run_until(at, &pager).unwrap();
        assert!(run.missed.is_empty(), "{at}: {:?}", run.missed);
        assert_eq!(desk.check_in("till-1").unwrap(), CheckIn::Noted);
    }
    assert_eq!(desk.counts().total, 0);
    assert_eq!(store.incident_count(), 0, "a check-in records nothing");
    assert!(pager.0.lock().unwrap().is_empty());
    let state = &desk.heartbeats()[0];
    assert_eq!(state.last_check_in, Some(at));
    assert_eq!(state.due, Some(at + EVERY + GRACE));
    assert_eq!(state.missing_since, None);
}

#[test]
fn a_silence_opens_one_incident_at_exactly_every_plus_grace_and_pages() {
    let clock = ManualClock::new(t0());
    let desk = desk(MemoryStore::new(), &clock, policy([till()]));
    let pager = Pager::default();
    let last = t0() + Duration::minutes(3);
    desk.run_until(last, &pager).unwrap();
    desk.check_in("till-1").unwrap();
    let due = last + EVERY + GRACE;

    // One second earlier: nothing.
    let run = desk.run_until(due - Duration::seconds(1), &pager).unwrap();
    assert!(run.missed.is_empty());
    assert_eq!(desk.counts().total, 0);

    // At exactly last + every + grace: one incident, paged at once (high pages at any hour).
    let run = desk.run_until(due, &pager).unwrap();
    assert_eq!(missed(&run), [(due, "till-1")]);
    let report = &run.missed[0].1;
    assert_eq!(report.last_check_in, Some(last));
    assert_eq!(report.missing_since, due);
    assert_eq!(report.service, Service::new("POS").unwrap());
    let id = opened(report);
    let incident = desk.get(id).unwrap();
    assert_eq!(incident.created_at(), due);
    assert_eq!(incident.service().as_str(), "POS");
    assert_eq!(incident.severity(), Severity::High);
    assert_eq!(incident.source(), Source::Alert);
    assert_eq!(incident.alert_key(), Some("heartbeat/till-1"));
    assert_eq!(
        incident.title().as_str(),
        "till-1: no check-in since 2026-11-27 12:03 UTC"
    );
    let signal = &incident.signals()[0].signal;
    assert_eq!((signal.starts_at, signal.state), (due, SignalState::Firing));
    assert_eq!(pager.pages(id), 1, "the owner is paged at once");
    assert!(run.delivered.iter().any(|(at, _)| *at == due));

    // More silence: the same silence, reported once. The escalation goes on as for any alert.
    let run = desk.run_until(due + Duration::hours(6), &pager).unwrap();
    assert!(run.missed.is_empty());
    assert_eq!(desk.counts().total, 1);
    assert_eq!(desk.get(id).unwrap().signals().len(), 1);
    assert_eq!(desk.heartbeats()[0].missing_since, Some(due));
    assert_eq!(desk.heartbeats()[0].due, None);
    // A spurious tick in the middle of it records nothing either.
    assert!(desk.tick(clock.now()).unwrap().missed.is_empty());
}

#[test]
fn checking_in_again_resolves_the_signal_and_the_quiet_period_auto_resolves_it() {
    let clock = ManualClock::new(t0());
    let desk = desk(MemoryStore::new(), &clock, policy([till()]));
    let pager = Pager::default();
    let due = t0() + EVERY + GRACE; // never checked in since the desk started
    let run = desk.run_until(due, &pager).unwrap();
    let id = opened(&run.missed[0].1);
    assert_eq!(run.missed[0].1.last_check_in, None);
    assert_eq!(
        desk.get(id).unwrap().title().as_str(),
        "till-1: no check-in since the desk started at 2026-11-27 12:00 UTC"
    );

    let back = due + Duration::minutes(13);
    desk.run_until(back, &pager).unwrap();
    assert_eq!(
        desk.check_in("till-1").unwrap(),
        CheckIn::Back {
            missing_since: due,
            ingested: Ingested::Recorded { id },
        }
    );
    let incident = desk.get(id).unwrap();
    assert!(incident.signals_all_resolved());
    let resolved = &incident.signals()[1];
    assert_eq!(
        (resolved.signal.starts_at, resolved.signal.state),
        (due, SignalState::Resolved)
    );
    assert_eq!(resolved.received_at, back);
    // The next check-in is an ordinary one again.
    assert_eq!(desk.check_in("till-1").unwrap(), CheckIn::Noted);

    // The intake's quiet period (15 minutes) resolves it, at exactly that instant, while the
    // till keeps checking in.
    let quiet_missed = keep_alive(
        &desk,
        &pager,
        (back, back + QUIET - Duration::seconds(1)),
        &["till-1"],
    );
    assert!(quiet_missed.is_empty());
    assert!(desk.get(id).unwrap().is_active());
    desk.run_until(back + QUIET, &pager).unwrap();
    let incident = desk.get(id).unwrap();
    assert_eq!(incident.status(), Status::Resolved);
    assert_eq!(incident.resolution(), Some(Resolution::AutoResolved));
    assert_eq!(incident.resolved_at(), Some(back + QUIET));

    // Silent again: a new silence, reported again (7 minutes after the auto-resolve, the
    // incident reopens within the reopen window).
    let last = back + QUIET - Duration::seconds(1);
    let run = desk.run_until(last + EVERY + GRACE, &pager).unwrap();
    assert_eq!(missed(&run), [(last + EVERY + GRACE, "till-1")]);
    assert_eq!(run.missed[0].1.ingested, Ingested::Reopened { id });
}

#[test]
fn a_till_expected_only_while_the_cafe_is_open_is_not_missing_overnight_or_on_the_closed_day() {
    // A café in Jerusalem: open Sunday to Friday 07:00–19:00, closed on Saturdays.
    use Weekday::{Fri, Mon, Sun, Thu, Tue, Wed};
    let cafe = Calendar::weekly(Tz::Asia__Jerusalem)
        .open([Sun, Mon, Tue, Wed, Thu, Fri], "07:00", "19:00")
        .unwrap();
    let local = |(y, m, d): (i32, u32, u32), h: u32, min: u32| {
        let day = NaiveDate::from_ymd_opt(y, m, d).unwrap();
        Jerusalem
            .from_local_datetime(&day.and_hms_opt(h, min, 0).unwrap())
            .unwrap()
            .with_timezone(&Utc)
    };
    let pos_till = till().only_when_open();
    // The back-office server is expected around the clock: the contrast.
    let server = Heartbeat::new("server", "online shop", EVERY)
        .unwrap()
        .with_grace(GRACE);
    let policy = Policy::small_business()
        .with_calendar(cafe)
        .unwrap()
        .with_heartbeat(pos_till)
        .unwrap()
        .with_heartbeat(server)
        .unwrap();
    let thursday = (2026, 11, 26);
    let clock = ManualClock::new(local(thursday, 6, 58));
    let desk = desk(MemoryStore::new(), &clock, policy);
    let pager = Pager::default();

    // Thursday: the till is switched on at 07:02 and checks in every 5 minutes until 18:57,
    // and so does the server, which then stops too.
    assert_eq!(
        desk.heartbeats()[1].due,
        Some(local(thursday, 7, 7)),
        "counted from the opening at 07:00, not from the desk's start at 06:58"
    );
    let thursday_missed = keep_alive(
        &desk,
        &pager,
        (local(thursday, 7, 2), local(thursday, 18, 57)),
        &["till-1", "server"],
    );
    assert!(thursday_missed.is_empty(), "{thursday_missed:?}");

    // Overnight: the server is missed at 19:04; the till is not, and on Friday it is
    // switched on at 07:03 and works until 18:58.
    let friday = (2026, 11, 27);
    let night = desk.run_until(local(friday, 7, 3), &pager).unwrap();
    assert_eq!(missed(&night), [(local(thursday, 19, 4), "server")]);
    assert_eq!(
        desk.heartbeats()[1].due,
        Some(local(friday, 7, 4)),
        "3 minutes of Thursday and 4 of Friday: 7 minutes of opening time"
    );
    let friday_missed = keep_alive(
        &desk,
        &pager,
        (local(friday, 7, 3), local(friday, 18, 58)),
        &["till-1"],
    );
    assert!(friday_missed.is_empty(), "{friday_missed:?}");

    // Then the till stays silent: not on the closed Saturday, but at Sunday's opening plus
    // what is left of the 7 minutes after 2 minutes of Friday.
    let sunday = (2026, 11, 29);
    let weekend = desk
        .run_until(local(sunday, 7, 5) - Duration::seconds(1), &pager)
        .unwrap();
    assert!(weekend.missed.is_empty(), "{:?}", weekend.missed);
    let sunday_run = desk.run_until(local(sunday, 7, 5), &pager).unwrap();
    assert_eq!(missed(&sunday_run), [(local(sunday, 7, 5), "till-1")]);
    let id = opened(&sunday_run.missed[0].1);
    let incident = desk.get(id).unwrap();
    assert_eq!(incident.created_at(), local(sunday, 7, 5));
    assert_eq!(
        incident.title().as_str(),
        "till-1: no check-in since 2026-11-27 18:58 IST"
    );
    assert_eq!(pager.pages(id), 1, "paged at once");
    // Reported once, however long it stays silent.
    let later = desk.run_until(local(sunday, 18, 0), &pager).unwrap();
    assert!(later.missed.is_empty());
}

#[test]
fn after_a_restart_the_grace_counts_from_the_restart() {
    let store = Arc::new(MemoryStore::new());
    let clock = ManualClock::new(t0());
    let pager = Pager::default();
    {
        let first = desk(Arc::clone(&store), &clock, policy([till()]));
        first
            .run_until(t0() + Duration::minutes(1), &pager)
            .unwrap();
        first.check_in("till-1").unwrap();
        // The till dies at 12:01; the desk's process is restarted at 12:05.
    }
    let restart = t0() + Duration::minutes(5);
    clock.set(restart);
    let second = desk(Arc::clone(&store), &clock, policy([till()]));
    assert_eq!(second.next_deadline(), Some(restart + EVERY + GRACE));
    let state = &second.heartbeats()[0];
    assert_eq!((state.last_check_in, state.counting_from), (None, restart));
    let run = second
        .run_until(restart + EVERY + GRACE - Duration::seconds(1), &pager)
        .unwrap();
    assert!(run.missed.is_empty(), "not at 12:08, as before the restart");
    let run = second.run_until(restart + EVERY + GRACE, &pager).unwrap();
    assert_eq!(missed(&run), [(restart + EVERY + GRACE, "till-1")]);
    assert_eq!(run.missed[0].1.last_check_in, None);
}

#[test]
fn a_restarted_desk_does_not_report_an_open_silence_again_and_resolves_it_at_the_next_check_in() {
    let store = Arc::new(MemoryStore::new());
    let clock = ManualClock::new(t0());
    let pager = Pager::default();
    let due = t0() + EVERY + GRACE;
    let id = {
        let first = desk(Arc::clone(&store), &clock, policy([till()]));
        let run = first.run_until(due, &pager).unwrap();
        opened(&run.missed[0].1)
    };
    clock.set(due + Duration::minutes(3));
    let second = desk(Arc::clone(&store), &clock, policy([till()]));
    assert_eq!(second.heartbeats()[0].missing_since, Some(due));
    assert_eq!(second.heartbeats()[0].due, None);
    let run = second.run_until(due + Duration::hours(2), &pager).unwrap();
    assert!(run.missed.is_empty(), "reported once, restart or not");
    let back = clock.now();
    assert_eq!(
        second.check_in("till-1").unwrap(),
        CheckIn::Back {
            missing_since: due,
            ingested: Ingested::Recorded { id },
        }
    );
    let quiet_missed = keep_alive(&second, &pager, (back, back + QUIET), &["till-1"]);
    assert!(quiet_missed.is_empty());
    assert_eq!(
        second.get(id).unwrap().resolution(),
        Some(Resolution::AutoResolved)
    );
    assert_eq!(second.get(id).unwrap().resolved_at(), Some(back + QUIET));
}

#[test]
fn a_silence_resolved_by_hand_is_not_reported_again_until_the_till_has_checked_in() {
    let store = Arc::new(MemoryStore::new());
    let clock = ManualClock::new(t0());
    let pager = Pager::default();
    let due = t0() + EVERY + GRACE;
    let first = desk(Arc::clone(&store), &clock, policy([till()]));
    let id = opened(&first.run_until(due, &pager).unwrap().missed[0].1);
    // The owner resolves it (the till was unplugged on purpose, say) while it is still silent.
    first
        .act(
            id,
            &crate::support::owner(),
            incidents::Command::resolve(Resolution::Fixed),
        )
        .unwrap();
    let run = first.run_until(due + Duration::hours(3), &pager).unwrap();
    assert!(run.missed.is_empty(), "the same silence, reported once");
    // The same after a restart: the silence is found on the resolved incident.
    drop(first);
    let second = desk(Arc::clone(&store), &clock, policy([till()]));
    let run = second.run_until(due + Duration::hours(6), &pager).unwrap();
    assert!(run.missed.is_empty());
    // Plugged in again: the check-in resolves the alert on the resolved incident, and the
    // next silence is reported (a recurrence: the reopen window is over).
    let back = clock.now();
    assert_eq!(
        second.check_in("till-1").unwrap(),
        CheckIn::Back {
            missing_since: due,
            ingested: Ingested::Recorded { id },
        }
    );
    assert_eq!(second.get(id).unwrap().status(), Status::Resolved);
    let run = second.run_until(back + EVERY + GRACE, &pager).unwrap();
    assert_eq!(missed(&run), [(back + EVERY + GRACE, "till-1")]);
    assert!(matches!(
        run.missed[0].1.ingested,
        Ingested::Recurred { .. }
    ));
}

#[test]
fn an_undeclared_heartbeat_is_a_typed_error_and_changes_nothing() {
    let clock = ManualClock::new(t0());
    let desk = desk(MemoryStore::new(), &clock, policy([till()]));
    let before = desk.next_deadline();
    let err = desk.check_in("till-2").unwrap_err();
    assert!(
        matches!(&err, Error::UnknownHeartbeat { name } if name == "till-2"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        r#"no heartbeat named "till-2" is declared in the policy"#
    );
    assert!(matches!(
        desk.check_in(&"x".repeat(10_000)),
        Err(Error::UnknownHeartbeat { name }) if name.len() == 100
    ));
    assert_eq!(desk.next_deadline(), before);
    // Without any heartbeat declared, every name is unknown.
    let bare = Desk::new(MemoryStore::new(), &clock).unwrap();
    assert!(matches!(
        bare.check_in("till-1"),
        Err(Error::UnknownHeartbeat { .. })
    ));
    assert!(bare.heartbeats().is_empty());
}

#[test]
fn next_deadline_follows_the_heartbeat() {
    // A policy that promises nothing: the heartbeat is the only timer.
    let quiet = Policy::new(Calendar::always_open(), BTreeMap::new())
        .unwrap()
        .with_heartbeat(till())
        .unwrap();
    let clock = ManualClock::new(t0());
    let desk = desk(MemoryStore::new(), &clock, quiet);
    let pager = Pager::default();
    assert_eq!(desk.next_deadline(), Some(t0() + EVERY + GRACE));
    clock.advance(Duration::minutes(1));
    desk.check_in("till-1").unwrap();
    assert_eq!(
        desk.next_deadline(),
        Some(t0() + Duration::minutes(1) + EVERY + GRACE)
    );
    // A clock stepped back does not move the silence's start back.
    clock.advance(Duration::minutes(-1));
    desk.check_in("till-1").unwrap();
    assert_eq!(
        desk.next_deadline(),
        Some(t0() + Duration::minutes(1) + EVERY + GRACE)
    );
    // Reported missing: nothing more is due until it checks in.
    let run = desk.run_until(t0() + Duration::hours(1), &pager).unwrap();
    assert_eq!(run.missed.len(), 1);
    assert_eq!(desk.next_deadline(), None);
    let back = clock.now();
    desk.check_in("till-1").unwrap();
    // Due again, before the quiet period ends.
    assert_eq!(desk.next_deadline(), Some(back + EVERY + GRACE));
}

#[test]
fn a_silence_during_maintenance_is_reported_when_the_window_ends() {
    let window_end = t0() + Duration::hours(1);
    let intake = Intake {
        maintenance: vec![MaintenanceWindow {
            service: Service::new("POS").unwrap(),
            from: t0() + Duration::minutes(5),
            until: window_end,
            reason: "new till software".into(),
        }],
        ..Intake::default()
    };
    let policy = policy([till()]).with_intake(intake).unwrap();
    let clock = ManualClock::new(t0());
    let desk = desk(MemoryStore::new(), &clock, policy);
    let pager = Pager::default();
    let run = desk
        .run_until(window_end - Duration::seconds(1), &pager)
        .unwrap();
    assert!(run.missed.is_empty());
    assert_eq!(desk.counts().total, 0);
    assert_eq!(desk.next_deadline(), Some(window_end));
    let run = desk.run_until(window_end, &pager).unwrap();
    assert_eq!(missed(&run), [(window_end, "till-1")]);
    assert_eq!(run.missed[0].1.missing_since, t0() + EVERY + GRACE);
    opened(&run.missed[0].1);

    // A till that checks in during the window is fine after it.
    let clock = ManualClock::new(t0());
    let desk = self::desk(
        MemoryStore::new(),
        &clock,
        policy_with_window(t0() + Duration::minutes(5), window_end),
    );
    desk.run_until(t0() + Duration::minutes(30), &pager)
        .unwrap();
    desk.check_in("till-1").unwrap();
    assert_eq!(
        desk.next_deadline(),
        Some(t0() + Duration::minutes(30) + EVERY + GRACE)
    );
}

fn policy_with_window(from: DateTime<Utc>, until: DateTime<Utc>) -> Policy {
    policy([till()])
        .with_intake(Intake {
            maintenance: vec![MaintenanceWindow {
                service: Service::new("POS").unwrap(),
                from,
                until,
                reason: String::new(),
            }],
            ..Intake::default()
        })
        .unwrap()
}

#[test]
fn heartbeats_are_validated_and_travel_with_the_policy() {
    let dup = Policy::small_business()
        .with_heartbeat(till())
        .unwrap()
        .with_heartbeat(till().with_grace(Duration::zero()));
    assert!(
        matches!(&dup, Err(PolicyError::Heartbeat { name, rule }) if name == "till-1" && rule.contains("twice")),
        "{dup:?}"
    );
    let zero = Heartbeat::new("t", "POS", Duration::zero()).unwrap();
    assert!(Policy::small_business().with_heartbeat(zero).is_err());
    // Opening hours need a calendar that opens, now and after the calendar is replaced.
    let business = till().with_hours(Hours::Business);
    let never = Calendar::weekly(Tz::Europe__London);
    let p = Policy::new(Calendar::always_open(), BTreeMap::new())
        .unwrap()
        .with_heartbeat(business.clone())
        .unwrap();
    let err = p.clone().with_calendar(never).unwrap_err();
    assert!(err.to_string().contains("heartbeat till-1"), "{err}");

    let json = serde_json::to_value(&p).unwrap();
    assert_eq!(
        json["heartbeats"],
        serde_json::json!([{"name": "till-1", "service": "POS", "every": "5m", "grace": "2m",
            "severity": "high", "hours": "business"}])
    );
    let back: Policy = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(back, p);
    assert_eq!(back.heartbeat("till-1"), Some(&business));
    let mut bad = json;
    bad["heartbeats"][0]["every"] = "0s".into();
    assert!(serde_json::from_value::<Policy>(bad).is_err());
}

// ---------------------------------------------------------------------------------------------
// The property: for random check-in times, a silence is reported iff a gap between check-ins
// (or from the desk's start to the first, or from the last to the end) reaches every + grace
// of counted time — exactly at the instant it does, and once per gap.

fn cafe() -> Calendar {
    use Weekday::{Fri, Mon, Sun, Thu, Tue, Wed};
    Calendar::weekly(Tz::Asia__Jerusalem)
        .open([Sun, Mon, Tue, Wed, Thu, Fri], "07:00", "19:00")
        .unwrap()
}

/// Gaps between check-ins in seconds: mostly short, sometimes across a night.
fn arb_gaps() -> impl Strategy<Value = Vec<i64>> {
    prop::collection::vec(
        prop_oneof![
            6 => 0i64..(7 * 60 + 30),
            1 => 0i64..(36 * 3600),
        ],
        0..40,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn a_silence_is_reported_iff_a_gap_reaches_every_plus_grace(
        gaps in arb_gaps(),
        tail in 0i64..(12 * 3600),
        every in 1i64..10,
        grace in 0i64..5,
        business in any::<bool>(),
    ) {
        let (every, grace) = (Duration::minutes(every), Duration::minutes(grace));
        let mut heartbeat = Heartbeat::new("till-1", "POS", every).unwrap().with_grace(grace);
        let calendar = if business { cafe() } else { Calendar::always_open() };
        if business {
            heartbeat = heartbeat.only_when_open();
        }
        let policy = Policy::small_business()
            .with_calendar(calendar.clone())
            .unwrap()
            .with_heartbeat(heartbeat.clone())
            .unwrap();
        let clock = ManualClock::new(t0());
        let desk = desk(MemoryStore::new(), &clock, policy);
        let pager = Pager::default();

        let mut expected = Vec::new();
        let mut reported = Vec::new();
        let mut backs = 0;
        let mut last = t0();
        let mut at = t0();
        for gap in gaps {
            at += Duration::seconds(gap);
            if let Some(due) = heartbeat.due_after(last, &calendar).filter(|d| *d <= at) {
                expected.push(due);
            }
            let run = desk.run_until(at, &pager).unwrap();
            reported.extend(run.missed.iter().map(|(when, m)| {
                assert_eq!(*when, m.missing_since, "reported the instant it is due");
                m.missing_since
            }));
            if let CheckIn::Back { .. } = desk.check_in("till-1").unwrap() {
                backs += 1;
            }
            last = at;
        }
        let end = at + Duration::seconds(tail);
        if let Some(due) = heartbeat.due_after(last, &calendar).filter(|d| *d <= end) {
            expected.push(due);
        }
        let run = desk.run_until(end, &pager).unwrap();
        reported.extend(run.missed.iter().map(|(_, m)| m.missing_since));

        prop_assert_eq!(&reported, &expected);
        // Every silence a check-in ended was resolved by that check-in.
        let ended = expected.iter().filter(|due| **due <= last).count();
        prop_assert_eq!(backs, ended);
        // In opening hours only: never reported while the café is closed.
        if business {
            for due in &expected {
                prop_assert!(calendar.is_open(*due) || calendar.business_time(*due - Duration::seconds(1), *due) > Duration::zero());
            }
        }
        // Incidents opened iff some gap was too long.
        prop_assert_eq!(desk.counts().total > 0, !expected.is_empty());
    }
}
