//! The bench's data and fresh stores: incident histories made by real lifecycle commands, the
//! frames `FileStore` writes for them, and fresh `FileStore`s, SQLite databases and raw files
//! in new directories.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Duration, TimeZone, Utc};
use incidents::lifecycle::decide;
use incidents::store::FileStoreOptions;
use incidents::store::SqliteStore;
use incidents::store::file::format;
use incidents::{
    Actor, Command, Event, FileStore, Incident, IncidentId, NewIncident, Resolution, Role,
    Severity, Source,
};

use crate::common::SyncCounter;

/// The time the first incident opens.
pub fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()
}

/// The people who work on the bench's incidents.
pub struct People {
    owner: Actor,
    responder: Actor,
    support: Actor,
}

impl People {
    pub fn new() -> People {
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
pub fn bench_id(n: u64) -> IncidentId {
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

/// The commands of incident `n`'s life: open, acknowledge, start investigating, identify,
/// mitigate, then `extra` notes and customer updates in turn, resolve and close.
fn commands(n: u64, id: IncidentId, extra: usize, people: &People) -> Vec<(&Actor, Command)> {
    let i = n as usize;
    let new = NewIncident::new(
        TITLES[i % TITLES.len()],
        Severity::ALL[i % Severity::ALL.len()],
        SERVICES[(i / 4) % SERVICES.len()],
        Source::ALL[(i / 16) % Source::ALL.len()],
    )
    .unwrap();
    let identify = format!("connection pool exhausted on db-{}", n % 7);
    let mut steps: Vec<(&Actor, Command)> = vec![
        (&people.support, Command::Open { id, incident: new }),
        (&people.owner, Command::Acknowledge),
        (&people.responder, Command::StartInvestigating),
        (&people.responder, Command::identify(identify).unwrap()),
        (
            &people.responder,
            Command::mitigate("raised the pool size and restarted the workers").unwrap(),
        ),
    ];
    for k in 0..extra {
        steps.push(if k % 2 == 0 {
            let note = format!("error rate back under 1% ({} minutes)", 5 * (k + 1));
            (&people.responder, Command::note(note).unwrap())
        } else {
            let update = "Payments work again; we are watching closely.";
            (&people.support, Command::customer_update(update).unwrap())
        });
    }
    steps.push((&people.owner, Command::resolve(Resolution::Fixed)));
    let close = Command::close(
        "The database ran out of connections under the lunch peak.",
        "Alert on pool usage above 80%.",
    );
    steps.push((&people.owner, close.unwrap()));
    steps
}

/// Incident `n`'s history as a desk records it, one event per command ([`commands`]):
/// `7 + extra` events, each made by `decide` and checked by `Incident::apply`.
pub fn history(n: u64, extra: usize, people: &People) -> (IncidentId, Vec<Event>) {
    let id = bench_id(n);
    let mut at = start() + Duration::seconds(n as i64);
    let mut incident: Option<Incident> = None;
    let mut events = Vec::new();
    for (actor, command) in commands(n, id, extra, people) {
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

/// Whole 8-event histories, numbered from `first`.
pub fn histories8(first: u64, count: usize, people: &People) -> Vec<(IncidentId, Vec<Event>)> {
    (first..first + count as u64)
        .map(|n| history(n, 1, people))
        .collect()
}

/// The frame `FileStore` writes for one call appending `groups` (incident, first version,
/// events).
pub fn encoded(groups: &[(IncidentId, u64, &[Event])]) -> Vec<u8> {
    let mut frame = Vec::new();
    format::encode_frame(&mut frame, groups).unwrap();
    frame
}

/// A new, empty directory under `root`. Directories are only removed with `root`, at the
/// end: deleting files between rounds (on a file system mounted with `discard`, say) would
/// add work to whichever workload runs next.
pub fn fresh_dir(root: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = root.join(format!("round-{}", NEXT.fetch_add(1, Ordering::Relaxed)));
    std::fs::create_dir(&dir).unwrap();
    dir
}

/// A fresh `FileStore` and the counter of its segment flushes.
pub struct Opened {
    pub store: FileStore,
    pub syncs: Arc<SyncCounter>,
}

/// A fresh `FileStore` with the default options (`Durability::Flush`) and a flush counter;
/// no index checkpoint at close, so dropping it adds no flushes.
pub fn fresh_store(root: &Path) -> Opened {
    let syncs = Arc::new(SyncCounter::default());
    let options = FileStoreOptions::new()
        .fault_hook(syncs.clone())
        .checkpoint_on_close_after(u64::MAX);
    let store = FileStore::open_with(fresh_dir(root), options).unwrap();
    Opened { store, syncs }
}

/// A fresh SQLite database (WAL, `synchronous=FULL`) in a fresh directory.
pub fn fresh_sqlite(root: &Path) -> SqliteStore {
    SqliteStore::open(fresh_dir(root).join("x.db")).unwrap()
}

/// A fresh plain file, starting as long as a new segment (a header's worth of bytes),
/// flushed.
pub fn fresh_raw_file(root: &Path) -> File {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(fresh_dir(root).join("raw.log"))
        .unwrap();
    file.write_all(&[0; format::FILE_HEADER_LEN]).unwrap();
    file.sync_data().unwrap();
    file
}

/// The raw baseline: writes each record with one `write_all` and flushes it with one
/// `sync_data`.
pub fn raw_write_and_sync(file: &mut File, records: &[Vec<u8>]) {
    for bytes in records {
        file.write_all(bytes).unwrap();
        file.sync_data().unwrap();
    }
}
