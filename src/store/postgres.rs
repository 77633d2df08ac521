//! A [`Store`] in a PostgreSQL database (feature `postgres`).

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use postgres::error::SqlState;
use postgres::{Client, Config, NoTls, Statement};

use crate::error::{Error, Invalid, Result};
use crate::lifecycle::Event;
use crate::model::IncidentId;
use crate::store::sql::{self, EVENT_SCHEMA};
use crate::store::{Append, FeedItem, LogPoint, Store, Tenant, Version};

const BACKEND: &str = "postgres";

/// The schema this version creates and reads, kept in `incidents_schema`: a database with a
/// newer schema is refused, an older one is migrated on connect.
const SCHEMA_VERSION: i64 = 2;

/// The `op` of a failed `BEGIN`: nothing was sent that could have changed anything.
const BEGIN: &str = "begin";

/// Advisory lock key taken by schema creation and migration, so that two processes
/// connecting at once to a new or old database do not both create or migrate it. (Schema 1
/// also took it in every append; since schema 2 an append locks only its tenant's row in
/// `incident_tenants`.)
const MIGRATE_LOCK: i64 = 0x696e_6369_6465_6e74; // "incident"

/// The `NOTIFY` channel of the default tenant; other tenants' channels add a hash of the
/// name to it (see [`PostgresStore::channel`]).
const CHANNEL: &str = "incident_events";

/// The default connect timeout, when neither the options nor the parameters set one.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The default `statement_timeout` of every pooled connection.
const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);
/// The default number of connections a [`PostgresStore`] keeps open at most.
const DEFAULT_MAX_CONNECTIONS: usize = 4;

/// Options for [`PostgresStore::connect_with`].
///
/// ```
/// use std::time::Duration;
/// use incidents::store::PostgresOptions;
///
/// let options = PostgresOptions::new()
///     .max_connections(8)
///     .statement_timeout(Duration::from_secs(5));
/// assert_eq!(options.get_max_connections(), 8);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresOptions {
    connect_timeout: Option<Duration>,
    statement_timeout: Duration,
    max_connections: usize,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        PostgresOptions {
            connect_timeout: None,
            statement_timeout: DEFAULT_STATEMENT_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

impl PostgresOptions {
    /// The defaults: the parameters' `connect_timeout`, else 5 s; a statement timeout of
    /// 30 s; at most 4 connections.
    pub fn new() -> Self {
        Self::default()
    }

    /// How long connecting may take (overrides `connect_timeout` in the parameters). It also
    /// bounds how long a call waits for a free connection when all are busy.
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// The server cancels any statement running longer than this (PostgreSQL's
    /// `statement_timeout`, set on every connection; it also bounds waiting for the append
    /// lock). The call then fails with [`Error::Unavailable`]. [`Duration::ZERO`] turns the
    /// limit off.
    #[must_use]
    pub fn statement_timeout(mut self, timeout: Duration) -> Self {
        self.statement_timeout = timeout;
        self
    }

    /// The most connections the store keeps open (at least 1); a call beyond that waits for
    /// one to come free.
    #[must_use]
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// The statement timeout.
    pub fn get_statement_timeout(&self) -> Duration {
        self.statement_timeout
    }

    /// The most connections kept open.
    pub fn get_max_connections(&self) -> usize {
        self.max_connections
    }
}

/// A [`Store`] in PostgreSQL, for a shop with several tills or a web shop on more than one
/// server, or a vendor hosting many shops on one database: every desk (thread or process)
/// talks to the same database.
///
/// One row per event in `incident_events`, keyed by tenant first: `(tenant, position)` is
/// the primary key and `(tenant, incident, version)` is unique. Each append or batch is one
/// transaction that checks the versions first, so a stale append is a
/// [`Conflict`](crate::Conflict) and nothing is half-written. Positions are counted per
/// tenant, in the tenant's row of `incident_tenants`, which an append locks until it
/// commits: positions are handed out in commit order, so a desk catching up
/// ([`Store::feed`], [`Desk::catch_up`](crate::Desk::catch_up)) never skips a row that
/// commits later with a smaller position, and appends of different tenants never wait for
/// each other. Each append also sends a `NOTIFY` on its tenant's channel for hosts that
/// prefer to `LISTEN` rather than poll ([`PostgresStore::listen`]).
///
/// **Tenants.** [`PostgresStore::connect`] gives a handle on the default tenant, for a
/// single shop; [`PostgresStore::tenant`] a handle on one shop of many, sharing the pool.
/// A handle sees, appends, feeds, snapshots and listens to its own tenant's rows only;
/// [`PostgresStore::erase`] deletes them. Because the tenant is the first column of every
/// key, the tables can be partitioned or distributed by tenant without changing the crate:
/// see the crate's ARCHITECTURE.md ("Tenants") for the DDL.
///
/// The schema is created and migrated on connect, idempotently, under an advisory lock:
/// a database of schema 1 (before tenants) becomes the default tenant's, positions kept.
///
/// **Projection snapshots** ([`Desk::save_snapshot`](crate::Desk::save_snapshot)) go in the
/// table `incident_snapshots`, one row per tenant, replaced in one transaction (a `BYTEA`:
/// at most 1 GB, written within the statement timeout). A log point is a feed position with
/// a hash of the incident id and version of the row there, so a snapshot copied from
/// another database or tenant is recognised and ignored.
///
/// **Connections.** The store keeps a small pool (see [`PostgresOptions`]), shared by every
/// handle made from it with [`PostgresStore::tenant`]: each call takes a connection for as
/// long as its statements run, so threads query in parallel, and no lock is held while a
/// query runs. Connecting is bounded by a connect timeout, every statement by a
/// `statement_timeout`.
///
/// **Connection failures.** A call whose connection broke returns [`Error::Unavailable`],
/// and the broken connection is dropped; the next call connects again, so the desk works
/// again as soon as the database is back. A connection found dead when a call starts (the
/// server restarted, or an administrator ended it, while it sat idle) is replaced and the
/// call goes on, once: reads, and appends whose `BEGIN` failed, since nothing was recorded
/// yet. No other call retries by itself.
pub struct PostgresStore {
    pool: Arc<Pool>,
    tenant: Tenant,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("tenant", &self.tenant)
            .field("max_connections", &self.pool.max)
            .field("statement_timeout", &self.pool.statement_timeout)
            .finish_non_exhaustive()
    }
}

