//! People and learning: permissions, ownership and handovers, tasks and playbooks, reviews and
//! follow-ups, customer feedback.

use std::collections::BTreeMap;

use chrono::Duration;
use incidents::error::Refusal;
use incidents::lifecycle::Timer;
use incidents::people::{Grant, Permissions, Playbook, PlaybookMatch, Review};
use incidents::{
    Actor, Calendar, Change, Clock, Command, CommandKind, Desk, Error, ManualClock, MemoryStore,
    NewIncident, Policy, Resolution, Role, Severity, Source, Status, Store,
};
use proptest::prelude::*;

use crate::support::{new_incident, owner, responder, sample, support, t0};

fn viewer() -> Actor {
    Actor::new("vic", "Vic", Role::Viewer).unwrap()
}

/// The documented default, written out by hand: what each role may send.
fn documented(role: Role, kind: CommandKind) -> bool {
    use CommandKind as C;
    match role {
        Role::Owner => kind.is_command(),
        Role::Viewer => false,
        Role::Support => matches!(
            kind,
            C::Open
                | C::AddNote
                | C::PostCustomerUpdate
                | C::SetImpact
                | C::SetPublicTitle
                | C::RecordFeedback
                | C::Attach
        ),
        Role::Responder => matches!(
            kind,
            C::Open
                | C::Acknowledge
                | C::StartInvestigating
                | C::Identify
                | C::Mitigate
                | C::Resolve
                | C::AddNote
                | C::PostCustomerUpdate
                | C::SetImpact
                | C::SetPublicTitle
                | C::WaitForVendor
                | C::VendorResponded
                | C::AddResponder
                | C::RemoveResponder
                | C::AddTask
                | C::AssignTask
                | C::CompleteTask
                | C::CompleteFollowUp
                | C::RecordFeedback
                | C::Attach
                | C::Merge
        ),
        Role::System => matches!(kind, C::Open | C::AddNote | C::Resolve | C::Reopen),
    }
}

fn actor_of(role: Role) -> Actor {
    Actor::new(format!("{role}-1"), "Someone", role).unwrap()
}

