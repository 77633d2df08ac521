//! The status page's files, from a desk: hostile text, self-containment, language and
//! direction, size, the Statuspage JSON's shape, the Atom feed, and publishing.

use chrono::{DateTime, Duration, TimeZone, Utc};
use incidents::status::{Component, Maintenance, PageSettings, STATUSPAGE_FILES, Snapshot};
use incidents::{
    Actor, Command, Desk, ManualClock, MemoryStore, NewIncident, Resolution, Role, Service,
    Severity, Source,
};
use serde_json::Value;

const HOSTILE: [&str; 5] = [
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(1)>",
    "' onmouseover='alert(1)",
    "\u{202E}evil\u{2066}x",
    "</bdi></h1><style>*{}</style>",
];

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 16, 55, 0).unwrap()
}

fn owner() -> Actor {
    Actor::new("shimon@aroma.example", "Shimon", Role::Owner).unwrap()
}

/// A page with `components` components (the first named `name`) and a maintenance window
/// called `name`.
fn settings(locale: &str, name: &str, components: usize) -> PageSettings {
    let mut settings = PageSettings::new(
        "aroma.example",
        name,
        "https://status.aroma.example/",
        locale,
        chrono_tz::Asia::Jerusalem,
    );
    for c in 0..components {
        let shown = if c == 0 {
            name.to_owned()
        } else {
            format!("Component {c}")
        };
        settings = settings.component(
            Component::new(Service::new(format!("service {c}")).unwrap(), &shown)
                .with_description(name),
        );
    }
    settings.maintenance(Maintenance::new(
        "db-upgrade",
        name,
        vec![Service::new("service 0").unwrap()],
        start() + Duration::days(2),
        start() + Duration::days(2) + Duration::hours(2),
    ))
}

/// A desk with an active incident on service 0 (public title `title`, update `body`) and a
/// resolved one on service 1 (no public title), and its snapshot now.
fn snapshot(settings: &PageSettings, title: &str, body: &str) -> Snapshot {
    let clock = ManualClock::new(start() - Duration::days(3));
    let desk = Desk::new(MemoryStore::new(), &clock).unwrap();
    let owner = owner();
    let old = desk
        .open(
            &owner,
            NewIncident::new("old", Severity::High, "service 1", Source::Alert).unwrap(),
        )
        .unwrap();
    clock.advance(Duration::hours(1));
    desk.act(old.id, &owner, Command::customer_update(body).unwrap())
        .unwrap();
    desk.act(old.id, &owner, Command::resolve(Resolution::Fixed))
        .unwrap();
    clock.set(start());
    let now = desk
        .open(
            &owner,
            NewIncident::new(
                "now",
                Severity::Critical,
                "service 0",
                Source::CustomerReport,
            )
            .unwrap(),
        )
        .unwrap();
    desk.act(now.id, &owner, Command::public_title(Some(title)).unwrap())
        .unwrap();
    clock.advance(Duration::minutes(5));
    desk.act(now.id, &owner, Command::customer_update(body).unwrap())
        .unwrap();
    desk.status_snapshot(settings).unwrap()
}

/// Titles and updates are validated text: bidi overrides are refused there, so the hostile
/// strings go into them without their controls; host strings carry them as they are.
fn as_text(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'))
        .collect()
}

fn assert_inert(html: &str) {
    assert!(!html.to_lowercase().contains("<script"));
    assert!(!html.contains("<img"));
    assert_eq!(
        html.matches("<style").count(),
        1,
        "only our own style sheet"
    );
    for tag in html.split('<').skip(1) {
        let tag = tag.split('>').next().unwrap();
        assert_eq!(
            tag.matches('"').count() % 2,
            0,
            "unbalanced quotes in <{tag}>"
        );
        assert!(!tag.contains('\''), "single quote in <{tag}>");
        assert!(
            !tag.contains("onerror") && !tag.contains("onmouseover"),
            "<{tag}>"
        );
    }
    for c in html.chars() {
        assert!(
            !matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'),
            "bidi control {c:?} in the page"
        );
    }
    assert_eq!(
        html.matches("<bdi>").count(),
        html.matches("</bdi>").count()
    );
}

#[test]
fn hostile_names_titles_and_updates_are_escaped() {
    for hostile in HOSTILE {
        for locale in ["en", "he"] {
            let settings = settings(locale, hostile, 2);
            let text = as_text(hostile);
            let snapshot = snapshot(&settings, &text, &text);
            let html = snapshot.html(&settings);
            assert_inert(&html);
            // The JSON and the feed parse, and keep the text (without its controls).
            for (_, json) in snapshot.statuspage_json(&settings) {
                let value: Value = serde_json::from_str(&json).unwrap();
                assert!(!json.contains('\u{202E}'));
                let _ = value;
            }
            let atom = snapshot.atom(&settings);
            assert!(!atom.contains("<script"));
            assert!(!atom.contains('\u{202E}'));
        }
    }
}

#[test]
fn the_page_fetches_nothing_and_runs_nothing() {
    let settings = settings("en", "Aroma", 3);
    let snapshot = snapshot(
        &settings,
        "Checkout is down",
        "See https://aroma.example/help",
    );
    let html = snapshot.html(&settings);
    assert!(!html.contains("<script"));
    for attribute in [
        "src=",
        "href=\"http:",
        "href=\"https:",
        "href=\"//",
        "url(",
        "@import",
    ] {
        assert!(!html.contains(attribute), "{attribute} in the page");
    }
    assert!(html.contains("<meta charset=\"utf-8\">"));
    assert!(html.contains("<meta name=\"viewport\""));
    assert!(html.contains("<meta name=\"color-scheme\" content=\"light dark\">"));
    assert!(html.contains("prefers-color-scheme:dark"));
}

