//! Policies: SLA targets, customer-update cadence and escalation chains, per severity and
//! optionally per service. Plain data (serde), validated on construction.

pub use crate::heartbeat::Heartbeat;
pub use crate::simulate::{Simulated, simulate};

use std::collections::BTreeMap;
use std::fmt;

use chrono::Duration;
use serde::{Deserialize, Serialize};

use crate::calendar::Calendar;
use crate::intake::Intake;
use crate::model::{Role, Service};
use crate::people::Playbook;
use crate::severity::Severity;

/// A policy that breaks a rule. Every variant names where the problem is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// A duration that must be positive is zero or negative.
    #[error("{severity} {field}: must be longer than zero, got {value}")]
    NotPositive {
        /// Which severity's targets.
        severity: Severity,
        /// Which duration.
        field: &'static str,
        /// The value given, formatted.
        value: String,
    },
    /// A duration longer than the hundred years a policy may name.
    #[error("{severity} {field}: must be at most 100 years, got {value}")]
    TooLong {
        /// Which severity's targets.
        severity: Severity,
        /// Which duration.
        field: &'static str,
        /// The value given, formatted.
        value: String,
    },
    /// An escalation chain without steps.
    #[error("{severity} escalation: the chain has no steps")]
    EmptyChain {
        /// Which severity's chain.
        severity: Severity,
    },
    /// An escalation step with nobody to notify.
    #[error("{severity} escalation step {step}: names nobody to notify")]
    NoRecipients {
        /// Which severity's chain.
        severity: Severity,
        /// Step number, from 1.
        step: usize,
    },
    /// Escalation steps whose delays do not increase.
    #[error(
        "{severity} escalation step {step}: its delay {delay} is not after the previous step's {previous}"
    )]
    StepsOutOfOrder {
        /// Which severity's chain.
        severity: Severity,
        /// Step number, from 1.
        step: usize,
        /// Its delay.
        delay: String,
        /// The previous step's delay.
        previous: String,
    },
    /// A repeat that starts from a step the chain does not have.
    #[error("{severity} escalation: repeat from step {from_step}, but the chain has {steps} steps")]
    RepeatFromMissingStep {
        /// Which severity's chain.
        severity: Severity,
        /// The step named (from 1).
        from_step: usize,
        /// How many steps there are.
        steps: usize,
    },
    /// An at-risk threshold outside 1–99 percent.
    #[error("{severity} at-risk threshold: must be between 1 and 99 percent, got {percent}")]
    AtRiskOutOfRange {
        /// Which severity's targets.
        severity: Severity,
        /// The value given.
        percent: u8,
    },
    /// An intake rule that makes no sense (a negative window, a maintenance window that
    /// ends before it starts).
    #[error("intake: {rule}")]
    Intake {
        /// What is wrong.
        rule: String,
    },
    /// Business-hours targets with a calendar that is never open.
    #[error("{severity}: counts business hours, but the calendar has no opening hours")]
    NeverOpen {
        /// Which severity's targets.
        severity: Severity,
    },
    /// A heartbeat that breaks a rule: a period that is not positive, a negative grace, a
    /// name declared twice, opening hours on a calendar that never opens.
    #[error("heartbeat {name}: {rule}")]
    Heartbeat {
        /// The heartbeat's name.
        name: String,
        /// What is wrong.
        rule: String,
    },
    /// An escalation step pages whoever is on call in a schedule the policy does not have.
    #[error("{severity} escalation step {step}: no on-call schedule named {schedule:?}")]
    UnknownSchedule {
        /// Which severity's chain.
        severity: Severity,
        /// Step number, from 1.
        step: usize,
        /// The schedule named.
        schedule: String,
    },
    /// The SLA warnings go to whoever is on call in a schedule the policy does not have.
    #[error("{severity} SLA warnings: no on-call schedule named {schedule:?}")]
    UnknownWarningSchedule {
        /// Which severity's targets.
        severity: Severity,
        /// The schedule named.
        schedule: String,
    },
    /// Two on-call schedules with one name.
    #[error("on-call schedule {schedule:?} is declared twice")]
    DuplicateSchedule {
        /// The name.
        schedule: String,
    },
    /// A language tag in [`Languages`] that is not a BCP 47 tag (`he`, `en-GB`, `ar-EG`).
    #[error("languages: {whose} {tag:?} is not a language tag ({reason})")]
    Language {
        /// Whose language: `shop`, `person dana`, `channel ops`.
        whose: String,
        /// The tag given.
        tag: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// Which clock a target runs on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Hours {
    /// Wall-clock time: every minute counts, night and day.
    #[default]
    AroundTheClock,
    /// Only the policy calendar's opening hours count.
    Business,
}

