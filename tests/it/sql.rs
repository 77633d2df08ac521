//! Database backends: several desks on one database, and PostgreSQL's server going away.
//!
//! The PostgreSQL tests need a server: `eval "$(scripts/pg-test-cluster.sh start)"` starts a
//! throwaway one and sets `INCIDENTS_PG_URL`; then `cargo test --all-features`. Without it
//! they print that they were skipped and pass. `.ci/run` does all of this.

use std::collections::BTreeSet;

use chrono::Duration;
use incidents::{Change, Clock, Command, Desk, ManualClock, NewIncident, Severity, Source, Store};

use crate::support::{owner, responder, t0};

#[cfg(feature = "postgres")]
use {
    crate::conformance::Backend,
    incidents::{Error, IncidentId, Resolution},
    std::collections::BTreeMap,
    std::sync::Arc,
};

// ---------------------------------------------------------------------------------------------
// Two desks on one SQLite file

#[cfg(feature = "sqlite")]
#[test]
fn two_desks_on_one_sqlite_file_catch_up_and_fire_each_timer_once() {
    use incidents::store::SqliteStore;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shop.db");
    let clock = ManualClock::new(t0());
    let a = Desk::new(SqliteStore::open(&path).unwrap(), &clock).unwrap();
    let b = Desk::new(SqliteStore::open(&path).unwrap(), &clock).unwrap();
    shared_desks_scenario(&a, &b, &clock);
}

/// Desk `a` opens incidents; `b` catches up and sees them; both tick; every timer fires once
/// and every notification key is requested once.
fn shared_desks_scenario<S: Store>(
    a: &Desk<S, &ManualClock>,
    b: &Desk<S, &ManualClock>,
    clock: &ManualClock,
) {
    let mut ids = Vec::new();
    for n in 0..5 {
        let new = NewIncident::new(
            format!("till {n}"),
            Severity::Critical,
            "POS",
            Source::StaffReport,
        )
        .unwrap();
        ids.push(a.open(&owner(), new).unwrap().id);
    }
    assert_eq!(b.counts().total, 0, "b has not caught up yet");
    let caught = b.catch_up().unwrap();
    assert_eq!(caught.new_incidents, 5);
    assert_eq!(b.counts().total, 5);
    // b acts, a catches up and sees it.
    b.act(ids[0], &responder(), Command::Acknowledge).unwrap();
    a.catch_up().unwrap();
    assert_eq!(
        a.get(ids[0]).unwrap().status(),
        incidents::Status::Acknowledged
    );
    // Both tick at the same instants; each timer is recorded once.
    for minutes in [0, 10, 15, 30, 35] {
        clock.set(t0() + Duration::minutes(minutes));
        a.tick(clock.now()).unwrap();
        b.tick(clock.now()).unwrap();
        a.catch_up().unwrap();
        b.catch_up().unwrap();
    }
    for id in &ids {
        let history = a.history(*id).unwrap();
        let keys: Vec<String> = history
            .iter()
            .filter_map(|e| match &e.change {
                Change::NotificationRequested { notification } => Some(notification.key.clone()),
                _ => None,
            })
            .collect();
        let unique: BTreeSet<&String> = keys.iter().collect();
        assert_eq!(unique.len(), keys.len(), "{keys:?}");
        assert_eq!(a.get(*id).unwrap(), b.get(*id).unwrap(), "both desks agree");
    }
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

/// The server's connection parameters, or `None` (and a note) if no server was started.
#[cfg(feature = "postgres")]
pub fn pg_url() -> Option<String> {
    match std::env::var("INCIDENTS_PG_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            eprintln!(
                "PostgreSQL test skipped: no INCIDENTS_PG_URL. Run \
                 `eval \"$(scripts/pg-test-cluster.sh start)\"` first."
            );
            None
        }
    }
}

