//! Who is on call: rotations in layers, with overrides and swaps on top.
//!
//! A [`Schedule`] is data (serde, validated): a time zone and [`Layer`]s, each a rotation of
//! people with a length in days or weeks, a handoff time of day in the schedule's zone, the
//! date the rotation starts, and an optional [`Restriction`] (days of the week, hours of the
//! day, a [`Calendar`](crate::Calendar)'s opening hours). Where several layers have someone,
//! the **highest** (the last in `layers`) wins.
//!
//! On top of the layers, a schedule keeps an append-only list of [`ScheduleChange`]s, each
//! recorded with who made it and when: an [`Override`] puts one person on call for a period,
//! a [`Swap`] exchanges two people's turns for a period. [`Schedule::record`] refuses a change
//! that would make the final schedule ambiguous: two overrides whose periods overlap, or two
//! swaps that overlap in time and share a person. Swaps apply to the layers' result first,
//! overrides last, so an override always wins.
//!
//! [`Schedule::on_call_at`] answers for one instant and [`Schedule::shifts`] gives the final
//! schedule over a period; [`Schedule::check`] reports gaps (nobody on call) and people on call
//! without a way to reach them. Time is always an argument.
//!
//! With the feature `oncall`, `Schedule::to_ical` exports the final schedule as iCalendar
//! (RFC 5545, through the `icalendar` crate): one event per shift, with a UID derived from the schedule's name, the
//! shift's source and its start, so a calendar app that subscribes updates its events instead
//! of duplicating them. `shifts_from_ical` reads such an export back.
//!
//! Handoffs and restriction hours are wall-clock times in the schedule's zone. A wall-clock
//! time that does not exist on a day (the hour skipped when clocks go forward) takes effect
//! at the first instant after the skipped hour; one that happens twice (clocks go back) takes
//! effect at its first occurrence for a handoff.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::Actor;
use wall::{handoff_on, offset_secs, transition, wall_instants};

#[cfg(feature = "oncall")]
mod ical;
mod reminder;
mod wall;

#[cfg(feature = "oncall")]
pub use ical::{IcalError, shifts_from_ical};
pub use reminder::{STRETCH_LOOKAHEAD_DAYS, ShiftReminder};

/// How long one person's turn in a [`Layer`] lasts.
///
/// Deliberately exhaustive: a host converting or displaying a turn handles each unit, and a
/// new unit would change what every such `match` means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rotation {
    /// A turn of this many days.
    Days(u32),
    /// A turn of this many weeks.
    Weeks(u32),
}

impl Rotation {
    /// The turn's length in calendar days.
    pub fn days(self) -> u64 {
        match self {
            Rotation::Days(n) => u64::from(n),
            Rotation::Weeks(n) => u64::from(n) * 7,
        }
    }
}

/// A daily window of wall-clock time, `[from, until)`; it wraps past midnight when `until` is
/// earlier than `from` (22:00–06:00), and then belongs to the day it starts on.
///
/// Deliberately exhaustive: a window is its two ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Hours {
    /// Start of the window.
    pub from: NaiveTime,
    /// End of the window (exclusive).
    pub until: NaiveTime,
}

impl Hours {
    /// The window `[from, until)`, wrapping past midnight when `until` is earlier than `from`.
    /// An empty window (`from == until`) is refused by [`Schedule::new`] with
    /// [`ScheduleError::BadHours`].
    pub fn new(from: NaiveTime, until: NaiveTime) -> Hours {
        Hours { from, until }
    }
}

