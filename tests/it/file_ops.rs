//! The `FileStore`'s operations for a shop that must always get at its data (issue #13):
//! opening on a full disk, read-only opens, backups that cannot pass for complete, `verify`
//! and `repair`.
//!
//! Every process these tests start (mount, umount, a backup child) is started by the
//! supervisor of `file_crash` (see "Tests in a second process" there), never from this process:
//! a child would inherit the `LOCK` files of stores other tests hold open. Tests that use it
//! do not hold `no_fork_guard()`; the others do, so the supervisor is not started in their
//! middle.
//!
//! The tests that mount (a tmpfs, a read-only bind mount) print "skipped: …" and pass when
//! mounting is not allowed.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use incidents::store::file::format::{FILE_HEADER_LEN, FRAME_HEADER_LEN};
use incidents::store::file::{
    FaultHook, INCOMPLETE_MARKER, LOCK_FILE, MANIFEST_FILE, QUARANTINE_DIR,
};
use incidents::store::{Append, FileStore, FileStoreOptions};
use incidents::{Error, Event, IncidentId, Store, Version};
use proptest::prelude::*;

use crate::file_crash::{ChildEnd, backup_child_options, backup_in_child, no_fork_guard};
use crate::support::{note_event, nth_id};

// ---------------------------------------------------------------------------------------------
// helpers

type Model = BTreeMap<IncidentId, Vec<Event>>;

/// Event `version` of incident `incident`, with a text whose length varies.
fn ev(incident: u64, version: u64) -> Event {
    let pad = "o".repeat(((incident * 7 + version * 13) % 50) as usize);
    note_event(version, &format!("ops {incident}/{version} {pad}"))
}

/// Appends, one per entry of `plan` (`(incident, count)`), continuing `model`.
fn append_plan(store: &FileStore, model: &mut Model, plan: &[(u64, u64)]) {
    for &(incident, count) in plan {
        let id = nth_id(incident);
        let have = model.get(&id).map_or(0, Vec::len) as u64;
        let events: Vec<Event> = (have + 1..=have + count).map(|v| ev(incident, v)).collect();
        store
            .append(id, Version::new(have), &events)
            .unwrap_or_else(|e| panic!("append {incident}: {e}"));
        model.entry(id).or_default().extend(events);
    }
}

/// A plan of `n` appends over four incidents.
fn plan(n: u64) -> Vec<(u64, u64)> {
    (0..n).map(|i| (i % 4, 1 + i % 3)).collect()
}

/// Appends one event to `incident` (after `model`), recording it.
fn append_one(store: &FileStore, model: &mut Model, incident: u64) -> Result<Version, Error> {
    let id = nth_id(incident);
    let have = model.get(&id).map_or(0, Vec::len) as u64;
    let events = vec![ev(incident, have + 1)];
    let result = store.append(id, Version::new(have), &events);
    if result.is_ok() {
        model.entry(id).or_default().extend(events);
    }
    result
}

/// Every event the store's `scan` gives, in order per incident.
fn scan_all(store: &FileStore) -> Model {
    let mut out = Model::new();
    store
        .scan(&mut |id, v, e| {
            let events = out.entry(id).or_default();
            assert_eq!(
                v.get(),
                events.len() as u64 + 1,
                "scan of {id}: versions in order"
            );
            events.push(e.clone());
            Ok(())
        })
        .unwrap();
    out
}

/// The store holds exactly `model`, through `load`, `version` and `scan` (and nothing for an
/// incident it does not have).
fn assert_holds(store: &FileStore, model: &Model, context: &str) {
    for (id, events) in model {
        assert_eq!(&store.load(*id).unwrap(), events, "{context}: load({id})");
        assert_eq!(
            store.version(*id).unwrap(),
            Version::new(events.len() as u64),
            "{context}: version({id})"
        );
    }
    assert_eq!(store.load(nth_id(999)).unwrap(), Vec::<Event>::new());
    assert_eq!(&scan_all(store), model, "{context}: scan");
}

/// `assert_holds`, and the open report counts exactly those events.
fn assert_opened_with(store: &FileStore, model: &Model, context: &str) {
    assert_holds(store, model, context);
    let events: u64 = model.values().map(|e| e.len() as u64).sum();
    assert_eq!(
        store.open_report().events,
        events,
        "{context}: reported events"
    );
    assert_eq!(
        store.open_report().incidents,
        model.len(),
        "{context}: reported incidents"
    );
}

fn seg(dir: &Path, n: usize) -> PathBuf {
    dir.join(format!("seg-{n:08}.log"))
}

/// The segment files of `dir`, in order.
fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with("seg-") && name.ends_with(".log")
        })
        .collect();
    found.sort();
    found
}

fn newest(dir: &Path) -> PathBuf {
    segments(dir).pop().expect("a segment")
}

/// Where each frame of a segment starts and ends (32-byte file header; frames of a 16-byte
/// header, the body length first, and the body).
fn frames_in(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut at = FILE_HEADER_LEN;
    while at + FRAME_HEADER_LEN <= bytes.len() {
        let body = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        let end = at + FRAME_HEADER_LEN + body;
        if end > bytes.len() {
            break;
        }
        out.push((at, end));
        at = end;
    }
    out
}

/// Every file and directory under `dir`: relative path → (bytes, modification time); `None`
/// bytes for a directory.
type Snapshot = BTreeMap<PathBuf, (Option<Vec<u8>>, std::time::SystemTime)>;

fn snapshot(dir: &Path) -> Snapshot {
    fn walk(root: &Path, dir: &Path, out: &mut Snapshot) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            if meta.is_dir() {
                out.insert(rel, (None, meta.modified().unwrap()));
                walk(root, &path, out);
            } else {
                out.insert(
                    rel,
                    (
                        Some(std::fs::read(&path).unwrap()),
                        meta.modified().unwrap(),
                    ),
                );
            }
        }
    }
    let mut out = Snapshot::new();
    let meta = std::fs::metadata(dir).unwrap();
    out.insert(PathBuf::new(), (None, meta.modified().unwrap()));
    walk(dir, dir, &mut out);
    out
}

