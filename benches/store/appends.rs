//! Figures 1 and 2, durable appends: a table of cases (workload × backend × durability) run
//! by one driver. Each workload is measured in its own interleaved rounds: the raw-file
//! baseline, then every backend's case, so each figure and its baseline see the same load.

use std::cell::RefCell;
use std::path::Path;

use incidents::store::Append;
use incidents::{Event, IncidentId, Store, Version};

use crate::common::{self, Figure, Plan, Workload, on_threads};
use crate::data::{
    People, encoded, fresh_raw_file, fresh_sqlite, fresh_store, histories8, history,
    raw_write_and_sync,
};
use crate::pg::PgDb;
use crate::{Backend, Sizes, Versus};

/// Threads appending at once in the group-commit workload.
pub const THREADS: usize = 8;
/// Events per call in the 64-events-per-flush workloads.
const EVENTS_PER_CALL: usize = 8;
/// Events per flush the baseline writes (and group commit aims at): 8 × 8.
const EVENTS_PER_SYNC: usize = THREADS * EVENTS_PER_CALL;

/// PostgreSQL's append rounds make the first 1 / `PG_SHARE` of the calls the others make: its
/// appends are several times slower, and the full calls would dominate the run. A third is
/// still tens of calls per round; rates (appends/s, events/s) are compared.
const PG_SHARE: usize = 3;

/// The append workloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// 1. `append(id, expected, &[event])`, one event per call, from one thread.
    Single,
    /// 2a. `append_batch` of 8 incidents × 8 events per call, from one thread.
    Batch,
    /// 2b. 8 threads, each appending 8 events per call to its own incidents.
    Threads,
}

/// What a workload's figures say, and its raw-file baseline.
struct Spec {
    shape: Shape,
    /// The call and what each call carries, as in the figure names.
    op: &'static str,
    what: &'static str,
    /// The parenthesised tail of the figure names.
    tail: &'static str,
    /// The row of the FileStore-against-SqliteStore comparison.
    row: &'static str,
    unit: &'static str,
    /// The baseline: the bytes FileStore writes, with one raw write and `sync_data` per
    /// FileStore flush.
    baseline: &'static str,
}

const SPECS: [Spec; 3] = [
    Spec {
        shape: Shape::Single,
        op: "append",
        what: "1 event per append",
        tail: "1 thread, median",
        row: "append, 1 event per append (1 thread)",
        unit: "appends/s",
        baseline: "raw write_all + sync_data per record, same bytes (median)",
    },
    Spec {
        shape: Shape::Batch,
        op: "append_batch",
        what: "8 incidents x 8 events per call",
        tail: "1 thread, median",
        row: "append_batch, 8 incidents x 8 events per call (1 thread)",
        unit: "events/s",
        baseline: "raw write + sync_data per 64 events, same bytes (median)",
    },
    Spec {
        shape: Shape::Threads,
        op: "append",
        what: "8 threads x 8 events per call",
        tail: "median",
        row: "append, 8 threads x 8 events per call",
        unit: "events/s",
        baseline: "raw write + sync_data per 64 events, same bytes, 1 thread (median)",
    },
];

/// One figure: a backend running a workload, and how it makes the appends durable.
struct Case {
    shape: Shape,
    backend: Backend,
    durability: &'static str,
}

/// Every append case, in figure order within each workload. The database stores serialise
/// every call on one connection behind a `Mutex`, so with 8 threads they take turns.
const CASES: [Case; 9] = [
    case(Shape::Single, Backend::File, "Flush"),
    case(Shape::Single, Backend::Sqlite, "WAL + synchronous=FULL"),
    case(Shape::Single, Backend::Postgres, "one connection"),
    case(Shape::Batch, Backend::File, "Flush"),
    case(Shape::Batch, Backend::Sqlite, "WAL + synchronous=FULL"),
    case(Shape::Batch, Backend::Postgres, "one connection"),
    case(Shape::Threads, Backend::File, "group commit, Flush"),
    case(
        Shape::Threads,
        Backend::Sqlite,
        "one connection Mutex, WAL + synchronous=FULL",
    ),
    case(Shape::Threads, Backend::Postgres, "one connection Mutex"),
];

