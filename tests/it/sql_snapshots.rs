//! Projection snapshots on the SQL stores: a desk started from the snapshot in the database
//! and the log after it holds exactly what a full replay holds; a damaged or foreign snapshot
//! is ignored; desks sharing a database share the snapshot; a restored desk catches up from
//! the snapshot's position; a database made before the snapshot table gets it on open.
//!
//! SQLite always; PostgreSQL when a server was started (`INCIDENTS_PG_URL`, see
//! `tests/it/sql.rs`), else each PostgreSQL test says it was skipped and passes.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::Duration;
use incidents::store::{Append, FeedItem, LogPoint};
use incidents::{
    Alert, Clock, Command, Desk, Event, Filter, Incident, IncidentId, ManualClock, Resolution,
    Result, Store, Version,
};

use crate::support::{new_incident, note_events, nth_id, owner, responder, t0};

type Open<'a, S> = &'a dyn Fn() -> S;

/// Every incident of a desk, by id.
fn all<S: Store>(desk: &Desk<S, &ManualClock>) -> BTreeMap<IncidentId, Incident> {
    desk.list(&Filter::all())
        .into_iter()
        .map(|i| (i.id(), i))
        .collect()
}

/// Builds two desks on the database — one from the log alone, one the usual way (from the
/// snapshot, if one is usable) — and checks they hold the same incidents, deadline and
/// counts. Returns the second.
fn reopen_and_compare<'c, S: Store>(
    open: Open<'_, S>,
    clock: &'c ManualClock,
) -> Desk<S, &'c ManualClock> {
    let full = Desk::builder(open(), clock)
        .ignore_snapshot()
        .build()
        .unwrap();
    assert_eq!(full.opening().from_snapshot, 0);
    let expected = all(&full);
    let deadline = full.next_deadline();
    let counts = full.counts();
    drop(full);
    let desk = Desk::new(open(), clock).unwrap();
    let got = all(&desk);
    assert_eq!(got.len(), expected.len());
    for (id, incident) in &expected {
        assert_eq!(got.get(id), Some(incident), "incident {id} differs");
    }
    assert_eq!(desk.next_deadline(), deadline);
    assert_eq!(desk.counts(), counts);
    desk
}

/// Some work on `desk`: `n` openings, acknowledgements, a resolution, alerts, and ticks
/// that fire timers. Returns the ids opened.
fn work<S: Store>(desk: &Desk<S, &ManualClock>, clock: &ManualClock, n: usize) -> Vec<IncidentId> {
    let mut ids = Vec::new();
    for k in 0..n {
        let id = desk.open(&owner(), new_incident()).unwrap().id;
        match k % 4 {
            0 => {
                desk.act(id, &responder(), Command::Acknowledge).unwrap();
            }
            1 => {
                desk.act(id, &owner(), Command::Acknowledge).unwrap();
                desk.act(id, &owner(), Command::resolve(Resolution::Fixed))
                    .unwrap();
            }
            2 => {
                let alert = Alert::firing(
                    "uptime",
                    &format!("probe-{}", k % 3),
                    "till",
                    "Till offline",
                    clock.now() - Duration::minutes(1),
                )
                .unwrap();
                desk.ingest(&alert).unwrap();
            }
            _ => {}
        }
        ids.push(id);
    }
    clock.advance(Duration::minutes(20));
    desk.tick(clock.now()).unwrap();
    ids
}

/// The number of events in the log after `point` (by the feed).
fn events_after<S: Store>(store: &S, point: LogPoint) -> u64 {
    let mut n = 0;
    let mut after = point.position();
    while let Some(page) = store.feed(after, 1000).unwrap() {
        let Some(last) = page.last() else { break };
        after = last.position;
        n += page.len() as u64;
    }
    n
}

// ---------------------------------------------------------------------------------------------
// The scenarios, for any SQL store

