//! Backups that cannot pass for complete, and checking a store or a backup without changing it.
//!
//! A backup is written into a hidden sibling of its destination (`.NAME.incomplete-backup`)
//! that holds a marker file, [`INCOMPLETE_MARKER`], from its first byte on. The segments are
//! copied, then the manifest ([`MANIFEST_FILE`]: each segment's length and the CRC-32 of each
//! copied MiB) is written and flushed, the directory is renamed into place, and only then is
//! the marker removed. Whatever point a crash or `kill -9` stops it at, the destination either
//! does not exist (and opening it while the marked sibling is there is refused), or holds the
//! marker (refused), or is complete. A backup that fails with an error leaves its partial copy
//! just as a killed one does, so the same holds; the error says so, and the partial copy can be
//! deleted.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Invalid, Result};

use super::io::{Io, io_error, read_exact_at};
use super::recovery::{self, TailKind};
use super::{BackupReport, QUARANTINE_DIR, TornTail, format};

/// The name of a backup's manifest file, written last.
pub const MANIFEST_FILE: &str = "BACKUP-MANIFEST.json";
/// The name of the marker file an unfinished backup holds.
pub const INCOMPLETE_MARKER: &str = "BACKUP-INCOMPLETE";
/// The manifest format this version writes and reads.
const MANIFEST_FORMAT: u32 = 1;
/// Each copied segment's CRC-32 is recorded per range of this many bytes.
const CHUNK_BYTES: u64 = 1 << 20;

/// What a backup holds, written last into it by [`FileStore::backup`](super::FileStore::backup).
///
/// Opening a directory with a manifest checks that every segment it lists is there and at
/// least as long as listed (a restored backup may have grown since);
/// [`FileStore::verify`](super::FileStore::verify) also checks every range's checksum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BackupManifest {
    /// The manifest's format (1).
    pub format: u32,
    /// The version of this crate that wrote the backup.
    pub written_by: String,
    /// The segments copied, in order.
    pub segments: Vec<ManifestSegment>,
}

/// One copied segment in a [`BackupManifest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ManifestSegment {
    /// The file name, e.g. `seg-00000001.log`.
    pub name: String,
    /// Bytes copied (the segment's durable length when the backup started).
    pub len: u64,
    /// The size of each checksummed range (the last one may be shorter).
    pub range_bytes: u64,
    /// The CRC-32 of each range, in order.
    pub crc32: Vec<u32>,
}

/// The manifest file: the manifest and the CRC-32 of its JSON, so a damaged manifest is caught.
#[derive(Serialize, Deserialize)]
struct ManifestFile {
    manifest: BackupManifest,
    crc32: u32,
}

/// What [`FileStore::verify`](super::FileStore::verify) found. Nothing was changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct VerifyReport {
    /// The directory checked.
    pub dir: PathBuf,
    /// Segment files.
    pub segments: usize,
    /// Complete frames (appends) that passed their checksums.
    pub frames: u64,
    /// Events in them (each decoded).
    pub events: u64,
    /// Incidents with at least one event.
    pub incidents: usize,
    /// Bytes in the segment files.
    pub bytes: u64,
    /// The backup manifest, if the directory has one (its ranges were checked).
    pub manifest: Option<BackupManifest>,
    /// Every problem found, in the order found. Empty for a healthy store or backup.
    pub problems: Vec<Problem>,
    /// An unfinished final write (never acknowledged), which opening would cut: not a
    /// problem, a note. `saved_to` is `None` (verify writes nothing).
    pub torn_tail: Option<TornTail>,
}

impl VerifyReport {
    /// Whether nothing is wrong: no problem found (a torn tail is not a problem).
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// One thing [`FileStore::verify`](super::FileStore::verify) found wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Problem {
    /// The file.
    pub path: PathBuf,
    /// Where in it.
    pub offset: u64,
    /// What is wrong.
    pub reason: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} at byte offset {}: {}",
            self.path.display(),
            self.offset,
            self.reason
        )
    }
}

