//! The `FileStore`'s index checkpoint (`index.checkpoint`, written by `save_snapshot`): an
//! open that resumes from it finds exactly what a scan of every frame finds, on random logs
//! with random damage after the checkpoint's point; damage before the point that changes a
//! length or the bytes just before the point makes the open scan everything; and a checkpoint
//! that is damaged, foreign or stale is never trusted over the log.

use std::path::Path;

use incidents::store::file::{CHECKPOINT_FILE, Durability, SNAPSHOT_FILE};
use incidents::store::{FileStore, FileStoreOptions, OpenReport};
use incidents::{Error, Store, Version};
use proptest::prelude::*;

use crate::file_crash::{
    Model, OpenWindow, apply_plan, assert_store_is, evs, model_of, scanned, segment_files,
};
use crate::support::nth_id;

fn options() -> FileStoreOptions {
    // Small segments, so logs of a few dozen appends span several; `Buffered`, because the
    // checkpoint's save flushes anyway and the test makes many stores.
    FileStoreOptions::new()
        .segment_bytes(4096)
        .durability(Durability::Buffered)
        .checkpoint_on_close_after(u64::MAX)
}

/// Copies the segment files of `from` into `to` (not the checkpoint, not the snapshot).
fn copy_log(from: &Path, to: &Path) {
    for path in segment_files(from) {
        std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
    }
}

/// A store made of `before` appends, a snapshot (and so a checkpoint), then `after`
/// appends. Returns what it holds and the checkpoint's point: the segment's index and the
/// offset.
fn build(
    dir: &Path,
    before: &[Vec<(u64, u64)>],
    after: &[Vec<(u64, u64)>],
) -> (Model, (usize, u64)) {
    build_by(dir, before, after, false)
}

/// As [`build`]; with `at_close`, the checkpoint is written by closing the store (dropping it,
/// with a checkpoint at close asked for) after `before` and reopening it, not by a snapshot.
fn build_by(
    dir: &Path,
    before: &[Vec<(u64, u64)>],
    after: &[Vec<(u64, u64)>],
    at_close: bool,
) -> (Model, (usize, u64)) {
    let mut store = FileStore::open_with(dir, options()).unwrap();
    let mut versions = Default::default();
    let mut frames = apply_plan(&store, before, &mut versions);
    if at_close {
        drop(store);
        store = FileStore::open_with(dir, options().checkpoint_on_close_after(0)).unwrap();
        drop(store);
        assert!(!dir.join(SNAPSHOT_FILE).exists());
        store = FileStore::open_with(dir, options()).unwrap();
    } else {
        store.save_snapshot(b"a projection").unwrap();
    }
    let files = segment_files(dir);
    let last = files.len() - 1;
    let point = (last, std::fs::metadata(&files[last]).unwrap().len());
    frames.extend(apply_plan(&store, after, &mut versions));
    drop(store);
    (model_of(&frames), point)
}

/// What may happen to the log once written.
#[derive(Debug, Clone)]
enum Damage {
    None,
    /// Cut the file holding byte `at` (of the segments laid end to end) there.
    Cut(u64),
    /// Flip bit `at % 8` of byte `at / 8`.
    Flip(u64),
    /// Bytes added at the end of the newest segment: zeros, or the pattern of a number.
    Extra {
        zeros: bool,
        len: usize,
    },
}

/// Applies `damage` to the segments in `dir`; returns the damaged byte's segment index and
/// offset, if it touched one inside the log.
fn damage(dir: &Path, damage: &Damage) -> Option<(usize, u64)> {
    let files = segment_files(dir);
    let lens: Vec<u64> = files
        .iter()
        .map(|f| std::fs::metadata(f).unwrap().len())
        .collect();
    let total: u64 = lens.iter().sum();
    let locate = |mut at: u64| -> (usize, u64) {
        at %= total;
        for (i, len) in lens.iter().enumerate() {
            if at < *len {
                return (i, at);
            }
            at -= len;
        }
        unreachable!("inside the total")
    };
    match damage {
        Damage::None => None,
        Damage::Cut(at) => {
            let (i, offset) = locate(*at);
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open(&files[i])
                .unwrap();
            file.set_len(offset).unwrap();
            Some((i, offset))
        }
        Damage::Flip(bit) => {
            let (i, offset) = locate(bit / 8);
            let mut bytes = std::fs::read(&files[i]).unwrap();
            bytes[offset as usize] ^= 1 << (bit % 8);
            std::fs::write(&files[i], bytes).unwrap();
            Some((i, offset))
        }
        Damage::Extra { zeros, len } => {
            let last = files.len() - 1;
            let mut bytes = std::fs::read(&files[last]).unwrap();
            let at = bytes.len() as u64;
            bytes.extend((0..*len).map(|n| if *zeros { 0 } else { (n * 37 + 11) as u8 }));
            std::fs::write(&files[last], bytes).unwrap();
            Some((last, at))
        }
    }
}

