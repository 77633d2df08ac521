//! Intake throughput: alerts per second through `Desk::ingest`, on the dedup path and the
//! new-incident path, on `MemoryStore` and `FileStore`, each beside the bare `Store::append`
//! of the same events on a fresh store of the same kind, measured in the same run.
//!
//! The issue: "alerts per second on the dedup path (existing incident) and the new-incident
//! path, on MemoryStore and FileStore, beside the bare store append of the same events as the
//! baseline."
//!
//! Every desk runs the default policy ([`Policy::small_business`](incidents::Policy)) on a
//! `ManualClock` that stands still, so every run records the same events. Alerts (`uptime`
//! monitor, service "online shop", no severity hint: incidents open at medium) are built before
//! the clock starts. The events of each baseline are taken from `desk.history(id)` after a
//! warm-up run of the same alerts, and checked there: what each alert recorded, at which
//! version.
//!
//! - **Dedup path**: K incidents, each opened (untimed) by the first occurrence of its alert;
//!   then, timed, new occurrences (a later `starts_at`) of those alerts, keys in turn. Each
//!   records one `SignalReceived` on the active incident (one append of one event). Baseline:
//!   a fresh store holding the same opening events; `append(id, version, &[event])` of each
//!   same `SignalReceived` at the same version.
//! - **New-incident path**: alerts with fresh fingerprints on a fresh desk. Each opens an
//!   incident: one append of two events (`Opened`, `SignalReceived`). Baseline: a fresh store,
//!   `append(id, Version::ZERO, &[opened, signal])` of the same events.
//! - **Pure duplicate** (extra): the same deliveries of the dedup path again, on the desk that
//!   already recorded them; each is recognised and records nothing. Baseline: a
//!   `HashSet<(String, DateTime<Utc>)>` of the deliveries, `contains(&(alert.key(),
//!   alert.starts_at()))` — the least work that recognises a repeat. This path reads no
//!   store: the two stores' figures differ only in their shape (keys, signals per incident).
//! - **Dedup path on a long-running incident** (extra, `MemoryStore`): one incident that
//!   already has many occurrences, (a) all still firing, (b) flapping (each occurrence fired
//!   and then resolved). Same baseline as the dedup path, on a store holding the same history.
//!
//! `FileStore` runs with the default options (`Durability::Flush`: each append returns after
//! fdatasync), in fresh directories under one temporary directory in `/tmp` (its file system
//! is printed); it makes fewer alerts per round. Both the desk and the baseline flush once per
//! alert (counted with a `FaultHook` that never injects a fault), so the `FileStore` ratios
//! are dominated by fdatasync.
//!
//! Workloads run in interleaved rounds; figures are the median run, in alerts per second
//! (higher is better). Run with `cargo bench --bench ingest`; `QUICK=1` makes it short.
//! Results: `target/bench-results/ingest.json`.

#[path = "../common/mod.rs"]
mod common;
mod fixtures;

use common::{Figure, Plan, Workload};
use fixtures::*;
use incidents::{Alert, MemoryStore, Version};

/// The sizes of a run.
struct Sizes {
    /// Incidents (alert keys) on the `MemoryStore` dedup path.
    mem_keys: usize,
    /// New occurrences per key per round on the `MemoryStore` dedup path.
    mem_repeats: usize,
    /// New incidents per round on the `MemoryStore` new-incident path.
    mem_new: usize,
    /// Incidents (alert keys) on the `FileStore` dedup path.
    file_keys: usize,
    /// New occurrences per key per round on the `FileStore` dedup path.
    file_repeats: usize,
    /// New incidents per round on the `FileStore` new-incident path.
    file_new: usize,
    /// Alerts per thread per round on the concurrent `FileStore` path (8 threads).
    file_concurrent: usize,
    /// Earlier occurrences of the long-running incidents.
    long_earlier: usize,
    /// New occurrences per round on the long-running incidents.
    long_repeats: usize,
    mem_plan: Plan,
    file_plan: Plan,
}

