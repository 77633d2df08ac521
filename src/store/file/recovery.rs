//! Reading a store directory back: find the segments, check every frame, rebuild the index,
//! and find where (if anywhere) the log is torn or damaged.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::model::IncidentId;

use super::format::{self, FrameRead};
use super::io::{io_error, segment_number, segment_path};

/// Where one frame lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FramePos {
    /// Index into the store's segment list.
    pub segment: u32,
    /// Frame length, header included.
    pub len: u32,
    /// Byte offset of the frame in its segment.
    pub offset: u64,
}

/// What the store knows about one incident.
#[derive(Debug, Clone, Default)]
pub(crate) struct Stream {
    /// Events durably recorded.
    pub durable: u64,
    /// Events recorded or queued for the next commit; `>= durable`.
    pub tentative: u64,
    /// The frames holding its events, in order.
    pub frames: Vec<FramePos>,
}

#[derive(Debug)]
pub(crate) struct ScannedSegment {
    pub number: u32,
    pub path: PathBuf,
    /// Length of the file as found.
    pub file_len: u64,
    /// End of the last complete frame (where the next frame goes).
    pub valid_len: u64,
}

#[derive(Debug)]
pub(crate) struct Scanned {
    pub segments: Vec<ScannedSegment>,
    pub index: HashMap<IncidentId, Stream>,
    pub frames: u64,
    pub events: u64,
}

/// The first damage found: not a torn tail, but a broken frame, header or missing segment.
#[derive(Debug)]
pub(crate) struct Damage {
    /// Index of the damaged segment in the sorted segment list (for a missing segment: the
    /// index the missing one would have had).
    pub segment: usize,
    pub path: PathBuf,
    pub offset: u64,
    pub reason: String,
}

impl Damage {
    pub(crate) fn into_error(self) -> Error {
        Error::Corrupt {
            path: self.path,
            offset: self.offset,
            reason: self.reason,
        }
    }
}

/// The sorted segment numbers and paths in `dir`.
pub(crate) fn list_segments(dir: &Path) -> Result<Vec<(u32, PathBuf)>, Error> {
    let mut found = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| io_error("read directory", dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| io_error("read directory", dir, e))?;
        let name = entry.file_name();
        if let Some(n) = name.to_str().and_then(segment_number) {
            found.push((n, entry.path()));
        }
    }
    found.sort();
    Ok(found)
}

/// Scans every segment. Returns the rebuilt index, or the first damage found.
///
/// A torn tail — the last frame of the last segment cut short, or a run of zero bytes the file
/// system left at its end — is not damage: the scan stops before it and the caller cuts it.
pub(crate) fn scan(dir: &Path) -> Result<Result<Scanned, Damage>, Error> {
    let listed = list_segments(dir)?;
    let mut scanned = Scanned {
        segments: Vec::with_capacity(listed.len()),
        index: HashMap::new(),
        frames: 0,
        events: 0,
    };
    for (i, (number, path)) in listed.iter().enumerate() {
        let expected = u32::try_from(i).unwrap_or(u32::MAX).saturating_add(1);
        if *number != expected {
            return Ok(Err(Damage {
                segment: i,
                path: segment_path(dir, expected),
                offset: 0,
                reason: format!(
                    "segment {expected} is missing (the next one found is segment {number})"
                ),
            }));
        }
        let last = i + 1 == listed.len();
        let bytes = std::fs::read(path).map_err(|e| io_error("read", path, e))?;
        let at = At {
            segment: i,
            number: *number,
            path,
            last,
        };
        if let Err(damage) = scan_segment(&mut scanned, &at, &bytes) {
            return Ok(Err(damage));
        }
    }
    Ok(Ok(scanned))
}

/// The segment being scanned.
struct At<'a> {
    /// Its index in the sorted list.
    segment: usize,
    number: u32,
    path: &'a PathBuf,
    /// Whether it is the newest (the only one that may end torn).
    last: bool,
}

impl At<'_> {
    fn damage(&self, offset: usize, reason: String) -> Damage {
        Damage {
            segment: self.segment,
            path: self.path.clone(),
            offset: offset as u64,
            reason,
        }
    }
}