/// When a layer applies: on some days of the week and/or during some hours of the day, in the
/// schedule's zone. Outside it, the layer has nobody and lower layers show through.
///
/// Start from the part that matters and add the others (`Default` restricts nothing):
///
/// ```
/// use chrono::{NaiveTime, Weekday};
/// use incidents::oncall::{Hours, Restriction};
///
/// let at = |h| NaiveTime::from_hms_opt(h, 0, 0).unwrap();
/// let nights = Restriction::weekdays([Weekday::Fri, Weekday::Sat])
///     .with_hours(Hours::new(at(22), at(6)));
/// assert_eq!(nights.hours, Some(Hours::new(at(22), at(6))));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Restriction {
    /// The days the layer applies (empty: every day). With wrapping `hours`, the day the
    /// window starts on.
    #[serde(default)]
    pub weekdays: Vec<Weekday>,
    /// The hours the layer applies (none: all day).
    #[serde(default)]
    pub hours: Option<Hours>,
    /// Only while this calendar is open (its opening hours, holidays and closures), for
    /// example the policy's (`Policy::calendar`); none: whatever the calendar says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opening_hours: Option<crate::Calendar>,
}

impl Restriction {
    /// Only on these days of the week (none given: every day).
    pub fn weekdays(days: impl IntoIterator<Item = Weekday>) -> Restriction {
        Restriction::default().with_weekdays(days)
    }

    /// Only during these hours of the day.
    pub fn hours(hours: Hours) -> Restriction {
        Restriction::default().with_hours(hours)
    }

    /// Only while this calendar is open (its opening hours, holidays and closures).
    pub fn opening_hours(calendar: crate::Calendar) -> Restriction {
        Restriction::default().with_opening_hours(calendar)
    }

    /// Sets the days of the week (replacing any set before).
    #[must_use]
    pub fn with_weekdays(mut self, days: impl IntoIterator<Item = Weekday>) -> Restriction {
        self.weekdays = days.into_iter().collect();
        self
    }

    /// Sets the hours of the day.
    #[must_use]
    pub fn with_hours(mut self, hours: Hours) -> Restriction {
        self.hours = Some(hours);
        self
    }

    /// Sets the calendar whose opening hours the layer keeps to.
    #[must_use]
    pub fn with_opening_hours(mut self, calendar: crate::Calendar) -> Restriction {
        self.opening_hours = Some(calendar);
        self
    }

    fn allows(&self, local: NaiveDateTime) -> bool {
        let day_ok =
            |d: NaiveDate| self.weekdays.is_empty() || self.weekdays.contains(&d.weekday());
        match self.hours {
            None => day_ok(local.date()),
            Some(Hours { from, until }) => {
                let t = local.time();
                if from < until {
                    t >= from && t < until && day_ok(local.date())
                } else if t >= from {
                    day_ok(local.date())
                } else if t < until {
                    local.date().pred_opt().is_some_and(day_ok)
                } else {
                    false
                }
            }
        }
    }
}

/// One rotation of people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Layer {
    /// The layer's name ("weekdays", "weekend").
    pub name: String,
    /// Actor ids, in turn order.
    pub people: Vec<String>,
    /// How long each turn lasts.
    pub length: Rotation,
    /// The wall-clock time turns change, in the schedule's zone.
    pub handoff: NaiveTime,
    /// The rotation's anchor: the first person's first turn starts on this date at `handoff`.
    /// Before it, the layer has nobody.
    pub starts: NaiveDate,
    /// When the layer applies (none: always).
    #[serde(default)]
    pub restriction: Option<Restriction>,
}

impl Layer {
    /// A rotation of `people` (actor ids, in turn order), each taking a turn of `length`
    /// that changes at `handoff` (wall-clock time in the schedule's zone); the first person's
    /// first turn starts on `starts`. It applies always; see [`Layer::with_restriction`].
    /// [`Schedule::new`] checks it (a name, people with ids, a turn longer than zero).
    pub fn new(
        name: impl Into<String>,
        people: impl IntoIterator<Item = impl Into<String>>,
        length: Rotation,
        handoff: NaiveTime,
        starts: NaiveDate,
    ) -> Layer {
        Layer {
            name: name.into(),
            people: people.into_iter().map(Into::into).collect(),
            length,
            handoff,
            starts,
            restriction: None,
        }
    }

