//! The bench's alerts, desks and stores: the dedup, new-incident and long-running workloads
//! with the events their baselines append, the ingest loops, and the temporary disk whose
//! `FileStore`s count their flushes.

use std::collections::HashSet;
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Duration, TimeZone, Utc};
use incidents::intake::Ingested;
use incidents::store::FileStoreOptions;
use incidents::{
    Alert, Change, Desk, Event, FileStore, IncidentId, ManualClock, MemoryStore, Store, Version,
};

use crate::common::SyncCounter;

pub fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()
}

/// The desk's clock: after every alert's start.
pub fn now() -> DateTime<Utc> {
    start() + Duration::days(30)
}

/// Occurrence `occurrence` of the alert with `fingerprint`: it started `occurrence` minutes
/// after [`start`].
pub fn alert(fingerprint: &str, occurrence: usize) -> Alert {
    Alert::firing(
        "uptime",
        fingerprint,
        "online shop",
        "Checkout returns 500",
        start() + Duration::minutes(occurrence as i64),
    )
    .unwrap()
}

pub fn desk<S: Store>(store: S) -> Desk<S, ManualClock> {
    Desk::new(store, ManualClock::new(now())).unwrap()
}

/// One append of the baseline: incident, version before, events.
pub type Appends = Vec<(IncidentId, Version, Vec<Event>)>;

/// The dedup path: `keys` incidents opened by occurrence 0 of their alert, then occurrences
/// 1..=`repeats` of each, keys in turn; and what each alert recorded.
pub struct Dedup {
    pub openers: Vec<Alert>,
    pub repeats: Vec<Alert>,
    /// The opening append of each incident.
    pub opened: Appends,
    /// The append of each repeat, in order.
    pub recorded: Appends,
}

impl Dedup {
    pub fn new<S: Store>(store: S, keys: usize, repeats: usize) -> (Dedup, Desk<S, ManualClock>) {
        let openers: Vec<Alert> = (0..keys)
            .map(|k| alert(&format!("checkout-5xx-{k}"), 0))
            .collect();
        let repeats: Vec<Alert> = (1..=repeats)
            .flat_map(|occurrence| {
                (0..keys).map(move |k| alert(&format!("checkout-5xx-{k}"), occurrence))
            })
            .collect();
        // The warm-up run, whose histories give the baseline's events.
        let desk = desk(store);
        let ids = open_all(&desk, &openers);
        for alert in &repeats {
            assert!(matches!(
                desk.ingest(alert).unwrap(),
                Ingested::Recorded { .. }
            ));
        }
        let histories: Vec<Vec<Event>> = ids.iter().map(|id| desk.history(*id).unwrap()).collect();
        let opened = ids
            .iter()
            .zip(&histories)
            .zip(&openers)
            .map(|((id, history), alert)| (*id, Version::ZERO, opening(history, alert)))
            .collect();
        let recorded = repeats
            .iter()
            .enumerate()
            .map(|(j, alert)| {
                let (k, occurrence) = (j % keys, j / keys + 1);
                let version = 1 + occurrence;
                let event = histories[k][version].clone();
                assert_signal(&event, alert);
                (ids[k], Version::new(version as u64), vec![event])
            })
            .collect();
        for history in &histories {
            assert_eq!(history.len(), 2 + repeats.len() / keys);
        }
        (
            Dedup {
                openers,
                repeats,
                opened,
                recorded,
            },
            desk,
        )
    }
}

/// Ingests alerts that each open an incident; returns the incidents.
pub fn open_all<S: Store>(desk: &Desk<S, ManualClock>, alerts: &[Alert]) -> Vec<IncidentId> {
    alerts
        .iter()
        .map(|alert| match desk.ingest(alert).unwrap() {
            Ingested::Opened { id } => id,
            other => panic!("expected a new incident, got {other:?}"),
        })
        .collect()
}

/// The events an alert recorded when it opened an incident: `Opened` then `SignalReceived`.
pub fn opening(history: &[Event], alert: &Alert) -> Vec<Event> {
    assert!(matches!(history[0].change, Change::Opened { .. }));
    assert!(matches!(
        &history[1].change,
        Change::SignalReceived { signal } if signal.key == alert.key()
    ));
    history[..2].to_vec()
}