/// The hidden siblings a backup into `dest` is written in: `.NAME.incomplete-backup`, then
/// `.NAME.incomplete-backup.1`, … if an earlier one was left behind.
fn sibling_prefix(dest: &Path) -> Result<(PathBuf, String)> {
    let name = dest.file_name().ok_or_else(|| {
        Error::from(Invalid::new(
            "backup directory",
            format!("{} has no directory name", dest.display()),
        ))
    })?;
    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((
        parent,
        format!(".{}.incomplete-backup", name.to_string_lossy()),
    ))
}

/// A partial backup aimed at `dir` that never finished, if one lies beside it.
pub(crate) fn incomplete_sibling(dir: &Path) -> Option<PathBuf> {
    let (parent, prefix) = sibling_prefix(dir).ok()?;
    let entries = std::fs::read_dir(&parent).ok()?;
    entries
        .filter_map(std::result::Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path())
        .find(|p| p.join(INCOMPLETE_MARKER).exists())
}

/// Whether `dir` does not exist or is an empty directory: opening it starts a new store.
/// A directory holding only a `LOCK` file (left by an open or a repair that found nothing)
/// counts as empty.
pub(crate) fn is_new(dir: &Path) -> Result<bool> {
    match std::fs::read_dir(dir) {
        Ok(entries) => {
            for entry in entries {
                let entry = entry.map_err(|e| io_error("read directory", dir, e))?;
                if entry.file_name() != super::LOCK_FILE {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(io_error("read directory", dir, e)),
    }
}

/// Refuses an incomplete backup, and checks a backup's segments against its manifest (lengths
/// only: cheap). Returns the manifest if there is one.
pub(crate) fn check_backup(dir: &Path) -> Result<Option<BackupManifest>> {
    if dir.join(INCOMPLETE_MARKER).exists() {
        return Err(Error::IncompleteBackup {
            dir: dir.to_path_buf(),
            reason: format!("it holds {INCOMPLETE_MARKER}: the backup never finished"),
        });
    }
    let Some(manifest) = read_manifest(dir).map_err(|(path, reason)| Error::Corrupt {
        path,
        offset: 0,
        reason,
    })?
    else {
        return Ok(None);
    };
    for segment in &manifest.segments {
        let path = dir.join(&segment.name);
        let len = match std::fs::metadata(&path) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::IncompleteBackup {
                    dir: dir.to_path_buf(),
                    reason: format!("{} is listed in its manifest but missing", segment.name),
                });
            }
            Err(e) => return Err(io_error("stat", &path, e)),
        };
        if len < segment.len {
            return Err(Error::IncompleteBackup {
                dir: dir.to_path_buf(),
                reason: format!(
                    "{} is {len} bytes, its manifest says {} were copied",
                    segment.name, segment.len
                ),
            });
        }
    }
    Ok(Some(manifest))
}

/// Reads and checks the manifest, if there is one. The error names the file and what is wrong.
fn read_manifest(dir: &Path) -> std::result::Result<Option<BackupManifest>, (PathBuf, String)> {
    let path = dir.join(MANIFEST_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err((path, format!("cannot read the backup manifest: {e}"))),
    };
    let file: ManifestFile = serde_json::from_slice(&bytes)
        .map_err(|e| (path.clone(), format!("backup manifest does not parse: {e}")))?;
    let json = serde_json::to_vec(&file.manifest)
        .map_err(|e| (path.clone(), format!("backup manifest: {e}")))?;
    if crc32fast::hash(&json) != file.crc32 {
        return Err((path, "backup manifest checksum mismatch".into()));
    }
    if let Some(bad) = file
        .manifest
        .segments
        .iter()
        .find(|s| super::io::segment_number(&s.name).is_none())
    {
        return Err((
            path,
            format!(
                "backup manifest names {:?}, which is not a segment file name",
                bad.name
            ),
        ));
    }
    if file.manifest.format != MANIFEST_FORMAT {
        return Err((
            path,
            format!(
                "backup manifest format {} is not supported (this version reads {MANIFEST_FORMAT})",
                file.manifest.format
            ),
        ));
    }
    Ok(Some(file.manifest))
}

/// The segments to copy: path, open file, durable length.
pub(crate) type Sources = [(PathBuf, Arc<File>, u64)];

