//! Reading a store directory back: find the segments, check every frame, rebuild the index,
//! and find where (if anywhere) the log is torn or damaged.

use std::io::{Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::Error;
use crate::id_hash::IdMap;

use super::checkpoint::Checkpoint;
use super::format::{self, FrameRead};
use super::io::{io_error, read_exact_at, segment_number, segment_path};

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
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Stream {
    /// Events durably recorded.
    pub durable: u64,
    /// Events recorded or queued for the next commit; `>= durable`.
    pub tentative: u64,
    /// The frames holding its events, in order.
    pub frames: Vec<FramePos>,
    /// Taken from an index checkpoint and not yet checked against the log: the first append
    /// reads the incident's events back first (see `FileStore::commit_frame`), so a
    /// checkpoint that is wrong about it can make that append fail, never make it write a
    /// version twice.
    pub unverified: bool,
}

#[derive(Debug, PartialEq, Eq)]
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
    pub index: IdMap<Stream>,
    pub frames: u64,
    pub events: u64,
    /// What lies past the last complete frame of the newest segment, if anything.
    pub tail: Option<Tail>,
    /// Bytes of frames an index checkpoint vouched for, which the scan did not read.
    pub vouched: u64,
}

/// The bytes after the last complete frame of the newest segment, which recovery leaves out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tail {
    /// Index of the segment (always the newest).
    pub segment: usize,
    /// Where the left-out bytes start (the end of the last complete frame).
    pub offset: u64,
    /// The file's length: the left-out bytes are `offset..end`.
    pub end: u64,
    pub kind: TailKind,
}

/// Why the tail was left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TailKind {
    /// A write that never finished: a frame cut short, or zero bytes the file system never
    /// filled. Never acknowledged (an append returns after its frame is complete and flushed).
    Unfinished,
    /// A complete final frame (its header intact, its body reaching the end of the file, or
    /// followed only by zero bytes) whose body fails its checksum. It may be a write the crash
    /// interrupted after the file grew, or an acknowledged append on a failed sector: the store
    /// cannot tell, so it sets the bytes aside and says so.
    FailedChecksum(String),
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
    scan_from(dir, None)
}

/// As [`scan`], but from `checkpoint`'s point when it matches the log (see
/// [`matches_log`]): the index and counts before the point are the checkpoint's, and only the
/// frames after it are read, under the same rules.
pub(crate) fn scan_from(
    dir: &Path,
    checkpoint: Option<Checkpoint>,
) -> Result<Result<Scanned, Damage>, Error> {
    let listed = list_segments(dir)?;
    let mut scanned = Scanned {
        segments: Vec::with_capacity(listed.len()),
        index: IdMap::default(),
        frames: 0,
        events: 0,
        tail: None,
        vouched: 0,
    };
    // The segment the checkpoint's point is in, and the offset; every segment before it is
    // taken as the checkpoint recorded it.
    let mut resume = None;
    if let Some(checkpoint) = checkpoint.filter(|c| matches_log(dir, &listed, c)) {
        let point = checkpoint.lens.len() - 1;
        let header = format::FILE_HEADER_LEN as u64;
        for (i, len) in checkpoint.lens.iter().enumerate() {
            let (number, path) = &listed[i];
            scanned.vouched += len - header;
            if i < point {
                scanned.segments.push(ScannedSegment {
                    number: *number,
                    path: path.clone(),
                    file_len: *len,
                    valid_len: *len,
                });
            }
        }
        scanned.index = checkpoint.index;
        scanned.frames = checkpoint.frames;
        scanned.events = checkpoint.events;
        resume = Some((point, checkpoint.lens[point]));
    }
    // One buffer for every segment, a window onto it of a few MiB: a whole segment's worth
    // would be faulted in (and unmapped) at each open, which cost more than the reading.
    let mut buffer = Vec::with_capacity(window_size());
    let first = resume.map_or(0, |(segment, _)| segment);
    for (i, (number, path)) in listed.iter().enumerate().skip(first) {
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
        let file = std::fs::File::open(path).map_err(|e| io_error("read", path, e))?;
        buffer.clear();
        let mut window = Window {
            file,
            path,
            buffer: &mut buffer,
            base: 0,
            eof: false,
        };
        let at = At {
            segment: i,
            number: *number,
            path,
            last,
        };
        let start = match resume {
            Some((segment, offset)) if segment == i => {
                usize::try_from(offset).unwrap_or(format::FILE_HEADER_LEN)
            }
            _ => format::FILE_HEADER_LEN,
        };
        if let Err(damage) = scan_segment(&mut scanned, &at, &mut window, start)? {
            if resume.is_some() {
                // The log after the point does not continue the checkpoint, or is damaged:
                // what a full scan says is the answer either way.
                log::warn!(
                    "incidents: the log after the index checkpoint in {} does not continue it \
                     ({}); every frame is checked",
                    dir.display(),
                    damage.reason
                );
                return scan_from(dir, None);
            }
            return Ok(Err(damage));
        }
    }
    Ok(Ok(scanned))
}

