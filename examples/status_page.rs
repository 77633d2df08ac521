//! The seed's web shop during its DDoS incident, as its public status page, in Hebrew and
//! English.
//!
//! Friday 27 November 2026, 19:02 in Jerusalem: since 18:55 the online shop has been failing
//! under a DDoS attack. The owner has given the incident a public title and posted two
//! customer updates; the website itself is slow, payments and the shop's tills are fine, and a
//! database upgrade is announced for Sunday night. The page is written into
//! `target/status-page/he/` and `target/status-page/en/` (each: `index.html`, `api/v2/*.json`,
//! `history.atom`), one desk per language, as a shop would run one page per language.
//!
//! ```text
//! cargo run --example status_page --features status
//! ```

use std::path::PathBuf;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use incidents::status::{Component, Impact, Maintenance, PageSettings};
use incidents::{
    Actor, Command, Desk, ManualClock, MemoryStore, NewIncident, Role, Service, Severity, Source,
};

/// The shop's time zone (the seed is an Israeli article).
const SHOP: chrono_tz::Tz = chrono_tz::Asia::Jerusalem;

/// The words of one page.
struct Words {
    locale: &'static str,
    shop: &'static str,
    components: [(&'static str, &'static str); 4],
    public_title: &'static str,
    first_update: &'static str,
    second_update: &'static str,
    maintenance: &'static str,
}

const HEBREW: Words = Words {
    locale: "he-IL",
    shop: "ארומה – החנות המקוונת",
    components: [
        ("online shop", "חנות וקופה מקוונת"),
        ("website", "אתר"),
        ("payments", "תשלומים"),
        ("POS", "קופות בסניפים"),
    ],
    public_title: "החנות המקוונת אינה זמינה",
    first_update: "אנחנו יודעים שהתשלום באתר נכשל ובודקים את הסיבה.",
    second_update: "זיהינו מתקפת DDoS על האתר והפעלנו סינון תעבורה. ההזמנות שלכם שמורות.",
    maintenance: "שדרוג מסד הנתונים של החנות",
};

const ENGLISH: Words = Words {
    locale: "en",
    shop: "Aroma online shop",
    components: [
        ("online shop", "Shop and checkout"),
        ("website", "Website"),
        ("payments", "Payments"),
        ("POS", "Store tills"),
    ],
    public_title: "The online shop is down",
    first_update: "We know that checkout is failing and are looking into it.",
    second_update: "We found a DDoS attack on the site and switched on traffic filtering. Your orders are safe.",
    maintenance: "Shop database upgrade",
};

fn at(date: NaiveDate, h: u32, m: u32) -> Result<DateTime<Utc>, Box<dyn std::error::Error>> {
    let local = date.and_time(NaiveTime::from_hms_opt(h, m, 0).ok_or("no such time")?);
    Ok(local
        .and_local_timezone(SHOP)
        .earliest()
        .ok_or("no such local time")?
        .to_utc())
}

fn page(words: &Words, out: PathBuf) -> Result<(), Box<dyn std::error::Error>> {
    let friday = NaiveDate::from_ymd_opt(2026, 11, 27).ok_or("no such date")?;
    let clock = ManualClock::new(at(friday, 18, 55)?);
    let desk = Desk::new(MemoryStore::new(), &clock)?;
    let shimon = Actor::new("shimon@aroma.example", "Shimon", Role::Owner)?;

    let mut settings = PageSettings::new(
        "status.aroma.example",
        words.shop,
        "https://status.aroma.example/",
        words.locale,
        SHOP,
    );
    for (service, name) in words.components {
        settings = settings.component(Component::new(Service::new(service)?, name));
    }
    let sunday = friday + Duration::days(2);
    settings = settings.maintenance(Maintenance::new(
        "db-upgrade-2026-11-29",
        words.maintenance,
        vec![Service::new("online shop")?, Service::new("payments")?],
        at(sunday, 23, 0)?,
        at(sunday + Duration::days(1), 1, 0)?,
    ));

    // 18:55: the shop is down (critical: a major outage).
    let shop = desk.open(
        &shimon,
        NewIncident::new(
            "Checkout crashes (DDoS)",
            Severity::Critical,
            "online shop",
            Source::CustomerReport,
        )?,
    )?;
    desk.act(
        shop.id,
        &shimon,
        Command::public_title(Some(words.public_title))?,
    )?;
    clock.advance(Duration::minutes(3));
    desk.act(shop.id, &shimon, Command::Acknowledge)?;
    desk.act(
        shop.id,
        &shimon,
        Command::customer_update(words.first_update)?,
    )?;
    // 18:57: the website is slow too (medium would be degraded; said explicitly here).
    clock.advance(Duration::minutes(2));
    let site = desk.open(
        &shimon,
        NewIncident::new("Website slow", Severity::Medium, "website", Source::Alert)?,
    )?;
    desk.act(
        site.id,
        &shimon,
        Command::set_impact(Some(Impact::DegradedPerformance)),
    )?;
    clock.advance(Duration::minutes(4));
    desk.act(
        shop.id,
        &shimon,
        Command::identify("server overload from a DDoS attack")?,
    )?;
    desk.act(
        shop.id,
        &shimon,
        Command::customer_update(words.second_update)?,
    )?;
    clock.advance(Duration::minutes(2));

    let published = desk.publish_status(&out, &settings)?;
    println!("{} ({}):", words.shop, words.locale);
    for file in &published.files {
        println!("  {:>7} bytes  {}", file.bytes, file.path.display());
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"),
        PathBuf::from,
    );
    let root = target.join("status-page");
    page(&HEBREW, root.join("he"))?;
    page(&ENGLISH, root.join("en"))?;
    Ok(())
}