/// Writes a backup of `sources` into `dest` (see the module docs for the steps). `progress`
/// is called with (bytes copied, bytes to copy) after each MiB.
pub(crate) fn write_backup(
    io: &Io,
    sources: &Sources,
    dest: &Path,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<BackupReport> {
    if !is_new(dest)? {
        return Err(Invalid::new(
            "backup directory",
            format!("{} must be empty or not exist", dest.display()),
        )
        .into());
    }
    let (parent, prefix) = sibling_prefix(dest)?;
    std::fs::create_dir_all(&parent).map_err(|e| io_error("create directory", &parent, e))?;
    let tmp = fresh_sibling(&parent, &prefix)?;
    // On an error the partial copy stays, marked, exactly as a killed backup leaves it: opening
    // `dest` then says the backup did not finish instead of starting an empty store there.
    fill(io, sources, dest, &parent, &tmp, progress)
}

/// Writes the backup into `tmp`, then renames it to `dest`.
fn fill(
    io: &Io,
    sources: &Sources,
    dest: &Path,
    parent: &Path,
    tmp: &Path,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<BackupReport> {
    let marker = tmp.join(INCOMPLETE_MARKER);
    let note = format!(
        "A backup into {} started here and has not finished. This directory is not a usable \
         store; delete it and take the backup again.\n",
        dest.display()
    );
    write_new_file(io, &marker, note.as_bytes())?;
    io.sync_dir(tmp)?;
    io.sync_dir(parent)?;

    let total: u64 = sources.iter().map(|(_, _, len)| len).sum();
    let mut copied = 0u64;
    let mut manifest = BackupManifest {
        format: MANIFEST_FORMAT,
        written_by: format!("incidents {}", env!("CARGO_PKG_VERSION")),
        segments: Vec::with_capacity(sources.len()),
    };
    let mut buf = vec![0u8; usize::try_from(CHUNK_BYTES).unwrap_or(1 << 20)];
    for (path, file, len) in sources {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let target = tmp.join(&name);
        let out = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&target)
            .map_err(|e| io_error("create", &target, e))?;
        let mut crcs = Vec::new();
        let mut at = 0u64;
        while at < *len {
            let n = usize::try_from((*len - at).min(CHUNK_BYTES)).unwrap_or(buf.len());
            read_exact_at(file, &mut buf[..n], at).map_err(|e| io_error("read", path, e))?;
            io.write_all_at(&out, &target, &buf[..n], at)?;
            crcs.push(crc32fast::hash(&buf[..n]));
            at += n as u64;
            copied += n as u64;
            progress(copied, total);
        }
        io.sync_data(&out, &target)?;
        manifest.segments.push(ManifestSegment {
            name,
            len: *len,
            range_bytes: CHUNK_BYTES,
            crc32: crcs,
        });
    }
    let json = serde_json::to_vec(&manifest).map_err(|e| Error::Backend {
        backend: "store",
        op: "backup manifest",
        source: Box::new(e),
    })?;
    let file = ManifestFile {
        crc32: crc32fast::hash(&json),
        manifest,
    };
    let mut bytes = serde_json::to_vec_pretty(&file).map_err(|e| Error::Backend {
        backend: "store",
        op: "backup manifest",
        source: Box::new(e),
    })?;
    bytes.push(b'\n');
    write_new_file(io, &tmp.join(MANIFEST_FILE), &bytes)?;
    io.sync_dir(tmp)?;
    // Into place, still marked. On Linux a rename replaces an empty directory atomically;
    // elsewhere the empty destination is removed first.
    if let Err(first) = std::fs::rename(tmp, dest) {
        if dest.exists() {
            std::fs::remove_dir(dest).map_err(|e| io_error("remove empty directory", dest, e))?;
            std::fs::rename(tmp, dest).map_err(|e| io_error("rename", tmp, e))?;
        } else {
            return Err(io_error("rename", tmp, first));
        }
    }
    io.sync_dir(parent)?;
    // Only now, with everything in place and flushed, does the backup stop saying it is
    // incomplete. Stopped before this, it is refused as incomplete (complete as it may be).
    let marker = dest.join(INCOMPLETE_MARKER);
    std::fs::remove_file(&marker).map_err(|e| io_error("remove", &marker, e))?;
    io.sync_dir(dest)?;
    Ok(BackupReport {
        dir: dest.to_path_buf(),
        segments: file.manifest.segments.len(),
        bytes: total,
    })
}

/// Creates a fresh hidden sibling directory named after `prefix`.
fn fresh_sibling(parent: &Path, prefix: &str) -> Result<PathBuf> {
    for attempt in 0..10_000u32 {
        let name = if attempt == 0 {
            prefix.to_owned()
        } else {
            format!("{prefix}.{attempt}")
        };
        let path = parent.join(name);
        match std::fs::create_dir(&path) {
            Ok(()) => return Ok(path),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io_error("create directory", &path, e)),
        }
    }
    Err(io_error(
        "create directory",
        parent,
        std::io::Error::other("no free name for the backup's temporary directory"),
    ))
}

