//! Events: the facts an incident's history is made of.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use crate::lifecycle::{CommandKind, Impact, Resolution};
use crate::model::{Actor, IncidentId, Reporter, Service, Source};
use crate::severity::Severity;
use crate::text::{Text, Title};

/// One recorded fact about an incident: what changed, who did it, and when.
///
/// Events are immutable once appended. An [`Incident`](crate::Incident) is the fold of its
/// events; the timeline, the audit log and every report come from them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Event {
    /// When it happened. Never earlier than the previous event of the same incident.
    pub at: DateTime<Utc>,
    /// Who did it.
    pub actor: Actor,
    /// What changed.
    pub change: Change,
}

impl Event {
    /// An event: `actor` made `change` at `at`. Events are normally made by
    /// [`decide`](crate::lifecycle::decide); building one by hand is for stores and their tests.
    pub fn new(at: DateTime<Utc>, actor: Actor, change: Change) -> Event {
        Event { at, actor, change }
    }
}

/// What an [`Event`] changed. One variant per accepted command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Change {
    /// The incident was opened. Always the first event of a history, and only there.
    Opened {
        /// Its id.
        id: IncidentId,
        /// Its title.
        title: Title,
        /// An optional longer description.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<Text>,
        /// The initial severity.
        severity: Severity,
        /// The affected service.
        service: Service,
        /// Where it came from.
        source: Source,
        /// The alert key (`source/fingerprint`) it tracks, if an alert or report opened it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        alert_key: Option<String>,
        /// The caller's idempotency key, if it was opened with one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        idempotency_key: Option<String>,
        /// The earlier incident this one is a recurrence of.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        recurrence: Option<Recurrence>,
    },
    /// Someone took it.
    Acknowledged,
    /// A (new) owner leads it.
    OwnerAssigned {
        /// The new owner.
        owner: Actor,
    },
    /// The team started (or went back to) looking for the cause.
    InvestigationStarted,
    /// The root cause was identified (or revised).
    RootCauseIdentified {
        /// What caused it.
        root_cause: Text,
    },
    /// A mitigation was put in place.
    Mitigated {
        /// What was done.
        action: Text,
    },
    /// Service was restored.
    Resolved {
        /// How.
        resolution: Resolution,
    },
    /// The problem came back.
    Reopened {
        /// Why.
        reason: Text,
    },
    /// The incident was closed.
    Closed {
        /// What happened and how it was handled.
        summary: Text,
        /// What to do so it does not happen again.
        lessons: Text,
    },
    /// The severity was changed.
    SeverityChanged {
        /// The severity before.
        from: Severity,
        /// The severity after.
        to: Severity,
        /// Why.
        reason: Text,
    },
    /// An internal note was added.
    NoteAdded {
        /// The note.
        text: Text,
    },
    /// An update for customers was posted.
    CustomerUpdatePosted {
        /// The message.
        message: Text,
    },
    /// The team started waiting on a vendor; the resolve clock pauses.
    VendorWaitStarted {
        /// Who is being waited on.
        vendor: Text,
        /// Their ticket or case number.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reference: Option<Text>,
    },
    /// The vendor responded; the resolve clock runs again.
    VendorWaitEnded {
        /// What they said.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<Text>,
    },
    /// A timer fired (recorded by the desk's engine, once per deterministic key).
    TimerFired {
        /// Which one.
        timer: Timer,
    },
    /// Someone joined the people working the incident.
    ResponderAdded {
        /// Who.
        responder: Actor,
    },
    /// Someone left the incident.
    ResponderRemoved {
        /// Their actor id.
        responder: String,
    },
    /// A task was added (by a person, or from a playbook when the incident opened).
    TaskAdded {
        /// Its number, from 1.
        task: u32,
        /// What to do.
        title: Title,
        /// Who does it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        assignee: Option<String>,
        /// The playbook it came from.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        playbook: Option<String>,
    },
    /// A task was given to someone.
    TaskAssigned {
        /// Its number.
        task: u32,
        /// Who does it.
        assignee: String,
    },
    /// A task was done.
    TaskCompleted {
        /// Its number.
        task: u32,
    },
    /// The post-incident review was recorded.
    ReviewRecorded {
        /// The review.
        review: crate::people::Review,
    },
    /// A review's follow-up action was done.
    FollowUpCompleted {
        /// Its number.
        follow_up: u32,
    },
    /// A customer's feedback was recorded.
    FeedbackRecorded {
        /// 1–5.
        score: crate::people::Score,
        /// What they said.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        comment: Option<Text>,
    },
    /// An alert (or a report) about this incident's problem arrived: a new occurrence, or a
    /// change of its state. Repeated deliveries of the same occurrence and state record
    /// nothing.
    SignalReceived {
        /// What arrived.
        signal: Signal,
    },
    /// This incident was merged into another one tracking the same problem: it is resolved as
    /// a duplicate of `into`, its timers stop, and deliveries of its alert keys go to `into`
    /// from now on.
    MergedInto {
        /// The incident that carries on.
        into: IncidentId,
    },
    /// Another incident about the same problem was merged into this one.
    DuplicateMerged {
        /// The merged incident (now resolved as a duplicate of this one).
        duplicate: IncidentId,
        /// Its title, so the timeline reads without looking it up.
        title: Title,
    },
    /// Someone set (`Some`) or cleared (`None`) how the incident shows on the public status
    /// page; cleared, the impact follows the severity ([`Impact::of_severity`]).
    ImpactSet {
        /// The impact shown from now on, or `None` to follow the severity.
        impact: Option<Impact>,
    },
    /// Someone set (`Some`) or withdrew (`None`) the title the public status page shows.
    PublicTitleSet {
        /// The public title from now on, or `None`.
        title: Option<Title>,
    },
    /// The incident was declared a personal-data breach under these regimes (stored whole,
    /// phases included, so the history explains itself).
    BreachDeclared {
        /// The regimes that apply.
        regimes: Vec<crate::regulatory::Regime>,
        /// When the business became aware of the breach: the clocks count from here.
        became_aware: DateTime<Utc>,
    },
    /// Someone moved the became-aware instant, with a reason; the clocks moved with it.
    BecameAwareSet {
        /// The instant before.
        from: DateTime<Utc>,
        /// The instant after.
        to: DateTime<Utc>,
        /// Why.
        reason: Text,
    },
    /// A regime's notice was filed: that phase's clock stops.
    NoticeFiled {
        /// The regime's id.
        regime: String,
        /// The phase's id.
        phase: String,
        /// The recipient's reference (case number, receipt).
        reference: Text,
        /// What was sent.
        summary: Text,
        /// Why it is late, for a late filing.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        late_reason: Option<Text>,
    },
    /// A notification was requested; the outbox delivers it through the host's notifier.
    NotificationRequested {
        /// What to send, to whom.
        notification: Notification,
    },
    /// A requested notification was delivered.
    NotificationDelivered {
        /// Its key.
        key: String,
    },
    /// Delivering a requested notification failed.
    NotificationFailed {
        /// Its key.
        key: String,
        /// Which attempt failed (1 for the first).
        attempt: u32,
        /// What the notifier said.
        error: String,
        /// When to try again; `None` means the outbox gave up.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_at: Option<DateTime<Utc>>,
    },
}

