//! On-call schedules (#17): rotations across clock changes, layers, overrides, swaps, gaps,
//! an escalation step paging whoever is on call, the iCalendar round trip (feature `oncall`),
//! and a property test of the final schedule.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Asia::Jerusalem;
use incidents::lifecycle::{Audience, Timer};
#[cfg(feature = "oncall")]
use incidents::oncall::shifts_from_ical;
use incidents::oncall::{
    Hours, Layer, Override, Restriction, Rotation, Schedule, ScheduleChange, ScheduleError,
    ScheduleWarning, Shift, ShiftSource, Swap,
};
use incidents::policy::{Chain, OutsideHours, PolicyError, Recipient, Rounds, Step, Targets};
use incidents::{
    Actor, Change, Desk, Event, ManualClock, MemoryStore, NewIncident, Policy, Role, Severity,
    Source,
};
use proptest::prelude::*;

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn time(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap()
}

fn dana() -> Actor {
    Actor::new("dana", "Dana", Role::Owner).unwrap()
}

fn layer(name: &str, people: &[&str], length: Rotation, handoff: NaiveTime) -> Layer {
    // The rotation starts on a Sunday.
    Layer::new(
        name,
        people.iter().copied(),
        length,
        handoff,
        date(2026, 3, 22),
    )
}

/// Dana and Omer take weeks in turn, handing over on Sunday at 07:00 in Jerusalem.
fn weekly() -> Schedule {
    Schedule::new(
        "tills",
        Jerusalem,
        vec![layer(
            "week",
            &["dana", "omer"],
            Rotation::Weeks(1),
            time(7, 0),
        )],
    )
    .unwrap()
}

fn shift(person: &str, start: DateTime<Utc>, end: DateTime<Utc>, source: ShiftSource) -> Shift {
    Shift::new(person, start, end, source)
}

fn week() -> ShiftSource {
    ShiftSource::Layer("week".into())
}

#[test]
fn weekly_sunday_handoff_in_jerusalem_across_both_clock_changes() {
    let s = weekly();
    // Clocks go forward on Friday 27 March 2026 (+02 to +03): the week that holds it is an
    // hour shorter, and the next handoff is 07:00 summer time, 04:00 UTC.
    assert_eq!(
        s.shifts(utc(2026, 3, 22, 0, 0), utc(2026, 4, 5, 4, 0)),
        vec![
            shift(
                "dana",
                utc(2026, 3, 22, 5, 0),
                utc(2026, 3, 29, 4, 0),
                week()
            ),
            shift(
                "omer",
                utc(2026, 3, 29, 4, 0),
                utc(2026, 4, 5, 4, 0),
                week()
            ),
        ]
    );
    // Clocks go back on Sunday 25 October 2026 at 02:00, before that day's 07:00 handoff: the
    // week before it is an hour longer, and the handoff is 07:00 winter time, 05:00 UTC.
    assert_eq!(
        s.shifts(utc(2026, 10, 18, 0, 0), utc(2026, 11, 1, 5, 0)),
        vec![
            shift(
                "omer",
                utc(2026, 10, 18, 0, 0),
                utc(2026, 10, 18, 4, 0),
                week()
            ),
            shift(
                "dana",
                utc(2026, 10, 18, 4, 0),
                utc(2026, 10, 25, 5, 0),
                week()
            ),
            shift(
                "omer",
                utc(2026, 10, 25, 5, 0),
                utc(2026, 11, 1, 5, 0),
                week()
            ),
        ]
    );
    assert_eq!(s.on_call_at(utc(2026, 10, 25, 4, 59)), Some("dana"));
    assert_eq!(s.on_call_at(utc(2026, 10, 25, 5, 0)), Some("omer"));
    // Before the rotation's anchor, nobody.
    assert_eq!(s.on_call_at(utc(2026, 3, 22, 4, 59)), None);
}

/// Dana on weekdays, Noa over the Israeli weekend (Friday and Saturday), every day one layer.
fn weekend_over_weekdays() -> Schedule {
    let weekend = layer("weekend", &["noa"], Rotation::Days(1), time(0, 0))
        .with_restriction(Restriction::weekdays([Weekday::Fri, Weekday::Sat]));
    Schedule::new(
        "tills",
        Jerusalem,
        vec![
            layer("week", &["dana"], Rotation::Weeks(1), time(0, 0)),
            weekend,
        ],
    )
    .unwrap()
}