#[test]
fn english_and_hebrew_pages_have_their_lang_and_dir() {
    let settings_he = settings("he", "ארומה", 2);
    let snapshot_he = snapshot(&settings_he, "החנות אינה זמינה", "POS 2 לא עובדת, בודקים.");
    let html = snapshot_he.html(&settings_he);
    assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"he\" dir=\"rtl\">"));
    assert!(html.contains("השבתה מלאה"));
    assert!(html.contains("<bdi>החנות אינה זמינה</bdi>"));
    // The update is a paragraph in the page's direction, not `dir=auto`: it opens with a
    // Latin word and must still read right to left.
    assert!(html.contains("<p>POS 2 לא עובדת, בודקים.</p>"));
    assert!(!html.contains("dir=\"auto\""));

    let settings_en = settings("en", "Aroma", 2);
    let snapshot_en = snapshot(&settings_en, "קופה 2", "We are on it.");
    let html = snapshot_en.html(&settings_en);
    assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\" dir=\"ltr\">"));
    // A Hebrew title on an English page is isolated.
    assert!(html.contains("<bdi>קופה 2</bdi>"));
    assert!(html.contains(incidents::status::UPTIME_FORMULA));
}

#[test]
fn twenty_components_with_ninety_days_of_bars_stay_under_100_kb() {
    for locale in ["en", "he"] {
        let settings = settings(locale, "Aroma", 20);
        let snapshot = snapshot(&settings, "Checkout is down", "We are on it.");
        assert_eq!(snapshot.components.len(), 20);
        assert!(snapshot.components.iter().all(|c| c.days.len() == 90));
        let html = snapshot.html(&settings);
        assert!(html.len() < 100 * 1024, "{locale}: {} bytes", html.len());
    }
}

#[test]
fn the_json_has_statuspage_field_names_and_enum_strings() {
    let settings = settings("en", "Aroma", 2);
    let snapshot = snapshot(&settings, "Checkout is down", "We are on it.");
    let files: Vec<(&str, Value)> = snapshot
        .statuspage_json(&settings)
        .into_iter()
        .map(|(name, json)| (name, serde_json::from_str(&json).unwrap()))
        .collect();
    assert_eq!(
        files.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        STATUSPAGE_FILES
    );
    let summary = &files[0].1;
    assert_eq!(summary["status"]["indicator"], "critical");
    assert_eq!(summary["page"]["time_zone"], "Asia/Jerusalem");
    assert_eq!(summary["components"][0]["status"], "major_outage");
    assert_eq!(summary["components"][1]["status"], "operational");
    let incident = &summary["incidents"][0];
    assert_eq!(incident["name"], "Checkout is down");
    assert_eq!(incident["impact"], "critical");
    assert_eq!(incident["id"], snapshot.active[0].id.to_string());
    assert_eq!(incident["incident_updates"][0]["body"], "We are on it.");
    for field in [
        "status",
        "created_at",
        "updated_at",
        "monitoring_at",
        "resolved_at",
        "shortlink",
        "started_at",
        "page_id",
        "components",
    ] {
        assert!(incident.get(field).is_some(), "incident.{field}");
    }
    let history = &files[3].1["incidents"];
    let resolved = history
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["status"] == "resolved")
        .unwrap();
    assert_eq!(resolved["name"], "Issue affecting Component 1");
    assert!(resolved["resolved_at"].is_string());
    let maintenance = &files[4].1["scheduled_maintenances"][0];
    assert_eq!(maintenance["status"], "scheduled");
    assert!(maintenance["scheduled_for"].is_string());
}

#[test]
fn the_feed_has_an_entry_per_incident_and_maintenance() {
    let settings = settings("he", "ארומה & <שות'>", 2);
    let snapshot = snapshot(&settings, "Checkout <down>", "a & b");
    let atom = snapshot.atom(&settings);
    assert!(atom.starts_with(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\""
    ));
    assert_eq!(atom.matches("<entry>").count(), 3);
    assert!(atom.contains(&format!("<id>urn:uuid:{}</id>", snapshot.active[0].id)));
    assert!(atom.contains("<title>Checkout &lt;down&gt;</title>"));
    assert!(atom.contains("<title>ארומה &amp; &lt;שות&#39;&gt;</title>"));
}

#[test]
fn publish_writes_every_file_and_lists_it() {
    let settings = settings("en", "Aroma", 2);
    let snapshot = snapshot(&settings, "Checkout is down", "We are on it.");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("public/status");
    let published = incidents::status::publish(&out, &settings, &snapshot).unwrap();
    let names: Vec<String> = published
        .files
        .iter()
        .map(|f| {
            f.path
                .strip_prefix(&out)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect();
    assert_eq!(
        names,
        [
            "index.html",
            "api/v2/summary.json",
            "api/v2/status.json",
            "api/v2/components.json",
            "api/v2/incidents.json",
            "api/v2/scheduled-maintenances.json",
            "history.atom"
        ]
    );
    for file in &published.files {
        assert_eq!(std::fs::metadata(&file.path).unwrap().len(), file.bytes);
    }
    assert_eq!(
        std::fs::read_to_string(out.join("index.html")).unwrap(),
        snapshot.html(&settings)
    );
    // Publishing again replaces the files and leaves nothing else behind.
    let again = incidents::status::publish(&out, &settings, &snapshot).unwrap();
    assert_eq!(again, published);
    let mut left: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["api", "history.atom", "index.html"]);
}
