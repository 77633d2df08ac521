//! The durable file backend: a directory of checksummed, append-only segment files.
//!
//! See [`FileStore`] for the guarantees and `format.rs` for the bytes on disk (public, as
//! `store::file::format`, only with the `testing` feature or under `cfg(fuzzing)`).

// The raw segment format is public only for tests and fuzzing: hosts read stores through
// `FileStore`, and the bytes may change with the schema.
mod backup;
mod checkpoint;
#[cfg(any(fuzzing, feature = "testing"))]
pub mod format;
#[cfg(not(any(fuzzing, feature = "testing")))]
mod format;
mod io;
mod read;
mod recovery;
mod snapshot;

pub use backup::{
    BackupManifest, INCOMPLETE_MARKER, MANIFEST_FILE, ManifestSegment, Problem, VerifyReport,
};
pub use checkpoint::CHECKPOINT_FILE;
pub use snapshot::SNAPSHOT_FILE;

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use serde::Serialize;

use crate::error::{Conflict, Error, Invalid, Result};
use crate::id_hash::IdMap;
use crate::lifecycle::Event;
use crate::model::IncidentId;
use crate::store::{Append, FeedItem, LogPoint, Store, Version};

#[cfg(feature = "testing")]
pub use io::FaultHook;
#[cfg(not(feature = "testing"))]
use io::FaultHook;

use io::{Io, io_error, open_rw, read_exact_at, segment_path};
use read::{ChunkReader, Stretch, decode_frame_events};
use recovery::{FramePos, Stream, TailKind};

/// The default size at which a new segment is started: 64 MiB.
pub const DEFAULT_SEGMENT_BYTES: u64 = 64 << 20;

/// By default a store writes an index checkpoint when it is dropped if at least this many
/// bytes (16 MiB) were added to its log since the last one: see
/// [`FileStoreOptions::checkpoint_on_close_after`].
pub const DEFAULT_CLOSE_CHECKPOINT_BYTES: u64 = 16 << 20;

/// How hard an append works to make its events survive a crash.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Durability {
    /// Every append is flushed to stable storage (fdatasync) before it returns `Ok`; appends
    /// arriving together share one flush. Survives `kill -9` and power loss. The default.
    #[default]
    Flush,
    /// Appends are written to the operating system but not flushed. Survives a crash of the
    /// process (`kill -9`), **not** a crash of the machine or a power loss, which can lose the
    /// most recent appends (never tear one: a torn tail is cut on open). For simulations and
    /// hosts that accept that trade.
    Buffered,
}

/// Options for [`FileStore::open_with`].
#[derive(Debug, Clone)]
pub struct FileStoreOptions {
    durability: Durability,
    segment_bytes: u64,
    scan_threads: Option<usize>,
    close_checkpoint_bytes: u64,
    fault_hook: Option<Arc<dyn FaultHook>>,
}

impl Default for FileStoreOptions {
    fn default() -> Self {
        FileStoreOptions {
            durability: Durability::Flush,
            segment_bytes: DEFAULT_SEGMENT_BYTES,
            scan_threads: None,
            close_checkpoint_bytes: DEFAULT_CLOSE_CHECKPOINT_BYTES,
            fault_hook: None,
        }
    }
}

impl FileStoreOptions {
    /// The defaults: [`Durability::Flush`], segments of [`DEFAULT_SEGMENT_BYTES`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the durability.
    #[must_use]
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Starts a new segment once the current one holds this many bytes (at least 4 KiB).
    /// A single append larger than this goes into a segment of its own.
    #[must_use]
    pub fn segment_bytes(mut self, bytes: u64) -> Self {
        self.segment_bytes = bytes.max(4096);
        self
    }

    /// Sets how many threads may decode a long read of the log (more than 4 MiB: a desk's
    /// replay when it starts, a tail after a snapshot, an export), while the calling thread
    /// folds what they decoded, in log order. 0 or 1: the calling thread reads alone. The
    /// default is the machine's cores, at most 4; a host that must not start threads, or
    /// shares a small machine with other work, can lower it (more than 64 counts as 64, and a
    /// read never starts more workers than it has 256 KiB pieces to give them). What a read
    /// returns is the same either way; if the threads cannot be started, the calling thread
    /// reads alone.
    #[must_use]
    pub fn scan_threads(mut self, threads: usize) -> Self {
        self.scan_threads = Some(threads);
        self
    }

    /// When the store is dropped (a clean shutdown), writes an index checkpoint
    /// ([`CHECKPOINT_FILE`]) if at least `bytes` were added to the log since the last one —
    /// written by [`Store::save_snapshot`], by an earlier close, or found at open — so that
    /// the next open reads only the log after it. The default is
    /// [`DEFAULT_CLOSE_CHECKPOINT_BYTES`]; `u64::MAX` never writes one at close. Reading a
    /// few MiB at open costs milliseconds, so a small store is not worth the flushes.
    ///
    /// A store opened read-only, poisoned by a failed write, or with a repair still pending
    /// writes none. Writing it can fail (a full disk): that is logged, and the next open
    /// reads more of the log.
    #[must_use]
    pub fn checkpoint_on_close_after(mut self, bytes: u64) -> Self {
        self.close_checkpoint_bytes = bytes;
        self
    }

    /// Routes every write and flush through `hook`, which may make them fail: for a host's own
    /// tests of what happens when the disk fails. Only with the `testing` feature.
    #[cfg(feature = "testing")]
    #[must_use]
    pub fn fault_hook(mut self, hook: Arc<dyn FaultHook>) -> Self {
        self.fault_hook = Some(hook);
        self
    }
}

/// What opening a store found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct OpenReport {
    /// Segment files.
    pub segments: usize,
    /// Complete frames (appends) found.
    pub frames: u64,
    /// Events found.
    pub events: u64,
    /// Incidents found.
    pub incidents: usize,
    /// An unfinished final write (a crash interrupted it) that was left out: cut and saved to
    /// quarantine, or only left out in memory (read-only, or `deferred`).
    pub torn_tail: Option<TornTail>,
    /// A complete final frame that failed its checksum and was set aside (saved to
    /// quarantine and cut, or only left out in memory): possibly an acknowledged append on a
    /// failed sector. Logged at warn level with the quarantine file's path.
    pub damaged_tail: Option<DamagedTail>,
    /// Whether the store was opened read-only: by [`FileStore::open_read_only`], or by
    /// [`FileStore::open`] falling back to it (see `read_only_because`). Writes are refused
    /// with [`Error::ReadOnly`].
    pub read_only: bool,
    /// Why [`FileStore::open`] fell back to read-only: the lock file could not be opened for
    /// writing (read-only media, a full disk, no permission). Reopen once that is fixed.
    pub read_only_because: Option<String>,
    /// A repair the open could not write (a full disk, read-only media): the store is readable
    /// as if it had been made, and the first write makes it (or fails with its error; a failed
    /// flush poisons the store, see [`Error::Poisoned`]). The report describes the open: it
    /// is not updated when the first write makes the repair (that is logged, with the
    /// quarantine path).
    pub deferred: Option<Deferred>,
    /// The backup manifest found in the directory, if it is (or was restored from) a backup
    /// made by [`FileStore::backup`]; its segment lengths were checked.
    pub backup: Option<BackupManifest>,
    /// Bytes of the log (segment headers aside) that an index checkpoint vouched for, so
    /// the open did not read them: 0 when it read and checked every frame. The checkpoint is
    /// written by [`Store::save_snapshot`] and used only when the log before its point is
    /// unchanged (see [`CHECKPOINT_FILE`]); the frames it covers have their checksums
    /// checked when they are read (a damaged one is [`Error::Corrupt`] then), and
    /// [`FileStore::verify`] checks every frame.
    pub vouched_bytes: u64,
}

/// An interrupted final write found on open: a frame cut short, or zero bytes the file system
/// never filled. An append returns only after its frame is complete and flushed, so such bytes
/// were never acknowledged — with one limit no store can see past: a final frame zeroed from
/// its first byte by a failed sector looks exactly like a write that never reached the disk.
/// (Inside a backup's manifest it is reported as a [`DamagedTail`] instead.) The bytes are kept
/// in the quarantine directory all the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct TornTail {
    /// The segment it was in.
    pub path: PathBuf,
    /// Where the incomplete frame started; the segment now ends here (or, if it was not cut
    /// yet, will end here).
    pub offset: u64,
    /// How many bytes were left out.
    pub bytes: u64,
    /// Where the cut bytes were saved; `None` if they were not cut (a read-only open, a
    /// [`verify`](FileStore::verify), or a cut deferred to the first write).
    pub saved_to: Option<PathBuf>,
}

