//! The outbox's edges: the [`Notifier`] a host implements, the message [`Templates`] it may
//! replace, and the retry schedule.

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::incident::Incident;
use crate::lifecycle::{Audience, Notification, SlaTarget, Timer};

/// Delivers notifications: e-mail, SMS, chat, a webhook — whatever the host has.
///
/// [`Desk::dispatch`](crate::Desk::dispatch) calls it for every pending notification. Delivery
/// is **at least once**: if the process dies after `deliver` returned but before the desk
/// recorded it, the same notification (same [`key`](Notification::key)) is delivered again
/// after the restart. Hosts that must not repeat a message drop keys they have seen.
pub trait Notifier {
    /// Sends one notification.
    ///
    /// # Errors
    /// A [`DeliveryError`] saying what went wrong; the outbox retries later with capped
    /// exponential backoff (see [`Backoff`]).
    fn deliver(&self, notification: &Notification) -> Result<(), DeliveryError>;
}

impl<N: Notifier + ?Sized> Notifier for &N {
    fn deliver(&self, notification: &Notification) -> Result<(), DeliveryError> {
        (**self).deliver(notification)
    }
}

/// Why a delivery failed, in the notifier's words, and whether trying again could help.
///
/// A **transient** error (a timeout, a server busy, a connection refused) is retried by the
/// outbox on its [`Backoff`] schedule. A **permanent** one (the receiver refused the message
/// as malformed, an address that does not exist, credentials rejected) is not: the outbox
/// gives up on the notification at once, so a message that can never be delivered does not
/// keep trying for hours.
///
/// The message is recorded in the incident's history (`NotificationFailed`): it must not
/// contain secrets such as passwords, tokens or webhook URLs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DeliveryError {
    message: String,
    permanent: bool,
}

impl DeliveryError {
    /// A transient delivery error with this message: the outbox retries.
    pub fn new(message: impl Into<String>) -> DeliveryError {
        DeliveryError {
            message: message.into(),
            permanent: false,
        }
    }

    /// A permanent delivery error with this message: the outbox gives up at once.
    pub fn permanent(message: impl Into<String>) -> DeliveryError {
        DeliveryError {
            message: message.into(),
            permanent: true,
        }
    }

    /// Whether retrying cannot help.
    pub fn is_permanent(&self) -> bool {
        self.permanent
    }

    /// What went wrong.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// When the outbox retries a failed delivery: after `first`, doubling each time, never more
/// than `max` apart, and giving up after `attempts` failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backoff {
    /// Wait after the first failure.
    #[serde(with = "crate::duration_text")]
    pub first: Duration,
    /// The longest wait between attempts.
    #[serde(with = "crate::duration_text")]
    pub max: Duration,
    /// How many failed attempts before giving up.
    pub attempts: u32,
}

impl Default for Backoff {
    /// 30 s, 1 min, 2 min, … at most 30 min apart, giving up after 12 failures (about four
    /// hours).
    fn default() -> Self {
        Backoff {
            first: Duration::seconds(30),
            max: Duration::minutes(30),
            attempts: 12,
        }
    }
}

impl Backoff {
    /// When to retry after failed attempt number `attempt` (1 for the first) at `now`;
    /// `None` once the attempts are used up.
    pub fn retry_at(&self, attempt: u32, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if attempt >= self.attempts {
            return None;
        }
        let factor = 1i64 << attempt.saturating_sub(1).min(30);
        let wait = Duration::milliseconds(
            self.first
                .num_milliseconds()
                .saturating_mul(factor)
                .min(self.max.num_milliseconds()),
        );
        now.checked_add_signed(wait)
    }
}

/// Message templates, one subject and body per kind of notification. Placeholders in braces
/// are replaced: `{id}`, `{title}`, `{severity}`, `{service}`, `{status}`, `{owner}`, and,
/// where they apply, `{step}`, `{target}`, `{due}`, `{message}`.
///
/// ```
/// use incidents::Templates;
///
/// let mut templates = Templates::default();
/// templates.customer_update.subject = "Update from the bakery: {service}".into();
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Templates {
    /// An escalation step pages someone.
    pub escalation: Template,
    /// An SLA target is at risk.
    pub at_risk: Template,
    /// An SLA target was missed.
    pub breached: Template,
    /// Customers are due an update.
    pub update_due: Template,
    /// A customer update was posted (sent to customers).
    pub customer_update: Template,
    /// The desk auto-resolved an incident after its alerts went quiet.
    pub auto_resolved: Template,
    /// A review's follow-up action is overdue (sent to its owner).
    pub follow_up_overdue: Template,
}

