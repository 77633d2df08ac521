//! A café's point-of-sale outage at the morning rush, on a durable `FileStore`.
//!
//! The café is open Monday to Saturday, 07:00–19:00 (Europe/London). Maya (the owner) and Sam
//! (her partner) take the pager in turns, a week each, handing over on Monday at 07:00. At
//! 08:10 on a Friday the till stops taking cards. The barista reports it; the POS playbook adds
//! its checklist; the escalation chain pages the owner in the app and then whoever is on call
//! (this week: Maya) on their phone until someone acknowledges; SLA warnings go to whoever is
//! on call too;
//! customers see a notice; the POS vendor is called (the resolve clock pauses while the café
//! waits on them); the fix lands; a review records what to change; the incident closes.
//!
//! Everything runs on a simulated clock that jumps from deadline to deadline, so it finishes
//! at once; the store is real, in `--data-dir` (default: a new temporary directory).
//!
//! ```text
//! cargo run --example cafe_pos
//! cargo run --example cafe_pos -- --data-dir ./cafe-data
//! ```

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use incidents::intake::Reporter;
use incidents::lifecycle::{Audience, Notification};
use incidents::notify::DeliveryError;
use incidents::oncall::{Layer, Rotation, Schedule};
use incidents::people::{Playbook, PlaybookMatch, Review};
use incidents::policy::{Chain, Hours, OutsideHours, Recipient, Rounds, Step, Targets};
use incidents::sla::sla_status;
use incidents::{
    Actor, Alert, Calendar, Clock, Command, Desk, FileStore, ManualClock, Notifier, Policy,
    Resolution, Role, Severity, Source,
};

/// Prints each notification the way the person receiving it would see it.
struct Printing;

impl Notifier for Printing {
    fn deliver(&self, n: &Notification) -> Result<(), DeliveryError> {
        let to = match (&n.audience, n.channel.as_deref()) {
            (Audience::Customers, _) => "customers (shop window and website)".to_string(),
            (Audience::Owner, _) => "owner".to_string(),
            (Audience::Recipients(r), channel) => {
                let who: Vec<String> = r.iter().map(ToString::to_string).collect();
                format!("{} via {}", who.join(", "), channel.unwrap_or("app"))
            }
            // Audiences added in later versions go to the owner.
            _ => "owner".to_string(),
        };
        println!("        -> {to}: {}", n.subject);
        Ok(())
    }
}

fn policy() -> Result<Policy, Box<dyn std::error::Error>> {
    let calendar = Calendar::weekly(Tz::Europe__London).open(
        [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
        ],
        "07:00",
        "19:00",
    )?;
    let step = |minutes, who: Recipient, channel: &str| Step {
        after: Duration::minutes(minutes),
        notify: vec![who],
        channel: Some(channel.to_string()),
    };
    let till_down = Targets {
        acknowledge: Some(Duration::minutes(10)),
        resolve: Some(Duration::hours(1)),
        customer_updates: Some(Duration::minutes(20)),
        at_risk_percent: 75,
        hours: Hours::Business,
        review_required: true,
        escalation: Some(Chain {
            steps: vec![
                step(0, Recipient::IncidentOwner, "app"),
                step(5, Recipient::OnCall(PAGER.into()), "sms"),
                step(15, Recipient::Role(Role::Responder), "chat"),
            ],
            rounds: Rounds::UntilAcknowledged,
            repeat_from: 1,
            repeat_pause: Duration::minutes(10),
            outside_hours: OutsideHours {
                page_anyway_from: Some(Severity::Critical),
            },
        }),
        // "Acknowledge soon" and "missed" warnings page the pager too, not only the owner.
        warn: vec![Recipient::OnCall(PAGER.into())],
    };
    // A week each, Maya first, handing over on Mondays at 07:00 café time.
    let pager = Schedule::new(
        PAGER,
        Tz::Europe__London,
        vec![Layer::new(
            "weekly",
            ["maya", "sam"],
            Rotation::Weeks(1),
            NaiveTime::from_hms_opt(7, 0, 0).ok_or("07:00")?,
            NaiveDate::from_ymd_opt(2026, 11, 23).ok_or("a Monday")?,
        )],
    )?;
    let pos_playbook = Playbook::new(
        "POS down",
        PlaybookMatch {
            service: Some("POS".parse()?),
            ..PlaybookMatch::default()
        },
    )
    .task("Switch to the backup card terminal")?
    .task("Put up the 'cash only for now' sign")?
    .task("Call the POS vendor's support line")?;
    Ok(
        Policy::new(calendar, BTreeMap::from([(Severity::High, till_down)]))?
            .with_playbook(pos_playbook)
            .with_schedules(vec![pager])?,
    )
}