/// What kind of trouble a client error is, read from its SQLSTATE, `is_closed()` and its
/// source's type, never from its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trouble {
    /// The connection is gone or going: drop it.
    Connection,
    /// The server could not do it now (resources, timeout, serialization, deadlock).
    Passing,
    /// Anything else: retrying will not help.
    Other,
}

fn trouble(e: &postgres::Error) -> Trouble {
    if e.is_closed() {
        return Trouble::Connection;
    }
    if let Some(code) = e.code() {
        let class = code.code().get(..2);
        return if class == Some("08")
            || [
                SqlState::ADMIN_SHUTDOWN,
                SqlState::CRASH_SHUTDOWN,
                SqlState::CANNOT_CONNECT_NOW,
            ]
            .contains(code)
        {
            Trouble::Connection
        } else if class == Some("53")
            || [
                SqlState::T_R_SERIALIZATION_FAILURE,
                SqlState::T_R_DEADLOCK_DETECTED,
                SqlState::QUERY_CANCELED,
                SqlState::LOCK_NOT_AVAILABLE,
            ]
            .contains(code)
        {
            Trouble::Passing
        } else {
            Trouble::Other
        };
    }
    // Without a server's code: a socket error (refused, reset, timed out) is the connection.
    if matches!(std::error::Error::source(e), Some(s) if s.is::<std::io::Error>()) {
        Trouble::Connection
    } else {
        Trouble::Other
    }
}

/// Maps a client error: what passes is [`Error::Unavailable`], the rest
/// [`Error::Backend`]; the client's error is kept as the source.
fn fail(op: &'static str) -> impl Fn(postgres::Error) -> Error {
    move |e| match trouble(&e) {
        Trouble::Connection | Trouble::Passing => Error::Unavailable {
            backend: BACKEND,
            op,
            source: Box::new(e),
        },
        Trouble::Other => Error::Backend {
            backend: BACKEND,
            op,
            source: Box::new(e),
        },
    }
}

