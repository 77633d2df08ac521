//! The FileStore under the Desk, export/import, and the committed format fixture.

use std::path::{Path, PathBuf};

use chrono::Duration;
use incidents::store::{export_jsonl, import_jsonl};
use incidents::{
    Command, Desk, Error, FileStore, IncidentId, ManualClock, MemoryStore, NewIncident, Resolution,
    Severity, Source, Status, Store, Version,
};

use crate::support::{new_incident, note_events, nth_id, owner, responder, t0};

#[test]
fn the_desk_works_unchanged_over_a_file_store_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(t0());
    let id = {
        let desk = Desk::new(FileStore::open(dir.path()).unwrap(), &clock).unwrap();
        let id = desk.open(&owner(), new_incident()).unwrap().id;
        desk.act(id, &owner(), Command::Acknowledge).unwrap();
        clock.advance(Duration::minutes(5));
        desk.act(id, &responder(), Command::identify("bad deploy").unwrap())
            .unwrap();
        desk.act(id, &owner(), Command::resolve(Resolution::Fixed))
            .unwrap();
        id
    };
    let store = FileStore::open(dir.path()).unwrap();
    assert_eq!(store.open_report().events, 4);
    assert_eq!(store.open_report().torn_tail, None);
    let desk = Desk::new(store, &clock).unwrap();
    let incident = desk.get(id).unwrap();
    assert_eq!(incident.status(), Status::Resolved);
    assert_eq!(incident.root_cause().unwrap(), "bad deploy");
    assert_eq!(incident.version(), Version::new(4));
    // A high-severity incident needs its review before it closes (the default policy).
    let review =
        incidents::people::Review::new("a bad deploy broke checkout", "bad deploy").unwrap();
    desk.act(id, &owner(), Command::review(review)).unwrap();
    desk.act(id, &owner(), Command::close("s", "l").unwrap())
        .unwrap();
}

#[test]
fn two_desks_cannot_share_one_directory() {
    let dir = tempfile::tempdir().unwrap();
    let _first = FileStore::open(dir.path()).unwrap();
    match FileStore::open(dir.path()) {
        Err(Error::Locked { dir: locked }) => assert_eq!(locked, dir.path()),
        other => panic!("expected Locked, got {other:?}"),
    }
}

/// Every event `scan` gives, in the order it gives them.
fn in_log_order<S: Store>(store: &S) -> Vec<(IncidentId, Version, incidents::Event)> {
    let mut out = Vec::new();
    store
        .scan(&mut |id, v, e| {
            out.push((id, v, e.clone()));
            Ok(())
        })
        .unwrap();
    out
}

fn scanned<S: Store>(store: &S) -> Vec<(IncidentId, Version, incidents::Event)> {
    let mut out = in_log_order(store);
    out.sort_by_key(|(id, v, _)| (*id, *v));
    out
}

#[test]
fn export_then_import_round_trips_every_event_exactly() {
    let source = MemoryStore::new();
    for n in 0..50 {
        source
            .append(nth_id(n), Version::ZERO, &note_events(n, 1 + n % 4))
            .unwrap();
    }
    let mut jsonl = Vec::new();
    let exported = export_jsonl(&source, &mut jsonl).unwrap();
    assert_eq!(exported.incidents, 50);
    assert_eq!(
        jsonl.iter().filter(|&&b| b == b'\n').count() as u64,
        exported.events
    );

    let dir = tempfile::tempdir().unwrap();
    let target = FileStore::open(dir.path()).unwrap();
    let imported = import_jsonl(&target, &mut jsonl.as_slice()).unwrap();
    assert_eq!(imported, exported);
    assert_eq!(scanned(&target), scanned(&source));

    // And back out of the file store: byte-identical after sorting lines.
    let mut again = Vec::new();
    export_jsonl(&target, &mut again).unwrap();
    let sorted = |bytes: &[u8]| {
        let mut lines: Vec<String> = String::from_utf8(bytes.to_vec())
            .unwrap()
            .lines()
            .map(String::from)
            .collect();
        lines.sort();
        lines
    };
    assert_eq!(sorted(&again), sorted(&jsonl));
}

