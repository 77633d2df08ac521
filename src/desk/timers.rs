//! Time on the desk: the deadline queues, [`Desk::tick`], [`Desk::next_deadline`] and the
//! outbox's [`Desk::dispatch`].

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Timelike, Utc};

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

/// A shard's earliest deadline as its cached value says: none.
const EMPTY: i64 = i64::MAX;
/// ... or: not known from the cache, read the queues. Below every other value, so that a
/// cached minimum holding it is never above the true one. For a shard it means an instant
/// the cached form does not hold (see [`encode`]); for [`Queues::least`] it also means "a
/// minimum was taken off: compute it again".
const LOW: i64 = i64::MIN;

/// The first year the cached form holds; it holds `2^YEAR_BITS` years from there.
const FIRST_YEAR: i32 = 1900;
const YEAR_BITS: u32 = 9;
/// Bits for the second of the year (below 366 × 86,400 < 2^25) and the nanosecond.
const SECOND_BITS: u32 = 25;
const NANO_BITS: u32 = 30;
const SECONDS_PER_DAY: u64 = 86_400;
const NANOS_PER_SECOND: u32 = 1_000_000_000;

/// The cached form of an earliest deadline: year (from [`FIRST_YEAR`]), second of the year
/// and nanosecond, packed from the high bits down, so that it orders as the instants do and
/// turns back into one without dividing days into years (from nanoseconds since 1970 that
/// took about 13 ns a read, more than the rest of `next_deadline`; this takes about 5). An
/// instant it does not hold — a year outside 1900 to 2411, a leap second, or
/// 1900-01-01T00:00:00, which would read as [`LOW`] — reads as [`LOW`], below all.
#[inline]
fn encode(first: Option<DateTime<Utc>>) -> i64 {
    let Some(at) = first else {
        return EMPTY;
    };
    let (date, time) = (at.naive_utc().date(), at.naive_utc().time());
    let nano = time.nanosecond();
    let Ok(year) = u64::try_from(date.year() - FIRST_YEAR) else {
        return LOW;
    };
    if year >= 1 << YEAR_BITS || nano >= NANOS_PER_SECOND {
        return LOW;
    }
    let second =
        u64::from(date.ordinal0()) * SECONDS_PER_DAY + u64::from(time.num_seconds_from_midnight());
    let packed = year << (SECOND_BITS + NANO_BITS) | second << NANO_BITS | u64::from(nano);
    // Order-preserving from `u64` to `i64`: 0 is `LOW`, and `EMPTY` is out of reach (the
    // second of the year never has all its bits set).
    i64::MIN.wrapping_add_unsigned(packed)
}

/// The instant `encode` made `cached` from (not [`EMPTY`] or [`LOW`]); `None` only if
/// `cached` is not such a value.
#[inline]
fn decode(cached: i64) -> Option<DateTime<Utc>> {
    let packed = cached.abs_diff(i64::MIN);
    let year = i32::try_from(packed >> (SECOND_BITS + NANO_BITS)).ok()? + FIRST_YEAR;
    let second = (packed >> NANO_BITS) & ((1 << SECOND_BITS) - 1);
    let nano = u32::try_from(packed & ((1 << NANO_BITS) - 1)).ok()?;
    let ordinal = u32::try_from(second / SECONDS_PER_DAY).ok()? + 1;
    let date = NaiveDate::from_yo_opt(year, ordinal)?;
    let second = u32::try_from(second % SECONDS_PER_DAY).ok()?;
    let time = NaiveTime::from_num_seconds_from_midnight_opt(second, nano)?;
    Some(date.and_time(time).and_utc())
}

