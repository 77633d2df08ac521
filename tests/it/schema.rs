//! The storage schema: one event of every shape, its stored form committed under
//! `tests/fixtures/schema-v1/`, and every backend's code path checked against it both ways.
//!
//! - Reading: the committed FileStore directory, JSON Lines export and SQL rows decode to
//!   exactly the events [`every_shape`] builds.
//! - Writing: encoding those events gives exactly the committed bytes. This is the check that
//!   catches a change of the stored format (a renamed field or variant): if it fails on
//!   purpose, the change needs a new schema version (ARCHITECTURE.md, "Storage schema").
//!
//! Regenerate after a deliberate new schema version only (old fixture sets stay):
//! `INCIDENTS_WRITE_FIXTURES=1 cargo test --all-features --test it schema::write_fixtures -- --ignored`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::Duration;
use incidents::intake::Reporter;
use incidents::lifecycle::{
    Audience, Impact, Notification, Recurrence, Signal, SignalState, SlaTarget, Timer,
};
use incidents::people::{FollowUpPlan, Money, Review, Score};
use incidents::policy::Recipient;
use incidents::regulatory::{Deadline, Phase, Recipient as NoticeRecipient, Regime};
use incidents::store::{export_jsonl, import_jsonl};
use incidents::{
    Actor, Change, Error, Event, FileStore, IncidentId, MemoryStore, Resolution, Role, Service,
    Severity, Source, Store, Text, Title, Version,
};

use crate::support::t0;

/// The incident the fixture's history belongs to.
fn fixture_id() -> IncidentId {
    "019d2a6e-0000-7000-8000-00000000f1c5".parse().unwrap()
}

fn other_id(n: u8) -> IncidentId {
    IncidentId::from_bytes([
        0x01, 0x9d, 0x2a, 0x6e, 0, 0, 0x70, 0, 0x80, 0, 0, 0, 0, 0, 0, n,
    ])
}

fn actor(role: Role) -> Actor {
    match role {
        Role::Owner => Actor::new("shimon", "Shimon", role),
        Role::Responder => Actor::new("avi@shop.example", "Avi \"the fixer\" Cohen", role),
        Role::Support => Actor::new("noa", "נועה", role),
        Role::Viewer => Actor::new("viewer-1", "Auditor", role),
        Role::System => Ok(Actor::system()),
    }
    .unwrap()
}

fn text(s: &str) -> Text {
    Text::new("text", s).unwrap()
}

fn title(s: &str) -> Title {
    Title::new(s).unwrap()
}

