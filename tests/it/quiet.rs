//! Quiet when it is over: once every monitor signal of an incident has resolved, escalation
//! steps and acknowledge warnings rest (customer-update reminders too, unless customers were
//! already told something); the quiet period still auto-resolves it; a new firing signal
//! wakes the chain where it stopped.

use chrono::{DateTime, Duration, Utc};
use incidents::intake::Intake;
use incidents::lifecycle::{Notification, SlaTarget, Timer};
use incidents::notify::DeliveryError;
use incidents::{
    Alert, Command, Desk, ManualClock, MemoryStore, Notifier, Policy, Resolution, Severity,
};

use crate::support::{owner, t0};

struct Quiet;

impl Notifier for Quiet {
    fn deliver(&self, _: &Notification) -> Result<(), DeliveryError> {
        Ok(())
    }
}

fn checkout(starts_at: DateTime<Utc>) -> Alert {
    Alert::firing(
        "uptime",
        "checkout",
        "online shop",
        "Checkout fails",
        starts_at,
    )
    .unwrap()
    .with_severity(Severity::Critical)
}

fn minutes(m: i64) -> DateTime<Utc> {
    t0() + Duration::minutes(m)
}

/// When each timer fired, as minutes after 12:00, with a short name.
fn fired(run: &incidents::desk::RunReport) -> Vec<(i64, String)> {
    run.fired
        .iter()
        .map(|(at, _, timer)| {
            let name = match timer {
                Timer::Escalation { step, .. } => format!("step {}", step + 1),
                Timer::SlaAtRisk { target, .. } => format!("{} at risk", target.as_str()),
                Timer::SlaBreached { target, .. } => format!("{} breached", target.as_str()),
                Timer::CustomerUpdateDue { .. } => "update due".into(),
                Timer::QuietPeriodOver { .. } => "quiet period over".into(),
                Timer::FollowUpOverdue { .. } => "follow-up overdue".into(),
                other => format!("{other:?}"),
            };
            ((*at - t0()).num_minutes(), name)
        })
        .collect()
}

#[test]
fn paging_stops_when_the_monitor_says_it_is_over_and_the_quiet_period_resolves_it() {
    let clock = ManualClock::new(t0());
    let desk = Desk::new(MemoryStore::new(), &clock).unwrap();
    let id = desk.ingest(&checkout(t0())).unwrap().incident().unwrap();
    desk.run_until(minutes(4), &Quiet).unwrap();
    desk.ingest(&checkout(t0()).resolved()).unwrap();
    let run = desk.run_until(minutes(60), &Quiet).unwrap();
    // No step 2 at 12:10, no step 3 at 12:15, no acknowledge warning or breach: only the
    // quiet period's end at 12:19, which resolves it.
    assert_eq!(fired(&run), [(19, "quiet period over".to_string())]);
    assert_eq!(
        desk.get(id).unwrap().resolution(),
        Some(Resolution::AutoResolved)
    );
}

#[test]
fn a_new_firing_signal_wakes_the_chain_where_it_stopped() {
    let clock = ManualClock::new(t0());
    let desk = Desk::new(MemoryStore::new(), &clock).unwrap();
    desk.ingest(&checkout(t0())).unwrap();
    desk.run_until(minutes(4), &Quiet).unwrap();
    desk.ingest(&checkout(t0()).resolved()).unwrap();
    desk.run_until(minutes(12), &Quiet).unwrap();
    // 12:12: it fires again. 4 minutes of the chain had run; step 2 (at 10) is due 6 minutes
    // on, step 3 (at 15) 11 minutes on.
    desk.ingest(&checkout(minutes(12))).unwrap();
    let run = desk.run_until(minutes(24), &Quiet).unwrap();
    let steps: Vec<(i64, String)> = fired(&run)
        .into_iter()
        .filter(|(_, name)| name.starts_with("step"))
        .collect();
    assert_eq!(
        steps,
        [(18, "step 2".to_string()), (23, "step 3".to_string())]
    );
    // The acknowledge target did not rest (it measures how long nobody took the incident):
    // its warnings come again once the incident fires, at their own times.
    let acknowledge: Vec<(i64, String)> = fired(&run)
        .into_iter()
        .filter(|(_, name)| name.starts_with("acknowledge"))
        .collect();
    assert_eq!(
        acknowledge,
        [
            (12, "acknowledge at risk".to_string()),
            (15, "acknowledge breached".to_string())
        ]
    );
}

fn without_auto_resolve() -> Policy {
    Policy::small_business()
        .with_intake(Intake {
            quiet_period: None,
            ..Intake::default()
        })
        .unwrap()
}

