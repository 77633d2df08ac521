//! The seed's own story, told with the crate's pieces and no glue: a customer's report and a
//! monitor's alert become one incident, the runner pages the owner and mails the customers at
//! the right instants, the day's report shows what the shop lived through.

use std::sync::Mutex;

use chrono::{DateTime, Duration, TimeZone, Utc};
use incidents::intake::{Ingested, Reporter};
use incidents::lifecycle::{Audience, Notification};
use incidents::notify::DeliveryError;
use incidents::people::Review;
use incidents::report::Window;
use incidents::{
    Actor, Alert, Clock, Command, Desk, FileStore, Filter, ManualClock, Notifier, Resolution, Role,
    Severity, Source, Status,
};

/// The host's notifier: here it keeps what it was asked to send, and when.
struct Inbox<'c>(&'c ManualClock, Mutex<Vec<(DateTime<Utc>, Notification)>>);

impl Notifier for Inbox<'_> {
    fn deliver(&self, n: &Notification) -> Result<(), DeliveryError> {
        let mut sent = self.1.lock().unwrap();
        sent.push((self.0.now(), n.clone()));
        Ok(())
    }
}

fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, h, m, 0).unwrap()
}

/// The seed's story on `Policy::small_business()` (the default) and a `FileStore`, in 30 lines
/// of host code — this function down to the first assert, as `cargo fmt` lays it out, blank
/// lines and comments not counted (the notifier above is 8 more): 18:55 a customer reports that checkout crashes,
/// 18:56 the uptime monitor's alert joins the same incident, the owner acknowledges at 18:58,
/// finds a DDoS, switches on traffic filtering at 19:05, resolves at 19:10 and posts the
/// customers' e-mail; then the review and the close.
#[test]
fn seed_story_on_default_policy() -> Result<(), Box<dyn std::error::Error>> {
    use Source::CustomerReport;
    let dir = tempfile::tempdir()?;
    let clock = ManualClock::new(at(18, 55));
    let desk = Desk::new(FileStore::open(dir.path())?, &clock)?;
    let inbox = Inbox(&clock, Mutex::default());
    let shimon = Actor::new("shimon@aroma.example", "Shimon", Role::Owner)?;
    let dana = Reporter::new("Dana Levi")?.with_contact("dana@example.com")?;
    let (shop, crash) = ("online shop", "Checkout crashes when I pay");

    // 18:55 — a customer reports it; the owner is paged at once.
    let report = Alert::report(CustomerReport, dana, "checkout", shop, crash, at(18, 55))?;
    let opened = desk.ingest(&report.with_severity(Severity::Critical))?;
    let id = opened.incident().ok_or("no incident")?;
    let owner = |command| desk.act(id, &shimon, command);
    desk.run_until(at(18, 56), &inbox)?;
    // 18:56 — the uptime monitor alerts on the same shop: it joins the incident.
    let alert = Alert::firing("uptime", "shop-https", shop, "Shop is slow", at(18, 56))?;
    let joined = desk.ingest(&alert)?;
    desk.run_until(at(18, 58), &inbox)?;
    owner(Command::Acknowledge)?;
    desk.run_until(at(19, 5), &inbox)?;
    owner(Command::identify("a DDoS attack on the shop's server")?)?;
    owner(Command::mitigate("traffic filtering switched on")?)?;
    desk.run_until(at(19, 10), &inbox)?;
    desk.ingest(&alert.clone().resolved())?;
    owner(Command::resolve(Resolution::Fixed))?;
    owner(Command::customer_update("Checkout works again. Sorry!")?)?;
    desk.run_until(at(20, 0), &inbox)?;
    let review = Review::new("A DDoS attack overloaded the shop", "no filtering")?;
    owner(Command::review(review))?;
    owner(Command::close("Attack filtered.", "Keep filtering on.")?)?;
    let today = Window::day(at(12, 0).date_naive(), chrono_tz::Asia::Jerusalem)?;
    let day = desk.report(today)?;

    assert_eq!(joined, Ingested::Joined { id });
    // One incident, carrying both signals and the reporter (her contact kept, never shown).
    assert_eq!(desk.list(&Filter::all()).len(), 1);
    let incident = desk.get(id).unwrap();
    assert_eq!(incident.status(), Status::Closed);
    let keys: Vec<&str> = incident
        .signals()
        .iter()
        .map(|r| r.signal.key.as_str())
        .collect();
    assert_eq!(
        keys,
        [
            "customer/checkout",
            "uptime/shop-https",
            "uptime/shop-https"
        ]
    );
    let reporters: Vec<&str> = incident.reporters().iter().map(|r| r.name()).collect();
    assert_eq!(reporters, ["Dana Levi"]);
    let history = desk.history(id).unwrap();
    let timeline: Vec<String> = history.iter().map(|e| e.change.describe()).collect();
    assert!(
        timeline.iter().any(|l| l.contains("reported by Dana Levi")),
        "{timeline:#?}"
    );
    assert!(!format!("{timeline:?}{incident:?}").contains("dana@example.com"));

    // Exactly one page, at 18:55, none after the acknowledgement; the customers' e-mail
    // once, at 19:10.
    let sent = inbox.1.lock().unwrap().clone();
    let pages: Vec<DateTime<Utc>> = sent
        .iter()
        .filter(|(_, n)| matches!(n.audience, Audience::Recipients(_)))
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(pages, [at(18, 55)]);
    let mails: Vec<DateTime<Utc>> = sent
        .iter()
        .filter(|(_, n)| n.audience == Audience::Customers)
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(mails, [at(19, 10)]);
    assert_eq!(sent.len(), 2, "{sent:#?}");

    // The day's report: 3 minutes to acknowledge, 15 to resolve.
    assert_eq!(day.opened.total, 1);
    assert_eq!(
        day.time_to_acknowledge.wall_clock.mean,
        Some(Duration::minutes(3))
    );
    assert_eq!(
        day.time_to_resolve.wall_clock.mean,
        Some(Duration::minutes(15))
    );
    assert_eq!(
        day.sla.iter().map(|s| s.percent_met).collect::<Vec<_>>(),
        [Some(100.0); 2]
    );

    // The same after reopening the store.
    drop(desk);
    let reopened = Desk::new(FileStore::open(dir.path()).unwrap(), &clock).unwrap();
    assert_eq!(reopened.get(id).unwrap(), incident);
    assert_eq!(reopened.report(today).unwrap(), day);
    assert_eq!(reopened.next_deadline(), None);
    let more = reopened.run_until(at(23, 0), &inbox).unwrap();
    assert!(
        more.fired.is_empty() && more.delivered.is_empty(),
        "{more:?}"
    );
    Ok(())
}

