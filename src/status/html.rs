//! The page: one self-contained HTML5 file, no script, no external resource.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::text::{Lang, escape_into};
use super::{ComponentStatus, Indicator, Maintenance, PageSettings, PublicIncident, Snapshot};

/// One colour scheme: text and surfaces, then the five statuses (operational, degraded,
/// partial outage, major outage, maintenance). Every colour here is used for text on `bg`
/// and `surface`, so each has a contrast of at least 4.5:1 against both (checked in a test).
#[derive(Debug)]
pub(crate) struct Palette {
    pub(crate) bg: &'static str,
    pub(crate) surface: &'static str,
    pub(crate) fg: &'static str,
    pub(crate) muted: &'static str,
    pub(crate) link: &'static str,
    pub(crate) line: &'static str,
    pub(crate) status: [&'static str; 5],
}

pub(crate) const LIGHT: Palette = Palette {
    bg: "#ffffff",
    surface: "#f3f4f6",
    fg: "#1a1a1a",
    muted: "#4b5563",
    link: "#1d4ed8",
    line: "#d1d5db",
    status: ["#166534", "#854d0e", "#9a3412", "#b91c1c", "#1e40af"],
};

pub(crate) const DARK: Palette = Palette {
    bg: "#111315",
    surface: "#1f2226",
    fg: "#eceff1",
    muted: "#b4bac2",
    link: "#93c5fd",
    line: "#3f444b",
    status: ["#4ade80", "#facc15", "#fb923c", "#f87171", "#93c5fd"],
};

fn vars(p: &Palette) -> String {
    format!(
        "--bg:{};--sf:{};--fg:{};--mu:{};--a:{};--ln:{};--o:{};--d:{};--p:{};--m:{};--u:{}",
        p.bg,
        p.surface,
        p.fg,
        p.muted,
        p.link,
        p.line,
        p.status[0],
        p.status[1],
        p.status[2],
        p.status[3],
        p.status[4]
    )
}

const CSS: &str = "*{box-sizing:border-box}\
body{margin:0;background:var(--bg);color:var(--fg);font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,'Noto Sans','Noto Sans Hebrew',Arial,sans-serif}\
header,main,footer{max-width:52rem;margin:0 auto;padding:0 1rem}\
h1{font-size:1.75rem;margin:1.5rem 0 .75rem}h2{font-size:1.3rem;margin:2rem 0 .75rem}\
h3{font-size:1.1rem;margin:1.25rem 0 .25rem}h4{font-size:1rem;margin:.75rem 0 .25rem}\
p{margin:.25rem 0}a{color:var(--a)}\
.banner{background:var(--sf);border-inline-start:.4rem solid;padding:.75rem 1rem;font-size:1.2rem;font-weight:600}\
.s0{color:var(--o)}.s1{color:var(--d)}.s2{color:var(--p)}.s3{color:var(--m)}.s4{color:var(--u)}\
.banner span,.st span{font-weight:700}\
.card{background:var(--sf);padding:.5rem 1rem .75rem;margin:.75rem 0;border-radius:.4rem}\
.up{list-style:none;padding:0;margin:.5rem 0}.up li{margin:.5rem 0}\
.meta,footer,.mu{color:var(--mu);font-size:.9rem}\
.bars{display:flex;gap:1px;list-style:none;padding:0;margin:.5rem 0 .25rem;height:2rem}\
.bars li{flex:1;background:var(--o);border-radius:1px;position:relative}\
.bars .d{background:var(--d)}.bars .p{background:var(--p)}.bars .m{background:var(--m)}\
.bars .u{background:var(--u)}.bars .n{background:var(--ln)}\
.bars i{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}\
footer{margin-top:2.5rem;padding-bottom:2rem;border-top:1px solid var(--ln);padding-top:1rem}";

/// The glyph shown before a status word (never colour alone), hidden from screen readers
/// (the word follows).
const GLYPHS: [&str; 5] = ["✓", "!", "◐", "✕", "⚙"];

fn status_index(status: ComponentStatus) -> usize {
    match status {
        ComponentStatus::Operational => 0,
        ComponentStatus::DegradedPerformance => 1,
        ComponentStatus::PartialOutage => 2,
        ComponentStatus::MajorOutage => 3,
        ComponentStatus::UnderMaintenance => 4,
    }
}

fn indicator_index(indicator: Indicator) -> usize {
    match indicator {
        Indicator::None => 0,
        Indicator::Minor => 1,
        Indicator::Major => 2,
        Indicator::Critical => 3,
    }
}

fn impact_status(impact: super::Impact) -> ComponentStatus {
    match impact {
        super::Impact::None => ComponentStatus::Operational,
        super::Impact::DegradedPerformance => ComponentStatus::DegradedPerformance,
        super::Impact::PartialOutage => ComponentStatus::PartialOutage,
        super::Impact::MajorOutage => ComponentStatus::MajorOutage,
    }
}

/// The class of a day bar: none for operational (the common case, to keep the page small).
fn bar_class(status: ComponentStatus) -> &'static str {
    match status {
        ComponentStatus::Operational => "",
        ComponentStatus::DegradedPerformance => " class=d",
        ComponentStatus::PartialOutage => " class=p",
        ComponentStatus::MajorOutage => " class=m",
        ComponentStatus::UnderMaintenance => " class=u",
    }
}

