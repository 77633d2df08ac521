//! The status page's model: the commands that set what the public sees, and
//! `Snapshot::build` / `Desk::status_snapshot` at exact instants (a `ManualClock`; nothing
//! sleeps), with property tests against a naive recomputation.

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use incidents::lifecycle::{Impact, decide};
use incidents::status::{
    Component, ComponentStatus, Indicator, Maintenance, PageSettings, PublicStatus, Snapshot,
};
use incidents::{
    Actor, Change, Command, Desk, Error, Event, Incident, IncidentId, ManualClock, MemoryStore,
    NewIncident, Resolution, Role, Service, Severity, Source,
};
use proptest::prelude::*;

fn utc(month: u32, day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, month, day, hour, minute, 0)
        .unwrap()
}

fn owner() -> Actor {
    Actor::new("dana", "Dana Internal-Owner", Role::Owner).unwrap()
}

fn support() -> Actor {
    Actor::new("noa", "Noa", Role::Support).unwrap()
}

fn service(name: &str) -> Service {
    Service::new(name).unwrap()
}

fn settings(zone: Tz) -> PageSettings {
    PageSettings::new(
        "shop.example",
        "The Shop",
        "https://status.shop.example/",
        "en",
        zone,
    )
    .component(Component::new(service("payments"), "Card payments"))
    .component(Component::new(service("online shop"), "Online shop"))
}

fn with_bar_days(mut settings: PageSettings, days: u32) -> PageSettings {
    settings.bar_days = days;
    settings
}

fn new_incident(title: &str, severity: Severity, on: &str) -> NewIncident {
    NewIncident::new(title, severity, on, Source::StaffReport).unwrap()
}

type TestDesk<'c> = Desk<MemoryStore, &'c ManualClock>;

fn desk(clock: &ManualClock) -> TestDesk<'_> {
    Desk::new(MemoryStore::new(), clock).unwrap()
}

fn open(desk: &TestDesk<'_>, severity: Severity, on: &str) -> IncidentId {
    desk.open(&owner(), new_incident("internal title", severity, on))
        .unwrap()
        .id
}

#[test]
fn severity_maps_to_component_status_and_indicator() {
    let cases = [
        (
            Severity::Critical,
            ComponentStatus::MajorOutage,
            Indicator::Critical,
        ),
        (
            Severity::High,
            ComponentStatus::PartialOutage,
            Indicator::Major,
        ),
        (
            Severity::Medium,
            ComponentStatus::DegradedPerformance,
            Indicator::Minor,
        ),
        (Severity::Low, ComponentStatus::Operational, Indicator::None),
    ];
    for (severity, status, indicator) in cases {
        let clock = ManualClock::new(utc(11, 10, 8, 0));
        let desk = desk(&clock);
        open(&desk, severity, "payments");
        clock.set(utc(11, 10, 9, 0));
        let snapshot = desk.status_snapshot(&settings(chrono_tz::UTC)).unwrap();
        assert_eq!(snapshot.components[0].status, status, "{severity}");
        assert_eq!(
            snapshot.components[1].status,
            ComponentStatus::Operational,
            "{severity}"
        );
        assert_eq!(snapshot.indicator, indicator, "{severity}");
        // Impact none is not shown.
        assert_eq!(
            snapshot.active.len(),
            usize::from(severity != Severity::Low),
            "{severity}"
        );
    }
}

