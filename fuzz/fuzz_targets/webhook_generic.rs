//! Fuzzes the generic JSON webhook parser (`incidents::webhooks::generic`): whatever the body,
//! it returns alerts or a typed error and never panics, and every alert it accepts keeps
//! within the documented limits.
//!
//! ```text
//! cargo +nightly fuzz run webhook_generic        # from the repository root
//! ```
#![no_main]

use chrono::DateTime;
use incidents::webhooks::generic;
use incidents::limits::{ALERT_KEY_MAX_CHARS, TITLE_MAX_CHARS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let Some(received_at) = DateTime::from_timestamp(1_795_000_000, 0) else {
        return;
    };
    if let Ok(taken) = generic(body, received_at) {
        for alert in taken.into_iter().flatten() {
            assert!(alert.source().chars().count() <= ALERT_KEY_MAX_CHARS);
            assert!(alert.fingerprint().chars().count() <= ALERT_KEY_MAX_CHARS);
            assert!(alert.summary().as_str().chars().count() <= TITLE_MAX_CHARS);
        }
    }
});