/// A complete final frame whose body failed its checksum, set aside on open.
///
/// The rule, the same everywhere: the last frame of the newest segment, with an intact header
/// and a body that reaches the end of the file (or is followed only by zero bytes), whose body
/// checksum does not match, is left out of the store and its bytes are copied to quarantine
/// before the segment is cut. It may be a write a crash interrupted after the file had grown,
/// or an acknowledged append on a failed sector; the store cannot tell which, so it keeps the
/// bytes, says so here and logs it at warn level. Damage anywhere else is
/// [`Error::Corrupt`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DamagedTail {
    /// The segment it was in.
    pub path: PathBuf,
    /// Where the frame started.
    pub offset: u64,
    /// How many bytes were set aside (the frame and any zero bytes after it).
    pub bytes: u64,
    /// What failed.
    pub reason: String,
    /// Where the bytes were saved; `None` if they were not cut (as for [`TornTail::saved_to`]).
    pub saved_to: Option<PathBuf>,
}

/// A repair an open could not write, deferred to the first write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Deferred {
    /// What could not be done, e.g. "cut the torn tail".
    pub what: String,
    /// The error that stopped it (e.g. "No space left on device (os error 28)").
    pub error: String,
}

/// What [`FileStore::repair`] moved aside.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RepairReport {
    /// Each damaged range, in the order found. Empty if the store was healthy.
    pub quarantined: Vec<Quarantined>,
}

/// A range of a segment moved into the quarantine directory by a repair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Quarantined {
    /// The segment the bytes came from.
    pub path: PathBuf,
    /// Where in it the moved range started.
    pub offset: u64,
    /// How many bytes were moved.
    pub bytes: u64,
    /// Why: the damage found there.
    pub reason: String,
    /// Where the bytes are now.
    pub saved_to: PathBuf,
}

/// What [`FileStore::backup`] wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct BackupReport {
    /// The backup directory (open it with [`FileStore::open`] to restore).
    pub dir: PathBuf,
    /// Segment files copied.
    pub segments: usize,
    /// Bytes copied.
    pub bytes: u64,
}

/// The name of the lock file in a store directory.
pub const LOCK_FILE: &str = "LOCK";
/// The name of the directory, inside a store directory, where damaged or torn bytes are kept.
pub const QUARANTINE_DIR: &str = "quarantine";

/// A durable [`Store`] in a directory of append-only segment files.
///
/// # Guarantees
///
/// - **Acknowledged means durable.** With the default [`Durability::Flush`], `append` returns
///   `Ok` only after its bytes are flushed with fdatasync; creating a segment also flushes the
///   directory. Appends from many threads at once share one write and one flush (group
///   commit); [`append_batch`](Store::append_batch) writes many appends, atomically, with one.
/// - **Checked on the way in and out.** Every frame carries CRC-32 checksums of its header and
///   body. On open, every frame is checked; reads check again.
/// - **Torn tails are cut, damage is reported.** Two things may lie after the last complete
///   frame of the newest segment, and [`OpenReport`] tells them apart:
///   - an **unfinished write** (a frame cut short, or zero bytes the file system never
///     filled): never acknowledged; cut, saved into `quarantine/`, reported as
///     [`OpenReport::torn_tail`] and logged;
///   - a **complete final frame that fails its checksum** (its header intact, its body
///     reaching the end of the file or followed only by zeros): it may be a write a crash
///     interrupted after the file grew, or an acknowledged append on a failed sector, and the
///     store cannot tell which. It is **set aside**: saved into `quarantine/`, cut, reported
///     as [`OpenReport::damaged_tail`] and logged at warn level with the quarantine file's
///     path — never refused, so the shop can still read everything before it.
///
///   Damage anywhere else is [`Error::Corrupt`] with the file and byte offset; nothing is
///   skipped silently. [`FileStore::repair`] moves the damaged part aside and never deletes
///   a byte; [`FileStore::verify`] checks without changing anything.
/// - **Always readable.** If the open cannot write a repair (a full disk, read-only media),
///   it opens anyway and defers it to the first write ([`OpenReport::deferred`]);
///   [`FileStore::open_read_only`] takes no lock and writes nothing at all.
/// - **Backups cannot pass for complete.** [`FileStore::backup`] writes into a hidden
///   sibling, writes a manifest last and renames into place; an interrupted backup is
///   [`Error::IncompleteBackup`] when opened.
/// - **One writer.** The directory is locked with an OS file lock; a second open, from this
///   process or another, gets [`Error::Locked`]. Read-only opens take no lock.
/// - **After a failed write or flush** (a full disk, an I/O error) the append returns the
///   error and the store **refuses every later write** with [`Error::Poisoned`] until it is
///   reopened: after a failed fdatasync the kernel may have dropped the unflushed pages, so
///   nothing written afterwards could honestly be called durable. Reads keep working. The
///   failed append's events are not visible in this process; after reopening, recovery
///   reports exactly what is on disk: the failed append is either wholly present or wholly
///   absent, never in part.
///
/// ```
/// use incidents::store::FileStore;
/// # let dir = std::env::temp_dir().join(format!("incidents-doc-{}", std::process::id()));
/// # let _ = std::fs::remove_dir_all(&dir);
/// let store = FileStore::open(&dir)?;
/// assert_eq!(store.open_report().events, 0);
/// # drop(store);
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), incidents::Error>(())
/// ```
pub struct FileStore {
    dir: PathBuf,
    options: FileStoreOptions,
    io: Io,
    report: OpenReport,
    state: Mutex<State>,
    turn: Condvar,
    gather: Condvar,
    /// Serialises writers of the projection snapshot file.
    snapshot_lock: Mutex<()>,
    /// The directory's lock; `None` when opened read-only.
    _lock: Option<DirLock>,
}

impl std::fmt::Debug for FileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileStore")
            .field("dir", &self.dir)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
struct Segment {
    path: PathBuf,
    file: Arc<File>,
    /// End of the last durable frame.
    durable_len: u64,
}

#[derive(Debug, Default)]
struct Pending {
    /// Encoded frames waiting for the next commit.
    bytes: Vec<u8>,
    /// For each frame in `bytes`: its length and the groups it holds.
    frames: Vec<(u32, Vec<(IncidentId, u64)>)>,
}

#[derive(Debug)]
struct State {
    index: IdMap<Stream>,
    segments: Vec<Segment>,
    pending: Pending,
    /// The commit that frames queued now will be part of.
    open_commit: u64,
    /// The last commit made durable.
    durable_commit: u64,
    /// Whether a thread is writing a commit right now.
    writing: bool,
    /// Set by a failed commit (or a panic while writing one): every later append fails.
    poisoned: Option<Poison>,
    /// A spare buffer, to avoid reallocating one per commit.
    spare: Vec<u8>,
    /// How many frames the last commit carried, and how long its write and flush took: a
    /// new leader waits a little for as many appenders to come back (see `wait_durable`).
    last_commit_frames: usize,
    last_flush: std::time::Duration,
    /// Frames and events durably in the log (for index checkpoints).
    durable_frames: u64,
    durable_events: u64,
    /// Bytes of frames durably in the log, and how many of them the last index checkpoint
    /// (written or found at open) covers.
    durable_bytes: u64,
    checkpointed_bytes: u64,
    /// Whether a leader is waiting for more frames (appenders then wake it).
    gathering: bool,
    /// Repairs of the tail the open could not write (a full disk): made before the first
    /// write, which fails with their error if they still cannot be made.
    fixups: Vec<Fixup>,
    /// Opened read-only: every write is refused.
    read_only: bool,
}

/// A repair of the newest segment that recovery found needed.
#[derive(Debug, Clone)]
enum Fixup {
    /// Save bytes `from..to` of the segment into quarantine, then cut it at `from`.
    Cut {
        segment: usize,
        from: u64,
        to: u64,
        damaged: bool,
    },
    /// Write the header of a segment a crash caught before its header was complete.
    Header { segment: usize, number: u32 },
}

