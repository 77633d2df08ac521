//! Properties: any order (and duplication) of the same deliveries gives the same incidents
//! wherever the documented rule is unambiguous, and a desk built again over the same
//! histories routes every key where the live desk does.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::Duration;
use incidents::intake::{Correlate, Correlation};
use incidents::people::Review;
use incidents::{
    Alert, Command, Desk, Error, Filter, IncidentId, ManualClock, MemoryStore, Policy, Resolution,
    Store,
};
use proptest::prelude::*;
use proptest::sample::Index;

use super::{copy, desk, monitor_from, policy, report_on, shared};
use crate::support::{owner, t0};

const SERVICES: [&str; 3] = ["online shop", "POS", "warehouse"];

/// Who sent a delivery: monitor fingerprint `m<n>`, or a customer's report on topic `t<n>`,
/// of the delivery's service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Sender {
    Monitor(u8),
    Report(u8),
}

/// One delivery: about which service, from whom, and which occurrence (its start, in minutes
/// after `t0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Delivery {
    service: usize,
    sender: Sender,
    minute: i64,
}

impl Delivery {
    fn alert(self) -> Alert {
        let service = SERVICES[self.service];
        let at = t0() + Duration::minutes(self.minute);
        match self.sender {
            // A key is `source/fingerprint`, whatever the service: name each service's own.
            Sender::Monitor(n) => {
                monitor_from("uptime", &format!("s{}-m{n}", self.service), service, at)
            }
            Sender::Report(n) => report_on(service, &format!("s{}-t{n}", self.service), at),
        }
    }

    fn key(self) -> String {
        self.alert().key()
    }
}

/// What came out, independent of ids and arrival order: per incident, its service, the keys
/// it heard from and how many distinct occurrences fired on it.
type Outcome = Vec<(String, BTreeSet<String>, usize)>;

fn outcome<S: Store>(desk: &Desk<S, &ManualClock>) -> Outcome {
    let mut out: Outcome = desk
        .list(&Filter::all())
        .iter()
        .map(|i| {
            (
                i.service().to_string(),
                i.signals().iter().map(|r| r.signal.key.clone()).collect(),
                i.signal_count(),
            )
        })
        .collect();
    out.sort();
    out
}

/// One incident per service, with every key and every distinct delivery of that service.
fn one_per_service(deliveries: &[Delivery]) -> Outcome {
    /// Per service: its keys, and its distinct occurrences (key, start).
    type Heard = (BTreeSet<String>, BTreeSet<(String, i64)>);
    let mut by_service: BTreeMap<usize, Heard> = BTreeMap::new();
    for d in deliveries {
        let (keys, occurrences) = by_service.entry(d.service).or_default();
        keys.insert(d.key());
        occurrences.insert((d.key(), d.minute));
    }
    let mut out: Outcome = by_service
        .into_iter()
        .map(|(s, (keys, occurrences))| (SERVICES[s].to_string(), keys, occurrences.len()))
        .collect();
    out.sort();
    out
}

/// Per service: at most one monitor key with some occurrences, and some reports on one topic.
fn arb_people_and_monitors() -> impl Strategy<Value = Vec<Delivery>> {
    let service = (
        prop::option::of((0u8..3, prop::collection::btree_set(0i64..4, 1..4))),
        0u8..2,
        prop::collection::btree_set(0i64..5, 0..4),
    );
    prop::collection::vec(service, 1..=SERVICES.len())
        .prop_map(|services| {
            let mut out = Vec::new();
            for (s, (monitor, topic, reports)) in services.into_iter().enumerate() {
                if let Some((fingerprint, minutes)) = monitor {
                    out.extend(minutes.into_iter().map(|minute| Delivery {
                        service: s,
                        sender: Sender::Monitor(fingerprint),
                        minute,
                    }));
                }
                out.extend(reports.into_iter().map(|minute| Delivery {
                    service: s,
                    sender: Sender::Report(topic),
                    minute,
                }));
            }
            out
        })
        .prop_filter("something to deliver", |d| !d.is_empty())
}

/// Per service, any keys of monitors and report topics.
fn arb_any_keys() -> impl Strategy<Value = Vec<Delivery>> {
    let sender = prop_oneof![
        (0u8..3).prop_map(Sender::Monitor),
        (0u8..3).prop_map(Sender::Report)
    ];
    prop::collection::btree_set((0..SERVICES.len(), sender, 0i64..4), 1..10).prop_map(|set| {
        set.into_iter()
            .map(|(service, sender, minute)| Delivery {
                service,
                sender,
                minute,
            })
            .collect()
    })
}