/// How much of a segment the scan reads at a time.
const WINDOW: usize = 4 << 20;

/// [`WINDOW`], or what a test on this thread set (`incidents::testing::open_reads_in`).
fn window_size() -> usize {
    #[cfg(feature = "testing")]
    if let Some(bytes) = crate::testing::open_window() {
        return bytes;
    }
    WINDOW
}

/// A stretch of a segment file: the bytes from `base`, read so far.
struct Window<'a> {
    file: std::fs::File,
    path: &'a Path,
    buffer: &'a mut Vec<u8>,
    /// The file offset of `buffer[0]`.
    base: usize,
    /// Whether `buffer` reaches the end of the file.
    eof: bool,
}

impl Window<'_> {
    /// The file offset just past what has been read.
    fn end(&self) -> usize {
        self.base + self.buffer.len()
    }

    /// The bytes read from `from` (a file offset in the window) on.
    fn from(&self, from: usize) -> &[u8] {
        self.buffer.get(from - self.base..).unwrap_or_default()
    }

    /// Forgets the bytes before `to` and reads up to a window's worth more.
    fn advance(&mut self, to: usize) -> Result<(), Error> {
        self.buffer.drain(..to - self.base);
        self.base = to;
        self.read(window_size())
    }

    /// Forgets what was read and reads a window's worth from file offset `to` on.
    fn jump(&mut self, to: usize) -> Result<(), Error> {
        self.file
            .seek(std::io::SeekFrom::Start(to as u64))
            .map_err(|e| io_error("seek", self.path, e))?;
        self.buffer.clear();
        self.base = to;
        self.eof = false;
        self.read(window_size())
    }

    /// Reads up to `more` bytes onto the end (fewer only at the end of the file).
    fn read(&mut self, more: usize) -> Result<(), Error> {
        let goal = self.buffer.len() + more;
        while self.buffer.len() < goal {
            let got = (&mut self.file)
                .take((goal - self.buffer.len()) as u64)
                .read_to_end(self.buffer)
                .map_err(|e| io_error("read", self.path, e))?;
            if got == 0 {
                self.eof = true;
                break;
            }
        }
        Ok(())
    }

    /// Reads the rest of the file.
    fn read_all(&mut self) -> Result<(), Error> {
        self.file
            .read_to_end(self.buffer)
            .map_err(|e| io_error("read", self.path, e))?;
        self.eof = true;
        Ok(())
    }
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

