//! Signals in: alerts from monitors and reports from people, and the intake policy that says
//! how they become incidents.

pub use crate::heartbeat::HEARTBEAT_SOURCE;
pub use crate::model::{Contact, Reporter};

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Invalid;
use crate::lifecycle::{Signal, SignalState};
use crate::model::{IncidentId, Service, Source};
use crate::severity::Severity;
use crate::text::{Text, Title};

/// The longest alert source name or fingerprint accepted, in characters.
pub const ALERT_KEY_MAX_CHARS: usize = 200;
/// The most labels an alert may carry.
pub const MAX_LABELS: usize = 64;

/// An alert from a monitor, or a report from a person, as [`Desk::ingest`](crate::Desk::ingest)
/// takes it. Validated on construction.
///
/// Its **key** is `source/fingerprint`: deliveries with the same key are about the same
/// problem, and deliveries with the same key, start time and state are the same delivery.
/// Everything else it carries — description, labels, end time, who reported it — is kept
/// with the signal it records on an incident.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use incidents::{Alert, Severity};
///
/// let started = Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap();
/// let alert = Alert::firing("uptime", "checkout-5xx", "online shop", "Checkout returns 500", started)?
///     .with_severity(Severity::Critical)
///     .with_label("region", "eu")?;
/// assert_eq!(alert.key(), "uptime/checkout-5xx");
/// # Ok::<(), incidents::Invalid>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    #[serde(deserialize_with = "source_de")]
    source: String,
    #[serde(deserialize_with = "fingerprint_de")]
    fingerprint: String,
    service: Service,
    summary: Title,
    severity: Option<Severity>,
    state: SignalState,
    #[serde(deserialize_with = "labels_de")]
    labels: BTreeMap<String, String>,
    starts_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ends_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reporter: Option<Reporter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    group: Option<String>,
    origin: Source,
}

/// An alert's source, fingerprint or label: the [one-line rules](crate::Title#text-rules), at
/// most [`ALERT_KEY_MAX_CHARS`] characters, trimmed.
fn check_name(field: &'static str, value: &str) -> Result<String, Invalid> {
    crate::text::check_line(field, value, ALERT_KEY_MAX_CHARS).map(str::to_string)
}

/// Deserialisation validates as construction does.
fn source_de<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let raw = std::borrow::Cow::<'de, str>::deserialize(d)?;
    check_name("alert source", &raw).map_err(serde::de::Error::custom)
}

fn fingerprint_de<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let raw = std::borrow::Cow::<'de, str>::deserialize(d)?;
    check_name("fingerprint", &raw).map_err(serde::de::Error::custom)
}

fn labels_de<'de, D: serde::Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    let raw = BTreeMap::<String, String>::deserialize(d)?;
    if raw.len() > MAX_LABELS {
        return Err(serde::de::Error::custom(Invalid::new(
            "label",
            format!("at most {MAX_LABELS} labels"),
        )));
    }
    raw.iter()
        .map(|(name, value)| Ok((check_name("label", name)?, check_name("label", value)?)))
        .collect::<Result<_, Invalid>>()
        .map_err(serde::de::Error::custom)
}

impl Alert {
    /// A firing alert from monitor `source` (e.g. `alertmanager`, `uptime`) with dedup key
    /// `fingerprint`, about `service`, which started at `starts_at`.
    ///
    /// `source` and `fingerprint` follow the [one-line rules](crate::Title#text-rules) and
    /// take at most [`ALERT_KEY_MAX_CHARS`] characters each; `service` is a [`Service`] and
    /// `summary` a [`Title`].
    ///
    /// # Errors
    /// [`Invalid`] naming `alert source`, `fingerprint`, `service` or `title` (the summary).
    pub fn firing(
        source: &str,
        fingerprint: &str,
        service: &str,
        summary: &str,
        starts_at: DateTime<Utc>,
    ) -> Result<Alert, Invalid> {
        Ok(Alert {
            source: check_name("alert source", source)?,
            fingerprint: check_name("fingerprint", fingerprint)?,
            service: Service::new(service)?,
            summary: Title::new(summary)?,
            severity: None,
            state: SignalState::Firing,
            labels: BTreeMap::new(),
            starts_at,
            ends_at: None,
            description: None,
            reporter: None,
            group: None,
            origin: Source::Alert,
        })
    }

