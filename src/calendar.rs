//! Business hours: weekly opening hours in an IANA time zone, holidays and one-off closures.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc, Weekday,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::error::Invalid;

mod table;
pub(crate) use table::OpeningTable;

/// Minutes in a day; a span may end at 24:00.
const DAY_MINUTES: u16 = 24 * 60;
/// How far ahead [`Calendar::add_business_time`] looks before concluding the calendar never
/// opens (two years).
const HORIZON_DAYS: i64 = 731;

/// When a business is open: weekly opening hours in an IANA time zone, minus holidays (whole
/// local days) and one-off closures (any span of time). The default is open around the clock.
///
/// All computations take and return UTC instants; opening hours are local wall-clock times,
/// converted day by day, so they stay right across daylight-saving changes: a shop open
/// 07:00–19:00 is open 12 hours on the day the clocks change, and a 24/7 calendar in a zone
/// with DST has a 23-hour and a 25-hour day each year.
///
/// ```
/// use chrono::{Duration, NaiveDate, TimeZone, Utc, Weekday};
/// use chrono_tz::Tz;
/// use incidents::Calendar;
///
/// let cafe = Calendar::weekly(Tz::Europe__London)
///     .open([Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri], "07:00", "19:00")?
///     .open([Weekday::Sat], "08:00", "14:00")?
///     .holiday(NaiveDate::from_ymd_opt(2026, 12, 25).unwrap());
///
/// // Friday 18:55 to Monday 07:05: 5 minutes on Friday, 6 hours on Saturday, 5 minutes on Monday.
/// let friday = Utc.with_ymd_and_hms(2026, 11, 27, 18, 55, 0).unwrap();
/// let monday = Utc.with_ymd_and_hms(2026, 11, 30, 7, 5, 0).unwrap();
/// assert_eq!(cafe.business_time(friday, monday), Duration::minutes(6 * 60 + 10));
/// # Ok::<(), incidents::Invalid>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "CalendarSpec", into = "CalendarSpec")]
pub struct Calendar {
    tz: Tz,
    /// Opening spans per weekday, Monday first, sorted, non-overlapping.
    week: [Vec<Span>; 7],
    holidays: BTreeSet<NaiveDate>,
    /// One-off closures, sorted and merged.
    closures: Vec<(DateTime<Utc>, DateTime<Utc>)>,
}

/// Local opening time within a day, in minutes from midnight; `end` may be 24:00.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Span {
    start: u16,
    end: u16,
}

impl Default for Calendar {
    fn default() -> Self {
        Calendar::always_open()
    }
}

impl Calendar {
    /// Whether the local date `day` is a business day: not a holiday, and a day the business
    /// opens; a calendar open around the clock every day (no weekly hours set) counts Monday
    /// to Friday.
    pub(crate) fn is_business_day(&self, day: NaiveDate) -> bool {
        if self.holidays.contains(&day) {
            return false;
        }
        let full = |spans: &Vec<Span>| {
            spans.as_slice()
                == [Span {
                    start: 0,
                    end: 24 * 60,
                }]
        };
        let weekday = day.weekday();
        if self.week.iter().all(full) {
            !matches!(weekday, chrono::Weekday::Sat | chrono::Weekday::Sun)
        } else {
            !self.week[weekday.num_days_from_monday() as usize].is_empty()
        }
    }

    /// Open around the clock, every day, in UTC. Add holidays or closures if needed.
    pub fn always_open() -> Calendar {
        Calendar {
            tz: Tz::UTC,
            week: std::array::from_fn(|_| {
                vec![Span {
                    start: 0,
                    end: DAY_MINUTES,
                }]
            }),
            holidays: BTreeSet::new(),
            closures: Vec::new(),
        }
    }

    /// Open around the clock, every day, in the time zone `tz`: nothing counts opening
    /// hours, but dates and times in messages are the shop's local time.
    ///
    /// ```
    /// use incidents::Calendar;
    ///
    /// let calendar = Calendar::always_open_in(chrono_tz::Asia::Jerusalem);
    /// assert_eq!(calendar.time_zone(), chrono_tz::Asia::Jerusalem);
    /// ```
    pub fn always_open_in(tz: Tz) -> Calendar {
        Calendar {
            tz,
            ..Calendar::always_open()
        }
    }