    /// Applies the layer only within `restriction`.
    #[must_use]
    pub fn with_restriction(mut self, restriction: Restriction) -> Layer {
        self.restriction = Some(restriction);
        self
    }
}

/// Why a schedule, or a change to it, was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScheduleError {
    /// The schedule's name is empty.
    #[error("a schedule needs a name")]
    EmptyName,
    /// A layer has an empty name.
    #[error("layer {index} of the schedule needs a name")]
    EmptyLayerName {
        /// The layer's position in `layers`.
        index: usize,
    },
    /// A layer has nobody in it, or an empty actor id.
    #[error("layer {layer:?} needs people, each with an actor id")]
    NoPeople {
        /// The layer's name.
        layer: String,
    },
    /// A layer's turn length is zero.
    #[error("layer {layer:?} has a turn of zero length")]
    ZeroLength {
        /// The layer's name.
        layer: String,
    },
    /// A restriction's hours window is empty (`from == until`).
    #[error("layer {layer:?} restricts to an empty hours window")]
    BadHours {
        /// The layer's name.
        layer: String,
    },
    /// A change's period is empty or backwards, or names nobody.
    #[error("a schedule change needs a person and a period that ends after it starts")]
    BadChange,
    /// A swap between a person and themselves.
    #[error("a swap needs two different people")]
    SwapWithSelf,
    /// An override overlaps an earlier one.
    #[error("the override overlaps an override by {by} from {from} until {until}")]
    OverlappingOverride {
        /// Who made the earlier override.
        by: String,
        /// Its start.
        from: DateTime<Utc>,
        /// Its end.
        until: DateTime<Utc>,
    },
    /// A swap overlaps an earlier swap of one of the same people.
    #[error("the swap overlaps a swap of {person} from {from} until {until}")]
    OverlappingSwap {
        /// The person both swaps involve.
        person: String,
        /// The earlier swap's start.
        from: DateTime<Utc>,
        /// Its end.
        until: DateTime<Utc>,
    },
}

/// One person on call instead of whoever the layers and swaps say, for `[from, until)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Override {
    /// Actor id of who is on call instead.
    pub person: String,
    /// Start of the period.
    pub from: DateTime<Utc>,
    /// End of the period (exclusive).
    pub until: DateTime<Utc>,
    /// Who made the override.
    pub by: Actor,
    /// When it was made.
    pub at: DateTime<Utc>,
}

/// Two people exchange their turns for `[from, until)`: wherever the layers put `a`, `b` is
/// on call, and the other way round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Swap {
    /// One person (actor id).
    pub a: String,
    /// The other person (actor id).
    pub b: String,
    /// Start of the period.
    pub from: DateTime<Utc>,
    /// End of the period (exclusive).
    pub until: DateTime<Utc>,
    /// Who made the swap.
    pub by: Actor,
    /// When it was made.
    pub at: DateTime<Utc>,
}

impl Override {
    /// `person` (an actor id) on call for `[from, until)`, arranged by `by` at `at`.
    /// [`Schedule::record`] checks it.
    pub fn new(
        person: impl Into<String>,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        by: Actor,
        at: DateTime<Utc>,
    ) -> Override {
        Override {
            person: person.into(),
            from,
            until,
            by,
            at,
        }
    }
}

impl Swap {
    /// `a` and `b` (actor ids) exchange their turns for `[from, until)`, arranged by `by` at
    /// `at`. [`Schedule::record`] checks it.
    pub fn new(
        a: impl Into<String>,
        b: impl Into<String>,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        by: Actor,
        at: DateTime<Utc>,
    ) -> Swap {
        Swap {
            a: a.into(),
            b: b.into(),
            from,
            until,
            by,
            at,
        }
    }
}

impl From<Override> for ScheduleChange {
    fn from(o: Override) -> ScheduleChange {
        ScheduleChange::Override(o)
    }
}

