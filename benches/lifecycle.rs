//! Lifecycle throughput: commands per second end to end through `Desk` + `MemoryStore`, with
//! bare `decide` + `Incident::apply` beside it as the baseline.
//!
//! Each incident gets seven commands: open, then acknowledge, start investigating, identify,
//! mitigate, resolve (fixed) and close. Every command records one event. All command values
//! are validated before the clock starts and cloned inside the timed loop (cloning is part of
//! the cost a host pays). Time comes from a fixed clock, so no system clock is read in the loop.
//!
//! The four workloads (desk and baseline, on 1 and 2 threads) run in interleaved rounds so
//! that each figure and its baseline see the same conditions; figures are the median run. Run with `cargo bench --bench lifecycle`;
//! `QUICK=1` makes it short. Results: `target/bench-results/lifecycle.json`.

mod common;

use std::hint::black_box;

use chrono::{DateTime, TimeZone, Utc};
// `FixedClock` is cheaper than `ManualClock` (no mutex), so the bench measures the desk, not
// the clock.
use common::{Figure, FixedClock, Plan, Workload, on_threads};
use incidents::lifecycle::decide;
use incidents::{
    Actor, Command, Desk, Incident, IncidentId, MemoryStore, NewIncident, Resolution, Role,
    Severity, Source, Status,
};

/// Commands per incident: open plus six lifecycle commands.
const COMMANDS_PER_INCIDENT: u64 = 7;

/// The goal for commands per second, end to end through a desk.
const GOAL_COMMANDS_PER_SEC: f64 = 1_000_000.0;

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()
}

/// What one thread runs: its own actor, new incident and six commands, all validated up front.
/// Each thread builds its own so that threads share no reference counts. The incident is
/// medium severity: under the default policy it has SLA targets and an escalation chain (so
/// every command re-arms real timers) but needs no post-incident review before closing.
struct Script {
    actor: Actor,
    new: NewIncident,
    steps: [Command; 6],
}

impl Script {
    fn new(thread: usize) -> Script {
        Script {
            actor: Actor::new(format!("owner-{thread}"), "Shimon", Role::Owner).unwrap(),
            new: NewIncident::new(
                "Checkout crashes",
                Severity::Medium,
                "online shop",
                Source::Alert,
            )
            .unwrap(),
            steps: [
                Command::Acknowledge,
                Command::StartInvestigating,
                Command::identify("server overload from a DDoS attack").unwrap(),
                Command::mitigate("traffic filtering switched on").unwrap(),
                Command::resolve(Resolution::Fixed),
                Command::close("Filtered the attack.", "Keep filtering on.").unwrap(),
            ],
        }
    }
}

type BenchDesk = Desk<MemoryStore, FixedClock>;

fn new_desk() -> BenchDesk {
    Desk::new(MemoryStore::new(), FixedClock(start())).unwrap()
}

/// End to end: `incidents` incidents through the desk. Returns the number of commands.
fn through_desk(desk: &BenchDesk, script: &Script, incidents: usize) -> u64 {
    for _ in 0..incidents {
        let id = desk.open(&script.actor, script.new.clone()).unwrap().id;
        for step in &script.steps {
            black_box(desk.act(id, &script.actor, step.clone()).unwrap());
        }
    }
    incidents as u64 * COMMANDS_PER_INCIDENT
}

/// Baseline: the same commands through bare `decide`, with `Incident::opened`/`apply` to get
/// each next state. No store, no locks, no id generation (ids come from a counter).
fn bare(script: &Script, thread: usize, incidents: usize, now: DateTime<Utc>) -> u64 {
    for n in 0..incidents {
        let id = IncidentId::from_bytes((((thread as u128) << 64) | n as u128).to_be_bytes());
        let open = Command::Open {
            id,
            incident: script.new.clone(),
        };
        let events = decide(None, &open, &script.actor, now).unwrap();
        let mut incident = Incident::opened(id, &events[0]).unwrap();
        for step in &script.steps {
            let command = step.clone();
            for event in &decide(Some(&incident), &command, &script.actor, now).unwrap() {
                incident.apply(event).unwrap();
            }
        }
        black_box(&incident);
    }
    incidents as u64 * COMMANDS_PER_INCIDENT
}

