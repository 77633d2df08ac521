//! Store throughput: durable appends and opening, for `FileStore` beside a raw-file baseline
//! measured in the same run, under the same temporary directory, on the same disk; and the
//! database backends, `SqliteStore` (always: this bench needs the `sqlite` feature) and
//! `PostgresStore` (feature `postgres` and `INCIDENTS_PG_URL` set), on the same workloads in
//! the same interleaved rounds, each against the same raw baseline and FileStore against
//! SqliteStore.
//!
//! Every file store here is a `FileStore` with the default options (`Durability::Flush`: each
//! append returns after fdatasync), plus a `FaultHook` that only counts flushes (it never
//! injects a fault). Every `SqliteStore` is `SqliteStore::open(dir.join("x.db"))` in a fresh
//! directory: WAL mode with `synchronous=FULL`, so each commit returns after the WAL is
//! flushed. `PostgresStore`s write to databases the bench creates on the server at
//! `INCIDENTS_PG_URL` (and drops at the end); the server's `fsync` and `synchronous_commit`
//! are printed on stderr. Stores and baseline files live in fresh directories under one
//! temporary directory (in `std::env::temp_dir()`, printed on stderr with its file system,
//! removed at the end); events are built before the clock starts by running real lifecycle
//! commands through `decide`.
//!
//! 1. **One durable event per append**: `store.append(id, expected, &[event])` from one thread
//!    (the store encodes the event), against writing the same encoded frame with `write_all`
//!    and `sync_data` per record on a plain file. Goal: ratio ≥ 0.9.
//! 2. **64 events per flush**: (a) `append_batch` of 8 incidents × 8 events from one thread;
//!    (b) 8 threads, each appending 8 events per call to its own incidents, sharing flushes
//!    through group commit (the average number of events per fdatasync is counted and
//!    reported). Both against one raw write plus one `sync_data` per 64 events of the bytes
//!    the store writes. Goal: ratio ≥ 0.8. The database stores run the same calls (PostgreSQL
//!    only the first third of them per round, for time); both serialise every call on one
//!    connection behind a `Mutex`, so in (b) their 8 threads take turns, one transaction
//!    (and one flush) per 8-event call. Each round gets a fresh SQLite file; PostgreSQL keeps
//!    one connection and its table is emptied (`TRUNCATE`) before each round.
//! 3. **Opening**: `FileStore::open` (recovery scan), `Desk::new` on the opened store (scan and
//!    replay into incidents) and both together, in events/s, against reading a JSON Lines
//!    file of the same events with a `BufReader` and `serde_json::from_str::<Event>` per line.
//!    Goal for the open: ratio ≥ 0.75. The store is written one event per append, as a desk
//!    writes it (with `Durability::Buffered`, to make the set-up fast), incidents interleaved.
//!    The databases hold the same events in the same order: SQLite written with one large
//!    `append_batch` per thousand incidents, PostgreSQL loaded with one `COPY` of the rows
//!    `PostgresStore` writes (set-up speed; its `append_batch` makes a round trip per
//!    event). They have no recovery scan, so their "open" is `open`/`connect` plus a full
//!    `scan` (every event read and decoded); then `Desk::new` on an opened store; their cold
//!    start is the median `Desk::new` plus the median of `open`/`connect` alone (measured in
//!    the same rounds: milliseconds, against seconds of replay).
//!    Also the resident memory per incident after opening and after `Desk::new`, measured in
//!    a child process (so no earlier allocation can hide it), against the store's bytes on
//!    disk per incident (FileStore only).
//!
//! Workloads run in interleaved rounds (figure and baselines alternately, so all see the same
//! load on this shared machine); figures are the median run. Run with
//! `cargo bench --bench store --features sqlite` (add `postgres` and start a server with
//! `eval "$(bash scripts/pg-test-cluster.sh start)"` for the PostgreSQL rows); `QUICK=1`
//! makes it short (smaller sizes, fewer rounds). Results: `target/bench-results/store.json`.
//! Besides each figure line, a "FileStore vs SqliteStore" line per workload has the
//! SqliteStore figure as its baseline (ratio > 1: FileStore is ahead); stderr says, per row,
//! whether FileStore is ahead and, where it is not, why.

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
use incidents::store::SqliteStore;
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

/// The goals for FileStore: (start of the figure's name, minimum ratio to its
/// baseline).
const GOALS: [(&str, f64); 4] = [
    ("FileStore append, 1 event per append", 0.9),
    ("FileStore append_batch, 8 incidents x 8 events", 0.8),
    ("FileStore append, 8 threads x 8 events", 0.8),
    ("FileStore::open, recovery scan", 0.75),
];

/// PostgreSQL's append rounds make the first 1 / `PG_SHARE` of the calls the others make: its
/// appends are 5 to 30 times slower, and the full calls would take it two minutes of the run.
/// A third is still tens of calls per round; rates (appends/s, events/s) are compared.
const PG_SHARE: usize = 3;

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

/// A fresh SQLite database (WAL, `synchronous=FULL`) in a fresh directory.
fn fresh_sqlite(root: &Path) -> SqliteStore {
    SqliteStore::open(fresh_dir(root).join("x.db")).unwrap()
}