/// The deliveries, and the same deliveries shuffled with some delivered twice or more.
fn with_another_order(
    deliveries: impl Strategy<Value = Vec<Delivery>>,
) -> impl Strategy<Value = (Vec<Delivery>, Vec<Delivery>)> {
    deliveries
        .prop_flat_map(|d| {
            (
                Just(d.clone()),
                Just(d).prop_shuffle(),
                prop::collection::vec((any::<Index>(), any::<Index>()), 0..6),
            )
        })
        .prop_map(|(d, mut shuffled, again)| {
            for (pick, at) in again {
                let delivery = shuffled[pick.index(shuffled.len())];
                let at = at.index(shuffled.len() + 1);
                shuffled.insert(at, delivery);
            }
            (d, shuffled)
        })
}

/// Delivers `deliveries` in order to a new desk, all at the same desk time.
fn deliver(policy: &Policy, deliveries: &[Delivery]) -> Outcome {
    let clock = ManualClock::new(t0() + Duration::minutes(10));
    let desk = desk(policy.clone(), &clock);
    for d in deliveries {
        desk.ingest(&d.alert()).unwrap();
    }
    outcome(&desk)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Under the default rule, a monitor's key and a report topic about the same service end
    /// up on one incident, whichever arrives first, however often each is delivered.
    #[test]
    fn any_order_of_reports_and_one_monitor_per_service_gives_the_same_incidents(
        (deliveries, shuffled) in with_another_order(arb_people_and_monitors()),
    ) {
        let policy = Policy::small_business();
        let reference = deliver(&policy, &deliveries);
        prop_assert_eq!(&deliver(&policy, &shuffled), &reference);
        prop_assert_eq!(reference, one_per_service(&deliveries));
    }

    /// With `AnySource`, every key about a service joins its one incident.
    #[test]
    fn any_order_of_any_keys_under_any_source_gives_the_same_incidents(
        (deliveries, shuffled) in with_another_order(arb_any_keys()),
    ) {
        let policy = policy(Correlation { between: Correlate::AnySource, ..Correlation::default() });
        let reference = deliver(&policy, &deliveries);
        prop_assert_eq!(&deliver(&policy, &shuffled), &reference);
        prop_assert_eq!(reference, one_per_service(&deliveries));
    }

    /// With correlation off, each key is its own incident, in any order.
    #[test]
    fn any_order_of_any_keys_with_correlation_off_gives_one_incident_per_key(
        (deliveries, shuffled) in with_another_order(arb_any_keys()),
    ) {
        let policy = policy(Correlation::off());
        let reference = deliver(&policy, &deliveries);
        prop_assert_eq!(&deliver(&policy, &shuffled), &reference);
        let keys: BTreeSet<String> = deliveries.iter().map(|d| d.key()).collect();
        prop_assert_eq!(reference.len(), keys.len());
        prop_assert!(reference.iter().all(|(_, keys, _)| keys.len() == 1));
    }
}

// ---------------------------------------------------------------------------------------------
// Restarts

/// The keys the operations use: two services, monitors and reports on each.
const KEYS: [(usize, Sender); 6] = [
    (0, Sender::Monitor(0)),
    (0, Sender::Report(0)),
    (0, Sender::Monitor(1)),
    (0, Sender::Report(1)),
    (1, Sender::Monitor(0)),
    (1, Sender::Report(0)),
];

fn key_alert(key: usize, minute: i64, resolved: bool) -> Alert {
    let (service, sender) = KEYS[key];
    let alert = Delivery {
        service,
        sender,
        minute,
    }
    .alert();
    if resolved { alert.resolved() } else { alert }
}

#[derive(Debug, Clone)]
enum Op {
    Ingest {
        key: usize,
        minute: i64,
        resolved: bool,
    },
    Attach {
        key: usize,
        minute: i64,
        to: Index,
    },
    Merge {
        duplicate: Index,
        into: Index,
    },
    Resolve {
        which: Index,
    },
    Close {
        which: Index,
    },
    /// Minutes on the desk's clock; 0 keeps several operations at one instant.
    Advance {
        minutes: i64,
    },
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..KEYS.len(), 0i64..4, prop::bool::weighted(0.2))
            .prop_map(|(key, minute, resolved)| Op::Ingest { key, minute, resolved }),
        2 => (0..KEYS.len(), 0i64..4, any::<Index>())
            .prop_map(|(key, minute, to)| Op::Attach { key, minute, to }),
        2 => (any::<Index>(), any::<Index>())
            .prop_map(|(duplicate, into)| Op::Merge { duplicate, into }),
        2 => any::<Index>().prop_map(|which| Op::Resolve { which }),
        1 => any::<Index>().prop_map(|which| Op::Close { which }),
        3 => prop_oneof![Just(0i64), 1i64..90].prop_map(|minutes| Op::Advance { minutes }),
    ]
}

