//! [`Snapshot::build`]: from incident histories and page settings to what the public sees.
//!
//! Pure: no clock (the instant is an argument), no I/O. Each history is walked once, in
//! event order, through the [transition table](crate::lifecycle::transition) for the status;
//! what the walk keeps has no room for internal text (notes, root causes, mitigations,
//! reporters, people), so none can reach the snapshot.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use crate::lifecycle::{Change, Edge, Event, Impact, Resolution, Status, transition};
use crate::model::IncidentId;

use super::{
    ComponentStatus, ComponentView, Day, Indicator, Maintenance, PageSettings, PublicIncident,
    PublicStatus, PublicUpdate, Snapshot,
};

impl ComponentStatus {
    /// The status a component has while an incident of this impact is its worst:
    /// none → operational, and each outage to its namesake.
    pub const fn of_impact(impact: Impact) -> ComponentStatus {
        match impact {
            Impact::None => ComponentStatus::Operational,
            Impact::DegradedPerformance => ComponentStatus::DegradedPerformance,
            Impact::PartialOutage => ComponentStatus::PartialOutage,
            Impact::MajorOutage => ComponentStatus::MajorOutage,
        }
    }

    /// Whether a second in this status counts as down for uptime (see
    /// [`UPTIME_FORMULA`](super::UPTIME_FORMULA)): a partial or major outage.
    pub const fn is_down(self) -> bool {
        matches!(
            self,
            ComponentStatus::PartialOutage | ComponentStatus::MajorOutage
        )
    }
}

impl PublicStatus {
    /// How the public sees an incident's status: open, acknowledged and investigating →
    /// investigating; identified → identified; monitoring → monitoring; resolved and closed
    /// → resolved.
    pub const fn of(status: Status) -> PublicStatus {
        match status {
            Status::Open | Status::Acknowledged | Status::Investigating => {
                PublicStatus::Investigating
            }
            Status::Identified => PublicStatus::Identified,
            Status::Monitoring => PublicStatus::Monitoring,
            Status::Resolved | Status::Closed => PublicStatus::Resolved,
        }
    }
}

impl Indicator {
    /// The page's indicator for these component statuses: critical if any has a major
    /// outage, major if any a partial outage, minor if any is degraded or under maintenance,
    /// else none.
    pub fn of_statuses(statuses: impl IntoIterator<Item = ComponentStatus>) -> Indicator {
        statuses
            .into_iter()
            .map(|status| match status {
                ComponentStatus::Operational => Indicator::None,
                ComponentStatus::DegradedPerformance | ComponentStatus::UnderMaintenance => {
                    Indicator::Minor
                }
                ComponentStatus::PartialOutage => Indicator::Major,
                ComponentStatus::MajorOutage => Indicator::Critical,
            })
            .max()
            .unwrap_or(Indicator::None)
    }
}

impl Maintenance {
    /// A maintenance window with id `id` (letters, digits, `-`, `_`, `.`), from `starts` to
    /// `ends`, taking down `services`.
    pub fn new(
        id: &str,
        title: &str,
        services: Vec<crate::model::Service>,
        starts: DateTime<Utc>,
        ends: DateTime<Utc>,
    ) -> Maintenance {
        Maintenance {
            id: id.to_owned(),
            title: title.to_owned(),
            services,
            starts,
            ends,
        }
    }

    /// Whether it is in progress at `at` (`starts <= at < ends`).
    pub fn is_active_at(&self, at: DateTime<Utc>) -> bool {
        self.starts <= at && at < self.ends
    }
}

