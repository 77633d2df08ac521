//! Who reported it: a recorded signal keeps the alert's labels, description, end time and
//! reporter; the timeline names the reporter; contact details never reach a log, a `Debug`
//! or a timeline.

use std::sync::{Mutex, Once};

use chrono::Duration;
use incidents::intake::{Correlation, Ingested, Intake, MaintenanceWindow, Reporter};
use incidents::{
    Alert, Clock, FileStore, Filter, ManualClock, NewIncident, Policy, Severity, Source,
};

use super::{DANA_CONTACT, SHOP, by_hand, dana, desk, desk_on, monitor, opened, policy, report};
use crate::support::{owner, responder, t0};

/// A report with everything an alert may carry.
fn full_report(topic: &str, at: chrono::DateTime<chrono::Utc>) -> Alert {
    report(topic, at)
        .with_description("I pressed Pay.\nThe page went blank.")
        .unwrap()
        .with_label("order", "A-1042")
        .unwrap()
        .with_label("browser", "Firefox")
        .unwrap()
        .with_ends_at(at + Duration::hours(1))
}

#[track_caller]
fn assert_kept(kept: &incidents::lifecycle::Signal, alert: &Alert) {
    assert_eq!(kept, &alert.signal());
    assert_eq!(kept.labels, *alert.labels());
    assert_eq!(kept.description.as_ref(), alert.description());
    assert_eq!(kept.ends_at, alert.ends_at());
    let reporter = kept.reporter.as_ref().expect("the reporter is kept");
    assert_eq!(reporter.name(), "Dana Levi");
    assert_eq!(
        reporter.contact().map(|c| c.reveal()),
        Some(DANA_CONTACT),
        "the contact is kept, to answer the customer"
    );
}

#[test]
fn a_recorded_signal_keeps_labels_description_end_time_and_reporter() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(t0());
    let opening = full_report("checkout", t0());
    let joining = full_report("payment", t0() + Duration::minutes(1));
    let attached = full_report("basket", t0() + Duration::minutes(2));
    let alert = monitor("checkout-5xx", t0())
        .with_label("region", "eu")
        .unwrap()
        .with_description("5xx rate above 5% for 5 minutes")
        .unwrap()
        .with_ends_at(t0() + Duration::minutes(30))
        .with_reporter(Reporter::new("Panic button at till 2").unwrap());
    let (a, b) = {
        let desk = desk_on(
            FileStore::open(dir.path()).unwrap(),
            Policy::small_business(),
            &clock,
        );
        let a = opened(desk.ingest(&opening).unwrap());
        assert_eq!(
            desk.get(a).unwrap().description(),
            opening.description(),
            "an incident opened by a report takes its description"
        );
        assert_eq!(desk.ingest(&alert).unwrap(), Ingested::Joined { id: a });
        let elsewhere = NewIncident::new(
            "Scanner offline",
            Severity::Low,
            "warehouse",
            Source::StaffReport,
        )
        .unwrap();
        let b = desk.open(&owner(), elsewhere).unwrap().id;
        assert_eq!(desk.ingest(&joining).unwrap(), Ingested::Joined { id: a });
        desk.attach(b, &responder(), &attached).unwrap();
        (a, b)
    };
    // Kept on disk, too: read back by a new desk.
    let desk = desk_on(
        FileStore::open(dir.path()).unwrap(),
        Policy::small_business(),
        &clock,
    );
    let on_a = desk.get(a).unwrap();
    let signals: Vec<_> = on_a.signals().iter().map(|r| &r.signal).collect();
    assert_eq!(signals.len(), 3);
    assert_kept(signals[0], &opening);
    assert_eq!(signals[1], &alert.signal());
    assert_eq!(
        signals[1].reporter.as_ref().map(Reporter::name),
        Some("Panic button at till 2")
    );
    assert_kept(signals[2], &joining);
    assert_kept(&desk.get(b).unwrap().signals()[0].signal, &attached);
    let names: Vec<&str> = on_a.reporters().iter().map(|r| r.name()).collect();
    assert_eq!(
        names,
        ["Dana Levi", "Panic button at till 2"],
        "each once, in order"
    );
}

#[test]
fn reporters_lists_each_reporter_once_in_order() {
    let clock = ManualClock::new(t0());
    let desk = desk(Policy::small_business(), &clock);
    let id = opened(desk.ingest(&report("checkout", t0())).unwrap());
    let tom = Alert::report(
        Source::StaffReport,
        Reporter::new("Tom").unwrap(),
        "till",
        SHOP,
        "Till cannot reach the shop",
        t0(),
    )
    .unwrap();
    desk.attach(id, &owner(), &tom).unwrap();
    clock.advance(Duration::minutes(1));
    desk.ingest(&report("checkout", clock.now())).unwrap();
    let incident = desk.get(id).unwrap();
    assert_eq!(incident.reporters(), [&dana(), tom.reporter().unwrap()]);
}

#[test]
fn the_timeline_names_the_reporter_but_never_the_contact() {
    let clock = ManualClock::new(t0());
    let desk = desk(Policy::small_business(), &clock);
    let report = full_report("checkout", t0());
    let id = opened(desk.ingest(&report).unwrap());
    let history = desk.history(id).unwrap();
    let told: Vec<String> = history.iter().map(|e| e.change.describe()).collect();
    let signal = told
        .iter()
        .find(|line| line.starts_with("customer/checkout"))
        .unwrap();
    assert!(signal.contains("Dana Levi"), "{signal}");
    for line in &told {
        assert!(!line.contains(DANA_CONTACT), "{line}");
    }
}

