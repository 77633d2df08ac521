//! Heartbeats on the desk: [`Desk::check_in`], the silences [`Desk::tick`] turns into alerts,
//! and [`Desk::heartbeats`].
//!
//! **What lives where.** The declarations are in the policy. Each heartbeat's last check-in
//! lives in memory only, in [`Beats`]: a check-in is a binary search by name, a lock and a few
//! stores, and records nothing. The store hears of a heartbeat only when its state changes:
//! a silence that grew too long is ingested as a firing alert (which opens an incident and
//! pages), and the check-in that ends it as the same alert resolved (so the intake's quiet
//! period auto-resolves the incident). The deadline of a check-in is computed only when
//! [`Desk::next_deadline`] or [`Desk::tick`] asks for it, and kept until the next check-in,
//! so a heartbeat counted in opening hours does its calendar arithmetic once per wake-up of
//! the timer loop, not once per check-in.

use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Utc};

use super::{Desk, lock};
use crate::clock::Clock;
use crate::error::{Error, Invalid, Result};
use crate::heartbeat::{HEARTBEAT_SOURCE, Heartbeat};
use crate::intake::{Alert, Ingested};
use crate::lifecycle::SignalState;
use crate::model::Service;
use crate::policy::Hours;
use crate::store::Store;

/// How much of an unknown name an [`Error::UnknownHeartbeat`] keeps, in characters.
const UNKNOWN_NAME_KEPT: usize = 100;

/// What the desk knows about its declared heartbeats: one [`Beat`] each, in the order of
/// [`Policy::heartbeats`](crate::Policy::heartbeats).
#[derive(Debug)]
pub(super) struct Beats {
    state: Mutex<Vec<Beat>>,
    /// Taken by whatever records a heartbeat's change (a tick raising a silence's alert, a
    /// check-in resolving it), so a resolution never overtakes the alert it resolves.
    /// Check-ins that change nothing never take it.
    recording: Mutex<()>,
}

impl Beats {
    /// `count` heartbeats, each counting its silence from `start` (the desk's start).
    pub(super) fn new(count: usize, start: DateTime<Utc>) -> Beats {
        Beats {
            state: Mutex::new(vec![Beat::new(start); count]),
            recording: Mutex::new(()),
        }
    }

    fn state(&self) -> MutexGuard<'_, Vec<Beat>> {
        // Every change under this lock is a few plain stores with nothing that panics in
        // between, so a poisoned lock still guards consistent beats.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn recording(&self) -> MutexGuard<'_, ()> {
        self.recording
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// One heartbeat's state in memory.
#[derive(Debug, Clone, Copy)]
struct Beat {
    /// The last check-in, or the desk's start if none came since.
    last: DateTime<Utc>,
    /// Whether `last` is a check-in (not the desk's start).
    checked_in: bool,
    /// The instant a silence since `.0` becomes too long (`None`: never), computed for the
    /// `last` in `.0`: a cache, refreshed when `last` moves.
    due: Option<(DateTime<Utc>, Option<DateTime<Utc>>)>,
    /// Not reported before this instant: the end of a maintenance window of its service.
    not_before: Option<DateTime<Utc>>,
    /// The silence reported and not yet ended by a check-in.
    missing: Option<Silence>,
}

/// A silence that was reported: it identifies the alert raised for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Silence {
    /// The last check-in before it (or the desk's start).
    last: DateTime<Utc>,
    /// Whether `last` is a check-in.
    checked_in: bool,
    /// When it became too long: the alert's start.
    starts_at: DateTime<Utc>,
}

impl Beat {
    fn new(start: DateTime<Utc>) -> Beat {
        Beat {
            last: start,
            checked_in: false,
            due: None,
            not_before: None,
            missing: None,
        }
    }