/// Which promise an SLA event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SlaTarget {
    /// Time to acknowledge.
    Acknowledge,
    /// Time to resolve.
    Resolve,
    /// Customer-update cadence.
    CustomerUpdate,
}

impl SlaTarget {
    /// All targets.
    pub const ALL: [SlaTarget; 3] = [
        SlaTarget::Acknowledge,
        SlaTarget::Resolve,
        SlaTarget::CustomerUpdate,
    ];

    /// The `snake_case` name.
    pub const fn as_str(self) -> &'static str {
        match self {
            SlaTarget::Acknowledge => "acknowledge",
            SlaTarget::Resolve => "resolve",
            SlaTarget::CustomerUpdate => "customer_update",
        }
    }
}

impl std::fmt::Display for SlaTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SlaTarget::Acknowledge => "time to acknowledge",
            SlaTarget::Resolve => "time to resolve",
            SlaTarget::CustomerUpdate => "customer update cadence",
        })
    }
}

/// A timer that fired. Each has a deterministic [`key`](Timer::key), so firing twice — after a
/// repeated tick, a restart, or on two desks sharing a store — is recognised and skipped.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Timer {
    /// An escalation step.
    Escalation {
        /// Which opening of the incident (0 for the first, then one more per reopen).
        cycle: u32,
        /// Which round of the chain (0 for the first pass).
        round: u32,
        /// Which step (from 0).
        step: u32,
        /// Who the step notifies.
        notify: Vec<crate::policy::Recipient>,
    },
    /// A target passed its at-risk threshold.
    SlaAtRisk {
        /// Which target.
        target: SlaTarget,
        /// When it is due.
        due: DateTime<Utc>,
    },
    /// A target was missed.
    SlaBreached {
        /// Which target.
        target: SlaTarget,
        /// When it was due.
        due: DateTime<Utc>,
    },
    /// Every alert on the incident reported resolved and nothing new arrived for the intake
    /// policy's quiet period: the desk resolves it (auto-resolved) right after this.
    QuietPeriodOver {
        /// When the last signal arrived.
        last_signal: DateTime<Utc>,
    },
    /// A review's follow-up action is past its due date and not done.
    FollowUpOverdue {
        /// Its number.
        follow_up: u32,
        /// When it was due.
        due: DateTime<Utc>,
        /// Who owns it (an actor id).
        owner: String,
    },
    /// Customers are due an update.
    CustomerUpdateDue {
        /// Which opening of the incident (0 for the first, one more per reopen).
        #[serde(default)]
        cycle: u32,
        /// How many customer updates had been posted when this fell due.
        after_updates: u32,
        /// Which reminder since that update (1 for the first).
        reminder: u32,
        /// When the update fell due.
        due: DateTime<Utc>,
    },
    /// Three quarters of a regulatory notice's time have passed and it is not filed.
    NoticeAtRisk {
        /// The regime's id.
        regime: String,
        /// The phase's id.
        phase: String,
        /// When the notice is due.
        due: DateTime<Utc>,
    },
    /// A regulatory notice's deadline passed and it is not filed.
    NoticeOverdue {
        /// The regime's id.
        regime: String,
        /// The phase's id.
        phase: String,
        /// When it was due.
        due: DateTime<Utc>,
    },
}

