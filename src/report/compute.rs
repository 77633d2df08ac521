//! One pass over the incidents, gathering every figure.

use chrono::{DateTime, Duration, Utc};

use super::{
    Breach, Breaches, DurationStats, Exclusion, OverdueFollowUp, OverdueFollowUps, Recurrences,
    Report, Satisfaction, SlaCompliance, TimeToAcknowledge, TimeToResolve, Volume, Window,
};
use crate::calendar::{Calendar, OpeningTable};
use crate::incident::Incident;
use crate::lifecycle::{Resolution, SlaTarget};
use crate::model::{Service, Source};
use crate::policy::{Hours, Policy};
use crate::severity::Severity;
use crate::sla::{SlaState, acknowledge_clock_by, resolve_clock_by, state_of};

/// How far past the window's ends the report's opening table reaches (a resolution recorded
/// after the window's end is still measured from the table when it is this close).
const TABLE_MARGIN_DAYS: i64 = 7;
/// The longest stretch an opening table covers; beyond it the calendar measures directly.
const TABLE_MAX_DAYS: i64 = 20 * 366;

/// A time the report measured from an incident's opening to `at`: on the wall clock and in
/// business hours.
#[derive(Debug, Clone, Copy)]
struct Measured {
    at: DateTime<Utc>,
    wall: Duration,
    business: Duration,
}

/// How the report counts business hours: on the wall clock when the policy's calendar is
/// open around the clock, else from an opening table for the window, worked out once per
/// report (every figure is exactly what [`Calendar::business_time`] gives).
#[derive(Debug)]
enum BusinessHours<'p> {
    Wall,
    Table(OpeningTable<'p>),
}

impl<'p> BusinessHours<'p> {
    fn new(calendar: &'p Calendar, window: Window) -> BusinessHours<'p> {
        if calendar.is_always_open() {
            return BusinessHours::Wall;
        }
        let margin = Duration::days(TABLE_MARGIN_DAYS);
        let lo = window
            .from()
            .checked_sub_signed(margin)
            .unwrap_or(window.from());
        let hi = window
            .until()
            .checked_add_signed(margin)
            .unwrap_or(window.until());
        let hi = lo
            .checked_add_signed(Duration::days(TABLE_MAX_DAYS))
            .map_or(hi, |cap| hi.min(cap));
        BusinessHours::Table(OpeningTable::new(calendar, lo, hi))
    }

    /// Open time from `from` to `to`, given `wall = to - from`; zero if `wall` is not positive.
    fn after(&self, from: DateTime<Utc>, to: DateTime<Utc>, wall: Duration) -> Duration {
        match self {
            _ if wall <= Duration::zero() => Duration::zero(),
            BusinessHours::Wall => wall,
            BusinessHours::Table(table) => table.business_time(from, to),
        }
    }

    /// Open time from `from` to `to`; zero if `to <= from`.
    fn between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
        match self {
            _ if to <= from => Duration::zero(),
            BusinessHours::Wall => to - from,
            BusinessHours::Table(table) => table.business_time(from, to),
        }
    }
}

/// Per-target SLA tallies.
#[derive(Debug, Default)]
struct SlaTally {
    met: usize,
    breached: usize,
    on_track: usize,
    at_risk: usize,
    paused: usize,
    without_target: usize,
}

/// What one pass over the incidents gathers.
pub(super) struct Accumulator<'p> {
    policy: &'p Policy,
    hours: BusinessHours<'p>,
    window: Window,
    /// The instant the figures are as of: the window's end, or "now" for a window in progress.
    as_of: DateTime<Utc>,
    /// Records dated before this count as having happened by `as_of`.
    cutoff: DateTime<Utc>,
    opened: usize,
    /// Counts by severity and by source, indexed by their variants' order (as in `ALL`).
    by_severity: [usize; Severity::ALL.len()],
    by_source: [usize; Source::ALL.len()],
    /// Counts by service, in the order first seen (services are few and shared, so a look
    /// along the list, from the last one found, beats ordering them per incident).
    by_service: Vec<(Service, usize)>,
    last_service: usize,
    still_open: usize,
    changed_after_end: usize,
    ack_wall: Vec<i64>,
    ack_business: Vec<i64>,
    not_acknowledged_open: usize,
    resolve_wall: Vec<i64>,
    resolve_business: Vec<i64>,
    resolve_all: Vec<i64>,
    false_alarms: usize,
    duplicates: usize,
    reopened: usize,
    sla: [SlaTally; 2],
    breaches: Vec<Breach>,
    recurrences: usize,
    follow_ups_due: usize,
    overdue: Vec<OverdueFollowUp>,
    responses: usize,
    score_sum: u64,
    satisfied: usize,
}

