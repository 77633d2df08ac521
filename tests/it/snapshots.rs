//! Projection snapshots: a desk started from a snapshot and the log's tail holds exactly what
//! a full replay holds — at random cut points, with the desk busy while it is taken, and after
//! every way a snapshot can go wrong (cut short by a crash, damaged, another store's, an older
//! layout, a log cut since), each of which must be ignored in favour of the log.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use chrono::Duration;
use incidents::lifecycle::Notification;
use incidents::notify::DeliveryError;
use incidents::store::file::{Durability, FileStoreOptions, SNAPSHOT_FILE};
use incidents::{
    Actor, Alert, Clock, Command, Desk, FileStore, Filter, Incident, IncidentId, ManualClock,
    MemoryStore, Notifier, Severity, Store,
};
use proptest::prelude::*;

use crate::support::{arb_actor, arb_command, new_incident, owner, t0};

/// A store that does not flush (fast) and starts a new segment every 4 KiB, so snapshots
/// fall at segment starts and their marks reach back across segments.
fn buffered(dir: &Path) -> FileStore {
    FileStore::open_with(
        dir,
        FileStoreOptions::new()
            .durability(Durability::Buffered)
            .segment_bytes(4096),
    )
    .unwrap()
}

/// Every incident of a desk, by id.
fn all(desk: &Desk<FileStore, &ManualClock>) -> BTreeMap<IncidentId, Incident> {
    desk.list(&Filter::all())
        .into_iter()
        .map(|i| (i.id(), i))
        .collect()
}

/// Reopens `dir` twice — from its snapshot and from the log alone — and checks that both
/// desks hold the same incidents, deadlines and counts. Returns the snapshot desk.
fn reopen_and_compare<'c>(dir: &Path, clock: &'c ManualClock) -> Desk<FileStore, &'c ManualClock> {
    let full = Desk::builder(buffered(dir), clock)
        .ignore_snapshot()
        .build()
        .unwrap();
    let expected = all(&full);
    let deadline = full.next_deadline();
    let counts = full.counts();
    drop(full);
    let desk = Desk::new(buffered(dir), clock).unwrap();
    let got = all(&desk);
    assert_eq!(got.len(), expected.len());
    for (id, incident) in &expected {
        assert_eq!(got.get(id), Some(incident), "incident {id} differs");
    }
    assert_eq!(desk.next_deadline(), deadline);
    assert_eq!(desk.counts(), counts);
    desk
}

struct Accept;
impl Notifier for Accept {
    fn deliver(&self, _: &Notification) -> Result<(), DeliveryError> {
        Ok(())
    }
}

/// One step of a random workload.
#[derive(Debug, Clone)]
enum Op {
    Open(Severity),
    Act(usize, Actor, Box<Command>),
    Alert(u8, bool),
    Advance(i64),
    Dispatch,
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => crate::support::arb_severity().prop_map(Op::Open),
        6 => (0usize..8, arb_actor(), arb_command(vec![IncidentId::from_bytes([0xCC; 16])])).prop_map(|(i, a, c)| Op::Act(i, a, Box::new(c))),
        3 => (0u8..4, any::<bool>()).prop_map(|(k, r)| Op::Alert(k, r)),
        2 => (1i64..4 * 3600).prop_map(Op::Advance),
        1 => Just(Op::Dispatch),
    ]
}

