//! Shift reminders of on-call schedules through the desk's outbox (#17 item 5): exact
//! instants on a `ManualClock` driven by `run_until`, and a property test of
//! `Schedule::reminders`.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Mutex;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Asia::Jerusalem;
use incidents::lifecycle::{Audience, Notification};
use incidents::notify::{Backoff, DeliveryError};
use incidents::oncall::{Layer, Override, Rotation, Schedule, ScheduleChange};
use incidents::policy::Recipient;
use incidents::{Actor, Clock, Desk, ManualClock, MemoryStore, Notifier, Policy, Role};
use proptest::prelude::*;

fn utc(m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, m, d, h, min, 0).unwrap()
}

/// Dana and Omer take weeks in turn from Sunday 22 March 2026, handing over at 07:00 in
/// Jerusalem (04:00 UTC in summer time).
fn weekly() -> Schedule {
    Schedule::new(
        "tills",
        Jerusalem,
        vec![Layer::new(
            "week",
            ["dana", "omer"],
            Rotation::Weeks(1),
            NaiveTime::from_hms_opt(7, 0, 0).unwrap(),
            NaiveDate::from_ymd_opt(2026, 3, 22).unwrap(),
        )],
    )
    .unwrap()
}

/// Omer's first week starts Sunday 29 March at 07:00 Jerusalem time.
fn omers_start() -> DateTime<Utc> {
    utc(3, 29, 4, 0)
}

const OMERS_KEY: &str = "oncall/tills/omer/2026-03-29T04:00:00Z/reminder";

fn policy(schedule: Schedule) -> Policy {
    Policy::small_business()
        .with_schedules(vec![schedule])
        .unwrap()
}

/// Records what it is given; fails the first attempts as told.
#[derive(Default)]
struct Outbox {
    sent: Mutex<Vec<Notification>>,
    failures: Mutex<VecDeque<DeliveryError>>,
}

impl Outbox {
    fn failing(errors: impl IntoIterator<Item = DeliveryError>) -> Outbox {
        Outbox {
            failures: Mutex::new(errors.into_iter().collect()),
            ..Outbox::default()
        }
    }

    fn sent(&self) -> Vec<Notification> {
        self.sent.lock().unwrap().clone()
    }
}

impl Notifier for Outbox {
    fn deliver(&self, n: &Notification) -> Result<(), DeliveryError> {
        if let Some(error) = self.failures.lock().unwrap().pop_front() {
            return Err(error);
        }
        self.sent.lock().unwrap().push(n.clone());
        Ok(())
    }
}

#[test]
fn one_reminder_at_start_less_the_lead_exactly_once_to_the_person() {
    let lead = Duration::minutes(45);
    let clock = ManualClock::new(utc(3, 23, 12, 0));
    let desk = Desk::builder(MemoryStore::new(), &clock)
        .policy(policy(weekly().with_reminder(lead)))
        .build()
        .unwrap();
    let due = omers_start() - lead;
    assert_eq!(desk.next_deadline(), Some(due));

    let outbox = Outbox::default();
    let run = desk.run_until(utc(4, 1, 0, 0), &outbox).unwrap();
    assert_eq!(run.delivered, [(due, OMERS_KEY.to_string())]);
    let sent = outbox.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let n = &sent[0];
    assert_eq!(n.key, OMERS_KEY);
    assert_eq!(n.incident, None);
    assert_eq!(
        n.audience,
        Audience::Recipients(vec![Recipient::Person("omer".into())])
    );
    // Without catalogs: the English text, times in the schedule's zone.
    assert_eq!(n.locale, None);
    assert!(n.body.contains("2026-03-29 07:00"), "{}", n.body);
    assert!(n.body.contains("2026-04-05 07:00"), "{}", n.body);

    // Dana's week from 5 April is next.
    assert_eq!(desk.next_deadline(), Some(utc(4, 5, 4, 0) - lead));
    // A repeated tick in the window queues nothing again.
    clock.set(omers_start() - Duration::minutes(1));
    assert_eq!(desk.tick(clock.now()).unwrap().reminders, 0);
    assert!(desk.dispatch(&outbox).unwrap().delivered.is_empty());
    assert_eq!(outbox.sent().len(), 1);
}

