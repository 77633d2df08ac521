//! The messages the crate sends, each with the values it is given: typed, so a message cannot
//! be rendered with a value missing.

use chrono::{DateTime, Utc};

use crate::incident::Incident;
use crate::lifecycle::SlaTarget;
use crate::model::IncidentId;
use crate::severity::Severity;

/// What every incident message says about its incident.
///
/// ```
/// use incidents::l10n::IncidentFacts;
/// use incidents::{IncidentId, Severity};
///
/// let facts = IncidentFacts {
///     id: IncidentId::from_bytes([7; 16]),
///     title: "Till 2 rejects cards",
///     service: "shop",
///     severity: Severity::High,
/// };
/// assert_eq!(facts.service, "shop");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IncidentFacts<'a> {
    /// The incident's id.
    pub id: IncidentId,
    /// Its title, as the reporter wrote it.
    pub title: &'a str,
    /// The service it is about.
    pub service: &'a str,
    /// How bad it is.
    pub severity: Severity,
}

impl<'a> IncidentFacts<'a> {
    /// The facts of `incident`.
    pub fn of(incident: &'a Incident) -> IncidentFacts<'a> {
        IncidentFacts {
            id: incident.id(),
            title: incident.title().as_str(),
            service: incident.service().as_str(),
            severity: incident.severity(),
        }
    }
}

/// A message to render, with every value it needs. Each variant is one message id of the
/// catalogs (see [`MessageId`]); its fields are the Fluent variables that message may use
/// (named in each variant's doc), and nothing else.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use incidents::l10n::Message;
///
/// let reminder = Message::MaintenanceReminder {
///     service: "online shop",
///     what: "Card terminal update",
///     starts: Utc.with_ymd_and_hms(2026, 12, 6, 22, 0, 0).unwrap(),
///     minutes: 30,
/// };
/// assert_eq!(reminder.id().as_str(), "maintenance-reminder");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Message<'a> {
    /// `escalation`: an escalation step pages someone. Variables: the incident's (`$id`,
    /// `$title`, `$service`, keyword `$severity`), `$step` (1 for the first step) and count
    /// `$minutes` the incident has waited unacknowledged.
    Escalation {
        /// The incident.
        incident: IncidentFacts<'a>,
        /// The escalation step, 1 for the first.
        step: u32,
        /// Minutes since the incident opened without an acknowledgement.
        minutes: u64,
    },
    /// `at-risk`: an SLA target is at risk. Variables: the incident's, keyword `$target`,
    /// `$due` and count `$minutes` left.
    AtRisk {
        /// The incident.
        incident: IncidentFacts<'a>,
        /// Which target.
        target: SlaTarget,
        /// When it is due.
        due: DateTime<Utc>,
        /// Minutes left until `due`.
        minutes: u64,
    },
    /// `breached`: an SLA target was missed. Variables: the incident's, keyword `$target`,
    /// `$due` and count `$minutes` late.
    Breached {
        /// The incident.
        incident: IncidentFacts<'a>,
        /// Which target.
        target: SlaTarget,
        /// When it was due.
        due: DateTime<Utc>,
        /// Minutes since `due`.
        minutes: u64,
    },
    /// `update-due`: customers are due an update. Variables: the incident's, `$due` and
    /// count `$minutes` overdue.
    UpdateDue {
        /// The incident.
        incident: IncidentFacts<'a>,
        /// When the update was due.
        due: DateTime<Utc>,
        /// Minutes since `due`.
        minutes: u64,
    },
    /// `customer-update`: a public update, sent to customers. Variables: `$service`,
    /// `$message`.
    CustomerUpdate {
        /// The service the update is about.
        service: &'a str,
        /// The update's text.
        message: &'a str,
    },
    /// `auto-resolved`: the desk resolved an incident whose alerts went quiet. Variables: the
    /// incident's, `$since` (the last signal) and count `$minutes` quiet.
    AutoResolved {
        /// The incident.
        incident: IncidentFacts<'a>,
        /// The last alert signal.
        since: DateTime<Utc>,
        /// Minutes of quiet since then.
        minutes: u64,
    },
    /// `follow-up-overdue`: a review's follow-up is overdue (sent to its owner). Variables:
    /// the incident's, `$action`, `$owner`, `$due` and count `$days` overdue.
    FollowUpOverdue {
        /// The incident the review was about.
        incident: IncidentFacts<'a>,
        /// The follow-up action's title.
        action: &'a str,
        /// Who agreed the date (the review's owner).
        owner: &'a str,
        /// When it was due.
        due: DateTime<Utc>,
        /// Whole days since `due`.
        days: u64,
    },
    /// `maintenance-reminder`: scheduled maintenance starts soon. Variables: `$service`,
    /// `$what`, `$starts` and count `$minutes` until then.
    MaintenanceReminder {
        /// The service under maintenance.
        service: &'a str,
        /// What is done.
        what: &'a str,
        /// When it starts.
        starts: DateTime<Utc>,
        /// Minutes until `starts`.
        minutes: u64,
    },
    /// `maintenance-scheduled`: the announcement of scheduled maintenance, sent to
    /// subscribers when it is planned. Variables: `$service`, `$what`, `$starts`, `$ends`.
    MaintenanceScheduled {
        /// The service (or services, joined) under maintenance.
        service: &'a str,
        /// What is done.
        what: &'a str,
        /// When it starts.
        starts: DateTime<Utc>,
        /// When it should be over.
        ends: DateTime<Utc>,
    },
    /// `subscription-confirmation`: double opt-in, "confirm by following the link before it
    /// expires". Variables: `$service`, `$link`, `$expires` and count `$hours` until then.
    SubscriptionConfirmation {
        /// What the subscription is for.
        service: &'a str,
        /// The confirmation link.
        link: &'a str,
        /// When the link expires.
        expires: DateTime<Utc>,
        /// Whole hours until `expires`.
        hours: u64,
    },
    /// `notice-at-risk`: a regulatory notice of a declared breach is due soon and not filed
    /// (sent to the owner). Variables: the incident's, `$regime` (its name), `$phase` (the
    /// phase's id), keyword `$recipient` (`authority`, `data-subjects`, `acquirer`, `other`),
    /// `$due` and count `$hours` left.
    NoticeAtRisk {
        /// The incident.
        incident: IncidentFacts<'a>,
        /// The regime's name ("GDPR").
        regime: &'a str,
        /// The phase's id.
        phase: &'a str,
        /// Whom the notice goes to.
        recipient: NoticeRecipient,
        /// When it is due.
        due: DateTime<Utc>,
        /// Whole hours left until `due`.
        hours: u64,
    },
    /// `notice-overdue`: a regulatory notice was not filed by its deadline (sent to the
    /// owner). Variables: as `notice-at-risk`, with count `$hours` since `due`.
    NoticeOverdue {
        /// The incident.
        incident: IncidentFacts<'a>,
        /// The regime's name.
        regime: &'a str,
        /// The phase's id.
        phase: &'a str,
        /// Whom the notice goes to.
        recipient: NoticeRecipient,
        /// When it was due.
        due: DateTime<Utc>,
        /// Whole hours since `due`.
        hours: u64,
    },
    /// `unsubscribe-footer`: the line under every message to a subscriber (a body only).
    /// Variables: `$link`.
    UnsubscribeFooter {
        /// The unsubscribe link.
        link: &'a str,
    },
    /// `shift-reminder`: a person's on-call stretch starts soon (sent to that person, about
    /// no incident). Variables: `$schedule` (its name), `$starts`, `$ends` (times in the
    /// schedule's zone).
    ShiftReminder {
        /// The schedule's name.
        schedule: &'a str,
        /// When the stretch starts.
        starts: DateTime<Utc>,
        /// When it ends.
        ends: DateTime<Utc>,
    },
}