/// A snapshot, more work, a reopen: the same as a full replay, with only the tail replayed;
/// then a snapshot of the restored desk, and a reopen that replays nothing.
fn snapshot_plus_tail_equals_a_full_replay<S: Store>(open: Open<'_, S>) {
    let clock = ManualClock::new(t0());
    let desk = Desk::new(open(), &clock).unwrap();
    assert_eq!(desk.opening().from_snapshot, 0);
    work(&desk, &clock, 12);
    let report = desk.save_snapshot().unwrap().unwrap();
    assert_eq!(report.incidents, desk.counts().total);
    assert!(report.point.position() > 0);
    work(&desk, &clock, 5);
    let tail = events_after(desk.store(), report.point);
    assert!(tail >= 5, "the tail holds the later work: {tail}");
    drop(desk);

    let desk = reopen_and_compare(open, &clock);
    let opening = desk.opening().clone();
    assert_eq!(opening.snapshot_ignored, None);
    assert_eq!(opening.from_snapshot, report.incidents);
    assert!(opening.from_snapshot > 0);
    assert_eq!(opening.events_replayed, tail);

    // The restored desk works on, snapshots again; the next desk replays nothing.
    work(&desk, &clock, 3);
    let second = desk.save_snapshot().unwrap().unwrap();
    assert!(second.point.position() > report.point.position());
    assert_eq!(second.incidents, desk.counts().total);
    drop(desk);
    let again = reopen_and_compare(open, &clock);
    assert_eq!(again.opening().snapshot_ignored, None);
    assert_eq!(again.opening().from_snapshot, second.incidents);
    assert_eq!(again.opening().events_replayed, 0);
}

/// A snapshotted database: some work in the snapshot, 3 openings after it. Returns the
/// snapshot and the number of incidents in it.
fn snapshotted<S: Store>(open: Open<'_, S>, clock: &ManualClock) -> (Vec<u8>, usize) {
    let desk = Desk::new(open(), clock).unwrap();
    work(&desk, clock, 10);
    let incidents = desk.save_snapshot().unwrap().unwrap().incidents;
    assert_eq!(incidents, desk.counts().total);
    assert!(incidents >= 10);
    for _ in 0..3 {
        desk.open(&owner(), new_incident()).unwrap();
    }
    (desk.store().load_snapshot().unwrap().unwrap(), incidents)
}

/// Replaces the snapshot in the database with `bytes` and checks a new desk ignores it,
/// says why (`why`), and holds what a full replay holds.
fn ignored<S: Store>(open: Open<'_, S>, clock: &ManualClock, bytes: &[u8], why: &str) {
    open().save_snapshot(bytes).unwrap();
    let desk = reopen_and_compare(open, clock);
    let reason = desk.opening().snapshot_ignored.clone().unwrap_or_default();
    assert!(!reason.is_empty(), "the snapshot was not ignored");
    assert!(reason.contains(why), "{reason:?} does not say {why:?}");
    assert_eq!(desk.opening().from_snapshot, 0);
}

/// Damaged, cut short, not a snapshot, another database's: each is ignored for the log;
/// the good one, put back, is used again.
fn damaged_and_foreign_snapshots_are_ignored<S: Store>(open: Open<'_, S>, other: Open<'_, S>) {
    let clock = ManualClock::new(t0());
    let (good, incidents) = snapshotted(open, &clock);
    let (foreign, _) = snapshotted(other, &clock);
    assert_ne!(good, foreign);

    let mut flipped = good.clone();
    let at = flipped.len() - 20;
    flipped[at] ^= 0x20;
    ignored(open, &clock, &flipped, "checksum");
    ignored(open, &clock, &good[..good.len() - 5], "bytes of incidents");
    ignored(open, &clock, &good[..40], "");
    ignored(open, &clock, b"", "not a projection snapshot");
    ignored(
        open,
        &clock,
        b"not a snapshot at all",
        "not a projection snapshot",
    );
    ignored(open, &clock, &foreign, "does not reach the point");

    open().save_snapshot(&good).unwrap();
    let desk = reopen_and_compare(open, &clock);
    assert_eq!(desk.opening().snapshot_ignored, None);
    assert_eq!(desk.opening().from_snapshot, incidents);
    assert_eq!(desk.opening().events_replayed, 3);
    assert_eq!(desk.counts().total, incidents + 3);
}

