//! Heartbeats: what a check-in costs, and what declared heartbeats add to `next_deadline`.
//!
//! The issue: "`desk.check_in(service)` is cheap (no event per check-in: keep the last one in
//! memory and record only changes of state)".
//!
//! **Set-up (not timed).** A `Desk<MemoryStore, SystemClock>` whose policy declares
//! [`HEARTBEATS`] heartbeats (`till-00` … `till-15`, every 5 minutes, 2 minutes' grace; half
//! of them counted in opening hours on a café calendar), so a check-in reads the real clock as
//! a host's would.
//!
//! **Figures** (median of interleaved rounds):
//!
//! 1. `desk.check_in(name)`, cycling through the names, per call. Baseline: what a host
//!    would write by hand — `Utc::now()` and a store into a `Mutex<HashMap<String,
//!    DateTime<Utc>>>` found by `&str`.
//! 2. `desk.next_deadline()` on a desk with no incidents and the 16 heartbeats (after a
//!    check-in of each, so the deadlines are computed once and cached). Baseline: the same on
//!    a desk without heartbeats — what they add to the timer loop's question.
//!
//! Before measuring, it counts the heap allocations made by 10,000 check-ins (a counting
//! global allocator) and fails if there is any.
//!
//! Run with `cargo bench --bench heartbeats`; `QUICK=1` makes it short. Results:
//! `target/bench-results/heartbeats.json`.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Duration, Utc, Weekday};
use chrono_tz::Tz;
use common::{Figure, Plan, Workload};
use incidents::policy::Heartbeat;
use incidents::{Calendar, Desk, MemoryStore, Policy, SystemClock};

/// Counts allocations, to check that a check-in makes none.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller upholds `GlobalAlloc::dealloc`'s contract.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Heartbeats declared.
const HEARTBEATS: usize = 16;

fn names() -> Vec<String> {
    (0..HEARTBEATS).map(|i| format!("till-{i:02}")).collect()
}

fn policy(heartbeats: bool) -> Policy {
    use Weekday::{Fri, Mon, Sun, Thu, Tue, Wed};
    let cafe = Calendar::weekly(Tz::Asia__Jerusalem)
        .open([Sun, Mon, Tue, Wed, Thu, Fri], "07:00", "19:00")
        .unwrap();
    let mut policy = Policy::small_business().with_calendar(cafe).unwrap();
    if heartbeats {
        for (i, name) in names().iter().enumerate() {
            let mut h = Heartbeat::new(name, "POS", Duration::minutes(5))
                .unwrap()
                .with_grace(Duration::minutes(2));
            if i % 2 == 1 {
                h = h.only_when_open();
            }
            policy = policy.with_heartbeat(h).unwrap();
        }
    }
    policy
}

fn desk(heartbeats: bool) -> Desk<MemoryStore, SystemClock> {
    Desk::builder(MemoryStore::new(), SystemClock)
        .policy(policy(heartbeats))
        .build()
        .unwrap()
}

/// Checks that a check-in allocates nothing.
fn no_allocation(names: &[String]) {
    let desk = desk(true);
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for i in 0..10_000 {
        black_box(desk.check_in(&names[i % HEARTBEATS]).unwrap());
    }
    let made = ALLOCATIONS.load(Ordering::Relaxed) - before;
    assert_eq!(made, 0, "10,000 check-ins made {made} allocations");
    eprintln!("10,000 check-ins: {made} allocations");
}

/// The cost of a check-in against a mutex-guarded map of last check-ins.
fn check_in(names: &[String], calls: u64, plan: Plan) -> Figure {
    eprintln!("check_in among {HEARTBEATS} heartbeats, {calls} calls per run");
    let rates = common::measure(
        plan,
        &mut [
            Workload::new(
                "desk.check_in",
                || desk(true),
                |desk| {
                    for i in 0..calls as usize {
                        black_box(desk.check_in(black_box(&names[i % HEARTBEATS])).unwrap());
                    }
                    calls
                },
            ),
            Workload::new(
                "Mutex<HashMap> store",
                || {
                    Mutex::new(
                        names
                            .iter()
                            .map(|n| (n.clone(), Utc::now()))
                            .collect::<HashMap<String, DateTime<Utc>>>(),
                    )
                },
                |map| {
                    // Shared, as between a host's threads: the lock is part of the work.
                    let map: &Mutex<_> = map;
                    for i in 0..calls as usize {
                        let now = Utc::now();
                        let mut map = map.lock().unwrap();
                        if let Some(last) = map.get_mut(black_box(names[i % HEARTBEATS].as_str())) {
                            *last = (*last).max(now);
                        }
                    }
                    calls
                },
            ),
        ],
    );
    let ns = |rate: f64| 1e9 / rate;
    Figure::new(
        format!("desk.check_in among {HEARTBEATS} heartbeats, median"),
        ns(rates[0].median()),
        "ns/call",
        "Utc::now() + Mutex<HashMap<String, DateTime>> store",
        ns(rates[1].median()),
    )
}

/// The cost heartbeats add to `next_deadline`, against the same desk without them.
fn next_deadline(names: &[String], calls: u64, plan: Plan) -> Figure {
    let ns = |rate: f64| 1e9 / rate;
    eprintln!("next_deadline with and without {HEARTBEATS} heartbeats, {calls} calls per run");
    let rates = common::measure(
        plan,
        &mut [
            Workload::new(
                "next_deadline, heartbeats",
                || {
                    let desk = desk(true);
                    for name in names {
                        desk.check_in(name).unwrap();
                    }
                    desk
                },
                |desk| {
                    for _ in 0..calls {
                        black_box(desk.next_deadline());
                    }
                    calls
                },
            ),
            Workload::new(
                "next_deadline, none",
                || desk(false),
                |desk| {
                    for _ in 0..calls {
                        black_box(desk.next_deadline());
                    }
                    calls
                },
            ),
        ],
    );
    Figure::new(
        format!("desk.next_deadline with {HEARTBEATS} heartbeats, no incidents, median"),
        ns(rates[0].median()),
        "ns/call",
        "the same without heartbeats",
        ns(rates[1].median()),
    )
}

fn main() {
    let quick = common::quick();
    let (calls, plan) = if quick {
        (20_000u64, Plan { warmup: 2, runs: 9 })
    } else {
        (
            200_000u64,
            Plan {
                warmup: 5,
                runs: 31,
            },
        )
    };
    let names = names();
    no_allocation(&names);
    let figures = [
        check_in(&names, calls, plan),
        next_deadline(&names, calls, plan),
    ];
    common::report("heartbeats", &figures);
}
