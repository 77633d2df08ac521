//! Reading stored events back in order: frames read through one reused buffer, checked and
//! decoded one at a time. A long read on a machine with more than one core decodes on
//! worker threads while the caller visits what was decoded, in log order: decoding (JSON)
//! is about three quarters of a cold start's replay, so it is what is spread over the cores.

use std::fs::File;
use std::num::NonZero;
use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};

use super::format;
use super::io::{io_error, read_exact_at};
use crate::error::{Error, Result};
use crate::lifecycle::Event;
use crate::model::IncidentId;
use crate::store::Version;

/// A run of whole frames in one segment, the bytes `from..to`.
pub(crate) struct Stretch {
    pub path: PathBuf,
    pub file: Arc<File>,
    pub from: u64,
    pub to: u64,
}

/// Below this many bytes, the visiting thread reads and decodes by itself: a thread and its
/// hand-offs would cost more than they save.
const PIPELINE_FROM: u64 = 4 << 20;
/// The most threads decoding at once by default.
const MAX_WORKERS: usize = 4;
/// The most threads decoding at once, whatever `scan_threads` asks.
const MOST_WORKERS: usize = 64;

/// An event as decoded: its incident, version and the event.
type Event3 = (IncidentId, u64, Event);
/// A chunk's events, and the error that stopped its decoding (after those events), if any.
type Decoded = (Vec<Event3>, Option<Error>);

/// Calls `visit` with every event of `stretches`, in order, stopping at the first error
/// (a damaged frame, a failed read, or the visitor's own). A read of more than
/// [`PIPELINE_FROM`] bytes takes the pipeline, on `threads` decoding workers (`None`: the
/// machine's cores, at most [`MAX_WORKERS`]); fewer than two threads read here alone.
pub(crate) fn visit_stretches(
    stretches: &[Stretch],
    threads: Option<usize>,
    visit: &mut dyn FnMut(IncidentId, Version, &Event) -> Result<()>,
) -> Result<()> {
    let bytes: u64 = stretches.iter().map(|s| s.to.saturating_sub(s.from)).sum();
    let chunks = usize::try_from(bytes.div_ceil(CHUNK as u64)).unwrap_or(usize::MAX);
    let workers = threads
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map_or(1, NonZero::get)
                .min(MAX_WORKERS)
        })
        // No more workers than chunks to deal them (but two, for a test's small log), nor
        // than any machine could use.
        .min(chunks.max(2))
        .min(MOST_WORKERS);
    if workers < 2 || bytes < pipeline_from() {
        return decode_stretches(stretches, &mut |id, v, e| visit(id, Version::new(v), &e));
    }
    pipelined(stretches, workers, CHUNK, visit)
}

/// Where the pipeline starts: [`PIPELINE_FROM`], or what a test on this thread set
/// (`incidents::testing::pipeline_scans_from`).
fn pipeline_from() -> u64 {
    #[cfg(feature = "testing")]
    if let Some(bytes) = crate::testing::pipeline_from() {
        return bytes;
    }
    PIPELINE_FROM
}

/// Reads and decodes `stretches` on this thread, calling `each` per event.
fn decode_stretches(
    stretches: &[Stretch],
    each: &mut dyn FnMut(IncidentId, u64, Event) -> Result<()>,
) -> Result<()> {
    // One buffer of about `SCAN_CHUNK` bytes, refilled as the frames in it are decoded
    // (larger only for a larger frame): no copy of a whole segment in memory.
    let mut buf = Vec::new();
    for stretch in stretches {
        buf.clear();
        let mut reader = ChunkReader {
            file: &stretch.file,
            path: &stretch.path,
            len: stretch.to,
            buf: &mut buf,
            start: 0,
            offset: stretch.from,
        };
        while reader.offset < stretch.to {
            let offset = reader.offset;
            let frame = reader.frame()?;
            let used = decode_frame_events(frame, &stretch.path, offset, each)?;
            reader.consume(used);
        }
    }
    Ok(())
}

/// Bytes of whole frames handed to a decoding worker at a time (more for a larger frame).
const CHUNK: usize = 256 << 10;

/// Whole frames of one stretch, read by the splitting thread for a worker to decode. The
/// last chunk of a stretch may end in a damaged or cut frame: its worker decodes up to it
/// and reports it as a sequential read would.
struct Chunk {
    /// Index into the stretches.
    stretch: usize,
    /// Segment offset of `bytes[0]`.
    offset: u64,
    bytes: Vec<u8>,
}

