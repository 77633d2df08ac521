//! Figure 4, tenants on PostgreSQL (feature `postgres` and a server): many shops in one
//! database neither wait for each other's appends nor read each other's events.
//!
//! 4a. **Aggregate durable appends**: 50 tenants × 2 threads each, every thread appending one
//!     event per call to its own incidents through one shared `PostgresStore` (a pool of
//!     100 connections, one handle per tenant), against 1 tenant × 2 threads on the same
//!     store in the same interleaved rounds. Appends of one tenant queue on its counter row;
//!     of different tenants they run at once and share the server's group commit. Goal:
//!     ratio ≥ 4.
//! 4b. **Catch-up** of a new desk of one tenant (`Desk::new` on its handle: every event of
//!     the tenant read through the feed and replayed), in a database where 100 other tenants
//!     hold 100× its events, against the same tenant alone in a database. In events/s, so a
//!     ratio of 1 / 1.5 ≈ 0.67 is the goal (≤ 1.5× the time).

#[cfg(feature = "postgres")]
pub use with_postgres::tenants;

#[cfg(not(feature = "postgres"))]
pub fn tenants(
    _: &crate::pg::PgServer,
    _: bool,
    _: &crate::data::People,
) -> Vec<crate::common::Figure> {
    Vec::new()
}

#[cfg(feature = "postgres")]
mod with_postgres {
    use std::time::Duration;

    use incidents::store::{PostgresOptions, PostgresStore, Tenant};
    use incidents::{Desk, Event, IncidentId, Store, Version};

    use crate::common::{self, Figure, FixedClock, Plan, Workload, on_threads};
    use crate::data::{People, history, start};
    use crate::pg::PgServer;

    /// Tenants appending at once in 4a's figure.
    const TENANTS: usize = 50;
    /// Threads per tenant in both of 4a's workloads.
    const THREADS_PER_TENANT: usize = 2;
    /// Other tenants in 4b's busy database, each holding as many events as the one measured.
    const NEIGHBOURS: usize = 100;

    /// One thread's appends: its own incidents' histories, one event per call.
    fn thread_work(first: u64, appends: usize, people: &People) -> Vec<(IncidentId, Vec<Event>)> {
        let mut out = Vec::new();
        let mut left = appends;
        let mut n = first;
        while left > 0 {
            let (id, mut events) = history(n, 0, people);
            events.truncate(left);
            left -= events.len();
            out.push((id, events));
            n += 1;
        }
        out
    }

    fn append_all(store: &PostgresStore, work: &[(IncidentId, Vec<Event>)]) -> u64 {
        let mut appends = 0;
        for (id, events) in work {
            for (n, event) in events.iter().enumerate() {
                store
                    .append(*id, Version::new(n as u64), std::slice::from_ref(event))
                    .unwrap();
                appends += 1;
            }
        }
        appends
    }

    /// Both parts; figures in order 4a, 4b.
    pub fn tenants(server: &PgServer, quick: bool, people: &People) -> Vec<Figure> {
        let mut figures = appends(server, quick, people);
        figures.extend(catch_up(server, quick, people));
        figures
    }