struct Page<'a> {
    out: String,
    lang: Lang,
    snapshot: &'a Snapshot,
    settings: &'a PageSettings,
}

impl Page<'_> {
    fn push(&mut self, s: &str) {
        self.out.push_str(s);
    }

    /// Escaped text.
    fn text(&mut self, s: &str) {
        escape_into(&mut self.out, s);
    }

    /// User or host text inline, isolated so that it cannot reorder what is around it.
    fn bdi(&mut self, s: &str) {
        self.out.push_str("<bdi>");
        escape_into(&mut self.out, s);
        self.out.push_str("</bdi>");
    }

    fn time(&mut self, at: DateTime<Utc>) {
        let shown = self.lang.date_time(at);
        self.out.push_str("<time datetime=\"");
        self.out
            .push_str(&at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        self.out.push_str("\">");
        escape_into(&mut self.out, &shown);
        self.out.push_str("</time>");
    }

    fn status_word(&mut self, status: ComponentStatus) {
        let i = status_index(status);
        self.out.push_str("<span class=\"st s");
        self.out.push_str(&i.to_string());
        self.out.push_str("\"><span aria-hidden=\"true\">");
        self.out.push_str(GLYPHS[i]);
        self.out.push_str("</span> ");
        self.out.push_str(self.lang.labels.component(status));
        self.out.push_str("</span>");
    }

    fn component_name(&self, index: usize) -> &str {
        self.snapshot
            .components
            .get(index)
            .map_or("", |c| c.component.name.as_str())
    }

    /// The incident's public title, or the generic line with the component's name isolated.
    fn incident_title(&mut self, incident: &PublicIncident) {
        match &incident.title {
            Some(title) if !title.trim().is_empty() => self.bdi(title),
            _ => {
                let (before, after) = self.lang.labels.generic;
                let name = self.component_name(incident.component).to_owned();
                self.push(before);
                self.bdi(&name);
                self.push(after);
            }
        }
    }

    fn head(&mut self) {
        self.push("<!DOCTYPE html>\n<html lang=\"");
        let tag = self.lang.tag.clone();
        self.text(&tag);
        self.push("\" dir=\"");
        self.push(self.lang.dir.as_str());
        self.push("\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n<meta name=\"color-scheme\" content=\"light dark\">\n<title>");
        let name = self.settings.name.clone();
        self.text(&name);
        self.push(" – ");
        self.push(self.lang.labels.indicator(self.snapshot.indicator));
        self.push("</title>\n<link rel=\"alternate\" type=\"application/atom+xml\" href=\"history.atom\">\n<style>:root{");
        self.push(&vars(&LIGHT));
        self.push("}@media (prefers-color-scheme:dark){:root{");
        self.push(&vars(&DARK));
        self.push("}}");
        self.push(CSS);
        self.push("</style>\n</head>\n<body>\n");
    }

    fn header(&mut self) {
        self.push("<header>\n<h1>");
        let name = self.settings.name.clone();
        self.bdi(&name);
        self.push("</h1>\n<p class=\"banner s");
        let i = indicator_index(self.snapshot.indicator);
        self.push(&i.to_string());
        self.push("\"><span aria-hidden=\"true\">");
        self.push(GLYPHS[i]);
        self.push("</span> ");
        self.push(self.lang.labels.indicator(self.snapshot.indicator));
        self.push("</p>\n<p class=\"meta\">");
        self.push(self.lang.labels.updated);
        self.push(": ");
        self.time(self.snapshot.at);
        self.push("</p>\n</header>\n");
    }

    /// One incident: title, component and impact, status, updates newest first.
    fn incident(&mut self, incident: &PublicIncident, heading: &str) {
        self.push("<article class=\"card\" id=\"i-");
        self.push(&incident.id.to_string());
        self.push("\">\n<");
        self.push(heading);
        self.push(">");
        self.incident_title(incident);
        self.push("</");
        self.push(heading);
        self.push(">\n<p>");
        let component = self.component_name(incident.component).to_owned();
        self.bdi(&component);
        self.push(": ");
        self.status_word(impact_status(incident.impact));
        self.push("</p>\n");
        if let Some(resolved) = incident.resolved_at {
            self.push("<p class=\"meta\">");
            self.push(self.lang.labels.resolved_at);
            self.push(": ");
            self.time(resolved);
            self.push("</p>\n");
        }
        if !incident.updates.is_empty() {
            self.push("<ol class=\"up\">\n");
            for update in &incident.updates {
                self.push("<li><p class=\"meta\"><strong>");
                self.push(self.lang.labels.public(update.status));
                self.push("</strong> · ");
                self.time(update.at);
                self.push("</p>\n<p>");
                let mut first = true;
                for line in update.body.lines() {
                    if !first {
                        self.push("<br>");
                    }
                    first = false;
                    self.text(line);
                }
                self.push("</p></li>\n");
            }
            self.push("</ol>\n");
        }
        self.push("</article>\n");
    }

    fn active(&mut self) {
        if self.snapshot.active.is_empty() {
            return;
        }
        self.push("<section aria-labelledby=\"h-active\">\n<h2 id=\"h-active\">");
        self.push(self.lang.labels.active_incidents);
        self.push("</h2>\n");
        let snapshot = self.snapshot;
        for incident in &snapshot.active {
            self.incident(incident, "h3");
        }
        self.push("</section>\n");
    }

    fn maintenance_list(&mut self, heading: &str, list: &[Maintenance]) {
        self.push("<h3>");
        self.push(heading);
        self.push("</h3>\n<ul>\n");
        for m in list {
            self.push("<li id=\"m-");
            self.text(&m.id);
            self.push("\">");
            self.bdi(&m.title);
            self.push("<br><span class=\"mu\">");
            self.time(m.starts);
            self.push(" ");
            self.push(self.lang.labels.until);
            self.push(" ");
            self.time(m.ends);
            let names: Vec<String> = m
                .services
                .iter()
                .filter_map(|s| {
                    self.settings
                        .components
                        .iter()
                        .find(|c| &c.service == s)
                        .map(|c| c.name.clone())
                })
                .collect();
            for (i, name) in names.iter().enumerate() {
                self.push(if i == 0 { " · " } else { ", " });
                self.bdi(name);
            }
            self.push("</span></li>\n");
        }
        self.push("</ul>\n");
    }

    fn maintenance(&mut self) {
        let snapshot = self.snapshot;
        if snapshot.maintenance_active.is_empty() && snapshot.maintenance_scheduled.is_empty() {
            return;
        }
        self.push("<section aria-labelledby=\"h-maint\">\n<h2 id=\"h-maint\">");
        self.push(self.lang.labels.maintenance);
        self.push("</h2>\n");
        if !snapshot.maintenance_active.is_empty() {
            self.maintenance_list(self.lang.labels.in_progress, &snapshot.maintenance_active);
        }
        if !snapshot.maintenance_scheduled.is_empty() {
            self.maintenance_list(self.lang.labels.scheduled, &snapshot.maintenance_scheduled);
        }
        self.push("</section>\n");
    }

    fn components(&mut self) {
        let snapshot = self.snapshot;
        self.push("<section aria-labelledby=\"h-comp\">\n<h2 id=\"h-comp\">");
        self.push(self.lang.labels.components);
        self.push("</h2>\n");
        for view in &snapshot.components {
            self.push("<div class=\"card\">\n<h3>");
            self.bdi(&view.component.name);
            self.push("</h3>\n<p>");
            self.status_word(view.status);
            self.push("</p>\n");
            if let Some(description) = &view.component.description {
                self.push("<p class=\"mu\">");
                self.bdi(description);
                self.push("</p>\n");
            }
            if !view.days.is_empty() {
                let n = i64::try_from(view.days.len()).unwrap_or(i64::MAX);
                let last = format!(
                    "{}{}{}",
                    self.lang.labels.last_days.0,
                    self.lang.integer(n),
                    self.lang.labels.last_days.1
                );
                self.push("<ol class=\"bars\" aria-label=\"");
                self.text(&last);
                self.push("\">");
                for day in &view.days {
                    if day.counted_seconds <= 0 {
                        self.push("<li class=n><i>");
                        let date = self.lang.short_date(day.date);
                        self.text(&date);
                        self.push(": ");
                        self.push(self.lang.labels.no_data);
                        self.push("</i>");
                        continue;
                    }
                    self.push("<li");
                    self.push(bar_class(day.worst));
                    self.push("><i>");
                    let date = self.lang.short_date(day.date);
                    self.text(&date);
                    self.push(": ");
                    self.push(self.lang.labels.bar(day.worst));
                    self.push(", ");
                    #[allow(clippy::cast_precision_loss)]
                    let up = 1.0 - day.down_seconds as f64 / day.counted_seconds as f64;
                    let pct = self.lang.percent(up, 2);
                    self.text(&pct);
                    self.push("</i>");
                }
                self.push("</ol>\n<p class=\"mu\">");
                let pct = self.lang.percent(view.uptime, 2);
                self.text(&pct);
                self.push(" ");
                self.push(self.lang.labels.uptime);
                self.push(" · ");
                self.text(&last);
                self.push("</p>\n");
            }
            self.push("</div>\n");
        }
        self.push("<h3>");
        self.push(self.lang.labels.how_counted);
        self.push("</h3>\n<p class=\"mu\">");
        self.text(self.lang.labels.formula);
        self.push("</p>\n</section>\n");
    }

    fn history(&mut self) {
        let snapshot = self.snapshot;
        let days = i64::from(self.settings.history_days.max(1));
        let today = snapshot.at.with_timezone(&self.lang.zone).date_naive();
        let oldest = today - Duration::days(days - 1);
        self.push("<section aria-labelledby=\"h-hist\">\n<h2 id=\"h-hist\">");
        self.push(self.lang.labels.history);
        self.push("</h2>\n");
        for back in 0..days {
            let date = today - Duration::days(back);
            let on_day: Vec<&PublicIncident> = snapshot
                .history
                .iter()
                .filter(|i| {
                    let created: NaiveDate =
                        i.created_at.with_timezone(&self.lang.zone).date_naive();
                    created.max(oldest) == date
                })
                .collect();
            self.push("<h3>");
            let shown = self.lang.date(date);
            self.text(&shown);
            self.push("</h3>\n");
            if on_day.is_empty() {
                self.push("<p class=\"mu\">");
                self.push(self.lang.labels.no_incidents);
                self.push("</p>\n");
            }
            for incident in on_day {
                self.incident(incident, "h4");
            }
        }
        self.push("</section>\n");
    }

    fn footer(&mut self) {
        self.push("<footer>\n<p><a href=\"history.atom\">");
        self.push(self.lang.labels.feed);
        self.push("</a></p>\n</footer>\n</body>\n</html>\n");
    }
}