#[test]
fn a_weekend_layer_overrides_the_weekday_layer() {
    let s = weekend_over_weekdays();
    // Thursday 2 April to Sunday 5 April 2026, midnight to midnight in Jerusalem (+03).
    assert_eq!(
        s.shifts(utc(2026, 4, 1, 21, 0), utc(2026, 4, 4, 21, 0)),
        vec![
            shift(
                "dana",
                utc(2026, 4, 1, 21, 0),
                utc(2026, 4, 2, 21, 0),
                week()
            ),
            shift(
                "noa",
                utc(2026, 4, 2, 21, 0),
                utc(2026, 4, 4, 21, 0),
                ShiftSource::Layer("weekend".into())
            ),
        ]
    );
    assert_eq!(s.on_call_at(utc(2026, 4, 4, 21, 0)), Some("dana"));
}

#[test]
fn a_layer_within_opening_hours_leaves_holidays_to_the_layer_below() {
    // Noa takes the till while the shop is open, 09:00–17:00 Sunday to Thursday; Dana the rest,
    // and all of the Passover holiday (2 April 2026, a Thursday).
    let shop = incidents::Calendar::weekly(Jerusalem)
        .open(
            [
                Weekday::Sun,
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
            ],
            "09:00",
            "17:00",
        )
        .unwrap()
        .holiday(date(2026, 4, 2));
    let open = layer("open", &["noa"], Rotation::Weeks(1), time(0, 0))
        .with_restriction(Restriction::opening_hours(shop));
    let s = Schedule::new(
        "tills",
        Jerusalem,
        vec![
            layer("week", &["dana"], Rotation::Weeks(1), time(0, 0)),
            open,
        ],
    )
    .unwrap();
    let opened = ShiftSource::Layer("open".into());
    assert_eq!(
        s.shifts(utc(2026, 3, 31, 21, 0), utc(2026, 4, 2, 21, 0)),
        vec![
            shift(
                "dana",
                utc(2026, 3, 31, 21, 0),
                utc(2026, 4, 1, 6, 0),
                week()
            ),
            shift("noa", utc(2026, 4, 1, 6, 0), utc(2026, 4, 1, 14, 0), opened),
            shift(
                "dana",
                utc(2026, 4, 1, 14, 0),
                utc(2026, 4, 2, 21, 0),
                week()
            ),
        ]
    );
    let json = serde_json::to_string(&s).unwrap();
    assert_eq!(serde_json::from_str::<Schedule>(&json).unwrap(), s);
}

#[test]
fn an_override_during_a_holiday_is_recorded_with_who_made_it() {
    let mut s = weekly();
    // Passover eve, 1 April 2026: Avi covers the evening for Omer.
    let cover = Override::new(
        "avi",
        utc(2026, 4, 1, 15, 0),
        utc(2026, 4, 2, 5, 0),
        dana(),
        utc(2026, 3, 20, 9, 0),
    );
    s.record(ScheduleChange::Override(cover.clone())).unwrap();
    assert_eq!(s.on_call_at(utc(2026, 4, 1, 14, 59)), Some("omer"));
    assert_eq!(s.on_call_at(utc(2026, 4, 1, 15, 0)), Some("avi"));
    assert_eq!(s.on_call_at(utc(2026, 4, 2, 5, 0)), Some("omer"));
    assert_eq!(
        s.shifts(utc(2026, 4, 1, 0, 0), utc(2026, 4, 3, 0, 0)),
        vec![
            shift(
                "omer",
                utc(2026, 4, 1, 0, 0),
                utc(2026, 4, 1, 15, 0),
                week()
            ),
            shift(
                "avi",
                utc(2026, 4, 1, 15, 0),
                utc(2026, 4, 2, 5, 0),
                ShiftSource::Override
            ),
            shift("omer", utc(2026, 4, 2, 5, 0), utc(2026, 4, 3, 0, 0), week()),
        ]
    );
    assert_eq!(s.changes(), &[ScheduleChange::Override(cover.clone())]);
    // A second override of an overlapping period is refused, and nothing is recorded.
    let clash = Override::new(
        "noa",
        utc(2026, 4, 2, 4, 0),
        utc(2026, 4, 2, 8, 0),
        cover.by.clone(),
        cover.at,
    );
    assert!(matches!(
        s.record(ScheduleChange::Override(clash)),
        Err(ScheduleError::OverlappingOverride { .. })
    ));
    assert_eq!(s.changes().len(), 1);
    // The changes survive serde, with who made them.
    let json = serde_json::to_string(&s).unwrap();
    let back: Schedule = serde_json::from_str(&json).unwrap();
    assert_eq!(back, s);
    assert_eq!(back.changes().len(), 1);
}