/// The PostgreSQL server at `INCIDENTS_PG_URL`, where the bench makes its own databases.
#[cfg(feature = "postgres")]
struct PgServer {
    /// The connection parameters from `INCIDENTS_PG_URL`.
    base: String,
}

#[cfg(feature = "postgres")]
impl PgServer {
    /// The server, if `INCIDENTS_PG_URL` is set; otherwise a note on stderr and `None`.
    fn from_env() -> Option<PgServer> {
        let base = match std::env::var("INCIDENTS_PG_URL") {
            Ok(base) if !base.is_empty() => base,
            _ => {
                eprintln!(
                    "PostgreSQL rows skipped: INCIDENTS_PG_URL is not set. To add them, start a \
                     throwaway server with `eval \"$(bash scripts/pg-test-cluster.sh start)\"` \
                     (as root), run `cargo bench --bench store --features sqlite,postgres`, then \
                     `bash scripts/pg-test-cluster.sh stop`."
                );
                return None;
            }
        };
        let mut admin = postgres::Client::connect(&base, postgres::NoTls).unwrap_or_else(|e| {
            panic!("INCIDENTS_PG_URL is set ({base}) but the server cannot be reached: {e}")
        });
        let mut show = |setting: &str| -> String {
            admin
                .query_one(&format!("SHOW {setting}"), &[])
                .map_or_else(|e| format!("? ({e})"), |row| row.get(0))
        };
        eprintln!(
            "PostgreSQL at {base}: server {}, fsync={}, synchronous_commit={}, \
             wal_sync_method={}, shared_buffers={}; databases incidents_bench_{}_* are made \
             for the bench and dropped at the end",
            show("server_version"),
            show("fsync"),
            show("synchronous_commit"),
            show("wal_sync_method"),
            show("shared_buffers"),
            std::process::id(),
        );
        Some(PgServer { base })
    }

    /// A new, empty database with the store's schema, dropped when the value is.
    fn database(&self, what: &str) -> PgDb {
        let name = format!("incidents_bench_{}_{what}", std::process::id());
        let mut admin = postgres::Client::connect(&self.base, postgres::NoTls).unwrap();
        // One statement per call: neither may run inside a transaction block.
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
            .unwrap();
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let url = with_dbname(&self.base, &name);
        drop(incidents::store::PostgresStore::connect(&url).unwrap()); // creates the schema
        let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        // CREATE DATABASE leaves the copied template's pages for the checkpointer to write
        // out in the background, over minutes: write them now, before any round.
        if let Err(e) = client.batch_execute("CHECKPOINT") {
            eprintln!("  (CHECKPOINT refused, so the server may flush in the background: {e})");
        }
        PgDb {
            base: self.base.clone(),
            name,
            url,
            client: RefCell::new(Some(client)),
        }
    }
}

/// Connection parameters for database `name` on the server `base` points at (libpq
/// `key=value` parameters, or a `postgresql://` URL).
#[cfg(feature = "postgres")]
fn with_dbname(base: &str, name: &str) -> String {
    match base.split_once("://") {
        None => format!("{base} dbname={name}"),
        Some((scheme, rest)) => {
            let (rest, query) = rest
                .split_once('?')
                .map_or((rest, String::new()), |(rest, q)| (rest, format!("?{q}")));
            let authority = rest.split('/').next().unwrap_or(rest);
            format!("{scheme}://{authority}/{name}{query}")
        }
    }
}

/// A database the bench made on the PostgreSQL server.
#[cfg(feature = "postgres")]
struct PgDb {
    base: String,
    name: String,
    url: String,
    /// For emptying and vacuuming the table between rounds (outside the clock).
    client: RefCell<Option<postgres::Client>>,
}

#[cfg(feature = "postgres")]
impl PgDb {
    /// A new `PostgresStore` (its own connection) on this database.
    fn connect(&self) -> Box<dyn Store> {
        Box::new(incidents::store::PostgresStore::connect(&self.url).unwrap())
    }

