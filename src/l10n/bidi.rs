//! Isolating inserted values: balanced inside, wrapped in FSI … PDI.

use icu_properties::CodePointMapData;
use icu_properties::props::BidiClass;

use crate::text::{FSI, PDI, is_paragraph_separator};

const PDF: char = '\u{202C}';
const LRI: char = '\u{2066}';
const RLI: char = '\u{2067}';

/// The isolate that opens one line of a value: FSI, unless the line's first strong character
/// disagrees with most of its strong characters — a Hebrew sentence that starts with a Latin
/// word ("Visa לא עובד"), or an English one that starts with a Hebrew name — where FSI would
/// lay the whole sentence out the wrong way; then RLI or LRI for the direction most of it
/// is written in. Characters inside isolates the line holds are skipped, as UAX #9 does when
/// it looks for the first strong character; bidirectional classes come from ICU4X's Unicode
/// data.
fn opener_of(line: &str) -> char {
    let classes = CodePointMapData::<BidiClass>::new();
    let (mut first, mut ltr, mut rtl, mut depth) = (None, 0usize, 0usize, 0usize);
    for c in line.chars() {
        match c {
            LRI | RLI | FSI => depth += 1,
            PDI => depth = depth.saturating_sub(1),
            _ if depth > 0 => {}
            _ => {
                let class = classes.get(c);
                let right = if class == BidiClass::LeftToRight {
                    false
                } else if class == BidiClass::RightToLeft || class == BidiClass::ArabicLetter {
                    true
                } else {
                    continue;
                };
                first.get_or_insert(right);
                if right {
                    rtl += 1;
                } else {
                    ltr += 1;
                }
            }
        }
    }
    match first {
        Some(false) if rtl > ltr => RLI,
        Some(true) if ltr > rtl => LRI,
        _ => FSI,
    }
}

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
/// FSI gives the line the direction of its first strong letter. Where that letter is not in
/// the direction most of the line is written in — a Hebrew update that starts with the word
/// "Visa" — the line is opened with RLI (U+2067) or LRI (U+2066) for the direction of most of
/// its strong letters instead, so the sentence still reads in its own direction.
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
/// // Mostly Hebrew, starting with a Latin word: right to left all the same.
/// assert_eq!(isolate("Visa לא עובד"), "\u{2067}Visa לא עובד\u{2069}");
/// assert_eq!(isolate("קופה 2 is down again"), "\u{2066}קופה 2 is down again\u{2069}");
/// ```
pub fn isolate(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    for piece in value.split_inclusive(is_paragraph_separator) {
        let (line, separator) = match piece.char_indices().next_back() {
            Some((i, c)) if is_paragraph_separator(c) => piece.split_at(i),
            _ => (piece, ""),
        };
        if !line.is_empty() {
            out.push(opener_of(line));
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

    #[test]
    fn the_opener_follows_most_of_the_line() {
        assert_eq!(opener_of("קופה 2"), FSI);
        assert_eq!(opener_of("Visa down at קופה"), FSI);
        assert_eq!(opener_of("Visa לא עובד"), RLI);
        assert_eq!(opener_of("PayPal ו-Visa לא עובדים בקופה"), RLI);
        assert_eq!(opener_of("דני says the till is down"), LRI);
        assert_eq!(opener_of("Visa لا يعمل الآن"), RLI);
        // A tie keeps the first strong letter; digits and marks are not strong.
        assert_eq!(opener_of("ab אב"), FSI);
        assert_eq!(opener_of("12 — 34"), FSI);
        // What an isolate inside the value holds does not count.
        assert_eq!(opener_of("ok \u{2068}שלום עולם גדול\u{2069}"), FSI);
    }
}