/// Who an escalation step notifies.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Recipient {
    /// The incident's owner, or, while it has none, everyone with the owner role.
    IncidentOwner,
    /// A person, by actor id.
    Person(String),
    /// Everyone with a role.
    Role(Role),
    /// A channel the host knows (a chat room, a pager rotation, an SMS list).
    Channel(String),
    /// Whoever is on call in the policy's on-call schedule of this name, resolved when the
    /// escalation step or SLA warning fires: the notification names that person instead, or
    /// the incident's owner when nobody is on call. The fired timer keeps this recipient; the
    /// notification keeps who was paged. A desk refuses a policy naming a schedule it does
    /// not have ([`Policy::check_schedules`]).
    OnCall(String),
}

impl fmt::Display for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Recipient::IncidentOwner => f.write_str("the incident owner"),
            Recipient::Person(id) => write!(f, "{id}"),
            Recipient::Role(role) => write!(f, "every {role}"),
            Recipient::Channel(name) => write!(f, "#{name}"),
            Recipient::OnCall(schedule) => write!(f, "whoever is on call in {schedule}"),
        }
    }
}

/// One escalation step: after `after` (from the start of the chain), notify `notify`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// Delay from the start of the chain (the incident opening, or reopening).
    #[serde(with = "crate::duration_text")]
    pub after: Duration,
    /// Who to notify.
    pub notify: Vec<Recipient>,
    /// A channel hint passed on with the notification (`sms`, `phone`, `chat`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
}

/// How often a chain runs again after its last step, while nobody acknowledges.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Rounds {
    /// Once through the steps, no repeat.
    #[default]
    Once,
    /// This many extra rounds.
    Times(u32),
    /// Until acknowledged (or resolved).
    UntilAcknowledged,
}

/// What a chain does outside the calendar's opening hours.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutsideHours {
    /// From this severity up, steps fire at any hour ("page anyway"). Below it — or for every
    /// severity if `None` — the chain's delays count opening hours only, so a chain started
    /// after closing waits for the opening. Around-the-clock calendars are always open.
    pub page_anyway_from: Option<Severity>,
}

/// An escalation chain: ordered steps, optionally repeated while nobody acknowledges.
///
/// Acknowledging stops the chain; resolving stops everything; reopening starts it again from
/// the first step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chain {
    /// The steps, in order of increasing delay.
    pub steps: Vec<Step>,
    /// Extra rounds after the last step.
    #[serde(default)]
    pub rounds: Rounds,
    /// Index (from 0) of the step extra rounds start from.
    #[serde(default)]
    pub repeat_from: usize,
    /// The pause between the last step of a round and the first step of the next.
    #[serde(with = "crate::duration_text", default = "default_repeat_pause")]
    pub repeat_pause: Duration,
    /// What happens outside opening hours.
    #[serde(default)]
    pub outside_hours: OutsideHours,
}

/// The longest duration a policy may name: a hundred years ("never", in practice).
pub(crate) fn max_duration() -> Duration {
    Duration::days(36_525)
}

fn default_repeat_pause() -> Duration {
    Duration::minutes(15)
}