/// Whether `error` says the connection it came from is broken.
fn broke_connection(error: &Error) -> bool {
    match error {
        Error::Unavailable { source, .. } => source
            .downcast_ref::<postgres::Error>()
            .is_some_and(|e| trouble(e) == Trouble::Connection),
        _ => false,
    }
}

/// Which failures a call may retry on a new connection, when its connection was reused and
/// turned out broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retry {
    /// Any: the call only reads.
    Reads,
    /// Only a failed `BEGIN`: after it, a commit may have reached the server.
    Begin,
}

/// All connections busy for longer than the pool waits.
#[derive(Debug)]
struct PoolBusy {
    max: usize,
    waited: Duration,
}

impl std::fmt::Display for PoolBusy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "all {} connections stayed busy for {:?}",
            self.max, self.waited
        )
    }
}

impl std::error::Error for PoolBusy {}

/// A few connections, handed out one call at a time.
struct Pool {
    config: Config,
    statement_timeout: Duration,
    /// How long a call waits for a free connection.
    wait: Duration,
    max: usize,
    /// Idle connections and the count of open ones. Held only to take or return one: never
    /// while connecting, querying or closing.
    slots: Mutex<Slots>,
    /// Signalled whenever a connection is returned or closed.
    freed: Condvar,
}

struct Slots {
    idle: Vec<Conn>,
    /// Connections open: idle, in use, or being made.
    open: usize,
}

/// A pooled connection and the statements prepared on it, so that a statement run again on
/// the same connection is parsed and planned once, and costs one round trip, not two.
struct Conn {
    client: Client,
    prepared: std::collections::HashMap<&'static str, Statement>,
}

impl Conn {
    /// `sql` prepared on this connection (once; then from the cache).
    fn prepared(&mut self, sql: &'static str, op: &'static str) -> Result<Statement> {
        if let Some(statement) = self.prepared.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(sql).map_err(fail(op))?;
        self.prepared.insert(sql, statement.clone());
        Ok(statement)
    }
}

impl std::ops::Deref for Conn {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

impl std::ops::DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut Client {
        &mut self.client
    }
}

/// A connection taken from the pool; goes back on drop unless it broke.
struct Pooled<'a> {
    pool: &'a Pool,
    client: Option<Conn>,
    /// Whether it was used before (it may have died while idle).
    reused: bool,
}

impl Pool {
    fn new(params: &str, options: &PostgresOptions) -> Result<Pool> {
        let mut config: Config = params
            .parse()
            .map_err(|e| Invalid::new("connection parameters", format!("{e}")))?;
        let connect_timeout = options
            .connect_timeout
            .or_else(|| config.get_connect_timeout().copied())
            .unwrap_or(DEFAULT_CONNECT_TIMEOUT);
        config.connect_timeout(connect_timeout);
        Ok(Pool {
            config,
            statement_timeout: options.statement_timeout,
            wait: connect_timeout,
            max: options.max_connections,
            slots: Mutex::new(Slots {
                idle: Vec::new(),
                open: 0,
            }),
            freed: Condvar::new(),
        })
    }

    fn slots(&self) -> MutexGuard<'_, Slots> {
        // Every update of `Slots` is one push, pop or count change: a poisoned lock still
        // guards consistent slots.
        self.slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Takes an idle connection, or makes one if fewer than `max` are open, or waits for one
    /// to come free.
    fn get(&self) -> Result<Pooled<'_>> {
        let started = Instant::now();
        // Declared before the guard, so dead connections close after it is released.
        let mut dead = Vec::new();
        let mut slots = self.slots();
        loop {
            while let Some(client) = slots.idle.pop() {
                if client.is_closed() {
                    slots.open -= 1;
                    dead.push(client);
                    continue;
                }
                return Ok(Pooled {
                    pool: self,
                    client: Some(client),
                    reused: true,
                });
            }
            if slots.open < self.max {
                slots.open += 1;
                drop(slots);
                return match self.connect() {
                    Ok(client) => Ok(Pooled {
                        pool: self,
                        client: Some(client),
                        reused: false,
                    }),
                    Err(e) => {
                        self.slots().open -= 1;
                        self.freed.notify_one();
                        Err(e)
                    }
                };
            }
            let waited = started.elapsed();
            if waited >= self.wait {
                return Err(Error::Unavailable {
                    backend: BACKEND,
                    op: "take a connection",
                    source: Box::new(PoolBusy {
                        max: self.max,
                        waited,
                    }),
                });
            }
            slots = self
                .freed
                .wait_timeout(slots, self.wait.saturating_sub(waited))
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
    }

