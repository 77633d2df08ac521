//! Time on the desk: the deadline queues, [`Desk::tick`], [`Desk::next_deadline`] and the
//! outbox's [`Desk::dispatch`].

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Utc};

use super::{Desk, Missed, lock};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::incident::Delivery;
use crate::lifecycle::{Change, Event, Notification, Timer};
use crate::model::{Actor, IncidentId};
use crate::notify::Notifier;
use crate::shard::Sharded;
use crate::store::Store;

/// Incidents ordered by a deadline: `next_deadline` is the first entry, a tick takes the
/// entries at or before `now`. O(log n) per change; never a scan over all incidents.
#[derive(Debug, Default)]
pub(super) struct Queue {
    by_time: BTreeSet<(DateTime<Utc>, IncidentId)>,
}

impl Queue {
    /// Moves `id` from deadline `old` to `new` (either may be `None`).
    fn set(&mut self, id: IncidentId, old: Option<DateTime<Utc>>, new: Option<DateTime<Utc>>) {
        if let Some(old) = old {
            self.by_time.remove(&(old, id));
        }
        if let Some(new) = new {
            self.by_time.insert((new, id));
        }
    }

    fn first(&self) -> Option<DateTime<Utc>> {
        self.by_time.first().map(|(at, _)| *at)
    }

    fn due(&self, now: DateTime<Utc>) -> impl Iterator<Item = IncidentId> + '_ {
        self.by_time
            .iter()
            .take_while(move |(at, _)| *at <= now)
            .map(|(_, id)| *id)
    }
}

/// A shard's earliest deadline, as its cached value says: none.
const EMPTY: i64 = i64::MAX;
/// ... or: read the shard (an instant outside what nanoseconds since 1970 in an `i64` hold,
/// years 1677 to 2262, or one that would read as a sentinel).
const READ_THE_SHARD: i64 = i64::MIN;

/// The cached form of a shard's earliest deadline.
fn encode(first: Option<DateTime<Utc>>) -> i64 {
    match first {
        None => EMPTY,
        Some(at) => match at.timestamp_nanos_opt() {
            Some(EMPTY) | None => READ_THE_SHARD,
            Some(nanos) => nanos,
        },
    }
}

/// [`Queue`]s in shards (threads rearming different incidents do not contend), with each
/// shard's earliest deadline also kept in an atomic, written under the shard's lock whenever
/// the shard changes. `next_deadline` and a tick with nothing due read those atomics and
/// lock no shard; a tick locks only the shards with something due.
#[derive(Debug)]
pub(super) struct Queues {
    shards: Sharded<Queue>,
    firsts: Box<[AtomicI64]>,
}

impl Default for Queues {
    fn default() -> Self {
        let shards: Sharded<Queue> = Sharded::default();
        let firsts = (0..shards.len()).map(|_| AtomicI64::new(EMPTY)).collect();
        Queues { shards, firsts }
    }
}

impl Queues {
    /// Moves `id` from deadline `old` to `new` (either may be `None`).
    pub(super) fn set(
        &self,
        id: IncidentId,
        old: Option<DateTime<Utc>>,
        new: Option<DateTime<Utc>>,
    ) {
        let mut shard = self.shards.write(&id);
        shard.set(id, old, new);
        if let Some(first) = self.firsts.get(Sharded::<Queue>::shard_of(&id)) {
            first.store(encode(shard.first()), Ordering::Release);
        }
    }

    /// The earliest deadline of shard `index`, whose cached value is `cached`.
    fn first_of(&self, index: usize, cached: i64) -> Option<DateTime<Utc>> {
        match cached {
            EMPTY => None,
            READ_THE_SHARD => self.shards.read_at(index).and_then(|q| q.first()),
            nanos => Some(DateTime::from_timestamp_nanos(nanos)),
        }
    }

    /// The earliest deadline of all: the least cached value, unless a shard's must be read.
    pub(super) fn first(&self) -> Option<DateTime<Utc>> {
        let mut earliest = EMPTY;
        let mut read = false;
        for first in &self.firsts {
            let value = first.load(Ordering::Acquire);
            read |= value == READ_THE_SHARD;
            earliest = earliest.min(value);
        }
        if !read {
            return (earliest != EMPTY).then(|| DateTime::from_timestamp_nanos(earliest));
        }
        self.firsts
            .iter()
            .enumerate()
            .filter_map(|(index, first)| self.first_of(index, first.load(Ordering::Acquire)))
            .min()
    }