/// Creates `path` (it must not exist) holding `bytes`, flushed.
fn write_new_file(io: &Io, path: &Path, bytes: &[u8]) -> Result<()> {
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| io_error("create", path, e))?;
    io.write_all_at(&file, path, bytes, 0)?;
    io.sync_data(&file, path)
}

/// Whether a manifest in `dir` covers byte `offset` of segment `path`: cutting the segment
/// there would make the directory disagree with its manifest.
pub(crate) fn manifest_covers(dir: &Path, path: &Path, offset: u64) -> bool {
    let Ok(Some(manifest)) = read_manifest(dir) else {
        return false;
    };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    manifest
        .segments
        .iter()
        .any(|s| Some(&s.name) == name.as_ref() && offset < s.len)
}

/// Moves the manifest into quarantine (a rename), because the store no longer matches it.
pub(crate) fn retire_manifest(io: &Io, dir: &Path) -> Result<Option<PathBuf>> {
    let path = dir.join(MANIFEST_FILE);
    if !path.exists() {
        return Ok(None);
    }
    let qdir = dir.join(QUARANTINE_DIR);
    std::fs::create_dir_all(&qdir).map_err(|e| io_error("create directory", &qdir, e))?;
    let target = (0..10_000u32)
        .map(|n| qdir.join(format!("{MANIFEST_FILE}.{n}")))
        .find(|p| !p.exists())
        .ok_or_else(|| {
            io_error(
                "name quarantine file",
                &qdir,
                std::io::Error::other("no free file name left"),
            )
        })?;
    std::fs::rename(&path, &target).map_err(|e| io_error("rename", &path, e))?;
    io.sync_dir(dir)?;
    log::warn!(
        "incidents: {} no longer matches its backup manifest; the manifest was moved to {}",
        dir.display(),
        target.display()
    );
    Ok(Some(target))
}

/// Checks a store or a backup in `dir`: the backup marker, the manifest and every range it
/// lists, every frame's checksums, every event's decoding. Writes nothing, takes no lock.
pub(crate) fn verify(dir: &Path) -> Result<VerifyReport> {
    let meta = std::fs::metadata(dir).map_err(|e| io_error("open directory", dir, e))?;
    if !meta.is_dir() {
        return Err(io_error(
            "open directory",
            dir,
            std::io::Error::other("not a directory"),
        ));
    }
    let mut report = VerifyReport {
        dir: dir.to_path_buf(),
        ..VerifyReport::default()
    };
    let marker = dir.join(INCOMPLETE_MARKER);
    if marker.exists() {
        report.problems.push(Problem {
            path: marker,
            offset: 0,
            reason: "incomplete backup: it never finished, so it holds only part of the store"
                .into(),
        });
    }
    match read_manifest(dir) {
        Ok(Some(manifest)) => {
            check_ranges(dir, &manifest, &mut report.problems)?;
            report.manifest = Some(manifest);
        }
        Ok(None) => {}
        Err((path, reason)) => report.problems.push(Problem {
            path,
            offset: 0,
            reason,
        }),
    }

    let listed = recovery::list_segments(dir)?;
    report.segments = listed.len();
    for (_, path) in &listed {
        report.bytes += std::fs::metadata(path)
            .map_err(|e| io_error("stat", path, e))?
            .len();
    }
    match recovery::scan(dir)? {
        Err(damage) => report.problems.push(Problem {
            path: damage.path,
            offset: damage.offset,
            reason: damage.reason,
        }),
        Ok(scanned) => {
            report.frames = scanned.frames;
            report.incidents = scanned.index.values().filter(|s| s.durable > 0).count();
            if let Some(tail) = &scanned.tail {
                let path = scanned.segments[tail.segment].path.clone();
                match &tail.kind {
                    TailKind::Unfinished => {
                        report.torn_tail = Some(TornTail {
                            path,
                            offset: tail.offset,
                            bytes: tail.end - tail.offset,
                            saved_to: None,
                        });
                    }
                    TailKind::FailedChecksum(reason) => report.problems.push(Problem {
                        path,
                        offset: tail.offset,
                        reason: format!(
                            "the final frame is complete but fails its checksum ({reason}); \
                             opening the store sets it aside"
                        ),
                    }),
                }
            }
            report.events = decode_all(&scanned, &mut report.problems)?;
        }
    }
    Ok(report)
}