impl Timer {
    /// The deterministic key, unique within an incident.
    pub fn key(&self) -> String {
        match self {
            Timer::Escalation {
                cycle, round, step, ..
            } => format!("escalation/{cycle}/{round}/{step}"),
            Timer::SlaAtRisk { target, .. } => format!("sla/{}/at_risk", target.as_str()),
            Timer::SlaBreached { target, .. } => format!("sla/{}/breached", target.as_str()),
            Timer::CustomerUpdateDue {
                cycle,
                after_updates,
                reminder,
                ..
            } => format!("customer_update/{cycle}/{after_updates}/{reminder}"),
            Timer::QuietPeriodOver { last_signal } => {
                format!("quiet/{}", last_signal.timestamp_millis())
            }
            Timer::FollowUpOverdue { follow_up, .. } => format!("follow_up/{follow_up}/overdue"),
            Timer::NoticeAtRisk { regime, phase, .. } => format!("notice/{regime}/{phase}/at_risk"),
            Timer::NoticeOverdue { regime, phase, .. } => {
                format!("notice/{regime}/{phase}/overdue")
            }
        }
    }
}

/// Who a notification is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Audience {
    /// The incident owner.
    Owner,
    /// The people an escalation step names.
    Recipients(Vec<crate::policy::Recipient>),
    /// The business's customers (a status page, an e-mail list).
    Customers,
}