/// Desk A snapshots, desk B (same database) appends, a new desk starts from A's snapshot and
/// the tail (B's work among it) and holds what a full replay holds.
fn two_desks_share_the_snapshot<S: Store>(open: Open<'_, S>) {
    let clock = ManualClock::new(t0());
    let a = Desk::new(open(), &clock).unwrap();
    let b = Desk::new(open(), &clock).unwrap();
    let from_a = work(&a, &clock, 6);
    let from_b = work(&b, &clock, 4);
    // A's snapshot catches up with B's work first.
    let report = a.save_snapshot().unwrap().unwrap();
    assert_eq!(report.incidents, a.counts().total);
    assert!(
        report.incidents >= 10,
        "A's snapshot holds B's incidents too"
    );
    // B works on, on its own incidents and A's.
    b.catch_up().unwrap();
    for id in from_a.iter().chain(&from_b).take(5) {
        b.act(*id, &owner(), Command::note("seen from the till").unwrap())
            .unwrap();
    }
    work(&b, &clock, 3);
    let tail = events_after(b.store(), report.point);
    assert!(tail >= 3);
    drop((a, b));

    let c = reopen_and_compare(open, &clock);
    assert_eq!(c.opening().snapshot_ignored, None);
    assert_eq!(c.opening().from_snapshot, report.incidents);
    assert_eq!(c.opening().events_replayed, tail);
    assert!(c.counts().total >= report.incidents + 3);
}

/// A store that counts the feed items it hands out, and passes everything else on (the
/// snapshot methods too).
struct Counting<S> {
    inner: S,
    fed: AtomicU64,
}

impl<S> Counting<S> {
    fn new(inner: S) -> Self {
        Counting {
            inner,
            fed: AtomicU64::new(0),
        }
    }

    fn fed(&self) -> u64 {
        self.fed.load(Ordering::SeqCst)
    }
}