#[test]
fn an_override_is_recorded_with_its_actor_and_cleared() {
    let clock = ManualClock::new(utc(11, 10, 8, 0));
    let desk = desk(&clock);
    let id = open(&desk, Severity::Medium, "payments");
    clock.set(utc(11, 10, 8, 30));
    desk.act(
        id,
        &support(),
        Command::set_impact(Some(Impact::MajorOutage)),
    )
    .unwrap();
    let incident = desk.get(id).unwrap();
    assert_eq!(incident.impact_override(), Some(Impact::MajorOutage));
    assert_eq!(incident.impact(), Impact::MajorOutage);
    let history = desk.history(id).unwrap();
    let set = history.last().unwrap();
    assert_eq!(set.actor, support());
    assert_eq!(set.at, utc(11, 10, 8, 30));
    assert_eq!(
        set.change,
        Change::ImpactSet {
            impact: Some(Impact::MajorOutage)
        }
    );
    let snapshot = desk.status_snapshot(&settings(chrono_tz::UTC)).unwrap();
    assert_eq!(snapshot.components[0].status, ComponentStatus::MajorOutage);
    assert_eq!(snapshot.active[0].impact, Impact::MajorOutage);
    assert_eq!(snapshot.active[0].updated_at, utc(11, 10, 8, 30));

    // Setting it again records nothing.
    desk.act(
        id,
        &support(),
        Command::set_impact(Some(Impact::MajorOutage)),
    )
    .unwrap();
    assert_eq!(desk.history(id).unwrap().len(), history.len());

    // Cleared, it follows the severity again, and severity changes show.
    clock.set(utc(11, 10, 9, 0));
    desk.act(id, &owner(), Command::set_impact(None)).unwrap();
    let incident = desk.get(id).unwrap();
    assert_eq!(incident.impact_override(), None);
    assert_eq!(incident.impact(), Impact::DegradedPerformance);
    let cleared = desk.history(id).unwrap();
    assert_eq!(cleared.last().unwrap().actor, owner());
    assert_eq!(
        cleared.last().unwrap().change,
        Change::ImpactSet { impact: None }
    );
    let snapshot = desk.status_snapshot(&settings(chrono_tz::UTC)).unwrap();
    assert_eq!(
        snapshot.components[0].status,
        ComponentStatus::DegradedPerformance
    );
    // 08:30 to 09:00 in a major outage: down.
    assert_eq!(
        snapshot.components[0].days.last().unwrap().down_seconds,
        1800
    );
}

#[test]
fn the_public_title_is_set_and_withdrawn_and_only_people_who_post_updates_may() {
    let clock = ManualClock::new(utc(11, 10, 8, 0));
    let desk = desk(&clock);
    let id = open(&desk, Severity::High, "payments");
    let viewer = Actor::new("vic", "Vic", Role::Viewer).unwrap();
    let title = Command::public_title(Some("Card payments are failing")).unwrap();
    assert!(matches!(
        desk.act(id, &viewer, title.clone()),
        Err(Error::Forbidden { .. })
    ));
    assert!(matches!(
        desk.act(id, &viewer, Command::set_impact(None)),
        Err(Error::Forbidden { .. })
    ));
    let responder = Actor::new("avi", "Avi", Role::Responder).unwrap();
    desk.act(
        id,
        &responder,
        Command::set_impact(Some(Impact::DegradedPerformance)),
    )
    .unwrap();
    desk.act(id, &support(), title).unwrap();
    let snapshot = desk.status_snapshot(&settings(chrono_tz::UTC)).unwrap();
    assert_eq!(
        snapshot.active[0].title.as_deref(),
        Some("Card payments are failing")
    );
    desk.act(id, &support(), Command::public_title(None).unwrap())
        .unwrap();
    assert_eq!(desk.get(id).unwrap().public_title(), None);
    let snapshot = desk.status_snapshot(&settings(chrono_tz::UTC)).unwrap();
    assert_eq!(snapshot.active[0].title, None);
}

#[test]
fn a_severity_change_mid_day_splits_the_days_down_seconds_exactly() {
    let clock = ManualClock::new(utc(11, 10, 8, 0));
    let desk = desk(&clock);
    // High: a partial outage (down) from 08:00.
    let id = open(&desk, Severity::High, "payments");
    // Medium at 10:30: degraded (up).
    clock.set(utc(11, 10, 10, 30));
    desk.act(
        id,
        &owner(),
        Command::change_severity(Severity::Medium, "only some cards").unwrap(),
    )
    .unwrap();
    // Critical at 12:00: a major outage (down) until resolved at 13:15.
    clock.set(utc(11, 10, 12, 0));
    desk.act(
        id,
        &owner(),
        Command::change_severity(Severity::Critical, "all cards").unwrap(),
    )
    .unwrap();
    clock.set(utc(11, 10, 13, 15));
    desk.act(id, &owner(), Command::resolve(Resolution::Fixed))
        .unwrap();
    clock.set(utc(11, 10, 18, 0));
    let snapshot = desk.status_snapshot(&settings(chrono_tz::UTC)).unwrap();
    let view = &snapshot.components[0];
    let today = view.days.last().unwrap();
    assert_eq!(today.date, utc(11, 10, 0, 0).date_naive());
    assert_eq!(today.down_seconds, 2 * 3600 + 1800 + 3600 + 900);
    assert_eq!(today.counted_seconds, 18 * 3600);
    assert_eq!(today.worst, ComponentStatus::MajorOutage);
    assert_eq!(view.days.len(), 90);
    assert!(view.days[..89].iter().all(|d| d.down_seconds == 0
        && d.counted_seconds == 86_400
        && d.worst == ComponentStatus::Operational));
    let counted = 89.0 * 86_400.0 + 18.0 * 3600.0;
    assert!((view.uptime - (1.0 - 13_500.0 / counted)).abs() < 1e-12);
    assert_eq!(view.status, ComponentStatus::Operational);
    assert_eq!(snapshot.history.len(), 1);
    assert_eq!(snapshot.history[0].impact, Impact::MajorOutage);
    assert_eq!(snapshot.history[0].status, PublicStatus::Resolved);
    assert_eq!(snapshot.history[0].resolved_at, Some(utc(11, 10, 13, 15)));
    assert_eq!(snapshot.history[0].updated_at, utc(11, 10, 13, 15));
}

