//! Property tests of the timer engine: random interleavings of commands, clock jumps and
//! ticks, on virtual time, under an around-the-clock and a business-hours policy.
//!
//! After every step:
//! 1. **No timer fires twice**: every fired key is unique per incident.
//! 2. **Nothing escalates after acknowledgement**: every escalation step was recorded while
//!    its incident was open (unacknowledged), in the opening it belongs to.
//! 3. **Every due timer has fired by the first tick at or after its due time**: after
//!    `tick(now)` and a successful `dispatch`, `next_deadline()` is later than `now`.
//! 4. **`next_deadline()` is never later than the earliest pending deadline**: a tick at any
//!    instant before it records nothing.
//! 5. **Breach events agree with the SLA status**: a recorded breach means the target is
//!    breached; a breached target whose clock is running has its breach recorded.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, NaiveDate, Utc, Weekday};
use chrono_tz::Tz;
use incidents::lifecycle::{Notification, Timer};
use incidents::notify::DeliveryError;
use incidents::sla::{SlaState, sla_status};
use incidents::{
    Calendar, Change, Clock, Command, Desk, Event, Incident, IncidentId, ManualClock, MemoryStore,
    NewIncident, Notifier, Policy, Resolution, Severity, Source, Status,
};
use proptest::prelude::*;

use crate::support::{owner, t0};

struct Accept;

impl Notifier for Accept {
    fn deliver(&self, _: &Notification) -> Result<(), DeliveryError> {
        Ok(())
    }
}

#[derive(Debug, Clone)]
enum Step {
    /// Move the clock forward by some minutes (0..300) and tick.
    Advance(i64),
    /// Jump straight to the next deadline and tick.
    JumpToDeadline,
    /// A command on incident `n % incidents`.
    Act(usize, Command),
}

fn arb_step() -> impl Strategy<Value = Step> {
    let command = prop_oneof![
        3 => Just(Command::Acknowledge),
        2 => Just(Command::StartInvestigating),
        1 => Just(Command::mitigate("restarted").unwrap()),
        2 => Just(Command::resolve(Resolution::Fixed)),
        2 => Just(Command::reopen("back").unwrap()),
        1 => Just(Command::close("s", "l").unwrap()),
        2 => Just(Command::customer_update("we are on it").unwrap()),
        1 => Just(Command::wait_for_vendor("PayCo", None).unwrap()),
        1 => Just(Command::vendor_responded(None).unwrap()),
        1 => prop::sample::select(Severity::ALL.to_vec())
            .prop_map(|s| Command::change_severity(s, "reassessed").unwrap()),
    ];
    prop_oneof![
        3 => (0i64..300).prop_map(Step::Advance),
        3 => Just(Step::JumpToDeadline),
        4 => (0usize..3, command).prop_map(|(n, c)| Step::Act(n, c)),
    ]
}

fn business_policy() -> Policy {
    let calendar = Calendar::weekly(Tz::Europe__London)
        .open(
            [
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
            ],
            "07:00",
            "19:00",
        )
        .unwrap()
        .holiday(NaiveDate::from_ymd_opt(2026, 11, 30).unwrap());
    // The small-business preset, with the chains of every severity waiting for opening hours.
    let mut json: serde_json::Value = serde_json::to_value(Policy::small_business()).unwrap();
    for severity in ["critical", "high", "medium"] {
        json["severities"][severity]["escalation"]["outside_hours"]["page_anyway_from"] =
            serde_json::Value::Null;
        json["severities"][severity]["hours"] = "business".into();
    }
    let policy: Policy = serde_json::from_value(json).unwrap();
    policy.with_calendar(calendar).unwrap()
}

fn fired(history: &[Event]) -> Vec<(usize, Timer)> {
    history
        .iter()
        .enumerate()
        .filter_map(|(i, e)| match &e.change {
            Change::TimerFired { timer } => Some((i, timer.clone())),
            _ => None,
        })
        .collect()
}

fn check_history(id: IncidentId, history: &[Event]) {
    let timers = fired(history);
    let keys: Vec<String> = timers.iter().map(|(_, t)| t.key()).collect();
    let unique: BTreeSet<&String> = keys.iter().collect();
    assert_eq!(unique.len(), keys.len(), "a timer fired twice: {keys:?}");
    for (i, timer) in &timers {
        if let Timer::Escalation { cycle, .. } = timer {
            let before = Incident::replay(id, &history[..*i]).unwrap();
            assert_eq!(
                before.status(),
                Status::Open,
                "escalated while {}",
                before.status()
            );
            assert_eq!(before.reopen_count(), *cycle);
        }
    }
}

