//! Plural categories, dates, times, numbers and money, all from ICU4X's compiled CLDR data.

use std::fmt;

use chrono::{DateTime, Datelike, Timelike, Utc};
use chrono_tz::Tz;
use icu_datetime::DateTimeFormatter;
use icu_datetime::fieldsets::{YMD, YMDT};
use icu_datetime::input::{Date, Time};
use icu_decimal::DecimalFormatter;
use icu_decimal::input::Decimal;
use icu_decimal::options::DecimalFormatterOptions;
use icu_locale_core::Locale;
use icu_plurals::{PluralCategory, PluralRules};

/// The CLDR plural category of `n` in `locale`, from ICU4X (`icu_plurals`): `"one"`, `"two"`,
/// `"few"`, `"many"`, `"zero"` or `"other"`, the keys a catalog's `PLURAL($n)` selector
/// chooses between.
///
/// Hebrew has `one` (1), `two` (2) and `other` (everything else, 20 and 100 included: CLDR
/// dropped Hebrew's `many`, which `fluent-bundle`'s own older rules still pick).
///
/// ```
/// use incidents::l10n::{Formats, plural_category};
///
/// let he = Formats::new("he").unwrap();
/// assert_eq!(plural_category(&he, 1), "one");
/// assert_eq!(plural_category(&he, 2), "two");
/// assert_eq!(plural_category(&he, 20), "other");
/// assert_eq!(plural_category(&he, 100), "other");
/// let en = Formats::new("en").unwrap();
/// assert_eq!(plural_category(&en, 2), "other");
/// ```
pub fn plural_category(formats: &Formats, n: u64) -> &'static str {
    category_name(formats.plurals.category_for(n))
}

fn category_name(category: PluralCategory) -> &'static str {
    match category {
        PluralCategory::Zero => "zero",
        PluralCategory::One => "one",
        PluralCategory::Two => "two",
        PluralCategory::Few => "few",
        PluralCategory::Many => "many",
        PluralCategory::Other => "other",
    }
}

/// The CLDR plural category names, for checking a catalog's `PLURAL` variant keys.
pub(super) const CATEGORIES: [&str; 6] = ["zero", "one", "two", "few", "many", "other"];

/// One locale's formatters: plural rules, date and time, numbers. Built from ICU4X's compiled
/// data (no locale tables in this crate); a locale ICU4X has no data for gets the data of
/// its nearest parent, in the end the root locale's.
///
/// The strings it returns are bare; the message renderer isolates them (FSI … PDI) when it
/// inserts them.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use incidents::l10n::{Formats, Money};
///
/// let en = Formats::new("en").unwrap();
/// assert_eq!(en.integer(1_234_567), "1,234,567");
/// assert_eq!(en.money(&Money::new(123_450, 2, "ILS").unwrap()), "1,234.50\u{a0}ILS");
/// let at = Utc.with_ymd_and_hms(2026, 12, 3, 7, 5, 0).unwrap();
/// assert_eq!(en.date_time(at, chrono_tz::Asia::Jerusalem), "Dec 3, 2026, 9:05\u{202f}AM");
/// ```
pub struct Formats {
    locale: Locale,
    plurals: PluralRules,
    decimals: DecimalFormatter,
    date_times: DateTimeFormatter<YMDT>,
}

impl fmt::Debug for Formats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Formats")
            .field("locale", &self.locale.to_string())
            .finish_non_exhaustive()
    }
}

impl Formats {
    /// The formatters for the BCP 47 language tag `tag` (`he`, `he-IL`, `en-GB`,
    /// `he-IL-u-ca-hebrew` for the Hebrew calendar); `None` if `tag` is not a language tag.
    ///
    /// ```
    /// assert!(incidents::l10n::Formats::new("he-IL").is_some());
    /// assert!(incidents::l10n::Formats::new("not a tag").is_none());
    /// ```
    pub fn new(tag: &str) -> Option<Formats> {
        let locale = Locale::try_from_str(tag).ok()?;
        let plurals = PluralRules::try_new_cardinal((&locale).into()).ok()?;
        let decimals =
            DecimalFormatter::try_new((&locale).into(), DecimalFormatterOptions::default()).ok()?;
        let date_times =
            DateTimeFormatter::try_new((&locale).into(), YMD::medium().with_time_hm()).ok()?;
        Some(Formats {
            locale,
            plurals,
            decimals,
            date_times,
        })
    }

    /// The locale, as ICU4X normalised its tag.
    pub fn locale(&self) -> String {
        self.locale.to_string()
    }

    /// `n` with the locale's digits and grouping (`1,234,567`).
    ///
    /// ```
    /// let he = incidents::l10n::Formats::new("he").unwrap();
    /// assert_eq!(he.integer(-20_000), "\u{200e}-20,000");
    /// ```
    pub fn integer(&self, n: i64) -> String {
        self.decimals.format(&Decimal::from(n)).to_string()
    }

    /// A decimal written in ASCII (`1234.5`, `-0.25`) with the locale's digits, separator and
    /// grouping; `None` if `decimal` is not such a number.
    ///
    /// ```
    /// let en = incidents::l10n::Formats::new("en").unwrap();
    /// assert_eq!(en.decimal("12345.678").as_deref(), Some("12,345.678"));
    /// assert_eq!(en.decimal("12,3"), None);
    /// ```
    pub fn decimal(&self, decimal: &str) -> Option<String> {
        let d = Decimal::try_from_str(decimal).ok()?;
        Some(self.decimals.format(&d).to_string())
    }

