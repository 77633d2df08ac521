//! `Desk::merge`: the duplicate resolved as a duplicate, both timelines showing it, its keys
//! leading to the incident that carries on, its timers stopped, no review of its own — and
//! every refusal recording nothing.

use std::sync::Arc;

use chrono::Duration;
use incidents::error::Refusal;
use incidents::intake::{Correlation, Ingested};
use incidents::lifecycle::{SlaTarget, Timer};
use incidents::{
    Change, Clock, Command, CommandKind, Desk, Error, ManualClock, MemoryStore, Policy, Resolution,
    Severity, Status, Store,
};

use super::{
    Pager, by_hand, close, desk, histories, monitor, opened, policy, report, resolve, shared,
    viewer,
};
use crate::support::{nth_id, owner, responder, support, t0};

fn off() -> Policy {
    policy(Correlation::off())
}

/// The customer's report and the monitor's alert about one outage, each with an incident of
/// its own (correlation is off): `(report's, alert's)`, both critical.
fn two_incidents<S: Store>(
    desk: &Desk<S, &ManualClock>,
) -> (incidents::IncidentId, incidents::IncidentId) {
    let now = desk.clock().now();
    let dup = opened(
        desk.ingest(&report("checkout", now).with_severity(Severity::Critical))
            .unwrap(),
    );
    let into = opened(
        desk.ingest(&monitor("checkout-5xx", now).with_severity(Severity::Critical))
            .unwrap(),
    );
    (dup, into)
}

#[test]
fn both_timelines_show_the_merge_and_the_duplicate_is_resolved_as_one() {
    let clock = ManualClock::new(t0());
    let desk = desk(off(), &clock);
    let (dup, into) = two_incidents(&desk);
    clock.advance(Duration::minutes(3));
    let merged = desk.merge(dup, into, &responder()).unwrap();

    let duplicate = desk.get(dup).unwrap();
    assert_eq!(duplicate.status(), Status::Resolved);
    assert_eq!(
        duplicate.resolution(),
        Some(Resolution::Duplicate { of: into })
    );
    assert_eq!(duplicate.duplicate_of(), Some(into));
    assert_eq!(duplicate.resolved_at(), Some(clock.now()));
    let target = desk.get(into).unwrap();
    assert_eq!(target.merged(), [dup]);
    assert_eq!(target.status(), Status::Open, "the target carries on");
    assert_eq!(target.duplicate_of(), None);

    let dup_history = desk.history(dup).unwrap();
    let into_history = desk.history(into).unwrap();
    let dup_last = dup_history.last().unwrap();
    let into_last = into_history.last().unwrap();
    assert_eq!(dup_last.change, Change::MergedInto { into });
    assert_eq!(
        into_last.change,
        Change::DuplicateMerged {
            duplicate: dup,
            title: duplicate.title().clone()
        }
    );
    for event in [dup_last, into_last] {
        assert_eq!(event.actor, responder());
        assert_eq!(event.at, clock.now());
    }
    assert!(dup_last.change.describe().contains(&into.to_string()));
    let told = into_last.change.describe();
    assert!(told.contains(&dup.to_string()), "{told}");
    assert!(told.contains(duplicate.title().as_str()), "{told}");

    assert_eq!(merged.duplicate.id, dup);
    assert_eq!(merged.duplicate.version, duplicate.version());
    assert_eq!(merged.duplicate.events, std::slice::from_ref(dup_last));
    assert_eq!(merged.into.id, into);
    assert_eq!(merged.into.version, target.version());
    assert_eq!(merged.into.events, std::slice::from_ref(into_last));
}

#[test]
fn merge_through_act_records_on_both_incidents() {
    let clock = ManualClock::new(t0());
    let desk = desk(off(), &clock);
    let (dup, into) = two_incidents(&desk);
    let receipt = desk.act(dup, &owner(), Command::Merge { into }).unwrap();
    assert_eq!(receipt.id, dup);
    assert_eq!(desk.get(dup).unwrap().duplicate_of(), Some(into));
    assert_eq!(desk.get(into).unwrap().merged(), [dup]);
}

