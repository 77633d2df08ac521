//! The page's words in English and Hebrew, its dates and numbers, and escaping.
//!
//! The labels are a typed table (one `Labels` per language) rather than a Fluent catalog:
//! they are fixed phrases with at most one inserted value, and a table lets the compiler check
//! that both languages have every phrase. Dates and numbers come from ICU4X through
//! [`Formats`] (and a date-only formatter built the same way), never by hand.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;
use icu_datetime::DateTimeFormatter;
use icu_datetime::fieldsets::{MD, YMD};
use icu_datetime::input::Date;
use icu_locale_core::Locale;

use super::{ComponentStatus, Indicator, PublicStatus};
use crate::l10n::{Direction, Formats, direction};

/// The fixed phrases of one language.
#[derive(Debug)]
pub(crate) struct Labels {
    pub(crate) indicator: [&'static str; 4],
    /// Operational, degraded, partial, major, maintenance.
    pub(crate) component: [&'static str; 5],
    /// The same, shorter where the language allows, for the 90 hidden labels of a day bar.
    pub(crate) bar: [&'static str; 5],
    /// Investigating, identified, monitoring, resolved.
    pub(crate) public: [&'static str; 4],
    pub(crate) active_incidents: &'static str,
    pub(crate) maintenance: &'static str,
    pub(crate) in_progress: &'static str,
    pub(crate) scheduled: &'static str,
    pub(crate) components: &'static str,
    pub(crate) history: &'static str,
    pub(crate) no_incidents: &'static str,
    pub(crate) uptime: &'static str,
    pub(crate) how_counted: &'static str,
    pub(crate) formula: &'static str,
    pub(crate) updated: &'static str,
    pub(crate) resolved_at: &'static str,
    pub(crate) no_data: &'static str,
    pub(crate) feed: &'static str,
    pub(crate) until: &'static str,
    /// The generic title of an incident without a public title: before and after the
    /// component's name.
    pub(crate) generic: (&'static str, &'static str),
    /// "Last N days": before and after the number.
    pub(crate) last_days: (&'static str, &'static str),
}

pub(crate) static EN: Labels = Labels {
    indicator: [
        "All systems operational",
        "Some systems are degraded",
        "Partial system outage",
        "Major system outage",
    ],
    component: [
        "Operational",
        "Degraded performance",
        "Partial outage",
        "Major outage",
        "Under maintenance",
    ],
    bar: [
        "Operational",
        "Degraded performance",
        "Partial outage",
        "Major outage",
        "Maintenance",
    ],
    public: ["Investigating", "Identified", "Monitoring", "Resolved"],
    active_incidents: "Current incidents",
    maintenance: "Maintenance",
    in_progress: "In progress",
    scheduled: "Scheduled",
    components: "Components",
    history: "Past incidents",
    no_incidents: "No incidents reported.",
    uptime: "uptime",
    how_counted: "How uptime is counted",
    formula: super::UPTIME_FORMULA,
    updated: "Last updated",
    resolved_at: "Resolved",
    no_data: "no data",
    feed: "Incident history feed (Atom)",
    until: "until",
    generic: ("Issue affecting ", ""),
    last_days: ("Last ", " days"),
};

pub(crate) static HE: Labels = Labels {
    indicator: [
        "כל המערכות פועלות",
        "חלק מהמערכות פועלות בביצועים ירודים",
        "תקלה חלקית במערכות",
        "השבתה מלאה במערכות",
    ],
    component: [
        "פועל כרגיל",
        "ביצועים ירודים",
        "תקלה חלקית",
        "השבתה מלאה",
        "בתחזוקה",
    ],
    bar: [
        "תקין",
        "ביצועים ירודים",
        "תקלה חלקית",
        "השבתה מלאה",
        "תחזוקה",
    ],
    public: ["בבדיקה", "הבעיה אותרה", "במעקב", "נפתרה"],
    active_incidents: "תקלות פעילות",
    maintenance: "תחזוקה",
    in_progress: "מתבצעת עכשיו",
    scheduled: "מתוכננת",
    components: "רכיבים",
    history: "תקלות קודמות",
    no_incidents: "לא דווחו תקלות.",
    uptime: "זמינות",
    how_counted: "איך מחושבת הזמינות",
    formula: "זמינות = 1 − (שניות של השבתה מלאה או תקלה חלקית) ÷ (כל השניות בתקופה); ביצועים ירודים ותחזוקה שהודעה עליה מראש נחשבים כזמינות",
    updated: "עודכן לאחרונה",
    resolved_at: "נפתרה",
    no_data: "אין נתונים",
    feed: "הזנת היסטוריית התקלות (Atom)",
    until: "עד",
    generic: ("תקלה המשפיעה על ", ""),
    last_days: ("", " הימים האחרונים"),
};

impl Labels {
    pub(crate) fn indicator(&self, indicator: Indicator) -> &'static str {
        self.indicator[match indicator {
            Indicator::None => 0,
            Indicator::Minor => 1,
            Indicator::Major => 2,
            Indicator::Critical => 3,
        }]
    }

    pub(crate) fn component(&self, status: ComponentStatus) -> &'static str {
        self.component[match status {
            ComponentStatus::Operational => 0,
            ComponentStatus::DegradedPerformance => 1,
            ComponentStatus::PartialOutage => 2,
            ComponentStatus::MajorOutage => 3,
            ComponentStatus::UnderMaintenance => 4,
        }]
    }

    pub(crate) fn bar(&self, status: ComponentStatus) -> &'static str {
        self.bar[match status {
            ComponentStatus::Operational => 0,
            ComponentStatus::DegradedPerformance => 1,
            ComponentStatus::PartialOutage => 2,
            ComponentStatus::MajorOutage => 3,
            ComponentStatus::UnderMaintenance => 4,
        }]
    }

    pub(crate) fn public(&self, status: PublicStatus) -> &'static str {
        self.public[match status {
            PublicStatus::Investigating => 0,
            PublicStatus::Identified => 1,
            PublicStatus::Monitoring => 2,
            PublicStatus::Resolved => 3,
        }]
    }

