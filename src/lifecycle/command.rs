//! Commands: what people (and the system) ask the lifecycle to do.

use std::convert::Infallible;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Invalid;
use crate::lifecycle::{CommandKind, Impact};
use crate::model::{Actor, IncidentId, Service, Source};
use crate::severity::Severity;
use crate::text::{Text, Title};

impl From<Infallible> for Invalid {
    fn from(never: Infallible) -> Invalid {
        match never {}
    }
}

/// What is needed to open an incident. Validated on construction.
///
/// ```
/// use incidents::{NewIncident, Severity, Source};
///
/// let new = NewIncident::new("Checkout crashes", Severity::Critical, "online shop", Source::CustomerReport)?
///     .with_description("A customer's order failed at the payment step.")?;
/// assert_eq!(new.title().as_str(), "Checkout crashes");
/// # Ok::<(), incidents::Invalid>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewIncident {
    title: Title,
    description: Option<Text>,
    severity: Severity,
    service: Service,
    source: Source,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) alert_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) idempotency_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) recurrence: Option<crate::lifecycle::Recurrence>,
}

impl NewIncident {
    /// Validates the parts of a new incident. `title` and `service` may be given as strings
    /// or as already validated [`Title`] and [`Service`] values.
    ///
    /// # Errors
    /// [`Invalid`] naming `title` or `service` if either breaks its rules.
    pub fn new<T, S>(
        title: T,
        severity: Severity,
        service: S,
        source: Source,
    ) -> Result<NewIncident, Invalid>
    where
        T: TryInto<Title>,
        T::Error: Into<Invalid>,
        S: TryInto<Service>,
        S::Error: Into<Invalid>,
    {
        Ok(NewIncident {
            title: title.try_into().map_err(Into::into)?,
            description: None,
            severity,
            service: service.try_into().map_err(Into::into)?,
            source,
            alert_key: None,
            idempotency_key: None,
            recurrence: None,
        })
    }

    /// Adds a longer description.
    ///
    /// # Errors
    /// [`Invalid`] with field `description` if the text breaks the [`Text`] rules.
    pub fn with_description(mut self, description: impl AsRef<str>) -> Result<Self, Invalid> {
        self.description = Some(Text::new("description", description)?);
        Ok(self)
    }

    /// The title.
    pub fn title(&self) -> &Title {
        &self.title
    }
    /// The description, if any.
    pub fn description(&self) -> Option<&Text> {
        self.description.as_ref()
    }
    /// The initial severity.
    pub fn severity(&self) -> Severity {
        self.severity
    }
    /// The affected service.
    pub fn service(&self) -> &Service {
        &self.service
    }
    /// Where the incident came from.
    pub fn source(&self) -> Source {
        self.source
    }
}

/// How an incident was resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Resolution {
    /// The cause was fixed.
    Fixed,
    /// Service is restored by a workaround; the cause remains (a follow-up should fix it).
    Workaround,
    /// Nothing was wrong (a flaky monitor, a misunderstanding).
    FalseAlarm,
    /// The same problem is already tracked by another incident.
    Duplicate {
        /// The incident that tracks it.
        of: IncidentId,
    },
    /// Resolved by the desk: every alert on it reported resolved and nothing new arrived for
    /// the policy's quiet period.
    AutoResolved,
}

impl fmt::Display for Resolution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Resolution::Fixed => f.write_str("fixed"),
            Resolution::Workaround => f.write_str("workaround"),
            Resolution::FalseAlarm => f.write_str("false alarm"),
            Resolution::Duplicate { of } => write!(f, "duplicate of {of}"),
            Resolution::AutoResolved => f.write_str("auto-resolved after a quiet period"),
        }
    }
}

