//! Regulatory deadline clocks: data-breach notices as timers.
//!
//! When an incident turns out to be a personal-data breach, laws and contracts start clocks:
//! the supervisory authority within 72 hours (GDPR Art. 33), the card acquirer at once, the
//! affected residents within 30 days (California). A [`Regime`] describes one such duty as
//! data: its [`Phase`]s, each with a [`Deadline`] counted from the instant the business
//! *became aware* of the breach, a [`Recipient`], whether a late filing must give reasons,
//! and a checklist of what the filing must hold.
//!
//! [`Command::DeclareBreach`](crate::Command::DeclareBreach) puts regimes on an incident
//! (their phases are stored in the event, so the history explains itself even if a later
//! release changes a built-in regime), [`Command::SetBecameAware`](crate::Command::SetBecameAware)
//! moves the awareness instant with a reason (the clocks move, the old value stays in the
//! history), and [`Command::FileNotice`](crate::Command::FileNotice) records a filing, which
//! stops that phase's clock. The desk's timer engine fires an at-risk warning once 75 % of a
//! phase's time has passed and an overdue warning at its deadline, each exactly once, paging
//! the incident's owner. [`Incident::breach`](crate::Incident::breach) reads the state.
//!
//! With the feature `regulatory`, `Evidence` exports one incident's regulatory record as JSON
//! and text, and `compliance` counts per regime the notices due in a window filed on time,
//! late, or not at all.
//!
//! The built-in regimes (feature `regulatory`, in `builtin`) are a starting point with
//! their sources cited. **They are not legal advice**: check them with a lawyer for your
//! business, and build your own [`Regime`] values where they differ.
//!
//! The regime data types and the events are compiled without the feature too: a store
//! holding breach events must open in every build of the crate.

#[cfg(feature = "regulatory")]
pub mod builtin;
#[cfg(feature = "regulatory")]
mod compliance;
#[cfg(feature = "regulatory")]
mod evidence;
pub(crate) mod state;

#[cfg(feature = "regulatory")]
pub use compliance::{RegimeCompliance, compliance};
#[cfg(feature = "regulatory")]
pub use evidence::{Evidence, EvidenceEntry, NoticeRecord};
pub use state::{AwarenessChange, Breach, Filing, PhaseClock};

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::calendar::Calendar;

/// Who a phase's notice goes to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Recipient {
    /// A supervisory or data-protection authority.
    Authority,
    /// The people whose data was exposed.
    DataSubjects,
    /// The card acquirer (the bank that processes the shop's card payments).
    Acquirer,
    /// Someone else, named.
    Other(String),
}

impl std::fmt::Display for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Recipient::Authority => f.write_str("the authority"),
            Recipient::DataSubjects => f.write_str("the data subjects"),
            Recipient::Acquirer => f.write_str("the acquirer"),
            Recipient::Other(name) => f.write_str(name),
        }
    }
}

/// How long a phase has, counted from the instant the business became aware of the breach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Deadline {
    /// This many hours of wall-clock time (72 hours are 72 hours across a DST change).
    CalendarHours(u32),
    /// This many calendar days: the same local time of day (in the policy calendar's zone)
    /// that many days later.
    CalendarDays(u32),
    /// This many business days: the same local time of day on the n-th following business
    /// day of the policy's [`Calendar`] — a day it opens that is not a holiday (Sunday to
    /// Thursday for a shop in Israel open those days); a calendar without weekly hours (open
    /// around the clock) counts Monday to Friday, minus its holidays.
    BusinessDays(u32),
    /// "Immediately" or "without undue delay": the law names no period, so the clock runs a
    /// short target of this many hours the business sets itself.
    Immediately {
        /// The target, in hours.
        target_hours: u32,
    },
}

impl Deadline {
    /// The longest deadline in hours a regime may set (ten years).
    pub const MAX_HOURS: u32 = 24 * 3653;
    /// The longest deadline in calendar days (ten years).
    pub const MAX_DAYS: u32 = 3653;
    /// The longest deadline in business days (ten years of five-day weeks).
    pub const MAX_BUSINESS_DAYS: u32 = 2610;

