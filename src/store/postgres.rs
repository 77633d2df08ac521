//! A [`Store`] in a PostgreSQL database (feature `postgres`).

use std::sync::{Mutex, MutexGuard};

use postgres::{Client, NoTls};

use crate::error::{Error, Result};
use crate::lifecycle::Event;
use crate::model::IncidentId;
use crate::store::sql::{self, EVENT_SCHEMA, SCHEMA_VERSION};
use crate::store::{Append, FeedItem, Store, Version};

const BACKEND: &str = "postgres";

/// Advisory lock key taken by every append transaction (and by schema migration), so that
/// positions are handed out in commit order and a desk catching up never skips a row that
/// commits later with a smaller position. Appends are short; small businesses append a few
/// events a second, far below what one lock allows.
const APPEND_LOCK: i64 = 0x696e_6369_6465_6e74; // "incident"

/// A [`Store`] in PostgreSQL, for a shop with several tills or a web shop on more than one
/// server: every desk (thread or process) talks to the same database.
///
/// One row per event in `incident_events` with a unique `(incident, version)` key; each
/// append or batch is one transaction that checks the versions first, so a stale append is
/// a [`Conflict`](crate::Conflict) and nothing is half-written. A global `position`
/// (`BIGSERIAL`, handed out under a transaction-scoped advisory lock, so in commit order)
/// lets every desk catch up on what the others appended ([`Store::feed`],
/// [`Desk::catch_up`](crate::Desk::catch_up)); each append also sends
/// `NOTIFY incident_events` for hosts that prefer to `LISTEN` rather than poll.
///
/// The schema is created and migrated on connect, idempotently, under the same lock.
///
/// **Connection failures.** A failed call returns [`Error::Unavailable`] and drops the
/// connection; the next call connects again, so the desk works again as soon as the
/// database is back. No call retries by itself.
pub struct PostgresStore {
    params: String,
    client: Mutex<Option<Client>>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").finish_non_exhaustive()
    }
}

/// Maps a client error: connection trouble is [`Error::Unavailable`], the rest
/// [`Error::Backend`].
fn fail(op: &'static str) -> impl Fn(postgres::Error) -> Error {
    move |e| {
        let io = std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>());
        if e.is_closed() || io || e.to_string().contains("connection") {
            Error::Unavailable {
                backend: BACKEND,
                message: format!("{op}: {e}"),
            }
        } else {
            Error::Backend {
                backend: BACKEND,
                op,
                message: e.to_string(),
            }
        }
    }
}

impl PostgresStore {
    /// Connects with libpq-style parameters (`host=127.0.0.1 port=5432 user=shop dbname=shop`,
    /// or a `postgresql://` URL) and creates or migrates the schema.
    ///
    /// # Errors
    /// [`Error::Unavailable`] if the server cannot be reached; [`Error::Backend`] if the schema
    /// is newer than this version understands.
    pub fn connect(params: &str) -> Result<PostgresStore> {
        let store = PostgresStore {
            params: params.to_string(),
            client: Mutex::new(None),
        };
        store.with_client(migrate)?;
        Ok(store)
    }