/// [`Queue`]s in shards (threads rearming different incidents do not contend), with each
/// shard's earliest deadline cached in an atomic (`firsts`) and the earliest of all in one
/// more (`least`), so that `next_deadline` and a tick with nothing due are one atomic load
/// each and lock nothing (once the cache holds: see below).
///
/// **Why `least` is never above the true minimum.** Every value is [`encode`]d, so "above"
/// compares `i64`s and [`LOW`] is below everything. `least` changes in two ways only:
///
/// 1. A [`set`](Queues::set) on shard `i`, under `i`'s write lock, after storing the shard's
///    new first `f` (old `f_old`) in `firsts[i]`: if `least > f` it lowers `least` to `f`
///    (`fetch_min`); if `f > f_old` (the shard's first was taken off) and `least >= f_old`
///    (that first may have been the minimum) it lowers `least` to [`LOW`] (`fetch_min`).
///    Either way it only ever lowers `least`, and leaves `least <= f`.
/// 2. [`recompute`](Queues::recompute) (called by a reader that finds [`LOW`]) computes the
///    minimum of every shard's queue while holding every shard's read lock, and stores it:
///    the only place `least` rises.
///
/// Claim: whenever shard `i`'s write lock is free, `least <= firsts[i]` and `firsts[i]` is the
/// encoded first of shard `i`'s queue. It holds at the start (all [`EMPTY`]). `firsts[i]` and
/// queue `i` change only under `i`'s write lock, and the writer leaves `least <= f` (1);
/// while it holds the lock `least` can only fall (2 needs that lock too). After the writer
/// releases it, `least` rises only by (2), to the minimum over all shards read under all
/// their locks: at most `firsts[i]`. So when no writer is inside [`set`](Queues::set),
/// `least` is at most every shard's first, hence at most the true minimum, and a reader can
/// never miss a deadline. It is exact as well unless it is [`LOW`]: a value `v` in `least`
/// was some shard's first when stored (by 1 or 2); the first writer on that shard to change
/// it afterwards holds that shard's lock after the store, so it sees `least == v` unless it
/// fell meanwhile, and lowers it to [`LOW`] (if it raises the shard's first) or below `v`.
/// A stale-low `least` is therefore always [`LOW`], which makes the reader compute again:
/// once after a minimum is taken off, then the cache holds.
#[derive(Debug)]
pub(super) struct Queues {
    shards: Sharded<Queue>,
    firsts: Box<[AtomicI64]>,
    least: AtomicI64,
}

impl Default for Queues {
    fn default() -> Self {
        let shards: Sharded<Queue> = Sharded::default();
        let firsts = (0..shards.len()).map(|_| AtomicI64::new(EMPTY)).collect();
        Queues {
            shards,
            firsts,
            least: AtomicI64::new(EMPTY),
        }
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
        let Some(first) = self.firsts.get(Sharded::<Queue>::shard_of(&id)) else {
            return;
        };
        // Only this writer (under the shard's lock) stores in `first`.
        let before = first.load(Ordering::Relaxed);
        let after = encode(shard.first());
        // Equal values say the same first, except [`LOW`]: any instant it cannot hold.
        if after == before && after != LOW {
            return;
        }
        first.store(after, Ordering::Release);
        let least = self.least.load(Ordering::Acquire);
        if least > after {
            self.least.fetch_min(after, Ordering::AcqRel);
        } else if after > before && least >= before {
            self.least.fetch_min(LOW, Ordering::AcqRel);
        }
        drop(shard);
    }

    /// Computes the earliest deadline holding every shard's read lock, so that no
    /// [`set`](Self::set) runs meanwhile, and caches it (see the claim on [`Queues`]).
    #[cold]
    fn recompute(&self) -> Option<DateTime<Utc>> {
        let shards: Vec<_> = self.shards.each().collect();
        let least = shards.iter().filter_map(|q| q.first()).min();
        self.least.store(encode(least), Ordering::Release);
        least
    }

    /// The earliest deadline of all.
    #[inline]
    pub(super) fn first(&self) -> Option<DateTime<Utc>> {
        match self.least.load(Ordering::Acquire) {
            EMPTY => None,
            LOW => self.recompute(),
            cached => decode(cached).or_else(|| self.recompute()),
        }
    }

    /// The earliest deadline of `self` and `other` (the desk's two queues): two atomic
    /// loads and one [`decode`].
    #[inline]
    pub(super) fn first_of_both(&self, other: &Queues) -> Option<DateTime<Utc>> {
        let (one, two) = (
            self.least.load(Ordering::Acquire),
            other.least.load(Ordering::Acquire),
        );
        match one.min(two) {
            EMPTY => None,
            LOW => earliest(self.first(), other.first()),
            cached => decode(cached).or_else(|| earliest(self.first(), other.first())),
        }
    }

    /// The incidents with a deadline at or before `now`, shard by shard, each shard's in
    /// deadline order. With nothing due, one atomic load (after a minimum was taken off, a
    /// look at each shard's cached first and one pass under the shards' read locks);
    /// otherwise shards whose earliest deadline is later are not locked.
    #[inline]
    pub(super) fn due(&self, now: DateTime<Utc>) -> Vec<IncidentId> {
        let now_cached = encode(Some(now));
        // Whether a cached first is after `now`; an instant the cache does not hold is
        // compared the slow way, and a shard whose first it does not hold is read.
        let later = |cached: i64| match cached {
            EMPTY => true,
            LOW => false,
            cached if now_cached != LOW => cached > now_cached,
            cached => decode(cached).is_some_and(|at| at > now),
        };
        let mut due = Vec::new();
        let least = self.least.load(Ordering::Acquire);
        if later(least) {
            return due;
        }
        for (index, first) in self.firsts.iter().enumerate() {
            if later(first.load(Ordering::Acquire)) {
                continue;
            }
            if let Some(shard) = self.shards.read_at(index) {
                due.extend(shard.due(now));
            }
        }
        if due.is_empty() && least == LOW {
            // A minimum was taken off and nothing is due: cache the new one, so that the
            // next tick with nothing due is one load again. (With something due, the tick
            // is about to move those deadlines anyway.)
            self.recompute();
        }
        due
    }
}