    /// A calendar in the time zone `tz` (e.g. `Tz::Europe__London`) with no opening hours
    /// yet; add them with [`open`](Self::open). A zone named in configuration is read with
    /// [`Calendar::time_zone_named`].
    pub fn weekly(tz: Tz) -> Calendar {
        Calendar {
            tz,
            week: Default::default(),
            holidays: BTreeSet::new(),
            closures: Vec::new(),
        }
    }

    /// The IANA time zone called `name` (e.g. `Europe/London`), for a zone read from
    /// configuration.
    ///
    /// # Errors
    /// [`Invalid`] with field `time zone` if `name` is not a known IANA zone name.
    pub fn time_zone_named(name: &str) -> Result<Tz, Invalid> {
        name.parse().map_err(|_| {
            Invalid::new(
                "time zone",
                format!("unknown time zone {name:?}; expected an IANA name such as Europe/London"),
            )
        })
    }

    /// Adds opening hours `from`–`to` (local `HH:MM`, `to` may be `24:00`) on each of `days`.
    ///
    /// # Errors
    /// [`Invalid`] with field `opening hours` if a time is malformed, `from` is not before
    /// `to`, or the span overlaps hours already given for that day.
    pub fn open(
        mut self,
        days: impl IntoIterator<Item = Weekday>,
        from: &str,
        to: &str,
    ) -> Result<Calendar, Invalid> {
        let span = Span {
            start: parse_hhmm(from)?,
            end: parse_hhmm(to)?,
        };
        if span.start >= span.end {
            return Err(Invalid::new(
                "opening hours",
                format!("{from}–{to}: the opening time must be before the closing time"),
            ));
        }
        for day in days {
            let spans = &mut self.week[day.num_days_from_monday() as usize];
            if let Some(other) = spans
                .iter()
                .find(|s| s.start < span.end && span.start < s.end)
            {
                return Err(Invalid::new(
                    "opening hours",
                    format!(
                        "{day} {from}–{to} overlaps {}–{}",
                        fmt_hhmm(other.start),
                        fmt_hhmm(other.end)
                    ),
                ));
            }
            spans.push(span);
            spans.sort();
        }
        Ok(self)
    }

    /// Closes the whole local day `date` (a public holiday, the owner's day off).
    #[must_use]
    pub fn holiday(mut self, date: NaiveDate) -> Calendar {
        self.holidays.insert(date);
        self
    }

    /// Closes `[from, to)` (a renovation, a staff outing).
    ///
    /// # Errors
    /// [`Invalid`] with field `closure` if `from` is not before `to`.
    pub fn closure(mut self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Calendar, Invalid> {
        if from >= to {
            return Err(Invalid::new("closure", "must start before it ends"));
        }
        self.closures.push((from, to));
        self.closures.sort();
        self.closures = merge(std::mem::take(&mut self.closures));
        Ok(self)
    }

    /// The time zone of the opening hours.
    pub fn time_zone(&self) -> Tz {
        self.tz
    }

    /// Whether the calendar has any opening hours at all.
    pub fn has_opening_hours(&self) -> bool {
        self.week.iter().any(|spans| !spans.is_empty())
    }

    /// Whether the business is open at `at`.
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        self.open_spans(at, at + Duration::seconds(1))
            .first()
            .is_some_and(|(s, _)| *s <= at)
    }

    /// The first instant at or after `at` when the business is open, if it opens within two
    /// years.
    pub fn next_opening(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut window_start = at;
        for _ in 0..(HORIZON_DAYS / 7) {
            let window_end = window_start + Duration::days(7);
            if let Some((start, _)) = self.open_spans(window_start, window_end).first() {
                return Some(*start);
            }
            window_start = window_end;
        }
        None
    }