    /// A new connection with the statement timeout set.
    fn connect(&self) -> Result<Conn> {
        let mut client = self.config.connect(NoTls).map_err(fail("connect"))?;
        if !self.statement_timeout.is_zero() {
            let ms = self.statement_timeout.as_millis().max(1);
            client
                .batch_execute(&format!("SET statement_timeout = {ms}"))
                .map_err(fail("connect"))?;
        }
        Ok(Conn {
            client,
            prepared: std::collections::HashMap::new(),
        })
    }

    /// Closes every idle connection (after one was found dead, the others likely are).
    fn drop_idle(&self) {
        let idle = {
            let mut slots = self.slots();
            let idle = std::mem::take(&mut slots.idle);
            slots.open -= idle.len();
            idle
        };
        self.freed.notify_all();
        drop(idle);
    }
}

impl Pooled<'_> {
    /// Runs `f` on the connection; if it fails because the connection broke, the connection
    /// is dropped instead of returned. Returns whether it broke.
    fn run<T>(&mut self, f: &mut impl FnMut(&mut Conn) -> Result<T>) -> (Result<T>, bool) {
        let Some(client) = self.client.as_mut() else {
            let error = Error::Unavailable {
                backend: BACKEND,
                op: "take a connection",
                source: "connection already closed".into(),
            };
            return (Err(error), true);
        };
        let result = f(client);
        let broke = client.is_closed() || result.as_ref().is_err_and(broke_connection);
        if broke {
            self.client = None;
        }
        (result, broke)
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        // A connection a panic left halfway through a call is not given to the next one. A
        // connection not kept is closed here, before the lock is taken.
        let keep = self
            .client
            .take()
            .filter(|c| !c.is_closed() && !std::thread::panicking());
        let mut slots = self.pool.slots();
        match keep {
            Some(client) => slots.idle.push(client),
            None => slots.open -= 1,
        }
        drop(slots);
        self.pool.freed.notify_one();
    }
}

impl PostgresStore {
    /// Connects with libpq-style parameters (`host=127.0.0.1 port=5432 user=shop dbname=shop`,
    /// or a `postgresql://` URL) and the default [`PostgresOptions`], and creates or migrates
    /// the schema.
    ///
    /// # Errors
    /// [`Error::Invalid`] if the parameters do not parse; [`Error::Unavailable`] if the
    /// server cannot be reached; [`Error::Backend`] if the schema is newer than this version
    /// understands, or the server refuses the login.
    pub fn connect(params: &str) -> Result<PostgresStore> {
        Self::connect_with(params, PostgresOptions::default())
    }