/// What is promised for incidents of one severity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Targets {
    /// Acknowledge within this long.
    #[serde(default, with = "crate::duration_text::option")]
    pub acknowledge: Option<Duration>,
    /// Resolve within this long (vendor waits pause it; reopening continues it).
    #[serde(default, with = "crate::duration_text::option")]
    pub resolve: Option<Duration>,
    /// While active, give customers an update at least this often.
    #[serde(default, with = "crate::duration_text::option")]
    pub customer_updates: Option<Duration>,
    /// A target is at risk once this share of it has passed (percent, 1–99).
    #[serde(default = "default_at_risk")]
    pub at_risk_percent: u8,
    /// Which clock the targets run on.
    #[serde(default)]
    pub hours: Hours,
    /// Whether a post-incident review must be recorded before closing.
    #[serde(default)]
    pub review_required: bool,
    /// Who to page while nobody acknowledges.
    #[serde(default)]
    pub escalation: Option<Chain>,
    /// Who the SLA warnings go to (a target at risk, a target missed): empty for the
    /// incident's owner (or, while it has none, everyone with the owner role). A
    /// [`Recipient::OnCall`] is resolved when the warning fires, and the notification names
    /// the person who was on call.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warn: Vec<Recipient>,
}

fn default_at_risk() -> u8 {
    75
}

impl Targets {
    /// Targets with nothing promised, measured around the clock, at risk at 75%.
    pub fn none() -> Targets {
        Targets {
            acknowledge: None,
            resolve: None,
            customer_updates: None,
            at_risk_percent: default_at_risk(),
            hours: Hours::AroundTheClock,
            review_required: false,
            escalation: None,
            warn: Vec::new(),
        }
    }

    /// The same targets with SLA warnings sent to `recipients` instead of the incident's
    /// owner.
    #[must_use]
    pub fn with_warnings_to(mut self, recipients: Vec<Recipient>) -> Targets {
        self.warn = recipients;
        self
    }

    fn validate(&self, severity: Severity, calendar: &Calendar) -> Result<(), PolicyError> {
        for (field, value) in [
            ("acknowledge target", self.acknowledge),
            ("resolve target", self.resolve),
            ("customer update cadence", self.customer_updates),
        ] {
            if let Some(value) = value.filter(|v| *v <= Duration::zero()) {
                return Err(PolicyError::NotPositive {
                    severity,
                    field,
                    value: crate::duration_text::format(value),
                });
            }
            if let Some(value) = value.filter(|v| *v > max_duration()) {
                return Err(PolicyError::TooLong {
                    severity,
                    field,
                    value: crate::duration_text::format(value),
                });
            }
        }
        if !(1..=99).contains(&self.at_risk_percent) {
            return Err(PolicyError::AtRiskOutOfRange {
                severity,
                percent: self.at_risk_percent,
            });
        }
        let business_chain = self.escalation.as_ref().is_some_and(|c| {
            c.outside_hours
                .page_anyway_from
                .is_none_or(|from| severity < from)
        });
        if (self.hours == Hours::Business || business_chain) && !calendar.has_opening_hours() {
            return Err(PolicyError::NeverOpen { severity });
        }
        if let Some(chain) = &self.escalation {
            chain.validate(severity)?;
        }
        Ok(())
    }
}

impl Chain {
    fn validate(&self, severity: Severity) -> Result<(), PolicyError> {
        if self.steps.is_empty() {
            return Err(PolicyError::EmptyChain { severity });
        }
        let mut previous: Option<Duration> = None;
        for (i, step) in self.steps.iter().enumerate() {
            if step.notify.is_empty() {
                return Err(PolicyError::NoRecipients {
                    severity,
                    step: i + 1,
                });
            }
            if step.after < Duration::zero() {
                return Err(PolicyError::NotPositive {
                    severity,
                    field: "escalation step delay",
                    value: crate::duration_text::format(step.after),
                });
            }
            if step.after > max_duration() {
                return Err(PolicyError::TooLong {
                    severity,
                    field: "escalation step delay",
                    value: crate::duration_text::format(step.after),
                });
            }
            if let Some(previous) = previous.filter(|p| step.after <= *p) {
                return Err(PolicyError::StepsOutOfOrder {
                    severity,
                    step: i + 1,
                    delay: crate::duration_text::format(step.after),
                    previous: crate::duration_text::format(previous),
                });
            }
            previous = Some(step.after);
        }
        if self.repeat_from >= self.steps.len() {
            return Err(PolicyError::RepeatFromMissingStep {
                severity,
                from_step: self.repeat_from + 1,
                steps: self.steps.len(),
            });
        }
        if self.repeat_pause > max_duration() {
            return Err(PolicyError::TooLong {
                severity,
                field: "escalation repeat pause",
                value: crate::duration_text::format(self.repeat_pause),
            });
        }
        if self.rounds != Rounds::Once && self.repeat_pause <= Duration::zero() {
            return Err(PolicyError::NotPositive {
                severity,
                field: "escalation repeat pause",
                value: crate::duration_text::format(self.repeat_pause),
            });
        }
        Ok(())
    }
}