/// The earlier of two deadlines (`None`: none).
#[inline]
fn earliest(one: Option<DateTime<Utc>>, two: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (one, two) {
        (Some(one), Some(two)) => Some(one.min(two)),
        (one, None) => one,
        (None, two) => two,
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
        let queues = self.timers.first_of_both(&self.outbox);
        earliest(
            queues,
            earliest(self.heartbeat_deadline(), self.reminder_deadline()),
        )
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
        let mut missed = Vec::new();
        let mut first_error = if self.config.policy.heartbeats().is_empty() {
            None // the common case, without a call
        } else {
            self.tick_heartbeats(now, &mut missed).err()
        };
        let reminders = self.tick_reminders(now);
        let due = self.timers.due(now);
        if due.is_empty() {
            // Nothing due, the usual tick: the report is built in place, not moved.
            return match first_error {
                Some(error) => Err(error),
                None => Ok(TickReport {
                    missed,
                    reminders,
                    ..TickReport::default()
                }),
            };
        }
        let mut report = TickReport {
            missed,
            reminders,
            ..TickReport::default()
        };
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
            // The ends of the years the cached form holds, and past them.
            (0i64..3)
                .prop_map(|n| utc(1899, 12, 31, 23, 59, 59, 999_999_999)
                    + chrono::Duration::nanoseconds(n)),
            (0i64..3)
                .prop_map(|n| utc(2411, 12, 31, 23, 59, 59, 999_999_998)
                    + chrono::Duration::nanoseconds(n)),
            // A leap second, which the cached form does not hold, and the instants about it.
            Just(utc(2026, 12, 31, 23, 59, 59, 1_500_000_000)),
            Just(utc(2026, 12, 31, 23, 59, 59, 999_999_999)),
            Just(utc(2027, 1, 1, 0, 0, 0, 0)),
        ]
    }

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, nano: u32) -> DateTime<Utc> {
        NaiveDate::from_ymd_opt(y, mo, d)
            .and_then(|date| date.and_hms_nano_opt(h, mi, s, nano))
            .expect("a valid instant")
            .and_utc()
    }

    #[test]
    fn the_cached_form_orders_as_the_instants_and_turns_back_into_them() {
        let mut instants: Vec<DateTime<Utc>> = (0..4000i64)
            .map(|k| {
                utc(1899, 12, 31, 0, 0, 0, 0)
                    + chrono::Duration::seconds(k * 4_157_123)
                    + chrono::Duration::nanoseconds(k * 987_654_321 % 1_000_000_000)
            })
            .chain([
                utc(1900, 1, 1, 0, 0, 0, 1),
                utc(2411, 12, 31, 23, 59, 59, 999_999_999),
                utc(2024, 12, 31, 23, 59, 59, 999_999_999),
                utc(2024, 2, 29, 12, 0, 0, 0),
            ])
            .collect();
        instants.sort();
        let cached: Vec<i64> = instants.iter().map(|at| encode(Some(*at))).collect();
        for (at, value) in instants.iter().zip(&cached) {
            let holds = (1900..=2411).contains(&at.year()) && *at != utc(1900, 1, 1, 0, 0, 0, 0);
            assert_eq!(*value != LOW, holds, "{at}");
            if holds {
                assert_eq!(decode(*value), Some(*at));
                assert!(*value != EMPTY);
            }
        }
        let held: Vec<i64> = cached.into_iter().filter(|v| *v != LOW).collect();
        assert!(held.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(
            encode(Some(utc(2026, 12, 31, 23, 59, 59, 1_500_000_000))),
            LOW
        );
        assert_eq!(encode(None), EMPTY);
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
                // The cache is exact, or says to compute again; never above the minimum.
                let cached = queues.least.load(Ordering::Acquire);
                let exact = encode(model.first().map(|(at, _)| *at));
                prop_assert!(cached == exact || cached == LOW, "{} vs {}", cached, exact);
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

    /// A shard whose first goes from one instant the cached form does not hold to another
    /// (far future to far past) caches the same value: the minimum must be read again.
    #[test]
    fn a_shard_moving_between_instants_the_cache_does_not_hold_is_read_again() {
        let id = |n: u128| IncidentId::from_uuid(uuid::Uuid::from_u128(n));
        let shard = |n: u128| Sharded::<Queue>::shard_of(&id(n));
        let far_future = utc(2500, 1, 1, 0, 0, 0, 0);
        let far_past = utc(1800, 1, 1, 0, 0, 0, 0);
        let usual = utc(2027, 1, 15, 8, 0, 0, 0);
        let other = (2..10_000)
            .find(|n| shard(*n) == shard(1))
            .expect("a second id in shard 1's");
        let queues = Queues::default();
        queues.set(id(1), None, Some(far_future));
        queues.set(id(u128::MAX), None, Some(usual));
        assert_eq!(queues.first(), Some(usual));
        queues.set(id(other), None, Some(far_past));
        assert_eq!(queues.first(), Some(far_past));
        assert_eq!(queues.due(utc(1900, 6, 1, 0, 0, 0, 0)), vec![id(other)]);
    }

    /// Threads moving their own incidents' deadlines concurrently, on the same few instants
    /// (so that shards often share the minimum): after each of its moves, a thread checks
    /// that the earliest deadline, cached or not, is at most the earliest of its own (which
    /// only it changes, so the true minimum is at most that), and that `due` at that instant
    /// includes its own earliest incident. At the end, with every thread done, the queues
    /// agree exactly with the threads' deadlines.
    #[test]
    fn cached_minimum_is_never_above_the_true_one_under_concurrent_sets() {
        const THREADS: u64 = 4;
        const IDS_PER_THREAD: u64 = 6;
        const MOVES: u64 = 20_000;
        let base = DateTime::from_timestamp_nanos(1_800_000_000_000_000_000);
        let queues = Queues::default();
        let start = std::sync::Barrier::new(usize::try_from(THREADS).expect("a few threads"));
        let finals: Vec<Vec<(IncidentId, Option<DateTime<Utc>>)>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..THREADS)
                .map(|thread| {
                    let (queues, start) = (&queues, &start);
                    scope.spawn(move || {
                        let ids: Vec<IncidentId> = (0..IDS_PER_THREAD)
                            .map(|n| {
                                let n = u128::from(thread * IDS_PER_THREAD + n + 1);
                                IncidentId::from_uuid(uuid::Uuid::from_u128(
                                    n.wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835),
                                ))
                            })
                            .collect();
                        let mut mine: Vec<Option<DateTime<Utc>>> = vec![None; ids.len()];
                        // xorshift: deterministic per thread, no dependency.
                        let mut state = 0x2545_F491_4F6C_DD1D_u64 ^ (thread + 1);
                        let mut next = move || {
                            state ^= state << 13;
                            state ^= state >> 7;
                            state ^= state << 17;
                            state
                        };
                        start.wait();
                        for _ in 0..MOVES {
                            let which = (next() % IDS_PER_THREAD) as usize;
                            let roll = next() % 10;
                            let new = (roll != 0).then(|| {
                                base + chrono::Duration::minutes((next() % 8).cast_signed())
                            });
                            queues.set(ids[which], mine[which], new);
                            mine[which] = new;
                            let own = mine
                                .iter()
                                .zip(&ids)
                                .filter_map(|(at, id)| at.map(|at| (at, *id)))
                                .min();
                            if let Some((at, id)) = own {
                                let first = queues.first();
                                assert!(
                                    first.is_some_and(|first| first <= at),
                                    "earliest {first:?} above this thread's own {at}"
                                );
                                assert!(
                                    queues.due(at).contains(&id),
                                    "{id} due at {at} not listed"
                                );
                            }
                        }
                        ids.into_iter().zip(mine).collect()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|handle| handle.join().expect("no thread panics"))
                .collect()
        });
        let model: BTreeSet<(DateTime<Utc>, IncidentId)> = finals
            .into_iter()
            .flatten()
            .filter_map(|(id, at)| at.map(|at| (at, id)))
            .collect();
        let cached = queues.least.load(Ordering::Acquire);
        let exact = encode(model.first().map(|(at, _)| *at));
        assert!(cached == exact || cached == LOW, "{cached} vs {exact}");
        assert_eq!(queues.first(), model.first().map(|(at, _)| *at));
        let mut due = queues.due(base + chrono::Duration::minutes(8));
        due.sort();
        let mut want: Vec<IncidentId> = model.iter().map(|(_, id)| *id).collect();
        want.sort();
        assert_eq!(due, want);
    }
}
