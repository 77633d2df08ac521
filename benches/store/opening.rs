//! Figure 3, opening: for each backend, opening the corpus, `Desk::new` on an opened store
//! (scan and replay into incidents) and a host's cold start (both together), in events/s,
//! against parsing a JSON Lines file of the same events; plus the resident memory per
//! incident after opening a `FileStore`. A table of cases (one per backend) run by one
//! driver, all in the same interleaved rounds.

use std::path::Path;
use std::time::Instant;

use incidents::store::FileStoreOptions;
use incidents::store::SqliteStore;
use incidents::{Desk, FileStore, IncidentId, Store};

use crate::common::{self, Figure, FixedClock, MIB, Workload};
use crate::corpus::{self, Corpus, OPEN_AT_ONCE, parse_jsonl, scan_all};
use crate::data::{People, bench_id, start};
use crate::pg::PgDb;
use crate::{Backend, RSS_CHILD_ENV, Sizes, Versus};

/// One backend's opening figures. `{n}` in a name stands for the number of events.
struct Case {
    backend: Backend,
    /// `FileStore::open` is the recovery scan (frames checked, no event decoded); the
    /// databases have none, so theirs is `open`/`connect` plus a full `Store::scan`.
    open: &'static str,
    replay: &'static str,
    /// FileStore's cold start is measured whole; a database's is its median `Desk::new` plus
    /// its median `open`/`connect` alone, measured in the same rounds (milliseconds, against
    /// seconds of replay; measuring it whole would take another replay per round).
    cold: &'static str,
}

const CASES: [Case; 3] = [
    Case {
        backend: Backend::File,
        open: "FileStore::open, recovery scan of {n} events (median)",
        replay: "Desk::new on the opened FileStore, scan + replay (median)",
        cold: "FileStore::open + Desk::new, cold start of a host (median)",
    },
    Case {
        backend: Backend::Sqlite,
        open: "SqliteStore::open + full scan of {n} events, every event decoded (median)",
        replay: "Desk::new on the opened SqliteStore, scan + replay (median)",
        cold: "SqliteStore::open + Desk::new, cold start of a host (median Desk::new + median \
               open)",
    },
    Case {
        backend: Backend::Postgres,
        open: "PostgresStore::connect + full scan of {n} events, every event decoded (median)",
        replay: "Desk::new on the connected PostgresStore, scan + replay (median)",
        cold: "PostgresStore::connect + Desk::new, cold start of a host (median Desk::new + \
               median connect)",
    },
];

const BASELINE: &str =
    "BufReader + serde_json::from_str::<Event> per line of JSON Lines, same events (median)";

/// A figure's name in a case, and its value in a backend's measurements.
type Step = (fn(&Case) -> &'static str, fn(&Measured) -> f64);

/// Opens (or connects) a store on the corpus.
type Opener<'a> = Box<dyn Fn() -> Box<dyn Store> + 'a>;

fn opener<'a>(backend: Backend, corpus: &'a Corpus, pg: Option<&'a PgDb>) -> Option<Opener<'a>> {
    Some(match backend {
        Backend::File => Box::new(|| Box::new(corpus::open_file_store(&corpus.store_dir))),
        Backend::Sqlite => Box::new(|| Box::new(SqliteStore::open(&corpus.sqlite).unwrap())),
        Backend::Postgres => {
            let db = pg?;
            Box::new(|| db.connect())
        }
    })
}

/// A backend's three workloads: open (FileStore) or open + full scan (databases); `Desk::new`
/// on an opened store; open + `Desk::new` (FileStore) or open alone (databases, one operation
/// per run). Each run's store or desk is dropped after the clock stops.
fn workloads<'a>(
    backend: Backend,
    open: &'a Opener<'a>,
    events: u64,
    last: IncidentId,
) -> [Workload<'a>; 3] {
    let clock = FixedClock(start());
    let name = backend.name();
    let first = Workload::new(
        format!("{name} open"),
        || None,
        move |slot| {
            let store = open();
            if backend != Backend::File {
                assert_eq!(scan_all(&*store), events);
            }
            *slot = Some(store);
            events
        },
    );
    let replay = Workload::new(
        format!("{name} Desk::new"),
        || (Some(open()), None),
        move |(store, desk)| {
            let opened = Desk::new(store.take().unwrap(), clock).unwrap();
            assert!(opened.get(last).is_ok());
            *desk = Some(opened);
            events
        },
    );
    let third = if backend == Backend::File {
        Workload::new(
            format!("{name} open + Desk::new"),
            || None,
            move |desk| {
                *desk = Some(Desk::new(open(), clock).unwrap());
                events
            },
        )
    } else {
        Workload::new(
            format!("{name} open alone (per s)"),
            || None,
            move |slot| {
                *slot = Some(open());
                1
            },
        )
    };
    [first, replay, third]
}