/// A message the outbox delivers through the host's [`Notifier`](crate::Notifier).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Notification {
    /// Deterministic and unique: `<incident id>/<what>`. Redeliveries carry the same key, so
    /// a host can drop duplicates.
    pub key: String,
    /// The incident it is about; `None` for a message about no incident (a shift
    /// reminder, keyed `oncall/<schedule>/<person>/<start>/reminder`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<IncidentId>,
    /// Who it is for.
    pub audience: Audience,
    /// A hint for the channel (`sms`, `email`, `chat`, …), if the policy gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// One line.
    pub subject: String,
    /// The message.
    pub body: String,
    /// The language the text is in: the tag of the catalog it was rendered from (feature
    /// `l10n`), or `None` for text from the [`Templates`](crate::notify::Templates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// The text to send as an SMS, where the message has one (rendered from catalogs, feature
    /// `l10n`): short, and counted to fit one SMS (see [`crate::notifiers::sms`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms: Option<String>,
}

impl Notification {
    /// A notification about `incident` for `audience`, keyed `<incident>/<what>`. The desk
    /// makes these from its templates; building one by hand is for testing a
    /// [`Notifier`](crate::Notifier).
    pub fn new(
        incident: IncidentId,
        what: &str,
        audience: Audience,
        subject: impl Into<String>,
        body: impl Into<String>,
    ) -> Notification {
        Notification {
            incident: Some(incident),
            ..Notification::without_incident(format!("{incident}/{what}"), audience, subject, body)
        }
    }

    /// A notification about no incident (a shift reminder) for `audience`, with the
    /// deterministic `key` given: redeliveries carry the same key, so a host can drop
    /// duplicates.
    pub fn without_incident(
        key: impl Into<String>,
        audience: Audience,
        subject: impl Into<String>,
        body: impl Into<String>,
    ) -> Notification {
        Notification {
            key: key.into(),
            incident: None,
            audience,
            channel: None,
            subject: subject.into(),
            body: body.into(),
            locale: None,
            sms: None,
        }
    }

    /// The same notification with a channel hint (`sms`, `email`, `chat`, …).
    #[must_use]
    pub fn with_channel(mut self, channel: impl Into<String>) -> Notification {
        self.channel = Some(channel.into());
        self
    }

    /// The same notification marked as written in `locale` (a BCP 47 tag).
    #[must_use]
    pub fn with_locale(mut self, locale: impl Into<String>) -> Notification {
        self.locale = Some(locale.into());
        self
    }

    /// The same notification with a text for SMS.
    #[must_use]
    pub fn with_sms(mut self, sms: impl Into<String>) -> Notification {
        self.sms = Some(sms.into());
        self
    }
}