/// One event of every shape the store must keep: every [`Change`] variant, and inside them
/// every timer kind, audience, recipient kind, resolution, role, severity, source, SLA target
/// and signal state, with optional fields both present and absent.
pub fn every_shape() -> Vec<Event> {
    let at = |n: i64| t0() + Duration::seconds(n) + Duration::milliseconds(n * 7);
    let due = t0() + Duration::hours(4);
    let mut changes: Vec<(Role, Change)> = Vec::new();
    let mut push = |role: Role, change: Change| changes.push((role, change));

    push(
        Role::Support,
        Change::Opened {
            id: fixture_id(),
            title: title("Card terminal declines every payment"),
            description: Some(text(
                "Both tills say \"declined\".\nCustomers pay cash.\tSee \u{2067}#12\u{2069}.",
            )),
            severity: Severity::Critical,
            service: Service::new("POS").unwrap(),
            source: Source::CustomerReport,
            alert_key: Some("alertmanager/abc123".into()),
            idempotency_key: Some("form-7781".into()),
            recurrence: Some(Recurrence::new(other_id(1), 2)),
        },
    );
    push(
        Role::System,
        Change::Opened {
            id: other_id(2),
            title: title("Online shop slow"),
            description: None,
            severity: Severity::Low,
            service: Service::new("online shop").unwrap(),
            source: Source::Alert,
            alert_key: None,
            idempotency_key: None,
            recurrence: None,
        },
    );
    for (severity, source) in [
        (Severity::Medium, Source::StaffReport),
        (Severity::High, Source::ProactiveCheck),
    ] {
        push(
            Role::Owner,
            Change::Opened {
                id: other_id(3),
                title: title("Receipt printer out of paper"),
                description: None,
                severity,
                service: Service::new("קופה 2\u{200F}").unwrap(),
                source,
                alert_key: None,
                idempotency_key: None,
                recurrence: None,
            },
        );
    }
    push(Role::Responder, Change::Acknowledged);
    push(
        Role::Owner,
        Change::OwnerAssigned {
            owner: actor(Role::Responder),
        },
    );
    push(Role::Viewer, Change::InvestigationStarted);
    push(
        Role::Responder,
        Change::RootCauseIdentified {
            root_cause: text("terminal firmware update"),
        },
    );
    push(
        Role::Responder,
        Change::Mitigated {
            action: text("switched to the backup terminal"),
        },
    );
    for resolution in [
        Resolution::Fixed,
        Resolution::Workaround,
        Resolution::FalseAlarm,
        Resolution::Duplicate { of: other_id(4) },
        Resolution::AutoResolved,
    ] {
        push(Role::Owner, Change::Resolved { resolution });
    }
    push(
        Role::Owner,
        Change::Reopened {
            reason: text("it is back"),
        },
    );
    push(
        Role::Owner,
        Change::Closed {
            summary: text("Used the backup terminal."),
            lessons: text("Delay firmware updates to closing time."),
        },
    );
    push(
        Role::Owner,
        Change::SeverityChanged {
            from: Severity::Low,
            to: Severity::Critical,
            reason: text("worse than thought"),
        },
    );
    push(
        Role::Responder,
        Change::NoteAdded {
            text: text("Restarted the gateway.\nWatching the error rate — 0.1% → 0%."),
        },
    );
    push(
        Role::Support,
        Change::CustomerUpdatePosted {
            message: text("שלום, האתר חזר לפעול.\u{200F}"),
        },
    );
    push(
        Role::Owner,
        Change::VendorWaitStarted {
            vendor: text("PayCo"),
            reference: Some(text("CASE-42")),
        },
    );
    push(
        Role::Owner,
        Change::VendorWaitStarted {
            vendor: text("PayCo"),
            reference: None,
        },
    );
    push(
        Role::Owner,
        Change::VendorWaitEnded {
            note: Some(text("they rolled back")),
        },
    );
    push(Role::Owner, Change::VendorWaitEnded { note: None });

    // Every timer kind; the escalation names every recipient kind and role.
    let mut recipients = vec![
        Recipient::IncidentOwner,
        Recipient::Person("dana".into()),
        Recipient::Channel("pos-oncall".into()),
    ];
    recipients.extend(Role::ALL.into_iter().map(Recipient::Role));
    let mut timers = vec![
        Timer::Escalation {
            cycle: 1,
            round: 2,
            step: 3,
            notify: recipients.clone(),
        },
        Timer::Escalation {
            cycle: 0,
            round: 0,
            step: 0,
            notify: Vec::new(),
        },
        Timer::QuietPeriodOver {
            last_signal: at(-60),
        },
        Timer::FollowUpOverdue {
            follow_up: 2,
            due,
            owner: "avi@shop.example".into(),
        },
        Timer::CustomerUpdateDue {
            cycle: 1,
            after_updates: 3,
            reminder: 2,
            due,
        },
    ];
    for target in SlaTarget::ALL {
        timers.push(Timer::SlaAtRisk { target, due });
        timers.push(Timer::SlaBreached { target, due });
    }
    for timer in timers {
        push(Role::System, Change::TimerFired { timer });
    }

    push(
        Role::Owner,
        Change::ResponderAdded {
            responder: actor(Role::Support),
        },
    );
    push(
        Role::Owner,
        Change::ResponderRemoved {
            responder: "noa".into(),
        },
    );
    push(
        Role::Owner,
        Change::TaskAdded {
            task: 1,
            title: title("Call PayCo"),
            assignee: Some("avi@shop.example".into()),
            playbook: Some("card terminals".into()),
        },
    );
    push(
        Role::Owner,
        Change::TaskAdded {
            task: 2,
            title: title("Put up a sign"),
            assignee: None,
            playbook: None,
        },
    );
    push(
        Role::Owner,
        Change::TaskAssigned {
            task: 2,
            assignee: "noa".into(),
        },
    );
    push(Role::Responder, Change::TaskCompleted { task: 1 });

    let mut review = Review::new("Both terminals declined cards for 40 minutes.", "firmware")
        .unwrap()
        .lesson("Update at closing time.")
        .unwrap()
        .follow_up("Pin the firmware version", "avi@shop.example", due)
        .unwrap()
        .follow_up("Keep a spare terminal", "shimon", due + Duration::days(7))
        .unwrap();
    review.customers_affected = Some(120);
    review.lost_revenue = Some(Money::new(250_000, "EUR").unwrap());
    review.contributing_factors = vec![text("auto-update on"), text("no spare")];
    review.went_well = vec![text("cash fallback")];
    push(Role::Owner, Change::ReviewRecorded { review });
    push(
        Role::Owner,
        Change::ReviewRecorded {
            review: Review::new("a short one", "unknown").unwrap(),
        },
    );
    // A plan built by hand: the fields are public, so the store keeps whatever they hold.
    let mut odd = Review::new("odd", "odd").unwrap();
    odd.follow_ups.push(FollowUpPlan {
        title: title("by hand"),
        owner: "has space".into(),
        due,
    });
    odd.lost_revenue = Some(Money {
        minor: 1,
        currency: "eur".into(),
    });
    push(Role::Owner, Change::ReviewRecorded { review: odd });
    push(Role::Owner, Change::FollowUpCompleted { follow_up: 1 });
    push(
        Role::Support,
        Change::FeedbackRecorded {
            score: Score::new(4).unwrap(),
            comment: Some(text("quick fix, thanks")),
        },
    );
    push(
        Role::Support,
        Change::FeedbackRecorded {
            score: Score::new(1).unwrap(),
            comment: None,
        },
    );

    let mut labels = BTreeMap::new();
    labels.insert("alertname".to_string(), "TerminalDown".to_string());
    labels.insert("till".to_string(), "2".to_string());
    push(
        Role::System,
        Change::SignalReceived {
            signal: Signal::new(
                "customer_report/terminal",
                at(-300),
                SignalState::Firing,
                "Card terminal declines",
            )
            .with_origin(Source::CustomerReport)
            .with_reporter(
                Reporter::new("Dana Levi")
                    .unwrap()
                    .with_contact("dana@example.com")
                    .unwrap(),
            )
            .with_description(text("Tried three cards."))
            .with_labels(labels)
            .with_ends_at(at(3_600))
            .with_group("pos/terminals"),
        },
    );
    push(
        Role::System,
        Change::SignalReceived {
            signal: Signal::new(
                "alertmanager/abc123",
                at(-120),
                SignalState::Resolved,
                "TerminalDown",
            ),
        },
    );
    push(
        Role::System,
        Change::SignalReceived {
            signal: Signal::new(
                "staff_report/printer",
                at(-10),
                SignalState::Firing,
                "Printer",
            )
            .with_origin(Source::StaffReport)
            .with_reporter(Reporter::new("Yossi").unwrap()),
        },
    );
    push(Role::Owner, Change::MergedInto { into: other_id(5) });
    push(
        Role::Owner,
        Change::DuplicateMerged {
            duplicate: other_id(6),
            title: title("Till 2 declines cards"),
        },
    );
    let notification = |what: &str, audience: Audience, channel: Option<&str>| {
        let n = Notification::new(
            fixture_id(),
            what,
            audience,
            format!("[critical] {what}"),
            "Nobody has acknowledged it.\n<b>Card</b> & \"terminal\"",
        );
        match channel {
            Some(channel) => n.with_channel(channel),
            None => n,
        }
    };
    push(
        Role::System,
        Change::NotificationRequested {
            notification: notification("owner", Audience::Owner, Some("sms")),
        },
    );
    push(
        Role::System,
        Change::NotificationRequested {
            notification: notification("escalation", Audience::Recipients(recipients), None),
        },
    );
    push(
        Role::System,
        Change::NotificationRequested {
            notification: notification("customers", Audience::Customers, Some("status page")),
        },
    );
    push(
        Role::System,
        Change::NotificationDelivered {
            key: format!("{}/owner", fixture_id()),
        },
    );
    push(
        Role::System,
        Change::NotificationFailed {
            key: format!("{}/customers", fixture_id()),
            attempt: 2,
            error: "HTTP 503 from the status page".into(),
            retry_at: Some(at(900)),
        },
    );
    push(
        Role::System,
        Change::NotificationFailed {
            key: format!("{}/customers", fixture_id()),
            attempt: 5,
            error: "gave up".into(),
            retry_at: None,
        },
    );
    // Rendered from catalogs: the language it is written in and an SMS text.
    push(
        Role::System,
        Change::NotificationRequested {
            notification: Notification::new(
                fixture_id(),
                "escalation/0/0/1/he",
                Audience::Recipients(vec![Recipient::Person("dana".into())]),
                "[קריטי] \u{2068}הקופה לא עובדת\u{2069} צריך טיפול",
                "אף אחד לא אישר את התקלה כבר \u{2068}20\u{2069} דקות.",
            )
            .with_locale("he")
            .with_sms("קריטי: \u{2068}הקופה לא עובדת\u{2069} ללא מענה"),
        },
    );
    // What the public status page shows: an impact set and cleared, a public title set and
    // withdrawn.
    push(
        Role::Support,
        Change::ImpactSet {
            impact: Some(Impact::MajorOutage),
        },
    );
    push(Role::Owner, Change::ImpactSet { impact: None });
    push(
        Role::Support,
        Change::PublicTitleSet {
            title: Some(title("Card payments fail at the tills \"& <shop>\"")),
        },
    );
    push(Role::Responder, Change::PublicTitleSet { title: None });

    // A breach under a regime with every recipient and deadline kind; awareness moved; one
    // notice filed on time, one late with reasons.
    let mut regime = Regime::new(
        "gdpr",
        "GDPR personal data breach",
        "Regulation (EU) 2016/679, Art. 33 and 34",
        "controllers \"& <processors>\"",
    );
    for (n, (recipient, deadline)) in [
        (NoticeRecipient::Authority, Deadline::CalendarHours(72)),
        (
            NoticeRecipient::DataSubjects,
            Deadline::Immediately { target_hours: 72 },
        ),
        (NoticeRecipient::Acquirer, Deadline::BusinessDays(10)),
        (
            NoticeRecipient::Other("the insurer".into()),
            Deadline::CalendarDays(30),
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let mut phase =
            Phase::new(format!("phase-{n}"), recipient, deadline).with_content("what happened");
        if n == 0 {
            phase = phase
                .late_needs_reason()
                .with_content("the reasons for a delay");
        }
        regime = regime.with_phase(phase);
    }
    push(
        Role::Owner,
        Change::BreachDeclared {
            regimes: vec![regime],
            became_aware: at(-120),
        },
    );
    push(
        Role::Owner,
        Change::BecameAwareSet {
            from: at(-120),
            to: at(-180),
            reason: text("the export log shows it an hour earlier"),
        },
    );
    push(
        Role::Owner,
        Change::NoticeFiled {
            regime: "gdpr".into(),
            phase: "phase-1".into(),
            reference: text("DPA-2026-0042"),
            summary: text("form and letter"),
            late_reason: None,
        },
    );
    push(
        Role::Owner,
        Change::NoticeFiled {
            regime: "gdpr".into(),
            phase: "phase-0".into(),
            reference: text("DPA-2026-0043"),
            summary: text("the full report"),
            late_reason: Some(text("the processor's logs came late")),
        },
    );
    for timer in [
        Timer::NoticeAtRisk {
            regime: "gdpr".into(),
            phase: "phase-2".into(),
            due,
        },
        Timer::NoticeOverdue {
            regime: "gdpr".into(),
            phase: "phase-3".into(),
            due,
        },
    ] {
        push(Role::System, Change::TimerFired { timer });
    }

    // An escalation step that pages whoever is on call (#17): the timer keeps the schedule,
    // the notification names who was paged.
    push(
        Role::System,
        Change::TimerFired {
            timer: Timer::Escalation {
                cycle: 0,
                round: 0,
                step: 1,
                notify: vec![Recipient::OnCall("tills".into())],
            },
        },
    );

    changes
        .into_iter()
        .enumerate()
        .map(|(n, (role, change))| Event::new(at(n as i64), actor(role), change))
        .collect()
}

/// Every [`Change::name`]: `the_fixture_events_cover_every_change_variant` checks that
/// `every_shape` has an event of each (the crate's own `store::schema::v1::coverage` test
/// checks that the list of stored records has no variant missing from the fixture).
const VARIANTS: [&str; 34] = [
    "opened",
    "acknowledged",
    "owner_assigned",
    "investigation_started",
    "root_cause_identified",
    "mitigated",
    "resolved",
    "reopened",
    "closed",
    "severity_changed",
    "note_added",
    "customer_update_posted",
    "vendor_wait_started",
    "vendor_wait_ended",
    "timer_fired",
    "responder_added",
    "responder_removed",
    "task_added",
    "task_assigned",
    "task_completed",
    "review_recorded",
    "follow_up_completed",
    "feedback_recorded",
    "signal_received",
    "merged_into",
    "duplicate_merged",
    "impact_set",
    "public_title_set",
    "breach_declared",
    "became_aware_set",
    "notice_filed",
    "notification_requested",
    "notification_delivered",
    "notification_failed",
];

#[test]
fn the_fixture_events_cover_every_change_variant() {
    let built: BTreeSet<&str> = every_shape().iter().map(|e| e.change.name()).collect();
    let all: BTreeSet<&str> = VARIANTS.into_iter().collect();
    assert_eq!(all.len(), VARIANTS.len(), "a name is listed twice");
    assert_eq!(built, all);
}

// ---------------------------------------------------------------------------------------------
// Fixture files

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schema-v1")
}

