//! The webhook server, for real: started on a loopback port, fed a real Alertmanager payload
//! over HTTP (firing, then resolved), checked for the incident it produced, for its JSON
//! answers and for its auto-resolution after the quiet period — on virtual time.

use std::net::SocketAddr;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use incidents::webhooks::AlertmanagerMapping;
use incidents::{Clock, Desk, FileStore, Filter, ManualClock, Resolution, Severity, Status};
use incidents_webhook_server::{Intake, PrintingNotifier, router};
use serde_json::{Value, json};

use crate::client::exchange;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()
}

/// A minimal HTTP/1.1 request; returns the status code and the body, which must be JSON.
fn request(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, Value) {
    let answer = exchange(addr, method, path, body);
    assert!(
        answer
            .head
            .to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{answer:?}"
    );
    let json = serde_json::from_str(&answer.body).unwrap_or_else(|e| panic!("{e}: {answer:?}"));
    (answer.status, json)
}

fn payload(status: &str, ends_at: &str) -> String {
    format!(
        r#"{{
  "version": "4",
  "groupKey": "{{}}:{{alertname=\"CheckoutDown\"}}",
  "truncatedAlerts": 0,
  "status": "{status}",
  "receiver": "incidents",
  "groupLabels": {{"alertname": "CheckoutDown"}},
  "commonLabels": {{"alertname": "CheckoutDown", "service": "online shop", "severity": "critical"}},
  "commonAnnotations": {{"summary": "Checkout returns 500 for 20% of requests"}},
  "externalURL": "http://alertmanager.example:9093",
  "alerts": [
    {{
      "status": "{status}",
      "labels": {{"alertname": "CheckoutDown", "service": "online shop", "severity": "critical", "instance": "web-1"}},
      "annotations": {{"summary": "Checkout returns 500 for 20% of requests"}},
      "startsAt": "2026-11-27T11:58:30Z",
      "endsAt": "{ends_at}",
      "generatorURL": "http://prometheus.example:9090/graph?g0.expr=...",
      "fingerprint": "5e1f0c2b9a7d3e41"
    }}
  ]
}}"#
    )
}

#[test]
fn alertmanager_over_http_opens_records_and_auto_resolves_on_virtual_time() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(t0()));
    let desk =
        Arc::new(Desk::new(FileStore::open(dir.path()).unwrap(), Arc::clone(&clock)).unwrap());
    let intake = Arc::new(Intake {
        desk: Arc::clone(&desk),
        mapping: AlertmanagerMapping::default(),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    runtime.spawn(async move {
        axum::serve(listener, router(intake)).await.unwrap();
    });

    // Firing.
    let (status, body) = request(
        addr,
        "POST",
        "/webhooks/alertmanager",
        &payload("firing", "0001-01-01T00:00:00Z"),
    );
    let incidents = desk.list(&Filter::all());
    assert_eq!(incidents.len(), 1);
    let incident = &incidents[0];
    assert_eq!(incident.title(), "Checkout returns 500 for 20% of requests");
    assert_eq!(incident.severity(), Severity::Critical);
    assert_eq!(incident.service().as_str(), "online shop");
    assert_eq!(incident.alert_key(), Some("alertmanager/5e1f0c2b9a7d3e41"));
    let id = incident.id();
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"results": [{"outcome": "opened", "incident": id.to_string()}]})
    );

    // Alertmanager re-sends the same firing alert: nothing new.
    let (status, body) = request(
        addr,
        "POST",
        "/webhooks/alertmanager",
        &payload("firing", "0001-01-01T00:00:00Z"),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"results": [{"outcome": "duplicate", "incident": id.to_string()}]})
    );

    // Resolved, two minutes later.
    clock.advance(Duration::minutes(2));
    let (status, body) = request(
        addr,
        "POST",
        "/webhooks/alertmanager",
        &payload("resolved", "2026-11-27T12:01:30Z"),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"results": [{"outcome": "recorded", "incident": id.to_string()}]})
    );
    assert!(desk.get(id).unwrap().signals_all_resolved());

    // A broken payload names the field.
    let (status, body) = request(
        addr,
        "POST",
        "/webhooks/alertmanager",
        &payload("firing", "not a time"),
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["field"], "alerts[0].endsAt", "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("RFC 3339"),
        "{body}"
    );

    // One alert the adapter cannot use does not cost the others: it is answered `skipped`.
    let (status, body) = request(
        addr,
        "POST",
        "/webhooks/generic",
        r#"{"alerts": [
            {"source": "uptime", "key": "no-service", "summary": "down"},
            {"source": "uptime", "key": "pos-https", "service": "POS", "summary": "POS is fine",
             "status": "resolved"}
        ]}"#,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["results"][0]["outcome"], "skipped", "{body}");
    assert_eq!(body["results"][0]["field"], "alerts[0].service", "{body}");
    assert_eq!(body["results"][1]["outcome"], "ignored", "{body}");

    // A payload none of whose alerts can be used is refused, naming the first problem.
    let (status, body) = request(
        addr,
        "POST",
        "/webhooks/generic",
        r#"{"alerts": [{"source": "uptime", "key": "shop-https", "summary": "down"}]}"#,
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["field"], "alerts[0].service", "{body}");

    // Not JSON at all.
    let (status, body) = request(addr, "POST", "/webhooks/generic", "{not json");
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["field"], "body", "{body}");

    // A resolved alert that no incident knows is ignored, and says so.
    let (status, body) = request(
        addr,
        "POST",
        "/webhooks/generic",
        r#"{"source": "uptime", "key": "never-fired", "service": "online shop",
            "summary": "fine again", "status": "resolved"}"#,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"results": [{"outcome": "ignored", "incident": null}]})
    );

    // A body over the limit is refused.
    let (status, body) = request(
        addr,
        "POST",
        "/webhooks/generic",
        &"x".repeat(incidents::webhooks::MAX_PAYLOAD_BYTES + 1),
    );
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["field"], "body", "{body}");

    // An unknown route answers JSON too.
    let (status, body) = request(addr, "GET", "/nowhere", "");
    assert_eq!(status, 404, "{body}");
    assert_eq!(body, json!({"error": "no such route: /nowhere"}));

    // Virtual time: jump to the deadlines until the quiet period is over.
    let quiet_over = clock.now() + Duration::minutes(15);
    while let Some(next) = desk.next_deadline().filter(|n| *n <= quiet_over) {
        clock.set(next.max(clock.now()));
        desk.tick(clock.now()).unwrap();
        desk.dispatch(&PrintingNotifier).unwrap();
    }
    let incident = desk.get(id).unwrap();
    assert_eq!(incident.status(), Status::Resolved);
    assert_eq!(incident.resolution(), Some(Resolution::AutoResolved));
    assert_eq!(incident.resolved_at(), Some(quiet_over));

    let (status, body) = request(addr, "GET", "/incidents", "");
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!([{
            "id": id.to_string(),
            "title": "Checkout returns 500 for 20% of requests",
            "service": "online shop",
            "severity": "critical",
            "status": "resolved",
            "alerts": 1,
            "resolution": "auto-resolved after a quiet period",
        }])
    );
    runtime.shutdown_background();
}