pub fn assert_signal(event: &Event, alert: &Alert) {
    assert!(
        matches!(
            &event.change,
            Change::SignalReceived { signal }
                if signal.key == alert.key()
                    && signal.starts_at == alert.starts_at()
                    && signal.state == alert.state()
        ),
        "{event:?}"
    );
}

/// The new-incident path: `count` alerts with fresh fingerprints, and the opening append
/// of each.
pub struct Fresh {
    pub alerts: Vec<Alert>,
    pub opened: Appends,
}

impl Fresh {
    pub fn new<S: Store>(store: S, count: usize) -> Fresh {
        let alerts: Vec<Alert> = (0..count)
            .map(|n| alert(&format!("payments-timeout-{n}"), 0))
            .collect();
        let desk = desk(store);
        let ids = open_all(&desk, &alerts);
        let opened = ids
            .iter()
            .zip(&alerts)
            .map(|(id, alert)| {
                let history = desk.history(*id).unwrap();
                assert_eq!(history.len(), 2, "nothing else recorded on opening");
                (*id, Version::ZERO, opening(&history, alert))
            })
            .collect();
        Fresh { alerts, opened }
    }
}

/// One incident with `earlier` occurrences of its alert (each followed by its resolution if
/// `flapping`), then `repeats` new firing occurrences; the history before the repeats and
/// the append of each repeat.
pub struct LongRunning {
    pub history: Vec<Event>,
    pub id: IncidentId,
    pub repeats: Vec<Alert>,
    pub recorded: Appends,
}

impl LongRunning {
    pub fn new(earlier: usize, flapping: bool, repeats: usize) -> LongRunning {
        let fingerprint = if flapping {
            "bookings-flapping"
        } else {
            "bookings-steady"
        };
        let desk = desk(MemoryStore::new());
        let id = open_all(&desk, &[alert(fingerprint, 0)])[0];
        for occurrence in 0..earlier {
            if occurrence > 0 {
                let outcome = desk.ingest(&alert(fingerprint, occurrence)).unwrap();
                assert_eq!(outcome, Ingested::Recorded { id });
            }
            if flapping {
                let outcome = desk
                    .ingest(&alert(fingerprint, occurrence).resolved())
                    .unwrap();
                assert_eq!(outcome, Ingested::Recorded { id });
            }
        }
        let history = desk.history(id).unwrap();
        let repeats: Vec<Alert> = (earlier..earlier + repeats)
            .map(|occurrence| alert(fingerprint, occurrence))
            .collect();
        for alert in &repeats {
            assert_eq!(desk.ingest(alert).unwrap(), Ingested::Recorded { id });
        }
        let after = desk.history(id).unwrap();
        let recorded = repeats
            .iter()
            .enumerate()
            .map(|(j, alert)| {
                let version = history.len() + j;
                assert_signal(&after[version], alert);
                (
                    id,
                    Version::new(version as u64),
                    vec![after[version].clone()],
                )
            })
            .collect();
        let signals = desk.get(id).unwrap().signals().len();
        assert_eq!(
            signals,
            earlier * (1 + usize::from(flapping)) + repeats.len()
        );
        assert!(desk.get(id).unwrap().is_active());
        LongRunning {
            history,
            id,
            repeats,
            recorded,
        }
    }

    /// A fresh store holding the history, and a desk over it.
    pub fn desk(&self) -> Desk<MemoryStore, ManualClock> {
        desk(self.store())
    }

    pub fn store(&self) -> MemoryStore {
        let store = MemoryStore::new();
        store.append(self.id, Version::ZERO, &self.history).unwrap();
        store
    }
}

/// Appends each of `appends` to `store`.
pub fn append_all<S: Store>(store: &S, appends: &Appends) -> u64 {
    for (id, version, events) in appends {
        black_box(store.append(*id, *version, events).unwrap());
    }
    appends.len() as u64
}