    /// When a silence since the last check-in becomes too long, and when the desk should
    /// report it (later during maintenance); `None` while a silence is reported, or if it
    /// never becomes too long.
    fn deadline(
        &mut self,
        heartbeat: &Heartbeat,
        calendar: &crate::Calendar,
    ) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        if self.missing.is_some() {
            return None;
        }
        let due = match self.due {
            Some((last, due)) if last == self.last => due,
            _ => {
                let due = heartbeat.due_after(self.last, calendar);
                self.due = Some((self.last, due));
                due
            }
        }?;
        Some((due, self.not_before.map_or(due, |at| at.max(due))))
    }
}

/// What a [`Desk::check_in`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CheckIn {
    /// Noted in memory; nothing was recorded. The usual answer.
    Noted,
    /// The heartbeat had been reported missing: its alert was ingested as resolved, so the
    /// incident's signal is resolved and the intake's quiet period can auto-resolve it.
    Back {
        /// When the silence became too long (the alert's start).
        missing_since: DateTime<Utc>,
        /// What the intake did with the resolved alert (usually
        /// [`Ingested::Recorded`] on the heartbeat's incident).
        ingested: Ingested,
    },
}

/// A heartbeat whose silence a [`Desk::tick`] reported, as a firing alert through
/// [`Desk::ingest`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Missed {
    /// The heartbeat's name.
    pub heartbeat: String,
    /// Its service.
    pub service: Service,
    /// Its last check-in; `None` if none came since the desk started.
    pub last_check_in: Option<DateTime<Utc>>,
    /// When the silence became too long: the alert's start.
    pub missing_since: DateTime<Utc>,
    /// What the intake did with the alert: usually [`Ingested::Opened`], or
    /// [`Ingested::Reopened`] for a till that died again soon after its last incident.
    pub ingested: Ingested,
}

/// One heartbeat as the desk sees it now ([`Desk::heartbeats`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HeartbeatState {
    /// The heartbeat's name.
    pub name: String,
    /// Its service.
    pub service: Service,
    /// Its last check-in since this desk started, if any.
    pub last_check_in: Option<DateTime<Utc>>,
    /// Where its silence is counted from: the last check-in, or the desk's start.
    pub counting_from: DateTime<Utc>,
    /// When it will be reported missing unless it checks in before; `None` while it is
    /// reported missing (or if that never comes: a calendar that does not open).
    pub due: Option<DateTime<Utc>>,
    /// When its current silence became too long, while it is reported missing.
    pub missing_since: Option<DateTime<Utc>>,
}