/// Whom a regulatory notice goes to, as the notice messages' keyword `$recipient`
/// (`authority`, `data-subjects`, `acquirer`, `other`): each language words it itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NoticeRecipient {
    /// A supervisory or data-protection authority.
    Authority,
    /// The people whose data was exposed.
    DataSubjects,
    /// The card acquirer.
    Acquirer,
    /// Someone else.
    Other,
}

impl NoticeRecipient {
    /// The keyword of a regime phase's recipient.
    pub fn of(recipient: &crate::regulatory::Recipient) -> NoticeRecipient {
        match recipient {
            crate::regulatory::Recipient::Authority => NoticeRecipient::Authority,
            crate::regulatory::Recipient::DataSubjects => NoticeRecipient::DataSubjects,
            crate::regulatory::Recipient::Acquirer => NoticeRecipient::Acquirer,
            crate::regulatory::Recipient::Other(_) => NoticeRecipient::Other,
        }
    }

    fn key(self) -> &'static str {
        match self {
            NoticeRecipient::Authority => "authority",
            NoticeRecipient::DataSubjects => "data-subjects",
            NoticeRecipient::Acquirer => "acquirer",
            NoticeRecipient::Other => "other",
        }
    }
}

/// The id of a message in the catalogs, one per [`Message`] variant.
///
/// ```
/// use incidents::l10n::MessageId;
///
/// assert_eq!("at-risk".parse::<MessageId>(), Ok(MessageId::AtRisk));
/// assert_eq!(MessageId::AtRisk.to_string(), "at-risk");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum MessageId {
    /// `escalation`
    Escalation,
    /// `at-risk`
    AtRisk,
    /// `breached`
    Breached,
    /// `update-due`
    UpdateDue,
    /// `customer-update`
    CustomerUpdate,
    /// `auto-resolved`
    AutoResolved,
    /// `follow-up-overdue`
    FollowUpOverdue,
    /// `maintenance-reminder`
    MaintenanceReminder,
    /// `maintenance-scheduled`
    MaintenanceScheduled,
    /// `subscription-confirmation`
    SubscriptionConfirmation,
    /// `notice-at-risk`
    NoticeAtRisk,
    /// `notice-overdue`
    NoticeOverdue,
    /// `unsubscribe-footer`
    UnsubscribeFooter,
    /// `shift-reminder`
    ShiftReminder,
}