#[test]
fn every_role_and_command_is_allowed_exactly_as_documented() {
    let permissions = Permissions::small_business();
    let id = crate::support::scenario_id();
    for role in Role::ALL {
        for kind in CommandKind::ALL
            .into_iter()
            .filter(|k| k.is_command() && *k != CommandKind::Open)
        {
            assert_eq!(
                permissions.allows(role, &sample(kind, id)),
                documented(role, kind),
                "{role} {kind}"
            );
        }
        for source in Source::ALL {
            let expected = match role {
                Role::Owner | Role::System => true,
                Role::Support => source == Source::CustomerReport,
                Role::Responder => matches!(source, Source::StaffReport | Source::ProactiveCheck),
                Role::Viewer => false,
            };
            assert_eq!(
                permissions.allows_open(role, source),
                expected,
                "{role} open from {source}"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Every (role, command) pair through the desk: allowed exactly as the policy table says,
    /// and a forbidden command leaves the incident and the store unchanged.
    #[test]
    fn forbidden_commands_change_nothing(
        role in prop::sample::select(Role::ALL.to_vec()),
        kind in prop::sample::select(
            CommandKind::ALL.into_iter().filter(|k| k.is_command() && *k != CommandKind::Open).collect::<Vec<_>>()
        ),
        resolved in any::<bool>(),
    ) {
        let clock = ManualClock::new(t0());
        let desk = Desk::new(MemoryStore::new(), &clock).unwrap();
        let id = desk.open(&owner(), new_incident()).unwrap().id;
        if resolved {
            desk.act(id, &owner(), Command::resolve(Resolution::Fixed)).unwrap();
        }
        let command = sample(kind, id);
        let before = desk.get(id).unwrap();
        let stored = desk.store().load(id).unwrap();
        let result = desk.act(id, &actor_of(role), command);
        let allowed = Permissions::small_business().allows(role, &sample(kind, id));
        prop_assert_eq!(allowed, documented(role, kind));
        match result {
            Err(Error::Forbidden { action, actor }) => {
                prop_assert!(!allowed);
                prop_assert_eq!(action, kind);
                prop_assert!(actor.contains(&role.to_string()));
                prop_assert_eq!(desk.get(id).unwrap(), before);
                prop_assert_eq!(desk.store().load(id).unwrap(), stored);
            }
            other => prop_assert!(allowed, "{role} {kind} was not refused: {other:?}"),
        }
    }
}

#[test]
fn support_opens_from_customer_reports_only_and_viewers_only_read() {
    let clock = ManualClock::new(t0());
    let desk = Desk::new(MemoryStore::new(), &clock).unwrap();
    let report = NewIncident::new(
        "Order page blank",
        Severity::High,
        "online shop",
        Source::CustomerReport,
    )
    .unwrap();
    let id = desk.open(&support(), report).unwrap().id;
    let staff =
        NewIncident::new("Till frozen", Severity::High, "POS", Source::StaffReport).unwrap();
    let err = desk.open(&support(), staff).unwrap_err();
    assert_eq!(
        err.to_string(),
        "forbidden: Noa (support) may not open incidents"
    );
    let err = desk
        .act(id, &viewer(), Command::note("hi").unwrap())
        .unwrap_err();
    assert!(matches!(
        err,
        Error::Forbidden {
            action: CommandKind::AddNote,
            ..
        }
    ));
    assert_eq!(desk.get(id).unwrap().title(), "Order page blank"); // reading is fine
    let err = desk
        .act(id, &responder(), Command::reopen("x").unwrap())
        .unwrap_err();
    assert!(matches!(
        err,
        Error::Forbidden {
            action: CommandKind::Reopen,
            ..
        }
    ));
}

#[test]
fn hosts_can_replace_the_permissions() {
    let clock = ManualClock::new(t0());
    let only_owner = Permissions::new(BTreeMap::from([(
        Role::Owner,
        Grant {
            commands: [CommandKind::Open, CommandKind::Acknowledge].into(),
            open_from: [Source::StaffReport].into(),
        },
    )]));
    let desk = Desk::builder(MemoryStore::new(), &clock)
        .permissions(only_owner)
        .build()
        .unwrap();
    let id = desk.open(&owner(), new_incident().clone()).map(|r| r.id);
    assert!(
        matches!(id, Err(Error::Forbidden { .. })),
        "customer report not granted"
    );
    let staff = NewIncident::new("Till", Severity::Low, "POS", Source::StaffReport).unwrap();
    let id = desk.open(&owner(), staff).unwrap().id;
    desk.act(id, &owner(), Command::Acknowledge).unwrap();
    assert!(desk.act(id, &owner(), Command::StartInvestigating).is_err());
    let everyone = Desk::builder(MemoryStore::new(), &clock)
        .permissions(Permissions::allow_all())
        .build()
        .unwrap();
    let id = everyone.open(&viewer(), new_incident()).unwrap().id;
    everyone
        .act(id, &viewer(), Command::reopen("x").unwrap())
        .unwrap_err(); // table, not permission
}

#[test]
fn one_owner_any_number_of_responders_and_every_handover_recorded() {
    let clock = ManualClock::new(t0());
    let desk = Desk::new(MemoryStore::new(), &clock).unwrap();
    let id = desk.open(&owner(), new_incident()).unwrap().id;
    desk.act(id, &owner(), Command::assign_owner(owner()))
        .unwrap();
    clock.advance(Duration::minutes(30));
    let dana = Actor::new("dana", "Dana", Role::Owner).unwrap();
    desk.act(id, &owner(), Command::assign_owner(dana.clone()))
        .unwrap();
    desk.act(
        id,
        &dana,
        Command::AddResponder {
            responder: responder(),
        },
    )
    .unwrap();
    desk.act(
        id,
        &dana,
        Command::AddResponder {
            responder: support(),
        },
    )
    .unwrap();
    let again = desk
        .act(
            id,
            &dana,
            Command::AddResponder {
                responder: support(),
            },
        )
        .unwrap();
    assert!(again.events.is_empty());
    desk.act(
        id,
        &dana,
        Command::RemoveResponder {
            responder: "noa".into(),
        },
    )
    .unwrap();
    let incident = desk.get(id).unwrap();
    assert_eq!(incident.owner(), Some(&dana));
    assert_eq!(incident.responders(), [responder()]);
    let handovers = incident.handovers();
    assert_eq!(handovers.len(), 2);
    assert_eq!(
        (handovers[1].from.as_ref(), &handovers[1].to),
        (Some(&owner()), &dana)
    );
    assert_eq!(handovers[1].at, t0() + Duration::minutes(30));
}

#[test]
fn tasks_can_be_added_assigned_and_completed() {
    let clock = ManualClock::new(t0());
    let desk = Desk::new(MemoryStore::new(), &clock).unwrap();
    let id = desk.open(&owner(), new_incident()).unwrap().id;
    desk.act(
        id,
        &responder(),
        Command::add_task("Check the provider's status page", None).unwrap(),
    )
    .unwrap();
    desk.act(
        id,
        &responder(),
        Command::AssignTask {
            task: 1,
            assignee: "avi".into(),
        },
    )
    .unwrap();
    desk.act(id, &responder(), Command::CompleteTask { task: 1 })
        .unwrap();
    assert!(
        desk.act(id, &responder(), Command::CompleteTask { task: 1 })
            .unwrap()
            .events
            .is_empty()
    );
    let err = desk
        .act(id, &responder(), Command::CompleteTask { task: 9 })
        .unwrap_err();
    assert!(
        matches!(&err, Error::Rejected(r) if r.reason == Refusal::NoSuchTask),
        "{err}"
    );
    let task = desk.get(id).unwrap().tasks()[0].clone();
    assert_eq!(task.assignee.as_deref(), Some("avi"));
    assert_eq!(task.done.as_ref().unwrap().1, responder());
}

#[test]
fn playbooks_add_their_checklist_when_a_matching_incident_opens() {
    let clock = ManualClock::new(t0());
    let payments = Playbook::new(
        "payments down",
        PlaybookMatch {
            service: Some("payments".parse().unwrap()),
            ..PlaybookMatch::default()
        },
    )
    .task("Check the payment provider's status page")
    .unwrap()
    .task("Switch the till to the backup card terminal")
    .unwrap()
    .task("Post a notice on the shop: card payments are delayed")
    .unwrap();
    let critical_only = Playbook::new(
        "critical",
        PlaybookMatch {
            min_severity: Some(Severity::Critical),
            ..PlaybookMatch::default()
        },
    )
    .task("Call the owner")
    .unwrap();
    let policy = Policy::small_business()
        .with_playbook(payments)
        .with_playbook(critical_only);
    let desk = Desk::builder(MemoryStore::new(), &clock)
        .policy(policy)
        .build()
        .unwrap();
    let new = NewIncident::new(
        "Card payments fail",
        Severity::Critical,
        "payments",
        Source::Alert,
    )
    .unwrap();
    let receipt = desk.open(&owner(), new).unwrap();
    let titles: Vec<String> = desk
        .get(receipt.id)
        .unwrap()
        .tasks()
        .iter()
        .map(|t| t.title.to_string())
        .collect();
    assert_eq!(
        titles,
        [
            "Check the payment provider's status page",
            "Switch the till to the backup card terminal",
            "Post a notice on the shop: card payments are delayed",
            "Call the owner"
        ]
    );
    assert_eq!(
        receipt.events.len(),
        5,
        "opened + four tasks, in one append"
    );
    assert_eq!(
        desk.get(receipt.id).unwrap().tasks()[0].playbook.as_deref(),
        Some("payments down")
    );
    let other = desk.open(&owner(), new_incident()).unwrap().id;
    assert!(desk.get(other).unwrap().tasks().is_empty());
    // Alerts get them too.
    let alert = incidents::Alert::firing("uptime", "pay", "payments", "Gateway 502", t0()).unwrap();
    let id = desk.ingest(&alert).unwrap().incident().unwrap();
    assert_eq!(desk.get(id).unwrap().tasks().len(), 3);
}

fn review() -> Review {
    Review::new(
        "The card terminal rejected every card for 40 minutes",
        "An expired TLS certificate",
    )
    .unwrap()
    .lesson("Monitor certificate expiry")
    .unwrap()
    .follow_up(
        "Add certificate expiry monitoring",
        "avi",
        t0() + Duration::days(7),
    )
    .unwrap()
    .follow_up(
        "Renew certificates automatically",
        "dana",
        t0() + Duration::days(14),
    )
    .unwrap()
}

#[test]
fn closing_without_a_required_review_is_rejected_and_changes_nothing() {
    let clock = ManualClock::new(t0());
    let desk = Desk::new(MemoryStore::new(), &clock).unwrap(); // high: review required
    let id = desk.open(&owner(), new_incident()).unwrap().id;
    desk.act(id, &owner(), Command::resolve(Resolution::Fixed))
        .unwrap();
    let before = desk.history(id).unwrap();
    let err = desk
        .act(id, &owner(), Command::close("s", "l").unwrap())
        .unwrap_err();
    assert!(
        err.to_string().contains("requires a post-incident review"),
        "{err}"
    );
    assert_eq!(desk.history(id).unwrap(), before);
    // A review cannot come before resolving.
    let open = desk.open(&owner(), new_incident()).unwrap().id;
    let err = desk
        .act(open, &owner(), Command::review(review()))
        .unwrap_err();
    assert!(
        matches!(&err, Error::Rejected(r) if r.reason == Refusal::ReviewBeforeResolving),
        "{err}"
    );
    desk.act(id, &owner(), Command::review(review())).unwrap();
    desk.act(id, &owner(), Command::close("s", "l").unwrap())
        .unwrap();
    // Low severity needs none.
    let low = NewIncident::new(
        "Typo on the menu",
        Severity::Low,
        "online shop",
        Source::StaffReport,
    )
    .unwrap();
    let low = desk.open(&owner(), low).unwrap().id;
    desk.act(low, &owner(), Command::resolve(Resolution::Fixed))
        .unwrap();
    desk.act(low, &owner(), Command::close("s", "l").unwrap())
        .unwrap();
}

#[test]
fn follow_ups_complete_after_close_and_overdue_ones_are_reminded_once() {
    let clock = ManualClock::new(t0());
    let desk = Desk::new(MemoryStore::new(), &clock).unwrap();
    let id = desk.open(&owner(), new_incident()).unwrap().id;
    desk.act(id, &owner(), Command::resolve(Resolution::Fixed))
        .unwrap();
    desk.act(id, &owner(), Command::review(review())).unwrap();
    desk.act(id, &owner(), Command::close("s", "l").unwrap())
        .unwrap();
    // Completing a follow-up after close works, without reopening.
    clock.advance(Duration::days(2));
    desk.act(id, &responder(), Command::CompleteFollowUp { follow_up: 1 })
        .unwrap();
    let incident = desk.get(id).unwrap();
    assert_eq!(incident.status(), Status::Closed);
    assert_eq!(
        incident.follow_ups()[0].done.as_ref().unwrap().0,
        t0() + Duration::days(2)
    );
    // The second is overdue on day 14: one reminder to its owner, never two.
    assert_eq!(desk.next_deadline(), Some(t0() + Duration::days(14)));
    clock.set(t0() + Duration::days(15));
    let report = desk.tick(clock.now()).unwrap();
    assert_eq!(report.fired.len(), 1);
    assert!(
        matches!(&report.fired[0].1, Timer::FollowUpOverdue { follow_up: 2, owner, .. } if owner == "dana")
    );
    assert!(
        desk.tick(clock.now() + Duration::days(1))
            .unwrap()
            .fired
            .is_empty()
    );
    let reminder = desk
        .get(id)
        .unwrap()
        .outbox()
        .last()
        .unwrap()
        .notification
        .clone();
    // The follow-up's title is isolated from the template's text (FSI … PDI).
    assert_eq!(
        reminder.subject,
        "Overdue: \u{2068}Renew certificates automatically\u{2069}"
    );
    assert_eq!(
        reminder.audience,
        incidents::lifecycle::Audience::Recipients(vec![incidents::policy::Recipient::Person(
            "dana".into()
        )])
    );
    // Closed incidents still refuse everything else.
    assert!(
        desk.act(id, &owner(), Command::note("late").unwrap())
            .is_err()
    );
}

#[test]
fn customer_feedback_is_recorded_with_score_and_comment() {
    let clock = ManualClock::new(t0());
    let desk = Desk::builder(MemoryStore::new(), &clock)
        .policy(Policy::new(Calendar::always_open(), BTreeMap::new()).unwrap())
        .build()
        .unwrap();
    let id = desk
        .open(
            &support(),
            NewIncident::new(
                "Late order",
                Severity::Low,
                "online shop",
                Source::CustomerReport,
            )
            .unwrap(),
        )
        .unwrap()
        .id;
    desk.act(id, &owner(), Command::resolve(Resolution::Fixed))
        .unwrap();
    desk.act(id, &owner(), Command::close("s", "l").unwrap())
        .unwrap();
    desk.act(
        id,
        &support(),
        Command::feedback(5, Some("Quick and friendly")).unwrap(),
    )
    .unwrap();
    assert_eq!(Command::feedback(6, None).unwrap_err().field, "score");
    assert_eq!(Command::feedback(0, None).unwrap_err().field, "score");
    let feedback = desk.get(id).unwrap().feedback()[0].clone();
    assert_eq!(
        (
            feedback.score.get(),
            feedback.comment.as_ref().unwrap().as_str()
        ),
        (5, "Quick and friendly")
    );
    let history = desk.history(id).unwrap();
    assert!(matches!(
        history.last().unwrap().change,
        Change::FeedbackRecorded { .. }
    ));
}

#[test]
fn customer_impact_counts_every_unresolved_minute_including_vendor_waits() {
    let clock = ManualClock::new(t0());
    let desk = Desk::new(MemoryStore::new(), &clock).unwrap();
    let id = desk.open(&owner(), new_incident()).unwrap().id;
    clock.advance(Duration::minutes(10));
    desk.act(
        id,
        &owner(),
        Command::wait_for_vendor("PayCo", None).unwrap(),
    )
    .unwrap();
    clock.advance(Duration::minutes(20));
    desk.act(id, &owner(), Command::resolve(Resolution::Fixed))
        .unwrap();
    clock.advance(Duration::hours(1));
    desk.act(id, &owner(), Command::reopen("again").unwrap())
        .unwrap();
    clock.advance(Duration::minutes(5));
    let incident = desk.get(id).unwrap();
    assert_eq!(incident.customer_impact(clock.now()), Duration::minutes(35));
}