/// The parts of two open reports that must agree (paths differ: the stores are copies).
fn same_report(a: &OpenReport, b: &OpenReport) -> Result<(), String> {
    let tail = |r: &OpenReport| {
        (
            r.torn_tail
                .as_ref()
                .map(|t| (t.path.file_name().map(ToOwned::to_owned), t.offset, t.bytes)),
            r.damaged_tail.as_ref().map(|t| {
                (
                    t.path.file_name().map(ToOwned::to_owned),
                    t.offset,
                    t.bytes,
                    t.reason.clone(),
                )
            }),
        )
    };
    let counts = |r: &OpenReport| (r.segments, r.frames, r.events, r.incidents);
    if counts(a) != counts(b) || tail(a) != tail(b) {
        return Err(format!("{a:?}\nvs a full scan's\n{b:?}"));
    }
    Ok(())
}

/// Where a `Corrupt` error points, without the directory.
fn corrupt_at(error: &Error) -> Option<(std::ffi::OsString, u64, String)> {
    match error {
        Error::Corrupt {
            path,
            offset,
            reason,
        } => Some((path.file_name()?.to_owned(), *offset, reason.clone())),
        _ => None,
    }
}

/// The whole check for one log: see the module's doc.
fn check(
    before: &[Vec<(u64, u64)>],
    after: &[Vec<(u64, u64)>],
    at_close: bool,
    harm: &Damage,
    window: Option<usize>,
) -> Result<(), TestCaseError> {
    let _window = OpenWindow::set(window);
    let with = tempfile::tempdir().unwrap();
    let without = tempfile::tempdir().unwrap();
    let (model, point) = build_by(with.path(), before, after, at_close);
    copy_log(with.path(), without.path());
    let damaged = damage(with.path(), harm);
    prop_assert_eq!(damage(without.path(), harm), damaged);
    // Damage at or after the point leaves the checkpoint usable, and the scans must agree;
    // damage before it either makes the open scan everything (a length or the bytes just
    // before the point changed) or lies in frames the open does not read.
    let before_point = damaged.is_some_and(|at| at < point);
    let resumed = FileStore::open_read_only(with.path());
    let full = FileStore::open_read_only(without.path());
    match (&resumed, &full) {
        (Ok(a), Ok(b)) => {
            same_report(a.open_report(), b.open_report()).map_err(TestCaseError::fail)?;
            prop_assert_eq!(scanned(a), scanned(b));
            for id in model.keys() {
                prop_assert_eq!(a.version(*id).unwrap(), b.version(*id).unwrap());
            }
        }
        (Err(a), Err(b)) => {
            prop_assert!(corrupt_at(a).is_some(), "{a}");
            prop_assert_eq!(corrupt_at(a), corrupt_at(b));
        }
        (Ok(a), Err(b)) => {
            // Only a bit flipped in a frame the checkpoint vouched for: the open does not read
            // it, a read of that incident finds it.
            prop_assert!(
                matches!(harm, Damage::Flip(_))
                    && before_point
                    && a.open_report().vouched_bytes > 0,
                "opened from the checkpoint, but a full scan says {b}"
            );
            for (id, events) in &model {
                prop_assert_eq!(a.version(*id).unwrap(), Version::new(events.len() as u64));
                match a.load(*id) {
                    Ok(loaded) => prop_assert_eq!(&loaded, events),
                    Err(e) => prop_assert!(corrupt_at(&e).is_some(), "{e}"),
                }
            }
            prop_assert!(
                a.scan(&mut |_, _, _| Ok(())).is_err(),
                "a scan of every frame finds the flip"
            );
        }
        (Err(a), Ok(_)) => {
            return Err(TestCaseError::fail(format!(
                "a full scan opens, the checkpointed open fails: {a}"
            )));
        }
    }
    if !before_point {
        let vouched = resumed
            .as_ref()
            .map_or(1, |s| s.open_report().vouched_bytes);
        prop_assert!(
            vouched > 0 || point.0 == 0 && point.1 <= 32,
            "the checkpoint was not used"
        );
    }
    let opened = resumed.is_ok();
    drop((resumed, full));
    // Writing on: an open that cuts the tail and appends, then one more open from the same
    // (now older) checkpoint, holds everything.
    if opened && matches!(harm, Damage::None | Damage::Extra { .. }) {
        let store = FileStore::open_with(with.path(), options()).unwrap();
        let id = nth_id(0);
        let version = store.version(id).unwrap().get();
        let more = evs(0, version, 2);
        store.append(id, Version::new(version), &more).unwrap();
        drop(store);
        let mut model = model;
        model.entry(id).or_default().extend(more);
        let store = FileStore::open_with(with.path(), options()).unwrap();
        prop_assert!(store.open_report().vouched_bytes > 0 || point.1 <= 32);
        assert_store_is(&store, &model, &[], "after writing on");
    }
    Ok(())
}