/// End to end with `threads` threads sharing one fresh desk, each on its own incidents.
fn desk_workload(threads: usize, incidents: usize) -> Workload<'static> {
    Workload::new(
        format!("desk, {threads} thread(s)"),
        move || {
            let scripts: Vec<Script> = (0..threads).map(Script::new).collect();
            (new_desk(), scripts)
        },
        move |(desk, scripts)| {
            let (desk, scripts) = (&*desk, &*scripts);
            on_threads(threads, |t| through_desk(desk, &scripts[t], incidents))
        },
    )
}

/// Bare decide+apply with `threads` threads, each on its own incidents.
fn bare_workload(threads: usize, incidents: usize) -> Workload<'static> {
    let now = start();
    Workload::new(
        format!("bare decide+apply, {threads} thread(s)"),
        move || (0..threads).map(Script::new).collect::<Vec<_>>(),
        move |scripts| {
            let scripts = &*scripts;
            on_threads(threads, |t| bare(&scripts[t], t, incidents, now))
        },
    )
}

/// Checks once, outside the measurements, that the scripted commands do what the bench claims:
/// every incident ends closed after seven events, in the desk and in the bare fold.
fn check() {
    let desk = new_desk();
    let script = Script::new(0);
    assert_eq!(through_desk(&desk, &script, 3), 3 * COMMANDS_PER_INCIDENT);
    let counts = desk.counts();
    assert_eq!(counts.total, 3);
    assert_eq!(counts.by_status.get(&Status::Closed), Some(&3));
    for incident in desk.list(&incidents::Filter::all()) {
        assert_eq!(incident.version().get(), COMMANDS_PER_INCIDENT);
    }
    assert_eq!(desk.store().incident_count(), 3);

    let id = IncidentId::from_bytes([1; 16]);
    let events = decide(
        None,
        &Command::Open {
            id,
            incident: script.new.clone(),
        },
        &script.actor,
        start(),
    )
    .unwrap();
    let mut incident = Incident::opened(id, &events[0]).unwrap();
    for step in &script.steps {
        let events = decide(Some(&incident), step, &script.actor, start()).unwrap();
        assert_eq!(events.len(), 1, "{step:?} should record one event");
        incident.apply(&events[0]).unwrap();
    }
    assert_eq!(incident.status(), Status::Closed);
}

fn main() {
    check();
    // The same size of run either way, so quick and full figures are comparable; quick only
    // makes fewer rounds.
    let incidents = 100_000;
    let plan = if common::quick() {
        Plan { warmup: 1, runs: 5 }
    } else {
        Plan {
            warmup: 2,
            runs: 15,
        }
    };
    eprintln!(
        "lifecycle: {incidents} incidents x {COMMANDS_PER_INCIDENT} commands per thread per run, \
         fresh desk each run; {} interleaved rounds after {} warm-up; figures are medians",
        plan.runs, plan.warmup
    );

    let rates = common::measure(
        plan,
        &mut [
            desk_workload(1, incidents),
            bare_workload(1, incidents),
            desk_workload(2, incidents),
            bare_workload(2, incidents),
        ],
    );
    let [desk_1, bare_1, desk_2, bare_2] = [0, 1, 2, 3].map(|i| rates[i].median());

    let unit = "commands/s";
    common::report(
        "lifecycle",
        &[
            Figure::new(
                "desk commands/s (open + 6 lifecycle, 1 thread, median)",
                desk_1,
                unit,
                "bare decide+apply (1 thread, median)",
                bare_1,
            ),
            Figure::new(
                "desk commands/s (open + 6 lifecycle, 2 threads, median)",
                desk_2,
                unit,
                "bare decide+apply (2 threads, median)",
                bare_2,
            ),
            Figure::new(
                "desk commands/s vs goal (1 thread, median)",
                desk_1,
                unit,
                "goal",
                GOAL_COMMANDS_PER_SEC,
            ),
            Figure::new(
                "desk commands/s vs goal (2 threads, median)",
                desk_2,
                unit,
                "goal",
                GOAL_COMMANDS_PER_SEC,
            ),
            Figure::new(
                "desk speed-up, 2 threads over 1 (median)",
                desk_2 / desk_1,
                "x",
                "bare decide+apply speed-up, 2 threads over 1 (median)",
                bare_2 / bare_1,
            ),
        ],
    );
}
