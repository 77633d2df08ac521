//! Wall-clock times in a zone: the instants they name across clock changes.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

pub(super) fn offset_secs(zone: Tz, at: DateTime<Utc>) -> i32 {
    use chrono::Offset;
    zone.offset_from_utc_datetime(&at.naive_utc())
        .fix()
        .local_minus_utc()
}

/// The first instant in `(lo, hi]` with `hi`'s offset (one change between them).
pub(super) fn transition(zone: Tz, mut lo: DateTime<Utc>, mut hi: DateTime<Utc>) -> DateTime<Utc> {
    let target = offset_secs(zone, hi);
    while hi - lo > Duration::seconds(1) {
        let mid = lo + (hi - lo) / 2;
        if offset_secs(zone, mid) == target {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

/// The instants a wall-clock time names: one, two (clocks went back), or, when it was
/// skipped, the first instant whose wall clock is past it.
pub(super) fn wall_instants(zone: Tz, local: NaiveDateTime) -> Vec<DateTime<Utc>> {
    use chrono::LocalResult;
    match zone.from_local_datetime(&local) {
        LocalResult::Single(t) => vec![t.with_timezone(&Utc)],
        LocalResult::Ambiguous(a, b) => vec![a.with_timezone(&Utc), b.with_timezone(&Utc)],
        LocalResult::None => vec![first_at_or_after(zone, local)],
    }
}

/// The first instant whose wall clock reads `local` or later (for a skipped time).
fn first_at_or_after(zone: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    let naive = local.and_utc();
    let mut lo = naive - Duration::hours(27);
    let mut hi = naive + Duration::hours(27);
    while hi - lo > Duration::seconds(1) {
        let mid = lo + (hi - lo) / 2;
        if mid.with_timezone(&zone).naive_local() >= local {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

/// The instant a turn changes on `day`: its first occurrence, or just after a skipped hour.
pub(super) fn handoff_on(zone: Tz, day: NaiveDate, handoff: NaiveTime) -> DateTime<Utc> {
    let local = day.and_time(handoff);
    match zone.from_local_datetime(&local).earliest() {
        Some(t) => t.with_timezone(&Utc),
        None => first_at_or_after(zone, local),
    }
}
