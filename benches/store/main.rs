//! Store throughput: durable appends and opening, for `FileStore` beside a raw-file baseline
//! measured in the same run, under the same temporary directory, on the same disk; and the
//! database backends, `SqliteStore` (always: this bench needs the `sqlite` feature) and
//! `PostgresStore` (feature `postgres` and `INCIDENTS_PG_URL` set), on the same workloads in
//! the same interleaved rounds, each against the same baseline, and FileStore against
//! SqliteStore.
//!
//! Every file store here is a `FileStore` with the default options (`Durability::Flush`: each
//! append returns after fdatasync), plus a `FaultHook` that only counts flushes. Every
//! `SqliteStore` is `SqliteStore::open(dir.join("x.db"))` in a fresh directory: WAL mode with
//! `synchronous=FULL`, so each commit returns after the WAL is flushed. `PostgresStore`s
//! write to databases the bench creates on the server at `INCIDENTS_PG_URL` (and drops at the
//! end; [`pg`]). Stores and baseline files live in fresh directories under one temporary
//! directory (printed on stderr with its file system, removed at the end); events are built
//! before the clock starts by running real lifecycle commands through `decide` ([`data`]).
//!
//! 1. **One durable event per append** ([`appends`]): `store.append(id, expected, &[event])`
//!    from one thread, against writing the same encoded frame with `write_all` and
//!    `sync_data` per record on a plain file. Goal: ratio ≥ 0.9.
//! 2. **64 events per flush**: (a) `append_batch` of 8 incidents × 8 events from one thread;
//!    (b) 8 threads, each appending 8 events per call to its own incidents, sharing flushes
//!    through group commit (events per fdatasync are counted and reported). Both against one
//!    raw write plus one `sync_data` per 64 events of the bytes the store writes. Goal:
//!    ratio ≥ 0.8. Each round gets a fresh store or SQLite file; PostgreSQL keeps one
//!    connection, its table emptied before each round, and makes a third of the calls.
//! 3. **Opening** ([`opening`]): `FileStore::open` (recovery scan), `Desk::new` on the opened
//!    store (scan and replay) and both together, in events/s, against parsing a JSON Lines
//!    file of the same events ([`corpus`]). Goal for the open: ratio ≥ 0.75. The databases
//!    hold the same events in the same order; their "open" is `open`/`connect` plus a full
//!    `scan`. Also the resident memory per incident after opening, measured in a child
//!    process, against the store's bytes on disk per incident.
//! 4. **Tenants** ([`tenants`], PostgreSQL only): aggregate appends of 50 tenants × 2 threads
//!    against 1 tenant × 2 threads (goal: ratio ≥ 4), and a tenant's catch-up beside 100×
//!    its events in other tenants against alone (goal: ≤ 1.5× the time).
//!
//! Workloads run in interleaved rounds (figure and baselines alternately, so all see the same
//! load); figures are the median run. Run with `cargo bench --bench store --features
//! file,sqlite` (add `postgres` and start a server with `eval "$(bash
//! scripts/pg-test-cluster.sh start)"` for the PostgreSQL rows); `QUICK=1` makes it short
//! (smaller sizes, fewer rounds). Results: `target/bench-results/store.json`. Besides each
//! figure line, a "FileStore vs SqliteStore" line per workload has the SqliteStore figure as
//! its baseline (ratio > 1: FileStore is ahead); stderr says, per row, whether FileStore is
//! ahead and, where it is not, why ([`versus`]). `STORE_BENCH=opening` (or `appends`, or
//! `tenants`) runs only that part.

#[path = "../common/mod.rs"]
mod common;

mod appends;
mod corpus;
mod data;
mod opening;
mod pg;
mod tenants;
mod versus;

use std::path::Path;
use std::time::Instant;

use common::{Figure, Plan};
use versus::Versus;

/// Set in the child process that measures memory; its value is the store directory.
const RSS_CHILD_ENV: &str = "INCIDENTS_BENCH_STORE_RSS_CHILD";

/// The goals for FileStore: (start of the figure's name, minimum ratio to its
/// baseline).
const GOALS: [(&str, f64); 8] = [
    ("FileStore append, 1 event per append", 0.9),
    ("FileStore append_batch, 8 incidents x 8 events", 0.8),
    ("FileStore append, 8 threads x 8 events", 0.8),
    ("FileStore::open, recovery scan", 0.75),
    (
        "FileStore::open + Desk::new from a projection snapshot",
        8.0,
    ),
    (
        "FileStore cold start from a projection snapshot against SqliteStore",
        4.0,
    ),
    ("PostgresStore durable appends, 50 tenants", 4.0),
    // Events/s against alone: at most 1.5 times the time.
    (
        "PostgresStore catch-up of a new desk, tenant beside",
        1.0 / 1.5,
    ),
];

