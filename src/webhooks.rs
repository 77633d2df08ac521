//! Webhook payloads into [`Alert`]s (feature `webhooks`, on by default): the Prometheus
//! Alertmanager webhook (version 4) and a small generic JSON format for uptime checkers, cron
//! jobs and the shop's own code.
//!
//! Both take the raw request body and never panic: a payload that is malformed, oversized or
//! inconsistent gets a [`PayloadError`] naming the field (`alerts[2].startsAt`) and the
//! problem, and no alert of it is taken.
//!
//! # The generic format
//!
//! One object, or `{"alerts": [...]}` with up to [`MAX_ALERTS`] of them:
//!
//! ```json
//! {
//!   "source": "uptime-kuma",          // required: who sends it
//!   "key": "shop-https",              // required: the dedup key within the source
//!   "service": "online shop",         // required
//!   "summary": "HTTPS check failed",  // required, one line
//!   "status": "firing",               // "firing" (default) or "resolved"
//!   "severity": "critical",           // optional hint: critical, high, medium, low, sev1…, p1…
//!   "started_at": "2026-11-27T12:00:00Z", // optional, RFC 3339; default: when received
//!   "ended_at": "2026-11-27T12:09:00Z",   // optional, RFC 3339: when it stopped
//!   "description": "Three checks in a row timed out.", // optional, may span lines
//!   "labels": {"region": "eu"},       // optional, string values
//!   "proactive": false                // optional: true for a scheduled check, not a live alert
//! }
//! ```

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::intake::Alert;
use crate::lifecycle::SignalState;
use crate::severity::Severity;

/// The largest request body accepted (1 MiB).
pub const MAX_PAYLOAD_BYTES: usize = 1 << 20;
/// The most alerts one payload may carry.
pub const MAX_ALERTS: usize = 1000;

/// A webhook payload that cannot be taken, with the field and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad webhook payload: {field}: {problem}")]
#[non_exhaustive]
pub struct PayloadError {
    /// Where in the payload, as a path (`alerts[0].labels.service`), or `body`.
    pub field: String,
    /// What is wrong.
    pub problem: String,
}

fn bad(field: impl Into<String>, problem: impl Into<String>) -> PayloadError {
    PayloadError {
        field: field.into(),
        problem: problem.into(),
    }
}

fn parse_body(body: &[u8]) -> Result<Value, PayloadError> {
    if body.len() > MAX_PAYLOAD_BYTES {
        return Err(bad(
            "body",
            format!(
                "{} bytes is more than the {MAX_PAYLOAD_BYTES} allowed",
                body.len()
            ),
        ));
    }
    serde_json::from_slice(body).map_err(|e| bad("body", format!("not valid JSON ({e})")))
}

fn object<'a>(value: &'a Value, field: &str) -> Result<&'a Map<String, Value>, PayloadError> {
    value
        .as_object()
        .ok_or_else(|| bad(field, "must be an object"))
}

fn string<'a>(
    obj: &'a Map<String, Value>,
    path: &str,
    name: &str,
) -> Result<&'a str, PayloadError> {
    match obj.get(name) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(bad(format!("{path}{name}"), "must be a string")),
        None => Err(bad(format!("{path}{name}"), "is missing")),
    }
}

fn optional_string<'a>(
    obj: &'a Map<String, Value>,
    path: &str,
    name: &str,
) -> Result<Option<&'a str>, PayloadError> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(bad(format!("{path}{name}"), "must be a string")),
    }
}

fn time(text: &str, field: &str) -> Result<DateTime<Utc>, PayloadError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| bad(field, format!("{text:?} is not an RFC 3339 time ({e})")))
}

fn labels(
    obj: &Map<String, Value>,
    path: &str,
    name: &str,
) -> Result<BTreeMap<String, String>, PayloadError> {
    let mut out = BTreeMap::new();
    match obj.get(name) {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (k, v) in map {
                let Value::String(v) = v else {
                    return Err(bad(format!("{path}{name}.{k}"), "must be a string"));
                };
                out.insert(k.clone(), v.clone());
            }
        }
        Some(_) => return Err(bad(format!("{path}{name}"), "must be an object of strings")),
    }
    Ok(out)
}

fn with_labels(
    mut alert: Alert,
    labels: &BTreeMap<String, String>,
    field: &str,
) -> Result<Alert, PayloadError> {
    for (k, v) in labels {
        alert = alert
            .with_label(k, v)
            .map_err(|e| bad(format!("{field}.{k}"), e.rule))?;
    }
    Ok(alert)
}

