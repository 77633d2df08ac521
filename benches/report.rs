//! Report throughput: `incidents::report` over 1,000,000 incidents (QUICK: 100,000), with one
//! pass that only sums the incidents' resolve durations as the baseline, measured in the same
//! run.
//!
//! The incidents are built once, in memory, without a desk or a store: each is a synthetic
//! history made with `decide` (open, acknowledge, sometimes a vendor wait, resolve, sometimes
//! a reopening, feedback and a review with a follow-up), folded with `Incident::opened`/
//! `apply`. A seeded xorshift generator makes the mix the same every run: four severities,
//! five services, four sources, 10% recurrences, 90% acknowledged, 85% resolved (3% of them
//! reopened and resolved again), 5% false alarms, 5% vendor waits, 30% with feedback, a review
//! with a follow-up on a fifth of the resolved critical and high ones. Opening times spread over 30 days; the report covers all of them, so every
//! incident is in the population and every figure is computed over all of them.
//!
//! Two report figures: under `Policy::small_business()` (its calendar is open around the
//! clock, so business hours cost nothing extra), and under the same policy with a weekly
//! calendar (Mon–Fri 09:00–17:00, Europe/London), where every business-hours figure walks the
//! calendar. The workloads run in interleaved rounds; figures are the median run.
//!
//! Run with `cargo bench --bench report`; `QUICK=1` makes it short. Results:
//! `target/bench-results/report.json`.

mod common;

use std::hint::black_box;

use chrono::{DateTime, Duration, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use common::{Figure, Plan, Workload};
use incidents::lifecycle::{Recurrence, decide};
use incidents::people::Review;
use incidents::report::{Window, report};
use incidents::{
    Actor, Calendar, Change, Command, Event, Incident, IncidentId, Policy, Resolution, Role,
    Service, Severity, Source, Title,
};

/// A small, seeded, deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// True with probability `percent`%.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap()
}

/// The span the incidents open in, and the report's window.
const DAYS: i64 = 30;

/// Shared values, so the incidents share their text instead of each holding a copy.
struct Parts {
    actor: Actor,
    titles: Vec<Title>,
    services: Vec<Service>,
    follow_up_due: Duration,
    wait: Command,
    responded: Command,
    reopen: Command,
    /// `feedback[s - 1]` gives score `s`.
    feedback: Vec<Command>,
}

impl Parts {
    fn new() -> Parts {
        Parts {
            actor: Actor::new("shimon", "Shimon", Role::Owner).unwrap(),
            titles: [
                "Checkout crashes",
                "Payments fail",
                "Till offline",
                "Slow pages",
            ]
            .iter()
            .map(|t| Title::new(t).unwrap())
            .collect(),
            services: ["online shop", "payments", "POS", "website", "e-mail"]
                .iter()
                .map(|s| Service::new(s).unwrap())
                .collect(),
            follow_up_due: Duration::days(7),
            wait: Command::wait_for_vendor("PayCo", None).unwrap(),
            responded: Command::vendor_responded(None).unwrap(),
            reopen: Command::reopen("it came back").unwrap(),
            feedback: (1..=5)
                .map(|s| Command::feedback(s, None).unwrap())
                .collect(),
        }
    }

    /// A review with one follow-up due at `due`.
    fn review(&self, due: DateTime<Utc>) -> Command {
        Command::review(
            Review::new("a bad deploy", "no smoke test")
                .unwrap()
                .follow_up("Add a smoke test", "avi", due)
                .unwrap(),
        )
    }
}

/// Applies `command` at `at` (panics if the synthetic history is wrong: the bench is broken).
fn act(incident: &mut Incident, command: &Command, actor: &Actor, at: DateTime<Utc>) {
    for event in decide(Some(incident), command, actor, at).unwrap() {
        incident.apply(&event).unwrap();
    }
}