/// One backend's medians, in events/s, and FileStore's best runs.
pub struct Measured {
    pub open: f64,
    pub replay: f64,
    pub cold: f64,
    pub best: [f64; 3],
}

/// Measures every backend that runs, with the baseline first, in the same rounds.
fn measure(
    corpus: &Corpus,
    sizes: &Sizes,
    pg: Option<&PgDb>,
) -> (f64, Vec<(&'static Case, Measured)>) {
    let events = corpus.events;
    let last = bench_id(corpus.incidents - 1);
    let openers: Vec<(&Case, Opener<'_>)> = CASES
        .iter()
        .filter_map(|case| Some((case, opener(case.backend, corpus, pg)?)))
        .collect();
    let baseline = Workload::new("JSON Lines parse", || (), |()| parse_jsonl(&corpus.jsonl));
    let mut all = vec![baseline];
    for (case, open) in &openers {
        all.extend(workloads(case.backend, open, events, last));
    }
    let rates = common::measure(sizes.open_plan, &mut all);
    drop(all);
    let m = common::medians(&rates);
    let measured = openers.iter().enumerate().map(|(i, (case, _))| {
        let [open, replay, third] = [1, 2, 3].map(|k| m[3 * i + k]);
        let best = [1, 2, 3].map(|k| rates[3 * i + k].best());
        let cold = if case.backend == Backend::File {
            third
        } else {
            // The median Desk::new plus the median open, as times per event.
            1.0 / (1.0 / replay + 1.0 / (third * events as f64))
        };
        if case.backend != Backend::File {
            eprintln!(
                "  {} open alone: {:.2} ms",
                case.backend.name(),
                1e3 / third
            );
        }
        let measured = Measured {
            open,
            replay,
            cold,
            best,
        };
        (*case, measured)
    });
    (m[0], measured.collect())
}

/// Prints what the corpus holds and how long it took to write.
fn describe(corpus: &Corpus, built: Instant, pg: Option<&PgDb>) {
    let pg = match (pg, corpus.sql_seconds.get(1)) {
        (Some(db), Some(seconds)) => format!(
            " and PostgreSQL ({} bytes with indexes, loaded in {seconds:.1} s with one COPY of \
             the rows PostgresStore writes, then VACUUM (FREEZE, ANALYZE) and CHECKPOINT)",
            db.bytes()
        ),
        _ => String::new(),
    };
    eprintln!(
        "3. open: {} events over {} incidents (7-10 events each), one event per append; \
         store {} bytes, JSON Lines {} bytes; built in {:.1} s (files warm in the page cache); \
         the same events in SQLite ({} bytes, written in {:.1} s with one append_batch per \
         {OPEN_AT_ONCE} incidents){pg}",
        corpus.events,
        corpus.incidents,
        corpus.store_bytes,
        corpus.jsonl_bytes,
        built.elapsed().as_secs_f64(),
        corpus.sqlite_bytes,
        corpus.sql_seconds[0],
    );
}

/// Checks, before any round, that every copy of the corpus holds every event.
fn check(corpus: &Corpus) {
    let store = corpus::open_file_store(&corpus.store_dir);
    let report = store.open_report();
    assert_eq!(report.events, corpus.events);
    assert_eq!(report.frames, corpus.events);
    assert_eq!(report.incidents as u64, corpus.incidents);
    assert_eq!(parse_jsonl(&corpus.jsonl), corpus.events);
}

/// Figure 3: every backend's open, replay and cold-start figures against the JSON Lines
/// baseline, a FileStore-against-SqliteStore row for each, then the memory figures.
pub fn opening(
    root: &Path,
    sizes: &Sizes,
    people: &People,
    pg: Option<&PgDb>,
    rows: &mut Vec<Versus>,
) -> Vec<Figure> {
    let built = Instant::now();
    let corpus = corpus::build(root, sizes.open_events, people, pg);
    describe(&corpus, built, pg);
    check(&corpus);
    let (baseline, measured) = measure(&corpus, sizes, pg);
    let n = corpus.events.to_string();
    let figure = |name: &str, value| {
        Figure::new(
            name.replace("{n}", &n),
            value,
            "events/s",
            BASELINE,
            baseline,
        )
    };
    let versus = crate::versus::opening(&measured[0].1, &measured[1].1, baseline);
    if let [(_, file), ..] = &measured[..]
        && file.cold > file.replay
    {
        eprintln!(
            "  CAUTION: FileStore::open + Desk::new measured faster than Desk::new alone, \
             which it includes: other load disturbed these rounds; rerun before comparing"
        );
    }
    let mut figures = Vec::new();
    let steps: [Step; 3] = [
        (|c| c.open, |m| m.open),
        (|c| c.replay, |m| m.replay),
        (|c| c.cold, |m| m.cold),
    ];
    for ((name, value), row) in steps.into_iter().zip(versus) {
        for (case, m) in &measured {
            figures.push(figure(name(case), value(m)));
        }
        figures.push(row.figure());
        rows.push(row);
    }
    figures.extend(snapshots(root, &corpus, sizes));
    figures.extend(memory(&corpus));
    figures
}

/// The segment files in `dir`, in order.
fn segment_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    files.sort();
    files
}

/// Cold start from a projection snapshot (the log's tail empty), against the cold start
/// that replays the whole log and SQLite's, all three in the same rounds. The snapshot (with
/// the store's index checkpoint) is written into a copy of the corpus; the full replay opens
/// the corpus itself, which has neither, as a host that never saves snapshots would.
fn snapshots(root: &Path, corpus: &Corpus, sizes: &Sizes) -> Vec<Figure> {
    let dir = root.join("snapshot-store");
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(&corpus.store_dir).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() && entry.file_name() != "LOCK" {
            std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
        }
    }
    let clock = FixedClock(start());
    let last = bench_id(corpus.incidents - 1);
    let started = Instant::now();
    let written = {
        let desk = Desk::new(corpus::open_file_store(&dir), clock).unwrap();
        let saving = Instant::now();
        let report = desk.save_snapshot().unwrap().unwrap();
        (report, saving.elapsed().as_secs_f64())
    };
    let (report, seconds) = written;
    eprintln!(
        "  snapshot: {} incidents, {} bytes ({:.0} bytes per incident; the segments hold {:.0}),          written by Desk::save_snapshot in {:.0} ms ({:.1} s with the replay before it)",
        report.incidents,
        report.bytes,
        report.bytes as f64 / corpus.incidents as f64,
        corpus.store_bytes as f64 / corpus.incidents as f64,
        seconds * 1e3,
        started.elapsed().as_secs_f64()
    );
    let events = corpus.events;
    let from_snapshot = Workload::new(
        "FileStore open + Desk::new from a snapshot",
        || None,
        |desk| {
            let store = corpus::open_file_store(&dir);
            assert!(
                store.open_report().vouched_bytes > 0,
                "the index checkpoint is used"
            );
            let opened = Desk::new(store, clock).unwrap();
            assert_eq!(opened.opening().from_snapshot as u64, corpus.incidents);
            assert_eq!(opened.opening().events_replayed, 0);
            assert!(opened.get(last).is_ok());
            *desk = Some(opened);
            events
        },
    );
    let full = Workload::new(
        "FileStore open + Desk::new replaying the log",
        || None,
        |desk| {
            // The corpus itself: a host that never saves snapshots has neither a projection
            // snapshot nor an index checkpoint, so its open reads every frame too.
            let opened = Desk::builder(corpus::open_file_store(&corpus.store_dir), clock)
                .ignore_snapshot()
                .build()
                .unwrap();
            assert!(opened.get(last).is_ok());
            *desk = Some(opened);
            events
        },
    );
    let sqlite = Workload::new(
        "SqliteStore open + Desk::new",
        || None,
        |desk| {
            let opened = Desk::new(SqliteStore::open(&corpus.sqlite).unwrap(), clock).unwrap();
            assert!(opened.get(last).is_ok());
            *desk = Some(opened);
            events
        },
    );
    let resumed = Workload::new(
        "FileStore::open from its index checkpoint",
        || None,
        |store| {
            let opened = corpus::open_file_store(&dir);
            assert!(opened.open_report().vouched_bytes > 0);
            *store = Some(opened);
            events
        },
    );
    let scanned = Workload::new(
        "FileStore::open reading every frame",
        || None,
        |store| {
            let opened = corpus::open_file_store(&corpus.store_dir);
            assert_eq!(opened.open_report().vouched_bytes, 0);
            *store = Some(opened);
            events
        },
    );
    // A host restarting after a clean shutdown, without snapshots: the store wrote its index
    // checkpoint when it was dropped, and the desk replays the log.
    let closed = root.join("closed-store");
    std::fs::create_dir_all(&closed).unwrap();
    for path in segment_files(&corpus.store_dir) {
        std::fs::copy(&path, closed.join(path.file_name().unwrap())).unwrap();
    }
    drop(
        FileStore::open_with(
            &closed,
            FileStoreOptions::new().checkpoint_on_close_after(0),
        )
        .unwrap(),
    );
    let after_close = Workload::new(
        "FileStore open + Desk::new after a clean close (index checkpoint, no snapshot)",
        || None,
        |desk| {
            let store = corpus::open_file_store(&closed);
            assert!(store.open_report().vouched_bytes > 0);
            let opened = Desk::new(store, clock).unwrap();
            assert_eq!(opened.opening().from_snapshot, 0);
            assert!(opened.get(last).is_ok());
            *desk = Some(opened);
            events
        },
    );
    let mut all = vec![from_snapshot, full, sqlite, resumed, scanned, after_close];
    let rates = common::measure(sizes.open_plan, &mut all);
    drop(all);
    let [snap, full, sqlite, resumed, scanned, after_close] = common::medians(&rates)[..] else {
        unreachable!("six workloads, six medians")
    };
    vec![
        Figure::new(
            "FileStore cold start after a clean close (index checkpoint written when the store \
             was dropped, no snapshot: the desk replays the log) against SqliteStore's cold \
             start (median)",
            after_close,
            "events/s",
            "SqliteStore::open + Desk::new, same events, same rounds (median)",
            sqlite,
        ),
        Figure::new(
            format!(
                "FileStore::open of {events} events resuming from its index checkpoint \
                 (median)"
            ),
            resumed,
            "events/s",
            "FileStore::open of the same events without a checkpoint, reading and checking \
             every frame, same rounds (median)",
            scanned,
        ),
        Figure::new(
            format!(
                "FileStore::open + Desk::new from a projection snapshot of {events} events, \
                 empty tail, cold start of a host (median)"
            ),
            snap,
            "events/s",
            "FileStore::open + Desk::new replaying the whole log of the same events, a store without snapshot or index checkpoint, same rounds (median)",
            full,
        ),
        Figure::new(
            "FileStore cold start from a projection snapshot against SqliteStore's cold start \
             (median)",
            snap,
            "events/s",
            "SqliteStore::open + Desk::new, same events, same rounds (median)",
            sqlite,
        ),
    ]
}