#[test]
fn resolve_and_reopen_count_and_updates_carry_their_public_status() {
    let clock = ManualClock::new(utc(11, 10, 8, 0));
    let desk = desk(&clock);
    let id = open(&desk, Severity::Critical, "online shop");
    clock.set(utc(11, 10, 8, 10));
    desk.act(
        id,
        &support(),
        Command::customer_update("We are looking into it").unwrap(),
    )
    .unwrap();
    clock.set(utc(11, 10, 8, 20));
    desk.act(
        id,
        &owner(),
        Command::identify("secret root cause").unwrap(),
    )
    .unwrap();
    clock.set(utc(11, 10, 8, 30));
    desk.act(
        id,
        &support(),
        Command::customer_update("Found it").unwrap(),
    )
    .unwrap();
    clock.set(utc(11, 10, 9, 0));
    desk.act(id, &owner(), Command::resolve(Resolution::Fixed))
        .unwrap();
    clock.set(utc(11, 10, 9, 5));
    desk.act(id, &support(), Command::customer_update("Fixed").unwrap())
        .unwrap();

    clock.set(utc(11, 10, 9, 30));
    let resolved = desk.status_snapshot(&settings(chrono_tz::UTC)).unwrap();
    assert!(resolved.active.is_empty());
    assert_eq!(resolved.history.len(), 1);
    assert_eq!(resolved.components[1].status, ComponentStatus::Operational);

    clock.set(utc(11, 10, 10, 0));
    desk.act(id, &owner(), Command::reopen("down again").unwrap())
        .unwrap();
    clock.set(utc(11, 10, 11, 0));
    let snapshot = desk.status_snapshot(&settings(chrono_tz::UTC)).unwrap();
    assert!(snapshot.history.is_empty(), "reopened: not history");
    assert_eq!(snapshot.active.len(), 1);
    let incident = &snapshot.active[0];
    assert_eq!(incident.component, 1);
    assert_eq!(incident.status, PublicStatus::Investigating);
    assert_eq!(incident.resolved_at, None);
    assert_eq!(incident.updated_at, utc(11, 10, 10, 0));
    let updates: Vec<(&str, PublicStatus)> = incident
        .updates
        .iter()
        .map(|u| (u.body.as_str(), u.status))
        .collect();
    assert_eq!(
        updates,
        [
            ("Fixed", PublicStatus::Resolved),
            ("Found it", PublicStatus::Identified),
            ("We are looking into it", PublicStatus::Investigating),
        ]
    );
    let today = snapshot.components[1].days.last().unwrap();
    // 08:00–09:00 and 10:00–11:00.
    assert_eq!(today.down_seconds, 2 * 3600);
    assert_eq!(snapshot.components[1].status, ComponentStatus::MajorOutage);
}

#[test]
fn days_across_the_jerusalem_dst_changes_have_23_and_25_hours() {
    let zone: Tz = "Asia/Jerusalem".parse().unwrap();
    let hours = |at: DateTime<Utc>| {
        let snapshot = Snapshot::build(&with_bar_days(settings(zone), 3), at, []);
        snapshot.components[0]
            .days
            .iter()
            .map(|d| (d.date.to_string(), d.counted_seconds / 3600))
            .collect::<Vec<_>>()
    };
    // Summer time begins on Friday 27 March 2026 at 02:00 (a 23-hour day).
    assert_eq!(
        hours(utc(3, 28, 10, 0)),
        [
            ("2026-03-26".to_string(), 24),
            ("2026-03-27".to_string(), 23),
            // 13:00 local (UTC+3).
            ("2026-03-28".to_string(), 13),
        ]
    );
    // It ends on Sunday 25 October 2026 at 02:00 (a 25-hour day).
    assert_eq!(
        hours(utc(10, 26, 10, 0)),
        [
            ("2026-10-24".to_string(), 24),
            ("2026-10-25".to_string(), 25),
            // 12:00 local (UTC+2).
            ("2026-10-26".to_string(), 12),
        ]
    );
}