impl Snapshot {
    /// Computes what the public sees at `at` from the incidents' histories (each one
    /// incident's events, from its `Opened`, oldest first) and the page's settings.
    ///
    /// Pure: the same inputs give the same snapshot. Events dated after `at` are not looked
    /// at; a history that does not start with `Opened` is skipped (there is nothing to show
    /// of it). The rules:
    ///
    /// - **Which incidents.** Those whose service is a configured component's service (the
    ///   first such component, if several share a service). Incidents resolved as a duplicate
    ///   of another one (merged) are left out altogether: the surviving one stands for them.
    /// - **Impact.** An incident is active from `Opened` until resolved (or merged), and
    ///   again from a reopening. While active, its impact at an instant is the override a
    ///   person set ([`Command::SetImpact`](crate::lifecycle::Command::SetImpact)), else what
    ///   its severity then maps to ([`Impact::of_severity`]). [`Impact::None`] is not shown
    ///   and does not affect any status.
    /// - **Component status at `at`.** The worst impact of its active incidents
    ///   ([`ComponentStatus::of_impact`]); if no incident affects it, under maintenance while
    ///   a maintenance window for its service is in progress (`starts <= at < ends`), else
    ///   operational.
    /// - **Days.** `bar_days` days ending today in the page's zone, each from local midnight
    ///   to the next (23 or 25 hours across a DST change), today only up to `at`. A day's
    ///   `down_seconds` are the seconds in which the component's worst impact was a partial
    ///   or major outage (overlapping incidents count once); `worst` is the worst status in
    ///   the day, under maintenance if no incident affected it and a window overlapped it.
    ///   `uptime` = 1 − Σ down ÷ Σ counted over the bars (1 if nothing was counted).
    /// - **Indicator.** [`Indicator::of_statuses`] over the components.
    /// - **Active incidents.** Active at `at` with an impact other than none, newest first
    ///   (by opening). **History:** resolved (and not reopened since) within `history_days`
    ///   before `at`, whose worst impact while active was other than none, newest resolution
    ///   first; their `impact` is that worst one.
    /// - **Public status and updates.** [`PublicStatus::of`] the lifecycle status; each
    ///   customer update carries the public status when it was posted. `updated_at` is the
    ///   latest of the opening, a change of public status, a customer update, a change of
    ///   public title or of impact, and the resolution.
    /// - **Maintenance.** In progress at `at`, in order of start; scheduled (starting after
    ///   `at`), soonest first; ended windows are dropped.
    ///
    /// Nothing internal reaches the snapshot: notes, root causes, mitigations, reporters and
    /// the people on the incident have no field in it. The incident's own title is internal
    /// too; only the public title is published.
    pub fn build<'a>(
        settings: &PageSettings,
        at: DateTime<Utc>,
        histories: impl IntoIterator<Item = &'a [Event]>,
    ) -> Snapshot {
        let walked: Vec<Walked> = histories
            .into_iter()
            .filter_map(|events| Walked::walk(settings, at, events))
            .filter(|w| !w.duplicate)
            .collect();
        let bounds = day_bounds(settings.zone, at, settings.bar_days);

        let components: Vec<ComponentView> = settings
            .components
            .iter()
            .map(|component| {
                let mine: Vec<&Walked> = walked
                    .iter()
                    .filter(|w| settings.components[w.component].service == component.service)
                    .collect();
                let worst_now = mine
                    .iter()
                    .map(|w| w.impact_now())
                    .max()
                    .unwrap_or(Impact::None);
                let windows: Vec<&Maintenance> = settings
                    .maintenances
                    .iter()
                    .filter(|m| m.services.contains(&component.service))
                    .collect();
                let status = if worst_now > Impact::None {
                    ComponentStatus::of_impact(worst_now)
                } else if windows.iter().any(|m| m.is_active_at(at)) {
                    ComponentStatus::UnderMaintenance
                } else {
                    ComponentStatus::Operational
                };
                let days = days(&bounds, &mine, &windows);
                let down: i64 = days.iter().map(|d| d.down_seconds).sum();
                let counted: i64 = days.iter().map(|d| d.counted_seconds).sum();
                #[allow(
                    clippy::cast_precision_loss,
                    reason = "seconds in at most a few years fit an f64 exactly"
                )]
                let uptime = if counted > 0 {
                    (1.0 - down as f64 / counted as f64).clamp(0.0, 1.0)
                } else {
                    1.0
                };
                ComponentView {
                    component: component.clone(),
                    status,
                    days,
                    uptime,
                }
            })
            .collect();

        let indicator = Indicator::of_statuses(components.iter().map(|c| c.status));

        let mut active: Vec<PublicIncident> = walked
            .iter()
            .filter(|w| w.status.is_active() && w.impact_now() > Impact::None)
            .map(|w| w.public(w.impact_now()))
            .collect();
        active.sort_by_key(|i| std::cmp::Reverse((i.created_at, i.id)));

        let since = at - Duration::days(i64::from(settings.history_days));
        let mut history: Vec<PublicIncident> = walked
            .iter()
            .filter(|w| !w.status.is_active() && w.worst > Impact::None)
            .filter(|w| w.resolved_at.is_some_and(|r| r > since && r <= at))
            .map(|w| w.public(w.worst))
            .collect();
        history.sort_by_key(|i| std::cmp::Reverse((i.resolved_at, i.id)));

        let mut maintenance_active: Vec<Maintenance> = settings
            .maintenances
            .iter()
            .filter(|m| m.is_active_at(at))
            .cloned()
            .collect();
        maintenance_active.sort_by(|a, b| (a.starts, &a.id).cmp(&(b.starts, &b.id)));
        let mut maintenance_scheduled: Vec<Maintenance> = settings
            .maintenances
            .iter()
            .filter(|m| m.starts > at)
            .cloned()
            .collect();
        maintenance_scheduled.sort_by(|a, b| (a.starts, &a.id).cmp(&(b.starts, &b.id)));

        Snapshot {
            at,
            indicator,
            components,
            active,
            history,
            maintenance_active,
            maintenance_scheduled,
        }
    }
}

