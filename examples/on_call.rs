//! A café's till outage paged to whoever is on call (feature `oncall`).
//!
//! Maya and Tom take weeks in turn, handing over on Monday at 07:00 (Europe/London); Sam covers
//! Saturdays and Sundays. Maya has put Lena on call for the Christmas Eve evening. The till
//! breaks at 20:30 on Christmas Eve: the escalation chain pages "whoever is on call in the
//! tills schedule", and the timeline records that it was Lena. The schedule reminds each
//! person 30 minutes before their on-call stretch starts: the desk, run on to Boxing Day,
//! delivers Tom's reminder for Christmas morning and Sam's for the weekend. The schedule's
//! check and its iCalendar export (one event per shift, stable UIDs) follow.
//!
//! ```text
//! cargo run --example on_call --features oncall
//! ```

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Europe::London;
use incidents::lifecycle::Audience;
use incidents::oncall::{Layer, Override, Restriction, Rotation, Schedule, ScheduleChange};
use incidents::policy::{Chain, OutsideHours, Recipient, Rounds, Step, Targets};
use incidents::{
    Actor, Calendar, Change, Desk, ManualClock, MemoryStore, NewIncident, Policy, Role, Severity,
    Source,
};

fn tills(maya: &Actor) -> Result<Schedule, Box<dyn std::error::Error>> {
    let at = |h, m| NaiveTime::from_hms_opt(h, m, 0).ok_or("bad time");
    let monday = NaiveDate::from_ymd_opt(2026, 11, 30).ok_or("bad date")?;
    let weeks = Layer::new(
        "weeks",
        ["maya", "tom"],
        Rotation::Weeks(1),
        at(7, 0)?,
        monday,
    );
    let weekend = Layer::new("weekend", ["sam"], Rotation::Days(1), at(0, 0)?, monday)
        .with_restriction(Restriction::weekdays([Weekday::Sat, Weekday::Sun]));
    let mut schedule =
        Schedule::new("tills", London, vec![weeks, weekend])?.with_reminder(Duration::minutes(30));
    schedule.record(ScheduleChange::Override(Override::new(
        "lena",
        Utc.with_ymd_and_hms(2026, 12, 24, 17, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2026, 12, 25, 7, 0, 0).unwrap(),
        maya.clone(),
        Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap(),
    )))?;
    Ok(schedule)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let maya = Actor::new("maya", "Maya (owner)", Role::Owner)?;
    let schedule = tills(&maya)?;
    let till_down = Targets {
        acknowledge: Some(Duration::minutes(30)),
        escalation: Some(Chain {
            steps: vec![Step {
                after: Duration::minutes(2),
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
    let policy = Policy::new(
        Calendar::always_open_in(London),
        BTreeMap::from([(Severity::High, till_down)]),
    )?
    .with_schedules(vec![schedule.clone()])?;

    let christmas_eve = Utc.with_ymd_and_hms(2026, 12, 24, 20, 30, 0).unwrap();
    let clock = ManualClock::new(christmas_eve);
    let desk = Desk::builder(MemoryStore::new(), &clock)
        .policy(policy)
        .build()?;
    let new = NewIncident::new(
        "Till won't start",
        Severity::High,
        "till",
        Source::StaffReport,
    )?;
    let id = desk.open(&maya, new)?.id;
    let fires = christmas_eve + Duration::minutes(2);
    clock.set(fires);
    desk.tick(fires)?;
    for event in desk.history(id)? {
        if let Change::NotificationRequested { notification } = &event.change
            && let Audience::Recipients(who) = &notification.audience
        {
            let who: Vec<String> = who.iter().map(ToString::to_string).collect();
            println!(
                "{}  paged {}: {}",
                event.at.format("%H:%M"),
                who.join(", "),
                notification.subject
            );
        }
    }

    // Run the desk on to Boxing Day: shift reminders go out through the same outbox.
    struct Printer;
    impl incidents::Notifier for Printer {
        fn deliver(
            &self,
            n: &incidents::lifecycle::Notification,
        ) -> Result<(), incidents::notify::DeliveryError> {
            if n.incident.is_none() {
                println!("  reminder {}: {}", n.key, n.body);
            }
            Ok(())
        }
    }
    println!("\nShift reminders until Boxing Day noon:");
    let run = desk.run_until(
        Utc.with_ymd_and_hms(2026, 12, 26, 12, 0, 0).unwrap(),
        &Printer,
    )?;
    let reminders = run
        .delivered
        .iter()
        .filter(|(_, key)| key.starts_with("oncall/"))
        .count();
    assert_eq!(
        reminders, 2,
        "Tom on Christmas morning, Sam for the weekend"
    );

    let from = Utc.with_ymd_and_hms(2026, 12, 21, 7, 0, 0).unwrap();
    let until = from + Duration::days(14);
    println!(
        "\nThe tills schedule, two weeks from {}:",
        from.format("%Y-%m-%d")
    );
    for shift in schedule.shifts(from, until) {
        println!(
            "  {} – {}  {:<5} ({:?})",
            shift.start.with_timezone(&London).format("%a %d %b %H:%M"),
            shift.end.with_timezone(&London).format("%a %d %b %H:%M"),
            shift.person,
            shift.source
        );
    }
    let reachable = |person: &str| person != "lena";
    for warning in schedule.check(from, until, reachable) {
        println!("  warning: {warning}");
    }
    let ical = schedule.to_ical(from, until, christmas_eve);
    println!(
        "\niCalendar export: {} events, {} bytes",
        ical.matches("BEGIN:VEVENT").count(),
        ical.len()
    );
    Ok(())
}