    /// Connects as [`PostgresStore::connect`] does, with `options`.
    ///
    /// # Errors
    /// As [`PostgresStore::connect`].
    #[allow(
        clippy::needless_pass_by_value,
        reason = "public signature: a reference would break callers before 1.0 decides it"
    )]
    pub fn connect_with(params: &str, options: PostgresOptions) -> Result<PostgresStore> {
        let store = PostgresStore {
            pool: Arc::new(Pool::new(params, &options)?),
            tenant: Tenant::DEFAULT,
        };
        store.with_client(Retry::Begin, |conn| migrate(conn))?;
        Ok(store)
    }

    /// Runs `f` with a pooled connection. If `f` fails because the connection broke, the
    /// connection is dropped; if it was an idle one (it may have died while idle) and
    /// `retry` allows, `f` runs once more on a new connection.
    fn with_client<T>(&self, retry: Retry, mut f: impl FnMut(&mut Conn) -> Result<T>) -> Result<T> {
        let mut conn = self.pool.get()?;
        let reused = conn.reused;
        let (result, broke) = conn.run(&mut f);
        drop(conn);
        let again = match &result {
            Err(Error::Unavailable { op, .. }) if broke && reused => {
                retry == Retry::Reads || *op == BEGIN
            }
            _ => false,
        };
        if !again {
            return result;
        }
        self.pool.drop_idle();
        let mut conn = self.pool.get()?;
        conn.run(&mut f).0
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
    /// Waits up to `timeout` for at least one append by any desk of the listener's tenant;
    /// returns whether one came.
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
    /// A handle on `tenant`'s rows in the same database, sharing this store's connections
    /// (one pool for every shop a vendor hosts). The schema was made when this store
    /// connected; a tenant needs nothing created before its first append.
    ///
    /// ```no_run
    /// use incidents::store::{PostgresStore, Tenant};
    ///
    /// let db = PostgresStore::connect("host=127.0.0.1 user=pos dbname=pos")?;
    /// let shop = db.tenant("shop-42".parse::<Tenant>()?);
    /// assert_eq!(shop.scope().as_str(), "shop-42");
    /// # Ok::<(), incidents::Error>(())
    /// ```
    #[must_use]
    pub fn tenant(&self, tenant: Tenant) -> PostgresStore {
        PostgresStore {
            pool: Arc::clone(&self.pool),
            tenant,
        }
    }

    /// The tenant this handle is scoped to.
    pub fn scope(&self) -> &Tenant {
        &self.tenant
    }

    /// The `NOTIFY` channel of this handle's tenant: `incident_events` for the default
    /// tenant, `incident_events_` and 16 hex digits of a hash (64-bit FNV-1a) of the name for
    /// the others, which stays within PostgreSQL's 63-byte identifiers whatever the name.
    /// For a host that listens with its own connection; [`PostgresStore::listen`] uses it.
    pub fn channel(&self) -> String {
        channel(&self.tenant)
    }

    /// Every tenant with rows in the database (the default tenant included, if it has any),
    /// in name order.
    ///
    /// # Errors
    /// [`Error::Unavailable`] or [`Error::Backend`] as any query; [`Error::Invalid`] for a
    /// stored name this crate did not write.
    pub fn tenants(&self) -> Result<Vec<Tenant>> {
        let names = self.with_client(Retry::Reads, |client| {
            let rows = client
                .query(
                    "SELECT tenant FROM incident_tenants ORDER BY tenant COLLATE \"C\"",
                    &[],
                )
                .map_err(fail("list tenants"))?;
            rows.iter()
                .map(|r| column::<String>(r, 0))
                .collect::<Result<Vec<_>>>()
        })?;
        names.iter().map(|n| Tenant::from_stored(n)).collect()
    }

    /// Deletes every row of this handle's tenant, events, snapshot and position counter, in
    /// one transaction (a shop that leaves: erasure). Returns how many events were deleted.
    /// Other tenants are untouched, and keep appending meanwhile; an append of this tenant
    /// in flight finishes first, and one that comes after starts the tenant again from
    /// position 1. A desk still open on this tenant keeps what it had in memory: drop it
    /// first.
    ///
    /// The rows are gone at once for every reader; PostgreSQL reclaims their space at its
    /// next `VACUUM`.
    ///
    /// # Errors
    /// [`Error::Unavailable`] or [`Error::Backend`]; nothing was deleted then.
    pub fn erase(&self) -> Result<u64> {
        let tenant = self.tenant.as_str();
        self.with_client(Retry::Begin, |client| {
            let mut tx = client.transaction().map_err(fail(BEGIN))?;
            // The counter row first: it is what appends lock, so none of this tenant runs
            // between this and the commit.
            tx.execute("DELETE FROM incident_tenants WHERE tenant = $1", &[&tenant])
                .map_err(fail("erase"))?;
            let events = tx
                .execute("DELETE FROM incident_events WHERE tenant = $1", &[&tenant])
                .map_err(fail("erase"))?;
            tx.execute(
                "DELETE FROM incident_snapshots WHERE tenant = $1",
                &[&tenant],
            )
            .map_err(fail("erase"))?;
            tx.commit().map_err(fail("commit"))?;
            Ok(events)
        })
    }

    /// Opens a second connection that listens for this tenant's appends (`LISTEN` on
    /// [`PostgresStore::channel`]).
    ///
    /// # Errors
    /// [`Error::Unavailable`] if the server cannot be reached.
    pub fn listen(&self) -> Result<ChangeListener> {
        let mut client = self.pool.config.connect(NoTls).map_err(fail("connect"))?;
        // The channel is ASCII lower-case letters, digits and `_`: no quoting needed.
        client
            .batch_execute(&format!("LISTEN {}", self.channel()))
            .map_err(fail("listen"))?;
        Ok(ChangeListener { client })
    }
}