/// One subject and body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Template {
    /// The subject line.
    pub subject: String,
    /// The message body.
    pub body: String,
}

impl Template {
    fn new(subject: &str, body: &str) -> Template {
        Template {
            subject: subject.into(),
            body: body.into(),
        }
    }
}

impl Default for Templates {
    fn default() -> Self {
        Templates {
            escalation: Template::new(
                "[{severity}] {title} ({service}) needs someone",
                "Incident {id} on {service} is {status} and nobody has acknowledged it \
                 (escalation step {step}). Please acknowledge it or hand it on.",
            ),
            at_risk: Template::new(
                "[{severity}] {title}: {target} at risk",
                "Incident {id} on {service} is {status}; its {target} is due at {due}.",
            ),
            breached: Template::new(
                "[{severity}] {title}: {target} missed",
                "Incident {id} on {service} is {status}; its {target} was due at {due}.",
            ),
            update_due: Template::new(
                "[{severity}] {title}: customers are waiting for an update",
                "Incident {id} on {service}: customers were due an update at {due}.",
            ),
            customer_update: Template::new("Service update: {service}", "{message}"),
            follow_up_overdue: Template::new(
                "Overdue: {message}",
                "The follow-up \"{message}\" from the review of incident {id} ({title}) was due \
                 at {due}. Please do it, or agree a new date with {owner}.",
            ),
            auto_resolved: Template::new(
                "[{severity}] {title}: auto-resolved",
                "Every alert on incident {id} ({service}) reported resolved and nothing new \
                 arrived since {due}; the incident is resolved. Reopen it if the problem is back.",
            ),
        }
    }
}

/// Values for a template's placeholders.
pub(crate) struct Fields<'a> {
    pub incident: &'a Incident,
    pub step: Option<u32>,
    pub target: Option<SlaTarget>,
    pub due: Option<DateTime<Utc>>,
    pub message: Option<&'a str>,
}

impl Fields<'_> {
    /// Replaces the placeholders of `text` in one pass. Unknown placeholders, and those
    /// without a value here, are left as they are.
    fn render(&self, text: &str) -> String {
        use std::fmt::Write;
        let i = self.incident;
        let mut out = String::with_capacity(text.len() + 64);
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let Some(close) = after.find('}') else {
                out.push_str(&rest[open..]);
                return out;
            };
            let name = &after[..close];
            // `write!` into a String cannot fail.
            let known = match name {
                "id" => write!(out, "{}", i.id()).is_ok(),
                "title" => write!(out, "{}", i.title()).is_ok(),
                "severity" => write!(out, "{}", i.severity()).is_ok(),
                "service" => write!(out, "{}", i.service()).is_ok(),
                "status" => write!(out, "{}", i.status()).is_ok(),
                "owner" => match i.owner() {
                    Some(o) => write!(out, "{}", o.name()).is_ok(),
                    None => write!(out, "nobody yet").is_ok(),
                },
                "step" => self.step.is_some_and(|s| write!(out, "{}", s + 1).is_ok()),
                "target" => self.target.is_some_and(|t| write!(out, "{t}").is_ok()),
                "due" => self
                    .due
                    .is_some_and(|d| write!(out, "{}", d.format("%Y-%m-%d %H:%M UTC")).is_ok()),
                "message" => self.message.is_some_and(|m| write!(out, "{m}").is_ok()),
                _ => false,
            };
            if !known {
                out.push('{');
                out.push_str(name);
                out.push('}');
            }
            rest = &after[close + 1..];
        }
        out.push_str(rest);
        out
    }
}

