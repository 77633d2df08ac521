//! A small HTTP intake for monitoring alerts: Prometheus Alertmanager and the `incidents`
//! crate's generic JSON webhook, feeding `Desk::ingest` on a `FileStore`, with the desk's
//! timers run by a tokio task built from the same pieces as the crate's `Runner`:
//! `Desk::run_due` for a round, then a sleep until the next deadline or until
//! `Desk::on_append` says something new was recorded.
//!
//! ```text
//! cargo run -p incidents-webhook-server -- --data-dir ./incident-data --listen 127.0.0.1:8080
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
//!
//! # Answers
//!
//! Every answer is a JSON body (`Content-Type: application/json`).
//!
//! `POST /webhooks/alertmanager` and `POST /webhooks/generic` take a payload of one or more
//! alerts and answer `200 OK` with one result per alert, in the payload's order:
//!
//! ```json
//! {"results": [
//!   {"outcome": "opened", "incident": "019ac5f2-…"},
//!   {"outcome": "recurred", "incident": "019ac5f3-…", "recurrence_of": "019ab0e1-…"},
//!   {"outcome": "ignored", "incident": null},
//!   {"outcome": "skipped", "incident": null, "error": "no service label (tried service, job)", "field": "alerts[3].labels"}
//! ]}
//! ```
//!
//! A payload is taken alert by alert: one alert that cannot be used is answered `skipped`,
//! with why and where, and the others are taken — Alertmanager drops a notification it gets a
//! 4xx for, and with it every good alert of the group.
//!
//! - `outcome` is what the desk did with that alert: `opened` (a new incident), `recurred`
//!   (a new incident linked to an earlier one, named by `recurrence_of`), `recorded` (on the
//!   incident already tracking the alert), `reopened`, `duplicate` (the same delivery came
//!   before; nothing recorded), `suppressed` (the service is in maintenance) or `ignored` (a
//!   "resolved" alert with no incident), `joined` (an active incident about the same service
//!   that another source raised) or `skipped` (this alert could not be used: `error` and
//!   `field` say why). An outcome that a later `incidents` adds and this server does not know
//!   yet is answered as `other`, still with its incident.
//! - `incident` is the incident involved (a UUID), or `null` if there is none.
//!
//! Errors are `{"error": "<message>", "field": "<where>"}`; `field` is left out when the
//! error is not about one field of the request:
//!
//! | status | when | `field` |
//! |---|---|---|
//! | `400 Bad Request` | the payload is not the format at all, or none of its alerts can be used; nothing of it was taken | the payload path, e.g. `alerts` or `alerts[0].startsAt` |
//! | `413 Payload Too Large` | the body is over 1 MiB (`incidents::webhooks::MAX_PAYLOAD_BYTES`) | `body` |
//! | another 4xx | the request body could not be read | `body` |
//! | `503 Service Unavailable` | the store could not record (disk, lock, poisoned store): retry | — |
//! | `500 Internal Server Error` | anything else | — |
//! | `404 Not Found` | no such route | — |
//!
//! On an error after some alerts of a payload were recorded, those stay recorded; a retry of
//! the same payload answers `duplicate` for them, so Alertmanager's retries are harmless.
//!
//! `GET /incidents` answers an array of
//! `{"id", "title", "service", "severity", "status", "alerts", "resolution"}` objects
//! (`status` and `resolution` as the crate displays them, e.g. `"resolved"` and
//! `"auto-resolved after a quiet period"`; `resolution` is `null` until resolved).

#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations)]

use std::sync::Arc;
use std::time::Duration as StdDuration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use incidents::intake::Ingested;
use incidents::lifecycle::Notification;
use incidents::notify::DeliveryError;
use incidents::webhooks::{self, AlertmanagerMapping, PayloadError, Taken};
use incidents::{Clock, Desk, FileStore, Filter, IncidentId, Notifier};
use serde::Serialize;
use tokio::sync::Notify;

/// What the handlers share.
#[derive(Debug)]
pub struct Intake<C: Clock> {
    /// The desk.
    pub desk: Arc<Desk<FileStore, C>>,
    /// How Alertmanager alerts map to services.
    pub mapping: AlertmanagerMapping,
}