#[test]
fn import_rejects_malformed_lines_and_gaps_naming_the_line() {
    let store = MemoryStore::new();
    let err = import_jsonl(&store, &mut "{not json\n".as_bytes()).unwrap_err();
    assert!(
        matches!(&err, Error::Invalid(i) if i.rule.starts_with("line 1:")),
        "{err}"
    );
    // A line that skips version 1.
    let mut jsonl = Vec::new();
    let source = MemoryStore::new();
    source
        .append(nth_id(1), Version::ZERO, &note_events(0, 2))
        .unwrap();
    export_jsonl(&source, &mut jsonl).unwrap();
    let second_line_only: Vec<u8> = jsonl.split(|&b| b == b'\n').nth(1).unwrap().to_vec();
    let err = import_jsonl(&store, &mut second_line_only.as_slice()).unwrap_err();
    assert!(
        err.to_string().contains("does not follow version 0"),
        "{err}"
    );
    assert_eq!(store.version(nth_id(1)).unwrap(), Version::ZERO);
}

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store-v1")
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// The incidents in the fixture: (title, severity, status after the script).
const FIXTURE: [(&str, Severity, Status); 3] = [
    (
        "Card terminal declines every payment",
        Severity::Critical,
        Status::Closed,
    ),
    (
        "Online shop slow at checkout",
        Severity::High,
        Status::Monitoring,
    ),
    ("Receipt printer out of paper", Severity::Low, Status::Open),
];

/// Writes the format fixture. Run by hand after a deliberate format change, never in CI:
/// `INCIDENTS_WRITE_FIXTURE=1 cargo test --test it write_format_fixture -- --ignored`.
#[test]
#[ignore = "writes tests/fixtures; run by hand"]
fn write_format_fixture() {
    assert!(
        std::env::var_os("INCIDENTS_WRITE_FIXTURE").is_some(),
        "rewrites the committed fixture: set INCIDENTS_WRITE_FIXTURE=1 to mean it"
    );
    let dir = fixture_dir();
    let _ = std::fs::remove_dir_all(&dir);
    let clock = ManualClock::new(t0());
    {
        let desk = Desk::new(FileStore::open(&dir).unwrap(), &clock).unwrap();
        let mut ids = Vec::new();
        for (title, severity, _) in FIXTURE {
            clock.advance(Duration::minutes(3));
            let new = NewIncident::new(title, severity, "POS", Source::StaffReport).unwrap();
            ids.push(desk.open(&owner(), new).unwrap().id);
        }
        let act = |id, command| desk.act(id, &owner(), command).unwrap();
        act(ids[0], Command::Acknowledge);
        act(
            ids[0],
            Command::identify("terminal firmware update").unwrap(),
        );
        act(ids[0], Command::resolve(Resolution::Workaround));
        act(
            ids[0],
            Command::close(
                "Used the backup terminal.",
                "Delay firmware updates to closing time.",
            )
            .unwrap(),
        );
        act(
            ids[1],
            Command::mitigate("scaled up the web server").unwrap(),
        );
        act(
            ids[1],
            Command::customer_update("Checkout is slow; we are on it.").unwrap(),
        );
    }
    std::fs::remove_file(dir.join("LOCK")).unwrap();
}