impl Templates {
    /// The notification for a fired `timer`.
    pub(crate) fn for_timer(
        &self,
        incident: &Incident,
        timer: &Timer,
        channel: Option<String>,
    ) -> Notification {
        let (template, audience, fields) = match timer {
            Timer::Escalation { step, notify, .. } => (
                &self.escalation,
                Audience::Recipients(notify.clone()),
                Fields {
                    incident,
                    step: Some(*step),
                    target: None,
                    due: None,
                    message: None,
                },
            ),
            Timer::SlaAtRisk { target, due } => (
                &self.at_risk,
                Audience::Owner,
                Fields {
                    incident,
                    step: None,
                    target: Some(*target),
                    due: Some(*due),
                    message: None,
                },
            ),
            Timer::SlaBreached { target, due } => (
                &self.breached,
                Audience::Owner,
                Fields {
                    incident,
                    step: None,
                    target: Some(*target),
                    due: Some(*due),
                    message: None,
                },
            ),
            Timer::CustomerUpdateDue { due, .. } => (
                &self.update_due,
                Audience::Owner,
                Fields {
                    incident,
                    step: None,
                    target: None,
                    due: Some(*due),
                    message: None,
                },
            ),
            Timer::FollowUpOverdue {
                follow_up,
                due,
                owner,
            } => (
                &self.follow_up_overdue,
                Audience::Recipients(vec![crate::policy::Recipient::Person(owner.clone())]),
                Fields {
                    incident,
                    step: None,
                    target: None,
                    due: Some(*due),
                    message: incident
                        .follow_up(*follow_up)
                        .map(|f| f.plan.title.as_str()),
                },
            ),
            Timer::QuietPeriodOver { last_signal } => (
                &self.auto_resolved,
                Audience::Owner,
                Fields {
                    incident,
                    step: None,
                    target: None,
                    due: Some(*last_signal),
                    message: None,
                },
            ),
        };
        Notification {
            key: format!("{}/{}", incident.id(), timer.key()),
            incident: incident.id(),
            audience,
            channel,
            subject: fields.render(&template.subject),
            body: fields.render(&template.body),
        }
    }

    /// The notification to customers for customer update number `n` (from 0).
    pub(crate) fn for_customer_update(
        &self,
        incident: &Incident,
        n: usize,
        message: &str,
    ) -> Notification {
        let fields = Fields {
            incident,
            step: None,
            target: None,
            due: None,
            message: Some(message),
        };
        Notification {
            key: format!("{}/customer_update_posted/{n}", incident.id()),
            incident: incident.id(),
            audience: Audience::Customers,
            channel: None,
            subject: fields.render(&self.customer_update.subject),
            body: fields.render(&self.customer_update.body),
        }
    }
}

impl fmt::Display for Notification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let to = match &self.audience {
            Audience::Owner => "the owner".to_string(),
            Audience::Customers => "customers".to_string(),
            Audience::Recipients(r) => r
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        };
        write!(f, "to {to}: {}", self.subject)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_fill_known_placeholders_and_keep_the_rest() {
        use crate::lifecycle::{Command, NewIncident, decide};
        use crate::model::{Actor, IncidentId, Source};
        let at = DateTime::UNIX_EPOCH;
        let id = IncidentId::from_bytes([1; 16]);
        let new =
            NewIncident::new("Till {down}", crate::Severity::High, "POS", Source::Alert).unwrap();
        let events = decide(
            None,
            &Command::Open { id, incident: new },
            &Actor::system(),
            at,
        )
        .unwrap();
        let incident = Incident::replay(id, &events).unwrap();
        let fields = Fields {
            incident: &incident,
            step: Some(1),
            target: None,
            due: None,
            message: Some("hi"),
        };
        assert_eq!(
            fields.render("{severity}: {title} on {service} ({status}) step {step}, {target}, {message}, {owner} {"),
            "high: Till {down} on POS (open) step 2, {target}, hi, nobody yet {"
        );
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_then_gives_up() {
        let b = Backoff::default();
        let now = DateTime::UNIX_EPOCH;
        let waits: Vec<i64> = (1..=12)
            .map(|a| b.retry_at(a, now).map_or(-1, |t| (t - now).num_seconds()))
            .collect();
        assert_eq!(waits[..7], [30, 60, 120, 240, 480, 960, 1800]);
        assert_eq!(waits[10], 1800);
        assert_eq!(waits[11], -1);
    }
}
