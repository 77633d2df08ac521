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
/// # Right-to-left text
///
/// Every value put in for a placeholder is wrapped in the invisible marks U+2068 (first
/// strong isolate) … U+2069 (pop directional isolate), line by line, so that it is laid out
/// in its own direction and cannot reorder the text around it: a Hebrew title in an English
/// template, or an English service name and a date in a Hebrew template, display as written.
/// A value that makes up a whole line of the message on its own (a `{message}` alone on its
/// line) is left bare: nothing shares its line, and it sets the line's direction, so a Hebrew
/// customer update reads right-to-left. With the [text rules](crate::Text#text-rules)
/// (no embeddings or overrides anywhere, isolates balanced on each line), the bidirectional
/// controls of a rendered message are balanced on every line. The marks are one UTF-16 unit
/// each; [`notifiers::sms`](crate::notifiers::sms) leaves them out of a text that is
/// otherwise GSM-7, where they change nothing on screen.
///
/// The templates' own text is the host's: keep any bidirectional controls in it balanced.
///
/// ```
/// use incidents::notify::Templates;
///
/// let mut templates = Templates::default();
/// templates.customer_update.subject = "Update from the bakery: {service}".into();
/// templates.escalation.subject = "[{severity}] {title} ({service}) צריך טיפול".into();
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

impl<'a> Fields<'a> {
    /// Every placeholder empty but the incident's.
    fn of(incident: &'a Incident) -> Fields<'a> {
        Fields {
            incident,
            step: None,
            target: None,
            due: None,
            message: None,
        }
    }

    /// Replaces the placeholders of `text` in one pass, each value isolated as
    /// [`push_isolated`] says. Unknown placeholders, and those without a value here, are left
    /// as they are.
    fn render(&self, text: &str) -> String {
        use std::fmt::Write;
        let i = self.incident;
        let mut out = String::with_capacity(text.len() + 64);
        let mut value = String::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let Some(close) = after.find('}') else {
                out.push_str(&rest[open..]);
                return out;
            };
            let name = &after[..close];
            value.clear();
            // `write!` into a String cannot fail.
            let known = match name {
                "id" => write!(value, "{}", i.id()).is_ok(),
                "title" => write!(value, "{}", i.title()).is_ok(),
                "severity" => write!(value, "{}", i.severity()).is_ok(),
                "service" => write!(value, "{}", i.service()).is_ok(),
                "status" => write!(value, "{}", i.status()).is_ok(),
                "owner" => match i.owner() {
                    Some(o) => write!(value, "{}", o.name()).is_ok(),
                    None => write!(value, "nobody yet").is_ok(),
                },
                "step" => self
                    .step
                    .is_some_and(|s| write!(value, "{}", s + 1).is_ok()),
                "target" => self.target.is_some_and(|t| write!(value, "{t}").is_ok()),
                "due" => self
                    .due
                    .is_some_and(|d| write!(value, "{}", d.format("%Y-%m-%d %H:%M UTC")).is_ok()),
                "message" => self.message.is_some_and(|m| write!(value, "{m}").is_ok()),
                _ => false,
            };
            rest = &after[close + 1..];
            if known {
                push_isolated(&mut out, &value, rest);
            } else {
                out.push('{');
                out.push_str(name);
                out.push('}');
            }
        }
        out.push_str(rest);
        out
    }
}