/// Checks each range a manifest lists against the segment's bytes.
fn check_ranges(dir: &Path, manifest: &BackupManifest, problems: &mut Vec<Problem>) -> Result<()> {
    for segment in &manifest.segments {
        let path = dir.join(&segment.name);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                problems.push(Problem {
                    path,
                    offset: 0,
                    reason: "listed in the backup manifest but missing".into(),
                });
                continue;
            }
            Err(e) => return Err(io_error("read", &path, e)),
        };
        if (bytes.len() as u64) < segment.len {
            problems.push(Problem {
                path: path.clone(),
                offset: bytes.len() as u64,
                reason: format!(
                    "{} bytes, but the backup manifest says {} were copied",
                    bytes.len(),
                    segment.len
                ),
            });
        }
        let range = usize::try_from(segment.range_bytes.max(1)).unwrap_or(usize::MAX);
        let covered = usize::try_from(segment.len)
            .unwrap_or(usize::MAX)
            .min(bytes.len());
        let expected = segment.len.div_ceil(segment.range_bytes.max(1));
        if segment.crc32.len() as u64 != expected {
            problems.push(Problem {
                path: path.clone(),
                offset: 0,
                reason: format!(
                    "the backup manifest lists {} checksums for {} bytes",
                    segment.crc32.len(),
                    segment.len
                ),
            });
            continue;
        }
        for (i, (chunk, crc)) in bytes[..covered]
            .chunks(range)
            .zip(&segment.crc32)
            .enumerate()
        {
            let full = (i + 1) * range <= covered || covered as u64 == segment.len;
            if full && crc32fast::hash(chunk) != *crc {
                let start = (i * range) as u64;
                problems.push(Problem {
                    path: path.clone(),
                    offset: start,
                    reason: format!(
                        "bytes {start}..{} differ from the backup: checksum mismatch",
                        start + chunk.len() as u64
                    ),
                });
            }
        }
    }
    Ok(())
}

/// Decodes every event of every complete frame; returns how many there are.
fn decode_all(scanned: &recovery::Scanned, problems: &mut Vec<Problem>) -> Result<u64> {
    let mut events = 0u64;
    for segment in &scanned.segments {
        let bytes = std::fs::read(&segment.path).map_err(|e| io_error("read", &segment.path, e))?;
        let end = usize::try_from(segment.valid_len)
            .unwrap_or(usize::MAX)
            .min(bytes.len());
        let mut pos = format::FILE_HEADER_LEN;
        while pos < end {
            let counted = &mut events;
            match super::decode_frame_events(
                &bytes[pos..end],
                &segment.path,
                pos as u64,
                &mut |_, _, _| {
                    *counted += 1;
                    Ok(())
                },
            ) {
                Ok(len) => pos += len,
                Err(error) => {
                    let (offset, reason) = match error {
                        Error::Corrupt { offset, reason, .. } => (offset, reason),
                        other => (pos as u64, other.to_string()),
                    };
                    problems.push(Problem {
                        path: segment.path.clone(),
                        offset,
                        reason,
                    });
                    break;
                }
            }
        }
    }
    Ok(events)
}