#[test]
fn maintenance_is_active_scheduled_or_dropped_and_shows_where_no_incident_does() {
    let at = utc(11, 10, 12, 0);
    let window = |id: &str, from: i64, to: i64, services: &[&str]| {
        Maintenance::new(
            id,
            "Card terminal firmware",
            services.iter().map(|s| service(s)).collect(),
            at + Duration::hours(from),
            at + Duration::hours(to),
        )
    };
    let page = settings(chrono_tz::UTC)
        .maintenance(window("later", 30, 31, &["payments"]))
        .maintenance(window("ended", -5, -1, &["payments"]))
        .maintenance(window("now", -1, 1, &["payments", "online shop"]))
        .maintenance(window("sooner", 2, 3, &["online shop"]));
    let clock = ManualClock::new(at - Duration::hours(2));
    let desk = desk(&clock);
    open(&desk, Severity::Medium, "online shop");
    clock.set(at);
    let snapshot = desk.status_snapshot(&page).unwrap();
    let ids = |list: &[Maintenance]| list.iter().map(|m| m.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&snapshot.maintenance_active), ["now"]);
    assert_eq!(ids(&snapshot.maintenance_scheduled), ["sooner", "later"]);
    assert_eq!(
        snapshot.components[0].status,
        ComponentStatus::UnderMaintenance
    );
    // An incident affects the shop: it shows instead of the maintenance.
    assert_eq!(
        snapshot.components[1].status,
        ComponentStatus::DegradedPerformance
    );
    assert_eq!(snapshot.indicator, Indicator::Minor);
    let payments_today = snapshot.components[0].days.last().unwrap();
    assert_eq!(payments_today.worst, ComponentStatus::UnderMaintenance);
    assert_eq!(payments_today.down_seconds, 0, "maintenance counts as up");
    // At the end instant the window is over.
    let after = Snapshot::build(&page, at + Duration::hours(1), []);
    assert_eq!(after.components[0].status, ComponentStatus::Operational);
    assert!(after.maintenance_active.is_empty());
}

#[test]
fn a_merged_duplicate_is_left_out() {
    let clock = ManualClock::new(utc(11, 10, 8, 0));
    let desk = desk(&clock);
    let survivor = open(&desk, Severity::Medium, "payments");
    clock.set(utc(11, 10, 8, 5));
    let duplicate = open(&desk, Severity::Critical, "payments");
    clock.set(utc(11, 10, 8, 10));
    let before = desk.status_snapshot(&settings(chrono_tz::UTC)).unwrap();
    assert_eq!(before.active.len(), 2);
    assert_eq!(before.active[0].id, duplicate, "newest first");
    desk.merge(duplicate, survivor, &owner()).unwrap();
    clock.set(utc(11, 10, 9, 0));
    let snapshot = desk.status_snapshot(&settings(chrono_tz::UTC)).unwrap();
    let shown: Vec<IncidentId> = snapshot
        .active
        .iter()
        .chain(&snapshot.history)
        .map(|i| i.id)
        .collect();
    assert_eq!(shown, [survivor]);
    assert_eq!(
        snapshot.components[0].status,
        ComponentStatus::DegradedPerformance
    );
    assert_eq!(snapshot.components[0].days.last().unwrap().down_seconds, 0);
}