/// Breach events agree with the status. A breach is judged against the targets of the
/// severity at the time: after a severity change the new targets may say otherwise.
fn check_breaches(incident: &Incident, history: &[Event], policy: &Policy, now: DateTime<Utc>) {
    let recorded = &incident.fired_timers().breached;
    for status in sla_status(incident, policy, now) {
        if status.target == incidents::lifecycle::SlaTarget::CustomerUpdate {
            continue;
        }
        let breach_recorded = recorded.contains(&status.target);
        let breached_at = history.iter().position(|e| {
            matches!(&e.change, Change::TimerFired { timer: Timer::SlaBreached { target, .. } } if *target == status.target)
        });
        let severity_changed_since = breached_at.is_some_and(|at| {
            history[at..]
                .iter()
                .any(|e| matches!(e.change, Change::SeverityChanged { .. }))
        });
        if breach_recorded && !severity_changed_since {
            assert_eq!(status.state, SlaState::Breached, "{:?}", status.target);
        }
        if status.state == SlaState::Breached && status.due.is_some() && incident.is_active() {
            assert!(
                breach_recorded,
                "{:?} breached at {now} but not recorded",
                status.target
            );
        }
    }
}

fn run(policy: Policy, severities: Vec<Severity>, steps: Vec<Step>, spurious: Vec<u16>) {
    let clock = ManualClock::new(t0());
    let desk = Desk::builder(MemoryStore::new(), &clock)
        .policy(policy.clone())
        .build()
        .unwrap();
    let ids: Vec<IncidentId> = severities
        .iter()
        .map(|s| {
            let new = NewIncident::new("Till down", *s, "POS", Source::StaffReport).unwrap();
            desk.open(&owner(), new).unwrap().id
        })
        .collect();
    let mut spurious = spurious.into_iter().cycle();
    let mut tick = |desk: &Desk<MemoryStore, &ManualClock>, now: DateTime<Utc>| {
        desk.tick(now).unwrap();
        desk.dispatch(&Accept).unwrap();
        let next = desk.next_deadline();
        assert!(
            next.is_none_or(|n| n > now),
            "after tick({now}) something is still due at {next:?}"
        );
        // A tick strictly before the next deadline records nothing.
        if let (Some(next), Some(fraction)) = (next, spurious.next()) {
            let gap = (next - now).num_seconds();
            let early = now + Duration::seconds(gap * i64::from(fraction) / 1024);
            if early < next {
                let report = desk.tick(early).unwrap();
                assert!(
                    report.fired.is_empty(),
                    "tick({early}) before next deadline {next} fired {:?}",
                    report.fired
                );
            }
        }
        for id in &ids {
            let history = desk.history(*id).unwrap();
            check_breaches(&desk.get(*id).unwrap(), &history, desk.policy(), now);
        }
    };
    tick(&desk, clock.now());
    for step in steps {
        match step {
            Step::Advance(minutes) => {
                clock.advance(Duration::minutes(minutes));
                tick(&desk, clock.now());
            }
            Step::JumpToDeadline => {
                if let Some(next) = desk.next_deadline() {
                    clock.set(next.max(clock.now()));
                }
                tick(&desk, clock.now());
            }
            Step::Act(n, command) => {
                let id = ids[n % ids.len()];
                let _ = desk.act(id, &owner(), command);
            }
        }
        for id in &ids {
            check_history(*id, &desk.history(*id).unwrap());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn around_the_clock_timers_fire_once_on_time_and_never_after_acknowledgement(
        severities in prop::collection::vec(prop::sample::select(Severity::ALL.to_vec()), 1..4),
        steps in prop::collection::vec(arb_step(), 1..40),
        spurious in prop::collection::vec(0u16..1024, 1..8),
    ) {
        run(Policy::small_business(), severities, steps, spurious);
    }

    #[test]
    fn business_hours_timers_fire_once_on_time_and_never_after_acknowledgement(
        severities in prop::collection::vec(prop::sample::select(Severity::ALL.to_vec()), 1..4),
        steps in prop::collection::vec(arb_step(), 1..40),
        spurious in prop::collection::vec(0u16..1024, 1..8),
    ) {
        run(business_policy(), severities, steps, spurious);
    }
}