impl From<Swap> for ScheduleChange {
    fn from(s: Swap) -> ScheduleChange {
        ScheduleChange::Swap(s)
    }
}

/// One recorded change to a schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
#[non_exhaustive]
pub enum ScheduleChange {
    /// Someone covers a period.
    Override(Override),
    /// Two people exchange turns for a period.
    Swap(Swap),
}

/// Where a [`Shift`] comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ShiftSource {
    /// The rotation of the layer with this name.
    Layer(String),
    /// A swap (in the named layer's turn).
    Swap(String),
    /// An override.
    Override,
}

/// A stretch of the final schedule with one person on call, `[start, end)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Shift {
    /// Actor id of who is on call.
    pub person: String,
    /// Start of the shift.
    pub start: DateTime<Utc>,
    /// End of the shift (exclusive).
    pub end: DateTime<Utc>,
    /// Why this person is on call.
    pub source: ShiftSource,
}

impl Shift {
    /// `person` (an actor id) on call for `[start, end)` because of `source`; for comparing
    /// with [`Schedule::shifts`] (which is what makes them).
    pub fn new(
        person: impl Into<String>,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        source: ShiftSource,
    ) -> Shift {
        Shift {
            person: person.into(),
            start,
            end,
            source,
        }
    }
}

/// A problem [`Schedule::check`] found over a horizon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ScheduleWarning {
    /// Nobody is on call during `[from, until)`.
    Gap {
        /// Start of the gap.
        from: DateTime<Utc>,
        /// End of the gap (exclusive).
        until: DateTime<Utc>,
    },
    /// Someone is on call with no way to reach them, first from `from`.
    Unreachable {
        /// Actor id.
        person: String,
        /// Start of their first shift in the horizon.
        from: DateTime<Utc>,
    },
}

impl fmt::Display for ScheduleWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScheduleWarning::Gap { from, until } => {
                write!(f, "nobody is on call from {from} until {until}")
            }
            ScheduleWarning::Unreachable { person, from } => {
                write!(
                    f,
                    "{person} is on call from {from} with no way to reach them"
                )
            }
        }
    }
}

/// An on-call schedule: layers of rotations and the changes recorded on top of them.
///
/// ```
/// use chrono::{NaiveDate, NaiveTime, TimeZone, Utc};
/// use incidents::oncall::{Layer, Rotation, Schedule};
///
/// let week = Layer::new(
///     "week",
///     ["dana", "omer"],
///     Rotation::Weeks(1),
///     NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
///     NaiveDate::from_ymd_opt(2026, 1, 5).unwrap(),
/// );
/// let schedule = Schedule::new("shop", chrono_tz::Europe::London, vec![week])?;
/// let at = Utc.with_ymd_and_hms(2026, 1, 13, 12, 0, 0).unwrap();
/// assert_eq!(schedule.on_call_at(at), Some("omer"));
/// # Ok::<(), incidents::oncall::ScheduleError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawSchedule")]
pub struct Schedule {
    name: String,
    zone: Tz,
    layers: Vec<Layer>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "opt_duration"
    )]
    reminder: Option<Duration>,
    #[serde(default)]
    changes: Vec<ScheduleChange>,
}

#[derive(Deserialize)]
struct RawSchedule {
    name: String,
    zone: Tz,
    layers: Vec<Layer>,
    #[serde(default, with = "opt_duration")]
    reminder: Option<Duration>,
    #[serde(default)]
    changes: Vec<ScheduleChange>,
}

impl TryFrom<RawSchedule> for Schedule {
    type Error = ScheduleError;

    fn try_from(raw: RawSchedule) -> Result<Schedule, ScheduleError> {
        let mut schedule = Schedule::new(raw.name, raw.zone, raw.layers)?;
        schedule.reminder = raw.reminder;
        for change in raw.changes {
            schedule.record(change)?;
        }
        Ok(schedule)
    }
}