#[test]
fn a_re_fire_of_the_duplicates_key_records_on_the_target_and_never_reopens_the_duplicate() {
    let store = Arc::new(MemoryStore::new());
    let clock = ManualClock::new(t0());
    let desk = shared(&store, off(), &clock);
    let (dup, into) = two_incidents(&desk);
    clock.advance(Duration::minutes(2));
    desk.merge(dup, into, &owner()).unwrap();
    // The duplicate was resolved just now, well within the reopen window.
    clock.advance(Duration::minutes(1));
    assert_eq!(
        desk.ingest(&report("checkout", clock.now())).unwrap(),
        Ingested::Recorded { id: into }
    );
    assert_eq!(
        desk.ingest(&report("checkout", t0()).resolved()).unwrap(),
        Ingested::Recorded { id: into }
    );
    let duplicate = desk.get(dup).unwrap();
    assert_eq!(duplicate.status(), Status::Resolved);
    assert_eq!(duplicate.reopen_count(), 0);
    assert_eq!(duplicate.signals().len(), 1);

    // After a restart too.
    let restarted = shared(&store, off(), &clock);
    clock.advance(Duration::minutes(1));
    assert_eq!(
        restarted.ingest(&report("checkout", clock.now())).unwrap(),
        Ingested::Recorded { id: into }
    );
    assert_eq!(restarted.get(dup).unwrap().status(), Status::Resolved);
    assert_eq!(restarted.get(dup).unwrap().reopen_count(), 0);
    assert_eq!(store.incident_count(), 2);
}

#[test]
fn a_restarted_desk_routes_a_merged_key_that_never_re_fired_to_the_target() {
    let store = Arc::new(MemoryStore::new());
    let clock = ManualClock::new(t0());
    let (dup, into) = {
        let desk = shared(&store, off(), &clock);
        let pair = two_incidents(&desk);
        clock.advance(Duration::minutes(2));
        desk.merge(pair.0, pair.1, &owner()).unwrap();
        pair
    };
    let desk = shared(&store, off(), &clock);
    clock.advance(Duration::minutes(1));
    assert_eq!(
        desk.ingest(&report("checkout", clock.now())).unwrap(),
        Ingested::Recorded { id: into }
    );
    assert_eq!(desk.get(dup).unwrap().status(), Status::Resolved);
}

#[test]
fn a_closed_duplicates_key_still_leads_to_the_target() {
    let clock = ManualClock::new(t0());
    let desk = desk(off(), &clock);
    let (dup, into) = two_incidents(&desk);
    desk.merge(dup, into, &owner()).unwrap();
    desk.act(
        dup,
        &owner(),
        Command::close("a duplicate", "none").unwrap(),
    )
    .unwrap();
    clock.advance(Duration::minutes(1));
    assert_eq!(
        desk.ingest(&report("checkout", clock.now())).unwrap(),
        Ingested::Recorded { id: into }
    );
    assert_eq!(desk.get(dup).unwrap().status(), Status::Closed);
}

#[test]
fn keys_follow_a_chain_of_merges() {
    let clock = ManualClock::new(t0());
    let desk = desk(off(), &clock);
    let a = opened(desk.ingest(&report("checkout", t0())).unwrap());
    let b = opened(desk.ingest(&monitor("checkout-5xx", t0())).unwrap());
    let c = desk.open(&owner(), by_hand(Severity::High)).unwrap().id;
    desk.merge(a, b, &owner()).unwrap();
    desk.merge(b, c, &owner()).unwrap();
    clock.advance(Duration::minutes(1));
    for alert in [
        report("checkout", clock.now()),
        monitor("checkout-5xx", clock.now()),
    ] {
        assert_eq!(desk.ingest(&alert).unwrap(), Ingested::Recorded { id: c });
    }
    assert_eq!(desk.get(a).unwrap().status(), Status::Resolved);
    assert_eq!(desk.get(b).unwrap().status(), Status::Resolved);
}

#[test]
fn a_redelivery_already_recorded_on_the_duplicate_is_a_duplicate_after_the_merge() {
    let clock = ManualClock::new(t0());
    let desk = desk(off(), &clock);
    let first = report("checkout", t0()).with_severity(Severity::Critical);
    let dup = opened(desk.ingest(&first).unwrap());
    let into = opened(desk.ingest(&monitor("checkout-5xx", t0())).unwrap());
    desk.merge(dup, into, &owner()).unwrap();
    clock.advance(Duration::minutes(1));
    let before = histories(desk.store(), &[dup, into]);
    assert_eq!(
        desk.ingest(&first).unwrap(),
        Ingested::Duplicate { id: dup }
    );
    assert_eq!(histories(desk.store(), &[dup, into]), before);
}

