//! A real Prometheus Alertmanager posting to the webhook server: alerts fired, re-sent and
//! resolved, a group with one alert whose summary spans several lines, a Hebrew label. Every
//! alert must reach the desk, keyed by Alertmanager's own fingerprint, with its labels as
//! Alertmanager sent them.
//!
//! The test binds the server on a free loopback port first, then has
//! `scripts/alertmanager-test.sh start URL` start Debian's `prometheus-alertmanager` with that
//! URL as its only receiver (quick routing: `group_wait` and `group_interval` 1 s,
//! `repeat_interval` 2 s, `send_resolved`), posts alerts to Alertmanager's v2 API and stops it
//! at the end — a fresh Alertmanager per run, so no alert or notification log of an earlier
//! run reaches this desk.
//!
//! Where Alertmanager is not installed the test says so and passes; `bash
//! scripts/alertmanager-test.sh install` installs it. When `INCIDENTS_ALERTMANAGER_BIN` names
//! the binary (`.ci/run` sets it) a missing one is a failure, not a skip.
//!
//! Alertmanager runs on its own clock, so this test waits for it: it polls the desk and what
//! arrived every 50 ms, up to 60 s in all (a run takes about 10 s). The desk runs on the
//! system clock; its timers are not run.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use incidents::incident::SignalRecord;
use incidents::lifecycle::SignalState;
use incidents::webhooks::{AlertmanagerMapping, alertmanager_fingerprint};
use incidents::{Desk, FileStore, Filter, Incident, Severity, SystemClock};
use incidents_webhook_server::{Intake, router};
use serde_json::{Value, json};

use crate::client::exchange;

/// How long the whole test may wait for Alertmanager.
const PATIENCE: StdDuration = StdDuration::from_secs(60);

const SHOP: &str = "מאפיית ארומה";
const TILL_2_SUMMARY: &str = "Till 2 is offline\n\
                              Last seen at 07:58 at the front counter\n\
                              Card payments go to till 1 meanwhile";

/// The Alertmanager binary: `INCIDENTS_ALERTMANAGER_BIN` (which must then exist), else
/// `prometheus-alertmanager` or `alertmanager` on `PATH`.
fn binary() -> Option<PathBuf> {
    let on_path = |name: &str| {
        std::env::split_paths(&std::env::var_os("PATH")?)
            .map(|dir| dir.join(name))
            .find(|path| path.is_file())
    };
    if let Some(named) = std::env::var_os("INCIDENTS_ALERTMANAGER_BIN") {
        let named = PathBuf::from(named);
        let found = if named.components().count() > 1 {
            named.is_file().then_some(named.clone())
        } else {
            on_path(&named.to_string_lossy())
        };
        return Some(found.unwrap_or_else(|| {
            panic!(
                "INCIDENTS_ALERTMANAGER_BIN={} is not there",
                named.display()
            )
        }));
    }
    on_path("prometheus-alertmanager").or_else(|| on_path("alertmanager"))
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/alertmanager-test.sh")
}

/// An Alertmanager started by the script; stopped (its directory deleted) when dropped.
struct Alertmanager {
    api: SocketAddr,
    dir: String,
    log: String,
}

impl Alertmanager {
    fn start(bin: &Path, webhook: &str) -> Alertmanager {
        let out = Command::new("bash")
            .arg(script())
            .args(["start", webhook])
            .env("INCIDENTS_ALERTMANAGER_BIN", bin)
            // Should this test die without stopping it, the script's watcher does.
            .env("INCIDENTS_AM_OWNER_PID", std::process::id().to_string())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "alertmanager-test.sh start failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let exports: BTreeMap<String, String> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .filter_map(|line| {
                let (name, value) = line.strip_prefix("export ")?.split_once('=')?;
                Some((name.to_string(), value.trim_matches('\'').to_string()))
            })
            .collect();
        let export = |name: &str| {
            exports
                .get(name)
                .unwrap_or_else(|| panic!("alertmanager-test.sh start printed no {name}"))
                .clone()
        };
        Alertmanager {
            api: export("INCIDENTS_AM_API").parse().unwrap(),
            dir: export("INCIDENTS_AM_DIR"),
            log: export("INCIDENTS_AM_LOG"),
        }
    }

    /// `POST /api/v2/alerts`, as Prometheus does on every evaluation.
    fn post(&self, alerts: &[Value]) {
        let answer = exchange(
            self.api,
            "POST",
            "/api/v2/alerts",
            &Value::from(alerts.to_vec()).to_string(),
        );
        assert_eq!(
            answer.status, 200,
            "Alertmanager refused the alerts: {answer:?}"
        );
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            eprintln!("Alertmanager's log, last lines:");
            for line in tail.iter().rev() {
                eprintln!("    {line}");
            }
        }
        let _ = Command::new("bash")
            .arg(script())
            .arg("stop")
            .env("INCIDENTS_AM_DIR", &self.dir)
            .status();
    }
}

