//! Regressions found in review: routing after a conflict between desks, duplicates that would
//! chain or circle, long merge chains, the incident a duplicate delivery names after a
//! restart, callbacks that drop their own subscription, descriptions that must not cost an
//! alert.

use std::sync::mpsc::channel;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use chrono::Duration;
use incidents::desk::Subscription;
use incidents::intake::{Correlation, Ingested};
use incidents::store::Append;
use incidents::store::FeedItem;
use incidents::{
    Clock, Command, Error, Event, IncidentId, ManualClock, MemoryStore, Resolution, Result,
    Severity, Store, Version,
};

use super::{by_hand, copy, desk, desk_on, monitor, opened, policy};
use crate::support::{owner, t0};

/// A memory store with a global feed, as the SQL stores have, so desks can catch up.
#[derive(Default)]
struct FeedStore {
    inner: MemoryStore,
    log: Mutex<Vec<FeedItem>>,
}

impl FeedStore {
    fn note(log: &mut Vec<FeedItem>, id: IncidentId, expected: Version, events: &[Event]) {
        for (i, event) in events.iter().enumerate() {
            let position = log.len() as u64 + 1;
            log.push(FeedItem::new(
                position,
                id,
                expected.plus(i as u64 + 1),
                event.clone(),
            ));
        }
    }
}

