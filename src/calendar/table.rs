//! A calendar's opening hours over a stretch of days, worked out once: for a pass that
//! measures business time between many pairs of instants (a report), each measurement is two
//! binary searches instead of a walk over local days.

use chrono::{DateTime, Duration, Utc};

use super::Calendar;

/// The open time of a [`Calendar`] within `[lo, hi)`, as sorted, merged spans in UTC
/// nanoseconds (holidays and closures already left out), with the open time before each.
/// Instants outside `[lo, hi]` are measured by the calendar itself, so every answer is exact.
#[derive(Debug, Clone)]
pub(crate) struct OpeningTable<'a> {
    calendar: &'a Calendar,
    /// `lo` and `hi` in nanoseconds since the Unix epoch.
    lo: i64,
    hi: i64,
    /// Open spans `[start, end)` in nanoseconds, sorted and disjoint.
    spans: Vec<(i64, i64)>,
    /// `before[i]`: open nanoseconds in `spans[..i]`; one longer than `spans`.
    before: Vec<i64>,
}

impl<'a> OpeningTable<'a> {
    /// The opening hours of `calendar` within `[lo, hi)`. Out of the nanosecond range
    /// (before 1677 or after 2262) the table is empty and every measurement goes to the
    /// calendar.
    pub(crate) fn new(calendar: &'a Calendar, lo: DateTime<Utc>, hi: DateTime<Utc>) -> Self {
        // Empty: covers nothing.
        let mut table = OpeningTable {
            calendar,
            lo: i64::MAX,
            hi: i64::MIN,
            spans: Vec::new(),
            before: vec![0],
        };
        let (Some(lo_ns), Some(hi_ns)) = (lo.timestamp_nanos_opt(), hi.timestamp_nanos_opt())
        else {
            return table;
        };
        if lo_ns >= hi_ns {
            return table;
        }
        let spans = calendar.open_spans(lo, hi);
        let mut spans_ns = Vec::with_capacity(spans.len());
        let mut before = Vec::with_capacity(spans.len() + 1);
        let mut total = 0i64;
        before.push(0);
        for (start, end) in spans {
            // Within [lo, hi), so within the nanosecond range.
            let (Some(s), Some(e)) = (start.timestamp_nanos_opt(), end.timestamp_nanos_opt())
            else {
                return table;
            };
            spans_ns.push((s, e));
            total += e - s;
            before.push(total);
        }
        table.lo = lo_ns;
        table.hi = hi_ns;
        table.spans = spans_ns;
        table.before = before;
        table
    }

    /// Open time between `from` and `to` (zero if `to <= from`), exactly as
    /// [`Calendar::business_time`] gives it.
    pub(crate) fn business_time(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
        if to <= from {
            return Duration::zero();
        }
        match (self.offset(from), self.offset(to)) {
            (Some(a), Some(b)) => Duration::nanoseconds(self.open_before(b) - self.open_before(a)),
            _ => self.calendar.business_time(from, to),
        }
    }

    /// `at` in nanoseconds, if the table covers it.
    fn offset(&self, at: DateTime<Utc>) -> Option<i64> {
        at.timestamp_nanos_opt()
            .filter(|ns| self.lo <= *ns && *ns <= self.hi)
    }

    /// Open nanoseconds in `[lo, at)`.
    fn open_before(&self, at: i64) -> i64 {
        // The first span that ends after `at`: all before it are wholly before `at`.
        let i = self.spans.partition_point(|(_, end)| *end <= at);
        let within = self
            .spans
            .get(i)
            .map_or(0, |(start, end)| at.clamp(*start, *end) - start);
        self.before[i] + within
    }
}

#[cfg(test)]
mod tests {
    //! The streaming [`Calendar::business_time`] and the [`OpeningTable`] against the span
    //! list ([`Calendar::open_spans`], summed), over random calendars and intervals. Opening
    //! hours cannot wrap midnight (`open` refuses a span that ends before it starts), so a
    //! night shift is two spans on two days; the strategy makes those too.

    use chrono::{NaiveDate, TimeZone, Weekday};
    use chrono_tz::Tz;
    use proptest::prelude::*;

    use super::*;