/// The files in `dir/quarantine` with their bytes.
fn quarantine(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let qdir = dir.join(QUARANTINE_DIR);
    if !qdir.exists() {
        return Vec::new();
    }
    let mut found: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(qdir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    found.sort();
    found
}

/// A store in `dir` holding `n` appends (segments of `segment_bytes`, if given); its model.
fn make_store(dir: &Path, n: u64, segment_bytes: Option<u64>) -> Model {
    let options = segment_bytes.map_or_else(FileStoreOptions::new, |b| {
        FileStoreOptions::new().segment_bytes(b)
    });
    let store = FileStore::open_with(dir, options).unwrap();
    let mut model = Model::new();
    append_plan(&store, &mut model, &plan(n));
    model
}

/// The model without the events of the last frame of the newest segment (which must hold
/// whole appends of one incident each, as `append_plan` writes them).
fn without_last_append(model: &Model, n: u64) -> Model {
    let (incident, count) = plan(n)[n as usize - 1];
    let mut less = model.clone();
    let events = less.get_mut(&nth_id(incident)).unwrap();
    events.truncate(events.len() - count as usize);
    if events.is_empty() {
        less.remove(&nth_id(incident));
    }
    less
}

/// Flips one bit of byte `at` of `path`.
fn flip(path: &Path, at: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[at] ^= 0x10;
    std::fs::write(path, bytes).unwrap();
}

/// Damages the body of the newest segment's last frame (its final byte); returns where the
/// frame starts.
fn damage_final_frame(dir: &Path) -> u64 {
    let path = newest(dir);
    let bytes = std::fs::read(&path).unwrap();
    let (start, end) = *frames_in(&bytes).last().unwrap();
    assert_eq!(end, bytes.len());
    flip(&path, end - 1);
    start as u64
}

/// Appends `n` zero bytes to `path`: space the file system allocated but never filled.
fn append_zeros(path: &Path, n: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes.extend(std::iter::repeat_n(0u8, n));
    std::fs::write(path, bytes).unwrap();
}

/// Cuts `path` to `len` bytes.
fn cut(path: &Path, len: u64) {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(len)
        .unwrap();
}

/// Fails every write with ENOSPC while `full` is set, as a full disk does.
#[derive(Debug, Default)]
struct FullDisk {
    full: AtomicBool,
}

impl FaultHook for FullDisk {
    fn on_write(&self, _: &Path, _: u64, _: usize) -> Option<(usize, io::Error)> {
        self.full
            .load(Ordering::SeqCst)
            .then(|| (0, io::Error::from_raw_os_error(28)))
    }
}

fn is_enospc(result: &Result<Version, Error>) -> bool {
    matches!(result, Err(Error::Io { source, .. })
        if source.raw_os_error() == Some(28) || source.kind() == io::ErrorKind::StorageFull)
}

// ---------------------------------------------------------------------------------------------
// 1. a full disk: the data stays readable, the repair waits for the first write

/// How the newest segment is damaged before the open on a full disk.
#[derive(Debug, Clone, Copy)]
enum Tail {
    /// Zero bytes after the last frame.
    Zeros,
    /// The last frame cut short.
    CutFrame,
    /// The last frame's body fails its checksum.
    Damaged,
    /// A newest segment of 10 bytes (its header cut).
    CutHeader,
}

/// Builds a store in `dir` with `tail`; returns the events that must survive and where the
/// left-out bytes start in the newest segment.
fn store_with_tail(dir: &Path, tail: Tail) -> (Model, u64) {
    const N: u64 = 30;
    let model = make_store(dir, N, Some(4096));
    let path = newest(dir);
    let len = std::fs::metadata(&path).unwrap().len();
    match tail {
        Tail::Zeros => {
            append_zeros(&path, 700);
            (model, len)
        }
        Tail::CutFrame => {
            let bytes = std::fs::read(&path).unwrap();
            let (start, end) = *frames_in(&bytes).last().unwrap();
            cut(&path, ((start + end) / 2) as u64);
            (without_last_append(&model, N), start as u64)
        }
        Tail::Damaged => {
            let start = damage_final_frame(dir);
            (without_last_append(&model, N), start)
        }
        Tail::CutHeader => {
            let number = segments(dir).len() + 1;
            let header = std::fs::read(seg(dir, 1)).unwrap();
            std::fs::write(seg(dir, number), &header[..10]).unwrap();
            (model, 0)
        }
    }
}

fn full_disk_case(tail: Tail) {
    let _no_fork = no_fork_guard();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (mut model, offset) = store_with_tail(dir, tail);
    let newest_path = newest(dir);
    let tail_bytes = std::fs::read(&newest_path).unwrap()[offset as usize..].to_vec();
    assert!(!tail_bytes.is_empty());
    let ctx = format!("{tail:?}");

    let hook = Arc::new(FullDisk::default());
    hook.full.store(true, Ordering::SeqCst);
    let options = FileStoreOptions::new()
        .segment_bytes(4096)
        .fault_hook(hook.clone());
    let store = FileStore::open_with(dir, options.clone())
        .unwrap_or_else(|e| panic!("{ctx}: open on a full disk: {e}"));
    let report = store.open_report().clone();
    let deferred = report
        .deferred
        .as_ref()
        .unwrap_or_else(|| panic!("{ctx}: nothing deferred: {report:?}"));
    assert!(
        deferred.error.contains("os error 28"),
        "{ctx}: deferred names ENOSPC: {deferred:?}"
    );
    match tail {
        Tail::Damaged => {
            let damaged = report.damaged_tail.as_ref().expect("damaged_tail");
            assert_eq!(damaged.saved_to, None, "{ctx}");
            assert_eq!(damaged.offset, offset, "{ctx}");
            assert_eq!(damaged.path, newest_path, "{ctx}");
            assert_eq!(report.torn_tail, None, "{ctx}");
        }
        _ => {
            let torn = report.torn_tail.as_ref().expect("torn_tail");
            assert_eq!(torn.saved_to, None, "{ctx}");
            assert_eq!(torn.offset, offset, "{ctx}");
            assert_eq!(torn.bytes, tail_bytes.len() as u64, "{ctx}");
            assert_eq!(report.damaged_tail, None, "{ctx}");
        }
    }
    assert!(!report.read_only);
    assert_opened_with(&store, &model, &format!("{ctx}: on the full disk"));

    // A write while the disk is still full: the repair fails first, nothing changes.
    let before: Vec<Vec<u8>> = segments(dir)
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    let result = append_one(&store, &mut model, 1);
    assert!(
        is_enospc(&result),
        "{ctx}: append on a full disk: {result:?}"
    );
    let after: Vec<Vec<u8>> = segments(dir)
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    assert_eq!(before, after, "{ctx}: the failed append changed a segment");
    assert!(
        quarantine(dir).iter().all(|(_, bytes)| bytes.is_empty()),
        "{ctx}: nothing was saved on the full disk"
    );
    assert_holds(&store, &model, &format!("{ctx}: after the failed append"));

    // Space again: the first write makes the repair, then appends.
    hook.full.store(false, Ordering::SeqCst);
    append_one(&store, &mut model, 1)
        .unwrap_or_else(|e| panic!("{ctx}: append once space is back: {e}"));
    append_one(&store, &mut model, 2).unwrap();
    assert_holds(&store, &model, &format!("{ctx}: after the repair"));
    let saved: Vec<Vec<u8>> = quarantine(dir)
        .into_iter()
        .map(|(_, b)| b)
        .filter(|b| !b.is_empty())
        .collect();
    assert_eq!(
        saved,
        vec![tail_bytes],
        "{ctx}: the left-out bytes in quarantine"
    );
    drop(store);

    let store = FileStore::open(dir).unwrap();
    let report = store.open_report();
    assert_eq!(report.torn_tail, None, "{ctx}: reopened");
    assert_eq!(report.damaged_tail, None, "{ctx}: reopened");
    assert_eq!(report.deferred, None, "{ctx}: reopened");
    assert_opened_with(&store, &model, &format!("{ctx}: reopened"));
    assert!(FileStore::verify(dir).unwrap().is_ok());
}

#[test]
fn full_disk_with_zeros_after_the_last_frame_opens_and_reads() {
    full_disk_case(Tail::Zeros);
}

#[test]
fn full_disk_with_a_cut_last_frame_opens_and_reads() {
    full_disk_case(Tail::CutFrame);
}

#[test]
fn full_disk_with_a_damaged_final_frame_opens_and_reads() {
    full_disk_case(Tail::Damaged);
}

#[test]
fn full_disk_with_a_cut_segment_header_opens_and_reads() {
    full_disk_case(Tail::CutHeader);
}

/// A mount made through the supervisor, unmounted on drop.
struct Mount(PathBuf);

impl Mount {
    /// Runs `mount args… target`; `None` (after printing why) if not allowed here.
    fn new(args: &[&str], target: &Path) -> Option<Mount> {
        let target_s = target.to_str().unwrap().to_string();
        let mut all: Vec<&str> = vec!["mount"];
        all.extend_from_slice(args);
        all.push(&target_s);
        match crate::file_crash::run_in_supervisor(&all) {
            Ok(()) => Some(Mount(target.to_path_buf())),
            Err(e) => {
                println!("skipped: cannot mount ({}): {e}", all.join(" "));
                None
            }
        }
    }

    fn remount(&self, options: &str) -> Result<(), String> {
        crate::file_crash::run_in_supervisor(&["mount", "-o", options, self.0.to_str().unwrap()])
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let path = self.0.to_str().unwrap().to_string();
        if let Err(e) = crate::file_crash::run_in_supervisor(&["umount", &path]) {
            eprintln!("umount {path}: {e}; detaching it");
            let _ = crate::file_crash::run_in_supervisor(&["umount", "-l", &path]);
        }
    }
}

#[test]
fn a_real_full_tmpfs_with_a_torn_tail_opens_and_reads() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(mount) = Mount::new(&["-t", "tmpfs", "-o", "size=256k", "tmpfs"], tmp.path()) else {
        println!("skipped: cannot mount tmpfs");
        return;
    };
    let dir = mount.0.join("store");
    let mut model = make_store(&dir, 40, None);
    let path = newest(&dir);
    let len = std::fs::metadata(&path).unwrap().len();
    append_zeros(&path, 3000);
    // Fill the file system.
    {
        use std::io::Write;
        let mut filler = std::fs::File::create(mount.0.join("filler")).unwrap();
        let chunk = vec![0xa5u8; 4096];
        let mut error = None;
        for _ in 0..1024 {
            if let Err(e) = filler.write_all(&chunk).and_then(|()| filler.sync_all()) {
                error = Some(e);
                break;
            }
        }
        let error = error.expect("the 256 KiB tmpfs filled up");
        assert_eq!(error.raw_os_error(), Some(28), "{error}");
    }
    {
        let store = FileStore::open(&dir).expect("open on a full tmpfs");
        let report = store.open_report();
        let torn = report.torn_tail.as_ref().expect("torn tail reported");
        assert_eq!(torn.offset, len);
        assert_eq!(torn.saved_to, None);
        let deferred = report.deferred.as_ref().expect("the cut is deferred");
        assert!(deferred.error.contains("os error 28"), "{deferred:?}");
        assert_opened_with(&store, &model, "full tmpfs");
        assert!(is_enospc(&append_one(&store, &mut model, 0)));
        // A read-only open there too.
        let ro = FileStore::open_read_only(&dir).unwrap();
        assert_opened_with(&ro, &model, "full tmpfs, read-only");
        // Free space: the store repairs and appends.
        std::fs::remove_file(mount.0.join("filler")).unwrap();
        append_one(&store, &mut model, 0).unwrap();
        assert_holds(&store, &model, "tmpfs with space again");
    }
    let store = FileStore::open(&dir).unwrap();
    assert_eq!(store.open_report().torn_tail, None);
    assert_holds(&store, &model, "tmpfs reopened");
    drop(store);
    drop(mount);
}

// ---------------------------------------------------------------------------------------------
// 2. read-only opens

fn assert_read_only_refuses_writes(store: &FileStore) {
    let id = nth_id(0);
    let v = store.version(id).unwrap();
    let events = vec![ev(0, v.get() + 1)];
    assert!(
        matches!(store.append(id, v, &events), Err(Error::ReadOnly { .. })),
        "append on a read-only store"
    );
    let batch = [
        Append {
            id,
            expected: v,
            events: &events,
        },
        Append {
            id: nth_id(77),
            expected: Version::ZERO,
            events: &events,
        },
    ];
    assert!(
        matches!(store.append_batch(&batch), Err(Error::ReadOnly { .. })),
        "append_batch on a read-only store"
    );
}