/// The targets assessed, in report order.
const ASSESSED: [SlaTarget; 2] = [SlaTarget::Acknowledge, SlaTarget::Resolve];

impl<'p> Accumulator<'p> {
    /// Gathers the figures of `window`, as of its end or, if `now` is given and before the
    /// end, as of `now` (everything recorded up to and including `now` counts).
    pub(super) fn new(
        policy: &'p Policy,
        window: Window,
        now: Option<DateTime<Utc>>,
    ) -> Accumulator<'p> {
        let (as_of, cutoff) = match now.filter(|now| *now < window.until()) {
            Some(now) => (now, now + Duration::nanoseconds(1)),
            None => (window.until(), window.until()),
        };
        Accumulator {
            policy,
            hours: BusinessHours::new(policy.calendar(), window),
            window,
            as_of,
            cutoff,
            opened: 0,
            by_severity: [0; Severity::ALL.len()],
            by_source: [0; Source::ALL.len()],
            by_service: Vec::new(),
            last_service: 0,
            still_open: 0,
            changed_after_end: 0,
            ack_wall: Vec::new(),
            ack_business: Vec::new(),
            not_acknowledged_open: 0,
            resolve_wall: Vec::new(),
            resolve_business: Vec::new(),
            resolve_all: Vec::new(),
            false_alarms: 0,
            duplicates: 0,
            reopened: 0,
            sla: Default::default(),
            breaches: Vec::new(),
            recurrences: 0,
            follow_ups_due: 0,
            overdue: Vec::new(),
            responses: 0,
            score_sum: 0,
            satisfied: 0,
        }
    }

    /// Makes room for the durations of `incidents` more incidents, so that the lists of
    /// durations are not copied as they grow.
    pub(super) fn reserve(&mut self, incidents: usize) {
        for list in [
            &mut self.ack_wall,
            &mut self.ack_business,
            &mut self.resolve_wall,
            &mut self.resolve_business,
            &mut self.resolve_all,
        ] {
            list.reserve(incidents);
        }
    }

    pub(super) fn add(&mut self, incident: &Incident) {
        if self.window.contains(incident.created_at()) {
            self.add_opened(incident);
        }
        self.add_follow_ups(incident);
        for feedback in incident.feedback() {
            if self.window.contains(feedback.at) {
                self.responses += 1;
                let score = feedback.score.get();
                self.score_sum += u64::from(score);
                if score >= 4 {
                    self.satisfied += 1;
                }
            }
        }
    }

    /// The figures about incidents opened in the window.
    fn add_opened(&mut self, incident: &Incident) {
        self.count_opened(incident);
        let nuisance = self.count_nuisance(incident);
        let measured = self.add_times(incident, nuisance);
        if !nuisance {
            self.add_sla(incident, &measured);
        }
    }

    /// Counts the incident: in total, by severity, source and service, as changed after the
    /// window's end, as a recurrence.
    fn count_opened(&mut self, incident: &Incident) {
        let until = self.cutoff;
        self.opened += 1;
        self.by_severity[incident.severity() as usize] += 1;
        self.by_source[incident.source() as usize] += 1;
        self.count_service(incident.service());
        if incident.updated_at() >= until {
            self.changed_after_end += 1;
        }
        if incident.recurrence().is_some() {
            self.recurrences += 1;
        }
    }

    /// Counts one more incident on `service`.
    fn count_service(&mut self, service: &Service) {
        // Services are shared text: equal ones are usually the same allocation, which `==`
        // checks first.
        if let Some((last, n)) = self.by_service.get_mut(self.last_service)
            && last == service
        {
            *n += 1;
            return;
        }
        if let Some(at) = self.by_service.iter().position(|(s, _)| s == service) {
            self.by_service[at].1 += 1;
            self.last_service = at;
        } else {
            self.last_service = self.by_service.len();
            self.by_service.push((service.clone(), 1));
        }
    }

    /// Counts a false alarm or duplicate, and says whether the incident is one.
    fn count_nuisance(&mut self, incident: &Incident) -> bool {
        // False alarms and duplicates are not problems the shop lived through: the headline
        // times and the SLA figures leave them out (and say so).
        match incident.resolution() {
            Some(Resolution::FalseAlarm) => {
                self.false_alarms += 1;
                true
            }
            Some(Resolution::Duplicate { .. }) => {
                self.duplicates += 1;
                true
            }
            Some(Resolution::Fixed | Resolution::Workaround | Resolution::AutoResolved) | None => {
                false
            }
        }
    }

    /// Gathers the times to acknowledge and to resolve (a false alarm or duplicate only in the
    /// figure that includes them), or counts the incident as not acknowledged or still open.
    /// Gives what it measured of one that is no nuisance.
    fn add_times(&mut self, incident: &Incident, nuisance: bool) -> [Option<Measured>; 2] {
        let created = incident.created_at();
        // Acknowledged when someone took it, or at the latest when it was first resolved —
        // where the acknowledge target's clock stops too.
        let acknowledge = match incident.acknowledged_at().or(incident.first_resolved_at()) {
            Some(_) if nuisance => None,
            Some(at) => {
                let wall = at - created;
                let business = self.hours.after(created, at, wall);
                self.ack_wall.push(wall.num_milliseconds());
                self.ack_business.push(business.num_milliseconds());
                Some(Measured { at, wall, business })
            }
            None => {
                self.not_acknowledged_open += 1;
                None
            }
        };

        let resolve = match incident.resolution_record() {
            Some(record) if nuisance => {
                self.resolve_all
                    .push((record.at - created).num_milliseconds());
                None
            }
            Some(record) => {
                let wall = record.at - created;
                self.resolve_all.push(wall.num_milliseconds());
                self.resolve_wall.push(wall.num_milliseconds());
                let business = self.hours.after(created, record.at, wall);
                self.resolve_business.push(business.num_milliseconds());
                if incident.reopen_count() > 0 {
                    self.reopened += 1;
                }
                Some(Measured {
                    at: record.at,
                    wall,
                    business,
                })
            }
            None => {
                self.still_open += 1;
                None
            }
        };
        [acknowledge, resolve]
    }

    /// Tallies the incident's state against each assessed SLA target, and its breaches.
    /// `measured`: the times to acknowledge and to resolve, where they stopped.
    fn add_sla(&mut self, incident: &Incident, measured: &[Option<Measured>; 2]) {
        let until = self.cutoff;
        let created = incident.created_at();
        // As `sla_status` judges them at `until`, without working out when each is due.
        let targets = self
            .policy
            .targets(incident.severity(), Some(incident.service()));
        let hours = &self.hours;
        // A clock that ran from the opening to where a time was measured counts that time (the
        // acknowledge clock always, the resolve clock unless it paused or a reopening
        // restarted it): no second measurement.
        let elapsed = |from: DateTime<Utc>, to: DateTime<Utc>| {
            let known = measured
                .iter()
                .flatten()
                .find(|m| from == created && to == m.at);
            match (targets.hours, known) {
                (Hours::AroundTheClock, Some(m)) => m.wall.max(Duration::zero()),
                (Hours::Business, Some(m)) => m.business,
                (Hours::AroundTheClock, None) if to <= from => Duration::zero(),
                (Hours::AroundTheClock, None) => to - from,
                (Hours::Business, None) => hours.between(from, to),
            }
        };
        let judged = ASSESSED.map(|target| {
            let (limit, clock) = match target {
                SlaTarget::Acknowledge => (
                    targets.acknowledge?,
                    acknowledge_clock_by(incident, elapsed),
                ),
                SlaTarget::Resolve => (targets.resolve?, resolve_clock_by(incident, elapsed)),
                SlaTarget::CustomerUpdate => return None,
            };
            let elapsed = clock.elapsed_by(until, elapsed);
            let state = state_of(limit, targets.at_risk_percent, &clock, elapsed);
            Some((limit, elapsed, state))
        });
        for ((tally, target), judged) in self.sla.iter_mut().zip(ASSESSED).zip(judged) {
            let Some((limit, elapsed, state)) = judged else {
                tally.without_target += 1;
                continue;
            };
            match state {
                SlaState::Met => tally.met += 1,
                SlaState::OnTrack => tally.on_track += 1,
                SlaState::AtRisk => tally.at_risk += 1,
                SlaState::Paused => tally.paused += 1,
                SlaState::Breached => {
                    tally.breached += 1;
                    self.breaches.push(Breach {
                        incident: incident.id(),
                        title: incident.title().clone(),
                        opened_at: created,
                        severity: incident.severity(),
                        service: incident.service().clone(),
                        target,
                        limit,
                        elapsed: Duration::seconds(elapsed.num_seconds()),
                    });
                }
            }
        }
    }

    /// Follow-ups of reviews recorded before the window's end, due before it.
    fn add_follow_ups(&mut self, incident: &Incident) {
        let until = self.cutoff;
        let mut offset = 0;
        for record in incident.reviews() {
            let planned = record.review.follow_ups.len();
            if record.at < until {
                for follow_up in incident.follow_ups().iter().skip(offset).take(planned) {
                    if follow_up.plan.due >= until {
                        continue;
                    }
                    self.follow_ups_due += 1;
                    let done_by_end = follow_up.done.as_ref().is_some_and(|(at, _)| *at < until);
                    if !done_by_end {
                        self.overdue.push(OverdueFollowUp {
                            incident: incident.id(),
                            incident_title: incident.title().clone(),
                            number: follow_up.number,
                            title: follow_up.plan.title.clone(),
                            owner: follow_up.plan.owner.clone(),
                            due: follow_up.plan.due,
                        });
                    }
                }
            }
            offset += planned;
        }
    }

    /// The report: every section's figures and basis, and the caveats.
    pub(super) fn finish(mut self) -> Report {
        let opened = self.volume();
        let time_to_acknowledge = self.time_to_acknowledge();
        let time_to_resolve = self.time_to_resolve();
        let sla = self.sla_compliance();
        let breaches = self.breaches();
        let recurrence = self.recurrence();
        let overdue_follow_ups = self.overdue_follow_ups();
        let satisfaction = self.satisfaction();
        let caveats = self.caveats();
        Report {
            window: self.window,
            as_of: self.as_of,
            opened,
            time_to_acknowledge,
            time_to_resolve,
            sla,
            breaches,
            recurrence,
            overdue_follow_ups,
            satisfaction,
            caveats,
        }
    }

    /// False alarms and duplicates, left out of the time and SLA figures.
    fn nuisance_exclusions(&self) -> [Exclusion; 2] {
        [
            Exclusion {
                count: self.false_alarms,
                reason: "resolved as false alarms".into(),
            },
            Exclusion {
                count: self.duplicates,
                reason: "resolved as duplicates of another incident (merged)".into(),
            },
        ]
    }

    /// Incidents opened in the window.
    fn volume(&mut self) -> Volume {
        let opened = self.opened;
        Volume {
            total: opened,
            by_severity: Severity::ALL
                .into_iter()
                .map(|s| (s, self.by_severity[s as usize]))
                .collect(),
            by_service: std::mem::take(&mut self.by_service).into_iter().collect(),
            by_source: Source::ALL
                .into_iter()
                .map(|s| (s, self.by_source[s as usize]))
                .collect(),
            still_open: self.still_open,
            basis: format!(
                "Incidents opened from {} (inclusive) to {} (exclusive): {}. Severity as it \
                 stood at the window's end; still open means neither resolved nor closed at \
                 the window's end ({}).",
                self.window.from().format("%Y-%m-%d %H:%M UTC"),
                self.window.until().format("%Y-%m-%d %H:%M UTC"),
                plural(opened, "incident", "incidents"),
                self.still_open,
            ),
        }
    }

    /// Time to acknowledge, and what it leaves out.
    fn time_to_acknowledge(&mut self) -> TimeToAcknowledge {
        let opened = self.opened;
        let business = business_hours_note(self.policy);
        let mut ack_excluded = vec![Exclusion {
            count: self.not_acknowledged_open,
            reason: "not acknowledged by the window's end (still open)".into(),
        }];
        ack_excluded.extend(self.nuisance_exclusions());
        TimeToAcknowledge {
            wall_clock: DurationStats::from_millis(&mut self.ack_wall),
            business_hours: DurationStats::from_millis(&mut self.ack_business),
            basis: format!(
                "From opening to the first acknowledgement (explicit, or by starting work on \
                 it; an incident resolved without one counts as acknowledged when it was first \
                 resolved, where its acknowledge target stops too), over the {} of the \
                 {opened} opened in the window that were acknowledged by its end. Excluded: {}. \
                 {STATS_NOTE} {business}",
                plural(self.ack_wall.len(), "incident", "incidents"),
                exclusions_text(&ack_excluded),
            ),
            excluded: ack_excluded,
        }
    }

    /// Time to resolve, and what it leaves out.
    fn time_to_resolve(&mut self) -> TimeToResolve {
        let opened = self.opened;
        let business = business_hours_note(self.policy);
        let mut resolve_excluded = vec![Exclusion {
            count: self.still_open,
            reason: "still open at the window's end".into(),
        }];
        resolve_excluded.extend(self.nuisance_exclusions());
        TimeToResolve {
            wall_clock: DurationStats::from_millis(&mut self.resolve_wall),
            business_hours: DurationStats::from_millis(&mut self.resolve_business),
            including_false_alarms_and_duplicates: DurationStats::from_millis(
                &mut self.resolve_all,
            ),
            false_alarms: self.false_alarms,
            duplicates: self.duplicates,
            reopened: self.reopened,
            basis: format!(
                "From opening to the resolution in effect at the window's end, over the {} of \
                 the {opened} opened in the window that were resolved or closed by its end, \
                 false alarms and duplicates left out (the figure 'including false alarms and \
                 duplicates' covers {}). Time waiting on a vendor counts (customers waited \
                 too). {} reopened and resolved again: the last resolution counts. Excluded: \
                 {}. {STATS_NOTE} {business}",
                plural(self.resolve_wall.len(), "incident", "incidents"),
                plural(self.resolve_all.len(), "incident", "incidents"),
                plural(self.reopened, "incident was", "incidents were"),
                exclusions_text(&resolve_excluded),
            ),
            excluded: resolve_excluded,
        }
    }

    /// Compliance with each assessed SLA target.
    fn sla_compliance(&self) -> Vec<SlaCompliance> {
        let opened = self.opened;
        ASSESSED
            .into_iter()
            .zip(self.sla.iter())
            .map(|(target, t)| {
                let excluded = self.nuisance_exclusions().to_vec();
                sla_compliance(target, t, opened, excluded)
            })
            .collect()
    }

    /// Every SLA breach, oldest incident first.
    fn breaches(&mut self) -> Breaches {
        let opened = self.opened;
        self.breaches.sort_by(|a, b| {
            (a.opened_at, a.incident, a.target).cmp(&(b.opened_at, b.incident, b.target))
        });
        Breaches {
            basis: format!(
                "Every acknowledge or resolve target reached by the window's end among the \
                 {opened} incidents opened in it ({}), judged as for SLA compliance; elapsed \
                 time is on the target's clock.",
                plural(self.breaches.len(), "breach", "breaches"),
            ),
            items: std::mem::take(&mut self.breaches),
        }
    }

    /// Recurrences among the incidents opened.
    fn recurrence(&self) -> Recurrences {
        let opened = self.opened;
        Recurrences {
            opened,
            recurrences: self.recurrences,
            percent: percent(self.recurrences, opened),
            basis: format!(
                "Incidents opened in the window that intake linked to an earlier incident of \
                 the same problem (the same alert or report key came back after its incident \
                 was resolved, within the recurrence window): {} of {opened}.",
                self.recurrences,
            ),
        }
    }

    /// Follow-ups overdue at the window's end, earliest due first.
    fn overdue_follow_ups(&mut self) -> OverdueFollowUps {
        self.overdue.sort_by_key(|f| (f.due, f.incident, f.number));
        OverdueFollowUps {
            due: self.follow_ups_due,
            basis: format!(
                "Over every incident given, not only those opened in the window: follow-ups \
                 of reviews recorded before the window's end that were due before its end ({}) \
                 and not completed by then ({}).",
                self.follow_ups_due,
                self.overdue.len(),
            ),
            items: std::mem::take(&mut self.overdue),
        }
    }

    /// Customer feedback recorded in the window.
    #[allow(
        clippy::cast_precision_loss,
        reason = "an average of scores; 52 bits of mantissa outlast any real count"
    )]
    fn satisfaction(&self) -> Satisfaction {
        Satisfaction {
            responses: self.responses,
            average: (self.responses > 0).then(|| self.score_sum as f64 / self.responses as f64),
            satisfied: self.satisfied,
            percent_satisfied: percent(self.satisfied, self.responses),
            basis: format!(
                "Customer feedback recorded in the window, on any incident given (not only \
                 those opened in it): {}. Scores run from 1 to 5; satisfied means 4 or 5 ({}).",
                plural(self.responses, "response", "responses"),
                self.satisfied,
            ),
        }
    }

    /// What the reader should know about how current the figures are.
    fn caveats(&self) -> Vec<String> {
        let mut caveats = Vec::new();
        if self.as_of < self.window.until() {
            caveats.push(format!(
                "The window had not ended when this report was made: every figure is as of {} \
                 instead of its end. Incidents still open may yet be resolved or breach their \
                 targets, and follow-ups due later are not counted.",
                self.as_of.format("%Y-%m-%d %H:%M UTC"),
            ));
        }
        if self.changed_after_end > 0 {
            caveats.push(format!(
                "{} opened in the window changed at or after its end and {} counted as {} \
                 now, not as at the window's end (Desk::report rebuilds them from their \
                 history).",
                plural(self.changed_after_end, "incident", "incidents"),
                if self.changed_after_end == 1 {
                    "is"
                } else {
                    "are"
                },
                if self.changed_after_end == 1 {
                    "it stands"
                } else {
                    "they stand"
                },
            ));
        }
        caveats
    }
}

