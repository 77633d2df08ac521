//! An in-memory store: for tests, simulations, and hosts that persist elsewhere.

use std::collections::HashMap;
use std::sync::RwLock;

use crate::error::{Conflict, Result};
use crate::lifecycle::Event;
use crate::model::IncidentId;
use crate::store::{Append, Store, Version};

/// A [`Store`] in memory, with real version checks. Nothing survives the process.
///
/// ```
/// use incidents::{MemoryStore, Store, IncidentId, Version};
///
/// let store = MemoryStore::new();
/// let id = IncidentId::from_bytes([7; 16]);
/// assert_eq!(store.version(id)?, Version::ZERO);
/// # Ok::<(), incidents::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: RwLock<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    streams: HashMap<IncidentId, Vec<Event>>,
    /// Incident ids in the order their first event was appended, for `scan`.
    order: Vec<IncidentId>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// The number of incidents with at least one event.
    pub fn incident_count(&self) -> usize {
        self.read().order.len()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        // A panic while holding the lock cannot leave `Inner` half-updated: `append` checks
        // everything before it mutates, so a poisoned lock still guards consistent data.
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }
}

impl Store for MemoryStore {
    fn append(&self, id: IncidentId, expected: Version, events: &[Event]) -> Result<Version> {
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        let actual = Version::new(inner.streams.get(&id).map_or(0, |s| s.len() as u64));
        if actual != expected {
            return Err(Conflict {
                incident: id,
                expected,
                actual,
            }
            .into());
        }
        if events.is_empty() {
            return Ok(actual);
        }
        let inner = &mut *inner;
        let stream = inner.streams.entry(id).or_insert_with(|| {
            inner.order.push(id);
            Vec::new()
        });
        stream.extend_from_slice(events);
        Ok(actual.plus(events.len() as u64))
    }

    fn append_batch(&self, batch: &[Append<'_>]) -> Result<Vec<Version>> {
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        // Check everything first, so that a conflict records nothing.
        let mut next: HashMap<IncidentId, u64> = HashMap::new();
        let mut versions = Vec::with_capacity(batch.len());
        for append in batch {
            let actual = match next.get(&append.id) {
                Some(v) => *v,
                None => inner.streams.get(&append.id).map_or(0, |s| s.len() as u64),
            };
            if actual != append.expected.get() {
                return Err(Conflict {
                    incident: append.id,
                    expected: append.expected,
                    actual: Version::new(actual),
                }
                .into());
            }
            let after = actual + append.events.len() as u64;
            next.insert(append.id, after);
            versions.push(Version::new(after));
        }
        let inner = &mut *inner;
        for append in batch.iter().filter(|a| !a.events.is_empty()) {
            let stream = inner.streams.entry(append.id).or_insert_with(|| {
                inner.order.push(append.id);
                Vec::new()
            });
            stream.extend_from_slice(append.events);
        }
        Ok(versions)
    }

    fn load(&self, id: IncidentId) -> Result<Vec<Event>> {
        Ok(self.read().streams.get(&id).cloned().unwrap_or_default())
    }

    fn version(&self, id: IncidentId) -> Result<Version> {
        Ok(Version::new(
            self.read().streams.get(&id).map_or(0, |s| s.len() as u64),
        ))
    }

    fn scan(&self, visit: &mut dyn FnMut(IncidentId, Version, &Event) -> Result<()>) -> Result<()> {
        let inner = self.read();
        for id in &inner.order {
            if let Some(stream) = inner.streams.get(id) {
                for (n, event) in stream.iter().enumerate() {
                    visit(*id, Version::new(n as u64 + 1), event)?;
                }
            }
        }
        Ok(())
    }
}
