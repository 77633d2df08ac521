//! Cutting a failing run down to the steps that matter (delta debugging): leave out chunks
//! of steps, halving the chunk when nothing more can go, and keep every cut after which the
//! same kind of failure still happens. Steps draw from their own generators, so the steps
//! kept do what they did before — on a world that may now differ.

use std::collections::HashSet;

use crate::world::{Backend, Violation, World};

/// The shrunk failure: the steps kept, and the failure with the trace of those steps.
pub struct Shrunk {
    pub kept: Vec<u64>,
    pub violation: Violation,
    pub runs: u32,
}

/// Shrinks `failure` of a run of `steps` steps on `backend`, trying at most `budget` runs.
pub fn shrink(backend: Backend, failure: &Violation, steps: u64, budget: u32) -> Shrunk {
    let kind = failure.kind();
    let last = failure.step.min(steps.saturating_sub(1));
    let mut kept: Vec<u64> = (0..=last).collect();
    let mut best: Option<Violation> = None;
    let mut runs = 0;
    let mut chunk = kept.len().div_ceil(2).max(1);
    loop {
        let mut progress = false;
        let mut at = 0;
        while at < kept.len() && runs < budget {
            let mut candidate = kept.clone();
            let end = (at + chunk).min(candidate.len());
            candidate.drain(at..end);
            runs += 1;
            match fails(backend, failure.seed, steps, &candidate, &kind) {
                Some(violation) => {
                    kept = candidate;
                    best = Some(violation);
                    progress = true;
                }
                None => at += chunk,
            }
        }
        if runs >= budget || (chunk == 1 && !progress) {
            break;
        }
        if !progress {
            chunk = chunk.div_ceil(2);
        }
    }
    let violation = match best {
        Some(v) => v,
        // Nothing could go: the original, with its trace.
        None => fails(backend, failure.seed, steps, &kept, &kind).unwrap_or_else(|| Violation {
            seed: failure.seed,
            step: failure.step,
            what: failure.what.clone(),
            recent: failure.recent.clone(),
            trace: None,
        }),
    };
    Shrunk {
        kept,
        violation,
        runs,
    }
}

/// Runs the seed with only the steps in `kept` (up to the last of them), traced; the failure,
/// if it is of `kind`.
fn fails(backend: Backend, seed: u64, steps: u64, kept: &[u64], kind: &str) -> Option<Violation> {
    let keep: HashSet<u64> = kept.iter().copied().collect();
    let skip: HashSet<u64> = (0..steps).filter(|s| !keep.contains(s)).collect();
    let result = World::on(backend, seed, true).skipping(skip).run(steps);
    result.err().filter(|v| v.kind() == kind)
}
