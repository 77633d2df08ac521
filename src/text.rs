//! Validated text — incident titles and free-form text such as notes and root causes — and
//! the one set of text rules every piece of user text in the crate goes through.
//!
//! The rules themselves are documented for users on [`Text`] (free text) and [`Title`] (one
//! line). Everything that validates a string calls [`check_line`] or [`check_text`]: titles,
//! texts, services, actor ids and names, reporters and contacts, alert sources, fingerprints
//! and labels, idempotency keys, task and follow-up titles and assignees. Notifications isolate
//! every value they insert that shares a line with template text (`notify::push_isolated`),
//! so that what these rules let through cannot change the direction of the text around it
//! either.
//!
//! Decisions, for the record:
//!
//! - **Bidirectional controls** ("Trojan Source", CVE-2021-42574). Embeddings and overrides
//!   (U+202A–U+202E) are refused everywhere: an override left open reverses what follows it,
//!   and nothing a person types in an incident needs one. Isolates (U+2066–U+2069) are refused
//!   in one-line values and allowed in free text only when balanced **per line**: every PDI
//!   closes an isolate opened earlier on its line, and none is left open when the line ends.
//!   A line ends where UAX #9 ends a paragraph (`Bidi_Class` B: `\n`, `\r`, U+001C–U+001E,
//!   U+0085, U+2029), because the bidi algorithm closes every isolate there anyway: an isolate
//!   that looks balanced across a line break is not balanced where it is displayed. U+2028
//!   LINE SEPARATOR does not end a paragraph. The marks (LRM U+200E, RLM U+200F, ALM U+061C)
//!   are allowed: they are how RTL writers fix the place of punctuation and numbers, and they
//!   affect only the characters next to them.
//! - **Invisible text.** A value that is empty once white space and `Default_Ignorable_Code_Point`
//!   characters are removed counts as empty. The property is a hand-kept table
//!   ([`is_default_ignorable`]) from Unicode 16.0.0's DerivedCoreProperties.txt; a unit test
//!   checks it against `regex-syntax`'s copy of the same property. Such characters are allowed
//!   *within* visible text: zero-width joiners make emoji and Persian words, variation
//!   selectors pick glyphs, marks fix RTL punctuation.
//! - **Deprecated format characters** U+206A–U+206F (symmetric swapping, Arabic form shaping,
//!   digit shapes) are refused everywhere: deprecated since Unicode 3.0, and swapping changes
//!   how brackets display in RTL text.
//! - **Stored data.** Types validate when deserialised, so an event log recorded before these
//!   rules with a value they refuse (an override, an isolate in a name, an invisible-only
//!   title, a line break in an idempotency key) no longer replays. Refusing on input but
//!   tolerating on replay would need a second, lenient path through every type; such values
//!   are invisible or spoofing by nature and unlikely in a real log, and the stored format gets
//!   explicit versions and an upgrade path in issue #12, where a migration can clean them. So
//!   for now there is no tolerant replay path.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::Invalid;

/// The longest title accepted, in characters (Unicode scalar values).
pub const TITLE_MAX_CHARS: usize = 200;

/// The longest free-form text accepted (notes, descriptions, root causes, summaries, customer
/// updates, reasons), in characters.
pub const TEXT_MAX_CHARS: usize = 10_000;

/// `Default_Ignorable_Code_Point`, from DerivedCoreProperties.txt of **Unicode 16.0.0**:
/// characters that display as nothing when a renderer does not support them (zero-width
/// spaces and joiners, bidi marks and controls, word joiner, BOM, variation selectors, Hangul
/// fillers, tags, …). Inclusive ranges, sorted.
const DEFAULT_IGNORABLE: &[(char, char)] = &[
    ('\u{00AD}', '\u{00AD}'),
    ('\u{034F}', '\u{034F}'),
    ('\u{061C}', '\u{061C}'),
    ('\u{115F}', '\u{1160}'),
    ('\u{17B4}', '\u{17B5}'),
    ('\u{180B}', '\u{180F}'),
    ('\u{200B}', '\u{200F}'),
    ('\u{202A}', '\u{202E}'),
    ('\u{2060}', '\u{206F}'),
    ('\u{3164}', '\u{3164}'),
    ('\u{FE00}', '\u{FE0F}'),
    ('\u{FEFF}', '\u{FEFF}'),
    ('\u{FFA0}', '\u{FFA0}'),
    ('\u{FFF0}', '\u{FFF8}'),
    ('\u{1BCA0}', '\u{1BCA3}'),
    ('\u{1D173}', '\u{1D17A}'),
    ('\u{E0000}', '\u{E0FFF}'),
];