/// Builds `n` incidents with synthetic histories.
fn build(n: usize) -> Vec<Incident> {
    let parts = Parts::new();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let spacing = Duration::milliseconds(DAYS * 86_400_000 / n as i64);
    let mut incidents = Vec::with_capacity(n);
    let mut previous: Option<IncidentId> = None;
    for i in 0..n {
        let opened = start() + spacing * i as i32;
        let id = IncidentId::from_bytes(((i as u128) << 16 | 0x8000).to_be_bytes());
        let mut incident = open_incident(&parts, &mut rng, i, id, opened, previous);
        live(&mut incident, &parts, &mut rng, opened);
        previous = Some(id);
        incidents.push(incident);
    }
    incidents
}

/// Incident `i`, opened at `opened`: a random severity, service and source, and one time in
/// ten a recurrence of `previous`.
fn open_incident(
    parts: &Parts,
    rng: &mut Rng,
    i: usize,
    id: IncidentId,
    opened: DateTime<Utc>,
    previous: Option<IncidentId>,
) -> Incident {
    let recurrence = previous
        .filter(|_| rng.chance(10))
        .map(|previous| Recurrence::new(previous, 1));
    let open = Event::new(
        opened,
        parts.actor.clone(),
        Change::Opened {
            id,
            title: parts.titles[i % parts.titles.len()].clone(),
            description: None,
            severity: Severity::ALL[rng.below(4) as usize],
            service: parts.services[rng.below(5) as usize].clone(),
            source: Source::ALL[rng.below(4) as usize],
            alert_key: None,
            idempotency_key: None,
            recurrence,
        },
    );
    Incident::opened(id, &open).unwrap()
}

/// The rest of an incident's life, at random: acknowledged, waiting on a vendor, resolved
/// (maybe as a false alarm, maybe reopened), customer feedback, a review with a follow-up.
fn live(incident: &mut Incident, parts: &Parts, rng: &mut Rng, opened: DateTime<Utc>) {
    let mut now = opened;
    let actor = &parts.actor;
    let urgent = incident.severity() >= Severity::High;
    if rng.chance(90) {
        now += Duration::minutes(1 + rng.below(if urgent { 25 } else { 120 }) as i64);
        act(incident, &Command::Acknowledge, actor, now);
    }
    if rng.chance(5) {
        now += Duration::minutes(10);
        act(incident, &parts.wait, actor, now);
        now += Duration::minutes(30 + rng.below(240) as i64);
        act(incident, &parts.responded, actor, now);
    }
    if rng.chance(85) {
        now += Duration::minutes(10 + rng.below(if urgent { 150 } else { 600 }) as i64);
        let resolution = if rng.chance(5) {
            Resolution::FalseAlarm
        } else {
            Resolution::Fixed
        };
        act(incident, &Command::resolve(resolution), actor, now);
        if rng.chance(3) {
            now += Duration::minutes(90);
            act(incident, &parts.reopen, actor, now);
            now += Duration::minutes(30);
            act(incident, &Command::resolve(Resolution::Fixed), actor, now);
        }
        if rng.chance(30) {
            now += Duration::hours(2);
            let score = [5, 5, 4, 4, 3, 2, 1][rng.below(7) as usize];
            act(incident, &parts.feedback[score - 1], actor, now);
        }
        if urgent && rng.chance(20) {
            now += Duration::hours(1);
            act(
                incident,
                &parts.review(now + parts.follow_up_due),
                actor,
                now,
            );
        }
    }
}

/// The baseline: one pass that only sums the resolved incidents' open-to-resolve durations.
fn sum_durations(incidents: &[Incident]) -> (i64, usize) {
    let mut sum = 0i64;
    let mut resolved = 0usize;
    for incident in incidents {
        if let Some(at) = incident.resolved_at() {
            sum += (at - incident.created_at()).num_milliseconds();
            resolved += 1;
        }
    }
    (sum, resolved)
}

fn window() -> Window {
    Window::new(start(), start() + Duration::days(DAYS)).unwrap()
}

fn weekly_policy() -> Policy {
    let weekdays = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
    ];
    let calendar = Calendar::weekly(Tz::Europe__London)
        .open(weekdays, "09:00", "17:00")
        .unwrap();
    Policy::small_business().with_calendar(calendar).unwrap()
}

