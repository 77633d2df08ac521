//! File store throughput: durable appends and opening, each beside a raw-file baseline
//! measured in the same run, under the same temporary directory, on the same disk.
//!
//! Every store here is a `FileStore` with the default options (`Durability::Flush`: each
//! append returns after fdatasync), plus a `FaultHook` that only counts flushes (it never
//! injects a fault). Stores and baseline files live in fresh directories under one temporary
//! directory (in `std::env::temp_dir()`, printed on stderr with its file system, removed at
//! the end); events are built before the clock starts by running real lifecycle commands
//! through `decide`.
//!
//! 1. **One durable event per append**: `store.append(id, expected, &[event])` from one thread
//!    (the store encodes the event), against writing the same encoded frame with `write_all`
//!    and `sync_data` per record on a plain file. Goal: ratio ≥ 0.9.
//! 2. **64 events per flush**: (a) `append_batch` of 8 incidents × 8 events from one thread;
//!    (b) 8 threads, each appending 8 events per call to its own incidents, sharing flushes
//!    through group commit (the average number of events per fdatasync is counted and
//!    reported). Both against one raw write plus one `sync_data` per 64 events of the bytes
//!    the store writes. Goal: ratio ≥ 0.8.
//! 3. **Opening**: `FileStore::open` (recovery scan), `Desk::new` on the opened store (scan and
//!    replay into incidents) and both together, in events/s, against reading a JSON Lines
//!    file of the same events with a `BufReader` and `serde_json::from_str::<Event>` per line.
//!    Goal for the open: ratio ≥ 0.75. The store is written one event per append, as a desk
//!    writes it (with `Durability::Buffered`, to make the set-up fast), incidents interleaved.
//!    Also the resident memory per incident after opening and after `Desk::new`, measured in
//!    a child process (so no earlier allocation can hide it), against the store's bytes on
//!    disk per incident.
//!
//! Workloads run in interleaved rounds (figure and baseline alternately, so both see the same
//! load on this shared machine); figures are the median run. Run with
//! `cargo bench --bench store`; `QUICK=1` makes it short (smaller sizes, fewer rounds).
//! Results: `target/bench-results/store.json`.

mod common;

use std::cell::RefCell;
use std::fs::{File, OpenOptions};
use std::hint::black_box;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::{Figure, Plan, Workload};
use incidents::store::file::{FaultHook, format};
use incidents::{
    Actor, Append, Clock, Command, Desk, Durability, Event, FileStore, FileStoreOptions, Incident,
    IncidentId, NewIncident, Resolution, Role, Severity, Source, Store, Version, decide,
};

/// Set in the child process that measures memory; its value is the store directory.
const RSS_CHILD_ENV: &str = "INCIDENTS_BENCH_STORE_RSS_CHILD";

/// Threads appending at once in the group-commit workload.
const THREADS: usize = 8;
/// Events per call in the 64-events-per-flush workloads.
const EVENTS_PER_CALL: usize = 8;
/// Events per flush the baseline writes (and group commit aims at): 8 × 8.
const EVENTS_PER_SYNC: usize = THREADS * EVENTS_PER_CALL;

/// The goals: (index of the figure, minimum ratio to its baseline).
const GOALS: [(usize, f64); 4] = [(0, 0.9), (1, 0.8), (2, 0.8), (4, 0.75)];

/// The sizes of a run.
struct Sizes {
    /// Appends per round for figure 1.
    single_appends: usize,
    /// Calls per round for figure 2a; rounds of the group-commit workload per thread for 2b.
    calls: usize,
    /// Events in the store opened for figure 3.
    open_events: u64,
    append_plan: Plan,
    open_plan: Plan,
}

/// A clock that always shows the same time (the desk needs one; opening never reads it).
#[derive(Debug, Clone, Copy)]
struct FixedClock(DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()
}

/// Counts flushes of segment files (`fdatasync`), never failing one.
#[derive(Debug, Default)]
struct SyncCounter(AtomicU64);