/// A request to change an incident. Data is validated when the command is built, so a command
/// value is always well-formed; whether it is *allowed* is decided by [`decide`](crate::lifecycle::decide)
/// against the incident's status.
///
/// The helper constructors validate text and name the field in the error:
///
/// ```
/// use incidents::Command;
///
/// let cmd = Command::identify("server overload from a DDoS attack")?;
/// assert_eq!(cmd.kind(), incidents::CommandKind::Identify);
/// assert_eq!(Command::note("").unwrap_err().field, "note");
/// # Ok::<(), incidents::Invalid>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Command {
    /// Open a new incident with the given id. [`Desk::open`](crate::Desk::open) makes the id.
    Open {
        /// The new incident's id.
        id: IncidentId,
        /// What it is about.
        incident: NewIncident,
    },
    /// "I'm on it."
    Acknowledge,
    /// Make `owner` the one person leading the incident.
    AssignOwner {
        /// The new owner.
        owner: Actor,
    },
    /// Start looking for the cause.
    StartInvestigating,
    /// The root cause is known.
    Identify {
        /// What caused it.
        root_cause: Text,
    },
    /// A mitigation is in place; watch it.
    Mitigate {
        /// What was done.
        action: Text,
    },
    /// Service is restored.
    Resolve {
        /// How.
        resolution: Resolution,
    },
    /// The problem is back.
    Reopen {
        /// Why it is being reopened.
        reason: Text,
    },
    /// Done, with what was learned.
    Close {
        /// What happened and how it was handled.
        summary: Text,
        /// What to do so it does not happen again.
        lessons: Text,
    },
    /// Raise or lower the severity.
    ChangeSeverity {
        /// The new severity.
        to: Severity,
        /// Why.
        reason: Text,
    },
    /// An internal note for the team.
    AddNote {
        /// The note.
        text: Text,
    },
    /// A message for customers (the host's notifier delivers it).
    PostCustomerUpdate {
        /// The message.
        message: Text,
    },
    /// The fix depends on a vendor (the payment provider, the POS vendor): the resolve clock
    /// pauses and a vendor clock runs until they respond. Naming another vendor while waiting
    /// switches to it; naming the same one again records nothing.
    WaitForVendor {
        /// Who is being waited on.
        vendor: Text,
        /// Their ticket or case number, if any.
        reference: Option<Text>,
    },
    /// The vendor responded: the resolve clock runs again. Records nothing if nobody is
    /// being waited on.
    VendorResponded {
        /// What they said, if worth keeping.
        note: Option<Text>,
    },
    /// Add someone to the people working the incident (no-op if already there).
    AddResponder {
        /// Who.
        responder: Actor,
    },
    /// Take someone off the incident, by actor id (no-op if not there).
    RemoveResponder {
        /// Their actor id.
        responder: String,
    },
    /// Add a task.
    AddTask {
        /// What to do.
        title: Title,
        /// Who does it (an actor id), if decided.
        assignee: Option<String>,
    },
    /// Give task number `task` to `assignee` (an actor id).
    AssignTask {
        /// The task's number.
        task: u32,
        /// Who does it.
        assignee: String,
    },
    /// Mark task number `task` done (no-op if it is).
    CompleteTask {
        /// The task's number.
        task: u32,
    },
    /// Record the post-incident review. Recording another later adds its follow-ups to the
    /// earlier ones.
    RecordReview {
        /// The review.
        review: crate::people::Review,
    },
    /// Mark follow-up number `follow_up` done (no-op if it is).
    CompleteFollowUp {
        /// The follow-up's number.
        follow_up: u32,
    },
    /// Record a customer's satisfaction score.
    RecordFeedback {
        /// 1–5.
        score: crate::people::Score,
        /// What they said.
        comment: Option<Text>,
    },
    /// Record an alert or report on this incident (records nothing if this delivery is
    /// already on it). [`Desk::attach`](crate::Desk::attach) builds it from an
    /// [`Alert`](crate::Alert) and routes later deliveries of its key here.
    Attach {
        /// What arrived.
        signal: crate::lifecycle::Signal,
    },
    /// Fold this incident into `into`, which tracks the same problem: it is resolved as a
    /// duplicate of `into`. Sent through [`Desk::merge`](crate::Desk::merge), which also
    /// records the merge on `into`, in the same atomic append.
    Merge {
        /// The incident that carries on.
        into: IncidentId,
    },
    /// Override how the incident shows on the public status page: `Some` impact whatever
    /// the severity says; `None` clears the override, so the impact follows the severity again
    /// ([`Impact::of_severity`]). Setting what is already set records nothing.
    SetImpact {
        /// The impact to show, or `None` to follow the severity.
        impact: Option<Impact>,
    },
    /// The title the public sees on the status page: `Some` publishes it, `None` withdraws it
    /// (the page then shows a generic line for the component). The incident's own title is
    /// internal and never published. Setting what is already set records nothing.
    SetPublicTitle {
        /// The public title, or `None` to withdraw it.
        title: Option<Title>,
    },
    /// Declare the incident a personal-data breach under `regimes` (validated when built
    /// with [`Command::declare_breach`]); `became_aware` may not lie in the future. Once per
    /// incident.
    DeclareBreach {
        /// The regimes that apply, whole: the event stores their phases.
        regimes: Vec<crate::regulatory::Regime>,
        /// When the business became aware of the breach.
        became_aware: DateTime<Utc>,
    },
    /// Move the became-aware instant (not into the future), with the reason; the clocks
    /// move with it and the history keeps the old value. Setting the same instant records
    /// nothing.
    SetBecameAware {
        /// The new instant.
        at: DateTime<Utc>,
        /// Why it moved.
        reason: Text,
    },
    /// Record that a regime's notice was filed: its clock stops. Filed after the deadline,
    /// a phase that needs reasons refuses it without `late_reason`.
    FileNotice {
        /// The regime's id.
        regime: String,
        /// The phase's id.
        phase: String,
        /// The recipient's reference (case number, receipt).
        reference: Text,
        /// What was sent.
        summary: Text,
        /// Why it is late.
        late_reason: Option<Text>,
    },
}