fn run(desk: &Desk<FileStore, &ManualClock>, clock: &ManualClock, ops: &[Op]) {
    for op in ops {
        let ids: Vec<IncidentId> = desk.list(&Filter::all()).iter().map(Incident::id).collect();
        match op {
            Op::Open(severity) => {
                let new = incidents::NewIncident::new(
                    "Card payments fail",
                    *severity,
                    "payments",
                    incidents::Source::Alert,
                )
                .unwrap();
                desk.open(&owner(), new).unwrap();
            }
            Op::Act(i, actor, command) => {
                if !ids.is_empty() {
                    // Refused commands are part of the workload: they record nothing.
                    let _ = desk.act(ids[i % ids.len()], actor, (**command).clone());
                }
            }
            Op::Alert(key, resolved) => {
                let alert = Alert::firing(
                    "uptime",
                    &format!("probe-{key}"),
                    "till",
                    "Till offline",
                    clock.now() - Duration::minutes(1),
                )
                .unwrap();
                let alert = if *resolved { alert.resolved() } else { alert };
                desk.ingest(&alert).unwrap();
            }
            Op::Advance(seconds) => {
                clock.advance(Duration::seconds(*seconds));
                desk.tick(clock.now()).unwrap();
            }
            Op::Dispatch => {
                desk.dispatch(&Accept).unwrap();
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// A snapshot at a random cut, then more work, then a reopen: the same incidents as a
    /// full replay, with only the tail replayed; and a second snapshot on top of the first.
    #[test]
    fn snapshot_plus_tail_equals_a_full_replay(
        ops in prop::collection::vec(arb_op(), 1..60),
        cut in any::<prop::sample::Index>(),
        second in any::<prop::sample::Index>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(t0());
        let cut = cut.index(ops.len() + 1);
        let desk = Desk::new(buffered(dir.path()), &clock).unwrap();
        run(&desk, &clock, &ops[..cut]);
        let report = desk.save_snapshot().unwrap().unwrap();
        prop_assert_eq!(report.incidents, desk.counts().total);
        run(&desk, &clock, &ops[cut..]);
        drop(desk);

        let desk = reopen_and_compare(dir.path(), &clock);
        let opening = desk.opening().clone();
        prop_assert_eq!(opening.snapshot_ignored, None);
        prop_assert_eq!(opening.from_snapshot, report.incidents);
        // Work on the restored desk, snapshot again, reopen again.
        let more = second.index(ops.len() + 1);
        run(&desk, &clock, &ops[..more]);
        desk.save_snapshot().unwrap().unwrap();
        drop(desk);
        let again = reopen_and_compare(dir.path(), &clock);
        prop_assert_eq!(again.opening().events_replayed, 0);
    }
}

/// A workload on a desk over `dir`, snapshotted, then more work: the usual setup.
fn snapshotted(dir: &Path, clock: &ManualClock) -> usize {
    let desk = Desk::new(buffered(dir), clock).unwrap();
    for n in 0..20 {
        let id = desk.open(&owner(), new_incident()).unwrap().id;
        if n % 2 == 0 {
            desk.act(id, &owner(), Command::Acknowledge).unwrap();
        }
    }
    let saved = desk.save_snapshot().unwrap().unwrap().incidents;
    for _ in 0..3 {
        desk.open(&owner(), new_incident()).unwrap();
    }
    saved
}

#[test]
fn the_tail_is_all_that_is_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(t0());
    assert_eq!(snapshotted(dir.path(), &clock), 20);
    let desk = reopen_and_compare(dir.path(), &clock);
    assert_eq!(desk.opening().from_snapshot, 20);
    // Three openings after the snapshot, one event each.
    assert_eq!(desk.opening().events_replayed, 3);
    assert_eq!(desk.counts().total, 23);
}

/// Rewrites the snapshot file with `change` and checks the desk ignores it, says why, and
/// holds what a full replay holds.
fn ignored_after(change: impl FnOnce(&Path, Vec<u8>), why: &str) {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(t0());
    snapshotted(dir.path(), &clock);
    let path = dir.path().join(SNAPSHOT_FILE);
    let bytes = std::fs::read(&path).unwrap();
    change(&path, bytes);
    let desk = reopen_and_compare(dir.path(), &clock);
    let reason = desk.opening().snapshot_ignored.clone().unwrap_or_default();
    assert!(reason.contains(why), "{reason:?} does not say {why:?}");
    assert_eq!(desk.opening().from_snapshot, 0);
    assert_eq!(desk.counts().total, 23);
}

#[test]
fn a_snapshot_cut_short_by_a_crash_is_ignored() {
    for keep in [0, 10, 40, 200, 1000] {
        ignored_after(
            |path, bytes| std::fs::write(path, &bytes[..keep.min(bytes.len() - 1)]).unwrap(),
            "",
        );
    }
    ignored_after(
        |path, bytes| std::fs::write(path, &bytes[..bytes.len() - 5]).unwrap(),
        "bytes of incidents",
    );
}

#[test]
fn a_damaged_snapshot_is_ignored() {
    ignored_after(
        |path, mut bytes| {
            let last = bytes.len() - 20;
            bytes[last] ^= 0x20;
            std::fs::write(path, bytes).unwrap();
        },
        "checksum",
    );
    ignored_after(
        |path, _| std::fs::write(path, b"not a snapshot at all").unwrap(),
        "not a projection snapshot",
    );
}

#[test]
fn a_snapshot_of_another_layout_is_ignored() {
    ignored_after(
        |path, mut bytes| {
            let current = b"{\"format\":3,";
            let at = bytes
                .windows(current.len())
                .position(|w| w == current)
                .expect("the header names layout 3");
            bytes[at + current.len() - 2] = b'2';
            std::fs::write(path, bytes).unwrap();
        },
        "layout 2",
    );
}

/// The header is outside the payload's checksum: a count of incidents far beyond what the
/// payload holds is refused like any other mismatch, without sizing anything by it.
#[test]
fn a_header_that_claims_too_many_incidents_is_ignored() {
    for claimed in ["1000000000000", "18446744073709551615"] {
        ignored_after(
            |path, bytes| {
                let text = String::from_utf8_lossy(&bytes);
                let count = text
                    .split("\"incidents\":")
                    .nth(1)
                    .and_then(|rest| rest.split(',').next())
                    .expect("the header counts the incidents")
                    .to_owned();
                let from = format!("\"incidents\":{count},");
                let to = format!("\"incidents\":{claimed},");
                let at = bytes
                    .windows(from.len())
                    .position(|w| w == from.as_bytes())
                    .unwrap();
                let mut changed = bytes[..at].to_vec();
                changed.extend_from_slice(to.as_bytes());
                changed.extend_from_slice(&bytes[at + from.len()..]);
                std::fs::write(path, changed).unwrap();
            },
            "its header says",
        );
    }
}

#[test]
fn a_snapshot_of_another_store_is_ignored() {
    let clock = ManualClock::new(t0());
    let other = tempfile::tempdir().unwrap();
    snapshotted(other.path(), &clock);
    let foreign = std::fs::read(other.path().join(SNAPSHOT_FILE)).unwrap();
    ignored_after(
        move |path, _| std::fs::write(path, foreign).unwrap(),
        "does not reach the point",
    );
}

#[test]
fn a_snapshot_newer_than_the_log_is_ignored() {
    // The log restored from a copy taken before the snapshot: the snapshot holds incidents
    // the log does not.
    let dir = tempfile::tempdir().unwrap();
    let older = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(t0());
    {
        let desk = Desk::new(buffered(dir.path()), &clock).unwrap();
        desk.open(&owner(), new_incident()).unwrap();
    }
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), older.path().join(entry.file_name())).unwrap();
        }
    }
    {
        let desk = Desk::new(buffered(dir.path()), &clock).unwrap();
        desk.open(&owner(), new_incident()).unwrap();
        desk.save_snapshot().unwrap().unwrap();
    }
    std::fs::copy(
        dir.path().join(SNAPSHOT_FILE),
        older.path().join(SNAPSHOT_FILE),
    )
    .unwrap();
    let desk = reopen_and_compare(older.path(), &clock);
    assert_eq!(desk.counts().total, 1);
    assert!(desk.opening().snapshot_ignored.is_some());
}