const fn case(shape: Shape, backend: Backend, durability: &'static str) -> Case {
    Case {
        shape,
        backend,
        durability,
    }
}

impl Case {
    fn name(&self, spec: &Spec) -> String {
        let backend = self.backend.name();
        format!(
            "{backend} {}, {}, {} ({})",
            spec.op, spec.what, self.durability, spec.tail
        )
    }
}

/// A workload's calls, built before the clock starts.
enum Calls {
    Single(Vec<(IncidentId, Version, Event)>),
    Batch(Vec<Vec<(IncidentId, Vec<Event>)>>),
    /// Per thread, the histories it appends, one call each.
    Threads(Vec<Vec<(IncidentId, Vec<Event>)>>),
}

impl Calls {
    /// Makes the first `1 / share` of the calls on `store` (of each thread's, with threads);
    /// returns the operations done (appends for one event per call, else events).
    fn run(&self, store: &dyn Store, share: usize) -> u64 {
        match self {
            Calls::Single(appends) => {
                let appends = &appends[..appends.len() / share];
                for (id, expected, event) in appends {
                    let events = std::slice::from_ref(event);
                    store.append(*id, *expected, events).unwrap();
                }
                appends.len() as u64
            }
            Calls::Batch(batches) => batches[..batches.len() / share]
                .iter()
                .map(|batch| {
                    let appends: Vec<Append<'_>> = batch
                        .iter()
                        .map(|(id, events)| Append {
                            id: *id,
                            expected: Version::ZERO,
                            events,
                        })
                        .collect();
                    store.append_batch(&appends).unwrap();
                    appends.iter().map(|a| a.events.len() as u64).sum::<u64>()
                })
                .sum(),
            Calls::Threads(per_thread) => on_threads(THREADS, |t| {
                let calls = &per_thread[t][..per_thread[t].len() / share];
                for (id, events) in calls {
                    store.append(*id, Version::ZERO, events).unwrap();
                }
                calls.iter().map(|(_, e)| e.len() as u64).sum()
            }),
        }
    }
}

/// A workload's calls, the records its raw baseline writes (one flush each), and the
/// operations a full run makes.
struct Work {
    calls: Calls,
    frames: Vec<Vec<u8>>,
    ops: u64,
}

/// One event per append: 8-event histories, appended one event at a time; each frame holds
/// one event.
fn singles(count: usize, people: &People) -> Work {
    let appends: Vec<(IncidentId, Version, Event)> = (0..)
        .flat_map(|n| {
            let (id, events) = history(n, 1, people);
            let versions = (0..).map(Version::new);
            events
                .into_iter()
                .zip(versions)
                .map(move |(e, v)| (id, v, e))
        })
        .take(count)
        .collect();
    let frames = appends
        .iter()
        .map(|(id, v, event)| encoded(&[(*id, v.get() + 1, std::slice::from_ref(event))]))
        .collect();
    let ops = appends.len() as u64;
    Work {
        calls: Calls::Single(appends),
        frames,
        ops,
    }
}

/// 64 events per call: `calls` batches of 8 whole histories; each frame holds a batch.
fn batches(calls: usize, people: &People) -> Work {
    let batches: Vec<Vec<(IncidentId, Vec<Event>)>> = (0..calls)
        .map(|call| histories8((call * THREADS) as u64, THREADS, people))
        .collect();
    let frames = batches
        .iter()
        .map(|batch| {
            let groups: Vec<(IncidentId, u64, &[Event])> =
                batch.iter().map(|(id, e)| (*id, 1, e.as_slice())).collect();
            encoded(&groups)
        })
        .collect();
    Work {
        calls: Calls::Batch(batches),
        frames,
        ops: (calls * EVENTS_PER_SYNC) as u64,
    }
}

