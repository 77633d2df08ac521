//! The timer driver: a `Runner` thread woken by appends, backing off on store errors, stopping
//! without losing work; `Desk::run_until` on a manual clock. Nothing here sleeps: the tests
//! wait for what the runner does (a delivery, a failed append) on channels.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use chrono::Duration;
use incidents::incident::Delivery;
use incidents::lifecycle::{Audience, Notification};
use incidents::notify::DeliveryError;
use incidents::store::Append;
use incidents::store::FeedItem;
use incidents::{
    Change, Clock, Command, Desk, Error, Event, IncidentId, ManualClock, MemoryStore, NewIncident,
    Notifier, Result, Runner, Severity, Source, Store, Version,
};

use crate::support::{owner, t0};

/// Long enough for a thread on a loaded machine; only ever reached if the runner is broken.
const PATIENCE: StdDuration = StdDuration::from_secs(30);

/// Passes every notification on to the test.
struct Forward(Mutex<Sender<Notification>>);

impl Notifier for Forward {
    fn deliver(&self, n: &Notification) -> std::result::Result<(), DeliveryError> {
        let _ = self.0.lock().unwrap().send(n.clone());
        Ok(())
    }
}

fn forward() -> (Forward, Receiver<Notification>) {
    let (tx, rx) = channel();
    (Forward(Mutex::new(tx)), rx)
}

fn critical() -> NewIncident {
    NewIncident::new(
        "Till won't take cards",
        Severity::Critical,
        "POS",
        Source::StaffReport,
    )
    .unwrap()
}

type SharedDesk<S> = Arc<Desk<S, Arc<ManualClock>>>;

fn desk_on<S: Store>(store: S, clock: &Arc<ManualClock>) -> SharedDesk<S> {
    Arc::new(Desk::new(store, Arc::clone(clock)).unwrap())
}

fn is_page(n: &Notification) -> bool {
    matches!(n.audience, Audience::Recipients(_))
}

#[test]
fn an_append_wakes_the_runner_and_the_first_page_goes_out_at_once() {
    let clock = Arc::new(ManualClock::new(t0()));
    let desk = desk_on(MemoryStore::new(), &clock);
    let (notifier, inbox) = forward();
    let runner = Runner::new(Arc::clone(&desk), notifier).start().unwrap();

    // Nothing is due: the runner sleeps (up to a minute) until something is appended.
    let id = desk.open(&owner(), critical()).unwrap().id;
    let page = inbox.recv_timeout(PATIENCE).expect("the first page");
    assert!(is_page(&page) && page.incident == Some(id), "{page:?}");
    assert!(page.key.ends_with("escalation/0/0/0"), "{}", page.key);

    // Ten minutes later by the manual clock the second step is due; a wake-up makes the
    // runner look at the clock again.
    clock.advance(Duration::minutes(10));
    runner.wake();
    let second = inbox.recv_timeout(PATIENCE).expect("the second page");
    assert!(second.key.ends_with("escalation/0/0/1"), "{}", second.key);

    // Acknowledged: the chain stops; the runner fires nothing more however far time goes.
    desk.act(id, &owner(), Command::Acknowledge).unwrap();
    let stats = runner.stop();
    assert_eq!(stats.delivered, 2, "{stats:?}");
    assert_eq!(stats.errors, 0);
    assert!(stats.fired >= 2);
    let outbox = desk.get(id).unwrap().outbox().to_vec();
    assert!(
        outbox
            .iter()
            .all(|e| matches!(e.delivery, Delivery::Delivered { .. }))
    );
}

/// Delivers the first notification only once the test says so, and tells the test when it
/// has started.
struct Gate {
    started: Mutex<Sender<String>>,
    release: Mutex<Receiver<()>>,
}

impl Notifier for Gate {
    fn deliver(&self, n: &Notification) -> std::result::Result<(), DeliveryError> {
        let _ = self.started.lock().unwrap().send(n.key.clone());
        let _ = self.release.lock().unwrap().recv_timeout(PATIENCE);
        Ok(())
    }
}

