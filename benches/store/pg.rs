//! The PostgreSQL side of the bench (feature `postgres` and `INCIDENTS_PG_URL` set): a server
//! where the bench makes its own databases, each dropped at the end. Without the feature the
//! types are empty and no PostgreSQL case runs.

#[cfg(feature = "postgres")]
use std::cell::RefCell;
#[cfg(feature = "postgres")]
use std::fs::File;
#[cfg(feature = "postgres")]
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use incidents::{IncidentId, Store};

/// The PostgreSQL server at `INCIDENTS_PG_URL`, where the bench makes its own databases.
#[cfg(feature = "postgres")]
pub struct PgServer {
    /// The connection parameters from `INCIDENTS_PG_URL`.
    base: String,
}

#[cfg(feature = "postgres")]
impl PgServer {
    /// The server, if `INCIDENTS_PG_URL` is set; otherwise a note on stderr and `None`.
    pub fn from_env() -> Option<PgServer> {
        let base = match std::env::var("INCIDENTS_PG_URL") {
            Ok(base) if !base.is_empty() => base,
            _ => {
                eprintln!(
                    "PostgreSQL rows skipped: INCIDENTS_PG_URL is not set. To add them, start a \
                     throwaway server with `eval \"$(bash scripts/pg-test-cluster.sh start)\"` \
                     (as root), run `cargo bench --bench store --features sqlite,postgres`, then \
                     `bash scripts/pg-test-cluster.sh stop`."
                );
                return None;
            }
        };
        let mut admin = postgres::Client::connect(&base, postgres::NoTls).unwrap_or_else(|e| {
            panic!("INCIDENTS_PG_URL is set ({base}) but the server cannot be reached: {e}")
        });
        let mut show = |setting: &str| -> String {
            admin
                .query_one(&format!("SHOW {setting}"), &[])
                .map_or_else(|e| format!("? ({e})"), |row| row.get(0))
        };
        eprintln!(
            "PostgreSQL at {base}: server {}, fsync={}, synchronous_commit={}, \
             wal_sync_method={}, shared_buffers={}; databases incidents_bench_{}_* are made \
             for the bench and dropped at the end",
            show("server_version"),
            show("fsync"),
            show("synchronous_commit"),
            show("wal_sync_method"),
            show("shared_buffers"),
            std::process::id(),
        );
        Some(PgServer { base })
    }

    /// A new, empty database with the store's schema, dropped when the value is.
    pub fn database(&self, what: &str) -> PgDb {
        let name = format!("incidents_bench_{}_{what}", std::process::id());
        let mut admin = postgres::Client::connect(&self.base, postgres::NoTls).unwrap();
        // One statement per call: neither may run inside a transaction block.
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
            .unwrap();
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let url = with_dbname(&self.base, &name);
        drop(incidents::store::PostgresStore::connect(&url).unwrap()); // creates the schema
        let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        // CREATE DATABASE leaves the copied template's pages for the checkpointer to write
        // out in the background, over minutes: write them now, before any round.
        if let Err(e) = client.batch_execute("CHECKPOINT") {
            eprintln!("  (CHECKPOINT refused, so the server may flush in the background: {e})");
        }
        PgDb {
            base: self.base.clone(),
            name,
            url,
            client: RefCell::new(Some(client)),
        }
    }
}

/// Connection parameters for database `name` on the server `base` points at (libpq
/// `key=value` parameters, or a `postgresql://` URL).
#[cfg(feature = "postgres")]
fn with_dbname(base: &str, name: &str) -> String {
    match base.split_once("://") {
        None => format!("{base} dbname={name}"),
        Some((scheme, rest)) => {
            let (rest, query) = rest
                .split_once('?')
                .map_or((rest, String::new()), |(rest, q)| (rest, format!("?{q}")));
            let authority = rest.split('/').next().unwrap_or(rest);
            format!("{scheme}://{authority}/{name}{query}")
        }
    }
}

/// A database the bench made on the PostgreSQL server.
#[cfg(feature = "postgres")]
pub struct PgDb {
    base: String,
    name: String,
    url: String,
    /// For emptying and vacuuming the table between rounds (outside the clock).
    client: RefCell<Option<postgres::Client>>,
}

#[cfg(feature = "postgres")]
impl PgDb {
    /// A new `PostgresStore` (its own connection) on this database.
    pub fn connect(&self) -> Box<dyn Store> {
        Box::new(incidents::store::PostgresStore::connect(&self.url).unwrap())
    }