/// Whether `c` is a `Default_Ignorable_Code_Point` (Unicode 16.0.0).
pub(crate) fn is_default_ignorable(c: char) -> bool {
    DEFAULT_IGNORABLE
        .binary_search_by(|&(lo, hi)| {
            if hi < c {
                std::cmp::Ordering::Less
            } else if lo > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// Whether `c` ends a paragraph for the bidi algorithm (`Bidi_Class` B, UAX #9).
pub(crate) fn is_paragraph_separator(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r' | '\u{1C}' | '\u{1D}' | '\u{1E}' | '\u{85}' | '\u{2029}'
    )
}

/// FIRST STRONG ISOLATE: starts an isolate whose direction is that of its first strong
/// character.
pub(crate) const FSI: char = '\u{2068}';
/// POP DIRECTIONAL ISOLATE: ends the innermost open isolate.
pub(crate) const PDI: char = '\u{2069}';

/// Whether `c` opens an isolate: LRI, RLI or FSI.
pub(crate) fn opens_isolate(c: char) -> bool {
    matches!(c, '\u{2066}'..='\u{2068}')
}

/// Whether `c` is a bidirectional embedding or override (LRE, RLE, PDF, LRO, RLO).
pub(crate) fn is_embedding_or_override(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}')
}

/// Whether `c` is a deprecated format character (U+206A–U+206F).
fn is_deprecated_format(c: char) -> bool {
    matches!(c, '\u{206A}'..='\u{206F}')
}

/// The names of the characters the rules talk about, for messages.
fn name(c: char) -> Option<&'static str> {
    Some(match c {
        '\u{0}' => "null",
        '\t' => "tab",
        '\n' => "line feed",
        '\r' => "carriage return",
        '\u{1B}' => "escape",
        '\u{7F}' => "delete",
        '\u{85}' => "next line",
        '\u{AD}' => "soft hyphen",
        '\u{61C}' => "arabic letter mark",
        '\u{200B}' => "zero width space",
        '\u{200C}' => "zero width non-joiner",
        '\u{200D}' => "zero width joiner",
        '\u{200E}' => "left-to-right mark",
        '\u{200F}' => "right-to-left mark",
        '\u{2028}' => "line separator",
        '\u{2029}' => "paragraph separator",
        '\u{202A}' => "left-to-right embedding",
        '\u{202B}' => "right-to-left embedding",
        '\u{202C}' => "pop directional formatting",
        '\u{202D}' => "left-to-right override",
        '\u{202E}' => "right-to-left override",
        '\u{2060}' => "word joiner",
        '\u{2066}' => "left-to-right isolate",
        '\u{2067}' => "right-to-left isolate",
        '\u{2068}' => "first strong isolate",
        '\u{2069}' => "pop directional isolate",
        '\u{206A}' => "inhibit symmetric swapping",
        '\u{206B}' => "activate symmetric swapping",
        '\u{206C}' => "inhibit arabic form shaping",
        '\u{206D}' => "activate arabic form shaping",
        '\u{206E}' => "national digit shapes",
        '\u{206F}' => "nominal digit shapes",
        '\u{3164}' => "hangul filler",
        '\u{FEFF}' => "zero width no-break space",
        _ => return None,
    })
}

/// `c` as messages name it: `U+202E (right-to-left override)`, `U+003B ';'`, `U+0007`.
pub(crate) fn code_point(c: char) -> String {
    let n = u32::from(c);
    match name(c) {
        Some(name) => format!("U+{n:04X} ({name})"),
        None if c.is_control() || c.is_whitespace() || is_default_ignorable(c) => {
            format!("U+{n:04X}")
        }
        None => format!("U+{n:04X} {c:?}"),
    }
}

/// The two shapes of text.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// A name, a title, a key: one line, no isolates.
    Line,
    /// Free text: lines and tabs, isolates balanced per line.
    Text,
}

/// `value`, trimmed, if it follows the [one-line rules](Title#text-rules) and has at most
/// `max` characters; otherwise an error naming `field` (and the offending character, if one
/// is to blame).
pub(crate) fn check_line<'v>(
    field: &'static str,
    value: &'v str,
    max: usize,
) -> Result<&'v str, Invalid> {
    check(field, value, max, Shape::Line)
}

/// `value`, trimmed, if it follows the [free-text rules](Text#text-rules) and has at most
/// `max` characters; otherwise an error naming `field` (and the offending character, if one
/// is to blame).
pub(crate) fn check_text<'v>(
    field: &'static str,
    value: &'v str,
    max: usize,
) -> Result<&'v str, Invalid> {
    check(field, value, max, Shape::Text)
}

fn check<'v>(
    field: &'static str,
    value: &'v str,
    max: usize,
    shape: Shape,
) -> Result<&'v str, Invalid> {
    let value = value.trim();
    if value.is_empty() {
        return Err(Invalid::new(field, "must not be empty or only white space"));
    }
    // Printable ASCII breaks no rule but the length (no control, format or bidi character is
    // ASCII), and a trimmed value starts with a visible character: one pass over the bytes.
    if value.bytes().all(|b| matches!(b, b' '..=b'~')) && value.len() <= max {
        return Ok(value);
    }
    check_chars(field, value, max, shape)
}

