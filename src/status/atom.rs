//! The incident history as an Atom 1.0 feed (RFC 4287): `history.atom`.

use chrono::{DateTime, SecondsFormat, Utc};
use uuid::Uuid;

use super::statuspage::fnv1a;
use super::text::{Lang, escape, escape_into};
use super::{Maintenance, PageSettings, PublicIncident, Snapshot};

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A stable UUID (version 8, "custom") for a maintenance window: a hash of the page's id and
/// the window's id, so that the entry keeps its id across publishes.
fn maintenance_uuid(page: &str, id: &str) -> Uuid {
    let key = format!("{page}\u{0}{id}");
    let hi = fnv1a(key.as_bytes(), 0x6d61_696e_7465_6e61);
    let lo = fnv1a(key.as_bytes(), 0x6e63_6520_7769_6e64);
    let mut bytes = [0_u8; 16];
    bytes[..8].copy_from_slice(&hi.to_be_bytes());
    bytes[8..].copy_from_slice(&lo.to_be_bytes());
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    Uuid::from_bytes(bytes)
}

/// The page's address joined with `rest` (`https://status.example/` + `history.atom`); a
/// relative reference when the host gave no address.
fn link(base: &str, rest: &str) -> String {
    let base = base.trim();
    if base.is_empty() {
        return if rest.is_empty() {
            "index.html".to_owned()
        } else {
            rest.to_owned()
        };
    }
    let mut out = base.to_owned();
    if !out.ends_with('/') && !rest.is_empty() && !rest.starts_with('#') {
        out.push('/');
    }
    out.push_str(rest);
    out
}

struct Feed<'a> {
    out: String,
    lang: Lang,
    settings: &'a PageSettings,
    snapshot: &'a Snapshot,
}

impl Feed<'_> {
    fn element(&mut self, name: &str, value: &str) {
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
        escape_into(&mut self.out, value);
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }

    fn incident(&mut self, incident: &PublicIncident) {
        let component = self
            .snapshot
            .components
            .get(incident.component)
            .map_or("", |c| c.component.name.as_str());
        let title = match &incident.title {
            Some(t) if !t.trim().is_empty() => t.clone(),
            _ => self.lang.labels.generic_title(component),
        };
        // The content is HTML, itself escaped into the XML text.
        let mut html = String::new();
        html.push_str("<p>");
        escape_into(&mut html, component);
        html.push_str(": ");
        html.push_str(self.lang.labels.public(incident.status));
        html.push_str("</p>");
        for update in &incident.updates {
            html.push_str("<p><strong>");
            html.push_str(self.lang.labels.public(update.status));
            html.push_str("</strong> · ");
            escape_into(&mut html, &self.lang.date_time(update.at));
            html.push_str("<br>");
            escape_into(&mut html, &update.body.replace('\n', " "));
            html.push_str("</p>");
        }
        self.out.push_str("<entry>\n");
        self.element("id", &format!("urn:uuid:{}", incident.id));
        self.element("title", &title);
        self.element("published", &stamp(incident.created_at));
        self.element("updated", &stamp(incident.updated_at));
        let href = link(&self.settings.url, &format!("#i-{}", incident.id));
        self.out
            .push_str("<link rel=\"alternate\" type=\"text/html\" href=\"");
        escape_into(&mut self.out, &href);
        self.out.push_str("\"/>\n<content type=\"html\">");
        escape_into(&mut self.out, &html);
        self.out.push_str("</content>\n</entry>\n");
    }

    fn maintenance(&mut self, m: &Maintenance) {
        let mut text = String::new();
        text.push_str(&self.lang.date_time(m.starts));
        text.push(' ');
        text.push_str(self.lang.labels.until);
        text.push(' ');
        text.push_str(&self.lang.date_time(m.ends));
        self.out.push_str("<entry>\n");
        self.element(
            "id",
            &format!("urn:uuid:{}", maintenance_uuid(&self.settings.id, &m.id)),
        );
        let title = format!("{}: {}", self.lang.labels.maintenance, m.title);
        self.element("title", &title);
        self.element("published", &stamp(m.starts.min(self.snapshot.at)));
        self.element("updated", &stamp(m.starts.min(self.snapshot.at)));
        let href = link(&self.settings.url, "");
        self.out
            .push_str("<link rel=\"alternate\" type=\"text/html\" href=\"");
        escape_into(&mut self.out, &href);
        self.out.push_str("\"/>\n");
        self.element("content", &text);
        self.out.push_str("</entry>\n");
    }
}