/// Targets and escalation per severity, optional overrides per service, and the calendar
/// business hours are counted in. Validated on construction (and on deserialisation).
///
/// ```
/// use chrono::Duration;
/// use incidents::{Policy, Severity};
///
/// let policy = Policy::small_business();
/// let critical = policy.targets(Severity::Critical, None);
/// assert_eq!(critical.acknowledge, Some(Duration::minutes(15)));
/// assert_eq!(critical.resolve, Some(Duration::hours(1)));
/// assert_eq!(critical.customer_updates, Some(Duration::minutes(30)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "PolicySpec", into = "PolicySpec")]
pub struct Policy {
    calendar: Calendar,
    severities: BTreeMap<Severity, Targets>,
    services: BTreeMap<Service, BTreeMap<Severity, Targets>>,
    intake: Intake,
    playbooks: Vec<Playbook>,
    /// Sorted by name (names are unique), so a check-in finds its heartbeat by binary search.
    heartbeats: Vec<Heartbeat>,
    languages: Languages,
    schedules: Vec<crate::oncall::Schedule>,
}

#[derive(Serialize, Deserialize)]
struct PolicySpec {
    #[serde(default)]
    calendar: Calendar,
    severities: BTreeMap<Severity, Targets>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    services: BTreeMap<Service, BTreeMap<Severity, Targets>>,
    #[serde(default)]
    intake: Intake,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    playbooks: Vec<Playbook>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    heartbeats: Vec<Heartbeat>,
    #[serde(default, skip_serializing_if = "Languages::is_default")]
    languages: Languages,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    schedules: Vec<crate::oncall::Schedule>,
}

impl TryFrom<PolicySpec> for Policy {
    type Error = PolicyError;
    fn try_from(spec: PolicySpec) -> Result<Policy, PolicyError> {
        let mut policy = Policy::new(spec.calendar, spec.severities)?.with_intake(spec.intake)?;
        policy.playbooks = spec.playbooks;
        for (service, targets) in spec.services {
            for (severity, t) in targets {
                policy = policy.with_service_override(service.clone(), severity, t)?;
            }
        }
        for heartbeat in spec.heartbeats {
            policy = policy.with_heartbeat(heartbeat)?;
        }
        // Checks every step's schedule too.
        policy
            .with_languages(spec.languages)?
            .with_schedules(spec.schedules)
    }
}

impl From<Policy> for PolicySpec {
    fn from(p: Policy) -> PolicySpec {
        PolicySpec {
            calendar: p.calendar,
            severities: p.severities,
            services: p.services,
            intake: p.intake,
            playbooks: p.playbooks,
            heartbeats: p.heartbeats,
            languages: p.languages,
            schedules: p.schedules,
        }
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy::small_business()
    }
}

impl Policy {
    /// A policy with `targets` per severity (severities left out promise nothing), counting
    /// business hours in `calendar`.
    ///
    /// # Errors
    /// [`PolicyError`] naming the severity and the rule broken.
    pub fn new(
        calendar: Calendar,
        targets: BTreeMap<Severity, Targets>,
    ) -> Result<Policy, PolicyError> {
        for (severity, t) in &targets {
            t.validate(*severity, &calendar)?;
        }
        Ok(Policy {
            calendar,
            severities: targets,
            services: BTreeMap::new(),
            intake: Intake::default(),
            playbooks: Vec::new(),
            heartbeats: Vec::new(),
            languages: Languages::default(),
            schedules: Vec::new(),
        })
    }