impl Change {
    /// The variant's name in snake case (`"opened"`, `"timer_fired"`, …): a stable label for
    /// logs and metrics. The stored format has names of its own and does not use this.
    pub const fn name(&self) -> &'static str {
        match self {
            Change::Opened { .. } => "opened",
            Change::Acknowledged => "acknowledged",
            Change::OwnerAssigned { .. } => "owner_assigned",
            Change::InvestigationStarted => "investigation_started",
            Change::RootCauseIdentified { .. } => "root_cause_identified",
            Change::Mitigated { .. } => "mitigated",
            Change::Resolved { .. } => "resolved",
            Change::Reopened { .. } => "reopened",
            Change::Closed { .. } => "closed",
            Change::SeverityChanged { .. } => "severity_changed",
            Change::NoteAdded { .. } => "note_added",
            Change::CustomerUpdatePosted { .. } => "customer_update_posted",
            Change::VendorWaitStarted { .. } => "vendor_wait_started",
            Change::VendorWaitEnded { .. } => "vendor_wait_ended",
            Change::TimerFired { .. } => "timer_fired",
            Change::ResponderAdded { .. } => "responder_added",
            Change::ResponderRemoved { .. } => "responder_removed",
            Change::TaskAdded { .. } => "task_added",
            Change::TaskAssigned { .. } => "task_assigned",
            Change::TaskCompleted { .. } => "task_completed",
            Change::ReviewRecorded { .. } => "review_recorded",
            Change::FollowUpCompleted { .. } => "follow_up_completed",
            Change::FeedbackRecorded { .. } => "feedback_recorded",
            Change::SignalReceived { .. } => "signal_received",
            Change::MergedInto { .. } => "merged_into",
            Change::DuplicateMerged { .. } => "duplicate_merged",
            Change::ImpactSet { .. } => "impact_set",
            Change::PublicTitleSet { .. } => "public_title_set",
            Change::BreachDeclared { .. } => "breach_declared",
            Change::BecameAwareSet { .. } => "became_aware_set",
            Change::NoticeFiled { .. } => "notice_filed",
            Change::NotificationRequested { .. } => "notification_requested",
            Change::NotificationDelivered { .. } => "notification_delivered",
            Change::NotificationFailed { .. } => "notification_failed",
        }
    }

    /// The command kind that records this change; its row in the transition table decides in
    /// which statuses the change may appear.
    pub const fn command_kind(&self) -> CommandKind {
        match self {
            Change::Opened { .. } => CommandKind::Open,
            Change::Acknowledged => CommandKind::Acknowledge,
            Change::OwnerAssigned { .. } => CommandKind::AssignOwner,
            Change::InvestigationStarted => CommandKind::StartInvestigating,
            Change::RootCauseIdentified { .. } => CommandKind::Identify,
            Change::Mitigated { .. } => CommandKind::Mitigate,
            Change::Resolved { .. } => CommandKind::Resolve,
            Change::Reopened { .. } => CommandKind::Reopen,
            Change::Closed { .. } => CommandKind::Close,
            Change::SeverityChanged { .. } => CommandKind::ChangeSeverity,
            Change::NoteAdded { .. } => CommandKind::AddNote,
            Change::CustomerUpdatePosted { .. } => CommandKind::PostCustomerUpdate,
            Change::VendorWaitStarted { .. } => CommandKind::WaitForVendor,
            Change::VendorWaitEnded { .. } => CommandKind::VendorResponded,
            Change::TimerFired {
                timer: Timer::FollowUpOverdue { .. },
            } => CommandKind::Remind,
            Change::TimerFired {
                timer: Timer::NoticeAtRisk { .. } | Timer::NoticeOverdue { .. },
            } => CommandKind::WarnNotice,
            Change::TimerFired { .. } => CommandKind::Fire,
            Change::BreachDeclared { .. } => CommandKind::DeclareBreach,
            Change::BecameAwareSet { .. } => CommandKind::SetBecameAware,
            Change::NoticeFiled { .. } => CommandKind::FileNotice,
            Change::SignalReceived { .. } => CommandKind::Signal,
            Change::MergedInto { .. } => CommandKind::Merge,
            Change::DuplicateMerged { .. } => CommandKind::Absorb,
            Change::ResponderAdded { .. } => CommandKind::AddResponder,
            Change::ResponderRemoved { .. } => CommandKind::RemoveResponder,
            Change::TaskAdded { .. } => CommandKind::AddTask,
            Change::TaskAssigned { .. } => CommandKind::AssignTask,
            Change::TaskCompleted { .. } => CommandKind::CompleteTask,
            Change::ReviewRecorded { .. } => CommandKind::RecordReview,
            Change::FollowUpCompleted { .. } => CommandKind::CompleteFollowUp,
            Change::FeedbackRecorded { .. } => CommandKind::RecordFeedback,
            Change::ImpactSet { .. } => CommandKind::SetImpact,
            Change::PublicTitleSet { .. } => CommandKind::SetPublicTitle,
            Change::NotificationRequested { .. } => CommandKind::Notify,
            Change::NotificationDelivered { .. } | Change::NotificationFailed { .. } => {
                CommandKind::Deliver
            }
        }
    }

    /// A short human description, as a timeline would show it ("acknowledged",
    /// "resolved (fixed)", "severity high → critical: …").
    pub fn describe(&self) -> String {
        match self {
            Change::Opened {
                title,
                severity,
                service,
                source,
                ..
            } => format!("opened \"{title}\" ({severity}, {service}, from {source})"),
            Change::Acknowledged => "acknowledged".into(),
            Change::OwnerAssigned { owner } => format!("owner is now {owner}"),
            Change::InvestigationStarted => "started investigating".into(),
            Change::RootCauseIdentified { root_cause } => format!("root cause: {root_cause}"),
            Change::Mitigated { action } => format!("mitigated: {action}"),
            Change::Resolved { resolution } => format!("resolved ({resolution})"),
            Change::Reopened { reason } => format!("reopened: {reason}"),
            Change::Closed { summary, lessons } => {
                format!("closed: {summary} — lessons: {lessons}")
            }
            Change::SeverityChanged { from, to, reason } => {
                format!("severity {from} → {to}: {reason}")
            }
            Change::NoteAdded { text } => format!("note: {text}"),
            Change::CustomerUpdatePosted { message } => format!("customer update: {message}"),
            Change::VendorWaitStarted { vendor, reference } => match reference {
                Some(r) => format!("waiting on {vendor} (ref {r})"),
                None => format!("waiting on {vendor}"),
            },
            Change::VendorWaitEnded { note } => match note {
                Some(n) => format!("vendor responded: {n}"),
                None => "vendor responded".into(),
            },
            Change::TimerFired { timer } => timer.describe(),
            Change::NotificationRequested { notification } => {
                format!("notification queued: {}", notification.subject)
            }
            Change::ResponderAdded { responder } => format!("{responder} joined"),
            Change::ResponderRemoved { responder } => format!("{responder} left"),
            Change::TaskAdded {
                task,
                title,
                assignee,
                playbook,
            } => task_added(*task, title, assignee.as_deref(), playbook.as_deref()),
            Change::TaskAssigned { task, assignee } => format!("task {task} is for {assignee}"),
            Change::TaskCompleted { task } => format!("task {task} done"),
            Change::ReviewRecorded { review } => format!(
                "review recorded: {} ({} follow-ups)",
                review.what_happened,
                review.follow_ups.len()
            ),
            Change::FollowUpCompleted { follow_up } => format!("follow-up {follow_up} done"),
            Change::FeedbackRecorded { score, comment } => match comment {
                Some(c) => format!("customer feedback {}/5: {c}", score.get()),
                None => format!("customer feedback {}/5", score.get()),
            },
            Change::SignalReceived { signal } => signal.describe(),
            Change::MergedInto { into } => format!("merged into {into} (a duplicate)"),
            Change::DuplicateMerged { duplicate, title } => {
                format!("{duplicate} (\"{title}\") merged into this incident")
            }
            Change::ImpactSet { impact } => match impact {
                Some(impact) => {
                    format!("public impact set to {}", impact.as_str().replace('_', " "))
                }
                None => "public impact follows the severity again".into(),
            },
            Change::PublicTitleSet { title } => match title {
                Some(title) => format!("public title: \"{title}\""),
                None => "public title withdrawn".into(),
            },
            Change::BreachDeclared { .. }
            | Change::BecameAwareSet { .. }
            | Change::NoticeFiled { .. } => describe_breach(self),
            Change::NotificationDelivered { key } => format!("delivered {key}"),
            Change::NotificationFailed {
                key,
                attempt,
                error,
                retry_at,
            } => match retry_at {
                Some(at) => format!(
                    "delivery {attempt} of {key} failed ({error}); retry at {}",
                    at.format("%H:%M:%S")
                ),
                None => format!("delivery {attempt} of {key} failed ({error}); gave up"),
            },
        }
    }
}

