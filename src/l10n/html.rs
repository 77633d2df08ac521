//! HTML e-mail and SMS previews that read right-to-left where the locale does.

use std::fmt;

use icu_locale::LocaleDirectionality;
use icu_locale_core::LanguageIdentifier;

use crate::html_escape::{escape_into, is_bidi_control, is_dropped, push_escaped};

/// Which way a locale's text runs: the base direction of its paragraphs.
///
/// ```
/// use incidents::l10n::{Direction, direction};
///
/// assert_eq!(direction("he-IL"), Direction::RightToLeft);
/// assert_eq!(direction("he-IL").as_str(), "rtl");
/// assert_eq!(direction("en").as_str(), "ltr");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Left to right: Latin, Cyrillic, Greek, most scripts.
    LeftToRight,
    /// Right to left: Hebrew, Arabic, Thaana, Syriac, N'Ko, Adlam, …
    RightToLeft,
}

impl Direction {
    /// The value of an HTML `dir` attribute: `"ltr"` or `"rtl"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Direction::LeftToRight => "ltr",
            Direction::RightToLeft => "rtl",
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// ICU4X's directionality with the full likely-subtags table, so that `dv`, `syr` or
/// `ff-Adlm` resolve too, not only the common locales.
static DIRECTIONALITY: LocaleDirectionality = LocaleDirectionality::new_extended();

/// The direction of `locale`'s script, from CLDR (ICU4X's compiled data): the script of the
/// tag if it names one (`az-Arab`), else the likely script of its language (`he` → Hebrew,
/// `ur` → Arabic), and the script's direction.
///
/// A tag that does not parse as BCP 47 (an underscore, `he_IL`, is taken as a hyphen), or
/// whose script is unknown, is left to right.
///
/// ```
/// use incidents::l10n::{Direction, direction};
///
/// for rtl in ["he", "he_IL", "ar-EG", "fa", "ur", "yi", "dv", "az-Arab"] {
///     assert_eq!(direction(rtl), Direction::RightToLeft, "{rtl}");
/// }
/// for ltr in ["en", "ru", "az", "am", "not a tag", ""] {
///     assert_eq!(direction(ltr), Direction::LeftToRight, "{ltr}");
/// }
/// ```
pub fn direction(locale: &str) -> Direction {
    match parse(locale) {
        Some(id) if DIRECTIONALITY.is_right_to_left(&id) => Direction::RightToLeft,
        _ => Direction::LeftToRight,
    }
}

fn parse(locale: &str) -> Option<LanguageIdentifier> {
    LanguageIdentifier::try_from_str(&locale.replace('_', "-")).ok()
}

/// The `lang` attribute: the tag in canonical form, `und` if it does not parse.
fn lang(locale: &str) -> String {
    parse(locale).map_or_else(|| "und".to_string(), |id| id.to_string())
}

const PAGE: &str = "margin:0;padding:24px;background:#ffffff;color:#1a1a1a;\
font-family:Arial,Helvetica,'DejaVu Sans','Noto Sans Hebrew',sans-serif;font-size:16px;line-height:1.5";
const HEADING: &str = "margin:0 0 16px;font-size:20px;line-height:1.3;font-weight:bold";
const PARAGRAPH: &str = "margin:0 0 12px";
const RULE: &str = "border:0;border-top:1px solid #dddddd;margin:20px 0 12px";
const FOOTER: &str = "margin:0 0 6px;font-size:12px;color:#555555";
const PHONE: &str = "margin:0;padding:16px;background:#f2f2f7;\
font-family:Arial,Helvetica,'DejaVu Sans','Noto Sans Hebrew',sans-serif;font-size:16px;line-height:1.4";
const BUBBLE: &str = "display:inline-block;max-width:260px;padding:8px 12px;border-radius:16px;\
background:#e5e5ea;color:#000000";

/// A complete, small HTML e-mail for a message rendered in `locale`: `subject` as its
/// title and heading, `body` as paragraphs (a blank line starts a new paragraph, a line
/// break within one becomes `<br>`), and `footer` (the unsubscribe line), if given, in small
/// print under a rule.
///
/// Pass the locale the text is in: [`Rendered::locale`](super::Rendered::locale), which
/// is `en` after a fallback, not the one asked for.
///
/// **Direction.** The root `<html>` and every block (heading, paragraph, footer) carry
/// `dir` from [`direction`]`(locale)`, and `lang` the locale. It is not `dir="auto"`: that
/// takes a paragraph's direction from its first strong letter, so a Hebrew sentence that
/// opens with a product name (`POS 2 לא עובדת`) would be laid out left to right, its words
/// in the wrong order and aligned to the wrong side. The language of the message is known,
/// so its direction is too. Alignment is left to `dir` (no `text-align`), so it follows.
///
/// **Text.** Every piece of text is escaped (`&`, `<`, `>`, `"`, `'`) by the same escaper as
/// the status page, which drops control characters (but tab), U+FFFE/U+FFFF and the
/// embedding and override controls (LRE, RLE, PDF, LRO, RLO): an invisible override in a
/// customer's title would reorder what the reader sees. The isolates the catalogs put around
/// inserted values become markup: FSI … PDI (and LRI, RLI) become `<bdi>` … `</bdi>` (with
/// `dir` for LRI and RLI). A PDI without an opener is dropped, and whatever is still open at
/// the end of a line is closed there, so the tags are always well nested, whatever the
/// strings. `http://` and `https://`
/// URLs become links. Inline CSS only: no style sheet, no external resource, no script.
///
/// ```
/// use incidents::l10n::{email_html, isolate};
///
/// let body = format!("הקופה {} לא עובדת.\nמטפלים.", isolate("POS 2"));
/// let html = email_html("he", "עדכון שירות", &body, Some("להסרה: https://x.example/u?a=1&b=2"));
/// assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"he\" dir=\"rtl\">"));
/// assert!(html.contains("<p dir=\"rtl\" style=\"margin:0 0 12px\">הקופה <bdi>POS 2</bdi> לא עובדת.<br>מטפלים.</p>"));
/// assert!(html.contains("<a href=\"https://x.example/u?a=1&amp;b=2\">"));
/// assert!(email_html("en", "<b>", "a & b", None).contains("<h1 dir=\"ltr\" style=\"margin:0 0 16px;font-size:20px;line-height:1.3;font-weight:bold\">&lt;b&gt;</h1>"));
/// ```
pub fn email_html(locale: &str, subject: &str, body: &str, footer: Option<&str>) -> String {
    let dir = direction(locale).as_str();
    let mut out = String::with_capacity(1024 + 2 * (subject.len() + body.len()));
    open_document(&mut out, locale, dir, subject, PAGE);
    block(&mut out, "h1", dir, HEADING, subject);
    for paragraph in paragraphs(body) {
        block_lines(&mut out, "p", dir, PARAGRAPH, &paragraph);
    }
    if let Some(footer) = footer {
        out.push_str("<hr style=\"");
        out.push_str(RULE);
        out.push_str("\">\n");
        for paragraph in paragraphs(footer) {
            block_lines(&mut out, "p", dir, FOOTER, &paragraph);
        }
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// An SMS as a phone shows it, for looking at one: a page with one message bubble holding
/// `text`, on the side and in the direction of `locale` (see [`email_html`]: the same
/// `lang` and `dir`, escaping, `<bdi>` for isolates and links; each line break is a `<br>`).
///
/// ```
/// use incidents::l10n::{isolate, sms_preview_html};
///
/// let html = sms_preview_html("he", &format!("{}: חזרנו לעבוד", isolate("קופות")));
/// assert!(html.contains("<div dir=\"rtl\""));
/// assert!(html.contains("<bdi>קופות</bdi>: חזרנו לעבוד"));
/// ```
pub fn sms_preview_html(locale: &str, text: &str) -> String {
    let dir = direction(locale).as_str();
    let mut out = String::with_capacity(1024 + 2 * text.len());
    open_document(&mut out, locale, dir, "SMS", PHONE);
    out.push_str("<div dir=\"");
    out.push_str(dir);
    out.push_str("\"><div dir=\"");
    out.push_str(dir);
    out.push_str("\" style=\"");
    out.push_str(BUBBLE);
    out.push_str("\">");
    let mut first = true;
    for line in lines(text) {
        if !first {
            out.push_str("<br>");
        }
        first = false;
        push_line(&mut out, line.text);
    }
    out.push_str("</div></div>\n</body>\n</html>\n");
    out
}

/// `<!DOCTYPE html>` to the opening `<body>`.
fn open_document(out: &mut String, locale: &str, dir: &str, title: &str, style: &str) {
    out.push_str("<!DOCTYPE html>\n<html lang=\"");
    escape_into(out, &lang(locale));
    out.push_str("\" dir=\"");
    out.push_str(dir);
    out.push_str("\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str("<title>");
    // The title is plain text: no markup is allowed in it, so the bidi controls are dropped.
    for line in lines(title) {
        escape_into(out, line.text);
    }
    out.push_str("</title>\n</head>\n<body dir=\"");
    out.push_str(dir);
    out.push_str("\" style=\"");
    out.push_str(style);
    out.push_str("\">\n");
}

/// One block element holding all of `text`, its line breaks as `<br>`.
fn block(out: &mut String, tag: &str, dir: &str, style: &str, text: &str) {
    let all: Vec<&str> = lines(text).map(|l| l.text).collect();
    block_lines(out, tag, dir, style, &all);
}

fn block_lines(out: &mut String, tag: &str, dir: &str, style: &str, lines: &[&str]) {
    out.push('<');
    out.push_str(tag);
    out.push_str(" dir=\"");
    out.push_str(dir);
    out.push_str("\" style=\"");
    out.push_str(style);
    out.push_str("\">");
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            out.push_str("<br>");
        }
        push_line(out, line);
    }
    out.push_str("</");
    out.push_str(tag);
    out.push_str(">\n");
}

/// A line of text and whether a paragraph ends after it.
struct Line<'a> {
    text: &'a str,
    ends_paragraph: bool,
}

/// The lines of `text`: split at LF, CR LF, CR, NEL and LS; PS and the information
/// separators U+001C–U+001E end a paragraph too.
fn lines(text: &str) -> impl Iterator<Item = Line<'_>> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let s = rest?;
        match s.char_indices().find(|&(_, c)| is_line_break(c)) {
            None => {
                rest = None;
                Some(Line {
                    text: s,
                    ends_paragraph: false,
                })
            }
            Some((i, c)) => {
                let mut next = i + c.len_utf8();
                if c == '\r' && s[next..].starts_with('\n') {
                    next += 1;
                }
                rest = Some(&s[next..]);
                Some(Line {
                    text: &s[..i],
                    ends_paragraph: matches!(c, '\u{2029}' | '\u{1C}'..='\u{1E}'),
                })
            }
        }
    })
}

