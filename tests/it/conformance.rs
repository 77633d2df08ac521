//! The store conformance suite: written once, generic over [`Store`], run against every
//! backend by the `conformance!` macro at the bottom.
//!
//! A backend is a [`Backend`]: it makes a fresh store and can reopen it (drop and open again
//! from its files; a no-op for the memory store). The model-based property test drives random
//! appends, batch appends, loads and reopens against a `BTreeMap` reference model.

use std::collections::BTreeMap;
use std::sync::Barrier;

use incidents::store::{Append, FileStore, FileStoreOptions};
use incidents::{Error, Event, IncidentId, MemoryStore, Store, Version};
use proptest::prelude::*;

use crate::support::{note_event, note_events, nth_id};

/// A store under test, and how to reopen it.
pub trait Backend: Sized {
    /// The store type.
    type S: Store;
    /// A fresh, empty store.
    fn fresh() -> Self;
    /// The store.
    fn store(&self) -> &Self::S;
    /// Closes and reopens the store from whatever it persisted.
    fn reopen(&mut self);
    /// Whether the backend can run here (a database server may be missing).
    fn available() -> bool {
        true
    }
}

pub struct Memory(MemoryStore);

impl Backend for Memory {
    type S = MemoryStore;
    fn fresh() -> Self {
        Memory(MemoryStore::new())
    }
    fn store(&self) -> &MemoryStore {
        &self.0
    }
    fn reopen(&mut self) {}
}

pub struct Files {
    // Field order matters: the store must close before the directory is removed.
    store: Option<FileStore>,
    options: FileStoreOptions,
    dir: tempfile::TempDir,
}

impl Files {
    fn with(options: FileStoreOptions) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::open_with(dir.path(), options.clone()).unwrap();
        Files {
            store: Some(store),
            options,
            dir,
        }
    }
}

impl Backend for Files {
    type S = FileStore;
    fn fresh() -> Self {
        Files::with(FileStoreOptions::new())
    }
    fn store(&self) -> &FileStore {
        self.store.as_ref().unwrap()
    }
    fn reopen(&mut self) {
        self.store = None;
        self.store = Some(FileStore::open_with(self.dir.path(), self.options.clone()).unwrap());
    }
}

/// Files with tiny segments, so that rotation happens all the time.
pub struct SmallSegments(Files);

impl Backend for SmallSegments {
    type S = FileStore;
    fn fresh() -> Self {
        SmallSegments(Files::with(FileStoreOptions::new().segment_bytes(4096)))
    }
    fn store(&self) -> &FileStore {
        self.0.store()
    }
    fn reopen(&mut self) {
        self.0.reopen()
    }
}

/// An SQLite database file in a temporary directory.
#[cfg(feature = "sqlite")]
pub struct Sqlite {
    store: Option<incidents::store::SqliteStore>,
    dir: tempfile::TempDir,
}

#[cfg(feature = "sqlite")]
impl Backend for Sqlite {
    type S = incidents::store::SqliteStore;
    fn fresh() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = incidents::store::SqliteStore::open(dir.path().join("incidents.db")).unwrap();
        Sqlite {
            store: Some(store),
            dir,
        }
    }
    fn store(&self) -> &Self::S {
        self.store.as_ref().unwrap()
    }
    fn reopen(&mut self) {
        self.store = None;
        self.store = Some(
            incidents::store::SqliteStore::open(self.dir.path().join("incidents.db")).unwrap(),
        );
    }
}

/// A SQLite store scoped to tenant `shop-42`, in a file where the default tenant and
/// `shop-7` already hold rows for the same incident ids the suite uses (`nth_id` 0..300)
/// and more: every check of the suite must see `shop-42`'s rows only.
#[cfg(feature = "sqlite")]
pub struct SqliteTenant {
    store: Option<incidents::store::SqliteStore>,
    dir: tempfile::TempDir,
}

#[cfg(feature = "sqlite")]
impl SqliteTenant {
    fn open(path: &std::path::Path) -> incidents::store::SqliteStore {
        incidents::store::SqliteStore::open(path)
            .unwrap()
            .tenant(incidents::store::Tenant::new("shop-42").unwrap())
    }
}