#[test]
fn a_read_only_open_of_a_healthy_store_writes_nothing_and_refuses_writes() {
    let _no_fork = no_fork_guard();
    let tmp = tempfile::tempdir().unwrap();
    let model = make_store(tmp.path(), 60, Some(4096));
    std::fs::remove_file(tmp.path().join(LOCK_FILE)).unwrap();
    let before = snapshot(tmp.path());
    {
        let store = FileStore::open_read_only(tmp.path()).unwrap();
        let report = store.open_report();
        assert!(report.read_only);
        assert_eq!(report.torn_tail, None);
        assert_eq!(report.damaged_tail, None);
        assert_eq!(report.deferred, None);
        assert_eq!(report.segments, segments(tmp.path()).len());
        assert!(report.segments > 1);
        assert_opened_with(&store, &model, "read-only");
        assert_read_only_refuses_writes(&store);
        assert_eq!(store.incident_count(), model.len());
        // Two at once: no lock.
        let second = FileStore::open_read_only(tmp.path()).unwrap();
        assert_holds(&second, &model, "second read-only");
    }
    assert_eq!(
        snapshot(tmp.path()),
        before,
        "the read-only open changed the directory"
    );
    assert!(!tmp.path().join(LOCK_FILE).exists());
    assert!(!tmp.path().join(QUARANTINE_DIR).exists());
}

#[test]
fn a_read_only_open_reports_a_torn_tail_or_damaged_final_frame_and_cuts_nothing() {
    let _no_fork = no_fork_guard();
    for tail in [Tail::Zeros, Tail::CutFrame, Tail::Damaged, Tail::CutHeader] {
        let tmp = tempfile::tempdir().unwrap();
        let (model, offset) = store_with_tail(tmp.path(), tail);
        let newest_path = newest(tmp.path());
        let before = snapshot(tmp.path());
        {
            let store = FileStore::open_read_only(tmp.path()).unwrap();
            let report = store.open_report();
            match tail {
                Tail::Damaged => {
                    let d = report.damaged_tail.as_ref().expect("damaged_tail");
                    assert_eq!((d.offset, d.saved_to.clone()), (offset, None), "{tail:?}");
                    assert_eq!(d.path, newest_path);
                    assert_eq!(report.torn_tail, None, "{tail:?}");
                }
                _ => {
                    let t = report.torn_tail.as_ref().expect("torn_tail");
                    assert_eq!((t.offset, t.saved_to.clone()), (offset, None), "{tail:?}");
                    assert_eq!(t.path, newest_path);
                    assert_eq!(report.damaged_tail, None, "{tail:?}");
                }
            }
            assert_eq!(report.deferred, None, "{tail:?}");
            assert_opened_with(&store, &model, &format!("{tail:?} read-only"));
            assert_read_only_refuses_writes(&store);
        }
        assert_eq!(
            snapshot(tmp.path()),
            before,
            "{tail:?}: the read-only open changed files"
        );
        // The writer's open sees the same events.
        let store = FileStore::open(tmp.path()).unwrap();
        assert_opened_with(&store, &model, &format!("{tail:?} after a writing open"));
    }
}

#[test]
fn a_read_only_open_beside_a_writer_sees_a_consistent_prefix() {
    let _no_fork = no_fork_guard();
    let tmp = tempfile::tempdir().unwrap();
    let writer =
        FileStore::open_with(tmp.path(), FileStoreOptions::new().segment_bytes(4096)).unwrap();
    let mut model = Model::new();
    append_plan(&writer, &mut model, &plan(20));
    let done = AtomicBool::new(false);
    // How many events each incident had acknowledged before each read-only open began.
    let views = std::thread::scope(|s| {
        let appender = s.spawn(|| {
            let mut model = model.clone();
            let mut i = 0u64;
            while !done.load(Ordering::SeqCst) || i < 200 {
                append_one(&writer, &mut model, i % 5).unwrap();
                i += 1;
                if i > 20_000 {
                    break;
                }
            }
            model
        });
        let mut views = Vec::new();
        for _ in 0..40 {
            let acked: BTreeMap<IncidentId, u64> = (0..5)
                .map(|i| (nth_id(i), writer.version(nth_id(i)).unwrap().get()))
                .collect();
            let reader = FileStore::open_read_only(tmp.path())
                .unwrap_or_else(|e| panic!("read-only open beside a writer: {e}"));
            assert!(reader.open_report().read_only);
            assert_eq!(reader.open_report().deferred, None);
            views.push((acked, scan_all(&reader), reader.open_report().clone()));
        }
        done.store(true, Ordering::SeqCst);
        let full = appender.join().unwrap();
        views
            .into_iter()
            .map(|v| (v, full.clone()))
            .collect::<Vec<_>>()
    });
    for (n, ((acked, seen, report), full)) in views.iter().enumerate() {
        for (id, events) in seen {
            let all = &full[id];
            assert!(events.len() <= all.len());
            assert_eq!(
                events[..],
                all[..events.len()],
                "view {n}: {id} is not a prefix"
            );
        }
        for (id, count) in acked {
            let have = seen.get(id).map_or(0, Vec::len) as u64;
            assert!(
                have >= *count,
                "view {n}: {id} has {have} events, {count} were acknowledged before the open \
                 ({report:?})"
            );
        }
    }
    drop(writer);
    let store = FileStore::open(tmp.path()).unwrap();
    assert_eq!(store.open_report().torn_tail, None);
}

#[test]
fn a_read_only_open_works_on_a_read_only_bind_mount() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let mnt = tmp.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    // A torn tail too: nothing may try to cut it.
    let (model, offset) = {
        let (model, offset) = store_with_tail(&src, Tail::Zeros);
        (model, offset)
    };
    let src_s = src.to_str().unwrap().to_string();
    let Some(mount) = Mount::new(&["--bind", &src_s], &mnt) else {
        println!("skipped: cannot bind-mount");
        return;
    };
    if let Err(e) = mount.remount("remount,ro,bind") {
        println!("skipped: cannot remount read-only: {e}");
        return;
    }
    // The mount is really read-only.
    let probe = std::fs::write(mnt.join("probe"), b"x").unwrap_err();
    assert_eq!(probe.raw_os_error(), Some(30), "{probe}");
    let before = snapshot(&src);
    {
        let store = FileStore::open_read_only(&mnt).unwrap();
        let report = store.open_report();
        assert!(report.read_only);
        assert_eq!(report.torn_tail.as_ref().map(|t| t.offset), Some(offset));
        assert_opened_with(&store, &model, "read-only mount");
        assert_read_only_refuses_writes(&store);
        assert!(FileStore::verify(&mnt).unwrap().is_ok());
    }
    // A writing open there: must not panic. What it does is stated in the report.
    let writing =
        std::panic::catch_unwind(|| FileStore::open(&mnt).map(|s| s.open_report().clone()));
    match writing {
        Err(_) => panic!("FileStore::open on a read-only mount panicked"),
        Ok(Ok(report)) => {
            println!(
                "FileStore::open on a read-only mount: Ok, read-only because {:?}",
                report.read_only_because
            );
            // It falls back to a read-only open and says why.
            assert!(report.read_only, "{report:?}");
            assert!(
                report
                    .read_only_because
                    .as_deref()
                    .is_some_and(|why| why.contains("os error 30")),
                "{report:?}"
            );
        }
        Ok(Err(e)) => panic!("FileStore::open on a read-only mount refused to show the data: {e}"),
    }
    assert_eq!(snapshot(&src), before);
    drop(mount);
}

#[test]
fn a_read_only_open_of_a_missing_directory_is_an_io_error_and_creates_nothing() {
    let _no_fork = no_fork_guard();
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope");
    assert!(matches!(
        FileStore::open_read_only(&missing),
        Err(Error::Io { .. })
    ));
    assert!(!missing.exists());
    assert!(std::fs::read_dir(tmp.path()).unwrap().next().is_none());
    // A file, not a directory.
    std::fs::write(&missing, b"x").unwrap();
    assert!(matches!(
        FileStore::open_read_only(&missing),
        Err(Error::Io { .. })
    ));
}

// ---------------------------------------------------------------------------------------------
// 3. backups

/// The hidden siblings a backup into `dest` may leave behind.
fn siblings(dest: &Path) -> Vec<PathBuf> {
    let prefix = format!(
        ".{}.incomplete-backup",
        dest.file_name().unwrap().to_string_lossy()
    );
    let mut found: Vec<PathBuf> = std::fs::read_dir(dest.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&prefix)
        })
        .collect();
    found.sort();
    found
}