/// One append: one incident, or a batch of two.
fn append() -> impl Strategy<Value = Vec<(u64, u64)>> {
    prop_oneof![
        3 => (0u64..6, 1u64..4).prop_map(|g| vec![g]),
        1 => (0u64..3, 3u64..6, 1u64..3, 1u64..3).prop_map(|(a, b, x, y)| vec![(a, x), (b, y)]),
    ]
}

fn harm() -> impl Strategy<Value = Damage> {
    prop_oneof![
        1 => Just(Damage::None),
        2 => any::<u64>().prop_map(Damage::Cut),
        3 => any::<u64>().prop_map(Damage::Flip),
        1 => (any::<bool>(), 1usize..80).prop_map(|(zeros, len)| Damage::Extra { zeros, len }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 96,
        ..ProptestConfig::default()
    })]

    #[test]
    fn an_open_from_the_index_checkpoint_finds_what_a_full_scan_finds(
        before in prop::collection::vec(append(), 1..40),
        after in prop::collection::vec(append(), 0..25),
        at_close in any::<bool>(),
        harm in harm(),
        window in prop::option::of(1usize..200),
    ) {
        check(&before, &after, at_close, &harm, window)?;
    }
}

#[test]
fn an_open_reads_only_the_log_after_the_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let plan: Vec<Vec<(u64, u64)>> = (0..60).map(|n| vec![(n % 5, 1 + n % 3)]).collect();
    let (model, point) = build(tmp.path(), &plan[..50], &plan[50..]);
    assert!(
        point.0 >= 2,
        "the log spans several segments before the point"
    );
    let store = FileStore::open(tmp.path()).unwrap();
    let report = store.open_report().clone();
    // Every segment before the point and the point's own up to it, headers aside.
    let files = segment_files(tmp.path());
    let sealed: u64 = files[..point.0]
        .iter()
        .map(|f| std::fs::metadata(f).unwrap().len() - 32)
        .sum();
    assert_eq!(report.vouched_bytes, sealed + point.1 - 32);
    assert_eq!(
        report.events,
        model.values().map(|e| e.len() as u64).sum::<u64>()
    );
    assert_eq!(report.frames, 60);
    assert_store_is(&store, &model, &[nth_id(9)], "opened from the checkpoint");
}

