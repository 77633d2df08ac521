//! The report's business-time figures and SLA tallies, measured in one streaming pass through
//! an opening table, against `sla_status` and `Calendar::business_time` per incident, over
//! random histories around the autumn clock changes and a calendar with weekly hours, a
//! holiday and a closure.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use proptest::prelude::*;

use super::{DurationStats, Window, report};
use crate::calendar::Calendar;
use crate::incident::Incident;
use crate::lifecycle::{Command, NewIncident, Resolution, SlaTarget, decide};
use crate::model::{Actor, IncidentId, Role, Source};
use crate::policy::Policy;
use crate::severity::Severity;
use crate::sla::{SlaState, sla_status};

/// What happens to one incident: opened `open` minutes into the window, then (minutes after
/// the step before) acknowledged, a vendor wait, resolved, reopened and resolved again.
#[derive(Debug, Clone)]
struct Story {
    severity: usize,
    open: i64,
    ack: Option<i64>,
    wait: Option<(i64, i64)>,
    resolve: Option<(i64, bool)>,
    reopen: Option<(i64, i64)>,
}

fn arb_story() -> impl Strategy<Value = Story> {
    let step = || 1i64..3 * 24 * 60;
    (
        0usize..4,
        0i64..21 * 24 * 60,
        proptest::option::of(step()),
        proptest::option::weighted(0.2, (step(), step())),
        proptest::option::weighted(0.8, (step(), any::<bool>())),
        proptest::option::weighted(0.2, (step(), step())),
    )
        .prop_map(|(severity, open, ack, wait, resolve, reopen)| Story {
            severity,
            open,
            ack,
            wait,
            resolve,
            reopen,
        })
}

/// Three weeks from 2026-10-15 (both zones change their clocks on 25 October).
fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, 15, 0, 0, 0).unwrap()
}

fn calendar(zone: Tz) -> Calendar {
    let weekdays = [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu];
    Calendar::weekly(zone)
        .open(weekdays, "09:00", "17:30")
        .unwrap()
        .open([Weekday::Fri], "00:30", "03:00")
        .unwrap()
        .open([Weekday::Sun], "01:00", "24:00")
        .unwrap()
        .holiday(NaiveDate::from_ymd_opt(2026, 10, 27).unwrap())
        .closure(start() + Duration::hours(30), start() + Duration::hours(80))
        .unwrap()
}

fn act(incident: &mut Incident, command: &Command, at: DateTime<Utc>) {
    let actor = Actor::new("dana", "Dana", Role::Owner).unwrap();
    for event in decide(Some(incident), command, &actor, at).unwrap() {
        incident.apply(&event).unwrap();
    }
}

fn build(i: usize, story: &Story) -> Incident {
    let actor = Actor::new("dana", "Dana", Role::Owner).unwrap();
    let mut now = start() + Duration::minutes(story.open);
    let id = IncidentId::from_bytes((i as u128 + 1).to_be_bytes());
    let new = NewIncident::new(
        "Till offline",
        Severity::ALL[story.severity],
        "POS",
        Source::StaffReport,
    )
    .unwrap();
    let open = Command::Open { id, incident: new };
    let mut incident = Incident::replay(id, &decide(None, &open, &actor, now).unwrap()).unwrap();
    if let Some(after) = story.ack {
        now += Duration::minutes(after);
        act(&mut incident, &Command::Acknowledge, now);
    }
    if let Some((after, waited)) = story.wait {
        now += Duration::minutes(after);
        act(
            &mut incident,
            &Command::wait_for_vendor("PayCo", None).unwrap(),
            now,
        );
        now += Duration::minutes(waited);
        act(
            &mut incident,
            &Command::vendor_responded(None).unwrap(),
            now,
        );
    }
    if let Some((after, false_alarm)) = story.resolve {
        now += Duration::minutes(after);
        let resolution = if false_alarm {
            Resolution::FalseAlarm
        } else {
            Resolution::Fixed
        };
        act(&mut incident, &Command::resolve(resolution), now);
        if let Some((after, again)) = story.reopen {
            now += Duration::minutes(after);
            act(&mut incident, &Command::reopen("back").unwrap(), now);
            now += Duration::minutes(again);
            act(&mut incident, &Command::resolve(Resolution::Fixed), now);
        }
    }
    incident
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn streamed_figures_equal_the_per_incident_computation(
        zone in prop_oneof![Just(Tz::Europe__London), Just(Tz::Asia__Jerusalem)],
        stories in proptest::collection::vec(arb_story(), 1..40),
        as_of in proptest::option::of(0i64..21 * 24 * 60),
    ) {
        let calendar = calendar(zone);
        let policy = Policy::small_business().with_calendar(calendar.clone()).unwrap();
        let window = Window::new(start(), start() + Duration::days(21)).unwrap();
        let now = as_of.map(|m| start() + Duration::minutes(m));
        let until = now.map_or(window.until(), |now| now + Duration::nanoseconds(1));
        let incidents: Vec<Incident> = stories
            .iter()
            .enumerate()
            .map(|(i, s)| build(i, s))
            // As the report requires: the incidents as they stand at `now`.
            .filter(|incident| now.is_none_or(|now| incident.updated_at() <= now))
            .collect();
        let r = match now {
            Some(now) => super::report_as_of(&incidents, &policy, window, now),
            None => report(&incidents, &policy, window),
        };

        // Business hours, by the calendar, incident by incident.
        let mut ack = Vec::new();
        let mut resolve = Vec::new();
        let mut tallies = [[0usize; 5]; 2];
        let mut breaches = Vec::new();
        for incident in &incidents {
            if incident.resolution() == Some(Resolution::FalseAlarm) {
                continue;
            }
            let created = incident.created_at();
            if let Some(at) = incident.acknowledged_at().or(incident.first_resolved_at()) {
                ack.push(calendar.business_time(created, at));
            }
            if let Some(at) = incident.resolved_at() {
                resolve.push(calendar.business_time(created, at));
            }
            for status in sla_status(incident, &policy, until) {
                let i = match status.target {
                    SlaTarget::Acknowledge => 0,
                    SlaTarget::Resolve => 1,
                    _ => continue,
                };
                let j = match status.state {
                    SlaState::Met => 0,
                    SlaState::Breached => {
                        breaches.push((incident.id(), status.target, status.elapsed.num_seconds()));
                        1
                    }
                    SlaState::OnTrack => 2,
                    SlaState::AtRisk => 3,
                    SlaState::Paused => 4,
                };
                tallies[i][j] += 1;
            }
        }
        prop_assert_eq!(&r.time_to_acknowledge.business_hours, &DurationStats::of(&ack));
        prop_assert_eq!(&r.time_to_resolve.business_hours, &DurationStats::of(&resolve));
        for (sla, tally) in r.sla.iter().zip(tallies) {
            prop_assert_eq!(
                [sla.met, sla.breached, sla.on_track, sla.at_risk, sla.paused],
                tally,
                "{:?}", sla.target
            );
        }
        let mut reported: Vec<_> = r
            .breaches
            .items
            .iter()
            .map(|b| (b.incident, b.target, b.elapsed.num_seconds()))
            .collect();
        reported.sort();
        breaches.sort();
        prop_assert_eq!(reported, breaches);
    }
}
