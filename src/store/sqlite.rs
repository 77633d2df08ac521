//! A [`Store`] in an SQLite database (feature `sqlite`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::error::{Conflict, Error, Result};
use crate::lifecycle::Event;
use crate::model::IncidentId;
use crate::store::sql::{self, EVENT_SCHEMA};
use crate::store::{Append, FeedItem, LogPoint, Store, Tenant, Version};

const BACKEND: &str = "sqlite";

/// The schema this version creates and reads, kept in `incidents_schema`: a database with a
/// newer schema is refused, an older one is migrated on open. Schema 2 put a tenant on every
/// row; schema 1 (0.1) had none, and its rows become the default tenant's.
const SCHEMA_VERSION: i64 = 2;

/// A [`Store`] in an SQLite database file, for hosts that already keep their data in SQLite
/// or want several processes (tills, a back office) on one file.
///
/// One row per event in `incident_events`, with a unique `(tenant, incident, version)` key,
/// so a stale append is a [`Conflict`](crate::Conflict) even between processes. Every append and
/// batch is one `BEGIN IMMEDIATE` transaction; the database runs in WAL mode with
/// `synchronous=FULL`, so an append that returned `Ok` survives a power loss. The schema is
/// created, and migrated, on open (idempotently; the version is kept in
/// `incidents_schema`; a database of 0.1 is migrated in one transaction, its rows kept as
/// the default tenant's). Positions, counted per tenant in `incident_tenants`, give every
/// desk on the file the order to catch up in ([`Store::feed`]).
///
/// **Tenants.** A vendor that keeps many shops in one file scopes a handle to each with
/// [`SqliteStore::tenant`]: its desk sees, appends, catches up on and snapshots that
/// tenant's rows only, and two tenants may hold the same incident ids without meeting. The
/// tenant is the first column of every key. A store from [`SqliteStore::open`] is the
/// [`Tenant::DEFAULT`]'s, which is all a single-shop host needs. SQLite has one writer at a
/// time, so tenants share the file's write rate; for many shops writing at once, see
/// `PostgresStore`.
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
    /// Shared by every handle [`SqliteStore::tenant`] makes from the same open.
    conn: Arc<Mutex<Connection>>,
    tenant: Tenant,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .field("tenant", &self.tenant)
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
            conn: Arc::new(Mutex::new(conn)),
            tenant: Tenant::DEFAULT,
        })
    }

    /// A handle on the same database (and connection) scoped to `tenant`: everything it
    /// reads, appends and snapshots is that tenant's alone.
    ///
    /// ```
    /// use incidents::store::{SqliteStore, Tenant};
    /// use incidents::{IncidentId, Store, Version};
    /// # let dir = std::env::temp_dir().join(format!("incidents-sqlite-tenant-{}", std::process::id()));
    /// # let _ = std::fs::remove_dir_all(&dir);
    /// # std::fs::create_dir_all(&dir).unwrap();
    /// let db = SqliteStore::open(dir.join("shops.db"))?;
    /// let shop_7 = db.tenant(Tenant::new("shop-7")?);
    /// let shop_42 = db.tenant("shop-42".parse()?);
    /// let id = IncidentId::from_bytes([7; 16]);
    /// # let event = incidents::Event::new(chrono::DateTime::UNIX_EPOCH, incidents::Actor::system(),
    /// #     incidents::Change::NoteAdded { text: incidents::Text::new("note", "till 3 jams")? });
    /// shop_7.append(id, Version::ZERO, &[event])?;
    /// assert_eq!(shop_7.version(id)?, Version::new(1));
    /// assert_eq!(shop_42.version(id)?, Version::ZERO); // the same id, another shop
    /// assert_eq!(db.tenants()?, vec![Tenant::new("shop-7")?]);
    /// # drop((db, shop_7, shop_42));
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// # Ok::<(), incidents::Error>(())
    /// ```
    #[must_use]
    pub fn tenant(&self, tenant: Tenant) -> SqliteStore {
        SqliteStore {
            path: self.path.clone(),
            conn: Arc::clone(&self.conn),
            tenant,
        }
    }

    /// The tenant this handle is scoped to.
    pub fn scope(&self) -> &Tenant {
        &self.tenant
    }

    /// Every tenant with rows in the database (the default tenant included, if it has any),
    /// in name order.
    ///
    /// # Errors
    /// [`Error::Unavailable`] or [`Error::Backend`] as any query; [`Error::Invalid`] for a
    /// stored name this crate did not write.
    pub fn tenants(&self) -> Result<Vec<Tenant>> {
        let conn = self.conn();
        let mut select = conn
            .prepare_cached("SELECT tenant FROM incident_tenants ORDER BY tenant")
            .map_err(fail("list tenants"))?;
        let names = select
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(fail("list tenants"))?
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(fail("list tenants"))?;
        names.iter().map(|n| Tenant::from_stored(n)).collect()
    }

    /// Deletes every row of this handle's tenant, events, snapshot and position counter, in
    /// one transaction (a shop that leaves: erasure). Returns how many events were deleted.
    /// Other tenants are untouched. A desk still open on this tenant keeps what it had in
    /// memory: drop it first. The tenant may be used again afterwards, from position 1.
    ///
    /// The rows are gone from the database at once; SQLite reuses their pages, and
    /// `VACUUM` gives them back to the file system.
    ///
    /// # Errors
    /// [`Error::Unavailable`] or [`Error::Backend`]; nothing was deleted then.
    pub fn erase(&self) -> Result<u64> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail("begin"))?;
        let tenant = self.tenant.as_str();
        let events = tx
            .execute(
                "DELETE FROM incident_events WHERE tenant = ?1",
                params![tenant],
            )
            .map_err(fail("erase"))?;
        tx.execute(
            "DELETE FROM incident_snapshots WHERE tenant = ?1",
            params![tenant],
        )
        .map_err(fail("erase"))?;
        tx.execute(
            "DELETE FROM incident_tenants WHERE tenant = ?1",
            params![tenant],
        )
        .map_err(fail("erase"))?;
        tx.commit().map_err(fail("commit"))?;
        Ok(events as u64)
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

