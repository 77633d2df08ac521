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
    /// Where each occurrence's deliveries are in `signals`, once there are many of them.
    #[serde(skip)]
    index: Occurrences,
}

/// How many signals an incident holds before it indexes them: below this, a scan of the
/// list is as fast as a hash lookup and costs no memory.
const INDEX_FROM: usize = 16;

/// The positions in a signal list of each occurrence's deliveries (an occurrence is an alert
/// key and the instant it started firing), by a hash of the occurrence. Built from the list
/// once it reaches [`INDEX_FROM`] signals, then kept up to date with every push, so finding a
/// delivery costs its occurrence's few deliveries instead of a pass over every signal. The
/// index holds positions only; every match is confirmed against the list itself, so a hash
/// collision costs a comparison, never a wrong answer. Derived data: two parts with the same
/// signals are equal whatever their indexes hold. Boxed: most incidents never build one.
// Boxed on purpose: `Option<Box<_>>` is one word in every incident, `Option<HashMap>` six.
#[allow(clippy::box_collection)]
#[derive(Debug, Clone, Default)]
struct Occurrences(Option<Box<std::collections::HashMap<u64, Vec<u32>>>>);

impl PartialEq for Occurrences {
    fn eq(&self, _: &Occurrences) -> bool {
        true
    }
}

impl Eq for Occurrences {}

/// The hash an occurrence is indexed by.
fn occurrence(signal: &Signal) -> u64 {
    use std::hash::{Hash, Hasher};
    // Fixed keys: the same signals always hash alike (no per-process randomness to debug).
    let mut hasher = std::hash::DefaultHasher::new();
    signal.key.hash(&mut hasher);
    signal.starts_at.hash(&mut hasher);
    hasher.finish()
}

impl Occurrences {
    /// Records the last of `signals`, just pushed, building the index from all of them when
    /// it first becomes worth it.
    fn push(&mut self, signals: &[SignalRecord]) {
        let (Some(last), Ok(position)) = (
            signals.last(),
            u32::try_from(signals.len().saturating_sub(1)),
        ) else {
            // Past four billion signals on one incident: scan instead.
            self.0 = None;
            return;
        };
        match &mut self.0 {
            Some(index) => index
                .entry(occurrence(&last.signal))
                .or_default()
                .push(position),
            None if signals.len() >= INDEX_FROM => {
                let mut index: std::collections::HashMap<u64, Vec<u32>> =
                    std::collections::HashMap::with_capacity(signals.len());
                for (i, record) in (0u32..).zip(signals) {
                    index.entry(occurrence(&record.signal)).or_default().push(i);
                }
                self.0 = Some(Box::new(index));
            }
            None => {}
        }
    }