    fn guard(&self) -> MutexGuard<'_, Option<Client>> {
        // The client is only replaced whole; a poisoned lock still guards a usable value.
        self.client.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` with a live connection, connecting first if needed. If `f` fails because the
    /// connection broke, the connection is dropped so the next call reconnects.
    fn with_client<T>(&self, f: impl FnOnce(&mut Client) -> Result<T>) -> Result<T> {
        let mut guard = self.guard();
        if guard.as_ref().is_none_or(Client::is_closed) {
            *guard = Some(Client::connect(&self.params, NoTls).map_err(fail("connect"))?);
        }
        let Some(client) = guard.as_mut() else {
            return Err(Error::Unavailable {
                backend: BACKEND,
                message: "no connection".into(),
            });
        };
        let result = f(client);
        if matches!(result, Err(Error::Unavailable { .. })) || client.is_closed() {
            *guard = None;
        }
        result
    }
}

/// A dedicated connection that `LISTEN`s for appends, so a host can wake its catch-up loop
/// when another desk appends instead of polling. From [`PostgresStore::listen`].
pub struct ChangeListener {
    client: Client,
}

impl std::fmt::Debug for ChangeListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangeListener").finish_non_exhaustive()
    }
}

impl ChangeListener {
    /// Waits up to `timeout` for at least one append by any desk; returns whether one came.
    /// Several appends may be folded into one wake-up: call
    /// [`Desk::catch_up`](crate::Desk::catch_up) after it, which reads everything new.
    ///
    /// # Errors
    /// [`Error::Unavailable`] if the connection broke (make a new listener).
    pub fn wait(&mut self, timeout: std::time::Duration) -> Result<bool> {
        use postgres::fallible_iterator::FallibleIterator;
        let mut notifications = self.client.notifications();
        let first = notifications.timeout_iter(timeout).next();
        match first {
            Ok(Some(_)) => {
                // Drain what else is already there.
                while let Ok(Some(_)) = notifications.iter().next() {}
                Ok(true)
            }
            Ok(None) => Ok(false),
            Err(e) => Err(fail("listen")(e)),
        }
    }
}

impl PostgresStore {
    /// Opens a second connection that listens for appends (`LISTEN incident_events`).
    ///
    /// # Errors
    /// [`Error::Unavailable`] if the server cannot be reached.
    pub fn listen(&self) -> Result<ChangeListener> {
        let mut client = Client::connect(&self.params, NoTls).map_err(fail("connect"))?;
        client
            .batch_execute("LISTEN incident_events")
            .map_err(fail("listen"))?;
        Ok(ChangeListener { client })
    }
}

fn migrate(client: &mut Client) -> Result<()> {
    let mut tx = client.transaction().map_err(fail("migrate"))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&APPEND_LOCK])
        .map_err(fail("migrate"))?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS incidents_schema (version INTEGER NOT NULL);
         CREATE TABLE IF NOT EXISTS incident_events (
             position BIGSERIAL PRIMARY KEY,
             incident BYTEA NOT NULL,
             version  BIGINT NOT NULL,
             schema   SMALLINT NOT NULL,
             event    TEXT NOT NULL,
             UNIQUE (incident, version)
         );",
    )
    .map_err(fail("migrate"))?;
    let row = tx
        .query_one("SELECT MAX(version) FROM incidents_schema", &[])
        .map_err(fail("migrate"))?;
    let found: Option<i32> = column(&row, 0)?;
    match found {
        None => {
            tx.execute(
                "INSERT INTO incidents_schema (version) VALUES ($1)",
                &[&(SCHEMA_VERSION as i32)],
            )
            .map_err(fail("migrate"))?;
        }
        Some(v) if i64::from(v) > SCHEMA_VERSION => {
            return Err(Error::Backend {
                backend: BACKEND,
                op: "migrate",
                message: format!(
                    "the database has schema {v}, newer than this version understands ({SCHEMA_VERSION})"
                ),
            });
        }
        // Equal: nothing to do. Older schemas would be migrated here, step by step.
        Some(_) => {}
    }
    tx.commit().map_err(fail("migrate"))
}

/// Reads column `i` of `row`; a column of an unexpected type is a backend error, not a panic.
fn column<'a, T: postgres::types::FromSql<'a>>(row: &'a postgres::Row, i: usize) -> Result<T> {
    row.try_get(i).map_err(fail("read row"))
}

fn to_item(row: &postgres::Row) -> Result<FeedItem> {
    let position: i64 = column(row, 0)?;
    let incident: Vec<u8> = column(row, 1)?;
    let version: i64 = column(row, 2)?;
    let schema: i16 = column(row, 3)?;
    let text: String = column(row, 4)?;
    let incident: [u8; 16] = incident.try_into().map_err(|_| Error::Corrupt {
        path: format!("{BACKEND}:incident_events").into(),
        offset: u64::try_from(position).unwrap_or(0),
        reason: "incident id is not 16 bytes".into(),
    })?;
    Ok(FeedItem {
        position: u64::try_from(position).unwrap_or(0),
        incident: IncidentId::from_bytes(incident),
        version: Version::new(sql::version_from(version, BACKEND)?),
        event: sql::decode(&text, i64::from(schema), BACKEND, position)?,
    })
}

impl Store for PostgresStore {
    fn append(&self, id: IncidentId, expected: Version, events: &[Event]) -> Result<Version> {
        sql::append_one(self, id, expected, events)
    }

    /// One transaction, six round trips however large the batch: begin, lock, read every
    /// incident's version with one query, insert every row with one statement, notify,
    /// commit.
    fn append_batch(&self, batch: &[Append<'_>]) -> Result<Vec<Version>> {
        self.with_client(|client| {
            let mut tx = client.transaction().map_err(fail("begin"))?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&APPEND_LOCK])
                .map_err(fail("lock"))?;
            let mut ids: Vec<&[u8]> = batch.iter().map(|a| &a.id.as_bytes()[..]).collect();
            ids.sort_unstable();
            ids.dedup();
            let found = tx
                .query(
                    "SELECT incident, MAX(version) FROM incident_events
                     WHERE incident = ANY($1) GROUP BY incident",
                    &[&ids],
                )
                .map_err(fail("read version"))?;
            let mut current = std::collections::HashMap::with_capacity(found.len());
            for row in &found {
                let incident: Vec<u8> = column(row, 0)?;
                let max: i64 = column(row, 1)?;
                current.insert(incident, sql::version_from(max, BACKEND)?);
            }
            let (versions, rows) = sql::plan(batch, |id| {
                Ok(current.get(&id.as_bytes()[..]).copied().unwrap_or(0))
            })?;
            if rows.is_empty() {
                tx.rollback().map_err(fail("rollback"))?;
                return Ok(versions);
            }
            let incidents: Vec<&[u8]> = rows.iter().map(|r| &r.incident.as_bytes()[..]).collect();
            let numbers: Vec<i64> = rows.iter().map(|r| r.version).collect();
            let schemas: Vec<i16> = vec![EVENT_SCHEMA as i16; rows.len()];
            let events: Vec<&str> = rows.iter().map(|r| r.event.as_str()).collect();
            // Rows go in, and get their positions, in the order given.
            tx.execute(
                "INSERT INTO incident_events (incident, version, schema, event)
                 SELECT i, v, s, e FROM unnest($1::bytea[], $2::bigint[], $3::smallint[], $4::text[])
                     WITH ORDINALITY AS r(i, v, s, e, n)
                 ORDER BY n",
                &[&incidents, &numbers, &schemas, &events],
            )
            .map_err(|e| {
                // Another writer slipped in despite the lock (it cannot, but the unique key
                // is the last word): report it as the conflict it is.
                                match batch.first() {
                    Some(first)
                        if e.code() == Some(&postgres::error::SqlState::UNIQUE_VIOLATION) =>
                    {
                        Error::Conflict(crate::error::Conflict {
                            incident: first.id,
                            expected: first.expected,
                            actual: first.expected.next(),
                        })
                    }
                    _ => fail("append")(e),
                }
            })?;
            tx.batch_execute("NOTIFY incident_events")
                .map_err(fail("notify"))?;
            tx.commit().map_err(fail("commit"))?;
            Ok(versions)
        })
    }

    fn load(&self, id: IncidentId) -> Result<Vec<Event>> {
        self.with_client(|client| {
            let rows = client
                .query(
                    "SELECT position, incident, version, schema, event FROM incident_events
                     WHERE incident = $1 ORDER BY version",
                    &[&&id.as_bytes()[..]],
                )
                .map_err(fail("load"))?;
            rows.iter().map(|r| to_item(r).map(|i| i.event)).collect()
        })
    }

    fn version(&self, id: IncidentId) -> Result<Version> {
        self.with_client(|client| {
            let row = client
                .query_one(
                    "SELECT COALESCE(MAX(version), 0) FROM incident_events WHERE incident = $1",
                    &[&&id.as_bytes()[..]],
                )
                .map_err(fail("read version"))?;
            let max: i64 = column(&row, 0)?;
            Ok(Version::new(sql::version_from(max, BACKEND)?))
        })
    }

    fn scan(&self, visit: &mut dyn FnMut(IncidentId, Version, &Event) -> Result<()>) -> Result<()> {
        sql::scan_by_feed(self, visit)
    }

    fn feed(&self, after: u64, limit: usize) -> Result<Option<Vec<FeedItem>>> {
        let after = i64::try_from(after).unwrap_or(i64::MAX);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with_client(|client| {
            let rows = client
                .query(
                    "SELECT position, incident, version, schema, event FROM incident_events
                     WHERE position > $1 ORDER BY position LIMIT $2",
                    &[&after, &limit],
                )
                .map_err(fail("feed"))?;
            rows.iter()
                .map(to_item)
                .collect::<Result<Vec<_>>>()
                .map(Some)
        })
    }
}
