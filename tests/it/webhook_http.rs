//! The webhook example's server, for real: started on a loopback port, fed a real Alertmanager
//! payload over HTTP (firing, then resolved), checked for the incident it produced and for its
//! auto-resolution after the quiet period — on virtual time.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;

use chrono::Duration;
use incidents::webhooks::AlertmanagerMapping;
use incidents::{Clock, Desk, FileStore, Filter, ManualClock, Resolution, Severity, Status};
use tokio::sync::Notify;

#[allow(dead_code)]
#[path = "../../examples/webhook_server.rs"]
mod webhook_server;

use crate::support::t0;

/// A minimal HTTP/1.1 POST; returns the status code and the body.
fn request(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
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
    let intake = Arc::new(webhook_server::Intake {
        desk: Arc::clone(&desk),
        mapping: AlertmanagerMapping::default(),
        wake: Arc::new(Notify::new()),
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
        axum::serve(listener, webhook_server::router(intake))
            .await
            .unwrap();
    });

    // Firing.
    let (status, body) = request(
        addr,
        "POST",
        "/webhooks/alertmanager",
        &payload("firing", "0001-01-01T00:00:00Z"),
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Opened"), "{body}");
    let incidents = desk.list(&Filter::all());
    assert_eq!(incidents.len(), 1);
    let incident = &incidents[0];
    assert_eq!(incident.title(), "Checkout returns 500 for 20% of requests");
    assert_eq!(incident.severity(), Severity::Critical);
    assert_eq!(incident.service().as_str(), "online shop");
    assert_eq!(incident.alert_key(), Some("alertmanager/5e1f0c2b9a7d3e41"));
    let id = incident.id();

    // Alertmanager re-sends the same firing alert: nothing new.
    let (status, body) = request(
        addr,
        "POST",
        "/webhooks/alertmanager",
        &payload("firing", "0001-01-01T00:00:00Z"),
    );
    assert_eq!(status, 200);
    assert!(body.contains("Duplicate"), "{body}");

    // Resolved, two minutes later.
    clock.advance(Duration::minutes(2));
    let (status, body) = request(
        addr,
        "POST",
        "/webhooks/alertmanager",
        &payload("resolved", "2026-11-27T12:01:30Z"),
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Recorded"), "{body}");
    assert!(desk.get(id).unwrap().signals_all_resolved());

    // A broken payload names the field.
    let (status, body) = request(
        addr,
        "POST",
        "/webhooks/alertmanager",
        &payload("firing", "0001-01-01T00:00:00Z").replace("\"4\"", "\"3\""),
    );
    assert_eq!(status, 400);
    assert!(body.contains("\"field\":\"version\""), "{body}");

    // Virtual time: jump to the deadlines until the quiet period is over.
    let quiet_over = clock.now() + Duration::minutes(15);
    while let Some(next) = desk.next_deadline().filter(|n| *n <= quiet_over) {
        clock.set(next.max(clock.now()));
        desk.tick(clock.now()).unwrap();
        desk.dispatch(&webhook_server::PrintingNotifier).unwrap();
    }
    let incident = desk.get(id).unwrap();
    assert_eq!(incident.status(), Status::Resolved);
    assert_eq!(incident.resolution(), Some(Resolution::AutoResolved));
    assert_eq!(incident.resolved_at(), Some(quiet_over));

    let (status, body) = request(addr, "GET", "/incidents", "");
    assert_eq!(status, 200);
    assert!(body.contains("auto-resolved"), "{body}");
    runtime.shutdown_background();
}