impl Snapshot {
    /// The status page as one self-contained HTML5 file in the language of
    /// `settings.locale` (English and Hebrew shipped; any other language falls back to
    /// English): the overall status, active incidents with their customer updates,
    /// maintenance, each component with its status in words and 90 day bars with their
    /// uptime, the uptime formula, and the incident history.
    ///
    /// The file has no script and fetches nothing (inline CSS, system fonts, text glyphs);
    /// it follows the reader's light or dark preference. Every piece of host and user text is
    /// escaped for HTML text and attributes, bidirectional embedding, override and isolate
    /// controls in it are dropped, and inline values sit in `<bdi>` so that a Hebrew name on
    /// an English page (or the reverse) cannot reorder the text around it.
    ///
    /// The page links to `history.atom` beside it (written by
    /// [`publish`](crate::status::publish)).
    pub fn html(&self, settings: &PageSettings) -> String {
        let mut page = Page {
            out: String::with_capacity(16 * 1024 + self.components.len() * 4096),
            lang: Lang::of(&settings.locale, settings.zone),
            snapshot: self,
            settings,
        };
        page.head();
        page.header();
        page.push("<main>\n");
        page.active();
        page.maintenance();
        page.components();
        page.history();
        page.push("</main>\n");
        page.footer();
        page.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel(c: u8) -> f64 {
        let c = f64::from(c) / 255.0;
        if c <= 0.040_45 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    }

    fn luminance(hex: &str) -> f64 {
        let v = u32::from_str_radix(hex.trim_start_matches('#'), 16).unwrap();
        let [_, r, g, b] = v.to_be_bytes();
        0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
    }

    fn contrast(a: &str, b: &str) -> f64 {
        let (x, y) = (luminance(a), luminance(b));
        let (hi, lo) = if x > y { (x, y) } else { (y, x) };
        (hi + 0.05) / (lo + 0.05)
    }

    #[test]
    fn every_text_colour_has_a_contrast_of_at_least_4_5_in_both_schemes() {
        for palette in [&LIGHT, &DARK] {
            let mut text = vec![palette.fg, palette.muted, palette.link];
            text.extend(palette.status);
            for background in [palette.bg, palette.surface] {
                for colour in &text {
                    let ratio = contrast(colour, background);
                    assert!(
                        ratio >= 4.5,
                        "{colour} on {background}: {ratio:.2}:1 is below 4.5:1"
                    );
                }
            }
            // The bars are graphics: 3:1 against the page (WCAG 1.4.11).
            for colour in palette.status {
                assert!(contrast(colour, palette.surface) >= 3.0);
            }
        }
        assert!((contrast("#000000", "#ffffff") - 21.0).abs() < 1e-9);
    }
}

#[cfg(test)]
mod page_tests {
    use crate::status::text::sample;