/// The HTTP routes: `POST /webhooks/alertmanager`, `POST /webhooks/generic`,
/// `GET /incidents`; anything else is a JSON `404`. Bodies over
/// [`webhooks::MAX_PAYLOAD_BYTES`] are refused with `413`.
pub fn router<C: Clock + 'static>(intake: Arc<Intake<C>>) -> Router {
    Router::new()
        .route("/webhooks/alertmanager", post(alertmanager::<C>))
        .route("/webhooks/generic", post(generic::<C>))
        .route("/incidents", get(incidents::<C>))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(webhooks::MAX_PAYLOAD_BYTES))
        .with_state(intake)
}

/// The answer to a webhook: one result per alert of the payload.
#[derive(Debug, Serialize)]
struct Results {
    results: Vec<Outcome>,
}

/// What the desk did with one alert.
#[derive(Debug, Serialize)]
struct Outcome {
    outcome: &'static str,
    incident: Option<IncidentId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    recurrence_of: Option<IncidentId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
}

impl Outcome {
    fn of(ingested: &Ingested) -> Outcome {
        Outcome {
            outcome: outcome_name(ingested),
            incident: ingested.incident(),
            recurrence_of: match ingested {
                Ingested::Recurred { recurrence, .. } => Some(recurrence.previous),
                _ => None,
            },
            error: None,
            field: None,
        }
    }

    fn skipped(error: String, field: Option<String>) -> Outcome {
        Outcome {
            outcome: "skipped",
            incident: None,
            recurrence_of: None,
            error: Some(error),
            field,
        }
    }
}

/// The field an error from `Desk::ingest` names, if it names one.
fn invalid_field(e: &incidents::Error) -> Option<String> {
    match e {
        incidents::Error::Invalid(invalid) => Some(invalid.field.to_string()),
        incidents::Error::Payload(payload) => Some(payload.field.clone()),
        _ => None,
    }
}

/// The outcome's name in answers. `Ingested` is `#[non_exhaustive]`: an outcome added by a
/// later `incidents` is named `other` until this server learns it.
fn outcome_name(ingested: &Ingested) -> &'static str {
    match ingested {
        Ingested::Opened { .. } => "opened",
        Ingested::Recurred { .. } => "recurred",
        Ingested::Recorded { .. } => "recorded",
        Ingested::Reopened { .. } => "reopened",
        Ingested::Joined { .. } => "joined",
        Ingested::Duplicate { .. } => "duplicate",
        Ingested::Suppressed { .. } => "suppressed",
        Ingested::Ignored => "ignored",
        _ => "other",
    }
}

/// An error answer.
#[derive(Debug, Serialize)]
struct ErrorBody {
    error: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
}

fn reply(status: StatusCode, body: &impl Serialize) -> Response {
    (status, axum::Json(body)).into_response()
}

fn error(status: StatusCode, error: impl ToString, field: Option<String>) -> Response {
    reply(
        status,
        &ErrorBody {
            error: error.to_string(),
            field,
        },
    )
}

fn bad_payload(e: &PayloadError) -> Response {
    error(StatusCode::BAD_REQUEST, e, Some(e.field.clone()))
}

/// A body that could not be read (too large, not valid UTF-8 framing, …), with axum's status.
fn unreadable(rejection: &BytesRejection) -> Response {
    error(
        rejection.status(),
        rejection.body_text(),
        Some("body".to_string()),
    )
}

/// The status and body for an error that stopped a request: the store's trouble is a 503 (the
/// sender retries); anything else a 500. Errors of single alerts are answered `skipped`.
fn ingest_error(e: &incidents::Error) -> Response {
    let status = if store_trouble(e) {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    error(status, e, None)
}

async fn alertmanager<C: Clock + 'static>(
    State(intake): State<Arc<Intake<C>>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) => return unreadable(&rejection),
    };
    match webhooks::alertmanager(&body, &intake.mapping) {
        Ok(alerts) => ingest(intake, alerts).await,
        Err(e) => bad_payload(&e),
    }
}

async fn generic<C: Clock + 'static>(
    State(intake): State<Arc<Intake<C>>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) => return unreadable(&rejection),
    };
    let now = intake.desk.clock().now();
    match webhooks::generic(&body, now) {
        Ok(alerts) => ingest(intake, alerts).await,
        Err(e) => bad_payload(&e),
    }
}

/// Whether an error from `Desk::ingest` is the store's (the sender should retry the whole
/// payload) rather than this one alert's.
fn store_trouble(e: &incidents::Error) -> bool {
    matches!(
        e,
        incidents::Error::Io { .. }
            | incidents::Error::Locked { .. }
            | incidents::Error::Poisoned { .. }
            | incidents::Error::Unavailable { .. }
            | incidents::Error::Backend { .. }
            | incidents::Error::Conflict(_)
    )
}