    /// A report from a person: a customer through the shop's contact form, or staff through
    /// the support desk, made by `reporter` at `at`. `topic` plays the fingerprint's part:
    /// reports with the same topic attach to the same incident. Topics are keys for the whole
    /// shop, whatever the service: name them apart (`shop-checkout`, `pos-cards`) where
    /// services share a word. `origin` must be `CustomerReport` or `StaffReport`.
    ///
    /// The reporter's name appears on the incident's timeline; their contact details are kept
    /// with the report but never shown in logs or timelines (see [`Contact`]).
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use incidents::{Alert, Source, intake::Reporter};
    ///
    /// let at = Utc.with_ymd_and_hms(2026, 11, 27, 18, 55, 0).unwrap();
    /// let dana = Reporter::new("Dana Levi")?.with_contact("dana@example.com")?;
    /// let report = Alert::report(Source::CustomerReport, dana, "checkout", "online shop", "Checkout crashes when I pay", at)?
    ///     .with_description("The page went blank after I pressed Pay.")?;
    /// assert_eq!(report.key(), "customer/checkout");
    /// assert_eq!(report.reporter().map(|r| r.name()), Some("Dana Levi"));
    /// # Ok::<(), incidents::Invalid>(())
    /// ```
    ///
    /// # Errors
    /// [`Invalid`] as for [`Alert::firing`], or with field `origin` for another source.
    pub fn report(
        origin: Source,
        reporter: Reporter,
        topic: &str,
        service: &str,
        summary: &str,
        at: DateTime<Utc>,
    ) -> Result<Alert, Invalid> {
        let source = match origin {
            Source::CustomerReport => "customer",
            Source::StaffReport => "staff",
            Source::Alert | Source::ProactiveCheck => {
                return Err(Invalid::new(
                    "origin",
                    format!("a report comes from a customer or staff, not from {origin}"),
                ));
            }
        };
        let mut alert = Alert::firing(source, topic, service, summary, at)?;
        alert.origin = origin;
        alert.reporter = Some(reporter);
        Ok(alert)
    }

    /// The same alert, saying the problem has stopped.
    #[must_use]
    pub fn resolved(mut self) -> Alert {
        self.state = SignalState::Resolved;
        self
    }

    /// Sets the state.
    #[must_use]
    pub fn with_state(mut self, state: SignalState) -> Alert {
        self.state = state;
        self
    }

    /// A severity hint (the monitor's own classification).
    #[must_use]
    pub fn with_severity(mut self, severity: Severity) -> Alert {
        self.severity = Some(severity);
        self
    }

    /// A longer description (an alert's annotation, what a customer wrote). Kept with the
    /// signal; may span several lines.
    ///
    /// # Errors
    /// [`Invalid`] with field `description` if it breaks the [`Text` rules](Text#text-rules).
    pub fn with_description(mut self, description: impl AsRef<str>) -> Result<Alert, Invalid> {
        self.description = Some(Text::new("description", description)?);
        Ok(self)
    }

    /// When the monitor says this occurrence ended (a resolved alert's end time), or until
    /// when it considers a firing alert valid.
    #[must_use]
    pub fn with_ends_at(mut self, ends_at: DateTime<Utc>) -> Alert {
        self.ends_at = Some(ends_at);
        self
    }

    /// Who reported it. [`Alert::report`] sets it; a monitor's alert may name a person too
    /// (whoever pressed the panic button).
    #[must_use]
    pub fn with_reporter(mut self, reporter: Reporter) -> Alert {
        self.reporter = Some(reporter);
        self
    }

    /// Puts it in a group of the monitor's (an Alertmanager group): a delivery whose own key
    /// leads to no incident records on the incident its group reached last — so the alerts of
    /// one group make one incident, each still its own signal, resolving one by one.
    ///
    /// # Errors
    /// [`Invalid`] with field `group` if it is blank, longer than [`ALERT_KEY_MAX_CHARS`] or
    /// not one line.
    pub fn with_group(mut self, group: &str) -> Result<Alert, Invalid> {
        self.group = Some(check_name("group", group)?);
        Ok(self)
    }

    /// Marks it as coming from a proactive check rather than a live alert.
    #[must_use]
    pub fn from_proactive_check(mut self) -> Alert {
        self.origin = Source::ProactiveCheck;
        self
    }

    /// Adds a label.
    ///
    /// # Errors
    /// [`Invalid`] with field `label` if the name or value is longer than
    /// [`ALERT_KEY_MAX_CHARS`] or breaks the [one-line rules](crate::Title#text-rules), or the
    /// alert already has [`MAX_LABELS`].
    pub fn with_label(mut self, name: &str, value: &str) -> Result<Alert, Invalid> {
        if self.labels.len() >= MAX_LABELS {
            return Err(Invalid::new(
                "label",
                format!("at most {MAX_LABELS} labels"),
            ));
        }
        let name = check_name("label", name)?;
        let value = check_name("label", value)?;
        self.labels.insert(name, value);
        Ok(self)
    }