#[test]
fn a_backup_has_its_manifest_verifies_clean_and_opens_as_the_source() {
    let _no_fork = no_fork_guard();
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let dest = tmp.path().join("backup");
    let model = make_store(&src, 80, Some(4096));
    let store = FileStore::open_with(&src, FileStoreOptions::new().segment_bytes(4096)).unwrap();
    let report = store.backup(&dest).unwrap();
    assert_eq!(report.dir, dest);
    assert_eq!(report.segments, segments(&src).len());
    assert!(dest.join(MANIFEST_FILE).exists());
    assert!(!dest.join(INCOMPLETE_MARKER).exists());
    assert_eq!(siblings(&dest), Vec::<PathBuf>::new());
    for (a, b) in segments(&src).iter().zip(segments(&dest)) {
        assert_eq!(std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
    }
    let verified = FileStore::verify(&dest).unwrap();
    assert!(verified.is_ok(), "{:?}", verified.problems);
    let manifest = verified.manifest.clone().expect("manifest read by verify");
    assert_eq!(manifest.segments.len(), report.segments);
    assert_eq!(verified.events, store.open_report().events);
    drop(store);
    let before = snapshot(&dest);
    {
        let ro = FileStore::open_read_only(&dest).unwrap();
        assert_eq!(ro.open_report().backup.as_ref(), Some(&manifest));
        assert_opened_with(&ro, &model, "backup read-only");
    }
    assert_eq!(snapshot(&dest), before);
    let copy = FileStore::open(&dest).unwrap();
    assert_eq!(copy.open_report().torn_tail, None);
    assert_eq!(copy.open_report().backup.as_ref(), Some(&manifest));
    assert_opened_with(&copy, &model, "backup opened");
}

/// What a backup stopped part-way left at `dest`: it must open as complete or not at all.
/// Returns what went wrong (empty if nothing).
fn check_stopped_backup(dest: &Path, model: &Model, context: &str) -> Vec<String> {
    check_stopped_backup_but(dest, model, context, true)
}

/// `check_stopped_backup`, with the read-only open of `dest` left out unless `read_only_dest`.
fn check_stopped_backup_but(
    dest: &Path,
    model: &Model,
    context: &str,
    read_only_dest: bool,
) -> Vec<String> {
    let mut wrong = Vec::new();
    let partials = siblings(dest);
    // Read-only first: the writing open of a missing `dest` would create it.
    match FileStore::open_read_only(dest) {
        _ if !read_only_dest => {}
        Ok(store) => {
            if scan_all(&store) != *model {
                wrong.push(format!(
                    "{context}: open_read_only(dest) is Ok with {} of {} events",
                    store.open_report().events,
                    model.values().map(Vec::len).sum::<usize>()
                ));
            }
        }
        Err(Error::IncompleteBackup { .. }) => {}
        Err(Error::Io { .. }) if !dest.exists() => {}
        Err(e) => wrong.push(format!("{context}: open_read_only(dest): {e}")),
    }
    for partial in &partials {
        match FileStore::verify(partial) {
            Ok(report) if report.is_ok() => wrong.push(format!(
                "{context}: verify of the partial copy {} finds no problem ({} events)",
                partial.display(),
                report.events
            )),
            Ok(_) => {}
            Err(e) => wrong.push(format!("{context}: verify({}): {e}", partial.display())),
        }
        match FileStore::open_read_only(partial) {
            Err(Error::IncompleteBackup { .. }) => {}
            Ok(store) if scan_all(&store) == *model => {}
            Ok(store) => wrong.push(format!(
                "{context}: the partial copy opens read-only with {} events",
                store.open_report().events
            )),
            Err(e) => wrong.push(format!("{context}: open_read_only(partial): {e}")),
        }
    }
    let existed = dest.exists();
    match FileStore::open(dest) {
        Ok(store) => {
            if scan_all(&store) != *model {
                wrong.push(format!(
                    "{context}: open(dest) is Ok with {} of {} events (dest existed: {existed}, \
                     partial copies: {partials:?})",
                    store.open_report().events,
                    model.values().map(Vec::len).sum::<usize>()
                ));
            }
        }
        Err(Error::IncompleteBackup { .. }) => {}
        Err(e) => wrong.push(format!("{context}: open(dest): {e}")),
    }
    wrong
}

/// Counts the writes and flushes made through it.
#[derive(Debug, Default)]
struct Counting(std::sync::atomic::AtomicU64);

impl FaultHook for Counting {
    fn on_write(&self, _: &Path, _: u64, _: usize) -> Option<(usize, io::Error)> {
        self.0.fetch_add(1, Ordering::SeqCst);
        None
    }

    fn on_sync(&self, _: &Path) -> Option<io::Error> {
        self.0.fetch_add(1, Ordering::SeqCst);
        None
    }
}

/// A source of a few hundred KiB in 4 KiB segments; its model.
fn backup_source(src: &Path) -> Model {
    let store = FileStore::open_with(src, backup_child_options()).unwrap();
    let mut model = Model::new();
    let mut round = 0;
    while segments(src)
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum::<u64>()
        < 200 * 1024
    {
        append_plan(&store, &mut model, &plan(40 + round)[round as usize..]);
        round += 1;
    }
    model
}

/// How many writes and flushes a backup of `src` makes.
fn count_backup_ops(src: &Path, scratch: &Path) -> u64 {
    let hook = Arc::new(Counting::default());
    let store = FileStore::open_with(src, backup_child_options().fault_hook(hook.clone())).unwrap();
    let at_open = hook.0.load(Ordering::SeqCst);
    store.backup(scratch).unwrap();
    hook.0.load(Ordering::SeqCst) - at_open
}

/// Backs up a source of a few hundred KiB in a child process stopped at each of `stops`
/// (`abort()` at write/flush k of `total`, or SIGKILL after progress line n), and checks what
/// each left; returns what went wrong. `stops` gets the number of operations and of segments.
fn stopped_backups(stops: impl Fn(u64, u64) -> Vec<(Option<u64>, Option<u64>)>) -> Vec<String> {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let model = {
        let _no_fork = no_fork_guard();
        backup_source(&src)
    };
    let total = {
        let _no_fork = no_fork_guard();
        count_backup_ops(&src, &tmp.path().join("counted"))
    };
    let segs = segments(&src).len() as u64;
    assert!(segs > 40, "{segs} segments");
    // A marker (write, flush, two directory flushes), each segment (write, flush), the
    // manifest (write, flush), three directory flushes (the copy's before the rename, the
    // parent's after it, the destination's once the marker is gone).
    assert_eq!(total, 4 + 2 * segs + 5, "{segs} segments");

    let mut wrong = Vec::new();
    for (abort_at, kill_after) in stops(total, segs) {
        let parent = tempfile::tempdir().unwrap();
        let dest = parent.path().join("backup");
        let end = backup_in_child(&src, &dest, abort_at, kill_after);
        let context =
            format!("abort at {abort_at:?} of {total}, kill after {kill_after:?}: {end:?}");
        match (abort_at, &end) {
            (Some(k), ChildEnd::Signal(6)) if k < total => {}
            (Some(k), ChildEnd::Exit(0)) if k == total => {}
            (None, ChildEnd::Killed | ChildEnd::Exit(0)) => {}
            _ => panic!("{context}: the child ended unexpectedly"),
        }
        wrong.extend(check_stopped_backup(&dest, &model, &context));
    }
    wrong
}

/// Every stop but one: the write/flush operations are numbered 0..total; the marker is removed
/// after operation `total - 3` (the manifest's flush), and operation `total - 2` is the flush
/// of the copy's directory before the rename (the next test shows why it is left out here).
/// Also SIGKILL after the first, second and middle progress lines.
#[test]
fn a_backup_stopped_almost_anywhere_never_opens_as_a_prefix() {
    let wrong = stopped_backups(|total, segs| {
        let mut stops: Vec<_> = (0..=total)
            .filter(|k| *k != total - 2)
            .map(|k| (Some(k), None))
            .collect();
        stops.extend([1, 2, segs / 2].map(|n| (None, Some(n))));
        stops
    });
    assert!(
        wrong.is_empty(),
        "{} failures:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// Every stop, the last ones included, and SIGKILL late too.
#[test]
fn a_backup_stopped_anywhere_never_opens_as_a_prefix() {
    let wrong = stopped_backups(|total, segs| {
        let mut stops: Vec<_> = (0..=total).map(|k| (Some(k), None)).collect();
        stops.extend([1, 2, segs / 2, segs - 1, segs].map(|n| (None, Some(n))));
        stops
    });
    assert!(
        wrong.is_empty(),
        "{} failures:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// Fails the `at`-th write or flush (from 0) with EIO once armed.
#[derive(Debug)]
struct FailAt {
    at: u64,
    seen: std::sync::atomic::AtomicU64,
    armed: AtomicBool,
}

impl FailAt {
    fn fails(&self) -> bool {
        self.armed.load(Ordering::SeqCst) && self.seen.fetch_add(1, Ordering::SeqCst) == self.at
    }
}

impl FaultHook for FailAt {
    fn on_write(&self, _: &Path, _: u64, len: usize) -> Option<(usize, io::Error)> {
        self.fails()
            .then(|| (len / 2, io::Error::from_raw_os_error(5)))
    }

    fn on_sync(&self, _: &Path) -> Option<io::Error> {
        self.fails().then(|| io::Error::from_raw_os_error(5))
    }
}

/// A backup whose k-th write or flush fails, for each k that `which` picks of the `total`
/// (in this process: an error, not a crash), into a destination that does not exist or one
/// created empty beforehand: what it leaves never opens as a part of the store. The read-only
/// open of `dest` is checked only if `read_only_dest`.
fn failed_backups(
    dest_exists: bool,
    which: impl Fn(u64) -> Vec<u64>,
    read_only_dest: bool,
) -> Vec<String> {
    let _no_fork = no_fork_guard();
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let model = make_store(&src, 60, Some(4096));
    let total = count_backup_ops(&src, &tmp.path().join("counted"));
    let mut wrong = Vec::new();
    for k in which(total) {
        let hook = Arc::new(FailAt {
            at: k,
            seen: std::sync::atomic::AtomicU64::new(0),
            armed: AtomicBool::new(false),
        });
        let store =
            FileStore::open_with(&src, backup_child_options().fault_hook(hook.clone())).unwrap();
        hook.armed.store(true, Ordering::SeqCst);
        let parent = tempfile::tempdir().unwrap();
        let dest = parent.path().join("backup");
        if dest_exists {
            std::fs::create_dir(&dest).unwrap();
        }
        let result = store.backup(&dest);
        drop(store);
        let context = format!("write/flush {k} of {total} failed, dest existed: {dest_exists}");
        match result {
            Err(Error::Io { source, .. }) if source.raw_os_error() == Some(5) => {}
            other => {
                wrong.push(format!("{context}: backup returned {other:?}"));
                continue;
            }
        }
        wrong.extend(check_stopped_backup_but(
            &dest,
            &model,
            &context,
            read_only_dest,
        ));
    }
    wrong
}

fn assert_none_wrong(wrong: &[String]) {
    assert!(
        wrong.is_empty(),
        "{} failures:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// Every operation but the flush after the marker's removal (operation `total - 2`, the bug
/// below).
#[test]
fn a_backup_failing_part_way_never_opens_as_a_prefix() {
    let all_but_one = |total: u64| (0..total).filter(|k| *k != total - 2).collect();
    assert_none_wrong(&failed_backups(false, all_but_one, true));
    // Into an empty directory: the writing open only (the read-only one: the bug below).
    assert_none_wrong(&failed_backups(true, all_but_one, false));
}

#[test]
fn a_backup_failing_between_removing_its_marker_and_the_rename_never_opens_as_a_prefix() {
    assert_none_wrong(&failed_backups(false, |total| vec![total - 2], true));
    assert_none_wrong(&failed_backups(true, |total| vec![total - 2], false));
}

#[test]
fn a_read_only_open_of_an_empty_dest_beside_a_partial_backup_is_incomplete_backup() {
    assert_none_wrong(&failed_backups(
        true,
        |total| (0..total - 2).collect(),
        true,
    ));
}

/// A backup of an 80-append store in 4 KiB segments, in `tmp/backup`; the model.
fn backup_fixture(tmp: &Path) -> (PathBuf, Model) {
    let src = tmp.join("src");
    let dest = tmp.join("backup");
    let model = make_store(&src, 80, Some(4096));
    FileStore::open_read_only(&src).unwrap();
    let store = FileStore::open(&src).unwrap();
    store.backup(&dest).unwrap();
    assert!(segments(&dest).len() >= 3);
    (dest, model)
}

#[test]
fn verify_finds_a_flipped_byte_in_a_backup_segment() {
    let _no_fork = no_fork_guard();
    let tmp = tempfile::tempdir().unwrap();
    let (dest, _) = backup_fixture(tmp.path());
    let path = seg(&dest, 2);
    let bytes = std::fs::read(&path).unwrap();
    let (start, end) = frames_in(&bytes)[2];
    let at = (start + FRAME_HEADER_LEN + end) / 2;
    flip(&path, at);
    let before = snapshot(&dest);
    let report = FileStore::verify(&dest).unwrap();
    assert_eq!(snapshot(&dest), before, "verify changed the backup");
    assert!(!report.is_ok());
    let range = format!("bytes 0..{}", bytes.len());
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.path == path && p.offset == 0 && p.reason.contains(&range)),
        "no problem naming {} and {range}: {:?}",
        path.display(),
        report.problems
    );
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.path == path && p.offset == start as u64),
        "no problem at the frame's offset {start}: {:?}",
        report.problems
    );
}

#[test]
fn verify_finds_a_flipped_byte_in_the_newest_backup_segment_even_if_open_would_set_it_aside() {
    let _no_fork = no_fork_guard();
    let tmp = tempfile::tempdir().unwrap();
    let (dest, _) = backup_fixture(tmp.path());
    let start = damage_final_frame(&dest);
    let path = newest(&dest);
    let report = FileStore::verify(&dest).unwrap();
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.path == path && p.offset == 0),
        "{report:?}"
    );
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.path == path && p.offset == start),
        "{report:?}"
    );
}

