//! Timers at scale: `Desk::tick` and `Desk::next_deadline` with a million open incidents,
//! each beside a bare `BTreeSet<(deadline, id)>` doing the same queue work, measured in the
//! same run.
//!
//! The issue: "with 1,000,000 open incidents and 10 due per tick, the tick costs at most 2× a
//! bare `BTreeMap` pop of the same deadlines measured in the same run; `next_deadline()` costs
//! O(1) or O(log n). Never a scan over all open incidents."
//!
//! **Set-up (not timed).** A `Desk<MemoryStore, ManualClock>` (virtual time) with a policy
//! whose only timer is one escalation step: a critical incident pages its owner
//! [`FIRST_PAGE`] after opening, then again every `period` until acknowledged (no SLA targets,
//! no customer-update cadence, calendar always open). N critical incidents are opened ten at
//! a time, each group of ten one virtual second after the previous one, and the period is
//! N/10 seconds. So at the instant `start + FIRST_PAGE + k s` exactly the ten incidents of
//! group `k mod N/10` are due, and after firing each is queued again one period later: the
//! queue always holds N entries. Every measured tick asserts that it fired exactly ten timers
//! (ten `TimerFired` + ten `NotificationRequested` events, one append per incident). Each of
//! the N incidents fires at most once in the run (it makes fewer ticks than there are groups).
//! The desk and its baseline set live through the whole run, each moving on one instant per
//! tick.
//!
//! **Figures** (median of interleaved rounds; lower is better for all of them):
//!
//! 1. `desk.tick(now)` with 10 due among N, per tick. Baseline: a `BTreeSet<(DateTime<Utc>,
//!    IncidentId)>` holding the same N (deadline, id) entries, on which a tick is: `pop_first`
//!    while the first entry is due (the same 10 entries), and `insert` of each one's next
//!    deadline (deadline + period) — the queue work a tick must do at least, with no
//!    recording. And the same tick against the recording it must do at least too (issue #18's
//!    baseline): the set's work plus a bare `MemoryStore` append of the same two events per
//!    due incident (timer fired, page requested; 20 per tick) at the incident's version.
//! 2. The same at N/100 incidents, to show that a tick does not grow with N (and the ratio of
//!    the two). This desk makes a tenth as many ticks per round, so its incidents go round a
//!    few times: each fires at most 4 times (7 in a QUICK run), each firing adding two events
//!    and an outbox entry.
//! 3. `desk.tick(now)` at an instant where nothing is due (half a second before the next
//!    group), per tick: the timer bookkeeping a tick does before any recording (finding what
//!    is due). Baseline: `BTreeSet::first()` compared with `now` on the same N entries.
//! 4. `desk.next_deadline()` at N and at N/100 incidents. Baseline: `BTreeSet::first()` on N
//!    entries (and on N/100).
//!
//! The resident memory of the N-incident desk is printed on stderr. Run with
//! `cargo bench --bench timers`; `QUICK=1` makes it short (N = 100,000, fewer rounds).
//! Results: `target/bench-results/timers.json`.

#[path = "../common/mod.rs"]
mod common;
mod lockstep;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::{Figure, MIB, Plan, Workload, rss};
use incidents::policy::{Chain, OutsideHours, Recipient, Rounds, Step, Targets};
use incidents::{
    Actor, Calendar, Desk, IncidentId, ManualClock, MemoryStore, NewIncident, Policy, Role,
    Severity, Source,
};
use lockstep::Lockstep;

/// Incidents due at each tick.
const DUE_PER_TICK: usize = 10;

/// When an incident's first page falls due, after it is opened.
const FIRST_PAGE: Duration = Duration::minutes(1);

/// The bench's queue: the same entries the desk queues, `(deadline, incident)`.
type Baseline = BTreeSet<(DateTime<Utc>, IncidentId)>;

type BenchDesk = Desk<MemoryStore, ManualClock>;

/// The sizes of a run.
struct Sizes {
    /// Open incidents in the big desk.
    n: usize,
    /// Ticks per round on the big desk.
    ticks: usize,
    /// Empty ticks per round.
    empty_ticks: usize,
    /// `next_deadline` calls per round.
    deadline_calls: usize,
    plan: Plan,
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap()
}

/// One escalation step for critical incidents, [`FIRST_PAGE`] after opening, repeated every
/// `period` until acknowledged. Nothing else has a timer.
fn policy(period: Duration) -> Policy {
    let chain = Chain {
        steps: vec![Step {
            after: FIRST_PAGE,
            notify: vec![Recipient::IncidentOwner],
            channel: None,
        }],
        rounds: Rounds::UntilAcknowledged,
        repeat_from: 0,
        repeat_pause: period,
        outside_hours: OutsideHours {
            page_anyway_from: Some(Severity::Critical),
        },
    };
    let critical = Targets {
        escalation: Some(chain),
        ..Targets::none()
    };
    Policy::new(
        Calendar::always_open(),
        BTreeMap::from([(Severity::Critical, critical)]),
    )
    .unwrap()
}

