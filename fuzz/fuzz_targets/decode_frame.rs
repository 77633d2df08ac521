//! Fuzzes the FileStore's record decoder: whatever the bytes, checking a file header, reading a
//! frame and decoding a frame body return a value or an error and never panic.
//!
//! ```text
//! cargo install cargo-fuzz
//! cargo +nightly fuzz run decode_frame        # from the repository root
//! ```
//!
//! The same property runs in CI as a proptest (`store::file::format` unit tests), on fewer
//! and shorter inputs.
#![no_main]

use incidents::store::file::format::{
    FrameRead, SCHEMA_VERSION, decode_body, decode_file_header, read_frame,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let _ = decode_file_header(bytes);
    let _ = decode_body(SCHEMA_VERSION, bytes);
    if let FrameRead::Frame { schema, body, len } = read_frame(bytes) {
        assert!(len <= bytes.len() && body.len() + 16 == len);
        assert!((1..=SCHEMA_VERSION).contains(&schema));
        let _ = decode_body(schema, body);
    }
});