/// A monitor's severity word as a hint: Alertmanager's conventional `critical`, `error`,
/// `warning`, `info`, or any spelling [`Severity`] parses. Unknown words give no hint.
fn severity_hint(word: &str) -> Option<Severity> {
    match word.trim().to_ascii_lowercase().as_str() {
        "error" | "major" => Some(Severity::High),
        "warning" | "warn" | "minor" => Some(Severity::Medium),
        "info" | "informational" | "none" => Some(Severity::Low),
        other => other.parse().ok(),
    }
}

/// How Alertmanager alerts map onto incidents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertmanagerMapping {
    /// Labels tried, in order, for the service name.
    pub service_labels: Vec<String>,
    /// The service when none of those labels is set; `None` makes such alerts an error.
    pub default_service: Option<String>,
    /// Whether the alerts of one Alertmanager group (`groupKey`, as the operator's `group_by`
    /// made it) record on one incident, each alert its own signal (`true`, the default, as
    /// Alertmanager's own PagerDuty integration does), or each alert opens its own incident.
    pub group_alerts: bool,
}

impl Default for AlertmanagerMapping {
    /// Service from the `service` label, else `job`; no default; one incident per group.
    fn default() -> Self {
        AlertmanagerMapping {
            service_labels: vec!["service".into(), "job".into()],
            default_service: None,
            group_alerts: true,
        }
    }
}

/// What a webhook payload gave, alert by alert, in the payload's order: each alert, or why
/// that one alert could not be taken. One unusable alert never costs the others.
pub type Taken = Vec<Result<Alert, PayloadError>>;

/// Parses an Alertmanager webhook body into alerts with source `alertmanager`, keyed by each
/// alert's fingerprint — alert by alert.
///
/// Payload version 4 is Alertmanager's; Grafana's Alertmanager-compatible webhook sends
/// version `"1"` with extra fields (`orgId`, `state`, `title`, `message`, and per alert
/// `values`, `valueString`, `panelURL`, `dashboardURL`, `silenceURL`, `imageURL`, …). Both
/// are taken, and so is any other version with the same shape (logged): extra fields are
/// never an error. An alert without a `fingerprint` (older Alertmanagers) is keyed by the
/// fingerprint Alertmanager itself derives from its labels ([`alertmanager_fingerprint`]),
/// so a mixed fleet keys the same alert the same way.
///
/// **Groups.** By default ([`AlertmanagerMapping::group_alerts`]) the alerts of one group —
/// the `groupKey` the operator's `group_by` made — carry the group ([`Alert::with_group`]):
/// they record on one incident, each its own signal, so the group resolves signal by signal.
///
/// Text is taken as monitors write it: the summary is the `summary` annotation, else the
/// `description`, else the `alertname` label — its first non-empty line, white space
/// collapsed, cut to [`TITLE_MAX_CHARS`](crate::limits::TITLE_MAX_CHARS); a summary written on several
/// lines is kept whole as the description when there is none. Control characters in
/// annotations and labels become spaces; label values are cut to
/// [`ALERT_KEY_MAX_CHARS`](crate::limits::ALERT_KEY_MAX_CHARS) and empty labels dropped. Severity
/// hint: the `severity` label.
///
/// # Errors
/// The whole payload is refused only when it is not an Alertmanager payload at all (not JSON,
/// no `alerts` array, too large) or when none of its alerts can be used; then the error names
/// the first problem. Otherwise each alert that cannot be used (no service label, a
/// `startsAt` that is not RFC 3339, …) is an `Err` in its place in [`Taken`].
pub fn alertmanager(body: &[u8], mapping: &AlertmanagerMapping) -> Result<Taken, PayloadError> {
    let root = parse_body(body)?;
    let root = object(&root, "body")?;
    match root.get("version") {
        Some(Value::String(v)) if v == "4" || v == "1" => {}
        other => log::info!(
            "incidents: Alertmanager-style payload with version {}; reading it as version 4",
            other.map_or_else(|| "(none)".to_string(), Value::to_string)
        ),
    }
    let Some(Value::Array(alerts)) = root.get("alerts") else {
        return Err(bad("alerts", "must be an array"));
    };
    // The group, as a short stable name: group keys grow with the operator's `group_by`.
    let group = match root.get("groupKey") {
        Some(Value::String(key)) if mapping.group_alerts && !key.is_empty() => {
            Some(format!("alertmanager/{:016x}", fnv1a64(key.as_bytes())))
        }
        _ => None,
    };
    let taken = alerts
        .iter()
        .enumerate()
        .map(|(i, value)| {
            let alert = alertmanager_alert(&format!("alerts[{i}]"), value, mapping)?;
            match &group {
                Some(group) => alert.with_group(group).map_err(|e| bad("groupKey", e.rule)),
                None => Ok(alert),
            }
        })
        .collect();
    usable(checked_count(taken)?)
}

