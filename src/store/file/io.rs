//! The few file operations the store performs, each passing through an optional
//! [`FaultHook`] so tests (the crate's and the host's) can make the disk fail on purpose.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::Error;

/// Makes chosen file operations fail, to test what happens when the disk is full or broken.
///
/// Install one with [`FileStoreOptions::fault_hook`](super::FileStoreOptions::fault_hook).
/// Every method defaults to "no fault".
pub trait FaultHook: Send + Sync + fmt::Debug {
    /// Called before writing `len` bytes at `offset` of `path`. Return `Some((n, error))` to
    /// write only the first `n` bytes (0 for none) and then fail with `error`, as a full disk
    /// does.
    fn on_write(&self, path: &Path, offset: u64, len: usize) -> Option<(usize, io::Error)> {
        let _ = (path, offset, len);
        None
    }

    /// Called before flushing `path` to stable storage (fdatasync, or fsync of a directory).
    /// Return `Some(error)` to fail the flush without performing it.
    fn on_sync(&self, path: &Path) -> Option<io::Error> {
        let _ = path;
        None
    }
}

#[derive(Clone, Default)]
pub(crate) struct Io {
    hook: Option<Arc<dyn FaultHook>>,
}

impl fmt::Debug for Io {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Io")
            .field("fault_hook", &self.hook.is_some())
            .finish()
    }
}

pub(crate) fn io_error(op: &'static str, path: &Path, source: io::Error) -> Error {
    Error::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

impl Io {
    pub(crate) fn new(hook: Option<Arc<dyn FaultHook>>) -> Io {
        Io { hook }
    }

    /// Writes all of `bytes` at `offset`.
    pub(crate) fn write_all_at(
        &self,
        file: &File,
        path: &Path,
        bytes: &[u8],
        offset: u64,
    ) -> Result<(), Error> {
        if let Some((n, error)) = self
            .hook
            .as_ref()
            .and_then(|h| h.on_write(path, offset, bytes.len()))
        {
            let n = n.min(bytes.len());
            write_all_at(file, &bytes[..n], offset).map_err(|e| io_error("write", path, e))?;
            return Err(io_error("write", path, error));
        }
        write_all_at(file, bytes, offset).map_err(|e| io_error("write", path, e))
    }

    /// fdatasync.
    pub(crate) fn sync_data(&self, file: &File, path: &Path) -> Result<(), Error> {
        if let Some(error) = self.hook.as_ref().and_then(|h| h.on_sync(path)) {
            return Err(io_error("fdatasync", path, error));
        }
        file.sync_data().map_err(|e| io_error("fdatasync", path, e))
    }

    /// fsync of a directory, so that files created or renamed in it survive a power loss.
    pub(crate) fn sync_dir(&self, dir: &Path) -> Result<(), Error> {
        if let Some(error) = self.hook.as_ref().and_then(|h| h.on_sync(dir)) {
            return Err(io_error("fsync directory", dir, error));
        }
        sync_dir(dir).map_err(|e| io_error("fsync directory", dir, e))
    }
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    // Directories cannot be opened for syncing on this platform; its file system orders
    // metadata updates itself.
    Ok(())
}

#[cfg(unix)]
pub(crate) fn write_all_at(file: &File, bytes: &[u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, bytes, offset)
}

#[cfg(windows)]
pub(crate) fn write_all_at(file: &File, mut bytes: &[u8], mut offset: u64) -> io::Result<()> {
    while !bytes.is_empty() {
        let n = std::os::windows::fs::FileExt::seek_write(file, bytes, offset)?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        bytes = &bytes[n..];
        offset += n as u64;
    }
    Ok(())
}

#[cfg(unix)]
pub(crate) fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(windows)]
pub(crate) fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    while !buf.is_empty() {
        let n = std::os::windows::fs::FileExt::seek_read(file, buf, offset)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf = &mut buf[n..];
        offset += n as u64;
    }
    Ok(())
}

/// Opens a segment for reading and appending (never truncating).
pub(crate) fn open_rw(path: &Path) -> Result<File, Error> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| io_error("open", path, e))
}

/// The path of segment `n` in `dir`.
pub(crate) fn segment_path(dir: &Path, n: u32) -> PathBuf {
    dir.join(format!("seg-{n:08}.log"))
}

/// The segment number in a file name like `seg-00000012.log`.
pub(crate) fn segment_number(name: &str) -> Option<u32> {
    let digits = name.strip_prefix("seg-")?.strip_suffix(".log")?;
    if digits.len() != 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}
