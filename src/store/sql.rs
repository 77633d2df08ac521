//! What the SQL backends share: event encoding, the version checks of
//! an append, done inside the backend's transaction, and the log points of projection
//! snapshots.

use std::collections::HashMap;

use crate::error::{Conflict, Error, Result};
use crate::lifecycle::Event;
use crate::model::IncidentId;
use crate::store::{Append, LogPoint, Store, Version};

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

/// How many events a scan reads per query.
const SCAN_PAGE: usize = 10_000;

/// `Store::scan` by reading the feed page by page, in commit order.
pub(crate) fn scan_by_feed(
    store: &dyn Store,
    visit: &mut dyn FnMut(IncidentId, Version, &Event) -> Result<()>,
) -> Result<()> {
    scan_feed_after(store, 0, visit)
}

/// Every event of the feed after position `after`, page by page, in commit order.
fn scan_feed_after(
    store: &dyn Store,
    mut after: u64,
    visit: &mut dyn FnMut(IncidentId, Version, &Event) -> Result<()>,
) -> Result<()> {
    loop {
        let Some(page) = store.feed(after, SCAN_PAGE)? else {
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

// ---------------------------------------------------------------------------------------------
// Projection snapshots

/// The name of the desk's projection snapshot: its row in `incident_snapshots` (created
/// with the schema, idempotently, so a database made by an earlier version gets it on open).
pub(crate) const SNAPSHOT_NAME: &str = "projection";

/// The mark of position 0, the start of every log (no row lies before it).
const START_MARK: u64 = 0x5354_4152_5400_0000; // "START"

/// The mark of the point just after the row at `position`: a hash (64-bit FNV-1a) of the
/// position, the row's incident id and version. Incident ids are random, so another
/// database's row at the same position, or a row written again at a position after the
/// database was restored from an older backup, does not match.
fn mark(position: i64, incident: &[u8], version: i64) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET;
    let len = incident.len() as u64;
    let pieces: [&[u8]; 5] = [
        b"incidents sql log point",
        &position.to_le_bytes(),
        &len.to_le_bytes(),
        incident,
        &version.to_le_bytes(),
    ];
    for &byte in pieces.iter().flat_map(|piece| piece.iter()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(PRIME);
    }
    hash
}

/// The point after the last row, from that row's position, incident and version (`None`:
/// an empty table, the point at position 0).
///
/// # Errors
/// [`Error::Backend`] for a negative position (not one this crate wrote).
pub(crate) fn point_after(
    last: Option<(i64, &[u8], i64)>,
    backend: &'static str,
) -> Result<LogPoint> {
    let Some((position, incident, version)) = last else {
        return Ok(LogPoint::new(0, START_MARK));
    };
    let at = u64::try_from(position).map_err(|_| Error::Backend {
        backend,
        op: "read log end",
        source: format!("negative position {position}").into(),
    })?;
    Ok(LogPoint::new(at, mark(position, incident, version)))
}

/// `Store::has_point` for the SQL stores: position 0 is the start of every log (with the
/// start's mark); any other point names the row at its position, which `row` looks up (its
/// incident id and version, `None` if there is none).
///
/// # Errors
/// Whatever `row` returns.
pub(crate) fn has_point(
    point: LogPoint,
    row: impl FnOnce(i64) -> Result<Option<(Vec<u8>, i64)>>,
) -> Result<bool> {
    if point.position() == 0 {
        return Ok(point.mark() == START_MARK);
    }
    let Ok(position) = i64::try_from(point.position()) else {
        return Ok(false); // beyond any position a table holds
    };
    Ok(row(position)?
        .is_some_and(|(incident, version)| mark(position, &incident, version) == point.mark()))
}

/// `Store::scan_after` for a store whose feed positions are its log points: checks the
/// point, then reads the feed after it page by page.
pub(crate) fn scan_after_by_feed(
    store: &dyn Store,
    point: LogPoint,
    visit: &mut dyn FnMut(IncidentId, Version, &Event) -> Result<()>,
) -> Result<bool> {
    if !store.has_point(point)? {
        return Ok(false);
    }
    scan_feed_after(store, point.position(), visit)?;
    Ok(true)
}