    /// The incidents with a deadline at or before `now`, shard by shard, each shard's in
    /// deadline order. Shards whose earliest deadline is later are not locked.
    pub(super) fn due(&self, now: DateTime<Utc>) -> Vec<IncidentId> {
        let mut due = Vec::new();
        for (index, first) in self.firsts.iter().enumerate() {
            let later = match first.load(Ordering::Acquire) {
                EMPTY => true,
                READ_THE_SHARD => false,
                nanos => DateTime::from_timestamp_nanos(nanos) > now,
            };
            if later {
                continue;
            }
            if let Some(shard) = self.shards.read_at(index) {
                due.extend(shard.due(now));
            }
        }
        due
    }
}

/// What a [`Desk::tick`] recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TickReport {
    /// Every timer fired, with its incident, in the order recorded.
    pub fired: Vec<(IncidentId, Timer)>,
    /// Notifications queued for the outbox.
    pub notifications: usize,
    /// Incidents whose timers were taken off the queue because their history refused what
    /// the timers asked for (a bug in this crate; logged), with the reason.
    pub failed: Vec<(IncidentId, String)>,
    /// Heartbeats whose silence became too long, each reported as an alert (see
    /// [`Desk::check_in`]), in the order they fell silent.
    pub missed: Vec<Missed>,
    /// Shift reminders of the on-call schedules queued for the outbox (see
    /// [`Schedule::with_reminder`](crate::oncall::Schedule::with_reminder)).
    pub reminders: usize,
}

/// What a [`Desk::dispatch`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DispatchReport {
    /// Notifications delivered.
    pub delivered: Vec<String>,
    /// Failed attempts that will be retried.
    pub failed: usize,
    /// Notifications given up on (their last attempt failed).
    pub gave_up: usize,
    /// Shift reminders dropped undelivered because their shift had started.
    pub reminders_dropped: usize,
}

impl<S: Store, C: Clock> Desk<S, C> {
    /// When the desk next has something to do: the earliest timer of any incident, the
    /// earliest pending notification attempt, the earliest instant a
    /// [heartbeat](crate::policy::Heartbeat) is to be reported missing, or the earliest
    /// [shift reminder](crate::oncall::Schedule::with_reminder) due or to be retried. `None`
    /// if nothing is pending.
    ///
    /// Costs O(log n) in the number of incidents, plus O(h) in the number of declared
    /// heartbeats (nothing, not even a lock, when none are declared), plus one lock for the
    /// shift reminders, which are planned ahead and cached (the first call plans from the
    /// desk's clock; with nothing planned for the coming week, it is the end of the plan, up
    /// to a year ahead, so that a tick then plans further). A host sleeps until
    /// this instant, then calls [`tick`](Desk::tick) and [`dispatch`](Desk::dispatch). A
    /// check-in only ever moves a heartbeat's deadline later, so it does not wake the host;
    /// the host may wake for a deadline that has moved, and finds nothing due.
    pub fn next_deadline(&self) -> Option<DateTime<Utc>> {
        let timers = self.timers.first();
        let outbox = self.outbox.first();
        timers
            .into_iter()
            .chain(outbox)
            .chain(self.heartbeat_deadline())
            .chain(self.reminder_deadline())
            .min()
    }