    /// Replaces the on-call schedules that escalation steps and SLA warnings page through
    /// [`Recipient::OnCall`].
    ///
    /// # Errors
    /// [`PolicyError::DuplicateSchedule`] if two share a name;
    /// [`PolicyError::UnknownSchedule`] or [`PolicyError::UnknownWarningSchedule`] if a step
    /// or an SLA warning list names a schedule not among them.
    pub fn with_schedules(
        mut self,
        schedules: Vec<crate::oncall::Schedule>,
    ) -> Result<Policy, PolicyError> {
        let mut names = std::collections::BTreeSet::new();
        for schedule in &schedules {
            if !names.insert(schedule.name()) {
                return Err(PolicyError::DuplicateSchedule {
                    schedule: schedule.name().to_string(),
                });
            }
        }
        self.schedules = schedules;
        self.check_schedules()?;
        Ok(self)
    }

    /// The on-call schedule named `name`.
    pub fn schedule(&self, name: &str) -> Option<&crate::oncall::Schedule> {
        self.schedules.iter().find(|s| s.name() == name)
    }

    /// The on-call schedules.
    pub fn schedules(&self) -> &[crate::oncall::Schedule] {
        &self.schedules
    }

    /// Who a recipient is at `at`: whoever is on call for [`Recipient::OnCall`] (the
    /// incident's owner when nobody is, or the schedule is unknown), itself otherwise.
    pub(crate) fn resolve_recipient(
        &self,
        recipient: &Recipient,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Recipient {
        match recipient {
            Recipient::OnCall(name) => {
                if let Some(person) = self.schedule(name).and_then(|s| s.on_call_at(at)) {
                    return Recipient::Person(person.to_string());
                }
                Recipient::IncidentOwner
            }
            other => other.clone(),
        }
    }

    /// The names of the on-call schedules the policy has.
    fn schedule_names(&self) -> Vec<&str> {
        self.schedules
            .iter()
            .map(crate::oncall::Schedule::name)
            .collect()
    }

    /// Checks that every escalation step and SLA warning list that pages whoever is on call
    /// names a schedule the policy has.
    ///
    /// [`Policy::new`] and [`Policy::with_service_override`] take targets before the
    /// schedules are known, so they do not check this; [`Policy::with_schedules`] does, and so
    /// do deserialising a policy and building a [`Desk`](crate::Desk), which refuses such a
    /// policy.
    ///
    /// # Errors
    /// [`PolicyError::UnknownSchedule`] for the first such step, or
    /// [`PolicyError::UnknownWarningSchedule`] for the first such warning list.
    pub fn check_schedules(&self) -> Result<(), PolicyError> {
        let known = self.schedule_names();
        let unknown = |recipient: &Recipient| match recipient {
            Recipient::OnCall(schedule) if !known.contains(&schedule.as_str()) => {
                Some(schedule.clone())
            }
            _ => None,
        };
        let all = self
            .severities
            .iter()
            .chain(self.services.values().flat_map(|m| m.iter()));
        for (severity, targets) in all {
            for (i, step) in targets
                .escalation
                .iter()
                .flat_map(|c| c.steps.iter())
                .enumerate()
            {
                if let Some(schedule) = step.notify.iter().find_map(unknown) {
                    return Err(PolicyError::UnknownSchedule {
                        severity: *severity,
                        step: i + 1,
                        schedule,
                    });
                }
            }
            if let Some(schedule) = targets.warn.iter().find_map(unknown) {
                return Err(PolicyError::UnknownWarningSchedule {
                    severity: *severity,
                    schedule,
                });
            }
        }
        Ok(())
    }

    /// Replaces the targets for `severity` incidents of `service`.
    ///
    /// # Errors
    /// [`PolicyError`] if `targets` break a rule.
    pub fn with_service_override(
        mut self,
        service: Service,
        severity: Severity,
        targets: Targets,
    ) -> Result<Policy, PolicyError> {
        targets.validate(severity, &self.calendar)?;
        self.services
            .entry(service)
            .or_default()
            .insert(severity, targets);
        Ok(self)
    }

    /// Replaces the calendar.
    ///
    /// # Errors
    /// [`PolicyError::NeverOpen`] if some targets count business hours and `calendar` has no
    /// opening hours; [`PolicyError::Heartbeat`] if a heartbeat counts opening hours and
    /// `calendar` has none.
    pub fn with_calendar(mut self, calendar: Calendar) -> Result<Policy, PolicyError> {
        for (severity, t) in self
            .severities
            .iter()
            .chain(self.services.values().flat_map(|m| m.iter()))
        {
            t.validate(*severity, &calendar)?;
        }
        for heartbeat in &self.heartbeats {
            heartbeat.validate(&calendar)?;
        }
        self.calendar = calendar;
        Ok(self)
    }

    /// The documented default for a small business, around the clock in UTC (give it your
    /// opening hours with [`with_calendar`](Self::with_calendar)):
    ///
    /// | severity | acknowledge | resolve | customer updates | clock | review | escalation |
    /// |---|---|---|---|---|---|---|
    /// | critical | 15 min | 1 h | every 30 min | 24/7 | required | owner now, again at 10 min, every responder at 15 min, then steps 2–3 again every 15 min until acknowledged |
    /// | high | 30 min | 4 h | every 1 h | 24/7 | required | owner now, every responder at 30 min, then twice more every 30 min |
    /// | medium | 4 h | 3 days | — | business hours | — | owner, when the shop is open |
    /// | low | 1 day | 10 days | — | business hours | — | — |
    ///
    /// Critical and high page at any hour; medium waits for opening hours.
    pub fn small_business() -> Policy {
        let owner = || vec![Recipient::IncidentOwner];
        let responders = || vec![Recipient::Role(Role::Responder)];
        let step = |minutes: i64, notify| Step {
            after: Duration::minutes(minutes),
            notify,
            channel: None,
        };
        let page_anyway = OutsideHours {
            page_anyway_from: Some(Severity::High),
        };
        let critical = Targets {
            acknowledge: Some(Duration::minutes(15)),
            resolve: Some(Duration::hours(1)),
            customer_updates: Some(Duration::minutes(30)),
            review_required: true,
            escalation: Some(Chain {
                steps: vec![step(0, owner()), step(10, owner()), step(15, responders())],
                rounds: Rounds::UntilAcknowledged,
                repeat_from: 1,
                repeat_pause: Duration::minutes(15),
                outside_hours: page_anyway,
            }),
            ..Targets::none()
        };
        let high = Targets {
            acknowledge: Some(Duration::minutes(30)),
            resolve: Some(Duration::hours(4)),
            customer_updates: Some(Duration::hours(1)),
            review_required: true,
            escalation: Some(Chain {
                steps: vec![step(0, owner()), step(30, responders())],
                rounds: Rounds::Times(2),
                repeat_from: 1,
                repeat_pause: Duration::minutes(30),
                outside_hours: page_anyway,
            }),
            ..Targets::none()
        };
        let medium = Targets {
            acknowledge: Some(Duration::hours(4)),
            resolve: Some(Duration::days(3)),
            hours: Hours::Business,
            escalation: Some(Chain {
                steps: vec![step(0, owner())],
                rounds: Rounds::Once,
                repeat_from: 0,
                repeat_pause: Duration::minutes(15),
                outside_hours: page_anyway,
            }),
            ..Targets::none()
        };
        let low = Targets {
            acknowledge: Some(Duration::days(1)),
            resolve: Some(Duration::days(10)),
            hours: Hours::Business,
            ..Targets::none()
        };
        Policy {
            calendar: Calendar::always_open(),
            severities: BTreeMap::from([
                (Severity::Critical, critical),
                (Severity::High, high),
                (Severity::Medium, medium),
                (Severity::Low, low),
            ]),
            services: BTreeMap::new(),
            intake: Intake::default(),
            playbooks: Vec::new(),
            heartbeats: Vec::new(),
            languages: Languages::default(),
            schedules: Vec::new(),
        }
    }

    /// Adds a playbook: its tasks are added to every matching incident when it opens.
    #[must_use]
    pub fn with_playbook(mut self, playbook: Playbook) -> Policy {
        self.playbooks.push(playbook);
        self
    }

    /// The playbooks.
    pub fn playbooks(&self) -> &[Playbook] {
        &self.playbooks
    }

    /// Declares a [`Heartbeat`]: the desk expects check-ins under its name and opens an
    /// incident when they stop (see [`Desk::check_in`](crate::Desk::check_in)).
    ///
    /// # Errors
    /// [`PolicyError::Heartbeat`] if its period is not longer than zero, its grace is
    /// negative, either is longer than 100 years, it counts opening hours on a calendar that
    /// has none, or a heartbeat with its name is already declared.
    pub fn with_heartbeat(mut self, heartbeat: Heartbeat) -> Result<Policy, PolicyError> {
        heartbeat.validate(&self.calendar)?;
        match self.heartbeat_index(heartbeat.name()) {
            Ok(_) => Err(PolicyError::Heartbeat {
                name: heartbeat.name().to_string(),
                rule: "declared twice; heartbeat names must be unique".into(),
            }),
            Err(at) => {
                self.heartbeats.insert(at, heartbeat);
                Ok(self)
            }
        }
    }

    /// Sets which language the shop and each person and channel read (see [`Languages`]).
    ///
    /// # Errors
    /// [`PolicyError::Language`] naming a tag that is not a BCP 47 language tag.
    pub fn with_languages(mut self, languages: Languages) -> Result<Policy, PolicyError> {
        languages.validate()?;
        self.languages = languages;
        Ok(self)
    }

    /// Which language the shop and each person and channel read.
    pub fn languages(&self) -> &Languages {
        &self.languages
    }

    /// The declared heartbeats, by name.
    pub fn heartbeats(&self) -> &[Heartbeat] {
        &self.heartbeats
    }

    /// The heartbeat named `name`, if one is declared.
    pub fn heartbeat(&self, name: &str) -> Option<&Heartbeat> {
        let at = self.heartbeat_index(name).ok()?;
        self.heartbeats.get(at)
    }

    /// Where heartbeat `name` is in [`heartbeats`](Self::heartbeats), or where it would go.
    pub(crate) fn heartbeat_index(&self, name: &str) -> Result<usize, usize> {
        self.heartbeats.binary_search_by(|h| h.name().cmp(name))
    }

    /// Whether `incident` needs a post-incident review before it may close: its targets say
    /// so, or it is a recurrence at or past the intake's recurrence rule with
    /// `require_review`. Never for an incident resolved as a false alarm or as a duplicate
    /// (merged): there is nothing of its own to learn from, and the incident it duplicates
    /// carries the review.
    pub fn review_required(&self, incident: &crate::incident::Incident) -> bool {
        use crate::lifecycle::Resolution;
        if let Some(Resolution::FalseAlarm | Resolution::Duplicate { .. }) = incident.resolution() {
            return false;
        }
        let targets = self.targets(incident.severity(), Some(incident.service()));
        let recurring = match (self.intake.recurrence_rule, incident.recurrence()) {
            (Some(rule), Some(r)) => rule.require_review && r.count >= rule.from,
            _ => false,
        };
        targets.review_required || recurring
    }

    /// Replaces the intake rules (how alerts become incidents).
    ///
    /// # Errors
    /// [`PolicyError::Intake`] if a rule makes no sense.
    pub fn with_intake(mut self, intake: Intake) -> Result<Policy, PolicyError> {
        intake.validate()?;
        self.intake = intake;
        Ok(self)
    }

    /// How alerts become incidents.
    pub fn intake(&self) -> &Intake {
        &self.intake
    }

    /// The calendar business hours are counted in.
    pub fn calendar(&self) -> &Calendar {
        &self.calendar
    }

    /// The targets for a `severity` incident of `service` (the service's override if it has
    /// one). Severities without targets promise nothing.
    pub fn targets(&self, severity: Severity, service: Option<&Service>) -> &Targets {
        static NONE: std::sync::OnceLock<Targets> = std::sync::OnceLock::new();
        service
            .and_then(|s| self.services.get(s))
            .and_then(|m| m.get(&severity))
            .or_else(|| self.severities.get(&severity))
            .unwrap_or_else(|| NONE.get_or_init(Targets::none))
    }
}

/// Which language each recipient of the desk's messages reads, as BCP 47 tags (`he`, `en`,
/// `ar`, `ru`, `en-GB`).
///
/// With catalogs (`DeskBuilder::catalogs`, feature `l10n`), the desk renders each
/// notification in its recipients' language: the owner and the people an escalation step
/// names in their own ([`people`](Self::people), by actor id, else the shop's), channels in
/// theirs ([`channels`](Self::channels), else the shop's), roles and customers in the shop's
/// ([`shop`](Self::shop)). A step whose recipients read different languages becomes one
/// notification per language, each addressed to its readers. Without catalogs the desk's
/// [`Templates`](crate::notify::Templates) are used and this is not consulted.
///
/// ```
/// use incidents::policy::Languages;
/// use incidents::Policy;
///
/// let languages = Languages::shop("he").person("avi", "en").channel("night-shift", "ru");
/// let policy = Policy::small_business().with_languages(languages)?;
/// assert_eq!(policy.languages().of_person("avi"), "en");
/// assert_eq!(policy.languages().of_person("dana"), "he");
/// # Ok::<(), incidents::policy::PolicyError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Languages {
    /// The shop's language: the default for everyone, and the language of messages to
    /// customers and to roles.
    pub shop: String,
    /// People's languages, by actor id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub people: BTreeMap<String, String>,
    /// Channels' languages, by channel name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub channels: BTreeMap<String, String>,
}