/// The tables of schema 2: the tenant first in every key.
const TABLES_V2: &str = "
    CREATE TABLE IF NOT EXISTS incident_tenants (
        tenant        TEXT PRIMARY KEY,
        last_position INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS incident_events (
        tenant   TEXT NOT NULL,
        position INTEGER NOT NULL,
        incident BLOB NOT NULL,
        version  INTEGER NOT NULL,
        schema   INTEGER NOT NULL,
        event    TEXT NOT NULL,
        PRIMARY KEY (tenant, position),
        UNIQUE (tenant, incident, version)
    );
    CREATE TABLE IF NOT EXISTS incident_snapshots (
        tenant TEXT NOT NULL,
        name   TEXT NOT NULL,
        bytes  BLOB NOT NULL,
        PRIMARY KEY (tenant, name)
    );";

/// From schema 1 (0.1: one global `position AUTOINCREMENT`, no tenant) to 2: the old tables
/// are copied into the new ones as the default tenant's rows, positions kept (so a projection
/// snapshot taken before stays valid), and dropped. A schema 1 database made before
/// snapshots existed gets their old table first, empty.
const FROM_1_TO_2: &str = "
    CREATE TABLE IF NOT EXISTS incident_snapshots (name TEXT PRIMARY KEY, bytes BLOB NOT NULL);
    ALTER TABLE incident_events RENAME TO incident_events_v1;
    ALTER TABLE incident_snapshots RENAME TO incident_snapshots_v1;
    CREATE TABLE incident_tenants (
        tenant        TEXT PRIMARY KEY,
        last_position INTEGER NOT NULL
    );
    CREATE TABLE incident_events (
        tenant   TEXT NOT NULL,
        position INTEGER NOT NULL,
        incident BLOB NOT NULL,
        version  INTEGER NOT NULL,
        schema   INTEGER NOT NULL,
        event    TEXT NOT NULL,
        PRIMARY KEY (tenant, position),
        UNIQUE (tenant, incident, version)
    );
    CREATE TABLE incident_snapshots (
        tenant TEXT NOT NULL,
        name   TEXT NOT NULL,
        bytes  BLOB NOT NULL,
        PRIMARY KEY (tenant, name)
    );
    INSERT INTO incident_events (tenant, position, incident, version, schema, event)
        SELECT '', position, incident, version, schema, event
        FROM incident_events_v1 ORDER BY position;
    INSERT INTO incident_tenants (tenant, last_position)
        SELECT '', MAX(position) FROM incident_events_v1 HAVING COUNT(*) > 0;
    INSERT INTO incident_snapshots (tenant, name, bytes)
        SELECT '', name, bytes FROM incident_snapshots_v1;
    DROP TABLE incident_events_v1;
    DROP TABLE incident_snapshots_v1;
    UPDATE incidents_schema SET version = 2;";

/// Creates the schema, or checks and migrates an existing one. Idempotent, and safe when
/// several processes open the same file at once (it runs in an immediate transaction, so
/// one migrates and the others find it done).
fn migrate(conn: &Connection) -> Result<()> {
    let tx = rusqlite::Transaction::new_unchecked(conn, TransactionBehavior::Immediate)
        .map_err(fail("migrate"))?;
    tx.execute_batch("CREATE TABLE IF NOT EXISTS incidents_schema (version INTEGER NOT NULL);")
        .map_err(fail("migrate"))?;
    let found: Option<i64> = tx
        .query_row("SELECT MAX(version) FROM incidents_schema", [], |r| {
            r.get(0)
        })
        .map_err(fail("migrate"))?;
    match found {
        None => {
            tx.execute_batch(TABLES_V2).map_err(fail("migrate"))?;
            tx.execute(
                "INSERT INTO incidents_schema (version) VALUES (?1)",
                params![SCHEMA_VERSION],
            )
            .map_err(fail("migrate"))?;
        }
        Some(v) if v == SCHEMA_VERSION => {}
        Some(1) => tx.execute_batch(FROM_1_TO_2).map_err(fail("migrate"))?,
        Some(v) => {
            return Err(Error::Backend {
                backend: BACKEND,
                op: "migrate",
                source: format!(
                    "the database has schema {v}, which this version does not read \
                     (it reads 1 and {SCHEMA_VERSION})"
                )
                .into(),
            });
        }
    }
    tx.commit().map_err(fail("migrate"))
}

fn current_version(tx: &rusqlite::Transaction<'_>, tenant: &str, id: IncidentId) -> Result<u64> {
    let max: Option<i64> = tx
        .prepare_cached(
            "SELECT MAX(version) FROM incident_events WHERE tenant = ?1 AND incident = ?2",
        )
        .and_then(|mut select| select.query_row(params![tenant, &id.as_bytes()[..]], |r| r.get(0)))
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
        let tenant = self.tenant.as_str();
        let (versions, rows) = sql::plan(batch, |id| current_version(&tx, tenant, id))?;
        if rows.is_empty() {
            return Ok(versions);
        }
        {
            let last: Option<i64> = tx
                .prepare_cached("SELECT last_position FROM incident_tenants WHERE tenant = ?1")
                .and_then(|mut select| select.query_row(params![tenant], |r| r.get(0)).optional())
                .map_err(fail("append"))?;
            let mut position = last.unwrap_or(0);
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO incident_events (tenant, position, incident, version, schema, event)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(fail("append"))?;
            for row in &rows {
                position += 1;
                insert
                    .execute(params![
                        tenant,
                        position,
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
            tx.prepare_cached(
                "INSERT INTO incident_tenants (tenant, last_position) VALUES (?1, ?2)
                 ON CONFLICT (tenant) DO UPDATE SET last_position = excluded.last_position",
            )
            .and_then(|mut upsert| upsert.execute(params![tenant, position]))
            .map_err(fail("append"))?;
        }
        tx.commit().map_err(fail("commit"))?;
        Ok(versions)
    }

    fn load(&self, id: IncidentId) -> Result<Vec<Event>> {
        let conn = self.conn();
        let mut select = conn
            .prepare_cached(
                "SELECT position, schema, event FROM incident_events
                 WHERE tenant = ?1 AND incident = ?2 ORDER BY version",
            )
            .map_err(fail("load"))?;
        let rows = select
            .query_map(params![self.tenant.as_str(), &id.as_bytes()[..]], |r| {
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
                "SELECT MAX(version) FROM incident_events WHERE tenant = ?1 AND incident = ?2",
                params![self.tenant.as_str(), &id.as_bytes()[..]],
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
                 WHERE tenant = ?1 AND position > ?2 ORDER BY position LIMIT ?3",
            )
            .map_err(fail("feed"))?;
        let after = i64::try_from(after).unwrap_or(i64::MAX);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = select
            .query_map(params![self.tenant.as_str(), after, limit], |r| {
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

    /// The tenant's last row's position (committed: SQLite has one writer at a time, and
    /// positions grow in commit order), marked with its incident id and version.
    fn log_end(&self) -> Result<Option<LogPoint>> {
        let conn = self.conn();
        let last: Option<(i64, Vec<u8>, i64)> = conn
            .prepare_cached(
                "SELECT position, incident, version FROM incident_events
                 WHERE tenant = ?1 ORDER BY position DESC LIMIT 1",
            )
            .and_then(|mut select| {
                select
                    .query_row(params![self.tenant.as_str()], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                    })
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
            conn.prepare_cached(
                "SELECT incident, version FROM incident_events WHERE tenant = ?1 AND position = ?2",
            )
            .and_then(|mut select| {
                select
                    .query_row(params![self.tenant.as_str(), position], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })
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
            "INSERT INTO incident_snapshots (tenant, name, bytes) VALUES (?1, ?2, ?3)
             ON CONFLICT (tenant, name) DO UPDATE SET bytes = excluded.bytes",
            params![self.tenant.as_str(), sql::SNAPSHOT_NAME, bytes],
        )
        .map_err(fail("save snapshot"))?;
        tx.commit().map_err(fail("commit"))
    }

    fn load_snapshot(&self) -> Result<Option<Vec<u8>>> {
        let conn = self.conn();
        conn.query_row(
            "SELECT bytes FROM incident_snapshots WHERE tenant = ?1 AND name = ?2",
            params![self.tenant.as_str(), sql::SNAPSHOT_NAME],
            |r| r.get(0),
        )
        .optional()
        .map_err(fail("load snapshot"))
    }
}
