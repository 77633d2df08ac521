//! Regulatory deadline clocks (#16): the bakery "European Aroma" finds its customer list
//! exposed on a Thursday evening. Shimon, the incident owner, declares a data breach under
//! the regimes that apply, the example prints every deadline in the bakery's time
//! (Asia/Jerusalem), drives the desk's timers the way a host would (sleep until
//! `next_deadline`, `tick`, `dispatch`), and files the notices as the weekend goes by.
//!
//! Not legal advice: the built-in regimes cite their sources; check them for your business.
//!
//! ```text
//! cargo run --example breach_clock --features regulatory
//! ```

use chrono::{DateTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use incidents::lifecycle::{Notification, Timer};
use incidents::notify::DeliveryError;
use incidents::regulatory::{Evidence, builtin};
use incidents::{
    Actor, Calendar, Command, Desk, ManualClock, MemoryStore, NewIncident, Notifier, Policy,
    Resolution, Role, Severity, Source,
};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// The bakery's time zone.
const TZ: Tz = chrono_tz::Asia::Jerusalem;

/// A local time in Jerusalem, December 2026.
fn local(day: u32, hour: u32, minute: u32) -> Result<DateTime<Utc>> {
    Ok(TZ
        .with_ymd_and_hms(2026, 12, day, hour, minute, 0)
        .single()
        .ok_or("no such local time")?
        .with_timezone(&Utc))
}

fn show(at: DateTime<Utc>) -> String {
    at.with_timezone(&TZ).format("%a %d %b %H:%M").to_string()
}

/// Shimon's phone: prints each page.
struct Phone;

impl Notifier for Phone {
    fn deliver(&self, n: &Notification) -> std::result::Result<(), DeliveryError> {
        println!("    page to the owner: {}", n.body);
        Ok(())
    }
}

/// A notice Shimon files: when, which, the reference the recipient gave, what was sent.
struct Filing {
    at: DateTime<Utc>,
    regime: &'static str,
    phase: &'static str,
    reference: &'static str,
    summary: &'static str,
    late_reason: Option<&'static str>,
}

fn main() -> Result<()> {
    // The bakery opens Sunday to Thursday 07:00–19:00 and Friday mornings: its business
    // days are the days it opens.
    let calendar = Calendar::weekly(TZ)
        .open(
            [
                Weekday::Sun,
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
            ],
            "07:00",
            "19:00",
        )?
        .open([Weekday::Fri], "07:00", "14:00")?;
    let policy = Policy::default().with_calendar(calendar.clone())?;
    // Thursday 10 December 2026, 19:40: a customer writes that a spreadsheet of the shop's
    // customers (names, phones, addresses, and card numbers from phone orders) is public.
    let aware = local(10, 19, 40)?;
    let clock = ManualClock::new(local(10, 20, 15)?);
    let desk = Desk::builder(MemoryStore::new(), &clock)
        .policy(policy)
        .build()?;
    let shimon = Actor::new("shimon", "Shimon", Role::Owner)?;

    let new = NewIncident::new(
        "Customer list exposed by a public sharing link",
        Severity::High,
        "online shop",
        Source::CustomerReport,
    )?;
    let id = desk.open(&shimon, new)?.id;
    desk.act(id, &shimon, Command::mitigate("sharing link revoked")?)?;
    desk.act(id, &shimon, Command::resolve(Resolution::Fixed))?;
    // The list holds Israeli customers (a database of medium security level), customers in
    // the EU who order gift boxes, and card numbers: three regimes.
    let regimes = vec![builtin::israel(), builtin::gdpr(), builtin::card_brands()];
    desk.act(id, &shimon, Command::declare_breach(regimes, aware)?)?;

    println!("Became aware: {}", show(aware));
    println!("Deadlines (Asia/Jerusalem):");
    let incident = desk.get(id)?;
    let breach = incident.breach().ok_or("no breach")?;
    for clock in breach.clocks(&calendar) {
        let due = clock.due.map_or_else(|| "never".into(), show);
        let risk = clock.at_risk.map_or_else(|| "never".into(), show);
        println!(
            "  {:<28} to {:<18} {:<34} due {due}  (at risk from {risk})",
            format!("{}/{}", clock.regime.id, clock.phase.id),
            clock.phase.recipient.to_string(),
            clock.phase.deadline.to_string(),
        );
    }

    let filings = [
        Filing {
            at: local(11, 9, 30)?,
            regime: "card-brands",
            phase: "acquirer",
            reference: "ACQ-88213",
            summary: "phoned the acquirer's fraud line and confirmed by e-mail",
            late_reason: None,
        },
        Filing {
            at: local(11, 12, 0)?,
            regime: "il-reg11",
            phase: "authority-24h",
            reference: "PPA-2026-1187",
            summary: "first report on the Authority's form: what leaked, for how long, link revoked",
            late_reason: None,
        },
        Filing {
            at: local(13, 10, 0)?,
            regime: "gdpr",
            phase: "authority",
            reference: "DPA-IE-2026-5521",
            summary: "Art. 33 notification: 412 EU customers, contact details; measures taken",
            late_reason: None,
        },
        Filing {
            at: local(13, 11, 0)?,
            regime: "il-reg11",
            phase: "authority-72h",
            reference: "PPA-2026-1187",
            summary: "the complete report with the access logs",
            late_reason: None,
        },
        Filing {
            at: local(13, 21, 0)?,
            regime: "gdpr",
            phase: "data-subjects",
            reference: "mail-2026-12-13",
            summary: "e-mail to every affected EU customer in plain language",
            late_reason: Some("the translation into German and French took the Sunday"),
        },
        Filing {
            at: local(20, 16, 0)?,
            regime: "card-brands",
            phase: "account-numbers",
            reference: "ACQ-88213/2",
            summary: "the 37 card numbers from phone orders, sent encrypted",
            late_reason: None,
        },
    ];

    println!("\nThe weekend:");
    let mut pending = filings.iter().peekable();
    loop {
        let next_timer = desk.next_deadline();
        let next_filing = pending.peek().map(|f| f.at);
        let now = match (next_timer, next_filing) {
            (Some(t), Some(f)) if t < f => t,
            (_, Some(f)) => f,
            (Some(t), None) => t,
            (None, None) => break,
        };
        clock.set(now);
        if Some(now) == next_filing
            && let Some(f) = pending.next()
        {
            let cmd =
                Command::file_notice(f.regime, f.phase, f.reference, f.summary, f.late_reason)?;
            desk.act(id, &shimon, cmd)?;
            println!(
                "  {}  filed {}/{} (ref {})",
                show(now),
                f.regime,
                f.phase,
                f.reference
            );
            continue;
        }
        let report = desk.tick(now)?;
        for (_, timer) in &report.fired {
            if matches!(
                timer,
                Timer::NoticeAtRisk { .. } | Timer::NoticeOverdue { .. }
            ) {
                println!("  {}  clock: {}", show(now), timer.key());
            }
        }
        desk.dispatch(&Phone)?;
    }

    // Every notice filed: the evidence for the Authority and the bakery's lawyer.
    let incident = desk.get(id)?;
    let evidence = Evidence::of(&incident, &calendar, TZ).ok_or("no breach")?;
    println!("\n{evidence}");
    Ok(())
}
