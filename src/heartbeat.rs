//! Heartbeats: check-ins a desk expects, so that silence becomes an incident — a dead man's
//! switch for a till or a card terminal that dies without sending a word.
//!
//! The declaration ([`Heartbeat`]) is plain data in the [`Policy`](crate::Policy); what the
//! desk does with it (keeping the last check-in in memory, turning a silence into an alert) is
//! in `desk::heartbeat`.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::calendar::Calendar;
use crate::error::Invalid;
use crate::model::Service;
use crate::policy::{Hours, PolicyError};
use crate::severity::Severity;

/// The longest heartbeat name accepted, in characters.
pub const HEARTBEAT_NAME_MAX_CHARS: usize = 64;

/// The alert source of every heartbeat's alerts: a heartbeat named `till-1` raises alerts
/// with key `heartbeat/till-1`.
pub const HEARTBEAT_SOURCE: &str = "heartbeat";

/// A check-in the desk expects: something — a till, a card terminal, a nightly backup — that
/// calls [`Desk::check_in`](crate::Desk::check_in) with this heartbeat's name at least every
/// `every`. When no check-in came for `every` plus `grace`, the desk raises an alert for it
/// (a dead man's switch, like Opsgenie's heartbeats, Uptime Kuma's push monitors or
/// Alertmanager's Watchdog), which opens an incident and pages like any monitor's alert.
///
/// Declared in the [`Policy`](crate::Policy) with
/// [`Policy::with_heartbeat`](crate::Policy::with_heartbeat), and validated there.
///
/// - **Where the silence counts.** With [`Hours::AroundTheClock`] (the default) every minute
///   counts. With [`Hours::Business`] ([`only_when_open`](Self::only_when_open)) only the
///   policy calendar's opening hours count: a till that stops at closing and starts again at
///   the next opening is not missing, and one that stays silent after opening is reported
///   once `every + grace` of opening time has passed.
/// - **The alert.** Source [`HEARTBEAT_SOURCE`], fingerprint the heartbeat's name, about its
///   service, at its severity (or the intake's default severity); its start is the instant
///   the silence became too long, so it identifies the silence: one silence is reported
///   once. A check-in after that resolves the alert, and the intake's quiet period
///   auto-resolves the incident.
/// - **Restarts.** The last check-in is kept in memory only (a check-in records nothing), so
///   a desk that starts counts each heartbeat's silence from its own start: a till that died
///   just before a restart is reported `every + grace` after the restart, not earlier.
///
/// ```
/// use chrono::Duration;
/// use incidents::{Policy, Severity, policy::Heartbeat};
///
/// let till = Heartbeat::new("till-1", "POS", Duration::minutes(5))?
///     .with_grace(Duration::minutes(2))
///     .with_severity(Severity::High)
///     .only_when_open();
/// let policy = Policy::small_business().with_heartbeat(till)?;
/// assert_eq!(policy.heartbeat("till-1").map(|h| h.key()), Some("heartbeat/till-1".to_string()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "HeartbeatSpec", into = "HeartbeatSpec")]
pub struct Heartbeat {
    name: String,
    service: Service,
    every: Duration,
    grace: Duration,
    severity: Option<Severity>,
    hours: Hours,
}

impl Heartbeat {
    /// A heartbeat named `name` (what the device passes to
    /// [`Desk::check_in`](crate::Desk::check_in)) for `service`, expected at least `every`;
    /// no grace, the intake's default severity, counted around the clock.
    ///
    /// # Errors
    /// [`Invalid`] with field `heartbeat name` if the name is blank, longer than
    /// [`HEARTBEAT_NAME_MAX_CHARS`] or has control characters; with field `service` for a bad
    /// service name. The durations are checked when the heartbeat joins a policy.
    pub fn new<S>(name: &str, service: S, every: Duration) -> Result<Heartbeat, Invalid>
    where
        S: TryInto<Service>,
        S::Error: Into<Invalid>,
    {
        Ok(Heartbeat {
            name: crate::text::check_line("heartbeat name", name, HEARTBEAT_NAME_MAX_CHARS)?
                .to_string(),
            service: service.try_into().map_err(Into::into)?,
            every,
            grace: Duration::zero(),
            severity: None,
            hours: Hours::AroundTheClock,
        })
    }