#[test]
fn verify_finds_a_truncated_or_deleted_backup_segment_and_a_damaged_manifest() {
    let _no_fork = no_fork_guard();
    // Truncated (a middle segment, and the newest).
    for n in [2, 0] {
        let tmp = tempfile::tempdir().unwrap();
        let (dest, _) = backup_fixture(tmp.path());
        let path = if n == 0 { newest(&dest) } else { seg(&dest, n) };
        let len = std::fs::metadata(&path).unwrap().len();
        cut(&path, len - 5);
        let report = FileStore::verify(&dest).unwrap();
        assert!(
            report
                .problems
                .iter()
                .any(|p| p.path == path && p.reason.contains(&format!("{}", len - 5))),
            "truncated {}: {:?}",
            path.display(),
            report.problems
        );
        for open in [FileStore::open_read_only(&dest), FileStore::open(&dest)] {
            assert!(
                matches!(open, Err(Error::IncompleteBackup { .. })),
                "open of a backup with a truncated segment: {:?}",
                open.map(|s| s.open_report().clone())
            );
        }
    }
    // Deleted.
    {
        let tmp = tempfile::tempdir().unwrap();
        let (dest, _) = backup_fixture(tmp.path());
        let path = seg(&dest, 2);
        std::fs::remove_file(&path).unwrap();
        let report = FileStore::verify(&dest).unwrap();
        assert!(
            report
                .problems
                .iter()
                .any(|p| p.path == path && p.reason.contains("missing")),
            "{:?}",
            report.problems
        );
        assert!(matches!(
            FileStore::open(&dest),
            Err(Error::IncompleteBackup { .. })
        ));
    }
    // A damaged manifest: one digit changed, and cut in half.
    for how in ["digit", "half"] {
        let tmp = tempfile::tempdir().unwrap();
        let (dest, _) = backup_fixture(tmp.path());
        let path = dest.join(MANIFEST_FILE);
        let mut text = std::fs::read_to_string(&path).unwrap();
        if how == "digit" {
            let at = text.find("\"len\": ").unwrap() + 7;
            let digit = text.as_bytes()[at];
            let other = if digit == b'1' { "2" } else { "1" };
            text.replace_range(at..=at, other);
        } else {
            text.truncate(text.len() / 2);
        }
        std::fs::write(&path, &text).unwrap();
        let report = FileStore::verify(&dest).unwrap();
        assert!(
            report.problems.iter().any(|p| p.path == path),
            "{how}: {:?}",
            report.problems
        );
        assert!(
            FileStore::open_read_only(&dest).is_err(),
            "{how}: a backup with a damaged manifest opened"
        );
    }
}

#[test]
fn a_restored_backup_accepts_appends_and_still_verifies_clean() {
    let _no_fork = no_fork_guard();
    let tmp = tempfile::tempdir().unwrap();
    let (dest, mut model) = backup_fixture(tmp.path());
    {
        let store =
            FileStore::open_with(&dest, FileStoreOptions::new().segment_bytes(4096)).unwrap();
        for i in 0..60 {
            append_one(&store, &mut model, i % 6).unwrap();
        }
        assert_holds(&store, &model, "restored");
    }
    let report = FileStore::verify(&dest).unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    assert!(report.manifest.is_some());
    let store = FileStore::open(&dest).unwrap();
    assert!(store.open_report().backup.is_some());
    assert_eq!(scan_all(&store), model);
}

#[test]
fn a_backup_into_a_directory_that_is_not_empty_is_invalid() {
    let _no_fork = no_fork_guard();
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    make_store(&src, 5, None);
    let store = FileStore::open(&src).unwrap();
    let busy = tmp.path().join("busy");
    std::fs::create_dir(&busy).unwrap();
    std::fs::write(busy.join("mine.txt"), b"keep").unwrap();
    let before = snapshot(&busy);
    assert!(matches!(store.backup(&busy), Err(Error::Invalid(_))));
    assert_eq!(snapshot(&busy), before);
    assert_eq!(siblings(&busy), Vec::<PathBuf>::new());
    // An empty directory is fine.
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    store.backup(&empty).unwrap();
    assert!(FileStore::verify(&empty).unwrap().is_ok());
}

// ---------------------------------------------------------------------------------------------
// 4. verify on stores

