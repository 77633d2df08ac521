//! Validated text: incident titles and free-form text such as notes and root causes.
//!
//! Both are cheap to clone (shared, immutable strings), because the same text travels through
//! the command, the event, the store and the live incident.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::Invalid;

/// The longest title accepted, in characters (Unicode scalar values).
pub const TITLE_MAX_CHARS: usize = 200;

/// The longest free-form text accepted (notes, descriptions, root causes, summaries, customer
/// updates, reasons), in characters.
pub const TEXT_MAX_CHARS: usize = 10_000;

/// An incident's one-line title: not blank, at most [`TITLE_MAX_CHARS`] characters, no control
/// characters (no line breaks, tabs or escape codes). Surrounding white space is trimmed.
///
/// ```
/// use incidents::Title;
///
/// let title = Title::new("  Checkout fails with error 500 ")?;
/// assert_eq!(title.as_str(), "Checkout fails with error 500");
/// assert!(Title::new("   ").is_err());
/// assert!(Title::new("line\nbreak").is_err());
/// # Ok::<(), incidents::Invalid>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Title(Arc<str>);

impl Title {
    /// Validates and trims a title.
    ///
    /// # Errors
    /// [`Invalid`] with field `title` if it is blank, longer than [`TITLE_MAX_CHARS`]
    /// characters, or contains a control character.
    pub fn new(title: impl AsRef<str>) -> Result<Title, Invalid> {
        let trimmed = title.as_ref().trim();
        if trimmed.is_empty() {
            return Err(Invalid::new(
                "title",
                "must not be empty or only white space",
            ));
        }
        let chars = trimmed.chars().count();
        if chars > TITLE_MAX_CHARS {
            return Err(Invalid::new(
                "title",
                format!("must be at most {TITLE_MAX_CHARS} characters, got {chars}"),
            ));
        }
        if let Some(c) = trimmed.chars().find(|c| c.is_control()) {
            return Err(Invalid::new(
                "title",
                format!("must be one line without control characters, found {c:?}"),
            ));
        }
        Ok(Title(Arc::from(trimmed)))
    }

    /// The title as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Free-form text — a note, a description, a root cause, a customer update: not blank, at most
/// [`TEXT_MAX_CHARS`] characters, and no control characters other than line breaks and tabs.
/// Surrounding white space is trimmed.
///
/// ```
/// use incidents::Text;
///
/// let note = Text::new("note", "Restarted the payment gateway.\nWatching the error rate.")?;
/// assert!(note.as_str().contains('\n'));
/// let err = Text::new("note", "").unwrap_err();
/// assert_eq!(err.to_string(), "invalid note: must not be empty or only white space");
/// # Ok::<(), incidents::Invalid>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Text(Arc<str>);

impl Text {
    /// Validates and trims text for the input named `field` (used in the error message).
    ///
    /// # Errors
    /// [`Invalid`] naming `field` if the text is blank, longer than [`TEXT_MAX_CHARS`]
    /// characters, or contains a control character other than `\n`, `\r` or `\t`.
    pub fn new(field: &'static str, text: impl AsRef<str>) -> Result<Text, Invalid> {
        let trimmed = text.as_ref().trim();
        if trimmed.is_empty() {
            return Err(Invalid::new(field, "must not be empty or only white space"));
        }
        let chars = trimmed.chars().count();
        if chars > TEXT_MAX_CHARS {
            return Err(Invalid::new(
                field,
                format!("must be at most {TEXT_MAX_CHARS} characters, got {chars}"),
            ));
        }
        if let Some(c) = trimmed
            .chars()
            .find(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            return Err(Invalid::new(
                field,
                format!("must not contain control characters, found {c:?}"),
            ));
        }
        Ok(Text(Arc::from(trimmed)))
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
mod tests {
    use super::*;
    use proptest::prelude::*;

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
    }

    #[test]
    fn serde_validates() {
        assert!(serde_json::from_str::<Title>("\"  \"").is_err());
        let t: Title = serde_json::from_str("\"ok\"").unwrap();
        assert_eq!(serde_json::to_string(&t).unwrap(), "\"ok\"");
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
    }
}
