//! Paging only when the shop is open: a chain that counts opening hours, on an incident opened
//! while the shop is closed, starts at the next opening — on a closed Saturday and across the
//! daylight-saving changes of Asia/Jerusalem — while severities that page at any hour page at
//! once. The defaults `Policy::small_business()` documents hold word for word.

use std::sync::Mutex;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc, Weekday};
use chrono_tz::Asia::Jerusalem;
use chrono_tz::Tz;
use incidents::lifecycle::{Notification, Timer};
use incidents::notify::DeliveryError;
use incidents::{
    Calendar, Clock, Desk, IncidentId, ManualClock, MemoryStore, NewIncident, Notifier, Policy,
    Severity, Source,
};

use crate::support::owner;

/// A café in Jerusalem: open Sunday to Friday 07:00–19:00, closed on Saturdays.
fn cafe() -> Calendar {
    use Weekday::{Fri, Mon, Sun, Thu, Tue, Wed};
    Calendar::weekly(Tz::Asia__Jerusalem)
        .open([Sun, Mon, Tue, Wed, Thu, Fri], "07:00", "19:00")
        .unwrap()
}

/// `h:m` local time in Jerusalem on `date`, in UTC.
fn local(date: (i32, u32, u32), h: u32, m: u32) -> DateTime<Utc> {
    let day = NaiveDate::from_ymd_opt(date.0, date.1, date.2).unwrap();
    Jerusalem
        .from_local_datetime(&day.and_hms_opt(h, m, 0).unwrap())
        .earliest()
        .unwrap()
        .with_timezone(&Utc)
}

struct Pager(
    Mutex<Vec<(DateTime<Utc>, Notification)>>,
    &'static ManualClock,
);

impl Notifier for Pager {
    fn deliver(&self, n: &Notification) -> Result<(), DeliveryError> {
        self.0.lock().unwrap().push((self.1.now(), n.clone()));
        Ok(())
    }
}

/// Opens an incident of `severity` at `opened` on the default policy with the café's hours,
/// runs a day and a half, and returns when each escalation step fired.
fn pages(severity: Severity, opened: DateTime<Utc>) -> (IncidentId, Vec<DateTime<Utc>>) {
    let clock: &'static ManualClock = Box::leak(Box::new(ManualClock::new(opened)));
    let policy = Policy::small_business().with_calendar(cafe()).unwrap();
    let desk = Desk::builder(MemoryStore::new(), clock)
        .policy(policy)
        .build()
        .unwrap();
    let new = NewIncident::new("Till won't print", severity, "POS", Source::StaffReport).unwrap();
    let id = desk.open(&owner(), new).unwrap().id;
    let pager = Pager(Mutex::default(), clock);
    let run = desk
        .run_until(opened + Duration::hours(36), &pager)
        .unwrap();
    let steps = run
        .fired
        .iter()
        .filter(|(_, _, t)| matches!(t, Timer::Escalation { .. }))
        .map(|(at, _, _)| *at)
        .collect::<Vec<_>>();
    let delivered: Vec<DateTime<Utc>> = pager
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, n)| matches!(n.audience, incidents::lifecycle::Audience::Recipients(_)))
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(delivered, steps, "each page goes out when its step fires");
    (id, steps)
}

#[test]
fn a_medium_incident_opened_on_the_closed_saturday_pages_at_sundays_opening() {
    // Saturday 28 November 2026, 10:00 in Jerusalem (08:00 UTC): closed all day.
    let saturday = local((2026, 11, 28), 10, 0);
    assert_eq!(
        saturday,
        Utc.with_ymd_and_hms(2026, 11, 28, 8, 0, 0).unwrap()
    );
    let (_, steps) = pages(Severity::Medium, saturday);
    // "owner, when the shop is open": Sunday 07:00 local, 05:00 UTC — not at once.
    assert_eq!(
        steps,
        [Utc.with_ymd_and_hms(2026, 11, 29, 5, 0, 0).unwrap()]
    );
}

#[test]
fn a_medium_incident_opened_after_closing_pages_at_the_next_mornings_opening() {
    let (_, steps) = pages(Severity::Medium, local((2026, 11, 26), 19, 30));
    assert_eq!(steps, [local((2026, 11, 27), 7, 0)]);
}