    /// When a phase with this deadline falls due, for a breach the business became aware of
    /// at `aware`; business days and calendar days are counted on `calendar`. `None` if the
    /// instant cannot be represented.
    pub fn due(self, aware: DateTime<Utc>, calendar: &Calendar) -> Option<DateTime<Utc>> {
        let tz = calendar.time_zone();
        let local_day = |day: NaiveDate| -> Option<DateTime<Utc>> {
            let time = aware.with_timezone(&tz).time();
            let local = day.and_time(time);
            // A time skipped by a DST change is read an hour later; a repeated one, the
            // earlier of the two.
            tz.from_local_datetime(&local)
                .earliest()
                .or_else(|| {
                    tz.from_local_datetime(&(local + Duration::hours(1)))
                        .earliest()
                })
                .map(|t| t.with_timezone(&Utc))
        };
        let start = aware.with_timezone(&tz).date_naive();
        match self {
            Deadline::CalendarHours(h) | Deadline::Immediately { target_hours: h } => {
                aware.checked_add_signed(Duration::hours(i64::from(h)))
            }
            Deadline::CalendarDays(n) => {
                local_day(start.checked_add_days(chrono::Days::new(u64::from(n)))?)
            }
            Deadline::BusinessDays(n) => {
                let mut day = start;
                let mut counted = 0;
                // At most n weeks plus a year of holidays: bounded.
                for _ in 0..(u64::from(n) * 7 + 400) {
                    if counted == n {
                        break;
                    }
                    day = day.succ_opt()?;
                    if calendar.is_business_day(day) {
                        counted += 1;
                    }
                }
                (counted == n).then_some(())?;
                local_day(day)
            }
        }
    }
}

impl std::fmt::Display for Deadline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Deadline::CalendarHours(h) => write!(f, "{h} hours"),
            Deadline::CalendarDays(d) => write!(f, "{d} calendar days"),
            Deadline::BusinessDays(d) => write!(f, "{d} business days"),
            Deadline::Immediately { target_hours } => {
                write!(f, "immediately (target {target_hours} hours)")
            }
        }
    }
}

/// One notice a regime requires: to whom, by when, and what it must hold.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Phase {
    /// Unique within its regime (`"authority"`, `"residents"`, …).
    pub id: String,
    /// Who gets the notice.
    pub recipient: Recipient,
    /// By when, from becoming aware.
    pub deadline: Deadline,
    /// Whether a notice filed after the deadline must give the reasons for the delay.
    pub late_needs_reason: bool,
    /// What the notice must hold: a checklist for the person filing it.
    pub contents: Vec<String>,
}

impl Phase {
    /// A phase with an empty checklist and no reason required when late.
    pub fn new(id: impl Into<String>, recipient: Recipient, deadline: Deadline) -> Phase {
        Phase {
            id: id.into(),
            recipient,
            deadline,
            late_needs_reason: false,
            contents: Vec::new(),
        }
    }

    /// The same phase, requiring reasons for a late filing.
    #[must_use]
    pub fn late_needs_reason(mut self) -> Phase {
        self.late_needs_reason = true;
        self
    }

    /// The same phase with `item` added to its checklist.
    #[must_use]
    pub fn with_content(mut self, item: impl Into<String>) -> Phase {
        self.contents.push(item.into());
        self
    }

    /// When its at-risk warning falls due: once three quarters of the time between becoming
    /// aware (`aware`) and `due` have passed.
    pub fn at_risk(aware: DateTime<Utc>, due: DateTime<Utc>) -> DateTime<Utc> {
        let span = (due - aware).max(Duration::zero());
        aware + span * 3 / 4
    }
}

/// A set of notice duties that apply together (a law, a regulation, a contract).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Regime {
    /// A short stable id (`"gdpr"`, `"il-reg11"`, …): lowercase letters, digits, `-`, `_`, `.`.
    pub id: String,
    /// Its name for people.
    pub name: String,
    /// Where the duty is written (article, section).
    pub citation: String,
    /// When it applies (who is covered, thresholds).
    pub scope: String,
    /// The notices it requires.
    pub phases: Vec<Phase>,
}