#[test]
fn internal_text_never_reaches_the_snapshot() {
    let clock = ManualClock::new(utc(11, 10, 8, 0));
    let desk = desk(&clock);
    let reporter = Actor::new("zed", "Zed SECRET-PERSON", Role::Owner).unwrap();
    let id = desk
        .open(
            &reporter,
            new_incident("SECRET-TITLE", Severity::Critical, "payments")
                .with_description("SECRET-DESCRIPTION")
                .unwrap(),
        )
        .unwrap()
        .id;
    let commands = [
        Command::note("SECRET-NOTE").unwrap(),
        Command::identify("SECRET-ROOT-CAUSE").unwrap(),
        Command::mitigate("SECRET-MITIGATION").unwrap(),
        Command::wait_for_vendor("SECRET-VENDOR", Some("SECRET-CASE")).unwrap(),
        Command::add_task("SECRET-TASK", Some("zed")).unwrap(),
        Command::public_title(Some("Payments are down")).unwrap(),
        Command::customer_update("We are on it").unwrap(),
    ];
    for command in commands {
        clock.advance(Duration::minutes(1));
        desk.act(id, &reporter, command).unwrap();
    }
    clock.advance(Duration::minutes(1));
    desk.act(id, &reporter, Command::resolve(Resolution::Workaround))
        .unwrap();
    clock.advance(Duration::minutes(1));
    let review = incidents::people::Review::new("SECRET-WHAT-HAPPENED", "SECRET-WHY").unwrap();
    desk.act(id, &reporter, Command::review(review)).unwrap();
    clock.advance(Duration::minutes(1));
    desk.act(
        id,
        &reporter,
        Command::close("SECRET-SUMMARY", "SECRET-LESSONS").unwrap(),
    )
    .unwrap();
    let snapshot = desk.status_snapshot(&settings(chrono_tz::UTC)).unwrap();
    assert_eq!(snapshot.history.len(), 1);
    let json = serde_json::to_string(&snapshot).unwrap();
    assert!(json.contains("Payments are down") && json.contains("We are on it"));
    assert!(!json.contains("SECRET"), "{json}");
    assert!(!json.contains("zed"), "{json}");
}

#[test]
fn events_after_the_instant_are_not_looked_at() {
    let clock = ManualClock::new(utc(11, 10, 8, 0));
    let desk = desk(&clock);
    let id = open(&desk, Severity::Critical, "payments");
    clock.set(utc(11, 10, 9, 0));
    desk.act(id, &owner(), Command::resolve(Resolution::Fixed))
        .unwrap();
    let events = desk.history(id).unwrap();
    let snapshot = Snapshot::build(
        &settings(chrono_tz::UTC),
        utc(11, 10, 8, 30),
        [events.as_slice()],
    );
    assert_eq!(snapshot.active.len(), 1);
    assert_eq!(
        snapshot.components[0].days.last().unwrap().down_seconds,
        1800
    );
}

// ---------------------------------------------------------------------------------------------
// Properties

/// A command a random history may try (refused ones are skipped).
fn command(pick: u8, n: u8) -> Command {
    let severity = Severity::ALL[usize::from(n) % Severity::ALL.len()];
    match pick % 12 {
        0 => Command::Acknowledge,
        1 => Command::StartInvestigating,
        2 => Command::identify("cause").unwrap(),
        3 => Command::mitigate("workaround").unwrap(),
        4 => Command::resolve(Resolution::Fixed),
        5 => Command::reopen("again").unwrap(),
        6 => Command::change_severity(severity, "reassessed").unwrap(),
        7 => Command::set_impact(
            (!n.is_multiple_of(5)).then(|| Impact::ALL[usize::from(n) % Impact::ALL.len()]),
        ),
        8 => Command::customer_update("an update").unwrap(),
        9 => Command::public_title(n.is_multiple_of(2).then_some("Public")).unwrap(),
        10 => Command::resolve(Resolution::Duplicate {
            of: IncidentId::from_bytes([0xEE; 16]),
        }),
        _ => Command::note("note").unwrap(),
    }
}

type Step = (u32, u8, u8);

/// One incident's history: opened `start` seconds after the origin, then each step waits
/// its seconds and tries its command.
fn history(n: u8, start: u32, severity: u8, on: bool, steps: &[Step]) -> Vec<Event> {
    let origin = utc(10, 20, 0, 0);
    let id = IncidentId::from_bytes([n + 1; 16]);
    let opened = Command::Open {
        id,
        incident: new_incident(
            "t",
            Severity::ALL[usize::from(severity) % 4],
            if on { "payments" } else { "stock" },
        ),
    };
    let mut at = origin + Duration::seconds(i64::from(start));
    let mut events = decide(None, &opened, &owner(), at).unwrap();
    let mut incident = Incident::replay(id, &events).unwrap();
    for (wait, pick, arg) in steps {
        at += Duration::seconds(i64::from(*wait));
        if let Ok(new) = decide(Some(&incident), &command(*pick, *arg), &owner(), at) {
            for event in &new {
                incident.apply(event).unwrap();
            }
            events.extend(new);
        }
    }
    events
}