/// One incident's history as the public sees it, walked up to the snapshot's instant.
#[derive(Debug)]
struct Walked {
    id: IncidentId,
    component: usize,
    created_at: DateTime<Utc>,
    status: Status,
    /// The shown impact from each instant on (none while resolved), starting at the opening;
    /// consecutive entries differ.
    steps: Vec<(DateTime<Utc>, Impact)>,
    /// The worst impact it had while active.
    worst: Impact,
    /// Resolved as a duplicate of another incident (and not reopened since).
    duplicate: bool,
    resolved_at: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
    title: Option<String>,
    /// Oldest first.
    updates: Vec<PublicUpdate>,
}

impl Walked {
    /// Walks `events` up to `at`; `None` if the history does not start with `Opened`, was
    /// opened after `at`, or is about a service with no component.
    fn walk(settings: &PageSettings, at: DateTime<Utc>, events: &[Event]) -> Option<Walked> {
        let (first, rest) = events.split_first()?;
        let Change::Opened {
            id,
            severity,
            service,
            ..
        } = &first.change
        else {
            return None;
        };
        if first.at > at {
            return None;
        }
        let component = settings
            .components
            .iter()
            .position(|c| c.service == *service)?;
        let mut severity = *severity;
        let mut chosen: Option<Impact> = None;
        let shown = |status: Status, severity, chosen: Option<Impact>| {
            if status.is_active() {
                chosen.unwrap_or_else(|| Impact::of_severity(severity))
            } else {
                Impact::None
            }
        };
        let mut walked = Walked {
            id: *id,
            component,
            created_at: first.at,
            status: Status::Open,
            steps: vec![(first.at, Impact::of_severity(severity))],
            worst: Impact::of_severity(severity),
            duplicate: false,
            resolved_at: None,
            updated_at: first.at,
            title: None,
            updates: Vec::new(),
        };
        for event in rest.iter().take_while(|e| e.at <= at) {
            let before = (
                PublicStatus::of(walked.status),
                shown(walked.status, severity, chosen),
            );
            let mut seen = false;
            match &event.change {
                Change::SeverityChanged { to, .. } => severity = *to,
                Change::ImpactSet { impact } => {
                    chosen = *impact;
                    seen = true;
                }
                Change::PublicTitleSet { title } => {
                    walked.title = title.as_ref().map(|t| t.as_str().to_owned());
                    seen = true;
                }
                Change::Resolved { resolution } => {
                    walked.duplicate = matches!(resolution, Resolution::Duplicate { .. });
                    walked.resolved_at = Some(event.at);
                    seen = true;
                }
                Change::MergedInto { .. } => {
                    walked.duplicate = true;
                    walked.resolved_at = Some(event.at);
                    seen = true;
                }
                Change::Reopened { .. } => {
                    walked.duplicate = false;
                    walked.resolved_at = None;
                }
                _ => {}
            }
            // A history the table refuses cannot come from a store; a refused or ignored
            // cell leaves the status as it is rather than failing the whole page.
            if let Edge::Move(to) = transition(Some(walked.status), event.change.command_kind()) {
                walked.status = to;
            }
            if let Change::CustomerUpdatePosted { message } = &event.change {
                walked.updates.push(PublicUpdate {
                    at: event.at,
                    status: PublicStatus::of(walked.status),
                    body: message.as_str().to_owned(),
                });
                seen = true;
            }
            let impact = shown(walked.status, severity, chosen);
            if walked.status.is_active() {
                walked.worst = walked.worst.max(impact);
            }
            if walked.steps.last().is_some_and(|(_, last)| *last != impact) {
                walked.steps.push((event.at, impact));
            }
            if seen || before != (PublicStatus::of(walked.status), impact) {
                walked.updated_at = event.at;
            }
        }
        Some(walked)
    }

    /// The impact it shows at the end of the walk.
    fn impact_now(&self) -> Impact {
        self.steps
            .last()
            .map_or(Impact::None, |(_, impact)| *impact)
    }

    fn public(&self, impact: Impact) -> PublicIncident {
        PublicIncident {
            id: self.id,
            title: self.title.clone(),
            component: self.component,
            impact,
            status: PublicStatus::of(self.status),
            created_at: self.created_at,
            updated_at: self.updated_at,
            resolved_at: if self.status.is_active() {
                None
            } else {
                self.resolved_at
            },
            updates: self.updates.iter().rev().cloned().collect(),
        }
    }
}