#[test]
fn customer_update_reminders_rest_unless_customers_were_told_something() {
    // Critical: customers are due an update every 30 minutes.
    for told in [false, true] {
        let clock = ManualClock::new(t0());
        let desk = Desk::builder(MemoryStore::new(), &clock)
            .policy(without_auto_resolve())
            .build()
            .unwrap();
        let id = desk.ingest(&checkout(t0())).unwrap().incident().unwrap();
        desk.run_until(minutes(2), &Quiet).unwrap();
        if told {
            let update = Command::customer_update("Checkout is failing; we are on it").unwrap();
            desk.act(id, &owner(), update).unwrap();
        }
        desk.run_until(minutes(4), &Quiet).unwrap();
        desk.ingest(&checkout(t0()).resolved()).unwrap();
        let run = desk.run_until(minutes(40), &Quiet).unwrap();
        let reminders: Vec<i64> = fired(&run)
            .into_iter()
            .filter(|(_, name)| name == "update due")
            .map(|(at, _)| at)
            .collect();
        // Told at 12:02: the next update is still owed at 12:32. Never told: nothing to
        // follow up while the monitors say it is over.
        assert_eq!(
            reminders,
            if told { vec![32] } else { vec![] },
            "told {told}"
        );
        assert!(
            fired(&run).iter().all(|(_, name)| !name.starts_with("step")
                && !name.starts_with(SlaTarget::Acknowledge.as_str())),
            "{:?}",
            fired(&run)
        );
    }
}

#[test]
fn reports_from_people_do_not_make_an_incident_quiet() {
    // An incident only people reported has no monitor to say it is over: the chain runs.
    let clock = ManualClock::new(t0());
    let desk = Desk::new(MemoryStore::new(), &clock).unwrap();
    let report = Alert::report(
        incidents::Source::CustomerReport,
        incidents::intake::Reporter::new("Dana").unwrap(),
        "checkout",
        "online shop",
        "Checkout fails",
        t0(),
    )
    .unwrap()
    .with_severity(Severity::Critical);
    desk.ingest(&report).unwrap();
    let run = desk.run_until(minutes(16), &Quiet).unwrap();
    let steps: Vec<i64> = fired(&run)
        .into_iter()
        .filter(|(_, name)| name.starts_with("step"))
        .map(|(at, _)| at)
        .collect();
    assert_eq!(steps, [0, 10, 15]);
}

mod props {
    use incidents::Clock;
    use proptest::prelude::*;

    use super::*;

    #[derive(Debug, Clone)]
    enum Step {
        /// A new occurrence fires (it starts now).
        Fire,
        /// The oldest occurrence still firing resolves.
        Resolve,
        /// Time passes, the desk runs its timers.
        Wait(i64),
    }

    fn arb_step() -> impl Strategy<Value = Step> {
        prop_oneof![
            Just(Step::Fire),
            Just(Step::Resolve),
            (1i64..25).prop_map(Step::Wait),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Whatever the monitor does, no escalation step or acknowledge warning fires while
        /// every signal has resolved, and the desk never leaves something due behind.
        #[test]
        fn nothing_pages_while_the_monitors_say_it_is_over(
            steps in prop::collection::vec(arb_step(), 1..40),
        ) {
            let clock = ManualClock::new(t0());
            let desk = Desk::builder(MemoryStore::new(), &clock)
                .policy(without_auto_resolve())
                .build()
                .unwrap();
            let id = desk.ingest(&checkout(t0())).unwrap().incident().unwrap();
            let mut firing = vec![t0()];
            for step in steps {
                match step {
                    Step::Fire => {
                        let now = clock.now();
                        if !firing.contains(&now) {
                            desk.ingest(&checkout(now)).unwrap();
                            firing.push(now);
                        }
                    }
                    Step::Resolve => {
                        if !firing.is_empty() {
                            let started = firing.remove(0);
                            desk.ingest(&checkout(started).resolved()).unwrap();
                        }
                    }
                    Step::Wait(m) => {
                        let quiet = desk.get(id).unwrap().signals_all_resolved();
                        let until = clock.now() + Duration::minutes(m);
                        let run = desk.run_until(until, &Quiet).unwrap();
                        if quiet {
                            for (_, name) in fired(&run) {
                                prop_assert!(
                                    !name.starts_with("step") && !name.starts_with("acknowledge"),
                                    "{name} fired while quiet"
                                );
                            }
                        }
                        prop_assert!(desk.next_deadline().is_none_or(|d| d > until));
                    }
                }
            }
        }
    }
}