#[test]
fn a_crash_before_the_rename_keeps_the_previous_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(t0());
    snapshotted(dir.path(), &clock);
    // What a crash halfway through writing the next one leaves.
    std::fs::write(
        dir.path().join("projection.snapshot.tmp"),
        b"incidents projection snapshot\n{\"format\":1,",
    )
    .unwrap();
    let desk = reopen_and_compare(dir.path(), &clock);
    assert_eq!(desk.opening().from_snapshot, 20);
    // The next snapshot replaces the leftover.
    desk.save_snapshot().unwrap().unwrap();
    drop(desk);
    let desk = reopen_and_compare(dir.path(), &clock);
    assert_eq!(desk.opening().from_snapshot, 23);
    assert_eq!(desk.opening().events_replayed, 0);
    assert!(
        FileStore::verify(dir.path()).unwrap().problems.is_empty(),
        "a snapshot beside the segments is no problem for verify"
    );
}

#[test]
fn a_snapshot_taken_while_the_desk_works_misses_nothing() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(t0());
    let desk = Arc::new(Desk::new(buffered(dir.path()), &clock).unwrap());
    for _ in 0..50 {
        desk.open(&owner(), new_incident()).unwrap();
    }
    let working = AtomicUsize::new(2);
    let mut taken = Vec::new();
    std::thread::scope(|scope| {
        for _ in 0..2 {
            let (desk, working) = (&desk, &working);
            scope.spawn(move || {
                for n in 0..200 {
                    let id = desk.open(&owner(), new_incident()).unwrap().id;
                    if n % 3 == 0 {
                        desk.act(id, &owner(), Command::Acknowledge).unwrap();
                    }
                }
                working.fetch_sub(1, Ordering::SeqCst);
            });
        }
        while working.load(Ordering::SeqCst) > 0 {
            desk.save_snapshot().unwrap().unwrap();
            taken.push(desk.store().load_snapshot().unwrap().unwrap());
        }
    });
    drop(desk);
    assert!(!taken.is_empty());
    // Every snapshot taken mid-flight, with the log's tail after it, is the log.
    let step = taken.len().div_ceil(12);
    for bytes in taken.iter().step_by(step) {
        std::fs::write(dir.path().join(SNAPSHOT_FILE), bytes).unwrap();
        let desk = reopen_and_compare(dir.path(), &clock);
        assert_eq!(desk.opening().snapshot_ignored, None);
        assert!(desk.opening().from_snapshot >= 50);
        assert_eq!(desk.counts().total, 450);
    }
}

