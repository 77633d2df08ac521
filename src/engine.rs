//! The timer engine: which timers of an incident are due at an instant, and when the next one
//! falls due. Pure: the incident, the policy and `now` decide everything.
//!
//! Timers of an incident, each firing at most once (its [`Timer::key`] is recorded on the
//! incident, and [`Incident::apply`] refuses a repeat):
//!
//! - **escalation steps**, while the incident is open (unacknowledged) in its current opening;
//! - **acknowledge** at-risk and breach, while nobody has acknowledged it;
//! - **resolve** at-risk and breach, while its resolve clock runs;
//! - **customer update due**, while active and a cadence is set: one reminder each cadence
//!   without an update.
//!
//! **Quiet when it is over.** While every monitor signal on an incident has resolved (the
//! monitors say the problem stopped), escalation steps and acknowledge warnings rest, and
//! customer-update reminders go on only if customers were already told something. The quiet
//! period runs meanwhile and auto-resolves the incident. A new firing signal wakes the chain
//! where it stopped: the next step falls due its delay after the previous one, the quiet time
//! not counted. For example, critical (owner at 0, again at 10, responders at 15 minutes):
//!
//! ```text
//! 12:00 alert fires, incident opened   → step 1 pages the owner
//! 12:04 alert resolves                 → quiet: no step 2 at 12:10, no acknowledge warning
//! 12:19 quiet period (15 min) over     → auto-resolved
//! — or, had it fired again at 12:12    → step 2 at 12:18 (6 minutes of its 10 were left)
//! ```
//!
//! A target's at-risk warning is skipped when its breach is already due (a late tick warns
//! once, with the breach). When a tick is late, every overdue escalation step fires (up to
//! [`MAX_STEPS_PER_TICK`]) in order, and only the latest customer-update reminder.

use chrono::{DateTime, Duration, Utc};

use crate::incident::Incident;
use crate::lifecycle::{SlaTarget, Status, Timer};
use crate::policy::{Chain, Policy, Rounds, Targets};
use crate::severity::Severity;
use crate::sla::{Meter, acknowledge_clock, at_risk_after, resolve_clock, update_clock_start};

/// The most escalation steps one incident fires in one tick (a tick days late on a chain that
/// repeats until acknowledged would otherwise page hundreds of times at once).
pub const MAX_STEPS_PER_TICK: usize = 64;

/// The meter an escalation chain counts its delays on: wall time when the severity pages at
/// any hour or the calendar never closes, opening hours otherwise.
fn chain_meter<'a>(chain: &Chain, severity: Severity, policy: &'a Policy) -> Meter<'a> {
    let page_anyway = chain
        .outside_hours
        .page_anyway_from
        .is_some_and(|from| severity >= from);
    if page_anyway || policy.calendar().is_always_open() {
        Meter::Wall
    } else {
        Meter::Business(policy.calendar())
    }
}

/// The meter SLA targets count on, as [`Meter::for_targets`], but wall time when the
/// calendar never closes: the same instants and durations (a calendar open at every instant
/// counts wall time), without asking the calendar whether it is always open at every step.
fn sla_meter<'a>(targets: &Targets, policy: &'a Policy) -> Meter<'a> {
    match Meter::for_targets(targets, policy) {
        Meter::Business(calendar) if calendar.is_always_open() => Meter::Wall,
        meter => meter,
    }
}

/// `d` times `n`, or `None` if that overflows (a timer that far out never falls due).
fn times(d: Duration, n: u32) -> Option<Duration> {
    d.checked_mul(i32::try_from(n).ok()?)
}

/// The delay from the chain's start to step `step` of round `round`.
///
/// Round 0 runs every step at its own delay. Each later round starts `repeat_pause` after the
/// previous round's last step and runs the steps from `repeat_from` on, keeping their spacing.
pub(crate) fn step_offset(chain: &Chain, round: u32, step: usize) -> Duration {
    let at = |i: usize| chain.steps.get(i).map_or(Duration::zero(), |s| s.after);
    if round == 0 {
        return at(step);
    }
    let last = at(chain.steps.len().saturating_sub(1));
    let first_repeated = at(chain.repeat_from);
    let round_length = last - first_repeated;
    // Saturates instead of overflowing: a step that far out never falls due.
    let offset = times(chain.repeat_pause, round)
        .zip(times(round_length, round - 1))
        .and_then(|(pauses, rounds)| {
            last.checked_add(&pauses)?
                .checked_add(&rounds)?
                .checked_add(&(at(step) - first_repeated))
        });
    offset.unwrap_or(Duration::MAX)
}