#[test]
fn a_damaged_foreign_or_outdated_checkpoint_is_not_trusted() {
    // Incidents 10-13 here and 70-73 in the other store: their events are the same size
    // (see `file_crash::ev`), so the two logs have the same lengths and only the point's
    // mark tells them apart.
    let plan: Vec<Vec<(u64, u64)>> = (0..40).map(|n| vec![(n % 4 + 10, 2)]).collect();
    let tmp = tempfile::tempdir().unwrap();
    let (model, _) = build(tmp.path(), &plan[..30], &plan[30..]);
    let path = tmp.path().join(CHECKPOINT_FILE);
    let good = std::fs::read(&path).unwrap();

    // A byte flipped anywhere in it: ignored, the open scans every frame.
    for at in [0, 9, 13, 20, good.len() / 2, good.len() - 1] {
        let mut bad = good.clone();
        bad[at] ^= 0x10;
        std::fs::write(&path, &bad).unwrap();
        let store = FileStore::open_read_only(tmp.path()).unwrap();
        assert_eq!(store.open_report().vouched_bytes, 0, "flip at {at}");
        assert_store_is(&store, &model, &[], &format!("flip at {at}"));
    }
    // Cut short, or empty.
    for len in [0, 5, 20, good.len() - 1] {
        std::fs::write(&path, &good[..len]).unwrap();
        let store = FileStore::open_read_only(tmp.path()).unwrap();
        assert_eq!(store.open_report().vouched_bytes, 0, "cut to {len}");
        assert_store_is(&store, &model, &[], &format!("cut to {len}"));
    }

    // Another store's checkpoint: its point's mark does not match this log.
    let other = tempfile::tempdir().unwrap();
    let other_plan: Vec<Vec<(u64, u64)>> = (0..40).map(|n| vec![(n % 4 + 70, 2)]).collect();
    build(other.path(), &other_plan[..30], &other_plan[30..]);
    for (mine, theirs) in segment_files(tmp.path())
        .iter()
        .zip(segment_files(other.path()))
    {
        let len = |p: &Path| std::fs::metadata(p).unwrap().len();
        assert_eq!(len(mine), len(&theirs), "the logs have the same lengths");
    }
    std::fs::copy(other.path().join(CHECKPOINT_FILE), &path).unwrap();
    let store = FileStore::open_read_only(tmp.path()).unwrap();
    assert_eq!(store.open_report().vouched_bytes, 0, "foreign");
    assert_store_is(&store, &model, &[nth_id(70)], "foreign");
    drop(store);

    // The log rewritten after the checkpoint: cut before its point (as a repair would), then
    // grown again with other events to the same length and beyond.
    std::fs::write(&path, &good).unwrap();
    let files = segment_files(tmp.path());
    for file in &files[1..] {
        std::fs::remove_file(file).unwrap();
    }
    let first_len = std::fs::metadata(&files[0]).unwrap().len();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&files[0])
        .unwrap();
    file.set_len(first_len / 2).unwrap();
    drop(file);
    // Whatever the cut left (a torn frame is cut at the open), the log is now shorter.
    let store = FileStore::open_with(tmp.path(), options()).unwrap();
    assert_eq!(store.open_report().vouched_bytes, 0, "shorter log");
    let mut rewritten = Model::new();
    for id in [nth_id(10), nth_id(11), nth_id(12), nth_id(13)] {
        rewritten.insert(id, store.load(id).unwrap());
    }
    let mut versions = rewritten
        .iter()
        .enumerate()
        .map(|(n, (_, events))| (n as u64 + 10, events.len() as u64))
        .collect();
    let frames = apply_plan(&store, &plan, &mut versions);
    for (id, events) in model_of(&frames) {
        rewritten.entry(id).or_default().extend(events);
    }
    drop(store);
    // The writable open removed the checkpoint it could not use; put it back, over the
    // rewritten log.
    assert!(!path.exists());
    std::fs::write(&path, &good).unwrap();
    let store = FileStore::open_read_only(tmp.path()).unwrap();
    assert_eq!(store.open_report().vouched_bytes, 0, "rewritten log");
    assert_store_is(&store, &rewritten, &[], "rewritten log");
}