#[test]
fn the_committed_format_fixture_still_opens() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture_dir(), dir.path());
    let store = FileStore::open(dir.path()).unwrap();
    assert_eq!(store.open_report().incidents, 3);
    assert_eq!(store.open_report().events, 9);
    assert_eq!(store.open_report().torn_tail, None);
    let desk = Desk::new(store, ManualClock::new(t0())).unwrap();
    let incidents = desk.list(&incidents::Filter::all());
    let found: Vec<_> = incidents
        .iter()
        .map(|i| (i.title().to_string(), i.severity(), i.status()))
        .collect();
    let expected: Vec<_> = FIXTURE
        .iter()
        .map(|(t, s, st)| (t.to_string(), *s, *st))
        .collect();
    assert_eq!(found, expected);
    let closed = &incidents[0];
    assert_eq!(closed.resolution(), Some(Resolution::Workaround));
    assert_eq!(
        closed.closure().unwrap().lessons,
        "Delay firmware updates to closing time."
    );
    // The fixture keeps accepting new events.
    desk.act(incidents[2].id(), &owner(), Command::Acknowledge)
        .unwrap();
}

#[test]
fn an_export_larger_than_one_append_imports_into_a_file_store() {
    // 4,000 events of 20 KB: one import batch of 4,096 lines would exceed the file store's
    // 64 MiB per append, so the import must split by size.
    let source = MemoryStore::new();
    let big = "é".repeat(incidents::limits::TEXT_MAX_CHARS);
    for n in 0..40 {
        let events: Vec<_> = (0..100u64)
            .map(|k| crate::support::note_event(k, &big))
            .collect();
        source.append(nth_id(n), Version::ZERO, &events).unwrap();
    }
    let mut jsonl = Vec::new();
    let exported = export_jsonl(&source, &mut jsonl).unwrap();
    assert!(jsonl.len() > 64 << 20, "{} bytes", jsonl.len());
    let dir = tempfile::tempdir().unwrap();
    let target = FileStore::open(dir.path()).unwrap();
    assert_eq!(
        import_jsonl(&target, &mut jsonl.as_slice()).unwrap(),
        exported
    );
    assert_eq!(target.version(nth_id(39)).unwrap(), Version::new(100));
}

/// A fault hook that, once armed, stops the first write in its tracks (saying so on
/// `entered`), waits for `release`, then panics: a leader dying inside its I/O.
#[derive(Debug)]
struct PanicInWrite {
    armed: std::sync::atomic::AtomicBool,
    entered: std::sync::Mutex<Option<std::sync::mpsc::Sender<()>>>,
    release: std::sync::Mutex<Option<std::sync::mpsc::Receiver<()>>>,
}

impl incidents::store::file::FaultHook for PanicInWrite {
    fn on_write(&self, _: &Path, _: u64, _: usize) -> Option<(usize, std::io::Error)> {
        if !self.armed.swap(false, std::sync::atomic::Ordering::SeqCst) {
            return None;
        }
        let entered = self.entered.lock().unwrap().take();
        if let Some(entered) = entered {
            entered.send(()).unwrap();
        }
        let release = self.release.lock().unwrap().take();
        if let Some(release) = release {
            let _ = release.recv();
        }
        panic!("fault hook: the disk driver panicked during the leader's write");
    }
}