#[test]
fn verify_of_a_healthy_store_matches_the_open_report_and_changes_nothing() {
    let _no_fork = no_fork_guard();
    let tmp = tempfile::tempdir().unwrap();
    make_store(tmp.path(), 70, Some(4096));
    let before = snapshot(tmp.path());
    let report = FileStore::verify(tmp.path()).unwrap();
    assert_eq!(snapshot(tmp.path()), before);
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(report.torn_tail, None);
    assert_eq!(report.manifest, None);
    let store = FileStore::open(tmp.path()).unwrap();
    let open = store.open_report();
    assert_eq!(
        (
            report.segments,
            report.frames,
            report.events,
            report.incidents
        ),
        (open.segments, open.frames, open.events, open.incidents)
    );
    let bytes: u64 = segments(tmp.path())
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    assert_eq!(report.bytes, bytes);
}

#[test]
fn verify_notes_a_torn_tail_and_reports_damage_where_it_is() {
    let _no_fork = no_fork_guard();
    // A torn tail: a note, not a problem.
    for tail in [Tail::Zeros, Tail::CutFrame, Tail::CutHeader] {
        let tmp = tempfile::tempdir().unwrap();
        let (model, offset) = store_with_tail(tmp.path(), tail);
        let before = snapshot(tmp.path());
        let report = FileStore::verify(tmp.path()).unwrap();
        assert_eq!(snapshot(tmp.path()), before, "{tail:?}");
        assert!(report.is_ok(), "{tail:?}: {:?}", report.problems);
        let torn = report.torn_tail.as_ref().expect("torn tail noted");
        assert_eq!(
            (torn.offset, torn.saved_to.clone()),
            (offset, None),
            "{tail:?}"
        );
        assert_eq!(torn.path, newest(tmp.path()));
        assert_eq!(
            report.events,
            model.values().map(|e| e.len() as u64).sum::<u64>()
        );
    }
    // A damaged final frame: a problem at its offset.
    {
        let tmp = tempfile::tempdir().unwrap();
        make_store(tmp.path(), 30, Some(4096));
        let start = damage_final_frame(tmp.path());
        let before = snapshot(tmp.path());
        let report = FileStore::verify(tmp.path()).unwrap();
        assert_eq!(snapshot(tmp.path()), before);
        assert_eq!(report.torn_tail, None);
        assert!(
            report
                .problems
                .iter()
                .any(|p| p.path == newest(tmp.path()) && p.offset == start),
            "{:?}",
            report.problems
        );
    }
    // Damage in the middle of a segment: a problem at that frame.
    for in_older in [false, true] {
        let tmp = tempfile::tempdir().unwrap();
        make_store(tmp.path(), 30, Some(if in_older { 4096 } else { 1 << 20 }));
        let path = if in_older {
            seg(tmp.path(), 1)
        } else {
            newest(tmp.path())
        };
        let bytes = std::fs::read(&path).unwrap();
        let frames = frames_in(&bytes);
        assert!(frames.len() > 4);
        let (start, end) = frames[3];
        flip(&path, (start + FRAME_HEADER_LEN + end) / 2);
        let before = snapshot(tmp.path());
        let report = FileStore::verify(tmp.path()).unwrap();
        assert_eq!(snapshot(tmp.path()), before);
        assert!(!report.is_ok());
        assert_eq!(
            (report.problems[0].path.clone(), report.problems[0].offset),
            (path.clone(), start as u64),
            "in older segment: {in_older}: {:?}",
            report.problems
        );
        assert!(matches!(
            FileStore::open_read_only(tmp.path()),
            Err(Error::Corrupt { offset, .. }) if offset == start as u64
        ));
    }
}

#[test]
fn verify_works_while_a_writer_holds_the_lock() {
    let _no_fork = no_fork_guard();
    let tmp = tempfile::tempdir().unwrap();
    let store =
        FileStore::open_with(tmp.path(), FileStoreOptions::new().segment_bytes(4096)).unwrap();
    let mut model = Model::new();
    append_plan(&store, &mut model, &plan(40));
    let report = FileStore::verify(tmp.path()).unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(
        report.events,
        model.values().map(|e| e.len() as u64).sum::<u64>()
    );
    // The writer is undisturbed.
    append_one(&store, &mut model, 3).unwrap();
    assert_eq!(scan_all(&store), model);
    assert!(matches!(
        FileStore::open(tmp.path()),
        Err(Error::Locked { .. })
    ));
}

// ---------------------------------------------------------------------------------------------
// 5. repair

#[test]
fn repair_sets_a_damaged_final_frame_aside_and_the_store_then_verifies_clean() {
    let _no_fork = no_fork_guard();
    const N: u64 = 30;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let model = make_store(dir, N, Some(4096));
    let path = newest(dir);
    let start = damage_final_frame(dir);
    let tail = std::fs::read(&path).unwrap()[start as usize..].to_vec();
    let report = FileStore::repair(dir).unwrap();
    assert_eq!(report.quarantined.len(), 1, "{report:?}");
    let q = &report.quarantined[0];
    assert_eq!(
        (q.path.clone(), q.offset, q.bytes),
        (path.clone(), start, tail.len() as u64)
    );
    assert_eq!(std::fs::read(&q.saved_to).unwrap(), tail);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), start);
    let verified = FileStore::verify(dir).unwrap();
    assert!(verified.is_ok(), "{:?}", verified.problems);
    assert_eq!(verified.torn_tail, None);
    let store = FileStore::open(dir).unwrap();
    let open = store.open_report();
    assert_eq!(
        (open.torn_tail.clone(), open.damaged_tail.clone()),
        (None, None)
    );
    assert_eq!(open.deferred, None);
    assert_opened_with(&store, &without_last_append(&model, N), "repaired");
    drop(store);
    // A second repair has nothing to do.
    assert!(FileStore::repair(dir).unwrap().quarantined.is_empty());
}

// ---------------------------------------------------------------------------------------------
// 6. read-only open, writing open and verify agree on any damaged newest segment

#[derive(Debug, Clone)]
enum Mutation {
    /// Cut the newest segment to this fraction (per mille) of its length.
    Cut(u32),
    /// Flip bit `bit` of the byte at this fraction (per mille) of it.
    Flip(u32, u8),
    /// Add zeros.
    Zeros(u16),
}

fn arb_mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (0u32..1000).prop_map(Mutation::Cut),
        (0u32..1000, 0u8..8).prop_map(|(at, bit)| Mutation::Flip(at, bit)),
        (1u16..2000).prop_map(Mutation::Zeros),
    ]
}

