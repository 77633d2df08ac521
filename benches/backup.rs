//! Operating a store: what a backup, a verification and a read-only open cost, each against
//! the plain file operation a host could do instead, measured in the same run on the same
//! directory.
//!
//! **Set-up (not timed).** A `FileStore` (default 64 MiB segments; 8 MiB segments so a
//! backup copies several files) filled through `append_batch` with real incident histories
//! made by `decide` (the store bench's data), about 48 MiB (QUICK: 12 MiB).
//!
//! **Figures** (median of interleaved rounds, in MiB of segment bytes per second):
//!
//! 1. `store.backup(dest)` into a fresh directory. Baseline: `std::fs::copy` of each segment
//!    into a fresh directory, then `sync_all` of each copy and of the directory — the copy a
//!    careful host would make by hand, without a manifest or checksums.
//! 2. `FileStore::verify(dir)`. Baselines: reading every segment (`std::fs::read`) and
//!    computing one CRC-32 over its bytes — the least a check of every byte can do; and the
//!    peer, `open_read_only` plus a `scan` that decodes every event once (verify decodes
//!    every event too, which is what it spends its time on).
//! 3. `FileStore::open_read_only(dir)`. Baseline: `FileStore::open(dir)` (the peer: the same
//!    recovery scan with the lock taken).
//!
//! Run with `cargo bench --bench backup`; `QUICK=1` makes it short. Results:
//! `target/bench-results/backup.json`.

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::{Figure, MIB, Plan, Workload};
use incidents::lifecycle::decide;
use incidents::store::{Append, Durability, FileStoreOptions, Store, Version};
use incidents::{
    Actor, Command, Event, FileStore, Incident, IncidentId, NewIncident, Resolution, Role,
    Severity, Source,
};

/// Segment files of this size, so a backup copies several.
const SEGMENT_BYTES: u64 = 8 << 20;

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()
}

/// Incident `n`'s history: open, acknowledge, identify, mitigate, notes and updates, resolve,
/// close — each event made by `decide` and applied.
fn history(n: u64, people: &[Actor; 2]) -> (IncidentId, Vec<Event>) {
    let id = IncidentId::from_bytes({
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&n.to_le_bytes());
        b[6] = 0x70;
        b[8] = 0x80;
        b
    });
    let new = NewIncident::new(
        "Card payments fail at the till",
        Severity::ALL[(n % 4) as usize],
        "payments",
        Source::ALL[(n % 3) as usize],
    )
    .unwrap();
    let mut commands = vec![
        Command::Open { id, incident: new },
        Command::Acknowledge,
        Command::StartInvestigating,
        Command::identify("connection pool exhausted on the database").unwrap(),
        Command::mitigate("raised the pool size and restarted the workers").unwrap(),
    ];
    for k in 0..4 {
        commands.push(if k % 2 == 0 {
            Command::note(format!(
                "error rate back under 1% ({} minutes)",
                5 * (k + 1)
            ))
            .unwrap()
        } else {
            Command::customer_update("Payments work again; we are watching closely.").unwrap()
        });
    }
    commands.push(Command::resolve(Resolution::Fixed));
    commands.push(
        Command::close(
            "The database ran out of connections under the lunch peak.",
            "Alert on pool usage above 80%.",
        )
        .unwrap(),
    );
    let mut at = start() + Duration::seconds(n as i64);
    let mut incident: Option<Incident> = None;
    let mut events = Vec::new();
    for (k, command) in commands.iter().enumerate() {
        at += Duration::minutes(3);
        for event in decide(incident.as_ref(), command, &people[k % 2], at).unwrap() {
            match incident.as_mut() {
                None => incident = Some(Incident::opened(id, &event).unwrap()),
                Some(incident) => incident.apply(&event).unwrap(),
            }
            events.push(event);
        }
    }
    (id, events)
}

/// Fills a store in `dir` with about `bytes` of segments; returns the segment bytes.
fn fill(dir: &Path, bytes: u64) -> u64 {
    let people = [
        Actor::new("shimon", "Shimon Levi", Role::Owner).unwrap(),
        Actor::new("dana", "Dana Cohen", Role::Responder).unwrap(),
    ];
    let options = FileStoreOptions::new()
        .segment_bytes(SEGMENT_BYTES)
        .durability(Durability::Buffered);
    let store = FileStore::open_with(dir, options).unwrap();
    let mut n = 0u64;
    while segment_bytes(dir) < bytes {
        let batch: Vec<(IncidentId, Vec<Event>)> =
            (n..n + 64).map(|k| history(k, &people)).collect();
        n += 64;
        let appends: Vec<Append<'_>> = batch
            .iter()
            .map(|(id, events)| Append {
                id: *id,
                expected: Version::ZERO,
                events,
            })
            .collect();
        store.append_batch(&appends).unwrap();
    }
    drop(store);
    segment_bytes(dir)
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("seg-"))
        })
        .collect();
    found.sort();
    found
}

