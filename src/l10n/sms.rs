//! What a rendered SMS costs.

pub use crate::notifiers::sms::Encoding;
use crate::notifiers::sms::Segments;

/// What a text costs as SMS (see [`sms_segments`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct SmsSegments {
    /// GSM-7 if every character is in the GSM 03.38 basic set or its extension table, else
    /// UCS-2.
    pub encoding: Encoding,
    /// The length in the encoding's units: GSM-7 septets (an extension-table character such
    /// as `€`, `[` or `{` counts two), or UTF-16 code units (an emoji counts two, each
    /// isolation mark one).
    pub chars: usize,
    /// How many SMS it takes: one up to 160 septets or 70 UCS-2 units; past that, parts of 153
    /// septets or 67 units each (no character split between parts).
    pub segments: usize,
}

impl SmsSegments {
    /// Whether the text fits one SMS.
    pub fn is_single(&self) -> bool {
        self.segments == 1
    }
}

/// Counts what `text` costs as SMS, with the crate's one counter
/// ([`notifiers::sms::Segments`](crate::notifiers::sms::Segments)).
///
/// Isolation marks (U+2066–U+2069) are not GSM-7: a text with one is sent as UCS-2, and each
/// counts one unit. The catalogs' SMS parts leave the marks out of a text that is otherwise
/// GSM-7, where they change nothing on screen (no right-to-left letter is in it).
///
/// ```
/// use incidents::l10n::{Encoding, sms_segments};
///
/// let s = sms_segments("Till 2 is down");
/// assert_eq!((s.encoding, s.chars, s.segments), (Encoding::Gsm7, 14, 1));
/// assert_eq!(sms_segments("Till \u{2068}2\u{2069}").encoding, Encoding::Ucs2);
/// assert_eq!(sms_segments(&"€".repeat(81)).segments, 2); // 162 septets
/// assert_eq!(sms_segments(&"ש".repeat(71)).segments, 2);
/// ```
pub fn sms_segments(text: &str) -> SmsSegments {
    let s = Segments::of(text);
    SmsSegments {
        encoding: s.encoding(),
        chars: s.units(),
        segments: s.parts(),
    }
}