/// Decodes on `workers` scoped threads, visits on this one. A splitting thread reads the
/// stretches in chunks of whole frames and deals them round-robin to the workers; each
/// worker decodes its chunks in the order dealt and sends each one's events back; this
/// thread takes the batches round-robin too, so it visits every event in log order. Every
/// channel is bounded: per worker one chunk waiting, one being decoded and two batches
/// waiting, plus the batch being visited and the chunk being read, so about `4 × workers + 2`
/// chunks are held at most (each about `chunk` bytes, or one frame where a frame is larger).
/// The first error in log order ends the read: a worker stops at its first error (sent in
/// its chunk's turn, after the events decoded before it), and when this thread stops — at an
/// error, or a visitor's error — it drops its ends of the channels, so every other thread's
/// next send fails and it returns. If the threads cannot be started, this thread reads alone.
/// A read error (not a damaged frame: the disk failing) may surface after a different
/// number of visited events than on one thread, which reads in larger pieces.
#[allow(
    clippy::needless_pass_by_value,
    reason = "the channels are moved into the threads that own them"
)]
fn pipelined(
    stretches: &[Stretch],
    workers: usize,
    chunk: usize,
    visit: &mut dyn FnMut(IncidentId, Version, &Event) -> Result<()>,
) -> Result<()> {
    let chunk = chunk.max(format::FRAME_HEADER_LEN);
    let ran = std::thread::scope(|scope| {
        let mut deal = Vec::with_capacity(workers);
        let mut results = Vec::with_capacity(workers);
        let mut give_back = Vec::with_capacity(workers);
        let mut threads = Vec::with_capacity(workers + 1);
        for n in 0..workers {
            let (to_worker, work) = mpsc::sync_channel::<Result<Chunk>>(1);
            let (done, from_worker) = mpsc::sync_channel::<Decoded>(2);
            let (emptied, spares) = mpsc::channel::<Vec<Event3>>();
            let worker = std::thread::Builder::new()
                .name(format!("incidents-scan-{n}"))
                .spawn_scoped(scope, move || {
                    decode_chunks(stretches, &work, &done, &spares);
                });
            // Those started see their work channel close (`deal` is dropped) and return.
            threads.push(worker.ok()?);
            deal.push(to_worker);
            results.push(from_worker);
            give_back.push(emptied);
        }
        let splitter = std::thread::Builder::new()
            .name("incidents-scan-split".into())
            .spawn_scoped(scope, move || split(stretches, &deal, chunk));
        threads.push(splitter.ok()?);
        let mut outcome = Ok(());
        for turn in (0..workers).cycle() {
            // A worker's channel closes after its last chunk's batch (or if it died: the
            // join below tells).
            let Ok((mut batch, stopped)) = results[turn].recv() else {
                break;
            };
            // The events decoded before a chunk's error are visited first, as a
            // sequential read would.
            let visited = batch
                .drain(..)
                .try_for_each(|(id, version, event)| visit(id, Version::new(version), &event))
                .and_then(|()| stopped.map_or(Ok(()), Err));
            // A worker that finished has dropped its end: the batch is simply freed.
            let _ = give_back[turn].send(batch);
            if let Err(error) = visited {
                outcome = Err(error);
                break;
            }
        }
        drop(results);
        drop(give_back);
        // Every thread is joined (no short cut), so none outlives this read.
        let mut panic = None;
        for thread in threads {
            if let Err(payload) = thread.join() {
                panic.get_or_insert(payload);
            }
        }
        Some((outcome, panic))
    });
    match ran {
        // An error came first in log order: a sequential read would have stopped there too.
        Some((Err(error), _)) => Err(error),
        // A thread panicked on a chunk the visitor had not reached yet: a bug, which a
        // sequential read would have met on this thread.
        Some((Ok(()), Some(payload))) => std::panic::resume_unwind(payload),
        Some((Ok(()), None)) => Ok(()),
        None => {
            log::warn!("incidents: could not start threads to read the log; reading on one");
            decode_stretches(stretches, &mut |id, v, e| visit(id, Version::new(v), &e))
        }
    }
}

/// A worker: decodes each chunk it is dealt into a batch of events and sends it back, until
/// its chunks run out, its first error (sent with the events decoded before it, then it
/// stops), or the visitor stopped.
fn decode_chunks(
    stretches: &[Stretch],
    work: &mpsc::Receiver<Result<Chunk>>,
    done: &mpsc::SyncSender<Decoded>,
    spares: &mpsc::Receiver<Vec<Event3>>,
) {
    while let Ok(chunk) = work.recv() {
        let mut batch = spares.try_recv().unwrap_or_default();
        let ended = chunk.and_then(|chunk| {
            let path = stretches
                .get(chunk.stretch)
                .map_or(Path::new(""), |s| s.path.as_path());
            let mut pos = 0;
            while pos < chunk.bytes.len() {
                let at = chunk.offset + pos as u64;
                pos += decode_frame_events(&chunk.bytes[pos..], path, at, &mut |id, v, e| {
                    batch.push((id, v, e));
                    Ok(())
                })?;
            }
            Ok(())
        });
        let failed = ended.is_err();
        if done.send((batch, ended.err())).is_err() || failed {
            return;
        }
    }
}