impl<S: Store> Store for Counting<S> {
    fn append(&self, id: IncidentId, expected: Version, events: &[Event]) -> Result<Version> {
        self.inner.append(id, expected, events)
    }
    fn append_batch(&self, batch: &[Append<'_>]) -> Result<Vec<Version>> {
        self.inner.append_batch(batch)
    }
    fn load(&self, id: IncidentId) -> Result<Vec<Event>> {
        self.inner.load(id)
    }
    fn version(&self, id: IncidentId) -> Result<Version> {
        self.inner.version(id)
    }
    fn scan(&self, visit: &mut dyn FnMut(IncidentId, Version, &Event) -> Result<()>) -> Result<()> {
        self.inner.scan(visit)
    }
    fn feed(&self, after: u64, limit: usize) -> Result<Option<Vec<FeedItem>>> {
        let page = self.inner.feed(after, limit)?;
        if let Some(page) = &page {
            self.fed.fetch_add(page.len() as u64, Ordering::SeqCst);
        }
        Ok(page)
    }
    fn log_end(&self) -> Result<Option<LogPoint>> {
        self.inner.log_end()
    }
    fn has_point(&self, point: LogPoint) -> Result<bool> {
        self.inner.has_point(point)
    }
    fn scan_after(
        &self,
        point: LogPoint,
        visit: &mut dyn FnMut(IncidentId, Version, &Event) -> Result<()>,
    ) -> Result<bool> {
        self.inner.scan_after(point, visit)
    }
    fn save_snapshot(&self, bytes: &[u8]) -> Result<()> {
        self.inner.save_snapshot(bytes)
    }
    fn load_snapshot(&self) -> Result<Option<Vec<u8>>> {
        self.inner.load_snapshot()
    }
}

/// A desk restored from a snapshot catches up from the snapshot's position: its first
/// catch-up reads the tail only (and applies none of it: the tail is in the projection),
/// then exactly what another desk appends.
fn a_restored_desk_catches_up_from_the_snapshot<S: Store>(open: Open<'_, S>) {
    let clock = ManualClock::new(t0());
    let a = Desk::new(open(), &clock).unwrap();
    work(&a, &clock, 20);
    let report = a.save_snapshot().unwrap().unwrap();
    let ids = work(&a, &clock, 2);
    let tail = events_after(a.store(), report.point);
    let total = events_after(a.store(), LogPoint::new(0, 0));
    assert!(total > tail + 20, "most of the log is before the snapshot");

    let c = Desk::new(Counting::new(open()), &clock).unwrap();
    assert_eq!(c.opening().from_snapshot, report.incidents);
    assert_eq!(c.opening().events_replayed, tail);
    assert_eq!(
        c.store().fed(),
        0,
        "the restore reads the tail with scan_after"
    );
    let caught = c.catch_up().unwrap();
    assert_eq!(
        (caught.applied, caught.new_incidents, caught.reloaded),
        (0, 0, 0),
        "the tail is in the projection already"
    );
    assert_eq!(
        c.store().fed(),
        tail,
        "the first catch-up reads the tail, not the log"
    );

    // Another desk's next events: read and applied, nothing more.
    let before = a.get(ids[1]).unwrap().version();
    a.act(ids[1], &owner(), Command::note("the till is back").unwrap())
        .unwrap();
    let noted = a.get(ids[1]).unwrap().version().get() - before.get();
    assert!(noted >= 1);
    a.open(&owner(), new_incident()).unwrap();
    let caught = c.catch_up().unwrap();
    assert_eq!(caught.applied as u64, noted);
    assert_eq!(caught.new_incidents, 1);
    assert_eq!(caught.reloaded, 0);
    assert_eq!(c.store().fed(), tail + noted + 1);
    assert_eq!(c.get(ids[1]).unwrap(), a.get(ids[1]).unwrap());

    // A desk built from the log alone starts catching up where the log ended when it read
    // it: its first catch-up reads nothing.
    let full = Desk::builder(Counting::new(open()), &clock)
        .ignore_snapshot()
        .build()
        .unwrap();
    let caught = full.catch_up().unwrap();
    assert_eq!(
        (caught.applied, caught.new_incidents, caught.reloaded),
        (0, 0, 0)
    );
    assert_eq!(full.store().fed(), 0);
}

/// Two desks append from two threads (each its own connection) while a third takes
/// snapshots: every snapshot taken mid-flight, with the log after it, is the log.
fn snapshots_taken_while_other_desks_append_miss_nothing<S: Store>(open: Open<'_, S>, each: usize) {
    let clock = ManualClock::new(t0());
    let watcher = Desk::new(open(), &clock).unwrap();
    let writers = [
        Desk::new(open(), &clock).unwrap(),
        Desk::new(open(), &clock).unwrap(),
    ];
    for _ in 0..10 {
        writers[0].open(&owner(), new_incident()).unwrap();
    }
    let working = AtomicU64::new(2);
    let mut taken = Vec::new();
    std::thread::scope(|scope| {
        for desk in &writers {
            let working = &working;
            scope.spawn(move || {
                for n in 0..each {
                    let id = desk.open(&owner(), new_incident()).unwrap().id;
                    if n % 3 == 0 {
                        desk.act(id, &owner(), Command::Acknowledge).unwrap();
                    }
                }
                working.fetch_sub(1, Ordering::SeqCst);
            });
        }
        while working.load(Ordering::SeqCst) > 0 {
            watcher.save_snapshot().unwrap().unwrap();
            taken.push(watcher.store().load_snapshot().unwrap().unwrap());
        }
    });
    drop((watcher, writers));
    assert!(!taken.is_empty());
    let step = taken.len().div_ceil(8);
    for bytes in taken.iter().step_by(step) {
        open().save_snapshot(bytes).unwrap();
        let desk = reopen_and_compare(open, &clock);
        assert_eq!(desk.opening().snapshot_ignored, None);
        assert!(desk.opening().from_snapshot >= 10);
        assert_eq!(desk.counts().total, 10 + 2 * each);
    }
}

/// The store's side alone: points, their marks, the scan after a point (paged: more
/// events than one page), a point of another database, the snapshot row replaced.
fn log_points<S: Store>(open: Open<'_, S>, other: Open<'_, S>) {
    let store = open();
    let start = store.log_end().unwrap().unwrap();
    assert_eq!(start.position(), 0);
    assert!(store.has_point(start).unwrap());
    assert!(!store.has_point(LogPoint::new(0, start.mark() ^ 1)).unwrap());
    let mut seen = 0;
    assert!(
        store
            .scan_after(start, &mut |_, _, _| {
                seen += 1;
                Ok(())
            })
            .unwrap()
    );
    assert_eq!(seen, 0);
    assert_eq!(store.load_snapshot().unwrap(), None);

    // 25,000 events of 50 incidents, in five batches: more than one page of the scan.
    let mut points = vec![start];
    for round in 0..5u64 {
        let notes: Vec<Vec<Event>> = (0..50).map(|i| note_events(round * 100 + i, 100)).collect();
        let batch: Vec<Append<'_>> = (0..50)
            .map(|i| Append {
                id: nth_id(1000 + i),
                expected: Version::new(round * 100),
                events: &notes[i as usize],
            })
            .collect();
        store.append_batch(&batch).unwrap();
        let end = store.log_end().unwrap().unwrap();
        assert!(end.position() > points.last().unwrap().position());
        assert!(store.has_point(end).unwrap());
        points.push(end);
    }
    let end = *points.last().unwrap();
    let last = store.feed(end.position() - 1, 10).unwrap().unwrap();
    assert_eq!(last.len(), 1);
    assert_eq!(
        last[0].position,
        end.position(),
        "the end is the last row's position"
    );

    // Not points: a wrong mark, a position the log does not reach, an earlier point's
    // mark at a later position.
    assert!(
        !store
            .has_point(LogPoint::new(end.position(), end.mark() ^ 1))
            .unwrap()
    );
    assert!(
        !store
            .has_point(LogPoint::new(end.position() + 1, end.mark()))
            .unwrap()
    );
    assert!(
        !store
            .has_point(LogPoint::new(u64::MAX, end.mark()))
            .unwrap()
    );
    assert!(
        !store
            .has_point(LogPoint::new(end.position(), points[1].mark()))
            .unwrap()
    );
    let mut visited = 0;
    let bad = LogPoint::new(points[2].position(), points[2].mark() ^ 1);
    assert!(
        !store
            .scan_after(bad, &mut |_, _, _| {
                visited += 1;
                Ok(())
            })
            .unwrap()
    );
    assert_eq!(visited, 0, "nothing visited after a point not of this log");

    // The scan after each point: exactly the events after it, in feed order, each
    // incident's in version order.
    for (n, point) in points.iter().enumerate() {
        let mut got = Vec::new();
        assert!(
            store
                .scan_after(*point, &mut |id, version, event| {
                    got.push((id, version, event.clone()));
                    Ok(())
                })
                .unwrap()
        );
        assert_eq!(got.len(), (5 - n) * 5000, "after point {n}");
        let mut expected = Vec::new();
        let mut after = point.position();
        while let Some(page) = store.feed(after, 7000).unwrap() {
            let Some(last) = page.last() else { break };
            after = last.position;
            expected.extend(page.into_iter().map(|i| (i.incident, i.version, i.event)));
        }
        assert!(got == expected, "after point {n}: not the feed's order");
    }
    // An error from `visit` stops the scan and is passed on.
    let mut calls = 0;
    let stopped = store.scan_after(start, &mut |_, _, _| {
        calls += 1;
        Err(incidents::Error::Invalid(incidents::error::Invalid::new(
            "test", "stop",
        )))
    });
    assert!(stopped.is_err());
    assert_eq!(calls, 1);

    // Another database's points are not this one's, and the other way round.
    let elsewhere = other();
    elsewhere
        .append(nth_id(7), Version::ZERO, &note_events(0, 3))
        .unwrap();
    let foreign = elsewhere.log_end().unwrap().unwrap();
    assert!(!store.has_point(foreign).unwrap());
    assert!(!elsewhere.has_point(points[1]).unwrap());

    // The snapshot row: saved, replaced, read back by another connection.
    store.save_snapshot(b"first").unwrap();
    store.save_snapshot(b"second, longer").unwrap();
    assert_eq!(
        open().load_snapshot().unwrap().as_deref(),
        Some(&b"second, longer"[..])
    );
    store.save_snapshot(&[0, 255, 10, 13]).unwrap();
    assert_eq!(
        store.load_snapshot().unwrap().as_deref(),
        Some(&[0, 255, 10, 13][..])
    );
    assert_eq!(elsewhere.load_snapshot().unwrap(), None);
}

/// A database made by the schema setup of the version before snapshots (the SQL as it was)
/// gets the snapshot table on open, and keeps its events.
fn a_database_made_before_snapshots<S: Store>(open: Open<'_, S>) {
    let clock = ManualClock::new(t0());
    let (ids, total) = {
        let desk = Desk::new(open(), &clock).unwrap();
        assert_eq!(desk.store().load_snapshot().unwrap(), None);
        (work(&desk, &clock, 4), desk.counts().total)
    };
    let desk = reopen_and_compare(open, &clock);
    assert_eq!(desk.counts().total, total);
    desk.save_snapshot().unwrap().unwrap();
    desk.act(ids[3], &owner(), Command::Acknowledge).unwrap();
    drop(desk);
    let desk = reopen_and_compare(open, &clock);
    assert_eq!(desk.opening().from_snapshot, total);
    assert_eq!(desk.opening().events_replayed, 1);
}

// ---------------------------------------------------------------------------------------------
// SQLite

#[cfg(feature = "sqlite")]
mod sqlite {
    use incidents::store::SqliteStore;

