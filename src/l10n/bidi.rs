//! Isolating inserted values: balanced inside, wrapped in FSI … PDI.

use crate::text::{FSI, PDI, is_paragraph_separator};

const PDF: char = '\u{202C}';

/// An opener of a bidirectional embedding, override or isolate, and what closes it.
fn closer_of(c: char) -> Option<char> {
    match c {
        // LRE, RLE, LRO, RLO
        '\u{202A}' | '\u{202B}' | '\u{202D}' | '\u{202E}' => Some(PDF),
        // LRI, RLI, FSI
        '\u{2066}' | '\u{2067}' | '\u{2068}' => Some(PDI),
        _ => None,
    }
}

/// `value` made safe to insert into a message: every line wrapped in FSI (U+2068 first
/// strong isolate) … PDI (U+2069 pop directional isolate), after balancing the
/// bidirectional controls inside it.
///
/// Inside each line, an embedding or override (U+202A, U+202B, U+202D, U+202E) or isolate
/// (U+2066–U+2068) left open is closed at the end of the line (PDF U+202C or PDI), a closer
/// without an opener is dropped, and a PDI closes the embeddings opened since its isolate
/// first (as UAX #9 does). So nothing a value holds can reach out of its isolate and reorder
/// the message around it, whatever the string; marks that need no partner (LRM, RLM, ALM)
/// are kept. Lines are wrapped one by one because a paragraph separator ends every isolate
/// (UAX #9); empty lines get no marks.
///
/// ```
/// use incidents::l10n::isolate;
///
/// assert_eq!(isolate("קופה 2"), "\u{2068}קופה 2\u{2069}");
/// // An override left open is closed inside the value; a stray PDI is dropped.
/// assert_eq!(isolate("a\u{202E}b\u{2069}"), "\u{2068}a\u{202E}b\u{202C}\u{2069}");
/// assert_eq!(isolate("one\ntwo"), "\u{2068}one\u{2069}\n\u{2068}two\u{2069}");
/// ```
pub fn isolate(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    for piece in value.split_inclusive(is_paragraph_separator) {
        let (line, separator) = match piece.char_indices().next_back() {
            Some((i, c)) if is_paragraph_separator(c) => piece.split_at(i),
            _ => (piece, ""),
        };
        if !line.is_empty() {
            out.push(FSI);
            push_balanced(&mut out, line);
            out.push(PDI);
        }
        out.push_str(separator);
    }
    out
}

/// Appends one line, its bidirectional controls balanced.
fn push_balanced(out: &mut String, line: &str) {
    // The closers of what is open, innermost last.
    let mut open: Vec<char> = Vec::new();
    for c in line.chars() {
        if let Some(closer) = closer_of(c) {
            open.push(closer);
            out.push(c);
        } else if c == PDI {
            if let Some(at) = open.iter().rposition(|&k| k == PDI) {
                // Close the embeddings opened inside this isolate, then the isolate.
                for closer in open.drain(at..).rev() {
                    out.push(closer);
                }
            }
        } else if c == PDF {
            // A PDF closes an embedding only if no isolate was opened after it.
            if open.last() == Some(&PDF) {
                open.pop();
                out.push(PDF);
            }
        } else {
            out.push(c);
        }
    }
    for closer in open.into_iter().rev() {
        out.push(closer);
    }
}

/// Whether `text`'s bidirectional embeddings, overrides and isolates are balanced and
/// properly nested on every line.
#[cfg(test)]
pub(super) fn is_balanced(text: &str) -> bool {
    let mut open: Vec<char> = Vec::new();
    for c in text.chars() {
        if is_paragraph_separator(c) {
            if !open.is_empty() {
                return false;
            }
        } else if let Some(closer) = closer_of(c) {
            open.push(closer);
        } else if (c == PDI || c == PDF) && open.pop() != Some(c) {
            return false;
        }
    }
    open.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_come_out_balanced() {
        for value in [
            "",
            "plain",
            "\u{2069}\u{2069}x",
            "\u{202B}\u{2067}a\u{202C}b",
            "\u{2066}\u{202A}x\u{2069}y\u{202C}",
            "a\u{2068}\nb\u{2069}",
            "\u{200F}רק סימן\u{200E}",
        ] {
            let out = isolate(value);
            assert!(is_balanced(&out), "{value:?} -> {out:?}");
        }
        assert_eq!(
            isolate("\u{2066}\u{202A}x\u{2069}y\u{202C}"),
            "\u{2068}\u{2066}\u{202A}x\u{202C}\u{2069}y\u{2069}"
        );
        assert_eq!(isolate("\n\n"), "\n\n");
    }
}
