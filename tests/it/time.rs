//! Time: SLA targets, escalation, the outbox, on virtual time only. Tests jump to
//! `next_deadline()`; nothing sleeps.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use incidents::lifecycle::{Audience, Notification, SlaTarget, Timer};
use incidents::notify::{Backoff, DeliveryError};
use incidents::policy::{
    Chain, Hours, OutsideHours, PolicyError, Recipient, Rounds, Step, Targets, simulate,
};
use incidents::sla::{SlaState, sla_status};
use incidents::{
    Calendar, Change, Command, Desk, Error, IncidentId, ManualClock, MemoryStore, NewIncident,
    Notifier, Policy, Resolution, Role, Severity, Source, Status, Store,
};

use incidents::Clock;

use crate::support::{owner, t0};

fn step(minutes: i64, notify: Recipient, channel: Option<&str>) -> Step {
    Step {
        after: Duration::minutes(minutes),
        notify: vec![notify],
        channel: channel.map(String::from),
    }
}

/// A notifier that remembers what it delivered (and can be told to fail).
#[derive(Default)]
struct Outbox {
    sent: Mutex<Vec<Notification>>,
    failing: Mutex<bool>,
}

impl Notifier for Outbox {
    fn deliver(&self, n: &Notification) -> Result<(), DeliveryError> {
        if *self.failing.lock().unwrap() {
            return Err(DeliveryError::new("SMS gateway down"));
        }
        self.sent.lock().unwrap().push(n.clone());
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// The café scenario

/// Café "European Aroma": open Monday to Saturday 07:00–19:00 (Europe/London, which is UTC in
/// November), closed Sundays; Saturday 28 November 2026 is a local holiday.
fn cafe_calendar() -> Calendar {
    Calendar::weekly(Tz::Europe__London)
        .open(
            [
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
                Weekday::Sat,
            ],
            "07:00",
            "19:00",
        )
        .unwrap()
        .holiday(NaiveDate::from_ymd_opt(2026, 11, 28).unwrap())
}

fn cafe_targets(hours: Hours, page_anyway_from: Option<Severity>) -> Targets {
    Targets {
        acknowledge: Some(Duration::minutes(30)),
        resolve: Some(Duration::hours(4)),
        customer_updates: None,
        at_risk_percent: 75,
        hours,
        review_required: false,
        escalation: Some(Chain {
            steps: vec![
                step(0, Recipient::IncidentOwner, Some("app")),
                step(10, Recipient::Person("owner-phone".into()), Some("sms")),
                step(30, Recipient::Role(Role::Responder), None),
            ],
            rounds: Rounds::Once,
            repeat_from: 0,
            repeat_pause: Duration::minutes(15),
            outside_hours: OutsideHours { page_anyway_from },
        }),
        ..Targets::none()
    }
}

fn cafe_policy(hours: Hours, page_anyway_from: Option<Severity>) -> Policy {
    Policy::new(
        cafe_calendar(),
        BTreeMap::from([(Severity::High, cafe_targets(hours, page_anyway_from))]),
    )
    .unwrap()
}

fn at(d: u32, h: u32, m: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, d, h, m, s).unwrap()
}

fn schedule(policy: &Policy) -> Vec<(DateTime<Utc>, String)> {
    let friday_1855 = at(27, 18, 55, 0);
    let new = NewIncident::new(
        "Till won't take cards",
        Severity::High,
        "POS",
        Source::StaffReport,
    )
    .unwrap();
    let sent = simulate(policy, new, friday_1855, friday_1855 + Duration::days(4)).unwrap();
    for s in &sent {
        println!("{}  {}", s.at.format("%a %H:%M:%S"), s.notification);
    }
    sent.into_iter()
        .map(|s| {
            (
                s.at,
                s.notification
                    .key
                    .split('/')
                    .skip(1)
                    .collect::<Vec<_>>()
                    .join("/"),
            )
        })
        .collect()
}

/// The café's POS fails at 18:55 on the Friday before a holiday. Under business hours, the
/// owner is told at once, and everything else waits for Monday's opening; around the clock,
/// the evening goes on paging.
#[test]
fn cafe_pos_fails_friday_1855_before_a_holiday() {
    let business = schedule(&cafe_policy(Hours::Business, None));
    assert_eq!(
        business,
        vec![
            (at(27, 18, 55, 0), "escalation/0/0/0".to_string()),
            // 5 minutes left on Friday; Saturday is a holiday, Sunday closed.
            (at(30, 7, 5, 0), "escalation/0/0/1".to_string()),
            (at(30, 7, 17, 30), "sla/acknowledge/at_risk".to_string()),
            (at(30, 7, 25, 0), "escalation/0/0/2".to_string()),
            (at(30, 7, 25, 0), "sla/acknowledge/breached".to_string()),
            (at(30, 9, 55, 0), "sla/resolve/at_risk".to_string()),
            (at(30, 10, 55, 0), "sla/resolve/breached".to_string()),
        ]
    );
    let around_the_clock = schedule(&cafe_policy(Hours::AroundTheClock, Some(Severity::Low)));
    assert_eq!(
        around_the_clock,
        vec![
            (at(27, 18, 55, 0), "escalation/0/0/0".to_string()),
            (at(27, 19, 5, 0), "escalation/0/0/1".to_string()),
            (at(27, 19, 17, 30), "sla/acknowledge/at_risk".to_string()),
            (at(27, 19, 25, 0), "escalation/0/0/2".to_string()),
            (at(27, 19, 25, 0), "sla/acknowledge/breached".to_string()),
            (at(27, 21, 55, 0), "sla/resolve/at_risk".to_string()),
            (at(27, 22, 55, 0), "sla/resolve/breached".to_string()),
        ]
    );
}

#[test]
fn escalation_notifications_carry_recipients_and_channel_hints() {
    let sent = simulate(
        &cafe_policy(Hours::AroundTheClock, Some(Severity::Low)),
        NewIncident::new("Till", Severity::High, "POS", Source::StaffReport).unwrap(),
        t0(),
        t0() + Duration::minutes(11),
    )
    .unwrap();
    assert_eq!(sent.len(), 2);
    assert_eq!(
        sent[1].notification.audience,
        Audience::Recipients(vec![Recipient::Person("owner-phone".into())])
    );
    assert_eq!(sent[1].notification.channel.as_deref(), Some("sms"));
    assert!(
        sent[1].notification.subject.contains("Till"),
        "{}",
        sent[1].notification.subject
    );
}

// ---------------------------------------------------------------------------------------------
// Policies are validated

#[test]
fn invalid_policies_get_typed_errors_naming_the_problem() {
    let base = || cafe_targets(Hours::AroundTheClock, None);
    let check = |targets: Targets| {
        Policy::new(cafe_calendar(), BTreeMap::from([(Severity::High, targets)]))
    };

    let mut t = base();
    t.escalation.as_mut().unwrap().steps.clear();
    assert_eq!(
        check(t),
        Err(PolicyError::EmptyChain {
            severity: Severity::High
        })
    );

    let mut t = base();
    t.resolve = Some(Duration::zero());
    assert!(matches!(
        check(t),
        Err(PolicyError::NotPositive {
            field: "resolve target",
            ..
        })
    ));

    let mut t = base();
    t.acknowledge = Some(Duration::minutes(-5));
    assert!(matches!(
        check(t),
        Err(PolicyError::NotPositive {
            field: "acknowledge target",
            ..
        })
    ));

    let mut t = base();
    t.escalation.as_mut().unwrap().steps.swap(1, 2);
    let err = check(t).unwrap_err();
    assert!(
        matches!(err, PolicyError::StepsOutOfOrder { step: 3, .. }),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "high escalation step 3: its delay 10m is not after the previous step's 30m"
    );

    let mut t = base();
    t.escalation.as_mut().unwrap().repeat_from = 7;
    assert!(matches!(
        check(t),
        Err(PolicyError::RepeatFromMissingStep {
            from_step: 8,
            steps: 3,
            ..
        })
    ));

    let mut t = base();
    t.escalation.as_mut().unwrap().rounds = Rounds::UntilAcknowledged;
    t.escalation.as_mut().unwrap().repeat_pause = Duration::zero();
    assert!(matches!(
        check(t),
        Err(PolicyError::NotPositive {
            field: "escalation repeat pause",
            ..
        })
    ));

    let mut t = base();
    t.at_risk_percent = 100;
    assert!(matches!(
        check(t),
        Err(PolicyError::AtRiskOutOfRange { percent: 100, .. })
    ));

    let mut t = base();
    t.escalation.as_mut().unwrap().steps[0].notify.clear();
    assert!(matches!(
        check(t),
        Err(PolicyError::NoRecipients { step: 1, .. })
    ));

    let closed_forever = Calendar::weekly(Tz::Europe__London);
    let t = cafe_targets(Hours::Business, None);
    assert_eq!(
        Policy::new(closed_forever, BTreeMap::from([(Severity::High, t)])),
        Err(PolicyError::NeverOpen {
            severity: Severity::High
        })
    );
    // It converts into the crate's error.
    let err: Error = PolicyError::EmptyChain {
        severity: Severity::Low,
    }
    .into();
    assert!(
        err.to_string()
            .starts_with("invalid policy: low escalation")
    );
}

#[test]
fn policies_are_plain_data_validated_on_deserialisation() {
    let policy = cafe_policy(Hours::Business, Some(Severity::Critical))
        .with_service_override(
            "payments".parse().unwrap(),
            Severity::High,
            Targets {
                resolve: Some(Duration::hours(1)),
                ..Targets::none()
            },
        )
        .unwrap();
    let json = serde_json::to_string_pretty(&policy).unwrap();
    assert!(json.contains("\"30m\""), "{json}");
    let back: Policy = serde_json::from_str(&json).unwrap();
    assert_eq!(back, policy);
    assert_eq!(
        back.targets(Severity::High, Some(&"payments".parse().unwrap()))
            .resolve,
        Some(Duration::hours(1))
    );
    let broken = json.replacen("\"after\": \"10m\"", "\"after\": \"40m\"", 1);
    let err = serde_json::from_str::<Policy>(&broken).unwrap_err();
    assert!(
        err.to_string().contains("not after the previous step"),
        "{err}"
    );
    let small = serde_json::to_string(&Policy::small_business()).unwrap();
    assert_eq!(
        serde_json::from_str::<Policy>(&small).unwrap(),
        Policy::small_business()
    );
}

/// A step that pages whoever is on call needs a schedule of that name: a policy without one
/// is refused when read, `check_schedules` says so, and a desk refuses to run it.
#[test]
fn a_step_paging_an_unknown_on_call_schedule_is_refused_on_read_and_by_the_desk() {
    let mut targets = cafe_targets(Hours::AroundTheClock, None);
    if let Some(chain) = &mut targets.escalation {
        chain.steps[0].notify = vec![Recipient::OnCall("tills".into())];
    }
    let policy = Policy::new(
        Calendar::always_open(),
        BTreeMap::from([(Severity::High, targets)]),
    )
    .unwrap();
    assert!(matches!(
        policy.check_schedules(),
        Err(PolicyError::UnknownSchedule { step: 1, .. })
    ));
    let json = serde_json::to_string(&policy).unwrap();
    let err = serde_json::from_str::<Policy>(&json).unwrap_err();
    assert!(
        err.to_string()
            .contains("no on-call schedule named \"tills\""),
        "{err}"
    );

    let clock = ManualClock::new(t0());
    let refused = Desk::builder(MemoryStore::new(), &clock)
        .policy(policy)
        .build();
    assert!(
        matches!(
            refused,
            Err(incidents::Error::Policy(PolicyError::UnknownSchedule {
                step: 1,
                ..
            }))
        ),
        "{:?}",
        refused.err()
    );
}

// ---------------------------------------------------------------------------------------------
// SLA status, pauses, reopening

fn desk_with(policy: Policy, clock: &ManualClock) -> Desk<MemoryStore, &ManualClock> {
    Desk::builder(MemoryStore::new(), clock)
        .policy(policy)
        .build()
        .unwrap()
}

fn resolve_status(
    desk: &Desk<MemoryStore, &ManualClock>,
    id: IncidentId,
    now: DateTime<Utc>,
) -> incidents::sla::SlaStatus {
    sla_status(&desk.get(id).unwrap(), desk.policy(), now)
        .into_iter()
        .find(|s| s.target == SlaTarget::Resolve)
        .unwrap()
}

#[test]
fn waiting_on_a_vendor_pauses_the_resolve_clock_and_reopening_continues_it() {
    let clock = ManualClock::new(t0());
    let desk = desk_with(Policy::small_business(), &clock);
    let new = NewIncident::new(
        "Card payments fail",
        Severity::Critical,
        "payments",
        Source::Alert,
    )
    .unwrap();
    let id = desk.open(&owner(), new).unwrap().id;
    desk.act(id, &owner(), Command::Acknowledge).unwrap();
    clock.advance(Duration::minutes(20));
    desk.act(
        id,
        &owner(),
        Command::wait_for_vendor("PayCo", Some("case 4711")).unwrap(),
    )
    .unwrap();
    clock.advance(Duration::hours(3)); // the provider takes three hours
    let paused = resolve_status(&desk, id, clock.now());
    assert_eq!(paused.state, SlaState::Paused);
    assert_eq!(paused.elapsed, Duration::minutes(20));
    assert_eq!(paused.due, None);
    desk.act(
        id,
        &owner(),
        Command::vendor_responded(Some("their fix is live")).unwrap(),
    )
    .unwrap();
    clock.advance(Duration::minutes(10));
    let running = resolve_status(&desk, id, clock.now());
    assert_eq!(
        (running.state, running.elapsed),
        (SlaState::OnTrack, Duration::minutes(30))
    );
    assert_eq!(running.due, Some(clock.now() + Duration::minutes(30)));
    desk.act(id, &owner(), Command::resolve(Resolution::Fixed))
        .unwrap();
    let met = resolve_status(&desk, id, clock.now() + Duration::days(1));
    assert_eq!(
        (met.state, met.elapsed),
        (SlaState::Met, Duration::minutes(30))
    );

    // Reopened an hour later: the clock continues from 30 minutes.
    clock.advance(Duration::hours(1));
    desk.act(id, &owner(), Command::reopen("declines again").unwrap())
        .unwrap();
    clock.advance(Duration::minutes(20));
    let again = resolve_status(&desk, id, clock.now());
    assert_eq!(
        (again.state, again.elapsed),
        (SlaState::AtRisk, Duration::minutes(50))
    );
    let vendor = desk.get(id).unwrap().vendor_waits()[0].clone();
    assert_eq!(vendor.vendor, "PayCo");
    assert_eq!(vendor.until.unwrap() - vendor.since, Duration::hours(3));
}

/// Found by the simulator (`tests/sim`, seed 11): the resolve clock passed its limit, then
/// the incident started waiting on a vendor before any tick. The breach was never recorded
/// (the paused clock "reaches" nothing), while `sla_status` said breached. Now a paused
/// clock's marks passed before the pause fire at the next tick, dated when they were passed.
#[test]
fn sim_seed_11_a_breach_passed_before_a_vendor_wait_still_fires() {
    let clock = ManualClock::new(t0());
    let desk = desk_with(Policy::small_business(), &clock);
    let new = NewIncident::new(
        "Card payments fail",
        Severity::Critical,
        "payments",
        Source::Alert,
    )
    .unwrap();
    let id = desk.open(&owner(), new).unwrap().id;
    desk.act(id, &owner(), Command::Acknowledge).unwrap();
    // 80 minutes without a tick (the till was off): past the 60-minute resolve target.
    clock.advance(Duration::minutes(80));
    desk.act(
        id,
        &owner(),
        Command::wait_for_vendor("PayCo", None).unwrap(),
    )
    .unwrap();
    assert_eq!(
        resolve_status(&desk, id, clock.now()).state,
        SlaState::Breached
    );
    clock.advance(Duration::minutes(1));
    let report = desk.tick(clock.now()).unwrap();
    let fired: Vec<_> = report
        .fired
        .iter()
        .filter_map(|(_, timer)| match timer {
            Timer::SlaBreached { target, due } => Some((*target, *due)),
            _ => None,
        })
        .collect();
    assert_eq!(
        fired,
        [(SlaTarget::Resolve, t0() + Duration::minutes(60))],
        "the breach, dated when the limit was passed"
    );
    // Once: nothing more at the next tick, nor after the vendor responds.
    clock.advance(Duration::minutes(30));
    let next = desk.tick(clock.now()).unwrap();
    assert!(
        !next
            .fired
            .iter()
            .any(|(_, t)| matches!(t, Timer::SlaBreached { .. } | Timer::SlaAtRisk { .. })),
        "{next:?}"
    );
    desk.act(id, &owner(), Command::vendor_responded(None).unwrap())
        .unwrap();
    clock.advance(Duration::minutes(30));
    let later = desk.tick(clock.now()).unwrap();
    assert!(
        !later
            .fired
            .iter()
            .any(|(_, t)| matches!(t, Timer::SlaBreached { .. })),
        "{later:?}"
    );
}

#[test]
fn the_resolve_breach_is_recorded_once_even_across_a_reopening() {
    let clock = ManualClock::new(t0());
    let desk = desk_with(Policy::small_business(), &clock);
    let new = NewIncident::new(
        "Shop down",
        Severity::Critical,
        "online shop",
        Source::Alert,
    )
    .unwrap();
    let id = desk.open(&owner(), new).unwrap().id;
    desk.act(id, &owner(), Command::Acknowledge).unwrap();
    clock.set(t0() + Duration::minutes(61));
    desk.tick(clock.now()).unwrap();
    desk.act(id, &owner(), Command::resolve(Resolution::Fixed))
        .unwrap();
    desk.act(id, &owner(), Command::reopen("back").unwrap())
        .unwrap();
    clock.advance(Duration::hours(2));
    desk.tick(clock.now()).unwrap();
    let breaches = desk
        .history(id)
        .unwrap()
        .iter()
        .filter(|e| {
            matches!(
                &e.change,
                Change::TimerFired {
                    timer: Timer::SlaBreached {
                        target: SlaTarget::Resolve,
                        ..
                    }
                }
            )
        })
        .count();
    assert_eq!(breaches, 1);
}

// ---------------------------------------------------------------------------------------------
// Escalation: acknowledge stops, resolve stops everything, reopen starts again

fn fired_keys(desk: &Desk<impl Store, impl incidents::Clock>, id: IncidentId) -> Vec<String> {
    desk.history(id)
        .unwrap()
        .iter()
        .filter_map(|e| match &e.change {
            Change::TimerFired { timer } => Some(timer.key()),
            _ => None,
        })
        .collect()
}

/// Runs the desk's clock forward to `until`, jumping from deadline to deadline.
fn run_until(
    desk: &Desk<MemoryStore, &ManualClock>,
    clock: &ManualClock,
    notifier: &Outbox,
    until: DateTime<Utc>,
) {
    loop {
        desk.tick(clock.now()).unwrap();
        desk.dispatch(notifier).unwrap();
        match desk.next_deadline() {
            Some(next) if next <= until => {
                assert!(
                    next > clock.now(),
                    "deadline {next} not after {}",
                    clock.now()
                );
                clock.set(next);
            }
            _ => break,
        }
    }
    clock.set(until);
}

#[test]
fn acknowledge_stops_the_chain_and_reopen_starts_it_from_the_first_step() {
    let clock = ManualClock::new(t0());
    let desk = desk_with(Policy::small_business(), &clock);
    let notifier = Outbox::default();
    let new = NewIncident::new(
        "Shop down",
        Severity::Critical,
        "online shop",
        Source::Alert,
    )
    .unwrap();
    let id = desk.open(&owner(), new).unwrap().id;
    run_until(&desk, &clock, &notifier, t0() + Duration::minutes(12));
    assert_eq!(
        fired_keys(&desk, id),
        [
            "escalation/0/0/0",
            "escalation/0/0/1",
            "sla/acknowledge/at_risk"
        ]
    );
    desk.act(id, &owner(), Command::Acknowledge).unwrap();
    run_until(&desk, &clock, &notifier, t0() + Duration::minutes(40));
    // No more escalation after the acknowledgement; the customer-update reminder still comes.
    let keys = fired_keys(&desk, id);
    assert!(
        !keys.iter().any(|k| k.starts_with("escalation/0/0/2")),
        "{keys:?}"
    );
    assert_eq!(keys.last().unwrap(), "customer_update/0/0/1");
    desk.act(id, &owner(), Command::resolve(Resolution::Fixed))
        .unwrap();
    let before = fired_keys(&desk, id).len();
    run_until(&desk, &clock, &notifier, t0() + Duration::hours(5));
    assert_eq!(
        fired_keys(&desk, id).len(),
        before,
        "resolve stops everything"
    );
    assert_eq!(desk.next_deadline(), None);

    desk.act(id, &owner(), Command::reopen("back again").unwrap())
        .unwrap();
    let reopened = clock.now();
    run_until(&desk, &clock, &notifier, reopened + Duration::minutes(1));
    assert!(fired_keys(&desk, id).contains(&"escalation/1/0/0".to_string()));
    let delivered: Vec<String> = notifier
        .sent
        .lock()
        .unwrap()
        .iter()
        .map(|n| n.key.clone())
        .collect();
    assert!(
        delivered.contains(&format!("{id}/escalation/1/0/0")),
        "{delivered:?}"
    );
}

#[test]
fn chains_repeat_until_acknowledged() {
    let clock = ManualClock::new(t0());
    let desk = desk_with(Policy::small_business(), &clock);
    let notifier = Outbox::default();
    let new = NewIncident::new(
        "Shop down",
        Severity::Critical,
        "online shop",
        Source::Alert,
    )
    .unwrap();
    let id = desk.open(&owner(), new).unwrap().id;
    run_until(&desk, &clock, &notifier, t0() + Duration::minutes(56));
    let steps: Vec<String> = fired_keys(&desk, id)
        .into_iter()
        .filter(|k| k.starts_with("escalation"))
        .collect();
    // 0, 10, 15, then from step 2 every round: 30, 35, 50, 55.
    assert_eq!(
        steps,
        [
            "escalation/0/0/0",
            "escalation/0/0/1",
            "escalation/0/0/2",
            "escalation/0/1/1",
            "escalation/0/1/2",
            "escalation/0/2/1",
            "escalation/0/2/2"
        ]
    );
}

#[test]
fn a_restarted_desk_and_a_repeated_tick_fire_nothing_twice() {
    let store = Arc::new(MemoryStore::new());
    let clock = ManualClock::new(t0());
    let first = Desk::new(Arc::clone(&store), &clock).unwrap();
    let new = NewIncident::new(
        "Shop down",
        Severity::Critical,
        "online shop",
        Source::Alert,
    )
    .unwrap();
    let id = first.open(&owner(), new).unwrap().id;
    clock.set(t0() + Duration::minutes(11));
    let fired = first.tick(clock.now()).unwrap().fired.len();
    assert_eq!(fired, 2);
    assert!(
        first.tick(clock.now()).unwrap().fired.is_empty(),
        "a repeated tick fires nothing"
    );
    drop(first);
    let second = Desk::new(Arc::clone(&store), &clock).unwrap();
    assert!(
        second.tick(clock.now()).unwrap().fired.is_empty(),
        "a restart fires nothing again"
    );
    // The two notifications, queued at 12:11, wait for dispatch.
    assert_eq!(second.next_deadline(), Some(t0() + Duration::minutes(11)));
    assert_eq!(fired_keys(&second, id).len(), 2);
}

#[test]
fn two_desks_ticking_one_store_fire_each_step_once() {
    let store = Arc::new(MemoryStore::new());
    let clock = ManualClock::new(t0());
    let a = Desk::new(Arc::clone(&store), &clock).unwrap();
    let mut ids = Vec::new();
    for n in 0..20 {
        let new = NewIncident::new(
            format!("till {n}"),
            Severity::Critical,
            "POS",
            Source::Alert,
        )
        .unwrap();
        ids.push(a.open(&owner(), new).unwrap().id);
    }
    let b = Desk::new(Arc::clone(&store), &clock).unwrap();
    for minutes in [0, 5, 10, 15, 16, 30, 35, 50] {
        clock.set(t0() + Duration::minutes(minutes));
        std::thread::scope(|s| {
            s.spawn(|| a.tick(clock.now()).unwrap());
            s.spawn(|| b.tick(clock.now()).unwrap());
        });
    }
    for id in ids {
        let keys = fired_keys(&a, id);
        let unique: BTreeSet<&String> = keys.iter().collect();
        assert_eq!(unique.len(), keys.len(), "{keys:?}");
        assert!(keys.contains(&"escalation/0/2/1".to_string()), "{keys:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// The outbox

#[test]
fn failed_deliveries_back_off_exponentially_then_give_up() {
    let clock = ManualClock::new(t0());
    let backoff = Backoff {
        first: Duration::seconds(30),
        max: Duration::minutes(2),
        attempts: 4,
    };
    let desk = Desk::builder(MemoryStore::new(), &clock)
        .backoff(backoff)
        .build()
        .unwrap();
    let notifier = Outbox::default();
    *notifier.failing.lock().unwrap() = true;
    let id = desk
        .open(&owner(), crate::support::new_incident())
        .unwrap()
        .id;
    desk.act(
        id,
        &owner(),
        Command::customer_update("we are on it").unwrap(),
    )
    .unwrap();
    let mut attempts = Vec::new();
    for _ in 0..10 {
        let report = desk.dispatch(&notifier).unwrap();
        if report.failed + report.gave_up > 0 {
            attempts.push((clock.now() - t0()).num_seconds());
        }
        let pending = desk
            .get(id)
            .unwrap()
            .outbox()
            .iter()
            .find_map(|e| match e.delivery {
                incidents::incident::Delivery::Pending { next_attempt } => Some(next_attempt),
                _ => None,
            });
        match pending {
            Some(next) => clock.set(next),
            None => break,
        }
    }
    // Attempts at 0 s, then after 30 s, 60 s and 120 s (capped at 2 min); the fourth failure gives up.
    assert_eq!(attempts, [0, 30, 90, 210]);
    let entry = desk.get(id).unwrap().outbox()[0].clone();
    assert_eq!(entry.attempts, 4);
    assert!(matches!(
        entry.delivery,
        incidents::incident::Delivery::GaveUp { .. }
    ));
    assert_eq!(entry.notification.audience, Audience::Customers);
}

#[test]
fn a_permanent_delivery_failure_gives_up_at_once() {
    struct Refusing;
    impl incidents::Notifier for Refusing {
        fn deliver(
            &self,
            _: &incidents::lifecycle::Notification,
        ) -> Result<(), incidents::notify::DeliveryError> {
            Err(incidents::notify::DeliveryError::permanent(
                "HTTP 404 from the chat webhook",
            ))
        }
    }
    let clock = ManualClock::new(t0());
    let desk = desk_with(Policy::small_business(), &clock);
    let id = desk
        .open(&owner(), crate::support::new_incident())
        .unwrap()
        .id;
    desk.act(
        id,
        &owner(),
        Command::customer_update("we are on it").unwrap(),
    )
    .unwrap();
    let report = desk.dispatch(&Refusing).unwrap();
    assert_eq!((report.failed, report.gave_up), (0, 1));
    let entry = desk.get(id).unwrap().outbox()[0].clone();
    assert_eq!(entry.attempts, 1);
    assert!(matches!(
        entry.delivery,
        incidents::incident::Delivery::GaveUp { .. }
    ));
    clock.advance(Duration::hours(1));
    assert_eq!(
        desk.dispatch(&Refusing).unwrap().gave_up,
        0,
        "nothing left to try"
    );
}

#[test]
fn delivery_is_at_least_once_a_crash_between_delivering_and_recording_redelivers_the_same_key() {
    struct Crashing;
    impl Notifier for Crashing {
        fn deliver(&self, _: &Notification) -> Result<(), DeliveryError> {
            panic!("the process dies right after the SMS went out");
        }
    }
    let store = Arc::new(MemoryStore::new());
    let clock = ManualClock::new(t0());
    let id = {
        let desk = Desk::new(Arc::clone(&store), &clock).unwrap();
        let id = desk
            .open(&owner(), crate::support::new_incident())
            .unwrap()
            .id;
        desk.act(
            id,
            &owner(),
            Command::customer_update("we are on it").unwrap(),
        )
        .unwrap();
        let crashed =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| desk.dispatch(&Crashing)));
        assert!(crashed.is_err());
        id
    };
    let desk = Desk::new(Arc::clone(&store), &clock).unwrap();
    let notifier = Outbox::default();
    let report = desk.dispatch(&notifier).unwrap();
    assert_eq!(report.delivered, [format!("{id}/customer_update_posted/0")]);
    assert!(
        desk.dispatch(&notifier).unwrap().delivered.is_empty(),
        "recorded once delivered"
    );
}

#[test]
fn customer_updates_go_to_customers_through_replaceable_templates() {
    let clock = ManualClock::new(t0());
    let mut templates = incidents::notify::Templates::default();
    templates.customer_update.subject = "Aroma bakery: {service} ({status})".into();
    let desk = Desk::builder(MemoryStore::new(), &clock)
        .templates(templates)
        .build()
        .unwrap();
    let id = desk
        .open(&owner(), crate::support::new_incident())
        .unwrap()
        .id;
    desk.act(
        id,
        &owner(),
        Command::customer_update("Orders are delayed.").unwrap(),
    )
    .unwrap();
    let notifier = Outbox::default();
    desk.dispatch(&notifier).unwrap();
    let sent = notifier.sent.lock().unwrap();
    // Values next to the template's text are isolated (FSI … PDI); a message alone on its
    // line is not.
    assert_eq!(
        sent[0].subject,
        "Aroma bakery: \u{2068}online shop\u{2069} (\u{2068}open\u{2069})"
    );
    assert_eq!(sent[0].body, "Orders are delayed.");
    assert_eq!(sent[0].audience, Audience::Customers);
}

#[test]
fn closed_incidents_still_record_deliveries_of_earlier_notifications() {
    let clock = ManualClock::new(t0());
    let desk = Desk::builder(MemoryStore::new(), &clock)
        .policy(Policy::new(Calendar::always_open(), BTreeMap::new()).unwrap())
        .build()
        .unwrap();
    let id = desk
        .open(&owner(), crate::support::new_incident())
        .unwrap()
        .id;
    desk.act(id, &owner(), Command::resolve(Resolution::Fixed))
        .unwrap();
    desk.act(
        id,
        &owner(),
        Command::customer_update("Fixed, sorry!").unwrap(),
    )
    .unwrap();
    desk.act(id, &owner(), Command::close("s", "l").unwrap())
        .unwrap();
    let notifier = Outbox::default();
    assert_eq!(desk.dispatch(&notifier).unwrap().delivered.len(), 1);
    assert_eq!(desk.get(id).unwrap().status(), Status::Closed);
}

#[test]
fn customer_update_reminders_start_again_one_cadence_after_a_reopening() {
    let clock = ManualClock::new(t0());
    let desk = desk_with(Policy::small_business(), &clock); // critical: updates every 30 min
    let new = NewIncident::new(
        "Shop down",
        Severity::Critical,
        "online shop",
        Source::Alert,
    )
    .unwrap();
    let id = desk.open(&owner(), new).unwrap().id;
    desk.act(id, &owner(), Command::Acknowledge).unwrap();
    clock.set(t0() + Duration::minutes(95));
    desk.tick(clock.now()).unwrap(); // reminders 1..3 are due; the latest fires
    desk.act(id, &owner(), Command::resolve(Resolution::Fixed))
        .unwrap();
    clock.set(t0() + Duration::minutes(100));
    desk.act(id, &owner(), Command::reopen("down again").unwrap())
        .unwrap();
    desk.act(id, &owner(), Command::Acknowledge).unwrap();
    clock.set(t0() + Duration::minutes(130));
    let fired = desk.tick(clock.now()).unwrap().fired;
    assert!(
        fired.iter().any(|(_, t)| matches!(
            t,
            Timer::CustomerUpdateDue {
                cycle: 1,
                reminder: 1,
                ..
            }
        )),
        "{fired:?}"
    );
}

#[test]
fn absurdly_long_policies_are_refused_and_far_away_timers_never_panic() {
    let mut targets = cafe_targets(Hours::AroundTheClock, None);
    targets.resolve = Some(Duration::days(365 * 1_000_000));
    let err =
        Policy::new(cafe_calendar(), BTreeMap::from([(Severity::High, targets)])).unwrap_err();
    assert!(
        matches!(
            err,
            PolicyError::TooLong {
                field: "resolve target",
                ..
            }
        ),
        "{err}"
    );
    // A chain repeating every 99 years, ticked thousands of years on, fires and never panics.
    let mut targets = cafe_targets(Hours::AroundTheClock, Some(Severity::Low));
    let chain = targets.escalation.as_mut().unwrap();
    chain.rounds = Rounds::UntilAcknowledged;
    chain.repeat_pause = Duration::days(365 * 99);
    let policy = Policy::new(cafe_calendar(), BTreeMap::from([(Severity::High, targets)])).unwrap();
    let clock = ManualClock::new(t0());
    let desk = desk_with(policy, &clock);
    let new = NewIncident::new("Till", Severity::High, "POS", Source::StaffReport).unwrap();
    desk.open(&owner(), new).unwrap();
    for years in [1, 100, 5_000, 200_000] {
        clock.set(t0() + Duration::days(365 * years));
        desk.tick(clock.now()).unwrap();
        let _ = desk.next_deadline();
    }
}