impl Command {
    /// The kind of this command, for the transition table.
    pub const fn kind(&self) -> CommandKind {
        match self {
            Command::Open { .. } => CommandKind::Open,
            Command::Acknowledge => CommandKind::Acknowledge,
            Command::AssignOwner { .. } => CommandKind::AssignOwner,
            Command::StartInvestigating => CommandKind::StartInvestigating,
            Command::Identify { .. } => CommandKind::Identify,
            Command::Mitigate { .. } => CommandKind::Mitigate,
            Command::Resolve { .. } => CommandKind::Resolve,
            Command::Reopen { .. } => CommandKind::Reopen,
            Command::Close { .. } => CommandKind::Close,
            Command::ChangeSeverity { .. } => CommandKind::ChangeSeverity,
            Command::AddNote { .. } => CommandKind::AddNote,
            Command::PostCustomerUpdate { .. } => CommandKind::PostCustomerUpdate,
            Command::WaitForVendor { .. } => CommandKind::WaitForVendor,
            Command::VendorResponded { .. } => CommandKind::VendorResponded,
            Command::AddResponder { .. } => CommandKind::AddResponder,
            Command::RemoveResponder { .. } => CommandKind::RemoveResponder,
            Command::AddTask { .. } => CommandKind::AddTask,
            Command::AssignTask { .. } => CommandKind::AssignTask,
            Command::CompleteTask { .. } => CommandKind::CompleteTask,
            Command::RecordReview { .. } => CommandKind::RecordReview,
            Command::CompleteFollowUp { .. } => CommandKind::CompleteFollowUp,
            Command::RecordFeedback { .. } => CommandKind::RecordFeedback,
            Command::Attach { .. } => CommandKind::Attach,
            Command::Merge { .. } => CommandKind::Merge,
            Command::SetImpact { .. } => CommandKind::SetImpact,
            Command::SetPublicTitle { .. } => CommandKind::SetPublicTitle,
            Command::DeclareBreach { .. } => CommandKind::DeclareBreach,
            Command::SetBecameAware { .. } => CommandKind::SetBecameAware,
            Command::FileNotice { .. } => CommandKind::FileNotice,
        }
    }