    const HOSTILE: [&str; 6] = [
        "<script>alert(1)</script>",
        "\"><img src=x onerror=alert(1)>",
        "' onmouseover='alert(1)",
        "\u{202E}evil\u{202D}",
        "\u{2066}a\u{2067}b\u{2068}c\u{2069}",
        "</bdi></h3><script>",
    ];

    /// The page without its fixed markup, checked for anything a hostile string could add.
    fn assert_inert(html: &str) {
        assert!(!html.to_lowercase().contains("<script"), "script in page");
        assert!(!html.contains("<img"), "img in page");
        for tag in html.split('<').skip(1) {
            let tag = tag.split('>').next().unwrap();
            assert!(!tag.contains("onerror"), "handler attribute in <{tag}>");
            assert!(!tag.contains("onmouseover"), "handler attribute in <{tag}>");
        }
        for c in ['\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}'] {
            assert!(!html.contains(c), "override or embedding {c:?} in page");
        }
        for c in ['\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}'] {
            assert!(!html.contains(c), "isolate control {c:?} in page");
        }
        // Every attribute value is double-quoted and holds no quote of either kind.
        for tag in html.split('<').skip(1) {
            let tag = tag.split('>').next().unwrap();
            let quotes = tag.matches('"').count();
            assert_eq!(quotes % 2, 0, "unbalanced quotes in <{tag}>");
            assert!(!tag.contains('\''), "single quote in <{tag}>");
        }
        assert_eq!(
            html.matches("<bdi>").count(),
            html.matches("</bdi>").count()
        );
    }