#[test]
fn a_stop_during_a_delivery_records_it_and_leaves_the_rest_pending() {
    let clock = Arc::new(ManualClock::new(t0()));
    let desk = desk_on(MemoryStore::new(), &clock);
    // Two notifications due at once: the page and a customer update.
    let id = desk.open(&owner(), critical()).unwrap().id;
    desk.act(
        id,
        &owner(),
        Command::customer_update("We are on it").unwrap(),
    )
    .unwrap();
    let (started_tx, started) = channel();
    let (release, release_rx) = channel();
    let gate = Gate {
        started: Mutex::new(started_tx),
        release: Mutex::new(release_rx),
    };
    let runner = Runner::new(Arc::clone(&desk), gate).start().unwrap();
    let first = started.recv_timeout(PATIENCE).expect("a delivery starts");
    runner.request_stop();
    release.send(()).unwrap();
    let stats = runner.stop();
    assert_eq!(stats.delivered, 1, "{stats:?}");
    assert!(started.try_recv().is_err(), "nothing else was attempted");

    let outbox = desk.get(id).unwrap().outbox().to_vec();
    assert_eq!(outbox.len(), 2);
    for entry in &outbox {
        let delivered = matches!(entry.delivery, Delivery::Delivered { .. });
        let pending = matches!(entry.delivery, Delivery::Pending { .. });
        assert_eq!(delivered, entry.notification.key == first, "{entry:?}");
        assert_eq!(pending, !delivered, "never half recorded: {entry:?}");
    }

    // A new runner on the same desk delivers what was left.
    let (notifier, inbox) = forward();
    let again = Runner::new(Arc::clone(&desk), notifier).start().unwrap();
    let rest = inbox.recv_timeout(PATIENCE).expect("the pending one");
    assert_ne!(rest.key, first);
    drop(again);
}

/// A store whose appends of timer firings fail while `failing` is set, telling the test each
/// time.
struct Flaky {
    inner: MemoryStore,
    failing: AtomicBool,
    failed: Mutex<Sender<()>>,
}

impl Flaky {
    fn refuse(&self, events: &[Event]) -> Result<()> {
        let fires = events
            .iter()
            .any(|e| matches!(e.change, Change::TimerFired { .. }));
        if fires && self.failing.load(Ordering::SeqCst) {
            let _ = self.failed.lock().unwrap().send(());
            return Err(Error::Io {
                op: "append",
                path: "flaky".into(),
                source: std::io::Error::other("disk full"),
            });
        }
        Ok(())
    }
}

impl Store for Flaky {
    fn append(&self, id: IncidentId, expected: Version, events: &[Event]) -> Result<Version> {
        self.refuse(events)?;
        self.inner.append(id, expected, events)
    }
    fn append_batch(&self, batch: &[Append<'_>]) -> Result<Vec<Version>> {
        for append in batch {
            self.refuse(append.events)?;
        }
        self.inner.append_batch(batch)
    }
    fn load(&self, id: IncidentId) -> Result<Vec<Event>> {
        self.inner.load(id)
    }
    fn scan(&self, visit: &mut dyn FnMut(IncidentId, Version, &Event) -> Result<()>) -> Result<()> {
        self.inner.scan(visit)
    }
    fn feed(&self, after: u64, limit: usize) -> Result<Option<Vec<FeedItem>>> {
        self.inner.feed(after, limit)
    }
}

#[test]
fn store_errors_are_retried_with_backoff_until_they_pass() {
    let clock = Arc::new(ManualClock::new(t0()));
    let (failed_tx, failed) = channel();
    let store = Arc::new(Flaky {
        inner: MemoryStore::new(),
        failing: AtomicBool::new(true),
        failed: Mutex::new(failed_tx),
    });
    let desk = desk_on(Arc::clone(&store), &clock);
    let (notifier, inbox) = forward();
    let runner = Runner::new(Arc::clone(&desk), notifier)
        .retry_after_errors(StdDuration::from_millis(1), StdDuration::from_millis(4))
        .start()
        .unwrap();
    let id = desk.open(&owner(), critical()).unwrap().id;
    for _ in 0..3 {
        failed.recv_timeout(PATIENCE).expect("the runner retries");
    }
    assert!(
        inbox.try_recv().is_err(),
        "nothing delivered while the store fails"
    );
    store.failing.store(false, Ordering::SeqCst);
    let page = inbox
        .recv_timeout(PATIENCE)
        .expect("the page, once the store works");
    assert_eq!(page.incident, Some(id));
    let stats = runner.stop();
    assert!(stats.errors >= 3, "{stats:?}");
    assert!(
        stats
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("disk full")),
        "{stats:?}"
    );
    // The page was recorded once, whatever the retries.
    let fired: Vec<String> = desk
        .get(id)
        .unwrap()
        .outbox()
        .iter()
        .map(|e| e.notification.key.clone())
        .collect();
    assert_eq!(fired.len(), 1, "{fired:?}");
}