/// The in-memory figures.
fn memory(sizes: &Sizes) -> Vec<Figure> {
    let (dedup, warm) = Dedup::new(MemoryStore::new(), sizes.mem_keys, sizes.mem_repeats);
    let fresh = Fresh::new(MemoryStore::new(), sizes.mem_new);
    let seen = deliveries(&dedup.repeats);
    let steady = LongRunning::new(sizes.long_earlier, false, sizes.long_repeats);
    let flapping = LongRunning::new(sizes.long_earlier / 2, true, sizes.long_repeats);
    let passes = 1;
    describe_memory(sizes, dedup.repeats.len());
    let rates = common::measure(
        sizes.mem_plan,
        &mut [
            Workload::new(
                "MemoryStore desk, dedup path",
                || {
                    let desk = desk(MemoryStore::new());
                    open_all(&desk, &dedup.openers);
                    desk
                },
                |desk| ingest_recorded(desk, &dedup.repeats),
            ),
            Workload::new(
                "MemoryStore append, 1 event per alert",
                || {
                    let store = MemoryStore::new();
                    append_all(&store, &dedup.opened);
                    store
                },
                |store| append_all(store, &dedup.recorded),
            ),
            Workload::new(
                "MemoryStore desk, new-incident path",
                || desk(MemoryStore::new()),
                |desk| ingest_opened(desk, &fresh.alerts),
            ),
            Workload::new(
                "MemoryStore append, 2 events per alert",
                MemoryStore::new,
                |store| append_all(store, &fresh.opened),
            ),
            Workload::new(
                "MemoryStore desk, pure duplicates",
                || (),
                |()| ingest_duplicates(&warm, &dedup.repeats, passes),
            ),
            Workload::new(
                "HashSet<(key, starts_at)>::contains",
                || (),
                |()| lookup_duplicates(&seen, &dedup.repeats, passes),
            ),
            Workload::new(
                "MemoryStore desk, dedup path, long-running incident (firing)",
                || steady.desk(),
                |desk| ingest_recorded(desk, &steady.repeats),
            ),
            Workload::new(
                "MemoryStore append, long-running incident (firing)",
                || steady.store(),
                |store| append_all(store, &steady.recorded),
            ),
            Workload::new(
                "MemoryStore desk, dedup path, long-running incident (flapping)",
                || flapping.desk(),
                |desk| ingest_recorded(desk, &flapping.repeats),
            ),
            Workload::new(
                "MemoryStore append, long-running incident (flapping)",
                || flapping.store(),
                |store| append_all(store, &flapping.recorded),
            ),
        ],
    );
    let median = |i: usize| rates[i].median();
    memory_figures(sizes, &median)
}

/// The durable figures.
fn durable(sizes: &Sizes) -> Vec<Figure> {
    let (root, disk) = Disk::temp("incidents-bench-ingest-");
    let (dedup, warm) = Dedup::new(disk.store(), sizes.file_keys, sizes.file_repeats);
    let fresh = Fresh::new(disk.store(), sizes.file_new);
    let seen = deliveries(&dedup.repeats);
    // Many passes over the few deliveries, so a round lasts long enough to time.
    let passes = 50;
    eprintln!(
        "FileStore (Durability::Flush) in {} ({}): dedup path {} keys x {} new occurrences \
         per round; new-incident path {} alerts per round; duplicates: the dedup path's {} \
         deliveries again, {passes} times per round",
        root.path().display(),
        common::file_system(root.path()).unwrap_or_else(|| "file system unknown".into()),
        sizes.file_keys,
        sizes.file_repeats,
        sizes.file_new,
        dedup.repeats.len(),
    );
    // Flushes per alert, for each workload that appends.
    let flushes = Flushes::<4>::new(&disk);
    let counted = |i: usize, work: &dyn Fn() -> u64| flushes.counted(i, work);
    let rates = common::measure(
        sizes.file_plan,
        &mut [
            Workload::new(
                "FileStore desk, dedup path",
                || {
                    let desk = desk(disk.store());
                    open_all(&desk, &dedup.openers);
                    desk
                },
                |desk| counted(0, &|| ingest_recorded(desk, &dedup.repeats)),
            ),
            Workload::new(
                "FileStore append, 1 event per alert",
                || {
                    let store = disk.store();
                    append_all(&store, &dedup.opened);
                    store
                },
                |store| counted(1, &|| append_all(store, &dedup.recorded)),
            ),
            Workload::new(
                "FileStore desk, new-incident path",
                || desk(disk.store()),
                |desk| counted(2, &|| ingest_opened(desk, &fresh.alerts)),
            ),
            Workload::new(
                "FileStore append, 2 events per alert",
                || disk.store(),
                |store| counted(3, &|| append_all(store, &fresh.opened)),
            ),
            Workload::new(
                "FileStore desk, pure duplicates",
                || (),
                |()| ingest_duplicates(&warm, &dedup.repeats, passes),
            ),
            Workload::new(
                "HashSet<(key, starts_at)>::contains",
                || (),
                |()| lookup_duplicates(&seen, &dedup.repeats, passes),
            ),
        ],
    );
    let per_alert = flushes.per_alert();
    eprintln!(
        "  segment flushes per alert (all rounds): desk dedup {:.2}, append {:.2}; desk new \
         incident {:.2}, append {:.2}",
        per_alert[0], per_alert[1], per_alert[2], per_alert[3]
    );
    let median = |i: usize| rates[i].median();
    drop(warm);
    durable_figures(sizes, &median)
}