/// The splitting thread: reads each stretch in chunks of whole frames and deals them to the
/// workers in turn. A read error is dealt in its turn, and ends the read.
fn split(stretches: &[Stretch], deal: &[mpsc::SyncSender<Result<Chunk>>], chunk: usize) {
    let mut turn = (0..deal.len()).cycle();
    let mut send = |item: Result<Chunk>| {
        turn.next()
            .and_then(|t| deal.get(t))
            .is_some_and(|to| to.send(item).is_ok())
    };
    for (index, stretch) in stretches.iter().enumerate() {
        // The start of a frame the previous read cut, and where it lies.
        let mut carry = Vec::new();
        let mut at = stretch.from;
        let mut read_to = stretch.from;
        while at < stretch.to {
            let mut bytes = Vec::with_capacity(chunk.max(carry.len()));
            bytes.append(&mut carry);
            if let Err(error) = read_whole_frames(stretch, &mut bytes, &mut read_to, chunk) {
                send(Err(error));
                return;
            }
            let whole = whole_frames(&bytes);
            if whole == 0 {
                // Nothing whole: a damaged header, or a frame cut by the end. The worker
                // decoding it says which, at its offset, and that error ends the read.
                send(Ok(Chunk {
                    stretch: index,
                    offset: at,
                    bytes,
                }));
                return;
            }
            carry = bytes.split_off(whole);
            let len = bytes.len() as u64;
            if !send(Ok(Chunk {
                stretch: index,
                offset: at,
                bytes,
            })) {
                return;
            }
            at += len;
        }
    }
}

/// Reads on into `bytes` (which hold the stretch from some frame's start up to `read_to`)
/// until they hold at least one whole frame and about `chunk` bytes, the stretch ends, or
/// the first frame's header is damaged.
fn read_whole_frames(
    stretch: &Stretch,
    bytes: &mut Vec<u8>,
    read_to: &mut u64,
    chunk: usize,
) -> Result<()> {
    loop {
        let want = if bytes.len() < format::FRAME_HEADER_LEN {
            chunk
        } else {
            match format::frame_len(bytes) {
                Some(len) => len.max(chunk),
                None => return Ok(()),
            }
        };
        let left = stretch.to - *read_to;
        let more = u64::try_from(want.saturating_sub(bytes.len()))
            .unwrap_or(u64::MAX)
            .min(left);
        if more > 0 {
            let old = bytes.len();
            let more = usize::try_from(more).map_err(|_| too_large(&stretch.path))?;
            bytes.resize(old + more, 0);
            read_exact_at(&stretch.file, &mut bytes[old..], *read_to)
                .map_err(|e| io_error("read", &stretch.path, e))?;
            *read_to += more as u64;
        }
        if *read_to == stretch.to || whole_frames(bytes) > 0 {
            return Ok(());
        }
    }
}

/// Where the whole frames at the start of `bytes` end (0: not even one).
fn whole_frames(bytes: &[u8]) -> usize {
    let mut pos = 0;
    while let Some(len) = bytes.get(pos..).and_then(format::frame_len) {
        if pos + len > bytes.len() {
            break;
        }
        pos += len;
    }
    pos
}

fn too_large(path: &Path) -> Error {
    io_error(
        "read",
        path,
        std::io::Error::other("too large to hold in memory"),
    )
}

/// How many bytes a [`ChunkReader`] reads at a time.
const SCAN_CHUNK: usize = 1 << 20;

/// Reads a segment's frames from `offset` to `len` through a reused buffer.
pub(crate) struct ChunkReader<'a> {
    pub(super) file: &'a File,
    pub(super) path: &'a Path,
    /// Where the segment's frames end (its durable length).
    pub(super) len: u64,
    /// Bytes read and not yet consumed are `buf[start..]`.
    pub(super) buf: &'a mut Vec<u8>,
    pub(super) start: usize,
    /// The segment offset of `buf[start]`: the next frame.
    pub(super) offset: u64,
}

