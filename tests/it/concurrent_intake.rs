//! Intake under concurrency: deliveries of different keys are decided and appended together
//! (so they can share the file store's group commit), deliveries of one key in turn, and a
//! report and an alert about one problem arriving together still make one incident.

use std::sync::{Arc, Barrier, Condvar, Mutex};
use std::time::Duration as StdDuration;

use incidents::intake::{Ingested, Reporter};
use incidents::store::Append;
use incidents::store::FeedItem;
use incidents::{
    Alert, Desk, Error, Event, Filter, IncidentId, ManualClock, MemoryStore, Result, Source, Store,
    Version,
};

use crate::support::t0;

/// A store whose appends wait, up to a timeout, until `needed` appends are under way at
/// once: it proves the desk lets them overlap.
struct Rendezvous {
    inner: MemoryStore,
    needed: usize,
    waiting: Mutex<usize>,
    met: Condvar,
}

impl Rendezvous {
    fn meet(&self) -> Result<()> {
        let mut waiting = self.waiting.lock().unwrap();
        *waiting += 1;
        self.met.notify_all();
        let (waiting, timeout) = self
            .met
            .wait_timeout_while(waiting, StdDuration::from_secs(20), |w| *w < self.needed)
            .unwrap();
        drop(waiting);
        if timeout.timed_out() {
            return Err(Error::Io {
                op: "append",
                path: "rendezvous".into(),
                source: std::io::Error::other("the other append never came"),
            });
        }
        Ok(())
    }
}

impl Store for Rendezvous {
    fn append(&self, id: IncidentId, expected: Version, events: &[Event]) -> Result<Version> {
        self.meet()?;
        self.inner.append(id, expected, events)
    }
    fn append_batch(&self, batch: &[Append<'_>]) -> Result<Vec<Version>> {
        self.meet()?;
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

fn monitor(fingerprint: &str) -> Alert {
    Alert::firing("uptime", fingerprint, "online shop", "Checkout fails", t0()).unwrap()
}

#[test]
fn deliveries_of_different_keys_are_appended_together() {
    let clock = ManualClock::new(t0());
    let store = Rendezvous {
        inner: MemoryStore::new(),
        needed: 2,
        waiting: Mutex::new(0),
        met: Condvar::new(),
    };
    let desk = Desk::new(store, &clock).unwrap();
    let outcomes: Vec<Ingested> = std::thread::scope(|scope| {
        let handles: Vec<_> = ["checkout-5xx", "payments-5xx"]
            .into_iter()
            .map(|key| {
                let desk = &desk;
                scope.spawn(move || desk.ingest(&monitor(key)))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap()
                    .expect("both appends were under way at once")
            })
            .collect()
    });
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, Ingested::Opened { .. }))
    );
    assert_eq!(desk.list(&Filter::all()).len(), 2);
}

#[test]
fn deliveries_of_one_key_are_decided_in_turn() {
    for _ in 0..20 {
        let clock = ManualClock::new(t0());
        let desk = Desk::new(MemoryStore::new(), &clock).unwrap();
        let barrier = Barrier::new(4);
        let outcomes: Vec<Ingested> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    let (desk, barrier) = (&desk, &barrier);
                    scope.spawn(move || {
                        barrier.wait();
                        desk.ingest(&monitor("checkout-5xx")).unwrap()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let opened = outcomes
            .iter()
            .filter(|o| matches!(o, Ingested::Opened { .. }))
            .count();
        assert_eq!(opened, 1, "{outcomes:?}");
        assert_eq!(desk.list(&Filter::all()).len(), 1);
    }
}

#[test]
fn a_report_and_an_alert_arriving_together_make_one_incident() {
    for _ in 0..50 {
        let clock = ManualClock::new(t0());
        let desk = Arc::new(Desk::new(MemoryStore::new(), &clock).unwrap());
        let barrier = Barrier::new(2);
        let report = Alert::report(
            Source::CustomerReport,
            Reporter::new("Dana").unwrap(),
            "checkout",
            "online shop",
            "Checkout crashes",
            t0(),
        )
        .unwrap();
        let alert = monitor("checkout-5xx");
        std::thread::scope(|scope| {
            for delivery in [&report, &alert] {
                let (desk, barrier) = (&desk, &barrier);
                scope.spawn(move || {
                    barrier.wait();
                    desk.ingest(delivery).unwrap()
                });
            }
        });
        let incidents = desk.list(&Filter::all());
        assert_eq!(incidents.len(), 1, "{incidents:#?}");
        assert_eq!(incidents[0].signals().len(), 2);
    }
}

/// Found by the simulator (`tests/sim`, seed 100, step 232): a desk holding an incident as
/// open ingested a "resolved" alert for it after another desk on the same store had closed
/// it. The append conflicted, the desk reloaded the closed incident and then tried to record
/// the signal on it anyway: an error ("cannot happen while closed") instead of a decision.
/// Now the delivery is decided again on what the store holds.
#[test]
fn sim_seed_100_an_alert_for_an_incident_another_desk_closed_is_decided_again() {
    let clock = ManualClock::new(t0());
    let store = Arc::new(MemoryStore::new());
    let a = Desk::new(Arc::clone(&store), &clock).unwrap();
    let alert = Alert::firing("uptime", "check-0", "till", "Till offline", t0())
        .unwrap()
        .with_severity(incidents::Severity::Low);
    let id = a.ingest(&alert).unwrap().incident().unwrap();

    // A second desk (another thread of the host, another process on a database) resolves
    // and closes it; desk `a` does not know.
    let b = Desk::new(Arc::clone(&store), &clock).unwrap();
    let dana = crate::support::owner();
    clock.advance(chrono::Duration::minutes(5));
    b.act(
        id,
        &dana,
        incidents::Command::Resolve {
            resolution: incidents::Resolution::Fixed,
        },
    )
    .unwrap();
    b.act(
        id,
        &dana,
        incidents::Command::close("Cable reseated", "Label the cables").unwrap(),
    )
    .unwrap();
    let closed = store.version(id).unwrap();
    assert_eq!(a.get(id).unwrap().status(), incidents::Status::Open);

    // The monitor says it is over: nothing to record it on any more.
    clock.advance(chrono::Duration::minutes(1));
    let over = alert.clone().resolved();
    assert_eq!(a.ingest(&over).unwrap(), Ingested::Ignored);
    assert_eq!(
        store.version(id).unwrap(),
        closed,
        "nothing recorded on the closed incident"
    );
    assert_eq!(a.get(id).unwrap().status(), incidents::Status::Closed);

    // It fires again: a new incident, not a signal on the closed one.
    clock.advance(chrono::Duration::minutes(1));
    let again = Alert::firing(
        "uptime",
        "check-0",
        "till",
        "Till offline",
        clock_now(&clock),
    )
    .unwrap();
    let ingested = a.ingest(&again).unwrap();
    assert!(
        matches!(
            ingested,
            Ingested::Opened { .. } | Ingested::Recurred { .. }
        ),
        "{ingested:?}"
    );
    assert_ne!(ingested.incident(), Some(id));
    assert_eq!(store.version(id).unwrap(), closed);
}

fn clock_now(clock: &ManualClock) -> chrono::DateTime<chrono::Utc> {
    incidents::Clock::now(clock)
}