impl Default for Languages {
    /// Everything in English.
    fn default() -> Self {
        Languages::shop("en")
    }
}

impl Languages {
    /// Everyone reads `tag`, until told otherwise.
    pub fn shop(tag: impl Into<String>) -> Languages {
        Languages {
            shop: tag.into(),
            people: BTreeMap::new(),
            channels: BTreeMap::new(),
        }
    }

    /// The person with actor id `id` reads `tag`.
    #[must_use]
    pub fn person(mut self, id: impl Into<String>, tag: impl Into<String>) -> Languages {
        self.people.insert(id.into(), tag.into());
        self
    }

    /// The channel called `name` reads `tag`.
    #[must_use]
    pub fn channel(mut self, name: impl Into<String>, tag: impl Into<String>) -> Languages {
        self.channels.insert(name.into(), tag.into());
        self
    }

    /// The language of the person with actor id `id`.
    pub fn of_person(&self, id: &str) -> &str {
        self.people.get(id).unwrap_or(&self.shop)
    }

    /// The language a message to `recipient` is written in; `owner` is the incident's
    /// owner's actor id, if it has one.
    pub fn of_recipient(&self, recipient: &Recipient, owner: Option<&str>) -> &str {
        match recipient {
            Recipient::IncidentOwner => owner.map_or(self.shop.as_str(), |o| self.of_person(o)),
            Recipient::Person(id) => self.of_person(id),
            Recipient::Role(_) | Recipient::OnCall(_) => &self.shop,
            Recipient::Channel(name) => self.channels.get(name).unwrap_or(&self.shop),
        }
    }