mod opt_duration {
    use chrono::Duration;
    use serde::{Deserialize, Deserializer, Serializer};

    #[allow(
        clippy::ref_option,
        reason = "serde's `with` passes a reference to the field"
    )]
    pub(super) fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&d.num_seconds()),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<i64>::deserialize(d)?.map(Duration::seconds))
    }
}

impl Schedule {
    /// Validates and builds a schedule with no changes recorded.
    ///
    /// # Errors
    /// [`ScheduleError`] naming the first rule broken: an empty schedule or layer name, a
    /// layer without people (or with an empty id), a zero-length turn, an empty hours window.
    pub fn new(
        name: impl Into<String>,
        zone: Tz,
        layers: Vec<Layer>,
    ) -> Result<Schedule, ScheduleError> {
        let name = name.into();
        if name.trim().is_empty() {
            return Err(ScheduleError::EmptyName);
        }
        for (index, layer) in layers.iter().enumerate() {
            if layer.name.trim().is_empty() {
                return Err(ScheduleError::EmptyLayerName { index });
            }
            if layer.people.is_empty() || layer.people.iter().any(|p| p.trim().is_empty()) {
                return Err(ScheduleError::NoPeople {
                    layer: layer.name.clone(),
                });
            }
            if layer.length.days() == 0 {
                return Err(ScheduleError::ZeroLength {
                    layer: layer.name.clone(),
                });
            }
            if let Some(Hours { from, until }) = layer.restriction.as_ref().and_then(|r| r.hours)
                && from == until
            {
                return Err(ScheduleError::BadHours {
                    layer: layer.name.clone(),
                });
            }
        }
        Ok(Schedule {
            name,
            zone,
            layers,
            reminder: None,
            changes: Vec::new(),
        })
    }

    /// Sets how long before a shift starts its person is reminded: once per on-call stretch
    /// (a shift that directly continues the same person's previous one gets none; see
    /// [`Schedule::reminders`]), through the desk's outbox, to
    /// `Recipient::Person(person)`, keyed `oncall/<schedule>/<person>/<start>/reminder`.
    ///
    /// The [desk](crate::Desk) keeps reminders in memory only (nothing is stored), so:
    /// - delivery is **at least once per desk process** until the shift starts: a failure is
    ///   retried with the desk's [`Backoff`](crate::notify::Backoff), and a reminder not
    ///   delivered when its shift starts is dropped;
    /// - a desk **restarted** between the reminder time and the shift's start sends it again,
    ///   with the same key (hosts drop duplicates by key);
    /// - a reminder whose shift started while **no desk ran** is not sent;
    /// - **two desks sharing a database** both send it (same key).
    ///
    /// A lead of zero or less sends nothing.
    #[must_use]
    pub fn with_reminder(mut self, before: Duration) -> Schedule {
        self.reminder = Some(before);
        self
    }

    /// The schedule's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The zone handoffs and restrictions are read in.
    pub fn zone(&self) -> Tz {
        self.zone
    }

    /// The layers, lowest first.
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// How long before a shift its person is reminded, if at all.
    pub fn reminder(&self) -> Option<Duration> {
        self.reminder
    }

    /// The recorded changes, oldest first.
    pub fn changes(&self) -> &[ScheduleChange] {
        &self.changes
    }