/// Appends `value`, inserted into a template, to `out`, where `rest` is the template text
/// that follows it: each of its lines wrapped in FSI (U+2068 first strong isolate) … PDI
/// (U+2069 pop directional isolate), so that its direction — Hebrew in an English template,
/// English in a Hebrew one — cannot change how the text around it is ordered.
///
/// Lines are wrapped one by one because a line break ends a bidi paragraph (UAX #9) and the
/// isolates in it: an FSI opened on one line is not closed by a PDI on the next. A line of
/// the value that is a whole line of the message on its own (the template's `{message}`
/// alone on its line, a middle line of a longer message) is left as it is: nothing shares
/// its paragraph, and left bare it sets its paragraph's direction, so that a Hebrew customer
/// update is laid out right-to-left as a whole. Empty lines get no marks.
fn push_isolated(out: &mut String, value: &str, rest: &str) {
    use crate::text::{FSI, PDI, is_paragraph_separator};
    let mut at_line_start = out.chars().next_back().is_none_or(is_paragraph_separator);
    for piece in value.split_inclusive(is_paragraph_separator) {
        let (line, separator) = match piece.char_indices().next_back() {
            Some((i, c)) if is_paragraph_separator(c) => piece.split_at(i),
            _ => (piece, ""),
        };
        // Only the last piece can lack a separator; the template goes on after it.
        let at_line_end =
            !separator.is_empty() || rest.chars().next().is_none_or(is_paragraph_separator);
        if line.is_empty() || (at_line_start && at_line_end) {
            out.push_str(line);
        } else {
            out.push(FSI);
            out.push_str(line);
            out.push(PDI);
        }
        out.push_str(separator);
        at_line_start = !separator.is_empty();
    }
}

/// The owner's page for a regulatory notice warning (no template: the text names the regime,
/// the recipient and the deadline in `zone`, the shop's; a host wanting its own words reads
/// the timer).
pub(crate) fn notice_notification(
    incident: &Incident,
    timer: &Timer,
    channel: Option<String>,
    zone: chrono_tz::Tz,
) -> Option<Notification> {
    let (regime, phase, due, state) = match timer {
        Timer::NoticeAtRisk { regime, phase, due } => (regime, phase, due, "at risk"),
        Timer::NoticeOverdue { regime, phase, due } => (regime, phase, due, "overdue"),
        _ => return None,
    };
    let recipient = incident
        .breach()
        .and_then(|b| b.phase(regime, phase))
        .map_or_else(String::new, |(_, p)| format!(" to {}", p.recipient));
    let due = due.with_timezone(&zone).format("%Y-%m-%d %H:%M %Z");
    Some(Notification {
        key: format!("{}/{}", incident.id(), timer.key()),
        incident: Some(incident.id()),
        audience: audience_of(timer),
        channel,
        subject: format!("[{}] {regime} notice {phase} {state}", incident.title()),
        body: format!(
            "The {regime} notice \"{phase}\"{recipient} is {state}: due {due}. Not filed yet."
        ),
        locale: None,
        sms: None,
    })
}

/// Who the notification of a fired `timer` is for.
pub(crate) fn audience_of(timer: &Timer) -> Audience {
    match timer {
        Timer::Escalation { notify, .. } => Audience::Recipients(notify.clone()),
        Timer::FollowUpOverdue { owner, .. } => {
            Audience::Recipients(vec![crate::policy::Recipient::Person(owner.clone())])
        }
        Timer::SlaAtRisk { .. }
        | Timer::SlaBreached { .. }
        | Timer::CustomerUpdateDue { .. }
        | Timer::QuietPeriodOver { .. }
        | Timer::NoticeAtRisk { .. }
        | Timer::NoticeOverdue { .. } => Audience::Owner,
    }
}