    /// Whether any recorded delivery of `signal`'s occurrence satisfies `matches`.
    fn any(
        &self,
        signals: &[SignalRecord],
        signal: &Signal,
        matches: impl Fn(&Signal) -> bool,
    ) -> bool {
        match &self.0 {
            Some(index) => index.get(&occurrence(signal)).is_some_and(|positions| {
                positions
                    .iter()
                    .any(|&i| signals.get(i as usize).is_some_and(|r| matches(&r.signal)))
            }),
            None => signals.iter().rev().any(|r| matches(&r.signal)),
        }
    }
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
            index: Occurrences::default(),
        }
    }

    /// Rebuilds the occurrence index from the signal list (after the part was read back from
    /// a snapshot, which does not hold the index).
    /// Every stored field, for a snapshot to write; destructured whole, so a field added to
    /// the part does not compile until the snapshot writes it (or says it is derived).
    #[allow(clippy::type_complexity, reason = "the part's own fields, in order")]
    pub(super) fn stored(
        &self,
    ) -> (
        &Option<String>,
        &Option<Recurrence>,
        &Vec<SignalRecord>,
        &Vec<Source>,
        &Vec<IncidentId>,
        u32,
        u32,
    ) {
        let Signals {
            alert_key,
            recurrence,
            signals,
            sources,
            merged,
            fired_signals,
            unresolved_signals,
            index: _derived,
        } = self;
        (
            alert_key,
            recurrence,
            signals,
            sources,
            merged,
            *fired_signals,
            *unresolved_signals,
        )
    }

    /// A part read back from a snapshot, its index rebuilt.
    pub(super) fn read_back(
        alert_key: Option<String>,
        recurrence: Option<Recurrence>,
        signals: Vec<SignalRecord>,
        sources: Vec<Source>,
        merged: Vec<IncidentId>,
        fired_signals: u32,
        unresolved_signals: u32,
    ) -> Signals {
        let mut part = Signals {
            alert_key,
            recurrence,
            signals,
            sources,
            merged,
            fired_signals,
            unresolved_signals,
            index: Occurrences::default(),
        };
        part.reindex();
        part
    }

    pub(super) fn reindex(&mut self) {
        self.index = Occurrences::default();
        if self.signals.len() >= INDEX_FROM {
            self.index.push(&self.signals);
        }
    }

    /// Whether this delivery (the same key, occurrence start and state) is recorded.
    pub(super) fn has(&self, signal: &Signal) -> bool {
        self.index
            .any(&self.signals, signal, |r| r.same_delivery(signal))
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
                super::push_small(&mut self.merged, *duplicate);
                None
            }
            Change::SignalReceived { signal } => {
                let quiet = self.count(signal);
                super::push_small(
                    &mut self.signals,
                    SignalRecord {
                        signal: signal.clone(),
                        received_at: event.at,
                        by: event.actor.clone(),
                    },
                );
                self.index.push(&self.signals);
                quiet
            }
            _ => None,
        }
    }

    /// Counts a new delivery: its source, and whether its occurrence fired or resolved.
    fn count(&mut self, signal: &Signal) -> Option<Quiet> {
        if !self.sources.contains(&signal.origin) {
            super::push_small(&mut self.sources, signal.origin);
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
        let seen_other = self.index.any(&self.signals, signal, |r| {
            r.state == other && r.starts_at == signal.starts_at && r.key == signal.key
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Reporter;
    use chrono::TimeZone;
    use proptest::prelude::*;

    /// A delivery from a small alphabet, so occurrences repeat, flap and collide often.
    fn arb_signal() -> impl Strategy<Value = Signal> {
        (0u8..4, 0i64..3, any::<bool>(), prop::option::of(0u8..2)).prop_map(
            |(key, start, firing, reporter)| {
                let state = if firing {
                    SignalState::Firing
                } else {
                    SignalState::Resolved
                };
                let starts_at = Utc.timestamp_opt(1_800_000_000 + start * 60, 0).unwrap();
                let signal = Signal::new(format!("k{key}"), starts_at, state, "s");
                match reporter {
                    Some(r) => signal
                        .with_origin(Source::CustomerReport)
                        .with_reporter(Reporter::new(format!("r{r}")).unwrap()),
                    None => signal,
                }
            },
        )
    }

    /// The counts the part keeps, recomputed by scanning the whole list as the part did
    /// before it had an index.
    fn scanned(signals: &[Signal]) -> (u32, u32) {
        let (mut fired, mut unresolved) = (0u32, 0u32);
        for (i, signal) in signals.iter().enumerate() {
            if signal.origin.is_from_people() {
                continue;
            }
            let other = match signal.state {
                SignalState::Firing => SignalState::Resolved,
                SignalState::Resolved => SignalState::Firing,
            };
            let seen_other = signals[..i].iter().any(|r| {
                r.state == other && r.starts_at == signal.starts_at && r.key == signal.key
            });
            match (signal.state, seen_other) {
                (SignalState::Firing, false) => unresolved += 1,
                (SignalState::Resolved, true) => unresolved = unresolved.saturating_sub(1),
                _ => {}
            }
            if signal.state == SignalState::Firing {
                fired += 1;
            }
        }
        (fired, unresolved)
    }

    proptest! {
        /// Across the index threshold, the part answers "is this delivery recorded?" and
        /// keeps its firing counts exactly as a scan of every signal does.
        #[test]
        fn the_index_answers_as_a_scan_of_every_signal(
            deliveries in prop::collection::vec(arb_signal(), 0..60),
            probes in prop::collection::vec(arb_signal(), 1..20),
        ) {
            let mut part = Signals::opened(Source::Alert, Some("k0".into()), None);
            let mut recorded: Vec<Signal> = Vec::new();
            let at = Utc.timestamp_opt(1_800_000_000, 0).unwrap();
            for signal in deliveries {
                let scan = recorded.iter().any(|r| r.same_delivery(&signal));
                prop_assert_eq!(part.has(&signal), scan);
                if scan {
                    continue;
                }
                let event = Event::new(
                    at,
                    Actor::system(),
                    Change::SignalReceived { signal: signal.clone() },
                );
                part.apply(&event);
                recorded.push(signal);
                let (fired, unresolved) = scanned(&recorded);
                prop_assert_eq!(part.fired_signals, fired);
                prop_assert_eq!(part.unresolved_signals, unresolved);
            }
            prop_assert_eq!(part.index.0.is_some(), recorded.len() >= INDEX_FROM);
            for probe in probes {
                let scan = recorded.iter().any(|r| r.same_delivery(&probe));
                prop_assert_eq!(part.has(&probe), scan);
            }
        }
    }
}