/// Ingests alert by alert on a blocking thread (the file store flushes to disk before it
/// answers). An alert the adapter could not take, or the desk refused, is answered as
/// `skipped`; the store failing stops the request with a 5xx, so the sender retries it whole
/// (what was recorded answers `duplicate` then).
async fn ingest<C: Clock + 'static>(intake: Arc<Intake<C>>, taken: Taken) -> Response {
    let desk = Arc::clone(&intake.desk);
    let outcome = tokio::task::spawn_blocking(move || {
        let mut results = Vec::with_capacity(taken.len());
        for alert in taken {
            results.push(match alert {
                Ok(alert) => match desk.ingest(&alert) {
                    Ok(ingested) => Outcome::of(&ingested),
                    Err(e) if store_trouble(&e) => return Err(e),
                    Err(e) => Outcome::skipped(e.to_string(), invalid_field(&e)),
                },
                Err(e) => Outcome::skipped(e.problem.clone(), Some(e.field.clone())),
            });
        }
        Ok(results)
    })
    .await;
    match outcome {
        Ok(Ok(results)) => reply(StatusCode::OK, &Results { results }),
        Ok(Err(e)) => ingest_error(&e),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e, None),
    }
}

/// One incident in `GET /incidents`.
#[derive(Debug, Serialize)]
struct IncidentSummary {
    id: IncidentId,
    title: String,
    service: String,
    severity: &'static str,
    status: String,
    alerts: usize,
    resolution: Option<String>,
}

async fn incidents<C: Clock + 'static>(State(intake): State<Arc<Intake<C>>>) -> Response {
    let list: Vec<IncidentSummary> = intake
        .desk
        .list(&Filter::all())
        .iter()
        .map(|i| IncidentSummary {
            id: i.id(),
            title: i.title().as_str().to_string(),
            service: i.service().as_str().to_string(),
            severity: i.severity().as_str(),
            status: i.status().to_string(),
            alerts: i.signal_count(),
            resolution: i.resolution().map(|r| r.to_string()),
        })
        .collect();
    reply(StatusCode::OK, &list)
}

async fn not_found(uri: Uri) -> Response {
    error(
        StatusCode::NOT_FOUND,
        format!("no such route: {}", uri.path()),
        None,
    )
}

/// Prints notifications; a real host sends them.
#[derive(Debug, Clone, Copy, Default)]
pub struct PrintingNotifier;

impl Notifier for PrintingNotifier {
    fn deliver(&self, n: &Notification) -> Result<(), DeliveryError> {
        println!("notify {}\n    {}", n, n.body);
        Ok(())
    }
}

/// Runs the desk's timers forever, as the crate's `Runner` does on a thread of its own: a
/// round of `Desk::run_due` (tick, dispatch) on a blocking thread, then a sleep until the next
/// deadline — or until `Desk::on_append` says something was appended (a new incident's first
/// page is due at once), whichever comes first.
pub async fn run_timers<C: Clock + 'static>(desk: Arc<Desk<FileStore, C>>) {
    let wake = Arc::new(Notify::new());
    let waker = Arc::clone(&wake);
    // `notify_one` keeps a permit when nobody waits, so an append during a round is not lost.
    let _subscription = desk.on_append(move || waker.notify_one());
    loop {
        let round = {
            let desk = Arc::clone(&desk);
            tokio::task::spawn_blocking(move || desk.run_due(&PrintingNotifier)).await
        };
        let wait = match round {
            Ok(Ok(round)) => match round.next_deadline {
                Some(next) => (next - desk.clock().now())
                    .to_std()
                    .unwrap_or(StdDuration::ZERO),
                None => StdDuration::from_secs(3600),
            },
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
            () = wake.notified() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_are_named_in_snake_case() {
        let id: IncidentId = "019ac5f2-0000-7000-8000-000000000001".parse().unwrap();
        let body = serde_json::to_value(Results {
            results: vec![
                Outcome::of(&Ingested::Opened { id }),
                Outcome::of(&Ingested::Ignored),
            ],
        })
        .unwrap();
        assert_eq!(
            body,
            serde_json::json!({"results": [
                {"outcome": "opened", "incident": "019ac5f2-0000-7000-8000-000000000001"},
                {"outcome": "ignored", "incident": null},
            ]})
        );
    }
}