/// [`check`] character by character, on a trimmed, non-empty value.
fn check_chars<'v>(
    field: &'static str,
    value: &'v str,
    max: usize,
    shape: Shape,
) -> Result<&'v str, Invalid> {
    let chars = value.chars().count();
    if chars > max {
        return Err(Invalid::new(
            field,
            format!("must be at most {max} characters, got {chars}"),
        ));
    }
    let refuse = |(c, rule): Broken| Invalid::new(field, rule).with_code_point(c);
    // The isolates open on the current line (for free text), outermost first.
    let mut open: Vec<char> = Vec::new();
    let mut visible = false;
    let mut invisible = None;
    for c in value.chars() {
        check_char(c, shape, &mut open).map_err(refuse)?;
        if !c.is_whitespace() && !is_default_ignorable(c) {
            visible = true;
        } else if invisible.is_none() && !c.is_whitespace() {
            invisible = Some(c);
        }
    }
    if let Some(&first) = open.first() {
        return Err(refuse(unclosed(first)));
    }
    if !visible {
        let rule = "must not be empty or only white space and invisible characters";
        return Err(match invisible {
            Some(c) => {
                Invalid::new(field, format!("{rule} such as {}", code_point(c))).with_code_point(c)
            }
            None => Invalid::new(field, rule),
        });
    }
    Ok(value)
}

/// A rule a character broke: the character and the rule, as an [`Invalid`] states it.
type Broken = (char, String);

/// The rule broken by an isolate `c` still open where its line ends.
fn unclosed(c: char) -> Broken {
    let rule = format!(
        "{} is not closed by U+2069 (pop directional isolate) on its line",
        code_point(c)
    );
    (c, rule)
}

/// Checks one character of a value of `shape` against the rules that concern it alone or
/// the isolates `open` on its line (outermost first), which it keeps up to date.
fn check_char(c: char, shape: Shape, open: &mut Vec<char>) -> Result<(), Broken> {
    if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
        check_control(c, shape, open)
    } else if is_embedding_or_override(c) {
        let rule = format!(
            "must not contain {}: bidirectional embeddings and overrides can reorder the text \
             around them",
            code_point(c)
        );
        Err((c, rule))
    } else if is_deprecated_format(c) {
        let rule = format!(
            "must not contain {}, a deprecated format character",
            code_point(c)
        );
        Err((c, rule))
    } else if opens_isolate(c) || c == PDI {
        check_isolate(c, shape, open)
    } else {
        Ok(())
    }
}

/// A control character or line break `c`: free text may break lines (where every isolate
/// must be closed) and hold tabs; one-line values take none.
fn check_control(c: char, shape: Shape, open: &[char]) -> Result<(), Broken> {
    match shape {
        Shape::Line => {
            let rule = format!(
                "must be one line without control characters, found {}",
                code_point(c)
            );
            Err((c, rule))
        }
        // A line (a bidi paragraph) ends: isolates must be closed by now.
        Shape::Text if matches!(c, '\n' | '\r' | '\u{2029}') => match open.first() {
            Some(&first) => Err(unclosed(first)),
            None => Ok(()),
        },
        Shape::Text if matches!(c, '\t' | '\u{2028}') => Ok(()),
        Shape::Text => {
            let rule = format!(
                "must not contain control characters, found {}",
                code_point(c)
            );
            Err((c, rule))
        }
    }
}

/// An isolate initiator or U+2069 `c`: free text balances them per line; one-line values
/// take none.
fn check_isolate(c: char, shape: Shape, open: &mut Vec<char>) -> Result<(), Broken> {
    match shape {
        Shape::Line => {
            let rule = format!(
                "must not contain {}: one-line values take no bidirectional isolates (the marks \
                 U+200E, U+200F and U+061C are fine)",
                code_point(c)
            );
            Err((c, rule))
        }
        Shape::Text if c == PDI => match open.pop() {
            Some(_) => Ok(()),
            None => Err((
                c,
                format!("{} closes no isolate on its line", code_point(c)),
            )),
        },
        Shape::Text => {
            open.push(c);
            Ok(())
        }
    }
}

