//! The seed's web-shop story, end to end, on the seed's clock.
//!
//! 18:55 a customer reports that the site crashed while she was paying; 18:56 the uptime
//! monitor alerts on the same shop — one problem, so it joins the same incident. The owner is
//! paged at once, acknowledges at 18:58, the team finds a DDoS attack, switches on traffic
//! filtering at 19:05, and at 19:10 the shop works again: the incident is resolved and the
//! customers get an e-mail. The review records the lessons and the incident is closed. Then
//! the timeline and the day's figures are printed the way a shop owner would read them.
//!
//! Time runs on a manual clock (`Desk::run_until` plays the part of the `Runner` thread a real
//! shop would start), so it finishes instantly and prints the same times every run. In
//! memory by default; with `--data-dir DIR` the incidents are kept in a durable [`FileStore`]
//! in `DIR` (each run is one day later, and finds the earlier runs' incidents).
//!
//! ```text
//! cargo run --example quickstart
//! cargo run --example quickstart -- --data-dir ./incident-data
//! ```

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use incidents::intake::{Ingested, Reporter};
use incidents::lifecycle::{Audience, Notification};
use incidents::notify::DeliveryError;
use incidents::people::Review;
use incidents::report::Window;
use incidents::{
    Actor, Alert, Clock, Command, Desk, FileStore, Incident, ManualClock, MemoryStore, Notifier,
    Resolution, Role, Severity, Source, Store,
};

/// The shop's time zone (the seed is an Israeli article).
const SHOP: chrono_tz::Tz = chrono_tz::Asia::Jerusalem;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    match (args.next().as_deref(), args.next()) {
        (None, _) => story(MemoryStore::new(), 0),
        (Some("--data-dir"), Some(dir)) => {
            // The durable backend: every event is on disk before the desk moves on.
            let store = FileStore::open(&dir)?;
            let earlier = store.open_report().incidents;
            println!(
                "Opened {dir}: {earlier} incidents, {} events already on file\n",
                store.open_report().events
            );
            story(store, earlier)
        }
        _ => Err("usage: quickstart [--data-dir DIR]".into()),
    }
}

/// The story, on any store, `day` days after the seed's Friday.
fn story<S: Store>(store: S, day: usize) -> Result<(), Box<dyn std::error::Error>> {
    let date =
        NaiveDate::from_ymd_opt(2026, 11, 27).ok_or("no such date")? + Duration::days(day as i64);
    let at = |h: u32, m: u32| -> Result<DateTime<Utc>, Box<dyn std::error::Error>> {
        let local = date.and_time(NaiveTime::from_hms_opt(h, m, 0).ok_or("no such time")?);
        Ok(local
            .and_local_timezone(SHOP)
            .earliest()
            .ok_or("no such local time")?
            .to_utc())
    };
    let clock = ManualClock::new(at(18, 55)?);
    // The default policy (`Policy::small_business`): critical incidents page the owner at
    // once, must be acknowledged within 15 minutes and resolved within the hour.
    let desk = Desk::new(store, &clock)?;
    let mail = Outbox { clock: &clock };
    let shimon = Actor::new("shimon@aroma.example", "Shimon", Role::Owner)?;
    let avi = Actor::new("avi@aroma.example", "Avi", Role::Responder)?;
    let shop = "online shop";

    // 18:55 — a customer writes in through the shop's contact form.
    let dana = Reporter::new("Dana Levi")?.with_contact("dana@example.com")?;
    let report = Alert::report(
        Source::CustomerReport,
        dana,
        "checkout",
        shop,
        "The site crashed while I was paying",
        at(18, 55)?,
    )?
    .with_description("I pressed 'Pay' and the page went blank. Was I charged?")?
    .with_severity(Severity::Critical);
    let opened = desk.ingest(&report)?;
    let id = opened.incident().ok_or("the report opened nothing")?;
    say(&clock, &format!("customer report → {}", outcome(&opened)));
    desk.run_until(at(18, 56)?, &mail)?;

    // 18:56 — the monitor sees it too: response times far over the threshold.
    let slow = Alert::firing(
        "uptime",
        "shop-response-time",
        shop,
        "p95 response time 8.4 s (threshold 2 s)",
        at(18, 56)?,
    )?
    .with_label("region", "eu")?;
    let joined = desk.ingest(&slow)?;
    say(&clock, &format!("monitor alert → {}", outcome(&joined)));
    desk.run_until(at(18, 58)?, &mail)?;

    // 18:58 — the owner takes it and brings in the technical team.
    desk.act(id, &shimon, Command::assign_owner(shimon.clone()))?;
    desk.act(id, &shimon, Command::Acknowledge)?;
    desk.act(
        id,
        &shimon,
        Command::AddResponder {
            responder: avi.clone(),
        },
    )?;
    say(&clock, "Shimon acknowledges and calls in Avi");
    desk.run_until(at(19, 2)?, &mail)?;

    // 19:02 — root cause found; 19:05 automatic protections filter the malicious traffic.
    desk.act(
        id,
        &avi,
        Command::identify("server overload from a DDoS attack")?,
    )?;
    desk.run_until(at(19, 5)?, &mail)?;
    desk.act(
        id,
        &avi,
        Command::mitigate("traffic filtering switched on at the CDN")?,
    )?;
    say(&clock, "Avi switches on traffic filtering; the load drops");
    desk.run_until(at(19, 9)?, &mail)?;
    desk.ingest(&slow.clone().resolved())?;

    // 19:10 — the shop works normally again: resolved, and the customers are told.
    desk.run_until(at(19, 10)?, &mail)?;
    desk.act(id, &shimon, Command::resolve(Resolution::Fixed))?;
    desk.act(
        id,
        &shimon,
        Command::customer_update(
            "Our shop was unavailable for 15 minutes because of an attack on our servers. \
             It works normally again; if your payment did not go through, please try again.",
        )?,
    )?;
    say(&clock, "resolved — 15 minutes after the report");
    desk.run_until(at(19, 40)?, &mail)?;

    // 19:40 — the review (critical incidents need one), then the incident is closed.
    let review = Review::new(
        "A DDoS attack overloaded the shop's server; checkout failed for 15 minutes.",
        "No traffic filtering in front of the shop.",
    )?
    .lesson("Alert on request rate, not only on response time.")?
    .follow_up(
        "Keep CDN traffic filtering on permanently",
        "avi@aroma.example",
        at(18, 0)? + Duration::days(7),
    )?;
    desk.act(id, &shimon, Command::review(review))?;
    desk.act(
        id,
        &shimon,
        Command::close(
            "A DDoS attack overloaded the shop for 15 minutes; CDN filtering stopped it.",
            "Keep traffic filtering on permanently and alert on request rate.",
        )?,
    )?;
    say(&clock, "reviewed and closed");

    print_incident(&desk.get(id)?, &desk.history(id)?);
    let today = desk.report(Window::day(date, SHOP)?)?;
    let minutes =
        |d: Option<Duration>| d.map_or("-".into(), |d| format!("{} min", d.num_minutes()));
    println!("\nThe day's figures ({} incident):", today.opened.total);
    println!(
        "  time to acknowledge: {}",
        minutes(today.time_to_acknowledge.wall_clock.mean)
    );
    println!(
        "  time to resolve:     {}",
        minutes(today.time_to_resolve.wall_clock.mean)
    );
    Ok(())
}