/// Fills the other tenants of `db`: the default and `shop-7`, events for incidents 0..300
/// (the ids the suite uses) and 1000..1040, with a snapshot each.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub fn fill_neighbours<S: Store>(default: &S, shop_7: &S) {
    let events = note_events(0, 3);
    let batch: Vec<Append<'_>> = (0..300)
        .chain(1000..1040)
        .map(|n| Append {
            id: nth_id(n),
            expected: Version::ZERO,
            events: &events,
        })
        .collect();
    for store in [default, shop_7] {
        store.append_batch(&batch).unwrap();
        store.save_snapshot(b"a neighbour's snapshot").unwrap();
    }
}

#[cfg(feature = "sqlite")]
impl Backend for SqliteTenant {
    type S = incidents::store::SqliteStore;
    fn fresh() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("incidents.db");
        let default = incidents::store::SqliteStore::open(&path).unwrap();
        let shop_7 = default.tenant(incidents::store::Tenant::new("shop-7").unwrap());
        fill_neighbours(&default, &shop_7);
        SqliteTenant {
            store: Some(Self::open(&path)),
            dir,
        }
    }
    fn store(&self) -> &Self::S {
        self.store.as_ref().unwrap()
    }
    fn reopen(&mut self) {
        self.store = None;
        self.store = Some(Self::open(&self.dir.path().join("incidents.db")));
    }
}

/// The suite on tenant `shop-42` of a PostgreSQL database where the default tenant and
/// `shop-7` hold rows for the same incident ids (see [`SqliteTenant`]).
#[cfg(feature = "postgres")]
pub struct PostgresTenant {
    store: Option<incidents::store::PostgresStore>,
    url: String,
    _up: std::sync::RwLockReadGuard<'static, ()>,
}

#[cfg(feature = "postgres")]
impl PostgresTenant {
    fn connect(url: &str) -> incidents::store::PostgresStore {
        incidents::store::PostgresStore::connect(url)
            .unwrap()
            .tenant(incidents::store::Tenant::new("shop-42").unwrap())
    }
}

#[cfg(feature = "postgres")]
impl Backend for PostgresTenant {
    type S = incidents::store::PostgresStore;
    fn fresh() -> Self {
        let up = crate::sql::server_up();
        let url =
            crate::sql::fresh_database(&crate::sql::pg_url().expect("available() was checked"));
        let default = incidents::store::PostgresStore::connect(&url).unwrap();
        let shop_7 = default.tenant(incidents::store::Tenant::new("shop-7").unwrap());
        fill_neighbours(&default, &shop_7);
        PostgresTenant {
            store: Some(Self::connect(&url)),
            url,
            _up: up,
        }
    }
    fn store(&self) -> &Self::S {
        self.store.as_ref().unwrap()
    }
    fn reopen(&mut self) {
        self.store = None;
        self.store = Some(Self::connect(&self.url));
    }
    fn available() -> bool {
        crate::sql::pg_url().is_some()
    }
}

/// Every (incident, version, event) the store's `scan` returns.
fn scanned<S: Store>(store: &S) -> Vec<(IncidentId, Version, Event)> {
    let mut out = Vec::new();
    store
        .scan(&mut |id, v, e| {
            out.push((id, v, e.clone()));
            Ok(())
        })
        .unwrap();
    out
}

pub fn round_trip<B: Backend>() {
    let b = B::fresh();
    let id = nth_id(1);
    let events = note_events(0, 3);
    assert_eq!(
        b.store().append(id, Version::ZERO, &events).unwrap(),
        Version::new(3)
    );
    assert_eq!(b.store().load(id).unwrap(), events);
    assert_eq!(b.store().version(id).unwrap(), Version::new(3));
    assert_eq!(b.store().load(nth_id(2)).unwrap(), vec![]);
    assert_eq!(b.store().version(nth_id(2)).unwrap(), Version::ZERO);
}