    fn execute(&self, sql: &str) {
        let mut client = self.client.borrow_mut();
        let client = client.as_mut().expect("the database is open");
        client
            .batch_execute(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// Empties the events table, as a fresh database would be.
    fn reset(&self) {
        self.execute("TRUNCATE incident_events RESTART IDENTITY");
    }

    /// After a bulk load: what autovacuum would do in a while (visibility, hint bits,
    /// statistics), then a checkpoint, so neither runs during the measured rounds.
    fn settle(&self) {
        self.execute("VACUUM (FREEZE, ANALYZE) incident_events");
        if let Err(e) = self
            .client
            .borrow_mut()
            .as_mut()
            .unwrap()
            .batch_execute("CHECKPOINT")
        {
            eprintln!("  (CHECKPOINT refused, so the server may flush in the background: {e})");
        }
    }

    /// Loads the corpus with one `COPY`, in the rows `PostgresStore` writes: line `n` of
    /// the JSON Lines file `jsonl` is the event text (`serde_json` of the `Event`, as the
    /// store encodes it), `keys[n]` its incident and version, event schema 1; `position`
    /// follows the file's order. (The store's own `append_batch` makes one round trip per
    /// event, a few minutes for a million.)
    fn load(&self, jsonl: &Path, keys: &[(IncidentId, u64)]) {
        let mut client = self.client.borrow_mut();
        let client = client.as_mut().expect("the database is open");
        let mut copy = client
            .copy_in(
                "COPY incident_events (incident, version, schema, event) FROM STDIN \
                 WITH (FORMAT csv)",
            )
            .unwrap();
        let mut lines = BufReader::new(File::open(jsonl).unwrap()).lines();
        let mut buf = Vec::with_capacity(1 << 20);
        for (id, version) in keys {
            let line = lines.next().expect("a line per key").unwrap();
            buf.extend_from_slice(b"\\x");
            for byte in id.as_bytes() {
                write!(buf, "{byte:02x}").unwrap();
            }
            writeln!(buf, ",{version},1,\"{}\"", line.replace('"', "\"\"")).unwrap();
            if buf.len() >= 1 << 20 {
                copy.write_all(&buf).unwrap();
                buf.clear();
            }
        }
        assert!(lines.next().is_none(), "a key per line");
        copy.write_all(&buf).unwrap();
        copy.finish().unwrap();
    }

    /// The events table's bytes on disk, indexes included.
    fn bytes(&self) -> u64 {
        let mut client = self.client.borrow_mut();
        let client = client.as_mut().expect("the database is open");
        let row = client
            .query_one("SELECT pg_total_relation_size('incident_events')", &[])
            .unwrap();
        u64::try_from(row.get::<_, i64>(0)).unwrap_or(0)
    }
}

#[cfg(feature = "postgres")]
impl Drop for PgDb {
    fn drop(&mut self) {
        self.client.get_mut().take();
        let dropped = postgres::Client::connect(&self.base, postgres::NoTls)
            .and_then(|mut c| c.batch_execute(&format!("DROP DATABASE IF EXISTS {}", self.name)));
        if let Err(e) = dropped {
            eprintln!("could not drop the bench's database {}: {e}", self.name);
        }
    }
}

/// Without the `postgres` feature there is no server and no database.
#[cfg(not(feature = "postgres"))]
enum PgServer {}

#[cfg(not(feature = "postgres"))]
impl PgServer {
    fn from_env() -> Option<PgServer> {
        eprintln!(
            "PostgreSQL rows not built: run `cargo bench --bench store --features \
             sqlite,postgres` with INCIDENTS_PG_URL set (`eval \"$(bash \
             scripts/pg-test-cluster.sh start)\"`, as root) to add them."
        );
        None
    }

    fn database(&self, _: &str) -> PgDb {
        match *self {}
    }
}

#[cfg(not(feature = "postgres"))]
enum PgDb {}

#[cfg(not(feature = "postgres"))]
impl PgDb {
    fn connect(&self) -> Box<dyn Store> {
        match *self {}
    }

    fn reset(&self) {
        match *self {}
    }

    fn settle(&self) {
        match *self {}
    }

    fn load(&self, _: &Path, _: &[(IncidentId, u64)]) {
        match *self {}
    }

    fn bytes(&self) -> u64 {
        match *self {}
    }
}

/// One row of the FileStore-against-SqliteStore comparison.
struct Versus {
    /// The workload.
    row: String,
    unit: &'static str,
    file: f64,
    /// FileStore's best run: if it beats SqliteStore's median, the two overlap.
    file_best: f64,
    sqlite: f64,
    /// What the two sides measure where it is not the same work (printed with the verdict).
    note: Option<String>,
    /// Why FileStore falls behind on this row, printed only if it does.
    why_not: String,
}

impl Versus {
    fn figure(&self) -> Figure {
        Figure::new(
            format!(
                "FileStore vs SqliteStore, {} (median; ratio > 1: FileStore ahead)",
                self.row
            ),
            self.file,
            self.unit,
            "SqliteStore, same workload, same rounds (median)",
            self.sqlite,
        )
    }

    fn verdict(&self) -> String {
        let ratio = self.file / self.sqlite;
        let mut line = if ratio > 1.0 {
            format!(
                "FileStore AHEAD of SqliteStore ({ratio:.2}x) on: {}",
                self.row
            )
        } else {
            format!(
                "FileStore NOT ahead of SqliteStore ({ratio:.2}x) on: {}. Why: {}",
                self.row, self.why_not
            )
        };
        if ratio <= 1.0 && self.file_best > self.sqlite {
            line.push_str(&format!(
                ". Caution: FileStore's best run ({:.0} {}) beats SqliteStore's median, so the \
                 two overlap in this run's noise.",
                self.file_best, self.unit
            ));
        }
        if let Some(note) = &self.note {
            line.push_str(" Note: ");
            line.push_str(note);
        }
        line
    }
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

/// Appends `one`'s events one per call.
fn append_singles(store: &dyn Store, appends: &[(IncidentId, Version, Event)]) -> u64 {
    for (id, expected, event) in appends {
        store
            .append(*id, *expected, std::slice::from_ref(event))
            .unwrap();
    }
    appends.len() as u64
}

/// Appends each of `batches` with one `append_batch` call; returns the events appended.
fn append_batches(store: &dyn Store, batches: &[Vec<(IncidentId, Vec<Event>)>]) -> u64 {
    let mut events = 0;
    for batch in batches {
        let appends: Vec<Append<'_>> = batch
            .iter()
            .map(|(id, events)| Append {
                id: *id,
                expected: Version::ZERO,
                events,
            })
            .collect();
        store.append_batch(&appends).unwrap();
        events += batch.iter().map(|(_, e)| e.len() as u64).sum::<u64>();
    }
    events
}

/// `THREADS` threads at once, thread `t` appending each history of `per_thread[t]` with one
/// call; returns the events appended.
fn append_on_threads(store: &dyn Store, per_thread: &[Vec<(IncidentId, Vec<Event>)>]) -> u64 {
    on_threads(THREADS, |t| {
        for (id, events) in &per_thread[t] {
            store.append(*id, Version::ZERO, events).unwrap();
        }
        per_thread[t].iter().map(|(_, e)| e.len() as u64).sum()
    })
}

/// The medians of `rates`, in order.
fn medians(rates: &[common::Rates]) -> Vec<f64> {
    rates.iter().map(common::Rates::median).collect()
}

/// Figures 1 and 2: durable appends.
fn appends(
    root: &Path,
    sizes: &Sizes,
    people: &People,
    pg: Option<&PgDb>,
    versus: &mut Vec<Versus>,
) -> Vec<Figure> {
    let plan = sizes.append_plan;
    // One PostgreSQL connection for every round, as a host keeps one; its table is emptied
    // before each round (outside the clock).
    let pg = pg.map(|db| (db, db.connect()));
    let pg_note = if pg.is_some() {
        format!(", PostgresStore (the first 1/{PG_SHARE} of the calls per round)")
    } else {
        String::new()
    };

    // 1. One durable event per append.
    let one = singles(sizes.single_appends, people);
    let one_log = SyncLog::default();
    eprintln!(
        "1. one event per append: {} appends per round ({} bytes per frame on average); \
         FileStore, raw file, SqliteStore{pg_note}",
        one.appends.len(),
        one.frames.iter().map(Vec::len).sum::<usize>() / one.frames.len()
    );
    let mut workloads = vec![
        Workload::new(
            "FileStore append, 1 event",
            || fresh_store(root),
            |s| {
                let before = s.syncs.get();
                let n = append_singles(&s.store, &one.appends);
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
        Workload::new(
            "SqliteStore append, 1 event",
            || fresh_sqlite(root),
            |store| append_singles(store, &one.appends),
        ),
    ];
    if let Some((db, store)) = &pg {
        workloads.push(Workload::new(
            "PostgresStore append, 1 event",
            || db.reset(),
            |()| append_singles(&**store, &one.appends[..one.appends.len() / PG_SHARE]),
        ));
    }
    let single_rates = common::measure(plan, &mut workloads);
    let single = medians(&single_rates);
    drop(workloads);
    let single_per_sync = events_per_sync(&one_log, plan.runs);
    eprintln!("  FileStore events per fdatasync: {single_per_sync:.1} (median)");

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

    // PostgreSQL's rounds make the first `1 / PG_SHARE` of the calls.
    let pg_per_thread: Vec<Vec<(IncidentId, Vec<Event>)>> = per_thread
        .iter()
        .map(|calls| calls[..calls.len() / PG_SHARE].to_vec())
        .collect();

    let events = (sizes.calls * EVENTS_PER_SYNC) as u64;
    let batch_log = SyncLog::default();
    let group_log = SyncLog::default();
    eprintln!(
        "2. 64 events per flush: {events} events per round; (a) {} append_batch calls of \
         {THREADS} incidents x {EVENTS_PER_CALL} events, (b) {THREADS} threads x {} appends of \
         {EVENTS_PER_CALL} events; baselines one write + one sync_data per {EVENTS_PER_SYNC} \
         events ({} and {} bytes per write on average); FileStore, raw file, SqliteStore{pg_note}",
        sizes.calls,
        sizes.calls,
        batch_frames.iter().map(Vec::len).sum::<usize>() / sizes.calls,
        group_frames.iter().map(Vec::len).sum::<usize>() / sizes.calls,
    );
    let mut workloads = vec![
        Workload::new(
            "FileStore append_batch, 8 x 8 events",
            || fresh_store(root),
            |s| {
                let before = s.syncs.get();
                let done = append_batches(&s.store, &batches);
                batch_log.borrow_mut().push((s.syncs.get() - before, done));
                done
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
            "SqliteStore append_batch, 8 x 8 events",
            || fresh_sqlite(root),
            |store| append_batches(store, &batches),
        ),
        Workload::new(
            "FileStore append, 8 threads x 8 events (group commit)",
            || fresh_store(root),
            |s| {
                let before = s.syncs.get();
                let done = append_on_threads(&s.store, &per_thread);
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
        Workload::new(
            "SqliteStore append, 8 threads x 8 events (one connection, taking turns)",
            || fresh_sqlite(root),
            |store| append_on_threads(store, &per_thread),
        ),
    ];
    if let Some((db, store)) = &pg {
        workloads.push(Workload::new(
            "PostgresStore append_batch, 8 x 8 events",
            || db.reset(),
            |()| append_batches(&**store, &batches[..batches.len() / PG_SHARE]),
        ));
        workloads.push(Workload::new(
            "PostgresStore append, 8 threads x 8 events (one connection, taking turns)",
            || db.reset(),
            |()| append_on_threads(&**store, &pg_per_thread),
        ));
    }
    let rates = common::measure(plan, &mut workloads);
    let m = medians(&rates);
    drop(workloads);
    let [
        batch_store,
        batch_raw,
        batch_sqlite,
        group_store,
        group_raw,
        group_sqlite,
    ] = [0, 1, 2, 3, 4, 5].map(|i| m[i]);
    let (batch_pg, group_pg) = (m.get(6).copied(), m.get(7).copied());
    let batch_per_sync = events_per_sync(&batch_log, plan.runs);
    let group_per_sync = events_per_sync(&group_log, plan.runs);
    eprintln!(
        "  FileStore events per fdatasync (median): append_batch {batch_per_sync:.1}, group \
         commit {group_per_sync:.1}; the database stores commit once per call: 64 \
         events per commit with append_batch, 8 with 8 threads"
    );

    let single_name = "append, 1 event per append (1 thread)";
    let batch_name = "append_batch, 8 incidents x 8 events per call (1 thread)";
    let group_name = "append, 8 threads x 8 events per call";
    let single_raw_name = "raw write_all + sync_data per record, same bytes (median)";
    let batch_raw_name = "raw write + sync_data per 64 events, same bytes (median)";
    let group_raw_name = "raw write + sync_data per 64 events, same bytes, 1 thread (median)";

    versus.push(Versus {
        row: single_name.into(),
        unit: "appends/s",
        file: single[0],
        file_best: single_rates[0].best(),
        sqlite: single[2],
        note: None,
        why_not: format!(
            "both make one flush per append and the flush sets the rate: FileStore runs at \
             {:.2} of the raw write + fdatasync floor of its ~230-byte frames, SqliteStore at \
             {:.2} (it writes three 4 KiB WAL pages and one fsync per commit), so the \
             difference is within the flush's run-to-run spread (best and worst per workload \
             above); FileStore has little left to remove above its raw floor",
            single[0] / single[1],
            single[2] / single[1]
        ),
    });
    versus.push(Versus {
        row: batch_name.into(),
        unit: "events/s",
        file: batch_store,
        file_best: rates[0].best(),
        sqlite: batch_sqlite,
        note: None,
        why_not: format!(
            "both commit each 64-event call with one write and one flush; FileStore runs at \
             {:.2} of the raw write + fdatasync floor for its bytes, SqliteStore at {:.2}; \
             compare their best and worst runs above for the flush's spread",
            batch_store / batch_raw,
            batch_sqlite / batch_raw
        ),
    });
    versus.push(Versus {
        row: group_name.into(),
        unit: "events/s",
        file: group_store,
        file_best: rates[3].best(),
        sqlite: group_sqlite,
        note: Some(format!(
            "SqliteStore serialises the 8 threads on its one connection Mutex (one \
             transaction and one WAL flush per 8-event call); FileStore's group commit shares \
             a flush among {group_per_sync:.1} events on average"
        )),
        why_not: format!(
            "FileStore's group commit runs at {:.2} of the one-thread raw floor here, with \
             {group_per_sync:.1} events per fdatasync; SqliteStore at {:.2}, one commit per \
             8-event call",
            group_store / group_raw,
            group_sqlite / group_raw
        ),
    });

    let mut figures = vec![Figure::new(
        "FileStore append, 1 event per append, Flush (1 thread, median)",
        single[0],
        "appends/s",
        single_raw_name,
        single[1],
    )];
    figures.push(Figure::new(
        "SqliteStore append, 1 event per append, WAL + synchronous=FULL (1 thread, median)",
        single[2],
        "appends/s",
        single_raw_name,
        single[1],
    ));
    if let Some(&pg_single) = single.get(3) {
        figures.push(Figure::new(
            "PostgresStore append, 1 event per append, one connection (1 thread, median)",
            pg_single,
            "appends/s",
            single_raw_name,
            single[1],
        ));
    }
    figures.push(versus[versus.len() - 3].figure());
    figures.push(Figure::new(
        "FileStore append_batch, 8 incidents x 8 events per call, Flush (1 thread, median)",
        batch_store,
        "events/s",
        batch_raw_name,
        batch_raw,
    ));
    figures.push(Figure::new(
        "SqliteStore append_batch, 8 incidents x 8 events per call, WAL + synchronous=FULL \
         (1 thread, median)",
        batch_sqlite,
        "events/s",
        batch_raw_name,
        batch_raw,
    ));
    if let Some(batch_pg) = batch_pg {
        figures.push(Figure::new(
            "PostgresStore append_batch, 8 incidents x 8 events per call, one connection \
             (1 thread, median)",
            batch_pg,
            "events/s",
            batch_raw_name,
            batch_raw,
        ));
    }
    figures.push(versus[versus.len() - 2].figure());
    figures.push(Figure::new(
        "FileStore append, 8 threads x 8 events per call, group commit, Flush (median)",
        group_store,
        "events/s",
        group_raw_name,
        group_raw,
    ));
    figures.push(Figure::new(
        "SqliteStore append, 8 threads x 8 events per call, one connection Mutex, WAL + \
         synchronous=FULL (median)",
        group_sqlite,
        "events/s",
        group_raw_name,
        group_raw,
    ));
    if let Some(group_pg) = group_pg {
        figures.push(Figure::new(
            "PostgresStore append, 8 threads x 8 events per call, one connection Mutex (median)",
            group_pg,
            "events/s",
            group_raw_name,
            group_raw,
        ));
    }
    figures.push(versus[versus.len() - 1].figure());
    figures.push(Figure::new(
        "events per fdatasync, 8 threads x 8 events per call, group commit (median)",
        group_per_sync,
        "events/sync",
        "one sync per 8 x 8 events",
        EVENTS_PER_SYNC as f64,
    ));
    figures
}

/// Figure 3's data: a file store, an SQLite database, optionally a PostgreSQL database, and a
/// JSON Lines file, all holding the same events in the same order.
struct Corpus {
    store_dir: PathBuf,
    sqlite: PathBuf,
    jsonl: PathBuf,
    events: u64,
    incidents: u64,
    store_bytes: u64,
    sqlite_bytes: u64,
    jsonl_bytes: u64,
    /// Seconds spent writing the database corpora: SQLite, then PostgreSQL if any (not
    /// counting the settling after it).
    sql_seconds: Vec<f64>,
}

/// Incidents being worked on at once while the corpus is written: their events interleave.
const OPEN_AT_ONCE: usize = 1000;

/// Writes `target` events (7 to 10 per incident) into a new store under `root`, one event per
/// append as a desk records them, a thousand incidents at a time interleaved; the same
/// events, in the same order, into a JSON Lines file (one `Event` per line); into a new
/// SQLite database under `root`, with one `append_batch` per thousand incidents (each
/// incident's entries expecting the version its earlier ones make: far faster than one
/// transaction per event); and into `pg` if given, with one `COPY` ([`PgDb::load`]).
fn build_corpus(root: &Path, target: u64, people: &People, pg: Option<&PgDb>) -> Corpus {
    let store_dir = root.join("open-store");
    let jsonl = root.join("open-events.jsonl");
    let sqlite_dir = root.join("open-sqlite");
    std::fs::create_dir(&sqlite_dir).unwrap();
    let sqlite = sqlite_dir.join("x.db");
    let options = FileStoreOptions::new().durability(Durability::Buffered);
    let store = FileStore::open_with(&store_dir, options).unwrap();
    let mut out = BufWriter::with_capacity(1 << 20, File::create(&jsonl).unwrap());
    let sqlite_store = SqliteStore::open(&sqlite).unwrap();
    let mut sqlite_seconds = 0.0;
    // Every line's incident and version, for the PostgreSQL load.
    let mut keys = Vec::new();
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
        let mut batch = Vec::new();
        for step in 0..10 {
            for (id, history) in &chunk {
                if let Some(event) = history.get(step) {
                    store
                        .append(*id, Version::new(step as u64), std::slice::from_ref(event))
                        .unwrap();
                    serde_json::to_writer(&mut out, event).unwrap();
                    out.write_all(b"\n").unwrap();
                    batch.push(Append {
                        id: *id,
                        expected: Version::new(step as u64),
                        events: std::slice::from_ref(event),
                    });
                    if pg.is_some() {
                        keys.push((*id, step as u64 + 1));
                    }
                }
            }
        }
        let started = std::time::Instant::now();
        sqlite_store.append_batch(&batch).unwrap();
        sqlite_seconds += started.elapsed().as_secs_f64();
    }
    out.flush().unwrap();
    drop(out);
    drop(store);
    drop(sqlite_store); // the last connection checkpoints the WAL into the database file
    let mut sql_seconds = vec![sqlite_seconds];
    if let Some(db) = pg {
        let started = std::time::Instant::now();
        db.load(&jsonl, &keys);
        sql_seconds.push(started.elapsed().as_secs_f64());
        db.settle();
    }
    let files_bytes = |dir: &Path| -> u64 {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().metadata().unwrap())
            .filter(|meta| meta.is_file())
            .map(|meta| meta.len())
            .sum()
    };
    let store_bytes = files_bytes(&store_dir);
    let sqlite_bytes = files_bytes(&sqlite_dir);
    let jsonl_bytes = std::fs::metadata(&jsonl).unwrap().len();
    Corpus {
        store_dir,
        sqlite,
        jsonl,
        events,
        incidents,
        store_bytes,
        sqlite_bytes,
        jsonl_bytes,
        sql_seconds,
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
type SqliteDesk = Desk<SqliteStore, FixedClock>;
type PgDesk = Desk<Box<dyn Store>, FixedClock>;

/// Reads every event of `store` through `Store::scan`; returns how many there were.
fn scan_all(store: &dyn Store) -> u64 {
    let mut n = 0;
    store
        .scan(&mut |id, version, event| {
            black_box((id, version, event));
            n += 1;
            Ok(())
        })
        .unwrap();
    n
}

/// Figure 3: opening.
fn opening(
    root: &Path,
    sizes: &Sizes,
    people: &People,
    pg: Option<&PgDb>,
    versus: &mut Vec<Versus>,
) -> Vec<Figure> {
    let built = std::time::Instant::now();
    let corpus = build_corpus(root, sizes.open_events, people, pg);
    eprintln!(
        "3. open: {} events over {} incidents (7-10 events each), one event per append; \
         store {} bytes, JSON Lines {} bytes; built in {:.1} s (files warm in the page cache); \
         the same events in SQLite ({} bytes, written in {:.1} s with one append_batch per \
         {OPEN_AT_ONCE} incidents){}",
        corpus.events,
        corpus.incidents,
        corpus.store_bytes,
        corpus.jsonl_bytes,
        built.elapsed().as_secs_f64(),
        corpus.sqlite_bytes,
        corpus.sql_seconds[0],
        match (pg, corpus.sql_seconds.get(1)) {
            (Some(db), Some(seconds)) => format!(
                " and PostgreSQL ({} bytes with indexes, loaded in {seconds:.1} s with one COPY \
                 of the rows PostgresStore writes, then VACUUM (FREEZE, ANALYZE) and \
                 CHECKPOINT)",
                db.bytes()
            ),
            _ => String::new(),
        }
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
    let sqlite = corpus.sqlite.as_path();
    // Every incident is in every replayed desk; the last one made is checked after each run.
    let last = bench_id(corpus.incidents - 1);
    let clock = FixedClock(start());
    let mut workloads = vec![
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
        Workload::new(
            "SqliteStore::open + scan (every event decoded)",
            || None::<SqliteStore>,
            |slot| {
                let store = SqliteStore::open(sqlite).unwrap();
                assert_eq!(scan_all(&store), events);
                *slot = Some(store);
                events
            },
        ),
        Workload::new(
            "Desk::new on an open SqliteStore",
            || (Some(SqliteStore::open(sqlite).unwrap()), None::<SqliteDesk>),
            |(store, desk)| {
                let opened = Desk::new(store.take().unwrap(), clock).unwrap();
                assert!(opened.get(last).is_ok());
                *desk = Some(opened);
                events
            },
        ),
        // Opening alone (one operation per run), for the cold start: measuring
        // `SqliteStore::open + Desk::new` whole would take another full replay per round for
        // the milliseconds the open adds.
        Workload::new(
            "SqliteStore::open alone (schema check; opens/s)",
            || None::<SqliteStore>,
            |slot| {
                *slot = Some(SqliteStore::open(sqlite).unwrap());
                1
            },
        ),
    ];
    if let Some(db) = pg {
        workloads.push(Workload::new(
            "PostgresStore::connect + scan (every event decoded)",
            || None::<Box<dyn Store>>,
            move |slot| {
                let store = db.connect();
                assert_eq!(scan_all(&*store), events);
                *slot = Some(store);
                events
            },
        ));
        workloads.push(Workload::new(
            "Desk::new on a connected PostgresStore",
            || (Some(db.connect()), None::<PgDesk>),
            move |(store, desk)| {
                let opened = Desk::new(store.take().unwrap(), clock).unwrap();
                assert!(opened.get(last).is_ok());
                *desk = Some(opened);
                events
            },
        ));
        workloads.push(Workload::new(
            "PostgresStore::connect alone (new connection, schema check; connects/s)",
            || None::<Box<dyn Store>>,
            move |slot| {
                *slot = Some(db.connect());
                1
            },
        ));
    }
    let rates = common::measure(sizes.open_plan, &mut workloads);
    let m = medians(&rates);
    drop(workloads);
    let [
        open,
        baseline,
        replay,
        cold,
        sqlite_open,
        sqlite_replay,
        sqlite_opens,
    ] = [0, 1, 2, 3, 4, 5, 6].map(|i| m[i]);
    // A cold start of a database store: the median Desk::new plus the median open, each
    // measured in the same rounds.
    let cold_start = |replay: f64, opens: f64| 1.0 / (1.0 / replay + 1.0 / (opens * events as f64));
    let sqlite_cold = cold_start(sqlite_replay, sqlite_opens);
    let pg_rates = m
        .get(7..10)
        .map(|pg| [pg[0], pg[1], cold_start(pg[1], pg[2])]);
    eprintln!(
        "  a database store's cold start is its median Desk::new plus its median open: \
         SqliteStore::open {:.2} ms{}",
        1e3 / sqlite_opens,
        match m.get(9) {
            Some(connects) => format!(", PostgresStore::connect {:.2} ms", 1e3 / connects),
            None => String::new(),
        }
    );

    let jsonl_name =
        "BufReader + serde_json::from_str::<Event> per line of JSON Lines, same events (median)";
    let open_name = "open: FileStore::open (recovery scan) vs SqliteStore::open + full scan";
    let replay_name = "Desk::new on the opened store, scan + replay";
    let cold_name = "open + Desk::new, cold start of a host";
    versus.push(Versus {
        row: open_name.into(),
        unit: "events/s",
        file: open,
        file_best: rates[0].best(),
        sqlite: sqlite_open,
        note: Some(
            "not the same work: FileStore::open checks every frame's CRC and indexes the \
             incidents without decoding an event, while SqliteStore has no recovery scan, so \
             its row is SqliteStore::open plus a Store::scan that reads and decodes every \
             event (JSON); the like-for-like rows are Desk::new and cold start"
                .into(),
        ),
        why_not: "not like for like (see the note): the recovery scan reads and CRC-checks \
                  every frame but decodes no event"
            .into(),
    });
    versus.push(Versus {
        row: replay_name.into(),
        unit: "events/s",
        file: replay,
        file_best: rates[2].best(),
        sqlite: sqlite_replay,
        note: None,
        why_not: format!(
            "both decode every event from JSON and replay it into the same desk, and that \
             shared work dominates (FileStore runs at {:.2} of the bare JSON Lines parse, \
             SqliteStore at {:.2}); what differs is only the reading: FileStore::scan reads \
             each segment whole into a fresh buffer and checks every frame's CRC again, \
             SqliteStore steps rows out of its B-tree and copies each into a String",
            replay / baseline,
            sqlite_replay / baseline
        ),
    });
    versus.push(Versus {
        row: cold_name.into(),
        unit: "events/s",
        file: cold,
        file_best: rates[3].best(),
        sqlite: sqlite_cold,
        note: Some(
            "SqliteStore's cold start is its median Desk::new plus its median \
             SqliteStore::open, measured apart in the same rounds"
                .into(),
        ),
        why_not: format!(
            "FileStore reads its log twice at a cold start, SQLite its file once: \
             FileStore::open's recovery scan reads every segment and checks every frame's CRC \
             ({:.0}% of FileStore's cold start here, at {open:.0} events/s), then Desk::new's \
             Store::scan reads every segment again to decode and replay; that scan + replay is \
             only {:.2}x SqliteStore's (both are dominated by the same JSON decoding and \
             replay), too little to pay for the first pass. FileStore runs at {:.2} of the \
             bare JSON Lines parse, SqliteStore at {:.2}",
            100.0 * cold / open,
            replay / sqlite_replay,
            cold / baseline,
            sqlite_cold / baseline
        ),
    });

    if cold > replay {
        eprintln!(
            "  CAUTION: FileStore::open + Desk::new measured faster ({cold:.0} events/s) than \
             Desk::new alone ({replay:.0} events/s), which it includes: other load on the \
             machine disturbed these rounds; rerun before comparing the opening rows"
        );
    }

    let mut figures = vec![
        Figure::new(
            format!("FileStore::open, recovery scan of {events} events (median)"),
            open,
            "events/s",
            jsonl_name,
            baseline,
        ),
        Figure::new(
            format!(
                "SqliteStore::open + full scan of {events} events, every event decoded (median)"
            ),
            sqlite_open,
            "events/s",
            jsonl_name,
            baseline,
        ),
    ];
    if let Some(pg) = &pg_rates {
        figures.push(Figure::new(
            format!(
                "PostgresStore::connect + full scan of {events} events, every event decoded \
                 (median)"
            ),
            pg[0],
            "events/s",
            jsonl_name,
            baseline,
        ));
    }
    figures.push(versus[versus.len() - 3].figure());
    figures.push(Figure::new(
        "Desk::new on the opened FileStore, scan + replay (median)",
        replay,
        "events/s",
        jsonl_name,
        baseline,
    ));
    figures.push(Figure::new(
        "Desk::new on the opened SqliteStore, scan + replay (median)",
        sqlite_replay,
        "events/s",
        jsonl_name,
        baseline,
    ));
    if let Some(pg) = &pg_rates {
        figures.push(Figure::new(
            "Desk::new on the connected PostgresStore, scan + replay (median)",
            pg[1],
            "events/s",
            jsonl_name,
            baseline,
        ));
    }
    figures.push(versus[versus.len() - 2].figure());
    figures.push(Figure::new(
        "FileStore::open + Desk::new, cold start of a host (median)",
        cold,
        "events/s",
        jsonl_name,
        baseline,
    ));
    figures.push(Figure::new(
        "SqliteStore::open + Desk::new, cold start of a host (median Desk::new + median open)",
        sqlite_cold,
        "events/s",
        jsonl_name,
        baseline,
    ));
    if let Some(pg) = &pg_rates {
        figures.push(Figure::new(
            "PostgresStore::connect + Desk::new, cold start of a host (median Desk::new + median \
             connect)",
            pg[2],
            "events/s",
            jsonl_name,
            baseline,
        ));
    }
    figures.push(versus[versus.len() - 1].figure());
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
        common::file_system(root.path()).unwrap_or_else(|| "file system unknown".into()),
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
    let server = PgServer::from_env();
    let mut versus = Vec::new();
    let started = std::time::Instant::now();
    let mut figures = {
        let db = server.as_ref().map(|server| server.database("appends"));
        appends(root.path(), &sizes, &people, db.as_ref(), &mut versus)
    };
    let appended = started.elapsed().as_secs_f64();
    figures.extend({
        let db = server.as_ref().map(|server| server.database("open"));
        opening(root.path(), &sizes, &people, db.as_ref(), &mut versus)
    });
    eprintln!(
        "ran for {:.0} s: appends {appended:.0} s, opening {:.0} s",
        started.elapsed().as_secs_f64(),
        started.elapsed().as_secs_f64() - appended
    );
    for (prefix, goal) in GOALS {
        let figure = figures
            .iter()
            .find(|figure| figure.name.starts_with(prefix))
            .expect("every goal has its figure");
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
    for row in &versus {
        eprintln!("{}", row.verdict());
    }
    common::report("store", &figures);
}