/// A desk with `n` open incidents (a multiple of [`DUE_PER_TICK`]), and the same deadlines
/// in a bare set.
struct Timed {
    desk: BenchDesk,
    set: Baseline,
    /// The period between two pages of one incident: `n / DUE_PER_TICK` seconds.
    period: Duration,
}

impl Timed {
    fn new(n: usize) -> Timed {
        assert!(n.is_multiple_of(DUE_PER_TICK) && n > 0);
        let groups = n / DUE_PER_TICK;
        let period = Duration::seconds(groups as i64);
        let desk = Desk::builder(MemoryStore::new(), ManualClock::new(start()))
            .policy(policy(period))
            .build()
            .unwrap();
        let owner = Actor::new("shimon", "Shimon", Role::Owner).unwrap();
        let new = NewIncident::new(
            "Till won't take cards",
            Severity::Critical,
            "POS",
            Source::StaffReport,
        )
        .unwrap();
        let mut set = Baseline::new();
        for g in 0..groups {
            let opened = start() + Duration::seconds(g as i64);
            desk.clock().set(opened);
            for _ in 0..DUE_PER_TICK {
                let id = desk.open(&owner, new.clone()).unwrap().id;
                set.insert((opened + FIRST_PAGE, id));
            }
        }
        assert_eq!(set.len(), n, "incident ids are unique");
        Timed { desk, set, period }
    }

    /// The instant group `k` (counting on past the last group) is due: `start + FIRST_PAGE +
    /// k s`.
    fn instant(k: u64) -> DateTime<Utc> {
        start() + FIRST_PAGE + Duration::seconds(k as i64)
    }
}

/// One desk tick at the `k`-th instant; checks that it fired exactly ten timers.
fn desk_tick(desk: &BenchDesk, k: u64) {
    let report = desk.tick(Timed::instant(k)).unwrap();
    assert_eq!(report.fired.len(), DUE_PER_TICK);
    assert_eq!(report.notifications, DUE_PER_TICK);
}

/// The baseline's tick at the `k`-th instant: pops the due entries and queues each again one
/// period later. Checks that it moved exactly ten.
fn set_tick(set: &mut Baseline, period: Duration, k: u64) {
    set_tick_with(set, period, k, |_| {});
}

/// [`set_tick`], calling `on_due` with each due incident before it is queued again.
fn set_tick_with(set: &mut Baseline, period: Duration, k: u64, mut on_due: impl FnMut(IncidentId)) {
    let now = Timed::instant(k);
    let mut moved = 0;
    while let Some(&(at, id)) = set.first() {
        if at > now {
            break;
        }
        set.pop_first();
        on_due(id);
        set.insert((at + period, id));
        moved += 1;
    }
    assert_eq!(moved, DUE_PER_TICK);
}

/// The time per operation, in `1 / scale` seconds, at `rate` operations per second.
fn per_op(rate: f64, scale: f64) -> f64 {
    scale / rate
}

impl Sizes {
    fn new(quick: bool) -> Sizes {
        if quick {
            Sizes {
                n: 100_000,
                ticks: 500,
                empty_ticks: 5_000,
                deadline_calls: 20_000,
                plan: Plan {
                    warmup: 1,
                    runs: 11,
                },
            }
        } else {
            Sizes {
                n: 1_000_000,
                ticks: 1_000,
                empty_ticks: 10_000,
                deadline_calls: 50_000,
                plan: Plan {
                    warmup: 2,
                    runs: 31,
                },
            }
        }
    }
}

/// Prints the sizes of the run; returns the small desk's ticks per round.
fn describe(sizes: &Sizes, quick: bool) -> usize {
    let (n, small_n, plan) = (sizes.n, sizes.n / 100, sizes.plan);
    let rounds = plan.warmup + plan.runs;
    // Every incident of the big desk fires at most once: fewer ticks than groups. The small
    // desk makes a tenth as many ticks per round, and goes round its groups a few times.
    let small_ticks = sizes.ticks / 10;
    assert!(1 + rounds * sizes.ticks < n / DUE_PER_TICK);
    let small_firings = (1 + rounds * small_ticks).div_ceil(small_n / DUE_PER_TICK);
    eprintln!(
        "timers: {}N = {n} open incidents ({} groups of {DUE_PER_TICK}), N/100 = {small_n}; \
         {DUE_PER_TICK} due per tick; per round {} ticks at N ({} at N/100), {} empty ticks \
         and {} next_deadline calls; {} interleaved rounds after {} warm-up; figures are \
         medians; each incident fires at most once at N, at most {small_firings} times at N/100",
        if quick { "QUICK run, " } else { "" },
        n / DUE_PER_TICK,
        sizes.ticks,
        small_ticks,
        sizes.empty_ticks,
        sizes.deadline_calls,
        plan.runs,
        plan.warmup,
    );
    small_ticks
}