#[test]
fn a_read_only_store_starts_from_a_snapshot_and_refuses_to_write_one() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(t0());
    snapshotted(dir.path(), &clock);
    let desk = Desk::new(FileStore::open_read_only(dir.path()).unwrap(), &clock).unwrap();
    assert_eq!(desk.opening().from_snapshot, 20);
    assert!(matches!(
        desk.save_snapshot(),
        Err(incidents::Error::ReadOnly { .. })
    ));
}

#[test]
fn a_memory_store_keeps_no_snapshot() {
    let desk = Desk::new(MemoryStore::new(), ManualClock::new(t0())).unwrap();
    desk.open(&owner(), new_incident()).unwrap();
    assert_eq!(desk.save_snapshot().unwrap(), None);
    assert_eq!(desk.opening().events_replayed, 0);
}

/// The snapshot encoding of the incidents in the format fixture (`tests/fixtures/store-v1`:
/// three incidents through a script of commands), pinned. A change to any part of the
/// incident's fold changes these bytes: bump `FORMAT` in `src/desk/snapshot.rs` (so
/// snapshots written by the old layout are ignored, not misread), then regenerate with
/// `UPDATE_SNAPSHOT_FIXTURE=1 cargo test --test it snapshots::`. The incidents are written
/// in the order of their ids, so the same projection always makes the same bytes.
#[test]
fn the_snapshot_layout_is_pinned() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(fixture.join("store-v1")).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
        }
    }
    let clock = ManualClock::new(t0());
    let desk = Desk::new(FileStore::open(dir.path()).unwrap(), &clock).unwrap();
    let written = desk.save_snapshot().unwrap().unwrap();
    assert_eq!(written.incidents, 3);
    let bytes = desk.store().load_snapshot().unwrap().unwrap();
    // Past the two text lines (the name and the header, which holds log points and the
    // crate's version): the tables and the incidents.
    let mut lines = bytes.splitn(3, |&b| b == b'\n');
    assert_eq!(lines.next().unwrap(), b"incidents projection snapshot");
    let header: serde_json::Value = serde_json::from_slice(lines.next().unwrap()).unwrap();
    assert_eq!(header["format"], 3);
    let payload = lines.next().unwrap();
    let got: String = payload
        .chunks(32)
        .map(|line| line.iter().map(|b| format!("{b:02x}")).collect::<String>() + "\n")
        .collect();
    let pinned = fixture.join("snapshot-v3.hex");
    if std::env::var_os("UPDATE_SNAPSHOT_FIXTURE").is_some() {
        std::fs::write(&pinned, &got).unwrap();
    }
    let expected = std::fs::read_to_string(&pinned).unwrap();
    assert!(
        got == expected,
        "the snapshot layout changed: bump FORMAT in src/desk/snapshot.rs, then regenerate \
         tests/fixtures/snapshot-v3.hex with UPDATE_SNAPSHOT_FIXTURE=1"
    );
    // And it reads back: a desk from this snapshot holds what the log holds.
    drop(desk);
    let desk = reopen_and_compare(dir.path(), &clock);
    assert_eq!(desk.opening().from_snapshot, written.incidents);
}

