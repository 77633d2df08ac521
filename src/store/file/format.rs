//! The on-disk format of [`FileStore`](super::FileStore) segments: pure encoding and decoding,
//! no I/O.
//!
//! ```text
//! segment   = file header (32 bytes), then frames
//! header    = magic "INCIDLOG" | format u16 | reserved u16 | segment number u32
//!             | length of the previous segment u64 (0: first segment, or unknown)
//!             | reserved 4 bytes | crc32 of the previous 28 bytes (u32)
//! frame     = body length u32 | schema u16 | kind u8 | flags u8 | body crc32 u32
//!             | header crc32 u32 (of the previous 12 bytes) | body
//! body      = group count u32, then per group:
//!             incident id [16] | first version u64 | event count u32,
//!             then per event: length u32 | the event's stored record (JSON of the schema
//!             the frame header names; see `store::schema`)
//! ```
//!
//! All integers are little-endian. A frame is one atomic append: all its events are recorded or
//! none are. The header has its own checksum so that a damaged length is reported as damage,
//! never mistaken for a torn tail.

use crate::lifecycle::Event;
use crate::model::IncidentId;

/// The magic bytes at the start of every segment.
pub const MAGIC: &[u8; 8] = b"INCIDLOG";
/// The segment format this version writes (and the newest it reads).
pub const FORMAT_VERSION: u16 = 1;
/// The event schema this version writes (and the newest it reads): the storage schema's
/// current version, carried in every frame header.
pub const SCHEMA_VERSION: u16 = crate::store::schema::CURRENT;
/// Size of a segment's file header.
pub const FILE_HEADER_LEN: usize = 32;
/// Size of a frame header.
pub const FRAME_HEADER_LEN: usize = 16;
/// The largest frame body accepted (64 MiB): a sanity bound checked before trusting a length.
pub const MAX_BODY_LEN: usize = 64 << 20;

const KIND_TRANSACTION: u8 = 1;

/// A segment's file header, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileHeader {
    /// The segment's number (from 1).
    pub segment: u32,
    /// How long the previous segment was when this one was started (0: none, or unknown).
    /// Recovery checks it, so a previous segment cut exactly at a frame boundary is caught.
    pub previous_len: u64,
}

/// Encodes a segment's file header.
pub fn encode_file_header(header: FileHeader) -> [u8; FILE_HEADER_LEN] {
    let mut h = [0u8; FILE_HEADER_LEN];
    h[..8].copy_from_slice(MAGIC);
    h[8..10].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h[12..16].copy_from_slice(&header.segment.to_le_bytes());
    h[16..24].copy_from_slice(&header.previous_len.to_le_bytes());
    let crc = crc32fast::hash(&h[..28]);
    h[28..32].copy_from_slice(&crc.to_le_bytes());
    h
}

/// Decodes and checks a segment's file header.
///
/// # Errors
/// A description of what is wrong with it.
pub fn decode_file_header(bytes: &[u8]) -> Result<FileHeader, String> {
    let Some(h) = bytes.get(..FILE_HEADER_LEN) else {
        return Err(format!(
            "file header is {} bytes, expected {FILE_HEADER_LEN}",
            bytes.len()
        ));
    };
    if &h[..8] != MAGIC {
        return Err("not an incidents segment (bad magic bytes)".into());
    }
    let stored = u32::from_le_bytes([h[28], h[29], h[30], h[31]]);
    if crc32fast::hash(&h[..28]) != stored {
        return Err("file header checksum mismatch".into());
    }
    let format = u16::from_le_bytes([h[8], h[9]]);
    if format != FORMAT_VERSION {
        return Err(format!(
            "segment format {format} is not supported (this version reads format {FORMAT_VERSION})"
        ));
    }
    let mut previous = [0u8; 8];
    previous.copy_from_slice(&h[16..24]);
    Ok(FileHeader {
        segment: u32::from_le_bytes([h[12], h[13], h[14], h[15]]),
        previous_len: u64::from_le_bytes(previous),
    })
}

/// One incident's part of a frame, as encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupHeader {
    /// The incident.
    pub id: IncidentId,
    /// The version of its first event in this group (expected version + 1).
    pub first_version: u64,
    /// How many events.
    pub count: u32,
}

