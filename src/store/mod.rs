//! Storage backends behind one small trait.
//!
//! A store keeps, for every incident, the ordered list of its events. It knows nothing about
//! the lifecycle; the [`Desk`](crate::Desk) decides and the store records. Appends use
//! optimistic concurrency: the writer says which version it based its decision on, and the
//! store refuses with [`Conflict`](crate::Conflict) if the history has moved on.

#[cfg(feature = "file")]
pub mod file;
mod jsonl;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
mod schema;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;
#[cfg(feature = "sqlite")]
mod sqlite;
mod tenant;

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::lifecycle::Event;
use crate::model::IncidentId;

#[cfg(feature = "file")]
pub use file::{Durability, FileStore, FileStoreOptions, OpenReport, VerifyReport};
pub use jsonl::{ExportReport, export_jsonl, import_jsonl};
pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
pub use postgres::{ChangeListener, PostgresOptions, PostgresStore};
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;
pub use tenant::{MAX_TENANT_LEN, Tenant};

/// One incident's part of an [`append_batch`](Store::append_batch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Append<'a> {
    /// The incident.
    pub id: IncidentId,
    /// The version its history must have for the append to go ahead.
    pub expected: Version,
    /// The events to append.
    pub events: &'a [Event],
}

/// The number of events in an incident's history. Version 0 means "no events yet".
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Version(u64);

impl Version {
    /// No events: the version a new incident's first append expects.
    pub const ZERO: Version = Version(0);

    /// The version after `n` events.
    pub const fn new(n: u64) -> Version {
        Version(n)
    }

    /// The number of events.
    pub const fn get(self) -> u64 {
        self.0
    }

    /// The version after one more event.
    #[must_use]
    pub const fn next(self) -> Version {
        Version(self.0 + 1)
    }