    /// `source/fingerprint`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.source, self.fingerprint)
    }
    /// The monitor (or `customer`/`staff` for reports).
    pub fn source(&self) -> &str {
        &self.source
    }
    /// The dedup key within the source.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }
    /// The affected service.
    pub fn service(&self) -> &Service {
        &self.service
    }
    /// The one-line summary.
    pub fn summary(&self) -> &Title {
        &self.summary
    }
    /// The severity hint, if any.
    pub fn severity(&self) -> Option<Severity> {
        self.severity
    }
    /// Firing or resolved.
    pub fn state(&self) -> SignalState {
        self.state
    }
    /// The labels.
    pub fn labels(&self) -> &BTreeMap<String, String> {
        &self.labels
    }
    /// When this occurrence started.
    pub fn starts_at(&self) -> DateTime<Utc> {
        self.starts_at
    }
    /// Where an incident it opens says it came from.
    pub fn origin(&self) -> Source {
        self.origin
    }
    /// When the occurrence ended, if the monitor said.
    pub fn ends_at(&self) -> Option<DateTime<Utc>> {
        self.ends_at
    }
    /// The longer description, if any.
    pub fn description(&self) -> Option<&Text> {
        self.description.as_ref()
    }
    /// Who reported it, if a person did.
    pub fn reporter(&self) -> Option<&Reporter> {
        self.reporter.as_ref()
    }
    /// The monitor's group, if any.
    pub fn group(&self) -> Option<&str> {
        self.group.as_deref()
    }

    /// The signal it records on an incident.
    pub fn signal(&self) -> Signal {
        Signal {
            key: self.key(),
            starts_at: self.starts_at,
            state: self.state,
            summary: self.summary.to_string(),
            origin: self.origin,
            reporter: self.reporter.clone(),
            description: self.description.clone(),
            labels: self.labels.clone(),
            ends_at: self.ends_at,
            group: self.group.clone(),
        }
    }
}

/// A planned window in which a service's alerts open no incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaintenanceWindow {
    /// The service being worked on.
    pub service: Service,
    /// Start (inclusive).
    pub from: DateTime<Utc>,
    /// End (exclusive).
    pub until: DateTime<Utc>,
    /// What is being done.
    #[serde(default)]
    pub reason: String,
}

impl fmt::Display for MaintenanceWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "maintenance of {} {}–{}",
            self.service,
            self.from.format("%Y-%m-%d %H:%M"),
            self.until.format("%Y-%m-%d %H:%M")
        )?;
        if !self.reason.is_empty() {
            write!(f, " ({})", self.reason)?;
        }
        Ok(())
    }
}

/// From the `from`-th recurrence of a problem on, open it at `severity` at least.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecurrenceRule {
    /// Which recurrence (1 = the first time it comes back).
    pub from: u32,
    /// The lowest severity it is opened at from then on.
    pub raise_to: Severity,
    /// Whether such recurrences need a post-incident review before closing.
    #[serde(default)]
    pub require_review: bool,
}

/// How signals become incidents. Part of the [`Policy`](crate::Policy).
///
/// Windows are inclusive: an alert exactly one reopen window after the resolution still
/// reopens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intake {
    /// A problem that fires again within this long after its incident was resolved reopens it.
    #[serde(with = "crate::duration_text", default = "default_reopen")]
    pub reopen_window: Duration,
    /// After the reopen window and within this long, it opens a new incident linked as a
    /// recurrence of the last one.
    #[serde(with = "crate::duration_text", default = "default_recurrence")]
    pub recurrence_window: Duration,
    /// Resolve an incident once every alert on it reported resolved and nothing new arrived
    /// for this long. `None`: never auto-resolve. Reports from people count neither way: they
    /// never resolve, so an incident only people reported is never auto-resolved, and a report
    /// that joined a monitor's incident does not keep it open once the monitor's alerts
    /// resolved.
    #[serde(default = "default_quiet", with = "crate::duration_text::option")]
    pub quiet_period: Option<Duration>,
    /// Auto-resolve even if a person acted on the incident since its last signal.
    #[serde(default)]
    pub auto_resolve_after_human: bool,
    /// The severity of incidents opened from alerts without a severity hint.
    #[serde(default = "default_severity")]
    pub default_severity: Severity,
    /// Raise the severity of recurrences from the n-th on.
    #[serde(default)]
    pub recurrence_rule: Option<RecurrenceRule>,
    /// Planned maintenance: alerts in these windows open nothing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub maintenance: Vec<MaintenanceWindow>,
    /// When a signal about a service joins the incident already running on it instead of
    /// opening another.
    #[serde(default)]
    pub correlation: Correlation,
}

