//! Crash safety of the `FileStore`: torn writes, bit flips, repair, the directory lock,
//! `kill -9` of a writing process, injected write and flush failures, and backups taken while
//! other threads append.
//!
//! The randomised tests print their seed when they fail; set `INCIDENTS_CRASH_SEED=<n>` to
//! replay one. The `#[ignore]`d tests `child_supervisor` and `child_append_until_killed` are
//! not tests of their own: the lock and kill tests run this binary again with
//! `--ignored --exact <name>` and an environment variable set, to get a second process (see
//! "Tests in a second process" below); run alone, without that variable, they fail. The other `#[ignore]`d tests demonstrate bugs, named in their reasons.

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};
use std::sync::{Arc, Barrier, Mutex, MutexGuard, RwLock, RwLockReadGuard};

use incidents::store::file::format::{FILE_HEADER_LEN, FRAME_HEADER_LEN};
use incidents::store::file::{FaultHook, QUARANTINE_DIR};
use incidents::store::{Append, FileStore, FileStoreOptions};
use incidents::{Error, Event, IncidentId, Store, Version};
use proptest::prelude::*;

use crate::support::{note_event, nth_id};

// ---------------------------------------------------------------------------------------------
// helpers

pub(crate) type Model = BTreeMap<IncidentId, Vec<Event>>;

/// The groups of one frame, as appended: each incident and its events.
pub(crate) type Frame = Vec<(IncidentId, Vec<Event>)>;

/// Event number `version` of incident `incident`: deterministic, so that anything loaded can
/// be checked, and of a size that varies from event to event.
fn ev(incident: u64, version: u64) -> Event {
    let pad = "x".repeat(((incident * 31 + version * 17) % 60) as usize);
    note_event(
        version,
        &format!("incident {incident} event {version} {pad}"),
    )
}

/// The `count` events of `incident` after version `after`.
pub(crate) fn evs(incident: u64, after: u64, count: u64) -> Vec<Event> {
    (after + 1..=after + count)
        .map(|v| ev(incident, v))
        .collect()
}

fn seg_path(dir: &Path, n: usize) -> PathBuf {
    dir.join(format!("seg-{n:08}.log"))
}

/// The segment files in `dir`, in order.
pub(crate) fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with("seg-") && name.ends_with(".log")
        })
        .collect();
    found.sort();
    found
}

/// Copies the segment files of `from` into `to`.
fn copy_segments(from: &Path, to: &Path) {
    for path in segment_files(from) {
        std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
    }
}

