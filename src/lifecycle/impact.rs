//! How badly an incident affects customers, as a public status page shows it.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::severity::Severity;

/// How badly an incident affects its service's customers: what a public status page shows
/// for the service while the incident is active.
///
/// Unless a person sets it on the incident, it follows the severity
/// ([`Impact::of_severity`]). Ordered from harmless to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Impact {
    /// Customers do not notice it: not shown on a status page.
    None,
    /// The service works, slower or with some errors.
    DegradedPerformance,
    /// The service is down for some customers.
    PartialOutage,
    /// The service is down.
    MajorOutage,
}

impl Impact {
    /// All impacts, harmless first.
    pub const ALL: [Impact; 4] = [
        Impact::None,
        Impact::DegradedPerformance,
        Impact::PartialOutage,
        Impact::MajorOutage,
    ];

    /// The impact a severity stands for when nobody set one: critical → major outage, high →
    /// partial outage, medium → degraded performance, low → none.
    pub fn of_severity(severity: Severity) -> Impact {
        match severity {
            Severity::Critical => Impact::MajorOutage,
            Severity::High => Impact::PartialOutage,
            Severity::Medium => Impact::DegradedPerformance,
            Severity::Low => Impact::None,
        }
    }

    /// Its name as serialised (`none`, `degraded_performance`, `partial_outage`,
    /// `major_outage`), which is also Statuspage's.
    pub fn as_str(self) -> &'static str {
        match self {
            Impact::None => "none",
            Impact::DegradedPerformance => "degraded_performance",
            Impact::PartialOutage => "partial_outage",
            Impact::MajorOutage => "major_outage",
        }
    }
}

impl fmt::Display for Impact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_maps_in_order() {
        // Severity::ALL runs from the worst down.
        let mapped: Vec<Impact> = Severity::ALL
            .iter()
            .map(|s| Impact::of_severity(*s))
            .collect();
        assert!(
            mapped.windows(2).all(|w| w[0] > w[1]),
            "a worse severity never maps to a milder impact: {mapped:?}"
        );
        assert_eq!(
            serde_json::to_string(&Impact::MajorOutage).unwrap(),
            "\"major_outage\""
        );
    }
}