#[test]
fn a_medium_incident_opened_while_open_pages_at_once() {
    let opened = local((2026, 11, 26), 12, 0);
    let (_, steps) = pages(Severity::Medium, opened);
    assert_eq!(steps, [opened]);
}

#[test]
fn critical_and_high_incidents_page_at_any_hour() {
    // "Critical and high page at any hour": on the closed Saturday, at once.
    let saturday = local((2026, 11, 28), 10, 0);
    let (_, high) = pages(Severity::High, saturday);
    assert_eq!(high[0], saturday);
    assert_eq!(high[1], saturday + Duration::minutes(30));
    let (_, critical) = pages(Severity::Critical, saturday);
    assert_eq!(
        critical[..3],
        [
            saturday,
            saturday + Duration::minutes(10),
            saturday + Duration::minutes(15)
        ]
    );
}

#[test]
fn the_opening_counts_in_local_time_across_daylight_saving_changes() {
    // Israel moves to summer time on Friday 27 March 2026 at 02:00: that morning's 07:00
    // opening is 04:00 UTC, the day before's 05:00 UTC.
    let thursday_night = local((2026, 3, 26), 20, 0);
    let (_, steps) = pages(Severity::Medium, thursday_night);
    assert_eq!(steps, [Utc.with_ymd_and_hms(2026, 3, 27, 4, 0, 0).unwrap()]);
    // And back on Sunday 25 October 2026: Saturday is closed, Sunday opens at 07:00 winter
    // time, 05:00 UTC (06:00 local summer time would have been 04:00 UTC).
    let saturday = local((2026, 10, 24), 12, 0);
    let (_, steps) = pages(Severity::Medium, saturday);
    assert_eq!(
        steps,
        [Utc.with_ymd_and_hms(2026, 10, 25, 5, 0, 0).unwrap()]
    );
}

#[test]
fn a_chain_with_delays_counts_them_from_the_opening() {
    // A chain of its own: the owner at once, the responders 20 opening minutes later.
    use incidents::Role;
    use incidents::policy::{Chain, OutsideHours, Recipient, Rounds, Step, Targets};
    let step = |minutes, notify| Step {
        after: Duration::minutes(minutes),
        notify: vec![notify],
        channel: None,
    };
    let targets = Targets {
        hours: incidents::policy::Hours::Business,
        escalation: Some(Chain {
            steps: vec![
                step(0, Recipient::IncidentOwner),
                step(20, Recipient::Role(Role::Responder)),
            ],
            rounds: Rounds::Once,
            repeat_from: 0,
            repeat_pause: Duration::minutes(15),
            outside_hours: OutsideHours::default(),
        }),
        ..Targets::none()
    };
    let policy = Policy::small_business()
        .with_calendar(cafe())
        .unwrap()
        .with_service_override(
            incidents::Service::new("POS").unwrap(),
            Severity::Low,
            targets,
        )
        .unwrap();
    let clock = ManualClock::new(local((2026, 11, 27), 18, 50));
    let desk = Desk::builder(MemoryStore::new(), &clock)
        .policy(policy)
        .build()
        .unwrap();
    let new = NewIncident::new(
        "Receipt printer jams",
        Severity::Low,
        "POS",
        Source::StaffReport,
    )
    .unwrap();
    desk.open(&owner(), new).unwrap();
    struct Quiet;
    impl Notifier for Quiet {
        fn deliver(&self, _: &Notification) -> Result<(), DeliveryError> {
            Ok(())
        }
    }
    let run = desk
        .run_until(local((2026, 11, 30), 12, 0), &Quiet)
        .unwrap();
    let steps: Vec<DateTime<Utc>> = run.fired.iter().map(|(at, _, _)| *at).collect();
    // Opened Friday 18:50, open until 19:00: the owner at once; the responders after 10 more
    // open minutes on Friday and 10 on Sunday morning (Saturday is closed): Sunday 07:10.
    assert!(steps.contains(&local((2026, 11, 27), 18, 50)), "{steps:?}");
    assert!(steps.contains(&local((2026, 11, 29), 7, 10)), "{steps:?}");
}
