//! Summary statistics of durations: mean, nearest-rank median and 90th percentile.

use chrono::Duration;
use serde::{Deserialize, Serialize};

/// Mean, median and 90th percentile of a set of durations, each rounded to the second.
///
/// The median and the 90th percentile are **nearest-rank**: of `n` values sorted ascending,
/// the median is the ⌈n/2⌉-th and the 90th percentile the ⌈0.9·n⌉-th (so both are always one
/// of the measured values; for an even count the median is the lower middle value).
///
/// ```
/// use chrono::Duration;
/// use incidents::report::DurationStats;
///
/// let minutes = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100].map(Duration::minutes);
/// let stats = DurationStats::of(&minutes);
/// assert_eq!(stats.count, 10);
/// assert_eq!(stats.mean, Some(Duration::minutes(55)));
/// assert_eq!(stats.median, Some(Duration::minutes(50))); // the 5th of 10
/// assert_eq!(stats.p90, Some(Duration::minutes(90))); // the 9th of 10
/// assert_eq!(DurationStats::of(&[]).mean, None);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DurationStats {
    /// How many durations were measured.
    pub count: usize,
    /// Their arithmetic mean; `None` if there were none.
    #[serde(with = "crate::duration_text::option")]
    pub mean: Option<Duration>,
    /// The nearest-rank median (the ⌈n/2⌉-th smallest); `None` if there were none.
    #[serde(with = "crate::duration_text::option")]
    pub median: Option<Duration>,
    /// The nearest-rank 90th percentile (the ⌈0.9·n⌉-th smallest); `None` if there were none.
    #[serde(with = "crate::duration_text::option")]
    pub p90: Option<Duration>,
}

impl DurationStats {
    /// The statistics of `durations` (in any order).
    pub fn of(durations: &[Duration]) -> DurationStats {
        let mut millis: Vec<i64> = durations.iter().map(Duration::num_milliseconds).collect();
        DurationStats::from_millis(&mut millis)
    }

    /// The statistics of durations given in milliseconds. Reorders `millis`.
    pub(crate) fn from_millis(millis: &mut [i64]) -> DurationStats {
        let n = millis.len();
        if n == 0 {
            return DurationStats::default();
        }
        let sum: i128 = millis.iter().map(|&m| i128::from(m)).sum();
        let mean = round_to_second(sum, n as i128);
        let (median, p90) = median_and_p90(millis);
        DurationStats {
            count: n,
            mean: Some(mean),
            median: Some(round_to_second(i128::from(median), 1)),
            p90: Some(round_to_second(i128::from(p90), 1)),
        }
    }
}

/// The nearest-rank `percent`-th percentile of a non-empty slice: the ⌈percent·n/100⌉-th
/// smallest value. Reorders the slice (linear-time selection, no full sort). The report takes
/// both of its ranks at once ([`median_and_p90`]); this one is the tests' reference.
#[cfg(test)]
fn nearest_rank(values: &mut [i64], percent: usize) -> i64 {
    let n = values.len();
    let rank = (percent * n).div_ceil(100).clamp(1, n);
    *values.select_nth_unstable(rank - 1).1
}

/// The nearest-rank median and 90th percentile of a non-empty slice, as [`nearest_rank`]
/// gives them; the second selection only searches what the first left above the median.
fn median_and_p90(values: &mut [i64]) -> (i64, i64) {
    let n = values.len();
    let rank = |percent: usize| (percent * n).div_ceil(100).clamp(1, n);
    let (r50, r90) = (rank(50), rank(90));
    let (_, median, above) = values.select_nth_unstable(r50 - 1);
    let median = *median;
    let p90 = match r90 - r50 {
        0 => median,
        k => *above.select_nth_unstable(k - 1).1,
    };
    (median, p90)
}

/// `millis / count` milliseconds, rounded to the nearest second (halves away from zero).
fn round_to_second(millis: i128, count: i128) -> Duration {
    let divisor = count * 1000;
    let half = divisor / 2;
    let seconds = if millis >= 0 {
        (millis + half) / divisor
    } else {
        (millis - half) / divisor
    };
    Duration::seconds(i64::try_from(seconds).unwrap_or(i64::MAX / 1000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_examples() {
        let mut one = [7_000];
        assert_eq!(nearest_rank(&mut one, 50), 7_000);
        assert_eq!(nearest_rank(&mut one, 90), 7_000);
        let mut four = [4, 1, 3, 2];
        assert_eq!(nearest_rank(&mut four, 50), 2);
        assert_eq!(nearest_rank(&mut four, 90), 4);
        let mut eleven: Vec<i64> = (1..=11).rev().collect();
        assert_eq!(nearest_rank(&mut eleven, 50), 6);
        assert_eq!(nearest_rank(&mut eleven, 90), 10);
    }

    #[test]
    fn median_and_p90_select_as_nearest_rank_does() {
        for n in 1..40i64 {
            let values: Vec<i64> = (0..n).map(|i| (i * 7919) % 37 - 5).collect();
            let mut a = values.clone();
            let mut b = values.clone();
            let mut c = values.clone();
            let (median, p90) = median_and_p90(&mut a);
            assert_eq!(median, nearest_rank(&mut b, 50), "{n}");
            assert_eq!(p90, nearest_rank(&mut c, 90), "{n}");
        }
    }

    #[test]
    fn means_round_to_the_nearest_second() {
        assert_eq!(round_to_second(1_499, 1), Duration::seconds(1));
        assert_eq!(round_to_second(1_500, 1), Duration::seconds(2));
        assert_eq!(round_to_second(10_000, 3), Duration::seconds(3));
        assert_eq!(round_to_second(-1_500, 1), Duration::seconds(-2));
    }
}