/// `incident_events`, or `incident_events_` and the FNV-1a hash of the tenant's name.
fn channel(tenant: &Tenant) -> String {
    if tenant.is_default() {
        return CHANNEL.to_owned();
    }
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in tenant.as_str().bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{CHANNEL}_{hash:016x}")
}

/// The tables of schema 2, made if missing: a vendor may have made them first, partitioned
/// or distributed by tenant (the constraints are named, so the tables of schema 1 can stand
/// beside them while a migration from schema 1 copies their rows).
const TABLES_V2: &str = "
    CREATE TABLE IF NOT EXISTS incident_tenants (
        tenant        TEXT NOT NULL,
        last_position BIGINT NOT NULL,
        CONSTRAINT incident_tenants_pk PRIMARY KEY (tenant)
    );
    CREATE TABLE IF NOT EXISTS incident_events (
        tenant   TEXT NOT NULL,
        position BIGINT NOT NULL,
        incident BYTEA NOT NULL,
        version  BIGINT NOT NULL,
        schema   SMALLINT NOT NULL,
        event    TEXT NOT NULL,
        CONSTRAINT incident_events_pk PRIMARY KEY (tenant, position),
        CONSTRAINT incident_events_key UNIQUE (tenant, incident, version)
    );
    CREATE TABLE IF NOT EXISTS incident_snapshots (
        tenant TEXT NOT NULL,
        name   TEXT NOT NULL,
        bytes  BYTEA NOT NULL,
        CONSTRAINT incident_snapshots_pk PRIMARY KEY (tenant, name)
    );";

/// Schema 1 to 2, before [`TABLES_V2`]: the old tables moved aside (their constraints keep
/// their old names, which the new tables' do not take). Schema 1 made `incident_snapshots`
/// only from the version that added snapshots.
const FROM_1_ASIDE: &str = "
    CREATE TABLE IF NOT EXISTS incident_snapshots (name TEXT PRIMARY KEY, bytes BYTEA NOT NULL);
    ALTER TABLE incident_events RENAME TO incident_events_v1;
    ALTER TABLE incident_snapshots RENAME TO incident_snapshots_v1;";

/// Schema 1 to 2, after [`TABLES_V2`]: the rows of one shop become the default tenant's, at
/// the same positions (so a snapshot's log point stays valid), and its counter starts at the
/// last of them; the old tables go.
const FROM_1_COPY: &str = "
    INSERT INTO incident_events (tenant, position, incident, version, schema, event)
        SELECT '', position, incident, version, schema, event FROM incident_events_v1;
    INSERT INTO incident_snapshots (tenant, name, bytes)
        SELECT '', name, bytes FROM incident_snapshots_v1;
    INSERT INTO incident_tenants (tenant, last_position)
        SELECT '', MAX(position) FROM incident_events_v1 HAVING COUNT(*) > 0;
    DROP TABLE incident_events_v1;
    DROP TABLE incident_snapshots_v1;
    UPDATE incidents_schema SET version = 2;";