pub fn ordering_is_kept_per_incident<B: Backend>() {
    let b = B::fresh();
    let (a, c) = (nth_id(1), nth_id(2));
    let mut version_a = Version::ZERO;
    let mut version_c = Version::ZERO;
    for round in 0..10 {
        version_a = b
            .store()
            .append(a, version_a, &note_events(round * 10, 2))
            .unwrap();
        version_c = b
            .store()
            .append(c, version_c, &note_events(round * 10 + 5, 1))
            .unwrap();
    }
    let loaded = b.store().load(a).unwrap();
    let expected: Vec<Event> = (0..10).flat_map(|r| note_events(r * 10, 2)).collect();
    assert_eq!(loaded, expected);
    // scan: each incident's events in version order, versions counting from 1.
    let all = scanned(b.store());
    assert_eq!(all.len(), 30);
    for id in [a, c] {
        let versions: Vec<u64> = all
            .iter()
            .filter(|(i, _, _)| *i == id)
            .map(|(_, v, _)| v.get())
            .collect();
        let n = versions.len() as u64;
        assert_eq!(versions, (1..=n).collect::<Vec<_>>());
    }
}

pub fn stale_version_is_a_conflict_and_records_nothing<B: Backend>() {
    let b = B::fresh();
    let id = nth_id(1);
    b.store()
        .append(id, Version::ZERO, &note_events(0, 2))
        .unwrap();
    let err = b
        .store()
        .append(id, Version::new(1), &note_events(9, 1))
        .unwrap_err();
    match err {
        Error::Conflict(c) => {
            assert_eq!(
                (c.incident, c.expected, c.actual),
                (id, Version::new(1), Version::new(2))
            );
        }
        other => panic!("expected a conflict, got {other}"),
    }
    let err = b.store().append(id, Version::new(5), &[]).unwrap_err();
    assert!(matches!(err, Error::Conflict(_)));
    assert_eq!(b.store().load(id).unwrap(), note_events(0, 2));
    // An empty append at the right version records nothing and succeeds.
    assert_eq!(
        b.store().append(id, Version::new(2), &[]).unwrap(),
        Version::new(2)
    );
}

pub fn batches_are_all_or_nothing<B: Backend>() {
    let b = B::fresh();
    let (x, y) = (nth_id(1), nth_id(2));
    b.store()
        .append(x, Version::ZERO, &note_events(0, 1))
        .unwrap();
    let e1 = note_events(10, 2);
    let e2 = note_events(20, 1);
    // y is stale (expects 3, has 0): nothing at all is recorded.
    let err = b
        .store()
        .append_batch(&[
            Append {
                id: x,
                expected: Version::new(1),
                events: &e1,
            },
            Append {
                id: y,
                expected: Version::new(3),
                events: &e2,
            },
        ])
        .unwrap_err();
    assert!(matches!(err, Error::Conflict(c) if c.incident == y));
    assert_eq!(b.store().version(x).unwrap(), Version::new(1));
    // The same incident twice in one batch: the second continues from the first.
    let versions = b
        .store()
        .append_batch(&[
            Append {
                id: x,
                expected: Version::new(1),
                events: &e1,
            },
            Append {
                id: y,
                expected: Version::ZERO,
                events: &e2,
            },
            Append {
                id: x,
                expected: Version::new(3),
                events: &e2,
            },
        ])
        .unwrap();
    assert_eq!(
        versions,
        [Version::new(3), Version::new(1), Version::new(4)]
    );
    let mut expected_x = note_events(0, 1);
    expected_x.extend(e1.clone());
    expected_x.extend(e2.clone());
    assert_eq!(b.store().load(x).unwrap(), expected_x);
    assert_eq!(b.store().load(y).unwrap(), e2);
}