/// What is wrong with a [`Regime`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegimeError {
    /// An id is empty, too long, or has characters other than lowercase letters, digits,
    /// `-`, `_` and `.`. Pick a short slug.
    #[error("{what} id {id:?} must be 1-64 lowercase letters, digits, '-', '_' or '.'")]
    BadId {
        /// `regime` or `phase`.
        what: &'static str,
        /// The id.
        id: String,
    },
    /// The name or citation is empty. Say what the regime is and where it is written.
    #[error("regime {regime}: the {field} must not be empty")]
    Empty {
        /// The regime.
        regime: String,
        /// `name` or `citation`.
        field: &'static str,
    },
    /// The regime has no phases. Give it at least one notice.
    #[error("regime {regime} has no phases")]
    NoPhases {
        /// The regime.
        regime: String,
    },
    /// Two phases share an id. Rename one.
    #[error("regime {regime} has two phases with the id {phase}")]
    DuplicatePhase {
        /// The regime.
        regime: String,
        /// The id.
        phase: String,
    },
    /// Two regimes of one declaration share an id. Declare each regime once.
    #[error("the regime {regime} is declared twice")]
    DuplicateRegime {
        /// The regime.
        regime: String,
    },
    /// A deadline of zero (use [`Deadline::Immediately`] with a target).
    #[error("regime {regime}, phase {phase}: the deadline must be more than zero")]
    ZeroDeadline {
        /// The regime.
        regime: String,
        /// The phase.
        phase: String,
    },
    /// A deadline longer than ten years ([`Deadline::MAX_HOURS`], [`Deadline::MAX_DAYS`],
    /// [`Deadline::MAX_BUSINESS_DAYS`]): surely a typo, and counting it would be slow.
    #[error("regime {regime}, phase {phase}: the deadline is longer than ten years")]
    LongDeadline {
        /// The regime.
        regime: String,
        /// The phase.
        phase: String,
    },
}

fn check_id(what: &'static str, id: &str) -> Result<(), RegimeError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c));
    if ok {
        Ok(())
    } else {
        Err(RegimeError::BadId {
            what,
            id: id.to_owned(),
        })
    }
}

impl Regime {
    /// A regime without phases yet (add them with [`with_phase`](Self::with_phase)).
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        citation: impl Into<String>,
        scope: impl Into<String>,
    ) -> Regime {
        Regime {
            id: id.into(),
            name: name.into(),
            citation: citation.into(),
            scope: scope.into(),
            phases: Vec::new(),
        }
    }

    /// The same regime with `phase` added.
    #[must_use]
    pub fn with_phase(mut self, phase: Phase) -> Regime {
        self.phases.push(phase);
        self
    }

    /// The phase with id `id`.
    pub fn phase(&self, id: &str) -> Option<&Phase> {
        self.phases.iter().find(|p| p.id == id)
    }

    /// Checks the regime: ids are slugs, the name and citation are given, there is at least
    /// one phase, phase ids are unique and no deadline is zero.
    ///
    /// # Errors
    /// The first [`RegimeError`] found.
    pub fn validate(&self) -> Result<(), RegimeError> {
        check_id("regime", &self.id)?;
        let empty = |field| RegimeError::Empty {
            regime: self.id.clone(),
            field,
        };
        if self.name.trim().is_empty() {
            return Err(empty("name"));
        }
        if self.citation.trim().is_empty() {
            return Err(empty("citation"));
        }
        if self.phases.is_empty() {
            return Err(RegimeError::NoPhases {
                regime: self.id.clone(),
            });
        }
        for (i, phase) in self.phases.iter().enumerate() {
            check_id("phase", &phase.id)?;
            if self.phases[..i].iter().any(|p| p.id == phase.id) {
                return Err(RegimeError::DuplicatePhase {
                    regime: self.id.clone(),
                    phase: phase.id.clone(),
                });
            }
            let zero = match phase.deadline {
                Deadline::CalendarHours(n)
                | Deadline::CalendarDays(n)
                | Deadline::BusinessDays(n)
                | Deadline::Immediately { target_hours: n } => n == 0,
            };
            if zero {
                return Err(RegimeError::ZeroDeadline {
                    regime: self.id.clone(),
                    phase: phase.id.clone(),
                });
            }
            let long = match phase.deadline {
                Deadline::CalendarHours(n) | Deadline::Immediately { target_hours: n } => {
                    n > Deadline::MAX_HOURS
                }
                Deadline::CalendarDays(n) => n > Deadline::MAX_DAYS,
                Deadline::BusinessDays(n) => n > Deadline::MAX_BUSINESS_DAYS,
            };
            if long {
                return Err(RegimeError::LongDeadline {
                    regime: self.id.clone(),
                    phase: phase.id.clone(),
                });
            }
        }
        Ok(())
    }
}

