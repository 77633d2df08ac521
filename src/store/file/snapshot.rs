//! A `FileStore`'s side of projection snapshots and of desks sharing one store: points in the
//! log, the scan after a point, the feed of events in commit order, and the snapshot file
//! beside the segments.
//!
//! A point's position packs the segment's index (its number minus one) above bit 40 and the
//! byte offset within the segment below it. Its mark is a CRC-32 of up to [`MARK_BYTES`]
//! bytes of the log just before the point — frames carry their own checksums and incident
//! ids, so another store's log, or this log cut and rewritten, does not match.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use super::io::{io_error, read_exact_at};
use super::read::{self, Stretch};
use super::{ChunkReader, FileStore, checkpoint, decode_frame_events, format, lock_state};
use crate::error::Result;
use crate::lifecycle::Event;
use crate::model::IncidentId;
use crate::store::{FeedItem, LogPoint, Version};

/// The name of the projection snapshot in a store directory.
pub const SNAPSHOT_FILE: &str = "projection.snapshot";
/// The name a snapshot is written under before it replaces the last one.
const SNAPSHOT_TEMP: &str = "projection.snapshot.tmp";

/// How many bytes before a point its mark covers.
const MARK_BYTES: u64 = 4096;
/// Where the segment index starts in a position.
const SEGMENT_SHIFT: u32 = 40;

/// An index checkpoint, encoded, and the bytes of frames it covers.
struct Captured {
    bytes: Vec<u8>,
    covers: u64,
}

/// The segments as they stand: path, file and durable length, in order.
pub(super) type Segments = Vec<(PathBuf, Arc<File>, u64)>;

impl FileStore {
    fn segments_now(&self) -> Segments {
        lock_state(&self.state)
            .segments
            .iter()
            .map(|s| (s.path.clone(), Arc::clone(&s.file), s.durable_len))
            .collect()
    }

    pub(super) fn snapshot_log_end(&self) -> Result<Option<LogPoint>> {
        let segments = self.segments_now();
        let Some(last) = segments.len().checked_sub(1) else {
            return Ok(None);
        };
        let offset = segments[last].2;
        let (Ok(index), true) = (u64::try_from(last), offset < (1 << SEGMENT_SHIFT)) else {
            // Beyond what a position packs: no snapshots for this log.
            return Ok(None);
        };
        let mark = mark(&segments, last, offset)?;
        Ok(Some(LogPoint::new((index << SEGMENT_SHIFT) | offset, mark)))
    }

    pub(super) fn snapshot_has_point(&self, point: LogPoint) -> Result<bool> {
        Ok(Self::locate(&self.segments_now(), point)?.is_some())
    }

    pub(super) fn snapshot_scan_after(
        &self,
        point: LogPoint,
        visit: &mut dyn FnMut(IncidentId, Version, &Event) -> Result<()>,
    ) -> Result<bool> {
        let segments = self.segments_now();
        let Some((first, offset)) = Self::locate(&segments, point)? else {
            return Ok(false);
        };
        let stretches: Vec<Stretch> = segments
            .into_iter()
            .enumerate()
            .skip(first)
            .map(|(i, (path, file, len))| Stretch {
                path,
                file,
                from: if i == first {
                    offset
                } else {
                    format::FILE_HEADER_LEN as u64
                },
                to: len,
            })
            .filter(|s| s.to > s.from)
            .collect();
        read::visit_stretches(&stretches, self.options.scan_threads, visit)?;
        Ok(true)
    }