/// `text` made to follow the [free-text rules](Text#text-rules), for text the crate would
/// rather clean than refuse (an alert's description is extra information: it never costs the
/// alert). Control characters other than line breaks and tabs become spaces; bidirectional
/// embeddings and overrides, deprecated format characters and isolates not balanced on their
/// line are dropped; it is cut to `max` characters. `None` if nothing visible is left.
#[cfg(any(feature = "webhooks", test))]
pub(crate) fn clean_text(text: &str, max: usize) -> Option<String> {
    let mut chars: Vec<Option<char>> = text
        .chars()
        .filter(|&c| !is_embedding_or_override(c) && !is_deprecated_format(c))
        .map(|c| {
            if c.is_control() && !matches!(c, '\n' | '\r' | '\t') {
                Some(' ')
            } else {
                Some(c)
            }
        })
        .take(max)
        .collect();
    // Drop what the balance rule would refuse: a PDI closing nothing, an isolate still open
    // when its line ends.
    let mut open: Vec<usize> = Vec::new();
    for i in 0..chars.len() {
        match chars[i] {
            Some(c) if opens_isolate(c) => open.push(i),
            // The guard pops: a PDI that closes an isolate falls through to `_`.
            Some(PDI) if open.pop().is_none() => chars[i] = None,
            Some('\n' | '\r' | '\u{2029}') => {
                for j in open.drain(..) {
                    chars[j] = None;
                }
            }
            _ => {}
        }
    }
    for j in open {
        chars[j] = None;
    }
    let cleaned: String = chars.into_iter().flatten().collect();
    check_text("text", &cleaned, max).ok()?;
    Some(cleaned)
}

/// An incident's one-line title: not blank, at most [`TITLE_MAX_CHARS`] characters, one line.
/// Surrounding white space is trimmed.
///
/// # Text rules
///
/// Titles follow the **one-line rules**, as do every other name and key the crate takes:
/// service names, actor ids and names, reporter names and contacts, alert sources,
/// fingerprints and labels, idempotency keys, task and follow-up titles.
///
/// - Trimmed of surrounding white space; empty is refused, and so is a value made only of
///   white space and invisible characters (Unicode's `Default_Ignorable_Code_Point`: U+200B
///   zero width space, U+2060 word joiner, U+FEFF, a lone U+200F right-to-left mark, …).
///   Invisible characters *within* visible text are fine.
/// - No control characters: no line breaks, tabs or escape codes, and no U+2028 line
///   separator or U+2029 paragraph separator.
/// - No bidirectional embeddings or overrides (U+202A–U+202E) and no isolates
///   (U+2066–U+2069): they can make text display in another order than it is read
///   ("Trojan Source", CVE-2021-42574). The marks that RTL writers use to place punctuation
///   and numbers — U+200E left-to-right mark, U+200F right-to-left mark, U+061C arabic
///   letter mark — are allowed. Hebrew, Arabic and mixed text need nothing else.
/// - No deprecated format characters (U+206A–U+206F).
///
/// [`Text`] states the free-text rules. A broken rule is an [`Invalid`] naming the field and,
/// where one character is to blame, that character (`U+202E (right-to-left override)`, also
/// in [`Invalid::code_point`]).
///
/// ```
/// use incidents::Title;
///
/// let title = Title::new("  Checkout fails with error 500 ")?;
/// assert_eq!(title.as_str(), "Checkout fails with error 500");
/// assert!(Title::new("הקופה לא עובדת (קופה 2)\u{200F}").is_ok());
/// assert!(Title::new("   ").is_err());
/// assert!(Title::new("\u{200B}\u{FEFF}").is_err());
/// assert!(Title::new("line\nbreak").is_err());
/// assert_eq!(Title::new("a\u{202E}b").unwrap_err().code_point, Some('\u{202E}'));
/// # Ok::<(), incidents::Invalid>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Title(Arc<str>);

impl Title {
    /// Validates and trims a title.
    ///
    /// # Errors
    /// [`Invalid`] with field `title` if it breaks the [one-line rules](Title#text-rules) or
    /// is longer than [`TITLE_MAX_CHARS`] characters.
    pub fn new(title: impl AsRef<str>) -> Result<Title, Invalid> {
        check_line("title", title.as_ref(), TITLE_MAX_CHARS).map(|t| Title(Arc::from(t)))
    }

