//! Fuzzes the JSON Lines import (`incidents::store::import_jsonl`): whatever the file, it
//! records whole batches or returns a typed error and never panics; what it recorded exports
//! and imports again unchanged.
//!
//! ```text
//! cargo +nightly fuzz run import_jsonl        # from the repository root
//! ```
#![no_main]

use incidents::MemoryStore;
use incidents::store::{export_jsonl, import_jsonl};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|file: &[u8]| {
    let store = MemoryStore::new();
    let _ = import_jsonl(&store, &mut &file[..]);
    let mut exported = Vec::new();
    let report = export_jsonl(&store, &mut exported).expect("export to memory");
    let again = MemoryStore::new();
    let reimported = import_jsonl(&again, &mut &exported[..]).expect("an export imports");
    assert_eq!(reimported.events, report.events);
    let mut twice = Vec::new();
    export_jsonl(&again, &mut twice).expect("export to memory");
    assert_eq!(twice, exported);
});
