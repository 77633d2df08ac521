//! Shared test support: fixed values, proptest strategies, and given/when/then helpers.

use chrono::{DateTime, Duration, TimeZone, Utc};
use incidents::error::Refusal;
use incidents::lifecycle::decide;
use incidents::{
    Actor, Change, Command, CommandKind, Event, Incident, IncidentId, NewIncident, Rejected,
    Resolution, Role, Severity, Source, Status,
};
use proptest::prelude::*;

/// 2026-11-27 12:00 UTC, a Friday: the start of every scenario.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()
}

pub fn owner() -> Actor {
    Actor::new("shimon", "Shimon", Role::Owner).unwrap()
}

pub fn responder() -> Actor {
    Actor::new("avi", "Avi", Role::Responder).unwrap()
}

pub fn support() -> Actor {
    Actor::new("noa", "Noa", Role::Support).unwrap()
}

pub fn new_incident() -> NewIncident {
    NewIncident::new(
        "Checkout crashes",
        Severity::High,
        "online shop",
        Source::CustomerReport,
    )
    .unwrap()
}

/// The id used by given/when/then scenarios.
pub fn scenario_id() -> IncidentId {
    IncidentId::from_bytes([0x01, 0x9d, 0, 0, 0, 0, 0x70, 0, 0x80, 0, 0, 0, 0, 0, 0, 1])
}

/// One sample command of each kind (data chosen so it is never a data-level no-op on a fresh
/// incident), for exhaustive walks.
pub fn sample(kind: CommandKind, id: IncidentId) -> Command {
    match kind {
        CommandKind::Open => Command::Open {
            id,
            incident: new_incident(),
        },
        CommandKind::Acknowledge => Command::Acknowledge,
        CommandKind::AssignOwner => Command::assign_owner(responder()),
        CommandKind::StartInvestigating => Command::StartInvestigating,
        CommandKind::Identify => Command::identify("disk full on the shop server").unwrap(),
        CommandKind::Mitigate => Command::mitigate("freed space").unwrap(),
        CommandKind::Resolve => Command::resolve(Resolution::Fixed),
        CommandKind::Reopen => Command::reopen("it is back").unwrap(),
        CommandKind::Close => Command::close("summary", "lessons").unwrap(),
        CommandKind::ChangeSeverity => {
            Command::change_severity(Severity::Critical, "worse than thought").unwrap()
        }
        CommandKind::AddNote => Command::note("looking at the logs").unwrap(),
        CommandKind::PostCustomerUpdate => Command::customer_update("we are on it").unwrap(),
        CommandKind::WaitForVendor => Command::wait_for_vendor("PayCo", Some("case 4711")).unwrap(),
        CommandKind::VendorResponded => {
            Command::vendor_responded(Some("fixed on their side")).unwrap()
        }
        CommandKind::AddResponder => Command::AddResponder {
            responder: support(),
        },
        CommandKind::RemoveResponder => Command::RemoveResponder {
            responder: "noa".into(),
        },
        CommandKind::AddTask => Command::add_task("check the logs", Some("avi")).unwrap(),
        CommandKind::AssignTask => Command::AssignTask {
            task: 1,
            assignee: "noa".into(),
        },
        CommandKind::CompleteTask => Command::CompleteTask { task: 1 },
        CommandKind::RecordReview => Command::review(
            incidents::people::Review::new("the disk filled up", "log rotation was off")
                .unwrap()
                .follow_up("turn on log rotation", "avi", t0() + Duration::days(7))
                .unwrap(),
        ),
        CommandKind::CompleteFollowUp => Command::CompleteFollowUp { follow_up: 1 },
        CommandKind::RecordFeedback => Command::feedback(4, Some("quick fix, thanks")).unwrap(),
        CommandKind::Attach => Command::Attach {
            signal: incidents::Alert::firing(
                "uptime",
                "checkout-5xx",
                "online shop",
                "Checkout returns 500",
                t0(),
            )
            .unwrap()
            .signal(),
        },
        CommandKind::Merge => Command::Merge {
            into: IncidentId::from_bytes([
                0x01, 0x9d, 0, 0, 0, 0, 0x70, 0, 0x80, 0, 0, 0, 0, 0, 0, 2,
            ]),
        },
        CommandKind::SetImpact => {
            Command::set_impact(Some(incidents::lifecycle::Impact::MajorOutage))
        }
        CommandKind::SetPublicTitle => Command::public_title(Some("Checkout is down")).unwrap(),
        CommandKind::DeclareBreach => Command::declare_breach(
            vec![
                incidents::regulatory::Regime::new("gdpr", "GDPR", "Art. 33", "EU").with_phase(
                    incidents::regulatory::Phase::new(
                        "authority",
                        incidents::regulatory::Recipient::Authority,
                        incidents::regulatory::Deadline::CalendarHours(72),
                    ),
                ),
            ],
            t0(),
        )
        .unwrap(),
        CommandKind::SetBecameAware => {
            Command::set_became_aware(t0() - Duration::hours(1), "the log shows it earlier")
                .unwrap()
        }
        CommandKind::FileNotice => {
            Command::file_notice("gdpr", "authority", "DPA-1", "the form", None).unwrap()
        }
        CommandKind::Signal
        | CommandKind::WarnNotice
        | CommandKind::Absorb
        | CommandKind::Fire
        | CommandKind::Notify
        | CommandKind::Deliver
        | CommandKind::Remind => {
            panic!("{kind:?} is recorded by the desk, not sent as a command")
        }
        // `CommandKind` is non-exhaustive; the table walk in lifecycle_table.rs visits every kind
        // in `CommandKind::ALL`, so a kind without a sample fails there.
        other => panic!("no sample command for {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// proptest strategies

pub fn arb_actor() -> impl Strategy<Value = Actor> {
    prop_oneof![
        Just(owner()),
        Just(responder()),
        Just(support()),
        Just(Actor::system()),
    ]
}

pub fn arb_severity() -> impl Strategy<Value = Severity> {
    prop::sample::select(Severity::ALL.to_vec())
}

fn arb_words() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "disk full",
        "certificate expired",
        "payment provider outage",
        "DDoS attack",
        "bad deploy",
        "printer out of paper",
    ])
    .prop_map(String::from)
}

