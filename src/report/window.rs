//! [`Window`]: the span of time a report covers.

use std::fmt;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::error::Invalid;

/// A half-open span of time `[from, until)`: an instant at `from` is inside, one at `until`
/// is not.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use incidents::report::Window;
///
/// let november = Window::month(2026, 11, chrono_tz::Europe::London)?;
/// assert_eq!(november.from(), Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap());
/// assert_eq!(november.until(), Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap());
/// assert!(!november.contains(november.until()));
/// assert_eq!(november.preceding().from(), Utc.with_ymd_and_hms(2026, 10, 2, 0, 0, 0).unwrap());
/// # Ok::<(), incidents::Invalid>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "WindowSpec", into = "WindowSpec")]
pub struct Window {
    from: DateTime<Utc>,
    until: DateTime<Utc>,
}

#[derive(Serialize, Deserialize)]
struct WindowSpec {
    from: DateTime<Utc>,
    until: DateTime<Utc>,
}

impl TryFrom<WindowSpec> for Window {
    type Error = Invalid;
    fn try_from(spec: WindowSpec) -> Result<Window, Invalid> {
        Window::new(spec.from, spec.until)
    }
}

impl From<Window> for WindowSpec {
    fn from(w: Window) -> WindowSpec {
        WindowSpec {
            from: w.from,
            until: w.until,
        }
    }
}

impl Window {
    /// The window `[from, until)`.
    ///
    /// # Errors
    /// [`Invalid`] with field `window` unless `from` is before `until`.
    pub fn new(from: DateTime<Utc>, until: DateTime<Utc>) -> Result<Window, Invalid> {
        if from >= until {
            return Err(Invalid::new(
                "window",
                format!("must start before it ends, got {from} to {until}"),
            ));
        }
        Ok(Window { from, until })
    }

    /// The calendar month `month` (1–12) of `year`, from local midnight on its first day to
    /// local midnight on the next month's first day, in time zone `tz` (use
    /// `chrono_tz::UTC` for UTC, or [`Calendar::time_zone`](crate::Calendar::time_zone) for
    /// the shop's). A midnight skipped by a daylight-saving change is taken as the first
    /// local time after it.
    ///
    /// # Errors
    /// [`Invalid`] with field `month` if there is no such month.
    pub fn month(year: i32, month: u32, tz: Tz) -> Result<Window, Invalid> {
        let no_month = || Invalid::new("month", format!("{year}-{month:02} is not a month"));
        let first = NaiveDate::from_ymd_opt(year, month, 1).ok_or_else(no_month)?;
        let next = if month == 12 {
            NaiveDate::from_ymd_opt(year + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(year, month + 1, 1)
        }
        .ok_or_else(no_month)?;
        Window::new(local_midnight(first, tz), local_midnight(next, tz))
    }

    /// The calendar day `date`, from local midnight to the next day's local midnight in time
    /// zone `tz`. A day on which daylight saving starts or ends is 23 or 25 hours long; a
    /// midnight skipped by the change is taken as the first local time after it, as in
    /// [`Window::month`]. Consecutive days meet exactly, and a month's days cover the month.
    ///
    /// [`preceding`](Window::preceding) is the span of the same length before; after a
    /// daylight-saving day that is not the previous calendar day, which is
    /// `Window::day(date.pred_opt()?, tz)`.
    ///
    /// ```
    /// use chrono::{NaiveDate, TimeZone, Utc};
    /// use incidents::report::Window;
    ///
    /// // In London the clocks go forward at 01:00 on 29 March 2026: that day has 23 hours.
    /// let day = NaiveDate::from_ymd_opt(2026, 3, 29).unwrap();
    /// let spring_forward = Window::day(day, chrono_tz::Europe::London)?;
    /// assert_eq!(spring_forward.from(), Utc.with_ymd_and_hms(2026, 3, 29, 0, 0, 0).unwrap());
    /// assert_eq!(spring_forward.until(), Utc.with_ymd_and_hms(2026, 3, 29, 23, 0, 0).unwrap());
    /// assert_eq!(spring_forward.length(), chrono::Duration::hours(23));
    /// # Ok::<(), incidents::Invalid>(())
    /// ```
    ///
    /// # Errors
    /// [`Invalid`] with field `day` if `date` is the last date chrono can represent (its day
    /// has no end).
    pub fn day(date: NaiveDate, tz: Tz) -> Result<Window, Invalid> {
        let next = date
            .succ_opt()
            .ok_or_else(|| Invalid::new("day", format!("{date} has no next day to end at")))?;
        Window::new(local_midnight(date, tz), local_midnight(next, tz))
    }

    /// The window of the same length that ends where this one starts.
    #[must_use]
    pub fn preceding(&self) -> Window {
        Window {
            from: self.from - (self.until - self.from),
            until: self.from,
        }
    }

    /// The start (inside the window).
    pub fn from(&self) -> DateTime<Utc> {
        self.from
    }

    /// The end (just outside the window).
    pub fn until(&self) -> DateTime<Utc> {
        self.until
    }

    /// How long it is.
    pub fn length(&self) -> Duration {
        self.until - self.from
    }

    /// Whether `at` is inside: `from <= at < until`.
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.from <= at && at < self.until
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} to {} UTC",
            self.from.format("%Y-%m-%d %H:%M"),
            self.until.format("%Y-%m-%d %H:%M")
        )
    }
}