/// Which signals join an active incident about their service (see [`Correlation`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Correlate {
    /// Never: each alert key and report topic opens its own incident.
    Off,
    /// A report from people (a customer or staff) joins an incident that a monitor or
    /// proactive check opened or reported on, and a monitor's alert or a check joins an
    /// incident that people opened or reported on. Two monitors' alerts, or two reports on
    /// different topics, do not join each other by themselves. The default.
    PeopleAndMonitors,
    /// Any signal joins an active incident about its service, whoever sent either.
    AnySource,
}

/// One problem, one incident: how a signal about a service that already has an incident
/// running joins it instead of opening a second one. Part of [`Intake`].
///
/// **The exact rule.** Correlation is consulted only when a firing signal would otherwise
/// open a new incident (its key leads to no incident it could record on or reopen, and its
/// service is not in maintenance). It then joins an incident that
///
/// 1. is active (neither resolved nor closed),
/// 2. is about the same [`Service`] (names compare exactly),
/// 3. was opened, or last heard from (its latest signal arrived), no more than `window`
///    before the desk's clock — inclusive: exactly `window` still joins — and
/// 4. matches [`Correlate`]: under the default `PeopleAndMonitors`, the signal comes from
///    people and the incident has heard from a monitor or check ([`Incident::sources`]), or
///    the other way round.
///
/// If several incidents qualify, it joins the one heard from most recently (then the one
/// opened first, then the smallest id). The signal is recorded on that incident with its
/// reporter, and later deliveries with the signal's key go there too (as after
/// [`Desk::attach`](crate::Desk::attach)). A joining signal does not change the incident's
/// severity.
///
/// [`Incident::sources`]: crate::Incident::sources
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Correlation {
    /// Which signals join.
    #[serde(default = "default_correlate")]
    pub between: Correlate,
    /// How recently the incident must have been opened or heard from.
    #[serde(with = "crate::duration_text", default = "default_correlation_window")]
    pub window: Duration,
}

fn default_correlate() -> Correlate {
    Correlate::PeopleAndMonitors
}
fn default_correlation_window() -> Duration {
    Duration::hours(1)
}

impl Default for Correlation {
    /// People's reports and monitors' alerts join each other's incidents heard from within
    /// the last hour.
    fn default() -> Self {
        Correlation {
            between: default_correlate(),
            window: default_correlation_window(),
        }
    }
}

impl Correlation {
    /// Never join: every key opens its own incident.
    pub fn off() -> Correlation {
        Correlation {
            between: Correlate::Off,
            ..Correlation::default()
        }
    }

    /// Whether a signal from `origin` may join an incident that heard from `sources`
    /// (ignoring the window).
    pub(crate) fn joins(&self, origin: Source, sources: &[Source]) -> bool {
        match self.between {
            Correlate::Off => false,
            Correlate::AnySource => true,
            Correlate::PeopleAndMonitors => sources
                .iter()
                .any(|s| s.is_from_people() != origin.is_from_people()),
        }
    }
}

fn default_reopen() -> Duration {
    Duration::hours(1)
}
fn default_recurrence() -> Duration {
    Duration::days(30)
}
#[allow(
    clippy::unnecessary_wraps,
    reason = "the serde default of an `Option` field"
)]
fn default_quiet() -> Option<Duration> {
    Some(Duration::minutes(15))
}
fn default_severity() -> Severity {
    Severity::Medium
}

impl Default for Intake {
    /// Reopen within 1 hour, recurrence within 30 days, auto-resolve after 15 quiet minutes
    /// unless a person acted, alerts without a hint open at medium, no recurrence rule, no
    /// maintenance, people's reports and monitors' alerts about a service joining each
    /// other's incidents heard from within the last hour ([`Correlation::default`]).
    fn default() -> Self {
        Intake {
            reopen_window: default_reopen(),
            recurrence_window: default_recurrence(),
            quiet_period: default_quiet(),
            auto_resolve_after_human: false,
            default_severity: default_severity(),
            recurrence_rule: None,
            maintenance: Vec::new(),
            correlation: Correlation::default(),
        }
    }
}

impl Intake {
    /// The maintenance window covering `service` at `at`, if any.
    pub fn maintenance_at(
        &self,
        service: &Service,
        at: DateTime<Utc>,
    ) -> Option<&MaintenanceWindow> {
        self.maintenance
            .iter()
            .find(|w| w.service == *service && w.from <= at && at < w.until)
    }