impl Store for FeedStore {
    fn append(&self, id: IncidentId, expected: Version, events: &[Event]) -> Result<Version> {
        let mut log = self.log.lock().unwrap();
        let version = self.inner.append(id, expected, events)?;
        FeedStore::note(&mut log, id, expected, events);
        Ok(version)
    }
    fn append_batch(&self, batch: &[Append<'_>]) -> Result<Vec<Version>> {
        let mut log = self.log.lock().unwrap();
        let versions = self.inner.append_batch(batch)?;
        for append in batch {
            FeedStore::note(&mut log, append.id, append.expected, append.events);
        }
        Ok(versions)
    }
    fn load(&self, id: IncidentId) -> Result<Vec<Event>> {
        self.inner.load(id)
    }
    fn scan(&self, visit: &mut dyn FnMut(IncidentId, Version, &Event) -> Result<()>) -> Result<()> {
        self.inner.scan(visit)
    }
    fn feed(&self, after: u64, limit: usize) -> Result<Option<Vec<FeedItem>>> {
        let log = self.log.lock().unwrap();
        Ok(Some(
            log.iter()
                .filter(|i| i.position > after)
                .take(limit)
                .cloned()
                .collect(),
        ))
    }
}

#[test]
fn a_desk_that_reloads_after_a_conflict_routes_like_a_restarted_one() {
    let clock = ManualClock::new(t0());
    let store = Arc::new(FeedStore::default());
    let one = desk_on(Arc::clone(&store), policy(Correlation::off()), &clock);
    let two = desk_on(Arc::clone(&store), policy(Correlation::off()), &clock);
    opened(one.ingest(&monitor("k", t0())).unwrap());
    let b = one.open(&owner(), by_hand(Severity::High)).unwrap().id;
    two.catch_up().unwrap();
    clock.advance(Duration::minutes(1));
    // Desk two attaches a new occurrence of k to b: k now leads to b.
    two.attach(b, &owner(), &monitor("k", clock.now())).unwrap();
    clock.advance(Duration::minutes(1));
    // Desk one acts on b without catching up: a conflict, a reload, a second decision.
    one.act(b, &owner(), Command::Acknowledge).unwrap();
    one.catch_up().unwrap();
    clock.advance(Duration::minutes(1));
    let probe = monitor("k", clock.now());
    let restarted = desk_on(copy(&store.inner), policy(Correlation::off()), &clock);
    assert_eq!(
        restarted.ingest(&probe).unwrap(),
        Ingested::Recorded { id: b }
    );
    assert_eq!(one.ingest(&probe).unwrap(), Ingested::Recorded { id: b });
}

#[test]
fn an_incident_cannot_be_resolved_as_a_duplicate_of_a_duplicate() {
    let clock = ManualClock::new(t0());
    let desk = desk(policy(Correlation::off()), &clock);
    let a = opened(desk.ingest(&monitor("k", t0())).unwrap());
    let b = desk.open(&owner(), by_hand(Severity::High)).unwrap().id;
    let c = desk.open(&owner(), by_hand(Severity::High)).unwrap().id;
    clock.advance(Duration::minutes(1));
    desk.merge(a, b, &owner()).unwrap();
    let before = desk.store().load(b).unwrap();
    // b as a duplicate of a would close a circle; c as one of a a chain.
    for (id, of) in [(b, a), (c, a)] {
        let err = desk
            .act(id, &owner(), Command::resolve(Resolution::Duplicate { of }))
            .unwrap_err();
        assert!(
            matches!(&err, Error::Rejected(r) if r.incident == Some(a)),
            "{err}"
        );
    }
    assert_eq!(desk.store().load(b).unwrap(), before);
    clock.advance(Duration::minutes(1));
    assert_eq!(
        desk.ingest(&monitor("k", clock.now())).unwrap(),
        Ingested::Recorded { id: b }
    );
}

#[test]
fn a_key_follows_a_chain_of_merges_of_any_length() {
    let clock = ManualClock::new(t0());
    let desk = desk(policy(Correlation::off()), &clock);
    let ids: Vec<IncidentId> = (0..20)
        .map(|n| opened(desk.ingest(&monitor(&format!("k{n}"), t0())).unwrap()))
        .collect();
    clock.advance(Duration::minutes(1));
    for pair in ids.windows(2) {
        desk.merge(pair[0], pair[1], &owner()).unwrap();
    }
    clock.advance(Duration::minutes(1));
    let last = ids[ids.len() - 1];
    assert_eq!(
        desk.ingest(&monitor("k0", clock.now())).unwrap(),
        Ingested::Recorded { id: last }
    );
}

#[test]
fn a_duplicate_delivery_names_the_same_incident_after_a_restart() {
    let clock = ManualClock::new(t0());
    let store = Arc::new(MemoryStore::new());
    let live = desk_on(Arc::clone(&store), policy(Correlation::off()), &clock);
    let b = live.open(&owner(), by_hand(Severity::High)).unwrap().id;
    clock.advance(Duration::minutes(1));
    let x = monitor("k", clock.now());
    opened(live.ingest(&x).unwrap());
    clock.advance(Duration::minutes(1));
    live.attach(b, &owner(), &x).unwrap();
    let restarted = desk_on(copy(&store), policy(Correlation::off()), &clock);
    assert_eq!(live.ingest(&x).unwrap(), Ingested::Duplicate { id: b });
    assert_eq!(restarted.ingest(&x).unwrap(), Ingested::Duplicate { id: b });
}

#[test]
fn a_callback_may_drop_its_own_subscription() {
    let (done, finished) = channel();
    std::thread::spawn(move || {
        let clock = ManualClock::new(t0());
        let desk = desk(policy(Correlation::off()), &clock);
        let slot: Arc<Mutex<Option<Subscription>>> = Arc::default();
        let inner = Arc::clone(&slot);
        let calls = Arc::new(Mutex::new(0));
        let counted = Arc::clone(&calls);
        let subscription = desk.on_append(move || {
            *counted.lock().unwrap() += 1;
            drop(inner.lock().unwrap().take()); // once is enough
        });
        *slot.lock().unwrap() = Some(subscription);
        desk.open(&owner(), by_hand(Severity::High)).unwrap();
        desk.open(&owner(), by_hand(Severity::High)).unwrap();
        let _ = done.send(*calls.lock().unwrap());
    });
    let calls = finished
        .recv_timeout(StdDuration::from_secs(30))
        .expect("the desk returned (no deadlock)");
    assert_eq!(calls, 1);
}

#[test]
fn an_unusable_description_never_costs_the_alert() {
    let body = |description: &str| {
        serde_json::json!({
            "version": "4", "status": "firing", "receiver": "incidents", "groupKey": "{}",
            "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {},
            "externalURL": "http://alertmanager:9093",
            "alerts": [{
                "status": "firing",
                "labels": {"alertname": "DiskFull", "service": "POS"},
                "annotations": {"summary": "Disk full", "description": description},
                "startsAt": "2026-11-27T12:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
                "fingerprint": "d15cf011"
            }]
        })
        .to_string()
    };
    let mapping = incidents::webhooks::AlertmanagerMapping::default();
    for (description, kept) in [
        ("", None),
        ("   \n ", None),
        (
            "bell \u{7} and escape \u{1b}",
            Some("bell   and escape".to_string()),
        ),
        (
            &"x".repeat(20_000),
            Some("x".repeat(incidents::limits::TEXT_MAX_CHARS)),
        ),
    ] {
        let alerts = incidents::webhooks::alertmanager(body(description).as_bytes(), &mapping)
            .unwrap_or_else(|e| panic!("{description:?}: {e}"));
        let alert = alerts[0].as_ref().unwrap();
        assert_eq!(
            alert.description().map(|d| d.as_str().to_string()),
            kept.map(|k| k.trim().to_string())
        );
    }
}