    /// The generic title of an incident on `component` (its public name).
    pub(crate) fn generic_title(&self, component: &str) -> String {
        format!("{}{component}{}", self.generic.0, self.generic.1)
    }
}

/// The language a page is written in: its labels, formats, `lang` and `dir`.
#[derive(Debug)]
pub(crate) struct Lang {
    pub(crate) labels: &'static Labels,
    /// The canonical tag for `lang` (only letters, digits and `-`).
    pub(crate) tag: String,
    pub(crate) dir: Direction,
    formats: Option<Formats>,
    dates: Option<DateTimeFormatter<YMD>>,
    short_dates: Option<DateTimeFormatter<MD>>,
    pub(crate) zone: Tz,
}

impl Lang {
    /// The page's language for the host's `locale`: Hebrew for `he` (or the old `iw`),
    /// English otherwise. A locale whose labels are not shipped falls back to English as a
    /// whole (words, dates and numbers), so the page is in one language.
    pub(crate) fn of(locale: &str, zone: Tz) -> Lang {
        let parsed = Locale::try_from_str(&locale.replace('_', "-")).ok();
        let language = parsed
            .as_ref()
            .map(|l| l.id.language.as_str().to_owned())
            .unwrap_or_default();
        let hebrew = matches!(language.as_str(), "he" | "iw");
        let labels: &'static Labels = if hebrew { &HE } else { &EN };
        let tag = match parsed {
            Some(locale) if hebrew || language == "en" => locale.to_string(),
            _ if hebrew => "he".to_owned(),
            _ => "en".to_owned(),
        };
        // A canonical BCP 47 tag is letters, digits and hyphens; check anyway, since it goes
        // into an attribute.
        let tag = if tag.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            tag
        } else {
            "en".to_owned()
        };
        let formats = Formats::new(&tag);
        let dates = Locale::try_from_str(&tag)
            .ok()
            .and_then(|l| DateTimeFormatter::try_new((&l).into(), YMD::medium()).ok());
        let short_dates = Locale::try_from_str(&tag)
            .ok()
            .and_then(|l| DateTimeFormatter::try_new((&l).into(), MD::medium()).ok());
        Lang {
            labels,
            dir: direction(&tag),
            tag,
            formats,
            dates,
            short_dates,
            zone,
        }
    }

    /// An instant as a date and time in the page's zone.
    pub(crate) fn date_time(&self, at: DateTime<Utc>) -> String {
        match &self.formats {
            Some(f) => f.date_time(at, self.zone),
            None => at
                .with_timezone(&self.zone)
                .format("%Y-%m-%d %H:%M")
                .to_string(),
        }
    }

    /// A calendar date with its year.
    pub(crate) fn date(&self, date: NaiveDate) -> String {
        let (y, m, d) = ymd(date);
        match (&self.dates, Date::try_new_iso(y, m, d)) {
            (Some(f), Ok(d)) => f.format(&d).to_string(),
            _ => date.format("%Y-%m-%d").to_string(),
        }
    }

    /// A calendar date without its year (for the day bars).
    pub(crate) fn short_date(&self, date: NaiveDate) -> String {
        let (y, m, d) = ymd(date);
        match (&self.short_dates, Date::try_new_iso(y, m, d)) {
            (Some(f), Ok(d)) => f.format(&d).to_string(),
            _ => date.format("%m-%d").to_string(),
        }
    }

    /// An integer in the page's digits.
    pub(crate) fn integer(&self, n: i64) -> String {
        match &self.formats {
            Some(f) => f.integer(n),
            None => n.to_string(),
        }
    }

    /// A fraction in 0..=1 as a percentage with up to `digits` decimals, rounded down (so
    /// 99.999% never shows as 100%), with `%`.
    pub(crate) fn percent(&self, fraction: f64, digits: u32) -> String {
        let ascii = percent_ascii(fraction, digits);
        let number = match &self.formats {
            Some(f) => f.decimal(&ascii).unwrap_or(ascii),
            None => ascii,
        };
        format!("{number}%")
    }
}