#[cfg(feature = "l10n")]
#[test]
fn a_hebrew_reader_gets_the_reminder_in_hebrew() {
    use std::sync::Arc;

    use incidents::l10n::Catalogs;
    use incidents::policy::Languages;

    let lead = Duration::hours(1);
    let clock = ManualClock::new(utc(3, 23, 12, 0));
    let policy = policy(weekly().with_reminder(lead))
        .with_languages(Languages::shop("en").person("omer", "he"))
        .unwrap();
    let desk = Desk::builder(MemoryStore::new(), &clock)
        .policy(policy)
        .catalogs(Arc::new(Catalogs::builder().build().unwrap()))
        .build()
        .unwrap();
    let outbox = Outbox::default();
    // Omer's reminder (29 March), then Dana's (5 April) in English.
    desk.run_until(utc(4, 6, 0, 0), &outbox).unwrap();
    let sent = outbox.sent();
    assert_eq!(sent.len(), 2, "{sent:?}");
    let (omer, dana) = (&sent[0], &sent[1]);
    assert_eq!(omer.key, OMERS_KEY);
    assert_eq!(omer.locale.as_deref(), Some("he"));
    assert!(omer.subject.contains("כוננות"), "{}", omer.subject);
    // 07:00 in Jerusalem, in the Hebrew catalog's date format.
    assert!(omer.body.contains("29 במרץ 2026, 7:00"), "{}", omer.body);
    assert!(omer.sms.as_deref().is_some_and(|s| s.contains("כוננות")));
    assert_eq!(dana.locale.as_deref(), Some("en"));
    assert!(
        dana.subject.starts_with("You are on call"),
        "{}",
        dana.subject
    );
}

#[test]
fn a_transient_failure_is_retried_and_delivered() {
    let lead = Duration::minutes(30);
    let clock = ManualClock::new(utc(3, 23, 12, 0));
    let desk = Desk::builder(MemoryStore::new(), &clock)
        .policy(policy(weekly().with_reminder(lead)))
        .backoff(Backoff {
            first: Duration::minutes(2),
            max: Duration::minutes(10),
            attempts: 5,
        })
        .build()
        .unwrap();
    let outbox = Outbox::failing([DeliveryError::new("SMS gateway busy")]);
    let run = desk.run_until(utc(3, 30, 0, 0), &outbox).unwrap();
    let due = omers_start() - lead;
    assert_eq!(run.failed, 1);
    assert_eq!(
        run.delivered,
        [(due + Duration::minutes(2), OMERS_KEY.to_string())]
    );
    assert_eq!(outbox.sent().len(), 1);
}

#[test]
fn a_reminder_whose_shift_has_started_is_dropped() {
    let lead = Duration::minutes(30);
    let clock = ManualClock::new(utc(3, 23, 12, 0));
    let desk = Desk::builder(MemoryStore::new(), &clock)
        .policy(policy(weekly().with_reminder(lead)))
        // The retry would come after the shift has started.
        .backoff(Backoff {
            first: Duration::hours(1),
            max: Duration::hours(1),
            attempts: 5,
        })
        .build()
        .unwrap();
    let outbox = Outbox::failing([DeliveryError::new("SMS gateway busy")]);
    let run = desk.run_until(utc(3, 30, 0, 0), &outbox).unwrap();
    assert_eq!(run.failed, 1);
    assert_eq!(run.reminders_dropped, 1);
    assert!(run.delivered.is_empty());
    assert!(outbox.sent().is_empty());
}

