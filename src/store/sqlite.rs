//! A [`Store`] in an SQLite database (feature `sqlite`).

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::error::{Conflict, Error, Result};
use crate::lifecycle::Event;
use crate::model::IncidentId;
use crate::store::sql::{self, EVENT_SCHEMA, SCHEMA_VERSION};
use crate::store::{Append, FeedItem, LogPoint, Store, Version};

const BACKEND: &str = "sqlite";

/// A [`Store`] in an SQLite database file, for hosts that already keep their data in SQLite
/// or want several processes (tills, a back office) on one file.
///
/// One row per event in `incident_events`, with a unique `(incident, version)` key, so a
/// stale append is a [`Conflict`](crate::Conflict) even between processes. Every append and
/// batch is one `BEGIN IMMEDIATE` transaction; the database runs in WAL mode with
/// `synchronous=FULL`, so an append that returned `Ok` survives a power loss. The schema is
/// created, and migrated, on open (idempotently; the version is kept in
/// `incidents_schema`). Positions (`position`, an `AUTOINCREMENT` key) give every desk on
/// the file the order to catch up in ([`Store::feed`]).
///
/// **Projection snapshots** ([`Desk::save_snapshot`](crate::Desk::save_snapshot)) go in the
/// table `incident_snapshots`, one row, replaced in one transaction. A log point is a
/// position with a hash of the incident id and version of the row there, so a snapshot
/// copied from another database is recognised and ignored.
///
/// ```
/// use incidents::store::SqliteStore;
/// use incidents::{Store, Version, IncidentId};
/// # let dir = tempfile_dir();
/// # fn tempfile_dir() -> std::path::PathBuf {
/// #     let d = std::env::temp_dir().join(format!("incidents-sqlite-doc-{}", std::process::id()));
/// #     let _ = std::fs::remove_dir_all(&d);
/// #     std::fs::create_dir_all(&d).unwrap();
/// #     d
/// # }
/// let store = SqliteStore::open(dir.join("incidents.db"))?;
/// assert_eq!(store.version(IncidentId::from_bytes([1; 16]))?, Version::ZERO);
/// # drop(store);
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), incidents::Error>(())
/// ```
pub struct SqliteStore {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Maps a SQLite error by its result code, never by its text: what passes (busy, locked, a
/// file that cannot be opened now, a full disk, an I/O error, no memory) is
/// [`Error::Unavailable`], the rest [`Error::Backend`]. The error is kept as the source.
fn fail(op: &'static str) -> impl Fn(rusqlite::Error) -> Error {
    move |e| {
        if transient(&e) {
            Error::Unavailable {
                backend: BACKEND,
                op,
                source: Box::new(e),
            }
        } else {
            Error::Backend {
                backend: BACKEND,
                op,
                source: Box::new(e),
            }
        }
    }
}

fn transient(e: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode as C;
    e.sqlite_error_code().is_some_and(|code| {
        matches!(
            code,
            C::DatabaseBusy
                | C::DatabaseLocked
                | C::CannotOpen
                | C::DiskFull
                | C::SystemIoFailure
                | C::OutOfMemory
        )
    })
}

/// Whether `e` is a broken unique key (`SQLITE_CONSTRAINT_UNIQUE`).
fn unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
}

impl SqliteStore {
    /// Opens (or creates) the database at `path`, and creates or migrates the schema.
    ///
    /// # Errors
    /// [`Error::Unavailable`] if the file cannot be opened or stays locked for 5 s;
    /// [`Error::Backend`] if the schema is newer than this version understands.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore> {
        let path = path.as_ref().to_path_buf();
        let conn = Connection::open(&path).map_err(fail("open"))?;
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(fail("configure"))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(fail("configure"))?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(fail("configure"))?;
        migrate(&conn)?;
        Ok(SqliteStore {
            path,
            conn: Mutex::new(conn),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic inside a transaction rolls it back when the transaction is dropped, so a
        // poisoned lock still guards a usable connection.
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Creates the schema, or checks and migrates an existing one. Idempotent, and safe when
/// several processes open the same file at once (it runs in an immediate transaction).
fn migrate(conn: &Connection) -> Result<()> {
    let tx = rusqlite::Transaction::new_unchecked(conn, TransactionBehavior::Immediate)
        .map_err(fail("migrate"))?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS incidents_schema (version INTEGER NOT NULL);
         CREATE TABLE IF NOT EXISTS incident_events (
             position INTEGER PRIMARY KEY AUTOINCREMENT,
             incident BLOB NOT NULL,
             version  INTEGER NOT NULL,
             schema   INTEGER NOT NULL,
             event    TEXT NOT NULL,
             UNIQUE (incident, version)
         );
         CREATE TABLE IF NOT EXISTS incident_snapshots (
             name  TEXT PRIMARY KEY,
             bytes BLOB NOT NULL
         );",
    )
    .map_err(fail("migrate"))?;
    let found: Option<i64> = tx
        .query_row("SELECT MAX(version) FROM incidents_schema", [], |r| {
            r.get(0)
        })
        .map_err(fail("migrate"))?;
    match found {
        None => {
            tx.execute(
                "INSERT INTO incidents_schema (version) VALUES (?1)",
                params![SCHEMA_VERSION],
            )
            .map_err(fail("migrate"))?;
        }
        Some(v) if v == SCHEMA_VERSION => {}
        Some(v) if v > SCHEMA_VERSION => {
            return Err(Error::Backend {
                backend: BACKEND,
                op: "migrate",
                source: format!(
                    "the database has schema {v}, newer than this version understands ({SCHEMA_VERSION})"
                )
                .into(),
            });
        }
        // Older schemas would be migrated here, one step at a time.
        Some(_) => {}
    }
    tx.commit().map_err(fail("migrate"))
}

fn current_version(tx: &rusqlite::Transaction<'_>, id: IncidentId) -> Result<u64> {
    let max: Option<i64> = tx
        .query_row(
            "SELECT MAX(version) FROM incident_events WHERE incident = ?1",
            params![&id.as_bytes()[..]],
            |r| r.get(0),
        )
        .map_err(fail("read version"))?;
    sql::version_from(max.unwrap_or(0), BACKEND)
}

impl Store for SqliteStore {
    fn append(&self, id: IncidentId, expected: Version, events: &[Event]) -> Result<Version> {
        sql::append_one(self, id, expected, events)
    }

    fn append_batch(&self, batch: &[Append<'_>]) -> Result<Vec<Version>> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail("begin"))?;
        let (versions, rows) = sql::plan(batch, |id| current_version(&tx, id))?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO incident_events (incident, version, schema, event)
                     VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(fail("append"))?;
            for row in &rows {
                insert
                    .execute(params![
                        &row.incident.as_bytes()[..],
                        row.version,
                        EVENT_SCHEMA,
                        row.event
                    ])
                    .map_err(|e| match batch.first() {
                        // Another writer slipped in despite the immediate transaction (it
                        // cannot, but the unique key is the last word): the conflict it is.
                        Some(first) if unique_violation(&e) => Error::Conflict(Conflict {
                            incident: first.id,
                            expected: first.expected,
                            actual: first.expected.next(),
                        }),
                        _ => fail("append")(e),
                    })?;
            }
        }
        tx.commit().map_err(fail("commit"))?;
        Ok(versions)
    }

    fn load(&self, id: IncidentId) -> Result<Vec<Event>> {
        let conn = self.conn();
        let mut select = conn
            .prepare_cached(
                "SELECT position, schema, event FROM incident_events
                 WHERE incident = ?1 ORDER BY version",
            )
            .map_err(fail("load"))?;
        let rows = select
            .query_map(params![&id.as_bytes()[..]], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .map_err(fail("load"))?;
        let mut events = Vec::new();
        for row in rows {
            let (position, schema, text) = row.map_err(fail("load"))?;
            events.push(sql::decode(&text, schema, BACKEND, position)?);
        }
        Ok(events)
    }

    fn version(&self, id: IncidentId) -> Result<Version> {
        let conn = self.conn();
        let max: Option<i64> = conn
            .query_row(
                "SELECT MAX(version) FROM incident_events WHERE incident = ?1",
                params![&id.as_bytes()[..]],
                |r| r.get(0),
            )
            .optional()
            .map_err(fail("read version"))?
            .flatten();
        Ok(Version::new(sql::version_from(max.unwrap_or(0), BACKEND)?))
    }

    fn scan(&self, visit: &mut dyn FnMut(IncidentId, Version, &Event) -> Result<()>) -> Result<()> {
        sql::scan_by_feed(self, visit)
    }

    fn feed(&self, after: u64, limit: usize) -> Result<Option<Vec<FeedItem>>> {
        let conn = self.conn();
        let mut select = conn
            .prepare_cached(
                "SELECT position, incident, version, schema, event FROM incident_events
                 WHERE position > ?1 ORDER BY position LIMIT ?2",
            )
            .map_err(fail("feed"))?;
        let after = i64::try_from(after).unwrap_or(i64::MAX);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = select
            .query_map(params![after, limit], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, String>(4)?,
                ))
            })
            .map_err(fail("feed"))?;
        let mut out = Vec::new();
        for row in rows {
            let (position, incident, version, schema, text) = row.map_err(fail("feed"))?;
            let incident: [u8; 16] = incident.try_into().map_err(|_| Error::Corrupt {
                path: format!("{BACKEND}:incident_events").into(),
                offset: u64::try_from(position).unwrap_or(0),
                reason: "incident id is not 16 bytes".into(),
            })?;
            out.push(FeedItem {
                position: u64::try_from(position).unwrap_or(0),
                incident: IncidentId::from_bytes(incident),
                version: Version::new(sql::version_from(version, BACKEND)?),
                event: sql::decode(&text, schema, BACKEND, position)?,
            });
        }
        Ok(Some(out))
    }