/// The on-call schedule the escalation chain and the SLA warnings page.
const PAGER: &str = "till pager";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = match (args.next().as_deref(), args.next()) {
        (Some("--data-dir"), Some(dir)) => std::path::PathBuf::from(dir),
        (None, _) => {
            std::env::temp_dir().join(format!("incidents-cafe-pos-{}", std::process::id()))
        }
        _ => return Err("usage: cafe_pos [--data-dir DIR]".into()),
    };
    let friday_0810 = Utc.with_ymd_and_hms(2026, 11, 27, 8, 10, 0).unwrap();
    let clock = ManualClock::new(friday_0810);
    let store = FileStore::open(&dir)?;
    println!("Café data in {}", dir.display());
    let desk = Desk::builder(store, &clock).policy(policy()?).build()?;
    if let Some(pager) = desk.policy().schedule(PAGER) {
        let on_call = pager.on_call_at(clock.now()).unwrap_or("nobody");
        println!("On call ({PAGER}): {on_call}");
    }

    let maya = Actor::new("maya", "Maya (owner)", Role::Owner)?;
    let tom = Actor::new("tom", "Tom (barista)", Role::Responder)?;

    // Lets virtual time pass: jump from deadline to deadline, firing timers and delivering.
    let run_until = |until: DateTime<Utc>| -> Result<(), incidents::Error> {
        loop {
            let now = clock.now();
            let fired = desk.tick(now)?;
            for (_, timer) in &fired.fired {
                println!("  {}  timer: {}", now.format("%H:%M"), describe(timer));
            }
            if desk.next_deadline().is_some_and(|d| d <= now) {
                println!("  {}  delivering:", now.format("%H:%M"));
                desk.dispatch(&Printing)?;
            }
            match desk.next_deadline() {
                Some(next) if next <= until && next > now => clock.set(next),
                _ => break,
            }
        }
        clock.set(until.max(clock.now()));
        Ok(())
    };

    println!("\nFriday, morning rush\n");
    // 08:10 — Tom reports it from the till.
    let report = Alert::report(
        Source::StaffReport,
        Reporter::new("Tom")?,
        "till-cards",
        "POS",
        "Till won't take cards",
        clock.now(),
    )?
    .with_severity(Severity::High);
    let id = desk.ingest(&report)?.incident().ok_or("no incident")?;
    println!("  08:10  Tom reports: till won't take cards (incident {id})");
    for task in desk.get(id)?.tasks() {
        println!("         playbook task {}: {}", task.number, task.title);
    }
    desk.act(id, &maya, Command::assign_owner(maya.clone()))?;
    run_until(friday_0810 + Duration::minutes(8))?;

    // 08:18 — Maya, on call this week, paged on her phone and warned that the acknowledge
    // target is at risk, takes it.
    desk.act(id, &maya, Command::Acknowledge)?;
    println!("  {}  Maya acknowledges", clock.now().format("%H:%M"));
    desk.act(id, &tom, Command::CompleteTask { task: 1 })?;
    desk.act(id, &tom, Command::CompleteTask { task: 2 })?;
    desk.act(id, &maya, Command::customer_update("Card payments are down at the till. Cash, or pay at the counter with the backup terminal. Sorry for the wait!")?)?;
    println!(
        "  {}  backup terminal in use, 'cash only' sign up, notice posted",
        clock.now().format("%H:%M")
    );
    run_until(clock.now())?;

    // 08:20 — the POS vendor has to fix it on their side.
    clock.advance(Duration::minutes(3));
    desk.act(id, &tom, Command::CompleteTask { task: 3 })?;
    desk.act(
        id,
        &maya,
        Command::wait_for_vendor("TillCo", Some("ticket 55120"))?,
    )?;
    println!(
        "  {}  waiting on TillCo (ticket 55120); the resolve clock pauses",
        clock.now().format("%H:%M")
    );
    run_until(clock.now() + Duration::minutes(25))?;

    // 08:45 — TillCo pushes a fix; Maya restarts the till.
    desk.act(
        id,
        &maya,
        Command::vendor_responded(Some("TillCo rolled back a bad card-reader update"))?,
    )?;
    desk.act(
        id,
        &maya,
        Command::identify("a faulty card-reader firmware update from TillCo")?,
    )?;
    clock.advance(Duration::minutes(4));
    desk.act(
        id,
        &maya,
        Command::mitigate("restarted the till on the previous firmware")?,
    )?;
    clock.advance(Duration::minutes(3));
    desk.act(id, &maya, Command::resolve(Resolution::Fixed))?;
    desk.act(
        id,
        &maya,
        Command::customer_update("Card payments work again. Thank you for your patience!")?,
    )?;
    println!(
        "  {}  resolved; customers told",
        clock.now().format("%H:%M")
    );
    run_until(clock.now())?;

    // After closing time — the review, then close.
    clock.set(Utc.with_ymd_and_hms(2026, 11, 27, 19, 30, 0).unwrap());
    let review = Review::new(
        "The till rejected every card for 42 minutes at the morning rush after a vendor firmware update.",
        "TillCo pushed a faulty card-reader update during opening hours.",
    )?
    .lesson("Keep the backup terminal charged and next to the till")?
    .follow_up("Ask TillCo to schedule updates after closing time", "maya", clock.now() + Duration::days(3))?
    .follow_up("Laminate the 'cash only' sign", "tom", clock.now() + Duration::days(7))?;
    desk.act(id, &maya, Command::review(review))?;
    desk.act(
        id,
        &maya,
        Command::close(
            "Vendor firmware broke card payments; rolled back.",
            "Updates only after closing time.",
        )?,
    )?;
    println!("  19:30  review recorded, incident closed");

    let incident = desk.get(id)?;
    println!("\nWhere the promises stand (the vendor wait does not count against time to resolve)");
    for status in sla_status(&incident, desk.policy(), clock.now()) {
        println!(
            "  {:<20} {:?}: {} of {} min",
            status.target.to_string(),
            status.state,
            status.elapsed.num_minutes(),
            status.limit.num_minutes()
        );
    }
    println!(
        "  customers affected for {} min; follow-ups: {}",
        incident.customer_impact(clock.now()).num_minutes(),
        incident.follow_ups().len()
    );
    Ok(())
}

fn describe(timer: &incidents::lifecycle::Timer) -> String {
    incidents::Change::TimerFired {
        timer: timer.clone(),
    }
    .describe()
}