/// The step after `last` (round, step), if the chain has one.
fn next_step(chain: &Chain, last: Option<(u32, u32)>) -> Option<(u32, u32)> {
    let Some((round, step)) = last else {
        return Some((0, 0));
    };
    if (step as usize) + 1 < chain.steps.len() {
        return Some((round, step + 1));
    }
    let more = match chain.rounds {
        Rounds::Once => false,
        Rounds::Times(extra) => round < extra,
        Rounds::UntilAcknowledged => round < u32::MAX,
    };
    more.then(|| {
        (
            round + 1,
            u32::try_from(chain.repeat_from).unwrap_or(u32::MAX),
        )
    })
}

/// The next unfired timers of `incident`, each with the instant it falls due: at most one per
/// kind (the next escalation step, the next reminder, …). Unsorted.
/// Receives a candidate's due instant and a way to build its timer.
type Emit<'a> = dyn FnMut(DateTime<Utc>, &dyn Fn() -> Timer) + 'a;

/// Calls `emit` with each next unfired timer of `incident` and the instant it falls due: at
/// most one per kind (the next escalation step, the next reminder, …), unordered. The timer
/// itself is built only if `emit` asks for it, so finding the next deadline allocates
/// nothing.
fn each_candidate(incident: &Incident, policy: &Policy, emit: &mut Emit<'_>) {
    // Follow-ups of reviews are reminded in every status, even after closing.
    for f in incident
        .follow_ups()
        .iter()
        .filter(|f| f.done.is_none() && !f.reminded)
    {
        emit(f.plan.due, &|| Timer::FollowUpOverdue {
            follow_up: f.number,
            due: f.plan.due,
            owner: f.plan.owner.clone(),
        });
    }
    notice_candidates(incident, policy, emit);
    if !incident.is_active() {
        return;
    }
    let targets = policy.targets(incident.severity(), Some(incident.service()));
    let meter = sla_meter(targets, policy);
    // The monitors say it is over: no more paging (see the module docs).
    let quiet = incident.signals_all_resolved();
    sla_candidates(incident, targets, meter, quiet, emit);
    if let Some((due, cycle, after_updates, reminder)) =
        next_update_reminder(incident, targets, meter, quiet)
    {
        emit(due, &|| Timer::CustomerUpdateDue {
            cycle,
            after_updates,
            reminder,
            due,
        });
    }
    if let Some((due, cycle, round, step, chain)) = next_escalation(incident, policy, targets) {
        emit(due, &|| Timer::Escalation {
            cycle,
            round,
            step,
            notify: chain
                .steps
                .get(step as usize)
                .map(|s| s.notify.clone())
                .unwrap_or_default(),
        });
    }
    if let Some((due, last_signal)) = quiet_period_over(incident, policy) {
        emit(due, &|| Timer::QuietPeriodOver { last_signal });
    }
}

/// The regulatory notice clocks of a declared breach: for each unfiled phase its overdue
/// warning and, before it, its at-risk warning (at 75 % of the time), each unless fired.
/// They run while resolved too; a closed incident has every notice filed.
fn notice_candidates(incident: &Incident, policy: &Policy, emit: &mut Emit<'_>) {
    let Some(breach) = incident.breach() else {
        return;
    };
    for clock in breach.clocks(policy.calendar()) {
        if clock.filed.is_some() || clock.overdue {
            continue;
        }
        let Some(due) = clock.due else { continue };
        let (regime, phase) = (&clock.regime.id, &clock.phase.id);
        emit(due, &|| Timer::NoticeOverdue {
            regime: regime.clone(),
            phase: phase.clone(),
            due,
        });
        if !clock.warned
            && let Some(risk) = clock.at_risk
        {
            emit(risk, &|| Timer::NoticeAtRisk {
                regime: regime.clone(),
                phase: phase.clone(),
                due,
            });
        }
    }
}