#[test]
fn a_swap_exchanges_turns_for_its_period() {
    let mut s = weekly();
    // Omer takes Dana's week from 5 April (she would take one of his in return, but the swap
    // covers only that week).
    s.record(ScheduleChange::Swap(Swap::new(
        "dana",
        "omer",
        utc(2026, 4, 5, 4, 0),
        utc(2026, 4, 12, 4, 0),
        dana(),
        utc(2026, 3, 30, 8, 0),
    )))
    .unwrap();
    let swapped = ShiftSource::Swap("week".into());
    assert_eq!(
        s.shifts(utc(2026, 3, 29, 4, 0), utc(2026, 4, 19, 4, 0)),
        vec![
            shift(
                "omer",
                utc(2026, 3, 29, 4, 0),
                utc(2026, 4, 5, 4, 0),
                week()
            ),
            shift(
                "omer",
                utc(2026, 4, 5, 4, 0),
                utc(2026, 4, 12, 4, 0),
                swapped
            ),
            shift(
                "omer",
                utc(2026, 4, 12, 4, 0),
                utc(2026, 4, 19, 4, 0),
                week()
            ),
        ]
    );
    assert_eq!(
        s.record(ScheduleChange::Swap(Swap::new(
            "dana",
            "dana",
            utc(2026, 5, 1, 0, 0),
            utc(2026, 5, 2, 0, 0),
            dana(),
            utc(2026, 3, 30, 8, 0),
        ))),
        Err(ScheduleError::SwapWithSelf)
    );
}

#[test]
fn gaps_and_unreachable_people_are_reported() {
    let day = layer("day", &["dana", "omer"], Rotation::Days(1), time(9, 0))
        .with_restriction(Restriction::hours(Hours::new(time(9, 0), time(17, 0))));
    let s = Schedule::new("tills", Jerusalem, vec![day]).unwrap();
    // Monday 6 April 2026, midnight to midnight in Jerusalem (+03).
    let warnings = s.check(utc(2026, 4, 5, 21, 0), utc(2026, 4, 6, 21, 0), |p| {
        p == "dana"
    });
    assert_eq!(
        warnings,
        vec![
            ScheduleWarning::Gap {
                from: utc(2026, 4, 5, 21, 0),
                until: utc(2026, 4, 6, 6, 0)
            },
            ScheduleWarning::Gap {
                from: utc(2026, 4, 6, 14, 0),
                until: utc(2026, 4, 6, 21, 0)
            },
            ScheduleWarning::Unreachable {
                person: "omer".into(),
                from: utc(2026, 4, 6, 6, 0)
            },
        ]
    );
    assert_eq!(
        warnings[0].to_string(),
        "nobody is on call from 2026-04-05 21:00:00 UTC until 2026-04-06 06:00:00 UTC"
    );
}

#[test]
fn invalid_schedules_are_refused_with_a_typed_error() {
    let base = layer("week", &["dana"], Rotation::Weeks(1), time(7, 0));
    let with = |f: fn(&mut Layer)| {
        let mut l = base.clone();
        f(&mut l);
        Schedule::new("tills", Jerusalem, vec![l])
    };
    assert_eq!(
        Schedule::new(" ", Jerusalem, vec![base.clone()]),
        Err(ScheduleError::EmptyName)
    );
    assert_eq!(
        with(|l| l.name.clear()),
        Err(ScheduleError::EmptyLayerName { index: 0 })
    );
    assert!(matches!(
        with(|l| l.people.clear()),
        Err(ScheduleError::NoPeople { .. })
    ));
    assert!(matches!(
        with(|l| l.length = Rotation::Days(0)),
        Err(ScheduleError::ZeroLength { .. })
    ));
    assert!(matches!(
        with(|l| {
            l.restriction = Some(Restriction::hours(Hours::new(time(9, 0), time(9, 0))));
        }),
        Err(ScheduleError::BadHours { .. })
    ));
    // Deserialising validates too.
    let json = r#"{"name":"tills","zone":"Asia/Jerusalem","layers":[{"name":"week","people":[],
        "length":{"weeks":1},"handoff":"07:00:00","starts":"2026-03-22"}]}"#;
    assert!(serde_json::from_str::<Schedule>(json).is_err());
}