/// [`Change::describe`] for the breach records.
fn describe_breach(change: &Change) -> String {
    match change {
        Change::BreachDeclared {
            regimes,
            became_aware,
        } => {
            let ids: Vec<&str> = regimes.iter().map(|r| r.id.as_str()).collect();
            format!(
                "data breach declared ({}); aware since {}",
                ids.join(", "),
                became_aware.format("%Y-%m-%d %H:%M UTC")
            )
        }
        Change::BecameAwareSet { from, to, reason } => format!(
            "became aware moved from {} to {}: {reason}",
            from.format("%Y-%m-%d %H:%M UTC"),
            to.format("%Y-%m-%d %H:%M UTC")
        ),
        Change::NoticeFiled {
            regime,
            phase,
            reference,
            late_reason,
            ..
        } => match late_reason {
            Some(why) => format!("notice {regime}/{phase} filed late (ref {reference}): {why}"),
            None => format!("notice {regime}/{phase} filed (ref {reference})"),
        },
        _ => String::new(),
    }
}

/// "task 3: … (for dana) [playbook: …]".
fn task_added(task: u32, title: &Title, assignee: Option<&str>, playbook: Option<&str>) -> String {
    let mut s = format!("task {task}: {title}");
    if let Some(a) = assignee {
        s.push_str(&format!(" (for {a})"));
    }
    if let Some(p) = playbook {
        s.push_str(&format!(" [playbook: {p}]"));
    }
    s
}

