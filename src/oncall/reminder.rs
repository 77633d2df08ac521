//! Shift reminders: which reminders a [`Schedule`] with a
//! [reminder lead](Schedule::with_reminder) asks for, and when each falls due. Pure: every
//! instant is an argument; the [desk](crate::Desk) sends them.
//!
//! A person is reminded once per on-call **stretch**: a run of shifts of the final schedule
//! ([`Schedule::shifts`]) with that person on call and no break between them. A shift that
//! directly continues the same person's previous shift (an override of their own turn, a
//! restriction's hours handing back to the same person) gets no reminder of its own.

use chrono::{DateTime, Duration, SecondsFormat, Utc};

use super::Schedule;

/// How far past a stretch's start [`Schedule::reminders`] looks for the stretch's end: a
/// stretch that lasts longer is reported as ending there.
pub const STRETCH_LOOKAHEAD_DAYS: i64 = 35;

/// A reminder that a person's on-call stretch is about to start.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ShiftReminder {
    /// The schedule's name.
    pub schedule: String,
    /// Actor id of who goes on call.
    pub person: String,
    /// When their stretch starts.
    pub start: DateTime<Utc>,
    /// When their stretch ends (at most [`STRETCH_LOOKAHEAD_DAYS`] after `start`: a longer
    /// stretch is reported as ending there).
    pub end: DateTime<Utc>,
    /// When the reminder falls due: `start` less the schedule's lead.
    pub due: DateTime<Utc>,
}

impl ShiftReminder {
    /// The reminder's deterministic key,
    /// `oncall/<schedule>/<person>/<start as RFC 3339 UTC>/reminder`
    /// (`oncall/shop/dana/2026-01-05T09:00:00Z/reminder`): every desk, and every redelivery,
    /// sends the same reminder with the same key, so a host can drop duplicates by key.
    pub fn key(&self) -> String {
        format!(
            "oncall/{}/{}/{}/reminder",
            self.schedule,
            self.person,
            self.start.to_rfc3339_opts(SecondsFormat::Secs, true)
        )
    }
}