/// How a variable may be used in a catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::l10n) enum Kind {
    /// Inserted as text, isolated.
    Text,
    /// A count: inserted formatted and isolated, and the argument of `PLURAL`.
    Count,
    /// A date and time: inserted formatted and isolated.
    Time,
    /// An enum's key: only a selector, with these keys.
    Keyword(&'static [&'static str]),
}

const SEVERITY_KEYS: &[&str] = &["critical", "high", "medium", "low"];
const TARGET_KEYS: &[&str] = &["acknowledge", "resolve", "customer-update"];
const RECIPIENT_KEYS: &[&str] = &["authority", "data-subjects", "acquirer", "other"];

/// The parts of a message: `.subject`, `.body`, `.sms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Part {
    Subject,
    Body,
    Sms,
}

impl Part {
    pub(super) const fn name(self) -> &'static str {
        match self {
            Part::Subject => "subject",
            Part::Body => "body",
            Part::Sms => "sms",
        }
    }
}

const INCIDENT: [(&str, Kind); 4] = [
    ("id", Kind::Text),
    ("title", Kind::Text),
    ("service", Kind::Text),
    ("severity", Kind::Keyword(SEVERITY_KEYS)),
];

impl MessageId {
    /// Every message id, in declaration order.
    pub const ALL: [MessageId; 14] = [
        MessageId::Escalation,
        MessageId::AtRisk,
        MessageId::Breached,
        MessageId::UpdateDue,
        MessageId::CustomerUpdate,
        MessageId::AutoResolved,
        MessageId::FollowUpOverdue,
        MessageId::MaintenanceReminder,
        MessageId::MaintenanceScheduled,
        MessageId::SubscriptionConfirmation,
        MessageId::NoticeAtRisk,
        MessageId::NoticeOverdue,
        MessageId::UnsubscribeFooter,
        MessageId::ShiftReminder,
    ];

