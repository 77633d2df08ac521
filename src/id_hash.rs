//! The hash of the crate's maps keyed by incident id.
//!
//! An [`IncidentId`](crate::IncidentId) is 16 bytes, 74 bits of them random, so it needs no
//! general-purpose hash: its two 64-bit halves are each mixed by one 64 × 64 → 128-bit
//! multiply with a key drawn once per process (from the standard library's random hash
//! keys), which spreads them over the whole word. The standard `SipHash` costs several times
//! that per lookup, and the store's index, the desk's projection and its timer queues look
//! up an id for every event they read or record. The key keeps the layout of a map unknown
//! outside the process, so ids chosen to collide (a crafted import) cannot be computed
//! ahead; this is not a cryptographic guarantee, which these maps of the shop's own data do
//! not need.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;

use crate::model::IncidentId;

/// A map from incident ids, hashed by [`IdHash`].
pub(crate) type IdMap<V> = HashMap<IncidentId, V, IdHash>;

/// Builds [`IdHasher`]s with the process's keys.
///
/// Every map in a process shares the key, so two maps with the same ids iterate in the same
/// order: filling one map in another's iteration order clusters it. Nothing here does (the
/// desk inserts in the store's order, a restore sizes its map first); keep it so.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IdHash {
    /// The multiplier (odd) and the starting state.
    keys: [u64; 2],
}

impl Default for IdHash {
    fn default() -> Self {
        static KEYS: OnceLock<[u64; 2]> = OnceLock::new();
        let keys = *KEYS.get_or_init(|| {
            let random = std::collections::hash_map::RandomState::new();
            [
                (random.hash_one(0x5eed_u64) ^ 0x9e37_79b9_7f4a_7c15) | 1,
                random.hash_one(0xfeed_u64),
            ]
        });
        IdHash { keys }
    }
}

impl BuildHasher for IdHash {
    type Hasher = IdHasher;

    fn build_hasher(&self) -> IdHasher {
        IdHasher {
            multiplier: self.keys[0],
            state: self.keys[1],
        }
    }
}

/// Folds each 8 bytes written into its state with one wide multiply.
#[derive(Debug, Clone)]
pub(crate) struct IdHasher {
    multiplier: u64,
    state: u64,
}

/// The high and low halves of `a × b`, folded together.
fn fold(a: u64, b: u64) -> u64 {
    let product = u128::from(a) * u128::from(b);
    #[allow(
        clippy::cast_possible_truncation,
        reason = "the two halves, on purpose"
    )]
    let (low, high) = (product as u64, (product >> 64) as u64);
    low ^ high
}

impl IdHasher {
    fn mix(&mut self, word: u64) {
        self.state = fold(self.state ^ word, self.multiplier);
    }
}

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.mix(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.mix(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 59));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.mix(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.mix(n as u64);
    }

    fn finish(&self) -> u64 {
        // One more round, so the last word written reaches every bit, the low bits a map's
        // bucket index takes and the high ones its tag.
        fold(self.state, self.multiplier).rotate_left(26)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn hash(id: IncidentId) -> u64 {
        IdHash::default().hash_one(id)
    }

    /// Ids differing in one bit anywhere hash apart, and their low bits (a map's bucket) and
    /// high bits (its tag) spread: no bucket of 256 gets more than twice its share.
    #[test]
    fn ids_spread_over_buckets_and_tags() {
        let mut seen = HashSet::new();
        let mut low = [0u32; 256];
        let mut high = [0u32; 256];
        let n = 1u32 << 16;
        for i in 0..n {
            let mut bytes = [0u8; 16];
            // Sequential ids: the timestamp part counting up, the random part fixed.
            bytes[..8].copy_from_slice(&u64::from(i).to_be_bytes());
            let h = hash(IncidentId::from_bytes(bytes));
            assert!(seen.insert(h), "id {i} collides");
            low[(h & 0xff) as usize] += 1;
            high[(h >> 56) as usize] += 1;
        }
        let share = n / 256;
        assert!(low.iter().all(|&c| c < share * 2), "low bits cluster");
        assert!(high.iter().all(|&c| c < share * 2), "high bits cluster");
        for bit in 0..128 {
            let mut bytes = [0u8; 16];
            bytes[bit / 8] ^= 1 << (bit % 8);
            assert_ne!(
                hash(IncidentId::from_bytes(bytes)),
                hash(IncidentId::from_bytes([0; 16]))
            );
        }
    }

    #[test]
    fn a_map_keyed_by_ids_works_as_a_map() {
        let mut map: IdMap<u32> = IdMap::default();
        for i in 0..1000u32 {
            let mut bytes = [7u8; 16];
            bytes[12..].copy_from_slice(&i.to_le_bytes());
            map.insert(IncidentId::from_bytes(bytes), i);
        }
        assert_eq!(map.len(), 1000);
        let mut bytes = [7u8; 16];
        bytes[12..].copy_from_slice(&500u32.to_le_bytes());
        assert_eq!(map.get(&IncidentId::from_bytes(bytes)), Some(&500));
    }
}
