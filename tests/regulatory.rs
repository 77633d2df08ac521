//! Regulatory deadline clocks (#16) at exact instants: a `ManualClock`, `tick` at the very
//! instants warnings fall due, nothing sleeps.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use incidents::lifecycle::Timer;
use incidents::regulatory::{Deadline, Phase, Recipient, Regime, builtin};
use incidents::{
    Actor, Calendar, Change, Command, Desk, Error, IncidentId, ManualClock, MemoryStore,
    NewIncident, Policy, Refusal, Resolution, Role, Severity, Source,
};
use proptest::prelude::*;

fn owner() -> Actor {
    Actor::new("dana", "Dana", Role::Owner).unwrap()
}

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

type TestDesk<'a> = Desk<&'a MemoryStore, &'a ManualClock>;

fn desk<'a>(store: &'a MemoryStore, clock: &'a ManualClock, calendar: &Calendar) -> TestDesk<'a> {
    let policy = Policy::default().with_calendar(calendar.clone()).unwrap();
    Desk::builder(store, clock).policy(policy).build().unwrap()
}

/// Opens an incident and resolves it (a breach is often found after the fix; resolved, no
/// SLA timer runs, so every deadline left is a notice's).
fn resolved_incident(desk: &TestDesk<'_>) -> IncidentId {
    let new = NewIncident::new(
        "Customer list exposed",
        Severity::High,
        "online shop",
        Source::StaffReport,
    )
    .unwrap();
    let id = desk.open(&owner(), new).unwrap().id;
    desk.act(id, &owner(), Command::resolve(Resolution::Fixed))
        .unwrap();
    id
}

/// A notifier that delivers everything (the pages go nowhere).
struct Accept;

impl incidents::Notifier for Accept {
    fn deliver(
        &self,
        _: &incidents::lifecycle::Notification,
    ) -> Result<(), incidents::notify::DeliveryError> {
        Ok(())
    }
}

/// The notice warnings fired by a tick at `at`, as keys; the pages are delivered, so the
/// desk's next deadline is a timer's again.
fn tick(desk: &TestDesk<'_>, clock: &ManualClock, at: DateTime<Utc>) -> Vec<String> {
    clock.set(at);
    let report = desk.tick(at).unwrap();
    desk.dispatch(&Accept).unwrap();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    report
        .fired
        .into_iter()
        .filter(|(_, t)| matches!(t, Timer::NoticeAtRisk { .. } | Timer::NoticeOverdue { .. }))
        .map(|(_, t)| t.key())
        .collect()
}