    /// Fires every timer due at `now`: escalation steps, SLA at-risk warnings and breaches,
    /// customer-update reminders — each recorded once, as an event with a deterministic key,
    /// together with the notification it asks for. First, every [heartbeat](crate::policy::Heartbeat)
    /// silent for too long is reported as an alert ([`TickReport::missed`]); an incident that
    /// opens pages in the same tick. Then the on-call schedules'
    /// [shift reminders](crate::oncall::Schedule::with_reminder) with `due <= now < start`
    /// not yet queued by this desk are queued for [`dispatch`](Desk::dispatch)
    /// ([`TickReport::reminders`]); they are kept in memory, not stored. So a reminder goes
    /// out at least once per desk process until its shift starts; a desk restarted between
    /// the reminder time and the shift's start sends it again with the same key (hosts drop
    /// duplicates by key); one whose shift started while no desk ran is not sent; two desks
    /// sharing a database both send it, with the same key.
    ///
    /// A repeated or spurious tick records nothing. A tick after a restart, or on a second
    /// desk sharing the store, does not fire what is already recorded: the firing is an
    /// append at the incident's version, and the recorded keys are checked again after a
    /// conflict.
    ///
    /// One incident's trouble does not hold up the others: every due incident is visited.
    ///
    /// **Quiet when it is over.** While every monitor signal on an incident has resolved,
    /// its escalation steps and acknowledge warnings rest, and customer-update reminders go on
    /// only if customers were already told something; the quiet period runs meanwhile and
    /// auto-resolves it. A new firing signal wakes the chain where it stopped, the quiet time
    /// not counted. On the default policy, a critical alert (owner at 0, again at 10,
    /// responders at 15 minutes):
    ///
    /// ```text
    /// 12:00 alert fires, incident opened   → the owner is paged
    /// 12:04 alert resolves                 → quiet: no page at 12:10 or 12:15, no warnings
    /// 12:19 quiet period (15 min) is over  → auto-resolved
    /// — had it fired again at 12:12        → the owner at 12:18 (6 of its 10 minutes were
    ///                                        left), the responders at 12:23
    /// ```
    ///
    /// # Errors
    /// The first store error met (the other incidents were still visited); timers not
    /// recorded stay queued for the next tick, so a host should wait a little before retrying.
    pub fn tick(&self, now: DateTime<Utc>) -> Result<TickReport> {
        let mut report = TickReport::default();
        let mut first_error = self.tick_heartbeats(now, &mut report.missed).err();
        report.reminders = self.tick_reminders(now);
        let due = self.timers.due(now);
        for id in due {
            let cell = match self.cell(id) {
                Ok(Some(cell)) => cell,
                Ok(None) => continue,
                Err(error) => {
                    first_error.get_or_insert(error);
                    continue;
                }
            };
            let mut slot = lock(&cell);
            let recorded = self.record(id, &mut slot, |incident| {
                let at = now.max(incident.updated_at());
                let mut events = Vec::new();
                for timer in crate::engine::due_timers(incident, &self.config.policy, now) {
                    let channel = crate::engine::channel_of(&timer, incident, &self.config.policy);
                    let notifications = self
                        .config
                        .timer_notifications(incident, &timer, channel, now);
                    let resolves = matches!(timer, Timer::QuietPeriodOver { .. });
                    events.push(Event {
                        at,
                        actor: Actor::system(),
                        change: Change::TimerFired { timer },
                    });
                    events.extend(notifications.into_iter().map(|notification| Event {
                        at,
                        actor: Actor::system(),
                        change: Change::NotificationRequested { notification },
                    }));
                    if resolves {
                        // Auto-resolve. It is ordered last among the due timers; nothing
                        // fires on a resolved incident.
                        events.push(Event {
                            at,
                            actor: Actor::system(),
                            change: Change::Resolved {
                                resolution: crate::lifecycle::Resolution::AutoResolved,
                            },
                        });
                        break;
                    }
                }
                Ok(events)
            });
            let receipt = match recorded {
                Ok(receipt) => receipt,
                // The incident's own history refuses what its timers ask for — a bug, not a
                // passing fault. Take it off the timer queue so the others keep firing and
                // the host does not spin on a deadline that can never be met.
                Err(error @ Error::History(_)) => {
                    log::error!("incidents: timers of {id} stopped: {error}");
                    self.timers.set(id, slot.timer_due, None);
                    slot.timer_due = None;
                    report.failed.push((id, error.to_string()));
                    continue;
                }
                Err(error) => {
                    first_error.get_or_insert(error);
                    continue;
                }
            };
            for event in receipt.events {
                match event.change {
                    Change::TimerFired { timer } => report.fired.push((id, timer)),
                    Change::NotificationRequested { .. } => report.notifications += 1,
                    _ => {}
                }
            }
        }
        match first_error {
            Some(error) => Err(error),
            None => Ok(report),
        }
    }