    /// Waits `grace` longer than `every` before reporting a silence (a till that checks in
    /// every 5 minutes may be a minute late on a busy network).
    #[must_use]
    pub fn with_grace(mut self, grace: Duration) -> Heartbeat {
        self.grace = grace;
        self
    }

    /// Opens its incidents at `severity` (instead of the intake's default severity).
    #[must_use]
    pub fn with_severity(mut self, severity: Severity) -> Heartbeat {
        self.severity = Some(severity);
        self
    }

    /// Counts the silence on `hours`: every minute, or only the calendar's opening hours.
    #[must_use]
    pub fn with_hours(mut self, hours: Hours) -> Heartbeat {
        self.hours = hours;
        self
    }

    /// Counts the silence only while the shop is open ([`Hours::Business`]): for a till that
    /// is switched off at night.
    #[must_use]
    pub fn only_when_open(self) -> Heartbeat {
        self.with_hours(Hours::Business)
    }

    /// The name devices check in with.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The service its incidents are about.
    pub fn service(&self) -> &Service {
        &self.service
    }
    /// How often a check-in is expected.
    pub fn every(&self) -> Duration {
        self.every
    }
    /// How much longer than `every` a silence may last before it is reported.
    pub fn grace(&self) -> Duration {
        self.grace
    }
    /// The severity of its incidents; `None`: the intake's default.
    pub fn severity(&self) -> Option<Severity> {
        self.severity
    }
    /// Which hours the silence counts in.
    pub fn hours(&self) -> Hours {
        self.hours
    }
    /// Its alert key: `heartbeat/<name>`.
    pub fn key(&self) -> String {
        format!("{HEARTBEAT_SOURCE}/{}", self.name)
    }

    /// When a silence since `last` becomes too long: `every + grace` after it, counted on the
    /// heartbeat's hours. `None` if that never comes (a calendar that does not open within two
    /// years).
    pub fn due_after(&self, last: DateTime<Utc>, calendar: &Calendar) -> Option<DateTime<Utc>> {
        let limit = self.every.checked_add(&self.grace)?;
        match self.hours {
            Hours::AroundTheClock => last.checked_add_signed(limit),
            Hours::Business => calendar.add_business_time(last, limit),
        }
    }

    /// Checks the durations, and that business hours come with a calendar that opens.
    pub(crate) fn validate(&self, calendar: &Calendar) -> Result<(), PolicyError> {
        let bad = |rule: String| {
            Err(PolicyError::Heartbeat {
                name: self.name.clone(),
                rule,
            })
        };
        let text = crate::duration_text::format;
        let longest = crate::policy::max_duration();
        if self.every <= Duration::zero() {
            return bad(format!(
                "the period must be longer than zero, got {}",
                text(self.every)
            ));
        }
        if self.grace < Duration::zero() {
            return bad(format!(
                "the grace must not be negative, got {}",
                text(self.grace)
            ));
        }
        if self.every > longest || self.grace > longest {
            return bad(format!(
                "the period and the grace must each be at most 100 years, got {} and {}",
                text(self.every),
                text(self.grace)
            ));
        }
        if self.hours == Hours::Business && !calendar.has_opening_hours() {
            return bad(
                "counts opening hours only, but the calendar has no opening hours".to_string(),
            );
        }
        Ok(())
    }
}

/// The serialised form of a [`Heartbeat`]: `{"name": "till-1", "service": "POS", "every":
/// "5m", "grace": "2m", "severity": "high", "hours": "business"}` (grace, severity and hours
/// may be left out).
#[derive(Clone, Serialize, Deserialize)]
struct HeartbeatSpec {
    name: String,
    service: Service,
    #[serde(with = "crate::duration_text")]
    every: Duration,
    #[serde(with = "crate::duration_text", default = "Duration::zero")]
    grace: Duration,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    severity: Option<Severity>,
    #[serde(default)]
    hours: Hours,
}