/// The files in `dir/quarantine`, sorted (none if it does not exist).
fn quarantine_files(dir: &Path) -> Vec<PathBuf> {
    let qdir = dir.join(QUARANTINE_DIR);
    if !qdir.exists() {
        return Vec::new();
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir(qdir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    found.sort();
    found
}

/// `(start, end)` of every frame of a segment, read with the documented layout: a 32-byte file
/// header, then frames of a 16-byte header (body length first) and a body.
fn frame_bounds(bytes: &[u8]) -> Vec<(usize, usize)> {
    assert!(bytes.len() >= FILE_HEADER_LEN);
    let mut out = Vec::new();
    let mut pos = FILE_HEADER_LEN;
    while pos < bytes.len() {
        let body = u32::from_le_bytes(bytes[pos..pos + 4].try_into().unwrap()) as usize;
        let end = pos + FRAME_HEADER_LEN + body;
        assert!(end <= bytes.len(), "frame at {pos} runs past the end");
        out.push((pos, end));
        pos = end;
    }
    out
}

/// Appends `plan` (per append: `(incident, count)` groups; more than one group is a batch),
/// continuing from `versions`. Returns what each append (each frame) held.
pub(crate) fn apply_plan(
    store: &FileStore,
    plan: &[Vec<(u64, u64)>],
    versions: &mut BTreeMap<u64, u64>,
) -> Vec<Frame> {
    let mut frames = Vec::new();
    for groups in plan {
        let mut owned = Vec::new();
        for &(incident, count) in groups {
            let v = versions.entry(incident).or_insert(0);
            owned.push((incident, *v, evs(incident, *v, count)));
            *v += count;
        }
        let batch: Vec<Append<'_>> = owned
            .iter()
            .map(|(incident, v, events)| Append {
                id: nth_id(*incident),
                expected: Version::new(*v),
                events,
            })
            .collect();
        if batch.len() == 1 {
            store
                .append(batch[0].id, batch[0].expected, batch[0].events)
                .unwrap();
        } else {
            store.append_batch(&batch).unwrap();
        }
        frames.push(
            owned
                .into_iter()
                .map(|(incident, _, events)| (nth_id(incident), events))
                .collect(),
        );
    }
    frames
}

pub(crate) fn model_of(frames: &[Frame]) -> Model {
    let mut model = Model::new();
    for frame in frames {
        for (id, events) in frame {
            model.entry(*id).or_default().extend(events.iter().cloned());
        }
    }
    model
}

fn event_count(model: &Model) -> u64 {
    model.values().map(|e| e.len() as u64).sum()
}

/// Every `(incident, version, event)` the store's `scan` returns, sorted.
pub(crate) fn scanned(store: &FileStore) -> Vec<(IncidentId, Version, Event)> {
    let mut out = Vec::new();
    store
        .scan(&mut |id, v, e| {
            out.push((id, v, e.clone()));
            Ok(())
        })
        .unwrap();
    out.sort_by_key(|(id, v, _)| (*id, *v));
    out
}

pub(crate) fn model_rows(model: &Model) -> Vec<(IncidentId, Version, Event)> {
    let mut out = Vec::new();
    for (id, events) in model {
        for (n, event) in events.iter().enumerate() {
            out.push((*id, Version::new(n as u64 + 1), event.clone()));
        }
    }
    out
}

/// The store holds exactly `model`: through `load` and `version` of every id in `ids` (and of
/// the model), and through `scan`.
pub(crate) fn assert_store_is(store: &FileStore, model: &Model, ids: &[IncidentId], context: &str) {
    for id in ids.iter().chain(model.keys()) {
        let expected = model.get(id).cloned().unwrap_or_default();
        assert_eq!(store.load(*id).unwrap(), expected, "{context}: load({id})");
        assert_eq!(
            store.version(*id).unwrap(),
            Version::new(expected.len() as u64),
            "{context}: version({id})"
        );
    }
    assert_eq!(scanned(store), model_rows(model), "{context}: scan");
}

/// A seed for the randomised tests: `INCIDENTS_CRASH_SEED`, or one from the clock.
fn seed() -> u64 {
    match std::env::var("INCIDENTS_CRASH_SEED") {
        Ok(s) => s.parse().expect("INCIDENTS_CRASH_SEED must be a number"),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64,
    }
}

/// SplitMix64: small, seedable, good enough to pick offsets.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn small_segments() -> FileStoreOptions {
    FileStoreOptions::new().segment_bytes(4096)
}

/// A command running this test binary again with only the ignored test `name` selected.
fn child_process(name: &str) -> Process {
    let mut command = Process::new(std::env::current_exe().unwrap());
    command.args([
        "--ignored",
        "--exact",
        name,
        "--nocapture",
        "--test-threads=1",
    ]);
    command
}

// ---------------------------------------------------------------------------------------------
// 1. torn writes

/// Ten appends of varying sizes, two of them batches, into one segment.
fn torn_plan() -> Vec<Vec<(u64, u64)>> {
    vec![
        vec![(1, 1)],
        vec![(2, 3)],
        vec![(1, 2)],
        vec![(3, 1)],
        vec![(1, 1), (2, 2)],
        vec![(3, 4)],
        vec![(2, 1)],
        vec![(1, 3), (3, 1)],
        vec![(2, 2)],
        vec![(1, 1)],
    ]
}

/// A one-segment store holding `torn_plan()`: its segment's bytes and the frames.
fn torn_fixture() -> (Vec<u8>, Vec<(usize, usize)>, Vec<Frame>) {
    let src = tempfile::tempdir().unwrap();
    let store = FileStore::open(src.path()).unwrap();
    let frames = apply_plan(&store, &torn_plan(), &mut BTreeMap::new());
    drop(store);
    assert_eq!(segment_files(src.path()).len(), 1);
    let bytes = std::fs::read(seg_path(src.path(), 1)).unwrap();
    let bounds = frame_bounds(&bytes);
    assert_eq!(bounds.len(), frames.len());
    (bytes, bounds, frames)
}

/// Makes opens on this thread read segments `bytes` at a time while it lives (`None`: the
/// default 4 MiB, more than these tests' segments): the same outcome either way.
pub(crate) struct OpenWindow;

impl OpenWindow {
    pub(crate) fn set(bytes: Option<usize>) -> OpenWindow {
        incidents::testing::open_reads_in(bytes);
        OpenWindow
    }
}

impl Drop for OpenWindow {
    fn drop(&mut self) {
        incidents::testing::open_reads_in(None);
    }
}

/// Opens a copy of the one-segment store `original` cut at `cut` and checks everything a torn
/// tail promises: the complete frames kept, the rest reported and saved, appends continue.
fn check_cut(original: &[u8], cut: usize, bounds: &[(usize, usize)], frames: &[Frame]) {
    // Half the cuts are opened reading a few bytes at a time, so reads end anywhere in
    // a frame too.
    let _window = OpenWindow::set((cut % 2 == 1).then_some(1 + cut % 37));
    let ids: Vec<IncidentId> = (1..=3).map(nth_id).collect();
    let context = format!("cut at {cut} of {}", original.len());
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let seg = seg_path(dir, 1);
    std::fs::write(&seg, &original[..cut]).unwrap();

    let kept = bounds.iter().take_while(|(_, end)| *end <= cut).count();
    // Where the segment ends once the torn part is cut: at the last complete frame, or before
    // a file header that is itself incomplete.
    let valid = if cut < FILE_HEADER_LEN {
        0
    } else if kept == 0 {
        FILE_HEADER_LEN
    } else {
        bounds[kept - 1].1
    };
    let mut model = model_of(&frames[..kept]);

    let store = FileStore::open(dir).unwrap_or_else(|e| panic!("{context}: open failed: {e}"));
    let report = store.open_report().clone();
    assert_eq!(
        (
            report.segments,
            report.frames,
            report.events,
            report.incidents
        ),
        (1, kept as u64, event_count(&model), model.len()),
        "{context}: {report:?}"
    );
    if cut > valid {
        let torn = report
            .torn_tail
            .clone()
            .unwrap_or_else(|| panic!("{context}: no torn tail reported"));
        assert_eq!(
            (&torn.path, torn.offset, torn.bytes),
            (&seg, valid as u64, (cut - valid) as u64),
            "{context}"
        );
        let saved_to = torn
            .saved_to
            .clone()
            .unwrap_or_else(|| panic!("{context}: the torn tail was not saved"));
        assert!(
            saved_to.starts_with(dir.join(QUARANTINE_DIR)),
            "{context}: saved to {}",
            saved_to.display()
        );
        assert_eq!(
            std::fs::read(&saved_to).unwrap(),
            &original[valid..cut],
            "{context}: quarantined bytes"
        );
        assert_eq!(quarantine_files(dir), vec![saved_to], "{context}");
        assert_eq!(report.damaged_tail, None, "{context}");
    } else {
        assert_eq!(report.torn_tail, None, "{context}");
        assert_eq!(quarantine_files(dir), Vec::<PathBuf>::new(), "{context}");
    }
    // The segment now ends where the valid part does (a header is rewritten if it was cut).
    assert_eq!(
        std::fs::metadata(&seg).unwrap().len(),
        valid.max(FILE_HEADER_LEN) as u64,
        "{context}: segment length after open"
    );
    assert_store_is(&store, &model, &ids, &context);

    // A new append lands after the cut and survives a reopen.
    let id = ids[1];
    let have = model.get(&id).map_or(0, |e| e.len() as u64);
    let extra = evs(2, have, 1);
    assert_eq!(
        store.append(id, Version::new(have), &extra).unwrap(),
        Version::new(have + 1),
        "{context}"
    );
    model.entry(id).or_default().extend(extra);
    drop(store);
    let store = FileStore::open(dir).unwrap_or_else(|e| panic!("{context}: reopen failed: {e}"));
    assert_eq!(store.open_report().torn_tail, None, "{context}: on reopen");
    assert_eq!(store.open_report().frames, kept as u64 + 1, "{context}");
    assert_store_is(&store, &model, &ids, &format!("{context}, reopened"));
}

#[test]
fn every_cut_in_the_last_three_frames_is_a_torn_tail_cut_and_saved() {
    let _no_fork = no_fork_now();
    let (bytes, bounds, frames) = torn_fixture();
    let from = bounds[bounds.len() - 3].0;
    for cut in from..=bytes.len() {
        check_cut(&bytes, cut, &bounds, &frames);
    }
}

/// A write torn inside the last frame's header, the rest of the frame's place left as zeros
/// (the file grew, the data did not all arrive): an unfinished write, not damage. Found by
/// the simulator (seed 5, step 1064 of `tests/sim`): such a store refused to open.
#[test]
fn sim_seed_5_a_frame_header_torn_before_zeros_is_a_torn_tail() {
    let _no_fork = no_fork_now();
    let (bytes, bounds, frames) = torn_fixture();
    let (start, end) = bounds[bounds.len() - 1];
    let model = model_of(&frames[..frames.len() - 1]);
    let ids: Vec<IncidentId> = (1..=3).map(nth_id).collect();
    // Every tear inside the header, and a little past the file's end.
    for cut in start..start + FRAME_HEADER_LEN {
        for pad in [end, end + 7] {
            let context = format!("header torn at {} of {}, zeros to {pad}", cut - start, end);
            let tmp = tempfile::tempdir().unwrap();
            let mut torn = bytes[..cut].to_vec();
            torn.resize(pad, 0);
            std::fs::write(seg_path(tmp.path(), 1), &torn).unwrap();
            let store = FileStore::open(tmp.path())
                .unwrap_or_else(|e| panic!("{context}: open failed: {e}"));
            let report = store.open_report().clone();
            assert_eq!(report.frames, frames.len() as u64 - 1, "{context}");
            let tail = report
                .torn_tail
                .clone()
                .unwrap_or_else(|| panic!("{context}: no torn tail"));
            assert_eq!(
                (tail.offset, tail.bytes),
                (start as u64, (pad - start) as u64),
                "{context}"
            );
            assert_eq!(report.damaged_tail, None, "{context}");
            assert_store_is(&store, &model, &ids, &context);
        }
    }
}

#[test]
fn cuts_anywhere_in_the_segment_are_torn_tails() {
    let _no_fork = no_fork_now();
    let (bytes, bounds, frames) = torn_fixture();
    let seed = seed();
    let mut rng = Rng(seed);
    // Always the edges: an empty file, a cut file header, a header without frames.
    let mut cuts = vec![
        0,
        1,
        FILE_HEADER_LEN - 1,
        FILE_HEADER_LEN,
        FILE_HEADER_LEN + 1,
    ];
    cuts.extend((0..30).map(|_| rng.below(bytes.len() as u64 + 1) as usize));
    for cut in cuts {
        let result = std::panic::catch_unwind(|| check_cut(&bytes, cut, &bounds, &frames));
        if let Err(panic) = result {
            eprintln!("seed {seed}");
            std::panic::resume_unwind(panic);
        }
    }
}

/// A store of exactly `segments` segments of 4 KiB, the last holding at least three frames;
/// returns its directory and what each frame held, in order.
fn multi_segment_store(segments: usize) -> (tempfile::TempDir, Vec<Frame>) {
    let src = tempfile::tempdir().unwrap();
    let store = FileStore::open_with(src.path(), small_segments()).unwrap();
    let mut versions = BTreeMap::new();
    let mut frames = Vec::new();
    let mut n = 0u64;
    loop {
        let files = segment_files(src.path());
        assert!(files.len() <= segments);
        if files.len() == segments
            && frame_bounds(&std::fs::read(&files[segments - 1]).unwrap()).len() >= 3
        {
            break;
        }
        let plan = if n % 5 == 4 {
            vec![(n % 4, 1 + n % 2), ((n + 1) % 4, 2)]
        } else {
            vec![(n % 4, 1 + n % 3)]
        };
        frames.extend(apply_plan(&store, &[plan], &mut versions));
        n += 1;
    }
    drop(store);
    (src, frames)
}

#[test]
fn a_cut_inside_a_frame_of_an_older_segment_is_corruption_at_that_frame() {
    let _no_fork = no_fork_now();
    let (src, frames) = multi_segment_store(3);
    let segs = segment_files(src.path());
    assert!(segs.len() >= 3, "{} segments", segs.len());
    // The frames across all segments are the appends, in order.
    let total: usize = segs
        .iter()
        .map(|p| frame_bounds(&std::fs::read(p).unwrap()).len())
        .sum();
    assert_eq!(total, frames.len());

    for (index, path) in segs.iter().enumerate().take(segs.len() - 1) {
        let bytes = std::fs::read(path).unwrap();
        let bounds = frame_bounds(&bytes);
        assert!(
            bounds.len() >= 3,
            "segment {} has {} frames",
            index + 1,
            bounds.len()
        );
        // (cut, where the damage must be reported)
        let mut cuts = vec![(0, 0), (1, 0), (FILE_HEADER_LEN - 1, 0)];
        for (start, end) in [
            bounds[0],
            bounds[bounds.len() / 2],
            bounds[bounds.len() - 1],
        ] {
            for cut in [
                start + 1,
                start + FRAME_HEADER_LEN - 1,
                start + FRAME_HEADER_LEN,
                (start + end) / 2,
                end - 1,
            ] {
                cuts.push((cut, start));
            }
        }
        for (cut, offset) in cuts {
            let tmp = tempfile::tempdir().unwrap();
            copy_segments(src.path(), tmp.path());
            let target = seg_path(tmp.path(), index + 1);
            std::fs::write(&target, &bytes[..cut]).unwrap();
            match FileStore::open(tmp.path()) {
                Err(Error::Corrupt {
                    path, offset: at, ..
                }) => assert_eq!(
                    (&path, at),
                    (&target, offset as u64),
                    "segment {} cut at {cut}",
                    index + 1
                ),
                Err(other) => panic!("segment {} cut at {cut}: {other}", index + 1),
                Ok(store) => panic!(
                    "segment {} cut at {cut}: opened with {:?}",
                    index + 1,
                    store.open_report()
                ),
            }
            // A refused open changes nothing.
            assert_eq!(std::fs::read(&target).unwrap(), &bytes[..cut]);
            assert_eq!(quarantine_files(tmp.path()), Vec::<PathBuf>::new());
        }
    }
}

#[test]

fn a_cut_at_a_frame_boundary_of_an_older_segment_is_not_silent() {
    let _no_fork = no_fork_now();
    // Every append goes to an incident of its own, so that no later frame continues the
    // incident of a lost frame (that continuity check is what catches most such cuts today).
    let src = tempfile::tempdir().unwrap();
    let store = FileStore::open_with(src.path(), small_segments()).unwrap();
    let mut n = 0;
    while segment_files(src.path()).len() < 3 {
        store
            .append(nth_id(n), Version::ZERO, &evs(n, 0, 2))
            .unwrap();
        n += 1;
    }
    drop(store);
    let seg1 = seg_path(src.path(), 1);
    let bytes = std::fs::read(&seg1).unwrap();
    let bounds = frame_bounds(&bytes);
    let (last_start, _) = bounds[bounds.len() - 1];
    let tmp = tempfile::tempdir().unwrap();
    copy_segments(src.path(), tmp.path());
    std::fs::write(seg_path(tmp.path(), 1), &bytes[..last_start]).unwrap();
    match FileStore::open(tmp.path()) {
        Err(Error::Corrupt { path, .. }) => assert_eq!(path, seg_path(tmp.path(), 1)),
        Err(other) => panic!("{other}"),
        Ok(store) => panic!(
            "opened without a word, {} acknowledged appends lost: {:?}",
            n - store.open_report().frames,
            store.open_report()
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// 2. bit flips and zero-filled tails

/// Flips bit `bit` of segment `n` (of the copy in `dir`), opens, and checks that the open is
/// refused with corruption at the start of the frame holding that bit (0 for the file header)
/// — except for a bit in the body of the newest segment's final frame (`newest`): that
/// complete frame fails its checksum and is set aside, saved to quarantine and reported.
fn check_flip(
    dir: &Path,
    n: usize,
    bytes: &[u8],
    bounds: &[(usize, usize)],
    bit: usize,
    newest: bool,
) {
    let _window = OpenWindow::set((bit % 2 == 1).then_some(1 + bit % 41));
    let byte = bit / 8;
    let mut flipped = bytes.to_vec();
    flipped[byte] ^= 1 << (bit % 8);
    let target = seg_path(dir, n);
    std::fs::write(&target, &flipped).unwrap();
    let (last_start, last_end) = bounds[bounds.len() - 1];
    if newest && byte >= last_start + FRAME_HEADER_LEN {
        let store = FileStore::open(dir).unwrap_or_else(|e| {
            panic!("bit {bit} (byte {byte}) in the final frame's body: refused: {e}")
        });
        let report = store.open_report().clone();
        drop(store);
        let tail = report
            .damaged_tail
            .unwrap_or_else(|| panic!("bit {bit}: no damaged tail reported"));
        assert_eq!(report.torn_tail, None, "bit {bit}");
        assert_eq!(
            (&tail.path, tail.offset, tail.bytes),
            (&target, last_start as u64, (last_end - last_start) as u64),
            "bit {bit}"
        );
        let saved = tail.saved_to.expect("saved to quarantine");
        assert_eq!(
            std::fs::read(&saved).unwrap(),
            &flipped[last_start..],
            "bit {bit}"
        );
        assert_eq!(std::fs::metadata(&target).unwrap().len(), last_start as u64);
        std::fs::remove_dir_all(dir.join(QUARANTINE_DIR)).unwrap();
        return;
    }
    let expected = if byte < FILE_HEADER_LEN {
        0
    } else {
        bounds
            .iter()
            .find(|(start, end)| (*start..*end).contains(&byte))
            .unwrap()
            .0
    };
    match FileStore::open(dir) {
        Err(Error::Corrupt { path, offset, .. }) => assert_eq!(
            (&path, offset),
            (&target, expected as u64),
            "segment {n}, bit {bit} (byte {byte})"
        ),
        Err(other) => panic!("segment {n}, bit {bit} (byte {byte}): {other}"),
        Ok(store) => panic!(
            "segment {n}, bit {bit} (byte {byte}) flipped, yet the store opened: {:?}",
            store.open_report()
        ),
    }
    assert_eq!(
        std::fs::read(&target).unwrap(),
        flipped,
        "a refused open changed segment {n} (bit {bit})"
    );
}

#[test]
fn every_bit_flip_is_corruption_at_the_damaged_frame_or_a_final_frame_set_aside() {
    let _no_fork = no_fork_now();
    let seed = seed();
    let mut rng = Rng(seed);
    // Segment 1 full, segment 2 (the last, where a torn tail may be) with a few frames.
    let src = tempfile::tempdir().unwrap();
    let store = FileStore::open_with(src.path(), small_segments()).unwrap();
    let mut versions = BTreeMap::new();
    let mut n = 0u64;
    while segment_files(src.path()).len() < 2
        || frame_bounds(&std::fs::read(seg_path(src.path(), 2)).unwrap()).len() < 4
    {
        let plan = if n % 3 == 2 {
            vec![(n % 3, 1), (n % 3 + 1, 2)]
        } else {
            vec![(n % 3, 1 + n % 2)]
        };
        apply_plan(&store, &[plan], &mut versions);
        n += 1;
    }
    drop(store);
    assert_eq!(segment_files(src.path()).len(), 2);
    let tmp = tempfile::tempdir().unwrap();
    copy_segments(src.path(), tmp.path());
    FileStore::open(tmp.path()).expect("the unflipped copy opens");

    // The last segment: every bit.
    let last = std::fs::read(seg_path(src.path(), 2)).unwrap();
    let last_bounds = frame_bounds(&last);
    for bit in 0..last.len() * 8 {
        check_flip(tmp.path(), 2, &last, &last_bounds, bit, true);
    }
    std::fs::write(seg_path(tmp.path(), 2), &last).unwrap();

    // The older segment: every bit of its header, first two frames and last frame, and a
    // random sample of the rest.
    let first = std::fs::read(seg_path(src.path(), 1)).unwrap();
    let bounds = frame_bounds(&first);
    let mut bits: Vec<usize> = (0..bounds[1].1 * 8).collect();
    bits.extend(bounds[bounds.len() - 1].0 * 8..first.len() * 8);
    bits.extend((0..300).map(|_| rng.below(first.len() as u64 * 8) as usize));
    for bit in bits {
        let result =
            std::panic::catch_unwind(|| check_flip(tmp.path(), 1, &first, &bounds, bit, false));
        if let Err(panic) = result {
            eprintln!("seed {seed}");
            std::panic::resume_unwind(panic);
        }
    }
}

#[test]
fn a_zero_filled_tail_is_a_torn_tail() {
    let _no_fork = no_fork_now();
    let src = tempfile::tempdir().unwrap();
    let store = FileStore::open(src.path()).unwrap();
    let frames = apply_plan(&store, &torn_plan()[..4], &mut BTreeMap::new());
    drop(store);
    let model = model_of(&frames);
    let ids: Vec<IncidentId> = (1..=3).map(nth_id).collect();
    let seg = seg_path(src.path(), 1);
    let len = std::fs::metadata(&seg).unwrap().len();
    let mut file = std::fs::OpenOptions::new().append(true).open(&seg).unwrap();
    file.write_all(&[0u8; 100]).unwrap();
    drop(file);

    let store = FileStore::open(src.path()).unwrap();
    let torn = store.open_report().torn_tail.clone().expect("torn tail");
    assert_eq!((&torn.path, torn.offset, torn.bytes), (&seg, len, 100));
    assert_eq!(
        std::fs::read(torn.saved_to.as_ref().unwrap()).unwrap(),
        vec![0u8; 100]
    );
    assert_eq!(std::fs::metadata(&seg).unwrap().len(), len);
    assert_store_is(&store, &model, &ids, "after the zero tail");
    let v = store.version(ids[0]).unwrap();
    store.append(ids[0], v, &evs(1, v.get(), 1)).unwrap();
    drop(store);
    let store = FileStore::open(src.path()).unwrap();
    assert_eq!(store.open_report().torn_tail, None);
    assert_eq!(store.open_report().frames, 5);
}

#[test]
fn a_zero_filled_tail_in_an_older_segment_is_corruption() {
    let _no_fork = no_fork_now();
    let (src, _) = multi_segment_store(2);
    let seg = seg_path(src.path(), 1);
    let len = std::fs::metadata(&seg).unwrap().len();
    let mut file = std::fs::OpenOptions::new().append(true).open(&seg).unwrap();
    file.write_all(&[0u8; 100]).unwrap();
    drop(file);
    match FileStore::open(src.path()) {
        Err(Error::Corrupt { path, offset, .. }) => assert_eq!((path, offset), (seg, len)),
        other => panic!("expected corruption, got {other:?}"),
    }
}

#[test]

fn a_final_frame_ending_in_zeros_is_set_aside_not_called_torn() {
    let _no_fork = no_fork_now();
    // A power loss while the last frame was being written can leave the file at its new size
    // with the frame's later blocks never written: they read as zeros. A failed sector looks
    // the same. The store cannot tell an unacknowledged write from an acknowledged append
    // here, so it sets the frame aside and reports it as damage, apart from torn tails.
    let src = tempfile::tempdir().unwrap();
    let store = FileStore::open(src.path()).unwrap();
    let frames = apply_plan(&store, &torn_plan(), &mut BTreeMap::new());
    drop(store);
    let seg = seg_path(src.path(), 1);
    let bytes = std::fs::read(&seg).unwrap();
    let bounds = frame_bounds(&bytes);
    let (start, end) = bounds[bounds.len() - 1];
    let mut damaged = bytes.clone();
    for b in &mut damaged[start + FRAME_HEADER_LEN + 8..end] {
        *b = 0;
    }
    std::fs::write(&seg, &damaged).unwrap();
    let store = match FileStore::open(src.path()) {
        Ok(store) => store,
        Err(e) => panic!("the shop is locked out by a damaged final frame: {e}"),
    };
    assert_eq!(store.open_report().torn_tail, None);
    let tail = store
        .open_report()
        .damaged_tail
        .clone()
        .expect("damaged tail");
    assert_eq!(
        (tail.offset, tail.bytes),
        (start as u64, (end - start) as u64)
    );
    assert!(tail.reason.contains("checksum"), "{}", tail.reason);
    let saved = tail.saved_to.clone().expect("saved to quarantine");
    assert_eq!(std::fs::read(&saved).unwrap(), &damaged[start..end]);
    let ids: Vec<IncidentId> = (1..=3).map(nth_id).collect();
    assert_store_is(
        &store,
        &model_of(&frames[..frames.len() - 1]),
        &ids,
        "zeroed final frame",
    );
    drop(store);
    let again = FileStore::open(src.path()).unwrap();
    assert_eq!(again.open_report().damaged_tail, None, "set aside once");
}

// ---------------------------------------------------------------------------------------------
// 3. repair

#[test]
fn repair_moves_the_damage_and_everything_after_it_into_quarantine() {
    let _no_fork = no_fork_now();
    let (src, frames) = multi_segment_store(4);
    let dir = src.path();
    let segs = segment_files(dir);
    assert_eq!(segs.len(), 4);
    let originals: Vec<Vec<u8>> = segs.iter().map(|p| std::fs::read(p).unwrap()).collect();
    let all_bytes: u64 = originals.iter().map(|b| b.len() as u64).sum();

    // Damage one byte in the body of the middle frame of segment 2.
    let bounds2 = frame_bounds(&originals[1]);
    let middle = bounds2.len() / 2;
    let (start, end) = bounds2[middle];
    let mut seg2 = originals[1].clone();
    let at = start + FRAME_HEADER_LEN + (end - start - FRAME_HEADER_LEN) / 2;
    seg2[at] ^= 0x5a;
    std::fs::write(&segs[1], &seg2).unwrap();
    let mut damaged = originals.clone();
    damaged[1] = seg2;

    match FileStore::open(dir) {
        Err(Error::Corrupt { path, offset, .. }) => {
            assert_eq!((&path, offset), (&segs[1], start as u64));
        }
        other => panic!("expected corruption, got {other:?}"),
    }

    let report = FileStore::repair(dir).unwrap();
    let moved: Vec<(PathBuf, u64, u64)> = report
        .quarantined
        .iter()
        .map(|q| (q.path.clone(), q.offset, q.bytes))
        .collect();
    let mut moved_sorted = moved.clone();
    moved_sorted.sort();
    assert_eq!(
        moved_sorted,
        vec![
            (
                segs[1].clone(),
                start as u64,
                (damaged[1].len() - start) as u64
            ),
            (segs[2].clone(), 0, damaged[2].len() as u64),
            (segs[3].clone(), 0, damaged[3].len() as u64),
        ],
        "{report:?}"
    );
    let quarantined: u64 = report.quarantined.iter().map(|q| q.bytes).sum();
    assert_eq!(
        quarantined,
        (damaged[1].len() - start + damaged[2].len() + damaged[3].len()) as u64
    );
    // The quarantine holds exactly those bytes, and nothing else.
    for q in &report.quarantined {
        let index = segs.iter().position(|p| *p == q.path).unwrap();
        assert_eq!(
            std::fs::read(&q.saved_to).unwrap(),
            &damaged[index][q.offset as usize..],
            "{}",
            q.saved_to.display()
        );
        assert!(!q.reason.is_empty());
    }
    let mut saved: Vec<PathBuf> = report
        .quarantined
        .iter()
        .map(|q| q.saved_to.clone())
        .collect();
    saved.sort();
    assert_eq!(quarantine_files(dir), saved);
    // No byte deleted: what stayed plus what moved is what there was.
    let stayed: u64 = segment_files(dir)
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    assert_eq!(stayed + quarantined, all_bytes);
    assert_eq!(segment_files(dir), segs[..2].to_vec());
    assert_eq!(std::fs::read(&segs[0]).unwrap(), originals[0]);
    assert_eq!(std::fs::read(&segs[1]).unwrap(), &originals[1][..start]);

    // The store opens with every append before the damage.
    let before = frame_bounds(&originals[0]).len() + middle;
    let model = model_of(&frames[..before]);
    let ids: Vec<IncidentId> = (0..4).map(nth_id).collect();
    {
        let store = FileStore::open(dir).unwrap();
        assert_eq!(store.open_report().torn_tail, None);
        assert_eq!(store.open_report().segments, 2);
        assert_eq!(store.open_report().frames, before as u64);
        assert_store_is(&store, &model, &ids, "after repair");
        // Repair refuses an open store.
        assert!(matches!(FileStore::repair(dir), Err(Error::Locked { .. })));
    }

    // Repairing a healthy store does nothing.
    let snapshot: Vec<Vec<u8>> = segment_files(dir)
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    let again = FileStore::repair(dir).unwrap();
    assert!(again.quarantined.is_empty(), "{again:?}");
    let after: Vec<Vec<u8>> = segment_files(dir)
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    assert_eq!(after, snapshot);
    assert_eq!(quarantine_files(dir), saved);
}

#[test]
fn repair_of_a_healthy_store_reports_nothing() {
    let _no_fork = no_fork_now();
    let (src, frames) = multi_segment_store(2);
    let before: Vec<Vec<u8>> = segment_files(src.path())
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    let report = FileStore::repair(src.path()).unwrap();
    assert!(report.quarantined.is_empty(), "{report:?}");
    let after: Vec<Vec<u8>> = segment_files(src.path())
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    assert_eq!(after, before);
    assert_eq!(quarantine_files(src.path()), Vec::<PathBuf>::new());
    let store = FileStore::open(src.path()).unwrap();
    let ids: Vec<IncidentId> = (0..4).map(nth_id).collect();
    assert_store_is(&store, &model_of(&frames), &ids, "healthy");
}

#[test]

fn repair_quarantines_the_segments_after_a_missing_one() {
    let _no_fork = no_fork_now();
    let (src, frames) = multi_segment_store(4);
    let dir = src.path().to_path_buf();
    let segs = segment_files(&dir);
    assert_eq!(segs.len(), 4);
    let lens: Vec<u64> = segs
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .collect();
    std::fs::remove_file(&segs[1]).unwrap();
    match FileStore::open(&dir) {
        Err(Error::Corrupt { path, offset, .. }) => assert_eq!((&path, offset), (&segs[1], 0)),
        other => panic!("expected corruption, got {other:?}"),
    }
    // Run the repair on a thread, so that a repair that never returns fails the test.
    let (tx, rx) = std::sync::mpsc::channel();
    let repair_dir = dir.clone();
    std::thread::spawn(move || {
        let _ = tx.send(FileStore::repair(&repair_dir));
    });
    let report = rx
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("FileStore::repair did not return within 10 s")
        .unwrap();
    let mut moved: Vec<(PathBuf, u64, u64)> = report
        .quarantined
        .iter()
        .map(|q| (q.path.clone(), q.offset, q.bytes))
        .collect();
    moved.sort();
    assert_eq!(
        moved,
        vec![(segs[2].clone(), 0, lens[2]), (segs[3].clone(), 0, lens[3])]
    );
    let store = FileStore::open(&dir).unwrap();
    let kept = frame_bounds(&std::fs::read(&segs[0]).unwrap()).len();
    let ids: Vec<IncidentId> = (0..4).map(nth_id).collect();
    assert_store_is(&store, &model_of(&frames[..kept]), &ids, "after repair");
}

// ---------------------------------------------------------------------------------------------
// 4. the directory lock

#[test]
fn a_second_open_in_this_process_is_locked_until_the_first_closes() {
    let _no_fork = no_fork_now();
    let tmp = tempfile::tempdir().unwrap();
    let first = FileStore::open(tmp.path()).unwrap();
    first
        .append(nth_id(1), Version::ZERO, &evs(1, 0, 1))
        .unwrap();
    for _ in 0..2 {
        match FileStore::open(tmp.path()) {
            Err(Error::Locked { dir }) => assert_eq!(dir, tmp.path()),
            other => panic!("expected Locked, got {other:?}"),
        }
    }
    match FileStore::open_with(tmp.path(), small_segments()) {
        Err(Error::Locked { dir }) => assert_eq!(dir, tmp.path()),
        other => panic!("expected Locked, got {other:?}"),
    }
    // The refused opens did not disturb the first instance.
    first
        .append(nth_id(1), Version::new(1), &evs(1, 1, 1))
        .unwrap();
    drop(first);
    let second = FileStore::open(tmp.path()).unwrap();
    assert_eq!(second.load(nth_id(1)).unwrap(), evs(1, 0, 2));
}

// Tests in a second process.
//
// A process is started with fork (or clone) and exec, and between the two the child holds a
// copy of every file descriptor of this process, the store `LOCK` files of other threads' stores
// among them; the `flock` on such a file stays held until the child execs, so a store closed and
// reopened in that window by another test of this binary is refused as `Locked` (see
// `reopening_while_another_thread_starts_a_process_is_not_locked`). So that these tests do not
// make other tests flaky, this binary starts one helper process, the supervisor, once, and the
// supervisor (which holds no store open when it does) starts every other process. The file's
// other tests hold `no_fork_now()` while they run, so that the supervisor does not start in
// the middle of one. Tests elsewhere in this binary remain exposed to that one start (a window
// of about 0.1 ms) until the store's lock is fixed.

static FORK_GATE: RwLock<()> = RwLock::new(());

/// Keeps this module from starting a process while the guard lives.
fn no_fork_now() -> RwLockReadGuard<'static, ()> {
    FORK_GATE.read().unwrap_or_else(|e| e.into_inner())
}

const SUPERVISOR_ENV: &str = "INCIDENTS_CRASH_SUPERVISOR";
const KILL_CHILD_DIR: &str = "INCIDENTS_KILL_CHILD_DIR";
const KILL_CHILD_SEED: &str = "INCIDENTS_KILL_CHILD_SEED";

/// The supervisor process, and the pipes to talk to it: one command a line on its stdin,
/// answers a line each on its stdout.
struct Supervisor {
    child: std::process::Child,
    input: std::process::ChildStdin,
    output: BufReader<std::process::ChildStdout>,
}

static SUPERVISOR: Mutex<Option<Supervisor>> = Mutex::new(None);

impl Supervisor {
    fn start() -> Supervisor {
        let mut child = {
            let _forking = FORK_GATE.write().unwrap_or_else(|e| e.into_inner());
            child_process("file_crash::child_supervisor")
                .env(SUPERVISOR_ENV, "1")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let input = child.stdin.take().unwrap();
        let output = BufReader::new(child.stdout.take().unwrap());
        let mut supervisor = Supervisor {
            child,
            input,
            output,
        };
        // Skip what the test harness prints first.
        while supervisor.read_line() != "READY" {}
        supervisor
    }

    fn send(&mut self, command: &str) {
        writeln!(self.input, "{command}").unwrap();
        self.input.flush().unwrap();
    }

    fn read_line(&mut self) -> String {
        let mut line = String::new();
        if self.output.read_line(&mut line).unwrap() == 0 {
            panic!("the supervisor process ended: {:?}", self.child.try_wait());
        }
        line.trim_end().to_string()
    }
}

/// The supervisor, started on first use; held for a whole conversation.
fn supervisor() -> MutexGuard<'static, Option<Supervisor>> {
    let mut guard = SUPERVISOR.lock().unwrap_or_else(|poisoned| {
        // A test failed in the middle of a conversation: start afresh.
        let mut guard = poisoned.into_inner();
        if let Some(mut old) = guard.take() {
            let _ = old.child.kill();
            let _ = old.child.wait();
        }
        SUPERVISOR.clear_poison();
        guard
    });
    if guard.is_none() {
        *guard = Some(Supervisor::start());
    }
    guard
}

/// The supervisor. Commands:
/// - `OPEN <dir>`: opens the store in `dir` and answers `RESULT ok <events>`,
///   `RESULT locked <dir>` or `RESULT error <message>`, then closes it again;
/// - `KILL <seed> <n> <dir>`: starts `child_append_until_killed` on `dir`, passes on its first
///   `n` lines `ACK <incident> <version>`, kills it with SIGKILL, waits for it and answers
///   `KILLED` (or `RESULT error <message>` if it ended by itself).
///
/// Ends when its stdin does. Fails unless `INCIDENTS_CRASH_SUPERVISOR` is set, so it never
/// passes as a test that did nothing.
#[test]
#[ignore = "child process: run by another_process_is_locked_out and kill_9_loses_no_acknowledged_append"]
fn child_supervisor() {
    assert!(
        std::env::var_os(SUPERVISOR_ENV).is_some(),
        "not a test of its own: the lock and kill tests run it in a child process"
    );
    let mut out = io::stdout().lock();
    // A line of its own: the test harness has just printed "test <name> ... ".
    writeln!(out, "\nREADY").unwrap();
    out.flush().unwrap();
    for line in io::stdin().lock().lines() {
        let line = line.unwrap();
        if let Some(dir) = line.strip_prefix("OPEN ") {
            let result = match FileStore::open(dir) {
                Ok(store) => format!("ok {}", store.open_report().events),
                Err(Error::Locked { dir }) => format!("locked {}", dir.display()),
                Err(other) => format!("error {other}"),
            };
            writeln!(out, "RESULT {result}").unwrap();
        } else if let Some(rest) = line.strip_prefix("KILL ") {
            let mut parts = rest.splitn(3, ' ');
            let seed: u64 = parts.next().unwrap().parse().unwrap();
            let want: u64 = parts.next().unwrap().parse().unwrap();
            let dir = parts.next().unwrap();
            append_then_kill(&mut out, dir, seed, want);
        } else if let Some(rest) = line.strip_prefix("BACKUP ") {
            // Section 9.
            supervisor_backup(&mut out, rest);
        } else if let Some(rest) = line.strip_prefix("RUN ") {
            // Section 9.
            supervisor_run(&mut out, rest);
        } else {
            writeln!(out, "RESULT error unknown command {line:?}").unwrap();
        }
        out.flush().unwrap();
    }
    // The parent is gone: nobody is left to read what the test harness would print.
    std::process::exit(0);
}

/// The supervisor's `KILL`.
fn append_then_kill(out: &mut impl Write, dir: &str, seed: u64, want: u64) {
    let mut child = child_process("file_crash::child_append_until_killed")
        .env(KILL_CHILD_DIR, dir)
        .env(KILL_CHILD_SEED, seed.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut got = 0;
    let mut line = String::new();
    while got < want {
        line.clear();
        if reader.read_line(&mut line).unwrap() == 0 {
            let status = child.wait().unwrap();
            writeln!(
                out,
                "RESULT error the appender ended ({status}) after {got} acknowledgements"
            )
            .unwrap();
            return;
        }
        let line = line.trim_end();
        if line.starts_with("ACK ") {
            writeln!(out, "{line}").unwrap();
            got += 1;
        } else if line.starts_with("ERR") {
            let _ = child.kill();
            let _ = child.wait();
            writeln!(out, "RESULT error the appender says {line:?}").unwrap();
            return;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    writeln!(out, "KILLED").unwrap();
}

/// What opening `dir` in the supervisor process gives.
fn open_in_another_process(supervisor: &mut Supervisor, dir: &Path) -> String {
    supervisor.send(&format!("OPEN {}", dir.display()));
    let line = supervisor.read_line();
    line.strip_prefix("RESULT ")
        .unwrap_or_else(|| panic!("supervisor says {line:?}"))
        .to_string()
}

#[test]
fn another_process_is_locked_out() {
    let mut guard = supervisor();
    let supervisor = guard.as_mut().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let store = FileStore::open(tmp.path()).unwrap();
    store
        .append(nth_id(1), Version::ZERO, &evs(1, 0, 3))
        .unwrap();
    assert_eq!(
        open_in_another_process(supervisor, tmp.path()),
        format!("locked {}", tmp.path().display())
    );
    // The refused open did not disturb this instance.
    store
        .append(nth_id(1), Version::new(3), &evs(1, 3, 1))
        .unwrap();
    drop(store);
    assert_eq!(open_in_another_process(supervisor, tmp.path()), "ok 4");
    // The other process closed it again.
    FileStore::open(tmp.path()).unwrap();
}

#[test]

fn reopening_while_another_thread_starts_a_process_is_not_locked() {
    let _forking = FORK_GATE.write().unwrap_or_else(|e| e.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    FileStore::open(tmp.path()).unwrap();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let mut locked = 0;
    let mut other = Vec::new();
    std::thread::scope(|s| {
        s.spawn(|| {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // Any process will do: this binary, running no test at all.
                child_process("file_crash::no_such_test")
                    .stdout(Stdio::null())
                    .status()
                    .unwrap();
            }
        });
        for _ in 0..3000 {
            match FileStore::open(tmp.path()) {
                Ok(store) => drop(store),
                Err(Error::Locked { .. }) => locked += 1,
                Err(e) => other.push(e.to_string()),
            }
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    assert_eq!(other, Vec::<String>::new());
    assert_eq!(
        locked, 0,
        "{locked} of 3000 opens of a closed store were refused as Locked"
    );
}

// ---------------------------------------------------------------------------------------------
// 5. kill -9 while appending

/// The incidents of the kill test: two per appending thread.
const KILL_INCIDENTS: u64 = 4;

/// The appender of the kill test: appends to the store in `INCIDENTS_KILL_CHILD_DIR` from two
/// threads until killed, printing `ACK <incident> <version>` once each append is acknowledged.
/// Fails unless that variable is set.
#[test]
#[ignore = "child process: run by kill_9_loses_no_acknowledged_append"]
fn child_append_until_killed() {
    let Some(dir) = std::env::var_os(KILL_CHILD_DIR) else {
        panic!("not a test of its own: the kill test's supervisor runs it in a child process");
    };
    let seed: u64 = std::env::var(KILL_CHILD_SEED).unwrap().parse().unwrap();
    let store = FileStore::open_with(&dir, small_segments()).unwrap_or_else(|e| {
        println!("\nERR open: {e}");
        std::process::exit(1)
    });
    // A line of its own: the test harness has just printed "test <name> ... ".
    println!();
    std::thread::scope(|s| {
        for thread in 0..2 {
            let store = &store;
            s.spawn(move || kill_child_thread(store, thread, seed));
        }
        // In two children of three, a third thread saves snapshots (and so index
        // checkpoints) while the others append: kills land inside a checkpoint's capture or
        // write, and the next open resumes from whichever checkpoint is whole.
        if !seed.is_multiple_of(3) {
            let store = &store;
            s.spawn(move || {
                for n in 0..20_000u64 {
                    if let Err(e) = store.save_snapshot(&n.to_le_bytes()) {
                        println!("\nERR snapshot: {e}");
                        std::process::exit(1)
                    }
                }
            });
        }
    });
}

fn kill_child_thread(store: &FileStore, thread: u64, seed: u64) {
    let mut rng = Rng(seed ^ (thread + 1).wrapping_mul(0x1234_5678_9abc));
    let incidents = [2 * thread, 2 * thread + 1];
    let mut versions = incidents.map(|i| store.version(nth_id(i)).unwrap().get());
    let ack = |lines: &[(u64, u64)]| {
        let mut out = io::stdout().lock();
        for (incident, version) in lines {
            if writeln!(out, "ACK {incident} {version}").is_err() {
                std::process::exit(0);
            }
        }
        if out.flush().is_err() {
            std::process::exit(0);
        }
    };
    let fail = |e: Error| -> ! {
        println!("\nERR {e}");
        std::process::exit(1)
    };
    // Bounded, in case the parent never kills this process.
    for _ in 0..20_000 {
        if rng.below(3) < 2 {
            let k = rng.below(2) as usize;
            let count = 1 + rng.below(3);
            let events = evs(incidents[k], versions[k], count);
            match store.append(nth_id(incidents[k]), Version::new(versions[k]), &events) {
                Ok(v) if v.get() == versions[k] + count => versions[k] = v.get(),
                Ok(v) => fail(Error::Invalid(incidents::Invalid::new(
                    "version",
                    v.to_string(),
                ))),
                Err(e) => fail(e),
            }
            ack(&[(incidents[k], versions[k])]);
        } else {
            let counts = [1 + rng.below(2), 1 + rng.below(4)];
            let events = [
                evs(incidents[0], versions[0], counts[0]),
                evs(incidents[1], versions[1], counts[1]),
            ];
            let batch = [0, 1].map(|k| Append {
                id: nth_id(incidents[k]),
                expected: Version::new(versions[k]),
                events: &events[k],
            });
            match store.append_batch(&batch) {
                Ok(v) => {
                    for k in 0..2 {
                        versions[k] += counts[k];
                        if v[k].get() != versions[k] {
                            fail(Error::Invalid(incidents::Invalid::new(
                                "version",
                                v[k].to_string(),
                            )));
                        }
                    }
                }
                Err(e) => fail(e),
            }
            ack(&[(incidents[0], versions[0]), (incidents[1], versions[1])]);
        }
    }
}

/// Checks that the store in `dir` holds, for every kill-test incident, at least `acked`
/// events and only the events the child writes. Returns the versions found.
fn check_after_kill(store: &FileStore, acked: &BTreeMap<u64, u64>, context: &str) -> Vec<u64> {
    let mut versions = Vec::new();
    let mut total = 0;
    for incident in 0..KILL_INCIDENTS {
        let id = nth_id(incident);
        let version = store.version(id).unwrap().get();
        let floor = acked.get(&incident).copied().unwrap_or(0);
        assert!(
            version >= floor,
            "{context}: incident {incident} has {version} events, {floor} were acknowledged"
        );
        let events = store.load(id).unwrap();
        assert_eq!(
            events.len() as u64,
            version,
            "{context}: incident {incident}"
        );
        for (n, event) in events.iter().enumerate() {
            assert_eq!(
                *event,
                ev(incident, n as u64 + 1),
                "{context}: incident {incident} event {}",
                n + 1
            );
        }
        total += version;
        versions.push(version);
    }
    let rows = scanned(store);
    assert_eq!(rows.len() as u64, total, "{context}: scan");
    for (id, version, event) in rows {
        let incident = (0..KILL_INCIDENTS).find(|i| nth_id(*i) == id).unwrap();
        assert_eq!(event, ev(incident, version.get()), "{context}: scan");
    }
    versions
}

#[test]
fn kill_9_loses_no_acknowledged_append() {
    let mut guard = supervisor();
    let supervisor = guard.as_mut().unwrap();
    let seed = seed();
    let mut rng = Rng(seed);
    // 50 kills: 10 in a row on each of 5 stores (one store for all 50 makes the checks, which
    // read everything, too slow).
    let mut torn = 0;
    let mut segments = 0;
    for store_number in 0..5 {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let mut acked: BTreeMap<u64, u64> = BTreeMap::new();
        for round in 0..10 {
            let context = format!("seed {seed}, store {store_number}, round {round}");
            kill_round(
                supervisor, dir, &mut rng, &mut acked, round, &context, &mut torn,
            );
        }
        segments += segment_files(dir).len();
    }
    // Not an assertion (it depends on timing), but worth seeing with --nocapture.
    println!(
        "kill test: {segments} segments, {torn} torn tails, {} opens from an index \
         checkpoint in 50 kills",
        RESUMED.load(std::sync::atomic::Ordering::Relaxed)
    );
}

/// How many of the kill test's opens after a kill resumed from an index checkpoint.
static RESUMED: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// One round of the kill test: the child appends, is killed after `rng`-many acknowledgements,
/// and the store must hold every acknowledged append and only events the child writes.
fn kill_round(
    supervisor: &mut Supervisor,
    dir: &Path,
    rng: &mut Rng,
    acked: &mut BTreeMap<u64, u64>,
    round: u64,
    context: &str,
    torn: &mut u32,
) {
    let want = 1 + rng.below(200);
    supervisor.send(&format!("KILL {} {want} {}", rng.next(), dir.display()));
    let mut got = 0;
    let mut last: BTreeMap<u64, u64> = BTreeMap::new();
    loop {
        let line = supervisor.read_line();
        if line == "KILLED" {
            break;
        }
        let Some(rest) = line.strip_prefix("ACK ") else {
            panic!("{context}: {line} (after {got} acknowledgements)");
        };
        let (incident, version) = rest.split_once(' ').unwrap();
        let (incident, version): (u64, u64) = (incident.parse().unwrap(), version.parse().unwrap());
        // Versions only grow, past whatever the store held before this round.
        let floor = last
            .get(&incident)
            .or(acked.get(&incident))
            .copied()
            .unwrap_or(0);
        assert!(version > floor, "{context}: {line:?} after version {floor}");
        last.insert(incident, version);
        got += 1;
    }
    assert_eq!(got, want, "{context}");
    acked.extend(last);

    let store = FileStore::open_with(dir, small_segments())
        .unwrap_or_else(|e| panic!("{context}: open after kill: {e}"));
    if store.open_report().torn_tail.is_some() {
        *torn += 1;
    }
    if store.open_report().vouched_bytes > 0 {
        RESUMED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    let versions = check_after_kill(&store, acked, context);
    // The store takes new appends; the child continues after them next round.
    let incident = round % KILL_INCIDENTS;
    let version = versions[incident as usize];
    store
        .append(
            nth_id(incident),
            Version::new(version),
            &evs(incident, version, 1),
        )
        .unwrap_or_else(|e| panic!("{context}: append after kill: {e}"));
    for (i, v) in versions.iter().enumerate() {
        acked.insert(i as u64, *v);
    }
    acked.insert(incident, version + 1);
    drop(store);
    let store = FileStore::open_with(dir, small_segments()).unwrap();
    assert_eq!(store.open_report().torn_tail, None, "{context}");
    let reopened = check_after_kill(&store, acked, &format!("{context}, reopened"));
    // Closed cleanly: exactly what was there.
    assert_eq!(
        reopened,
        acked.values().copied().collect::<Vec<_>>(),
        "{context}, reopened"
    );
}

// ---------------------------------------------------------------------------------------------
// 6. injected write and flush failures against a model

/// Fails the `fail_at`-th write or flush (counting from when it is armed) with `errno`,
/// writing `prefix` percent of the bytes first if it is a write.
#[derive(Debug)]
struct FailNth {
    state: Mutex<FailState>,
}

#[derive(Debug, Default)]
struct FailState {
    armed: bool,
    calls: u64,
    fail_at: u64,
    errno: i32,
    prefix: Option<u32>,
    /// What failed: "write <path> at <offset>: <n> of <len> bytes" or "sync <path>".
    fired: Option<String>,
}

impl FailNth {
    fn new(fail_at: u64, errno: i32, prefix: Option<u32>) -> FailNth {
        FailNth {
            state: Mutex::new(FailState {
                fail_at,
                errno,
                prefix,
                ..FailState::default()
            }),
        }
    }

    fn arm(&self) {
        self.state.lock().unwrap().armed = true;
    }

    fn fired(&self) -> Option<String> {
        self.state.lock().unwrap().fired.clone()
    }
}

impl FailState {
    /// Counts a call; whether it is the one to fail.
    fn tick(&mut self) -> bool {
        if !self.armed || self.fired.is_some() {
            return false;
        }
        self.calls += 1;
        self.calls == self.fail_at
    }
}

impl FaultHook for FailNth {
    fn on_write(&self, path: &Path, offset: u64, len: usize) -> Option<(usize, io::Error)> {
        let mut s = self.state.lock().unwrap();
        if !s.tick() {
            return None;
        }
        let n = s.prefix.map_or(0, |p| len * p as usize / 100);
        s.fired = Some(format!(
            "write {} at {offset}: {n} of {len} bytes",
            path.display()
        ));
        Some((n, io::Error::from_raw_os_error(s.errno)))
    }

    fn on_sync(&self, path: &Path) -> Option<io::Error> {
        let mut s = self.state.lock().unwrap();
        if !s.tick() {
            return None;
        }
        s.fired = Some(format!("sync {}", path.display()));
        Some(io::Error::from_raw_os_error(s.errno))
    }
}

#[derive(Debug, Clone)]
enum FaultOp {
    Append {
        incident: u64,
        count: u64,
        stale: bool,
    },
    /// `(incident, count)` entries; an incident may appear twice.
    Batch(Vec<(u64, u64)>),
    Load(u64),
}

fn arb_fault_op() -> impl Strategy<Value = FaultOp> {
    prop_oneof![
        6 => (0u64..4, 0u64..4, prop::bool::weighted(0.1))
            .prop_map(|(incident, count, stale)| FaultOp::Append { incident, count, stale }),
        2 => prop::collection::vec((0u64..4, 1u64..3), 1..4).prop_map(FaultOp::Batch),
        2 => (0u64..4).prop_map(FaultOp::Load),
    ]
}

/// Adds `events` to `model` (an incident without events is not in it).
fn record(model: &mut Model, id: IncidentId, events: Vec<Event>) {
    if !events.is_empty() {
        model.entry(id).or_default().extend(events);
    }
}

fn run_fault_case(fail_at: u64, errno: i32, prefix: Option<u32>, small: bool, ops: Vec<FaultOp>) {
    let _no_fork = no_fork_now();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let plain = if small {
        small_segments()
    } else {
        FileStoreOptions::new()
    };
    let hook = Arc::new(FailNth::new(fail_at, errno, prefix));
    let store = FileStore::open_with(dir, plain.clone().fault_hook(hook.clone())).unwrap();
    hook.arm();
    let ids: Vec<IncidentId> = (0..4).map(nth_id).collect();
    let mut model = Model::new();
    // The append that failed: its groups.
    let mut failed: Option<Frame> = None;
    let len =
        |model: &Model, incident: u64| model.get(&nth_id(incident)).map_or(0, Vec::len) as u64;

    let check_failure = |result: Result<(), &Error>, what: &str| match result {
        Err(Error::Io { source, .. }) if source.raw_os_error() == Some(errno) => {}
        other => panic!(
            "{what}: the fault ({:?}) should fail it with errno {errno}, got {other:?}",
            hook.fired()
        ),
    };

    for (step, op) in ops.into_iter().enumerate() {
        let what = format!("step {step}: {op:?}");
        let fired_before = hook.fired().is_some();
        match op {
            FaultOp::Append {
                incident,
                count,
                stale,
            } => {
                let have = len(&model, incident);
                let expected = if stale { have + 1 } else { have };
                let events = evs(incident, have, count);
                let result = store.append(nth_id(incident), Version::new(expected), &events);
                if fired_before {
                    assert!(
                        matches!(result, Err(Error::Poisoned { .. })),
                        "{what}: {result:?}"
                    );
                } else if hook.fired().is_some() {
                    check_failure(result.as_ref().map(|_| ()), &what);
                    failed = Some(vec![(nth_id(incident), events)]);
                } else if stale {
                    assert!(
                        matches!(result, Err(Error::Conflict(_))),
                        "{what}: {result:?}"
                    );
                } else {
                    assert_eq!(result.unwrap(), Version::new(have + count), "{what}");
                    record(&mut model, nth_id(incident), events);
                }
            }
            FaultOp::Batch(entries) => {
                let mut next: BTreeMap<u64, u64> = BTreeMap::new();
                let mut owned = Vec::new();
                for (incident, count) in entries {
                    let have = *next.entry(incident).or_insert(len(&model, incident));
                    owned.push((incident, have, evs(incident, have, count)));
                    next.insert(incident, have + count);
                }
                let batch: Vec<Append<'_>> = owned
                    .iter()
                    .map(|(incident, have, events)| Append {
                        id: nth_id(*incident),
                        expected: Version::new(*have),
                        events,
                    })
                    .collect();
                let result = store.append_batch(&batch);
                let groups: Frame = owned
                    .iter()
                    .map(|(incident, _, events)| (nth_id(*incident), events.clone()))
                    .collect();
                if fired_before {
                    assert!(
                        matches!(result, Err(Error::Poisoned { .. })),
                        "{what}: {result:?}"
                    );
                } else if hook.fired().is_some() {
                    check_failure(result.as_ref().map(|_| ()), &what);
                    failed = Some(groups);
                } else {
                    let expected: Vec<Version> = owned
                        .iter()
                        .map(|(_, have, events)| Version::new(have + events.len() as u64))
                        .collect();
                    assert_eq!(result.unwrap(), expected, "{what}");
                    for (id, events) in groups {
                        record(&mut model, id, events);
                    }
                }
            }
            FaultOp::Load(incident) => {
                let id = nth_id(incident);
                assert_eq!(
                    store.load(id).unwrap(),
                    model.get(&id).cloned().unwrap_or_default(),
                    "{what}"
                );
            }
        }
    }
    // Reads still show exactly what was acknowledged.
    assert_store_is(&store, &model, &ids, "before reopening");
    drop(store);

    // Reopened without the fault: the model, or the model plus the failed append in full.
    let store = FileStore::open_with(dir, plain.clone())
        .unwrap_or_else(|e| panic!("reopen after {:?}: {e}", hook.fired()));
    let found: Model = ids
        .iter()
        .map(|id| (*id, store.load(*id).unwrap()))
        .filter(|(_, events)| !events.is_empty())
        .collect();
    if found != model {
        let Some(groups) = &failed else {
            panic!("no append failed, yet the store differs from the model: {found:?}");
        };
        let mut plus = model.clone();
        for (id, events) in groups {
            record(&mut plus, *id, events.clone());
        }
        assert!(
            found == plus,
            "after {:?} the store holds part of the failed append {groups:?}: {found:?}",
            hook.fired()
        );
        model = plus;
    }
    assert_store_is(&store, &model, &ids, "reopened");

    // New appends work, and survive another reopen.
    for incident in 0..4 {
        let have = len(&model, incident);
        let events = evs(incident, have, 1);
        store
            .append(nth_id(incident), Version::new(have), &events)
            .unwrap();
        model.entry(nth_id(incident)).or_default().extend(events);
    }
    drop(store);
    let store = FileStore::open_with(dir, plain).unwrap();
    assert_eq!(store.open_report().torn_tail, None);
    assert_store_is(&store, &model, &ids, "reopened twice");
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 30,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn a_failed_write_or_flush_poisons_the_store_and_never_tears_an_append(
        // An append makes two calls (write, flush), five when it starts a segment.
        fail_at in 1u64..24,
        errno in prop::sample::select(vec![28, 5]),
        // Nothing written, all of it written, or a part.
        prefix in prop_oneof![Just(None), Just(Some(100)), (0u32..100).prop_map(Some)],
        small in any::<bool>(),
        ops in prop::collection::vec(arb_fault_op(), 5..30),
    ) {
        run_fault_case(fail_at, errno, prefix, small, ops);
    }
}

// ---------------------------------------------------------------------------------------------
// 7. backups while appending

#[test]
fn a_backup_taken_while_threads_append_is_a_prefix_of_every_history() {
    let _no_fork = no_fork_now();
    const THREADS: u64 = 4;
    const BEFORE: u64 = 40;
    const AFTER: u64 = 110;
    let tmp = tempfile::tempdir().unwrap();
    let store = FileStore::open_with(tmp.path(), small_segments()).unwrap();
    let dest_parent = tempfile::tempdir().unwrap();
    let dest = dest_parent.path().join("backup");
    let barrier = Barrier::new(THREADS as usize + 1);
    let report = std::thread::scope(|s| {
        for t in 0..THREADS {
            let (store, barrier) = (&store, &barrier);
            s.spawn(move || {
                for v in 0..BEFORE + AFTER {
                    if v == BEFORE {
                        barrier.wait();
                    }
                    store
                        .append(nth_id(t), Version::new(v), &evs(t, v, 1))
                        .unwrap();
                }
            });
        }
        // Every thread has `BEFORE` acknowledged appends and is still going.
        barrier.wait();
        store.backup(&dest).unwrap()
    });
    assert_eq!(report.dir, dest);
    let files = segment_files(&dest);
    assert_eq!(report.segments, files.len());
    let bytes: u64 = files
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    assert_eq!(report.bytes, bytes);

    let copy = FileStore::open(&dest).unwrap();
    assert_eq!(copy.open_report().torn_tail, None);
    for t in 0..THREADS {
        let id = nth_id(t);
        let all = store.load(id).unwrap();
        assert_eq!(all, evs(t, 0, BEFORE + AFTER));
        let backed_up = copy.load(id).unwrap();
        assert!(
            backed_up.len() as u64 >= BEFORE,
            "incident {t}: the backup has {} events, {BEFORE} were durable when it started",
            backed_up.len()
        );
        assert_eq!(backed_up, all[..backed_up.len()], "incident {t}");
    }
    // The copy is a working store.
    let v = copy.version(nth_id(0)).unwrap();
    copy.append(nth_id(0), v, &evs(0, v.get(), 1)).unwrap();

    // Into a directory that is not empty: refused, and nothing written there.
    let busy = tempfile::tempdir().unwrap();
    std::fs::write(busy.path().join("notes.txt"), "mine").unwrap();
    assert!(matches!(store.backup(busy.path()), Err(Error::Invalid(_))));
    let names: Vec<_> = std::fs::read_dir(busy.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("notes.txt")]);
    drop(copy);
    assert!(matches!(store.backup(&dest), Err(Error::Invalid(_))));
}

// ---------------------------------------------------------------------------------------------
// 8. found on the way

#[test]

fn an_empty_batch_entry_is_not_counted_as_an_incident_on_open() {
    let _no_fork = no_fork_now();
    let tmp = tempfile::tempdir().unwrap();
    {
        let store = FileStore::open(tmp.path()).unwrap();
        let events = evs(2, 0, 1);
        store
            .append_batch(&[
                Append {
                    id: nth_id(1),
                    expected: Version::ZERO,
                    events: &[],
                },
                Append {
                    id: nth_id(2),
                    expected: Version::ZERO,
                    events: &events,
                },
            ])
            .unwrap();
        assert_eq!(store.incident_count(), 1);
    }
    let store = FileStore::open(tmp.path()).unwrap();
    assert_eq!(store.incident_count(), 1);
    assert_eq!(
        store.open_report().incidents,
        1,
        "{:?}",
        store.open_report()
    );
}

// ---------------------------------------------------------------------------------------------
// 9. for file_ops.rs: a backup stopped part-way in a child process, and commands (mount) run
//    by the supervisor
//
// `file_ops` must start every process through the supervisor too (see "Tests in a second
// process" above), so the supervisor has two more commands, and this module offers them to
// `file_ops` as functions:
// - `BACKUP <abort_at|-> <kill_after|-> <src> <dest>`: runs `child_backup_until_stopped`, which
//   opens the store in `src` and backs it up into `dest`; with `abort_at` = k its fault hook
//   calls `std::process::abort()` at the k-th (0-based) write or flush of the backup, with
//   `kill_after` = n the supervisor sends SIGKILL once the child printed its n-th progress
//   line. Answers `RESULT <how it ended>`: `killed`, `exit <code>` or `signal <n>`.
// - `RUN <program> <args…>` (space-separated, no spaces inside an argument): runs it and
//   answers `RESULT ok` or `RESULT error <status and stderr>`.

const BACKUP_CHILD_SRC: &str = "INCIDENTS_BACKUP_CHILD_SRC";
const BACKUP_CHILD_DEST: &str = "INCIDENTS_BACKUP_CHILD_DEST";
const BACKUP_CHILD_ABORT_AT: &str = "INCIDENTS_BACKUP_CHILD_ABORT_AT";

/// The options the backup child opens its source with (also the test's, to count operations).
pub(crate) fn backup_child_options() -> FileStoreOptions {
    small_segments()
}

/// How a supervised backup child ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ChildEnd {
    /// Killed by the supervisor with SIGKILL after the requested progress line.
    Killed,
    /// Exited with this code (0: the backup finished).
    Exit(i32),
    /// Ended by this signal (6: it aborted).
    Signal(i32),
}

/// Runs a backup of the store in `src` (which must not be open) into `dest` in a child process,
/// stopped by `abort()` at write/flush number `abort_at`, or by SIGKILL after progress line
/// `kill_after`, or not at all.
pub(crate) fn backup_in_child(
    src: &Path,
    dest: &Path,
    abort_at: Option<u64>,
    kill_after: Option<u64>,
) -> ChildEnd {
    let mut guard = supervisor();
    let supervisor = guard.as_mut().unwrap();
    let opt = |v: Option<u64>| v.map_or_else(|| "-".to_string(), |v| v.to_string());
    supervisor.send(&format!(
        "BACKUP {} {} {} {}",
        opt(abort_at),
        opt(kill_after),
        src.display(),
        dest.display()
    ));
    let line = supervisor.read_line();
    let result = line
        .strip_prefix("RESULT ")
        .unwrap_or_else(|| panic!("supervisor says {line:?}"));
    let mut parts = result.split(' ');
    match (parts.next(), parts.next().and_then(|n| n.parse().ok())) {
        (Some("killed"), _) => ChildEnd::Killed,
        (Some("exit"), Some(code)) => ChildEnd::Exit(code),
        (Some("signal"), Some(signal)) => ChildEnd::Signal(signal),
        _ => panic!("backup child: {result}"),
    }
}

/// Runs `args` (a program and its arguments) in the supervisor's process; `Err` holds its
/// exit status and stderr.
pub(crate) fn run_in_supervisor(args: &[&str]) -> Result<(), String> {
    assert!(args.iter().all(|a| !a.contains(' ') && !a.is_empty()));
    let mut guard = supervisor();
    let supervisor = guard.as_mut().unwrap();
    supervisor.send(&format!("RUN {}", args.join(" ")));
    let line = supervisor.read_line();
    match line.strip_prefix("RESULT ") {
        Some("ok") => Ok(()),
        Some(other) => Err(other.to_string()),
        None => panic!("supervisor says {line:?}"),
    }
}

/// Keeps this module's supervisor from being started while the guard lives (for `file_ops`
/// tests that hold stores open).
pub(crate) fn no_fork_guard() -> RwLockReadGuard<'static, ()> {
    no_fork_now()
}

/// The supervisor's `RUN`.
fn supervisor_run(out: &mut impl Write, rest: &str) {
    let mut args = rest.split(' ');
    let program = args.next().unwrap_or_default();
    match Process::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .output()
    {
        Ok(output) if output.status.success() => writeln!(out, "RESULT ok").unwrap(),
        Ok(output) => writeln!(
            out,
            "RESULT error {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).replace('\n', " ")
        )
        .unwrap(),
        Err(e) => writeln!(out, "RESULT error cannot run {program}: {e}").unwrap(),
    }
}

/// The supervisor's `BACKUP`.
fn supervisor_backup(out: &mut impl Write, rest: &str) {
    let mut parts = rest.splitn(4, ' ');
    let abort_at = parts.next().unwrap();
    let kill_after: Option<u64> = parts.next().unwrap().parse().ok();
    let src = parts.next().unwrap();
    let dest = parts.next().unwrap();
    let mut command = child_process("file_crash::child_backup_until_stopped");
    command
        .env(BACKUP_CHILD_SRC, src)
        .env(BACKUP_CHILD_DEST, dest)
        .stdout(Stdio::piped());
    if abort_at != "-" {
        command.env(BACKUP_CHILD_ABORT_AT, abort_at);
    }
    let mut child = command.spawn().unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut progress = 0u64;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap() == 0 {
            break;
        }
        if line.starts_with("PROGRESS ") {
            progress += 1;
            if Some(progress) == kill_after {
                child.kill().unwrap();
                child.wait().unwrap();
                writeln!(out, "RESULT killed").unwrap();
                return;
            }
        }
    }
    let status = child.wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => writeln!(out, "RESULT exit {code}").unwrap(),
        (None, Some(signal)) => writeln!(out, "RESULT signal {signal}").unwrap(),
        (None, None) => writeln!(out, "RESULT error {status}").unwrap(),
    }
}

/// Aborts the process at the `at`-th write or flush (counting from 0) once armed.
#[derive(Debug)]
struct AbortAt {
    at: u64,
    seen: std::sync::atomic::AtomicU64,
    armed: std::sync::atomic::AtomicBool,
}

impl AbortAt {
    fn tick(&self) {
        use std::sync::atomic::Ordering::SeqCst;
        if self.armed.load(SeqCst) && self.seen.fetch_add(1, SeqCst) == self.at {
            std::process::abort();
        }
    }
}

impl FaultHook for AbortAt {
    fn on_write(&self, _: &Path, _: u64, _: usize) -> Option<(usize, io::Error)> {
        self.tick();
        None
    }

    fn on_sync(&self, _: &Path) -> Option<io::Error> {
        self.tick();
        None
    }
}

/// The backup child: backs up the store in `INCIDENTS_BACKUP_CHILD_SRC` into
/// `INCIDENTS_BACKUP_CHILD_DEST`, printing `PROGRESS <copied> <total>` after each progress
/// call, and `DONE` at the end; aborts at the write/flush `INCIDENTS_BACKUP_CHILD_ABORT_AT` if
/// set. Fails unless the first two are set.
#[test]
#[ignore = "child process: run by file_ops::a_backup_stopped_*_never_opens_as_a_prefix"]
fn child_backup_until_stopped() {
    let (Some(src), Some(dest)) = (
        std::env::var_os(BACKUP_CHILD_SRC),
        std::env::var_os(BACKUP_CHILD_DEST),
    ) else {
        panic!("not a test of its own: file_ops' backup test runs it through the supervisor");
    };
    let hook = Arc::new(AbortAt {
        at: std::env::var(BACKUP_CHILD_ABORT_AT)
            .ok()
            .map_or(u64::MAX, |v| v.parse().unwrap()),
        seen: std::sync::atomic::AtomicU64::new(0),
        armed: std::sync::atomic::AtomicBool::new(false),
    });
    let store = FileStore::open_with(&src, backup_child_options().fault_hook(hook.clone()))
        .unwrap_or_else(|e| {
            println!("\nERR open: {e}");
            std::process::exit(3)
        });
    // A line of its own: the test harness has just printed "test <name> ... ".
    println!();
    hook.armed.store(true, std::sync::atomic::Ordering::SeqCst);
    let result = store.backup_with_progress(&dest, &mut |copied, total| {
        let mut out = io::stdout().lock();
        let _ = writeln!(out, "PROGRESS {copied} {total}");
        let _ = out.flush();
    });
    match result {
        Ok(_) => println!("DONE"),
        Err(e) => {
            println!("ERR backup: {e}");
            std::process::exit(4)
        }
    }
}