/// A fresh, empty database on the test server; returns its connection parameters.
#[cfg(feature = "postgres")]
pub fn fresh_database(base: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let name = format!(
        "incidents_{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        t0().timestamp_subsec_nanos()
            ^ (std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos())
    );
    let mut admin = postgres::Client::connect(base, postgres::NoTls).unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    format!("{base} dbname={name}")
}

/// A PostgreSQL store in its own database, for the conformance suite.
#[cfg(feature = "postgres")]
pub struct Postgres {
    store: Option<incidents::store::PostgresStore>,
    url: String,
    _up: std::sync::RwLockReadGuard<'static, ()>,
}

#[cfg(feature = "postgres")]
impl Backend for Postgres {
    type S = incidents::store::PostgresStore;
    fn fresh() -> Self {
        let up = server_up();
        let url = fresh_database(&pg_url().expect("available() was checked"));
        let store = incidents::store::PostgresStore::connect(&url).unwrap();
        Postgres {
            store: Some(store),
            url,
            _up: up,
        }
    }
    fn store(&self) -> &Self::S {
        self.store.as_ref().unwrap()
    }
    fn reopen(&mut self) {
        self.store = None;
        self.store = Some(incidents::store::PostgresStore::connect(&self.url).unwrap());
    }
    fn available() -> bool {
        pg_url().is_some()
    }
}

#[cfg(feature = "postgres")]
#[test]
fn two_desks_on_one_postgres_database_catch_up_and_fire_each_timer_once() {
    let Some(base) = pg_url() else { return };
    let _up = server_up();
    let url = fresh_database(&base);
    let clock = ManualClock::new(t0());
    let a = Desk::new(
        incidents::store::PostgresStore::connect(&url).unwrap(),
        &clock,
    )
    .unwrap();
    let b = Desk::new(
        incidents::store::PostgresStore::connect(&url).unwrap(),
        &clock,
    )
    .unwrap();
    shared_desks_scenario(&a, &b, &clock);
}

#[cfg(feature = "postgres")]
#[test]
fn a_listener_wakes_when_another_desk_appends() {
    let Some(base) = pg_url() else { return };
    let _up = server_up();
    let url = fresh_database(&base);
    let clock = ManualClock::new(t0());
    let store = incidents::store::PostgresStore::connect(&url).unwrap();
    let mut listener = store.listen().unwrap();
    assert!(
        !listener.wait(std::time::Duration::from_millis(50)).unwrap(),
        "nothing yet"
    );
    let other = Desk::new(
        incidents::store::PostgresStore::connect(&url).unwrap(),
        &clock,
    )
    .unwrap();
    other
        .open(&owner(), crate::support::new_incident())
        .unwrap();
    assert!(listener.wait(std::time::Duration::from_secs(10)).unwrap());
    let desk = Desk::new(store, &clock).unwrap();
    assert_eq!(desk.counts().total, 1);
}

#[cfg(feature = "postgres")]
#[test]
fn a_wrong_address_is_a_typed_unavailable_error() {
    let err =
        incidents::store::PostgresStore::connect("host=127.0.0.1 port=1 user=x connect_timeout=2")
            .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Unavailable {
                backend: "postgres",
                ..
            }
        ),
        "{err}"
    );
}

/// Runs `scripts/pg-test-cluster.sh <what>` against the test server.
#[cfg(feature = "postgres")]
fn cluster(what: &str) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/pg-test-cluster.sh");
    let status = std::process::Command::new("bash")
        .arg(script)
        .arg(what)
        .status()
        .unwrap();
    assert!(status.success(), "pg-test-cluster.sh {what} failed");
}