impl FaultHook for SyncCounter {
    fn on_sync(&self, path: &Path) -> Option<io::Error> {
        // Directory flushes (only when a segment is created) are not counted.
        if path.extension().is_some_and(|e| e == "log") {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
        None
    }
}

impl SyncCounter {
    fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// The people who work on the bench's incidents.
struct People {
    owner: Actor,
    responder: Actor,
    support: Actor,
}

impl People {
    fn new() -> People {
        People {
            owner: Actor::new("shimon", "Shimon Levi", Role::Owner).unwrap(),
            responder: Actor::new("dana", "Dana Cohen", Role::Responder).unwrap(),
            support: Actor::new("noa", "Noa Mizrahi", Role::Support).unwrap(),
        }
    }
}

const TITLES: [&str; 4] = [
    "Checkout crashes after adding a gift card",
    "Card payments fail at the till",
    "Order confirmation e-mails are not sent",
    "Booking form times out on mobile",
];
const SERVICES: [&str; 4] = ["online shop", "payments", "e-mail", "bookings"];

/// A deterministic id shaped like a v7 UUID: a millisecond timestamp, then mixed bits.
fn bench_id(n: u64) -> IncidentId {
    let mix = |mut z: u64| {
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let millis = start().timestamp_millis() as u64 + n;
    let mut bytes = [0u8; 16];
    bytes[..6].copy_from_slice(&millis.to_be_bytes()[2..]);
    bytes[6..14].copy_from_slice(&mix(n).to_le_bytes());
    bytes[14..].copy_from_slice(&mix(!n).to_le_bytes()[..2]);
    bytes[6] = 0x70 | (bytes[6] & 0x0f);
    bytes[8] = 0x80 | (bytes[8] & 0x3f);
    IncidentId::from_bytes(bytes)
}

/// Incident `n`'s history as a desk records it, one event per command: open, acknowledge,
/// start investigating, identify, mitigate, then `extra` notes and customer updates, resolve
/// and close: `7 + extra` events, each made by `decide` and checked by `Incident::apply`.
fn history(n: u64, extra: usize, people: &People) -> (IncidentId, Vec<Event>) {
    let id = bench_id(n);
    let i = n as usize;
    let new = NewIncident::new(
        TITLES[i % TITLES.len()],
        Severity::ALL[i % Severity::ALL.len()],
        SERVICES[(i / 4) % SERVICES.len()],
        Source::ALL[(i / 16) % Source::ALL.len()],
    )
    .unwrap();
    let mut steps: Vec<(&Actor, Command)> = vec![
        (&people.support, Command::Open { id, incident: new }),
        (&people.owner, Command::Acknowledge),
        (&people.responder, Command::StartInvestigating),
        (
            &people.responder,
            Command::identify(format!("connection pool exhausted on db-{}", n % 7)).unwrap(),
        ),
        (
            &people.responder,
            Command::mitigate("raised the pool size and restarted the workers").unwrap(),
        ),
    ];
    for k in 0..extra {
        steps.push(if k % 2 == 0 {
            (
                &people.responder,
                Command::note(format!(
                    "error rate back under 1% ({} minutes)",
                    5 * (k + 1)
                ))
                .unwrap(),
            )
        } else {
            (
                &people.support,
                Command::customer_update("Payments work again; we are watching closely.").unwrap(),
            )
        });
    }
    steps.push((&people.owner, Command::resolve(Resolution::Fixed)));
    steps.push((
        &people.owner,
        Command::close(
            "The database ran out of connections under the lunch peak.",
            "Alert on pool usage above 80%.",
        )
        .unwrap(),
    ));

    let mut at = start() + Duration::seconds(n as i64);
    let mut incident: Option<Incident> = None;
    let mut events = Vec::with_capacity(steps.len());
    for (actor, command) in steps {
        at += Duration::minutes(3);
        for event in decide(incident.as_ref(), &command, actor, at).unwrap() {
            match incident.as_mut() {
                None => incident = Some(Incident::opened(id, &event).unwrap()),
                Some(incident) => incident.apply(&event).unwrap(),
            }
            events.push(event);
        }
    }
    assert_eq!(events.len(), 7 + extra, "one event per command");
    (id, events)
}

/// A new, empty directory under `root`. Directories are only removed with `root`, at the
/// end: deleting files between rounds (this file system is mounted with `discard`) would
/// add journal work to whichever workload runs next.
fn fresh_dir(root: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = root.join(format!("round-{}", NEXT.fetch_add(1, Ordering::Relaxed)));
    std::fs::create_dir(&dir).unwrap();
    dir
}

/// A fresh store with the default options and a flush counter.
struct Opened {
    store: FileStore,
    syncs: Arc<SyncCounter>,
}

fn fresh_store(root: &Path) -> Opened {
    let syncs = Arc::new(SyncCounter::default());
    let options = FileStoreOptions::new().fault_hook(syncs.clone());
    let store = FileStore::open_with(fresh_dir(root), options).unwrap();
    Opened { store, syncs }
}

/// A fresh plain file, starting as long as a new segment (a header's worth of bytes), flushed.
struct RawFile {
    file: File,
}

fn fresh_raw_file(root: &Path) -> RawFile {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(fresh_dir(root).join("raw.log"))
        .unwrap();
    file.write_all(&[0; format::FILE_HEADER_LEN]).unwrap();
    file.sync_data().unwrap();
    RawFile { file }
}

/// Writes each record with one `write_all` and flushes it with one `sync_data`.
fn raw_write_and_sync(raw: &mut RawFile, records: &[Vec<u8>]) {
    for bytes in records {
        raw.file.write_all(bytes).unwrap();
        raw.file.sync_data().unwrap();
    }
}

fn encoded(groups: &[(IncidentId, u64, &[Event])]) -> Vec<u8> {
    let mut frame = Vec::new();
    format::encode_frame(&mut frame, groups).unwrap();
    frame
}

/// Figure 1's appends: 8-event histories, appended one event at a time, and the frame the
/// store writes for each.
struct Singles {
    appends: Vec<(IncidentId, Version, Event)>,
    frames: Vec<Vec<u8>>,
}

fn singles(count: usize, people: &People) -> Singles {
    let mut appends = Vec::with_capacity(count);
    for n in 0.. {
        let (id, events) = history(n, 1, people);
        for (v, event) in events.into_iter().enumerate() {
            if appends.len() == count {
                break;
            }
            appends.push((id, Version::new(v as u64), event));
        }
        if appends.len() == count {
            break;
        }
    }
    let frames = appends
        .iter()
        .map(|(id, v, event)| encoded(&[(*id, v.get() + 1, std::slice::from_ref(event))]))
        .collect();
    Singles { appends, frames }
}

/// Whole 8-event histories, numbered from `first`.
fn histories8(first: u64, count: usize, people: &People) -> Vec<(IncidentId, Vec<Event>)> {
    (first..first + count as u64)
        .map(|n| history(n, 1, people))
        .collect()
}

/// Runs `work(thread)` on `threads` scoped threads and sums what they return.
fn on_threads(threads: usize, work: impl Fn(usize) -> u64 + Sync) -> u64 {
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|thread| {
                let work = &work;
                scope.spawn(move || work(thread))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    })
}

/// Flushes and events of each measured round of a workload (warm-up rounds included: the
/// caller keeps the last ones).
type SyncLog = RefCell<Vec<(u64, u64)>>;

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

/// Median events per flush over the last `runs` rounds in `log`.
fn events_per_sync(log: &SyncLog, runs: usize) -> f64 {
    let log = log.borrow();
    median(
        log[log.len() - runs..]
            .iter()
            .map(|&(syncs, events)| events as f64 / syncs as f64)
            .collect(),
    )
}

/// Figures 1 and 2: durable appends.
fn appends(root: &Path, sizes: &Sizes, people: &People) -> Vec<Figure> {
    let plan = sizes.append_plan;

    // 1. One durable event per append.
    let one = singles(sizes.single_appends, people);
    let one_log = SyncLog::default();
    eprintln!(
        "1. one event per append: {} appends per round ({} bytes per frame on average)",
        one.appends.len(),
        one.frames.iter().map(Vec::len).sum::<usize>() / one.frames.len()
    );
    let rates = common::measure(
        plan,
        &mut [
            Workload::new(
                "FileStore append, 1 event",
                || fresh_store(root),
                |s| {
                    let before = s.syncs.get();
                    for (id, expected, event) in &one.appends {
                        s.store
                            .append(*id, *expected, std::slice::from_ref(event))
                            .unwrap();
                    }
                    let n = one.appends.len() as u64;
                    one_log.borrow_mut().push((s.syncs.get() - before, n));
                    n
                },
            ),
            Workload::new(
                "raw write_all + sync_data per record",
                || fresh_raw_file(root),
                |raw| {
                    raw_write_and_sync(raw, &one.frames);
                    one.frames.len() as u64
                },
            ),
        ],
    );
    let (single_store, single_raw) = (rates[0].median(), rates[1].median());
    eprintln!(
        "  events per fdatasync: {:.1} (median)",
        events_per_sync(&one_log, plan.runs)
    );
    drop(one);

    // 2a. 64 events per call: append_batch of 8 incidents x 8 events.
    let batches: Vec<Vec<(IncidentId, Vec<Event>)>> = (0..sizes.calls)
        .map(|call| histories8((call * THREADS) as u64, THREADS, people))
        .collect();
    let batch_frames: Vec<Vec<u8>> = batches
        .iter()
        .map(|batch| {
            let groups: Vec<(IncidentId, u64, &[Event])> = batch
                .iter()
                .map(|(id, events)| (*id, 1, events.as_slice()))
                .collect();
            encoded(&groups)
        })
        .collect();

    // 2b. 8 threads, each appending 8 events per call to its own incidents.
    let per_thread: Vec<Vec<(IncidentId, Vec<Event>)>> = (0..THREADS)
        .map(|t| histories8((t * sizes.calls) as u64, sizes.calls, people))
        .collect();
    // What group commit writes when the 8 threads' calls coincide: 8 one-group frames.
    let group_frames: Vec<Vec<u8>> = (0..sizes.calls)
        .map(|call| {
            per_thread
                .iter()
                .flat_map(|calls| {
                    let (id, events) = &calls[call];
                    encoded(&[(*id, 1, events.as_slice())])
                })
                .collect()
        })
        .collect();

    let events = (sizes.calls * EVENTS_PER_SYNC) as u64;
    let batch_log = SyncLog::default();
    let group_log = SyncLog::default();
    eprintln!(
        "2. 64 events per flush: {events} events per round; (a) {} append_batch calls of \
         {THREADS} incidents x {EVENTS_PER_CALL} events, (b) {THREADS} threads x {} appends of \
         {EVENTS_PER_CALL} events; baselines one write + one sync_data per {EVENTS_PER_SYNC} \
         events ({} and {} bytes per write on average)",
        sizes.calls,
        sizes.calls,
        batch_frames.iter().map(Vec::len).sum::<usize>() / sizes.calls,
        group_frames.iter().map(Vec::len).sum::<usize>() / sizes.calls,
    );
    let rates = common::measure(
        plan,
        &mut [
            Workload::new(
                "FileStore append_batch, 8 x 8 events",
                || fresh_store(root),
                |s| {
                    let before = s.syncs.get();
                    for batch in &batches {
                        let appends: Vec<Append<'_>> = batch
                            .iter()
                            .map(|(id, events)| Append {
                                id: *id,
                                expected: Version::ZERO,
                                events,
                            })
                            .collect();
                        s.store.append_batch(&appends).unwrap();
                    }
                    batch_log
                        .borrow_mut()
                        .push((s.syncs.get() - before, events));
                    events
                },
            ),
            Workload::new(
                "raw write + sync_data per 64 events (append_batch's bytes)",
                || fresh_raw_file(root),
                |raw| {
                    raw_write_and_sync(raw, &batch_frames);
                    events
                },
            ),
            Workload::new(
                "FileStore append, 8 threads x 8 events (group commit)",
                || fresh_store(root),
                |s| {
                    let before = s.syncs.get();
                    let store = &s.store;
                    let per_thread = &per_thread;
                    let done = on_threads(THREADS, |t| {
                        for (id, events) in &per_thread[t] {
                            store.append(*id, Version::ZERO, events).unwrap();
                        }
                        (per_thread[t].len() * EVENTS_PER_CALL) as u64
                    });
                    group_log.borrow_mut().push((s.syncs.get() - before, done));
                    done
                },
            ),
            Workload::new(
                "raw write + sync_data per 64 events (group commit's bytes)",
                || fresh_raw_file(root),
                |raw| {
                    raw_write_and_sync(raw, &group_frames);
                    events
                },
            ),
        ],
    );
    let [batch_store, batch_raw, group_store, group_raw] = [0, 1, 2, 3].map(|i| rates[i].median());
    let batch_per_sync = events_per_sync(&batch_log, plan.runs);
    let group_per_sync = events_per_sync(&group_log, plan.runs);
    eprintln!(
        "  events per fdatasync (median): append_batch {batch_per_sync:.1}, group commit \
         {group_per_sync:.1}"
    );

    vec![
        Figure::new(
            "FileStore append, 1 event per append, Flush (1 thread, median)",
            single_store,
            "appends/s",
            "raw write_all + sync_data per record, same bytes (median)",
            single_raw,
        ),
        Figure::new(
            "FileStore append_batch, 8 incidents x 8 events per call, Flush (1 thread, median)",
            batch_store,
            "events/s",
            "raw write + sync_data per 64 events, same bytes (median)",
            batch_raw,
        ),
        Figure::new(
            "FileStore append, 8 threads x 8 events per call, group commit, Flush (median)",
            group_store,
            "events/s",
            "raw write + sync_data per 64 events, same bytes, 1 thread (median)",
            group_raw,
        ),
        Figure::new(
            "events per fdatasync, 8 threads x 8 events per call, group commit (median)",
            group_per_sync,
            "events/sync",
            "one sync per 8 x 8 events",
            EVENTS_PER_SYNC as f64,
        ),
    ]
}

/// Figure 3's data: a store and a JSON Lines file holding the same events.
struct Corpus {
    store_dir: PathBuf,
    jsonl: PathBuf,
    events: u64,
    incidents: u64,
    store_bytes: u64,
    jsonl_bytes: u64,
}

/// Incidents being worked on at once while the corpus is written: their events interleave.
const OPEN_AT_ONCE: usize = 1000;

/// Writes `target` events (7 to 10 per incident) into a new store under `root`, one event per
/// append as a desk records them, a thousand incidents at a time interleaved; and the same
/// events, in the same order, into a JSON Lines file (one `Event` per line).
fn build_corpus(root: &Path, target: u64, people: &People) -> Corpus {
    let store_dir = root.join("open-store");
    let jsonl = root.join("open-events.jsonl");
    let options = FileStoreOptions::new().durability(Durability::Buffered);
    let store = FileStore::open_with(&store_dir, options).unwrap();
    let mut out = BufWriter::with_capacity(1 << 20, File::create(&jsonl).unwrap());
    let (mut events, mut incidents) = (0u64, 0u64);
    while events < target {
        let mut chunk = Vec::with_capacity(OPEN_AT_ONCE);
        while chunk.len() < OPEN_AT_ONCE && events < target {
            let extra = (incidents % 4) as usize;
            let (id, mut history) = history(incidents, extra, people);
            // The last incident may be cut short to hit the target exactly.
            history.truncate((target - events).min(history.len() as u64) as usize);
            events += history.len() as u64;
            incidents += 1;
            chunk.push((id, history));
        }
        for step in 0..10 {
            for (id, history) in &chunk {
                if let Some(event) = history.get(step) {
                    store
                        .append(*id, Version::new(step as u64), std::slice::from_ref(event))
                        .unwrap();
                    serde_json::to_writer(&mut out, event).unwrap();
                    out.write_all(b"\n").unwrap();
                }
            }
        }
    }
    out.flush().unwrap();
    drop(out);
    drop(store);
    let store_bytes = std::fs::read_dir(&store_dir)
        .unwrap()
        .map(|entry| entry.unwrap().metadata().unwrap())
        .filter(|meta| meta.is_file())
        .map(|meta| meta.len())
        .sum();
    let jsonl_bytes = std::fs::metadata(&jsonl).unwrap().len();
    Corpus {
        store_dir,
        jsonl,
        events,
        incidents,
        store_bytes,
        jsonl_bytes,
    }
}

/// The baseline: every line of a JSON Lines file parsed as an `Event`.
fn parse_jsonl(path: &Path) -> u64 {
    let mut reader = BufReader::new(File::open(path).unwrap());
    let mut line = String::new();
    let mut n = 0;
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap() == 0 {
            return n;
        }
        let event: Event = serde_json::from_str(line.trim_end()).unwrap();
        black_box(&event);
        n += 1;
    }
}

type BenchDesk = Desk<FileStore, FixedClock>;

/// Figure 3: opening.
fn opening(root: &Path, sizes: &Sizes, people: &People) -> Vec<Figure> {
    let built = std::time::Instant::now();
    let corpus = build_corpus(root, sizes.open_events, people);
    eprintln!(
        "3. open: {} events over {} incidents (7-10 events each), one event per append; \
         store {} bytes, JSON Lines {} bytes; built in {:.1} s (files warm in the page cache)",
        corpus.events,
        corpus.incidents,
        corpus.store_bytes,
        corpus.jsonl_bytes,
        built.elapsed().as_secs_f64()
    );
    let check = FileStore::open(&corpus.store_dir).unwrap();
    let report = check.open_report();
    assert_eq!(report.events, corpus.events);
    assert_eq!(report.frames, corpus.events);
    assert_eq!(report.incidents as u64, corpus.incidents);
    drop(check);
    assert_eq!(parse_jsonl(&corpus.jsonl), corpus.events);

    let events = corpus.events;
    let dir = corpus.store_dir.as_path();
    let clock = FixedClock(start());
    let rates = common::measure(
        sizes.open_plan,
        &mut [
            Workload::new(
                "FileStore::open",
                || None::<FileStore>,
                |slot| {
                    let store = FileStore::open(dir).unwrap();
                    assert_eq!(store.open_report().events, events);
                    *slot = Some(store); // dropped after the clock stops
                    events
                },
            ),
            Workload::new(
                "BufReader + serde_json::from_str::<Event> per line",
                || (),
                |()| parse_jsonl(&corpus.jsonl),
            ),
            Workload::new(
                "Desk::new on an open FileStore",
                || (Some(FileStore::open(dir).unwrap()), None::<BenchDesk>),
                |(store, desk)| {
                    let opened = Desk::new(store.take().unwrap(), clock).unwrap();
                    assert_eq!(opened.store().incident_count() as u64, corpus.incidents);
                    *desk = Some(opened);
                    events
                },
            ),
            Workload::new(
                "FileStore::open + Desk::new",
                || None::<BenchDesk>,
                |desk| {
                    let opened = Desk::new(FileStore::open(dir).unwrap(), clock).unwrap();
                    *desk = Some(opened);
                    events
                },
            ),
        ],
    );
    let [open, baseline, replay, cold] = [0, 1, 2, 3].map(|i| rates[i].median());

    let mut figures = vec![
        Figure::new(
            format!("FileStore::open, recovery scan of {events} events (median)"),
            open,
            "events/s",
            "BufReader + serde_json::from_str::<Event> per line of JSON Lines, same events (median)",
            baseline,
        ),
        Figure::new(
            "Desk::new on the opened FileStore, scan + replay (median)",
            replay,
            "events/s",
            "BufReader + serde_json::from_str::<Event> per line of JSON Lines, same events (median)",
            baseline,
        ),
        Figure::new(
            "FileStore::open + Desk::new, cold start of a host (median)",
            cold,
            "events/s",
            "BufReader + serde_json::from_str::<Event> per line of JSON Lines, same events (median)",
            baseline,
        ),
    ];
    figures.extend(memory(&corpus));
    figures
}

const MIB: f64 = 1024.0 * 1024.0;

/// Resident memory per incident, measured in a child process that only opens the store.
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
    let numbers: Vec<f64> = out
        .split_whitespace()
        .map(|word| word.parse().unwrap())
        .collect();
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
    vec![
        Figure::new(
            "resident memory per incident after FileStore::open (lower is better)",
            (opened - before) / incidents,
            "bytes/incident",
            "segment bytes on disk per incident",
            disk,
        ),
        Figure::new(
            "resident memory per incident after FileStore::open + Desk::new (lower is better)",
            (desk - before) / incidents,
            "bytes/incident",
            "segment bytes on disk per incident",
            disk,
        ),
    ]
}