impl Fixup {
    fn what(&self) -> &'static str {
        match self {
            Fixup::Cut { damaged: false, .. } => "cut the torn tail",
            Fixup::Cut { damaged: true, .. } => "set aside the damaged final frame",
            Fixup::Header { .. } => "complete the newest segment's header",
        }
    }
}

/// Why the store refuses writes: the failed write or flush, or `None` after a panic.
#[derive(Debug, Clone)]
struct Poison(Option<Arc<Error>>);

impl Poison {
    fn error(&self) -> Error {
        Error::Poisoned {
            cause: self.0.clone(),
        }
    }

    /// Keeps a copy of `error` as the cause (the original goes to the leader's caller): an
    /// I/O error keeps its operation, path, kind and operating-system code.
    fn of(error: &Error) -> Poison {
        let copy = match error {
            Error::Io { op, path, source } => Error::Io {
                op,
                path: path.clone(),
                source: match source.raw_os_error() {
                    Some(code) => std::io::Error::from_raw_os_error(code),
                    None => std::io::Error::new(source.kind(), source.to_string()),
                },
            },
            other => Error::Io {
                op: "commit",
                path: PathBuf::new(),
                source: std::io::Error::other(other.to_string()),
            },
        };
        Poison(Some(Arc::new(copy)))
    }
}

/// The leader's claim on the writer's seat while it writes without the state lock. If the
/// write panics (a fault hook may), dropping this on unwind gives the seat back, poisons the
/// store and wakes every waiter, so they fail with [`Error::Poisoned`] instead of waiting
/// forever. Disarmed with [`LeaderSeat::release`] once the write returned.
struct LeaderSeat<'a> {
    store: &'a FileStore,
    armed: bool,
}

impl LeaderSeat<'_> {
    fn release(mut self) {
        self.armed = false;
    }
}

impl Drop for LeaderSeat<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let mut state = lock_state(&self.store.state);
        state.writing = false;
        if state.poisoned.is_none() {
            log::error!(
                "incidents: store {} poisoned: a thread panicked while writing a commit",
                self.store.dir.display()
            );
            state.poisoned = Some(Poison(None));
        }
        drop(state);
        self.store.turn.notify_all();
    }
}

/// The bytes of frames in `segments` (their durable lengths, headers aside).
fn frame_bytes(segments: &[Segment]) -> u64 {
    segments
        .iter()
        .map(|s| s.durable_len.saturating_sub(format::FILE_HEADER_LEN as u64))
        .sum()
}

impl Drop for FileStore {
    fn drop(&mut self) {
        // While a panic unwinds, a second one here would abort the process: the checkpoint
        // only saves time, so it is left for the next clean close.
        if std::thread::panicking() {
            return;
        }
        if let Err(error) = self.checkpoint_on_close() {
            log::warn!(
                "incidents: store {}: no index checkpoint written at close ({error}); the next \
                 open reads the log after the last one",
                self.dir.display()
            );
        }
    }
}