fn refusal(result: Result<incidents::Receipt, Error>) -> Refusal {
    match result {
        Err(Error::Rejected(r)) => r.reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn gdpr_72_hours_across_the_autumn_dst_change_in_berlin() {
    let berlin = Calendar::always_open_in(Tz::Europe__Berlin);
    // Friday 23 October 2026, 20:00 CEST; the clocks go back on Sunday 25 October.
    let aware = utc(2026, 10, 23, 18, 0);
    let (store, clock) = (
        MemoryStore::new(),
        ManualClock::new(aware + Duration::hours(1)),
    );
    let desk = desk(&store, &clock, &berlin);
    let id = resolved_incident(&desk);
    desk.act(
        id,
        &owner(),
        Command::declare_breach(vec![builtin::gdpr()], aware).unwrap(),
    )
    .unwrap();

    let incident = desk.get(id).unwrap();
    let breach = incident.breach().unwrap();
    let clocks = breach.clocks(&berlin);
    let authority = clocks.iter().find(|c| c.phase.id == "authority").unwrap();
    // 72 hours are 72 hours: Monday 18:00 UTC, which is 19:00 in Berlin (not 20:00).
    let due = utc(2026, 10, 26, 18, 0);
    assert_eq!(authority.due, Some(due));
    let local = due.with_timezone(&Tz::Europe__Berlin);
    assert_eq!(local.format("%a %H:%M %Z").to_string(), "Mon 19:00 CET");
    // At-risk at three quarters: 54 hours.
    let risk = utc(2026, 10, 26, 0, 0);
    assert_eq!(authority.at_risk, Some(risk));
    assert_eq!(desk.next_deadline(), Some(risk));

    assert!(tick(&desk, &clock, risk - Duration::seconds(1)).is_empty());
    assert_eq!(
        tick(&desk, &clock, risk),
        [
            "notice/gdpr/authority/at_risk",
            "notice/gdpr/data-subjects/at_risk"
        ]
    );
    assert!(
        tick(&desk, &clock, risk).is_empty(),
        "a repeated tick fires nothing"
    );
    assert_eq!(desk.next_deadline(), Some(due));
    assert_eq!(
        tick(&desk, &clock, due),
        [
            "notice/gdpr/authority/overdue",
            "notice/gdpr/data-subjects/overdue"
        ]
    );
    assert_eq!(desk.next_deadline(), None);
    // The owner was paged through the outbox, once per warning.
    let incident = desk.get(id).unwrap();
    let pages: Vec<_> = incident
        .outbox()
        .iter()
        .filter(|e| e.notification.key.contains("/notice/"))
        .collect();
    assert_eq!(pages.len(), 4);
    // The page gives the deadline in the policy calendar's zone.
    assert!(
        pages[2]
            .notification
            .body
            .contains("overdue: due 2026-10-26 19:00 CET"),
        "{}",
        pages[2].notification.body
    );
}

#[test]
fn israel_24_and_72_hours_and_a_late_filing_without_then_with_reasons() {
    let jerusalem = Calendar::always_open_in(Tz::Asia__Jerusalem);
    // Thursday 3 December 2026, 18:30 in Jerusalem (UTC+2).
    let aware = utc(2026, 12, 3, 16, 30);
    let (store, clock) = (
        MemoryStore::new(),
        ManualClock::new(aware + Duration::minutes(30)),
    );
    let desk = desk(&store, &clock, &jerusalem);
    let id = resolved_incident(&desk);
    desk.act(
        id,
        &owner(),
        Command::declare_breach(vec![builtin::israel()], aware).unwrap(),
    )
    .unwrap();
    let breach_clocks = |desk: &TestDesk<'_>| {
        let incident = desk.get(id).unwrap();
        let breach = incident.breach().unwrap();
        breach
            .clocks(&jerusalem)
            .iter()
            .map(|c| (c.phase.id.clone(), c.due.unwrap(), c.at_risk.unwrap()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        breach_clocks(&desk),
        [
            (
                "authority-24h".to_string(),
                utc(2026, 12, 4, 16, 30),
                utc(2026, 12, 4, 10, 30)
            ),
            (
                "authority-72h".to_string(),
                utc(2026, 12, 6, 16, 30),
                utc(2026, 12, 5, 22, 30)
            ),
        ]
    );
    assert_eq!(
        tick(&desk, &clock, utc(2026, 12, 4, 10, 30)),
        ["notice/il-reg11/authority-24h/at_risk"]
    );
    // Filed on Friday at 14:00 local: on time, its clock stops.
    clock.set(utc(2026, 12, 4, 12, 0));
    desk.act(
        id,
        &owner(),
        Command::file_notice(
            "il-reg11",
            "authority-24h",
            "PPA-2026-0415",
            "first report by phone and form",
            None,
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(desk.next_deadline(), Some(utc(2026, 12, 5, 22, 30)));
    assert_eq!(
        tick(&desk, &clock, utc(2026, 12, 5, 22, 30)),
        ["notice/il-reg11/authority-72h/at_risk"]
    );
    assert_eq!(
        tick(&desk, &clock, utc(2026, 12, 6, 16, 30)),
        ["notice/il-reg11/authority-72h/overdue"]
    );
    assert_eq!(desk.next_deadline(), None);

    // Late, and the phase needs reasons: refused without, typed.
    clock.set(utc(2026, 12, 7, 8, 0));
    let late = Command::file_notice(
        "il-reg11",
        "authority-72h",
        "PPA-2026-0415-2",
        "full form",
        None,
    )
    .unwrap();
    assert_eq!(
        refusal(desk.act(id, &owner(), late)),
        Refusal::LateWithoutReason
    );
    let with_reason = Command::file_notice(
        "il-reg11",
        "authority-72h",
        "PPA-2026-0415-2",
        "full form",
        Some("the hosting provider's logs arrived on Sunday evening"),
    )
    .unwrap();
    desk.act(id, &owner(), with_reason).unwrap();
    let incident = desk.get(id).unwrap();
    let breach = incident.breach().unwrap();
    let clocks = breach.clocks(&jerusalem);
    assert!(clocks.iter().all(|c| c.filed.is_some()));
    assert!(!clocks[0].filed_late());
    assert!(clocks[1].filed_late());
    // Filing it again is refused.
    let again = Command::file_notice("il-reg11", "authority-72h", "x", "y", Some("z")).unwrap();
    assert_eq!(
        refusal(desk.act(id, &owner(), again)),
        Refusal::NoticeAlreadyFiled
    );
}

#[test]
fn california_30_calendar_days_keep_the_local_time_across_dst() {
    let la = Calendar::always_open_in(Tz::America__Los_Angeles);
    // Tuesday 20 October 2026, 10:00 PDT; the clocks go back on 1 November.
    let aware = utc(2026, 10, 20, 17, 0);
    let regime = builtin::california();
    let due = regime.phases[0].deadline.due(aware, &la).unwrap();
    // Thursday 19 November, 10:00 PST.
    assert_eq!(due, utc(2026, 11, 19, 18, 0));
    let (store, clock) = (MemoryStore::new(), ManualClock::new(aware));
    let desk = desk(&store, &clock, &la);
    let id = resolved_incident(&desk);
    desk.act(
        id,
        &owner(),
        Command::declare_breach(vec![regime], aware).unwrap(),
    )
    .unwrap();
    let risk = Phase::at_risk(aware, due);
    assert_eq!(risk, aware + (due - aware) * 3 / 4);
    assert_eq!(
        tick(&desk, &clock, risk),
        ["notice/us-ca-1798.82/residents/at_risk"]
    );
    assert!(tick(&desk, &clock, due - Duration::seconds(1)).is_empty());
    assert_eq!(
        tick(&desk, &clock, due),
        ["notice/us-ca-1798.82/residents/overdue"]
    );
}

#[test]
fn visa_10_business_days_skip_weekends_and_holidays() {
    let london = Calendar::always_open_in(Tz::Europe__London)
        .holiday(NaiveDate::from_ymd_opt(2026, 12, 25).unwrap())
        .holiday(NaiveDate::from_ymd_opt(2026, 12, 28).unwrap())
        .holiday(NaiveDate::from_ymd_opt(2027, 1, 1).unwrap());
    // Thursday 17 December 2026, 15:00 in London.
    let aware = utc(2026, 12, 17, 15, 0);
    let regime = builtin::card_brands();
    // Fri 18, Mon 21 – Thu 24, (Fri 25, Mon 28 holidays), Tue 29 – Thu 31, (Fri 1 holiday),
    // Mon 4, Tue 5 January: the 10th business day.
    assert_eq!(
        regime.phases[1].deadline.due(aware, &london),
        Some(utc(2027, 1, 5, 15, 0))
    );
    // The acquirer at once: the 24-hour target.
    assert_eq!(
        regime.phases[0].deadline.due(aware, &london),
        Some(utc(2026, 12, 18, 15, 0))
    );
    // A shop calendar with weekly hours counts its own opening days: Sunday to Thursday in
    // Israel (Friday and Saturday closed here), so Thursday 17 + 10 is Thursday 31 December.
    let shop = Calendar::weekly(Tz::Asia__Jerusalem)
        .open(
            [
                chrono::Weekday::Sun,
                chrono::Weekday::Mon,
                chrono::Weekday::Tue,
                chrono::Weekday::Wed,
                chrono::Weekday::Thu,
            ],
            "07:00",
            "19:00",
        )
        .unwrap();
    assert_eq!(
        Deadline::BusinessDays(10).due(aware, &shop),
        Some(utc(2026, 12, 31, 15, 0))
    );
}

#[test]
fn several_regimes_on_one_incident_each_keep_their_own_clocks() {
    let london = Calendar::always_open_in(Tz::Europe__London);
    let aware = utc(2026, 11, 2, 9, 0); // a Monday
    let (store, clock) = (MemoryStore::new(), ManualClock::new(aware));
    let desk = desk(&store, &clock, &london);
    let id = resolved_incident(&desk);
    let regimes = vec![
        builtin::gdpr(),
        builtin::card_brands(),
        builtin::california(),
    ];
    desk.act(
        id,
        &owner(),
        Command::declare_breach(regimes, aware).unwrap(),
    )
    .unwrap();
    // The acquirer (24 h) first: at-risk at 18 h.
    assert_eq!(desk.next_deadline(), Some(aware + Duration::hours(18)));
    assert_eq!(
        tick(&desk, &clock, aware + Duration::hours(18)),
        ["notice/card-brands/acquirer/at_risk"]
    );
    clock.set(aware + Duration::hours(20));
    desk.act(
        id,
        &owner(),
        Command::file_notice(
            "card-brands",
            "acquirer",
            "ACQ-77",
            "called the acquirer",
            None,
        )
        .unwrap(),
    )
    .unwrap();
    // Filing one phase leaves the others running.
    assert_eq!(
        tick(&desk, &clock, aware + Duration::hours(54)),
        [
            "notice/gdpr/authority/at_risk",
            "notice/gdpr/data-subjects/at_risk"
        ]
    );
    let incident = desk.get(id).unwrap();
    let breach = incident.breach().unwrap();
    let clocks = breach.clocks(&london);
    assert_eq!(clocks.len(), 5);
    assert_eq!(clocks.iter().filter(|c| c.filed.is_some()).count(), 1);
    // Per-regime compliance over the first week: the acquirer on time; GDPR's two and
    // the card numbers' (10 business days) not due yet at the window's end.
    let week =
        incidents::regulatory::compliance([&incident], aware, aware + Duration::days(7), &london);
    assert_eq!(week.len(), 2);
    assert_eq!(
        (week[0].regime.as_str(), week[0].due, week[0].unfiled),
        ("gdpr", 2, 2)
    );
    assert_eq!(
        (week[1].regime.as_str(), week[1].on_time, week[1].due),
        ("card-brands", 1, 1)
    );
    assert_eq!(week[1].on_time_rate(), Some(1.0));
    // A notice of a regime not declared is refused; so is closing with notices open.
    let nis2 = Command::file_notice("nis2", "early-warning", "x", "y", None).unwrap();
    assert_eq!(refusal(desk.act(id, &owner(), nis2)), Refusal::NoSuchNotice);
    let close = Command::close("leak closed", "rotate the export key").unwrap();
    assert_eq!(refusal(desk.act(id, &owner(), close)), Refusal::NoticesOpen);
    // Declaring twice is refused.
    let again = Command::declare_breach(vec![builtin::nis2()], aware).unwrap();
    assert_eq!(
        refusal(desk.act(id, &owner(), again)),
        Refusal::BreachAlreadyDeclared
    );
}

#[test]
fn became_aware_moved_earlier_moves_the_clocks_and_keeps_the_audit() {
    let utc_cal = Calendar::always_open();
    let aware = utc(2026, 11, 10, 12, 0);
    let (store, clock) = (
        MemoryStore::new(),
        ManualClock::new(aware + Duration::hours(2)),
    );
    let desk = desk(&store, &clock, &utc_cal);
    let id = resolved_incident(&desk);
    // Not in the future.
    let future =
        Command::declare_breach(vec![builtin::gdpr()], aware + Duration::hours(3)).unwrap();
    assert_eq!(
        refusal(desk.act(id, &owner(), future)),
        Refusal::AwareInFuture
    );
    desk.act(
        id,
        &owner(),
        Command::declare_breach(vec![builtin::gdpr()], aware).unwrap(),
    )
    .unwrap();
    assert_eq!(desk.next_deadline(), Some(aware + Duration::hours(54)));

    clock.set(aware + Duration::hours(10));
    let earlier = aware - Duration::hours(20);
    let mover = Actor::new("eli", "Eli", Role::Owner).unwrap();
    desk.act(
        id,
        &mover,
        Command::set_became_aware(earlier, "the export log shows the leak a day earlier").unwrap(),
    )
    .unwrap();
    // Clocks move: 54 h from the new instant.
    assert_eq!(desk.next_deadline(), Some(earlier + Duration::hours(54)));
    let incident = desk.get(id).unwrap();
    let breach = incident.breach().unwrap();
    assert_eq!(breach.became_aware(), earlier);
    let change = &breach.awareness_changes()[0];
    assert_eq!((change.from, change.to), (aware, earlier));
    assert_eq!(change.by.id(), "eli");
    assert_eq!(
        change.reason.as_str(),
        "the export log shows the leak a day earlier"
    );
    // The history keeps the declaration with its first instant.
    let history = desk.history(id).unwrap();
    assert!(history.iter().any(|e| matches!(&e.change, Change::BreachDeclared { became_aware, .. } if *became_aware == aware)));
    // Same instant: nothing recorded; into the future: refused.
    let same = Command::set_became_aware(earlier, "again").unwrap();
    assert!(desk.act(id, &owner(), same).unwrap().events.is_empty());
    let future = Command::set_became_aware(aware + Duration::hours(11), "typo").unwrap();
    assert_eq!(
        refusal(desk.act(id, &owner(), future)),
        Refusal::AwareInFuture
    );
    // The evidence keeps who moved awareness and why, in the shop's zone, as text and JSON.
    let evidence =
        incidents::regulatory::Evidence::of(&incident, &utc_cal, Tz::Asia__Jerusalem).unwrap();
    let text = evidence.to_string();
    assert!(
        text.contains("Became aware: 2026-11-09 18:00 +02:00"),
        "{text}"
    );
    assert!(
        text.contains("2026-11-11 00:00 +02:00  Eli (eli, owner)"),
        "{text}"
    );
    assert!(text.contains("became-aware moved from 2026-11-10 14:00 +02:00 to 2026-11-09 18:00 +02:00: the export log shows the leak a day earlier"), "{text}");
    let json = serde_json::to_value(&evidence).unwrap();
    assert_eq!(json["notices"][0]["due"], "2026-11-12T18:00:00+02:00");
    assert_eq!(json["timeline"].as_array().unwrap().len(), 2);
    // Responders may not declare or move awareness (owners decide; see `Permissions`).
    let responder = Actor::new("sam", "Sam", Role::Responder).unwrap();
    let move_it = Command::set_became_aware(earlier, "x").unwrap();
    assert!(matches!(
        desk.act(id, &responder, move_it),
        Err(Error::Forbidden { .. })
    ));
}

#[test]
fn a_regime_is_validated() {
    let bad = Regime::new("GDPR!", "x", "y", "z");
    assert!(bad.validate().is_err());
    let no_phases = Regime::new("r", "Name", "Art. 1", "all");
    assert!(matches!(
        no_phases.validate(),
        Err(incidents::regulatory::RegimeError::NoPhases { .. })
    ));
    let dup = Regime::new("r", "Name", "Art. 1", "all")
        .with_phase(Phase::new(
            "a",
            Recipient::Authority,
            Deadline::CalendarHours(1),
        ))
        .with_phase(Phase::new(
            "a",
            Recipient::Acquirer,
            Deadline::CalendarHours(2),
        ));
    assert!(matches!(
        dup.validate(),
        Err(incidents::regulatory::RegimeError::DuplicatePhase { .. })
    ));
    let zero = Regime::new("r", "Name", "Art. 1", "all").with_phase(Phase::new(
        "a",
        Recipient::Authority,
        Deadline::BusinessDays(0),
    ));
    assert!(zero.validate().is_err());
    // Ten years is the longest deadline: one business day more is refused.
    let long = |d| {
        Regime::new("r", "Name", "Art. 1", "all").with_phase(Phase::new(
            "a",
            Recipient::Authority,
            d,
        ))
    };
    long(Deadline::BusinessDays(Deadline::MAX_BUSINESS_DAYS))
        .validate()
        .unwrap();
    for d in [
        Deadline::BusinessDays(Deadline::MAX_BUSINESS_DAYS + 1),
        Deadline::CalendarDays(Deadline::MAX_DAYS + 1),
        Deadline::CalendarHours(u32::MAX),
        Deadline::Immediately {
            target_hours: Deadline::MAX_HOURS + 1,
        },
    ] {
        assert!(
            matches!(
                long(d).validate(),
                Err(incidents::regulatory::RegimeError::LongDeadline { .. })
            ),
            "{d:?}"
        );
    }
    assert_eq!(
        Command::declare_breach(
            vec![builtin::gdpr(), builtin::gdpr()],
            utc(2026, 1, 1, 0, 0)
        )
        .unwrap_err()
        .field,
        "regimes"
    );
    for regime in builtin::all() {
        regime.validate().unwrap();
    }
}

#[derive(Debug, Clone)]
enum Op {
    /// Advance the clock this many minutes and tick.
    Tick(u32),
    /// File phase number n (mod the phase count), with or without a reason.
    File(usize, bool),
    /// A new desk over the same store.
    Restart,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1u32..(24 * 60 * 3)).prop_map(Op::Tick),
        2 => (0usize..16, any::<bool>()).prop_map(|(n, r)| Op::File(n, r)),
        1 => Just(Op::Restart),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 48,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::Direct("tests/proptest-regressions/regulatory.txt"),
        )),
        ..ProptestConfig::default()
    })]

    /// Every declared phase ends filed or overdue; each warning is recorded at most once and
    /// each unfiled phase's overdue exactly once, in any interleaving of ticks, filings and
    /// restarts.
    #[test]
    fn every_phase_ends_filed_or_overdue(ops in proptest::collection::vec(op(), 0..40)) {
        let calendar = Calendar::always_open_in(Tz::Asia__Jerusalem)
            .holiday(NaiveDate::from_ymd_opt(2026, 12, 8).unwrap());
        let aware = utc(2026, 12, 3, 16, 30);
        let store = MemoryStore::new();
        let clock = ManualClock::new(aware + Duration::hours(1));
        let mut d = desk(&store, &clock, &calendar);
        let id = resolved_incident(&d);
        let regimes = vec![builtin::gdpr(), builtin::israel(), builtin::card_brands()];
        let phases: Vec<(String, String)> = regimes
            .iter()
            .flat_map(|r| r.phases.iter().map(|p| (r.id.clone(), p.id.clone())))
            .collect();
        d.act(id, &owner(), Command::declare_breach(regimes, aware).unwrap()).unwrap();
        for op in ops {
            match op {
                Op::Tick(minutes) => {
                    let now = clock.advance(Duration::minutes(i64::from(minutes)));
                    prop_assert!(d.tick(now).unwrap().failed.is_empty());
                    d.dispatch(&Accept).unwrap();
                }
                Op::File(n, reason) => {
                    let (regime, phase) = &phases[n % phases.len()];
                    let cmd = Command::file_notice(regime, phase, "ref", "sent", reason.then_some("late because")).unwrap();
                    match d.act(id, &owner(), cmd) {
                        Ok(_) => {}
                        Err(Error::Rejected(r)) => prop_assert!(
                            matches!(r.reason, Refusal::NoticeAlreadyFiled)
                                || (r.reason == Refusal::LateWithoutReason && !reason),
                            "{r}"
                        ),
                        Err(e) => prop_assert!(false, "{e}"),
                    }
                }
                Op::Restart => d = desk(&store, &clock, &calendar),
            }
        }
        // Far past every deadline, after a restart.
        d = desk(&store, &clock, &calendar);
        let end = clock.advance(Duration::days(60));
        d.tick(end).unwrap();
        d.dispatch(&Accept).unwrap();
        prop_assert_eq!(d.next_deadline(), None);
        let history = d.history(id).unwrap();
        let incident = d.get(id).unwrap();
        let breach = incident.breach().unwrap();
        let mut keys: Vec<String> = history
            .iter()
            .filter_map(|e| match &e.change {
                Change::TimerFired { timer } => Some(timer.key()),
                _ => None,
            })
            .collect();
        let fired = keys.len();
        keys.sort();
        keys.dedup();
        prop_assert_eq!(keys.len(), fired, "a timer fired twice");
        for c in breach.clocks(&calendar) {
            prop_assert!(c.filed.is_some() || c.overdue);
            let filed_on_time = c.filed.is_some_and(|f| Some(f.at) <= c.due);
            prop_assert_eq!(c.overdue, !filed_on_time, "{}/{}", c.regime.id, c.phase.id);
            if c.filed.is_some_and(|f| Some(f.at) < c.at_risk) {
                prop_assert!(!c.warned);
            }
        }
    }
}

