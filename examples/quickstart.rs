//! The seed's web-shop scenario, end to end.
//!
//! A customer reports that the site crashed while ordering; monitoring raises an alert about
//! response times. The incident owner opens an incident, acknowledges it, the team finds the
//! root cause (a DDoS attack overloading the server), switches on traffic filtering, and the
//! site is back within 15 minutes. Customers get an update; the incident is closed with
//! lessons learned. Then the timeline is printed the way a shop owner would read it.
//!
//! Runs on a simulated clock, so it finishes instantly and prints the same times every run.
//! In memory by default; with `--data-dir DIR` the incident is kept in a durable
//! [`FileStore`] in `DIR`.
//!
//! ```text
//! cargo run --example quickstart
//! cargo run --example quickstart -- --data-dir ./incident-data
//! ```

use chrono::{DateTime, Duration, TimeZone, Utc};
use incidents::{
    Actor, Command, DeliveryError, Desk, Event, FileStore, Incident, ManualClock, MemoryStore,
    NewIncident, Notification, Notifier, Resolution, Review, Role, Severity, Source, Store,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2026, 11, 27, 12, 4, 0).unwrap());
    let mut args = std::env::args().skip(1);
    match (args.next().as_deref(), args.next()) {
        (None, _) => run(&Desk::new(MemoryStore::new(), &clock)?, &clock),
        (Some("--data-dir"), Some(dir)) => {
            // The durable backend: every event is on disk before the desk moves on. Run it
            // twice on the same directory and the second run finds the first run's incident.
            let store = FileStore::open(&dir)?;
            println!(
                "Opened {dir}: {} incidents, {} events already on file\n",
                store.open_report().incidents,
                store.open_report().events
            );
            run(&Desk::new(store, &clock)?, &clock)
        }
        _ => Err("usage: quickstart [--data-dir DIR]".into()),
    }
}

/// The scenario, on any store.
fn run<S: Store>(
    desk: &Desk<S, &ManualClock>,
    clock: &ManualClock,
) -> Result<(), Box<dyn std::error::Error>> {
    let shimon = Actor::new("shimon@aroma.example", "Shimon", Role::Owner)?;
    let noa = Actor::new("noa@aroma.example", "Noa", Role::Support)?;
    let avi = Actor::new("avi@aroma.example", "Avi", Role::Responder)?;
    let monitor = Actor::new("uptime-monitor", "Uptime monitor", Role::System)?;

    // 12:04 — a customer calls: the site crashed in the middle of an order.
    let report = NewIncident::new(
        "Web shop crashes while customers place orders",
        Severity::High,
        "online shop",
        Source::CustomerReport,
    )?
    .with_description("A customer says the order page went blank after pressing 'Pay'.")?;
    let id = desk.open(&noa, report)?.id;

    // 12:05 — monitoring confirms it: response times are far over the threshold.
    clock.advance(Duration::minutes(1));
    desk.act(
        id,
        &monitor,
        Command::note("Alert: p95 response time 8.4 s, threshold 2 s")?,
    )?;
    desk.act(
        id,
        &shimon,
        Command::change_severity(
            Severity::Critical,
            "monitoring shows the whole shop is down",
        )?,
    )?;

    // 12:06 — the owner takes it and brings in the technical team.
    clock.advance(Duration::minutes(1));
    desk.act(id, &shimon, Command::assign_owner(shimon.clone()))?;
    desk.act(id, &shimon, Command::Acknowledge)?;
    desk.act(id, &avi, Command::StartInvestigating)?;

    // 12:10 — root cause found.
    clock.advance(Duration::minutes(4));
    desk.act(
        id,
        &avi,
        Command::identify("server overload from a DDoS attack")?,
    )?;

    // 12:12 — automatic protections filter the malicious traffic; load drops.
    clock.advance(Duration::minutes(2));
    desk.act(
        id,
        &avi,
        Command::mitigate("switched on traffic filtering at the CDN; load is dropping")?,
    )?;

    // 12:19 — the site works normally again: resolved within 15 minutes of the report.
    clock.advance(Duration::minutes(7));
    desk.act(id, &shimon, Command::resolve(Resolution::Fixed))?;
    desk.act(
        id,
        &noa,
        Command::customer_update(
            "Our shop was unavailable for a few minutes because of an attack on our servers. \
             It is working normally again; orders placed since 12:19 go through as usual.",
        )?,
    )?;

    // 15:30 — the post-incident review (the policy asks for one on critical incidents).
    clock.set(Utc.with_ymd_and_hms(2026, 11, 27, 15, 30, 0).unwrap());
    let review = Review::new(
        "A DDoS attack overloaded the shop's server; checkout failed for 15 minutes.",
        "No traffic filtering in front of the shop.",
    )?
    .lesson("Alert on request rate, not only on response time.")?
    .follow_up(
        "Keep CDN traffic filtering on permanently",
        "avi@aroma.example",
        Utc.with_ymd_and_hms(2026, 12, 4, 12, 0, 0).unwrap(),
    )?;
    desk.act(id, &shimon, Command::review(review))?;

    // 16:00 — closed with a summary and lessons learned.
    clock.set(Utc.with_ymd_and_hms(2026, 11, 27, 16, 0, 0).unwrap());
    desk.act(
        id,
        &shimon,
        Command::close(
            "A DDoS attack overloaded the shop's server for 15 minutes; CDN filtering stopped it.",
            "Keep traffic filtering on permanently and alert on request rate, not only on latency.",
        )?,
    )?;

    // The customer update went into the outbox; the host's notifier sends it (here: printed).
    desk.dispatch(&EmailCustomers)?;

    print_report(&desk.get(id)?, &desk.history(id)?);
    Ok(())
}

/// Stands in for the shop's e-mail sender.
struct EmailCustomers;

impl Notifier for EmailCustomers {
    fn deliver(&self, n: &Notification) -> Result<(), DeliveryError> {
        println!("E-mail to customers — {}\n  {}\n", n.subject, n.body);
        Ok(())
    }
}

fn print_report(incident: &Incident, history: &[Event]) {
    println!("Incident {}", incident.id());
    println!("  {}", incident.title());
    println!(
        "  severity {} · service {} · reported by {} · status {}",
        incident.severity(),
        incident.service(),
        incident.source(),
        incident.status()
    );
    if let Some(owner) = incident.owner() {
        println!("  owner: {owner}");
    }
    println!();
    println!("Timeline (UTC)");
    for event in history {
        println!(
            "  {}  {:<24} {}",
            event.at.format("%H:%M"),
            event.actor.to_string(),
            event.change.describe()
        );
    }
    println!();
    let minutes = |from: DateTime<Utc>, to: Option<DateTime<Utc>>| {
        to.map_or("-".to_string(), |to| {
            format!("{} min", (to - from).num_minutes())
        })
    };
    println!(
        "Time to acknowledge: {}",
        minutes(incident.created_at(), incident.acknowledged_at())
    );
    println!(
        "Time to resolve:     {}",
        minutes(incident.created_at(), incident.resolved_at())
    );
    if let Some(root_cause) = incident.root_cause() {
        println!("Root cause:          {root_cause}");
    }
    if let Some(closure) = incident.closure() {
        println!("Lessons learned:     {}", closure.lessons);
    }
}
