//! The regulatory record of one incident, for an authority or the shop's lawyer.

use std::fmt;

use chrono::{DateTime, FixedOffset, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::calendar::Calendar;
use crate::incident::Incident;
use crate::lifecycle::Timer;

/// One incident's regulatory record: when the business became aware (and every change of
/// it, with who and why), the declaration, each notice's deadline and filing, and the
/// warnings the clocks gave, every time in the shop's zone. Serializes to JSON (serde);
/// [`Display`](fmt::Display) gives the readable text.
///
/// ```
/// # #[cfg(feature = "regulatory")] {
/// use chrono::{TimeZone, Utc};
/// use chrono_tz::Tz;
/// use incidents::regulatory::{Evidence, builtin};
/// use incidents::{Actor, Calendar, Command, Desk, ManualClock, MemoryStore, NewIncident, Role, Severity, Source};
///
/// let now = Utc.with_ymd_and_hms(2026, 12, 3, 18, 0, 0).unwrap();
/// let desk = Desk::new(MemoryStore::new(), ManualClock::new(now))?;
/// let dana = Actor::new("dana", "Dana", Role::Owner)?;
/// let id = desk.open(&dana, NewIncident::new("Customer list leaked", Severity::High, "shop", Source::StaffReport)?)?.id;
/// desk.act(id, &dana, Command::declare_breach(vec![builtin::gdpr()], now)?)?;
/// let incident = desk.get(id)?;
/// let evidence = Evidence::of(&incident, &Calendar::always_open(), Tz::Asia__Jerusalem).unwrap();
/// assert!(evidence.to_string().contains("gdpr/authority"));
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Evidence {
    /// The incident's id.
    pub incident: String,
    /// Its title.
    pub title: String,
    /// The zone every time is given in (IANA name).
    pub zone: String,
    /// When the business became aware, as it stands.
    pub became_aware: DateTime<FixedOffset>,
    /// Each notice's deadline and outcome, in declaration order.
    pub notices: Vec<NoticeRecord>,
    /// What happened, oldest first.
    pub timeline: Vec<EvidenceEntry>,
}

/// One notice's deadline and outcome in an [`Evidence`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct NoticeRecord {
    /// The regime's id.
    pub regime: String,
    /// Where the duty is written.
    pub citation: String,
    /// The phase's id.
    pub phase: String,
    /// Who it goes to.
    pub recipient: String,
    /// The deadline rule (`72 hours`, `10 business days`, …).
    pub deadline: String,
    /// When it falls due.
    pub due: Option<DateTime<FixedOffset>>,
    /// When it was filed, if it was.
    pub filed: Option<DateTime<FixedOffset>>,
    /// The recipient's reference.
    pub reference: Option<String>,
    /// Filed after the deadline.
    pub late: bool,
    /// The reasons given for a late filing.
    pub late_reason: Option<String>,
    /// Not filed and past its deadline.
    pub overdue: bool,
}

/// One line of an [`Evidence`] timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct EvidenceEntry {
    /// When.
    pub at: DateTime<FixedOffset>,
    /// Who (`system` for the clocks).
    pub by: String,
    /// What, in words.
    pub what: String,
}

/// A person as the record names them: name, id and role.
fn who(actor: &crate::model::Actor) -> String {
    format!("{} ({}, {})", actor.name(), actor.id(), actor.role())
}

