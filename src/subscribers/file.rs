//! [`FileSubscribers`]: the subscriber store in a directory, as a JSON Lines journal.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::record::{self, Line, SCHEMA};
use super::state::Change;
use super::store::SubscriberStore;
use super::values::SubscriberError;

const JOURNAL: &str = "subscribers.jsonl";
const TEMP: &str = "subscribers.jsonl.tmp";
const LOCK: &str = "LOCK";

fn io(op: &'static str, path: &Path, source: std::io::Error) -> SubscriberError {
    SubscriberError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// What [`FileSubscribers::open`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct JournalReport {
    /// Complete lines (appended batches) read.
    pub lines: usize,
    /// Bytes of an unfinished last line (a crash mid-write: no newline) that were cut, if
    /// any. They were never acknowledged: the append that wrote them had not returned `Ok`.
    pub torn_tail: Option<u64>,
    /// Bytes of a complete last line that failed its checksum, cut (and logged at warn
    /// level), if any: most likely a write cut short whose newline reached the disk before
    /// the rest, but possibly an acknowledged append on a failing disk. Not kept aside,
    /// because it may hold a contact that is later erased.
    pub damaged_tail: Option<u64>,
}

/// A [`SubscriberStore`] in a directory (feature `file` too): `subscribers.jsonl`, one line
/// per appended batch — `<CRC-32 of the JSON, 8 hex digits> {"schema":1,"changes":[…]}` —
/// flushed (`fdatasync`) before an append returns, and `LOCK`, an OS file lock held while it
/// is open, so a second writer (another process, or another handle here) is refused with
/// [`SubscriberError::Locked`].
///
/// On open, an unfinished last line (no newline: a crash mid-write), or a last line that
/// fails its checksum, is cut and reported in [`FileSubscribers::report`]; a line that fails
/// its checksum anywhere else, or passes it and does not decode, is
/// [`SubscriberError::Corrupt`] naming the line, and nothing is changed. Compaction writes the snapshot to
/// `subscribers.jsonl.tmp`, flushes it, renames it over the journal and flushes the
/// directory: at every point a crash leaves the old journal or the new one, whole. A failed
/// write or flush poisons the store ([`SubscriberError::Poisoned`]) until it is reopened.
///
/// ```
/// use incidents::subscribers::{FileSubscribers, SubscriberError};
///
/// let dir = tempfile::tempdir()?;
/// let first = FileSubscribers::open(dir.path())?;
/// assert!(matches!(FileSubscribers::open(dir.path()), Err(SubscriberError::Locked { .. })));
/// drop(first);
/// assert_eq!(FileSubscribers::open(dir.path())?.report().lines, 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct FileSubscribers {
    dir: PathBuf,
    path: PathBuf,
    journal: File,
    _lock: File,
    poisoned: bool,
    report: JournalReport,
}

impl FileSubscribers {
    /// Opens (creating if needed) the store in `dir`, taking its lock and cutting a torn
    /// last line.
    ///
    /// # Errors
    /// [`SubscriberError::Locked`], [`SubscriberError::Corrupt`], [`SubscriberError::Io`].
    pub fn open(dir: impl AsRef<Path>) -> Result<FileSubscribers, SubscriberError> {
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&dir).map_err(|e| io("create directory", &dir, e))?;
        let lock_path = dir.join(LOCK);
        let lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(|e| io("open lock file", &lock_path, e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(SubscriberError::Locked { path: lock_path });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io("lock", &lock_path, e)),
        }
        let path = dir.join(JOURNAL);
        let journal = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(|e| io("open journal", &path, e))?;
        let bytes = read_all(&path)?;
        let parsed = parse(&path, &bytes)?;
        let good = parsed.good;
        let mut report = JournalReport {
            lines: parsed.lines,
            torn_tail: None,
            damaged_tail: None,
        };
        if good < bytes.len() {
            journal
                .set_len(good as u64)
                .map_err(|e| io("cut torn tail", &path, e))?;
            journal.sync_data().map_err(|e| io("fdatasync", &path, e))?;
            let cut = (bytes.len() - good) as u64;
            if parsed.damaged {
                log::warn!(
                    "subscribers: cut a last line that failed its checksum ({cut} bytes) from {}",
                    path.display()
                );
                report.damaged_tail = Some(cut);
            } else {
                log::warn!(
                    "subscribers: cut an unfinished last line ({cut} bytes) from {}",
                    path.display()
                );
                report.torn_tail = Some(cut);
            }
        }
        // A fresh journal's directory entry must be durable too.
        sync_dir(&dir)?;
        Ok(FileSubscribers {
            dir,
            path,
            journal,
            _lock: lock,
            poisoned: false,
            report,
        })
    }

    /// What the open found.
    pub fn report(&self) -> &JournalReport {
        &self.report
    }

    /// The journal's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn read_all(path: &Path) -> Result<Vec<u8>, SubscriberError> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(|e| io("read journal", path, e))?;
    Ok(bytes)
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> Result<(), SubscriberError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io("fsync directory", dir, e))
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> Result<(), SubscriberError> {
    Ok(())
}