/// The SLA candidates of an active `incident`: each target's breach and, before it, its
/// at-risk warning, unless already fired. No acknowledge target while the monitors say the
/// problem stopped (`quiet`).
fn sla_candidates(
    incident: &Incident,
    targets: &Targets,
    meter: Meter<'_>,
    quiet: bool,
    emit: &mut Emit<'_>,
) {
    let fired = incident.fired_timers();
    let mut sla = |target: SlaTarget, limit: Option<Duration>, clock: crate::sla::Clock| {
        let Some(limit) = limit else { return };
        if fired.breached.contains(&target) {
            return;
        }
        // A paused clock (waiting on a vendor) may have passed its marks before the pause,
        // with no tick in between: they are due from when they were passed, not lost.
        let reaches = |amount: Duration| {
            clock.reaches(meter, amount).or_else(|| {
                (clock.paused && target == SlaTarget::Resolve)
                    .then(|| crate::sla::resolve_reached(incident, meter, amount))
                    .flatten()
            })
        };
        let Some(due) = reaches(limit) else {
            return;
        };
        emit(due, &|| Timer::SlaBreached { target, due });
        if !fired.at_risk.contains(&target)
            && let Some(risk) = reaches(at_risk_after(limit, targets.at_risk_percent))
        {
            emit(risk, &|| Timer::SlaAtRisk { target, due });
        }
    };
    if !quiet {
        sla(
            SlaTarget::Acknowledge,
            targets.acknowledge,
            acknowledge_clock(incident, meter),
        );
    }
    sla(
        SlaTarget::Resolve,
        targets.resolve,
        resolve_clock(incident, meter),
    );
}

/// The next customer-update reminder of an active `incident`: when, and which (cycle,
/// updates so far, reminder). None without a cadence, or while the monitors say the problem
/// stopped (`quiet`) and no customer update was ever posted.
fn next_update_reminder(
    incident: &Incident,
    targets: &Targets,
    meter: Meter<'_>,
    quiet: bool,
) -> Option<(DateTime<Utc>, u32, u32, u32)> {
    let cadence = targets
        .customer_updates
        .filter(|_| !quiet || !incident.customer_updates().is_empty())?;
    // Reminders count from 1 in each opening and after each customer update.
    let cycle = incident.reopen_count();
    let after_updates = u32::try_from(incident.customer_updates().len()).unwrap_or(u32::MAX);
    let done = incident
        .fired_timers()
        .update_reminder
        .filter(|(c, after, _)| *c == cycle && *after == after_updates)
        .map_or(0, |(_, _, reminder)| reminder);
    let reminder = done.saturating_add(1);
    let start = update_clock_start(incident);
    let due = times(cadence, reminder).and_then(|d| meter.add(start, d))?;
    Some((due, cycle, after_updates, reminder))
}

/// Every next unfired timer of `incident` with its due instant.
fn candidates(incident: &Incident, policy: &Policy) -> Vec<(DateTime<Utc>, Timer)> {
    let mut out = Vec::new();
    each_candidate(incident, policy, &mut |at, timer| out.push((at, timer())));
    out
}

/// The next escalation step of the current opening: when, and which (cycle, round, step).
fn next_escalation<'a>(
    incident: &Incident,
    policy: &Policy,
    targets: &'a Targets,
) -> Option<(DateTime<Utc>, u32, u32, u32, &'a Chain)> {
    if incident.status() != Status::Open {
        return None;
    }
    let chain = targets.escalation.as_ref()?;
    let cycle = incident.reopen_count();
    let last = incident
        .fired_timers()
        .escalation
        .filter(|(c, _, _)| *c == cycle)
        .map(|(_, r, s)| (r, s));
    let (round, step) = next_step(chain, last)?;
    let offset = step_offset(chain, round, step as usize);
    let meter = chain_meter(chain, incident.severity(), policy);
    let (running_since, counted) = escalation_clock(incident, meter)?;
    // A chain counted in opening hours runs when the shop is open: an incident opened (or
    // firing again) while it is closed pages at the next opening plus the step's delay.
    let start = match meter {
        Meter::Business(calendar) => calendar.next_opening(running_since)?,
        Meter::Wall => running_since,
    };
    let due = meter.add(start, offset - counted)?;
    Some((due, cycle, round, step, chain))
}

/// The escalation chain's clock in the current opening: since when it runs, and how much it
/// counted before (it rests while the monitors say the problem stopped). `None` while it
/// rests.
fn escalation_clock(incident: &Incident, meter: Meter<'_>) -> Option<(DateTime<Utc>, Duration)> {
    let spans = incident.escalation_clock();
    let &(running_since, None) = spans.last()? else {
        return None;
    };
    let counted = spans
        .iter()
        .filter_map(|(from, until)| until.map(|until| meter.elapsed(*from, until)))
        .fold(Duration::zero(), |sum, d| sum + d);
    Some((running_since, counted))
}