/// How many threads ingest at once on the concurrent path.
const THREADS: usize = 8;

/// Eight threads ingesting distinct keys at once on a `FileStore` (each alert opens an
/// incident), beside eight threads appending the same events to a fresh `FileStore`: the
/// store's own group-commit rate. Per-key intake locks let the desk's appends share flushes as
/// bare appenders do.
fn concurrent(sizes: &Sizes) -> Vec<Figure> {
    let (_root, disk) = Disk::temp("incidents-bench-ingest-concurrent-");
    let per_thread = sizes.file_concurrent;
    let alerts: Vec<Vec<Alert>> = (0..THREADS)
        .map(|t| {
            (0..per_thread)
                .map(|i| alert(&format!("thread-{t}-key-{i}"), 0))
                .collect()
        })
        .collect();
    let appends = concurrent_appends(&alerts);
    eprintln!(
        "FileStore, {THREADS} threads at once: {per_thread} new incidents per thread per round \
         ({} alerts), distinct keys, one service",
        THREADS * per_thread
    );
    let flushes = Flushes::<2>::new(&disk);
    let counted = |i: usize, work: &dyn Fn() -> u64| flushes.counted(i, work);
    let rates = common::measure(
        sizes.file_plan,
        &mut [
            Workload::new(
                format!("FileStore desk, {THREADS} threads ingesting"),
                || desk(disk.store()),
                |desk| {
                    counted(0, &|| {
                        std::thread::scope(|scope| {
                            for list in &alerts {
                                let desk = &*desk;
                                scope.spawn(move || open_all(desk, list));
                            }
                        });
                        (THREADS * per_thread) as u64
                    })
                },
            ),
            Workload::new(
                format!("FileStore append, {THREADS} threads appending"),
                || disk.store(),
                |store| {
                    counted(1, &|| {
                        std::thread::scope(|scope| {
                            for list in &appends {
                                let store = &*store;
                                scope.spawn(move || append_all(store, list));
                            }
                        });
                        (THREADS * per_thread) as u64
                    })
                },
            ),
        ],
    );
    let per_alert = flushes.per_alert();
    eprintln!(
        "  alerts per flush (all rounds): desk {:.1}, bare appends {:.1}",
        1.0 / per_alert[0],
        1.0 / per_alert[1]
    );
    vec![Figure::new(
        format!(
            "FileStore ingest, {THREADS} threads at once, distinct keys, each opening an \
             incident, fdatasync before each answer (median)"
        ),
        rates[0].median(),
        "alerts/s",
        format!(
            "FileStore append of the same Opened + SignalReceived from {THREADS} threads \
             (group commit) (median)"
        ),
        rates[1].median(),
    )]
}

/// Prints what the in-memory rounds run.
fn describe_memory(sizes: &Sizes, deliveries: usize) {
    eprintln!(
        "MemoryStore: dedup path {} keys x {} new occurrences per round (each incident ends \
         with {} signals); new-incident path {} alerts per round; duplicates: the dedup \
         path's {} deliveries again; long-running: {} earlier firing occurrences, or {} \
         earlier flapping ones ({} signals), then {} new occurrences per round",
        sizes.mem_keys,
        sizes.mem_repeats,
        1 + sizes.mem_repeats,
        sizes.mem_new,
        deliveries,
        sizes.long_earlier,
        sizes.long_earlier / 2,
        sizes.long_earlier,
        sizes.long_repeats,
    );
}

/// The in-memory figures, from the medians of [`memory`]'s workloads in order.
fn memory_figures(sizes: &Sizes, median: &dyn Fn(usize) -> f64) -> Vec<Figure> {
    let unit = "alerts/s";
    vec![
        Figure::new(
            format!(
                "MemoryStore ingest, dedup path: new occurrence on an active incident, {} \
                 keys x {} (median)",
                sizes.mem_keys, sizes.mem_repeats
            ),
            median(0),
            unit,
            "MemoryStore append of the same SignalReceived at the same version (median)",
            median(1),
        ),
        Figure::new(
            "MemoryStore ingest, new-incident path: fresh fingerprint (median)",
            median(2),
            unit,
            "MemoryStore append of the same Opened + SignalReceived, fresh store (median)",
            median(3),
        ),
        Figure::new(
            format!(
                "MemoryStore ingest, pure duplicate: same delivery again, records nothing, {} \
                 signals per incident (median)",
                1 + sizes.mem_repeats
            ),
            median(4),
            unit,
            "HashSet<(alert key, starts_at)>::contains (median)",
            median(5),
        ),
        Figure::new(
            format!(
                "MemoryStore ingest, dedup path, incident with {} earlier firing occurrences \
                 (median)",
                sizes.long_earlier
            ),
            median(6),
            unit,
            "MemoryStore append of the same SignalReceived at the same version (median)",
            median(7),
        ),
        Figure::new(
            format!(
                "MemoryStore ingest, dedup path, incident with {} earlier flapping \
                 occurrences ({} signals) (median)",
                sizes.long_earlier / 2,
                sizes.long_earlier
            ),
            median(8),
            unit,
            "MemoryStore append of the same SignalReceived at the same version (median)",
            median(9),
        ),
    ]
}

