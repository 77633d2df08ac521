//! RFC 4287 checks of an Atom feed, on a `roxmltree` parse: what the RFC requires of a feed
//! and its entries (ids that are IRIs, RFC 3339 dates, titles, authors, the self link, at most
//! one alternate link per type and language).
#![allow(dead_code)] // Not every test binary uses every check.

use std::collections::HashSet;

use roxmltree::{Document, Node};

/// The Atom namespace.
pub const ATOM: &str = "http://www.w3.org/2005/Atom";

fn atom<'a, 'i>(node: Node<'a, 'i>, name: &'static str) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children()
        .filter(move |c| c.is_element() && c.tag_name().namespace() == Some(ATOM))
        .filter(move |c| c.tag_name().name() == name)
}

/// Whether `text` is an absolute IRI: a scheme, a colon, and no spaces or controls.
pub fn is_iri(text: &str) -> bool {
    let Some((scheme, rest)) = text.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        && !rest.is_empty()
        && !text.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Whether `text` is an RFC 3339 date-time (Atom's Date construct: `T`, seconds, an offset).
pub fn is_rfc3339(text: &str) -> bool {
    let bytes = text.as_bytes();
    // chrono also takes a space or a lower-case `t` for `T`; RFC 4287 §3.3 wants `T` and `Z`.
    chrono::DateTime::parse_from_rfc3339(text).is_ok()
        && bytes.get(10) == Some(&b'T')
        && !text.ends_with('z')
}

/// Every problem with the feed (empty: a valid Atom 1.0 feed as far as these checks go).
pub fn problems(xml: &str) -> Vec<String> {
    let doc = match Document::parse(xml) {
        Ok(doc) => doc,
        Err(e) => return vec![format!("not well-formed XML: {e}")],
    };
    let feed = doc.root_element();
    if feed.tag_name().name() != "feed" || feed.tag_name().namespace() != Some(ATOM) {
        return vec![format!(
            "the root is {:?} in {:?}, not Atom's feed",
            feed.tag_name().name(),
            feed.tag_name().namespace()
        )];
    }
    let mut out = Vec::new();
    common(feed, "feed", &mut out);
    let self_links = atom(feed, "link")
        .filter(|l| l.attribute("rel") == Some("self"))
        .count();
    if self_links == 0 {
        out.push("feed: no link rel=\"self\"".to_owned());
    }
    let feed_has_author = author_ok(feed, "feed", &mut out);
    let mut ids = HashSet::new();
    for (n, entry) in atom(feed, "entry").enumerate() {
        let at = format!("entry {n}");
        common(entry, &at, &mut out);
        if !author_ok(entry, &at, &mut out) && !feed_has_author {
            out.push(format!("{at}: no author, and the feed has none"));
        }
        if let Some(id) = atom(entry, "id").next().and_then(|i| i.text())
            && !ids.insert(id.to_owned())
        {
            out.push(format!("{at}: the id {id} is used twice"));
        }
        let alternate =
            atom(entry, "link").any(|l| l.attribute("rel").unwrap_or("alternate") == "alternate");
        if atom(entry, "content").next().is_none() && !alternate {
            out.push(format!("{at}: neither content nor an alternate link"));
        }
        for date in atom(entry, "published") {
            date_ok(date, &at, &mut out);
        }
    }
    out
}

/// Whether `node` has an author with a name (problems for nameless ones).
fn author_ok(node: Node<'_, '_>, at: &str, out: &mut Vec<String>) -> bool {
    let mut any = false;
    for author in atom(node, "author") {
        any = true;
        let named = atom(author, "name").any(|n| n.text().is_some_and(|t| !t.trim().is_empty()));
        if !named {
            out.push(format!("{at}: an author without a name"));
        }
    }
    any
}

fn date_ok(node: Node<'_, '_>, at: &str, out: &mut Vec<String>) {
    let text = node.text().unwrap_or_default();
    if !is_rfc3339(text) {
        out.push(format!(
            "{at}: {} {text:?} is not RFC 3339",
            node.tag_name().name()
        ));
    }
}

/// What feeds and entries share: one id (an IRI), one title, one updated (RFC 3339), text
/// types, links with hrefs and at most one alternate per type and hreflang.
fn common(node: Node<'_, '_>, at: &str, out: &mut Vec<String>) {
    for name in ["id", "title", "updated"] {
        let count = atom(node, name).count();
        if count != 1 {
            out.push(format!("{at}: {count} {name} elements, not one"));
        }
    }
    for id in atom(node, "id") {
        let text = id.text().unwrap_or_default();
        if !is_iri(text) {
            out.push(format!("{at}: the id {text:?} is not an IRI"));
        }
    }
    for updated in atom(node, "updated") {
        date_ok(updated, at, out);
    }
    for name in ["title", "subtitle", "summary", "rights", "content"] {
        for text in atom(node, name) {
            let kind = text.attribute("type").unwrap_or("text");
            let allowed = ["text", "html", "xhtml"].contains(&kind) || name == "content";
            if !allowed {
                out.push(format!("{at}: {name} of type {kind:?}"));
            }
        }
    }
    let mut alternates = HashSet::new();
    for link in atom(node, "link") {
        let Some(href) = link.attribute("href") else {
            out.push(format!("{at}: a link without href"));
            continue;
        };
        if href.trim().is_empty() {
            out.push(format!("{at}: a link with an empty href"));
        }
        if link.attribute("rel").unwrap_or("alternate") == "alternate" {
            let key = (
                link.attribute("type").unwrap_or_default().to_owned(),
                link.attribute("hreflang").unwrap_or_default().to_owned(),
            );
            if !alternates.insert(key.clone()) {
                out.push(format!(
                    "{at}: two alternate links for type {:?} and hreflang {:?}",
                    key.0, key.1
                ));
            }
        }
    }
}
