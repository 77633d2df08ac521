//! What the incident heard: its alert key, the signals recorded on it, their sources, and the
//! incidents merged into it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::lifecycle::{Change, Event, Recurrence, Signal, SignalState};
use crate::model::{Actor, IncidentId, Source};

/// A signal as recorded on an incident, with when it arrived and who recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SignalRecord {
    /// What arrived.
    pub signal: Signal,
    /// When the desk received it.
    pub received_at: DateTime<Utc>,
    /// Who recorded it here: the system for what intake took in, a person for a signal they
    /// [attached](crate::Desk::attach).
    #[serde(default = "Actor::system")]
    pub by: Actor,
}

/// A change in whether every monitor occurrence on the incident has resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Quiet {
    /// Every occurrence that fired has now resolved.
    Began,
    /// An occurrence fired while all had resolved.
    Ended,
}

/// The incident's part that owns what it heard: signals, sources, alert key, merges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Signals {
    pub(super) alert_key: Option<String>,
    pub(super) recurrence: Option<Recurrence>,
    pub(super) signals: Vec<SignalRecord>,
    /// The sources it heard from: how it was opened, then each signal's origin (distinct, in
    /// the order first seen).
    #[serde(default)]
    pub(super) sources: Vec<Source>,
    /// Incidents merged into this one, oldest first.
    #[serde(default)]
    pub(super) merged: Vec<IncidentId>,
    /// Firing occurrences recorded, and how many of them have not reported resolved.
    pub(super) fired_signals: u32,
    pub(super) unresolved_signals: u32,
}

impl Signals {
    /// What an incident opened from `source` under `alert_key` has heard.
    pub(super) fn opened(
        source: Source,
        alert_key: Option<String>,
        recurrence: Option<Recurrence>,
    ) -> Signals {
        Signals {
            alert_key,
            recurrence,
            signals: Vec::new(),
            sources: vec![source],
            merged: Vec::new(),
            fired_signals: 0,
            unresolved_signals: 0,
        }
    }

    /// Whether this delivery (the same key, occurrence start and state) is recorded.
    pub(super) fn has(&self, signal: &Signal) -> bool {
        self.signals
            .iter()
            .rev()
            .any(|r| r.signal.same_delivery(signal))
    }

    /// Whether monitors fired and every occurrence that fired has reported resolved.
    pub(super) fn all_resolved(&self) -> bool {
        self.fired_signals > 0 && self.unresolved_signals == 0
    }

    /// Why `event` cannot happen on incident `id`, if it cannot: a delivery recorded twice, or
    /// a merge of the incident with itself.
    pub(super) fn check(&self, event: &Event, id: IncidentId) -> Option<String> {
        match &event.change {
            Change::SignalReceived { signal } => self
                .has(signal)
                .then(|| format!("signal {} {} recorded twice", signal.key, signal.state)),
            Change::MergedInto { into } if *into == id => {
                Some("an incident cannot be merged into itself".into())
            }
            Change::DuplicateMerged { duplicate, .. } if *duplicate == id => {
                Some("an incident cannot absorb itself".into())
            }
            _ => None,
        }
    }

    /// Folds `event`; says whether the monitors went quiet or fired again.
    pub(super) fn apply(&mut self, event: &Event) -> Option<Quiet> {
        match &event.change {
            Change::DuplicateMerged { duplicate, .. } => {
                self.merged.push(*duplicate);
                None
            }
            Change::SignalReceived { signal } => {
                let quiet = self.count(signal);
                self.signals.push(SignalRecord {
                    signal: signal.clone(),
                    received_at: event.at,
                    by: event.actor.clone(),
                });
                quiet
            }
            _ => None,
        }
    }

    /// Counts a new delivery: its source, and whether its occurrence fired or resolved.
    fn count(&mut self, signal: &Signal) -> Option<Quiet> {
        if !self.sources.contains(&signal.origin) {
            self.sources.push(signal.origin);
        }
        // Keep count of monitors' occurrences that fired and have not resolved, so the quiet
        // period check is O(1) however long an alert flaps. Reports from people never
        // resolve, so they neither count nor hold an incident open.
        let counted = !signal.origin.is_from_people();
        let was_quiet = self.all_resolved();
        let other = match signal.state {
            SignalState::Firing => SignalState::Resolved,
            SignalState::Resolved => SignalState::Firing,
        };
        let seen_other = self.signals.iter().any(|r| {
            r.signal.state == other
                && r.signal.starts_at == signal.starts_at
                && r.signal.key == signal.key
        });
        match (counted, signal.state, seen_other) {
            (true, SignalState::Firing, false) => self.unresolved_signals += 1,
            (true, SignalState::Resolved, true) => {
                self.unresolved_signals = self.unresolved_signals.saturating_sub(1);
            }
            (false, _, _)
            | (true, SignalState::Firing, true)
            | (true, SignalState::Resolved, false) => {}
        }
        if counted && signal.state == SignalState::Firing {
            self.fired_signals += 1;
        }
        match (was_quiet, self.all_resolved()) {
            (false, true) => Some(Quiet::Began),
            (true, false) => Some(Quiet::Ended),
            (true, true) | (false, false) => None,
        }
    }
}
