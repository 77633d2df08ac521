//! Alertmanager's groups as the operator set them: the alerts of one group record on one
//! incident, each its own signal, resolving signal by signal; per-alert incidents remain an
//! option of the adapter.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use incidents::intake::Ingested;
use incidents::webhooks::{AlertmanagerMapping, alertmanager};
use incidents::{Clock, Desk, Filter, ManualClock, MemoryStore, Resolution};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()
}

/// A group of disk alerts on the till: `alerts` lists (instance, status, endsAt).
fn payload(group: &str, alerts: &[(&str, &str, &str)]) -> String {
    let alerts: Vec<String> = alerts
        .iter()
        .map(|(instance, status, ends)| {
            format!(
                r#"{{"status": "{status}",
                    "labels": {{"alertname": "DiskFull", "service": "POS", "instance": "{instance}"}},
                    "annotations": {{"summary": "Disk full on {instance}"}},
                    "startsAt": "2026-11-27T12:00:00Z", "endsAt": "{ends}"}}"#
            )
        })
        .collect();
    format!(
        r#"{{"version": "4", "status": "firing", "receiver": "shop",
            "groupKey": "{{}}:{{alertname=\"{group}\"}}", "alerts": [{}]}}"#,
        alerts.join(",")
    )
}

const OPEN: &str = "0001-01-01T00:00:00Z";

fn take(
    desk: &Desk<Arc<MemoryStore>, &ManualClock>,
    body: &str,
    mapping: &AlertmanagerMapping,
) -> Vec<Ingested> {
    alertmanager(body.as_bytes(), mapping)
        .unwrap()
        .into_iter()
        .map(|a| desk.ingest(&a.unwrap()).unwrap())
        .collect()
}

#[test]
fn the_alerts_of_one_group_are_one_incident_resolving_signal_by_signal() {
    let clock = ManualClock::new(t0());
    let store = Arc::new(MemoryStore::new());
    let desk = Desk::new(Arc::clone(&store), &clock).unwrap();
    let mapping = AlertmanagerMapping::default();
    let first = take(
        &desk,
        &payload(
            "DiskFull",
            &[("till-1", "firing", OPEN), ("till-2", "firing", OPEN)],
        ),
        &mapping,
    );
    let Ingested::Opened { id } = first[0] else {
        panic!("{first:?}")
    };
    assert_eq!(first[1], Ingested::Recorded { id });
    // Later the group grows: a third till, after a restart too.
    clock.advance(Duration::minutes(1));
    let restarted = Desk::new(Arc::clone(&store), &clock).unwrap();
    let grown = take(
        &restarted,
        &payload(
            "DiskFull",
            &[
                ("till-1", "firing", OPEN),
                ("till-2", "firing", OPEN),
                ("till-3", "firing", OPEN),
            ],
        ),
        &mapping,
    );
    assert_eq!(
        grown,
        [
            Ingested::Duplicate { id },
            Ingested::Duplicate { id },
            Ingested::Recorded { id }
        ]
    );
    let incident = restarted.get(id).unwrap();
    assert_eq!(incident.signal_count(), 3);
    assert_eq!(restarted.list(&Filter::all()).len(), 1);
    // The tills come back one by one: the incident stays open until the last resolves, then
    // the quiet period resolves it.
    clock.advance(Duration::minutes(2));
    let ends = "2026-11-27T12:02:00Z";
    take(
        &restarted,
        &payload(
            "DiskFull",
            &[("till-1", "resolved", ends), ("till-2", "resolved", ends)],
        ),
        &mapping,
    );
    assert!(!restarted.get(id).unwrap().signals_all_resolved());
    clock.advance(Duration::minutes(1));
    take(
        &restarted,
        &payload(
            "DiskFull",
            &[("till-3", "resolved", "2026-11-27T12:03:00Z")],
        ),
        &mapping,
    );
    assert!(restarted.get(id).unwrap().signals_all_resolved());
    struct Quiet;
    impl incidents::Notifier for Quiet {
        fn deliver(
            &self,
            _: &incidents::lifecycle::Notification,
        ) -> Result<(), incidents::notify::DeliveryError> {
            Ok(())
        }
    }
    restarted
        .run_until(clock.now() + Duration::minutes(15), &Quiet)
        .unwrap();
    assert_eq!(
        restarted.get(id).unwrap().resolution(),
        Some(Resolution::AutoResolved)
    );
}

#[test]
fn another_group_is_another_incident_and_per_alert_incidents_remain_an_option() {
    let clock = ManualClock::new(t0());
    let desk = Desk::new(Arc::new(MemoryStore::new()), &clock).unwrap();
    let grouped = AlertmanagerMapping::default();
    let a = take(
        &desk,
        &payload("DiskFull", &[("till-1", "firing", OPEN)]),
        &grouped,
    );
    let b = take(
        &desk,
        &payload("Memory", &[("till-9", "firing", OPEN)]),
        &grouped,
    );
    assert_ne!(a[0].incident(), b[0].incident());

    let clock = ManualClock::new(t0());
    let desk = Desk::new(Arc::new(MemoryStore::new()), &clock).unwrap();
    let apart = AlertmanagerMapping {
        group_alerts: false,
        ..AlertmanagerMapping::default()
    };
    let each = take(
        &desk,
        &payload(
            "DiskFull",
            &[("till-1", "firing", OPEN), ("till-2", "firing", OPEN)],
        ),
        &apart,
    );
    assert!(matches!(each[0], Ingested::Opened { .. }));
    assert!(matches!(each[1], Ingested::Opened { .. }));
    assert_eq!(desk.list(&Filter::all()).len(), 2);
}
