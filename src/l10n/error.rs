//! The one error a catalog can have, found when it is loaded.

use std::fmt;

/// A catalog that cannot be used, found at load time by
/// [`CatalogsBuilder::build`](super::CatalogsBuilder::build): where it is and what is wrong.
///
/// Nothing is ever wrong at send time: a [`Catalogs`](super::Catalogs) that built renders every
/// [`Message`](super::Message) without an error. Fix the catalog file named here (or the tag
/// given to [`add_locale`](super::CatalogsBuilder::add_locale)) and load again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {what}")]
pub struct L10nError {
    file: String,
    line: usize,
    column: usize,
    what: Problem,
}

impl L10nError {
    pub(super) fn at(file: &str, source: &str, offset: usize, what: Problem) -> L10nError {
        let (line, column) = line_column(source, offset);
        L10nError {
            file: file.to_string(),
            line,
            column,
            what,
        }
    }

    /// The catalog's name, as given to the builder (`locales/he/incidents.ftl` for the shipped
    /// Hebrew one).
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The line (1 for the first) where the problem is; 1 when it concerns the whole file.
    pub fn line(&self) -> usize {
        self.line
    }

    /// The column (1 for the first character of the line) where the problem is.
    pub fn column(&self) -> usize {
        self.column
    }

    /// What is wrong.
    pub fn problem(&self) -> &Problem {
        &self.what
    }
}

/// What is wrong with a catalog; see [`L10nError`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    /// The text is not Fluent syntax; the parser's words.
    #[error("syntax error: {0}")]
    Syntax(String),
    /// The locale tag is not a BCP 47 language tag ICU4X can read.
    #[error("`{0}` is not a locale tag")]
    BadLocale(String),
    /// [`add_locale`](super::CatalogsBuilder::add_locale) was given the same tag twice, or an
    /// override names a locale no catalog was added for.
    #[error("{0}")]
    Locale(String),
    /// A message id the crate does not send (a typo, or an override of nothing).
    #[error("unknown message `{0}` (the crate sends: {list})", list = super::MessageId::list())]
    UnknownMessage(String),
    /// The same message or term is defined twice in one file.
    #[error("`{0}` is defined twice")]
    Duplicate(String),
    /// A message uses a variable it is not given.
    #[error("message `{message}` uses `${variable}`, which it is not given (it has: {given})")]
    UnknownVariable {
        /// The message id.
        message: String,
        /// The variable's name, without `$`.
        variable: String,
        /// The variables the message is given, comma-separated.
        given: String,
    },
    /// A variable used where its kind does not fit: a count or text as a selector, a
    /// keyword inserted as text, text given to `PLURAL`.
    #[error("message `{message}`: {what}")]
    Misuse {
        /// The message id.
        message: String,
        /// What is wrong, in words.
        what: String,
    },
    /// A reference to a message or term that does not exist, or to a function other than
    /// `PLURAL`.
    #[error("`{0}` does not exist here")]
    UnknownReference(String),
    /// Catalog text (not an inserted value) with a bidirectional embedding, override or
    /// isolate control (U+202A–U+202E, U+2066–U+2069): the renderer only balances inserted
    /// values, so the catalog's own text must not have any.
    #[error("bidirectional control U+{0:04X} in the catalog's text")]
    BidiControl(u32),
    /// A message the crate needs is missing from the English catalog, which every other
    /// locale falls back to.
    #[error("the English catalog lacks `{0}`")]
    MissingInEnglish(String),
    /// Rendering a message with sample values failed in Fluent (a message that references
    /// itself, directly or through others): found by trying every message at load.
    #[error("message `{message}` does not render: {what}")]
    Render {
        /// The message id.
        message: String,
        /// Fluent's words.
        what: String,
    },
    /// A message lacks a part its id needs (`.subject`, `.body`, `.sms`).
    #[error("message `{message}` lacks `.{part}`")]
    MissingPart {
        /// The message id.
        message: String,
        /// The attribute name.
        part: &'static str,
    },
}

/// 1-based line and column (in characters) of byte `offset` in `source`.
fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = source.get(..offset).unwrap_or(source);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

impl fmt::Display for super::MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::line_column;

    #[test]
    fn lines_and_columns_count_from_one() {
        assert_eq!(line_column("ab\ncd", 0), (1, 1));
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
        assert_eq!(line_column("אב\nג", 4), (1, 3));
    }
}
