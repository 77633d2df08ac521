//! The status page's machine-readable files, checked by other people's rules: the
//! Statuspage-compatible JSON (`api/v2/*.json`) against JSON Schemas we wrote from
//! Statuspage's documented public API (`tests/schemas/statuspage/`), validated with the
//! `jsonschema` crate (formats checked: dates are RFC 3339, URLs are URIs); and the Atom feed
//! (`history.atom`) parsed with `roxmltree` and checked against RFC 4287's requirements.
//!
//! The schemas and the Atom checks are first shown to reject what they must (so a pass
//! means something), then run on files published from a desk.
#![cfg(feature = "status")]

mod support {
    pub mod atom;
    pub mod status_pages;
}

use std::fs;
use std::path::{Path, PathBuf};

use jsonschema::{Resource, Validator};
use serde_json::{Value, json};
use support::status_pages::{self, Page};

/// The endpoints and their schemas (`api/v2/<name>.json` ↔ `<name>.schema.json`).
const ENDPOINTS: [&str; 5] = [
    "summary",
    "status",
    "components",
    "incidents",
    "scheduled-maintenances",
];

fn schema_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas/statuspage")
}

fn read_json(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The validator for one endpoint, with the shared definitions registered and formats
/// checked.
fn validator(name: &str) -> Validator {
    let common = read_json(&schema_dir().join("common.schema.json"));
    let uri = common["$id"].as_str().unwrap().to_owned();
    let schema = read_json(&schema_dir().join(format!("{name}.schema.json")));
    jsonschema::options()
        .should_validate_formats(true)
        .with_resource(uri, Resource::from_contents(common).unwrap())
        .build(&schema)
        .unwrap_or_else(|e| panic!("{name}.schema.json: {e}"))
}

/// Every schema error of `doc` against the endpoint's schema, one line each.
fn errors(name: &str, doc: &Value) -> Vec<String> {
    validator(name)
        .iter_errors(doc)
        .map(|e| format!("{name}: at {}: {e}", e.instance_path))
        .collect()
}

/// A summary in Statuspage's documented shape (our own sample).
fn sample_summary() -> Value {
    let page = json!({
        "id": "shop.example",
        "name": "Example Shop",
        "url": "https://status.shop.example/",
        "time_zone": "Asia/Jerusalem",
        "updated_at": "2026-11-27T12:00:00Z",
    });
    let component = json!({
        "id": "payments", "name": "Payments", "status": "partial_outage",
        "created_at": "2026-11-01T00:00:00Z", "updated_at": "2026-11-27T11:00:00+02:00",
        "position": 1, "description": null, "showcase": true, "group_id": null,
        "page_id": "shop.example", "group": false, "only_show_if_degraded": false,
    });
    json!({
        "page": page,
        "status": {"indicator": "major", "description": "Partial System Outage"},
        "components": [component],
        "incidents": [{
            "id": "0193b1e2-0000-7000-8000-000000000001",
            "name": "Card payments fail at some tills",
            "status": "identified",
            "impact": "major",
            "created_at": "2026-11-27T10:00:00Z",
            "updated_at": "2026-11-27T11:00:00Z",
            "monitoring_at": null,
            "resolved_at": null,
            "shortlink": "https://status.shop.example/#i-1",
            "components": [component],
            "incident_updates": [{
                "id": "u-1", "status": "identified", "body": "Cash works.",
                "created_at": "2026-11-27T11:00:00Z", "display_at": "2026-11-27T11:00:00Z",
                "incident_id": "0193b1e2-0000-7000-8000-000000000001",
            }],
        }],
        "scheduled_maintenances": [{
            "id": "db-upgrade", "name": "Database upgrade", "status": "scheduled",
            "impact": "maintenance",
            "created_at": "2026-11-20T00:00:00Z", "updated_at": "2026-11-20T00:00:00Z",
            "scheduled_for": "2026-12-01T01:00:00Z", "scheduled_until": "2026-12-01T03:00:00Z",
            "components": [], "incident_updates": [],
        }],
    })
}

#[test]
fn the_schemas_take_the_documented_shape() {
    let summary = sample_summary();
    assert_eq!(errors("summary", &summary), Vec::<String>::new());
    let page = summary["page"].clone();
    for (name, key) in [
        ("status", "status"),
        ("components", "components"),
        ("incidents", "incidents"),
        ("scheduled-maintenances", "scheduled_maintenances"),
    ] {
        let doc = json!({"page": page, key: summary[key]});
        assert_eq!(errors(name, &doc), Vec::<String>::new(), "{name}");
    }
    // Postmortem is a status Statuspage documents for incidents.
    let mut postmortem = summary.clone();
    postmortem["incidents"][0]["status"] = json!("postmortem");
    assert_eq!(errors("summary", &postmortem), Vec::<String>::new());
}

#[test]
fn the_schemas_reject_what_they_must() {
    let cases: [(&str, &str, Value); 10] = [
        ("indicator", "/status/indicator", json!("warning")),
        ("component status", "/components/0/status", json!("down")),
        ("incident status", "/incidents/0/status", json!("open")),
        ("incident impact", "/incidents/0/impact", json!("severe")),
        (
            "update status",
            "/incidents/0/incident_updates/0/status",
            json!("scheduled"),
        ),
        (
            "maintenance status",
            "/scheduled_maintenances/0/status",
            json!("investigating"),
        ),
        (
            "a date that is not RFC 3339",
            "/incidents/0/created_at",
            json!("27/11/2026 10:00"),
        ),
        (
            "a date without an offset",
            "/page/updated_at",
            json!("2026-11-27T12:00:00"),
        ),
        (
            "a position that is not a number",
            "/components/0/position",
            json!("1"),
        ),
        (
            "a page url that is not a URI",
            "/page/url",
            json!("status page"),
        ),
    ];
    for (what, pointer, bad) in cases {
        let mut doc = sample_summary();
        *doc.pointer_mut(pointer).unwrap() = bad;
        let found = errors("summary", &doc);
        assert!(
            found.iter().any(|e| e.contains(pointer)),
            "{what} at {pointer} passed: {found:?}"
        );
    }
    for (what, object, field) in [
        ("page", "/page", "id"),
        ("status", "/status", "description"),
        ("component", "/components/0", "updated_at"),
        ("incident", "/incidents/0", "incident_updates"),
        ("incident", "/incidents/0", "resolved_at"),
        ("update", "/incidents/0/incident_updates/0", "body"),
        (
            "maintenance",
            "/scheduled_maintenances/0",
            "scheduled_until",
        ),
    ] {
        let mut doc = sample_summary();
        doc.pointer_mut(object)
            .unwrap()
            .as_object_mut()
            .unwrap()
            .remove(field);
        assert!(
            !errors("summary", &doc).is_empty(),
            "a {what} without {field} passed"
        );
    }
    for key in [
        "page",
        "status",
        "components",
        "incidents",
        "scheduled_maintenances",
    ] {
        let mut doc = sample_summary();
        doc.as_object_mut().unwrap().remove(key);
        assert!(
            !errors("summary", &doc).is_empty(),
            "a summary without {key}"
        );
    }
}

/// A small valid feed (our own sample).
const GOOD_FEED: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">
  <id>https://status.shop.example/</id>
  <title>Example Shop status</title>
  <updated>2026-11-27T12:00:00Z</updated>
  <author><name>Example Shop</name></author>
  <link rel="self" type="application/atom+xml" href="https://status.shop.example/history.atom"/>
  <link rel="alternate" type="text/html" href="https://status.shop.example/"/>
  <entry>
    <id>urn:uuid:0193b1e2-0000-7000-8000-000000000001</id>
    <title type="text">Card payments fail at some tills</title>
    <updated>2026-11-27T11:00:00+02:00</updated>
    <published>2026-11-27T10:00:00+02:00</published>
    <link rel="alternate" type="text/html" href="https://status.shop.example/#i-1"/>
    <content type="text">Cash works.</content>
  </entry>
</feed>
"#;

#[test]
fn the_atom_checks_pass_a_valid_feed_and_catch_each_fault() {
    assert_eq!(support::atom::problems(GOOD_FEED), Vec::<String>::new());
    let faults = [
        (
            "<id>https://status.shop.example/</id>",
            "",
            "feed: 0 id elements",
        ),
        ("<id>urn:uuid:", "<id>", "is not an IRI"),
        (
            "<updated>2026-11-27T12:00:00Z",
            "<updated>2026-11-27 12:00:00Z",
            "is not RFC 3339",
        ),
        (
            "<updated>2026-11-27T11:00:00+02:00",
            "<updated>27 Nov 2026",
            "is not RFC 3339",
        ),
        (
            "<author><name>Example Shop</name></author>",
            "",
            "no author",
        ),
        (
            "<link rel=\"self\"",
            "<link rel=\"related\"",
            "no link rel=\"self\"",
        ),
        (
            "<title type=\"text\">Card payments fail at some tills</title>",
            "",
            "entry 0: 0 title",
        ),
        (
            "<link rel=\"alternate\" type=\"text/html\" href=\"https://status.shop.example/\"/>",
            "<link rel=\"alternate\" type=\"text/html\" href=\"https://status.shop.example/\"/>\
             <link type=\"text/html\" href=\"https://status.shop.example/b\"/>",
            "two alternate links",
        ),
        (
            "<feed xmlns=\"http://www.w3.org/2005/Atom\"",
            "<feed",
            "not Atom's feed",
        ),
        ("</feed>", "", "not well-formed"),
    ];
    for (from, to, wanted) in faults {
        let bad = GOOD_FEED.replacen(from, to, 1);
        assert_ne!(bad, GOOD_FEED, "{from}");
        let found = support::atom::problems(&bad);
        assert!(
            found.iter().any(|p| p.contains(wanted)),
            "{wanted:?} not found after replacing {from:?}: {found:?}"
        );
    }
}

#[test]
fn iris_and_dates() {
    use support::atom::{is_iri, is_rfc3339};
    assert!(is_iri("urn:uuid:0193b1e2-0000-7000-8000-000000000001"));
    assert!(is_iri("https://status.example/#i-1"));
    assert!(is_iri("tag:shop.example,2026:incident/1"));
    assert!(!is_iri("0193b1e2-0000-7000-8000-000000000001"));
    assert!(!is_iri("https://status.example/a b"));
    assert!(!is_iri("1http://x"));
    assert!(is_rfc3339("2026-11-27T12:00:00Z"));
    assert!(is_rfc3339("2026-11-27T12:00:00.123+02:00"));
    assert!(!is_rfc3339("2026-11-27T12:00:00"));
    assert!(!is_rfc3339("2026-11-27 12:00:00Z"));
}

/// Every published JSON file validates against its schema, for each page; what the desk's
/// history holds shows in it.
#[test]
fn the_published_json_matches_the_statuspage_schemas() {
    const TEST: &str = "json";
    for page in [Page::English, Page::Hebrew, Page::Hostile] {
        let dir = status_pages::publish(TEST, page);
        for name in ENDPOINTS {
            let path = dir.join(format!("api/v2/{name}.json"));
            let doc = read_json(&path);
            let found = errors(name, &doc);
            assert!(
                found.is_empty(),
                "{}: {} errors:\n{}\n{doc:#}",
                path.display(),
                found.len(),
                found.join("\n")
            );
        }
        let summary = read_json(&dir.join("api/v2/summary.json"));
        assert_eq!(
            summary["components"].as_array().unwrap().len(),
            3,
            "{summary:#}"
        );
        if page == Page::Hostile {
            continue;
        }
        // The active high incident makes a partial outage: indicator major; the medium one
        // degrades the tills; the payments incident is resolved and only in incidents.json.
        assert_eq!(summary["status"]["indicator"], "major", "{summary:#}");
        let statuses: Vec<&str> = summary["components"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["status"].as_str().unwrap())
            .collect();
        assert_eq!(
            statuses,
            ["partial_outage", "operational", "degraded_performance"],
            "{summary:#}"
        );
        assert_eq!(
            summary["incidents"].as_array().unwrap().len(),
            2,
            "{summary:#}"
        );
        let incidents = read_json(&dir.join("api/v2/incidents.json"));
        let all = incidents["incidents"].as_array().unwrap();
        assert_eq!(all.len(), 3, "{incidents:#}");
        assert!(
            all.iter()
                .any(|i| i["status"] == "resolved" && i["impact"] == "critical"),
            "{incidents:#}"
        );
        let maintenances = read_json(&dir.join("api/v2/scheduled-maintenances.json"));
        assert_eq!(
            maintenances["scheduled_maintenances"][0]["status"], "scheduled",
            "{maintenances:#}"
        );
        // Nothing internal leaks: the internal titles and the root cause are not published.
        for path in ENDPOINTS.map(|n| dir.join(format!("api/v2/{n}.json"))) {
            let text = fs::read_to_string(&path).unwrap();
            for internal in ["PSP returns 502", "latency p99", "a slow query", "Dana"] {
                assert!(!text.contains(internal), "{}: {internal}", path.display());
            }
        }
    }
}

/// The published Atom feed meets RFC 4287, for each page, and has an entry per incident.
#[test]
fn the_published_feed_is_valid_atom() {
    const TEST: &str = "atom";
    for page in [Page::English, Page::Hebrew, Page::Hostile] {
        let path = status_pages::publish(TEST, page).join("history.atom");
        let xml = fs::read_to_string(&path).unwrap();
        let problems = support::atom::problems(&xml);
        assert!(
            problems.is_empty(),
            "{}: {}\n{xml}",
            path.display(),
            problems.join("\n")
        );
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let entries = doc
            .root_element()
            .children()
            .filter(|n| n.tag_name().name() == "entry")
            .count();
        assert!(entries >= 1, "{}: no entries\n{xml}", path.display());
        if page == Page::Hebrew {
            let lang = doc
                .root_element()
                .attribute(("http://www.w3.org/XML/1998/namespace", "lang"));
            assert_eq!(lang, Some("he"), "{xml}");
        }
        for internal in ["PSP returns 502", "latency p99", "a slow query", "Dana"] {
            assert!(!xml.contains(internal), "{}: {internal}", path.display());
        }
    }
}
