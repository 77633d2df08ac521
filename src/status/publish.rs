//! Writing the page, the JSON and the feed into a directory, each file atomically.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::{PageSettings, Snapshot};
use crate::{Clock, Desk, Error, Store};

/// One file written by [`publish`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PublishedFile {
    /// Its path (the directory given to [`publish`] joined with its name).
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
}

/// What [`publish`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Published {
    /// The files, in the order written: `index.html`, the five `api/v2/*.json` files,
    /// `history.atom`.
    pub files: Vec<PublishedFile>,
}

impl Published {
    /// The bytes of all files together.
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }
}

/// The files of a publish, as (path relative to the directory, contents), in the order
/// [`publish`] writes them: `index.html`, `api/v2/summary.json`, `api/v2/status.json`,
/// `api/v2/components.json`, `api/v2/incidents.json`, `api/v2/scheduled-maintenances.json`,
/// `history.atom`.
pub fn render(settings: &PageSettings, snapshot: &Snapshot) -> Vec<(String, String)> {
    let mut files = Vec::with_capacity(7);
    files.push(("index.html".to_owned(), snapshot.html(settings)));
    for (name, json) in snapshot.statuspage_json(settings) {
        files.push((format!("api/v2/{name}"), json));
    }
    files.push(("history.atom".to_owned(), snapshot.atom(settings)));
    files
}

/// Writes the status page for `snapshot` into `dir`: `index.html`
/// ([`Snapshot::html`]), `api/v2/*.json` ([`Snapshot::statuspage_json`]) and `history.atom`
/// ([`Snapshot::atom`]), creating directories as needed.
///
/// Each file is replaced atomically: written to a temporary file in the same directory,
/// flushed to disk, renamed over the old one, and the directory flushed, so a web server
/// serving `dir` sees the old file or the new one, never a part. The files are replaced one
/// after the other (a reader may see a new page beside the previous JSON for a moment).
/// Nothing else in `dir` is touched.
///
/// # Errors
///
/// [`Error::Io`] naming the file or directory and the operation, if creating a directory,
/// writing, flushing or renaming fails. Files written before the failure stay (each whole);
/// the temporary file of the failed one is removed when possible.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use incidents::Service;
/// use incidents::status::{Component, PageSettings, Snapshot, publish};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let settings = PageSettings::new(
///     "shop.example",
///     "The shop",
///     "https://status.shop.example/",
///     "he",
///     chrono_tz::Asia::Jerusalem,
/// )
/// .component(Component::new(Service::new("online shop")?, "חנות"));
/// let at = Utc.with_ymd_and_hms(2026, 12, 3, 10, 0, 0).unwrap();
/// // No incidents: everything operational.
/// let snapshot = Snapshot::build(&settings, at, Vec::<&[incidents::Event]>::new());
/// let dir = tempfile::tempdir()?;
/// let published = publish(dir.path(), &settings, &snapshot)?;
/// assert_eq!(published.files.len(), 7);
/// let page = std::fs::read_to_string(dir.path().join("index.html"))?;
/// assert!(page.contains("כל המערכות פועלות"));
/// assert!(dir.path().join("api/v2/summary.json").is_file());
/// # Ok(()) }
/// ```
pub fn publish(
    dir: &Path,
    settings: &PageSettings,
    snapshot: &Snapshot,
) -> Result<Published, Error> {
    let mut files = Vec::with_capacity(7);
    for (name, contents) in render(settings, snapshot) {
        let path = dir.join(&name);
        write_atomically(&path, contents.as_bytes())?;
        files.push(PublishedFile {
            path,
            bytes: contents.len() as u64,
        });
    }
    Ok(Published { files })
}

impl<S: Store, C: Clock> Desk<S, C> {
    /// Publishes the desk's status page into `dir`: [`Desk::status_snapshot`] at the desk's
    /// clock, then [`publish`] (the page, the Statuspage JSON and the Atom feed, each file
    /// replaced atomically).
    ///
    /// Call it after every change a customer should see (a customer update, a resolution),
    /// or from the host's timer loop; it reads the store and writes seven files.
    ///
    /// ```
    /// use incidents::status::{Component, PageSettings};
    /// use incidents::{Actor, Desk, ManualClock, MemoryStore, NewIncident, Role, Severity, Source};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let clock = ManualClock::new(chrono::Utc::now());
    /// let desk = Desk::new(MemoryStore::new(), &clock)?;
    /// let dana = Actor::new("dana", "Dana", Role::Owner)?;
    /// desk.open(&dana, NewIncident::new("PSP down", Severity::Critical, "payments", Source::Alert)?)?;
    /// let settings = PageSettings::new("shop", "Shop", "https://status.shop.example/", "en", chrono_tz::UTC)
    ///     .component(Component::new("payments".parse()?, "Card payments"));
    /// let dir = tempfile::tempdir()?;
    /// let published = desk.publish_status(dir.path(), &settings)?;
    /// let page = std::fs::read_to_string(&published.files[0].path)?;
    /// assert!(page.contains("Major outage"));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// Store errors while loading the histories; [`Error::Io`] naming the path if a file
    /// cannot be written (see [`publish`]).
    pub fn publish_status(&self, dir: &Path, settings: &PageSettings) -> Result<Published, Error> {
        let snapshot = self.status_snapshot(settings)?;
        publish(dir, settings, &snapshot)
    }
}

fn io(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.to_path_buf();
    move |source| Error::Io { op, path, source }
}

/// A counter that keeps two writes in one process from sharing a temporary name.
static TEMP: AtomicU64 = AtomicU64::new(0);

/// Replaces `path` with `bytes`: temporary file beside it, write, fsync, rename, fsync the
/// directory.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(io("create directory", parent))?;
    let name = path
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    let temp = parent.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        TEMP.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut file = fs::File::create(&temp).map_err(io("create", &temp))?;
        file.write_all(bytes).map_err(io("write", &temp))?;
        file.sync_all().map_err(io("fsync", &temp))?;
        drop(file);
        fs::rename(&temp, path).map_err(io("rename", path))
    })();
    if result.is_err() {
        // The error says what failed; a leftover temporary file is only clutter.
        let _ = fs::remove_file(&temp);
        return result;
    }
    sync_dir(parent)
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> Result<(), Error> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("fsync directory", dir))
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> Result<(), Error> {
    // Directories cannot be opened for syncing on this platform; the rename is as durable as
    // the file system makes it.
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_atomic_write_replaces_the_file_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/c.txt");
        write_atomically(&path, b"one").unwrap();
        write_atomically(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(dir.path().join("a/b"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("c.txt")]);
    }

    #[test]
    fn a_failed_write_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        fs::write(&blocker, b"x").unwrap();
        // A directory cannot be created under a file.
        let err = write_atomically(&blocker.join("sub/x.html"), b"y").unwrap_err();
        let message = err.to_string();
        assert!(message.contains("create directory"), "{message}");
        assert!(message.contains("file"), "{message}");
    }
}