    /// Records an override or a swap, after checking it: a period that ends after it starts,
    /// a person, two different people for a swap, no overlap with an earlier override, and no
    /// overlap with an earlier swap of the same person. Nothing is recorded on refusal.
    ///
    /// # Errors
    /// [`ScheduleError::BadChange`], [`ScheduleError::SwapWithSelf`],
    /// [`ScheduleError::OverlappingOverride`] or [`ScheduleError::OverlappingSwap`].
    pub fn record(&mut self, change: ScheduleChange) -> Result<(), ScheduleError> {
        match &change {
            ScheduleChange::Override(o) => {
                if o.from >= o.until || o.person.trim().is_empty() {
                    return Err(ScheduleError::BadChange);
                }
                for earlier in self.overrides() {
                    if earlier.from < o.until && o.from < earlier.until {
                        return Err(ScheduleError::OverlappingOverride {
                            by: earlier.by.id().to_string(),
                            from: earlier.from,
                            until: earlier.until,
                        });
                    }
                }
            }
            ScheduleChange::Swap(s) => {
                if s.from >= s.until || s.a.trim().is_empty() || s.b.trim().is_empty() {
                    return Err(ScheduleError::BadChange);
                }
                if s.a == s.b {
                    return Err(ScheduleError::SwapWithSelf);
                }
                for earlier in self.swaps() {
                    if earlier.from < s.until && s.from < earlier.until {
                        let shared = [&s.a, &s.b]
                            .into_iter()
                            .find(|p| **p == earlier.a || **p == earlier.b);
                        if let Some(person) = shared {
                            return Err(ScheduleError::OverlappingSwap {
                                person: person.clone(),
                                from: earlier.from,
                                until: earlier.until,
                            });
                        }
                    }
                }
            }
        }
        self.changes.push(change);
        Ok(())
    }

    fn overrides(&self) -> impl Iterator<Item = &Override> {
        self.changes.iter().filter_map(|c| match c {
            ScheduleChange::Override(o) => Some(o),
            ScheduleChange::Swap(_) => None,
        })
    }

    fn swaps(&self) -> impl Iterator<Item = &Swap> {
        self.changes.iter().filter_map(|c| match c {
            ScheduleChange::Swap(s) => Some(s),
            ScheduleChange::Override(_) => None,
        })
    }

    /// Who is on call at `at`, if anyone.
    pub fn on_call_at(&self, at: DateTime<Utc>) -> Option<&str> {
        self.resolve(at).map(|(person, _)| person)
    }

    /// The person on call at `at` and why.
    fn resolve(&self, at: DateTime<Utc>) -> Option<(&str, ShiftSource)> {
        if let Some(o) = self.overrides().find(|o| o.from <= at && at < o.until) {
            return Some((o.person.as_str(), ShiftSource::Override));
        }
        let (person, layer) = self
            .layers
            .iter()
            .rev()
            .find_map(|layer| layer_person(self.zone, layer, at).map(|p| (p, layer)))?;
        for s in self.swaps().filter(|s| s.from <= at && at < s.until) {
            if person == s.a {
                return Some((s.b.as_str(), ShiftSource::Swap(layer.name.clone())));
            }
            if person == s.b {
                return Some((s.a.as_str(), ShiftSource::Swap(layer.name.clone())));
            }
        }
        Some((person, ShiftSource::Layer(layer.name.clone())))
    }

    /// The final schedule over `[from, until)`: shifts in time order, never overlapping, each
    /// clipped to the period; a new shift starts wherever the person or the source changes.
    pub fn shifts(&self, from: DateTime<Utc>, until: DateTime<Utc>) -> Vec<Shift> {
        let mut shifts: Vec<Shift> = Vec::new();
        if from >= until {
            return shifts;
        }
        let bounds = self.boundaries(from, until);
        let mut points: Vec<DateTime<Utc>> = bounds.into_iter().collect();
        points.push(until);
        for pair in points.windows(2) {
            let (start, end) = (pair[0], pair[1]);
            let Some((person, source)) = self.resolve(start) else {
                continue;
            };
            match shifts.last_mut() {
                Some(last)
                    if last.end == start && last.person == person && last.source == source =>
                {
                    last.end = end;
                }
                _ => shifts.push(Shift {
                    person: person.to_string(),
                    start,
                    end,
                    source,
                }),
            }
        }
        shifts
    }

