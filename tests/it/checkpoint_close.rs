//! The index checkpoint a `FileStore` writes when it is dropped: only for a store that may
//! vouch for its log (not poisoned, no repair pending, not while a panic unwinds), only after
//! its segments are flushed, and never failing loudly.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex};

use incidents::store::file::{CHECKPOINT_FILE, Durability, FaultHook};
use incidents::store::{FileStore, FileStoreOptions};
use incidents::{Error, Store};

use crate::file_crash::{apply_plan, evs, segment_files};
use crate::support::nth_id;

fn opts(close_after: u64) -> FileStoreOptions {
    FileStoreOptions::new()
        .segment_bytes(4096)
        .checkpoint_on_close_after(close_after)
}

fn plan(n: u64) -> Vec<Vec<(u64, u64)>> {
    (0..n)
        .map(|i| {
            if i % 5 == 2 {
                vec![(i % 4, 1), ((i + 1) % 4, 2)]
            } else {
                vec![(i % 4, 1 + i % 3)]
            }
        })
        .collect()
}

/// A hook that records every write and sync (path file names), and can fail syncs of paths
/// containing `fail_sync` while `armed`.
#[derive(Debug, Default)]
struct Recorder {
    log: Mutex<Vec<String>>,
    fail_sync: Mutex<Option<String>>,
    fail_write: Mutex<Option<String>>,
}

impl FaultHook for Recorder {
    fn on_write(&self, path: &Path, _: u64, _: usize) -> Option<(usize, io::Error)> {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        self.log.lock().unwrap().push(format!("write {name}"));
        let f = self.fail_write.lock().unwrap();
        f.as_ref()
            .filter(|s| name.contains(s.as_str()))
            .map(|_| (0, io::Error::from_raw_os_error(28)))
    }
    fn on_sync(&self, path: &Path) -> Option<io::Error> {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        self.log.lock().unwrap().push(format!("sync {name}"));
        let f = self.fail_sync.lock().unwrap();
        f.as_ref()
            .filter(|s| name.contains(s.as_str()))
            .map(|_| io::Error::from_raw_os_error(5))
    }
}

#[test]
fn close_skips_poisoned_store() {
    let tmp = tempfile::tempdir().unwrap();
    let hook = Arc::new(Recorder::default());
    let store = FileStore::open_with(tmp.path(), opts(0).fault_hook(hook.clone())).unwrap();
    apply_plan(&store, &plan(10), &mut BTreeMap::new());
    *hook.fail_sync.lock().unwrap() = Some("seg-".into());
    let v = store.version(nth_id(0)).unwrap();
    assert!(store.append(nth_id(0), v, &evs(0, v.get(), 1)).is_err());
    *hook.fail_sync.lock().unwrap() = None;
    drop(store);
    assert!(!tmp.path().join(CHECKPOINT_FILE).exists());
}

#[test]
fn close_skips_pending_fixup_and_failed_sync_is_logged_only() {
    let tmp = tempfile::tempdir().unwrap();
    let store = FileStore::open_with(tmp.path(), opts(u64::MAX)).unwrap();
    apply_plan(&store, &plan(10), &mut BTreeMap::new());
    drop(store);
    // torn tail
    let seg = segment_files(tmp.path()).pop().unwrap();
    let mut b = std::fs::read(&seg).unwrap();
    b.extend_from_slice(&[1, 2, 3, 4, 5]);
    std::fs::write(&seg, b).unwrap();
    let hook = Arc::new(Recorder::default());
    *hook.fail_write.lock().unwrap() = Some("from-".into()); // quarantine copy
    let store = FileStore::open_with(tmp.path(), opts(0).fault_hook(hook.clone())).unwrap();
    assert!(store.open_report().deferred.is_some());
    drop(store);
    assert!(!tmp.path().join(CHECKPOINT_FILE).exists(), "pending fixup");
    // failing sync at close: no panic, no checkpoint
    let hook = Arc::new(Recorder::default());
    let store = FileStore::open_with(tmp.path(), opts(0).fault_hook(hook.clone())).unwrap();
    *hook.fail_sync.lock().unwrap() = Some("index.checkpoint".into());
    drop(store);
    let store = FileStore::open_with(tmp.path(), opts(u64::MAX)).unwrap();
    assert_eq!(store.open_report().vouched_bytes, 0);
}