/// The group-commit leader panics inside its write (in the fault hook): the appenders that
/// queued behind it, and every later append, fail with a typed `Poisoned` error instead of
/// waiting forever; reads keep working, and the store reopens with nothing of the failed
/// commit.
#[test]
fn a_panic_in_the_leaders_write_fails_the_waiting_appends_instead_of_hanging() {
    use std::sync::{Arc, mpsc};
    use std::time::Duration as Wait;
    // Only a hang detector: every wait below returns as soon as the thread answers.
    const HANG: Wait = Wait::from_secs(20);

    let dir = tempfile::tempdir().unwrap();
    let (entered_tx, entered) = mpsc::channel();
    let (release, release_rx) = mpsc::channel::<()>();
    let hook = Arc::new(PanicInWrite {
        armed: false.into(),
        entered: Some(entered_tx).into(),
        release: Some(release_rx).into(),
    });
    let options = incidents::store::FileStoreOptions::new().fault_hook(hook.clone());
    let store = Arc::new(FileStore::open_with(dir.path(), options).unwrap());
    store
        .append(nth_id(99), Version::ZERO, &note_events(1, 1))
        .unwrap();
    hook.armed.store(true, std::sync::atomic::Ordering::SeqCst);

    let leader = {
        let store = Arc::clone(&store);
        std::thread::spawn(move || store.append(nth_id(0), Version::ZERO, &note_events(1, 1)))
    };
    entered
        .recv_timeout(HANG)
        .expect("the leader reached its write");
    // The leader is inside its write, holding the writer's seat: these queue behind it.
    let (done, results) = mpsc::channel();
    let followers: Vec<_> = (1..5)
        .map(|n| {
            let store = Arc::clone(&store);
            let done = done.clone();
            std::thread::spawn(move || {
                let result = store.append(nth_id(n), Version::ZERO, &note_events(1, 1));
                done.send((n, result)).unwrap();
            })
        })
        .collect();
    release.send(()).unwrap();
    assert!(
        leader.join().is_err(),
        "the leader's panic reaches its caller"
    );
    for _ in 1..5 {
        let (n, result) = results
            .recv_timeout(HANG)
            .expect("an append waited forever behind a leader that panicked");
        assert!(
            matches!(result, Err(Error::Poisoned { cause: None })),
            "append {n}: {result:?}"
        );
    }
    for follower in followers {
        follower.join().unwrap();
    }
    let later = store.append(nth_id(7), Version::ZERO, &note_events(1, 1));
    let err = later.unwrap_err();
    assert!(matches!(err, Error::Poisoned { cause: None }), "{err}");
    assert!(err.to_string().contains("panicked"), "{err}");
    // Reads work; nothing of the failed commit is visible, before or after reopening.
    assert_eq!(store.version(nth_id(99)).unwrap(), Version::new(1));
    assert_eq!(store.version(nth_id(0)).unwrap(), Version::ZERO);
    drop(store);
    let reopened = FileStore::open(dir.path()).unwrap();
    assert_eq!(reopened.version(nth_id(99)).unwrap(), Version::new(1));
    assert_eq!(reopened.version(nth_id(0)).unwrap(), Version::ZERO);
    reopened
        .append(nth_id(0), Version::ZERO, &note_events(1, 1))
        .unwrap();
}

/// The file store's feed: every event once, in commit order, in pages of whole frames that
/// continue where the last ended, across segments; nothing after the log's end.
#[test]
fn the_feed_gives_every_event_once_in_commit_order_across_segments() {
    let dir = tempfile::tempdir().unwrap();
    let options = incidents::store::FileStoreOptions::new().segment_bytes(4096);
    let store = FileStore::open_with(dir.path(), options).unwrap();
    assert_eq!(store.feed(0, 10).unwrap(), Some(Vec::new()));
    let mut expected = Vec::new();
    let mut versions = std::collections::HashMap::new();
    for round in 0..40u64 {
        let id = nth_id(round % 5);
        let have: &mut u64 = versions.entry(id).or_default();
        let events = note_events(*have, 1 + round % 3);
        store.append(id, Version::new(*have), &events).unwrap();
        for (i, event) in events.into_iter().enumerate() {
            expected.push((id, *have + 1 + i as u64, event));
        }
        *have += 1 + round % 3;
    }
    let segments = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("seg-")
        })
        .count();
    assert!(
        segments > 2,
        "the test wants several segments, got {segments}"
    );

    let mut seen = Vec::new();
    let mut after = 0;
    let mut last_position = 0;
    while let Some(page) = store.feed(after, 4).unwrap().filter(|p| !p.is_empty()) {
        // Whole frames: a page stops at the first frame end at or after 4 events.
        assert!(
            page.len() >= 4.min(expected.len() - seen.len()),
            "{}",
            page.len()
        );
        for item in &page {
            assert!(item.position > after && item.position >= last_position);
            last_position = item.position;
            seen.push((item.incident, item.version.get(), item.event.clone()));
        }
        after = page.last().unwrap().position;
    }
    assert_eq!(seen, expected);
    // The log's end is a feed position: nothing after it, until something is appended.
    let end = store.log_end().unwrap().unwrap().position();
    assert_eq!(end, after);
    assert_eq!(store.feed(end, 10).unwrap(), Some(Vec::new()));
    let id = nth_id(99);
    store.append(id, Version::ZERO, &note_events(0, 2)).unwrap();
    let page = store.feed(end, 10).unwrap().unwrap();
    assert_eq!(page.len(), 2);
    assert!(page.iter().all(|item| item.incident == id));
}