impl<S: Store, C: Clock> Desk<S, C> {
    /// Notes a check-in of heartbeat `name` (see [`Heartbeat`]): a till, a card terminal or
    /// a nightly job saying it is alive.
    ///
    /// Cheap: a binary search among the declared heartbeats, a lock, and a few stores in
    /// memory; nothing is recorded, nothing allocated. Only the check-in that ends a reported
    /// silence records something: the heartbeat's alert, resolved (answered by
    /// [`CheckIn::Back`]), so the incident's signal resolves and the intake's quiet period
    /// auto-resolves the incident (unless a person acted on it since, as for any alert).
    ///
    /// The silence counts from the latest check-in (a clock stepped back does not move it
    /// back) or, before the first one, from the desk's start: after a restart, every
    /// heartbeat gets its full `every + grace` again. The exception is a heartbeat whose
    /// reported silence is still unresolved on an incident that is not closed: a restarted
    /// desk picks that up from the store, reports it no second time, and resolves it at the
    /// next check-in.
    ///
    /// Heartbeats are kept per desk: several desks sharing a store should declare a
    /// heartbeat on the one desk its device checks in with.
    ///
    /// ```
    /// use chrono::{Duration, TimeZone, Utc};
    /// use incidents::{Desk, ManualClock, MemoryStore, Policy};
    /// use incidents::desk::CheckIn;
    /// use incidents::policy::Heartbeat;
    /// # struct Pager;
    /// # impl incidents::Notifier for Pager {
    /// #     fn deliver(&self, _: &incidents::lifecycle::Notification) -> Result<(), incidents::notify::DeliveryError> { Ok(()) }
    /// # }
    ///
    /// let start = Utc.with_ymd_and_hms(2026, 11, 27, 9, 0, 0).unwrap();
    /// let clock = ManualClock::new(start);
    /// let till = Heartbeat::new("till-1", "POS", Duration::minutes(5))?.with_grace(Duration::minutes(1));
    /// let desk = Desk::builder(MemoryStore::new(), &clock)
    ///     .policy(Policy::small_business().with_heartbeat(till)?)
    ///     .build()?;
    /// assert_eq!(desk.next_deadline(), Some(start + Duration::minutes(6)));
    ///
    /// // The till checks in at 9:04 and dies: it is reported missing at 9:10.
    /// clock.set(start + Duration::minutes(4));
    /// assert_eq!(desk.check_in("till-1")?, CheckIn::Noted);
    /// let run = desk.run_until(start + Duration::minutes(30), &Pager)?;
    /// assert_eq!(run.missed.len(), 1);
    /// assert_eq!(run.missed[0].0, start + Duration::minutes(10));
    ///
    /// // It comes back: its alert resolves.
    /// assert!(matches!(desk.check_in("till-1")?, CheckIn::Back { .. }));
    /// assert!(desk.check_in("till-2").is_err()); // not declared
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// - [`Error::UnknownHeartbeat`] if the policy declares no heartbeat named `name`;
    ///   nothing is noted.
    /// - When the check-in ends a reported silence: the errors of [`Desk::ingest`] while
    ///   recording the resolution. The check-in is noted all the same, and the next one
    ///   tries the resolution again.
    pub fn check_in(&self, name: &str) -> Result<CheckIn> {
        let Ok(i) = self.config.policy.heartbeat_index(name) else {
            return Err(Error::UnknownHeartbeat {
                name: name.chars().take(UNKNOWN_NAME_KEPT).collect(),
            });
        };
        let now = self.clock.now();
        {
            let mut beats = self.heartbeats.state();
            let Some(beat) = beats.get_mut(i) else {
                return Ok(CheckIn::Noted); // one beat per declared heartbeat
            };
            beat.last = beat.last.max(now);
            beat.checked_in = true;
            beat.not_before = None;
            if beat.missing.is_none() {
                return Ok(CheckIn::Noted);
            }
        }
        // It was reported missing: resolve its alert, in turn with the tick that raised it.
        let _recording = self.heartbeats.recording();
        let Some(silence) = self
            .heartbeats
            .state()
            .get_mut(i)
            .and_then(|beat| beat.missing.take())
        else {
            return Ok(CheckIn::Noted); // another check-in resolved it meanwhile
        };
        let resolved = self
            .heartbeat_alert(i, &silence, Some(now))
            .map_err(Error::from)
            .and_then(|alert| self.ingest(&alert));
        match resolved {
            Ok(ingested) => Ok(CheckIn::Back {
                missing_since: silence.starts_at,
                ingested,
            }),
            Err(error) => {
                if let Some(beat) = self.heartbeats.state().get_mut(i) {
                    beat.missing.get_or_insert(silence);
                }
                Err(error)
            }
        }
    }

    /// Every declared heartbeat as the desk sees it now: its last check-in, when it falls
    /// due, whether it is reported missing. For a dashboard ("till 2 last seen 3 minutes
    /// ago").
    pub fn heartbeats(&self) -> Vec<HeartbeatState> {
        let declared = self.config.policy.heartbeats();
        if declared.is_empty() {
            return Vec::new();
        }
        let calendar = self.config.policy.calendar();
        let mut beats = self.heartbeats.state();
        beats
            .iter_mut()
            .zip(declared)
            .map(|(beat, heartbeat)| HeartbeatState {
                name: heartbeat.name().to_string(),
                service: heartbeat.service().clone(),
                last_check_in: beat.checked_in.then_some(beat.last),
                counting_from: beat.last,
                due: beat.deadline(heartbeat, calendar).map(|(_, at)| at),
                missing_since: beat.missing.map(|s| s.starts_at),
            })
            .collect()
    }

