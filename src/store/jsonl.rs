//! Export and import of every event as JSON Lines, so the data is never locked inside one
//! backend's format.
//!
//! One line per event, in each incident's version order, carrying the event's stored record
//! and the storage schema it was written with:
//!
//! ```text
//! {"incident":"019d…","version":1,"schema":1,"event":{"at":"2026-11-27T12:00:00Z","actor":{…},"change":{"type":"opened",…}}}
//! ```
//!
//! A line without `schema` (an export from before it was written) is schema 1. Each line
//! names its own schema, so exports of different versions can be concatenated.

use std::collections::HashMap;
use std::io::{BufRead, Write};

use serde::Deserialize;
use uuid::Uuid;

use crate::error::{Error, Invalid, Result};
use crate::lifecycle::Event;
use crate::model::IncidentId;
use crate::store::schema;
use crate::store::{Append, Store, Version};

/// Counts from [`export_jsonl`] or [`import_jsonl`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExportReport {
    /// Events written or read.
    pub events: u64,
    /// Distinct incidents among them.
    pub incidents: usize,
}

/// A line's envelope. The event is skipped here and decoded in a second pass, once its schema
/// is known (the key may come before or after it).
#[derive(Deserialize)]
struct LineIn {
    incident: Uuid,
    version: u64,
    #[serde(default = "first_schema")]
    schema: u16,
    #[serde(rename = "event")]
    _event: serde::de::IgnoredAny,
}

/// The schema of lines that do not name one.
fn first_schema() -> u16 {
    1
}

/// A decoded line, waiting in a batch.
struct Line {
    incident: IncidentId,
    version: Version,
    event: Event,
}

/// Writes every event of `store` to `out`, one JSON object per line, each naming the storage
/// schema of its event.
///
/// # Errors
/// Store errors, or [`Error::Io`] if writing fails.
pub fn export_jsonl(store: &dyn Store, out: &mut dyn Write) -> Result<ExportReport> {
    let mut report = ExportReport::default();
    let mut seen = std::collections::HashSet::new();
    let mut line = Vec::with_capacity(512);
    store.scan(&mut |incident, version, event| {
        line.clear();
        // The envelope by hand (a UUID and two numbers need no escaping), the event as the
        // stores encode it.
        write!(
            line,
            "{{\"incident\":\"{incident}\",\"version\":{},\"schema\":{},\"event\":",
            version.get(),
            schema::CURRENT
        )
        .map_err(write_error)?;
        schema::encode_into(event, &mut line).map_err(|e| write_error(std::io::Error::other(e)))?;
        line.extend_from_slice(b"}\n");
        out.write_all(&line).map_err(write_error)?;
        report.events += 1;
        seen.insert(incident);
        Ok(())
    })?;
    out.flush().map_err(write_error)?;
    report.incidents = seen.len();
    Ok(report)
}

fn write_error(source: std::io::Error) -> Error {
    Error::Io {
        op: "export",
        path: "<export writer>".into(),
        source,
    }
}

/// How many events [`import_jsonl`] appends per batch, at most.
const IMPORT_BATCH: usize = 4096;
/// How many bytes of JSON [`import_jsonl`] puts in one batch, at most (well under the file
/// store's 64 MiB per append).
const IMPORT_BATCH_BYTES: usize = 16 << 20;

/// Reads events written by [`export_jsonl`] and appends them to `store`, in batches (each
/// batch atomic, one flush each on the file backend).
///
/// Every incident's lines must continue its history in `store` without gaps: into an empty
/// store, versions 1, 2, 3, …. On an error, the batches before the failing one are recorded
/// and the report in the error's message says at which line it stopped; import into a fresh
/// store to keep things simple.
///
/// # Errors
/// [`Error::Invalid`] naming the line for malformed JSON, an event schema this version does not
/// read (a newer one), an event value its type refuses, or a version that does not follow;
/// store errors; [`Error::Io`] if reading fails.
pub fn import_jsonl(store: &dyn Store, input: &mut dyn BufRead) -> Result<ExportReport> {
    let mut report = ExportReport::default();
    let mut next: HashMap<IncidentId, u64> = HashMap::new();
    let mut batch: Vec<Line> = Vec::with_capacity(IMPORT_BATCH);
    let mut text = String::new();
    let mut line_no = 0u64;
    let mut batch_bytes = 0usize;
    loop {
        text.clear();
        let n = input.read_line(&mut text).map_err(|source| Error::Io {
            op: "import",
            path: "<import reader>".into(),
            source,
        })?;
        if n == 0 {
            break;
        }
        line_no += 1;
        if text.trim().is_empty() {
            continue;
        }
        let bad = |rule: String| Invalid::new("import line", format!("line {line_no}: {rule}"));
        let raw: LineIn = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        let line = Line {
            incident: IncidentId::from_uuid(raw.incident),
            version: Version::new(raw.version),
            event: schema::decode_event_field(raw.schema, &text).map_err(|e| bad(e.to_string()))?,
        };
        let expected = match next.get(&line.incident) {
            Some(v) => *v,
            None => store.version(line.incident)?.get(),
        };
        if line.version.get() != expected + 1 {
            return Err(Invalid::new(
                "import line",
                format!(
                    "line {line_no}: incident {} version {} does not follow version {expected}",
                    line.incident, line.version
                ),
            )
            .into());
        }
        next.insert(line.incident, expected + 1);
        batch.push(line);
        batch_bytes += text.len();
        if batch.len() == IMPORT_BATCH || batch_bytes >= IMPORT_BATCH_BYTES {
            flush(store, &mut batch)?;
            batch_bytes = 0;
        }
        report.events += 1;
    }
    flush(store, &mut batch)?;
    report.incidents = next.len();
    Ok(report)
}

/// Appends `batch` (consecutive lines, in order) as one atomic batch.
fn flush(store: &dyn Store, batch: &mut Vec<Line>) -> Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    // Group consecutive lines of the same incident into one append each.
    let mut runs: Vec<(IncidentId, Version, Vec<Event>)> = Vec::new();
    for line in batch.drain(..) {
        match runs.last_mut() {
            Some((id, _, events)) if *id == line.incident => events.push(line.event),
            _ => runs.push((
                line.incident,
                Version::new(line.version.get() - 1),
                vec![line.event],
            )),
        }
    }
    let appends: Vec<Append<'_>> = runs
        .iter()
        .map(|(id, expected, events)| Append {
            id: *id,
            expected: *expected,
            events,
        })
        .collect();
    store.append_batch(&appends)?;
    Ok(())
}