fn agree_case(appends: Vec<(u64, u64)>, small: bool, mutation: Mutation) {
    let _no_fork = no_fork_guard();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let options = if small {
        FileStoreOptions::new().segment_bytes(4096)
    } else {
        FileStoreOptions::new()
    };
    {
        let store = FileStore::open_with(dir, options).unwrap();
        let mut model = Model::new();
        append_plan(&store, &mut model, &appends);
    }
    let path = newest(dir);
    let len = std::fs::metadata(&path).unwrap().len();
    match mutation {
        Mutation::Cut(per) => cut(&path, len * u64::from(per) / 1000),
        Mutation::Flip(per, bit) => {
            let at = (len * u64::from(per) / 1000) as usize;
            let mut bytes = std::fs::read(&path).unwrap();
            bytes[at] ^= 1 << bit;
            std::fs::write(&path, bytes).unwrap();
        }
        Mutation::Zeros(n) => append_zeros(&path, usize::from(n)),
    }
    let before = snapshot(dir);
    let read_only = std::panic::catch_unwind(|| {
        FileStore::open_read_only(dir).map(|s| (scan_all(&s), s.open_report().clone()))
    })
    .unwrap_or_else(|_| panic!("open_read_only panicked after {mutation:?}"));
    assert_eq!(
        snapshot(dir),
        before,
        "open_read_only wrote after {mutation:?}"
    );
    let verified = FileStore::verify(dir).unwrap();
    assert_eq!(snapshot(dir), before, "verify wrote after {mutation:?}");
    let writing = FileStore::open(dir).map(|s| (scan_all(&s), s.open_report().clone()));
    match (&read_only, &writing) {
        (Ok((ro, ro_report)), Ok((rw, rw_report))) => {
            assert_eq!(ro, rw, "{mutation:?}: the two opens read different events");
            assert_eq!(
                (ro_report.events, ro_report.frames, ro_report.incidents),
                (rw_report.events, rw_report.frames, rw_report.incidents),
                "{mutation:?}"
            );
            assert_eq!(
                ro_report.torn_tail.as_ref().map(|t| (t.offset, t.bytes)),
                rw_report.torn_tail.as_ref().map(|t| (t.offset, t.bytes)),
                "{mutation:?}"
            );
            assert_eq!(
                ro_report.damaged_tail.as_ref().map(|t| t.offset),
                rw_report.damaged_tail.as_ref().map(|t| t.offset),
                "{mutation:?}"
            );
            assert_eq!(
                verified.is_ok(),
                ro_report.damaged_tail.is_none(),
                "{mutation:?}: verify {:?} vs open {ro_report:?}",
                verified.problems
            );
            assert_eq!(
                verified.torn_tail.as_ref().map(|t| t.offset),
                ro_report.torn_tail.as_ref().map(|t| t.offset),
                "{mutation:?}"
            );
            if verified.is_ok() {
                assert_eq!(
                    (
                        verified.events,
                        verified.frames,
                        verified.incidents,
                        verified.segments
                    ),
                    (
                        ro_report.events,
                        ro_report.frames,
                        ro_report.incidents,
                        ro_report.segments
                    ),
                    "{mutation:?}: verify and open count differently"
                );
            }
        }
        (Err(a), Err(b)) => {
            assert_eq!(a.to_string(), b.to_string(), "{mutation:?}");
            assert!(matches!(a, Error::Corrupt { .. }), "{mutation:?}: {a}");
            assert!(
                !verified.is_ok(),
                "{mutation:?}: open fails ({a}) but verify is ok"
            );
        }
        (a, b) => panic!(
            "{mutation:?}: read-only open {:?}, writing open {:?}",
            a.as_ref().map(|r| &r.1),
            b.as_ref().map(|r| &r.1)
        ),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn read_only_open_writing_open_and_verify_agree_on_a_damaged_newest_segment(
        appends in prop::collection::vec((0u64..5, 1u64..4), 1..40),
        small in any::<bool>(),
        mutation in arb_mutation(),
    ) {
        agree_case(appends, small, mutation);
    }
}

// ---------------------------------------------------------------------------------------------
// 7. backups and damage together

#[test]
fn a_backup_with_a_damaged_final_frame_opens_with_it_set_aside_and_its_manifest_retired() {
    let _no_fork = no_fork_guard();
    let tmp = tempfile::tempdir().unwrap();
    let (dest, model) = backup_fixture(tmp.path());
    let start = damage_final_frame(&dest);
    {
        let ro = FileStore::open_read_only(&dest).unwrap();
        assert_eq!(
            ro.open_report().damaged_tail.as_ref().map(|d| d.offset),
            Some(start)
        );
    }
    {
        let store = FileStore::open(&dest).unwrap();
        let report = store.open_report();
        let damaged = report.damaged_tail.as_ref().expect("damaged_tail");
        assert_eq!(damaged.offset, start);
        assert!(damaged.saved_to.is_some());
        assert_opened_with(
            &store,
            &without_last_append(&model, 80),
            "backup, frame set aside",
        );
    }
    assert!(
        !dest.join(MANIFEST_FILE).exists(),
        "the manifest no longer matches"
    );
    assert!(quarantine(&dest).iter().any(|(p, _)| {
        p.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with(MANIFEST_FILE)
    }));
    let verified = FileStore::verify(&dest).unwrap();
    assert!(verified.is_ok(), "{:?}", verified.problems);
    let store = FileStore::open(&dest).unwrap();
    assert_eq!(store.open_report().damaged_tail, None);
    assert_eq!(store.open_report().backup, None);
}

/// A backup whose final frame reads back as zeros (a failed sector): the bytes are within
/// the manifest, so they were copied; whatever the open calls them, a store that opened once
/// must open again and verify as what it is.
#[test]
fn a_backup_whose_final_frame_reads_as_zeros_opens_again_after_the_first_open() {
    let _no_fork = no_fork_guard();
    let tmp = tempfile::tempdir().unwrap();
    let (dest, model) = backup_fixture(tmp.path());
    let path = newest(&dest);
    let mut bytes = std::fs::read(&path).unwrap();
    let (start, end) = *frames_in(&bytes).last().unwrap();
    bytes[start..end].fill(0);
    std::fs::write(&path, &bytes).unwrap();
    assert!(
        !FileStore::verify(&dest).unwrap().is_ok(),
        "verify sees the zeroed range"
    );
    {
        let store = FileStore::open(&dest).unwrap();
        let report = store.open_report();
        println!(
            "first open: torn {:?}, damaged {:?}",
            report.torn_tail, report.damaged_tail
        );
        assert_holds(&store, &without_last_append(&model, 80), "first open");
    }
    let again = FileStore::open(&dest);
    assert!(
        again.is_ok(),
        "a backup that opened once no longer opens: {:?}",
        again.err()
    );
    let verified = FileStore::verify(&dest).unwrap();
    assert!(verified.is_ok(), "{:?}", verified.problems);
}

#[test]
fn repair_of_a_backup_with_damage_in_the_middle_retires_its_manifest_and_verifies_clean() {
    let _no_fork = no_fork_guard();
    let tmp = tempfile::tempdir().unwrap();
    let (dest, _) = backup_fixture(tmp.path());
    let path = seg(&dest, 2);
    let bytes = std::fs::read(&path).unwrap();
    let (start, end) = frames_in(&bytes)[1];
    flip(&path, (start + FRAME_HEADER_LEN + end) / 2);
    assert!(matches!(
        FileStore::open(&dest),
        Err(Error::Corrupt { offset, .. }) if offset == start as u64
    ));
    let report = FileStore::repair(&dest).unwrap();
    assert!(
        report
            .quarantined
            .iter()
            .any(|q| q.path == path && q.offset == start as u64),
        "{report:?}"
    );
    assert!(!dest.join(MANIFEST_FILE).exists());
    let verified = FileStore::verify(&dest).unwrap();
    assert!(verified.is_ok(), "{:?}", verified.problems);
    let store = FileStore::open(&dest).unwrap();
    assert_eq!(store.open_report().torn_tail, None);
    assert_eq!(store.open_report().damaged_tail, None);
    assert_eq!(segments(&dest), vec![seg(&dest, 1), seg(&dest, 2)]);
}

#[test]
fn a_backup_from_a_read_only_open_or_with_a_deferred_repair_is_whole_and_clean() {
    let _no_fork = no_fork_guard();
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let (model, _) = store_with_tail(&src, Tail::Zeros);
    // From a read-only open: the torn tail stays out of the copy.
    {
        let ro = FileStore::open_read_only(&src).unwrap();
        let dest = tmp.path().join("from-read-only");
        ro.backup(&dest).unwrap();
        let verified = FileStore::verify(&dest).unwrap();
        assert!(verified.is_ok(), "{:?}", verified.problems);
        assert_eq!(verified.torn_tail, None);
        let copy = FileStore::open(&dest).unwrap();
        assert_eq!(copy.open_report().torn_tail, None);
        assert_opened_with(&copy, &model, "backup of a read-only open");
    }
    // From a writing open whose cut is deferred (the store's own disk is full).
    #[derive(Debug)]
    struct FullUnder(PathBuf);
    impl FaultHook for FullUnder {
        fn on_write(&self, path: &Path, _: u64, _: usize) -> Option<(usize, io::Error)> {
            path.starts_with(&self.0)
                .then(|| (0, io::Error::from_raw_os_error(28)))
        }
    }
    let store = FileStore::open_with(
        &src,
        FileStoreOptions::new().fault_hook(Arc::new(FullUnder(src.clone()))),
    )
    .unwrap();
    assert!(store.open_report().deferred.is_some());
    let dest = tmp.path().join("deferred");
    store.backup(&dest).unwrap();
    let verified = FileStore::verify(&dest).unwrap();
    assert!(verified.is_ok(), "{:?}", verified.problems);
    assert_eq!(verified.torn_tail, None);
    let copy = FileStore::open(&dest).unwrap();
    assert_opened_with(&copy, &model, "backup with a deferred cut");
}

#[test]
fn verify_names_the_mib_range_of_a_flipped_byte_in_a_large_backup_segment() {
    let _no_fork = no_fork_guard();
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let dest = tmp.path().join("backup");
    {
        let store = FileStore::open(&src).unwrap();
        // About 2.5 MiB in one segment, 400 events an append.
        let mut v = 0u64;
        while std::fs::metadata(seg(&src, 1)).unwrap().len() < (5 << 20) / 2 {
            let events: Vec<Event> = (v + 1..=v + 400).map(|n| ev(1, n)).collect();
            store.append(nth_id(1), Version::new(v), &events).unwrap();
            v += 400;
        }
        store.backup(&dest).unwrap();
    }
    let path = seg(&dest, 1);
    let len = std::fs::metadata(&path).unwrap().len();
    let at = (1 << 20) + 12_345;
    flip(&path, at);
    let report = FileStore::verify(&dest).unwrap();
    let range = format!("bytes {}..{}", 1 << 20, 2 << 20);
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.path == path && p.offset == 1 << 20 && p.reason.contains(&range)),
        "no problem for {range} of {len}: {:?}",
        report.problems
    );
    // The frame holding the byte is named too.
    let bytes = std::fs::read(&path).unwrap();
    let (start, _) = frames_in(&bytes)
        .into_iter()
        .find(|(s, e)| (*s..*e).contains(&at))
        .unwrap();
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.path == path && p.offset == start as u64),
        "{:?}",
        report.problems
    );
    // Only that range is reported by the manifest check.
    assert!(
        !report
            .problems
            .iter()
            .any(|p| p.reason.contains("bytes 0..")),
        "{:?}",
        report.problems
    );
}

