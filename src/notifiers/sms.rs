//! What a text costs as SMS, and phone numbers. Pure; always compiled.
//!
//! An SMS carries 140 bytes. A text made only of the GSM 03.38 alphabet is sent in
//! [GSM-7](Encoding::Gsm7): 160 characters fit one SMS; characters of the extension table
//! (`€ [ ] { } \ ^ ~ |` and form feed) take two. Any other character — Hebrew, Arabic,
//! Cyrillic, Chinese, an emoji, a curly quote — switches the whole text to
//! [UCS-2](Encoding::Ucs2), counted in UTF-16 code units: 70 fit one SMS (an emoji takes two).
//! A longer text is split into parts that each lose room to a header: 153 GSM-7 septets or 67
//! UCS-2 units per part, and no character is split between parts. Each part is billed as one
//! SMS.
//!
//! ```
//! use incidents::notifiers::sms::{Encoding, Segments};
//!
//! let english = Segments::of("Till 2 is down. Card payments fail since 09:12.");
//! assert_eq!((english.encoding(), english.parts()), (Encoding::Gsm7, 1));
//!
//! let hebrew = Segments::of("הקופה השנייה לא מקבלת כרטיסי אשראי מאז תשע ורבע בבוקר, נא לבדוק בדחיפות");
//! assert_eq!(hebrew.encoding(), Encoding::Ucs2);
//! assert!(hebrew.is_multipart()); // 72 letters: two SMS
//!
//! assert_eq!(incidents::notifiers::sms::fit(&"x".repeat(200), 1).chars().count(), 160);
//! ```

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// How a text is encoded for SMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// The GSM 03.38 7-bit alphabet: 160 septets in one SMS, 153 per part.
    Gsm7,
    /// UCS-2 (UTF-16 code units): 70 in one SMS, 67 per part.
    Ucs2,
}

impl Encoding {
    /// How many units fit a single SMS.
    pub const fn single(self) -> usize {
        match self {
            Encoding::Gsm7 => 160,
            Encoding::Ucs2 => 70,
        }
    }

    /// How many units fit each part of a multipart SMS.
    pub const fn per_part(self) -> usize {
        match self {
            Encoding::Gsm7 => 153,
            Encoding::Ucs2 => 67,
        }
    }

    /// The `snake_case` name (`gsm7`, `ucs2`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Encoding::Gsm7 => "gsm7",
            Encoding::Ucs2 => "ucs2",
        }
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a text costs as SMS: its [`Encoding`], its length in that encoding's units and how
/// many SMS it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Segments {
    encoding: Encoding,
    units: usize,
    parts: usize,
}

impl Segments {
    /// Counts `text`. An empty text is one (empty) SMS.
    pub fn of(text: &str) -> Segments {
        let encoding = if text.chars().all(|c| gsm7_septets(c).is_some()) {
            Encoding::Gsm7
        } else {
            Encoding::Ucs2
        };
        let cost = |c: char| match encoding {
            Encoding::Gsm7 => gsm7_septets(c).unwrap_or(1),
            Encoding::Ucs2 => c.len_utf16(),
        };
        let units: usize = text.chars().map(cost).sum();
        let parts = if units <= encoding.single() {
            1
        } else {
            // Fill parts greedily; a character that does not fit whole starts the next part
            // (an escape and its character, or a surrogate pair, are never split).
            let room = encoding.per_part();
            let (mut parts, mut used) = (1, 0);
            for c in text.chars() {
                let c = cost(c);
                if used + c > room {
                    parts += 1;
                    used = 0;
                }
                used += c;
            }
            parts
        };
        Segments {
            encoding,
            units,
            parts,
        }
    }

    /// GSM-7 or UCS-2.
    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// The length in the encoding's units: GSM-7 septets (an extension-table character
    /// counts two) or UTF-16 code units.
    pub fn units(&self) -> usize {
        self.units
    }

    /// How many SMS the text takes.
    pub fn parts(&self) -> usize {
        self.parts
    }