const STATS_NOTE: &str = "Median and p90 are nearest-rank (the ⌈n/2⌉-th and ⌈0.9·n⌉-th \
                          smallest value); all are rounded to the second.";

fn sla_compliance(
    target: SlaTarget,
    t: &SlaTally,
    opened: usize,
    excluded: Vec<Exclusion>,
) -> SlaCompliance {
    let left_out: usize = excluded.iter().map(|e| e.count).sum();
    let incidents = opened - t.without_target - left_out;
    let decided = t.met + t.breached;
    let running = t.on_track + t.at_risk + t.paused;
    let clock = match target {
        SlaTarget::Resolve => {
            " The resolve clock pauses while waiting on a vendor and continues after a \
             reopening."
        }
        SlaTarget::Acknowledge | SlaTarget::CustomerUpdate => "",
    };
    SlaCompliance {
        target,
        incidents,
        met: t.met,
        breached: t.breached,
        on_track: t.on_track,
        at_risk: t.at_risk,
        paused: t.paused,
        without_target: t.without_target,
        percent_met: percent(t.met, decided),
        basis: format!(
            "The {target} target the policy sets for each incident's severity and service, \
             judged at the window's end on the target's clock (around the clock or business \
             hours, as the policy says), over the {incidents} of the {opened} incidents opened \
             in the window that have one ({} have none), left out as from the time figure: {}. \
             Met {}: stopped before the limit; breached {}: the limit was reached. Still \
             running at the end ({running}: {} on track, {} at risk, {} paused) is undecided \
             and left out: met share = met / (met + breached) = {} / {decided}.{clock}",
            t.without_target,
            exclusions_text(&excluded),
            t.met,
            t.breached,
            t.on_track,
            t.at_risk,
            t.paused,
            t.met,
        ),
        excluded,
    }
}

