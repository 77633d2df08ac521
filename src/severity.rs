//! How bad an incident is.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::Invalid;

/// How bad an incident is, from `Critical` (the business cannot sell) down to `Low`.
///
/// Ordered by urgency: `Critical > High > Medium > Low`, so `max()` of two severities is the
/// more urgent one and a filter "at least `High`" is `severity >= Severity::High`.
///
/// Parsing accepts, case-insensitively and ignoring surrounding spaces, the names (`critical`,
/// `high`, `medium`, `low`), the numbered forms `sev1`…`sev4` (also `sev-1`, `sev 1`), the
/// bare numbers `1`…`4` and `p1`…`p4`, where 1 is the most urgent.
///
/// ```
/// use incidents::Severity;
///
/// assert_eq!("SEV1".parse::<Severity>()?, Severity::Critical);
/// assert_eq!("medium".parse::<Severity>()?, Severity::Medium);
/// assert!(Severity::Critical > Severity::Low);
/// assert!("urgent".parse::<Severity>().is_err());
/// # Ok::<(), incidents::Invalid>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Minor: a cosmetic fault or an inconvenience with an easy workaround.
    Low,
    /// Some customers or staff are hindered, but the business runs.
    Medium,
    /// A major function is degraded (slow checkout, one till down).
    High,
    /// The business cannot serve customers (shop down, payments failing). Also called Sev1.
    Critical,
}

impl Severity {
    /// The spellings [`Severity::from_str`] accepts, for error messages and help texts.
    pub const SPELLINGS: &str =
        "critical, high, medium, low, sev1-sev4, p1-p4 or 1-4 (1 is the most urgent)";

    /// All severities, most urgent first.
    pub const ALL: [Severity; 4] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ];

    /// The lowercase name, as used by `Display` and serde.
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
        }
    }

    /// The number in "Sev1".."Sev4": 1 for `Critical`, 4 for `Low`.
    pub const fn level(self) -> u8 {
        match self {
            Severity::Critical => 1,
            Severity::High => 2,
            Severity::Medium => 3,
            Severity::Low => 4,
        }
    }

    /// The severity with the given level number (1 = `Critical` … 4 = `Low`).
    pub const fn from_level(level: u8) -> Option<Severity> {
        match level {
            1 => Some(Severity::Critical),
            2 => Some(Severity::High),
            3 => Some(Severity::Medium),
            4 => Some(Severity::Low),
            _ => None,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = Invalid;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        let by_name = match lower.as_str() {
            "critical" => Some(Severity::Critical),
            "high" => Some(Severity::High),
            "medium" => Some(Severity::Medium),
            "low" => Some(Severity::Low),
            _ => None,
        };
        let numbered = || {
            let digits = lower
                .strip_prefix("sev")
                .map(|rest| rest.strip_prefix(['-', ' ']).unwrap_or(rest))
                .or_else(|| lower.strip_prefix('p'))
                .unwrap_or(&lower);
            match digits {
                "1" | "2" | "3" | "4" => digits.parse::<u8>().ok().and_then(Severity::from_level),
                _ => None,
            }
        };
        by_name.or_else(numbered).ok_or_else(|| {
            Invalid::new(
                "severity",
                format!("unknown severity {s:?}; expected {}", Severity::SPELLINGS),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn order_is_by_urgency() {
        assert!(Severity::Critical > Severity::High);
        assert!(Severity::High > Severity::Medium);
        assert!(Severity::Medium > Severity::Low);
        let mut sorted = Severity::ALL;
        sorted.sort();
        assert_eq!(sorted[3], Severity::Critical);
    }

    #[test]
    fn accepts_documented_spellings() {
        for (text, want) in [
            ("critical", Severity::Critical),
            ("CRITICAL", Severity::Critical),
            (" Critical ", Severity::Critical),
            ("sev1", Severity::Critical),
            ("Sev-2", Severity::High),
            ("sev 3", Severity::Medium),
            ("1", Severity::Critical),
            ("4", Severity::Low),
            ("P2", Severity::High),
            ("low", Severity::Low),
        ] {
            assert_eq!(text.parse::<Severity>(), Ok(want), "{text}");
        }
    }

    #[test]
    fn rejects_unknown_spellings_naming_the_accepted_ones() {
        for text in [
            "", "urgent", "sev0", "sev5", "0", "5", "11", "sev", "p", "-1", "sev--1",
        ] {
            let err = text.parse::<Severity>().unwrap_err();
            assert_eq!(err.field, "severity");
            assert!(err.rule.contains("sev1-sev4"), "{err}");
        }
    }

    proptest! {
        #[test]
        fn display_round_trips(level in 1u8..=4) {
            let s = Severity::from_level(level).unwrap();
            prop_assert_eq!(s.to_string().parse::<Severity>(), Ok(s));
            prop_assert_eq!(format!("sev{}", s.level()).parse::<Severity>(), Ok(s));
        }

        #[test]
        fn parsing_never_panics(text in ".*") {
            let _ = text.parse::<Severity>();
        }
    }
}
