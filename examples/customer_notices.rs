//! One customer update, told to two subscribers in their own languages.
//!
//! The café "Aroma on the Corner" runs its till and online orders on `incidents`. Two
//! customers subscribed to updates about online orders: Noa by SMS, in Hebrew; Tom by
//! e-mail, in English. Each confirmed the link the shop sent them (double opt-in). When card
//! payments fail, the owner posts one customer update on the incident; the subscriber store
//! fans it out once per subscriber, each message framed in the subscriber's language, with
//! an unsubscribe link in every e-mail. The update itself is the owner's own words, as typed
//! (here in both languages, as many Israeli shops write).
//!
//! ```text
//! cargo run --example customer_notices --features subscribers
//! ```
//!
//! Everything runs on a manual clock, in memory: the output is the same every run except
//! for the random tokens in the links.

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use incidents::l10n::Catalogs;
use incidents::notify::DeliveryError;
use incidents::subscribers::{Contact, MemorySubscribers, Outgoing, Settings, Subscriptions};
use incidents::{
    Actor, Command, Desk, ManualClock, MemoryStore, NewIncident, Role, Service, Severity, Source,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let zone = chrono_tz::Asia::Jerusalem;
    let start = zone
        .with_ymd_and_hms(2026, 12, 3, 9, 0, 0)
        .unwrap()
        .with_timezone(&Utc);
    let orders = Service::new("online-orders")?;

    // The subscriber store: contacts live here, never in the incident log.
    let mut settings = Settings::new(
        "https://aroma.example/updates/confirm?t={token}",
        "https://aroma.example/updates/stop?t={token}",
    );
    settings.zone = zone;
    let catalogs = Arc::new(Catalogs::builder().build()?);
    let subscriptions = Subscriptions::open(MemorySubscribers::new(), catalogs, settings)?;

    // Two customers subscribe and confirm the link they are sent.
    for (contact, locale) in [
        (Contact::sms("+972 54 123 4567")?, "he"),
        (Contact::email("tom@example.com")?, "en"),
    ] {
        subscriptions.subscribe(contact, [orders.clone()], locale, start)?;
    }
    let links = std::sync::Mutex::new(Vec::new());
    subscriptions.dispatch(
        &|m: &Outgoing| -> Result<(), DeliveryError> {
            links.lock().expect("not poisoned").push(token_of(&m.text));
            Ok(())
        },
        start,
    )?;
    for token in links.into_inner()?.into_iter().flatten() {
        subscriptions.confirm(&token, start + Duration::minutes(5))?;
    }
    println!(
        "{} confirmed subscribers to {orders}\n",
        subscriptions.subscribers().len()
    );

    // Card payments fail; the owner opens an incident and posts one update.
    let now = start + Duration::minutes(30);
    let desk = Desk::new(MemoryStore::new(), ManualClock::new(now))?;
    let owner = Actor::new("shira", "Shira", Role::Owner)?;
    let incident = NewIncident::new(
        "Card terminal rejects Visa",
        Severity::High,
        "online-orders",
        Source::CustomerReport,
    )?;
    let id = desk.open(&owner, incident)?.id;
    desk.act(
        id,
        &owner,
        Command::customer_update(
            "Visa לא עובד בהזמנות אונליין כרגע; Bit עובד כרגיל.\nVisa is down for online orders; Bit works as usual.",
        )?,
    )?;

    // The subscriber store picks the update up from the desk, once, and sends it.
    let synced = subscriptions.sync(&desk, now)?;
    println!(
        "published {} update(s), {} message(s) queued\n",
        synced.bulletins, synced.queued
    );
    subscriptions.dispatch(
        &|m: &Outgoing| -> Result<(), DeliveryError> {
            print_message(m);
            Ok(())
        },
        now,
    )?;

    // A second sync finds nothing new: each subscriber gets each update exactly once.
    let again = subscriptions.sync(&desk, now)?;
    assert_eq!(again.queued, 0);
    Ok(())
}

/// The token of the confirmation link in a message (`…?t=<token>`).
fn token_of(text: &str) -> Option<String> {
    let after = text.split("?t=").nth(1)?;
    Some(
        after
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
            .collect(),
    )
}

/// One outgoing message as a person would see it, isolation marks shown as ⁅ ⁆.
fn print_message(m: &Outgoing) {
    let shown = |s: &str| {
        s.replace(['\u{2066}', '\u{2067}', '\u{2068}'], "⁅")
            .replace('\u{2069}', "⁆")
            .replace(['\u{200E}', '\u{200F}'], "")
    };
    println!("── to {} ({}) ──", m.contact, m.locale);
    match &m.sms {
        Some(sms) => println!("SMS: {}", shown(sms)),
        None => {
            println!("Subject: {}", shown(&m.subject));
            println!("{}", shown(&m.body));
            let html = m.html();
            let root = html
                .lines()
                .find(|l| l.starts_with("<html"))
                .unwrap_or_default();
            println!("(and an HTML part of {} bytes: {root})", html.len());
        }
    }
    println!();
}