/// The durable figures, from the medians of [`durable`]'s workloads in order; first prints
/// the time per alert through the desk and per bare append.
fn durable_figures(sizes: &Sizes, median: &dyn Fn(usize) -> f64) -> Vec<Figure> {
    for (what, desk, store) in [("dedup", 0, 1), ("new-incident", 2, 3)] {
        eprintln!(
            "  {what} path: {:.1} µs per alert through the desk, {:.1} µs per bare append \
             (difference {:+.1} µs; both flush once per alert, so the flush dominates the ratio)",
            1e6 / median(desk),
            1e6 / median(store),
            1e6 / median(desk) - 1e6 / median(store),
        );
    }
    let unit = "alerts/s";
    vec![
        Figure::new(
            format!(
                "FileStore ingest, dedup path: new occurrence on an active incident, {} keys \
                 x {}, fdatasync per alert (median)",
                sizes.file_keys, sizes.file_repeats
            ),
            median(0),
            unit,
            "FileStore append of the same SignalReceived at the same version, fdatasync per \
             append (median)",
            median(1),
        ),
        Figure::new(
            "FileStore ingest, new-incident path: fresh fingerprint, fdatasync per alert (median)",
            median(2),
            unit,
            "FileStore append of the same Opened + SignalReceived, fresh store, fdatasync per \
             append (median)",
            median(3),
        ),
        Figure::new(
            format!(
                "FileStore ingest, pure duplicate: same delivery again, records nothing, {} \
                 signals per incident (median)",
                1 + sizes.file_repeats
            ),
            median(4),
            unit,
            "HashSet<(alert key, starts_at)>::contains (median)",
            median(5),
        ),
    ]
}

/// Per thread, the events each of its alerts records (one append each), taken from a warm-up
/// desk in memory (ids are deterministic).
fn concurrent_appends(alerts: &[Vec<Alert>]) -> Vec<Appends> {
    // The events each alert records, from a warm-up desk in memory (ids are deterministic).
    let warm = desk(MemoryStore::new());
    alerts
        .iter()
        .map(|list| {
            let ids = open_all(&warm, list);
            ids.iter()
                .zip(list)
                .map(|(id, alert)| {
                    let history = warm.history(*id).unwrap();
                    (*id, Version::ZERO, opening(&history, alert))
                })
                .collect()
        })
        .collect()
}

fn main() {
    let quick = common::quick();
    let sizes = if quick {
        Sizes {
            mem_keys: 1_000,
            mem_repeats: 5,
            mem_new: 5_000,
            file_keys: 20,
            file_repeats: 5,
            file_new: 100,
            file_concurrent: 16,
            long_earlier: 1_000,
            long_repeats: 20,
            mem_plan: Plan {
                warmup: 1,
                runs: 11,
            },
            file_plan: Plan { warmup: 1, runs: 7 },
        }
    } else {
        Sizes {
            mem_keys: 1_000,
            mem_repeats: 20,
            mem_new: 20_000,
            file_keys: 20,
            file_repeats: 10,
            file_new: 200,
            file_concurrent: 32,
            long_earlier: 1_000,
            long_repeats: 50,
            mem_plan: Plan {
                warmup: 2,
                runs: 31,
            },
            file_plan: Plan {
                warmup: 2,
                runs: 21,
            },
        }
    };
    eprintln!(
        "ingest: {}default policy, clock standing still; {} interleaved rounds after {} warm-up \
         (MemoryStore), {} after {} (FileStore); figures are medians",
        if quick {
            "QUICK run (fewer alerts and rounds), "
        } else {
            ""
        },
        sizes.mem_plan.runs,
        sizes.mem_plan.warmup,
        sizes.file_plan.runs,
        sizes.file_plan.warmup,
    );
    let mut figures = memory(&sizes);
    figures.extend(durable(&sizes));
    figures.extend(concurrent(&sizes));
    common::report("ingest", &figures);
}