fn histories() -> impl Strategy<Value = Vec<Vec<Event>>> {
    prop::collection::vec(
        (
            0..40 * 86_400_u32,
            any::<u8>(),
            prop::bool::weighted(0.8),
            prop::collection::vec((0..2 * 86_400_u32, any::<u8>(), any::<u8>()), 0..14),
        ),
        0..6,
    )
    .prop_map(|incidents| {
        incidents
            .iter()
            .zip(0_u8..)
            .map(|((start, severity, on, steps), n)| history(n, *start, *severity, *on, steps))
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn snapshots_keep_their_invariants(
        histories in histories(),
        at_offset in 0..60 * 86_400_i64,
        bar_days in 1..40_u32,
    ) {
        let zone: Tz = "Asia/Jerusalem".parse().unwrap();
        let at = utc(10, 20, 0, 0) + Duration::seconds(at_offset);
        let page = with_bar_days(settings(zone), bar_days);
        let snapshot = Snapshot::build(&page, at, histories.iter().map(Vec::as_slice));
        let view = &snapshot.components[0];

        prop_assert!((0.0..=1.0).contains(&view.uptime), "{}", view.uptime);
        prop_assert_eq!(view.days.len(), bar_days as usize);
        for day in &view.days {
            prop_assert!(0 <= day.down_seconds && day.down_seconds <= day.counted_seconds);
        }
        let today = view.days.last().unwrap();
        let local = at.with_timezone(&zone).date_naive();
        prop_assert_eq!(today.date, local);
        // Jerusalem's clocks change at 02:00, so midnight always exists once.
        let midnight = zone
            .from_local_datetime(&local.and_time(NaiveTime::MIN))
            .single()
            .unwrap()
            .with_timezone(&Utc);
        prop_assert_eq!(today.counted_seconds, (at - midnight).num_seconds());

        // The component's status, recomputed naively from the replayed incidents.
        let worst = histories
            .iter()
            .filter_map(|events| {
                let upto: Vec<&Event> = events.iter().filter(|e| e.at <= at).collect();
                let first = upto.first()?;
                let Change::Opened { id, .. } = &first.change else { return None };
                Incident::replay(*id, upto.iter().copied()).ok()
            })
            .filter(|i| i.is_active() && i.service().as_str() == "payments")
            .map(|i| i.impact())
            .max()
            .unwrap_or(Impact::None);
        prop_assert_eq!(view.status, ComponentStatus::of_impact(worst));

        // The bars' down seconds, recomputed naively: between consecutive event instants,
        // replay every incident up to there and take the worst impact.
        let bars_from = zone
            .from_local_datetime(&view.days[0].date.and_time(NaiveTime::MIN))
            .single()
            .unwrap()
            .with_timezone(&Utc);
        let counted = histories.iter().filter(|events| {
            let upto: Vec<&Event> = events.iter().filter(|e| e.at <= at).collect();
            upto.first().is_some_and(|first| {
                let Change::Opened { id, .. } = &first.change else { return false };
                Incident::replay(*id, upto.iter().copied())
                    .is_ok_and(|i| i.duplicate_of().is_none() && i.service().as_str() == "payments")
            })
        });
        let counted: Vec<&Vec<Event>> = counted.collect();
        let impact_at = |t: DateTime<Utc>| {
            counted
                .iter()
                .filter_map(|events| {
                    let upto: Vec<&Event> = events.iter().filter(|e| e.at <= t).collect();
                    let Change::Opened { id, .. } = &upto.first()?.change else { return None };
                    Incident::replay(*id, upto.iter().copied()).ok()
                })
                .filter(Incident::is_active)
                .map(|i| i.impact())
                .max()
                .unwrap_or(Impact::None)
        };
        let mut instants: Vec<DateTime<Utc>> = counted
            .iter()
            .flat_map(|events| events.iter().map(|e| e.at))
            .filter(|t| *t > bars_from && *t < at)
            .chain([bars_from, at])
            .collect();
        instants.sort();
        instants.dedup();
        let naive_down: i64 = instants
            .windows(2)
            .filter(|w| impact_at(w[0]) >= Impact::PartialOutage)
            .map(|w| (w[1] - w[0]).num_seconds())
            .sum();
        prop_assert_eq!(view.days.iter().map(|d| d.down_seconds).sum::<i64>(), naive_down);
        prop_assert_eq!(snapshot.components[1].status, ComponentStatus::Operational);
        // Every active incident shown has an impact, and only the configured service's.
        for incident in &snapshot.active {
            prop_assert!(incident.impact > Impact::None);
            prop_assert!(incident.impact <= worst);
        }
    }
}