/// Every part of an incident's fold, and the rare ones kept as JSON inside a binary
/// record (a breach, a review's lists, a reporter), read back from a snapshot as a replay
/// builds them: signals with labels, a description, a group and a reporter; a merge; owner
/// handovers and responders; tasks, a review, feedback; a breach; an impact and a public
/// title; vendor waits; notifications requested and delivered.
#[test]
fn every_part_of_an_incident_reads_back_from_a_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(t0());
    let desk = Desk::new(buffered(dir.path()), &clock).unwrap();
    let staff = Actor::new("dana", "Dana Cohen", incidents::Role::Responder).unwrap();
    let report = Alert::report(
        incidents::Source::CustomerReport,
        incidents::intake::Reporter::new("Yossi")
            .unwrap()
            .with_contact("yossi@example.com")
            .unwrap(),
        "checkout-blank",
        "online shop",
        "Order page goes blank after Pay",
        clock.now(),
    )
    .unwrap()
    .with_description("Tried twice, on a phone.\nThen on a laptop.")
    .unwrap()
    .with_label("page", "checkout")
    .unwrap()
    .with_group("shop/checkout")
    .unwrap();
    let incidents::intake::Ingested::Opened { id } = desk.ingest(&report).unwrap() else {
        panic!("the report opens an incident")
    };
    let other = desk.open(&owner(), new_incident()).unwrap().id;
    clock.advance(Duration::minutes(3));
    desk.merge(other, id, &owner()).unwrap();
    let aware = clock.now() - Duration::minutes(10);
    use incidents::regulatory::{Deadline, Phase, Recipient, Regime};
    let regime = Regime::new("shop-dpa", "Shop data breach", "Contract 7", "Card holders")
        .with_phase(Phase::new(
            "authority",
            Recipient::Authority,
            Deadline::CalendarHours(72),
        ));
    let commands = vec![
        Command::Acknowledge,
        Command::assign_owner(staff.clone()),
        Command::AddResponder { responder: owner() },
        Command::wait_for_vendor("Payment gateway", Some("CASE-7")).unwrap(),
        Command::vendor_responded(Some("fixed on their side")).unwrap(),
        Command::add_task("Call the bank", Some("dana")).unwrap(),
        Command::set_impact(Some(incidents::lifecycle::Impact::PartialOutage)),
        Command::public_title(Some("Checkout trouble")).unwrap(),
        Command::declare_breach(vec![regime], aware).unwrap(),
        Command::customer_update("Checkout works again.").unwrap(),
        Command::resolve(incidents::Resolution::Fixed),
        Command::review(
            incidents::people::Review::new("A deploy broke the page", "Test the phone view")
                .unwrap(),
        ),
        Command::feedback(5, Some("thanks")).unwrap(),
    ];
    for command in commands {
        clock.advance(Duration::minutes(2));
        desk.act(id, &owner(), command.clone())
            .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    }
    clock.advance(Duration::hours(2));
    desk.tick(clock.now()).unwrap();
    desk.dispatch(&Accept).unwrap();
    let before = desk.get(id).unwrap();
    assert!(before.breach().is_some());
    assert!(!before.outbox().is_empty());
    assert!(!before.reviews().is_empty());
    assert!(before.signals().iter().any(|s| s.signal.reporter.is_some()));
    desk.save_snapshot().unwrap().unwrap();
    drop(desk);
    let desk = reopen_and_compare(dir.path(), &clock);
    assert_eq!(desk.opening().from_snapshot, 2);
    assert_eq!(desk.opening().events_replayed, 0);
    assert_eq!(desk.get(id).unwrap(), before);
}
