//! The index checkpoint: the store's index — every incident's durable versions and where its
//! frames lie — as it stood at one point of the log, kept in [`CHECKPOINT_FILE`] beside the
//! segments. [`FileStore::save_snapshot`](crate::Store::save_snapshot) writes it with the
//! projection snapshot; an open that finds it sound and matching reads only the log after
//! its point.
//!
//! It is never trusted over the log. It is used only when every sealed segment still has the
//! length it records (and a header of the right number, chained to the one before), the
//! segment holding the point is at least that long, and the point's mark — a checksum of the
//! log's bytes just before it, as for projection snapshots — matches. Anything else (a missing,
//! damaged or foreign checkpoint, a repaired, cut or replaced log) makes the open scan every
//! frame, as without one.
//!
//! The bytes: [`MAGIC`], a CRC-32 of the body, the body's length, then the body: the durable
//! length of each segment (the last one's is the point), the point's mark, the number of
//! frames and events before it, then every incident with durable events: its id, its event
//! count, and its frames in log order, each as the change of segment from the frame before,
//! the offset (from the previous frame's end within a segment, else from the segment's
//! start) and the length. Integers are LEB128, as in projection snapshots.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

use super::format;
use super::io::{Io, io_error};
use super::recovery::{FramePos, Stream};
use crate::error::Result;
use crate::id_hash::IdMap;
use crate::incident::snapshot::wire::{Reader, Tables, Wire, Writer};
use crate::model::IncidentId;

/// The name of the index checkpoint in a store directory.
pub const CHECKPOINT_FILE: &str = "index.checkpoint";
/// The name a checkpoint is written under before it replaces the last one.
const CHECKPOINT_TEMP: &str = "index.checkpoint.tmp";
/// The first bytes of a checkpoint; the last digit is its format.
const MAGIC: &[u8; 8] = b"INCIDX01";
/// Magic, CRC-32 of the body, length of the body.
const HEADER_LEN: usize = 8 + 4 + 8;
/// The fewest bytes an incident takes: its id, its event count, its frame count and one
/// frame of three one-byte numbers.
const MIN_INCIDENT_BYTES: usize = 16 + 1 + 1 + 3;

/// The store's index as it stood at a point of the log.
#[derive(Debug)]
pub(crate) struct Checkpoint {
    /// The durable length of every segment, in order; the last is the point's offset.
    pub lens: Vec<u64>,
    /// The point's mark (see `snapshot::mark`).
    pub mark: u64,
    /// Frames before the point.
    pub frames: u64,
    /// Events before the point.
    pub events: u64,
    /// Every incident with events before the point.
    pub index: IdMap<Stream>,
}