    /// [`Command::Identify`] with a validated root cause.
    ///
    /// # Errors
    /// [`Invalid`] with field `root cause`.
    pub fn identify(root_cause: impl AsRef<str>) -> Result<Command, Invalid> {
        Ok(Command::Identify {
            root_cause: Text::new("root cause", root_cause)?,
        })
    }

    /// [`Command::Mitigate`] with a validated action.
    ///
    /// # Errors
    /// [`Invalid`] with field `mitigation`.
    pub fn mitigate(action: impl AsRef<str>) -> Result<Command, Invalid> {
        Ok(Command::Mitigate {
            action: Text::new("mitigation", action)?,
        })
    }

    /// [`Command::Resolve`].
    pub const fn resolve(resolution: Resolution) -> Command {
        Command::Resolve { resolution }
    }

    /// [`Command::Reopen`] with a validated reason.
    ///
    /// # Errors
    /// [`Invalid`] with field `reason`.
    pub fn reopen(reason: impl AsRef<str>) -> Result<Command, Invalid> {
        Ok(Command::Reopen {
            reason: Text::new("reason", reason)?,
        })
    }

    /// [`Command::Close`] with a validated summary and lessons learned.
    ///
    /// # Errors
    /// [`Invalid`] with field `summary` or `lessons`.
    pub fn close(summary: impl AsRef<str>, lessons: impl AsRef<str>) -> Result<Command, Invalid> {
        Ok(Command::Close {
            summary: Text::new("summary", summary)?,
            lessons: Text::new("lessons", lessons)?,
        })
    }

    /// [`Command::ChangeSeverity`] with a validated reason.
    ///
    /// # Errors
    /// [`Invalid`] with field `reason`.
    pub fn change_severity(to: Severity, reason: impl AsRef<str>) -> Result<Command, Invalid> {
        Ok(Command::ChangeSeverity {
            to,
            reason: Text::new("reason", reason)?,
        })
    }

    /// [`Command::AddNote`] with validated text.
    ///
    /// # Errors
    /// [`Invalid`] with field `note`.
    pub fn note(text: impl AsRef<str>) -> Result<Command, Invalid> {
        Ok(Command::AddNote {
            text: Text::new("note", text)?,
        })
    }

    /// [`Command::PostCustomerUpdate`] with a validated message.
    ///
    /// # Errors
    /// [`Invalid`] with field `customer update`.
    pub fn customer_update(message: impl AsRef<str>) -> Result<Command, Invalid> {
        Ok(Command::PostCustomerUpdate {
            message: Text::new("customer update", message)?,
        })
    }

    /// [`Command::WaitForVendor`] with a validated vendor name and optional reference.
    ///
    /// # Errors
    /// [`Invalid`] with field `vendor` or `vendor reference`.
    pub fn wait_for_vendor(
        vendor: impl AsRef<str>,
        reference: Option<&str>,
    ) -> Result<Command, Invalid> {
        Ok(Command::WaitForVendor {
            vendor: Text::new("vendor", vendor)?,
            reference: reference
                .map(|r| Text::new("vendor reference", r))
                .transpose()?,
        })
    }

    /// [`Command::VendorResponded`] with an optional validated note.
    ///
    /// # Errors
    /// [`Invalid`] with field `note`.
    pub fn vendor_responded(note: Option<&str>) -> Result<Command, Invalid> {
        Ok(Command::VendorResponded {
            note: note.map(|n| Text::new("note", n)).transpose()?,
        })
    }