#[allow(
    clippy::cast_possible_truncation,
    reason = "`SCHEMA_VERSION` is a small constant"
)]
fn migrate(client: &mut Client) -> Result<()> {
    let mut tx = client.transaction().map_err(fail(BEGIN))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATE_LOCK])
        .map_err(fail("migrate"))?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS incidents_schema (version INTEGER NOT NULL)")
        .map_err(fail("migrate"))?;
    let row = tx
        .query_one("SELECT MAX(version) FROM incidents_schema", &[])
        .map_err(fail("migrate"))?;
    let found: Option<i32> = column(&row, 0)?;
    match found {
        None => {
            tx.batch_execute(TABLES_V2).map_err(fail("migrate"))?;
            tx.execute(
                "INSERT INTO incidents_schema (version) VALUES ($1)",
                &[&(SCHEMA_VERSION as i32)],
            )
            .map_err(fail("migrate"))?;
        }
        Some(1) => {
            for step in [FROM_1_ASIDE, TABLES_V2, FROM_1_COPY] {
                tx.batch_execute(step).map_err(fail("migrate"))?;
            }
        }
        Some(2) => {}
        Some(v) => {
            let why = if i64::from(v) > SCHEMA_VERSION {
                "newer than this version understands"
            } else {
                "not one this crate ever wrote"
            };
            return Err(Error::Backend {
                backend: BACKEND,
                op: "migrate",
                source: format!("the database has schema {v}, {why} ({SCHEMA_VERSION})").into(),
            });
        }
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

/// An append's first statement: the tenant's counter row, made if new, locked until commit.
const LOCK_COUNTER: &str = "INSERT INTO incident_tenants (tenant, last_position) VALUES ($1, 0)
    ON CONFLICT (tenant) DO UPDATE SET last_position = incident_tenants.last_position
    RETURNING last_position";

/// An append's second: the current versions of the batch's incidents.
const READ_VERSIONS: &str = "SELECT incident, MAX(version) FROM incident_events
    WHERE tenant = $1 AND incident = ANY($2) GROUP BY incident";

/// An append's third: the rows at the positions after the counter's, in the order given; the
/// counter moved; the tenant's channel notified.
const INSERT_ROWS: &str = "WITH rows AS (
        INSERT INTO incident_events (tenant, position, incident, version, schema, event)
        SELECT $1, $2 + n, i, v, s, e
        FROM unnest($3::bytea[], $4::bigint[], $5::smallint[], $6::text[])
            WITH ORDINALITY AS r(i, v, s, e, n)
    ), counter AS (
        UPDATE incident_tenants SET last_position = $7 WHERE tenant = $1
    )
    SELECT pg_notify($8, $1)";

/// The reads of a desk, prepared once per connection.
const LOAD: &str = "SELECT position, incident, version, schema, event FROM incident_events
    WHERE tenant = $1 AND incident = $2 ORDER BY version";
const VERSION: &str = "SELECT COALESCE(MAX(version), 0) FROM incident_events
    WHERE tenant = $1 AND incident = $2";
const FEED: &str = "SELECT position, incident, version, schema, event FROM incident_events
    WHERE tenant = $1 AND position > $2 ORDER BY position LIMIT $3";

impl Store for PostgresStore {
    fn append(&self, id: IncidentId, expected: Version, events: &[Event]) -> Result<Version> {
        sql::append_one(self, id, expected, events)
    }

