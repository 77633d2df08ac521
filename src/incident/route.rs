//! Which parts of the incident check and fold each kind of change.
//!
//! Every part matches on the changes it owns and lets the others pass, so on its own a part
//! says nothing about a change it was never written for. [`parts`] is the one exhaustive
//! `match` over [`Change`], without a wildcard arm, that names for every variant the parts
//! that see it; the incident's `check` and `commit` call only those. A new variant does not
//! compile until it is routed here, and the tests below prove the table exact: folding and
//! checking through it gives what handing the change to every part gives, and every part it
//! names makes a difference for that variant.
//!
//! Two things happen for every event and are not routed here: the header's bookkeeping (the
//! date check, `updated_at`, `version`, the last human action), and entering a new stage,
//! which the [transition table](crate::lifecycle::transition) decides for every command.

use crate::lifecycle::Change;

/// A set of the incident's parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Parts(u8);

impl Parts {
    /// No part: the change only moves the stage, or (`Opened`) builds the incident.
    pub(super) const NONE: Parts = Parts(0);
    /// The header's data a change can carry: the severity, the public impact override and
    /// the public title.
    pub(super) const HEADER: Parts = Parts(1);
    /// `stage`: first resolution, time unresolved, reopenings.
    pub(super) const STAGE: Parts = Parts(1 << 1);
    /// `clocks`: resolve clock, escalation clock, vendor waits, fired timers.
    pub(super) const CLOCKS: Parts = Parts(1 << 2);
    /// `signals`: what the incident heard, merges.
    pub(super) const SIGNALS: Parts = Parts(1 << 3);
    /// `people`: owner, responders, tasks, reviews, follow-ups, feedback.
    pub(super) const PEOPLE: Parts = Parts(1 << 4);
    /// `record`: root cause, mitigations, notes, customer updates.
    pub(super) const RECORD: Parts = Parts(1 << 5);
    /// `outbox`: the notifications requested and where each stands.
    pub(super) const OUTBOX: Parts = Parts(1 << 6);
    /// `breach`: the declared breach, its awareness, filings and notice warnings.
    pub(super) const BREACH: Parts = Parts(1 << 7);

    /// Both sets.
    const fn and(self, other: Parts) -> Parts {
        Parts(self.0 | other.0)
    }

    /// Whether `part` is in the set.
    pub(super) const fn has(self, part: Parts) -> bool {
        self.0 & part.0 == part.0
    }
}