/// One webhook delivery as it crossed the wire: Alertmanager's payload and the server's answer.
#[derive(Debug, Clone)]
struct Delivery {
    status: u16,
    payload: Value,
    answer: Value,
}

impl Delivery {
    fn group_key(&self) -> &str {
        self.payload["groupKey"].as_str().unwrap_or("")
    }

    /// Each alert of the payload, as (its key on the desk, its status, the server's outcome).
    fn alerts(&self) -> Vec<(String, String, String)> {
        let alerts = self.payload["alerts"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        alerts
            .iter()
            .enumerate()
            .map(|(i, alert)| {
                let fingerprint = alert["fingerprint"].as_str().unwrap_or("");
                assert!(!fingerprint.is_empty(), "no fingerprint: {alert}");
                (
                    format!("alertmanager/{fingerprint}"),
                    alert["status"].as_str().unwrap_or("").to_string(),
                    self.answer["results"][i]["outcome"]
                        .as_str()
                        .unwrap_or("")
                        .to_string(),
                )
            })
            .collect()
    }
}

type Deliveries = Arc<Mutex<Vec<Delivery>>>;

/// Keeps a copy of every request and answer on the way through.
async fn capture(State(log): State<Deliveries>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let payload = to_bytes(body, usize::MAX).await.unwrap();
    let response = next
        .run(Request::from_parts(parts, Body::from(payload.clone())))
        .await;
    let (parts, body) = response.into_parts();
    let answer = to_bytes(body, usize::MAX).await.unwrap();
    log.lock().unwrap().push(Delivery {
        status: parts.status.as_u16(),
        payload: serde_json::from_slice(&payload).unwrap_or(Value::Null),
        answer: serde_json::from_slice(&answer).unwrap_or(Value::Null),
    });
    Response::from_parts(parts, Body::from(answer))
}

/// An alert as the test posts it, and the key the desk must file it under.
struct Posted {
    labels: BTreeMap<String, String>,
    summary: &'static str,
}

impl Posted {
    fn new(labels: &[(&str, &str)], summary: &'static str) -> Posted {
        Posted {
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            summary,
        }
    }

    fn key(&self) -> String {
        format!("alertmanager/{}", alertmanager_fingerprint(&self.labels))
    }