    /// Delivers every notification whose attempt is due (by the desk's clock) through
    /// `notifier`, and records each delivery or failure. A failure is retried after the
    /// desk's [`Backoff`](crate::notify::Backoff); after its last attempt, or at once for a
    /// [permanent](crate::notify::DeliveryError::permanent) failure, the outbox gives up on it.
    ///
    /// Delivery is at least once: a crash between delivering and recording delivers the same
    /// notification again, with the same key.
    ///
    /// Queued [shift reminders](crate::oncall::Schedule::with_reminder) go the same way
    /// (their keys in [`DispatchReport::delivered`], their failures counted with the others),
    /// kept in memory rather than recorded; one whose shift has started is dropped
    /// ([`DispatchReport::reminders_dropped`]).
    ///
    /// # Errors
    /// Store errors while recording; what was delivered before stays recorded.
    pub fn dispatch(&self, notifier: &dyn Notifier) -> Result<DispatchReport> {
        self.dispatch_until(notifier, &|| false)
    }

    /// [`dispatch`](Self::dispatch), checking `stop` before each delivery: once it says so,
    /// the notifications not yet attempted stay pending. A delivery under way is finished and
    /// recorded first — never half recorded.
    pub(crate) fn dispatch_until(
        &self,
        notifier: &dyn Notifier,
        stop: &dyn Fn() -> bool,
    ) -> Result<DispatchReport> {
        let now = self.clock.now();
        let due = self.outbox.due(now);
        let mut report = DispatchReport::default();
        let reminders = self.dispatch_reminders(notifier, now, stop);
        report.delivered = reminders.delivered;
        report.failed = reminders.failed;
        report.gave_up = reminders.gave_up;
        report.reminders_dropped = reminders.dropped;
        for id in due {
            let Some(cell) = self.cell(id)? else {
                continue;
            };
            // Deliver without holding the incident's lock: a slow notifier must not block
            // commands on the incident.
            let pending: Vec<Notification> = lock(&cell)
                .incident
                .outbox()
                .iter()
                .filter(|e| {
                    matches!(e.delivery, Delivery::Pending { next_attempt } if next_attempt <= now)
                })
                .map(|e| e.notification.clone())
                .collect();
            for notification in pending {
                if stop() {
                    return Ok(report);
                }
                let outcome = notifier.deliver(&notification);
                let mut slot = lock(&cell);
                let receipt = self.record(id, &mut slot, |incident| {
                    // Record only if still pending: another desk may have recorded it.
                    let Some(entry) = incident.outbox().iter().find(|e| {
                        e.notification.key == notification.key
                            && matches!(e.delivery, Delivery::Pending { .. })
                    }) else {
                        return Ok(Vec::new());
                    };
                    let change = match &outcome {
                        Ok(()) => Change::NotificationDelivered {
                            key: notification.key.clone(),
                        },
                        Err(error) => {
                            let attempt = entry.attempts + 1;
                            let retry_at = if error.is_permanent() {
                                None
                            } else {
                                self.config.backoff.retry_at(attempt, now)
                            };
                            Change::NotificationFailed {
                                key: notification.key.clone(),
                                attempt,
                                error: error.to_string(),
                                retry_at,
                            }
                        }
                    };
                    Ok(vec![Event {
                        at: now.max(incident.updated_at()),
                        actor: Actor::system(),
                        change,
                    }])
                })?;
                for event in receipt.events {
                    match event.change {
                        Change::NotificationDelivered { key } => report.delivered.push(key),
                        Change::NotificationFailed {
                            retry_at: Some(_), ..
                        } => report.failed += 1,
                        Change::NotificationFailed { retry_at: None, .. } => report.gave_up += 1,
                        _ => {}
                    }
                }
            }
        }
        Ok(report)
    }
}

/// What [`Desk::run_due`] or [`Desk::run_until`] did: every timer fired and every delivery
/// made, with the instant it happened on the clock, and when the desk next has something to
/// do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunReport {
    /// Timers fired, in order: when, which incident, which timer.
    pub fired: Vec<(DateTime<Utc>, IncidentId, Timer)>,
    /// Heartbeats reported missing, in order: when, and which.
    pub missed: Vec<(DateTime<Utc>, Missed)>,
    /// Notifications delivered, in order: when, and the notification's key.
    pub delivered: Vec<(DateTime<Utc>, String)>,
    /// Failed delivery attempts that will be retried.
    pub failed: usize,
    /// Notifications given up on.
    pub gave_up: usize,
    /// Shift reminders dropped undelivered because their shift had started.
    pub reminders_dropped: usize,
    /// The desk's [next deadline](Desk::next_deadline) afterwards: when to run again.
    pub next_deadline: Option<DateTime<Utc>>,
}