/// The process's resident set and its peak, in bytes, from `/proc/self/status`.
fn rss() -> Option<(f64, f64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| -> Option<f64> {
        let line = status.lines().find(|line| line.starts_with(name))?;
        let kib: f64 = line[name.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()?;
        Some(kib * 1024.0)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// The memory child: prints RSS before opening, after `FileStore::open`, after `Desk::new`,
/// and the peak, in bytes (nothing if they cannot be read).
fn rss_child(dir: &Path) {
    let Some((before, _)) = rss() else { return };
    let store = FileStore::open(dir).unwrap();
    let (opened, _) = rss().unwrap();
    let desk = Desk::new(store, FixedClock(start())).unwrap();
    let (replayed, peak) = rss().unwrap();
    black_box(&desk);
    println!("{before} {opened} {replayed} {peak}");
}

/// Where `path` is mounted: the file system type and its source, from `/proc/self/mountinfo`.
fn file_system(path: &Path) -> Option<String> {
    let path = path.canonicalize().ok()?;
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    mountinfo
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            let mount = Path::new(*fields.get(4)?);
            let dash = fields.iter().position(|f| *f == "-")?;
            let kind = fields.get(dash + 1)?;
            let source = fields.get(dash + 2)?;
            path.starts_with(mount)
                .then(|| (mount.as_os_str().len(), format!("{kind} on {source}")))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, what)| what)
}

#[cfg(unix)]
fn same_device(a: &Path, b: &Path) -> Option<bool> {
    use std::os::unix::fs::MetadataExt;
    Some(std::fs::metadata(a).ok()?.dev() == std::fs::metadata(b).ok()?.dev())
}

#[cfg(not(unix))]
fn same_device(_: &Path, _: &Path) -> Option<bool> {
    None
}

fn main() {
    if let Some(dir) = std::env::var_os(RSS_CHILD_ENV) {
        rss_child(Path::new(&dir));
        return;
    }
    let quick = common::quick();
    let sizes = if quick {
        Sizes {
            single_appends: 150,
            calls: 60,
            open_events: 100_000,
            append_plan: Plan {
                warmup: 1,
                runs: 11,
            },
            open_plan: Plan { warmup: 1, runs: 3 },
        }
    } else {
        Sizes {
            single_appends: 300,
            calls: 150,
            open_events: 1_000_000,
            append_plan: Plan {
                warmup: 2,
                runs: 31,
            },
            open_plan: Plan { warmup: 1, runs: 5 },
        }
    };
    let root = tempfile::Builder::new()
        .prefix("incidents-bench-store-")
        .tempdir()
        .unwrap();
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    eprintln!(
        "store: {}in {} ({}; same device as the crate: {}); append figures: {} interleaved \
         rounds after {} warm-up, open figures: {} after {}; figures are medians",
        if quick {
            "QUICK run (smaller sizes, fewer rounds) "
        } else {
            ""
        },
        root.path().display(),
        file_system(root.path()).unwrap_or_else(|| "file system unknown".into()),
        match same_device(root.path(), crate_dir) {
            Some(true) => "yes",
            Some(false) => "no",
            None => "unknown",
        },
        sizes.append_plan.runs,
        sizes.append_plan.warmup,
        sizes.open_plan.runs,
        sizes.open_plan.warmup,
    );

    let people = People::new();
    let mut figures = appends(root.path(), &sizes, &people);
    figures.extend(opening(root.path(), &sizes, &people));
    for (i, goal) in GOALS {
        let figure = &figures[i];
        let verdict = if figure.ratio >= goal {
            "met"
        } else {
            "NOT met"
        };
        eprintln!(
            "goal ratio >= {goal}: {verdict} ({:.2}) for {}",
            figure.ratio, figure.name
        );
    }
    common::report("store", &figures);
}