/// The same story as the timeline a shop owner reads: who did what, when.
#[test]
fn the_story_timeline_names_who_reported_and_who_acted() {
    let clock = ManualClock::new(at(18, 55));
    let desk = Desk::new(incidents::MemoryStore::new(), &clock).unwrap();
    let dana = Reporter::new("Dana Levi").unwrap();
    let report = Alert::report(
        Source::CustomerReport,
        dana,
        "checkout",
        "online shop",
        "Checkout crashes when I pay",
        at(18, 55),
    )
    .unwrap()
    .with_description("The page went blank after I pressed Pay.\nTwice.")
    .unwrap();
    let id = desk.ingest(&report).unwrap().incident().unwrap();
    let incident = desk.get(id).unwrap();
    assert_eq!(
        incident.description().map(|d| d.as_str()),
        Some("The page went blank after I pressed Pay.\nTwice.")
    );
    let history = desk.history(id).unwrap();
    let lines: Vec<String> = history.iter().map(|e| e.change.describe()).collect();
    assert_eq!(
        lines,
        [
            "opened \"Checkout crashes when I pay\" (medium, online shop, from customer report)",
            "customer/checkout firing (Checkout crashes when I pay, since 2026-11-27 18:55 UTC), reported by Dana Levi",
        ]
    );
    let _ = clock.advance(Duration::minutes(1));
}