/// 8 threads × `calls` calls of one whole history each; each baseline record holds what group
/// commit writes when the 8 threads' calls coincide: 8 one-group frames.
fn threads(calls: usize, people: &People) -> Work {
    let per_thread: Vec<Vec<(IncidentId, Vec<Event>)>> = (0..THREADS)
        .map(|t| histories8((t * calls) as u64, calls, people))
        .collect();
    let frames = (0..calls)
        .map(|call| {
            per_thread
                .iter()
                .flat_map(|calls| {
                    let (id, events) = &calls[call];
                    encoded(&[(*id, 1, events.as_slice())])
                })
                .collect()
        })
        .collect();
    Work {
        calls: Calls::Threads(per_thread),
        frames,
        ops: (calls * EVENTS_PER_SYNC) as u64,
    }
}

/// What one workload's rounds measured: the median of the baseline and of each case run,
/// FileStore's best run, and FileStore's median events per flush.
struct Measured {
    raw: f64,
    /// Per case of the workload, in table order (`None`: the backend did not run).
    cases: Vec<(&'static Case, Option<f64>)>,
    file_best: f64,
    per_sync: f64,
}

impl Measured {
    fn of(&self, backend: Backend) -> Option<f64> {
        self.cases
            .iter()
            .find(|(case, _)| case.backend == backend)
            .and_then(|(_, m)| *m)
    }
}

/// The timed work of one case: FileStore counts its flushes into `log`; PostgreSQL empties
/// its table before each round (untimed) and makes `1 / PG_SHARE` of the calls.
fn workload<'a>(
    backend: Backend,
    root: &'a Path,
    work: &'a Work,
    pg: Option<&'a (&'a PgDb, Box<dyn Store>)>,
    log: &'a RefCell<Vec<f64>>,
) -> Option<Workload<'a>> {
    let label = backend.name();
    Some(match backend {
        Backend::File => Workload::new(
            label,
            || fresh_store(root),
            |s| {
                let before = s.syncs.get();
                let done = work.calls.run(&s.store, 1);
                let syncs = s.syncs.get() - before;
                log.borrow_mut().push(work.ops as f64 / syncs as f64);
                done
            },
        ),
        Backend::Sqlite => Workload::new(
            label,
            || fresh_sqlite(root),
            |store| work.calls.run(store, 1),
        ),
        Backend::Postgres => {
            let (db, store) = pg?;
            Workload::new(
                label,
                || db.reset(),
                |()| work.calls.run(&**store, PG_SHARE),
            )
        }
    })
}

/// Runs one workload's cases in interleaved rounds with the raw baseline.
fn measure(
    spec: &Spec,
    work: &Work,
    root: &Path,
    plan: Plan,
    pg: Option<&(&PgDb, Box<dyn Store>)>,
) -> Measured {
    let log = RefCell::new(Vec::new());
    let cases: Vec<&Case> = CASES.iter().filter(|c| c.shape == spec.shape).collect();
    let raw = Workload::new(
        "raw file",
        || fresh_raw_file(root),
        |file| {
            raw_write_and_sync(file, &work.frames);
            work.ops
        },
    );
    let mut workloads = vec![raw];
    let mut ran = Vec::new();
    for case in &cases {
        let workload = workload(case.backend, root, work, pg, &log);
        ran.push(workload.is_some());
        workloads.extend(workload);
    }
    let rates = common::measure(plan, &mut workloads);
    drop(workloads);
    let mut medians = common::medians(&rates).into_iter();
    let raw = medians.next().expect("the baseline ran");
    let cases = cases
        .into_iter()
        .zip(ran)
        .map(|(case, ran)| (case, if ran { medians.next() } else { None }))
        .collect();
    let log = log.into_inner();
    Measured {
        raw,
        cases,
        file_best: rates[1].best(),
        per_sync: common::median(log[log.len() - plan.runs..].to_vec()),
    }
}

