//! People and learning: who may do what, tasks and playbooks, post-incident reviews with
//! follow-ups, and customer feedback.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Invalid;
use crate::lifecycle::{Command, CommandKind};
use crate::model::{Actor, Role, Service, Source};
use crate::severity::Severity;
use crate::text::{Text, Title};

/// A customer's satisfaction score, 1 (very unhappy) to 5 (very happy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Score(u8);

impl Score {
    /// A score.
    ///
    /// # Errors
    /// [`Invalid`] with field `score` outside 1–5.
    pub fn new(score: u8) -> Result<Score, Invalid> {
        if (1..=5).contains(&score) {
            Ok(Score(score))
        } else {
            Err(Invalid::new(
                "score",
                format!("must be 1 to 5, got {score}"),
            ))
        }
    }

    /// The number, 1–5.
    pub fn get(self) -> u8 {
        self.0
    }
}

impl TryFrom<u8> for Score {
    type Error = Invalid;
    fn try_from(v: u8) -> Result<Score, Invalid> {
        Score::new(v)
    }
}

impl From<Score> for u8 {
    fn from(s: Score) -> u8 {
        s.0
    }
}

/// An amount of money in minor units (cents, pence, agorot) of an ISO 4217 currency.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    /// Minor units.
    pub minor: u64,
    /// Three upper-case letters: `EUR`, `GBP`, `ILS`, …
    pub currency: String,
}

impl Money {
    /// `minor` units of `currency`.
    ///
    /// # Errors
    /// [`Invalid`] with field `currency` unless it is three ASCII upper-case letters.
    pub fn new(minor: u64, currency: &str) -> Result<Money, Invalid> {
        if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(Invalid::new(
                "currency",
                format!("{currency:?} is not an ISO 4217 code such as EUR"),
            ));
        }
        Ok(Money {
            minor,
            currency: currency.to_string(),
        })
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:02} {}",
            self.minor / 100,
            self.minor % 100,
            self.currency
        )
    }
}

/// A follow-up action a review asks for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FollowUpPlan {
    /// What to do.
    pub title: Title,
    /// Who does it (an actor id).
    pub owner: String,
    /// By when.
    pub due: DateTime<Utc>,
}

/// A post-incident review: what happened, the impact, the causes, what went well, what was
/// learned, and what will be done about it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Review {
    /// What happened.
    pub what_happened: Text,
    /// The root cause.
    pub root_cause: Text,
    /// How many customers were affected, if known.
    #[serde(default)]
    pub customers_affected: Option<u32>,
    /// Estimated revenue lost, if known.
    #[serde(default)]
    pub lost_revenue: Option<Money>,
    /// What made it worse or possible.
    #[serde(default)]
    pub contributing_factors: Vec<Text>,
    /// What went well.
    #[serde(default)]
    pub went_well: Vec<Text>,
    /// What was learned.
    #[serde(default)]
    pub lessons: Vec<Text>,
    /// What will be done, by whom, by when.
    #[serde(default)]
    pub follow_ups: Vec<FollowUpPlan>,
}

impl Review {
    /// A review with what happened and the root cause; add the rest with the fields.
    ///
    /// # Errors
    /// [`Invalid`] with field `what happened` or `root cause`.
    pub fn new(what_happened: &str, root_cause: &str) -> Result<Review, Invalid> {
        Ok(Review {
            what_happened: Text::new("what happened", what_happened)?,
            root_cause: Text::new("root cause", root_cause)?,
            customers_affected: None,
            lost_revenue: None,
            contributing_factors: Vec::new(),
            went_well: Vec::new(),
            lessons: Vec::new(),
            follow_ups: Vec::new(),
        })
    }

    /// Adds a follow-up action.
    ///
    /// # Errors
    /// [`Invalid`] with field `title` if `title` is not a valid [`Title`], or with field
    /// `follow-up owner` if `owner` is not an actor id as [`Actor::new`] takes it.
    pub fn follow_up(
        mut self,
        title: &str,
        owner: &str,
        due: DateTime<Utc>,
    ) -> Result<Review, Invalid> {
        let owner = crate::model::check_actor_id("follow-up owner", owner)?;
        self.follow_ups.push(FollowUpPlan {
            title: Title::new(title)?,
            owner: owner.to_string(),
            due,
        });
        Ok(self)
    }