/// Prints a line of the story at the clock's local time.
fn say(clock: &ManualClock, what: &str) {
    println!(
        "{}  {what}",
        clock.now().with_timezone(&SHOP).format("%H:%M")
    );
}

fn outcome(ingested: &Ingested) -> String {
    match ingested {
        Ingested::Opened { id } => format!("opened incident {id}"),
        Ingested::Recurred { id, recurrence } => {
            format!(
                "opened incident {id}, a recurrence of {}",
                recurrence.previous
            )
        }
        Ingested::Joined { id } => format!("joined incident {id} (the same problem)"),
        other => format!("{other:?}"),
    }
}

/// Stands in for the shop's pager and e-mail sender: prints each message as it goes out.
struct Outbox<'c> {
    clock: &'c ManualClock,
}

impl Notifier for Outbox<'_> {
    fn deliver(&self, n: &Notification) -> Result<(), DeliveryError> {
        let to = match &n.audience {
            Audience::Customers => "e-mail to customers".to_string(),
            Audience::Owner => "message to the owner".to_string(),
            Audience::Recipients(who) => {
                let who: Vec<String> = who.iter().map(ToString::to_string).collect();
                format!("page to {}", who.join(", "))
            }
            // Audiences may be added in later versions; send those to the owner too.
            _ => "message to the owner".to_string(),
        };
        say(self.clock, &format!("{to}: {}", n.subject));
        if n.audience == Audience::Customers {
            println!("         {}", n.body);
        }
        Ok(())
    }
}

fn print_incident(incident: &Incident, history: &[incidents::Event]) {
    println!("\nIncident {}", incident.id());
    println!("  {}", incident.title());
    let reporters: Vec<String> = incident
        .reporters()
        .iter()
        .map(ToString::to_string)
        .collect();
    println!(
        "  severity {} · service {} · reported by {} · status {}",
        incident.severity(),
        incident.service(),
        reporters.join(", "),
        incident.status()
    );
    if let Some(owner) = incident.owner() {
        println!("  owner: {owner}");
    }
    println!("\nTimeline ({})", SHOP);
    for event in history {
        println!(
            "  {}  {:<24} {}",
            event.at.with_timezone(&SHOP).format("%H:%M"),
            event.actor.to_string(),
            event.change.describe()
        );
    }
    if let Some(closure) = incident.closure() {
        println!("\nLessons learned: {}", closure.lessons);
    }
}