fn segment_bytes(dir: &Path) -> u64 {
    segments(dir)
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum()
}

fn main() {
    let quick = common::quick();
    let size: u64 = if quick { 12 << 20 } else { 48 << 20 };
    let plan = if quick {
        Plan { warmup: 1, runs: 3 }
    } else {
        Plan { warmup: 1, runs: 7 }
    };
    let root = tempfile::tempdir().unwrap();
    let src = root.path().join("store");
    let bytes = fill(&src, size);
    let mib = bytes as f64 / MIB;
    eprintln!(
        "backup bench: {} segments, {mib:.1} MiB in {} ({})",
        segments(&src).len(),
        root.path().display(),
        common::file_system(root.path()).unwrap_or_else(|| "file system unknown".into())
    );
    let counter = AtomicU64::new(0);
    let fresh = || {
        root.path()
            .join(format!("dest-{}", counter.fetch_add(1, Ordering::Relaxed)))
    };
    let store = FileStore::open_read_only(&src).unwrap();

    // Rates are in "operations" per second; one operation is one MiB (rounded down to KiB
    // precision through the byte count).
    let per_run = |b: u64| b / 1024;
    let mut workloads = vec![
        Workload::new("FileStore::backup", &fresh, |dest| {
            store.backup(&*dest).unwrap();
            per_run(bytes)
        }),
        Workload::new(
            "fs::copy + sync_all",
            || {
                let dest = fresh();
                std::fs::create_dir(&dest).unwrap();
                dest
            },
            |dest| {
                for seg in segments(&src) {
                    let target = dest.join(seg.file_name().unwrap());
                    std::fs::copy(&seg, &target).unwrap();
                    std::fs::File::open(&target).unwrap().sync_all().unwrap();
                }
                std::fs::File::open(&*dest).unwrap().sync_all().unwrap();
                per_run(bytes)
            },
        ),
        Workload::new(
            "FileStore::verify",
            || (),
            |()| {
                assert!(FileStore::verify(&src).unwrap().is_ok());
                per_run(bytes)
            },
        ),
        Workload::new(
            "read + CRC-32",
            || (),
            |()| {
                let mut crc = 0u32;
                for seg in segments(&src) {
                    crc ^= crc32fast::hash(&std::fs::read(seg).unwrap());
                }
                std::hint::black_box(crc);
                per_run(bytes)
            },
        ),
        Workload::new(
            "open_read_only + scan",
            || (),
            |()| {
                let store = FileStore::open_read_only(&src).unwrap();
                let mut n = 0u64;
                store
                    .scan(&mut |_, _, _| {
                        n += 1;
                        Ok(())
                    })
                    .unwrap();
                std::hint::black_box(n);
                per_run(bytes)
            },
        ),
        Workload::new(
            "FileStore::open_read_only",
            || (),
            |()| {
                let store = FileStore::open_read_only(&src).unwrap();
                std::hint::black_box(store.open_report().events);
                per_run(bytes)
            },
        ),
        Workload::new(
            "FileStore::open",
            || (),
            |()| {
                let store = FileStore::open(&src).unwrap();
                std::hint::black_box(store.open_report().events);
                per_run(bytes)
            },
        ),
    ];
    let rates = common::measure(plan, &mut workloads);
    drop(workloads);
    drop(store);
    let mibs = |i: usize| rates[i].median() / 1024.0;
    let figures = [
        Figure::new(
            "FileStore::backup (manifest, checksums, rename), median",
            mibs(0),
            "MiB/s",
            "fs::copy + sync_all of each segment and the directory",
            mibs(1),
        ),
        Figure::new(
            "FileStore::verify (manifest-less store: frames, events), median",
            mibs(2),
            "MiB/s",
            "fs::read + one CRC-32 per segment",
            mibs(3),
        ),
        Figure::new(
            "FileStore::verify, median",
            mibs(2),
            "MiB/s",
            "open_read_only + scan decoding every event once (the peer)",
            mibs(4),
        ),
        Figure::new(
            "FileStore::open_read_only, median",
            mibs(5),
            "MiB/s",
            "FileStore::open (read-write, lock)",
            mibs(6),
        ),
    ];
    common::report("backup", &figures);
}