    /// Whether the text takes more than one SMS.
    pub fn is_multipart(&self) -> bool {
        self.parts > 1
    }
}

/// What ends a shortened text. Plain dots, not `…`: the ellipsis is not in the GSM-7
/// alphabet and would switch a GSM-7 text to UCS-2, costing more than it saves.
pub const ELLIPSIS: &str = "...";

/// `text` without the directional isolation marks (U+2066–U+2069) if what is left is all
/// GSM-7; otherwise `text` as it is.
///
/// [`Templates`](crate::notify::Templates) wrap every value they put in a message in such marks, so
/// that right-to-left text cannot reorder the text around it. A text that is otherwise GSM-7
/// has no right-to-left letter at all, so the marks change nothing on screen — but they are
/// not GSM-7 and would send it as UCS-2: 70 characters to an SMS instead of 160. A text
/// that is UCS-2 anyway (Hebrew, Arabic, an emoji) keeps them, at one unit each.
///
/// ```
/// use incidents::notifiers::sms::{Encoding, Segments, drop_isolates_if_gsm7};
///
/// let english = "[critical] \u{2068}Till 2 is down\u{2069}";
/// assert_eq!(drop_isolates_if_gsm7(english), "[critical] Till 2 is down");
/// let hebrew = "[critical] \u{2068}הקופה לא עובדת\u{2069}";
/// assert_eq!(drop_isolates_if_gsm7(hebrew), hebrew);
/// assert_eq!(Segments::of(&drop_isolates_if_gsm7(english)).encoding(), Encoding::Gsm7);
/// ```
pub fn drop_isolates_if_gsm7(text: &str) -> Cow<'_, str> {
    let is_isolate = |c: char| matches!(c, '\u{2066}'..='\u{2069}');
    if !text.contains(is_isolate)
        || !text
            .chars()
            .all(|c| is_isolate(c) || gsm7_septets(c).is_some())
    {
        return Cow::Borrowed(text);
    }
    Cow::Owned(text.chars().filter(|&c| !is_isolate(c)).collect())
}

/// How many isolates are open at the end of `text`'s last line.
fn open_isolates(text: &str) -> usize {
    text.chars().fold(0, |open, c| match c {
        '\u{2066}'..='\u{2068}' => open + 1,
        '\u{2069}' => open.saturating_sub(1),
        c if crate::text::is_paragraph_separator(c) => 0,
        _ => open,
    })
}

/// `text` as it is if it takes at most `max_parts` SMS (0 counts as 1); otherwise its longest
/// prefix followed by [`ELLIPSIS`] that does, cut after a whole word when a word boundary lies
/// within the last 20 characters (else after a whole character), trailing whitespace dropped.
/// A cut inside a directional isolate (see [`drop_isolates_if_gsm7`]) keeps the ellipsis in
/// it and closes it after: U+2069 for each isolate left open.
pub fn fit(text: &str, max_parts: usize) -> String {
    let max_parts = max_parts.max(1);
    if Segments::of(text).parts() <= max_parts {
        return text.to_string();
    }
    let candidate = |end: usize| {
        let kept = text[..end].trim_end();
        let close = "\u{2069}".repeat(open_isolates(kept));
        format!("{kept}{ELLIPSIS}{close}")
    };
    // Char boundaries, shortest first. Cost never falls as a prefix grows, so the longest
    // prefix that fits is found by bisection.
    let ends: Vec<usize> = text
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(text.len()))
        .collect();
    let (mut lo, mut hi) = (0, ends.len() - 1);
    // Invariant: ends[lo] fits (the bare ellipsis always does); ends[hi] does not.
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if Segments::of(&candidate(ends[mid])).parts() <= max_parts {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    // Back to the end of a word, if one is near.
    let end = ends[lo];
    let cut = match text[end..].chars().next() {
        Some(next) if !next.is_whitespace() => text[..end]
            .char_indices()
            .rev()
            .take(20)
            .find(|(_, c)| c.is_whitespace())
            .map_or(end, |(i, _)| i),
        _ => end,
    };
    if text[..cut].trim_end().is_empty() {
        return candidate(end);
    }
    // The shorter cut fits whenever cost grows with the prefix, which closing marks for
    // isolates left open across a line break (never in a rendered message) could undo.
    let shorter = candidate(cut);
    if Segments::of(&shorter).parts() <= max_parts {
        shorter
    } else {
        candidate(end)
    }
}

