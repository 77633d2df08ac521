//! Deterministic simulation of the whole desk (see `world.rs`): one seed decides every clock
//! step, command, fault and interleaving of desks; any failure replays exactly from its seed.
//!
//! - `cargo test --test sim`: a short run of several seeds (debug build).
//! - `SIM_TOTAL_STEPS=1000000 cargo test --release --test sim many_seeds -- --nocapture`:
//!   what CI runs (`.ci/run`), with the figures printed.
//! - `SIM_SEED=… SIM_STEPS=… cargo test --release --test sim replay -- --nocapture`: one
//!   seed, with its whole trace printed.
//! - `SIM_SOAK=1` with `SIM_TOTAL_STEPS`: seeds from the system clock instead of the fixed
//!   list, for a longer soak that looks where CI does not.

mod faults;
mod recorder;
mod world;

use std::time::Instant;

use faults::FaultCounts;
use world::{Outcome, World};

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

/// Steps per seed: long enough for incidents to escalate, breach and be reviewed, short
/// enough that a failure's trace is readable.
const STEPS_PER_SEED: u64 = 1_000;

#[test]
fn many_seeds() {
    let total = env_u64("SIM_TOTAL_STEPS").unwrap_or(6_000);
    let per_seed = env_u64("SIM_STEPS").unwrap_or(STEPS_PER_SEED).max(1);
    let base = if std::env::var_os("SIM_SOAK").is_some() {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_secs())
    } else {
        env_u64("SIM_BASE_SEED").unwrap_or(1)
    };
    let seeds = total.div_ceil(per_seed);
    // Seeds are independent worlds: one thread per core, each taking every n-th seed. Each
    // world is deterministic on its own thread (the crate's test hooks are per thread).
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
    let started = Instant::now();
    let results: Vec<Result<Vec<Outcome>, world::Violation>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    let mut outcomes = Vec::new();
                    for i in (t..seeds).step_by(threads as usize) {
                        let steps = per_seed.min(total - i * per_seed);
                        outcomes.push(World::new(base + i, false).run(steps)?);
                    }
                    Ok(outcomes)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    let mut steps = 0;
    let mut events = 0;
    let mut incidents = 0;
    let mut faults = FaultCounts::default();
    for result in results {
        match result {
            Ok(outcomes) => {
                for outcome in outcomes {
                    steps += outcome.steps;
                    events += outcome.events;
                    incidents += outcome.incidents;
                    faults.add(&outcome.faults);
                }
            }
            Err(violation) => panic!("{violation}"),
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "simulated {steps} steps over {seeds} seeds ({base}..{}) on {threads} threads in {secs:.1} s: {:.0} steps/s; {events} events on {incidents} incidents; no invariant violated",
        base + seeds,
        steps as f64 / secs.max(1e-9)
    );
    println!("faults exercised: {faults:#?}");
}

/// The same workload and invariants on `SqliteStore` (no disk faults: see `Backend`).
#[cfg(feature = "sqlite")]
#[test]
fn sqlite_seeds() {
    let total = env_u64("SIM_SQLITE_STEPS").unwrap_or(2_000);
    let started = Instant::now();
    let mut steps = 0;
    let mut faults = FaultCounts::default();
    let mut seed = env_u64("SIM_BASE_SEED").unwrap_or(1);
    while steps < total {
        let n = STEPS_PER_SEED.min(total - steps);
        match World::on(world::Backend::Sqlite, seed, false).run(n) {
            Ok(outcome) => {
                steps += outcome.steps;
                faults.add(&outcome.faults);
            }
            Err(violation) => panic!("on SQLite: {violation}"),
        }
        seed += 1;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "simulated {steps} steps on SQLite in {secs:.1} s: {:.0} steps/s; no invariant violated; {faults:#?}",
        steps as f64 / secs.max(1e-9)
    );
}

#[test]
fn replay() {
    let Some(seed) = env_u64("SIM_SEED") else {
        eprintln!("skipped: set SIM_SEED (and SIM_STEPS) to replay one seed with its trace");
        return;
    };
    let steps = env_u64("SIM_STEPS").unwrap_or(STEPS_PER_SEED);
    match World::new(seed, true).run(steps) {
        Ok(outcome) => {
            println!("{}", outcome.trace.unwrap_or_default());
            println!(
                "seed {seed}: {steps} steps, no invariant violated; {:#?}",
                outcome.faults
            );
        }
        Err(violation) => panic!("{violation}"),
    }
}

fn run_traced(seed: u64, steps: u64) -> Outcome {
    World::new(seed, true)
        .run(steps)
        .unwrap_or_else(|v| panic!("{v}"))
}

#[test]
fn the_same_seed_gives_the_same_trace_byte_for_byte() {
    for seed in [3, 11] {
        let a = run_traced(seed, 600);
        let b = run_traced(seed, 600);
        assert_eq!(a.trace_hash, b.trace_hash, "seed {seed}: traces differ");
        assert_eq!(a.trace, b.trace, "seed {seed}: traces differ");
        assert_eq!(a.events, b.events);
        // Different seeds, different worlds.
        let c = run_traced(seed + 1000, 600);
        assert_ne!(a.trace_hash, c.trace_hash);
    }
}

#[test]
fn an_injected_bug_is_caught() {
    // The bug: an incident forgets that its SLA breach fired, so the next tick records the
    // same breach again. The simulator must catch it within a few seeds.
    let found = (1..=20).find_map(|seed| {
        incidents::testing::inject(Some(incidents::testing::Bug::ForgetFiredBreach));
        let result = World::new(seed, false).run(STEPS_PER_SEED);
        incidents::testing::inject(None);
        result.err()
    });
    let violation = found.expect("the injected bug went unnoticed for 20 seeds");
    println!("caught: {violation}");
    assert!(
        violation.what.contains("recorded twice") || violation.what.contains("breach"),
        "caught, but by another check: {violation}"
    );
}