#[test]
fn repair_refuses_a_partial_backup_and_changes_nothing() {
    let _no_fork = no_fork_guard();
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    make_store(&src, 40, Some(4096));
    let hook = Arc::new(FailAt {
        at: 9,
        seen: std::sync::atomic::AtomicU64::new(0),
        armed: AtomicBool::new(true),
    });
    let store = FileStore::open_with(&src, backup_child_options().fault_hook(hook)).unwrap();
    let dest = tmp.path().join("backup");
    assert!(store.backup(&dest).is_err());
    let partial = siblings(&dest).pop().expect("a partial copy");
    assert!(partial.join(INCOMPLETE_MARKER).exists());
    let before = snapshot(&partial);
    assert!(matches!(
        FileStore::repair(&partial),
        Err(Error::IncompleteBackup { .. })
    ));
    assert!(matches!(
        FileStore::open_read_only(&partial),
        Err(Error::IncompleteBackup { .. })
    ));
    let after = snapshot(&partial);
    let mut without_lock = after.clone();
    without_lock.remove(Path::new(LOCK_FILE));
    // `repair` takes the lock first (creating LOCK); nothing else may change.
    let mut before_no_lock = before.clone();
    before_no_lock.remove(Path::new(LOCK_FILE));
    before_no_lock.remove(Path::new(""));
    without_lock.remove(Path::new(""));
    assert_eq!(without_lock, before_no_lock);
    let verified = FileStore::verify(&partial).unwrap();
    assert!(
        verified
            .problems
            .iter()
            .any(|p| p.path == partial.join(INCOMPLETE_MARKER)),
        "{:?}",
        verified.problems
    );
}

/// Each failed attempt at the deferred cut (the open, every append while the disk is full)
/// should leave nothing behind in quarantine: an empty or half-written copy there looks like
/// saved bytes that are not the tail.
#[test]
fn failed_attempts_at_a_deferred_cut_leave_nothing_in_quarantine() {
    let _no_fork = no_fork_guard();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (mut model, offset) = store_with_tail(dir, Tail::Zeros);
    let tail = std::fs::read(newest(dir)).unwrap()[offset as usize..].to_vec();
    let hook = Arc::new(FullDisk::default());
    hook.full.store(true, Ordering::SeqCst);
    let store =
        FileStore::open_with(dir, FileStoreOptions::new().fault_hook(hook.clone())).unwrap();
    assert!(append_one(&store, &mut model, 0).is_err());
    assert_eq!(quarantine(dir), Vec::new(), "after the failed attempts");
    hook.full.store(false, Ordering::SeqCst);
    append_one(&store, &mut model, 0).unwrap();
    let saved: Vec<Vec<u8>> = quarantine(dir).into_iter().map(|(_, b)| b).collect();
    assert_eq!(saved, vec![tail]);
}

// ---------------------------------------------------------------------------------------------
// 7. what a review of the change found

/// A backup into an empty destination fails part-way (its marked copy stays beside it).
fn failed_backup_into_empty_dest(tmp: &Path) -> PathBuf {
    let src = tmp.join("src");
    make_store(&src, 40, Some(4096));
    let hook = Arc::new(FailAt {
        at: 9,
        seen: std::sync::atomic::AtomicU64::new(0),
        armed: AtomicBool::new(true),
    });
    let store = FileStore::open_with(&src, backup_child_options().fault_hook(hook)).unwrap();
    let dest = tmp.join("backup");
    std::fs::create_dir(&dest).unwrap();
    assert!(store.backup(&dest).is_err());
    assert_eq!(siblings(&dest).len(), 1);
    dest
}

#[test]
fn repair_of_an_empty_destination_beside_a_failed_backup_refuses_and_writes_nothing() {
    let _no_fork = no_fork_guard();
    let tmp = tempfile::tempdir().unwrap();
    let dest = failed_backup_into_empty_dest(tmp.path());
    match FileStore::repair(&dest) {
        Err(Error::IncompleteBackup { .. }) => {}
        other => panic!("repair of the destination: {other:?}"),
    }
    assert_eq!(
        std::fs::read_dir(&dest).unwrap().count(),
        0,
        "repair wrote into the destination"
    );
    // And so the destination is still refused, not opened as a new, empty store.
    assert!(matches!(
        FileStore::open(&dest),
        Err(Error::IncompleteBackup { .. })
    ));
}

#[test]
fn a_destination_holding_only_a_lock_file_is_still_refused_beside_a_failed_backup() {
    let _no_fork = no_fork_guard();
    let tmp = tempfile::tempdir().unwrap();
    let dest = failed_backup_into_empty_dest(tmp.path());
    std::fs::write(dest.join(LOCK_FILE), b"").unwrap();
    for (what, result) in [
        ("open", FileStore::open(&dest).map(|_| ())),
        (
            "open_read_only",
            FileStore::open_read_only(&dest).map(|_| ()),
        ),
    ] {
        assert!(
            matches!(result, Err(Error::IncompleteBackup { .. })),
            "{what}: {result:?}"
        );
    }
    assert!(segments(&dest).is_empty());
}

#[test]
fn a_missing_destination_beside_a_failed_backup_is_incomplete_for_a_read_only_open_too() {
    let _no_fork = no_fork_guard();
    let tmp = tempfile::tempdir().unwrap();
    let dest = failed_backup_into_empty_dest(tmp.path());
    std::fs::remove_dir(&dest).unwrap();
    assert!(matches!(
        FileStore::open_read_only(&dest),
        Err(Error::IncompleteBackup { .. })
    ));
    assert!(!dest.exists());
}

#[test]
fn a_manifest_naming_a_file_that_is_not_a_segment_is_refused() {
    let _no_fork = no_fork_guard();
    for name in ["/dev/zero", "../../elsewhere.log", "", "seg-1.log"] {
        let tmp = tempfile::tempdir().unwrap();
        let (dest, _) = backup_fixture(tmp.path());
        // A well-formed manifest with a correct checksum: only the name is wrong.
        let inner = format!(
            r#"{{"format":1,"written_by":"incidents test","segments":[{{"name":{},"len":32,"range_bytes":1048576,"crc32":[0]}}]}}"#,
            serde_json::to_string(name).unwrap()
        );
        let crc = crc32fast::hash(inner.as_bytes());
        let path = dest.join(MANIFEST_FILE);
        std::fs::write(&path, format!(r#"{{"manifest":{inner},"crc32":{crc}}}"#)).unwrap();
        match FileStore::open(&dest) {
            Err(Error::Corrupt {
                path: at, reason, ..
            }) => {
                assert_eq!(at, path, "{name:?}");
                assert!(
                    reason.contains("not a segment file name"),
                    "{name:?}: {reason}"
                );
            }
            other => panic!("{name:?}: {other:?}"),
        }
        let report = FileStore::verify(&dest).unwrap();
        assert!(
            report.problems.iter().any(|p| p.path == path),
            "{name:?}: {:?}",
            report.problems
        );
    }
}

#[test]
fn a_zeroed_final_frame_inside_a_backups_manifest_is_damage_not_a_torn_write() {
    let _no_fork = no_fork_guard();
    let tmp = tempfile::tempdir().unwrap();
    let (dest, _) = backup_fixture(tmp.path());
    let path = newest(&dest);
    let mut bytes = std::fs::read(&path).unwrap();
    let (start, end) = *frames_in(&bytes).last().unwrap();
    bytes[start..end].fill(0);
    std::fs::write(&path, &bytes).unwrap();
    let store = FileStore::open(&dest).unwrap();
    let report = store.open_report().clone();
    drop(store);
    assert_eq!(report.torn_tail, None, "{report:?}");
    let tail = report.damaged_tail.expect("reported as damage");
    assert_eq!(
        (tail.offset, tail.bytes),
        (start as u64, (end - start) as u64)
    );
    assert!(tail.saved_to.is_some());
    // The manifest no longer matches, so it was set aside, and the store opens again.
    assert!(!dest.join(MANIFEST_FILE).exists());
    let again = FileStore::open(&dest).unwrap();
    assert_eq!(again.open_report().damaged_tail, None);
}

/// Fails the flush of the segments (not of quarantine files) while armed.
#[derive(Debug, Default)]
struct SegmentFlushFails {
    armed: AtomicBool,
}

impl FaultHook for SegmentFlushFails {
    fn on_sync(&self, path: &Path) -> Option<io::Error> {
        let segment = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("seg-"));
        (segment && self.armed.load(Ordering::SeqCst)).then(|| io::Error::from_raw_os_error(5))
    }
}

#[test]
fn a_failed_flush_while_cutting_a_tail_poisons_the_store() {
    let _no_fork = no_fork_guard();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let (model, offset) = store_with_tail(&dir, Tail::Zeros);
    let hook = Arc::new(SegmentFlushFails {
        armed: AtomicBool::new(true),
    });
    let store = FileStore::open_with(&dir, FileStoreOptions::new().fault_hook(hook.clone()))
        .expect("readable");
    assert!(store.open_report().deferred.is_some());
    assert_opened_with(&store, &model, "after the failed flush");
    // The cut may not be durable: no write may follow it, even once the disk recovers.
    hook.armed.store(false, Ordering::SeqCst);
    let mut more = model.clone();
    match append_one(&store, &mut more, 1) {
        Err(Error::Poisoned { cause: Some(cause) }) => {
            assert!(
                matches!(
                    &*cause,
                    Error::Io {
                        op: "fdatasync",
                        ..
                    }
                ),
                "{cause:?}"
            );
        }
        other => panic!("expected Poisoned, got {other:?}"),
    }
    drop(store);
    // Reopened, it reads everything and takes writes again.
    let store = FileStore::open(&dir).unwrap();
    assert_opened_with(&store, &model, "reopened");
    let mut model = model;
    append_one(&store, &mut model, 1).unwrap();
    assert_holds(&store, &model, "after a new append");
    assert!(std::fs::metadata(newest(&dir)).unwrap().len() > offset);
}