/// The UTC instant of local midnight on `day` in `tz` (or the first local time after it, if
/// a daylight-saving change skips midnight).
fn local_midnight(day: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let mut local = day.and_time(NaiveTime::MIN);
    for _ in 0..(24 * 60) {
        if let Some(t) = tz.from_local_datetime(&local).earliest() {
            return t.with_timezone(&Utc);
        }
        local += Duration::minutes(1);
    }
    // Unreachable for real zones: read the local time as UTC.
    local.and_utc()
}

#[cfg(test)]
mod tests {
    use chrono_tz::{America, Asia, Europe, UTC};

    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    #[test]
    fn an_ordinary_day_is_24_hours_from_local_midnight() {
        let day = Window::day(date(2026, 11, 27), Europe::London).unwrap();
        assert_eq!(day.from(), utc(2026, 11, 27, 0, 0));
        assert_eq!(day.until(), utc(2026, 11, 28, 0, 0));
        // Jerusalem is two hours ahead in winter: its day starts at 22:00 UTC the day before.
        let day = Window::day(date(2026, 11, 27), Asia::Jerusalem).unwrap();
        assert_eq!(day.from(), utc(2026, 11, 26, 22, 0));
        assert_eq!(day.length(), Duration::hours(24));
    }

    #[test]
    fn daylight_saving_days_are_23_and_25_hours() {
        // London: forward at 01:00 GMT on 29 March 2026, back at 01:00 GMT on 25 October.
        let spring = Window::day(date(2026, 3, 29), Europe::London).unwrap();
        assert_eq!(spring.from(), utc(2026, 3, 29, 0, 0));
        assert_eq!(spring.until(), utc(2026, 3, 29, 23, 0));
        assert_eq!(spring.length(), Duration::hours(23));
        let autumn = Window::day(date(2026, 10, 25), Europe::London).unwrap();
        assert_eq!(autumn.from(), utc(2026, 10, 24, 23, 0));
        assert_eq!(autumn.until(), utc(2026, 10, 26, 0, 0));
        assert_eq!(autumn.length(), Duration::hours(25));
        // Jerusalem: forward on Friday 27 March 2026 at 02:00, back on Sunday 25 October.
        let spring = Window::day(date(2026, 3, 27), Asia::Jerusalem).unwrap();
        assert_eq!(spring.from(), utc(2026, 3, 26, 22, 0));
        assert_eq!(spring.until(), utc(2026, 3, 27, 21, 0));
        assert_eq!(spring.length(), Duration::hours(23));
        let autumn = Window::day(date(2026, 10, 25), Asia::Jerusalem).unwrap();
        assert_eq!(autumn.length(), Duration::hours(25));
    }

    #[test]
    fn a_skipped_midnight_starts_the_day_at_the_first_local_time_after_it() {
        // São Paulo went from 00:00 straight to 01:00 on 4 November 2018.
        let day = Window::day(date(2018, 11, 4), America::Sao_Paulo).unwrap();
        assert_eq!(day.from(), utc(2018, 11, 4, 3, 0)); // 01:00 at -02:00
        assert_eq!(day.until(), utc(2018, 11, 5, 2, 0)); // midnight at -02:00
        assert_eq!(day.length(), Duration::hours(23));
        // The day before ends where it starts.
        let before = Window::day(date(2018, 11, 3), America::Sao_Paulo).unwrap();
        assert_eq!(before.until(), day.from());
    }

    #[test]
    fn the_days_of_a_month_meet_exactly_and_cover_it() {
        for (tz, year, month, days) in [
            (Europe::London, 2026, 3, 31),
            (Europe::London, 2026, 10, 31),
            (Asia::Jerusalem, 2026, 3, 31),
            (America::Sao_Paulo, 2018, 11, 30),
            (UTC, 2028, 2, 29),
        ] {
            let whole = Window::month(year, month, tz).unwrap();
            let windows: Vec<Window> = (1..=days)
                .map(|d| Window::day(date(year, month, d), tz).unwrap())
                .collect();
            assert_eq!(windows[0].from(), whole.from(), "{tz} {year}-{month}");
            assert_eq!(windows[windows.len() - 1].until(), whole.until());
            for pair in windows.windows(2) {
                assert_eq!(pair[0].until(), pair[1].from(), "{tz}: {}", pair[0]);
            }
            let total = windows
                .iter()
                .fold(Duration::zero(), |sum, w| sum + w.length());
            assert_eq!(total, whole.length());
        }
    }

    #[test]
    fn the_last_representable_date_is_refused_like_a_month_that_does_not_exist() {
        let err = Window::day(NaiveDate::MAX, UTC).unwrap_err();
        assert_eq!(err.field, "day");
        assert!(Window::day(NaiveDate::MIN, UTC).is_ok());
        let err = Window::month(2026, 13, UTC).unwrap_err();
        assert_eq!(err.field, "month");
    }
}