/// FNV-1a, 64 bits.
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// One alert of an Alertmanager payload, at `at` (`alerts[3]`).
fn alertmanager_alert(
    at: &str,
    value: &Value,
    mapping: &AlertmanagerMapping,
) -> Result<Alert, PayloadError> {
    let path = format!("{at}.");
    let a = object(value, at)?;
    let status = parse_status(string(a, &path, "status")?, &format!("{path}status"))?;
    let labels = clean_labels(&labels(a, &path, "labels")?);
    let annotations = labels_or_empty(a, &path)?;
    let derived;
    let fingerprint = match optional_string(a, &path, "fingerprint")? {
        Some(f) if !f.trim().is_empty() => f,
        _ => {
            derived = alertmanager_fingerprint(&labels);
            &derived
        }
    };
    let starts_at = time(string(a, &path, "startsAt")?, &format!("{path}startsAt"))?;
    let ended = alertmanager_end(a, &path, status, starts_at)?;
    let service = alertmanager_service(&labels, mapping, &path)?;
    let written = ["summary", "description"]
        .iter()
        .find_map(|name| annotations.get(*name).filter(|t| one_line(t).is_some()))
        .or_else(|| labels.get("alertname"));
    let summary = written.and_then(|t| one_line(t)).ok_or_else(|| {
        bad(
            format!("{path}annotations.summary"),
            "no summary, description or alertname",
        )
    })?;
    let mut alert = Alert::firing("alertmanager", fingerprint, &service, &summary, starts_at)
        .map_err(|e| {
            let field = match e.field {
                "fingerprint" => format!("{path}fingerprint"),
                "service" => format!("{path}labels (service)"),
                "title" => format!("{path}annotations.summary"),
                other => format!("{path}{other}"),
            };
            bad(field, e.rule)
        })?
        .with_state(status);
    if let Some(hint) = labels.get("severity").and_then(|s| severity_hint(s)) {
        alert = alert.with_severity(hint);
    }
    if let Some(ends_at) = ended {
        alert = alert.with_ends_at(ends_at);
    }
    // The description annotation, else a summary written on several lines, whole.
    let description = annotations.get("description").or_else(|| {
        annotations
            .get("summary")
            .filter(|s| s.trim().lines().nth(1).is_some())
    });
    if let Some(description) = description.and_then(|d| usable_text(d)) {
        alert = alert
            .with_description(description)
            .map_err(|e| bad(format!("{path}annotations.description"), e.rule))?;
    }
    with_labels(alert, &labels, &format!("{path}labels"))
}