/// Killing the database mid-run and starting it again loses no acknowledged event, and the
/// desk works again once the database is back.
#[cfg(feature = "postgres")]
#[test]
fn killing_the_database_mid_run_loses_no_acknowledged_event() {
    let Some(base) = pg_url() else { return };
    if std::env::var_os("INCIDENTS_PG_DIR").is_none() {
        eprintln!(
            "PostgreSQL crash test skipped: INCIDENTS_PG_DIR (from pg-test-cluster.sh) is not set"
        );
        return;
    }
    let _exclusive = SERVER.write().unwrap_or_else(|e| e.into_inner());
    let url = fresh_database(&base);
    let clock = ManualClock::new(t0());
    let desk = Arc::new(
        Desk::new(
            incidents::store::PostgresStore::connect(&url).unwrap(),
            &clock,
        )
        .unwrap(),
    );
    let id = desk
        .open(&owner(), crate::support::new_incident())
        .unwrap()
        .id;
    let acked = std::sync::Mutex::new(Vec::<String>::new());
    let errors = std::sync::atomic::AtomicUsize::new(0);
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Acquire) {
                let text = format!("note {n}");
                match desk.act(id, &owner(), Command::note(&text).unwrap()) {
                    Ok(_) => acked.lock().unwrap().push(text),
                    Err(Error::Unavailable { .. } | Error::Backend { .. }) => {
                        errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    Err(other) => panic!("unexpected error: {other}"),
                }
                n += 1;
            }
        });
        // Let some notes land, crash the server, let the writer fail, restart it.
        while acked.lock().unwrap().len() < 20 {
            std::thread::yield_now();
        }
        cluster("crash");
        while errors.load(std::sync::atomic::Ordering::Relaxed) < 3 {
            std::thread::yield_now();
        }
        cluster("restart");
        let before = acked.lock().unwrap().len();
        while acked.lock().unwrap().len() < before + 20 {
            std::thread::yield_now();
        }
        stop.store(true, std::sync::atomic::Ordering::Release);
    });
    // A fresh store reads everything back: every acknowledged note is there, each once.
    let fresh = incidents::store::PostgresStore::connect(&url).unwrap();
    let stored: Vec<String> = fresh
        .load(id)
        .unwrap()
        .iter()
        .filter_map(|e| match &e.change {
            Change::NoteAdded { text } => Some(text.to_string()),
            _ => None,
        })
        .collect();
    let acked = acked.into_inner().unwrap();
    for note in &acked {
        assert!(stored.contains(note), "acknowledged {note} lost");
    }
    let unique: BTreeSet<&String> = stored.iter().collect();
    assert_eq!(unique.len(), stored.len(), "a note recorded twice");
    assert!(errors.into_inner() >= 3);
    // Replaying the history gives the desk's incident.
    assert_eq!(
        incidents::Incident::replay(id, &fresh.load(id).unwrap()).unwrap(),
        desk.get(id).unwrap()
    );
}

/// The tests share one server; the crash test takes this for writing, every other
/// PostgreSQL test holds it for reading, so no test sees the server die under it.
#[cfg(feature = "postgres")]
pub static SERVER: std::sync::RwLock<()> = std::sync::RwLock::new(());

/// Holds the shared server up for the caller's lifetime.
#[cfg(feature = "postgres")]
pub fn server_up() -> std::sync::RwLockReadGuard<'static, ()> {
    SERVER.read().unwrap_or_else(|e| e.into_inner())
}