fn lock_state(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // Every update of `State` is completed before the guard is dropped and none of them can
    // panic halfway, so a poisoned mutex still holds consistent state.
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl FileStore {
    /// Opens (or creates) the store in `dir` with default options, recovering after a crash.
    ///
    /// The open reads and checks every frame, unless the directory holds an index checkpoint
    /// ([`CHECKPOINT_FILE`], written by [`Store::save_snapshot`]) that still matches the log:
    /// then it takes the index up to the checkpoint's point from it and reads only the frames
    /// after it, under the same rules ([`OpenReport::vouched_bytes`]).
    ///
    /// # Errors
    /// [`Error::Locked`] if another instance has it open; [`Error::Corrupt`] if a segment is
    /// damaged before its end (see [`FileStore::repair`]); [`Error::Io`].
    pub fn open(dir: impl AsRef<Path>) -> Result<FileStore> {
        Self::open_with(dir, FileStoreOptions::default())
    }

    /// Opens (or creates) the store in `dir` with `options`.
    ///
    /// If the open finds a repair to make (a torn tail to cut, a damaged final frame to set
    /// aside, a half-written segment header) but cannot write it — a full disk, read-only
    /// media — it still opens: the store reads as if the repair had been made,
    /// [`OpenReport::deferred`] says what is pending and why, and the first write makes it
    /// (or fails with its error, changing nothing). If the directory's lock file cannot be
    /// opened for writing at all (read-only media, a full disk with no `LOCK` yet, no
    /// permission), the store opens read-only instead: [`OpenReport::read_only_because`] says
    /// why, and writes fail with [`Error::ReadOnly`].
    ///
    /// # Errors
    /// As [`FileStore::open`]; also [`Error::IncompleteBackup`] if `dir` holds a backup that
    /// never finished, or is empty while an unfinished backup into it lies beside it.
    pub fn open_with(dir: impl AsRef<Path>, options: FileStoreOptions) -> Result<FileStore> {
        let dir = dir.as_ref().to_path_buf();
        let io = Io::new(options.fault_hook.clone());
        refuse_unfinished_backup_into(&dir)?;
        if dir.join(INCOMPLETE_MARKER).exists() {
            // Refused before the lock is taken, so nothing is written into a partial copy.
            backup::check_backup(&dir)?;
        }
        std::fs::create_dir_all(&dir).map_err(|e| io_error("create directory", &dir, e))?;
        let lock = match take_lock(&dir) {
            Ok(lock) => lock,
            Err(Error::Io { source, .. }) if cannot_write(&source) => {
                // Read-only media, a full disk, no permission: show the data all the same.
                log::warn!(
                    "incidents: store {} cannot be opened for writing ({source}); opened \
                     read-only",
                    dir.display()
                );
                let mut store = Self::open_read_only(&dir)?;
                store.report.read_only_because = Some(source.to_string());
                store.options = options;
                return Ok(store);
            }
            Err(other) => return Err(other),
        };
        let manifest = backup::check_backup(&dir)?;
        let checkpoint = checkpoint::load(&dir);
        let had_checkpoint = checkpoint.is_some();
        let mut scanned = match recovery::scan_from(&dir, checkpoint)? {
            Ok(scanned) => scanned,
            Err(damage) => return Err(damage.into_error()),
        };
        if had_checkpoint
            && scanned.vouched == 0
            && let Err(error) = checkpoint::remove(&io, &dir)
        {
            // A checkpoint that does not fit the log is only read and refused again.
            log::warn!(
                "incidents: store {}: could not remove an index checkpoint that does not fit \
                 its log ({error})",
                dir.display()
            );
        }
        vouched_tail(&mut scanned, manifest.as_ref());
        let mut report = report_of(&scanned);
        report.backup = manifest;
        let (mut segments, mut fixups) = open_segments(&scanned, false)?;
        if segments.is_empty() {
            segments.push(create_segment(&io, &dir, 1, 0)?);
        }
        let mut poisoned = None;
        match apply_fixups(&io, &dir, &mut segments, &mut fixups) {
            Ok(saved) => note_saved(&mut report, &saved),
            Err((saved, error)) => {
                if is_failed_flush(&error) {
                    poisoned = Some(Poison::of(&error));
                }
                note_saved(&mut report, &saved);
                let what = fixups.first().map_or("repair", Fixup::what);
                log::warn!(
                    "incidents: store {} opened, but could not {what} ({error}); it reads as if \
                     done, and the first write will retry",
                    dir.display()
                );
                report.deferred = Some(Deferred {
                    what: what.to_owned(),
                    error: error.to_string(),
                });
            }
        }
        let store = Self::assemble(
            dir,
            options,
            io,
            report,
            scanned.index,
            segments,
            fixups,
            Some(lock),
        );
        // A repair whose flush failed: readable, but no write may follow it (reopen).
        lock_state(&store.state).poisoned = poisoned;
        Ok(store)
    }

    /// Opens the store in `dir` for reading only: takes no lock, writes nothing (not even the
    /// lock file), and refuses every write with [`Error::ReadOnly`]. Works on read-only media,
    /// on a backup, on a copy, and on a directory another process has open for writing.
    ///
    /// The view is what the directory held when the open read it: every append acknowledged
    /// before the open began, and possibly some completed while it ran; it does not follow
    /// later appends (open again to see them). A torn tail or a damaged final frame is left
    /// out in memory and reported in the [`OpenReport`] with `saved_to: None`; nothing is cut.
    /// (On a directory being written, the frame being written at that moment may show up as
    /// either.)
    ///
    /// ```
    /// use incidents::store::{FileStore, Store};
    /// # let dir = std::env::temp_dir().join(format!("incidents-doc-ro-{}", std::process::id()));
    /// # let _ = std::fs::remove_dir_all(&dir);
    /// # drop(FileStore::open(&dir)?);
    /// let store = FileStore::open_read_only(&dir)?;
    /// assert!(store.open_report().read_only);
    /// # let id = incidents::IncidentId::from_bytes([7; 16]);
    /// # let version = store.version(id)?;
    /// # assert!(matches!(store.append(id, version, &[]), Err(incidents::Error::ReadOnly { .. })));
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// # Ok::<(), incidents::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Io`] if `dir` does not exist or cannot be read; [`Error::Corrupt`] for damage
    /// before the end (see [`FileStore::repair`]); [`Error::IncompleteBackup`].
    pub fn open_read_only(dir: impl AsRef<Path>) -> Result<FileStore> {
        let dir = dir.as_ref().to_path_buf();
        refuse_unfinished_backup_into(&dir)?;
        let meta = std::fs::metadata(&dir).map_err(|e| io_error("open directory", &dir, e))?;
        if !meta.is_dir() {
            return Err(io_error(
                "open directory",
                &dir,
                std::io::Error::other("not a directory"),
            ));
        }
        let manifest = backup::check_backup(&dir)?;
        let mut scanned = match recovery::scan_from(&dir, checkpoint::load(&dir))? {
            Ok(scanned) => scanned,
            Err(damage) => return Err(damage.into_error()),
        };
        vouched_tail(&mut scanned, manifest.as_ref());
        let mut report = report_of(&scanned);
        report.backup = manifest;
        report.read_only = true;
        if let Some(tail) = &report.damaged_tail {
            log::warn!(
                "incidents: the final frame at offset {} of {} is complete but fails its \
                 checksum ({}); left out (read-only: nothing cut)",
                tail.offset,
                tail.path.display(),
                tail.reason
            );
        }
        let (segments, _) = open_segments(&scanned, true)?;
        let store = Self::assemble(
            dir,
            FileStoreOptions::default(),
            Io::default(),
            report,
            scanned.index,
            segments,
            Vec::new(),
            None,
        );
        lock_state(&store.state).read_only = true;
        Ok(store)
    }

    /// Checks the store or backup in `dir` without changing anything and without taking its
    /// lock (it may be open elsewhere): a backup's completeness and every range its manifest
    /// lists, every frame's checksums, every event's decoding.
    ///
    /// Problems are listed in the report, not returned as errors: a torn tail is a note
    /// (never acknowledged; opening cuts it), a damaged final frame or any other damage is a
    /// problem.
    ///
    /// # Errors
    /// [`Error::Io`] if the directory cannot be read.
    pub fn verify(dir: impl AsRef<Path>) -> Result<VerifyReport> {
        backup::verify(dir.as_ref())
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "one private constructor shared by the two opens"
    )]
    fn assemble(
        dir: PathBuf,
        options: FileStoreOptions,
        io: Io,
        report: OpenReport,
        index: IdMap<Stream>,
        segments: Vec<Segment>,
        fixups: Vec<Fixup>,
        lock: Option<DirLock>,
    ) -> FileStore {
        let durable_bytes = frame_bytes(&segments);
        FileStore {
            state: Mutex::new(State {
                index,
                segments,
                pending: Pending::default(),
                open_commit: 1,
                durable_commit: 0,
                writing: false,
                poisoned: None,
                spare: Vec::new(),
                last_commit_frames: 0,
                durable_frames: report.frames,
                durable_events: report.events,
                durable_bytes,
                checkpointed_bytes: report.vouched_bytes,
                last_flush: std::time::Duration::ZERO,
                gathering: false,
                fixups,
                read_only: false,
            }),
            turn: Condvar::new(),
            gather: Condvar::new(),
            snapshot_lock: Mutex::new(()),
            report,
            io,
            options,
            dir,
            _lock: lock,
        }
    }

    /// What opening found: counts, the tail that was cut or set aside, if any, and whether a
    /// repair was deferred.
    pub fn open_report(&self) -> &OpenReport {
        &self.report
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The number of incidents with durable events.
    pub fn incident_count(&self) -> usize {
        lock_state(&self.state)
            .index
            .values()
            .filter(|s| s.durable > 0)
            .count()
    }

    /// Writes a consistent copy of the store into `dest` (it must be empty or not exist),
    /// while other threads keep appending. The copy holds every append that was durable when
    /// the backup started, so for every incident a prefix of its events; open the copy with
    /// [`FileStore::open`] to restore it.
    ///
    /// A backup cannot pass for complete: it is written into a hidden sibling of `dest`
    /// (`.NAME.incomplete-backup`) holding the marker [`INCOMPLETE_MARKER`], the manifest
    /// [`MANIFEST_FILE`] (each segment's length and the CRC-32 of each copied MiB) is written
    /// last, everything is flushed, the directory renamed into place, and only then the marker
    /// removed. If the backup is interrupted, opening the partial copy — or `dest`, while the partial
    /// copy lies beside it — is [`Error::IncompleteBackup`]; [`FileStore::verify`] checks a
    /// backup against its manifest.
    ///
    /// # Errors
    /// [`Error::Invalid`] if `dest` is not empty; [`Error::Io`].
    pub fn backup(&self, dest: impl AsRef<Path>) -> Result<BackupReport> {
        self.backup_with_progress(dest, &mut |_, _| {})
    }

    /// [`FileStore::backup`], calling `progress(bytes copied, bytes to copy)` after each MiB
    /// copied: for a progress bar.
    ///
    /// # Errors
    /// As [`FileStore::backup`].
    pub fn backup_with_progress(
        &self,
        dest: impl AsRef<Path>,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<BackupReport> {
        // Segments only ever grow, and bytes below `durable_len` never change, so copying
        // those ranges after releasing the lock gives a consistent snapshot.
        let snapshot: Vec<(PathBuf, Arc<File>, u64)> = lock_state(&self.state)
            .segments
            .iter()
            .map(|s| (s.path.clone(), Arc::clone(&s.file), s.durable_len))
            .collect();
        backup::write_backup(&self.io, &snapshot, dest.as_ref(), progress)
    }

    /// Repairs a damaged store in `dir` (which must not be open): moves the first damaged
    /// frame and everything after it — the rest of that segment and every later segment — into
    /// `dir/quarantine/`, so that the store opens with every append before the damage. It also
    /// cuts what an open would cut (a torn tail, a damaged final frame), and sets aside a
    /// damaged backup manifest, or one the repaired segments no longer match. No byte is
    /// deleted; the quarantined files can be inspected or sent for recovery. Does nothing to a
    /// healthy store's log; it always removes the index checkpoint ([`CHECKPOINT_FILE`]), so
    /// the next open reads every frame.
    ///
    /// # Errors
    /// [`Error::Locked`] if the store is open; [`Error::IncompleteBackup`] for a backup that
    /// never finished (repair will not make a partial copy look whole); [`Error::Io`].
    pub fn repair(dir: impl AsRef<Path>) -> Result<RepairReport> {
        let dir = dir.as_ref();
        let io = Io::default();
        // Before the lock, which writes `LOCK`: an empty destination beside an unfinished
        // backup must stay refusable.
        refuse_unfinished_backup_into(dir)?;
        let _lock = take_lock(dir)?;
        if dir.join(INCOMPLETE_MARKER).exists() {
            // Repairing a partial copy would make it pass for a store.
            return Err(Error::IncompleteBackup {
                dir: dir.to_path_buf(),
                reason: format!(
                    "it holds {INCOMPLETE_MARKER}: the backup never finished, and repair will \
                     not make a partial copy look whole"
                ),
            });
        }
        // Repair trusts nothing but the log: an index checkpoint goes whether or not it is
        // sound (the next open writes none until a snapshot or a close does).
        checkpoint::remove(&io, dir)?;
        let mut report = RepairReport::default();
        match backup::check_backup(dir) {
            Ok(_) => {}
            // A damaged manifest vouches for nothing: set it aside.
            Err(Error::Corrupt { path, reason, .. }) if path == dir.join(MANIFEST_FILE) => {
                if let Some(saved_to) = backup::retire_manifest(&io, dir)? {
                    report.quarantined.push(Quarantined {
                        bytes: std::fs::metadata(&saved_to).map_or(0, |m| m.len()),
                        path,
                        offset: 0,
                        reason,
                        saved_to,
                    });
                }
            }
            // A backup whose segments are shorter than its manifest is a partial copy.
            Err(other) => return Err(other),
        }
        let mut rounds = 0usize;
        let scanned = loop {
            let damage = match recovery::scan(dir)? {
                Ok(scanned) => break scanned,
                Err(damage) => damage,
            };
            if rounds == 0 {
                // The store will no longer be the backup its manifest describes.
                backup::retire_manifest(&io, dir)?;
            }
            let listed = recovery::list_segments(dir)?;
            // Each round removes at least the damaged frame or a segment; a round that cannot
            // would repeat forever, so stop and say so.
            rounds += 1;
            if rounds > listed.len() + 2 {
                return Err(Error::Corrupt {
                    path: damage.path,
                    offset: damage.offset,
                    reason: format!("repair cannot move this damage aside: {}", damage.reason),
                });
            }
            // Segments after the damaged one move whole; the damaged one from the damage on.
            for (_, path) in listed.iter().skip(damage.segment + 1).rev() {
                let reason = format!("follows damage in {}", damage.path.display());
                report
                    .quarantined
                    .push(quarantine_whole(dir, path, reason)?);
            }
            // A missing segment: everything from where it should be on moves whole.
            if let Some((_, path)) = listed
                .get(damage.segment)
                .filter(|(_, p)| *p != damage.path)
            {
                report
                    .quarantined
                    .push(quarantine_whole(dir, path, damage.reason.clone())?);
            }
            if let Some((_, path)) = listed
                .get(damage.segment)
                .filter(|(_, p)| *p == damage.path)
            {
                let file = open_rw(path)?;
                let len = file
                    .metadata()
                    .map_err(|e| io_error("stat", path, e))?
                    .len();
                let saved_to = quarantine_copy(&io, dir, &file, path, damage.offset, len)?;
                file.set_len(damage.offset)
                    .map_err(|e| io_error("truncate", path, e))?;
                io.sync_data(&file, path)?;
                report.quarantined.push(Quarantined {
                    path: path.clone(),
                    offset: damage.offset,
                    bytes: len - damage.offset,
                    reason: damage.reason,
                    saved_to,
                });
            }
            io.sync_dir(dir)?;
        };
        if let Some(tail) = &scanned.tail {
            repair_tail(&io, dir, &scanned, tail, &mut report)?;
        }
        if !report.quarantined.is_empty() {
            log::warn!("incidents: repaired store {}: {:?}", dir.display(), report);
        }
        Ok(report)
    }

    /// The state lock, once every incident of `groups` that an index checkpoint vouched for
    /// has been read back and found to be what the index says (once per incident and open:
    /// the first append to it checks; a checkpoint wrong about it makes the append fail with
    /// [`Error::Corrupt`] instead of writing a version twice).
    fn verified_for(
        &self,
        groups: &[(IncidentId, Version, &[Event])],
    ) -> Result<MutexGuard<'_, State>> {
        loop {
            let state = lock_state(&self.state);
            if state.read_only || state.poisoned.is_some() {
                // The caller refuses the append with the reason.
                return Ok(state);
            }
            let unverified: Vec<IncidentId> = groups
                .iter()
                .map(|(id, _, _)| *id)
                .filter(|id| state.index.get(id).is_some_and(|s| s.unverified))
                .collect();
            if unverified.is_empty() {
                return Ok(state);
            }
            drop(state);
            for id in &unverified {
                self.events_of(*id)?;
            }
            let mut state = lock_state(&self.state);
            for id in &unverified {
                if let Some(stream) = state.index.get_mut(id) {
                    stream.unverified = false;
                }
            }
        }
    }

    /// Queues `groups` as one frame and waits until it is durable.
    #[allow(
        clippy::cast_possible_truncation,
        reason = "a frame is at most `MAX_BODY_LEN` (64 MiB) plus its header: `encode_frame` refuses longer ones"
    )]
    fn commit_frame(&self, groups: &[(IncidentId, Version, &[Event])]) -> Result<Vec<Version>> {
        let mut frame = Vec::new();
        let encoded: Vec<(IncidentId, u64, &[Event])> = groups
            .iter()
            .map(|(id, expected, events)| (*id, expected.get() + 1, *events))
            .collect();
        format::encode_frame(&mut frame, &encoded)
            .map_err(|rule| Error::Invalid(Invalid::new("events", rule)))?;

        let mut state = self.verified_for(groups)?;
        if state.read_only {
            return Err(Error::ReadOnly {
                dir: self.dir.clone(),
            });
        }
        if let Some(poison) = &state.poisoned {
            return Err(poison.error());
        }
        if !state.fixups.is_empty() {
            // No commit can be in flight: every append passes here first. Made under the
            // lock, so no other append starts meanwhile.
            let state = &mut *state;
            if let Err((_, error)) =
                apply_fixups(&self.io, &self.dir, &mut state.segments, &mut state.fixups)
            {
                if is_failed_flush(&error) {
                    // A cut whose flush failed may not be durable; nothing may be written
                    // after it (the next flush could "succeed" without it).
                    log::error!("incidents: store {} poisoned: {error}", self.dir.display());
                    state.poisoned = Some(Poison::of(&error));
                }
                return Err(error);
            }
        }
        // Check every version first (an append may name one incident twice), then reserve.
        let mut next: HashMap<IncidentId, u64> = HashMap::new();
        let mut versions = Vec::with_capacity(groups.len());
        for (id, expected, events) in groups {
            let actual = match next.get(id) {
                Some(v) => *v,
                None => state.index.get(id).map_or(0, |s| s.tentative),
            };
            if actual != expected.get() {
                return Err(Conflict {
                    incident: *id,
                    expected: *expected,
                    actual: Version::new(actual),
                }
                .into());
            }
            let after = actual + events.len() as u64;
            next.insert(*id, after);
            versions.push(Version::new(after));
        }
        let groups_meta: Vec<(IncidentId, u64)> = groups
            .iter()
            .filter(|(_, _, events)| !events.is_empty())
            .map(|(id, _, events)| (*id, events.len() as u64))
            .collect();
        if groups_meta.is_empty() {
            return Ok(versions);
        }
        for (id, after) in next {
            state.index.entry(id).or_default().tentative = after;
        }
        state.pending.bytes.extend_from_slice(&frame);
        state.pending.frames.push((frame.len() as u32, groups_meta));
        // Wake a gathering leader only when it has what it waits for: each wake-up on the
        // way is a context switch on the cores the other appenders need.
        if state.gathering && state.pending.frames.len() >= state.last_commit_frames {
            self.gather.notify_one();
        }
        let my_commit = state.open_commit;
        self.wait_durable(state, my_commit)?;
        Ok(versions)
    }

    /// Waits until commit `mine` is durable, writing it (and whatever queued with it) if no
    /// other thread is writing: leader/follower group commit.
    fn wait_durable<'a>(&'a self, mut state: MutexGuard<'a, State>, mine: u64) -> Result<()> {
        loop {
            if state.durable_commit >= mine {
                return Ok(());
            }
            if let Some(poison) = &state.poisoned {
                return Err(poison.error());
            }
            if state.writing {
                state = self
                    .turn
                    .wait(state)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                continue;
            }
            // Lead: take the writer's seat, gather, take everything queued as one commit.
            state.writing = true;
            state = self.gather(state);
            let (commit, pending, current) = take_commit(&mut state);
            drop(state);

            let seat = LeaderSeat {
                store: self,
                armed: true,
            };
            let started = std::time::Instant::now();
            let written = self.write_commit(&pending.bytes, current);
            let flush_time = started.elapsed();
            state = lock_state(&self.state);
            seat.release();

            state.writing = false;
            state.last_commit_frames = pending.frames.len();
            state.last_flush = flush_time;
            let result = self.publish(&mut state, commit, pending, written);
            self.turn.notify_all();
            return match result {
                Ok(()) if state.durable_commit >= mine => Ok(()),
                Ok(()) => continue,
                Err(error) => Err(error),
            };
        }
    }

    /// If the last commit carried several appenders' frames, they are probably on their way
    /// back with their next ones: the new leader waits for them a little (at most half a
    /// flush, at most 500 µs), so one flush serves them all instead of two flushes taking
    /// turns. A lone appender never waits.
    fn gather<'a>(&'a self, mut state: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        let expected = state.last_commit_frames;
        if expected <= 1
            || state.pending.frames.len() >= expected
            || self.options.durability != Durability::Flush
        {
            return state;
        }
        let window = (state.last_flush / 2).min(std::time::Duration::from_micros(500));
        let deadline = std::time::Instant::now() + window;
        state.gathering = true;
        while state.pending.frames.len() < expected {
            let now = std::time::Instant::now();
            if now >= deadline {
                break;
            }
            state = self
                .gather
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
        state.gathering = false;
        state
    }

    /// Publishes a written commit (durable versions, frame positions), or poisons the store
    /// if writing it failed.
    #[allow(
        clippy::cast_possible_truncation,
        reason = "segment numbers are `u32` in their names; the index is one less than a number"
    )]
    fn publish(
        &self,
        state: &mut State,
        commit: u64,
        pending: Pending,
        written: Result<(usize, u64, Option<Segment>)>,
    ) -> Result<()> {
        let result = match written {
            Ok((segment, base, new_segment)) => {
                if let Some(new_segment) = new_segment {
                    state.segments.push(new_segment);
                }
                let mut offset = base;
                for (len, groups) in &pending.frames {
                    let pos = FramePos {
                        segment: segment as u32,
                        len: *len,
                        offset,
                    };
                    state.durable_frames += 1;
                    for (id, count) in groups {
                        state.durable_events += count;
                        let stream = state.index.entry(*id).or_default();
                        stream.durable += count;
                        if stream.frames.last() != Some(&pos) {
                            stream.frames.push(pos);
                        }
                    }
                    offset += u64::from(*len);
                }
                state.durable_bytes += offset - base;
                if let Some(written) = state.segments.get_mut(segment) {
                    written.durable_len = offset;
                }
                state.durable_commit = commit;
                Ok(())
            }
            Err(error) => {
                log::error!("incidents: store {} poisoned: {error}", self.dir.display());
                state.poisoned = Some(Poison::of(&error));
                Err(error)
            }
        };
        let mut bytes = pending.bytes;
        bytes.clear();
        state.spare = bytes;
        result
    }

    /// Writes one commit at the end of the current segment (or of a new one) and flushes it.
    /// Returns the segment index, the offset the commit starts at, and the new segment if one
    /// was started.
    #[allow(
        clippy::cast_possible_truncation,
        reason = "segment numbers are `u32` in their names; the index is one less than a number"
    )]
    fn write_commit(
        &self,
        bytes: &[u8],
        (index, path, file, len): Current,
    ) -> Result<(usize, u64, Option<Segment>)> {
        let header = format::FILE_HEADER_LEN as u64;
        if len > header && len + bytes.len() as u64 > self.options.segment_bytes {
            // The new segment's header records the old one's length: make that length true
            // on disk first (with `Flush` every commit already is).
            if self.options.durability != Durability::Flush {
                self.io.sync_data(&file, &path)?;
            }
            let segment = create_segment(&self.io, &self.dir, index as u32 + 2, len)?;
            self.write_and_flush(&segment.file, &segment.path, bytes, header)?;
            return Ok((index + 1, header, Some(segment)));
        }
        self.write_and_flush(&file, &path, bytes, len)?;
        Ok((index, len, None))
    }

    fn write_and_flush(&self, file: &File, path: &Path, bytes: &[u8], at: u64) -> Result<()> {
        self.io.write_all_at(file, path, bytes, at)?;
        if self.options.durability == Durability::Flush {
            self.io.sync_data(file, path)?;
        }
        Ok(())
    }

    /// The durable frames of `id` and the segment files they are in.
    /// The durable frames of `id`, its durable event count, and the segment files.
    fn frames_of(&self, id: IncidentId) -> (Vec<FramePos>, u64, Files) {
        let state = lock_state(&self.state);
        // Frames queued but not yet durable are not in `frames`.
        let (frames, durable) = state
            .index
            .get(&id)
            .map(|s| (s.frames.clone(), s.durable))
            .unwrap_or_default();
        let files = state
            .segments
            .iter()
            .map(|s| (s.path.clone(), Arc::clone(&s.file)))
            .collect();
        (frames, durable, files)
    }

    /// Every durable event of `id`, read from its frames, checked to be exactly its versions
    /// `1..=durable` in order: an index that disagrees with the log (an index checkpoint
    /// wrong about it) is [`Error::Corrupt`], never a shorter or longer history.
    fn events_of(&self, id: IncidentId) -> Result<Vec<Event>> {
        let (frames, durable, files) = self.frames_of(id);
        let mut events = Vec::new();
        let mut buf = Vec::new();
        let mismatch = |path: &Path, offset: u64, what: String| Error::Corrupt {
            path: path.to_path_buf(),
            offset,
            reason: format!(
                "incident {id}: {what}; the store's index does not match its log (an index \
                 checkpoint that is wrong about it? `FileStore::repair` removes it)"
            ),
        };
        let mut last = (self.dir.clone(), 0);
        for pos in frames {
            let Some((path, file)) = files.get(pos.segment as usize) else {
                return Err(mismatch(
                    &self.dir,
                    pos.offset,
                    format!(
                        "a frame in segment index {} that does not exist",
                        pos.segment
                    ),
                ));
            };
            buf.resize(pos.len as usize, 0);
            read_exact_at(file, &mut buf, pos.offset).map_err(|e| io_error("read", path, e))?;
            decode_frame_events(&buf, path, pos.offset, &mut |incident, version, event| {
                if incident == id {
                    let expected = events.len() as u64 + 1;
                    if version != expected {
                        return Err(mismatch(
                            path,
                            pos.offset,
                            format!(
                                "the frame holds version {version} where {expected} comes next"
                            ),
                        ));
                    }
                    events.push(event);
                }
                Ok(())
            })?;
            last = (path.clone(), pos.offset);
        }
        if events.len() as u64 != durable {
            return Err(mismatch(
                &last.0,
                last.1,
                format!(
                    "its frames hold {} events, the index says {durable}",
                    events.len()
                ),
            ));
        }
        Ok(events)
    }
}