/// The correlation rule a run uses.
fn arb_correlation() -> impl Strategy<Value = Correlation> {
    prop_oneof![
        Just(Correlation::default()),
        Just(Correlation {
            between: Correlate::AnySource,
            ..Correlation::default()
        }),
        Just(Correlation::off()),
    ]
}

/// Accepted, or refused by the lifecycle (merging a resolved incident, attaching to a closed
/// one, …); anything else is a failure.
#[track_caller]
fn accepted_or_refused<T: std::fmt::Debug>(result: Result<T, Error>) {
    match result {
        Ok(_) | Err(Error::Rejected(_)) => {}
        Err(other) => panic!("unexpected error: {other:?}"),
    }
}

/// How time passes between the operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Runs {
    /// Only as the operations say: many share an instant, and ties decide.
    AsGiven,
    /// A second more after every operation: no two share an instant.
    Spaced,
}

fn apply<S: Store>(desk: &Desk<S, &ManualClock>, clock: &ManualClock, op: &Op, runs: Runs) {
    let ids: Vec<IncidentId> = desk.list(&Filter::all()).iter().map(|i| i.id()).collect();
    let pick = |i: &Index| (!ids.is_empty()).then(|| ids[i.index(ids.len())]);
    match op {
        Op::Ingest {
            key,
            minute,
            resolved,
        } => {
            desk.ingest(&key_alert(*key, *minute, *resolved)).unwrap();
        }
        Op::Attach { key, minute, to } => {
            if let Some(id) = pick(to) {
                let alert = key_alert(*key, *minute, false);
                accepted_or_refused(desk.attach(id, &owner(), &alert));
            }
        }
        Op::Merge { duplicate, into } => {
            if let (Some(duplicate), Some(into)) = (pick(duplicate), pick(into)) {
                accepted_or_refused(desk.merge(duplicate, into, &owner()));
            }
        }
        Op::Resolve { which } => {
            if let Some(id) = pick(which) {
                accepted_or_refused(desk.act(id, &owner(), Command::resolve(Resolution::Fixed)));
            }
        }
        Op::Close { which } => {
            if let Some(id) = pick(which) {
                let review = Review::new("it broke", "a bad deploy").unwrap();
                accepted_or_refused(desk.act(id, &owner(), Command::review(review)));
                let close = Command::close("handled", "test deploys").unwrap();
                accepted_or_refused(desk.act(id, &owner(), close));
            }
        }
        Op::Advance { minutes } => {
            clock.advance(Duration::minutes(*minutes));
        }
    }
    if runs == Runs::Spaced {
        clock.advance(Duration::seconds(1));
    }
}

/// Runs `ops` on a live desk, builds a second desk over a copy of its store, and checks that
/// a fresh occurrence of every key lands in the same place on both.
fn restart_agrees(policy: Policy, ops: &[Op], runs: Runs) -> Result<(), TestCaseError> {
    let store = Arc::new(MemoryStore::new());
    let clock = ManualClock::new(t0());
    let live = shared(&store, policy.clone(), &clock);
    for op in ops {
        apply(&live, &clock, op, runs);
    }
    let restarted = shared(&copy(&store), policy, &clock);
    prop_assert_eq!(restarted.list(&Filter::all()), live.list(&Filter::all()));
    for key in 0..KEYS.len() {
        // A fresh occurrence, long after anything the operations delivered.
        let probe = key_alert(key, 10_000 + key as i64, false);
        let on_live = live.ingest(&probe).unwrap();
        let on_restarted = restarted.ingest(&probe).unwrap();
        prop_assert_eq!(
            &on_restarted,
            &on_live,
            "key {} lands elsewhere after a restart",
            probe.key()
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// After any ingests, attaches, merges, resolutions and closures, a desk built again over
    /// the same histories routes every key to the incident the live desk does.
    #[test]
    fn a_restarted_desk_routes_every_key_like_the_live_one(
        correlation in arb_correlation(),
        ops in prop::collection::vec(arb_op(), 1..30),
    ) {
        restart_agrees(policy(correlation), &ops, Runs::AsGiven)?;
    }

    /// The same with every operation at an instant of its own.
    #[test]
    fn a_restarted_desk_routes_every_key_like_the_live_one_with_time_passing(
        correlation in arb_correlation(),
        ops in prop::collection::vec(arb_op(), 1..30),
    ) {
        restart_agrees(policy(correlation), &ops, Runs::Spaced)?;
    }
}