#[test]
fn a_merged_key_reopens_the_target_within_its_reopen_window_only() {
    for (after, reopens) in [
        (Duration::hours(1), true),
        (Duration::hours(1) + Duration::seconds(1), false),
    ] {
        let clock = ManualClock::new(t0());
        let desk = desk(off(), &clock);
        let (dup, into) = two_incidents(&desk);
        clock.advance(Duration::minutes(1));
        desk.merge(dup, into, &owner()).unwrap();
        clock.advance(Duration::minutes(1));
        resolve(&desk, into);
        clock.advance(after);
        let outcome = desk.ingest(&report("checkout", clock.now())).unwrap();
        if reopens {
            assert_eq!(outcome, Ingested::Reopened { id: into }, "after {after}");
            assert_eq!(desk.get(into).unwrap().status(), Status::Open);
        } else {
            let Ingested::Recurred { id, recurrence } = outcome else {
                panic!("after {after}: {outcome:?}")
            };
            assert!(id != dup && id != into);
            assert_eq!(
                recurrence.previous, into,
                "the last incident of the problem"
            );
            assert_eq!(desk.get(into).unwrap().status(), Status::Resolved);
        }
        let duplicate = desk.get(dup).unwrap();
        assert_eq!(duplicate.status(), Status::Resolved, "after {after}");
        assert_eq!(duplicate.reopen_count(), 0);
    }
}

#[test]
fn merging_into_a_resolved_incident_then_re_firing_reopens_that_incident() {
    let clock = ManualClock::new(t0());
    let desk = desk(off(), &clock);
    let (dup, into) = two_incidents(&desk);
    resolve(&desk, into);
    clock.advance(Duration::minutes(5));
    desk.merge(dup, into, &owner()).unwrap();
    assert_eq!(desk.get(into).unwrap().status(), Status::Resolved);
    assert_eq!(desk.get(into).unwrap().merged(), [dup]);
    clock.advance(Duration::minutes(5));
    assert_eq!(
        desk.ingest(&report("checkout", clock.now())).unwrap(),
        Ingested::Reopened { id: into }
    );
    assert_eq!(desk.get(dup).unwrap().status(), Status::Resolved);
}

#[test]
fn the_duplicates_escalation_and_sla_timers_stop() {
    let clock = ManualClock::new(t0());
    let desk = desk(off(), &clock);
    let (dup, into) = two_incidents(&desk);
    let pager = Pager::default();
    // Both are paged at once (step 0 of the critical chain).
    let early = desk.run_until(t0() + Duration::minutes(2), &pager).unwrap();
    assert!(early.fired.iter().any(|(_, id, _)| *id == dup));
    let merged_at = clock.now();
    desk.merge(dup, into, &owner()).unwrap();
    let paged_before = pager.sent.lock().unwrap().len();

    let run = desk.run_until(t0() + Duration::hours(6), &pager).unwrap();
    let after: Vec<_> = run.fired.iter().filter(|(_, id, _)| *id == dup).collect();
    assert!(
        after.is_empty(),
        "timers fired for the duplicate: {after:?}"
    );
    let sent = pager.sent.lock().unwrap();
    assert!(
        sent[paged_before..].iter().all(|n| n.incident != Some(dup)),
        "the duplicate was paged after the merge"
    );
    // The target keeps escalating, and breaches its targets, as it should.
    assert!(
        run.fired
            .iter()
            .any(|(_, id, t)| *id == into && matches!(t, Timer::Escalation { .. }))
    );
    assert!(run.fired.iter().any(|(_, id, t)| *id == into
        && matches!(
            t,
            Timer::SlaBreached {
                target: SlaTarget::Resolve,
                ..
            }
        )));
    // Nothing but deliveries of earlier notifications after the merge on the duplicate.
    for event in desk
        .history(dup)
        .unwrap()
        .iter()
        .filter(|e| e.at > merged_at)
    {
        assert!(
            matches!(
                event.change,
                Change::NotificationDelivered { .. } | Change::NotificationFailed { .. }
            ),
            "{event:?}"
        );
    }
}

#[test]
fn the_duplicate_closes_without_a_review_while_the_target_still_needs_one() {
    let clock = ManualClock::new(t0());
    let desk = desk(Policy::small_business(), &clock);
    let dup = opened(
        desk.ingest(&monitor("checkout-5xx", t0()).with_severity(Severity::Critical))
            .unwrap(),
    );
    let into = desk.open(&owner(), by_hand(Severity::Critical)).unwrap().id;
    assert!(desk.policy().review_required(&desk.get(dup).unwrap()));
    desk.merge(dup, into, &owner()).unwrap();
    assert!(!desk.policy().review_required(&desk.get(dup).unwrap()));
    desk.act(
        dup,
        &owner(),
        Command::close("duplicate of the report", "none").unwrap(),
    )
    .unwrap();
    assert_eq!(desk.get(dup).unwrap().status(), Status::Closed);

    resolve(&desk, into);
    assert!(desk.policy().review_required(&desk.get(into).unwrap()));
    match desk
        .act(
            into,
            &owner(),
            Command::close("fixed", "test deploys").unwrap(),
        )
        .unwrap_err()
    {
        Error::Rejected(r) => assert_eq!(r.reason, Refusal::ReviewRequired, "{r}"),
        e => panic!("{e:?}"),
    }
    close(&desk, into);
}