    /// Adds a lesson learned.
    ///
    /// # Errors
    /// [`Invalid`] with field `lesson`.
    pub fn lesson(mut self, lesson: &str) -> Result<Review, Invalid> {
        self.lessons.push(Text::new("lesson", lesson)?);
        Ok(self)
    }
}

/// A task inside an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    /// Its number within the incident, from 1.
    pub number: u32,
    /// What to do.
    pub title: Title,
    /// Who does it (an actor id).
    pub assignee: Option<String>,
    /// The playbook it came from, if any.
    pub playbook: Option<String>,
    /// When and by whom it was completed.
    pub done: Option<(DateTime<Utc>, Actor)>,
}

/// A follow-up action from a review, and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUp {
    /// Its number within the incident, from 1.
    pub number: u32,
    /// The plan.
    pub plan: FollowUpPlan,
    /// When and by whom it was completed.
    pub done: Option<(DateTime<Utc>, Actor)>,
    /// Whether the overdue reminder fired.
    pub reminded: bool,
}

/// The owner changed hands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handover {
    /// When.
    pub at: DateTime<Utc>,
    /// The owner before, if there was one.
    pub from: Option<Actor>,
    /// The new owner.
    pub to: Actor,
    /// Who made the change.
    pub by: Actor,
}

/// A customer's verdict on how an incident was handled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Feedback {
    /// When it was recorded.
    pub at: DateTime<Utc>,
    /// Who recorded it (usually support).
    pub by: Actor,
    /// The score.
    pub score: Score,
    /// What the customer said.
    pub comment: Option<Text>,
}

/// Which incidents a playbook applies to. Every criterion given must match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaybookMatch {
    /// Only incidents of this service.
    #[serde(default)]
    pub service: Option<Service>,
    /// Only incidents opened from alerts whose key starts with this.
    #[serde(default)]
    pub alert_key_prefix: Option<String>,
    /// Only incidents at least this severe.
    #[serde(default)]
    pub min_severity: Option<Severity>,
}

/// A checklist added as tasks to every matching incident when it opens.
///
/// ```
/// use incidents::{people::{Playbook, PlaybookMatch}};
///
/// let payments_down = Playbook::new("payments down", PlaybookMatch {
///     service: Some("payments".parse()?),
///     ..PlaybookMatch::default()
/// })
/// .task("Check the payment provider's status page")?
/// .task("Switch the till to the backup card terminal")?
/// .task("Post a notice on the shop: card payments are delayed")?;
/// assert_eq!(payments_down.tasks.len(), 3);
/// # Ok::<(), incidents::Invalid>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Playbook {
    /// Its name, recorded on the tasks it adds.
    pub name: String,
    /// Which incidents it applies to.
    pub when: PlaybookMatch,
    /// The checklist.
    pub tasks: Vec<Title>,
}

impl Playbook {
    /// An empty playbook.
    pub fn new(name: &str, when: PlaybookMatch) -> Playbook {
        Playbook {
            name: name.to_string(),
            when,
            tasks: Vec::new(),
        }
    }

    /// Adds a task to the checklist.
    ///
    /// # Errors
    /// [`Invalid`] with field `title`.
    pub fn task(mut self, title: &str) -> Result<Playbook, Invalid> {
        self.tasks.push(Title::new(title)?);
        Ok(self)
    }

    /// Whether it applies to an incident of `service` and `severity` opened from `alert_key`.
    pub fn applies(&self, service: &Service, severity: Severity, alert_key: Option<&str>) -> bool {
        self.when.service.as_ref().is_none_or(|s| s == service)
            && self.when.min_severity.is_none_or(|min| severity >= min)
            && self
                .when
                .alert_key_prefix
                .as_ref()
                .is_none_or(|p| alert_key.is_some_and(|k| k.starts_with(p.as_str())))
    }
}

/// What a role may do: which commands, and from which sources it may open incidents.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// Commands the role may send (`open` is governed by `open_from`).
    pub commands: BTreeSet<CommandKind>,
    /// Sources the role may open incidents from (empty: may not open).
    pub open_from: BTreeSet<Source>,
}