#[test]
fn a_permanent_failure_gives_up() {
    let clock = ManualClock::new(utc(3, 23, 12, 0));
    let desk = Desk::builder(MemoryStore::new(), &clock)
        .policy(policy(weekly().with_reminder(Duration::minutes(30))))
        .build()
        .unwrap();
    let outbox = Outbox::failing([DeliveryError::permanent("no such number")]);
    let run = desk.run_until(utc(3, 30, 0, 0), &outbox).unwrap();
    assert_eq!((run.failed, run.gave_up, run.reminders_dropped), (0, 1, 0));
    assert!(outbox.sent().is_empty());
}

#[test]
fn a_new_desk_inside_the_window_sends_the_same_key_again_and_none_after_the_start() {
    let lead = Duration::hours(2);
    let due = omers_start() - lead;
    let store = MemoryStore::new();
    let clock = ManualClock::new(utc(3, 23, 12, 0));
    let first = Desk::builder(&store, &clock)
        .policy(policy(weekly().with_reminder(lead)))
        .build()
        .unwrap();
    let outbox = Outbox::default();
    first
        .run_until(due + Duration::minutes(10), &outbox)
        .unwrap();
    drop(first);

    // Restarted on the same store, still before the shift starts: sent again, same key.
    let again = Desk::builder(&store, &clock)
        .policy(policy(weekly().with_reminder(lead)))
        .build()
        .unwrap();
    // Its reminder is already due (in the past, so at once).
    assert_eq!(again.next_deadline(), Some(due));
    assert!(due < clock.now());
    let run = again
        .run_until(omers_start() + Duration::hours(1), &outbox)
        .unwrap();
    assert_eq!(
        run.delivered,
        [(due + Duration::minutes(10), OMERS_KEY.to_string())]
    );
    let keys: Vec<String> = outbox.sent().into_iter().map(|n| n.key).collect();
    assert_eq!(keys, [OMERS_KEY, OMERS_KEY]);

    // A desk started after the shift began does not send it.
    let late = Desk::builder(&store, &clock)
        .policy(policy(weekly().with_reminder(lead)))
        .build()
        .unwrap();
    let run = late.run_until(utc(4, 1, 0, 0), &outbox).unwrap();
    assert!(run.delivered.is_empty(), "{run:?}");
    assert_eq!(outbox.sent().len(), 2);
}

#[test]
fn a_shift_continuing_the_same_persons_stretch_gets_none() {
    let lead = Duration::hours(1);
    let mut schedule = weekly().with_reminder(lead);
    // Dana covers Omer's week: her stretch runs from 22 March to 12 April.
    schedule
        .record(ScheduleChange::Override(Override::new(
            "dana",
            omers_start(),
            utc(4, 5, 4, 0),
            Actor::new("dana", "Dana", Role::Owner).unwrap(),
            utc(3, 1, 0, 0),
        )))
        .unwrap();
    let clock = ManualClock::new(utc(3, 23, 12, 0));
    let desk = Desk::builder(MemoryStore::new(), &clock)
        .policy(policy(schedule))
        .build()
        .unwrap();
    let omer_again = utc(4, 12, 4, 0);
    assert_eq!(desk.next_deadline(), Some(omer_again - lead));
    let outbox = Outbox::default();
    let run = desk.run_until(utc(4, 13, 0, 0), &outbox).unwrap();
    assert_eq!(
        run.delivered,
        [(
            omer_again - lead,
            "oncall/tills/omer/2026-04-12T04:00:00Z/reminder".to_string()
        )]
    );
}

#[test]
fn a_schedule_without_a_reminder_sends_none() {
    let clock = ManualClock::new(utc(3, 23, 12, 0));
    let desk = Desk::builder(MemoryStore::new(), &clock)
        .policy(policy(weekly()))
        .build()
        .unwrap();
    assert_eq!(desk.next_deadline(), None);
    let outbox = Outbox::default();
    let run = desk.run_until(utc(5, 1, 0, 0), &outbox).unwrap();
    assert!(run.delivered.is_empty());
    assert!(outbox.sent().is_empty());
    assert_eq!(desk.tick(clock.now()).unwrap().reminders, 0);
}