/// Encodes a checkpoint of `index` (its durable part) at the end of segments of `lens`.
#[allow(
    clippy::cast_possible_truncation,
    reason = "only positions the index holds are written: they fit"
)]
pub(crate) fn encode(
    lens: &[u64],
    mark: u64,
    frames: u64,
    events: u64,
    index: &IdMap<Stream>,
) -> Vec<u8> {
    let mut w = Writer::default();
    w.uint(lens.len() as u64);
    for len in lens {
        w.uint(*len);
    }
    w.bytes(&mark.to_le_bytes());
    w.uint(frames);
    w.uint(events);
    let durable = index.values().filter(|s| s.durable > 0).count();
    w.uint(durable as u64);
    for (id, stream) in index.iter().filter(|(_, s)| s.durable > 0) {
        id.put(&mut w);
        w.uint(stream.durable);
        // Only durable frames are in `frames`: later ones are added as their commit lands.
        w.uint(stream.frames.len() as u64);
        let mut previous: Option<FramePos> = None;
        for frame in &stream.frames {
            let (segment_step, from) = match previous {
                Some(p) if p.segment == frame.segment => (0, p.offset + u64::from(p.len)),
                Some(p) => (frame.segment - p.segment, 0),
                None => (frame.segment, 0),
            };
            w.uint(u64::from(segment_step));
            w.uint(frame.offset.saturating_sub(from));
            w.uint(u64::from(frame.len));
            previous = Some(*frame);
        }
    }
    let body = w.into_raw();
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

/// Reads a checkpoint back, checking its checksum and that every frame it lists lies inside
/// its segments, in order; says what is wrong otherwise.
pub(crate) fn decode(bytes: &[u8]) -> Result<Checkpoint, String> {
    let header = bytes
        .get(..HEADER_LEN)
        .ok_or("it is shorter than its header")?;
    if &header[..8] != MAGIC {
        return Err(
            "it does not start with the checkpoint's magic bytes (or is of another format)".into(),
        );
    }
    let crc = u32::from_le_bytes(header[8..12].try_into().map_err(|_| "cut short")?);
    let len = u64::from_le_bytes(header[12..20].try_into().map_err(|_| "cut short")?);
    let body = &bytes[HEADER_LEN..];
    if u64::try_from(body.len()).ok() != Some(len) {
        return Err(format!(
            "its body is {} bytes, but its header says {len}",
            body.len()
        ));
    }
    if crc32fast::hash(body) != crc {
        return Err("its body fails its checksum".into());
    }
    read_body(body)
}

/// The body, after its checksum has been checked: still checked value by value, since a
/// checksum catches damage, not a wrong writer. No list reserves more than its items' smallest
/// encoding in the bytes left could fill, and every count is bounded by the log's length, so
/// a forged count is refused rather than allocated or overflowed.
fn read_body(body: &[u8]) -> Result<Checkpoint, String> {
    let tables = Tables::default();
    let mut r = Reader::new(body, &tables);
    let segments = r.count()?;
    if segments == 0 {
        return Err("it lists no segment".into());
    }
    let mut lens = Vec::with_capacity(segments.min(r.rest().len()));
    let mut log = 0u64;
    for _ in 0..segments {
        let len = r.uint()?;
        if !(format::FILE_HEADER_LEN as u64..1 << 40).contains(&len) {
            return Err(format!("a segment length of {len} is out of range"));
        }
        log = log.checked_add(len).ok_or("its segments are too long")?;
        lens.push(len);
    }
    let mark = u64::from_le_bytes(r.take(8)?.try_into().map_err(|_| "cut short")?);
    let frames = r.uint()?;
    let events = r.uint()?;
    // Every frame is longer than a frame header; every event takes at least a byte.
    if frames > log / (format::FRAME_HEADER_LEN as u64 + 1) || events > log {
        return Err(format!(
            "{frames} frames and {events} events do not fit in {log} bytes of log"
        ));
    }
    let incidents = r.count()?;
    let mut index = IdMap::default();
    index.reserve(incidents.min(r.rest().len() / MIN_INCIDENT_BYTES));
    let mut counted = 0u64;
    for _ in 0..incidents {
        let id = IncidentId::get(&mut r)?;
        let durable = r.uint()?;
        counted = counted
            .checked_add(durable)
            .filter(|&n| n <= events)
            .ok_or_else(|| format!("its incidents hold more than the {events} events it says"))?;
        let stream =
            read_stream(&mut r, &lens, durable).map_err(|e| format!("incident {id}: {e}"))?;
        if index.insert(id, stream).is_some() {
            return Err(format!("incident {id} is listed twice"));
        }
    }
    if counted != events {
        return Err(format!(
            "its incidents hold {counted} events, but it says {events}"
        ));
    }
    if !r.rest().is_empty() {
        return Err("bytes follow its last incident".into());
    }
    Ok(Checkpoint {
        lens,
        mark,
        frames,
        events,
        index,
    })
}

/// One incident's frames: at least one and at most one per event, each inside its segment's
/// recorded length and after the one before.
fn read_stream(r: &mut Reader<'_>, lens: &[u64], durable: u64) -> Result<Stream, String> {
    let count = r.count()?;
    if count == 0 || count as u64 > durable {
        return Err(format!("{count} frames for {durable} events"));
    }
    let mut frames: Vec<FramePos> = Vec::with_capacity(count.min(r.rest().len() / 3));
    for _ in 0..count {
        let step = r.u32()?;
        let delta = r.uint()?;
        let len = r.u32()?;
        let (segment, from) = match frames.last() {
            Some(p) if step == 0 => (p.segment, p.offset + u64::from(p.len)),
            Some(p) => (
                p.segment
                    .checked_add(step)
                    .ok_or("a segment is out of range")?,
                0,
            ),
            None => (step, 0),
        };
        let offset = from.checked_add(delta).ok_or("an offset is out of range")?;
        let end = offset
            .checked_add(u64::from(len))
            .ok_or("an offset is out of range")?;
        let inside = usize::try_from(segment)
            .ok()
            .and_then(|s| lens.get(s))
            .is_some_and(|&seg_len| {
                offset >= format::FILE_HEADER_LEN as u64
                    && usize::try_from(len).is_ok_and(|l| l > format::FRAME_HEADER_LEN)
                    && end <= seg_len
            });
        if !inside {
            return Err(format!(
                "a frame of {len} bytes at offset {offset} of segment index {segment} lies \
                 outside the segments"
            ));
        }
        frames.push(FramePos {
            segment,
            len,
            offset,
        });
    }
    Ok(Stream {
        durable,
        tentative: durable,
        frames,
        unverified: true,
    })
}

/// The checkpoint in `dir`, if there is one and it reads back; a damaged or foreign one is
/// logged and ignored (the open then scans every frame).
pub(crate) fn load(dir: &Path) -> Option<Checkpoint> {
    let path = dir.join(CHECKPOINT_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            log::warn!(
                "incidents: index checkpoint {} not read ({e}); every frame is checked",
                path.display()
            );
            return None;
        }
    };
    match decode(&bytes) {
        Ok(checkpoint) => Some(checkpoint),
        Err(reason) => {
            log::warn!(
                "incidents: index checkpoint {} ignored: {reason}; every frame is checked",
                path.display()
            );
            None
        }
    }
}

/// Writes `bytes` as the checkpoint in `dir`: to a temporary file, flushed, then renamed
/// over the last one, so a crash leaves the old checkpoint or the new one, whole.
pub(crate) fn save(io: &Io, dir: &Path, bytes: &[u8]) -> Result<()> {
    let temp = dir.join(CHECKPOINT_TEMP);
    let target = dir.join(CHECKPOINT_FILE);
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&temp)
        .map_err(|e| io_error("create", &temp, e))?;
    file.write_all(bytes)
        .map_err(|e| io_error("write", &temp, e))?;
    io.sync_data(&file, &temp)?;
    drop(file);
    std::fs::rename(&temp, &target).map_err(|e| io_error("rename", &temp, e))?;
    io.sync_dir(dir)
}

/// Removes the checkpoint in `dir`, if any (a repair changes the log under it).
pub(crate) fn remove(io: &Io, dir: &Path) -> Result<()> {
    let path = dir.join(CHECKPOINT_FILE);
    match std::fs::remove_file(&path) {
        Ok(()) => io.sync_dir(dir),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_error("remove", &path, e)),
    }
}