/// Checks one segment's header and its frames from file offset `start` on (the end of its
/// header, or a checkpoint's point) and adds it to `scanned`.
fn scan_segment(
    scanned: &mut Scanned,
    at: &At<'_>,
    window: &mut Window<'_>,
    start: usize,
) -> Result<Result<(), Damage>, Error> {
    let resuming = start > format::FILE_HEADER_LEN;
    if resuming {
        window.read(format::FILE_HEADER_LEN)?;
    } else {
        window.read(window_size().max(format::FILE_HEADER_LEN))?;
    }
    let mut segment = ScannedSegment {
        number: at.number,
        path: at.path.clone(),
        file_len: window.end() as u64,
        valid_len: 0,
    };
    if window.buffer.len() < format::FILE_HEADER_LEN {
        // Only the newest segment can be caught half-created.
        if at.last {
            scanned.segments.push(segment);
            note_tail(scanned, at, TailKind::Unfinished);
            return Ok(Ok(()));
        }
        return Ok(Err(at.damage(0, "segment shorter than its header".into())));
    }
    let header = match format::decode_file_header(window.buffer) {
        Ok(h) if h.segment == at.number => h,
        Ok(h) => {
            return Ok(Err(
                at.damage(0, format!("header says segment {}", h.segment))
            ));
        }
        Err(reason) => return Ok(Err(at.damage(0, reason))),
    };
    // The header remembers how long the previous segment was when this one started: a
    // previous segment cut exactly at a frame boundary is caught here.
    if let Some(previous) = scanned.segments.last()
        && header.previous_len != 0
        && header.previous_len != previous.valid_len
    {
        return Ok(Err(Damage {
            segment: at.segment - 1,
            path: previous.path.clone(),
            offset: previous.valid_len.min(header.previous_len),
            reason: format!(
                "segment is {} bytes long, but segment {} records that it was {} bytes",
                previous.valid_len, at.number, header.previous_len
            ),
        }));
    }
    // Whole, sound frames a window at a time; the first that is not (cut off by the window,
    // or not sound) decides: more bytes, or the rules below on the rest of the file.
    let mut pos = format::FILE_HEADER_LEN;
    if resuming {
        window.jump(start)?;
        pos = start;
    }
    loop {
        pos = match index_frames(scanned, at, window.from(pos), pos) {
            Ok(next) => next,
            Err(damage) => return Ok(Err(damage)),
        };
        if window.eof {
            break;
        }
        if matches!(format::read_frame(window.from(pos)), FrameRead::Incomplete) {
            window.advance(pos)?;
            continue;
        }
        // Not sound: the rules for damage look at everything after it.
        window.read_all()?;
        break;
    }
    let (valid_len, kind) = match scan_frames(scanned, at, window, pos) {
        Ok(found) => found,
        Err(damage) => return Ok(Err(damage)),
    };
    segment.file_len = window.end() as u64;
    segment.valid_len = valid_len as u64;
    scanned.segments.push(segment);
    note_tail(scanned, at, kind);
    Ok(Ok(()))
}

/// Indexes the whole, sound frames at the start of `bytes` (which lie at file offset
/// `pos`); returns the offset after the last one.
fn index_frames(
    scanned: &mut Scanned,
    at: &At<'_>,
    bytes: &[u8],
    mut pos: usize,
) -> Result<usize, Damage> {
    let start = pos;
    while let FrameRead::Frame { body, len, .. } = format::read_frame(&bytes[pos - start..]) {
        add_frame(scanned, at, body, len, pos)?;
        pos += len;
    }
    Ok(pos)
}

/// Adds one sound frame, `len` bytes at file offset `pos`, to the index and the counts.
#[allow(
    clippy::cast_possible_truncation,
    reason = "segment numbers are `u32` in their names; `read_frame` returns frames no longer than `MAX_BODY_LEN`"
)]
fn add_frame(
    scanned: &mut Scanned,
    at: &At<'_>,
    body: &[u8],
    len: usize,
    pos: usize,
) -> Result<(), Damage> {
    let frame_pos = FramePos {
        segment: at.segment as u32,
        len: len as u32,
        offset: pos as u64,
    };
    let events = index_frame(&mut scanned.index, body, frame_pos).map_err(|r| at.damage(pos, r))?;
    scanned.frames += 1;
    scanned.events += events;
    Ok(())
}

/// Records the newest segment's left-out bytes (if it has any) as the scan's tail.
fn note_tail(scanned: &mut Scanned, at: &At<'_>, kind: TailKind) {
    if let Some(segment) = scanned.segments.last()
        && at.last
        && segment.valid_len < segment.file_len
    {
        scanned.tail = Some(Tail {
            segment: at.segment,
            offset: segment.valid_len,
            end: segment.file_len,
            kind,
        });
    }
}