/// Septets `c` takes in GSM-7 (1, or 2 for the extension table), or `None` if GSM-7 cannot
/// carry it.
fn gsm7_septets(c: char) -> Option<usize> {
    const BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
                         ¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
    const EXTENSION: &str = "\u{c}^{}\\[~]|€";
    if c.is_ascii_alphanumeric() {
        return Some(1);
    }
    if EXTENSION.contains(c) {
        Some(2)
    } else if BASIC.contains(c) {
        Some(1)
    } else {
        None
    }
}

/// A phone number in international (E.164) form: `+`, a country code and the number, 15
/// digits at most. Parsing ignores spaces, dashes, dots and parentheses; `Display` and serde
/// give the compact form (`+972501234567`).
///
/// ```
/// use incidents::notifiers::sms::PhoneNumber;
///
/// let n: PhoneNumber = "+972 (50) 123-4567".parse()?;
/// assert_eq!(n.to_string(), "+972501234567");
/// assert!("050-123-4567".parse::<PhoneNumber>().is_err()); // no country code
/// # Ok::<(), incidents::notifiers::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// The compact form, `+` and digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for PhoneNumber {
    type Err = ConfigError;

    fn from_str(input: &str) -> Result<PhoneNumber, ConfigError> {
        let refuse = |reason: &str| ConfigError::PhoneNumber {
            input: input.to_string(),
            reason: reason.to_string(),
        };
        let rest = input
            .trim()
            .strip_prefix('+')
            .ok_or_else(|| refuse("it must start with + and the country code"))?;
        let mut digits = String::with_capacity(16);
        digits.push('+');
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' => {}
                _ => return Err(refuse("only digits, spaces, dashes, dots and parentheses")),
            }
        }
        match digits.len() - 1 {
            0..=6 => Err(refuse("too few digits")),
            16.. => Err(refuse("more than 15 digits")),
            _ if digits.starts_with("+0") => Err(refuse("a country code never starts with 0")),
            _ => Ok(PhoneNumber(digits)),
        }
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = ConfigError;

    fn try_from(value: String) -> Result<PhoneNumber, ConfigError> {
        value.parse()
    }
}