    /// The id as written in a catalog.
    pub const fn as_str(self) -> &'static str {
        match self {
            MessageId::Escalation => "escalation",
            MessageId::AtRisk => "at-risk",
            MessageId::Breached => "breached",
            MessageId::UpdateDue => "update-due",
            MessageId::CustomerUpdate => "customer-update",
            MessageId::AutoResolved => "auto-resolved",
            MessageId::FollowUpOverdue => "follow-up-overdue",
            MessageId::MaintenanceReminder => "maintenance-reminder",
            MessageId::MaintenanceScheduled => "maintenance-scheduled",
            MessageId::SubscriptionConfirmation => "subscription-confirmation",
            MessageId::NoticeAtRisk => "notice-at-risk",
            MessageId::NoticeOverdue => "notice-overdue",
            MessageId::UnsubscribeFooter => "unsubscribe-footer",
            MessageId::ShiftReminder => "shift-reminder",
        }
    }

    pub(super) fn list() -> String {
        MessageId::ALL.map(MessageId::as_str).join(", ")
    }

    /// The variables the message is given, and how each may be used.
    pub(super) fn variables(self) -> Vec<(&'static str, Kind)> {
        let mut vars = Vec::new();
        let incident = |vars: &mut Vec<_>| vars.extend(INCIDENT);
        match self {
            MessageId::Escalation => {
                incident(&mut vars);
                vars.extend([("step", Kind::Count), ("minutes", Kind::Count)]);
            }
            MessageId::AtRisk | MessageId::Breached => {
                incident(&mut vars);
                vars.extend([
                    ("target", Kind::Keyword(TARGET_KEYS)),
                    ("due", Kind::Time),
                    ("minutes", Kind::Count),
                ]);
            }
            MessageId::UpdateDue => {
                incident(&mut vars);
                vars.extend([("due", Kind::Time), ("minutes", Kind::Count)]);
            }
            MessageId::CustomerUpdate => {
                vars.extend([("service", Kind::Text), ("message", Kind::Text)]);
            }
            MessageId::AutoResolved => {
                incident(&mut vars);
                vars.extend([("since", Kind::Time), ("minutes", Kind::Count)]);
            }
            MessageId::FollowUpOverdue => {
                incident(&mut vars);
                vars.extend([
                    ("action", Kind::Text),
                    ("owner", Kind::Text),
                    ("due", Kind::Time),
                    ("days", Kind::Count),
                ]);
            }
            MessageId::MaintenanceReminder => vars.extend([
                ("service", Kind::Text),
                ("what", Kind::Text),
                ("starts", Kind::Time),
                ("minutes", Kind::Count),
            ]),
            MessageId::MaintenanceScheduled => vars.extend([
                ("service", Kind::Text),
                ("what", Kind::Text),
                ("starts", Kind::Time),
                ("ends", Kind::Time),
            ]),
            MessageId::SubscriptionConfirmation => vars.extend([
                ("service", Kind::Text),
                ("link", Kind::Text),
                ("expires", Kind::Time),
                ("hours", Kind::Count),
            ]),
            MessageId::NoticeAtRisk | MessageId::NoticeOverdue => {
                incident(&mut vars);
                vars.extend([
                    ("regime", Kind::Text),
                    ("phase", Kind::Text),
                    ("recipient", Kind::Keyword(RECIPIENT_KEYS)),
                    ("due", Kind::Time),
                    ("hours", Kind::Count),
                ]);
            }
            MessageId::UnsubscribeFooter => vars.push(("link", Kind::Text)),
            MessageId::ShiftReminder => vars.extend([
                ("schedule", Kind::Text),
                ("starts", Kind::Time),
                ("ends", Kind::Time),
            ]),
        }
        vars
    }

    /// The parts a catalog must give the message.
    pub(super) fn parts(self) -> &'static [Part] {
        match self {
            MessageId::Escalation
            | MessageId::AtRisk
            | MessageId::Breached
            | MessageId::UpdateDue
            | MessageId::CustomerUpdate
            | MessageId::MaintenanceReminder
            | MessageId::MaintenanceScheduled
            | MessageId::SubscriptionConfirmation
            | MessageId::NoticeAtRisk
            | MessageId::NoticeOverdue
            | MessageId::ShiftReminder => &[Part::Subject, Part::Body, Part::Sms],
            MessageId::AutoResolved | MessageId::FollowUpOverdue => &[Part::Subject, Part::Body],
            MessageId::UnsubscribeFooter => &[Part::Body],
        }
    }

    /// The text variable an SMS may shorten to fit one SMS (the longest free text in it).
    pub(super) fn shortened_in_sms(self) -> Option<&'static str> {
        match self {
            MessageId::Escalation
            | MessageId::AtRisk
            | MessageId::Breached
            | MessageId::UpdateDue
            | MessageId::NoticeAtRisk
            | MessageId::NoticeOverdue => Some("title"),
            MessageId::CustomerUpdate => Some("message"),
            MessageId::MaintenanceReminder | MessageId::MaintenanceScheduled => Some("what"),
            MessageId::SubscriptionConfirmation => Some("service"),
            MessageId::ShiftReminder => Some("schedule"),
            MessageId::AutoResolved | MessageId::FollowUpOverdue | MessageId::UnsubscribeFooter => {
                None
            }
        }
    }
}

