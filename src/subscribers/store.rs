//! Where subscribers are kept: the [`SubscriberStore`] trait and [`MemorySubscribers`].

use super::state::Change;
use super::values::SubscriberError;

/// Keeps the subscribers' changes. Unlike the incident log it is **rewritable**:
/// [`compact`](SubscriberStore::compact) replaces everything, which is how erasure removes a
/// contact for good.
pub trait SubscriberStore: Send {
    /// Every change recorded, oldest first.
    ///
    /// # Errors
    /// The store's read errors ([`SubscriberError::Io`], [`SubscriberError::Corrupt`]).
    fn load(&mut self) -> Result<Vec<Change>, SubscriberError>;

    /// Records `changes` atomically (all or none, also across a crash) and durably: once it
    /// returns `Ok`, the changes survive a crash or power loss.
    ///
    /// # Errors
    /// The store's write errors; nothing of `changes` is recorded then.
    fn append(&mut self, changes: &[Change]) -> Result<(), SubscriberError>;

    /// Replaces everything recorded with `snapshot`, atomically and durably; afterwards no
    /// byte of anything left out of `snapshot` remains in the store.
    ///
    /// # Errors
    /// The store's write errors; the old contents stay then.
    fn compact(&mut self, snapshot: &[Change]) -> Result<(), SubscriberError>;
}

/// A [`SubscriberStore`] in memory, for tests and hosts that keep nothing. Cloning it copies
/// what it holds (a test's "restart").
///
/// ```
/// use incidents::subscribers::{MemorySubscribers, SubscriberStore};
///
/// let mut store = MemorySubscribers::new();
/// assert!(store.load()?.is_empty());
/// # Ok::<(), incidents::subscribers::SubscriberError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemorySubscribers {
    changes: Vec<Change>,
}

impl MemorySubscribers {
    /// An empty store.
    pub fn new() -> MemorySubscribers {
        MemorySubscribers::default()
    }
}

impl SubscriberStore for MemorySubscribers {
    fn load(&mut self) -> Result<Vec<Change>, SubscriberError> {
        Ok(self.changes.clone())
    }

    fn append(&mut self, changes: &[Change]) -> Result<(), SubscriberError> {
        self.changes.extend_from_slice(changes);
        Ok(())
    }

    fn compact(&mut self, snapshot: &[Change]) -> Result<(), SubscriberError> {
        self.changes = snapshot.to_vec();
        Ok(())
    }
}

impl<S: SubscriberStore + ?Sized> SubscriberStore for Box<S> {
    fn load(&mut self) -> Result<Vec<Change>, SubscriberError> {
        (**self).load()
    }
    fn append(&mut self, changes: &[Change]) -> Result<(), SubscriberError> {
        (**self).append(changes)
    }
    fn compact(&mut self, snapshot: &[Change]) -> Result<(), SubscriberError> {
        (**self).compact(snapshot)
    }
}