impl ChunkReader<'_> {
    /// The bytes from the next frame on: the whole frame if its header is intact and it ends
    /// by `len`, else all that is left before `len` (for [`decode_frame_events`] to refuse as
    /// its whole-segment read did).
    pub(super) fn frame(&mut self) -> Result<&[u8]> {
        let left = self.len - self.offset;
        let have = self.buf.len() - self.start;
        let need = if have < format::FRAME_HEADER_LEN {
            format::FRAME_HEADER_LEN
        } else {
            format::frame_len(&self.buf[self.start..]).unwrap_or(format::FRAME_HEADER_LEN)
        };
        let want = u64::try_from(need).unwrap_or(u64::MAX).min(left);
        if (have as u64) < want {
            self.fill(want)?;
            // The header is now whole (or all there is), so the frame's length is known.
            let have = self.buf.len() - self.start;
            if let Some(need) = format::frame_len(&self.buf[self.start..])
                && have < need
                && (have as u64) < left
            {
                self.fill(u64::try_from(need).unwrap_or(u64::MAX).min(left))?;
            }
        }
        Ok(&self.buf[self.start..])
    }

    /// Reads on until at least `want` bytes (no more than are left) follow `start`.
    fn fill(&mut self, want: u64) -> Result<()> {
        let have = self.buf.len() - self.start;
        let left = self.len - self.offset;
        let want = usize::try_from(want).map_err(|_| self.too_large())?;
        let target = want.max(SCAN_CHUNK);
        let target = usize::try_from(left).map_or(target, |left| target.min(left));
        self.buf.drain(..self.start);
        self.start = 0;
        self.buf.resize(target, 0);
        let at = self.offset + have as u64;
        read_exact_at(self.file, &mut self.buf[have..], at)
            .map_err(|e| io_error("read", self.path, e))
    }

    pub(super) fn consume(&mut self, used: usize) {
        self.start += used;
        self.offset += used as u64;
    }

    fn too_large(&self) -> Error {
        too_large(self.path)
    }
}