/// Checks one segment's header and frames and adds it to `scanned`.
fn scan_segment(scanned: &mut Scanned, at: &At<'_>, bytes: &[u8]) -> Result<(), Damage> {
    let mut segment = ScannedSegment {
        number: at.number,
        path: at.path.clone(),
        file_len: bytes.len() as u64,
        valid_len: 0,
    };
    if bytes.len() < format::FILE_HEADER_LEN {
        // Only the newest segment can be caught half-created.
        if at.last {
            scanned.segments.push(segment);
            return Ok(());
        }
        return Err(at.damage(0, "segment shorter than its header".into()));
    }
    let header = match format::decode_file_header(bytes) {
        Ok(h) if h.segment == at.number => h,
        Ok(h) => return Err(at.damage(0, format!("header says segment {}", h.segment))),
        Err(reason) => return Err(at.damage(0, reason)),
    };
    // The header remembers how long the previous segment was when this one started: a
    // previous segment cut exactly at a frame boundary is caught here.
    if let Some(previous) = scanned.segments.last()
        && header.previous_len != 0
        && header.previous_len != previous.valid_len
    {
        return Err(Damage {
            segment: at.segment - 1,
            path: previous.path.clone(),
            offset: previous.valid_len.min(header.previous_len),
            reason: format!(
                "segment is {} bytes long, but segment {} records that it was {} bytes",
                previous.valid_len, at.number, header.previous_len
            ),
        });
    }
    segment.valid_len = scan_frames(scanned, at, bytes)? as u64;
    scanned.segments.push(segment);
    Ok(())
}

/// Checks every frame after the header and indexes it; returns where the valid frames end.
#[allow(
    clippy::cast_possible_truncation,
    reason = "segment numbers are `u32` in their names; `read_frame` returns frames no longer than `MAX_BODY_LEN`"
)]
fn scan_frames(scanned: &mut Scanned, at: &At<'_>, bytes: &[u8]) -> Result<usize, Damage> {
    let mut pos = format::FILE_HEADER_LEN;
    while pos < bytes.len() {
        match format::read_frame(&bytes[pos..]) {
            FrameRead::Frame { body, len, .. } => {
                let frame_pos = FramePos {
                    segment: at.segment as u32,
                    len: len as u32,
                    offset: pos as u64,
                };
                let events = index_frame(&mut scanned.index, body, frame_pos)
                    .map_err(|r| at.damage(pos, r))?;
                scanned.frames += 1;
                scanned.events += events;
                pos += len;
            }
            FrameRead::Incomplete if at.last => break,
            FrameRead::Incomplete => {
                return Err(at.damage(
                    pos,
                    "segment ends inside a frame (only the newest segment may)".into(),
                ));
            }
            FrameRead::Damaged(_) if at.last && bytes[pos..].iter().all(|&b| b == 0) => break,
            // The final frame's header is intact but its body fails the checksum and the
            // file ends in a zero byte: the file system extended the file but the frame's
            // last blocks never reached the disk. A complete frame's body ends in `}`,
            // never in a zero byte, so this was never an acknowledged append.
            FrameRead::Damaged(_)
                if at.last
                    && bytes.last() == Some(&0)
                    && format::frame_len(&bytes[pos..]) == Some(bytes.len() - pos) =>
            {
                break;
            }
            FrameRead::Damaged(reason) => return Err(at.damage(pos, reason)),
        }
    }
    Ok(pos)
}

/// Adds one frame's groups to the index, checking that each incident's versions continue;
/// returns how many events it holds.
fn index_frame(
    index: &mut HashMap<IncidentId, Stream>,
    body: &[u8],
    frame_pos: FramePos,
) -> Result<u64, String> {
    let mut events = 0u64;
    format::for_each_group(body, |group, _| {
        let stream = index.entry(group.id).or_default();
        if group.first_version != stream.durable + 1 {
            return Err(format!(
                "incident {} continues at version {} but has {} events",
                group.id, group.first_version, stream.durable
            ));
        }
        stream.durable += u64::from(group.count);
        stream.tentative = stream.durable;
        if stream.frames.last() != Some(&frame_pos) {
            stream.frames.push(frame_pos);
        }
        events += u64::from(group.count);
        Ok(())
    })?;
    Ok(events)
}