/// The stores compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    File,
    Sqlite,
    Postgres,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::File => "FileStore",
            Backend::Sqlite => "SqliteStore",
            Backend::Postgres => "PostgresStore",
        }
    }
}

/// The sizes of a run.
struct Sizes {
    /// Appends per round for figure 1.
    single_appends: usize,
    /// Calls per round for figure 2a; calls per thread for 2b.
    calls: usize,
    /// Events in the store opened for figure 3.
    open_events: u64,
    append_plan: Plan,
    open_plan: Plan,
}

impl Sizes {
    fn new(quick: bool) -> Sizes {
        if quick {
            Sizes {
                single_appends: 150,
                calls: 60,
                open_events: 100_000,
                append_plan: Plan {
                    warmup: 1,
                    runs: 11,
                },
                open_plan: Plan { warmup: 1, runs: 3 },
            }
        } else {
            Sizes {
                single_appends: 300,
                calls: 150,
                open_events: 1_000_000,
                append_plan: Plan {
                    warmup: 2,
                    runs: 31,
                },
                open_plan: Plan { warmup: 1, runs: 5 },
            }
        }
    }
}

/// Prints where the stores live and how many rounds each part runs.
fn describe(root: &Path, sizes: &Sizes, quick: bool) {
    let same = match common::same_device(root, Path::new(env!("CARGO_MANIFEST_DIR"))) {
        Some(true) => "yes",
        Some(false) => "no",
        None => "unknown",
    };
    eprintln!(
        "store: {}in {} ({}; same device as the crate: {same}); append figures: {} \
         interleaved rounds after {} warm-up, open figures: {} after {}; figures are medians",
        if quick {
            "QUICK run (smaller sizes, fewer rounds) "
        } else {
            ""
        },
        root.display(),
        common::file_system(root).unwrap_or_else(|| "file system unknown".into()),
        sizes.append_plan.runs,
        sizes.append_plan.warmup,
        sizes.open_plan.runs,
        sizes.open_plan.warmup,
    );
}

/// Prints, per goal, whether its figure's ratio meets it.
fn check_goals(figures: &[Figure]) {
    for (prefix, goal) in GOALS {
        // A part run alone (`STORE_BENCH`) has only its own goals' figures.
        let Some(figure) = figures
            .iter()
            .find(|figure| figure.name.starts_with(prefix))
        else {
            continue;
        };
        let verdict = if figure.ratio >= goal {
            "met"
        } else {
            "NOT met"
        };
        eprintln!(
            "goal ratio >= {goal}: {verdict} ({:.2}) for {}",
            figure.ratio, figure.name
        );
    }
}

fn main() {
    if let Some(dir) = std::env::var_os(RSS_CHILD_ENV) {
        opening::rss_child(Path::new(&dir));
        return;
    }
    let quick = common::quick();
    let sizes = Sizes::new(quick);
    let root = tempfile::Builder::new()
        .prefix("incidents-bench-store-")
        .tempdir()
        .unwrap();
    let root = root.path();
    describe(root, &sizes, quick);

    let people = data::People::new();
    let server = pg::PgServer::from_env();
    let mut rows = Vec::new();
    let started = Instant::now();
    let part = std::env::var("STORE_BENCH").unwrap_or_default();
    let mut figures = Vec::new();
    if part.is_empty() || part == "appends" {
        let db = server.as_ref().map(|server| server.database("appends"));
        figures.extend(appends::appends(
            root,
            &sizes,
            &people,
            db.as_ref(),
            &mut rows,
        ));
    }
    let appended = started.elapsed().as_secs_f64();
    if part.is_empty() || part == "opening" {
        let db = server.as_ref().map(|server| server.database("open"));
        figures.extend(opening::opening(
            root,
            &sizes,
            &people,
            db.as_ref(),
            &mut rows,
        ));
    }
    let opened = started.elapsed().as_secs_f64();
    if let Some(server) = server
        .as_ref()
        .filter(|_| part.is_empty() || part == "tenants")
    {
        figures.extend(tenants::tenants(server, quick, &people));
    }
    let total = started.elapsed().as_secs_f64();
    eprintln!(
        "ran for {total:.0} s: appends {appended:.0} s, opening {:.0} s, tenants {:.0} s",
        opened - appended,
        total - opened
    );
    check_goals(&figures);
    for row in &rows {
        eprintln!("{}", row.verdict());
    }
    common::report("store", &figures);
}