/// The desks at N and N/100 incidents, each in lockstep with its baseline set; prints the
/// memory the big one takes.
fn desks(n: usize, small_n: usize) -> (Lockstep, Lockstep) {
    let (rss_before, _) = rss().unwrap_or((0.0, 0.0));
    let built = std::time::Instant::now();
    let big = Timed::new(n);
    let build_secs = built.elapsed().as_secs_f64();
    if let Some((rss_after, peak)) = rss() {
        eprintln!(
            "  built the N-incident desk in {build_secs:.1} s; resident memory {:.0} MiB \
             before, {:.0} MiB after (desk + MemoryStore + the baseline set), peak {:.0} MiB: \
             {:.0} bytes per incident",
            rss_before / MIB,
            rss_after / MIB,
            peak / MIB,
            (rss_after - rss_before) / n as f64,
        );
    }
    let big = Lockstep::new(big);
    let small = Lockstep::new(Timed::new(small_n));
    (big, small)
}

/// Figure 4's medians, in ns per call: `next_deadline` and the set's `first` at N, then at
/// N/100.
fn deadlines(big: &Lockstep, small: &Lockstep, sizes: &Sizes) -> [f64; 4] {
    let (n, small_n, plan) = (sizes.n, sizes.n / 100, sizes.plan);
    // 4. next_deadline, at N and at N/100. Both desks just had their first tick: ten
    // notifications pending, the rest of the incidents queued at their first page.
    let calls = sizes.deadline_calls;
    let rates = common::measure(
        plan,
        &mut [
            Workload::new(
                format!("next_deadline(), N = {n}"),
                || (),
                |()| big.next_deadlines(calls),
            ),
            Workload::new(
                format!("BTreeSet::first(), {n} entries"),
                || (),
                |()| big.firsts(calls),
            ),
            Workload::new(
                format!("next_deadline(), N/100 = {small_n}"),
                || (),
                |()| small.next_deadlines(calls),
            ),
            Workload::new(
                format!("BTreeSet::first(), {small_n} entries"),
                || (),
                |()| small.firsts(calls),
            ),
        ],
    );
    let [deadline_n, first_n, deadline_small, first_small] =
        [0, 1, 2, 3].map(|i| per_op(rates[i].median(), 1e9));
    [deadline_n, first_n, deadline_small, first_small]
}

/// Figures 1-3's medians, in µs per tick: ticks with ten due and their baseline at N and at
/// N/100, then empty ticks and their baseline at N.
fn ticks(big: &Lockstep, small: &Lockstep, sizes: &Sizes, small_ticks: usize) -> [f64; 7] {
    let (n, small_n, plan) = (sizes.n, sizes.n / 100, sizes.plan);
    // 1-3. Ticks.
    let (ticks, empty_ticks) = (sizes.ticks, sizes.empty_ticks);
    let rates = common::measure(
        plan,
        &mut [
            Workload::new(
                format!("tick, {DUE_PER_TICK} due of N = {n}"),
                || (),
                |()| big.desk_ticks(ticks),
            ),
            Workload::new(
                format!("BTreeSet pop {DUE_PER_TICK} + re-insert, {n} entries"),
                || (),
                |()| big.set_ticks(ticks),
            ),
            Workload::new(
                format!("tick, {DUE_PER_TICK} due of N/100 = {small_n}"),
                || (),
                |()| small.desk_ticks(small_ticks),
            ),
            Workload::new(
                format!("BTreeSet pop {DUE_PER_TICK} + re-insert, {small_n} entries"),
                || (),
                |()| small.set_ticks(small_ticks),
            ),
            Workload::new(
                format!("tick, 0 due of N = {n}"),
                || (),
                |()| big.empty_desk_ticks(empty_ticks),
            ),
            Workload::new(
                format!("BTreeSet::first() <= now, {n} entries"),
                || (),
                |()| big.empty_set_ticks(empty_ticks),
            ),
            Workload::new(
                format!(
                    "BTreeSet pop {DUE_PER_TICK} + re-insert + MemoryStore append of their {} \
                     events, {n} entries",
                    2 * DUE_PER_TICK
                ),
                || (),
                |()| big.recorded.ticks(big.timed.period, ticks),
            ),
        ],
    );
    let [
        tick_n,
        set_n,
        tick_small,
        set_small,
        empty_n,
        first_due_n,
        recorded_n,
    ] = [0, 1, 2, 3, 4, 5, 6].map(|i| per_op(rates[i].median(), 1e6));
    [
        tick_n,
        set_n,
        tick_small,
        set_small,
        empty_n,
        first_due_n,
        recorded_n,
    ]
}

