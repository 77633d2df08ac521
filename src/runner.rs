//! The timer driver: a [`Runner`] ticks the desk and delivers its notifications on a thread of
//! its own, so a host does not write that loop itself.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::clock::Clock;
use crate::desk::Desk;
use crate::error::Result;
use crate::notify::Notifier;
use crate::store::Store;

/// Drives a [`Desk`]'s time on a plain `std` thread (no async runtime needed): it sleeps until
/// the desk's [next deadline](Desk::next_deadline), then [ticks](Desk::tick) and
/// [dispatches](Desk::dispatch) through the notifier, and goes back to sleep.
///
/// - **Woken early.** Anything appended through the desk wakes it at once (it listens with
///   [`Desk::on_append`]): a new critical incident's first page goes out immediately, not
///   at the deadline the runner was sleeping towards. What *other* desks append reaches it
///   through [`Desk::catch_up`], which wakes it too; [`RunnerHandle::wake`] wakes it by hand
///   (after changing a [`ManualClock`](crate::ManualClock), say).
/// - **Backs off on errors.** A store error (a full disk, a database restarting) is logged
///   and counted in [`RunnerStats`], and the round is retried after a pause that doubles from
///   [`first`](Runner::retry_after_errors) up to a ceiling, until a round succeeds.
/// - **Stops without losing work.** [`RunnerHandle::stop`] lets a delivery under way finish
///   and be recorded; the notifications not yet attempted stay pending in the outbox for the
///   next start. Nothing is ever half recorded. Dropping the handle stops the runner too.
///
/// It never reads the system clock itself: "now" is the desk's [`Clock`]. Sleeps are capped
/// (a minute by default, [`Runner::longest_sleep`]) so a clock stepped by NTP is noticed.
///
/// For tests and simulations on a [`ManualClock`](crate::ManualClock), use
/// [`Desk::run_until`] instead: the same rounds, in order, with no thread and no sleeping.
///
/// ```no_run
/// use std::sync::Arc;
/// use incidents::{Desk, FileStore, Notifier, Runner, SystemClock, lifecycle::Notification, notify::DeliveryError};
///
/// struct Pager;
/// impl Notifier for Pager {
///     fn deliver(&self, n: &Notification) -> Result<(), DeliveryError> {
///         println!("{}: {}", n.subject, n.body);
///         Ok(())
///     }
/// }
///
/// let desk = Arc::new(Desk::new(FileStore::open("incident-data")?, SystemClock)?);
/// let runner = Runner::new(Arc::clone(&desk), Pager).start()?;
/// // … the host takes alerts and commands through `desk` …
/// let stats = runner.stop();
/// println!("{} timers fired, {} notifications delivered", stats.fired, stats.delivered);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Runner<S, C, N> {
    desk: Arc<Desk<S, C>>,
    notifier: N,
    retry_first: Duration,
    retry_max: Duration,
    longest_sleep: Duration,
    snapshots: Option<SnapshotEvery>,
}

/// When a [`Runner`] writes a projection snapshot.
#[derive(Debug, Clone, Copy)]
struct SnapshotEvery {
    events: u64,
    period: chrono::Duration,
}

impl<S, C, N> std::fmt::Debug for Runner<S, C, N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner")
            .field("retry_first", &self.retry_first)
            .field("retry_max", &self.retry_max)
            .field("longest_sleep", &self.longest_sleep)
            .field("snapshots", &self.snapshots)
            .finish_non_exhaustive()
    }
}

/// What a [`Runner`] has done so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunnerStats {
    /// Rounds run (a tick and a dispatch each).
    pub rounds: u64,
    /// Timers fired.
    pub fired: u64,
    /// Notifications delivered.
    pub delivered: u64,
    /// Delivery attempts that failed (retried later by the outbox, or given up on).
    pub failed_deliveries: u64,
    /// Projection snapshots written ([`Runner::snapshot_every`]).
    pub snapshots: u64,
    /// Rounds that ended in a store error (a failed snapshot counts too).
    pub errors: u64,
    /// The last store error, if any round failed.
    pub last_error: Option<String>,
}

