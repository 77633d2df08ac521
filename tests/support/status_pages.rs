//! Status pages published from a real desk (a `ManualClock`, a `MemoryStore`), for the
//! browser and file tests: an English and a Hebrew page of the same shop with active and
//! resolved incidents, customer updates and maintenance, and an English page whose public
//! title and customer update try to inject markup and script.
#![allow(dead_code)] // Each test binary uses a different part of it.

use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, TimeZone, Utc};
use incidents::status::{Component, Maintenance, PageSettings, Snapshot};
use incidents::{
    Actor, Command, Desk, IncidentId, ManualClock, MemoryStore, NewIncident, Resolution, Role,
    Service, Severity, Source,
};

/// The page's instant: Thursday 2026-12-03 12:00 UTC (14:00 in Jerusalem).
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 3, 12, 0, 0).unwrap()
}

/// Which page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// The shop's page in English.
    English,
    /// The same shop's page in Hebrew.
    Hebrew,
    /// A page whose public texts are hostile markup.
    Hostile,
}

impl Page {
    /// Its short name (directory and screenshot names).
    pub fn name(self) -> &'static str {
        match self {
            Page::English => "en",
            Page::Hebrew => "he",
            Page::Hostile => "hostile",
        }
    }

    fn hebrew(self) -> bool {
        self == Page::Hebrew
    }
}

/// The hostile public title and customer update.
pub const HOSTILE_TITLE: &str =
    "<script>alert('title')</script><img src=x onerror=\"alert('img')\"> &amp; </title></head>";
pub const HOSTILE_UPDATE: &str = "</p></div><script>alert('update')</script><iframe src=\"javascript:alert('iframe')\"></iframe><style>body{display:none}</style>&lt;b&gt; \"quotes\" 'apostrophes'";

fn service(name: &str) -> Service {
    Service::new(name).unwrap()
}

fn settings(page: Page) -> PageSettings {
    let zone = chrono_tz::Asia::Jerusalem;
    let (name, locale) = if page.hebrew() {
        ("מאפיית הדגמה", "he")
    } else {
        ("Example Bakery", "en")
    };
    let names: [(&str, &str, &str); 3] = if page.hebrew() {
        [
            ("online shop", "חנות מקוונת", "הזמנות באתר"),
            ("payments", "תשלומים", "כרטיסי אשראי, Bit ו־Apple Pay"),
            ("POS", "קופות", "הקופות בסניפים"),
        ]
    } else {
        [
            ("online shop", "Online shop", "Orders on the website"),
            ("payments", "Payments", "Cards, Bit and Apple Pay"),
            ("POS", "Tills", "The tills in our branches"),
        ]
    };
    let mut settings = PageSettings::new(
        "bakery.example",
        name,
        "https://status.bakery.example/",
        locale,
        zone,
    );
    for (svc, title, description) in names {
        settings =
            settings.component(Component::new(service(svc), title).with_description(description));
    }
    let upgrade = if page.hebrew() {
        "שדרוג מסד הנתונים"
    } else {
        "Database upgrade"
    };
    settings.maintenance(Maintenance::new(
        "db-upgrade-2026-12",
        upgrade,
        vec![service("online shop")],
        now() + Duration::hours(14),
        now() + Duration::hours(16),
    ))
}