/// Checks both desks and their sets moved together, and prints where a tick's time goes.
fn summary(big: &Lockstep, small: &Lockstep, tick_n: f64, empty_n: f64) {
    for lockstep in [&big, &small] {
        assert_eq!(lockstep.desk_next.get(), lockstep.set_next.get());
        assert_eq!(lockstep.set.borrow().len(), lockstep.timed.set.len());
    }
    eprintln!(
        "  {} ticks on the N-incident desk, {} on the N/100 one; the queues still hold N and \
         N/100 entries",
        big.desk_next.get(),
        small.desk_next.get(),
    );
    eprintln!(
        "  split (medians): a tick with {DUE_PER_TICK} due costs {tick_n:.1} µs, of which \
         {empty_n:.2} µs is finding what is due (the empty tick); the other {:.1} µs is \
         recording, {:.2} µs per due incident (decide the due timers, render the notification, \
         MemoryStore append of 2 events, apply, re-arm)",
        tick_n - empty_n,
        (tick_n - empty_n) / DUE_PER_TICK as f64,
    );
    if let Some((rss_now, peak)) = rss() {
        eprintln!(
            "  resident memory at the end {:.0} MiB, peak {:.0} MiB",
            rss_now / MIB,
            peak / MIB
        );
    }
}

/// The figures, from the medians of [`deadlines`] and [`ticks`].
fn figures(n: usize, small_n: usize, deadline: [f64; 4], tick: [f64; 7]) -> [Figure; 8] {
    let [deadline_n, first_n, deadline_small, first_small] = deadline;
    let [
        tick_n,
        set_n,
        tick_small,
        set_small,
        empty_n,
        first_due_n,
        recorded_n,
    ] = tick;
    let queue = |size: usize| {
        format!(
            "BTreeSet<(deadline, id)> of {size}: pop_first the {DUE_PER_TICK} due + insert each \
             at its next deadline (median)"
        )
    };
    [
        Figure::new(
            format!("tick, {DUE_PER_TICK} due of N={n} open incidents (median)"),
            tick_n,
            "µs/tick",
            queue(n),
            set_n,
        ),
        Figure::new(
            format!("tick, {DUE_PER_TICK} due of N={n} open incidents, against recording (median)"),
            tick_n,
            "µs/tick",
            format!(
                "BTreeSet<(deadline, id)> of {n}: pop_first the {DUE_PER_TICK} due + a bare \
                 MemoryStore append of the same {} events (2 per incident, at its version) + \
                 re-insert (median)",
                2 * DUE_PER_TICK
            ),
            recorded_n,
        ),
        Figure::new(
            format!("tick, {DUE_PER_TICK} due of N/100={small_n} open incidents (median)"),
            tick_small,
            "µs/tick",
            queue(small_n),
            set_small,
        ),
        Figure::new(
            format!("tick growth, N={n} over N/100={small_n} (median)"),
            tick_n / tick_small,
            "x",
            "BTreeSet pop + re-insert growth, same sizes (median)",
            set_n / set_small,
        ),
        Figure::new(
            format!("tick, 0 due of N={n}: timer bookkeeping only (median)"),
            empty_n,
            "µs/tick",
            format!("BTreeSet<(deadline, id)> of {n}: first() <= now (median)"),
            first_due_n,
        ),
        Figure::new(
            format!("next_deadline(), N={n} open incidents (median)"),
            deadline_n,
            "ns/call",
            format!("BTreeSet<(deadline, id)>::first() of {n} (median)"),
            first_n,
        ),
        Figure::new(
            format!("next_deadline(), N/100={small_n} open incidents (median)"),
            deadline_small,
            "ns/call",
            format!("BTreeSet<(deadline, id)>::first() of {small_n} (median)"),
            first_small,
        ),
        Figure::new(
            format!("next_deadline() growth, N={n} over N/100={small_n} (median)"),
            deadline_n / deadline_small,
            "x",
            "BTreeSet::first() growth, same sizes (median)",
            first_n / first_small,
        ),
    ]
}

fn main() {
    let quick = common::quick();
    let sizes = Sizes::new(quick);
    let small_ticks = describe(&sizes, quick);
    let (n, small_n) = (sizes.n, sizes.n / 100);
    let (big, small) = desks(n, small_n);
    let deadline = deadlines(&big, &small, &sizes);
    let tick = ticks(&big, &small, &sizes, small_ticks);
    summary(&big, &small, tick[0], tick[4]);
    let figures = figures(n, small_n, deadline, tick);
    let verdict = if figures[0].ratio <= 2.0 {
        "met"
    } else {
        "NOT met"
    };
    eprintln!(
        "goal tick ratio <= 2: {verdict} ({:.2}) for {}",
        figures[0].ratio, figures[0].name
    );
    common::report("timers", &figures);
}