/// Checks and decodes the frame at the start of `bytes` (found at `offset` of `path`), calling
/// `each` per event. Returns the frame's length.
pub(crate) fn decode_frame_events(
    bytes: &[u8],
    path: &Path,
    offset: u64,
    each: &mut dyn FnMut(IncidentId, u64, Event) -> Result<()>,
) -> Result<usize> {
    let corrupt = |reason: String| Error::Corrupt {
        path: path.to_path_buf(),
        offset,
        reason,
    };
    let (schema, body, len) = match format::read_frame(bytes) {
        format::FrameRead::Frame { schema, body, len } => (schema, body, len),
        format::FrameRead::Incomplete => {
            return Err(corrupt("frame is cut short".into()));
        }
        format::FrameRead::Damaged(reason) => return Err(corrupt(reason)),
    };
    let mut failure = None;
    format::for_each_group(body, |group, events| {
        for (n, raw) in events.enumerate() {
            let version = group
                .first_version
                .checked_add(n as u64)
                .ok_or_else(|| format!("incident {} has more versions than count", group.id))?;
            let event = format::decode_event(schema, raw)
                .map_err(|e| format!("incident {} event {version}: {e}", group.id))?;
            if let Err(error) = each(group.id, version, event) {
                failure = Some(error);
                return Err(String::new());
            }
        }
        Ok(())
    })
    .map_err(|reason| failure.take().unwrap_or_else(|| corrupt(reason)))?;
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::Write;

    /// An event whose JSON is `pad` bytes longer than the shortest, so frames vary in length.
    fn event(n: usize, pad: usize) -> Event {
        let json = format!(
            r#"{{"at":"2026-11-27T12:00:00Z","actor":{{"id":"a{n}","name":"{}","role":"owner"}},"change":{{"type":"acknowledged"}}}}"#,
            "x".repeat(pad % 100 + 1)
        );
        crate::store::schema::decode(format::SCHEMA_VERSION, json.as_bytes()).unwrap()
    }

    /// What a read saw: every event visited, then how it ended.
    #[derive(Debug, PartialEq)]
    struct Seen {
        events: Vec<(IncidentId, Version, Event)>,
        end: std::result::Result<(), String>,
    }

    /// Reads `stretches` sequentially or pipelined, the visitor failing at event `fail_at`.
    fn read(stretches: &[Stretch], pipeline: Option<(usize, usize)>, fail_at: usize) -> Seen {
        let mut events = Vec::new();
        let mut visit = |id, version, event: &Event| {
            if events.len() == fail_at {
                return Err(Error::Backend {
                    backend: "test",
                    op: "visit",
                    source: "the visitor refused".into(),
                });
            }
            events.push((id, version, event.clone()));
            Ok(())
        };
        let end = match pipeline {
            None => decode_stretches(stretches, &mut |id, v, e| visit(id, Version::new(v), &e)),
            Some((workers, chunk)) => pipelined(stretches, workers, chunk, &mut visit),
        };
        Seen {
            events,
            end: end.map_err(|e| e.to_string()),
        }
    }

    /// Writes `files` segments of frames (each frame a few events of a few incidents) and
    /// returns their stretches.
    fn write_log(dir: &Path, frames: &[(u8, usize, usize)], files: usize) -> Vec<Stretch> {
        let per_file = frames.len().div_ceil(files.max(1)).max(1);
        let mut versions = std::collections::HashMap::new();
        let mut stretches = Vec::new();
        for (n, part) in frames.chunks(per_file).enumerate() {
            let path = dir.join(format!("segment-{n}"));
            let mut bytes = vec![0u8; format::FILE_HEADER_LEN];
            for &(incident, count, pad) in part {
                let id = IncidentId::from_bytes([incident % 5; 16]);
                let first: &mut u64 = versions.entry(id).or_insert(1);
                let events: Vec<Event> = (0..count.max(1)).map(|i| event(i, pad)).collect();
                format::encode_frame(&mut bytes, &[(id, *first, &events)]).unwrap();
                *first += events.len() as u64;
            }
            std::fs::File::create(&path)
                .unwrap()
                .write_all(&bytes)
                .unwrap();
            stretches.push(Stretch {
                file: Arc::new(File::open(&path).unwrap()),
                path,
                from: format::FILE_HEADER_LEN as u64,
                to: bytes.len() as u64,
            });
        }
        stretches
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// The pipelined read visits the same events in the same order as the sequential
        /// one, and ends the same way: at the same damaged byte, at a stretch cut inside a
        /// frame, or at the visitor's own error.
        #[test]
        fn pipelined_reads_like_the_sequential_read(
            frames in prop::collection::vec((0u8..5, 1usize..8, 0usize..100), 1..60),
            files in 1usize..4,
            workers in 1usize..5,
            chunk in 64usize..4096,
            flip in prop::option::of((any::<prop::sample::Index>(), any::<prop::sample::Index>(), 1u8..=255)),
            cut in prop::option::of(any::<prop::sample::Index>()),
            fail_at in 0usize..200,
            empty in prop::option::of((any::<prop::sample::Index>(), 0u64..32)),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let mut stretches = write_log(dir.path(), &frames, files);
            if let Some((file, at, xor)) = flip {
                let stretch = &stretches[file.index(stretches.len())];
                let mut bytes = std::fs::read(&stretch.path).unwrap();
                let span = usize::try_from(stretch.to - stretch.from).unwrap();
                let at = format::FILE_HEADER_LEN + at.index(span);
                bytes[at] ^= xor;
                std::fs::write(&stretch.path, &bytes).unwrap();
            }
            if let Some(at) = cut {
                let last = stretches.last_mut().unwrap();
                let span = last.to - last.from;
                last.to = last.from + 1 + at.index(usize::try_from(span).unwrap()) as u64;
            }
            if let Some((at, to)) = empty {
                // A fresh segment (nothing after its header), or one shorter than a header.
                let path = dir.path().join("empty");
                std::fs::write(&path, [0u8; format::FILE_HEADER_LEN]).unwrap();
                let at = at.index(stretches.len() + 1);
                stretches.insert(at, Stretch {
                    file: Arc::new(File::open(&path).unwrap()),
                    path,
                    from: format::FILE_HEADER_LEN as u64,
                    to: to.min(format::FILE_HEADER_LEN as u64),
                });
            }
            let sequential = read(&stretches, None, fail_at);
            let pipelined = read(&stretches, Some((workers, chunk)), fail_at);
            prop_assert_eq!(pipelined, sequential);
        }
    }

    #[test]
    fn a_long_read_takes_the_pipeline_and_reads_everything() {
        let dir = tempfile::tempdir().unwrap();
        let frames: Vec<(u8, usize, usize)> = (0..20_000u32)
            .map(|n| (u8::try_from(n % 5).unwrap(), 1, 99))
            .collect();
        let stretches = write_log(dir.path(), &frames, 3);
        let bytes: u64 = stretches.iter().map(|s| s.to - s.from).sum();
        assert!(
            bytes >= PIPELINE_FROM,
            "{bytes} bytes is below the pipeline's threshold"
        );
        let mut count = 0u64;
        let mut versions = std::collections::HashMap::new();
        visit_stretches(&stretches, Some(2), &mut |id, version, _| {
            let last = versions.entry(id).or_insert(Version::ZERO);
            assert_eq!(version, last.next(), "events of {id} out of order");
            *last = version;
            count += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(count, 20_000);
    }
}