fn business_hours_note(policy: &Policy) -> String {
    let calendar = policy.calendar();
    if calendar.is_always_open() {
        "Business hours: the policy's calendar is open around the clock, so they equal the \
         wall clock."
            .into()
    } else {
        format!(
            "Business hours count only the opening hours of the policy's calendar ({}), \
             holidays and closures left out.",
            calendar.time_zone()
        )
    }
}

fn exclusions_text(excluded: &[Exclusion]) -> String {
    excluded
        .iter()
        .map(|e| format!("{} {}", e.count, e.reason))
        .collect::<Vec<_>>()
        .join("; ")
}

fn plural(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

/// `part / whole` in percent; `None` if `whole` is zero.
#[allow(
    clippy::cast_precision_loss,
    reason = "a percentage of two counts; 52 bits of mantissa outlast any real count"
)]
fn percent(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| part as f64 * 100.0 / whole as f64)
}

#[cfg(test)]
mod tests {
    use crate::model::Source;
    use crate::severity::Severity;

    /// The counts by severity and by source are indexed by `as usize`: `ALL` must hold
    /// every variant once, so that the indexes are exactly `0..ALL.len()`.
    #[test]
    fn all_holds_every_variant_once() {
        let mut severities: Vec<usize> = Severity::ALL.iter().map(|s| *s as usize).collect();
        severities.sort_unstable();
        assert_eq!(severities, (0..Severity::ALL.len()).collect::<Vec<_>>());
        let mut sources: Vec<usize> = Source::ALL.iter().map(|s| *s as usize).collect();
        sources.sort_unstable();
        assert_eq!(sources, (0..Source::ALL.len()).collect::<Vec<_>>());
    }
}
