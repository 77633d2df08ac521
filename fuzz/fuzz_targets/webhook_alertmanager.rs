//! Fuzzes the Alertmanager webhook parser (`incidents::webhooks::alertmanager`): whatever the
//! body, it returns alerts or a typed error and never panics, and every alert it accepts keeps
//! within the documented limits.
//!
//! ```text
//! cargo +nightly fuzz run webhook_alertmanager        # from the repository root
//! ```
#![no_main]

use incidents::webhooks::{AlertmanagerMapping, alertmanager};
use incidents::limits::{ALERT_KEY_MAX_CHARS, TITLE_MAX_CHARS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let mapping = AlertmanagerMapping::default();
    if let Ok(taken) = alertmanager(body, &mapping) {
        for alert in taken.into_iter().flatten() {
            assert!(alert.source().chars().count() <= ALERT_KEY_MAX_CHARS);
            assert!(alert.fingerprint().chars().count() <= ALERT_KEY_MAX_CHARS);
            assert!(alert.summary().as_str().chars().count() <= TITLE_MAX_CHARS);
        }
    }
});