/// The desk's history: a resolved critical payments incident two days ago, an active high
/// one on the online shop with a public title and two updates, a medium one on the tills
/// without a public title.
fn history(
    desk: &Desk<MemoryStore, &ManualClock>,
    clock: &ManualClock,
    page: Page,
) -> Vec<IncidentId> {
    let dana = Actor::new("dana", "Dana", Role::Owner).unwrap();
    let he = page.hebrew();
    let text = |en: &'static str, hebrew: &'static str| if he { hebrew } else { en };

    clock.set(now() - Duration::days(2));
    let old = desk
        .open(
            &dana,
            NewIncident::new(
                "PSP returns 502",
                Severity::Critical,
                "payments",
                Source::Alert,
            )
            .unwrap(),
        )
        .unwrap()
        .id;
    desk.act(old, &dana, Command::Acknowledge).unwrap();
    desk.act(
        old,
        &dana,
        Command::public_title(Some(text(
            "Card payments fail",
            "תשלומים בכרטיס אשראי נכשלים",
        )))
        .unwrap(),
    )
    .unwrap();
    desk.act(
        old,
        &dana,
        Command::customer_update(text(
            "Card payments fail in the shop and at the tills. Cash works.",
            "תשלום בכרטיס אשראי לא עובד באתר ובקופות. מזומן עובד.",
        ))
        .unwrap(),
    )
    .unwrap();
    clock.advance(Duration::minutes(47));
    desk.act(
        old,
        &dana,
        Command::customer_update(text(
            "Fixed: card payments work again.",
            "תוקן: תשלום בכרטיס עובד שוב.",
        ))
        .unwrap(),
    )
    .unwrap();
    desk.act(old, &dana, Command::resolve(Resolution::Fixed))
        .unwrap();
    let mut ids = vec![old];

    if page == Page::Hostile {
        clock.set(now() - Duration::hours(1));
        let id = desk
            .open(
                &dana,
                NewIncident::new(
                    "hostile",
                    Severity::High,
                    "online shop",
                    Source::StaffReport,
                )
                .unwrap(),
            )
            .unwrap()
            .id;
        desk.act(
            id,
            &dana,
            Command::public_title(Some(HOSTILE_TITLE)).unwrap(),
        )
        .unwrap();
        desk.act(id, &dana, Command::customer_update(HOSTILE_UPDATE).unwrap())
            .unwrap();
        clock.set(now());
        ids.push(id);
        return ids;
    }

    clock.set(now() - Duration::hours(2));
    let slow = desk
        .open(
            &dana,
            NewIncident::new(
                "Checkout latency p99 > 5 s",
                Severity::High,
                "online shop",
                Source::Alert,
            )
            .unwrap(),
        )
        .unwrap()
        .id;
    ids.push(slow);
    desk.act(slow, &dana, Command::Acknowledge).unwrap();
    desk.act(
        slow,
        &dana,
        Command::public_title(Some(text(
            "Checkout is slow",
            "התשלום באתר איטי (Visa ו־Mastercard)",
        )))
        .unwrap(),
    )
    .unwrap();
    desk.act(
        slow,
        &dana,
        Command::customer_update(text(
            "Some orders take a minute to go through. We are looking into it.",
            "חלק מההזמנות לוקחות דקה. אנחנו בודקים.",
        ))
        .unwrap(),
    )
    .unwrap();
    clock.advance(Duration::minutes(40));
    desk.act(slow, &dana, Command::identify("a slow query").unwrap())
        .unwrap();
    desk.act(
        slow,
        &dana,
        Command::customer_update(text(
            "We found the cause (a slow database query) and are fixing it.",
            "מצאנו את הסיבה (שאילתה איטית במסד הנתונים) ואנחנו מתקנים.",
        ))
        .unwrap(),
    )
    .unwrap();

    clock.set(now() - Duration::minutes(20));
    let tills = desk
        .open(
            &dana,
            NewIncident::new(
                "Till 2 in branch 14 prints slowly",
                Severity::Medium,
                "POS",
                Source::StaffReport,
            )
            .unwrap(),
        )
        .unwrap()
        .id;
    ids.push(tills);
    clock.set(now());
    ids
}

/// A desk at [`now`] holding `page`'s history, and the page's settings.
fn desk_with_history(
    clock: &ManualClock,
    page: Page,
) -> (Desk<MemoryStore, &ManualClock>, PageSettings) {
    let desk = Desk::new(MemoryStore::new(), clock).unwrap();
    let _ids = history(&desk, clock, page);
    (desk, settings(page))
}

/// The snapshot of `page` at [`now`], as the desk builds it.
pub fn snapshot(page: Page) -> (PageSettings, Snapshot) {
    let clock = ManualClock::new(now() - Duration::days(3));
    let (desk, settings) = desk_with_history(&clock, page);
    let snapshot = desk.status_snapshot(&settings).unwrap();
    assert_eq!(snapshot.at, now());
    (settings, snapshot)
}

/// Publishes `page` with [`Desk::publish_status`] into `target/status-pages/<test>/<name>/`
/// (emptied first; a directory per test, as tests run in parallel) and returns the
/// directory. The browser, which may run as another user, reads it there.
pub fn publish(test: &str, page: Page) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("status-pages")
        .join(test)
        .join(page.name());
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let clock = ManualClock::new(now() - Duration::days(3));
    let (desk, settings) = desk_with_history(&clock, page);
    let published = desk.publish_status(&dir, &settings).unwrap();
    assert_eq!(published.files.len(), 7, "{published:?}");
    dir
}