#[test]
fn a_schedule_that_never_changes_hands_wakes_the_desk_about_once_a_year() {
    // Dana alone: her stretch started before the desk, and no other ever starts.
    let mut layers = weekly().layers().to_vec();
    layers[0].people = vec!["dana".into()];
    let alone = Schedule::new("tills", Jerusalem, layers)
        .unwrap()
        .with_reminder(Duration::hours(1));
    let now = utc(3, 23, 12, 0);
    let clock = ManualClock::new(now);
    let desk = Desk::builder(MemoryStore::new(), &clock)
        .policy(policy(alone))
        .build()
        .unwrap();
    let next = desk.next_deadline().unwrap();
    assert!(next >= now + Duration::days(366), "{next}");
    assert!(next <= now + Duration::days(366 + 7), "{next}");
    // A tick keeps the plan about a year ahead of it, never further.
    desk.tick(now + Duration::days(1)).unwrap();
    assert_eq!(desk.next_deadline(), Some(next));
    for days in [100, 300] {
        let at = now + Duration::days(days);
        desk.tick(at).unwrap();
        let next = desk.next_deadline().unwrap();
        assert!(next >= at + Duration::days(366), "{next}");
        assert!(next <= at + Duration::days(366 + 7), "{next}");
    }
    let outbox = Outbox::default();
    let run = desk.run_until(next + Duration::days(1), &outbox).unwrap();
    assert!(run.delivered.is_empty());
}

fn rotation() -> impl Strategy<Value = Rotation> {
    prop_oneof![
        (1u32..=10).prop_map(Rotation::Days),
        (1u32..=3).prop_map(Rotation::Weeks)
    ]
}

proptest! {
    /// Every reminder falls due its lead before the start of a stretch of its person (who
    /// was not on call just before it), in the period asked for; keys are unique.
    #[test]
    fn reminders_are_due_their_lead_before_a_stretch_start_with_unique_keys(
        lead_minutes in 1i64..=(3 * 24 * 60),
        length in rotation(),
        people in proptest::collection::vec(prop_oneof![Just("dana"), Just("omer"), Just("noa")], 1..=5),
        handoff_hour in 0u32..24,
        from_hours in 0i64..(60 * 24),
        span_hours in 1i64..(40 * 24),
    ) {
        let lead = Duration::minutes(lead_minutes);
        let schedule = Schedule::new(
            "tills",
            Jerusalem,
            vec![Layer::new(
                "turns",
                people.iter().map(|p| p.to_string()),
                length,
                NaiveTime::from_hms_opt(handoff_hour, 0, 0).unwrap(),
                NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            )],
        )
        .unwrap()
        .with_reminder(lead);
        let from = utc(2, 20, 0, 0) + Duration::hours(from_hours);
        let until = from + Duration::hours(span_hours);
        let reminders = schedule.reminders(from, until);
        let mut keys = BTreeSet::new();
        for r in &reminders {
            prop_assert_eq!(r.due, r.start - lead);
            prop_assert!(from <= r.due && r.due < until, "{:?}", r);
            prop_assert_eq!(schedule.on_call_at(r.start), Some(r.person.as_str()));
            prop_assert_ne!(
                schedule.on_call_at(r.start - Duration::nanoseconds(1)),
                Some(r.person.as_str())
            );
            prop_assert!(r.end > r.start);
            prop_assert!(keys.insert(r.key()), "duplicate key {}", r.key());
        }
        // And none is missed: every stretch start in the window has its reminder.
        let starts: BTreeSet<_> = schedule
            .shifts(from + lead - Duration::days(1), until + lead)
            .windows(2)
            .filter(|w| !(w[0].person == w[1].person && w[0].end == w[1].start))
            .map(|w| w[1].start)
            .filter(|s| from + lead <= *s && *s < until + lead)
            .collect();
        let reminded: BTreeSet<_> = reminders.iter().map(|r| r.start).collect();
        prop_assert!(starts.is_subset(&reminded), "{:?} vs {:?}", starts, reminded);
    }
}