#[test]
fn repair_removes_the_checkpoint_and_verify_still_reads_every_frame() {
    let plan: Vec<Vec<(u64, u64)>> = (0..40).map(|n| vec![(n % 4, 2)]).collect();
    let tmp = tempfile::tempdir().unwrap();
    let (_, point) = build(tmp.path(), &plan[..30], &plan[30..]);
    assert!(tmp.path().join(CHECKPOINT_FILE).exists());
    assert!(tmp.path().join(SNAPSHOT_FILE).exists());
    // A bit flipped in the first segment's first frame, long before the point.
    assert!(point.0 >= 1);
    let first = &segment_files(tmp.path())[0];
    let mut bytes = std::fs::read(first).unwrap();
    bytes[40] ^= 0x01;
    std::fs::write(first, bytes).unwrap();
    // Verify reads every frame and finds it, checkpoint or not.
    let report = FileStore::verify(tmp.path()).unwrap();
    assert!(!report.problems.is_empty(), "{report:?}");
    // The open from the checkpoint does not read that frame; a read of its incident does.
    let store = FileStore::open_read_only(tmp.path()).unwrap();
    assert!(store.open_report().vouched_bytes > 0);
    assert!(matches!(store.load(nth_id(0)), Err(Error::Corrupt { .. })));
    drop(store);
    // Repair moves the damage aside and the checkpoint with it: the next open scans all.
    let repaired = FileStore::repair(tmp.path()).unwrap();
    assert!(!repaired.quarantined.is_empty());
    assert!(!tmp.path().join(CHECKPOINT_FILE).exists());
    let store = FileStore::open(tmp.path()).unwrap();
    assert_eq!(store.open_report().vouched_bytes, 0);
    assert_eq!(
        store.open_report().events,
        0,
        "the damage was in the first frame"
    );
}

#[test]
fn a_clean_close_writes_a_checkpoint_once_enough_was_added() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let plan: Vec<Vec<(u64, u64)>> = (0..30).map(|n| vec![(n % 3, 2)]).collect();
    let close_after = |bytes| {
        FileStoreOptions::new()
            .segment_bytes(4096)
            .checkpoint_on_close_after(bytes)
    };
    let mut versions = Default::default();

    // The default asks for 16 MiB since the last checkpoint: a small log gets none.
    let store = FileStore::open(dir).unwrap();
    let mut frames = apply_plan(&store, &plan[..10], &mut versions);
    drop(store);
    assert!(!dir.join(CHECKPOINT_FILE).exists());

    // A threshold the log passed: written at close, and the next open resumes from it.
    let store = FileStore::open_with(dir, close_after(1024)).unwrap();
    assert_eq!(store.open_report().vouched_bytes, 0);
    frames.extend(apply_plan(&store, &plan[10..20], &mut versions));
    drop(store);
    assert!(dir.join(CHECKPOINT_FILE).exists());
    let store = FileStore::open_with(dir, close_after(1024)).unwrap();
    let log: u64 = segment_files(dir)
        .iter()
        .map(|f| std::fs::metadata(f).unwrap().len() - 32)
        .sum();
    assert_eq!(
        store.open_report().vouched_bytes,
        log,
        "the whole log, as it stood at close"
    );
    assert_store_is(
        &store,
        &model_of(&frames),
        &[],
        "after a close with a checkpoint",
    );

    // Nothing added since: the close leaves the checkpoint as it is.
    let written = std::fs::read(dir.join(CHECKPOINT_FILE)).unwrap();
    let modified = || {
        std::fs::metadata(dir.join(CHECKPOINT_FILE))
            .unwrap()
            .modified()
            .unwrap()
    };
    let before = modified();
    drop(store);
    assert_eq!(std::fs::read(dir.join(CHECKPOINT_FILE)).unwrap(), written);
    assert_eq!(modified(), before);

    // A read-only store never writes one.
    std::fs::remove_file(dir.join(CHECKPOINT_FILE)).unwrap();
    drop(FileStore::open_read_only(dir).unwrap());
    assert!(!dir.join(CHECKPOINT_FILE).exists());

    // Less than the threshold since the last one: none.
    let store = FileStore::open_with(dir, close_after(1 << 30)).unwrap();
    frames.extend(apply_plan(&store, &plan[20..], &mut versions));
    drop(store);
    assert!(!dir.join(CHECKPOINT_FILE).exists());
    let store = FileStore::open(dir).unwrap();
    assert_store_is(&store, &model_of(&frames), &[], "after the last close");
}