#[test]
fn run_until_handles_every_deadline_in_order_and_leaves_the_clock_at_the_end() {
    let clock = ManualClock::new(t0());
    let desk = Desk::new(MemoryStore::new(), &clock).unwrap();
    let id = desk.open(&owner(), critical()).unwrap().id;
    let (notifier, inbox) = forward();
    let run = desk
        .run_until(t0() + Duration::hours(1), &notifier)
        .unwrap();
    // Critical, never acknowledged: pages at 0, 10 and 15 minutes, then the chain repeats
    // from step 2 after a 15-minute pause (35, 40 and 60 minutes: the repeat-until-
    // acknowledged chain). SLA warnings and reminders fall in between.
    let pages: Vec<i64> = run
        .fired
        .iter()
        .filter(|(_, _, t)| matches!(t, incidents::lifecycle::Timer::Escalation { .. }))
        .map(|(at, _, _)| (*at - t0()).num_minutes())
        .collect();
    assert_eq!(pages[..3], [0, 10, 15]);
    assert!(pages.windows(2).all(|w| w[0] <= w[1]), "{pages:?}");
    let times: Vec<_> = run.fired.iter().map(|(at, _, _)| *at).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "in order");
    assert_eq!(run.delivered.len(), inbox.try_iter().count());
    assert!(run.delivered.iter().all(|(at, key)| {
        run.fired.iter().any(|(f, _, _)| f == at) && key.starts_with(&id.to_string())
    }));
    assert_eq!(clock.now(), t0() + Duration::hours(1));
    // Nothing due before the next deadline: running again to it fires only what falls due.
    let next = desk.next_deadline().unwrap();
    assert!(next > clock.now());
    let quiet = desk
        .run_until(next - Duration::seconds(1), &notifier)
        .unwrap();
    assert!(quiet.fired.is_empty() && quiet.delivered.is_empty());
    // A clock already past `until` stays where it is.
    let earlier = desk.run_until(t0(), &notifier).unwrap();
    assert!(earlier.fired.is_empty());
    assert_eq!(clock.now(), next - Duration::seconds(1));
}

#[test]
fn on_append_calls_back_for_every_append_until_dropped() {
    let clock = ManualClock::new(t0());
    let desk = Desk::new(MemoryStore::new(), &clock).unwrap();
    let (tx, rx) = channel();
    let tx = Mutex::new(tx);
    let subscription = desk.on_append(move || {
        let _ = tx.lock().unwrap().send(());
    });
    let id = desk.open(&owner(), critical()).unwrap().id;
    desk.act(id, &owner(), Command::note("looking").unwrap())
        .unwrap();
    // An idempotent repeat records nothing and calls nothing.
    desk.act(id, &owner(), Command::Acknowledge).unwrap();
    desk.act(id, &owner(), Command::Acknowledge).unwrap();
    assert_eq!(rx.try_iter().count(), 3);
    drop(subscription);
    desk.act(id, &owner(), Command::note("still looking").unwrap())
        .unwrap();
    assert_eq!(rx.try_iter().count(), 0);
}