#[test]
fn a_false_alarm_closes_without_a_review() {
    let clock = ManualClock::new(t0());
    let desk = desk(Policy::small_business(), &clock);
    let id = desk.open(&owner(), by_hand(Severity::Critical)).unwrap().id;
    desk.act(id, &owner(), Command::resolve(Resolution::FalseAlarm))
        .unwrap();
    assert!(!desk.policy().review_required(&desk.get(id).unwrap()));
    desk.act(
        id,
        &owner(),
        Command::close("nothing was wrong", "none").unwrap(),
    )
    .unwrap();
}

#[test]
fn a_duplicate_resolved_by_hand_closes_without_a_review_and_its_key_leads_on() {
    let clock = ManualClock::new(t0());
    let desk = desk(off(), &clock);
    let (dup, into) = two_incidents(&desk);
    desk.act(
        dup,
        &owner(),
        Command::resolve(Resolution::Duplicate { of: into }),
    )
    .unwrap();
    assert_eq!(desk.get(dup).unwrap().duplicate_of(), Some(into));
    desk.act(dup, &owner(), Command::close("duplicate", "none").unwrap())
        .unwrap();
    clock.advance(Duration::minutes(1));
    assert_eq!(
        desk.ingest(&report("checkout", clock.now())).unwrap(),
        Ingested::Recorded { id: into }
    );
}

/// Expects `merge(dup, into, actor)` to fail as `expected` says and record nothing.
#[track_caller]
fn refused<S: Store>(
    desk: &Desk<S, &ManualClock>,
    dup: incidents::IncidentId,
    into: incidents::IncidentId,
    actor: &incidents::Actor,
    expected: impl Fn(&Error) -> bool,
) {
    let ids: Vec<_> = [dup, into]
        .into_iter()
        .filter(|id| desk.get(*id).is_ok())
        .collect();
    let before = histories(desk.store(), &ids);
    let projected: Vec<_> = ids.iter().map(|id| desk.get(*id).unwrap()).collect();
    let err = desk.merge(dup, into, actor).unwrap_err();
    assert!(expected(&err), "unexpected error: {err:?}");
    assert_eq!(histories(desk.store(), &ids), before, "recorded on refusal");
    let after: Vec<_> = ids.iter().map(|id| desk.get(*id).unwrap()).collect();
    assert_eq!(after, projected);
}

fn rejected(reason: Refusal) -> impl Fn(&Error) -> bool {
    move |e| matches!(e, Error::Rejected(r) if r.command == CommandKind::Merge && r.reason == reason)
}

#[test]
fn merging_into_itself_is_rejected() {
    let clock = ManualClock::new(t0());
    let desk = desk(off(), &clock);
    let (dup, _) = two_incidents(&desk);
    refused(
        &desk,
        dup,
        dup,
        &owner(),
        rejected(Refusal::MergeIntoItself),
    );
    resolve(&desk, dup);
    refused(&desk, dup, dup, &owner(), |e| {
        matches!(e, Error::Rejected(_))
    });
}

#[test]
fn merging_a_resolved_or_closed_duplicate_is_rejected() {
    let clock = ManualClock::new(t0());
    let desk = desk(off(), &clock);
    let (dup, into) = two_incidents(&desk);
    resolve(&desk, dup);
    refused(&desk, dup, into, &owner(), rejected(Refusal::MergeResolved));
    close(&desk, dup);
    refused(
        &desk,
        dup,
        into,
        &owner(),
        |e| matches!(e, Error::Rejected(r) if r.status == Some(Status::Closed)),
    );
}

#[test]
fn merging_into_a_closed_incident_is_rejected() {
    let clock = ManualClock::new(t0());
    let desk = desk(off(), &clock);
    let (dup, into) = two_incidents(&desk);
    close(&desk, into);
    refused(
        &desk,
        dup,
        into,
        &owner(),
        |e| matches!(e, Error::Rejected(r) if r.incident == Some(into) && r.status == Some(Status::Closed)),
    );
    assert!(desk.get(dup).unwrap().is_active());
}