    /// The v2 API's `postableAlert`; without `endsAt` Alertmanager keeps it firing.
    fn json(&self, starts_at: DateTime<Utc>, ends_at: Option<DateTime<Utc>>) -> Value {
        let time = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
        let mut alert = json!({
            "labels": self.labels,
            "annotations": {"summary": self.summary},
            "startsAt": time(starts_at),
            "generatorURL": "http://prometheus.invalid/graph",
        });
        if let Some(ends_at) = ends_at {
            alert["endsAt"] = json!(time(ends_at));
        }
        alert
    }
}

/// Polls `ready` every 50 ms until it gives something; past `deadline` the test fails,
/// showing every delivery so far.
fn wait_for<T>(
    deadline: Instant,
    what: &str,
    deliveries: &Deliveries,
    mut ready: impl FnMut() -> Option<T>,
) -> T {
    loop {
        if let Some(found) = ready() {
            return found;
        }
        if Instant::now() > deadline {
            let seen = deliveries.lock().unwrap().clone();
            panic!("gave up waiting for {what}; the deliveries so far: {seen:#?}");
        }
        std::thread::sleep(StdDuration::from_millis(50));
    }
}

/// Every signal record on the desk, with its incident.
fn records(desk: &Desk<FileStore, SystemClock>) -> Vec<(Incident, SignalRecord)> {
    desk.list(&Filter::all())
        .into_iter()
        .flat_map(|incident| {
            incident
                .signals()
                .iter()
                .map(|r| (incident.clone(), r.clone()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The record of `key` in `state`, if the desk has one.
fn record(
    desk: &Desk<FileStore, SystemClock>,
    key: &str,
    state: SignalState,
) -> Option<(Incident, SignalRecord)> {
    records(desk)
        .into_iter()
        .find(|(_, r)| r.signal.key == key && r.signal.state == state)
}

#[test]
fn a_real_alertmanager_delivers_every_alert_to_the_desk_with_its_labels() {
    let Some(bin) = binary() else {
        // Straight to stderr, past the test harness' capture: a skip should be seen.
        let _ = writeln!(
            std::io::stderr(),
            "skipped: no Alertmanager; run `bash scripts/alertmanager-test.sh install` \
             (Debian's prometheus-alertmanager) and test again"
        );
        return;
    };
    let began = Instant::now();
    let deadline = began + PATIENCE;

    // The server first, on a free port: Alertmanager is told where it listens.
    let dir = tempfile::tempdir().unwrap();
    let desk = Arc::new(Desk::new(FileStore::open(dir.path()).unwrap(), SystemClock).unwrap());
    let intake = Arc::new(Intake {
        desk: Arc::clone(&desk),
        mapping: AlertmanagerMapping::default(),
    });
    let deliveries = Deliveries::default();
    let app = router(intake).layer(middleware::from_fn_with_state(
        Arc::clone(&deliveries),
        capture,
    ));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let webhook = format!(
        "http://{}/webhooks/alertmanager",
        listener.local_addr().unwrap()
    );
    runtime.spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    let am = Alertmanager::start(&bin, &webhook);

    // Two groups (Alertmanager groups by alertname, service and shop): the checkout on two
    // web servers, and three tills of a bakery whose name is in Hebrew — one till's summary
    // written on three lines, another's in Hebrew.
    let web = |instance: &'static str, summary: &'static str| {
        Posted::new(
            &[
                ("alertname", "CheckoutDown"),
                ("service", "online shop"),
                ("severity", "critical"),
                ("instance", instance),
            ],
            summary,
        )
    };
    let till = |till: &'static str, summary: &'static str| {
        Posted::new(
            &[
                ("alertname", "TillOffline"),
                ("service", "POS"),
                ("severity", "warning"),
                ("shop", SHOP),
                ("till", till),
            ],
            summary,
        )
    };
    let checkout = [
        web("web-1", "Checkout returns 500 on web-1"),
        web("web-2", "Checkout returns 500 on web-2"),
    ];
    let tills = [
        till("1", "Till 1 is offline"),
        till("2", TILL_2_SUMMARY),
        till("3", "קופה 3 לא מחוברת"),
    ];
    let all: Vec<&Posted> = checkout.iter().chain(&tills).collect();
    let started = Utc::now() - Duration::minutes(1);
    let firing: Vec<Value> = all.iter().map(|a| a.json(started, None)).collect();

    // Fired: every alert reaches the desk as a firing signal.
    am.post(&firing);
    wait_for(
        deadline,
        "every alert firing on the desk",
        &deliveries,
        || {
            all.iter()
                .all(|a| record(&desk, &a.key(), SignalState::Firing).is_some())
                .then_some(())
        },
    );
    let incidents = desk.list(&Filter::all());
    assert_eq!(incidents.len(), 2, "one incident per group: {incidents:#?}");
    for (group, severity) in [
        (&checkout[..], Severity::Critical),
        (&tills[..], Severity::Medium),
    ] {
        let (incident, _) = record(&desk, &group[0].key(), SignalState::Firing).unwrap();
        assert_eq!(incident.signal_count(), group.len(), "{incident:#?}");
        assert_eq!(incident.service().as_str(), group[0].labels["service"]);
        assert_eq!(incident.severity(), severity, "from the severity label");
        for alert in group {
            let (on, record) = record(&desk, &alert.key(), SignalState::Firing).unwrap();
            assert_eq!(on.id(), incident.id(), "the group's alerts on one incident");
            // The labels as posted, every one of them, byte for byte.
            assert_eq!(record.signal.labels, alert.labels);
            assert!(record.signal.group.is_some());
        }
    }
    let (_, till_2) = record(&desk, &tills[1].key(), SignalState::Firing).unwrap();
    assert_eq!(till_2.signal.summary, "Till 2 is offline");
    assert_eq!(
        till_2.signal.description.as_ref().map(|d| d.as_str()),
        Some(TILL_2_SUMMARY)
    );
    assert_eq!(till_2.signal.labels["shop"].as_bytes(), SHOP.as_bytes());
    let (_, till_3) = record(&desk, &tills[2].key(), SignalState::Firing).unwrap();
    assert_eq!(till_3.signal.summary, "קופה 3 לא מחוברת");
    assert_eq!(till_3.signal.description, None);
    let recorded = |incidents: &[Incident]| -> BTreeMap<String, usize> {
        incidents
            .iter()
            .map(|i| (i.id().to_string(), i.signals().len()))
            .collect()
    };
    let recorded_after_firing = recorded(&incidents);

    // Re-sent: Prometheus posts the same alerts again, and Alertmanager repeats the groups'
    // notifications (repeat_interval): each delivery is a duplicate, nothing new is recorded.
    let before_resend = deliveries.lock().unwrap().len();
    am.post(&firing);
    wait_for(deadline, "both groups sent again", &deliveries, || {
        let seen = deliveries.lock().unwrap();
        let groups: BTreeSet<&str> = seen[before_resend..]
            .iter()
            .map(Delivery::group_key)
            .collect();
        (groups.len() == 2).then_some(())
    });
    for delivery in &deliveries.lock().unwrap()[before_resend..] {
        for (key, status, outcome) in delivery.alerts() {
            assert_eq!(
                (status.as_str(), outcome.as_str()),
                ("firing", "duplicate"),
                "{key}: {delivery:#?}"
            );
        }
    }
    assert_eq!(
        recorded(&desk.list(&Filter::all())),
        recorded_after_firing,
        "re-sent alerts record nothing"
    );

    // Resolved, one web server first: its signal resolves, the incident still has the other.
    let ended = Utc::now() - Duration::seconds(1);
    am.post(&[checkout[0].json(started, Some(ended))]);
    let (incident, _) = wait_for(deadline, "web-1 resolved on the desk", &deliveries, || {
        record(&desk, &checkout[0].key(), SignalState::Resolved)
    });
    assert!(!incident.signals_all_resolved(), "{incident:#?}");
    assert!(record(&desk, &checkout[1].key(), SignalState::Resolved).is_none());

    // Then all the others: every signal of both incidents has resolved.
    let ended = Utc::now() - Duration::seconds(1);
    let rest: Vec<Value> = all[1..]
        .iter()
        .map(|a| a.json(started, Some(ended)))
        .collect();
    am.post(&rest);
    wait_for(deadline, "every signal resolved", &deliveries, || {
        let incidents = desk.list(&Filter::all());
        incidents
            .iter()
            .all(Incident::signals_all_resolved)
            .then_some(())
    });
    assert_eq!(desk.list(&Filter::all()).len(), 2);
    for alert in &all {
        assert!(record(&desk, &alert.key(), SignalState::Resolved).is_some());
    }
    drop(am);
    let elapsed = began.elapsed();

    // What crossed the wire: every alert Alertmanager sent carried its fingerprint, the one
    // the crate derives from the labels; each was answered, none skipped; a firing alert was
    // recorded the first time and a duplicate after, and so was a resolved one.
    let seen = deliveries.lock().unwrap().clone();
    let posted_keys: BTreeSet<String> = all.iter().map(|a| a.key()).collect();
    let mut first = BTreeSet::new();
    let mut opened = 0;
    for delivery in &seen {
        assert_eq!(delivery.status, 200, "{delivery:#?}");
        assert_eq!(delivery.payload["version"], "4", "{delivery:#?}");
        let alerts = delivery.alerts();
        assert_eq!(
            delivery.answer["results"].as_array().map(Vec::len),
            Some(alerts.len()),
            "one result per alert: {delivery:#?}"
        );
        for (key, status, outcome) in alerts {
            assert!(
                posted_keys.contains(&key),
                "{key}: Alertmanager's fingerprint is none the crate derives from the posted \
                 labels (webhooks::alertmanager_fingerprint): {delivery:#?}"
            );
            let again = !first.insert((key.clone(), status.clone()));
            match (status.as_str(), outcome.as_str(), again) {
                ("firing", "opened", false) => opened += 1,
                ("firing", "recorded", false) | ("resolved", "recorded", false) => {}
                (_, "duplicate", true) => {}
                other => panic!("{key}: unexpected {other:?} in {delivery:#?}"),
            }
        }
    }
    assert_eq!(opened, 2, "one incident opened per group");
    let group_keys: BTreeSet<&str> = seen.iter().map(Delivery::group_key).collect();
    assert_eq!(group_keys.len(), 2, "{group_keys:?}");
    println!(
        "Alertmanager: {} deliveries in {:.1} s, group keys {group_keys:?}",
        seen.len(),
        elapsed.as_secs_f64()
    );
    for delivery in &seen {
        let alerts: Vec<String> = delivery
            .alerts()
            .iter()
            .map(|(key, status, outcome)| format!("{key} {status} -> {outcome}"))
            .collect();
        println!("  {}: {}", delivery.group_key(), alerts.join(", "));
    }
    runtime.shutdown_background();
}