    /// London and Jerusalem (the brief's zones), New York, and two zones whose clocks change
    /// at midnight (a repeated or skipped 00:00, where a day's span reaches into the next).
    const ZONES: [Tz; 5] = [
        Tz::Europe__London,
        Tz::Asia__Jerusalem,
        Tz::America__New_York,
        Tz::America__Santiago,
        Tz::Asia__Beirut,
    ];

    fn hhmm(minutes: u16) -> String {
        format!("{:02}:{:02}", minutes / 60, minutes % 60)
    }

    /// One day's spans: up to three, from sorted distinct cut points (in quarter hours, some
    /// on the hour of a DST change), or the whole day.
    fn arb_day() -> impl Strategy<Value = Vec<(u16, u16)>> {
        prop_oneof![
            1 => Just(Vec::new()),
            1 => Just(vec![(0, 24 * 60)]),
            4 => proptest::collection::btree_set(0u16..=96, 0..=6).prop_map(|cuts| {
                let cuts: Vec<u16> = cuts.into_iter().map(|q| q * 15).collect();
                cuts.chunks_exact(2).map(|p| (p[0], p[1])).collect()
            }),
        ]
    }

    fn day_2026(day: u32) -> NaiveDate {
        NaiveDate::from_yo_opt(2026, day % 365 + 1).unwrap()
    }

    /// An instant in 2026 (every DST change of these zones), to the nanosecond.
    fn arb_instant() -> impl Strategy<Value = DateTime<Utc>> {
        (0i64..365 * 86_400, 0i64..1_000_000_000).prop_map(|(s, ns)| {
            Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
                + Duration::seconds(s)
                + Duration::nanoseconds(ns)
        })
    }

    fn arb_calendar() -> impl Strategy<Value = Calendar> {
        (
            0..ZONES.len(),
            proptest::array::uniform7(arb_day()),
            proptest::collection::vec(0u32..365, 0..6),
            proptest::collection::vec((arb_instant(), 1i64..5 * 86_400), 0..4),
        )
            .prop_map(|(zone, week, holidays, closures)| {
                let mut c = Calendar::weekly(ZONES[zone]);
                for (i, spans) in week.iter().enumerate() {
                    let day = Weekday::try_from(u8::try_from(i).unwrap()).unwrap();
                    for (from, to) in spans {
                        c = c.open([day], &hhmm(*from), &hhmm(*to)).unwrap();
                    }
                }
                for day in holidays {
                    c = c.holiday(day_2026(day));
                }
                for (from, seconds) in closures {
                    c = c.closure(from, from + Duration::seconds(seconds)).unwrap();
                }
                c
            })
    }

    /// The old computation: the span list, summed.
    fn by_spans(c: &Calendar, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
        c.open_spans(from, to)
            .iter()
            .fold(Duration::zero(), |sum, (s, e)| sum + (*e - *s))
    }

    /// Interval lengths from nothing to six weeks, short ones more often.
    fn arb_length() -> impl Strategy<Value = Duration> {
        prop_oneof![
            2 => (0i64..86_400_000).prop_map(Duration::milliseconds),
            1 => (0i64..42 * 86_400).prop_map(Duration::seconds),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        #[test]
        fn streaming_business_time_equals_the_span_list(
            c in arb_calendar(),
            from in arb_instant(),
            length in arb_length(),
        ) {
            let to = from + length;
            prop_assert_eq!(c.business_time(from, to), by_spans(&c, from, to));
            prop_assert_eq!(c.business_time(to, from), Duration::zero());
        }

        #[test]
        fn the_opening_table_equals_the_span_list_inside_and_outside_its_range(
            c in arb_calendar(),
            lo in arb_instant(),
            table_length in arb_length(),
            pairs in proptest::collection::vec((-86_400i64..50 * 86_400, arb_length()), 1..12),
        ) {
            let table = OpeningTable::new(&c, lo, lo + table_length);
            for (offset, length) in pairs {
                let from = lo + Duration::seconds(offset);
                let to = from + length;
                prop_assert_eq!(table.business_time(from, to), by_spans(&c, from, to));
                prop_assert_eq!(table.business_time(to, from), Duration::zero());
            }
        }
    }
}