/// The segment files, in order, with their paths.
type Files = Vec<(PathBuf, Arc<File>)>;

/// The segment a commit goes to: its index, path, file and durable length.
type Current = (usize, PathBuf, Arc<File>, u64);

/// Takes everything queued as the next commit; returns its number, its frames and where it
/// goes.
fn take_commit(state: &mut State) -> (u64, Pending, Current) {
    let commit = state.open_commit;
    state.open_commit += 1;
    let spare = std::mem::take(&mut state.spare);
    let pending = std::mem::replace(
        &mut state.pending,
        Pending {
            bytes: spare,
            frames: Vec::new(),
        },
    );
    let last = state.segments.len() - 1;
    let segment = &state.segments[last];
    let current = (
        last,
        segment.path.clone(),
        Arc::clone(&segment.file),
        segment.durable_len,
    );
    (commit, pending, current)
}

/// Refuses to open `dir` as a new (empty) store while an unfinished backup into it lies beside
/// it: the caller is almost certainly looking for that backup.
fn refuse_unfinished_backup_into(dir: &Path) -> Result<()> {
    if backup::is_new(dir)?
        && let Some(partial) = backup::incomplete_sibling(dir)
    {
        return Err(Error::IncompleteBackup {
            dir: dir.to_path_buf(),
            reason: format!(
                "a backup into it never finished (its partial copy is {}); take the backup \
                 again, or delete the partial copy to start a new store here",
                partial.display()
            ),
        });
    }
    Ok(())
}