    pub(crate) fn validate(&self) -> Result<(), crate::policy::PolicyError> {
        use crate::policy::PolicyError;
        for (field, value) in [
            ("reopen window", Some(self.reopen_window)),
            ("recurrence window", Some(self.recurrence_window)),
            ("quiet period", self.quiet_period),
            ("correlation window", Some(self.correlation.window)),
        ] {
            if let Some(v) = value.filter(|v| *v < Duration::zero()) {
                return Err(PolicyError::Intake {
                    rule: format!(
                        "{field} must not be negative, got {}",
                        crate::duration_text::format(v)
                    ),
                });
            }
        }
        if self.recurrence_window < self.reopen_window {
            return Err(PolicyError::Intake {
                rule: "the recurrence window must not be shorter than the reopen window".into(),
            });
        }
        if let Some(w) = self.maintenance.iter().find(|w| w.from >= w.until) {
            return Err(PolicyError::Intake {
                rule: format!("{w} ends before it starts"),
            });
        }
        if self.recurrence_rule.is_some_and(|r| r.from == 0) {
            return Err(PolicyError::Intake {
                rule: "the recurrence rule counts from the first recurrence (1)".into(),
            });
        }
        Ok(())
    }
}

/// What [`Desk::ingest`](crate::Desk::ingest) did with an alert.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Ingested {
    /// A new incident was opened.
    Opened {
        /// The new incident.
        id: IncidentId,
    },
    /// A new incident was opened as a recurrence of an earlier one.
    Recurred {
        /// The new incident.
        id: IncidentId,
        /// The link to the earlier one.
        recurrence: crate::lifecycle::Recurrence,
    },
    /// The alert was recorded on the incident already tracking its key.
    Recorded {
        /// That incident.
        id: IncidentId,
    },
    /// It opened nothing: it joined the active incident about the same service that another
    /// source opened or reported on (see [`Correlation`]). Later deliveries with its key go
    /// there too.
    Joined {
        /// That incident.
        id: IncidentId,
    },
    /// The incident tracking its key was resolved within the reopen window and is open again.
    Reopened {
        /// That incident.
        id: IncidentId,
    },
    /// The same delivery arrived before; nothing was recorded.
    Duplicate {
        /// The incident that has it (after a merge: the duplicate that recorded it first).
        id: IncidentId,
    },
    /// The service is in maintenance: no incident was opened or reopened (the alert is
    /// recorded on an existing incident for its key, if there is one).
    Suppressed {
        /// The window.
        window: MaintenanceWindow,
        /// The incident it was recorded on, if any.
        recorded_on: Option<IncidentId>,
    },
    /// A "resolved" alert for a problem with no incident to record it on.
    Ignored,
}

impl Ingested {
    /// The incident involved, if any.
    pub fn incident(&self) -> Option<IncidentId> {
        match self {
            Ingested::Opened { id }
            | Ingested::Recurred { id, .. }
            | Ingested::Recorded { id }
            | Ingested::Joined { id }
            | Ingested::Reopened { id }
            | Ingested::Duplicate { id } => Some(*id),
            Ingested::Suppressed { recorded_on, .. } => *recorded_on,
            Ingested::Ignored => None,
        }
    }
}

/// A deterministic incident id for the `n`-th incident (from 0) of alert key `key`: a UUID v7
/// whose time is when the alert started and whose other bits hash the key and `n`. Two
/// threads or desks opening an incident for the same alert compute the same id, so the
/// store's version check lets exactly one of them create it.
pub(crate) fn incident_id_for(key: &str, n: u32, starts_at: DateTime<Utc>) -> IncidentId {
    fn fnv1a(seed: u64, parts: &[&[u8]]) -> u64 {
        let mut h = 0xcbf2_9ce4_8422_2325u64 ^ seed;
        for part in parts {
            for b in *part {
                h ^= u64::from(*b);
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
            h ^= 0xff;
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        h
    }
    let n = n.to_le_bytes();
    let a = fnv1a(1, &[key.as_bytes(), &n]);
    let b = fnv1a(2, &[key.as_bytes(), &n]);
    let mut random = [0u8; 10];
    random[..8].copy_from_slice(&a.to_le_bytes());
    random[8..].copy_from_slice(&b.to_le_bytes()[..2]);
    let millis = u64::try_from(starts_at.timestamp_millis()).unwrap_or(0);
    IncidentId::from_uuid(uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid())
}