    /// Whether every instant is open: 24 hours every day, no holidays, no closures.
    pub fn is_always_open(&self) -> bool {
        self.holidays.is_empty()
            && self.closures.is_empty()
            && self.week.iter().all(|spans| {
                spans.as_slice()
                    == [Span {
                        start: 0,
                        end: DAY_MINUTES,
                    }]
            })
    }

    /// Open time between `from` and `to` (zero if `to <= from`).
    pub fn business_time(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
        if to <= from {
            return Duration::zero();
        }
        if self.is_always_open() {
            return to - from;
        }
        // One streaming pass over the local days' spans (their starts come in order): count
        // each span past what earlier ones covered, minus the closures inside it. No list of
        // spans is built.
        let mut sum = Duration::zero();
        let mut covered = from;
        let mut holes = self.closures.partition_point(|(_, he)| *he <= from);
        for (start, end) in self.raw_spans(from, to) {
            if start >= to {
                break;
            }
            let (start, end) = (start.max(covered), end.min(to));
            if start >= end {
                continue;
            }
            covered = end;
            sum += end - start;
            while self.closures.get(holes).is_some_and(|(_, he)| *he <= start) {
                holes += 1;
            }
            for (hs, he) in self.closures[holes..]
                .iter()
                .take_while(|(hs, _)| *hs < end)
            {
                sum -= (*he).min(end) - (*hs).max(start);
            }
        }
        sum
    }

    /// The opening spans, in UTC and unclipped, of every local day from the day before
    /// `from`'s to the day after `to`'s (a span may reach past its day's midnight when that
    /// midnight is repeated by a DST change), holidays left out and closures not yet
    /// subtracted. Their starts come in order; a span may overlap the next day's first.
    fn raw_spans(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Iterator<Item = (DateTime<Utc>, DateTime<Utc>)> + '_ {
        let first = from.with_timezone(&self.tz).date_naive() - Duration::days(1);
        let last = to.with_timezone(&self.tz).date_naive() + Duration::days(1);
        first
            .iter_days()
            .take_while(move |day| *day <= last)
            .filter(|day| !self.holidays.contains(day))
            .flat_map(move |day| {
                self.week[day.weekday().num_days_from_monday() as usize]
                    .iter()
                    .map(move |span| {
                        (
                            self.instant(day, span.start, Pick::Earliest),
                            self.instant(day, span.end, Pick::Latest),
                        )
                    })
            })
    }

    /// The instant when `amount` of open time has passed since `from`, if that happens within
    /// two years. `amount` of zero gives `from` itself.
    pub fn add_business_time(
        &self,
        from: DateTime<Utc>,
        amount: Duration,
    ) -> Option<DateTime<Utc>> {
        if amount <= Duration::zero() {
            return Some(from);
        }
        if self.is_always_open() {
            return from.checked_add_signed(amount);
        }
        let mut left = amount;
        let mut window_start = from;
        for _ in 0..(HORIZON_DAYS / 7) {
            let window_end = window_start + Duration::days(7);
            for (s, e) in self.open_spans(window_start, window_end) {
                let span = e - s;
                if span >= left {
                    return Some(s + left);
                }
                left -= span;
            }
            window_start = window_end;
        }
        None
    }

    /// The open spans within `[from, to)`, in UTC, sorted, merged and clipped.
    pub fn open_spans(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        if to <= from {
            return Vec::new();
        }
        let mut spans: Vec<_> = self
            .raw_spans(from, to)
            .map(|(start, end)| (start.max(from), end.min(to)))
            .filter(|(start, end)| start < end)
            .collect();
        spans.sort();
        subtract(merge(spans), &self.closures)
    }

    /// The UTC instant of local `minutes` after midnight of `day`. A local time skipped by a
    /// DST change maps to the instant the clocks jump (the first valid local time after it);
    /// a repeated local time maps to its earliest or latest occurrence as `pick` says.
    fn instant(&self, day: NaiveDate, minutes: u16, pick: Pick) -> DateTime<Utc> {
        let midnight = NaiveDateTime::from(day);
        let local = midnight + Duration::minutes(i64::from(minutes));
        let mut probe = local;
        // DST gaps are at most a few hours; walk forward minute by minute to the end of one.
        for _ in 0..(24 * 60) {
            match self.tz.from_local_datetime(&probe) {
                LocalResult::Single(t) => return t.with_timezone(&Utc),
                LocalResult::Ambiguous(a, b) => {
                    return match pick {
                        Pick::Earliest => a.with_timezone(&Utc),
                        Pick::Latest => b.with_timezone(&Utc),
                    };
                }
                LocalResult::None => probe += Duration::minutes(1),
            }
        }
        // Unreachable for real zones; fall back to reading the local time as UTC.
        local.and_utc()
    }
}