    /// [`Command::AddTask`] with a validated title and assignee.
    ///
    /// # Errors
    /// [`Invalid`] with field `title`, or `assignee` if it is not an actor id as
    /// [`Actor::new`](crate::Actor::new) takes it.
    pub fn add_task(title: &str, assignee: Option<&str>) -> Result<Command, Invalid> {
        Ok(Command::AddTask {
            title: Title::new(title)?,
            assignee: assignee
                .map(|a| crate::model::check_actor_id("assignee", a).map(str::to_string))
                .transpose()?,
        })
    }

    /// [`Command::RecordFeedback`] with a validated score and comment.
    ///
    /// # Errors
    /// [`Invalid`] with field `score` or `comment`.
    pub fn feedback(score: u8, comment: Option<&str>) -> Result<Command, Invalid> {
        Ok(Command::RecordFeedback {
            score: crate::people::Score::new(score)?,
            comment: comment.map(|c| Text::new("comment", c)).transpose()?,
        })
    }

    /// [`Command::RecordReview`].
    pub fn review(review: crate::people::Review) -> Command {
        Command::RecordReview { review }
    }

    /// [`Command::AssignOwner`].
    pub const fn assign_owner(owner: Actor) -> Command {
        Command::AssignOwner { owner }
    }

    /// [`Command::SetImpact`]: `Some` overrides the impact the severity maps to, `None`
    /// clears the override.
    pub const fn set_impact(impact: Option<Impact>) -> Command {
        Command::SetImpact { impact }
    }

    /// [`Command::SetPublicTitle`] with a validated title; `None` withdraws it.
    ///
    /// ```
    /// use incidents::Command;
    ///
    /// let cmd = Command::public_title(Some("Card payments are slow"))?;
    /// assert_eq!(cmd.kind(), incidents::CommandKind::SetPublicTitle);
    /// assert_eq!(Command::public_title(Some("")).unwrap_err().field, "title");
    /// # Ok::<(), incidents::Invalid>(())
    /// ```
    ///
    /// # Errors
    /// [`Invalid`] with field `title`.
    pub fn public_title(title: Option<&str>) -> Result<Command, Invalid> {
        Ok(Command::SetPublicTitle {
            title: title.map(Title::new).transpose()?,
        })
    }

    /// [`Command::DeclareBreach`] with validated regimes.
    ///
    /// # Errors
    /// [`Invalid`] with field `regimes` naming what is wrong ([`RegimeError`](crate::regulatory::RegimeError)).
    pub fn declare_breach(
        regimes: Vec<crate::regulatory::Regime>,
        became_aware: DateTime<Utc>,
    ) -> Result<Command, Invalid> {
        crate::regulatory::validate_all(&regimes)
            .map_err(|e| Invalid::new("regimes", e.to_string()))?;
        Ok(Command::DeclareBreach {
            regimes,
            became_aware,
        })
    }

    /// [`Command::SetBecameAware`] with a validated reason.
    ///
    /// # Errors
    /// [`Invalid`] with field `reason`.
    pub fn set_became_aware(
        at: DateTime<Utc>,
        reason: impl AsRef<str>,
    ) -> Result<Command, Invalid> {
        Ok(Command::SetBecameAware {
            at,
            reason: Text::new("reason", reason)?,
        })
    }

    /// [`Command::FileNotice`] with validated texts.
    ///
    /// # Errors
    /// [`Invalid`] with field `reference`, `summary` or `late reason`.
    pub fn file_notice(
        regime: &str,
        phase: &str,
        reference: &str,
        summary: &str,
        late_reason: Option<&str>,
    ) -> Result<Command, Invalid> {
        Ok(Command::FileNotice {
            regime: regime.to_owned(),
            phase: phase.to_owned(),
            reference: Text::new("reference", reference)?,
            summary: Text::new("summary", summary)?,
            late_reason: late_reason
                .map(|r| Text::new("late reason", r))
                .transpose()?,
        })
    }
}