    fn appends(server: &PgServer, quick: bool, people: &People) -> Vec<Figure> {
        let db = server.database("tenants_appends");
        let threads = TENANTS * THREADS_PER_TENANT;
        let max = db.max_connections();
        if max < threads + 10 {
            eprintln!(
                "4a skipped: the server allows {max} connections, the figure needs {} \
                 (scripts/pg-test-cluster.sh starts it with max_connections=150)",
                threads + 10
            );
            return Vec::new();
        }
        // Appends per thread: the single tenant's two threads make as many in all as the
        // fifty tenants' hundred, so both rounds take a similar time if the goal is met.
        let (single_each, many_each, plan) = if quick {
            (150, 12, Plan { warmup: 1, runs: 3 })
        } else {
            (400, 32, Plan { warmup: 1, runs: 7 })
        };
        let options = PostgresOptions::new()
            .max_connections(threads)
            .connect_timeout(Duration::from_secs(30));
        let store = PostgresStore::connect_with(db.url(), options).unwrap();
        let shops: Vec<PostgresStore> = (0..TENANTS)
            .map(|t| store.tenant(Tenant::new(&format!("shop-{t}")).unwrap()))
            .collect();
        let single: Vec<_> = (0..THREADS_PER_TENANT)
            .map(|t| thread_work(t as u64 * 100_000, single_each, people))
            .collect();
        let many: Vec<_> = (0..THREADS_PER_TENANT)
            .map(|t| thread_work(t as u64 * 100_000, many_each, people))
            .collect();
        eprintln!(
            "4a: durable appends (one event each), 1 tenant × {THREADS_PER_TENANT} threads × \
             {single_each} against {TENANTS} tenants × {THREADS_PER_TENANT} threads × \
             {many_each}, one store with a pool of {threads} connections"
        );
        let mut workloads = [
            Workload::new(
                "1 tenant × 2 threads",
                || db.reset(),
                |()| on_threads(THREADS_PER_TENANT, |t| append_all(&shops[0], &single[t])),
            ),
            Workload::new(
                "50 tenants × 2 threads",
                || db.reset(),
                |()| {
                    on_threads(threads, |t| {
                        append_all(
                            &shops[t / THREADS_PER_TENANT],
                            &many[t % THREADS_PER_TENANT],
                        )
                    })
                },
            ),
        ];
        let rates = common::medians(&common::measure(plan, &mut workloads));
        vec![Figure::new(
            "PostgresStore durable appends, 50 tenants × 2 threads (aggregate, median)",
            rates[1],
            "appends/s",
            "1 tenant × 2 threads, same store",
            rates[0],
        )]
    }

    fn catch_up(server: &PgServer, quick: bool, people: &People) -> Vec<Figure> {
        let events: usize = if quick { 2_000 } else { 10_000 };
        let plan = if quick {
            Plan { warmup: 1, runs: 5 }
        } else {
            Plan {
                warmup: 2,
                runs: 11,
            }
        };
        // The tenant's history: whole incidents, events interleaved a hundred incidents at
        // a time, as the store's text.
        let mut rows = Vec::with_capacity(events);
        let mut n = 0;
        while rows.len() < events {
            let chunk: Vec<_> = (n..n + 100).map(|n| history(n, 0, people)).collect();
            n += 100;
            for step in 0..7 {
                for (id, history) in &chunk {
                    if rows.len() < events {
                        let text = serde_json::to_string(&history[step]).unwrap();
                        rows.push((*id, step as u64 + 1, text));
                    }
                }
            }
        }
        // A cut incident may miss its last events: the desk replays what there is.
        let started = std::time::Instant::now();
        let busy = server.database("tenants_busy");
        for t in 0..NEIGHBOURS {
            busy.load_tenant(&format!("neighbour-{t}"), &rows);
        }
        busy.load_tenant("shop-42", &rows);
        busy.settle();
        let alone = server.database("tenants_alone");
        alone.load_tenant("shop-42", &rows);
        alone.settle();
        eprintln!(
            "4b: catch-up of a new desk on tenant shop-42 ({events} events) beside {NEIGHBOURS} \
             tenants of {events} events each ({} rows), against it alone; loaded in {:.1} s",
            events * (NEIGHBOURS + 1),
            started.elapsed().as_secs_f64()
        );
        let shop = Tenant::new("shop-42").unwrap();
        let open = |url: &str| {
            let store = PostgresStore::connect(url).unwrap().tenant(shop.clone());
            Some(store)
        };
        let replay = |store: &mut Option<PostgresStore>| {
            let desk = Desk::new(store.take().unwrap(), FixedClock(start())).unwrap();
            let replayed = desk.opening().events_replayed;
            assert_eq!(replayed, events as u64, "the tenant's events only");
            replayed
        };
        let mut workloads = [
            Workload::new("alone", || open(alone.url()), replay),
            Workload::new("beside 100× more", || open(busy.url()), replay),
        ];
        let rates = common::medians(&common::measure(plan, &mut workloads));
        let figure = Figure::new(
            "PostgresStore catch-up of a new desk, tenant beside 100x its events in other tenants (median)",
            rates[1],
            "events/s",
            "the same tenant alone in a database",
            rates[0],
        );
        eprintln!(
            "4b: catch-up takes {:.2}× the time it takes alone (goal ≤ 1.5×)",
            1.0 / figure.ratio
        );
        vec![figure]
    }
}