/// When the alert `a` (at `path`) ended, if it did: its `endsAt`, which a resolved alert
/// must have and which may not precede `starts_at` then. Alertmanager sends the zero time
/// (year 1) for "no end" on a firing alert.
fn alertmanager_end(
    a: &Map<String, Value>,
    path: &str,
    status: SignalState,
    starts_at: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, PayloadError> {
    let Some(ends) = optional_string(a, path, "endsAt")? else {
        if status == SignalState::Resolved {
            return Err(bad(
                format!("{path}endsAt"),
                "a resolved alert must say when it ended",
            ));
        }
        return Ok(None);
    };
    let ends_at = time(ends, &format!("{path}endsAt"))?;
    if status == SignalState::Resolved && ends_at < starts_at {
        return Err(bad(
            format!("{path}endsAt"),
            "a resolved alert cannot end before it starts",
        ));
    }
    Ok((ends_at >= starts_at).then_some(ends_at))
}

/// The service an Alertmanager alert is about: the first of the mapping's labels it has,
/// else the mapping's default.
fn alertmanager_service(
    labels: &BTreeMap<String, String>,
    mapping: &AlertmanagerMapping,
    path: &str,
) -> Result<String, PayloadError> {
    mapping
        .service_labels
        .iter()
        .find_map(|l| labels.get(l))
        .cloned()
        .or_else(|| mapping.default_service.clone())
        .ok_or_else(|| {
            bad(
                format!("{path}labels"),
                format!(
                    "no service label (tried {})",
                    mapping.service_labels.join(", ")
                ),
            )
        })
}

/// Refuses a payload with no alerts or too many.
fn checked_count(taken: Taken) -> Result<Taken, PayloadError> {
    if taken.is_empty() {
        return Err(bad("alerts", "is empty"));
    }
    if taken.len() > MAX_ALERTS {
        return Err(bad(
            "alerts",
            format!("{} alerts; at most {MAX_ALERTS}", taken.len()),
        ));
    }
    Ok(taken)
}

/// `taken`, unless none of its alerts can be used: then the first alert's problem.
fn usable(taken: Taken) -> Result<Taken, PayloadError> {
    if taken.iter().any(Result::is_ok) {
        return Ok(taken);
    }
    match taken.into_iter().next() {
        Some(Err(first)) => Err(first),
        _ => Err(bad("alerts", "is empty")),
    }
}

/// The first non-empty line of `text`, white space collapsed and control characters dropped,
/// cut to a title's length with an ellipsis; `None` if there is none.
fn one_line(text: &str) -> Option<String> {
    let line = text.lines().find(|l| !l.trim().is_empty())?;
    let words: Vec<&str> = line
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect();
    let collapsed = words.join(" ");
    let max = crate::text::TITLE_MAX_CHARS;
    if collapsed.chars().count() <= max {
        return (!collapsed.is_empty()).then_some(collapsed);
    }
    let mut cut: String = collapsed.chars().take(max - 1).collect();
    cut.push('…');
    Some(cut)
}

/// Labels as monitors send them, made usable: control characters become spaces, values are
/// cut to [`ALERT_KEY_MAX_CHARS`](crate::limits::ALERT_KEY_MAX_CHARS), empty ones dropped, and at most
/// [`MAX_LABELS`](crate::limits::MAX_LABELS) kept (in name order).
fn clean_labels(labels: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    // Direction controls that could reorder the text around a label are dropped.
    let spoofing = |c: char| matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{206f}');
    let clean = |text: &str| -> String {
        text.chars()
            .filter(|c| !spoofing(*c))
            .map(|c| if c.is_control() { ' ' } else { c })
            .take(crate::intake::ALERT_KEY_MAX_CHARS)
            .collect::<String>()
            .trim()
            .to_string()
    };
    labels
        .iter()
        .map(|(k, v)| (clean(k), clean(v)))
        .filter(|(k, v)| !k.is_empty() && !v.is_empty())
        .take(crate::intake::MAX_LABELS)
        .collect()
}

/// A description as the crate's [`Text`](crate::Text) takes it: control characters other than
/// line breaks and tabs become spaces, bidirectional embeddings and overrides and unbalanced
/// isolates are dropped, and it is cut to [`TEXT_MAX_CHARS`] characters; `None` if nothing
/// visible is left. A description is extra information: it never costs the alert.
fn usable_text(text: &str) -> Option<String> {
    crate::text::clean_text(text, crate::text::TEXT_MAX_CHARS)
}

/// The fingerprint Alertmanager gives an alert with these labels, as it prints it (16 hex
/// digits): FNV-1a 64 over each label, sorted by name, as name, `0xff`, value, `0xff` — the
/// label-set fingerprint of Prometheus' `common/model`.
///
/// ```
/// use std::collections::BTreeMap;
/// use incidents::webhooks::alertmanager_fingerprint;
///
/// let labels = BTreeMap::from([("x".to_string(), "y".to_string())]);
/// assert_eq!(alertmanager_fingerprint(&labels), format!("{:016x}", 8241431561484471700u64));
/// ```
pub fn alertmanager_fingerprint(labels: &BTreeMap<String, String>) -> String {
    // A `BTreeMap` of `String`s iterates in byte order, as Go sorts label names.
    let mut bytes = Vec::new();
    for (name, value) in labels {
        bytes.extend_from_slice(name.as_bytes());
        bytes.push(0xff);
        bytes.extend_from_slice(value.as_bytes());
        bytes.push(0xff);
    }
    format!("{:016x}", fnv1a64(&bytes))
}

fn labels_or_empty(
    a: &Map<String, Value>,
    path: &str,
) -> Result<BTreeMap<String, String>, PayloadError> {
    labels(a, path, "annotations")
}

fn parse_status(text: &str, field: &str) -> Result<SignalState, PayloadError> {
    match text {
        "firing" => Ok(SignalState::Firing),
        "resolved" => Ok(SignalState::Resolved),
        other => Err(bad(
            field,
            format!("{other:?}: expected \"firing\" or \"resolved\""),
        )),
    }
}

/// Parses the crate's generic webhook format (see the [module docs](self)), alert by alert.
/// `received_at` stands in for a missing `started_at`.
///
/// # Errors
/// The whole payload is refused only when it is not the format at all (not JSON, too large,
/// `alerts` not an array) or when none of its alerts can be used; then the error names the
/// first problem. Otherwise each alert that cannot be used is an `Err` in its place in
/// [`Taken`], naming the field.
pub fn generic(body: &[u8], received_at: DateTime<Utc>) -> Result<Taken, PayloadError> {
    let root = parse_body(body)?;
    let items: Vec<(String, &Value)> = match &root {
        Value::Object(map) if map.contains_key("alerts") => match map.get("alerts") {
            Some(Value::Array(list)) => list
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("alerts[{i}]"), v))
                .collect(),
            _ => return Err(bad("alerts", "must be an array")),
        },
        Value::Object(_) => vec![(String::new(), &root)],
        _ => return Err(bad("body", "must be an object")),
    };
    let taken = items
        .into_iter()
        .map(|(prefix, value)| generic_alert(&prefix, value, received_at))
        .collect();
    usable(checked_count(taken)?)
}