    /// One transaction, five round trips however large the batch: begin; lock the
    /// tenant's counter row (made if new) and read the last position; read every
    /// incident's version with one query; insert every row, move the counter and notify
    /// with one statement; commit.
    #[allow(
        clippy::cast_possible_truncation,
        reason = "`EVENT_SCHEMA` is a small constant"
    )]
    fn append_batch(&self, batch: &[Append<'_>]) -> Result<Vec<Version>> {
        let tenant = self.tenant.as_str();
        let channel = self.channel();
        self.with_client(Retry::Begin, |client| {
            let lock = client.prepared(LOCK_COUNTER, BEGIN)?;
            let read = client.prepared(READ_VERSIONS, BEGIN)?;
            let insert = client.prepared(INSERT_ROWS, BEGIN)?;
            let mut tx = client.transaction().map_err(fail(BEGIN))?;
            // The row lock of the upsert is held until commit: appends of one tenant take
            // positions in commit order, appends of others do not wait.
            let row = tx.query_one(&lock, &[&tenant]).map_err(fail("lock"))?;
            let last: i64 = column(&row, 0)?;
            let mut ids: Vec<&[u8]> = batch.iter().map(|a| &a.id.as_bytes()[..]).collect();
            ids.sort_unstable();
            ids.dedup();
            let found = tx
                .query(&read, &[&tenant, &ids])
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
            let end = i64::try_from(rows.len())
                .ok()
                .and_then(|n| last.checked_add(n))
                .ok_or_else(|| Error::Backend {
                    backend: BACKEND,
                    op: "append",
                    source: format!("the tenant's positions ran out after {last}").into(),
                })?;
            // Rows go in, and get their positions, in the order given.
            tx.execute(
                &insert,
                &[
                    &tenant, &last, &incidents, &numbers, &schemas, &events, &end, &channel,
                ],
            )
            .map_err(|e| {
                // Another writer slipped in despite the row lock (it cannot, but the unique
                // key is the last word): report it as the conflict it is.
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
            tx.commit().map_err(fail("commit"))?;
            Ok(versions)
        })
    }

    fn load(&self, id: IncidentId) -> Result<Vec<Event>> {
        self.with_client(Retry::Reads, |client| {
            let statement = client.prepared(LOAD, "prepare")?;
            let rows = client
                .query(&statement, &[&self.tenant.as_str(), &&id.as_bytes()[..]])
                .map_err(fail("load"))?;
            rows.iter().map(|r| to_item(r).map(|i| i.event)).collect()
        })
    }

    fn version(&self, id: IncidentId) -> Result<Version> {
        self.with_client(Retry::Reads, |client| {
            let statement = client.prepared(VERSION, "prepare")?;
            let row = client
                .query_one(&statement, &[&self.tenant.as_str(), &&id.as_bytes()[..]])
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
        self.with_client(Retry::Reads, |client| {
            let statement = client.prepared(FEED, "prepare")?;
            let rows = client
                .query(&statement, &[&self.tenant.as_str(), &after, &limit])
                .map_err(fail("feed"))?;
            rows.iter()
                .map(to_item)
                .collect::<Result<Vec<_>>>()
                .map(Some)
        })
    }

    /// The greatest committed position, marked with its row's incident id and version.
    ///
    /// What the feed would return: positions are handed out under the lock of the tenant's
    /// counter row, which a transaction holds until its commit is visible, so no transaction
    /// still in flight can fill a position below a committed one.
    fn log_end(&self) -> Result<Option<LogPoint>> {
        self.with_client(Retry::Reads, |client| {
            let row = client
                .query_opt(
                    "SELECT position, incident, version FROM incident_events
                     WHERE tenant = $1 ORDER BY position DESC LIMIT 1",
                    &[&self.tenant.as_str()],
                )
                .map_err(fail("read log end"))?;
            let last = match &row {
                Some(row) => Some((
                    column::<i64>(row, 0)?,
                    column::<&[u8]>(row, 1)?,
                    column::<i64>(row, 2)?,
                )),
                None => None,
            };
            sql::point_after(last, BACKEND).map(Some)
        })
    }

    fn has_point(&self, point: LogPoint) -> Result<bool> {
        sql::has_point(point, |position| {
            self.with_client(Retry::Reads, |client| {
                let row = client
                    .query_opt(
                        "SELECT incident, version FROM incident_events
                         WHERE tenant = $1 AND position = $2",
                        &[&self.tenant.as_str(), &position],
                    )
                    .map_err(fail("check log point"))?;
                row.map(|row| Ok((column::<Vec<u8>>(&row, 0)?, column::<i64>(&row, 1)?)))
                    .transpose()
            })
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
        self.with_client(Retry::Begin, |client| {
            let mut tx = client.transaction().map_err(fail(BEGIN))?;
            tx.execute(
                "INSERT INTO incident_snapshots (tenant, name, bytes) VALUES ($1, $2, $3)
                 ON CONFLICT (tenant, name) DO UPDATE SET bytes = EXCLUDED.bytes",
                &[&self.tenant.as_str(), &sql::SNAPSHOT_NAME, &bytes],
            )
            .map_err(fail("save snapshot"))?;
            tx.commit().map_err(fail("commit"))
        })
    }

    fn load_snapshot(&self) -> Result<Option<Vec<u8>>> {
        self.with_client(Retry::Reads, |client| {
            let row = client
                .query_opt(
                    "SELECT bytes FROM incident_snapshots WHERE tenant = $1 AND name = $2",
                    &[&self.tenant.as_str(), &sql::SNAPSHOT_NAME],
                )
                .map_err(fail("load snapshot"))?;
            row.map(|row| column::<Vec<u8>>(&row, 0)).transpose()
        })
    }
}