pub fn exactly_one_of_two_racers_wins<B: Backend>() {
    let b = B::fresh();
    for round in 0..40 {
        let id = nth_id(1000 + round);
        let barrier = Barrier::new(2);
        let results: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..2u64)
                .map(|t| {
                    let (store, barrier) = (b.store(), &barrier);
                    s.spawn(move || {
                        barrier.wait();
                        store.append(id, Version::ZERO, &[note_event(t, &format!("racer {t}"))])
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let wins = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(wins, 1, "round {round}: {results:?}");
        assert!(
            results
                .iter()
                .any(|r| matches!(r, Err(Error::Conflict(c)) if c.actual == Version::new(1)))
        );
        assert_eq!(b.store().load(id).unwrap().len(), 1);
    }
}

pub fn concurrent_appenders_on_different_incidents_all_land<B: Backend>() {
    let b = B::fresh();
    std::thread::scope(|s| {
        for t in 0..8u64 {
            let store = b.store();
            s.spawn(move || {
                let id = nth_id(t);
                for n in 0..25u64 {
                    store
                        .append(id, Version::new(n), &[note_event(n, "x")])
                        .unwrap();
                }
            });
        }
    });
    for t in 0..8 {
        assert_eq!(b.store().version(nth_id(t)).unwrap(), Version::new(25));
    }
    assert_eq!(scanned(b.store()).len(), 200);
}

pub fn large_events_round_trip<B: Backend>() {
    let mut b = B::fresh();
    let id = nth_id(1);
    let big = "é".repeat(incidents::limits::TEXT_MAX_CHARS);
    let events: Vec<Event> = (0..20).map(|n| note_event(n, &big)).collect();
    b.store().append(id, Version::ZERO, &events).unwrap();
    b.reopen();
    assert_eq!(b.store().load(id).unwrap(), events);
}

pub fn many_incidents_and_reopen<B: Backend>() {
    let mut b = B::fresh();
    for n in 0..300 {
        b.store()
            .append(nth_id(n), Version::ZERO, &note_events(n, 1 + n % 3))
            .unwrap();
    }
    let before = scanned(b.store());
    b.reopen();
    let after = scanned(b.store());
    let sort = |mut v: Vec<(IncidentId, Version, Event)>| {
        v.sort_by_key(|(id, v, _)| (*id, *v));
        v
    };
    assert_eq!(sort(before), sort(after.clone()));
    for n in 0..300 {
        assert_eq!(
            b.store().load(nth_id(n)).unwrap(),
            note_events(n, 1 + n % 3)
        );
    }
    // Appends continue after a reopen.
    b.store()
        .append(nth_id(0), Version::new(1), &note_events(7, 1))
        .unwrap();
    b.reopen();
    assert_eq!(b.store().version(nth_id(0)).unwrap(), Version::new(2));
}

/// One step of the model-based test.
#[derive(Debug, Clone)]
pub enum Op {
    /// Append `count` events to incident `incident` at its true version, or at a stale one.
    Append {
        incident: u64,
        count: u64,
        stale: bool,
    },
    /// A batch of appends, each maybe stale.
    Batch(Vec<(u64, u64, bool)>),
    /// Load one incident.
    Load { incident: u64 },
    /// Close and reopen.
    Reopen,
}

pub fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u64..6, 0u64..4, prop::bool::weighted(0.15))
            .prop_map(|(incident, count, stale)| Op::Append { incident, count, stale }),
        2 => prop::collection::vec((0u64..6, 0u64..3, prop::bool::weighted(0.1)), 1..4)
            .prop_map(Op::Batch),
        3 => (0u64..6).prop_map(|incident| Op::Load { incident }),
        1 => Just(Op::Reopen),
    ]
}