/// The bars' days: each date with its start, and the end of the last (`at`). Days run from
/// local midnight to local midnight in `zone`.
struct Bounds {
    dates: Vec<NaiveDate>,
    /// `dates.len() + 1` instants: each day's start, then the end of today (`at`).
    edges: Vec<DateTime<Utc>>,
}

fn day_bounds(zone: Tz, at: DateTime<Utc>, bar_days: u32) -> Bounds {
    let today = at.with_timezone(&zone).date_naive();
    let mut dates: Vec<NaiveDate> = (0..bar_days)
        .rev()
        .filter_map(|back| today.checked_sub_days(chrono::Days::new(u64::from(back))))
        .collect();
    dates.dedup();
    let mut edges: Vec<DateTime<Utc>> = dates
        .iter()
        .map(|date| local_midnight(zone, *date).min(at))
        .collect();
    if !dates.is_empty() {
        edges.push(at);
    }
    Bounds { dates, edges }
}

/// When `date` begins in `zone`: its midnight, or the earlier of two (a clock turned back at
/// midnight), or the first instant after a gap that swallowed midnight.
fn local_midnight(zone: Tz, date: NaiveDate) -> DateTime<Utc> {
    let midnight = date.and_time(chrono::NaiveTime::MIN);
    // Gaps are at most a few hours; step a quarter of an hour at a time out of one.
    (0..=4 * 26)
        .find_map(|quarters| {
            zone.from_local_datetime(&(midnight + Duration::minutes(15 * quarters)))
                .earliest()
        })
        .map_or_else(|| midnight.and_utc(), |t| t.with_timezone(&Utc))
}

/// The component's bars: its incidents' shown impacts swept together (the worst at each
/// instant), split into the days of `bounds`.
fn days(bounds: &Bounds, incidents: &[&Walked], windows: &[&Maintenance]) -> Vec<Day> {
    let (Some(&start), Some(&end)) = (bounds.edges.first(), bounds.edges.last()) else {
        return Vec::new();
    };
    let mut days: Vec<Day> = bounds
        .dates
        .iter()
        .zip(bounds.edges.windows(2))
        .map(|(date, edge)| Day {
            date: *date,
            worst: ComponentStatus::Operational,
            down_seconds: 0,
            counted_seconds: (edge[1] - edge[0]).num_seconds().max(0),
        })
        .collect();

    // Every change of every incident's impact, swept in time order with a count per level.
    let mut changes: Vec<(DateTime<Utc>, Impact, Impact)> = Vec::new();
    for incident in incidents {
        let mut last = Impact::None;
        for (from, impact) in &incident.steps {
            changes.push((*from, last, *impact));
            last = *impact;
        }
    }
    changes.sort_by_key(|(at, _, _)| *at);
    let mut counts = [0_usize; Impact::ALL.len()];
    let level = |impact: Impact| impact as usize;
    let mut i = 0;
    let mut from = start;
    loop {
        // Apply every change up to `from`; `worst` holds from there to the next change.
        while let Some((t, old, new)) = changes.get(i).copied()
            && t <= from
        {
            counts[level(old)] = counts[level(old)].saturating_sub(1);
            counts[level(new)] += 1;
            i += 1;
        }
        let worst = Impact::ALL
            .iter()
            .rev()
            .copied()
            .find(|impact| *impact > Impact::None && counts[level(*impact)] > 0)
            .unwrap_or(Impact::None);
        let until = changes.get(i).map_or(end, |(t, _, _)| (*t).min(end));
        if worst > Impact::None && until > from {
            spread(
                bounds,
                &mut days,
                from,
                until,
                ComponentStatus::of_impact(worst),
            );
        }
        if until >= end {
            break;
        }
        from = until;
    }

    for (day, edge) in days.iter_mut().zip(bounds.edges.windows(2)) {
        if day.worst == ComponentStatus::Operational
            && windows
                .iter()
                .any(|m| m.starts < edge[1] && m.ends > edge[0])
        {
            day.worst = ComponentStatus::UnderMaintenance;
        }
    }
    days
}