impl Schedule {
    /// The reminders falling due in `[from, until)`, ordered by due instant (then schedule
    /// order): one for each on-call stretch that starts `before` after an instant in the
    /// period, where `before` is the schedule's [reminder lead](Schedule::with_reminder).
    /// Empty without a lead, or with a lead of zero or less.
    ///
    /// ```
    /// use chrono::{Duration, NaiveDate, NaiveTime, TimeZone, Utc};
    /// use incidents::oncall::{Layer, Rotation, Schedule};
    ///
    /// let week = Layer::new(
    ///     "week",
    ///     ["dana", "omer"],
    ///     Rotation::Weeks(1),
    ///     NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
    ///     NaiveDate::from_ymd_opt(2026, 1, 5).unwrap(),
    /// );
    /// let schedule = Schedule::new("shop", chrono_tz::UTC, vec![week])?
    ///     .with_reminder(Duration::hours(1));
    /// let from = Utc.with_ymd_and_hms(2026, 1, 10, 0, 0, 0).unwrap();
    /// let due = schedule.reminders(from, from + Duration::days(7));
    /// assert_eq!(due.len(), 1);
    /// assert_eq!(due[0].person, "omer");
    /// assert_eq!(due[0].due, Utc.with_ymd_and_hms(2026, 1, 12, 8, 0, 0).unwrap());
    /// assert_eq!(due[0].key(), "oncall/shop/omer/2026-01-12T09:00:00Z/reminder");
    /// # Ok::<(), incidents::oncall::ScheduleError>(())
    /// ```
    pub fn reminders(&self, from: DateTime<Utc>, until: DateTime<Utc>) -> Vec<ShiftReminder> {
        let Some(before) = self.reminder().filter(|b| *b > Duration::zero()) else {
            return Vec::new();
        };
        if from >= until {
            return Vec::new();
        }
        // Stretches starting in [first, last) have their reminder due in [from, until).
        let (Some(first), Some(last)) = (
            from.checked_add_signed(before),
            until.checked_add_signed(before),
        ) else {
            return Vec::new();
        };
        // One instant earlier, so that a shift continuing one that started before `first` is
        // seen to continue it (`shifts` clips the earlier one at its `from`).
        let look_from = first - Duration::nanoseconds(1);
        let look_until = last
            .checked_add_signed(Duration::days(STRETCH_LOOKAHEAD_DAYS))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        let shifts = self.shifts(look_from, look_until);
        let mut reminders: Vec<ShiftReminder> = Vec::new();
        let mut previous: Option<(&str, DateTime<Utc>)> = None;
        for shift in &shifts {
            let continues =
                previous.is_some_and(|(p, end)| p == shift.person && end == shift.start);
            previous = Some((&shift.person, shift.end));
            if continues {
                if let Some(last) = reminders.last_mut()
                    && last.person == shift.person
                    && last.end == shift.start
                {
                    last.end = shift.end;
                }
                continue;
            }
            if shift.start < first || shift.start >= last {
                continue;
            }
            reminders.push(ShiftReminder {
                schedule: self.name().to_string(),
                person: shift.person.clone(),
                start: shift.start,
                end: shift.end,
                due: shift.start - before,
            });
        }
        reminders
    }
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, NaiveTime, TimeZone};

    use super::*;
    use crate::oncall::{Layer, Override, Rotation, ScheduleChange};

    fn at(d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, d, h, 0, 0).unwrap()
    }

    fn daily(people: &[&str]) -> Schedule {
        let layer = Layer {
            name: "day".into(),
            people: people.iter().map(ToString::to_string).collect(),
            length: Rotation::Days(1),
            handoff: NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
            starts: NaiveDate::from_ymd_opt(2026, 1, 5).unwrap(),
            restriction: None,
        };
        Schedule::new("shop", chrono_tz::UTC, vec![layer]).unwrap()
    }

    #[test]
    fn one_reminder_per_stretch_at_start_less_the_lead() {
        let s = daily(&["dana", "omer"]).with_reminder(Duration::minutes(30));
        let got = s.reminders(at(5, 0), at(8, 0));
        let starts: Vec<_> = got
            .iter()
            .map(|r| (r.person.as_str(), r.start, r.end))
            .collect();
        assert_eq!(
            starts,
            [
                ("dana", at(5, 9), at(6, 9)),
                ("omer", at(6, 9), at(7, 9)),
                ("dana", at(7, 9), at(8, 9)),
            ]
        );
        assert!(got.iter().all(|r| r.due == r.start - Duration::minutes(30)));
    }

    #[test]
    fn a_shift_continuing_the_same_persons_stretch_gets_none() {
        let mut s = daily(&["dana", "omer"]).with_reminder(Duration::hours(1));
        // Dana covers Omer's day by override: her stretch runs from the 5th to the 8th.
        let by = crate::Actor::new("dana", "Dana", crate::Role::Owner).unwrap();
        s.record(ScheduleChange::Override(Override {
            person: "dana".into(),
            from: at(6, 9),
            until: at(7, 9),
            by,
            at: at(1, 0),
        }))
        .unwrap();
        let got = s.reminders(at(5, 0), at(9, 0));
        let starts: Vec<_> = got
            .iter()
            .map(|r| (r.person.as_str(), r.start, r.end))
            .collect();
        assert_eq!(
            starts,
            [("dana", at(5, 9), at(8, 9)), ("omer", at(8, 9), at(9, 9))]
        );
        // Looking from inside the stretch finds no new start at the override's end.
        assert!(s.reminders(at(6, 0), at(8, 0)).is_empty());
    }

    #[test]
    fn no_lead_no_reminders_and_the_period_is_half_open() {
        assert!(daily(&["dana"]).reminders(at(1, 0), at(30, 0)).is_empty());
        let zero = daily(&["dana", "omer"]).with_reminder(Duration::zero());
        assert!(zero.reminders(at(1, 0), at(30, 0)).is_empty());
        let s = daily(&["dana", "omer"]).with_reminder(Duration::hours(1));
        assert_eq!(s.reminders(at(6, 8), at(6, 9)).len(), 1);
        assert!(
            s.reminders(at(5, 8) + Duration::seconds(1), at(6, 8))
                .is_empty()
        );
    }

    #[test]
    fn the_key_is_the_documented_shape() {
        let s = daily(&["dana"]).with_reminder(Duration::hours(1));
        let got = s.reminders(at(5, 0), at(6, 0));
        assert_eq!(
            got[0].key(),
            "oncall/shop/dana/2026-01-05T09:00:00Z/reminder"
        );
        // Dana is always on call: the stretch is reported as ending at the lookahead.
        assert_eq!(
            got[0].end,
            at(6, 1) + Duration::days(STRETCH_LOOKAHEAD_DAYS)
        );
    }
}
