//! Telling whoever drives the desk that something was appended: [`Desk::on_append`].

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock, Weak};

use super::Desk;

type Callback = Arc<dyn Fn() + Send + Sync>;

/// The callbacks to call after each append.
pub(super) struct Listeners {
    /// How many are registered, read without the lock on every append.
    count: AtomicUsize,
    next_id: AtomicU64,
    /// Replaced whole on every change, so that callbacks run without the lock held: a callback
    /// may drop or make a subscription.
    callbacks: RwLock<Arc<[(u64, Callback)]>>,
}

impl Default for Listeners {
    fn default() -> Self {
        Listeners {
            count: AtomicUsize::new(0),
            next_id: AtomicU64::new(0),
            callbacks: RwLock::new(Arc::from(Vec::new())),
        }
    }
}

#[allow(
    clippy::missing_fields_in_debug,
    reason = "the callbacks are closures, shown by their count"
)]
impl std::fmt::Debug for Listeners {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listeners")
            .field("count", &self.count.load(Ordering::Relaxed))
            .finish()
    }
}

impl Listeners {
    /// Calls every callback. Costs one atomic load when nobody listens.
    pub(super) fn notify(&self) {
        if self.count.load(Ordering::Acquire) == 0 {
            return;
        }
        // The list is only ever replaced whole, so a poisoned lock still holds a whole list.
        let callbacks = Arc::clone(
            &self
                .callbacks
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for (_, callback) in callbacks.iter() {
            callback();
        }
    }

    fn add(&self, callback: Callback) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut callbacks = self
            .callbacks
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut list = callbacks.to_vec();
        list.push((id, callback));
        self.count.store(list.len(), Ordering::Release);
        *callbacks = list.into();
        id
    }

    fn remove(&self, id: u64) {
        let mut callbacks = self
            .callbacks
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let list: Vec<(u64, Callback)> = callbacks
            .iter()
            .filter(|(i, _)| *i != id)
            .cloned()
            .collect();
        self.count.store(list.len(), Ordering::Release);
        *callbacks = list.into();
    }
}

/// Keeps a callback registered with [`Desk::on_append`]; dropping it unregisters the callback
/// (from anywhere, the callback itself included).
#[must_use = "dropping the subscription unregisters the callback at once"]
pub struct Subscription {
    listeners: Weak<Listeners>,
    id: u64,
}

#[allow(
    clippy::missing_fields_in_debug,
    reason = "the weak link back to the listeners says nothing"
)]
impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.id)
            .finish()
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(listeners) = self.listeners.upgrade() {
            listeners.remove(self.id);
        }
    }
}

impl<S, C> Desk<S, C> {
    /// Calls `callback` after every append this desk makes — a command, an alert, a timer
    /// firing, a delivery record, what a catch-up brought in — until the returned
    /// [`Subscription`] is dropped.
    ///
    /// This is how a timer loop learns early that the next deadline may have moved: a new
    /// critical incident's first page is due at once, not at the deadline the loop went to
    /// sleep for. [`Runner`](crate::Runner) uses it; an async host can wake its own task
    /// with it (e.g. `tokio::sync::Notify::notify_one`).
    ///
    /// The callback runs on the thread that appended, while the incident is still locked:
    /// keep it short (set a flag, notify a condition variable or a channel) and do not call
    /// back into the desk from it (reading an incident from there would wait for that lock).
    /// Making or dropping subscriptions from it is fine.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use incidents::{Actor, Desk, ManualClock, MemoryStore, NewIncident, Role, Severity, Source};
    ///
    /// let desk = Desk::new(MemoryStore::new(), ManualClock::new(chrono::Utc::now()))?;
    /// let appends = Arc::new(AtomicUsize::new(0));
    /// let counter = Arc::clone(&appends);
    /// let subscription = desk.on_append(move || {
    ///     counter.fetch_add(1, Ordering::SeqCst);
    /// });
    /// let dana = Actor::new("dana", "Dana", Role::Owner)?;
    /// desk.open(&dana, NewIncident::new("Till offline", Severity::High, "POS", Source::StaffReport)?)?;
    /// assert_eq!(appends.load(Ordering::SeqCst), 1);
    /// drop(subscription);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn on_append(&self, callback: impl Fn() + Send + Sync + 'static) -> Subscription {
        let id = self.listeners.add(Arc::new(callback));
        Subscription {
            listeners: Arc::downgrade(&self.listeners),
            id,
        }
    }
}