    /// The title as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Free-form text — a note, a description, a root cause, a customer update: not blank, at most
/// [`TEXT_MAX_CHARS`] characters, lines and tabs allowed. Surrounding white space is trimmed.
///
/// # Text rules
///
/// Free text follows the [one-line rules](Title#text-rules) with two differences:
///
/// - Line breaks (`\n`, `\r`, U+2028, U+2029) and tabs are allowed; other control characters
///   are not.
/// - Bidirectional isolates are allowed when **balanced on each line**: every U+2069 pop
///   directional isolate closes an isolate (U+2066 left-to-right, U+2067 right-to-left,
///   U+2068 first strong) opened before it on the same line, and none is left open when its
///   line ends. A line ends at `\n`, `\r` or U+2029, where the Unicode bidi algorithm (UAX #9)
///   ends a paragraph and closes isolates itself. Embeddings and overrides (U+202A–U+202E)
///   are refused, as everywhere: a customer update with U+202E would reach customers
///   reversed.
///
/// Text that is empty once white space and invisible characters are removed counts as
/// empty.
///
/// ```
/// use incidents::Text;
///
/// let note = Text::new("note", "Restarted the payment gateway.\nWatching the error rate.")?;
/// assert!(note.as_str().contains('\n'));
/// assert!(Text::new("customer update", "שלום, האתר חזר לפעול.\u{200F}\nתודה על הסבלנות!").is_ok());
/// assert!(Text::new("note", "order \u{2067}#123\u{2069} is late").is_ok());
///
/// let err = Text::new("note", "").unwrap_err();
/// assert_eq!(err.to_string(), "invalid note: must not be empty or only white space");
/// let err = Text::new("customer update", "\u{202E}!enilno kcab").unwrap_err();
/// assert_eq!(err.code_point, Some('\u{202E}'));
/// let err = Text::new("note", "\u{2066}left open").unwrap_err();
/// assert!(err.rule.contains("U+2066 (left-to-right isolate) is not closed"), "{err}");
/// # Ok::<(), incidents::Invalid>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Text(Arc<str>);

impl Text {
    /// Validates and trims text for the input named `field` (used in the error message).
    ///
    /// # Errors
    /// [`Invalid`] naming `field` if the text breaks the [free-text rules](Text#text-rules) or
    /// is longer than [`TEXT_MAX_CHARS`] characters.
    pub fn new(field: &'static str, text: impl AsRef<str>) -> Result<Text, Invalid> {
        check_text(field, text.as_ref(), TEXT_MAX_CHARS).map(|t| Text(Arc::from(t)))
    }

    /// The text as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! string_like {
    ($ty:ident, $($ctor:tt)*) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&*self.0, f)
            }
        }

        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $ty {
            type Error = Invalid;
            fn try_from(value: String) -> Result<Self, Invalid> {
                ($($ctor)*)(value)
            }
        }

        impl TryFrom<&str> for $ty {
            type Error = Invalid;
            fn try_from(value: &str) -> Result<Self, Invalid> {
                ($($ctor)*)(value)
            }
        }

        impl From<$ty> for String {
            fn from(value: $ty) -> String {
                String::from(&*value.0)
            }
        }

        impl PartialEq<str> for $ty {
            fn eq(&self, other: &str) -> bool {
                &*self.0 == other
            }
        }

                impl PartialEq<&str> for $ty {
            fn eq(&self, other: &&str) -> bool {
                &*self.0 == *other
            }
        }

        // By hand rather than through `String`: no copy on the way out, one allocation (the
        // shared string itself) on the way in, and validation either way.
        impl Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct Visit;
                impl serde::de::Visitor<'_> for Visit {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str("a string")
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$ty, E> {
                        ($($ctor)*)(v).map_err(E::custom)
                    }
                }
                d.deserialize_str(Visit)
            }
        }
    };
}