    /// The earliest instant a heartbeat is to be reported missing, if any. Without declared
    /// heartbeats: `None`, without taking a lock.
    pub(super) fn heartbeat_deadline(&self) -> Option<DateTime<Utc>> {
        let declared = self.config.policy.heartbeats();
        if declared.is_empty() {
            return None;
        }
        let calendar = self.config.policy.calendar();
        let mut beats = self.heartbeats.state();
        beats
            .iter_mut()
            .zip(declared)
            .filter_map(|(beat, heartbeat)| beat.deadline(heartbeat, calendar))
            .map(|(_, at)| at)
            .min()
    }

    /// Reports every heartbeat whose silence became too long by `now`, each as a firing
    /// alert through [`Desk::ingest`], in the order the silences became too long, and adds
    /// them to `missed`. A silence is reported once: until the heartbeat checks in again, it
    /// has no deadline. During a maintenance window of its service, it is held until the
    /// window ends (and reported then if still silent).
    ///
    /// Every due heartbeat is tried; the first error is returned, and the heartbeats that
    /// failed stay due for the next tick.
    pub(super) fn tick_heartbeats(
        &self,
        now: DateTime<Utc>,
        missed: &mut Vec<Missed>,
    ) -> Result<()> {
        let declared = self.config.policy.heartbeats();
        if declared.is_empty() {
            return Ok(());
        }
        let _recording = self.heartbeats.recording();
        let mut first_error = None;
        for (i, silence) in self.mark_silences(now) {
            let ingested = self
                .heartbeat_alert(i, &silence, None)
                .map_err(Error::from)
                .and_then(|alert| self.ingest(&alert));
            let unmark = |not_before: Option<DateTime<Utc>>| {
                if let Some(beat) = self.heartbeats.state().get_mut(i)
                    && beat.missing == Some(silence)
                {
                    beat.missing = None;
                    beat.not_before = not_before.or(beat.not_before);
                }
            };
            let ingested = match ingested {
                Ok(ingested) => ingested,
                Err(error) => {
                    unmark(None);
                    first_error.get_or_insert(error);
                    continue;
                }
            };
            if let Ingested::Suppressed {
                window,
                recorded_on: None,
            } = &ingested
            {
                // Nothing recorded (the window began after the check above): report it
                // when the window ends, if it is still silent.
                unmark(Some(window.until));
            }
            if let Some(heartbeat) = declared.get(i) {
                missed.push(Missed {
                    heartbeat: heartbeat.name().to_string(),
                    service: heartbeat.service().clone(),
                    last_check_in: silence.checked_in.then_some(silence.last),
                    missing_since: silence.starts_at,
                    ingested,
                });
            }
        }
        match first_error {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// Marks as missing every declared heartbeat whose silence became too long by `now`, and
    /// returns them (by index) in the order the silences became too long. One in a
    /// maintenance window of its service is held until the window ends instead.
    fn mark_silences(&self, now: DateTime<Utc>) -> Vec<(usize, Silence)> {
        let declared = self.config.policy.heartbeats();
        let calendar = self.config.policy.calendar();
        let intake = self.config.policy.intake();
        let mut silent: Vec<(usize, Silence)> = Vec::new();
        let mut beats = self.heartbeats.state();
        for (i, (beat, heartbeat)) in beats.iter_mut().zip(declared).enumerate() {
            let Some((due, report_at)) = beat.deadline(heartbeat, calendar) else {
                continue;
            };
            if report_at > now {
                continue;
            }
            if let Some(window) = intake.maintenance_at(heartbeat.service(), now) {
                beat.not_before = Some(window.until);
                continue;
            }
            let silence = Silence {
                last: beat.last,
                checked_in: beat.checked_in,
                starts_at: due,
            };
            beat.missing = Some(silence);
            silent.push((i, silence));
        }
        drop(beats);
        silent.sort_by_key(|(i, silence)| (silence.starts_at, *i));
        silent
    }

    /// After the projection is built: finds, for each heartbeat, a reported silence still
    /// unresolved on an incident that is not closed (the latest, if several), so that it is
    /// not reported again and the next check-in resolves it. Visits every incident once, and
    /// only when heartbeats are declared.
    pub(super) fn recover_heartbeats(&self) {
        let policy = &self.config.policy;
        if policy.heartbeats().is_empty() {
            return;
        }
        let mut open: Vec<Option<DateTime<Utc>>> = vec![None; policy.heartbeats().len()];
        // (heartbeat, start, state) of this incident's heartbeat signals.
        let mut seen: Vec<(usize, DateTime<Utc>, SignalState)> = Vec::new();
        for cell in self.cells() {
            let slot = lock(&cell);
            if slot.incident.status() == crate::lifecycle::Status::Closed {
                continue;
            }
            seen.clear();
            for record in slot.incident.signals() {
                let name = record
                    .signal
                    .key
                    .strip_prefix(HEARTBEAT_SOURCE)
                    .and_then(|rest| rest.strip_prefix('/'));
                if let Some(i) = name.and_then(|name| policy.heartbeat_index(name).ok()) {
                    seen.push((i, record.signal.starts_at, record.signal.state));
                }
            }
            for &(i, starts_at, state) in &seen {
                let resolved = seen
                    .iter()
                    .any(|&(j, s, st)| j == i && s == starts_at && st == SignalState::Resolved);
                if state == SignalState::Firing
                    && !resolved
                    && let Some(latest) = open.get_mut(i)
                {
                    *latest = Some(latest.map_or(starts_at, |at| at.max(starts_at)));
                }
            }
        }
        let mut beats = self.heartbeats.state();
        for (beat, starts_at) in beats.iter_mut().zip(open) {
            if let Some(starts_at) = starts_at {
                beat.missing = Some(Silence {
                    last: beat.last,
                    checked_in: false,
                    starts_at,
                });
            }
        }
    }

    /// The alert for heartbeat `i`'s `silence`: firing, or resolved by a check-in at `back`.
    /// Both have the silence's start, so the resolution resolves the firing.
    fn heartbeat_alert(
        &self,
        i: usize,
        silence: &Silence,
        back: Option<DateTime<Utc>>,
    ) -> Result<Alert, Invalid> {
        let heartbeat = self
            .config
            .policy
            .heartbeats()
            .get(i)
            .ok_or_else(|| Invalid::new("heartbeat name", "not declared"))?;
        let tz = self.config.policy.calendar().time_zone();
        let local = |at: DateTime<Utc>| at.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z");
        let name = heartbeat.name();
        let since = if silence.checked_in {
            local(silence.last).to_string()
        } else {
            format!("the desk started at {}", local(silence.last))
        };
        let text = crate::duration_text::format;
        let counted = match heartbeat.hours() {
            Hours::AroundTheClock => "",
            Hours::Business => ", counted in opening hours",
        };
        let expected = format!(
            "{name} is expected to check in every {} (grace {}{counted})",
            text(heartbeat.every()),
            text(heartbeat.grace()),
        );
        let (summary, description) = match back {
            None => (
                format!("{name}: no check-in since {since}"),
                format!("{expected}; no check-in came since {since}."),
            ),
            Some(at) => (
                format!("{name}: checked in again at {}", local(at)),
                format!("{expected}; it checked in again at {}.", local(at)),
            ),
        };
        let mut alert = Alert::firing(
            HEARTBEAT_SOURCE,
            name,
            heartbeat.service().as_str(),
            &summary,
            silence.starts_at,
        )?
        .with_description(description)?;
        if let Some(at) = back {
            alert = alert
                .with_state(SignalState::Resolved)
                .with_ends_at(at.max(silence.starts_at));
        }
        if let Some(severity) = heartbeat.severity() {
            alert = alert.with_severity(severity);
        }
        Ok(alert)
    }
}