/// One alert of a generic payload, at `prefix` (`alerts[3]`, or empty for a single object).
fn generic_alert(
    prefix: &str,
    value: &Value,
    received_at: DateTime<Utc>,
) -> Result<Alert, PayloadError> {
    let path = if prefix.is_empty() {
        String::new()
    } else {
        format!("{prefix}.")
    };
    let obj = object(value, if prefix.is_empty() { "body" } else { prefix })?;
    let source = string(obj, &path, "source")?;
    let key = string(obj, &path, "key")?;
    let service = string(obj, &path, "service")?;
    let summary = string(obj, &path, "summary")?;
    let status = match optional_string(obj, &path, "status")? {
        Some(s) => parse_status(s, &format!("{path}status"))?,
        None => SignalState::Firing,
    };
    let started = match optional_string(obj, &path, "started_at")? {
        Some(t) => time(t, &format!("{path}started_at"))?,
        None => received_at,
    };
    let mut alert = Alert::firing(source, key, service, summary, started)
        .map_err(|e| {
            let field = match e.field {
                "alert source" => "source",
                "fingerprint" => "key",
                "title" => "summary",
                other => other,
            };
            bad(format!("{path}{field}"), e.rule)
        })?
        .with_state(status);
    if let Some(word) = optional_string(obj, &path, "severity")? {
        let severity: Severity = word
            .parse()
            .map_err(|e: crate::error::Invalid| bad(format!("{path}severity"), e.rule))?;
        alert = alert.with_severity(severity);
    }
    if let Some(text) = optional_string(obj, &path, "description")?.and_then(usable_text) {
        alert = alert
            .with_description(text)
            .map_err(|e| bad(format!("{path}description"), e.rule))?;
    }
    if let Some(t) = optional_string(obj, &path, "ended_at")? {
        let ended = time(t, &format!("{path}ended_at"))?;
        if ended < started {
            return Err(bad(
                format!("{path}ended_at"),
                "an alert cannot end before it starts",
            ));
        }
        alert = alert.with_ends_at(ended);
    }
    match obj.get("proactive") {
        None | Some(Value::Null | Value::Bool(false)) => {}
        Some(Value::Bool(true)) => alert = alert.from_proactive_check(),
        Some(_) => return Err(bad(format!("{path}proactive"), "must be true or false")),
    }
    let labels = labels(obj, &path, "labels")?;
    with_labels(alert, &labels, &format!("{path}labels"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every alert of a payload that must be usable whole.
    fn all(taken: Taken) -> Vec<Alert> {
        taken
            .into_iter()
            .map(|a| a.unwrap_or_else(|e| panic!("{e}")))
            .collect()
    }

    const AM: &str = r#"{
      "version": "4", "groupKey": "{}:{alertname=\"CheckoutDown\"}", "truncatedAlerts": 0,
      "status": "firing", "receiver": "incidents",
      "groupLabels": {"alertname": "CheckoutDown"}, "commonLabels": {}, "commonAnnotations": {},
      "externalURL": "http://alertmanager:9093",
      "alerts": [{
        "status": "firing",
        "labels": {"alertname": "CheckoutDown", "service": "online shop", "severity": "critical"},
        "annotations": {"summary": "Checkout returns 500"},
        "startsAt": "2026-11-27T12:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph", "fingerprint": "c3a9f1d2e4b5a6c7"
      }]
    }"#;

    #[test]
    fn alertmanager_v4() {
        let alerts = all(alertmanager(AM.as_bytes(), &AlertmanagerMapping::default()).unwrap());
        assert_eq!(alerts.len(), 1);
        let a = &alerts[0];
        assert_eq!(a.key(), "alertmanager/c3a9f1d2e4b5a6c7");
        assert_eq!(a.service().as_str(), "online shop");
        assert_eq!(a.summary().as_str(), "Checkout returns 500");
        assert_eq!(a.severity(), Some(Severity::Critical));
        assert_eq!(a.state(), SignalState::Firing);
        assert_eq!(a.labels()["alertname"], "CheckoutDown");
        assert_eq!(a.ends_at(), None, "the zero time means no end");
        assert_eq!(a.description(), None);
    }

    /// Three alerts: a well-formed one, one without a service label, one written the way
    /// Prometheus rules often are (a summary on several lines, a label with a tab).
    const GROUP: &str = r#"{
      "version": "4", "status": "firing", "receiver": "incidents", "groupKey": "{}:{}",
      "alerts": [
        {"status": "firing", "labels": {"alertname": "DiskFull", "service": "POS"},
         "annotations": {"summary": "Disk full on the till"},
         "startsAt": "2026-11-27T12:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
         "fingerprint": "aaaaaaaaaaaaaaaa"},
        {"status": "firing", "labels": {"alertname": "Orphan"},
         "annotations": {"summary": "No service"},
         "startsAt": "2026-11-27T12:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
         "fingerprint": "bbbbbbbbbbbbbbbb"},
        {"status": "firing",
         "labels": {"alertname": "Latency", "service": "online shop", "route": "/checkout\tpay", "zone": ""},
         "annotations": {"summary": "\n  Checkout   is slow:\n p95 is 8.4 s for 5 minutes\n"},
         "startsAt": "2026-11-27T12:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
         "fingerprint": "cccccccccccccccc"}
      ]
    }"#;

    #[test]
    fn one_unusable_alert_never_costs_the_others() {
        let taken = alertmanager(GROUP.as_bytes(), &AlertmanagerMapping::default()).unwrap();
        assert_eq!(taken.len(), 3);
        assert_eq!(
            taken[0].as_ref().unwrap().summary().as_str(),
            "Disk full on the till"
        );
        assert_eq!(taken[1].as_ref().unwrap_err().field, "alerts[1].labels");
        let slow = taken[2].as_ref().unwrap();
        // The summary's first non-empty line, white space collapsed; the whole as description.
        assert_eq!(slow.summary().as_str(), "Checkout is slow:");
        assert_eq!(
            slow.description().map(super::super::text::Text::as_str),
            Some("Checkout   is slow:\n p95 is 8.4 s for 5 minutes")
        );
        assert_eq!(slow.labels()["route"], "/checkout pay");
        assert!(
            !slow.labels().contains_key("zone"),
            "empty labels are dropped"
        );
    }

    #[test]
    fn a_payload_is_refused_whole_only_when_nothing_in_it_is_usable() {
        let none = GROUP
            .replace(r#""service": "POS""#, r#""team": "POS""#)
            .replace(r#""service": "online shop""#, r#""team": "shop""#);
        let err = alertmanager(none.as_bytes(), &AlertmanagerMapping::default()).unwrap_err();
        assert_eq!(err.field, "alerts[0].labels");
        let long = GROUP.replace("Disk full on the till", &"full ".repeat(100));
        let mapping = AlertmanagerMapping {
            default_service: Some("POS".into()),
            ..AlertmanagerMapping::default()
        };
        let taken = all(alertmanager(long.as_bytes(), &mapping).unwrap());
        let title = taken[0].summary().as_str();
        assert_eq!(title.chars().count(), crate::text::TITLE_MAX_CHARS);
        assert!(title.ends_with('…'));
    }

    #[test]
    #[allow(
        clippy::unreadable_literal,
        reason = "fingerprints as Prometheus' tests print them"
    )]
    fn fingerprints_are_alertmanagers_own() {
        // Label sets and fingerprints from Prometheus' common/model tests.
        let cases: [(&[(&str, &str)], u64); 6] = [
            (&[], 14695981039346656037),
            (
                &[("name", "garland, briggs"), ("fear", "love is not enough")],
                5799056148416392346,
            ),
            (
                &[
                    ("first_name", "electro"),
                    ("occupation", "robot"),
                    ("manufacturer", "westinghouse"),
                ],
                5911716720268894962,
            ),
            (&[("x", "y")], 8241431561484471700),
            (&[("a", "bb"), ("b", "c")], 3016285359649981711),
            (&[("a", "b"), ("bb", "c")], 7122421792099404749),
        ];
        for (labels, expected) in cases {
            let labels: BTreeMap<String, String> = labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            assert_eq!(
                alertmanager_fingerprint(&labels),
                format!("{expected:016x}"),
                "{labels:?}"
            );
        }
    }

    #[test]
    fn alerts_without_a_fingerprint_are_keyed_by_their_labels() {
        let body = AM.replace(", \"fingerprint\": \"c3a9f1d2e4b5a6c7\"", "");
        let alerts = all(alertmanager(body.as_bytes(), &AlertmanagerMapping::default()).unwrap());
        let labels = BTreeMap::from([
            ("alertname".to_string(), "CheckoutDown".to_string()),
            ("service".to_string(), "online shop".to_string()),
            ("severity".to_string(), "critical".to_string()),
        ]);
        assert_eq!(
            alerts[0].key(),
            format!("alertmanager/{}", alertmanager_fingerprint(&labels))
        );
    }

    #[test]
    fn grafana_and_other_versions_with_the_same_shape_are_taken() {
        // Grafana's Alertmanager-compatible webhook: version "1", extra fields everywhere.
        let grafana = r#"{
          "receiver": "shop", "status": "firing", "orgId": 1,
          "groupLabels": {"alertname": "Checkout latency"}, "commonLabels": {},
          "commonAnnotations": {}, "externalURL": "https://grafana.example/",
          "version": "1", "groupKey": "{}:{alertname=\"Checkout latency\"}",
          "truncatedAlerts": 0, "title": "[FIRING:1] Checkout latency", "state": "alerting",
          "message": "**Firing**\n\nValue: B=9.2",
          "alerts": [{
            "status": "firing",
            "labels": {"alertname": "Checkout latency", "service": "online shop", "grafana_folder": "Shop"},
            "annotations": {"summary": "p95 above 2 s"},
            "startsAt": "2026-11-27T18:56:00+02:00", "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "https://grafana.example/alerting/grafana/abc/view",
            "fingerprint": "57c6d9296de2ad39",
            "silenceURL": "https://grafana.example/alerting/silence/new",
            "dashboardURL": "https://grafana.example/d/shop", "panelURL": "https://grafana.example/d/shop?viewPanel=2",
            "imageURL": "https://grafana.example/render/shop.png",
            "values": {"B": 9.2, "C": 1}, "valueString": "[ var='B' labels={} value=9.2 ]"
          }]
        }"#;
        let alerts =
            all(alertmanager(grafana.as_bytes(), &AlertmanagerMapping::default()).unwrap());
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].key(), "alertmanager/57c6d9296de2ad39");
        assert_eq!(alerts[0].summary().as_str(), "p95 above 2 s");
        for version in [r#""version": "5","#, ""] {
            let body = AM.replace(r#""version": "4","#, version);
            assert_eq!(
                alertmanager(body.as_bytes(), &AlertmanagerMapping::default())
                    .unwrap()
                    .len(),
                1,
                "{version}"
            );
        }
    }

    #[test]
    fn alertmanager_descriptions_and_end_times_reach_the_signal() {
        let body = AM
            .replace(
                r#""annotations": {"summary": "Checkout returns 500"}"#,
                r#""annotations": {"summary": "Checkout returns 500", "description": "5xx above 20%\nfor 5 minutes"}"#,
            )
            .replace(
                r#""status": "firing",
        "labels""#,
                r#""status": "resolved",
        "labels""#,
            )
            .replace(r#""status": "firing", "receiver""#, r#""status": "resolved", "receiver""#)
            .replace("0001-01-01T00:00:00Z", "2026-11-27T12:09:30Z");
        let alerts = all(alertmanager(body.as_bytes(), &AlertmanagerMapping::default()).unwrap());
        let signal = alerts[0].signal();
        assert_eq!(signal.state, SignalState::Resolved);
        assert_eq!(
            signal
                .description
                .as_ref()
                .map(super::super::text::Text::as_str),
            Some("5xx above 20%\nfor 5 minutes")
        );
        assert_eq!(
            signal.ends_at.map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-11-27T12:09:30+00:00")
        );
        assert_eq!(signal.labels["severity"], "critical");
    }

    #[test]
    fn alertmanager_errors_name_the_field() {
        let cases = [
            (
                AM.replace(
                    "\"startsAt\": \"2026-11-27T12:00:00Z\"",
                    "\"startsAt\": \"yesterday\"",
                ),
                "alerts[0].startsAt",
            ),
            (
                AM.replace(
                    "\"fingerprint\": \"c3a9f1d2e4b5a6c7\"",
                    "\"fingerprint\": 1",
                ),
                "alerts[0].fingerprint",
            ),
            (
                AM.replace("\"service\": \"online shop\", ", ""),
                "alerts[0].labels",
            ),
            (
                AM.replace(
                    "\"status\": \"firing\",\n        \"labels\"",
                    "\"status\": \"resolved\",\n        \"labels\"",
                ),
                "alerts[0].endsAt",
            ),
            ("[1,2]".to_string(), "body"),
            ("{".to_string(), "body"),
        ];
        for (body, field) in cases {
            let err = alertmanager(body.as_bytes(), &AlertmanagerMapping::default()).unwrap_err();
            assert_eq!(err.field, field, "{err}");
        }
        let huge = vec![b' '; MAX_PAYLOAD_BYTES + 1];
        assert_eq!(
            alertmanager(&huge, &AlertmanagerMapping::default())
                .unwrap_err()
                .field,
            "body"
        );
    }

    #[test]
    fn generic_descriptions_and_end_times_reach_the_signal() {
        let body = br#"{"source":"cron","key":"backup","service":"CRM","summary":"Nightly backup failed","status":"resolved","started_at":"2026-11-27T02:00:00Z","ended_at":"2026-11-27T02:30:00Z","description":"disk full\nretried twice"}"#;
        let alert = &all(generic(body, DateTime::UNIX_EPOCH).unwrap())[0];
        assert_eq!(
            alert.description().map(super::super::text::Text::as_str),
            Some("disk full\nretried twice")
        );
        assert_eq!(
            alert.ends_at().map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-11-27T02:30:00+00:00")
        );
        let backwards = br#"{"source":"a","key":"k","service":"s","summary":"x","started_at":"2026-11-27T02:00:00Z","ended_at":"2026-11-27T01:00:00Z"}"#;
        assert_eq!(
            generic(backwards, DateTime::UNIX_EPOCH).unwrap_err().field,
            "ended_at"
        );
    }

    #[test]
    fn bidi_overrides_cost_a_summary_but_are_cleaned_out_of_descriptions() {
        let now = DateTime::UNIX_EPOCH;
        let body = r#"{"source":"cron","key":"backup","service":"CRM","summary":"Nightly backup failed","description":"disk \u202efull\u2066\nretried \u2069twice"}"#;
        let alert = &all(generic(body.as_bytes(), now).unwrap())[0];
        assert_eq!(
            alert.description().map(super::super::text::Text::as_str),
            Some("disk full\nretried twice")
        );
        let invisible = r#"{"source":"cron","key":"backup","service":"CRM","summary":"x","description":"\u200b\u2060"}"#;
        assert_eq!(
            all(generic(invisible.as_bytes(), now).unwrap())[0].description(),
            None
        );
        let spoofed =
            r#"{"source":"cron","key":"backup","service":"CRM","summary":"backup \u202eliafed"}"#;
        let err = generic(spoofed.as_bytes(), now).unwrap_err();
        assert_eq!(err.field, "summary");
        assert!(
            err.problem.contains("U+202E (right-to-left override)"),
            "{err}"
        );
    }

    #[test]
    fn generic_single_and_list() {
        let now = DateTime::UNIX_EPOCH;
        let one = br#"{"source":"cron","key":"backup","service":"CRM","summary":"Nightly backup failed","severity":"sev2","proactive":true}"#;
        let alerts = all(generic(one, now).unwrap());
        assert_eq!(alerts[0].key(), "cron/backup");
        assert_eq!(alerts[0].starts_at(), now);
        assert_eq!(alerts[0].severity(), Some(Severity::High));
        assert_eq!(alerts[0].origin(), crate::model::Source::ProactiveCheck);
        let list = br#"{"alerts":[{"source":"a","key":"k","service":"s","summary":"x","status":"resolved","started_at":"2026-11-27T12:00:00+01:00"}]}"#;
        let alerts = all(generic(list, now).unwrap());
        assert_eq!(alerts[0].state(), SignalState::Resolved);
        assert_eq!(
            alerts[0].starts_at().to_rfc3339(),
            "2026-11-27T11:00:00+00:00"
        );
        let err = generic(br#"{"alerts":[{"source":"a","key":"k","service":"s","summary":"x","severity":"urgent"}]}"#, now).unwrap_err();
        assert_eq!(err.field, "alerts[0].severity");
        assert!(err.problem.contains("sev1-sev4"), "{err}");
        let err = generic(
            br#"{"source":"a","key":"","service":"s","summary":"x"}"#,
            now,
        )
        .unwrap_err();
        assert_eq!(err.field, "key");
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
            let _ = alertmanager(&bytes, &AlertmanagerMapping::default());
            let _ = generic(&bytes, DateTime::UNIX_EPOCH);
        }

        #[test]
        fn arbitrary_json_never_panics(value in arb_json()) {
            let body = serde_json::to_vec(&value).unwrap();
            let _ = alertmanager(&body, &AlertmanagerMapping::default());
            let _ = generic(&body, DateTime::UNIX_EPOCH);
        }
    }

    /// JSON values shaped like payloads: objects with the real field names, arbitrary values.
    fn arb_json() -> impl Strategy<Value = Value> {
        let names = prop::sample::select(vec![
            "version",
            "status",
            "alerts",
            "labels",
            "annotations",
            "startsAt",
            "endsAt",
            "fingerprint",
            "service",
            "summary",
            "source",
            "key",
            "severity",
            "started_at",
            "proactive",
            "job",
            "alertname",
        ]);
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            prop_oneof![
                Just("4".to_string()),
                Just("firing".to_string()),
                Just("resolved".to_string()),
                Just("2026-11-27T12:00:00Z".to_string()),
                ".{0,12}",
            ]
            .prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 8, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(names.clone(), inner, 0..8).prop_map(
                    |m| Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
                ),
            ]
        })
    }
}