impl std::str::FromStr for MessageId {
    type Err = UnknownMessageId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MessageId::ALL
            .into_iter()
            .find(|id| id.as_str() == s)
            .ok_or(UnknownMessageId)
    }
}

/// A string that is not a [`MessageId`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a message id")]
pub struct UnknownMessageId;

/// A value given to a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Value<'a> {
    Text(&'a str),
    Count(u64),
    Time(DateTime<Utc>),
    Keyword(&'static str),
}

fn severity_key(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "critical",
        Severity::High => "high",
        Severity::Medium => "medium",
        Severity::Low => "low",
    }
}

fn target_key(t: SlaTarget) -> &'static str {
    match t {
        SlaTarget::Acknowledge => "acknowledge",
        SlaTarget::Resolve => "resolve",
        SlaTarget::CustomerUpdate => "customer-update",
    }
}

impl<'a> Message<'a> {
    /// The message's id in the catalogs.
    pub fn id(&self) -> MessageId {
        match self {
            Message::Escalation { .. } => MessageId::Escalation,
            Message::AtRisk { .. } => MessageId::AtRisk,
            Message::Breached { .. } => MessageId::Breached,
            Message::UpdateDue { .. } => MessageId::UpdateDue,
            Message::CustomerUpdate { .. } => MessageId::CustomerUpdate,
            Message::AutoResolved { .. } => MessageId::AutoResolved,
            Message::FollowUpOverdue { .. } => MessageId::FollowUpOverdue,
            Message::MaintenanceReminder { .. } => MessageId::MaintenanceReminder,
            Message::MaintenanceScheduled { .. } => MessageId::MaintenanceScheduled,
            Message::SubscriptionConfirmation { .. } => MessageId::SubscriptionConfirmation,
            Message::NoticeAtRisk { .. } => MessageId::NoticeAtRisk,
            Message::NoticeOverdue { .. } => MessageId::NoticeOverdue,
            Message::UnsubscribeFooter { .. } => MessageId::UnsubscribeFooter,
            Message::ShiftReminder { .. } => MessageId::ShiftReminder,
        }
    }