#[derive(Clone, Copy)]
enum Pick {
    Earliest,
    Latest,
}

/// Merges sorted, possibly overlapping or touching spans.
fn merge(spans: Vec<(DateTime<Utc>, DateTime<Utc>)>) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut out: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::with_capacity(spans.len());
    for (s, e) in spans {
        match out.last_mut() {
            Some((_, last_end)) if s <= *last_end => *last_end = (*last_end).max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// `spans` minus `holes`, both sorted and merged.
fn subtract(
    spans: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    holes: &[(DateTime<Utc>, DateTime<Utc>)],
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    if holes.is_empty() {
        return spans;
    }
    let mut out = Vec::with_capacity(spans.len());
    for (mut s, e) in spans {
        for (hs, he) in holes {
            if *he <= s || *hs >= e {
                continue;
            }
            if *hs > s {
                out.push((s, *hs));
            }
            s = s.max(*he);
            if s >= e {
                break;
            }
        }
        if s < e {
            out.push((s, e));
        }
    }
    out
}

fn parse_hhmm(text: &str) -> Result<u16, Invalid> {
    let bad = || {
        Invalid::new(
            "opening hours",
            format!("{text:?} is not a time of day; expected HH:MM between 00:00 and 24:00"),
        )
    };
    let (h, m) = text.trim().split_once(':').ok_or_else(bad)?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return Err(bad());
    }
    let h: u16 = h.parse().map_err(|_| bad())?;
    let m: u16 = m.parse().map_err(|_| bad())?;
    if m >= 60 || h > 24 || (h == 24 && m != 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

fn fmt_hhmm(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// The serialised form of a [`Calendar`]: plain, human-editable data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct CalendarSpec {
    time_zone: String,
    /// `[["mon", "07:00", "19:00"], …]`
    hours: Vec<(String, String, String)>,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    holidays: BTreeSet<NaiveDate>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    closures: Vec<(DateTime<Utc>, DateTime<Utc>)>,
}

impl TryFrom<CalendarSpec> for Calendar {
    type Error = Invalid;
    fn try_from(spec: CalendarSpec) -> Result<Calendar, Invalid> {
        let mut calendar = Calendar::weekly(Calendar::time_zone_named(&spec.time_zone)?);
        for (day, from, to) in &spec.hours {
            let day: Weekday = day.parse().map_err(|_| {
                Invalid::new("opening hours", format!("{day:?} is not a day of the week"))
            })?;
            calendar = calendar.open([day], from, to)?;
        }
        for date in spec.holidays {
            calendar = calendar.holiday(date);
        }
        for (from, to) in spec.closures {
            calendar = calendar.closure(from, to)?;
        }
        Ok(calendar)
    }
}

impl From<Calendar> for CalendarSpec {
    #[allow(
        clippy::cast_possible_truncation,
        reason = "`i` indexes the seven weekdays"
    )]
    fn from(c: Calendar) -> CalendarSpec {
        let mut hours = Vec::new();
        for (i, spans) in c.week.iter().enumerate() {
            let day = Weekday::try_from(i as u8).unwrap_or(Weekday::Mon);
            for span in spans {
                hours.push((
                    day.to_string().to_ascii_lowercase(),
                    fmt_hhmm(span.start),
                    fmt_hhmm(span.end),
                ));
            }
        }
        CalendarSpec {
            time_zone: c.tz.name().to_string(),
            hours,
            holidays: c.holidays,
            closures: c.closures,
        }
    }
}

impl fmt::Display for Calendar {
    #[allow(
        clippy::cast_possible_truncation,
        reason = "`i` indexes the seven weekdays"
    )]
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.tz.name())?;
        for (i, spans) in self.week.iter().enumerate() {
            let day = Weekday::try_from(i as u8).unwrap_or(Weekday::Mon);
            for span in spans {
                write!(f, " {day} {}–{}", fmt_hhmm(span.start), fmt_hhmm(span.end))?;
            }
        }
        if !self.holidays.is_empty() {
            write!(f, "; {} holidays", self.holidays.len())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    const ZONES: [&str; 3] = ["Europe/London", "America/New_York", "Asia/Jerusalem"];

    fn weekdays() -> [Weekday; 5] {
        [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
        ]
    }

    fn shop(tz: &str) -> Calendar {
        Calendar::weekly(Calendar::time_zone_named(tz).unwrap())
            .open(weekdays(), "09:00", "17:00")
            .unwrap()
            .open([Weekday::Sat], "10:00", "14:00")
            .unwrap()
            .holiday(NaiveDate::from_ymd_opt(2026, 12, 25).unwrap())
            .closure(
                Utc.with_ymd_and_hms(2026, 6, 10, 12, 0, 0).unwrap(),
                Utc.with_ymd_and_hms(2026, 6, 12, 12, 0, 0).unwrap(),
            )
            .unwrap()
    }

    fn around_the_clock(tz: &str) -> Calendar {
        Calendar::weekly(Calendar::time_zone_named(tz).unwrap())
            .open(
                [
                    Weekday::Mon,
                    Weekday::Tue,
                    Weekday::Wed,
                    Weekday::Thu,
                    Weekday::Fri,
                    Weekday::Sat,
                    Weekday::Sun,
                ],
                "00:00",
                "24:00",
            )
            .unwrap()
    }

    /// Local midnight of `date` in `tz`, as UTC.
    fn midnight(tz: &str, y: i32, m: u32, d: u32) -> DateTime<Utc> {
        let tz: Tz = tz.parse().unwrap();
        tz.with_ymd_and_hms(y, m, d, 0, 0, 0)
            .earliest()
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn dst_days_have_23_and_25_hours_around_the_clock_but_the_same_opening_hours() {
        // (zone, spring-forward day, fall-back day) in 2026.
        for (tz, spring, fall) in [
            ("Europe/London", (3, 29), (10, 25)),
            ("America/New_York", (3, 8), (11, 1)),
            ("Asia/Jerusalem", (3, 27), (10, 25)),
        ] {
            let day = |(m, d): (u32, u32)| (midnight(tz, 2026, m, d), midnight(tz, 2026, m, d + 1));
            let (s0, s1) = day(spring);
            let (f0, f1) = day(fall);
            let all = around_the_clock(tz);
            assert_eq!(
                all.business_time(s0, s1),
                Duration::hours(23),
                "{tz} spring"
            );
            assert_eq!(all.business_time(f0, f1), Duration::hours(25), "{tz} fall");
            // A shop open 09:00-17:00 (and 10-14 on Saturdays) is open its usual hours.
            let shop = shop(tz);
            for (a, b) in [(s0, s1), (f0, f1)] {
                let expected = match a.with_timezone(&shop.tz).weekday() {
                    Weekday::Sun => Duration::zero(),
                    Weekday::Sat => Duration::hours(4),
                    _ => Duration::hours(8),
                };
                assert_eq!(shop.business_time(a, b), expected, "{tz} {a}");
            }
        }
    }

    #[test]
    fn opening_hours_are_local_wall_clock_times() {
        let shop = shop("America/New_York");
        // 2026-07-01 09:00 in New York is 13:00 UTC (EDT, UTC-4).
        assert!(shop.is_open(Utc.with_ymd_and_hms(2026, 7, 1, 13, 0, 0).unwrap()));
        assert!(!shop.is_open(Utc.with_ymd_and_hms(2026, 7, 1, 12, 59, 0).unwrap()));
        // In January (EST, UTC-5) it is 14:00 UTC.
        assert!(!shop.is_open(Utc.with_ymd_and_hms(2026, 1, 7, 13, 30, 0).unwrap()));
        assert_eq!(
            shop.next_opening(Utc.with_ymd_and_hms(2026, 1, 7, 13, 30, 0).unwrap()),
            Some(Utc.with_ymd_and_hms(2026, 1, 7, 14, 0, 0).unwrap())
        );
    }

    #[test]
    fn holidays_and_closures_count_nothing() {
        let shop = shop("Europe/London");
        let christmas = midnight("Europe/London", 2026, 12, 25);
        assert_eq!(
            shop.business_time(christmas, christmas + Duration::days(1)),
            Duration::zero()
        );
        let closed = Utc.with_ymd_and_hms(2026, 6, 11, 10, 0, 0).unwrap();
        assert!(!shop.is_open(closed));
        assert_eq!(
            shop.business_time(closed, closed + Duration::hours(2)),
            Duration::zero()
        );
    }

    #[test]
    fn bad_hours_are_rejected_with_the_rule() {
        let c = Calendar::weekly(Calendar::time_zone_named("Europe/London").unwrap());
        assert!(Calendar::time_zone_named("Mars/Olympus").is_err());
        assert!(c.clone().open([Weekday::Mon], "17:00", "09:00").is_err());
        assert!(c.clone().open([Weekday::Mon], "9", "17:00").is_err());
        assert!(c.clone().open([Weekday::Mon], "24:30", "24:40").is_err());
        let err = c
            .open([Weekday::Mon], "09:00", "17:00")
            .unwrap()
            .open([Weekday::Mon], "16:00", "18:00")
            .unwrap_err();
        assert!(err.rule.contains("overlaps"), "{err}");
    }

    #[test]
    fn serde_round_trip() {
        let shop = shop("Asia/Jerusalem");
        let json = serde_json::to_string(&shop).unwrap();
        let back: Calendar = serde_json::from_str(&json).unwrap();
        assert_eq!(back, shop);
        assert!(serde_json::from_str::<Calendar>(r#"{"time_zone":"Nowhere","hours":[]}"#).is_err());
    }

    fn arb_calendar() -> impl Strategy<Value = Calendar> {
        (0..ZONES.len(), any::<bool>()).prop_map(|(z, all)| {
            if all {
                around_the_clock(ZONES[z])
            } else {
                shop(ZONES[z])
            }
        })
    }

    /// Instants across 2026, DST changes included.
    fn arb_instant() -> impl Strategy<Value = DateTime<Utc>> {
        (0i64..365 * 24 * 60)
            .prop_map(|m| Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + Duration::minutes(m))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn business_time_is_additive_and_never_negative(
            c in arb_calendar(),
            a in arb_instant(),
            gap1 in 0i64..20_000,
            gap2 in 0i64..20_000,
        ) {
            let b = a + Duration::minutes(gap1);
            let d = b + Duration::minutes(gap2);
            let whole = c.business_time(a, d);
            prop_assert_eq!(whole, c.business_time(a, b) + c.business_time(b, d));
            prop_assert!(whole >= Duration::zero());
            prop_assert!(whole <= d - a);
            prop_assert_eq!(c.business_time(d, a), Duration::zero());
        }

        #[test]
        fn adding_business_time_is_the_inverse_of_measuring_it(
            c in arb_calendar(),
            from in arb_instant(),
            minutes in 0i64..10_000,
        ) {
            let amount = Duration::minutes(minutes);
            let due = c.add_business_time(from, amount).unwrap();
            prop_assert_eq!(c.business_time(from, due), amount);
            // And it is the earliest such instant: a minute earlier is not enough.
            if minutes > 0 {
                prop_assert!(c.business_time(from, due - Duration::minutes(1)) < amount);
            }
        }

        #[test]
        fn next_opening_is_open_and_nothing_before_it_is(c in arb_calendar(), at in arb_instant()) {
            let next = c.next_opening(at).unwrap();
            prop_assert!(next >= at);
            prop_assert!(c.is_open(next));
            prop_assert_eq!(c.business_time(at, next), Duration::zero());
        }
    }
}