pub fn arb_resolution(others: Vec<IncidentId>) -> impl Strategy<Value = Resolution> {
    let dup = prop::sample::select(others).prop_map(|of| Resolution::Duplicate { of });
    prop_oneof![
        3 => Just(Resolution::Fixed),
        1 => Just(Resolution::Workaround),
        1 => Just(Resolution::FalseAlarm),
        1 => dup,
    ]
}

/// Any command on an existing incident. `ids` are the candidate duplicate targets (include the
/// incident itself, to exercise the self-duplicate rule).
pub fn arb_command(ids: Vec<IncidentId>) -> impl Strategy<Value = Command> {
    prop_oneof![
        3 => Just(Command::Acknowledge),
        2 => arb_actor().prop_map(Command::assign_owner),
        2 => Just(Command::StartInvestigating),
        2 => arb_words().prop_map(|w| Command::identify(w).unwrap()),
        2 => arb_words().prop_map(|w| Command::mitigate(w).unwrap()),
        3 => arb_resolution(ids).prop_map(Command::resolve),
        2 => arb_words().prop_map(|w| Command::reopen(w).unwrap()),
        2 => (arb_words(), arb_words()).prop_map(|(s, l)| Command::close(s, l).unwrap()),
        2 => (arb_severity(), arb_words())
            .prop_map(|(to, why)| Command::change_severity(to, why).unwrap()),
        2 => arb_words().prop_map(|w| Command::note(w).unwrap()),
        1 => arb_words().prop_map(|w| Command::customer_update(w).unwrap()),
        1 => (arb_words(), prop::option::of(arb_words()))
            .prop_map(|(v, r)| Command::wait_for_vendor(v, r.as_deref()).unwrap()),
        1 => prop::option::of(arb_words())
            .prop_map(|n| Command::vendor_responded(n.as_deref()).unwrap()),
        1 => Just(Command::Open { id: ids_first(), incident: new_incident() }),
    ]
}

fn ids_first() -> IncidentId {
    scenario_id()
}

/// A clock step between commands: mostly forward, sometimes backwards (a clock that was
/// corrected), in seconds.
pub fn arb_step() -> impl Strategy<Value = i64> {
    prop_oneof![
        8 => 0i64..3_600,
        1 => -3_600i64..0,
        1 => Just(0i64),
    ]
}