    /// The id as text (for the incident) and the other values, by variable name. The names
    /// and kinds are [`MessageId::variables`]'s, in its order (a unit test holds them equal).
    pub(super) fn values(&self, id_text: &'a mut String) -> Vec<(&'static str, Value<'a>)> {
        use Value::{Count, Keyword, Text, Time};
        let mut values = Vec::with_capacity(8);
        if let Some(facts) = self.incident() {
            *id_text = facts.id.to_string();
            values.extend([
                ("id", Text(id_text.as_str())),
                ("title", Text(facts.title)),
                ("service", Text(facts.service)),
                ("severity", Keyword(severity_key(facts.severity))),
            ]);
        }
        match *self {
            Message::Escalation { step, minutes, .. } => {
                values.extend([("step", Count(step.into())), ("minutes", Count(minutes))]);
            }
            Message::AtRisk {
                target,
                due,
                minutes,
                ..
            }
            | Message::Breached {
                target,
                due,
                minutes,
                ..
            } => values.extend([
                ("target", Keyword(target_key(target))),
                ("due", Time(due)),
                ("minutes", Count(minutes)),
            ]),
            Message::UpdateDue { due, minutes, .. } => {
                values.extend([("due", Time(due)), ("minutes", Count(minutes))]);
            }
            Message::CustomerUpdate { service, message } => {
                values.extend([("service", Text(service)), ("message", Text(message))]);
            }
            Message::AutoResolved { since, minutes, .. } => {
                values.extend([("since", Time(since)), ("minutes", Count(minutes))]);
            }
            Message::FollowUpOverdue {
                action,
                owner,
                due,
                days,
                ..
            } => values.extend([
                ("action", Text(action)),
                ("owner", Text(owner)),
                ("due", Time(due)),
                ("days", Count(days)),
            ]),
            Message::MaintenanceReminder {
                service,
                what,
                starts,
                minutes,
            } => values.extend([
                ("service", Text(service)),
                ("what", Text(what)),
                ("starts", Time(starts)),
                ("minutes", Count(minutes)),
            ]),
            Message::MaintenanceScheduled {
                service,
                what,
                starts,
                ends,
            } => values.extend([
                ("service", Text(service)),
                ("what", Text(what)),
                ("starts", Time(starts)),
                ("ends", Time(ends)),
            ]),
            Message::SubscriptionConfirmation {
                service,
                link,
                expires,
                hours,
            } => values.extend([
                ("service", Text(service)),
                ("link", Text(link)),
                ("expires", Time(expires)),
                ("hours", Count(hours)),
            ]),
            Message::NoticeAtRisk { .. } | Message::NoticeOverdue { .. } => {
                values.extend(self.notice_values());
            }
            Message::UnsubscribeFooter { link } => values.push(("link", Text(link))),
            Message::ShiftReminder {
                schedule,
                starts,
                ends,
            } => values.extend([
                ("schedule", Text(schedule)),
                ("starts", Time(starts)),
                ("ends", Time(ends)),
            ]),
        }
        values
    }

    /// The values of a notice message after the incident's (none for other messages).
    fn notice_values(&self) -> Vec<(&'static str, Value<'a>)> {
        match *self {
            Message::NoticeAtRisk {
                regime,
                phase,
                recipient,
                due,
                hours,
                ..
            }
            | Message::NoticeOverdue {
                regime,
                phase,
                recipient,
                due,
                hours,
                ..
            } => vec![
                ("regime", Value::Text(regime)),
                ("phase", Value::Text(phase)),
                ("recipient", Value::Keyword(recipient.key())),
                ("due", Value::Time(due)),
                ("hours", Value::Count(hours)),
            ],
            _ => Vec::new(),
        }
    }