    /// Gaps (nobody on call) over `[from, until)`, and people on call then for whom
    /// `reachable` says there is no way to reach them (for example, no entry in the host's
    /// [`Directory`](crate::notifiers::Directory)).
    pub fn check(
        &self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        reachable: impl Fn(&str) -> bool,
    ) -> Vec<ScheduleWarning> {
        let shifts = self.shifts(from, until);
        let mut warnings = Vec::new();
        let mut covered = from;
        for shift in &shifts {
            if shift.start > covered {
                warnings.push(ScheduleWarning::Gap {
                    from: covered,
                    until: shift.start,
                });
            }
            covered = shift.end;
        }
        if covered < until {
            warnings.push(ScheduleWarning::Gap {
                from: covered,
                until,
            });
        }
        let mut seen = BTreeSet::new();
        for shift in &shifts {
            if seen.insert(shift.person.as_str()) && !reachable(&shift.person) {
                warnings.push(ScheduleWarning::Unreachable {
                    person: shift.person.clone(),
                    from: shift.start,
                });
            }
        }
        warnings
    }

    /// Every instant in `[from, until)` where the answer of [`Schedule::resolve`] may change,
    /// with `from` itself; between two of them it is constant.
    fn boundaries(&self, from: DateTime<Utc>, until: DateTime<Utc>) -> BTreeSet<DateTime<Utc>> {
        let mut out = BTreeSet::new();
        out.insert(from);
        let mut add = |t: DateTime<Utc>| {
            if from < t && t < until {
                out.insert(t);
            }
        };
        for c in &self.changes {
            let (a, b) = match c {
                ScheduleChange::Override(o) => (o.from, o.until),
                ScheduleChange::Swap(s) => (s.from, s.until),
            };
            add(a);
            add(b);
        }
        // Clock changes: a wall-clock window can open or close as the clock jumps.
        let mut t = from;
        while t < until {
            let next = t + Duration::hours(1);
            if offset_secs(self.zone, t) != offset_secs(self.zone, next) {
                add(transition(self.zone, t, next));
            }
            t = next;
        }
        let first = from.with_timezone(&self.zone).date_naive() - Duration::days(1);
        let last = until.with_timezone(&self.zone).date_naive() + Duration::days(1);
        for layer in &self.layers {
            let mut times = vec![layer.handoff];
            if let Some(calendar) = layer
                .restriction
                .as_ref()
                .and_then(|r| r.opening_hours.as_ref())
            {
                for (open, close) in calendar.open_spans(from, until) {
                    add(open);
                    add(close);
                }
            }
            if let Some(r) = &layer.restriction {
                times.push(NaiveTime::MIN);
                if let Some(h) = r.hours {
                    times.push(h.from);
                    times.push(h.until);
                }
            }
            let mut day = first;
            while day <= last {
                for time in &times {
                    for at in wall_instants(self.zone, day.and_time(*time)) {
                        add(at);
                    }
                }
                match day.succ_opt() {
                    Some(d) => day = d,
                    None => break,
                }
            }
        }
        out
    }
}

/// Who a layer has on call at `at`, restrictions included.
fn layer_person(zone: Tz, layer: &Layer, at: DateTime<Utc>) -> Option<&str> {
    let length = layer.length.days();
    if layer.people.is_empty() || length == 0 {
        return None;
    }
    let local = at.with_timezone(&zone).naive_local();
    if let Some(r) = &layer.restriction
        && (!r.allows(local) || r.opening_hours.as_ref().is_some_and(|c| !c.is_open(at)))
    {
        return None;
    }
    let mut day = local.date();
    if at < handoff_on(zone, day, layer.handoff) {
        day = day.pred_opt()?;
    }
    let since = u64::try_from((day - layer.starts).num_days()).ok()?;
    let turn = since / length;
    let index = usize::try_from(turn % layer.people.len() as u64).ok()?;
    layer.people.get(index).map(String::as_str)
}
