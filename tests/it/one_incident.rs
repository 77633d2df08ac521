//! One problem, one incident: correlation of people's reports and monitors' alerts, attaching
//! signals by hand, merging duplicates, and who reported what — tested from the documented
//! behaviour (`Desk::ingest`, `Correlation`, `Desk::attach`, `Desk::merge`, `Reporter`).
//!
//! Tests marked `#[ignore = "BUG: …"]` describe the documented behaviour the code does not
//! have yet; run them with `cargo test --test it one_incident -- --ignored`.

mod attach;
mod correlation;
mod merge;
mod props;
mod reporters;
mod reports;
mod review;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use incidents::intake::{Correlation, Ingested, Intake, Reporter};
use incidents::lifecycle::Notification;
use incidents::notify::DeliveryError;
use incidents::people::Review;
use incidents::{
    Actor, Alert, Command, Desk, Event, IncidentId, ManualClock, MemoryStore, NewIncident,
    Notifier, Policy, Resolution, Role, Severity, Source, Store, Version,
};

use crate::support::owner;

/// The service every scenario is about, unless it says otherwise.
pub const SHOP: &str = "online shop";

/// Dana's contact details: must never show in a log, a `Debug` or a timeline.
pub const DANA_CONTACT: &str = "dana.levi@example.com";

/// Dana, a customer who writes in, with her contact details.
pub fn dana() -> Reporter {
    Reporter::new("Dana Levi")
        .unwrap()
        .with_contact(DANA_CONTACT)
        .unwrap()
}

/// A firing alert from the `uptime` monitor about the shop.
pub fn monitor(fingerprint: &str, starts_at: DateTime<Utc>) -> Alert {
    monitor_from("uptime", fingerprint, SHOP, starts_at)
}

/// A firing alert from monitor `source` about `service`.
pub fn monitor_from(
    source: &str,
    fingerprint: &str,
    service: &str,
    starts_at: DateTime<Utc>,
) -> Alert {
    Alert::firing(
        source,
        fingerprint,
        service,
        "Checkout returns 500",
        starts_at,
    )
    .unwrap()
}

/// Dana's report about the shop, on `topic`, made at `at`.
pub fn report(topic: &str, at: DateTime<Utc>) -> Alert {
    report_on(SHOP, topic, at)
}

/// Dana's report about `service`, on `topic`, made at `at`.
pub fn report_on(service: &str, topic: &str, at: DateTime<Utc>) -> Alert {
    Alert::report(
        Source::CustomerReport,
        dana(),
        topic,
        service,
        "Checkout crashes when I pay",
        at,
    )
    .unwrap()
}

/// The small-business policy with another correlation rule.
pub fn policy(correlation: Correlation) -> Policy {
    Policy::small_business()
        .with_intake(Intake {
            correlation,
            ..Intake::default()
        })
        .unwrap()
}

/// A desk over `store` with `policy`, on the manual clock.
pub fn desk_on<S: Store>(store: S, policy: Policy, clock: &ManualClock) -> Desk<S, &ManualClock> {
    Desk::builder(store, clock).policy(policy).build().unwrap()
}

/// A desk over a fresh memory store.
pub fn desk(policy: Policy, clock: &ManualClock) -> Desk<MemoryStore, &ManualClock> {
    desk_on(MemoryStore::new(), policy, clock)
}

/// A desk over a store shared with later desks (a restart is a new desk over it).
pub fn shared<'c>(
    store: &Arc<MemoryStore>,
    policy: Policy,
    clock: &'c ManualClock,
) -> Desk<Arc<MemoryStore>, &'c ManualClock> {
    desk_on(Arc::clone(store), policy, clock)
}

/// The incident an ingest opened (panics on any other outcome).
#[track_caller]
pub fn opened(outcome: Ingested) -> IncidentId {
    match outcome {
        Ingested::Opened { id } => id,
        other => panic!("expected a new incident, got {other:?}"),
    }
}

/// Someone who may look but not touch.
pub fn viewer() -> Actor {
    Actor::new("vic", "Vic", Role::Viewer).unwrap()
}

/// An incident opened by hand (a customer phoned): the shop, `severity`, from a customer.
pub fn by_hand(severity: Severity) -> NewIncident {
    NewIncident::new(
        "Customer says checkout fails",
        severity,
        SHOP,
        Source::CustomerReport,
    )
    .unwrap()
}

/// Resolves `id` as fixed, as the owner.
pub fn resolve<S: Store>(desk: &Desk<S, &ManualClock>, id: IncidentId) {
    desk.act(id, &owner(), Command::resolve(Resolution::Fixed))
        .unwrap();
}

/// Resolves `id` (unless it already is), records a review and closes it, as the owner.
pub fn close<S: Store>(desk: &Desk<S, &ManualClock>, id: IncidentId) {
    if desk.get(id).unwrap().is_active() {
        resolve(desk, id);
    }
    desk.act(
        id,
        &owner(),
        Command::review(Review::new("it broke", "a bad deploy").unwrap()),
    )
    .unwrap();
    desk.act(
        id,
        &owner(),
        Command::close("handled", "test deploys").unwrap(),
    )
    .unwrap();
}

/// Every stored history of `ids`, to show that a refused command recorded nothing.
pub fn histories<S: Store>(store: &S, ids: &[IncidentId]) -> Vec<Vec<Event>> {
    ids.iter().map(|id| store.load(*id).unwrap()).collect()
}

/// A notifier that accepts everything and remembers it.
#[derive(Debug, Default)]
pub struct Pager {
    pub sent: Mutex<Vec<Notification>>,
}

impl Notifier for Pager {
    fn deliver(&self, notification: &Notification) -> Result<(), DeliveryError> {
        self.sent.lock().unwrap().push(notification.clone());
        Ok(())
    }
}

/// A copy of every history in `store`, in a new memory store: a restart that leaves the
/// original to the live desk.
pub fn copy(store: &MemoryStore) -> Arc<MemoryStore> {
    let mut histories: BTreeMap<IncidentId, Vec<Event>> = BTreeMap::new();
    store
        .scan(&mut |id, _, event| {
            histories.entry(id).or_default().push(event.clone());
            Ok(())
        })
        .unwrap();
    let copy = MemoryStore::new();
    for (id, events) in histories {
        copy.append(id, Version::ZERO, &events).unwrap();
    }
    Arc::new(copy)
}