    fn is_default(&self) -> bool {
        *self == Languages::default()
    }

    fn validate(&self) -> Result<(), PolicyError> {
        let check = |whose: String, tag: &str| {
            language_tag_problem(tag).map_or(Ok(()), |reason| {
                Err(PolicyError::Language {
                    whose,
                    tag: tag.to_string(),
                    reason,
                })
            })
        };
        check("shop".into(), &self.shop)?;
        for (id, tag) in &self.people {
            check(format!("person {id}"), tag)?;
        }
        for (name, tag) in &self.channels {
            check(format!("channel {name}"), tag)?;
        }
        Ok(())
    }
}

/// What makes `tag` not a BCP 47 language tag in its well-formed shape: a language subtag of
/// 2–3 or 5–8 letters, then subtags of 1–8 letters or digits, joined by `-` (or `_`, which
/// catalogs accept too). Whether the language exists is the catalogs' business: an unknown one
/// falls back to English.
fn language_tag_problem(tag: &str) -> Option<&'static str> {
    let mut subtags = tag.split(['-', '_']);
    let language = subtags.next().unwrap_or_default();
    if language.is_empty() {
        return Some("empty");
    }
    if !language.bytes().all(|b| b.is_ascii_alphabetic())
        || !matches!(language.len(), 2 | 3 | 5..=8)
    {
        return Some("the language must be 2, 3 or 5 to 8 letters");
    }
    for subtag in subtags {
        if subtag.is_empty()
            || subtag.len() > 8
            || !subtag.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Some("each subtag after the language must be 1 to 8 letters or digits");
        }
    }
    None
}