/// Collects every log record of the test binary (installed once).
struct Capture {
    lines: Mutex<Vec<String>>,
}

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        self.lines
            .lock()
            .unwrap()
            .push(format!("{} {}", record.target(), record.args()));
    }
    fn flush(&self) {}
}

static CAPTURE: Capture = Capture {
    lines: Mutex::new(Vec::new()),
};

fn capture_logs() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // Another test may have installed a logger first; then nothing is captured here and
        // the `Debug`/timeline checks still hold.
        if log::set_logger(&CAPTURE).is_ok() {
            log::set_max_level(log::LevelFilter::Trace);
        }
    });
}

#[test]
fn contact_details_never_reach_debug_output_timelines_or_logs() {
    capture_logs();
    let clock = ManualClock::new(t0());
    let maintenance = MaintenanceWindow {
        service: "POS".parse().unwrap(),
        from: t0(),
        until: t0() + Duration::hours(1),
        reason: String::new(),
    };
    let desk = desk(
        Policy::small_business()
            .with_intake(Intake {
                maintenance: vec![maintenance],
                ..Intake::default()
            })
            .unwrap(),
        &clock,
    );
    let mut seen: Vec<String> = Vec::new();
    let dana_report = full_report("checkout", t0());
    seen.push(format!("{dana_report:?} {:?}", dana_report.signal()));
    seen.push(format!("{:?}", dana()));
    seen.push(dana().to_string());

    // Every path a report takes: opening, joining, recording, suppressed, attached, merged.
    let a = opened(desk.ingest(&dana_report).unwrap());
    assert_eq!(
        desk.ingest(&monitor("checkout-5xx", t0())).unwrap(),
        Ingested::Joined { id: a }
    );
    let joined = desk.ingest(&full_report("payment", t0())).unwrap();
    assert_eq!(joined, Ingested::Joined { id: a });
    seen.push(format!("{joined:?}"));
    let b = opened(
        desk.ingest(&super::report_on("warehouse", "scanner", t0()))
            .unwrap(),
    );
    clock.advance(Duration::minutes(1));
    seen.push(format!(
        "{:?}",
        desk.ingest(&full_report("checkout", clock.now())).unwrap()
    ));
    seen.push(format!(
        "{:?}",
        desk.ingest(&super::report_on("POS", "till", clock.now()))
            .unwrap()
    ));
    let c = desk.open(&owner(), by_hand(Severity::Critical)).unwrap().id;
    seen.push(format!(
        "{:?}",
        desk.attach(c, &owner(), &full_report("basket", clock.now()))
            .unwrap()
    ));
    seen.push(format!("{:?}", desk.merge(a, c, &owner()).unwrap()));
    let pager = super::Pager::default();
    desk.run_until(clock.now() + Duration::hours(2), &pager)
        .unwrap();

    for id in [a, b, c] {
        let incident = desk.get(id).unwrap();
        seen.push(format!("{incident:?}"));
        seen.push(format!("{:#?}", incident.signals()));
        for event in desk.history(id).unwrap() {
            seen.push(format!("{event:?}"));
            seen.push(event.change.describe());
        }
    }
    seen.push(format!("{:?}", desk.list(&Filter::all())));
    seen.push(format!("{desk:?}"));
    seen.extend(CAPTURE.lines.lock().unwrap().iter().cloned());

    let told = seen.join("\n");
    assert!(told.contains("Dana Levi"), "the name is shown");
    assert!(
        told.contains("<redacted>"),
        "the contact is there, redacted"
    );
    for line in &seen {
        assert!(
            !line.contains(DANA_CONTACT) && !line.contains("dana.levi@"),
            "contact details leaked: {line}"
        );
    }
    // The notifications the outbox sent are not logs, but they name no contact either.
    for sent in pager.sent.lock().unwrap().iter() {
        assert!(!format!("{sent:?}").contains(DANA_CONTACT), "{sent:?}");
    }
}

#[test]
fn with_correlation_off_a_report_opens_its_own_incident_with_its_reporter() {
    let clock = ManualClock::new(t0());
    let desk = desk(policy(Correlation::off()), &clock);
    opened(desk.ingest(&monitor("checkout-5xx", t0())).unwrap());
    let id = opened(desk.ingest(&full_report("checkout", clock.now())).unwrap());
    assert_eq!(desk.get(id).unwrap().reporters(), [&dana()]);
    assert_eq!(desk.get(id).unwrap().source(), Source::CustomerReport);
}

#[test]
fn two_customers_reporting_one_topic_at_the_same_instant_are_both_kept() {
    let clock = ManualClock::new(t0());
    let desk = desk(Policy::small_business(), &clock);
    let tom = Reporter::new("Tom Cohen")
        .unwrap()
        .with_contact("+972-50-000-0000")
        .unwrap();
    let toms = Alert::report(
        Source::CustomerReport,
        tom.clone(),
        "checkout",
        SHOP,
        "I cannot pay",
        t0(),
    )
    .unwrap();
    let id = opened(desk.ingest(&report("checkout", t0())).unwrap());
    assert_eq!(desk.ingest(&toms).unwrap(), Ingested::Recorded { id });
    assert_eq!(desk.get(id).unwrap().reporters(), [&dana(), &tom]);
    // Attaching Tom's report by hand keeps him too.
    let other = desk.open(&owner(), by_hand(Severity::High)).unwrap().id;
    desk.attach(other, &owner(), &report("checkout", t0()))
        .unwrap();
    assert_eq!(desk.attach(other, &owner(), &toms).unwrap().events.len(), 1);
    assert_eq!(desk.get(other).unwrap().reporters(), [&dana(), &tom]);
}