/// Checks, outside the measurements, that the report covers what the bench claims and agrees
/// with the baseline's sum.
fn check(incidents: &[Incident]) {
    let r = report(incidents, &Policy::small_business(), window());
    assert_eq!(r.opened.total, incidents.len());
    let (sum, resolved) = sum_durations(incidents);
    // The headline figures leave false alarms and duplicates out; this one keeps them, as
    // the baseline does.
    let all = &r.time_to_resolve.including_false_alarms_and_duplicates;
    assert_eq!(all.count, resolved);
    let mean = all.mean.unwrap();
    let expected = Duration::milliseconds(sum / resolved as i64);
    assert!(
        (mean - expected).num_seconds().abs() <= 1,
        "{mean} vs {expected}"
    );
    assert!(r.recurrence.recurrences > 0 && r.satisfaction.responses > 0);
    assert!(r.overdue_follow_ups.due > 0 && !r.breaches.items.is_empty());
    eprintln!(
        "  check: {} opened, {} resolved, {} breaches, {} recurrences, {} feedback responses, \
         {} follow-ups due; MTTR mean {} s",
        r.opened.total,
        resolved,
        r.breaches.items.len(),
        r.recurrence.recurrences,
        r.satisfaction.responses,
        r.overdue_follow_ups.due,
        mean.num_seconds(),
    );
}

/// Resident and peak memory of this process, from `/proc/self/status` (Linux), in MiB.
fn memory() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .map_or("?".to_string(), |kb| (kb / 1024).to_string())
    };
    format!(
        "resident {} MiB, peak {} MiB",
        field("VmRSS:"),
        field("VmHWM:")
    )
}

/// The medians, in incidents per second, of the report with an always-open calendar, with a
/// weekly one, and of the baseline, in interleaved rounds.
fn measure(incidents: &[Incident], n: usize, plan: Plan) -> [f64; 3] {
    let always_open = Policy::small_business();
    let weekly = weekly_policy();
    let rates = common::measure(
        plan,
        &mut [
            Workload::new(
                "report, calendar open around the clock",
                || (),
                |()| {
                    black_box(report(incidents, &always_open, window()));
                    n as u64
                },
            ),
            Workload::new(
                "report, weekly calendar",
                || (),
                |()| {
                    black_box(report(incidents, &weekly, window()));
                    n as u64
                },
            ),
            Workload::new(
                "baseline: sum of resolve durations",
                || (),
                |()| {
                    black_box(sum_durations(incidents));
                    n as u64
                },
            ),
        ],
    );
    [0, 1, 2].map(|i| rates[i].median())
}

fn main() {
    let quick = common::quick();
    let n = if quick { 100_000 } else { 1_000_000 };
    let plan = if quick {
        Plan { warmup: 1, runs: 5 }
    } else {
        Plan { warmup: 1, runs: 7 }
    };
    let built = std::time::Instant::now();
    let incidents = build(n);
    eprintln!(
        "report: {n} incidents built in {:.1} s ({} bytes each inline); {}",
        built.elapsed().as_secs_f64(),
        std::mem::size_of::<Incident>(),
        memory()
    );
    check(&incidents);
    eprintln!(
        "report: {} interleaved rounds after {} warm-up; figures are medians",
        plan.runs, plan.warmup
    );
    let [open, weekly, baseline] = measure(&incidents, n, plan);
    eprintln!("report: after the runs, {}", memory());
    let ms = |rate: f64| n as f64 / rate * 1000.0;
    let label = if quick { "100,000" } else { "1,000,000" };
    let base = "one pass summing resolve durations (median)";
    common::report(
        "report",
        &[
            Figure::new(
                format!("report over {label} incidents, open-all-hours calendar (median)"),
                ms(open),
                "ms",
                base,
                ms(baseline),
            ),
            Figure::new(
                format!("report over {label} incidents, weekly calendar (median)"),
                ms(weekly),
                "ms",
                base,
                ms(baseline),
            ),
            Figure::new(
                "report throughput, open-all-hours calendar (median)",
                open,
                "incidents/s",
                "one pass summing resolve durations (median)",
                baseline,
            ),
        ],
    );
}
