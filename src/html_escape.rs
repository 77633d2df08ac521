//! The one HTML (and XML) text escaper, shared by e-mail HTML (`l10n`) and the status page,
//! its Atom feed (`status`, which turns `l10n` on).
//!
//! It escapes `&`, `<`, `>`, `"` and `'` (so its output is safe in text and in double- or
//! single-quoted attribute values) and drops what has no place in a page a customer reads:
//! control characters other than line feed and tab, the bidirectional embedding, override and
//! isolate controls (U+202A–U+202E, U+2066–U+2069: an invisible override in a customer's title
//! reorders what the reader sees, a spoofing vector), and U+FFFE/U+FFFF (not characters in
//! XML 1.0, so a feed stays well formed). The marks (LRM, RLM, ALM) need no partner and are
//! kept. A renderer that means an isolate writes it as an element (`<bdi>`), never as the
//! character.

/// Whether `c` is a bidirectional embedding, override or isolate control, or their closer
/// (not the marks).
pub(crate) fn is_bidi_control(c: char) -> bool {
    use crate::text::{PDI, is_embedding_or_override, opens_isolate};
    is_embedding_or_override(c) || opens_isolate(c) || c == PDI
}

/// Whether the escaper drops `c`.
pub(crate) fn is_dropped(c: char) -> bool {
    (c.is_control() && !matches!(c, '\n' | '\t'))
        || is_bidi_control(c)
        || matches!(c, '\u{FFFE}' | '\u{FFFF}')
}

/// Appends `c` escaped, or nothing when it is dropped.
pub(crate) fn push_escaped(out: &mut String, c: char) {
    match c {
        '&' => out.push_str("&amp;"),
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        '"' => out.push_str("&quot;"),
        '\'' => out.push_str("&#39;"),
        c if is_dropped(c) => {}
        c => out.push(c),
    }
}

/// Appends `text` escaped, character by character as [`push_escaped`].
pub(crate) fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        push_escaped(out, c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escape(text: &str) -> String {
        let mut out = String::new();
        escape_into(&mut out, text);
        out
    }

    #[test]
    fn escapes_the_five_and_drops_overrides_and_controls() {
        assert_eq!(
            escape("<a href='x' title=\"y\">&</a>"),
            "&lt;a href=&#39;x&#39; title=&quot;y&quot;&gt;&amp;&lt;/a&gt;"
        );
        // "Refund \u{202E}gnp.exe" would read "Refund exe.png".
        assert_eq!(escape("Refund \u{202E}gnp.exe"), "Refund gnp.exe");
        assert_eq!(
            escape("a\u{202A}\u{202B}\u{202C}\u{202D}\u{2066}\u{2067}\u{2068}\u{2069}b"),
            "ab"
        );
        assert_eq!(escape("a\u{0}\u{7}\r\u{85}\u{FFFE}\u{FFFF}b"), "ab");
        // Line feed, tab and the marks stay.
        assert_eq!(
            escape("a\n\tb\u{200E}\u{200F}\u{061C}"),
            "a\n\tb\u{200E}\u{200F}\u{061C}"
        );
    }
}