/// Appends one frame holding `groups` to `out`. Groups without events are left out.
///
/// # Errors
/// A message if an event cannot be encoded (it always can for events built by this crate), or
/// if the frame would exceed [`MAX_BODY_LEN`].
#[allow(
    clippy::cast_possible_truncation,
    reason = "a frame over `MAX_BODY_LEN` (64 MiB) is refused before it is returned, so no count or length that fits it truncates"
)]
pub fn encode_frame(
    out: &mut Vec<u8>,
    groups: &[(IncidentId, u64, &[Event])],
) -> Result<(), String> {
    let start = out.len();
    out.extend_from_slice(&[0u8; FRAME_HEADER_LEN]);
    let body_start = out.len();
    let groups: Vec<_> = groups.iter().filter(|(_, _, e)| !e.is_empty()).collect();
    out.extend_from_slice(&(groups.len() as u32).to_le_bytes());
    for (id, first_version, events) in groups {
        out.extend_from_slice(id.as_bytes());
        out.extend_from_slice(&first_version.to_le_bytes());
        out.extend_from_slice(&(events.len() as u32).to_le_bytes());
        for event in *events {
            let len_at = out.len();
            out.extend_from_slice(&[0u8; 4]);
            if let Err(e) = crate::store::schema::encode_into(event, out) {
                out.truncate(start);
                return Err(format!("cannot serialise event: {e}"));
            }
            let len = (out.len() - len_at - 4) as u32;
            out[len_at..len_at + 4].copy_from_slice(&len.to_le_bytes());
        }
    }
    let body_len = out.len() - body_start;
    if body_len > MAX_BODY_LEN {
        out.truncate(start);
        return Err(format!(
            "an append of {body_len} bytes exceeds the limit of {MAX_BODY_LEN} bytes"
        ));
    }
    let body_crc = crc32fast::hash(&out[body_start..]);
    let header = &mut out[start..body_start];
    header[..4].copy_from_slice(&(body_len as u32).to_le_bytes());
    header[4..6].copy_from_slice(&SCHEMA_VERSION.to_le_bytes());
    header[6] = KIND_TRANSACTION;
    header[7] = 0;
    header[8..12].copy_from_slice(&body_crc.to_le_bytes());
    let header_crc = crc32fast::hash(&header[..12]);
    header[12..16].copy_from_slice(&header_crc.to_le_bytes());
    Ok(())
}

/// What reading a frame at some position found.
#[derive(Debug, PartialEq, Eq)]
pub enum FrameRead<'a> {
    /// A complete frame whose checksums match. `len` is the whole frame, header included.
    Frame {
        /// The event schema its events were written with (1 to [`SCHEMA_VERSION`]).
        schema: u16,
        /// The checked body.
        body: &'a [u8],
        /// Frame length in bytes, header included.
        len: usize,
    },
    /// The bytes end before the frame does: the tail of an interrupted write.
    Incomplete,
    /// The frame is damaged; the reason says how.
    Damaged(String),
}

/// Reads the frame at the start of `bytes` and checks both checksums.
///
/// Never panics, whatever the bytes. A frame cut short by the end of `bytes` is
/// [`FrameRead::Incomplete`] only when its header is intact (or itself cut short): a header
/// that is complete but fails its checksum is damage.
pub fn read_frame(bytes: &[u8]) -> FrameRead<'_> {
    let Some(header) = bytes.get(..FRAME_HEADER_LEN) else {
        return FrameRead::Incomplete;
    };
    let word = |at: usize| {
        u32::from_le_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
    };
    if crc32fast::hash(&header[..12]) != word(12) {
        return FrameRead::Damaged("frame header checksum mismatch".into());
    }
    let body_len = word(0) as usize;
    let schema = u16::from_le_bytes([header[4], header[5]]);
    if schema == 0 || schema > SCHEMA_VERSION {
        return FrameRead::Damaged(format!(
            "event schema {schema} is not supported (this version reads up to {SCHEMA_VERSION})"
        ));
    }
    if header[6] != KIND_TRANSACTION {
        return FrameRead::Damaged(format!("unknown frame kind {}", header[6]));
    }
    if body_len > MAX_BODY_LEN {
        return FrameRead::Damaged(format!("frame length {body_len} exceeds the limit"));
    }
    let Some(body) = bytes.get(FRAME_HEADER_LEN..FRAME_HEADER_LEN + body_len) else {
        return FrameRead::Incomplete;
    };
    if crc32fast::hash(body) != word(8) {
        return FrameRead::Damaged("frame body checksum mismatch".into());
    }
    FrameRead::Frame {
        schema,
        body,
        len: FRAME_HEADER_LEN + body_len,
    }
}