/// Whether an I/O error means the directory cannot be written (as opposed to a failure that
/// must be reported): read-only media, a full disk, no permission.
fn cannot_write(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::ReadOnlyFilesystem
            | std::io::ErrorKind::StorageFull
            | std::io::ErrorKind::PermissionDenied
            | std::io::ErrorKind::QuotaExceeded
    )
}

/// A tail inside what a backup's manifest says was copied (whole frames, durable when the
/// backup was taken) is not an unfinished write, however it looks (cut short, zeros): it is
/// damage, set aside and reported as such.
fn vouched_tail(scanned: &mut recovery::Scanned, manifest: Option<&BackupManifest>) {
    let recovery::Scanned { tail, segments, .. } = scanned;
    let (Some(tail), Some(manifest)) = (tail.as_mut(), manifest) else {
        return;
    };
    if tail.kind != TailKind::Unfinished {
        return;
    }
    let name = segments[tail.segment]
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned());
    if manifest
        .segments
        .iter()
        .any(|m| Some(&m.name) == name.as_ref() && tail.offset < m.len)
    {
        tail.kind = TailKind::FailedChecksum(
            "bytes the backup's manifest lists as copied are cut short or read as zeros".into(),
        );
    }
}

/// Whether an error is a failed flush: after one, the kernel may have dropped the unflushed
/// pages, so the store must refuse later writes (see [`Error::Poisoned`]).
fn is_failed_flush(error: &Error) -> bool {
    matches!(error, Error::Io { op, .. } if *op == "fdatasync" || *op == "fsync directory")
}

