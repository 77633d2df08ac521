//! The text rules (issue #11, item 8) at every door user text comes in by: each validated
//! type and constructor refuses bidirectional overrides, unbalanced or one-line isolates and
//! invisible-only values, naming the field and the code point, and takes Hebrew with marks.

use incidents::intake::{Contact, Reporter};
use incidents::people::{Playbook, PlaybookMatch, Review};
use incidents::{
    Actor, Alert, Command, Desk, Error, Invalid, MemoryStore, NewIncident, Role, Service, Severity,
    Source, Text, Title,
};

use crate::support::{owner, t0};

/// One line (names, titles, keys) or free text.
#[derive(Clone, Copy, PartialEq)]
enum Shape {
    Line,
    Text,
}

type Door = Box<dyn Fn(&str) -> Result<(), Invalid>>;

fn ok<T>(r: Result<T, Invalid>) -> Result<(), Invalid> {
    r.map(|_| ())
}

fn alert(source: &str, fingerprint: &str, summary: &str) -> Result<Alert, Invalid> {
    Alert::firing(source, fingerprint, "online shop", summary, t0())
}

fn review() -> Review {
    Review::new("The till froze", "A full disk").unwrap()
}

/// Every door: the field it names, its shape, how to pass a value through it.
fn doors() -> Vec<(&'static str, Shape, Door)> {
    let desk = std::sync::Arc::new(Desk::new(MemoryStore::new(), incidents::SystemClock).unwrap());
    let idempotency = {
        let desk = std::sync::Arc::clone(&desk);
        Box::new(move |s: &str| {
            let new = NewIncident::new("Till down", Severity::High, "POS", Source::StaffReport)?;
            match desk.open_once(&owner(), new, s) {
                Ok(_) => Ok(()),
                Err(Error::Invalid(e)) => Err(e),
                Err(other) => panic!("{other}"),
            }
        }) as Door
    };
    vec![
        ("title", Shape::Line, Box::new(|s| ok(Title::new(s)))),
        (
            "title",
            Shape::Line,
            Box::new(|s| {
                ok(NewIncident::new(
                    s,
                    Severity::Low,
                    "POS",
                    Source::StaffReport,
                ))
            }),
        ),
        ("service", Shape::Line, Box::new(|s| ok(Service::new(s)))),
        (
            "actor id",
            Shape::Line,
            Box::new(|s| ok(Actor::new(s, "Dana", Role::Owner))),
        ),
        (
            "actor name",
            Shape::Line,
            Box::new(|s| ok(Actor::new("dana", s, Role::Owner))),
        ),
        (
            "reporter name",
            Shape::Line,
            Box::new(|s| ok(Reporter::new(s))),
        ),
        ("contact", Shape::Line, Box::new(|s| ok(Contact::new(s)))),
        (
            "alert source",
            Shape::Line,
            Box::new(|s| ok(alert(s, "k", "Down"))),
        ),
        (
            "fingerprint",
            Shape::Line,
            Box::new(|s| ok(alert("uptime", s, "Down"))),
        ),
        (
            "title",
            Shape::Line,
            Box::new(|s| ok(alert("uptime", "k", s))),
        ),
        (
            "label",
            Shape::Line,
            Box::new(|s| ok(alert("uptime", "k", "Down")?.with_label(s, "v"))),
        ),
        (
            "label",
            Shape::Line,
            Box::new(|s| ok(alert("uptime", "k", "Down")?.with_label("n", s))),
        ),
        ("idempotency key", Shape::Line, idempotency),
        (
            "title",
            Shape::Line,
            Box::new(|s| ok(Command::add_task(s, None))),
        ),
        (
            "title",
            Shape::Line,
            Box::new(|s| ok(Playbook::new("till", PlaybookMatch::default()).task(s))),
        ),
        (
            "title",
            Shape::Line,
            Box::new(|s| ok(review().follow_up(s, "dana", t0()))),
        ),
        (
            "assignee",
            Shape::Line,
            Box::new(|s| ok(Command::add_task("Fix", Some(s)))),
        ),
        (
            "follow-up owner",
            Shape::Line,
            Box::new(|s| ok(review().follow_up("Fix", s, t0()))),
        ),
        ("text", Shape::Text, Box::new(|s| ok(Text::new("text", s)))),
        (
            "customer update",
            Shape::Text,
            Box::new(|s| ok(Command::customer_update(s))),
        ),
        ("note", Shape::Text, Box::new(|s| ok(Command::note(s)))),
        (
            "root cause",
            Shape::Text,
            Box::new(|s| ok(Command::identify(s))),
        ),
        (
            "mitigation",
            Shape::Text,
            Box::new(|s| ok(Command::mitigate(s))),
        ),
        ("reason", Shape::Text, Box::new(|s| ok(Command::reopen(s)))),
        (
            "summary",
            Shape::Text,
            Box::new(|s| ok(Command::close(s, "None"))),
        ),
        (
            "comment",
            Shape::Text,
            Box::new(|s| ok(Command::feedback(4, Some(s)))),
        ),
        (
            "description",
            Shape::Text,
            Box::new(|s| ok(alert("uptime", "k", "Down")?.with_description(s))),
        ),
        (
            "description",
            Shape::Text,
            Box::new(|s| {
                ok(
                    NewIncident::new("Down", Severity::Low, "POS", Source::StaffReport)?
                        .with_description(s),
                )
            }),
        ),
        (
            "what happened",
            Shape::Text,
            Box::new(|s| ok(Review::new(s, "cause"))),
        ),
        ("lesson", Shape::Text, Box::new(|s| ok(review().lesson(s)))),
    ]
}

