//! Shift reminders on the desk: the on-call schedules' [reminders](crate::oncall::Schedule::with_reminder)
//! planned ahead in memory, queued by [`Desk::tick`] and delivered by [`Desk::dispatch`].
//!
//! Nothing here is stored. The desk plans the reminders falling due over the next week (or,
//! if none does, up to a year ahead) and keeps them ordered by due instant, so
//! [`Desk::next_deadline`] reads the first one without looking at the schedules. A tick at
//! `now` queues every planned reminder with `due <= now < start` that this desk has not
//! queued before; a dispatch delivers what is queued with the desk's
//! [`Backoff`](crate::notify::Backoff) (a transient failure is retried, a permanent one, or
//! the last attempt, gives up), and drops a reminder whose shift has started.
//!
//! The semantics that follow (at least once per desk process; again, with the same key, from
//! a desk restarted inside the window; not at all for a shift that started while no desk ran;
//! from both of two desks sharing a database) are documented on
//! [`Schedule::with_reminder`](crate::oncall::Schedule::with_reminder).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

use super::Desk;
use crate::clock::Clock;
use crate::lifecycle::Notification;
use crate::notify::Notifier;
use crate::oncall::{Schedule, ShiftReminder};
use crate::store::Store;

/// How far each planning step looks ahead.
const PLAN_STEP_DAYS: i64 = 7;
/// How far ahead planning goes looking for a next reminder when none falls due sooner.
const PLAN_CAP_DAYS: i64 = 366;

/// The desk's reminders (in memory only), behind one leaf lock.
#[derive(Debug, Default)]
pub(super) struct Reminders {
    state: Mutex<State>,
}

impl Reminders {
    /// The state; poisoning is ignored (every update completes before its guard drops).
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[derive(Debug, Default)]
struct State {
    /// Reminders due before this instant have been planned; `None` before the first plan.
    planned_until: Option<DateTime<Utc>>,
    /// No schedule has a reminder: nothing to plan, ever (the policy is fixed).
    idle: bool,
    /// Planned and not yet queued, by (due, key).
    planned: BTreeMap<(DateTime<Utc>, String), (ShiftReminder, Tz)>,
    /// Queued for delivery, by key.
    queued: BTreeMap<String, Queued>,
    /// Keys delivered, given up on or dropped, with their shift's start (forgotten once it
    /// has passed: such a reminder is never queued again anyway).
    done: HashMap<String, DateTime<Utc>>,
}

#[derive(Debug)]
struct Queued {
    start: DateTime<Utc>,
    notification: Notification,
    attempts: u32,
    /// `None` while a dispatch is delivering it.
    next_attempt: Option<DateTime<Utc>>,
}

impl State {
    /// Plans ahead from where the last plan stopped (the first plan looks back by the longest
    /// lead, so a desk started inside a reminder's window still sends it), one step at a time
    /// until a reminder is planned or a year ahead is covered.
    fn plan(&mut self, schedules: &[Schedule], now: DateTime<Utc>) {
        let longest = schedules
            .iter()
            .filter_map(Schedule::reminder)
            .filter(|lead| *lead > Duration::zero())
            .max();
        let Some(longest) = longest else {
            self.idle = true;
            return;
        };
        let mut from = self
            .planned_until
            .unwrap_or_else(|| now.checked_sub_signed(longest).unwrap_or(now));
        let cap = now
            .checked_add_signed(Duration::days(PLAN_CAP_DAYS))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        loop {
            let until = from
                .max(now)
                .checked_add_signed(Duration::days(PLAN_STEP_DAYS))
                .unwrap_or(DateTime::<Utc>::MAX_UTC);
            for schedule in schedules {
                for reminder in schedule.reminders(from, until) {
                    let key = reminder.key();
                    if self.queued.contains_key(&key) || self.done.contains_key(&key) {
                        continue;
                    }
                    self.planned
                        .insert((reminder.due, key), (reminder, schedule.zone()));
                }
            }
            self.planned_until = Some(until);
            from = until;
            if !self.planned.is_empty() || until >= cap {
                break;
            }
        }
    }

    /// Whether a tick at `now` must plan further first.
    fn needs_plan(&self, now: DateTime<Utc>) -> bool {
        let cap = now
            .checked_add_signed(Duration::days(PLAN_CAP_DAYS))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        // With nothing planned, plan further only while the plan ends short of the cap, so
        // that ticks in a quiet year do not push the plan ever further ahead.
        !self.idle
            && self
                .planned_until
                .is_none_or(|until| until <= now || (self.planned.is_empty() && until < cap))
    }

    /// The next instant a reminder needs the desk: the first planned due instant, the first
    /// queued attempt, or — with nothing planned — the end of the plan (to plan further).
    fn next_deadline(&self) -> Option<DateTime<Utc>> {
        if self.idle {
            return None;
        }
        let planned = match self.planned.first_key_value() {
            Some(((due, _), _)) => Some(*due),
            None => self.planned_until,
        };
        let queued = self.queued.values().filter_map(|q| q.next_attempt).min();
        planned.into_iter().chain(queued).min()
    }
}

/// What the reminders did in one dispatch.
#[derive(Debug, Default)]
pub(super) struct Dispatched {
    pub delivered: Vec<String>,
    pub failed: usize,
    pub gave_up: usize,
    pub dropped: usize,
}

impl<S: Store, C: Clock> Desk<S, C> {
    /// Whether any of the policy's schedules asks for reminders (a policy is fixed for the
    /// desk's life; most have no schedules at all, so this is a look at an empty list).
    fn sends_reminders(&self) -> bool {
        self.config
            .policy
            .schedules()
            .iter()
            .any(|s| s.reminder().is_some_and(|lead| lead > Duration::zero()))
    }