impl<S: Store, C: Clock> Desk<S, C> {
    /// One round of a timer loop: [ticks](Self::tick) at the clock's now, then
    /// [dispatches](Self::dispatch) what is due through `notifier`; the report says when to
    /// run again ([`RunReport::next_deadline`]).
    ///
    /// The [`Runner`](crate::Runner) calls this on its thread; a host with its own loop — an
    /// async task, a cron job — calls it the same way, sleeping until the next deadline or
    /// until [`on_append`](Self::on_append) says something new arrived:
    ///
    /// ```
    /// # use incidents::{Desk, ManualClock, MemoryStore};
    /// # struct Mail;
    /// # impl incidents::Notifier for Mail {
    /// #     fn deliver(&self, _: &incidents::lifecycle::Notification) -> Result<(), incidents::notify::DeliveryError> { Ok(()) }
    /// # }
    /// # let desk = Desk::new(MemoryStore::new(), ManualClock::new(chrono::Utc::now()))?;
    /// let round = desk.run_due(&Mail)?;
    /// match round.next_deadline {
    ///     Some(at) => println!("sleep until {at}, or until woken by `desk.on_append`"),
    ///     None => println!("nothing pending: sleep until woken"),
    /// }
    /// # Ok::<(), incidents::Error>(())
    /// ```
    ///
    /// # Errors
    /// The first store error of the tick or the dispatch; what was recorded before stays
    /// recorded, and the rest is tried again next round.
    pub fn run_due(&self, notifier: &dyn Notifier) -> Result<RunReport> {
        self.run_due_until(notifier, &|| false)
    }

    /// [`run_due`](Self::run_due), stopping between deliveries once `stop` says so.
    pub(crate) fn run_due_until(
        &self,
        notifier: &dyn Notifier,
        stop: &dyn Fn() -> bool,
    ) -> Result<RunReport> {
        let now = self.clock.now();
        // A tick in trouble (a store error) must not hold up deliveries already due.
        let ticked = self.tick(now);
        let dispatched = self.dispatch_until(notifier, stop);
        let (ticked, dispatched) = (ticked?, dispatched?);
        let delivered_at = self.clock.now();
        Ok(RunReport {
            fired: ticked
                .fired
                .into_iter()
                .map(|(id, timer)| (now, id, timer))
                .collect(),
            missed: ticked.missed.into_iter().map(|m| (now, m)).collect(),
            delivered: dispatched
                .delivered
                .into_iter()
                .map(|key| (delivered_at, key))
                .collect(),
            failed: dispatched.failed,
            gave_up: dispatched.gave_up,
            reminders_dropped: dispatched.reminders_dropped,
            next_deadline: self.next_deadline(),
        })
    }
}