/// The total length (header included) of the frame starting at `bytes`, if its header is
/// intact, even when the rest is missing or damaged.
pub fn frame_len(bytes: &[u8]) -> Option<usize> {
    let header = bytes.get(..FRAME_HEADER_LEN)?;
    let stored = u32::from_le_bytes([header[12], header[13], header[14], header[15]]);
    if crc32fast::hash(&header[..12]) != stored {
        return None;
    }
    let body_len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
    (body_len <= MAX_BODY_LEN).then_some(FRAME_HEADER_LEN + body_len)
}

/// Whether the frame at the start of `bytes` is complete, with an intact header, but its
/// body fails its checksum: the one kind of damage that recovery may set aside at the end of
/// the newest segment (see `recovery.rs`).
pub fn body_fails_checksum(bytes: &[u8]) -> bool {
    let Some(len) = frame_len(bytes) else {
        return false;
    };
    let (Some(header), Some(body)) = (
        bytes.get(..FRAME_HEADER_LEN),
        bytes.get(FRAME_HEADER_LEN..len),
    ) else {
        return false;
    };
    let stored = u32::from_le_bytes([header[8], header[9], header[10], header[11]]);
    crc32fast::hash(body) != stored
}

/// Walks the groups of a checked frame body, calling `group` with each group's header and the
/// raw JSON of its events.
///
/// # Errors
/// A description of the first structural problem (a count or length that runs past the body,
/// trailing bytes).
pub fn for_each_group<'a>(
    body: &'a [u8],
    mut group: impl FnMut(GroupHeader, &mut dyn Iterator<Item = &'a [u8]>) -> Result<(), String>,
) -> Result<(), String> {
    let mut cursor = Cursor { bytes: body, at: 0 };
    let groups = cursor.u32()?;
    for _ in 0..groups {
        let id = IncidentId::from_bytes(cursor.array::<16>()?);
        let first_version = cursor.u64()?;
        let count = cursor.u32()?;
        if first_version == 0 {
            return Err(format!("incident {id}: first version is 0"));
        }
        // Check the events' lengths first, so that a bad one is caught before `group` sees
        // anything; then walk the same bytes again, without collecting the slices.
        let start = cursor.at;
        for _ in 0..count {
            let len = cursor.u32()? as usize;
            cursor.take(len)?;
        }
        let mut events = Events {
            bytes: &body[start..cursor.at],
        };
        group(
            GroupHeader {
                id,
                first_version,
                count,
            },
            &mut events,
        )?;
    }
    if cursor.at != body.len() {
        return Err(format!(
            "{} unexpected bytes after the last group",
            body.len() - cursor.at
        ));
    }
    Ok(())
}

/// Decodes every event of a checked frame body written with event schema `schema` (as
/// [`read_frame`] reports it). For fuzzing and tools; the store uses the same code.
///
/// # Errors
/// A description of the first structural or record problem: an unknown schema, bytes that
/// are not a record, a value its type refuses (an empty title).
#[cfg_attr(
    not(any(fuzzing, feature = "testing")),
    allow(dead_code, reason = "for tests and fuzzing")
)]
pub fn decode_body(schema: u16, body: &[u8]) -> Result<Vec<(IncidentId, u64, Event)>, String> {
    let mut out = Vec::new();
    for_each_group(body, |header, events| {
        for (n, raw) in events.enumerate() {
            let event = decode_event(schema, raw).map_err(|e| {
                format!(
                    "incident {}: event {}: {e}",
                    header.id,
                    header.first_version + n as u64
                )
            })?;
            out.push((header.id, header.first_version + n as u64, event));
        }
        Ok(())
    })?;
    Ok(out)
}

/// Decodes one event's stored record, written with event schema `schema`.
///
/// # Errors
/// Why it is not an event of that schema.
pub(crate) fn decode_event(
    schema: u16,
    raw: &[u8],
) -> Result<Event, crate::store::schema::DecodeError> {
    crate::store::schema::decode(schema, raw)
}