string_like!(Title, Title::new);
string_like!(Text, |s| Text::new("text", s));

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    const EMBEDDINGS_AND_OVERRIDES: [char; 5] =
        ['\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}'];
    const ISOLATES: [char; 4] = ['\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}'];

    /// Whether `s` has a character that is neither white space nor default-ignorable.
    pub(crate) fn is_visible(s: &str) -> bool {
        s.chars()
            .any(|c| !c.is_whitespace() && !is_default_ignorable(c))
    }

    /// Whether the isolates of `s` are balanced on each of its lines (bidi paragraphs), and it
    /// has no embedding or override: the invariant of accepted text and of rendered messages.
    pub(crate) fn bidi_is_balanced(s: &str) -> bool {
        let mut depth = 0usize;
        for c in s.chars() {
            if is_embedding_or_override(c) {
                return false;
            } else if opens_isolate(c) {
                depth += 1;
            } else if c == PDI {
                if depth == 0 {
                    return false;
                }
                depth -= 1;
            } else if is_paragraph_separator(c) && depth > 0 {
                return false;
            }
        }
        depth == 0
    }

    #[test]
    fn title_limits() {
        assert!(Title::new("a".repeat(TITLE_MAX_CHARS)).is_ok());
        let err = Title::new("a".repeat(TITLE_MAX_CHARS + 1)).unwrap_err();
        assert_eq!(err.field, "title");
        assert!(err.rule.contains("at most 200"), "{err}");
        // Characters, not bytes: 200 two-byte letters fit.
        assert!(Title::new("é".repeat(TITLE_MAX_CHARS)).is_ok());
        assert!(Title::new("tab\there").is_err());
        assert!(Title::new("bell\u{7}").is_err());
        assert!(Title::new("\t \n").is_err());
    }

    #[test]
    fn text_limits() {
        assert!(Text::new("note", "x".repeat(TEXT_MAX_CHARS)).is_ok());
        let err = Text::new("note", "x".repeat(TEXT_MAX_CHARS + 1)).unwrap_err();
        assert_eq!(err.field, "note");
        assert!(Text::new("note", "a\tb\r\nc").is_ok());
        let err = Text::new("root cause", "esc\u{1b}[31m").unwrap_err();
        assert_eq!(err.field, "root cause");
        assert_eq!(err.code_point, Some('\u{1b}'));
        assert_eq!(
            err.rule,
            "must not contain control characters, found U+001B (escape)"
        );
    }

    #[test]
    fn serde_validates() {
        assert!(serde_json::from_str::<Title>("\"  \"").is_err());
        let t: Title = serde_json::from_str("\"ok\"").unwrap();
        assert_eq!(serde_json::to_string(&t).unwrap(), "\"ok\"");
        let err = serde_json::from_str::<Title>(r#""a\u202eb""#).unwrap_err();
        assert!(err.to_string().contains("U+202E"), "{err}");
        assert!(serde_json::from_str::<Text>(r#""\u2066open""#).is_err());
        assert!(serde_json::from_str::<Text>(r#""\u200b""#).is_err());
    }

    #[test]
    fn embeddings_and_overrides_are_refused_naming_the_code_point() {
        for c in EMBEDDINGS_AND_OVERRIDES {
            let value = format!("pay{c}ment");
            let err = Title::new(&value).unwrap_err();
            assert_eq!((err.field, err.code_point), ("title", Some(c)));
            let err = Text::new("customer update", &value).unwrap_err();
            assert_eq!((err.field, err.code_point), ("customer update", Some(c)));
            // Even inside a balanced isolate.
            assert!(Text::new("note", format!("a \u{2068}{c}b\u{2069}")).is_err());
        }
        let err = Text::new("customer update", "We are \u{202E}enilno kcab").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid customer update: must not contain U+202E (right-to-left override): \
             bidirectional embeddings and overrides can reorder the text around them"
        );
    }

    #[test]
    fn isolates_are_refused_in_one_line_values() {
        for c in ISOLATES {
            let err = Title::new(format!("a {c}b{PDI}")).unwrap_err();
            assert_eq!(err.code_point, Some(c));
            assert!(
                err.rule
                    .contains("one-line values take no bidirectional isolates")
            );
        }
        assert_eq!(
            Title::new("\u{2066}x").unwrap_err().to_string(),
            "invalid title: must not contain U+2066 (left-to-right isolate): one-line values \
             take no bidirectional isolates (the marks U+200E, U+200F and U+061C are fine)"
        );
    }

    #[test]
    fn isolates_in_free_text_must_balance_on_each_line() {
        for good in [
            "order \u{2066}#123\u{2069} is late",
            "\u{2067}שלום\u{2069} and \u{2068}hello\u{2069}",
            "nested \u{2066}a \u{2067}b\u{2069} c\u{2069} done",
            "one \u{2068}x\u{2069}\nand two \u{2068}y\u{2069}",
            "across a line separator \u{2066}a\u{2028}b\u{2069}",
        ] {
            assert!(Text::new("note", good).is_ok(), "{good:?}");
        }
        let err = Text::new("note", "\u{2066}left open").unwrap_err();
        assert_eq!(err.code_point, Some('\u{2066}'));
        assert_eq!(
            err.rule,
            "U+2066 (left-to-right isolate) is not closed by U+2069 (pop directional isolate) \
             on its line"
        );
        let err = Text::new("note", "closes nothing\u{2069}").unwrap_err();
        assert_eq!(err.code_point, Some('\u{2069}'));
        assert_eq!(
            err.rule,
            "U+2069 (pop directional isolate) closes no isolate on its line"
        );
        // A line break ends the bidi paragraph, and the isolate with it: split across lines
        // is unbalanced, whichever way round.
        for bad in [
            "\u{2067}a\nb\u{2069}",
            "\u{2067}a\rb\u{2069}",
            "\u{2067}a\u{2029}b\u{2069}",
        ] {
            let err = Text::new("note", bad).unwrap_err();
            assert_eq!(err.code_point, Some('\u{2067}'), "{bad:?}");
        }
        // The outermost unclosed isolate is named.
        let err = Text::new("note", "\u{2068}a \u{2067}b").unwrap_err();
        assert_eq!(err.code_point, Some('\u{2068}'));
    }

    #[test]
    fn invisible_values_count_as_empty() {
        for invisible in [
            "\u{200B}",
            "\u{2060}",
            "\u{FEFF}",
            "\u{200F}",
            "\u{200E}\u{200F}\u{061C}",
            " \u{200B} \u{2060} ",
            "\u{3164}",
            "\u{115F}\u{1160}",
            "\u{00AD}",
            "\u{FE0F}",
            "\u{E0041}\u{E0042}",
        ] {
            let err = Title::new(invisible).unwrap_err();
            assert!(
                err.rule
                    .starts_with("must not be empty or only white space and invisible"),
                "{invisible:?}: {err}"
            );
            assert!(err.code_point.is_some_and(|c| invisible.contains(c)));
            assert!(Text::new("customer update", invisible).is_err());
            assert!(Text::new("note", format!("{invisible}\n\t{invisible}")).is_err());
        }
        assert_eq!(
            Title::new("\u{200B}").unwrap_err().to_string(),
            "invalid title: must not be empty or only white space and invisible characters \
             such as U+200B (zero width space)"
        );
        // Invisible characters within visible text stay.
        for fine in [
            "👩\u{200D}💻 on call",
            "می\u{200C}خواهم",
            "x\u{200B}y",
            "\u{FEFF}BOM",
        ] {
            assert_eq!(Title::new(fine).unwrap().as_str(), fine);
        }
    }

    #[test]
    fn hebrew_and_arabic_with_marks_are_accepted() {
        for line in [
            "הקופה לא מקבלת כרטיסי אשראי",
            "הזמנה 1234 נתקעה\u{200F}!",
            "\u{200F}(קופה 2) לא עובדת",
            "שרת POS\u{200E} 3 נפל",
            "الدفع متوقف\u{061C} 5",
        ] {
            assert_eq!(Title::new(line).unwrap().as_str(), line);
            assert_eq!(Text::new("note", line).unwrap().as_str(), line);
        }
        let update = "שלום,\nהאתר חזר לפעול\u{200F}.\nתודה על הסבלנות!";
        assert_eq!(
            Text::new("customer update", update).unwrap().as_str(),
            update
        );
    }

    #[test]
    fn line_and_paragraph_separators_are_not_one_line() {
        for c in ['\u{2028}', '\u{2029}', '\n', '\r', '\u{85}'] {
            let err = Title::new(format!("a{c}b")).unwrap_err();
            assert_eq!(err.code_point, Some(c));
            assert!(err.rule.starts_with("must be one line"), "{err}");
        }
        assert!(Text::new("note", "a\u{2028}b\u{2029}c").is_ok());
        // NEL and the information separators are controls in free text too.
        assert_eq!(
            Text::new("note", "a\u{85}b").unwrap_err().code_point,
            Some('\u{85}')
        );
    }

    #[test]
    fn deprecated_format_characters_are_refused() {
        for c in '\u{206A}'..='\u{206F}' {
            assert_eq!(Title::new(format!("a{c}")).unwrap_err().code_point, Some(c));
            let err = Text::new("note", format!("(a{c})")).unwrap_err();
            assert!(err.rule.contains("deprecated format character"), "{err}");
        }
    }

    #[test]
    fn code_points_are_named_in_messages() {
        assert_eq!(code_point('\u{202E}'), "U+202E (right-to-left override)");
        assert_eq!(code_point(';'), "U+003B ';'");
        assert_eq!(code_point('\u{7}'), "U+0007");
        assert_eq!(code_point('\u{1D173}'), "U+1D173");
    }

    /// The table is Unicode 16.0.0's `Default_Ignorable_Code_Point`; `regex-syntax` carries the
    /// same property, generated from the UCD. If it moves to a Unicode version that changes
    /// the property, this fails: update the table and its version together.
    #[test]
    fn default_ignorable_table_matches_the_unicode_property() {
        use regex_syntax::hir::{Class, HirKind};
        let hir = regex_syntax::Parser::new()
            .parse(r"\p{Default_Ignorable_Code_Point}")
            .unwrap();
        let HirKind::Class(Class::Unicode(class)) = hir.kind() else {
            panic!("not a Unicode class: {hir:?}");
        };
        let theirs: Vec<(char, char)> = class
            .ranges()
            .iter()
            .map(|r| (r.start(), r.end()))
            .collect();
        assert_eq!(DEFAULT_IGNORABLE, theirs.as_slice());
        for (lo, hi) in DEFAULT_IGNORABLE {
            assert!(is_default_ignorable(*lo) && is_default_ignorable(*hi));
            let before = char::from_u32(u32::from(*lo) - 1).unwrap();
            assert!(!is_default_ignorable(before), "{before:?}");
        }
        assert!(!is_default_ignorable('a') && !is_default_ignorable('א'));
    }

    #[test]
    fn cleaned_text_keeps_what_it_can() {
        assert_eq!(
            clean_text(
                "a\u{202E}b\u{1b}c \u{2066}x\u{2069} \u{2069}\u{2067}y\nz",
                100
            )
            .as_deref(),
            Some("ab c \u{2066}x\u{2069} y\nz")
        );
        assert_eq!(clean_text("\u{200B}\u{202E}\u{2066}", 100), None);
        assert_eq!(clean_text("abcdef", 3).as_deref(), Some("abc"));
    }

    /// Strings that hit the rules often: bidi controls, invisible characters, line breaks,
    /// Hebrew, Latin, and any character at all.
    pub(crate) fn arb_tricky_text(max: usize) -> impl Strategy<Value = String> {
        let interesting = prop::sample::select(vec![
            '\u{202A}',
            '\u{202B}',
            '\u{202C}',
            '\u{202D}',
            '\u{202E}',
            '\u{2066}',
            '\u{2067}',
            '\u{2068}',
            '\u{2069}',
            '\u{2069}',
            '\u{200B}',
            '\u{200E}',
            '\u{200F}',
            '\u{061C}',
            '\u{2060}',
            '\u{FEFF}',
            '\u{3164}',
            '\u{E0041}',
            '\u{206A}',
            ' ',
            '\t',
            '\n',
            '\r',
            '\u{2028}',
            '\u{2029}',
            '\u{1B}',
            '\u{85}',
        ]);
        let ch = prop_oneof![
            3 => interesting,
            3 => prop::char::range('א', 'ת'),
            3 => prop::char::range('a', 'z'),
            1 => any::<char>(),
        ];
        prop::collection::vec(ch, 0..max).prop_map(|v| v.into_iter().collect())
    }

    fn check_outcome(
        input: &str,
        result: Result<&str, Invalid>,
        shape: Shape,
    ) -> Result<(), TestCaseError> {
        match result {
            Ok(v) => {
                prop_assert_eq!(v, input.trim());
                prop_assert!(is_visible(v), "invisible value accepted: {:?}", v);
                prop_assert!(bidi_is_balanced(v), "unbalanced: {:?}", v);
                prop_assert!(!v.chars().any(is_deprecated_format));
                if shape == Shape::Line {
                    let multi_line = |c: char| {
                        c.is_control()
                            || opens_isolate(c)
                            || c == PDI
                            || matches!(c, '\u{2028}' | '\u{2029}')
                    };
                    prop_assert!(!v.chars().any(multi_line), "{:?}", v);
                }
            }
            Err(e) => match e.code_point {
                Some(c) => {
                    prop_assert!(input.contains(c));
                    let named = format!("U+{:04X}", u32::from(c));
                    prop_assert!(e.rule.contains(&named), "{} does not name {}", e, named);
                }
                None => prop_assert!(
                    e.rule == "must not be empty or only white space"
                        || e.rule.starts_with("must be at most")
                        || e.rule
                            == "must not be empty or only white space and invisible characters",
                    "{}",
                    e
                ),
            },
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn accepted_titles_are_trimmed_and_valid(s in ".{0,250}") {
            if let Ok(t) = Title::new(&s) {
                prop_assert_eq!(t.as_str(), t.as_str().trim());
                prop_assert!(!t.as_str().is_empty());
                prop_assert!(t.as_str().chars().count() <= TITLE_MAX_CHARS);
                prop_assert_eq!(Title::new(t.as_str()), Ok(t.clone()));
            }
        }

        /// Any string is either accepted — balanced isolates, no embeddings or overrides,
        /// something visible — or refused naming the code point to blame.
        #[test]
        fn any_text_is_accepted_safe_or_refused_naming_the_code_point(s in arb_tricky_text(40)) {
            check_outcome(&s, check_line("name", &s, 30), Shape::Line)?;
            check_outcome(&s, check_text("text", &s, 30), Shape::Text)?;
        }

        /// The printable-ASCII shortcut answers as the character-by-character rules do.
        #[test]
        fn the_ascii_shortcut_agrees_with_the_full_rules(
            s in "[ -~\t\n\r]{0,40}|.{0,40}",
            max in 1usize..50,
        ) {
            let trimmed = s.trim();
            if !trimmed.is_empty() {
                for shape in [Shape::Line, Shape::Text] {
                    prop_assert_eq!(
                        check("field", &s, max, shape),
                        check_chars("field", trimmed, max, shape)
                    );
                }
            }
        }

        /// What the rules accept, they accept again (a value survives a store round trip).
        #[test]
        fn accepted_text_validates_again(s in arb_tricky_text(40)) {
            if let Ok(v) = check_text("text", &s, 100) {
                prop_assert_eq!(check_text("text", v, 100), Ok(v));
            }
            if let Ok(v) = check_line("name", &s, 100) {
                prop_assert_eq!(check_line("name", v, 100), Ok(v));
                prop_assert_eq!(check_text("text", v, 100), Ok(v));
            }
        }

        #[test]
        fn cleaned_text_is_valid_text(s in arb_tricky_text(60), max in 1usize..50) {
            if let Some(cleaned) = clean_text(&s, max) {
                prop_assert!(check_text("text", &cleaned, max).is_ok(), "{:?}", cleaned);
            }
        }
    }
}