/// Validates every regime of a declaration and that no id repeats.
pub(crate) fn validate_all(regimes: &[Regime]) -> Result<(), RegimeError> {
    for (i, regime) in regimes.iter().enumerate() {
        regime.validate()?;
        if regimes[..i].iter().any(|r| r.id == regime.id) {
            return Err(RegimeError::DuplicateRegime {
                regime: regime.id.clone(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone, Utc};
    use chrono_tz::Tz;

    use super::{Deadline, Phase, Recipient, Regime};
    use crate::calendar::Calendar;
    use crate::incident::Incident;
    use crate::lifecycle::{Change, Event, Timer};
    use crate::model::{Actor, IncidentId, Role, Service, Source};
    use crate::severity::Severity;
    use crate::text::{Text, Title};

    #[test]
    fn calendar_days_landing_in_a_dst_gap_are_read_an_hour_later() {
        // 29 March 2026, 02:30 does not exist in Berlin (02:00 → 03:00).
        let berlin = Calendar::always_open_in(Tz::Europe__Berlin);
        let aware = Tz::Europe__Berlin
            .with_ymd_and_hms(2026, 3, 28, 2, 30, 0)
            .unwrap()
            .with_timezone(&Utc);
        let due = Deadline::CalendarDays(1).due(aware, &berlin).unwrap();
        assert_eq!(due, Utc.with_ymd_and_hms(2026, 3, 29, 1, 30, 0).unwrap());
    }

    #[test]
    fn at_risk_is_three_quarters_of_the_time() {
        let aware = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(
            Phase::at_risk(aware, aware + Duration::hours(24)),
            aware + Duration::hours(18)
        );
        // A deadline before awareness warns at once.
        assert_eq!(Phase::at_risk(aware, aware - Duration::hours(1)), aware);
    }

    /// Replaying what `decide` would never record is a history error, not a panic.
    #[test]
    fn impossible_breach_histories_are_refused_on_replay() {
        let t0 = Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap();
        let id = IncidentId::from_bytes([0xBB; 16]);
        let dana = Actor::new("dana", "Dana", Role::Owner).unwrap();
        let event =
            |n: i64, change: Change| Event::new(t0 + Duration::minutes(n), dana.clone(), change);
        let opened = event(
            0,
            Change::Opened {
                id,
                title: Title::new("leak").unwrap(),
                description: None,
                severity: Severity::High,
                service: Service::new("shop").unwrap(),
                source: Source::StaffReport,
                alert_key: None,
                idempotency_key: None,
                recurrence: None,
            },
        );
        let regime = Regime::new("r", "R", "Art. 1", "all").with_phase(Phase::new(
            "p",
            Recipient::Authority,
            Deadline::CalendarHours(72),
        ));
        let declared = event(
            1,
            Change::BreachDeclared {
                regimes: vec![regime],
                became_aware: t0,
            },
        );
        let filed = |phase: &str| {
            event(
                2,
                Change::NoticeFiled {
                    regime: "r".into(),
                    phase: phase.into(),
                    reference: Text::new("reference", "x").unwrap(),
                    summary: Text::new("summary", "y").unwrap(),
                    late_reason: None,
                },
            )
        };
        let warned = event(
            3,
            Change::TimerFired {
                timer: Timer::NoticeOverdue {
                    regime: "r".into(),
                    phase: "p".into(),
                    due: t0,
                },
            },
        );
        // Filing before any declaration, an undeclared phase, twice; warning twice.
        assert!(Incident::replay(id, &[opened.clone(), filed("p")]).is_err());
        assert!(Incident::replay(id, &[opened.clone(), declared.clone(), filed("q")]).is_err());
        assert!(
            Incident::replay(
                id,
                &[opened.clone(), declared.clone(), filed("p"), filed("p")]
            )
            .is_err()
        );
        assert!(
            Incident::replay(
                id,
                &[
                    opened.clone(),
                    declared.clone(),
                    warned.clone(),
                    warned.clone()
                ]
            )
            .is_err()
        );
        assert!(
            Incident::replay(id, &[opened.clone(), declared.clone(), declared.clone()]).is_err()
        );
        let ok = Incident::replay(id, &[opened, declared, filed("p"), warned]).unwrap();
        assert!(ok.breach().unwrap().all_filed());
    }
}