/// One line for `changes`, newline included.
fn encode(changes: &[Change]) -> Result<Vec<u8>, SubscriberError> {
    let line = Line {
        schema: SCHEMA,
        changes: changes.iter().map(record::of).collect(),
    };
    let json = serde_json::to_vec(&line).map_err(|e| SubscriberError::Io {
        op: "encode",
        path: PathBuf::new(),
        source: std::io::Error::other(e),
    })?;
    let mut out = format!("{:08x} ", crc32fast::hash(&json)).into_bytes();
    out.extend_from_slice(&json);
    out.push(b'\n');
    Ok(out)
}

/// What a journal holds.
struct Parsed {
    changes: Vec<Change>,
    /// The length of the good lines.
    good: usize,
    /// How many there are.
    lines: usize,
    /// Whether what follows them is a complete last line that failed its checksum (else an
    /// unfinished one, or nothing).
    damaged: bool,
}

/// The changes of the good lines. Bytes after the last newline are a torn tail, and a last
/// line failing its checksum a damaged one (neither an error); any other bad line is.
fn parse(path: &Path, bytes: &[u8]) -> Result<Parsed, SubscriberError> {
    let mut parsed = Parsed {
        changes: Vec::new(),
        good: 0,
        lines: 0,
        damaged: false,
    };
    while let Some(end) = bytes[parsed.good..].iter().position(|&b| b == b'\n') {
        let at = parsed.good;
        let number = parsed.lines + 1;
        let line = &bytes[at..at + end];
        let last = at + end + 1 == bytes.len();
        let corrupt = |reason: String| SubscriberError::Corrupt {
            path: path.to_path_buf(),
            line: number,
            reason,
        };
        let (Some(crc), Some(b' '), Some(json)) = (line.get(..8), line.get(8), line.get(9..))
        else {
            if last {
                parsed.damaged = true;
                break;
            }
            return Err(corrupt("no checksum".into()));
        };
        let crc = std::str::from_utf8(crc)
            .ok()
            .and_then(|c| u32::from_str_radix(c, 16).ok());
        if crc != Some(crc32fast::hash(json)) {
            if last {
                parsed.damaged = true;
                break;
            }
            return Err(corrupt("checksum mismatch".into()));
        }
        let line: Line = serde_json::from_slice(json).map_err(|e| corrupt(e.to_string()))?;
        if line.schema != SCHEMA {
            return Err(corrupt(format!(
                "schema {} is not one this version reads (1)",
                line.schema
            )));
        }
        for rec in line.changes {
            parsed.changes.push(record::decode(rec).map_err(corrupt)?);
        }
        parsed.good = at + end + 1;
        parsed.lines = number;
    }
    Ok(parsed)
}

impl SubscriberStore for FileSubscribers {
    fn load(&mut self) -> Result<Vec<Change>, SubscriberError> {
        let bytes = read_all(&self.path)?;
        Ok(parse(&self.path, &bytes)?.changes)
    }

    fn append(&mut self, changes: &[Change]) -> Result<(), SubscriberError> {
        if self.poisoned {
            return Err(SubscriberError::Poisoned);
        }
        let line = encode(changes)?;
        let written = self
            .journal
            .write_all(&line)
            .map_err(|e| io("append", &self.path, e))
            .and_then(|()| {
                self.journal
                    .sync_data()
                    .map_err(|e| io("fdatasync", &self.path, e))
            });
        if written.is_err() {
            self.poisoned = true;
        }
        written
    }

    fn compact(&mut self, snapshot: &[Change]) -> Result<(), SubscriberError> {
        if self.poisoned {
            return Err(SubscriberError::Poisoned);
        }
        let temp = self.dir.join(TEMP);
        let line = encode(snapshot)?;
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&temp)
            .map_err(|e| io("create", &temp, e))?;
        file.write_all(&line).map_err(|e| io("write", &temp, e))?;
        file.sync_data().map_err(|e| io("fdatasync", &temp, e))?;
        drop(file);
        std::fs::rename(&temp, &self.path).map_err(|e| io("rename", &self.path, e))?;
        let reopened = OpenOptions::new()
            .read(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| io("reopen journal", &self.path, e));
        let synced = sync_dir(&self.dir);
        match (reopened, synced) {
            (Ok(journal), Ok(())) => {
                self.journal = journal;
                Ok(())
            }
            (Err(e), _) | (_, Err(e)) => {
                // The old handle points at the unlinked file: appends there would be lost.
                self.poisoned = true;
                Err(e)
            }
        }
    }
}