impl Timer {
    /// A short human description of the timer firing, as a timeline shows it.
    fn describe(&self) -> String {
        match self {
            Timer::Escalation {
                round,
                step,
                notify,
                ..
            } => {
                let who: Vec<String> = notify.iter().map(ToString::to_string).collect();
                format!(
                    "escalation step {} (round {}): notify {}",
                    step + 1,
                    round + 1,
                    who.join(", ")
                )
            }
            Timer::SlaAtRisk { target, due } => {
                format!("{target} at risk (due {})", due.format("%Y-%m-%d %H:%M"))
            }
            Timer::SlaBreached { target, due } => {
                format!("{target} missed (was due {})", due.format("%Y-%m-%d %H:%M"))
            }
            Timer::CustomerUpdateDue { due, .. } => {
                format!(
                    "customers are due an update (since {})",
                    due.format("%H:%M")
                )
            }
            Timer::FollowUpOverdue {
                follow_up, owner, ..
            } => format!("follow-up {follow_up} is overdue ({owner})"),
            Timer::QuietPeriodOver { last_signal } => format!(
                "all alerts resolved, quiet since {}",
                last_signal.format("%H:%M")
            ),
            Timer::NoticeAtRisk { regime, phase, due } => format!(
                "notice {regime}/{phase} at risk (due {})",
                due.format("%Y-%m-%d %H:%M UTC")
            ),
            Timer::NoticeOverdue { regime, phase, due } => format!(
                "notice {regime}/{phase} overdue (was due {})",
                due.format("%Y-%m-%d %H:%M UTC")
            ),
        }
    }
}

/// A link from an incident to the earlier one whose problem came back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Recurrence {
    /// The previous incident with the same alert key.
    pub previous: IncidentId,
    /// How many incidents this key reached before — opened under it, or joined or attached
    /// to (1 for the first recurrence).
    pub count: u32,
}

impl Recurrence {
    /// A link to `previous`, the `count`-th incident of its problem before this one.
    pub fn new(previous: IncidentId, count: u32) -> Recurrence {
        Recurrence { previous, count }
    }
}

/// Whether an alert is going on or over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SignalState {
    /// The problem is happening.
    Firing,
    /// The monitor says it stopped.
    Resolved,
}

impl std::fmt::Display for SignalState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SignalState::Firing => "firing",
            SignalState::Resolved => "resolved",
        })
    }
}