/// With catalogs and a Hebrew-speaking shop, the owner's notice warnings are rendered from
/// the shipped catalogs in Hebrew (deadline in the shop's zone, recipient worded), and record
/// the locale they were written in; without catalogs they stay the English page.
#[cfg(feature = "l10n")]
#[test]
fn notice_warnings_are_paged_in_the_owners_language() {
    use incidents::l10n::Catalogs;
    use incidents::policy::Languages;
    use std::sync::Arc;

    let jerusalem = Calendar::always_open_in(Tz::Asia__Jerusalem);
    let aware = utc(2026, 12, 3, 16, 30);
    let (store, clock) = (
        MemoryStore::new(),
        ManualClock::new(aware + Duration::minutes(30)),
    );
    let policy = Policy::default()
        .with_calendar(jerusalem.clone())
        .unwrap()
        .with_languages(Languages::shop("he"))
        .unwrap();
    let catalogs = Arc::new(Catalogs::builder().build().unwrap());
    let desk = Desk::builder(&store, &clock)
        .policy(policy)
        .catalogs(catalogs)
        .build()
        .unwrap();
    let id = resolved_incident(&desk);
    desk.act(
        id,
        &owner(),
        Command::declare_breach(vec![builtin::israel()], aware).unwrap(),
    )
    .unwrap();
    let at_risk = utc(2026, 12, 4, 10, 30);
    clock.set(at_risk);
    desk.tick(at_risk).unwrap();
    let pages: Vec<_> = desk
        .history(id)
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.change {
            Change::NotificationRequested { notification } => Some(notification),
            _ => None,
        })
        .filter(|n| n.key.contains("notice/"))
        .collect();
    assert_eq!(pages.len(), 1, "{pages:?}");
    let page = &pages[0];
    assert_eq!(page.locale.as_deref(), Some("he"));
    assert!(
        page.subject.starts_with("[אירוע אבטחה]"),
        "{}",
        page.subject
    );
    // Due Friday 4 December 18:30 in Jerusalem, six hours after the warning.
    assert!(page.body.contains("לרשות"), "{}", page.body);
    assert!(page.body.contains("18:30"), "{}", page.body);
    assert!(
        page.body.contains("\u{2068}6\u{2069} שעות"),
        "{}",
        page.body
    );
    assert_eq!(
        page.sms.as_ref().map(|s| s.chars().count() <= 70),
        Some(true)
    );
}