/// The report of a scan, before any repair.
fn report_of(scanned: &recovery::Scanned) -> OpenReport {
    let mut report = OpenReport {
        segments: scanned.segments.len(),
        frames: scanned.frames,
        events: scanned.events,
        incidents: scanned.index.values().filter(|s| s.durable > 0).count(),
        vouched_bytes: scanned.vouched,
        ..OpenReport::default()
    };
    if let Some(tail) = &scanned.tail {
        let path = scanned.segments[tail.segment].path.clone();
        let bytes = tail.end - tail.offset;
        match &tail.kind {
            TailKind::Unfinished => {
                report.torn_tail = Some(TornTail {
                    path,
                    offset: tail.offset,
                    bytes,
                    saved_to: None,
                });
            }
            TailKind::FailedChecksum(reason) => {
                report.damaged_tail = Some(DamagedTail {
                    path,
                    offset: tail.offset,
                    bytes,
                    reason: reason.clone(),
                    saved_to: None,
                });
            }
        }
    }
    report
}

/// Records where cut bytes were saved.
fn note_saved(report: &mut OpenReport, saved: &[(bool, PathBuf)]) {
    for (damaged, path) in saved {
        if *damaged {
            if let Some(tail) = &mut report.damaged_tail {
                tail.saved_to = Some(path.clone());
            }
        } else if let Some(tail) = &mut report.torn_tail {
            tail.saved_to = Some(path.clone());
        }
    }
}

/// Opens the scanned segments (for writing, or only for reading) and lists the repairs their
/// tail needs: cut a torn tail or a damaged final frame, complete a header a crash interrupted.
fn open_segments(
    scanned: &recovery::Scanned,
    read_only: bool,
) -> Result<(Vec<Segment>, Vec<Fixup>)> {
    let mut segments = Vec::with_capacity(scanned.segments.len() + 1);
    let mut fixups = Vec::new();
    for (i, seg) in scanned.segments.iter().enumerate() {
        let file = if read_only {
            File::open(&seg.path).map_err(|e| io_error("open", &seg.path, e))?
        } else {
            open_rw(&seg.path)?
        };
        if seg.valid_len < seg.file_len {
            let damaged = scanned
                .tail
                .as_ref()
                .is_some_and(|t| t.segment == i && matches!(t.kind, TailKind::FailedChecksum(_)));
            fixups.push(Fixup::Cut {
                segment: i,
                from: seg.valid_len,
                to: seg.file_len,
                damaged,
            });
        }
        if seg.valid_len == 0 {
            fixups.push(Fixup::Header {
                segment: i,
                number: seg.number,
            });
        }
        segments.push(Segment {
            path: seg.path.clone(),
            file: Arc::new(file),
            durable_len: seg.valid_len,
        });
    }
    Ok((segments, fixups))
}

/// Cuts the tail opening would cut or set aside, so the repaired store opens without a report
/// and verifies clean.
fn repair_tail(
    io: &Io,
    dir: &Path,
    scanned: &recovery::Scanned,
    tail: &recovery::Tail,
    report: &mut RepairReport,
) -> Result<()> {
    let seg = &scanned.segments[tail.segment];
    let segment = Segment {
        path: seg.path.clone(),
        file: Arc::new(open_rw(&seg.path)?),
        durable_len: seg.valid_len,
    };
    let damaged = matches!(tail.kind, TailKind::FailedChecksum(_));
    if let Some(saved_to) = cut_tail(io, dir, &segment, tail.offset, tail.end, damaged)? {
        report.quarantined.push(Quarantined {
            path: seg.path.clone(),
            offset: tail.offset,
            bytes: tail.end - tail.offset,
            reason: match &tail.kind {
                TailKind::Unfinished => "an unfinished write (a torn tail)".to_owned(),
                TailKind::FailedChecksum(reason) => {
                    format!("a complete final frame that fails its checksum: {reason}")
                }
            },
            saved_to,
        });
    }
    Ok(())
}

/// Where cut bytes were saved, each with whether they were a damaged frame.
type Saved = Vec<(bool, PathBuf)>;

/// Makes the pending repairs in order, removing each once made. Returns where cut bytes were
/// saved (and whether they were a damaged frame), or, with the repairs made so far, the error
/// that stopped the next one (which stays pending).
fn apply_fixups(
    io: &Io,
    dir: &Path,
    segments: &mut [Segment],
    fixups: &mut Vec<Fixup>,
) -> std::result::Result<Saved, (Saved, Error)> {
    let mut saved = Vec::new();
    while let Some(fixup) = fixups.first().cloned() {
        let made = match fixup {
            Fixup::Cut {
                segment,
                from,
                to,
                damaged,
            } => cut_tail(io, dir, &segments[segment], from, to, damaged).map(|path| {
                if let Some(path) = path {
                    saved.push((damaged, path));
                }
            }),
            Fixup::Header { segment, number } => {
                let previous_len = segment
                    .checked_sub(1)
                    .and_then(|p| segments.get(p))
                    .map_or(0, |s| s.durable_len);
                write_header(io, &segments[segment], number, previous_len).map(|len| {
                    segments[segment].durable_len = len;
                })
            }
        };
        match made {
            Ok(()) => {
                fixups.remove(0);
            }
            Err(error) => return Err((saved, error)),
        }
    }
    Ok(saved)
}

/// Writes the header of a segment whose header a crash interrupted; returns its length.
fn write_header(io: &Io, segment: &Segment, number: u32, previous_len: u64) -> Result<u64> {
    let header = format::encode_file_header(format::FileHeader {
        segment: number,
        previous_len,
    });
    io.write_all_at(&segment.file, &segment.path, &header, 0)?;
    io.sync_data(&segment.file, &segment.path)?;
    Ok(header.len() as u64)
}

/// Saves bytes `from..to` of the segment into quarantine, then cuts the segment at `from`.
/// Returns where the bytes were saved (`None` if an earlier attempt already cut it).
fn cut_tail(
    io: &Io,
    dir: &Path,
    segment: &Segment,
    from: u64,
    to: u64,
    damaged: bool,
) -> Result<Option<PathBuf>> {
    let (path, file) = (&segment.path, &*segment.file);
    let len = file
        .metadata()
        .map_err(|e| io_error("stat", path, e))?
        .len();
    let saved_to = if len > from {
        Some(quarantine_copy(io, dir, file, path, from, to.min(len))?)
    } else {
        None
    };
    // A backup's manifest vouches for whole frames; a cut below its length (a damaged frame,
    // or a tail zeroed in the copy) means the directory no longer matches it.
    if backup::manifest_covers(dir, path, from) {
        backup::retire_manifest(io, dir)?;
    }
    file.set_len(from)
        .map_err(|e| io_error("truncate the tail", path, e))?;
    io.sync_data(file, path)?;
    if let Some(saved) = &saved_to {
        log::warn!(
            "incidents: {} {} bytes at offset {from} of {} (saved to {})",
            if damaged {
                "set aside a damaged final frame of"
            } else {
                "cut a torn tail of"
            },
            to - from,
            path.display(),
            saved.display()
        );
    }
    Ok(saved_to)
}

