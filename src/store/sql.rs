//! What the SQL backends share: the schema version, event encoding, and the version checks of
//! an append, done inside the backend's transaction.

use std::collections::HashMap;

use crate::error::{Conflict, Error, Result};
use crate::lifecycle::Event;
use crate::model::IncidentId;
use crate::store::{Append, Store, Version};

/// The schema this version creates and reads. Stored in the `incidents_schema` table; a
/// database with a newer schema is refused, an older one is migrated on open.
pub(crate) const SCHEMA_VERSION: i64 = 1;

/// The event schema stored with every row (as in the file store's frames): the storage
/// schema's current version.
pub(crate) const EVENT_SCHEMA: i64 = crate::store::schema::CURRENT as i64;

/// One row to insert.
pub(crate) struct Row {
    pub incident: IncidentId,
    pub version: i64,
    pub event: String,
}

/// Checks every append of `batch` against the versions `current` reports (inside the
/// caller's transaction), and returns the new versions and the rows to insert. An incident
/// may appear more than once; later entries expect what earlier ones produce.
///
/// # Errors
/// [`Error::Conflict`] for the first stale entry; whatever `current` returns.
pub(crate) fn plan(
    batch: &[Append<'_>],
    mut current: impl FnMut(IncidentId) -> Result<u64>,
) -> Result<(Vec<Version>, Vec<Row>)> {
    let mut next: HashMap<IncidentId, u64> = HashMap::new();
    let mut versions = Vec::with_capacity(batch.len());
    let mut rows = Vec::new();
    for append in batch {
        let actual = match next.get(&append.id) {
            Some(v) => *v,
            None => current(append.id)?,
        };
        if actual != append.expected.get() {
            return Err(Conflict {
                incident: append.id,
                expected: append.expected,
                actual: Version::new(actual),
            }
            .into());
        }
        for (n, event) in append.events.iter().enumerate() {
            rows.push(Row {
                incident: append.id,
                version: i64::try_from(actual + n as u64 + 1).map_err(|_| {
                    Error::Invalid(crate::error::Invalid::new(
                        "version",
                        "too many events for one incident",
                    ))
                })?,
                event: crate::store::schema::encode_string(event).map_err(|e| {
                    Error::Invalid(crate::error::Invalid::new(
                        "event",
                        format!("cannot be serialised: {e}"),
                    ))
                })?,
            });
        }
        let after = actual + append.events.len() as u64;
        next.insert(append.id, after);
        versions.push(Version::new(after));
    }
    Ok((versions, rows))
}

/// Decodes a stored event written with event schema `schema`; a row that does not decode (an
/// unknown schema, not a record, a value its type refuses) is corruption, reported with its
/// position.
pub(crate) fn decode(
    text: &str,
    schema: i64,
    backend: &'static str,
    position: i64,
) -> Result<Event> {
    let corrupt = |reason: String| Error::Corrupt {
        path: format!("{backend}:incident_events").into(),
        offset: u64::try_from(position).unwrap_or(0),
        reason,
    };
    // A schema outside u16 is as unknown as any other: report the number as stored.
    let Ok(version) = u16::try_from(schema) else {
        return Err(corrupt(format!(
            "row at position {position}: event schema {schema} is not supported \
             (this version reads 1 to {EVENT_SCHEMA})"
        )));
    };
    crate::store::schema::decode(version, text.as_bytes())
        .map_err(|e| corrupt(format!("row at position {position}: {e}")))
}

/// A version from the database, which must be a positive 64-bit integer.
pub(crate) fn version_from(value: i64, backend: &'static str) -> Result<u64> {
    u64::try_from(value).map_err(|_| Error::Backend {
        backend,
        op: "read version",
        source: format!("negative version {value}").into(),
    })
}

/// A single append as a batch of one (the SQL stores have one transaction path).
pub(crate) fn append_one(
    store: &dyn Store,
    id: IncidentId,
    expected: Version,
    events: &[Event],
) -> Result<Version> {
    let versions = store.append_batch(&[Append {
        id,
        expected,
        events,
    }])?;
    // One append in, one version out.
    versions.first().copied().ok_or_else(|| Error::Backend {
        backend: "store",
        op: "append",
        source: "no version returned".into(),
    })
}

/// `Store::scan` by reading the feed page by page, in commit order.
pub(crate) fn scan_by_feed(
    store: &dyn Store,
    visit: &mut dyn FnMut(IncidentId, Version, &Event) -> Result<()>,
) -> Result<()> {
    let mut after = 0u64;
    loop {
        let Some(page) = store.feed(after, 10_000)? else {
            return Ok(());
        };
        let Some(last) = page.last() else {
            return Ok(());
        };
        after = last.position;
        for item in &page {
            visit(item.incident, item.version, &item.event)?;
        }
    }
}
