//! Fuzzes the text rules through the public constructors (`Title::new`, `Text::new`,
//! `Service::new`, `Actor::new`, `Contact::new`, `Reporter::new`) and the id and severity
//! parsers: whatever the text, each returns a value or a typed error and never panics, and a
//! value it accepts keeps within the limits and parses again to itself.
//!
//! ```text
//! cargo +nightly fuzz run text_rules        # from the repository root
//! ```
#![no_main]

use incidents::{Actor, IncidentId, Role, Service, Severity, Text, Title};
use incidents::intake::{Contact, Reporter};
use incidents::limits::{TEXT_MAX_CHARS, TITLE_MAX_CHARS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let Ok(s) = std::str::from_utf8(bytes) else {
        return;
    };
    if let Ok(title) = Title::new(s) {
        assert!(title.as_str().chars().count() <= TITLE_MAX_CHARS);
        assert_eq!(Title::new(title.as_str()).as_ref(), Ok(&title));
    }
    if let Ok(text) = Text::new("note", s) {
        assert!(text.as_str().chars().count() <= TEXT_MAX_CHARS);
        assert_eq!(Text::new("note", text.as_str()).as_ref(), Ok(&text));
    }
    if let Ok(service) = Service::new(s) {
        assert_eq!(service.as_str(), s);
    }
    let _ = Actor::new(s, s, Role::Responder);
    let _ = Contact::new(s);
    let _ = Reporter::new(s);
    if let Ok(id) = s.parse::<IncidentId>() {
        assert_eq!(id.to_string().parse::<IncidentId>(), Ok(id));
    }
    let _ = s.parse::<Severity>();
});
