//! Figure 3's data: a file store, an SQLite database, optionally a PostgreSQL database, and a
//! JSON Lines file, all holding the same events in the same order.

use std::fs::File;
use std::hint::black_box;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use incidents::store::SqliteStore;
use incidents::store::{Append, Durability, FileStoreOptions};
use incidents::{Event, FileStore, IncidentId, Store, Version};

use crate::data::{People, history};
use crate::pg::PgDb;

/// Incidents being worked on at once while the corpus is written: their events interleave.
pub const OPEN_AT_ONCE: usize = 1000;

/// The opening corpus and its sizes.
pub struct Corpus {
    pub store_dir: PathBuf,
    pub sqlite: PathBuf,
    pub jsonl: PathBuf,
    pub events: u64,
    pub incidents: u64,
    pub store_bytes: u64,
    pub sqlite_bytes: u64,
    pub jsonl_bytes: u64,
    /// Seconds spent writing the database corpora: SQLite, then PostgreSQL if any (not
    /// counting the settling after it).
    pub sql_seconds: Vec<f64>,
}

/// Where the corpus is being written.
struct Writers {
    store: FileStore,
    jsonl: BufWriter<File>,
    sqlite: SqliteStore,
    sqlite_seconds: f64,
    /// Every line's incident and version, for the PostgreSQL load (empty without one).
    keys: Vec<(IncidentId, u64)>,
    with_keys: bool,
}

impl Writers {
    /// Writes a chunk of incidents, events interleaved (every incident's first event, then
    /// every second one, ...): one event per `FileStore` append as a desk records them, one
    /// line each in the JSON Lines file, and one SQLite `append_batch` for the whole chunk
    /// (each incident's entries expecting the version its earlier ones make).
    fn write(&mut self, chunk: &[(IncidentId, Vec<Event>)]) {
        let mut batch = Vec::new();
        for step in 0..10 {
            for (id, history) in chunk {
                let Some(event) = history.get(step) else {
                    continue;
                };
                let expected = Version::new(step as u64);
                let events = std::slice::from_ref(event);
                self.store.append(*id, expected, events).unwrap();
                serde_json::to_writer(&mut self.jsonl, event).unwrap();
                self.jsonl.write_all(b"\n").unwrap();
                batch.push(Append {
                    id: *id,
                    expected,
                    events,
                });
                if self.with_keys {
                    self.keys.push((*id, step as u64 + 1));
                }
            }
        }
        let started = Instant::now();
        self.sqlite.append_batch(&batch).unwrap();
        self.sqlite_seconds += started.elapsed().as_secs_f64();
    }
}

/// The total size of the files directly in `dir`.
fn files_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().metadata().unwrap())
        .filter(|meta| meta.is_file())
        .map(|meta| meta.len())
        .sum()
}

/// Writes `target` events (7 to 10 per incident), a thousand incidents at a time interleaved,
/// into a new `FileStore` (`Durability::Buffered`, to make the set-up fast), a JSON Lines file
/// and a new SQLite database under `root` ([`Writers::write`]), and into `pg` if given, with
/// one `COPY` ([`PgDb::load`]).
pub fn build(root: &Path, target: u64, people: &People, pg: Option<&PgDb>) -> Corpus {
    let store_dir = root.join("open-store");
    let jsonl = root.join("open-events.jsonl");
    let sqlite_dir = root.join("open-sqlite");
    std::fs::create_dir(&sqlite_dir).unwrap();
    let sqlite = sqlite_dir.join("x.db");
    let options = FileStoreOptions::new()
        .durability(Durability::Buffered)
        .checkpoint_on_close_after(u64::MAX);
    let mut writers = Writers {
        store: FileStore::open_with(&store_dir, options).unwrap(),
        jsonl: BufWriter::with_capacity(1 << 20, File::create(&jsonl).unwrap()),
        sqlite: SqliteStore::open(&sqlite).unwrap(),
        sqlite_seconds: 0.0,
        keys: Vec::new(),
        with_keys: pg.is_some(),
    };
    let (mut events, mut incidents) = (0u64, 0u64);
    while events < target {
        let mut chunk = Vec::with_capacity(OPEN_AT_ONCE);
        while chunk.len() < OPEN_AT_ONCE && events < target {
            let (id, mut history) = history(incidents, (incidents % 4) as usize, people);
            // The last incident may be cut short to hit the target exactly.
            history.truncate((target - events).min(history.len() as u64) as usize);
            events += history.len() as u64;
            incidents += 1;
            chunk.push((id, history));
        }
        writers.write(&chunk);
    }
    let Writers {
        store,
        jsonl: mut out,
        sqlite: sqlite_store,
        sqlite_seconds,
        keys,
        ..
    } = writers;
    out.flush().unwrap();
    drop((out, store));
    drop(sqlite_store); // the last connection checkpoints the WAL into the database file
    let mut sql_seconds = vec![sqlite_seconds];
    if let Some(db) = pg {
        let started = Instant::now();
        db.load(&jsonl, &keys);
        sql_seconds.push(started.elapsed().as_secs_f64());
        db.settle();
    }
    Corpus {
        store_bytes: files_bytes(&store_dir),
        sqlite_bytes: files_bytes(&sqlite_dir),
        jsonl_bytes: std::fs::metadata(&jsonl).unwrap().len(),
        store_dir,
        sqlite,
        jsonl,
        events,
        incidents,
        sql_seconds,
    }
}

/// The baseline: every line of a JSON Lines file parsed as an `Event`.
/// Opens the `FileStore` in `dir` without an index checkpoint at close: the bench's stores
/// keep whatever checkpoint they had (none for the corpus, whose opens then read every frame
/// each round; the one `save_snapshot` wrote for the snapshot store).
pub fn open_file_store(dir: &Path) -> FileStore {
    FileStore::open_with(
        dir,
        FileStoreOptions::new().checkpoint_on_close_after(u64::MAX),
    )
    .unwrap()
}

pub fn parse_jsonl(path: &Path) -> u64 {
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

/// Reads every event of `store` through `Store::scan`; returns how many there were.
pub fn scan_all(store: &dyn Store) -> u64 {
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
