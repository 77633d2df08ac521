//! A map split into independently locked shards, so that threads working on different
//! incidents do not contend on one lock.

use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::model::IncidentId;

/// How many shards: a power of two comfortably above the core counts this crate targets.
const SHARDS: usize = 32;

/// `HashMap`s keyed by incident id, each behind its own `RwLock`, plus per-shard extra data.
#[derive(Debug)]
pub(crate) struct Sharded<T> {
    shards: Box<[RwLock<T>]>,
}

impl<T: Default> Default for Sharded<T> {
    fn default() -> Self {
        Sharded {
            shards: (0..SHARDS).map(|_| RwLock::new(T::default())).collect(),
        }
    }
}

impl<T> Sharded<T> {
    fn index(id: &IncidentId) -> usize {
        // Mix every byte: v7 ids are random in their low bytes, but ids from elsewhere may not be.
        let bytes = id.as_bytes();
        let hi = u64::from_le_bytes(bytes[..8].try_into().unwrap_or([0; 8]));
        let lo = u64::from_le_bytes(bytes[8..].try_into().unwrap_or([0; 8]));
        let mixed = (hi ^ lo.rotate_left(29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (mixed >> 59) as usize % SHARDS
    }

    /// The shard holding `id`, for reading. The data under each lock is only ever changed by
    /// complete single operations, so a poisoned lock still guards consistent data.
    pub(crate) fn read(&self, id: &IncidentId) -> RwLockReadGuard<'_, T> {
        self.shards[Self::index(id)]
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The shard holding `id`, for writing.
    pub(crate) fn write(&self, id: &IncidentId) -> RwLockWriteGuard<'_, T> {
        self.shards[Self::index(id)]
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Shard number `index` (from 0, below [`SHARDS`]), for reading; `None` past the last.
    pub(crate) fn read_at(&self, index: usize) -> Option<RwLockReadGuard<'_, T>> {
        self.shards
            .get(index)
            .map(|s| s.read().unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// How many shards there are.
    pub(crate) fn len(&self) -> usize {
        self.shards.len()
    }

    /// Every shard in turn, for reading.
    pub(crate) fn each(&self) -> impl Iterator<Item = RwLockReadGuard<'_, T>> {
        self.shards
            .iter()
            .map(|s| s.read().unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// Every shard, each locked for writing while the returned guards live: for operations
    /// that must see or change several shards atomically.
    pub(crate) fn write_all(&self) -> Vec<RwLockWriteGuard<'_, T>> {
        self.shards
            .iter()
            .map(|s| s.write().unwrap_or_else(std::sync::PoisonError::into_inner))
            .collect()
    }

    /// The index of the shard for `id` in [`write_all`](Self::write_all)'s vector.
    pub(crate) fn shard_of(id: &IncidentId) -> usize {
        Self::index(id)
    }
}

/// A sharded map from incident ids.
pub(crate) type ShardedMap<V> = Sharded<crate::id_hash::IdMap<V>>;