/// One alert occurrence (or report) as recorded on an incident.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Signal {
    /// `source/fingerprint`: what identifies the problem across deliveries.
    pub key: String,
    /// When this occurrence started (by the monitor's clock). Deliveries with the same key
    /// and start are the same occurrence.
    pub starts_at: DateTime<Utc>,
    /// Firing or resolved.
    pub state: SignalState,
    /// The monitor's one-line summary.
    pub summary: String,
    /// Where it came from: a monitor's alert, a proactive check, or a report by a customer or
    /// staff.
    #[serde(default = "alert_origin")]
    pub origin: Source,
    /// Who reported it, for reports from people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reporter: Option<Reporter>,
    /// The longer description the monitor or the reporter gave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Text>,
    /// The monitor's labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// When the monitor says the occurrence ended (or will be considered over), if it said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<DateTime<Utc>>,
    /// The group the monitor put it in (an Alertmanager group): alerts of one group record
    /// on one incident, each still its own signal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

fn alert_origin() -> Source {
    Source::Alert
}

impl Signal {
    /// A signal from a monitor ([`Source::Alert`]) with nothing but its key, start, state and
    /// summary; the `with_*` methods add the rest. Signals normally come from
    /// [`Alert::signal`](crate::Alert::signal), which validates every part.
    pub fn new(
        key: impl Into<String>,
        starts_at: DateTime<Utc>,
        state: SignalState,
        summary: impl Into<String>,
    ) -> Signal {
        Signal {
            key: key.into(),
            starts_at,
            state,
            summary: summary.into(),
            origin: Source::Alert,
            reporter: None,
            description: None,
            labels: BTreeMap::new(),
            ends_at: None,
            group: None,
        }
    }

    /// The same signal from `origin` (a report by people, a proactive check).
    #[must_use]
    pub fn with_origin(mut self, origin: Source) -> Signal {
        self.origin = origin;
        self
    }

    /// The same signal, reported by `reporter`.
    #[must_use]
    pub fn with_reporter(mut self, reporter: Reporter) -> Signal {
        self.reporter = Some(reporter);
        self
    }

    /// The same signal with a longer description.
    #[must_use]
    pub fn with_description(mut self, description: Text) -> Signal {
        self.description = Some(description);
        self
    }

    /// The same signal with the monitor's labels.
    #[must_use]
    pub fn with_labels(mut self, labels: BTreeMap<String, String>) -> Signal {
        self.labels = labels;
        self
    }

    /// The same signal, with the time the monitor says it ends.
    #[must_use]
    pub fn with_ends_at(mut self, ends_at: DateTime<Utc>) -> Signal {
        self.ends_at = Some(ends_at);
        self
    }

    /// The same signal in the monitor's group `group`.
    #[must_use]
    pub fn with_group(mut self, group: impl Into<String>) -> Signal {
        self.group = Some(group.into());
        self
    }

    /// Whether `other` is the same delivery: the same key, occurrence start and state — and,
    /// for reports, the same reporter (two customers reporting one topic in the same second
    /// are two reports; a retried form submission is one).
    pub fn same_delivery(&self, other: &Signal) -> bool {
        self.starts_at == other.starts_at
            && self.state == other.state
            && self.key == other.key
            && self.reporter == other.reporter
    }

    /// A short human description, as a timeline shows it.
    fn describe(&self) -> String {
        let mut s = format!(
            "{} {} ({}, since {})",
            self.key,
            self.state,
            self.summary,
            self.starts_at.format("%Y-%m-%d %H:%M UTC")
        );
        if let Some(reporter) = &self.reporter {
            // The name only: contact details never reach a timeline or a log.
            s.push_str(&format!(", reported by {reporter}"));
        }
        s
    }

    /// What tells this delivery from the others of its key.
    pub(crate) fn delivery(&self) -> DeliveryId {
        (self.starts_at, self.state, self.reporter.clone())
    }
}

/// A delivery of one alert key: when its occurrence started, its state, and who reported it.
pub(crate) type DeliveryId = (DateTime<Utc>, SignalState, Option<Reporter>);