impl Snapshot {
    /// The history as an Atom 1.0 feed (RFC 4287), for `history.atom` beside the page: one
    /// entry per active and recent incident (id `urn:uuid:` and the incident's id, its public
    /// title or the generic line, its customer updates as escaped HTML content) and one per
    /// maintenance window in progress or announced (a stable `urn:uuid:` derived from the
    /// page's and the window's ids).
    ///
    /// Everything is XML-escaped, and bidirectional and other control characters (which XML
    /// 1.0 does not allow) are dropped.
    pub fn atom(&self, settings: &PageSettings) -> String {
        let lang = Lang::of(&settings.locale, settings.zone);
        let mut feed = Feed {
            out: String::with_capacity(4096),
            settings,
            snapshot: self,
            lang,
        };
        feed.out
            .push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"");
        feed.out.push_str(&escape(&feed.lang.tag));
        feed.out.push_str("\">\n");
        let self_link = link(&settings.url, "history.atom");
        let id = if settings.url.trim().starts_with("http") {
            self_link.clone()
        } else {
            format!(
                "urn:uuid:{}",
                maintenance_uuid(&settings.id, "\u{0}history.atom")
            )
        };
        feed.element("id", &id);
        feed.element("title", &settings.name);
        feed.element("updated", &stamp(self.at));
        feed.out
            .push_str("<link rel=\"self\" type=\"application/atom+xml\" href=\"");
        escape_into(&mut feed.out, &self_link);
        feed.out
            .push_str("\"/>\n<link rel=\"alternate\" type=\"text/html\" href=\"");
        escape_into(&mut feed.out, &link(&settings.url, ""));
        feed.out.push_str("\"/>\n<author>\n");
        feed.element("name", &settings.name);
        feed.out.push_str("</author>\n");
        for incident in self.active.iter().chain(&self.history) {
            feed.incident(incident);
        }
        for m in self
            .maintenance_active
            .iter()
            .chain(&self.maintenance_scheduled)
        {
            feed.maintenance(m);
        }
        feed.out.push_str("</feed>\n");
        feed.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maintenance_ids_are_stable_version_8_uuids() {
        let a = maintenance_uuid("shop", "db-upgrade");
        assert_eq!(a, maintenance_uuid("shop", "db-upgrade"));
        assert_ne!(a, maintenance_uuid("shop", "db-upgrade2"));
        assert_eq!(a.get_version_num(), 8);
    }

    #[test]
    fn links_join_the_page_address() {
        assert_eq!(
            link("https://s.example", "history.atom"),
            "https://s.example/history.atom"
        );
        assert_eq!(link("https://s.example/", "#i-1"), "https://s.example/#i-1");
        assert_eq!(link("", ""), "index.html");
    }
}

#[cfg(test)]
mod feed_tests {
    use crate::status::text::sample;

    /// A small well-formedness check of our own output: tags balance, every `&` starts an
    /// entity, no `<` in text.
    fn assert_well_formed(xml: &str) {
        let body = xml
            .strip_prefix("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n")
            .unwrap();
        let mut stack: Vec<&str> = Vec::new();
        for piece in body.split('<').skip(1) {
            let (tag, text) = piece.split_once('>').unwrap();
            assert!(!text.contains('>'), "raw > in text {text:?}");
            for (i, _) in text.match_indices('&') {
                let rest = &text[i..];
                assert!(
                    ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"]
                        .iter()
                        .any(|e| rest.starts_with(e)),
                    "bare & in {text:?}"
                );
            }
            let name = tag
                .trim_start_matches('/')
                .split([' ', '/'])
                .next()
                .unwrap();
            if tag.starts_with('/') {
                assert_eq!(stack.pop(), Some(name));
            } else if !tag.ends_with('/') {
                stack.push(name);
            }
        }
        assert!(stack.is_empty(), "unclosed {stack:?}");
    }

    #[test]
    fn the_feed_is_well_formed_atom_with_one_entry_per_incident_and_window() {
        for hostile in ["<script>&amp;\"'", "\u{202E}x\u{1}", "]]>"] {
            let (settings, snapshot) = sample::page(
                "he",
                chrono_tz::Asia::Jerusalem,
                2,
                hostile,
                Some(hostile),
                hostile,
            );
            let xml = snapshot.atom(&settings);
            assert_well_formed(&xml);
            assert!(!xml.contains('\u{202E}') && !xml.contains('\u{1}'));
            assert!(xml.contains("<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"he\">"));
            assert_eq!(xml.matches("<entry>").count(), 4);
            for id in snapshot
                .active
                .iter()
                .chain(&snapshot.history)
                .map(|i| i.id)
            {
                assert!(xml.contains(&format!("<id>urn:uuid:{id}</id>")));
            }
            assert!(xml.contains("<link rel=\"self\" type=\"application/atom+xml\" href=\"https://status.shop.example/history.atom\"/>"));
            assert!(xml.contains("<updated>2026-12-03T10:30:00Z</updated>"));
            assert!(xml.contains("<content type=\"html\">&lt;p&gt;"));
        }
    }
}