// ---------------------------------------------------------------------------------------------
// given / when / then

/// A lifecycle scenario against the pure core: given a history, when a command arrives, then
/// these events (or this rejection).
///
/// ```ignore
/// given().opened().and(Command::Acknowledge)
///     .when(Command::StartInvestigating)
///     .then_status(Status::Investigating);
/// ```
pub struct Given {
    incident: Option<Incident>,
    history: Vec<Event>,
    now: DateTime<Utc>,
}

pub fn given() -> Given {
    Given {
        incident: None,
        history: Vec::new(),
        now: t0(),
    }
}

impl Given {
    /// The incident was opened.
    pub fn opened(self) -> Given {
        self.and(Command::Open {
            id: scenario_id(),
            incident: new_incident(),
        })
    }

    /// And this command was accepted earlier (panics if it was not: the scenario is wrong).
    pub fn and(mut self, command: Command) -> Given {
        self.now += Duration::minutes(1);
        let events = decide(self.incident.as_ref(), &command, &owner(), self.now)
            .unwrap_or_else(|e| panic!("scenario setup: {e}"));
        for event in &events {
            match self.incident.as_mut() {
                None => self.incident = Some(Incident::opened(scenario_id(), event).unwrap()),
                Some(incident) => incident.apply(event).unwrap(),
            }
        }
        self.history.extend(events);
        self
    }

    /// When this command arrives one minute later.
    pub fn when(self, command: Command) -> Then {
        let now = self.now + Duration::minutes(1);
        let outcome = decide(self.incident.as_ref(), &command, &owner(), now);
        Then {
            before: self.incident,
            outcome,
        }
    }
}

pub struct Then {
    before: Option<Incident>,
    outcome: Result<Vec<Event>, Rejected>,
}

impl Then {
    fn after(&self) -> Incident {
        let events = self.outcome.as_ref().expect("command was rejected");
        let mut incident = self.before.clone();
        for event in events {
            match incident.as_mut() {
                None => incident = Some(Incident::opened(scenario_id(), event).unwrap()),
                Some(i) => i.apply(event).unwrap(),
            }
        }
        incident.expect("no incident")
    }

    /// Then the command is accepted and the incident ends in `status`.
    pub fn then_status(self, status: Status) -> Self {
        assert_eq!(self.after().status(), status);
        self
    }

    /// Then exactly these changes are recorded.
    pub fn then_records(self, expected: &[Change]) -> Self {
        let events = self.outcome.as_ref().expect("command was rejected");
        let changes: Vec<&Change> = events.iter().map(|e| &e.change).collect();
        assert_eq!(changes, expected.iter().collect::<Vec<_>>());
        self
    }

    /// Then the command is accepted and records nothing.
    pub fn then_nothing_recorded(self) -> Self {
        let events = self.outcome.as_ref().expect("command was rejected");
        assert!(events.is_empty(), "expected no events, got {events:?}");
        self
    }

    /// Then the command is rejected, for `reason`.
    pub fn then_rejected(self, reason: Refusal) -> Self {
        let err = self.outcome.as_ref().expect_err("command was accepted");
        assert_eq!(err.reason, reason, "rejection {err}");
        self
    }

    /// Then the resulting incident satisfies `check`.
    pub fn then_incident(self, check: impl FnOnce(&Incident)) -> Self {
        check(&self.after());
        self
    }
}

// ---------------------------------------------------------------------------------------------
// store test data

/// A simple event for store tests: a note saying `text`, at `t0() + n seconds`.
pub fn note_event(n: u64, text: &str) -> Event {
    Event::new(
        t0() + Duration::seconds(n as i64),
        owner(),
        Change::NoteAdded {
            text: incidents::Text::new("note", text).unwrap(),
        },
    )
}

/// `count` distinct note events, numbered from `from`.
pub fn note_events(from: u64, count: u64) -> Vec<Event> {
    (from..from + count)
        .map(|n| note_event(n, &format!("note {n}")))
        .collect()
}

/// A deterministic incident id from a number.
pub fn nth_id(n: u64) -> IncidentId {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&n.to_be_bytes());
    bytes[8] = 0x80;
    IncidentId::from_bytes(bytes)
}