/// A fraction as a percentage in ASCII, rounded down to `digits` decimals, trailing zeros
/// dropped (`0.99954` → `99.95`, `1.0` → `100`). Out of range or NaN is clamped to 0..=100.
pub(crate) fn percent_ascii(fraction: f64, digits: u32) -> String {
    let fraction = if fraction.is_nan() {
        0.0
    } else {
        fraction.clamp(0.0, 1.0)
    };
    let scale = 10_i64.pow(digits);
    // Hundredths of a percent, rounded down; in 0..=100 * scale, so the cast is exact.
    #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
    let units = ((fraction * 100.0 * scale as f64) + 1e-9).floor() as i64;
    let whole = units / scale;
    let part = units % scale;
    if part == 0 || digits == 0 {
        return whole.to_string();
    }
    let mut part = format!("{part:0width$}", width = digits as usize);
    while part.ends_with('0') {
        part.pop();
    }
    format!("{whole}.{part}")
}

/// A chrono date's year, month (1–12) and day (1–31); the fallbacks are never taken and
/// would only make ICU4X refuse the date (then ISO 8601 is shown).
fn ymd(date: NaiveDate) -> (i32, u8, u8) {
    (
        date.year(),
        u8::try_from(date.month()).unwrap_or(0),
        u8::try_from(date.day()).unwrap_or(0),
    )
}

// Host or user text may not carry bidi embeddings, overrides or isolates into the page, nor
// control characters: the crate's one escaper drops them (see `crate::html_escape`).
pub(crate) use crate::html_escape::{escape_into, is_bidi_control};

/// `text` escaped as by [`escape_into`].
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    escape_into(&mut out, text);
    out
}