/// The events of one group whose lengths [`for_each_group`] has checked: each a `u32` length,
/// then that many bytes.
struct Events<'a> {
    bytes: &'a [u8],
}

impl<'a> Iterator for Events<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let (len, rest) = self.bytes.split_first_chunk::<4>()?;
        let len = u32::from_le_bytes(*len) as usize;
        // Checked before: the event lies within `rest` (`get` keeps this panic-free anyway).
        let event = rest.get(..len)?;
        self.bytes = &rest[len..];
        Some(event)
    }
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len());
        let Some(end) = end else {
            return Err(format!(
                "a field of {n} bytes at body offset {} runs past the end of the frame",
                self.at
            ));
        };
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.array::<4>()?))
    }

    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.array::<8>()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample_event() -> Event {
        crate::store::schema::decode(
            SCHEMA_VERSION,
            br#"{"at":"2026-11-27T12:00:00Z","actor":{"id":"a","name":"A","role":"owner"},"change":{"type":"acknowledged"}}"#,
        )
        .unwrap()
    }

    #[test]
    fn frame_round_trips() {
        let id = IncidentId::from_bytes([3; 16]);
        let events = vec![sample_event(), sample_event()];
        let mut buf = Vec::new();
        encode_frame(&mut buf, &[(id, 4, &events)]).unwrap();
        let FrameRead::Frame { schema, body, len } = read_frame(&buf) else {
            panic!("not a frame");
        };
        assert_eq!(len, buf.len());
        assert_eq!(schema, SCHEMA_VERSION);
        let decoded = decode_body(schema, body).unwrap();
        assert_eq!(decoded.len(), 2);
        assert_eq!(decoded[1], (id, 5, sample_event()));
    }

    #[test]
    fn every_truncation_is_incomplete_and_every_bit_flip_is_caught() {
        let id = IncidentId::from_bytes([3; 16]);
        let mut buf = Vec::new();
        encode_frame(&mut buf, &[(id, 1, &[sample_event()])]).unwrap();
        for cut in 0..buf.len() {
            assert_eq!(
                read_frame(&buf[..cut]),
                FrameRead::Incomplete,
                "cut at {cut}"
            );
        }
        for bit in 0..buf.len() * 8 {
            let mut flipped = buf.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            match read_frame(&flipped) {
                FrameRead::Damaged(_) | FrameRead::Incomplete => {}
                FrameRead::Frame { .. } => panic!("bit {bit} flipped unnoticed"),
            }
        }
    }

    #[test]
    fn file_header_round_trips_and_rejects_damage() {
        let header = FileHeader {
            segment: 7,
            previous_len: 65_536,
        };
        let h = encode_file_header(header);
        assert_eq!(decode_file_header(&h), Ok(header));
        let mut bad = h;
        bad[13] ^= 1;
        assert!(decode_file_header(&bad).is_err());
        assert!(decode_file_header(&h[..10]).is_err());
        assert!(decode_file_header(b"NOTALOGxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx").is_err());
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic_the_decoder(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            if let FrameRead::Frame { schema, body, .. } = read_frame(&bytes) {
                let _ = decode_body(schema, body);
            }
            let _ = decode_body(SCHEMA_VERSION, &bytes);
            let _ = decode_file_header(&bytes);
        }

        #[test]
        fn arbitrary_bodies_behind_valid_checksums_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
            // Wrap random bytes in a correct frame header, so the structural decoder runs.
            let mut frame = vec![0u8; FRAME_HEADER_LEN];
            frame[..4].copy_from_slice(&u32::try_from(body.len()).unwrap().to_le_bytes());
            frame[4..6].copy_from_slice(&SCHEMA_VERSION.to_le_bytes());
            frame[6] = KIND_TRANSACTION;
            frame[8..12].copy_from_slice(&crc32fast::hash(&body).to_le_bytes());
            let hcrc = crc32fast::hash(&frame[..12]);
            frame[12..16].copy_from_slice(&hcrc.to_le_bytes());
            frame.extend_from_slice(&body);
            match read_frame(&frame) {
                FrameRead::Frame { schema, body: b, .. } => { let _ = decode_body(schema, b); }
                other => prop_assert!(false, "valid checksums rejected: {:?}", other),
            }
        }
    }
}