    use super::*;

    fn opener(path: &std::path::Path) -> impl Fn() -> SqliteStore + '_ {
        move || SqliteStore::open(path).unwrap()
    }

    #[test]
    fn sqlite_snapshot_plus_tail_equals_a_full_replay() {
        let dir = tempfile::tempdir().unwrap();
        snapshot_plus_tail_equals_a_full_replay(&opener(&dir.path().join("shop.db")));
    }

    #[test]
    fn sqlite_damaged_and_foreign_snapshots_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        damaged_and_foreign_snapshots_are_ignored(
            &opener(&dir.path().join("shop.db")),
            &opener(&dir.path().join("other.db")),
        );
    }

    #[test]
    fn sqlite_two_desks_on_one_file_share_the_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        two_desks_share_the_snapshot(&opener(&dir.path().join("shop.db")));
    }

    #[test]
    fn sqlite_a_restored_desk_catches_up_from_the_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        a_restored_desk_catches_up_from_the_snapshot(&opener(&dir.path().join("shop.db")));
    }

    #[test]
    fn sqlite_snapshots_taken_while_other_desks_append_miss_nothing() {
        let dir = tempfile::tempdir().unwrap();
        snapshots_taken_while_other_desks_append_miss_nothing(
            &opener(&dir.path().join("shop.db")),
            60,
        );
    }

    #[test]
    fn sqlite_log_points() {
        let dir = tempfile::tempdir().unwrap();
        log_points(
            &opener(&dir.path().join("shop.db")),
            &opener(&dir.path().join("other.db")),
        );
        // One row, however many saves.
        let conn = rusqlite::Connection::open(dir.path().join("shop.db")).unwrap();
        let rows: i64 = conn
            .query_row("SELECT COUNT(*) FROM incident_snapshots", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 1);
    }

    /// The schema setup of the version before snapshots, as it was.
    const OLD_SCHEMA: &str = "
        CREATE TABLE IF NOT EXISTS incidents_schema (version INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS incident_events (
            position INTEGER PRIMARY KEY AUTOINCREMENT,
            incident BLOB NOT NULL,
            version  INTEGER NOT NULL,
            schema   INTEGER NOT NULL,
            event    TEXT NOT NULL,
            UNIQUE (incident, version)
        );
        INSERT INTO incidents_schema (version) VALUES (1);";

    #[test]
    fn sqlite_a_database_made_before_snapshots_gets_the_table_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let conn = rusqlite::Connection::open(&path).unwrap();
            conn.pragma_update(None, "journal_mode", "WAL").unwrap();
            conn.execute_batch(OLD_SCHEMA).unwrap();
        }
        let table = |path: &std::path::Path| -> i64 {
            rusqlite::Connection::open(path)
                .unwrap()
                .query_row(
                    "SELECT COUNT(*) FROM sqlite_master WHERE name = 'incident_snapshots'",
                    [],
                    |r| r.get(0),
                )
                .unwrap()
        };
        assert_eq!(table(&path), 0);
        a_database_made_before_snapshots(&opener(&path));
        assert_eq!(table(&path), 1);
    }
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL (skipped without a server)