    fn execute(&self, sql: &str) {
        let mut client = self.client.borrow_mut();
        let client = client.as_mut().expect("the database is open");
        client
            .batch_execute(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// Empties the events table and the position counters, as a fresh database would be.
    pub fn reset(&self) {
        self.execute("TRUNCATE incident_events, incident_tenants");
    }

    /// The connection parameters of this database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The server's `max_connections`.
    pub fn max_connections(&self) -> usize {
        let mut client = self.client.borrow_mut();
        let client = client.as_mut().expect("the database is open");
        let row = client.query_one("SHOW max_connections", &[]).unwrap();
        row.get::<_, String>(0).parse().unwrap_or(0)
    }

    /// Loads `rows` (incident, version, event text as the store encodes it) as tenant
    /// `tenant`'s history, at positions 1, 2, ... in the order given, with the tenant's
    /// position counter: what the store's appends would have left, with one `COPY`.
    pub fn load_tenant(&self, tenant: &str, rows: &[(IncidentId, u64, String)]) {
        let mut client = self.client.borrow_mut();
        let client = client.as_mut().expect("the database is open");
        let mut copy = client
            .copy_in(
                "COPY incident_events (tenant, position, incident, version, schema, event) \
                 FROM STDIN WITH (FORMAT csv)",
            )
            .unwrap();
        let mut buf = Vec::with_capacity(1 << 20);
        for (n, (id, version, text)) in rows.iter().enumerate() {
            write!(buf, "\"{tenant}\",{},\\x", n + 1).unwrap();
            for byte in id.as_bytes() {
                write!(buf, "{byte:02x}").unwrap();
            }
            writeln!(buf, ",{version},1,\"{}\"", text.replace('"', "\"\"")).unwrap();
            if buf.len() >= 1 << 20 {
                copy.write_all(&buf).unwrap();
                buf.clear();
            }
        }
        copy.write_all(&buf).unwrap();
        copy.finish().unwrap();
        let last = i64::try_from(rows.len()).unwrap();
        client
            .execute(
                "INSERT INTO incident_tenants (tenant, last_position) VALUES ($1, $2)",
                &[&tenant, &last],
            )
            .unwrap();
    }

    /// After a bulk load: what autovacuum would do in a while (visibility, hint bits,
    /// statistics), then a checkpoint, so neither runs during the measured rounds.
    pub fn settle(&self) {
        self.execute("VACUUM (FREEZE, ANALYZE) incident_events");
        if let Err(e) = self
            .client
            .borrow_mut()
            .as_mut()
            .unwrap()
            .batch_execute("CHECKPOINT")
        {
            eprintln!("  (CHECKPOINT refused, so the server may flush in the background: {e})");
        }
    }

    /// Loads the corpus with one `COPY`, in the rows `PostgresStore` writes for the default
    /// tenant: line `n` of the JSON Lines file `jsonl` is the event text (`serde_json` of
    /// the `Event`, as the store encodes it), `keys[n]` its incident and version, event
    /// schema 1; `position` is `n + 1`, and the tenant's counter is set to the last. (The store's own `append_batch` makes one round trip per
    /// event, a few minutes for a million.)
    pub fn load(&self, jsonl: &Path, keys: &[(IncidentId, u64)]) {
        let mut client = self.client.borrow_mut();
        let client = client.as_mut().expect("the database is open");
        let mut copy = client
            .copy_in(
                "COPY incident_events (tenant, position, incident, version, schema, event) \
                 FROM STDIN WITH (FORMAT csv)",
            )
            .unwrap();
        let mut lines = BufReader::new(File::open(jsonl).unwrap()).lines();
        let mut buf = Vec::with_capacity(1 << 20);
        for (n, (id, version)) in keys.iter().enumerate() {
            let line = lines.next().expect("a line per key").unwrap();
            write!(buf, "\"\",{},\\x", n + 1).unwrap();
            for byte in id.as_bytes() {
                write!(buf, "{byte:02x}").unwrap();
            }
            writeln!(buf, ",{version},1,\"{}\"", line.replace('"', "\"\"")).unwrap();
            if buf.len() >= 1 << 20 {
                copy.write_all(&buf).unwrap();
                buf.clear();
            }
        }
        assert!(lines.next().is_none(), "a key per line");
        copy.write_all(&buf).unwrap();
        copy.finish().unwrap();
        let last = i64::try_from(keys.len()).unwrap();
        client
            .execute(
                "INSERT INTO incident_tenants (tenant, last_position) VALUES ('', $1)",
                &[&last],
            )
            .unwrap();
    }

    /// The events table's bytes on disk, indexes included.
    pub fn bytes(&self) -> u64 {
        let mut client = self.client.borrow_mut();
        let client = client.as_mut().expect("the database is open");
        let row = client
            .query_one("SELECT pg_total_relation_size('incident_events')", &[])
            .unwrap();
        u64::try_from(row.get::<_, i64>(0)).unwrap_or(0)
    }
}

#[cfg(feature = "postgres")]
impl Drop for PgDb {
    fn drop(&mut self) {
        self.client.get_mut().take();
        let dropped = postgres::Client::connect(&self.base, postgres::NoTls)
            .and_then(|mut c| c.batch_execute(&format!("DROP DATABASE IF EXISTS {}", self.name)));
        if let Err(e) = dropped {
            eprintln!("could not drop the bench's database {}: {e}", self.name);
        }
    }
}

/// Without the `postgres` feature there is no server and no database.
#[cfg(not(feature = "postgres"))]
pub enum PgServer {}

#[cfg(not(feature = "postgres"))]
impl PgServer {
    pub fn from_env() -> Option<PgServer> {
        eprintln!(
            "PostgreSQL rows not built: run `cargo bench --bench store --features \
             sqlite,postgres` with INCIDENTS_PG_URL set (`eval \"$(bash \
             scripts/pg-test-cluster.sh start)\"`, as root) to add them."
        );
        None
    }

    pub fn database(&self, _: &str) -> PgDb {
        match *self {}
    }
}

#[cfg(not(feature = "postgres"))]
pub enum PgDb {}

#[cfg(not(feature = "postgres"))]
impl PgDb {
    pub fn connect(&self) -> Box<dyn Store> {
        match *self {}
    }

    pub fn reset(&self) {
        match *self {}
    }

    pub fn settle(&self) {
        match *self {}
    }

    pub fn load(&self, _: &Path, _: &[(IncidentId, u64)]) {
        match *self {}
    }

    pub fn bytes(&self) -> u64 {
        match *self {}
    }
}