/// Who may do what: a [`Grant`] per role. Plain data; replace it to suit the business.
///
/// The default ([`Permissions::small_business`]):
///
/// | role | may |
/// |---|---|
/// | viewer | read only |
/// | support | open incidents from customer reports; add notes; post customer updates and set what the status page shows (public impact and title); record customer feedback; attach a report to an incident |
/// | responder | open incidents from staff reports and proactive checks; work the lifecycle (acknowledge, investigate, identify, mitigate, resolve); notes and customer updates, with the status page's public impact and title; vendor waits; responders and tasks; complete follow-ups; record feedback; attach signals; merge duplicates |
/// | owner | everything: also assign the owner, change severity, reopen, review and close, and the data-breach commands (declare a breach, move the became-aware instant, file notices): legal notices are the owner's decision, so responders get none of them |
/// | system | open incidents from any source (alerts, and the reports a host's forms pass on), add notes, reopen and resolve (intake, auto-resolve) |
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permissions {
    grants: BTreeMap<Role, Grant>,
}

impl Default for Permissions {
    fn default() -> Self {
        Permissions::small_business()
    }
}

impl Permissions {
    /// Grants exactly `grants`; roles left out may do nothing.
    pub fn new(grants: BTreeMap<Role, Grant>) -> Permissions {
        Permissions { grants }
    }

    /// Everyone may do everything (for tests and single-person shops).
    pub fn allow_all() -> Permissions {
        let all = Grant {
            commands: CommandKind::ALL
                .into_iter()
                .filter(|k| k.is_command())
                .collect(),
            open_from: Source::ALL.into_iter().collect(),
        };
        Permissions {
            grants: Role::ALL.into_iter().map(|r| (r, all.clone())).collect(),
        }
    }

    /// The documented default (see the type's docs).
    pub fn small_business() -> Permissions {
        use CommandKind as C;
        let set = |kinds: &[CommandKind]| kinds.iter().copied().collect::<BTreeSet<_>>();
        let support = Grant {
            commands: set(&[
                C::Open,
                C::AddNote,
                C::PostCustomerUpdate,
                C::SetImpact,
                C::SetPublicTitle,
                C::RecordFeedback,
                C::Attach,
            ]),
            open_from: [Source::CustomerReport].into(),
        };
        let responder_kinds = [
            C::Open,
            C::Acknowledge,
            C::StartInvestigating,
            C::Identify,
            C::Mitigate,
            C::Resolve,
            C::AddNote,
            C::PostCustomerUpdate,
            C::SetImpact,
            C::SetPublicTitle,
            C::WaitForVendor,
            C::VendorResponded,
            C::AddResponder,
            C::RemoveResponder,
            C::AddTask,
            C::AssignTask,
            C::CompleteTask,
            C::CompleteFollowUp,
            C::RecordFeedback,
            C::Attach,
            C::Merge,
        ];
        let responder = Grant {
            commands: set(&responder_kinds),
            open_from: [Source::StaffReport, Source::ProactiveCheck].into(),
        };
        let owner = Grant {
            commands: CommandKind::ALL
                .into_iter()
                .filter(|k| k.is_command())
                .collect(),
            open_from: Source::ALL.into_iter().collect(),
        };
        // The system ingests alerts and the reports a host's forms pass on, and reopens or
        // auto-resolves incidents by the intake policy.
        let system = Grant {
            commands: set(&[C::Open, C::AddNote, C::Resolve, C::Reopen]),
            open_from: Source::ALL.into_iter().collect(),
        };
        Permissions {
            grants: BTreeMap::from([
                (Role::Viewer, Grant::default()),
                (Role::Support, support),
                (Role::Responder, responder),
                (Role::Owner, owner),
                (Role::System, system),
            ]),
        }
    }

    /// The grant of `role` (empty if it has none).
    pub fn grant(&self, role: Role) -> Grant {
        self.grants.get(&role).cloned().unwrap_or_default()
    }

    /// Whether `role` may send `command`.
    pub fn allows(&self, role: Role, command: &Command) -> bool {
        let Some(grant) = self.grants.get(&role) else {
            return false;
        };
        match command {
            Command::Open { incident, .. } => {
                grant.commands.contains(&CommandKind::Open)
                    && grant.open_from.contains(&incident.source())
            }
            other => grant.commands.contains(&other.kind()),
        }
    }

    /// Whether `role` may open an incident from `source`.
    pub fn allows_open(&self, role: Role, source: Source) -> bool {
        self.grants.get(&role).is_some_and(|g| {
            g.commands.contains(&CommandKind::Open) && g.open_from.contains(&source)
        })
    }
}