/// The FileStore directory (one segment, the whole history in one append).
fn store_dir() -> PathBuf {
    fixture_dir().join("store")
}

const SEGMENT: &str = "seg-00000001.log";
const JSONL: &str = "export.jsonl";
const SQL_ROWS: &str = "sql-rows.json";

fn read(name: &str) -> Vec<u8> {
    std::fs::read(fixture_dir().join(name)).unwrap()
}

/// The FileStore segment `every_shape` writes, from a fresh store.
fn written_segment(events: &[Event]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = FileStore::open(dir.path()).unwrap();
        store.append(fixture_id(), Version::ZERO, events).unwrap();
    }
    std::fs::read(dir.path().join(SEGMENT)).unwrap()
}

fn written_jsonl(events: &[Event]) -> Vec<u8> {
    let store = MemoryStore::new();
    store.append(fixture_id(), Version::ZERO, events).unwrap();
    let mut out = Vec::new();
    export_jsonl(&store, &mut out).unwrap();
    out
}

/// The `event` text of each JSON Lines line: what the SQL stores keep per row (the same
/// encoding; checked against the real SQLite rows when the `sqlite` feature is on).
fn event_texts(jsonl: &[u8]) -> Vec<String> {
    let text = std::str::from_utf8(jsonl).unwrap();
    text.lines()
        .map(|line| {
            let start = line.find(r#","event":"#).unwrap() + r#","event":"#.len();
            line[start..line.len() - 1].to_string()
        })
        .collect()
}

fn sql_rows_json(rows: &[String]) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(rows).unwrap();
    out.push(b'\n');
    out
}