/// Auto-resolve: every alert on the incident reported resolved and nothing arrived for the
/// quiet period — unless a person acted on it since the last signal (and the policy does
/// not say to auto-resolve anyway). Returns when, and the last signal's arrival.
fn quiet_period_over(
    incident: &Incident,
    policy: &Policy,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let intake = policy.intake();
    let quiet = intake.quiet_period?;
    if !incident.signals_all_resolved() {
        return None;
    }
    let (_, last_signal) = incident.signals_seen()?;
    // Only signals of the current opening count: an incident reopened by hand after an
    // auto-resolve is not auto-resolved again until a new alert comes and goes.
    if last_signal < incident.cycle_started_at() {
        return None;
    }
    let person_acted = incident
        .last_human_action_at()
        .is_some_and(|at| at > last_signal);
    if person_acted && !intake.auto_resolve_after_human {
        return None;
    }
    Some((last_signal + quiet, last_signal))
}

/// When the next timer of `incident` falls due, if any.
pub(crate) fn next_deadline(incident: &Incident, policy: &Policy) -> Option<DateTime<Utc>> {
    let mut earliest: Option<DateTime<Utc>> = None;
    each_candidate(incident, policy, &mut |at, _| {
        earliest = Some(earliest.map_or(at, |e| e.min(at)));
    });
    earliest
}

/// The timers of `incident` due at `now`, in the order to record them.
pub(crate) fn due_timers(incident: &Incident, policy: &Policy, now: DateTime<Utc>) -> Vec<Timer> {
    let mut due: Vec<(DateTime<Utc>, Timer)> = Vec::new();
    let all = candidates(incident, policy);
    for (at, timer) in &all {
        if *at > now {
            continue;
        }
        match timer {
            Timer::SlaAtRisk { target, .. } => {
                // Skip the warning when the breach itself is due.
                let breach_due = all.iter().any(|(b, t)| {
                    matches!(t, Timer::SlaBreached { target: bt, .. } if bt == target) && *b <= now
                });
                if !breach_due {
                    due.push((*at, timer.clone()));
                }
            }
            Timer::CustomerUpdateDue {
                cycle,
                after_updates,
                reminder,
                ..
            } => {
                let (t, reminder) = latest_update_reminder(incident, policy, now, *at, *reminder);
                due.push((
                    t,
                    Timer::CustomerUpdateDue {
                        cycle: *cycle,
                        after_updates: *after_updates,
                        reminder,
                        due: t,
                    },
                ));
            }
            Timer::Escalation {
                cycle, round, step, ..
            } => due_escalations(incident, policy, now, (*cycle, *round, *step), &mut due),
            Timer::NoticeAtRisk { regime, phase, .. } => {
                // Skip the warning when the notice is already overdue.
                let overdue = all.iter().any(|(o, t)| {
                    matches!(t, Timer::NoticeOverdue { regime: r, phase: p, .. } if r == regime && p == phase)
                        && *o <= now
                });
                if !overdue {
                    due.push((*at, timer.clone()));
                }
            }
            Timer::SlaBreached { .. }
            | Timer::QuietPeriodOver { .. }
            | Timer::FollowUpOverdue { .. }
            | Timer::NoticeOverdue { .. } => {
                due.push((*at, timer.clone()));
            }
        }
    }
    due.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| order(&a.1).cmp(&order(&b.1))));
    due.into_iter().map(|(_, t)| t).collect()
}

/// Of the customer-update reminders due at `now`, only the latest: the k-th falls due once k
/// cadences of counted time have passed since the last update. Starts from the next unfired
/// one, `reminder`, due at `at`; returns when the latest fell due (at most `now`) and its
/// number.
fn latest_update_reminder(
    incident: &Incident,
    policy: &Policy,
    now: DateTime<Utc>,
    at: DateTime<Utc>,
    reminder: u32,
) -> (DateTime<Utc>, u32) {
    let targets = policy.targets(incident.severity(), Some(incident.service()));
    let meter = sla_meter(targets, policy);
    let start = update_clock_start(incident);
    let mut latest = (at, reminder);
    if let Some(cadence) = targets.customer_updates.filter(|c| *c > Duration::zero()) {
        let elapsed = meter.elapsed(start, now);
        let k = elapsed.num_milliseconds() / cadence.num_milliseconds();
        let k = u32::try_from(k).unwrap_or(u32::MAX).max(reminder);
        if k > reminder
            && let Some(t) = times(cadence, k).and_then(|d| meter.add(start, d))
        {
            latest = (t.min(now), k);
        }
    }
    latest
}