    /// The last row's position (committed: SQLite has one writer at a time, and positions
    /// grow in commit order), marked with its incident id and version.
    fn log_end(&self) -> Result<Option<LogPoint>> {
        let conn = self.conn();
        let last: Option<(i64, Vec<u8>, i64)> = conn
            .prepare_cached(
                "SELECT position, incident, version FROM incident_events
                 ORDER BY position DESC LIMIT 1",
            )
            .and_then(|mut select| {
                select
                    .query_row([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .optional()
            })
            .map_err(fail("read log end"))?;
        let last = last
            .as_ref()
            .map(|(position, incident, version)| (*position, &incident[..], *version));
        sql::point_after(last, BACKEND).map(Some)
    }

    fn has_point(&self, point: LogPoint) -> Result<bool> {
        sql::has_point(point, |position| {
            let conn = self.conn();
            conn.prepare_cached("SELECT incident, version FROM incident_events WHERE position = ?1")
                .and_then(|mut select| {
                    select
                        .query_row(params![position], |r| Ok((r.get(0)?, r.get(1)?)))
                        .optional()
                })
                .map_err(fail("check log point"))
        })
    }

    fn scan_after(
        &self,
        point: LogPoint,
        visit: &mut dyn FnMut(IncidentId, Version, &Event) -> Result<()>,
    ) -> Result<bool> {
        sql::scan_after_by_feed(self, point, visit)
    }

    fn save_snapshot(&self, bytes: &[u8]) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail("begin"))?;
        tx.execute(
            "INSERT INTO incident_snapshots (name, bytes) VALUES (?1, ?2)
             ON CONFLICT (name) DO UPDATE SET bytes = excluded.bytes",
            params![sql::SNAPSHOT_NAME, bytes],
        )
        .map_err(fail("save snapshot"))?;
        tx.commit().map_err(fail("commit"))
    }

    fn load_snapshot(&self) -> Result<Option<Vec<u8>>> {
        let conn = self.conn();
        conn.query_row(
            "SELECT bytes FROM incident_snapshots WHERE name = ?1",
            params![sql::SNAPSHOT_NAME],
            |r| r.get(0),
        )
        .optional()
        .map_err(fail("load snapshot"))
    }
}