impl TryFrom<HeartbeatSpec> for Heartbeat {
    type Error = Invalid;
    fn try_from(spec: HeartbeatSpec) -> Result<Heartbeat, Invalid> {
        Ok(Heartbeat {
            severity: spec.severity,
            ..Heartbeat::new(&spec.name, spec.service, spec.every)?
                .with_grace(spec.grace)
                .with_hours(spec.hours)
        })
    }
}

impl From<Heartbeat> for HeartbeatSpec {
    fn from(h: Heartbeat) -> HeartbeatSpec {
        HeartbeatSpec {
            name: h.name,
            service: h.service,
            every: h.every,
            grace: h.grace,
            severity: h.severity,
            hours: h.hours,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Weekday};

    fn till() -> Heartbeat {
        Heartbeat::new("till-1", "POS", Duration::minutes(5))
            .unwrap()
            .with_grace(Duration::minutes(2))
    }

    #[test]
    fn names_are_one_short_line() {
        assert!(Heartbeat::new(" ", "POS", Duration::minutes(5)).is_err());
        assert!(Heartbeat::new("till\n1", "POS", Duration::minutes(5)).is_err());
        let long = "t".repeat(HEARTBEAT_NAME_MAX_CHARS + 1);
        let err = Heartbeat::new(&long, "POS", Duration::minutes(5)).unwrap_err();
        assert_eq!(err.field, "heartbeat name");
        assert_eq!(
            Heartbeat::new(" till-1 ", "POS", Duration::minutes(5))
                .unwrap()
                .name(),
            "till-1"
        );
        assert_eq!(
            Heartbeat::new("till-1", "", Duration::minutes(5))
                .unwrap_err()
                .field,
            "service"
        );
    }

    #[test]
    fn durations_are_checked_against_the_rules() {
        let calendar = Calendar::always_open();
        assert_eq!(till().validate(&calendar), Ok(()));
        for bad in [
            Heartbeat::new("t", "POS", Duration::zero()).unwrap(),
            till().with_grace(Duration::seconds(-1)),
            Heartbeat::new("t", "POS", Duration::days(40_000)).unwrap(),
        ] {
            let err = bad.validate(&calendar).unwrap_err();
            assert!(
                matches!(err, PolicyError::Heartbeat { .. }),
                "{bad:?}: {err}"
            );
        }
        let never_open = Calendar::weekly(chrono_tz::Tz::Europe__London);
        let err = till().only_when_open().validate(&never_open).unwrap_err();
        assert!(err.to_string().contains("no opening hours"), "{err}");
        assert_eq!(till().validate(&never_open), Ok(()));
    }

    #[test]
    fn the_silence_counts_on_the_heartbeats_hours() {
        let shop = Calendar::weekly(chrono_tz::Tz::Europe__London)
            .open([Weekday::Fri, Weekday::Sat], "09:00", "17:00")
            .unwrap();
        // Friday 16:58: 2 minutes before closing, then Saturday's opening.
        let last = Utc.with_ymd_and_hms(2026, 11, 27, 16, 58, 0).unwrap();
        assert_eq!(
            till().due_after(last, &shop),
            Some(last + Duration::minutes(7))
        );
        assert_eq!(
            till().only_when_open().due_after(last, &shop),
            Some(Utc.with_ymd_and_hms(2026, 11, 28, 9, 5, 0).unwrap())
        );
    }

    #[test]
    fn serde_round_trip_with_defaults() {
        let h = till().with_severity(Severity::High).only_when_open();
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(
            json,
            r#"{"name":"till-1","service":"POS","every":"5m","grace":"2m","severity":"high","hours":"business"}"#
        );
        assert_eq!(serde_json::from_str::<Heartbeat>(&json).unwrap(), h);
        let short: Heartbeat =
            serde_json::from_str(r#"{"name":"till-2","service":"POS","every":"1m"}"#).unwrap();
        assert_eq!(short.grace(), Duration::zero());
        assert_eq!(short.hours(), Hours::AroundTheClock);
        assert_eq!(short.severity(), None);
        assert!(
            serde_json::from_str::<Heartbeat>(r#"{"name":"","service":"POS","every":"1m"}"#)
                .is_err()
        );
    }
}