/// Pushes onto `due` the escalation steps due at `now`, from the next unfired one
/// (`cycle`, `round`, `step`) on: the latest [`MAX_STEPS_PER_TICK`], each with the instant it
/// fell due (at most `now`).
fn due_escalations(
    incident: &Incident,
    policy: &Policy,
    now: DateTime<Utc>,
    (cycle, round, step): (u32, u32, u32),
    due: &mut Vec<(DateTime<Utc>, Timer)>,
) {
    let targets = policy.targets(incident.severity(), Some(incident.service()));
    let Some(chain) = targets.escalation.as_ref() else {
        return;
    };
    let meter = chain_meter(chain, incident.severity(), policy);
    let Some((running_since, counted)) = escalation_clock(incident, meter) else {
        return;
    };
    // A step is due once its offset of counted time has passed on the chain's clock: walk the
    // offsets (cheap arithmetic), keep the latest MAX_STEPS_PER_TICK.
    let elapsed = counted + meter.elapsed(running_since, now);
    let mut overdue = std::collections::VecDeque::with_capacity(MAX_STEPS_PER_TICK);
    let mut next = Some((round, step));
    let mut walked = 0u64;
    while let Some((r, s)) = next {
        if step_offset(chain, r, s as usize) > elapsed || walked > 10_000_000 {
            break;
        }
        if overdue.len() == MAX_STEPS_PER_TICK {
            overdue.pop_front();
        }
        overdue.push_back((r, s));
        walked += 1;
        next = next_step(chain, Some((r, s)));
    }
    for (r, s) in overdue {
        let t = meter
            .add(running_since, step_offset(chain, r, s as usize) - counted)
            .unwrap_or(now)
            .min(now);
        let notify = chain
            .steps
            .get(s as usize)
            .map(|x| x.notify.clone())
            .unwrap_or_default();
        due.push((
            t,
            Timer::Escalation {
                cycle,
                round: r,
                step: s,
                notify,
            },
        ));
    }
}

/// A stable order for timers due at the same instant.
fn order(timer: &Timer) -> (u8, u32, u32) {
    match timer {
        Timer::Escalation { round, step, .. } => (0, *round, *step),
        Timer::SlaAtRisk { target, .. } => (1, *target as u32, 0),
        Timer::SlaBreached { target, .. } => (2, *target as u32, 0),
        Timer::CustomerUpdateDue { reminder, .. } => (3, *reminder, 0),
        Timer::FollowUpOverdue { follow_up, .. } => (4, *follow_up, 0),
        Timer::NoticeAtRisk { .. } => (5, 0, 0),
        Timer::NoticeOverdue { .. } => (6, 0, 0),
        // Last: it resolves the incident, after which no other timer may fire.
        Timer::QuietPeriodOver { .. } => (7, 0, 0),
    }
}

/// The channel hint of the escalation step a timer fired, if any.
pub(crate) fn channel_of(timer: &Timer, incident: &Incident, policy: &Policy) -> Option<String> {
    let Timer::Escalation { step, .. } = timer else {
        return None;
    };
    policy
        .targets(incident.severity(), Some(incident.service()))
        .escalation
        .as_ref()?
        .steps
        .get(*step as usize)?
        .channel
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{OutsideHours, Recipient, Step};

    fn chain(afters: &[i64], rounds: Rounds, from: usize, pause: i64) -> Chain {
        Chain {
            steps: afters
                .iter()
                .map(|m| Step {
                    after: Duration::minutes(*m),
                    notify: vec![Recipient::IncidentOwner],
                    channel: None,
                })
                .collect(),
            rounds,
            repeat_from: from,
            repeat_pause: Duration::minutes(pause),
            outside_hours: OutsideHours::default(),
        }
    }

    #[test]
    fn repeated_rounds_keep_spacing_and_pause() {
        let c = chain(&[0, 10, 15], Rounds::UntilAcknowledged, 1, 15);
        let offsets: Vec<i64> = [(0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 1), (2, 2)]
            .iter()
            .map(|(r, s)| step_offset(&c, *r, *s).num_minutes())
            .collect();
        assert_eq!(offsets, [0, 10, 15, 30, 35, 50, 55]);
    }

    #[test]
    fn next_step_respects_rounds() {
        let once = chain(&[0, 5], Rounds::Once, 0, 5);
        assert_eq!(next_step(&once, None), Some((0, 0)));
        assert_eq!(next_step(&once, Some((0, 0))), Some((0, 1)));
        assert_eq!(next_step(&once, Some((0, 1))), None);
        let twice = chain(&[0, 5], Rounds::Times(1), 1, 5);
        assert_eq!(next_step(&twice, Some((0, 1))), Some((1, 1)));
        assert_eq!(next_step(&twice, Some((1, 1))), None);
    }
}
