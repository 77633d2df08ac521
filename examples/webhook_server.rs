//! A small HTTP intake for monitoring alerts: Prometheus Alertmanager and the crate's generic
//! JSON webhook, feeding `Desk::ingest` on a `FileStore`, with the desk's timers run by a task
//! that sleeps exactly until `next_deadline()`.
//!
//! ```text
//! cargo run --example webhook_server -- --data-dir ./incident-data --listen 127.0.0.1:8080
//!
//! curl -X POST localhost:8080/webhooks/generic -d \
//!   '{"source":"uptime","key":"shop-https","service":"online shop","summary":"HTTPS check failed","severity":"high"}'
//! curl localhost:8080/incidents
//! ```
//!
//! Point Alertmanager at it with a receiver like
//! `webhook_configs: [{url: "http://HOST:8080/webhooks/alertmanager"}]`.
//!
//! Notifications are printed to standard output; a real host would send e-mail or SMS from
//! its `Notifier`.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use incidents::webhooks::{self, AlertmanagerMapping};
use incidents::{
    Alert, Clock, DeliveryError, Desk, FileStore, Filter, Ingested, Notification, Notifier,
    SystemClock,
};
use serde_json::json;
use tokio::sync::Notify;

/// What the handlers share.
pub struct Intake<C> {
    /// The desk.
    pub desk: Arc<Desk<FileStore, C>>,
    /// How Alertmanager alerts map to services.
    pub mapping: AlertmanagerMapping,
    /// Woken after each ingest, so the timer task re-reads the next deadline (a new
    /// incident may have an earlier one).
    pub wake: Arc<Notify>,
}

/// The HTTP routes: `POST /webhooks/alertmanager`, `POST /webhooks/generic`,
/// `GET /incidents`.
pub fn router<C: Clock + 'static>(intake: Arc<Intake<C>>) -> Router {
    Router::new()
        .route("/webhooks/alertmanager", post(alertmanager::<C>))
        .route("/webhooks/generic", post(generic::<C>))
        .route("/incidents", get(incidents::<C>))
        .with_state(intake)
}

fn reply(status: StatusCode, body: serde_json::Value) -> Response {
    (status, axum::Json(body)).into_response()
}

async fn alertmanager<C: Clock + 'static>(
    State(intake): State<Arc<Intake<C>>>,
    body: Bytes,
) -> Response {
    match webhooks::alertmanager(&body, &intake.mapping) {
        Ok(alerts) => ingest(intake, alerts).await,
        Err(e) => reply(
            StatusCode::BAD_REQUEST,
            json!({"error": e.to_string(), "field": e.field}),
        ),
    }
}

async fn generic<C: Clock + 'static>(
    State(intake): State<Arc<Intake<C>>>,
    body: Bytes,
) -> Response {
    let now = intake.desk.clock().now();
    match webhooks::generic(&body, now) {
        Ok(alerts) => ingest(intake, alerts).await,
        Err(e) => reply(
            StatusCode::BAD_REQUEST,
            json!({"error": e.to_string(), "field": e.field}),
        ),
    }
}

/// Ingests on a blocking thread: the file store flushes to disk before it answers.
async fn ingest<C: Clock + 'static>(intake: Arc<Intake<C>>, alerts: Vec<Alert>) -> Response {
    let desk = Arc::clone(&intake.desk);
    let outcome = tokio::task::spawn_blocking(move || {
        alerts
            .iter()
            .map(|a| desk.ingest(a))
            .collect::<Result<Vec<Ingested>, _>>()
    })
    .await;
    intake.wake.notify_one();
    match outcome {
        Ok(Ok(results)) => {
            let results: Vec<_> = results
                .iter()
                .map(|r| json!({"outcome": format!("{r:?}"), "incident": r.incident().map(|id| id.to_string())}))
                .collect();
            reply(StatusCode::OK, json!({ "results": results }))
        }
        Ok(Err(e)) => reply(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"error": e.to_string()}),
        ),
        Err(e) => reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"error": e.to_string()}),
        ),
    }
}

async fn incidents<C: Clock + 'static>(State(intake): State<Arc<Intake<C>>>) -> Response {
    let list: Vec<_> = intake
        .desk
        .list(&Filter::all())
        .iter()
        .map(|i| {
            json!({
                "id": i.id().to_string(),
                "title": i.title().as_str(),
                "service": i.service().as_str(),
                "severity": i.severity().as_str(),
                "status": i.status().to_string(),
                "alerts": i.signal_count(),
                "resolution": i.resolution().map(|r| r.to_string()),
            })
        })
        .collect();
    reply(StatusCode::OK, json!(list))
}

/// Prints notifications; a real host sends them.
pub struct PrintingNotifier;

impl Notifier for PrintingNotifier {
    fn deliver(&self, n: &Notification) -> Result<(), DeliveryError> {
        println!("notify {}\n    {}", n, n.body);
        Ok(())
    }
}

/// Runs the desk's timers forever: sleeps exactly until `next_deadline()` (or until an ingest
/// wakes it), then ticks and dispatches.
pub async fn run_timers<C: Clock + 'static>(intake: Arc<Intake<C>>) {
    loop {
        let desk = Arc::clone(&intake.desk);
        let result = tokio::task::spawn_blocking(move || {
            let now = desk.clock().now();
            desk.tick(now)?;
            desk.dispatch(&PrintingNotifier)?;
            Ok::<_, incidents::Error>(desk.next_deadline().map(|next| next - desk.clock().now()))
        })
        .await;
        let wait = match result {
            Ok(Ok(Some(wait))) => wait.to_std().unwrap_or(StdDuration::ZERO),
            Ok(Ok(None)) => StdDuration::from_secs(3600),
            Ok(Err(e)) => {
                eprintln!("timers: {e}; retrying in 10 s");
                StdDuration::from_secs(10)
            }
            Err(e) => {
                eprintln!("timers: {e}");
                StdDuration::from_secs(10)
            }
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = intake.wake.notified() => {}
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut data_dir = "./incident-data".to_string();
    let mut listen = "127.0.0.1:8080".to_string();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--data-dir", Some(v)) => data_dir = v,
            ("--listen", Some(v)) => listen = v,
            _ => return Err("usage: webhook_server [--data-dir DIR] [--listen ADDR]".into()),
        }
    }
    let store = FileStore::open(&data_dir)?;
    println!(
        "store {data_dir}: {} incidents, {} events",
        store.open_report().incidents,
        store.open_report().events
    );
    let intake = Arc::new(Intake {
        desk: Arc::new(Desk::new(store, SystemClock)?),
        mapping: AlertmanagerMapping::default(),
        wake: Arc::new(Notify::new()),
    });
    tokio::spawn(run_timers(Arc::clone(&intake)));
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, router(intake)).await?;
    Ok(())
}
