//! Fuzzes reading a `Policy` from JSON, which a host may load from a file: durations as text
//! ("15m", "1h 30m"), opening hours, time zones, calendars and heartbeats. Whatever the bytes,
//! it returns a policy or an error and never panics; a policy it accepts writes back and
//! reads again to itself.
//!
//! ```text
//! cargo +nightly fuzz run policy_json        # from the repository root
//! ```
#![no_main]

use incidents::Policy;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(policy) = serde_json::from_slice::<Policy>(bytes) {
        let json = serde_json::to_vec(&policy).expect("a policy serialises");
        let again: Policy = serde_json::from_slice(&json).expect("a written policy reads again");
        assert_eq!(again, policy);
    }
});