fn refused(field: &str, door: &Door, value: &str, code_point: Option<char>) {
    let err = door(value).expect_err(&format!("{field} took {value:?}"));
    assert_eq!(err.field, field, "{value:?}: {err}");
    assert_eq!(err.code_point, code_point, "{field} {value:?}: {err}");
    if let Some(c) = code_point {
        let named = format!("U+{:04X}", u32::from(c));
        assert!(err.to_string().contains(&named), "{err}");
    }
}

#[test]
fn every_door_refuses_overrides_isolates_and_invisible_values_and_takes_hebrew() {
    for (n, (field, shape, door)) in doors().into_iter().enumerate() {
        // Trojan Source: an override reverses what follows it.
        refused(field, &door, "refund\u{202E}exe.gnp", Some('\u{202E}'));
        refused(field, &door, "a\u{202A}b", Some('\u{202A}'));
        // An isolate left open: refused everywhere (one-line values take none at all).
        refused(field, &door, "order\u{2066}123", Some('\u{2066}'));
        // Balanced isolates: free text only.
        let balanced = "order\u{2067}123\u{2069}";
        match shape {
            Shape::Text => assert!(door(balanced).is_ok(), "{field}"),
            Shape::Line => refused(field, &door, balanced, Some('\u{2067}')),
        }
        // Invisible only: as empty.
        for invisible in [
            "\u{200B}",
            "\u{2060}",
            "\u{FEFF}",
            "\u{200F}",
            "\u{200B}\u{2060}\u{FEFF}",
        ] {
            refused(field, &door, invisible, invisible.chars().next());
        }
        // Hebrew with a right-to-left mark (no spaces, for actor ids and owners; unique, for
        // the idempotency key).
        let hebrew = format!("הקופה{n}\u{200F}");
        door(&hebrew).unwrap_or_else(|e| panic!("{field} refused {hebrew:?}: {e}"));
        if !matches!(field, "actor id" | "follow-up owner" | "assignee") {
            let sentence = format!("הקופה השנייה {n} לא עובדת\u{200F}");
            door(&sentence).unwrap_or_else(|e| panic!("{field} refused {sentence:?}: {e}"));
        }
    }
}

#[test]
fn deserialisation_applies_the_same_rules() {
    let json = r#""a\u202eb""#;
    assert!(serde_json::from_str::<Title>(json).is_err());
    assert!(serde_json::from_str::<Text>(json).is_err());
    assert!(serde_json::from_str::<Service>(json).is_err());
    assert!(serde_json::from_str::<Contact>(json).is_err());
    assert!(serde_json::from_str::<Actor>(r#"{"id":"a","name":"\u200b","role":"owner"}"#).is_err());
    assert!(serde_json::from_str::<Reporter>(r#"{"name":"\u2066x\u2069"}"#).is_err());
    // An alert's keys and labels validate on the way in, as on construction.
    let good = serde_json::to_value(
        alert("uptime", "k", "Down")
            .unwrap()
            .with_label("region", "eu")
            .unwrap(),
    )
    .unwrap();
    assert!(serde_json::from_value::<Alert>(good.clone()).is_ok());
    for (pointer, value) in [
        ("/source", "up\u{202E}time"),
        ("/fingerprint", "\u{FEFF}"),
        ("/labels/region", "e\u{2066}u"),
    ] {
        let mut bad = good.clone();
        *bad.pointer_mut(pointer).unwrap() = value.into();
        let err = serde_json::from_value::<Alert>(bad).unwrap_err();
        assert!(err.to_string().contains("U+"), "{pointer}: {err}");
    }
}
