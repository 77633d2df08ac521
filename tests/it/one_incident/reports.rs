//! Reports: the headline times to acknowledge and to resolve, and SLA compliance, leave out
//! incidents resolved as duplicates (merged) and as false alarms, and say so.

use chrono::Duration;
use incidents::intake::Correlation;
use incidents::report::{Exclusion, Window};
use incidents::{Command, ManualClock, Resolution, Severity};

use super::{desk, monitor, opened, policy, report, resolve};
use crate::support::{owner, t0};

#[test]
fn reports_leave_duplicates_and_false_alarms_out_of_the_headline_times() {
    let clock = ManualClock::new(t0());
    let desk = desk(policy(Correlation::off()), &clock);
    let dup = opened(
        desk.ingest(&report("checkout", t0()).with_severity(Severity::Critical))
            .unwrap(),
    );
    let into = opened(
        desk.ingest(&monitor("checkout-5xx", t0()).with_severity(Severity::Critical))
            .unwrap(),
    );
    let false_alarm = opened(
        desk.ingest(&monitor("disk-full", t0()).with_severity(Severity::Critical))
            .unwrap(),
    );
    clock.advance(Duration::minutes(2));
    desk.act(
        false_alarm,
        &owner(),
        Command::resolve(Resolution::FalseAlarm),
    )
    .unwrap();
    clock.advance(Duration::minutes(3));
    desk.merge(dup, into, &owner()).unwrap();
    clock.advance(Duration::minutes(5));
    desk.act(into, &owner(), Command::Acknowledge).unwrap();
    clock.advance(Duration::minutes(40));
    resolve(&desk, into); // 50 minutes after opening: within its 1 hour
    clock.set(t0() + Duration::days(2));

    let r = desk
        .report(Window::new(t0(), t0() + Duration::days(1)).unwrap())
        .unwrap();
    assert_eq!(r.opened.total, 3);
    let resolve_times = &r.time_to_resolve;
    assert_eq!(resolve_times.wall_clock.count, 1);
    assert_eq!(resolve_times.wall_clock.mean, Some(Duration::minutes(50)));
    assert_eq!(resolve_times.business_hours.count, 1);
    assert_eq!(resolve_times.including_false_alarms_and_duplicates.count, 3);
    assert_eq!(
        (resolve_times.false_alarms, resolve_times.duplicates),
        (1, 1)
    );
    let ack = &r.time_to_acknowledge;
    assert_eq!(ack.wall_clock.count, 1);
    assert_eq!(ack.wall_clock.mean, Some(Duration::minutes(10)));

    let says_so = |excluded: &[Exclusion]| {
        let dup = excluded
            .iter()
            .find(|e| e.reason.contains("duplicate"))
            .unwrap();
        let fa = excluded
            .iter()
            .find(|e| e.reason.contains("false alarm"))
            .unwrap();
        (dup.count, fa.count)
    };
    assert_eq!(says_so(&resolve_times.excluded), (1, 1));
    assert_eq!(says_so(&ack.excluded), (1, 1));
    assert_eq!(r.sla.len(), 2);
    for sla in &r.sla {
        assert_eq!(says_so(&sla.excluded), (1, 1), "{:?}", sla.target);
        assert_eq!(sla.incidents, 1, "{:?}", sla.target);
        assert_eq!((sla.met, sla.breached), (1, 0), "{:?}", sla.target);
        assert_eq!(sla.percent_met, Some(100.0));
    }
    assert!(r.breaches.items.is_empty(), "{:?}", r.breaches.items);
}