fn paging_policy(schedules: Vec<Schedule>) -> Result<Policy, PolicyError> {
    let targets = Targets {
        escalation: Some(Chain {
            steps: vec![Step {
                after: Duration::minutes(5),
                notify: vec![Recipient::OnCall("tills".into())],
                channel: Some("sms".into()),
            }],
            rounds: Rounds::Once,
            repeat_from: 0,
            repeat_pause: Duration::minutes(15),
            outside_hours: OutsideHours::default(),
        }),
        ..Targets::none()
    };
    Policy::new(
        incidents::Calendar::always_open_in(Jerusalem),
        BTreeMap::from([(Severity::High, targets)]),
    )?
    .with_schedules(schedules)
}

#[test]
fn a_policy_must_know_the_schedule_a_step_pages() {
    assert!(matches!(
        paging_policy(Vec::new()),
        Err(PolicyError::UnknownSchedule { step: 1, .. })
    ));
    assert!(matches!(
        paging_policy(vec![weekly(), weekly()]),
        Err(PolicyError::DuplicateSchedule { .. })
    ));
    let policy = paging_policy(vec![weekly()]).unwrap();
    let json = serde_json::to_string(&policy).unwrap();
    assert_eq!(serde_json::from_str::<Policy>(&json).unwrap(), policy);
    let without = json.replace(r#""schedules""#, r#""unused""#);
    assert!(serde_json::from_str::<Policy>(&without).is_err());
}

/// The audiences of the notifications an incident opened at `opened` gets from its first
/// escalation step, and the recipients its fired timer names.
fn page(schedule: Schedule, opened: DateTime<Utc>) -> (Vec<Audience>, Vec<Recipient>) {
    let policy = paging_policy(vec![schedule]).unwrap();
    let mut audiences = Vec::new();
    let mut named = Vec::new();
    for event in history_until(policy, opened, opened + Duration::minutes(5)) {
        match event.change {
            Change::NotificationRequested { notification } => audiences.push(notification.audience),
            Change::TimerFired {
                timer: Timer::Escalation { notify, .. },
            } => named.extend(notify),
            _ => {}
        }
    }
    (audiences, named)
}

/// The history of a high incident opened at `opened` on a desk with `policy`, run (every
/// notification delivered) until `until`.
fn history_until(policy: Policy, opened: DateTime<Utc>, until: DateTime<Utc>) -> Vec<Event> {
    struct Quiet;
    impl incidents::Notifier for Quiet {
        fn deliver(
            &self,
            _: &incidents::lifecycle::Notification,
        ) -> Result<(), incidents::notify::DeliveryError> {
            Ok(())
        }
    }
    let store = MemoryStore::new();
    let clock = ManualClock::new(opened);
    let desk = Desk::builder(&store, &clock)
        .policy(policy)
        .build()
        .unwrap();
    let new = NewIncident::new(
        "Tills offline",
        Severity::High,
        "tills",
        Source::StaffReport,
    )
    .unwrap();
    let id = desk.open(&dana(), new).unwrap().id;
    desk.run_until(until, &Quiet).unwrap();
    desk.history(id).unwrap()
}

#[test]
fn an_escalation_step_during_an_override_pages_the_override_and_the_event_names_them() {
    let mut s = weekly();
    s.record(ScheduleChange::Override(Override::new(
        "avi",
        utc(2026, 4, 1, 15, 0),
        utc(2026, 4, 2, 5, 0),
        dana(),
        utc(2026, 3, 20, 9, 0),
    )))
    .unwrap();
    let (audiences, named) = page(s.clone(), utc(2026, 4, 1, 20, 0));
    assert_eq!(
        audiences,
        vec![Audience::Recipients(vec![Recipient::Person("avi".into())])]
    );
    assert_eq!(named, vec![Recipient::OnCall("tills".into())]);
    // Outside the override, the rotation's person.
    let (audiences, _) = page(s, utc(2026, 4, 2, 6, 0));
    assert_eq!(
        audiences,
        vec![Audience::Recipients(vec![Recipient::Person("omer".into())])]
    );
}

#[test]
fn nobody_on_call_pages_the_owner() {
    // Before the rotation starts, nobody is on call.
    let (audiences, _) = page(weekly(), utc(2026, 3, 1, 12, 0));
    assert_eq!(
        audiences,
        vec![Audience::Recipients(vec![Recipient::IncidentOwner])]
    );
}

#[cfg(feature = "oncall")]
#[test]
fn the_ical_export_parses_back_to_the_final_schedule() {
    let mut s = weekend_over_weekdays();
    s.record(ScheduleChange::Override(Override::new(
        "avi",
        utc(2026, 4, 1, 15, 0),
        utc(2026, 4, 2, 5, 0),
        dana(),
        utc(2026, 3, 20, 9, 0),
    )))
    .unwrap();
    let (from, until) = (utc(2026, 3, 20, 0, 0), utc(2026, 4, 20, 0, 0));
    let stamp = utc(2026, 3, 20, 9, 0);
    let text = s.to_ical(from, until, stamp);
    let shifts = s.shifts(from, until);
    assert_eq!(shifts_from_ical(&text).unwrap(), shifts);
    assert_eq!(text.matches("BEGIN:VEVENT").count(), shifts.len());
    // Stable: the same schedule gives the same text, UIDs included; a later export that
    // starts elsewhere keeps the UIDs of the shifts they share.
    assert_eq!(s.to_ical(from, until, stamp), text);
    let uid = s.shift_uid(&shifts[3]);
    assert!(text.contains(&format!("UID:{uid}")), "{text}");
    let later = s.to_ical(shifts[3].start, until, stamp);
    assert!(later.contains(&format!("UID:{uid}")));
    let uids: std::collections::BTreeSet<_> = shifts.iter().map(|x| s.shift_uid(x)).collect();
    assert_eq!(uids.len(), shifts.len());
}

#[cfg(feature = "oncall")]
#[test]
fn the_ical_round_trip_keeps_names_with_commas_semicolons_and_long_lines() {
    let name = "weekdays, mornings; \\ the long layer name that a calendar line has to fold over";
    let s = Schedule::new(
        "tills; north, south",
        Jerusalem,
        vec![layer(
            name,
            &["dana@shop.example", "o'neil+pager@shop.example"],
            Rotation::Days(1),
            time(7, 30),
        )],
    )
    .unwrap();
    let (from, until) = (utc(2026, 3, 25, 0, 0), utc(2026, 4, 1, 0, 0));
    let text = s.to_ical(from, until, from);
    assert_eq!(shifts_from_ical(&text).unwrap(), s.shifts(from, until));
}

fn arb_layer() -> impl Strategy<Value = Layer> {
    (
        prop::collection::vec(prop::sample::select(vec!["a", "b", "c", "d"]), 1..4),
        prop_oneof![
            (1u32..4).prop_map(Rotation::Days),
            (1u32..3).prop_map(Rotation::Weeks)
        ],
        (0u32..24, prop::sample::select(vec![0u32, 30])),
        0i64..30,
        prop::option::of((
            prop::collection::vec(
                prop::sample::select(vec![Weekday::Mon, Weekday::Fri, Weekday::Sat, Weekday::Sun]),
                0..3,
            ),
            prop::option::of(((0u32..24), (0u32..24))),
        )),
    )
        .prop_map(|(people, length, (h, m), start, restriction)| {
            let layer = Layer::new(
                format!("l{h}{m}"),
                people,
                length,
                time(h, m),
                date(2026, 3, 10) + Duration::days(start),
            );
            match restriction {
                None => layer,
                Some((weekdays, hours)) => {
                    let mut r = Restriction::weekdays(weekdays);
                    if let Some((a, b)) = hours.filter(|(a, b)| a != b) {
                        r = r.with_hours(Hours::new(time(a, 0), time(b, 0)));
                    }
                    layer.with_restriction(r)
                }
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Around both clock changes in Jerusalem: the shifts never overlap, and `on_call_at`
    /// agrees with them at every boundary (and just before it).
    #[test]
    fn the_final_schedule_has_one_person_at_a_time(
        layers in prop::collection::vec(arb_layer(), 1..4),
        overrides in prop::collection::vec((0i64..400, 1i64..48, prop::sample::select(vec!["x", "y"])), 0..4),
        swap in prop::option::of((0i64..400, 1i64..96)),
        (month, day) in prop::sample::select(vec![(3u32, 18u32), (10, 16)]),
    ) {
        let mut s = Schedule::new("p", Jerusalem, layers).unwrap();
        let base = utc(2026, month, day, 0, 0);
        for (start, hours, person) in overrides {
            let from = base + Duration::hours(start);
            let _ = s.record(ScheduleChange::Override(Override::new(
                person,
                from,
                from + Duration::hours(hours),
                dana(),
                base,
            )));
        }
        if let Some((start, hours)) = swap {
            let from = base + Duration::hours(start);
            s.record(ScheduleChange::Swap(Swap::new(
                "a",
                "b",
                from,
                from + Duration::hours(hours),
                dana(),
                base,
            ))).unwrap();
        }
        let (from, until) = (base, base + Duration::days(18));
        let shifts = s.shifts(from, until);
        for pair in shifts.windows(2) {
            prop_assert!(pair[0].end <= pair[1].start, "{:?}", pair);
        }
        for x in &shifts {
            prop_assert!(x.start < x.end && from <= x.start && x.end <= until);
            prop_assert_eq!(s.on_call_at(x.start), Some(x.person.as_str()));
            prop_assert_eq!(s.on_call_at(x.end - Duration::seconds(1)), Some(x.person.as_str()));
            let next = shifts.iter().find(|y| y.start == x.end).map(|y| y.person.as_str());
            if x.end < until {
                prop_assert_eq!(s.on_call_at(x.end), next);
            }
        }
        // Between shifts, nobody.
        let mut covered = from;
        for x in &shifts {
            if covered < x.start {
                prop_assert_eq!(s.on_call_at(covered), None);
                prop_assert_eq!(s.on_call_at(x.start - Duration::seconds(1)), None);
            }
            covered = x.end;
        }
    }
}

/// A policy whose high incidents must be acknowledged within 20 minutes (at risk at 75%) and
/// whose SLA warnings go to `warn`.
fn warning_policy(warn: Vec<Recipient>, schedules: Vec<Schedule>) -> Result<Policy, PolicyError> {
    let targets = Targets {
        acknowledge: Some(Duration::minutes(20)),
        ..Targets::none()
    }
    .with_warnings_to(warn);
    Policy::new(
        incidents::Calendar::always_open_in(Jerusalem),
        BTreeMap::from([(Severity::High, targets)]),
    )?
    .with_schedules(schedules)
}

/// The notifications an incident opened at `opened` gets up to 25 minutes later (its
/// acknowledge target at risk at 15 minutes, missed at 20), as (timer key, audience), and the
/// timers fired.
fn warnings(policy: Policy, opened: DateTime<Utc>) -> (Vec<(String, Audience)>, Vec<Timer>) {
    let mut sent = Vec::new();
    let mut fired = Vec::new();
    for event in history_until(policy, opened, opened + Duration::minutes(25)) {
        match event.change {
            Change::NotificationRequested { notification } => {
                sent.push((notification.key, notification.audience));
            }
            Change::TimerFired { timer } => fired.push(timer),
            _ => {}
        }
    }
    (sent, fired)
}

#[test]
fn sla_warnings_page_whoever_is_on_call_and_the_event_names_them() {
    let mut s = weekly();
    s.record(ScheduleChange::Override(Override::new(
        "avi",
        utc(2026, 4, 1, 15, 0),
        utc(2026, 4, 2, 5, 0),
        dana(),
        utc(2026, 3, 20, 9, 0),
    )))
    .unwrap();
    let policy = warning_policy(vec![Recipient::OnCall("tills".into())], vec![s]).unwrap();
    // 20:00 on 1 April: Avi covers (an override over Omer's week).
    let opened = utc(2026, 4, 1, 20, 0);
    let (sent, fired) = warnings(policy.clone(), opened);
    let avi = Audience::Recipients(vec![Recipient::Person("avi".into())]);
    let id_free: Vec<_> = sent
        .iter()
        .map(|(key, audience)| (key.split_once('/').unwrap().1, audience))
        .collect();
    assert_eq!(
        id_free,
        vec![
            ("sla/acknowledge/at_risk", &avi),
            ("sla/acknowledge/breached", &avi),
        ]
    );
    // The fired timers are the targets' own; the notifications name who was paged.
    assert!(matches!(fired[0], Timer::SlaAtRisk { .. }), "{fired:?}");
    assert!(matches!(fired[1], Timer::SlaBreached { .. }), "{fired:?}");
    // The override ends at 05:00 on 2 April: at risk at 04:57 pages Avi, missed at 05:02
    // pages Omer, whose week it is again. Each warning resolves when it fires.
    let (sent, _) = warnings(policy, utc(2026, 4, 2, 4, 42));
    let omer = Audience::Recipients(vec![Recipient::Person("omer".into())]);
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(sent[0].1, avi);
    assert_eq!(sent[1].1, omer);
}

#[test]
fn sla_warnings_without_a_list_go_to_the_owner_and_a_list_can_name_anyone() {
    let opened = utc(2026, 4, 1, 20, 0);
    let (sent, _) = warnings(warning_policy(Vec::new(), Vec::new()).unwrap(), opened);
    assert_eq!(sent.len(), 2);
    assert!(sent.iter().all(|(_, a)| *a == Audience::Owner), "{sent:?}");
    let both = vec![
        Recipient::Person("gil".into()),
        Recipient::Role(Role::Responder),
    ];
    let (sent, _) = warnings(warning_policy(both.clone(), Vec::new()).unwrap(), opened);
    assert!(
        sent.iter()
            .all(|(_, a)| *a == Audience::Recipients(both.clone())),
        "{sent:?}"
    );
    // Nobody on call (before the rotation starts): the owner, by name of the role.
    let policy = warning_policy(vec![Recipient::OnCall("tills".into())], vec![weekly()]).unwrap();
    let (sent, _) = warnings(policy, utc(2026, 3, 1, 12, 0));
    assert!(
        sent.iter()
            .all(|(_, a)| *a == Audience::Recipients(vec![Recipient::IncidentOwner])),
        "{sent:?}"
    );
}

#[test]
fn a_policy_naming_an_unknown_schedule_is_refused_by_the_policy_and_by_the_desk() {
    let on_call = vec![Recipient::OnCall("tills".into())];
    assert!(matches!(
        warning_policy(on_call.clone(), Vec::new()),
        Err(PolicyError::UnknownWarningSchedule { severity: Severity::High, ref schedule })
            if schedule == "tills"
    ));
    // `Policy::new` cannot know the schedules yet; the desk refuses to run such a policy.
    let targets = Targets {
        acknowledge: Some(Duration::minutes(20)),
        ..Targets::none()
    }
    .with_warnings_to(on_call);
    let policy = Policy::new(
        incidents::Calendar::always_open_in(Jerusalem),
        BTreeMap::from([(Severity::High, targets)]),
    )
    .unwrap();
    assert!(matches!(
        policy.check_schedules(),
        Err(PolicyError::UnknownWarningSchedule { .. })
    ));
    let store = MemoryStore::new();
    let clock = ManualClock::new(utc(2026, 4, 1, 20, 0));
    let refused = Desk::builder(&store, &clock).policy(policy).build();
    assert!(
        matches!(
            refused,
            Err(incidents::Error::Policy(
                PolicyError::UnknownWarningSchedule { .. }
            ))
        ),
        "{:?}",
        refused.err()
    );
    // And a step's schedule, on the desk too.
    let step = paging_policy(vec![weekly()]).unwrap();
    let json = serde_json::to_string(&step).unwrap();
    let renamed = json.replace(r#""name":"tills""#, r#""name":"other""#);
    assert!(matches!(
        serde_json::from_str::<Policy>(&renamed),
        Err(e) if e.to_string().contains("no on-call schedule named \"tills\"")
    ));
}