/// Checks every frame from `pos` to the end of the file (the window reaches it) and indexes
/// it; returns where the valid frames end and why the bytes after that (if any) were left out.
fn scan_frames(
    scanned: &mut Scanned,
    at: &At<'_>,
    window: &Window<'_>,
    mut pos: usize,
) -> Result<(usize, TailKind), Damage> {
    while pos < window.end() {
        let rest = window.from(pos);
        match format::read_frame(rest) {
            FrameRead::Frame { body, len, .. } => {
                add_frame(scanned, at, body, len, pos)?;
                pos += len;
            }
            FrameRead::Incomplete if at.last => return Ok((pos, TailKind::Unfinished)),
            FrameRead::Incomplete => {
                return Err(at.damage(
                    pos,
                    "segment ends inside a frame (only the newest segment may)".into(),
                ));
            }
            FrameRead::Damaged(_) if at.last && rest.iter().all(|&b| b == 0) => {
                return Ok((pos, TailKind::Unfinished));
            }
            // The one rule for a complete final frame that fails its checksum: its header is
            // intact and its body reaches the end of the file (or is followed only by zero
            // bytes), so it is the last thing written. It is set aside, not guessed to be torn
            // and not refused as damage: the caller keeps its bytes and reports it.
            FrameRead::Damaged(reason)
                if at.last
                    && format::body_fails_checksum(rest)
                    && format::frame_len(rest)
                        .and_then(|len| rest.get(len..))
                        .is_some_and(|after| after.iter().all(|&b| b == 0)) =>
            {
                return Ok((pos, TailKind::FailedChecksum(reason)));
            }
            // A crash tore the final frame inside its header and none of its body reached
            // the disk: past the header's 16 bytes there are only zeros (or nothing). An
            // acknowledged frame always has a body, and a body is never all zeros, so this
            // is an unfinished write, not damage to something acknowledged.
            FrameRead::Damaged(_)
                if at.last
                    && format::frame_len(rest).is_none()
                    && rest
                        .get(format::FRAME_HEADER_LEN..)
                        .is_some_and(|after| after.iter().all(|&b| b == 0)) =>
            {
                return Ok((pos, TailKind::Unfinished));
            }
            FrameRead::Damaged(reason) => return Err(at.damage(pos, reason)),
        }
    }
    Ok((pos, TailKind::Unfinished))
}

/// Adds one frame's groups to the index, checking that each incident's versions continue;
/// returns how many events it holds.
fn index_frame(index: &mut IdMap<Stream>, body: &[u8], frame_pos: FramePos) -> Result<u64, String> {
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

/// Whether `checkpoint` still describes the start of the log in `dir`: the segments it
/// records are there, numbered in order, with headers of their numbers chained by length;
/// every one before the point's segment has exactly its recorded length, that one is at
/// least as long as the point, and the point's mark matches the bytes before it. Says why
/// not in the log; a segment that cannot be read is left to the full scan to report.
pub(crate) fn matches_log(dir: &Path, listed: &[(u32, PathBuf)], checkpoint: &Checkpoint) -> bool {
    match check_against(listed, checkpoint) {
        Ok(()) => true,
        Err(why) => {
            log::info!(
                "incidents: index checkpoint in {} not used ({why}); every frame is checked",
                dir.display()
            );
            false
        }
    }
}

fn check_against(listed: &[(u32, PathBuf)], checkpoint: &Checkpoint) -> Result<(), String> {
    let lens = &checkpoint.lens;
    let point = lens.len() - 1;
    if listed.len() < lens.len() {
        return Err(format!(
            "it records {} segments, the store has {}",
            lens.len(),
            listed.len()
        ));
    }
    let mut files: super::snapshot::Segments = Vec::with_capacity(lens.len());
    for (i, ((number, path), len)) in listed.iter().zip(lens).enumerate() {
        if u32::try_from(i + 1).ok() != Some(*number) {
            return Err(format!("segment {} is missing", i + 1));
        }
        let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let found = file
            .metadata()
            .map_err(|e| format!("{}: {e}", path.display()))?
            .len();
        if (i < point && found != *len) || found < *len {
            return Err(format!(
                "segment {number} is {found} bytes long, it records {len}"
            ));
        }
        let mut header = [0u8; format::FILE_HEADER_LEN];
        read_exact_at(&file, &mut header, 0).map_err(|e| format!("{}: {e}", path.display()))?;
        let header = format::decode_file_header(&header)?;
        let previous = i.checked_sub(1).map_or(0, |p| lens[p]);
        if header.segment != *number
            || (header.previous_len != 0 && header.previous_len != previous)
        {
            return Err(format!("segment {number}'s header does not match it"));
        }
        files.push((path.clone(), Arc::new(file), *len));
    }
    let mark = super::snapshot::mark(&files, point, lens[point]).map_err(|e| e.to_string())?;
    if mark != checkpoint.mark {
        return Err("the log before its point is not the log it was made of".into());
    }
    Ok(())
}