/// A file store that tells the test every time a snapshot is saved.
struct Snapshotting {
    inner: incidents::FileStore,
    saved: Mutex<Sender<usize>>,
}

impl Store for Snapshotting {
    fn append(&self, id: IncidentId, expected: Version, events: &[Event]) -> Result<Version> {
        self.inner.append(id, expected, events)
    }
    fn append_batch(&self, batch: &[Append<'_>]) -> Result<Vec<Version>> {
        self.inner.append_batch(batch)
    }
    fn load(&self, id: IncidentId) -> Result<Vec<Event>> {
        self.inner.load(id)
    }
    fn scan(&self, visit: &mut dyn FnMut(IncidentId, Version, &Event) -> Result<()>) -> Result<()> {
        self.inner.scan(visit)
    }
    fn log_end(&self) -> Result<Option<incidents::store::LogPoint>> {
        self.inner.log_end()
    }
    fn has_point(&self, point: incidents::store::LogPoint) -> Result<bool> {
        self.inner.has_point(point)
    }
    fn scan_after(
        &self,
        point: incidents::store::LogPoint,
        visit: &mut dyn FnMut(IncidentId, Version, &Event) -> Result<()>,
    ) -> Result<bool> {
        self.inner.scan_after(point, visit)
    }
    fn save_snapshot(&self, bytes: &[u8]) -> Result<()> {
        self.inner.save_snapshot(bytes)?;
        // A line of magic, then a header line that counts the incidents.
        let header = bytes.split(|&b| b == b'\n').nth(1).unwrap_or_default();
        let header: serde_json::Value = serde_json::from_slice(header).unwrap();
        let incidents = header["incidents"].as_u64().unwrap() as usize;
        let _ = self.saved.lock().unwrap().send(incidents);
        Ok(())
    }
    fn load_snapshot(&self) -> Result<Option<Vec<u8>>> {
        self.inner.load_snapshot()
    }
}

#[test]
fn the_runner_writes_a_snapshot_every_n_events_or_every_period() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(t0()));
    let (tx, saved) = channel();
    let store = Snapshotting {
        inner: incidents::FileStore::open(dir.path()).unwrap(),
        saved: Mutex::new(tx),
    };
    let desk = desk_on(store, &clock);
    let (pager, _pages) = forward();
    let runner = Runner::new(Arc::clone(&desk), pager)
        .snapshot_every(5, Duration::minutes(30))
        .start()
        .unwrap();
    // Five events (one per opening of a low-severity incident: nobody is paged): the first
    // snapshot holds all five, so none was taken before the fifth.
    let quiet = || {
        NewIncident::new(
            "Receipt logo faded",
            Severity::Low,
            "POS",
            Source::StaffReport,
        )
        .unwrap()
    };
    for _ in 0..5 {
        let receipt = desk.open(&owner(), quiet()).unwrap();
        assert_eq!(receipt.events.len(), 1);
    }
    assert_eq!(
        saved.recv_timeout(PATIENCE),
        Ok(5),
        "a snapshot after five events"
    );
    // Half an hour on the desk's clock, then one event: another.
    clock.advance(Duration::minutes(31));
    desk.open(&owner(), quiet()).unwrap();
    assert_eq!(
        saved.recv_timeout(PATIENCE),
        Ok(6),
        "a snapshot after the period"
    );
    let stats = runner.stop();
    assert_eq!(stats.snapshots, 2);
    drop(desk);
    let desk = Desk::new(
        incidents::FileStore::open(dir.path()).unwrap(),
        Arc::clone(&clock),
    )
    .unwrap();
    assert_eq!(desk.opening().from_snapshot, 6);
    assert_eq!(desk.opening().events_replayed, 0);
}