    /// The events committed after position `after` (a position of [`FeedItem`]s or of
    /// [`log_end`](crate::Store::log_end); 0 for the start), whole frames at a time, until at
    /// least `limit` events are read or the durable end is reached. Every event of a frame
    /// carries the position of the frame's end, where the next read starts.
    pub(super) fn snapshot_feed(&self, after: u64, limit: usize) -> Result<Vec<FeedItem>> {
        let segments = self.segments_now();
        let Ok(mut index) = usize::try_from(after >> SEGMENT_SHIFT) else {
            return Ok(Vec::new());
        };
        let mut offset = after & ((1 << SEGMENT_SHIFT) - 1);
        let mut items = Vec::new();
        let mut buf = Vec::new();
        while let Some((path, file, len)) = segments.get(index) {
            let packed = u64::try_from(index)
                .ok()
                .filter(|_| *len < (1 << SEGMENT_SHIFT))
                .map(|i| i << SEGMENT_SHIFT);
            let Some(packed) = packed else {
                // Beyond what a position packs (as for snapshots): no feed past here.
                return Ok(items);
            };
            buf.clear();
            let mut reader = ChunkReader {
                file,
                path,
                len: *len,
                buf: &mut buf,
                start: 0,
                offset: offset.max(format::FILE_HEADER_LEN as u64),
            };
            while reader.offset < *len {
                let at = reader.offset;
                let frame = reader.frame()?;
                let mut events = Vec::new();
                let used = decode_frame_events(frame, path, at, &mut |id, version, event| {
                    events.push((id, version, event));
                    Ok(())
                })?;
                reader.consume(used);
                let position = packed | reader.offset;
                items.extend(events.into_iter().map(|(id, version, event)| {
                    FeedItem::new(position, id, Version::new(version), event)
                }));
                if items.len() >= limit {
                    return Ok(items);
                }
            }
            index += 1;
            offset = 0;
        }
        Ok(items)
    }

    /// The segment index and offset `point` names, if it is a point of this log.
    fn locate(segments: &Segments, point: LogPoint) -> Result<Option<(usize, u64)>> {
        let position = point.position();
        let offset = position & ((1 << SEGMENT_SHIFT) - 1);
        let Ok(index) = usize::try_from(position >> SEGMENT_SHIFT) else {
            return Ok(None);
        };
        let Some((_, _, len)) = segments.get(index) else {
            return Ok(None);
        };
        if offset < format::FILE_HEADER_LEN as u64 || offset > *len {
            return Ok(None);
        }
        Ok((mark(segments, index, offset)? == point.mark()).then_some((index, offset)))
    }

    pub(super) fn snapshot_save(&self, bytes: &[u8]) -> Result<()> {
        {
            let state = lock_state(&self.state);
            if state.read_only {
                return Err(crate::Error::ReadOnly {
                    dir: self.dir.clone(),
                });
            }
            // After a failed flush nothing may be called durable: no snapshot vouches for it.
            if let Some(poison) = &state.poisoned {
                return Err(poison.error());
            }
        }
        // One writer of the temporary file at a time.
        let _one = self
            .snapshot_lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // The index as it stands at the durable end, before the flush below makes that end
        // durable under `Durability::Buffered` too.
        let index = self.index_checkpoint()?;
        // Under `Durability::Buffered` the segments' last writes may still be in the page
        // cache: flush them first, so the snapshot never outlives the events it reflects.
        self.flush_log_end()?;
        self.write_projection(bytes)?;
        match index {
            Some(index) => self.save_checkpoint(&index),
            None => Ok(()),
        }
    }

    /// Writes an index checkpoint if the options ask for one at close and enough of the log
    /// is past the last one (see `FileStoreOptions::checkpoint_on_close_after`).
    pub(super) fn checkpoint_on_close(&self) -> Result<()> {
        {
            let state = lock_state(&self.state);
            let since = state.durable_bytes.saturating_sub(state.checkpointed_bytes);
            if state.read_only
                || state.poisoned.is_some()
                || !state.fixups.is_empty()
                || since < self.options.close_checkpoint_bytes.max(1)
            {
                return Ok(());
            }
        }
        let _one = self
            .snapshot_lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(index) = self.index_checkpoint()? else {
            return Ok(());
        };
        // As for a snapshot: the index must not outlive the events it lists.
        self.flush_log_end()?;
        self.save_checkpoint(&index)
    }