/// Adds `[from, until)` in `status` to the days it overlaps.
fn spread(
    bounds: &Bounds,
    days: &mut [Day],
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    status: ComponentStatus,
) {
    // The day `from` falls in: the last whose start is not after it.
    let first = bounds.edges[..days.len()]
        .partition_point(|start| *start <= from)
        .saturating_sub(1);
    for (day, edge) in days[first..]
        .iter_mut()
        .zip(bounds.edges[first..].windows(2))
    {
        if edge[0] >= until {
            break;
        }
        let overlap = (until.min(edge[1]) - from.max(edge[0])).num_seconds();
        if overlap <= 0 {
            continue;
        }
        day.worst = day.worst.max(status);
        if status.is_down() {
            day.down_seconds += overlap;
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::model::{Actor, Role, Service, Source};
    use crate::severity::Severity;
    use crate::status::Component;
    use crate::text::Title;

    fn t(day: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, day, hour, 0, 0).unwrap()
    }

    fn settings() -> PageSettings {
        PageSettings::new(
            "shop",
            "Shop",
            "https://status.shop.example/",
            "en",
            chrono_tz::UTC,
        )
        .component(Component::new(
            Service::new("payments").unwrap(),
            "Payments",
        ))
    }

    fn history(severity: Severity, changes: Vec<(DateTime<Utc>, Change)>) -> Vec<Event> {
        let dana = Actor::new("dana", "Dana", Role::Owner).unwrap();
        let id = IncidentId::from_bytes([7; 16]);
        let mut events = vec![Event::new(
            t(10, 8),
            dana.clone(),
            Change::Opened {
                id,
                title: Title::new("internal: PSP cert expired").unwrap(),
                description: None,
                severity,
                service: Service::new("payments").unwrap(),
                source: Source::Alert,
                alert_key: None,
                idempotency_key: None,
                recurrence: None,
            },
        )];
        events.extend(
            changes
                .into_iter()
                .map(|(at, change)| Event::new(at, dana.clone(), change)),
        );
        events
    }

    #[test]
    fn public_status_follows_the_lifecycle() {
        use PublicStatus::{Identified, Investigating, Monitoring, Resolved};
        let mapped: Vec<PublicStatus> = Status::ALL.into_iter().map(PublicStatus::of).collect();
        assert_eq!(
            mapped,
            [
                Investigating,
                Investigating,
                Investigating,
                Identified,
                Monitoring,
                Resolved,
                Resolved
            ]
        );
    }

    #[test]
    fn days_begin_at_local_midnight_across_dst() {
        let zone: Tz = "Asia/Jerusalem".parse().unwrap();
        // Israel leaves summer time on Sunday 25 October 2026 at 02:00.
        let at = Utc.with_ymd_and_hms(2026, 10, 26, 12, 0, 0).unwrap();
        let bounds = day_bounds(zone, at, 3);
        let hours: Vec<i64> = bounds
            .edges
            .windows(2)
            .map(|w| (w[1] - w[0]).num_hours())
            .collect();
        // The 24th, the 25th (25 hours), and the 26th up to 14:00 local.
        assert_eq!(hours, [24, 25, 14]);
    }

    #[test]
    fn a_resolved_incident_is_history_with_its_worst_impact() {
        let events = history(
            Severity::High,
            vec![
                (
                    t(10, 9),
                    Change::ImpactSet {
                        impact: Some(Impact::MajorOutage),
                    },
                ),
                (
                    t(10, 10),
                    Change::Resolved {
                        resolution: Resolution::Fixed,
                    },
                ),
            ],
        );
        let snapshot = Snapshot::build(&settings(), t(10, 12), [events.as_slice()]);
        assert!(snapshot.active.is_empty());
        assert_eq!(snapshot.history.len(), 1);
        assert_eq!(snapshot.history[0].impact, Impact::MajorOutage);
        assert_eq!(snapshot.history[0].resolved_at, Some(t(10, 10)));
        assert_eq!(snapshot.components[0].status, ComponentStatus::Operational);
        let today = snapshot.components[0].days.last().unwrap();
        assert_eq!(today.down_seconds, 2 * 3600);
        assert_eq!(today.counted_seconds, 12 * 3600);
        assert_eq!(today.worst, ComponentStatus::MajorOutage);
        assert_eq!(snapshot.indicator, Indicator::None);
    }

    #[test]
    fn a_history_without_an_opening_or_service_is_skipped() {
        let events = history(Severity::Critical, Vec::new());
        let snapshot = Snapshot::build(&settings(), t(10, 12), [&events[1..], &events[..]]);
        assert_eq!(snapshot.active.len(), 1);
        let other = PageSettings::new("s", "S", "https://s.example/", "en", chrono_tz::UTC);
        let snapshot = Snapshot::build(&other, t(10, 12), [events.as_slice()]);
        assert!(snapshot.active.is_empty() && snapshot.components.is_empty());
        assert_eq!(snapshot.indicator, Indicator::None);
    }
}