/// `text` without bidirectional controls or other control characters (except line feed), for
/// JSON and plain text.
pub(crate) fn clean(text: &str) -> String {
    text.chars()
        .filter(|&c| c == '\n' || !(c.is_control() || is_bidi_control(c)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_round_down_and_drop_zeros() {
        assert_eq!(percent_ascii(1.0, 2), "100");
        assert_eq!(percent_ascii(0.99954, 2), "99.95");
        assert_eq!(percent_ascii(0.99999, 2), "99.99");
        assert_eq!(percent_ascii(0.5, 2), "50");
        assert_eq!(percent_ascii(0.905, 2), "90.5");
        assert_eq!(percent_ascii(f64::NAN, 2), "0");
        assert_eq!(percent_ascii(2.0, 2), "100");
        assert_eq!(percent_ascii(0.0, 2), "0");
    }

    #[test]
    fn escaping_covers_text_and_attributes_and_drops_bidi_controls() {
        assert_eq!(
            escape("<a href='x' title=\"y\">&\u{202E}\u{2066}z\u{2069}\u{200F}"),
            "&lt;a href=&#39;x&#39; title=&quot;y&quot;&gt;&amp;z\u{200F}"
        );
        assert_eq!(clean("a\u{202E}b\u{0}c\nd"), "abc\nd");
    }

    /// Undoes [`escape`]'s references (for the round-trip property).
    fn unescape(s: &str) -> String {
        s.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&")
    }

    proptest::proptest! {
        /// Escaped text holds no markup character and no bidi control, and unescaping it
        /// gives back the text without its controls.
        #[test]
        fn escaping_round_trips_and_leaves_no_markup(text in "(.|[<>&\"'\u{202A}-\u{202E}\u{2066}-\u{2069}\n])*") {
            let escaped = escape(&text);
            proptest::prop_assert!(!escaped.contains(['<', '>', '"', '\'']));
            proptest::prop_assert!(!escaped.chars().any(is_bidi_control));
            let expected: String = text
                .chars()
                .filter(|&c| c == '\n' || c == '\t' || !(c.is_control() || is_bidi_control(c) || c == '\u{FFFE}' || c == '\u{FFFF}'))
                .collect();
            proptest::prop_assert_eq!(unescape(&escaped), expected);
        }
    }

    #[test]
    fn languages_fall_back_to_english_as_a_whole() {
        let he = Lang::of("he-IL", chrono_tz::Asia::Jerusalem);
        assert_eq!(he.tag, "he-IL");
        assert_eq!(he.dir, Direction::RightToLeft);
        assert_eq!(he.labels.uptime, HE.uptime);
        let fr = Lang::of("fr", chrono_tz::Europe::Paris);
        assert_eq!(fr.tag, "en");
        assert_eq!(fr.dir, Direction::LeftToRight);
        let junk = Lang::of("\"><script>", chrono_tz::UTC);
        assert_eq!(junk.tag, "en");
        let date = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        assert_eq!(Lang::of("en", chrono_tz::UTC).date(date), "Dec 3, 2026");
        assert_eq!(Lang::of("en", chrono_tz::UTC).short_date(date), "Dec 3");
        assert_eq!(Lang::of("en", chrono_tz::UTC).percent(0.99954, 2), "99.95%");
    }
}

/// Hand-built settings and snapshots for the renderers' unit tests.
#[cfg(test)]
pub(crate) mod sample {
    use chrono::{DateTime, Duration, TimeZone, Utc};
    use chrono_tz::Tz;

    use crate::IncidentId;
    use crate::model::Service;
    use crate::status::{
        Component, ComponentStatus, ComponentView, Day, Impact, Indicator, Maintenance,
        PageSettings, PublicIncident, PublicStatus, PublicUpdate, Snapshot,
    };

    pub(crate) fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 3, 10, 30, 0).unwrap()
    }

    /// `components` components (the first named `name`), 90 days of bars each with a bad
    /// day now and then, one active incident with `title` and `body`, one resolved, and one
    /// maintenance in progress and one scheduled.
    pub(crate) fn page(
        locale: &str,
        zone: Tz,
        components: usize,
        name: &str,
        title: Option<&str>,
        body: &str,
    ) -> (PageSettings, Snapshot) {
        let mut settings = PageSettings::new(
            "shop.example",
            name,
            "https://status.shop.example/",
            locale,
            zone,
        );
        let at = now();
        let today = at.with_timezone(&zone).date_naive();
        let mut views = Vec::new();
        for c in 0..components {
            let service = Service::new(format!("service {c}")).unwrap();
            let component_name = if c == 0 {
                name.to_owned()
            } else {
                format!("Component {c}")
            };
            let component = Component::new(service, &component_name).with_description(name);
            settings = settings.component(component.clone());
            let days = (0..90)
                .map(|d| {
                    let date = today - Duration::days(89 - d);
                    let (worst, down) = match (d + i64::try_from(c).unwrap()) % 23 {
                        0 => (ComponentStatus::MajorOutage, 3600),
                        5 => (ComponentStatus::PartialOutage, 600),
                        11 => (ComponentStatus::DegradedPerformance, 0),
                        17 => (ComponentStatus::UnderMaintenance, 0),
                        _ => (ComponentStatus::Operational, 0),
                    };
                    Day {
                        date,
                        worst,
                        down_seconds: down,
                        counted_seconds: if d == 89 { 37_800 } else { 86_400 },
                    }
                })
                .collect();
            views.push(ComponentView {
                component,
                status: if c == 0 {
                    ComponentStatus::MajorOutage
                } else {
                    ComponentStatus::Operational
                },
                days,
                uptime: 0.99954,
            });
        }
        let update = |minutes: i64, status, body: &str| PublicUpdate {
            at: at - Duration::minutes(minutes),
            status,
            body: body.to_owned(),
        };
        let active = PublicIncident {
            id: IncidentId::new_v7(at - Duration::hours(1)),
            title: title.map(str::to_owned),
            component: 0,
            impact: Impact::MajorOutage,
            status: PublicStatus::Identified,
            created_at: at - Duration::hours(1),
            updated_at: at - Duration::minutes(10),
            resolved_at: None,
            updates: vec![
                update(10, PublicStatus::Identified, body),
                update(50, PublicStatus::Investigating, "first\nsecond line"),
            ],
        };
        let resolved = PublicIncident {
            id: IncidentId::new_v7(at - Duration::days(3)),
            title: None,
            component: components.saturating_sub(1),
            impact: Impact::PartialOutage,
            status: PublicStatus::Resolved,
            created_at: at - Duration::days(3),
            updated_at: at - Duration::days(3) + Duration::hours(2),
            resolved_at: Some(at - Duration::days(3) + Duration::hours(2)),
            updates: vec![update(3 * 1440 - 120, PublicStatus::Resolved, body)],
        };
        let maintenance = |id: &str, starts: i64| Maintenance {
            id: id.to_owned(),
            title: name.to_owned(),
            services: vec![Service::new("service 0").unwrap()],
            starts: at + Duration::hours(starts),
            ends: at + Duration::hours(starts + 2),
        };
        let snapshot = Snapshot {
            at,
            indicator: Indicator::Critical,
            components: views,
            active: vec![active],
            history: vec![resolved],
            maintenance_active: vec![maintenance("now", -1)],
            maintenance_scheduled: vec![maintenance("later", 24)],
        };
        (settings, snapshot)
    }
}
