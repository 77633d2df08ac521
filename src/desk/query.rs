//! Queries over the desk's projection: [`Filter`] and [`Counts`].

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::incident::Incident;
use crate::lifecycle::Status;
use crate::model::Service;
use crate::severity::Severity;

/// Which incidents [`Desk::list`](crate::Desk::list) returns. Empty criteria match everything.
///
/// ```
/// use incidents::{Desk, Filter, ManualClock, MemoryStore, Severity, Status};
///
/// # let desk = Desk::new(MemoryStore::new(), ManualClock::new(chrono::Utc::now()))?;
/// let urgent_and_open = desk.list(&Filter::active().min_severity(Severity::High));
/// let resolved_pos = desk.list(&Filter::all().service("POS".parse()?).status(Status::Resolved));
/// assert!(urgent_and_open.is_empty() && resolved_pos.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    statuses: BTreeSet<Status>,
    min_severity: Option<Severity>,
    service: Option<Service>,
}

impl Filter {
    /// Matches every incident.
    pub fn all() -> Filter {
        Filter::default()
    }

    /// Matches incidents still being worked on (every status but resolved and closed).
    pub fn active() -> Filter {
        Filter {
            statuses: Status::ACTIVE.into_iter().collect(),
            ..Filter::default()
        }
    }

    /// Also matches `status` (statuses given accumulate; none given means any).
    #[must_use]
    pub fn status(mut self, status: Status) -> Filter {
        self.statuses.insert(status);
        self
    }

    /// Only incidents at least this severe.
    #[must_use]
    pub fn min_severity(mut self, severity: Severity) -> Filter {
        self.min_severity = Some(severity);
        self
    }

    /// Only incidents of this service.
    #[must_use]
    pub fn service(mut self, service: Service) -> Filter {
        self.service = Some(service);
        self
    }

    /// Whether `incident` matches.
    pub fn matches(&self, incident: &Incident) -> bool {
        (self.statuses.is_empty() || self.statuses.contains(&incident.status()))
            && self
                .min_severity
                .is_none_or(|min| incident.severity() >= min)
            && self
                .service
                .as_ref()
                .is_none_or(|service| incident.service() == service)
    }
}

/// Incident counts, from [`Desk::counts`](crate::Desk::counts).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Counts {
    /// All incidents.
    pub total: usize,
    /// Incidents neither resolved nor closed.
    pub active: usize,
    /// Incidents per status (statuses with none are absent).
    pub by_status: BTreeMap<Status, usize>,
    /// Active incidents per severity (severities with none are absent).
    pub active_by_severity: BTreeMap<Severity, usize>,
}

impl Counts {
    pub(crate) fn add(&mut self, incident: &Incident) {
        self.total += 1;
        *self.by_status.entry(incident.status()).or_default() += 1;
        if incident.is_active() {
            self.active += 1;
            *self
                .active_by_severity
                .entry(incident.severity())
                .or_default() += 1;
        }
    }
}