impl Templates {
    /// The notification for a fired `timer`, to `audience` (the desk resolves it: see
    /// [`audience_of`] for who each timer is for by default).
    pub(crate) fn for_timer(
        &self,
        incident: &Incident,
        timer: &Timer,
        audience: Audience,
        channel: Option<String>,
    ) -> Notification {
        if let Some(notification) =
            notice_notification(incident, timer, channel.clone(), chrono_tz::Tz::UTC)
        {
            return notification;
        }
        // Each timer fills in its own placeholders.
        let base = Fields::of(incident);
        let (template, fields) = match timer {
            Timer::Escalation { step, .. } => (
                &self.escalation,
                Fields {
                    step: Some(*step),
                    ..base
                },
            ),
            Timer::SlaAtRisk { target, due } => (
                &self.at_risk,
                Fields {
                    target: Some(*target),
                    due: Some(*due),
                    ..base
                },
            ),
            Timer::SlaBreached { target, due } => (
                &self.breached,
                Fields {
                    target: Some(*target),
                    due: Some(*due),
                    ..base
                },
            ),
            Timer::CustomerUpdateDue { due, .. } => (
                &self.update_due,
                Fields {
                    due: Some(*due),
                    ..base
                },
            ),
            Timer::FollowUpOverdue { follow_up, due, .. } => (
                &self.follow_up_overdue,
                Fields {
                    due: Some(*due),
                    message: incident
                        .follow_up(*follow_up)
                        .map(|f| f.plan.title.as_str()),
                    ..base
                },
            ),
            Timer::QuietPeriodOver { last_signal } => (
                &self.auto_resolved,
                Fields {
                    due: Some(*last_signal),
                    ..base
                },
            ),
            // Built by `notice_notification` above.
            Timer::NoticeAtRisk { .. } | Timer::NoticeOverdue { .. } => (&self.at_risk, base),
        };
        Notification {
            key: format!("{}/{}", incident.id(), timer.key()),
            incident: Some(incident.id()),
            audience,
            channel,
            subject: fields.render(&template.subject),
            body: fields.render(&template.body),
            locale: None,
            sms: None,
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
            incident: Some(incident.id()),
            audience: Audience::Customers,
            channel: None,
            subject: fields.render(&self.customer_update.subject),
            body: fields.render(&self.customer_update.body),
            locale: None,
            sms: None,
        }
    }