#[cfg(feature = "postgres")]
mod postgres {
    use incidents::store::PostgresStore;

    use super::*;
    use crate::sql::{fresh_database, pg_url, server_up};

    /// A fresh database on the test server, and an opener for it.
    fn database() -> Option<(std::sync::RwLockReadGuard<'static, ()>, String)> {
        let base = pg_url()?;
        let up = server_up();
        Some((up, fresh_database(&base)))
    }

    fn opener(url: &str) -> impl Fn() -> PostgresStore + '_ {
        move || PostgresStore::connect(url).unwrap()
    }

    #[test]
    fn postgres_snapshot_plus_tail_equals_a_full_replay() {
        let Some((_up, url)) = database() else { return };
        snapshot_plus_tail_equals_a_full_replay(&opener(&url));
    }

    #[test]
    fn postgres_damaged_and_foreign_snapshots_are_ignored() {
        let Some((_up, url)) = database() else { return };
        let other = fresh_database(&pg_url().unwrap());
        damaged_and_foreign_snapshots_are_ignored(&opener(&url), &opener(&other));
    }

    #[test]
    fn postgres_two_desks_on_one_database_share_the_snapshot() {
        let Some((_up, url)) = database() else { return };
        two_desks_share_the_snapshot(&opener(&url));
    }

    #[test]
    fn postgres_a_restored_desk_catches_up_from_the_snapshot() {
        let Some((_up, url)) = database() else { return };
        a_restored_desk_catches_up_from_the_snapshot(&opener(&url));
    }

    #[test]
    fn postgres_snapshots_taken_while_other_desks_append_miss_nothing() {
        let Some((_up, url)) = database() else { return };
        snapshots_taken_while_other_desks_append_miss_nothing(&opener(&url), 150);
    }

    #[test]
    fn postgres_log_points() {
        let Some((_up, url)) = database() else { return };
        let other = fresh_database(&pg_url().unwrap());
        log_points(&opener(&url), &opener(&other));
        let mut client = ::postgres::Client::connect(&url, ::postgres::NoTls).unwrap();
        let rows: i64 = client
            .query_one("SELECT COUNT(*) FROM incident_snapshots", &[])
            .unwrap()
            .get(0);
        assert_eq!(rows, 1);
    }

    /// The log's end is what the feed returns: a row an append transaction has written but
    /// not committed is not before it, and the scan after it finds the row once committed.
    #[test]
    fn postgres_the_log_end_is_the_last_committed_row() {
        let Some((_up, url)) = database() else { return };
        let store = PostgresStore::connect(&url).unwrap();
        store
            .append(nth_id(1), Version::ZERO, &note_events(0, 1))
            .unwrap();
        let end = store.log_end().unwrap().unwrap();
        // An append in flight, as the store makes one: the tenant's counter row locked and
        // moved on, the row written, not committed.
        let mut client = ::postgres::Client::connect(&url, ::postgres::NoTls).unwrap();
        let mut tx = client.transaction().unwrap();
        let at = i64::try_from(end.position()).unwrap();
        let second: i64 = tx
            .query_one(
                "UPDATE incident_tenants SET last_position = last_position + 1
                 WHERE tenant = '' RETURNING last_position",
                &[],
            )
            .unwrap()
            .get(0);
        tx.execute(
            "INSERT INTO incident_events (tenant, position, incident, version, schema, event)
             SELECT '', $3, $1, 1, schema, event FROM incident_events
             WHERE tenant = '' AND position = $2",
            &[&&nth_id(2).as_bytes()[..], &at, &second],
        )
        .unwrap();
        assert!(second > at);
        assert_eq!(
            store.log_end().unwrap(),
            Some(end),
            "not committed: not in the log"
        );
        let mut seen = Vec::new();
        assert!(
            store
                .scan_after(end, &mut |id, _, _| {
                    seen.push(id);
                    Ok(())
                })
                .unwrap()
        );
        assert!(seen.is_empty());
        tx.commit().unwrap();
        let after = store.log_end().unwrap().unwrap();
        assert_eq!(after.position(), u64::try_from(second).unwrap());
        assert!(store.has_point(end).unwrap() && store.has_point(after).unwrap());
        assert!(
            store
                .scan_after(end, &mut |id, _, _| {
                    seen.push(id);
                    Ok(())
                })
                .unwrap()
        );
        assert_eq!(seen, vec![nth_id(2)]);
    }

    /// The schema setup of the version before snapshots, as it was.
    const OLD_SCHEMA: &str = "
        CREATE TABLE IF NOT EXISTS incidents_schema (version INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS incident_events (
            position BIGSERIAL PRIMARY KEY,
            incident BYTEA NOT NULL,
            version  BIGINT NOT NULL,
            schema   SMALLINT NOT NULL,
            event    TEXT NOT NULL,
            UNIQUE (incident, version)
        );
        INSERT INTO incidents_schema (version) VALUES (1);";

    #[test]
    fn postgres_a_database_made_before_snapshots_gets_the_table_on_open() {
        let Some((_up, url)) = database() else { return };
        let table = || -> i64 {
            ::postgres::Client::connect(&url, ::postgres::NoTls)
                .unwrap()
                .query_one(
                    "SELECT COUNT(*) FROM information_schema.tables
                     WHERE table_name = 'incident_snapshots'",
                    &[],
                )
                .unwrap()
                .get(0)
        };
        {
            let mut client = ::postgres::Client::connect(&url, ::postgres::NoTls).unwrap();
            client.batch_execute(OLD_SCHEMA).unwrap();
        }
        assert_eq!(table(), 0);
        a_database_made_before_snapshots(&opener(&url));
        assert_eq!(table(), 1);
    }
}