impl<S: Store, C: Clock + std::borrow::Borrow<crate::clock::ManualClock>> Desk<S, C> {
    /// Runs the desk's time forward on its [`ManualClock`](crate::ManualClock) up to `until`,
    /// as a [`Runner`](crate::Runner) would in real time: it moves the clock to each deadline
    /// in turn ([`next_deadline`](Self::next_deadline)), [ticks](Self::tick) and
    /// [dispatches](Self::dispatch) through `notifier` there, and finally sets the clock to
    /// `until` (a clock already past `until` is left where it is). Whatever is due at the
    /// clock's current time is handled first, so an incident opened just before goes out at
    /// once.
    ///
    /// For tests, simulations and dry runs: every escalation step, reminder and delivery
    /// happens at the instant it falls due, in order, and nothing sleeps.
    ///
    /// ```
    /// use chrono::{Duration, TimeZone, Utc};
    /// use incidents::{Actor, Desk, ManualClock, MemoryStore, NewIncident, Role, Severity, Source};
    /// # struct Pager;
    /// # impl incidents::Notifier for Pager {
    /// #     fn deliver(&self, _: &incidents::lifecycle::Notification) -> Result<(), incidents::notify::DeliveryError> { Ok(()) }
    /// # }
    ///
    /// let start = Utc.with_ymd_and_hms(2026, 11, 27, 18, 55, 0).unwrap();
    /// let clock = ManualClock::new(start);
    /// let desk = Desk::new(MemoryStore::new(), &clock)?;
    /// let noa = Actor::new("noa", "Noa", Role::Owner)?;
    /// desk.open(&noa, NewIncident::new("Till won't take cards", Severity::Critical, "POS", Source::StaffReport)?)?;
    ///
    /// // Nobody acknowledges: the owner is paged at once, again after 10 minutes, then the
    /// // responders after 15.
    /// let run = desk.run_until(start + Duration::minutes(20), &Pager)?;
    /// let pages: Vec<i64> = run.fired.iter()
    ///     .filter(|(_, _, timer)| matches!(timer, incidents::lifecycle::Timer::Escalation { .. }))
    ///     .map(|(at, _, _)| (*at - start).num_minutes())
    ///     .collect();
    /// assert_eq!(pages, [0, 10, 15]);
    /// assert_eq!(clock.now(), start + Duration::minutes(20));
    /// # use incidents::Clock;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// Should something fall due that a round cannot settle (a timer whose recording keeps
    /// failing without an error), it stops there rather than spin: the clock is left at that
    /// instant, short of `until`, and a warning is logged.
    ///
    /// # Errors
    /// The first store error; the clock stays at the instant it happened.
    pub fn run_until(&self, until: DateTime<Utc>, notifier: &dyn Notifier) -> Result<RunReport> {
        let clock: &crate::clock::ManualClock = self.clock.borrow();
        let mut report = RunReport::default();
        let mut rounds_here = 0;
        loop {
            let now = clock.now();
            let round = self.run_due(notifier)?;
            report.fired.extend(round.fired);
            report.missed.extend(round.missed);
            report.delivered.extend(round.delivered);
            report.failed += round.failed;
            report.gave_up += round.gave_up;
            report.reminders_dropped += round.reminders_dropped;
            report.next_deadline = round.next_deadline;
            match round.next_deadline {
                Some(next) if next <= until => {
                    if next > now {
                        clock.set(next);
                        rounds_here = 0;
                    } else {
                        // Something is due now that a round did not settle (it cannot be
                        // recorded); try once more, then move on rather than spin.
                        rounds_here += 1;
                        if rounds_here > 1 {
                            log::warn!(
                                "incidents: something due at {now} cannot be settled; run_until stops there"
                            );
                            return Ok(report);
                        }
                    }
                }
                _ => break,
            }
        }
        if clock.now() < until {
            clock.set(until);
        }
        report.next_deadline = self.next_deadline();
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Deadlines in the usual range, at the ends of what the cache holds, and beyond them.
    fn arb_instant() -> impl Strategy<Value = DateTime<Utc>> {
        prop_oneof![
            (0i64..40).prop_map(|m| DateTime::from_timestamp_nanos(
                1_800_000_000_000_000_000 + m * 60_000_000_000
            )),
            Just(DateTime::from_timestamp_nanos(i64::MAX)),
            Just(DateTime::from_timestamp_nanos(i64::MIN)),
            Just(DateTime::from_timestamp_nanos(i64::MAX) + chrono::Duration::days(1)),
            Just(DateTime::from_timestamp_nanos(i64::MIN) - chrono::Duration::days(1)),
        ]
    }

    proptest! {
        /// The sharded queues with cached minima answer `first` and `due` exactly as one
        /// ordered set of every (deadline, incident) does, whatever the deadlines.
        #[test]
        fn cached_minima_agree_with_one_ordered_set(
            moves in prop::collection::vec((0usize..24, prop::option::of(arb_instant())), 1..120),
            nows in prop::collection::vec(arb_instant(), 1..6),
        ) {
            let ids: Vec<IncidentId> = (0u128..24)
                .map(|n| IncidentId::from_uuid(uuid::Uuid::from_u128(n.wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835))))
                .collect();
            let queues = Queues::default();
            let mut current: Vec<Option<DateTime<Utc>>> = vec![None; ids.len()];
            let mut model: BTreeSet<(DateTime<Utc>, IncidentId)> = BTreeSet::new();
            for (which, new) in moves {
                let id = ids[which];
                queues.set(id, current[which], new);
                if let Some(old) = current[which] {
                    model.remove(&(old, id));
                }
                if let Some(new) = new {
                    model.insert((new, id));
                }
                current[which] = new;
                prop_assert_eq!(queues.first(), model.first().map(|(at, _)| *at));
            }
            for now in nows {
                let mut due = queues.due(now);
                due.sort();
                let mut want: Vec<IncidentId> =
                    model.iter().take_while(|(at, _)| *at <= now).map(|(_, id)| *id).collect();
                want.sort();
                prop_assert_eq!(due, want);
            }
        }
    }
}
