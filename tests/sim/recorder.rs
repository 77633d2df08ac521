//! A store wrapper that writes down every append the desks make and what the store answered:
//! the simulator's record of what was acknowledged.

use std::sync::{Arc, Mutex};

use incidents::store::{Append, FeedItem, LogPoint};
use incidents::{Error, Event, IncidentId, Result, Store, Version};

use crate::faults::lock;

/// One append a desk made.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub id: IncidentId,
    pub expected: Version,
    pub events: Vec<Event>,
}

/// The appends of a run, by what the store said.
#[derive(Debug, Default)]
pub struct Journal {
    /// Acknowledged: `Ok` came back. Must be in the store, exactly, at their versions.
    pub acked: Vec<Attempt>,
    /// Failed with an error that leaves the outcome unknown (a failed write or flush): either
    /// wholly in the store or wholly absent.
    pub unsure: Vec<Attempt>,
    /// Acknowledged since the checker last looked.
    pub fresh: Vec<Attempt>,
    /// Appends refused with a conflict (another desk was first).
    pub conflicts: u64,
}

/// The store every desk of the world uses (the file store, or SQLite), through the journal.
#[derive(Clone)]
pub struct Recorder {
    pub inner: Arc<dyn Store>,
    pub journal: Arc<Mutex<Journal>>,
}

impl Recorder {
    fn note(&self, attempts: Vec<Attempt>, result: &Result<impl Sized>) {
        let mut journal = lock(&self.journal);
        match result {
            Ok(_) => {
                journal.fresh.extend(attempts.iter().cloned());
                journal.acked.extend(attempts);
            }
            Err(Error::Conflict(_)) => journal.conflicts += 1,
            // Refused before writing: nothing reached the file.
            Err(Error::Poisoned { .. } | Error::Invalid(_) | Error::History(_)) => {}
            Err(_) => journal.unsure.extend(attempts),
        }
    }
}

impl Store for Recorder {
    fn append(&self, id: IncidentId, expected: Version, events: &[Event]) -> Result<Version> {
        let result = self.inner.append(id, expected, events);
        let attempt = Attempt {
            id,
            expected,
            events: events.to_vec(),
        };
        self.note(vec![attempt], &result);
        result
    }

    fn append_batch(&self, batch: &[Append<'_>]) -> Result<Vec<Version>> {
        let result = self.inner.append_batch(batch);
        let attempts = batch
            .iter()
            .map(|a| Attempt {
                id: a.id,
                expected: a.expected,
                events: a.events.to_vec(),
            })
            .collect();
        self.note(attempts, &result);
        result
    }

    fn load(&self, id: IncidentId) -> Result<Vec<Event>> {
        self.inner.load(id)
    }

    fn version(&self, id: IncidentId) -> Result<Version> {
        self.inner.version(id)
    }

    fn scan(&self, visit: &mut dyn FnMut(IncidentId, Version, &Event) -> Result<()>) -> Result<()> {
        self.inner.scan(visit)
    }

    fn feed(&self, after: u64, limit: usize) -> Result<Option<Vec<FeedItem>>> {
        self.inner.feed(after, limit)
    }

    fn log_end(&self) -> Result<Option<LogPoint>> {
        self.inner.log_end()
    }

    fn has_point(&self, point: LogPoint) -> Result<bool> {
        self.inner.has_point(point)
    }

    fn scan_after(
        &self,
        point: LogPoint,
        visit: &mut dyn FnMut(IncidentId, Version, &Event) -> Result<()>,
    ) -> Result<bool> {
        self.inner.scan_after(point, visit)
    }

    fn save_snapshot(&self, bytes: &[u8]) -> Result<()> {
        self.inner.save_snapshot(bytes)
    }

    fn load_snapshot(&self) -> Result<Option<Vec<u8>>> {
        self.inner.load_snapshot()
    }
}