/// Two processes, each with its own desk on one PostgreSQL database, run 1,000 interleaved
/// commands and ticks on shared incidents: no update lost, every notification key requested
/// exactly once.
#[cfg(feature = "postgres")]
#[test]
fn two_processes_share_one_database_without_losing_an_update_or_notifying_twice() {
    let Some(base) = pg_url() else { return };
    let _up = server_up();
    let url = fresh_database(&base);
    // Shared incidents, opened up front by this process.
    let clock = ManualClock::new(t0());
    let desk = Desk::new(
        incidents::store::PostgresStore::connect(&url).unwrap(),
        &clock,
    )
    .unwrap();
    let ids: Vec<IncidentId> = (0..4)
        .map(|n| {
            let new = NewIncident::new(
                format!("shared {n}"),
                Severity::Critical,
                "online shop",
                Source::Alert,
            )
            .unwrap();
            desk.open(&owner(), new).unwrap().id
        })
        .collect();
    let id_list: Vec<String> = ids.iter().map(ToString::to_string).collect();
    let children: Vec<_> = (0..2)
        .map(|worker| {
            std::process::Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "sql::child_desk_worker",
                    "--ignored",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env("INCIDENTS_CHILD_PG_URL", &url)
                .env("INCIDENTS_CHILD_IDS", id_list.join(","))
                .env("INCIDENTS_CHILD_WORKER", worker.to_string())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::inherit())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut acked: Vec<(IncidentId, u64, String)> = Vec::new();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "worker failed");
        for line in String::from_utf8(output.stdout).unwrap().lines() {
            // "ACK <incident> <version> <note>"
            let mut parts = line.splitn(4, ' ');
            if parts.next() != Some("ACK") {
                continue;
            }
            let id: IncidentId = parts.next().unwrap().parse().unwrap();
            let version: u64 = parts.next().unwrap().parse().unwrap();
            acked.push((id, version, parts.next().unwrap().to_string()));
        }
    }
    assert!(
        acked.len() >= 600,
        "only {} commands acknowledged",
        acked.len()
    );
    let store = incidents::store::PostgresStore::connect(&url).unwrap();
    let mut keys: BTreeMap<String, usize> = BTreeMap::new();
    for id in &ids {
        let history = store.load(*id).unwrap();
        incidents::Incident::replay(*id, &history).unwrap();
        for event in &history {
            if let Change::NotificationRequested { notification } = &event.change {
                *keys.entry(notification.key.clone()).or_default() += 1;
            }
        }
        // Every acknowledged note is at the version it was acknowledged with.
        for (acked_id, version, note) in acked.iter().filter(|(a, _, _)| a == id) {
            let event = &history[*version as usize - 1];
            assert!(
                matches!(&event.change, Change::NoteAdded { text } if text.as_str() == note),
                "{acked_id} v{version}: expected {note}, found {:?}",
                event.change
            );
        }
    }
    let twice: Vec<_> = keys.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "notification keys requested more than once: {twice:?}"
    );
    assert!(keys.len() >= 4, "the ticks fired nothing");
}

/// The worker process of the test above: 500 commands and ticks, interleaved, printing one
/// line per acknowledged note.
#[cfg(feature = "postgres")]
#[test]
#[ignore = "helper: run in a child process by two_processes_share_one_database_..."]
fn child_desk_worker() {
    let (Ok(url), Ok(ids), Ok(worker)) = (
        std::env::var("INCIDENTS_CHILD_PG_URL"),
        std::env::var("INCIDENTS_CHILD_IDS"),
        std::env::var("INCIDENTS_CHILD_WORKER"),
    ) else {
        return;
    };
    let ids: Vec<IncidentId> = ids.split(',').map(|s| s.parse().unwrap()).collect();
    let clock = ManualClock::new(t0());
    let desk = Desk::new(
        incidents::store::PostgresStore::connect(&url).unwrap(),
        &clock,
    )
    .unwrap();
    let actor = incidents::Actor::new(format!("worker-{worker}"), "Worker", incidents::Role::Owner)
        .unwrap();
    let mut out = std::io::stdout().lock();
    for n in 0..500u32 {
        let id = ids[(n as usize) % ids.len()];
        if n % 25 == 0 {
            // Time passes the same way in both workers; both tick the same deadlines.
            clock.set(t0() + Duration::minutes(i64::from(n / 25) * 5));
            desk.tick(clock.now()).unwrap();
            desk.catch_up().unwrap();
            continue;
        }
        let note = format!("w{worker}-{n}");
        match desk.act(id, &actor, Command::note(&note).unwrap()) {
            Ok(receipt) => {
                use std::io::Write;
                writeln!(out, "ACK {id} {} {note}", receipt.version.get()).unwrap();
            }
            Err(Error::Conflict(_)) => {}
            Err(other) => panic!("worker {worker}: {other}"),
        }
        if n % 50 == 7 {
            let _ = desk.act(id, &actor, Command::resolve(Resolution::Fixed));
            let _ = desk.act(id, &actor, Command::reopen("back").unwrap());
        }
    }
}