/// Resident memory per incident, measured in a child process that only opens the store (so
/// no earlier allocation can hide it), against the store's bytes on disk per incident.
fn memory(corpus: &Corpus) -> Vec<Figure> {
    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .env(RSS_CHILD_ENV, &corpus.store_dir)
        .output()
        .unwrap();
    assert!(
        child.status.success(),
        "memory child failed: {}",
        String::from_utf8_lossy(&child.stderr)
    );
    let out = String::from_utf8(child.stdout).unwrap();
    let numbers: Vec<f64> = out.split_whitespace().map(|w| w.parse().unwrap()).collect();
    let [before, opened, desk, peak] = numbers[..] else {
        eprintln!("  memory: not measured (no /proc/self/status here)");
        return Vec::new();
    };
    let incidents = corpus.incidents as f64;
    let disk = corpus.store_bytes as f64 / incidents;
    eprintln!(
        "  memory (child process, VmRSS): {:.0} MiB before open, {:.0} MiB after \
         FileStore::open, {:.0} MiB after Desk::new, peak {:.0} MiB (resident memory includes \
         what the allocator keeps after freeing temporaries); figures below: lower is better",
        before / MIB,
        opened / MIB,
        desk / MIB,
        peak / MIB
    );
    let per_incident = |name: &str, rss: f64| {
        let baseline = "segment bytes on disk per incident";
        Figure::new(
            name,
            (rss - before) / incidents,
            "bytes/incident",
            baseline,
            disk,
        )
    };
    vec![
        per_incident(
            "resident memory per incident after FileStore::open (lower is better)",
            opened,
        ),
        per_incident(
            "resident memory per incident after FileStore::open + Desk::new (lower is better)",
            desk,
        ),
    ]
}

/// The memory child: prints RSS before opening, after `FileStore::open`, after `Desk::new`,
/// and the peak, in bytes (nothing if they cannot be read).
pub fn rss_child(dir: &Path) {
    let Some((before, _)) = common::rss() else {
        return;
    };
    let store = corpus::open_file_store(dir);
    let (opened, _) = common::rss().unwrap();
    let desk = Desk::new(store, FixedClock(start())).unwrap();
    let (replayed, peak) = common::rss().unwrap();
    std::hint::black_box(&desk);
    println!("{before} {opened} {replayed} {peak}");
}
