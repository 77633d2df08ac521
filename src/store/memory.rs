//! An in-memory store: for tests, simulations, and hosts that persist elsewhere.

use std::collections::HashMap;

use crate::error::{Conflict, Result};
use crate::lifecycle::Event;
use crate::model::IncidentId;
use crate::shard::Sharded;
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
    shards: Sharded<Shard>,
}

#[derive(Debug, Default)]
struct Shard {
    /// Each incident's events, as positions in `events`, in version order.
    streams: crate::id_hash::IdMap<Vec<usize>>,
    /// The incidents in the order they were first appended.
    order: Vec<IncidentId>,
    /// Every event of the shard, in the order appended.
    events: Arena,
}

/// Events in chunks of at most [`CHUNK`]: appending never moves the events of full chunks (a
/// `Vec` per incident copied its events at every doubling, a fifth of an append).
#[derive(Debug, Default)]
struct Arena {
    chunks: Vec<Vec<Event>>,
    len: usize,
}

/// Events per chunk of an [`Arena`].
const CHUNK: usize = 1024;

impl Arena {
    /// Adds `event`; returns its position.
    fn push(&mut self, event: Event) -> usize {
        let at = self.len;
        match self.chunks.last_mut() {
            Some(chunk) if chunk.len() < CHUNK => chunk.push(event),
            _ => {
                // Grown as it fills (a store of a few events stays small); a chunk moves
                // only its own events when it grows, at most ten times.
                self.chunks.push(vec![event]);
            }
        }
        self.len += 1;
        at
    }

    fn get(&self, at: usize) -> Option<&Event> {
        self.chunks.get(at / CHUNK)?.get(at % CHUNK)
    }
}

impl Shard {
    fn version(&self, id: &IncidentId) -> u64 {
        self.streams.get(id).map_or(0, |s| s.len() as u64)
    }

    fn extend(&mut self, id: IncidentId, events: &[Event]) {
        if events.is_empty() {
            return;
        }
        let order = &mut self.order;
        let stream = self.streams.entry(id).or_insert_with(|| {
            order.push(id);
            // Room for a typical incident's history without growing.
            Vec::with_capacity(8)
        });
        for event in events {
            stream.push(self.events.push(event.clone()));
        }
    }

    /// The events of `id`, in version order.
    fn events_of<'a>(&'a self, id: &IncidentId) -> impl Iterator<Item = &'a Event> + 'a {
        self.streams
            .get(id)
            .into_iter()
            .flatten()
            .filter_map(|at| self.events.get(*at))
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// The number of incidents with at least one event.
    pub fn incident_count(&self) -> usize {
        self.shards.each().map(|shard| shard.order.len()).sum()
    }
}

impl Store for MemoryStore {
    fn append(&self, id: IncidentId, expected: Version, events: &[Event]) -> Result<Version> {
        // Every change to a shard is checked first and then done whole, so a poisoned lock
        // (see `Sharded`) still guards consistent data.
        let mut shard = self.shards.write(&id);
        let actual = Version::new(shard.version(&id));
        if actual != expected {
            return Err(Conflict {
                incident: id,
                expected,
                actual,
            }
            .into());
        }
        shard.extend(id, events);
        Ok(actual.plus(events.len() as u64))
    }

    fn append_batch(&self, batch: &[Append<'_>]) -> Result<Vec<Version>> {
        // A batch may span shards: hold them all, so it is atomic.
        let mut shards = self.shards.write_all();
        // Check everything first, so that a conflict records nothing.
        let mut next: HashMap<IncidentId, u64> = HashMap::new();
        let mut versions = Vec::with_capacity(batch.len());
        for append in batch {
            let actual = match next.get(&append.id) {
                Some(v) => *v,
                None => shards[Sharded::<Shard>::shard_of(&append.id)].version(&append.id),
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
        for append in batch {
            shards[Sharded::<Shard>::shard_of(&append.id)].extend(append.id, append.events);
        }
        Ok(versions)
    }

    fn load(&self, id: IncidentId) -> Result<Vec<Event>> {
        Ok(self.shards.read(&id).events_of(&id).cloned().collect())
    }

    fn version(&self, id: IncidentId) -> Result<Version> {
        Ok(Version::new(self.shards.read(&id).version(&id)))
    }

    fn scan(&self, visit: &mut dyn FnMut(IncidentId, Version, &Event) -> Result<()>) -> Result<()> {
        for shard in self.shards.each() {
            for id in &shard.order {
                for (n, event) in shard.events_of(id).enumerate() {
                    visit(*id, Version::new(n as u64 + 1), event)?;
                }
            }
        }
        Ok(())
    }
}