    #[test]
    fn hostile_text_is_escaped_everywhere_it_appears() {
        for hostile in HOSTILE {
            for locale in ["en", "he"] {
                let (settings, snapshot) = sample::page(
                    locale,
                    chrono_tz::Asia::Jerusalem,
                    3,
                    hostile,
                    Some(hostile),
                    hostile,
                );
                let html = snapshot.html(&settings);
                assert_inert(&html);
            }
        }
        let (settings, snapshot) =
            sample::page("en", chrono_tz::UTC, 1, "<b>", Some("\"x\" & 'y'"), "a<b");
        let html = snapshot.html(&settings);
        assert!(html.contains("<bdi>&quot;x&quot; &amp; &#39;y&#39;</bdi>"));
        assert!(html.contains("<p>a&lt;b</p>"));
    }

    #[test]
    fn lang_and_dir_follow_the_page_locale() {
        let (settings, snapshot) =
            sample::page("he-IL", chrono_tz::Asia::Jerusalem, 2, "קופה", None, "x");
        let html = snapshot.html(&settings);
        assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"he-IL\" dir=\"rtl\">"));
        assert!(html.contains("השבתה מלאה"));
        assert!(html.contains("פועל כרגיל"));
        // The generic title, since the incident has none.
        assert!(html.contains("תקלה המשפיעה על <bdi>קופה</bdi>"));
        let (settings, snapshot) =
            sample::page("en-GB", chrono_tz::Europe::London, 2, "Till", None, "x");
        let html = snapshot.html(&settings);
        assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"en-GB\" dir=\"ltr\">"));
        assert!(html.contains("Issue affecting <bdi>Till</bdi>"));
        assert!(html.contains(crate::status::UPTIME_FORMULA));
        let (settings, snapshot) =
            sample::page("de", chrono_tz::Europe::Berlin, 1, "Kasse", None, "x");
        assert!(
            snapshot
                .html(&settings)
                .starts_with("<!DOCTYPE html>\n<html lang=\"en\" dir=\"ltr\">")
        );
    }

    #[test]
    fn the_page_is_self_contained() {
        let (settings, snapshot) = sample::page(
            "en",
            chrono_tz::UTC,
            3,
            "Shop",
            None,
            "see https://x.example",
        );
        let html = snapshot.html(&settings);
        for attribute in ["src=", "href=\"http", "href='http", "url(", "@import"] {
            assert!(!html.contains(attribute), "{attribute} in page");
        }
        assert!(html.contains("<meta name=\"color-scheme\" content=\"light dark\">"));
        assert!(html.contains("@media (prefers-color-scheme:dark)"));
        assert_eq!(html.matches("<h1>").count(), 1);
        for landmark in ["<header>", "<main>", "<footer>"] {
            assert_eq!(html.matches(landmark).count(), 1);
        }
    }

    #[test]
    fn twenty_components_with_ninety_days_stay_under_100_kb() {
        for locale in ["en", "he"] {
            let (settings, snapshot) = sample::page(
                locale,
                chrono_tz::Asia::Jerusalem,
                20,
                "Shop",
                Some("Title"),
                "Body",
            );
            let html = snapshot.html(&settings);
            assert!(html.matches("<li").count() >= 20 * 90);
            println!("{locale}: {} bytes", html.len());
            assert!(html.len() < 100 * 1024, "{locale}: {} bytes", html.len());
        }
    }
}