/// The comparison row for a workload, with why FileStore may fall behind.
fn versus(spec: &Spec, m: &Measured, frame_bytes: usize) -> Versus {
    let file = m.of(Backend::File).expect("FileStore always runs");
    let sqlite = m.of(Backend::Sqlite).expect("SqliteStore always runs");
    let (f, s) = (file / m.raw, sqlite / m.raw);
    let per_sync = m.per_sync;
    let (note, why_not) = match spec.shape {
        Shape::Single => (
            None,
            format!(
                "both make one flush per append and the flush sets the rate: FileStore runs at \
             {f:.2} of the raw write + fdatasync floor of its {frame_bytes}-byte frames, \
             SqliteStore at {s:.2} (it writes WAL pages and one fsync per commit), so the \
             difference is within the flush's run-to-run spread (best and worst per workload \
             above); FileStore has little left to remove above its raw floor"
            ),
        ),
        Shape::Batch => (
            None,
            format!(
                "both commit each 64-event call with one write and one flush; FileStore runs at \
             {f:.2} of the raw write + fdatasync floor for its bytes, SqliteStore at {s:.2}; \
             compare their best and worst runs above for the flush's spread"
            ),
        ),
        Shape::Threads => (
            Some(format!(
                "SqliteStore serialises the 8 threads on its one connection Mutex (one \
                 transaction and one WAL flush per 8-event call); FileStore's group commit \
                 shares a flush among {per_sync:.1} events on average"
            )),
            format!(
                "FileStore's group commit runs at {f:.2} of the one-thread raw floor here, with \
                 {per_sync:.1} events per fdatasync; SqliteStore at {s:.2}, one commit per \
                 8-event call"
            ),
        ),
    };
    Versus {
        row: spec.row.into(),
        unit: spec.unit,
        file,
        file_best: m.file_best,
        sqlite,
        note,
        why_not,
    }
}

/// Figures 1 and 2: every append case against its raw baseline, a FileStore-against-
/// SqliteStore row per workload, and group commit's events per flush.
pub fn appends(
    root: &Path,
    sizes: &Sizes,
    people: &People,
    pg: Option<&PgDb>,
    rows: &mut Vec<Versus>,
) -> Vec<Figure> {
    // One PostgreSQL connection for every round, as a host keeps one.
    let pg = pg.map(|db| (db, db.connect()));
    let mut figures = Vec::new();
    for spec in &SPECS {
        let work = match spec.shape {
            Shape::Single => singles(sizes.single_appends, people),
            Shape::Batch => batches(sizes.calls, people),
            Shape::Threads => threads(sizes.calls, people),
        };
        let frame_bytes = work.frames.iter().map(Vec::len).sum::<usize>() / work.frames.len();
        eprintln!(
            "{} {}, {}: {} operations per round, {frame_bytes} bytes per baseline write on \
             average{}",
            spec.op,
            spec.what,
            spec.tail,
            work.ops,
            if pg.is_some() {
                format!("; PostgresStore makes the first 1/{PG_SHARE} of the calls")
            } else {
                String::new()
            }
        );
        let m = measure(spec, &work, root, sizes.append_plan, pg.as_ref());
        eprintln!(
            "  FileStore events per fdatasync: {:.1} (median)",
            m.per_sync
        );
        for (case, median) in &m.cases {
            if let Some(median) = median {
                let name = case.name(spec);
                figures.push(Figure::new(name, *median, spec.unit, spec.baseline, m.raw));
            }
        }
        let row = versus(spec, &m, frame_bytes);
        figures.push(row.figure());
        rows.push(row);
        if spec.shape == Shape::Threads {
            figures.push(Figure::new(
                "events per fdatasync, 8 threads x 8 events per call, group commit (median)",
                m.per_sync,
                "events/sync",
                "one sync per 8 x 8 events",
                EVENTS_PER_SYNC as f64,
            ));
        }
    }
    figures
}