impl From<PhoneNumber> for String {
    fn from(value: PhoneNumber) -> String {
        value.0
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const HEBREW: &str = "אבגדהוזחטיכלמנסעפצקרשת";

    fn hebrew(n: usize) -> String {
        HEBREW.chars().cycle().take(n).collect()
    }

    #[test]
    fn gsm7_single_and_multipart_limits() {
        let one = Segments::of(&"a".repeat(160));
        assert_eq!(
            (one.encoding(), one.units(), one.parts()),
            (Encoding::Gsm7, 160, 1)
        );
        assert_eq!(Segments::of(&"a".repeat(161)).parts(), 2);
        assert_eq!(Segments::of(&"a".repeat(306)).parts(), 2);
        assert_eq!(Segments::of(&"a".repeat(307)).parts(), 3);
        assert_eq!(Segments::of("").parts(), 1);
        assert!(!Segments::of("").is_multipart());
    }

    #[test]
    fn extension_characters_cost_two_septets_and_are_not_split() {
        let s = Segments::of(&"€".repeat(80));
        assert_eq!(
            (s.encoding(), s.units(), s.parts()),
            (Encoding::Gsm7, 160, 1)
        );
        assert_eq!(Segments::of(&"€".repeat(81)).parts(), 2);
        // 152 septets then a two-septet character: it goes whole into the second part.
        let text = format!("{}{}{}", "a".repeat(152), "{", "a".repeat(10));
        let s = Segments::of(&text);
        assert_eq!((s.units(), s.parts()), (164, 2));
        // 306 septets would fill two parts exactly, but the pair cannot straddle them:
        // 152 | 2 + 151 | 1.
        let text = format!("{}[{}", "a".repeat(152), "a".repeat(152));
        let s = Segments::of(&text);
        assert_eq!((s.units(), s.parts()), (306, 3));
    }

    #[test]
    fn the_gsm_alphabet_is_recognised() {
        for c in "@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ!\"#¤%&'()*+,-./:;<=>?¡ÄÖÑÜ§¿äöñüà \n\r".chars()
        {
            assert_eq!(gsm7_septets(c), Some(1), "{c:?}");
        }
        for c in "€[]{}\\^~|\u{c}".chars() {
            assert_eq!(gsm7_septets(c), Some(2), "{c:?}");
        }
        for c in "`çáí…“”’א😀\t".chars() {
            assert_eq!(gsm7_septets(c), None, "{c:?}");
        }
    }

    #[test]
    fn hebrew_is_ucs2_seventy_to_one_sms() {
        let s = Segments::of(&hebrew(70));
        assert_eq!(
            (s.encoding(), s.units(), s.parts()),
            (Encoding::Ucs2, 70, 1)
        );
        assert_eq!(Segments::of(&hebrew(71)).parts(), 2);
        assert_eq!(Segments::of(&hebrew(134)).parts(), 2);
        assert_eq!(Segments::of(&hebrew(135)).parts(), 3);
        // One non-GSM character makes the whole text UCS-2.
        let mixed = format!("{}א", "a".repeat(69));
        assert_eq!(Segments::of(&mixed).encoding(), Encoding::Ucs2);
        assert_eq!(Segments::of(&format!("{mixed}b")).parts(), 2);
    }

    #[test]
    fn emoji_take_two_units_and_a_pair_is_never_split() {
        let s = Segments::of(&"😀".repeat(35));
        assert_eq!((s.units(), s.parts()), (70, 1));
        // 66 units then an emoji: the pair goes whole into the second part.
        let text = format!("{}😀{}", hebrew(66), hebrew(3));
        let s = Segments::of(&text);
        assert_eq!((s.units(), s.parts()), (71, 2));
        let text = format!("{}😀{}", hebrew(66), hebrew(66));
        // 66 | 2 + 65 | 1: three parts, where splitting the pair would have made two.
        assert_eq!(
            (Segments::of(&text).units(), Segments::of(&text).parts()),
            (134, 3)
        );
    }

    #[test]
    fn fit_shortens_to_the_parts_allowed() {
        assert_eq!(fit("short", 1), "short");
        let long = "word ".repeat(60);
        let one = fit(&long, 1);
        assert!(one.ends_with("word..."), "{one}");
        assert_eq!(Segments::of(&one).parts(), 1);
        assert!(one.len() >= 157, "{}", one.len());
        let two = fit(&long, 2);
        assert_eq!(Segments::of(&two).parts(), 2);
        assert_eq!(fit(&long, 0), one);
        let he = fit(&hebrew(100), 1);
        assert_eq!(Segments::of(&he).units(), 70);
        assert!(he.ends_with(ELLIPSIS));
    }

    #[test]
    fn phone_numbers_parse_in_international_form_only() {
        let n: PhoneNumber = " +44 (20) 7946.0958 ".parse().unwrap();
        assert_eq!(n.as_str(), "+442079460958");
        for bad in [
            "0501234567",
            "+",
            "+12345",
            "+9725012345678901",
            "+972 50 12x4567",
            "+0123456789",
        ] {
            assert!(bad.parse::<PhoneNumber>().is_err(), "{bad}");
        }
        let json = serde_json::to_string(&n).unwrap();
        assert_eq!(json, "\"+442079460958\"");
        assert_eq!(serde_json::from_str::<PhoneNumber>(&json).unwrap(), n);
        assert!(serde_json::from_str::<PhoneNumber>("\"12\"").is_err());
    }

    proptest! {
        #[test]
        fn parts_never_fall_as_a_text_grows(s in "\\PC{0,400}", extra in "\\PC{1,3}") {
            let longer = format!("{s}{extra}");
            prop_assert!(Segments::of(&s).parts() <= Segments::of(&longer).parts());
            prop_assert!(Segments::of(&s).units() <= Segments::of(&longer).units());
        }

        #[test]
        fn parts_are_enough_for_the_units(s in "\\PC{0,400}") {
            let seg = Segments::of(&s);
            let e = seg.encoding();
            if seg.parts() == 1 {
                prop_assert!(seg.units() <= e.single());
            } else {
                prop_assert!(seg.units() > e.single());
                prop_assert!(seg.units() <= seg.parts() * e.per_part());
                // Greedy filling wastes at most one unit per part boundary.
                prop_assert!(seg.units() > (seg.parts() - 1) * (e.per_part() - 1));
            }
        }

        #[test]
        fn ascii_up_to_160_is_one_sms(s in "[ -Z_a-z\n]{0,160}") {
            // Printable ASCII less the backtick (not GSM-7) and the extension characters.
            let seg = Segments::of(&s);
            prop_assert_eq!(seg.encoding(), Encoding::Gsm7);
            prop_assert_eq!(seg.parts(), 1);
        }

        #[test]
        fn hebrew_up_to_70_is_one_sms_and_up_to_134_two(n in 0usize..=134) {
            prop_assert_eq!(Segments::of(&hebrew(n)).parts(), if n <= 70 { 1 } else { 2 });
        }

        #[test]
        fn fit_keeps_a_prefix_within_the_parts(s in "\\PC{0,500}", max in 1usize..4) {
            let fitted = fit(&s, max);
            prop_assert!(Segments::of(&fitted).parts() <= max);
            if fitted != s {
                let kept = fitted.strip_suffix(ELLIPSIS).unwrap();
                prop_assert!(s.starts_with(kept));
            }
        }

        /// With isolated values (as templates render them), a shortened text still fits,
        /// is a prefix, and leaves no isolate open.
        #[test]
        fn fit_closes_the_isolates_it_cuts(
            words in prop::collection::vec(("[a-z ]{0,12}", "[א-ת ]{1,12}", any::<bool>()), 1..12),
            max in 1usize..3,
        ) {
            let mut s = String::new();
            for (latin, hebrew, line) in &words {
                s.push_str(latin);
                s.push_str(" \u{2068}");
                s.push_str(hebrew);
                s.push('\u{2069}');
                if *line {
                    s.push('\n');
                }
            }
            let fitted = fit(&s, max);
            prop_assert!(Segments::of(&fitted).parts() <= max);
            prop_assert_eq!(open_isolates(&fitted), 0);
            prop_assert!(crate::text::tests::bidi_is_balanced(&fitted), "{:?}", fitted);
            if fitted != s {
                let kept = fitted.trim_end_matches('\u{2069}').strip_suffix(ELLIPSIS).unwrap();
                prop_assert!(s.starts_with(kept));
            }
        }

        #[test]
        fn isolates_are_dropped_only_from_gsm7_texts(s in "[ -Z_a-z\u{2066}-\u{2069}א]{0,80}") {
            let sent = drop_isolates_if_gsm7(&s);
            let without: String = s.chars().filter(|c| !('\u{2066}'..='\u{2069}').contains(c)).collect();
            if s.contains('א') {
                prop_assert_eq!(sent.as_ref(), s.as_str());
            } else {
                prop_assert_eq!(sent.as_ref(), without.as_str());
                prop_assert_eq!(Segments::of(&sent).encoding(), Encoding::Gsm7);
            }
        }
    }
}