/// Controls a started [`Runner`]: wake it, read its statistics, stop it. Dropping it stops
/// the runner.
#[derive(Debug)]
#[must_use = "dropping the handle stops the runner"]
pub struct RunnerHandle {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    stats: Mutex<RunnerStats>,
}

#[derive(Debug, Default)]
struct State {
    /// Bumped by every wake-up.
    pokes: u64,
    stop: bool,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // Only counters and a flag live under these locks; they stay consistent.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn stats(&self) -> MutexGuard<'_, RunnerStats> {
        self.stats
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn poke(&self) {
        self.state().pokes += 1;
        self.wake.notify_all();
    }

    fn stopping(&self) -> bool {
        self.state().stop
    }
}

impl<S, C, N> Runner<S, C, N>
where
    S: Store + 'static,
    C: Clock + 'static,
    N: Notifier + Send + 'static,
{
    /// A runner for `desk`, delivering through `notifier`. Retries after store errors from
    /// 100 ms, doubling up to 30 s; sleeps at most a minute at a time.
    pub fn new(desk: Arc<Desk<S, C>>, notifier: N) -> Runner<S, C, N> {
        Runner {
            desk,
            notifier,
            retry_first: Duration::from_millis(100),
            retry_max: Duration::from_secs(30),
            longest_sleep: Duration::from_secs(60),
            snapshots: None,
        }
    }

    /// Writes a projection snapshot ([`Desk::save_snapshot`]) once `events` events were
    /// recorded since the last one, or once `period` (on the desk's clock) passed since the
    /// last one with at least one event recorded in between — whichever comes first — so a
    /// restart replays at most about that much of the log. Default: never.
    ///
    /// The runner writes it between rounds, on its own thread: timers and deliveries wait
    /// for it (about a second per 100,000 incidents). A store that keeps no snapshots (the
    /// memory store) makes this a no-op. A failed snapshot is logged and counted in
    /// [`RunnerStats::errors`]; the next try comes after as many events or as long again.
    #[must_use]
    pub fn snapshot_every(mut self, events: u64, period: chrono::Duration) -> Self {
        self.snapshots = Some(SnapshotEvery {
            events: events.max(1),
            period,
        });
        self
    }

    /// After a round fails with a store error, wait `first` before the next, doubling each
    /// time up to `max`.
    #[must_use]
    pub fn retry_after_errors(mut self, first: Duration, max: Duration) -> Self {
        self.retry_first = first;
        self.retry_max = max.max(first);
        self
    }

    /// Never sleep longer than this before looking at the clock again.
    #[must_use]
    pub fn longest_sleep(mut self, longest: Duration) -> Self {
        self.longest_sleep = longest;
        self
    }

    /// Starts the runner's thread (named `incidents-runner`).
    ///
    /// # Errors
    /// The operating system's error if the thread cannot be created.
    pub fn start(self) -> std::io::Result<RunnerHandle> {
        let shared = Arc::new(Shared::default());
        let inner = Arc::clone(&shared);
        // Snapshots count events from here, not from whenever the thread gets going: events
        // recorded while it starts count towards the first.
        let since = (self.desk.recorded_events(), self.desk.clock().now());
        let thread = std::thread::Builder::new()
            .name("incidents-runner".into())
            .spawn(move || self.run(&inner, since))?;
        Ok(RunnerHandle {
            shared,
            thread: Some(thread),
        })
    }

    fn run(self, shared: &Arc<Shared>, since: (u64, chrono::DateTime<chrono::Utc>)) {
        let listener = Arc::downgrade(shared);
        let _subscription = self.desk.on_append(move || {
            if let Some(shared) = listener.upgrade() {
                shared.poke();
            }
        });
        let mut retry: Option<Duration> = None;
        let mut idle_rounds = 0u32;
        // The events recorded and the desk's time at the last snapshot (or the start).
        let mut last_snapshot = since;
        loop {
            let seen = {
                let state = shared.state();
                if state.stop {
                    return;
                }
                state.pokes
            };
            match self.round(shared) {
                Ok(()) => retry = None,
                Err(error) => {
                    log::warn!("incidents: runner round failed, retrying: {error}");
                    let mut stats = shared.stats();
                    stats.errors += 1;
                    stats.last_error = Some(error.to_string());
                    retry = Some(retry.map_or(self.retry_first, |d| {
                        d.saturating_mul(2).min(self.retry_max)
                    }));
                }
            }
            let next_snapshot = self.snapshot_if_due(shared, &mut last_snapshot);
            let wait = match retry {
                Some(wait) => wait,
                None => match self
                    .desk
                    .next_deadline()
                    .into_iter()
                    .chain(next_snapshot)
                    .min()
                {
                    Some(next) => (next - self.desk.clock().now())
                        .to_std()
                        .unwrap_or(Duration::ZERO)
                        .min(self.longest_sleep),
                    None => self.longest_sleep,
                },
            };
            // Something due now that a round could not settle must not spin a core: after
            // a few rounds without sleeping, sleep a little anyway.
            idle_rounds = if wait.is_zero() { idle_rounds + 1 } else { 0 };
            let wait = if idle_rounds > 3 {
                Duration::from_millis(10)
            } else {
                wait
            };
            let state = shared.state();
            let (state, _) = shared
                .wake
                .wait_timeout_while(state, wait, |s| s.pokes == seen && !s.stop)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if state.stop {
                return;
            }
        }
    }

    /// Writes a snapshot if one is due (see [`Runner::snapshot_every`]); returns when the
    /// next one falls due by time, if events wait for it.
    fn snapshot_if_due(
        &self,
        shared: &Shared,
        last: &mut (u64, chrono::DateTime<chrono::Utc>),
    ) -> Option<chrono::DateTime<chrono::Utc>> {
        let every = self.snapshots?;
        let recorded = self.desk.recorded_events();
        if recorded == last.0 {
            return None;
        }
        let now = self.desk.clock().now();
        let by_time = last.1.checked_add_signed(every.period);
        let due = recorded - last.0 >= every.events || by_time.is_none_or(|at| now >= at);
        if !due {
            return by_time;
        }
        match self.desk.save_snapshot() {
            Ok(written) => {
                *last = (recorded, now);
                if written.is_some() {
                    shared.stats().snapshots += 1;
                }
                None
            }
            Err(error) => {
                log::warn!("incidents: runner could not write a snapshot, retrying: {error}");
                let mut stats = shared.stats();
                stats.errors += 1;
                stats.last_error = Some(error.to_string());
                // Not in a tight loop: again after as many events or as long again.
                *last = (recorded, now);
                None
            }
        }
    }

    /// One tick and one dispatch at the desk's current time ([`Desk::run_due`]).
    fn round(&self, shared: &Shared) -> Result<()> {
        let round = self
            .desk
            .run_due_until(&self.notifier, &|| shared.stopping())?;
        let mut stats = shared.stats();
        stats.rounds += 1;
        stats.fired += round.fired.len() as u64;
        stats.delivered += round.delivered.len() as u64;
        stats.failed_deliveries += (round.failed + round.gave_up) as u64;
        Ok(())
    }
}

impl RunnerHandle {
    /// Wakes the runner to look at the clock and the desk now.
    pub fn wake(&self) {
        self.shared.poke();
    }

    /// What it has done so far.
    pub fn stats(&self) -> RunnerStats {
        self.shared.stats().clone()
    }

    /// Asks the runner to stop, without waiting: it finishes and records a delivery under
    /// way, then ends. [`stop`](Self::stop) (or dropping the handle) waits for that.
    pub fn request_stop(&self) {
        self.shared.state().stop = true;
        self.shared.wake.notify_all();
    }

    /// Stops the runner and waits for its thread: a delivery under way is finished and
    /// recorded, the rest stays pending. Returns what it did.
    pub fn stop(mut self) -> RunnerStats {
        self.halt();
        self.stats()
    }

    fn halt(&mut self) {
        self.request_stop();
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            let mut stats = self.shared.stats();
            stats.errors += 1;
            stats.last_error = Some("the runner's thread panicked".into());
        }
    }
}

impl Drop for RunnerHandle {
    fn drop(&mut self) {
        self.halt();
    }
}
