//! Test hooks for deterministic simulation, not for production (feature `testing`).
//!
//! Everything here acts on the **current thread only**, so tests running in parallel in one
//! process do not see each other's settings, and a desk driven from one thread (as a
//! simulator drives it) sees them on every call.
//!
//! - [`seed_incident_ids`]: the random part of every [`IncidentId`](crate::IncidentId) the
//!   thread makes comes from a seeded generator, so a simulation run twice with the same seed
//!   makes the same ids and the same store, byte for byte.
//! - [`inject`]: turns on a deliberate bug, so that a test can show the simulator (or any
//!   other check) catches it.
//! - [`pipeline_scans_from`]: makes a `FileStore`'s scans take its multi-threaded read even
//!   on a test's small logs.
//! - [`open_reads_in`]: makes a `FileStore`'s recovery scan read its segments in small
//!   pieces, as it reads a large store's.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use incidents::{IncidentId, testing};
//!
//! let at = Utc.with_ymd_and_hms(2026, 12, 4, 9, 0, 0).unwrap();
//! testing::seed_incident_ids(Some(7));
//! let first = IncidentId::new_v7(at);
//! testing::seed_incident_ids(Some(7));
//! assert_eq!(IncidentId::new_v7(at), first);
//! testing::seed_incident_ids(None); // back to the operating system's generator
//! assert_ne!(IncidentId::new_v7(at), first);
//! ```

use std::cell::Cell;

/// A deliberate bug a test may turn on with [`inject`], to check that its checks catch it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Bug {
    /// An incident forgets that its SLA breach warnings fired: the fold of a
    /// [`TimerFired`](crate::Change::TimerFired) event for a breach skips remembering its
    /// key, so the next tick fires (and records) the same breach again.
    ForgetFiredBreach,
    /// A desk whose append meets a conflict (another desk recorded on the incident first)
    /// reloads the incident but appends what it had decided on its stale copy, without
    /// deciding again: two desks ticking together both record the same timer.
    NoRecheckAfterConflict,
}

thread_local! {
    static ID_STATE: Cell<Option<u64>> = const { Cell::new(None) };
    static BUG: Cell<Option<Bug>> = const { Cell::new(None) };
    static PIPELINE_FROM: Cell<Option<u64>> = const { Cell::new(None) };
    static OPEN_WINDOW: Cell<Option<usize>> = const { Cell::new(None) };
}

/// Makes a [`FileStore`](crate::FileStore)'s recovery scan (its open, and
/// [`verify`](crate::FileStore::verify), [`repair`](crate::FileStore::repair) and backups)
/// called on this thread read each segment `bytes` at a time instead of 4 MiB, so a test's
/// small segments cross the boundaries between reads that a large store's do (`Some(1)`: a
/// frame never arrives in one read); `None` returns to the default.
pub fn open_reads_in(bytes: Option<usize>) {
    OPEN_WINDOW.with(|window| window.set(bytes.map(|b| b.max(1))));
}

/// What [`open_reads_in`] set on this thread.
#[cfg(feature = "file")]
pub(crate) fn open_window() -> Option<usize> {
    OPEN_WINDOW.with(Cell::get)
}

/// Makes a [`FileStore`](crate::FileStore) scan called on this thread decode on worker threads
/// from `bytes` of log on (`Some(0)`: every scan, however short) instead of from 4 MiB, so a
/// test's small logs go through the same multi-threaded read as a large store's; `None`
/// returns to the default. The threads follow
/// [`FileStoreOptions::scan_threads`](crate::store::FileStoreOptions::scan_threads): by
/// default a machine with one core reads alone whatever this says. Only scans called on the
/// thread that set it are affected; with `Some(0)` even an empty scan starts threads.
pub fn pipeline_scans_from(bytes: Option<u64>) {
    PIPELINE_FROM.with(|from| from.set(bytes));
}

/// What [`pipeline_scans_from`] set on this thread.
#[cfg(feature = "file")]
pub(crate) fn pipeline_from() -> Option<u64> {
    PIPELINE_FROM.with(Cell::get)
}

/// Makes the random part of the incident ids this thread creates come from a generator seeded
/// with `seed`; `None` returns to the operating system's generator.
pub fn seed_incident_ids(seed: Option<u64>) {
    ID_STATE.with(|state| state.set(seed.map(|s| s ^ 0x9e37_79b9_7f4a_7c15)));
}

/// The next ten seeded random bytes for an id, if this thread seeded its ids.
pub(crate) fn next_id_bytes() -> Option<[u8; 10]> {
    ID_STATE.with(|state| {
        let mut s = state.get()?;
        let mut bytes = [0u8; 10];
        let a = splitmix(&mut s);
        let b = splitmix(&mut s);
        bytes[..8].copy_from_slice(&a.to_le_bytes());
        bytes[8..].copy_from_slice(&b.to_le_bytes()[..2]);
        state.set(Some(s));
        Some(bytes)
    })
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Turns `bug` on for this thread (`None`: no bug).
pub fn inject(bug: Option<Bug>) {
    BUG.with(|b| b.set(bug));
}

/// Whether `bug` is on for this thread.
pub(crate) fn injected(bug: Bug) -> bool {
    BUG.with(|b| b.get() == Some(bug))
}