/// Ingests each alert, checking that it was recorded on the existing incident.
pub fn ingest_recorded<S: Store>(desk: &Desk<S, ManualClock>, alerts: &[Alert]) -> u64 {
    for alert in alerts {
        assert!(matches!(
            desk.ingest(alert).unwrap(),
            Ingested::Recorded { .. }
        ));
    }
    alerts.len() as u64
}

/// Ingests each alert, checking that it opened an incident.
pub fn ingest_opened<S: Store>(desk: &Desk<S, ManualClock>, alerts: &[Alert]) -> u64 {
    for alert in alerts {
        assert!(matches!(
            desk.ingest(alert).unwrap(),
            Ingested::Opened { .. }
        ));
    }
    alerts.len() as u64
}

/// Ingests each alert `passes` times, checking that each is a duplicate.
pub fn ingest_duplicates<S: Store>(
    desk: &Desk<S, ManualClock>,
    alerts: &[Alert],
    passes: usize,
) -> u64 {
    for _ in 0..passes {
        for alert in alerts {
            assert!(matches!(
                desk.ingest(alert).unwrap(),
                Ingested::Duplicate { .. }
            ));
        }
    }
    (alerts.len() * passes) as u64
}

/// The baseline of the duplicate: looks each delivery up in a set of the deliveries.
pub fn lookup_duplicates(
    seen: &HashSet<(String, DateTime<Utc>)>,
    alerts: &[Alert],
    passes: usize,
) -> u64 {
    for _ in 0..passes {
        for alert in alerts {
            assert!(black_box(seen).contains(&(alert.key(), alert.starts_at())));
        }
    }
    (alerts.len() * passes) as u64
}

pub fn deliveries(alerts: &[Alert]) -> HashSet<(String, DateTime<Utc>)> {
    alerts.iter().map(|a| (a.key(), a.starts_at())).collect()
}

/// Where the `FileStore`s live, and how many segment flushes their appends made.
pub struct Disk {
    pub root: PathBuf,
    pub next: AtomicU64,
    pub syncs: Arc<SyncCounter>,
}

impl Disk {
    /// A disk in a new temporary directory under `/tmp` (removed when the guard drops).
    pub fn temp(prefix: &str) -> (tempfile::TempDir, Disk) {
        let root = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir_in("/tmp")
            .unwrap();
        let disk = Disk {
            root: root.path().to_path_buf(),
            next: AtomicU64::new(0),
            syncs: Arc::new(SyncCounter::default()),
        };
        (root, disk)
    }

    /// A `FileStore` with the default options in a new directory. Directories are removed
    /// only at the end, with the root, so no round pays for deleting another's files.
    pub fn store(&self) -> FileStore {
        let dir = self.root.join(format!(
            "round-{}",
            self.next.fetch_add(1, Ordering::Relaxed)
        ));
        let options = FileStoreOptions::new().fault_hook(self.syncs.clone());
        FileStore::open_with(dir, options).unwrap()
    }

    pub fn syncs(&self) -> u64 {
        self.syncs.get()
    }
}

/// Segment flushes and alerts of each workload, over all rounds.
pub struct Flushes<'d, const N: usize> {
    pub disk: &'d Disk,
    pub counts: [std::cell::Cell<(u64, u64)>; N],
}

impl<'d, const N: usize> Flushes<'d, N> {
    pub fn new(disk: &'d Disk) -> Self {
        Flushes {
            disk,
            counts: std::array::from_fn(|_| std::cell::Cell::new((0, 0))),
        }
    }

    /// Runs `work` for workload `i`, counting its flushes and the alerts it returns.
    pub fn counted(&self, i: usize, work: &dyn Fn() -> u64) -> u64 {
        let before = self.disk.syncs();
        let alerts = work();
        let (f, a) = self.counts[i].get();
        self.counts[i].set((f + self.disk.syncs() - before, a + alerts));
        alerts
    }

    /// Flushes per alert of each workload.
    pub fn per_alert(&self) -> [f64; N] {
        std::array::from_fn(|i| {
            let (f, a) = self.counts[i].get();
            f as f64 / a.max(1) as f64
        })
    }
}