    /// The version after `n` more events.
    #[must_use]
    pub const fn plus(self, n: u64) -> Version {
        Version(self.0 + n)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// Where incident histories live.
///
/// Implementations are `Send + Sync` and synchronous; the trait is object-safe, so
/// `Box<dyn Store>` and `Arc<dyn Store>` work wherever a store is expected.
pub trait Store: Send + Sync {
    /// Appends `events` to incident `id`'s history if, and only if, it currently holds exactly
    /// `expected` events; returns the new version (`expected` plus the number of events).
    ///
    /// All events are recorded or none are. When this returns `Ok`, the events are as durable
    /// as the backend promises (for the file backend: on disk). An empty `events` slice
    /// records nothing but still checks the version.
    ///
    /// # Errors
    /// - [`Error::Conflict`](crate::Error::Conflict) if the history holds a different number of
    ///   events than `expected` (someone else appended first); nothing was recorded.
    /// - Backend errors ([`Error::Io`](crate::Error::Io), …); nothing was recorded.
    fn append(&self, id: IncidentId, expected: Version, events: &[Event]) -> Result<Version>;

    /// Several appends, possibly to different incidents, as one atomic unit: every version is
    /// checked first, and either all appends are recorded or none is. The file backend writes
    /// the whole batch with one write and one flush. Returns each append's new version, in
    /// order. An incident may appear more than once; its later entries expect the version its
    /// earlier entries produce.
    ///
    /// # Errors
    /// As [`append`](Store::append): on a [`Conflict`](crate::Conflict) for any entry nothing
    /// is recorded.
    fn append_batch(&self, batch: &[Append<'_>]) -> Result<Vec<Version>>;

    /// All events of incident `id`, oldest first; empty if the store has none for it.
    ///
    /// # Errors
    /// Backend errors (I/O, corruption).
    fn load(&self, id: IncidentId) -> Result<Vec<Event>>;

    /// The current version of incident `id` (`Version::ZERO` if unknown).
    ///
    /// # Errors
    /// Backend errors.
    fn version(&self, id: IncidentId) -> Result<Version> {
        Ok(Version::new(self.load(id)?.len() as u64))
    }

    /// Calls `visit` with every stored event of every incident, with its incident id and the
    /// version it produced (1 for an incident's first event).
    ///
    /// Each incident's events come in version order; how events of different incidents
    /// interleave is up to the backend. Stops at the first error `visit` returns and passes it
    /// on.
    ///
    /// # Errors
    /// Backend errors, or the first error returned by `visit`.
    fn scan(&self, visit: &mut dyn FnMut(IncidentId, Version, &Event) -> Result<()>) -> Result<()>;

    /// Up to `limit` events appended after position `after` (0: from the start), in the
    /// order they were committed, each with its position — for desks sharing a database to
    /// catch up with what the others appended ([`Desk::catch_up`](crate::Desk::catch_up)).
    ///
    /// `Ok(None)` means the backend keeps no global order (the default, and the memory
    /// store's: desks on one `MemoryStore` do not see each other's appends until they reload).
    /// The file store and the databases have a feed.
    ///
    /// # Errors
    /// Backend errors.
    fn feed(&self, after: u64, limit: usize) -> Result<Option<Vec<FeedItem>>> {
        let _ = (after, limit);
        Ok(None)
    }

    /// Where the log ends now, as a point a projection snapshot can name
    /// ([`Desk::save_snapshot`](crate::Desk::save_snapshot)); `Ok(None)` if the store keeps no
    /// snapshots (the default: the memory store, and any store of a host's own).
    ///
    /// A store that returns points also implements [`has_point`](Store::has_point),
    /// [`scan_after`](Store::scan_after), [`save_snapshot`](Store::save_snapshot) and
    /// [`load_snapshot`](Store::load_snapshot). Every event committed before this call
    /// returned lies before the point. For a store with a [`feed`](Store::feed), a point's
    /// [`position`](LogPoint::position) is a feed position.
    ///
    /// # Errors
    /// Backend errors.
    fn log_end(&self) -> Result<Option<LogPoint>> {
        Ok(None)
    }

    /// Whether `point` is a point of this store's log: the log reaches it and its
    /// [`mark`](LogPoint::mark) matches what lies there. `false` for another store's point,
    /// or for a log that was cut (repaired, restored from an older backup) before it.
    ///
    /// # Errors
    /// Backend errors.
    fn has_point(&self, point: LogPoint) -> Result<bool> {
        let _ = point;
        Ok(false)
    }

    /// Calls `visit` with every event committed after `point`, in commit order (each
    /// incident's in version order), as [`scan`](Store::scan) does for the whole log.
    /// Returns `Ok(false)`, having visited nothing, if `point` is not a point of this log
    /// (see [`has_point`](Store::has_point)).
    ///
    /// # Errors
    /// Backend errors, or the first error returned by `visit`.
    fn scan_after(
        &self,
        point: LogPoint,
        visit: &mut dyn FnMut(IncidentId, Version, &Event) -> Result<()>,
    ) -> Result<bool> {
        let _ = (point, visit);
        Ok(false)
    }

    /// Replaces the stored projection snapshot with `bytes`, atomically: after a crash the
    /// store holds the previous snapshot or this one, whole. The bytes are the desk's; the
    /// store keeps them beside the log and never reads them itself.
    ///
    /// # Errors
    /// Backend errors; [`Error::Backend`](crate::Error::Backend) if the store keeps no
    /// snapshots (the default).
    fn save_snapshot(&self, bytes: &[u8]) -> Result<()> {
        let _ = bytes;
        Err(crate::Error::Backend {
            backend: "store",
            op: "save snapshot",
            source: "this store keeps no snapshots".into(),
        })
    }

    /// The bytes last saved by [`save_snapshot`](Store::save_snapshot), if any.
    ///
    /// # Errors
    /// Backend errors.
    fn load_snapshot(&self) -> Result<Option<Vec<u8>>> {
        Ok(None)
    }
}

/// A point in a store's log, named by a projection snapshot: everything before it is in the
/// snapshot, and a desk replays only what follows ([`Store::log_end`]).
///
/// The [`position`](LogPoint::position) orders points within one log (its meaning is the
/// store's: a byte position, a feed position); the [`mark`](LogPoint::mark) is a checksum
/// of what lies just before the point, so a snapshot taken on another store, or on a log
/// that was since cut, is recognised and not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LogPoint {
    position: u64,
    mark: u64,
}

impl LogPoint {
    /// A point, for a [`Store::log_end`] implementation to return.
    pub const fn new(position: u64, mark: u64) -> LogPoint {
        LogPoint { position, mark }
    }

    /// Where in the log, in the store's own units.
    pub const fn position(self) -> u64 {
        self.position
    }

    /// The checksum of what lies just before the point.
    pub const fn mark(self) -> u64 {
        self.mark
    }
}

/// One event in a store's global order, from [`Store::feed`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FeedItem {
    /// Its position; positions only grow, in commit order.
    pub position: u64,
    /// The incident.
    pub incident: IncidentId,
    /// The version this event made.
    pub version: Version,
    /// The event.
    pub event: Event,
}

impl FeedItem {
    /// An item for a [`Store::feed`] implementation to return.
    pub fn new(position: u64, incident: IncidentId, version: Version, event: Event) -> FeedItem {
        FeedItem {
            position,
            incident,
            version,
            event,
        }
    }
}

macro_rules! forward_store {
    ($($ty:ty),*) => {$(
        impl<S: Store + ?Sized> Store for $ty {
            fn append(&self, id: IncidentId, expected: Version, events: &[Event]) -> Result<Version> {
                (**self).append(id, expected, events)
            }
            fn append_batch(&self, batch: &[Append<'_>]) -> Result<Vec<Version>> {
                (**self).append_batch(batch)
            }
            fn load(&self, id: IncidentId) -> Result<Vec<Event>> {
                (**self).load(id)
            }
            fn version(&self, id: IncidentId) -> Result<Version> {
                (**self).version(id)
            }
                        fn scan(
                &self,
                visit: &mut dyn FnMut(IncidentId, Version, &Event) -> Result<()>,
            ) -> Result<()> {
                (**self).scan(visit)
            }
            fn feed(&self, after: u64, limit: usize) -> Result<Option<Vec<FeedItem>>> {
                (**self).feed(after, limit)
            }
            fn log_end(&self) -> Result<Option<LogPoint>> {
                (**self).log_end()
            }
            fn has_point(&self, point: LogPoint) -> Result<bool> {
                (**self).has_point(point)
            }
            fn scan_after(
                &self,
                point: LogPoint,
                visit: &mut dyn FnMut(IncidentId, Version, &Event) -> Result<()>,
            ) -> Result<bool> {
                (**self).scan_after(point, visit)
            }
            fn save_snapshot(&self, bytes: &[u8]) -> Result<()> {
                (**self).save_snapshot(bytes)
            }
            fn load_snapshot(&self) -> Result<Option<Vec<u8>>> {
                (**self).load_snapshot()
            }
        }
    )*};
}

forward_store!(&S, Box<S>, Arc<S>);