/// Runs `ops` against backend `B` and a `BTreeMap` model; they must always agree.
pub fn agrees_with_model<B: Backend>(ops: Vec<Op>) {
    let mut b = B::fresh();
    let mut model: BTreeMap<IncidentId, Vec<Event>> = BTreeMap::new();
    let mut clock = 0u64;
    let mut fresh_events = |count: u64| {
        clock += count;
        note_events(clock, count)
    };
    for op in ops {
        match op {
            Op::Append {
                incident,
                count,
                stale,
            } => {
                let id = nth_id(incident);
                let have = model.get(&id).map_or(0, |e| e.len() as u64);
                let expected = if stale { have + 1 } else { have };
                let events = fresh_events(count);
                let result = b.store().append(id, Version::new(expected), &events);
                if stale {
                    assert!(matches!(result, Err(Error::Conflict(_))), "{result:?}");
                } else {
                    assert_eq!(result.unwrap(), Version::new(have + count));
                    model.entry(id).or_default().extend(events);
                }
            }
            Op::Batch(entries) => {
                let mut next: BTreeMap<IncidentId, u64> = BTreeMap::new();
                let mut owned = Vec::new();
                let mut any_stale = false;
                for (incident, count, stale) in entries {
                    let id = nth_id(incident);
                    let have = *next
                        .get(&id)
                        .unwrap_or(&model.get(&id).map_or(0, |e| e.len() as u64));
                    any_stale |= stale;
                    let expected = if stale { have + 2 } else { have };
                    next.insert(id, have + count);
                    owned.push((id, Version::new(expected), fresh_events(count)));
                }
                let batch: Vec<Append<'_>> = owned
                    .iter()
                    .map(|(id, expected, events)| Append {
                        id: *id,
                        expected: *expected,
                        events,
                    })
                    .collect();
                let result = b.store().append_batch(&batch);
                if any_stale {
                    assert!(matches!(result, Err(Error::Conflict(_))), "{result:?}");
                } else {
                    result.unwrap();
                    for (id, _, events) in owned {
                        model.entry(id).or_default().extend(events);
                    }
                }
            }
            Op::Load { incident } => {
                let id = nth_id(incident);
                assert_eq!(
                    b.store().load(id).unwrap(),
                    model.get(&id).cloned().unwrap_or_default()
                );
            }
            Op::Reopen => b.reopen(),
        }
    }
    b.reopen();
    for (id, events) in &model {
        assert_eq!(&b.store().load(*id).unwrap(), events);
        assert_eq!(
            b.store().version(*id).unwrap(),
            Version::new(events.len() as u64)
        );
    }
    let total: usize = model.values().map(Vec::len).sum();
    assert_eq!(scanned(b.store()).len(), total);
}

/// Runs the whole suite against a backend.
macro_rules! conformance {
    ($module:ident, $backend:ty, $cases:expr) => {
        mod $module {
            use super::*;

            #[test]
            fn round_trip() {
                if !<$backend as Backend>::available() {
                    return;
                }
                super::round_trip::<$backend>();
            }
            #[test]
            fn ordering_is_kept_per_incident() {
                if !<$backend as Backend>::available() {
                    return;
                }
                super::ordering_is_kept_per_incident::<$backend>();
            }
            #[test]
            fn stale_version_is_a_conflict_and_records_nothing() {
                if !<$backend as Backend>::available() {
                    return;
                }
                super::stale_version_is_a_conflict_and_records_nothing::<$backend>();
            }
            #[test]
            fn batches_are_all_or_nothing() {
                if !<$backend as Backend>::available() {
                    return;
                }
                super::batches_are_all_or_nothing::<$backend>();
            }
            #[test]
            fn exactly_one_of_two_racers_wins() {
                if !<$backend as Backend>::available() {
                    return;
                }
                super::exactly_one_of_two_racers_wins::<$backend>();
            }
            #[test]
            fn concurrent_appenders_on_different_incidents_all_land() {
                if !<$backend as Backend>::available() {
                    return;
                }
                super::concurrent_appenders_on_different_incidents_all_land::<$backend>();
            }
            #[test]
            fn large_events_round_trip() {
                if !<$backend as Backend>::available() {
                    return;
                }
                super::large_events_round_trip::<$backend>();
            }
            #[test]
            fn many_incidents_and_reopen() {
                if !<$backend as Backend>::available() {
                    return;
                }
                super::many_incidents_and_reopen::<$backend>();
            }

            proptest! {
                #![proptest_config(ProptestConfig::with_cases($cases))]
                #[test]
                fn agrees_with_model(ops in prop::collection::vec(arb_op(), 1..40)) {
                    if <$backend as Backend>::available() {
                        super::agrees_with_model::<$backend>(ops);
                    }
                }
            }
        }
    };
}

conformance!(memory, Memory, 128);
conformance!(file, Files, 48);
conformance!(file_small_segments, SmallSegments, 32);
#[cfg(feature = "sqlite")]
conformance!(sqlite, Sqlite, 24);
#[cfg(feature = "sqlite")]
conformance!(sqlite_tenant, SqliteTenant, 12);
#[cfg(feature = "postgres")]
conformance!(postgres, crate::sql::Postgres, 16);
#[cfg(feature = "postgres")]
conformance!(postgres_tenant, PostgresTenant, 8);