/// The parts that check and fold `change`.
#[allow(
    clippy::match_same_arms,
    reason = "one arm per reason, each with its comment"
)]
pub(super) const fn parts(change: &Change) -> Parts {
    match change {
        // `Incident::opened` builds every part from it; the transition table refuses it after.
        Change::Opened { .. } => Parts::NONE,
        // They only move the stage (a closure enters with the `Closed` stage).
        Change::Acknowledged | Change::InvestigationStarted | Change::Closed { .. } => Parts::NONE,
        Change::SeverityChanged { .. }
        | Change::ImpactSet { .. }
        | Change::PublicTitleSet { .. } => Parts::HEADER,
        Change::Resolved { .. } | Change::Reopened { .. } => Parts::STAGE.and(Parts::CLOCKS),
        // Signals refuse a merge into itself.
        Change::MergedInto { .. } => Parts::STAGE.and(Parts::CLOCKS).and(Parts::SIGNALS),
        Change::VendorWaitStarted { .. } | Change::VendorWaitEnded { .. } => Parts::CLOCKS,
        // The breach owns the notice warnings.
        Change::TimerFired {
            timer:
                crate::lifecycle::Timer::NoticeAtRisk { .. }
                | crate::lifecycle::Timer::NoticeOverdue { .. },
        }
        | Change::BreachDeclared { .. }
        | Change::BecameAwareSet { .. }
        | Change::NoticeFiled { .. } => Parts::BREACH,
        // Clocks own the timers; people own follow-up reminders.
        Change::TimerFired { .. } => Parts::CLOCKS.and(Parts::PEOPLE),
        Change::SignalReceived { .. } | Change::DuplicateMerged { .. } => Parts::SIGNALS,
        Change::OwnerAssigned { .. }
        | Change::ResponderAdded { .. }
        | Change::ResponderRemoved { .. }
        | Change::TaskAdded { .. }
        | Change::TaskAssigned { .. }
        | Change::TaskCompleted { .. }
        | Change::ReviewRecorded { .. }
        | Change::FollowUpCompleted { .. }
        | Change::FeedbackRecorded { .. } => Parts::PEOPLE,
        Change::RootCauseIdentified { .. }
        | Change::Mitigated { .. }
        | Change::NoteAdded { .. }
        | Change::CustomerUpdatePosted { .. } => Parts::RECORD,
        Change::NotificationRequested { .. }
        | Change::NotificationDelivered { .. }
        | Change::NotificationFailed { .. } => Parts::OUTBOX,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use chrono::{DateTime, Duration, TimeZone, Utc};

    use super::{Parts, parts};
    use crate::error::HistoryError;
    use crate::incident::Incident;
    use crate::lifecycle::{
        Audience, Change, Event, Notification, Resolution, Signal, SignalState, Timer,
    };
    use crate::model::{Actor, IncidentId, Role, Service, Source};
    use crate::people::{Review, Score};
    use crate::severity::Severity;
    use crate::text::{Text, Title};

    const ID: IncidentId = IncidentId::from_bytes([0xAA; 16]);

    /// Every part, named for the messages.
    const EACH: [(&str, Parts); 8] = [
        ("breach", Parts::BREACH),
        ("header", Parts::HEADER),
        ("stage", Parts::STAGE),
        ("clocks", Parts::CLOCKS),
        ("signals", Parts::SIGNALS),
        ("people", Parts::PEOPLE),
        ("record", Parts::RECORD),
        ("outbox", Parts::OUTBOX),
    ];

    fn every_part() -> Parts {
        EACH.iter()
            .fold(Parts::NONE, |all, (_, part)| all.and(*part))
    }

    /// `parts` without `part`.
    fn without(parts: Parts, part: Parts) -> Parts {
        Parts(parts.0 & !part.0)
    }

    /// How many variants `Change` has.
    const VARIANTS: usize = 34;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()
    }

    fn text(s: &str) -> Text {
        Text::new("text", s).unwrap()
    }

    fn title(s: &str) -> Title {
        Title::new(s).unwrap()
    }

    fn person(id: &str) -> Actor {
        Actor::new(id, id, Role::Responder).unwrap()
    }

    fn signal(state: SignalState) -> Signal {
        Signal {
            key: "alert/disk".into(),
            starts_at: t0(),
            state,
            summary: "disk full".into(),
            origin: Source::Alert,
            reporter: None,
            description: None,
            labels: BTreeMap::new(),
            ends_at: None,
            group: None,
        }
    }

    /// The opening and what the team does while it is open.
    fn working() -> Vec<Change> {
        vec![
            Change::Opened {
                id: ID,
                title: title("the till is down"),
                description: None,
                severity: Severity::High,
                service: Service::new("till").unwrap(),
                source: Source::Alert,
                alert_key: Some("alert/disk".into()),
                idempotency_key: None,
                recurrence: None,
            },
            Change::Acknowledged,
            Change::OwnerAssigned {
                owner: person("alice"),
            },
            Change::InvestigationStarted,
            Change::ResponderAdded {
                responder: person("bob"),
            },
            Change::ResponderRemoved {
                responder: "bob".into(),
            },
            Change::TaskAdded {
                task: 1,
                title: title("restart the till"),
                assignee: None,
                playbook: None,
            },
            Change::TaskAssigned {
                task: 1,
                assignee: "carol".into(),
            },
            Change::TaskCompleted { task: 1 },
            Change::RootCauseIdentified {
                root_cause: text("the disk filled up"),
            },
            Change::Mitigated {
                action: text("logs moved"),
            },
            Change::NoteAdded {
                text: text("seen before"),
            },
            Change::CustomerUpdatePosted {
                message: text("we are on it"),
            },
            Change::SeverityChanged {
                from: Severity::High,
                to: Severity::Critical,
                reason: text("every till"),
            },
            Change::ImpactSet {
                impact: Some(crate::lifecycle::Impact::PartialOutage),
            },
            Change::PublicTitleSet {
                title: Some(title("Card payments fail")),
            },
            Change::ImpactSet { impact: None },
            Change::PublicTitleSet { title: None },
        ]
    }

    /// What the incident hears, waits for and sends.
    fn hearing() -> Vec<Change> {
        let key = "aa/owner".to_string();
        vec![
            Change::VendorWaitStarted {
                vendor: text("disk vendor"),
                reference: None,
            },
            Change::VendorWaitEnded { note: None },
            Change::SignalReceived {
                signal: signal(SignalState::Firing),
            },
            Change::SignalReceived {
                signal: signal(SignalState::Resolved),
            },
            Change::TimerFired {
                timer: Timer::Escalation {
                    cycle: 0,
                    round: 0,
                    step: 0,
                    notify: Vec::new(),
                },
            },
            Change::NotificationRequested {
                notification: Notification {
                    key: key.clone(),
                    incident: Some(ID),
                    audience: Audience::Owner,
                    channel: None,
                    subject: "the till is down".into(),
                    body: "see the desk".into(),
                    locale: None,
                    sms: None,
                },
            },
            Change::NotificationFailed {
                key: key.clone(),
                attempt: 1,
                error: "timed out".into(),
                retry_at: Some(t0() + Duration::hours(1)),
            },
            Change::NotificationDelivered { key },
            Change::BreachDeclared {
                regimes: vec![
                    crate::regulatory::Regime::new("r", "R", "Art. 1", "all").with_phase(
                        crate::regulatory::Phase::new(
                            "p",
                            crate::regulatory::Recipient::Authority,
                            crate::regulatory::Deadline::CalendarHours(72),
                        ),
                    ),
                ],
                became_aware: t0(),
            },
            Change::BecameAwareSet {
                from: t0(),
                to: t0() - Duration::hours(1),
                reason: text("earlier"),
            },
            Change::TimerFired {
                timer: Timer::NoticeAtRisk {
                    regime: "r".into(),
                    phase: "p".into(),
                    due: t0(),
                },
            },
            Change::NoticeFiled {
                regime: "r".into(),
                phase: "p".into(),
                reference: text("ref"),
                summary: text("sent"),
                late_reason: None,
            },
        ]
    }

    /// Merging, resolving, closing, reopening and what comes after.
    fn ending() -> Vec<Change> {
        let review = Review::new("the disk filled up", "logs were never rotated")
            .and_then(|r| r.follow_up("rotate logs", "dave", t0()))
            .unwrap();
        vec![
            // Into itself, so the signals' check refuses it (the fold does not look).
            Change::DuplicateMerged {
                duplicate: ID,
                title: title("the till again"),
            },
            Change::Resolved {
                resolution: Resolution::Fixed,
            },
            Change::Closed {
                summary: text("disk full"),
                lessons: text("rotate logs"),
            },
            Change::Reopened {
                reason: text("full again"),
            },
            Change::ReviewRecorded { review },
            Change::TimerFired {
                timer: Timer::FollowUpOverdue {
                    follow_up: 1,
                    due: t0(),
                    owner: "dave".into(),
                },
            },
            Change::FollowUpCompleted { follow_up: 1 },
            Change::FeedbackRecorded {
                score: Score::new(4).unwrap(),
                comment: None,
            },
            Change::MergedInto { into: ID },
        ]
    }

    /// One or more events of every variant, in an order where each finds what it acts on.
    fn events() -> Vec<Event> {
        let changes = working().into_iter().chain(hearing()).chain(ending());
        changes
            .zip(0..)
            .map(|(change, i)| Event {
                at: t0() + Duration::minutes(i),
                actor: person("alice"),
                change,
            })
            .collect()
    }

    /// The incident before and after each event, folded through every part.
    fn states(events: &[Event]) -> Vec<Incident> {
        let mut incident = Incident::opened(ID, &events[0]).unwrap();
        let mut states = vec![incident.clone()];
        for event in &events[1..] {
            incident.commit_parts(event, None, every_part());
            states.push(incident.clone());
        }
        states
    }

    /// `event` dated after every state, so only the parts' checks can refuse it.
    fn late(event: &Event) -> Event {
        Event {
            at: t0() + Duration::days(1),
            ..event.clone()
        }
    }

    fn folded(state: &Incident, event: &Event, parts: Parts) -> Incident {
        let mut state = state.clone();
        state.commit_parts(event, None, parts);
        state
    }

    fn checked(state: &Incident, event: &Event, parts: Parts) -> Option<HistoryError> {
        state.check_parts(&late(event), parts).err()
    }

    #[test]
    fn every_variant_has_an_example() {
        let seen: BTreeSet<&str> = events().iter().map(|e| e.change.name()).collect();
        assert_eq!(seen.len(), VARIANTS, "{seen:?}");
    }

    #[test]
    fn folding_through_the_table_is_folding_through_every_part() {
        let events = events();
        for (state, event) in states(&events).iter().zip(&events[1..]) {
            assert_eq!(
                folded(state, event, parts(&event.change)),
                folded(state, event, every_part()),
                "{} skips a part that folds it",
                event.change.name()
            );
        }
    }

    #[test]
    fn checking_through_the_table_is_checking_through_every_part() {
        let events = events();
        let mut refused = 0;
        for state in &states(&events) {
            for event in &events {
                let routed = checked(state, event, parts(&event.change));
                assert_eq!(
                    routed,
                    checked(state, event, every_part()),
                    "{} skips a part that checks it",
                    event.change.name()
                );
                refused += usize::from(routed.is_some());
            }
        }
        assert!(refused > 0);
    }

    /// No part is named for show: leaving any routed part out changes the fold or a check of
    /// some example of the variant in some state.
    #[test]
    fn every_part_the_table_names_matters() {
        let events = events();
        let states = states(&events);
        let mut named = BTreeSet::new();
        let mut matters = BTreeSet::new();
        for event in &events[1..] {
            let routed = parts(&event.change);
            for (name, part) in EACH.iter().filter(|(_, part)| routed.has(*part)) {
                let less = without(routed, *part);
                named.insert((event.change.name(), *name));
                if states.iter().any(|state| {
                    folded(state, event, routed) != folded(state, event, less)
                        || checked(state, event, routed) != checked(state, event, less)
                }) {
                    matters.insert((event.change.name(), *name));
                }
            }
        }
        let idle: Vec<_> = named.difference(&matters).collect();
        assert!(idle.is_empty(), "named for nothing: {idle:?}");
    }
}