    /// Flushes the newest segment (earlier ones were flushed when the next one was started).
    /// A failed flush poisons the store, as a failed commit does: the kernel may have dropped
    /// the pages, and a later flush could report success without them.
    fn flush_log_end(&self) -> Result<()> {
        let Some((path, file, _)) = self.segments_now().last().cloned() else {
            return Ok(());
        };
        self.io.sync_data(&file, &path).inspect_err(|error| {
            if super::is_failed_flush(error) {
                let mut state = lock_state(&self.state);
                if state.poisoned.is_none() {
                    log::error!("incidents: store {} poisoned: {error}", self.dir.display());
                    state.poisoned = Some(super::Poison::of(error));
                }
            }
        })
    }

    /// Writes `index` as the store's checkpoint and notes how much of the log it covers.
    fn save_checkpoint(&self, index: &Captured) -> Result<()> {
        checkpoint::save(&self.io, &self.dir, &index.bytes)?;
        let mut state = lock_state(&self.state);
        state.checkpointed_bytes = state.checkpointed_bytes.max(index.covers);
        Ok(())
    }

    /// The store's index at the durable end of the log, encoded as a checkpoint (none for a
    /// log beyond what a position packs). Appends wait while it is encoded.
    fn index_checkpoint(&self) -> Result<Option<Captured>> {
        let state = lock_state(&self.state);
        let segments: Segments = state
            .segments
            .iter()
            .map(|s| (s.path.clone(), Arc::clone(&s.file), s.durable_len))
            .collect();
        let Some(last) = segments.len().checked_sub(1) else {
            return Ok(None);
        };
        let lens: Vec<u64> = segments.iter().map(|s| s.2).collect();
        if lens[last] >= 1 << SEGMENT_SHIFT {
            return Ok(None);
        }
        let mark = mark(&segments, last, lens[last])?;
        Ok(Some(Captured {
            bytes: checkpoint::encode(
                &lens,
                mark,
                state.durable_frames,
                state.durable_events,
                &state.index,
            ),
            covers: state.durable_bytes,
        }))
    }

    /// Writes the projection snapshot: to a temporary file, flushed, then renamed over the
    /// last one.
    fn write_projection(&self, bytes: &[u8]) -> Result<()> {
        let temp = self.dir.join(SNAPSHOT_TEMP);
        let target = self.dir.join(SNAPSHOT_FILE);
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&temp)
            .map_err(|e| io_error("create", &temp, e))?;
        file.write_all(bytes)
            .map_err(|e| io_error("write", &temp, e))?;
        self.io.sync_data(&file, &temp)?;
        drop(file);
        std::fs::rename(&temp, &target).map_err(|e| io_error("rename", &temp, e))?;
        self.io.sync_dir(&self.dir)
    }

    pub(super) fn snapshot_load(&self) -> Result<Option<Vec<u8>>> {
        let path = self.dir.join(SNAPSHOT_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error("read", &path, e)),
        }
    }
}

/// The mark of the point at `offset` of segment `index`: a CRC-32 of the [`MARK_BYTES`]
/// bytes before it, reaching back into earlier segments (their frames, not their headers)
/// when the point is near its segment's start, with the number of bytes covered.
pub(super) fn mark(segments: &Segments, index: usize, offset: u64) -> Result<u64> {
    let header = format::FILE_HEADER_LEN as u64;
    let mut need = MARK_BYTES;
    let mut pieces: Vec<Vec<u8>> = Vec::new();
    let earlier = segments.get(..=index).unwrap_or_default();
    for (n, (path, file, len)) in earlier.iter().rev().enumerate() {
        let end = if n == 0 { offset } else { *len };
        let start = end.saturating_sub(need).max(header);
        if end > start {
            let mut piece = vec![0; usize::try_from(end - start).unwrap_or(0)];
            read_exact_at(file, &mut piece, start).map_err(|e| io_error("read", path, e))?;
            need -= end - start;
            pieces.push(piece);
        }
        if need == 0 {
            break;
        }
    }
    let mut hasher = crc32fast::Hasher::new();
    for piece in pieces.iter().rev() {
        hasher.update(piece);
    }
    Ok(u64::from(hasher.finalize()) | ((MARK_BYTES - need) << 32))
}