/// Writes the fixture set. By hand, after a deliberate schema change only.
#[test]
#[ignore = "writes tests/fixtures; run by hand"]
fn write_fixtures() {
    if std::env::var_os("INCIDENTS_WRITE_FIXTURES").is_none() {
        return;
    }
    let events = every_shape();
    let _ = std::fs::remove_dir_all(fixture_dir());
    std::fs::create_dir_all(store_dir()).unwrap();
    std::fs::write(store_dir().join(SEGMENT), written_segment(&events)).unwrap();
    let jsonl = written_jsonl(&events);
    std::fs::write(fixture_dir().join(JSONL), &jsonl).unwrap();
    std::fs::write(
        fixture_dir().join(SQL_ROWS),
        sql_rows_json(&event_texts(&jsonl)),
    )
    .unwrap();
}

// ---------------------------------------------------------------------------------------------
// Reading the committed fixtures

fn copy_store(to: &Path) {
    for entry in std::fs::read_dir(store_dir()).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

#[test]
fn the_committed_file_store_opens_to_every_shape() {
    let dir = tempfile::tempdir().unwrap();
    copy_store(dir.path());
    let store = FileStore::open(dir.path()).unwrap();
    assert_eq!(store.open_report().torn_tail, None);
    let events = every_shape();
    assert_eq!(store.open_report().events, events.len() as u64);
    assert_eq!(store.load(fixture_id()).unwrap(), events);
}

#[test]
fn the_committed_export_imports_to_every_shape() {
    let store = MemoryStore::new();
    let report = import_jsonl(&store, &mut read(JSONL).as_slice()).unwrap();
    let events = every_shape();
    assert_eq!(report.events, events.len() as u64);
    assert_eq!(store.load(fixture_id()).unwrap(), events);
}

#[test]
fn an_export_without_schema_fields_imports_as_schema_1() {
    let jsonl = String::from_utf8(read(JSONL)).unwrap();
    let old = jsonl.replace(r#","schema":1,"#, ",");
    assert_ne!(old, jsonl);
    let store = MemoryStore::new();
    import_jsonl(&store, &mut old.as_bytes()).unwrap();
    assert_eq!(store.load(fixture_id()).unwrap(), every_shape());
}

// ---------------------------------------------------------------------------------------------
// Writing: the bytes must not change within a schema version

#[test]
fn every_shape_encodes_to_the_committed_bytes() {
    let events = every_shape();
    let segment = written_segment(&events);
    assert!(
        segment == std::fs::read(store_dir().join(SEGMENT)).unwrap(),
        "the FileStore segment differs from tests/fixtures/schema-v1: the stored format \
         changed; that needs a new schema version (ARCHITECTURE.md, \"Storage schema\")"
    );
    let jsonl = written_jsonl(&events);
    assert_eq!(
        String::from_utf8(jsonl.clone()).unwrap(),
        String::from_utf8(read(JSONL)).unwrap(),
        "the JSON Lines export changed"
    );
    assert_eq!(
        String::from_utf8(sql_rows_json(&event_texts(&jsonl))).unwrap(),
        String::from_utf8(read(SQL_ROWS)).unwrap(),
        "the SQL row JSON changed"
    );
}

// ---------------------------------------------------------------------------------------------
// Typed errors: an unknown schema version, a value its type refuses

/// `jsonl`'s first line with `from` replaced by `to`.
fn first_line_with(from: &str, to: &str) -> String {
    let jsonl = String::from_utf8(read(JSONL)).unwrap();
    let first = jsonl.lines().next().unwrap();
    assert!(first.contains(from), "{first}");
    format!("{}\n", first.replacen(from, to, 1))
}

const TITLE: &str = r#""title":"Card terminal declines every payment""#;
const BLANK_TITLE: &str = r#""title":"                                    ""#;

#[test]
fn import_names_an_unknown_schema_and_an_invalid_value() {
    let store = MemoryStore::new();
    let newer = first_line_with(r#""schema":1"#, r#""schema":2"#);
    let err = import_jsonl(&store, &mut newer.as_bytes()).unwrap_err();
    assert!(
        matches!(&err, Error::Invalid(i) if i.rule.starts_with("line 1:") && i.rule.contains("schema 2")),
        "{err}"
    );
    let blank = first_line_with(TITLE, r#""title":"""#);
    let err = import_jsonl(&store, &mut blank.as_bytes()).unwrap_err();
    assert!(
        matches!(&err, Error::Invalid(i) if i.rule.contains("invalid title")),
        "{err}"
    );
    assert_eq!(store.version(fixture_id()).unwrap(), Version::ZERO);
}

/// The committed segment with its only frame's schema or body changed, checksums redone.
fn tampered_segment(schema: u16, body: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
    use incidents::store::file::format::{FILE_HEADER_LEN, FRAME_HEADER_LEN};
    let mut bytes = std::fs::read(store_dir().join(SEGMENT)).unwrap();
    let mut frame_body = bytes[FILE_HEADER_LEN + FRAME_HEADER_LEN..].to_vec();
    body(&mut frame_body);
    let header = &mut bytes[FILE_HEADER_LEN..FILE_HEADER_LEN + FRAME_HEADER_LEN];
    header[4..6].copy_from_slice(&schema.to_le_bytes());
    header[8..12].copy_from_slice(&crc32fast::hash(&frame_body).to_le_bytes());
    let crc = crc32fast::hash(&header[..12]);
    header[12..16].copy_from_slice(&crc.to_le_bytes());
    bytes.truncate(FILE_HEADER_LEN + FRAME_HEADER_LEN);
    bytes.extend_from_slice(&frame_body);
    bytes
}

fn replace_same_length(body: &mut [u8], from: &str, to: &str) {
    assert_eq!(from.len(), to.len());
    let at = body
        .windows(from.len())
        .position(|w| w == from.as_bytes())
        .unwrap();
    body[at..at + to.len()].copy_from_slice(to.as_bytes());
}

#[test]
fn the_file_store_names_an_unknown_schema_and_an_invalid_value() {
    use incidents::store::file::format::{FILE_HEADER_LEN, FRAME_HEADER_LEN, decode_body};
    // A frame of a newer schema: refused when the store opens, naming the schema.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(SEGMENT), tampered_segment(2, |_| {})).unwrap();
    let err = FileStore::open(dir.path()).unwrap_err();
    assert!(
        matches!(&err, Error::Corrupt { reason, .. } if reason.contains("schema 2")),
        "{err}"
    );
    // An empty title behind valid checksums: the store opens, reading the event fails.
    let dir = tempfile::tempdir().unwrap();
    let blank = tampered_segment(1, |body| replace_same_length(body, TITLE, BLANK_TITLE));
    std::fs::write(dir.path().join(SEGMENT), &blank).unwrap();
    let store = FileStore::open(dir.path()).unwrap();
    let err = store.load(fixture_id()).unwrap_err();
    assert!(
        matches!(&err, Error::Corrupt { reason, .. } if reason.contains("invalid title")),
        "{err}"
    );
    // The frame decoder says the same, and names an unknown schema too.
    let body = &blank[FILE_HEADER_LEN + FRAME_HEADER_LEN..];
    assert!(decode_body(1, body).unwrap_err().contains("invalid title"));
    let good = std::fs::read(store_dir().join(SEGMENT)).unwrap();
    let body = &good[FILE_HEADER_LEN + FRAME_HEADER_LEN..];
    assert_eq!(decode_body(1, body).unwrap().len(), every_shape().len());
    assert!(decode_body(3, body).unwrap_err().contains("schema 3"));
}

// ---------------------------------------------------------------------------------------------
// SQL rows, through SqliteStore (the decoding PostgreSQL shares)

#[cfg(feature = "sqlite")]
mod sql {
    use super::*;
    use incidents::store::SqliteStore;

    fn insert_rows(path: &Path, rows: &[(i64, String)]) {
        let conn = rusqlite::Connection::open(path).unwrap();
        for (n, (schema, event)) in rows.iter().enumerate() {
            conn.execute(
                "INSERT INTO incident_events (tenant, position, incident, version, schema, event) \
                 VALUES ('', ?1, ?2, ?1, ?3, ?4)",
                rusqlite::params![n as i64 + 1, &fixture_id().as_bytes()[..], schema, event],
            )
            .unwrap();
        }
    }

    fn committed_rows() -> Vec<String> {
        serde_json::from_slice(&read(SQL_ROWS)).unwrap()
    }

    #[test]
    fn the_committed_rows_load_to_every_shape() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shop.db");
        drop(SqliteStore::open(&path).unwrap());
        let rows: Vec<(i64, String)> = committed_rows().into_iter().map(|r| (1, r)).collect();
        insert_rows(&path, &rows);
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.load(fixture_id()).unwrap(), every_shape());
    }

    #[test]
    fn the_store_writes_the_committed_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shop.db");
        let store = SqliteStore::open(&path).unwrap();
        store
            .append(fixture_id(), Version::ZERO, &every_shape())
            .unwrap();
        let conn = rusqlite::Connection::open(&path).unwrap();
        let mut select = conn
            .prepare("SELECT schema, event FROM incident_events ORDER BY version")
            .unwrap();
        let rows: Vec<(i64, String)> = select
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert!(rows.iter().all(|(schema, _)| *schema == 1));
        let texts: Vec<String> = rows.into_iter().map(|(_, text)| text).collect();
        assert_eq!(texts, committed_rows());
    }

    #[test]
    fn rows_of_an_unknown_schema_or_with_an_invalid_value_are_corrupt() {
        let mut first = committed_rows().swap_remove(0);
        for (schema, expect) in [(2, "schema 2"), (70_000, "schema 70000")] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("shop.db");
            drop(SqliteStore::open(&path).unwrap());
            insert_rows(&path, &[(schema, first.clone())]);
            let err = SqliteStore::open(&path)
                .unwrap()
                .load(fixture_id())
                .unwrap_err();
            assert!(
                matches!(&err, Error::Corrupt { reason, .. } if reason.contains(expect)),
                "{err}"
            );
        }
        first = first.replacen(TITLE, r#""title":"""#, 1);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shop.db");
        drop(SqliteStore::open(&path).unwrap());
        insert_rows(&path, &[(1, first)]);
        let err = SqliteStore::open(&path)
            .unwrap()
            .load(fixture_id())
            .unwrap_err();
        assert!(
            matches!(&err, Error::Corrupt { reason, .. } if reason.contains("invalid title")),
            "{err}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Whole databases written by this schema version, committed: what a later version's migration
// starts from (a SQLite file as `SqliteStore` leaves it; a PostgreSQL dump of a database
// `PostgresStore` made). Written by `write_database_fixtures`, by hand, like the files above.

/// The snapshot bytes the database fixtures keep (any bytes: the store does not read them).
#[cfg(any(feature = "sqlite", feature = "postgres"))]
const DB_SNAPSHOT: &[u8] = b"snapshot bytes kept by schema 1";

#[cfg(feature = "sqlite")]
mod sqlite_database {
    use super::*;
    use incidents::store::SqliteStore;

    pub(super) const FILE: &str = "sqlite.db";

    /// Writes `tests/fixtures/schema-v1/sqlite.db`: every shape appended, a snapshot kept,
    /// the store closed (its write-ahead log folded back into the file).
    pub(super) fn write() {
        let path = fixture_dir().join(FILE);
        let _ = std::fs::remove_file(&path);
        let store = SqliteStore::open(&path).unwrap();
        store
            .append(fixture_id(), Version::ZERO, &every_shape())
            .unwrap();
        store.save_snapshot(DB_SNAPSHOT).unwrap();
        drop(store);
        for side in ["-wal", "-shm"] {
            let mut name = path.clone().into_os_string();
            name.push(side);
            assert!(!Path::new(&name).exists(), "{side} left beside the fixture");
        }
    }

    /// The committed database opens, reads every shape and the snapshot back, and takes the
    /// next append where the history stops.
    #[test]
    fn the_committed_sqlite_database_opens_to_every_shape() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shop.db");
        std::fs::copy(fixture_dir().join(FILE), &path).unwrap();
        let store = SqliteStore::open(&path).unwrap();
        let events = every_shape();
        assert_eq!(store.load(fixture_id()).unwrap(), events);
        assert_eq!(store.load_snapshot().unwrap().as_deref(), Some(DB_SNAPSHOT));
        let version = Version::new(events.len() as u64);
        assert_eq!(store.version(fixture_id()).unwrap(), version);
        let next = store
            .append(fixture_id(), version, &events[events.len() - 1..])
            .unwrap();
        assert_eq!(next, version.next());
    }
}

#[cfg(feature = "postgres")]
pub(crate) mod postgres_database {
    use super::*;
    use incidents::store::PostgresStore;

    use crate::sql::{fresh_database, pg_url};

    pub(super) const FILE: &str = "postgres.sql";

    /// Writes `tests/fixtures/schema-v1/postgres.sql`: `pg_dump` (plain SQL, INSERTs) of a
    /// fresh database after every shape was appended and a snapshot kept.
    pub(super) fn write() {
        let Some(base) = pg_url() else {
            panic!("writing the PostgreSQL fixture needs a server: INCIDENTS_PG_URL");
        };
        let url = fresh_database(&base);
        let store = PostgresStore::connect(&url).unwrap();
        store
            .append(fixture_id(), Version::ZERO, &every_shape())
            .unwrap();
        store.save_snapshot(DB_SNAPSHOT).unwrap();
        drop(store);
        let dump = std::process::Command::new("pg_dump")
            .args([
                "--no-owner",
                "--no-privileges",
                "--inserts",
                "--format=plain",
                &format!("--dbname={url}"),
            ])
            .output()
            .expect("pg_dump on the PATH");
        assert!(
            dump.status.success(),
            "{}",
            String::from_utf8_lossy(&dump.stderr)
        );
        std::fs::write(fixture_dir().join(FILE), dump.stdout).unwrap();
    }

    /// The statements of the dump a client library can run: without psql's meta-commands
    /// (`\restrict` and the like) and without the session settings of the server that
    /// dumped it (a newer server's settings may be unknown to an older one).
    pub(crate) fn statements() -> String {
        let dump = String::from_utf8(read(FILE)).unwrap();
        dump.lines()
            .filter(|line| !line.starts_with('\\') && !line.starts_with("SET "))
            .filter(|line| !line.starts_with("SELECT pg_catalog.set_config"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// A database restored from the committed dump opens, reads every shape and the
    /// snapshot back, and takes the next append where the history stops.
    #[test]
    fn the_committed_postgres_dump_opens_to_every_shape() {
        let Some(base) = pg_url() else {
            return;
        };
        let url = fresh_database(&base);
        let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        client.batch_execute(&statements()).unwrap();
        drop(client);
        let store = PostgresStore::connect(&url).unwrap();
        let events = every_shape();
        assert_eq!(store.load(fixture_id()).unwrap(), events);
        assert_eq!(store.load_snapshot().unwrap().as_deref(), Some(DB_SNAPSHOT));
        let version = Version::new(events.len() as u64);
        let next = store
            .append(fixture_id(), version, &events[events.len() - 1..])
            .unwrap();
        assert_eq!(next, version.next());
    }
}

/// Writes the database fixtures. By hand, after a deliberate schema change only, with both
/// features and a PostgreSQL server: `INCIDENTS_WRITE_FIXTURES=1 cargo test --features
/// sqlite,postgres --test it write_database_fixtures -- --ignored`.
#[test]
#[ignore = "writes tests/fixtures; run by hand"]
fn write_database_fixtures() {
    if std::env::var_os("INCIDENTS_WRITE_FIXTURES").is_some() {
        #[cfg(feature = "sqlite")]
        sqlite_database::write();
        #[cfg(feature = "postgres")]
        postgres_database::write();
    }
}