fn is_line_break(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{1C}'..='\u{1E}'
    )
}

/// The paragraphs of `text`, each a list of lines: a blank line (or a paragraph separator)
/// ends one; blank lines make no empty paragraphs.
fn paragraphs(text: &str) -> Vec<Vec<&str>> {
    let mut all = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    for line in lines(text) {
        if is_blank(line.text) {
            if !current.is_empty() {
                all.push(std::mem::take(&mut current));
            }
            continue;
        }
        current.push(line.text);
        if line.ends_paragraph {
            all.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        all.push(current);
    }
    all
}

/// Nothing visible: white space, controls and bidi marks only.
fn is_blank(line: &str) -> bool {
    line.chars()
        .all(|c| c.is_whitespace() || is_dropped(c) || is_mark(c))
}

fn is_mark(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// One line of text as HTML: escaped, its isolates as well-nested `<bdi>` elements (the
/// renderer isolates every inserted value), its URLs as links. Embeddings and overrides are
/// dropped with the other characters the shared escaper drops: an override in a customer's
/// text would reorder what the reader sees.
fn push_line(out: &mut String, line: &str) {
    let mut open = 0usize;
    let mut at = 0;
    while let Some(c) = line[at..].chars().next() {
        if let Some(len) = url_at(line, at) {
            let url = &line[at..at + len];
            out.push_str("<a href=\"");
            escape_into(out, url);
            out.push_str("\">");
            escape_into(out, url);
            out.push_str("</a>");
            at += len;
            continue;
        }
        at += c.len_utf8();
        let element = match c {
            '\u{2068}' => "<bdi>",
            '\u{2066}' => "<bdi dir=\"ltr\">",
            '\u{2067}' => "<bdi dir=\"rtl\">",
            '\u{2069}' => {
                if open > 0 {
                    open -= 1;
                    out.push_str("</bdi>");
                }
                continue;
            }
            c => {
                push_escaped(out, c);
                continue;
            }
        };
        out.push_str(element);
        open += 1;
    }
    for _ in 0..open {
        out.push_str("</bdi>");
    }
}

/// The length of the `http://` or `https://` URL starting at `at`, if one does: up to
/// white space, a control or `<>"'`, without trailing punctuation.
fn url_at(line: &str, at: usize) -> Option<usize> {
    let rest = &line[at..];
    let scheme = ["https://", "http://"].into_iter().find(|s| {
        rest.get(..s.len())
            .is_some_and(|r| r.eq_ignore_ascii_case(s))
    })?;
    if line[..at]
        .chars()
        .next_back()
        .is_some_and(char::is_alphanumeric)
    {
        return None;
    }
    let end = rest
        .char_indices()
        .find(|&(_, c)| {
            c.is_whitespace()
                || c.is_control()
                || is_bidi_control(c)
                || is_mark(c)
                || matches!(c, '<' | '>' | '"' | '\'' | '`')
        })
        .map_or(rest.len(), |(i, _)| i);
    let url = rest[..end].trim_end_matches(['.', ',', ';', ':', '!', '?', ')', ']', '}']);
    (url.len() > scheme.len()).then_some(url.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The tags of `html` as (name, closing) in order, or why they do not nest. Checks
    /// that `<` only ever starts a tag this module writes and that every tag is closed
    /// in order (void elements excepted).
    fn well_nested(html: &str) -> Result<(), String> {
        const VOID: [&str; 4] = ["meta", "br", "hr", "!DOCTYPE"];
        let mut stack: Vec<&str> = Vec::new();
        let mut rest = html;
        while let Some(i) = rest.find('<') {
            let after = &rest[i + 1..];
            let end = after.find('>').ok_or("a `<` without `>`")?;
            let tag = &after[..end];
            rest = &after[end + 1..];
            if let Some(name) = tag.strip_prefix('/') {
                match stack.pop() {
                    Some(open) if open == name => {}
                    other => return Err(format!("</{name}> closes {other:?}")),
                }
                continue;
            }
            let name = tag.split([' ']).next().unwrap_or_default();
            let known = [
                "html", "head", "meta", "title", "body", "h1", "p", "br", "hr", "div", "bdi",
                "span", "bdo", "a", "!DOCTYPE",
            ];
            if !known.contains(&name) {
                return Err(format!("unknown tag <{tag}>"));
            }
            // Attribute values hold no raw `<`, `>` or `"` inside: quotes pair up.
            if !tag.matches('"').count().is_multiple_of(2) {
                return Err(format!("unbalanced quotes in <{tag}>"));
            }
            if !VOID.contains(&name) {
                stack.push(name);
            }
        }
        if rest.contains('>') {
            return Err("a raw `>`".into());
        }
        if stack.is_empty() {
            Ok(())
        } else {
            Err(format!("left open: {stack:?}"))
        }
    }

    #[test]
    fn directions_come_from_cldr() {
        assert_eq!(direction("he"), Direction::RightToLeft);
        assert_eq!(direction("ar"), Direction::RightToLeft);
        assert_eq!(direction("syr"), Direction::RightToLeft);
        assert_eq!(direction("nqo"), Direction::RightToLeft);
        assert_eq!(direction("ff-Adlm"), Direction::RightToLeft);
        assert_eq!(direction("ckb"), Direction::RightToLeft);
        assert_eq!(direction("sr-Latn"), Direction::LeftToRight);
        assert_eq!(direction("pa"), Direction::LeftToRight);
        assert_eq!(direction("pa-PK"), Direction::RightToLeft);
        assert_eq!(direction("he-Latn"), Direction::LeftToRight);
        assert_eq!(lang("he_il"), "he-IL");
        assert_eq!(lang("\"><script>"), "und");
    }

    #[test]
    fn isolates_become_bdi_and_embeddings_overrides_and_strays_are_dropped() {
        let mut out = String::new();
        push_line(
            &mut out,
            "\u{2069}a\u{2068}b\u{202E}c\u{2069}d\u{202C}\u{2067}e",
        );
        assert_eq!(out, "a<bdi>bc</bdi>d<bdi dir=\"rtl\">e</bdi>");
        let mut out = String::new();
        push_line(&mut out, "\u{202A}x\u{2066}y\u{202C}z\u{202D}\u{FFFF}");
        assert_eq!(out, "x<bdi dir=\"ltr\">yz</bdi>");
    }

    #[test]
    fn the_title_drops_what_the_status_page_drops() {
        let html = email_html("en", "Refund \u{202E}gnp.exe\u{2068}", "b", None);
        assert!(html.contains("<title>Refund gnp.exe</title>"), "{html}");
    }

    #[test]
    fn paragraphs_and_lines() {
        assert_eq!(
            paragraphs("a\nb\r\n\r\nc\u{2029}d\n \n\n"),
            [vec!["a", "b"], vec!["c"], vec!["d"]]
        );
        assert!(paragraphs("\n\u{2068}\u{2069}\n").is_empty());
        let html = email_html("he", "s", "one\ntwo\n\nthree", None);
        assert!(html.contains(">one<br>two</p>\n<p dir=\"rtl\""), "{html}");
        assert!(!html.contains("<hr"));
    }

    #[test]
    fn urls_become_links_without_trailing_punctuation() {
        let mut out = String::new();
        push_line(
            &mut out,
            "see https://x.example/a?b=1&c='2'. or xhttp://no or http://",
        );
        assert_eq!(
            out,
            "see <a href=\"https://x.example/a?b=1&amp;c=\">https://x.example/a?b=1&amp;c=</a>&#39;2&#39;. or xhttp://no or http://"
        );
        let mut out = String::new();
        push_line(&mut out, "\u{2068}https://x.example/u/1\u{2069}.");
        assert_eq!(
            out,
            "<bdi><a href=\"https://x.example/u/1\">https://x.example/u/1</a></bdi>."
        );
    }

    #[test]
    fn the_sms_preview_is_one_bubble() {
        let html = sms_preview_html("en", "a\nb <c>");
        assert!(html.contains("<html lang=\"en\" dir=\"ltr\">"));
        assert!(html.contains(">a<br>b &lt;c&gt;</div></div>"), "{html}");
        assert!(well_nested(&html).is_ok());
    }

    /// The text of an HTML fragment: tags removed, the entities this module writes decoded.
    fn text_of(html: &str) -> String {
        let mut text = String::new();
        let mut rest = html;
        while let Some(i) = rest.find('<') {
            text.push_str(&rest[..i]);
            rest = rest[i..].split_once('>').map_or("", |(_, after)| after);
        }
        text.push_str(rest);
        text.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&")
    }

    proptest! {
        #[test]
        fn a_line_keeps_its_text_and_only_its_text(
            line in "(.|[<>&\"'\u{2066}-\u{2069}\u{202A}-\u{202E}]|<b>|<bdi>|&lt;|https?://){0,60}",
        ) {
            let mut out = String::new();
            push_line(&mut out, &line);
            let expected: String =
                line.chars().filter(|&c| !is_dropped(c)).collect();
            prop_assert_eq!(text_of(&out), expected);
            prop_assert!(well_nested(&out).is_ok(), "{:?}: {}", well_nested(&out), out);
        }

        #[test]
        fn any_text_makes_well_nested_html(
            subject in "(?s).{0,40}",
            body in "(?s)(.|[<>&\"'\n\u{2066}-\u{2069}\u{202A}-\u{202E}]|https?://){0,80}",
            footer in proptest::option::of("(?s)[a-z<>&\n\u{2068}\u{2069}\u{202C}\u{202E}]{0,30}"),
        ) {
            let locale = if body.len().is_multiple_of(2) { "he" } else { "en" };
            let html = email_html(locale, &subject, &body, footer.as_deref());
            prop_assert!(well_nested(&html).is_ok(), "{:?}\n{}", well_nested(&html), html);
            prop_assert!(!html.chars().any(is_bidi_control), "{html}");
            let sms = sms_preview_html(locale, &body);
            prop_assert!(well_nested(&sms).is_ok(), "{:?}\n{}", well_nested(&sms), sms);
            prop_assert!(!sms.chars().any(is_bidi_control), "{sms}");
        }
    }
}
