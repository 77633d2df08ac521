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
mod shrink;
mod world;

use std::time::Instant;

use faults::FaultCounts;
use world::{Outcome, World};

/// The failure, shrunk, as the message to fail with: the original's seed and step (to
/// replay it), then the steps the shrinker kept, with their trace.
fn explain(backend: world::Backend, violation: &world::Violation, steps: u64) -> String {
    let budget = env_u64("SIM_SHRINK_RUNS").unwrap_or(400) as u32;
    let shrunk = shrink::shrink(backend, violation, steps, budget);
    format!(
        "{violation}\n\nshrunk in {} runs to {} of its {} steps (steps {:?}), failing with: {}\ntrace of the shrunk run:\n{}",
        shrunk.runs,
        shrunk.kept.len(),
        violation.step + 1,
        shrunk.kept,
        shrunk.violation.what,
        shrunk.violation.trace.as_deref().unwrap_or("")
    )
}

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
            Err(violation) => panic!("{}", explain(world::Backend::File, &violation, per_seed)),
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
            Err(violation) => panic!(
                "on SQLite: {}",
                explain(world::Backend::Sqlite, &violation, STEPS_PER_SEED)
            ),
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

/// Runs seeds with `bug` injected until the simulator catches it; returns the failure.
fn catch(bug: incidents::testing::Bug) -> world::Violation {
    let found = (1..=40).find_map(|seed| {
        incidents::testing::inject(Some(bug));
        let result = World::new(seed, false).run(STEPS_PER_SEED);
        incidents::testing::inject(None);
        result.err()
    });
    found.unwrap_or_else(|| panic!("the injected bug {bug:?} went unnoticed for 40 seeds"))
}

#[test]
fn an_injected_bug_is_caught_and_shrunk() {
    // The bug: an incident forgets that its SLA breach fired, so the next tick decides the
    // same breach again. The desk's own check refuses the repeat and stops the incident's
    // timers, which the simulator reports; the shrinker cuts the run to a few steps.
    let bug = incidents::testing::Bug::ForgetFiredBreach;
    let violation = catch(bug);
    println!("caught: {violation}");
    assert!(
        violation.what.contains("twice"),
        "caught, but by another check: {violation}"
    );
    incidents::testing::inject(Some(bug));
    let shrunk = shrink::shrink(world::Backend::File, &violation, STEPS_PER_SEED, 200);
    incidents::testing::inject(None);
    println!(
        "shrunk in {} runs from {} steps to {}: {:?}\n{}",
        shrunk.runs,
        violation.step + 1,
        shrunk.kept.len(),
        shrunk.kept,
        shrunk.violation.trace.as_deref().unwrap_or("")
    );
    assert_eq!(shrunk.violation.kind(), violation.kind());
    assert!(
        (shrunk.kept.len() as u64) < violation.step + 1,
        "nothing was cut from {} steps",
        violation.step + 1
    );
}

#[test]
fn a_bug_that_reaches_the_store_is_caught_by_the_model() {
    // The bug: after a conflict a desk appends what it decided on its stale copy. Nothing
    // in the crate stops it (the store checks only the version), so the events reach the
    // log; the simulator must find them: the model (an illegal or repeated event, a history
    // that does not replay) or the desk's copy behind its own receipt.
    let violation = catch(incidents::testing::Bug::NoRecheckAfterConflict);
    println!("caught: {violation}");
    assert!(
        violation.what.contains("twice")
            || violation.what.contains("no edge of the transition table")
            || violation.what.contains("differs from the replay")
            || violation.what.contains("does not replay")
            || violation.what.contains("desk holds"),
        "caught, but not by the model: {violation}"
    );
}

#[cfg(feature = "sqlite")]
#[test]
fn the_same_seed_gives_the_same_trace_on_sqlite() {
    let run = || {
        World::on(world::Backend::Sqlite, 5, true)
            .run(500)
            .unwrap_or_else(|v| panic!("{v}"))
    };
    let (a, b) = (run(), run());
    assert_eq!(a.trace, b.trace, "seed 5 on SQLite: traces differ");
    assert_eq!(a.events, b.events);
}