/// Two desks on one `FileStore` in a process see each other's work after `catch_up`.
#[test]
fn two_desks_sharing_a_file_store_catch_up_with_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(FileStore::open(dir.path()).unwrap());
    let clock = ManualClock::new(t0());
    let timers = Desk::new(std::sync::Arc::clone(&store), &clock).unwrap();
    let web = Desk::new(std::sync::Arc::clone(&store), &clock).unwrap();
    let id = web.open(&owner(), new_incident()).unwrap().id;
    let caught = timers.catch_up().unwrap();
    assert_eq!((caught.new_incidents, caught.applied), (1, 0));
    web.act(id, &owner(), Command::Acknowledge).unwrap();
    let caught = timers.catch_up().unwrap();
    assert_eq!(caught.applied, 1);
    assert_eq!(timers.get(id).unwrap(), web.get(id).unwrap());
    assert_eq!(timers.get(id).unwrap().status(), Status::Acknowledged);
    // Its own appends come back through the feed too, and are skipped.
    timers
        .act(id, &owner(), Command::StartInvestigating)
        .unwrap();
    assert_eq!(timers.catch_up().unwrap().applied, 0);
    assert_eq!(web.catch_up().unwrap().applied, 1);
    assert_eq!(timers.get(id).unwrap(), web.get(id).unwrap());
}

/// A log of more than 4 MiB over several segments: the default read (worker threads decoding,
/// the caller visiting in log order) gives every event, in the order a one-thread read
/// (`scan_threads(1)`) gives it. A visitor's error stops the multi-threaded read with that
/// error.
#[test]
fn a_long_scan_on_worker_threads_reads_what_one_thread_reads() {
    use incidents::store::{Durability, FileStoreOptions};
    let dir = tempfile::tempdir().unwrap();
    let text = "x".repeat(400);
    {
        let options = FileStoreOptions::new()
            .durability(Durability::Buffered)
            .segment_bytes(1 << 20);
        let store = FileStore::open_with(dir.path(), options).unwrap();
        for round in 0..12u64 {
            for n in 0..1_000u64 {
                let events: Vec<_> = (0..2)
                    .map(|k| crate::support::note_event(round * 2 + k, &text))
                    .collect();
                let id = nth_id(n);
                let at = store.version(id).unwrap();
                store.append(id, at, &events).unwrap();
            }
        }
    }
    let read_with = |threads: usize| {
        let options = FileStoreOptions::new().scan_threads(threads);
        in_log_order(&FileStore::open_with(dir.path(), options).unwrap())
    };
    let alone = read_with(1);
    assert_eq!(alone.len(), 24_000);
    let bytes: u64 = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    assert!(
        bytes > 4 << 20,
        "the log is {bytes} bytes: below the pipeline's 4 MiB"
    );
    // More threads than anyone has: as many as there are chunks to deal, at most 64.
    for threads in [2, 3, 4, usize::MAX] {
        assert!(
            read_with(threads) == alone,
            "{threads} threads read otherwise"
        );
    }

    let store = FileStore::open(dir.path()).unwrap();
    let mut visited = 0;
    let stopped = store.scan(&mut |_, _, _| {
        visited += 1;
        if visited == 10_000 {
            return Err(Error::Backend {
                backend: "test",
                op: "visit",
                source: "enough".into(),
            });
        }
        Ok(())
    });
    assert!(
        matches!(&stopped, Err(Error::Backend { op: "visit", .. })),
        "{stopped:?}"
    );
    assert_eq!(visited, 10_000);
}
