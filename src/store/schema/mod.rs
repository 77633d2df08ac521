//! The storage schema: how an [`Event`] is written to and read from every backend.
//!
//! Stored events are JSON of private record types ([`v1`]), not of the public types: renaming
//! a public field or variant cannot change stored bytes, and a stored value is checked again by
//! the public constructors when it is read. Every backend frames the JSON with the schema
//! version it was written with (the `FileStore` frame header, the SQL `schema` column, the
//! `schema` field of a JSON Lines export); [`decode`] takes that version and upcasts older
//! records to the current types. The procedure for a new version is in ARCHITECTURE.md,
//! "Storage schema".

mod v1;

use std::fmt;

use crate::error::Invalid;
use crate::lifecycle::Event;

/// The schema this version writes, and the newest it reads.
pub(crate) const CURRENT: u16 = 1;

/// Why a stored event could not be decoded. The caller wraps it in its own corrupt-data error,
/// naming the file, row or line.
#[derive(Debug)]
pub(crate) enum DecodeError {
    /// The record was written with a schema this version does not know (a newer one, or 0).
    UnknownSchema {
        /// The version it carries.
        found: u16,
    },
    /// The bytes are not a record of their schema.
    Malformed(serde_json::Error),
    /// The record's shape is right but a value breaks a rule of its type (an empty title).
    Invalid(Invalid),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::UnknownSchema { found } if *found > CURRENT => write!(
                f,
                "event schema {found} is newer than this version reads (up to {CURRENT}); \
                 upgrade the incidents crate"
            ),
            DecodeError::UnknownSchema { found } => write!(
                f,
                "event schema {found} is not supported (this version reads 1 to {CURRENT})"
            ),
            DecodeError::Malformed(e) => write!(f, "not a stored event: {e}"),
            DecodeError::Invalid(e) => write!(f, "stored event has an {e}"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Why an event could not be encoded. Never happens for events of this crate's types (their
/// records are strings, numbers and timestamps), but the serialiser's signature allows it.
pub(crate) type EncodeError = serde_json::Error;

/// Appends the stored form of `event` (schema [`CURRENT`]) to `out`. On an error, `out` may
/// hold part of the record; the caller truncates.
///
/// # Errors
/// See [`EncodeError`].
pub(crate) fn encode_into(event: &Event, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    serde_json::to_writer(out, &v1::EventRecord::of(event))
}

/// The stored form of `event` as text, for the SQL backends' `event` column.
#[cfg(any(feature = "sqlite", feature = "postgres", test))]
///
/// # Errors
/// See [`EncodeError`].
pub(crate) fn encode_string(event: &Event) -> Result<String, EncodeError> {
    serde_json::to_string(&v1::EventRecord::of(event))
}

/// Decodes an event stored with schema `version`.
///
/// # Errors
/// [`DecodeError::UnknownSchema`] for a version other than 1 to [`CURRENT`];
/// [`DecodeError::Malformed`] for bytes that are not a record; [`DecodeError::Invalid`] for a
/// value its public constructor refuses. Never panics, whatever the bytes.
#[cfg(any(feature = "file", feature = "sqlite", feature = "postgres", test))]
pub(crate) fn decode(version: u16, bytes: &[u8]) -> Result<Event, DecodeError> {
    match version {
        1 => {
            let record = v1::EventRecord::decode(bytes).map_err(DecodeError::Malformed)?;
            record.into_event().map_err(DecodeError::Invalid)
        }
        found => Err(DecodeError::UnknownSchema { found }),
    }
}

/// Decodes the event stored with schema `version` under the key `event` of the JSON object
/// `json` (a line of a JSON Lines export), ignoring the object's other keys.
///
/// # Errors
/// As [`decode`].
pub(crate) fn decode_event_field(version: u16, json: &str) -> Result<Event, DecodeError> {
    #[derive(serde::Deserialize)]
    struct V1<'a> {
        #[serde(borrow)]
        event: v1::EventRecord<'a>,
    }
    match version {
        1 => {
            let line: V1<'_> = serde_json::from_str(json).map_err(DecodeError::Malformed)?;
            line.event.into_event().map_err(DecodeError::Invalid)
        }
        found => Err(DecodeError::UnknownSchema { found }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACK: &str = r#"{"at":"2026-11-27T12:00:00Z","actor":{"id":"a","name":"A","role":"owner"},"change":{"type":"acknowledged"}}"#;

    #[test]
    fn a_record_round_trips_byte_for_byte() {
        let event = decode(1, ACK.as_bytes()).unwrap();
        let mut bytes = Vec::new();
        encode_into(&event, &mut bytes).unwrap();
        assert_eq!(bytes, ACK.as_bytes());
        assert_eq!(encode_string(&event).unwrap(), ACK);
        let line = format!(r#"{{"version":1,"event":{ACK},"schema":1}}"#);
        assert_eq!(decode_event_field(1, &line).unwrap(), event);
    }

    #[test]
    fn unknown_versions_and_invalid_values_are_typed_errors() {
        for version in [0, CURRENT + 1, u16::MAX] {
            let err = decode(version, ACK.as_bytes()).unwrap_err();
            assert!(
                matches!(err, DecodeError::UnknownSchema { found } if found == version),
                "{err}"
            );
            assert!(
                err.to_string().contains(&format!("schema {version}")),
                "{err}"
            );
        }
        let blank_actor = ACK.replace(r#""name":"A""#, r#""name":" ""#);
        let err = decode(1, blank_actor.as_bytes()).unwrap_err();
        assert!(
            matches!(&err, DecodeError::Invalid(i) if i.field == "actor name"),
            "{err}"
        );
        let err = decode(1, b"{").unwrap_err();
        assert!(matches!(err, DecodeError::Malformed(_)), "{err}");
    }
}