#[test]
fn close_after_directory_deleted_does_not_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("s");
    let store = FileStore::open_with(&dir, opts(0)).unwrap();
    apply_plan(&store, &plan(10), &mut BTreeMap::new());
    std::fs::remove_dir_all(&dir).unwrap();
    drop(store);
    assert!(!dir.exists());
}

#[test]
fn close_during_unwinding() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let r = std::panic::catch_unwind(|| {
        let store = FileStore::open_with(&dir, opts(0)).unwrap();
        apply_plan(&store, &plan(10), &mut BTreeMap::new());
        panic!("host bug");
    });
    assert!(r.is_err());
    // Nothing is written while a panic unwinds (a second panic would abort the process).
    assert!(!dir.join(CHECKPOINT_FILE).exists());
    let store = FileStore::open_with(&dir, opts(u64::MAX)).unwrap();
    assert_eq!(store.open_report().vouched_bytes, 0);
}

/// Buffered: the segments' syncs at close, in order, relative to the checkpoint's.
#[test]
fn buffered_close_syncs_before_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let hook = Arc::new(Recorder::default());
    let store = FileStore::open_with(
        tmp.path(),
        opts(0)
            .durability(Durability::Buffered)
            .fault_hook(hook.clone()),
    )
    .unwrap();
    apply_plan(&store, &plan(80), &mut BTreeMap::new());
    drop(store);
    let log = hook.log.lock().unwrap().clone();
    // every segment's last write is followed by a sync of it before the checkpoint's sync
    let cp_sync = log
        .iter()
        .position(|l| l == "sync index.checkpoint.tmp")
        .expect("checkpoint written");
    for p in segment_files(tmp.path()) {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let last_write = log
            .iter()
            .rposition(|l| *l == format!("write {name}"))
            .unwrap();
        let synced = log[last_write..cp_sync]
            .iter()
            .any(|l| *l == format!("sync {name}"));
        assert!(
            synced,
            "{name} not synced after its last write before the checkpoint: {:?}",
            &log[last_write..]
        );
    }
}

/// Buffered: `save_snapshot`'s flush of the segment fails (EIO): the store is poisoned, as
/// after a failed commit, and neither a later snapshot nor the close vouches for the bytes
/// whose flush failed.
#[test]
fn a_failed_flush_in_a_snapshot_poisons_the_store_and_no_checkpoint_follows() {
    let tmp = tempfile::tempdir().unwrap();
    let hook = Arc::new(Recorder::default());
    let store = FileStore::open_with(
        tmp.path(),
        opts(0)
            .durability(Durability::Buffered)
            .fault_hook(hook.clone()),
    )
    .unwrap();
    apply_plan(&store, &plan(20), &mut BTreeMap::new());
    *hook.fail_sync.lock().unwrap() = Some("seg-".into());
    assert!(matches!(
        store.save_snapshot(b"p"),
        Err(Error::Io {
            op: "fdatasync",
            ..
        })
    ));
    *hook.fail_sync.lock().unwrap() = None;
    let v = store.version(nth_id(0)).unwrap();
    assert!(matches!(
        store.append(nth_id(0), v, &evs(0, v.get(), 1)),
        Err(Error::Poisoned { .. })
    ));
    assert!(matches!(
        store.save_snapshot(b"p"),
        Err(Error::Poisoned { .. })
    ));
    drop(store);
    assert!(!tmp.path().join(CHECKPOINT_FILE).exists());
}

/// A hook that panics when the checkpoint is flushed.
#[derive(Debug)]
struct PanicOnCheckpointSync;

impl FaultHook for PanicOnCheckpointSync {
    fn on_sync(&self, path: &Path) -> Option<io::Error> {
        assert!(
            !path.to_string_lossy().contains("index.checkpoint"),
            "the hook panics"
        );
        None
    }
}

/// A store dropped while a host's panic unwinds writes nothing, so even a hook that would
/// panic then cannot abort the process.
#[test]
fn a_store_dropped_while_a_panic_unwinds_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let unwound = std::panic::catch_unwind(|| {
        let store = FileStore::open_with(&dir, opts(0).fault_hook(Arc::new(PanicOnCheckpointSync)))
            .unwrap();
        apply_plan(&store, &plan(10), &mut BTreeMap::new());
        panic!("a host's bug");
    });
    assert!(unwound.is_err());
    assert!(!dir.join(CHECKPOINT_FILE).exists());
}