    /// The incident the message is about, if it is about one.
    fn incident(&self) -> Option<IncidentFacts<'a>> {
        match *self {
            Message::Escalation { incident, .. }
            | Message::AtRisk { incident, .. }
            | Message::Breached { incident, .. }
            | Message::UpdateDue { incident, .. }
            | Message::AutoResolved { incident, .. }
            | Message::FollowUpOverdue { incident, .. }
            | Message::NoticeAtRisk { incident, .. }
            | Message::NoticeOverdue { incident, .. } => Some(incident),
            Message::CustomerUpdate { .. }
            | Message::MaintenanceReminder { .. }
            | Message::MaintenanceScheduled { .. }
            | Message::SubscriptionConfirmation { .. }
            | Message::UnsubscribeFooter { .. }
            | Message::ShiftReminder { .. } => None,
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use chrono::TimeZone;

    /// One message of each id.
    pub(in crate::l10n) fn samples(facts: IncidentFacts<'_>) -> Vec<Message<'_>> {
        let at = Utc.with_ymd_and_hms(2026, 12, 3, 7, 5, 0).unwrap();
        vec![
            Message::Escalation {
                incident: facts,
                step: 2,
                minutes: 5,
            },
            Message::AtRisk {
                incident: facts,
                target: SlaTarget::Resolve,
                due: at,
                minutes: 5,
            },
            Message::Breached {
                incident: facts,
                target: SlaTarget::Acknowledge,
                due: at,
                minutes: 5,
            },
            Message::UpdateDue {
                incident: facts,
                due: at,
                minutes: 5,
            },
            Message::CustomerUpdate {
                service: facts.service,
                message: facts.title,
            },
            Message::AutoResolved {
                incident: facts,
                since: at,
                minutes: 5,
            },
            Message::FollowUpOverdue {
                incident: facts,
                action: facts.title,
                owner: facts.service,
                due: at,
                days: 5,
            },
            Message::MaintenanceReminder {
                service: facts.service,
                what: facts.title,
                starts: at,
                minutes: 5,
            },
            Message::MaintenanceScheduled {
                service: facts.service,
                what: facts.title,
                starts: at,
                ends: at,
            },
            Message::SubscriptionConfirmation {
                service: facts.service,
                link: facts.title,
                expires: at,
                hours: 5,
            },
            Message::NoticeAtRisk {
                incident: facts,
                regime: "GDPR",
                phase: "authority",
                recipient: NoticeRecipient::Authority,
                due: at,
                hours: 5,
            },
            Message::NoticeOverdue {
                incident: facts,
                regime: "GDPR",
                phase: "acquirer",
                recipient: NoticeRecipient::Other,
                due: at,
                hours: 5,
            },
            Message::UnsubscribeFooter { link: facts.title },
            Message::ShiftReminder {
                schedule: facts.service,
                starts: at,
                ends: at,
            },
        ]
    }

    #[test]
    fn values_match_the_declared_variables() {
        let facts = IncidentFacts {
            id: IncidentId::from_bytes([7; 16]),
            title: "t",
            service: "s",
            severity: Severity::Low,
        };
        let messages = samples(facts);
        assert_eq!(
            messages.iter().map(Message::id).collect::<Vec<_>>(),
            MessageId::ALL
        );
        for m in messages {
            let mut id = String::new();
            let got: Vec<_> = m
                .values(&mut id)
                .into_iter()
                .map(|(name, v)| {
                    let kind = match v {
                        Value::Text(_) => Kind::Text,
                        Value::Count(_) => Kind::Count,
                        Value::Time(_) => Kind::Time,
                        Value::Keyword(k) => {
                            let keys = if name == "severity" {
                                SEVERITY_KEYS
                            } else if name == "recipient" {
                                RECIPIENT_KEYS
                            } else {
                                TARGET_KEYS
                            };
                            assert!(keys.contains(&k));
                            Kind::Keyword(keys)
                        }
                    };
                    (name, kind)
                })
                .collect();
            assert_eq!(got, m.id().variables(), "{}", m.id());
        }
    }
}