    /// An amount of money: the number with the locale's grouping and exactly the amount's
    /// fraction digits, then a no-break space and the ISO 4217 code (`1,234.50 ILS`).
    ///
    /// ICU4X 2.x has no stable currency formatter (its currency formatting is in
    /// `icu_experimental`), and a currency's symbol and place differ by locale in data this
    /// crate would otherwise have to copy. So the one rule for every locale is: number, no-break
    /// space, code. The code is unambiguous in any language, and in right-to-left text the
    /// whole amount is isolated as one value, so it never splits from its number.
    pub fn money(&self, money: &Money) -> String {
        let mut d = Decimal::from(money.minor);
        d.multiply_pow10(-i16::from(money.scale));
        d.pad_end(-i16::from(money.scale));
        let mut out = self.decimals.format(&d).to_string();
        out.push('\u{a0}');
        out.push_str(money.currency());
        out
    }

    /// `at` as a date and a time of day to the minute, in the time zone `zone` (the shop's),
    /// in the locale's words and order (`Dec 3, 2026, 9:05 AM`, `3 בדצמ׳ 2026, 9:05`).
    /// The zone is not named: the shop's customers and staff live in it.
    pub fn date_time(&self, at: DateTime<Utc>, zone: Tz) -> String {
        let local = at.with_timezone(&zone).naive_local();
        // A chrono date's month (1–12), day (1–31), hour, minute and second are always in
        // ICU4X's ranges; its year (±262,143) too. Fall back to ISO 8601 if that ever changes.
        let month = u8::try_from(local.month()).unwrap_or(1);
        let day = u8::try_from(local.day()).unwrap_or(1);
        let hour = u8::try_from(local.hour()).unwrap_or(0);
        let minute = u8::try_from(local.minute()).unwrap_or(0);
        match (
            Date::try_new_iso(local.year(), month, day),
            Time::try_new(hour, minute, 0, 0),
        ) {
            (Ok(date), Ok(time)) => self
                .date_times
                .format(&icu_datetime::input::DateTime { date, time })
                .to_string(),
            _ => local.format("%Y-%m-%d %H:%M").to_string(),
        }
    }
}

/// An amount of money in a currency: minor units (agorot, cents) and how many of them make
/// one major unit, as a power of ten.
///
/// ```
/// use incidents::l10n::Money;
///
/// let price = Money::new(4990, 2, "ils").unwrap(); // 49.90 ILS
/// assert_eq!(price.currency(), "ILS");
/// assert!(Money::new(1, 2, "shekel").is_none());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    minor: i64,
    scale: u8,
    currency: [u8; 3],
}

impl Money {
    /// `minor` units of `currency` (a three-letter ISO 4217 code, any case), where 10^`scale`
    /// minor units make one (2 for ILS, USD and EUR; 0 for JPY); `None` if the code is not
    /// three ASCII letters or `scale` is over 18.
    pub fn new(minor: i64, scale: u8, currency: &str) -> Option<Money> {
        let code: [u8; 3] = currency.as_bytes().try_into().ok()?;
        if !code.iter().all(u8::is_ascii_alphabetic) || scale > 18 {
            return None;
        }
        Some(Money {
            minor,
            scale,
            currency: code.map(|b| b.to_ascii_uppercase()),
        })
    }

    /// The ISO 4217 code, upper case.
    pub fn currency(&self) -> &str {
        // Three ASCII letters, checked in `new`.
        std::str::from_utf8(&self.currency).unwrap_or("XXX")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn send_sync<T: Send + Sync>() {}

    #[test]
    fn formats_are_send_and_sync() {
        send_sync::<Formats>();
    }

    #[test]
    fn hebrew_twenty_and_hundred_are_other() {
        let he = Formats::new("he").unwrap();
        let got: Vec<_> = [0, 1, 2, 3, 10, 11, 20, 30, 100, 1000]
            .map(|n| plural_category(&he, n))
            .to_vec();
        assert_eq!(
            got,
            [
                "other", "one", "two", "other", "other", "other", "other", "other", "other",
                "other"
            ]
        );
    }

    #[test]
    fn dates_in_the_shops_zone() {
        let at = Utc.with_ymd_and_hms(2026, 12, 3, 22, 30, 0).unwrap();
        let he = Formats::new("he").unwrap();
        // 00:30 the next day in Jerusalem (UTC+2 in winter).
        assert_eq!(
            he.date_time(at, chrono_tz::Asia::Jerusalem),
            "4 בדצמ׳ 2026, 0:30"
        );
        let en = Formats::new("en").unwrap();
        assert_eq!(
            en.date_time(at, chrono_tz::UTC),
            "Dec 3, 2026, 10:30\u{202f}PM"
        );
    }

    #[test]
    fn money_keeps_its_fraction_digits() {
        let en = Formats::new("en").unwrap();
        assert_eq!(
            en.money(&Money::new(100, 2, "USD").unwrap()),
            "1.00\u{a0}USD"
        );
        assert_eq!(
            en.money(&Money::new(-5, 2, "EUR").unwrap()),
            "-0.05\u{a0}EUR"
        );
        assert_eq!(
            en.money(&Money::new(1500, 0, "JPY").unwrap()),
            "1,500\u{a0}JPY"
        );
        let he = Formats::new("he").unwrap();
        assert_eq!(
            he.money(&Money::new(123_456, 2, "ILS").unwrap()),
            "1,234.56\u{a0}ILS"
        );
    }
}