/// Store directories this process has open, by canonical path.
static OPEN_HERE: Mutex<std::collections::BTreeSet<PathBuf>> =
    Mutex::new(std::collections::BTreeSet::new());

/// How long [`take_lock`] keeps trying when the OS lock is held (see there).
const LOCK_PATIENCE: std::time::Duration = std::time::Duration::from_millis(250);

/// A store directory's lock: an entry in this process's registry and an OS file lock on
/// `LOCK`, released in that order on drop.
#[derive(Debug)]
struct DirLock {
    key: PathBuf,
    file: File,
}

impl Drop for DirLock {
    fn drop(&mut self) {
        OPEN_HERE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&self.key);
    }
}

/// Takes the directory's lock, or reports that another instance holds it.
///
/// Two checks: a registry of directories open in this process (immediate, and immune to the
/// next point), then an OS lock (`flock`) on the `LOCK` file against other processes. A child
/// process started by any thread of this one briefly inherits the lock file between its
/// `fork` and `exec`; so when the OS lock is busy but no instance in this process holds the
/// directory, the lock is retried for up to 250 ms before reporting [`Error::Locked`].
fn take_lock(dir: &Path) -> Result<DirLock> {
    let key = dir
        .canonicalize()
        .map_err(|e| io_error("resolve directory", dir, e))?;
    let locked = || Error::Locked {
        dir: dir.to_path_buf(),
    };
    if !OPEN_HERE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(key.clone())
    {
        return Err(locked());
    }
    // From here the registry entry must be released on every error: `DirLock` does that.
    let path = dir.join(LOCK_FILE);
    let file = match OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
    {
        Ok(file) => file,
        Err(e) => {
            OPEN_HERE
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(&key);
            return Err(io_error("open lock file", &path, e));
        }
    };
    let lock = DirLock { key, file };
    let started = std::time::Instant::now();
    loop {
        match lock.file.try_lock() {
            Ok(()) => return Ok(lock),
            Err(std::fs::TryLockError::WouldBlock) if started.elapsed() < LOCK_PATIENCE => {
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            Err(std::fs::TryLockError::WouldBlock) => return Err(locked()),
            Err(std::fs::TryLockError::Error(e)) => return Err(io_error("lock", &path, e)),
        }
    }
}

/// Creates segment `n` with its header (recording that the previous segment is
/// `previous_len` bytes long), flushed, and flushes the directory.
fn create_segment(io: &Io, dir: &Path, n: u32, previous_len: u64) -> Result<Segment> {
    let path = segment_path(dir, n);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| io_error("create segment", &path, e))?;
    let header = format::encode_file_header(format::FileHeader {
        segment: n,
        previous_len,
    });
    io.write_all_at(&file, &path, &header, 0)?;
    io.sync_data(&file, &path)?;
    io.sync_dir(dir)?;
    Ok(Segment {
        path,
        file: Arc::new(file),
        durable_len: header.len() as u64,
    })
}

/// Moves a whole segment into the quarantine directory (a rename: no byte is rewritten).
fn quarantine_whole(dir: &Path, path: &Path, reason: String) -> Result<Quarantined> {
    let len = std::fs::metadata(path)
        .map_err(|e| io_error("stat", path, e))?
        .len();
    let saved_to = quarantine_target(dir, path, 0)?;
    std::fs::rename(path, &saved_to).map_err(|e| io_error("rename", path, e))?;
    Ok(Quarantined {
        path: path.to_path_buf(),
        offset: 0,
        bytes: len,
        reason,
        saved_to,
    })
}

/// A fresh path in the quarantine directory for bytes from `source` starting at `offset`.
fn quarantine_target(dir: &Path, source: &Path, offset: u64) -> Result<PathBuf> {
    let qdir = dir.join(QUARANTINE_DIR);
    std::fs::create_dir_all(&qdir).map_err(|e| io_error("create directory", &qdir, e))?;
    let name = source
        .file_name()
        .map_or_else(|| "segment".into(), |n| n.to_string_lossy().into_owned());
    (0..=u32::MAX)
        .map(|attempt| qdir.join(format!("{name}.from-{offset}.{attempt}")))
        .find(|candidate| !candidate.exists())
        .ok_or_else(|| {
            io_error(
                "name quarantine file",
                &qdir,
                std::io::Error::other("no free file name left"),
            )
        })
}

/// Copies bytes `[from, to)` of `file` into a new quarantine file (flushed) and returns its path.
fn quarantine_copy(
    io: &Io,
    dir: &Path,
    file: &File,
    path: &Path,
    from: u64,
    to: u64,
) -> Result<PathBuf> {
    let target = quarantine_target(dir, path, from)?;
    let len = usize::try_from(to - from).map_err(|_| {
        io_error(
            "read",
            path,
            std::io::Error::other("too large to hold in memory"),
        )
    })?;
    let mut bytes = vec![0u8; len];
    read_exact_at(file, &mut bytes, from).map_err(|e| io_error("read", path, e))?;
    let out = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&target)
        .map_err(|e| io_error("create", &target, e))?;
    let written = io
        .write_all_at(&out, &target, &bytes, 0)
        .and_then(|()| io.sync_data(&out, &target));
    if let Err(error) = written {
        // A partial copy is no use and, on a full disk retried at every write, they pile up.
        drop(out);
        let _ = std::fs::remove_file(&target);
        return Err(error);
    }
    if let Some(parent) = target.parent() {
        io.sync_dir(parent)?;
    }
    Ok(target)
}

impl Store for FileStore {
    fn append(&self, id: IncidentId, expected: Version, events: &[Event]) -> Result<Version> {
        let versions = self.commit_frame(&[(id, expected, events)])?;
        // One append in, one version out.
        versions.first().copied().ok_or_else(|| Error::Backend {
            backend: "store",
            op: "append",
            source: "no version returned".into(),
        })
    }

    fn append_batch(&self, batch: &[Append<'_>]) -> Result<Vec<Version>> {
        let groups: Vec<(IncidentId, Version, &[Event])> =
            batch.iter().map(|a| (a.id, a.expected, a.events)).collect();
        self.commit_frame(&groups)
    }

    fn load(&self, id: IncidentId) -> Result<Vec<Event>> {
        self.events_of(id)
    }

    fn version(&self, id: IncidentId) -> Result<Version> {
        Ok(Version::new(
            lock_state(&self.state)
                .index
                .get(&id)
                .map_or(0, |s| s.durable),
        ))
    }

    fn log_end(&self) -> Result<Option<LogPoint>> {
        self.snapshot_log_end()
    }

    /// Desks sharing one `FileStore` in a process (a host's timer loop and its web handlers,
    /// say) catch up with each other through this feed. Positions are those of
    /// [`log_end`](Store::log_end): a segment's index and a byte offset in it, every event
    /// of a frame carrying the frame's end; a page holds whole frames, so it may pass
    /// `limit` by the rest of one frame.
    fn feed(&self, after: u64, limit: usize) -> Result<Option<Vec<FeedItem>>> {
        self.snapshot_feed(after, limit).map(Some)
    }

    fn has_point(&self, point: LogPoint) -> Result<bool> {
        self.snapshot_has_point(point)
    }

    fn scan_after(
        &self,
        point: LogPoint,
        visit: &mut dyn FnMut(IncidentId, Version, &Event) -> Result<()>,
    ) -> Result<bool> {
        self.snapshot_scan_after(point, visit)
    }

    fn save_snapshot(&self, bytes: &[u8]) -> Result<()> {
        self.snapshot_save(bytes)
    }

    fn load_snapshot(&self) -> Result<Option<Vec<u8>>> {
        self.snapshot_load()
    }

    fn scan(&self, visit: &mut dyn FnMut(IncidentId, Version, &Event) -> Result<()>) -> Result<()> {
        let stretches: Vec<Stretch> = lock_state(&self.state)
            .segments
            .iter()
            .map(|s| Stretch {
                path: s.path.clone(),
                file: Arc::clone(&s.file),
                from: format::FILE_HEADER_LEN as u64,
                to: s.durable_len,
            })
            .collect();
        read::visit_stretches(&stretches, self.options.scan_threads, visit)
    }
}