#[test]
fn merging_into_an_incident_that_is_itself_a_duplicate_is_rejected() {
    let clock = ManualClock::new(t0());
    let desk = desk(off(), &clock);
    let (dup, into) = two_incidents(&desk);
    let third = desk.open(&owner(), by_hand(Severity::High)).unwrap().id;
    desk.merge(third, into, &owner()).unwrap();
    refused(
        &desk,
        dup,
        third,
        &owner(),
        rejected(Refusal::TargetIsDuplicate),
    );
    // Also when it was resolved as a duplicate by hand.
    let fourth = desk.open(&owner(), by_hand(Severity::High)).unwrap().id;
    desk.act(
        fourth,
        &owner(),
        Command::resolve(Resolution::Duplicate { of: into }),
    )
    .unwrap();
    refused(
        &desk,
        dup,
        fourth,
        &owner(),
        rejected(Refusal::TargetIsDuplicate),
    );
    // And merging back into the duplicate it absorbed.
    refused(
        &desk,
        into,
        third,
        &owner(),
        rejected(Refusal::TargetIsDuplicate),
    );
}

#[test]
fn merging_unknown_incidents_is_not_found_and_only_some_may_merge() {
    let clock = ManualClock::new(t0());
    let desk = desk(off(), &clock);
    let (dup, into) = two_incidents(&desk);
    let unknown = nth_id(4242);
    refused(
        &desk,
        unknown,
        into,
        &owner(),
        |e| matches!(e, Error::NotFound { id } if *id == unknown),
    );
    refused(
        &desk,
        dup,
        unknown,
        &owner(),
        |e| matches!(e, Error::NotFound { id } if *id == unknown),
    );
    for actor in [viewer(), support()] {
        refused(&desk, dup, into, &actor, |e| {
            matches!(
                e,
                Error::Forbidden {
                    action: CommandKind::Merge,
                    ..
                }
            )
        });
    }
    desk.merge(dup, into, &responder()).unwrap();
}

#[test]
fn the_table_rows_for_attach_merge_and_absorb_say_what_the_docs_say() {
    use incidents::lifecycle::{Edge, transition};
    for status in Status::ALL {
        let (attach, merge, absorb) = (
            transition(Some(status), CommandKind::Attach),
            transition(Some(status), CommandKind::Merge),
            transition(Some(status), CommandKind::Absorb),
        );
        match status {
            Status::Closed => {
                assert!(matches!(attach, Edge::Reject(_)), "{status}");
                assert!(matches!(merge, Edge::Reject(_)), "{status}");
                assert!(matches!(absorb, Edge::Reject(_)), "{status}");
            }
            Status::Resolved => {
                assert_eq!(attach, Edge::Stay);
                assert_eq!(absorb, Edge::Stay);
                assert!(
                    matches!(merge, Edge::Reject(Refusal::MergeResolved)),
                    "{merge:?}"
                );
            }
            active => {
                assert_eq!(attach, Edge::Stay, "{active}");
                assert_eq!(absorb, Edge::Stay, "{active}");
                assert_eq!(merge, Edge::Move(Status::Resolved), "{active}");
            }
        }
    }
    for kind in [CommandKind::Attach, CommandKind::Merge, CommandKind::Absorb] {
        assert!(
            matches!(transition(None, kind), Edge::Reject(_)),
            "{kind:?}"
        );
    }
}

#[test]
fn two_merges_in_opposite_directions_at_once_one_wins() {
    for _ in 0..20 {
        let clock = ManualClock::new(t0());
        let desk = desk(off(), &clock);
        let (a, b) = two_incidents(&desk);
        let barrier = std::sync::Barrier::new(2);
        let outcomes: Vec<bool> = std::thread::scope(|s| {
            let handles: Vec<_> = [(a, b), (b, a)]
                .into_iter()
                .map(|(dup, into)| {
                    let (desk, barrier) = (&desk, &barrier);
                    s.spawn(move || {
                        barrier.wait();
                        match desk.merge(dup, into, &owner()) {
                            Ok(_) => true,
                            Err(Error::Rejected(_)) => false,
                            Err(e) => panic!("{e:?}"),
                        }
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(
            outcomes.iter().filter(|won| **won).count(),
            1,
            "{outcomes:?}"
        );
        let (winner_dup, winner_into) = if outcomes[0] { (a, b) } else { (b, a) };
        assert_eq!(
            desk.get(winner_dup).unwrap().duplicate_of(),
            Some(winner_into)
        );
        assert!(desk.get(winner_into).unwrap().is_active());
        assert_eq!(desk.get(winner_into).unwrap().merged(), [winner_dup]);
    }
}