    /// The reminder that `reminder.person`'s on-call stretch is about to start, in English
    /// (a fixed text, not one of the templates' fields), times in `zone` (the schedule's),
    /// for `Recipient::Person(person)` and keyed by [`ShiftReminder::key`](crate::oncall::ShiftReminder::key).
    pub(crate) fn shift_reminder(
        reminder: &crate::oncall::ShiftReminder,
        zone: chrono_tz::Tz,
    ) -> Notification {
        let local = |at: DateTime<Utc>| {
            at.with_timezone(&zone)
                .format("%Y-%m-%d %H:%M %Z")
                .to_string()
        };
        let (start, end) = (local(reminder.start), local(reminder.end));
        // Each inserted value isolated, as the templates do.
        let mut subject = String::from("On call for ");
        push_isolated(&mut subject, &reminder.schedule, " from ");
        subject.push_str(" from ");
        push_isolated(&mut subject, &start, "");
        let mut body = String::from("You are on call for ");
        push_isolated(&mut body, &reminder.schedule, " from ");
        body.push_str(" from ");
        push_isolated(&mut body, &start, " until ");
        body.push_str(" until ");
        push_isolated(&mut body, &end, ".");
        body.push('.');
        Notification::without_incident(
            reminder.key(),
            Audience::Recipients(vec![crate::policy::Recipient::Person(
                reminder.person.clone(),
            )]),
            subject,
            body,
        )
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
            "\u{2068}high\u{2069}: \u{2068}Till {down}\u{2069} on \u{2068}POS\u{2069} \
             (\u{2068}open\u{2069}) step \u{2068}2\u{2069}, {target}, \u{2068}hi\u{2069}, \
             \u{2068}nobody yet\u{2069} {"
        );
    }

    fn isolated(template: &str, value: &str) -> String {
        let (before, rest) = template.split_once("{v}").unwrap();
        let mut out = before.to_string();
        push_isolated(&mut out, value, rest);
        out.push_str(rest);
        out
    }

    #[test]
    fn values_are_isolated_line_by_line_unless_they_are_a_whole_line() {
        // Hebrew in an English template, English in a Hebrew one.
        assert_eq!(
            isolated("Incident {v} is open", "הקופה לא עובדת"),
            "Incident \u{2068}הקופה לא עובדת\u{2069} is open"
        );
        assert_eq!(
            isolated("תקלה ב-{v}: נא לטפל", "POS 2"),
            "תקלה ב-\u{2068}POS 2\u{2069}: נא לטפל"
        );
        // Alone on its line: bare, so it sets the line's direction.
        assert_eq!(isolated("{v}", "שלום, האתר חזר"), "שלום, האתר חזר");
        assert_eq!(
            isolated("Update\n{v}\r\nThanks", "שלום"),
            "Update\nשלום\r\nThanks"
        );
        // Several lines: those sharing a line with the template are isolated, each on its own.
        assert_eq!(
            isolated("Update: {v} (end)", "a\nb\r\n\nc"),
            "Update: \u{2068}a\u{2069}\nb\r\n\n\u{2068}c\u{2069} (end)"
        );
        assert_eq!(
            isolated("Update: {v}", "a\nb"),
            "Update: \u{2068}a\u{2069}\nb"
        );
        // Next to another placeholder is not alone.
        assert_eq!(isolated("{v}{title}", "a"), "\u{2068}a\u{2069}{title}");
        assert_eq!(isolated("x {v}", ""), "x ");
    }

    mod rendered {
        use super::super::*;
        use crate::lifecycle::{Command, NewIncident, SlaTarget, decide};
        use crate::model::{Actor, IncidentId, Role, Source};
        use crate::text::tests::{arb_tricky_text, bidi_is_balanced};
        use crate::text::{Text, Title};
        use proptest::prelude::*;

        /// Mostly valid one-line text: Hebrew, Latin, digits, punctuation, marks, braces.
        fn arb_words(max: usize) -> impl Strategy<Value = String> {
            let ch = prop_oneof![
                prop::char::range('א', 'ת'),
                prop::char::range('a', 'z'),
                prop::char::range('0', '9'),
                prop::sample::select(vec![
                    ' ', ' ', '(', ')', '!', ':', '-', '{', '}', '\u{200E}', '\u{200F}',
                    '\u{061C}', '\u{200B}',
                ]),
            ];
            prop::collection::vec(ch, 1..max).prop_map(|v| v.into_iter().collect())
        }

        /// Free text with lines and balanced isolates, or anything at all.
        fn arb_message() -> impl Strategy<Value = String> {
            let line = prop::collection::vec(
                prop_oneof![
                    3 => arb_words(8),
                    1 => (prop::sample::select(vec!['\u{2066}', '\u{2067}', '\u{2068}']), arb_words(6))
                        .prop_map(|(open, w)| format!("{open}{w}\u{2069}")),
                ],
                1..4,
            )
            .prop_map(|parts| parts.concat());
            prop_oneof![
                3 => prop::collection::vec(line, 1..4).prop_map(|lines| lines.join("\n")),
                1 => arb_tricky_text(40),
            ]
        }

        /// A template: text in both directions, line breaks, placeholders known and unknown.
        fn arb_template() -> impl Strategy<Value = String> {
            let piece = prop::sample::select(vec![
                "{id}",
                "{title}",
                "{severity}",
                "{service}",
                "{status}",
                "{owner}",
                "{step}",
                "{target}",
                "{due}",
                "{message}",
                "{nope}",
                "Incident ",
                "תקלה ",
                " on ",
                ": ",
                "\n",
                "\r\n",
                "(",
                ")",
                " ",
                "{",
            ]);
            prop::collection::vec(piece, 0..12).prop_map(|p| p.concat())
        }

        fn incident(title: &Title, owner: &str) -> Incident {
            let id = IncidentId::from_bytes([7; 16]);
            let at = DateTime::UNIX_EPOCH;
            let new = NewIncident::new(
                title.clone(),
                crate::Severity::High,
                "קופה 2\u{200F}",
                Source::Alert,
            )
            .unwrap();
            let system = Actor::system();
            let mut incident = Incident::replay(
                id,
                &decide(None, &Command::Open { id, incident: new }, &system, at).unwrap(),
            )
            .unwrap();
            let owner = Actor::new("owner", owner, Role::Owner).unwrap();
            for event in decide(
                Some(&incident),
                &Command::AssignOwner { owner },
                &system,
                at,
            )
            .unwrap()
            {
                incident.apply(&event).unwrap();
            }
            incident
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(128))]

            /// Whatever users typed, within the text rules, and whatever the templates say
            /// (without bidi controls of their own), every rendered message has its isolates
            /// balanced on every line and no embedding or override.
            #[test]
            fn rendered_messages_have_balanced_bidi_controls(
                title in arb_words(40),
                owner in arb_words(20),
                message in arb_message(),
                custom in prop::option::of((arb_template(), arb_template())),
            ) {
                let title = Title::new(&title).unwrap_or_else(|_| Title::new("Till {down}").unwrap());
                let owner = crate::text::check_line("owner", &owner, 100).unwrap_or("Dana");
                let message = Text::new("customer update", &message)
                    .unwrap_or_else(|_| Text::new("m", "Orders are late").unwrap());
                let incident = incident(&title, owner);
                let mut templates = Templates::default();
                if let Some((subject, body)) = custom {
                    let t = Template { subject, body };
                    templates.escalation = t.clone();
                    templates.customer_update = t.clone();
                    templates.breached = t;
                }
                let due = DateTime::UNIX_EPOCH;
                let timers = [
                    Timer::Escalation { cycle: 0, round: 0, step: 1, notify: Vec::new() },
                    Timer::SlaAtRisk { target: SlaTarget::Acknowledge, due },
                    Timer::SlaBreached { target: SlaTarget::Resolve, due },
                    Timer::CustomerUpdateDue { cycle: 0, after_updates: 0, reminder: 1, due },
                    Timer::QuietPeriodOver { last_signal: due },
                    Timer::FollowUpOverdue { follow_up: 1, due, owner: "owner".into() },
                ];
                let mut sent: Vec<Notification> =
                    timers
                        .iter()
                        .map(|t| templates.for_timer(&incident, t, audience_of(t), None))
                        .collect();
                sent.push(templates.for_customer_update(&incident, 0, message.as_str()));
                for n in sent {
                    prop_assert!(bidi_is_balanced(&n.subject), "{:?}", n.subject);
                    prop_assert!(bidi_is_balanced(&n.body), "{:?}", n.body);
                }
                // The title, wherever a default template puts it next to other text, is
                // isolated.
                let n = Templates::default().for_timer(&incident, &timers[1], audience_of(&timers[1]), None);
                let isolated_title = format!("\u{2068}{title}\u{2069}");
                prop_assert!(n.subject.contains(&isolated_title), "{:?}", n.subject);
            }
        }
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

#[cfg(test)]
mod shift_reminder_text {
    use chrono::TimeZone;

    use super::*;
    use crate::oncall::ShiftReminder;

    #[test]
    fn the_english_reminder_isolates_what_it_inserts_in_the_schedules_zone() {
        let start = Utc.with_ymd_and_hms(2026, 3, 29, 4, 0, 0).unwrap();
        let reminder = ShiftReminder {
            schedule: "קופות".into(),
            person: "omer".into(),
            start,
            end: start + Duration::days(7),
            due: start - Duration::hours(1),
        };
        let n = Templates::shift_reminder(&reminder, chrono_tz::Asia::Jerusalem);
        assert_eq!(
            n.subject,
            "On call for \u{2068}קופות\u{2069} from \u{2068}2026-03-29 07:00 IDT\u{2069}"
        );
        assert_eq!(
            n.body,
            "You are on call for \u{2068}קופות\u{2069} from \u{2068}2026-03-29 07:00 IDT\u{2069} \
             until \u{2068}2026-04-05 07:00 IDT\u{2069}."
        );
        assert_eq!(n.key, "oncall/קופות/omer/2026-03-29T04:00:00Z/reminder");
        assert_eq!(n.incident, None);
    }
}