    /// The next instant a shift reminder needs the desk (see [`State::next_deadline`]); the
    /// first call plans from the desk's clock. Nothing but one lock afterwards.
    pub(super) fn reminder_deadline(&self) -> Option<DateTime<Utc>> {
        if !self.sends_reminders() {
            return None; // no lock on the common path: no schedule asks for reminders
        }
        let mut state = self.reminders.lock();
        if state.planned_until.is_none() && !state.idle {
            state.plan(self.config.policy.schedules(), self.clock.now());
        }
        state.next_deadline()
    }

    /// Queues the reminders due at `now` whose shift has not started; returns how many.
    pub(super) fn tick_reminders(&self, now: DateTime<Utc>) -> usize {
        if !self.sends_reminders() {
            return 0;
        }
        let mut state = self.reminders.lock();
        if state.idle {
            return 0;
        }
        if state.needs_plan(now) {
            state.plan(self.config.policy.schedules(), now);
        }
        state.done.retain(|_, start| *start > now);
        let mut queued = 0;
        while let Some(entry) = state.planned.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let ((_, key), (reminder, zone)) = entry.remove_entry();
            // A shift that started before any tick saw its reminder (no desk ran) is skipped.
            if reminder.start <= now || state.queued.contains_key(&key) {
                continue;
            }
            let notification = self.shift_reminder_notification(&reminder, zone);
            state.queued.insert(
                key,
                Queued {
                    start: reminder.start,
                    notification,
                    attempts: 0,
                    next_attempt: Some(now),
                },
            );
            queued += 1;
        }
        if state.needs_plan(now) {
            state.plan(self.config.policy.schedules(), now);
        }
        queued
    }

    /// Delivers the queued reminders whose attempt is due at `now`, dropping those whose
    /// shift has started; stops before a delivery once `stop` says so.
    pub(super) fn dispatch_reminders(
        &self,
        notifier: &dyn Notifier,
        now: DateTime<Utc>,
        stop: &dyn Fn() -> bool,
    ) -> Dispatched {
        let mut report = Dispatched::default();
        if !self.sends_reminders() {
            return report;
        }
        let due: Vec<(String, Notification)> = {
            let mut state = self.reminders.lock();
            let state = &mut *state;
            let mut due = Vec::new();
            let mut dropped = Vec::new();
            for (key, queued) in &mut state.queued {
                if queued.next_attempt.is_none_or(|at| at > now) {
                    continue;
                }
                if queued.start <= now {
                    dropped.push((key.clone(), queued.start));
                    continue;
                }
                // In flight: another dispatch leaves it alone.
                queued.next_attempt = None;
                due.push((key.clone(), queued.notification.clone()));
            }
            for (key, start) in dropped {
                state.queued.remove(&key);
                state.done.insert(key, start);
                report.dropped += 1;
            }
            due
        };
        let mut due = due.into_iter();
        for (key, notification) in due.by_ref() {
            if stop() {
                self.release(&key, now);
                break;
            }
            // Delivered without the lock: a slow notifier holds up nothing else.
            let outcome = notifier.deliver(&notification);
            let mut state = self.reminders.lock();
            let Some(queued) = state.queued.get_mut(&key) else {
                continue;
            };
            let start = queued.start;
            let retry_at = match &outcome {
                Ok(()) => None,
                Err(error) => {
                    queued.attempts += 1;
                    if error.is_permanent() {
                        None
                    } else {
                        self.config.backoff.retry_at(queued.attempts, now)
                    }
                }
            };
            match (&outcome, retry_at) {
                (Ok(()), _) => report.delivered.push(key.clone()),
                (Err(error), Some(at)) => {
                    log::warn!("incidents: shift reminder {key} not delivered, retrying: {error}");
                    queued.next_attempt = Some(at);
                    report.failed += 1;
                    continue;
                }
                (Err(error), None) => {
                    log::warn!("incidents: shift reminder {key} given up: {error}");
                    report.gave_up += 1;
                }
            }
            state.queued.remove(&key);
            state.done.insert(key, start);
        }
        for (key, _) in due {
            self.release(&key, now);
        }
        report
    }

    /// A reminder taken for delivery but not attempted: pending again at `now`.
    fn release(&self, key: &str, now: DateTime<Utc>) {
        if let Some(queued) = self.reminders.lock().queued.get_mut(key) {
            queued.next_attempt = Some(now);
        }
    }

    /// The reminder's notification: from the catalogs in the person's language when the desk
    /// has them (feature `l10n`), else the English text of the templates; times in the
    /// schedule's zone.
    // Without feature `l10n` the desk has no catalogs to look at.
    #[cfg_attr(not(feature = "l10n"), allow(clippy::unused_self))]
    fn shift_reminder_notification(&self, reminder: &ShiftReminder, zone: Tz) -> Notification {
        #[cfg(feature = "l10n")]
        if let Some(catalogs) = self.config.catalogs.as_deref() {
            return crate::l10n::outbox::shift_reminder(
                catalogs,
                self.config.policy.languages(),
                reminder,
                zone,
            );
        }
        crate::notify::Templates::shift_reminder(reminder, zone)
    }
}
