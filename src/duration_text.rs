//! Durations as short text — `15m`, `1h30m`, `2d`, `90s` — for policies people edit by hand.

use chrono::Duration;
use serde::{Deserialize, Deserializer, Serializer};

/// Formats `d` as days, hours, minutes and seconds, largest first: `1h30m`, `2d`, `0s`.
/// Negative durations get a leading `-`; sub-second parts are dropped.
pub fn format(d: Duration) -> String {
    let mut secs = d.num_seconds();
    let mut out = String::new();
    if secs < 0 {
        out.push('-');
        secs = -secs;
    }
    if secs == 0 {
        return "0s".into();
    }
    for (unit, size) in [('d', 86_400), ('h', 3_600), ('m', 60), ('s', 1)] {
        if secs >= size {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    out
}

/// Parses what [`format`] writes: one or more `<number><unit>` with units `d`, `h`, `m`, `s`.
///
/// # Errors
/// A message saying what is wrong.
pub fn parse(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    let (negative, mut rest) = match trimmed.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, trimmed),
    };
    if rest.is_empty() {
        return Err(format!(
            "{text:?} is not a duration; expected e.g. 15m, 1h30m, 2d"
        ));
    }
    let mut total: i64 = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let unit = rest[digits..].chars().next();
        let size = match unit {
            Some('d') => 86_400,
            Some('h') => 3_600,
            Some('m') => 60,
            Some('s') => 1,
            _ => 0,
        };
        if digits == 0 || size == 0 {
            return Err(format!(
                "{text:?} is not a duration; expected e.g. 15m, 1h30m, 2d"
            ));
        }
        let n: i64 = rest[..digits]
            .parse()
            .map_err(|_| format!("{text:?}: number too large"))?;
        total = n
            .checked_mul(size)
            .and_then(|s| total.checked_add(s))
            .filter(|t| *t <= 100 * 365 * 86_400)
            .ok_or_else(|| format!("{text:?}: longer than a hundred years"))?;
        rest = &rest[digits + 1..];
    }
    Ok(Duration::seconds(if negative { -total } else { total }))
}

pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format(*d))
}

pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    parse(&text).map_err(serde::de::Error::custom)
}

pub(crate) mod option {
    use chrono::Duration;
    use serde::{Deserialize, Deserializer, Serializer};

    #[allow(
        clippy::ref_option,
        reason = "serde `with` passes the field as `&Option<Duration>`"
    )]
    pub(crate) fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&super::format(*d)),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| super::parse(&text).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn examples() {
        assert_eq!(format(Duration::minutes(90)), "1h30m");
        assert_eq!(format(Duration::days(2)), "2d");
        assert_eq!(format(Duration::zero()), "0s");
        assert_eq!(parse("15m"), Ok(Duration::minutes(15)));
        assert_eq!(parse("1h30m"), Ok(Duration::minutes(90)));
        assert!(parse("").is_err());
        assert!(parse("15").is_err());
        assert!(parse("m").is_err());
        assert!(parse("1w").is_err());
        assert!(parse("99999999999999999d").is_err());
    }

    proptest! {
        #[test]
        fn round_trips(secs in -10_000_000i64..10_000_000) {
            let d = Duration::seconds(secs);
            prop_assert_eq!(parse(&format(d)), Ok(d));
        }

        #[test]
        fn parsing_never_panics(text in ".{0,20}") {
            let _ = parse(&text);
        }
    }
}
