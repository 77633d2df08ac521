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

use incidents::store::file::format::{FrameRead, decode_body, decode_file_header, read_frame};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let _ = decode_file_header(bytes);
    let _ = decode_body(bytes);
    if let FrameRead::Frame { body, len } = read_frame(bytes) {
        assert!(len <= bytes.len() && body.len() + 16 == len);
        let _ = decode_body(body);
    }
});