impl Evidence {
    /// The record of `incident`'s breach, deadlines counted on `calendar` (the policy's),
    /// times in `zone`; `None` if no breach is declared.
    pub fn of(incident: &Incident, calendar: &Calendar, zone: Tz) -> Option<Evidence> {
        let breach = incident.breach()?;
        let local = |t: DateTime<Utc>| t.with_timezone(&zone).fixed_offset();
        let mut timeline = Vec::new();
        let ids: Vec<&str> = breach.regimes().iter().map(|r| r.id.as_str()).collect();
        timeline.push(EvidenceEntry {
            at: local(breach.declared_at()),
            by: who(breach.declared_by()),
            what: format!("breach declared under {}", ids.join(", ")),
        });
        for change in breach.awareness_changes() {
            timeline.push(EvidenceEntry {
                at: local(change.at),
                by: who(&change.by),
                what: format!(
                    "became-aware moved from {} to {}: {}",
                    local(change.from).format("%Y-%m-%d %H:%M %:z"),
                    local(change.to).format("%Y-%m-%d %H:%M %:z"),
                    change.reason
                ),
            });
        }
        for f in breach.filings() {
            let late = f
                .late_reason
                .as_ref()
                .map_or_else(String::new, |r| format!("; reasons for the delay: {r}"));
            timeline.push(EvidenceEntry {
                at: local(f.at),
                by: who(&f.by),
                what: format!(
                    "notice {}/{} filed, reference {}: {}{late}",
                    f.regime, f.phase, f.reference, f.summary
                ),
            });
        }
        for (at, timer) in breach.warnings() {
            let what = match timer {
                Timer::NoticeAtRisk { regime, phase, .. } => {
                    format!("warning: notice {regime}/{phase} at risk; owner paged")
                }
                Timer::NoticeOverdue { regime, phase, .. } => {
                    format!("warning: notice {regime}/{phase} overdue; owner paged")
                }
                _ => continue,
            };
            timeline.push(EvidenceEntry {
                at: local(*at),
                by: "system".into(),
                what,
            });
        }
        // A stable sort: entries of one instant keep the order above.
        timeline.sort_by_key(|e| e.at);
        let notices = breach
            .clocks(calendar)
            .into_iter()
            .map(|c| NoticeRecord {
                regime: c.regime.id.clone(),
                citation: c.regime.citation.clone(),
                phase: c.phase.id.clone(),
                recipient: c.phase.recipient.to_string(),
                deadline: c.phase.deadline.to_string(),
                due: c.due.map(local),
                filed: c.filed.map(|f| local(f.at)),
                reference: c.filed.map(|f| f.reference.to_string()),
                late: c.filed_late(),
                late_reason: c
                    .filed
                    .and_then(|f| f.late_reason.as_ref().map(ToString::to_string)),
                overdue: c.filed.is_none() && c.overdue,
            })
            .collect();
        Some(Evidence {
            incident: incident.id().to_string(),
            title: incident.title().to_string(),
            zone: zone.name().to_string(),
            became_aware: local(breach.became_aware()),
            notices,
            timeline,
        })
    }
}

impl fmt::Display for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const TIME: &str = "%Y-%m-%d %H:%M %:z";
        writeln!(
            f,
            "Regulatory record of incident {} \"{}\"",
            self.incident, self.title
        )?;
        writeln!(f, "Times in {}.", self.zone)?;
        writeln!(f, "Became aware: {}", self.became_aware.format(TIME))?;
        writeln!(f, "\nNotices")?;
        for n in &self.notices {
            let due = n
                .due
                .map_or_else(|| "never".into(), |d| d.format(TIME).to_string());
            let state = match (&n.filed, &n.reference) {
                (Some(at), Some(reference)) if n.late => {
                    format!("filed LATE {} (ref {reference})", at.format(TIME))
                }
                (Some(at), Some(reference)) => {
                    format!("filed {} (ref {reference})", at.format(TIME))
                }
                _ if n.overdue => "OVERDUE, not filed".into(),
                _ => "not filed yet".into(),
            };
            writeln!(
                f,
                "  {}/{} ({}) to {}, {}: due {due}; {state}",
                n.regime, n.phase, n.citation, n.recipient, n.deadline
            )?;
            if let Some(reason) = &n.late_reason {
                writeln!(f, "    reasons for the delay: {reason}")?;
            }
        }
        writeln!(f, "\nTimeline")?;
        for e in &self.timeline {
            writeln!(f, "  {}  {:<24} {}", e.at.format(TIME), e.by, e.what)?;
        }
        Ok(())
    }
}
